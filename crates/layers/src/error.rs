//! The error of reading or writing a checkpoint.

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
