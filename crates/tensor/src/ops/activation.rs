//! Activations: relu, leaky relu, sigmoid, tanh, softplus.
//!
//! Conventions at kinks: relu'(0) = 0 and leaky_relu'(0) = slope (the `x > 0` branch is
//! taken strictly, as PyTorch does). Sigmoid and tanh differentiate through their output.

use crate::kernels::elementwise;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// `σ(x) = 1 / (1 + e⁻ˣ)` for one value, computed without overflow for large `|x|`: for
/// `x < 0` it uses `eˣ / (1 + eˣ)`, so `e` is only ever raised to a non-positive power. The
/// same bits as the 16-lane version the tensor ops use ([`crate::kernels::sigmoid`]).
pub fn sigmoid_of(x: f32) -> f32 {
    crate::kernels::sigmoid::sigmoid(x)
}

/// `softplus(x) = ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|)` for one value; the second form
/// never overflows and keeps precision for large `|x|`.
pub fn softplus_of(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `y = max(x, 0)`.
pub fn relu(x: &Tensor) -> Tensor {
    x.map(|v| v.max(0.0))
}

/// `y = max(x, 0)`: `dx += dy·1[x > 0]` (saved: the input).
pub fn relu_backward(x: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    elementwise::add_map2(dx.data_mut(), x.data(), dy.data(), |x, g| {
        if x > 0.0 { g } else { 0.0 }
    });
}

/// `y = x` if `x > 0`, else `slope·x`.
pub fn leaky_relu(x: &Tensor, slope: f32) -> Tensor {
    x.map(|v| if v > 0.0 { v } else { slope * v })
}

/// `y = x` if `x > 0` else `slope·x`: `dx += dy` or `slope·dy` (saved: the input).
pub fn leaky_relu_backward(x: &Tensor, slope: f32, dy: &Tensor, dx: &mut Tensor) {
    elementwise::add_map2(dx.data_mut(), x.data(), dy.data(), |x, g| {
        if x > 0.0 { g } else { slope * g }
    });
}

/// `y = σ(x)`, stable for large `|x|` ([`sigmoid_of`]).
pub fn sigmoid(x: &Tensor) -> Tensor {
    let mut y = x.clone();
    elementwise::in_place_chunks(y.data_mut(), crate::kernels::sigmoid::sigmoid_in_place);
    y
}

/// `y = σ(x)`: `dx += y·(1 − y)·dy` (saved: the output).
pub fn sigmoid_backward(y: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    elementwise::add_map2(dx.data_mut(), y.data(), dy.data(), |y, g| y * (1.0 - y) * g);
}

/// `y = tanh x`.
pub fn tanh(x: &Tensor) -> Tensor {
    x.map(f32::tanh)
}

/// `y = tanh x`: `dx += (1 − y²)·dy` (saved: the output).
pub fn tanh_backward(y: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    elementwise::add_map2(dx.data_mut(), y.data(), dy.data(), |y, g| (1.0 - y * y) * g);
}

/// `y = ln(1 + eˣ)`, stable for large `|x|` ([`softplus_of`]).
pub fn softplus(x: &Tensor) -> Tensor {
    x.map(softplus_of)
}

/// `y = ln(1 + eˣ)`: `dx += σ(x)·dy` (saved: the input).
pub fn softplus_backward(x: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    elementwise::add_map2(dx.data_mut(), x.data(), dy.data(), |x, g| sigmoid_of(x) * g);
}

/// `y[r, k] = e^{x[r,k] − m_r} / Σ_j e^{x[r,j] − m_r}` along the last axis of a
/// `[rows, classes]` tensor, `m_r` the row's maximum (so no exponent is positive).
pub fn softmax(x: &Tensor) -> Tensor {
    let classes = softmax_classes(x.shape());
    let mut y = x.clone();
    for row in y.data_mut().chunks_exact_mut(classes) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut total = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            total += *v;
        }
        row.iter_mut().for_each(|v| *v /= total);
    }
    y
}

/// `y = softmax(x)`: `dx += y ⊙ (dy − Σ_k dy_k·y_k)` per row (saved: the output).
pub fn softmax_backward(y: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    let classes = softmax_classes(y.shape());
    for ((d, y), g) in dx
        .data_mut()
        .chunks_exact_mut(classes)
        .zip(y.data().chunks_exact(classes))
        .zip(dy.data().chunks_exact(classes))
    {
        let dot: f32 = y.iter().zip(g).map(|(a, b)| a * b).sum();
        for ((d, &y), &g) in d.iter_mut().zip(y).zip(g) {
            *d += y * (g - dot);
        }
    }
}

fn softmax_classes(shape: &[usize]) -> usize {
    assert!(
        shape.len() == 2 && shape[1] > 0,
        "softmax: input must be [rows, classes], got shape {shape:?}"
    );
    shape[1]
}

/// Eager forms on tensors.
impl Tensor {
    /// `max(x, 0)`.
    pub fn relu(&self) -> Tensor {
        relu(self)
    }

    /// `x` where positive, `slope·x` elsewhere.
    pub fn leaky_relu(&self, slope: f32) -> Tensor {
        leaky_relu(self, slope)
    }

    /// `1 / (1 + e⁻ˣ)`, stable for large `|x|`.
    pub fn sigmoid(&self) -> Tensor {
        sigmoid(self)
    }

    /// `tanh x`.
    pub fn tanh(&self) -> Tensor {
        tanh(self)
    }

    /// `ln(1 + eˣ)`, stable for large `|x|`.
    pub fn softplus(&self) -> Tensor {
        softplus(self)
    }
}

/// Recording on the tape.
impl Tape {
    /// `max(x, 0)`.
    pub fn relu(&mut self, x: Var) -> Var {
        let y = relu(self.value(x));
        self.push(Op::Relu(x), y)
    }

    /// `x` where positive, `slope·x` elsewhere.
    pub fn leaky_relu(&mut self, x: Var, slope: f32) -> Var {
        let y = leaky_relu(self.value(x), slope);
        self.push(Op::LeakyRelu(x, slope), y)
    }

    /// `1 / (1 + e⁻ˣ)`.
    pub fn sigmoid(&mut self, x: Var) -> Var {
        let y = sigmoid(self.value(x));
        self.push(Op::Sigmoid(x), y)
    }

    /// `tanh x`.
    pub fn tanh(&mut self, x: Var) -> Var {
        let y = tanh(self.value(x));
        self.push(Op::Tanh(x), y)
    }

    /// `ln(1 + eˣ)`.
    pub fn softplus(&mut self, x: Var) -> Var {
        let y = softplus(self.value(x));
        self.push(Op::Softplus(x), y)
    }

    /// Softmax along the last axis of a `[rows, classes]` tensor.
    pub fn softmax(&mut self, x: Var) -> Var {
        let y = softmax(self.value(x));
        self.push(Op::Softmax(x), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor, random_tensor_away_from};

    #[test]
    fn gradients_match_finite_differences() {
        let away = random_tensor_away_from(&[4, 3], 5, 0.05).mul_scalar(3.0);
        let x = random_tensor(&[4, 3], 6).mul_scalar(3.0);
        check_gradients("relu", &[away.clone()], |t, v| t.relu(v[0]));
        check_gradients("leaky_relu", &[away], |t, v| t.leaky_relu(v[0], 0.1));
        check_gradients("sigmoid", &[x.clone()], |t, v| t.sigmoid(v[0]));
        check_gradients("tanh", &[x.clone()], |t, v| t.tanh(v[0]));
        check_gradients("softplus", &[x], |t, v| t.softplus(v[0]));
        let logits = random_tensor(&[3, 4], 7).mul_scalar(2.0);
        check_gradients("softmax", &[logits], |t, v| t.softmax(v[0]));
    }

    #[test]
    fn sigmoid_and_softplus_are_stable_at_extremes() {
        assert_eq!(sigmoid_of(-1000.0), 0.0);
        assert_eq!(sigmoid_of(1000.0), 1.0);
        assert!((sigmoid_of(0.0) - 0.5).abs() < 1e-7);
        assert_eq!(softplus_of(1000.0), 1000.0);
        assert!(softplus_of(-1000.0) >= 0.0 && softplus_of(-1000.0) < 1e-30);
        assert!((softplus_of(0.0) - 2f32.ln()).abs() < 1e-7);
    }

    #[test]
    fn softmax_by_hand() {
        // Rows [0, ln 3] → [1/4, 3/4]; a huge logit does not overflow.
        let x = Tensor::from_vec(&[2, 2], vec![0.0, 3f32.ln(), 1000.0, 0.0]);
        let y = softmax(&x);
        assert!((y.data()[0] - 0.25).abs() < 1e-6 && (y.data()[1] - 0.75).abs() < 1e-6);
        assert_eq!(&y.data()[2..], &[1.0, 0.0]);
    }

    #[test]
    fn relu_at_zero_passes_no_gradient() {
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[3], vec![-1.0, 0.0, 2.0]));
        let y = tape.relu(x);
        let grads = tape.backward_from(y, Tensor::ones(&[3]));
        assert_eq!(grads.get(x).unwrap().data(), &[0.0, 0.0, 1.0]);
    }
}
