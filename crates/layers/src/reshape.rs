//! Layers that only change the shape: [`Flatten`] and [`Unflatten`].

use tensor::Var;

use crate::graph::Graph;
use crate::module::Module;

/// `[batch, d1, d2, …] → [batch, d1·d2·…]` (PyTorch's `nn.Flatten()`, `start_dim = 1`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Module for Flatten {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let shape = self.output_shape(g.shape(x));
        g.reshape(x, &shape)
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        assert!(!input.is_empty(), "Flatten: input must have a batch axis");
        vec![input[0], input[1..].iter().product()]
    }

    fn type_name(&self) -> String {
        "Flatten".into()
    }
}

/// `[batch, d] → [batch, s1, s2, …]` with `Π s = d` (PyTorch's `nn.Unflatten(1, shape)`);
/// more generally, reshapes every sample to `shape`.
#[derive(Clone, Debug)]
pub struct Unflatten {
    /// The per-sample shape.
    pub shape: Vec<usize>,
}

impl Unflatten {
    /// Reshapes each sample to `shape`.
    pub fn new(shape: &[usize]) -> Unflatten {
        Unflatten {
            shape: shape.to_vec(),
        }
    }
}

impl Module for Unflatten {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let shape = self.output_shape(g.shape(x));
        g.reshape(x, &shape)
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let per_sample: usize = input.iter().skip(1).product();
        assert!(
            !input.is_empty() && per_sample == self.shape.iter().product::<usize>(),
            "Unflatten: input {input:?} cannot be reshaped to [batch, {:?}]",
            self.shape
        );
        let mut out = vec![input[0]];
        out.extend(&self.shape);
        out
    }

    fn type_name(&self) -> String {
        "Unflatten".into()
    }
}
