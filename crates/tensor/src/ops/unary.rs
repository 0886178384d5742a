//! Unary elementwise math: neg, scalar add and multiply, exp, log, sqrt, integer powers,
//! abs, clamp.
//!
//! Each backward adds `f'(x)·dy` into `dx`. Where `f'` is cheapest from the output (exp:
//! `f' = y`; sqrt: `f' = 1/(2y)`) the tape hands the output `y` instead of the input.

use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// `dx[i] += g(i)`, the shared tail of every unary backward.
fn add_each(dx: &mut Tensor, g: impl Fn(usize) -> f32) {
    for (i, d) in dx.data_mut().iter_mut().enumerate() {
        *d += g(i);
    }
}

/// `y = −x`.
pub fn neg(x: &Tensor) -> Tensor {
    x.map(|v| -v)
}

/// `y = −x`: `dx += −dy`.
pub fn neg_backward(dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| -dy.data()[i]);
}

/// `y = x + c`.
pub fn add_scalar(x: &Tensor, c: f32) -> Tensor {
    x.map(|v| v + c)
}

/// `y = x + c`: `dx += dy`.
pub fn add_scalar_backward(dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| dy.data()[i]);
}

/// `y = c·x`.
pub fn mul_scalar(x: &Tensor, c: f32) -> Tensor {
    x.map(|v| v * c)
}

/// `y = c·x`: `dx += c·dy`.
pub fn mul_scalar_backward(c: f32, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| c * dy.data()[i]);
}

/// `y = eˣ`.
pub fn exp(x: &Tensor) -> Tensor {
    x.map(f32::exp)
}

/// `y = eˣ`: `dx += y·dy` (saved: the output).
pub fn exp_backward(y: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| y.data()[i] * dy.data()[i]);
}

/// `y = ln x`.
pub fn log(x: &Tensor) -> Tensor {
    x.map(f32::ln)
}

/// `y = ln x`: `dx += dy / x` (saved: the input).
pub fn log_backward(x: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| dy.data()[i] / x.data()[i]);
}

/// `y = √x`.
pub fn sqrt(x: &Tensor) -> Tensor {
    x.map(f32::sqrt)
}

/// `y = √x`: `dx += dy / (2y)` (saved: the output).
pub fn sqrt_backward(y: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| dy.data()[i] / (2.0 * y.data()[i]));
}

/// `y = xⁿ`.
pub fn powi(x: &Tensor, n: i32) -> Tensor {
    x.map(|v| v.powi(n))
}

/// `y = xⁿ`: `dx += n·xⁿ⁻¹·dy` (saved: the input). For `n = 0` the derivative is 0
/// everywhere, even at `x = 0` where `0·x⁻¹` would be NaN.
pub fn powi_backward(x: &Tensor, n: i32, dy: &Tensor, dx: &mut Tensor) {
    if n == 0 {
        return;
    }
    add_each(dx, |i| n as f32 * x.data()[i].powi(n - 1) * dy.data()[i]);
}

/// `y = |x|`.
pub fn abs(x: &Tensor) -> Tensor {
    x.map(f32::abs)
}

/// `y = |x|`: `dx += sign(x)·dy`, with sign(0) = 0 (saved: the input).
pub fn abs_backward(x: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| sign(x.data()[i]) * dy.data()[i]);
}

/// −1, 0 or 1; unlike `f32::signum`, 0 at 0 (the subgradient we pick for |x|).
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `y = clamp(x, lo, hi)`; panics if `lo > hi`.
pub fn clamp(x: &Tensor, lo: f32, hi: f32) -> Tensor {
    assert!(lo <= hi, "clamp: lower bound {lo} above upper bound {hi}");
    x.map(|v| v.clamp(lo, hi))
}

/// `y = clamp(x, lo, hi)`: `dx += dy` where `lo ≤ x ≤ hi`, else nothing (saved: the input).
/// At the bounds themselves we pass the gradient (the subgradient 1), as PyTorch does.
pub fn clamp_backward(x: &Tensor, lo: f32, hi: f32, dy: &Tensor, dx: &mut Tensor) {
    add_each(dx, |i| {
        let v = x.data()[i];
        if v >= lo && v <= hi {
            dy.data()[i]
        } else {
            0.0
        }
    });
}

/// Eager forms on tensors.
impl Tensor {
    /// `−x`.
    pub fn neg(&self) -> Tensor {
        neg(self)
    }

    /// `x + c`.
    pub fn add_scalar(&self, c: f32) -> Tensor {
        add_scalar(self, c)
    }

    /// `c·x`.
    pub fn mul_scalar(&self, c: f32) -> Tensor {
        mul_scalar(self, c)
    }

    /// `eˣ`.
    pub fn exp(&self) -> Tensor {
        exp(self)
    }

    /// `ln x`.
    pub fn log(&self) -> Tensor {
        log(self)
    }

    /// `√x`.
    pub fn sqrt(&self) -> Tensor {
        sqrt(self)
    }

    /// `xⁿ`.
    pub fn powi(&self, n: i32) -> Tensor {
        powi(self, n)
    }

    /// `x²`.
    pub fn square(&self) -> Tensor {
        powi(self, 2)
    }

    /// `|x|`.
    pub fn abs(&self) -> Tensor {
        abs(self)
    }

    /// `x` clamped to `[lo, hi]`.
    pub fn clamp(&self, lo: f32, hi: f32) -> Tensor {
        clamp(self, lo, hi)
    }
}

/// Recording on the tape.
impl Tape {
    /// `−x`.
    pub fn neg(&mut self, x: Var) -> Var {
        let y = neg(self.value(x));
        self.push(Op::Neg(x), y)
    }

    /// `x + c`.
    pub fn add_scalar(&mut self, x: Var, c: f32) -> Var {
        let y = add_scalar(self.value(x), c);
        self.push(Op::AddScalar(x, c), y)
    }

    /// `c·x`.
    pub fn mul_scalar(&mut self, x: Var, c: f32) -> Var {
        let y = mul_scalar(self.value(x), c);
        self.push(Op::MulScalar(x, c), y)
    }

    /// `eˣ`.
    pub fn exp(&mut self, x: Var) -> Var {
        let y = exp(self.value(x));
        self.push(Op::Exp(x), y)
    }

    /// `ln x`.
    pub fn log(&mut self, x: Var) -> Var {
        let y = log(self.value(x));
        self.push(Op::Log(x), y)
    }

    /// `√x`.
    pub fn sqrt(&mut self, x: Var) -> Var {
        let y = sqrt(self.value(x));
        self.push(Op::Sqrt(x), y)
    }

    /// `xⁿ`.
    pub fn powi(&mut self, x: Var, n: i32) -> Var {
        let y = powi(self.value(x), n);
        self.push(Op::Powi(x, n), y)
    }

    /// `x²`.
    pub fn square(&mut self, x: Var) -> Var {
        self.powi(x, 2)
    }

    /// `|x|`.
    pub fn abs(&mut self, x: Var) -> Var {
        let y = abs(self.value(x));
        self.push(Op::Abs(x), y)
    }

    /// `x` clamped to `[lo, hi]`.
    pub fn clamp(&mut self, x: Var, lo: f32, hi: f32) -> Var {
        let y = clamp(self.value(x), lo, hi);
        self.push(Op::Clamp(x, lo, hi), y)
    }
}

#[cfg(test)]
mod tests {
    use crate::gradcheck::{check_gradients, random_tensor, random_tensor_away_from};
    use crate::tape::Tape;
    use crate::tensor::Tensor;

    #[test]
    fn gradients_match_finite_differences() {
        let x = random_tensor(&[3, 5], 1);
        let positive = random_tensor(&[3, 5], 2).map(|v| v.abs() + 0.3);
        let away = random_tensor_away_from(&[3, 5], 3, 0.1);
        check_gradients("neg", &[x.clone()], |t, v| t.neg(v[0]));
        check_gradients("add_scalar", &[x.clone()], |t, v| t.add_scalar(v[0], 2.5));
        check_gradients("mul_scalar", &[x.clone()], |t, v| t.mul_scalar(v[0], -3.0));
        check_gradients("exp", &[x.clone()], |t, v| t.exp(v[0]));
        check_gradients("log", &[positive.clone()], |t, v| t.log(v[0]));
        check_gradients("sqrt", &[positive.clone()], |t, v| t.sqrt(v[0]));
        check_gradients("square", &[x.clone()], |t, v| t.square(v[0]));
        check_gradients("powi 3", &[x.clone()], |t, v| t.powi(v[0], 3));
        check_gradients("powi -2", &[positive], |t, v| t.powi(v[0], -2));
        check_gradients("abs", &[away.clone()], |t, v| t.abs(v[0]));
        // Bounds at ±0.5 while samples stay ≥ 0.1 from 0: keep them off the bounds too.
        let off_bounds = away.map(|v| {
            if (v.abs() - 0.5).abs() < 0.05 {
                v * 1.2
            } else {
                v
            }
        });
        check_gradients("clamp", &[off_bounds], |t, v| t.clamp(v[0], -0.5, 0.5));
    }

    #[test]
    fn conventions_at_bounds_and_zero() {
        // clamp passes the gradient at its bounds (PyTorch's subgradient); x⁰ has derivative 0.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[4], vec![-1.0, -0.5, 0.5, 1.0]));
        let y = tape.clamp(x, -0.5, 0.5);
        let grads = tape.backward_from(y, Tensor::ones(&[4]));
        assert_eq!(grads.get(x).unwrap().data(), &[0.0, 1.0, 1.0, 0.0]);
        let z = tape.leaf(Tensor::zeros(&[1]));
        let one = tape.powi(z, 0);
        assert_eq!(
            tape.backward_from(one, Tensor::ones(&[1]))
                .get(z)
                .unwrap()
                .data(),
            &[0.0]
        );
    }

    #[test]
    fn square_by_hand() {
        // y = x², dy/dx = 2x = −6 at x = −3.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::scalar(-3.0));
        let y = tape.square(x);
        assert_eq!(tape.backward(y).get(x).unwrap().item(), -6.0);
    }
}
