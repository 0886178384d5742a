//! Dropout: random zeroing during training, identity during evaluation.

use tensor::{Rng, Tensor, Var, rng};

use crate::graph::Graph;
use crate::module::Module;

/// In training, `y = x ⊙ m / (1 − p)` with `m_i ~ Bernoulli(1 − p)` drawn from the layer's
/// own seeded generator, so the expected value of `y` is `x`; in evaluation, `y = x`.
/// Backward: `dx = dy ⊙ m / (1 − p)` (the mask is a constant on the tape). `p = 1` zeroes
/// everything, as in PyTorch.
#[derive(Debug)]
pub struct Dropout {
    /// Probability of zeroing an element.
    pub p: f32,
    rng: Rng,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p`, its masks drawn from a generator seeded with `seed`.
    /// Starts in training mode.
    pub fn new(p: f32, seed: u64) -> Dropout {
        Dropout::with_rng(p, rng(seed))
    }

    /// Dropout drawing its masks from `rng`.
    pub fn with_rng(p: f32, rng: Rng) -> Dropout {
        assert!(
            (0.0..=1.0).contains(&p),
            "Dropout: p = {p} is not in [0, 1]"
        );
        Dropout {
            p,
            rng,
            training: true,
        }
    }

    /// The mask for a tensor of this shape: `0` with probability `p`, else `1/(1 − p)`.
    fn mask(&mut self, shape: &[usize]) -> Tensor {
        let keep = 1.0 - self.p;
        let scale = if keep > 0.0 { 1.0 / keep } else { 0.0 };
        let u = Tensor::uniform(shape, 0.0, 1.0, &mut self.rng);
        u.map(|v| if v < keep { scale } else { 0.0 })
    }
}

impl Module for Dropout {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        if !self.training || self.p == 0.0 {
            return x;
        }
        let mask = self.mask(g.shape(x));
        let m = g.input(mask);
        g.mul(x, m)
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }

    fn type_name(&self) -> String {
        "Dropout".into()
    }
}
