//! Kernels: plain functions on slices, shapes and strides. They know nothing of the tape.
pub mod accumulate;
pub mod conv_reference;
pub mod direct;
pub mod elementwise;
pub mod gemm;
pub mod geometry;
pub mod im2col;
#[cfg(target_feature = "avx512f")]
mod im2col_rows;
mod scratch;
pub mod sigmoid;
