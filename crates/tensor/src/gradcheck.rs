//! Gradient checking: compare the tape's gradients with central finite differences.
//!
//! For a function `f` of some tensors, take a fixed random projection `r` of its output and
//! the scalar `L(x) = Σ r ⊙ f(x)`. The tape gives `∂L/∂x` in one backward pass (seeded with
//! `r`); central differences give each element independently:
//!
//! `∂L/∂x_j ≈ (L(x + ε·e_j) − L(x − ε·e_j)) / 2ε`, with error `O(ε²)`.
//!
//! `L` is accumulated in f64 so that the difference of two nearby values keeps its digits.
//! A check passes when `|analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|)` for
//! every element; the defaults are tight enough that a wrong factor (a missing 2, a sign)
//! fails. Keep samples away from kinks (relu at 0, ties of max), where the derivative jumps.

use std::fmt::Write as _;

use crate::random::rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Settings of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Step of the central difference.
    pub eps: f32,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Seed of the random projection `r`.
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 1e-2,
            seed: 0x5eed,
        }
    }
}

impl GradCheck {
    /// Checks the gradients of `f` with respect to every input; on failure, the error names
    /// the input, the worst element, both values and the tolerance.
    pub fn run(
        &self,
        name: &str,
        inputs: &[Tensor],
        f: impl Fn(&mut Tape, &[Var]) -> Var,
    ) -> Result<(), String> {
        // Analytic: one backward pass seeded with r.
        let mut tape = Tape::new();
        let vars: Vec<Var> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
        let out = f(&mut tape, &vars);
        let r = Tensor::normal(tape.shape(out), 0.0, 1.0, &mut rng(self.seed));
        let grads = tape.backward_from(out, r.clone());

        // L(x) = Σ r ⊙ f(x), in f64, on a fresh tape that records nothing.
        let projected = |xs: &[Tensor]| -> f64 {
            let mut tape = Tape::no_grad();
            let vars: Vec<Var> = xs.iter().map(|t| tape.constant(t.clone())).collect();
            let out = f(&mut tape, &vars);
            let y = tape.value(out);
            y.data()
                .iter()
                .zip(r.data())
                .map(|(&y, &r)| y as f64 * r as f64)
                .sum()
        };

        let mut report = String::new();
        for (i, input) in inputs.iter().enumerate() {
            let analytic = grads
                .get(vars[i])
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(input.shape()));
            let mut xs = inputs.to_vec();
            let mut worst: Option<(usize, f64, f64, f64)> = None;
            for j in 0..input.numel() {
                let original = input.data()[j];
                xs[i].data_mut()[j] = original + self.eps;
                let plus = projected(&xs);
                xs[i].data_mut()[j] = original - self.eps;
                let minus = projected(&xs);
                xs[i].data_mut()[j] = original;
                let numeric = (plus - minus) / (2.0 * self.eps as f64);
                let a = analytic.data()[j] as f64;
                let excess = excess_over_tolerance(a, numeric, self.atol, self.rtol);
                if excess > 0.0 && worst.is_none_or(|w| excess > w.3) {
                    worst = Some((j, a, numeric, excess));
                }
            }
            if let Some((j, a, numeric, _)) = worst {
                let _ = writeln!(
                    report,
                    "{name}: gradient of input {i} (shape {:?}) is wrong at element {j}: \
                     tape {a:.6}, finite differences {numeric:.6}, difference {:.2e}, \
                     tolerance {:.2e}",
                    input.shape(),
                    (a - numeric).abs(),
                    self.atol + self.rtol * a.abs().max(numeric.abs())
                );
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(report)
        }
    }
}

/// How far `|analytic − numeric|` exceeds `atol + rtol·max(|analytic|, |numeric|)`; positive
/// means the check fails. A NaN on either side counts as infinitely far (a plain comparison
/// with NaN is false, which would let a NaN gradient pass).
pub fn excess_over_tolerance(analytic: f64, numeric: f64, atol: f64, rtol: f64) -> f64 {
    let excess = (analytic - numeric).abs() - (atol + rtol * analytic.abs().max(numeric.abs()));
    if excess.is_nan() {
        f64::INFINITY
    } else {
        excess
    }
}

/// Checks `f`'s gradients with the default settings, panicking with the report on failure.
///
/// ```
/// # use tensor::{gradcheck::check_gradients, Tensor};
/// let x = Tensor::from_vec(&[3], vec![0.5, -1.0, 2.0]);
/// check_gradients("square", &[x], |tape, v| tape.mul(v[0], v[0]));
/// ```
pub fn check_gradients(name: &str, inputs: &[Tensor], f: impl Fn(&mut Tape, &[Var]) -> Var) {
    if let Err(report) = GradCheck::default().run(name, inputs, f) {
        panic!("{report}");
    }
}

/// A tensor of the given shape with elements uniform in `[-1, 1)`, from a seed.
pub fn random_tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, &mut rng(seed))
}

/// Like [`random_tensor`], but every element at least `margin` away from 0 (for inputs of
/// `log`, `div`, `abs`, `relu`, where 0 is a pole or a kink).
pub fn random_tensor_away_from(shape: &[usize], seed: u64, margin: f32) -> Tensor {
    random_tensor(shape, seed).map(|v| if v < 0.0 { v - margin } else { v + margin })
}

/// Panics unless every `|actual − expected| ≤ atol + rtol·|expected|`, reporting the worst
/// element: its index, both values, the difference and the tolerance.
pub fn assert_close(name: &str, actual: &[f32], expected: &[f32], atol: f32, rtol: f32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{name}: {} values, expected {}",
        actual.len(),
        expected.len()
    );
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let excess = match (a.is_nan(), e.is_nan()) {
            (true, true) => 0.0,
            (false, false) => (a - e).abs() - (atol + rtol * e.abs()),
            _ => f32::INFINITY,
        };
        if excess > 0.0 && worst.is_none_or(|w| excess > w.1) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        let (a, e) = (actual[i], expected[i]);
        panic!(
            "{name}: worst element {i}: got {a}, expected {e}, difference {:.3e}, tolerance {:.3e}",
            (a - e).abs(),
            atol + rtol * e.abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_derivative_fails() {
        // 2x is the right derivative of x²; pretend a missing factor 2 by checking x·c with c
        // held constant but fed the same value (so the tape sees only one use).
        let x = Tensor::from_vec(&[3], vec![0.5, -1.0, 2.0]);
        let result = GradCheck::default().run("half", &[x.clone()], |tape, v| {
            let c = tape.constant(tape.value(v[0]).clone());
            tape.mul(v[0], c)
        });
        let report = result.expect_err("a missing factor 2 must be caught");
        assert!(report.contains("gradient of input 0"), "{report}");
    }

    #[test]
    fn a_nan_gradient_fails() {
        // y = x·c with c = [NaN, 1] held constant: the tape's gradient of element 0 is NaN.
        // A comparison with NaN is false, so a check written `excess > 0` would pass it.
        let x = Tensor::from_vec(&[2], vec![0.5, 1.0]);
        let result = GradCheck::default().run("nan", &[x], |tape, v| {
            let c = tape.constant(Tensor::from_vec(&[2], vec![f32::NAN, 1.0]));
            tape.mul(v[0], c)
        });
        let report = result.expect_err("a NaN gradient must be caught");
        assert!(report.contains("element 0"), "{report}");
        assert!(excess_over_tolerance(f64::NAN, 1.0, 1e-3, 1e-2) > 0.0);
        assert!(excess_over_tolerance(1.0, f64::NAN, 1e-3, 1e-2) > 0.0);
    }

    #[test]
    #[should_panic(expected = "got NaN, expected 2")]
    fn assert_close_catches_a_nan() {
        assert_close("t", &[1.0, f32::NAN], &[1.0, 2.0], 1e-3, 0.0);
    }

    #[test]
    #[should_panic(expected = "worst element 1")]
    fn assert_close_names_the_worst_element() {
        assert_close("t", &[1.0, 2.5, 3.0], &[1.0, 2.0, 3.1], 1e-3, 0.0);
    }
}
