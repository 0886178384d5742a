//! Exercise 1: three dense autoencoders with a code of K values (64 by default): 784-K-784
//! with a linear code, the same with ReLU on the code, and 784-128-K-128-784 with ReLU;
//! sigmoid output on all. Tables, complexity, training, test error, reconstructions.

use layers::summary::thousands;

use tensor::Tensor;

use super::markdown::{count, format_mse, table, times};
use super::{Lab, ModelFigures, Section};
use crate::quality::psnr;
use crate::train::{TrainError, Trained};
use crate::zoo::ModelKind;

/// The exercise's folder name.
pub const NAME: &str = "tp1";

/// The models of exercise 1.
pub const MODELS: [ModelKind; 3] = [
    ModelKind::Dense1None,
    ModelKind::Dense1Relu,
    ModelKind::Dense2Relu,
];

/// How the ReLU code is used on the test set.
struct CodeUse {
    /// Share of code values that are exactly zero.
    zero_share: f64,
    /// Code units that are zero for every test image.
    dead_units: usize,
    /// Code units in all.
    units: usize,
}

/// Trains the three dense models (into `<out>/tp1/<model>/`) and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let latent = lab.settings.latent;
    let samples = lab.sample_images();
    let test_images = lab.splits.test.all_images();
    let mut rows = vec![samples.clone()];
    let mut runs = Vec::new();
    let mut relu_code = None;
    for kind in MODELS {
        let run = lab.ensure(NAME, kind.id(), kind, None)?;
        rows.push(run.reconstruct(&samples));
        if kind == ModelKind::Dense1Relu {
            relu_code = Some(code_use(run, &test_images));
        }
        runs.push(ModelFigures::of(run));
    }
    let grid = lab.save_grid(NAME, "reconstructions.png", &rows)?;
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
    for r in &runs {
        body += &super::model_table(r.kind, latent, &r.summary);
    }

    body += "> Compare their complexity (parameters, and multiply-adds).\n\n";
    let base = &runs[0].summary;
    let deep = &runs[2].summary;
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
        .map(|r| {
            vec![
                r.kind.title(latent),
                thousands(r.summary.total_params as u64),
                thousands(r.summary.mult_adds_per_sample),
                format_mse(r.test_mse),
                format!("{:.2}", psnr(r.test_mse)),
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
    let mut ranked: Vec<&ModelFigures> = runs.iter().collect();
    ranked.sort_by(|a, b| a.test_mse.total_cmp(&b.test_mse));
    body += &format!(
        "\nAfter {} the {} reconstructs the test set best (MSE {}), then the {} ({}), \
         then the {} ({}). {}{}\n\n",
        count(lab.settings.epochs, "epoch"),
        ranked[0].kind.short(latent),
        format_mse(ranked[0].test_mse),
        ranked[1].kind.short(latent),
        format_mse(ranked[1].test_mse),
        ranked[2].kind.short(latent),
        format_mse(ranked[2].test_mse),
        relu_remark(&runs, relu_code.as_ref()),
        still_learning(lab, ranked[2].kind),
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
        timings: runs.into_iter().map(|r| r.timing).collect(),
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
             epoch): more epochs would lower it further.",
            kind.short(lab.settings.latent),
            100.0 * drop
        )
    } else {
        String::new()
    }
}

/// What the ReLU on the code did, in a sentence, from the test errors and the code.
fn relu_remark(runs: &[ModelFigures], code: Option<&CodeUse>) -> String {
    let (linear, relu) = (runs[0].test_mse, runs[1].test_mse);
    let change = if relu > linear {
        format!(
            "The ReLU on the code raises the test error by {:.1}%",
            100.0 * (relu / linear - 1.0)
        )
    } else {
        format!(
            "The ReLU on the code lowers the test error by {:.1}%",
            100.0 * (1.0 - relu / linear)
        )
    };
    match code {
        Some(c) => format!(
            "{change}. On the test set {:.1}% of its code values are exactly zero and {} of its \
             {} code units are zero for every test image, where the linear code carries a \
             value in every unit.",
            100.0 * c.zero_share,
            c.dead_units,
            c.units
        ),
        None => format!("{change}."),
    }
}

/// The ReLU model's code on `images`: how much of it is zero.
fn code_use(run: &mut Trained, images: &Tensor) -> CodeUse {
    let units = run.config.model.code_size(run.config.latent);
    let values = run.codes(images.data());
    let values = values.as_slice();
    let zeros = values.iter().filter(|&&v| v == 0.0).count();
    let dead_units = (0..units)
        .filter(|&u| values.iter().skip(u).step_by(units).all(|&v| v == 0.0))
        .count();
    CodeUse {
        zero_share: zeros as f64 / values.len() as f64,
        dead_units,
        units,
    }
}
