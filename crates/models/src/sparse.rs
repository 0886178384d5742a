//! The sparse autoencoder: a wide ReLU code (K = 256 by default) and an L1 penalty on the
//! code's activations, which pushes most of them to exactly 0 for any one image, so that
//! each image is described by a few active units.
//!
//! Loss: `reconstruction + λ · (1/N) Σ_n Σ_j |h_nj|`, the penalty summed over the code of
//! each image and averaged over the batch. With ReLU codes `|h| = h`, so its gradient is
//! `λ/N` on every active unit and nothing on the others.

use layers::{Activation, Graph, Loss};
use tensor::{Rng, Var};

use crate::autoencoder::Plain;

/// The code size of the course's sparse autoencoder.
pub const WIDE_CODE: usize = 256;

/// 784-K-784 with a ReLU code and an L1 penalty of weight `weight` on it, trained on the
/// MSE (parameters `2·784·K + K + 784`: 402,448 for K = 256).
pub fn autoencoder(latent: usize, weight: f32, rng: &mut Rng) -> Plain {
    let net = crate::dense::autoencoder(latent, Activation::Relu, rng);
    Plain::new(net, Loss::Mse).with_sparsity(weight)
}

/// `weight · (1/N) Σ_n Σ_j |code_nj|` for a code `[N, …]`.
pub fn l1_penalty(g: &mut Graph, code: Var, weight: f32) -> Var {
    let batch = g.shape(code)[0].max(1);
    let abs = g.abs(code);
    let total = g.sum_all(abs);
    g.mul_scalar(total, weight / batch as f32)
}
