//! `tp bench`: how fast this machine runs the engine, so engines can be compared on the
//! same hardware. It prints the machine (CPU model, vector features, threads), the measured
//! FMA peak, GEMM throughput at the lab's shapes and at squares (GFLOP/s and share of the
//! peak), and training and inference images per second for each model of the lab at batch
//! 64.
//!
//! A shared machine (a VM, other processes) makes any single timing lie, and a peak measured
//! low makes every share above it lie too (a run once printed a GEMM at 161% of "peak").
//! So every figure here is the best of [`ROUNDS`] runs, taken in interleaved rounds (each
//! round measures the peak, then every GEMM, then every model, once), so that a noisy
//! minute spreads over all figures instead of spoiling one; the median is printed beside
//! the best, so the spread shows. Timings are short (milliseconds), so that some fall
//! between interruptions. The threaded peak runs one FMA loop on every worker at once,
//! released together from a barrier after a warm-up that wakes them all. A share above
//! 100% is never printed: the peak is measured up to 20 more times, and if a GEMM still
//! beats it, the table says the machine was too noisy. Compare engines side by side, in
//! one sitting.

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

/// Interleaved rounds of measurement: each figure is the best of this many.
pub const ROUNDS: usize = 7;
/// FMA loops timed per round, on one thread and on all: short ones, so that some of them
/// fall between the interruptions of a shared machine.
const FMA_RUNS: usize = 3;
/// Extra measurements of the threaded peak when a GEMM seems to beat it.
const PEAK_RETRIES: usize = 20;
/// Rounds of the FMA loop per measurement (a few milliseconds).
const FMA_ROUNDS: usize = 1_000_000;
/// Independent FMA chains: enough to cover the FMA latency (4 cycles) times two FMA units,
/// with room to spare, and few enough to stay in registers beside the two operands on AVX2's
/// 16 (with 16 chains, three lived on the stack, and the loop read half the peak).
const FMA_CHAINS: usize = 12;
/// Floating-point operations of one [`fma_seconds`].
const FMA_FLOPS: f64 = 2.0 * (Lanes::LANES * FMA_CHAINS * FMA_ROUNDS) as f64;

/// Repeated measurements of one rate (higher is better).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rates(pub Vec<f64>);

impl Rates {
    /// The highest: the machine's rate with the least interference.
    pub fn best(&self) -> f64 {
        self.0.iter().copied().fold(0.0, f64::max)
    }

    /// The middle one (the mean of the two middle ones for an even count), 0 with none.
    pub fn median(&self) -> f64 {
        crate::instruments::stats::median(&self.0).unwrap_or(0.0)
    }
}

/// The cell "of peak": `rate` as a share of `peak`, or a dash where it exceeds it (no rate
/// can: the peak was measured low, on a noisy machine).
pub fn share_of_peak(rate: f64, peak: f64) -> String {
    if rate > peak {
        "— (noisy)".into()
    } else {
        format!("{:.0}%", 100.0 * rate / peak)
    }
}

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

/// The FMA rate of one thread, in GFLOP/s.
fn fma_rate_one() -> f64 {
    FMA_FLOPS / fma_seconds() / 1e9
}

/// The FMA rate of every thread of the pool at once, in GFLOP/s: each worker runs the loop
/// ([`rayon::broadcast`]: exactly one per thread, so none runs two while another idles),
/// all released together from a barrier, and the slowest one's time counts for all.
fn fma_rate_all() -> f64 {
    let threads = rayon::current_num_threads();
    let barrier = std::sync::Barrier::new(threads);
    let seconds = rayon::broadcast(|_| {
        barrier.wait();
        fma_seconds()
    });
    threads as f64 * FMA_FLOPS / seconds.into_iter().fold(0.0, f64::max) / 1e9
}

/// A GEMM `C = A·B` of `m×k · k×n` on all threads, with its operands.
struct GemmCase {
    m: usize,
    k: usize,
    n: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl GemmCase {
    fn new(m: usize, k: usize, n: usize) -> GemmCase {
        GemmCase {
            m,
            k,
            n,
            a: (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect(),
            b: (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect(),
            c: vec![0.0; m * n],
        }
    }

    /// GFLOP/s of one timing: enough repetitions for about 0.2 GFLOP (a few milliseconds, like
    /// the FMA loops, and at least one product).
    fn rate(&mut self) -> f64 {
        let (m, k, n) = (self.m, self.k, self.n);
        let flops = 2.0 * (m * n * k) as f64;
        let reps = ((2e8 / flops) as usize).clamp(1, 10_000);
        let t = Instant::now();
        for _ in 0..reps {
            gemm(
                MatRef::row_major(&self.a, m, k),
                MatRef::row_major(&self.b, k, n),
                0.0,
                &mut self.c,
                Parallelism::Rayon,
            );
        }
        flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9
    }
}

/// One model of the lab, with a batch of 64 and an optimizer, ready to be timed (also by
/// `examples/step_time`).
pub struct ModelCase {
    model: Box<dyn models::Autoencoder>,
    x: Tensor,
    target: Tensor,
    opt: Adam,
    r: tensor::Rng,
}

/// Images per batch of [`ModelCase`].
pub const BATCH: usize = 64;
/// Steps (or inference passes) per timing of [`ModelCase`].
const STEPS: usize = 20;

impl ModelCase {
    /// The model of `kind` (code size 64), seeded, with a batch of uniform random images.
    pub fn new(kind: ModelKind) -> ModelCase {
        let spec = ModelSpec {
            latent: 64,
            loss: kind.default_loss(),
            beta: 1.0,
            sparsity: 0.0,
            contraction: 0.0,
        };
        let mut r = rng(0);
        let model = kind.build(&spec, &mut r);
        let [c, h, w] = kind.input_shape();
        let x = Tensor::uniform(&[BATCH, c, h, w], 0.0, 1.0, &mut r);
        let target = Tensor::uniform(&[BATCH, 1, 28, 28], 0.0, 1.0, &mut r);
        ModelCase {
            model,
            x,
            target,
            opt: Adam::new(1e-3),
            r,
        }
    }

    /// One training step: forward, backward, Adam, the model in training mode.
    pub fn train_step(&mut self) {
        self.model.train();
        let mut g = Graph::new();
        let (xv, tv) = (g.input(self.x.clone()), g.input(self.target.clone()));
        let loss = self.model.training_loss(&mut g, xv, tv, &mut self.r);
        let grads = g.backward(loss.total);
        self.opt
            .step(self.model.as_mut(), &grads)
            .expect("every parameter has a gradient");
    }

    /// Images per second of [`STEPS`] training steps (forward, backward, Adam), and of as
    /// many inference passes. Each timing follows one untimed step of its kind: the rounds
    /// visit every model in turn, and a model's first step after another's finds its
    /// buffers out of cache and its thread-local scratch sized for the other, which is not
    /// what a training run sees.
    fn rates(&mut self) -> (f64, f64) {
        self.train_step();
        let t = Instant::now();
        for _ in 0..STEPS {
            self.train_step();
        }
        let train = t.elapsed().as_secs_f64();
        self.model.eval();
        black_box(layers::infer(self.model.as_mut(), self.x.clone()));
        let t = Instant::now();
        for _ in 0..STEPS {
            black_box(layers::infer(self.model.as_mut(), self.x.clone()));
        }
        let infer = t.elapsed().as_secs_f64();
        let images = (BATCH * STEPS) as f64;
        (images / train, images / infer)
    }
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

/// `best` and the median, as printed: "44.3 (median 43.0)".
fn best_and_median(rates: &Rates, digits: usize) -> String {
    format!(
        "{:.digits$} (median {:.digits$})",
        rates.best(),
        rates.median()
    )
}

/// The measurements of [`run`], in interleaved rounds, then printed.
fn report(threads: usize) -> Result<(), String> {
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
    let kinds = &ModelKind::ALL[..5];
    let mut gemms: Vec<GemmCase> = shapes
        .iter()
        .map(|&(m, k, n, _)| GemmCase::new(m, k, n))
        .collect();
    let mut models: Vec<ModelCase> = kinds.iter().map(|&kind| ModelCase::new(kind)).collect();
    let (mut one, mut all) = (Rates::default(), Rates::default());
    let mut gemm_rates = vec![Rates::default(); gemms.len()];
    let mut train_rates = vec![Rates::default(); models.len()];
    let mut infer_rates = vec![Rates::default(); models.len()];
    // Wake every worker and bring every core to speed before the first timing.
    fma_rate_all();
    for _ in 0..ROUNDS {
        for _ in 0..FMA_RUNS {
            one.0.push(fma_rate_one());
            all.0.push(fma_rate_all());
        }
        for (case, rates) in gemms.iter_mut().zip(&mut gemm_rates) {
            rates.0.push(case.rate());
        }
        for ((case, train), infer) in models
            .iter_mut()
            .zip(&mut train_rates)
            .zip(&mut infer_rates)
        {
            let (t, i) = case.rates();
            train.0.push(t);
            infer.0.push(i);
        }
    }
    // No GEMM outruns the FMA loop: if one seems to, the peak was measured in a noisy moment.
    let fastest = gemm_rates.iter().map(Rates::best).fold(0.0, f64::max);
    for _ in 0..PEAK_RETRIES {
        if fastest <= all.best() {
            break;
        }
        all.0.push(fma_rate_all());
    }

    let lanes = Lanes::LANES;
    println!(
        "Each figure: the best of {ROUNDS} rounds that measure everything once in turn, and \
         the median beside it.\n"
    );
    let retried = all.0.len() - ROUNDS * FMA_RUNS;
    println!(
        "FMA peak ({FMA_CHAINS} chains of {lanes}-lane FMAs), GFLOP/s: {} on one thread, {} on \
         {threads} ({FMA_RUNS} loops a round{}).\n",
        best_and_median(&one, 1),
        best_and_median(&all, 1),
        if retried > 0 {
            format!(", and {retried} more on {threads} threads as a GEMM seemed faster")
        } else {
            String::new()
        }
    );
    println!("GEMM microkernel: {MR}×{NR} register tile of {lanes}-lane vectors.\n");
    let rows: Vec<Vec<String>> = shapes
        .iter()
        .zip(&gemm_rates)
        .map(|(&(m, k, n, what), rates)| {
            vec![
                format!("{m}×{k} · {k}×{n}"),
                what.to_string(),
                format!("{:.1}", rates.best()),
                format!("{:.1}", rates.median()),
                share_of_peak(rates.best(), all.best()),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &["GEMM", "where", "GFLOP/s (best)", "median", "of peak"],
            &rows
        )
    );
    if fastest > all.best() {
        println!(
            "The machine was too noisy to measure its peak: a GEMM ran faster than the best of \
             {} threaded FMA loops, so no share is given above 100%. Run again on a quieter \
             machine.\n",
            all.0.len()
        );
    }
    let rows: Vec<Vec<String>> = kinds
        .iter()
        .zip(train_rates.iter().zip(&infer_rates))
        .map(|(&kind, (train, infer))| {
            vec![
                kind.title(64),
                format!("{:.0}", train.best()),
                format!("{:.0}", train.median()),
                format!("{:.0}", infer.best()),
                format!("{:.0}", infer.median()),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                &format!("model (batch {BATCH}, {STEPS} steps a round)"),
                "training images / s (best)",
                "median",
                "inference images / s (best)",
                "median"
            ],
            &rows
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_and_median_of_rates() {
        let rates = Rates(vec![3.0, 1.0, 4.0, 1.5, 5.0]);
        assert_eq!((rates.best(), rates.median()), (5.0, 3.0));
        assert_eq!(Rates(vec![2.0, 1.0, 4.0, 3.0]).median(), 2.5);
        assert_eq!(Rates::default().median(), 0.0);
    }

    #[test]
    fn a_share_above_the_peak_is_never_printed() {
        assert_eq!(share_of_peak(75.0, 100.0), "75%");
        assert_eq!(share_of_peak(100.0, 100.0), "100%");
        assert_eq!(share_of_peak(161.0, 100.0), "— (noisy)");
    }
}
