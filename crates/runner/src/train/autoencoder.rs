//! The autoencoders trained on one loss with one Adam: the lab's plain models, the
//! denoising, inpainting and super-resolution ones (their input corrupted as the
//! configuration says), the sparse, contractive and variational ones (a penalty or a KL term
//! in their own [`Autoencoder::training_loss`]). What is reported per epoch is always the
//! MSE against the clean image, with the loss itself beside it.

use std::borrow::Cow;

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Loss, Module};
use models::{Autoencoder, ModelKind, ModelSpec};
use serde::{Deserialize, Serialize};
use tensor::{Rng, Tensor, rng};

use super::metrics::{EpochRecord, Figures};
use super::{Batch, RunConfig, StepSums, Trained, Trainee};
use crate::data::corrupt;
use crate::data::dataset::{Dataset, Splits};

/// Seed of the noise added to the test set (fixed, whatever the training seed, so every
/// model and run is compared on the same noisy images).
pub const TEST_NOISE_SEED: u64 = 1234;

/// Seed of the holes punched in the test images (fixed, like the test noise).
pub const TEST_HOLE_SEED: u64 = TEST_NOISE_SEED + 6;

/// Test images of its digit a one-class run ([`AeConfig::only_digit`]) is tested on after
/// each epoch, the first ones: enough for its loss curve at a fifth of the cost of all of them
/// (anomaly detection scores the whole test set once, at the end).
pub const ONE_CLASS_TEST_IMAGES: usize = 200;

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

/// The reconstruction loss of a run (`--objective`). Whatever it is, the figures reported
/// are mean squared errors, so that every model is measured the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Mean squared error per pixel.
    Mse,
    /// Binary cross-entropy per pixel (the target's grey levels as probabilities).
    Bce,
}

impl Objective {
    /// The lab's choice for `model` ([`ModelKind::default_loss`]).
    pub fn default_for(model: ModelKind) -> Objective {
        match model.default_loss() {
            Loss::Bce => Objective::Bce,
            _ => Objective::Mse,
        }
    }

    /// The loss it names.
    pub fn loss(self) -> Loss {
        match self {
            Objective::Mse => Loss::Mse,
            Objective::Bce => Loss::Bce,
        }
    }
}

/// What the model reads instead of the clean image: noise, then a hole, then half the
/// resolution, each when set (the clean image stays the target).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Corruption {
    /// Denoising: the noise added to the inputs.
    pub noise: Option<Noise>,
    /// Inpainting: the side of the square hole punched in every input (set to black).
    pub hole: Option<usize>,
    /// Super-resolution: the input is the image averaged over 2×2 blocks (14×14).
    pub downsample: bool,
}

impl Corruption {
    /// None: the model reads the clean image.
    pub const NONE: Corruption = Corruption {
        noise: None,
        hole: None,
        downsample: false,
    };

    /// The corruption a model needs to read its input at all: half the resolution for one
    /// that reads 14×14 images.
    pub fn for_model(model: ModelKind) -> Corruption {
        Corruption {
            downsample: model.input_shape() == [1, 14, 14],
            ..Corruption::NONE
        }
    }

    /// Whether the model reads the clean image itself.
    pub fn is_none(&self) -> bool {
        *self == Corruption::NONE
    }

    /// What the model reads for the clean batch `target`, drawing from `rng` (noise, then
    /// the holes' positions); `None` when it reads the target itself.
    pub fn apply(&self, target: &Tensor, rng: &mut Rng) -> Option<Tensor> {
        let mut x = self.noise.map(|noise| noise.apply(target, rng));
        if let Some(size) = self.hole {
            let positions = corrupt::hole_positions(target.shape()[0], size, rng);
            x = Some(corrupt::punch_holes(
                x.as_ref().unwrap_or(target),
                &positions,
                size,
            ));
        }
        if self.downsample {
            x = Some(corrupt::downsample(x.as_ref().unwrap_or(target)));
        }
        x
    }
}

/// What decides an autoencoder run besides its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AeConfig {
    /// The model.
    #[serde(with = "kind_by_id")]
    pub model: ModelKind,
    /// The code size of the dense models (for a VAE: its latent dimensions).
    pub latent: usize,
    /// The reconstruction loss of the plain and sparse models.
    pub objective: Objective,
    /// The VAE's weight on the KL term (1: the ELBO).
    pub beta: f64,
    /// The sparse model's L1 weight on the code.
    pub sparsity: f64,
    /// The contractive model's weight on the Jacobian penalty.
    pub contraction: f64,
    /// What the model reads instead of the clean image.
    pub corruption: Corruption,
    /// Anomaly detection: the digit left out of the training set.
    pub exclude_digit: Option<u8>,
    /// One-class anomaly detection: the only digit of the training set, and of the test
    /// images measured after each epoch (the first [`ONE_CLASS_TEST_IMAGES`] of that digit).
    /// Absent from `config.json` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_digit: Option<u8>,
}

impl AeConfig {
    /// `model` with code size `latent` as the lab trains it: its own loss, β = 1, no
    /// penalty, the corruption its input shape needs and no other.
    pub fn new(model: ModelKind, latent: usize) -> AeConfig {
        AeConfig {
            model,
            latent,
            objective: Objective::default_for(model),
            beta: 1.0,
            sparsity: 0.0,
            contraction: 0.0,
            corruption: Corruption::for_model(model),
            exclude_digit: None,
            only_digit: None,
        }
    }

    fn spec(&self) -> ModelSpec {
        ModelSpec {
            latent: self.latent,
            loss: self.objective.loss(),
            beta: self.beta as f32,
            sparsity: self.sparsity as f32,
            contraction: self.contraction as f32,
        }
    }
}

/// A [`ModelKind`] in `config.json` by its id (`"dense1_none"`).
mod kind_by_id {
    use models::ModelKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &ModelKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.id())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ModelKind, D::Error> {
        let id = String::deserialize(d)?;
        ModelKind::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown model {id:?}")))
    }
}

/// One epoch of an autoencoder run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AeFigures {
    /// Mean training MSE per pixel over the epoch's batches (as they were before each
    /// step), weighted by batch size, whatever the objective.
    pub train_mse: f64,
    /// Test MSE per pixel after the epoch (for a corrupted input: output against clean).
    pub test_mse: f64,
    /// Mean training loss over the epoch's batches, in the model's own unit
    /// ([`Autoencoder::loss_unit`]), weighted by batch size.
    pub train_objective: f64,
}

impl Figures for AeFigures {
    const COLUMNS: &'static [&'static str] = &["train_mse", "test_mse", "train_objective"];

    fn values(&self) -> Vec<f64> {
        vec![self.train_mse, self.test_mse, self.train_objective]
    }

    fn line(&self) -> String {
        format!(
            "train MSE {:.5}, test MSE {:.5}",
            self.train_mse, self.test_mse
        )
    }
}

/// An autoencoder in training: the model, its Adam, and the epoch's sums.
pub struct AeRun {
    /// The model.
    pub model: Box<dyn Autoencoder>,
    opt: Adam,
    config: AeConfig,
    /// The test inputs when they differ from the clean images (corrupted, the same for
    /// every run); the clean ones are made batch by batch.
    test_inputs: Option<Vec<f32>>,
    sums: StepSums<2>,
}

impl Trainee for AeRun {
    type Config = AeConfig;
    type Figures = AeFigures;

    fn build(config: &RunConfig<AeConfig>, splits: &Splits, rng: &mut Rng) -> AeRun {
        let model = config.model.model.build(&config.model.spec(), rng);
        let corruption = config.model.corruption;
        AeRun {
            model,
            opt: Adam::new(config.schedule.lr as f32),
            config: config.model.clone(),
            test_inputs: (!corruption.is_none())
                .then(|| test_inputs_for(&Self::test_set(&config.model, splits), &corruption)),
            sums: StepSums::default(),
        }
    }

    fn training_set<'a>(config: &AeConfig, splits: &'a Splits) -> Cow<'a, Dataset> {
        // Anomaly detection trains on every digit but one (the test set stays whole), or on
        // one digit alone.
        match (config.exclude_digit, config.only_digit) {
            (_, Some(digit)) => Cow::Owned(splits.train.only_digit(digit)),
            (Some(digit), None) => Cow::Owned(splits.train.without_digit(digit)),
            (None, None) => Cow::Borrowed(&splits.train),
        }
    }

    fn test_set<'a>(config: &AeConfig, splits: &'a Splits) -> Cow<'a, Dataset> {
        // A one-class model is tested on its own digit: the other test images are what it
        // must reject, scored by the experiment.
        match config.only_digit {
            Some(digit) => Cow::Owned(splits.test.only_digit(digit).first(ONE_CLASS_TEST_IMAGES)),
            None => Cow::Borrowed(&splits.test),
        }
    }

    fn model(&self) -> &dyn Module {
        self.model.as_ref()
    }

    fn model_mut(&mut self) -> &mut dyn Module {
        self.model.as_mut()
    }

    fn input_shape(&self) -> [usize; 3] {
        self.config.model.input_shape()
    }

    fn optimizers(&self) -> Vec<(&'static str, &Adam)> {
        vec![("optimizer", &self.opt)]
    }

    fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("optimizer", &mut self.opt)]
    }

    fn start_epoch(&mut self, _epoch: usize) {
        self.sums = StepSums::default();
    }

    fn step(&mut self, batch: Batch<'_>, rng: &mut Rng, print_tape: bool) -> Option<f64> {
        let target = batch.images;
        let images = target.shape()[0] as f64;
        let input = self.config.corruption.apply(&target, rng);
        let mut g = Graph::new();
        let y_true = g.input(target);
        // Without corruption the input is the target itself: one leaf serves as both.
        let x = input.map_or(y_true, |input| g.input(input));
        let terms = self.model.training_loss(&mut g, x, y_true, rng);
        let loss = g.value(terms.total).item();
        if !loss.is_finite() {
            return None;
        }
        let mse = crate::instruments::quality::mse(
            g.value(terms.reconstruction).data(),
            g.value(y_true).data(),
        );
        if print_tape {
            println!("The tape of one training step:\n{}", g.tape().dump());
        }
        let grads = g.backward(terms.total);
        // Every parameter of these autoencoders is on the loss's tape: a refusal is a bug.
        self.opt
            .step(self.model.as_mut(), &grads)
            .expect("a training step covers every parameter");
        Some(self.sums.add([mse, loss as f64], images))
    }

    fn finish_epoch(&mut self, test: &Dataset) -> AeFigures {
        let [train_mse, train_objective] = self.sums.means();
        AeFigures {
            train_mse,
            test_mse: streamed_test_mse(
                self.model.as_mut(),
                self.test_inputs.as_deref(),
                test,
                self.config.model.input_shape(),
            ),
            train_objective,
        }
    }
}

impl Trained<AeRun> {
    /// The model's kind.
    pub fn kind(&self) -> ModelKind {
        self.config.model.model
    }

    /// The code size it was configured with (the dense models' K).
    pub fn latent(&self) -> usize {
        self.config.model.latent
    }

    /// Values in one image's code.
    pub fn code_size(&self) -> usize {
        self.trainee.model.code_shape().iter().product()
    }

    /// The test MSE after the last epoch.
    pub fn test_mse(&self) -> f64 {
        self.last().map_or(f64::NAN, |f| f.test_mse)
    }

    /// The per-epoch figures.
    pub fn epochs(&self) -> impl Iterator<Item = (usize, &AeFigures)> {
        self.history
            .iter()
            .map(|r: &EpochRecord<AeFigures>| (r.epoch, &r.figures))
    }

    /// The model, writable (to run it).
    pub fn model(&mut self) -> &mut dyn Autoencoder {
        self.trainee.model.as_mut()
    }

    /// The model's outputs for `inputs` (see [`reconstruct`]).
    pub fn reconstruct(&mut self, inputs: &[f32]) -> Vec<f32> {
        let shape = self.kind().input_shape();
        reconstruct_shaped(self.trainee.model.as_mut(), inputs, shape)
    }

    /// The codes of `inputs` (`count·784` values), in evaluation mode (for a VAE: the means),
    /// code after code.
    pub fn codes(&mut self, inputs: &[f32]) -> Vec<f32> {
        codes(self.trainee.model.as_mut(), inputs)
    }

    /// Images decoded from `codes` (`count·code_size` values), in evaluation mode.
    pub fn decode(&mut self, codes: &[f32], code_size: usize) -> Vec<f32> {
        decode(self.trainee.model.as_mut(), codes, code_size)
    }
}

/// The test set as a model reads it under `corruption`: the clean images, or their noisy
/// (seed [`TEST_NOISE_SEED`]), holed (seed [`TEST_HOLE_SEED`]) or halved versions, the same
/// for every run.
pub fn test_inputs_for(targets: &Dataset, corruption: &Corruption) -> Vec<f32> {
    let mut x = Tensor::from_vec(
        &[targets.len(), 1, 28, 28],
        test_inputs(targets, corruption.noise),
    );
    if let Some(size) = corruption.hole {
        let positions = corrupt::hole_positions(targets.len(), size, &mut rng(TEST_HOLE_SEED));
        x = corrupt::punch_holes(&x, &positions, size);
    }
    if corruption.downsample {
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
/// summed by [`crate::instruments::quality::squared_error`], the batches' sums in order.
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
        sum += crate::instruments::quality::squared_error(y.data(), target.data());
    }
    sum / (targets.len() * targets.image_size()).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Options, Schedule, checkpoint, train};
    use std::path::{Path, PathBuf};

    fn tiny_splits() -> Splits {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        Splits::load(&dir, "sample".into(), Some(192), Some(64)).unwrap()
    }

    fn config(epochs: usize) -> RunConfig<AeConfig> {
        let mut model = AeConfig::new(ModelKind::Conv, 64);
        // Noise too, so the resumed generator must continue the noise stream as well.
        model.corruption.noise = Some(Noise {
            std: 0.5,
            clip: true,
        });
        RunConfig {
            model,
            schedule: Schedule::new(epochs, 64, 1e-3, 5, &tiny_splits()),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("train-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn resume() -> Options {
        Options {
            resume: true,
            ..Options::default()
        }
    }

    /// Three epochs straight, and two epochs then a resumed third, end with the same bits.
    #[test]
    fn resuming_ends_bit_identical_to_an_uninterrupted_run() {
        let splits = tiny_splits();
        let (straight, resumed) = (scratch("straight"), scratch("resumed"));
        let a = train::<AeRun>(&config(3), &splits, &straight, Options::default()).unwrap();
        train::<AeRun>(&config(2), &splits, &resumed, Options::default()).unwrap();
        let b = train::<AeRun>(&config(3), &splits, &resumed, resume()).unwrap();
        assert_eq!(b.trained_epochs, 1);
        assert_eq!(b.history.len(), 3);
        assert!(
            a.history
                == b.history
                    .iter()
                    .map(|r| EpochRecord {
                        seconds: a.history[r.epoch - 1].seconds,
                        ..r.clone()
                    })
                    .collect::<Vec<_>>()
        );
        let file = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
        assert!(file(&straight, "model.safetensors") == file(&resumed, "model.safetensors"));
        // The optimizer's state too, byte for byte.
        let ckpt = |d: &Path, f: &str| file(&checkpoint::dir_of(d), f);
        assert!(
            ckpt(&straight, "optimizer-epoch3.safetensors")
                == ckpt(&resumed, "optimizer-epoch3.safetensors")
        );
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
        let c = train::<AeRun>(&config(3), &splits, &resumed, resume()).unwrap();
        assert_eq!(c.trained_epochs, 0);
        // Another configuration is refused, naming what differs.
        let mut other = config(4);
        other.schedule.lr = 1e-2;
        let err = train::<AeRun>(&other, &splits, &resumed, resume())
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

    /// A checkpoint whose weights hold a NaN is refused at `--resume`, naming its file.
    #[test]
    fn a_checkpoint_with_non_finite_weights_is_refused() {
        let splits = tiny_splits();
        let dir = scratch("nan");
        train::<AeRun>(&config(1), &splits, &dir, Options::default()).unwrap();
        let ckpt = checkpoint::read::<AeRun>(&dir).unwrap().unwrap();
        let weights = checkpoint::dir_of(&dir).join(&ckpt.model_file);
        let mut run = AeRun::build(&config(1), &splits, &mut rng(0));
        layers::io::load(&weights, run.model_mut()).unwrap();
        let mut first = true;
        run.model_mut().visit_mut("", &mut |_, p| {
            if std::mem::take(&mut first) {
                p.value.data_mut()[0] = f32::INFINITY;
            }
        });
        layers::io::save(&weights, run.model()).unwrap();
        let err = train::<AeRun>(&config(3), &splits, &dir, resume())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&weights.display().to_string()) && err.contains("NaN or an infinity"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
