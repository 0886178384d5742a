//! Super-resolution: 14×14 inputs (each 2×2 block of the test image averaged) to 28×28
//! outputs with a convolutional model trained on (low, full) pairs, against nearest and
//! bilinear upsampling.

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::data::corrupt::{upsample_bilinear, upsample_nearest};
use crate::instruments::quality::{Similarity, similarity};
use crate::report::markdown::{count, table};
use crate::train::TrainError;
use crate::train::autoencoder::test_inputs_for;

/// Super-resolution.
pub struct SuperResolution;

/// What super-resolution measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The super-resolution model.
    pub model: ModelCard,
    /// Test images compared.
    pub test_images: usize,
    /// Nearest-neighbour upsampling against the originals.
    pub nearest: Similarity,
    /// Bilinear upsampling against the originals.
    pub bilinear: Similarity,
    /// The model's outputs against the originals.
    pub learned: Similarity,
    /// The grid of inputs, upsamplings, outputs and originals.
    pub figure: String,
}

impl Experiment for SuperResolution {
    const NAME: &'static str = "super_res";
    const ABOUT: &'static str =
        "Super-resolution: 14×14 to 28×28, against nearest and bilinear upsampling";
    type Results = Results;

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.model.table_markdown()
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let kind = ModelKind::SuperRes;
        let config = lab.config(kind, lab.settings.latent);
        let clean = lab.splits.test.all_images().into_data();
        // The run's own test inputs: the 2×2 averages its configuration asks for.
        let low = test_inputs_for(&lab.splits.test, &config.model.corruption);
        let run = lab.ensure_config(Self::NAME, kind.id(), config)?;
        let model = ModelCard::of(run);
        let model_out = run.reconstruct(&low);
        let (nearest, bilinear) = (upsample_nearest(&low), upsample_bilinear(&low));
        let nearest_s = similarity(&nearest, &clean, 28, 28);
        let bilinear_s = similarity(&bilinear, &clean, 28, 28);
        let learned = similarity(&model_out, &clean, 28, 28);
        let rows = [
            lab.pick_samples(&nearest),
            lab.pick_samples(&bilinear),
            lab.pick_samples(&model_out),
            lab.pick_samples(&clean),
        ];
        let figure = lab.save_grid(Self::NAME, "super_res.png", &rows)?;
        Ok(Results {
            model,
            test_images: clean.len() / 784,
            nearest: nearest_s,
            bilinear: bilinear_s,
            learned,
            figure,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let mut body = String::from("## Super-resolution\n\n");
        body += &format!(
            "> 14x14 inputs (2x2 average of the test image) -> 28x28 outputs with a \
             convolutional model; PSNR/SSIM against nearest and bilinear upsampling.\n\n\
             The model reads the 14×14 image at its own size and doubles it with a transposed \
             convolution; trained {} on (2×2 average, image) pairs of the training set with \
             the MSE.\n\n",
            count(lab.epochs, "epoch"),
        );
        body += &r.model.table_link();
        let scores = [
            ("nearest-neighbour upsampling", &r.nearest),
            ("bilinear upsampling", &r.bilinear),
            ("the model", &r.learned),
        ];
        let row = |(what, s): &(&str, &Similarity)| {
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
        let (bilinear, model) = (&r.bilinear, &r.learned);
        body += &format!(
            "\nOn the {} test images the model differs from bilinear upsampling by {:+.2} dB \
             of PSNR and {:+.4} of SSIM: {}\n\n",
            thousands(r.test_images as u64),
            model.psnr - bilinear.psnr,
            model.ssim - bilinear.ssim,
            match (model.psnr > bilinear.psnr, model.ssim > bilinear.ssim) {
                (true, true) =>
                    "better on both. Interpolation can only spread the pixels the 14×14 image \
                     has; the model, trained on pairs, adds what it has learned strokes look \
                     like.",
                (false, false) =>
                    "after these epochs the learned upsampler is no better than interpolation.",
                _ => "better on one measure, worse on the other.",
            }
        );
        body += &format!("![low-res, upsampled, model, original]({})\n\n", r.figure);
        body += "*Rows: the 14×14 input (each pixel drawn as a 2×2 block), bilinear \
                 upsampling, the model's output, the original.*\n\n";
        Section {
            body,
            timings: vec![r.model.timing.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn scores(mse: f64, psnr: f64, ssim: f64) -> Similarity {
        Similarity { mse, psnr, ssim }
    }

    fn results(model: Similarity) -> Results {
        Results {
            model: card("super-resolution model", &[0.01, 0.002]),
            test_images: 10_000,
            nearest: scores(0.016, 17.9, 0.80),
            bilinear: scores(0.015, 18.3, 0.78),
            learned: model,
            figure: "super_res/super_res.png".into(),
        }
    }

    #[test]
    fn the_verdict_against_bilinear_follows_the_numbers() {
        let body = SuperResolution::render(&results(scores(0.002, 26.6, 0.98)), &lab()).body;
        assert!(
            body.contains("by +8.30 dB of PSNR and +0.2000 of SSIM"),
            "{body}"
        );
        assert!(body.contains("better on both"), "{body}");
        let body = SuperResolution::render(&results(scores(0.02, 17.0, 0.70)), &lab()).body;
        assert!(body.contains("no better than interpolation"), "{body}");
        let body = SuperResolution::render(&results(scores(0.012, 19.0, 0.70)), &lab()).body;
        assert!(
            body.contains("better on one measure, worse on the other"),
            "{body}"
        );
        assert!(body.contains("trained 10 epochs"), "{body}");
    }
}
