//! Exercise 2: the lab's convolutional autoencoder (strided convolutions to a 64×1×1 code)
//! and the course's pooling one (8×4×4 code, 4,385 parameters), against the dense ones of
//! exercise 1 (trained here too when exercise 1 has not run in this process).

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, ModelCard, Section, tp1};
use crate::instruments::quality::psnr;
use crate::instruments::stats::{mean, sample_sd};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{format_mse, table, times};
use crate::train::TrainError;

/// Exercise 2.
pub struct Exercise2;

/// The models of exercise 2.
pub const MODELS: [ModelKind; 2] = [ModelKind::Conv, ModelKind::ConvPool];

/// The models whose reconstructions the figure shows, in its row order.
const PICTURED: [ModelKind; 3] = [ModelKind::Dense2Relu, ModelKind::Conv, ModelKind::ConvPool];

/// What exercise 2 measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Exercise 1's dense models, in [`tp1::MODELS`] order.
    pub dense: Vec<ModelCard>,
    /// The strided and the pooling convolutional models, in [`MODELS`] order.
    pub conv: Vec<ModelCard>,
    /// The grid of originals and reconstructions.
    pub reconstructions: String,
    /// The loss curves.
    pub losses: String,
    /// The five models' final test MSE for [`SEEDS`] seeds, in the order of `dense` then
    /// `conv` (empty in results written before seeds were repeated).
    #[serde(default)]
    pub seeds: Vec<SeedSpread>,
}

/// Seeds every model of the main table trains with: the lab's seed and the next ones.
pub const SEEDS: u64 = 3;

/// One model's final test error over several seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSpread {
    /// The model's id.
    pub id: String,
    /// The seeds, the lab's first.
    pub seeds: Vec<u64>,
    /// The final test MSE of each seed.
    #[serde(deserialize_with = "crate::train::metrics::nans_if_null")]
    pub test_mse: Vec<f64>,
    /// The relative change of the test MSE over the last epoch, for each seed (negative:
    /// still falling; NaN after a single epoch).
    #[serde(deserialize_with = "crate::train::metrics::nans_if_null")]
    pub last_epoch_change: Vec<f64>,
}

impl SeedSpread {
    /// The mean final test MSE.
    pub fn mean(&self) -> f64 {
        mean(&self.test_mse)
    }

    /// The sample standard deviation of the final test MSE (0 for one seed).
    pub fn sd(&self) -> f64 {
        sample_sd(&self.test_mse)
    }

    /// The mean relative change of the test MSE over the last epoch.
    pub fn mean_last_change(&self) -> f64 {
        mean(&self.last_epoch_change)
    }
}

/// The relative change of the last epoch's test MSE over the one before (NaN with one epoch).
fn last_change(test_mse: &[f64]) -> f64 {
    match test_mse {
        [.., before, last] => last / before - 1.0,
        _ => f64::NAN,
    }
}

impl Experiment for Exercise2 {
    const NAME: &'static str = "tp2";
    const ABOUT: &'static str =
        "Exercise 2: the convolutional autoencoders, compared with the dense ones";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let params = |m: &ModelCard| m.table.total_params;
        let smallest_dense = r
            .dense
            .iter()
            .min_by_key(|m| params(m))
            .expect("dense models");
        let fewer = r
            .conv
            .iter()
            .filter(|c| params(c) < params(smallest_dense))
            .count();
        let verdict = match fewer {
            0 => Verdict::Fails,
            n if n == r.conv.len() => Verdict::Holds,
            _ => Verdict::Partly,
        };
        let each: Vec<String> = r
            .conv
            .iter()
            .map(|c| {
                format!(
                    "the {} has {} parameters ({} the {}'s {}{})",
                    c.short,
                    thousands(params(c) as u64),
                    times(params(c) as f64 / params(smallest_dense) as f64),
                    smallest_dense.short,
                    thousands(params(smallest_dense) as u64),
                    largest_layers(c)
                )
            })
            .collect();
        vec![Finding::new(
            Claim::ConvolutionsNeedFewerParameters,
            verdict,
            each.join("; "),
        )]
    }

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.conv.iter().map(ModelCard::table_markdown).collect()
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let latent = lab.settings.latent;
        let samples = lab.sample_images();
        let mut images = vec![samples.clone()];
        let (mut dense, mut conv) = (Vec::new(), Vec::new());
        let every = tp1::MODELS
            .iter()
            .map(|k| (tp1::Exercise1::NAME, *k))
            .chain(MODELS.iter().map(|k| (Self::NAME, *k)));
        for (exercise, kind) in every {
            let run = lab.ensure(exercise, kind.id(), kind, None)?;
            if PICTURED.contains(&kind) {
                images.push(run.reconstruct(&samples));
            }
            let card = ModelCard::of(run);
            if MODELS.contains(&kind) {
                conv.push(card);
            } else {
                dense.push(card);
            }
        }
        let seeds = repeat_with_seeds(lab)?;
        let reconstructions = lab.save_grid(Self::NAME, "reconstructions.png", &images)?;
        let keys: Vec<(String, &str, &str)> = PICTURED
            .iter()
            .map(|k| {
                let exercise = if MODELS.contains(k) {
                    Self::NAME
                } else {
                    tp1::Exercise1::NAME
                };
                (k.title(latent), exercise, k.id())
            })
            .collect();
        let losses = lab.save_loss_chart(
            Self::NAME,
            &format!(
                "Exercise 2: convolutional autoencoders, {} {} training images",
                thousands(lab.splits.train.len() as u64),
                lab.identity.short()
            ),
            &keys,
        )?;
        Ok(Results {
            dense,
            conv,
            reconstructions,
            losses,
            seeds,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let latent = lab.latent;
        let (d1, d2) = (&r.dense[0], &r.dense[2]);
        let (conv, pool) = (&r.conv[0], &r.conv[1]);
        let params = |m: &ModelCard| m.table.total_params as f64;
        let mult_adds = |m: &ModelCard| m.table.mult_adds_per_sample as f64;

        let mut body = String::from("## Exercise 2: convolutional autoencoders\n\n");
        body += "> The convolutional autoencoder: its table.\n\n";
        body += "The strided and the pooling models' description tables are in the \
                 [appendix](#appendix-the-models-description-tables).\n\n";
        body += "> Its complexity compared with the dense ones.\n\n";
        body += &format!(
            "The strided convolutional model has {} parameters, {} those of the one-layer dense \
             models and {} those of the deep one, but {} multiply-adds per image: {} the \
             one-layer models' and {} the deep one's, because each kernel is applied at every \
             output position of the image. The pooling model has only {} parameters ({:.1}% of \
             the strided one) for {} multiply-adds.\n\n",
            thousands(conv.table.total_params as u64),
            times(params(conv) / params(d1)),
            times(params(conv) / params(d2)),
            thousands(conv.table.mult_adds_per_sample),
            times(mult_adds(conv) / mult_adds(d1)),
            times(mult_adds(conv) / mult_adds(d2)),
            thousands(pool.table.total_params as u64),
            100.0 * params(pool) / params(conv),
            thousands(pool.table.mult_adds_per_sample),
        );
        body += "> The size of its code (64) compared with theirs.\n\n";
        body += &format!(
            "The strided model's code is 64×1×1 = {} values {}, {:.1}× fewer numbers than the \
             784 pixels. The pooling model keeps 8×4×4 = {} values, {} as many: it compresses \
             less, {}.\n\n",
            conv.code,
            if latent == conv.code {
                format!(
                    "like the dense models' K = {latent}, so the comparison below is at equal \
                     compression"
                )
            } else {
                format!("against the dense models' K = {latent}")
            },
            784.0 / conv.code as f64,
            pool.code,
            times(pool.code as f64 / conv.code as f64),
            if pool.final_test_mse() < conv.final_test_mse() {
                "and its test error is below the strided model's"
            } else {
                "yet with so few parameters it does not reach the strided model's test error"
            },
        );
        body += "> Training, test performance compared with the dense ones.\n\n";
        let rows: Vec<&ModelCard> = r.dense.iter().chain(&r.conv).collect();
        body += &losses_sentence(&rows);
        let spread = |m: &ModelCard| r.seeds.iter().find(|s| s.id == m.id);
        let table_rows: Vec<Vec<String>> = rows
            .iter()
            .map(|m| {
                let mut row = vec![
                    format!("{} (`{}`)", m.title, m.id),
                    thousands(m.table.total_params as u64),
                    thousands(m.table.mult_adds_per_sample),
                    m.code.to_string(),
                    format_mse(m.final_test_mse()),
                    format!("{:.2}", psnr(m.final_test_mse())),
                ];
                if !r.seeds.is_empty() {
                    row.push(spread(m).map_or("–".into(), |s| {
                        format!("{} ± {}", format_mse(s.mean()), format_mse(s.sd()))
                    }));
                    let change = last_change(&m.test_mse);
                    row.push(if change.is_nan() {
                        "–".into()
                    } else {
                        format!("{:+.1}%", 100.0 * change)
                    });
                }
                row
            })
            .collect();
        let mut header = vec![
            "model".to_string(),
            "parameters".into(),
            "mult-adds / image".into(),
            "code size".into(),
            format!("test MSE (seed {})", lab.seed),
            "PSNR (dB)".into(),
        ];
        if let Some(s) = r.seeds.first() {
            header.push(format!(
                "test MSE, seeds {}–{} (mean ± sd)",
                s.seeds[0],
                s.seeds[s.seeds.len() - 1]
            ));
            header.push("test MSE change, last epoch".into());
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        body += &table(&header, &table_rows);
        let best = lowest(&rows);
        let best_dense = lowest(&rows[..r.dense.len()]);
        let (conv_mse, dense_mse) = (conv.final_test_mse(), best_dense.final_test_mse());
        body += &format!(
            "\nThe lowest test error is the {}'s ({}). With a code of {} values, the strided \
             convolutional model reaches {} against {} for the best dense one, the {}: {}. The \
             pooling model, with {:.1}% of the parameters, reaches {}.\n\n",
            best.short,
            format_mse(best.final_test_mse()),
            conv.code,
            format_mse(conv_mse),
            format_mse(dense_mse),
            best_dense.short,
            if conv_mse < dense_mse {
                format!(
                    "{:.1}% lower, since its weights are shared across positions and see local \
                     neighbourhoods",
                    100.0 * (1.0 - conv_mse / dense_mse)
                )
            } else {
                format!(
                    "{:.1}% higher after these epochs",
                    100.0 * (conv_mse / dense_mse - 1.0)
                )
            },
            100.0 * params(pool) / params(conv),
            format_mse(pool.final_test_mse()),
        );
        body += &seeds_sentences(&rows, &r.seeds, lab.epochs);
        body += &format!("![train and test loss per epoch]({})\n\n", r.losses);
        body += "*Loss per epoch: training (dashed) and test (solid).*\n\n";
        body += "> Reconstructions.\n\n";
        body += &format!(
            "![originals and reconstructions]({})\n\n",
            r.reconstructions
        );
        body += &format!(
            "*Rows, top to bottom: originals; reconstructions by the {}, the {} and the {}.*\n\n",
            d2.short, conv.short, pool.short
        );
        Section {
            body,
            timings: r.conv.iter().map(|m| m.timing.clone()).collect(),
        }
    }
}

/// What the repeats with other seeds say: whether the ranking of the strided conv model and
/// the best dense one holds on every seed, and which models were still improving.
fn seeds_sentences(models: &[&ModelCard], seeds: &[SeedSpread], epochs: usize) -> String {
    let find = |id: &str| seeds.iter().find(|s| s.id == id);
    let (Some(first), Some(conv)) = (seeds.first(), find(ModelKind::Conv.id())) else {
        return String::new();
    };
    let n = first.seeds.len();
    let dense: Vec<&SeedSpread> = seeds
        .iter()
        .filter(|s| tp1::MODELS.iter().any(|k| k.id() == s.id))
        .collect();
    let mut text = String::new();
    if let Some(best_dense) = dense.iter().min_by(|a, b| a.mean().total_cmp(&b.mean())) {
        let wins = (0..n)
            .filter(|&i| conv.test_mse[i] < best_dense.test_mse[i])
            .count();
        let name = |id: &str| {
            models
                .iter()
                .find(|m| m.id == id)
                .map_or(id.to_string(), |m| m.short.clone())
        };
        let gap = (best_dense.mean() - conv.mean()).abs();
        text += &format!(
            "Over {n} seeds the strided convolutional model's test MSE is {} ± {} and the \
             best dense model's (the {}) {} ± {}: the convolutional model is lower on {wins} of \
             the {n} seeds, {}.",
            format_mse(conv.mean()),
            format_mse(conv.sd()),
            name(&best_dense.id),
            format_mse(best_dense.mean()),
            format_mse(best_dense.sd()),
            if wins == n || wins == 0 {
                if gap > 2.0 * conv.sd().max(best_dense.sd()) {
                    "so the order does not come from the seed (the gap is more than twice the \
                     larger spread)"
                } else {
                    "though the gap is within twice the larger spread"
                }
            } else {
                "so the order depends on the seed"
            }
        );
    }
    if seeds.iter().any(|s| s.mean_last_change().is_nan()) {
        // A single epoch: no change to speak of.
        return text + "\n\n";
    }
    let improving: Vec<&SeedSpread> = seeds
        .iter()
        .filter(|s| s.mean_last_change() < 0.0)
        .collect();
    let most = seeds
        .iter()
        .min_by(|a, b| a.mean_last_change().total_cmp(&b.mean_last_change()));
    text += &if improving.len() == seeds.len() {
        let least = seeds
            .iter()
            .max_by(|a, b| a.mean_last_change().total_cmp(&b.mean_last_change()))
            .expect("seeds");
        format!(
            " After {epochs} epochs every model's test error was still falling (over the last \
             epoch, by {:.1}% for the `{}` model to {:.1}% for the `{}` one, mean of the seeds): \
             these are models compared at equal training, not converged ones, and the ranking \
             could change with more epochs.\n\n",
            -100.0 * least.mean_last_change(),
            least.id,
            -100.0 * most.expect("seeds").mean_last_change(),
            most.expect("seeds").id,
        )
    } else {
        let flat: Vec<String> = seeds
            .iter()
            .filter(|s| s.mean_last_change() >= 0.0)
            .map(|s| format!("`{}` ({:+.1}%)", s.id, 100.0 * s.mean_last_change()))
            .collect();
        format!(
            " After {epochs} epochs the test error of {} no longer fell over the last epoch \
             (mean of the seeds); {} still improving.\n\n",
            flat.join(", "),
            match improving.len() {
                0 => "no model was".to_string(),
                1 => format!("only `{}` was", improving[0].id),
                k => format!("the {k} others were"),
            }
        )
    };
    text
}

/// Trains exercise 1's and 2's models with the [`SEEDS`]` - 1` seeds after the lab's (side
/// by side: their timings are not reported) and returns every model's spread over the seeds,
/// the lab's seed's runs included.
fn repeat_with_seeds(lab: &mut Lab) -> Result<Vec<SeedSpread>, TrainError> {
    let (latent, first) = (lab.settings.latent, lab.settings.seed);
    let every: Vec<(&str, ModelKind)> = tp1::MODELS
        .iter()
        .map(|k| (tp1::Exercise1::NAME, *k))
        .chain(MODELS.iter().map(|k| (Exercise2::NAME, *k)))
        .collect();
    let name = |kind: ModelKind, seed: u64| format!("{}_seed{seed}", kind.id());
    let mut repeats = Vec::new();
    for &(exercise, kind) in &every {
        for seed in first + 1..first + SEEDS {
            let mut config = lab.config(kind, latent);
            config.schedule.seed = seed;
            repeats.push((exercise, name(kind, seed), config));
        }
    }
    lab.ensure_side_by_side(repeats)?;
    let mut spreads = Vec::new();
    for &(exercise, kind) in &every {
        let (mut test_mse, mut changes) = (Vec::new(), Vec::new());
        for seed in first..first + SEEDS {
            let folder = if seed == first {
                kind.id().to_string()
            } else {
                name(kind, seed)
            };
            let run = lab
                .find(exercise, &folder)
                .ok_or_else(|| format!("{exercise}/{folder} was not trained"))?;
            let curve: Vec<f64> = run.epochs().map(|(_, f)| f.test_mse).collect();
            test_mse.push(curve.last().copied().unwrap_or(f64::NAN));
            changes.push(last_change(&curve));
        }
        spreads.push(SeedSpread {
            id: kind.id().into(),
            seeds: (first..first + SEEDS).collect(),
            test_mse,
            last_epoch_change: changes,
        });
    }
    Ok(spreads)
}

/// Where a model's parameters sit: `; its two largest layers, encoder.4 (Conv2d) and
/// decoder.0 (ConvTranspose2d), hold 95% of them`, and when one of them works on a single
/// pixel (a kernel as large as its input), that it is a dense layer in all but name.
fn largest_layers(m: &ModelCard) -> String {
    let mut leaves: Vec<_> = m.table.rows.iter().filter(|r| r.leaf).collect();
    leaves.sort_by_key(|r| std::cmp::Reverse(r.params));
    let [a, b, ..] = leaves.as_slice() else {
        return String::new();
    };
    let share = 100.0 * (a.params + b.params) as f64 / m.table.total_params.max(1) as f64;
    let single_pixel = |r: &crate::report::markdown::TableRow| r.output_shape.ends_with(&[1, 1]);
    let dense = if single_pixel(a) || single_pixel(b) {
        ": a convolution whose output is a single pixel sees its whole input at once, a dense \
         layer in all but name"
    } else {
        ""
    };
    format!(
        "; its two largest layers, {} ({}) and {} ({}), hold {share:.0}% of them{dense}",
        a.name, a.type_name, b.name, b.type_name
    )
}

/// Which models train on another loss than the MSE, in a sentence (empty if none).
fn losses_sentence(models: &[&ModelCard]) -> String {
    let other: Vec<String> = models
        .iter()
        .filter(|m| !m.loss.starts_with("MSE"))
        .map(|m| format!("the {} on the {}", m.short, m.loss))
        .collect();
    if other.is_empty() {
        return String::new();
    }
    format!(
        "Every model trains on the MSE per pixel except {}, as the course does: with the MSE \
         the pooling model collapses to a black image (once its sigmoid saturates, the MSE's \
         gradient vanishes where the cross-entropy's does not). Every error below is the \
         MSE.\n\n",
        other.join(" and ")
    )
}

/// The model of `models` with the lowest final test error.
fn lowest<'a>(models: &[&'a ModelCard]) -> &'a ModelCard {
    models
        .iter()
        .min_by(|a, b| a.final_test_mse().total_cmp(&b.final_test_mse()))
        .expect("models to compare")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn results(dense: [f64; 3], conv: f64, pool: f64, codes: (usize, usize)) -> Results {
        let mut strided = card("strided model", &[0.02, conv]);
        strided.code = codes.0;
        let mut pooling = card("pooling model", &[0.02, pool]);
        pooling.code = codes.1;
        Results {
            dense: vec![
                card("linear model", &[0.02, dense[0]]),
                card("relu model", &[0.02, dense[1]]),
                card("deep model", &[0.02, dense[2]]),
            ],
            conv: vec![strided, pooling],
            reconstructions: "tp2/reconstructions.png".into(),
            losses: "tp2/losses.svg".into(),
            seeds: Vec::new(),
        }
    }

    /// Spreads for the five models: `dense` for the three dense ones, `conv` for the strided
    /// one, the pooling one at 0.02; each with its last-epoch change.
    fn spreads(dense: [f64; 3], conv: [f64; 3], change: f64) -> Vec<SeedSpread> {
        let ids = tp1::MODELS.iter().chain(&MODELS).map(|k| k.id());
        let values = [
            [dense[0]; 3],
            [dense[1]; 3],
            [dense[2]; 3],
            conv,
            [0.02, 0.021, 0.019],
        ];
        ids.zip(values)
            .map(|(id, mse)| SeedSpread {
                id: id.into(),
                seeds: vec![0, 1, 2],
                test_mse: mse.to_vec(),
                last_epoch_change: vec![change; 3],
            })
            .collect()
    }

    #[test]
    fn the_seed_sentences_follow_the_spreads() {
        let mut r = results([0.008, 0.011, 0.015], 0.006, 0.018, (64, 128));
        r.seeds = spreads([0.008, 0.011, 0.015], [0.006, 0.0061, 0.0059], -0.05);
        let body = Exercise2::render(&r, &lab()).body;
        assert!(body.contains("test MSE, seeds 0–2 (mean ± sd)"), "{body}");
        assert!(body.contains("lower on 3 of the 3 seeds"), "{body}");
        assert!(body.contains("does not come from the seed"), "{body}");
        assert!(
            body.contains("every model's test error was still falling"),
            "{body}"
        );
        // One seed where the dense model wins; the models stopped improving.
        r.seeds = spreads([0.008, 0.011, 0.015], [0.006, 0.0085, 0.0059], 0.01);
        let body = Exercise2::render(&r, &lab()).body;
        assert!(body.contains("lower on 2 of the 3 seeds"), "{body}");
        assert!(body.contains("the order depends on the seed"), "{body}");
        assert!(
            body.contains("no longer fell over the last epoch"),
            "{body}"
        );
        assert!(body.contains("no model was still improving"), "{body}");
        // One epoch: no change (NaN, null in JSON), no sentence about it, and the results
        // read back.
        r.seeds = spreads([0.008, 0.011, 0.015], [0.006, 0.0061, 0.0059], f64::NAN);
        let json = serde_json::to_value(&r).unwrap();
        let back: Results = serde_json::from_value(json).unwrap();
        assert!(back.seeds[0].last_epoch_change[0].is_nan());
        let body = Exercise2::render(&back, &lab()).body;
        assert!(!body.contains("last epoch ("), "{body}");
        assert!(!body.contains("still falling"), "{body}");
        // Always lower, but by less than the spread.
        r.seeds = spreads([0.0065, 0.011, 0.015], [0.006, 0.0063, 0.0050], -0.05);
        let body = Exercise2::render(&r, &lab()).body;
        assert!(body.contains("within twice the larger spread"), "{body}");
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let mut r = results([0.008, 0.011, 0.015], 0.006, 0.018, (64, 128));
        let body = Exercise2::render(&r, &lab()).body;
        assert!(
            !body.contains("except"),
            "every made-up model is on the MSE: {body}"
        );
        r.conv[1].loss = "BCE per pixel".into();
        let body = Exercise2::render(&r, &lab()).body;
        assert!(
            body.contains("on the MSE per pixel except the pooling model on the BCE per pixel"),
            "{body}"
        );
        assert!(body.contains("at equal compression"), "{body}");
        assert!(body.contains("does not reach the strided"), "{body}");
        assert!(
            body.contains("The lowest test error is the strided model's (0.00600)"),
            "{body}"
        );
        assert!(
            body.contains("the best dense one, the linear model: 25.0% lower"),
            "{body}"
        );
        assert_eq!(Exercise2::render(&r, &lab()).timings.len(), 2);
        // Flipped: another code size, the pooling model wins, the dense ones beat the
        // strided one.
        let r = results([0.011, 0.005, 0.015], 0.006, 0.004, (32, 128));
        let body = Exercise2::render(&r, &lab()).body;
        assert!(body.contains("against the dense models' K = 64"), "{body}");
        assert!(
            body.contains("its test error is below the strided"),
            "{body}"
        );
        assert!(
            body.contains("The lowest test error is the pooling model's (0.00400)"),
            "{body}"
        );
        assert!(
            body.contains("the best dense one, the relu model: 20.0% higher"),
            "{body}"
        );
    }

    #[test]
    fn the_parameter_claim_follows_the_counts() {
        use crate::report::claims::Verdict;
        let verdict = |small: usize, large: usize| {
            let mut r = results([0.008, 0.011, 0.015], 0.006, 0.018, (64, 128));
            r.conv[0].table.total_params = large;
            r.conv[1].table.total_params = small;
            let f = &Exercise2::claims(&r, &lab())[0];
            (f.verdict, f.evidence.clone())
        };
        // The made-up dense models have 1,000 parameters each.
        assert_eq!(verdict(10, 20).0, Verdict::Holds);
        assert_eq!(verdict(10, 2_000).0, Verdict::Partly);
        let (v, evidence) = verdict(1_500, 2_000);
        assert_eq!(v, Verdict::Fails);
        assert!(evidence.contains("2,000 parameters (2.00×"), "{evidence}");
    }
}
