//! The geometry of a sliding window, shared by convolution, transposed convolution and
//! pooling: how many windows fit along an axis, and where each one reads.
//!
//! Along one axis, a window of `k` taps spaced `d` apart covers `d·(k−1) + 1` input values
//! (its extent); windows start every `s` values of the input padded by `pad` on each side.
//! Two formulas follow, PyTorch's, each written once here ([`Axis`]):
//!
//! ```text
//! windows over len values:    out = ⌊(len + 2·pad − extent) / s⌋ + 1      conv2d, pooling
//! values under out windows:   len = (out − 1)·s − 2·pad + extent + op     conv_transpose2d
//! ```
//!
//! (`op`, the output padding, picks one of the `s` input lengths that give the same `out`.)
//! A transposed convolution is the adjoint of a convolution, so it uses that convolution's
//! [`Geometry`] read backwards (see `ops::conv_transpose2d`).

/// One spatial axis of a sliding window: its taps, their spacing, and the window step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Taps of the window (the kernel size).
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Zeros on each side of the input.
    pub pad: usize,
    /// Spacing between taps (1 for pooling).
    pub dilation: usize,
}

impl Axis {
    /// Input values one window spans, `d·(k−1) + 1`.
    pub fn extent(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// Panics, as `op` along `axis`, on a zero stride, dilation or kernel.
    fn check(&self, op: &str, axis: &str) {
        let Axis {
            kernel: k,
            stride: s,
            dilation: d,
            ..
        } = *self;
        assert!(s > 0, "{op}: stride along {axis} must be positive, got {s}");
        assert!(
            d > 0,
            "{op}: dilation along {axis} must be positive, got {d}"
        );
        assert!(
            k > 0,
            "{op}: kernel size along {axis} must be positive, got {k}"
        );
    }

    /// Windows that fit in `len` padded values: `⌊(len + 2·pad − extent) / s⌋ + 1`.
    ///
    /// Panics (naming `op` and `axis`) on a bad setting or a window larger than the padded
    /// input.
    ///
    /// ```
    /// # use tensor::kernels::geometry::Axis;
    /// // 28 values, 3 taps, stride 2, padding 1: ⌊(28 + 2 − 3) / 2⌋ + 1 = 14.
    /// let axis = Axis { kernel: 3, stride: 2, pad: 1, dilation: 1 };
    /// assert_eq!(axis.windows("conv2d", "h", 28), 14);
    /// ```
    pub fn windows(&self, op: &str, axis: &str, len: usize) -> usize {
        self.check(op, axis);
        let (k, d, pad, extent) = (self.kernel, self.dilation, self.pad, self.extent());
        let padded = len + 2 * pad;
        let what = if d == 1 {
            format!("kernel {k}")
        } else {
            format!("kernel {k} (dilation {d}, extent {extent})")
        };
        assert!(
            extent <= padded,
            "{op}: {what} is larger than the padded input along {axis}: {len} + 2·{pad} = {padded}"
        );
        (padded - extent) / self.stride + 1
    }

    /// The input length whose windows number `out`, plus `output_padding`:
    /// `(out − 1)·s − 2·pad + extent + output_padding`, the output length of a transposed
    /// convolution of `out` values.
    ///
    /// Panics (naming `op` and `axis`) on a bad setting, an output padding not smaller than
    /// the stride or the dilation, or a length below 1.
    pub fn adjoint_len(&self, op: &str, axis: &str, out: usize, output_padding: usize) -> usize {
        self.check(op, axis);
        let Axis {
            kernel: k,
            stride: s,
            pad,
            dilation: d,
        } = *self;
        let o = output_padding;
        assert!(
            o < s.max(d),
            "{op}: output_padding along {axis} ({o}) must be smaller than either stride ({s}) or dilation ({d})"
        );
        let full = (out.max(1) - 1) * s + self.extent() + o;
        assert!(
            out > 0 && full > 2 * pad,
            "{op}: output size along {axis} is not positive: ({out}−1)·{s} − 2·{pad} + {d}·({k}−1) + {o} + 1"
        );
        full - 2 * pad
    }
}

/// The shape of one convolution `x[c_in, h, w] → y[c_out, h_out, w_out]`, per image.
///
/// `h_out`/`w_out` are stored rather than derived: a transposed convolution with output
/// padding uses the same geometry with an input one or two pixels larger than the formula
/// implies, and only the first `h_out×w_out` windows exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Stride (along h, along w).
    pub stride: (usize, usize),
    /// Zero padding on each side (h, w).
    pub pad: (usize, usize),
    /// Spacing between kernel taps (h, w).
    pub dilation: (usize, usize),
    /// Output height.
    pub h_out: usize,
    /// Output width.
    pub w_out: usize,
}

impl Geometry {
    /// Values in one input image, `c_in·h·w`.
    pub fn image_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Rows of the im2col matrix, `c_in·k_h·k_w` (the GEMM's inner dimension).
    pub fn col_rows(&self) -> usize {
        self.c_in * self.k_h * self.k_w
    }

    /// Output pixels per image, `h_out·w_out` (columns of the im2col matrix).
    pub fn out_pixels(&self) -> usize {
        self.h_out * self.w_out
    }

    /// The input row that tap row `p` of output row `i` reads, `i·s_h − pad_h + p·d_h`, or
    /// `None` in the padding.
    pub fn source_row(&self, i: usize, p: usize) -> Option<usize> {
        (i * self.stride.0 + p * self.dilation.0)
            .checked_sub(self.pad.0)
            .filter(|&r| r < self.h)
    }

    /// The input column that tap column `q` of output column `j` reads,
    /// `j·s_w − pad_w + q·d_w`, or `None` in the padding.
    pub fn source_col(&self, j: usize, q: usize) -> Option<usize> {
        (j * self.stride.1 + q * self.dilation.1)
            .checked_sub(self.pad.1)
            .filter(|&c| c < self.w)
    }

    /// Whether the kernel covers the whole unpadded input in one window (`h_out = w_out = 1`,
    /// no padding, `k = (h, w)`, taps adjacent). Then `im2col(x)` of image `n` is `x[n]` itself
    /// read as a column, the im2col matrix of a batch is the transposed view of `x` as
    /// `(batch, c_in·h·w)`, and the convolution is a dense layer: no copy is needed.
    pub fn is_dense(&self) -> bool {
        let adjacent = |k: usize, d: usize| k == 1 || d == 1;
        self.h_out == 1
            && self.w_out == 1
            && self.pad == (0, 0)
            && (self.k_h, self.k_w) == (self.h, self.w)
            && adjacent(self.k_h, self.dilation.0)
            && adjacent(self.k_w, self.dilation.1)
    }
    /// The geometry of sliding `kernel` windows over `c_in×h×w` images, with the output size
    /// from [`Axis::windows`] (a convolution, or a pooling with dilation 1).
    pub fn sliding(
        op: &str,
        c_in: usize,
        (h, w): (usize, usize),
        (k_h, k_w): (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
        dilation: (usize, usize),
    ) -> Geometry {
        let (along_h, along_w) = Geometry::axes((k_h, k_w), stride, pad, dilation);
        Geometry {
            c_in,
            h,
            w,
            k_h,
            k_w,
            stride,
            pad,
            dilation,
            h_out: along_h.windows(op, "h", h),
            w_out: along_w.windows(op, "w", w),
        }
    }

    /// The geometry of the convolution whose adjoint is a transposed convolution of
    /// `(h_out, w_out)` inputs: its input size (the transposed convolution's output) from
    /// [`Axis::adjoint_len`].
    #[allow(clippy::too_many_arguments)] // the window's settings, spelled out
    pub fn adjoint(
        op: &str,
        c_in: usize,
        (h_out, w_out): (usize, usize),
        (k_h, k_w): (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
        dilation: (usize, usize),
        output_padding: (usize, usize),
    ) -> Geometry {
        let (along_h, along_w) = Geometry::axes((k_h, k_w), stride, pad, dilation);
        Geometry {
            c_in,
            h: along_h.adjoint_len(op, "h", h_out, output_padding.0),
            w: along_w.adjoint_len(op, "w", w_out, output_padding.1),
            k_h,
            k_w,
            stride,
            pad,
            dilation,
            h_out,
            w_out,
        }
    }

    /// The two axes of a window.
    fn axes(
        kernel: (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
        dilation: (usize, usize),
    ) -> (Axis, Axis) {
        let axis = |i: usize| {
            let pick = |pair: (usize, usize)| if i == 0 { pair.0 } else { pair.1 };
            Axis {
                kernel: pick(kernel),
                stride: pick(stride),
                pad: pick(pad),
                dilation: pick(dilation),
            }
        };
        (axis(0), axis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_formulas_are_inverse_up_to_output_padding() {
        // For every length, the adjoint of the windows gives the length back once the output
        // padding restores the remainder the floor dropped.
        for (k, s, pad, d) in [(3, 2, 1, 1), (7, 1, 0, 1), (3, 1, 1, 2), (4, 3, 1, 1)] {
            let axis = Axis {
                kernel: k,
                stride: s,
                pad,
                dilation: d,
            };
            for len in axis.extent().saturating_sub(2 * pad).max(1)..40 {
                let out = axis.windows("t", "h", len);
                let remainder = (len + 2 * pad - axis.extent()) % s;
                assert_eq!(
                    axis.adjoint_len("t", "h", out, remainder),
                    len,
                    "{axis:?} len {len}"
                );
            }
        }
    }

    #[test]
    fn the_labs_shapes() {
        let conv = |c, hw, k, s, p| {
            Geometry::sliding("conv2d", c, (hw, hw), (k, k), (s, s), (p, p), (1, 1))
        };
        assert_eq!(conv(1, 28, 3, 2, 1).h_out, 14);
        assert_eq!(conv(16, 14, 3, 2, 1).h_out, 7);
        assert!(conv(32, 7, 7, 1, 0).is_dense());
        // ConvT 32→16 3×3 s2 p1 op1 on 7×7 gives 14×14.
        let t = Geometry::adjoint(
            "conv_transpose2d",
            16,
            (7, 7),
            (3, 3),
            (2, 2),
            (1, 1),
            (1, 1),
            (1, 1),
        );
        assert_eq!((t.h, t.w), (14, 14));
    }
}
