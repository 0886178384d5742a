//! GEMM throughput: reference vs SIMD (sequential) vs SIMD + rayon vs the always-packed nest,
//! on square sizes and on the shapes the lab's conv and dense autoencoders produce.
//!
//! Throughput is declared as `Elements(2·m·n·k)`, so criterion's "elem/s" column is flop/s
//! (one multiply and one add per term); read "Gelem/s" as GFLOP/s.
//!
//! Run: `cargo bench --bench gemm` (or `cargo bench --bench gemm -- 512` for one shape).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tensor::Parallelism;
use tensor::kernels::gemm::{self, MatRef};

/// `(m, k, n)` of `A[m×k]·B[k×n]`.
const SQUARE: [(usize, usize, usize); 3] = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024)];
/// Conv layers as im2col GEMMs (c_out × c_in·k_h·k_w · h_out·w_out, batch folded into n) and
/// dense layers on MNIST batches of 64.
const LAB: [(usize, usize, usize); 5] = [
    (16, 9, 12544),
    (32, 144, 3136),
    (64, 1568, 64),
    (64, 784, 128),
    (64, 128, 784),
];

/// Deterministic data in [-1, 1) without a dependency.
fn data(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Checks a variant against the reference result `want` once, before it is timed.
fn check(a: MatRef, b: MatRef, want: &[f32], par: Parallelism) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut got = vec![f32::NAN; m * n];
    gemm::gemm(a, b, 0.0, &mut got, par);
    let tol = 1e-4 * (k as f32).sqrt().max(1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{m}×{k}·{k}×{n} {par:?}: C[{i}] = {g}, want {w}"
        );
    }
}

fn bench_gemm(crit: &mut Criterion) {
    let mut group = crit.benchmark_group("gemm");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_millis(800));
    for (m, k, n) in SQUARE.into_iter().chain(LAB) {
        let (a, b) = (data(m * k, 1), data(k * n, 2));
        let mut c = vec![0.0; m * n];
        let shape = format!("{m}x{k}*{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let (a_ref, b_ref) = (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
        let mut want = vec![0.0; m * n];
        gemm::reference::gemm(a_ref, b_ref, 0.0, &mut want);
        if m * n * k <= 64 * 784 * 128 {
            // The triple loop takes seconds on the big squares; time it on the lab shapes only.
            group.bench_function(BenchmarkId::new("reference", &shape), |bench| {
                bench.iter(|| gemm::reference::gemm(a_ref, b_ref, 0.0, &mut c))
            });
        }
        for (name, par) in [
            ("simd", Parallelism::Sequential),
            ("simd_rayon", Parallelism::Rayon),
        ] {
            check(a_ref, b_ref, &want, par);
            group.bench_function(BenchmarkId::new(name, &shape), |bench| {
                bench.iter(|| gemm::gemm(a_ref, b_ref, 0.0, &mut c, par))
            });
        }
        // The textbook nest, every block packed: what the plan's shortcuts buy on thin shapes.
        group.bench_function(BenchmarkId::new("always_packed_rayon", &shape), |bench| {
            let par = Parallelism::Rayon;
            bench.iter(|| gemm::gemm_always_packed(a_ref, b_ref, 0.0, &mut c, par))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
