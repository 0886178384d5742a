//! Building blocks for models: modules with named parameters, layers, initialisation,
//! optimizers, losses, a summary table and safetensors checkpoints.
//!
//! Parameters live in the layers, outside the tape. A training step builds a fresh
//! [`Graph`] (a [`tensor::Tape`] that knows [`Parameter`]s), runs the model's
//! [`Module::forward`] on it — each layer putting its parameters on the tape as leaves, bound
//! to their ids — records a loss, and calls `backward`, which returns the step's
//! [`tensor::Gradients`]; an [`optim::Optimizer`] then finds each parameter's gradient by its
//! id and updates the parameter in place. Names (PyTorch's state-dict keys,
//! `encoder.0.weight`) are for files and the summary: [`Module::visit`] gives them.
//!
//! ```
//! use layers::{Activation, Graph, Linear, Module, Sequential, optim::{Adam, Optimizer}};
//! use tensor::{Reduction, Tensor, rng};
//!
//! let mut r = rng(0);
//! let mut model = Sequential::new()
//!     .push(Linear::new(8, 3, &mut r))
//!     .push(Activation::Relu)
//!     .push(Linear::new(3, 8, &mut r))
//!     .push(Activation::Sigmoid);
//! let mut opt = Adam::new(1e-3);
//! let batch = Tensor::uniform(&[16, 8], 0.0, 1.0, &mut r);
//!
//! // One training step.
//! let mut g = Graph::new();
//! let x = g.input(batch.clone());
//! let y = model.forward(&mut g, x);
//! let loss = g.mse_loss(y, x, Reduction::Mean);
//! let grads = g.backward(loss);
//! opt.step(&mut model, &grads).unwrap();
//!
//! // Evaluation: nothing recorded.
//! model.eval();
//! let mut g = Graph::no_grad();
//! let x = g.input(batch);
//! let y = model.forward(&mut g, x);
//! assert_eq!(g.shape(y), &[16, 8]);
//! ```
#![warn(missing_docs)]

pub mod activation;
pub mod conv;
pub mod dropout;
pub mod error;
pub mod gradcheck;
pub mod graph;
pub mod init;
pub mod io;
pub mod linear;
pub mod loss;
pub mod module;
pub mod norm;
pub mod optim;
pub mod parameter;
pub mod pool;
pub mod reshape;
pub mod sequential;
pub mod summary;

pub use activation::Activation;
pub use conv::{Conv2d, ConvTranspose2d};
pub use dropout::Dropout;
pub use error::{CheckpointError, StepError};
pub use graph::Graph;
pub use linear::Linear;
pub use loss::Loss;
pub use module::{Module, infer};
pub use norm::BatchNorm;
pub use parameter::{Parameter, Role};
pub use pool::{AvgPool2d, MaxPool2d, Upsample};
pub use reshape::{Flatten, Unflatten};
pub use sequential::Sequential;
pub use summary::Summary;
