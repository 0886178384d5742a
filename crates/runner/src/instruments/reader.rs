//! A digit reader: a small classifier (784-256-10, ReLU) trained on the labelled training
//! images, used to ask of a generated image "is this a digit, and which?". It measures
//! decoders (the VAE's manifold), so it is trained on real images only and never on what it
//! judges.
//!
//! A reader on pixels is a blunt instrument: it answers for every image, and a blurred or
//! broken stroke can still land far on one side of its boundaries. Its confidence is
//! therefore quoted against its confidence on the real test images, not as an absolute.

use layers::{Activation, Linear, Module, Sequential};
use tensor::{Tensor, rng};

use super::classify::{Fit, accuracy, fit};

/// The probability above which a reading counts as confident.
pub const CONFIDENT: f64 = 0.9;

/// A trained reader and its accuracy on the test set.
pub struct Reader {
    model: Sequential,
    /// Its accuracy on the test images (0 to 1).
    pub test_accuracy: f64,
    /// The share of test images it reads with probability above [`CONFIDENT`].
    pub test_confident: f64,
    /// Its classes.
    pub classes: usize,
}

/// What the reader says of one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// The most probable class.
    pub class: usize,
    /// Its probability.
    pub probability: f64,
}

impl Reader {
    /// Trains a reader on `train` (`[n, 784]` pixels in 0..1) with `train_labels`, and
    /// measures it on `test`.
    pub fn train(
        train: &Tensor,
        train_labels: &[usize],
        test: &Tensor,
        test_labels: &[usize],
        seed: u64,
    ) -> Reader {
        let classes = train_labels.iter().max().map_or(1, |&c| c + 1);
        let mut r = rng(seed);
        let width = train.shape()[1];
        let mut model = Sequential::new()
            .push(Linear::new(width, 256, &mut r))
            .push(Activation::Relu)
            .push(Linear::new(256, classes, &mut r));
        let settings = Fit {
            epochs: 5,
            batch_size: 64,
            lr: 1e-3,
            seed,
        };
        fit(&mut model, train, train_labels, settings);
        let test_accuracy = accuracy(&mut model, test, test_labels);
        let mut reader = Reader {
            model,
            test_accuracy,
            test_confident: 0.0,
            classes,
        };
        reader.test_confident = confident_share(&reader.read(test));
        reader
    }

    /// The reading of each image of `images` (`[n, 784]`).
    pub fn read(&mut self, images: &Tensor) -> Vec<Reading> {
        let n = images.shape()[0];
        let mut readings = Vec::with_capacity(n);
        for start in (0..n).step_by(500) {
            let rows: Vec<usize> = (start..(start + 500).min(n)).collect();
            let logits = layers::infer(
                &mut self.model as &mut dyn Module,
                images.index_select(0, &rows),
            );
            readings.extend(
                logits
                    .data()
                    .chunks_exact(self.classes)
                    .map(softmax_reading),
            );
        }
        readings
    }
}

/// The most probable class of one row of logits and its softmax probability.
fn softmax_reading(logits: &[f32]) -> Reading {
    let (class, &top) = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("at least one class");
    let sum: f64 = logits.iter().map(|&v| ((v - top) as f64).exp()).sum();
    Reading {
        class,
        probability: 1.0 / sum,
    }
}

/// The share of `readings` above [`CONFIDENT`].
pub fn confident_share(readings: &[Reading]) -> f64 {
    let confident = readings
        .iter()
        .filter(|r| r.probability > CONFIDENT)
        .count();
    confident as f64 / readings.len().max(1) as f64
}

/// The classes read with confidence at least once, in order.
pub fn classes_read(readings: &[Reading], classes: usize) -> Vec<usize> {
    (0..classes)
        .filter(|&c| {
            readings
                .iter()
                .any(|r| r.class == c && r.probability > CONFIDENT)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_is_the_softmax_of_the_largest_logit() {
        // Logits (0, ln 3): probabilities 1/4 and 3/4.
        let r = softmax_reading(&[0.0, 3f32.ln()]);
        assert_eq!(r.class, 1);
        assert!((r.probability - 0.75).abs() < 1e-6, "{r:?}");
        let r = softmax_reading(&[5.0, 5.0, 5.0, 5.0]);
        assert!((r.probability - 0.25).abs() < 1e-9);
    }

    #[test]
    fn confident_shares_and_classes_count_only_readings_above_the_threshold() {
        let at = |class, probability| Reading { class, probability };
        let readings = [at(0, 0.95), at(1, 0.5), at(2, 0.99), at(2, 0.91)];
        assert_eq!(confident_share(&readings), 0.75);
        assert_eq!(classes_read(&readings, 4), vec![0, 2]);
    }

    #[test]
    fn a_reader_learns_two_separable_classes() {
        // Class 0 lights the first half of the pixels, class 1 the second.
        let n = 2_000;
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let mut x = Tensor::uniform(&[n, 16], 0.0, 0.2, &mut rng(3));
        for (row, &label) in x.data_mut().chunks_exact_mut(16).zip(&labels) {
            for v in &mut row[label * 8..label * 8 + 8] {
                *v += 0.8;
            }
        }
        let mut reader = Reader::train(&x, &labels, &x, &labels, 1);
        assert_eq!(reader.test_accuracy, 1.0);
        assert!(reader.test_confident > 0.9, "{}", reader.test_confident);
        let readings = reader.read(&x);
        assert_eq!(classes_read(&readings, 2), vec![0, 1]);
    }
}
