//! The errors of reading or writing a checkpoint, and of an optimizer step.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a checkpoint could not be saved or loaded. Every variant names the file; those about
/// one tensor name it too. Loading checks the whole file before changing anything, so on
/// error the model (or optimizer) is untouched.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be read, written or renamed (missing, no permission, …).
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not valid safetensors: truncated, garbage, bad header, bad offsets.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser found wrong.
        reason: String,
    },
    /// Tensors the model (or optimizer) needs are not in the file.
    Missing {
        /// The file.
        path: PathBuf,
        /// Their names, sorted.
        tensors: Vec<String>,
    },
    /// The file holds tensors the model (or optimizer) does not have.
    Unexpected {
        /// The file.
        path: PathBuf,
        /// Their names, sorted.
        tensors: Vec<String>,
    },
    /// A tensor's shape in the file differs from the parameter's.
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored with an element type other than F32 (or I64 for counters).
    Dtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// What was expected.
        expected: &'static str,
        /// What the file has.
        found: String,
    },
    /// The metadata does not fit: another optimizer's state, an unknown hyperparameter.
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckpointError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            Corrupt { path, reason } => {
                write!(
                    f,
                    "{}: not a valid safetensors file (truncated or corrupt?): {reason}",
                    path.display()
                )
            }
            Missing { path, tensors } => {
                write!(
                    f,
                    "{}: missing tensors: {}",
                    path.display(),
                    tensors.join(", ")
                )
            }
            Unexpected { path, tensors } => {
                write!(
                    f,
                    "{}: unexpected tensors (not in the model): {}",
                    path.display(),
                    tensors.join(", ")
                )
            }
            Shape {
                path,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{}: tensor {tensor} has shape {found:?}, the model expects {expected:?}",
                path.display()
            ),
            Dtype {
                path,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{}: tensor {tensor} is stored as {found}, expected {expected}",
                path.display()
            ),
            Metadata { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why an optimizer step was refused. Nothing is updated when a step fails.
#[derive(Debug, Clone, PartialEq)]
pub enum StepError {
    /// Trainable parameters without a gradient in the step's gradients: the loss does not
    /// depend on them, or the forward pass never put them on this step's tape.
    MissingGradients {
        /// The optimizer's class name.
        optimizer: &'static str,
        /// The parameters, by name, in visiting order.
        parameters: Vec<String>,
    },
    /// A gradient whose shape differs from its parameter's.
    Shape {
        /// The optimizer's class name.
        optimizer: &'static str,
        /// The parameter's name.
        parameter: String,
        /// The gradient's shape.
        gradient: Vec<usize>,
        /// The parameter's shape.
        expected: Vec<usize>,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::MissingGradients {
                optimizer,
                parameters,
            } => write!(
                f,
                "{optimizer}: no gradient for trainable {}: the loss does not use {} on this \
                 step's tape. Freeze what should not learn in this step (set_trainable(false)), \
                 or step only the module that does.",
                parameters.join(", "),
                if parameters.len() == 1 { "it" } else { "them" }
            ),
            StepError::Shape {
                optimizer,
                parameter,
                gradient,
                expected,
            } => write!(
                f,
                "{optimizer}: the gradient of {parameter} has shape {gradient:?}, the parameter {expected:?}"
            ),
        }
    }
}

impl std::error::Error for StepError {}
