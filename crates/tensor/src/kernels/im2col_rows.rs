//! [`super::im2col`]'s gather and scatter-add a row at a time, with AVX-512 lane permutes,
//! for planes at most 32 values wide whose output rows hold at most 16 values (the strided
//! conv autoencoder's unfolded layers, 28×28 → 14×14 and 14×14 → 7×7, and any stride-1
//! convolution of a plane up to 16 wide that does not take the direct route).
//!
//! For one tap `(p, q)` and one output row `i`, the `w_out` values of an im2col row segment
//! are read from a single input row, `r = i·s_h − pad_h + p·d_h`, at the columns
//! `j·s_w − pad_w + q·d_w`, the same columns for every `i`. So the whole segment is one
//! two-source permute of the input row (32 lanes, two vectors): lane `j` takes lane
//! `j·s_w − pad_w + q·d_w` of the row, or 0 where that column lies in the padding. The
//! scatter-add of col2im is the inverse permute: lane `L` of the row takes lane `j` of the
//! segment, where `j` is the one window column that reads `L` (a column is read by at most
//! one `j` of a given `q`), and is added only in the lanes some `j` reads.
//!
//! One load, one permute and one store replace the 7 to 14 table reads, loads and stores of
//! [`super::im2col::Taps`]'s loop, and no padded copy of the plane is needed (masked loads and
//! stores never touch the lanes past the row). Both functions give the table loop's results
//! bit for bit: im2col copies, and col2im adds each input value's terms in the same order,
//! tap row `p` first, then tap column `q` (for a given `p`, one output row `i` reads input
//! row `r`, so looping over `i` outside `q` changes no value's order).
use std::arch::x86_64::{
    __m512, __m512i, __mmask16, _mm512_loadu_si512, _mm512_mask_add_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_maskz_permutex2var_ps, _mm512_maskz_permutexvar_ps,
    _mm512_setzero_ps,
};

use super::accumulate::Accumulate;
use super::geometry::Geometry;

/// Lanes of one vector.
const LANES: usize = 16;

/// The permutes of one tap column `q`: which row lanes its segment reads, and where the
/// segment's lanes are added back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TapColumn {
    /// Lane `j` of the segment reads lane `read[j]` of the row (two vectors, 32 lanes).
    read: [u32; LANES],
    /// The lanes `j < w_out` whose column lies inside the row.
    read_mask: __mmask16,
    /// Per half of the row (lanes `0..16`, `16..32`): lane `L` receives lane `write[half][L]`
    /// of the segment.
    write: [[u32; LANES]; 2],
    /// Per half: the row's lanes that some segment lane is added to.
    write_mask: [__mmask16; 2],
    /// Where two output rows fit in one vector (`2·w_out ≤ 16`): lane `j < w_out` reads lane
    /// `read[j]` of the first row's vector, lane `w_out + j` lane `16 + read[j]` of the pair
    /// (the second row's vector), so one permute gives both segments.
    pair_read: [u32; LANES],
    /// The lanes of `pair_read` that read a column inside the row.
    pair_mask: __mmask16,
}

/// The permutes of one geometry, built once per batch with the tap table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowPlan {
    /// One per tap column `q`.
    columns: Vec<TapColumn>,
    /// Per tap row `p` and output row `i` (`p·h_out + i`): the input row, or `None` in the
    /// padding.
    rows: Vec<Option<usize>>,
    /// Per `p·h_out + i`: whether col2im's loop (`p`, then `i`) reaches its input row here
    /// for the first time, so that an overwriting col2im starts the row from 0 in registers
    /// instead of zeroing the plane first and loading it back.
    first_visit: Vec<bool>,
    /// The input rows no tap reads (an overwriting col2im writes them 0).
    unread_rows: Vec<usize>,
}

/// A mask of the lowest `n` lanes.
fn low_lanes(n: usize) -> __mmask16 {
    debug_assert!(n <= LANES);
    ((1u32 << n) - 1) as __mmask16
}

impl RowPlan {
    /// The plan of `g`, or `None` when its rows do not fit (wider than 32 input values, or
    /// more than 16 output values), it has no output or no tap, or a zero stride (which
    /// [`Geometry::sliding`] refuses, but the fields are public): two windows at one place
    /// would read one row twice, and col2im's order of additions would no longer be the
    /// table's.
    pub fn new(g: &Geometry) -> Option<RowPlan> {
        let fits = g.w <= 2 * LANES && g.w_out <= LANES;
        let some = g.out_pixels() > 0 && g.k_h * g.k_w > 0;
        if !fits || !some || g.stride.0 == 0 || g.stride.1 == 0 {
            return None;
        }
        let columns = (0..g.k_w)
            .map(|q| {
                let mut column = TapColumn {
                    read: [0; LANES],
                    read_mask: 0,
                    write: [[0; LANES]; 2],
                    write_mask: [0; 2],
                    pair_read: [0; LANES],
                    pair_mask: 0,
                };
                for j in 0..g.w_out {
                    if let Some(col) = g.source_col(j, q) {
                        column.read[j] = col as u32;
                        column.read_mask |= 1 << j;
                        let (half, lane) = (col / LANES, col % LANES);
                        column.write[half][lane] = j as u32;
                        column.write_mask[half] |= 1 << lane;
                    }
                }
                if 2 * g.w_out <= LANES {
                    for j in 0..g.w_out {
                        column.pair_read[j] = column.read[j];
                        column.pair_read[g.w_out + j] = LANES as u32 + column.read[j];
                    }
                    column.pair_mask = column.read_mask | (column.read_mask << g.w_out);
                }
                column
            })
            .collect();
        let rows: Vec<Option<usize>> = (0..g.k_h)
            .flat_map(|p| (0..g.h_out).map(move |i| g.source_row(i, p)))
            .collect();
        let mut visited = vec![false; g.h];
        let first_visit = rows
            .iter()
            .map(|row| row.is_some_and(|r| !std::mem::replace(&mut visited[r], true)))
            .collect();
        let unread_rows = (0..g.h).filter(|&r| !visited[r]).collect();
        Some(RowPlan {
            columns,
            rows,
            first_visit,
            unread_rows,
        })
    }
}

/// The masks of a row's halves: lanes `0..min(w, 16)`, then `16..w`.
fn row_masks<const HALVES: usize>(w: usize) -> [__mmask16; HALVES] {
    std::array::from_fn(|half| low_lanes(w.saturating_sub(half * LANES).min(LANES)))
}

/// The values at `row` as `HALVES` vectors, the lanes of `masks` (lanes outside are 0).
///
/// # Safety
/// The lanes of `masks` must be readable values at `row`; the second half's pointer,
/// `row + 16`, must stay inside the row's allocation (it does when that half has a lane).
#[inline(always)]
unsafe fn load_row<const HALVES: usize>(
    row: *const f32,
    masks: [__mmask16; HALVES],
) -> [__m512; HALVES] {
    // SAFETY: masked loads read only the lanes of `masks`.
    std::array::from_fn(|half| unsafe { _mm512_maskz_loadu_ps(masks[half], row.add(half * LANES)) })
}

/// Stores the lanes of `masks` of `halves` at `row`.
///
/// # Safety
/// As [`load_row`], with the values writable.
#[inline(always)]
unsafe fn store_row<const HALVES: usize>(
    row: *mut f32,
    masks: [__mmask16; HALVES],
    halves: [__m512; HALVES],
) {
    for half in 0..HALVES {
        // SAFETY: as in `load_row`.
        unsafe { _mm512_mask_storeu_ps(row.add(half * LANES), masks[half], halves[half]) };
    }
}

/// Sixteen `u32` lane indices as a vector.
#[inline(always)]
fn indices(lanes: &[u32; LANES]) -> __m512i {
    // SAFETY: the array holds 64 readable bytes.
    unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) }
}

/// Panics, naming `op`, unless `x` holds an image of `g` and `cols` its im2col matrix at row
/// stride `ld`: what every pointer of the loops below stays inside.
fn check_extents(op: &str, g: &Geometry, x: &[f32], cols: &[f32], ld: usize) {
    let rows = g.col_rows();
    assert!(x.len() >= g.image_len(), "{op}: x is too short");
    assert!(
        rows == 0 || cols.len() >= (rows - 1) * ld + g.out_pixels(),
        "{op}: cols is too short"
    );
}

/// [`super::im2col::im2col`] with `plan` (built for `g`): the same matrix, bit for bit.
pub fn im2col(g: &Geometry, plan: &RowPlan, x: &[f32], cols: &mut [f32], ld: usize) {
    check_extents("im2col", g, x, cols, ld);
    if g.w <= LANES && 2 * g.w_out <= LANES {
        im2col_row_pairs(g, plan, x, cols, ld);
    } else if g.w <= LANES {
        im2col_halves::<1>(g, plan, x, cols, ld);
    } else {
        im2col_halves::<2>(g, plan, x, cols, ld);
    }
}

/// [`im2col`] where a row is one vector and two output rows fit in one (14×14 → 7×7): one
/// two-source permute takes output row `i`'s segment from its input row and output row
/// `i + 1`'s from the next one, so that a store writes two segments, half the permutes and
/// stores of a row at a time. An odd last output row goes alone.
fn im2col_row_pairs(g: &Geometry, plan: &RowPlan, x: &[f32], cols: &mut [f32], ld: usize) {
    let (plane_len, k, w_out) = (g.h * g.w, g.k_h * g.k_w, g.w_out);
    let [in_mask] = row_masks::<1>(g.w);
    let (one_mask, two_mask) = (low_lanes(w_out), low_lanes(2 * w_out));
    for c in 0..g.c_in {
        let plane = &x[c * plane_len..][..plane_len];
        for p in 0..g.k_h {
            // SAFETY: row `r < h` of the plane holds `w` values.
            let row = |i: usize| match plan.rows[p * g.h_out + i] {
                Some(r) => unsafe { _mm512_maskz_loadu_ps(in_mask, plane.as_ptr().add(r * g.w)) },
                None => unsafe { _mm512_setzero_ps() },
            };
            for i in (0..g.h_out).step_by(2) {
                let pair = i + 1 < g.h_out;
                let first = row(i);
                let second = if pair { row(i + 1) } else { first };
                for (q, column) in plan.columns.iter().enumerate() {
                    let at = (c * k + p * g.k_w + q) * ld + i * w_out;
                    // SAFETY: `at + 2·w_out` (a pair) or `at + w_out` (the last row alone)
                    // is at most `(c·k + p·k_w + q)·ld + pixels ≤ cols.len()` (checked by
                    // `im2col`).
                    unsafe {
                        let to = cols.as_mut_ptr().add(at);
                        if pair {
                            let (index, mask) = (indices(&column.pair_read), column.pair_mask);
                            let segments = _mm512_maskz_permutex2var_ps(mask, first, index, second);
                            _mm512_mask_storeu_ps(to, two_mask, segments);
                        } else {
                            let (index, mask) = (indices(&column.read), column.read_mask);
                            let segment = _mm512_maskz_permutexvar_ps(mask, index, first);
                            _mm512_mask_storeu_ps(to, one_mask, segment);
                        }
                    }
                }
            }
        }
    }
}

/// [`im2col`] on rows of `HALVES` vectors.
fn im2col_halves<const HALVES: usize>(
    g: &Geometry,
    plan: &RowPlan,
    x: &[f32],
    cols: &mut [f32],
    ld: usize,
) {
    let (plane_len, k) = (g.h * g.w, g.k_h * g.k_w);
    let (in_masks, out_mask) = (row_masks::<HALVES>(g.w), low_lanes(g.w_out));
    for c in 0..g.c_in {
        for p in 0..g.k_h {
            for i in 0..g.h_out {
                let halves = match plan.rows[p * g.h_out + i] {
                    // SAFETY: row `r < h` of plane `c < c_in` holds `w` values of `x`.
                    Some(r) => unsafe {
                        load_row(x.as_ptr().add(c * plane_len + r * g.w), in_masks)
                    },
                    None => [unsafe { _mm512_setzero_ps() }; HALVES],
                };
                for (q, column) in plan.columns.iter().enumerate() {
                    let read = indices(&column.read);
                    let at = (c * k + p * g.k_w + q) * ld + i * g.w_out;
                    // SAFETY: `at + w_out ≤ (c_in·k − 1)·ld + pixels ≤ cols.len()` (checked
                    // above), and the store writes `w_out` lanes.
                    unsafe {
                        let segment = if HALVES == 1 {
                            _mm512_maskz_permutexvar_ps(column.read_mask, read, halves[0])
                        } else {
                            _mm512_maskz_permutex2var_ps(
                                column.read_mask,
                                halves[0],
                                read,
                                halves[HALVES - 1],
                            )
                        };
                        _mm512_mask_storeu_ps(cols.as_mut_ptr().add(at), out_mask, segment);
                    }
                }
            }
        }
    }
}

/// [`super::im2col::col2im`] with `plan` (built for `g`): the same sums, bit for bit.
pub fn col2im(
    g: &Geometry,
    plan: &RowPlan,
    cols: &[f32],
    ld: usize,
    x: &mut [f32],
    mode: Accumulate,
) {
    check_extents("col2im", g, x, cols, ld);
    let plane_len = g.h * g.w;
    if mode == Accumulate::Overwrite {
        for c in 0..g.c_in {
            for &r in &plan.unread_rows {
                x[c * plane_len + r * g.w..][..g.w].fill(0.0);
            }
        }
    }
    if g.w <= LANES {
        col2im_halves::<1>(g, plan, cols, ld, x, mode);
    } else {
        col2im_halves::<2>(g, plan, cols, ld, x, mode);
    }
}

/// [`col2im`]'s sums on rows of `HALVES` vectors, the unread rows already handled.
fn col2im_halves<const HALVES: usize>(
    g: &Geometry,
    plan: &RowPlan,
    cols: &[f32],
    ld: usize,
    x: &mut [f32],
    mode: Accumulate,
) {
    let (plane_len, k) = (g.h * g.w, g.k_h * g.k_w);
    let (row_masks, in_mask) = (row_masks::<HALVES>(g.w), low_lanes(g.w_out));
    for c in 0..g.c_in {
        for p in 0..g.k_h {
            for i in 0..g.h_out {
                let Some(r) = plan.rows[p * g.h_out + i] else {
                    continue;
                };
                // SAFETY: row `r < h` of plane `c < c_in` holds `w` values of `x`; the segments
                // lie in `cols` (checked above).
                unsafe {
                    let row = x.as_mut_ptr().add(c * plane_len + r * g.w);
                    // An overwritten row starts from 0, as the table loop's zeroed plane.
                    let mut halves =
                        if mode == Accumulate::Overwrite && plan.first_visit[p * g.h_out + i] {
                            [_mm512_setzero_ps(); HALVES]
                        } else {
                            load_row(row, row_masks)
                        };
                    for (q, column) in plan.columns.iter().enumerate() {
                        let at = (c * k + p * g.k_w + q) * ld + i * g.w_out;
                        let segment = _mm512_maskz_loadu_ps(in_mask, cols.as_ptr().add(at));
                        for (half, (write, &mask)) in halves
                            .iter_mut()
                            .zip(column.write.iter().zip(&column.write_mask))
                        {
                            let terms = _mm512_maskz_permutexvar_ps(mask, indices(write), segment);
                            *half = _mm512_mask_add_ps(*half, mask, *half, terms);
                        }
                    }
                    store_row(row, row_masks, halves);
                }
            }
        }
    }
}
