//! Elementwise loops: map one slice, or combine two under broadcasting.
//!
//! Each output element depends on its own inputs only, so splitting the output into chunks
//! over threads changes nothing in the result. Small inputs stay on the calling thread,
//! where the cost of waking another one would exceed the work.

use crate::par::prelude::*;

use crate::kernels::accumulate::Accumulate;
use crate::{pool, shape};

/// Below this many elements a loop runs on one thread.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;
/// Elements per task when a loop is split over threads.
pub(crate) const CHUNK: usize = 1 << 13;

/// `out[i] = f(x[i])`.
pub fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = pool::take(x.len());
    map_into(x, &mut out, f);
    out
}

/// `out[i] = f(x[i])`, into an existing buffer of the same length.
pub fn map_into(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32 + Sync) {
    assert_eq!(x.len(), out.len(), "map_into: lengths differ");
    by_chunks(out, |out, at| {
        out.iter_mut().zip(&x[at..]).for_each(|(o, &v)| *o = f(v));
    });
}

/// Runs `f` on `values` in fixed chunks, spread over threads when there are many: for an
/// in-place kernel over whole slices (a vectorized activation) whose result for each value
/// depends on that value only.
pub fn in_place_chunks(values: &mut [f32], f: impl Fn(&mut [f32]) + Sync) {
    by_chunks(values, |chunk, _| f(chunk));
}

/// [`in_place_chunks`] with each chunk's offset in `values`, to find another input's matching
/// values: `f(chunk, start)`.
pub fn in_place_chunks_at(values: &mut [f32], f: impl Fn(&mut [f32], usize) + Sync) {
    by_chunks(values, f);
}

/// The one splitting of every loop here: `run(chunk, start)` over the fixed [`CHUNK`]-value
/// chunks of `dst` (`start` the chunk's offset, to find the inputs' matching values), spread
/// over threads, or once over the whole of a short `dst` on the calling thread.
fn by_chunks(dst: &mut [f32], run: impl Fn(&mut [f32], usize) + Sync) {
    if dst.len() < PARALLEL_THRESHOLD {
        run(dst, 0);
    } else {
        dst.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| run(chunk, i * CHUNK));
    }
}

/// Panics unless `a` and `b` have `dst`'s length.
fn check_lengths(op: &str, dst: &[f32], a: &[f32], b: &[f32]) {
    assert!(
        a.len() == dst.len() && b.len() == dst.len(),
        "{op}: lengths {}, {}, {} differ",
        dst.len(),
        a.len(),
        b.len()
    );
}

/// `dst[i] += f(a[i], b[i])`: a backward pass adding one input's gradient from two saved
/// tensors (an activation's input and `dy`, a loss's prediction and target).
pub fn add_map2(dst: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    check_lengths("add_map2", dst, a, b);
    by_chunks(dst, |dst, at| {
        for ((d, &x), &y) in dst.iter_mut().zip(&a[at..]).zip(&b[at..]) {
            *d += f(x, y);
        }
    });
}

/// `dst[i] = f(a[i], b[i])`: [`add_map2`] writing a fresh buffer (whose contents are never
/// read) instead of adding into one.
pub fn map2_into(dst: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    check_lengths("map2_into", dst, a, b);
    by_chunks(dst, |dst, at| {
        for ((d, &x), &y) in dst.iter_mut().zip(&a[at..]).zip(&b[at..]) {
            *d = f(x, y);
        }
    });
}

/// [`map2_into`] or [`add_map2`], as `mode` says: a backward pass delivering one input's
/// gradient from two saved tensors.
pub fn deliver_map2(
    mode: Accumulate,
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    f: impl Fn(f32, f32) -> f32 + Sync,
) {
    match mode {
        Accumulate::Overwrite => map2_into(dst, a, b, f),
        Accumulate::Add => add_map2(dst, a, b, f),
    }
}

/// `Σ f(a[i], b[i])` in f64, for losses: each fixed chunk of `CHUNK` values is summed with
/// four interleaved partial sums (so the adds do not wait for each other), and the chunks'
/// sums are added in order. The order depends on the length only, never on the threads.
pub fn sum_map2_f64(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64 + Sync) -> f64 {
    assert_eq!(a.len(), b.len(), "sum_map2_f64: lengths differ");
    let chunk_sum = |(a, b): (&[f32], &[f32])| {
        let mut acc = [0.0f64; 4];
        let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
        let tail: f64 = a4
            .remainder()
            .iter()
            .zip(b4.remainder())
            .map(|(&x, &y)| f(x, y))
            .sum();
        for (x, y) in a4.zip(b4) {
            for lane in 0..4 {
                acc[lane] += f(x[lane], y[lane]);
            }
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
    };
    let sums: Vec<f64> = if a.len() < PARALLEL_THRESHOLD {
        a.chunks(CHUNK)
            .zip(b.chunks(CHUNK))
            .map(chunk_sum)
            .collect()
    } else {
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(chunk_sum)
            .collect()
    };
    sums.iter().sum()
}

/// `out[i] = f(a[i], b[i])` for slices of the same length.
pub fn zip(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "zip: lengths differ");
    let mut out = pool::take(a.len());
    map2_into(&mut out, a, b, f);
    out
}

/// `out = f(a, b)` with NumPy broadcasting; returns the output shape and data.
///
/// Panics naming `op` and both shapes when they do not broadcast.
pub fn zip_broadcast(
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    op: &str,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> (Vec<usize>, Vec<f32>) {
    if a_shape == b_shape {
        return (a_shape.to_vec(), zip(a, b, f));
    }
    let out_shape = shape::broadcast_shapes(a_shape, b_shape, op);
    // The common case, a bias-like operand repeated along the leading axes (`[N, F] + [F]`):
    // row by row, a plain loop per row.
    if out_shape == a_shape && repeats_along_leading_axes(b_shape, a_shape) {
        let mut out = pool::take(a.len());
        for (o, a) in out.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
            o.iter_mut()
                .zip(a)
                .zip(b)
                .for_each(|((o, &x), &y)| *o = f(x, y));
        }
        return (out_shape, out);
    }
    if out_shape == b_shape && repeats_along_leading_axes(a_shape, b_shape) {
        let mut out = pool::take(b.len());
        for (o, b) in out.chunks_exact_mut(a.len()).zip(b.chunks_exact(a.len())) {
            o.iter_mut()
                .zip(a)
                .zip(b)
                .for_each(|((o, &x), &y)| *o = f(x, y));
        }
        return (out_shape, out);
    }
    let sa = shape::broadcast_strides(a_shape, &out_shape);
    let sb = shape::broadcast_strides(b_shape, &out_shape);
    let mut out = pool::take(shape::numel(&out_shape));
    shape::for_each_broadcast(&out_shape, &sa, &sb, |i, ia, ib| out[i] = f(a[ia], b[ib]));
    (out_shape, out)
}

/// Whether `small`, broadcast to `big`, is `small`'s values repeated whole: its shape, leading
/// 1s dropped, is a non-empty tail of `big`'s (`[F]` or `[1, F]` against `[N, F]`).
fn repeats_along_leading_axes(small: &[usize], big: &[usize]) -> bool {
    let first_real = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    let tail = &small[first_real..];
    let repeated_len: usize = tail.iter().product();
    !tail.is_empty() && repeated_len > 0 && tail.len() <= big.len() && big.ends_with(tail)
}

/// Adds `src` (of shape `src_shape`) into `dst` (of shape `dst_shape`), summing over the
/// axes along which `dst` was broadcast to `src_shape`.
///
/// This is the gradient of broadcasting: an input read once per output element along a
/// broadcast axis receives the sum of those elements' gradients. The sums run in a fixed
/// (row-major) order, so the result never depends on threads.
pub fn add_summed_to(src: &[f32], src_shape: &[usize], dst: &mut [f32], dst_shape: &[usize]) {
    if src_shape == dst_shape {
        add_into(dst, src);
        return;
    }
    if repeats_along_leading_axes(dst_shape, src_shape) {
        // Row by row, rows in order: the order of the general walk below, so the same bits.
        for row in src.chunks_exact(dst.len()) {
            dst.iter_mut().zip(row).for_each(|(d, &s)| *d += s);
        }
        return;
    }
    let sd = shape::broadcast_strides(dst_shape, src_shape);
    let identity = shape::strides(src_shape);
    shape::for_each_broadcast(src_shape, &identity, &sd, |_, is, id| dst[id] += src[is]);
}

/// `dst[i] += src[i]`.
pub fn add_into(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "add_into: lengths differ");
    by_chunks(dst, |dst, at| {
        dst.iter_mut().zip(&src[at..]).for_each(|(d, s)| *d += s);
    });
}

/// `f(&mut p[i], &mut s1[i], &mut s2[i], g[i])` for every `i`: an optimizer's update of a
/// parameter and two state buffers from a gradient, in one pass over the four.
///
/// Large tensors are cut into fixed chunks spread over threads; each element's update reads
/// only its own values, so the result is the same for any thread count.
pub fn update_with_state(
    p: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
    g: &[f32],
    f: impl Fn(&mut f32, &mut f32, &mut f32, f32) + Sync,
) {
    let n = p.len();
    assert!(
        s1.len() == n && s2.len() == n && g.len() == n,
        "update_with_state: lengths {n}, {}, {}, {} differ",
        s1.len(),
        s2.len(),
        g.len()
    );
    let run = |p: &mut [f32], s1: &mut [f32], s2: &mut [f32], g: &[f32]| {
        for (((p, s1), s2), &g) in p.iter_mut().zip(s1).zip(s2).zip(g) {
            f(p, s1, s2, g);
        }
    };
    if n < PARALLEL_THRESHOLD {
        run(p, s1, s2, g);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(s1.par_chunks_mut(CHUNK))
            .zip(s2.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|((p, s1), (s2, g))| run(p, s1, s2, g));
    }
}

/// `Σ x[i]`, in 8 interleaved partial sums added at the end in a fixed order.
///
/// A single running sum makes every addition wait for the previous one (about 4 cycles
/// each); eight independent sums keep the adder busy and let LLVM use one vector register.
/// The order of additions depends on the length only, so the result is reproducible.
pub fn sum(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    let [a, b, c, d, e, f, g, h] = lanes;
    ((a + e) + (b + f)) + ((c + g) + (d + h)) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_adds_a_row_to_every_row() {
        let (shape, out) = zip_broadcast(
            &[1.0, 2.0, 3.0, 4.0],
            &[2, 2],
            &[10.0, 20.0],
            &[2],
            "add",
            |x, y| x + y,
        );
        assert_eq!(shape, vec![2, 2]);
        assert_eq!(out, vec![11.0, 22.0, 13.0, 24.0]);
    }

    #[test]
    fn summing_back_folds_broadcast_axes() {
        let mut db = vec![0.0; 2];
        add_summed_to(&[1.0, 2.0, 3.0, 4.0], &[2, 2], &mut db, &[2]);
        assert_eq!(db, vec![4.0, 6.0]);
        let mut dc = vec![0.0; 2];
        add_summed_to(&[1.0, 2.0, 3.0, 4.0], &[2, 2], &mut dc, &[2, 1]);
        assert_eq!(dc, vec![3.0, 7.0]);
    }

    #[test]
    fn lane_sum_matches_a_plain_sum() {
        let x: Vec<f32> = (0..1003).map(|i| (i % 17) as f32 - 8.0).collect();
        let plain: f32 = x.iter().sum();
        assert_eq!(sum(&x), plain);
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[1.5, 2.5, 3.0]), 7.0);
    }

    #[test]
    fn parallel_map_matches_sequential() {
        let x: Vec<f32> = (0..100_000).map(|i| i as f32 * 0.001).collect();
        let y = map(&x, f32::sin);
        assert!(x.iter().zip(&y).all(|(a, b)| a.sin() == *b));
    }

    #[test]
    fn the_threaded_passes_give_the_same_bits_on_any_thread_count() {
        use crate::test_support::{Pick, in_pool};
        let mut rng = Pick::new(31);
        let n = 3 * PARALLEL_THRESHOLD + 17;
        let (a, b, g) = (rng.values(n), rng.values(n), rng.values(n));
        let run = |threads: usize| {
            in_pool(threads, || {
                let mut dst = b.clone();
                add_map2(&mut dst, &a, &g, |x, y| x * y);
                let squares: Vec<f32> = g.iter().map(|x| x * x).collect();
                let (mut p, mut s1, mut s2) = (a.clone(), b.clone(), squares);
                update_with_state(&mut p, &mut s1, &mut s2, &g, |p, s1, s2, g| {
                    *s1 = 0.9 * *s1 + g;
                    *s2 += g * g;
                    *p -= 0.01 * *s1 / (s2.sqrt() + 1e-8);
                });
                let total = sum_map2_f64(&a, &b, |x, y| ((x - y) * (x - y)) as f64);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
                (bits(&dst), bits(&p), total.to_bits())
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        assert!(one.1.iter().all(|&b| f32::from_bits(b).is_finite()));
        // And the values are what the loops say.
        for i in [0, 1, n / 2, n - 1] {
            assert_eq!(f32::from_bits(one.0[i]), b[i] + a[i] * g[i]);
        }
        let plain: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| ((x - y) * (x - y)) as f64)
            .sum();
        assert!((f64::from_bits(one.2) - plain).abs() < 1e-9 * plain);
    }

    #[test]
    fn the_row_fast_path_gives_the_general_walks_bits() {
        use crate::test_support::Pick;
        let mut rng = Pick::new(41);
        for (big, small) in [
            (vec![5, 7], vec![7]),
            (vec![3, 4, 6], vec![1, 4, 6]),
            (vec![2, 3, 4], vec![4]),
            (vec![6, 1], vec![1]),
        ] {
            let (n_big, n_small) = (shape::numel(&big), shape::numel(&small));
            let (a, b) = (rng.values(n_big), rng.values(n_small));
            let f = |x: f32, y: f32| x * 0.5 - y;
            let (s1, fast) = zip_broadcast(&a, &big, &b, &small, "t", f);
            let (s2, fast_swapped) = zip_broadcast(&b, &small, &a, &big, "t", |y, x| f(x, y));
            // The general walk, by hand.
            let sa = shape::broadcast_strides(&big, &big);
            let sb = shape::broadcast_strides(&small, &big);
            let mut want = vec![0.0; n_big];
            shape::for_each_broadcast(&big, &sa, &sb, |i, ia, ib| want[i] = f(a[ia], b[ib]));
            assert_eq!((s1, s2), (big.clone(), big.clone()));
            assert_eq!(fast, want, "{big:?} with {small:?}");
            assert_eq!(fast_swapped, want, "{small:?} with {big:?}");
            // The backward: summing back over the repeated axes.
            let mut summed = vec![0.0; n_small];
            add_summed_to(&a, &big, &mut summed, &small);
            let mut want_sum = vec![0.0; n_small];
            let identity = shape::strides(&big);
            shape::for_each_broadcast(&big, &identity, &sb, |_, is, id| want_sum[id] += a[is]);
            assert_eq!(summed, want_sum, "sum of {big:?} into {small:?}");
        }
        // Not a tail: the general path; nor an empty operand (nothing to repeat).
        assert!(!repeats_along_leading_axes(&[4, 1], &[4, 6]));
        assert!(!repeats_along_leading_axes(&[0], &[5, 0]));
        let (shape, out) = zip_broadcast(&[], &[5, 0], &[], &[0], "t", |x, y| x + y);
        assert_eq!((shape, out.len()), (vec![5, 0], 0));
        assert!(!repeats_along_leading_axes(&[1, 1], &[4, 6]));
    }
}
