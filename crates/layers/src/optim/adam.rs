//! Adam, and AdamW (Adam with decoupled weight decay).

use std::collections::BTreeMap;

use tensor::kernels::elementwise::update_with_state;
use tensor::{ParamId, Tensor};

use super::{Optimizer, ParamState};

/// PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`, step for step (amsgrad off):
///
/// ```text
/// t ← t + 1
/// Adam:  g ← g + λ·p                 AdamW:  p ← p·(1 − lr·λ)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// The bias corrections `1 − βᵗ` are computed in f64, as PyTorch does with Python floats.
/// Defaults: β = (0.9, 0.999), ε = 1e-8, λ = 0 for Adam and 0.01 for AdamW.
///
/// ```
/// # use layers::optim::{Adam, Optimizer, ParamState};
/// # use tensor::{ParamId, Tensor};
/// // First step: m = 0.1·g, v = 0.001·g², corrected m̂ = g, v̂ = g², so p moves by
/// // lr·g/(|g| + ε) ≈ lr whatever the gradient's size.
/// let mut p = Tensor::scalar(1.0);
/// Adam::new(0.1).update(&mut ParamState::default(), &mut p, &Tensor::scalar(123.0));
/// assert!((p.item() - 0.9).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// β₁, β₂: decay of the first and second moment estimates.
    pub betas: (f32, f32),
    /// ε, added to the denominator.
    pub eps: f32,
    /// Weight decay λ.
    pub weight_decay: f32,
    /// AdamW: decay the weights directly instead of adding `λ·p` to the gradient.
    pub decoupled: bool,
    state: BTreeMap<ParamId, ParamState>,
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f32) -> Adam {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            state: BTreeMap::new(),
        }
    }

    /// AdamW with learning rate `lr` and PyTorch's defaults (weight decay 0.01).
    pub fn adamw(lr: f32) -> Adam {
        Adam {
            weight_decay: 0.01,
            decoupled: true,
            ..Adam::new(lr)
        }
    }

    /// With moment decays `(β₁, β₂)`.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Adam {
        self.betas = (beta1, beta2);
        self
    }

    /// With `ε`.
    pub fn eps(mut self, eps: f32) -> Adam {
        self.eps = eps;
        self
    }

    /// With weight decay `λ` (L2 for Adam, decoupled for AdamW).
    pub fn weight_decay(mut self, weight_decay: f32) -> Adam {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Adam {
    fn state_slots(&self) -> Vec<&'static str> {
        vec!["step", "exp_avg", "exp_avg_sq"]
    }

    fn name(&self) -> &'static str {
        if self.decoupled { "AdamW" } else { "Adam" }
    }

    fn update(&mut self, state: &mut ParamState, p: &mut Tensor, grad: &Tensor) {
        let (lr, (b1, b2), eps, wd) = (self.lr, self.betas, self.eps, self.weight_decay);
        let t = state.step.unwrap_or(0.0) + 1.0;
        state.step = Some(t);
        // Scalars in f64, like PyTorch's Python-float bias corrections.
        let bc1 = 1.0 - (b1 as f64).powf(t as f64);
        let bc2_sqrt = (1.0 - (b2 as f64).powf(t as f64)).sqrt();
        let step_size = (lr as f64 / bc1) as f32;
        let bc2_sqrt = bc2_sqrt as f32;
        let decay = 1.0 - lr * wd;

        let mut m = state
            .slots
            .remove("exp_avg")
            .unwrap_or_else(|| Tensor::zeros(p.shape()));
        let mut v = state
            .slots
            .remove("exp_avg_sq")
            .unwrap_or_else(|| Tensor::zeros(p.shape()));
        // One pass over parameter, moments and gradient (split over threads when large).
        let decoupled = self.decoupled;
        let update = |p: &mut f32, m: &mut f32, v: &mut f32, g: f32| {
            let g = if decoupled {
                *p *= decay;
                g
            } else {
                g + wd * *p
            };
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            *p -= step_size * *m / denom;
        };
        update_with_state(
            p.data_mut(),
            m.data_mut(),
            v.data_mut(),
            grad.data(),
            update,
        );
        state.slots.insert("exp_avg".into(), m);
        state.slots.insert("exp_avg_sq".into(), v);
    }

    fn hyperparameters(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("lr", self.lr),
            ("betas.0", self.betas.0),
            ("betas.1", self.betas.1),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
        ]
    }

    fn set_hyperparameter(&mut self, name: &str, value: f32) -> bool {
        match name {
            "lr" => self.lr = value,
            "betas.0" => self.betas.0 = value,
            "betas.1" => self.betas.1 = value,
            "eps" => self.eps = value,
            "weight_decay" => self.weight_decay = value,
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
