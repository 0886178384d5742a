//! Training and scoring digit classifiers (softmax cross-entropy), for the features and
//! pre-training experiment: any module that maps a batch to `[batch, 10]` logits.

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Module};
use rand::seq::SliceRandom;
use tensor::{Tensor, rng};

/// How a classifier is trained.
#[derive(Clone, Copy, Debug)]
pub struct Fit {
    /// Passes over the labelled examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Seed of the shuffles.
    pub seed: u64,
}

/// Trains `model` on `inputs` (`[n, …]`, one example per row of the first axis) against
/// `labels` with the mean softmax cross-entropy; returns the last epoch's mean loss.
pub fn fit(model: &mut dyn Module, inputs: &Tensor, labels: &[usize], fit: Fit) -> f64 {
    let n = labels.len();
    assert_eq!(inputs.shape()[0], n, "fit: one label per example");
    let mut opt = Adam::new(fit.lr);
    let mut r = rng(fit.seed);
    let mut last = f64::NAN;
    model.train();
    for _ in 0..fit.epochs {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut r);
        let (mut sum, mut seen) = (0.0f64, 0usize);
        for batch in order.chunks(fit.batch_size) {
            let mut g = Graph::new();
            let x = g.input(inputs.index_select(0, batch));
            let logits = model.forward(&mut g, x);
            let targets: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
            let loss = g.cross_entropy_loss(logits, &targets);
            sum += g.value(loss).item() as f64 * batch.len() as f64;
            seen += batch.len();
            let grads = g.backward(loss);
            opt.step(model, &grads)
                .expect("every parameter of a classifier is on its loss's tape");
        }
        last = sum / seen.max(1) as f64;
    }
    model.eval();
    last
}

/// The share of `inputs` whose largest logit is their label.
pub fn accuracy(model: &mut dyn Module, inputs: &Tensor, labels: &[usize]) -> f64 {
    model.eval();
    let n = labels.len();
    let mut correct = 0;
    for start in (0..n).step_by(500) {
        let rows: Vec<usize> = (start..(start + 500).min(n)).collect();
        let logits = layers::infer(model, inputs.index_select(0, &rows));
        let k = logits.shape()[1];
        for (row, &i) in logits.data().chunks_exact(k).zip(&rows) {
            let best = (0..k)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("at least one class");
            correct += usize::from(best == labels[i]);
        }
    }
    correct as f64 / n.max(1) as f64
}

/// `features` (`[n, d]`) with each column shifted and scaled by the mean and standard
/// deviation of `reference`'s (constant columns are only shifted): a softmax regression then
/// trains at one learning rate whatever the features' scale.
pub fn standardize(features: &Tensor, reference: &Tensor) -> Tensor {
    let mean = reference.mean_axes(&[0], false);
    let centered = reference.sub(&mean);
    let std = centered
        .square()
        .mean_axes(&[0], false)
        .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 });
    features.sub(&mean).div(&std)
}

#[cfg(test)]
mod tests {
    use super::*;
    use layers::Linear;

    #[test]
    fn a_softmax_regression_separates_two_clouds() {
        // Class 0 around (−2, 0), class 1 around (2, 0).
        let mut x = Tensor::normal(&[200, 2], 0.0, 0.5, &mut rng(1));
        let labels: Vec<usize> = (0..200).map(|i| i % 2).collect();
        for (i, row) in x.data_mut().chunks_exact_mut(2).enumerate() {
            row[0] += if labels[i] == 1 { 2.0 } else { -2.0 };
        }
        let mut model = Linear::new(2, 2, &mut rng(2));
        let before = accuracy(&mut model, &x, &labels);
        let fit_settings = Fit {
            epochs: 20,
            batch_size: 32,
            lr: 0.05,
            seed: 3,
        };
        let loss = fit(&mut model, &x, &labels, fit_settings);
        assert!(loss < 0.1, "loss {loss}");
        assert!(accuracy(&mut model, &x, &labels) > 0.99, "from {before}");
        let s = standardize(&x, &x);
        let m = s.mean_axes(&[0], false);
        assert!(m.data().iter().all(|v| v.abs() < 1e-5));
    }
}
