//! Exercise 3: denoising. Pairs `(x = y + n, y)` with `n ~ N(0, σ²)` (σ = 0.5 by default,
//! `x` clipped to `[0, 1]` unless `--no-clip`), fresh noise every batch, fixed noise on the
//! test set; the convolutional autoencoder trained on `x` against `y` with the MSE.

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, Section, Timing, tp2};
use crate::instruments::quality::{Similarity, similarity};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, table};
use crate::train::autoencoder::{TEST_NOISE_SEED, test_inputs};
use crate::train::{Noise, TrainError};

/// Exercise 3.
pub struct Exercise3;

/// The run's folder name inside `<out>/tp3/`.
pub const RUN: &str = "denoise_conv";

/// What exercise 3 measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The noise the model trained on (and the main test noise).
    pub noise: Noise,
    /// The seed of the test set's noise.
    pub test_noise_seed: u64,
    /// The noisy test inputs against the clean images.
    pub noisy: Similarity,
    /// The denoised test images against the clean images.
    pub denoised: Similarity,
    /// Exercise 2's strided model (trained on clean images) on the same noisy inputs.
    pub plain: Similarity,
    /// The same model at each test noise level of `--noise-levels`.
    pub levels: Vec<Level>,
    /// The grid of noisy, denoised and clean images.
    pub denoising: String,
    /// The loss curves.
    pub losses: String,
    /// The denoising run's row of the timings table.
    pub timing: Timing,
}

/// The denoising model at one test noise level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// The test noise's standard deviation.
    pub std: f64,
    /// The noisy inputs against the clean images.
    pub noisy: Similarity,
    /// The model's outputs against the clean images.
    pub denoised: Similarity,
}

impl Level {
    /// What denoising adds to the PSNR, in dB.
    fn gain(&self) -> f64 {
        self.denoised.psnr - self.noisy.psnr
    }
}

impl Experiment for Exercise3 {
    const NAME: &'static str = "tp3";
    const ABOUT: &'static str =
        "Exercise 3: the denoising convolutional autoencoder, MSE/PSNR/SSIM";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let plain_gain = r.plain.psnr - r.noisy.psnr;
        let denoiser_gain = r.denoised.psnr - r.noisy.psnr;
        let verdict = if plain_gain <= 0.0 {
            Verdict::Fails
        } else if plain_gain >= denoiser_gain {
            Verdict::Holds
        } else {
            Verdict::Partly
        };
        vec![Finding::new(
            Claim::DenoisingComesFromTheBottleneck,
            verdict,
            format!(
                "on inputs with noise σ = {} (PSNR {:.2} dB), the plain model, never trained on \
                 noise, reaches {:.2} dB ({:+.1} dB: its code's bottleneck alone); the \
                 denoiser, trained on noisy pairs, {:.2} dB ({:+.1} dB)",
                r.noise.std, r.noisy.psnr, r.plain.psnr, plain_gain, r.denoised.psnr, denoiser_gain
            ),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let noise = lab.settings.noise;
        let test_clean = lab.splits.test.all_images().into_data();
        let test_noisy = test_inputs(&lab.splits.test, Some(noise));
        let run = lab.ensure(Self::NAME, RUN, ModelKind::Conv, Some(noise))?;
        let timing = Timing::of(run);
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
            let noisy = test_inputs(&lab.splits.test, Some(level));
            let run = lab.find_mut(Self::NAME, RUN).expect("trained above");
            let out = run.reconstruct(&noisy);
            levels.push(Level {
                std,
                noisy: similarity(&noisy, &test_clean, 28, 28),
                denoised: similarity(&out, &test_clean, 28, 28),
            });
        }
        // The plain autoencoder of exercise 2, trained on clean images.
        let kind = ModelKind::Conv;
        let plain_run = lab.ensure(tp2::Exercise2::NAME, kind.id(), kind, None)?;
        let plain = similarity(&plain_run.reconstruct(&test_noisy), &test_clean, 28, 28);

        let rows = [
            lab.pick_samples(&test_noisy),
            lab.pick_samples(&denoised),
            lab.pick_samples(&test_clean),
        ];
        let denoising = lab.save_grid(Self::NAME, "denoising.png", &rows)?;
        let losses = lab.save_loss_chart(
            Self::NAME,
            &format!(
                "Exercise 3: denoising conv autoencoder (σ = {}), {} {} training images",
                noise.std,
                thousands(lab.splits.train.len() as u64),
                lab.identity.short()
            ),
            &[(
                format!("denoising conv AE, σ = {}", noise.std),
                Self::NAME,
                RUN,
            )],
        )?;
        Ok(Results {
            noise,
            test_noise_seed: TEST_NOISE_SEED,
            noisy: noisy_vs_clean,
            denoised: denoised_vs_clean,
            plain,
            levels,
            denoising,
            losses,
            timing,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let noise = r.noise;
        let (noisy, denoised, plain) = (&r.noisy, &r.denoised, &r.plain);
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
             training batch from the run's seeded generator, and one fixed draw (seed {}) for \
             the test set, so every model and run sees the same noisy test images. Model: the \
             lab's strided convolutional autoencoder, trained {} on the noisy inputs against \
             the clean images.\n\n",
            noise.std,
            noise.std * noise.std,
            r.test_noise_seed,
            count(lab.epochs, "epoch"),
        );
        body += "> Similarity between clean and denoised test images, and between clean and \
                 noisy ones.\n\n";
        let row = |what: &str, s: &Similarity| {
            vec![
                what.to_string(),
                format!("{:.5}", s.mse),
                format!("{:.2}", s.psnr),
                format!("{:.4}", s.ssim),
            ]
        };
        let rows = vec![
            row("noisy input vs clean", noisy),
            row("denoised vs clean", denoised),
            row(
                "plain conv AE of exercise 2 (trained on clean images) on the noisy input vs \
                 clean",
                plain,
            ),
        ];
        body += &table(&["test images", "MSE", "PSNR (dB)", "SSIM"], &rows);
        body += &format!(
            "\nOn the {} test images the autoencoder raises the PSNR from {:.2} dB to {:.2} dB \
             ({:+.2} dB) and the SSIM from {:.4} to {:.4}: {}. The plain autoencoder, never \
             shown noise, gets {:.2} dB and SSIM {:.4} on the same inputs{}.\n\n\
             MSE and PSNR are over all pixels of all test images (PSNR = 10·log10(1/MSE), data \
             range 1); SSIM is the mean over images of Wang et al.'s index (Gaussian window \
             11×11, σ = 1.5, K1 = 0.01, K2 = 0.03), checked against scikit-image.\n\n",
            thousands(lab.n_test as u64),
            noisy.psnr,
            denoised.psnr,
            denoised.psnr - noisy.psnr,
            noisy.ssim,
            denoised.ssim,
            if denoised.mse < noisy.mse {
                format!(
                    "it removes {:.0}% of the squared error the noise added",
                    100.0 * (1.0 - denoised.mse / noisy.mse)
                )
            } else {
                "after these epochs its output is further from the clean image than its input"
                    .to_string()
            },
            plain.psnr,
            plain.ssim,
            plain_clause(noisy, denoised, plain),
        );
        body += "> A figure of rows noisy / denoised / clean.\n\n";
        body += &format!("![noisy, denoised, clean]({})\n\n", r.denoising);
        body += &format!(
            "*Rows, top to bottom: noisy input, denoised output, clean image ({}).*\n\n",
            lab.samples_caption()
        );
        body += "> A table of PSNR across several noise levels.\n\n";
        let level_rows: Vec<Vec<String>> = r
            .levels
            .iter()
            .map(|l| {
                vec![
                    format!("{}", l.std),
                    format!("{:.2}", l.noisy.psnr),
                    format!("{:.2}", l.denoised.psnr),
                    format!("{:+.2}", l.gain()),
                    format!("{:.4}", l.noisy.ssim),
                    format!("{:.4}", l.denoised.ssim),
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
        let best = r.levels.iter().max_by(|a, b| a.gain().total_cmp(&b.gain()));
        if let Some(best) = best {
            body += &format!(
                "\nThe model trained at σ = {} is applied unchanged at each test noise level. \
                 The gain is largest at σ = {} (+{:.2} dB); {}.\n\n",
                noise.std,
                best.std,
                best.gain(),
                levels_verdict(&r.levels),
            );
        }
        body += &format!("![train and test loss per epoch]({})\n\n", r.losses);
        body += "*Loss per epoch: training on noisy inputs (dashed) and test, denoised against \
                 clean (solid).*\n\n";
        Section {
            body,
            timings: vec![r.timing.clone()],
        }
    }
}

/// What the plain model (never shown noise) on the noisy inputs says of where denoising
/// comes from, in a clause: its bottleneck alone, the training on noisy pairs, or both.
fn plain_clause(noisy: &Similarity, denoised: &Similarity, plain: &Similarity) -> String {
    let bottleneck = plain.psnr - noisy.psnr;
    let training = denoised.psnr - plain.psnr;
    match (bottleneck > 0.0, training > 0.0) {
        (true, true) => format!(
            " ({bottleneck:+.2} dB over its input): its bottleneck alone removes part of the \
             noise, and training on noisy pairs adds {training:+.2} dB more"
        ),
        (false, true) => format!(
            " ({bottleneck:+.2} dB over its input): its bottleneck alone does not remove the \
             noise; training on noisy pairs is what makes an autoencoder a denoiser \
             ({training:+.2} dB)"
        ),
        (_, false) => format!(
            " ({bottleneck:+.2} dB over its input), as much as the denoiser: training on noisy \
             pairs adds nothing here"
        ),
    }
}

/// Whether denoising helps at every test noise level, in a clause.
fn levels_verdict(levels: &[Level]) -> String {
    if levels.iter().all(|l| l.denoised.psnr > l.noisy.psnr) {
        return "the output's PSNR is above its input's at every level tested".to_string();
    }
    let lost: Vec<String> = levels
        .iter()
        .filter(|l| l.denoised.psnr <= l.noisy.psnr)
        .map(|l| format!("σ = {}", l.std))
        .collect();
    let ssim_up: Vec<String> = levels
        .iter()
        .filter(|l| l.denoised.psnr <= l.noisy.psnr && l.denoised.ssim > l.noisy.ssim)
        .map(|l| {
            format!(
                "at σ = {} from {:.4} to {:.4}",
                l.std, l.noisy.ssim, l.denoised.ssim
            )
        })
        .collect();
    let mut clause = format!(
        "at {} the output's PSNR is below its input's: there is little noise to remove, and \
         the model's own reconstruction error (blur) dominates",
        lost.join(", ")
    );
    if !ssim_up.is_empty() {
        clause += &format!(
            ". Yet the SSIM rises there ({}): the blur costs squared error over every pixel, \
             while the SSIM, which compares local structure (means, contrasts and correlations \
             in 11×11 windows), sees strokes cleaner than the noisy input's; the two measures \
             disagree on whether the output is better",
            ssim_up.join("; ")
        );
    }
    clause
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    fn sim(mse: f64, ssim: f64) -> Similarity {
        Similarity {
            mse,
            psnr: crate::instruments::quality::psnr(mse),
            ssim,
        }
    }

    fn results(denoised: f64, plain: f64, low_level: f64) -> Results {
        let level = |std: f64, noisy: f64, out: f64| Level {
            std,
            noisy: sim(noisy, 0.5),
            denoised: sim(out, 0.8),
        };
        Results {
            noise: Noise {
                std: 0.5,
                clip: true,
            },
            test_noise_seed: 1234,
            noisy: sim(0.1, 0.4),
            denoised: sim(denoised, 0.8),
            plain: sim(plain, 0.5),
            levels: vec![
                level(0.1, 0.01, low_level),
                level(0.5, 0.1, 0.02),
                level(0.9, 0.2, 0.05),
            ],
            denoising: "tp3/denoising.png".into(),
            losses: "tp3/losses.svg".into(),
            timing: Timing {
                run: RUN.into(),
                epochs_trained: 10,
                seconds_per_epoch: 1.0,
                images: 10_000,
            },
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let body = Exercise3::render(&results(0.02, 0.05, 0.02), &lab()).body;
        assert!(body.contains("clipped to [0, 1]"), "{body}");
        assert!(
            body.contains("it removes 80% of the squared error"),
            "{body}"
        );
        assert!(
            body.contains(
                "its bottleneck alone removes part of the noise, and training on noisy \
                           pairs adds +3.98 dB more"
            ),
            "{body}"
        );
        // Gains: 0.1 → -3.01 dB, 0.5 → 6.99 dB, 0.9 → 6.02 dB.
        assert!(body.contains("largest at σ = 0.5 (+6.99 dB)"), "{body}");
        assert!(
            body.contains("at σ = 0.1 the output's PSNR is below"),
            "{body}"
        );
        assert!(
            body.contains("Yet the SSIM rises there (at σ = 0.1 from 0.5000 to 0.8000)"),
            "{body}"
        );
        // The plain model worse than its noisy input: the training does it all.
        let body = Exercise3::render(&results(0.02, 0.2, 0.02), &lab()).body;
        assert!(
            body.contains("its bottleneck alone does not remove the noise"),
            "{body}"
        );
        // Flipped: the output is worse than the input, the plain model does as well, and
        // denoising helps at every level.
        let mut r = results(0.2, 0.01, 0.005);
        r.noise.clip = false;
        let body = Exercise3::render(&r, &lab()).body;
        assert!(body.contains("not clipped"), "{body}");
        assert!(body.contains("further from the clean image"), "{body}");
        assert!(body.contains("as much as the denoiser"), "{body}");
        assert!(body.contains("above its input's at every level"), "{body}");
    }

    #[test]
    fn the_bottleneck_claim_follows_the_gains() {
        use crate::report::claims::Verdict;
        // Noisy inputs: MSE 0.1 (10 dB).
        let verdict = |denoised: f64, plain: f64| {
            Exercise3::claims(&results(denoised, plain, 0.005), &lab())[0].verdict
        };
        assert_eq!(verdict(0.01, 0.05), Verdict::Partly);
        assert_eq!(verdict(0.01, 0.2), Verdict::Fails);
        assert_eq!(verdict(0.05, 0.01), Verdict::Holds);
    }
}
