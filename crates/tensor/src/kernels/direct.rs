//! Direct convolution for stride 1 and dilation 1: no im2col matrix, no GEMM.
//!
//! With few channels (the pooling autoencoder's 1→16, 16→8, 8→8 and 16→1 convolutions), the
//! im2col route spends most of its time moving data: im2col writes `k_h·k_w` values per input
//! value, the GEMM packs them again, and a product with 1 to 16 output rows does little with
//! each. Here every image is copied once, with its zero padding, into planes of row length
//! `wp = w + 2·pad_w`. Output pixel `(i, j)` reads, for tap `(p, q)`, the padded value at
//! `(i + p)·wp + (j + q)`: with `f = i·wp + j` that is `f + p·wp + q`. Computing the output on
//! the whole `h_out × wp` grid (the last `wp − w_out` columns of each row are thrown away) makes
//! every tap one shifted, contiguous run, read straight from the plane:
//!
//! ```text
//! yf[o, f] = Σ_{c,p,q} w[o,c,p,q] · xp[c, f + p·wp + q]             (forward)
//! dw[o,c,p,q] = Σ_n Σ_f dyf[n, o, f] · xp[n, c, f + p·wp + q]       (weight gradient)
//! ```
//!
//! where `dyf` is `dy` laid on the same grid with zeros in the thrown-away columns. The
//! forward keeps a register tile of [`FORWARD_TILE`] output channels × vectors of pixels: each
//! tap loads the vectors once and broadcasts one weight per channel. The weight gradient keeps
//! one accumulator vector per output channel and tap, for up to 4 channels × 3 taps of a
//! kernel row at a time, each summed across its lanes at the end. The input gradient of a
//! stride-1 convolution is itself a stride-1 convolution of `dy`
//! (`ops::conv2d::full_convolution`), so it takes this route too.
//!
//! Every output is summed in a fixed order (channels, then taps; images in fixed chunks), so
//! results are the same bit for bit with any number of threads.
//!
//! The thrown-away grid columns read real pixels of the next row (or the padding), multiplied
//! in the weight gradient by `dy`'s zeros there: with finite inputs they add nothing. An
//! infinite or NaN pixel there makes `0·∞ = NaN` in taps that the im2col route would leave
//! finite; those taps' neighbours, which do read it, are non-finite either way, and training
//! stops at the first non-finite loss.

use std::cell::RefCell;

use crate::kernels::accumulate::Accumulate;
use crate::kernels::gemm::simd::{Lanes, Simd};
use crate::kernels::geometry::Geometry;
use crate::kernels::scratch::{grow, with_taken};
use crate::par::prelude::*;

/// The largest `c_in·c_out` taken by the direct route. `examples/direct_vs_im2col.rs` (3×3,
/// batch 64, one thread, forward) has the direct route ahead from 1×16 to 64×64 channels
/// (16×1 at 28×28: 20 against 4.5 GFLOP/s; 16×16 at 14×14: 56 against 28); but the im2col
/// route's chunks of five images make larger GEMMs than that example's one image, and its
/// unfolding is shared with the weight gradient, whose direct kernel does less per load. So
/// the threshold stays at the pooling model's largest layer pair (16×16), measured in
/// training; wider layers keep the GEMM until a training step says otherwise.
pub const MAX_CHANNEL_PRODUCT: usize = 256;

/// Output channels × pixel vectors of the forward's register tile (12 accumulators: with the
/// 3 loaded vectors and a broadcast, 16 registers on AVX2).
pub const FORWARD_TILE: (usize, usize) = (4, 3);

/// Images per chunk of the weight gradient: each chunk sums its own partial `dw`, and the
/// partials are added in chunk order. Fixed, so the sums never depend on the thread count.
const FILTER_CHUNK: usize = 8;

/// Whether the direct route takes this convolution: one it [`computes`], with at most
/// [`MAX_CHANNEL_PRODUCT`] channel pairs (wider layers stay with im2col + GEMM).
pub fn applies(g: &Geometry, c_out: usize) -> bool {
    computes(g) && c_out > 0 && g.c_in * c_out <= MAX_CHANNEL_PRODUCT
}

/// Whether the direct kernels can compute this convolution, whatever its channels: stride 1,
/// dilation 1, the output size of the formula (no transposed convolution's short output),
/// something to sum, and a kernel that does not cover the whole input (the dense route's).
pub fn computes(g: &Geometry) -> bool {
    let full = |len: usize, pad: usize, k: usize| (len + 2 * pad + 1).checked_sub(k);
    g.stride == (1, 1)
        && g.dilation == (1, 1)
        && full(g.h, g.pad.0, g.k_h) == Some(g.h_out)
        && full(g.w, g.pad.1, g.k_w) == Some(g.w_out)
        && g.out_pixels() > 0
        && g.image_len() > 0
        && !g.is_dense()
}

/// The padded planes and the output grid of one geometry.
struct Flat {
    /// The convolution.
    g: Geometry,
    /// Row length of the padded planes and of the output grid, `w + 2·pad_w`.
    wp: usize,
    /// Values of one output grid plane, `h_out·wp` rounded up to whole vectors.
    out_len: usize,
    /// Values of one padded input plane: every tap of every grid position reads inside it.
    in_len: usize,
    /// `p·wp + q` for each tap, in the weight's row-major `(p, q)` order.
    shifts: Vec<usize>,
}

impl Flat {
    fn new(g: &Geometry) -> Flat {
        let wp = g.w + 2 * g.pad.1;
        let hp = g.h + 2 * g.pad.0;
        let out_len = (g.h_out * wp).next_multiple_of(Lanes::LANES);
        let reach = (g.k_h - 1) * wp + g.k_w - 1;
        let shifts = (0..g.k_h)
            .flat_map(|p| (0..g.k_w).map(move |q| p * wp + q))
            .collect();
        Flat {
            g: *g,
            wp,
            out_len,
            in_len: (hp * wp).max(out_len + reach),
            shifts,
        }
    }

    /// Copies image `x` (`c_in×h×w`) into `xp` (`c_in` planes of `in_len`), zeros around;
    /// each value of `xp` is written once.
    fn pad_image(&self, x: &[f32], xp: &mut [f32]) {
        let g = &self.g;
        let (wp, pad_w) = (self.wp, g.pad.1);
        for (c, plane) in xp.chunks_exact_mut(self.in_len).take(g.c_in).enumerate() {
            let (top, rest) = plane.split_at_mut(g.pad.0 * wp);
            top.fill(0.0);
            let (rows, bottom) = rest.split_at_mut(g.h * wp);
            for (i, row) in rows.chunks_exact_mut(wp).enumerate() {
                row[..pad_w].fill(0.0);
                copy_run(
                    &mut row[pad_w..pad_w + g.w],
                    &x[(c * g.h + i) * g.w..][..g.w],
                );
                row[pad_w + g.w..].fill(0.0);
            }
            bottom.fill(0.0);
        }
    }

    /// Lays `dy` of one image (`c_out×h_out×w_out`) on the output grid, zeros elsewhere.
    fn grid_dy(&self, c_out: usize, dy: &[f32], dyf: &mut [f32]) {
        let g = &self.g;
        dyf.fill(0.0);
        for o in 0..c_out {
            for i in 0..g.h_out {
                let from = &dy[(o * g.h_out + i) * g.w_out..][..g.w_out];
                copy_run(&mut dyf[o * self.out_len + i * self.wp..][..g.w_out], from);
            }
        }
    }

    /// `y = yf's kept columns + beta·y` for one image (`c_out×h_out×w_out`).
    fn take_output(&self, c_out: usize, yf: &[f32], beta: f32, y: &mut [f32]) {
        let g = &self.g;
        for o in 0..c_out {
            for i in 0..g.h_out {
                let from = &yf[o * self.out_len + i * self.wp..][..g.w_out];
                let to = &mut y[(o * g.h_out + i) * g.w_out..][..g.w_out];
                if beta == 0.0 {
                    copy_run(to, from);
                } else {
                    to.iter_mut()
                        .zip(from)
                        .for_each(|(t, &f)| *t = beta * *t + f);
                }
            }
        }
    }
}

/// Buffers one thread reuses from call to call; they only grow.
#[derive(Default)]
struct Scratch {
    /// One image's padded planes.
    xp: Vec<f32>,
    /// One image's output grid (forward) or `dy` on the grid (weight gradient).
    grid: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// `y[n] = conv(x[n], w) + beta·y[n]` for every image of the batch, for a geometry the
/// direct kernels [`computes`] (the im2col module calls it where [`applies`] holds;
/// `examples/direct_vs_im2col.rs` on wider layers, to place the threshold).
///
/// `x`: `(batch, c_in, h, w)`; `w`: `(c_out, c_in, k_h, k_w)`; `y`: `(batch, c_out, h_out, w_out)`.
pub fn convolve(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    w: &[f32],
    c_out: usize,
    beta: f32,
    y: &mut [f32],
) {
    assert!(computes(g) && c_out > 0, "direct convolution of {g:?}");
    let flat = Flat::new(g);
    let (in_image, out_image) = (g.image_len(), c_out * g.out_pixels());
    assert!(x.len() >= batch * in_image && y.len() >= batch * out_image);
    assert!(w.len() >= c_out * g.col_rows());
    y[..batch * out_image]
        .par_chunks_mut(out_image)
        .enumerate()
        .for_each(|(n, y)| {
            with_taken(&SCRATCH, |s| {
                let xp = grow(&mut s.xp, g.c_in * flat.in_len);
                flat.pad_image(&x[n * in_image..][..in_image], xp);
                let yf = grow(&mut s.grid, c_out * flat.out_len);
                forward_image(&flat, w, c_out, xp, yf);
                flat.take_output(c_out, yf, beta, y);
            })
        });
}

/// One image's output grid, `yf` (`c_out` planes of `out_len`), from its padded planes `xp`.
fn forward_image(flat: &Flat, w: &[f32], c_out: usize, xp: &[f32], yf: &mut [f32]) {
    let mut o = 0;
    while o < c_out {
        o += match c_out - o {
            left if left >= FORWARD_TILE.0 => {
                forward_tiles::<{ FORWARD_TILE.0 }, { FORWARD_TILE.1 }>(flat, w, o, xp, yf)
            }
            left if left >= 2 => forward_tiles::<2, 4>(flat, w, o, xp, yf),
            _ => forward_tiles::<1, 8>(flat, w, o, xp, yf),
        };
    }
}

/// Output channels `o0..o0 + OB` of `yf`: tiles of `V` vectors along the grid, then single
/// vectors for the rest. Returns `OB`.
fn forward_tiles<const OB: usize, const V: usize>(
    flat: &Flat,
    w: &[f32],
    o0: usize,
    xp: &[f32],
    yf: &mut [f32],
) -> usize {
    let lanes = Lanes::LANES;
    let mut t = 0;
    while t + V * lanes <= flat.out_len {
        forward_tile::<OB, V>(flat, w, o0, xp, t, yf);
        t += V * lanes;
    }
    while t < flat.out_len {
        forward_tile::<OB, 1>(flat, w, o0, xp, t, yf);
        t += lanes;
    }
    OB
}

/// `yf[o, t..t + V·LANES]` for `o` in `o0..o0 + OB`: `Σ_{c,tap} w[o,c,tap]·xp[c, t + shift(tap) + …]`,
/// the `OB×V` sums kept in registers over every channel and tap.
#[inline(always)]
fn forward_tile<const OB: usize, const V: usize>(
    flat: &Flat,
    w: &[f32],
    o0: usize,
    xp: &[f32],
    t: usize,
    yf: &mut [f32],
) {
    let lanes = Lanes::LANES;
    let (c_in, taps) = (flat.g.c_in, flat.shifts.len());
    let row = c_in * taps;
    // Every load below stays inside xp and every weight inside w: the last tap of the last
    // vector reads `(c_in−1)·in_len + t + V·LANES − 1 + reach < c_in·in_len`.
    assert!(t + V * lanes <= flat.out_len && xp.len() >= c_in * flat.in_len);
    assert!(w.len() >= (o0 + OB) * row);
    let mut acc = [[Lanes::ZERO; V]; OB];
    for c in 0..c_in {
        let plane = xp[c * flat.in_len..].as_ptr();
        let weights = &w[o0 * row + c * taps..];
        for (tap, &shift) in flat.shifts.iter().enumerate() {
            let mut xs = [Lanes::ZERO; V];
            for (v, x) in xs.iter_mut().enumerate() {
                // SAFETY: in bounds by the asserts above (shift ≤ reach).
                *x = unsafe { Lanes::load_unaligned(plane.add(t + shift + v * lanes)) };
            }
            for (o, acc) in acc.iter_mut().enumerate() {
                // SAFETY: o·row + tap < OB·row, inside w by the assert above.
                let wv = Lanes::splat(unsafe { *weights.get_unchecked(o * row + tap) });
                for (a, &x) in acc.iter_mut().zip(&xs) {
                    *a = wv.mul_add(x, *a);
                }
            }
        }
    }
    for (o, acc) in acc.iter().enumerate() {
        for (v, a) in acc.iter().enumerate() {
            a.store(&mut yf[(o0 + o) * flat.out_len + t + v * lanes..]);
        }
    }
}

/// `dw = Σ_n conv-gradient(x[n], dy[n])` (added with [`Accumulate::Add`]) for a geometry
/// where [`applies`] holds: `dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i−pad_h+p,j−pad_w+q]`.
///
/// `x`: `(batch, c_in, h, w)`; `dy`: `(batch, c_out, h_out, w_out)`; `dw`: `(c_out, c_in, k_h, k_w)`.
pub fn backward_filter(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    dy: &[f32],
    c_out: usize,
    dw: &mut [f32],
    mode: Accumulate,
) {
    assert!(computes(g) && c_out > 0, "direct convolution of {g:?}");
    let flat = Flat::new(g);
    let (in_image, out_image) = (g.image_len(), c_out * g.out_pixels());
    let row = g.col_rows();
    assert!(x.len() >= batch * in_image && dy.len() >= batch * out_image);
    assert!(dw.len() == c_out * row, "direct backward_filter: dw");
    if batch == 0 {
        // No image: the sum is empty.
        dw.iter_mut().for_each(|d| mode.apply(d, 0.0));
        return;
    }
    let chunks = batch.div_ceil(FILTER_CHUNK);
    let mut partials = crate::pool::take(chunks * c_out * row);
    partials
        .par_chunks_mut(c_out * row)
        .enumerate()
        .for_each(|(k, partial)| {
            partial.fill(0.0);
            with_taken(&SCRATCH, |s| {
                for n in k * FILTER_CHUNK..batch.min((k + 1) * FILTER_CHUNK) {
                    let xp = grow(&mut s.xp, g.c_in * flat.in_len);
                    flat.pad_image(&x[n * in_image..][..in_image], xp);
                    let dyf = grow(&mut s.grid, c_out * flat.out_len);
                    flat.grid_dy(c_out, &dy[n * out_image..][..out_image], dyf);
                    filter_image(&flat, c_out, xp, dyf, partial);
                }
            })
        });
    for (k, partial) in partials.chunks_exact(c_out * row).enumerate() {
        let mode = if k == 0 { mode } else { Accumulate::Add };
        dw.iter_mut()
            .zip(partial)
            .for_each(|(d, &p)| mode.apply(d, p));
    }
    crate::pool::recycle(partials);
}

/// Adds one image's `dw` terms into `partial` (`c_out × c_in·k_h·k_w`).
fn filter_image(flat: &Flat, c_out: usize, xp: &[f32], dyf: &[f32], partial: &mut [f32]) {
    let mut o = 0;
    while o < c_out {
        o += match c_out - o {
            left if left >= 4 => filter_rows::<4>(flat, o, xp, dyf, partial),
            left if left >= 2 => filter_rows::<2>(flat, o, xp, dyf, partial),
            _ => filter_rows::<1>(flat, o, xp, dyf, partial),
        };
    }
}

/// Output channels `o0..o0 + OB` of one image's `dw` terms, kernel row by kernel row, three
/// taps of a row at a time. Returns `OB`.
fn filter_rows<const OB: usize>(
    flat: &Flat,
    o0: usize,
    xp: &[f32],
    dyf: &[f32],
    partial: &mut [f32],
) -> usize {
    let g = &flat.g;
    for c in 0..g.c_in {
        for p in 0..g.k_h {
            let mut q = 0;
            while q < g.k_w {
                q += match g.k_w - q {
                    left if left >= 3 => {
                        filter_tile::<OB, 3>(flat, o0, c, (p, q), xp, dyf, partial)
                    }
                    left if left >= 2 => {
                        filter_tile::<OB, 2>(flat, o0, c, (p, q), xp, dyf, partial)
                    }
                    _ => filter_tile::<OB, 1>(flat, o0, c, (p, q), xp, dyf, partial),
                };
            }
        }
    }
    OB
}

/// `partial[o, c, p, q0..q0 + Q] += Σ_f dyf[o, f]·xp[c, f + p·wp + q]` for `o` in `o0..o0 + OB`:
/// `OB×Q` vector sums over the grid, then each summed across its lanes. Returns `Q`.
#[inline(always)]
fn filter_tile<const OB: usize, const Q: usize>(
    flat: &Flat,
    o0: usize,
    c: usize,
    (p, q0): (usize, usize),
    xp: &[f32],
    dyf: &[f32],
    partial: &mut [f32],
) -> usize {
    let lanes = Lanes::LANES;
    let g = &flat.g;
    let base = c * flat.in_len + p * flat.wp + q0;
    // The last load reads `base + out_len − LANES + Q − 1 + LANES − 1 ≤ c·in_len + reach +
    // out_len − 1 < (c + 1)·in_len`, and every dy load stays in its channel's grid plane.
    assert!(q0 + Q <= g.k_w && p < g.k_h && c < g.c_in);
    assert!(xp.len() >= (c + 1) * flat.in_len && dyf.len() >= (o0 + OB) * flat.out_len);
    let (x, d) = (xp[base..].as_ptr(), dyf[o0 * flat.out_len..].as_ptr());
    let mut acc = [[Lanes::ZERO; Q]; OB];
    let mut t = 0;
    while t < flat.out_len {
        let mut xs = [Lanes::ZERO; Q];
        for (q, x_q) in xs.iter_mut().enumerate() {
            // SAFETY: in bounds by the asserts above.
            *x_q = unsafe { Lanes::load_unaligned(x.add(t + q)) };
        }
        for (o, acc) in acc.iter_mut().enumerate() {
            // SAFETY: channel o0 + o's grid plane holds out_len values.
            let dv = unsafe { Lanes::load_unaligned(d.add(o * flat.out_len + t)) };
            for (a, &x_q) in acc.iter_mut().zip(&xs) {
                *a = dv.mul_add(x_q, *a);
            }
        }
        t += lanes;
    }
    let row = g.col_rows();
    let taps = g.k_h * g.k_w;
    for (o, acc) in acc.iter().enumerate() {
        for (q, a) in acc.iter().enumerate() {
            partial[(o0 + o) * row + c * taps + p * g.k_w + q0 + q] += sum_lanes(*a);
        }
    }
    Q
}

/// `dst = src` for the short runs of this module (an image row): whole vectors, then single
/// values, without the call that `copy_from_slice` makes to `memcpy` (most of the time of a
/// 28-value copy).
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len());
    let lanes = Lanes::LANES;
    let mut dst_chunks = dst.chunks_exact_mut(lanes);
    let mut src_chunks = src.chunks_exact(lanes);
    for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
        Lanes::load(s).store(d);
    }
    for (d, &s) in dst_chunks
        .into_remainder()
        .iter_mut()
        .zip(src_chunks.remainder())
    {
        *d = s;
    }
}

/// The lanes of `v` added in order.
fn sum_lanes(v: Lanes) -> f32 {
    let mut lanes = [0.0f32; 16];
    v.store(&mut lanes);
    lanes[..Lanes::LANES].iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::random_tensor;
    use crate::kernels::conv_reference::{conv2d_direct, conv2d_filter_direct};

    fn geometry(
        c_in: usize,
        (h, w): (usize, usize),
        k: (usize, usize),
        pad: (usize, usize),
    ) -> Geometry {
        Geometry::sliding("test", c_in, (h, w), k, (1, 1), pad, (1, 1))
    }

    /// The direct route against the textbook loops ([`conv_reference`]), on the pooling
    /// model's layers and odd shapes: every channel-block and tail size, write and add.
    #[test]
    fn direct_products_match_the_definition() {
        let cases = [
            (geometry(1, (28, 28), (3, 3), (1, 1)), 16),
            (geometry(16, (14, 14), (3, 3), (1, 1)), 8),
            (geometry(8, (4, 4), (3, 3), (1, 1)), 8),
            (geometry(8, (16, 16), (3, 3), (0, 0)), 16),
            (geometry(16, (28, 28), (3, 3), (1, 1)), 1),
            (geometry(3, (5, 9), (2, 4), (0, 2)), 7),
            (geometry(2, (1, 1), (3, 1), (1, 0)), 3),
            (geometry(5, (7, 6), (5, 5), (3, 1)), 5),
        ];
        for (seed, (g, c_out)) in cases.into_iter().enumerate() {
            assert!(applies(&g, c_out), "{g:?}");
            let seed = seed as u64 * 10;
            let batch = 11; // more than one filter chunk, the last one short
            let x = random_tensor(&[batch * g.image_len()], seed);
            let w = random_tensor(&[c_out * g.col_rows()], seed + 1);
            let dy = random_tensor(&[batch * c_out * g.out_pixels()], seed + 2);
            let y0 = random_tensor(&[batch * c_out * g.out_pixels()], seed + 3);
            let conv = conv2d_direct(&g, batch, c_out, x.data(), w.data(), None);
            for beta in [0.0, 1.0] {
                let want: Vec<f32> = conv
                    .iter()
                    .zip(y0.data())
                    .map(|(c, y)| beta * y + c)
                    .collect();
                let mut got = y0.data().to_vec();
                convolve(&g, batch, x.data(), w.data(), c_out, beta, &mut got);
                assert_near(&got, &want, &format!("{g:?} forward, beta {beta}"));
            }
            let dw = conv2d_filter_direct(&g, batch, c_out, x.data(), dy.data());
            let start = random_tensor(&[c_out * g.col_rows()], seed + 4);
            for mode in [Accumulate::Overwrite, Accumulate::Add] {
                let want: Vec<f32> = match mode {
                    Accumulate::Overwrite => dw.clone(),
                    Accumulate::Add => dw.iter().zip(start.data()).map(|(d, s)| s + d).collect(),
                };
                let mut got = start.data().to_vec();
                backward_filter(&g, batch, x.data(), dy.data(), c_out, &mut got, mode);
                assert_near(&got, &want, &format!("{g:?} filter, {mode:?}"));
            }
        }
    }

    fn assert_near(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}: [{i}] {g} vs {w}"
            );
        }
    }

    #[test]
    fn a_hand_computed_convolution() {
        // x = [1 2; 3 4] padded by 1, w = the 3×3 kernel with 1 in the centre and 2 on its
        // right: y[i,j] = x[i,j] + 2·x[i,j+1] → [1+4 2+0; 3+8 4+0] = [5 2; 11 4].
        let g = geometry(1, (2, 2), (3, 3), (1, 1));
        let mut w = [0.0f32; 9];
        w[4] = 1.0;
        w[5] = 2.0;
        let mut y = [f32::NAN; 4];
        convolve(&g, 1, &[1.0, 2.0, 3.0, 4.0], &w, 1, 0.0, &mut y);
        assert_eq!(y, [5.0, 2.0, 11.0, 4.0]);
        // dw[p,q] = Σ dy[i,j]·xpad[i+p, j+q] with dy = 1 everywhere: the centre tap sums x (10),
        // tap (1, 2) x's right column (2 + 4 = 6), tap (0, 0) only x[0,0] = 1.
        let mut dw = [f32::NAN; 9];
        backward_filter(
            &g,
            1,
            &[1.0, 2.0, 3.0, 4.0],
            &[1.0; 4],
            1,
            &mut dw,
            Accumulate::Overwrite,
        );
        assert_eq!(dw, [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
        // The oracles of the other test give the same hand-computed values.
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(conv2d_direct(&g, 1, 1, &x, &w, None), [5.0, 2.0, 11.0, 4.0]);
        assert_eq!(conv2d_filter_direct(&g, 1, 1, &x, &[1.0; 4]), dw);
    }

    #[test]
    fn an_empty_batch_gives_an_empty_sum() {
        let g = geometry(2, (5, 5), (3, 3), (1, 1));
        let mut dw = [7.0f32; 2 * 3 * 9];
        backward_filter(&g, 0, &[], &[], 3, &mut dw, Accumulate::Add);
        assert_eq!(dw, [7.0; 54]);
        backward_filter(&g, 0, &[], &[], 3, &mut dw, Accumulate::Overwrite);
        assert_eq!(dw, [0.0; 54]);
    }

    #[test]
    fn the_route_is_for_stride_one_and_few_channels() {
        assert!(applies(&geometry(16, (14, 14), (3, 3), (1, 1)), 8));
        let wide = geometry(64, (14, 14), (3, 3), (1, 1));
        assert!(
            computes(&wide) && !applies(&wide, 64),
            "too many channel pairs for the route"
        );
        let strided = Geometry::sliding("t", 1, (28, 28), (3, 3), (2, 2), (1, 1), (1, 1));
        assert!(!applies(&strided, 16));
        let dense = geometry(8, (7, 7), (7, 7), (0, 0));
        assert!(!applies(&dense, 8));
        let mut short = geometry(2, (8, 8), (3, 3), (1, 1));
        short.h_out -= 1;
        assert!(!applies(&short, 2));
    }
}
