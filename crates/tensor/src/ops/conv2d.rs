//! 2-D convolution (cross-correlation, as in every deep-learning library).
//!
//! Shapes: `x: [N, C, H, W]`, `w: [O, C, k_h, k_w]`, `b: [O]`, `y: [N, O, H_out, W_out]`.
//!
//! Forward, with stride `s`, padding `pad` and dilation `d` per axis (x is 0 in the padding):
//!
//! `y[n,o,i,j] = Σ_{c,p,q} x[n,c, i·s_h−pad_h+p·d_h, j·s_w−pad_w+q·d_w]·w[o,c,p,q] + b[o]`
//!
//! Output size (PyTorch's formula, per axis): `H_out = ⌊(H + 2·pad − d·(k−1) − 1) / s⌋ + 1`.
//!
//! Computed as im2col then GEMM, per image: `y[n] (O, H_out·W_out) = W (O, C·k_h·k_w) ·
//! cols (C·k_h·k_w, H_out·W_out)` with `cols = im2col(x[n])`; a stride-1 layer with few
//! channels reads its zero-padded input directly instead ([`crate::kernels::direct`]).
//!
//! Backward (derivation in `docs/derivations/conv_adjoint.md`):
//! - `dx[n] += col2im(Wᵀ·dy[n])`: the adjoint of im2col scatters each column back onto the
//!   pixels it was read from. This *is* [`crate::ops::conv_transpose2d`]'s forward. A
//!   stride-1 convolution computes the same gradient as a convolution of `dy` with the
//!   kernel turned by 180° (`full_convolution`: im2col's gather instead of col2im's
//!   scatter-add).
//! - `dw += Σ_n dy[n]·im2col(x[n])ᵀ`, i.e. `dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i·s−pad+p·d, …]`.
//! - `db[o] += Σ_{n,i,j} dy[n,o,i,j]`.
//!
//! Saved: the input and the weight (the tape keeps them anyway), and on a training tape the
//! im2col matrices the forward built, for the weight gradient (when they fit in
//! [`MAX_SAVED_COLS`]; a larger batch unfolds its input again in the backward pass). im2col
//! and col2im are written once, in [`crate::kernels::im2col`], and shared with the
//! transposed convolution.
use std::fmt;

use crate::par::prelude::*;

use crate::kernels::accumulate::Accumulate;
use crate::kernels::elementwise;
use crate::kernels::im2col::{self, Geometry};
use crate::ops::epilogue::{self, Epilogue};
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// Stride, padding and dilation of a convolution, as (along h, along w).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Step between windows.
    pub stride: (usize, usize),
    /// Zeros added on each side.
    pub padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
}

impl Conv2dSpec {
    /// The same stride and padding along both axes, dilation 1.
    pub fn new(stride: usize, padding: usize) -> Self {
        Conv2dSpec {
            stride: (stride, stride),
            padding: (padding, padding),
            dilation: (1, 1),
        }
    }

    /// This spec with the given dilation along both axes.
    pub fn with_dilation(self, dilation: usize) -> Self {
        Conv2dSpec {
            dilation: (dilation, dilation),
            ..self
        }
    }
}

impl Default for Conv2dSpec {
    /// Stride 1, padding 0, dilation 1.
    fn default() -> Self {
        Conv2dSpec::new(1, 0)
    }
}

impl fmt::Display for Conv2dSpec {
    /// Compact, PyTorch-like: `stride=2, padding=1`; dilation only when it is not 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stride={}, padding={}",
            pair(self.stride),
            pair(self.padding)
        )?;
        if self.dilation != (1, 1) {
            write!(f, ", dilation={}", pair(self.dilation))?;
        }
        Ok(())
    }
}

/// `2` for `(2, 2)`, `(2, 3)` otherwise: how PyTorch's module reprs print a pair.
pub(crate) fn pair((h, w): (usize, usize)) -> String {
    if h == w {
        h.to_string()
    } else {
        format!("({h}, {w})")
    }
}

/// `(H_out, W_out)` of a convolution of an `input = (H, W)` image by a `kernel = (k_h, k_w)`:
/// `H_out = ⌊(H + 2·pad_h − d_h·(k_h−1) − 1) / s_h⌋ + 1`, the same along w (PyTorch's formula).
///
/// Panics on a zero stride, dilation or kernel, or a kernel larger than the padded input.
///
/// ```
/// # use tensor::ops::conv2d::{output_size, Conv2dSpec};
/// // 28×28, 3×3 kernel, stride 2, padding 1: ⌊(28 + 2 − 2 − 1) / 2⌋ + 1 = 14.
/// assert_eq!(output_size((28, 28), (3, 3), &Conv2dSpec::new(2, 1)), (14, 14));
/// ```
pub fn output_size(
    input: (usize, usize),
    kernel: (usize, usize),
    spec: &Conv2dSpec,
) -> (usize, usize) {
    let g = sliding(1, input, kernel, spec);
    (g.h_out, g.w_out)
}

/// The geometry of this convolution over `c_in×H×W` images (checks the settings).
fn sliding(
    c_in: usize,
    input: (usize, usize),
    kernel: (usize, usize),
    spec: &Conv2dSpec,
) -> Geometry {
    let (stride, pad, dilation) = (spec.stride, spec.padding, spec.dilation);
    Geometry::sliding("conv2d", c_in, input, kernel, stride, pad, dilation)
}

/// Checks the shapes of `x [N, C, H, W]`, `w [O, C, k_h, k_w]` and `b [O]` and returns the
/// batch size, output channels and per-image geometry. Every misconfiguration panics here,
/// before any work, naming the values.
fn geometry(
    x: &[usize],
    w: &[usize],
    bias: Option<&[usize]>,
    spec: &Conv2dSpec,
) -> (usize, usize, Geometry) {
    assert!(
        x.len() == 4,
        "conv2d: input must be [N, C, H, W], got shape {x:?}"
    );
    assert!(
        w.len() == 4,
        "conv2d: weight must be [O, C, k_h, k_w], got shape {w:?}"
    );
    assert!(
        x[1] == w[1],
        "conv2d: input has {} channels (shape {x:?}) but weight {w:?} expects {}",
        x[1],
        w[1]
    );
    if let Some(b) = bias {
        assert!(
            b.len() == 1 && b[0] == w[0],
            "conv2d: bias must be [{}] for weight {w:?}, got shape {b:?}",
            w[0]
        );
    }
    (x[0], w[0], sliding(x[1], (x[2], x[3]), (w[2], w[3]), spec))
}

/// `y[n,o,i,j] = Σ_{c,p,q} x[n,c,i·s−pad+p·d, j·s−pad+q·d]·w[o,c,p,q] + b[o]`.
///
/// `x: [N, C, H, W]`, `w: [O, C, k_h, k_w]`, `bias: [O]` → `y: [N, O, H_out, W_out]`.
///
/// ```
/// # use tensor::{Tensor, ops::conv2d::{conv2d, Conv2dSpec}};
/// // x = [1 2 3; 4 5 6; 7 8 9], w = [1 0; 0 −1]: each output is top-left − bottom-right,
/// // 1−5 = −4, 2−6 = −4, 4−8 = −4, 5−9 = −4; plus bias 10.
/// let x = Tensor::from_vec(&[1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
/// let w = Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 0.0, 0.0, -1.0]);
/// let b = Tensor::from_vec(&[1], vec![10.0]);
/// let y = conv2d(&x, &w, Some(&b), &Conv2dSpec::default());
/// assert_eq!(y.shape(), &[1, 1, 2, 2]);
/// assert_eq!(y.data(), &[6.0, 6.0, 6.0, 6.0]);
/// ```
pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, spec: &Conv2dSpec) -> Tensor {
    conv2d_fused(x, w, bias, spec, Epilogue::Identity)
}

/// [`conv2d_fused`], also returning the im2col matrices it built, for the weight gradient
/// (`None` for a dense geometry, whose im2col is `x` itself).
pub fn conv2d_fused_saving(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    act: Epilogue,
) -> (Tensor, Option<Tensor>) {
    convolve_then_epilogue(x, w, bias, spec, act, true)
}

/// The forward of [`conv2d_fused`] and [`conv2d_fused_saving`]: the product (keeping the
/// im2col matrices when `save`), each image then given its bias and activation (on the
/// chunked route as soon as the product has written it, else after the batch).
fn convolve_then_epilogue(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    act: Epilogue,
    save: bool,
) -> (Tensor, Option<Tensor>) {
    let (batch, c_out, g) = geometry(x.shape(), w.shape(), bias.map(Tensor::shape), spec);
    // Every element is written (beta = 0).
    let mut y = Tensor::for_overwrite(&[batch, c_out, g.h_out, g.w_out]);
    let (x_data, w_data) = (x.data(), w.data());
    let b = bias.map(Tensor::data);
    // The epilogue, image by image, as the product completes each one.
    let finish = |image: &mut [f32]| {
        epilogue::bias_and_activation(image, b, c_out, g.out_pixels(), act);
    };
    let finish = epilogue::is_needed(b, act).then_some(&finish as im2col::Finish);
    let saved = if save {
        im2col::convolve_saving_cols(&g, batch, x_data, w_data, c_out, y.data_mut(), finish)
    } else {
        im2col::convolve(&g, batch, x_data, w_data, c_out, 0.0, y.data_mut(), finish);
        None
    };
    (y, saved.map(|cols| Tensor::from_vec(&[cols.len()], cols)))
}

/// The most im2col values a training tape keeps per convolution (64 MiB); a larger batch
/// unfolds its input again in the backward pass instead.
pub const MAX_SAVED_COLS: usize = 16 << 20;

/// `y = act(conv2d(x, w) + b)`: the product, then the bias and the activation in one pass
/// over each image ([`epilogue`]; on the chunked route right after the product writes it).
pub fn conv2d_fused(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    act: Epilogue,
) -> Tensor {
    convolve_then_epilogue(x, w, bias, spec, act, false).0
}

/// `dx[n] += col2im(Wᵀ·dy[n])`, i.e. `dx[n,c,i·s−pad+p·d, j·s−pad+q·d] += Σ_o dy[n,o,i,j]·w[o,c,p,q]`
/// (`=` with [`Accumulate::Overwrite`]).
pub fn conv2d_backward_input(
    w: &Tensor,
    spec: &Conv2dSpec,
    dy: &Tensor,
    dx: &mut Tensor,
    mode: Accumulate,
) {
    let (batch, c_out, g) = geometry(dx.shape(), w.shape(), None, spec);
    check_dy(dy, batch, c_out, &g);
    match full_convolution(&g, c_out, w.data()) {
        Some((full, w_turned)) => {
            let (dy, beta) = (dy.data(), mode.beta());
            im2col::convolve(
                &full,
                batch,
                dy,
                &w_turned,
                g.c_in,
                beta,
                dx.data_mut(),
                None,
            );
        }
        None => im2col::convolve_adjoint(
            &g,
            batch,
            w.data(),
            c_out,
            dy.data(),
            dx.data_mut(),
            mode,
            None,
        ),
    }
}

/// A stride-1 convolution's input gradient as a convolution of `dy`: padded by
/// `pad' = d·(k−1) − pad`, with the kernel turned by 180° and its two channel axes swapped,
///
/// ```text
/// dx[c, y] = Σ_{o,p} dy[o, y + pad − p·d]·w[o, c, p]
///          = Σ_{o,p'} dy[o, y − pad' + p'·d]·w[o, c, k−1−p']      (p' = k−1−p)
/// ```
///
/// so im2col gathers what col2im would scatter-add (a gather costs about half as much per
/// value). `None` when that does not pay: a stride above 1, or a `dy` much smaller than `dx`
/// (a kernel covering its input, whose full convolution would be mostly padding). Returns the
/// geometry and the turned weight `(c_in, c_out·k_h·k_w)`.
fn full_convolution(g: &Geometry, c_out: usize, w: &[f32]) -> Option<(Geometry, Vec<f32>)> {
    let (d_h, d_w) = g.dilation;
    let reach = (d_h * (g.k_h.max(1) - 1), d_w * (g.k_w.max(1) - 1));
    let useful = g.stride == (1, 1)
        && g.pad.0 <= reach.0
        && g.pad.1 <= reach.1
        && g.h * g.w <= 2 * g.out_pixels()
        && g.out_pixels() > 0;
    if !useful {
        return None;
    }
    let pad = (reach.0 - g.pad.0, reach.1 - g.pad.1);
    let kernel = (g.k_h, g.k_w);
    let out = (g.h_out, g.w_out);
    let full = Geometry::sliding(
        "conv2d backward",
        c_out,
        out,
        kernel,
        (1, 1),
        pad,
        g.dilation,
    );
    debug_assert_eq!((full.h_out, full.w_out), (g.h, g.w));
    let (c_in, taps) = (g.c_in, g.k_h * g.k_w);
    let mut turned = vec![0.0; c_in * c_out * taps];
    for c in 0..c_in {
        for o in 0..c_out {
            let from = &w[(o * c_in + c) * taps..][..taps];
            let to = &mut turned[(c * c_out + o) * taps..][..taps];
            // Turning by 180° reverses the row-major order of the k_h×k_w taps.
            to.iter_mut()
                .zip(from.iter().rev())
                .for_each(|(t, &f)| *t = f);
        }
    }
    Some((full, turned))
}

/// `dw[o,c,p,q] += Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i·s−pad+p·d, j·s−pad+q·d]`, i.e. `dw += Σ_n dy[n]·im2col(x[n])ᵀ`
/// (`=` with [`Accumulate::Overwrite`]).
///
/// `saved` is the forward's im2col matrices when it kept them ([`conv2d_fused_saving`]), so
/// `x` is not unfolded a second time; the result is the same either way, bit for bit.
pub fn conv2d_backward_weight(
    x: &Tensor,
    spec: &Conv2dSpec,
    dy: &Tensor,
    dw: &mut Tensor,
    mode: Accumulate,
    saved: Option<&Tensor>,
) {
    let (batch, c_out, g) = geometry(x.shape(), dw.shape(), None, spec);
    check_dy(dy, batch, c_out, &g);
    match saved {
        Some(cols) => im2col::backward_filter_from_cols(
            &g,
            batch,
            cols.data(),
            dy.data(),
            c_out,
            dw.data_mut(),
            mode,
        ),
        None => im2col::backward_filter(&g, batch, x.data(), dy.data(), c_out, dw.data_mut(), mode),
    }
}

/// `db[o] += Σ_{n,i,j} dy[n,o,i,j]` (`=` with [`Accumulate::Overwrite`]; also the bias
/// gradient of conv_transpose2d): each image's plane summed by [`elementwise::sum`], in
/// parallel over images, then the sums added image by image in order
/// ([`conv2d_backward_bias_from_sums`], which the fused backward pass feeds with the same
/// sums: the same bits either way).
///
/// # Panics
/// If `dy` is not 4-D or its channels are not `db`'s.
pub fn conv2d_backward_bias(dy: &Tensor, db: &mut Tensor, mode: Accumulate) {
    let s = dy.shape();
    assert!(
        s.len() == 4 && db.shape() == [s[1]],
        "conv bias backward: dy {s:?} does not match bias {:?}",
        db.shape()
    );
    let (c_out, pixels) = (s[1], s[2] * s[3]);
    let mut sums = vec![0.0f32; s[0] * c_out];
    let sum_plane = |(sum, plane): (&mut f32, &[f32])| *sum = elementwise::sum(plane);
    if pixels > 0 {
        if dy.numel() < elementwise::PARALLEL_THRESHOLD {
            sums.iter_mut()
                .zip(dy.data().chunks(pixels))
                .for_each(sum_plane);
        } else {
            sums.par_iter_mut()
                .zip(dy.data().par_chunks(pixels))
                .for_each(sum_plane);
        }
    }
    conv2d_backward_bias_from_sums(&sums, db, mode);
}

/// `db[o] += Σ_n sums[n·c_out + o]` (`=` with [`Accumulate::Overwrite`]), from the sums of
/// `dy`'s planes, image by image: those [`Epilogue::backward_with_plane_sums`] took in its
/// pass, or [`conv2d_backward_bias`]'s own.
///
/// # Panics
/// If `sums` is not whole images of `db`'s channels.
pub fn conv2d_backward_bias_from_sums(sums: &[f32], db: &mut Tensor, mode: Accumulate) {
    let c_out = db.numel();
    assert!(
        sums.len().is_multiple_of(c_out.max(1)),
        "conv bias backward: {} plane sums are not whole images of {c_out} channels",
        sums.len()
    );
    for (o, db) in db.data_mut().iter_mut().enumerate() {
        let mut sum = 0.0f32;
        for image in sums.chunks_exact(c_out) {
            sum += image[o];
        }
        mode.apply(db, sum);
    }
}

fn check_dy(dy: &Tensor, batch: usize, c_out: usize, g: &Geometry) {
    assert!(
        dy.shape() == [batch, c_out, g.h_out, g.w_out],
        "conv2d backward: dy has shape {:?}, expected {:?}",
        dy.shape(),
        [batch, c_out, g.h_out, g.w_out]
    );
}

/// Recording on the tape.
impl Tape {
    /// `y = conv2d(x, w) + b` with `x: [N, C, H, W]`, `w: [O, C, k_h, k_w]`, `bias: [O]`.
    pub fn conv2d(&mut self, x: Var, w: Var, bias: Option<Var>, spec: Conv2dSpec) -> Var {
        self.conv2d_fused(x, w, bias, spec, Epilogue::Identity)
    }

    /// `y = act(conv2d(x, w) + b)` as one op (see [`epilogue`]).
    pub fn conv2d_fused(
        &mut self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        spec: Conv2dSpec,
        act: Epilogue,
    ) -> Var {
        let (xv, wv) = (self.value(x), self.value(w));
        let bv = bias.map(|b| self.value(b));
        // Keep the im2col matrices for the weight gradient when there will be one and they
        // fit; they cost one unfold of x in the backward pass otherwise.
        let (batch, _, g) = geometry(xv.shape(), wv.shape(), bv.map(Tensor::shape), &spec);
        let fits = g.col_rows() * batch * g.out_pixels() <= MAX_SAVED_COLS;
        let (y, saved) = if self.recording() && self.requires_grad(w) && fits {
            conv2d_fused_saving(xv, wv, bv, &spec, act)
        } else {
            (conv2d_fused(xv, wv, bv, &spec, act), None)
        };
        self.push_saving(Op::Conv2d(x, w, bias, spec, act), y, saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, check_gradients, random_tensor};
    use crate::kernels::conv_reference::conv2d_direct;
    use crate::test_support::{Pick, in_pool, run_bits};

    /// One sampled configuration: shapes and spec.
    #[derive(Debug)]
    pub(crate) struct Case {
        pub batch: usize,
        pub c_in: usize,
        pub c_out: usize,
        pub hw: (usize, usize),
        pub k: (usize, usize),
        pub stride: (usize, usize),
        pub pad: (usize, usize),
        pub dil: (usize, usize),
        pub bias: bool,
    }

    /// `count` valid conv configurations; the `i`-th of each parameter list is forced in turn
    /// so that every value appears at least once, the rest drawn at random.
    pub(crate) fn cases(count: usize, seed: u64) -> Vec<Case> {
        let mut pick = Pick::new(seed);
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < count {
            i += 1;
            // The first 15 configurations cycle through every value; the rest are random.
            let mut v = |n: usize, forced: usize| if i <= 15 { forced % n } else { pick.next(n) };
            let case = Case {
                batch: 1 + v(3, i),
                c_in: 1 + v(4, i),
                c_out: 1 + v(4, i + 1),
                hw: (1 + v(7, i), 1 + v(7, i + 2)),
                k: (1 + v(5, i), 1 + v(5, i + 3)),
                stride: (1 + v(3, i), 1 + v(3, i + 1)),
                pad: (v(3, i), v(3, i + 2)),
                dil: (1 + v(2, i), 1 + v(2, i + 1)),
                bias: v(2, i) == 0,
            };
            let fits = |len: usize, k: usize, pad: usize, d: usize| d * (k - 1) < len + 2 * pad;
            if fits(case.hw.0, case.k.0, case.pad.0, case.dil.0)
                && fits(case.hw.1, case.k.1, case.pad.1, case.dil.1)
            {
                out.push(case);
            }
        }
        out
    }

    fn spec_of(c: &Case) -> Conv2dSpec {
        Conv2dSpec {
            stride: c.stride,
            padding: c.pad,
            dilation: c.dil,
        }
    }

    fn inputs(c: &Case, seed: u64) -> Vec<Tensor> {
        let mut v = vec![
            random_tensor(&[c.batch, c.c_in, c.hw.0, c.hw.1], seed),
            random_tensor(&[c.c_out, c.c_in, c.k.0, c.k.1], seed + 1),
        ];
        if c.bias {
            v.push(random_tensor(&[c.c_out], seed + 2));
        }
        v
    }

    #[test]
    fn by_hand_with_padding_and_stride() {
        // x = [1 2 3; 4 5 6; 7 8 9], w = [1 2; 3 4], stride 2, padding 1. The padded input is
        // 5×5 with a zero border; windows start at rows/cols −1 and 1, giving a 2×2 output:
        //   (−1,−1): [0 0; 0 1]·w = 4·1                 = 4
        //   (−1, 1): [0 0; 2 3]·w = 3·2 + 4·3           = 18
        //   ( 1,−1): [0 4; 0 7]·w = 2·4 + 4·7           = 36
        //   ( 1, 1): [5 6; 8 9]·w = 5 + 12 + 24 + 36    = 77
        let x = Tensor::from_vec(&[1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
        let w = Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let y = conv2d(&x, &w, None, &Conv2dSpec::new(2, 1));
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.data(), &[4.0, 18.0, 36.0, 77.0]);
        // No padding, stride 1: [1 2; 4 5]·w = 1+4+12+20 = 37, then 47, 67, 77.
        let y = conv2d(&x, &w, None, &Conv2dSpec::default());
        assert_eq!(y.data(), &[37.0, 47.0, 67.0, 77.0]);
        // Dilation 2 on the 3×3 input: one window of the corners, 1·1 + 3·2 + 7·3 + 9·4 = 64.
        let y = conv2d(&x, &w, None, &Conv2dSpec::default().with_dilation(2));
        assert_eq!(y.data(), &[64.0]);
    }

    #[test]
    fn backward_by_hand() {
        // y = Σ_{p,q} x[p,q]·w[p,q] for a 2×2 input and kernel (one output), so dy = 1 gives
        // dx = w, dw = x and db = 1.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let w = tape.leaf(Tensor::from_vec(&[1, 1, 2, 2], vec![5.0, 6.0, 7.0, 8.0]));
        let b = tape.leaf(Tensor::from_vec(&[1], vec![0.5]));
        let y = tape.conv2d(x, w, Some(b), Conv2dSpec::default());
        let loss = tape.sum_all(y);
        assert_eq!(tape.value(loss).item(), 5.0 + 12.0 + 21.0 + 32.0 + 0.5);
        let g = tape.backward(loss);
        assert_eq!(g.get(x).unwrap().data(), &[5.0, 6.0, 7.0, 8.0]);
        assert_eq!(g.get(w).unwrap().data(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(g.get(b).unwrap().data(), &[1.0]);
    }

    #[test]
    fn forward_matches_direct_loops() {
        for (idx, c) in cases(150, 7).iter().enumerate() {
            let v = inputs(c, 100 + idx as u64);
            let got = conv2d(&v[0], &v[1], v.get(2), &spec_of(c));
            let (batch, c_out, g) = geometry(v[0].shape(), v[1].shape(), None, &spec_of(c));
            let want = conv2d_direct(
                &g,
                batch,
                c_out,
                v[0].data(),
                v[1].data(),
                v.get(2).map(Tensor::data),
            );
            assert_close(&format!("{c:?}"), got.data(), &want, 1e-5, 1e-5);
        }
    }

    #[test]
    fn lab_shapes_match_direct_loops() {
        // Big enough for multi-image chunks and single-chunk parallel GEMMs.
        for (c_in, c_out, hw, k, s, p) in [
            (1, 16, 28, 3, 2, 1),
            (16, 32, 14, 3, 2, 1),
            (32, 64, 7, 7, 1, 0),
        ] {
            let x = random_tensor(&[5, c_in, hw, hw], 1);
            let w = random_tensor(&[c_out, c_in, k, k], 2);
            let b = random_tensor(&[c_out], 3);
            let spec = Conv2dSpec::new(s, p);
            let got = conv2d(&x, &w, Some(&b), &spec);
            let (batch, c_out, g) = geometry(x.shape(), w.shape(), None, &spec);
            let want = conv2d_direct(&g, batch, c_out, x.data(), w.data(), Some(b.data()));
            assert_close("lab conv", got.data(), &want, 1e-4, 1e-4);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (idx, c) in cases(60, 11).iter().enumerate() {
            let spec = spec_of(c);
            let name = format!("conv2d {c:?}");
            check_gradients(&name, &inputs(c, 200 + idx as u64), |tp, v| {
                tp.conv2d(v[0], v[1], v.get(2).copied(), spec)
            });
        }
    }

    #[test]
    fn gradients_exhaustive_small() {
        // Every stride, padding and dilation on one small input, kernel 2×3.
        for s in 1..=3 {
            for p in 0..=2 {
                for d in 1..=2 {
                    let spec = Conv2dSpec {
                        stride: (s, s),
                        padding: (p, p),
                        dilation: (d, d),
                    };
                    let v = vec![
                        random_tensor(&[2, 2, 5, 6], 5),
                        random_tensor(&[3, 2, 2, 3], 6),
                        random_tensor(&[3], 7),
                    ];
                    check_gradients(&format!("conv2d {spec}"), &v, |tp, v| {
                        tp.conv2d(v[0], v[1], Some(v[2]), spec)
                    });
                }
            }
        }
    }

    #[test]
    fn a_stride_one_input_gradient_as_a_full_convolution_matches_col2im() {
        // The two ways to the input gradient of a stride-1 convolution agree: the turned
        // kernel's convolution of dy (taken for these) and col2im of Wᵀ·dy.
        let cases = [
            (3, (28, 28), (3, 3), (1, 1), (1, 1)), // the pooling autoencoder's layers
            (16, (16, 16), (3, 3), (0, 0), (1, 1)),
            (2, (9, 7), (2, 3), (1, 0), (2, 1)), // uneven kernel, padding and dilation
        ];
        for (c_in, (h, w_len), (k_h, k_w), padding, dilation) in cases {
            let spec = Conv2dSpec {
                stride: (1, 1),
                padding,
                dilation,
            };
            let x = random_tensor(&[4, c_in, h, w_len], 1);
            let w = random_tensor(&[5, c_in, k_h, k_w], 2);
            let dy = random_tensor(conv2d(&x, &w, None, &spec).shape(), 3);
            let (batch, c_out, g) = geometry(x.shape(), w.shape(), None, &spec);
            assert!(
                full_convolution(&g, c_out, w.data()).is_some(),
                "{spec}: full path"
            );
            let mut via_full = Tensor::zeros(x.shape());
            conv2d_backward_input(&w, &spec, &dy, &mut via_full, Accumulate::Add);
            let mut via_col2im = Tensor::zeros(x.shape());
            let (w, dy) = (w.data(), dy.data());
            im2col::convolve_adjoint(
                &g,
                batch,
                w,
                c_out,
                dy,
                via_col2im.data_mut(),
                Accumulate::Add,
                None,
            );
            assert_close(
                &format!("{spec}"),
                via_full.data(),
                via_col2im.data(),
                1e-5,
                1e-5,
            );
        }
    }

    #[test]
    fn gradients_when_the_kernel_covers_the_input() {
        // k = (H, W), no padding: the dense path (one GEMM for the batch, no im2col).
        let v = vec![
            random_tensor(&[3, 2, 3, 2], 8),
            random_tensor(&[4, 2, 3, 2], 9),
            random_tensor(&[4], 10),
        ];
        check_gradients("conv2d dense", &v, |tp, v| {
            tp.conv2d(v[0], v[1], Some(v[2]), Conv2dSpec::default())
        });
        let t = vec![
            random_tensor(&[3, 4, 1, 1], 8),
            random_tensor(&[4, 2, 3, 2], 9),
            random_tensor(&[2], 10),
        ];
        check_gradients("conv_transpose2d dense", &t, |tp, v| {
            tp.conv_transpose2d(
                v[0],
                v[1],
                Some(v[2]),
                crate::ops::conv_transpose2d::ConvTranspose2dSpec::default(),
            )
        });
    }

    #[test]
    fn same_bits_with_one_and_two_threads() {
        for (c_in, c_out, hw, k, s, p) in [
            (1, 16, 28, 3, 2, 1),
            (16, 32, 14, 3, 2, 1),
            (32, 64, 7, 7, 1, 0),
        ] {
            let v = vec![
                random_tensor(&[9, c_in, hw, hw], 1),
                random_tensor(&[c_out, c_in, k, k], 2),
                random_tensor(&[c_out], 3),
            ];
            let spec = Conv2dSpec::new(s, p);
            let f = |tp: &mut Tape, v: &[Var]| tp.conv2d(v[0], v[1], Some(v[2]), spec);
            let one = in_pool(1, || run_bits(&v, f));
            let two = in_pool(2, || run_bits(&v, f));
            assert!(
                one == two,
                "conv2d {c_in}→{c_out} on {hw}×{hw}: results differ between 1 and 2 threads"
            );
        }
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input has 3 channels (shape [1, 3, 5, 5]) but weight [2, 4, 3, 3] expects 4"
    )]
    fn channel_mismatch_panics() {
        conv2d(
            &Tensor::zeros(&[1, 3, 5, 5]),
            &Tensor::zeros(&[2, 4, 3, 3]),
            None,
            &Conv2dSpec::default(),
        );
    }

    #[test]
    #[should_panic(expected = "larger than the padded input along w: 2 + 2·0 = 2")]
    fn kernel_larger_than_input_panics() {
        conv2d(
            &Tensor::zeros(&[1, 1, 5, 2]),
            &Tensor::zeros(&[1, 1, 3, 3]),
            None,
            &Conv2dSpec::default(),
        );
    }

    #[test]
    #[should_panic(expected = "stride along h must be positive, got 0")]
    fn zero_stride_panics() {
        output_size((5, 5), (3, 3), &Conv2dSpec::new(0, 1));
    }

    #[test]
    #[should_panic(expected = "dilation along w must be positive")]
    fn zero_dilation_panics() {
        output_size(
            (5, 5),
            (3, 3),
            &Conv2dSpec {
                dilation: (1, 0),
                ..Default::default()
            },
        );
    }

    #[test]
    #[should_panic(expected = "conv2d: bias must be [2] for weight [2, 1, 3, 3], got shape [3]")]
    fn bias_length_panics() {
        let b = Tensor::zeros(&[3]);
        conv2d(
            &Tensor::zeros(&[1, 1, 5, 5]),
            &Tensor::zeros(&[2, 1, 3, 3]),
            Some(&b),
            &Conv2dSpec::default(),
        );
    }

    #[test]
    #[should_panic(expected = "conv2d: input must be [N, C, H, W], got shape [1, 5, 5]")]
    fn wrong_rank_panics() {
        conv2d(
            &Tensor::zeros(&[1, 5, 5]),
            &Tensor::zeros(&[2, 1, 3, 3]),
            None,
            &Conv2dSpec::default(),
        );
    }

    #[test]
    fn the_saved_im2col_gives_the_weight_gradient_of_a_fresh_unfold_bit_for_bit() {
        for (batch, c_in, hw, spec) in [
            (64, 1, 28, Conv2dSpec::new(2, 1)),
            (7, 60, 9, Conv2dSpec::new(1, 0)), // 60·5 channel pairs: too many for the direct route
            (30, 4, 14, Conv2dSpec::new(2, 1)),
        ] {
            let x = random_tensor(&[batch, c_in, hw, hw], 1);
            let w = random_tensor(&[5, c_in, 3, 3], 2);
            let (y, saved) = conv2d_fused_saving(&x, &w, None, &spec, Epilogue::Identity);
            assert_eq!(y, conv2d(&x, &w, None, &spec), "forward");
            let saved = saved.expect("an im2col geometry keeps its matrices");
            let dy = random_tensor(y.shape(), 3);
            let (mut fresh, mut reused) = (Tensor::zeros(w.shape()), Tensor::zeros(w.shape()));
            let add = Accumulate::Add;
            conv2d_backward_weight(&x, &spec, &dy, &mut fresh, add, None);
            conv2d_backward_weight(&x, &spec, &dy, &mut reused, add, Some(&saved));
            let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fresh), bits(&reused), "batch {batch}, {spec}");
        }
        // A dense geometry (the kernel covers the input) has nothing to keep, nor has the
        // direct route (stride 1, few channels).
        for hw in [3, 9] {
            let x = random_tensor(&[4, 2, hw, hw], 4);
            let w = random_tensor(&[3, 2, 3, 3], 5);
            let (_, saved) =
                conv2d_fused_saving(&x, &w, None, &Conv2dSpec::default(), Epilogue::Relu);
            assert!(saved.is_none(), "{hw}×{hw}");
        }
    }

    #[test]
    fn an_input_of_only_padding_gives_the_bias_whatever_the_pool_holds() {
        // H = 0 with padding 2 and a 3×3 kernel: 2×5 windows that all read padding. Recycled
        // buffers of the output's and the weight gradient's partials' lengths are poisoned
        // with NaN first: nothing may read them unwritten.
        let x = Tensor::zeros(&[64, 1, 0, 3]);
        let w = crate::gradcheck::random_tensor(&[128, 1, 3, 3], 1);
        let b = crate::gradcheck::random_tensor(&[128], 2);
        let spec = Conv2dSpec::new(1, 2);
        for len in [64 * 128 * 2 * 5, 128 * 9] {
            drop(Tensor::full(&[len], f32::NAN));
        }
        let y = conv2d(&x, &w, Some(&b), &spec);
        assert_eq!(y.shape(), &[64, 128, 2, 5]);
        for (i, &v) in y.data().iter().enumerate() {
            assert_eq!(v, b.data()[(i / 10) % 128], "y[{i}]");
        }
        let dy = Tensor::ones(y.shape());
        for mode in [Accumulate::Add, Accumulate::Overwrite] {
            let mut dw = Tensor::full(
                w.shape(),
                if mode == Accumulate::Add {
                    0.0
                } else {
                    f32::NAN
                },
            );
            conv2d_backward_weight(&x, &spec, &dy, &mut dw, mode, None);
            assert!(
                dw.data().iter().all(|&v| v == 0.0),
                "dw of an empty input, {mode:?}"
            );
        }
    }

    #[test]
    fn overwriting_a_poisoned_slot_gives_what_adding_into_zeros_gives() {
        // The tape hands a node's first gradient a recycled buffer to overwrite: every element
        // must be written (NaN would survive otherwise), with the values of the adding path.
        let cases = [
            (3, 2, 9, Conv2dSpec::new(2, 1)),   // strided, padded
            (30, 4, 14, Conv2dSpec::new(2, 1)), // several chunks of images
            (4, 2, 3, Conv2dSpec::default()),   // dense: the kernel covers the input
            (2, 3, 7, Conv2dSpec::new(3, 0)),   // pixels no window covers (stride > kernel)
        ];
        for (batch, c_in, hw, spec) in cases {
            let k = if hw == 3 { 3 } else { 2 };
            let x = random_tensor(&[batch, c_in, hw, hw], 1);
            let w = random_tensor(&[5, c_in, k, k], 2);
            let b = random_tensor(&[5], 3);
            let (y, saved) = conv2d_fused_saving(&x, &w, Some(&b), &spec, Epilogue::Identity);
            let dy = random_tensor(y.shape(), 4);
            let poisoned = |shape: &[usize]| Tensor::full(shape, f32::NAN);
            let (add, write) = (Accumulate::Add, Accumulate::Overwrite);

            let (mut want, mut got) = (Tensor::zeros(x.shape()), poisoned(x.shape()));
            conv2d_backward_input(&w, &spec, &dy, &mut want, add);
            conv2d_backward_input(&w, &spec, &dy, &mut got, write);
            assert_eq!(got, want, "dx, batch {batch}, {spec}");

            for saved in [None, saved.as_ref()] {
                let (mut want, mut got) = (Tensor::zeros(w.shape()), poisoned(w.shape()));
                conv2d_backward_weight(&x, &spec, &dy, &mut want, add, saved);
                conv2d_backward_weight(&x, &spec, &dy, &mut got, write, saved);
                assert_eq!(
                    got,
                    want,
                    "dw, batch {batch}, {spec}, saved {}",
                    saved.is_some()
                );
            }

            let (mut want, mut got) = (Tensor::zeros(b.shape()), poisoned(b.shape()));
            conv2d_backward_bias(&dy, &mut want, add);
            conv2d_backward_bias(&dy, &mut got, write);
            assert_eq!(got, want, "db, batch {batch}, {spec}");
        }
    }
}
