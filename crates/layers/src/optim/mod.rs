//! Optimizers with PyTorch's exact update rules, and their saveable state.
//!
//! An optimizer walks the model's parameters ([`Module::visit_mut`]), finds each trainable
//! one's gradient in the step's [`Gradients`] by the parameter's id, and updates the value in
//! place. Per-parameter state (moments, step count) is kept by parameter id in a
//! [`ParamState`], and saved with [`crate::io::save_optimizer`] under the parameters' names,
//! with PyTorch-like keys:
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

use tensor::{Gradients, ParamId, Tensor};

use crate::error::StepError;
use crate::module::Module;
use crate::parameter::Parameter;

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
///     opt.step(&mut model, &grads).unwrap();
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

    /// The per-parameter state, by parameter id.
    fn state(&self) -> &BTreeMap<ParamId, ParamState>;

    /// The per-parameter state, writable (loading).
    fn state_mut(&mut self) -> &mut BTreeMap<ParamId, ParamState>;

    /// One step over every trainable parameter of `model`, each updated from its gradient in
    /// `grads`. Every trainable parameter must have one: a parameter the loss does not use
    /// (or that this step's tape never saw) is an error, listed by name, and nothing is
    /// updated. Parameters that are not meant to learn in this step are frozen first
    /// ([`Module::set_trainable`], or [`Parameter::trainable`] on one), which is also how a
    /// model trained in phases (an adversarial autoencoder) steps one part at a time; or step
    /// only the submodule that learns.
    fn step(&mut self, model: &mut dyn Module, grads: &Gradients) -> Result<(), StepError> {
        let mut missing = Vec::new();
        let mut shape = None;
        model.visit("", &mut |name, p| {
            if !p.is_trainable() {
                return;
            }
            match grads.param(p.id()) {
                None => missing.push(name.to_string()),
                Some(g) if g.shape() != p.value.shape() && shape.is_none() => {
                    shape = Some((
                        name.to_string(),
                        g.shape().to_vec(),
                        p.value.shape().to_vec(),
                    ))
                }
                Some(_) => {}
            }
        });
        if let Some((parameter, gradient, expected)) = shape {
            return Err(StepError::Shape {
                optimizer: self.name(),
                parameter,
                gradient,
                expected,
            });
        }
        if !missing.is_empty() {
            return Err(StepError::MissingGradients {
                optimizer: self.name(),
                parameters: missing,
            });
        }
        model.visit_mut("", &mut |_, p| {
            if let (true, Some(grad)) = (p.is_trainable(), grads.param(p.id())) {
                let mut state = self.state_mut().remove(&p.id()).unwrap_or_default();
                self.update(&mut state, &mut p.value, grad);
                self.state_mut().insert(p.id(), state);
            }
        });
        Ok(())
    }

    /// One step on a lone parameter (a tensor learned without a module around it: a latent
    /// code optimised directly, a learned prior's mean). The same rules as
    /// [`Optimizer::step`]: a frozen parameter is left alone, a trainable one needs a
    /// gradient.
    fn step_parameter(&mut self, p: &mut Parameter, grads: &Gradients) -> Result<(), StepError> {
        if !p.is_trainable() {
            return Ok(());
        }
        let Some(grad) = grads.param(p.id()) else {
            return Err(StepError::MissingGradients {
                optimizer: self.name(),
                parameters: vec!["the parameter".into()],
            });
        };
        if grad.shape() != p.value.shape() {
            return Err(StepError::Shape {
                optimizer: self.name(),
                parameter: "the parameter".into(),
                gradient: grad.shape().to_vec(),
                expected: p.value.shape().to_vec(),
            });
        }
        let mut state = self.state_mut().remove(&p.id()).unwrap_or_default();
        self.update(&mut state, &mut p.value, grad);
        self.state_mut().insert(p.id(), state);
        Ok(())
    }

    /// Forgets all per-parameter state (moments, steps).
    fn reset(&mut self) {
        self.state_mut().clear();
    }
}
