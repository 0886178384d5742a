//! A [`Graph`]: one forward pass on a fresh [`Tape`], with the layers' parameters on it.
//!
//! Parameters live in the layers. During `forward`, each layer calls [`Graph::param`] with its
//! [`Parameter`]; the graph copies the value onto the tape as a leaf, bound to the
//! parameter's id ([`tensor::ParamId`]). After the loss, [`Tape::backward`] returns the
//! step's [`Gradients`], in which an optimizer finds each parameter's gradient by that id.
//! Names (`"encoder.0.weight"`) play no part here: they are for files and the summary. The
//! graph is thrown away after every step.

use std::ops::{Deref, DerefMut};

use tensor::{Tape, Tensor, Var};

use crate::parameter::Parameter;

/// A tape that knows about [`Parameter`]s. Derefs to [`Tape`], so every tape op
/// (`g.relu(x)`, `g.mse_loss(..)`, `g.backward(loss)`) is available on it directly.
///
/// ```
/// # use layers::{Graph, Linear, Module};
/// # use tensor::{rng, Tensor};
/// let mut model = Linear::new(3, 2, &mut rng(0));
/// let mut g = Graph::new();
/// // An input whose gradient is wanted (a saliency map, a contractive penalty).
/// let x = g.input_with_grad(Tensor::ones(&[4, 3]));
/// let y = model.forward(&mut g, x);
/// let loss = g.mean_all(y);
/// let grads = g.backward(loss);
/// assert_eq!(grads.param(model.weight.id()).unwrap().shape(), &[2, 3]);
/// assert_eq!(grads.get(x).unwrap().shape(), &[4, 3]);
/// ```
#[derive(Debug, Default)]
pub struct Graph {
    tape: Tape,
    /// Every parameter goes on the tape as a constant ([`Graph::constant_weights`]).
    weights_constant: bool,
}

impl Graph {
    /// A graph that records for a backward pass (training); the same as `Graph::default()`.
    pub fn new() -> Graph {
        Graph {
            tape: Tape::new(),
            weights_constant: false,
        }
    }

    /// A graph that records for a backward pass but puts every parameter on the tape as a
    /// constant: the backward pass returns the gradients of inputs made with
    /// [`Graph::input_with_grad`] only (the direction of an adversarial move, a saliency
    /// map), without computing the weights' and without touching the layers' trainable flags.
    pub fn constant_weights() -> Graph {
        Graph {
            tape: Tape::new(),
            weights_constant: true,
        }
    }

    /// A graph that records nothing (evaluation): values only, no gradients.
    pub fn no_grad() -> Graph {
        Graph {
            tape: Tape::no_grad(),
            weights_constant: false,
        }
    }

    /// Puts data (a batch, a target) on the tape as a constant: no gradient flows to it.
    pub fn input(&mut self, x: Tensor) -> Var {
        self.tape.constant(x)
    }

    /// Puts data on the tape as a leaf, so that the backward pass returns the gradient with
    /// respect to it too (`grads.get(x)`): for a Jacobian penalty, a saliency picture, an
    /// adversarial input.
    pub fn input_with_grad(&mut self, x: Tensor) -> Var {
        self.tape.leaf(x)
    }

    /// The node of parameter `p`, copying its value onto the tape the first time it is asked
    /// for; later calls return the same node, so a shared parameter gets the sum of its
    /// gradients. A frozen parameter, or any parameter on a [`Graph::no_grad`] graph, becomes
    /// a constant, and so does every parameter on a [`Graph::constant_weights`] graph.
    pub fn param(&mut self, p: &Parameter) -> Var {
        self.tape
            .param(p.id(), &p.value, p.is_trainable() && !self.weights_constant)
    }

    /// The tape.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }
}

impl Deref for Graph {
    type Target = Tape;
    fn deref(&self) -> &Tape {
        &self.tape
    }
}

impl DerefMut for Graph {
    fn deref_mut(&mut self) -> &mut Tape {
        &mut self.tape
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_grad_graphs_and_frozen_parameters_make_constants() {
        let mut p = Parameter::new(Tensor::ones(&[2]));
        let mut g = Graph::no_grad();
        let v = g.param(&p);
        assert!(!g.requires_grad(v));
        p.trainable = false;
        let mut g = Graph::new();
        let v = g.param(&p);
        assert!(!g.requires_grad(v));
    }

    #[test]
    fn a_constant_weights_graph_returns_the_inputs_gradient_alone() {
        let p = Parameter::new(Tensor::from_vec(&[2], vec![3.0, 4.0]));
        let mut g = Graph::constant_weights();
        let x = g.input_with_grad(Tensor::from_vec(&[2], vec![1.0, 2.0]));
        let w = g.param(&p);
        assert!(!g.requires_grad(w));
        let y = g.mul(x, w);
        let loss = g.sum_all(y);
        let grads = g.backward(loss);
        assert_eq!(grads.get(x).unwrap().data(), &[3.0, 4.0]);
        assert!(grads.param(p.id()).is_none());
        // The parameter itself stays trainable.
        assert!(p.is_trainable());
    }

    #[test]
    fn default_records_like_new() {
        let p = Parameter::new(Tensor::ones(&[2]));
        let mut g = Graph::default();
        let v = g.param(&p);
        let loss = g.sum_all(v);
        assert_eq!(g.backward(loss).param(p.id()).unwrap().data(), &[1.0, 1.0]);
    }

    #[test]
    fn input_gradients_come_back_with_the_parameters() {
        let p = Parameter::new(Tensor::from_vec(&[2], vec![3.0, 4.0]));
        let mut g = Graph::new();
        let x = g.input_with_grad(Tensor::from_vec(&[2], vec![1.0, 2.0]));
        let c = g.input(Tensor::ones(&[2]));
        let w = g.param(&p);
        let xw = g.mul(x, w);
        let xwc = g.mul(xw, c);
        let loss = g.sum_all(xwc);
        let grads = g.backward(loss);
        assert_eq!(grads.get(x).unwrap().data(), &[3.0, 4.0]);
        assert_eq!(grads.param(p.id()).unwrap().data(), &[1.0, 2.0]);
        assert!(grads.get(c).is_none(), "a constant input gets no gradient");
    }
}
