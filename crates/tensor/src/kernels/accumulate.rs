//! Whether a backward function writes a fresh gradient buffer or adds into one.
//!
//! A value used once receives one gradient; a value used twice receives the sum of two. The
//! tape hands each backward function the buffer of its input's gradient: the first gradient
//! to arrive finds no buffer yet, and rather than zero-filling one and adding into it (a
//! whole extra pass over memory, every step, for every layer), the tape gives it a buffer of
//! arbitrary contents and asks it to [`Accumulate::Overwrite`]. Later arrivals
//! [`Accumulate::Add`]. The two give the same values (`0 + v = v`).
//!
//! Only the ops on a model's hot path (linear and convolution layers, the losses) and the
//! kernels under them take this argument; the others always add, into a buffer the tape
//! zero-fills for them.

/// How a backward function delivers its gradient into the buffer it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulate {
    /// The buffer is fresh and its contents arbitrary: write every element.
    Overwrite,
    /// The buffer holds the gradient of other uses: add into it.
    Add,
}

impl Accumulate {
    /// BLAS's `beta` for `C = A·B + beta·C`: 0 to overwrite (the old `C` is never read, so
    /// even NaNs there do not leak), 1 to add.
    pub fn beta(self) -> f32 {
        match self {
            Accumulate::Overwrite => 0.0,
            Accumulate::Add => 1.0,
        }
    }

    /// `*dst = v` or `*dst += v`.
    #[inline(always)]
    pub fn apply(self, dst: &mut f32, v: f32) {
        match self {
            Accumulate::Overwrite => *dst = v,
            Accumulate::Add => *dst += v,
        }
    }
}
