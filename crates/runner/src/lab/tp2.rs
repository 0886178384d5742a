//! Exercise 2: the lab's convolutional autoencoder (strided convolutions to a 64×1×1 code)
//! and the course's pooling one (8×4×4 code, 4,385 parameters), against the dense ones of
//! exercise 1 (trained here too when exercise 1 has not run in this process).

use layers::summary::thousands;

use super::markdown::{mse, table, times};
use super::{Lab, Section, tp1};
use crate::quality::psnr;
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The exercise's folder name.
pub const NAME: &str = "tp2";

/// The models of exercise 2.
pub const MODELS: [ModelKind; 2] = [ModelKind::Conv, ModelKind::ConvPool];

/// A model's figures for the comparison: kind, parameters, mult-adds, code size, test MSE.
struct Row {
    kind: ModelKind,
    params: usize,
    mult_adds: u64,
    code: usize,
    test: f64,
}

/// Trains the convolutional models (into `<out>/tp2/<model>/`) and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let latent = lab.settings.latent;
    let mut rows = Vec::new();
    let mut timings = Vec::new();
    let mut summaries = Vec::new();
    for (exercise, kind) in tp1::MODELS
        .iter()
        .map(|k| (tp1::NAME, *k))
        .chain(MODELS.iter().map(|k| (NAME, *k)))
    {
        let run = lab.ensure(exercise, kind.id(), kind, None)?;
        rows.push(Row {
            kind,
            params: run.summary.total_params,
            mult_adds: run.summary.mult_adds_per_sample,
            code: kind.code_size(latent),
            test: run.test_mse(),
        });
        if exercise == NAME {
            timings.push(Lab::timing(kind.id(), run));
            summaries.push((kind, run.summary.clone()));
        }
    }

    let samples = lab.sample_images();
    let mut images = vec![samples.clone()];
    for (exercise, kind) in [
        (tp1::NAME, ModelKind::Dense2Relu),
        (NAME, ModelKind::Conv),
        (NAME, ModelKind::ConvPool),
    ] {
        let run = lab.ensure(exercise, kind.id(), kind, None)?;
        images.push(Lab::reconstruct(run, &samples));
    }
    let grid = lab.save_grid(NAME, "reconstructions.png", &images)?;
    let keys: Vec<(String, &str, &str)> = vec![
        (
            ModelKind::Dense2Relu.title(latent),
            tp1::NAME,
            ModelKind::Dense2Relu.id(),
        ),
        (ModelKind::Conv.title(latent), NAME, ModelKind::Conv.id()),
        (
            ModelKind::ConvPool.title(latent),
            NAME,
            ModelKind::ConvPool.id(),
        ),
    ];
    let chart = lab.save_loss_chart(
        NAME,
        &format!(
            "Exercise 2: convolutional autoencoders, {} MNIST training images",
            thousands(lab.splits.train.len() as u64)
        ),
        &keys,
    )?;

    let find = |k: ModelKind| rows.iter().find(|r| r.kind == k).expect("trained above");
    let (d1, d2) = (find(ModelKind::Dense1None), find(ModelKind::Dense2Relu));
    let (conv, pool) = (find(ModelKind::Conv), find(ModelKind::ConvPool));

    let mut body = String::from("## Exercise 2: convolutional autoencoders\n\n");
    body += "> The convolutional autoencoder: its table.\n\n";
    for (kind, summary) in &summaries {
        body += &super::model_table(*kind, latent, summary);
    }
    body += "> Its complexity compared with the dense ones.\n\n";
    body += &format!(
        "The strided convolutional model has {} parameters, {} those of the one-layer dense \
         models and {} those of the deep one, but {} multiply-adds per image: {} the \
         one-layer models' and {} the deep one's, because each 3×3 kernel is applied at every \
         position of the image. The pooling model has only {} parameters ({:.1}% of the strided \
         one) for {} multiply-adds.\n\n",
        thousands(conv.params as u64),
        times(conv.params as f64 / d1.params as f64),
        times(conv.params as f64 / d2.params as f64),
        thousands(conv.mult_adds),
        times(conv.mult_adds as f64 / d1.mult_adds as f64),
        times(conv.mult_adds as f64 / d2.mult_adds as f64),
        thousands(pool.params as u64),
        100.0 * pool.params as f64 / conv.params as f64,
        thousands(pool.mult_adds),
    );
    body += "> The size of its code (64) compared with theirs.\n\n";
    body += &format!(
        "The strided model's code is 64×1×1 = {} values, the same as the dense models' K = \
         {latent}, so the comparison below is at equal compression ({:.1}× fewer numbers than \
         the 784 pixels). The pooling model keeps 8×4×4 = {} values, {} as many: it compresses \
         less, {}.\n\n",
        conv.code,
        784.0 / conv.code as f64,
        pool.code,
        times(pool.code as f64 / conv.code as f64),
        if pool.test < conv.test {
            "and its lower test error below owes something to that"
        } else {
            "yet with so few parameters it does not reach the strided model's test error"
        },
    );
    body += "> Training, test performance compared with the dense ones.\n\n";
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("{} (`{}`)", r.kind.title(latent), r.kind.id()),
                thousands(r.params as u64),
                thousands(r.mult_adds),
                r.code.to_string(),
                mse(r.test),
                format!("{:.2}", psnr(r.test)),
            ]
        })
        .collect();
    body += &table(
        &[
            "model",
            "parameters",
            "mult-adds / image",
            "code size",
            "test MSE",
            "PSNR (dB)",
        ],
        &table_rows,
    );
    let best = rows
        .iter()
        .min_by(|a, b| a.test.total_cmp(&b.test))
        .expect("five rows");
    let best_dense = rows[..3]
        .iter()
        .min_by(|a, b| a.test.total_cmp(&b.test))
        .expect("three dense rows");
    body += &format!(
        "\nThe lowest test error is the {}'s ({}). At the same code size of 64, the strided \
         convolutional model reaches {} against {} for the best dense one, the {}: {}. The \
         pooling model, with {:.1}% of the parameters, reaches {}.\n\n",
        best.kind.short(latent),
        mse(best.test),
        mse(conv.test),
        mse(best_dense.test),
        best_dense.kind.short(latent),
        if conv.test < best_dense.test {
            format!(
                "{:.1}% lower, since its weights are shared across positions and see local \
                 neighbourhoods",
                100.0 * (1.0 - conv.test / best_dense.test)
            )
        } else {
            format!(
                "{:.1}% higher after these epochs: its larger compute per parameter needs more \
                 passes to pay off",
                100.0 * (conv.test / best_dense.test - 1.0)
            )
        },
        100.0 * pool.params as f64 / conv.params as f64,
        mse(pool.test),
    );
    body += &format!("![train and test loss per epoch]({chart})\n\n");
    body += "*Loss per epoch: training (dashed) and test (solid).*\n\n";
    body += "> Reconstructions.\n\n";
    body += &format!("![originals and reconstructions]({grid})\n\n");
    body += &format!(
        "*Rows, top to bottom: originals; reconstructions by the {}, the {} and the {}.*\n\n",
        ModelKind::Dense2Relu.short(latent),
        ModelKind::Conv.short(latent),
        ModelKind::ConvPool.short(latent)
    );
    Ok(Section { body, timings })
}
