//! `tp bench`: how fast this machine runs the engine, so engines can be compared on the
//! same hardware. It prints the machine (CPU model, vector features, threads), the measured
//! FMA peak, GEMM throughput at the lab's shapes and at squares (GFLOP/s and share of the
//! peak), and training and inference images per second for each model of the lab at batch
//! 64. Times are best-of-several, so a noisy machine (a shared VM) reads closer to its best;
//! still, expect ±20 % from run to run there, and compare engines side by side.

use std::hint::black_box;
use std::time::Instant;

use layers::Graph;
use layers::optim::{Adam, Optimizer};
use tensor::kernels::gemm::simd::{Lanes, MR, NR, Simd};
use tensor::kernels::gemm::{MatRef, gemm};
use tensor::{Parallelism, Tensor, rng};

use crate::report::markdown::table;
use models::{ModelKind, ModelSpec};

/// The CPU's model name (from `/proc/cpuinfo` on Linux), or "unknown".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The vector features the CPU reports, and which ones this build uses.
fn vector_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let found: Vec<&str> = [
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
        let built: Vec<&str> = [
            ("avx2", cfg!(target_feature = "avx2")),
            ("fma", cfg!(target_feature = "fma")),
            ("avx512f", cfg!(target_feature = "avx512f")),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
        format!(
            "CPU has {}; this build uses {}",
            found.join(", "),
            if built.is_empty() {
                "none of them".to_string()
            } else {
                built.join(", ")
            }
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "not an x86-64 CPU".into()
    }
}

/// Rounds of the FMA loop per measurement.
const FMA_ROUNDS: usize = 5_000_000;
/// Independent FMA chains: enough to cover the FMA latency (4 cycles) times two FMA units.
const FMA_CHAINS: usize = 16;

/// Seconds for [`FMA_ROUNDS`] rounds of [`FMA_CHAINS`] independent chains of FMAs on the
/// microkernel's own vectors ([`Lanes`]: 16 lanes on AVX-512, 8 otherwise), so the peak is the
/// one the GEMM can reach: on a core with two 512-bit FMA units, 8-lane vectors reach half.
fn fma_seconds() -> f64 {
    let mut acc = [Lanes::splat(0.0); FMA_CHAINS];
    let (a, b) = (Lanes::splat(1.000_000_1), Lanes::splat(1e-7));
    let t = Instant::now();
    for _ in 0..FMA_ROUNDS {
        for v in acc.iter_mut() {
            *v = v.mul_add(a, b);
        }
    }
    black_box(acc);
    t.elapsed().as_secs_f64()
}

/// The FMA peak in GFLOP/s, best of 7: on one thread, and on every thread of the pool at
/// once (the whole region timed, so a thread that waits counts against it).
fn fma_peak() -> (f64, f64) {
    use rayon::prelude::*;
    let flops = 2.0 * (Lanes::LANES * FMA_CHAINS * FMA_ROUNDS) as f64;
    let threads = rayon::current_num_threads();
    let one = (0..7).map(|_| fma_seconds()).fold(f64::MAX, f64::min);
    let all = (0..7)
        .map(|_| {
            let t = Instant::now();
            (0..threads).into_par_iter().for_each(|_| {
                black_box(fma_seconds());
            });
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    (flops / one / 1e9, threads as f64 * flops / all / 1e9)
}

/// Best-of-5 GFLOP/s of `C = A·B` for `m×k · k×n` on all threads.
fn gemm_rate(m: usize, k: usize, n: usize) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0; m * n];
    let flops = 2.0 * (m * n * k) as f64;
    let reps = ((5e8 / flops) as usize).clamp(2, 10_000);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            gemm(
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                0.0,
                &mut c,
                Parallelism::Rayon,
            );
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    flops / best / 1e9
}

/// Best-of-3 images per second of training steps (forward, backward, Adam) and of
/// inference passes, at batch 64, for `kind`.
fn model_rates(kind: ModelKind) -> (f64, f64) {
    const BATCH: usize = 64;
    const STEPS: usize = 20;
    let spec = ModelSpec {
        latent: 64,
        loss: kind.default_loss(),
        beta: 1.0,
        sparsity: 0.0,
        contraction: 0.0,
    };
    let mut r = rng(0);
    let mut model = kind.build(&spec, &mut r);
    let [c, h, w] = kind.input_shape();
    let x = Tensor::uniform(&[BATCH, c, h, w], 0.0, 1.0, &mut r);
    let target = Tensor::uniform(&[BATCH, 1, 28, 28], 0.0, 1.0, &mut r);
    let mut opt = Adam::new(1e-3);
    let mut train_best = f64::MAX;
    let mut infer_best = f64::MAX;
    for _ in 0..3 {
        model.train();
        let t = Instant::now();
        for _ in 0..STEPS {
            let mut g = Graph::new();
            let (xv, tv) = (g.input(x.clone()), g.input(target.clone()));
            let loss = model.training_loss(&mut g, xv, tv, &mut r);
            let grads = g.backward(loss.total);
            opt.step(model.as_mut(), &grads)
                .expect("every parameter has a gradient");
        }
        train_best = train_best.min(t.elapsed().as_secs_f64() / STEPS as f64);
        model.eval();
        let t = Instant::now();
        for _ in 0..STEPS {
            black_box(layers::infer(model.as_mut(), x.clone()));
        }
        infer_best = infer_best.min(t.elapsed().as_secs_f64() / STEPS as f64);
    }
    (BATCH as f64 / train_best, BATCH as f64 / infer_best)
}

/// Measures and prints everything `tp bench` reports.
pub fn run() -> Result<(), String> {
    let threads = rayon::current_num_threads();
    println!("# tp bench\n");
    println!(
        "CPU: {}; {} threads; {}.\n",
        cpu_model(),
        threads,
        vector_features()
    );
    // Back-to-back work, as in training: the pool's threads wait for it spinning.
    tensor::parallel::with_warm_pool(|| report(threads))
}

/// The measurements of [`run`], printed as they are taken.
fn report(threads: usize) -> Result<(), String> {
    let (one, all) = fma_peak();
    let lanes = Lanes::LANES;
    println!(
        "FMA peak ({FMA_CHAINS} chains of {lanes}-lane FMAs): {one:.1} GFLOP/s on one thread, {all:.1} on {threads}.\n"
    );
    println!("GEMM microkernel: {MR}×{NR} register tile of {lanes}-lane vectors.\n");
    let shapes = [
        (64, 784, 128, "dense 784→128, batch 64"),
        (64, 128, 784, "dense 128→784, batch 64"),
        (16, 9, 12_544, "conv 1→16 3×3, im2col (64 images)"),
        (32, 144, 3_136, "conv 16→32 3×3, im2col"),
        (64, 1_568, 64, "conv 32→64 7×7, batch 64"),
        (256, 256, 256, "square"),
        (512, 512, 512, "square"),
        (1_024, 1_024, 1_024, "square"),
    ];
    let rows: Vec<Vec<String>> = shapes
        .iter()
        .map(|&(m, k, n, what)| {
            let rate = gemm_rate(m, k, n);
            vec![
                format!("{m}×{k} · {k}×{n}"),
                what.to_string(),
                format!("{rate:.1}"),
                format!("{:.0}%", 100.0 * rate / all),
            ]
        })
        .collect();
    println!("{}", table(&["GEMM", "where", "GFLOP/s", "of peak"], &rows));
    // The lab's five models.
    let rows: Vec<Vec<String>> = ModelKind::ALL[..5]
        .iter()
        .map(|&kind| {
            let (train, infer) = model_rates(kind);
            vec![kind.title(64), format!("{train:.0}"), format!("{infer:.0}")]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "model (batch 64)",
                "training images / s",
                "inference images / s"
            ],
            &rows
        )
    );
    Ok(())
}
