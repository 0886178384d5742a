//! Pooling and upsampling on `[N, C, H, W]` tensors, each channel of each image on its own.
//!
//! Output size of both pools (PyTorch's formula with `ceil_mode = false`, per axis):
//! `H_out = ⌊(H + 2·pad − k) / s⌋ + 1`, with `pad ≤ k/2` so every window holds a real pixel.
//!
//! - Max pool: `y[n,c,i,j] = max_{p,q} x[n,c, i·s_h−pad_h+p, j·s_w−pad_w+q]`, padding read as −∞
//!   (it never wins). Backward: `dx[argmax] += dy`, the gradient goes to the pixel that won.
//!   Ties go to the first pixel in row-major window order (PyTorch's rule). Saved: `argmax`,
//!   the flat index into `x` of each output's winner, as `u32`.
//! - Average pool (`count_include_pad = true`, PyTorch's default): `y[n,c,i,j] = (1/(k_h·k_w))·
//!   Σ_{p,q} x[n,c, i·s_h−pad_h+p, j·s_w−pad_w+q]`, the padding counted as zeros. Backward:
//!   each `dy` is spread evenly, `dx[…] += dy[n,c,i,j]/(k_h·k_w)` over its window. Saves nothing.
//! - Nearest upsampling by an integer factor `f`: `y[n,c,i,j] = x[n,c,⌊i/f⌋,⌊j/f⌋]`, shape
//!   `[N, C, f·H, f·W]`. Backward: `dx[n,c,i,j] += Σ_{a,b<f} dy[n,c,f·i+a,f·j+b]`. Saves nothing.
//!
//! Every output plane is written by one rayon task, so results do not depend on the thread count.
use std::fmt;

use std::array::from_fn;
use std::hint::select_unpredictable;

use wide::f32x8;

use crate::par::prelude::*;

use crate::kernels::geometry::Geometry;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// Kernel, stride and padding of a pooling window, (h, w).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Window size.
    pub kernel: (usize, usize),
    /// Step between windows.
    pub stride: (usize, usize),
    /// Padding on each side.
    pub padding: (usize, usize),
}

impl PoolSpec {
    /// The same kernel, stride and padding along both axes.
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Self {
        PoolSpec {
            kernel: (kernel, kernel),
            stride: (stride, stride),
            padding: (padding, padding),
        }
    }
}

impl fmt::Display for PoolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kernel {:?}, stride {:?}, padding {:?}",
            self.kernel, self.stride, self.padding
        )
    }
}

/// Checks a pooling of `x` and returns `(N·C, H, W, H_out, W_out)`.
fn pool_shape(op: &str, x: &[usize], spec: &PoolSpec) -> (usize, usize, usize, usize, usize) {
    assert!(
        x.len() == 4,
        "{op}: input must be [N, C, H, W], got shape {x:?}"
    );
    // PyTorch's own rule for pooling: a window must keep at least one real value.
    for (axis, k, pad) in [
        ("h", spec.kernel.0, spec.padding.0),
        ("w", spec.kernel.1, spec.padding.1),
    ] {
        assert!(
            pad <= k / 2,
            "{op}: padding along {axis} ({pad}) must be at most half the kernel size ({k})"
        );
    }
    let (input, s) = ((x[2], x[3]), spec);
    let g = Geometry::sliding(op, 1, input, s.kernel, s.stride, s.padding, (1, 1));
    (x[0] * x[1], x[2], x[3], g.h_out, g.w_out)
}

/// Outputs per rayon task: whole planes, at least this many values together, so that a batch
/// of small planes (64 images × 16 channels of 14×14) is not 1,024 tasks of 196 values.
const VALUES_PER_TASK: usize = 1 << 12;

/// The length of a task's slice of a `(planes, plane_len)` tensor: whole planes, about
/// [`VALUES_PER_TASK`] values. Depends on the shape only; every value is computed on its own,
/// so the split never changes a bit.
fn task_len(plane_len: usize) -> usize {
    let plane_len = plane_len.max(1);
    VALUES_PER_TASK.div_ceil(plane_len) * plane_len
}

/// The input rows (or columns) `lo..hi` of window `i` along one axis, clipped to the image.
fn window(i: usize, s: usize, pad: usize, k: usize, len: usize) -> (usize, usize) {
    let start = (i * s) as isize - pad as isize;
    (
        start.max(0) as usize,
        ((start + k as isize) as usize).min(len),
    )
}

/// `y[n,c,i,j] = max_{p,q} x[n,c,i·s−pad+p, j·s−pad+q]` (padding is −∞), and for each output
/// the flat index into `x` of the winner (the first, on ties).
///
/// ```
/// # use tensor::{Tensor, ops::pool::{max_pool2d, PoolSpec}};
/// // 2×2 windows, stride 2 over [1 5 2 0; 3 4 8 7]: max(1,5,3,4) = 5, max(2,0,8,7) = 8.
/// let x = Tensor::from_vec(&[1, 1, 2, 4], vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 7.0]);
/// let (y, argmax) = max_pool2d(&x, &PoolSpec::new(2, 2, 0));
/// assert_eq!(y.data(), &[5.0, 8.0]);
/// assert_eq!(argmax, vec![1, 6]);
/// ```
pub fn max_pool2d(x: &Tensor, spec: &PoolSpec) -> (Tensor, Vec<u32>) {
    let (_, h, w, h_out, w_out) = pool_shape("max_pool2d", x.shape(), spec);
    assert!(
        x.numel() <= u32::MAX as usize,
        "max_pool2d: {} elements do not fit u32 indices",
        x.numel()
    );
    let s = x.shape();
    // Every output is written below.
    let mut y = Tensor::for_overwrite(&[s[0], s[1], h_out, w_out]);
    let mut argmax = vec![0u32; y.numel()];
    let x = x.data();
    let plane_out = h_out * w_out;
    let task = task_len(plane_out);
    // Each window's first value, for the 2×2 case.
    let corners: Option<Vec<u32>> = unclipped_pairs(spec).then(|| {
        (0..h_out)
            .flat_map(|i| (0..w_out).map(move |j| (2 * i * w + 2 * j) as u32))
            .collect()
    });
    y.data_mut()
        .par_chunks_mut(task)
        .zip(argmax.par_chunks_mut(task))
        .enumerate()
        .for_each(|(t, (y, arg))| {
            let first_plane = t * task / plane_out.max(1);
            let planes = y
                .chunks_exact_mut(plane_out.max(1))
                .zip(arg.chunks_exact_mut(plane_out.max(1)));
            for (p, (y, arg)) in planes.enumerate() {
                let base = (first_plane + p) * h * w;
                if let Some(corners) = &corners {
                    max_of_pairs(&x[base..][..h * w], w, corners, base, y, arg);
                    continue;
                }
                for i in 0..h_out {
                    let (r0, r1) = window(i, spec.stride.0, spec.padding.0, spec.kernel.0, h);
                    for j in 0..w_out {
                        let (c0, c1) = window(j, spec.stride.1, spec.padding.1, spec.kernel.1, w);
                        let first = (base + r0 * w + c0) as u32;
                        let (mut best, mut at) = (f32::NEG_INFINITY, first);
                        for r in r0..r1 {
                            for c in c0..c1 {
                                let idx = base + r * w + c;
                                (best, at) = keep_larger((best, at), (x[idx], idx as u32));
                            }
                        }
                        y[i * w_out + j] = best;
                        arg[i * w_out + j] = at;
                    }
                }
            }
        });
    (y, argmax)
}

/// The first of the largest wins; a NaN beats every number, and the first NaN stays.
/// A select, not a branch: which value of a window wins is a coin toss the branch predictor
/// would lose (with branches, the pooling model's max pooling took 8 ns an output).
#[inline(always)]
fn keep_larger((best, at): (f32, u32), (v, idx): (f32, u32)) -> (f32, u32) {
    let better = (v > best) | (v.is_nan() & !best.is_nan());
    select_unpredictable(better, (v, idx), (best, at))
}

/// Whether every window is a 2×2 block at an even row and column, none clipped (kernel 2,
/// stride 2, no padding): the case [`max_of_pairs`] computes without window arithmetic.
fn unclipped_pairs(spec: &PoolSpec) -> bool {
    spec.kernel == (2, 2) && spec.stride == (2, 2) && spec.padding == (0, 0)
}

/// Max pooling of one plane (`x`, rows of `w`) by 2×2 blocks, with the winners of the general
/// loop; `corners[o]` is output `o`'s block's first value in the plane, and `base` the plane's
/// offset in the batch, for the winners' indices.
///
/// Eight outputs at a time in vectors: a tournament, whose first contestant wins ties (each
/// pair's left value, then the top pair), gives the first of the largest as the general loop
/// does, without a branch (as scalar code, the compiler branched on each comparison, and
/// mispredicted half of them: 8 ns an output). The winner's place in its block (0 to 3) is
/// carried as a float. The last outputs are the last eight again (recomputing a few), or, on a
/// plane of fewer than eight, the scalar tournament.
fn max_of_pairs(x: &[f32], w: usize, corners: &[u32], base: usize, y: &mut [f32], arg: &mut [u32]) {
    let n = corners.len();
    let place = [0, 1, w, w + 1];
    if n < 8 {
        for (o, &c) in corners.iter().enumerate() {
            let c = c as usize;
            let at = |p: usize| (x[c + place[p]], (base + c + place[p]) as u32);
            (y[o], arg[o]) = keep_larger(keep_larger(at(0), at(1)), keep_larger(at(2), at(3)));
        }
        return;
    }
    let mut o = 0;
    while o < n {
        let o0 = o.min(n - 8);
        let corner = &corners[o0..o0 + 8];
        let lanes = |p: usize| f32x8::new(from_fn(|k| x[corner[k] as usize + place[p]]));
        let contestant = |p: usize| (lanes(p), f32x8::splat(p as f32));
        let upper = larger_of(contestant(0), contestant(1));
        let lower = larger_of(contestant(2), contestant(3));
        let (best, best_at) = larger_of(upper, lower);
        y[o0..o0 + 8].copy_from_slice(&best.to_array());
        for (k, p) in best_at.to_array().into_iter().enumerate() {
            arg[o0 + k] = (base + corner[k] as usize + place[p as usize]) as u32;
        }
        o = o0 + 8;
    }
}

/// [`keep_larger`] in eight lanes: the second contestant where it is larger, or NaN where the
/// first is not, else the first; with each lane's place.
#[inline(always)]
fn larger_of((best, at): (f32x8, f32x8), (v, place): (f32x8, f32x8)) -> (f32x8, f32x8) {
    let better = v.simd_gt(best) | (v.is_nan() & best.simd_eq(best));
    (better.select(v, best), better.select(place, at))
}

/// `dx[argmax[j]] += dy[j]`: each output's gradient goes to the input pixel that won.
///
/// A window's winner lies in its own plane, so tasks of whole planes (of `dy` and of `dx`) run
/// in parallel; within a plane the terms are added in order, as before.
pub fn max_pool2d_backward(argmax: &[u32], dy: &Tensor, dx: &mut Tensor) {
    assert_eq!(
        argmax.len(),
        dy.numel(),
        "max_pool2d backward: {} winners for dy {:?}",
        argmax.len(),
        dy.shape()
    );
    let (ds, xs) = (dy.shape(), dx.shape());
    assert!(
        ds.len() == 4 && xs.len() == 4 && ds[..2] == xs[..2],
        "max_pool2d backward: dy {ds:?} does not match dx {xs:?}"
    );
    let (plane_out, plane_in) = (ds[2] * ds[3], xs[2] * xs[3]);
    if plane_out == 0 || plane_in == 0 {
        return;
    }
    let planes = task_len(plane_out) / plane_out;
    let dy = dy.data();
    dx.data_mut()
        .par_chunks_mut(planes * plane_in)
        .zip(dy.par_chunks(planes * plane_out))
        .zip(argmax.par_chunks(planes * plane_out))
        .enumerate()
        .for_each(|(t, ((dx, dy), argmax))| {
            let base = t * planes * plane_in;
            for (&at, &g) in argmax.iter().zip(dy) {
                let at = (at as usize)
                    .checked_sub(base)
                    .expect("max_pool2d backward: a winner outside its plane");
                dx[at] += g;
            }
        });
}

/// `y[n,c,i,j] = (1/(k_h·k_w))·Σ_{p,q} x[n,c,i·s−pad+p, j·s−pad+q]`, padding counted as zeros.
///
/// ```
/// # use tensor::{Tensor, ops::pool::{avg_pool2d, PoolSpec}};
/// // 2×2 windows, stride 2, padding 1 on a 2×2 input: each window holds one pixel and three
/// // zeros of padding, so y = x/4.
/// let x = Tensor::from_vec(&[1, 1, 2, 2], vec![4.0, 8.0, 12.0, 16.0]);
/// assert_eq!(avg_pool2d(&x, &PoolSpec::new(2, 2, 1)).data(), &[1.0, 2.0, 3.0, 4.0]);
/// ```
pub fn avg_pool2d(x: &Tensor, spec: &PoolSpec) -> Tensor {
    let (_, h, w, h_out, w_out) = pool_shape("avg_pool2d", x.shape(), spec);
    let s = x.shape();
    let mut y = Tensor::zeros(&[s[0], s[1], h_out, w_out]);
    let scale = 1.0 / (spec.kernel.0 * spec.kernel.1) as f32;
    let x = x.data();
    y.data_mut()
        .par_chunks_mut((h_out * w_out).max(1))
        .enumerate()
        .for_each(|(plane, y)| {
            let x = &x[plane * h * w..][..h * w];
            for i in 0..h_out {
                let (r0, r1) = window(i, spec.stride.0, spec.padding.0, spec.kernel.0, h);
                for j in 0..w_out {
                    let (c0, c1) = window(j, spec.stride.1, spec.padding.1, spec.kernel.1, w);
                    let sum: f32 = (r0..r1)
                        .map(|r| x[r * w + c0..r * w + c1].iter().sum::<f32>())
                        .sum();
                    y[i * w_out + j] = sum * scale;
                }
            }
        });
    y
}

/// `dx[n,c,i·s−pad+p, j·s−pad+q] += dy[n,c,i,j]/(k_h·k_w)` over every window, skipping the
/// padding (the quoted forward: `y = (1/(k_h·k_w))·Σ_{p,q} x[…]`).
pub fn avg_pool2d_backward(spec: &PoolSpec, dy: &Tensor, dx: &mut Tensor) {
    let (_, h, w, h_out, w_out) = pool_shape("avg_pool2d", dx.shape(), spec);
    let scale = 1.0 / (spec.kernel.0 * spec.kernel.1) as f32;
    let dy = dy.data();
    dx.data_mut()
        .par_chunks_mut((h * w).max(1))
        .enumerate()
        .for_each(|(plane, dx)| {
            let dy = &dy[plane * h_out * w_out..][..h_out * w_out];
            for i in 0..h_out {
                let (r0, r1) = window(i, spec.stride.0, spec.padding.0, spec.kernel.0, h);
                for j in 0..w_out {
                    let (c0, c1) = window(j, spec.stride.1, spec.padding.1, spec.kernel.1, w);
                    let g = dy[i * w_out + j] * scale;
                    for r in r0..r1 {
                        dx[r * w + c0..r * w + c1].iter_mut().for_each(|d| *d += g);
                    }
                }
            }
        });
}

/// `y[n,c,i,j] = x[n,c,⌊i/f⌋,⌊j/f⌋]`: each pixel becomes an `f×f` block.
///
/// ```
/// # use tensor::{Tensor, ops::pool::upsample_nearest2d};
/// let x = Tensor::from_vec(&[1, 1, 1, 2], vec![1.0, 2.0]);
/// assert_eq!(upsample_nearest2d(&x, 2).data(), &[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
pub fn upsample_nearest2d(x: &Tensor, factor: usize) -> Tensor {
    let s = x.shape();
    assert!(
        s.len() == 4,
        "upsample_nearest2d: input must be [N, C, H, W], got shape {s:?}"
    );
    assert!(
        factor > 0,
        "upsample_nearest2d: factor must be positive, got {factor}"
    );
    let (h, w) = (s[2], s[3]);
    let (h_out, w_out) = (h * factor, w * factor);
    // Every output is written below.
    let mut y = Tensor::for_overwrite(&[s[0], s[1], h_out, w_out]);
    if y.numel() == 0 {
        return y;
    }
    let (plane_in, plane_out) = (h * w, h_out * w_out);
    let task = task_len(plane_out);
    let x = x.data();
    y.data_mut()
        .par_chunks_mut(task)
        .zip(x.par_chunks(task / plane_out * plane_in))
        .for_each(|(y, x)| {
            // Output rows f·i .. f·i + f repeat input row i, each value f times: the first is
            // built, the others copied from it.
            for (r, rows) in y.chunks_exact_mut(factor * w_out).enumerate() {
                let (plane, i) = (r / h, r % h);
                let src = &x[plane * plane_in + i * w..][..w];
                let (first, rest) = rows.split_at_mut(w_out);
                if factor == 2 {
                    for (pair, &v) in first.chunks_exact_mut(2).zip(src) {
                        pair[0] = v;
                        pair[1] = v;
                    }
                } else {
                    for (block, &v) in first.chunks_exact_mut(factor).zip(src) {
                        block.fill(v);
                    }
                }
                for row in rest.chunks_exact_mut(w_out) {
                    row.copy_from_slice(first);
                }
            }
        });
    y
}

/// `dx[n,c,i,j] += Σ_{a,b<f} dy[n,c,f·i+a,f·j+b]`: each `f×f` block of `dy` sums into one pixel.
pub fn upsample_nearest2d_backward(factor: usize, dy: &Tensor, dx: &mut Tensor) {
    let s = dx.shape();
    let (h, w) = (s[2], s[3]);
    let w_out = w * factor;
    if dx.numel() == 0 || factor == 0 {
        return;
    }
    let plane_in = h * w;
    let task = task_len(plane_in);
    let dy = dy.data();
    dx.data_mut()
        .par_chunks_mut(task)
        .zip(dy.par_chunks(task * factor * factor))
        .for_each(|(dx, dy)| {
            // Input row i receives output rows f·i .. f·i + f in turn, each block of f values
            // adding into one pixel in order.
            for (i, rows) in dy.chunks_exact(factor * w_out).enumerate() {
                let dst = &mut dx[i * w..][..w];
                if factor == 2 {
                    let (a, b) = rows.split_at(w_out);
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = *d + a[2 * j] + a[2 * j + 1] + b[2 * j] + b[2 * j + 1];
                    }
                    continue;
                }
                for row in rows.chunks_exact(w_out) {
                    for (d, block) in dst.iter_mut().zip(row.chunks_exact(factor)) {
                        for &g in block {
                            *d += g;
                        }
                    }
                }
            }
        });
}

/// Recording on the tape.
impl Tape {
    /// Max pooling of `x: [N, C, H, W]`; saves the winners' indices.
    pub fn max_pool2d(&mut self, x: Var, spec: PoolSpec) -> Var {
        let (y, argmax) = max_pool2d(self.value(x), &spec);
        self.push(Op::MaxPool2d(x, spec, argmax), y)
    }

    /// Average pooling of `x: [N, C, H, W]` (padding counted as zeros).
    pub fn avg_pool2d(&mut self, x: Var, spec: PoolSpec) -> Var {
        let y = avg_pool2d(self.value(x), &spec);
        self.push(Op::AvgPool2d(x, spec), y)
    }

    /// Nearest-neighbour upsampling of `x: [N, C, H, W]` by an integer `factor`.
    pub fn upsample_nearest2d(&mut self, x: Var, factor: usize) -> Var {
        let y = upsample_nearest2d(self.value(x), factor);
        self.push(Op::UpsampleNearest2d(x, factor), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};
    use crate::test_support::{Pick, in_pool, run_bits};

    /// Distinct values spaced 0.1 apart in a random order, so max pooling never meets a tie
    /// within the gradient checker's ε = 0.01.
    fn distinct(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let mut values: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - n as f32 * 0.05).collect();
        let mut pick = Pick::new(seed);
        for i in (1..n).rev() {
            values.swap(i, pick.next(i + 1));
        }
        Tensor::from_vec(shape, values)
    }

    #[test]
    fn max_pool_with_padding_by_hand() {
        // 7 → 4 with k = 2, s = 2, pad = 1: ⌊(7 + 2 − 2)/2⌋ + 1 = 4. On one row
        // [3 1 4 1 5 9 2] (as a 1×7 image with k = (1, 2)) the padded windows are
        // [−∞ 3], [1 4], [1 5], [9 2] → 3, 4, 5, 9, won by indices 0, 2, 4, 5.
        let x = Tensor::from_vec(&[1, 1, 1, 7], vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]);
        let spec = PoolSpec {
            kernel: (1, 2),
            stride: (1, 2),
            padding: (0, 1),
        };
        let (y, argmax) = max_pool2d(&x, &spec);
        assert_eq!(y.shape(), &[1, 1, 1, 4]);
        assert_eq!(y.data(), &[3.0, 4.0, 5.0, 9.0]);
        assert_eq!(argmax, vec![0, 2, 4, 5]);
        let (y, _) = max_pool2d(&Tensor::zeros(&[2, 3, 7, 7]), &PoolSpec::new(2, 2, 1));
        assert_eq!(y.shape(), &[2, 3, 4, 4]);
        // All-negative input: the −∞ padding still never wins.
        let (y, _) = max_pool2d(&Tensor::full(&[1, 1, 3, 3], -5.0), &PoolSpec::new(2, 2, 1));
        assert_eq!(y.data(), &[-5.0; 4]);
    }

    #[test]
    fn backward_by_hand() {
        // Max pool 2×2 over [1 5; 3 4]: dx = dy at the 5 only. Avg pool: each of the four gets
        // dy/4. Upsample ×2 of one pixel: dx = the sum of the four dy's.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 5.0, 3.0, 4.0]));
        let m = tape.max_pool2d(x, PoolSpec::new(2, 2, 0));
        let a = tape.avg_pool2d(x, PoolSpec::new(2, 2, 0));
        let sum = tape.add(m, a);
        let loss = tape.sum_all(sum);
        assert_eq!(tape.value(loss).item(), 5.0 + 13.0 / 4.0);
        let g = tape.backward(loss);
        assert_eq!(g.get(x).unwrap().data(), &[0.25, 1.25, 0.25, 0.25]);
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[1, 1, 1, 1], vec![2.0]));
        let u = tape.upsample_nearest2d(x, 2);
        let r = tape.constant(Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let ur = tape.mul(u, r);
        let loss = tape.sum_all(ur);
        assert_eq!(tape.backward(loss).get(x).unwrap().data(), &[10.0]);
    }

    /// `count` pooling configurations over kernel 1–4, stride 1–3, every valid padding.
    fn cases(count: usize, seed: u64) -> Vec<(Vec<usize>, PoolSpec)> {
        let mut pick = Pick::new(seed);
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < count {
            i += 1;
            let mut v = |n: usize, forced: usize| if i <= 12 { forced % n } else { pick.next(n) };
            let k = (1 + v(4, i), 1 + v(4, i + 1));
            let s = (1 + v(3, i), 1 + v(3, i + 2));
            let p = (v(k.0 / 2 + 1, i), v(k.1 / 2 + 1, i + 1));
            let shape = vec![1 + v(3, i), 1 + v(3, i + 1), 1 + v(7, i), 1 + v(7, i + 3)];
            if k.0 <= shape[2] + 2 * p.0 && k.1 <= shape[3] + 2 * p.1 {
                out.push((
                    shape,
                    PoolSpec {
                        kernel: k,
                        stride: s,
                        padding: p,
                    },
                ));
            }
        }
        out
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (idx, (shape, spec)) in cases(40, 21).into_iter().enumerate() {
            let x = distinct(&shape, idx as u64);
            check_gradients(
                &format!("max_pool2d {shape:?} {spec}"),
                std::slice::from_ref(&x),
                |tp, v| tp.max_pool2d(v[0], spec),
            );
            check_gradients(&format!("avg_pool2d {shape:?} {spec}"), &[x], |tp, v| {
                tp.avg_pool2d(v[0], spec)
            });
        }
        for factor in 1..=3 {
            let x = random_tensor(&[2, 3, 3, 2], factor as u64);
            check_gradients(&format!("upsample ×{factor}"), &[x], |tp, v| {
                tp.upsample_nearest2d(v[0], factor)
            });
        }
    }

    #[test]
    fn many_planes_split_over_tasks_match_the_definitions() {
        // Planes of several sizes (2×2 windows: vectors of eight outputs with an overlapping
        // last group, planes of fewer than eight outputs, odd sides whose last row or column
        // no window reads), over several tasks of whole planes. Values on a coarse grid with
        // ReLU's zeros, so windows hold ties (the first of the largest wins), and NaNs (the
        // first NaN wins). Checked element by element against the formulas.
        for (seed, (n, c, h, w)) in [(2, 16, 14, 14), (3, 5, 5, 7), (2, 3, 4, 4), (1, 4, 28, 27)]
            .into_iter()
            .enumerate()
        {
            let mut x =
                random_tensor(&[n, c, h, w], 7 + seed as u64).map(|v| (v * 2.0).round().max(0.0));
            for at in [5, 6, h * w + 2, h * w + 3, h * w + w + 4, n * c * h * w - 1] {
                x.data_mut()[at] = f32::NAN;
            }
            let (h_out, w_out) = (h / 2, w / 2);
            let (y, argmax) = max_pool2d(&x, &PoolSpec::new(2, 2, 0));
            let xd = x.data();
            for plane in 0..n * c {
                for i in 0..h_out {
                    for j in 0..w_out {
                        let cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .map(|(p, q)| plane * h * w + (2 * i + p) * w + 2 * j + q);
                        let nan = cells.iter().find(|&&k| xd[k].is_nan());
                        let want = match nan {
                            Some(&k) => k,
                            None => *cells
                                .iter()
                                .reduce(|a, b| if xd[*b] > xd[*a] { b } else { a })
                                .unwrap(),
                        };
                        let out = (plane * h_out + i) * w_out + j;
                        assert_eq!(
                            argmax[out] as usize, want,
                            "{h}×{w} plane {plane} ({i}, {j})"
                        );
                        assert_eq!(y.data()[out].to_bits(), xd[want].to_bits());
                    }
                }
            }
            for factor in [2, 3] {
                let (hf, wf) = (h * factor, w * factor);
                let up = upsample_nearest2d(&x, factor);
                assert_eq!(up.shape(), &[n, c, hf, wf]);
                let source = |k: usize| {
                    let (plane, rest) = (k / (hf * wf), k % (hf * wf));
                    plane * h * w + rest / wf / factor * w + rest % wf / factor
                };
                for (k, &v) in up.data().iter().enumerate() {
                    assert_eq!(v.to_bits(), xd[source(k)].to_bits(), "upsampled {k}");
                }
                let dy = random_tensor(up.shape(), 8);
                let mut dx = random_tensor(x.shape(), 9);
                let mut want = dx.data().to_vec();
                upsample_nearest2d_backward(factor, &dy, &mut dx);
                // Each pixel's terms in order: its block's rows top to bottom, left to right.
                for (k, &g) in dy.data().iter().enumerate() {
                    want[source(k)] += g;
                }
                assert_eq!(dx.data(), &want[..], "{h}×{w}, factor {factor}");
            }
        }
    }

    #[test]
    fn same_bits_with_one_and_two_threads() {
        let x = distinct(&[8, 16, 28, 28], 1);
        let f = |tp: &mut Tape, v: &[Var]| {
            let m = tp.max_pool2d(v[0], PoolSpec::new(3, 2, 1));
            let a = tp.avg_pool2d(v[0], PoolSpec::new(3, 2, 1));
            let s = tp.add(m, a);
            tp.upsample_nearest2d(s, 2)
        };
        let x = [x];
        assert!(in_pool(1, || run_bits(&x, f)) == in_pool(2, || run_bits(&x, f)));
    }

    #[test]
    #[should_panic(
        expected = "max_pool2d: padding along h (2) must be at most half the kernel size (3)"
    )]
    fn too_much_padding_panics() {
        max_pool2d(&Tensor::zeros(&[1, 1, 5, 5]), &PoolSpec::new(3, 1, 2));
    }

    #[test]
    #[should_panic(
        expected = "avg_pool2d: kernel 4 is larger than the padded input along w: 2 + 2·0 = 2"
    )]
    fn kernel_larger_than_input_panics() {
        avg_pool2d(&Tensor::zeros(&[1, 1, 5, 2]), &PoolSpec::new(4, 1, 0));
    }

    #[test]
    #[should_panic(expected = "stride along h must be positive")]
    fn zero_stride_panics() {
        avg_pool2d(&Tensor::zeros(&[1, 1, 5, 5]), &PoolSpec::new(2, 0, 0));
    }
}
