//! Direct convolutions: the textbook nested loops, accumulating in f64.
//!
//! Slow and obviously right, they are the oracles the im2col kernels ([`super::im2col`]) are
//! tested against, and the place to read what a (transposed) convolution computes.

use super::im2col::Geometry;

/// The input pixel `(i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w)` that tap `(p, q)` of output
/// pixel `(i, j)` reads, or `None` when it lies in the padding: the one formula every
/// convolution here (and the im2col tests) is written from.
pub fn tap_source(
    g: &Geometry,
    (i, j): (usize, usize),
    (p, q): (usize, usize),
) -> Option<(usize, usize)> {
    let along = |o: usize, s: usize, t: usize, d: usize, pad: usize, len: usize| {
        (o * s + t * d).checked_sub(pad).filter(|&v| v < len)
    };
    let row = along(i, g.stride.0, p, g.dilation.0, g.pad.0, g.h)?;
    let col = along(j, g.stride.1, q, g.dilation.1, g.pad.1, g.w)?;
    Some((row, col))
}

/// Where one term of a convolution comes from and goes to: tap `(p, q)` of output pixel
/// `(i, j)`, image `n`, output channel `o`, input channel `c`, as flat indices into the three
/// arrays every product here reads or writes.
struct Term {
    /// `(n, o, i, j)` in a `(batch, c_out, h_out, w_out)` array: the convolution's output.
    out: usize,
    /// `(n, c, i·s_h − pad_h + p·d_h, j·s_w − pad_w + q·d_w)` in a `(batch, c_in, h, w)` array:
    /// the input pixel the tap reads.
    input: usize,
    /// `(o, c, p, q)` in a `(c_out, c_in, k_h, k_w)` array: the weight.
    weight: usize,
}

/// Calls `f` for every term of the convolution `g` over `batch` images with `c_out` output
/// channels that does not read the padding, in the order `(n, o, i, j, c, p, q)`. The three
/// products below are this one loop with a different line in its body: which array is summed
/// into is the only difference between a convolution, its weight gradient and its transpose.
fn for_each_term(g: &Geometry, batch: usize, c_out: usize, mut f: impl FnMut(Term)) {
    for n in 0..batch {
        for o in 0..c_out {
            for i in 0..g.h_out {
                for j in 0..g.w_out {
                    let out = ((n * c_out + o) * g.h_out + i) * g.w_out + j;
                    for c in 0..g.c_in {
                        for p in 0..g.k_h {
                            for q in 0..g.k_w {
                                let Some((hi, wi)) = tap_source(g, (i, j), (p, q)) else {
                                    continue; // padding
                                };
                                f(Term {
                                    out,
                                    input: ((n * g.c_in + c) * g.h + hi) * g.w + wi,
                                    weight: ((o * g.c_in + c) * g.k_h + p) * g.k_w + q,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y[n,o,i,j] = Σ_{c,p,q} x[n,c,i·s_h−pad_h+p·d_h, j·s_w−pad_w+q·d_w]·w[o,c,p,q] + b[o]`, with
/// `x` read as 0 outside the image.
///
/// `x`: `(batch, c_in, h, w)`; `w`: `(c_out, c_in, k_h, k_w)`; `bias`: `(c_out)`;
/// returns `y`: `(batch, c_out, h_out, w_out)`.
pub fn conv2d_direct(
    g: &Geometry,
    batch: usize,
    c_out: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let pixels = g.out_pixels();
    let mut y: Vec<f64> = (0..batch * c_out * pixels)
        .map(|at| bias.map_or(0.0, |b| f64::from(b[at / pixels % c_out])))
        .collect();
    for_each_term(g, batch, c_out, |t| {
        y[t.out] += f64::from(x[t.input]) * f64::from(w[t.weight]);
    });
    y.into_iter().map(|v| v as f32).collect()
}

/// The gradient of [`conv2d_direct`]'s loss to its weight, given `dy`, the gradient to its
/// output: `dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i·s_h−pad_h+p·d_h, j·s_w−pad_w+q·d_w]`,
/// the padding read as 0.
///
/// `x`: `(batch, c_in, h, w)`; `dy`: `(batch, c_out, h_out, w_out)`; returns `dw`:
/// `(c_out, c_in, k_h, k_w)`.
pub fn conv2d_filter_direct(
    g: &Geometry,
    batch: usize,
    c_out: usize,
    x: &[f32],
    dy: &[f32],
) -> Vec<f32> {
    let mut dw = vec![0.0f64; c_out * g.c_in * g.k_h * g.k_w];
    for_each_term(g, batch, c_out, |t| {
        dw[t.weight] += f64::from(dy[t.out]) * f64::from(x[t.input]);
    });
    dw.into_iter().map(|v| v as f32).collect()
}

/// The transposed convolution of the convolution `g`: it maps that convolution's output space
/// back to its input space, every input pixel scattering a weighted copy of the kernel,
///
/// `y[n,c,i·s_h−pad_h+p·d_h, j·s_w−pad_w+q·d_w] += x[n,o,i,j]·w[o,c,p,q]`, then `y += b[c]`,
///
/// dropping what lands in the padding. In conv_transpose2d's own names `o` here is its input
/// channel and `c` its output channel, and `w` is its `(c_in, c_out, k_h, k_w)` weight.
///
/// `x`: `(batch, c_out, h_out, w_out)`; `w`: `(c_out, c_in, k_h, k_w)`; `bias`: `(c_in)`;
/// returns `y`: `(batch, c_in, h, w)`.
pub fn conv_transpose2d_direct(
    g: &Geometry,
    batch: usize,
    c_out: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut y = vec![0.0f64; batch * g.image_len()];
    for_each_term(g, batch, c_out, |t| {
        y[t.input] += f64::from(x[t.out]) * f64::from(w[t.weight]);
    });
    if let Some(b) = bias {
        let plane = g.h * g.w;
        for (at, v) in y.iter_mut().enumerate() {
            *v += f64::from(b[at / plane % g.c_in]);
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-channel 5×4 input, 3×2 taps, stride 2, padding 1, dilation 1: 3×2 outputs.
    fn small() -> Geometry {
        Geometry::sliding("small", 2, (5, 4), (3, 2), (2, 2), (1, 1), (1, 1))
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|v| ((v * 7 + seed * 13) % 11) as f32 - 5.0)
            .collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    }

    #[test]
    fn a_single_output_is_the_window_times_the_kernel() {
        // One channel, 2×2 input, 2×2 kernel, no padding: one output, Σ x·w, plus the bias.
        let g = Geometry::sliding("one", 1, (2, 2), (2, 2), (1, 1), (0, 0), (1, 1));
        let y = conv2d_direct(
            &g,
            1,
            1,
            &[1.0, 2.0, 3.0, 4.0],
            &[1.0, 0.0, -1.0, 2.0],
            Some(&[0.5]),
        );
        assert_eq!(y, vec![1.0 - 3.0 + 8.0 + 0.5]);
    }

    #[test]
    fn the_filter_gradient_and_the_transpose_are_the_convolutions_adjoints() {
        // Both follow from the convolution being linear in w and in x:
        // ⟨dy, conv(x, w')⟩ = ⟨filter(x, dy), w'⟩ and ⟨conv(x, w), y'⟩ = ⟨x, transpose(y', w)⟩.
        let (g, batch, c_out) = (small(), 2, 3);
        let x = values(batch * g.image_len(), 1);
        let w = values(c_out * g.c_in * g.k_h * g.k_w, 2);
        let dy = values(batch * c_out * g.out_pixels(), 3);
        let dw = conv2d_filter_direct(&g, batch, c_out, &x, &dy);
        let y = conv2d_direct(&g, batch, c_out, &x, &w, None);
        assert_eq!(dot(&dy, &y), dot(&dw, &w));
        let back = conv_transpose2d_direct(&g, batch, c_out, &dy, &w, None);
        assert_eq!(dot(&y, &dy), dot(&x, &back));
        // The biases: one per output channel of each.
        let b = [1.0, -2.0, 0.5];
        let with = conv2d_direct(&g, batch, c_out, &x, &w, Some(&b));
        for (at, (a, b0)) in with.iter().zip(&y).enumerate() {
            assert_eq!(a - b0, b[at / g.out_pixels() % c_out]);
        }
        let cb = [3.0, -1.0];
        let with = conv_transpose2d_direct(&g, batch, c_out, &dy, &w, Some(&cb));
        for (at, (a, b0)) in with.iter().zip(&back).enumerate() {
            assert_eq!(a - b0, cb[at / (g.h * g.w) % g.c_in]);
        }
    }
}
