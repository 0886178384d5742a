//! The differentiable ops, one module per family. Each module holds, in this order: the
//! math in its doc, the plain `forward` functions on tensors, the `backward` functions that
//! add into input gradients (or, for the layers and losses, overwrite a fresh buffer when told
//! to: [`crate::kernels::accumulate`]), the `impl Tape` methods that record the op, then its
//! tests.
pub mod activation;
pub mod binary;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod epilogue;
pub mod linear;
pub mod loss;
pub mod matmul;
pub mod pool;
pub mod reduce;
pub mod shape_ops;
pub mod unary;
