//! Exercise 3: denoising. Pairs `(x = y + n, y)` with `n ~ N(0, σ²)` (σ = 0.5 by default,
//! `x` clipped to `[0, 1]` unless `--no-clip`), fresh noise every batch, fixed noise on the
//! test set; the convolutional autoencoder trained on `x` against `y` with the MSE.

use layers::summary::thousands;

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, tp2};
use crate::instruments::quality::{Similarity, similarity};
use crate::train::{self, Noise, TrainError};
use crate::zoo::ModelKind;

/// The exercise's folder name.
pub const NAME: &str = "tp3";

/// The run's folder name inside `<out>/tp3/`.
pub const RUN: &str = "denoise_conv";

/// Trains the denoising autoencoder and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let noise = lab.settings.noise;
    let test_clean = lab.splits.test.all_images().into_data();
    let test_noisy = train::test_inputs(&lab.splits.test, Some(noise));
    let run = lab.ensure(NAME, RUN, ModelKind::Conv, Some(noise))?;
    let timings = vec![Timing::of(run)];
    let denoised = run.reconstruct(&test_noisy);
    let noisy_vs_clean = similarity(&test_noisy, &test_clean, 28, 28);
    let denoised_vs_clean = similarity(&denoised, &test_clean, 28, 28);

    // At other noise levels, the same model (trained at σ) on the same test images.
    let mut levels = Vec::new();
    for std in lab.settings.noise_levels.clone() {
        let level = Noise {
            std,
            clip: noise.clip,
        };
        let noisy = train::test_inputs(&lab.splits.test, Some(level));
        let run = lab.find_mut(NAME, RUN).expect("trained above");
        let out = run.reconstruct(&noisy);
        levels.push((
            std,
            similarity(&noisy, &test_clean, 28, 28),
            similarity(&out, &test_clean, 28, 28),
        ));
    }
    // The plain autoencoder of exercise 2, trained on clean images, when it ran here.
    let plain = lab
        .find_mut(tp2::NAME, ModelKind::Conv.id())
        .map(|run| similarity(&run.reconstruct(&test_noisy), &test_clean, 28, 28));

    let rows = [
        lab.pick_samples(&test_noisy),
        lab.pick_samples(&denoised),
        lab.pick_samples(&test_clean),
    ];
    let grid = lab.save_grid(NAME, "denoising.png", &rows)?;
    let chart = lab.save_loss_chart(
        NAME,
        &format!(
            "Exercise 3: denoising conv autoencoder (σ = {}), {} MNIST training images",
            noise.std,
            thousands(lab.splits.train.len() as u64)
        ),
        &[(format!("denoising conv AE, σ = {}", noise.std), NAME, RUN)],
    )?;

    let clip = if noise.clip {
        "clipped to [0, 1]"
    } else {
        "not clipped (`--no-clip`)"
    };
    let mut body = String::from("## Exercise 3: denoising\n\n");
    body += &format!(
        "> Pairs (x = y + n, y) with n Gaussian, mean 0, a fixed variance; train the \
         convolutional autoencoder on x against y with the MSE.\n\n\
         Noise: standard deviation σ = {} (variance {}), {clip}; fresh noise for every \
         training batch from the run's seeded generator, and one fixed draw (seed {}) for the \
         test set, so every model and run sees the same noisy test images. Model: the lab's \
         strided convolutional autoencoder, trained {} on the noisy inputs against the \
         clean images.\n\n",
        noise.std,
        noise.std * noise.std,
        train::TEST_NOISE_SEED,
        count(lab.settings.epochs, "epoch"),
    );
    body += "> Similarity between clean and denoised test images, and between clean and noisy \
             ones.\n\n";
    let row = |what: &str, s: &Similarity| {
        vec![
            what.to_string(),
            format!("{:.5}", s.mse),
            format!("{:.2}", s.psnr),
            format!("{:.4}", s.ssim),
        ]
    };
    let mut rows = vec![
        row("noisy input vs clean", &noisy_vs_clean),
        row("denoised vs clean", &denoised_vs_clean),
    ];
    if let Some(p) = &plain {
        rows.push(row(
            "plain conv AE of exercise 2 (trained on clean images) on the noisy input vs clean",
            p,
        ));
    }
    body += &table(&["test images", "MSE", "PSNR (dB)", "SSIM"], &rows);
    body += &format!(
        "\nOn the {} test images the autoencoder raises the PSNR from {:.2} dB to {:.2} dB \
         ({:+.2} dB) and the SSIM from {:.4} to {:.4}: {}.{}\n\n\
         MSE and PSNR are over all pixels of all test images (PSNR = 10·log10(1/MSE), data \
         range 1); SSIM is the mean over images of Wang et al.'s index (Gaussian window 11×11, \
         σ = 1.5, K1 = 0.01, K2 = 0.03), checked against scikit-image.\n\n",
        thousands(lab.splits.test.len() as u64),
        noisy_vs_clean.psnr,
        denoised_vs_clean.psnr,
        denoised_vs_clean.psnr - noisy_vs_clean.psnr,
        noisy_vs_clean.ssim,
        denoised_vs_clean.ssim,
        if denoised_vs_clean.mse < noisy_vs_clean.mse {
            format!(
                "it removes {:.0}% of the squared error the noise added",
                100.0 * (1.0 - denoised_vs_clean.mse / noisy_vs_clean.mse)
            )
        } else {
            "after these epochs its output is further from the clean image than its input"
                .to_string()
        },
        match &plain {
            Some(p) => format!(
                " The plain autoencoder, never shown noise, gets {:.2} dB and SSIM {:.4} on the \
                 same inputs{}.",
                p.psnr,
                p.ssim,
                if p.psnr < denoised_vs_clean.psnr {
                    ": training on noisy pairs is what makes an autoencoder a denoiser"
                } else {
                    ""
                }
            ),
            None => String::new(),
        }
    );
    body += "> A figure of rows noisy / denoised / clean.\n\n";
    body += &format!("![noisy, denoised, clean]({grid})\n\n");
    body += "*Rows, top to bottom: noisy input, denoised output, clean image (the first test \
             image of each digit).*\n\n";
    body += "> A table of PSNR across several noise levels.\n\n";
    let level_rows: Vec<Vec<String>> = levels
        .iter()
        .map(|(std, noisy, out)| {
            vec![
                format!("{std}"),
                format!("{:.2}", noisy.psnr),
                format!("{:.2}", out.psnr),
                format!("{:+.2}", out.psnr - noisy.psnr),
                format!("{:.4}", noisy.ssim),
                format!("{:.4}", out.ssim),
            ]
        })
        .collect();
    body += &table(
        &[
            "test σ",
            "PSNR noisy (dB)",
            "PSNR denoised (dB)",
            "gain (dB)",
            "SSIM noisy",
            "SSIM denoised",
        ],
        &level_rows,
    );
    let best = levels
        .iter()
        .max_by(|a, b| (a.2.psnr - a.1.psnr).total_cmp(&(b.2.psnr - b.1.psnr)));
    if let Some((best_std, n, o)) = best {
        body += &format!(
            "\nThe model trained at σ = {} is applied unchanged at each test noise level. The \
             gain is largest at σ = {best_std} (+{:.2} dB); {}.\n\n",
            noise.std,
            o.psnr - n.psnr,
            if levels.iter().all(|(_, n, o)| o.psnr > n.psnr) {
                "the output's PSNR is above its input's at every level tested".to_string()
            } else {
                let lost: Vec<String> = levels
                    .iter()
                    .filter(|(_, n, o)| o.psnr <= n.psnr)
                    .map(|(s, _, _)| format!("σ = {s}"))
                    .collect();
                format!(
                    "at {} the output's PSNR is below its input's: there is little noise to \
                     remove, and the model's own reconstruction error (blur) dominates",
                    lost.join(", ")
                )
            }
        );
    }
    body += &format!("![train and test loss per epoch]({chart})\n\n");
    body += "*Loss per epoch: training on noisy inputs (dashed) and test, denoised against \
             clean (solid).*\n\n";
    Ok(Section { body, timings })
}
