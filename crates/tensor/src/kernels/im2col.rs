//! im2col and col2im, and the three batched convolution products built on them.
//!
//! A convolution reads, for each output pixel `(i, j)`, a `c_in×k_h×k_w` window of the input.
//! [`im2col`] copies every window into one column of a matrix,
//!
//! ```text
//! cols[(c, p, q), (i, j)] = x[c, i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w]   (0 outside x)
//! cols: (c_in·k_h·k_w, h_out·w_out)
//! ```
//!
//! so that the convolution becomes one GEMM, `y[o, (i,j)] = Σ_r W[o, r]·cols[r, (i,j)]`.
//! [`col2im`] is its adjoint (its transpose as a linear map): it *adds* every column back onto
//! the input pixels it was copied from, so `⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩`. A pixel that
//! appears in several windows receives the sum of their entries.
//!
//! These two loops are written once and serve both ops (see `docs/derivations/conv_adjoint.md`);
//! on an AVX-512 build, rows that fit in vectors move by lane permutes instead
//! (`im2col_rows.rs`, the same values bit for bit):
//!
//! | product                                 | conv2d        | conv_transpose2d |
//! |-----------------------------------------|---------------|------------------|
//! | [`convolve`]: `W·im2col(x)`             | forward       | gradient to x    |
//! | [`convolve_adjoint`]: `col2im(Wᵀ·dy)`   | gradient to x | forward          |
//! | [`backward_filter`]: `Σ dy·im2col(x)ᵀ`  | gradient to w | gradient to w    |
//!
//! Two variants share an unfolding between products: [`convolve_saving_cols`] keeps the
//! forward's im2col matrices for [`backward_filter_from_cols`] (conv2d's training step), and
//! [`backward_filter_and_convolve`] computes conv_transpose2d's two gradients, which both unfold
//! `dy`, from one unfolding.
//!
//! **One route, one driver.** Every product first asks `route` how to proceed, from the shapes
//! alone: a product that sums nothing (no image, channel or output pixel, or an empty input) is
//! 0; a kernel covering the whole unpadded input makes im2col the identity, so the product is
//! one GEMM over the batch; otherwise the batch goes through the chunked driver
//! (`Chunked::run`), where the forward, adjoint and filter products differ only in what one
//! chunk does. Before it, [`convolve`] and the filter products hand a stride-1 geometry with
//! few channels to [`super::direct`], which computes the same products from zero-padded planes
//! without any im2col matrix (and so keeps none for [`convolve_saving_cols`]); the adjoint
//! product has no direct form and always takes the route.
//!
//! **Batches and threads.** The batch is cut into fixed chunks of images whose size depends on
//! the shapes only, never on the thread count. Each rayon task owns one chunk of the output;
//! it lays its images' columns side by side in a thread-local buffer that grows and is reused
//! from call to call (the im2col matrix of the whole batch never exists at once) and runs one
//! GEMM for the chunk. When outputs are small (a 5×5 kernel on a 7×7 input gives 3×3), a
//! chunk holds many images, so the GEMM is one wide product rather than many narrow ones. Each
//! image of a forward or adjoint product is then finished (bias, activation) by the thread
//! that wrote it ([`Finish`]). Weight gradients are per-chunk partial sums added in chunk order, so every result is the
//! same bit for bit with any number of threads.

use std::cell::RefCell;

use crate::par::prelude::*;

use crate::Parallelism;
use crate::kernels::accumulate::Accumulate;
use crate::kernels::direct;
use crate::kernels::elementwise;
use crate::kernels::gemm::{MatRef, dot, gemm};
use crate::kernels::scratch::{grow, with_taken};

pub use super::geometry::Geometry;

/// Where every tap of every output pixel reads, computed once per geometry so that
/// [`im2col_with`] and [`col2im_with`] reduce to a gather and a scatter-add along a table, with
/// no index arithmetic, range test or branch per element (or, on AVX-512 where the rows fit,
/// to the row permutes the table carries beside it).
///
/// `offsets[(p·k_w + q)·h_out·w_out + i·w_out + j]` is the offset in one input plane (`h×w`)
/// of `x[i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w]`, or `h·w` when that position lies in
/// the padding: the kernels work on a copy of the plane with one zero appended there, so a
/// padding tap reads 0 (and a scatter into it is dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taps {
    /// One offset per tap and output pixel, each at most `h·w` (the zero slot).
    offsets: Vec<u32>,
    /// The geometry the table was built for.
    geometry: Geometry,
    /// The same reads as lane permutes of whole rows, when the rows fit in vectors
    /// ([`super::im2col_rows`]); the loops then take it instead of the table.
    #[cfg(target_feature = "avx512f")]
    rows: Option<Box<super::im2col_rows::RowPlan>>,
}

/// The [`Taps`] of a geometry.
///
/// # Panics
/// If a plane has `u32::MAX` values or more.
pub fn taps(g: &Geometry) -> Taps {
    let plane_len = g.h * g.w;
    assert!(
        plane_len < u32::MAX as usize,
        "im2col: a {}×{} plane is too large",
        g.h,
        g.w
    );
    let mut offsets = Vec::with_capacity(g.k_h * g.k_w * g.out_pixels());
    for p in 0..g.k_h {
        for q in 0..g.k_w {
            for i in 0..g.h_out {
                let row = g.source_row(i, p);
                for j in 0..g.w_out {
                    let at = match (row, g.source_col(j, q)) {
                        (Some(r), Some(c)) => r * g.w + c,
                        _ => plane_len,
                    };
                    offsets.push(at as u32);
                }
            }
        }
    }
    Taps {
        offsets,
        geometry: *g,
        #[cfg(target_feature = "avx512f")]
        rows: super::im2col_rows::RowPlan::new(g).map(Box::new),
    }
}

/// `taps` without its row permutes, so that tests can run the table loops on any geometry.
#[cfg(all(test, target_feature = "avx512f"))]
fn table_only(mut taps: Taps) -> Taps {
    taps.rows = None;
    taps
}

/// `cols[(c,p,q), (i,j)] = x[c, i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w]`, 0 in the padding.
///
/// `x`: `(c_in, h, w)`. `cols`: row `r = (c·k_h + p)·k_w + q` starts at `r·ld` and holds
/// `h_out·w_out` values, so several images can sit side by side in one matrix of row stride `ld`
/// (pass `&mut cols[image·h_out·w_out..]`). Builds the tap table for this one call; loops over
/// a batch use [`im2col_with`] and build it once.
pub fn im2col(g: &Geometry, x: &[f32], cols: &mut [f32], ld: usize) {
    im2col_with(g, &taps(g), x, cols, ld);
}

/// [`im2col`] with the table of [`taps`] computed by the caller.
pub fn im2col_with(g: &Geometry, taps: &Taps, x: &[f32], cols: &mut [f32], ld: usize) {
    let (plane_len, pixels, k) = (g.h * g.w, g.out_pixels(), g.k_h * g.k_w);
    assert!(taps.geometry == *g, "im2col: taps of another geometry");
    if pixels == 0 {
        return;
    }
    #[cfg(target_feature = "avx512f")]
    if let Some(plan) = &taps.rows {
        return super::im2col_rows::im2col(g, plan, x, cols, ld);
    }
    with_padded_plane(plane_len, |padded| {
        for c in 0..g.c_in {
            padded[..plane_len].copy_from_slice(&x[c * plane_len..(c + 1) * plane_len]);
            for (pq, offsets) in taps.offsets.chunks_exact(pixels).enumerate() {
                let r = c * k + pq;
                let row = &mut cols[r * ld..r * ld + pixels];
                for (out, &t) in row.iter_mut().zip(offsets) {
                    // SAFETY: every offset is at most `plane_len` (built so by `taps` for this very
                    // geometry, checked above), and `padded` has `plane_len + 1` values.
                    *out = unsafe { *padded.get_unchecked(t as usize) };
                }
            }
        }
    });
}

/// The adjoint of [`im2col`]: `x[c, i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w] += cols[(c,p,q), (i,j)]`,
/// skipping entries that fall in the padding. Adds into `x` (`(c_in, h, w)`), or with
/// [`Accumulate::Overwrite`] writes it (a pixel no window covers gets 0); `cols` as in
/// [`im2col`], row stride `ld`.
pub fn col2im(g: &Geometry, cols: &[f32], ld: usize, x: &mut [f32], mode: Accumulate) {
    col2im_with(g, &taps(g), cols, ld, x, mode);
}

/// [`col2im`] with the table of [`taps`] computed by the caller. Each input value receives
/// its terms in the order `(p, q, i, j)`, whatever the batch or thread count.
pub fn col2im_with(
    g: &Geometry,
    taps: &Taps,
    cols: &[f32],
    ld: usize,
    x: &mut [f32],
    mode: Accumulate,
) {
    let (plane_len, pixels, k) = (g.h * g.w, g.out_pixels(), g.k_h * g.k_w);
    assert!(taps.geometry == *g, "col2im: taps of another geometry");
    if pixels == 0 {
        if mode == Accumulate::Overwrite {
            x[..g.c_in * plane_len].fill(0.0);
        }
        return;
    }
    #[cfg(target_feature = "avx512f")]
    if let Some(plan) = &taps.rows {
        return super::im2col_rows::col2im(g, plan, cols, ld, x, mode);
    }
    // The plane with its slot for padding taps, whose sum is thrown away. The sums start
    // from `x` or from 0, while the plane is in cache, instead of a pass zeroing `x` first.
    with_padded_plane(plane_len, |padded| {
        for c in 0..g.c_in {
            let plane = &mut x[c * plane_len..(c + 1) * plane_len];
            match mode {
                Accumulate::Add => padded[..plane_len].copy_from_slice(plane),
                Accumulate::Overwrite => padded[..plane_len].fill(0.0),
            }
            for (pq, offsets) in taps.offsets.chunks_exact(pixels).enumerate() {
                let r = c * k + pq;
                let row = &cols[r * ld..r * ld + pixels];
                for (&v, &t) in row.iter().zip(offsets) {
                    // SAFETY: as in `im2col_with`.
                    unsafe { *padded.get_unchecked_mut(t as usize) += v };
                }
            }
            plane.copy_from_slice(&padded[..plane_len]);
        }
    });
}

thread_local! {
    /// The plane-with-a-zero-slot buffer of [`im2col_with`] and [`col2im_with`], kept so a
    /// call per image does not allocate.
    static PADDED_PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's buffer of `plane_len + 1` values, the last one 0 (the slot
/// padding taps read).
fn with_padded_plane<R>(plane_len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_taken(&PADDED_PLANE, |buf| {
        let padded = grow(buf, plane_len + 1);
        padded[plane_len] = 0.0;
        f(padded)
    })
}

/// Buffers one thread reuses from call to call; they only grow.
#[derive(Default)]
struct Scratch {
    /// im2col matrix of a chunk: `(c_in·k_h·k_w, images·h_out·w_out)`.
    cols: Vec<f32>,
    /// A `(c_out, images·h_out·w_out)` matrix: a chunk's GEMM output, or its gathered `dy`.
    mat: Vec<f32>,
    /// A chunk's weight gradient, transposed: `(c_in·k_h·k_w, c_out)`.
    product: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// What a product does to each image of its output once that image is complete: the bias
/// and activation of the op's epilogue ([`crate::ops::epilogue`]). The chunked driver runs it
/// on the thread that wrote the image, right after, while the image is in that core's cache,
/// in place of a separate pass over the batch whose threads would read other cores' writes.
pub type Finish<'f> = &'f (dyn Fn(&mut [f32]) + Sync);

/// Runs `finish` on every image (`image_len` values each) of `out`, for the routes that write
/// the batch whole: over threads when the batch is large, on this thread otherwise.
fn finish_each(out: &mut [f32], image_len: usize, finish: Option<Finish>) {
    let Some(finish) = finish else { return };
    if image_len == 0 {
        return;
    }
    if out.len() < elementwise::PARALLEL_THRESHOLD {
        out.chunks_exact_mut(image_len).for_each(finish);
    } else {
        out.par_chunks_mut(image_len).for_each(finish);
    }
}

/// Images per chunk for a product whose GEMM wants about `target` columns: as many images as
/// fit in `target` (one image when its own output is more than half that wide), the number of
/// chunks then rounded up to a multiple of 4 (unless one is enough) and the chunks balanced to
/// equal sizes. Depends on the shapes only. The rounding lets 2 or 4 threads share the chunks
/// evenly when the batch divides (the lab's 64 images of 196 pixels: 16 chunks of 4 rather
/// than 13 of 5, which left one of two threads a chunk behind; the conv autoencoder's 2-thread
/// step 2.17–2.26 → 2.14–2.21 ms, interleaved); when it does not, the balanced chunks fall a
/// few short of the multiple (100 images of 196 pixels: 20 chunks of 5).
fn images_per_chunk(batch: usize, pixels: usize, target: usize) -> usize {
    let want = (target / pixels.max(1)).clamp(1, batch.max(1));
    let chunks = match batch.max(1).div_ceil(want) {
        // One chunk gives the threads to its GEMM instead ([`gemm_parallelism`]).
        1 => 1,
        chunks => chunks.next_multiple_of(4),
    };
    batch.max(1).div_ceil(chunks)
}

/// GEMM columns a chunk aims for in [`convolve`] and [`convolve_adjoint`]. Measured on the conv
/// autoencoder (Zen 4, CPU time of 3 epochs): 1024 takes 11% less than 256 (fewer, larger
/// GEMMs, each packing its weight once), 2048 no less than 1024; a chunk's im2col matrix
/// (at most `144×1024` values here, 576 KiB) stays in L2.
const TARGET_COLS: usize = 1024;
/// GEMM depth a chunk aims for in [`backward_filter`] (its k is `images·h_out·w_out`), and
/// in [`convolve_saving_cols`], whose saved matrices are that product's chunks.
const TARGET_DEPTH: usize = 1024;

/// A single chunk gets the threads inside its GEMM; several chunks share them out instead.
fn gemm_parallelism(chunks: usize) -> Parallelism {
    if chunks == 1 {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    }
}

/// How every product of this module is computed for a batch, decided from the shapes alone.
/// The empty and dense cases are recognised here and nowhere else.
enum Route<'g> {
    /// The product sums nothing: no image, no output channel, no output pixel, or an empty
    /// input (no channel, or only padding). Each product's result is 0 (see [`empty_sum`]).
    Empty,
    /// The kernel covers the whole unpadded input ([`Geometry::is_dense`]): the im2col matrix
    /// of the batch is `x` itself read as `(batch, c_in·h·w)`, and each product is one GEMM.
    Dense,
    /// Fixed chunks of images, each unfolded into its own im2col matrix.
    Chunked(Chunked<'g>),
}

/// The [`Route`] of a product over `batch` images with `c_out` output channels, whose chunks
/// aim for `target` GEMM columns (or depth).
fn route(g: &Geometry, batch: usize, c_out: usize, target: usize) -> Route<'_> {
    let pixels = g.out_pixels();
    if batch == 0 || c_out == 0 || pixels == 0 || g.image_len() == 0 {
        return Route::Empty;
    }
    if g.is_dense() {
        return Route::Dense;
    }
    let per = images_per_chunk(batch, pixels, target);
    Route::Chunked(Chunked {
        g,
        taps: taps(g),
        batch,
        c_out,
        per,
        par: gemm_parallelism(batch.div_ceil(per)),
    })
}

/// `out = beta·out`: what `out = product + beta·out` leaves when the product sums nothing
/// (`beta` 0 writes zeros, 1 leaves `out` as it is).
fn empty_sum(out: &mut [f32], beta: f32) {
    if beta == 0.0 {
        out.fill(0.0);
    } else if beta != 1.0 {
        out.iter_mut().for_each(|v| *v *= beta);
    }
}

/// A batch cut into chunks of `per` images (the last may hold fewer), with what every chunk
/// shares: the tap table, and the threads a chunk's GEMM may use. The one driver of the
/// forward, adjoint and filter products ([`Chunked::run`]).
struct Chunked<'g> {
    /// The convolution's geometry.
    g: &'g Geometry,
    /// Its tap table, built once for the whole batch.
    taps: Taps,
    /// Images in the batch (at least 1).
    batch: usize,
    /// Output channels (at least 1).
    c_out: usize,
    /// Images per chunk, from [`images_per_chunk`].
    per: usize,
    /// The threads one chunk's GEMM may use ([`gemm_parallelism`]).
    par: Parallelism,
}

impl Chunked<'_> {
    /// The number of chunks.
    fn count(&self) -> usize {
        self.batch.div_ceil(self.per)
    }

    /// The images of chunk `k`.
    fn images(&self, k: usize) -> usize {
        self.per.min(self.batch - k * self.per)
    }

    /// Chunk `k`'s part of a batch stored image after image, `per_image` values each.
    fn part<'a>(&self, data: &'a [f32], per_image: usize, k: usize) -> &'a [f32] {
        &data[k * self.per * per_image..][..self.images(k) * per_image]
    }

    /// Runs `work(k, images, out, scratch)` for every chunk `k` in parallel: `out` is the
    /// chunk's own part of the outputs (`outs` yields one per chunk, in order), so each task
    /// owns what it writes, and `scratch` is this thread's buffers.
    fn run<O: Send>(
        &self,
        outs: impl IndexedParallelIterator<Item = O>,
        work: impl Fn(usize, usize, O, &mut Scratch) + Sync + Send,
    ) {
        assert_eq!(
            outs.len(),
            self.count(),
            "im2col: one output part per chunk"
        );
        outs.enumerate()
            .for_each(|(k, out)| with_taken(&SCRATCH, |s| work(k, self.images(k), out, s)));
    }

    /// `x` (the chunk's `images`, `(c_in, h, w)` each) unfolded side by side into `cols`, as the
    /// `(c_in·k_h·k_w, images·h_out·w_out)` matrix.
    fn unfold<'c>(&self, x: &[f32], images: usize, cols: &'c mut [f32]) -> MatRef<'c> {
        let (g, pixels, in_len) = (self.g, self.g.out_pixels(), self.g.image_len());
        let ld = images * pixels;
        for n in 0..images {
            im2col_with(g, &self.taps, &x[n * in_len..], &mut cols[n * pixels..], ld);
        }
        MatRef::row_major(cols, g.col_rows(), ld)
    }

    /// The chunk's `dy` (`(images, c_out, pixels)`) as the `(c_out, images·pixels)` matrix the
    /// GEMMs read: `dy` itself for one image, else gathered into `buf`.
    fn dy_matrix<'a>(&self, dy: &'a [f32], images: usize, buf: &'a mut Vec<f32>) -> MatRef<'a> {
        let (c_out, pixels) = (self.c_out, self.g.out_pixels());
        let ld = images * pixels;
        if images == 1 {
            return MatRef::row_major(dy, c_out, ld);
        }
        let mat = grow(buf, c_out * ld);
        for n in 0..images {
            for o in 0..c_out {
                let from = &dy[(n * c_out + o) * pixels..][..pixels];
                mat[o * ld + n * pixels..][..pixels].copy_from_slice(from);
            }
        }
        MatRef::row_major(mat, c_out, ld)
    }

    /// The forward product, `y[n] = W·im2col(x[n]) + beta·y[n]`, chunk by chunk, each image
    /// then finished; with `saved` (`rows·batch·pixels` values), each chunk's im2col matrix is
    /// built there and kept.
    fn forward(
        &self,
        x: &[f32],
        w: &[f32],
        beta: f32,
        y: &mut [f32],
        saved: Option<&mut [f32]>,
        finish: Option<Finish>,
    ) {
        let (rows, pixels, in_len) = (self.g.col_rows(), self.g.out_pixels(), self.g.image_len());
        let w = MatRef::row_major(w, self.c_out, rows);
        let saved: Vec<Option<&mut [f32]>> = match saved {
            Some(saved) => saved
                .chunks_mut(rows * self.per * pixels)
                .map(Some)
                .collect(),
            None => (0..self.count()).map(|_| None).collect(),
        };
        let y_parts = y.par_chunks_mut(self.per * self.c_out * pixels);
        self.run(y_parts.zip(saved), |k, images, (y, saved), s| {
            // cols: (c_in·k_h·k_w, images·h_out·w_out)
            let cols = match saved {
                Some(cols) => cols,
                None => grow(&mut s.cols, rows * images * pixels),
            };
            let cols = self.unfold(self.part(x, in_len, k), images, cols);
            product_per_image(w, cols, beta, y, pixels, &mut s.mat, self.par, finish);
        });
    }

    /// The adjoint product, `x[n] = col2im(Wᵀ·dy[n])` (added with [`Accumulate::Add`]), chunk
    /// by chunk, each image then finished.
    fn adjoint(
        &self,
        w: &[f32],
        dy: &[f32],
        x: &mut [f32],
        mode: Accumulate,
        finish: Option<Finish>,
    ) {
        let (rows, pixels, in_len) = (self.g.col_rows(), self.g.out_pixels(), self.g.image_len());
        let w_t = MatRef::row_major(w, self.c_out, rows).t();
        let x_parts = x.par_chunks_mut(self.per * in_len);
        self.run(x_parts, |k, images, x, s| {
            let ld = images * pixels;
            let dy = self.dy_matrix(self.part(dy, self.c_out * pixels, k), images, &mut s.mat);
            // dcols: (c_in·k_h·k_w, images·h_out·w_out) = Wᵀ·dy
            let dcols = grow(&mut s.cols, rows * ld);
            gemm(w_t, dy, 0.0, dcols, self.par);
            for n in 0..images {
                let x = &mut x[n * in_len..(n + 1) * in_len];
                col2im_with(self.g, &self.taps, &dcols[n * pixels..], ld, x, mode);
                if let Some(finish) = finish {
                    finish(x);
                }
            }
        });
    }

    /// The filter product, `dw = Σ_n dy[n]·im2col(x[n])ᵀ` (added with [`Accumulate::Add`]):
    /// per chunk, `partial = dy·colsᵀ`; the partials are added into `dw` in chunk order (the
    /// first one written, to overwrite), so the sum never depends on the threads. With
    /// `convolve_too`, each chunk's im2col matrix also serves the forward product.
    fn filter(
        &self,
        source: Cols,
        dy: &[f32],
        dw: &mut [f32],
        mode: Accumulate,
        convolve_too: Option<SharedConvolve>,
    ) {
        let (c_out, rows) = (self.c_out, self.g.col_rows());
        let (pixels, in_len) = (self.g.out_pixels(), self.g.image_len());
        let (w_fwd, y_beta, y_parts): (Option<MatRef>, f32, Vec<Option<&mut [f32]>>) =
            match convolve_too {
                Some(f) => (
                    Some(MatRef::row_major(f.w, c_out, rows)),
                    f.mode.beta(),
                    f.y.chunks_mut(self.per * c_out * pixels)
                        .map(Some)
                        .collect(),
                ),
                None => (None, 0.0, (0..self.count()).map(|_| None).collect()),
            };
        // partials: (chunks, c_out, c_in·k_h·k_w)
        // Every partial is written by its chunk's GEMM (beta = 0).
        let mut partials = crate::pool::take(self.count() * c_out * rows);
        let partial_parts = partials.par_chunks_mut(c_out * rows);
        self.run(partial_parts.zip(y_parts), |k, images, (partial, y), s| {
            let ld = images * pixels;
            // cols: (c_in·k_h·k_w, images·h_out·w_out)
            let cols = match source {
                Cols::Saved(saved) => {
                    let cols = &saved[k * rows * self.per * pixels..][..rows * ld];
                    MatRef::row_major(cols, rows, ld)
                }
                Cols::Unfold(x) => {
                    let cols = grow(&mut s.cols, rows * ld);
                    self.unfold(self.part(x, in_len, k), images, cols)
                }
            };
            if let (Some(w), Some(y)) = (w_fwd, y) {
                product_per_image(w, cols, y_beta, y, pixels, &mut s.mat, self.par, None);
            }
            let dy = self.dy_matrix(self.part(dy, c_out * pixels, k), images, &mut s.mat);
            // partial: (c_out, c_in·k_h·k_w) = dy·colsᵀ
            weight_gradient_product(dy, cols, partial, &mut s.product, self.par);
        });
        for (k, partial) in partials.chunks_exact(c_out * rows).enumerate() {
            let mode = if k == 0 { mode } else { Accumulate::Add };
            dw.iter_mut()
                .zip(partial)
                .for_each(|(d, &p)| mode.apply(d, p));
        }
        crate::pool::recycle(partials);
    }
}

/// `partial = dy·colsᵀ` for row-major `dy` (`c_out×k`) and `cols` (`rows×k`): rows of both run
/// along k, so with few output channels or taps the unpacked dot-product kernel is faster
/// ([`dot::prefers_dot`]); otherwise the packed GEMM computes the transpose, `colsᵀ`'s way
/// round: `partialᵀ = cols·dyᵀ` into `buf`, then transposed into `partial`. With `cols` as
/// A, the GEMM reads the large operand in place (its C has only `c_out` columns) and packs
/// only `dy`, where `dy·colsᵀ` would transpose the whole im2col matrix into B panels
/// (the 16→32 layer's chunk, `32×784·784×144`, one thread, Zen 4: 84 → 69 µs). Each value is the same sum in the
/// same order either way (a product of two floats does not depend on their order), so the
/// choice depends on the shapes only.
fn weight_gradient_product(
    dy: MatRef,
    cols: MatRef,
    partial: &mut [f32],
    buf: &mut Vec<f32>,
    par: Parallelism,
) {
    let (c_out, rows, k) = (dy.rows, cols.rows, dy.cols);
    assert!(dy.col_stride == 1 && cols.col_stride == 1 && cols.cols == k);
    if dot::prefers_dot(c_out, rows) {
        dot::gemm_nt_dot(
            c_out,
            rows,
            k,
            dy.data,
            dy.row_stride,
            cols.data,
            cols.row_stride,
            0.0,
            partial,
            par,
        );
    } else {
        // transposed: (rows, c_out)
        let transposed = grow(buf, rows * c_out);
        gemm(cols, dy.t(), 0.0, transposed, par);
        for (r, line) in transposed.chunks_exact(c_out).enumerate() {
            for (o, &v) in line.iter().enumerate() {
                partial[o * rows + r] = v;
            }
        }
    }
}

/// `y[n] = W·cols[:, n] + beta·y[n]` for the images of one chunk, whose columns sit side by
/// side in `cols` (`(c_in·k_h·k_w, images·pixels)`); `y` is `(images, c_out, pixels)`. Each
/// image is then finished, right after it is written.
///
/// One image's `(c_out, pixels)` product is already `y`'s layout; for several, the product
/// `(c_out, images·pixels)` goes to `buf` and is then written image by image.
#[allow(
    clippy::too_many_arguments,
    reason = "the chunk's product, its buffer, threads and finish"
)]
fn product_per_image(
    w: MatRef,
    cols: MatRef,
    beta: f32,
    y: &mut [f32],
    pixels: usize,
    buf: &mut Vec<f32>,
    par: Parallelism,
    finish: Option<Finish>,
) {
    let (c_out, ld) = (w.rows, cols.cols);
    let images = ld / pixels;
    if images == 1 {
        gemm(w, cols, beta, y, par);
        if let Some(finish) = finish {
            finish(&mut y[..c_out * pixels]);
        }
        return;
    }
    // out: (c_out, images·h_out·w_out)
    let out = grow(buf, c_out * ld);
    gemm(w, cols, 0.0, out, par);
    for n in 0..images {
        for o in 0..c_out {
            let dst = &mut y[(n * c_out + o) * pixels..][..pixels];
            let src = &out[o * ld + n * pixels..][..pixels];
            if beta == 0.0 {
                dst.copy_from_slice(src);
            } else {
                dst.iter_mut()
                    .zip(src)
                    .for_each(|(d, &v)| *d = beta * *d + v);
            }
        }
        if let Some(finish) = finish {
            finish(&mut y[n * c_out * pixels..][..c_out * pixels]);
        }
    }
}

/// `y[n] = W·im2col(x[n]) + beta·y[n]` for every image `n` of the batch, then `finish` on
/// each image of `y` (`c_out·h_out·w_out` values): in the chunked driver right after the
/// image is written, on the other routes after the batch.
///
/// `x`: `(batch, c_in, h, w)`; `w`: `(c_out, c_in·k_h·k_w)`; `y`: `(batch, c_out, h_out·w_out)`.
/// `beta` is 0 (write) or 1 (accumulate). Conv2d's forward (`finish` its bias and activation,
/// [`crate::ops::epilogue`]), and the gradient to the input of conv_transpose2d.
#[allow(
    clippy::too_many_arguments,
    reason = "the product's shapes and operands, and the finish"
)]
pub fn convolve(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    w: &[f32],
    c_out: usize,
    beta: f32,
    y: &mut [f32],
    finish: Option<Finish>,
) {
    let image_len = c_out * g.out_pixels();
    if batch > 0 && direct::applies(g, c_out) {
        direct::convolve(g, batch, x, w, c_out, beta, y);
        return finish_each(y, image_len, finish);
    }
    match route(g, batch, c_out, TARGET_COLS) {
        Route::Empty => {
            empty_sum(y, beta);
            finish_each(y, image_len, finish);
        }
        Route::Dense => {
            // y (batch, c_out) = x (batch, c_in·h·w) · Wᵀ: one GEMM for the whole batch.
            let rows = g.col_rows();
            let x = MatRef::row_major(x, batch, rows);
            let w_t = MatRef::row_major(w, c_out, rows).t();
            gemm(x, w_t, beta, y, Parallelism::Rayon);
            finish_each(y, image_len, finish);
        }
        Route::Chunked(chunks) => chunks.forward(x, w, beta, y, None, finish),
    }
}

/// [`convolve`] with `beta = 0` that also returns the batch's im2col matrices, for
/// the weight gradient ([`backward_filter_from_cols`]) to use instead of unfolding `x` again.
///
/// The batch is cut into the chunks of [`backward_filter`] (about 1,024 columns);
/// chunk `k`'s matrix `(c_in·k_h·k_w, images·h_out·w_out)` is stored whole, one chunk after
/// another. Each output element is the same dot product as in [`convolve`], so the bits are the
/// same. `None` when there is nothing to unfold: an empty product, a dense geometry, whose
/// im2col is `x` itself, or one the direct route takes ([`direct::applies`]), which unfolds
/// nothing.
pub fn convolve_saving_cols(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    w: &[f32],
    c_out: usize,
    y: &mut [f32],
    finish: Option<Finish>,
) -> Option<Vec<f32>> {
    // The direct route has no im2col matrix to keep, nor has a dense or empty product.
    let chunks = match route(g, batch, c_out, TARGET_DEPTH) {
        Route::Chunked(chunks) if !direct::applies(g, c_out) => chunks,
        _ => {
            convolve(g, batch, x, w, c_out, 0.0, y, finish);
            return None;
        }
    };
    // Every value is written by im2col (padding taps write zeros).
    let mut saved = crate::pool::take(g.col_rows() * batch * g.out_pixels());
    chunks.forward(x, w, 0.0, y, Some(&mut saved), finish);
    Some(saved)
}

/// `x[n] += col2im(Wᵀ·dy[n])` for every image `n` of the batch, or `=` with
/// [`Accumulate::Overwrite`], then `finish` on each image of `x` (`c_in·h·w` values): in the
/// chunked driver right after its col2im, on the other routes after the batch.
///
/// `w`: `(c_out, c_in·k_h·k_w)`; `dy`: `(batch, c_out, h_out·w_out)`; `x`: `(batch, c_in, h, w)`.
/// The gradient to conv2d's input, and conv_transpose2d's forward (`finish` its bias and
/// activation).
#[allow(
    clippy::too_many_arguments,
    reason = "the product's shapes and operands, and the finish"
)]
pub fn convolve_adjoint(
    g: &Geometry,
    batch: usize,
    w: &[f32],
    c_out: usize,
    dy: &[f32],
    x: &mut [f32],
    mode: Accumulate,
    finish: Option<Finish>,
) {
    match route(g, batch, c_out, TARGET_COLS) {
        Route::Empty => {
            empty_sum(x, mode.beta());
            finish_each(x, g.image_len(), finish);
        }
        Route::Dense => {
            // col2im is the identity here: x (batch, c_in·h·w) += dy (batch, c_out) · W.
            let dy = MatRef::row_major(dy, batch, c_out);
            let w = MatRef::row_major(w, c_out, g.col_rows());
            gemm(dy, w, mode.beta(), x, Parallelism::Rayon);
            finish_each(x, g.image_len(), finish);
        }
        Route::Chunked(chunks) => chunks.adjoint(w, dy, x, mode, finish),
    }
}

/// `dw += Σ_n dy[n]·im2col(x[n])ᵀ`, or `=` with [`Accumulate::Overwrite`].
///
/// `x`: `(batch, c_in, h, w)`; `dy`: `(batch, c_out, h_out·w_out)`; `dw`: `(c_out, c_in·k_h·k_w)`.
/// Each fixed chunk of images computes its partial sum (one GEMM whose depth runs over the
/// chunk's images and pixels); the partials are added into `dw` in chunk order.
pub fn backward_filter(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    dy: &[f32],
    c_out: usize,
    dw: &mut [f32],
    mode: Accumulate,
) {
    backward_filter_and_convolve(g, batch, x, dy, c_out, dw, mode, None);
}

/// [`backward_filter`] from the im2col matrices that [`convolve_saving_cols`] kept: the same
/// chunks and products, so the same bits, without unfolding `x` again.
pub fn backward_filter_from_cols(
    g: &Geometry,
    batch: usize,
    saved: &[f32],
    dy: &[f32],
    c_out: usize,
    dw: &mut [f32],
    mode: Accumulate,
) {
    let (rows, pixels) = (g.col_rows(), g.out_pixels());
    assert_eq!(
        saved.len(),
        rows * batch * pixels,
        "backward_filter_from_cols: saved cols"
    );
    filter(g, batch, Cols::Saved(saved), dy, c_out, dw, mode, None);
}

/// A convolution `y[n] += W·im2col(x[n])` (`w`: `(c_out, c_in·k_h·k_w)`, `y`:
/// `(batch, c_out, h_out·w_out)`) computed from the im2col matrices that
/// [`backward_filter_and_convolve`] builds anyway.
pub struct SharedConvolve<'a> {
    /// The weight, `(c_out, c_in·k_h·k_w)`.
    pub w: &'a [f32],
    /// Where the product goes, `(batch, c_out, h_out·w_out)`.
    pub y: &'a mut [f32],
    /// Whether the product is written into `y` or added to it.
    pub mode: Accumulate,
}

/// [`backward_filter`], and, when `convolve_too` is given, `y[n] += W·im2col(x[n])` from the same
/// im2col matrices, so `x` is unfolded once instead of twice.
///
/// A transposed convolution needs exactly this pair in its backward pass: both its input
/// gradient (`W·im2col(dy)`) and its weight gradient (`Σ x·im2col(dy)ᵀ`) unfold `dy`.
#[allow(clippy::too_many_arguments)] // the two products' operands, spelled out
pub fn backward_filter_and_convolve(
    g: &Geometry,
    batch: usize,
    x: &[f32],
    dy: &[f32],
    c_out: usize,
    dw: &mut [f32],
    mode: Accumulate,
    convolve_too: Option<SharedConvolve>,
) {
    filter(g, batch, Cols::Unfold(x), dy, c_out, dw, mode, convolve_too);
}

/// Where the filter product finds each chunk's im2col matrix.
#[derive(Clone, Copy)]
enum Cols<'a> {
    /// Unfold it from the input `(batch, c_in, h, w)`.
    Unfold(&'a [f32]),
    /// Read it from [`convolve_saving_cols`]'s matrices.
    Saved(&'a [f32]),
}

/// The filter product of [`backward_filter_and_convolve`] and [`backward_filter_from_cols`],
/// along its [`Route`].
#[allow(clippy::too_many_arguments)] // the two products' operands, spelled out
fn filter(
    g: &Geometry,
    batch: usize,
    source: Cols,
    dy: &[f32],
    c_out: usize,
    dw: &mut [f32],
    mode: Accumulate,
    convolve_too: Option<SharedConvolve>,
) {
    if let Cols::Unfold(x) = source
        && batch > 0
        && direct::applies(g, c_out)
    {
        if let Some(f) = convolve_too {
            convolve(g, batch, x, f.w, c_out, f.mode.beta(), f.y, None);
        }
        return direct::backward_filter(g, batch, x, dy, c_out, dw, mode);
    }
    match route(g, batch, c_out, TARGET_DEPTH) {
        Route::Empty => {
            empty_sum(dw, mode.beta());
            if let Some(f) = convolve_too {
                empty_sum(f.y, f.mode.beta());
            }
        }
        Route::Dense => {
            let Cols::Unfold(x) = source else {
                unreachable!("convolve_saving_cols saves nothing for a dense geometry")
            };
            // No im2col to share: the two products are one GEMM each.
            if let Some(f) = convolve_too {
                convolve(g, batch, x, f.w, c_out, f.mode.beta(), f.y, None);
            }
            // dw (c_out, c_in·h·w) += dyᵀ (c_out, batch) · x (batch, c_in·h·w): one GEMM, its
            // depth running over the batch.
            let dy_t = MatRef::row_major(dy, batch, c_out).t();
            let x = MatRef::row_major(x, batch, g.col_rows());
            gemm(dy_t, x, mode.beta(), dw, Parallelism::Rayon);
        }
        Route::Chunked(chunks) => chunks.filter(source, dy, dw, mode, convolve_too),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::random_tensor;
    use crate::kernels::conv_reference::tap_source;

    fn geometry(
        c_in: usize,
        h: usize,
        w: usize,
        k: (usize, usize),
        s: usize,
        pad: usize,
        d: usize,
    ) -> Geometry {
        let out = |len: usize, k: usize| (len + 2 * pad - d * (k - 1) - 1) / s + 1;
        Geometry {
            c_in,
            h,
            w,
            k_h: k.0,
            k_w: k.1,
            stride: (s, s),
            pad: (pad, pad),
            dilation: (d, d),
            h_out: out(h, k.0),
            w_out: out(w, k.1),
        }
    }

    /// Two geometries no layer of the lab has: asymmetric strides and padding, and a
    /// transposed convolution's output padding, which leaves an input row unread.
    fn edge_geometries() -> [Geometry; 2] {
        let mut asymmetric = geometry(2, 10, 7, (3, 3), 1, 1, 1);
        asymmetric.stride = (2, 3);
        asymmetric.pad = (0, 2);
        asymmetric.h_out = (10 - 3) / 2 + 1;
        asymmetric.w_out = (7 + 4 - 3) / 3 + 1;
        let mut short = geometry(2, 8, 8, (3, 3), 2, 1, 1);
        short.h_out -= 1;
        [asymmetric, short]
    }

    #[test]
    fn im2col_by_hand() {
        // x = [1 2 3; 4 5 6; 7 8 9], 2×2 kernel, stride 1, no padding: the four windows
        // [1 2; 4 5], [2 3; 5 6], [4 5; 7 8], [5 6; 8 9] become the four columns.
        let g = geometry(1, 3, 3, (2, 2), 1, 0, 1);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut cols = vec![f32::NAN; 16];
        im2col(&g, &x, &mut cols, 4);
        #[rustfmt::skip]
        let want = [
            1.0, 2.0, 4.0, 5.0, // tap (0,0)
            2.0, 3.0, 5.0, 6.0, // tap (0,1)
            4.0, 5.0, 7.0, 8.0, // tap (1,0)
            5.0, 6.0, 8.0, 9.0, // tap (1,1)
        ];
        assert_eq!(cols, want);
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ over seeded random geometries.
        let mut seed = 1;
        for c_in in 1..=3 {
            for (h, w) in [(1, 1), (5, 7), (8, 3)] {
                for k in [(1, 1), (2, 3), (3, 3)] {
                    for (s, pad, d) in [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, 2, 2), (2, 0, 1)] {
                        if h + 2 * pad < d * (k.0 - 1) + 1 || w + 2 * pad < d * (k.1 - 1) + 1 {
                            continue;
                        }
                        let g = geometry(c_in, h, w, k, s, pad, d);
                        seed += 1;
                        let x = random_tensor(&[g.image_len()], seed);
                        let c = random_tensor(&[g.col_rows() * g.out_pixels()], seed + 1000);
                        let mut cols = vec![0.0; c.numel()];
                        im2col(&g, x.data(), &mut cols, g.out_pixels());
                        let mut back = vec![0.0; x.numel()];
                        col2im(&g, c.data(), g.out_pixels(), &mut back, Accumulate::Add);
                        let dot = |a: &[f32], b: &[f32]| {
                            a.iter()
                                .zip(b)
                                .map(|(&a, &b)| a as f64 * b as f64)
                                .sum::<f64>()
                        };
                        let (lhs, rhs) = (dot(&cols, c.data()), dot(x.data(), &back));
                        assert!(
                            (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
                            "{g:?}: {lhs} vs {rhs}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn chunks_depend_on_shapes_only() {
        assert_eq!(images_per_chunk(64, 196, 256), 1);
        // Chunks in a multiple of 4 where the batch divides: 16 of 4, 4 of 16.
        assert_eq!(images_per_chunk(64, 196, TARGET_COLS), 4);
        assert_eq!(images_per_chunk(64, 49, TARGET_COLS), 16);
        // Where it does not, balanced chunks a little short of the multiple: 20 of 5, 50 of 20.
        assert_eq!(images_per_chunk(100, 196, TARGET_COLS), 5);
        assert_eq!(images_per_chunk(1000, 49, TARGET_COLS), 20);
        assert_eq!(images_per_chunk(64, 1, TARGET_COLS), 64);
        assert_eq!(images_per_chunk(64, 49, TARGET_DEPTH), 16);
        assert_eq!(images_per_chunk(0, 49, TARGET_COLS), 1);
    }

    #[test]
    fn im2col_and_col2im_follow_their_definitions_element_by_element() {
        // The tap table against the formula itself, on geometries with padding wider than a
        // tap's reach, dilation, asymmetric strides and an output padding row (h_out short).
        let mut cases = vec![
            geometry(2, 7, 9, (3, 3), 2, 1, 1),
            geometry(1, 5, 5, (3, 2), 1, 2, 1),
            geometry(3, 9, 8, (2, 3), 1, 1, 2),
            geometry(1, 28, 28, (3, 3), 2, 1, 1),
        ];
        cases.extend(edge_geometries());
        for g in cases {
            let x: Vec<f32> = (0..g.image_len()).map(|v| v as f32 + 1.0).collect();
            let ld = g.out_pixels() + 3;
            let mut cols = vec![f32::NAN; g.col_rows() * ld];
            im2col(&g, &x, &mut cols, ld);
            let mut back = vec![0.0f32; g.image_len()];
            col2im(&g, &cols, ld, &mut back, Accumulate::Add);
            let mut want_back = vec![0.0f32; g.image_len()];
            for c in 0..g.c_in {
                for p in 0..g.k_h {
                    for q in 0..g.k_w {
                        let r = (c * g.k_h + p) * g.k_w + q;
                        for i in 0..g.h_out {
                            for j in 0..g.w_out {
                                let source = tap_source(&g, (i, j), (p, q));
                                let at = source.map(|(y, z)| (c * g.h + y) * g.w + z);
                                let want = at.map_or(0.0, |at| x[at]);
                                let got = cols[r * ld + i * g.w_out + j];
                                assert_eq!(got, want, "{g:?}: cols[{r}, ({i}, {j})]");
                                if let Some(at) = at {
                                    want_back[at] += got;
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(back, want_back, "{g:?}: col2im");
        }
    }

    /// Bitwise the table loops' results, and the plan taken exactly where rows fit in vectors.
    #[cfg(target_feature = "avx512f")]
    #[test]
    fn row_permutes_match_the_table_loops_bit_for_bit() {
        // The three ways of the permutes: rows of one vector with two output rows to a vector
        // (w ≤ 16, w_out ≤ 8), rows of one vector (w ≤ 16, w_out 9 to 16), rows of two (w > 16).
        let mut cases = vec![
            geometry(16, 14, 14, (3, 3), 2, 1, 1),
            geometry(3, 9, 8, (2, 3), 1, 1, 2),
            geometry(2, 5, 5, (3, 2), 1, 2, 1),
            geometry(2, 16, 16, (3, 3), 1, 1, 1),
            geometry(1, 12, 13, (3, 3), 1, 0, 1),
            geometry(2, 9, 14, (2, 1), 1, 0, 3),
            geometry(1, 28, 28, (3, 3), 2, 1, 1),
            geometry(2, 32, 32, (3, 3), 2, 1, 1),
            geometry(2, 16, 17, (3, 3), 1, 0, 1),
            geometry(1, 30, 31, (5, 4), 3, 2, 2),
            geometry(2, 7, 18, (1, 2), 2, 3, 1),
        ];
        cases.extend(edge_geometries());
        for (n, g) in cases.iter().enumerate() {
            let taps = taps(g);
            assert!(taps.rows.is_some(), "{g:?}: rows fit, the permutes apply");
            let table = table_only(taps.clone());
            let ld = g.out_pixels() + 5;
            let x = random_tensor(&[g.image_len()], 40 + n as u64);
            let (mut fast, mut slow) = (vec![f32::NAN; g.col_rows() * ld], vec![0.0; 0]);
            slow.resize(fast.len(), f32::NAN);
            im2col_with(g, &taps, x.data(), &mut fast, ld);
            im2col_with(g, &table, x.data(), &mut slow, ld);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&slow), "{g:?}: im2col");
            let c = random_tensor(&[g.col_rows() * ld], 80 + n as u64);
            for mode in [Accumulate::Add, Accumulate::Overwrite] {
                let start = random_tensor(&[g.image_len()], 120 + n as u64);
                let (mut fast, mut slow) = (start.data().to_vec(), start.data().to_vec());
                col2im_with(g, &taps, c.data(), ld, &mut fast, mode);
                col2im_with(g, &table, c.data(), ld, &mut slow, mode);
                assert_eq!(bits(&fast), bits(&slow), "{g:?}: col2im {mode:?}");
            }
        }
        // Rows wider than two vectors, or output rows longer than one, keep the table.
        assert!(taps(&geometry(1, 33, 33, (3, 3), 2, 1, 1)).rows.is_none());
        assert!(taps(&geometry(1, 17, 17, (1, 1), 1, 0, 1)).rows.is_none());
    }

    #[test]
    fn the_transposed_weight_gradient_gives_the_direct_products_bits() {
        // `partial = dy·colsᵀ` computed as `(cols·dyᵀ)ᵀ`: the same bits as the direct GEMM,
        // for shapes on both sides of the GEMM's in-place thresholds and a deep k.
        for (n, &(c_out, rows, k)) in [(32, 144, 784), (17, 40, 300), (200, 24, 1500)]
            .iter()
            .enumerate()
        {
            assert!(!dot::prefers_dot(c_out, rows));
            let dy = random_tensor(&[c_out * k], 200 + n as u64);
            let cols = random_tensor(&[rows * k], 300 + n as u64);
            let (dy, cols) = (
                MatRef::row_major(dy.data(), c_out, k),
                MatRef::row_major(cols.data(), rows, k),
            );
            let mut want = vec![0.0; c_out * rows];
            gemm(dy, cols.t(), 0.0, &mut want, Parallelism::Sequential);
            let mut got = vec![f32::NAN; c_out * rows];
            weight_gradient_product(dy, cols, &mut got, &mut Vec::new(), Parallelism::Sequential);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{c_out}×{rows}, k = {k}");
        }
    }
}
