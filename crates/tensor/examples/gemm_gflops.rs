//! A quick GEMM table without criterion: best-of-N GFLOP/s per shape, 1 and 2 threads.
//!
//! `cargo run --release -p tp-tensor --example gemm_gflops [MxKxN ...]`
use std::time::Instant;

use tensor::Parallelism;
use tensor::kernels::gemm::{MatRef, gemm};

fn main() {
    let shapes = [
        (256, 256, 256),
        (512, 512, 512),
        (1024, 1024, 1024),
        (16, 9, 12544),
        (32, 144, 3136),
        (64, 1568, 64),
        (64, 784, 128),
        (64, 128, 784),
    ];
    let extra: Vec<(usize, usize, usize)> = std::env::args()
        .skip(1)
        .map(|a| {
            let v: Vec<usize> = a
                .split('x')
                .map(|d| d.parse().expect("shape as MxKxN"))
                .collect();
            (v[0], v[1], v[2])
        })
        .collect();
    let shapes = if extra.is_empty() {
        shapes.to_vec()
    } else {
        extra
    };
    println!(
        "{:>22} {:>9} {:>9}",
        "m x k * k x n", "1 thread", "2 threads"
    );
    for (m, k, n) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0; m * n];
        let flops = 2.0 * (m * n * k) as f64;
        let reps = ((1e9 / flops) as usize).clamp(2, 20000);
        let mut rate = |par| {
            let mut best = f64::MAX;
            for _ in 0..10 {
                let t = Instant::now();
                for _ in 0..reps {
                    gemm(
                        MatRef::row_major(&a, m, k),
                        MatRef::row_major(&b, k, n),
                        0.0,
                        &mut c,
                        par,
                    );
                }
                best = best.min(t.elapsed().as_secs_f64() / reps as f64);
            }
            flops / best / 1e9
        };
        let seq = rate(Parallelism::Sequential);
        let par = rate(Parallelism::Rayon);
        println!("{:>22} {seq:>9.1} {par:>9.1}", format!("{m}x{k} * {k}x{n}"));
    }
}
