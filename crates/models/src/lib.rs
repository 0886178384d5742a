//! The lab's autoencoders and the families a student meets next, built from layers.
//!
//! - [`dense`], [`conv`]: the lab's builders. Each returns a [`layers::Sequential`] with two
//!   named children, `encoder` and `decoder`, so parameters are named like the PyTorch models
//!   of the lab (`encoder.1.weight`) and a checkpoint crosses to PyTorch with
//!   `load_state_dict`; [`autoencoder::Plain`] trains one on its reconstruction.
//! - [`sparse`], [`contractive`], [`vae`], [`aae`] (and its kin [`aae_supervised`]): one file per family, each with its
//!   model and the part of its loss that makes it what it is.
//!
//! Every family implements [`Autoencoder`]: a code, a decoder, and the loss of one training
//! step. Inputs are MNIST batches `[batch, 1, 28, 28]` in `[0, 1]`; outputs have the same
//! shape, through a sigmoid.
#![warn(missing_docs)]

pub mod aae;
pub mod aae_clusters;
pub mod aae_supervised;
pub mod autoencoder;
pub mod contractive;
pub mod conv;
pub mod dense;
pub mod mmd;
pub mod pca;
pub mod sparse;
pub mod vae;
pub mod zoo;

pub use autoencoder::{Autoencoder, Plain, StepLoss};
pub use zoo::{ModelKind, ModelSpec};

use layers::Sequential;

/// `Sequential { encoder, decoder }`.
fn encoder_decoder(encoder: Sequential, decoder: Sequential) -> Sequential {
    Sequential::new()
        .push_named("encoder", encoder)
        .push_named("decoder", decoder)
}
