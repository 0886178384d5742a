//! The parts of the strided conv autoencoder's convolutions, timed alone on one thread:
//! im2col and col2im of one chunk (the images the driver gives one task out of a batch of 64:
//! 4 images of 196 output pixels, 16 of 49, 784 GEMM columns either way), for the lab's two
//! unfolded geometries, then the GEMMs of the 16→32 layer's chunk and of the 7×7 layers'
//! batch. Best of 200 repetitions, so that a noisy machine shows its quiet moments.
//!
//! `cargo run --release -p tp-tensor --example conv_parts`
use std::hint::black_box;
use std::time::Instant;

use tensor::Parallelism;
use tensor::kernels::accumulate::Accumulate;
use tensor::kernels::gemm::{MatRef, gemm};
use tensor::kernels::im2col::{self, Geometry};

/// A 3×3, stride 2, padding 1 geometry over `c_in` planes of `side×side`.
fn strided(c_in: usize, side: usize) -> Geometry {
    Geometry {
        c_in,
        h: side,
        w: side,
        k_h: 3,
        k_w: 3,
        stride: (2, 2),
        pad: (1, 1),
        dilation: (1, 1),
        h_out: side / 2,
        w_out: side / 2,
    }
}

/// The best time of `reps` runs of `f`, in microseconds.
fn best_us(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    for (name, g) in [
        ("1→16, 28×28", strided(1, 28)),
        ("16→32, 14×14", strided(16, 14)),
    ] {
        let pixels = g.out_pixels();
        // The driver's chunk of a 64-image batch (`im2col::images_per_chunk`): 784 columns.
        let images = 784 / pixels;
        let ld = images * pixels;
        let x = vec![0.5f32; images * g.image_len()];
        let mut cols = vec![0.0f32; g.col_rows() * ld];
        let mut back = vec![0.0f32; images * g.image_len()];
        let taps = im2col::taps(&g);
        let unfold = best_us(200, || {
            for n in 0..images {
                im2col::im2col_with(
                    &g,
                    &taps,
                    &x[n * g.image_len()..],
                    &mut cols[n * pixels..],
                    ld,
                );
            }
            black_box(&cols);
        });
        let fold = best_us(200, || {
            for n in 0..images {
                let image = &mut back[n * g.image_len()..(n + 1) * g.image_len()];
                im2col::col2im_with(
                    &g,
                    &taps,
                    &cols[n * pixels..],
                    ld,
                    image,
                    Accumulate::Overwrite,
                );
            }
            black_box(&back);
        });
        let values = (g.col_rows() * ld) as f64;
        println!(
            "{name}: {images} images, {values} values: im2col {unfold:.1} µs ({:.2} ns a value), col2im {fold:.1} µs ({:.2} ns)",
            unfold * 1e3 / values,
            fold * 1e3 / values
        );
    }
    let g = strided(16, 14);
    let ld = 16 * g.out_pixels();
    let cols = vec![0.5f32; g.col_rows() * ld];
    let w = vec![0.1f32; 32 * g.col_rows()];
    let mut y = vec![0.0f32; 32 * ld];
    let dy = vec![0.5f32; 32 * ld];
    let mut dcols = vec![0.0f32; 144 * ld];
    let mut dw = vec![0.0f32; 32 * 144];
    let flops = 2.0 * 32.0 * 144.0 * ld as f64;
    let mut dw_t = vec![0.0f32; 144 * 32];
    let products: [(&str, &mut dyn FnMut()); 4] = [
        ("forward W·cols, 32×144·144×ld", &mut || {
            let (w, cols) = (
                MatRef::row_major(&w, 32, 144),
                MatRef::row_major(&cols, 144, ld),
            );
            gemm(w, cols, 0.0, &mut y, Parallelism::Sequential);
        }),
        ("adjoint Wᵀ·dy, 144×32·32×ld", &mut || {
            let (w, dy) = (
                MatRef::row_major(&w, 32, 144),
                MatRef::row_major(&dy, 32, ld),
            );
            gemm(w.t(), dy, 0.0, &mut dcols, Parallelism::Sequential);
        }),
        ("filter dy·colsᵀ, 32×ld·ld×144", &mut || {
            let (dy, cols) = (
                MatRef::row_major(&dy, 32, ld),
                MatRef::row_major(&cols, 144, ld),
            );
            gemm(dy, cols.t(), 0.0, &mut dw, Parallelism::Sequential);
        }),
        (
            "filter transposed cols·dyᵀ, 144×ld·ld×32",
            &mut || {
                let (dy, cols) = (
                    MatRef::row_major(&dy, 32, ld),
                    MatRef::row_major(&cols, 144, ld),
                );
                gemm(cols, dy.t(), 0.0, &mut dw_t, Parallelism::Sequential);
            },
        ),
    ];
    for (name, f) in products {
        let us = best_us(200, f);
        println!(
            "GEMM {name} (ld {ld}): {us:.1} µs, {:.1} GFLOP/s",
            flops / us / 1e3
        );
    }
    // The 7×7 layers' products (one GEMM over the batch): k = 64 for four of the six.
    let big = vec![0.5f32; 64 * 1568];
    let small = vec![0.5f32; 64 * 64];
    let (mut out_big, mut out_big2, mut out_big3) = (
        vec![0.0f32; 64 * 1568],
        vec![0.0f32; 64 * 1568],
        vec![0.0f32; 64 * 1568],
    );
    let mut out_small = vec![0.0f32; 64 * 64];
    let flops = 2.0 * 64.0 * 64.0 * 1568.0;
    let dense: [(&str, &mut dyn FnMut()); 4] = [
        ("64×1568·1568×64 (conv forward, X·Wᵀ)", &mut || {
            let x = MatRef::row_major(&big, 64, 1568);
            gemm(x, x.t(), 0.0, &mut out_small, Parallelism::Sequential);
        }),
        ("64×64·64×1568 (dx = dY·W)", &mut || {
            let (d, w) = (
                MatRef::row_major(&small, 64, 64),
                MatRef::row_major(&big, 64, 1568),
            );
            gemm(d, w, 0.0, &mut out_big, Parallelism::Sequential);
        }),
        ("64×64ᵀ·64×1568 (dW = dYᵀ·X)", &mut || {
            let (d, x) = (
                MatRef::row_major(&small, 64, 64),
                MatRef::row_major(&big, 64, 1568),
            );
            gemm(d.t(), x, 0.0, &mut out_big2, Parallelism::Sequential);
        }),
        ("64×64·64×1568, beta 1", &mut || {
            let (d, w) = (
                MatRef::row_major(&small, 64, 64),
                MatRef::row_major(&big, 64, 1568),
            );
            gemm(d, w, 1.0, &mut out_big3, Parallelism::Sequential);
        }),
    ];
    for (name, f) in dense {
        let us = best_us(200, f);
        println!("GEMM {name}: {us:.1} µs, {:.1} GFLOP/s", flops / us / 1e3);
    }
}
