//! One model's training step, timed as `tp bench` times it (the same model, batch and
//! optimizer, in `tp`'s pool with its workers kept warm) but as the best of many short
//! rounds rather than 7 of 20 steps, so that a noisy shared machine still shows its quiet
//! moments. For comparing two builds of the engine, run them alternately.
//!
//! `cargo run --release -p tp-runner --example step_time -- conv 100` (model, rounds).
use std::time::Instant;

use models::ModelKind;
use tp_runner::bench::{BATCH, ModelCase};

/// Steps per round.
const STEPS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("conv", String::as_str);
    let rounds: usize = args
        .get(2)
        .map_or(60, |r| r.parse().expect("rounds: a number"));
    assert!(rounds > 0, "at least one round");
    let kind = ModelKind::from_id(name).unwrap_or_else(|| panic!("no model named {name}"));
    let pool = tp_runner::app::thread_pool(None).expect("a thread pool");
    let mut times = pool.install(|| {
        tensor::parallel::with_warm_pool(|| {
            let mut case = ModelCase::new(kind);
            case.train_step();
            (0..rounds)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..STEPS {
                        case.train_step();
                    }
                    t.elapsed().as_secs_f64() / STEPS as f64
                })
                .collect::<Vec<f64>>()
        })
    });
    times.sort_by(f64::total_cmp);
    let ms = |s: f64| s * 1e3;
    println!(
        "{name}: step {:.3} ms best, {:.3} ms 10th percentile, {:.3} median ({rounds} rounds of \
         {STEPS}, {} threads); {:.0} images/s best",
        ms(times[0]),
        ms(times[rounds / 10]),
        ms(times[rounds / 2]),
        pool.current_num_threads(),
        BATCH as f64 / times[0]
    );
}
