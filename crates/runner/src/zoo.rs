//! The models `tp` can train, by the names the PyTorch peer (`tp5.py`) uses.

use layers::{Activation, Loss};
use models::contractive::Contractive;
use models::vae::Vae;
use models::{Autoencoder, Plain};
use serde::{Deserialize, Serialize};
use tensor::Rng;

use crate::train::{Objective, TrainConfig};

/// One of the autoencoders trained by [`crate::train::train`] (the adversarial one, with its
/// three optimizers, has its own loop: [`crate::adversarial`]).
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
    /// The dense VAE 784-512-(μ, logvar)-512-784 (`tp5.py --model vae`).
    Vae,
    /// A convolutional VAE (the lab's two strided convolutions, linear heads).
    ConvVae,
    /// 784-K-784, ReLU code, with an L1 penalty on the code.
    Sparse,
    /// 784-K-784, sigmoid code, with the Jacobian penalty.
    Contractive,
    /// Super-resolution: 14×14 inputs (2×2 averages) to 28×28.
    SuperRes,
}

impl ModelKind {
    /// Every model of the lab's three exercises, in the report's order.
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
            ModelKind::Vae => "vae",
            ModelKind::ConvVae => "conv_vae",
            ModelKind::Sparse => "sparse",
            ModelKind::Contractive => "contractive",
            ModelKind::SuperRes => "super_res",
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
            ModelKind::Vae => format!("VAE 784-512-{latent}-512-784"),
            ModelKind::ConvVae => format!("conv VAE, 32×7×7 to {latent}"),
            ModelKind::Sparse => format!("sparse 784-{latent}-784, ReLU code + L1"),
            ModelKind::Contractive => format!("contractive 784-{latent}-784, sigmoid code"),
            ModelKind::SuperRes => "super-resolution conv, 14×14 to 28×28".into(),
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
            ModelKind::Vae => "dense VAE".into(),
            ModelKind::ConvVae => "convolutional VAE".into(),
            ModelKind::Sparse => format!("sparse 784-{latent}-784 model"),
            ModelKind::Contractive => format!("contractive 784-{latent}-784 model"),
            ModelKind::SuperRes => "super-resolution model".into(),
        }
    }

    /// The number of values in the code for a dense latent size `latent`.
    pub fn code_size(self, latent: usize) -> usize {
        match self {
            ModelKind::Conv => 64,
            ModelKind::ConvPool => 8 * 4 * 4,
            ModelKind::SuperRes => 16 * 14 * 14,
            _ => latent,
        }
    }

    /// A freshly initialised model for `config` (PyTorch's default initialisation, from
    /// `rng`): its code size, objective and penalty weights.
    pub fn build(self, config: &TrainConfig, rng: &mut Rng) -> Box<dyn Autoencoder> {
        let latent = config.latent;
        let loss = match config.objective {
            Objective::Mse => Loss::Mse,
            Objective::Bce => Loss::Bce,
        };
        let plain = |net| -> Box<dyn Autoencoder> { Box::new(Plain::new(net, loss)) };
        match self {
            ModelKind::Dense1None => plain(models::dense::autoencoder(
                latent,
                Activation::Identity,
                rng,
            )),
            ModelKind::Dense1Relu => {
                plain(models::dense::autoencoder(latent, Activation::Relu, rng))
            }
            ModelKind::Dense2Relu => plain(models::dense::deep_autoencoder(latent, rng)),
            ModelKind::Conv => plain(models::conv::autoencoder(rng)),
            ModelKind::ConvPool => plain(models::conv::pooling_autoencoder(rng)),
            ModelKind::Vae => Box::new(Vae::dense(latent, rng).with_beta(config.beta as f32)),
            ModelKind::ConvVae => Box::new(Vae::conv(latent, rng).with_beta(config.beta as f32)),
            ModelKind::Sparse => {
                let mut model = models::sparse::autoencoder(latent, config.sparsity as f32, rng);
                model.loss = loss;
                Box::new(model)
            }
            ModelKind::Contractive => {
                Box::new(Contractive::new(latent, config.contraction as f32, rng))
            }
            ModelKind::SuperRes => Box::new(
                Plain::new(models::conv::super_resolution(rng), loss)
                    .with_input_shape(self.input_shape()),
            ),
        }
    }

    /// The shape of one input image: 14×14 for super-resolution, 28×28 for the others.
    pub fn input_shape(self) -> [usize; 3] {
        match self {
            ModelKind::SuperRes => [1, 14, 14],
            _ => [1, 28, 28],
        }
    }

    /// Whether `--objective` means anything for the model: not for the VAEs (their loss is
    /// the negative ELBO) nor the contractive one (MSE plus its penalty).
    pub fn takes_objective(self) -> bool {
        !matches!(
            self,
            ModelKind::Vae | ModelKind::ConvVae | ModelKind::Contractive
        )
    }
}
