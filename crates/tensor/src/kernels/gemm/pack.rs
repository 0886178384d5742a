//! Packing: copy a block of A or B into the exact order the microkernel reads it.
//!
//! The microkernel walks k one step at a time and, at each step, wants the MR values of a
//! column of A next to each other and the NR values of a row of B next to each other. Packing
//! lays blocks out that way once, so the hot loop reads memory strictly sequentially whatever
//! the strides of the caller's matrices (a transposed operand is just another stride), and pads
//! ragged edges with zeros so the microkernel never needs a bounds check.
//!
//! ```text
//! A block (mc×kc) → panels of MR rows:    a_buf[r·MR·kc + p·MR + i] = A[i0 + r·MR + i, p0 + p]
//! B block (kc×nc) → panels of NR columns: b_buf[s·NR·kc + p·NR + j] = B[p0 + p, j0 + s·NR + j]
//! ```

use super::MatRef;
use wide::f32x8;

use super::simd::{MR, NR, Simd};

/// Packs `A[i0..i0+mc, p0..p0+kc]` into `ceil(mc/MR)` panels of `MR×kc`, zero-padding the last.
///
/// `buf` must hold at least `ceil(mc/MR)·MR·kc` values.
pub fn pack_a(a: MatRef, i0: usize, mc: usize, p0: usize, kc: usize, buf: &mut [f32]) {
    let panels = mc.div_ceil(MR);
    assert!(buf.len() >= panels * MR * kc, "pack_a: buffer too small");
    assert!(
        i0 + mc <= a.rows && p0 + kc <= a.cols,
        "pack_a: block outside A"
    );
    for (r, panel) in buf.chunks_exact_mut(MR * kc).take(panels).enumerate() {
        let rows = MR.min(mc - r * MR);
        let first = i0 + r * MR;
        if a.row_stride == 1 && rows == MR {
            // Aᵀ stored row-major (column-major A): each column's MR values are contiguous.
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                let start = first + (p0 + p) * a.col_stride;
                // A fixed-size copy compiles to a few moves; a slice copy would call memcpy
                // for every MR values.
                let src: &[f32; MR] = a.data[start..start + MR].try_into().expect("MR values");
                dst.copy_from_slice(src);
            }
        } else if a.col_stride == 1 && rows == MR {
            // Row-major A, a whole panel: a transpose, as for Bᵀ below (a scalar scatter cost
            // 4% of a 1024³ product with the 6-row tile).
            let lines = &a.data[first * a.row_stride + p0..];
            transpose_lines::<MR>(lines, a.row_stride, panel, MR, kc);
        } else if a.col_stride == 1 {
            // Row-major A: read each row once, sequentially, and scatter it with stride MR.
            for i in 0..MR {
                if i < rows {
                    let start = (first + i) * a.row_stride + p0;
                    let row = &a.data[start..start + kc];
                    for (dst, &x) in panel.chunks_exact_mut(MR).zip(row) {
                        dst[i] = x;
                    }
                } else {
                    panel.chunks_exact_mut(MR).for_each(|dst| dst[i] = 0.0);
                }
            }
        } else {
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = if i < rows {
                        a.at(first + i, p0 + p)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// Packs `B[p0..p0+kc, j0..j0+nc]` into `ceil(nc/NR)` panels of `kc×NR`, zero-padding the last.
///
/// `buf` must hold at least `ceil(nc/NR)·NR·kc` values.
pub fn pack_b(b: MatRef, p0: usize, kc: usize, j0: usize, nc: usize, buf: &mut [f32]) {
    let panels = nc.div_ceil(NR);
    assert!(buf.len() >= panels * NR * kc, "pack_b: buffer too small");
    assert!(
        p0 + kc <= b.rows && j0 + nc <= b.cols,
        "pack_b: block outside B"
    );
    let whole = if b.col_stride == 1 { nc / NR } else { 0 };
    if whole > 0 {
        // Row-major B, the whole panels: row by row of B, each row's NR-value pieces to their
        // panels (fixed-size copies, two vector moves each). Reading B's rows sequentially,
        // rather than a panel's column of pieces down rows a page apart, took this copy from
        // 1.8–2.5% to 1.6% of a 1024³ product's time.
        for p in 0..kc {
            let start = (p0 + p) * b.row_stride + j0;
            let row = &b.data[start..start + whole * NR];
            for (s, piece) in row.chunks_exact(NR).enumerate() {
                let at = s * NR * kc + p * NR;
                let piece: &[f32; NR] = piece.try_into().expect("NR values");
                buf[at..at + NR].copy_from_slice(piece);
            }
        }
    }
    for (s, panel) in buf
        .chunks_exact_mut(NR * kc)
        .take(panels)
        .enumerate()
        .skip(whole)
    {
        let cols = NR.min(nc - s * NR);
        let first = j0 + s * NR;
        if b.col_stride == 1 {
            // Row-major B, the ragged last panel: `cols` values, then zeros.
            for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                let start = (p0 + p) * b.row_stride + first;
                dst[..cols].copy_from_slice(&b.data[start..start + cols]);
                dst[cols..].fill(0.0);
            }
        } else if b.row_stride == 1 && cols == NR {
            // Bᵀ stored row-major (column-major B, a linear layer's weight), a whole panel:
            // each column's k values are contiguous, so packing is a transpose, 8 columns at a
            // time. A scalar scatter costs about a cycle per element: a quarter of the time of
            // the dense layers' products.
            for j in (0..NR).step_by(8) {
                let lines = &b.data[(first + j) * b.col_stride + p0..];
                transpose_lines::<8>(lines, b.col_stride, &mut panel[j..], NR, kc);
            }
        } else if b.row_stride == 1 {
            // Bᵀ stored row-major, the ragged last panel (a weight gradient's `colsᵀ` with 9
            // or 144 columns): whole groups of 8 columns by transposes, the rest one by one,
            // zeros for the missing columns.
            let groups = cols / 8 * 8;
            for j in (0..groups).step_by(8) {
                let lines = &b.data[(first + j) * b.col_stride + p0..];
                transpose_lines::<8>(lines, b.col_stride, &mut panel[j..], NR, kc);
            }
            for j in groups..cols {
                let start = (first + j) * b.col_stride + p0;
                let col = &b.data[start..start + kc];
                for (dst, &x) in panel.chunks_exact_mut(NR).zip(col) {
                    dst[j] = x;
                }
            }
            panel
                .chunks_exact_mut(NR)
                .for_each(|dst| dst[cols..].fill(0.0));
        } else {
            for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = if j < cols {
                        b.at(p0 + p, first + j)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// `dst[p·dst_stride + l] = src[l·src_stride + p]` for `LINES <= 8` lines `l` and `steps`
/// values `p`: `LINES` contiguous source lines become `steps` destination rows of `LINES`
/// values.
///
/// Whole groups of 8 steps go through an 8×8 transpose in registers (`LINES` loads, the
/// missing lines zeros, 8 shuffled stores); the last `steps % 8` are copied one by one. With
/// fewer than 8 lines (the AVX2 tile's 6-row A panels) a row's 8 lanes are stored whole where
/// the 8 − `LINES` extra ones land on the next row, written after it (rows adjacent, not the
/// last row): one vector store instead of six scalar ones.
fn transpose_lines<const LINES: usize>(
    src: &[f32],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
    steps: usize,
) {
    const { assert!(LINES >= 1 && LINES <= 8) };
    let whole = steps / 8 * 8;
    for p in (0..whole).step_by(8) {
        let lines: [f32x8; 8] = std::array::from_fn(|l| {
            if l < LINES {
                f32x8::load(&src[l * src_stride + p..])
            } else {
                f32x8::ZERO
            }
        });
        for (pp, row) in f32x8::transpose(lines).into_iter().enumerate() {
            let at = (p + pp) * dst_stride;
            if LINES == 8 || (dst_stride == LINES && p + pp + 1 < steps) {
                row.store(&mut dst[at..]);
            } else {
                dst[at..at + LINES].copy_from_slice(&row.to_array()[..LINES]);
            }
        }
    }
    for p in whole..steps {
        for l in 0..LINES {
            dst[p * dst_stride + l] = src[l * src_stride + p];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_of_8_lines_match_the_definition() {
        // 8 lines of 19 values (stride 23) into 19 rows of stride 11: two register transposes
        // and a tail of 3.
        let src: Vec<f32> = (0..8 * 23).map(|x| x as f32).collect();
        let mut dst = vec![f32::NAN; 19 * 11];
        transpose_lines::<8>(&src, 23, &mut dst, 11, 19);
        for p in 0..19 {
            for l in 0..8 {
                assert_eq!(dst[p * 11 + l], src[l * 23 + p], "step {p}, line {l}");
            }
            assert!(
                dst[p * 11 + 8..p * 11 + 11].iter().all(|x| x.is_nan()),
                "row {p} overrun"
            );
        }
    }

    #[test]
    fn transposes_of_fewer_lines_write_only_their_rows() {
        // 6 lines (the AVX2 tile's MR) of 21 values into rows of 6 (adjacent, so whole vectors
        // are stored where the next row overwrites the extra lanes) and of 9 (never): the last
        // row must not run past the end, nor into the gaps.
        let src: Vec<f32> = (0..6 * 25).map(|x| x as f32).collect();
        for dst_stride in [6, 9] {
            let steps = 21;
            let mut dst = vec![f32::NAN; steps * dst_stride + 4];
            transpose_lines::<6>(&src, 25, &mut dst, dst_stride, steps);
            for p in 0..steps {
                for l in 0..6 {
                    assert_eq!(
                        dst[p * dst_stride + l],
                        src[l * 25 + p],
                        "step {p}, line {l}"
                    );
                }
                let gap = &dst[p * dst_stride + 6..(p + 1) * dst_stride];
                assert!(gap.iter().all(|x| x.is_nan()), "row {p} overrun");
            }
            assert!(
                dst[steps * dst_stride..].iter().all(|x| x.is_nan()),
                "ran past the end"
            );
        }
    }

    #[test]
    fn every_layout_packs_to_the_same_panels() {
        // A block packed from row-major, transposed and strided storage must give identical
        // panels (full ones through the transposes, ragged ones through the scatters).
        let (rows, cols) = (2 * MR + 3, 2 * NR + 5);
        let values: Vec<f32> = (0..rows * cols).map(|x| x as f32).collect();
        let transposed: Vec<f32> = (0..cols * rows)
            .map(|idx| values[(idx % rows) * cols + idx / rows])
            .collect();
        let row_major = MatRef::row_major(&values, rows, cols);
        let col_major = MatRef::row_major(&transposed, cols, rows).t();
        let (p0, kc) = (2, cols - 4);
        let a_len = rows.div_ceil(MR) * MR * kc;
        let (mut a1, mut a2) = (vec![f32::NAN; a_len], vec![f32::NAN; a_len]);
        pack_a(row_major, 0, rows, p0, kc, &mut a1);
        pack_a(col_major, 0, rows, p0, kc, &mut a2);
        assert_eq!(a1, a2, "pack_a");
        assert_eq!(
            a1[MR * 3 + 1],
            row_major.at(1, p0 + 3),
            "panel 0, step 3, row 1"
        );
        let (b_rows, b_cols) = (cols, rows); // B = the transpose, kc×nc
        let b_row_major = MatRef::row_major(&transposed, b_rows, b_cols);
        let b_col_major = MatRef::row_major(&values, b_cols, b_rows).t();
        let (p0, kc, nc) = (1, b_rows - 2, b_cols);
        let b_len = nc.div_ceil(NR) * NR * kc;
        let (mut b1, mut b2) = (vec![f32::NAN; b_len], vec![f32::NAN; b_len]);
        pack_b(b_row_major, p0, kc, 0, nc, &mut b1);
        pack_b(b_col_major, p0, kc, 0, nc, &mut b2);
        assert_eq!(b1, b2, "pack_b");
        assert_eq!(
            b1[NR * 5 + 2],
            b_row_major.at(p0 + 5, 2),
            "panel 0, step 5, column 2"
        );
    }
}
