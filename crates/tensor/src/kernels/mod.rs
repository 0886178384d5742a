//! Kernels: plain functions on slices, shapes and strides. They know nothing of the tape.
pub mod elementwise;
pub mod gemm;
