//! Adversarial autoencoders (Makhzani et al. 2015) as a kind of run: each step a
//! reconstruction phase and a regularization phase ([`models::aae::Aae::train_step`]),
//! three Adams, prior samples drawn from the run's generator.

use layers::Module;
use layers::optim::Adam;
use models::aae::{Aae, AaeOptimizers, PhaseLosses, Prior};
use serde::{Deserialize, Serialize};
use tensor::Rng;

use super::metrics::Figures;
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
    pub discriminator_loss: f64,
    /// Mean generator (encoder-fools-discriminator) loss (ln 2 at chance; NaN when not
    /// regularizing).
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
}

impl Trainee for AaeRun {
    type Config = AaeConfig;
    type Figures = AaeFigures;

    fn build(config: &RunConfig<AaeConfig>, _: &Splits, rng: &mut Rng) -> AaeRun {
        // The prior's name was checked when the configuration was made.
        let prior = config.model.prior().expect("a known prior");
        AaeRun {
            model: Aae::new(prior, config.model.conditional, rng),
            opts: AaeOptimizers::new(config.schedule.lr as f32),
            regularize: config.model.regularize,
            sums: StepSums::default(),
        }
    }

    fn model(&self) -> &dyn Module {
        &self.model
    }

    fn model_mut(&mut self) -> &mut dyn Module {
        &mut self.model
    }

    fn optimizers(&self) -> Vec<(&'static str, &Adam)> {
        vec![
            ("reconstruction", &self.opts.reconstruction),
            ("discriminator", &self.opts.discriminator),
            ("generator", &self.opts.generator),
        ]
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![
            ("reconstruction", &mut self.opts.reconstruction),
            ("discriminator", &mut self.opts.discriminator),
            ("generator", &mut self.opts.generator),
        ]
    }

    fn start_epoch(&mut self) {
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, _print_tape: bool) -> Option<f64> {
        let losses = if self.regularize {
            let digits: Vec<usize> = batch.labels.iter().map(|&l| l as usize).collect();
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
            let values = [losses.reconstruction, losses.discriminator, losses.generator];
            self.sums.add(values.map(f64::from), 1.0)
        })
    }

    fn finish_epoch(&mut self, test: &Dataset) -> AaeFigures {
        let [reconstruction_bce, discriminator_loss, generator_loss] = self.sums.means();
        let test_x = test.all_images().into_data();
        let outputs = super::autoencoder::reconstruct(&mut self.model, &test_x);
        AaeFigures {
            reconstruction_bce,
            discriminator_loss,
            generator_loss,
            test_mse: crate::instruments::quality::mse(&outputs, &test_x),
        }
    }
}
