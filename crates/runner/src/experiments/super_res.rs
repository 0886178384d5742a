//! Super-resolution: 14×14 inputs (each 2×2 block of the test image averaged) to 28×28
//! outputs with a convolutional model trained on (low, full) pairs, against nearest and
//! bilinear upsampling.

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, model_table};
use crate::data::corrupt::{upsample_bilinear, upsample_nearest};
use crate::instruments::quality::{Similarity, similarity};
use crate::train::{self, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "super_res";

/// Trains the super-resolution model, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let config = lab.config(ModelKind::SuperRes, lab.settings.latent);
    let clean = lab.splits.test.all_images().into_data();
    let low = train::test_inputs_for(&lab.splits.test, &config);
    let run = lab.ensure_config(NAME, ModelKind::SuperRes.id(), config)?;
    let timings = vec![Timing::of(run)];
    let description = model_table(ModelKind::SuperRes, 0, &run.summary);
    let model_out = run.reconstruct(&low);
    let (nearest, bilinear) = (upsample_nearest(&low), upsample_bilinear(&low));
    let scores = [
        (
            "nearest-neighbour upsampling",
            similarity(&nearest, &clean, 28, 28),
        ),
        ("bilinear upsampling", similarity(&bilinear, &clean, 28, 28)),
        ("the model", similarity(&model_out, &clean, 28, 28)),
    ];
    let rows = [
        lab.pick_samples(&nearest),
        lab.pick_samples(&bilinear),
        lab.pick_samples(&model_out),
        lab.pick_samples(&clean),
    ];
    let figure = lab.save_grid(NAME, "super_res.png", &rows)?;

    let mut body = String::from("## Super-resolution\n\n");
    body += &format!(
        "> 14x14 inputs (2x2 average of the test image) -> 28x28 outputs with a convolutional \
         model; PSNR/SSIM against nearest and bilinear upsampling.\n\n\
         The model reads the 14×14 image at its own size and doubles it with a transposed \
         convolution; trained {} on (2×2 average, image) pairs of the training set with the \
         MSE.\n\n",
        count(lab.settings.epochs, "epoch"),
    );
    body += &description;
    let row = |(what, s): &(&str, Similarity)| {
        vec![
            what.to_string(),
            format!("{:.5}", s.mse),
            format!("{:.2}", s.psnr),
            format!("{:.4}", s.ssim),
        ]
    };
    body += "\n";
    body += &table(
        &["28×28 from 14×14 by", "MSE", "PSNR (dB)", "SSIM"],
        &scores.iter().map(row).collect::<Vec<_>>(),
    );
    let (bilinear_s, model_s) = (&scores[1].1, &scores[2].1);
    body += &format!(
        "\nOn the {} test images the model differs from bilinear upsampling by {:+.2} dB of \
         PSNR and {:+.4} of SSIM: {}\n\n",
        layers::summary::thousands(clean.len() as u64 / 784),
        model_s.psnr - bilinear_s.psnr,
        model_s.ssim - bilinear_s.ssim,
        match (
            model_s.psnr > bilinear_s.psnr,
            model_s.ssim > bilinear_s.ssim
        ) {
            (true, true) =>
                "better on both. Interpolation can only spread the pixels the \
                             14×14 image has; the model, trained on pairs, adds what it has \
                             learned strokes look like.",
            (false, false) =>
                "after these epochs the learned upsampler is no better than \
                               interpolation.",
            _ => "better on one measure, worse on the other.",
        }
    );
    body += &format!("![low-res, upsampled, model, original]({figure})\n\n");
    body += "*Rows: the 14×14 input (each pixel drawn as a 2×2 block), bilinear upsampling, \
             the model's output, the original.*\n\n";
    Ok(Section { body, timings })
}
