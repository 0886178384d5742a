//! The categorical adversarial autoencoder (Makhzani et al. 2015, section 6) as a kind of
//! run: each step a reconstruction, both discriminators, then the encoder against both
//! ([`models::aae_clusters::ClusterAae::train_step`]), four Adams, no labels.

use layers::Module;
use layers::optim::Adam;
use models::aae_clusters::{ClusterAae, ClusterOptimizers, STYLE};
use serde::{Deserialize, Serialize};
use tensor::Rng;

use super::metrics::Figures;
use super::{Batch, RunConfig, StepSums, Trainee};
use crate::data::dataset::{Dataset, Splits};

/// What decides a clustering run besides its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Clusters (the categorical code's size).
    pub clusters: usize,
    /// Values of the style code.
    pub style: usize,
}

impl ClusterConfig {
    /// `clusters` clusters and the model's style code.
    pub fn new(clusters: usize) -> ClusterConfig {
        ClusterConfig {
            clusters,
            style: STYLE,
        }
    }
}

/// One epoch of a clustering run: the phases' mean losses over its steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterFigures {
    /// Mean reconstruction BCE per pixel.
    pub reconstruction_bce: f64,
    /// Mean of the two discriminators' summed losses (2 ln 4 at chance).
    pub discriminators_loss: f64,
    /// Mean of the encoder's summed losses for fooling both (2 ln 2 at chance).
    pub generator_loss: f64,
}

impl Figures for ClusterFigures {
    const COLUMNS: &'static [&'static str] = &[
        "reconstruction_bce",
        "discriminators_loss",
        "generator_loss",
    ];

    fn values(&self) -> Vec<f64> {
        vec![
            self.reconstruction_bce,
            self.discriminators_loss,
            self.generator_loss,
        ]
    }

    fn line(&self) -> String {
        format!(
            "BCE {:.4}, D {:.3}, G {:.3}",
            self.reconstruction_bce, self.discriminators_loss, self.generator_loss
        )
    }
}

/// A categorical adversarial autoencoder in training.
pub struct ClusterRun {
    /// The model.
    pub model: ClusterAae,
    opts: ClusterOptimizers,
    sums: StepSums<3>,
}

impl Trainee for ClusterRun {
    type Config = ClusterConfig;
    type Figures = ClusterFigures;

    fn build(config: &RunConfig<ClusterConfig>, _: &Splits, rng: &mut Rng) -> ClusterRun {
        ClusterRun {
            model: ClusterAae::new(config.model.clusters, rng),
            opts: ClusterOptimizers::new(config.schedule.lr as f32),
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
            ("cluster_critic", &self.opts.cluster_critic),
            ("style_critic", &self.opts.style_critic),
            ("generator", &self.opts.generator),
        ]
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![
            ("reconstruction", &mut self.opts.reconstruction),
            ("cluster_critic", &mut self.opts.cluster_critic),
            ("style_critic", &mut self.opts.style_critic),
            ("generator", &mut self.opts.generator),
        ]
    }

    fn start_epoch(&mut self) {
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, _print_tape: bool) -> Option<f64> {
        let l = self
            .model
            .train_step(&mut self.opts, &batch.images, rng)
            .expect("every part of the model is on its phase's tape");
        (l.reconstruction.is_finite() && l.discriminators.is_finite()).then(|| {
            let values = [l.reconstruction, l.discriminators, l.generator];
            self.sums.add(values.map(f64::from), 1.0)
        })
    }

    fn finish_epoch(&mut self, _test: &Dataset) -> ClusterFigures {
        let [reconstruction_bce, discriminators_loss, generator_loss] = self.sums.means();
        ClusterFigures {
            reconstruction_bce,
            discriminators_loss,
            generator_loss,
        }
    }
}
