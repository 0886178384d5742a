//! The models `tp` can train, by the names the PyTorch peer (`tp5.py`) uses.

use layers::{Activation, Sequential};
use serde::{Deserialize, Serialize};
use tensor::Rng;

/// One of the lab's autoencoders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// 784-K-784, no activation on the code.
    Dense1None,
    /// 784-K-784, ReLU on the code.
    Dense1Relu,
    /// 784-128-K-128-784, ReLU after every hidden layer and the code.
    Dense2Relu,
    /// The lab's strided convolutional autoencoder (code 64×1×1).
    Conv,
    /// The course's pooling convolutional autoencoder (code 8×4×4).
    ConvPool,
}

impl ModelKind {
    /// Every model of the lab, in the report's order.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Dense1None,
        ModelKind::Dense1Relu,
        ModelKind::Dense2Relu,
        ModelKind::Conv,
        ModelKind::ConvPool,
    ];

    /// The short name: a directory name, and `tp5.py --model`'s name where it has one.
    pub fn id(self) -> &'static str {
        match self {
            ModelKind::Dense1None => "dense1_none",
            ModelKind::Dense1Relu => "dense1_relu",
            ModelKind::Dense2Relu => "dense2_relu",
            ModelKind::Conv => "conv",
            ModelKind::ConvPool => "conv_pool",
        }
    }

    /// What it is, for tables: `784-64-784, linear code`.
    pub fn title(self, latent: usize) -> String {
        match self {
            ModelKind::Dense1None => format!("dense 784-{latent}-784, linear code"),
            ModelKind::Dense1Relu => format!("dense 784-{latent}-784, ReLU code"),
            ModelKind::Dense2Relu => format!("dense 784-128-{latent}-128-784, ReLU"),
            ModelKind::Conv => "conv, strided (code 64×1×1)".into(),
            ModelKind::ConvPool => "conv, pooling (code 8×4×4)".into(),
        }
    }

    /// A short name for sentences: `the linear 784-64-784 model`.
    pub fn short(self, latent: usize) -> String {
        match self {
            ModelKind::Dense1None => format!("linear-code 784-{latent}-784 model"),
            ModelKind::Dense1Relu => format!("ReLU-code 784-{latent}-784 model"),
            ModelKind::Dense2Relu => format!("deep 784-128-{latent}-128-784 model"),
            ModelKind::Conv => "strided convolutional model".into(),
            ModelKind::ConvPool => "pooling convolutional model".into(),
        }
    }

    /// The number of values in the code for a dense latent size `latent`.
    pub fn code_size(self, latent: usize) -> usize {
        match self {
            ModelKind::Dense1None | ModelKind::Dense1Relu | ModelKind::Dense2Relu => latent,
            ModelKind::Conv => 64,
            ModelKind::ConvPool => 8 * 4 * 4,
        }
    }

    /// A freshly initialised model (PyTorch's default initialisation, from `rng`).
    pub fn build(self, latent: usize, rng: &mut Rng) -> Sequential {
        match self {
            ModelKind::Dense1None => models::dense::autoencoder(latent, Activation::Identity, rng),
            ModelKind::Dense1Relu => models::dense::autoencoder(latent, Activation::Relu, rng),
            ModelKind::Dense2Relu => models::dense::deep_autoencoder(latent, rng),
            ModelKind::Conv => models::conv::autoencoder(rng),
            ModelKind::ConvPool => models::conv::pooling_autoencoder(rng),
        }
    }
}
