//! The MR×NR microkernel, written twice: over plain `f32` and over `wide::f32x8`.
//!
//! Both compute one register tile `acc[i][j] = Σ_p A(i, p) · B(p, j)` from an A panel (MR rows,
//! usually packed so a k step's MR values are adjacent) and a B panel (NR contiguous values per
//! k step). The loops are the same; only the lane type differs, so a diff of the two shows what
//! SIMD changes.
//!
//! Why 6×16: AVX2 has 16 vector registers of 8 lanes. A 6×16 tile is 6·2 = 12 accumulators,
//! leaving 2 for the row of B and 1 for the broadcast of A. Each k step does 12 FMAs for
//! 2 + 6 loads, so the two FMA pipes, not the load ports, are the limit.

use wide::f32x8;

/// Rows of the register tile (rows of A per packed panel).
pub const MR: usize = 6;
/// Columns of the register tile (columns of B per packed panel); a multiple of 8 lanes.
pub const NR: usize = 16;
/// `f32x8` vectors per tile row.
const NV: usize = NR / 8;

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
fn check_panels<const ROWS: usize>(kc: usize, a: &APanel, b: &BPanel) {
    if kc > 0 {
        let need_a = (ROWS - 1) * a.rs + (kc - 1) * a.cs + 1;
        let need_b = (kc - 1) * b.rs + NR;
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

/// Scalar microkernel: the register tile as a plain array, one FMA per multiply-add.
///
/// `acc[i][j] = Σ_p A(i, p) · B(p, j)` over the kc steps of the panels, for the first `ROWS`
/// rows of the A panel (`MR`, except for a ragged last panel: see [`kernel_f32x8`]). It
/// performs exactly the FMAs of [`kernel_f32x8`] in the same order, so the two agree bit for
/// bit; it exists to be read (and to check that claim in the tests).
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror acc[i][j] in the math"
)]
#[inline(always)]
pub fn kernel_scalar<const ROWS: usize>(kc: usize, a: APanel, b: BPanel) -> [[f32; NR]; ROWS] {
    check_panels::<ROWS>(kc, &a, &b);
    let mut acc = [[0.0f32; NR]; ROWS];
    for p in 0..kc {
        let b_row = &b.data[p * b.rs..p * b.rs + NR];
        for i in 0..ROWS {
            let a_ip = a.data[i * a.rs + p * a.cs];
            for j in 0..NR {
                acc[i][j] = a_ip.mul_add(b_row[j], acc[i][j]);
            }
        }
    }
    acc
}

/// SIMD microkernel: the register tile as `ROWS×NV` vectors of 8 lanes.
///
/// Per k step: load the NR values of B's row as `NV` vectors, broadcast each of A's `ROWS`
/// values, and do `ROWS·NV` fused multiply-adds. With constant `ROWS` and `NV`, LLVM unrolls the
/// inner loops and keeps `acc` in registers; inlined with constant strides (a packed panel),
/// the address arithmetic folds away too.
///
/// `ROWS` is `MR` for every full panel. A ragged last panel (`m = 16` leaves 4 rows after two
/// full panels) runs with `ROWS` = 2 or 4, so the padding rows cost no FMAs; a row's FMAs are
/// the same whatever `ROWS` is, so this changes no bits.
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror acc[i][j] in the math"
)]
#[inline(always)]
pub fn kernel_f32x8<const ROWS: usize>(kc: usize, a: APanel, b: BPanel) -> [[f32x8; NV]; ROWS] {
    check_panels::<ROWS>(kc, &a, &b);
    let mut acc = [[f32x8::ZERO; NV]; ROWS];
    let (a_ptr, b_ptr) = (a.data.as_ptr(), b.data.as_ptr());
    for p in 0..kc {
        let b_row: [f32x8; NV] = std::array::from_fn(|v| {
            // SAFETY: `p·rs + 8v + 8 <= (kc-1)·rs + NR <= b.data.len()` (checked above); the
            // read is unaligned because packed buffers and B's rows need not be 32-byte aligned.
            f32x8::from(unsafe {
                b_ptr
                    .add(p * b.rs + 8 * v)
                    .cast::<[f32; 8]>()
                    .read_unaligned()
            })
        });
        for i in 0..ROWS {
            // SAFETY: `i·rs + p·cs <= (ROWS-1)·rs + (kc-1)·cs < a.data.len()` (checked above).
            let a_ip = f32x8::splat(unsafe { *a_ptr.add(i * a.rs + p * a.cs) });
            for v in 0..NV {
                acc[i][v] = a_ip.mul_add(b_row[v], acc[i][v]);
            }
        }
    }
    acc
}

/// Writes the top-left `rows×cols` corner of a tile (`rows <= acc.len()`) into C:
/// `c_rows[i][j0+j] = acc[i][j] + beta·c_rows[i][j0+j]` for `i < rows`, `j < cols`.
///
/// `beta == 0` stores without reading C. Whole 8-lane chunks are stored as vectors, the ragged
/// end of a row element by element; both do the update as one FMA, so a C element gets the
/// same bits whichever kind of chunk it falls in (and so whatever the tiling).
#[inline(always)]
pub fn store_tile(
    acc: &[[f32x8; NV]],
    beta: f32,
    c_rows: &mut [&mut [f32]],
    j0: usize,
    rows: usize,
    cols: usize,
) {
    let beta_v = f32x8::splat(beta);
    for (row, acc_row) in c_rows[..rows].iter_mut().zip(acc) {
        let dst = &mut row[j0..j0 + cols];
        for (v, &x) in acc_row.iter().enumerate().take(cols.div_ceil(8)) {
            let d = &mut dst[8 * v..cols.min(8 * v + 8)];
            if d.len() == 8 {
                let out = if beta == 0.0 {
                    x
                } else {
                    let old: [f32; 8] = (&*d).try_into().expect("chunk of 8");
                    beta_v.mul_add(f32x8::from(old), x)
                };
                d.copy_from_slice(&out.to_array());
            } else {
                for (d, x) in d.iter_mut().zip(x.to_array()) {
                    *d = if beta == 0.0 { x } else { beta.mul_add(*d, x) };
                }
            }
        }
    }
}
