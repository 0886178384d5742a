//! Reductions: sum, mean and max over all axes or given ones, with or without `keepdim`.
//!
//! Forward: `y[j] = Σ_{i ↦ j} x[i]`, where `i ↦ j` means "i lands on j once the reduced
//! axes are dropped". Backward: every `x[i]` gets the gradient of the `y[j]` it landed on,
//! `dx[i] += dy[j]` (times `1/count` for the mean). For the max only the winner gets it:
//! `dx[argmax[j]] += dy[j]`. Sums accumulate in f64 in row-major order, so they are
//! reproducible and accurate for long axes.

use std::fmt;

use crate::shape;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// Which axes a reduction folds, and whether they stay in the output as size 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes {
    /// The reduced axes; empty means all of them.
    pub axes: Vec<usize>,
    /// Keep reduced axes as size 1 (so the result broadcasts against the input).
    pub keepdim: bool,
}

impl Axes {
    /// All axes, the result a scalar.
    pub fn all() -> Axes {
        Axes {
            axes: vec![],
            keepdim: false,
        }
    }

    /// The given axes.
    pub fn of(axes: &[usize], keepdim: bool) -> Axes {
        Axes {
            axes: axes.to_vec(),
            keepdim,
        }
    }

    fn reduces(&self, axis: usize) -> bool {
        self.axes.is_empty() || self.axes.contains(&axis)
    }

    /// The input's shape with reduced axes set to 1.
    pub fn kept_shape(&self, input: &[usize], op: &str) -> Vec<usize> {
        for &a in &self.axes {
            assert!(
                a < input.len(),
                "{op}: axis {a} out of range for shape {input:?}"
            );
        }
        (0..input.len())
            .map(|a| if self.reduces(a) { 1 } else { input[a] })
            .collect()
    }

    /// The output shape: the kept shape, without the size-1 axes unless `keepdim`.
    pub fn output_shape(&self, input: &[usize], op: &str) -> Vec<usize> {
        let kept = self.kept_shape(input, op);
        if self.keepdim {
            kept
        } else {
            (0..input.len())
                .filter(|&a| !self.reduces(a))
                .map(|a| kept[a])
                .collect()
        }
    }

    /// How many input elements land on each output element.
    pub fn count(&self, input: &[usize]) -> usize {
        (0..input.len())
            .filter(|&a| self.reduces(a))
            .map(|a| input[a])
            .product()
    }
}

impl fmt::Display for Axes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.axes.is_empty() {
            write!(f, "all")?;
        } else {
            write!(f, "axes {:?}", self.axes)?;
        }
        if self.keepdim {
            write!(f, ", keepdim")?;
        }
        Ok(())
    }
}

/// `y = Σ x` over `axes`.
pub fn sum(x: &Tensor, axes: &Axes) -> Tensor {
    let kept = axes.kept_shape(x.shape(), "sum");
    let mut acc = vec![0f64; shape::numel(&kept)];
    let identity = shape::strides(x.shape());
    let to_out = shape::broadcast_strides(&kept, x.shape());
    let data = x.data();
    shape::for_each_broadcast(x.shape(), &identity, &to_out, |_, i, j| {
        acc[j] += data[i] as f64
    });
    Tensor::from_vec(
        &axes.output_shape(x.shape(), "sum"),
        acc.into_iter().map(|v| v as f32).collect(),
    )
}

/// `dx[i] += scale·dy[j]` for every `i ↦ j`: the shared backward of sum and mean.
fn spread(axes: &Axes, scale: f32, dy: &Tensor, dx: &mut Tensor) {
    let kept = axes.kept_shape(dx.shape(), "reduce backward");
    let in_shape = dx.shape().to_vec();
    let identity = shape::strides(&in_shape);
    let from_out = shape::broadcast_strides(&kept, &in_shape);
    let (dy, dx) = (dy.data(), dx.data_mut());
    shape::for_each_broadcast(&in_shape, &identity, &from_out, |_, i, j| {
        dx[i] += scale * dy[j]
    });
}

/// `y = Σ x`: `dx[i] += dy[j]`.
pub fn sum_backward(axes: &Axes, dy: &Tensor, dx: &mut Tensor) {
    spread(axes, 1.0, dy, dx);
}

/// `y = (1/count)·Σ x`.
pub fn mean(x: &Tensor, axes: &Axes) -> Tensor {
    let count = axes.count(x.shape()).max(1) as f32;
    sum(x, axes).mul_scalar(1.0 / count)
}

/// `y = (1/count)·Σ x`: `dx[i] += dy[j] / count`.
pub fn mean_backward(axes: &Axes, dy: &Tensor, dx: &mut Tensor) {
    let count = axes.count(dx.shape()).max(1) as f32;
    spread(axes, 1.0 / count, dy, dx);
}

/// `y[j] = max_{i ↦ j} x[i]`, and for each `j` the flat index of the first maximal `x[i]`.
pub fn max(x: &Tensor, axes: &Axes) -> (Tensor, Vec<usize>) {
    let kept = axes.kept_shape(x.shape(), "max");
    assert!(x.numel() > 0, "max: empty tensor of shape {:?}", x.shape());
    let n_out = shape::numel(&kept);
    let mut best = vec![f32::NEG_INFINITY; n_out];
    let mut argmax = vec![usize::MAX; n_out];
    let identity = shape::strides(x.shape());
    let to_out = shape::broadcast_strides(&kept, x.shape());
    let data = x.data();
    shape::for_each_broadcast(x.shape(), &identity, &to_out, |_, i, j| {
        if argmax[j] == usize::MAX || data[i] > best[j] {
            best[j] = data[i];
            argmax[j] = i;
        }
    });
    (
        Tensor::from_vec(&axes.output_shape(x.shape(), "max"), best),
        argmax,
    )
}

/// `y[j] = x[argmax[j]]`: `dx[argmax[j]] += dy[j]` (saved: the arg-max).
pub fn max_backward(argmax: &[usize], dy: &Tensor, dx: &mut Tensor) {
    for (&i, &g) in argmax.iter().zip(dy.data()) {
        dx.data_mut()[i] += g;
    }
}

/// Eager forms on tensors.
impl Tensor {
    /// The sum of all elements, as a scalar tensor.
    pub fn sum_all(&self) -> Tensor {
        sum(self, &Axes::all())
    }

    /// The sum over `axes`.
    pub fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Tensor {
        sum(self, &Axes::of(axes, keepdim))
    }

    /// The mean of all elements, as a scalar tensor.
    pub fn mean_all(&self) -> Tensor {
        mean(self, &Axes::all())
    }

    /// The mean over `axes`.
    pub fn mean_axes(&self, axes: &[usize], keepdim: bool) -> Tensor {
        mean(self, &Axes::of(axes, keepdim))
    }

    /// The maximum along `axis`.
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        max(self, &Axes::of(&[axis], keepdim)).0
    }

    /// The largest element.
    pub fn max_all(&self) -> f32 {
        max(self, &Axes::all()).0.item()
    }

    /// For each position of the other axes (row-major), the index along `axis` of the first
    /// largest element: e.g. the predicted class of each row of logits `[batch, classes]`.
    pub fn argmax(&self, axis: usize) -> Vec<usize> {
        let (_, flat) = max(self, &Axes::of(&[axis], false));
        let stride = shape::strides(self.shape())[axis];
        flat.into_iter()
            .map(|i| (i / stride) % self.shape()[axis])
            .collect()
    }
}

/// Recording on the tape.
impl Tape {
    /// The sum of all elements.
    pub fn sum_all(&mut self, x: Var) -> Var {
        self.sum(x, &[], false)
    }

    /// The sum over `axes` (all when empty).
    pub fn sum(&mut self, x: Var, axes: &[usize], keepdim: bool) -> Var {
        let axes = Axes::of(axes, keepdim);
        let y = sum(self.value(x), &axes);
        self.push(Op::Sum(x, axes), y)
    }

    /// The mean of all elements.
    pub fn mean_all(&mut self, x: Var) -> Var {
        self.mean(x, &[], false)
    }

    /// The mean over `axes` (all when empty).
    pub fn mean(&mut self, x: Var, axes: &[usize], keepdim: bool) -> Var {
        let axes = Axes::of(axes, keepdim);
        let y = mean(self.value(x), &axes);
        self.push(Op::Mean(x, axes), y)
    }

    /// The maximum along `axis`; the gradient flows to the first maximal element only.
    pub fn max(&mut self, x: Var, axis: usize, keepdim: bool) -> Var {
        let axes = Axes::of(&[axis], keepdim);
        let (y, argmax) = max(self.value(x), &axes);
        self.push(Op::Max(x, axes, argmax), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};

    #[test]
    fn values_by_hand() {
        let x = Tensor::from_vec(&[2, 3], vec![1.0, 5.0, 3.0, 4.0, 2.0, 6.0]);
        assert_eq!(x.sum_all().item(), 21.0);
        assert_eq!(x.sum_axes(&[0], false).data(), &[5.0, 7.0, 9.0]);
        assert_eq!(x.sum_axes(&[1], true).shape(), &[2, 1]);
        assert_eq!(x.mean_axes(&[1], false).data(), &[3.0, 4.0]);
        assert_eq!(x.max_axis(1, false).data(), &[5.0, 6.0]);
        assert_eq!(x.argmax(1), vec![1, 2]);
        assert_eq!(x.argmax(0), vec![1, 0, 1]);
        assert_eq!(x.max_all(), 6.0);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = random_tensor(&[2, 3, 4], 11);
        for axes in [vec![], vec![0], vec![1], vec![2], vec![0, 2]] {
            for keepdim in [false, true] {
                check_gradients("sum", &[x.clone()], |t, v| t.sum(v[0], &axes, keepdim));
                check_gradients("mean", &[x.clone()], |t, v| t.mean(v[0], &axes, keepdim));
            }
        }
        // Distinct values 0.1 apart (a scrambled ramp), so no tie lies within the step ε.
        let spaced = Tensor::from_vec(
            &[2, 3, 4],
            (0..24).map(|i| ((i * 7) % 24) as f32 * 0.1 - 1.2).collect(),
        );
        for axis in 0..3 {
            check_gradients("max", &[spaced.clone()], |t, v| {
                t.max(v[0], axis, axis == 1)
            });
        }
    }

    #[test]
    fn mean_by_hand() {
        // y = mean(x) over 4 elements: dy/dx_i = 1/4.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let y = tape.mean_all(x);
        assert_eq!(tape.value(y).item(), 2.5);
        assert_eq!(tape.backward(y).get(x).unwrap().data(), &[0.25; 4]);
    }
}
