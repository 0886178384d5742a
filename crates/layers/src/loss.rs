//! Losses as functions on the tape, and a [`Loss`] enum a runner can pick by name.
//!
//! Each is one op of the tape (`tensor::ops::loss`), whose doc gives the formulas and
//! derivatives; a `Reduction` chooses PyTorch's `reduction="mean"` or `"sum"`.

use std::fmt;
use std::str::FromStr;

use tensor::{Reduction, Tape, Var};

/// Mean (or summed) squared error `Σ (p − t)²`.
pub fn mse(tape: &mut Tape, prediction: Var, target: Var, reduction: Reduction) -> Var {
    tape.mse_loss(prediction, target, reduction)
}

/// Binary cross-entropy on probabilities `p ∈ [0, 1]`: `−Σ [t·ln p + (1 − t)·ln(1 − p)]`, logs
/// clamped at −100 like PyTorch.
pub fn bce(tape: &mut Tape, prediction: Var, target: Var, reduction: Reduction) -> Var {
    tape.bce_loss(prediction, target, reduction)
}

/// Binary cross-entropy on logits `z` (probabilities `σ(z)`), stable for any `z`.
pub fn bce_with_logits(tape: &mut Tape, logits: Var, target: Var, reduction: Reduction) -> Var {
    tape.bce_with_logits_loss(logits, target, reduction)
}

/// Absolute error `Σ |p − t|`.
pub fn l1(tape: &mut Tape, prediction: Var, target: Var, reduction: Reduction) -> Var {
    tape.l1_loss(prediction, target, reduction)
}

/// `KL(N(μ, e^logvar) ‖ N(0, I)) = −½ Σ (1 + logvar − μ² − e^logvar)`: the VAE's
/// regulariser (use `Reduction::Sum`, then divide by the batch size for a per-image value).
pub fn gaussian_kl(tape: &mut Tape, mean: Var, logvar: Var, reduction: Reduction) -> Var {
    tape.gaussian_kl(mean, logvar, reduction)
}

/// A reconstruction loss chosen at run time (`"mse".parse::<Loss>()`).
///
/// ```
/// # use layers::{Graph, Loss};
/// # use tensor::{Reduction, Tensor};
/// let mut g = Graph::new();
/// let p = g.input(Tensor::from_vec(&[2], vec![1.0, 3.0]));
/// let t = g.input(Tensor::from_vec(&[2], vec![0.0, 1.0]));
/// // ((1−0)² + (3−1)²) / 2 = 2.5
/// let l = Loss::Mse.apply(&mut g, p, t, Reduction::Mean);
/// assert_eq!(g.value(l).item(), 2.5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// [`mse`].
    Mse,
    /// [`bce`].
    Bce,
    /// [`bce_with_logits`].
    BceWithLogits,
    /// [`l1`].
    L1,
}

impl Loss {
    /// Records the loss of `prediction` against `target`.
    pub fn apply(self, tape: &mut Tape, prediction: Var, target: Var, reduction: Reduction) -> Var {
        match self {
            Loss::Mse => mse(tape, prediction, target, reduction),
            Loss::Bce => bce(tape, prediction, target, reduction),
            Loss::BceWithLogits => bce_with_logits(tape, prediction, target, reduction),
            Loss::L1 => l1(tape, prediction, target, reduction),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::BceWithLogits => "bce_with_logits",
            Loss::L1 => "l1",
        };
        f.write_str(name)
    }
}

impl FromStr for Loss {
    type Err = String;

    /// Parses `mse`, `bce`, `bce_with_logits`, `l1` (any case).
    fn from_str(s: &str) -> Result<Loss, String> {
        match s.trim().to_lowercase().as_str() {
            "mse" => Ok(Loss::Mse),
            "bce" => Ok(Loss::Bce),
            "bce_with_logits" | "bcewithlogits" => Ok(Loss::BceWithLogits),
            "l1" | "mae" => Ok(Loss::L1),
            other => Err(format!(
                "unknown loss {other:?} (mse, bce, bce_with_logits, l1)"
            )),
        }
    }
}
