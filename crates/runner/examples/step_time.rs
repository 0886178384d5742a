//! One model's training step, timed: the best of many short rounds, so that a noisy shared
//! machine still shows its quiet moments (where `tp bench` takes 7). For comparing two builds
//! of the engine on the step `tp bench` reports, run alternately.
//!
//! `cargo run --release -p tp-runner --example step_time -- conv 60` (model, rounds).
use std::time::Instant;

use layers::Graph;
use layers::optim::{Adam, Optimizer};
use models::{ModelKind, ModelSpec};
use tensor::{Tensor, rng};

/// Images per step, as in `tp bench`.
const BATCH: usize = 64;
/// Steps per round.
const STEPS: usize = 5;

fn main() {
    // The pool `tp` runs in (subnormals flushed on every thread, the caller a worker).
    let pool = tp_runner::app::thread_pool(None).expect("a thread pool");
    pool.install(time_steps);
}

/// Times the model named by the first argument, for the rounds given by the second.
fn time_steps() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("conv", String::as_str);
    let rounds: usize = args
        .get(2)
        .map_or(60, |r| r.parse().expect("rounds: a number"));
    let kind = ModelKind::from_id(name).unwrap_or_else(|| panic!("no model named {name}"));
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
    model.train();
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..STEPS {
                let mut g = Graph::new();
                let (xv, tv) = (g.input(x.clone()), g.input(target.clone()));
                let loss = model.training_loss(&mut g, xv, tv, &mut r);
                let grads = g.backward(loss.total);
                opt.step(model.as_mut(), &grads)
                    .expect("every parameter has a gradient");
            }
            t.elapsed().as_secs_f64() / STEPS as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let ms = |s: f64| s * 1e3;
    println!(
        "{name}: step {:.3} ms best, {:.3} ms 10th percentile, {:.3} median ({} rounds of {STEPS}, {} threads); {:.0} images/s best",
        ms(times[0]),
        ms(times[rounds / 10]),
        ms(times[rounds / 2]),
        rounds,
        rayon::current_num_threads(),
        BATCH as f64 / times[0]
    );
}
