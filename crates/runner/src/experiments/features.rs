//! Features and pre-training: the trained encoders' codes as features for a softmax
//! classifier trained with 100, 1,000 and all the labels, against the same classifier on
//! raw pixels and on PCA features; then the convolutional encoder fine-tuned with a
//! classification head (pre-training) against the same network trained from scratch.

use layers::{Flatten, Linear, Sequential};
use models::pca::Pca;
use tensor::{Tensor, rng};

use crate::report::markdown::table;
use super::{Lab, Section, Timing, tp1, tp2};
use crate::instruments::classify::{Fit, accuracy, fit, standardize};
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "features";

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

/// Trains (or reuses) the encoders, fits the classifiers, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
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
    // The label budgets this training set allows, each once (a small --limit merges them).
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
        (tp1::NAME, ModelKind::Dense2Relu),
        (tp2::NAME, ModelKind::Conv),
    ] {
        let run = lab.ensure(exercise, kind.id(), kind, None)?;
        timings.push(Timing::of(run));
        let dim = kind.code_size(run.config.latent);
        let codes = |images: &Tensor, n: usize, run: &mut crate::train::Trained| {
            Tensor::from_vec(&[n, dim], run.codes(images.data()))
        };
        let train_codes = codes(&train_images, n_train, run);
        let test_codes = codes(&test_images, n_test, run);
        sets.push((
            format!("{} code ({dim})", kind.short(run.config.latent)),
            train_codes,
            test_codes,
        ));
    }
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (name, train_f, test_f) in &sets {
        let (train_s, test_s) = (standardize(train_f, train_f), standardize(test_f, train_f));
        let d = train_f.shape()[1];
        let mut row = vec![name.clone()];
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
            let acc = accuracy(&mut head, &test_s, &test_labels);
            accs.push(acc);
            row.push(format!("{:.1}%", 100.0 * acc));
        }
        results.push((name.clone(), accs));
        rows.push(row);
    }

    // Pre-training: the strided conv autoencoder's encoder, fine-tuned with a head, against
    // the same network from a fresh initialisation.
    let conv_weights = lab
        .find(tp2::NAME, ModelKind::Conv.id())
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
    let mut pre_rows = Vec::new();
    let mut pre = Vec::new();
    for &count in &pretrain_counts {
        let kept: Vec<usize> = (0..count).collect();
        let x = train_images.index_select(0, &kept);
        let mut accs = Vec::new();
        for pretrained in [false, true] {
            let mut net = classifier(pretrained)?;
            // First the head alone on the frozen encoder, then everything at a lower rate
            // (linear probing, then fine-tuning): a random head's large first gradients
            // would otherwise undo what the encoder learned before the head is any good.
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
        pre_rows.push(vec![
            layers::summary::thousands(count as u64),
            format!("{:.1}%", 100.0 * accs[0]),
            format!("{:.1}%", 100.0 * accs[1]),
            format!("{:+.1}", 100.0 * (accs[1] - accs[0])),
        ]);
        pre.push((count, accs));
    }

    let mut body = String::from("## Features and pre-training\n\n");
    body += &format!(
        "> Codes of the trained encoders as features for a softmax classifier trained with \
         100, 1,000 and all labels: test accuracy against the same classifier on raw pixels \
         and on PCA features.\n\n\
         The autoencoders trained without labels on all {} training images; then only the \
         first 100, 1,000 or {} of them keep their label. The classifier is a softmax \
         regression (one linear layer, cross-entropy, Adam 1e-2) on the features, each \
         standardized by its training mean and deviation: 100 passes in batches of 32 for 100 \
         labels, 30 in batches of 64 for 1,000, 10 for all. Accuracy on the {} test \
         images.\n\n",
        layers::summary::thousands(n_train as u64),
        layers::summary::thousands(n_train as u64),
        layers::summary::thousands(n_test as u64),
    );
    let mut headers = vec!["features".to_string()];
    headers.extend(counts.iter().map(|&c| {
        if c == n_train {
            format!("all {} labels", layers::summary::thousands(c as u64))
        } else {
            format!("{} labels", layers::summary::thousands(c as u64))
        }
    }));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    body += &table(&headers, &rows);
    let best_at = |i: usize| {
        results
            .iter()
            .max_by(|a, b| a.1[i].total_cmp(&b.1[i]))
            .map_or(String::new(), |r| r.0.clone())
    };
    let raw_few = results[0].1[0];
    let beat_raw_few: Vec<&str> = results
        .iter()
        .skip(1)
        .filter(|r| r.1[0] > raw_few)
        .map(|r| r.0.as_str())
        .collect();
    body += &format!(
        "\nWith 100 labels the best features are the {}, with all labels the {}. {}\n\n",
        best_at(0),
        best_at(counts.len() - 1),
        if beat_raw_few.is_empty() {
            "No code beats raw pixels with 100 labels here.".to_string()
        } else {
            format!(
                "With 100 labels, {} beat raw pixels ({:.1}%): a code learned without labels \
                 makes the few labels go further.",
                beat_raw_few.join(", "),
                100.0 * raw_few
            )
        }
    );
    body += &format!(
        "> Then the encoder fine-tuned with a classification head (pre-training) against the \
         same network trained from scratch, with 100 and 1,000 labels.\n\n\
         The network is the strided conv encoder (its three convolutions, 64×1×1 out) and a \
         linear head to 10 classes, trained with the cross-entropy in two stages, the same \
         for both: the head alone on the frozen encoder (Adam 1e-2, the passes above), then \
         the whole network (Adam 3e-4, as many passes again); \"pre-trained\" starts the encoder from the autoencoder of exercise 2 \
         (trained on all {} images without labels), \"from scratch\" from PyTorch's default \
         initialisation.\n\n",
        layers::summary::thousands(n_train as u64),
    );
    body += &table(
        &[
            "labels",
            "from scratch",
            "pre-trained encoder",
            "gain (points)",
        ],
        &pre_rows,
    );
    let gains: Vec<String> = pre
        .iter()
        .map(|(c, a)| {
            format!(
                "{:+.1} points with {} labels",
                100.0 * (a[1] - a[0]),
                layers::summary::thousands(*c as u64)
            )
        })
        .collect();
    let behind: Vec<String> = pre
        .iter()
        .filter(|(_, a)| a[1] <= a[0])
        .map(|(c, a)| {
            format!(
                "{:.1}% from scratch with {} labels",
                100.0 * a[0],
                layers::summary::thousands(*c as u64)
            )
        })
        .collect();
    body += &format!(
        "\nPre-training changes the test accuracy by {}{}.\n\n",
        gains.join(" and "),
        if behind.is_empty() {
            ": the unlabelled images gave the encoder a better start than a random one".to_string()
        } else {
            format!(
                "; it does not pay at every budget here, where the same network reaches {}{}",
                behind.join(" and "),
                if results[3].1[0] > results[0].1[0] {
                    ", although the linear probe above finds the autoencoder's code a better \
                     feature than the pixels with few labels: a code good for a linear head is \
                     not, here, a better start for training the whole network"
                } else {
                    ""
                }
            )
        }
    );
    Ok(Section { body, timings })
}
