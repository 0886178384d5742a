//! The variational autoencoder (Kingma & Welling 2014): the encoder gives a Gaussian
//! `q(z|x) = N(μ(x), diag(e^logvar(x)))` rather than a point, training decodes a sample of
//! it, and a KL term pulls every `q(z|x)` towards the prior `N(0, I)`, so that the code space
//! is filled without holes and any point of it decodes to a digit.
//!
//! - Reparameterization: `z = μ + e^(logvar/2) ⊙ ε` with `ε ~ N(0, I)` drawn outside the
//!   graph, so the gradient flows to μ and logvar through a deterministic function.
//! - Loss per image: `BCE(x̂, x) + β·KL(q(z|x) ‖ N(0, I))`, the BCE summed over pixels and
//!   the KL over latent dimensions; with β = 1 this is the negative ELBO, an upper bound on
//!   `−ln p(x)` in nats.
//! - Evaluation (`forward`) decodes the mean: `z = μ`, no randomness.
//!
//! Parameter names follow `../shared/peers/pytorch/tp5.py`'s `VAE` (`enc`, `mu`, `logvar`,
//! `dec`), so the weights load there with `load_state_dict`.

use layers::{
    Activation, Conv2d, ConvTranspose2d, Flatten, Graph, Linear, Module, Sequential, Unflatten,
};
use tensor::{Reduction, Rng, Tensor, Var};

use crate::autoencoder::{Autoencoder, StepLoss};

/// The latent size of the course's VAE (2, so the code space can be drawn).
pub const DEFAULT_LATENT: usize = 2;

/// A diagonal Gaussian on the tape: what the encoder returns. Naming the two halves keeps
/// the convention (log-variance, not standard deviation) from being mixed up.
#[derive(Clone, Copy, Debug)]
pub struct Gaussian {
    /// μ, `[batch, latent]`.
    pub mean: Var,
    /// `ln σ²`, `[batch, latent]`.
    pub logvar: Var,
}

impl Gaussian {
    /// `z = μ + e^(logvar/2) ⊙ ε` for a given `ε` shaped like μ.
    pub fn sample(&self, g: &mut Graph, eps: Tensor) -> Var {
        assert_eq!(
            eps.shape(),
            g.shape(self.mean),
            "Gaussian::sample: ε has shape {:?}, the mean {:?}",
            eps.shape(),
            g.shape(self.mean)
        );
        let half = g.mul_scalar(self.logvar, 0.5);
        let std = g.exp(half);
        let eps = g.input(eps);
        let scaled = g.mul(std, eps);
        g.add(self.mean, scaled)
    }

    /// `KL(N(μ, σ²) ‖ N(0, I))` summed over the batch and the latent dimensions.
    pub fn kl(&self, g: &mut Graph) -> Var {
        g.gaussian_kl_loss(self.mean, self.logvar, Reduction::Sum)
    }
}

/// The terms of the negative ELBO of a batch, each summed over the batch.
#[derive(Clone, Copy, Debug)]
pub struct Elbo {
    /// The decoded sample, `[batch, 1, 28, 28]`.
    pub reconstruction: Var,
    /// `BCE(x̂, x)` summed over pixels and images: the reconstruction term, `−E[ln p(x|z)]`.
    pub bce: Var,
    /// `KL(q(z|x) ‖ N(0, I))` summed over latent dimensions and images.
    pub kl: Var,
    /// The encoder's Gaussian.
    pub code: Gaussian,
}

/// A VAE: a trunk (`enc`), two linear heads (`mu`, `logvar`) and a decoder (`dec`).
pub struct Vae {
    /// Images to the features both heads read, `[batch, hidden]`.
    pub enc: Sequential,
    /// Features to μ.
    pub mu: Linear,
    /// Features to `ln σ²`.
    pub logvar: Linear,
    /// Codes `[batch, latent]` to images `[batch, 1, 28, 28]`.
    pub dec: Sequential,
    /// The weight of the KL term (1: the ELBO; β-VAE otherwise).
    pub beta: f32,
    training: bool,
}

impl Vae {
    /// A VAE from its parts (β = 1).
    pub fn new(enc: Sequential, mu: Linear, logvar: Linear, dec: Sequential) -> Vae {
        assert_eq!(
            mu.features(),
            logvar.features(),
            "Vae: the two heads must have the same shape"
        );
        Vae {
            enc,
            mu,
            logvar,
            dec,
            beta: 1.0,
            training: true,
        }
    }

    /// The course's dense VAE, as `tp5.py --model vae`: 784-512-(μ, logvar: latent)-512-784,
    /// ReLU hidden layers, sigmoid output. Parameters: 807,700 for latent 2.
    pub fn dense(latent: usize, rng: &mut Rng) -> Vae {
        let hidden = 512;
        let enc = Sequential::new()
            .push(Flatten)
            .push(Linear::new(784, hidden, rng))
            .push(Activation::Relu);
        let mu = Linear::new(hidden, latent, rng);
        let logvar = Linear::new(hidden, latent, rng);
        let dec = Sequential::new()
            .push(Linear::new(latent, hidden, rng))
            .push(Activation::Relu)
            .push(Linear::new(hidden, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        Vae::new(enc, mu, logvar, dec)
    }

    /// A convolutional VAE: the lab's two strided convolutions to 32×7×7, linear heads from
    /// the 1,568 features, and the mirror image back (a linear layer to 32×7×7, two
    /// transposed convolutions). Parameters: 20,549 for latent 2.
    pub fn conv(latent: usize, rng: &mut Rng) -> Vae {
        let features = 32 * 7 * 7;
        let enc = Sequential::new()
            .push(Conv2d::new(1, 16, 3, rng).stride(2).padding(1))
            .push(Activation::Relu)
            .push(Conv2d::new(16, 32, 3, rng).stride(2).padding(1))
            .push(Activation::Relu)
            .push(Flatten);
        let mu = Linear::new(features, latent, rng);
        let logvar = Linear::new(features, latent, rng);
        let up = |c_in, c_out, rng: &mut Rng| {
            ConvTranspose2d::new(c_in, c_out, 3, rng)
                .stride(2)
                .padding(1)
                .output_padding(1)
        };
        let dec = Sequential::new()
            .push(Linear::new(latent, features, rng))
            .push(Activation::Relu)
            .push(Unflatten::new(&[32, 7, 7]))
            .push(up(32, 16, rng))
            .push(Activation::Relu)
            .push(up(16, 1, rng))
            .push(Activation::Sigmoid);
        Vae::new(enc, mu, logvar, dec)
    }

    /// The same VAE with KL weight `beta`.
    pub fn with_beta(self, beta: f32) -> Vae {
        Vae { beta, ..self }
    }

    /// The number of latent dimensions.
    pub fn latent(&self) -> usize {
        self.mu.features().1
    }

    /// `q(z|x)` for a batch of images.
    pub fn encode_gaussian(&mut self, g: &mut Graph, x: Var) -> Gaussian {
        let h = self.enc.forward(g, x);
        Gaussian {
            mean: self.mu.forward(g, h),
            logvar: self.logvar.forward(g, h),
        }
    }

    /// The negative ELBO's terms for `x` (encoded) against `target` (usually `x`), decoding
    /// `z = μ + σ ⊙ eps`, or `z = μ` when `eps` is `None`.
    pub fn elbo(&mut self, g: &mut Graph, x: Var, target: Var, eps: Option<Tensor>) -> Elbo {
        let code = self.encode_gaussian(g, x);
        let z = match eps {
            Some(eps) => code.sample(g, eps),
            None => code.mean,
        };
        let reconstruction = self.dec.forward(g, z);
        Elbo {
            reconstruction,
            bce: g.bce_loss(reconstruction, target, Reduction::Sum),
            kl: code.kl(g),
            code,
        }
    }
}

impl Module for Vae {
    /// Evaluation: decodes the mean code, `dec(μ(x))`.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let code = self.encode_gaussian(g, x);
        self.dec.forward(g, code.mean)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("enc", &self.enc),
            ("mu", &self.mu),
            ("logvar", &self.logvar),
            ("dec", &self.dec),
        ]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("enc", &mut self.enc),
            ("mu", &mut self.mu),
            ("logvar", &mut self.logvar),
            ("dec", &mut self.dec),
        ]
    }

    /// Both heads read the trunk's features `h`; the decoder reads a code, shaped like μ.
    fn child_input_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let h = self.enc.output_shape(input);
        let z = self.mu.output_shape(&h);
        vec![input.to_vec(), h.clone(), h, z]
    }

    /// Also remembers the mode: training draws ε, evaluation decodes the mean.
    fn set_training(&mut self, training: bool) {
        self.training = training;
        for (_, child) in self.children_mut() {
            child.set_training(training);
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let h = self.enc.output_shape(input);
        self.dec.output_shape(&self.mu.output_shape(&h))
    }

    fn type_name(&self) -> String {
        "VAE".into()
    }
}

impl Autoencoder for Vae {
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var {
        self.encode_gaussian(g, x).mean
    }

    fn decode(&mut self, g: &mut Graph, z: Var) -> Var {
        self.dec.forward(g, z)
    }

    /// `(BCE + β·KL) / N`: the terms summed over pixels and latent dimensions, averaged over
    /// the batch (nats per image), with ε drawn from `rng` in training mode and `z = μ` in
    /// evaluation mode. (PyTorch's example sums over the batch too; Adam's steps hardly
    /// depend on the loss's scale.)
    fn training_loss(&mut self, g: &mut Graph, input: Var, target: Var, rng: &mut Rng) -> StepLoss {
        let eps = self
            .training
            .then(|| Tensor::normal(&[g.shape(input)[0], self.latent()], 0.0, 1.0, rng));
        let terms = self.elbo(g, input, target, eps);
        let kl = g.mul_scalar(terms.kl, self.beta);
        let sum = g.add(terms.bce, kl);
        let per_image = 1.0 / g.shape(input)[0].max(1) as f32;
        StepLoss {
            total: g.mul_scalar(sum, per_image),
            reconstruction: terms.reconstruction,
            code: terms.code.mean,
        }
    }

    fn code_shape(&self) -> Vec<usize> {
        vec![self.latent()]
    }

    fn loss_unit(&self) -> String {
        if self.beta == 1.0 {
            "negative ELBO (BCE + KL), nats per image".into()
        } else {
            format!("BCE + {}·KL, nats per image", self.beta)
        }
    }
}
