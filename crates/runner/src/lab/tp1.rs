//! Exercise 1: three dense autoencoders with a code of K values (64 by default): 784-K-784
//! with a linear code, the same with ReLU on the code, and 784-128-K-128-784 with ReLU;
//! sigmoid output on all. Tables, complexity, training, test error, reconstructions.

use layers::summary::thousands;

use super::markdown::{count, mse, table, times};
use super::{Lab, Section};
use crate::quality::psnr;
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The exercise's folder name.
pub const NAME: &str = "tp1";

/// The models of exercise 1.
pub const MODELS: [ModelKind; 3] = [
    ModelKind::Dense1None,
    ModelKind::Dense1Relu,
    ModelKind::Dense2Relu,
];

/// What the text needs of one model: kind, summary, test MSE, timings row.
type Figures = (ModelKind, layers::Summary, f64, (String, usize, f64));

/// Trains the three dense models (into `<out>/tp1/<model>/`) and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    for kind in MODELS {
        lab.ensure(NAME, kind.id(), kind, None)?;
    }
    let samples = lab.sample_images();
    let mut rows = vec![samples.clone()];
    for kind in MODELS {
        let run = lab.ensure(NAME, kind.id(), kind, None)?;
        rows.push(Lab::reconstruct(run, &samples));
    }
    let grid = lab.save_grid(NAME, "reconstructions.png", &rows)?;

    // Snapshots of what the text needs, so `lab` is free for the figures.
    let latent = lab.settings.latent;
    let mut runs: Vec<Figures> = Vec::new();
    for kind in MODELS {
        let run = lab.ensure(NAME, kind.id(), kind, None)?;
        runs.push((
            kind,
            run.summary.clone(),
            run.test_mse(),
            Lab::timing(kind.id(), run),
        ));
    }
    let keys: Vec<(String, &str, &str)> = MODELS
        .iter()
        .map(|k| (k.title(latent), NAME, k.id()))
        .collect();
    let chart = lab.save_loss_chart(
        NAME,
        &format!(
            "Exercise 1: dense autoencoders (K = {latent}), {} MNIST training images",
            thousands(lab.splits.train.len() as u64)
        ),
        &keys,
    )?;

    let mut body = format!("## Exercise 1: dense autoencoders (K = {latent})\n\n");
    body += "> Instantiate the dense autoencoder 784-K-784 with K = 64 without activation on the \
             code, the same with ReLU, and the deep one 784-128-K-128-784 with ReLU (sigmoid \
             output on all). Fill in each model's description table.\n\n";
    for (kind, summary, _, _) in &runs {
        body += &super::model_table(*kind, latent, summary);
    }

    body += "> Compare their complexity (parameters, and multiply-adds).\n\n";
    let base = &runs[0].1;
    let deep = &runs[2].1;
    body += &format!(
        "The two one-layer models are the same size: {} parameters and {} multiply-adds per \
         image (the ReLU has neither). The deep one has {} parameters ({} as many) and {} \
         multiply-adds ({}): its outer layers connect the 784 pixels to 128 units instead of \
         {latent}, and the inner 128-{latent} layers add little.\n\n",
        thousands(base.total_params as u64),
        thousands(base.mult_adds_per_sample),
        thousands(deep.total_params as u64),
        times(deep.total_params as f64 / base.total_params as f64),
        thousands(deep.mult_adds_per_sample),
        times(deep.mult_adds_per_sample as f64 / base.mult_adds_per_sample as f64),
    );

    body += "> Train them. Compare their performance on the test set.\n\n";
    let table_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(kind, s, test, _)| {
            vec![
                kind.title(latent),
                thousands(s.total_params as u64),
                thousands(s.mult_adds_per_sample),
                mse(*test),
                format!("{:.2}", psnr(*test)),
            ]
        })
        .collect();
    body += &table(
        &[
            "model",
            "parameters",
            "mult-adds / image",
            "test MSE",
            "PSNR (dB)",
        ],
        &table_rows,
    );
    let mut ranked: Vec<&Figures> = runs.iter().collect();
    ranked.sort_by(|a, b| a.2.total_cmp(&b.2));
    body += &format!(
        "\nAfter {} the {} reconstructs the test set best (MSE {}), then the {} ({}), \
         then the {} ({}). {}{}\n\n",
        count(lab.settings.epochs, "epoch"),
        ranked[0].0.short(latent),
        mse(ranked[0].2),
        ranked[1].0.short(latent),
        mse(ranked[1].2),
        ranked[2].0.short(latent),
        mse(ranked[2].2),
        relu_remark(&runs),
        still_learning(lab, ranked[2].0),
    );
    body += &format!("![train and test loss per epoch]({chart})\n\n");
    body += "*Loss per epoch: training (dashed, mean over the epoch's batches) and test (solid, \
             after the epoch).*\n\n";
    body += "> Show original images above their reconstructions.\n\n";
    body += &format!("![originals and reconstructions]({grid})\n\n");
    body += &format!(
        "*Rows, top to bottom: the first test image of each digit; its reconstruction by the {}, \
         the {} and the {}.*\n\n",
        MODELS[0].short(latent),
        MODELS[1].short(latent),
        MODELS[2].short(latent)
    );
    Ok(Section {
        body,
        timings: runs.into_iter().map(|r| r.3).collect(),
    })
}

/// Whether the last model was still improving at the end, in a sentence (empty if not).
fn still_learning(lab: &Lab, kind: ModelKind) -> String {
    let Some(run) = lab.find(NAME, kind.id()) else {
        return String::new();
    };
    let h = &run.history;
    if h.len() < 2 {
        return String::new();
    }
    let drop = 1.0 - h[h.len() - 1].test_loss / h[h.len() - 2].test_loss;
    if drop > 0.01 {
        format!(
            " The {} was still improving at the end ({:.1}% lower test error in the last \
             epoch): more epochs would narrow the gap.",
            kind.short(lab.settings.latent),
            100.0 * drop
        )
    } else {
        String::new()
    }
}

/// What the ReLU on the code did, in a sentence, from the test errors.
fn relu_remark(runs: &[Figures]) -> String {
    let (linear, relu) = (runs[0].2, runs[1].2);
    if relu > linear {
        format!(
            "The ReLU on the code raises the test error by {:.1}%: it zeroes negative code \
             values, so part of the code carries nothing for a given image, while the linear \
             code uses all of it (a linear code with a sigmoid decoder is close to PCA).",
            100.0 * (relu / linear - 1.0)
        )
    } else {
        format!(
            "The ReLU on the code lowers the test error by {:.1}%: the non-linearity lets the \
             code be sparser and the decoder less linear.",
            100.0 * (1.0 - relu / linear)
        )
    }
}
