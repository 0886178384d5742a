//! The categorical adversarial autoencoder (Makhzani et al. 2015, sections 5 and 6) as a
//! kind of run: each step a reconstruction, both discriminators, the encoder against both,
//! self-augmented training of the cluster head when the recipe has it (the batch shifted at
//! random here, for its shift consistency) and, for a semi-supervised run, a cross-entropy
//! step on a batch of the few labelled images
//! ([`models::aae_clusters::ClusterAae::train_step`]); six Adams.

use layers::Module;
use layers::optim::Adam;
use models::aae_clusters::{
    CONSISTENCY_SHIFT, ClusterAae, ClusterOptimizers, LabelledBatch, Moves, RADIUS_NEIGHBOUR,
    RADIUS_SHARE, Recipe, STYLE,
};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tensor::{Rng, Tensor, rng};

use super::metrics::{Figures, nan_if_null};
use super::{Batch, RunConfig, StepSums, Trainee};
use crate::data::corrupt::translate_at_random;
use crate::data::dataset::{Dataset, Splits};
use crate::instruments::cluster::{cluster_error, mean_neighbour_distance};

/// What decides a categorical AAE run besides its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Clusters (the categorical code's size; 10 for a semi-supervised run, one per class).
    pub clusters: usize,
    /// Values of the style code.
    pub style: usize,
    /// The decoder and the cluster discriminator read the one-hot of the code's argmax.
    pub hard_code: bool,
    /// The encoder's adversarial learning rate as a share of the reconstruction's.
    pub generator_share: f32,
    /// Gaussian noise on the encoder's input (σ), 0 for none.
    pub input_noise: f32,
    /// Gumbel noise on the cluster logits in training ([`Recipe::gumbel`]). Runs saved
    /// before it existed read false.
    #[serde(default)]
    pub gumbel: bool,
    /// Batch normalisation in the trunk ([`Recipe::batch_norm`]). Runs saved before it
    /// existed read false.
    #[serde(default)]
    pub batch_norm: bool,
    /// Whether the cluster discriminator plays ([`Recipe::cluster_critic`]). Runs saved
    /// before it existed read true.
    #[serde(default = "playing")]
    pub cluster_critic: bool,
    /// The weight of self-augmented training of the cluster head ([`Recipe::smoothness`]).
    /// Runs saved before it existed read 0.
    #[serde(default)]
    pub smoothness: f32,
    /// The weight of IMSAT's entropies ([`Recipe::balance`]). Runs saved before it existed
    /// read 0.
    #[serde(default)]
    pub balance: f32,
    /// The self-augmented phase's learning rate as a share of the reconstruction's
    /// ([`Recipe::smoothness_share`]). Runs saved before it existed read 1.
    #[serde(default = "whole")]
    pub smoothness_share: f32,
    /// The weight of shift consistency in the self-augmented phase
    /// ([`Recipe::shift_consistency`]). Runs saved before it existed read 0.
    #[serde(default)]
    pub shift_consistency: f32,
    /// Labelled training images per class for the supervised phase; 0 trains without labels.
    pub labelled_per_class: usize,
    /// The largest random shift, in pixels along each axis, of each labelled image every
    /// time a supervised batch draws it (0: as they are). Runs saved before it existed read 0.
    #[serde(default)]
    pub labelled_shift: i64,
    /// Only the supervised phase: the encoder learns from the labelled images alone (the
    /// baseline a semi-supervised run must beat), with the same steps, noise and optimizer.
    pub labels_only: bool,
    /// The yardstick run: the decoder reads each training image's digit (one-hot) in place
    /// of its cluster code ([`ClusterAae::train_step_digits_as_code`]), so its test BCE says
    /// how well the same model reconstructs when its clusters are exactly the digits. Runs
    /// saved before it existed read false.
    #[serde(default)]
    pub digits_as_code: bool,
    /// The length of self-augmented training's adversarial move, when the experiment has
    /// measured it once for all its runs ([`ClusterConfig::moving_by`]); `None`: measured
    /// from the training images when the run is built ([`smoothing_radius`]). Runs saved
    /// before it existed read `None`.
    #[serde(default)]
    pub radius: Option<f32>,
    /// From this epoch on (1-based), only the supervised phase runs: a semi-supervised run
    /// whose unlabelled phases stop for its last epochs, so that what they leave in the
    /// trunk can be told from what they cost while they run (`None`: every phase to the
    /// end). Runs saved before it existed read `None`.
    #[serde(default)]
    pub supervised_only_from: Option<usize>,
}

/// The self-augmented phase's learning rate share of runs saved before
/// [`ClusterConfig::smoothness_share`] existed.
fn whole() -> f32 {
    1.0
}

/// The cluster discriminator of runs saved before [`ClusterConfig::cluster_critic`] existed.
fn playing() -> bool {
    true
}

impl ClusterConfig {
    /// Unsupervised clustering into `clusters` clusters, trained by `recipe`.
    pub fn new(clusters: usize, recipe: Recipe) -> ClusterConfig {
        ClusterConfig {
            clusters,
            style: STYLE,
            hard_code: recipe.hard_code,
            generator_share: recipe.generator_share,
            input_noise: recipe.input_noise,
            gumbel: recipe.gumbel,
            batch_norm: recipe.batch_norm,
            cluster_critic: recipe.cluster_critic,
            smoothness: recipe.smoothness,
            balance: recipe.balance,
            smoothness_share: recipe.smoothness_share,
            shift_consistency: recipe.shift_consistency,
            labelled_per_class: 0,
            labelled_shift: 0,
            labels_only: false,
            digits_as_code: false,
            radius: None,
            supervised_only_from: None,
        }
    }

    /// The same run, its adversarial move of length `radius` ([`smoothing_radius`] of the
    /// training images, measured once by the caller) when its recipe has
    /// [`Recipe::smoothness`]; without it, no radius (`None`).
    pub fn moving_by(self, radius: f32) -> ClusterConfig {
        let radius = (self.smoothness > 0.0).then_some(radius);
        ClusterConfig { radius, ..self }
    }

    /// The yardstick of [`ClusterConfig::new`]: the same model and recipe, the decoder given
    /// each image's digit as its code ([`ClusterConfig::digits_as_code`]).
    pub fn digits_as_code(clusters: usize, recipe: Recipe) -> ClusterConfig {
        ClusterConfig {
            digits_as_code: true,
            ..ClusterConfig::new(clusters, recipe)
        }
    }

    /// Semi-supervised classification: one cluster per class, `per_class` labelled images of
    /// each, shifted at random by up to `shift` pixels each time they are drawn, trained by
    /// `recipe`.
    pub fn semi_supervised(per_class: usize, shift: i64, recipe: Recipe) -> ClusterConfig {
        ClusterConfig {
            labelled_per_class: per_class,
            labelled_shift: shift,
            ..ClusterConfig::new(10, recipe)
        }
    }

    /// The same encoder trained on the `per_class` labelled images of each class alone
    /// (shifted as in [`ClusterConfig::semi_supervised`]).
    pub fn labels_only(per_class: usize, shift: i64, recipe: Recipe) -> ClusterConfig {
        ClusterConfig {
            labels_only: true,
            ..ClusterConfig::semi_supervised(per_class, shift, recipe)
        }
    }

    /// [`ClusterConfig::semi_supervised`] with its unlabelled phases stopped from epoch
    /// `from` (1-based) on: the last epochs train on the labelled images alone.
    pub fn released(per_class: usize, shift: i64, recipe: Recipe, from: usize) -> ClusterConfig {
        ClusterConfig {
            supervised_only_from: Some(from),
            ..ClusterConfig::semi_supervised(per_class, shift, recipe)
        }
    }

    /// The model's recipe.
    pub fn recipe(&self) -> Recipe {
        Recipe {
            hard_code: self.hard_code,
            generator_share: self.generator_share,
            input_noise: self.input_noise,
            gumbel: self.gumbel,
            batch_norm: self.batch_norm,
            cluster_critic: self.cluster_critic,
            smoothness: self.smoothness,
            balance: self.balance,
            smoothness_share: self.smoothness_share,
            shift_consistency: self.shift_consistency,
        }
    }
}

/// The training images whose labels a semi-supervised run with seed `seed` may use:
/// `per_class` of each class, drawn at random (the same for every run with that seed, so
/// that a baseline trained on the labelled images alone sees the same ones), in order.
pub fn labelled_indices(train: &Dataset, per_class: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut rng(seed ^ 0x1abe_11ed));
    let mut taken = [0usize; 10];
    let mut picked: Vec<usize> = order
        .into_iter()
        .filter(|&i| {
            let c = usize::from(train.labels[i]);
            let keep = taken[c] < per_class;
            taken[c] += usize::from(keep);
            keep
        })
        .collect();
    picked.sort_unstable();
    picked
}

/// One epoch of a categorical AAE run: the phases' mean losses over its steps, and its
/// clusters on the test set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterFigures {
    /// Mean reconstruction BCE per pixel.
    pub reconstruction_bce: f64,
    /// Mean of the two discriminators' summed losses (2 ln 4 at chance).
    pub discriminators_loss: f64,
    /// Mean of the encoder's summed losses for fooling both (2 ln 2 at chance).
    pub generator_loss: f64,
    /// Mean cross-entropy of the supervised phase (0 without labels).
    pub supervised_loss: f64,
    /// Test error: each cluster labelled with its majority class (without labels), or the
    /// share of test images whose cluster is not their class (with labels).
    pub test_error: f64,
    /// Clusters that hold at least one test image.
    pub clusters_used: f64,
    /// Mean reconstruction BCE per pixel of the test images, through the code the decoder
    /// reads in training (the clusters' one-hot, or the digit's in a
    /// [`ClusterConfig::digits_as_code`] run), measured at the last epoch only; NaN before
    /// it, and for a labels-only run, which trains no decoder. Runs saved before it existed
    /// read 0.
    #[serde(default, deserialize_with = "nan_if_null")]
    pub test_bce: f64,
    /// Mean KL divergence of self-augmented training's adversarial move (0 without
    /// [`Recipe::smoothness`], and in runs saved before it existed).
    #[serde(default)]
    pub smoothness_kl: f64,
}

/// Bit for bit: two epochs are equal when every figure has the same bits, so that NaN (not
/// measured) equals itself and a run trained twice compares equal to itself.
impl PartialEq for ClusterFigures {
    fn eq(&self, other: &ClusterFigures) -> bool {
        let (a, b) = (self.values(), other.values());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits())
    }
}

impl Figures for ClusterFigures {
    const COLUMNS: &'static [&'static str] = &[
        "reconstruction_bce",
        "discriminators_loss",
        "generator_loss",
        "supervised_loss",
        "test_error",
        "clusters_used",
        "test_bce",
        "smoothness_kl",
    ];

    fn values(&self) -> Vec<f64> {
        vec![
            self.reconstruction_bce,
            self.discriminators_loss,
            self.generator_loss,
            self.supervised_loss,
            self.test_error,
            self.clusters_used,
            self.test_bce,
            self.smoothness_kl,
        ]
    }

    fn line(&self) -> String {
        let test_bce = if self.test_bce.is_nan() {
            String::new() // a labels-only run: no decoder
        } else {
            format!(", test BCE {:.4}", self.test_bce)
        };
        let smoothness = if self.smoothness_kl > 0.0 {
            format!(", KL {:.3}", self.smoothness_kl)
        } else {
            String::new()
        };
        format!(
            "BCE {:.4}, D {:.3}, G {:.3}, CE {:.3}{smoothness}, test error {:.1}% ({} clusters used){test_bce}",
            self.reconstruction_bce,
            self.discriminators_loss,
            self.generator_loss,
            self.supervised_loss,
            100.0 * self.test_error,
            self.clusters_used,
        )
    }
}

/// The labelled images of a semi-supervised run.
struct Labelled {
    images: Tensor,
    labels: Vec<usize>,
    /// The largest random shift of each drawn image (see [`ClusterConfig::labelled_shift`]).
    shift: i64,
}

/// A categorical adversarial autoencoder in training.
pub struct ClusterRun {
    /// The model.
    pub model: ClusterAae,
    labels_only: bool,
    digits_as_code: bool,
    /// See [`ClusterConfig::supervised_only_from`].
    supervised_only_from: Option<usize>,
    /// The epoch in progress (1-based).
    epoch: usize,
    /// The run's epochs: the last one measures the test BCE.
    epochs: usize,
    opts: ClusterOptimizers,
    labelled: Option<Labelled>,
    /// How far self-augmented training's adversarial move takes each image (0 without
    /// [`Recipe::smoothness`]): see [`smoothing_radius`].
    radius: f32,
    sums: StepSums<5>,
}

/// The length of self-augmented training's move of an image: [`RADIUS_SHARE`] of the mean
/// distance from a training image to its [`RADIUS_NEIGHBOUR`]-th nearest other (IMSAT's
/// rule, which takes each image's own distance; one mean for all measured the same on the
/// committed sample: 21.8% / 15.0% test error with 16 / 30 clusters against 19.5% / 15.4%,
/// PyTorch probe, seed 0). About 1.4 on the committed MNIST sample.
pub fn smoothing_radius(train: &Dataset) -> f32 {
    let images = train.all_images();
    let n = train.len();
    let pixels = images.reshape(&[n, images.numel() / n.max(1)]);
    RADIUS_SHARE * mean_neighbour_distance(&pixels, RADIUS_NEIGHBOUR) as f32
}

impl ClusterRun {
    /// The test error of the model's clusters on the test `images` of `labels` (see
    /// [`ClusterFigures::test_error`]) and the clusters it uses.
    fn test_error(&mut self, images: &Tensor, labels: &[u8]) -> (f64, usize) {
        let clusters = self.model.assign(images);
        let k = self.model.clusters();
        let mut used = vec![false; k];
        clusters.iter().for_each(|&c| used[c] = true);
        let error = if self.labelled.is_some() {
            let wrong = clusters
                .iter()
                .zip(labels)
                .filter(|&(&c, &l)| c != usize::from(l))
                .count();
            wrong as f64 / clusters.len().max(1) as f64
        } else {
            cluster_error(&clusters, labels, k)
        };
        (error, used.iter().filter(|&&u| u).count())
    }
}

impl Trainee for ClusterRun {
    type Config = ClusterConfig;
    type Figures = ClusterFigures;

    fn build(config: &RunConfig<ClusterConfig>, splits: &Splits, rng: &mut Rng) -> ClusterRun {
        let recipe = config.model.recipe();
        let labelled = (config.model.labelled_per_class > 0).then(|| {
            let picks = labelled_indices(
                &splits.train,
                config.model.labelled_per_class,
                config.schedule.seed,
            );
            Labelled {
                images: splits.train.images(&picks),
                labels: splits.train.classes_of(&picks),
                shift: config.model.labelled_shift,
            }
        });
        ClusterRun {
            model: ClusterAae::new(config.model.clusters, recipe, rng),
            labels_only: config.model.labels_only,
            digits_as_code: config.model.digits_as_code,
            supervised_only_from: config.model.supervised_only_from,
            epoch: 0,
            epochs: config.schedule.epochs,
            opts: ClusterOptimizers::new(config.schedule.lr as f32, recipe),
            labelled,
            radius: match config.model.radius {
                Some(radius) => radius,
                None if recipe.smoothness > 0.0 => smoothing_radius(&splits.train),
                None => 0.0,
            },
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
            ("supervised", &self.opts.supervised),
            ("smoothness", &self.opts.smoothness),
        ]
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![
            ("reconstruction", &mut self.opts.reconstruction),
            ("cluster_critic", &mut self.opts.cluster_critic),
            ("style_critic", &mut self.opts.style_critic),
            ("generator", &mut self.opts.generator),
            ("supervised", &mut self.opts.supervised),
            ("smoothness", &mut self.opts.smoothness),
        ]
    }

    fn start_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, _print_tape: bool) -> Option<f64> {
        // A labelled batch as large as the unlabelled one (all of them when fewer), drawn
        // from the run's generator.
        let picked = self.labelled.as_ref().map(|l| {
            let mut order: Vec<usize> = (0..l.labels.len()).collect();
            let take = batch.images.shape()[0].min(order.len());
            let order = order.partial_shuffle(rng, take).0.to_vec();
            let labels: Vec<usize> = order.iter().map(|&i| l.labels[i]).collect();
            let images = l.images.index_select(0, &order);
            if l.shift == 0 {
                return (images, labels);
            }
            let moved = translate_at_random(images.data(), l.shift, rng);
            (Tensor::from_vec(images.shape(), moved), labels)
        });
        let labelled = picked
            .as_ref()
            .map(|(images, labels)| LabelledBatch { images, labels });
        let supervised_only = self.labels_only
            || self
                .supervised_only_from
                .is_some_and(|from| self.epoch >= from);
        let l = match labelled {
            Some(labelled) if supervised_only => {
                let supervised = self
                    .model
                    .supervised_step(&mut self.opts.supervised, labelled, rng)
                    .expect("the trunk and the cluster head are on the tape");
                models::aae_clusters::ClusterLosses {
                    reconstruction: 0.0,
                    discriminators: 0.0,
                    generator: 0.0,
                    supervised,
                    smoothness: 0.0,
                }
            }
            _ if self.digits_as_code => self
                .model
                .train_step_digits_as_code(&mut self.opts, &batch.images, &batch.classes(), rng)
                .expect("every part of the model is on its phase's tape"),
            labelled => {
                let shifted = (self.model.recipe.shift_consistency > 0.0).then(|| {
                    let images = &batch.images;
                    let moved = translate_at_random(images.data(), CONSISTENCY_SHIFT, rng);
                    Tensor::from_vec(images.shape(), moved)
                });
                let moves = Moves {
                    radius: self.radius,
                    shifted: shifted.as_ref(),
                };
                self.model
                    .train_step(&mut self.opts, &batch.images, moves, labelled, rng)
                    .expect("every part of the model is on its phase's tape")
            }
        };
        (l.reconstruction.is_finite() && l.discriminators.is_finite()).then(|| {
            let values = [
                l.reconstruction,
                l.discriminators,
                l.generator,
                l.supervised,
                l.smoothness,
            ];
            self.sums.add(values.map(f64::from), 1.0)
        })
    }

    fn finish_epoch(&mut self, test: &Dataset) -> ClusterFigures {
        let [
            reconstruction_bce,
            discriminators_loss,
            generator_loss,
            supervised_loss,
            smoothness_kl,
        ] = self.sums.means();
        let images = test.all_images();
        let (test_error, used) = self.test_error(&images, &test.labels);
        // A labels-only run trains no decoder: it has no reconstruction to measure. The others
        // measure it once, at the end: a pass of the whole model over the test set costs as
        // much as a tenth of an epoch, and only the last is reported.
        let test_bce = if self.labels_only || self.epoch < self.epochs {
            f64::NAN
        } else {
            let digits = self.digits_as_code.then(|| test.classes());
            self.model.reconstruction_bce(&images, digits.as_deref())
        };
        ClusterFigures {
            reconstruction_bce,
            discriminators_loss,
            generator_loss,
            supervised_loss,
            test_error,
            clusters_used: used as f64,
            test_bce,
            smoothness_kl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Dataset;

    fn dataset(labels: Vec<u8>) -> Dataset {
        Dataset {
            pixels: vec![0; labels.len() * 784],
            labels,
            height: 28,
            width: 28,
        }
    }

    #[test]
    fn a_labels_only_epoch_has_no_test_bce_and_keeps_it_through_json() {
        let epoch = |test_bce| ClusterFigures {
            reconstruction_bce: 0.0,
            discriminators_loss: 0.0,
            generator_loss: 0.0,
            supervised_loss: 0.08,
            test_error: 0.05,
            clusters_used: 10.0,
            test_bce,
            smoothness_kl: 0.0,
        };
        let none = epoch(f64::NAN);
        assert!(!none.line().contains("test BCE"), "{}", none.line());
        let json = serde_json::to_string(&none).unwrap();
        let back: ClusterFigures = serde_json::from_str(&json).unwrap();
        assert!(back.test_bce.is_nan(), "{json}");
        assert!(epoch(0.17).line().ends_with(", test BCE 0.1700"));
        // Saved before the field existed: 0.
        let old = json.replace(",\"test_bce\":null", "");
        let back: ClusterFigures = serde_json::from_str(&old).unwrap();
        assert_eq!(back.test_bce, 0.0, "{old}");
    }

    /// A semi-supervised run released from epoch 2: its first epoch plays every phase, its
    /// second only the supervised one; stopped after the first and resumed, it trains the
    /// second as the uninterrupted run does (the epoch comes from the trainer, not from a
    /// count the checkpoint would lose); branched from the epoch-1 checkpoint a plain
    /// semi-supervised run kept, it ends with the same bits as trained released from the
    /// start (what `tp semisupervised` relies on to train only the released epochs).
    #[test]
    fn a_released_run_trains_its_last_epochs_on_the_labels_alone_and_resumes_so() {
        use crate::train::{Options, Schedule, checkpoint, train};
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let splits = Splits::load(&root, "sample".into(), Some(192), Some(64)).unwrap();
        let config = |epochs| RunConfig {
            model: ClusterConfig::released(2, 2, Recipe::SOFT, 2),
            schedule: Schedule::new(epochs, 64, 1e-3, 7, &splits),
        };
        let scratch = |name: &str| {
            let dir = std::env::temp_dir().join(format!("released-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            dir
        };
        let (straight, resumed) = (scratch("straight"), scratch("resumed"));
        let a = train::<ClusterRun>(&config(2), &splits, &straight, Options::default()).unwrap();
        let [first, second] = [&a.history[0].figures, &a.history[1].figures];
        assert!(first.reconstruction_bce > 0.0 && first.discriminators_loss > 0.0);
        assert!(first.supervised_loss > 0.0);
        assert_eq!(
            (
                second.reconstruction_bce,
                second.discriminators_loss,
                second.generator_loss
            ),
            (0.0, 0.0, 0.0)
        );
        assert!(second.supervised_loss > 0.0);
        train::<ClusterRun>(&config(1), &splits, &resumed, Options::default()).unwrap();
        let resume = Options {
            resume: true,
            ..Options::default()
        };
        let b = train::<ClusterRun>(&config(2), &splits, &resumed, resume).unwrap();
        assert_eq!(b.trained_epochs, 1);
        assert_eq!(b.history[1].figures, a.history[1].figures);

        let (plain, branched) = (scratch("plain"), scratch("branched"));
        let semi = RunConfig {
            model: ClusterConfig::semi_supervised(2, 2, Recipe::SOFT),
            ..config(2)
        };
        let keep = Options {
            keep_epoch: Some(1),
            ..Options::default()
        };
        let p = train::<ClusterRun>(&semi, &splits, &plain, keep).unwrap();
        assert_eq!(p.history[0].figures, a.history[0].figures);
        assert!(
            p.history[1].figures.reconstruction_bce > 0.0,
            "not released"
        );
        let kept = checkpoint::kept_dir_of(&plain, 1);
        // Kept from another configuration: refused.
        let other = RunConfig {
            model: ClusterConfig::semi_supervised(3, 2, Recipe::SOFT),
            ..config(2)
        };
        assert!(!checkpoint::branch::<ClusterRun>(&kept, &branched, &config(2), &other).unwrap());
        assert!(checkpoint::branch::<ClusterRun>(&kept, &branched, &config(2), &semi).unwrap());
        let c = train::<ClusterRun>(&config(2), &splits, &branched, resume).unwrap();
        assert_eq!(c.trained_epochs, 1);
        assert_eq!(c.history[1].figures, a.history[1].figures);
        let weights = |d: &std::path::Path| std::fs::read(d.join("model.safetensors")).unwrap();
        assert!(weights(&branched) == weights(&straight));
        for dir in [straight, resumed, plain, branched] {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn labelled_indices_take_as_many_of_each_class_the_same_for_a_seed() {
        let labels: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
        let train = dataset(labels.clone());
        let a = labelled_indices(&train, 3, 5);
        assert_eq!(a.len(), 30);
        for c in 0..10u8 {
            assert_eq!(a.iter().filter(|&&i| labels[i] == c).count(), 3);
        }
        assert_eq!(a, labelled_indices(&train, 3, 5));
        assert_ne!(a, labelled_indices(&train, 3, 6));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }

    /// The radius an experiment measured once reaches a self-augmented run's configuration
    /// (and through its JSON), not a run without smoothness's; a configuration saved before
    /// the self-augmented fields existed reads none of them.
    #[test]
    fn the_measured_radius_goes_to_self_augmented_runs_only() {
        use crate::train::Schedule;
        let augmented = ClusterConfig::new(16, Recipe::SELF_AUGMENTED).moving_by(1.5);
        assert_eq!(augmented.radius, Some(1.5));
        let json = serde_json::to_string(&augmented).unwrap();
        let back: ClusterConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, augmented);
        assert_eq!(back.recipe(), Recipe::SELF_AUGMENTED);
        let plain = ClusterConfig::new(16, Recipe::GUMBEL).moving_by(1.5);
        assert_eq!(plain.radius, None);
        let mut old = serde_json::to_value(ClusterConfig::new(16, Recipe::GUMBEL)).unwrap();
        let fields = old.as_object_mut().unwrap();
        for field in [
            "radius",
            "smoothness_share",
            "shift_consistency",
            "smoothness",
        ] {
            fields.remove(field).unwrap();
        }
        let back: ClusterConfig = serde_json::from_value(old).unwrap();
        assert_eq!(back.recipe(), Recipe::GUMBEL);
        assert_eq!(back.radius, None);
        // A built run moves by the radius given, or measures its own without one.
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let splits = Splits::load(&root, "sample".into(), Some(64), Some(16)).unwrap();
        let build = |model: ClusterConfig| {
            let config = RunConfig {
                model,
                schedule: Schedule::new(1, 16, 1e-3, 0, &splits),
            };
            ClusterRun::build(&config, &splits, &mut rng(0)).radius
        };
        assert_eq!(build(augmented), 1.5);
        let measured = smoothing_radius(&splits.train);
        assert!(measured > 0.0);
        assert_eq!(
            build(ClusterConfig::new(16, Recipe::SELF_AUGMENTED)),
            measured
        );
        assert_eq!(build(plain), 0.0);
    }
}
