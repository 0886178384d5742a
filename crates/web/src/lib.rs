//! The engine in the browser: the course's two 2-D models, the dense VAE
//! (784-512-2-512-784) and the plain dense autoencoder (784-128-2-128-784), encoded,
//! decoded and trained by the same `tensor`, `layers` and `models` crates that `tp` runs
//! natively, compiled to `wasm32-unknown-unknown`.
//!
//! - [`Net`]: one model, built by the `models` crate, its weights read from the safetensors
//!   file `tp` wrote ([`Net::load`]).
//! - [`Trainer`]: a fresh model trained step by step on a few thousand images, reporting the
//!   loss and its terms and keeping the tape of its last step ([`tensor::Tape::dump`]).
//! - [`digits`]: the images the page ships with.
//! - [`ffi`]: the `extern "C"` functions the page's script calls, over the module's linear
//!   memory; nothing else crosses into JavaScript.
//!
//! This crate takes the engine without its `threads` feature (rayon is not compiled in):
//! every kernel runs on the page's one thread (`tensor::par`), with the same fixed chunks
//! and so the same sums as natively.

#![warn(missing_docs)]

pub mod digits;
pub mod ffi;

use layers::{Graph, Loss, Module, Parameter, optim::Adam, optim::Optimizer};
use models::vae::Vae;
use models::{Autoencoder, Plain};
use rand::seq::SliceRandom;
use safetensors::{Dtype, SafeTensors};
use tensor::{Rng, Tensor, rng};

use crate::digits::{Digits, IMAGE};

/// The latent size of both models: a plane the page can draw.
pub const LATENT: usize = 2;

/// Which of the two models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The dense VAE, as `tp vae` trains it (`models::ModelKind::Vae`, latent 2).
    Vae,
    /// The plain deep autoencoder with a 2-value code, as `tp pca` trains it
    /// (`models::ModelKind::Dense2Relu`, K = 2, MSE).
    Autoencoder,
}

impl Kind {
    /// The kind numbered `n` across the FFI: 0 the VAE, 1 the autoencoder.
    pub fn from_index(n: u32) -> Option<Kind> {
        match n {
            0 => Some(Kind::Vae),
            1 => Some(Kind::Autoencoder),
            _ => None,
        }
    }
}

/// One of the two models.
pub enum Net {
    /// The VAE (boxed: it is larger than the autoencoder).
    Vae(Box<Vae>),
    /// The plain autoencoder.
    Autoencoder(Plain),
}

/// Each image's code: for the VAE the mean and standard deviation of `q(z|x)`, for the
/// plain autoencoder its code and zeros.
#[derive(Clone, Debug, PartialEq)]
pub struct Codes {
    /// `len·2` values: `(z₁, z₂)` per image.
    pub mean: Vec<f32>,
    /// `len·2` values: `(σ₁, σ₂) = e^(logvar/2)` per image (zeros for a plain code).
    pub std: Vec<f32>,
}

/// The loss of a step or an evaluation, in the model's own unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Losses {
    /// What the optimizer minimises: `(BCE + β·KL)/N` for the VAE (nats per image), the
    /// MSE per pixel for the autoencoder.
    pub total: f32,
    /// The reconstruction term: the BCE per image (VAE) or the MSE per pixel.
    pub reconstruction: f32,
    /// The VAE's KL per image, unweighted (0 for the autoencoder).
    pub kl: f32,
}

impl Net {
    /// A freshly initialised model from `seed`, built exactly as `tp` builds it
    /// (`ModelKind::build` with the same generator draws the same weights).
    pub fn new(kind: Kind, seed: u64) -> Net {
        let mut r = rng(seed);
        match kind {
            Kind::Vae => Net::Vae(Box::new(Vae::dense(LATENT, &mut r))),
            Kind::Autoencoder => Net::Autoencoder(Plain::new(
                models::dense::deep_autoencoder(LATENT, &mut r),
                Loss::Mse,
            )),
        }
    }

    /// Which model it is.
    pub fn kind(&self) -> Kind {
        match self {
            Net::Vae(_) => Kind::Vae,
            Net::Autoencoder(_) => Kind::Autoencoder,
        }
    }

    fn module_mut(&mut self) -> &mut dyn Autoencoder {
        match self {
            Net::Vae(m) => m.as_mut(),
            Net::Autoencoder(m) => m,
        }
    }

    /// Replaces every parameter with the tensor of the same name in a safetensors file
    /// (`model.safetensors` as `tp` saves it): the file must hold exactly the model's names,
    /// in F32 and the same shapes. On error the model is unchanged.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| format!("not safetensors: {e}"))?;
        let mut expected: Vec<(String, Vec<usize>)> = Vec::new();
        self.module_mut().visit("", &mut |name, p| {
            expected.push((name.into(), p.value.shape().to_vec()))
        });
        let mut values = Vec::with_capacity(expected.len());
        for (name, shape) in &expected {
            let view = file
                .tensor(name)
                .map_err(|_| format!("the weights lack {name}"))?;
            if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
                return Err(format!(
                    "{name}: expected F32 {shape:?}, found {:?} {:?}",
                    view.dtype(),
                    view.shape()
                ));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            values.push(Tensor::from_vec(shape, data));
        }
        if file.len() != expected.len() {
            return Err(format!(
                "the weights hold {} tensors, the model has {}",
                file.len(),
                expected.len()
            ));
        }
        let mut values = values.into_iter();
        self.module_mut()
            .visit_mut("", &mut |_, p: &mut Parameter| {
                p.value = values
                    .next()
                    .expect("one value per parameter, checked above");
            });
        Ok(())
    }

    /// The codes of `images` (`[len, 1, 28, 28]`), without randomness: the VAE's mean and
    /// standard deviation, the autoencoder's code.
    pub fn encode(&mut self, images: Tensor) -> Codes {
        let mut g = Graph::no_grad();
        let x = g.input(images);
        match self {
            Net::Vae(vae) => {
                let q = vae.encode_gaussian(&mut g, x);
                let std = g.value(q.logvar).data().iter().map(|l| (0.5 * l).exp());
                Codes {
                    mean: g.value(q.mean).data().to_vec(),
                    std: std.collect(),
                }
            }
            Net::Autoencoder(ae) => {
                let code = ae.encode(&mut g, x);
                let mean = g.value(code).data().to_vec();
                Codes {
                    std: vec![0.0; mean.len()],
                    mean,
                }
            }
        }
    }

    /// The images (`len·784` values in `[0, 1]`) the decoder makes of codes `z` (`len·2`).
    pub fn decode(&mut self, z: &[f32]) -> Vec<f32> {
        assert_eq!(z.len() % LATENT, 0, "decode: {} values", z.len());
        let mut g = Graph::no_grad();
        let z = g.input(Tensor::from_vec(&[z.len() / LATENT, LATENT], z.to_vec()));
        let y = self.module_mut().decode(&mut g, z);
        g.value(y).data().to_vec()
    }

    /// `steps` images decoded along the segment from `a` to `b`, both ends included.
    pub fn interpolate(&mut self, a: [f32; 2], b: [f32; 2], steps: usize) -> Vec<f32> {
        let last = steps.saturating_sub(1).max(1) as f32;
        let z: Vec<f32> = (0..steps)
            .flat_map(|i| {
                let t = i as f32 / last;
                [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
            })
            .collect();
        self.decode(&z)
    }

    /// Records the loss of `images` on a fresh graph: the VAE's `(BCE + β·KL)/N` decoding
    /// `z = μ + σ ⊙ eps` (or `z = μ` without `eps`), the autoencoder's MSE per pixel. The
    /// same terms as `Autoencoder::training_loss` (a test holds them equal), split so the
    /// page can draw both.
    fn loss(&mut self, images: Tensor, beta: f32, eps: Option<Tensor>) -> (Graph, Terms) {
        let batch = images.shape()[0];
        let mut g = Graph::new();
        let x = g.input(images);
        let terms = match self {
            Net::Vae(vae) => {
                let elbo = vae.elbo(&mut g, x, x, eps);
                let kl = g.mul_scalar(elbo.kl, beta);
                let sum = g.add(elbo.bce, kl);
                let per_image = 1.0 / batch.max(1) as f32;
                Terms {
                    total: g.mul_scalar(sum, per_image),
                    reconstruction: g.mul_scalar(elbo.bce, per_image),
                    kl: Some(g.mul_scalar(elbo.kl, per_image)),
                }
            }
            Net::Autoencoder(ae) => {
                let y = ae.forward(&mut g, x);
                let mse = Loss::Mse.apply(&mut g, y, x, tensor::Reduction::Mean);
                Terms {
                    total: mse,
                    reconstruction: mse,
                    kl: None,
                }
            }
        };
        (g, terms)
    }

    /// The loss of `images` without randomness (the VAE decodes its means).
    pub fn evaluate(&mut self, images: Tensor, beta: f32) -> Losses {
        let (g, terms) = self.loss(images, beta, None);
        terms.values(&g)
    }
}

/// The loss's nodes on a step's tape.
struct Terms {
    total: tensor::Var,
    reconstruction: tensor::Var,
    kl: Option<tensor::Var>,
}

impl Terms {
    fn values(&self, g: &Graph) -> Losses {
        Losses {
            total: g.value(self.total).item(),
            reconstruction: g.value(self.reconstruction).item(),
            kl: self.kl.map_or(0.0, |kl| g.value(kl).item()),
        }
    }
}

/// A model trained step by step on a fixed set of images, with Adam, in shuffled batches.
pub struct Trainer {
    /// The model being trained.
    pub net: Net,
    opt: Adam,
    rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    /// Images per step.
    pub batch_size: usize,
    /// The VAE's weight on the KL term (the page's slider).
    pub beta: f32,
    /// Steps taken.
    pub steps: usize,
    /// The tape of the last step, as [`tensor::Tape::dump`] prints it.
    pub last_tape: String,
}

impl Trainer {
    /// A fresh `kind` from `seed` (the seed also draws the batches and the VAE's ε), with
    /// the lab's Adam (learning rate `lr`) and batch size.
    pub fn new(kind: Kind, seed: u64, lr: f32, batch_size: usize) -> Trainer {
        Trainer {
            net: Net::new(kind, seed),
            opt: Adam::new(lr),
            rng: rng(seed),
            order: Vec::new(),
            cursor: 0,
            batch_size,
            beta: 1.0,
            steps: 0,
            last_tape: String::new(),
        }
    }

    /// One step on the next batch of `data` (a fresh shuffle after each pass); returns its
    /// loss, or `None` if it is not finite (the weights are then left as they were).
    pub fn step(&mut self, data: &Digits) -> Option<Losses> {
        assert!(!data.is_empty(), "Trainer::step: no images");
        if self.order.len() != data.len() || self.cursor >= self.order.len() {
            self.order = (0..data.len()).collect();
            self.order.shuffle(&mut self.rng);
            self.cursor = 0;
        }
        let end = (self.cursor + self.batch_size).min(self.order.len());
        let images = data.batch(&self.order[self.cursor..end]);
        self.cursor = end;
        let eps = match self.net {
            Net::Vae(_) => Some(Tensor::normal(
                &[images.shape()[0], LATENT],
                0.0,
                1.0,
                &mut self.rng,
            )),
            Net::Autoencoder(_) => None,
        };
        let (g, terms) = self.net.loss(images, self.beta, eps);
        let losses = terms.values(&g);
        if !losses.total.is_finite() {
            return None;
        }
        let grads = g.backward(terms.total);
        self.opt
            .step(self.net.module_mut(), &grads)
            .expect("every parameter is on the loss's tape");
        self.last_tape = g.tape().dump();
        self.steps += 1;
        Some(losses)
    }
}

/// Grey pixels in `[0, 1]` as opaque RGBA bytes (white digit on black, as MNIST), for a
/// canvas: `round(255·clamp(p))`.
pub fn to_rgba(pixels: &[f32]) -> Vec<u8> {
    pixels
        .iter()
        .flat_map(|&p| {
            let v = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
            [v, v, v, 255]
        })
        .collect()
}

/// A 28×28 drawing as the page's canvas holds it (RGBA bytes, the ink in the alpha
/// channel) to an image in `[0, 1]`: `alpha / 255`, as the IDX reader reads a pixel.
pub fn from_canvas(rgba: &[u8]) -> Vec<f32> {
    assert_eq!(rgba.len(), 4 * IMAGE, "from_canvas: {} bytes", rgba.len());
    rgba.chunks_exact(4).map(|p| p[3] as f32 / 255.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_digits(count: usize, seed: u64) -> Digits {
        let mut r = rng(seed);
        let t = Tensor::uniform(&[count * IMAGE], 0.0, 1.0, &mut r);
        Digits {
            pixels: t.data().to_vec(),
            labels: (0..count).map(|i| (i % 10) as u8).collect(),
        }
    }

    #[test]
    fn the_split_loss_is_the_models_own_training_loss() {
        let data = some_digits(8, 1);
        let images = data.batch(&[0, 1, 2, 3]);
        let mut r = rng(5);
        let eps = Tensor::normal(&[4, LATENT], 0.0, 1.0, &mut r);
        let mut net = Net::new(Kind::Vae, 3);
        let (g, terms) = net.loss(images.clone(), 0.5, Some(eps));
        let ours = terms.values(&g);
        // The model's own loss draws the same ε from a generator in the same state.
        let Net::Vae(mut vae) = Net::new(Kind::Vae, 3) else {
            unreachable!()
        };
        vae.beta = 0.5;
        let mut g = Graph::new();
        let x = g.input(images.clone());
        let theirs = vae.training_loss(&mut g, x, x, &mut rng(5));
        assert_eq!(ours.total, g.value(theirs.total).item());
        assert!((ours.total - (ours.reconstruction + 0.5 * ours.kl)).abs() < 1e-3);

        let mut net = Net::new(Kind::Autoencoder, 3);
        let ours = net.evaluate(images.clone(), 1.0);
        let mut ae = models::ModelKind::Dense2Relu.build(
            &models::ModelSpec {
                latent: 2,
                loss: Loss::Mse,
                beta: 1.0,
                sparsity: 0.0,
                contraction: 0.0,
            },
            &mut rng(3),
        );
        let mut g = Graph::new();
        let x = g.input(images);
        let theirs = ae.training_loss(&mut g, x, x, &mut rng(0));
        assert_eq!(ours.total, g.value(theirs.total).item());
        assert_eq!(ours.kl, 0.0);
    }

    #[test]
    fn weights_saved_by_layers_load_and_decode_the_same() {
        let path = std::env::temp_dir().join(format!("tp-web-{}.safetensors", std::process::id()));
        let Net::Vae(trained) = Net::new(Kind::Vae, 7) else {
            unreachable!()
        };
        layers::io::save(&path, trained.as_ref()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut net = Net::new(Kind::Vae, 8);
        net.load(&bytes).unwrap();
        let mut again = Net::Vae(trained);
        assert_eq!(net.decode(&[0.5, -1.0]), again.decode(&[0.5, -1.0]));
        // The autoencoder's names are not the VAE's: refused, naming a missing tensor.
        let err = Net::new(Kind::Autoencoder, 0).load(&bytes).unwrap_err();
        assert!(err.contains("lack"), "{err}");
        assert!(net.load(b"nonsense").is_err());
    }

    #[test]
    fn fifty_steps_lower_the_loss_and_leave_a_tape() {
        let data = some_digits(256, 2);
        for kind in [Kind::Vae, Kind::Autoencoder] {
            let mut t = Trainer::new(kind, 0, 1e-3, 32);
            let before = t
                .net
                .evaluate(data.batch(&(0..64).collect::<Vec<_>>()), 1.0);
            for _ in 0..50 {
                t.step(&data).unwrap();
            }
            let after = t
                .net
                .evaluate(data.batch(&(0..64).collect::<Vec<_>>()), 1.0);
            assert!(
                after.total < before.total,
                "{kind:?}: {before:?} → {after:?}"
            );
            assert!(t.last_tape.contains("Leaf") && t.last_tape.lines().count() > 10);
        }
    }

    #[test]
    fn an_interpolation_starts_and_ends_at_its_points() {
        let mut net = Net::new(Kind::Autoencoder, 1);
        let strip = net.interpolate([1.0, 2.0], [-1.0, 0.0], 5);
        assert_eq!(strip.len(), 5 * IMAGE);
        assert_eq!(&strip[..IMAGE], &net.decode(&[1.0, 2.0])[..]);
        assert_eq!(&strip[4 * IMAGE..], &net.decode(&[-1.0, 0.0])[..]);
        assert_eq!(
            to_rgba(&[0.0, 1.0, 2.0])[..],
            [0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255]
        );
    }
}
