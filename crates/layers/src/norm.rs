//! Batch normalisation over the channel axis (`BatchNorm1d`, `BatchNorm2d`).

use tensor::{Tensor, Var};

use crate::graph::Graph;
use crate::module::{Module, join};
use crate::parameter::Parameter;

/// `y = (x − μ) / √(σ² + ε) · γ + β`, per channel `c` (axis 1).
///
/// - Training: `μ`, `σ²` are the batch mean and *biased* variance over every axis but 1,
///   computed on the tape (mean, sub, mul, sqrt, div), so gradients flow through them.
///   Then the running estimates move toward them with PyTorch's momentum 0.1:
///   `running_mean ← (1 − m)·running_mean + m·μ`,
///   `running_var ← (1 − m)·running_var + m·σ²·n/(n − 1)` (the *unbiased* variance, `n` the
///   number of values per channel), and `num_batches_tracked += 1`.
/// - Evaluation: `μ`, `σ²` are the running estimates, constants on the tape.
///
/// Shapes: `x [batch, c]` or `[batch, c, l]` (1-D), `[batch, c, h, w]` (2-D); `weight` (γ)
/// and `bias` (β) `[c]`, initialised to 1 and 0. Parameters: `2c`; buffers (saved, not
/// counted): `running_mean`, `running_var` `[c]`, `num_batches_tracked` `[]` (I64 on disk).
#[derive(Clone, Debug)]
pub struct BatchNorm {
    /// γ, `[c]`.
    pub weight: Parameter,
    /// β, `[c]`.
    pub bias: Parameter,
    /// Running mean, `[c]`, starts at 0.
    pub running_mean: Parameter,
    /// Running (unbiased) variance, `[c]`, starts at 1.
    pub running_var: Parameter,
    /// Batches seen in training.
    pub num_batches_tracked: Parameter,
    /// `ε`, added to the variance (PyTorch: 1e-5).
    pub eps: f32,
    /// Weight of the newest batch in the running estimates (PyTorch: 0.1).
    pub momentum: f32,
    /// 1 for BatchNorm1d, 2 for BatchNorm2d: only the name and the accepted ranks differ.
    spatial_dims: usize,
    training: bool,
}

impl BatchNorm {
    fn new(channels: usize, spatial_dims: usize) -> BatchNorm {
        BatchNorm {
            weight: Parameter::new(Tensor::ones(&[channels])),
            bias: Parameter::new(Tensor::zeros(&[channels])),
            running_mean: Parameter::buffer(Tensor::zeros(&[channels])),
            running_var: Parameter::buffer(Tensor::ones(&[channels])),
            num_batches_tracked: Parameter::counter(0.0),
            eps: 1e-5,
            momentum: 0.1,
            spatial_dims,
            training: true,
        }
    }

    /// `nn.BatchNorm1d(channels)`: input `[batch, c]` or `[batch, c, l]`.
    pub fn new_1d(channels: usize) -> BatchNorm {
        BatchNorm::new(channels, 1)
    }

    /// `nn.BatchNorm2d(channels)`: input `[batch, c, h, w]`.
    pub fn new_2d(channels: usize) -> BatchNorm {
        BatchNorm::new(channels, 2)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.weight.value.numel()
    }

    fn check(&self, shape: &[usize]) {
        let ranks: &[usize] = if self.spatial_dims == 1 {
            &[2, 3]
        } else {
            &[4]
        };
        assert!(
            ranks.contains(&shape.len()) && shape[1] == self.channels(),
            "{}: input shape {shape:?} must have rank {ranks:?} and {} channels on axis 1",
            self.type_name(),
            self.channels()
        );
    }

    /// `[1, c, 1, …]`: the shape per-channel vectors take to broadcast against `x`.
    fn channel_shape(&self, rank: usize) -> Vec<usize> {
        let mut s = vec![1; rank];
        s[1] = self.channels();
        s
    }

    /// Moves the running estimates toward this batch's statistics (no gradient).
    fn update_running(&mut self, mean: &Tensor, var: &Tensor, n: usize) {
        let m = self.momentum;
        let unbias = if n > 1 {
            n as f32 / (n - 1) as f32
        } else {
            1.0
        };
        let rm = self.running_mean.value.data_mut();
        for (r, &b) in rm.iter_mut().zip(mean.data()) {
            *r = (1.0 - m) * *r + m * b;
        }
        let rv = self.running_var.value.data_mut();
        for (r, &b) in rv.iter_mut().zip(var.data()) {
            *r = (1.0 - m) * *r + m * b * unbias;
        }
        self.num_batches_tracked.value.data_mut()[0] += 1.0;
    }
}

impl Module for BatchNorm {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let shape = g.shape(x).to_vec();
        self.check(&shape);
        let rank = shape.len();
        let axes: Vec<usize> = (0..rank).filter(|&a| a != 1).collect();
        let cshape = self.channel_shape(rank);
        let (mean, var) = if self.training {
            // μ = mean(x), σ² = mean((x − μ)²), both kept as [1, c, 1, 1].
            let mean = g.mean(x, &axes, true);
            let centered = g.sub(x, mean);
            let sq = g.mul(centered, centered);
            let var = g.mean(sq, &axes, true);
            let n = shape.iter().product::<usize>() / self.channels();
            // PyTorch refuses this too: one value per channel has no spread to normalise by.
            assert!(
                n > 1,
                "BatchNorm: expected more than 1 value per channel when training, got input {shape:?}"
            );
            let (m, v) = (g.value(mean).clone(), g.value(var).clone());
            self.update_running(&m, &v, n);
            (mean, var)
        } else {
            let mean = g.input(self.running_mean.value.reshape(&cshape));
            let var = g.input(self.running_var.value.reshape(&cshape));
            (mean, var)
        };
        // x̂ = (x − μ) / √(σ² + ε);  y = x̂·γ + β
        let centered = g.sub(x, mean);
        let var_eps = g.add_scalar(var, self.eps);
        let std = g.sqrt(var_eps);
        let x_hat = g.div(centered, std);
        let w = g.param(&self.weight);
        let b = g.param(&self.bias);
        let w = g.reshape(w, &cshape);
        let b = g.reshape(b, &cshape);
        let scaled = g.mul(x_hat, w);
        g.add(scaled, b)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join(prefix, "weight"), &self.weight);
        f(&join(prefix, "bias"), &self.bias);
        f(&join(prefix, "running_mean"), &self.running_mean);
        f(&join(prefix, "running_var"), &self.running_var);
        f(
            &join(prefix, "num_batches_tracked"),
            &self.num_batches_tracked,
        );
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        f(&join(prefix, "weight"), &mut self.weight);
        f(&join(prefix, "bias"), &mut self.bias);
        f(&join(prefix, "running_mean"), &mut self.running_mean);
        f(&join(prefix, "running_var"), &mut self.running_var);
        f(
            &join(prefix, "num_batches_tracked"),
            &mut self.num_batches_tracked,
        );
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.check(input);
        input.to_vec()
    }

    fn type_name(&self) -> String {
        format!("BatchNorm{}d", self.spatial_dims)
    }
}
