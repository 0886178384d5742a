//! 2-D transposed convolution: the adjoint of [`crate::ops::conv2d`] as a linear map of `x`.
//!
//! Shapes (PyTorch's layout): `x: [N, C, H, W]`, `w: [C, O, k_h, k_w]`, `b: [O]`,
//! `y: [N, O, H_out, W_out]`.
//!
//! Forward: every input pixel scatters a weighted copy of the kernel onto the output,
//!
//! `y[n,o,i·s_h−pad_h+p·d_h, j·s_w−pad_w+q·d_w] += x[n,c,i,j]·w[c,o,p,q]`, then `y[n,o,·,·] += b[o]`,
//!
//! dropping what lands outside `[0, H_out)×[0, W_out)` (the padding crops the output).
//!
//! Output size (PyTorch's formula, per axis): `H_out = (H−1)·s − 2·pad + d·(k−1) + output_padding + 1`.
//! `output_padding < max(s, d)` picks one of the input sizes that a stride-`s` convolution maps
//! to the same `H`.
//!
//! This is exactly the input gradient of the convolution `y → x` with weight `w` viewed as
//! `[C, O·k_h·k_w]`: per image, `y[n] = col2im(Wᵀ·x[n])` with `Wᵀ: (O·k_h·k_w, C)`, which is how
//! it is computed. The same im2col/col2im of [`crate::kernels::im2col`] serve both ops (written
//! once; see `docs/derivations/conv_adjoint.md`).
//!
//! Backward:
//! - `dx[n] = W·im2col(dy[n])`: conv2d's forward applied to `dy`,
//!   `dx[n,c,i,j] += Σ_{o,p,q} dy[n,o,i·s−pad+p·d, j·s−pad+q·d]·w[c,o,p,q]`.
//! - `dw[c,o,p,q] += Σ_{n,i,j} x[n,c,i,j]·dy[n,o,i·s−pad+p·d, j·s−pad+q·d]`, i.e.
//!   `dw += Σ_n x[n]·im2col(dy[n])ᵀ`.
//! - `db[o] += Σ_{n,i,j} dy[n,o,i,j]` ([`crate::ops::conv2d::conv2d_backward_bias`]).
//!
//! All three come from one [`conv_transpose2d_backward`], which takes an optional slot per
//! gradient: the input and weight gradients share one unfolding of `dy` when both are wanted.
//!
//! Saved: the input and the weight (kept by the tape).
use std::fmt;

use crate::kernels::accumulate::Accumulate;
use crate::kernels::im2col::{self, Geometry};
use crate::ops::conv2d;
use crate::ops::epilogue::{self, Epilogue};
use crate::tape::{GradSlot, Op, Tape, Var};
use crate::tensor::Tensor;

/// Stride, padding, output padding and dilation of a transposed convolution, (h, w).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dSpec {
    /// Step between windows of the convolution this one transposes.
    pub stride: (usize, usize),
    /// Padding of that convolution (removed from the output).
    pub padding: (usize, usize),
    /// Extra rows/columns added at the bottom/right of the output.
    pub output_padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
}

impl ConvTranspose2dSpec {
    /// The same stride, padding and output padding along both axes, dilation 1.
    pub fn new(stride: usize, padding: usize, output_padding: usize) -> Self {
        ConvTranspose2dSpec {
            stride: (stride, stride),
            padding: (padding, padding),
            output_padding: (output_padding, output_padding),
            dilation: (1, 1),
        }
    }

    /// This spec with the given dilation along both axes.
    pub fn with_dilation(self, dilation: usize) -> Self {
        ConvTranspose2dSpec {
            dilation: (dilation, dilation),
            ..self
        }
    }
}

impl Default for ConvTranspose2dSpec {
    /// Stride 1, padding 0, output padding 0, dilation 1.
    fn default() -> Self {
        ConvTranspose2dSpec::new(1, 0, 0)
    }
}

impl fmt::Display for ConvTranspose2dSpec {
    /// Compact, PyTorch-like: `stride=2, padding=1, output_padding=1`; output padding and
    /// dilation only when they are not the defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::ops::conv2d::pair;
        write!(
            f,
            "stride={}, padding={}",
            pair(self.stride),
            pair(self.padding)
        )?;
        if self.output_padding != (0, 0) {
            write!(f, ", output_padding={}", pair(self.output_padding))?;
        }
        if self.dilation != (1, 1) {
            write!(f, ", dilation={}", pair(self.dilation))?;
        }
        Ok(())
    }
}

/// `(H_out, W_out)` of a transposed convolution of an `input = (H, W)` image by a
/// `kernel = (k_h, k_w)`: `H_out = (H−1)·s_h − 2·pad_h + d_h·(k_h−1) + output_padding_h + 1`,
/// the same along w (PyTorch's formula).
///
/// Panics on a zero stride, dilation or kernel, an `output_padding ≥ max(stride, dilation)`, or
/// an output size below 1.
///
/// ```
/// # use tensor::ops::conv_transpose2d::{output_size, ConvTranspose2dSpec};
/// // 7×7, 3×3 kernel, stride 2, padding 1, output padding 1: 6·2 − 2 + 2 + 1 + 1 = 14.
/// assert_eq!(output_size((7, 7), (3, 3), &ConvTranspose2dSpec::new(2, 1, 1)), (14, 14));
/// ```
pub fn output_size(
    input: (usize, usize),
    kernel: (usize, usize),
    spec: &ConvTranspose2dSpec,
) -> (usize, usize) {
    let g = adjoint(1, input, kernel, spec);
    (g.h, g.w)
}

/// The geometry of the convolution this op is the adjoint of, for `input = (H, W)` images of
/// this op (that convolution's output) and `out_channels` (its input channels).
fn adjoint(
    out_channels: usize,
    input: (usize, usize),
    kernel: (usize, usize),
    spec: &ConvTranspose2dSpec,
) -> Geometry {
    let s = spec;
    let op = "conv_transpose2d";
    Geometry::adjoint(
        op,
        out_channels,
        input,
        kernel,
        s.stride,
        s.padding,
        s.dilation,
        s.output_padding,
    )
}

/// Checks `x [N, C, H, W]`, `w [C, O, k_h, k_w]`, `b [O]` and returns the batch size, `C`, and
/// the geometry of the convolution this op is the adjoint of. That convolution runs the other
/// way, from an `O×H_out×W_out` image (this op's output) to a `C×H×W` one (this op's input):
/// its `h`, `w` are our output size and its `h_out`, `w_out` our input size. Every
/// misconfiguration panics here, before any work.
fn adjoint_geometry(
    x: &[usize],
    w: &[usize],
    bias: Option<&[usize]>,
    spec: &ConvTranspose2dSpec,
) -> (usize, usize, Geometry) {
    assert!(
        x.len() == 4,
        "conv_transpose2d: input must be [N, C, H, W], got shape {x:?}"
    );
    assert!(
        w.len() == 4,
        "conv_transpose2d: weight must be [C, O, k_h, k_w], got shape {w:?}"
    );
    assert!(
        x[1] == w[0],
        "conv_transpose2d: input has {} channels (shape {x:?}) but weight {w:?} expects {}",
        x[1],
        w[0]
    );
    if let Some(b) = bias {
        assert!(
            b.len() == 1 && b[0] == w[1],
            "conv_transpose2d: bias must be [{}] for weight {w:?}, got shape {b:?}",
            w[1]
        );
    }
    (x[0], x[1], adjoint(w[1], (x[2], x[3]), (w[2], w[3]), spec))
}

/// `y[n,o,i·s−pad+p·d, j·s−pad+q·d] += x[n,c,i,j]·w[c,o,p,q]`, plus `b[o]`.
///
/// `x: [N, C, H, W]`, `w: [C, O, k_h, k_w]`, `bias: [O]` → `y: [N, O, H_out, W_out]`.
///
/// ```
/// # use tensor::{Tensor, ConvTranspose2dSpec, ops::conv_transpose2d::conv_transpose2d};
/// // x = [1 2; 3 4], a 2×2 kernel of ones, stride 1: each input pixel adds itself to a 2×2
/// // block, so the centre gets 1+2+3+4 = 10 and the corners one pixel each.
/// let x = Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
/// let w = Tensor::ones(&[1, 1, 2, 2]);
/// let y = conv_transpose2d(&x, &w, None, &ConvTranspose2dSpec::default());
/// assert_eq!(y.data(), &[1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
/// ```
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvTranspose2dSpec,
) -> Tensor {
    conv_transpose2d_fused(x, w, bias, spec, Epilogue::Identity)
}

/// `y = act(conv_transpose2d(x, w) + b)`: the product, then the bias and the activation in
/// one pass over each image ([`epilogue`]; on the chunked route right after its col2im).
pub fn conv_transpose2d_fused(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvTranspose2dSpec,
    act: Epilogue,
) -> Tensor {
    let (batch, c, conv) = adjoint_geometry(x.shape(), w.shape(), bias.map(Tensor::shape), spec);
    let (out_channels, out_h, out_w) = (conv.c_in, conv.h, conv.w);
    // y[n] = col2im(Wᵀ·x[n]), with W viewed as (C, O·k_h·k_w): the scatter writes every pixel.
    let mut y = Tensor::for_overwrite(&[batch, out_channels, out_h, out_w]);
    let (w, x) = (w.data(), x.data());
    let b = bias.map(Tensor::data);
    // The epilogue, image by image, as col2im completes each one.
    let finish = |image: &mut [f32]| {
        epilogue::bias_and_activation(image, b, out_channels, out_h * out_w, act);
    };
    let finish = epilogue::is_needed(b, act).then_some(&finish as im2col::Finish);
    let overwrite = Accumulate::Overwrite;
    im2col::convolve_adjoint(&conv, batch, w, c, x, y.data_mut(), overwrite, finish);
    y
}

/// The gradients of a transposed convolution, each delivered into its slot when one is given
/// (written or added, as the slot says):
///
/// - `dx[n,c,i,j] += Σ_{o,p,q} dy[n,o,i·s−pad+p·d, j·s−pad+q·d]·w[c,o,p,q]`: the convolution
///   `W·im2col(dy[n])`, i.e. conv2d's forward on `dy`;
/// - `dw[c,o,p,q] += Σ_{n,i,j} x[n,c,i,j]·dy[n,o,i·s−pad+p·d, j·s−pad+q·d]`, i.e.
///   `dw += Σ_n x[n]·im2col(dy[n])ᵀ`;
/// - `db[o] += Σ_{n,i,j} dy[n,o,i,j]`.
///
/// `dx` and `dw` both unfold `dy` with im2col: when both are wanted, one pass computes them
/// together (the same results, bit for bit, as one at a time).
#[allow(clippy::too_many_arguments)] // three inputs, three optional gradients
pub fn conv_transpose2d_backward(
    x: &Tensor,
    w: &Tensor,
    spec: &ConvTranspose2dSpec,
    dy: &Tensor,
    dx: Option<GradSlot>,
    dw: Option<GradSlot>,
    db: Option<GradSlot>,
) {
    let (batch, c, conv) = adjoint_geometry(x.shape(), w.shape(), None, spec);
    assert!(
        dy.shape() == [batch, conv.c_in, conv.h, conv.w],
        "conv_transpose2d backward: dy has shape {:?}, expected {:?}",
        dy.shape(),
        [batch, conv.c_in, conv.h, conv.w]
    );
    if let Some(db) = db {
        conv2d::conv2d_backward_bias(dy, db.grad, db.mode);
    }
    let (dy, x, w) = (dy.data(), x.data(), w.data());
    match (dx, dw) {
        (Some(dx), Some(dw)) => {
            let dx_too = im2col::SharedConvolve {
                w,
                y: dx.grad.data_mut(),
                mode: dx.mode,
            };
            let dw_data = dw.grad.data_mut();
            im2col::backward_filter_and_convolve(
                &conv,
                batch,
                dy,
                x,
                c,
                dw_data,
                dw.mode,
                Some(dx_too),
            );
        }
        (Some(dx), None) => {
            let beta = dx.mode.beta();
            im2col::convolve(&conv, batch, dy, w, c, beta, dx.grad.data_mut(), None);
        }
        (None, Some(dw)) => {
            im2col::backward_filter(&conv, batch, dy, x, c, dw.grad.data_mut(), dw.mode);
        }
        (None, None) => {}
    }
}

/// Recording on the tape.
impl Tape {
    /// `y = conv_transpose2d(x, w) + b` with `x: [N, C, H, W]`, `w: [C, O, k_h, k_w]`, `bias: [O]`.
    pub fn conv_transpose2d(
        &mut self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        spec: ConvTranspose2dSpec,
    ) -> Var {
        self.conv_transpose2d_fused(x, w, bias, spec, Epilogue::Identity)
    }

    /// `y = act(conv_transpose2d(x, w) + b)` as one op (see [`epilogue`]).
    pub fn conv_transpose2d_fused(
        &mut self,
        x: Var,
        w: Var,
        bias: Option<Var>,
        spec: ConvTranspose2dSpec,
        act: Epilogue,
    ) -> Var {
        let y = conv_transpose2d_fused(
            self.value(x),
            self.value(w),
            bias.map(|b| self.value(b)),
            &spec,
            act,
        );
        self.push(Op::ConvTranspose2d(x, w, bias, spec, act), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, check_gradients, random_tensor};
    use crate::kernels::conv_reference::conv_transpose2d_direct;
    use crate::ops::conv2d::{self, Conv2dSpec};
    use crate::tensor::Tensor;
    use crate::test_support::{Pick, in_pool, run_bits};

    /// One configuration of a transposed convolution to test.
    #[derive(Clone, Copy, Debug)]
    struct Case {
        batch: usize,
        c_in: usize,
        c_out: usize,
        /// Input (H, W).
        input: (usize, usize),
        /// (k_h, k_w).
        kernel: (usize, usize),
        spec: ConvTranspose2dSpec,
        bias: bool,
    }

    impl Case {
        /// Random inputs for this case: `[x, w]`, plus `b` when the case has a bias.
        fn inputs(&self, seed: u64) -> Vec<Tensor> {
            let (h, w) = self.input;
            let (k_h, k_w) = self.kernel;
            let mut v = vec![
                random_tensor(&[self.batch, self.c_in, h, w], seed),
                random_tensor(&[self.c_in, self.c_out, k_h, k_w], seed + 1),
            ];
            if self.bias {
                v.push(random_tensor(&[self.c_out], seed + 2));
            }
            v
        }
    }

    /// `count` valid configurations. The first 15 cycle through every value of each
    /// parameter; the rest are random. Every valid output padding `0..max(stride, dilation)`
    /// is drawn.
    fn cases(count: usize, seed: u64) -> Vec<Case> {
        let mut pick = Pick::new(seed);
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < count {
            i += 1;
            let mut v = |n: usize, forced: usize| if i <= 15 { forced % n } else { pick.next(n) };
            let (stride, pad, dil) = (
                (1 + v(3, i), 1 + v(3, i + 1)),
                (v(3, i), v(3, i + 2)),
                (1 + v(2, i), 1 + v(2, i + 1)),
            );
            let op = (v(stride.0.max(dil.0), i), v(stride.1.max(dil.1), i + 1));
            let case = Case {
                batch: 1 + v(3, i),
                c_in: 1 + v(4, i),
                c_out: 1 + v(4, i + 1),
                input: (1 + v(5, i), 1 + v(5, i + 2)),
                kernel: (1 + v(5, i), 1 + v(5, i + 3)),
                spec: ConvTranspose2dSpec {
                    stride,
                    padding: pad,
                    output_padding: op,
                    dilation: dil,
                },
                bias: v(2, i) == 0,
            };
            let size = |len: usize, k: usize, s: usize, p: usize, op: usize, d: usize| {
                ((len - 1) * s + d * (k - 1) + op + 1) as isize - 2 * p as isize
            };
            let (s, k) = (&case.spec, case.kernel);
            if size(case.input.0, k.0, s.stride.0, s.padding.0, op.0, dil.0) > 0
                && size(case.input.1, k.1, s.stride.1, s.padding.1, op.1, dil.1) > 0
            {
                out.push(case);
            }
        }
        out
    }

    /// One of the lab decoder's transposed convolutions, on its square input.
    struct LabLayer {
        c_in: usize,
        c_out: usize,
        side: usize,
        kernel: usize,
        spec: ConvTranspose2dSpec,
    }

    /// The lab decoder's three layers.
    fn lab_layers() -> [LabLayer; 3] {
        let layer = |c_in, c_out, side, kernel, (s, p, op)| LabLayer {
            c_in,
            c_out,
            side,
            kernel,
            spec: ConvTranspose2dSpec::new(s, p, op),
        };
        [
            layer(64, 32, 1, 7, (1, 0, 0)),
            layer(32, 16, 7, 3, (2, 1, 1)),
            layer(16, 1, 14, 3, (2, 1, 1)),
        ]
    }

    #[test]
    fn stride_two_by_hand() {
        // x = [1 2; 3 4], w = [1 2; 3 4], stride 2, no padding: the four scaled copies of w
        // tile a 4×4 output without overlap, x[a,b]·w placed at rows 2a.., cols 2b..:
        //   [1·1 1·2 2·1 2·2]   [1  2  2  4]
        //   [1·3 1·4 2·3 2·4] = [3  4  6  8]
        //   [3·1 3·2 4·1 4·2]   [3  6  4  8]
        //   [3·3 3·4 4·3 4·4]   [9 12 12 16]
        let x = Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let w = Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let y = conv_transpose2d(&x, &w, None, &ConvTranspose2dSpec::new(2, 0, 0));
        assert_eq!(y.shape(), &[1, 1, 4, 4]);
        #[rustfmt::skip]
        assert_eq!(y.data(), &[1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0, 3.0, 6.0, 4.0, 8.0, 9.0, 12.0, 12.0, 16.0]);
        // Padding 1 crops one pixel from each side: the centre [4 6; 6 4] (size (2−1)·2 − 2 + 1 + 1 = 2).
        let y = conv_transpose2d(&x, &w, None, &ConvTranspose2dSpec::new(2, 1, 0));
        assert_eq!(y.data(), &[4.0, 6.0, 6.0, 4.0]);
        // Output padding 1 gives back the bottom row and right column: rows/cols 1..4.
        let y = conv_transpose2d(&x, &w, None, &ConvTranspose2dSpec::new(2, 1, 1));
        assert_eq!(y.shape(), &[1, 1, 3, 3]);
        assert_eq!(y.data(), &[4.0, 6.0, 8.0, 6.0, 4.0, 8.0, 12.0, 12.0, 16.0]);
    }

    #[test]
    fn backward_by_hand() {
        // With stride 2 and a 2×2 kernel the copies do not overlap, so L = Σ y = Σ_{a,b} x[a,b]·Σw
        // + 16·b: dx = Σw = 10 everywhere, dw = Σx = 10 everywhere, db = 16 pixels.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let w = tape.leaf(Tensor::from_vec(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let b = tape.leaf(Tensor::from_vec(&[1], vec![0.0]));
        let y = tape.conv_transpose2d(x, w, Some(b), ConvTranspose2dSpec::new(2, 0, 0));
        let loss = tape.sum_all(y);
        let g = tape.backward(loss);
        assert_eq!(g.get(x).unwrap().data(), &[10.0; 4]);
        assert_eq!(g.get(w).unwrap().data(), &[10.0; 4]);
        assert_eq!(g.get(b).unwrap().data(), &[16.0]);
    }

    #[test]
    fn forward_matches_direct_loops() {
        for (idx, c) in cases(150, 3).iter().enumerate() {
            let v = c.inputs(300 + idx as u64);
            let got = conv_transpose2d(&v[0], &v[1], v.get(2), &c.spec);
            let (batch, ch, g) = adjoint_geometry(v[0].shape(), v[1].shape(), None, &c.spec);
            let want = conv_transpose2d_direct(
                &g,
                batch,
                ch,
                v[0].data(),
                v[1].data(),
                v.get(2).map(Tensor::data),
            );
            assert_close(&format!("{c:?}"), got.data(), &want, 1e-5, 1e-5);
        }
    }

    #[test]
    fn lab_shapes_match_direct_loops() {
        for l in lab_layers() {
            let x = random_tensor(&[5, l.c_in, l.side, l.side], 1);
            let w = random_tensor(&[l.c_in, l.c_out, l.kernel, l.kernel], 2);
            let b = random_tensor(&[l.c_out], 3);
            let got = conv_transpose2d(&x, &w, Some(&b), &l.spec);
            let (batch, ch, g) = adjoint_geometry(x.shape(), w.shape(), None, &l.spec);
            let want = conv_transpose2d_direct(&g, batch, ch, x.data(), w.data(), Some(b.data()));
            assert_close("lab conv_transpose", got.data(), &want, 1e-4, 1e-4);
        }
    }

    #[test]
    fn is_the_adjoint_of_conv2d() {
        // ⟨conv2d(x, w), y⟩ = ⟨x, conv_transpose2d(y, w)⟩, with the output padding that makes
        // the transposed output the size of x.
        let mut pick = Pick::new(17);
        for seed in 0..40u64 {
            let (s, p, d) = (1 + pick.next(3), pick.next(3), 1 + pick.next(2));
            let (k_h, k_w) = (1 + pick.next(4), 1 + pick.next(4));
            let (h, w) = (
                d * (k_h - 1) + 1 + pick.next(6),
                d * (k_w - 1) + 1 + pick.next(6),
            );
            let (c_in, c_out) = (1 + pick.next(3), 1 + pick.next(3));
            let spec = Conv2dSpec {
                stride: (s, s),
                padding: (p, p),
                dilation: (d, d),
            };
            let x = random_tensor(&[2, c_in, h, w], seed);
            let wt = random_tensor(&[c_out, c_in, k_h, k_w], seed + 50);
            let cx = conv2d::conv2d(&x, &wt, None, &spec);
            let y = random_tensor(cx.shape(), seed + 100);
            let op = |len: usize, k: usize| (len + 2 * p - d * (k - 1) - 1) % s;
            let t_spec = ConvTranspose2dSpec {
                stride: (s, s),
                padding: (p, p),
                output_padding: (op(h, k_h), op(w, k_w)),
                dilation: (d, d),
            };
            let ty = conv_transpose2d(&y, &wt, None, &t_spec);
            assert_eq!(ty.shape(), x.shape(), "{spec}");
            let dot = |a: &Tensor, b: &Tensor| {
                a.data()
                    .iter()
                    .zip(b.data())
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
            };
            let (lhs, rhs) = (dot(&cx, &y), dot(&x, &ty));
            assert!(
                (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
                "{spec}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (idx, c) in cases(60, 13).iter().enumerate() {
            let spec = c.spec;
            check_gradients(
                &format!("conv_transpose2d {c:?}"),
                &c.inputs(400 + idx as u64),
                |tp, v| tp.conv_transpose2d(v[0], v[1], v.get(2).copied(), spec),
            );
        }
    }

    #[test]
    fn gradients_exhaustive_small() {
        // Every stride, padding, dilation and valid output padding on one small input.
        for s in 1..=3 {
            for p in 0..=2 {
                for d in 1..=2 {
                    for op in 0..s.max(d) {
                        let spec = ConvTranspose2dSpec {
                            stride: (s, s),
                            padding: (p, p),
                            output_padding: (op, op),
                            dilation: (d, d),
                        };
                        let v = vec![
                            random_tensor(&[2, 2, 3, 4], 5),
                            random_tensor(&[2, 3, 3, 3], 6),
                            random_tensor(&[3], 7),
                        ];
                        check_gradients(&format!("conv_transpose2d {spec}"), &v, |tp, v| {
                            tp.conv_transpose2d(v[0], v[1], Some(v[2]), spec)
                        });
                    }
                }
            }
        }
    }

    #[test]
    fn same_bits_with_one_and_two_threads() {
        for l in lab_layers() {
            let v = vec![
                random_tensor(&[9, l.c_in, l.side, l.side], 1),
                random_tensor(&[l.c_in, l.c_out, l.kernel, l.kernel], 2),
                random_tensor(&[l.c_out], 3),
            ];
            let spec = l.spec;
            let f = |tp: &mut Tape, v: &[Var]| tp.conv_transpose2d(v[0], v[1], Some(v[2]), spec);
            let one = in_pool(1, || run_bits(&v, f));
            let two = in_pool(2, || run_bits(&v, f));
            assert!(
                one == two,
                "conv_transpose2d {}→{} on {}×{}: results differ between 1 and 2 threads",
                l.c_in,
                l.c_out,
                l.side,
                l.side
            );
        }
    }

    #[test]
    fn fused_backward_equals_one_gradient_at_a_time() {
        for (c_in, c_out, hw, k, s, p, op) in [
            (64, 32, 1, 7, 1, 0, 0),
            (32, 16, 7, 3, 2, 1, 1),
            (3, 2, 5, 3, 1, 2, 0),
        ] {
            let x = random_tensor(&[9, c_in, hw, hw], 4);
            let w = random_tensor(&[c_in, c_out, k, k], 5);
            let spec = ConvTranspose2dSpec::new(s, p, op);
            let dy = random_tensor(conv_transpose2d(&x, &w, None, &spec).shape(), 6);
            // Start from non-zero gradients: every path must add, not overwrite.
            let (mut dx1, mut dw1) = (random_tensor(x.shape(), 7), random_tensor(w.shape(), 8));
            let (mut dx2, mut dw2) = (dx1.clone(), dw1.clone());
            let mut db = random_tensor(&[c_out], 9);
            let db_before = db.clone();
            let add = |grad| {
                Some(GradSlot {
                    grad,
                    mode: Accumulate::Add,
                })
            };
            conv_transpose2d_backward(&x, &w, &spec, &dy, add(&mut dx1), None, None);
            conv_transpose2d_backward(&x, &w, &spec, &dy, None, add(&mut dw1), None);
            conv_transpose2d_backward(
                &x,
                &w,
                &spec,
                &dy,
                add(&mut dx2),
                add(&mut dw2),
                add(&mut db),
            );
            assert!(
                dx1 == dx2 && dw1 == dw2,
                "{c_in}→{c_out} on {hw}×{hw}: fused differs"
            );
            let mut want_db = db_before;
            conv2d::conv2d_backward_bias(&dy, &mut want_db, Accumulate::Add);
            assert!(db == want_db, "bias gradient differs");
        }
    }

    #[test]
    fn overwriting_poisoned_slots_gives_what_adding_into_zeros_gives() {
        // Fresh gradient buffers come from the pool with arbitrary contents: every path (dx
        // alone, dw alone, both from one unfolding, and a mix of fresh and used slots) must
        // write every element of a fresh one.
        for (c_in, c_out, hw, k, s, p, op) in [
            (64, 32, 1, 7, 1, 0, 0), // dense: 1×1 input
            (32, 16, 7, 3, 2, 1, 1), // the decoder's strided layer
            (3, 2, 5, 3, 1, 2, 0),
            (2, 3, 4, 1, 3, 0, 2), // output pixels no input reaches
        ] {
            let x = random_tensor(&[9, c_in, hw, hw], 4);
            let w = random_tensor(&[c_in, c_out, k, k], 5);
            let spec = ConvTranspose2dSpec::new(s, p, op);
            let dy = random_tensor(conv_transpose2d(&x, &w, None, &spec).shape(), 6);
            let shapes = [x.shape().to_vec(), w.shape().to_vec(), vec![c_out]];
            // Each slot absent, used (zeros, added into) or fresh (NaN, overwritten).
            let run = |modes: [Option<Accumulate>; 3]| {
                let mut grads = shapes.clone().map(|s| Tensor::zeros(&s));
                let [dx, dw, db] = grads.each_mut();
                fn slot(grad: &mut Tensor, mode: Option<Accumulate>) -> Option<GradSlot<'_>> {
                    let mode = mode?;
                    if mode == Accumulate::Overwrite {
                        grad.data_mut().fill(f32::NAN);
                    }
                    Some(GradSlot { grad, mode })
                }
                let (dx, dw, db) = (slot(dx, modes[0]), slot(dw, modes[1]), slot(db, modes[2]));
                conv_transpose2d_backward(&x, &w, &spec, &dy, dx, dw, db);
                grads
            };
            let want = run([Some(Accumulate::Add); 3]);
            let choices = [None, Some(Accumulate::Add), Some(Accumulate::Overwrite)];
            for a in choices {
                for b in choices {
                    for c in choices {
                        let got = run([a, b, c]);
                        for (i, mode) in [a, b, c].into_iter().enumerate() {
                            if mode.is_some() {
                                assert!(
                                    got[i] == want[i],
                                    "{c_in}→{c_out} on {hw}×{hw}, slots {:?}: gradient {i}",
                                    [a, b, c]
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(
        expected = "output_padding along h (2) must be smaller than either stride (2) or dilation (1)"
    )]
    fn output_padding_too_large_panics() {
        output_size((4, 4), (3, 3), &ConvTranspose2dSpec::new(2, 0, 2));
    }

    #[test]
    fn output_padding_below_dilation_is_allowed() {
        // stride 1, dilation 2: output padding 1 is valid (PyTorch: smaller than stride OR dilation).
        let spec = ConvTranspose2dSpec::new(1, 0, 1).with_dilation(2);
        assert_eq!(output_size((4, 4), (3, 3), &spec), (3 + 4 + 1 + 1, 9));
    }

    #[test]
    #[should_panic(
        expected = "conv_transpose2d: input has 3 channels (shape [1, 3, 4, 4]) but weight [2, 5, 3, 3] expects 2"
    )]
    fn channel_mismatch_panics() {
        conv_transpose2d(
            &Tensor::zeros(&[1, 3, 4, 4]),
            &Tensor::zeros(&[2, 5, 3, 3]),
            None,
            &ConvTranspose2dSpec::default(),
        );
    }

    #[test]
    #[should_panic(expected = "conv_transpose2d: bias must be [5]")]
    fn bias_length_panics() {
        let b = Tensor::zeros(&[2]);
        conv_transpose2d(
            &Tensor::zeros(&[1, 2, 4, 4]),
            &Tensor::zeros(&[2, 5, 3, 3]),
            Some(&b),
            &ConvTranspose2dSpec::default(),
        );
    }

    #[test]
    #[should_panic(expected = "output size along w is not positive")]
    fn too_much_padding_panics() {
        output_size(
            (1, 1),
            (1, 1),
            &ConvTranspose2dSpec {
                padding: (0, 1),
                ..Default::default()
            },
        );
    }

    #[test]
    #[should_panic(expected = "stride along h must be positive")]
    fn zero_stride_panics() {
        output_size((4, 4), (3, 3), &ConvTranspose2dSpec::new(0, 0, 0));
    }
}
