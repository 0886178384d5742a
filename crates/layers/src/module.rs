//! The [`Module`] trait: what every layer and model implements.

use tensor::{Epilogue, Tensor, Var};

use crate::graph::Graph;
use crate::parameter::Parameter;
use crate::summary::Row;

/// `prefix.name`, or `name` alone when the prefix is empty: how parameter names are built
/// (`"encoder" + "0" + "weight"` → `"encoder.0.weight"`, PyTorch's state-dict keys).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A layer or a model: a forward pass on a [`Graph`], named parameters, a training mode, and
/// what the summary table needs (type name, output shape, multiply-adds).
///
/// In [`Module::forward`] a layer puts each parameter on the tape with [`Graph::param`]; the
/// gradients and the optimizer find it again by its id, so no name is spelled there.
/// [`Module::visit`] names the parameters like PyTorch's `state_dict` keys, for files and the
/// summary: a layer calls its own tensors `weight`, `bias`, `running_mean`…; containers
/// prefix their children's names with the child's name (`"0"`, `"1"` in a
/// [`crate::Sequential`]).
pub trait Module {
    /// Records the forward pass of a batch `x` on `g` and returns the output. Takes `&mut
    /// self` because some layers update state as they run (BatchNorm's running statistics,
    /// Dropout's random generator), as in PyTorch.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var;

    /// This layer as an activation that a preceding op can apply in its own output pass
    /// ([`Epilogue`]), if it is one. A container uses it to fuse `Conv2d` + `ReLU`.
    fn as_epilogue(&self) -> Option<Epilogue> {
        None
    }

    /// Records `act(self(x))` as one fused op, if this layer can (Linear, Conv2d,
    /// ConvTranspose2d); `None` (the default) leaves the caller to record the two apart.
    fn forward_fused(&mut self, _g: &mut Graph, _x: Var, _act: Epilogue) -> Option<Var> {
        None
    }

    /// Calls `f(full_name, parameter)` for every parameter and buffer, in a fixed order.
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Parameter)) {}

    /// Like [`Module::visit`], with write access (optimizers, loading).
    fn visit_mut(&mut self, _prefix: &str, _f: &mut dyn FnMut(&str, &mut Parameter)) {}

    /// Switches between training (`true`) and evaluation behaviour (Dropout, BatchNorm).
    fn set_training(&mut self, _training: bool) {}

    /// The output shape for an input of shape `input` (batch axis included).
    fn output_shape(&self, input: &[usize]) -> Vec<usize>;

    /// The PyTorch class name (`"Linear"`, `"Conv2d"`, `"Sequential"`).
    fn type_name(&self) -> String;

    /// Multiply-adds for one sample (batch axis of `input` ignored): the size of the matrix
    /// products. Layers without one (activations, pooling, reshapes) count 0.
    fn mult_adds(&self, _input: &[usize]) -> u64 {
        0
    }

    /// Appends this module's rows to a summary table and returns its output shape. Leaves
    /// add one row; containers override this to add a row for themselves and recurse.
    fn summarize(
        &self,
        name: &str,
        depth: usize,
        input: &[usize],
        rows: &mut Vec<Row>,
    ) -> Vec<usize> {
        let output = self.output_shape(input);
        rows.push(Row::of_leaf(self, name, depth, input, &output));
        output
    }

    /// Training mode on (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode on (PyTorch's `model.eval()`).
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// The number of elements in learnable parameters (buffers excluded, like PyTorch's
    /// `sum(p.numel() for p in model.parameters())`).
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, p| {
            if p.is_learnable() {
                n += p.value.numel();
            }
        });
        n
    }

    /// The number of elements in parameters an optimizer updates.
    fn num_trainable_parameters(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, p| {
            if p.is_trainable() {
                n += p.value.numel();
            }
        });
        n
    }

    /// Every parameter and buffer, by full name, in visiting order (copies).
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, p| {
            out.push((name.to_string(), p.value.clone()))
        });
        out
    }

    /// The full names of every parameter and buffer, in visiting order.
    fn parameter_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit("", &mut |name, _| out.push(name.to_string()));
        out
    }

    /// Freezes (`false`) or unfreezes every learnable parameter.
    fn set_trainable(&mut self, trainable: bool) {
        self.visit_mut("", &mut |_, p| {
            if p.is_learnable() {
                p.trainable = trainable;
            }
        });
    }
}

/// Runs `module` on `x` without recording (evaluation mode is the caller's choice) and
/// returns the output tensor: the quick path for inference and tests.
pub fn infer(module: &mut dyn Module, x: Tensor) -> Tensor {
    let mut g = Graph::no_grad();
    let x = g.input(x);
    let y = module.forward(&mut g, x);
    g.value(y).clone()
}
