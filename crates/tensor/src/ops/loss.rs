//! Losses: mean squared error, binary cross-entropy (on probabilities and, stably, on
//! logits), L1, and the KL divergence of a diagonal Gaussian from N(0, I).
//!
//! Each loss is `L = reduce(ℓ(p_i, t_i))` with `reduce` a sum or a mean over all elements
//! (PyTorch's `reduction="sum"` / `"mean"`). Backward: `dp_i += s·∂ℓ/∂p_i` and
//! `dt_i += s·∂ℓ/∂t_i`, where `s = dL` (times `1/N` for the mean). Saved: both inputs.
//!
//! | loss | ℓ(p, t) | ∂ℓ/∂p | ∂ℓ/∂t |
//! |---|---|---|---|
//! | MSE | (p − t)² | 2(p − t) | −2(p − t) |
//! | BCE | −t·ln p − (1 − t)·ln(1 − p) | (p − t) / (p(1 − p)) | ln(1 − p) − ln p |
//! | BCE from logits z | max(z, 0) − z·t + ln(1 + e^−\|z\|) | σ(z) − t | −z |
//! | L1 | \|p − t\| | sign(p − t) | −sign(p − t) |
//!
//! BCE clamps each log at −100 as PyTorch does, so `p = 0` or `1` gives a large finite loss
//! rather than infinity. The logits form is derived in `docs/derivations/bce_with_logits.md`;
//! the KL term in `docs/derivations/gaussian_kl.md`.

use crate::kernels::accumulate::Accumulate;
use crate::kernels::elementwise::{add_map2, deliver_map2, sum_map2_f64};
use crate::ops::activation::sigmoid_of;
use crate::ops::unary::sign;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// Which elementwise loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Squared error `(p − t)²`.
    Mse,
    /// Binary cross-entropy on probabilities `p ∈ [0, 1]`.
    Bce,
    /// Binary cross-entropy on logits `z` (probabilities `σ(z)`), stable for any `z`.
    BceWithLogits,
    /// Absolute error `|p − t|`.
    L1,
}

impl Kind {
    /// PyTorch's class name for this loss (`"MseLoss"`), for printing tapes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mse => "MseLoss",
            Kind::Bce => "BceLoss",
            Kind::BceWithLogits => "BceWithLogitsLoss",
            Kind::L1 => "L1Loss",
        }
    }
}

/// How elementwise losses combine into one number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean over all elements.
    #[default]
    Mean,
    /// The sum over all elements.
    Sum,
}

impl Reduction {
    /// The factor applied to the sum of `n` elementwise losses.
    fn scale(self, n: usize) -> f32 {
        match self {
            Reduction::Mean => 1.0 / n.max(1) as f32,
            Reduction::Sum => 1.0,
        }
    }
}

/// `ln x`, clamped below at −100 (PyTorch's BCE does the same).
fn clamped_ln(x: f32) -> f32 {
    x.ln().max(-100.0)
}

/// `ℓ(p, t)` for one element.
pub fn elementwise(kind: Kind, p: f32, t: f32) -> f32 {
    match kind {
        Kind::Mse => (p - t) * (p - t),
        Kind::Bce => -(t * clamped_ln(p) + (1.0 - t) * clamped_ln(1.0 - p)),
        Kind::BceWithLogits => p.max(0.0) - p * t + (-p.abs()).exp().ln_1p(),
        Kind::L1 => (p - t).abs(),
    }
}

fn check_shapes(kind: Kind, p: &Tensor, t: &Tensor) {
    assert_eq!(
        p.shape(),
        t.shape(),
        "{kind:?} loss: prediction shape {:?} differs from target shape {:?}",
        p.shape(),
        t.shape()
    );
}

/// `L = reduce(ℓ(p_i, t_i))`, a scalar tensor; sums in f64.
pub fn loss(kind: Kind, reduction: Reduction, p: &Tensor, t: &Tensor) -> Tensor {
    check_shapes(kind, p, t);
    let (p_data, t_data) = (p.data(), t.data());
    // One loop per kind, so each is a plain loop the compiler vectorizes.
    let total = match kind {
        Kind::Mse => sum_map2_f64(p_data, t_data, |p, t| elementwise(Kind::Mse, p, t) as f64),
        Kind::Bce => sum_map2_f64(p_data, t_data, |p, t| elementwise(Kind::Bce, p, t) as f64),
        Kind::BceWithLogits => sum_map2_f64(p_data, t_data, |p, t| {
            elementwise(Kind::BceWithLogits, p, t) as f64
        }),
        Kind::L1 => sum_map2_f64(p_data, t_data, |p, t| elementwise(Kind::L1, p, t) as f64),
    };
    Tensor::scalar(total as f32 * reduction.scale(p.numel()))
}

/// `dp_i += s·∂ℓ/∂p_i` (`=` with [`Accumulate::Overwrite`]).
pub fn loss_backward_prediction(
    kind: Kind,
    r: Reduction,
    p: &Tensor,
    t: &Tensor,
    dy: &Tensor,
    dp: &mut Tensor,
    mode: Accumulate,
) {
    let s = dy.item() * r.scale(p.numel());
    // The closures take `s` by value (`move`): read through a reference, it kept the loop
    // scalar, reloading `s` after every store.
    let (dp, p, t) = (dp.data_mut(), p.data(), t.data());
    match kind {
        Kind::Mse => deliver_map2(mode, dp, p, t, move |p, t| s * (2.0 * (p - t))),
        Kind::Bce => deliver_map2(mode, dp, p, t, move |p, t| {
            s * ((p - t) / (p * (1.0 - p)).max(1e-12))
        }),
        Kind::BceWithLogits => deliver_map2(mode, dp, p, t, move |p, t| s * (sigmoid_of(p) - t)),
        Kind::L1 => deliver_map2(mode, dp, p, t, move |p, t| s * sign(p - t)),
    }
}

/// `dt_i += s·∂ℓ/∂t_i` (rarely needed: targets are usually data).
pub fn loss_backward_target(
    kind: Kind,
    r: Reduction,
    p: &Tensor,
    t: &Tensor,
    dy: &Tensor,
    dt: &mut Tensor,
) {
    let s = dy.item() * r.scale(p.numel());
    let (dt, p, t) = (dt.data_mut(), p.data(), t.data());
    match kind {
        Kind::Mse => add_map2(dt, p, t, move |p, t| s * (-2.0 * (p - t))),
        Kind::Bce => add_map2(dt, p, t, move |p, _| {
            s * (clamped_ln(1.0 - p) - clamped_ln(p))
        }),
        Kind::BceWithLogits => add_map2(dt, p, t, move |p, _| s * -p),
        Kind::L1 => add_map2(dt, p, t, move |p, t| s * -sign(p - t)),
    }
}

/// `KL(N(μ, σ²) ‖ N(0, 1))` per element, with `lv = ln σ²`: `−½(1 + lv − μ² − e^lv)`,
/// reduced over all elements. For a VAE use `Sum` (then divide by the batch size if you want
/// a per-image figure): the KL of a diagonal Gaussian is the sum over its dimensions.
pub fn gaussian_kl(mean: &Tensor, logvar: &Tensor, reduction: Reduction) -> Tensor {
    assert_eq!(
        mean.shape(),
        logvar.shape(),
        "gaussian_kl: mean shape {:?} differs from log-variance shape {:?}",
        mean.shape(),
        logvar.shape()
    );
    let total: f64 = mean
        .data()
        .iter()
        .zip(logvar.data())
        .map(|(&m, &lv)| (-0.5 * (1.0 + lv - m * m - lv.exp())) as f64)
        .sum();
    Tensor::scalar(total as f32 * reduction.scale(mean.numel()))
}

/// `∂KL/∂μ = μ`: `dμ += s·μ`.
pub fn gaussian_kl_backward_mean(r: Reduction, mean: &Tensor, dy: &Tensor, dm: &mut Tensor) {
    let s = dy.item() * r.scale(mean.numel());
    for (d, &m) in dm.data_mut().iter_mut().zip(mean.data()) {
        *d += s * m;
    }
}

/// `∂KL/∂lv = ½(e^lv − 1)`: `dlv += s·½(e^lv − 1)`.
pub fn gaussian_kl_backward_logvar(r: Reduction, logvar: &Tensor, dy: &Tensor, dl: &mut Tensor) {
    let s = dy.item() * r.scale(logvar.numel());
    for (d, &lv) in dl.data_mut().iter_mut().zip(logvar.data()) {
        *d += s * 0.5 * (lv.exp() - 1.0);
    }
}

/// `L = (1/N) Σ_r [ln Σ_k e^{z[r,k]} − z[r, label_r]]`: softmax cross-entropy of `[N, K]`
/// logits against one class per row (PyTorch's `F.cross_entropy`, mean), computed with the
/// row maximum subtracted so no exponent overflows.
pub fn cross_entropy(z: &Tensor, labels: &[usize]) -> Tensor {
    let k = cross_entropy_classes(z, labels);
    let total: f64 = z
        .data()
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &l)| {
            let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let sum: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum();
            m as f64 + sum.ln() - row[l] as f64
        })
        .sum();
    Tensor::scalar((total / labels.len().max(1) as f64) as f32)
}

/// `dz[r] += dL·(softmax(z[r]) − onehot(label_r)) / N`.
pub fn cross_entropy_backward(z: &Tensor, labels: &[usize], dy: &Tensor, dz: &mut Tensor) {
    let k = cross_entropy_classes(z, labels);
    let s = dy.item() / labels.len().max(1) as f32;
    let p = crate::ops::activation::softmax(z);
    for ((d, p), &l) in dz
        .data_mut()
        .chunks_exact_mut(k)
        .zip(p.data().chunks_exact(k))
        .zip(labels)
    {
        for (j, (d, &p)) in d.iter_mut().zip(p).enumerate() {
            *d += s * (p - f32::from(j == l));
        }
    }
}

fn cross_entropy_classes(z: &Tensor, labels: &[usize]) -> usize {
    let s = z.shape();
    assert!(
        s.len() == 2 && s[0] == labels.len(),
        "cross_entropy: logits {s:?} need [{}, classes], one row per label",
        labels.len()
    );
    assert!(
        labels.iter().all(|&l| l < s[1]),
        "cross_entropy: a label is not below the {} classes",
        s[1]
    );
    s[1]
}

/// Recording on the tape.
impl Tape {
    /// Softmax cross-entropy of `[N, K]` logits against `labels` (one class per row), the
    /// mean over the rows.
    pub fn cross_entropy_loss(&mut self, logits: Var, labels: &[usize]) -> Var {
        let y = cross_entropy(self.value(logits), labels);
        self.push(Op::CrossEntropy(logits, labels.to_vec()), y)
    }

    /// A loss comparing `prediction` with `target` (same shapes).
    pub fn loss(&mut self, kind: Kind, prediction: Var, target: Var, reduction: Reduction) -> Var {
        let y = loss(kind, reduction, self.value(prediction), self.value(target));
        self.push(Op::Loss(prediction, target, kind, reduction), y)
    }

    /// Squared error `(p − t)²`, averaged or summed as `reduction` says.
    pub fn mse_loss(&mut self, prediction: Var, target: Var, reduction: Reduction) -> Var {
        self.loss(Kind::Mse, prediction, target, reduction)
    }

    /// Binary cross-entropy of probabilities against targets in `[0, 1]`.
    pub fn bce_loss(&mut self, prediction: Var, target: Var, reduction: Reduction) -> Var {
        self.loss(Kind::Bce, prediction, target, reduction)
    }

    /// Binary cross-entropy of `σ(logits)` against targets, computed stably from the logits.
    pub fn bce_with_logits_loss(&mut self, logits: Var, target: Var, reduction: Reduction) -> Var {
        self.loss(Kind::BceWithLogits, logits, target, reduction)
    }

    /// Mean (or summed) absolute error.
    pub fn l1_loss(&mut self, prediction: Var, target: Var, reduction: Reduction) -> Var {
        self.loss(Kind::L1, prediction, target, reduction)
    }

    /// KL divergence of N(mean, e^logvar) from N(0, I).
    pub fn gaussian_kl_loss(&mut self, mean: Var, logvar: Var, reduction: Reduction) -> Var {
        let y = gaussian_kl(self.value(mean), self.value(logvar), reduction);
        self.push(Op::GaussianKl(mean, logvar, reduction), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};

    fn probabilities(seed: u64) -> Tensor {
        random_tensor(&[3, 4], seed).map(|v| 0.5 + 0.4 * v)
    }

    #[test]
    fn overwriting_a_poisoned_slot_gives_what_adding_into_zeros_gives() {
        let (p, t, dy) = (probabilities(1), probabilities(2), Tensor::scalar(0.7));
        for kind in [Kind::Mse, Kind::Bce, Kind::BceWithLogits, Kind::L1] {
            for r in [Reduction::Mean, Reduction::Sum] {
                let (mut want, mut got) =
                    (Tensor::zeros(p.shape()), Tensor::full(p.shape(), f32::NAN));
                loss_backward_prediction(kind, r, &p, &t, &dy, &mut want, Accumulate::Add);
                loss_backward_prediction(kind, r, &p, &t, &dy, &mut got, Accumulate::Overwrite);
                assert_eq!(got, want, "{kind:?}, {r:?}");
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let p = random_tensor(&[3, 4], 41);
        let t = random_tensor(&[3, 4], 42);
        for r in [Reduction::Mean, Reduction::Sum] {
            check_gradients("mse", &[p.clone(), t.clone()], |tp, v| {
                tp.mse_loss(v[0], v[1], r)
            });
            check_gradients("l1", &[p.clone(), t.clone()], |tp, v| {
                tp.l1_loss(v[0], v[1], r)
            });
            let (prob, target) = (probabilities(43), probabilities(44));
            check_gradients("bce", &[prob, target.clone()], |tp, v| {
                tp.bce_loss(v[0], v[1], r)
            });
            let logits = p.mul_scalar(4.0);
            check_gradients("bce logits", &[logits, target], |tp, v| {
                tp.bce_with_logits_loss(v[0], v[1], r)
            });
            check_gradients("kl", &[p.clone(), t.clone()], |tp, v| {
                tp.gaussian_kl_loss(v[0], v[1], r)
            });
        }
    }

    #[test]
    fn values_by_hand() {
        let p = Tensor::from_vec(&[2], vec![1.0, 3.0]);
        let t = Tensor::from_vec(&[2], vec![0.0, 1.0]);
        // MSE: (1 + 4) / 2; L1: (1 + 2) / 2.
        assert_eq!(loss(Kind::Mse, Reduction::Mean, &p, &t).item(), 2.5);
        assert_eq!(loss(Kind::L1, Reduction::Sum, &p, &t).item(), 3.0);
        // BCE(0.5, 1) = ln 2.
        let half = Tensor::from_vec(&[1], vec![0.5]);
        let one = Tensor::from_vec(&[1], vec![1.0]);
        assert!((loss(Kind::Bce, Reduction::Mean, &half, &one).item() - 2f32.ln()).abs() < 1e-6);
        // KL of N(0, 1) from itself is 0; of N(1, 1) it is ½.
        let zero = Tensor::zeros(&[1]);
        assert_eq!(gaussian_kl(&zero, &zero, Reduction::Sum).item(), 0.0);
        assert_eq!(
            gaussian_kl(&Tensor::ones(&[1]), &zero, Reduction::Sum).item(),
            0.5
        );
    }

    #[test]
    fn logits_form_equals_composition_and_stays_finite() {
        // Oracle: σ then BCE, where σ does not saturate.
        let z = random_tensor(&[4, 5], 45).mul_scalar(5.0);
        let t = random_tensor(&[4, 5], 46).map(|v| 0.5 + 0.5 * v);
        let fused = loss(Kind::BceWithLogits, Reduction::Mean, &z, &t).item();
        let composed = loss(Kind::Bce, Reduction::Mean, &z.sigmoid(), &t).item();
        assert!((fused - composed).abs() < 1e-5, "{fused} vs {composed}");
        // At |z| = 100 the probability rounds to 0 or 1; the logits form stays exact.
        let big = Tensor::from_vec(&[2], vec![100.0, -100.0]);
        let target = Tensor::from_vec(&[2], vec![0.0, 1.0]);
        assert_eq!(
            loss(Kind::BceWithLogits, Reduction::Sum, &big, &target).item(),
            200.0
        );
    }

    #[test]
    fn cross_entropy_by_hand_and_by_finite_differences() {
        // Logits [0, 0] with label 1: ln 2; [ln 3, 0] with label 0: ln(4/3). Mean of both.
        let z = Tensor::from_vec(&[2, 2], vec![0.0, 0.0, 3f32.ln(), 0.0]);
        let want = (2f32.ln() + (4.0f32 / 3.0).ln()) / 2.0;
        assert!((cross_entropy(&z, &[1, 0]).item() - want).abs() < 1e-6);
        let logits = random_tensor(&[4, 5], 9).mul_scalar(3.0);
        check_gradients("cross_entropy", &[logits], |tp, v| {
            tp.cross_entropy_loss(v[0], &[0, 4, 2, 2])
        });
    }

    #[test]
    #[should_panic(expected = "Mse loss: prediction shape [2] differs from target shape [3]")]
    fn mismatched_shapes_panic() {
        loss(
            Kind::Mse,
            Reduction::Mean,
            &Tensor::zeros(&[2]),
            &Tensor::zeros(&[3]),
        );
    }
}
