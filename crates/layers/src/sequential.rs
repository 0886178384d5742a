//! A chain of modules, each feeding the next.

use tensor::Var;

use crate::graph::Graph;
use crate::module::{Module, join};
use crate::parameter::Parameter;
use crate::summary::Row;

/// Children run in order; child `i` is named `"i"`, so its parameters are `"i.weight"`, and
/// inside a parent named `encoder`, `"encoder.i.weight"` (PyTorch's `nn.Sequential`).
/// Children can also be given names ([`Sequential::push_named`], PyTorch's
/// `nn.Sequential(OrderedDict(...))`), which is how an autoencoder gets `encoder.0.weight`:
/// `Sequential::new().push_named("encoder", enc).push_named("decoder", dec)`.
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
    /// The children with their names, in order.
    pub layers: Vec<(String, Box<dyn Module>)>,
}

impl Sequential {
    /// An empty chain (the identity).
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a child, named by its position (`"0"`, `"1"`, …).
    pub fn push(self, layer: impl Module + 'static) -> Sequential {
        self.push_boxed(Box::new(layer))
    }

    /// Appends a boxed child, named by its position.
    pub fn push_boxed(mut self, layer: Box<dyn Module>) -> Sequential {
        let name = self.layers.len().to_string();
        assert!(
            self.layers.iter().all(|(n, _)| *n != name),
            "Sequential: position name {name:?} is already taken by a named child"
        );
        self.layers.push((name, layer));
        self
    }

    /// Appends a child with a name of its own (`"encoder"`).
    pub fn push_named(mut self, name: &str, layer: impl Module + 'static) -> Sequential {
        assert!(
            !name.is_empty() && !name.contains('.') && self.layers.iter().all(|(n, _)| n != name),
            "Sequential: child name {name:?} must be non-empty, without '.', and unique"
        );
        self.layers.push((name.to_string(), Box::new(layer)));
        self
    }

    /// The child called `name`.
    pub fn child(&self, name: &str) -> Option<&dyn Module> {
        self.layers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.as_ref())
    }

    /// The child called `name`, writable.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut (dyn Module + 'static)> {
        self.layers
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.as_mut())
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
    /// Runs the layers in order. A layer followed by an activation it can apply in its own
    /// output pass (`Linear` + `ReLU`, `ConvTranspose2d` + `Sigmoid`, …) records the two as
    /// one fused op: the same values, one walk over the output instead of two (see
    /// `tensor::ops::epilogue`).
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let mut x = x;
        let mut i = 0;
        while i < self.layers.len() {
            let next_act = self.layers.get(i + 1).and_then(|(_, l)| l.as_epilogue());
            if let Some(act) = next_act
                && let Some(y) = self.layers[i].1.forward_fused(g, x, act)
            {
                x = y;
                i += 2;
                continue;
            }
            x = self.layers[i].1.forward(g, x);
            i += 1;
        }
        x
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        for (name, layer) in &self.layers {
            layer.visit(&join(prefix, name), f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        for (name, layer) in &mut self.layers {
            layer.visit_mut(&join(prefix, name), f);
        }
    }

    fn set_training(&mut self, training: bool) {
        for (_, layer) in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.layers
            .iter()
            .fold(input.to_vec(), |shape, (_, layer)| {
                layer.output_shape(&shape)
            })
    }

    fn type_name(&self) -> String {
        "Sequential".into()
    }

    fn mult_adds(&self, input: &[usize]) -> u64 {
        let mut shape = input.to_vec();
        let mut total = 0;
        for (_, layer) in &self.layers {
            total += layer.mult_adds(&shape);
            shape = layer.output_shape(&shape);
        }
        total
    }

    fn summarize(
        &self,
        name: &str,
        depth: usize,
        input: &[usize],
        rows: &mut Vec<Row>,
    ) -> Vec<usize> {
        let at = rows.len();
        let child_depth = if name.is_empty() { depth } else { depth + 1 };
        let mut shape = input.to_vec();
        for (child, layer) in &self.layers {
            shape = layer.summarize(&join(name, child), child_depth, &shape, rows);
        }
        if !name.is_empty() {
            rows.insert(at, Row::of_container(self, name, depth, input, &shape));
        }
        shape
    }
}
