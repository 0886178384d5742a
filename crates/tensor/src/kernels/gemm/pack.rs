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
use super::simd::{MR, NR};

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
    for (s, panel) in buf.chunks_exact_mut(NR * kc).take(panels).enumerate() {
        let cols = NR.min(nc - s * NR);
        let first = j0 + s * NR;
        if b.col_stride == 1 && cols == NR {
            // Row-major B, a whole panel: each panel row is NR contiguous values, copied as a
            // fixed-size array (two vector moves rather than a call to memcpy per row).
            for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                let start = (p0 + p) * b.row_stride + first;
                let src: &[f32; NR] = b.data[start..start + NR].try_into().expect("NR values");
                dst.copy_from_slice(src);
            }
        } else if b.col_stride == 1 {
            // Row-major B, the ragged last panel: `cols` values, then zeros.
            for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                let start = (p0 + p) * b.row_stride + first;
                dst[..cols].copy_from_slice(&b.data[start..start + cols]);
                dst[cols..].fill(0.0);
            }
        } else if b.row_stride == 1 {
            // Bᵀ stored row-major (column-major B): read each column sequentially, scatter by NR.
            for j in 0..NR {
                if j < cols {
                    let start = (first + j) * b.col_stride + p0;
                    let col = &b.data[start..start + kc];
                    for (dst, &x) in panel.chunks_exact_mut(NR).zip(col) {
                        dst[j] = x;
                    }
                } else {
                    panel.chunks_exact_mut(NR).for_each(|dst| dst[j] = 0.0);
                }
            }
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
