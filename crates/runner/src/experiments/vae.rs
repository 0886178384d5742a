//! The variational autoencoders: the course's dense VAE (784-512-2-512-784, as
//! `tp5.py --model vae`) and a convolutional one, trained on the negative ELBO; their test
//! ELBO with its two terms and the KL of each latent dimension; the decoded 2-D manifold,
//! the test set's means by digit, samples from the prior, and interpolations.

use layers::summary::thousands;
use models::ModelKind;
use models::vae::Vae;
use serde::{Deserialize, Serialize};
use tensor::{Tensor, rng};

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::data::identity::DataIdentity;
use crate::figures::scatter::{ScatterChart, by_class};
use crate::instruments::elbo::{ElboFigures, test_elbo};
use crate::instruments::latent::{interpolate, manifold_codes};
use crate::instruments::reader::{classes_read, confident_share};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, table};
use crate::train::TrainError;
use crate::train::autoencoder::{TEST_NOISE_SEED, codes, decode};

/// The variational autoencoders.
pub struct Variational;

/// The two VAEs, in the report's order.
pub const MODELS: [ModelKind; 2] = [ModelKind::Vae, ModelKind::ConvVae];

/// `784·ln 2`: the negative ELBO of a model that says 0.5 for every pixel (nats per image).
const COIN_FLIP_NATS: f64 = 784.0 * std::f64::consts::LN_2;

/// Pairs of digits the interpolation figure joins (first test image of each).
const PAIRS: [(usize, usize); 4] = [(0, 6), (1, 7), (3, 8), (4, 9)];

/// What the VAE experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Latent dimensions (`--vae-latent`).
    pub latent: usize,
    /// The weight on the KL term (`--beta`).
    pub beta: f64,
    /// The seed of the test ELBO's ε.
    pub test_noise_seed: u64,
    /// The dense and the convolutional VAE, in [`MODELS`] order.
    pub models: Vec<VaeCard>,
    /// The training loss curves.
    pub elbo_chart: String,
    /// The 2-D figures (when the latent space has two dimensions).
    pub plane: Option<Plane>,
    /// The grid of samples from the prior.
    pub samples: String,
    /// The seed of the prior's samples.
    pub samples_seed: u64,
    /// The interpolation strips (when the test set has every digit).
    pub interpolations: Option<String>,
}

/// One trained VAE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeCard {
    /// The model and its run.
    pub card: ModelCard,
    /// Its test ELBO and terms.
    pub elbo: ElboFigures,
    /// Its training loss in the last epoch.
    pub last_train: f64,
}

/// The figures of a 2-D latent space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    /// The dense VAE's decoded manifold.
    pub manifold: String,
    /// Each model's scatter of test means, in [`MODELS`] order.
    pub means: Vec<String>,
    /// Each model's standard deviation of the test means along z₁ and z₂.
    pub spreads: Vec<[f64; 2]>,
    /// What a digit reader makes of the manifold's cells (absent in older results).
    #[serde(default)]
    pub reading: Option<ManifoldReading>,
}

/// Whether the dense VAE's manifold decodes to digits everywhere, and smoothly: a digit
/// reader ([`Reader`](crate::instruments::reader::Reader)) on its cells, and the change from one cell to the next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifoldReading {
    /// Cells of the grid.
    pub cells: usize,
    /// The reader's test accuracy (0 to 1).
    pub reader_accuracy: f64,
    /// The share of real test images the reader reads with probability above 0.9.
    pub test_confident: f64,
    /// The share of the grid's cells it reads with probability above 0.9.
    pub grid_confident: f64,
    /// The classes read with confidence in some cell, in order.
    pub classes_read: Vec<usize>,
    /// Classes in all.
    pub classes: usize,
    /// Mean absolute pixel difference between neighbouring cells (right and down).
    pub neighbour_change: f64,
    /// Mean absolute pixel difference between consecutive test images (two unrelated
    /// digits): the scale of a jump.
    pub unrelated_change: f64,
}

impl ManifoldReading {
    /// The classes no cell reads as, with confidence.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.classes)
            .filter(|c| !self.classes_read.contains(c))
            .collect()
    }

    /// Neighbouring cells change by less than half the difference of two unrelated images.
    pub fn continuous(&self) -> bool {
        self.neighbour_change < 0.5 * self.unrelated_change
    }

    /// The grid's confident share is at least 3/4 of the real images' own.
    pub fn reads_like_digits(&self) -> bool {
        self.grid_confident >= 0.75 * self.test_confident
    }

    /// Its verdict on "continuous and decodes to a digit everywhere".
    pub fn verdict(&self) -> Verdict {
        match (
            self.continuous(),
            self.reads_like_digits(),
            self.missing().is_empty(),
        ) {
            (true, true, true) => Verdict::Holds,
            (false, false, _) => Verdict::Fails,
            _ => Verdict::Partly,
        }
    }

    /// The numbers behind the verdict, in a sentence, its classes named as `data` names
    /// them.
    pub fn evidence(&self, data: &DataIdentity) -> String {
        let (missing, noun) = (self.missing(), &data.noun);
        format!(
            "a {noun} reader (a small CNN, {:.1}% on the test set) reads {:.0}% of the dense \
             VAE's {} manifold cells as a {noun} with probability above 0.9, against {:.0}% of \
             real test images; {}; neighbouring cells differ by {:.3} per pixel on average, {} \
             the {:.3} between two unrelated test images",
            100.0 * self.reader_accuracy,
            100.0 * self.grid_confident,
            self.cells,
            100.0 * self.test_confident,
            if missing.is_empty() {
                format!("every {noun} appears somewhere in the grid")
            } else {
                format!(
                    "no cell reads as {}",
                    missing
                        .iter()
                        .map(|&c| data
                            .classes
                            .get(c)
                            .cloned()
                            .unwrap_or_else(|| c.to_string()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            self.neighbour_change,
            if self.continuous() {
                "far below"
            } else {
                "not far below"
            },
            self.unrelated_change,
        )
    }
}

/// Reads the manifold's `decoded` cells (`side × side`, row-major) with a reader trained on
/// the lab's training images.
fn read_manifold(lab: &mut Lab, decoded: &[f32], side: usize) -> ManifoldReading {
    let test_images = lab.splits.test.all_images();
    let n_test = lab.splits.test.len();
    let test_images = test_images.reshape(&[n_test, 784]);
    let reader = lab.reader();
    let cells = Tensor::from_vec(&[side * side, 784], decoded.to_vec());
    let readings = reader.read(&cells);
    let cell = |i: usize, j: usize| &decoded[(i * side + j) * 784..(i * side + j + 1) * 784];
    let change = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() as f64)
            .sum::<f64>()
            / a.len() as f64
    };
    let mut neighbours = Vec::new();
    for i in 0..side {
        for j in 0..side {
            if j + 1 < side {
                neighbours.push(change(cell(i, j), cell(i, j + 1)));
            }
            if i + 1 < side {
                neighbours.push(change(cell(i, j), cell(i + 1, j)));
            }
        }
    }
    let test_data = test_images.data();
    let pairs = (n_test.saturating_sub(1)).min(1_000);
    let unrelated: Vec<f64> = (0..pairs)
        .map(|i| {
            change(
                &test_data[i * 784..(i + 1) * 784],
                &test_data[(i + 1) * 784..(i + 2) * 784],
            )
        })
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    ManifoldReading {
        cells: side * side,
        reader_accuracy: reader.test_accuracy,
        test_confident: reader.test_confident,
        grid_confident: confident_share(&readings),
        classes_read: classes_read(&readings, reader.classes),
        classes: reader.classes,
        neighbour_change: mean(&neighbours),
        unrelated_change: mean(&unrelated),
    }
}

/// The label of the training loss: the negative ELBO, or the β-weighted one.
fn objective_label(beta: f64) -> String {
    if beta == 1.0 {
        "negative ELBO, nats per image".to_string()
    } else {
        format!("BCE + {beta}·KL, nats per image")
    }
}

impl Experiment for Variational {
    const NAME: &'static str = "vae";
    const ABOUT: &'static str =
        "The variational autoencoders (dense and convolutional): ELBO, latent space, samples";
    type Results = Results;

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.models.iter().map(|m| m.card.table_markdown()).collect()
    }

    fn claims(r: &Results, lab: &LabInfo) -> Vec<Finding> {
        let Some(reading) = r.plane.as_ref().and_then(|p| p.reading.as_ref()) else {
            return Vec::new();
        };
        vec![Finding::new(
            Claim::VaeLatentSpaceDecodesEverywhere,
            reading.verdict(),
            reading.evidence(&lab.dataset),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let (latent, beta) = (lab.settings.vae_latent, lab.settings.beta);
        let test_images = lab.splits.test.all_images().into_data();
        let mut models = Vec::new();
        let mut vaes = Vec::new();
        for kind in MODELS {
            let config = lab.vae_config(kind, latent);
            let run = lab.ensure_config(Self::NAME, kind.id(), config)?;
            // The concrete model, from the run's own weights file.
            let mut vae = match kind {
                ModelKind::ConvVae => Vae::conv(latent, &mut rng(0)),
                _ => Vae::dense(latent, &mut rng(0)),
            };
            layers::io::load(run.dir.join("model.safetensors"), &mut vae)
                .map_err(|e| e.to_string())?;
            models.push(VaeCard {
                card: ModelCard::of(run),
                elbo: test_elbo(&mut vae, &test_images),
                last_train: run.last().map_or(f64::NAN, |f| f.train_objective),
            });
            vaes.push(vae);
        }

        let labels = lab.splits.test.labels.clone();
        let plane = if latent == 2 {
            let grid_codes = manifold_codes(20);
            let decoded = decode(&mut vaes[0], &grid_codes, 2);
            let rows: Vec<Vec<f32>> = decoded.chunks(20 * 784).map(<[f32]>::to_vec).collect();
            let manifold = lab.save_grid(Self::NAME, "manifold.png", &rows)?;
            let reading = Some(read_manifold(lab, &decoded, 20));
            let (mut means_files, mut spreads) = (Vec::new(), Vec::new());
            for (kind, vae) in MODELS.iter().zip(vaes.iter_mut()) {
                let means = codes(vae, &test_images);
                let std = |axis: usize| {
                    let v: Vec<f64> = means
                        .iter()
                        .skip(axis)
                        .step_by(2)
                        .map(|&x| x as f64)
                        .collect();
                    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64)
                        .sqrt()
                };
                spreads.push([std(0), std(1)]);
                let chart = ScatterChart {
                    title: format!(
                        "{}: test means μ(x), {} images",
                        kind.title(latent),
                        thousands(labels.len() as u64)
                    ),
                    x_label: "z₁".into(),
                    y_label: "z₂".into(),
                    sets: by_class(&means, &labels, &lab.identity),
                };
                means_files.push(lab.save_scatter(
                    Self::NAME,
                    &format!("means-{}.svg", kind.id()),
                    &chart,
                )?);
            }
            Some(Plane {
                manifold,
                means: means_files,
                spreads,
                reading,
            })
        } else {
            None
        };
        // Samples from the prior: z ~ N(0, I), decoded by each model.
        let samples_seed = TEST_NOISE_SEED + 1;
        let z = Tensor::normal(&[20, latent], 0.0, 1.0, &mut rng(samples_seed));
        let mut sample_rows = Vec::new();
        for vae in vaes.iter_mut() {
            let images = decode(vae, z.data(), latent);
            sample_rows.extend(images.chunks(10 * 784).map(<[f32]>::to_vec));
        }
        let samples = lab.save_grid(Self::NAME, "samples.png", &sample_rows)?;
        // Interpolations: in latent space, next to blending pixels (between the first test
        // images of two digits, so only when the test set has every digit).
        let interpolations = if lab.has_every_digit() {
            let dense = &mut vaes[0];
            let mut strip_rows = Vec::new();
            for (a, b) in PAIRS {
                let (ia, ib) = (lab.samples[a], lab.samples[b]);
                let ends = lab.splits.test.images(&[ia, ib]).into_data();
                let ends_codes = codes(dense, &ends);
                let path = interpolate(&ends_codes[..latent], &ends_codes[latent..], 10);
                strip_rows.push(decode(dense, &path, latent));
                strip_rows.push(interpolate(&ends[..784], &ends[784..], 10));
            }
            Some(lab.save_grid(Self::NAME, "interpolations.png", &strip_rows)?)
        } else {
            None
        };
        let elbo_chart = lab.save_objective_chart(
            Self::NAME,
            "elbo.svg",
            &format!(
                "VAEs (latent {latent}): training loss, {} {} training images",
                thousands(lab.splits.train.len() as u64),
                lab.identity.short()
            ),
            &objective_label(beta),
            &MODELS
                .iter()
                .map(|k| (k.title(latent), Self::NAME, k.id()))
                .collect::<Vec<_>>(),
        )?;
        Ok(Results {
            latent,
            beta,
            test_noise_seed: TEST_NOISE_SEED,
            models,
            elbo_chart,
            plane,
            samples,
            samples_seed,
            interpolations,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let (latent, beta) = (r.latent, r.beta);
        let objective = objective_label(beta);
        let mut body = String::from("## Variational autoencoders\n\n");
        body += &format!(
            "> Dense (784-512-latent-512-784, latent 2 by default, as in the course) and \
             convolutional. The encoder returns a mean and a log-variance; z = mu + \
             exp(logvar / 2) * eps with eps drawn from the seeded generator in training, z = mu \
             in evaluation.\n\n\
             Both are trained {} on the negative ELBO per image, BCE(x̂, x) summed over the 784 \
             pixels + {}KL(q(z|x) ‖ N(0, I)) summed over the {} latent dimensions, with ε drawn \
             from the run's generator at every step. The tables below describe them; every \
             figure below is on the {} test images.\n\n",
            count(lab.epochs, "epoch"),
            if beta == 1.0 {
                String::new()
            } else {
                format!("β = {beta} × ")
            },
            latent,
            thousands(lab.n_test as u64),
        );
        body += "Their description tables are in the \
                 [appendix](#appendix-the-models-description-tables).\n\n";
        body += "> Reported per image in nats as the negative ELBO, with the two terms and the \
                 KL per latent dimension (so inactive units show).\n\n";
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    m.card.title.clone(),
                    thousands(m.card.table.total_params as u64),
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
                    format!("{:.5}", m.card.final_test_mse()),
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
        let (dense, conv) = (&r.models[0], &r.models[1]);
        let better = if dense.elbo.negative_elbo <= conv.elbo.negative_elbo {
            (dense, conv)
        } else {
            (conv, dense)
        };
        body += &format!(
            "\nThe test ELBO is estimated with one ε per image (seed {}), as `tp5.py` does; a \
             coin flip per pixel would score {COIN_FLIP_NATS:.1} nats. The {} reaches {:.1} \
             nats against {:.1} for the {} ({} parameters against {}). Of each model's loss, \
             the KL term is the price of a code that follows the prior: {:.1} nats for the {} \
             and {:.1} for the {}. {}\n\n",
            r.test_noise_seed,
            better.0.card.short,
            better.0.elbo.negative_elbo,
            better.1.elbo.negative_elbo,
            better.1.card.short,
            thousands(better.0.card.table.total_params as u64),
            thousands(better.1.card.table.total_params as u64),
            dense.elbo.kl,
            dense.card.short,
            conv.elbo.kl,
            conv.card.short,
            inactive_remark(&r.models),
        );
        body += &format!("![training loss per epoch]({})\n\n", r.elbo_chart);
        body += &format!(
            "*The training loss ({objective}), mean over each epoch's batches (with a fresh ε \
             every step).*\n\n"
        );
        body += &figures(r, &lab.dataset);
        Section {
            body,
            timings: r.models.iter().map(|m| m.card.timing.clone()).collect(),
        }
    }
}

/// Which latent dimensions collapsed to the prior, in a sentence.
fn inactive_remark(models: &[VaeCard]) -> String {
    let inactive: Vec<String> = models
        .iter()
        .flat_map(|m| {
            m.elbo
                .kl_per_dim
                .iter()
                .enumerate()
                .filter(|(_, v)| **v < 0.05)
                .map(move |(i, _)| format!("dimension {} of the {}", i + 1, m.card.short))
        })
        .collect();
    if inactive.is_empty() {
        "Every latent dimension carries information (KL above 0.05 nats): none has collapsed \
         to the prior."
            .to_string()
    } else {
        format!(
            "Inactive (KL below 0.05 nats, the posterior equal to the prior, the decoder \
             ignoring it): {}.",
            inactive.join("; ")
        )
    }
}

/// What the manifold's reading says: does every cell decode to a digit, does the grid change
/// smoothly, which digits are missing and why.
fn manifold_sentence(reading: &ManifoldReading, data: &DataIdentity) -> String {
    let noun = &data.noun;
    let mut text = format!(
        "Is the latent space continuous, decoding to a {noun} everywhere? {}",
        {
            let mut e = reading.evidence(data);
            e[..1].make_ascii_uppercase();
            e
        }
    );
    text += ". ";
    text += &match (reading.continuous(), reading.reads_like_digits()) {
        (true, true) => format!(
            "The grid changes smoothly and most cells read as a {noun} ({:.0}%, against {:.0}% \
             of real images): the KL term keeps the codes packed around the origin, with little \
             empty room for the decoder to leave untrained.",
            100.0 * reading.grid_confident,
            100.0 * reading.test_confident
        ),
        (true, false) => format!(
            "The grid changes smoothly, but many cells do not read as a {noun}: between the \
             clusters (and in the corners, where few test means fall: see the scatter) the \
             decoder draws blends and broken strokes."
        ),
        (false, true) => format!(
            "Most cells read as a {noun}, but neighbouring cells jump: the decoder switches \
             from one {noun} to another over short distances."
        ),
        (false, false) => {
            format!("Neighbouring cells jump and many cells do not read as a {noun}.")
        }
    };
    let missing = reading.missing();
    if !missing.is_empty() {
        text += &format!(
            " With two latent dimensions some {noun}s get no region of their own: their means \
             fall among others' (see the scatter), so no cell of the grid decodes to {}.",
            if missing.len() == 1 { "it" } else { "them" }
        );
    }
    text + "\n\n"
}

/// The figures' part of the section: the 2-D plane, the samples, the interpolations, its
/// classes named as `data` names them.
fn figures(r: &Results, data: &DataIdentity) -> String {
    let (latent, noun, key) = (r.latent, &data.noun, data.colour_key());
    let mut figures = String::new();
    match &r.plane {
        Some(plane) => {
            figures += "> The decoded 2-D manifold: a 20×20 grid of z through the inverse \
                        Gaussian CDF over the unit square.\n\n";
            figures += &format!(
                "![the dense VAE's decoded manifold]({})\n\n",
                plane.manifold
            );
            figures += "*The dense VAE's decoder on a 20×20 grid: column j has z₁ = \
                        Φ⁻¹((j + ½)/20), row i (top to bottom) z₂ = Φ⁻¹(1 − (i + ½)/20), so \
                        each cell covers the same prior probability.*\n\n";
            if let Some(reading) = &plane.reading {
                figures += &manifold_sentence(reading, data);
            }
            figures += "> The test set's means as a scatter, coloured by digit.\n\n";
            let mut spreads = Vec::new();
            for ((m, file), [z1, z2]) in r.models.iter().zip(&plane.means).zip(&plane.spreads) {
                spreads.push(format!("{z1:.2} and {z2:.2} for the {}", m.card.short));
                figures += &format!("![{} test means by {key}]({file})\n\n", m.card.id);
            }
            figures += &format!(
                "*Each test image's mean code, coloured by its {key} (never shown to the \
                 model). The means' standard deviations along z₁ and z₂: {} (the prior's: \
                 1).*\n\n",
                spreads.join("; ")
            );
        }
        None => {
            figures += &format!(
                "With {latent} latent dimensions the manifold and the scatter of means, which \
                 need two, are not drawn (`--vae-latent 2` draws them).\n\n"
            );
        }
    }
    figures += "> Random samples from the prior.\n\n";
    figures += &format!("![samples from the prior]({})\n\n", r.samples);
    figures += &format!(
        "*Twenty draws z ~ N(0, I) (seed {}), decoded: the top two rows by the dense VAE, the \
         bottom two by the convolutional one (the same z in both).*\n\n",
        r.samples_seed
    );
    figures += "> Interpolation strips between test digits, in latent space, next to \
                pixel-space blending.\n\n";
    match &r.interpolations {
        Some(strips) => {
            figures += &format!("![interpolations]({strips})\n\n");
            figures += &format!(
                "*Two rows per pair of test images, top to bottom: {}. In each pair of rows the \
                 first decodes ten equally spaced points on the segment between the two \
                 images' means (dense VAE), the second blends the two images' pixels with the \
                 same weights; column j (1 to 10, left to right) puts the weight t = (j − 1)/9 \
                 on the second image, from the first image (t = 0) to the second (t = 1). The \
                 blend is a double exposure, one stroke fading as the other appears, where the \
                 latent path goes through the decoder's own shapes. Through two numbers the \
                 decoded ends are blurred versions of the inputs, and a {noun} whose mean falls \
                 among another {noun}'s (see the scatter) decodes as that one.*\n\n",
                PAIRS
                    .iter()
                    .enumerate()
                    .map(|(i, &(a, b))| format!(
                        "rows {}–{}, {}→{}",
                        2 * i + 1,
                        2 * i + 2,
                        data.classes[a],
                        data.classes[b]
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        None => {
            figures +=
                &format!("Not drawn: the test set used here lacks a {noun} (`--test-limit`).\n\n");
        }
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vae_card(short: &str, negative_elbo: f64, kl_per_dim: &[f64]) -> VaeCard {
        let kl = kl_per_dim.iter().sum::<f64>();
        VaeCard {
            card: crate::experiments::tp1::tests::card(short, &[0.05, 0.04]),
            elbo: ElboFigures {
                negative_elbo,
                bce: negative_elbo - kl,
                kl,
                kl_per_dim: kl_per_dim.to_vec(),
            },
            last_train: negative_elbo,
        }
    }

    fn results(dense: f64, conv: f64, conv_kl: &[f64], beta: f64, plane: bool) -> Results {
        Results {
            latent: 2,
            beta,
            test_noise_seed: TEST_NOISE_SEED,
            models: vec![
                vae_card("dense VAE", dense, &[2.7, 2.7]),
                vae_card("conv VAE", conv, conv_kl),
            ],
            elbo_chart: "vae/elbo.svg".into(),
            plane: plane.then(|| Plane {
                manifold: "vae/manifold.png".into(),
                means: vec!["vae/means-vae.svg".into(), "vae/means-conv_vae.svg".into()],
                spreads: vec![[1.26, 1.25], [0.91, 1.0]],
                reading: Some(reading(0.95, vec![0, 1, 3, 6, 7, 8, 9], 0.05)),
            }),
            samples: "vae/samples.png".into(),
            samples_seed: TEST_NOISE_SEED + 1,
            interpolations: plane.then(|| "vae/interpolations.png".into()),
        }
    }

    fn reading(grid_confident: f64, classes_read: Vec<usize>, neighbour: f64) -> ManifoldReading {
        ManifoldReading {
            cells: 400,
            reader_accuracy: 0.97,
            test_confident: 0.93,
            grid_confident,
            classes_read,
            classes: 10,
            neighbour_change: neighbour,
            unrelated_change: 0.2,
        }
    }

    #[test]
    fn the_manifold_claim_follows_the_reading() {
        let lab = crate::experiments::tp1::tests::lab();
        let verdict = |grid: f64, classes: Vec<usize>, neighbour: f64| {
            let mut r = results(162.1, 170.3, &[2.7, 2.2], 1.0, true);
            r.plane.as_mut().unwrap().reading = Some(reading(grid, classes, neighbour));
            let findings = Variational::claims(&r, &lab);
            let body = Variational::render(&r, &lab).body;
            (findings[0].verdict, findings[0].evidence.clone(), body)
        };
        let (v, evidence, body) = verdict(0.9, (0..10).collect(), 0.05);
        assert_eq!(v, Verdict::Holds);
        assert!(
            evidence.contains("reads 90% of the dense VAE's 400 manifold cells"),
            "{evidence}"
        );
        assert!(evidence.contains("every digit appears"), "{evidence}");
        assert!(evidence.contains("far below the 0.200"), "{evidence}");
        assert!(
            body.contains("most cells read as a digit (90%, against 93%"),
            "{body}"
        );
        let (v, evidence, body) = verdict(0.9, vec![0, 1, 3, 6, 7, 8, 9], 0.05);
        assert_eq!(v, Verdict::Partly);
        assert!(evidence.contains("no cell reads as 2, 4, 5"), "{evidence}");
        assert!(
            body.contains("no cell of the grid decodes to them"),
            "{body}"
        );
        let (v, _, body) = verdict(0.5, (0..10).collect(), 0.05);
        assert_eq!(v, Verdict::Partly);
        assert!(body.contains("many cells do not read as a digit"), "{body}");
        let (v, evidence, _) = verdict(0.5, (0..10).collect(), 0.15);
        assert_eq!(v, Verdict::Fails);
        assert!(evidence.contains("not far below"), "{evidence}");
        // No plane (latent other than 2): no finding.
        let r = results(162.1, 170.3, &[2.7, 2.2], 1.0, false);
        assert!(Variational::claims(&r, &lab).is_empty());
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let lab = crate::experiments::tp1::tests::lab();
        let body = Variational::render(&results(162.1, 170.3, &[2.7, 2.2], 1.0, true), &lab).body;
        assert!(
            body.contains("The dense VAE reaches 162.1 nats against 170.3 for the conv VAE"),
            "{body}"
        );
        assert!(body.contains("none has collapsed to the prior"), "{body}");
        assert!(body.contains("pixels + KL(q(z|x)"), "{body}");
        assert!(body.contains("(negative ELBO, nats per image)"), "{body}");
        assert!(
            body.contains("1.26 and 1.25 for the dense VAE; 0.91 and 1.00 for the conv VAE"),
            "{body}"
        );
        assert!(
            body.contains("![interpolations](vae/interpolations.png)"),
            "{body}"
        );
        // Flipped: the convolutional VAE wins, one of its dimensions collapsed, β ≠ 1, no
        // plane and no interpolations.
        let body = Variational::render(&results(170.3, 162.1, &[2.7, 0.01], 4.0, false), &lab).body;
        assert!(
            body.contains("The conv VAE reaches 162.1 nats against 170.3 for the dense VAE"),
            "{body}"
        );
        assert!(
            body.contains("ignoring it): dimension 2 of the conv VAE."),
            "{body}"
        );
        assert!(body.contains("pixels + β = 4 × KL(q(z|x)"), "{body}");
        assert!(body.contains("(BCE + 4·KL, nats per image)"), "{body}");
        assert!(body.contains("are not drawn (`--vae-latent 2`"), "{body}");
        assert!(
            body.contains("Not drawn: the test set used here lacks"),
            "{body}"
        );
    }
}
