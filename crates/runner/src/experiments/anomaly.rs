//! Anomaly detection: autoencoders trained on every digit but one (9 by default) score each
//! test image by how badly they reconstruct it, the strided convolutional autoencoder by its
//! MSE and the dense VAE by its negative ELBO; the ROC-AUC of the held-out digit against
//! the rest, the ROC curves, and the best- and worst-scored images.

use models::vae::Vae;
use tensor::rng;

use crate::report::markdown::{count, table};
use super::vae::per_image_negative_elbo;
use super::{Lab, Section, Timing};
use crate::figures::chart::{LineChart, Series};
use crate::instruments::quality::{roc_auc, roc_curve};
use crate::train::{TrainConfig, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "anomaly";

/// Points kept from each ROC curve for the chart (evenly spaced along it).
const CURVE_POINTS: usize = 400;

/// Trains both models without the held-out digit, scores the test set, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
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
        let config = TrainConfig {
            exclude_digit: Some(digit),
            n_train,
            ..lab.config(kind, latent)
        };
        let run = lab.ensure_config(NAME, &format!("{}_no{digit}", kind.id()), config)?;
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
            }
        })
        .chain(std::iter::once(Series {
            label: "chance".into(),
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            colour: 7,
            dashed: true,
        }))
        .collect();
    let chart = LineChart {
        title: format!("Finding the digit {digit} with models that never saw it"),
        x_label: "false positive rate".into(),
        y_label: "true positive rate".into(),
        log_y: false,
        x_whole: false,
        series,
    };
    chart.save(&lab.exercise_dir(NAME).join("roc.svg"))?;
    // The conv model's ten highest and ten lowest scores.
    let conv = &scored[0].2;
    let mut order: Vec<usize> = (0..conv.len()).collect();
    order.sort_by(|&a, &b| conv[b].total_cmp(&conv[a]));
    let take = order.len().min(10);
    let pick = |indices: &[usize]| lab.splits.test.images(indices).into_data();
    let worst = pick(&order[..take]);
    let best = pick(&order[order.len() - take..]);
    let grid = lab.save_grid(NAME, "extremes.png", &[worst, best])?;
    let labels_of = |indices: &[usize]| -> String {
        indices
            .iter()
            .map(|&i| lab.splits.test.labels[i].to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let top_share = order[..take].iter().filter(|&&i| positive[i]).count();

    let mut body = String::from("## Anomaly detection\n\n");
    body += &format!(
        "> Train on every digit but one (flag, default 9), score test images by \
         reconstruction error (and, for the VAE, by the negative ELBO); ROC-AUC of the \
         held-out digit against the rest.\n\n\
         Both models trained {} on the {} training images that are not a {digit} \
         (`--anomaly-digit`); the score of a test image is the strided conv autoencoder's \
         MSE on it, or the dense VAE's negative ELBO (one ε per image, fixed seed). The \
         test set keeps all {} images, {} of them {digit}s.\n\n",
        count(lab.settings.epochs, "epoch"),
        layers::summary::thousands(n_train as u64),
        layers::summary::thousands(positive.len() as u64),
        layers::summary::thousands(held_out as u64),
    );
    // The mean score of each digit: where the held-out one stands among the others.
    let per_digit: Vec<Vec<f64>> = scored
        .iter()
        .map(|(_, _, s)| {
            (0..10u8)
                .map(|d| {
                    let v: Vec<f64> = s
                        .iter()
                        .zip(&lab.splits.test.labels)
                        .filter(|(_, l)| **l == d)
                        .map(|(v, _)| *v)
                        .collect();
                    // NaN for a digit the test set lacks: it ranks nowhere.
                    if v.is_empty() {
                        f64::NAN
                    } else {
                        v.iter().sum::<f64>() / v.len() as f64
                    }
                })
                .collect()
        })
        .collect();
    let present = per_digit[0].iter().filter(|m| !m.is_nan()).count();
    let rank_of = |means: &[f64]| 1 + means.iter().filter(|&&m| m > means[digit as usize]).count();
    body += &table(
        &[
            "model",
            "score",
            "ROC-AUC",
            &format!("rank of the {digit}s' mean score (1 = highest)"),
        ],
        &scored
            .iter()
            .zip(&aucs)
            .zip(&per_digit)
            .map(|(((m, w, _), a), means)| {
                vec![
                    m.clone(),
                    w.to_string(),
                    format!("{a:.4}"),
                    rank_of(means).to_string(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let digit_means = |i: usize| {
        per_digit[i]
            .iter()
            .enumerate()
            .map(|(d, m)| format!("{d}: {m:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let better = if aucs[0] >= aucs[1] { 0 } else { 1 };
    if held_out == 0 || held_out == positive.len() {
        body += &format!(
            "\nThe test set used here has {} {digit}s and {} other digits: the AUC needs both, \
             so it cannot be measured (`--test-limit`).\n\n",
            held_out,
            positive.len() - held_out
        );
    } else {
        let below: Vec<&str> = scored
            .iter()
            .zip(&aucs)
            .filter(|(_, a)| **a < 0.5)
            .map(|((m, _, _), _)| m.as_str())
            .collect();
        body += &format!(
            "\nAn AUC of 0.5 is chance, 1 a perfect ranking. The {}'s score ranks a random \
             {digit} above a random other digit {:.1}% of the time.{} The conv autoencoder's \
             mean MSE per digit is {}{}.\n\n",
            scored[better].0,
            100.0 * aucs[better],
            if below.is_empty() {
                String::new()
            } else {
                format!(
                    " The {}'s score ranks the {digit}s below the others: it finds them easier \
                     than the digits it was trained on.",
                    below.join(" and the ")
                )
            },
            digit_means(0),
            if rank_of(&per_digit[0]) > 1 {
                format!(
                    ": the {digit}s rank {} of the {present} digits present, so the score \
                     measures how hard a digit is to draw as much as whether the model saw it",
                    rank_of(&per_digit[0])
                )
            } else {
                format!(": the {digit}s have the highest mean score of the {present} digits")
            }
        );
    }
    body += "![ROC curves](anomaly/roc.svg)\n\n";
    body += "*The ROC curves: each point is a threshold on the score, flagging every test \
             image above it.*\n\n";
    body += &format!(
        "> The best and worst scored images as a grid.\n\n![extremes]({grid})\n\n\
         *Top: the {take} test images the conv autoencoder reconstructs worst (digits {}; \
         {top_share} of them {digit}s); bottom: the {take} it reconstructs best (digits {}).*\n\n",
        labels_of(&order[..take]),
        labels_of(&order[order.len() - take..]),
    );
    Ok(Section { body, timings })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::data::dataset::Splits;
    use crate::train::train;

    #[test]
    fn a_model_that_saw_only_ones_finds_the_zeros() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let mut splits = Splits::load(&dir, "sample".into(), Some(2000), Some(500)).unwrap();
        for d in (0..10).filter(|&d| d != 1) {
            splits.train = splits.train.without_digit(d);
        }
        let config = TrainConfig::new(ModelKind::Dense1Relu, 16, 10, 16, 3e-3, 0, &splits);
        let out = std::env::temp_dir().join(format!("anomaly-ones-{}", std::process::id()));
        let mut run = train(&config, &splits, &out, false, false).unwrap();
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
}
