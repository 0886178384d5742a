//! The one trainer: every run, whatever its model, goes through [`train`].
//!
//! The trainer owns what every run shares: the run folder and its lock ([`lock`]), one
//! seeded generator, shuffled batches, the progress bar, the NaN guard, `metrics.csv` with
//! the run kind's named columns ([`metrics`]), `summary.txt`, `config.json`, a checkpoint
//! after every epoch and `--resume` ([`checkpoint`]). A kind of run plugs in what is its own
//! by implementing [`Trainee`]: how its model is built, one step on a batch, and the figures
//! of an epoch. The kinds: [`autoencoder`] (the plain, denoising, sparse, contractive,
//! super-resolution and variational models, one loss and one Adam), [`adversarial`] (three
//! phases a step, three Adams) and [`clustering`] (the categorical adversarial autoencoder).
//!
//! One generator, seeded with the run's seed, draws everything random in order: the
//! initial weights, then each epoch's shuffle and, for each batch, whatever its step draws
//! (noise, holes, the VAE's ε, prior samples). Its position is saved with every checkpoint,
//! so a resumed run draws what the uninterrupted run would have drawn and ends with the
//! same bits.

pub mod adversarial;
pub mod autoencoder;
pub mod checkpoint;
pub mod clustering;
pub mod lanes;
pub mod lock;
pub mod metrics;
pub mod pace;
pub mod progress;
pub mod supervised;

use std::borrow::Cow;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Instant;

use layers::optim::Adam;
use layers::{Module, Summary};
use rand::seq::SliceRandom;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tensor::{Rng, Tensor, rng};

use crate::data::dataset::{Dataset, Splits};
use crate::fsutil::write_atomic;
use metrics::{EpochRecord, Figures};
use progress::EpochProgress;

pub use autoencoder::{AeConfig, AeRun, Noise, Objective};

/// How long and on what a run trains: the part of its configuration every kind shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// The learning rate of every optimizer of the run (Adam).
    pub lr: f64,
    /// Seed of initialisation, shuffling and everything a step draws.
    pub seed: u64,
    /// The data folder.
    pub data: String,
    /// Training images used.
    pub n_train: usize,
    /// Test images used.
    pub n_test: usize,
}

impl Schedule {
    /// `epochs` passes over all of `splits` in batches of `batch_size`.
    pub fn new(epochs: usize, batch_size: usize, lr: f64, seed: u64, splits: &Splits) -> Self {
        Schedule {
            epochs,
            batch_size,
            lr,
            seed,
            data: splits.dir.display().to_string(),
            n_train: splits.train.len(),
            n_test: splits.test.len(),
        }
    }
}

/// Everything that decides a run's result: the kind's own settings and the schedule
/// (`config.json`, and in every checkpoint: `--resume` refuses one made with another).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig<C> {
    /// The kind's own settings (the model, its loss, its corruption…).
    #[serde(flatten)]
    pub model: C,
    /// How long and on what.
    #[serde(flatten)]
    pub schedule: Schedule,
}

impl<C: Clone + PartialEq + Serialize> RunConfig<C> {
    /// Whether a checkpoint made under `other` can be continued under `self` (everything
    /// equal but the number of epochs); the first difference if not.
    pub(crate) fn resumable_from(&self, other: &RunConfig<C>) -> Result<(), String> {
        let mut same = other.clone();
        same.schedule.epochs = self.schedule.epochs;
        if same == *self {
            return Ok(());
        }
        let mine = serde_json::to_value(self).expect("a config serialises");
        let theirs = serde_json::to_value(other).expect("a config serialises");
        let field = mine
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, v)| k.as_str() != "epochs" && theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| format!("{k} is {} there, {v} here", theirs[k.as_str()]))
            .unwrap_or_default();
        Err(field)
    }
}

/// One batch of training images with their digits.
pub struct Batch<'a> {
    /// The clean images, `[batch, 1, 28, 28]` in `[0, 1]`.
    pub images: Tensor,
    /// Their digits.
    pub labels: &'a [u8],
}

impl Batch<'_> {
    /// The digits as indices (what the conditioned models and the losses read).
    pub fn classes(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| usize::from(l)).collect()
    }
}

/// One kind of run, as the trainer sees it.
pub trait Trainee: Sized {
    /// What decides the run besides the [`Schedule`].
    type Config: Clone + Debug + PartialEq + Serialize + DeserializeOwned;
    /// The figures of one epoch: a row of `metrics.csv`.
    type Figures: Figures;

    /// The model, freshly initialised from `rng` (the first draws of the run's generator),
    /// ready to train on `splits`.
    fn build(config: &RunConfig<Self::Config>, splits: &Splits, rng: &mut Rng) -> Self;

    /// The images it trains on (all the training images unless the kind leaves some out).
    fn training_set<'a>(config: &Self::Config, splits: &'a Splits) -> Cow<'a, Dataset> {
        let _ = config;
        Cow::Borrowed(&splits.train)
    }

    /// The images it is tested on after each epoch (all the test images unless the kind
    /// tests on some only).
    fn test_set<'a>(config: &Self::Config, splits: &'a Splits) -> Cow<'a, Dataset> {
        let _ = config;
        Cow::Borrowed(&splits.test)
    }

    /// The model: every parameter of every optimizer is in it; its weights are the run's
    /// `model.safetensors`.
    fn model(&self) -> &dyn Module;

    /// The model, writable (loading a checkpoint, training and evaluation modes).
    fn model_mut(&mut self) -> &mut dyn Module;

    /// The shape of one input image, for the summary.
    fn input_shape(&self) -> [usize; 3] {
        [1, 28, 28]
    }

    /// The optimizers, by name (`optimizer` for a run with one): a checkpoint saves each.
    fn optimizers(&self) -> Vec<(&'static str, &Adam)>;

    /// The optimizers, writable (resuming from a checkpoint).
    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)>;

    /// Starts epoch `epoch` (1-based, counting the epochs a resumed run restored): the
    /// figures summed over its steps start again from zero. A kind whose steps change with
    /// the epoch reads it here, so that a resumed run trains as the uninterrupted one.
    fn start_epoch(&mut self, epoch: usize);

    /// One step on `batch`, drawing from `rng`; returns the running mean of the epoch's
    /// training loss (for the progress bar), or `None` when a loss is not finite (the
    /// trainer stops before the optimizer could spread it). `print_tape` asks for the tape
    /// of the step to be printed.
    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, print_tape: bool) -> Option<f64>;

    /// Ends an epoch: the means of its steps and the figures on the test set.
    fn finish_epoch(&mut self, test: &Dataset) -> Self::Figures;
}

/// A trained model with what its run measured.
pub struct Trained<T: Trainee> {
    /// The configuration it was trained with.
    pub config: RunConfig<T::Config>,
    /// Its folder.
    pub dir: PathBuf,
    /// The model (and its optimizers), in evaluation mode.
    pub trainee: T,
    /// Its summary for a batch of [`Schedule::batch_size`].
    pub summary: Summary,
    /// One record per epoch.
    pub history: Vec<EpochRecord<T::Figures>>,
    /// The epochs this process trained (the rest came from a checkpoint).
    pub trained_epochs: usize,
}

impl<T: Trainee> Trained<T> {
    /// Mean seconds per epoch trained by this or an earlier process.
    pub fn seconds_per_epoch(&self) -> f64 {
        self.history.iter().map(|r| r.seconds).sum::<f64>() / self.history.len().max(1) as f64
    }

    /// The figures of the last epoch.
    pub fn last(&self) -> Option<&T::Figures> {
        self.history.last().map(|r| &r.figures)
    }

    /// The run folder's name (`dense1_none`, `aae_gaussian`).
    pub fn name(&self) -> String {
        folder_name(&self.dir)
    }
}

fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned())
}

/// Why training stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// Files, data or configuration.
    Setup(String),
    /// A loss became NaN or infinite.
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The run's folder (its last good checkpoint is there).
        dir: PathBuf,
    },
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Setup(e) => write!(f, "{e}"),
            TrainError::NonFinite { epoch, step, dir } => {
                write!(
                    f,
                    "the training loss became NaN or infinite at epoch {epoch}, step {step} \
                     (try a smaller --lr); "
                )?;
                if *epoch > 1 {
                    write!(
                        f,
                        "the last good checkpoint, of epoch {}, is in {}",
                        epoch - 1,
                        checkpoint::dir_of(dir).display()
                    )
                } else {
                    write!(f, "no epoch had finished, so there is no checkpoint")
                }
            }
        }
    }
}

impl std::error::Error for TrainError {}

impl From<String> for TrainError {
    fn from(e: String) -> Self {
        TrainError::Setup(e)
    }
}

/// What a caller may ask of a run besides its configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Continue from the checkpoint in the run folder, if there is one.
    pub resume: bool,
    /// Print the autodiff tape of the first step.
    pub print_tape: bool,
    /// Also keep the checkpoint of this epoch, which later epochs would replace, in
    /// `<run>/checkpoint-epochN` ([`checkpoint::keep`]): another run can branch from it.
    pub keep_epoch: Option<usize>,
}

/// Trains the run `config` of kind `T` on `splits` into `dir` (locked for the time of the
/// run), continuing from its checkpoint when `options.resume` is set and one exists.
pub fn train<T: Trainee>(
    config: &RunConfig<T::Config>,
    splits: &Splits,
    dir: &Path,
    options: Options,
) -> Result<Trained<T>, TrainError> {
    let _lock = lock::RunLock::acquire(dir)?;
    let train_set = T::training_set(&config.model, splits);
    let test_set = T::test_set(&config.model, splits);
    let mut r = rng(config.schedule.seed);
    let mut trainee = T::build(config, splits, &mut r);
    let mut history = Vec::new();
    if options.resume
        && let Some(ckpt) = checkpoint::read::<T>(dir)?
    {
        config.resumable_from(&ckpt.config).map_err(|diff| {
            format!(
                "{}: the checkpoint was made with another configuration ({diff}); \
                 remove the folder or run without --resume",
                checkpoint::dir_of(dir).display()
            )
        })?;
        if ckpt.epoch > config.schedule.epochs {
            return Err(format!(
                "{}: the checkpoint is of epoch {}, beyond --epochs {}",
                checkpoint::dir_of(dir).display(),
                ckpt.epoch,
                config.schedule.epochs
            )
            .into());
        }
        r = checkpoint::restore(dir, &ckpt, &mut trainee)?;
        history = ckpt.history;
    }
    let [c, h, w] = trainee.input_shape();
    let summary = Summary::new(trainee.model(), &[config.schedule.batch_size, c, h, w]);
    write_atomic(&dir.join("summary.txt"), summary.to_string().as_bytes())?;
    write_atomic(&dir.join("config.json"), config_json(config).as_bytes())?;

    let name = folder_name(dir);
    let first_epoch = history.len() + 1;
    for epoch in first_epoch..=config.schedule.epochs {
        let label = format!("{name} {epoch}/{}", config.schedule.epochs);
        let print_tape = options.print_tape && epoch == 1;
        let seconds = train_epoch(
            &mut trainee,
            epoch,
            config,
            &mut r,
            &train_set,
            &label,
            print_tape,
        )
        .map_err(|step| TrainError::NonFinite {
            epoch,
            step,
            dir: dir.to_path_buf(),
        })?;
        let figures = trainee.finish_epoch(&test_set);
        let earlier: Vec<f64> = history.iter().map(|r| r.seconds).collect();
        let slow = pace::slow_epoch_note(&earlier, seconds)
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        println!(
            "{name:>14} epoch {epoch:>2}/{}: {}, {seconds:.2} s ({:.0} img/s){slow}",
            config.schedule.epochs,
            figures.line(),
            train_set.len() as f64 / seconds
        );
        history.push(EpochRecord {
            epoch,
            figures,
            seconds,
        });
        metrics::write(dir, &history)?;
        checkpoint::save(dir, config, &trainee, &r, &history)?;
        if options.keep_epoch == Some(epoch) {
            checkpoint::keep::<T>(dir, epoch)?;
        }
    }
    metrics::write(dir, &history)?;
    layers::io::save(dir.join("model.safetensors"), trainee.model()).map_err(|e| e.to_string())?;
    trainee.model_mut().eval();
    Ok(Trained {
        config: config.clone(),
        dir: dir.to_path_buf(),
        trainee,
        summary,
        history,
        trained_epochs: (config.schedule.epochs + 1).saturating_sub(first_epoch),
    })
}

/// `config.json`: the run's configuration, and with it the command line that started it
/// (which does not change the results). The thread count is left out: it is no setting of
/// the run, and the file must be the same, byte for byte, whatever it is.
fn config_json<C: Serialize>(config: &RunConfig<C>) -> String {
    let mut v = serde_json::to_value(config).expect("a config serialises");
    if let Some(map) = v.as_object_mut() {
        let args: Vec<String> = std::env::args().collect();
        map.insert("command".into(), args.into());
        map.insert("tp_version".into(), env!("CARGO_PKG_VERSION").into());
    }
    serde_json::to_string_pretty(&v).expect("a value serialises")
}

/// Epoch `epoch`: one pass over `train` in a fresh shuffled order; returns the seconds it
/// took, or `Err(step)` if a loss stops being finite at that 1-based step.
fn train_epoch<T: Trainee>(
    trainee: &mut T,
    epoch: usize,
    config: &RunConfig<T::Config>,
    r: &mut Rng,
    train: &Dataset,
    label: &str,
    print_tape: bool,
) -> Result<f64, usize> {
    trainee.model_mut().train();
    trainee.start_epoch(epoch);
    // A fresh order from the identity every epoch, so the order depends only on the
    // generator's position (which a checkpoint saves), not on the previous epoch's order.
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(r);
    let progress = EpochProgress::start(label, train.len());
    let start = Instant::now();
    // The steps run back to back: keep the pool's threads spinning between kernels.
    tensor::parallel::with_warm_pool(|| {
        for (step, indices) in order.chunks(config.schedule.batch_size).enumerate() {
            let labels: Vec<u8> = indices.iter().map(|&i| train.labels[i]).collect();
            let batch = Batch {
                images: train.images(indices),
                labels: &labels,
            };
            let running = trainee
                .step(batch, r, print_tape && step == 0)
                .ok_or(step + 1)?;
            progress.advance(indices.len(), running);
        }
        Ok::<(), usize>(())
    })?;
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    Ok(seconds)
}

/// A running mean of per-step figures: each step's values with a weight (its batch size,
/// or 1 for a mean over steps).
#[derive(Clone, Debug)]
pub struct StepSums<const N: usize> {
    sums: [f64; N],
    weight: f64,
}

impl<const N: usize> Default for StepSums<N> {
    fn default() -> Self {
        StepSums {
            sums: [0.0; N],
            weight: 0.0,
        }
    }
}

impl<const N: usize> StepSums<N> {
    /// Adds one step's `values` with `weight`; returns the running mean of the first.
    pub fn add(&mut self, values: [f64; N], weight: f64) -> f64 {
        for (s, v) in self.sums.iter_mut().zip(values) {
            *s += v * weight;
        }
        self.weight += weight;
        self.sums[0] / self.weight
    }

    /// The means so far.
    pub fn means(&self) -> [f64; N] {
        self.sums.map(|s| s / self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Dataset;

    /// A trainee whose loss turns NaN at one step of one epoch.
    struct Diverging {
        model: layers::Sequential,
        opt: Adam,
        nan_at: (usize, usize),
        epoch: usize,
        step: usize,
    }

    /// Where the loss of [`Diverging`] turns NaN.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct NanAt {
        epoch: usize,
        step: usize,
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Steps {
        steps: f64,
    }

    impl Figures for Steps {
        const COLUMNS: &'static [&'static str] = &["steps"];
        fn values(&self) -> Vec<f64> {
            vec![self.steps]
        }
        fn line(&self) -> String {
            format!("{} steps", self.steps)
        }
    }

    impl Trainee for Diverging {
        type Config = NanAt;
        type Figures = Steps;
        fn build(config: &RunConfig<NanAt>, _: &Splits, rng: &mut Rng) -> Self {
            Diverging {
                model: layers::Sequential::new()
                    .push(layers::Flatten)
                    .push(layers::Linear::new(2, 2, rng)),
                opt: Adam::new(1e-3),
                nan_at: (config.model.epoch, config.model.step),
                epoch: 0,
                step: 0,
            }
        }
        fn model(&self) -> &dyn Module {
            &self.model
        }
        fn model_mut(&mut self) -> &mut dyn Module {
            &mut self.model
        }
        fn optimizers(&self) -> Vec<(&'static str, &Adam)> {
            vec![("optimizer", &self.opt)]
        }
        fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
            vec![("optimizer", &mut self.opt)]
        }
        fn input_shape(&self) -> [usize; 3] {
            [1, 1, 2]
        }
        fn start_epoch(&mut self, epoch: usize) {
            self.epoch = epoch;
            self.step = 0;
        }
        fn step(&mut self, _: Batch<'_>, _: &mut Rng, _: bool) -> Option<f64> {
            self.step += 1;
            ((self.epoch, self.step) != self.nan_at).then_some(0.0)
        }
        fn finish_epoch(&mut self, _: &Dataset) -> Steps {
            Steps {
                steps: self.step as f64,
            }
        }
    }

    fn splits() -> Splits {
        let data = Dataset {
            pixels: vec![0; 10 * 784],
            labels: vec![0; 10],
            height: 28,
            width: 28,
        };
        Splits {
            dir: ".".into(),
            description: "zeros".into(),
            train: data.clone(),
            test: data,
        }
    }

    #[test]
    fn a_non_finite_loss_stops_the_run_with_its_epoch_and_step_and_keeps_the_last_checkpoint() {
        let dir = std::env::temp_dir().join(format!("tp-nan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let splits = splits();
        let config = RunConfig {
            model: NanAt { epoch: 2, step: 3 },
            schedule: Schedule::new(3, 4, 1e-3, 0, &splits),
        };
        let err = train::<Diverging>(&config, &splits, &dir, Options::default())
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                TrainError::NonFinite {
                    epoch: 2,
                    step: 3,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("epoch 2, step 3") && text.contains("of epoch 1"),
            "{text}"
        );
        let ckpt = checkpoint::read::<Diverging>(&dir).unwrap().unwrap();
        assert_eq!(ckpt.epoch, 1);
        assert_eq!(
            ckpt.history[0].figures.steps, 3.0,
            "10 images in batches of 4"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("metrics.csv"))
                .unwrap()
                .lines()
                .next(),
            Some("epoch,steps,seconds")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
