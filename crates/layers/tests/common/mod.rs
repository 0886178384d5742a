//! Small models and temporary paths shared by the tests (the lab's own models live in the
//! `models` crate, which builds on this one).
#![allow(dead_code)]

use layers::{Activation, Conv2d, ConvTranspose2d, Flatten, Linear, Sequential, Unflatten};
use tensor::Rng;

/// A dense autoencoder 784-K-784 (ReLU code, sigmoid output), as `encoder`/`decoder`.
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

/// A small convolutional net with both kinds of convolution: `[N, 1, 28, 28]` in and out.
pub fn conv_net(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Conv2d::new(1, 4, 3, rng).stride(2).padding(1))
        .push(Activation::Relu)
        .push(
            ConvTranspose2d::new(4, 1, 3, rng)
                .stride(2)
                .padding(1)
                .output_padding(1),
        )
        .push(Activation::Sigmoid)
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
