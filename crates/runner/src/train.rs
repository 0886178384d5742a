//! Training one autoencoder: shuffled batches from a seeded generator, Adam on the loss,
//! the test error after every epoch, a checkpoint after every epoch, and
//! the run's files (`metrics.csv`, `summary.txt`, `config.json`, `model.safetensors`).
//!
//! The model is any [`Autoencoder`] and its loss its own ([`Autoencoder::training_loss`]:
//! the MSE or the BCE for the lab's models, as [`Objective::default_for`] says; the negative
//! ELBO for a VAE; a penalty added for the sparse and contractive ones); what is reported
//! per epoch is always the MSE, with the loss itself beside it.
//!
//! One generator, seeded with the run's seed, draws everything random in order: the
//! initial weights, then each epoch's shuffle and, for each batch, its noise (when
//! denoising), its holes' positions (when inpainting) and then whatever its loss draws (the
//! VAE's ε). Its position is saved with
//! every checkpoint, so a resumed run draws what the uninterrupted run would have drawn.

use std::path::{Path, PathBuf};
use std::time::Instant;

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Module, Summary};
use models::Autoencoder;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tensor::{Rng, Tensor, rng};

use crate::checkpoint;
use crate::corrupt;
use crate::dataset::{Dataset, Splits};
use crate::fsutil::write_atomic;
use crate::progress::EpochProgress;
use crate::zoo::ModelKind;

/// Seed of the noise added to the test set (fixed, whatever the training seed, so every
/// model and run is compared on the same noisy images).
pub const TEST_NOISE_SEED: u64 = 1234;

/// Images per forward pass when evaluating (memory only: results do not depend on it). 100
/// keeps an evaluation's activations (and the buffers the pool keeps of them) near those of
/// a training step: 500 made the conv autoencoder's evaluation its peak of memory.
const EVAL_BATCH: usize = 100;

/// Additive Gaussian noise: `x = y + n`, `n ~ N(0, std²)`, clipped to `[0, 1]` unless not.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Standard deviation of the noise.
    pub std: f64,
    /// Whether `x` is clipped to `[0, 1]`.
    pub clip: bool,
}

impl Noise {
    /// `y` plus fresh noise drawn from `rng`.
    pub fn apply(&self, y: &Tensor, rng: &mut Rng) -> Tensor {
        let n = Tensor::normal(y.shape(), 0.0, self.std as f32, rng);
        let x = y.add(&n);
        if self.clip { x.clamp(0.0, 1.0) } else { x }
    }
}

/// What the optimizer minimises. Whatever it is, the figures reported are mean squared
/// errors, so that every model is measured the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Mean squared error per pixel.
    Mse,
    /// Binary cross-entropy per pixel (the target's grey levels as probabilities).
    Bce,
}

impl Objective {
    /// The lab's choice for a model: the MSE, except for the pooling convolutional
    /// autoencoder, which the course trains on the binary cross-entropy. (With the MSE it
    /// collapses to an all-black output in a few hundred steps, in PyTorch as here: once
    /// the sigmoid saturates the MSE's gradient vanishes, while BCE's, `y − t` before the
    /// sigmoid, does not.)
    pub fn default_for(model: ModelKind) -> Objective {
        match model {
            // A VAE's reconstruction term is its BCE, whatever this says.
            ModelKind::ConvPool | ModelKind::Vae | ModelKind::ConvVae => Objective::Bce,
            _ => Objective::Mse,
        }
    }
}

/// Everything that decides a training run's result (saved as `config.json` and in every
/// checkpoint; `--resume` refuses a checkpoint made with another one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The model.
    pub model: ModelKind,
    /// The code size of the dense models (for a VAE: its latent dimensions).
    pub latent: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// The reconstruction loss of the plain and sparse models.
    pub objective: Objective,
    /// The VAE's weight on the KL term (1: the ELBO).
    #[serde(default = "one")]
    pub beta: f64,
    /// The sparse model's L1 weight on the code.
    #[serde(default)]
    pub sparsity: f64,
    /// The contractive model's weight on the Jacobian penalty.
    #[serde(default)]
    pub contraction: f64,
    /// Seed of initialisation, shuffling and training noise.
    pub seed: u64,
    /// Denoising: the noise added to the inputs (the clean image is the target).
    pub noise: Option<Noise>,
    /// Inpainting: the side of the square hole punched in every input (set to black).
    #[serde(default)]
    pub hole: Option<usize>,
    /// Anomaly detection: the digit left out of the training set.
    #[serde(default)]
    pub exclude_digit: Option<u8>,
    /// The data folder.
    pub data: String,
    /// Training images used.
    pub n_train: usize,
    /// Test images used.
    pub n_test: usize,
}

fn one() -> f64 {
    1.0
}

impl TrainConfig {
    /// A configuration of `model` with the lab's defaults for everything the command line
    /// does not set: its objective, β = 1, no penalty, no noise.
    #[allow(clippy::too_many_arguments)] // the run's settings, each its own flag
    pub fn new(
        model: ModelKind,
        latent: usize,
        epochs: usize,
        batch_size: usize,
        lr: f64,
        seed: u64,
        splits: &Splits,
    ) -> TrainConfig {
        TrainConfig {
            model,
            latent,
            epochs,
            batch_size,
            lr,
            objective: Objective::default_for(model),
            beta: 1.0,
            sparsity: 0.0,
            contraction: 0.0,
            seed,
            noise: None,
            hole: None,
            exclude_digit: None,
            data: splits.dir.display().to_string(),
            n_train: splits.train.len(),
            n_test: splits.test.len(),
        }
    }

    /// Whether a checkpoint made under `other` can be continued under `self` (everything
    /// equal but the number of epochs); the first difference if not.
    fn resumable_from(&self, other: &TrainConfig) -> Result<(), String> {
        let same = TrainConfig {
            epochs: self.epochs,
            ..other.clone()
        };
        if same == *self {
            return Ok(());
        }
        let mine = serde_json::to_value(self).expect("serialises");
        let theirs = serde_json::to_value(other).expect("serialises");
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

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training MSE per pixel over the epoch's batches (as they were before each
    /// step), weighted by batch size, whatever the objective.
    pub train_loss: f64,
    /// Test MSE per pixel after the epoch (for denoising: denoised against clean).
    pub test_loss: f64,
    /// Mean training loss over the epoch's batches, in the model's own unit
    /// ([`Autoencoder::loss_unit`]: the MSE for the lab's models, the negative ELBO per image
    /// for a VAE), weighted by batch size.
    #[serde(default)]
    pub train_objective: f64,
    /// Wall seconds of the epoch's training steps.
    pub seconds: f64,
}

/// A trained model with what its run measured.
pub struct Trained {
    /// The configuration it was trained with.
    pub config: TrainConfig,
    /// Its folder.
    pub dir: PathBuf,
    /// The model, in evaluation mode.
    pub model: Box<dyn Autoencoder>,
    /// Its summary for a batch of [`TrainConfig::batch_size`].
    pub summary: Summary,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// The epochs this process trained (the rest came from a checkpoint).
    pub trained_epochs: usize,
}

impl Trained {
    /// The test MSE after the last epoch.
    pub fn test_mse(&self) -> f64 {
        self.history.last().map_or(f64::NAN, |r| r.test_loss)
    }

    /// Mean seconds per epoch trained by this or an earlier process.
    pub fn seconds_per_epoch(&self) -> f64 {
        self.history.iter().map(|r| r.seconds).sum::<f64>() / self.history.len().max(1) as f64
    }

    /// The model's outputs for `inputs` (see [`reconstruct`]).
    pub fn reconstruct(&mut self, inputs: &[f32]) -> Vec<f32> {
        reconstruct_shaped(self.model.as_mut(), inputs, self.config.model.input_shape())
    }

    /// The codes of `inputs` (`count·784` values), in evaluation mode (for a VAE: the means),
    /// code after code.
    pub fn codes(&mut self, inputs: &[f32]) -> Vec<f32> {
        codes(self.model.as_mut(), inputs)
    }

    /// Images decoded from `codes` (`count·code_size` values), in evaluation mode.
    pub fn decode(&mut self, codes: &[f32], code_size: usize) -> Vec<f32> {
        decode(self.model.as_mut(), codes, code_size)
    }
}

/// Why training stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// Files, data or configuration.
    Setup(String),
    /// The loss became NaN or infinite.
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

/// Seed of the holes punched in the test images (fixed, like the test noise).
pub const TEST_HOLE_SEED: u64 = TEST_NOISE_SEED + 6;

/// What the model of `config` reads for the clean batch `target`, drawing from `rng`: noise
/// when denoising, then a hole when inpainting, then half the resolution for
/// super-resolution; `None` when it reads the target itself.
pub fn corrupt(config: &TrainConfig, target: &Tensor, rng: &mut Rng) -> Option<Tensor> {
    let mut x = config.noise.map(|noise| noise.apply(target, rng));
    if let Some(size) = config.hole {
        let positions = corrupt::hole_positions(target.shape()[0], size, rng);
        x = Some(corrupt::punch_holes(
            x.as_ref().unwrap_or(target),
            &positions,
            size,
        ));
    }
    if config.model == ModelKind::SuperRes {
        x = Some(corrupt::downsample(x.as_ref().unwrap_or(target)));
    }
    x
}

/// The test set as the model of `config` reads it: the clean images, or their noisy (seed
/// [`TEST_NOISE_SEED`]), holed (seed [`TEST_HOLE_SEED`]) or halved versions, the same for
/// every run.
pub fn test_inputs_for(targets: &Dataset, config: &TrainConfig) -> Vec<f32> {
    let mut x = Tensor::from_vec(
        &[targets.len(), 1, 28, 28],
        test_inputs(targets, config.noise),
    );
    if let Some(size) = config.hole {
        let positions = corrupt::hole_positions(targets.len(), size, &mut rng(TEST_HOLE_SEED));
        x = corrupt::punch_holes(&x, &positions, size);
    }
    if config.model == ModelKind::SuperRes {
        x = corrupt::downsample(&x);
    }
    x.into_data()
}

/// The images the model reads for `targets` when evaluating: the clean images, or the same
/// images with noise from [`TEST_NOISE_SEED`] (the same for every run).
pub fn test_inputs(targets: &Dataset, noise: Option<Noise>) -> Vec<f32> {
    let clean = targets.all_images();
    match noise {
        None => clean.into_data(),
        Some(n) => n.apply(&clean, &mut rng(TEST_NOISE_SEED)).into_data(),
    }
}

/// The codes of `inputs` (`count·784` values), in evaluation mode, without recording.
pub fn codes(model: &mut dyn Autoencoder, inputs: &[f32]) -> Vec<f32> {
    model.eval();
    let size = 28 * 28;
    let mut out = Vec::new();
    for chunk in inputs.chunks(EVAL_BATCH * size) {
        let mut g = Graph::no_grad();
        let x = g.input(Tensor::from_vec(
            &[chunk.len() / size, 1, 28, 28],
            chunk.to_vec(),
        ));
        let z = model.encode(&mut g, x);
        out.extend_from_slice(g.value(z).data());
    }
    out
}

/// Images decoded from `codes` (`count·code_size` values, each code shaped as
/// [`Autoencoder::code_shape`] says), in evaluation mode.
pub fn decode(model: &mut dyn Autoencoder, codes: &[f32], code_size: usize) -> Vec<f32> {
    model.eval();
    let shape = model.code_shape();
    assert_eq!(
        shape.iter().product::<usize>(),
        code_size,
        "decode: codes of {code_size} values for a code shaped {shape:?}"
    );
    let mut out = Vec::new();
    for chunk in codes.chunks(EVAL_BATCH * code_size) {
        let mut g = Graph::no_grad();
        let mut batch = vec![chunk.len() / code_size];
        batch.extend(&shape);
        let z = g.input(Tensor::from_vec(&batch, chunk.to_vec()));
        let y = model.decode(&mut g, z);
        out.extend_from_slice(g.value(y).data());
    }
    out
}

/// The model's outputs for `inputs` (`count·784` values, image after image), in evaluation
/// mode, without recording.
pub fn reconstruct(model: &mut dyn Module, inputs: &[f32]) -> Vec<f32> {
    reconstruct_shaped(model, inputs, [1, 28, 28])
}

/// [`reconstruct`] for inputs of another shape (`image`: channels, height, width).
pub fn reconstruct_shaped(model: &mut dyn Module, inputs: &[f32], image: [usize; 3]) -> Vec<f32> {
    model.eval();
    let size: usize = image.iter().product();
    let mut out = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(EVAL_BATCH * size) {
        let [c, h, w] = image;
        let x = Tensor::from_vec(&[chunk.len() / size, c, h, w], chunk.to_vec());
        let y = layers::infer(model, x);
        out.extend_from_slice(y.data());
    }
    out
}

/// The MSE between the model's outputs for `inputs` (the clean images of `targets` when
/// `None`) and the clean images, batch by batch: neither the outputs nor the images exist as
/// f32 arrays of the whole test set (31 MB each for 10,000 images). Each batch's squares are
/// summed by [`crate::quality::squared_error`], the batches' sums in order.
fn streamed_test_mse(
    model: &mut dyn Module,
    inputs: Option<&[f32]>,
    targets: &Dataset,
    image: [usize; 3],
) -> f64 {
    model.eval();
    let size: usize = image.iter().product();
    let [c, h, w] = image;
    let indices: Vec<usize> = (0..targets.len()).collect();
    let mut sum = 0.0f64;
    for batch in indices.chunks(EVAL_BATCH) {
        let target = targets.images(batch);
        let x = match inputs {
            Some(all) => {
                let values = &all[batch[0] * size..(batch[0] + batch.len()) * size];
                Tensor::from_vec(&[batch.len(), c, h, w], values.to_vec())
            }
            None => target.clone(),
        };
        let y = layers::infer(model, x);
        assert_eq!(
            y.numel(),
            target.numel(),
            "test MSE: outputs and images differ in size"
        );
        sum += crate::quality::squared_error(y.data(), target.data());
    }
    sum / (targets.len() * targets.image_size()).max(1) as f64
}

/// Trains `config.model` on `splits` into `dir`, continuing from the checkpoint there when
/// `resume` is set and one exists.
pub fn train(
    config: &TrainConfig,
    splits: &Splits,
    dir: &Path,
    resume: bool,
    print_tape: bool,
) -> Result<Trained, TrainError> {
    // Anomaly detection trains on every digit but one; the test set stays whole.
    let filtered;
    let splits = match config.exclude_digit {
        Some(digit) => {
            filtered = Splits {
                train: splits.train.without_digit(digit),
                ..splits.clone()
            };
            &filtered
        }
        None => splits,
    };
    let mut r = rng(config.seed);
    let mut model = config.model.build(config, &mut r);
    let mut opt = Adam::new(config.lr as f32);
    let mut history = Vec::new();
    if resume && let Some(ckpt) = checkpoint::read(dir)? {
        config.resumable_from(&ckpt.config).map_err(|diff| {
            format!(
                "{}: the checkpoint was made with another configuration ({diff}); \
                 remove the folder or run without --resume",
                checkpoint::dir_of(dir).display()
            )
        })?;
        if ckpt.epoch > config.epochs {
            return Err(format!(
                "{}: the checkpoint is of epoch {}, beyond --epochs {}",
                checkpoint::dir_of(dir).display(),
                ckpt.epoch,
                config.epochs
            )
            .into());
        }
        r = checkpoint::restore(dir, &ckpt, model.as_mut(), &mut opt)?;
        history = ckpt.history;
    }
    let [c, h, w] = config.model.input_shape();
    let summary = Summary::new(model.as_ref(), &[config.batch_size, c, h, w]);
    write_atomic(&dir.join("summary.txt"), summary.to_string().as_bytes())?;
    write_atomic(&dir.join("config.json"), config_json(config).as_bytes())?;

    // The test inputs exist as one f32 array only when they differ from the clean images
    // (noise, holes, halved resolution); the clean ones are made batch by batch.
    let corrupted = config.noise.is_some() || config.hole.is_some();
    let test_x = (corrupted || config.model == ModelKind::SuperRes)
        .then(|| test_inputs_for(&splits.test, config));
    let name = dir.file_name().map_or_else(
        || config.model.id().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let first_epoch = history.len() + 1;
    for epoch in first_epoch..=config.epochs {
        let label = format!("{name} {epoch}/{}", config.epochs);
        let (train_loss, train_objective, seconds) = train_epoch(
            config,
            model.as_mut(),
            &mut opt,
            &mut r,
            &splits.train,
            &label,
            print_tape && epoch == 1,
        )
        .map_err(|step| TrainError::NonFinite {
            epoch,
            step,
            dir: dir.to_path_buf(),
        })?;
        let record = EpochRecord {
            epoch,
            train_loss,
            test_loss: streamed_test_mse(
                model.as_mut(),
                test_x.as_deref(),
                &splits.test,
                config.model.input_shape(),
            ),
            train_objective,
            seconds,
        };
        println!(
            "{name:>14} epoch {epoch:>2}/{}: train MSE {:.5}, test MSE {:.5}, {:.2} s ({:.0} img/s)",
            config.epochs,
            record.train_loss,
            record.test_loss,
            record.seconds,
            splits.train.len() as f64 / record.seconds
        );
        history.push(record);
        write_metrics(dir, &history)?;
        checkpoint::save(dir, config, model.as_ref(), &opt, &r, &history)?;
    }
    write_metrics(dir, &history)?;
    let weights = dir.join("model.safetensors");
    layers::io::save(&weights, model.as_ref()).map_err(|e| e.to_string())?;
    model.eval();
    Ok(Trained {
        config: config.clone(),
        dir: dir.to_path_buf(),
        model,
        summary,
        history,
        trained_epochs: (config.epochs + 1).saturating_sub(first_epoch),
    })
}

/// `config.json`: the run's configuration, and with it the command line that started it and
/// the number of threads (neither changes the results).
fn config_json(config: &TrainConfig) -> String {
    let mut v = serde_json::to_value(config).expect("a config serialises");
    if let Some(map) = v.as_object_mut() {
        let args: Vec<String> = std::env::args().collect();
        map.insert("command".into(), args.into());
        map.insert("threads".into(), rayon::current_num_threads().into());
        map.insert("tp_version".into(), env!("CARGO_PKG_VERSION").into());
    }
    serde_json::to_string_pretty(&v).expect("a value serialises")
}

/// One pass over `train` in a fresh shuffled order; returns the mean training MSE, the mean
/// training loss and the seconds it took, or `Err(step)` if the loss stops being finite at
/// that 1-based step. `print_tape` prints the tape of the first step.
fn train_epoch(
    config: &TrainConfig,
    model: &mut dyn Autoencoder,
    opt: &mut Adam,
    r: &mut Rng,
    train: &Dataset,
    label: &str,
    print_tape: bool,
) -> Result<(f64, f64, f64), usize> {
    model.train();
    // A fresh order from the identity every epoch, so the order depends only on the
    // generator's position (which a checkpoint saves), not on the previous epoch's order.
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(r);
    let progress = EpochProgress::start(label, train.len());
    let start = Instant::now();
    let (mut sum, mut objective, mut seen) = (0.0f64, 0.0f64, 0usize);
    // The steps run back to back: keep the pool's threads spinning between kernels.
    tensor::parallel::with_warm_pool(|| {
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            let target = train.images(batch);
            let input = corrupt(config, &target, r);
            let mut g = Graph::new();
            let y_true = g.input(target);
            // Without corruption the input is the target itself: one leaf serves as both.
            let x = input.map_or(y_true, |input| g.input(input));
            let terms = model.training_loss(&mut g, x, y_true, r);
            let loss = g.value(terms.total).item();
            if !loss.is_finite() {
                return Err(step + 1);
            }
            let mse =
                crate::quality::mse(g.value(terms.reconstruction).data(), g.value(y_true).data());
            if print_tape && step == 0 {
                println!("The tape of one training step:\n{}", g.tape().dump());
            }
            let grads = g.backward(terms.total);
            // Every parameter of these autoencoders is on the loss's tape: a refusal is a bug.
            opt.step(model, &grads)
                .expect("a training step covers every parameter");
            sum += mse * batch.len() as f64;
            objective += loss as f64 * batch.len() as f64;
            seen += batch.len();
            progress.advance(batch.len(), sum / seen as f64);
        }
        Ok(())
    })?;
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    Ok((sum / seen as f64, objective / seen as f64, seconds))
}

/// `metrics.csv`: one line per epoch.
fn write_metrics(dir: &Path, history: &[EpochRecord]) -> Result<(), String> {
    let mut csv = String::from("epoch,train_loss,test_loss,seconds,train_objective\n");
    for r in history {
        csv += &format!(
            "{},{:.8},{:.8},{:.3},{:.8}\n",
            r.epoch, r.train_loss, r.test_loss, r.seconds, r.train_objective
        );
    }
    write_atomic(&dir.join("metrics.csv"), csv.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_splits() -> Splits {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        Splits::load(&dir, "sample".into(), Some(192), Some(64)).unwrap()
    }

    fn config(epochs: usize) -> TrainConfig {
        TrainConfig {
            // Noise too, so the resumed generator must continue the noise stream as well.
            noise: Some(Noise {
                std: 0.5,
                clip: true,
            }),
            ..TrainConfig::new(ModelKind::Conv, 64, epochs, 64, 1e-3, 5, &tiny_splits())
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("train-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Three epochs straight, and two epochs then a resumed third, end with the same bits.
    #[test]
    fn resuming_ends_bit_identical_to_an_uninterrupted_run() {
        let splits = tiny_splits();
        let (straight, resumed) = (scratch("straight"), scratch("resumed"));
        let a = train(&config(3), &splits, &straight, false, false).unwrap();
        train(&config(2), &splits, &resumed, false, false).unwrap();
        let b = train(&config(3), &splits, &resumed, true, false).unwrap();
        assert_eq!(b.trained_epochs, 1);
        assert_eq!(b.history.len(), 3);
        let bits = |m: &dyn Autoencoder| -> Vec<Vec<u32>> {
            m.state_dict()
                .iter()
                .map(|(_, t)| t.data().iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert!(
            bits(a.model.as_ref()) == bits(b.model.as_ref()),
            "weights differ after resuming"
        );
        for (x, y) in a.history.iter().zip(&b.history) {
            assert_eq!((x.train_loss, x.test_loss), (y.train_loss, y.test_loss));
        }
        let file = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
        assert!(file(&straight) == file(&resumed));
        // Only the last epoch's checkpoint files remain.
        let mut kept: Vec<String> = std::fs::read_dir(checkpoint::dir_of(&resumed))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "checkpoint.json",
                "model-epoch3.safetensors",
                "optimizer-epoch3.safetensors"
            ]
        );
        // A finished run resumes to itself without training.
        let c = train(&config(3), &splits, &resumed, true, false).unwrap();
        assert_eq!(c.trained_epochs, 0);
        // Another configuration is refused, naming what differs.
        let other = TrainConfig {
            lr: 1e-2,
            ..config(4)
        };
        let err = train(&other, &splits, &resumed, true, false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("lr") && err.contains("another configuration"),
            "{err}"
        );
        std::fs::remove_dir_all(&straight).unwrap();
        std::fs::remove_dir_all(&resumed).unwrap();
    }

    /// Weights that have become NaN stop the next step with its epoch and step; the last
    /// good checkpoint stays in place.
    #[test]
    fn a_non_finite_loss_stops_training_and_keeps_the_checkpoint() {
        let splits = tiny_splits();
        let dir = scratch("nan");
        train(&config(1), &splits, &dir, false, false).unwrap();
        let ckpt = checkpoint::read(&dir).unwrap().unwrap();
        let weights = checkpoint::dir_of(&dir).join(&ckpt.model_file);
        let mut model = config(1).model.build(&config(1), &mut rng(0));
        layers::io::load(&weights, model.as_mut()).unwrap();
        model.visit_mut("", &mut |_, p| p.value.data_mut().fill(f32::NAN));
        layers::io::save(&weights, model.as_ref()).unwrap();
        let err = train(&config(3), &splits, &dir, true, false).err().unwrap();
        assert!(
            matches!(
                err,
                TrainError::NonFinite {
                    epoch: 2,
                    step: 1,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("epoch 2, step 1") && text.contains("of epoch 1"),
            "{text}"
        );
        assert_eq!(checkpoint::read(&dir).unwrap().unwrap().epoch, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
