//! Training and scoring digit classifiers (softmax cross-entropy), for the features and
//! pre-training experiment: any module that maps a batch to `[batch, 10]` logits.

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Module};
use rand::seq::SliceRandom;
use tensor::{Rng, Tensor, rng};

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
    assert_eq!(
        inputs.shape()[0],
        labels.len(),
        "fit: one label per example"
    );
    let mut opt = Adam::new(fit.lr);
    let mut r = rng(fit.seed);
    let mut last = f64::NAN;
    for _ in 0..fit.epochs {
        last = one_pass(model, &mut opt, inputs, labels, fit.batch_size, &mut r);
    }
    model.eval();
    last
}

/// One pass over `inputs` in a fresh shuffled order, one Adam step per batch; returns the
/// pass's mean loss.
fn one_pass(
    model: &mut dyn Module,
    opt: &mut Adam,
    inputs: &Tensor,
    labels: &[usize],
    batch_size: usize,
    r: &mut Rng,
) -> f64 {
    model.train();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(r);
    let (mut sum, mut seen) = (0.0f64, 0usize);
    for batch in order.chunks(batch_size) {
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
    sum / seen.max(1) as f64
}

/// How a classifier trains when a validation set chooses how long: at most `max_epochs`
/// passes, stopped once `patience` passes in a row have not improved on the best
/// validation score, and left at its best pass (early stopping).
#[derive(Clone, Copy, Debug)]
pub struct EarlyStopping {
    /// The most passes over the training examples.
    pub max_epochs: usize,
    /// Passes without a better validation score before training stops.
    pub patience: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Seed of the shuffles.
    pub seed: u64,
}

/// A classifier's scores on a set of labelled examples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// The share classified right (0 to 1).
    pub accuracy: f64,
    /// The mean softmax cross-entropy.
    pub loss: f64,
}

impl Scores {
    /// Whether these scores beat `other`: a higher accuracy, or the same with a lower loss
    /// (with 20 validation images accuracy moves by 5% steps and ties are common).
    pub fn beats(&self, other: &Scores) -> bool {
        self.accuracy > other.accuracy
            || (self.accuracy == other.accuracy && self.loss < other.loss)
    }
}

/// Trains `model` on `train` with early stopping on `validation` (each `(inputs, labels)`)
/// and leaves it at its best pass; returns that pass (0: the model as it came, which can
/// win when it starts from a trained head) and its validation scores.
pub fn fit_early(
    model: &mut dyn Module,
    train: (&Tensor, &[usize]),
    validation: (&Tensor, &[usize]),
    s: EarlyStopping,
) -> (usize, Scores) {
    assert_eq!(
        train.0.shape()[0],
        train.1.len(),
        "fit: one label per example"
    );
    let mut opt = Adam::new(s.lr);
    let mut r = rng(s.seed);
    let mut best = (0, scores(model, validation.0, validation.1));
    let mut best_state = model.state_dict();
    for epoch in 1..=s.max_epochs {
        one_pass(model, &mut opt, train.0, train.1, s.batch_size, &mut r);
        let now = scores(model, validation.0, validation.1);
        if now.beats(&best.1) {
            best = (epoch, now);
            best_state = model.state_dict();
        } else if epoch - best.0 >= s.patience {
            break;
        }
    }
    // Back to the best pass: the values saved then, in the same visiting order.
    let mut saved = best_state.into_iter();
    model.visit_mut("", &mut |_, p| {
        if let Some((_, value)) = saved.next() {
            p.value = value;
        }
    });
    model.eval();
    best
}

/// The accuracy and mean cross-entropy of `model` on `inputs` against `labels`.
pub fn scores(model: &mut dyn Module, inputs: &Tensor, labels: &[usize]) -> Scores {
    model.eval();
    let n = labels.len();
    let (mut correct, mut loss) = (0usize, 0.0f64);
    for start in (0..n).step_by(500) {
        let rows: Vec<usize> = (start..(start + 500).min(n)).collect();
        let logits = layers::infer(model, inputs.index_select(0, &rows));
        let k = logits.shape()[1];
        for (row, &i) in logits.data().chunks_exact(k).zip(&rows) {
            let best = (0..k)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("at least one class");
            correct += usize::from(best == labels[i]);
            // −log softmax(row)[label], shifted by the largest logit so exp cannot overflow.
            let top = row[best] as f64;
            let sum: f64 = row.iter().map(|&v| (v as f64 - top).exp()).sum();
            loss += top + sum.ln() - row[labels[i]] as f64;
        }
    }
    Scores {
        accuracy: correct as f64 / n.max(1) as f64,
        loss: loss / n.max(1) as f64,
    }
}

/// The share of `inputs` whose largest logit is their label.
pub fn accuracy(model: &mut dyn Module, inputs: &Tensor, labels: &[usize]) -> f64 {
    scores(model, inputs, labels).accuracy
}

/// `features` (`[n, d]`) with each column shifted and scaled by the mean and standard
/// deviation of `reference`'s (constant columns are only shifted): a softmax regression then
/// trains at one learning rate whatever the features' scale.
pub fn standardize(features: &Tensor, reference: &Tensor) -> Tensor {
    let (mean, std) = moments(reference);
    features.sub(&mean).div(&std)
}

/// The mean and standard deviation (`[d]` each) of `reference`'s columns, a deviation of 1
/// for a constant column: what [`standardize`] shifts and scales by.
pub fn moments(reference: &Tensor) -> (Tensor, Tensor) {
    let mean = reference.mean_axes(&[0], false);
    let centered = reference.sub(&mean);
    let std = centered
        .square()
        .mean_axes(&[0], false)
        .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 });
    (mean, std)
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

    #[test]
    fn early_stopping_keeps_the_best_pass_and_repeats_bit_for_bit() {
        // Two overlapping clouds: the validation score peaks and then wanders.
        let mut x = Tensor::normal(&[120, 2], 0.0, 1.0, &mut rng(4));
        let labels: Vec<usize> = (0..120).map(|i| i % 2).collect();
        for (i, row) in x.data_mut().chunks_exact_mut(2).enumerate() {
            row[0] += if labels[i] == 1 { 0.7 } else { -0.7 };
        }
        let rows = |a: usize, b: usize| (a..b).collect::<Vec<usize>>();
        let (xt, xv) = (
            x.index_select(0, &rows(0, 80)),
            x.index_select(0, &rows(80, 120)),
        );
        let (yt, yv) = (&labels[..80], &labels[80..]);
        let s = EarlyStopping {
            max_epochs: 40,
            patience: 5,
            batch_size: 16,
            lr: 0.05,
            seed: 5,
        };
        let run = || {
            let mut model = Linear::new(2, 2, &mut rng(6));
            let best = fit_early(&mut model, (&xt, yt), (&xv, yv), s);
            (best, model.state_dict())
        };
        let ((epoch, best), state) = run();
        assert!(epoch <= 40);
        // The model is left at the pass whose scores were reported.
        let mut model = Linear::new(2, 2, &mut rng(6));
        let mut values = state.clone().into_iter();
        model.visit_mut("", &mut |_, p| p.value = values.next().unwrap().1);
        assert_eq!(scores(&mut model, &xv, yv), best);
        assert!(best.accuracy > 0.6, "{best:?}");
        let ((again, _), state_again) = run();
        assert_eq!((again, &state_again), (epoch, &state));
    }
}
