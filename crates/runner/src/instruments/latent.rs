//! Arithmetic on codes: the inverse normal CDF (for the VAE's manifold grid), straight-line
//! interpolation, a two-sample statistic (MMD) to say how well codes match a prior, and the
//! nearest mixture component of each code.

/// `Φ⁻¹(p)`, the standard normal quantile, for `0 < p < 1` (Acklam's rational
/// approximation, relative error below 1.2e-9). Panics outside `(0, 1)`.
pub fn probit(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "probit: {p} is not in (0, 1)");
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The codes of an `n×n` grid over the unit square mapped through `Φ⁻¹` on both axes:
/// row `i` (top to bottom) has `z₂ = Φ⁻¹(1 − (i + ½)/n)`, column `j` has
/// `z₁ = Φ⁻¹((j + ½)/n)`. Equal steps in probability, so the grid covers `N(0, I)` evenly.
pub fn manifold_codes(n: usize) -> Vec<f32> {
    let at = |k: usize| probit((k as f64 + 0.5) / n as f64) as f32;
    let mut out = Vec::with_capacity(n * n * 2);
    for i in 0..n {
        for j in 0..n {
            out.push(at(j));
            out.push(at(n - 1 - i));
        }
    }
    out
}

/// `steps` points from `a` to `b` on a straight line, both ends included, flattened.
pub fn interpolate(a: &[f32], b: &[f32], steps: usize) -> Vec<f32> {
    assert_eq!(
        a.len(),
        b.len(),
        "interpolate: the two ends differ in length"
    );
    let mut out = Vec::with_capacity(steps * a.len());
    for s in 0..steps {
        let t = s as f32 / (steps.max(2) - 1) as f32;
        out.extend(a.iter().zip(b).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    out
}

/// The unbiased squared maximum mean discrepancy between two samples of `dim`-dimensional
/// points (flattened), with the Gaussian kernel `k(x, y) = exp(−‖x − y‖² / (2σ²))`:
///
/// `MMD² = mean_{i≠j} k(aᵢ, aⱼ) + mean_{i≠j} k(bᵢ, bⱼ) − 2·mean_{i,j} k(aᵢ, bⱼ)`.
///
/// Zero in expectation when both samples come from one distribution; up to 2 when they do
/// not overlap at all. NaN when a sample has fewer than two points (the within-sample means
/// need two).
pub fn mmd2(a: &[f32], b: &[f32], dim: usize, sigma: f64) -> f64 {
    let (n, m) = (a.len() / dim, b.len() / dim);
    if n < 2 || m < 2 {
        return f64::NAN;
    }
    let k = |x: &[f32], y: &[f32]| {
        let d2: f64 = x
            .iter()
            .zip(y)
            .map(|(&p, &q)| (p as f64 - q as f64).powi(2))
            .sum();
        (-d2 / (2.0 * sigma * sigma)).exp()
    };
    let within = |s: &[f32], len: usize| {
        let mut total = 0.0;
        for i in 0..len {
            for j in 0..len {
                if i != j {
                    total += k(&s[i * dim..][..dim], &s[j * dim..][..dim]);
                }
            }
        }
        total / (len * (len - 1)) as f64
    };
    let mut across = 0.0;
    for i in 0..n {
        for j in 0..m {
            across += k(&a[i * dim..][..dim], &b[j * dim..][..dim]);
        }
    }
    within(a, n) + within(b, m) - 2.0 * across / (n * m) as f64
}

/// The share of 2-D `codes` whose nearest point among `means` is `means[labels[i]]`.
pub fn nearest_mean_share(codes: &[f32], labels: &[u8], means: &[[f32; 2]]) -> f64 {
    let hits = codes
        .chunks_exact(2)
        .zip(labels)
        .filter(|&(c, &l)| {
            let d2 = |m: &[f32; 2]| (c[0] - m[0]).powi(2) + (c[1] - m[1]).powi(2);
            let nearest = (0..means.len())
                .min_by(|&i, &j| d2(&means[i]).total_cmp(&d2(&means[j])))
                .expect("at least one mean");
            nearest == l as usize
        })
        .count();
    hits as f64 / labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probit_against_known_quantiles() {
        // Python: statistics.NormalDist().inv_cdf(p)
        for (p, want) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.025, -1.959_963_984_540_054),
            (0.841_344_746_068_543, 1.0),
            (0.001, -3.090_232_306_167_813_6),
            (0.025 / 20.0, -3.023_341_439_739_147),
        ] {
            assert!(
                (probit(p) - want).abs() < 1e-6,
                "probit({p}) = {}",
                probit(p)
            );
        }
        let grid = manifold_codes(20);
        assert_eq!(grid.len(), 800);
        // Top-left: z₁ = Φ⁻¹(0.025), z₂ = Φ⁻¹(0.975); symmetric about 0.
        assert!((grid[0] + 1.959_964).abs() < 1e-5 && (grid[1] - 1.959_964).abs() < 1e-5);
        assert!((grid[798] - 1.959_964).abs() < 1e-5 && (grid[799] + 1.959_964).abs() < 1e-5);
    }

    #[test]
    fn interpolation_includes_both_ends() {
        let line = interpolate(&[0.0, 10.0], &[1.0, 20.0], 3);
        assert_eq!(line, [0.0, 10.0, 0.5, 15.0, 1.0, 20.0]);
    }

    #[test]
    fn mmd_by_hand_and_by_sample() {
        // a = {0, 1}, b = {0, 1} in 1-D, σ = 1: within terms k(0,1) = e^−½ each, across
        // mean (1 + e^−½ + e^−½ + 1)/4, so MMD² = 2e^−½ − (1 + e^−½) = e^−½ − 1.
        let e = (-0.5f64).exp();
        assert!((mmd2(&[0.0, 1.0], &[0.0, 1.0], 1, 1.0) - (e - 1.0)).abs() < 1e-12);
        // Far apart: the across term vanishes, MMD² → k(a₀,a₁) + k(b₀,b₁) = 2e^−½.
        let far = mmd2(&[0.0, 1.0], &[100.0, 101.0], 1, 1.0);
        assert!((far - 2.0 * e).abs() < 1e-12);
        // Two samples of N(0, I) are close; against N(3, I) they are not.
        let mut r = tensor::rng(1);
        let a = tensor::Tensor::normal(&[400, 2], 0.0, 1.0, &mut r);
        let b = tensor::Tensor::normal(&[400, 2], 0.0, 1.0, &mut r);
        let c = tensor::Tensor::normal(&[400, 2], 3.0, 1.0, &mut r);
        let same = mmd2(a.data(), b.data(), 2, 1.0);
        let shifted = mmd2(a.data(), c.data(), 2, 1.0);
        assert!(same.abs() < 0.01 && shifted > 0.3, "{same} {shifted}");
        assert!(mmd2(&[0.0], &[0.0, 1.0], 1, 1.0).is_nan());
    }

    #[test]
    fn nearest_mean_share_counts_codes_nearest_their_own_mean() {
        let means = [[0.0, 0.0], [10.0, 0.0]];
        let codes = [0.5, 0.0, 9.0, 1.0, 1.0, 0.0];
        assert_eq!(nearest_mean_share(&codes, &[0, 1, 1], &means), 2.0 / 3.0);
    }
}
