//! The logistic sigmoid, `σ(x) = 1 / (1 + e⁻ˣ)`, in 16 lanes and in scalar code that gives the
//! same bits.
//!
//! `libm`'s `expf` is a function call per value, which no compiler vectorizes; the sigmoid at
//! the end of every autoencoder's decoder (50,176 values per batch of 64) spent more time in
//! it than in the GEMM before it. Here `e^t` is computed the textbook way, for `t ≤ 0` only
//! (the sigmoid needs no more, see [`sigmoid`]):
//!
//! ```text
//! n = round(t·log₂e)                 so t = n·ln2 + r, |r| ≤ ln2/2
//! r = t − n·ln2                      (ln2 in two parts, so r is exact to ~1 ulp)
//! e^r ≈ 1 + r + r²/2! + … + r⁷/7!    (Horner, 7 FMAs; truncation error < 1e-8)
//! e^t = e^r · 2ⁿ                     (2ⁿ built from its exponent bits)
//! ```
//!
//! The scalar and vector versions run the same operations in the same order (fused
//! multiply-adds included), so they agree bit for bit where the target has FMA; the tests
//! check that, and the error against `f64`.

use wide::{f32x16, i32x16};

/// log₂e.
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two: `LN2_HI` has few mantissa bits, so `n·LN2_HI` is exact for `|n| ≤ 127`.
const LN2_HI: f32 = 0.693_359_4;
/// The rest of ln 2.
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds an `f32` of magnitude below 2²² to the nearest
/// integer (ties to even), with plain additions.
const ROUNDER: f32 = 12_582_912.0;
/// Below this, `e^t` would be subnormal (`e^−87 ≈ 1.6e−38`): 0 is returned instead, as the
/// result would lie below any loss's resolution.
const T_MIN: f32 = -87.0;
/// Taylor coefficients of `e^r`, highest degree first: 1/7!, 1/6!, …, 1/2!, 1, 1.
const COEFFS: [f32; 8] = [
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// `e^t` for `t ≤ 0` (0 below −87).
#[inline(always)]
pub fn exp_nonpositive(t: f32) -> f32 {
    if t < T_MIN {
        return 0.0;
    }
    let n = (t * LOG2_E + ROUNDER) - ROUNDER;
    let r = (-n).mul_add(LN2_HI, t);
    let r = (-n).mul_add(LN2_LO, r);
    let mut p = COEFFS[0];
    for &c in &COEFFS[1..] {
        p = p.mul_add(r, c);
    }
    // n + 127 ∈ [0, 127] is a whole number: the exponent field of 2ⁿ.
    let two_n = f32::from_bits((((n + 127.0) as i32) << 23) as u32);
    p * two_n
}

// The vector version computes every lane (clamped at T_MIN, so the exponent bits stay
// valid) and zeroes the lanes below T_MIN afterwards: the same values as the branch above.

/// [`exp_nonpositive`] in 16 lanes.
#[inline(always)]
pub fn exp_nonpositive_x16(t: f32x16) -> f32x16 {
    let underflows = t.simd_lt(f32x16::splat(T_MIN));
    let t = t.max(f32x16::splat(T_MIN));
    let n = (t * f32x16::splat(LOG2_E) + f32x16::splat(ROUNDER)) - f32x16::splat(ROUNDER);
    let r = (-n).mul_add(f32x16::splat(LN2_HI), t);
    let r = (-n).mul_add(f32x16::splat(LN2_LO), r);
    let mut p = f32x16::splat(COEFFS[0]);
    for &c in &COEFFS[1..] {
        p = p.mul_add(r, f32x16::splat(c));
    }
    let exponent: i32x16 = (n + f32x16::splat(127.0)).trunc_int() << 23;
    let e = p * wide::bytemuck::cast::<i32x16, f32x16>(exponent);
    underflows.select(f32x16::ZERO, e)
}

/// `σ(x)`, without overflow: with `e = e^−|x|`, `1/(1+e)` for `x ≥ 0` and `e/(1+e)` below, so
/// `e` is only ever raised to a non-positive power. NaN stays NaN.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let e = exp_nonpositive(-x.abs());
    let numerator = if x >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

/// [`sigmoid`] in 16 lanes.
#[inline(always)]
pub fn sigmoid_x16(x: f32x16) -> f32x16 {
    let e = exp_nonpositive_x16(-x.abs());
    let numerator = x.simd_ge(f32x16::ZERO).select(f32x16::ONE, e);
    let y = numerator / (f32x16::ONE + e);
    x.is_nan().select(x, y)
}

/// `values[i] = σ(values[i])` in place: 16 lanes at a time, the tail in scalar code (the same
/// bits either way).
pub fn sigmoid_in_place(values: &mut [f32]) {
    let mut chunks = values.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let x = f32x16::from(<[f32; 16]>::try_from(&*chunk).expect("16 values"));
        chunk.copy_from_slice(&sigmoid_x16(x).to_array());
    }
    for v in chunks.into_remainder() {
        *v = sigmoid(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from −120 to 120, dense near 0, plus the edges.
    fn samples() -> Vec<f32> {
        let mut xs: Vec<f32> = (-24_000..=24_000).map(|i| i as f32 * 0.005).collect();
        xs.extend((-120..=120).map(|i| i as f32));
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            87.0,
            -87.0,
            88.5,
            -88.5,
            f32::MAX,
            f32::MIN,
        ]);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY]);
        xs.truncate(xs.len() / 16 * 16);
        xs
    }

    #[test]
    #[cfg_attr(not(target_feature = "fma"), ignore = "needs FMA")]
    fn the_16_lane_sigmoid_gives_the_scalar_bits() {
        let xs = samples();
        let mut lanes = xs.clone();
        sigmoid_in_place(&mut lanes);
        for (&x, &y) in xs.iter().zip(&lanes) {
            assert_eq!(y.to_bits(), sigmoid(x).to_bits(), "σ({x})");
        }
    }

    #[test]
    fn the_sigmoid_is_within_two_ulps_of_f64() {
        for x in samples() {
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            let got = sigmoid(x) as f64;
            if x < -87.0 {
                // The tail: 0 instead of a value below 1.7e-38.
                assert_eq!(got, 0.0, "σ({x})");
                continue;
            }
            let ulp = (want as f32).abs() * f32::EPSILON;
            assert!(
                (got - want).abs() <= 2.0 * ulp as f64,
                "σ({x}) = {got}, f64 says {want}"
            );
        }
        assert!(sigmoid(f32::NAN).is_nan());
        assert_eq!((sigmoid(0.0), sigmoid(f32::INFINITY)), (0.5, 1.0));
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn exp_is_close_to_f64_on_its_domain() {
        for i in 0..87_000 {
            let t = -(i as f32) * 0.001;
            let want = (t as f64).exp();
            let got = exp_nonpositive(t) as f64;
            assert!(
                (got - want).abs() <= 2.0 * want * f32::EPSILON as f64,
                "e^{t} = {got}, f64 says {want}"
            );
        }
    }
}
