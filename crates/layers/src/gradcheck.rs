//! Finite-difference checks of a whole module: the gradient of its input and of every
//! trainable parameter.
//!
//! As in [`tensor::gradcheck`]: with a fixed random `r` shaped like the output,
//! `L = Σ r ⊙ module(x)` (in f64), and each element's `∂L/∂θ` from the tape is compared with
//! `(L(θ + ε) − L(θ − ε)) / 2ε`. Parameters are perturbed in place through
//! [`Module::visit_mut`], so this also checks that `forward` puts on the tape the parameters
//! `visit` lists: one it uses as a copy (a constant) instead shows up as a zero gradient. The
//! module must be deterministic across forwards (Dropout in training mode is not).

use std::fmt::Write as _;

use tensor::gradcheck::{GradCheck, excess_over_tolerance};
use tensor::{ParamId, Tensor, rng};

use crate::graph::Graph;
use crate::module::Module;

/// `Σ r ⊙ module(x)` in f64, recording nothing.
fn projected(module: &mut dyn Module, x: &Tensor, r: &Tensor) -> f64 {
    let mut g = Graph::no_grad();
    let xv = g.input(x.clone());
    let y = module.forward(&mut g, xv);
    g.value(y)
        .data()
        .iter()
        .zip(r.data())
        .map(|(&y, &r)| y as f64 * r as f64)
        .sum()
}

/// Replaces element `j` of parameter `which` by `f(old)` and returns the old value.
fn set(module: &mut dyn Module, which: &str, j: usize, f: impl Fn(f32) -> f32) -> f32 {
    let mut old = 0.0;
    module.visit_mut("", &mut |n, p| {
        if n == which {
            old = p.value.data()[j];
            p.value.data_mut()[j] = f(old);
        }
    });
    old
}

/// Checks the gradients of `module` at input `x`, for the input and every trainable
/// parameter; on failure the report names each wrong tensor, its worst element, both values
/// and the tolerance.
pub fn check_module(
    name: &str,
    module: &mut dyn Module,
    x: &Tensor,
    settings: GradCheck,
) -> Result<(), String> {
    // Analytic: L = Σ r ⊙ y on the tape, one backward pass.
    let mut g = Graph::new();
    let xv = g.input_with_grad(x.clone());
    let y = module.forward(&mut g, xv);
    let r = Tensor::normal(g.shape(y), 0.0, 1.0, &mut rng(settings.seed));
    let rv = g.input(r.clone());
    let ry = g.mul(y, rv);
    let loss = g.sum_all(ry);
    let grads = g.backward(loss);
    let or_zeros = |grad: Option<&Tensor>, shape: &[usize]| {
        grad.cloned().unwrap_or_else(|| Tensor::zeros(shape))
    };

    let mut checks: Vec<(String, Tensor)> =
        vec![("input".into(), or_zeros(grads.get(xv), x.shape()))];
    module.visit("", &mut |n, p| {
        if p.is_trainable() {
            let id: ParamId = p.id();
            checks.push((n.to_string(), or_zeros(grads.param(id), p.value.shape())));
        }
    });

    let eps = settings.eps;
    let mut report = String::new();
    for (which, analytic) in &checks {
        let mut worst: Option<(usize, f64, f64, f64)> = None;
        for j in 0..analytic.numel() {
            let (plus, minus) = if which == "input" {
                let mut xp = x.clone();
                xp.data_mut()[j] = x.data()[j] + eps;
                let plus = projected(module, &xp, &r);
                xp.data_mut()[j] = x.data()[j] - eps;
                (plus, projected(module, &xp, &r))
            } else {
                let original = set(module, which, j, |v| v + eps);
                let plus = projected(module, x, &r);
                set(module, which, j, |_| original - eps);
                let minus = projected(module, x, &r);
                set(module, which, j, |_| original);
                (plus, minus)
            };
            let numeric = (plus - minus) / (2.0 * eps as f64);
            let a = analytic.data()[j] as f64;
            let excess = excess_over_tolerance(a, numeric, settings.atol, settings.rtol);
            if excess > 0.0 && worst.is_none_or(|w| excess > w.3) {
                worst = Some((j, a, numeric, excess));
            }
        }
        if let Some((j, a, numeric, _)) = worst {
            let _ = writeln!(
                report,
                "{name}: gradient of {which} (shape {:?}) is wrong at element {j}: tape {a:.6}, \
                 finite differences {numeric:.6}, difference {:.2e}",
                analytic.shape(),
                (a - numeric).abs()
            );
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

/// [`check_module`] with default settings, panicking with the report on failure.
pub fn assert_module_gradients(name: &str, module: &mut dyn Module, x: &Tensor) {
    if let Err(report) = check_module(name, module, x, GradCheck::default()) {
        panic!("{report}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::Linear;
    use crate::module::join;
    use crate::parameter::Parameter;
    use tensor::Var;

    /// A linear layer whose forward uses a copy of its weight instead of the parameter.
    struct Detached(Linear);

    impl Module for Detached {
        fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
            let w = g.input(self.0.weight.value.clone());
            g.matmul_t(x, w, tensor::Transpose { a: false, b: true })
        }
        fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
            f(&join(prefix, "weight"), &self.0.weight);
        }
        fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
            f(&join(prefix, "weight"), &mut self.0.weight);
        }
        fn output_shape(&self, input: &[usize]) -> Vec<usize> {
            input.to_vec()
        }
        fn type_name(&self) -> String {
            "Detached".into()
        }
    }

    #[test]
    fn a_parameter_used_as_a_copy_fails() {
        let mut m = Detached(Linear::new(3, 2, &mut rng(0)));
        let x = tensor::gradcheck::random_tensor(&[2, 3], 1);
        let report = check_module("detached", &mut m, &x, GradCheck::default()).unwrap_err();
        assert!(report.contains("gradient of weight"), "{report}");
    }

    #[test]
    fn a_nan_input_fails() {
        // A NaN in the input makes the tape's gradients NaN: the check must say so, where a
        // comparison `excess > 0` alone is false for NaN and would pass.
        let mut m = Linear::new(3, 2, &mut rng(0));
        let mut x = tensor::gradcheck::random_tensor(&[2, 3], 1);
        x.data_mut()[0] = f32::NAN;
        let report = check_module("nan", &mut m, &x, GradCheck::default()).unwrap_err();
        assert!(report.contains("gradient of weight"), "{report}");
    }
}
