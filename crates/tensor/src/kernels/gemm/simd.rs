//! The MR×NR microkernel, written twice: over plain `f32` and over `wide::f32x8`.
//!
//! Both compute one register tile `acc[i][j] = Σ_p a[p·MR + i] · b[p·b_rs + j]` from a packed
//! A panel (MR values per k step) and a B panel (NR contiguous values per k step, rows `b_rs`
//! apart: `b_rs = NR` for a packed panel, B's row stride when B is read in place). The loops
//! are the same; only the lane type differs, so a diff of the two shows what SIMD changes.
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

/// Checks the panel lengths once, so the loops below may read without bounds checks.
fn check_panels(kc: usize, a: &[f32], b: &[f32], b_rs: usize) {
    assert!(
        a.len() >= kc * MR,
        "microkernel: A panel has {} < {kc}·{MR} values",
        a.len()
    );
    if kc > 0 {
        let need = (kc - 1) * b_rs + NR;
        assert!(
            b.len() >= need,
            "microkernel: B panel has {} < {need} values",
            b.len()
        );
    }
}

/// Scalar microkernel: the register tile as a plain array, one FMA per multiply-add.
///
/// It performs exactly the FMAs of [`kernel_f32x8`] in the same order, so the two agree bit for
/// bit; it exists to be read (and to check that claim in the tests).
#[inline(always)]
pub fn kernel_scalar(kc: usize, a: &[f32], b: &[f32], b_rs: usize) -> [[f32; NR]; MR] {
    check_panels(kc, a, b, b_rs);
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..kc {
        let b_row = &b[p * b_rs..p * b_rs + NR];
        for i in 0..MR {
            let a_ip = a[p * MR + i];
            for j in 0..NR {
                acc[i][j] = a_ip.mul_add(b_row[j], acc[i][j]);
            }
        }
    }
    acc
}

/// SIMD microkernel: the register tile as `MR×NV` vectors of 8 lanes.
///
/// Per k step: load the NR values of B's row as `NV` vectors, broadcast each of A's MR values,
/// and do `MR·NV` fused multiply-adds. With constant `MR` and `NV`, LLVM unrolls the inner loops
/// and keeps `acc` in registers.
#[inline(always)]
pub fn kernel_f32x8(kc: usize, a: &[f32], b: &[f32], b_rs: usize) -> [[f32x8; NV]; MR] {
    check_panels(kc, a, b, b_rs);
    let mut acc = [[f32x8::ZERO; NV]; MR];
    let (a, b) = (a.as_ptr(), b.as_ptr());
    for p in 0..kc {
        let b_row: [f32x8; NV] = std::array::from_fn(|v| {
            // SAFETY: `p·b_rs + 8v + 8 <= (kc-1)·b_rs + NR <= b.len()` (checked above); the read
            // is unaligned because packed buffers and B's rows need not be 32-byte aligned.
            f32x8::from(unsafe { b.add(p * b_rs + 8 * v).cast::<[f32; 8]>().read_unaligned() })
        });
        for i in 0..MR {
            // SAFETY: `p·MR + i < kc·MR <= a.len()` (checked above).
            let a_ip = f32x8::splat(unsafe { *a.add(p * MR + i) });
            for v in 0..NV {
                acc[i][v] = a_ip.mul_add(b_row[v], acc[i][v]);
            }
        }
    }
    acc
}

/// Writes a full MR×NR tile: `c_rows[i][j0+j] = acc[i][j] + beta·c_rows[i][j0+j]`.
///
/// `beta == 0` stores without reading C. Otherwise the update is one FMA per element, the same
/// rounding as [`store_edge`], so a C element gets the same bits whichever tile it falls in.
#[inline(always)]
pub fn store_full(acc: &[[f32x8; NV]; MR], beta: f32, c_rows: &mut [&mut [f32]], j0: usize) {
    let beta_v = f32x8::splat(beta);
    for (row, acc_row) in c_rows[..MR].iter_mut().zip(acc) {
        let dst = &mut row[j0..j0 + NR];
        for (d, &x) in dst.chunks_exact_mut(8).zip(acc_row) {
            let out = if beta == 0.0 {
                x
            } else {
                let old: [f32; 8] = (&*d).try_into().expect("chunks of 8");
                beta_v.mul_add(f32x8::from(old), x)
            };
            d.copy_from_slice(&out.to_array());
        }
    }
}

/// Writes the top-left `rows×cols` corner of a tile that sticks out past C's edge.
#[inline(always)]
pub fn store_edge(
    acc: &[[f32x8; NV]; MR],
    beta: f32,
    c_rows: &mut [&mut [f32]],
    j0: usize,
    rows: usize,
    cols: usize,
) {
    for (row, acc_row) in c_rows[..rows].iter_mut().zip(acc) {
        let lanes: [[f32; 8]; NV] = acc_row.map(f32x8::to_array);
        let tile_row = lanes.as_flattened();
        for (d, &x) in row[j0..j0 + cols].iter_mut().zip(tile_row) {
            *d = if beta == 0.0 { x } else { beta.mul_add(*d, x) };
        }
    }
}
