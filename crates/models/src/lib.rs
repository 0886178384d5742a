//! The lab's autoencoders, built from layers.
//!
//! Each builder returns a [`layers::Sequential`] with two named children, `encoder` and
//! `decoder`, so parameters are named like the PyTorch models of the lab (`encoder.1.weight`)
//! and a checkpoint crosses to PyTorch with `load_state_dict`. Inputs are MNIST batches
//! `[batch, 1, 28, 28]` in `[0, 1]`; outputs have the same shape, through a sigmoid.
#![warn(missing_docs)]

pub mod conv;
pub mod dense;

use layers::Sequential;

/// `Sequential { encoder, decoder }`.
fn encoder_decoder(encoder: Sequential, decoder: Sequential) -> Sequential {
    Sequential::new()
        .push_named("encoder", encoder)
        .push_named("decoder", decoder)
}
