//! `C[m×n] = A[m×k]·Bᵀ + beta·C` where A and B (`n×k`) both run along k: every element of C
//! is a dot product of two contiguous rows. A weight gradient has this form
//! (`dW = dY·colsᵀ`: a row of `dY` and a row of the im2col matrix, both over the pixels).
//!
//! The packed nest ([`super::gemm`]) must transpose both operands for it (8×8 register
//! transposes, [`super::pack`]), and when `m` or `n` is small (a layer with 8 or 16 output
//! channels, a 1-channel image's 9 taps) that packing costs about as much as the product:
//! `16×980 · (9×980)ᵀ` ran at 29–32 GFLOP/s there. Here nothing is packed: a register block of
//! `DOT_ROWS×DOT_COLS` dot products advances along k one vector at a time, each vector load
//! shared by the block's other rows or columns, and each lane-wise sum is reduced at the end.
//! One Zen 4 thread, this kernel against the packed nest, two runs of
//! `gemm_gflops [--dot] 16x980x9tb 8x3136x144tb 8x980x72tb 32x980x144tb`: `16×980·9` 66–70
//! against 29–32 GFLOP/s, `8×3136·144` 76–82 against 40–47, `8×980·72` 90 against 43–46; but
//! `32×980·144` 72–91 against 75–84, a tie, which is why [`prefers_dot`] asks for a small side.
//!
//! **Order of the sums**, the same for any thread count: lane `l` of a dot product's vector sum
//! holds the products at `k ≡ l (mod LANES)` for the whole vectors, added in k order by FMAs;
//! the lanes are then summed as a tree (lane `l` += lane `l + LANES/2`, halving), and the last
//! `k mod LANES` products are added in order. [`dot_scalar`] is that order written out, and
//! the tests check the two give the same bits.

use crate::par::prelude::*;

use super::simd::{Lanes, Simd};
use crate::Parallelism;

/// Rows of A per register block.
pub const DOT_ROWS: usize = 4;
/// Rows of B (columns of C) per register block. 4×4 was the fastest block in a prototype of
/// this loop (4×6, 6×4, 3×8, 8×3 and 2×8 were 25–45 % slower there: more accumulators than
/// registers).
pub const DOT_COLS: usize = 4;

/// Whether [`gemm_nt_dot`] beats the packed nest for a product with an `m×n` output: when one
/// side is at most 16 (see the module's measurements).
pub fn prefers_dot(m: usize, n: usize) -> bool {
    m.min(n) <= 16
}

/// `C = A·Bᵀ + beta·C` with `a`: `m×k` (row `i` at `a[i·lda..][..k]`), `b`: `n×k` (row `j` at
/// `b[j·ldb..][..k]`), `c`: `m×n` row-major. `beta == 0` never reads C. With
/// [`Parallelism::Rayon`], blocks of rows of C go to different threads; each element is
/// computed by one thread in the fixed order of the module doc.
#[allow(clippy::too_many_arguments)] // the BLAS argument list: shapes, strides, beta
pub fn gemm_nt_dot(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    par: Parallelism,
) {
    assert!(
        c.len() >= m * n,
        "gemm_nt_dot: C has {} < {} values",
        c.len(),
        m * n
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        k == 0 || (a.len() >= (m - 1) * lda + k && b.len() >= (n - 1) * ldb + k),
        "gemm_nt_dot: A or B too short for {m}×{k} · ({n}×{k})ᵀ"
    );
    let row_block = |(block, c_rows): (usize, &mut [f32])| {
        let i0 = block * DOT_ROWS;
        let rows = c_rows.len() / n;
        let mut j0 = 0;
        while j0 < n {
            let cols = (n - j0).min(DOT_COLS);
            let a = &a[i0 * lda..];
            let b = &b[j0 * ldb..];
            let mut sums = [[0.0f32; DOT_COLS]; DOT_ROWS];
            match (rows, cols) {
                (DOT_ROWS, DOT_COLS) => {
                    dot_block::<DOT_ROWS, DOT_COLS>(k, a, lda, b, ldb, &mut sums)
                }
                _ => {
                    // A ragged edge: one dot product at a time, in the same order.
                    for (i, row) in sums.iter_mut().enumerate().take(rows) {
                        for (j, sum) in row.iter_mut().enumerate().take(cols) {
                            let mut one = [[0.0f32; DOT_COLS]; DOT_ROWS];
                            dot_block::<1, 1>(k, &a[i * lda..], lda, &b[j * ldb..], ldb, &mut one);
                            *sum = one[0][0];
                        }
                    }
                }
            }
            for (i, row) in sums.iter().enumerate().take(rows) {
                for (j, &sum) in row.iter().enumerate().take(cols) {
                    let out = &mut c_rows[i * n + j0 + j];
                    *out = if beta == 0.0 { sum } else { beta * *out + sum };
                }
            }
            j0 += cols;
        }
    };
    let c = &mut c[..m * n];
    let parallel = par == Parallelism::Rayon && 2 * m * n * k >= super::PAR_MIN_FLOPS;
    if parallel {
        c.par_chunks_mut(DOT_ROWS * n)
            .enumerate()
            .for_each(row_block);
    } else {
        c.chunks_mut(DOT_ROWS * n).enumerate().for_each(row_block);
    }
}

/// `sums[i][j] = Σ_p a[i·lda + p]·b[j·ldb + p]` for `i < R`, `j < C`, in the module's order.
#[inline(always)]
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror acc[i][j] in the math"
)]
fn dot_block<const R: usize, const C: usize>(
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    sums: &mut [[f32; DOT_COLS]; DOT_ROWS],
) {
    let lanes = Lanes::LANES;
    let whole = k / lanes * lanes;
    if k > 0 {
        // Once, so the loads below need no bounds checks.
        assert!(a.len() >= (R - 1) * lda + k && b.len() >= (C - 1) * ldb + k);
    }
    let mut acc = [[Lanes::ZERO; C]; R];
    let mut p = 0;
    while p < whole {
        // SAFETY: p + LANES ≤ k, and rows R-1 of A and C-1 of B reach k (checked above).
        let bv: [Lanes; C] =
            std::array::from_fn(|j| unsafe { Lanes::load_unaligned(b.as_ptr().add(j * ldb + p)) });
        for i in 0..R {
            let av = unsafe { Lanes::load_unaligned(a.as_ptr().add(i * lda + p)) };
            for j in 0..C {
                acc[i][j] = av.mul_add(bv[j], acc[i][j]);
            }
        }
        p += lanes;
    }
    for i in 0..R {
        for j in 0..C {
            let mut lane_sums = [0.0f32; 16];
            acc[i][j].store(&mut lane_sums);
            let mut sum = tree_sum(&mut lane_sums[..lanes]);
            for q in whole..k {
                sum = a[i * lda + q].mul_add(b[j * ldb + q], sum);
            }
            sums[i][j] = sum;
        }
    }
}

/// `lanes[0] + … + lanes[len−1]` as a tree: `lanes[l] += lanes[l + half]`, halving, so that the
/// scalar twin and the vector code add in the same order. `len` is a power of two.
fn tree_sum(lanes: &mut [f32]) -> f32 {
    let mut half = lanes.len() / 2;
    while half > 0 {
        for l in 0..half {
            lanes[l] += lanes[l + half];
        }
        half /= 2;
    }
    lanes[0]
}

/// One dot product in the order of [`gemm_nt_dot`], in scalars with `lanes` lanes: the oracle
/// its tests compare bits with.
pub fn dot_scalar(a: &[f32], b: &[f32], lanes: usize) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_scalar: lengths differ");
    let whole = a.len() / lanes * lanes;
    let mut acc = vec![0.0f32; lanes];
    for p in (0..whole).step_by(lanes) {
        for l in 0..lanes {
            acc[l] = a[p + l].mul_add(b[p + l], acc[l]);
        }
    }
    let mut sum = tree_sum(&mut acc);
    for q in whole..a.len() {
        sum = a[q].mul_add(b[q], sum);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::random_tensor;
    use crate::kernels::gemm::{MatRef, reference};

    #[test]
    fn every_element_is_the_scalar_dot_product_bit_for_bit() {
        // Shapes with ragged blocks on both sides, k below, at and above a vector, odd strides.
        // The last is large enough to be split over threads (2·m·n·k ≥ PAR_MIN_FLOPS).
        for (m, n, k, pad) in [
            (1, 1, 1, 0),
            (5, 7, 33, 3),
            (16, 9, 980, 0),
            (4, 4, 16, 1),
            (9, 3, 0, 0),
            (37, 29, 1001, 2),
        ] {
            let (lda, ldb) = (k + pad, k + 2 * pad);
            let a = random_tensor(&[m * lda + 1], 1);
            let b = random_tensor(&[n * ldb + 1], 2);
            for par in [Parallelism::Sequential, Parallelism::Rayon] {
                let mut c = vec![f32::NAN; m * n];
                gemm_nt_dot(m, n, k, a.data(), lda, b.data(), ldb, 0.0, &mut c, par);
                for i in 0..m {
                    for j in 0..n {
                        let want = dot_scalar(
                            &a.data()[i * lda..][..k],
                            &b.data()[j * ldb..][..k],
                            Lanes::LANES,
                        );
                        assert_eq!(
                            c[i * n + j].to_bits(),
                            want.to_bits(),
                            "{m}×{n}×{k} ({i}, {j})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_reference_gemm_and_adds_with_beta_one() {
        let (m, n, k) = (13, 6, 300);
        let a = random_tensor(&[m, k], 3);
        let b = random_tensor(&[n, k], 4);
        let start = random_tensor(&[m, n], 5);
        let mut want = start.data().to_vec();
        let a_ref = MatRef::row_major(a.data(), m, k);
        let b_ref = MatRef::row_major(b.data(), n, k).t();
        reference::gemm(a_ref, b_ref, 1.0, &mut want);
        let mut got = start.data().to_vec();
        gemm_nt_dot(
            m,
            n,
            k,
            a.data(),
            k,
            b.data(),
            k,
            1.0,
            &mut got,
            Parallelism::Rayon,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }

    #[test]
    fn the_tree_adds_halves() {
        // Halves of 8 lanes: [1+5, 2+6, 3+7, 4+8] = [6, 8, 10, 12], then [6+10, 8+12] =
        // [16, 20], then 16+20 = 36; each step leaves its sums in the low lanes.
        let mut lanes = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        assert_eq!(tree_sum(&mut lanes), 36.0);
        assert_eq!(lanes[..4], [36.0, 20.0, 10.0, 12.0]);
    }
}
