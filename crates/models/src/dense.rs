//! Dense autoencoders on flattened 28×28 images.

use layers::{Activation, Flatten, Linear, Sequential, Unflatten};
use tensor::Rng;

use crate::encoder_decoder;

/// Pixels of an MNIST image.
const PIXELS: usize = 28 * 28;

/// 784-K-784: `Flatten, Linear(784, K), code` | `Linear(K, 784), Sigmoid, Unflatten`, with
/// the code activation of the lab's choice (`Activation::Identity` for none).
/// Parameters: `2·784·K + K + 784` (101,200 for K = 64).
pub fn autoencoder(latent: usize, code: Activation, rng: &mut Rng) -> Sequential {
    let mut encoder = Sequential::new()
        .push(Flatten)
        .push(Linear::new(PIXELS, latent, rng));
    if code != Activation::Identity {
        encoder = encoder.push(code);
    }
    let decoder = Sequential::new()
        .push(Linear::new(latent, PIXELS, rng))
        .push(Activation::Sigmoid)
        .push(Unflatten::new(&[1, 28, 28]));
    encoder_decoder(encoder, decoder)
}

/// 784-128-K-128-784 with ReLU after every hidden layer and the code, sigmoid output.
/// Parameters: 218,192 for K = 64.
pub fn deep_autoencoder(latent: usize, rng: &mut Rng) -> Sequential {
    let encoder = Sequential::new()
        .push(Flatten)
        .push(Linear::new(PIXELS, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, latent, rng))
        .push(Activation::Relu);
    let decoder = Sequential::new()
        .push(Linear::new(latent, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, PIXELS, rng))
        .push(Activation::Sigmoid)
        .push(Unflatten::new(&[1, 28, 28]));
    encoder_decoder(encoder, decoder)
}
