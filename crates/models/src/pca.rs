//! Principal component analysis, the linear baseline every autoencoder is measured against:
//! the `K` directions of largest variance of the training images, computed by the engine.
//!
//! - The covariance `C = (X − μ)ᵀ(X − μ) / (n − 1)` is one GEMM on the engine's kernels.
//! - Its top eigenvectors come from orthogonal (block power) iteration: `V ← orth(C·V)`,
//!   with a block a few columns wider than `K` so the last wanted ones converge too, then a
//!   Rayleigh–Ritz step (the small matrix `VᵀCV` diagonalized by [`symmetric_eigen`], cyclic
//!   Jacobi) to order and separate them.
//! - Encoding is `z = (x − μ)·Vᵀ`, decoding `x̂ = z·V + μ`. With `K` components the mean
//!   squared reconstruction error per value, on the data PCA was fitted to, is the sum of the
//!   discarded eigenvalues divided by the dimension: no linear map through `K` numbers does
//!   better (Eckart–Young).

use tensor::{Tensor, Transpose, rng};

/// A fitted PCA: the mean and the leading components.
#[derive(Clone, Debug)]
pub struct Pca {
    /// The data's mean, `[d]`.
    pub mean: Tensor,
    /// The components as orthonormal rows, `[K, d]`, by decreasing variance.
    pub components: Tensor,
    /// The variance along each component (the covariance's eigenvalues), decreasing.
    pub variances: Vec<f64>,
}

/// Sweeps of the block power iteration (each a GEMM with the covariance and an
/// orthonormalisation); enough for the lab's shapes, checked by the tests.
pub const ITERATIONS: usize = 150;

/// Extra columns carried by the block so that its last wanted columns converge.
pub const OVERSAMPLE: usize = 8;

impl Pca {
    /// The `k` leading components of `data`, `[n, d]` (one sample per row).
    pub fn fit(data: &Tensor, k: usize) -> Pca {
        let [n, d] = data.shape() else {
            panic!("Pca::fit: data must be [n, d], got {:?}", data.shape())
        };
        let (n, d) = (*n, *d);
        assert!(
            k >= 1 && k <= d && n >= 2,
            "Pca::fit: need 1 ≤ k ≤ d and two samples"
        );
        let mean = data.mean_axes(&[0], false);
        let centered = data.sub(&mean);
        let mut cov =
            tensor::ops::matmul::matmul(&centered, &centered, Transpose { a: true, b: false });
        cov = cov.mul_scalar(1.0 / (n - 1) as f32);
        let block = (k + OVERSAMPLE).min(d);
        // V: [d, block], random start, orthonormal columns.
        let mut v = orthonormal_columns(
            Tensor::uniform(&[d, block], -1.0, 1.0, &mut rng(0)).data(),
            d,
            block,
        );
        for _ in 0..ITERATIONS {
            let cv = cov.matmul(&v);
            v = orthonormal_columns(cv.data(), d, block);
        }
        // Rayleigh–Ritz: T = VᵀCV, T = QΛQᵀ, components = (VQ)ᵀ.
        let cv = cov.matmul(&v);
        let t = tensor::ops::matmul::matmul(&v, &cv, Transpose { a: true, b: false });
        let t64: Vec<f64> = t.data().iter().map(|&x| x as f64).collect();
        let (values, q) = symmetric_eigen(&t64, block);
        let mut components = vec![0.0f32; k * d];
        for c in 0..k {
            for i in 0..d {
                let s: f64 = (0..block)
                    .map(|j| v.data()[i * block + j] as f64 * q[j * block + c])
                    .sum();
                components[c * d + i] = s as f32;
            }
        }
        Pca {
            mean,
            components: Tensor::from_vec(&[k, d], components),
            variances: values[..k].to_vec(),
        }
    }

    /// The number of components.
    pub fn k(&self) -> usize {
        self.components.shape()[0]
    }

    /// The same PCA with only its first `k` components.
    pub fn truncate(&self, k: usize) -> Pca {
        let d = self.mean.numel();
        assert!(
            k >= 1 && k <= self.k(),
            "Pca::truncate: {k} of {} components",
            self.k()
        );
        Pca {
            mean: self.mean.clone(),
            components: Tensor::from_vec(&[k, d], self.components.data()[..k * d].to_vec()),
            variances: self.variances[..k].to_vec(),
        }
    }

    /// Codes `z = (x − μ)·Vᵀ` of `x`, `[n, d]` → `[n, K]`.
    pub fn encode(&self, x: &Tensor) -> Tensor {
        let centered = x.sub(&self.mean);
        tensor::ops::matmul::matmul(&centered, &self.components, Transpose { a: false, b: true })
    }

    /// Reconstructions `x̂ = z·V + μ`, `[n, K]` → `[n, d]`.
    pub fn decode(&self, z: &Tensor) -> Tensor {
        z.matmul(&self.components).add(&self.mean)
    }
}

/// The columns of the row-major `rows×cols` matrix `m`, orthonormalised in order by modified
/// Gram–Schmidt in f64 (a column that vanishes is replaced by a unit vector orthogonal to the
/// previous ones, so the result always has full rank).
fn orthonormal_columns(m: &[f32], rows: usize, cols: usize) -> Tensor {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(cols);
    for c in 0..cols {
        let mut v: Vec<f64> = (0..rows).map(|r| m[r * cols + c] as f64).collect();
        // A column that vanishes is replaced by the next basis vector that survives: some
        // basis vector always does while fewer than `rows` columns are done.
        for pass in 0..=rows {
            for u in &q {
                let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, a)| *x -= dot * a);
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 1e-6 {
                v.iter_mut().for_each(|x| *x /= norm);
                break;
            }
            v = (0..rows)
                .map(|r| f64::from(r == (c + pass) % rows))
                .collect();
        }
        q.push(v);
    }
    let mut out = vec![0.0f32; rows * cols];
    for (c, col) in q.iter().enumerate() {
        for (r, &x) in col.iter().enumerate() {
            out[r * cols + c] = x as f32;
        }
    }
    Tensor::from_vec(&[rows, cols], out)
}

/// Eigenvalues (decreasing) and eigenvectors of the symmetric row-major `n×n` matrix `a`, by
/// cyclic Jacobi rotations: each rotation zeroes one off-diagonal pair, and sweeps repeat
/// until the off-diagonal mass is negligible. The eigenvectors are the columns of the
/// returned row-major `n×n` matrix, in the order of the values.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(
        a.len(),
        n * n,
        "symmetric_eigen: {} values for {n}×{n}",
        a.len()
    );
    let mut m = a.to_vec();
    let mut v: Vec<f64> = (0..n * n).map(|i| f64::from(i / n == i % n)).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // The rotation angle that zeroes m[p][q] (Golub & Van Loan, 8.5.2).
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (c, &i) in order.iter().enumerate() {
        for r in 0..n {
            vectors[r * n + c] = v[r * n + i];
        }
    }
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_by_hand() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 1.0).abs() < 1e-12);
        let h = 0.5f64.sqrt();
        assert!((vectors[0].abs() - h).abs() < 1e-12 && (vectors[2].abs() - h).abs() < 1e-12);
        assert!((vectors[0] * vectors[2]) > 0.0, "first vector along (1, 1)");
        assert!((vectors[1] * vectors[3]) < 0.0, "second along (1, −1)");
    }

    #[test]
    fn jacobi_diagonalizes_a_random_symmetric_matrix() {
        let n = 12;
        let r = Tensor::uniform(&[n, n], -1.0, 1.0, &mut rng(3));
        let a: Vec<f64> = (0..n * n)
            .map(|i| (r.data()[i] + r.data()[(i % n) * n + i / n]) as f64)
            .collect();
        let (values, v) = symmetric_eigen(&a, n);
        // A·v_c = λ_c·v_c for every column, and the values decrease.
        for c in 0..n {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * v[j * n + c]).sum();
                assert!((av - values[c] * v[i * n + c]).abs() < 1e-9);
            }
        }
        assert!(values.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn components_of_data_stretched_along_known_axes() {
        // 2,000 points in 5-D with standard deviations 5, 3, 1, 0.5, 0.1 along the axes:
        // the components are the axes in that order, the variances their squares.
        let stds = [5.0f32, 3.0, 1.0, 0.5, 0.1];
        let mut x = Tensor::normal(&[2000, 5], 0.0, 1.0, &mut rng(1));
        for (i, v) in x.data_mut().iter_mut().enumerate() {
            *v *= stds[i % 5];
        }
        let pca = Pca::fit(&x, 3);
        for (c, &s) in stds.iter().take(3).enumerate() {
            let row = &pca.components.data()[c * 5..(c + 1) * 5];
            assert!(row[c].abs() > 0.99, "component {c}: {row:?}");
            let var = pca.variances[c];
            assert!(
                (var / (s * s) as f64 - 1.0).abs() < 0.1,
                "variance {c}: {var}"
            );
        }
        // Orthonormal rows.
        let g = tensor::ops::matmul::matmul(
            &pca.components,
            &pca.components,
            Transpose { a: false, b: true },
        );
        assert!(g.max_abs_diff(&Tensor::eye(3)) < 1e-5);
    }

    #[test]
    fn reconstruction_error_is_the_discarded_variance_and_falls_with_k() {
        let mut x = Tensor::normal(&[500, 10], 0.0, 1.0, &mut rng(2));
        for (i, v) in x.data_mut().iter_mut().enumerate() {
            *v *= 1.0 + (i % 10) as f32;
        }
        let full = Pca::fit(&x, 10);
        let total: f64 = full.variances.iter().sum();
        let mut last = f64::INFINITY;
        for k in 1..=9 {
            let pca = full.truncate(k);
            let y = pca.decode(&pca.encode(&x));
            let mse = y.sub(&x).square().mean_all().item() as f64;
            // Per value, on the fitted data: Σ_{j>k} λ_j · (n − 1)/n / d.
            let discarded: f64 = total - full.variances[..k].iter().sum::<f64>();
            let want = discarded * 499.0 / 500.0 / 10.0;
            assert!(
                (mse - want).abs() < 1e-3 * want.max(1e-3),
                "k {k}: {mse} vs {want}"
            );
            assert!(mse <= last, "k {k}: the error must not grow");
            last = mse;
        }
    }
}
