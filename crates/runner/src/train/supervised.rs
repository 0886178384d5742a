//! The supervised adversarial autoencoder (Makhzani et al. 2015, section 4) as a kind of
//! run: each step a reconstruction from the style code and the digit, then the AAE's game on
//! the style code against `N(0, I)` ([`models::aae_supervised::SupervisedAae::train_step`]),
//! three Adams. Its epochs have the adversarial runs' figures ([`AaeFigures`]).

use layers::Module;
use layers::optim::Adam;
use models::aae::AaeOptimizers;
use models::aae_supervised::SupervisedAae;
use serde::{Deserialize, Serialize};
use tensor::{Rng, Tensor};

use super::adversarial::AaeFigures;
use super::{Batch, RunConfig, StepSums, Trainee};
use crate::data::dataset::{Dataset, Splits};

/// What decides a supervised AAE run besides its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleConfig {
    /// Values in the style code.
    pub style: usize,
    /// Whether the discriminator reads the digit beside the code
    /// ([`SupervisedAae::critic_sees_digit`]; the paper's does not).
    pub critic_sees_digit: bool,
    /// β₁ of the two adversarial Adams (0.9 is Adam's default, the paper's recipe here;
    /// [`AaeOptimizers::with_game_beta1`]).
    pub game_beta1: f64,
    /// The weight of the per-digit MMD penalty ([`SupervisedAae::digit_mmd`]; 0 for none,
    /// as in runs saved before it existed).
    #[serde(default)]
    pub digit_mmd: f64,
    /// Whether the discriminator's game runs ([`SupervisedAae::adversarial`]; off, the MMD
    /// alone holds the code to the prior). Runs saved before it existed read true.
    #[serde(default = "adversarial_by_default")]
    pub adversarial: bool,
}

/// Configurations saved before [`StyleConfig::adversarial`] existed played the game.
pub fn adversarial_by_default() -> bool {
    true
}

/// A supervised adversarial autoencoder in training.
pub struct StyleRun {
    /// The model.
    pub model: SupervisedAae,
    opts: AaeOptimizers,
    sums: StepSums<3>,
}

/// Test images reconstructed per batch when measuring the test MSE.
const EVAL_BATCH: usize = 500;

impl StyleRun {
    /// The MSE per pixel of the reconstructions of `test`, each image given its own digit.
    fn test_mse(&mut self, test: &Dataset) -> f64 {
        let (mut sum, mut values) = (0.0, 0usize);
        let all: Vec<usize> = (0..test.len()).collect();
        for rows in all.chunks(EVAL_BATCH) {
            let x = test.images(rows);
            let digits: Vec<usize> = rows.iter().map(|&i| test.labels[i] as usize).collect();
            let y = self.model.reconstruct(&x, &digits);
            sum += crate::instruments::quality::squared_error(y.data(), x.data());
            values += x.data().len();
        }
        sum / values.max(1) as f64
    }
}

impl Trainee for StyleRun {
    type Config = StyleConfig;
    type Figures = AaeFigures;

    fn build(config: &RunConfig<StyleConfig>, _: &Splits, rng: &mut Rng) -> StyleRun {
        let mut model = SupervisedAae::new(config.model.style, config.model.critic_sees_digit, rng);
        model.digit_mmd = config.model.digit_mmd as f32;
        model.adversarial = config.model.adversarial;
        StyleRun {
            model,
            opts: AaeOptimizers::with_game_beta1(
                config.schedule.lr as f32,
                config.model.game_beta1 as f32,
            ),
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
        self.opts.named()
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        self.opts.named_mut()
    }

    fn start_epoch(&mut self, _epoch: usize) {
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, _print_tape: bool) -> Option<f64> {
        let digits = batch.classes();
        let l = self
            .model
            .train_step(&mut self.opts, &batch.images, &digits, rng)
            .expect("every part of the model is on its phase's tape");
        let values = [l.reconstruction, l.discriminator, l.generator];
        // Without the game its losses are NaN by design: only the played ones must be finite.
        let played = if self.model.adversarial {
            &values[..]
        } else {
            &values[..1]
        };
        played
            .iter()
            .all(|v| v.is_finite())
            .then(|| self.sums.add(values.map(f64::from), 1.0))
    }

    fn finish_epoch(&mut self, test: &Dataset) -> AaeFigures {
        let [reconstruction_bce, discriminator_loss, generator_loss] = self.sums.means();
        AaeFigures {
            reconstruction_bce,
            discriminator_loss,
            generator_loss,
            test_mse: self.test_mse(test),
        }
    }
}

/// The style codes of `images` (`[n, 1, 28, 28]`), `[n, style]`, batch by batch.
pub fn style_codes(model: &mut SupervisedAae, images: &Tensor) -> Tensor {
    let n = images.shape()[0];
    let mut out = Vec::with_capacity(n * model.style());
    let all: Vec<usize> = (0..n).collect();
    for rows in all.chunks(EVAL_BATCH) {
        out.extend_from_slice(model.encode_style(&images.index_select(0, rows)).data());
    }
    Tensor::from_vec(&[n, model.style()], out)
}
