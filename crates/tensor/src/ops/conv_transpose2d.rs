//! 2-D transposed convolution (to be written: issue 3).
use std::fmt;

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

impl fmt::Display for ConvTranspose2dSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stride {:?}, padding {:?}, output_padding {:?}, dilation {:?}",
            self.stride, self.padding, self.output_padding, self.dilation
        )
    }
}

/// `dx += ∂/∂x`.
pub fn backward_input(_w: &Tensor, _spec: &ConvTranspose2dSpec, _dy: &Tensor, _dx: &mut Tensor) {
    unimplemented!("conv_transpose2d backward_input")
}

/// `dw += ∂/∂w`.
pub fn backward_weight(_x: &Tensor, _spec: &ConvTranspose2dSpec, _dy: &Tensor, _dw: &mut Tensor) {
    unimplemented!("conv_transpose2d backward_weight")
}
