//! What the unit tests share: one seeded generator for sampling configurations and test data,
//! and the runs the convolution and pooling tests compare across thread counts.

use rand_distr::{Distribution, Uniform};

use crate::random::{Rng, rng};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// A seeded stream of test choices and values, on the engine's own generator (the same
/// ChaCha8 as every tensor, so tests draw from one source).
pub(crate) struct Pick(Rng);

impl Pick {
    /// A stream from a seed.
    pub(crate) fn new(seed: u64) -> Pick {
        Pick(rng(seed))
    }

    /// A whole number in `0..n`.
    pub(crate) fn next(&mut self, n: usize) -> usize {
        Uniform::new(0, n)
            .expect("Pick::next: n must be positive")
            .sample(&mut self.0)
    }

    /// `len` values uniform in `[-1, 1)`.
    pub(crate) fn values(&mut self, len: usize) -> Vec<f32> {
        Tensor::uniform(&[len], -1.0, 1.0, &mut self.0).into_data()
    }
}

/// Forward and the gradient of every input of `f` (an op on the tape), as bits.
pub(crate) fn run_bits(inputs: &[Tensor], f: impl Fn(&mut Tape, &[Var]) -> Var) -> Vec<u32> {
    let mut tape = Tape::new();
    let vars: Vec<Var> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    let y = f(&mut tape, &vars);
    let dy = crate::gradcheck::random_tensor(tape.shape(y), 99);
    let grads = tape.backward_from(y, dy);
    let mut bits: Vec<u32> = tape.value(y).data().iter().map(|v| v.to_bits()).collect();
    for v in vars {
        bits.extend(grads.get(v).unwrap().data().iter().map(|v| v.to_bits()));
    }
    bits
}

/// Runs `f` in a rayon pool of `threads` threads.
pub(crate) fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}
