//! A [`Loss`] enum a runner can pick by name.
//!
//! Each loss is one op of the tape, named `<loss>_loss` there (`tape.mse_loss`,
//! `tape.bce_loss`, `tape.bce_with_logits_loss`, `tape.l1_loss`, `tape.gaussian_kl_loss`;
//! formulas and derivatives in `tensor::ops::loss`); a `Reduction` chooses PyTorch's
//! `reduction="mean"` or `"sum"`.

use std::fmt;
use std::str::FromStr;

use tensor::{Reduction, Tape, Var};

/// A loss chosen at run time (`"mse".parse::<Loss>()`): a reconstruction loss comparing a
/// prediction with a target, or the VAE's KL term.
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
    /// Squared error `Σ (p − t)²` ([`Tape::mse_loss`]).
    Mse,
    /// Binary cross-entropy on probabilities `p ∈ [0, 1]`: `−Σ [t·ln p + (1 − t)·ln(1 − p)]`,
    /// logs clamped at −100 like PyTorch ([`Tape::bce_loss`]).
    Bce,
    /// Binary cross-entropy on logits `z` (probabilities `σ(z)`), stable for any `z`
    /// ([`Tape::bce_with_logits_loss`]).
    BceWithLogits,
    /// Absolute error `Σ |p − t|` ([`Tape::l1_loss`]).
    L1,
    /// `KL(N(μ, e^logvar) ‖ N(0, I)) = −½ Σ (1 + logvar − μ² − e^logvar)`, the VAE's
    /// regulariser ([`Tape::gaussian_kl_loss`]). Its two inputs are the code's mean and
    /// log-variance (the prior is fixed); use `Reduction::Sum`, then divide by the batch size
    /// for a per-image value.
    GaussianKl,
}

impl Loss {
    /// Records the loss: of `a` (the prediction) against `b` (the target), or for
    /// [`Loss::GaussianKl`] of the Gaussian with mean `a` and log-variance `b`.
    pub fn apply(self, tape: &mut Tape, a: Var, b: Var, reduction: Reduction) -> Var {
        match self {
            Loss::Mse => tape.mse_loss(a, b, reduction),
            Loss::Bce => tape.bce_loss(a, b, reduction),
            Loss::BceWithLogits => tape.bce_with_logits_loss(a, b, reduction),
            Loss::L1 => tape.l1_loss(a, b, reduction),
            Loss::GaussianKl => tape.gaussian_kl_loss(a, b, reduction),
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
            Loss::GaussianKl => "gaussian_kl",
        };
        f.write_str(name)
    }
}

impl FromStr for Loss {
    type Err = String;

    /// Parses `mse`, `bce`, `bce_with_logits`, `l1`, `gaussian_kl` (any case).
    fn from_str(s: &str) -> Result<Loss, String> {
        match s.trim().to_lowercase().as_str() {
            "mse" => Ok(Loss::Mse),
            "bce" => Ok(Loss::Bce),
            "bce_with_logits" | "bcewithlogits" => Ok(Loss::BceWithLogits),
            "l1" | "mae" => Ok(Loss::L1),
            "gaussian_kl" | "kl" => Ok(Loss::GaussianKl),
            other => Err(format!(
                "unknown loss {other:?} (mse, bce, bce_with_logits, l1, gaussian_kl)"
            )),
        }
    }
}
