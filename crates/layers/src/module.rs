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
///
/// A container lists its children ([`Module::children`], [`Module::children_mut`]) and
/// writes nothing else that recursion would give: the default [`Module::visit`],
/// [`Module::visit_mut`], [`Module::set_training`], [`Module::mult_adds`] and
/// [`Module::summarize`] walk the children, like PyTorch's `nn.Module` walks its
/// `_modules`. A leaf (Linear, Conv2d, …) has no children and overrides what it does itself.
///
/// A module is `Send` (it owns plain tensors), so that two models can train side by side on
/// different threads (the runner's repeats of a model with other seeds).
pub trait Module: Send {
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

    /// The modules this one is made of, with their names, in visiting order (`("encoder",
    /// …)`, `("0", …)`); none for a leaf (the default). A child's parameters are named
    /// `join(prefix, child_name)` followed by their own name.
    fn children(&self) -> Vec<(&str, &dyn Module)> {
        Vec::new()
    }

    /// [`Module::children`], writable: the same children, in the same order.
    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        Vec::new()
    }

    /// The input shape of each child, in [`Module::children`] order, when this module reads
    /// `input`. By default a chain, each child reading the previous one's output (a
    /// [`crate::Sequential`]); a container whose children read something else overrides it
    /// (a VAE's two heads both read the trunk's features). The summary and
    /// [`Module::mult_adds`] follow it.
    fn child_input_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let mut shape = input.to_vec();
        let mut shapes = Vec::new();
        for (_, child) in self.children() {
            let next = child.output_shape(&shape);
            shapes.push(std::mem::replace(&mut shape, next));
        }
        shapes
    }

    /// Calls `f(full_name, parameter)` for every parameter and buffer, in a fixed order.
    /// By default, the children's, child after child.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        for (name, child) in self.children() {
            child.visit(&join(prefix, name), f);
        }
    }

    /// Like [`Module::visit`], with write access (optimizers, loading).
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        for (name, child) in self.children_mut() {
            child.visit_mut(&join(prefix, name), f);
        }
    }

    /// Switches between training (`true`) and evaluation behaviour (Dropout, BatchNorm).
    /// By default, switches every child.
    fn set_training(&mut self, training: bool) {
        for (_, child) in self.children_mut() {
            child.set_training(training);
        }
    }

    /// The output shape for an input of shape `input` (batch axis included).
    fn output_shape(&self, input: &[usize]) -> Vec<usize>;

    /// The PyTorch class name (`"Linear"`, `"Conv2d"`, `"Sequential"`).
    fn type_name(&self) -> String;

    /// Multiply-adds for one sample (batch axis of `input` ignored): the size of the matrix
    /// products. By default the children's sum, each on its input
    /// ([`Module::child_input_shapes`]); layers without a product (activations, pooling,
    /// reshapes) have no children and count 0.
    fn mult_adds(&self, input: &[usize]) -> u64 {
        let shapes = self.child_input_shapes(input);
        self.children()
            .iter()
            .zip(&shapes)
            .map(|((_, child), shape)| child.mult_adds(shape))
            .sum()
    }

    /// Appends this module's rows to a summary table and returns its output shape. A leaf
    /// adds one row. A container adds a row for itself (summing its children; none when it
    /// is the model being summarised, `name` empty), then its children's rows one level
    /// deeper, each child on its input ([`Module::child_input_shapes`]).
    fn summarize(
        &self,
        name: &str,
        depth: usize,
        input: &[usize],
        rows: &mut Vec<Row>,
    ) -> Vec<usize> {
        let output = self.output_shape(input);
        let children = self.children();
        if children.is_empty() {
            rows.push(Row::of_leaf(self, name, depth, input, &output));
            return output;
        }
        let child_depth = if name.is_empty() {
            depth
        } else {
            rows.push(Row::of_container(self, name, depth, input, &output));
            depth + 1
        };
        let shapes = self.child_input_shapes(input);
        for ((child_name, child), shape) in children.iter().zip(&shapes) {
            child.summarize(&join(name, child_name), child_depth, shape, rows);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::Linear;
    use crate::sequential::Sequential;
    use crate::summary::Summary;
    use tensor::rng;

    /// A leaf with no parameter that remembers the mode it was last switched to.
    struct Probe {
        training: bool,
    }

    impl Module for Probe {
        fn forward(&mut self, _g: &mut Graph, x: Var) -> Var {
            x
        }
        fn set_training(&mut self, training: bool) {
            self.training = training;
        }
        fn output_shape(&self, input: &[usize]) -> Vec<usize> {
            input.to_vec()
        }
        fn type_name(&self) -> String {
            "Probe".into()
        }
    }

    /// A container that writes only its forward pass and its list of children; names,
    /// modes, multiply-adds and summary rows come from the trait's defaults.
    struct Pair {
        encoder: Linear,
        probe: Probe,
    }

    impl Module for Pair {
        fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
            let h = self.encoder.forward(g, x);
            self.probe.forward(g, h)
        }
        fn children(&self) -> Vec<(&str, &dyn Module)> {
            vec![("encoder", &self.encoder), ("probe", &self.probe)]
        }
        fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
            vec![("encoder", &mut self.encoder), ("probe", &mut self.probe)]
        }
        fn output_shape(&self, input: &[usize]) -> Vec<usize> {
            self.encoder.output_shape(input)
        }
        fn type_name(&self) -> String {
            "Pair".into()
        }
    }

    fn pair() -> Pair {
        Pair {
            encoder: Linear::new(3, 4, &mut rng(0)),
            probe: Probe { training: true },
        }
    }

    #[test]
    fn a_container_that_lists_its_children_gets_names_modes_and_mult_adds() {
        let mut m = pair();
        assert_eq!(m.parameter_names(), ["encoder.weight", "encoder.bias"]);
        // Linear(3, 4): 4·3 weights and 4 biases; 3·4 multiply-adds per sample.
        assert_eq!(m.num_parameters(), 16);
        assert_eq!(m.mult_adds(&[10, 3]), 12);
        m.eval();
        assert!(!m.probe.training, "eval() reaches the child");
        m.train();
        assert!(m.probe.training, "train() reaches the child");
        m.set_trainable(false);
        assert_eq!(
            m.num_trainable_parameters(),
            0,
            "visit_mut reaches the child"
        );

        // Inside another container, names get its prefix and the summary a row for it.
        let outer = Sequential::new().push_named("pair", pair());
        assert_eq!(
            outer.parameter_names(),
            ["pair.encoder.weight", "pair.encoder.bias"]
        );
        let s = Summary::new(&outer, &[10, 3]);
        let rows: Vec<(&str, usize, bool, u64)> = s
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.depth, r.leaf, r.mult_adds))
            .collect();
        assert_eq!(
            rows,
            [
                ("pair", 0, false, 12),
                ("pair.encoder", 1, true, 12),
                ("pair.probe", 1, true, 0),
            ]
        );
        assert_eq!(s.mult_adds_per_sample, 12);
        assert_eq!(s.output_shape, [10, 4]);
    }
}
