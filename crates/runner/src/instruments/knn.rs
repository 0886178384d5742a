//! k-nearest-neighbour classification of codes: how well a low-dimensional code keeps the
//! digits apart, without fitting anything (the training codes are the model). Exact search,
//! every training code against every test code: `n_train·n_test` distances, a second for
//! 10,000 × 10,000 codes in 2-D.

use rayon::prelude::*;

/// The label each row of `test` (`dim` values a point) gets from its `k` nearest rows of
/// `train` (squared Euclidean distance; at equal distance the earlier training point is
/// nearer): the most frequent label among them, and at a tie in votes the label of the
/// nearest of the tied.
///
/// ```
/// # use tp_runner::instruments::knn::predict;
/// // Two clusters on a line: label 0 near 0, label 1 near 10.
/// let train = [0.0, 1.0, 2.0, 10.0, 11.0];
/// let labels = [0, 0, 0, 1, 1];
/// assert_eq!(predict(&train, &labels, &[1.5, 9.0], 1, 3), vec![0, 1]);
/// ```
pub fn predict(train: &[f32], train_labels: &[u8], test: &[f32], dim: usize, k: usize) -> Vec<u8> {
    assert!(dim > 0 && k > 0, "knn: dim {dim}, k {k}");
    assert_eq!(
        train.len(),
        train_labels.len() * dim,
        "knn: {} training values for {} labels of {dim} dimensions",
        train.len(),
        train_labels.len()
    );
    assert!(
        train_labels.len() >= k,
        "knn: {k} neighbours of {} points",
        train_labels.len()
    );
    assert!(
        test.len().is_multiple_of(dim),
        "knn: {} test values are not whole points of {dim} dimensions",
        test.len()
    );
    test.par_chunks(dim)
        .map(|x| {
            // The k nearest so far, nearest first: (squared distance, training index).
            let mut nearest: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            for (i, t) in train.chunks_exact(dim).enumerate() {
                let d: f32 = x.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum();
                if nearest.len() == k && d >= nearest[k - 1].0 {
                    continue;
                }
                // After the last entry at the same distance: earlier indices stay nearer.
                let at = nearest.partition_point(|&(e, _)| e <= d);
                nearest.insert(at, (d, i));
                nearest.truncate(k);
            }
            vote(nearest.iter().map(|&(_, i)| train_labels[i]))
        })
        .collect()
}

/// The most frequent of `labels` (given nearest first); at a tie, the one that comes first.
fn vote(labels: impl Iterator<Item = u8>) -> u8 {
    let mut counts = [0usize; 256];
    let mut order = Vec::new();
    for l in labels {
        if counts[l as usize] == 0 {
            order.push(l);
        }
        counts[l as usize] += 1;
    }
    // max_by_key keeps the last of equal maxima: walk the labels backwards so that it is the
    // first, the nearest.
    order
        .into_iter()
        .rev()
        .max_by_key(|&l| counts[l as usize])
        .expect("at least one neighbour")
}

/// The share of `test` rows whose [`predict`]ed label is their own.
pub fn accuracy(
    train: &[f32],
    train_labels: &[u8],
    test: &[f32],
    test_labels: &[u8],
    dim: usize,
    k: usize,
) -> f64 {
    let predicted = predict(train, train_labels, test, dim, k);
    assert_eq!(
        predicted.len(),
        test_labels.len(),
        "knn: {} test points for {} labels",
        predicted.len(),
        test_labels.len()
    );
    let right = predicted
        .iter()
        .zip(test_labels)
        .filter(|(p, l)| p == l)
        .count();
    right as f64 / test_labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_made_plane() {
        // Three groups in the plane: 0 around (0, 0), 1 around (5, 0), 2 around (0, 5), and
        // a stray 2 at (0.2, 0.2) among the 0s.
        let train = [
            0.0, 0.0, 0.5, 0.0, 0.0, 0.5, 0.2, 0.2, // 0, 0, 0, 2
            5.0, 0.0, 5.5, 0.0, 5.0, 0.5, // 1, 1, 1
            0.0, 5.0, 0.5, 5.0, 0.0, 5.5, // 2, 2, 2
        ];
        let labels = [0, 0, 0, 2, 1, 1, 1, 2, 2, 2];
        let test = [0.2, 0.1, 4.9, 0.1, 0.1, 4.8, 2.5, 2.5];
        // 1-NN follows the stray; 3-NN outvotes it.
        assert_eq!(predict(&train, &labels, &test[..2], 2, 1), vec![2]);
        assert_eq!(predict(&train, &labels, &test, 2, 3)[..3], [0, 1, 2]);
        // (2.5, 2.5) is 10.25 from four points, (0.5, 0) and (0, 0.5) (0s), (5, 0.5) (a 1)
        // and (0.5, 5) (a 2), and farther from the rest: its 3 nearest are the earlier
        // three, two 0s and a 1.
        assert_eq!(predict(&train, &labels, &test[6..], 2, 3), vec![0]);
        let test_labels = [0, 1, 2, 2];
        assert_eq!(accuracy(&train, &labels, &test, &test_labels, 2, 3), 0.75);
    }

    #[test]
    fn votes_break_ties_by_the_nearest() {
        assert_eq!(vote([3, 7, 7, 3].into_iter()), 3);
        assert_eq!(vote([3, 7, 7].into_iter()), 7);
        assert_eq!(vote([9].into_iter()), 9);
    }
}
