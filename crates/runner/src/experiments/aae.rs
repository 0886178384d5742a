//! The adversarial autoencoders (Makhzani et al. 2015): the same 784-256-256-2 encoder and
//! decoder regularized towards three priors (N(0, I), a mixture of ten Gaussians on a
//! circle, a uniform square) and towards the mixture with the digit given to the
//! discriminator; against a plain autoencoder of the same shape. Figures of merit: how far
//! the test codes are from the prior (MMD), and for the conditional model the share of codes
//! nearest their own digit's component.

use layers::Module as _;
use layers::summary::thousands;
use models::aae::{COMPONENTS, Prior};
use serde::{Deserialize, Serialize};
use tensor::rng;

use super::{Experiment, Lab, LabInfo, Section, Timing};
use crate::figures::chart::{LineChart, MARKED_UP_TO, Reference, Series};
use crate::figures::scatter::{PointSet, ScatterChart, by_class};
use crate::instruments::latent::{mmd2, nearest_mean_share};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, table};
use crate::train::adversarial::{AaeConfig, AaeFigures, AaeRun};
use crate::train::autoencoder::{TEST_NOISE_SEED, codes, decode};
use crate::train::metrics::EpochRecord;
use crate::train::metrics::nan_if_null;
use crate::train::{RunConfig, TrainError, Trained};

/// The adversarial autoencoders.
pub struct Adversarial;

/// Codes and prior samples compared by the MMD (and drawn in the scatter plots).
const SAMPLE: usize = 1_000;

/// The Gaussian kernel's bandwidth for the MMD, in code units (the priors' scale is 1–4).
const MMD_SIGMA: f64 = 1.0;

/// The seed of the prior samples the codes are compared with.
const PRIOR_SEED: u64 = TEST_NOISE_SEED + 2;

/// Seed of the first of the sets of prior samples that measure the MMD²'s sampling noise.
const REFERENCE_SEED: u64 = TEST_NOISE_SEED + 7;

/// Sets of prior samples that measure the MMD²'s sampling noise.
const REFERENCE_SETS: u64 = 5;

/// What the adversarial autoencoders measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The runs: one AAE per prior (in [`Prior::ALL`] order), the conditional mixture AAE,
    /// then the plain autoencoder.
    pub runs: Vec<AaeCard>,
    /// Parameters of the encoder, the decoder, the discriminator and the conditional
    /// model's discriminator.
    pub parameters: Parameters,
    /// Test codes (and prior samples) compared by the MMD.
    pub sample: usize,
    /// The MMD kernel's bandwidth.
    pub mmd_sigma: f64,
    /// The seed of the prior samples.
    pub prior_seed: u64,
    /// Per prior, how close the codes are to it.
    pub priors: Vec<PriorMerit>,
    /// Share of the test codes of the conditional model nearest their own digit's
    /// component.
    pub own_share: f64,
    /// The same count for the unconditional mixture AAE.
    pub unconditional_share: f64,
    /// MMD² of the conditional codes against samples of each image's own component.
    #[serde(deserialize_with = "nan_if_null")]
    pub conditional_mmd: f64,
    /// Test images whose codes the shares count.
    pub n_codes: usize,
    /// The scatter plots of codes over prior samples, one per run, in run order.
    pub scatters: Vec<String>,
    /// Decoded prior samples, one row per prior.
    pub samples: String,
    /// The conditional model's samples, one row per digit.
    pub conditional: String,
    /// The game per epoch.
    pub game: String,
}

/// One run, as the section quotes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaeCard {
    /// Its folder name.
    pub name: String,
    /// How the report names it.
    pub title: String,
    /// Whether it was regularized (false: the plain autoencoder).
    pub regularize: bool,
    /// The test MSE after the last epoch.
    pub test_mse: f64,
    /// The discriminator's and the encoder's mean losses of the last epoch (none for the
    /// plain autoencoder).
    pub last_game: Option<Game>,
    /// Its row of the timings table.
    pub timing: Timing,
}

/// The two players' mean losses over an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Game {
    /// The discriminator's (ln 4 at chance).
    pub discriminator: f64,
    /// The encoder's, fooling it (ln 2 at chance).
    pub generator: f64,
}

/// Parameter counts of the parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// The encoder's.
    pub encoder: usize,
    /// The decoder's.
    pub decoder: usize,
    /// The discriminator's.
    pub discriminator: usize,
    /// The conditional model's discriminator's (with the one-hot digit inputs).
    pub conditional_discriminator: usize,
}

/// How close the codes are to one prior.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorMerit {
    /// The prior's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// MMD² of the AAE's codes against prior samples.
    #[serde(deserialize_with = "nan_if_null")]
    pub aae_mmd: f64,
    /// MMD² of the plain autoencoder's codes against the same samples.
    #[serde(deserialize_with = "nan_if_null")]
    pub plain_mmd: f64,
    /// The reference: the sampling noise of the statistic, the largest |MMD²| of
    /// [`REFERENCE_SETS`] independent sets of prior samples (seeds from [`REFERENCE_SEED`])
    /// against the same samples, what codes drawn from the prior itself may score.
    #[serde(default, deserialize_with = "nan_if_null")]
    pub reference_mmd: f64,
    /// The AAE's test MSE.
    pub aae_test_mse: f64,
}

impl PriorMerit {
    /// How many times smaller the AAE's MMD² is than the plain model's.
    fn gain(&self) -> f64 {
        self.plain_mmd / self.aae_mmd
    }
}

/// One run before training: its folder, its title, its configuration.
fn specs() -> Vec<(String, String, AaeConfig)> {
    let base = AaeConfig {
        prior: Prior::Gaussian.id().into(),
        conditional: false,
        regularize: true,
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
        "AAE, mixture prior, class label given to the discriminator".into(),
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
            ..base
        },
    ));
    specs
}

/// The run of this experiment called `name` (`aae_gaussian`…), with the lab's schedule: trained
/// once per process ([`Lab::ensure_aae`]), by this experiment or by another that reads its
/// codes.
pub fn ensure<'a>(lab: &'a mut Lab, name: &str) -> Result<&'a mut Trained<AaeRun>, TrainError> {
    let (_, _, model) = specs()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .ok_or_else(|| format!("no adversarial run is called {name}"))?;
    let config = RunConfig {
        model,
        schedule: lab.schedule(),
    };
    lab.ensure_aae(Adversarial::NAME, name, config)
}

/// The game per epoch of adversarial runs, `(name, history)` each: the discriminator's mean
/// loss (solid) and the encoder's (dashed) in the run's colour, with the lines where neither
/// wins, ln 4 and ln 2 (`models::aae::PhaseLosses`).
pub fn game_chart(title: &str, runs: &[(&str, &[EpochRecord<AaeFigures>])]) -> LineChart {
    let curves: Vec<GameCurves> = runs
        .iter()
        .map(|(name, history)| {
            let points = |f: fn(&AaeFigures) -> f64| {
                history
                    .iter()
                    .map(|h| (h.epoch as f64, f(&h.figures)))
                    .collect()
            };
            GameCurves {
                name,
                discriminator: points(|f| f.discriminator_loss),
                encoder: points(|f| f.generator_loss),
            }
        })
        .collect();
    losses_chart(
        title,
        "BCE (mean over the epoch's steps)",
        "discriminator",
        &curves,
        [
            Reference::new(4f64.ln(), "ln 4", "ln 4 ≈ 1.386: discriminator at chance"),
            Reference::new(2f64.ln(), "ln 2", "ln 2 ≈ 0.693: encoder at chance"),
        ],
    )
}

/// One adversarial run's losses per epoch, `(epoch, loss)` points, for [`losses_chart`].
pub struct GameCurves<'a> {
    /// The run, as the legend names it.
    pub name: &'a str,
    /// The discriminator's (or the discriminators' summed) loss.
    pub discriminator: Vec<(f64, f64)>,
    /// The encoder's loss at fooling it.
    pub encoder: Vec<(f64, f64)>,
}

/// Adversarial games per epoch: each run's `critic` loss (solid) and its encoder's (dashed) in
/// the run's colour, with the two `chance` lines where neither player wins. [`game_chart`]
/// draws one discriminator's game; the categorical AAE's clustering draws two discriminators'
/// summed losses.
pub fn losses_chart(
    title: &str,
    y_label: &str,
    critic: &str,
    runs: &[GameCurves],
    chance: [Reference; 2],
) -> LineChart {
    let mut series = Vec::new();
    for (colour, run) in runs.iter().enumerate() {
        let markers = run.discriminator.len() <= MARKED_UP_TO;
        series.push(Series {
            label: format!("{}: {critic}", run.name),
            points: run.discriminator.clone(),
            colour,
            dashed: false,
            markers,
        });
        series.push(Series {
            label: format!("{}: encoder (fooling it)", run.name),
            points: run.encoder.clone(),
            colour,
            dashed: true,
            markers,
        });
    }
    LineChart {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y_label.into(),
        log_y: false,
        log_x: false,
        x_whole: true,
        series,
        references: chance.into(),
    }
}

/// What the section reads of a trained run (the run itself stays in the [`Lab`]), with its
/// test codes.
struct Run {
    title: String,
    /// Its folder name.
    name: String,
    config: AaeConfig,
    history: Vec<EpochRecord<AaeFigures>>,
    card: AaeCard,
    /// Its test codes, `n·2` values.
    codes: Vec<f32>,
}

impl Run {
    fn of(title: String, trained: &mut Trained<AaeRun>, test_images: &[f32]) -> Run {
        let last = trained.last();
        let regularize = trained.config.model.regularize;
        let card = AaeCard {
            name: trained.name(),
            title: title.clone(),
            regularize,
            test_mse: last.map_or(f64::NAN, |f| f.test_mse),
            last_game: last.filter(|_| regularize).map(|f| Game {
                discriminator: f.discriminator_loss,
                generator: f.generator_loss,
            }),
            timing: Timing::of(trained),
        };
        Run {
            title,
            name: trained.name(),
            config: trained.config.model.clone(),
            history: trained.history.clone(),
            card,
            codes: codes(&mut trained.trainee.model, test_images),
        }
    }

    /// Images decoded from `z` by its model (2 values a code).
    fn decode(&self, lab: &mut Lab, z: &[f32]) -> Vec<f32> {
        let trained = lab
            .find_aae_mut(Adversarial::NAME, &self.name)
            .expect("trained by measure");
        decode(&mut trained.trainee.model, z, 2)
    }
}

impl Experiment for Adversarial {
    const NAME: &'static str = "aae";
    const ABOUT: &'static str =
        "The adversarial autoencoders: three priors and a label-conditioned mixture";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let closer = r.priors.iter().filter(|p| p.aae_mmd < p.plain_mmd).count();
        let verdict = match closer {
            0 => Verdict::Fails,
            n if n == r.priors.len() => Verdict::Holds,
            _ => Verdict::Partly,
        };
        let each: Vec<String> = r
            .priors
            .iter()
            .map(|p| {
                format!(
                    "{}: {:.3} against {:.3}, sampling noise {:.3}",
                    p.title, p.aae_mmd, p.plain_mmd, p.reference_mmd
                )
            })
            .collect();
        vec![Finding::new(
            Claim::AaeImposesAnyPrior,
            verdict,
            format!(
                "the MMD² between the test codes and prior samples is lower for the AAE than for \
                 a plain autoencoder of the same shape for {closer} of {} priors ({})",
                r.priors.len(),
                each.join("; ")
            ),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let test_images = lab.splits.test.all_images().into_data();
        let labels = lab.splits.test.labels.clone();
        let mut runs = Vec::new();
        for (name, title, _) in specs() {
            runs.push(Run::of(title, ensure(lab, &name)?, &test_images));
        }

        // Figures of merit: MMD² between SAMPLE test codes and SAMPLE prior samples.
        let n = SAMPLE.min(labels.len());
        let prior_sample =
            |p: Prior, components: Option<&[usize]>| p.sample(n, components, &mut rng(PRIOR_SEED));
        let digits: Vec<usize> = labels.iter().take(n).map(|&l| l as usize).collect();
        let plain_codes = runs.last().expect("the plain run").codes.clone();
        let mut priors = Vec::new();
        for (i, prior) in Prior::ALL.iter().enumerate() {
            let samples = prior_sample(*prior, None);
            priors.push(PriorMerit {
                id: prior.id().into(),
                title: prior.title(),
                aae_mmd: mmd2(&runs[i].codes[..2 * n], samples.data(), 2, MMD_SIGMA),
                plain_mmd: mmd2(&plain_codes[..2 * n], samples.data(), 2, MMD_SIGMA),
                reference_mmd: (0..REFERENCE_SETS)
                    .map(|k| {
                        let other = prior.sample(n, None, &mut rng(REFERENCE_SEED + k));
                        mmd2(other.data(), samples.data(), 2, MMD_SIGMA).abs()
                    })
                    .fold(0.0, f64::max),
                aae_test_mse: runs[i].card.test_mse,
            });
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
        let mut scatters = Vec::new();
        for r in &runs {
            let config = &r.config;
            let prior = config.prior()?;
            let mut sets = Vec::new();
            if config.regularize {
                let components = config.conditional.then_some(digits.as_slice());
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
            sets.extend(by_class(&r.codes[..2 * n], &labels[..n], &lab.identity));
            let chart = ScatterChart {
                title: format!("{}: {} test codes", r.title, thousands(n as u64)),
                x_label: "z₁".into(),
                y_label: "z₂".into(),
                sets,
            };
            let file = format!("codes-{}.svg", r.name);
            scatters.push(lab.save_scatter(Self::NAME, &file, &chart)?);
        }
        // Decoded prior samples: one row of ten per prior (each model decodes its own prior).
        let mut sample_rows = Vec::new();
        for (i, prior) in Prior::ALL.iter().enumerate() {
            let z = prior.sample(10, None, &mut rng(TEST_NOISE_SEED + 3));
            sample_rows.push(runs[i].decode(lab, z.data()));
        }
        let samples = lab.save_grid(Self::NAME, "samples.png", &sample_rows)?;
        // The conditional model: one row of samples per digit, from that digit's component.
        let mut digit_rows = Vec::new();
        for d in 0..10 {
            let z = Prior::Mixture.sample(
                10,
                Some(&[d; 10]),
                &mut rng(TEST_NOISE_SEED + 100 + d as u64),
            );
            digit_rows.push(runs[3].decode(lab, z.data()));
        }
        let conditional_grid = lab.save_grid(Self::NAME, "conditional.png", &digit_rows)?;
        // The adversarial game per epoch.
        let played: Vec<(&str, &[EpochRecord<AaeFigures>])> = runs
            .iter()
            .take(4)
            .map(|r| (r.name.as_str(), r.history.as_slice()))
            .collect();
        let game = game_chart("Adversarial autoencoders: the game per epoch", &played);
        game.save(&lab.exercise_dir(Self::NAME).join("game.svg"))?;

        let model = |i: usize| {
            &lab.find_aae(Self::NAME, &runs[i].name)
                .expect("trained above")
                .trainee
                .model
        };
        let parameters = Parameters {
            encoder: model(0).encoder.num_parameters(),
            decoder: model(0).decoder.num_parameters(),
            discriminator: model(0).discriminator.num_parameters(),
            conditional_discriminator: model(3).discriminator.num_parameters(),
        };
        Ok(Results {
            runs: runs.iter().map(|r| r.card.clone()).collect(),
            parameters,
            sample: n,
            mmd_sigma: MMD_SIGMA,
            prior_seed: PRIOR_SEED,
            priors,
            own_share,
            unconditional_share,
            conditional_mmd,
            n_codes: labels.len(),
            scatters,
            samples,
            conditional: conditional_grid,
            game: format!("{}/game.svg", Self::NAME),
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let p = &r.parameters;
        let noun = &lab.dataset.noun;
        let mut body = String::from("## Adversarial autoencoders\n\n");
        body += &format!(
            "> Encoder, decoder, discriminator on the code (an MLP). Each step: a \
             reconstruction phase (encoder + decoder on the reconstruction loss), then a \
             regularization phase that first trains the discriminator to tell prior samples \
             from codes, then the encoder to fool it; separate optimizers.\n\n\
             Encoder 784-256-256-2 and decoder 2-256-256-784 (ReLU, sigmoid output; {} and {} \
             parameters), discriminator 2-128-128-1 on the code ({} parameters; {} with the 10 \
             one-hot {noun} inputs of the conditional variant), a logit trained with the binary \
             cross-entropy. Reconstruction: BCE per pixel, Adam lr {}; discriminator and \
             encoder in the regularization phase: their own Adam each, same rate. {} each, \
             batch {}, prior samples from the run's generator. The plain autoencoder is the \
             same encoder and decoder trained on the reconstruction phase alone.\n\n",
            thousands(p.encoder as u64),
            thousands(p.decoder as u64),
            thousands(p.discriminator as u64),
            thousands(p.conditional_discriminator as u64),
            lab.lr,
            count(lab.epochs, "epoch"),
            lab.batch_size,
        );
        body += &format!(
            "> How well codes match the prior: a two-sample statistic, codes vs prior samples, \
             against the same statistic for a plain autoencoder's codes.\n\n\
             The statistic is the unbiased squared maximum mean discrepancy, MMD², with a \
             Gaussian kernel of bandwidth σ = {} (k(x, y) = exp(−‖x − y‖²/2σ²)), between the \
             first {} test codes and {} samples of the prior (seed {}): about 0 when the codes \
             follow the prior, up to 2 when the two clouds do not overlap. Its reference, in the \
             last column, is its sampling noise: the largest |MMD²| of {} other sets of {} \
             prior samples against the same samples, what codes drawn from the prior itself \
             may score.\n\n",
            r.mmd_sigma,
            thousands(r.sample as u64),
            thousands(r.sample as u64),
            r.prior_seed,
            REFERENCE_SETS,
            thousands(r.sample as u64),
        );
        let merit_rows: Vec<Vec<String>> = r
            .priors
            .iter()
            .map(|m| {
                vec![
                    m.title.clone(),
                    format!("{:.4}", m.aae_mmd),
                    format!("{:.4}", m.plain_mmd),
                    format!("{:.5}", m.aae_test_mse),
                    format!("{:.4}", m.reference_mmd),
                ]
            })
            .collect();
        body += &table(
            &[
                "prior",
                "MMD² AAE codes",
                "MMD² plain AE codes",
                "AAE test MSE",
                "sampling noise (prior against prior)",
            ],
            &merit_rows,
        );
        body += &merit_remark(r);
        body += "> Figures: the codes of the test set against prior samples for each prior.\n\n";
        for (run, link) in r.runs.iter().zip(&r.scatters) {
            body += &format!("![{}]({link})\n\n", run.title);
        }
        body += &format!(
            "*Test codes coloured by {} (the labels were never shown to the unconditional \
             models) over grey prior samples; the plain autoencoder's codes have no \
             prior.*\n\n",
            lab.dataset.colour_key()
        );
        body += "> Decoded samples from the prior.\n\n";
        body += &format!("![decoded prior samples]({})\n\n", r.samples);
        body += &format!(
            "*One row per prior (top to bottom: {}), ten samples each, decoded by the AAE \
             trained with that prior.*\n\n",
            r.priors
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        body += &format!(
            "> For the conditional mixture: the share of test codes closest to their own \
             digit's component, and one row of samples per digit.\n\n\
             With the {noun} given to the discriminator, {:.1}% of the {} test codes are \
             nearest the component of their own {noun} (chance: 10%); the unconditional mixture \
             AAE, whose components carry no {noun}, scores {:.1}% by the same count. MMD² of the \
             conditional codes against samples drawn from each image's own component: \
             {:.4}.\n\n",
            100.0 * r.own_share,
            thousands(r.n_codes as u64),
            100.0 * r.unconditional_share,
            r.conditional_mmd,
        );
        body += &format!("![samples per {noun}]({})\n\n", r.conditional);
        body += &format!(
            "*Row d: ten samples from component d of the mixture, decoded by the conditional \
             AAE. A row that shows one {noun} is a component that learned it.*\n\n"
        );
        body += &format!("![the game per epoch]({})\n\n", r.game);
        body += "*The discriminator's loss (solid) and the encoder's (dashed) per epoch. At \
                 chance, when codes and prior samples cannot be told apart, they are ln 4 ≈ \
                 1.39 and ln 2 ≈ 0.69 (the dotted lines).*\n\n";
        let last: Vec<String> = r
            .runs
            .iter()
            .filter_map(|run| run.last_game.map(|g| (run, g)))
            .map(|(run, g)| {
                format!(
                    "`{}` {:.3} and {:.3} ({})",
                    run.name,
                    g.discriminator,
                    g.generator,
                    game_verdict(g)
                )
            })
            .collect();
        body += &format!(
            "In the last epoch, discriminator and encoder losses: {}.\n\n",
            last.join("; ")
        );
        Section {
            body,
            timings: r.runs.iter().map(|run| run.timing.clone()).collect(),
        }
    }
}

/// What the MMD table shows, in a paragraph: how many priors the adversarial codes match
/// How the AAEs' MMD² compares with its sampling noise, in a sentence: the priors whose
/// codes score within it (as close to their prior as samples of it) and the others, with how
/// many times the noise they are.
fn against_reference(priors: &[PriorMerit]) -> String {
    let (close, far): (Vec<&PriorMerit>, Vec<&PriorMerit>) =
        priors.iter().partition(|m| m.aae_mmd <= m.reference_mmd);
    let names = |ms: &[&PriorMerit]| {
        ms.iter()
            .map(|m| {
                format!(
                    "{} ({:.0}× the noise)",
                    m.title,
                    m.aae_mmd / m.reference_mmd
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (close.is_empty(), far.is_empty()) {
        (_, true) => " Every AAE's codes score within the statistic's sampling noise: as close \
                      to their prior as samples of it."
            .into(),
        (true, false) => format!(
            " None comes within the statistic's sampling noise, so a test can still tell every \
             AAE's codes from its prior: {}.",
            names(&far)
        ),
        (false, false) => format!(
            " Within the statistic's sampling noise: {}; beyond it: {}.",
            close
                .iter()
                .map(|m| m.title.clone())
                .collect::<Vec<_>>()
                .join(", "),
            names(&far)
        ),
    }
}

/// better, the largest gain, and what it cost in reconstruction.
fn merit_remark(r: &Results) -> String {
    let plain_mse = r
        .runs
        .iter()
        .find(|run| !run.regularize)
        .map_or(f64::NAN, |run| run.test_mse);
    let closer = r.priors.iter().filter(|m| m.aae_mmd < m.plain_mmd).count();
    let Some(best) = r
        .priors
        .iter()
        .min_by(|a, b| (a.aae_mmd / a.plain_mmd).total_cmp(&(b.aae_mmd / b.plain_mmd)))
    else {
        return String::new();
    };
    let costlier = r
        .priors
        .iter()
        .filter(|m| m.aae_test_mse > plain_mse)
        .count();
    let priors = r.priors.len();
    format!(
        "\nFor {closer} of the {priors} priors the adversarial codes are closer to the prior \
         than the plain autoencoder's; the largest improvement is for {}: MMD² {:.4} against \
         {:.4}, {:.1} times smaller.{} The plain model's codes sit wherever reconstruction put \
         them; its test MSE is {plain_mse:.5}, and {costlier} of the {priors} AAEs reconstruct \
         worse than it{}.\n\n",
        best.title,
        best.aae_mmd,
        best.plain_mmd,
        best.gain(),
        against_reference(&r.priors),
        if costlier > 0 {
            ": the price of shaping the code"
        } else {
            ""
        }
    )
}

/// Who leads the game at the end: both losses near chance, or one player ahead.
fn game_verdict(g: Game) -> &'static str {
    let near = (g.discriminator - 4f64.ln()).abs() < 0.1 && (g.generator - 2f64.ln()).abs() < 0.2;
    if near {
        "near chance"
    } else if g.discriminator < 4f64.ln() {
        "the discriminator ahead"
    } else {
        "the encoder ahead"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    fn timing(run: &str) -> Timing {
        Timing {
            run: run.into(),
            epochs_trained: 10,
            seconds_per_epoch: 1.0,
            images: 10_000,
        }
    }

    fn card(name: &str, test_mse: f64, game: Option<(f64, f64)>) -> AaeCard {
        AaeCard {
            name: name.into(),
            title: name.into(),
            regularize: game.is_some(),
            test_mse,
            last_game: game.map(|(discriminator, generator)| Game {
                discriminator,
                generator,
            }),
            timing: timing(name),
        }
    }

    fn merit(id: &str, aae_mmd: f64, plain_mmd: f64, aae_test_mse: f64) -> PriorMerit {
        PriorMerit {
            id: id.into(),
            title: format!("prior {id}"),
            aae_mmd,
            plain_mmd,
            reference_mmd: 0.002,
            aae_test_mse,
        }
    }

    /// Made-up results: the AAEs' test MSE `aae_mse`, the plain model's 0.04, the given
    /// priors, the last game of the first run `game`.
    fn results(aae_mse: f64, priors: Vec<PriorMerit>, game: (f64, f64)) -> Results {
        Results {
            runs: vec![
                card("aae_a", aae_mse, Some(game)),
                card("aae_b", aae_mse, Some((1.386, 0.693))),
                card("aae_c", aae_mse, Some((1.386, 0.693))),
                card("aae_b_conditional", aae_mse, Some((1.386, 0.693))),
                card("ae_plain", 0.04, None),
            ],
            parameters: Parameters {
                encoder: 1,
                decoder: 2,
                discriminator: 3,
                conditional_discriminator: 4,
            },
            sample: 1000,
            mmd_sigma: 1.0,
            prior_seed: 1236,
            priors,
            own_share: 0.8,
            unconditional_share: 0.1,
            conditional_mmd: 0.02,
            n_codes: 10_000,
            scatters: (0..5).map(|i| format!("aae/codes-{i}.svg")).collect(),
            samples: "aae/samples.png".into(),
            conditional: "aae/conditional.png".into(),
            game: "aae/game.svg".into(),
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let priors = vec![
            merit("a", 0.01, 0.12, 0.05),
            merit("b", 0.03, 0.12, 0.05),
            merit("c", 0.06, 0.07, 0.05),
        ];
        let body = Adversarial::render(&results(0.05, priors, (1.38, 0.70)), &lab()).body;
        assert!(body.contains("For 3 of the 3 priors"), "{body}");
        assert!(
            body.contains("the largest improvement is for prior a: MMD² 0.0100 against 0.1200, 12.0 times smaller"),
            "{body}"
        );
        assert!(
            body.contains("3 of the 3 AAEs reconstruct worse than it: the price"),
            "{body}"
        );
        assert!(
            body.contains("`aae_a` 1.380 and 0.700 (near chance)"),
            "{body}"
        );
        // The plain model has no game to report.
        assert!(!body.contains("`ae_plain`"), "{body}");

        // Flipped: the plain codes are closer for two priors, prior c gains most, the AAEs
        // reconstruct better, the discriminator leads.
        let priors = vec![
            merit("a", 0.2, 0.12, 0.03),
            merit("b", 0.3, 0.12, 0.03),
            merit("c", 0.01, 0.07, 0.03),
        ];
        let body = Adversarial::render(&results(0.03, priors, (1.0, 1.5)), &lab()).body;
        assert!(body.contains("For 1 of the 3 priors"), "{body}");
        assert!(
            body.contains("the largest improvement is for prior c"),
            "{body}"
        );
        assert!(
            body.contains("0 of the 3 AAEs reconstruct worse than it.\n"),
            "{body}"
        );
        assert!(body.contains("(the discriminator ahead)"), "{body}");
        let body = Adversarial::render(
            &results(0.03, vec![merit("a", 0.2, 0.1, 0.03)], (1.6, 0.5)),
            &lab(),
        )
        .body;
        assert!(body.contains("(the encoder ahead)"), "{body}");
    }

    #[test]
    fn results_with_a_nan_read_back() {
        let mut r = results(0.05, vec![merit("a", f64::NAN, 0.1, 0.05)], (1.0, 1.0));
        r.conditional_mmd = f64::NAN;
        let json = serde_json::to_value(&r).unwrap();
        let back: Results = serde_json::from_value(json).unwrap();
        assert!(back.priors[0].aae_mmd.is_nan() && back.conditional_mmd.is_nan());
    }

    #[test]
    fn the_prior_claim_follows_the_mmds() {
        use crate::report::claims::Verdict;
        let verdict = |mmds: [(f64, f64); 2]| {
            let priors = mmds
                .iter()
                .enumerate()
                .map(|(i, &(aae, plain))| merit(&i.to_string(), aae, plain, 0.04))
                .collect();
            Adversarial::claims(&results(0.04, priors, (1.386, 0.693)), &lab())[0].verdict
        };
        assert_eq!(verdict([(0.01, 0.1), (0.02, 0.1)]), Verdict::Holds);
        assert_eq!(verdict([(0.01, 0.1), (0.2, 0.1)]), Verdict::Partly);
        assert_eq!(verdict([(0.3, 0.1), (0.2, 0.1)]), Verdict::Fails);
    }

    #[test]
    fn the_reference_sentence_follows_the_mmds() {
        // The made-up sampling noise is 0.002.
        let say = |aae: [f64; 2]| {
            let priors = vec![merit("a", aae[0], 0.1, 0.04), merit("b", aae[1], 0.1, 0.04)];
            against_reference(&priors)
        };
        assert!(say([0.001, 0.002]).contains("Every AAE's codes score within"));
        let some = say([0.001, 0.04]);
        assert!(
            some.contains(
                "Within the statistic's sampling noise: prior a; beyond it: prior b (20× the noise)"
            ),
            "{some}"
        );
        assert!(say([0.03, 0.04]).contains("None comes within"));
    }
}
