//! The adversarial autoencoder (Makhzani et al. 2015): an autoencoder whose 2-D code is
//! made to look like samples of a chosen prior by a discriminator, as in a GAN, instead of
//! by a KL term. Any prior one can sample works, even one without a density formula.
//!
//! Each training step has two phases, each with its own optimizer:
//!
//! 1. **Reconstruction**: encoder and decoder on the reconstruction loss (BCE per pixel).
//! 2. **Regularization**: first the discriminator learns to tell prior samples (label 1)
//!    from codes of the batch (label 0); then the encoder learns to fool it (its codes
//!    labelled 1), through the discriminator, whose weights do not move in that half.
//!
//! With [`Aae::conditional`], the discriminator also sees the image's digit as a one-hot
//! vector, and the prior sample it is shown for digit `d` comes from component `d` of the
//! mixture: each digit is pushed to its own component.

use layers::optim::{Adam, Optimizer};
use layers::{
    Activation, Flatten, Graph, Linear, Loss, Module, Sequential, StepError, Unflatten, infer,
};
use rand_distr::{Distribution, Normal, Uniform};
use tensor::{Reduction, Rng, Tensor, Var};

use crate::autoencoder::{Autoencoder, StepLoss};

/// The code size: 2, so codes and prior can be drawn.
pub const CODE: usize = 2;
/// Digits, for the conditional discriminator's one-hot input.
pub const CLASSES: usize = 10;
/// Components of the mixture prior, on a circle.
pub const COMPONENTS: usize = 10;
/// The radius of that circle.
pub const MIXTURE_RADIUS: f32 = 4.0;
/// The standard deviation of each component.
pub const MIXTURE_STD: f32 = 0.5;
/// The uniform prior covers `[−UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH]²`.
pub const UNIFORM_HALF_WIDTH: f32 = 2.0;

/// The distribution the codes are made to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prior {
    /// `N(0, I)`.
    Gaussian,
    /// Ten Gaussians of standard deviation [`MIXTURE_STD`] at equal angles on a circle of
    /// radius [`MIXTURE_RADIUS`], equally likely.
    Mixture,
    /// Uniform on the square of half-width [`UNIFORM_HALF_WIDTH`].
    Uniform,
}

impl Prior {
    /// Every prior, in the report's order.
    pub const ALL: [Prior; 3] = [Prior::Gaussian, Prior::Mixture, Prior::Uniform];

    /// A short name (`"gaussian"`).
    pub fn id(self) -> &'static str {
        match self {
            Prior::Gaussian => "gaussian",
            Prior::Mixture => "mixture",
            Prior::Uniform => "uniform",
        }
    }

    /// How the report names it.
    pub fn title(self) -> String {
        match self {
            Prior::Gaussian => "N(0, I)".into(),
            Prior::Mixture => {
                format!("10 Gaussians (σ {MIXTURE_STD}) on a circle of radius {MIXTURE_RADIUS}")
            }
            Prior::Uniform => format!("uniform on [−{0}, {0}]²", UNIFORM_HALF_WIDTH),
        }
    }

    /// The mean of mixture component `k`: `r·(cos 2πk/10, sin 2πk/10)`.
    pub fn component_mean(k: usize) -> [f32; 2] {
        let angle = 2.0 * std::f32::consts::PI * k as f32 / COMPONENTS as f32;
        [MIXTURE_RADIUS * angle.cos(), MIXTURE_RADIUS * angle.sin()]
    }

    /// `n` samples `[n, 2]`. For the mixture, sample `i` comes from component
    /// `components[i]` when given (the conditional case), else from a random one.
    pub fn sample(self, n: usize, components: Option<&[usize]>, rng: &mut Rng) -> Tensor {
        let normal = Normal::new(0.0f32, 1.0).expect("a valid normal");
        let mut data = Vec::with_capacity(n * CODE);
        match self {
            Prior::Gaussian => data.extend((0..n * CODE).map(|_| normal.sample(rng))),
            Prior::Uniform => {
                let u = Uniform::new(-UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH).expect("valid");
                data.extend((0..n * CODE).map(|_| u.sample(rng)));
            }
            Prior::Mixture => {
                let pick = Uniform::new(0, COMPONENTS).expect("valid");
                for i in 0..n {
                    let k = components.map_or_else(|| pick.sample(rng), |c| c[i]);
                    let [mx, my] = Prior::component_mean(k);
                    data.push(mx + MIXTURE_STD * normal.sample(rng));
                    data.push(my + MIXTURE_STD * normal.sample(rng));
                }
            }
        }
        Tensor::from_vec(&[n, CODE], data)
    }
}

/// The losses of one training step, each a batch mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseLosses {
    /// The reconstruction phase's BCE per pixel.
    pub reconstruction: f32,
    /// The discriminator's BCE on prior samples and codes (ln 4 ≈ 1.386 when it is at
    /// chance, summed over the two halves).
    pub discriminator: f32,
    /// The encoder's BCE for fooling it (ln 2 ≈ 0.693 at chance).
    pub generator: f32,
}

/// The three optimizers of a step: one per phase.
pub struct AaeOptimizers {
    /// Encoder and decoder, on the reconstruction.
    pub reconstruction: Adam,
    /// The discriminator.
    pub discriminator: Adam,
    /// The encoder, on fooling the discriminator.
    pub generator: Adam,
}

impl AaeOptimizers {
    /// Three Adams with learning rate `lr`. (At half that rate for the adversarial halves,
    /// the conditional discriminator wins the game after ten epochs on the sample: 53% of
    /// the codes near their digit's component instead of 86%.)
    pub fn new(lr: f32) -> AaeOptimizers {
        AaeOptimizers {
            reconstruction: Adam::new(lr),
            discriminator: Adam::new(lr),
            generator: Adam::new(lr),
        }
    }

    /// The three, by name (what a checkpoint saves each under).
    pub fn named(&self) -> Vec<(&'static str, &Adam)> {
        vec![
            ("reconstruction", &self.reconstruction),
            ("discriminator", &self.discriminator),
            ("generator", &self.generator),
        ]
    }

    /// The three, by name, writable (resuming from a checkpoint).
    pub fn named_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![
            ("reconstruction", &mut self.reconstruction),
            ("discriminator", &mut self.discriminator),
            ("generator", &mut self.generator),
        ]
    }

    /// The same with β₁ = `beta1` for the two adversarial Adams (the discriminator and the
    /// encoder fooling it), the reconstruction's left at 0.9. GANs are commonly trained with
    /// β₁ = 0.5 (Radford et al. 2015): less momentum, so neither player overshoots the
    /// other's last move.
    pub fn with_game_beta1(lr: f32, beta1: f32) -> AaeOptimizers {
        let mut opts = AaeOptimizers::new(lr);
        for opt in [&mut opts.discriminator, &mut opts.generator] {
            opt.betas.0 = beta1;
        }
        opts
    }
}

/// Encoder (784-256-256-2), decoder (2-256-256-784) and discriminator on the code
/// (2 [+ 10]-128-128-1, a logit), ReLU everywhere but the outputs.
pub struct Aae {
    /// Images to codes `[batch, 2]`.
    pub encoder: Sequential,
    /// Codes to images.
    pub decoder: Sequential,
    /// Codes (and, if conditional, one-hot digits) to the logit of "a prior sample".
    pub discriminator: Sequential,
    /// What the codes should look like.
    pub prior: Prior,
    /// Whether the discriminator sees the digit (and the prior sample comes from that digit's
    /// mixture component).
    pub conditional: bool,
}

impl Aae {
    /// A freshly initialised AAE. A conditional one needs the mixture prior.
    pub fn new(prior: Prior, conditional: bool, rng: &mut Rng) -> Aae {
        assert!(
            !conditional || prior == Prior::Mixture,
            "Aae: the conditional variant uses the mixture prior (one component per digit)"
        );
        let hidden = 256;
        let encoder = Sequential::new()
            .push(Flatten)
            .push(Linear::new(784, hidden, rng))
            .push(Activation::Relu)
            .push(Linear::new(hidden, hidden, rng))
            .push(Activation::Relu)
            .push(Linear::new(hidden, CODE, rng));
        let decoder = Sequential::new()
            .push(Linear::new(CODE, hidden, rng))
            .push(Activation::Relu)
            .push(Linear::new(hidden, hidden, rng))
            .push(Activation::Relu)
            .push(Linear::new(hidden, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        let d_in = CODE + if conditional { CLASSES } else { 0 };
        let discriminator = critic(d_in, rng);
        Aae {
            encoder,
            decoder,
            discriminator,
            prior,
            conditional,
        }
    }

    /// What the discriminator reads of codes `z`: `z`, with the one-hot digits beside it
    /// when conditional.
    fn judged(&self, g: &mut Graph, z: Var, labels: &[usize]) -> Var {
        if self.conditional {
            let one_hot = g.input(one_hot(labels));
            g.concat(&[z, one_hot], 1)
        } else {
            z
        }
    }

    /// One training step on the images `x [N, 1, 28, 28]` with digits `labels` (read only
    /// by the conditional variant): [`Aae::reconstruction_step`], then
    /// [`Aae::discriminator_step`], then [`Aae::generator_step`]. Prior samples are drawn
    /// from `rng`.
    pub fn train_step(
        &mut self,
        opts: &mut AaeOptimizers,
        x: &Tensor,
        labels: &[usize],
        rng: &mut Rng,
    ) -> Result<PhaseLosses, StepError> {
        assert_eq!(
            labels.len(),
            x.shape()[0],
            "Aae::train_step: one label per image"
        );
        let reconstruction = self.reconstruction_step(&mut opts.reconstruction, x)?;
        let discriminator = self.discriminator_step(&mut opts.discriminator, x, labels, rng)?;
        let generator = self.generator_step(&mut opts.generator, x, labels)?;
        Ok(PhaseLosses {
            reconstruction,
            discriminator,
            generator,
        })
    }

    /// The regularization phase's first half: the discriminator learns to tell prior samples
    /// (label 1, drawn from `rng`) from the batch's codes (label 0, computed without a tape,
    /// so nothing flows back to the encoder). Only the discriminator steps; returns its loss.
    pub fn discriminator_step(
        &mut self,
        opt: &mut Adam,
        x: &Tensor,
        labels: &[usize],
        rng: &mut Rng,
    ) -> Result<f32, StepError> {
        let n = x.shape()[0];
        let codes = infer(&mut self.encoder, x.clone());
        let samples = self
            .prior
            .sample(n, self.conditional.then_some(labels), rng);
        let mut g = Graph::new();
        let real = g.input(samples);
        let fake = g.input(codes);
        let real = self.judged(&mut g, real, labels);
        let fake = self.judged(&mut g, fake, labels);
        critic_step(&mut self.discriminator, opt, g, real, fake)
    }

    /// The regularization phase's second half: the encoder learns to fool the discriminator
    /// (its codes labelled 1). The gradients flow through the discriminator, but only the
    /// encoder steps; returns the loss.
    pub fn generator_step(
        &mut self,
        opt: &mut Adam,
        x: &Tensor,
        labels: &[usize],
    ) -> Result<f32, StepError> {
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let z = self.encoder.forward(&mut g, xv);
        let judged = self.judged(&mut g, z, labels);
        let loss = fooling_loss(&mut self.discriminator, &mut g, judged);
        let value = g.value(loss).item();
        let grads = g.backward(loss);
        opt.step(&mut self.encoder, &grads)?;
        Ok(value)
    }
}

impl Aae {
    /// The reconstruction phase alone: encoder and decoder on the BCE per pixel of `x`;
    /// returns that loss. (With nothing else, this trains a plain autoencoder of the same
    /// shape: the baseline the priors are compared against.)
    pub fn reconstruction_step(&mut self, opt: &mut Adam, x: &Tensor) -> Result<f32, StepError> {
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let z = self.encoder.forward(&mut g, xv);
        let y = self.decoder.forward(&mut g, z);
        let loss = Loss::Bce.apply(&mut g, y, xv, Reduction::Mean);
        let value = g.value(loss).item();
        let grads = g.backward(loss);
        opt.step(&mut self.encoder, &grads)?;
        opt.step(&mut self.decoder, &grads)?;
        Ok(value)
    }
}

/// A discriminator on `inputs` values: `inputs`-128-128-1, ReLU between, a logit out (the
/// plain, conditional and supervised AAEs all judge their codes with one).
pub fn critic(inputs: usize, rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Linear::new(inputs, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, 1, rng))
}

/// The discriminator's half of the game, on a graph `g` holding what it reads of prior
/// samples (`real`, label 1) and of codes (`fake`, label 0), both off the encoder's tape:
/// `L = BCE(critic(real), 1) + BCE(critic(fake), 0)`, ln 4 ≈ 1.386 when it cannot tell them
/// apart. Only `critic` steps; returns `L`.
pub fn critic_step(
    critic: &mut Sequential,
    opt: &mut Adam,
    mut g: Graph,
    real: Var,
    fake: Var,
) -> Result<f32, StepError> {
    let n = g.shape(real)[0];
    let real_logits = critic.forward(&mut g, real);
    let fake_logits = critic.forward(&mut g, fake);
    let ones = g.input(Tensor::ones(&[n, 1]));
    let zeros = g.input(Tensor::zeros(&[n, 1]));
    let real_loss = g.bce_with_logits_loss(real_logits, ones, Reduction::Mean);
    let fake_loss = g.bce_with_logits_loss(fake_logits, zeros, Reduction::Mean);
    let loss = g.add(real_loss, fake_loss);
    let value = g.value(loss).item();
    let grads = g.backward(loss);
    opt.step(critic, &grads)?;
    Ok(value)
}

/// The encoder's half of the game: `BCE(critic(judged), 1)`, its codes called prior samples
/// (ln 2 ≈ 0.693 at chance). The caller steps the encoder alone on its gradients.
pub fn fooling_loss(critic: &mut Sequential, g: &mut Graph, judged: Var) -> Var {
    let n = g.shape(judged)[0];
    let logits = critic.forward(g, judged);
    let ones = g.input(Tensor::ones(&[n, 1]));
    g.bce_with_logits_loss(logits, ones, Reduction::Mean)
}

/// `[n, 10]` one-hot rows.
pub fn one_hot(labels: &[usize]) -> Tensor {
    let mut t = Tensor::zeros(&[labels.len(), CLASSES]);
    for (i, &l) in labels.iter().enumerate() {
        assert!(l < CLASSES, "one_hot: label {l} is not a digit");
        t.data_mut()[i * CLASSES + l] = 1.0;
    }
    t
}

impl Module for Aae {
    /// Evaluation: `decoder(encoder(x))`.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let z = self.encoder.forward(g, x);
        self.decoder.forward(g, z)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("encoder", &self.encoder),
            ("decoder", &self.decoder),
            ("discriminator", &self.discriminator),
        ]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("encoder", &mut self.encoder),
            ("decoder", &mut self.decoder),
            ("discriminator", &mut self.discriminator),
        ]
    }

    /// The decoder reads the code `z`; the discriminator reads it too, with the one-hot digit
    /// beside it when conditional.
    fn child_input_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let z = self.encoder.output_shape(input);
        let judged = vec![z[0], z[1] + if self.conditional { CLASSES } else { 0 }];
        vec![input.to_vec(), z, judged]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.decoder.output_shape(&self.encoder.output_shape(input))
    }

    fn type_name(&self) -> String {
        "AAE".into()
    }
}

impl Autoencoder for Aae {
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var {
        self.encoder.forward(g, x)
    }

    fn decode(&mut self, g: &mut Graph, z: Var) -> Var {
        self.decoder.forward(g, z)
    }

    /// The reconstruction phase's loss alone (the adversarial phases need three optimizers:
    /// [`Aae::train_step`]).
    fn training_loss(&mut self, g: &mut Graph, input: Var, target: Var, _: &mut Rng) -> StepLoss {
        let code = self.encoder.forward(g, input);
        let reconstruction = self.decoder.forward(g, code);
        StepLoss {
            total: Loss::Bce.apply(g, reconstruction, target, Reduction::Mean),
            reconstruction,
            code,
        }
    }

    fn code_shape(&self) -> Vec<usize> {
        vec![CODE]
    }

    fn loss_unit(&self) -> String {
        "BCE per pixel".into()
    }
}
