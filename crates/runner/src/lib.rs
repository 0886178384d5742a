//! The lab's runner: reads MNIST-format IDX files, draws batches, trains and evaluates.
#![warn(missing_docs)]
pub mod dataset;
pub mod demo;
pub mod idx;
