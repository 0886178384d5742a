//! A [`Graph`]: one forward pass on a fresh [`Tape`], plus which leaf holds which parameter.
//!
//! Parameters live in the layers. During `forward`, each layer calls [`Graph::param`] with
//! its parameter's local name (`"weight"`); the graph prefixes it with the scopes opened by
//! the containers above ([`Graph::scoped`]: `"encoder"`, then `"0"`), copies the value onto
//! the tape as a leaf and remembers `"encoder.0.weight" → Var`. After the loss,
//! [`Graph::backward`] returns the gradients keyed by those same names, which is what an
//! optimizer walking `visit_mut` sees. The graph is thrown away after every step.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use tensor::{Tape, Tensor, Var};

use crate::parameter::Parameter;

/// A tape plus the parameter bindings made while recording on it. Derefs to [`Tape`], so
/// every tape op (`g.relu(x)`, `g.mse_loss(..)`) is available on it directly.
///
/// ```
/// # use layers::{Graph, Linear, Module};
/// # use tensor::{rng, Tensor};
/// let mut model = Linear::new(3, 2, &mut rng(0));
/// let mut g = Graph::new();
/// let x = g.input(Tensor::ones(&[4, 3]));
/// let y = model.forward(&mut g, x);
/// let loss = g.mean_all(y);
/// let grads = g.backward(loss);
/// assert_eq!(grads.get("weight").unwrap().shape(), &[2, 3]);
/// assert_eq!(grads.get("bias").unwrap().shape(), &[2]);
/// ```
#[derive(Debug, Default)]
pub struct Graph {
    tape: Tape,
    scope: String,
    bindings: HashMap<String, Var>,
}

impl Graph {
    /// A graph that records for a backward pass (training).
    pub fn new() -> Graph {
        Graph {
            tape: Tape::new(),
            ..Graph::default()
        }
    }

    /// A graph that records nothing (evaluation): values only, no gradients.
    pub fn no_grad() -> Graph {
        Graph {
            tape: Tape::no_grad(),
            ..Graph::default()
        }
    }

    /// Puts data (a batch, a target) on the tape as a constant.
    pub fn input(&mut self, x: Tensor) -> Var {
        self.tape.constant(x)
    }

    /// The leaf for parameter `name` (local to the current scope), copying its value onto the
    /// tape the first time it is asked for; later calls with the same name return the same
    /// leaf, so a shared parameter gets the sum of its gradients. A frozen parameter, or any
    /// parameter on a [`Graph::no_grad`] graph, becomes a constant.
    pub fn param(&mut self, name: &str, p: &Parameter) -> Var {
        let full = self.full_name(name);
        if let Some(&v) = self.bindings.get(&full) {
            return v;
        }
        let v = if p.is_trainable() {
            self.tape.leaf(p.value.clone())
        } else {
            self.tape.constant(p.value.clone())
        };
        self.bindings.insert(full, v);
        v
    }

    /// Runs `f` with `name` appended to the scope, so that parameters registered inside are
    /// named `scope.name.param`. Containers call this around each child.
    pub fn scoped<R>(&mut self, name: &str, f: impl FnOnce(&mut Graph) -> R) -> R {
        let saved = self.scope.len();
        if !self.scope.is_empty() {
            self.scope.push('.');
        }
        self.scope.push_str(name);
        let out = f(self);
        self.scope.truncate(saved);
        out
    }

    /// `name` prefixed by the current scope.
    fn full_name(&self, name: &str) -> String {
        crate::module::join(&self.scope, name)
    }

    /// The parameters registered so far, by full name.
    pub fn bindings(&self) -> &HashMap<String, Var> {
        &self.bindings
    }

    /// The tape.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// Backpropagates from the one-element `loss` and returns the gradient of every
    /// parameter the loss depends on, by full name. Gradients are moved out of the tape's
    /// result, not copied.
    pub fn backward(&self, loss: Var) -> Grads {
        let mut grads = self.tape.backward(loss);
        let by_name = self
            .bindings
            .iter()
            .filter_map(|(name, &v)| grads.take(v).map(|g| (name.clone(), g)))
            .collect();
        Grads { by_name }
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

/// Gradients keyed by full parameter name (`"encoder.0.weight"`).
#[derive(Debug, Default, Clone)]
pub struct Grads {
    by_name: HashMap<String, Tensor>,
}

impl Grads {
    /// The gradient of parameter `name`, if the loss depends on it.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.by_name.get(name)
    }

    /// Sets (or replaces) a gradient; useful for tests and gradient clipping.
    pub fn insert(&mut self, name: &str, grad: Tensor) {
        self.by_name.insert(name.to_string(), grad);
    }

    /// How many parameters have a gradient.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// `(name, gradient)` pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The global L2 norm `√Σ g²` over all gradients (for logging or clipping), summed in
    /// name order so that it is the same, bit for bit, from run to run.
    pub fn norm(&self) -> f32 {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        let sum: f64 = names
            .into_iter()
            .flat_map(|name| self.by_name[name].data())
            .map(|&v| v as f64 * v as f64)
            .sum();
        sum.sqrt() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_shared_parameters_sum_their_gradients() {
        let p = Parameter::new(Tensor::from_vec(&[2], vec![1.0, 2.0]));
        let mut g = Graph::new();
        let (a, b) = g.scoped("encoder", |g| {
            g.scoped("0", |g| (g.param("weight", &p), g.param("weight", &p)))
        });
        assert_eq!(a, b, "the same name gives the same leaf");
        let top = g.param("weight", &p);
        assert_ne!(a, top);
        // L = Σ (a·a) + Σ top, so dL/da = 2a (both uses), dL/dtop = 1.
        let sq = g.mul(a, b);
        let s1 = g.sum_all(sq);
        let s2 = g.sum_all(top);
        let loss = g.add(s1, s2);
        let grads = g.backward(loss);
        assert_eq!(grads.get("encoder.0.weight").unwrap().data(), &[2.0, 4.0]);
        assert_eq!(grads.get("weight").unwrap().data(), &[1.0, 1.0]);
        assert_eq!(grads.len(), 2);
        assert!((grads.norm() - (4.0f32 + 16.0 + 1.0 + 1.0).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn no_grad_graphs_and_frozen_parameters_make_constants() {
        let mut p = Parameter::new(Tensor::ones(&[2]));
        let mut g = Graph::no_grad();
        let v = g.param("p", &p);
        assert!(!g.requires_grad(v));
        p.trainable = false;
        let mut g = Graph::new();
        let v = g.param("p", &p);
        assert!(!g.requires_grad(v));
    }
}
