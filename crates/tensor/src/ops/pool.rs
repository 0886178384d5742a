//! Pooling and upsampling (to be written: issue 3).
use std::fmt;

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

impl fmt::Display for PoolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel {:?}, stride {:?}, padding {:?}", self.kernel, self.stride, self.padding)
    }
}

/// `dx[argmax[j]] += dy[j]`.
pub fn max_pool2d_backward(_argmax: &[u32], _dy: &Tensor, _dx: &mut Tensor) {
    unimplemented!("max_pool2d backward")
}

/// Spreads each `dy` over its window.
pub fn avg_pool2d_backward(_spec: &PoolSpec, _dy: &Tensor, _dx: &mut Tensor) {
    unimplemented!("avg_pool2d backward")
}

/// Sums each `factor×factor` block of `dy` into one `dx`.
pub fn upsample_nearest2d_backward(_factor: usize, _dy: &Tensor, _dx: &mut Tensor) {
    unimplemented!("upsample backward")
}
