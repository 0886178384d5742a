//! A training step in steady state takes every large buffer from the pool: after the first
//! steps, the same tensors come back, and nothing of poolable size is allocated (so nothing
//! page-faults). Nor is one filled with zeros: every gradient is written, not added into
//! zeros (`Accumulate::Overwrite`). Run on the lab's conv autoencoder and its two-layer dense
//! one.

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Loss, Sequential};
use models::Autoencoder;
use models::Plain;
use tensor::{Tensor, pool, rng};

/// Pool counters of the third of three identical training steps of `model`.
fn third_step(mut model: Plain, x: &Tensor) -> pool::PoolStats {
    let mut opt = Adam::new(1e-3);
    let mut r = rng(1);
    for step in 0..3 {
        if step == 2 {
            pool::reset_stats();
        }
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let loss = model.training_loss(&mut g, xv, xv, &mut r);
        let grads = g.backward(loss.total);
        opt.step(&mut model, &grads).unwrap();
    }
    pool::stats()
}

fn check(name: &str, net: Sequential) {
    let x = Tensor::uniform(&[64, 1, 28, 28], 0.0, 1.0, &mut rng(2));
    let stats = third_step(Plain::new(net, Loss::Mse), &x);
    assert!(stats.hits > 10, "{name}: the pool served only {stats:?}");
    assert_eq!(
        stats.misses, 0,
        "{name}: a steady step allocated ({stats:?})"
    );
    assert_eq!(
        stats.fills, 0,
        "{name}: a steady step filled a large buffer ({stats:?})"
    );
}

#[test]
fn a_steady_training_step_allocates_no_large_buffer() {
    check("conv", models::conv::autoencoder(&mut rng(0)));
    check("dense2", models::dense::deep_autoencoder(64, &mut rng(0)));
}
