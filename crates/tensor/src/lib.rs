//! f32 tensors, the kernels they run on, and a reverse-mode autodiff tape.
//!
//! - [`Tensor`]: an f32 array of any rank, contiguous and row-major, with NumPy broadcasting.
//! - [`kernels`]: plain loops over slices (GEMM, elementwise, im2col), each fast kernel with a
//!   scalar reference beside it.
//! - [`ops`]: the differentiable ops, forward and backward side by side.
//! - [`Tape`]: records a forward pass and runs it backwards ([`Tape::backward`]).
//! - [`gradcheck`]: finite-difference checks that any function of tensors can use.
// Tests pass `&[x.clone()]` to the gradient checker: clearer to a reader than `slice::from_ref`.
#![cfg_attr(test, allow(clippy::cloned_ref_to_slice_refs))]
#![warn(missing_docs)]

pub mod gradcheck;
pub mod kernels;
pub mod ops;
pub mod par;
pub mod parallel;
pub mod pool;
pub mod random;
pub mod shape;
pub mod tape;
pub mod tensor;
#[cfg(test)]
mod test_support;

pub use ops::conv_transpose2d::ConvTranspose2dSpec;
pub use ops::conv2d::Conv2dSpec;
pub use ops::epilogue::Epilogue;
pub use ops::loss::Reduction;
pub use ops::matmul::Transpose;
pub use ops::pool::PoolSpec;
pub use parallel::Parallelism;
pub use random::{Rng, rng};
pub use tape::{Gradients, Op, ParamId, Tape, Var};
pub use tensor::Tensor;
