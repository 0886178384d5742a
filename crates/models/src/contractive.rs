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

use layers::module::join;
use layers::summary::Row;
use layers::{Activation, Flatten, Graph, Linear, Loss, Module, Parameter, Sequential, Unflatten};
use tensor::{Reduction, Rng, Transpose, Var};

use crate::autoencoder::{Autoencoder, StepLoss};

/// 784-K-784 with a sigmoid code, trained on the MSE plus `weight·‖J‖²_F` per image.
pub struct Contractive {
    /// `W [K, 784]`, `b [K]`: the encoder, named `encoder.1` like `Sequential(Flatten,
    /// Linear, Sigmoid)`.
    pub linear: Linear,
    /// `Linear(K, 784), Sigmoid, Unflatten`.
    pub decoder: Sequential,
    /// λ, the weight of the Jacobian penalty (0: a plain sigmoid autoencoder).
    pub weight: f32,
}

impl Contractive {
    /// A freshly initialised 784-`latent`-784 model with penalty weight `weight`.
    /// Parameters: `2·784·K + K + 784`.
    pub fn new(latent: usize, weight: f32, rng: &mut Rng) -> Contractive {
        let linear = Linear::new(784, latent, rng);
        let decoder = Sequential::new()
            .push(Linear::new(latent, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        Contractive {
            linear,
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
        let w = g.param(&self.linear.weight);
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

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.linear.visit(&join(prefix, "encoder.1"), f);
        self.decoder.visit(&join(prefix, "decoder"), f);
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        self.linear.visit_mut(&join(prefix, "encoder.1"), f);
        self.decoder.visit_mut(&join(prefix, "decoder"), f);
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let code = self.linear.output_shape(&Flatten.output_shape(input));
        self.decoder.output_shape(&code)
    }

    fn type_name(&self) -> String {
        "Contractive".into()
    }

    fn set_training(&mut self, training: bool) {
        self.decoder.set_training(training);
    }

    fn mult_adds(&self, input: &[usize]) -> u64 {
        let flat = Flatten.output_shape(input);
        let code = self.linear.output_shape(&flat);
        self.linear.mult_adds(&flat) + self.decoder.mult_adds(&code)
    }

    fn summarize(
        &self,
        name: &str,
        depth: usize,
        input: &[usize],
        rows: &mut Vec<Row>,
    ) -> Vec<usize> {
        let child = if name.is_empty() { depth } else { depth + 1 };
        let at = rows.len();
        // The encoder as the Sequential(Flatten, Linear, Sigmoid) its names describe.
        let enc = join(name, "encoder");
        let flat = Flatten.summarize(&join(&enc, "0"), child + 1, input, rows);
        let code = self
            .linear
            .summarize(&join(&enc, "1"), child + 1, &flat, rows);
        Activation::Sigmoid.summarize(&join(&enc, "2"), child + 1, &code, rows);
        rows.insert(
            at,
            Row {
                name: enc,
                type_name: "Sequential".into(),
                depth: child,
                output_shape: code.clone(),
                params: self.linear.num_parameters(),
                mult_adds: self.linear.mult_adds(&flat),
                leaf: false,
            },
        );
        let out = self
            .decoder
            .summarize(&join(name, "decoder"), child, &code, rows);
        if !name.is_empty() {
            rows.insert(at, Row::of_container(self, name, depth, input, &out));
        }
        out
    }
}

impl Autoencoder for Contractive {
    /// `h = σ(flatten(x)·Wᵀ + b)`.
    fn encode(&mut self, g: &mut Graph, x: Var) -> Var {
        let batch = g.shape(x)[0];
        let flat = g.reshape(x, &[batch, 784]);
        let w = g.param(&self.linear.weight);
        let pre = g.matmul_t(flat, w, Transpose { a: false, b: true });
        let b = self.linear.bias.as_ref().expect("built with a bias");
        let b = g.param(b);
        let pre = g.add(pre, b);
        g.sigmoid(pre)
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
        vec![self.linear.features().1]
    }

    fn loss_unit(&self) -> String {
        format!("MSE per pixel + {} × ‖J‖²_F per image", self.weight)
    }
}
