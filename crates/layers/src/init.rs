//! Initialisation, identical in distribution to PyTorch's defaults.
//!
//! PyTorch initialises `Linear`, `Conv2d` and `ConvTranspose2d` weights with
//! `kaiming_uniform_(w, a=√5)`: gain `= √(2 / (1 + a²)) = √(1/3)`, std `= gain / √fan_in`,
//! bound `= √3·std = 1 / √fan_in`, so `w ~ U(−1/√fan_in, 1/√fan_in)`. Biases are drawn from
//! the same `U(−1/√fan_in, 1/√fan_in)`. The standard deviation of `U(−b, b)` is `b/√3`.
//!
//! `fan_in` is PyTorch's `_calculate_fan_in_and_fan_out(w)`: `w.size(1) · receptive field`.
//! For `Linear` (`[out, in]`) that is `in`; for `Conv2d` (`[c_out, c_in, k_h, k_w]`) it is
//! `c_in·k_h·k_w`; for `ConvTranspose2d`, whose weight is `[c_in, c_out, k_h, k_w]`, it is
//! `c_out·k_h·k_w`: the *output* channels, because PyTorch reads dimension 1 whatever it means.
//!
//! The generator is ChaCha8, not PyTorch's Mersenne Twister, so values differ from PyTorch's
//! for the same seed; distributions are the same.

use tensor::{Rng, Tensor};

/// PyTorch's `fan_in` of a weight of this shape: `shape[1] · Π shape[2..]`.
pub fn fan_in(shape: &[usize]) -> usize {
    assert!(
        shape.len() >= 2,
        "fan_in: weight shape {shape:?} needs at least 2 axes"
    );
    shape[1] * shape[2..].iter().product::<usize>()
}

/// The bound `1/√fan_in` of `kaiming_uniform(a = √5)` (and of the default bias).
pub fn default_bound(fan_in: usize) -> f32 {
    assert!(fan_in > 0, "default_bound: fan_in must be positive");
    1.0 / (fan_in as f32).sqrt()
}

/// `kaiming_uniform_(w, a)` as in PyTorch (leaky-relu gain, fan-in mode):
/// `U(−b, b)` with `b = √(6 / ((1 + a²)·fan_in))`.
///
/// ```
/// # use layers::init::kaiming_uniform;
/// # use tensor::rng;
/// // a = √5, fan_in = 4: bound = √(6 / (6·4)) = 0.5.
/// let w = kaiming_uniform(&[3, 4], 5f32.sqrt(), &mut rng(0));
/// assert!(w.data().iter().all(|v| v.abs() <= 0.5));
/// ```
pub fn kaiming_uniform(shape: &[usize], a: f32, rng: &mut Rng) -> Tensor {
    let bound = (6.0 / ((1.0 + a * a) * fan_in(shape) as f32)).sqrt();
    Tensor::uniform(shape, -bound, bound, rng)
}

/// PyTorch's default weight for Linear and convolutions: `U(−1/√fan_in, 1/√fan_in)`.
pub fn default_weight(shape: &[usize], rng: &mut Rng) -> Tensor {
    let bound = default_bound(fan_in(shape));
    Tensor::uniform(shape, -bound, bound, rng)
}
