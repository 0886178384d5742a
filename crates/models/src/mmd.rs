//! The maximum mean discrepancy as a loss: how far a batch of codes is from a sample of the
//! prior, differentiable in the codes (the penalty of the Wasserstein autoencoder, Tolstikhin
//! et al. 2018, section 3, with their inverse multiquadric kernel).
//!
//! `MMD² = mean_{i≠j} k(aᵢ, aⱼ) + mean_{i≠j} k(bᵢ, bⱼ) − 2·mean_{i,j} k(aᵢ, bⱼ)`, unbiased,
//! with `k(x, y) = C / (C + ‖x − y‖²)` and `C = 2·dim` (the expected `‖x − y‖²` of two
//! `N(0, I)` draws). Its tails are heavy, so far-apart codes still get a gradient, where a
//! Gaussian kernel's would vanish. Built from the tape's ops (products for the distances,
//! broadcasting for the kernel), so the autodiff gives its gradient.

use tensor::{Tape, Tensor, Transpose, Var};

/// `k(aᵢ, bⱼ)` for every pair: `[n, m]` for `a [n, d]`, `b [m, d]`.
fn imq_kernel(t: &mut Tape, a: Var, b: Var, c: f32) -> Var {
    let (n, m) = (t.value(a).shape()[0], t.value(b).shape()[0]);
    let square_norms = |t: &mut Tape, x: Var| {
        let squares = t.square(x);
        t.sum(squares, &[1], true)
    };
    let a2 = square_norms(t, a);
    let b2 = square_norms(t, b);
    let b2 = t.reshape(b2, &[1, m]);
    let ab = t.matmul_t(a, b, Transpose { a: false, b: true });
    let cross = t.mul_scalar(ab, -2.0);
    let d2 = t.add(a2, b2);
    let d2 = t.add(d2, cross);
    debug_assert_eq!(t.value(d2).shape(), &[n, m]);
    // C / (C + d²), with d² kept ≥ 0 against the rounding of the expansion.
    let d2 = t.clamp(d2, 0.0, f32::INFINITY);
    let denominator = t.add_scalar(d2, c);
    let inverse = t.powi(denominator, -1);
    t.mul_scalar(inverse, c)
}

/// The mean of `k` over its off-diagonal entries (`k` square, `[n, n]`, `n ≥ 2`).
fn off_diagonal_mean(t: &mut Tape, k: Var) -> Var {
    let n = t.value(k).shape()[0];
    let mask = (0..n * n)
        .map(|i| if i / n == i % n { 0.0 } else { 1.0 })
        .collect();
    let mask = Tensor::from_vec(&[n, n], mask);
    let mask = t.constant(mask);
    let off = t.mul(k, mask);
    let total = t.sum_all(off);
    t.mul_scalar(total, 1.0 / (n * (n - 1)) as f32)
}

/// The unbiased MMD² between the rows of `a [n, d]` and of `b [m, d]` under the inverse
/// multiquadric kernel with `C = 2d` (see the module's doc); a scalar. Both samples need two
/// rows at least.
pub fn imq_mmd2(t: &mut Tape, a: Var, b: Var) -> Var {
    let (sa, sb) = (t.value(a).shape().to_vec(), t.value(b).shape().to_vec());
    assert!(
        sa.len() == 2 && sb.len() == 2 && sa[1] == sb[1] && sa[0] >= 2 && sb[0] >= 2,
        "imq_mmd2: two samples of at least two rows of one size, got {sa:?} and {sb:?}"
    );
    let c = 2.0 * sa[1] as f32;
    let kaa = imq_kernel(t, a, a, c);
    let kbb = imq_kernel(t, b, b, c);
    let kab = imq_kernel(t, a, b, c);
    let within_a = off_diagonal_mean(t, kaa);
    let within_b = off_diagonal_mean(t, kbb);
    let across = t.mean_all(kab);
    let across = t.mul_scalar(across, -2.0);
    let within = t.add(within_a, within_b);
    t.add(within, across)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor::gradcheck::{check_gradients, random_tensor};
    use tensor::rng;

    /// The definition, summed pair by pair in f64.
    fn by_loops(a: &[f32], b: &[f32], d: usize) -> f64 {
        let c = 2.0 * d as f64;
        let k = |x: &[f32], y: &[f32]| {
            let d2: f64 = x
                .iter()
                .zip(y)
                .map(|(&p, &q)| (p as f64 - q as f64).powi(2))
                .sum();
            c / (c + d2)
        };
        let rows = |s: &[f32]| s.chunks(d).map(<[f32]>::to_vec).collect::<Vec<_>>();
        let (a, b) = (rows(a), rows(b));
        let within = |s: &[Vec<f32>]| {
            let mut total = 0.0;
            for (i, x) in s.iter().enumerate() {
                for (j, y) in s.iter().enumerate() {
                    if i != j {
                        total += k(x, y);
                    }
                }
            }
            total / (s.len() * (s.len() - 1)) as f64
        };
        let across: f64 = a.iter().flat_map(|x| b.iter().map(|y| k(x, y))).sum();
        within(&a) + within(&b) - 2.0 * across / (a.len() * b.len()) as f64
    }

    fn value(a: &Tensor, b: &Tensor) -> f32 {
        let mut t = Tape::new();
        let (va, vb) = (t.constant(a.clone()), t.constant(b.clone()));
        let m = imq_mmd2(&mut t, va, vb);
        t.value(m).item()
    }

    /// By hand: one-dimensional samples {0, 1} and {0, 3}, C = 2: within a, k(0, 1) = 2/3;
    /// within b, k(0, 3) = 2/11; across, (1 + 2/11 + 2/3 + 2/6)/4; MMD² = 2/3 + 2/11 −
    /// (1 + 2/11 + 2/3 + 1/3)/2.
    #[test]
    fn a_case_by_hand_and_the_definition_by_loops() {
        let a = Tensor::from_vec(&[2, 1], vec![0.0, 1.0]);
        let b = Tensor::from_vec(&[2, 1], vec![0.0, 3.0]);
        let hand = 2.0 / 3.0 + 2.0 / 11.0 - (1.0 + 2.0 / 11.0 + 2.0 / 3.0 + 1.0 / 3.0) / 2.0;
        assert!(
            (value(&a, &b) as f64 - hand).abs() < 1e-6,
            "{}",
            value(&a, &b)
        );
        let a = random_tensor(&[7, 3], 1);
        let b = random_tensor(&[5, 3], 2).map(|v| 2.0 * v + 0.5);
        let loops = by_loops(a.data(), b.data(), 3);
        assert!(
            (value(&a, &b) as f64 - loops).abs() < 1e-5,
            "{} against {loops}",
            value(&a, &b)
        );
    }

    /// Near 0 for two samples of one distribution, large for two far apart.
    #[test]
    fn small_for_one_distribution_large_for_two() {
        let mut r = rng(3);
        let a = Tensor::normal(&[200, 4], 0.0, 1.0, &mut r);
        let b = Tensor::normal(&[200, 4], 0.0, 1.0, &mut r);
        let far = Tensor::normal(&[200, 4], 3.0, 1.0, &mut r);
        let (same, apart) = (value(&a, &b), value(&a, &far));
        assert!(same.abs() < 0.02, "{same}");
        assert!(apart > 0.3, "{apart}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let a = random_tensor(&[4, 3], 4);
        let b = random_tensor(&[5, 3], 5).map(|v| v + 0.7);
        check_gradients("imq_mmd2", &[a, b], |t, v| imq_mmd2(t, v[0], v[1]));
    }
}
