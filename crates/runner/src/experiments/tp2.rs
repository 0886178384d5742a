//! Exercise 2: the lab's convolutional autoencoder (strided convolutions to a 64×1×1 code)
//! and the course's pooling one (8×4×4 code, 4,385 parameters), against the dense ones of
//! exercise 1 (trained here too when exercise 1 has not run in this process).

use layers::summary::thousands;

use crate::report::markdown::{format_mse, table, times};
use super::{Lab, ModelFigures, Section, tp1};
use crate::instruments::quality::psnr;
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The exercise's folder name.
pub const NAME: &str = "tp2";

/// The models of exercise 2.
pub const MODELS: [ModelKind; 2] = [ModelKind::Conv, ModelKind::ConvPool];

/// The models whose reconstructions the figure shows, in its row order.
const PICTURED: [ModelKind; 3] = [ModelKind::Dense2Relu, ModelKind::Conv, ModelKind::ConvPool];

/// Trains the convolutional models (into `<out>/tp2/<model>/`) and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let latent = lab.settings.latent;
    let samples = lab.sample_images();
    let mut images = vec![samples.clone()];
    let mut rows = Vec::new();
    let every = tp1::MODELS
        .iter()
        .map(|k| (tp1::NAME, *k))
        .chain(MODELS.iter().map(|k| (NAME, *k)));
    for (exercise, kind) in every {
        let run = lab.ensure(exercise, kind.id(), kind, None)?;
        if PICTURED.contains(&kind) {
            images.push(run.reconstruct(&samples));
        }
        rows.push(ModelFigures::of(run));
    }
    let grid = lab.save_grid(NAME, "reconstructions.png", &images)?;
    let keys: Vec<(String, &str, &str)> = PICTURED
        .iter()
        .map(|k| {
            let exercise = if MODELS.contains(k) { NAME } else { tp1::NAME };
            (k.title(latent), exercise, k.id())
        })
        .collect();
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
    for r in rows.iter().filter(|r| MODELS.contains(&r.kind)) {
        body += &super::model_table(r.kind, latent, &r.summary);
    }
    body += "> Its complexity compared with the dense ones.\n\n";
    body += &format!(
        "The strided convolutional model has {} parameters, {} those of the one-layer dense \
         models and {} those of the deep one, but {} multiply-adds per image: {} the \
         one-layer models' and {} the deep one's, because each kernel is applied at every output \
         position of the image. The pooling model has only {} parameters ({:.1}% of the strided \
         one) for {} multiply-adds.\n\n",
        thousands(conv.summary.total_params as u64),
        times(conv.summary.total_params as f64 / d1.summary.total_params as f64),
        times(conv.summary.total_params as f64 / d2.summary.total_params as f64),
        thousands(conv.summary.mult_adds_per_sample),
        times(conv.summary.mult_adds_per_sample as f64 / d1.summary.mult_adds_per_sample as f64),
        times(conv.summary.mult_adds_per_sample as f64 / d2.summary.mult_adds_per_sample as f64),
        thousands(pool.summary.total_params as u64),
        100.0 * pool.summary.total_params as f64 / conv.summary.total_params as f64,
        thousands(pool.summary.mult_adds_per_sample),
    );
    body += "> The size of its code (64) compared with theirs.\n\n";
    body += &format!(
        "The strided model's code is 64×1×1 = {} values {}, {:.1}× fewer numbers than the 784 \
         pixels. The pooling model keeps 8×4×4 = {} values, {} as many: it compresses \
         less, {}.\n\n",
        conv.code,
        if latent == conv.code {
            format!(
                "like the dense models' K = {latent}, so the comparison below is at equal compression"
            )
        } else {
            format!("against the dense models' K = {latent}")
        },
        784.0 / conv.code as f64,
        pool.code,
        times(pool.code as f64 / conv.code as f64),
        if pool.test_mse < conv.test_mse {
            "and its test error is below the strided model's"
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
                thousands(r.summary.total_params as u64),
                thousands(r.summary.mult_adds_per_sample),
                r.code.to_string(),
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
            "code size",
            "test MSE",
            "PSNR (dB)",
        ],
        &table_rows,
    );
    let best = rows
        .iter()
        .min_by(|a, b| a.test_mse.total_cmp(&b.test_mse))
        .expect("five rows");
    let best_dense = rows[..3]
        .iter()
        .min_by(|a, b| a.test_mse.total_cmp(&b.test_mse))
        .expect("three dense rows");
    body += &format!(
        "\nThe lowest test error is the {}'s ({}). With a code of {} values, the strided \
         convolutional model reaches {} against {} for the best dense one, the {}: {}. The \
         pooling model, with {:.1}% of the parameters, reaches {}.\n\n",
        best.kind.short(latent),
        format_mse(best.test_mse),
        conv.code,
        format_mse(conv.test_mse),
        format_mse(best_dense.test_mse),
        best_dense.kind.short(latent),
        if conv.test_mse < best_dense.test_mse {
            format!(
                "{:.1}% lower, since its weights are shared across positions and see local \
                 neighbourhoods",
                100.0 * (1.0 - conv.test_mse / best_dense.test_mse)
            )
        } else {
            format!(
                "{:.1}% higher after these epochs",
                100.0 * (conv.test_mse / best_dense.test_mse - 1.0)
            )
        },
        100.0 * pool.summary.total_params as f64 / conv.summary.total_params as f64,
        format_mse(pool.test_mse),
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
    let timings = rows
        .into_iter()
        .filter(|r| MODELS.contains(&r.kind))
        .map(|r| r.timing)
        .collect();
    Ok(Section { body, timings })
}
