//! What every autoencoder family offers the trainer and the experiments: a code, a decoder,
//! and the loss of one training step ([`Autoencoder`]); and [`Plain`], the lab's
//! encoder-decoder trained on its reconstruction alone (or with a sparsity penalty).

use layers::{Graph, Loss, Module, Sequential};
use tensor::{Reduction, Rng, Var};

use crate::sparse;

/// The loss of one training step, with what the experiments read off it.
#[derive(Clone, Copy, Debug)]
pub struct StepLoss {
    /// What the optimizer minimises (one element).
    pub total: Var,
    /// The reconstruction of the batch, `[batch, 1, 28, 28]`.
    pub reconstruction: Var,
    /// The code of the batch (for the VAE: the mean of q(z|x)).
    pub code: Var,
}

/// An autoencoder of any family.
///
/// [`Module::forward`] is the evaluation path, `decode(encode(x))` with no randomness (the
/// VAE decodes its mean code); [`Autoencoder::training_loss`] is the training path, which
/// may draw from the run's generator (the VAE's ε), so that a resumed run draws what the
/// uninterrupted one would have.
pub trait Autoencoder: Module {
    /// The code of a batch of images.
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var;

    /// Images from codes.
    fn decode(&mut self, g: &mut Graph, z: Var) -> Var;

    /// Records the loss of one training step: `input` goes in, `target` should come out.
    fn training_loss(&mut self, g: &mut Graph, input: Var, target: Var, rng: &mut Rng) -> StepLoss;

    /// What [`Autoencoder::training_loss`] measures, for tables and logs (`"MSE per pixel"`).
    fn loss_unit(&self) -> String;

    /// The shape of one image's code (`[64]`, `[64, 1, 1]`, `[8, 4, 4]`): what
    /// [`Autoencoder::decode`] takes, batch axis aside.
    fn code_shape(&self) -> Vec<usize>;
}

/// An encoder-decoder [`Sequential`] (children `encoder` and `decoder`) trained on a
/// reconstruction loss averaged over pixels, plus, when `sparsity > 0`, the L1 penalty of
/// [`sparse::l1_penalty`] on its code.
pub struct Plain {
    /// `Sequential { encoder, decoder }`.
    pub net: Sequential,
    /// The reconstruction loss.
    pub loss: Loss,
    /// The weight of the L1 penalty on the code (0: none).
    pub sparsity: f32,
    /// One input image's shape, `[1, 28, 28]` unless the model reads another.
    pub input_shape: [usize; 3],
}

impl Plain {
    /// `net` trained on `loss`, without penalty. Panics if `net` lacks an `encoder` or a
    /// `decoder` child (every builder of this crate has both).
    pub fn new(net: Sequential, loss: Loss) -> Plain {
        assert!(
            net.child("encoder").is_some() && net.child("decoder").is_some(),
            "Plain: the network needs children named encoder and decoder"
        );
        assert!(
            loss != Loss::GaussianKl,
            "Plain: the KL compares a code's Gaussian with the prior, not an image with its target"
        );
        Plain {
            net,
            loss,
            sparsity: 0.0,
            input_shape: [1, 28, 28],
        }
    }

    /// The same model reading inputs of another shape (a super-resolution model's 14×14).
    pub fn with_input_shape(self, input_shape: [usize; 3]) -> Plain {
        Plain {
            input_shape,
            ..self
        }
    }

    /// The same model with an L1 penalty of weight `weight` on its code.
    pub fn with_sparsity(self, weight: f32) -> Plain {
        Plain {
            sparsity: weight,
            ..self
        }
    }

    fn part(&mut self, name: &str) -> &mut dyn Module {
        self.net.child_mut(name).expect("checked in Plain::new")
    }
}

impl Module for Plain {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        self.net.forward(g, x)
    }
    /// The net's own children (`encoder`, `decoder`): this model *is* its net, so their
    /// names carry no extra prefix.
    fn children(&self) -> Vec<(&str, &dyn Module)> {
        self.net.children()
    }
    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        self.net.children_mut()
    }
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.net.output_shape(input)
    }
    fn type_name(&self) -> String {
        self.net.type_name()
    }
}

impl Autoencoder for Plain {
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var {
        self.part("encoder").forward(g, x)
    }

    fn decode(&mut self, g: &mut Graph, z: Var) -> Var {
        self.part("decoder").forward(g, z)
    }

    fn training_loss(&mut self, g: &mut Graph, input: Var, target: Var, _: &mut Rng) -> StepLoss {
        let code = self.encode(g, input);
        let reconstruction = self.decode(g, code);
        let mut total = self.loss.apply(g, reconstruction, target, Reduction::Mean);
        if self.sparsity > 0.0 {
            let penalty = sparse::l1_penalty(g, code, self.sparsity);
            total = g.add(total, penalty);
        }
        StepLoss {
            total,
            reconstruction,
            code,
        }
    }

    fn code_shape(&self) -> Vec<usize> {
        let encoder = self.net.child("encoder").expect("checked in Plain::new");
        let [c, h, w] = self.input_shape;
        encoder.output_shape(&[1, c, h, w])[1..].to_vec()
    }

    fn loss_unit(&self) -> String {
        let base = format!("{} per pixel", self.loss.to_string().to_uppercase());
        if self.sparsity > 0.0 {
            format!("{base} + {} × L1 of the code per image", self.sparsity)
        } else {
            base
        }
    }
}
