//! The MR×NR microkernel, written twice: over plain `f32` and over SIMD vectors.
//!
//! Both compute one register tile `acc[i][j] = Σ_p A(i, p) · B(p, j)` from an A panel (MR rows,
//! usually packed so a k step's MR values are adjacent) and a B panel (NR contiguous values per
//! k step). The loops are the same; only the lane type differs, so a diff of the two shows what
//! SIMD changes.
//!
//! Two tiles, picked when the crate is compiled ([`Lanes`], [`MR`], [`NR`]):
//!
//! - **AVX-512** (`target_feature = "avx512f"`): 8×32, i.e. 8 rows × 2 `f32x16`. There are 32
//!   vector registers: 16 accumulators, 2 for the row of B, 1 for the broadcast of A. Each k
//!   step does 16 FMAs for 2 + 8 loads. On a core with two 512-bit FMA units (Intel Xeon) the
//!   8-lane tile could reach only half of the peak; on Zen 4, which runs a 512-bit FMA as two
//!   256-bit halves, the peak is the same but there are half as many instructions to issue.
//!   MR = 8 also divides the lab's channel counts (16, 32, 64) and its batch of 64.
//! - **otherwise** (AVX2): 6×16, i.e. 6 rows × 2 `f32x8`. AVX2 has 16 vector registers:
//!   12 accumulators, 2 for B, 1 for the broadcast.
//!
//! Both tiles are compiled everywhere, so the tests check each against its scalar twin on any
//! machine; only the selected one runs in [`super::gemm`].

use wide::{f32x8, f32x16};

/// A SIMD vector of `f32` lanes: the five operations the microkernel needs.
pub trait Simd: Copy {
    /// Lanes per vector.
    const LANES: usize;
    /// Every lane 0.
    const ZERO: Self;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// `self·b + c` in each lane, as one fused multiply-add where the target has FMA.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `LANES` values from `values[0..LANES]` (panics if shorter).
    fn load(values: &[f32]) -> Self;
    /// Loads `LANES` values from `ptr`, which need not be aligned.
    ///
    /// # Safety
    /// `ptr..ptr + LANES` must be readable.
    unsafe fn load_unaligned(ptr: *const f32) -> Self;
    /// Writes the lanes into `out[0..LANES]` (panics if shorter).
    fn store(self, out: &mut [f32]);
}

macro_rules! impl_simd {
    ($ty:ty, $lanes:literal) => {
        impl Simd for $ty {
            const LANES: usize = $lanes;
            const ZERO: Self = <$ty>::ZERO;
            #[inline(always)]
            fn splat(x: f32) -> Self {
                <$ty>::splat(x)
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                <$ty>::mul_add(self, b, c)
            }
            #[inline(always)]
            fn load(values: &[f32]) -> Self {
                let array: [f32; $lanes] = values[..$lanes].try_into().expect("LANES values");
                <$ty>::from(array)
            }
            #[inline(always)]
            unsafe fn load_unaligned(ptr: *const f32) -> Self {
                // SAFETY: the caller guarantees `LANES` readable values at `ptr`.
                <$ty>::from(unsafe { ptr.cast::<[f32; $lanes]>().read_unaligned() })
            }
            #[inline(always)]
            fn store(self, out: &mut [f32]) {
                out[..$lanes].copy_from_slice(&self.to_array());
            }
        }
    };
}
impl_simd!(f32x8, 8);
impl_simd!(f32x16, 16);

/// The lane type of the selected tile.
#[cfg(target_feature = "avx512f")]
pub type Lanes = f32x16;
/// The lane type of the selected tile.
#[cfg(not(target_feature = "avx512f"))]
pub type Lanes = f32x8;

/// Rows of the register tile (rows of A per packed panel).
#[cfg(target_feature = "avx512f")]
pub const MR: usize = 8;
/// Rows of the register tile (rows of A per packed panel).
#[cfg(not(target_feature = "avx512f"))]
pub const MR: usize = 6;

/// Vectors per tile row (2 for both tiles).
pub const NV: usize = 2;
/// Columns of the register tile (columns of B per packed panel): `NV` vectors.
pub const NR: usize = NV * Lanes::LANES;

/// A's side of the microkernel: element (i, p) of the MR×kc panel is `data[i·rs + p·cs]`.
///
/// A packed panel has `rs = 1, cs = MR`; a row-major A read in place has `rs = lda, cs = 1`.
#[derive(Clone, Copy, Debug)]
pub struct APanel<'a> {
    /// Storage starting at element (0, 0).
    pub data: &'a [f32],
    /// Distance between rows i and i+1.
    pub rs: usize,
    /// Distance between k steps p and p+1.
    pub cs: usize,
}

/// B's side of the microkernel: row p of the kc×NR panel is `data[p·rs .. p·rs + NR]`.
///
/// A packed panel has `rs = NR`; a row-major B read in place has `rs = ldb`.
#[derive(Clone, Copy, Debug)]
pub struct BPanel<'a> {
    /// Storage starting at element (0, 0).
    pub data: &'a [f32],
    /// Distance between rows p and p+1.
    pub rs: usize,
}

/// Checks the panel lengths once, so the loops below may read without bounds checks.
#[inline(always)]
fn check_panels(rows: usize, cols: usize, kc: usize, a: &APanel, b: &BPanel) {
    if kc > 0 {
        let need_a = (rows - 1) * a.rs + (kc - 1) * a.cs + 1;
        let need_b = (kc - 1) * b.rs + cols;
        assert!(
            a.data.len() >= need_a,
            "microkernel: A panel has {} < {need_a} values",
            a.data.len()
        );
        assert!(
            b.data.len() >= need_b,
            "microkernel: B panel has {} < {need_b} values",
            b.data.len()
        );
    }
}

/// Scalar microkernel: the register tile as a plain `ROWS×COLS` array, one FMA per
/// multiply-add.
///
/// `acc[i][j] = Σ_p A(i, p) · B(p, j)` over the kc steps of the panels, for the first `ROWS`
/// rows of the A panel (`MR`, except for a ragged last panel: see [`kernel_simd`]). It
/// performs exactly the FMAs of [`kernel_simd`] with `COLS = NV·LANES`, in the same order, so
/// the two agree bit for bit; it exists to be read (and to check that claim in the tests).
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror acc[i][j] in the math"
)]
#[inline(always)]
pub fn kernel_scalar<const ROWS: usize, const COLS: usize>(
    kc: usize,
    a: APanel,
    b: BPanel,
) -> [[f32; COLS]; ROWS] {
    check_panels(ROWS, COLS, kc, &a, &b);
    let mut acc = [[0.0f32; COLS]; ROWS];
    for p in 0..kc {
        let b_row = &b.data[p * b.rs..p * b.rs + COLS];
        for i in 0..ROWS {
            let a_ip = a.data[i * a.rs + p * a.cs];
            for j in 0..COLS {
                acc[i][j] = a_ip.mul_add(b_row[j], acc[i][j]);
            }
        }
    }
    acc
}

/// SIMD microkernel: the register tile as `ROWS×NVEC` vectors of `V::LANES` lanes.
///
/// Per k step: load the `NVEC·LANES` values of B's row as `NVEC` vectors, broadcast each of
/// A's `ROWS` values, and do `ROWS·NVEC` fused multiply-adds. With constant `ROWS` and `NVEC`,
/// LLVM unrolls the inner loops and keeps `acc` in registers; inlined with constant strides
/// (a packed panel), the address arithmetic folds away too.
///
/// `ROWS` is `MR` for every full panel. A ragged last panel (`m = 20` leaves 4 rows after two
/// full panels of 8) runs with `ROWS` = 2, 4 or 6, so the padding rows cost no FMAs; a row's
/// FMAs are the same whatever `ROWS` is, so this changes no bits.
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror acc[i][j] in the math"
)]
#[inline(always)]
pub fn kernel_simd<V: Simd, const ROWS: usize, const NVEC: usize>(
    kc: usize,
    a: APanel,
    b: BPanel,
) -> [[V; NVEC]; ROWS] {
    check_panels(ROWS, NVEC * V::LANES, kc, &a, &b);
    let mut acc = [[V::ZERO; NVEC]; ROWS];
    let (a_ptr, b_ptr) = (a.data.as_ptr(), b.data.as_ptr());
    for p in 0..kc {
        let b_row: [V; NVEC] = std::array::from_fn(|v| {
            // SAFETY: `p·rs + LANES·(v+1) <= (kc-1)·rs + NVEC·LANES <= b.data.len()` (checked
            // above); unaligned because B's rows in place need not be vector-aligned.
            unsafe { V::load_unaligned(b_ptr.add(p * b.rs + V::LANES * v)) }
        });
        for i in 0..ROWS {
            // SAFETY: `i·rs + p·cs <= (ROWS-1)·rs + (kc-1)·cs < a.data.len()` (checked above).
            let a_ip = V::splat(unsafe { *a_ptr.add(i * a.rs + p * a.cs) });
            for v in 0..NVEC {
                acc[i][v] = a_ip.mul_add(b_row[v], acc[i][v]);
            }
        }
    }
    acc
}

/// Writes the top-left `rows×cols` corner of a tile (`rows <= acc.len()`) into C:
/// `c_rows[i][j0+j] = acc[i][j] + beta·c_rows[i][j0+j]` for `i < rows`, `j < cols`.
///
/// `beta == 0` stores without reading C. Whole vectors are stored as vectors, the ragged end
/// of a row element by element; both do the update as one FMA, so a C element gets the same
/// bits whichever kind of chunk it falls in (and so whatever the tiling).
#[inline(always)]
pub fn store_tile<V: Simd, const NVEC: usize>(
    acc: &[[V; NVEC]],
    beta: f32,
    c_rows: &mut [&mut [f32]],
    j0: usize,
    rows: usize,
    cols: usize,
) {
    let beta_v = V::splat(beta);
    for (row, acc_row) in c_rows[..rows].iter_mut().zip(acc) {
        let dst = &mut row[j0..j0 + cols];
        for (v, &x) in acc_row.iter().enumerate().take(cols.div_ceil(V::LANES)) {
            let d = &mut dst[V::LANES * v..cols.min(V::LANES * (v + 1))];
            if d.len() == V::LANES {
                let out = if beta == 0.0 {
                    x
                } else {
                    beta_v.mul_add(V::load(d), x)
                };
                out.store(d);
            } else {
                let mut lanes = [0.0f32; 16];
                x.store(&mut lanes);
                for (d, x) in d.iter_mut().zip(lanes) {
                    *d = if beta == 0.0 { x } else { beta.mul_add(*d, x) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Pick;

    /// Runs the scalar and SIMD kernels on the first `ROWS` rows of the same panels; panics on
    /// any differing bit, and returns the tile's bits row by row.
    fn kernels_agree<V: Simd, const ROWS: usize, const COLS: usize>(
        kc: usize,
        a: APanel,
        b: BPanel,
    ) -> Vec<Vec<u32>> {
        let scalar = kernel_scalar::<ROWS, COLS>(kc, a, b);
        let vector = kernel_simd::<V, ROWS, NV>(kc, a, b);
        // The narrow tile (one vector per row) gives the first LANES columns' bits too.
        let narrow = kernel_simd::<V, ROWS, 1>(kc, a, b);
        for i in 0..ROWS {
            let mut lanes = vec![0.0; V::LANES];
            narrow[i][0].store(&mut lanes);
            let bits: Vec<u32> = lanes.iter().map(|x| x.to_bits()).collect();
            let want: Vec<u32> = scalar[i][..V::LANES].iter().map(|x| x.to_bits()).collect();
            assert_eq!(bits, want, "narrow row {i} of {ROWS}, b_rs {}", b.rs);
        }
        (0..ROWS)
            .map(|i| {
                let mut lanes = vec![0.0; COLS];
                for (v, x) in vector[i].iter().enumerate() {
                    x.store(&mut lanes[v * V::LANES..]);
                }
                let bits: Vec<u32> = lanes.iter().map(|x| x.to_bits()).collect();
                let want: Vec<u32> = scalar[i].iter().map(|x| x.to_bits()).collect();
                assert_eq!(bits, want, "row {i} of {ROWS}, b_rs {}", b.rs);
                bits
            })
            .collect()
    }

    /// Both tiles against their scalar twins, full and ragged, packed and in-place B rows.
    fn tile_agrees<V: Simd, const MROWS: usize, const COLS: usize>() {
        // Same FMAs in the same order, so the lane type must not change a single bit; nor may
        // the number of rows computed (the ragged-panel kernels) change a row's result.
        let mut rng = Pick::new(13);
        let kc = 37;
        let a = rng.values(kc * MROWS);
        let b = rng.values((kc - 1) * (COLS + 3) + COLS);
        for b_rs in [COLS, COLS + 3] {
            let (a, b) = (
                APanel {
                    data: &a,
                    rs: 1,
                    cs: MROWS,
                },
                BPanel { data: &b, rs: b_rs },
            );
            let full = kernels_agree::<V, MROWS, COLS>(kc, a, b);
            let two = kernels_agree::<V, 2, COLS>(kc, a, b);
            let four = kernels_agree::<V, 4, COLS>(kc, a, b);
            let six = kernels_agree::<V, 6, COLS>(kc, a, b);
            assert_eq!(full[..2], two, "2-row kernel, b_rs {b_rs}");
            assert_eq!(full[..4], four, "4-row kernel, b_rs {b_rs}");
            assert_eq!(full[..6], six, "6-row kernel, b_rs {b_rs}");
        }
    }

    // Without hardware FMA, `wide`'s `mul_add` rounds twice while `f32::mul_add` stays fused,
    // so the two kernels agree only when both are single FMAs (`.cargo/config.toml` builds for
    // the native CPU, which has FMA here).
    #[test]
    #[cfg_attr(not(target_feature = "fma"), ignore = "needs FMA")]
    fn the_8_lane_6x16_tile_matches_its_scalar_twin_bit_for_bit() {
        tile_agrees::<f32x8, 6, 16>();
    }

    #[test]
    #[cfg_attr(not(target_feature = "fma"), ignore = "needs FMA")]
    fn the_16_lane_8x32_tile_matches_its_scalar_twin_bit_for_bit() {
        tile_agrees::<f32x16, 8, 32>();
    }

    #[test]
    fn store_tile_writes_the_corner_with_beta() {
        // A 2×32 tile of 1, 2, 3, … stored as its top-left 2×20 corner with beta = 0.5 on a C
        // of 10s: C = acc + 5, and the columns past 20 stay 10.
        let values: Vec<f32> = (1..=64).map(|x| x as f32).collect();
        let acc: Vec<[f32x16; 2]> = (0..2)
            .map(|i| {
                [
                    f32x16::load(&values[32 * i..]),
                    f32x16::load(&values[32 * i + 16..]),
                ]
            })
            .collect();
        let mut c = vec![10.0f32; 2 * 40];
        let (r0, r1) = c.split_at_mut(40);
        let mut rows = [r0, r1];
        store_tile::<f32x16, 2>(&acc, 0.5, &mut rows, 4, 2, 20);
        for i in 0..2 {
            for j in 0..40 {
                let want = if (4..24).contains(&j) {
                    values[32 * i + j - 4] + 5.0
                } else {
                    10.0
                };
                assert_eq!(c[40 * i + j], want, "C[{i},{j}]");
            }
        }
    }
}
