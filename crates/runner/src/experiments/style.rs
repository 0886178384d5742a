//! Style and content apart: the supervised adversarial autoencoder (Makhzani et al. 2015,
//! section 4, figures 6 and 7). The digit goes to the decoder as a one-hot vector; the code,
//! made to look like `N(0, I)` by a discriminator, is left with the style. Four runs side
//! by side: the paper's recipe at 2 style values, ours (the discriminator reads the digit
//! beside the code, its game's Adams at β₁ = 0.5; why, in [`models::aae_supervised`]) at 2
//! and 10, and at 10 an MMD per digit in place of the discriminator ([`DIGIT_MMD`]).
//!
//! Question: does the decoder draw any digit asked for in the style of any test image, and
//! does the style code carry no digit? Protocol: for each of the first [`CELL_IMAGES`] test
//! images, its style code decoded with each of the ten digits (a cell per image and digit),
//! every cell read by the lab's digit reader ([`crate::instruments::reader`]): the share
//! read as the digit asked for (goal [`GOAL`]). Then a softmax regression fitted on the
//! training images' style codes against their digits, scored on the test codes: near the
//! majority digit's share when the code carries no digit. Anchor: the paper's figure, rows
//! of test images' styles and columns of the ten digits, on the 60,000 MNIST training images
//! (a figure, no measured read rate).

use std::path::PathBuf;
use std::time::Instant;

use layers::summary::thousands;
use layers::{Linear, Module as _};
use serde::{Deserialize, Serialize};
use tensor::{Tensor, rng};

use super::aae::game_chart;
use super::{Experiment, Lab, LabInfo, Section, Timing};
use crate::figures::labelled::LabelledGrid;
use crate::instruments::classify::{self, Fit};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, table};
use crate::train::adversarial::AaeFigures;
use crate::train::lanes::side_by_side;
use crate::train::metrics::EpochRecord;
use crate::train::supervised::{StyleConfig, StyleRun, adversarial_by_default, style_codes};
use crate::train::{RunConfig, TrainError, Trained, train};

/// The supervised adversarial autoencoder.
pub struct StyleContent;

/// The runs: the paper's recipe (the discriminator reads the code alone, Adam's default
/// β₁ = 0.9) at 2 style values, then ours at 2 and 10 (2 can be drawn, 10 leaves room for
/// more of the style), then, at 10, an MMD per class in place of the discriminator
/// ([`DIGIT_MMD`]: the Wasserstein autoencoder's way of matching the prior).
pub const RUNS: [StyleConfig; 4] = [
    StyleConfig {
        style: 2,
        critic_sees_digit: false,
        game_beta1: 0.9,
        digit_mmd: 0.0,
        adversarial: true,
    },
    StyleConfig {
        style: 2,
        critic_sees_digit: true,
        game_beta1: 0.5,
        digit_mmd: 0.0,
        adversarial: true,
    },
    StyleConfig {
        style: 10,
        critic_sees_digit: true,
        game_beta1: 0.5,
        digit_mmd: 0.0,
        adversarial: true,
    },
    StyleConfig {
        style: 10,
        critic_sees_digit: true,
        game_beta1: 0.5,
        digit_mmd: DIGIT_MMD,
        adversarial: false,
    },
];

/// The weight of the MMD per class of the last run, which has no discriminator
/// ([`models::aae_supervised::SupervisedAae::digit_mmd`], each class's codes in a batch
/// against [`models::aae_supervised::MMD_PRIOR_DRAWS`] prior draws). Settled on seeds 0 and 1
/// of `tp style` (30 epochs, 10-D; cells read right, the probe, the test MSE): at λ 1, 87.5% /
/// 14.4% / 0.01996 and 85.3% / 14.7% / 0.02019 (a code rich enough to carry some of the
/// digit's shape too: the decoder drew the source's digit in 4-6% of other columns); at λ 10,
/// 98.2% / 12.2% / 0.03153 and 98.3% / 12.6% / 0.03158. The adversarial run: 98.7% / 44.6% /
/// 0.03737 and 99.4% / 40.0% / 0.03967. Tried before, the MMD beside the discriminator: at λ
/// 1 the probe fell to 19.1% and 18.7%, but the PyTorch twin's seed 0 and, with as few prior
/// draws as codes, one of our seeds at λ 3 lost the style code (test MSE at the digit's mean
/// image's): the game and the penalty together were fragile.
pub const DIGIT_MMD: f64 = 10.0;

/// The second seed [`DIGIT_MMD`] was settled on, and what `tp style` measured there: the
/// seed, then the probe's accuracy and the test MSE with the MMD in place of the
/// discriminator and with the discriminator (the report quotes it, measured once, beside this
/// run's).
const SECOND_SEED: (u64, [f64; 4]) = (1, [0.126, 0.03158, 0.400, 0.03967]);

/// Test images whose style is decoded as each of the ten digits (ten cells each).
pub const CELL_IMAGES: usize = 1_000;

/// The share of cells the reader must read as their column's digit (the issue's goal).
pub const GOAL: f64 = 0.95;

/// How far above chance the probe may read the digit from the style code and still be
/// "near chance": this share of the way from chance (the majority digit's share) to a
/// perfect reading. A tenth: with ten digits about 19% against a chance of 10–11%, far
/// below what a 2-D code that keeps the digit gives a linear probe (the plain autoencoders
/// of the `pca` experiment, 40% and more with 5-NN), and above the probe's own sampling
/// noise on 10,000 test codes (about 0.3 points).
pub const LEAK_LIMIT: f64 = 0.10;

/// The discriminator's loss counts as "in play" within this share of ln 4 on either side:
/// below, the discriminator tells codes from prior samples (the encoder lost the game);
/// above, it is fooled more than at chance, no longer a guide.
pub const GAME_BAND: f64 = 0.3;

/// The supervised AAE trains this many times the lab's epochs. Measured on the committed
/// sample (seed 0): at 10 epochs the 10-D style reads 94.4% of cells as their column's digit
/// (its worst column 77.7%) and the paper's recipe 86.0%; at 30, 99.5% (worst 97.7%) and
/// 93.7%, the 2-D style 99.7% → 100.0%, the probes 52.2% → 48.1% (10-D) and 15.0% → 16.4%
/// (2-D). The three runs it had then took 77 s side by side instead of about 30.
pub const EPOCH_FACTOR: usize = 3;

/// How the probe (a softmax regression on standardized style codes) is fitted.
const PROBE: Fit = Fit {
    epochs: 10,
    batch_size: 128,
    lr: 1e-2,
    seed: 0,
};

/// What the style experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// One model per run, in [`RUNS`] order.
    pub runs: Vec<StyleCard>,
    /// Epochs every run trained (`None` in a results.json from before [`EPOCH_FACTOR`],
    /// whose runs trained the lab's epochs).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Test images whose style was decoded as each digit.
    pub cell_images: usize,
    /// The goal for the share of cells read as their column's digit.
    pub goal: f64,
    /// The probe's chance: the share of the most common digit among the test images.
    pub chance: f64,
    /// [`LEAK_LIMIT`].
    pub leak_limit: f64,
    /// [`GAME_BAND`].
    pub game_band: f64,
    /// The digit reader's accuracy on the test images.
    pub reader_accuracy: f64,
    /// The test MSE per pixel of drawing each test image as its digit's mean training image:
    /// what a decoder given the digit and no style can reach at best (in MSE), the reference
    /// for how much of each image's look the style code keeps.
    pub digit_only_mse: f64,
    /// Wall seconds of the runs and of the measurement (kept out of the section's text, whose
    /// bytes must not depend on the machine's load; the timings table has each run's seconds
    /// per epoch).
    pub timing: WallSeconds,
    /// The game per epoch, both models.
    pub game: String,
}

/// How long the experiment took, in wall seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WallSeconds {
    /// The runs' training, side by side.
    pub train: f64,
    /// The measurement after them: cells, probes, figures (the reader's own training, shared
    /// with the other experiments, excluded).
    pub measure: f64,
}

/// One model, as the section quotes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleCard {
    /// Values in its style code.
    pub style: usize,
    /// Whether its discriminator read the digit beside the code (false: the paper's recipe).
    pub critic_sees_digit: bool,
    /// β₁ of its game's Adams.
    pub game_beta1: f64,
    /// The weight of its per-digit MMD penalty (0: none, as in results saved before it).
    #[serde(default)]
    pub digit_mmd: f64,
    /// Whether its discriminator's game ran (false: the MMD alone; true in results saved
    /// before it).
    #[serde(default = "adversarial_by_default")]
    pub adversarial: bool,
    /// Its folder name.
    pub name: String,
    /// Parameters: encoder, decoder, discriminator.
    pub parameters: [usize; 3],
    /// Test MSE per pixel of the reconstructions (each image with its own digit).
    pub test_mse: f64,
    /// Per epoch: reconstruction BCE, discriminator and encoder losses.
    pub history: Vec<EpochRecord<AaeFigures>>,
    /// Share of all cells read as their column's digit.
    pub cell_share: f64,
    /// Per column (digit 0 to 9), the share of its cells read as that digit.
    pub column_shares: Vec<f64>,
    /// Share of the cells whose column is not the source image's digit that the reader
    /// reads as the source's digit (the style code smuggling the digit through).
    pub source_share: f64,
    /// The probe's accuracy on the test images' style codes.
    pub probe_accuracy: f64,
    /// The figure: rows of test images, each with its ten decodes.
    pub figure: String,
    /// Its row of the timings table (seconds per epoch on one core, side by side).
    pub timing: Timing,
}

impl StyleCard {
    /// The discriminator's mean loss over the last epoch.
    fn last_discriminator(&self) -> f64 {
        self.history
            .last()
            .map_or(f64::NAN, |r| r.figures.discriminator_loss)
    }

    /// How far the probe is from chance, as a share of the way from chance to 1.
    fn leak(&self, chance: f64) -> f64 {
        (self.probe_accuracy - chance) / (1.0 - chance)
    }

    /// How the section names its recipe.
    fn recipe(&self) -> String {
        if !self.adversarial {
            format!(
                "an MMD per class (λ {}) in place of the discriminator: no game",
                self.digit_mmd
            )
        } else if self.critic_sees_digit {
            format!(
                "ours: discriminator reads the digit, β₁ {}",
                self.game_beta1
            )
        } else {
            format!(
                "the paper's: discriminator reads the code alone, β₁ {}",
                self.game_beta1
            )
        }
    }

    /// The column read worst, `(digit, share)`.
    fn worst_column(&self) -> (usize, f64) {
        self.column_shares
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::NAN))
    }
}

impl Results {
    /// The adversarial runs of our recipe (the discriminator reads the digit).
    fn ours(&self) -> impl Iterator<Item = &StyleCard> {
        self.runs
            .iter()
            .filter(|c| c.critic_sees_digit && c.adversarial)
    }

    /// The runs without a game: an MMD per class in place of the discriminator.
    fn mmd_only(&self) -> impl Iterator<Item = &StyleCard> {
        self.runs.iter().filter(|c| !c.adversarial)
    }

    /// The paper's recipe's run, if any.
    fn paper(&self) -> Option<&StyleCard> {
        self.runs.iter().find(|c| !c.critic_sees_digit)
    }

    fn game_in_play(&self, card: &StyleCard) -> bool {
        let d = card.last_discriminator();
        (d - 4f64.ln()).abs() <= self.game_band * 4f64.ln()
    }

    fn near_chance(&self, card: &StyleCard) -> bool {
        card.leak(self.chance) <= self.leak_limit
    }

    fn reaches_goal(&self, card: &StyleCard) -> bool {
        card.cell_share >= self.goal
    }

    /// Whether the style code holds any of the look: the reconstructions beat the digit's
    /// mean image (a decoder that ignored the code would pass the cells and the probe).
    fn keeps_style(&self, card: &StyleCard) -> bool {
        card.test_mse < self.digit_only_mse
    }
}

/// The run folder of `config`: `saae_style2`, `saae_style2_paper` for the paper's recipe,
/// `saae_style10_mmd` with the per-digit MMD.
fn run_name(config: &StyleConfig) -> String {
    let recipe = if !config.adversarial {
        "_mmd"
    } else if config.critic_sees_digit {
        ""
    } else {
        "_paper"
    };
    format!("saae_style{}{recipe}", config.style)
}

/// What a run's figure calls its model: the adversarial autoencoder, or (without the game)
/// the autoencoder whose code an MMD holds to the prior.
fn model_name(adversarial: bool) -> &'static str {
    if adversarial {
        "Supervised AAE"
    } else {
        "Supervised autoencoder (MMD, no game)"
    }
}

/// How the text names a run's recipe in a sentence.
fn whose(critic_sees_digit: bool, adversarial: bool) -> &'static str {
    if !adversarial {
        "an MMD per class in place of the discriminator"
    } else if critic_sees_digit {
        "our recipe"
    } else {
        "the paper's recipe"
    }
}

/// The first test image of each digit's place in the figure: the lab's sample images.
fn row_label(lab: &Lab, i: usize) -> String {
    format!(
        "test #{i} ({})",
        lab.identity.class_label(lab.splits.test.labels[i])
    )
}

impl Experiment for StyleContent {
    const NAME: &'static str = "style";
    const ABOUT: &'static str =
        "Style and content apart: the supervised adversarial autoencoder (digit into the decoder)";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let start = Instant::now();
        let jobs: Vec<(PathBuf, RunConfig<StyleConfig>)> = RUNS
            .iter()
            .map(|model| {
                let dir = lab.exercise_dir(Self::NAME).join(run_name(model));
                let config = RunConfig {
                    model: model.clone(),
                    schedule: lab.schedule_times(EPOCH_FACTOR),
                };
                (dir, config)
            })
            .collect();
        let (splits, options) = (&lab.splits, lab.options());
        let mut runs: Vec<Trained<StyleRun>> = side_by_side(&jobs, |(dir, config)| {
            train::<StyleRun>(config, splits, dir, options).map_err(|e| e.to_string())
        })?;
        let train_seconds = start.elapsed().as_secs_f64();

        let reader_accuracy = lab.reader().test_accuracy;
        let start = Instant::now();
        let test = &lab.splits.test;
        let n_cells = CELL_IMAGES.min(test.len());
        let sources: Vec<usize> = (0..n_cells).collect();
        let source_images = test.images(&sources);
        let source_digits = test.classes_of(&sources);
        let test_images = test.all_images();
        let test_digits = test.classes();
        let train_images = lab.splits.train.all_images();
        let train_digits = lab.splits.train.classes();
        let chance = {
            let mut counts = [0usize; 10];
            test_digits.iter().for_each(|&d| counts[d.min(9)] += 1);
            *counts.iter().max().unwrap_or(&0) as f64 / test_digits.len().max(1) as f64
        };
        let digit_only_mse =
            digit_only_mse(&train_images, &train_digits, &test_images, &test_digits);
        let shown = lab.samples.clone();
        let shown_images = test.images(&shown);
        let row_labels: Vec<String> = shown.iter().map(|&i| row_label(lab, i)).collect();
        let mut columns = vec!["test image".to_string()];
        columns.extend((0..10u8).map(|d| lab.identity.class_label(d)));

        let mut cards = Vec::new();
        for run in &mut runs {
            let recipe = run.config.model.clone();
            let (name, timing) = (run.name(), Timing::of(run));
            let test_mse = run.last().map_or(f64::NAN, |f| f.test_mse);
            let history = run.history.clone();
            let model = &mut run.trainee.model;
            let style = model.style();
            // The cells: each source's style as each digit, read.
            let z = style_codes(model, &source_images);
            let (mut right, mut as_source, mut other_columns) = (0usize, 0usize, 0usize);
            let mut column_shares = Vec::new();
            for d in 0..10 {
                let drawn = model.decode_with(&z, &vec![d; n_cells]);
                let readings = lab.reader().read(&drawn);
                let hits = readings.iter().filter(|r| r.class == d).count();
                right += hits;
                column_shares.push(hits as f64 / n_cells.max(1) as f64);
                for (r, &s) in readings.iter().zip(&source_digits) {
                    if s != d {
                        other_columns += 1;
                        as_source += usize::from(r.class == s);
                    }
                }
            }
            // The probe: a softmax regression on the style codes.
            let codes_train = style_codes(model, &train_images);
            let codes_test = style_codes(model, &test_images);
            let mut probe = Linear::new(style, 10, &mut rng(lab.settings.seed));
            let inputs = classify::standardize(&codes_train, &codes_train);
            classify::fit(
                &mut probe,
                &inputs,
                &train_digits,
                Fit {
                    seed: lab.settings.seed,
                    ..PROBE
                },
            );
            let probe_accuracy = classify::accuracy(
                &mut probe,
                &classify::standardize(&codes_test, &codes_train),
                &test_digits,
            );
            // The figure: each shown image, then its style as 0 to 9.
            let z_shown = style_codes(model, &shown_images);
            let mut grid = lab.grid(&[]);
            for (k, _) in shown.iter().enumerate() {
                let zk = z_shown.index_select(0, &[k; 10]);
                let drawn = model.decode_with(&zk, &(0..10).collect::<Vec<_>>());
                let mut row = shown_images.index_select(0, &[k]).into_data();
                row.extend_from_slice(drawn.data());
                grid.push_row(&row);
            }
            let file = format!("{}.svg", run_name(&recipe));
            let whose = whose(recipe.critic_sees_digit, recipe.adversarial);
            let figure = LabelledGrid {
                grid,
                title: format!(
                    "{}, {style}-D style, {whose}: each row a test image's style, drawn as each digit",
                    model_name(recipe.adversarial)
                ),
                rows: row_labels.clone(),
                columns: columns.clone(),
                tile: (28, 28),
            };
            figure.save(&lab.exercise_dir(Self::NAME).join(&file))?;
            cards.push(StyleCard {
                style,
                critic_sees_digit: recipe.critic_sees_digit,
                game_beta1: recipe.game_beta1,
                digit_mmd: recipe.digit_mmd,
                adversarial: recipe.adversarial,
                name,
                parameters: [
                    model.encoder.num_parameters(),
                    model.decoder.num_parameters(),
                    model.discriminator.num_parameters(),
                ],
                test_mse,
                history,
                cell_share: right as f64 / (10 * n_cells).max(1) as f64,
                column_shares,
                source_share: as_source as f64 / other_columns.max(1) as f64,
                probe_accuracy,
                figure: format!("{}/{file}", Self::NAME),
                timing,
            });
        }
        let played: Vec<(&str, &[EpochRecord<AaeFigures>])> = cards
            .iter()
            .filter(|c| c.adversarial)
            .map(|c| (c.name.as_str(), c.history.as_slice()))
            .collect();
        let game = game_chart("Supervised AAE: the game per epoch", &played);
        game.save(&lab.exercise_dir(Self::NAME).join("game.svg"))?;
        Ok(Results {
            runs: cards,
            epochs: Some(lab.settings.epochs * EPOCH_FACTOR),
            cell_images: n_cells,
            goal: GOAL,
            chance,
            leak_limit: LEAK_LIMIT,
            game_band: GAME_BAND,
            reader_accuracy,
            digit_only_mse,
            timing: WallSeconds {
                train: train_seconds,
                measure: start.elapsed().as_secs_f64(),
            },
            game: format!("{}/game.svg", Self::NAME),
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let noun = &lab.dataset.noun;
        let mut body =
            String::from("## Style and content: the supervised adversarial autoencoder\n\n");
        body += "> Uses of the adversarial autoencoder: disentangled representations (style vs \
                 content) … the supervised AAE (labels used to separate style from content).\n\n";
        if let Some(first) = r.runs.first() {
            let [_, decoder, critic] = first.parameters;
            body += &format!(
                "Encoder 784-256-256-s, decoder (10 + s)-256-256-784 fed the one-hot {noun} \
                 beside the style code of s values, discriminator s-128-128-1 on the code against \
                 N(0, I) samples ({decoder} decoder and {critic} discriminator parameters at s = \
                 {s0}): the adversarial autoencoder's step (reconstruction BCE, then the \
                 discriminator, then the encoder fooling it; three Adams at lr {lr}), {epochs} \
                 on {n} training images, batch {batch}, every run side by side. The paper's \
                 recipe has the discriminator read the code alone; ours gives it the one-hot \
                 {noun} too, so that each {noun}'s codes, not only all codes together, must look \
                 like N(0, I), and trains the two players' Adams with β₁ = 0.5 (the usual GAN \
                 setting) instead of 0.9.{mmd} Each of the first {cells} test images' style code is \
                 decoded as each of the ten {noun}s, and every cell is read by the lab's {noun} \
                 reader ({reader:.1}% on the test set); a softmax regression fitted on the \
                 training images' style codes tries to read the {noun} back from the test \
                 images' codes.\n\n",
                lr = lab.lr,
                epochs = count(r.epochs.unwrap_or(lab.epochs), "epoch"),
                n = thousands(lab.n_train as u64),
                batch = lab.batch_size,
                decoder = thousands(decoder as u64),
                critic = thousands(critic as u64),
                s0 = first.style,
                cells = thousands(r.cell_images as u64),
                reader = 100.0 * r.reader_accuracy,
                mmd = r
                    .runs
                    .iter()
                    .find(|c| !c.adversarial)
                    .map(|c| format!(
                        " A last run at {}-D has no discriminator: its reconstruction's loss \
                         carries λ·Σ_d (n_d/n)·MMD² between the batch's codes of {noun} d and \
                         {} N(0, I) draws, with the inverse multiquadric kernel, λ = {}: the \
                         Wasserstein autoencoder (Tolstikhin et al. 2018), the adversarial \
                         autoencoder's sibling that matches the prior by an MMD instead of a \
                         game, its MMD taken per {noun}.",
                        c.style,
                        models::aae_supervised::MMD_PRIOR_DRAWS,
                        c.digit_mmd
                    ))
                    .unwrap_or_default(),
            );
        }
        let rows: Vec<Vec<String>> = r
            .runs
            .iter()
            .map(|c| {
                let (worst, share) = c.worst_column();
                let last = c.history.last().map(|h| &h.figures);
                vec![
                    c.style.to_string(),
                    c.recipe(),
                    format!("{:.1}%", 100.0 * c.cell_share),
                    format!("{worst}: {:.1}%", 100.0 * share),
                    format!("{:.1}%", 100.0 * c.source_share),
                    format!("{:.1}%", 100.0 * c.probe_accuracy),
                    format!("{:.5}", c.test_mse),
                    last.filter(|_| c.adversarial)
                        .map_or("--".into(), |f| format!("{:.3}", f.discriminator_loss)),
                    last.filter(|_| c.adversarial)
                        .map_or("--".into(), |f| format!("{:.3}", f.generator_loss)),
                ]
            })
            .collect();
        let probe = format!("probe on the style code (chance {:.1}%)", 100.0 * r.chance);
        body += &table(
            &[
                "style values",
                "recipe",
                "cells read as their column's digit",
                "worst column",
                "other columns read as the source's digit",
                &probe,
                "test MSE",
                "discriminator, last epoch (ln 4 ≈ 1.386)",
                "encoder, last epoch (ln 2 ≈ 0.693)",
            ],
            &rows,
        );
        body += &format!(
            "\nThe probe's chance is the share of the most common {noun} among the test images; \
             it reads \"near chance\" when it goes less than {:.0}% of the way from chance to a \
             perfect reading.\n\n",
            100.0 * r.leak_limit
        );
        for c in &r.runs {
            body += &verdict_sentence(r, c);
        }
        body += &what_was_needed(r);
        body += &comparison(r);
        body += &mmd_effect(r, noun);
        for c in &r.runs {
            body += &format!(
                "![{model}, {s}-D style, {recipe}]({f})\n\n*{s}-D style, {recipe}. \
                 Rows: {what}; first the test image itself, then its style code decoded with \
                 each {noun}'s one-hot vector, 0 to 9.*\n\n",
                s = c.style,
                recipe = c.recipe(),
                model = model_name(c.adversarial),
                f = c.figure,
                what = lab.samples_caption(),
            );
        }
        body += &format!(
            "![The game per epoch]({})\n\n*The discriminator's and the encoder's mean losses \
             per epoch, every run with a discriminator; at ln 4 and ln 2 neither wins.*\n\n",
            r.game
        );
        body += &format!(
            "Against the paper: Makhzani et al. (2015, section 4, figures 6 and 7) show the same \
             figure, rows of styles and columns of digits, from a model trained on the 60,000 \
             MNIST training images for far longer than here; they show it without measuring it. \
             Ours comes from {} training images and {}, and is read cell by cell. The runs \
             trained side by side, one core each (their seconds per epoch are in the timings \
             table); longer runs are a flag away (`--epochs`).\n\n",
            thousands(lab.n_train as u64),
            count(r.epochs.unwrap_or(lab.epochs), "epoch"),
        );
        Section {
            body,
            timings: r.runs.iter().map(|c| c.timing.clone()).collect(),
        }
    }

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let passes = |c: &StyleCard| {
            r.reaches_goal(c) && r.near_chance(c) && r.game_in_play(c) && r.keeps_style(c)
        };
        let some = |c: &StyleCard| r.game_in_play(c) && (r.reaches_goal(c) || r.near_chance(c));
        let ours: Vec<&StyleCard> = r.ours().collect();
        let verdict = if !ours.is_empty() && ours.iter().all(|c| passes(c)) {
            Verdict::Holds
        } else if ours.iter().any(|c| some(c)) {
            Verdict::Partly
        } else {
            Verdict::Fails
        };
        let each: Vec<String> = ours
            .iter()
            .map(|c| {
                format!(
                    "{}-D style: {:.1}% of cells read as their column's digit, probe {:.1}%",
                    c.style,
                    100.0 * c.cell_share,
                    100.0 * c.probe_accuracy
                )
            })
            .collect();
        let mmd: String = r
            .mmd_only()
            .map(|c| {
                format!(
                    "; with an MMD per class in place of the discriminator (no game), {}-D: \
                     {:.1}% and {:.1}%",
                    c.style,
                    100.0 * c.cell_share,
                    100.0 * c.probe_accuracy
                )
            })
            .collect();
        let paper = r.paper().map_or(String::new(), |p| {
            format!(
                "; the paper's recipe, the discriminator blind to the digit, {}-D: {:.1}% and {:.1}%",
                p.style,
                100.0 * p.cell_share,
                100.0 * p.probe_accuracy
            )
        });
        vec![Finding::new(
            Claim::AaeSeparatesStyleFromContent,
            verdict,
            format!(
                "with the discriminator given the digit, {} (goal {:.0}% of cells, probe near \
                 chance {:.1}%){paper}{mmd}",
                each.join("; "),
                100.0 * r.goal,
                100.0 * r.chance
            ),
        )]
    }
}

/// The MSE per pixel between each test image and the mean training image of its digit.
fn digit_only_mse(
    train_images: &Tensor,
    train_digits: &[usize],
    test_images: &Tensor,
    test_digits: &[usize],
) -> f64 {
    let size = 784;
    let mut means = vec![0.0f64; 10 * size];
    let mut counts = [0usize; 10];
    for (image, &d) in train_images.data().chunks_exact(size).zip(train_digits) {
        counts[d] += 1;
        for (m, &v) in means[d * size..(d + 1) * size].iter_mut().zip(image) {
            *m += f64::from(v);
        }
    }
    for (d, mean) in means.chunks_exact_mut(size).enumerate() {
        mean.iter_mut().for_each(|m| *m /= counts[d].max(1) as f64);
    }
    let mut sum = 0.0;
    for (image, &d) in test_images.data().chunks_exact(size).zip(test_digits) {
        let mean = &means[d * size..(d + 1) * size];
        sum += image
            .iter()
            .zip(mean)
            .map(|(&v, &m)| (f64::from(v) - m).powi(2))
            .sum::<f64>();
    }
    sum / (test_digits.len() * size).max(1) as f64
}

/// What the numbers say of one run, in a sentence or three.
fn verdict_sentence(r: &Results, c: &StyleCard) -> String {
    let whose = whose(c.critic_sees_digit, c.adversarial);
    let mut s = format!("With a {}-D style code and {whose}, ", c.style);
    s += &if r.reaches_goal(c) {
        format!(
            "the reader reads {:.1}% of the cells as the digit their column asks for, at or above \
             the goal of {:.0}%",
            100.0 * c.cell_share,
            100.0 * r.goal
        )
    } else {
        let (worst, share) = c.worst_column();
        format!(
            "the reader reads {:.1}% of the cells as the digit their column asks for, short of \
             the goal of {:.0}% (column {worst} worst, {:.1}%)",
            100.0 * c.cell_share,
            100.0 * r.goal,
            100.0 * share
        )
    };
    s += &if r.near_chance(c) {
        format!(
            "; the probe reads the digit from the style code {:.1}% of the time, near chance \
             ({:.1}%): the code keeps little of the digit. ",
            100.0 * c.probe_accuracy,
            100.0 * r.chance
        )
    } else {
        format!(
            "; the probe reads the digit from the style code {:.1}% of the time, well above \
             chance ({:.1}%): the code still carries the digit. ",
            100.0 * c.probe_accuracy,
            100.0 * r.chance
        )
    };
    s += &if r.keeps_style(c) {
        format!(
            "Its reconstructions (test MSE {:.5}) beat drawing each image as its digit's mean \
             image ({:.5}): the style code removes {:.0}% of the error that the digit alone leaves. ",
            c.test_mse,
            r.digit_only_mse,
            100.0 * (1.0 - c.test_mse / r.digit_only_mse)
        )
    } else {
        format!(
            "Its reconstructions (test MSE {:.5}) do no better than drawing each image as its \
             digit's mean image ({:.5}): the style code keeps nothing of the look. ",
            c.test_mse, r.digit_only_mse
        )
    };
    let d = c.last_discriminator();
    s += &if !c.adversarial {
        "No game: the MMD alone holds the codes to N(0, I).\n\n".to_string()
    } else if r.game_in_play(c) {
        format!(
            "The game stayed in play (the discriminator's last-epoch loss {d:.3}, within {:.0}% \
             of ln 4).\n\n",
            100.0 * r.game_band
        )
    } else if d < 4f64.ln() {
        format!(
            "The discriminator won the game (last-epoch loss {d:.3}, far below ln 4): the codes \
             are not N(0, I), so this run is not the method's result.\n\n"
        )
    } else {
        format!(
            "The discriminator lost its grip on the game (last-epoch loss {d:.3}, far above \
             ln 4): the codes were not held to N(0, I), so this run is not the method's \
             result.\n\n"
        )
    };
    s
}

/// The paper's recipe against ours at the same style size: what giving the discriminator
/// the digit (and the game β₁ = 0.5) changed.
fn what_was_needed(r: &Results) -> String {
    let Some(paper) = r.paper() else {
        return String::new();
    };
    let Some(ours) = r.ours().find(|c| c.style == paper.style) else {
        return String::new();
    };
    let (cells, probe) = (
        ours.cell_share > paper.cell_share,
        ours.probe_accuracy < paper.probe_accuracy,
    );
    let figures = format!(
        "{:.1}% of cells read right against {:.1}%, the probe at {:.1}% against {:.1}%",
        100.0 * ours.cell_share,
        100.0 * paper.cell_share,
        100.0 * ours.probe_accuracy,
        100.0 * paper.probe_accuracy
    );
    let verdict = match (cells, probe) {
        (true, true) => format!(
            "What was needed, at {}-D: our recipe, above all the discriminator reading the digit \
             ({figures}). Read alone, the codes of all images together can look like N(0, I) \
             while each digit keeps a region of its own, where the decoder never learns the \
             other digits.",
            ours.style
        ),
        (true, false) => format!(
            "At {}-D, our recipe (the discriminator given the digit) helped the decoder but not \
             the code ({figures}).",
            ours.style
        ),
        (false, true) => format!(
            "At {}-D, our recipe (the discriminator given the digit) emptied the code of the \
             digit but did not help the decoder ({figures}).",
            ours.style
        ),
        (false, false) => format!(
            "At {}-D, our recipe (the discriminator given the digit) did not help ({figures}).",
            ours.style
        ),
    };
    let cost = if ours.test_mse > paper.test_mse {
        format!(
            " The price is some of the look: the test MSE rises from {:.5} to {:.5}, the style \
             code now held to the same N(0, I) for every digit.",
            paper.test_mse, ours.test_mse
        )
    } else {
        format!(
            " It costs none of the look: the test MSE is {:.5} against {:.5}.",
            ours.test_mse, paper.test_mse
        )
    };
    verdict + &cost + "\n\n"
}

/// What an MMD per class in place of the discriminator changed: each run without a game
/// against our adversarial run at the same style size.
fn mmd_effect(r: &Results, noun: &str) -> String {
    let mut s = String::new();
    for with in r.mmd_only() {
        let Some(without) = r.ours().find(|c| c.style == with.style) else {
            continue;
        };
        let probe = if r.near_chance(with) && !r.near_chance(without) {
            "takes the probe to near chance"
        } else if with.probe_accuracy < without.probe_accuracy {
            "lowers the probe"
        } else {
            "does not lower the probe"
        };
        let look = if with.test_mse < without.test_mse {
            "and keeps more of the look"
        } else {
            "at some cost to the look"
        };
        let why = if with.probe_accuracy < without.probe_accuracy {
            format!(
                " The discriminator judges one code at a time; the MMD compares each {noun}'s \
                 codes in the batch with prior draws as a set, so its gradient moves the whole \
                 {noun}'s codes, and a shift of a whole {noun}'s codes is what a linear probe \
                 reads."
            )
        } else {
            String::new()
        };
        let (seed, [probe_with, mse_with, probe_without, mse_without]) = SECOND_SEED;
        let second = if with.digit_mmd == DIGIT_MMD {
            format!(
                " On a second seed ({seed}, measured once): the probe at {:.1}% against {:.1}%, \
                 the test MSE {mse_with:.5} against {mse_without:.5}.",
                100.0 * probe_with,
                100.0 * probe_without,
            )
        } else {
            String::new()
        };
        s += &format!(
            "In place of the discriminator, an MMD per class (λ {}) at {}-D {probe} ({:.1}% \
             against {:.1}% with the discriminator; chance {:.1}%) {look} (test MSE {:.5} \
             against {:.5}), with {:.1}% of the cells read right against {:.1}%.{why}\
             {second}\n\n",
            with.digit_mmd,
            with.style,
            100.0 * with.probe_accuracy,
            100.0 * without.probe_accuracy,
            100.0 * r.chance,
            with.test_mse,
            without.test_mse,
            100.0 * with.cell_share,
            100.0 * without.cell_share,
        );
    }
    s
}

/// Our two style sizes against each other.
fn comparison(r: &Results) -> String {
    let ours: Vec<&StyleCard> = r.ours().collect();
    let [small, large] = match ours.as_slice() {
        [a, b] if a.style < b.style => [*a, *b],
        [a, b] => [*b, *a],
        _ => return String::new(),
    };
    let cells = if large.cell_share > small.cell_share {
        "more"
    } else {
        "fewer"
    };
    let probe = if large.probe_accuracy > small.probe_accuracy {
        "more"
    } else {
        "less"
    };
    let mse = if large.test_mse < small.test_mse {
        "lower"
    } else {
        "no lower"
    };
    format!(
        "Our {}-D style against our {}-D: {cells} cells read right ({:.1}% against {:.1}%), \
         {probe} of the digit left in the code ({:.1}% against {:.1}% for the probe), and a \
         {mse} test MSE ({:.5} against {:.5}).\n\n",
        large.style,
        small.style,
        100.0 * large.cell_share,
        100.0 * small.cell_share,
        100.0 * large.probe_accuracy,
        100.0 * small.probe_accuracy,
        large.test_mse,
        small.test_mse,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    /// A made-up run: its recipe, its share of cells read right, its probe's accuracy, its
    /// discriminator's last loss and its test MSE.
    fn card(style: usize, ours: bool, cells: f64, probe: f64, d: f64, mse: f64) -> StyleCard {
        StyleCard {
            style,
            critic_sees_digit: ours,
            game_beta1: if ours { 0.5 } else { 0.9 },
            digit_mmd: 0.0,
            adversarial: true,
            name: run_name(&StyleConfig {
                style,
                critic_sees_digit: ours,
                game_beta1: 0.9,
                digit_mmd: 0.0,
                adversarial: true,
            }),
            parameters: [1, 2, 3],
            test_mse: mse,
            history: vec![EpochRecord {
                epoch: 1,
                figures: AaeFigures {
                    reconstruction_bce: 0.2,
                    discriminator_loss: d,
                    generator_loss: 0.7,
                    test_mse: mse,
                },
                seconds: 1.0,
            }],
            cell_share: cells,
            column_shares: (0..10).map(|i| cells - 0.01 * i as f64).collect(),
            source_share: 0.01,
            probe_accuracy: probe,
            figure: "style/x.svg".into(),
            timing: Timing {
                run: "x".into(),
                epochs_trained: 1,
                seconds_per_epoch: 1.0,
                images: 10_000,
            },
        }
    }

    /// The paper's recipe at 2-D, then ours at 2-D and 10-D, chance 11%, the digit's mean
    /// image at MSE 0.06.
    fn results(paper: StyleCard, two: StyleCard, ten: StyleCard) -> Results {
        Results {
            runs: vec![paper, two, ten],
            epochs: Some(30),
            cell_images: 1_000,
            goal: GOAL,
            chance: 0.11,
            leak_limit: LEAK_LIMIT,
            game_band: GAME_BAND,
            reader_accuracy: 0.986,
            digit_only_mse: 0.06,
            timing: WallSeconds {
                train: 20.0,
                measure: 3.0,
            },
            game: "style/game.svg".into(),
        }
    }

    fn ln4() -> f64 {
        4f64.ln()
    }

    fn good() -> Results {
        results(
            card(2, false, 0.86, 0.28, ln4(), 0.038),
            card(2, true, 0.997, 0.15, ln4(), 0.046),
            card(10, true, 0.97, 0.16, ln4(), 0.04),
        )
    }

    #[test]
    fn the_sentences_follow_the_numbers() {
        let body = StyleContent::render(&good(), &lab()).body;
        assert!(body.contains("99.7% of the cells"), "{body}");
        assert!(body.contains("at or above the goal of 95%"), "{body}");
        assert!(
            body.contains("short of the goal of 95% (column 9 worst, 77.0%)"),
            "{body}"
        );
        assert!(
            body.contains("15.0% of the time, near chance (11.0%)"),
            "{body}"
        );
        assert!(
            body.contains("28.0% of the time, well above chance"),
            "{body}"
        );
        assert!(body.contains("The game stayed in play"), "{body}");
        assert!(body.contains("removes 23% of the error"), "{body}");
        assert!(body.contains("What was needed, at 2-D"), "{body}");
        assert!(
            body.contains("the test MSE rises from 0.03800 to 0.04600"),
            "{body}"
        );
        assert!(
            body.contains("Our 10-D style against our 2-D: fewer cells"),
            "{body}"
        );
        assert!(
            body.contains("more of the digit left in the code"),
            "{body}"
        );
        assert!(body.contains("and a lower test MSE"), "{body}");
        assert!(!body.contains("won the game") && !body.contains("lost its grip"));
        assert!(body.contains("60,000 MNIST training images"), "{body}");
        assert_eq!(StyleContent::render(&good(), &lab()).timings.len(), 3);
        // Flipped: the discriminator wins at 2-D and loses at 10-D, our 2-D model keeps no
        // style, our recipe does worse than the paper's on both counts.
        let r = results(
            card(2, false, 0.90, 0.12, ln4(), 0.038),
            card(2, true, 0.80, 0.40, 0.2, 0.07),
            card(10, true, 0.99, 0.50, 2.5, 0.03),
        );
        let body = StyleContent::render(&r, &lab()).body;
        assert!(body.contains("The discriminator won the game (last-epoch loss 0.200"));
        assert!(body.contains("lost its grip on the game (last-epoch loss 2.500"));
        assert!(body.contains("not the method's result"), "{body}");
        assert!(
            body.contains("do no better than drawing each image"),
            "{body}"
        );
        assert!(
            body.contains("At 2-D, our recipe (the discriminator given the digit) did not help")
        );
        assert!(
            body.contains("Our 10-D style against our 2-D: more cells"),
            "{body}"
        );
        assert!(body.contains("and a lower test MSE"), "{body}");
        assert!(
            body.contains("the test MSE rises from 0.03800 to 0.07000"),
            "{body}"
        );
        let mut r = good();
        r.runs[1].test_mse = 0.03;
        let body = StyleContent::render(&r, &lab()).body;
        assert!(
            body.contains("It costs none of the look: the test MSE is 0.03000"),
            "{body}"
        );
        // The two mixed cases of what the digit input changed.
        let mixed = |cells: f64, probe: f64| {
            let r = results(
                card(2, false, 0.86, 0.28, ln4(), 0.038),
                card(2, true, cells, probe, ln4(), 0.046),
                card(10, true, 0.97, 0.16, ln4(), 0.04),
            );
            StyleContent::render(&r, &lab()).body
        };
        assert!(mixed(0.9, 0.3).contains("helped the decoder but not the code"));
        assert!(mixed(0.8, 0.2).contains("emptied the code of the digit but did not help"));
    }

    #[test]
    fn the_claim_follows_the_numbers() {
        let verdict = |r: &Results| {
            let f = &StyleContent::claims(r, &lab())[0];
            assert_eq!(f.claim, Claim::AaeSeparatesStyleFromContent);
            (f.verdict, f.evidence.clone())
        };
        let (v, evidence) = verdict(&good());
        assert_eq!(v, Verdict::Holds);
        assert!(
            evidence.contains("10-D style: 97.0% of cells"),
            "{evidence}"
        );
        assert!(evidence.contains("the paper's recipe"), "{evidence}");
        // The 10-D code keeps the digit: in part.
        let mut r = good();
        r.runs[2].probe_accuracy = 0.5;
        assert_eq!(verdict(&r).0, Verdict::Partly);
        // A model that ignores its style code passes the cells and the probe, not the claim.
        let mut r = good();
        r.runs[1].test_mse = 0.07;
        assert_eq!(verdict(&r).0, Verdict::Partly);
        // A diverged game counts for nothing, however good the cells.
        let mut r = good();
        r.runs[1].history[0].figures.discriminator_loss = 0.05;
        r.runs[2].history[0].figures.discriminator_loss = 0.05;
        assert_eq!(verdict(&r).0, Verdict::Fails);
        // Neither goal met by either of ours: does not hold, whatever the paper's run did.
        let r = results(
            card(2, false, 0.99, 0.11, ln4(), 0.038),
            card(2, true, 0.5, 0.6, ln4(), 0.04),
            card(10, true, 0.5, 0.6, ln4(), 0.04),
        );
        assert_eq!(verdict(&r).0, Verdict::Fails);
    }

    /// An MMD per class in place of the discriminator at 10-D: its row, what it changed
    /// against our adversarial 10-D run, and the claim, which stays about the adversarial
    /// runs and quotes it beside them.
    #[test]
    fn the_mmd_run_is_compared_with_the_discriminator() {
        let mut with = card(10, true, 0.982, 0.122, f64::NAN, 0.0315);
        (with.digit_mmd, with.adversarial) = (2.0, false);
        with.name = run_name(&RUNS[3]);
        assert_eq!(with.name, "saae_style10_mmd");
        // The section names a run by its game alone: the MMD runs have none, the others no MMD.
        assert!(RUNS.iter().all(|c| c.adversarial == (c.digit_mmd == 0.0)));
        let mut r = results(
            card(2, false, 0.86, 0.28, ln4(), 0.038),
            card(2, true, 0.997, 0.15, ln4(), 0.046),
            card(10, true, 0.987, 0.446, ln4(), 0.037),
        );
        r.runs.push(with);
        let body = StyleContent::render(&r, &lab()).body;
        assert!(
            body.contains(
                "| 10 | an MMD per class (λ 2) in place of the discriminator: no game | 98.2% |"
            ),
            "{body}"
        );
        assert!(body.contains("| 0.03150 | -- | -- |"), "{body}");
        assert!(
            body.contains(
                "With a 10-D style code and an MMD per class in place of the discriminator, "
            ),
            "{body}"
        );
        assert!(
            body.contains("No game: the MMD alone holds the codes to N(0, I)."),
            "{body}"
        );
        assert!(!body.contains("lost its grip"), "{body}");
        assert!(body.contains("In place of the discriminator, an MMD per class (λ 2) at 10-D takes the probe to near chance (12.2% against 44.6% with the discriminator; chance 11.0%) and keeps more of the look (test MSE 0.03150 against 0.03700), with 98.2% of the cells read right against 98.7%. The discriminator judges one code at a time"), "{body}");
        assert!(
            body.contains("A last run at 10-D has no discriminator"),
            "{body}"
        );
        // The 2-D against 10-D comparison stays between the adversarial runs.
        assert!(
            body.contains(
                "Our 10-D style against our 2-D: fewer cells read right (98.7% against 99.7%)"
            ),
            "{body}"
        );
        // The claim is the adversarial autoencoder's: its 10-D code keeps the digit.
        let f = &StyleContent::claims(&r, &lab())[0];
        assert_eq!(f.verdict, Verdict::Partly, "{}", f.evidence);
        assert!(f.evidence.contains("; with an MMD per class in place of the discriminator (no game), 10-D: 98.2% and 12.2%"), "{}", f.evidence);
        assert!(!body.contains("On a second seed"), "{body}");
        // Costing look and not lowering the probe: no explanation of a fall; at the weight
        // the experiment uses, the report quotes the second seed.
        r.runs[3].test_mse = 0.05;
        r.runs[3].probe_accuracy = 0.5;
        r.runs[3].digit_mmd = DIGIT_MMD;
        let body = StyleContent::render(&r, &lab()).body;
        assert!(body.contains("does not lower the probe"), "{body}");
        assert!(body.contains("at some cost to the look"), "{body}");
        assert!(
            !body.contains("The discriminator judges one code"),
            "{body}"
        );
        assert!(body.contains("On a second seed (1, measured once): the probe at 12.6% against 40.0%, the test MSE 0.03158 against 0.03967."), "{body}");
    }

    /// Results saved before the MMD run existed read back, its weight 0.
    #[test]
    fn old_results_read_back_without_the_mmd() {
        let mut json = serde_json::to_value(good()).unwrap();
        for run in json["runs"].as_array_mut().unwrap() {
            let run = run.as_object_mut().unwrap();
            run.remove("digit_mmd");
            run.remove("adversarial");
        }
        let back: Results = serde_json::from_value(json).unwrap();
        assert!(
            back.runs
                .iter()
                .all(|c| c.digit_mmd == 0.0 && c.adversarial)
        );
        let config: StyleConfig =
            serde_json::from_str(r#"{"style":2,"critic_sees_digit":true,"game_beta1":0.5}"#)
                .unwrap();
        assert_eq!((config.digit_mmd, config.adversarial), (0.0, true));
    }

    #[test]
    fn results_read_back_from_json() {
        let r = good();
        let json = serde_json::to_value(&r).unwrap();
        let back: Results = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn the_digit_only_reference_is_the_distance_to_each_digits_mean() {
        // Two training images of digit 0 (all 0 and all 1: mean 0.5) and one of digit 1 (all
        // 0.2); test images all 0.5 (digit 0: error 0) and all 0.6 (digit 1: 0.4² = 0.16).
        let train = Tensor::from_vec(
            &[3, 784],
            [vec![0.0; 784], vec![1.0; 784], vec![0.2; 784]].concat(),
        );
        let test = Tensor::from_vec(&[2, 784], [vec![0.5; 784], vec![0.6; 784]].concat());
        let mse = digit_only_mse(&train, &[0, 0, 1], &test, &[0, 1]);
        assert!((mse - 0.08).abs() < 1e-6, "{mse}");
    }
}
