//! 2-D convolution (to be written: issue 3).
use std::fmt;

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

impl fmt::Display for Conv2dSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stride {:?}, padding {:?}, dilation {:?}", self.stride, self.padding, self.dilation)
    }
}

/// `dx += ∂/∂x`.
pub fn backward_input(_w: &Tensor, _spec: &Conv2dSpec, _dy: &Tensor, _dx: &mut Tensor) {
    unimplemented!("conv2d backward_input")
}

/// `dw += ∂/∂w`.
pub fn backward_weight(_x: &Tensor, _spec: &Conv2dSpec, _dy: &Tensor, _dw: &mut Tensor) {
    unimplemented!("conv2d backward_weight")
}

/// `db[o] += Σ_{n,h,w} dy[n,o,h,w]`.
pub fn backward_bias(_dy: &Tensor, _db: &mut Tensor) {
    unimplemented!("conv2d backward_bias")
}
