//! The facade of the workspace: one import for the whole engine.
//!
//! - [`tensor`]: tensors, kernels, the autodiff tape.
//! - [`layers`]: modules, optimizers, losses, weights on disk.
//! - [`models`]: the autoencoders.
pub use layers;
pub use models;
pub use tensor;
