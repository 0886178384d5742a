//! The variational autoencoders: the course's dense VAE (784-512-2-512-784, as
//! `tp5.py --model vae`) and a convolutional one, trained on the negative ELBO; their test
//! ELBO with its two terms and the KL of each latent dimension; the decoded 2-D manifold,
//! the test set's means by digit, samples from the prior, and interpolations.

use layers::summary::thousands;
use layers::{Graph, Module};
use models::vae::Vae;
use tensor::{Tensor, rng};

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, model_table};
use crate::figures::scatter::{ScatterChart, by_digit};
use crate::instruments::latent::{interpolate, manifold_codes};
use crate::train::{TEST_NOISE_SEED, TrainConfig, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "vae";

/// The two VAEs, in the report's order.
pub const MODELS: [ModelKind; 2] = [ModelKind::Vae, ModelKind::ConvVae];

/// `784·ln 2`: the negative ELBO of a model that says 0.5 for every pixel (nats per image).
const COIN_FLIP_NATS: f64 = 784.0 * std::f64::consts::LN_2;

/// Pairs of digits the interpolation figure joins (first test image of each).
const PAIRS: [(usize, usize); 4] = [(0, 6), (1, 7), (3, 8), (4, 9)];

/// The test set's negative ELBO and its parts, per image.
#[derive(Clone, Debug)]
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

/// What the section needs of one trained VAE.
struct Figures {
    kind: ModelKind,
    summary: layers::Summary,
    elbo: ElboFigures,
    test_mse: f64,
    last_train: f64,
    vae: Vae,
}

/// Trains both VAEs (into `<out>/vae/<model>/`), draws the figures and returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let (latent, beta) = (lab.settings.vae_latent, lab.settings.beta);
    let test_images = lab.splits.test.all_images().into_data();
    let mut timings = Vec::new();
    let mut models = Vec::new();
    for kind in MODELS {
        let config = TrainConfig {
            beta,
            ..lab.config(kind, latent)
        };
        let run = lab.ensure_config(NAME, kind.id(), config)?;
        timings.push(Timing::of(run));
        // The concrete model, from the run's own weights file.
        let mut vae = match kind {
            ModelKind::ConvVae => Vae::conv(latent, &mut rng(0)),
            _ => Vae::dense(latent, &mut rng(0)),
        };
        layers::io::load(run.dir.join("model.safetensors"), &mut vae).map_err(|e| e.to_string())?;
        models.push(Figures {
            kind,
            summary: run.summary.clone(),
            elbo: test_elbo(&mut vae, &test_images),
            test_mse: run.test_mse(),
            last_train: run.history.last().map_or(f64::NAN, |r| r.train_objective),
            vae,
        });
    }

    // Figures.
    let mut figures = String::new();
    let labels = lab.splits.test.labels.clone();
    if latent == 2 {
        let grid_codes = manifold_codes(20);
        let dense = &mut models[0].vae;
        let decoded = crate::train::decode(dense, &grid_codes, 2);
        let rows: Vec<Vec<f32>> = decoded.chunks(20 * 784).map(<[f32]>::to_vec).collect();
        let manifold = lab.save_grid(NAME, "manifold.png", &rows)?;
        figures += "> The decoded 2-D manifold: a 20×20 grid of z through the inverse Gaussian \
                    CDF over the unit square.\n\n";
        figures += &format!("![the dense VAE's decoded manifold]({manifold})\n\n");
        figures += "*The dense VAE's decoder on a 20×20 grid: column j has z₁ = Φ⁻¹((j + ½)/20), \
                    row i (top to bottom) z₂ = Φ⁻¹(1 − (i + ½)/20), so each cell covers the same \
                    prior probability. The KL term is what makes every cell decode to something \
                    digit-like: it keeps the codes packed around the origin, with no empty \
                    region between them for the decoder to leave untrained.*\n\n";
        figures += "> The test set's means as a scatter, coloured by digit.\n\n";
        let mut spreads = Vec::new();
        for m in models.iter_mut() {
            let means = crate::train::codes(&mut m.vae, &test_images);
            let std = |axis: usize| {
                let v: Vec<f64> = means
                    .iter()
                    .skip(axis)
                    .step_by(2)
                    .map(|&x| x as f64)
                    .collect();
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
            };
            spreads.push(format!(
                "{:.2} and {:.2} for the {}",
                std(0),
                std(1),
                m.kind.short(latent)
            ));
            let chart = ScatterChart {
                title: format!(
                    "{}: test means μ(x), {} images",
                    m.kind.title(latent),
                    thousands(labels.len() as u64)
                ),
                x_label: "z₁".into(),
                y_label: "z₂".into(),
                sets: by_digit(&means, &labels),
            };
            let file = lab.save_scatter(NAME, &format!("means-{}.svg", m.kind.id()), &chart)?;
            figures += &format!("![{} test means by digit]({file})\n\n", m.kind.id());
        }
        figures += &format!(
            "*Each test image's mean code, coloured by its digit (never shown to the model). \
             The means' standard deviations along z₁ and z₂: {} (the prior's: 1).*\n\n",
            spreads.join("; ")
        );
    } else {
        figures += &format!(
            "With {latent} latent dimensions the manifold and the scatter of means, which need \
             two, are not drawn (`--vae-latent 2` draws them).\n\n"
        );
    }
    // Samples from the prior: z ~ N(0, I), decoded by each model.
    let z = Tensor::normal(&[20, latent], 0.0, 1.0, &mut rng(TEST_NOISE_SEED + 1));
    let mut sample_rows = Vec::new();
    for m in models.iter_mut() {
        let images = crate::train::decode(&mut m.vae, z.data(), latent);
        sample_rows.extend(images.chunks(10 * 784).map(<[f32]>::to_vec));
    }
    let samples = lab.save_grid(NAME, "samples.png", &sample_rows)?;
    figures += "> Random samples from the prior.\n\n";
    figures += &format!("![samples from the prior]({samples})\n\n");
    figures += &format!(
        "*Twenty draws z ~ N(0, I) (seed {}), decoded: the top two rows by the dense VAE, the \
         bottom two by the convolutional one (the same z in both).*\n\n",
        TEST_NOISE_SEED + 1
    );
    // Interpolations: in latent space, next to blending pixels (between the first test
    // images of two digits, so only when the test set has every digit).
    figures += "> Interpolation strips between test digits, in latent space, next to \
                pixel-space blending.\n\n";
    if lab.has_every_digit() {
        let dense = &mut models[0].vae;
        let mut strip_rows = Vec::new();
        for (a, b) in PAIRS {
            let (ia, ib) = (lab.samples[a], lab.samples[b]);
            let ends = lab.splits.test.images(&[ia, ib]).into_data();
            let codes = crate::train::codes(dense, &ends);
            let path = interpolate(&codes[..latent], &codes[latent..], 10);
            strip_rows.push(crate::train::decode(dense, &path, latent));
            strip_rows.push(interpolate(&ends[..784], &ends[784..], 10));
        }
        let strips = lab.save_grid(NAME, "interpolations.png", &strip_rows)?;
        figures += &format!("![interpolations]({strips})\n\n");
        figures += &format!(
            "*Pairs {}: for each pair, the first row decodes ten equally spaced points on the \
             segment between the two images' means (dense VAE), the second blends the two \
             images' pixels with the same weights: a double exposure, one stroke fading as the \
             other appears, where the latent path goes through the decoder's own shapes. \
             Through two numbers the decoded ends are blurred versions of the inputs, and a \
             digit whose mean falls among another digit's (see the scatter) decodes as that \
             one.*\n\n",
            PAIRS
                .iter()
                .map(|(a, b)| format!("{a}→{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        figures += "Not drawn: the test set used here lacks a digit (`--test-limit`).\n\n";
    }
    let objective = if beta == 1.0 {
        "negative ELBO, nats per image".to_string()
    } else {
        format!("BCE + {beta}·KL, nats per image")
    };
    let chart = lab.save_objective_chart(
        NAME,
        "elbo.svg",
        &format!(
            "VAEs (latent {latent}): training loss, {} MNIST training images",
            thousands(lab.splits.train.len() as u64)
        ),
        &objective,
        &MODELS
            .iter()
            .map(|k| (k.title(latent), NAME, k.id()))
            .collect::<Vec<_>>(),
    )?;

    // Text.
    let mut body = String::from("## Variational autoencoders\n\n");
    body += &format!(
        "> Dense (784-512-latent-512-784, latent 2 by default, as in the course) and \
         convolutional. The encoder returns a mean and a log-variance; z = mu + exp(logvar / 2) \
         * eps with eps drawn from the seeded generator in training, z = mu in evaluation.\n\n\
         Both are trained {} on the negative ELBO per image, BCE(x̂, x) summed over the 784 \
         pixels + {}KL(q(z|x) ‖ N(0, I)) summed over the {} latent dimensions, with ε drawn from \
         the run's generator at every step. The tables below describe them; every figure below \
         is on the {} test images.\n\n",
        count(lab.settings.epochs, "epoch"),
        if beta == 1.0 {
            String::new()
        } else {
            format!("β = {beta} × ")
        },
        latent,
        thousands(test_images.len() as u64 / 784),
    );
    for m in &models {
        body += &model_table(m.kind, latent, &m.summary);
        body += "\n";
    }
    body += "> Reported per image in nats as the negative ELBO, with the two terms and the KL \
             per latent dimension (so inactive units show).\n\n";
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            vec![
                m.kind.title(latent),
                thousands(m.summary.total_params as u64),
                format!("{:.2}", m.elbo.negative_elbo),
                format!("{:.2}", m.elbo.bce),
                format!("{:.2}", m.elbo.kl),
                m.elbo
                    .kl_per_dim
                    .iter()
                    .map(|v| format!("{v:.2}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                format!("{:.2}", m.last_train),
                format!("{:.5}", m.test_mse),
            ]
        })
        .collect();
    body += &table(
        &[
            "model",
            "parameters",
            "test −ELBO (nats)",
            "BCE (nats)",
            "KL (nats)",
            "KL per dimension",
            "training loss, last epoch",
            "test MSE from μ",
        ],
        &rows,
    );
    let (dense, conv) = (&models[0], &models[1]);
    let better = if dense.elbo.negative_elbo <= conv.elbo.negative_elbo {
        (dense, conv)
    } else {
        (conv, dense)
    };
    let inactive: Vec<String> = models
        .iter()
        .flat_map(|m| {
            m.elbo
                .kl_per_dim
                .iter()
                .enumerate()
                .filter(|(_, v)| **v < 0.05)
                .map(move |(i, _)| format!("dimension {} of the {}", i + 1, m.kind.short(latent)))
        })
        .collect();
    body += &format!(
        "\nThe test ELBO is estimated with one ε per image (seed {TEST_NOISE_SEED}), as \
         `tp5.py` does; a coin flip per pixel would score {COIN_FLIP_NATS:.1} nats. The {} \
         reaches {:.1} nats against {:.1} for the {} ({} parameters against {}). Of each \
         model's loss, the KL term is the price of a code that follows the prior: {:.1} nats \
         for the {} and {:.1} for the {}. {}\n\n",
        better.0.kind.short(latent),
        better.0.elbo.negative_elbo,
        better.1.elbo.negative_elbo,
        better.1.kind.short(latent),
        thousands(better.0.summary.total_params as u64),
        thousands(better.1.summary.total_params as u64),
        dense.elbo.kl,
        dense.kind.short(latent),
        conv.elbo.kl,
        conv.kind.short(latent),
        if inactive.is_empty() {
            "Every latent dimension carries information (KL above 0.05 nats): none has \
             collapsed to the prior."
                .to_string()
        } else {
            format!(
                "Inactive (KL below 0.05 nats, the posterior equal to the prior, the decoder \
                 ignoring it): {}.",
                inactive.join("; ")
            )
        }
    );
    body += &format!("![training loss per epoch]({chart})\n\n");
    body += &format!(
        "*The training loss ({objective}), mean over each epoch's batches (with a fresh ε every \
         step).*\n\n"
    );
    body += &figures;
    Ok(Section { body, timings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrained_vae_scores_near_a_coin_flip() {
        // Untrained, the decoder outputs ≈ 0.5 everywhere: BCE ≈ 784·ln 2 per image whatever
        // the image, and the KL is small.
        let mut vae = Vae::dense(2, &mut rng(0));
        let images = vec![0.0f32; 3 * 784];
        let e = test_elbo(&mut vae, &images);
        assert!(
            (e.bce - COIN_FLIP_NATS).abs() < 0.1 * COIN_FLIP_NATS,
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
