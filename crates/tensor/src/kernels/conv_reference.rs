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
    let mut y = vec![0.0; batch * c_out * g.out_pixels()];
    for n in 0..batch {
        for o in 0..c_out {
            for i in 0..g.h_out {
                for j in 0..g.w_out {
                    let mut acc = bias.map_or(0.0, |b| b[o] as f64);
                    for c in 0..g.c_in {
                        for p in 0..g.k_h {
                            for q in 0..g.k_w {
                                let Some((hi, wi)) = tap_source(g, (i, j), (p, q)) else {
                                    continue; // padding
                                };
                                let xv = x[((n * g.c_in + c) * g.h + hi) * g.w + wi];
                                let wv = w[((o * g.c_in + c) * g.k_h + p) * g.k_w + q];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * c_out + o) * g.h_out + i) * g.w_out + j] = acc as f32;
                }
            }
        }
    }
    y
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
    for n in 0..batch {
        for o in 0..c_out {
            for i in 0..g.h_out {
                for j in 0..g.w_out {
                    let d = dy[((n * c_out + o) * g.h_out + i) * g.w_out + j] as f64;
                    for c in 0..g.c_in {
                        for p in 0..g.k_h {
                            for q in 0..g.k_w {
                                let Some((hi, wi)) = tap_source(g, (i, j), (p, q)) else {
                                    continue; // padding
                                };
                                let xv = x[((n * g.c_in + c) * g.h + hi) * g.w + wi] as f64;
                                dw[((o * g.c_in + c) * g.k_h + p) * g.k_w + q] += d * xv;
                            }
                        }
                    }
                }
            }
        }
    }
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
    for n in 0..batch {
        for o in 0..c_out {
            for i in 0..g.h_out {
                for j in 0..g.w_out {
                    let xv = x[((n * c_out + o) * g.h_out + i) * g.w_out + j] as f64;
                    for c in 0..g.c_in {
                        for p in 0..g.k_h {
                            for q in 0..g.k_w {
                                let Some((hi, wi)) = tap_source(g, (i, j), (p, q)) else {
                                    continue; // cropped by the padding
                                };
                                let wv = w[((o * g.c_in + c) * g.k_h + p) * g.k_w + q] as f64;
                                y[((n * g.c_in + c) * g.h + hi) * g.w + wi] += xv * wv;
                            }
                        }
                    }
                }
            }
        }
        if let Some(b) = bias {
            for c in 0..g.c_in {
                let plane = &mut y[(n * g.c_in + c) * g.h * g.w..][..g.h * g.w];
                plane.iter_mut().for_each(|v| *v += b[c] as f64);
            }
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}
