//! A parameter: a tensor owned by a layer, with a role that says whether it learns.

use tensor::{Rng, Tensor};

/// What a stored tensor is for. Only [`Role::Learnable`] tensors are PyTorch "parameters"
/// (counted by `parameters()`, updated by optimizers); the other two are PyTorch "buffers":
/// saved in the state dict, never given a gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A weight or bias (trainable unless [`Parameter::trainable`] is turned off).
    Learnable,
    /// Running statistics and the like (BatchNorm's `running_mean`, `running_var`).
    Buffer,
    /// An integer counter kept as f32 here but saved as I64, as PyTorch stores it
    /// (BatchNorm's `num_batches_tracked`).
    Counter,
}

/// A tensor owned by a layer, outside the tape. A forward pass copies it onto the tape as a
/// leaf ([`crate::Graph::param`]); the optimizer updates `value` in place.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// The current value.
    pub value: Tensor,
    /// Whether optimizers update it and the tape gives it a gradient. A frozen learnable
    /// parameter (`trainable = false`) counts as "non-trainable" in the summary.
    pub trainable: bool,
    /// Parameter or buffer.
    pub role: Role,
}

impl Parameter {
    /// A trainable parameter.
    pub fn new(value: Tensor) -> Parameter {
        Parameter {
            value,
            trainable: true,
            role: Role::Learnable,
        }
    }

    /// A buffer: saved and loaded, never trained.
    pub fn buffer(value: Tensor) -> Parameter {
        Parameter {
            value,
            trainable: false,
            role: Role::Buffer,
        }
    }

    /// An integer counter buffer (saved as I64).
    pub fn counter(value: f32) -> Parameter {
        Parameter {
            value: Tensor::scalar(value),
            trainable: false,
            role: Role::Counter,
        }
    }

    /// A trainable parameter drawn uniformly from `[-bound, bound)`.
    pub fn uniform(shape: &[usize], bound: f32, rng: &mut Rng) -> Parameter {
        Parameter::new(Tensor::uniform(shape, -bound, bound, rng))
    }

    /// Whether this is a PyTorch parameter (as opposed to a buffer).
    pub fn is_learnable(&self) -> bool {
        self.role == Role::Learnable
    }

    /// Whether an optimizer should update it: learnable and not frozen.
    pub fn is_trainable(&self) -> bool {
        self.is_learnable() && self.trainable
    }
}
