//! Ops that move elements without computing with them: reshape, permute/transpose, slice,
//! index_select, concat and stack.
//!
//! Each is a fixed mapping between output and input positions, so each backward sends every
//! gradient back to where its element came from: `dx[src(i)] += dy[i]`.
//!
//! Slicing, selecting and concatenating along `axis` view a tensor as `[outer, len, inner]`
//! (`outer` the product of the axes before `axis`, `inner` of those after): along `axis`,
//! whole contiguous runs of `inner` elements move together.

use std::fmt;

use crate::kernels::elementwise::add_into;
use crate::shape;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// `(outer, len, inner)` of a shape around `axis`.
fn split_at_axis(shape: &[usize], axis: usize, op: &str) -> (usize, usize, usize) {
    assert!(
        axis < shape.len(),
        "{op}: axis {axis} out of range for shape {shape:?}"
    );
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Output axis `i` is input axis `perm[i]`: `y[j_0, …] = x[i]` with `i_{perm[k]} = j_k`.
pub fn permute(x: &Tensor, perm: &[usize]) -> Tensor {
    let rank = x.rank();
    let mut seen = vec![false; rank];
    assert!(
        perm.len() == rank
            && perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true)),
        "permute: {perm:?} is not a permutation of the axes of shape {:?}",
        x.shape()
    );
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let in_strides = shape::strides(x.shape());
    let read: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let zero = vec![0; rank];
    let mut out = vec![0.0; x.numel()];
    let data = x.data();
    shape::for_each_broadcast(&out_shape, &read, &zero, |i, src, _| out[i] = data[src]);
    Tensor::from_vec(&out_shape, out)
}

/// `dx[src(i)] += dy[i]`, `src` the permuted read of the forward.
pub fn permute_backward(perm: &[usize], dy: &Tensor, dx: &mut Tensor) {
    let in_strides = shape::strides(dx.shape());
    let read: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let zero = vec![0; perm.len()];
    let (g, dx) = (dy.data(), dx.data_mut());
    shape::for_each_broadcast(dy.shape(), &read, &zero, |i, src, _| dx[src] += g[i]);
}

/// A range `start..end` along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceSpec {
    /// The sliced axis.
    pub axis: usize,
    /// First index kept.
    pub start: usize,
    /// One past the last index kept.
    pub end: usize,
}

impl fmt::Display for SliceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "axis {}, {}..{}", self.axis, self.start, self.end)
    }
}

/// `y[o, j, i] = x[o, start + j, i]`.
pub fn slice(x: &Tensor, spec: SliceSpec) -> Tensor {
    let (outer, len, inner) = split_at_axis(x.shape(), spec.axis, "slice");
    assert!(
        spec.start <= spec.end && spec.end <= len,
        "slice: range {}..{} out of bounds for axis {} of shape {:?}",
        spec.start,
        spec.end,
        spec.axis,
        x.shape()
    );
    let run = (spec.end - spec.start) * inner;
    let mut out = Vec::with_capacity(outer * run);
    for o in 0..outer {
        let from = (o * len + spec.start) * inner;
        out.extend_from_slice(&x.data()[from..from + run]);
    }
    let mut out_shape = x.shape().to_vec();
    out_shape[spec.axis] = spec.end - spec.start;
    Tensor::from_vec(&out_shape, out)
}

/// `dx[o, start + j, i] += dy[o, j, i]`.
pub fn slice_backward(spec: &SliceSpec, dy: &Tensor, dx: &mut Tensor) {
    let (outer, len, inner) = split_at_axis(dx.shape(), spec.axis, "slice backward");
    let run = (spec.end - spec.start) * inner;
    for o in 0..outer {
        let to = (o * len + spec.start) * inner;
        add_into(
            &mut dx.data_mut()[to..to + run],
            &dy.data()[o * run..(o + 1) * run],
        );
    }
}

/// `y[o, k, i] = x[o, indices[k], i]`: picks (and may repeat) entries along `axis`, e.g.
/// the images of a mini-batch.
pub fn index_select(x: &Tensor, axis: usize, indices: &[usize]) -> Tensor {
    let (outer, len, inner) = split_at_axis(x.shape(), axis, "index_select");
    if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
        panic!(
            "index_select: index {bad} out of bounds for axis {axis} of shape {:?}",
            x.shape()
        );
    }
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &k in indices {
            let from = (o * len + k) * inner;
            out.extend_from_slice(&x.data()[from..from + inner]);
        }
    }
    let mut out_shape = x.shape().to_vec();
    out_shape[axis] = indices.len();
    Tensor::from_vec(&out_shape, out)
}

/// `dx[o, indices[k], i] += dy[o, k, i]` (a repeated index receives every copy's gradient).
pub fn index_select_backward(axis: usize, indices: &[usize], dy: &Tensor, dx: &mut Tensor) {
    let (outer, len, inner) = split_at_axis(dx.shape(), axis, "index_select backward");
    for o in 0..outer {
        for (j, &k) in indices.iter().enumerate() {
            let to = (o * len + k) * inner;
            let from = (o * indices.len() + j) * inner;
            add_into(
                &mut dx.data_mut()[to..to + inner],
                &dy.data()[from..from + inner],
            );
        }
    }
}

/// Joins tensors along `axis`; all other axes must agree.
pub fn concat(xs: &[&Tensor], axis: usize) -> Tensor {
    assert!(!xs.is_empty(), "concat: no tensors to join");
    let first = xs[0].shape();
    for x in xs {
        let same_rank = x.rank() == first.len() && axis < first.len();
        let others_agree =
            same_rank && (0..first.len()).all(|a| a == axis || x.shape()[a] == first[a]);
        assert!(
            others_agree,
            "concat: shapes {first:?} and {:?} differ outside axis {axis}",
            x.shape()
        );
    }
    let (outer, _, inner) = split_at_axis(first, axis, "concat");
    let total: usize = xs.iter().map(|x| x.shape()[axis]).sum();
    let mut out = Vec::with_capacity(outer * total * inner);
    for o in 0..outer {
        for x in xs {
            let run = x.shape()[axis] * inner;
            out.extend_from_slice(&x.data()[o * run..(o + 1) * run]);
        }
    }
    let mut out_shape = first.to_vec();
    out_shape[axis] = total;
    Tensor::from_vec(&out_shape, out)
}

/// For the input placed at `start..start + len` along `axis`: `dx[o, j, i] += dy[o, start + j, i]`.
pub fn concat_backward(axis: usize, start: usize, dy: &Tensor, dx: &mut Tensor) {
    let len = dx.shape()[axis];
    slice_backward_into(dy, axis, start, len, dx);
}

/// `dx += dy[…, start..start + len, …]`: a slice of `dy` added into a whole `dx`.
fn slice_backward_into(dy: &Tensor, axis: usize, start: usize, len: usize, dx: &mut Tensor) {
    let (outer, total, inner) = split_at_axis(dy.shape(), axis, "concat backward");
    let run = len * inner;
    for o in 0..outer {
        let from = (o * total + start) * inner;
        add_into(
            &mut dx.data_mut()[o * run..(o + 1) * run],
            &dy.data()[from..from + run],
        );
    }
}

/// Eager forms on tensors.
impl Tensor {
    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        permute(self, perm)
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: usize, b: usize) -> Tensor {
        permute(self, &swapped(self.rank(), a, b))
    }

    /// `start..end` along `axis`.
    pub fn slice(&self, axis: usize, start: usize, end: usize) -> Tensor {
        slice(self, SliceSpec { axis, start, end })
    }

    /// Entries `indices` along `axis`.
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Tensor {
        index_select(self, axis, indices)
    }

    /// Joins tensors along `axis`.
    pub fn concat(xs: &[&Tensor], axis: usize) -> Tensor {
        concat(xs, axis)
    }

    /// Stacks tensors of one shape along a new axis `axis`.
    pub fn stack(xs: &[&Tensor], axis: usize) -> Tensor {
        let expanded: Vec<Tensor> = xs
            .iter()
            .map(|x| x.reshape(&with_unit_axis(x.shape(), axis)))
            .collect();
        concat(&expanded.iter().collect::<Vec<_>>(), axis)
    }
}

/// The identity permutation with `a` and `b` swapped.
fn swapped(rank: usize, a: usize, b: usize) -> Vec<usize> {
    assert!(
        a < rank && b < rank,
        "transpose: axes {a}, {b} out of range for rank {rank}"
    );
    let mut perm: Vec<usize> = (0..rank).collect();
    perm.swap(a, b);
    perm
}

/// `shape` with a size-1 axis inserted at `axis`.
fn with_unit_axis(shape: &[usize], axis: usize) -> Vec<usize> {
    assert!(
        axis <= shape.len(),
        "stack: axis {axis} out of range for shape {shape:?}"
    );
    let mut s = shape.to_vec();
    s.insert(axis, 1);
    s
}

/// Recording on the tape.
impl Tape {
    /// The same elements under a new shape (`usize::MAX` infers one axis). Its backward is
    /// `dx = dy` read in the same order: the tape hands `dy`'s buffer itself to `x`.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Var {
        let y = self.value(x).reshape(shape);
        self.push(Op::Reshape(x), y)
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&mut self, x: Var, perm: &[usize]) -> Var {
        let y = permute(self.value(x), perm);
        self.push(Op::Permute(x, perm.to_vec()), y)
    }

    /// Swaps two axes.
    pub fn transpose(&mut self, x: Var, a: usize, b: usize) -> Var {
        let perm = swapped(self.shape(x).len(), a, b);
        self.permute(x, &perm)
    }

    /// `start..end` along `axis`.
    pub fn slice(&mut self, x: Var, axis: usize, start: usize, end: usize) -> Var {
        let spec = SliceSpec { axis, start, end };
        let y = slice(self.value(x), spec);
        self.push(Op::Slice(x, spec), y)
    }

    /// Entries `indices` along `axis`.
    pub fn index_select(&mut self, x: Var, axis: usize, indices: &[usize]) -> Var {
        let y = index_select(self.value(x), axis, indices);
        self.push(Op::IndexSelect(x, axis, indices.to_vec()), y)
    }

    /// Joins along `axis`.
    pub fn concat(&mut self, xs: &[Var], axis: usize) -> Var {
        let values: Vec<&Tensor> = xs.iter().map(|&x| self.value(x)).collect();
        let y = concat(&values, axis);
        self.push(Op::Concat(xs.to_vec(), axis), y)
    }

    /// Stacks along a new axis `axis` (a reshape of each, then a concat).
    pub fn stack(&mut self, xs: &[Var], axis: usize) -> Var {
        let expanded: Vec<Var> = xs
            .iter()
            .map(|&x| {
                let shape = with_unit_axis(self.shape(x), axis);
                self.reshape(x, &shape)
            })
            .collect();
        self.concat(&expanded, axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};

    #[test]
    fn values_by_hand() {
        let x = Tensor::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
        assert_eq!(x.transpose(0, 1).data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(x.slice(1, 1, 3).data(), &[1.0, 2.0, 4.0, 5.0]);
        assert_eq!(
            x.index_select(0, &[1, 1, 0]).data(),
            &[3.0, 4.0, 5.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0]
        );
        assert_eq!(Tensor::concat(&[&x, &x], 1).shape(), &[2, 6]);
        let s = Tensor::stack(&[&x, &x], 1);
        assert_eq!(s.shape(), &[2, 2, 3]);
        assert_eq!(
            s.data(),
            &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0]
        );
        let p = Tensor::arange(0.0, 24.0, 1.0)
            .reshape(&[2, 3, 4])
            .permute(&[2, 0, 1]);
        assert_eq!(p.shape(), &[4, 2, 3]);
        assert_eq!(p.at(&[3, 1, 2]), 23.0);
        assert_eq!(p.at(&[1, 0, 2]), 9.0);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = random_tensor(&[2, 3, 4], 21);
        check_gradients("reshape", &[x.clone()], |t, v| t.reshape(v[0], &[4, 6]));
        check_gradients("permute", &[x.clone()], |t, v| t.permute(v[0], &[1, 2, 0]));
        check_gradients("transpose", &[x.clone()], |t, v| t.transpose(v[0], 0, 2));
        check_gradients("slice", &[x.clone()], |t, v| t.slice(v[0], 2, 1, 3));
        check_gradients("index_select", &[x.clone()], |t, v| {
            t.index_select(v[0], 1, &[2, 0, 2])
        });
        let y = random_tensor(&[2, 5, 4], 22);
        check_gradients("concat", &[x.clone(), y], |t, v| t.concat(&[v[0], v[1]], 1));
        check_gradients("stack", &[x.clone(), x], |t, v| t.stack(&[v[0], v[1]], 3));
    }

    #[test]
    #[should_panic(expected = "concat: shapes [2, 3] and [3, 3] differ outside axis 1")]
    fn concat_checks_shapes() {
        Tensor::concat(&[&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[3, 3])], 1);
    }
}
