//! The contractive autoencoder (Rifai et al. 2011): reconstruction plus `λ·‖J_f(x)‖²_F`, the
//! squared Frobenius norm of the encoder's Jacobian, which makes the code insensitive to
//! small moves of the input in directions the data does not vary along.
//!
//! For a one-layer sigmoid encoder `h = σ(W·x + b)`, `∂h_j/∂x_i = h_j(1 − h_j)·W_ji`, so
//!
//! `‖J‖²_F = Σ_j (h_j(1 − h_j))² · Σ_i W_ji²`,
//!
//! a closed form recorded on the tape with ordinary ops (no second derivative needed), and
//! differentiated by the backward pass like the rest of the loss.

use layers::{Activation, Flatten, Graph, Linear, Loss, Module, Sequential, Unflatten};
use tensor::{Reduction, Rng, Transpose, Var};

use crate::autoencoder::{Autoencoder, StepLoss};

/// `h = σ(flatten(x)·Wᵀ + b)`: the one-layer sigmoid encoder whose Jacobian has the closed
/// form above. Its children are those of PyTorch's `Sequential(Flatten(), Linear(784, K),
/// Sigmoid())`, so its weight is `encoder.1.weight` there and here.
pub struct SigmoidEncoder {
    /// `W [K, 784]`, `b [K]`.
    pub linear: Linear,
    /// Child `"0"`, `[N, 1, 28, 28]` to `[N, 784]`.
    flatten: Flatten,
    /// Child `"2"`.
    sigmoid: Activation,
}

impl SigmoidEncoder {
    /// The encoder around `linear` (`784 → K`, with a bias).
    pub fn new(linear: Linear) -> SigmoidEncoder {
        assert!(
            linear.features().0 == 784 && linear.bias.is_some(),
            "SigmoidEncoder: the linear layer maps 784 pixels, with a bias"
        );
        SigmoidEncoder {
            linear,
            flatten: Flatten,
            sigmoid: Activation::Sigmoid,
        }
    }
}

impl Module for SigmoidEncoder {
    /// `h = σ(flatten(x)·Wᵀ + b)`, recorded op by op.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let batch = g.shape(x)[0];
        let flat = g.reshape(x, &[batch, 784]);
        let w = g.param(&self.linear.weight);
        let pre = g.matmul_t(flat, w, Transpose { a: false, b: true });
        let b = self
            .linear
            .bias
            .as_ref()
            .expect("checked in SigmoidEncoder::new");
        let b = g.param(b);
        let pre = g.add(pre, b);
        g.sigmoid(pre)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("0", &self.flatten),
            ("1", &self.linear),
            ("2", &self.sigmoid),
        ]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("0", &mut self.flatten),
            ("1", &mut self.linear),
            ("2", &mut self.sigmoid),
        ]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.linear.output_shape(&self.flatten.output_shape(input))
    }

    fn type_name(&self) -> String {
        "Sequential".into()
    }
}

/// 784-K-784 with a sigmoid code, trained on the MSE plus `weight·‖J‖²_F` per image.
pub struct Contractive {
    /// `Flatten, Linear(784, K), Sigmoid`.
    pub encoder: SigmoidEncoder,
    /// `Linear(K, 784), Sigmoid, Unflatten`.
    pub decoder: Sequential,
    /// λ, the weight of the Jacobian penalty (0: a plain sigmoid autoencoder).
    pub weight: f32,
}

impl Contractive {
    /// A freshly initialised 784-`latent`-784 model with penalty weight `weight`.
    /// Parameters: `2·784·K + K + 784`.
    pub fn new(latent: usize, weight: f32, rng: &mut Rng) -> Contractive {
        let encoder = SigmoidEncoder::new(Linear::new(784, latent, rng));
        let decoder = Sequential::new()
            .push(Linear::new(latent, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        Contractive {
            encoder,
            decoder,
            weight,
        }
    }

    /// `(1/N) Σ_n ‖J_f(x_n)‖²_F` from the codes `h [N, K]` of a batch, by the closed form.
    pub fn jacobian_penalty(&mut self, g: &mut Graph, h: Var) -> Var {
        let batch = g.shape(h)[0].max(1);
        // (h(1 − h))², [N, K]
        let one_minus = g.neg(h);
        let one_minus = g.add_scalar(one_minus, 1.0);
        let slope = g.mul(h, one_minus);
        let slope_sq = g.square(slope);
        // Σ_i W_ji², [K]
        let w = g.param(&self.encoder.linear.weight);
        let w_sq = g.square(w);
        let row_norms = g.sum(w_sq, &[1], false);
        let per_unit = g.mul(slope_sq, row_norms);
        let total = g.sum_all(per_unit);
        g.mul_scalar(total, 1.0 / batch as f32)
    }
}

impl Module for Contractive {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let h = self.encode(g, x);
        self.decoder.forward(g, h)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![("encoder", &self.encoder), ("decoder", &self.decoder)]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("encoder", &mut self.encoder),
            ("decoder", &mut self.decoder),
        ]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.decoder.output_shape(&self.encoder.output_shape(input))
    }

    fn type_name(&self) -> String {
        "Contractive".into()
    }
}

impl Autoencoder for Contractive {
    /// `h = σ(flatten(x)·Wᵀ + b)`.
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var {
        self.encoder.forward(g, x)
    }

    fn decode(&mut self, g: &mut Graph, z: Var) -> Var {
        self.decoder.forward(g, z)
    }

    fn training_loss(&mut self, g: &mut Graph, input: Var, target: Var, _: &mut Rng) -> StepLoss {
        let code = self.encode(g, input);
        let reconstruction = self.decoder.forward(g, code);
        let mut total = Loss::Mse.apply(g, reconstruction, target, Reduction::Mean);
        if self.weight > 0.0 {
            let penalty = self.jacobian_penalty(g, code);
            let penalty = g.mul_scalar(penalty, self.weight);
            total = g.add(total, penalty);
        }
        StepLoss {
            total,
            reconstruction,
            code,
        }
    }

    fn code_shape(&self) -> Vec<usize> {
        vec![self.encoder.linear.features().1]
    }

    fn loss_unit(&self) -> String {
        format!("MSE per pixel + {} × ‖J‖²_F per image", self.weight)
    }
}
