//! RMSprop: divide the gradient by a running root mean square of recent gradients.

use std::collections::BTreeMap;

use tensor::{ParamId, Tensor};

use super::{Optimizer, ParamState};

/// PyTorch's `torch.optim.RMSprop`, step for step:
///
/// ```text
/// g ← g + λ·p
/// s ← α·s + (1 − α)·g²                               (square_avg)
/// centered:  a ← α·a + (1 − α)·g;  d ← √(s − a²) + ε (grad_avg a)
/// otherwise: d ← √s + ε
/// momentum μ > 0:  b ← μ·b + g/d;  p ← p − lr·b       (momentum_buffer)
/// otherwise:       p ← p − lr·g/d
/// ```
///
/// Defaults: lr 0.01, α = 0.99, ε = 1e-8, λ = 0, μ = 0, not centered.
///
/// ```
/// # use layers::optim::{Optimizer, ParamState, RmsProp};
/// # use tensor::{ParamId, Tensor};
/// // First step, α = 0.99: s = 0.01·g², so p moves by lr·g/(0.1·|g|) = 10·lr.
/// let mut p = Tensor::scalar(1.0);
/// RmsProp::new(0.01).update(&mut ParamState::default(), &mut p, &Tensor::scalar(3.0));
/// assert!((p.item() - 0.9).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f32,
    /// α, decay of the squared-gradient average.
    pub alpha: f32,
    /// ε, added to the denominator.
    pub eps: f32,
    /// L2 weight decay λ.
    pub weight_decay: f32,
    /// Momentum μ.
    pub momentum: f32,
    /// Normalise by the variance estimate `s − a²` instead of `s`.
    pub centered: bool,
    state: BTreeMap<ParamId, ParamState>,
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f32) -> RmsProp {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            state: BTreeMap::new(),
        }
    }

    /// With α.
    pub fn alpha(mut self, alpha: f32) -> RmsProp {
        self.alpha = alpha;
        self
    }

    /// With ε.
    pub fn eps(mut self, eps: f32) -> RmsProp {
        self.eps = eps;
        self
    }

    /// With weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> RmsProp {
        self.weight_decay = weight_decay;
        self
    }

    /// With momentum μ.
    pub fn momentum(mut self, momentum: f32) -> RmsProp {
        self.momentum = momentum;
        self
    }

    /// Centered (normalise by an estimate of the variance).
    pub fn centered(mut self, centered: bool) -> RmsProp {
        self.centered = centered;
        self
    }
}

impl Optimizer for RmsProp {
    fn state_slots(&self) -> Vec<&'static str> {
        let mut slots = vec!["step", "square_avg"];
        if self.centered {
            slots.push("grad_avg");
        }
        if self.momentum > 0.0 {
            slots.push("momentum_buffer");
        }
        slots
    }

    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn update(&mut self, state: &mut ParamState, p: &mut Tensor, grad: &Tensor) {
        let (lr, alpha, eps, wd, mu) = (
            self.lr,
            self.alpha,
            self.eps,
            self.weight_decay,
            self.momentum,
        );
        state.step = Some(state.step.unwrap_or(0.0) + 1.0);
        let n = p.numel();
        let g: Vec<f32> = grad
            .data()
            .iter()
            .zip(p.data())
            .map(|(&g, &p)| g + wd * p)
            .collect();
        // d = √s + ε, or √(s − a²) + ε when centered
        let s = state.slot("square_avg", p).data_mut();
        let mut d = vec![0.0f32; n];
        for ((s, d), &g) in s.iter_mut().zip(d.iter_mut()).zip(&g) {
            *s = alpha * *s + (1.0 - alpha) * g * g;
            *d = *s;
        }
        if self.centered {
            let a = state.slot("grad_avg", p).data_mut();
            for ((a, d), &g) in a.iter_mut().zip(d.iter_mut()).zip(&g) {
                *a = alpha * *a + (1.0 - alpha) * g;
                *d -= *a * *a;
            }
        }
        for d in &mut d {
            *d = d.sqrt() + eps;
        }
        if mu > 0.0 {
            let b = state.slot("momentum_buffer", p).data_mut();
            for (((b, p), &g), &d) in b.iter_mut().zip(p.data_mut()).zip(&g).zip(&d) {
                *b = mu * *b + g / d;
                *p -= lr * *b;
            }
        } else {
            for ((p, &g), &d) in p.data_mut().iter_mut().zip(&g).zip(&d) {
                *p -= lr * g / d;
            }
        }
    }

    fn hyperparameters(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("lr", self.lr),
            ("alpha", self.alpha),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
            ("momentum", self.momentum),
            ("centered", self.centered as u8 as f32),
        ]
    }

    fn set_hyperparameter(&mut self, name: &str, value: f32) -> bool {
        match name {
            "lr" => self.lr = value,
            "alpha" => self.alpha = value,
            "eps" => self.eps = value,
            "weight_decay" => self.weight_decay = value,
            "momentum" => self.momentum = value,
            "centered" => self.centered = value != 0.0,
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
