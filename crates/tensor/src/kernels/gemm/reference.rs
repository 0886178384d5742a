//! The reference GEMM: the textbook triple loop, kept forever as the oracle for the fast kernel.
//!
//! `C[i,j] = Σ_p A[i,p]·B[p,j] + beta·C[i,j]`, one dot product per output element. The sum is
//! accumulated in f64, so its rounding error is far below the f32 kernel's and the tests can
//! treat it as exact.

use super::{MatRef, check_shapes};

/// `C[m×n] = A[m×k]·B[k×n] + beta·C`, C row-major with row stride `n`; `beta == 0` never reads C.
///
/// Same contract as [`super::gemm`], without blocking, SIMD or threads.
pub fn gemm(a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    check_shapes(&a, &b, c);
    let (m, k, n) = (a.rows, a.cols, b.cols);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                acc += f64::from(a.at(i, p)) * f64::from(b.at(p, j));
            }
            // beta == 0 overwrites C without reading it, so NaN in a fresh buffer cannot leak in.
            let old = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c[i * n + j])
            };
            c[i * n + j] = (acc + old) as f32;
        }
    }
}
