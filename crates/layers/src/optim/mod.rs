//! Optimizers with PyTorch's exact update rules, and their saveable state.
//!
//! An optimizer walks the model's parameters by name ([`Module::visit_mut`]), finds each
//! trainable one's gradient in the [`Grads`] of the step, and updates the value in place.
//! Per-parameter state (moments, step count) is kept by parameter name in a
//! [`ParamState`], and saved with [`crate::io::save_optimizer`] under PyTorch-like keys:
//!
//! | key | optimizer | shape |
//! |---|---|---|
//! | `state.<param>.step` | Adam, AdamW, RMSprop | `[]` (f32, as PyTorch keeps it) |
//! | `state.<param>.exp_avg`, `state.<param>.exp_avg_sq` | Adam, AdamW | param's |
//! | `state.<param>.momentum_buffer` | SGD (momentum > 0), RMSprop (momentum > 0) | param's |
//! | `state.<param>.square_avg`, `state.<param>.grad_avg` (centered) | RMSprop | param's |
//!
//! `<param>` is the parameter's full name (`encoder.0.weight`), where PyTorch's own
//! `optimizer.state_dict()` uses its position in `model.parameters()`; hyperparameters go in
//! the safetensors metadata (`optimizer`, `lr`, `betas.0`, …).

mod adam;
mod rmsprop;
mod sgd;

use std::collections::BTreeMap;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use tensor::Tensor;

use crate::graph::Grads;
use crate::module::Module;

/// What an optimizer remembers about one parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamState {
    /// Steps taken on this parameter (Adam's `t`); `None` for optimizers that keep none.
    pub step: Option<f32>,
    /// Named buffers (`exp_avg`, `momentum_buffer`, …), each shaped like the parameter.
    pub slots: BTreeMap<String, Tensor>,
}

impl ParamState {
    /// The slot `name`, created as zeros shaped like `like` if absent.
    pub fn slot(&mut self, name: &str, like: &Tensor) -> &mut Tensor {
        self.slots
            .entry(name.to_string())
            .or_insert_with(|| Tensor::zeros(like.shape()))
    }
}

/// An optimizer: updates trainable parameters from their gradients.
///
/// ```
/// # use layers::{Graph, Linear, Module, optim::{Adam, Optimizer}};
/// # use tensor::{rng, Reduction, Tensor};
/// let mut model = Linear::new(2, 1, &mut rng(0));
/// let mut opt = Adam::new(1e-2);
/// let (x, t) = (Tensor::ones(&[4, 2]), Tensor::zeros(&[4, 1]));
/// let mut losses = vec![];
/// for _ in 0..20 {
///     let mut g = Graph::new();
///     let (xv, tv) = (g.input(x.clone()), g.input(t.clone()));
///     let y = model.forward(&mut g, xv);
///     let loss = g.mse_loss(y, tv, Reduction::Mean);
///     losses.push(g.value(loss).item());
///     let grads = g.backward(loss);
///     opt.step(&mut model, &grads);
/// }
/// assert!(losses[19] < losses[0]);
/// ```
pub trait Optimizer {
    /// PyTorch's class name (`"Adam"`), saved in the metadata.
    fn name(&self) -> &'static str;

    /// Updates one parameter `p` from its gradient `grad`, with its state `state`.
    fn update(&mut self, state: &mut ParamState, p: &mut Tensor, grad: &Tensor);

    /// The learning rate (the `lr` of [`Optimizer::hyperparameters`]).
    fn lr(&self) -> f32 {
        let hyper = self.hyperparameters();
        hyper
            .iter()
            .find(|(k, _)| *k == "lr")
            .map_or(0.0, |&(_, v)| v)
    }

    /// Changes the learning rate (for schedules).
    fn set_lr(&mut self, lr: f32) {
        self.set_hyperparameter("lr", lr);
    }

    /// Hyperparameters by PyTorch name (`lr`, `betas.0`, `weight_decay`, …) for saving.
    fn hyperparameters(&self) -> Vec<(&'static str, f32)>;

    /// Sets a hyperparameter by the name [`Optimizer::hyperparameters`] gives; false if
    /// unknown.
    fn set_hyperparameter(&mut self, name: &str, value: f32) -> bool;

    /// The state every stepped parameter holds under the current hyperparameters: `"step"`
    /// and the slot names (`"exp_avg"`, …). Loading a checkpoint requires exactly these.
    fn state_slots(&self) -> Vec<&'static str>;

    /// Whether the hyperparameters make sense together (e.g. Nesterov needs momentum); the
    /// reason if not. Loading a checkpoint checks this before it changes anything.
    fn check_hyperparameters(&self) -> Result<(), String> {
        Ok(())
    }

    /// The per-parameter state, by full parameter name.
    fn state(&self) -> &BTreeMap<String, ParamState>;

    /// The per-parameter state, writable (loading).
    fn state_mut(&mut self) -> &mut BTreeMap<String, ParamState>;

    /// One step over every trainable parameter of `model` that has a gradient in `grads`
    /// (parameters without one, like PyTorch's `p.grad is None`, are skipped).
    fn step(&mut self, model: &mut dyn Module, grads: &Grads) {
        model.visit_mut("", &mut |name, p| {
            if !p.is_trainable() {
                return;
            }
            let Some(grad) = grads.get(name) else { return };
            assert_eq!(
                grad.shape(),
                p.value.shape(),
                "{}: gradient of {name} has shape {:?}, parameter {:?}",
                self.name(),
                grad.shape(),
                p.value.shape()
            );
            let mut state = self.state_mut().remove(name).unwrap_or_default();
            self.update(&mut state, &mut p.value, grad);
            self.state_mut().insert(name.to_string(), state);
        });
    }

    /// Forgets all per-parameter state (moments, steps).
    fn reset(&mut self) {
        self.state_mut().clear();
    }
}
