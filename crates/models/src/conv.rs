//! The lab's convolutional autoencoders: strided convolutions, and pooling with upsampling.

use layers::{Activation, Conv2d, ConvTranspose2d, MaxPool2d, Sequential, Upsample};
use tensor::PoolSpec;
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

/// The course's classic pooling convolutional autoencoder, 28×28 → 8×4×4 → 28×28
/// (4,385 parameters; every convolution 3×3 with ReLU, "same" padding unless noted):
///
/// ```text
/// encoder: Conv 1→16, MaxPool 2       (16×14×14)
///          Conv 16→8, MaxPool 2       (8×7×7)
///          Conv 8→8,  MaxPool 2 pad 1 (8×4×4: Keras' "same" pooling of 7)
/// decoder: Conv 8→8,  Upsample 2      (8×8×8)
///          Conv 8→8,  Upsample 2      (8×16×16)
///          Conv 8→16 unpadded, Upsample 2 (16×28×28: 16 − 2 = 14, then ×2)
///          Conv 16→1, Sigmoid         (1×28×28)
/// ```
///
/// Its code holds 128 values but costs a twentieth of the parameters of
/// [`autoencoder`]: pooling and upsampling have none.
pub fn pooling_autoencoder(rng: &mut Rng) -> Sequential {
    let same = |c_in, c_out, rng: &mut Rng| Conv2d::new(c_in, c_out, 3, rng).padding(1);
    let encoder = Sequential::new()
        .push(same(1, 16, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(same(16, 8, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(same(8, 8, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::with_spec(PoolSpec::new(2, 2, 1)));
    let decoder = Sequential::new()
        .push(same(8, 8, rng))
        .push(Activation::Relu)
        .push(Upsample::new(2))
        .push(same(8, 8, rng))
        .push(Activation::Relu)
        .push(Upsample::new(2))
        .push(Conv2d::new(8, 16, 3, rng))
        .push(Activation::Relu)
        .push(Upsample::new(2))
        .push(same(16, 1, rng))
        .push(Activation::Sigmoid);
    encoder_decoder(encoder, decoder)
}

/// Super-resolution, 14×14 → 28×28 (4,945 parameters):
///
/// ```text
/// encoder: Conv 1→16 3×3 p1, ReLU      (16×14×14)
///          Conv 16→16 3×3 p1, ReLU     (16×14×14)
/// decoder: ConvT 16→16 3×3 s2 p1 op1, ReLU (16×28×28)
///          Conv 16→1 3×3 p1, Sigmoid    (1×28×28)
/// ```
///
/// The encoder reads the low-resolution image at its own size; the transposed convolution
/// doubles it, and the last convolution draws the detail.
pub fn super_resolution(rng: &mut Rng) -> Sequential {
    let same = |c_in, c_out, rng: &mut Rng| Conv2d::new(c_in, c_out, 3, rng).padding(1);
    let encoder = Sequential::new()
        .push(same(1, 16, rng))
        .push(Activation::Relu)
        .push(same(16, 16, rng))
        .push(Activation::Relu);
    let decoder = Sequential::new()
        .push(
            ConvTranspose2d::new(16, 16, 3, rng)
                .stride(2)
                .padding(1)
                .output_padding(1),
        )
        .push(Activation::Relu)
        .push(same(16, 1, rng))
        .push(Activation::Sigmoid);
    encoder_decoder(encoder, decoder)
}
