//! The lab's models, built from layers, shared by the tests.
#![allow(dead_code)]

use layers::{Activation, Conv2d, ConvTranspose2d, Flatten, Linear, Sequential, Unflatten};
use tensor::Rng;

/// Dense autoencoder 784-K-784 (ReLU code, sigmoid output), as `encoder`/`decoder`.
pub fn dense_ae(k: usize, rng: &mut Rng) -> Sequential {
    let encoder = Sequential::new()
        .push(Flatten)
        .push(Linear::new(784, k, rng))
        .push(Activation::Relu);
    let decoder = Sequential::new()
        .push(Linear::new(k, 784, rng))
        .push(Activation::Sigmoid)
        .push(Unflatten::new(&[1, 28, 28]));
    Sequential::new()
        .push_named("encoder", encoder)
        .push_named("decoder", decoder)
}

/// Deep dense autoencoder 784-128-K-128-784.
pub fn deep_dense_ae(k: usize, rng: &mut Rng) -> Sequential {
    let encoder = Sequential::new()
        .push(Flatten)
        .push(Linear::new(784, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, k, rng))
        .push(Activation::Relu);
    let decoder = Sequential::new()
        .push(Linear::new(k, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, 784, rng))
        .push(Activation::Sigmoid)
        .push(Unflatten::new(&[1, 28, 28]));
    Sequential::new()
        .push_named("encoder", encoder)
        .push_named("decoder", decoder)
}

/// The lab's convolutional autoencoder.
pub fn conv_ae(rng: &mut Rng) -> Sequential {
    let encoder = Sequential::new()
        .push(Conv2d::new(1, 16, 3, rng).stride(2).padding(1))
        .push(Activation::Relu)
        .push(Conv2d::new(16, 32, 3, rng).stride(2).padding(1))
        .push(Activation::Relu)
        .push(Conv2d::new(32, 64, 7, rng));
    let decoder = Sequential::new()
        .push(ConvTranspose2d::new(64, 32, 7, rng))
        .push(Activation::Relu)
        .push(
            ConvTranspose2d::new(32, 16, 3, rng)
                .stride(2)
                .padding(1)
                .output_padding(1),
        )
        .push(Activation::Relu)
        .push(
            ConvTranspose2d::new(16, 1, 3, rng)
                .stride(2)
                .padding(1)
                .output_padding(1),
        )
        .push(Activation::Sigmoid);
    Sequential::new()
        .push_named("encoder", encoder)
        .push_named("decoder", decoder)
}

/// A unique path in the temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    // One folder per file name, so a test that lists its folder sees no other test's files.
    let dir = std::env::temp_dir()
        .join(format!("tp-layers-tests-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
