//! Adversarial autoencoders (Makhzani et al. 2015) as a kind of run: each step a
//! reconstruction phase and a regularization phase ([`models::aae::Aae::train_step`]),
//! three Adams, prior samples drawn from the run's generator.

use layers::Module;
use layers::optim::Adam;
use models::aae::{Aae, AaeOptimizers, PhaseLosses, Prior};
use serde::{Deserialize, Serialize};
use tensor::Rng;

use super::metrics::{Figures, nan_if_null};
use super::{Batch, RunConfig, StepSums, Trainee};
use crate::data::dataset::{Dataset, Splits};

/// What decides an adversarial run besides its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaeConfig {
    /// The prior's id (`gaussian`, `mixture`, `uniform`).
    pub prior: String,
    /// Whether the discriminator sees the digit.
    pub conditional: bool,
    /// Whether the regularization phase runs (false: a plain autoencoder of the same shape).
    pub regularize: bool,
}

impl AaeConfig {
    /// The prior it names.
    pub fn prior(&self) -> Result<Prior, String> {
        Prior::ALL
            .into_iter()
            .find(|p| p.id() == self.prior)
            .ok_or_else(|| {
                format!(
                    "unknown prior {:?} (gaussian, mixture, uniform)",
                    self.prior
                )
            })
    }
}

/// One epoch of an adversarial run: the phases' mean losses over its steps and the test
/// reconstruction error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaeFigures {
    /// Mean reconstruction BCE per pixel.
    pub reconstruction_bce: f64,
    /// Mean discriminator loss (ln 4 at chance; NaN when not regularizing).
    #[serde(deserialize_with = "nan_if_null")]
    pub discriminator_loss: f64,
    /// Mean generator (encoder-fools-discriminator) loss (ln 2 at chance; NaN when not
    /// regularizing).
    #[serde(deserialize_with = "nan_if_null")]
    pub generator_loss: f64,
    /// Test MSE per pixel after the epoch.
    pub test_mse: f64,
}

impl Figures for AaeFigures {
    const COLUMNS: &'static [&'static str] = &[
        "reconstruction_bce",
        "discriminator_loss",
        "generator_loss",
        "test_mse",
    ];

    fn values(&self) -> Vec<f64> {
        vec![
            self.reconstruction_bce,
            self.discriminator_loss,
            self.generator_loss,
            self.test_mse,
        ]
    }

    fn line(&self) -> String {
        format!(
            "BCE {:.4}, D {:.3}, G {:.3}, test MSE {:.5}",
            self.reconstruction_bce, self.discriminator_loss, self.generator_loss, self.test_mse
        )
    }
}

/// An adversarial autoencoder in training.
pub struct AaeRun {
    /// The model.
    pub model: Aae,
    opts: AaeOptimizers,
    regularize: bool,
    sums: StepSums<3>,
    /// The test images, made once: each epoch's test MSE reads them all.
    test_images: Vec<f32>,
}

impl Trainee for AaeRun {
    type Config = AaeConfig;
    type Figures = AaeFigures;

    fn build(config: &RunConfig<AaeConfig>, splits: &Splits, rng: &mut Rng) -> AaeRun {
        // The prior's name was checked when the configuration was made.
        let prior = config.model.prior().expect("a known prior");
        AaeRun {
            model: Aae::new(prior, config.model.conditional, rng),
            opts: AaeOptimizers::new(config.schedule.lr as f32),
            regularize: config.model.regularize,
            sums: StepSums::default(),
            test_images: splits.test.all_images().into_data(),
        }
    }

    fn model(&self) -> &dyn Module {
        &self.model
    }

    fn model_mut(&mut self) -> &mut dyn Module {
        &mut self.model
    }

    fn optimizers(&self) -> Vec<(&'static str, &Adam)> {
        self.opts.named()
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        self.opts.named_mut()
    }

    fn start_epoch(&mut self, _epoch: usize) {
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, _print_tape: bool) -> Option<f64> {
        let losses = if self.regularize {
            let digits = batch.classes();
            self.model
                .train_step(&mut self.opts, &batch.images, &digits, rng)
                .expect("every part of the AAE is on its phase's tape")
        } else {
            let value = self
                .model
                .reconstruction_step(&mut self.opts.reconstruction, &batch.images)
                .expect("encoder and decoder are on the reconstruction's tape");
            PhaseLosses {
                reconstruction: value,
                discriminator: f32::NAN,
                generator: f32::NAN,
            }
        };
        let finite = losses.reconstruction.is_finite()
            && (!self.regularize
                || (losses.discriminator.is_finite() && losses.generator.is_finite()));
        finite.then(|| {
            let values = [
                losses.reconstruction,
                losses.discriminator,
                losses.generator,
            ];
            self.sums.add(values.map(f64::from), 1.0)
        })
    }

    fn finish_epoch(&mut self, test: &Dataset) -> AaeFigures {
        let [reconstruction_bce, discriminator_loss, generator_loss] = self.sums.means();
        debug_assert_eq!(self.test_images.len(), test.len() * test.image_size());
        let outputs = super::autoencoder::reconstruct(&mut self.model, &self.test_images);
        AaeFigures {
            reconstruction_bce,
            discriminator_loss,
            generator_loss,
            test_mse: crate::instruments::quality::mse(&outputs, &self.test_images),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::train::{Options, Schedule, checkpoint, train};

    fn tiny_splits() -> Splits {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        Splits::load(&dir, "sample".into(), Some(192), Some(64)).unwrap()
    }

    /// The conditional mixture AAE (labels and prior draws in every step), or the plain
    /// autoencoder of the same shape.
    fn config(epochs: usize, regularize: bool) -> RunConfig<AaeConfig> {
        RunConfig {
            model: AaeConfig {
                prior: "mixture".into(),
                conditional: regularize,
                regularize,
            },
            schedule: Schedule::new(epochs, 64, 1e-3, 5, &tiny_splits()),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aae-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Whether two safetensors files hold the same bytes but for the order of the keys of
    /// their JSON header: an optimizer file's metadata (its hyperparameters) is written from
    /// a `HashMap`, whose order changes from one map to the next.
    fn same_state(a: &[u8], b: &[u8]) -> bool {
        let split = |f: &[u8]| {
            let n = 8 + u64::from_le_bytes(f[..8].try_into().unwrap()) as usize;
            let header: serde_json::Value = serde_json::from_slice(&f[8..n]).unwrap();
            (header, f[n..].to_vec())
        };
        split(a) == split(b)
    }

    fn resume() -> Options {
        Options {
            resume: true,
            ..Options::default()
        }
    }

    /// Two epochs straight, and one epoch then a resumed second, end with the same bits:
    /// the weights (the whole file) and each of the three optimizers' states (every tensor;
    /// the header the same but for the order of its metadata).
    #[test]
    fn a_resumed_adversarial_run_ends_bit_identical_to_an_uninterrupted_one() {
        let splits = tiny_splits();
        let (straight, resumed) = (scratch("straight"), scratch("resumed"));
        let a = train::<AaeRun>(&config(2, true), &splits, &straight, Options::default()).unwrap();
        train::<AaeRun>(&config(1, true), &splits, &resumed, Options::default()).unwrap();
        let b = train::<AaeRun>(&config(2, true), &splits, &resumed, resume()).unwrap();
        assert_eq!((b.trained_epochs, b.history.len()), (1, 2));
        let figures = |h: &[super::super::metrics::EpochRecord<AaeFigures>]| {
            h.iter().map(|r| r.figures.clone()).collect::<Vec<_>>()
        };
        assert_eq!(figures(&a.history), figures(&b.history));
        let file = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
        assert!(file(&straight, "model.safetensors") == file(&resumed, "model.safetensors"));
        let ckpt = |d: &Path, f: &str| file(&checkpoint::dir_of(d), f);
        for name in ["reconstruction", "discriminator", "generator"] {
            let f = format!("optimizer-{name}-epoch2.safetensors");
            let (x, y) = (ckpt(&straight, &f), ckpt(&resumed, &f));
            assert!(same_state(&x, &y), "{f} differs");
        }
        std::fs::remove_dir_all(&straight).unwrap();
        std::fs::remove_dir_all(&resumed).unwrap();
    }

    /// The plain autoencoder's epochs have no game (NaN losses, `null` in the checkpoint's
    /// JSON): its checkpoint still reads back, and the run resumes.
    #[test]
    fn a_run_without_a_game_resumes() {
        let splits = tiny_splits();
        let dir = scratch("plain");
        train::<AaeRun>(&config(1, false), &splits, &dir, Options::default()).unwrap();
        let b = train::<AaeRun>(&config(2, false), &splits, &dir, resume()).unwrap();
        assert_eq!((b.trained_epochs, b.history.len()), (1, 2));
        assert!(b.history[0].figures.discriminator_loss.is_nan());
        assert!(b.history[1].figures.test_mse.is_finite());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
