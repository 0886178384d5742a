//! The lab's runner: reads MNIST-format IDX files, draws batches, trains and evaluates.
pub mod dataset;
pub mod demo;
pub mod idx;
