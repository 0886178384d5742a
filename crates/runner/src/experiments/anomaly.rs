//! Anomaly detection: autoencoders trained on every digit but one (9 by default) score each
//! test image by how badly they reconstruct it, the strided convolutional autoencoder by its
//! MSE and the dense VAE by its negative ELBO; the ROC-AUC of the held-out digit against
//! the rest, the ROC curves, and the best- and worst-scored images.

use layers::summary::thousands;
use models::ModelKind;
use models::vae::Vae;
use serde::{Deserialize, Serialize};
use tensor::rng;

use super::{Experiment, Lab, LabInfo, Section, Timing};
use crate::figures::chart::{LineChart, Series};
use crate::instruments::elbo::per_image_negative_elbo;
use crate::instruments::quality::{roc_auc, roc_curve};
use crate::report::markdown::{count, table};
use crate::train::TrainError;

/// Anomaly detection.
pub struct Anomaly;

/// Points kept from each ROC curve for the chart (evenly spaced along it).
const CURVE_POINTS: usize = 400;

/// What anomaly detection measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The digit left out of training.
    pub digit: u8,
    /// Training images that are not that digit (what both models trained on).
    pub n_train: usize,
    /// Test images of the held-out digit.
    pub held_out: usize,
    /// The strided conv autoencoder, then the dense VAE.
    pub models: Vec<Scored>,
    /// The digits of the test images the conv autoencoder scores highest, highest first.
    pub worst: Vec<u8>,
    /// The digits of the test images it scores lowest (the tail of the same order).
    pub best: Vec<u8>,
    /// The ROC curves.
    pub roc: String,
    /// The grid of the worst- and best-scored test images.
    pub extremes: String,
}

/// One model's scores of the test set, summed up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The model, in sentences (`strided convolutional model`).
    pub model: String,
    /// What its score is (`reconstruction MSE`).
    pub score: String,
    /// ROC-AUC of the held-out digit against the rest; `None` without both kinds.
    pub auc: Option<f64>,
    /// The mean score of each digit 0 to 9; `None` for a digit the test set lacks.
    pub digit_means: Vec<Option<f64>>,
    /// Its run's row of the timings table.
    pub timing: Timing,
}

impl Scored {
    /// The AUC, NaN when it could not be measured.
    fn auc(&self) -> f64 {
        self.auc.unwrap_or(f64::NAN)
    }

    /// Where `digit`'s mean score ranks among the digits' (1 = highest).
    fn rank_of(&self, digit: u8) -> usize {
        let of = |m: &Option<f64>| m.unwrap_or(f64::NAN);
        let held = of(&self.digit_means[digit as usize]);
        1 + self.digit_means.iter().filter(|m| of(m) > held).count()
    }
}

impl Experiment for Anomaly {
    const NAME: &'static str = "anomaly";
    const ABOUT: &'static str =
        "Anomaly detection: one digit left out of training, found by reconstruction error";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let digit = lab.settings.anomaly_digit;
        let n_train = lab
            .splits
            .train
            .labels
            .iter()
            .filter(|&&l| l != digit)
            .count();
        let test = lab.splits.test.all_images().into_data();
        let positive: Vec<bool> = lab.splits.test.labels.iter().map(|&l| l == digit).collect();
        let held_out = positive.iter().filter(|&&p| p).count();
        let mut timings = Vec::new();
        // (model, what its score is, the scores).
        let mut scored: Vec<(String, &str, Vec<f64>)> = Vec::new();
        for kind in [ModelKind::Conv, ModelKind::Vae] {
            let latent = if kind == ModelKind::Vae {
                lab.settings.vae_latent
            } else {
                lab.settings.latent
            };
            let mut config = lab.config(kind, latent);
            config.model.exclude_digit = Some(digit);
            config.schedule.n_train = n_train;
            let run = lab.ensure_config(Self::NAME, &format!("{}_no{digit}", kind.id()), config)?;
            timings.push(Timing::of(run));
            let scores = if kind == ModelKind::Vae {
                let mut vae = Vae::dense(latent, &mut rng(0));
                layers::io::load(run.dir.join("model.safetensors"), &mut vae)
                    .map_err(|e| e.to_string())?;
                per_image_negative_elbo(&mut vae, &test)
            } else {
                let out = run.reconstruct(&test);
                out.chunks(784)
                    .zip(test.chunks(784))
                    .map(|(y, x)| crate::instruments::quality::mse(y, x))
                    .collect()
            };
            let what = if kind == ModelKind::Vae {
                "negative ELBO"
            } else {
                "reconstruction MSE"
            };
            scored.push((kind.short(latent), what, scores));
        }
        let aucs: Vec<f64> = scored
            .iter()
            .map(|(_, _, s)| roc_auc(s, &positive))
            .collect();
        let series = scored
            .iter()
            .enumerate()
            .map(|(colour, (model, what, s))| {
                let curve = roc_curve(s, &positive);
                let stride = curve.len().div_ceil(CURVE_POINTS).max(1);
                let mut points: Vec<(f64, f64)> = curve.iter().step_by(stride).copied().collect();
                points.push(*curve.last().expect("a curve has its end"));
                Series {
                    label: format!("{model}, {what} (AUC {:.3})", aucs[colour]),
                    points,
                    colour,
                    dashed: false,
                    markers: false,
                }
            })
            .chain(std::iter::once(Series {
                label: "chance".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                colour: 7,
                dashed: true,
                markers: false,
            }))
            .collect();
        let chart = LineChart {
            title: format!("Finding the digit {digit} with models that never saw it"),
            x_label: "false positive rate".into(),
            y_label: "true positive rate".into(),
            log_y: false,
            log_x: false,
            x_whole: false,
            series,
            references: Vec::new(),
        };
        chart.save(&lab.exercise_dir(Self::NAME).join("roc.svg"))?;
        let roc = format!("{}/roc.svg", Self::NAME);
        // The conv model's ten highest and ten lowest scores.
        let conv = &scored[0].2;
        let mut order: Vec<usize> = (0..conv.len()).collect();
        order.sort_by(|&a, &b| conv[b].total_cmp(&conv[a]));
        let take = order.len().min(10);
        let pick = |indices: &[usize]| lab.splits.test.images(indices).into_data();
        let worst = pick(&order[..take]);
        let best = pick(&order[order.len() - take..]);
        let extremes = lab.save_grid(Self::NAME, "extremes.png", &[worst, best])?;
        let labels_of = |indices: &[usize]| -> Vec<u8> {
            indices.iter().map(|&i| lab.splits.test.labels[i]).collect()
        };
        // The mean score of each digit: where the held-out one stands among the others.
        let models = scored
            .iter()
            .zip(&aucs)
            .zip(timings)
            .map(|(((model, what, s), &auc), timing)| Scored {
                model: model.clone(),
                score: what.to_string(),
                auc: (!auc.is_nan()).then_some(auc),
                digit_means: (0..10u8)
                    .map(|d| {
                        let v: Vec<f64> = s
                            .iter()
                            .zip(&lab.splits.test.labels)
                            .filter(|(_, l)| **l == d)
                            .map(|(v, _)| *v)
                            .collect();
                        // None for a digit the test set lacks: it ranks nowhere.
                        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                    })
                    .collect(),
                timing,
            })
            .collect();
        Ok(Results {
            digit,
            n_train,
            held_out,
            models,
            worst: labels_of(&order[..take]),
            best: labels_of(&order[order.len() - take..]),
            roc,
            extremes,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let digit = r.digit;
        let n_test = lab.n_test;
        let mut body = String::from("## Anomaly detection\n\n");
        body += &format!(
            "> Train on every digit but one (flag, default 9), score test images by \
             reconstruction error (and, for the VAE, by the negative ELBO); ROC-AUC of the \
             held-out digit against the rest.\n\n\
             Both models trained {} on the {} training images that are not a {digit} \
             (`--anomaly-digit`); the score of a test image is the strided conv autoencoder's \
             MSE on it, or the dense VAE's negative ELBO (one ε per image, fixed seed). The \
             test set keeps all {} images, {} of them {digit}s.\n\n",
            count(lab.epochs, "epoch"),
            thousands(r.n_train as u64),
            thousands(n_test as u64),
            thousands(r.held_out as u64),
        );
        let conv = &r.models[0];
        let present = conv.digit_means.iter().filter(|m| m.is_some()).count();
        body += &table(
            &[
                "model",
                "score",
                "ROC-AUC",
                &format!("rank of the {digit}s' mean score (1 = highest)"),
            ],
            &r.models
                .iter()
                .map(|m| {
                    vec![
                        m.model.clone(),
                        m.score.clone(),
                        format!("{:.4}", m.auc()),
                        m.rank_of(digit).to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
        let digit_means = conv
            .digit_means
            .iter()
            .enumerate()
            .map(|(d, m)| format!("{d}: {:.4}", m.unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(", ");
        let better = if r.models[0].auc() >= r.models[1].auc() {
            &r.models[0]
        } else {
            &r.models[1]
        };
        if r.held_out == 0 || r.held_out == n_test {
            body += &format!(
                "\nThe test set used here has {} {digit}s and {} other digits: the AUC needs \
                 both, so it cannot be measured (`--test-limit`).\n\n",
                r.held_out,
                n_test - r.held_out
            );
        } else {
            let below: Vec<&str> = r
                .models
                .iter()
                .filter(|m| m.auc() < 0.5)
                .map(|m| m.model.as_str())
                .collect();
            let rank = conv.rank_of(digit);
            body += &format!(
                "\nAn AUC of 0.5 is chance, 1 a perfect ranking. The {}'s score ranks a random \
                 {digit} above a random other digit {:.1}% of the time.{} The conv \
                 autoencoder's mean MSE per digit is {digit_means}{}.\n\n",
                better.model,
                100.0 * better.auc(),
                if below.is_empty() {
                    String::new()
                } else {
                    format!(
                        " The {}'s score ranks the {digit}s below the others: it finds them \
                         easier than the digits it was trained on.",
                        below.join(" and the ")
                    )
                },
                if rank > 1 {
                    format!(
                        ": the {digit}s rank {rank} of the {present} digits present, so the \
                         score measures how hard a digit is to draw as much as whether the \
                         model saw it"
                    )
                } else {
                    format!(": the {digit}s have the highest mean score of the {present} digits")
                }
            );
        }
        body += &format!("![ROC curves]({})\n\n", r.roc);
        body += "*The ROC curves: each point is a threshold on the score, flagging every test \
                 image above it.*\n\n";
        let digits = |labels: &[u8]| {
            labels
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let top_share = r.worst.iter().filter(|&&l| l == digit).count();
        body += &format!(
            "> The best and worst scored images as a grid.\n\n![extremes]({})\n\n\
             *Top: the {} test images the conv autoencoder reconstructs worst (digits {}; \
             {top_share} of them {digit}s); bottom: the {} it reconstructs best (digits \
             {}).*\n\n",
            r.extremes,
            r.worst.len(),
            digits(&r.worst),
            r.best.len(),
            digits(&r.best),
        );
        Section {
            body,
            timings: r.models.iter().map(|m| m.timing.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::data::dataset::Splits;
    use crate::experiments::tp1::tests::{card, lab};
    use crate::train::{AeConfig, AeRun, Options, RunConfig, Schedule, train};

    #[test]
    fn a_model_that_saw_only_ones_finds_the_zeros() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let mut splits = Splits::load(&dir, "sample".into(), Some(2000), Some(500)).unwrap();
        for d in (0..10).filter(|&d| d != 1) {
            splits.train = splits.train.without_digit(d);
        }
        let config = RunConfig {
            model: AeConfig::new(ModelKind::Dense1Relu, 16),
            schedule: Schedule::new(10, 16, 3e-3, 0, &splits),
        };
        let out = std::env::temp_dir().join(format!("anomaly-ones-{}", std::process::id()));
        let mut run = train::<AeRun>(&config, &splits, &out, Options::default()).unwrap();
        let keep: Vec<usize> = (0..splits.test.len())
            .filter(|&i| splits.test.labels[i] <= 1)
            .collect();
        let images = splits.test.images(&keep).into_data();
        let scores: Vec<f64> = run
            .reconstruct(&images)
            .chunks(784)
            .zip(images.chunks(784))
            .map(|(y, x)| crate::instruments::quality::mse(y, x))
            .collect();
        let zeros: Vec<bool> = keep.iter().map(|&i| splits.test.labels[i] == 0).collect();
        let auc = roc_auc(&scores, &zeros);
        assert!(auc > 0.9 && auc <= 1.0, "AUC {auc}");
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// A model whose mean score is `nine` for the 9s and 0.1·d for every other digit d.
    fn scored(model: &str, auc: Option<f64>, nine: f64) -> Scored {
        Scored {
            model: model.into(),
            score: "score".into(),
            auc,
            digit_means: (0..10)
                .map(|d| Some(if d == 9 { nine } else { 0.1 * d as f64 }))
                .collect(),
            timing: card(model, &[0.01]).timing,
        }
    }

    fn results(conv: Scored, vae: Scored, held_out: usize) -> Results {
        Results {
            digit: 9,
            n_train: 9_000,
            held_out,
            models: vec![conv, vae],
            worst: vec![0, 8, 9, 9],
            best: vec![1, 1],
            roc: "anomaly/roc.svg".into(),
            extremes: "anomaly/extremes.png".into(),
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let lab = LabInfo {
            n_test: 10_000,
            ..lab()
        };
        // The conv model better, the VAE below chance, the 9s fifth of ten.
        let r = results(
            scored("conv model", Some(0.55), 0.45),
            scored("dense VAE", Some(0.41), 0.05),
            1_009,
        );
        let body = Anomaly::render(&r, &lab).body;
        assert!(
            body.contains("| conv model | score | 0.5500 | 5 |"),
            "{body}"
        );
        assert!(
            body.contains("| dense VAE | score | 0.4100 | 9 |"),
            "{body}"
        );
        assert!(
            body.contains(
                "The conv model's score ranks a random 9 above a random other digit \
                 55.0% of the time. The dense VAE's score ranks the 9s below"
            ),
            "{body}"
        );
        assert!(
            body.contains("the 9s rank 5 of the 10 digits present"),
            "{body}"
        );
        assert!(body.contains("(digits 0 8 9 9; 2 of them 9s)"), "{body}");
        assert!(
            body.contains("the 2 it reconstructs best (digits 1 1)"),
            "{body}"
        );
        // Flipped: the VAE better, none below chance, the 9s scored highest.
        let r = results(
            scored("conv model", Some(0.60), 0.95),
            scored("dense VAE", Some(0.70), 0.05),
            1_009,
        );
        let body = Anomaly::render(&r, &lab).body;
        assert!(
            body.contains("The dense VAE's score ranks a random 9"),
            "{body}"
        );
        assert!(!body.contains("below the others"), "{body}");
        assert!(
            body.contains("the 9s have the highest mean score of the 10"),
            "{body}"
        );
        // No 9 in the test set: no AUC, no digit mean for the 9s.
        let mut conv = scored("conv model", None, 0.0);
        conv.digit_means[9] = None;
        let r = results(conv, scored("dense VAE", None, 0.0), 0);
        let body = Anomaly::render(&r, &lab).body;
        assert!(body.contains("has 0 9s and 10000 other digits"), "{body}");
        assert!(body.contains("| NaN | 1 |"), "{body}");
    }
}
