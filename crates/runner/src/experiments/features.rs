//! Features and pre-training: the trained encoders' codes as features for a softmax
//! classifier trained with 100, 1,000 and all the labels, against the same classifier on
//! raw pixels and on PCA features; then the convolutional encoder fine-tuned with a
//! classification head (pre-training) against the same network trained from scratch.

use layers::summary::thousands;
use layers::{Flatten, Linear, Sequential};
use models::ModelKind;
use models::pca::Pca;
use serde::{Deserialize, Serialize};
use tensor::{Tensor, rng};

use super::{Experiment, Lab, LabInfo, Section, Timing, tp1};
use crate::instruments::classify::{Fit, accuracy, fit, standardize};
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::table;
use crate::train::{AeRun, TrainError, Trained};

/// Features and pre-training.
pub struct Features;

/// The folder of exercise 2's runs (its strided conv autoencoder is reused here).
const TP2: &str = "tp2";

/// Label budgets: the first N training images keep their label (None: all of them).
const BUDGETS: [Option<usize>; 3] = [Some(100), Some(1_000), None];

/// The label budgets of the pre-training comparison.
const PRETRAIN_BUDGETS: [usize; 2] = [100, 1_000];

/// Adam's learning rate when the whole conv network trains.
const PRETRAIN_LR: f32 = 3e-4;

/// How the classifiers train for `labelled` examples: more passes over fewer labels, so
/// that each budget gets a few hundred steps at least.
fn schedule(labelled: usize, lr: f32) -> Fit {
    let (epochs, batch_size) = match labelled {
        0..=100 => (100, 32),
        101..=1_000 => (30, 64),
        _ => (10, 64),
    };
    Fit {
        epochs,
        batch_size,
        lr,
        seed: 7,
    }
}

/// What the features experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The label budgets this training set allows (the first N images keep their label),
    /// each once, smallest first; the last may be the whole training set.
    pub budgets: Vec<usize>,
    /// One row per feature set: raw pixels, PCA, the deep dense code, the conv code.
    pub features: Vec<FeatureRow>,
    /// The pre-training comparison, one row per label budget.
    pub pretraining: Vec<PretrainRow>,
    /// The rows of the timings table of the two autoencoders reused.
    pub timings: Vec<Timing>,
}

/// The linear probe's test accuracy on one feature set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// The features (`raw pixels (784)`).
    pub name: String,
    /// Test accuracy (0 to 1) for each label budget of [`Results::budgets`].
    pub accuracy: Vec<f64>,
}

/// The conv classifier's test accuracy from scratch and from the pre-trained encoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainRow {
    /// Labelled training images.
    pub labels: usize,
    /// Test accuracy (0 to 1) from PyTorch's default initialisation.
    pub scratch: f64,
    /// Test accuracy (0 to 1) from the autoencoder's encoder.
    pub pretrained: f64,
}

impl Experiment for Features {
    const NAME: &'static str = "features";
    const ABOUT: &'static str =
        "Codes as features with few labels, and pre-training an encoder for classification";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let gains = r
            .pretraining
            .iter()
            .filter(|p| p.pretrained > p.scratch)
            .count();
        let verdict = match gains {
            0 => Verdict::Fails,
            n if n == r.pretraining.len() => Verdict::Holds,
            _ => Verdict::Partly,
        };
        let each: Vec<String> = r
            .pretraining
            .iter()
            .map(|p| {
                format!(
                    "{} labels: {:.1}% from the pre-trained encoder against {:.1}% from scratch",
                    p.labels,
                    100.0 * p.pretrained,
                    100.0 * p.scratch
                )
            })
            .collect();
        vec![Finding::new(
            Claim::PretrainingHelpsWithFewLabels,
            verdict,
            format!(
                "fine-tuning the conv autoencoder's encoder beats training from scratch at {gains} \
                 of {} label budgets ({}). Measured with one fine-tuning recipe, not yet a fair \
                 protocol (no validation split to choose each arm's learning rate and length); \
                 the literature's gain (Erhan et al. 2010) was with deep sigmoid networks and \
                 layer-wise pre-training",
                r.pretraining.len(),
                each.join("; ")
            ),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let n_train = lab.splits.train.len();
        let n_test = lab.splits.test.len();
        let train_images = lab.splits.train.all_images();
        let test_images = lab.splits.test.all_images();
        let train_labels: Vec<usize> = lab
            .splits
            .train
            .labels
            .iter()
            .map(|&l| l as usize)
            .collect();
        let test_labels: Vec<usize> = lab.splits.test.labels.iter().map(|&l| l as usize).collect();
        let flat = |t: &Tensor, n: usize| t.reshape(&[n, 784]);
        let mut timings = Vec::new();

        // Feature sets: (name, train features, test features).
        let mut sets: Vec<(String, Tensor, Tensor)> = vec![(
            "raw pixels (784)".into(),
            flat(&train_images, n_train),
            flat(&test_images, n_test),
        )];
        if n_train < 2 {
            return Err("the features need at least two training images (--limit)"
                .to_string()
                .into());
        }
        // The label budgets this training set allows, each once (a small --limit merges
        // them).
        let mut counts: Vec<usize> = BUDGETS
            .iter()
            .map(|b| b.unwrap_or(n_train).min(n_train))
            .collect();
        counts.dedup();
        let mut pretrain_counts: Vec<usize> =
            PRETRAIN_BUDGETS.iter().map(|&c| c.min(n_train)).collect();
        pretrain_counts.dedup();
        let pca = Pca::fit(&flat(&train_images, n_train), 64);
        sets.push((
            "PCA (64)".into(),
            pca.encode(&flat(&train_images, n_train)),
            pca.encode(&flat(&test_images, n_test)),
        ));
        for (exercise, kind) in [
            (tp1::Exercise1::NAME, ModelKind::Dense2Relu),
            (TP2, ModelKind::Conv),
        ] {
            let run = lab.ensure(exercise, kind.id(), kind, None)?;
            timings.push(Timing::of(run));
            let dim = run.code_size();
            let codes = |images: &Tensor, n: usize, run: &mut Trained<AeRun>| {
                Tensor::from_vec(&[n, dim], run.codes(images.data()))
            };
            let train_codes = codes(&train_images, n_train, run);
            let test_codes = codes(&test_images, n_test, run);
            sets.push((
                format!("{} code ({dim})", kind.short(run.latent())),
                train_codes,
                test_codes,
            ));
        }
        let mut features = Vec::new();
        for (name, train_f, test_f) in &sets {
            let (train_s, test_s) = (standardize(train_f, train_f), standardize(test_f, train_f));
            let d = train_f.shape()[1];
            let mut accs = Vec::new();
            for &count in &counts {
                let rows_kept: Vec<usize> = (0..count).collect();
                let mut head = Linear::new(d, 10, &mut rng(11));
                fit(
                    &mut head,
                    &train_s.index_select(0, &rows_kept),
                    &train_labels[..count],
                    schedule(count, 1e-2),
                );
                accs.push(accuracy(&mut head, &test_s, &test_labels));
            }
            features.push(FeatureRow {
                name: name.clone(),
                accuracy: accs,
            });
        }

        // Pre-training: the strided conv autoencoder's encoder, fine-tuned with a head,
        // against the same network from a fresh initialisation.
        let conv_weights = lab
            .find(TP2, ModelKind::Conv.id())
            .map(|r| r.dir.join("model.safetensors"))
            .ok_or_else(|| "the conv autoencoder was not trained".to_string())?;
        let classifier = |pretrained: bool| -> Result<Sequential, String> {
            let mut net = models::conv::autoencoder(&mut rng(21));
            if pretrained {
                layers::io::load(&conv_weights, &mut net).map_err(|e| e.to_string())?;
            }
            let (_, encoder) = net.layers.remove(0);
            Ok(Sequential::new()
                .push_boxed(encoder)
                .push(Flatten)
                .push(Linear::new(64, 10, &mut rng(22))))
        };
        let mut pretraining = Vec::new();
        for &count in &pretrain_counts {
            let kept: Vec<usize> = (0..count).collect();
            let x = train_images.index_select(0, &kept);
            let mut accs = Vec::new();
            for pretrained in [false, true] {
                let mut net = classifier(pretrained)?;
                // First the head alone on the frozen encoder, then everything at a lower
                // rate (linear probing, then fine-tuning): a random head's large first
                // gradients would otherwise undo what the encoder learned before the head
                // is any good.
                let encoder = net.layers[0].1.as_mut();
                encoder.set_trainable(false);
                fit(&mut net, &x, &train_labels[..count], schedule(count, 1e-2));
                net.layers[0].1.set_trainable(true);
                fit(
                    &mut net,
                    &x,
                    &train_labels[..count],
                    schedule(count, PRETRAIN_LR),
                );
                accs.push(accuracy(&mut net, &test_images, &test_labels));
            }
            pretraining.push(PretrainRow {
                labels: count,
                scratch: accs[0],
                pretrained: accs[1],
            });
        }
        Ok(Results {
            budgets: counts,
            features,
            pretraining,
            timings,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let (n_train, n_test) = (lab.n_train, lab.n_test);
        let mut body = String::from("## Features and pre-training\n\n");
        body += &format!(
            "> Codes of the trained encoders as features for a softmax classifier trained with \
             100, 1,000 and all labels: test accuracy against the same classifier on raw \
             pixels and on PCA features.\n\n\
             The autoencoders trained without labels on all {} training images; then only the \
             first 100, 1,000 or {} of them keep their label. The classifier is a softmax \
             regression (one linear layer, cross-entropy, Adam 1e-2) on the features, each \
             standardized by its training mean and deviation: 100 passes in batches of 32 for \
             100 labels, 30 in batches of 64 for 1,000, 10 for all. Accuracy on the {} test \
             images.\n\n",
            thousands(n_train as u64),
            thousands(n_train as u64),
            thousands(n_test as u64),
        );
        let mut headers = vec!["features".to_string()];
        headers.extend(r.budgets.iter().map(|&c| {
            if c == n_train {
                format!("all {} labels", thousands(c as u64))
            } else {
                format!("{} labels", thousands(c as u64))
            }
        }));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = r
            .features
            .iter()
            .map(|f| {
                let mut row = vec![f.name.clone()];
                row.extend(f.accuracy.iter().map(|a| format!("{:.1}%", 100.0 * a)));
                row
            })
            .collect();
        body += &table(&headers, &rows);
        let best_at = |i: usize| {
            r.features
                .iter()
                .max_by(|a, b| a.accuracy[i].total_cmp(&b.accuracy[i]))
                .map_or(String::new(), |f| f.name.clone())
        };
        let raw_few = r.features[0].accuracy[0];
        let beat_raw_few: Vec<&str> = r
            .features
            .iter()
            .skip(1)
            .filter(|f| f.accuracy[0] > raw_few)
            .map(|f| f.name.as_str())
            .collect();
        body += &format!(
            "\nWith 100 labels the best features are the {}, with all labels the {}. {}\n\n",
            best_at(0),
            best_at(r.budgets.len() - 1),
            if beat_raw_few.is_empty() {
                "No code beats raw pixels with 100 labels here.".to_string()
            } else {
                format!(
                    "With 100 labels, {} beat raw pixels ({:.1}%): a code learned without \
                     labels makes the few labels go further.",
                    beat_raw_few.join(", "),
                    100.0 * raw_few
                )
            }
        );
        body += &format!(
            "> Then the encoder fine-tuned with a classification head (pre-training) against \
             the same network trained from scratch, with 100 and 1,000 labels.\n\n\
             The network is the strided conv encoder (its three convolutions, 64×1×1 out) and \
             a linear head to 10 classes, trained with the cross-entropy in two stages, the \
             same for both: the head alone on the frozen encoder (Adam 1e-2, the passes \
             above), then the whole network (Adam 3e-4, as many passes again); \
             \"pre-trained\" starts the encoder from the autoencoder of exercise 2 (trained \
             on all {} images without labels), \"from scratch\" from PyTorch's default \
             initialisation.\n\n",
            thousands(n_train as u64),
        );
        let pre_rows: Vec<Vec<String>> = r
            .pretraining
            .iter()
            .map(|p| {
                vec![
                    thousands(p.labels as u64),
                    format!("{:.1}%", 100.0 * p.scratch),
                    format!("{:.1}%", 100.0 * p.pretrained),
                    format!("{:+.1}", 100.0 * (p.pretrained - p.scratch)),
                ]
            })
            .collect();
        body += &table(
            &[
                "labels",
                "from scratch",
                "pre-trained encoder",
                "gain (points)",
            ],
            &pre_rows,
        );
        let gains: Vec<String> = r
            .pretraining
            .iter()
            .map(|p| {
                format!(
                    "{:+.1} points with {} labels",
                    100.0 * (p.pretrained - p.scratch),
                    thousands(p.labels as u64)
                )
            })
            .collect();
        let behind: Vec<String> = r
            .pretraining
            .iter()
            .filter(|p| p.pretrained <= p.scratch)
            .map(|p| {
                format!(
                    "{:.1}% from scratch with {} labels",
                    100.0 * p.scratch,
                    thousands(p.labels as u64)
                )
            })
            .collect();
        // The conv code (the last feature set) against the pixels, with the fewest labels.
        let conv_beats_pixels = r.features[3].accuracy[0] > r.features[0].accuracy[0];
        body += &format!(
            "\nPre-training changes the test accuracy by {}{}.\n\n",
            gains.join(" and "),
            if behind.is_empty() {
                ": the unlabelled images gave the encoder a better start than a random one"
                    .to_string()
            } else {
                format!(
                    "; it does not pay at every budget here, where the same network reaches \
                     {}{}",
                    behind.join(" and "),
                    if conv_beats_pixels {
                        ", although the linear probe above finds the autoencoder's code a \
                         better feature than the pixels with few labels: a code good for a \
                         linear head is not, here, a better start for training the whole \
                         network"
                    } else {
                        ""
                    }
                )
            }
        );
        Section {
            body,
            timings: r.timings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn row(name: &str, accuracy: [f64; 3]) -> FeatureRow {
        FeatureRow {
            name: name.into(),
            accuracy: accuracy.to_vec(),
        }
    }

    /// Made-up results: the conv code's accuracy with 100 labels, and the pre-trained
    /// network's with 100 and 1,000.
    fn results(conv_few: f64, pretrained: [f64; 2]) -> Results {
        Results {
            budgets: vec![100, 1_000, 10_000],
            features: vec![
                row("raw pixels (784)", [0.68, 0.85, 0.887]),
                row("PCA (64)", [0.50, 0.81, 0.905]),
                row("dense code (64)", [0.60, 0.84, 0.89]),
                row("conv code (64)", [conv_few, 0.86, 0.914]),
            ],
            pretraining: vec![
                PretrainRow {
                    labels: 100,
                    scratch: 0.695,
                    pretrained: pretrained[0],
                },
                PretrainRow {
                    labels: 1_000,
                    scratch: 0.897,
                    pretrained: pretrained[1],
                },
            ],
            timings: vec![card("conv", &[0.01]).timing],
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let body = Features::render(&results(0.712, [0.691, 0.846]), &lab()).body;
        assert!(body.contains("| all 10,000 labels |"), "{body}");
        assert!(
            body.contains(
                "With 100 labels the best features are the conv code (64), with all \
                 labels the conv code (64)."
            ),
            "{body}"
        );
        assert!(
            body.contains("With 100 labels, conv code (64) beat raw pixels (68.0%)"),
            "{body}"
        );
        assert!(body.contains("| 100 | 69.5% | 69.1% | -0.4 |"), "{body}");
        assert!(
            body.contains("it does not pay at every budget here"),
            "{body}"
        );
        assert!(
            body.contains("69.5% from scratch with 100 labels and 89.7% from scratch with 1,000"),
            "{body}"
        );
        assert!(body.contains("although the linear probe above"), "{body}");
        // Flipped: no code beats the pixels with 100 labels; pre-training pays everywhere.
        let body = Features::render(&results(0.65, [0.75, 0.92]), &lab()).body;
        assert!(
            body.contains("With 100 labels the best features are the raw pixels (784)"),
            "{body}"
        );
        assert!(body.contains("No code beats raw pixels"), "{body}");
        assert!(body.contains("gave the encoder a better start"), "{body}");
        assert!(!body.contains("does not pay"), "{body}");
        // Behind at one budget, but the conv code no better than the pixels.
        let body = Features::render(&results(0.65, [0.70, 0.85]), &lab()).body;
        assert!(
            body.contains("reaches 89.7% from scratch with 1,000 labels."),
            "{body}"
        );
        assert!(!body.contains("although"), "{body}");
    }

    #[test]
    fn the_pretraining_claim_follows_the_accuracies() {
        use crate::report::claims::Verdict;
        // From scratch: 69.5% with 100 labels, 89.7% with 1,000.
        let verdict = |p: [f64; 2]| Features::claims(&results(0.7, p), &lab())[0].verdict;
        assert_eq!(verdict([0.75, 0.92]), Verdict::Holds);
        assert_eq!(verdict([0.75, 0.85]), Verdict::Partly);
        assert_eq!(verdict([0.65, 0.85]), Verdict::Fails);
    }
}
