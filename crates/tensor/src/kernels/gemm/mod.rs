//! GEMM: `C[m×n] = A[m×k]·B[k×n] + beta·C`, the kernel under every dense and conv layer.
//!
//! Two implementations with the same contract:
//!
//! - [`reference::gemm`]: the triple loop, accumulating in f64. The oracle for the tests.
//! - [`gemm`]: the BLIS loop nest (see bluss/matrixmultiply src/gemm.rs, and the BLIS papers by
//!   Van Zee and van de Geijn). C is cut into blocks so that the data the innermost loops reuse
//!   stays in cache, blocks of A and B are copied ("packed", [`pack`]) into the order the
//!   microkernel reads them, and a 6×16 register tile of C is computed with 8-lane FMAs
//!   ([`simd`]):
//!
//! ```text
//! loop 5  jc: nc-wide column blocks of B and C        (NC: B block stays in L3)
//! loop 4  pc: kc-deep slices of k, pack B[pc, jc]     (KC: one B panel fits in L1)
//! loop 3  ic: mc-tall row blocks of A and C, pack A   (MC: the A block stays in L2)
//! loop 2  jr: NR-wide panels of the packed B block
//! loop 1  ir: MR-tall panels of the packed A block
//!         microkernel: C[ir.., jr..] += Apanel(MR×kc) · Bpanel(kc×NR) in registers
//! ```
//!
//! Thin shapes bend the nest a little: a row-major operand may be read in place instead of
//! packed (see `reads_b_in_place`, `reads_a_in_place`: B when `m <= IN_PLACE_B_MAX_M = 18`,
//! A when `n <= IN_PLACE_A_MAX_N = 128`); with a single A block (`m <= MC`) each B panel is
//! packed in loop 2, just before loop 1 uses it; and a ragged last A panel (`m = 16`
//! leaves 4 rows) runs a 2- or 4-row microkernel, so padding rows cost no FMAs.
//!
//! Operands are strided views ([`MatRef`]), so the `Aᵀ` and `Bᵀ` of matmul's backward pass are a
//! swap of strides ([`MatRef::t`]); packing absorbs the strides, so the microkernel never sees
//! them.
//!
//! **Threads.** With [`Parallelism::Rayon`] the *output* C is cut into a grid of tiles, one per
//! thread, and each tile runs the whole loop nest on its own (packing its own blocks); the
//! calling thread computes the first tile while the pool computes the others. The k
//! dimension is never split, and every C element receives its kc-slices in the same order with
//! the same FMAs whatever tile it falls in, so the result is bit-for-bit the same for any
//! thread count.

pub mod pack;
pub mod reference;
pub mod simd;

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Parallelism;
use simd::{APanel, BPanel, MR, NR};

/// Depth of a k slice (loop 4). A packed B panel (`KC×NR` f32 = 16 KiB) stays in L1 while the
/// microkernel streams the A block past it. The actual depth is balanced: `k` is cut into
/// `ceil(k/KC)` equal slices, so `k = 1568` runs as 7 slices of 224, not 6 of 256 and one of 32.
const KC: usize = 256;
/// Height of an A block (loop 3), a multiple of MR. `MC×KC` f32 = 72 KiB sits in L2.
const MC: usize = 72;
/// Width of a B block (loop 5), a multiple of NR. `KC×NC` f32 = 4 MiB, the size of an L3 slice.
const NC: usize = 4096;
/// Below this many flops a call runs on the calling thread: waking a second thread costs a few
/// microseconds, as long as the whole product takes.
const PAR_MIN_FLOPS: usize = 1 << 20;
/// How long a caller outside the pool spins, once its own tile is done, for the pool's tiles
/// before it sleeps: 4000 `pause` instructions (about 100 µs on Zen 4), longer than waking a
/// sleeping thread takes on a VM.
const SPIN_ROUNDS: usize = 4_000;
/// B is read in place (not packed) when A has at most this many rows; see `reads_b_in_place`.
const IN_PLACE_B_MAX_M: usize = 18;
/// A is read in place when B has at most this many columns; see `reads_a_in_place`.
const IN_PLACE_A_MAX_N: usize = 128;

/// A read-only strided view of a matrix: element (i, j) is `data[i*row_stride + j*col_stride]`.
///
/// A row-major `rows×cols` matrix has `row_stride = cols, col_stride = 1`; its transpose is the
/// same data with the strides swapped.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The backing storage; must reach the last element `(rows-1, cols-1)`.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance in `data` between element (i, j) and (i+1, j).
    pub row_stride: usize,
    /// Distance in `data` between element (i, j) and (i, j+1).
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as a row-major `rows×cols` matrix.
    ///
    /// ```
    /// use tensor::kernels::gemm::MatRef;
    /// let a = MatRef::row_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    /// assert_eq!(a.at(1, 0), 4.0);
    /// assert_eq!(a.t().at(0, 1), 4.0);
    /// ```
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "MatRef::row_major: {rows}×{cols} needs {} values, got {}",
            rows * cols,
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transposed view: rows and columns swap, and so do the strides. No data moves.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Element (i, j).
    pub fn at(&self, i: usize, j: usize) -> f32 {
        debug_assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {}×{}",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// The sub-view of `rows` rows from `i0` and `cols` columns from `j0` (a slice of `data`).
    fn block(self, i0: usize, rows: usize, j0: usize, cols: usize) -> Self {
        debug_assert!(i0 + rows <= self.rows && j0 + cols <= self.cols);
        let offset = if rows == 0 || cols == 0 {
            0
        } else {
            i0 * self.row_stride + j0 * self.col_stride
        };
        Self {
            data: &self.data[offset..],
            rows,
            cols,
            ..self
        }
    }
}

/// Panics, naming both shapes, unless `A[m×k]·B[k×n]` fits a C of `m·n` values.
fn check_shapes(a: &MatRef, b: &MatRef, c: &[f32]) {
    assert!(
        a.cols == b.rows,
        "gemm: inner dimensions differ: A is {}×{}, B is {}×{}",
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
    assert!(
        c.len() == a.rows * b.cols,
        "gemm: C has {} values but A is {}×{} and B is {}×{} (C must be {}×{})",
        c.len(),
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        a.rows,
        b.cols
    );
}

/// `C[m×n] = A[m×k]·B[k×n] + beta·C`, with C row-major and contiguous (row stride `n`).
///
/// `beta == 0` means C is only written, never read, so it may hold garbage or NaN; `k == 0`
/// gives `C = beta·C`. With [`Parallelism::Rayon`] the work is spread over rayon's current
/// pool; the result is bit-for-bit the same as with [`Parallelism::Sequential`].
///
/// # Panics
/// If `A.cols != B.rows` or `c.len() != m·n`; the message names both shapes.
///
/// ```
/// use tensor::{Parallelism, kernels::gemm::{MatRef, gemm}};
/// // [1 2]   [5 6]   [1·5+2·7 1·6+2·8]   [19 22]
/// // [3 4] · [7 8] = [3·5+4·7 3·6+4·8] = [43 50]
/// let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
/// let mut c = [0.0; 4];
/// gemm(MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2), 0.0, &mut c, Parallelism::Rayon);
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// ```
pub fn gemm(a: MatRef, b: MatRef, beta: f32, c: &mut [f32], par: Parallelism) {
    check_shapes(&a, &b, c);
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: C = 0 + beta·C (and beta == 0 must not read C).
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|x| *x *= beta);
        }
        return;
    }
    let threads = match par {
        Parallelism::Rayon if 2 * m * n * k >= PAR_MIN_FLOPS => rayon::current_num_threads(),
        _ => 1,
    };
    let grid = choose_grid(m, n, k, threads, &a, &b);
    let row_cuts = cuts(m, MR, grid.0);
    let col_cuts = cuts(n, NR, grid.1);
    let mut tiles = split_c(c, n, &row_cuts, &col_cuts);
    if tiles.len() == 1 {
        blocked(a, b, beta, &mut tiles[0].2);
        return;
    }
    // One task per tile of C: each owns the rows slices it writes, so no two threads share
    // an output element, and none of them waits for another. The calling thread computes the
    // first tile itself instead of sleeping until the pool is done: waking a pool thread costs
    // tens of microseconds on a VM, and this way the caller's own work hides that wait.
    let run_tile = |(rows, cols, c_rows): &mut Tile| {
        let a_tile = a.block(rows.start, rows.len(), 0, k);
        let b_tile = b.block(0, k, cols.start, cols.len());
        blocked(a_tile, b_tile, beta, c_rows);
    };
    let (first, rest) = tiles.split_first_mut().expect("at least one tile");
    let pending = AtomicUsize::new(rest.len());
    rayon::in_place_scope(|scope| {
        for tile in rest {
            let pending = &pending;
            scope.spawn(move |_| {
                run_tile(tile);
                pending.fetch_sub(1, Ordering::Release);
            });
        }
        run_tile(first);
        // A thread outside the pool that finishes first would sleep at the end of the scope,
        // and waking it costs as much as waking a worker. Spin briefly instead (bounded, so a
        // busy pool only costs this much; the scope's own wait follows either way).
        if rayon::current_thread_index().is_none() {
            for _ in 0..SPIN_ROUNDS {
                if pending.load(Ordering::Acquire) == 0 {
                    break;
                }
                std::hint::spin_loop();
            }
        }
    });
}

/// Picks how to cut C into a `tm×tn` grid of tiles for at most `threads` threads.
///
/// Each tile packs its own blocks, so cutting C's rows makes every row tile pack (all of) B
/// again and cutting its columns re-packs A. The estimate below, in rough cycles, weighs that
/// duplicated packing against uneven work (tiles are whole MR×NR register tiles, so 11 row
/// panels split 6 + 5). The grid never changes the arithmetic, only who does it.
fn choose_grid(
    m: usize,
    n: usize,
    k: usize,
    threads: usize,
    a: &MatRef,
    b: &MatRef,
) -> (usize, usize) {
    let (m_panels, n_panels) = (m.div_ceil(MR), n.div_ceil(NR));
    let mut best = ((1, 1), f64::INFINITY);
    for t in 1..=threads {
        for tm in (1..=t).filter(|tm| t % tm == 0) {
            let tn = t / tm;
            if tm > m_panels || tn > n_panels {
                continue;
            }
            let (pm, pn) = (m_panels.div_ceil(tm), n_panels.div_ceil(tn));
            // 12 FMA instructions per k step of a register tile, 2 per cycle.
            let work = (pm * pn * k * 6) as f64;
            let (m_tile, n_tile) = (pm * MR, pn * NR);
            let pack_a = if reads_a_in_place(a, n_tile) {
                0.0
            } else {
                (m_tile * k) as f64
            };
            let pack_b = if reads_b_in_place(b, m_tile) {
                0.0
            } else {
                (n_tile * k) as f64 * 0.5
            };
            let cost = work + pack_a + pack_b;
            if cost < best.1 * 0.98 {
                best = ((tm, tn), cost);
            }
        }
    }
    best.0
}

/// Boundaries of `parts` runs of whole `unit`-sized pieces covering `0..len`: `[0, .., len]`.
fn cuts(len: usize, unit: usize, parts: usize) -> Vec<usize> {
    let per_part = len.div_ceil(unit).div_ceil(parts) * unit;
    let mut cuts: Vec<usize> = (0..parts).map(|t| (t * per_part).min(len)).collect();
    cuts.push(len);
    cuts.dedup();
    cuts
}

/// A tile of C: its row range, its column range, and one mutable slice per row.
type Tile<'c> = (
    std::ops::Range<usize>,
    std::ops::Range<usize>,
    Vec<&'c mut [f32]>,
);

/// Cuts row-major `c` (row stride `n`) into tiles along `row_cuts × col_cuts`, safely: each row
/// is split with `split_at_mut`, and a tile is the list of its row pieces.
fn split_c<'c>(
    c: &'c mut [f32],
    n: usize,
    row_cuts: &[usize],
    col_cuts: &[usize],
) -> Vec<Tile<'c>> {
    let mut tiles: Vec<Tile<'c>> = Vec::new();
    for r in row_cuts.windows(2) {
        for col in col_cuts.windows(2) {
            tiles.push((r[0]..r[1], col[0]..col[1], Vec::with_capacity(r[1] - r[0])));
        }
    }
    let tn = col_cuts.len() - 1;
    for (i, mut row) in c.chunks_exact_mut(n).enumerate() {
        let ti = row_cuts.partition_point(|&cut| cut <= i) - 1;
        for tj in 0..tn {
            let (piece, rest) = row.split_at_mut(col_cuts[tj + 1] - col_cuts[tj]);
            tiles[ti * tn + tj].2.push(piece);
            row = rest;
        }
    }
    tiles
}

/// Whether the microkernel may read B's panels straight from the caller's memory.
///
/// A row-major B already has each row's NR values contiguous, which is all the microkernel
/// needs. Packing B pays off when a B panel is reused by many A panels; with at most
/// `IN_PLACE_B_MAX_M = 18` rows of A (three MR = 6 panels, the lab's 16-channel layers
/// included) each panel is read by at most three microkernel calls per k slice, and the copy would cost as much as the thin products
/// (`16×9·9×12544`) it feeds.
fn reads_b_in_place(b: &MatRef, m: usize) -> bool {
    b.col_stride == 1 && m <= IN_PLACE_B_MAX_M
}

/// Whether the microkernel may read A's panels straight from the caller's memory.
///
/// The microkernel broadcasts A one element at a time, so any strides work; a row-major A
/// reads each of MR rows sequentially. Packing A pays off when the block is reused across
/// many B panels (and keeps rows whose stride is a multiple of 4 KiB from evicting each other
/// in L1); for narrow C (`n <= IN_PLACE_A_MAX_N`) the copy costs more than it saves.
fn reads_a_in_place(a: &MatRef, n: usize) -> bool {
    a.col_stride == 1 && n <= IN_PLACE_A_MAX_N
}

/// Packing buffers, one set per thread, kept between calls so a GEMM does not allocate.
#[derive(Default)]
struct Scratch {
    /// Packed A block: `ceil(mc/MR)` panels of `MR×kc`.
    a: Vec<f32>,
    /// Packed B block: `ceil(nc/NR)` panels of `kc×NR`.
    b: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Grows `buf` to hold `len` values starting at a 64-byte boundary, and returns that window.
///
/// Aligning packed panels to cache lines means no 32-byte load of B straddles two lines,
/// which would cost the load port twice. (The contents are overwritten by packing.)
fn reserve(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    const SLACK: usize = 64 / size_of::<f32>();
    if buf.len() < len + SLACK {
        buf.resize(len + SLACK, 0.0);
    }
    let start = buf.as_ptr().align_offset(64).min(SLACK);
    &mut buf[start..start + len]
}

/// The sequential BLIS loop nest for one tile: `C = A·B + beta·C`, C given as row slices.
fn blocked(a: MatRef, b: MatRef, beta: f32, c_rows: &mut [&mut [f32]]) {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => blocked_with(a, b, beta, c_rows, &mut scratch),
        // Only reachable if a caller re-enters GEMM on this thread mid-call; use fresh buffers.
        Err(_) => blocked_with(a, b, beta, c_rows, &mut Scratch::default()),
    });
}

fn blocked_with(a: MatRef, b: MatRef, beta: f32, c_rows: &mut [&mut [f32]], scratch: &mut Scratch) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // Balanced block sizes: equal k slices, and A blocks of equal height in whole MR panels.
    let kc_max = k.div_ceil(k.div_ceil(KC));
    let mc_max = m.div_ceil(m.div_ceil(MC)).next_multiple_of(MR);
    let nc_max = NC.min(n.next_multiple_of(NR));
    let b_in_place = reads_b_in_place(&b, m);
    // With a single A block, loop 1 uses each B panel once per k slice: pack it just before
    // (into an L1-sized buffer), rather than the whole block up front through L2.
    let b_per_panel = !b_in_place && m <= MC;
    let a_in_place = reads_a_in_place(&a, n);
    // Read in place, an operand needs a buffer only for its ragged last panel.
    let a_buf = reserve(
        &mut scratch.a,
        if a_in_place { MR } else { mc_max } * kc_max,
    );
    let b_buf = reserve(
        &mut scratch.b,
        if b_in_place || b_per_panel {
            NR
        } else {
            nc_max
        } * kc_max,
    );

    // Loop 5: nc-wide column blocks of B and C.
    for jc in (0..n).step_by(nc_max) {
        let nc = nc_max.min(n - jc);
        // Loop 4: kc-deep slices of k. C keeps the running sum, so only the first slice
        // applies the caller's beta; later ones add on top (beta = 1).
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            let beta_k = if pc == 0 { beta } else { 1.0 };
            // Pack B[pc.., jc..] into NR-column panels. Read in place, only the ragged last
            // panel is packed (its zero padding stands in for the missing columns).
            if !b_in_place && !b_per_panel {
                pack::pack_b(b, pc, kc, jc, nc, b_buf);
            } else if b_in_place && nc % NR != 0 {
                pack::pack_b(b, pc, kc, jc + nc / NR * NR, nc % NR, b_buf);
            }
            // Loop 3: mc-tall row blocks of A and C; pack A[ic.., pc..] into MR-row panels.
            for ic in (0..m).step_by(mc_max) {
                let mc = mc_max.min(m - ic);
                if !a_in_place {
                    pack::pack_a(a, ic, mc, pc, kc, a_buf);
                } else if mc % MR != 0 {
                    pack::pack_a(a, ic + mc / MR * MR, mc % MR, pc, kc, a_buf);
                }
                // Loop 2: NR-wide panels of B; the panel stays in L1 across loop 1.
                for jr in (0..nc).step_by(NR) {
                    let cols = NR.min(nc - jr);
                    let b_panel = if b_in_place && cols == NR {
                        let start = pc * b.row_stride + jc + jr;
                        BPanel {
                            data: &b.data[start..],
                            rs: b.row_stride,
                        }
                    } else {
                        let start = if b_per_panel {
                            pack::pack_b(b, pc, kc, jc + jr, cols, b_buf);
                            0
                        } else if b_in_place {
                            0
                        } else {
                            jr * kc
                        };
                        BPanel {
                            data: &b_buf[start..],
                            rs: NR,
                        }
                    };
                    // Loop 1: MR-tall panels of A, each against the same B panel.
                    for ir in (0..mc).step_by(MR) {
                        let rows = MR.min(mc - ir);
                        let c_tile = &mut c_rows[ic + ir..];
                        let j0 = jc + jr;
                        if a_in_place && rows == MR {
                            let start = (ic + ir) * a.row_stride + pc;
                            let a_panel = APanel {
                                data: &a.data[start..],
                                rs: a.row_stride,
                                cs: 1,
                            };
                            tile::<MR>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols);
                            continue;
                        }
                        // A packed panel (constant strides); a ragged one skips padding rows.
                        let start = if a_in_place { 0 } else { ir * kc };
                        let a_panel = APanel {
                            data: &a_buf[start..],
                            rs: 1,
                            cs: MR,
                        };
                        match rows {
                            1 | 2 => {
                                tile::<2>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols)
                            }
                            3 | 4 => {
                                tile::<4>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols)
                            }
                            _ => tile::<MR>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols),
                        }
                    }
                }
            }
        }
    }
}

/// One register tile: the microkernel on the first `ROWS` rows of `a_panel`, then the store of
/// its `rows×cols` corner (`rows <= ROWS`) into C at column `j0`.
#[allow(
    clippy::too_many_arguments,
    reason = "the loop nest's state, passed as is"
)]
#[inline(always)]
fn tile<const ROWS: usize>(
    kc: usize,
    a_panel: APanel,
    b_panel: BPanel,
    beta: f32,
    c_tile: &mut [&mut [f32]],
    j0: usize,
    rows: usize,
    cols: usize,
) {
    let acc = simd::kernel_f32x8::<ROWS>(kc, a_panel, b_panel);
    if rows == MR && cols == NR {
        // The common case, with constant sizes so the stores unroll.
        simd::store_tile(&acc, beta, c_tile, j0, MR, NR);
    } else {
        simd::store_tile(&acc, beta, c_tile, j0, rows, cols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Pick;
    use wide::f32x8;

    /// Asserts `|got − want| <= 1e-4 · scale` per element, where `scale = Σ_p |A[i,p]·B[p,j]|`
    /// plus `|beta·C|` is the size of the terms summed: f32 rounding error grows with it (and so
    /// with k), not with the possibly cancelling result.
    fn assert_matches_reference(
        a: MatRef,
        b: MatRef,
        beta: f32,
        c0: &[f32],
        got: &[f32],
        what: &str,
    ) {
        let mut want = c0.to_vec();
        reference::gemm(a, b, beta, &mut want);
        let n = b.cols;
        for (idx, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let (i, j) = (idx / n, idx % n);
            let mut scale: f32 = (0..a.cols).map(|p| (a.at(i, p) * b.at(p, j)).abs()).sum();
            if beta != 0.0 {
                scale += (beta * c0[idx]).abs();
            }
            let tol = 1e-4 * scale.max(1.0);
            assert!(
                (g - w).abs() <= tol,
                "{what}: C[{i},{j}] = {g}, reference {w}, |diff| {} > tol {tol}",
                (g - w).abs()
            );
        }
    }

    /// Stores A (m×k) either row-major, or as its transpose (k×m, row-major) viewed through `.t()`.
    fn operand(data: &[f32], rows: usize, cols: usize, transposed: bool) -> MatRef<'_> {
        if transposed {
            MatRef::row_major(data, cols, rows).t()
        } else {
            MatRef::row_major(data, rows, cols)
        }
    }

    #[test]
    fn gemm_matches_reference_over_shapes_transposes_and_betas() {
        let sizes = [1, 3, 7, 17, 33, 65, 127];
        let mut rng = Pick::new(0x9E37_79B9);
        let mut case = 0;
        for &m in &sizes {
            for &n in &sizes {
                for &k in &sizes {
                    // Every combination of sizes, cycling through transposes and betas so the
                    // sweep stays fast but each pair of (layout, beta) is covered many times.
                    let ta = case % 2 == 1;
                    let tb = (case / 2) % 2 == 1;
                    let beta = [0.0, 1.0, 0.5][case % 3];
                    case += 1;
                    let (a_data, b_data) = (rng.values(m * k), rng.values(k * n));
                    let (a, b) = (operand(&a_data, m, k, ta), operand(&b_data, k, n, tb));
                    let c0 = rng.values(m * n);
                    let mut c = c0.clone();
                    gemm(a, b, beta, &mut c, Parallelism::Rayon);
                    let what = format!("{m}×{k}·{k}×{n} ta={ta} tb={tb} beta={beta}");
                    assert_matches_reference(a, b, beta, &c0, &c, &what);
                }
            }
        }
    }

    #[test]
    fn gemm_all_transposes_all_betas_on_ragged_shapes() {
        let mut rng = Pick::new(7);
        for (m, n, k) in [(65, 33, 127), (127, 17, 300), (13, 200, 5), (300, 41, 70)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta in [0.0, 1.0, 0.5] {
                    let (a_data, b_data) = (rng.values(m * k), rng.values(k * n));
                    let (a, b) = (operand(&a_data, m, k, ta), operand(&b_data, k, n, tb));
                    let c0 = rng.values(m * n);
                    let mut c = c0.clone();
                    gemm(a, b, beta, &mut c, Parallelism::Rayon);
                    let what = format!("{m}×{k}·{k}×{n} ta={ta} tb={tb} beta={beta}");
                    assert_matches_reference(a, b, beta, &c0, &c, &what);
                }
            }
        }
    }

    #[test]
    fn gemm_beta_zero_ignores_nan_in_c() {
        let mut rng = Pick::new(3);
        for (m, n, k) in [(1, 1, 1), (7, 17, 33), (65, 127, 300)] {
            let (a_data, b_data) = (rng.values(m * k), rng.values(k * n));
            let (a, b) = (
                MatRef::row_major(&a_data, m, k),
                MatRef::row_major(&b_data, k, n),
            );
            let mut c = vec![f32::NAN; m * n];
            gemm(a, b, 0.0, &mut c, Parallelism::Rayon);
            assert_matches_reference(a, b, 0.0, &vec![0.0; m * n], &c, "NaN-filled C");
            let mut c_ref = vec![f32::NAN; m * n];
            reference::gemm(a, b, 0.0, &mut c_ref);
            assert!(
                c_ref.iter().all(|x| x.is_finite()),
                "reference read a NaN C"
            );
        }
    }

    #[test]
    fn gemm_by_hand_2x3_times_3x2() {
        // A = [1 2 3; 4 5 6], B = [7 8; 9 10; 11 12]
        // C[0,0] = 1·7 + 2·9 + 3·11 = 58     C[0,1] = 1·8 + 2·10 + 3·12 = 64
        // C[1,0] = 4·7 + 5·9 + 6·11 = 139    C[1,1] = 4·8 + 5·10 + 6·12 = 154
        // With beta = 0.5 and C = [2 4; 6 8] beforehand: add [1 2; 3 4].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let (a, b) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 2));
        let mut c = [2.0, 4.0, 6.0, 8.0];
        gemm(a, b, 0.5, &mut c, Parallelism::Sequential);
        assert_eq!(c, [59.0, 66.0, 142.0, 158.0]);
        let mut c_ref = [2.0, 4.0, 6.0, 8.0];
        reference::gemm(a, b, 0.5, &mut c_ref);
        assert_eq!(c_ref, [59.0, 66.0, 142.0, 158.0]);
    }

    #[test]
    fn gemm_times_identity_is_exact() {
        // Every C element is one product x·1 plus zeros, so A·I must equal A bit for bit.
        let mut rng = Pick::new(11);
        for (m, k) in [(1, 1), (7, 17), (65, 33), (130, 300)] {
            let a_data = rng.values(m * k);
            let mut eye = vec![0.0; k * k];
            (0..k).for_each(|i| eye[i * k + i] = 1.0);
            let mut c = vec![f32::NAN; m * k];
            let a = MatRef::row_major(&a_data, m, k);
            gemm(
                a,
                MatRef::row_major(&eye, k, k),
                0.0,
                &mut c,
                Parallelism::Rayon,
            );
            assert_eq!(c, a_data, "A·I != A for {m}×{k}");
        }
    }

    #[test]
    fn gemm_is_bitwise_identical_for_any_thread_count() {
        let mut rng = Pick::new(5);
        for (m, n, k, ta, tb) in [
            (300, 200, 517, false, false),
            (300, 200, 517, true, true),
            (64, 64, 1568, false, false),
            (16, 12544, 9, false, false),
            (37, 1001, 300, false, true),
        ] {
            let (a_data, b_data) = (rng.values(m * k), rng.values(k * n));
            let (a, b) = (operand(&a_data, m, k, ta), operand(&b_data, k, n, tb));
            let c0 = rng.values(m * n);
            let run = |threads: usize, par: Parallelism| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut c = c0.clone();
                pool.install(|| gemm(a, b, 0.5, &mut c, par));
                c
            };
            let sequential = run(1, Parallelism::Sequential);
            let what = format!("{m}×{k}·{k}×{n}");
            assert_matches_reference(a, b, 0.5, &c0, &sequential, &what);
            for threads in [1, 2, 3] {
                let parallel = run(threads, Parallelism::Rayon);
                let same = parallel
                    .iter()
                    .zip(&sequential)
                    .all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{what}: {threads} threads differ from Sequential");
            }
        }
    }

    #[test]
    fn gemm_with_empty_dimensions() {
        // k = 0: the sum is empty, so C = beta·C (and beta = 0 clears even NaN).
        let mut c = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (a, b) = (MatRef::row_major(&[], 2, 0), MatRef::row_major(&[], 0, 3));
        gemm(a, b, 0.5, &mut c, Parallelism::Rayon);
        assert_eq!(c, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        let mut c = [f32::NAN; 6];
        gemm(a, b, 0.0, &mut c, Parallelism::Rayon);
        assert_eq!(c, [0.0; 6]);
        // m = 0 and n = 0: C is empty and nothing may be written. C is the empty front of a
        // sentinel buffer, so a stray write past it would show.
        let b_data = [1.0; 6];
        let mut sentinel = [7.0f32; 4];
        gemm(
            MatRef::row_major(&[], 0, 2),
            MatRef::row_major(&b_data, 2, 3),
            0.0,
            &mut sentinel[..0],
            Parallelism::Rayon,
        );
        gemm(
            MatRef::row_major(&b_data, 3, 2),
            MatRef::row_major(&[], 2, 0),
            1.0,
            &mut sentinel[..0],
            Parallelism::Rayon,
        );
        assert_eq!(sentinel, [7.0; 4]);
    }

    #[test]
    #[should_panic(expected = "gemm: C has 3 values")]
    fn gemm_with_no_rows_still_checks_c() {
        let b_data = [1.0; 6];
        gemm(
            MatRef::row_major(&[], 0, 2),
            MatRef::row_major(&b_data, 2, 3),
            0.0,
            &mut [0.0; 3],
            Parallelism::Rayon,
        );
    }

    #[test]
    #[should_panic(expected = "A is 2×3, B is 2×2")]
    fn gemm_panics_on_inner_dimension_mismatch() {
        let mut c = [0.0; 4];
        gemm(
            MatRef::row_major(&[0.0; 6], 2, 3),
            MatRef::row_major(&[0.0; 4], 2, 2),
            0.0,
            &mut c,
            Parallelism::Rayon,
        );
    }

    /// Runs both microkernels on the first `ROWS` rows of the same panels; panics on any
    /// differing bit, and returns the vector tile.
    fn kernels_agree<const ROWS: usize>(kc: usize, a: APanel, b: BPanel) -> [[f32x8; 2]; ROWS] {
        let scalar = simd::kernel_scalar::<ROWS>(kc, a, b);
        let vector = simd::kernel_f32x8::<ROWS>(kc, a, b);
        for i in 0..ROWS {
            let lanes: Vec<f32> = vector[i].iter().flat_map(|v| v.to_array()).collect();
            assert_eq!(lanes, scalar[i], "row {i} of {ROWS}, b_rs {}", b.rs);
        }
        vector
    }

    #[test]
    // Without hardware FMA, `wide`'s `mul_add` rounds twice while `f32::mul_add` stays fused,
    // so the two kernels agree only when both are single FMAs (`.cargo/config.toml` builds for
    // the native CPU, which has FMA here).
    #[cfg_attr(not(target_feature = "fma"), ignore = "needs FMA")]
    fn scalar_and_simd_microkernels_agree_bit_for_bit() {
        // Same FMAs in the same order, so the lane type must not change a single bit; nor may
        // the number of rows computed (the ragged-panel kernels) change a row's result.
        let mut rng = Pick::new(13);
        let kc = 37;
        let a = rng.values(kc * MR);
        let b = rng.values((kc - 1) * (NR + 3) + NR);
        for b_rs in [NR, NR + 3] {
            let (a, b) = (
                APanel {
                    data: &a,
                    rs: 1,
                    cs: MR,
                },
                BPanel { data: &b, rs: b_rs },
            );
            let full = kernels_agree::<MR>(kc, a, b);
            let four = kernels_agree::<4>(kc, a, b);
            let two = kernels_agree::<2>(kc, a, b);
            let bits = |rows: &[[f32x8; 2]]| -> Vec<u32> {
                rows.iter()
                    .flatten()
                    .flat_map(|v| v.to_array().map(f32::to_bits))
                    .collect()
            };
            assert_eq!(bits(&full[..4]), bits(&four), "4-row kernel, b_rs {b_rs}");
            assert_eq!(bits(&full[..2]), bits(&two), "2-row kernel, b_rs {b_rs}");
        }
    }

    #[test]
    fn packing_pads_with_zeros() {
        // A 7×2 block packs into two panels of MR = 6 rows; the second has 5 padding rows.
        let data: Vec<f32> = (1..=14).map(|x| x as f32).collect();
        let a = MatRef::row_major(&data, 7, 2);
        let mut buf = vec![f32::NAN; 2 * MR * 2];
        pack::pack_a(a, 0, 7, 0, 2, &mut buf);
        assert_eq!(&buf[..MR], &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0]); // column 0 of rows 0..6
        assert_eq!(&buf[2 * MR..3 * MR], &[13.0, 0.0, 0.0, 0.0, 0.0, 0.0]); // column 0 of row 6
        let b = MatRef::row_major(&data, 2, 7);
        let mut buf = vec![f32::NAN; 2 * NR];
        pack::pack_b(b, 0, 2, 0, 7, &mut buf);
        assert_eq!(&buf[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]);
        assert!(buf[7..NR].iter().all(|&x| x == 0.0));
    }
}
