//! k-means (k-means++ seeding, Lloyd's iterations, distances by one GEMM per pass) and the
//! clustering error of an assignment: each cluster labelled with its majority digit.

use rand_distr::{Distribution, Uniform, weighted::WeightedIndex};
use rayon::prelude::*;
use tensor::{Tensor, Transpose, rng};

/// `‖x‖²` of each row of `x [n, d]`, as `[n, 1]`.
fn squared_norms(x: &Tensor) -> Tensor {
    x.square().sum_axes(&[1], true)
}

/// Squared distances `[n, k]` between the rows of `x [n, d]` and of `c [k, d]`:
/// `‖x‖² − 2x·c + ‖c‖²`, the middle term one GEMM, the rows' squared norms `xx [n, 1]` given
/// (k-means reuses them from pass to pass).
fn distances_with_norms(x: &Tensor, xx: &Tensor, c: &Tensor) -> Tensor {
    let cross = tensor::ops::matmul::matmul(x, c, Transpose { a: false, b: true });
    let cc = c.square().sum_axes(&[1], false);
    cross.mul_scalar(-2.0).add(xx).add(&cc)
}

/// The nearest centroid of each row of `x`.
pub fn assign(x: &Tensor, centroids: &Tensor) -> Vec<usize> {
    assign_with_norms(x, &squared_norms(x), centroids)
}

/// [`assign`] with the rows' squared norms given.
fn assign_with_norms(x: &Tensor, xx: &Tensor, centroids: &Tensor) -> Vec<usize> {
    let d = distances_with_norms(x, xx, centroids);
    let k = centroids.shape()[0];
    d.data()
        .chunks_exact(k)
        .map(|row| {
            (0..k)
                .min_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("at least one centroid")
        })
        .collect()
}

/// The mean, over the rows of `x [n, d]`, of the Euclidean distance from each row to its
/// `k`-th nearest other row (the `k`-th smallest distance to the other `n − 1`; `k` is capped
/// at `n − 1`, and 0 when there is no other row). Distances by blocks of rows, one GEMM each.
pub fn mean_neighbour_distance(x: &Tensor, k: usize) -> f64 {
    let n = x.shape()[0];
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return 0.0;
    }
    const BLOCK: usize = 1000;
    let norms: Vec<f32> = squared_norms(x).into_data();
    let mut kth = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        let rows: Vec<usize> = (start..(start + BLOCK).min(n)).collect();
        let cross = tensor::ops::matmul::matmul(
            &x.index_select(0, &rows),
            x,
            Transpose { a: false, b: true },
        );
        // Each row's squared distances ‖a‖² − 2a·b + ‖b‖² to the others, and the k-th.
        kth.par_extend(
            cross
                .data()
                .par_chunks_exact(n)
                .zip(&rows)
                .map(|(dots, &i)| {
                    let mut others: Vec<f32> = (0..n)
                        .filter(|&j| j != i)
                        .map(|j| (norms[i] - 2.0 * dots[j] + norms[j]).max(0.0))
                        .collect();
                    let (_, kth, _) = others.select_nth_unstable_by(k - 1, f32::total_cmp);
                    f64::from(*kth).sqrt()
                }),
        );
    }
    // Summed in row order, whatever the threads.
    kth.iter().sum::<f64>() / n as f64
}

/// `k` centroids of the rows of `x [n, d]`: k-means++ seeding from `seed`, then Lloyd's
/// iterations until no row changes cluster or `iterations` passes. An emptied cluster keeps
/// its previous centroid.
pub fn kmeans(x: &Tensor, k: usize, iterations: usize, seed: u64) -> Tensor {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    assert!(k >= 1 && k <= n, "kmeans: {k} clusters of {n} points");
    let mut r = rng(seed);
    let row = |i: usize| &x.data()[i * d..(i + 1) * d];
    let xx = squared_norms(x);
    let mut chosen = vec![Uniform::new(0, n).expect("points").sample(&mut r)];
    while chosen.len() < k {
        let c = Tensor::from_vec(
            &[chosen.len(), d],
            chosen
                .iter()
                .flat_map(|&i| row(i).iter().copied())
                .collect(),
        );
        let dist = distances_with_norms(x, &xx, &c);
        let nearest: Vec<f64> = dist
            .data()
            .chunks_exact(chosen.len())
            .map(|r| r.iter().fold(f32::INFINITY, |a, &b| a.min(b)).max(0.0) as f64)
            .collect();
        let next = match WeightedIndex::new(&nearest) {
            Ok(w) => w.sample(&mut r),
            // Every point coincides with a centroid: any unused one will do.
            Err(_) => (0..n).find(|i| !chosen.contains(i)).expect("k ≤ n"),
        };
        chosen.push(next);
    }
    let mut centroids = Tensor::from_vec(
        &[k, d],
        chosen
            .iter()
            .flat_map(|&i| row(i).iter().copied())
            .collect(),
    );
    let mut labels = vec![usize::MAX; n];
    for _ in 0..iterations {
        let next = assign_with_norms(x, &xx, &centroids);
        if next == labels {
            break;
        }
        labels = next;
        let mut sums = vec![0.0f64; k * d];
        let mut counts = vec![0usize; k];
        for (i, &c) in labels.iter().enumerate() {
            counts[c] += 1;
            for (s, &v) in sums[c * d..(c + 1) * d].iter_mut().zip(row(i)) {
                *s += v as f64;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                for j in 0..d {
                    centroids.data_mut()[c * d + j] = (sums[c * d + j] / counts[c] as f64) as f32;
                }
            }
        }
    }
    centroids
}

/// The clustering error: the share of items whose label is not their cluster's majority
/// label (1 − purity), for `k` clusters.
pub fn cluster_error(clusters: &[usize], labels: &[u8], k: usize) -> f64 {
    let mut counts = vec![[0usize; 10]; k];
    for (&c, &l) in clusters.iter().zip(labels) {
        counts[c][l as usize] += 1;
    }
    let majority: usize = counts
        .iter()
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .sum();
    1.0 - majority as f64 / clusters.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_finds_three_separated_clouds() {
        let mut x = Tensor::normal(&[300, 2], 0.0, 0.3, &mut rng(1));
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        let labels: Vec<u8> = (0..300).map(|i| (i % 3) as u8).collect();
        for (i, p) in x.data_mut().chunks_exact_mut(2).enumerate() {
            p[0] += centres[i % 3].0;
            p[1] += centres[i % 3].1;
        }
        let c = kmeans(&x, 3, 50, 2);
        let clusters = assign(&x, &c);
        assert_eq!(cluster_error(&clusters, &labels, 3), 0.0);
        // Two clusters for three clouds: one cloud (a third of the points) is mislabelled.
        let c2 = kmeans(&x, 2, 50, 2);
        let e = cluster_error(&assign(&x, &c2), &labels, 2);
        assert!((e - 1.0 / 3.0).abs() < 1e-9, "{e}");
    }

    #[test]
    fn neighbour_distances_by_hand() {
        // Points 0, 1, 3 and 7 on a line: nearest others at 1, 1, 2, 4 (mean 2); second
        // nearest at 3, 2, 3, 6 (mean 3.5); third at 7, 6, 4, 7 (mean 6).
        let x = Tensor::from_vec(&[4, 1], vec![0.0, 1.0, 3.0, 7.0]);
        assert!((mean_neighbour_distance(&x, 1) - 2.0).abs() < 1e-6);
        assert!((mean_neighbour_distance(&x, 2) - 3.5).abs() < 1e-6);
        assert!((mean_neighbour_distance(&x, 3) - 6.0).abs() < 1e-6);
        // More neighbours than there are others: the farthest; one point alone: 0.
        assert!((mean_neighbour_distance(&x, 10) - 6.0).abs() < 1e-6);
        assert_eq!(mean_neighbour_distance(&x.index_select(0, &[2]), 10), 0.0);
        // In 2-D, 1,500 points (two blocks): the 3-4-5 triangle's sides.
        let mut points = vec![0.0; 3000];
        for (i, p) in points.chunks_exact_mut(2).enumerate() {
            // Triangle m's corners (0, 0), (3, 0), (0, 4), moved to a 25 × 20 grid of step 20
            // (the other triangles at least 16 away).
            let m = i / 3;
            let (a, b) = [(0.0, 0.0), (3.0, 0.0), (0.0, 4.0)][i % 3];
            p[0] = (m % 25) as f32 * 20.0 + a;
            p[1] = (m / 25) as f32 * 20.0 + b;
        }
        let x = Tensor::from_vec(&[1500, 2], points);
        // Nearest: 3, 3, 4 (mean 10/3); second nearest: 4, 5, 5 (mean 14/3).
        assert!((mean_neighbour_distance(&x, 1) - 10.0 / 3.0).abs() < 1e-3);
        assert!((mean_neighbour_distance(&x, 2) - 14.0 / 3.0).abs() < 1e-3);
    }

    #[test]
    fn cluster_error_by_hand() {
        // Cluster 0 holds digits 1, 1, 2 (majority 1); cluster 1 holds 3: one error in four.
        assert_eq!(cluster_error(&[0, 0, 0, 1], &[1, 1, 2, 3], 2), 0.25);
    }
}
