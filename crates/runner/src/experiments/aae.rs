//! The adversarial autoencoders (Makhzani et al. 2015): the same 784-256-256-2 encoder and
//! decoder regularized towards three priors (N(0, I), a mixture of ten Gaussians on a
//! circle, a uniform square) and towards the mixture with the digit given to the
//! discriminator; against a plain autoencoder of the same shape. Figures of merit: how far
//! the test codes are from the prior (MMD), and for the conditional model the share of codes
//! nearest their own digit's component.

use layers::Module as _;
use layers::summary::thousands;
use models::aae::{COMPONENTS, Prior};
use tensor::rng;

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing};
use crate::train::adversarial::{AaeConfig, TrainedAae, train_aae};
use crate::figures::chart::{LineChart, Series};
use crate::figures::scatter::{PointSet, ScatterChart, by_digit};
use crate::instruments::latent::{mmd2, nearest_mean_share};
use crate::train::{TEST_NOISE_SEED, TrainError};

/// The experiment's folder name.
pub const NAME: &str = "aae";

/// Codes and prior samples compared by the MMD (and drawn in the scatter plots).
const SAMPLE: usize = 1_000;

/// The Gaussian kernel's bandwidth for the MMD, in code units (the priors' scale is 1–4).
const MMD_SIGMA: f64 = 1.0;

/// One run of the experiment.
struct Run {
    /// Its folder name.
    name: String,
    /// How the report names it.
    title: String,
    /// The trained model.
    trained: TrainedAae,
    /// Its test codes, `n·2` values.
    codes: Vec<f32>,
}

/// Trains the adversarial autoencoders and the plain one, draws the figures, returns the
/// section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let s = lab.settings.clone();
    let base = AaeConfig {
        prior: Prior::Gaussian.id().into(),
        conditional: false,
        regularize: true,
        epochs: s.epochs,
        batch_size: s.batch_size,
        lr: s.lr,
        seed: s.seed,
        data: lab.splits.dir.display().to_string(),
        n_train: lab.splits.train.len(),
        n_test: lab.splits.test.len(),
    };
    let mut specs: Vec<(String, String, AaeConfig)> = Prior::ALL
        .iter()
        .map(|p| {
            (
                format!("aae_{}", p.id()),
                format!("AAE, prior {}", p.title()),
                AaeConfig {
                    prior: p.id().into(),
                    ..base.clone()
                },
            )
        })
        .collect();
    specs.push((
        "aae_mixture_conditional".into(),
        "AAE, mixture prior, digit given to the discriminator".into(),
        AaeConfig {
            prior: Prior::Mixture.id().into(),
            conditional: true,
            ..base.clone()
        },
    ));
    specs.push((
        "ae_plain".into(),
        "plain autoencoder, same shape, no regularization".into(),
        AaeConfig {
            regularize: false,
            ..base.clone()
        },
    ));
    let test_images = lab.splits.test.all_images().into_data();
    let labels = lab.splits.test.labels.clone();
    let mut runs = Vec::new();
    for (name, title, config) in specs {
        let dir = lab.exercise_dir(NAME).join(&name);
        let mut trained = train_aae(&config, &lab.splits, &dir)?;
        let codes = crate::train::codes(&mut trained.model, &test_images);
        runs.push(Run {
            name,
            title,
            trained,
            codes,
        });
    }
    let timings = runs
        .iter()
        .map(|r| Timing {
            run: r.name.clone(),
            epochs_trained: r.trained.history.len(),
            seconds_per_epoch: r.trained.seconds_per_epoch(),
        })
        .collect();

    // Figures of merit: MMD² between SAMPLE test codes and SAMPLE prior samples.
    let n = SAMPLE.min(labels.len());
    let prior_sample = |p: Prior, components: Option<&[usize]>| {
        p.sample(n, components, &mut rng(TEST_NOISE_SEED + 2))
    };
    let digits: Vec<usize> = labels.iter().take(n).map(|&l| l as usize).collect();
    let plain_codes = runs.last().expect("the plain run").codes.clone();
    let mut merit_rows = Vec::new();
    let mut merits = Vec::new();
    for (i, prior) in Prior::ALL.iter().enumerate() {
        let samples = prior_sample(*prior, None);
        let aae = mmd2(&runs[i].codes[..2 * n], samples.data(), 2, MMD_SIGMA);
        let plain = mmd2(&plain_codes[..2 * n], samples.data(), 2, MMD_SIGMA);
        merits.push((*prior, aae, plain));
        merit_rows.push(vec![
            prior.title(),
            format!("{aae:.4}"),
            format!("{plain:.4}"),
            format!(
                "{:.5}",
                runs[i]
                    .trained
                    .history
                    .last()
                    .map_or(f64::NAN, |r| r.test_mse)
            ),
        ]);
    }
    let conditional = &runs[3];
    let means: Vec<[f32; 2]> = (0..COMPONENTS).map(Prior::component_mean).collect();
    let own_share = nearest_mean_share(&conditional.codes, &labels, &means);
    let unconditional_share = nearest_mean_share(&runs[1].codes, &labels, &means);
    let conditional_mmd = mmd2(
        &conditional.codes[..2 * n],
        prior_sample(Prior::Mixture, Some(&digits)).data(),
        2,
        MMD_SIGMA,
    );

    // Figures: codes over prior samples, one scatter per run.
    let mut scatter_links = Vec::new();
    for r in &runs {
        let prior = r.trained.config.prior()?;
        let mut sets = Vec::new();
        if r.trained.config.regularize {
            let components = r.trained.config.conditional.then_some(digits.as_slice());
            let samples = prior_sample(prior, components);
            sets.push(PointSet {
                label: "prior samples".into(),
                points: samples
                    .data()
                    .chunks_exact(2)
                    .map(|c| (c[0] as f64, c[1] as f64))
                    .collect(),
                colour: None,
            });
        }
        sets.extend(by_digit(&r.codes[..2 * n], &labels[..n]));
        let chart = ScatterChart {
            title: format!("{}: {} test codes", r.title, thousands(n as u64)),
            x_label: "z₁".into(),
            y_label: "z₂".into(),
            sets,
        };
        scatter_links.push(lab.save_scatter(NAME, &format!("codes-{}.svg", r.name), &chart)?);
    }
    // Decoded prior samples: one row of ten per prior (each model decodes its own prior).
    let mut sample_rows = Vec::new();
    for (i, prior) in Prior::ALL.iter().enumerate() {
        let z = prior.sample(10, None, &mut rng(TEST_NOISE_SEED + 3));
        sample_rows.push(crate::train::decode(
            &mut runs[i].trained.model,
            z.data(),
            2,
        ));
    }
    let samples_grid = lab.save_grid(NAME, "samples.png", &sample_rows)?;
    // The conditional model: one row of samples per digit, from that digit's component.
    let mut digit_rows = Vec::new();
    for d in 0..10 {
        let z = Prior::Mixture.sample(
            10,
            Some(&[d; 10]),
            &mut rng(TEST_NOISE_SEED + 100 + d as u64),
        );
        digit_rows.push(crate::train::decode(
            &mut runs[3].trained.model,
            z.data(),
            2,
        ));
    }
    let digits_grid = lab.save_grid(NAME, "conditional.png", &digit_rows)?;
    // The adversarial game per epoch.
    let mut series = Vec::new();
    for (colour, r) in runs.iter().take(4).enumerate() {
        let points = |f: fn(&crate::train::adversarial::AaeRecord) -> f64| {
            r.trained
                .history
                .iter()
                .map(|h| (h.epoch as f64, f(h)))
                .collect()
        };
        series.push(Series {
            label: format!("{}: discriminator", r.name),
            points: points(|h| h.discriminator),
            colour,
            dashed: false,
        });
        series.push(Series {
            label: format!("{}: encoder (fooling it)", r.name),
            points: points(|h| h.generator),
            colour,
            dashed: true,
        });
    }
    let game = LineChart {
        title: "Adversarial autoencoders: the game per epoch".into(),
        x_label: "epoch".into(),
        y_label: "BCE (mean over the epoch's steps)".into(),
        log_y: false,
        x_whole: true,
        series,
    };
    game.save(&lab.exercise_dir(NAME).join("game.svg"))?;

    // Text.
    let mut body = String::from("## Adversarial autoencoders\n\n");
    body += &format!(
        "> Encoder, decoder, discriminator on the code (an MLP). Each step: a reconstruction \
         phase (encoder + decoder on the reconstruction loss), then a regularization phase that \
         first trains the discriminator to tell prior samples from codes, then the encoder to \
         fool it; separate optimizers.\n\n\
         Encoder 784-256-256-2 and decoder 2-256-256-784 (ReLU, sigmoid output; {} and {} \
         parameters), discriminator 2-128-128-1 on the code ({} parameters; {} with the 10 \
         one-hot digit inputs of the conditional variant), a logit trained with the binary \
         cross-entropy. Reconstruction: BCE per pixel, Adam lr {}; discriminator and encoder \
         in the regularization phase: their own Adam each, same rate. {} each, batch {}, \
         prior samples from the run's generator. The plain autoencoder is the same encoder and \
         decoder trained on the reconstruction phase alone. (These runs keep no checkpoint: \
         `--resume` trains them again.)\n\n",
        thousands(runs[0].trained.model.encoder.num_parameters() as u64),
        thousands(runs[0].trained.model.decoder.num_parameters() as u64),
        thousands(runs[0].trained.model.discriminator.num_parameters() as u64),
        thousands(runs[3].trained.model.discriminator.num_parameters() as u64),
        s.lr,
        count(s.epochs, "epoch"),
        s.batch_size,
    );
    body += &format!(
        "> How well codes match the prior: a two-sample statistic, codes vs prior samples, \
         against the same statistic for a plain autoencoder's codes.\n\n\
         The statistic is the unbiased squared maximum mean discrepancy, MMD², with a Gaussian \
         kernel of bandwidth σ = {MMD_SIGMA} (k(x, y) = exp(−‖x − y‖²/2σ²)), between the first \
         {} test codes and {} samples of the prior (seed {}): about 0 when the codes follow the \
         prior, up to 2 when the two clouds do not overlap.\n\n",
        thousands(n as u64),
        thousands(n as u64),
        TEST_NOISE_SEED + 2
    );
    body += &table(
        &[
            "prior",
            "MMD² AAE codes",
            "MMD² plain AE codes",
            "AAE test MSE",
        ],
        &merit_rows,
    );
    let plain_mse = runs[4]
        .trained
        .history
        .last()
        .map_or(f64::NAN, |r| r.test_mse);
    let closer = merits.iter().filter(|(_, a, p)| a < p).count();
    let (best, best_aae, best_plain) = merits
        .iter()
        .copied()
        .min_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)))
        .expect("three priors");
    let costlier = (0..3)
        .filter(|&i| {
            runs[i]
                .trained
                .history
                .last()
                .is_some_and(|h| h.test_mse > plain_mse)
        })
        .count();
    body += &format!(
        "\nFor {closer} of the 3 priors the adversarial codes are closer to the prior than the \
         plain autoencoder's; the largest improvement is for {}: MMD² {best_aae:.4} against \
         {best_plain:.4}, {:.1} times smaller. The plain model's codes sit wherever \
         reconstruction put them; its test MSE is {plain_mse:.5}, and {costlier} of the 3 AAEs \
         reconstruct worse than it{}.\n\n",
        best.title(),
        best_plain / best_aae,
        if costlier > 0 {
            ": the price of shaping the code"
        } else {
            ""
        }
    );
    body += "> Figures: the codes of the test set against prior samples for each prior.\n\n";
    for (r, link) in runs.iter().zip(&scatter_links) {
        body += &format!("![{}]({link})\n\n", r.title);
    }
    body += "*Test codes coloured by digit (the labels were never shown to the unconditional \
             models) over grey prior samples; the plain autoencoder's codes have no prior.*\n\n";
    body += "> Decoded samples from the prior.\n\n";
    body += &format!("![decoded prior samples]({samples_grid})\n\n");
    body += &format!(
        "*One row per prior (top to bottom: {}), ten samples each, decoded by the AAE trained \
         with that prior.*\n\n",
        Prior::ALL
            .iter()
            .map(|p| p.id())
            .collect::<Vec<_>>()
            .join(", ")
    );
    body += &format!(
        "> For the conditional mixture: the share of test codes closest to their own digit's \
         component, and one row of samples per digit.\n\n\
         With the digit given to the discriminator, {:.1}% of the {} test codes are nearest the \
         component of their own digit (chance: 10%); the unconditional mixture AAE, whose \
         components carry no digit, scores {:.1}% by the same count. MMD² of the conditional \
         codes against samples drawn from each image's own component: {conditional_mmd:.4}.\n\n",
        100.0 * own_share,
        thousands(labels.len() as u64),
        100.0 * unconditional_share,
    );
    body += &format!("![samples per digit]({digits_grid})\n\n");
    body += "*Row d: ten samples from component d of the mixture, decoded by the conditional \
             AAE. A row that shows one digit is a component that learned it.*\n\n";
    body += "![the game per epoch](aae/game.svg)\n\n";
    body += "*The discriminator's loss (solid) and the encoder's (dashed) per epoch. At \
             chance, when codes and prior samples cannot be told apart, they are ln 4 ≈ 1.39 \
             and ln 2 ≈ 0.69.*\n\n";
    let last: Vec<String> = runs
        .iter()
        .take(4)
        .filter_map(|r| r.trained.history.last().map(|h| (r, h)))
        .map(|(r, h)| {
            let near =
                (h.discriminator - 4f64.ln()).abs() < 0.1 && (h.generator - 2f64.ln()).abs() < 0.2;
            let verdict = if near {
                "near chance"
            } else if h.discriminator < 4f64.ln() {
                "the discriminator ahead"
            } else {
                "the encoder ahead"
            };
            format!(
                "`{}` {:.3} and {:.3} ({verdict})",
                r.name, h.discriminator, h.generator
            )
        })
        .collect();
    body += &format!(
        "In the last epoch, discriminator and encoder losses: {}.\n\n",
        last.join("; ")
    );
    Ok(Section { body, timings })
}
