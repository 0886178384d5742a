//! A parameter: a tensor owned by a layer, with a role that says whether it learns.

use tensor::{ParamId, Rng, Tensor};

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
///
/// Each parameter has an [`id`](Parameter::id), made when it is created, by which the
/// step's gradients and the optimizer's state find it. A clone is a new parameter with a
/// new id (like PyTorch's `copy.deepcopy`): it starts from the same value but learns on its
/// own, and an optimizer keeps separate moments for it.
#[derive(Debug)]
pub struct Parameter {
    /// The current value.
    pub value: Tensor,
    /// Whether optimizers update it and the tape gives it a gradient. A frozen learnable
    /// parameter (`trainable = false`) counts as "non-trainable" in the summary.
    pub trainable: bool,
    /// Parameter or buffer.
    pub role: Role,
    id: ParamId,
}

impl Clone for Parameter {
    fn clone(&self) -> Parameter {
        Parameter {
            value: self.value.clone(),
            trainable: self.trainable,
            role: self.role,
            id: ParamId::fresh(),
        }
    }
}

impl Parameter {
    /// A trainable parameter.
    pub fn new(value: Tensor) -> Parameter {
        Parameter {
            value,
            trainable: true,
            role: Role::Learnable,
            id: ParamId::fresh(),
        }
    }

    /// A buffer: saved and loaded, never trained.
    pub fn buffer(value: Tensor) -> Parameter {
        Parameter {
            value,
            trainable: false,
            role: Role::Buffer,
            id: ParamId::fresh(),
        }
    }

    /// An integer counter buffer (saved as I64).
    pub fn counter(value: f32) -> Parameter {
        Parameter {
            value: Tensor::scalar(value),
            trainable: false,
            role: Role::Counter,
            id: ParamId::fresh(),
        }
    }

    /// A trainable parameter drawn uniformly from `[-bound, bound)`.
    pub fn uniform(shape: &[usize], bound: f32, rng: &mut Rng) -> Parameter {
        Parameter::new(Tensor::uniform(shape, -bound, bound, rng))
    }

    /// Its identity: the same on every step's tape, different from every other parameter's.
    pub fn id(&self) -> ParamId {
        self.id
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_and_every_clone_has_its_own_id() {
        let a = Parameter::new(Tensor::ones(&[2]));
        let b = Parameter::new(Tensor::ones(&[2]));
        let c = a.clone();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert_eq!(c.value, a.value);
    }
}
