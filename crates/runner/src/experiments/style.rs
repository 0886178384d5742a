//! Style and content apart: the supervised adversarial autoencoder (Makhzani et al. 2015,
//! section 4, figures 6 and 7). The digit goes to the decoder as a one-hot vector; the code,
//! made to look like `N(0, I)` by a discriminator, is left with the style. Three runs side
//! by side: the paper's recipe at 2 style values, and ours (the discriminator reads the digit
//! beside the code, its game's Adams at β₁ = 0.5; why, in [`models::aae_supervised`]) at 2
//! and 10.
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
use tensor::rng;

use super::{Experiment, Lab, LabInfo, Section, Timing};
use crate::figures::chart::{LineChart, MARKED_UP_TO, Reference, Series};
use crate::figures::labelled::LabelledGrid;
use crate::instruments::classify::{self, Fit};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, table};
use crate::train::adversarial::AaeFigures;
use crate::train::lanes::side_by_side;
use crate::train::metrics::EpochRecord;
use crate::train::supervised::{StyleConfig, StyleRun, style_codes};
use crate::train::{RunConfig, TrainError, Trained, train};

/// The supervised adversarial autoencoder.
pub struct StyleContent;

/// The runs: the paper's recipe (the discriminator reads the code alone, Adam's default
/// β₁ = 0.9) at 2 style values, then ours at 2 and 10 (2 can be drawn, 10 leaves room for
/// more of the style).
pub const RUNS: [StyleConfig; 3] = [
    StyleConfig {
        style: 2,
        critic_sees_digit: false,
        game_beta1: 0.9,
    },
    StyleConfig {
        style: 2,
        critic_sees_digit: true,
        game_beta1: 0.5,
    },
    StyleConfig {
        style: 10,
        critic_sees_digit: true,
        game_beta1: 0.5,
    },
];

/// Test images whose style is decoded as each of the ten digits (ten cells each).
pub const CELL_IMAGES: usize = 1_000;

/// The share of cells the reader must read as their column's digit (the goal).
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
    /// Wall seconds of the two trainings, side by side.
    pub train_seconds: f64,
    /// Wall seconds of the measurement after them (cells, probes, figures; the reader's own
    /// training excluded).
    pub measure_seconds: f64,
    /// The game per epoch, both models.
    pub game: String,
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
        if self.critic_sees_digit {
            format!("ours: discriminator reads the digit, β₁ {}", self.game_beta1)
        } else {
            format!("the paper's: discriminator reads the code alone, β₁ {}", self.game_beta1)
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
    /// The runs of our recipe (the discriminator reads the digit).
    fn ours(&self) -> impl Iterator<Item = &StyleCard> {
        self.runs.iter().filter(|c| c.critic_sees_digit)
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
}

/// The run folder of `config`: `saae_style2`, or `saae_style2_paper` for the paper's recipe.
fn run_name(config: &StyleConfig) -> String {
    let recipe = if config.critic_sees_digit { "" } else { "_paper" };
    format!("saae_style{}{recipe}", config.style)
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
                    schedule: lab.schedule(),
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
        let source_digits: Vec<usize> = sources.iter().map(|&i| test.labels[i] as usize).collect();
        let test_images = test.all_images();
        let test_digits: Vec<usize> = test.labels.iter().map(|&l| l as usize).collect();
        let train_images = lab.splits.train.all_images();
        let train_digits: Vec<usize> = lab.splits.train.labels.iter().map(|&l| l as usize).collect();
        let chance = {
            let mut counts = [0usize; 10];
            test_digits.iter().for_each(|&d| counts[d.min(9)] += 1);
            *counts.iter().max().unwrap_or(&0) as f64 / test_digits.len().max(1) as f64
        };
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
                let zk = z_shown.index_select(0, &vec![k; 10]);
                let drawn = model.decode_with(&zk, &(0..10).collect::<Vec<_>>());
                let mut row = shown_images.index_select(0, &[k]).into_data();
                row.extend_from_slice(drawn.data());
                grid.push_row(&row);
            }
            let file = format!("{}.svg", run_name(&recipe));
            let whose = if recipe.critic_sees_digit {
                "our recipe"
            } else {
                "the paper's recipe"
            };
            let figure = LabelledGrid {
                grid,
                title: format!(
                    "Supervised AAE, {style}-D style, {whose}: each row a test image's style, drawn as each digit"
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
        let game = game_chart(&cards);
        game.save(&lab.exercise_dir(Self::NAME).join("game.svg"))?;
        Ok(Results {
            runs: cards,
            cell_images: n_cells,
            goal: GOAL,
            chance,
            leak_limit: LEAK_LIMIT,
            game_band: GAME_BAND,
            reader_accuracy,
            train_seconds,
            measure_seconds: start.elapsed().as_secs_f64(),
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
                 setting) instead of 0.9. Each of the first {cells} test images' style code is \
                 decoded as each of the ten {noun}s, and every cell is read by the lab's {noun} \
                 reader ({reader:.1}% on the test set); a softmax regression fitted on the \
                 training images' style codes tries to read the {noun} back from the test \
                 images' codes.\n\n",
                lr = lab.lr,
                epochs = count(lab.epochs, "epoch"),
                n = thousands(lab.n_train as u64),
                batch = lab.batch_size,
                decoder = thousands(decoder as u64),
                critic = thousands(critic as u64),
                s0 = first.style,
                cells = thousands(r.cell_images as u64),
                reader = 100.0 * r.reader_accuracy,
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
                    last.map_or("--".into(), |f| format!("{:.3}", f.discriminator_loss)),
                    last.map_or("--".into(), |f| format!("{:.3}", f.generator_loss)),
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
        for c in &r.runs {
            body += &format!(
                "![Supervised AAE, {s}-D style, {recipe}]({f})\n\n*{s}-D style, {recipe}. \
                 Rows: {what}; first the test image itself, then its style code decoded with \
                 each {noun}'s one-hot vector, 0 to 9.*\n\n",
                s = c.style,
                recipe = c.recipe(),
                f = c.figure,
                what = lab.samples_caption(),
            );
        }
        body += &format!(
            "![The game per epoch]({})\n\n*The discriminator's and the encoder's mean losses \
             per epoch, every run; at ln 4 and ln 2 neither wins.*\n\n",
            r.game
        );
        body += &format!(
            "Against the paper: Makhzani et al. (2015, section 4, figures 6 and 7) show the same \
             figure, rows of styles and columns of digits, from a model trained on the 60,000 \
             MNIST training images for far longer than here; they show it without measuring it. \
             Ours comes from {} training images and {}, and is read cell by cell. The runs \
             trained in {:.1} s side by side (one core each, seconds per epoch in the timings \
             table), the measurement took {:.1} s; longer runs are a flag away (`--epochs`).\n\n",
            thousands(lab.n_train as u64),
            count(lab.epochs, "epoch"),
            r.train_seconds,
            r.measure_seconds,
        );
        Section {
            body,
            timings: r.runs.iter().map(|c| c.timing.clone()).collect(),
        }
    }

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let all_three = |c: &StyleCard| r.reaches_goal(c) && r.near_chance(c) && r.game_in_play(c);
        let some = |c: &StyleCard| r.game_in_play(c) && (r.reaches_goal(c) || r.near_chance(c));
        let ours: Vec<&StyleCard> = r.ours().collect();
        let verdict = if !ours.is_empty() && ours.iter().all(|c| all_three(c)) {
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
                 chance {:.1}%){paper}",
                each.join("; "),
                100.0 * r.goal,
                100.0 * r.chance
            ),
        )]
    }
}

/// What the numbers say of one run, in a sentence or three.
fn verdict_sentence(r: &Results, c: &StyleCard) -> String {
    let whose = if c.critic_sees_digit {
        "our recipe"
    } else {
        "the paper's recipe"
    };
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
    let d = c.last_discriminator();
    s += &if r.game_in_play(c) {
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
            "What was needed, at {}-D: the discriminator reading the digit ({figures}). Read \
             alone, the codes of all images together can look like N(0, I) while each digit \
             keeps a region of its own, where the decoder never learns the other digits.",
            ours.style
        ),
        (true, false) => format!(
            "At {}-D, giving the discriminator the digit helped the decoder but not the code \
             ({figures}).",
            ours.style
        ),
        (false, true) => format!(
            "At {}-D, giving the discriminator the digit emptied the code of it but did not help \
             the decoder ({figures}).",
            ours.style
        ),
        (false, false) => format!(
            "At {}-D, giving the discriminator the digit did not help ({figures}).",
            ours.style
        ),
    };
    verdict + "\n\n"
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

/// The discriminator's and the encoder's losses per epoch, every run.
fn game_chart(cards: &[StyleCard]) -> LineChart {
    let mut series = Vec::new();
    for (colour, c) in cards.iter().enumerate() {
        let points = |f: fn(&AaeFigures) -> f64| {
            c.history
                .iter()
                .map(|h| (h.epoch as f64, f(&h.figures)))
                .collect()
        };
        let markers = c.history.len() <= MARKED_UP_TO;
        series.push(Series {
            label: format!("{}: discriminator", c.name),
            points: points(|f| f.discriminator_loss),
            colour,
            dashed: false,
            markers,
        });
        series.push(Series {
            label: format!("{}: encoder (fooling it)", c.name),
            points: points(|f| f.generator_loss),
            colour,
            dashed: true,
            markers,
        });
    }
    LineChart {
        title: "Supervised AAE: the game per epoch".into(),
        x_label: "epoch".into(),
        y_label: "BCE (mean over the epoch's steps)".into(),
        log_y: false,
        log_x: false,
        x_whole: true,
        series,
        references: vec![
            Reference {
                y: 4f64.ln(),
                tick: "ln 4".into(),
                label: "ln 4 ≈ 1.386: discriminator at chance".into(),
            },
            Reference {
                y: 2f64.ln(),
                tick: "ln 2".into(),
                label: "ln 2 ≈ 0.693: encoder at chance".into(),
            },
        ],
    }
}
