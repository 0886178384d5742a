//! Splitting one GEMM over threads: C is cut into a grid of tiles, one per thread.
//!
//! Each tile runs the whole loop nest on its own (packing its own blocks). The k dimension is
//! never split, and every C element receives its kc-slices in the same order with the same
//! FMAs whatever tile it falls in, so the result is bit-for-bit the same for any thread count.

use std::ops::Range;
#[cfg(feature = "threads")]
use std::sync::atomic::{AtomicUsize, Ordering};

use super::MatRef;
use super::plan::{BSource, Packing, Plan};
use super::simd::{MR, NR, NV};

/// How long a caller outside the pool spins, once its own tile is done, for the pool's tiles
/// before it sleeps: 4000 `pause` instructions (about 100 µs on Zen 4), longer than waking a
/// sleeping thread takes on a VM.
#[cfg(feature = "threads")]
const SPIN_ROUNDS: usize = 4_000;

/// A tile of C: its row range, its column range, and one mutable slice per row.
pub type Tile<'c> = (Range<usize>, Range<usize>, Vec<&'c mut [f32]>);

/// Picks how to cut C into a `tm×tn` grid of tiles for at most `threads` threads.
///
/// Cutting C's rows makes every row tile pack (all of) B again, and cutting its columns
/// re-packs A. The estimate below, in rough cycles, weighs that duplicated packing against
/// uneven work (tiles are whole MR×NR register tiles, so 11 row panels split 6 + 5). The grid
/// never changes the arithmetic, only who does it.
pub fn choose_grid(a: &MatRef, b: &MatRef, threads: usize, packing: Packing) -> (usize, usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (m_panels, n_panels) = (m.div_ceil(MR), n.div_ceil(NR));
    let mut best = ((1, 1), f64::INFINITY);
    for t in 1..=threads {
        for tm in (1..=t).filter(|tm| t % tm == 0) {
            let tn = t / tm;
            if tm > m_panels || tn > n_panels {
                continue;
            }
            let (pm, pn) = (m_panels.div_ceil(tm), n_panels.div_ceil(tn));
            // MR·NV vector FMAs per k step of a register tile, 2 per cycle.
            let work = (pm * pn * k * MR * NV) as f64 / 2.0;
            let (m_tile, n_tile) = (pm * MR, pn * NR);
            let tile_a = MatRef { rows: m_tile, ..*a };
            let tile_b = MatRef { cols: n_tile, ..*b };
            let plan = Plan::new(&tile_a, &tile_b, packing);
            let pack_a = if plan.a_in_place {
                0.0
            } else {
                (m_tile * k) as f64
            };
            let pack_b = if plan.b == BSource::InPlace {
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
pub fn cuts(len: usize, unit: usize, parts: usize) -> Vec<usize> {
    let per_part = len.div_ceil(unit).div_ceil(parts) * unit;
    let mut cuts: Vec<usize> = (0..parts).map(|t| (t * per_part).min(len)).collect();
    cuts.push(len);
    cuts.dedup();
    cuts
}

/// Cuts row-major `c` (row stride `n`) into tiles along `row_cuts × col_cuts`, safely: each row
/// is split with `split_at_mut`, and a tile is the list of its row pieces.
pub fn split_c<'c>(
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

/// Runs `run_tile` on every tile, one rayon task each, the calling thread taking the first.
///
/// Each task owns the rows slices it writes, so no two threads share an output element, and
/// none of them waits for another. The calling thread computes the first tile itself instead
/// of sleeping until the pool is done: waking a pool thread costs tens of microseconds on a
/// VM, and this way the caller's own work hides that wait.
pub fn run_tiles(tiles: &mut [Tile], run_tile: impl Fn(&mut Tile) + Sync) {
    let Some((first, rest)) = tiles.split_first_mut() else {
        return;
    };
    // One thread (no `threads` feature): the tiles one after the other.
    #[cfg(not(feature = "threads"))]
    {
        run_tile(first);
        rest.iter_mut().for_each(run_tile);
    }
    #[cfg(feature = "threads")]
    run_in_pool(first, rest, &run_tile);
}

/// [`run_tiles`] with rayon: `rest` spawned into the pool, `first` on the calling thread.
#[cfg(feature = "threads")]
fn run_in_pool<'c>(
    first: &mut Tile<'c>,
    rest: &mut [Tile<'c>],
    run_tile: &(impl Fn(&mut Tile) + Sync),
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_whole_units_and_cover_everything() {
        assert_eq!(cuts(20, 8, 2), vec![0, 16, 20]);
        assert_eq!(cuts(16, 8, 3), vec![0, 8, 16]);
        assert_eq!(cuts(5, 8, 2), vec![0, 5]);
    }

    #[test]
    fn split_c_gives_each_tile_its_rows_pieces() {
        let mut c: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let tiles = split_c(&mut c, 4, &[0, 1, 3], &[0, 3, 4]);
        let shapes: Vec<(usize, usize)> = tiles.iter().map(|t| (t.2.len(), t.2[0].len())).collect();
        assert_eq!(shapes, vec![(1, 3), (1, 1), (2, 3), (2, 1)]);
        assert_eq!(tiles[3].2[1], &[11.0]);
        assert_eq!(tiles[2].2[0], &[4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_wide_product_is_cut_along_its_long_side() {
        let data = vec![0.0; 16 * 12544];
        let a = MatRef::row_major(&data, 16, 9);
        let b = MatRef::row_major(&data, 9, 12544);
        assert_eq!(choose_grid(&a, &b, 2, Packing::Adaptive), (1, 2));
        let a = MatRef::row_major(&data, 1024, 64);
        let b = MatRef::row_major(&data, 64, 16);
        assert_eq!(choose_grid(&a, &b, 2, Packing::Adaptive), (2, 1));
    }
}
