//! A chain of modules, each feeding the next.

use tensor::Var;

use crate::graph::Graph;
use crate::module::{Module, join};
use crate::parameter::Parameter;
use crate::summary::Row;

/// Children run in order; child `i` is named `"i"`, so its parameters are `"i.weight"`, and
/// inside a parent named `encoder`, `"encoder.i.weight"` (PyTorch's `nn.Sequential`).
///
/// ```
/// # use layers::{Activation, Linear, Module, Sequential};
/// # use tensor::rng;
/// let mut r = rng(0);
/// let model = Sequential::new()
///     .push(Linear::new(784, 64, &mut r))
///     .push(Activation::Relu)
///     .push(Linear::new(64, 784, &mut r));
/// assert_eq!(model.num_parameters(), 784 * 64 + 64 + 64 * 784 + 784);
/// assert_eq!(model.parameter_names()[2], "2.weight");
/// ```
#[derive(Default)]
pub struct Sequential {
    /// The children, in order.
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty chain (the identity).
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a child.
    pub fn push(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a boxed child.
    pub fn push_boxed(mut self, layer: Box<dyn Module>) -> Sequential {
        self.layers.push(layer);
        self
    }

    /// The number of children.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no child.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let mut x = x;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            x = g.scoped(&i.to_string(), |g| layer.forward(g, x));
        }
        x
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_mut(&join(prefix, &i.to_string()), f);
        }
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.layers.iter().fold(input.to_vec(), |shape, layer| layer.output_shape(&shape))
    }

    fn type_name(&self) -> String {
        "Sequential".into()
    }

    fn mult_adds(&self, input: &[usize]) -> u64 {
        let mut shape = input.to_vec();
        let mut total = 0;
        for layer in &self.layers {
            total += layer.mult_adds(&shape);
            shape = layer.output_shape(&shape);
        }
        total
    }

    fn summarize(&self, name: &str, depth: usize, input: &[usize], rows: &mut Vec<Row>) -> Vec<usize> {
        let at = rows.len();
        let child_depth = if name.is_empty() { depth } else { depth + 1 };
        let mut shape = input.to_vec();
        for (i, layer) in self.layers.iter().enumerate() {
            shape = layer.summarize(&join(name, &i.to_string()), child_depth, &shape, rows);
        }
        if !name.is_empty() {
            rows.insert(at, Row::of_container(self, name, depth, input, &shape));
        }
        shape
    }
}
