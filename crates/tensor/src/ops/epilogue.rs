//! Bias and activation fused into the op that produces their input: a GEMM "epilogue".
//!
//! A layer `y = act(conv(x) + b)` recorded as three ops walks its output three times forward
//! (the product, the bias add, the activation) and again backward, each walk allocating a
//! tensor. Fused, the product is followed by one pass, while the output is still in cache:
//!
//! ```text
//! forward:   z = W·x          (GEMM, written once)
//!            y = act(z + b)   (one pass over y, in place)
//! backward:  dz = dy · act'(y)   (one pass, over dy in place; act' from the output:
//!                                 relu 1[y>0], sigmoid y(1−y), tanh 1−y²)
//!            then the layer's own backward on dz
//! ```
//!
//! A convolution on im2col's chunked route runs that pass image by image, on the thread that
//! has just written the image (`im2col::Finish`), so that route never walks the batch a
//! second time; its other routes (direct, dense) finish the batch after the product.
//!
//! Every activation here differentiates through its output, so the pre-activation `z` is
//! never kept. The values are exactly those of the three separate ops: the same `f32`
//! operations on each element, in the same order.

use std::fmt;

use crate::par::prelude::*;

use crate::kernels::elementwise::{self, CHUNK, PARALLEL_THRESHOLD, in_place_chunks_at};
use crate::kernels::sigmoid::sigmoid_in_place;
use crate::ops::activation::sigmoid_of;
use crate::tensor::Tensor;

/// The activation applied in an op's epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Epilogue {
    /// None: `y = z + b`.
    #[default]
    Identity,
    /// `max(z + b, 0)`.
    Relu,
    /// `σ(z + b)`.
    Sigmoid,
    /// `tanh(z + b)`.
    Tanh,
}

impl fmt::Display for Epilogue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Epilogue::Identity => "identity",
            Epilogue::Relu => "relu",
            Epilogue::Sigmoid => "sigmoid",
            Epilogue::Tanh => "tanh",
        })
    }
}

impl Epilogue {
    /// The activation of one value (the same function as the separate op's).
    #[inline(always)]
    pub fn of(self, z: f32) -> f32 {
        match self {
            Epilogue::Identity => z,
            Epilogue::Relu => z.max(0.0),
            Epilogue::Sigmoid => sigmoid_of(z),
            Epilogue::Tanh => z.tanh(),
        }
    }

    /// `dz = dy · act'(y)`, the gradient at the pre-activation, from the op's output `y`,
    /// written over `dy` (the backward walk owns each node's gradient and needs `dy` no
    /// more): no buffer, and the decoder's last layer rewrites in place, while it is in
    /// cache, the gradient the loss's backward has just written. Nothing to do for
    /// [`Epilogue::Identity`].
    ///
    /// One loop per activation, so that each is a plain loop the compiler vectorizes (a
    /// `match` inside the loop kept it scalar, with a branch per ReLU value). Each computes
    /// what the separate op's backward adds.
    pub fn backward(self, y: &Tensor, dy: &mut Tensor) {
        assert_eq!(y.shape(), dy.shape(), "epilogue backward: y and dy differ");
        let y = y.data();
        if self != Epilogue::Identity {
            in_place_chunks_at(dy.data_mut(), |dz, at| self.backward_slice(&y[at..], dz));
        }
    }

    /// [`Epilogue::backward`] on one slice: `dz[i] = dy[i] · act'(y[i])`, `dz` holding `dy`.
    fn backward_slice(self, y: &[f32], dz: &mut [f32]) {
        let pairs = dz.iter_mut().zip(y);
        match self {
            Epilogue::Identity => {}
            // The separate op adds `dy` where `x > 0`, i.e. where `y > 0`.
            Epilogue::Relu => pairs.for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
            Epilogue::Sigmoid => pairs.for_each(|(g, &y)| *g *= y * (1.0 - y)),
            Epilogue::Tanh => pairs.for_each(|(g, &y)| *g *= 1.0 - y * y),
        }
    }

    /// [`Epilogue::backward`] for a convolution's output, `[batch, channels, plane]`, that also
    /// sums each image's channel planes of `dz` (`batch × channels` sums, image by image), in
    /// the same pass: what the bias gradient needs
    /// ([`crate::ops::conv2d::conv2d_backward_bias_from_sums`]), without a second walk over a
    /// `dz` that has left the cache by then. Each plane is summed by
    /// [`crate::kernels::elementwise::sum`], as `conv2d_backward_bias` sums it.
    ///
    /// # Panics
    /// If `y` and `dy` differ in shape, or do not hold whole images of `channels×plane`.
    pub fn backward_with_plane_sums(
        self,
        y: &Tensor,
        dy: &mut Tensor,
        channels: usize,
        plane: usize,
    ) -> Vec<f32> {
        assert_eq!(y.shape(), dy.shape(), "epilogue backward: y and dy differ");
        let image = channels * plane;
        let batch = dy.numel().checked_div(image).unwrap_or(0);
        assert_eq!(
            batch * image,
            dy.numel(),
            "epilogue backward: not whole images"
        );
        let mut sums = vec![0.0f32; batch * channels];
        if image == 0 {
            return sums;
        }
        let run = |((dz, y), sums): ((&mut [f32], &[f32]), &mut [f32])| {
            self.backward_slice(y, dz);
            for (sum, plane) in sums.iter_mut().zip(dz.chunks_exact(plane)) {
                *sum = elementwise::sum(plane);
            }
        };
        let (y, dz) = (y.data(), dy.data_mut());
        if dz.len() < PARALLEL_THRESHOLD {
            dz.chunks_exact_mut(image)
                .zip(y.chunks_exact(image))
                .zip(sums.chunks_exact_mut(channels))
                .for_each(run);
        } else {
            dz.par_chunks_mut(image)
                .zip(y.par_chunks(image))
                .zip(sums.par_chunks_mut(channels))
                .for_each(run);
        }
        sums
    }
}

/// Whether [`bias_and_activation`] changes anything: a bias, or an activation other than
/// the identity.
pub fn is_needed(bias: Option<&[f32]>, act: Epilogue) -> bool {
    bias.is_some() || act != Epilogue::Identity
}

/// `y[n, c, i] = act(y[n, c, i] + bias[c])` in place, for `y` laid out as
/// `(outer, channels, plane)`: a linear layer's `[batch, out]` has `plane = 1`, a
/// convolution's `[batch, channels, h, w]` has `plane = h·w`.
///
/// The one place any layer adds its bias. Large outputs are split over threads by whole
/// images; every element is computed on its own, so threads never change a bit.
pub fn bias_and_activation(
    y: &mut [f32],
    bias: Option<&[f32]>,
    channels: usize,
    plane: usize,
    act: Epilogue,
) {
    let image = channels * plane;
    if image == 0 || !is_needed(bias, act) {
        return;
    }
    assert!(
        y.len().is_multiple_of(image),
        "bias_and_activation: {} values are not whole images of {channels}×{plane}",
        y.len()
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), channels, "bias_and_activation: bias length");
    }
    let run = |image: &mut [f32]| {
        match bias {
            // A linear layer's row: the bias runs along it.
            Some(b) if plane == 1 => image.iter_mut().zip(b).for_each(|(v, &b)| *v += b),
            // A convolution's channel plane: one bias value for the whole plane.
            Some(b) => {
                for (plane_values, &b) in image.chunks_exact_mut(plane).zip(b) {
                    plane_values.iter_mut().for_each(|v| *v += b);
                }
            }
            None => {}
        }
        // Then the activation, over the image while it is in cache; the sigmoid 16 lanes at
        // a time (the same bits as `Epilogue::of`).
        match act {
            Epilogue::Identity => {}
            Epilogue::Sigmoid => sigmoid_in_place(image),
            act => image.iter_mut().for_each(|v| *v = act.of(*v)),
        }
    };
    if y.len() < PARALLEL_THRESHOLD {
        y.chunks_exact_mut(image).for_each(run);
    } else {
        let per_task = CHUNK.div_ceil(image).max(1) * image;
        y.par_chunks_mut(per_task)
            .for_each(|images| images.chunks_exact_mut(image).for_each(run));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation;
    use crate::test_support::{Pick, in_pool};

    fn reference(z: &Tensor, act: Epilogue) -> Tensor {
        match act {
            Epilogue::Identity => z.clone(),
            Epilogue::Relu => activation::relu(z),
            Epilogue::Sigmoid => activation::sigmoid(z),
            Epilogue::Tanh => activation::tanh(z),
        }
    }

    const ALL: [Epilogue; 4] = [
        Epilogue::Identity,
        Epilogue::Relu,
        Epilogue::Sigmoid,
        Epilogue::Tanh,
    ];

    #[test]
    fn the_backward_with_plane_sums_gives_the_bits_of_the_two_passes() {
        use crate::kernels::accumulate::Accumulate;
        use crate::ops::conv2d;
        let mut rng = Pick::new(22);
        // Below and above the parallel threshold; planes of 49 (a tail past 8-value lanes).
        for (batch, channels, plane) in [(3, 4, 49), (64, 16, 49), (5, 2, 1)] {
            let n = batch * channels * plane;
            let y = Tensor::from_vec(&[batch, channels, plane, 1], rng.values(n));
            let dy = Tensor::from_vec(&[batch, channels, plane, 1], rng.values(n));
            let start = Tensor::from_vec(&[channels], rng.values(channels));
            for act in ALL {
                let (mut want_dz, mut want_db) = (dy.clone(), start.clone());
                act.backward(&y, &mut want_dz);
                conv2d::conv2d_backward_bias(&want_dz, &mut want_db, Accumulate::Add);
                for threads in [1, 2] {
                    let (mut dz, mut db) = (dy.clone(), start.clone());
                    let sums = in_pool(threads, || {
                        act.backward_with_plane_sums(&y, &mut dz, channels, plane)
                    });
                    conv2d::conv2d_backward_bias_from_sums(&sums, &mut db, Accumulate::Add);
                    let bits =
                        |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    let case = format!("{act} on {batch}×{channels}×{plane}, {threads} threads");
                    assert_eq!(bits(&dz), bits(&want_dz), "dz, {case}");
                    assert_eq!(bits(&db), bits(&want_db), "db, {case}");
                }
            }
        }
    }

    #[test]
    fn the_fused_pass_gives_the_bits_of_bias_add_then_activation() {
        let mut rng = Pick::new(21);
        // Conv layout (plane 49, large enough to split over threads) and linear (plane 1).
        for (outer, channels, plane) in [(64, 16, 49), (3, 5, 1), (700, 64, 1)] {
            let z = Tensor::from_vec(
                &[outer, channels, plane],
                rng.values(outer * channels * plane),
            );
            let b = Tensor::from_vec(&[channels, 1], rng.values(channels));
            let plus_bias = z.add(&b);
            for act in ALL {
                let want = reference(&plus_bias, act);
                for threads in [1, 2] {
                    let mut got = z.clone();
                    in_pool(threads, || {
                        bias_and_activation(got.data_mut(), Some(b.data()), channels, plane, act)
                    });
                    let same = got
                        .data()
                        .iter()
                        .zip(want.data())
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(
                        same,
                        "{act} on {outer}×{channels}×{plane}, {threads} threads"
                    );
                }
                let mut no_bias = z.clone();
                bias_and_activation(no_bias.data_mut(), None, channels, plane, act);
                assert_eq!(no_bias, reference(&z, act), "{act} without bias");
            }
        }
    }

    #[test]
    fn the_fused_backward_gives_the_bits_of_the_activations_backward() {
        let mut rng = Pick::new(22);
        let n = 3 * PARALLEL_THRESHOLD / 2;
        let z = Tensor::from_vec(&[n], rng.values(n));
        let dy = Tensor::from_vec(&[n], rng.values(n));
        for act in [Epilogue::Relu, Epilogue::Sigmoid, Epilogue::Tanh] {
            let y = reference(&z, act);
            let mut want = Tensor::zeros(&[n]);
            match act {
                Epilogue::Relu => activation::relu_backward(&z, &dy, &mut want),
                Epilogue::Sigmoid => activation::sigmoid_backward(&y, &dy, &mut want),
                Epilogue::Tanh => activation::tanh_backward(&y, &dy, &mut want),
                Epilogue::Identity => unreachable!(),
            }
            let mut got = dy.clone();
            act.backward(&y, &mut got);
            // `want` is 0 + g·f'(y); the fused pass writes g·f'(y): equal values (and equal
            // bits but for the sign of zero, which `==` ignores).
            assert_eq!(got, want, "{act}");
        }
        let mut same = dy.clone();
        Epilogue::Identity.backward(&z, &mut same);
        assert_eq!(same, dy, "identity");
    }

    #[test]
    fn relu_at_zero_passes_no_gradient() {
        // relu'(0) = 0, as in the separate op (x > 0 strictly), read from y = 0.
        let y = Tensor::from_vec(&[3], vec![0.0, 2.0, 0.0]);
        let mut dy = Tensor::from_vec(&[3], vec![5.0, 5.0, 5.0]);
        Epilogue::Relu.backward(&y, &mut dy);
        assert_eq!(dy.data(), &[0.0, 5.0, 0.0]);
    }
}
