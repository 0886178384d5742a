//! The plan of one GEMM: block sizes, and where the microkernel reads each operand from.
//!
//! The loop nest in [`super`] is the textbook's; what changes with the shape is decided here,
//! once, before it starts. A large product packs both operands (the BLIS way). A thin one
//! skips a copy that would cost as much as the product it feeds:
//!
//! - B (row-major) is read in place when A has at most [`IN_PLACE_B_MAX_M`] rows: each B
//!   panel then serves at most four microkernel calls per k slice, and packing it would cost
//!   as much as the thin products (`16×9 · 9×12544`) it feeds;
//! - with a single A block (`m <= MC`) each B panel is used once per k slice, so it is packed
//!   just before loop 1 uses it, into an L1-sized buffer, rather than the whole block up front
//!   through L2;
//! - A (row-major) is read in place when C has at most [`IN_PLACE_A_MAX_N`] columns: the A
//!   block is then reused by few B panels and its copy costs more than it saves.
//!
//! [`Packing::Always`] turns all of that off: the plain BLIS nest, kept to be read, tested and
//! benched against the adaptive one.

use super::MatRef;
use super::simd::{MR, NR};

/// Depth of a k slice (loop 4). The microkernel streams the A block past one B panel
/// (`KC×NR`) and loads and stores its C tile once per slice, so a deeper slice means fewer C
/// round trips but a panel that may spill out of L1. Measured on Zen 4 (32 KiB L1, 1 MiB L2)
/// with the 8×32 tile, one thread, 1024³: KC = 256 gives 79-85 GFLOP/s, 384 gives 89-93 and
/// 512 gives 94-99 (a 64 KiB panel, served from L2 fast enough). The AVX2 tile keeps 256
/// (16 KiB panels). The actual depth is balanced: `k` is cut into `ceil(k/KC)` equal slices,
/// so `k = 1568` runs as 4 slices of 392, not 3 of 512 and one of 32.
pub const KC: usize = if MR == 8 { 512 } else { 256 };
/// Height of an A block (loop 3), a multiple of MR. `MC×KC` f32 (288 KiB for the 8×32 tile)
/// sits in L2 (1 MiB per core on Zen 4, 2 MiB on Xeons); 96 and 288 measured no better.
pub const MC: usize = if MR == 8 { 144 } else { 72 };
/// Width of a B block (loop 5), a multiple of NR. `KC×NC` f32 = 4 MiB, the size of an L3 slice.
pub const NC: usize = 4096;
/// B is read in place (not packed) when A has at most this many rows (four panels: conv2's
/// forward, 32×144 · 144×3136, measured 88 → 106 GFLOP/s on one thread by not packing).
pub const IN_PLACE_B_MAX_M: usize = 4 * MR;
/// A is read in place when C has at most this many columns.
pub const IN_PLACE_A_MAX_N: usize = 128;

/// Whether the loop nest may read operands in place, or must pack both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// Read thin operands in place when that is cheaper (the default).
    Adaptive,
    /// Pack every block of A and B: the textbook nest.
    Always,
}

/// Where the microkernel finds B's NR-column panels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BSource {
    /// The whole `kc×nc` block packed once per (jc, pc), before loop 3.
    PackedBlock,
    /// Each panel packed in loop 2, just before loop 1 uses it.
    PackedPerPanel,
    /// The caller's rows (only the ragged last panel is packed, padded with zeros).
    InPlace,
}

/// The block sizes and operand sources of one GEMM tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Depth of every k slice but possibly the last (balanced, at most [`KC`]).
    pub kc: usize,
    /// Height of every A block but possibly the last (balanced, whole MR panels).
    pub mc: usize,
    /// Width of every B block but possibly the last.
    pub nc: usize,
    /// A read in place (its ragged last panel packed) rather than packed per block.
    pub a_in_place: bool,
    /// Where B's panels come from.
    pub b: BSource,
}

impl Plan {
    /// The plan for `A[m×k]·B[k×n]`.
    pub fn new(a: &MatRef, b: &MatRef, packing: Packing) -> Plan {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let adaptive = packing == Packing::Adaptive;
        let b = if adaptive && reads_b_in_place(b, m) {
            BSource::InPlace
        } else if adaptive && m <= MC {
            BSource::PackedPerPanel
        } else {
            BSource::PackedBlock
        };
        Plan {
            kc: k.div_ceil(k.div_ceil(KC).max(1)),
            mc: m.div_ceil(m.div_ceil(MC).max(1)).next_multiple_of(MR),
            nc: NC.min(n.next_multiple_of(NR)),
            a_in_place: adaptive && reads_a_in_place(a, n),
            b,
        }
    }

    /// Values the packed-A buffer must hold.
    pub fn a_buffer_len(&self) -> usize {
        (if self.a_in_place { MR } else { self.mc }) * self.kc
    }

    /// Values the packed-B buffer must hold.
    pub fn b_buffer_len(&self) -> usize {
        match self.b {
            BSource::PackedBlock => self.nc * self.kc,
            BSource::PackedPerPanel | BSource::InPlace => NR * self.kc,
        }
    }
}

/// Whether the microkernel may read B's panels straight from the caller's memory: a row-major
/// B has each row's NR values contiguous, which is all the microkernel needs.
pub fn reads_b_in_place(b: &MatRef, m: usize) -> bool {
    b.col_stride == 1 && m <= IN_PLACE_B_MAX_M
}

/// Whether the microkernel may read A's panels straight from the caller's memory. It
/// broadcasts A one element at a time, so any strides work; a row-major A reads each of MR
/// rows sequentially. Packing pays off when the block is reused across many B panels (and
/// keeps rows whose stride is a multiple of 4 KiB from evicting each other in L1).
pub fn reads_a_in_place(a: &MatRef, n: usize) -> bool {
    a.col_stride == 1 && n <= IN_PLACE_A_MAX_N
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_shape() {
        let data = vec![0.0; 1024 * 1024];
        let view = |rows, cols| MatRef::row_major(&data, rows, cols);
        // A square product packs both, blocks balanced.
        let p = Plan::new(&view(1024, 1024), &view(1024, 1024), Packing::Adaptive);
        assert_eq!((p.a_in_place, p.b), (false, BSource::PackedBlock));
        assert_eq!(p.kc, KC);
        // conv1's forward (16×9 · 9×12544): B in place, one k slice of 9.
        let p = Plan::new(&view(16, 9), &view(9, 12544), Packing::Adaptive);
        assert_eq!((p.b, p.kc), (BSource::InPlace, 9));
        // conv3's forward (64×1568 · 1568×64): A in place, B per panel, balanced slices.
        let p = Plan::new(&view(64, 1568), &view(1568, 64), Packing::Adaptive);
        assert_eq!((p.a_in_place, p.b), (true, BSource::PackedPerPanel));
        assert_eq!(p.kc, 1568 / 1568usize.div_ceil(KC));
        // Always packs, whatever the shape.
        let p = Plan::new(&view(16, 9), &view(9, 12544), Packing::Always);
        assert_eq!((p.a_in_place, p.b), (false, BSource::PackedBlock));
        // A transposed B (column stride ≠ 1) is never read in place.
        let p = Plan::new(&view(16, 9), &view(12544, 9).t(), Packing::Adaptive);
        assert_eq!(p.b, BSource::PackedPerPanel);
    }
}
