//! The models a run can name: each kind's name (the PyTorch peer `tp5.py`'s where it has
//! one), its titles for tables and sentences, the shape of image it reads and its builder.
//! What the code holds is the built model's own answer ([`Autoencoder::code_shape`]), never
//! a second copy here.

use layers::{Activation, Loss};
use tensor::Rng;

use crate::contractive::Contractive;
use crate::vae::Vae;
use crate::{Autoencoder, Plain};

/// One of the autoencoders trained by the runner's trainer on one loss (the adversarial
/// ones, with their several optimizers, are built by [`crate::aae`] and
/// [`crate::aae_clusters`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// What a kind's builder needs besides the generator: the code size and the weights of the
/// terms its loss may have.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSpec {
    /// The code size of the dense models (for a VAE: its latent dimensions).
    pub latent: usize,
    /// The reconstruction loss of the plain and sparse models.
    pub loss: Loss,
    /// The VAE's weight on the KL term (1: the ELBO).
    pub beta: f32,
    /// The sparse model's L1 weight on the code.
    pub sparsity: f32,
    /// The contractive model's weight on the Jacobian penalty.
    pub contraction: f32,
}

impl ModelKind {
    /// Every kind, in the order of `tp train --help`.
    pub const ALL: [ModelKind; 10] = [
        ModelKind::Dense1None,
        ModelKind::Dense1Relu,
        ModelKind::Dense2Relu,
        ModelKind::Conv,
        ModelKind::ConvPool,
        ModelKind::Vae,
        ModelKind::ConvVae,
        ModelKind::Sparse,
        ModelKind::Contractive,
        ModelKind::SuperRes,
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

    /// The kind whose [`ModelKind::id`] is `id`, written with `_` or `-`.
    pub fn from_id(id: &str) -> Option<ModelKind> {
        let id = id.replace('-', "_");
        ModelKind::ALL.into_iter().find(|k| k.id() == id)
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

    /// A short name for sentences: `linear-code 784-64-784 model`.
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

    /// The reconstruction loss the lab trains it on: the MSE, except for the pooling
    /// convolutional autoencoder, which the course trains on the binary cross-entropy (with
    /// the MSE it collapses to an all-black output in a few hundred steps, in PyTorch as
    /// here: once the sigmoid saturates the MSE's gradient vanishes, while BCE's, `y − t`
    /// before the sigmoid, does not), and the VAEs, whose reconstruction term is a BCE.
    pub fn default_loss(self) -> Loss {
        match self {
            ModelKind::ConvPool | ModelKind::Vae | ModelKind::ConvVae => Loss::Bce,
            _ => Loss::Mse,
        }
    }

    /// Whether its loss has a reconstruction term one may choose: not for the VAEs (the
    /// negative ELBO) nor the contractive model (MSE plus its penalty).
    pub fn takes_loss(self) -> bool {
        !matches!(
            self,
            ModelKind::Vae | ModelKind::ConvVae | ModelKind::Contractive
        )
    }

    /// The shape of one input image: 14×14 for super-resolution, 28×28 for the others.
    pub fn input_shape(self) -> [usize; 3] {
        match self {
            ModelKind::SuperRes => [1, 14, 14],
            _ => [1, 28, 28],
        }
    }

    /// A freshly initialised model (PyTorch's default initialisation, from `rng`).
    pub fn build(self, spec: &ModelSpec, rng: &mut Rng) -> Box<dyn Autoencoder> {
        let latent = spec.latent;
        let plain = |net| -> Box<dyn Autoencoder> { Box::new(Plain::new(net, spec.loss)) };
        match self {
            ModelKind::Dense1None => {
                plain(crate::dense::autoencoder(latent, Activation::Identity, rng))
            }
            ModelKind::Dense1Relu => {
                plain(crate::dense::autoencoder(latent, Activation::Relu, rng))
            }
            ModelKind::Dense2Relu => plain(crate::dense::deep_autoencoder(latent, rng)),
            ModelKind::Conv => plain(crate::conv::autoencoder(rng)),
            ModelKind::ConvPool => plain(crate::conv::pooling_autoencoder(rng)),
            ModelKind::Vae => Box::new(Vae::dense(latent, rng).with_beta(spec.beta)),
            ModelKind::ConvVae => Box::new(Vae::conv(latent, rng).with_beta(spec.beta)),
            ModelKind::Sparse => {
                let mut model = crate::sparse::autoencoder(latent, spec.sparsity, rng);
                model.loss = spec.loss;
                Box::new(model)
            }
            ModelKind::Contractive => Box::new(Contractive::new(latent, spec.contraction, rng)),
            ModelKind::SuperRes => Box::new(
                Plain::new(crate::conv::super_resolution(rng), spec.loss)
                    .with_input_shape(self.input_shape()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_id_and_builds_with_its_input_shape() {
        for kind in ModelKind::ALL {
            assert_eq!(ModelKind::from_id(kind.id()), Some(kind));
            assert_eq!(ModelKind::from_id(&kind.id().replace('_', "-")), Some(kind));
            let spec = ModelSpec {
                latent: 8,
                loss: kind.default_loss(),
                beta: 1.0,
                sparsity: 0.0,
                contraction: 0.0,
            };
            let mut model = kind.build(&spec, &mut tensor::rng(0));
            let [c, h, w] = kind.input_shape();
            let y = layers::infer(model.as_mut(), tensor::Tensor::zeros(&[2, c, h, w]));
            assert_eq!(y.shape(), &[2, 1, 28, 28], "{}", kind.id());
        }
        assert_eq!(ModelKind::from_id("gan"), None);
    }
}
