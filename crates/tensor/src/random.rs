//! Seeded random numbers: the same seed gives the same tensors on every machine.
//!
//! ChaCha8 is specified bit for bit (unlike `StdRng`, which may change between rand
//! releases), so a seed written in a lab report reproduces its results later.

use rand::SeedableRng;

/// The random generator every part of the engine takes explicitly (never a global).
pub type Rng = rand::rngs::ChaCha8Rng;

/// A generator from a seed.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}
