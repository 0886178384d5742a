//! A VAE's negative ELBO on test images, per image and in its two terms (reconstruction
//! and KL), with ε drawn from a fixed seed: what the VAE section reports and what anomaly
//! detection scores images by.

use layers::{Graph, Module};
use models::vae::Vae;
use serde::{Deserialize, Serialize};
use tensor::{Tensor, rng};

use crate::train::autoencoder::TEST_NOISE_SEED;

/// The test set's negative ELBO and its parts, per image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElboFigures {
    /// `BCE + KL`, nats per image (the test ELBO is its negative).
    pub negative_elbo: f64,
    /// The reconstruction term, summed over pixels, per image.
    pub bce: f64,
    /// The KL term, summed over latent dimensions, per image.
    pub kl: f64,
    /// The KL of each latent dimension, per image.
    pub kl_per_dim: Vec<f64>,
}

/// Each image's terms of the negative ELBO, nats: `bce[i]`, the reconstruction term summed
/// over its pixels (logs clamped at −100, as the loss does), and `kl[i·latent + j]`, the KL of
/// its code's dimension `j`.
struct ElboTerms {
    bce: Vec<f64>,
    kl: Vec<f64>,
    latent: usize,
}

/// The terms of every image of `images` (`n·784` values), decoding `z = μ + σ·ε` with ε
/// from a generator seeded with [`TEST_NOISE_SEED`] (as `tp5.py` evaluates it), in batches.
fn elbo_terms(vae: &mut Vae, images: &[f32]) -> ElboTerms {
    vae.eval();
    let latent = vae.latent();
    let mut eps_rng = rng(TEST_NOISE_SEED);
    let n = images.len() / 784;
    let (mut bce, mut kl) = (Vec::with_capacity(n), Vec::with_capacity(n * latent));
    for chunk in images.chunks(500 * 784) {
        let batch = chunk.len() / 784;
        let mut g = Graph::no_grad();
        let x = g.input(Tensor::from_vec(&[batch, 1, 28, 28], chunk.to_vec()));
        let eps = Tensor::normal(&[batch, latent], 0.0, 1.0, &mut eps_rng);
        let terms = vae.elbo(&mut g, x, x, Some(eps));
        let ln = |v: f32| (v as f64).ln().max(-100.0);
        let y = g.value(terms.reconstruction).data();
        for (targets, outputs) in chunk.chunks_exact(784).zip(y.chunks_exact(784)) {
            bce.push(
                targets
                    .iter()
                    .zip(outputs)
                    .map(|(&t, &y)| -(t as f64 * ln(y) + (1.0 - t as f64) * ln(1.0 - y)))
                    .sum(),
            );
        }
        let (m, lv) = (g.value(terms.code.mean), g.value(terms.code.logvar));
        kl.extend(m.data().iter().zip(lv.data()).map(|(&m, &lv)| {
            let (m, lv) = (m as f64, lv as f64);
            -0.5 * (1.0 + lv - m * m - lv.exp())
        }));
    }
    ElboTerms { bce, kl, latent }
}

/// The test ELBO of `vae` on `images` (`n·784` values), per image, with its terms (ε as in
/// [`elbo_terms`]).
pub fn test_elbo(vae: &mut Vae, images: &[f32]) -> ElboFigures {
    let t = elbo_terms(vae, images);
    let n = t.bce.len().max(1) as f64;
    let mut kl_per_dim = vec![0.0f64; t.latent];
    for (i, v) in t.kl.iter().enumerate() {
        kl_per_dim[i % t.latent] += v / n;
    }
    let (bce, kl) = (t.bce.iter().sum::<f64>() / n, t.kl.iter().sum::<f64>() / n);
    ElboFigures {
        negative_elbo: bce + kl,
        bce,
        kl,
        kl_per_dim,
    }
}

/// The negative ELBO of each image of `images` (`n·784` values), nats (ε as in
/// [`elbo_terms`]): its BCE plus its code's KL.
pub fn per_image_negative_elbo(vae: &mut Vae, images: &[f32]) -> Vec<f64> {
    let t = elbo_terms(vae, images);
    t.bce
        .iter()
        .zip(t.kl.chunks_exact(t.latent))
        .map(|(b, kl)| b + kl.iter().sum::<f64>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrained_vae_scores_near_a_coin_flip() {
        // Untrained, the decoder outputs ≈ 0.5 everywhere: BCE ≈ 784·ln 2 per image whatever
        // the image, and the KL is small.
        let coin_flip_nats = 784.0 * std::f64::consts::LN_2;
        let mut vae = Vae::dense(2, &mut rng(0));
        let images = vec![0.0f32; 3 * 784];
        let e = test_elbo(&mut vae, &images);
        assert!(
            (e.bce - coin_flip_nats).abs() < 0.1 * coin_flip_nats,
            "{e:?}"
        );
        assert!(e.kl >= 0.0 && e.kl < 5.0, "{e:?}");
        assert_eq!(e.kl_per_dim.len(), 2);
        assert!((e.kl_per_dim.iter().sum::<f64>() - e.kl).abs() < 1e-3);
        assert!((e.negative_elbo - e.bce - e.kl).abs() < 1e-9);
        // The per-image terms add up to the loss the tape computes with the same ε.
        let mut g = Graph::no_grad();
        let x = g.input(Tensor::from_vec(&[3, 1, 28, 28], images.clone()));
        let eps = Tensor::normal(&[3, 2], 0.0, 1.0, &mut rng(TEST_NOISE_SEED));
        let terms = vae.elbo(&mut g, x, x, Some(eps));
        let tape_bce = g.value(terms.bce).item() as f64 / 3.0;
        let tape_kl = g.value(terms.kl).item() as f64 / 3.0;
        assert!(
            (e.bce - tape_bce).abs() < 1e-4 * tape_bce,
            "{} {tape_bce}",
            e.bce
        );
        assert!((e.kl - tape_kl).abs() < 1e-4, "{} {tape_kl}", e.kl);
        let per = per_image_negative_elbo(&mut vae, &images);
        let mean = per.iter().sum::<f64>() / 3.0;
        assert!(
            (mean - e.negative_elbo).abs() < 1e-3 * e.negative_elbo,
            "{mean} {e:?}"
        );
    }
}
