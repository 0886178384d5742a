//! The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian
//! (its mean and covariance): the FID of Heusel et al. 2017 when the features are
//! Inception's, here the digit reader's penultimate layer ([`super::reader::Reader::features`]),
//! so "FD-MNIST".
//!
//! `FD = ‖μ₁ − μ₂‖² + Tr(C₁ + C₂ − 2·(C₁^{1/2}·C₂·C₁^{1/2})^{1/2})`
//!
//! which is the squared 2-Wasserstein distance between `N(μ₁, C₁)` and `N(μ₂, C₂)`: 0 for
//! the same Gaussian, and for diagonal covariances `Σ (μ₁ − μ₂)² + Σ (√a − √b)²` per axis.
//! The square roots of symmetric positive semi-definite matrices come from their
//! eigendecomposition, computed here by cyclic Jacobi rotations in f64 ([`symmetric_eigen`]):
//! slow for large matrices (O(d³) per sweep) but exact to rounding and a screen of code, and
//! the reader's features are few (128).

/// A Gaussian summary of `n` vectors of dimension `d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    /// Dimension.
    pub d: usize,
    /// Mean, `d` values.
    pub mean: Vec<f64>,
    /// Covariance (divided by `n − 1`, as NumPy's `cov`), `d·d` values, row-major.
    pub cov: Vec<f64>,
}

impl Moments {
    /// The mean and covariance of the rows of `x` (`n·d` values, row after row).
    pub fn of(x: &[f32], d: usize) -> Moments {
        assert!(
            d > 0 && x.len().is_multiple_of(d),
            "moments: {} values are not rows of {d}",
            x.len()
        );
        let n = x.len() / d;
        let mut mean = vec![0.0f64; d];
        for row in x.chunks_exact(d) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        for m in &mut mean {
            *m /= n.max(1) as f64;
        }
        let mut cov = vec![0.0f64; d * d];
        let mut centred = vec![0.0f64; d];
        for row in x.chunks_exact(d) {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = v as f64 - m;
            }
            // Upper triangle only; mirrored below.
            for i in 0..d {
                let ci = centred[i];
                for j in i..d {
                    cov[i * d + j] += ci * centred[j];
                }
            }
        }
        let denominator = n.saturating_sub(1).max(1) as f64;
        for i in 0..d {
            for j in i..d {
                let v = cov[i * d + j] / denominator;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        Moments { d, mean, cov }
    }
}

/// The eigenvalues and eigenvectors of the symmetric `d×d` matrix `a` (row-major), by cyclic
/// Jacobi rotations: each rotation zeroes one off-diagonal pair, sweeps over all pairs repeat
/// until the off-diagonal mass is negligible. Returns `(λ, V)` with `A = V·diag(λ)·Vᵀ`, the
/// eigenvectors the columns of `V` (row-major, `d·d`), in no particular order.
///
/// ```
/// use tp_runner::instruments::frechet::symmetric_eigen;
/// // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
/// let (mut l, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
/// l.sort_by(f64::total_cmp);
/// assert!((l[0] - 1.0).abs() < 1e-12 && (l[1] - 3.0).abs() < 1e-12);
/// ```
pub fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(
        a.len(),
        d * d,
        "symmetric_eigen: {} values for {d}×{d}",
        a.len()
    );
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation by θ in the (p, q) plane that zeroes a[p,q]:
                // cot 2θ = (a_qq − a_pp) / (2·a_pq), t = tan θ the smaller root of
                // t² + 2·t·cot 2θ − 1 = 0 (Golub & Van Loan, §8.5).
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← Jᵀ·A·J: columns p and q, then rows p and q.
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                // V ← V·J.
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// The symmetric square root of the symmetric positive semi-definite `a` (`d×d`):
/// `V·diag(√λ)·Vᵀ`, eigenvalues below zero (rounding) taken as zero.
pub fn sqrt_psd(a: &[f64], d: usize) -> Vec<f64> {
    let (l, v) = symmetric_eigen(a, d);
    let root: Vec<f64> = l.iter().map(|&x| x.max(0.0).sqrt()).collect();
    let mut out = vec![0.0f64; d * d];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = (0..d).map(|k| v[i * d + k] * root[k] * v[j * d + k]).sum();
        }
    }
    out
}

/// `a·b` for `d×d` matrices.
fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                out[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    out
}

/// The Fréchet distance between the Gaussians `x` and `y` (module documentation).
///
/// `Tr((C₁^{1/2}·C₂·C₁^{1/2})^{1/2})` is the sum of the square roots of the eigenvalues of
/// the symmetric `M = C₁^{1/2}·C₂·C₁^{1/2}`, so only `M`'s eigenvalues are needed.
///
/// NaN when either set's moments are not finite (a diverged model's features): a clamp
/// further down would otherwise turn NaN into a perfect 0.
pub fn frechet_distance(x: &Moments, y: &Moments) -> f64 {
    assert_eq!(x.d, y.d, "frechet_distance: dimensions {} and {}", x.d, y.d);
    let finite = |m: &Moments| m.mean.iter().chain(&m.cov).all(|v| v.is_finite());
    if !finite(x) || !finite(y) {
        return f64::NAN;
    }
    let d = x.d;
    let mean_term: f64 = x
        .mean
        .iter()
        .zip(&y.mean)
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let trace = |c: &[f64]| (0..d).map(|i| c[i * d + i]).sum::<f64>();
    let root = sqrt_psd(&x.cov, d);
    let mut m = matmul(&matmul(&root, &y.cov, d), &root, d);
    // Symmetric in exact arithmetic; made so exactly for the Jacobi rotations.
    for i in 0..d {
        for j in i + 1..d {
            let s = 0.5 * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = s;
            m[j * d + i] = s;
        }
    }
    let (l, _) = symmetric_eigen(&m, d);
    let cross: f64 = l.iter().map(|&v| v.max(0.0).sqrt()).sum();
    let fd = mean_term + trace(&x.cov) + trace(&y.cov) - 2.0 * cross;
    // Rounding may leave a tiny negative value for identical Gaussians.
    if fd.is_nan() { fd } else { fd.max(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_moments_give_nan_not_zero() {
        let good = Moments {
            d: 1,
            mean: vec![0.0],
            cov: vec![1.0],
        };
        let bad = Moments {
            d: 1,
            mean: vec![f64::NAN],
            cov: vec![1.0],
        };
        assert!(frechet_distance(&good, &bad).is_nan());
        assert_eq!(frechet_distance(&good, &good), 0.0);
    }
    use tensor::{Tensor, rng};

    fn close(a: f64, b: f64, tol: f64) {
        assert!(
            (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs())),
            "{a} against {b}"
        );
    }

    /// A random rotation of dimension `d`: the eigenvectors of a random symmetric matrix.
    fn rotation(d: usize, seed: u64) -> Vec<f64> {
        let r = Tensor::normal(&[d, d], 0.0, 1.0, &mut rng(seed));
        let r = r.data();
        let sym: Vec<f64> = (0..d * d)
            .map(|k| (r[k] + r[(k % d) * d + k / d]) as f64)
            .collect();
        symmetric_eigen(&sym, d).1
    }

    fn transpose(a: &[f64], d: usize) -> Vec<f64> {
        (0..d * d).map(|k| a[(k % d) * d + k / d]).collect()
    }

    fn diagonal(values: &[f64]) -> Vec<f64> {
        let d = values.len();
        let mut out = vec![0.0; d * d];
        for (i, v) in values.iter().enumerate() {
            out[i * d + i] = *v;
        }
        out
    }

    #[test]
    fn jacobi_reconstructs_a_random_symmetric_matrix() {
        let d = 12;
        let q = rotation(d, 1);
        // QᵀQ = I.
        let qtq = matmul(&transpose(&q, d), &q, d);
        for i in 0..d {
            for j in 0..d {
                close(qtq[i * d + j], f64::from(u8::from(i == j)), 1e-12);
            }
        }
        // A = Q·diag(λ)·Qᵀ gives back λ and A.
        let lambda: Vec<f64> = (0..d).map(|i| i as f64 - 3.5).collect();
        let a = matmul(&matmul(&q, &diagonal(&lambda), d), &transpose(&q, d), d);
        let (mut l, v) = symmetric_eigen(&a, d);
        let back = matmul(&matmul(&v, &diagonal(&l), d), &transpose(&v, d), d);
        for (x, y) in back.iter().zip(&a) {
            close(*x, *y, 1e-10);
        }
        l.sort_by(f64::total_cmp);
        for (x, y) in l.iter().zip(&lambda) {
            close(*x, *y, 1e-10);
        }
    }

    #[test]
    fn the_square_root_squares_back() {
        let d = 8;
        let q = rotation(d, 2);
        let a = matmul(
            &matmul(&q, &diagonal(&[4.0, 1.0, 0.25, 9.0, 0.0, 2.0, 3.0, 0.5]), d),
            &transpose(&q, d),
            d,
        );
        let root = sqrt_psd(&a, d);
        for (x, y) in matmul(&root, &root, d).iter().zip(&a) {
            close(*x, *y, 1e-10);
        }
    }

    #[test]
    fn the_distance_of_diagonal_gaussians_has_a_closed_form() {
        // Σ (μ diff)² + Σ (√a − √b)² = (1 + 4 + 0) + ((2 − 1)² + (3 − 1)² + (0.5 − 0.5)²) = 10.
        let x = Moments {
            d: 3,
            mean: vec![1.0, 2.0, 3.0],
            cov: diagonal(&[4.0, 9.0, 0.25]),
        };
        let y = Moments {
            d: 3,
            mean: vec![0.0, 0.0, 3.0],
            cov: diagonal(&[1.0, 1.0, 0.25]),
        };
        close(frechet_distance(&x, &y), 10.0, 1e-12);
        close(frechet_distance(&y, &x), 10.0, 1e-12);
        close(frechet_distance(&x, &x), 0.0, 1e-12);
    }

    #[test]
    fn the_distance_is_unchanged_by_rotating_both_gaussians() {
        // Rotating both Gaussians by the same Q (μ → Qμ, C → Q·C·Qᵀ) keeps the distance; the
        // covariances are then full, not diagonal, and the closed form still holds.
        let d = 6;
        let q = rotation(d, 3);
        let (a, b) = (
            [1.0, 2.0, 0.5, 3.0, 0.1, 1.5],
            [0.3, 2.0, 1.0, 1.0, 0.4, 6.0],
        );
        let (ma, mb) = (
            [0.0, 1.0, -1.0, 2.0, 0.5, 0.0],
            [1.0, 1.0, 0.0, 0.0, 0.5, -2.0],
        );
        let expected: f64 = ma
            .iter()
            .zip(&mb)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            + a.iter()
                .zip(&b)
                .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
                .sum::<f64>();
        let rotate = |mean: &[f64], var: &[f64]| Moments {
            d,
            mean: (0..d)
                .map(|i| (0..d).map(|k| q[i * d + k] * mean[k]).sum())
                .collect(),
            cov: matmul(&matmul(&q, &diagonal(var), d), &transpose(&q, d), d),
        };
        let (x, y) = (rotate(&ma, &a), rotate(&mb, &b));
        close(frechet_distance(&x, &y), expected, 1e-9);
        close(frechet_distance(&y, &x), expected, 1e-9);
    }

    #[test]
    fn moments_are_the_mean_and_the_unbiased_covariance() {
        // Rows (0, 0), (2, 2), (4, −2): mean (2, 0); deviations (−2, 0), (0, 2), (2, −2);
        // covariance [[8, −4], [−4, 8]] / 2.
        let m = Moments::of(&[0.0, 0.0, 2.0, 2.0, 4.0, -2.0], 2);
        assert_eq!(m.mean, vec![2.0, 0.0]);
        assert_eq!(m.cov, vec![4.0, -2.0, -2.0, 4.0]);
        // Two samples of the same distribution are close, two different ones are not.
        let a = Tensor::normal(&[4_000, 3], 0.0, 1.0, &mut rng(5));
        let b = Tensor::normal(&[4_000, 3], 0.0, 1.0, &mut rng(6));
        let c = Tensor::normal(&[4_000, 3], 1.0, 2.0, &mut rng(7));
        let (a, b, c) = (
            Moments::of(a.data(), 3),
            Moments::of(b.data(), 3),
            Moments::of(c.data(), 3),
        );
        assert!(
            frechet_distance(&a, &b) < 0.02,
            "{}",
            frechet_distance(&a, &b)
        );
        // Expected 3·1² + 3·(√4 − 1)² = 6.
        close(frechet_distance(&a, &c), 6.0, 0.05);
    }
}
