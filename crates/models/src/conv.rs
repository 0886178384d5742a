//! The lab's convolutional autoencoder.

use layers::{Activation, Conv2d, ConvTranspose2d, Sequential};
use tensor::Rng;

use crate::encoder_decoder;

/// 28×28 → 64×1×1 → 28×28 (210,369 parameters):
///
/// ```text
/// encoder: Conv 1→16 3×3 s2 p1, ReLU    (16×14×14)
///          Conv 16→32 3×3 s2 p1, ReLU   (32×7×7)
///          Conv 32→64 7×7               (64×1×1)
/// decoder: ConvT 64→32 7×7, ReLU        (32×7×7)
///          ConvT 32→16 3×3 s2 p1 op1, ReLU (16×14×14)
///          ConvT 16→1 3×3 s2 p1 op1, Sigmoid (1×28×28)
/// ```
pub fn autoencoder(rng: &mut Rng) -> Sequential {
    let encoder = Sequential::new()
        .push(Conv2d::new(1, 16, 3, rng).stride(2).padding(1))
        .push(Activation::Relu)
        .push(Conv2d::new(16, 32, 3, rng).stride(2).padding(1))
        .push(Activation::Relu)
        .push(Conv2d::new(32, 64, 7, rng));
    let up = |c_in, c_out, rng: &mut Rng| {
        ConvTranspose2d::new(c_in, c_out, 3, rng)
            .stride(2)
            .padding(1)
            .output_padding(1)
    };
    let decoder = Sequential::new()
        .push(ConvTranspose2d::new(64, 32, 7, rng))
        .push(Activation::Relu)
        .push(up(32, 16, rng))
        .push(Activation::Relu)
        .push(up(16, 1, rng))
        .push(Activation::Sigmoid);
    encoder_decoder(encoder, decoder)
}
