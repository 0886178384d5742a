//! Where the direct convolution beats im2col + GEMM: a stride-1 3×3 convolution (padding 1)
//! at batch 64 on one thread, forward only, for channel counts around
//! `kernels::direct::MAX_CHANNEL_PRODUCT`. Prints GFLOP/s of each route.
//!
//!     cargo run --release -p tp-tensor --example direct_vs_im2col
use std::time::Instant;

use tensor::Parallelism;
use tensor::kernels::direct;
use tensor::kernels::gemm::{MatRef, gemm};
use tensor::kernels::im2col::{self, Geometry};

/// Seconds per call of `f`: the best of 5 runs of `reps` calls.
fn best_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let batch = 64;
    println!("| c_in×c_out | side | direct GFLOP/s | im2col + GEMM GFLOP/s |");
    println!("|---|---:|---:|---:|");
    for (c_in, c_out, side) in [
        (1, 16, 28),
        (16, 1, 28),
        (16, 8, 14),
        (8, 8, 8),
        (16, 16, 14),
        (16, 32, 14),
        (32, 32, 14),
        (64, 64, 14),
    ] {
        let g = Geometry::sliding("bench", c_in, (side, side), (3, 3), (1, 1), (1, 1), (1, 1));
        let x = vec![0.5f32; batch * g.image_len()];
        let w = vec![0.01f32; c_out * g.col_rows()];
        let mut y = vec![0.0f32; batch * c_out * g.out_pixels()];
        let flops = 2.0 * (batch * c_out * g.col_rows() * g.out_pixels()) as f64;
        let reps = (2e8 / flops).ceil() as usize;
        let direct = pool.install(|| {
            best_seconds(reps, || {
                direct::convolve(&g, batch, &x, &w, c_out, 0.0, &mut y)
            })
        });
        let (rows, pixels) = (g.col_rows(), g.out_pixels());
        let taps = im2col::taps(&g);
        let mut cols = vec![0.0f32; rows * pixels];
        let unfolded = best_seconds(reps, || {
            for n in 0..batch {
                im2col::im2col_with(&g, &taps, &x[n * g.image_len()..], &mut cols, pixels);
                let w = MatRef::row_major(&w, c_out, rows);
                let cols = MatRef::row_major(&cols, rows, pixels);
                let y = &mut y[n * c_out * pixels..][..c_out * pixels];
                gemm(w, cols, 0.0, y, Parallelism::Sequential);
            }
        });
        println!(
            "| {c_in}×{c_out} | {side} | {:.1} | {:.1} |",
            flops / direct / 1e9,
            flops / unfolded / 1e9
        );
    }
}
