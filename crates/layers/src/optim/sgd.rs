//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use std::collections::BTreeMap;

use tensor::{ParamId, Tensor};

use super::{Optimizer, ParamState};

/// PyTorch's `torch.optim.SGD`, step for step:
///
/// ```text
/// d ← g + λ·p                                   (weight decay λ)
/// if μ ≠ 0:  b ← d on the first step, else b ← μ·b + (1 − τ)·d   (momentum μ, dampening τ)
///            d ← d + μ·b if Nesterov, else d ← b
/// p ← p − lr·d
/// ```
///
/// ```
/// # use layers::optim::{Optimizer, ParamState, Sgd};
/// # use tensor::{ParamId, Tensor};
/// // p = 1, g = 0.5, lr = 0.1: p ← 1 − 0.1·0.5 = 0.95
/// let mut p = Tensor::scalar(1.0);
/// Sgd::new(0.1).update(&mut ParamState::default(), &mut p, &Tensor::scalar(0.5));
/// assert!((p.item() - 0.95).abs() < 1e-7);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ (0: none).
    pub momentum: f32,
    /// Dampening τ.
    pub dampening: f32,
    /// L2 weight decay λ, added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum (needs μ > 0 and τ = 0).
    pub nesterov: bool,
    state: BTreeMap<ParamId, ParamState>,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Sgd {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            state: BTreeMap::new(),
        }
    }

    /// With momentum `μ`.
    pub fn momentum(mut self, momentum: f32) -> Sgd {
        self.momentum = momentum;
        self
    }

    /// With dampening `τ`.
    pub fn dampening(mut self, dampening: f32) -> Sgd {
        self.dampening = dampening;
        self
    }

    /// With weight decay `λ`.
    pub fn weight_decay(mut self, weight_decay: f32) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }

    /// With Nesterov momentum.
    pub fn nesterov(mut self, nesterov: bool) -> Sgd {
        self.nesterov = nesterov;
        self
    }
}

impl Optimizer for Sgd {
    fn state_slots(&self) -> Vec<&'static str> {
        if self.momentum != 0.0 {
            vec!["momentum_buffer"]
        } else {
            vec![]
        }
    }

    fn check_hyperparameters(&self) -> Result<(), String> {
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err("Nesterov momentum requires a momentum and zero dampening".into());
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn update(&mut self, state: &mut ParamState, p: &mut Tensor, grad: &Tensor) {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "SGD: Nesterov momentum requires a momentum and zero dampening"
        );
        let (lr, mu, tau, wd) = (self.lr, self.momentum, self.dampening, self.weight_decay);
        // d ← g + λ·p
        let mut d: Vec<f32> = grad
            .data()
            .iter()
            .zip(p.data())
            .map(|(&g, &p)| g + wd * p)
            .collect();
        if mu != 0.0 {
            let first = !state.slots.contains_key("momentum_buffer");
            let b = state.slot("momentum_buffer", p).data_mut();
            for (b, d) in b.iter_mut().zip(d.iter_mut()) {
                *b = if first {
                    *d
                } else {
                    mu * *b + (1.0 - tau) * *d
                };
                *d = if self.nesterov { *d + mu * *b } else { *b };
            }
        }
        for (p, d) in p.data_mut().iter_mut().zip(&d) {
            *p -= lr * d;
        }
    }

    fn hyperparameters(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("lr", self.lr),
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("weight_decay", self.weight_decay),
            ("nesterov", self.nesterov as u8 as f32),
        ]
    }

    fn set_hyperparameter(&mut self, name: &str, value: f32) -> bool {
        match name {
            "lr" => self.lr = value,
            "momentum" => self.momentum = value,
            "dampening" => self.dampening = value,
            "weight_decay" => self.weight_decay = value,
            "nesterov" => self.nesterov = value != 0.0,
            _ => return false,
        }
        true
    }

    fn state(&self) -> &BTreeMap<ParamId, ParamState> {
        &self.state
    }

    fn state_mut(&mut self) -> &mut BTreeMap<ParamId, ParamState> {
        &mut self.state
    }
}
