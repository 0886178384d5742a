//! GEMM: `C[m×n] = A[m×k]·B[k×n] + beta·C`, the kernel under every dense and conv layer.
//!
//! Two implementations with the same contract:
//!
//! - [`reference::gemm`]: the triple loop, accumulating in f64. The oracle for the tests.
//! - [`gemm`]: the BLIS loop nest (see bluss/matrixmultiply src/gemm.rs, and the BLIS papers by
//!   Van Zee and van de Geijn). C is cut into blocks so that the data the innermost loops reuse
//!   stays in cache, blocks of A and B are copied ("packed", [`pack`]) into the order the
//!   microkernel reads them, and an MR×NR register tile of C is computed with SIMD FMAs
//!   ([`simd`]: 8×32 with 16 lanes on AVX-512, 6×16 with 8 lanes otherwise):
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
//! What the shape changes is decided once, in a [`Plan`]: thin operands are read in place
//! instead of packed, and a single A block packs each B panel just before it is used
//! ([`plan`] says when and why). [`gemm_always_packed`] runs the same nest with everything
//! packed, the textbook version. A ragged last A panel (`m = 20` leaves 4 rows) runs a 2-, 4-
//! or 6-row microkernel, so padding rows cost no FMAs.
//!
//! Operands are strided views ([`MatRef`]), so the `Aᵀ` and `Bᵀ` of matmul's backward pass are a
//! swap of strides ([`MatRef::t`]); packing absorbs the strides, so the microkernel never sees
//! them.
//!
//! **Threads.** With [`Parallelism::Rayon`] the output C is cut into a grid of tiles, one per
//! thread ([`threads`]); the k dimension is never split, so the result is bit-for-bit the same
//! for any thread count.

pub mod dot;
pub mod pack;
pub mod plan;
pub mod reference;
pub mod simd;
pub mod threads;

use std::cell::RefCell;

use crate::Parallelism;
pub use plan::{BSource, Packing, Plan};
use simd::{APanel, BPanel, Lanes, MR, NR, NV, Simd};

/// Below this many flops a call runs on the calling thread: waking a second thread costs a few
/// microseconds, as long as the whole product takes.
const PAR_MIN_FLOPS: usize = 1 << 20;

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
    gemm_with(a, b, beta, c, par, Packing::Adaptive);
}

/// [`gemm`] with every block of A and B packed, whatever the shape: the textbook BLIS nest,
/// kept to show what the [`Plan`]'s shortcuts buy (`benches/gemm.rs`). Same contract, and the
/// same bits as [`gemm`]: packing copies values, it does not reorder any sum.
pub fn gemm_always_packed(a: MatRef, b: MatRef, beta: f32, c: &mut [f32], par: Parallelism) {
    gemm_with(a, b, beta, c, par, Packing::Always);
}

fn gemm_with(a: MatRef, b: MatRef, beta: f32, c: &mut [f32], par: Parallelism, packing: Packing) {
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
        Parallelism::Rayon if 2 * m * n * k >= PAR_MIN_FLOPS => crate::par::current_num_threads(),
        _ => 1,
    };
    let (tm, tn) = threads::choose_grid(&a, &b, threads, packing);
    let row_cuts = threads::cuts(m, MR, tm);
    let col_cuts = threads::cuts(n, NR, tn);
    let mut tiles = threads::split_c(c, n, &row_cuts, &col_cuts);
    if let [(_, _, c_rows)] = tiles.as_mut_slice() {
        blocked(a, b, beta, c_rows, packing);
        return;
    }
    threads::run_tiles(&mut tiles, |(rows, cols, c_rows)| {
        let a_tile = a.block(rows.start, rows.len(), 0, k);
        let b_tile = b.block(0, k, cols.start, cols.len());
        blocked(a_tile, b_tile, beta, c_rows, packing);
    });
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
/// Aligning packed panels to cache lines means no vector load of B straddles two lines,
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
fn blocked(a: MatRef, b: MatRef, beta: f32, c_rows: &mut [&mut [f32]], packing: Packing) {
    let plan = Plan::new(&a, &b, packing);
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => blocked_with(&plan, a, b, beta, c_rows, &mut scratch),
        // Only reachable if a caller re-enters GEMM on this thread mid-call; use fresh buffers.
        Err(_) => blocked_with(&plan, a, b, beta, c_rows, &mut Scratch::default()),
    });
}

fn blocked_with(
    plan: &Plan,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c_rows: &mut [&mut [f32]],
    scratch: &mut Scratch,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // Read in place, an operand needs a buffer only for its ragged last panel.
    let a_buf = reserve(&mut scratch.a, plan.a_buffer_len());
    let b_buf = reserve(&mut scratch.b, plan.b_buffer_len());

    // Loop 5: nc-wide column blocks of B and C.
    for jc in (0..n).step_by(plan.nc) {
        let nc = plan.nc.min(n - jc);
        // Loop 4: kc-deep slices of k. C keeps the running sum, so only the first slice
        // applies the caller's beta; later ones add on top (beta = 1).
        for pc in (0..k).step_by(plan.kc) {
            let kc = plan.kc.min(k - pc);
            let beta_k = if pc == 0 { beta } else { 1.0 };
            match plan.b {
                BSource::PackedBlock => pack::pack_b(b, pc, kc, jc, nc, b_buf),
                // In place, only the ragged last panel is packed: its zero padding stands in
                // for the missing columns.
                BSource::InPlace if nc % NR != 0 => {
                    pack::pack_b(b, pc, kc, jc + nc / NR * NR, nc % NR, b_buf)
                }
                BSource::InPlace | BSource::PackedPerPanel => {}
            }
            // Loop 3: mc-tall row blocks of A and C; pack A[ic.., pc..] into MR-row panels.
            for ic in (0..m).step_by(plan.mc) {
                let mc = plan.mc.min(m - ic);
                if !plan.a_in_place {
                    pack::pack_a(a, ic, mc, pc, kc, a_buf);
                } else if mc % MR != 0 {
                    pack::pack_a(a, ic + mc / MR * MR, mc % MR, pc, kc, a_buf);
                }
                // Loop 2: NR-wide panels of B; the panel stays in L1 across loop 1.
                for jr in (0..nc).step_by(NR) {
                    let cols = NR.min(nc - jr);
                    let b_panel = match plan.b {
                        BSource::InPlace if cols == NR => BPanel {
                            data: &b.data[pc * b.row_stride + jc + jr..],
                            rs: b.row_stride,
                        },
                        BSource::InPlace => BPanel {
                            data: b_buf,
                            rs: NR,
                        },
                        BSource::PackedPerPanel => {
                            pack::pack_b(b, pc, kc, jc + jr, cols, b_buf);
                            BPanel {
                                data: b_buf,
                                rs: NR,
                            }
                        }
                        BSource::PackedBlock => BPanel {
                            data: &b_buf[jr * kc..],
                            rs: NR,
                        },
                    };
                    // Loop 1: MR-tall panels of A, each against the same B panel.
                    for ir in (0..mc).step_by(MR) {
                        let rows = MR.min(mc - ir);
                        let c_tile = &mut c_rows[ic + ir..];
                        let j0 = jc + jr;
                        if plan.a_in_place && rows == MR {
                            let a_panel = APanel {
                                data: &a.data[(ic + ir) * a.row_stride + pc..],
                                rs: a.row_stride,
                                cs: 1,
                            };
                            tile::<MR>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols);
                            continue;
                        }
                        // A packed panel (constant strides); a ragged one skips padding rows.
                        let start = if plan.a_in_place { 0 } else { ir * kc };
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
                            5 | 6 => {
                                tile::<6>(kc, a_panel, b_panel, beta_k, c_tile, j0, rows, cols)
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
    if cols <= Lanes::LANES {
        // A narrow panel (C with 9 columns, or a row's ragged end): one vector per row, half
        // the FMAs of the full tile, and the same bits (each lane's FMAs do not change).
        let acc = simd::kernel_simd::<Lanes, ROWS, 1>(kc, a_panel, b_panel);
        simd::store_tile(&acc, beta, c_tile, j0, rows, cols);
        return;
    }
    let acc = simd::kernel_simd::<Lanes, ROWS, NV>(kc, a_panel, b_panel);
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

    #[test]
    fn always_packed_gives_the_same_bits_as_the_adaptive_plan() {
        // Packing copies values and never reorders a sum, so the two nests must agree exactly,
        // on the lab's thin shapes (where the plans differ most) and on transposes.
        let mut rng = Pick::new(17);
        for (m, n, k, ta, tb) in [
            (16, 1254, 9, false, false),
            (32, 313, 144, false, false),
            (64, 64, 1568, false, false),
            (64, 784, 128, false, true),
            (784, 128, 64, true, false),
            (130, 300, 70, true, true),
        ] {
            let (a_data, b_data) = (rng.values(m * k), rng.values(k * n));
            let (a, b) = (operand(&a_data, m, k, ta), operand(&b_data, k, n, tb));
            let c0 = rng.values(m * n);
            let (mut adaptive, mut packed) = (c0.clone(), c0.clone());
            gemm(a, b, 0.5, &mut adaptive, Parallelism::Rayon);
            gemm_always_packed(a, b, 0.5, &mut packed, Parallelism::Rayon);
            let what = format!("{m}×{k}·{k}×{n} ta={ta} tb={tb}");
            assert_matches_reference(a, b, 0.5, &c0, &packed, &what);
            let same = adaptive
                .iter()
                .zip(&packed)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{what}: always-packed differs from adaptive");
        }
    }

    #[test]
    fn packing_pads_with_zeros() {
        // A (MR+1)×2 block packs into two panels of MR rows; the second has MR−1 padding rows.
        let rows = MR + 1;
        let data: Vec<f32> = (1..=2 * rows).map(|x| x as f32).collect();
        let a = MatRef::row_major(&data, rows, 2);
        let mut buf = vec![f32::NAN; 2 * MR * 2];
        pack::pack_a(a, 0, rows, 0, 2, &mut buf);
        let column0: Vec<f32> = (0..MR).map(|i| data[2 * i]).collect();
        assert_eq!(&buf[..MR], column0.as_slice()); // column 0 of rows 0..MR
        assert_eq!(buf[2 * MR], data[2 * MR]); // column 0 of row MR
        assert!(buf[2 * MR + 1..3 * MR].iter().all(|&x| x == 0.0));
        let b = MatRef::row_major(&data, 2, rows);
        let mut buf = vec![f32::NAN; 2 * NR];
        pack::pack_b(b, 0, 2, 0, 7, &mut buf);
        assert_eq!(&buf[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]);
        assert!(buf[7..NR].iter().all(|&x| x == 0.0));
    }
}
