//! Activation functions as layers (no parameters).

use std::fmt;
use std::str::FromStr;

use tensor::{Epilogue, Var};

use crate::graph::Graph;
use crate::module::Module;

/// An elementwise activation, usable as a layer in a [`crate::Sequential`] or chosen by name
/// from a config (`"relu".parse::<Activation>()`).
///
/// | variant | `y` | PyTorch |
/// |---|---|---|
/// | `Identity` | `x` | `nn.Identity` |
/// | `Relu` | `max(x, 0)` | `nn.ReLU` |
/// | `LeakyRelu(s)` | `x` if `x > 0`, else `s·x` | `nn.LeakyReLU(s)` (default 0.01) |
/// | `Sigmoid` | `1 / (1 + e⁻ˣ)` | `nn.Sigmoid` |
/// | `Tanh` | `tanh x` | `nn.Tanh` |
/// | `Softplus` | `ln(1 + eˣ)` | `nn.Softplus` (β = 1) |
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with the given negative slope.
    LeakyRelu(f32),
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Smooth ReLU.
    Softplus,
}

impl Activation {
    /// Leaky ReLU with PyTorch's default slope 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu(0.01);

    /// Records the activation on the tape (identity records nothing).
    pub fn apply(self, g: &mut Graph, x: Var) -> Var {
        match self {
            Activation::Identity => x,
            Activation::Relu => g.relu(x),
            Activation::LeakyRelu(s) => g.leaky_relu(x, s),
            Activation::Sigmoid => g.sigmoid(x),
            Activation::Tanh => g.tanh(x),
            Activation::Softplus => g.softplus(x),
        }
    }
}

impl Module for Activation {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        self.apply(g, x)
    }

    fn as_epilogue(&self) -> Option<Epilogue> {
        match self {
            Activation::Identity => Some(Epilogue::Identity),
            Activation::Relu => Some(Epilogue::Relu),
            Activation::Sigmoid => Some(Epilogue::Sigmoid),
            Activation::Tanh => Some(Epilogue::Tanh),
            // Their backwards read the input, which a fused op does not keep.
            Activation::LeakyRelu(_) | Activation::Softplus => None,
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }

    fn type_name(&self) -> String {
        match self {
            Activation::Identity => "Identity",
            Activation::Relu => "ReLU",
            Activation::LeakyRelu(_) => "LeakyReLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softplus => "Softplus",
        }
        .into()
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyRelu(s) => write!(f, "leaky_relu({s})"),
            other => write!(f, "{}", other.type_name().to_lowercase()),
        }
    }
}

impl FromStr for Activation {
    type Err = String;

    /// Parses `identity`/`none`, `relu`, `leaky_relu` (slope 0.01) or `leaky_relu(0.2)`,
    /// `sigmoid`, `tanh`, `softplus`, in any case.
    fn from_str(s: &str) -> Result<Activation, String> {
        let lower = s.trim().to_lowercase();
        let parsed = match lower.as_str() {
            "identity" | "none" | "linear" => Activation::Identity,
            "relu" => Activation::Relu,
            "leaky_relu" | "leakyrelu" => Activation::LEAKY_RELU,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softplus" => Activation::Softplus,
            other => {
                let slope = other
                    .strip_prefix("leaky_relu(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|v| v.parse::<f32>().ok());
                match slope {
                    Some(s) => Activation::LeakyRelu(s),
                    None => return Err(format!("unknown activation {s:?}")),
                }
            }
        };
        Ok(parsed)
    }
}
