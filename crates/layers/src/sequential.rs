//! A chain of modules, each feeding the next.

use tensor::Var;

use crate::graph::Graph;
use crate::module::Module;

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

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        self.layers
            .iter()
            .map(|(name, layer)| (name.as_str(), layer.as_ref()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        self.layers
            .iter_mut()
            .map(|(name, layer)| (name.as_str(), layer.as_mut() as &mut dyn Module))
            .collect()
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
}
