//! Convolution layers of the lab's conv autoencoder at batch 64: forward, and forward + backward
//! (gradients to x, w and b, as PyTorch's `y.backward(dy)` computes them with `x.requires_grad`).
//!
//! Each layer's forward is first checked once against the direct nested loops of
//! `kernels::conv_reference`, then timed. Throughput is declared as `Elements(2·MACs)`, so the
//! "elem/s" column of the forward rows reads as flop/s.
//!
//! Run: `cargo bench --bench conv` (or `cargo bench --bench conv -- conv1` for one layer).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tensor::gradcheck::{assert_close, random_tensor};
use tensor::kernels::accumulate::Accumulate;
use tensor::kernels::conv_reference::{conv_transpose2d_direct, conv2d_direct};
use tensor::kernels::im2col::Geometry;
use tensor::ops::{conv_transpose2d, conv2d};
use tensor::tape::GradSlot;
use tensor::{Conv2dSpec, ConvTranspose2dSpec, Epilogue, Tensor};

const BATCH: usize = 64;

/// A layer: name, transposed?, c_in, c_out, input size, kernel, stride, padding, output padding.
type Layer = (
    &'static str,
    bool,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

const LAYERS: [Layer; 6] = [
    (
        "conv1 1→16 3x3 s2 p1 on 28x28",
        false,
        1,
        16,
        28,
        3,
        2,
        1,
        0,
    ),
    (
        "conv2 16→32 3x3 s2 p1 on 14x14",
        false,
        16,
        32,
        14,
        3,
        2,
        1,
        0,
    ),
    ("conv3 32→64 7x7 on 7x7", false, 32, 64, 7, 7, 1, 0, 0),
    ("convt1 64→32 7x7 on 1x1", true, 64, 32, 1, 7, 1, 0, 0),
    (
        "convt2 32→16 3x3 s2 p1 op1 on 7x7",
        true,
        32,
        16,
        7,
        3,
        2,
        1,
        1,
    ),
    (
        "convt3 16→1 3x3 s2 p1 op1 on 14x14",
        true,
        16,
        1,
        14,
        3,
        2,
        1,
        1,
    ),
];

fn geometry(c: usize, h: usize, k: usize, s: usize, p: usize, h_out: usize) -> Geometry {
    Geometry {
        c_in: c,
        h,
        w: h,
        k_h: k,
        k_w: k,
        stride: (s, s),
        pad: (p, p),
        dilation: (1, 1),
        h_out,
        w_out: h_out,
    }
}

fn bench_conv(crit: &mut Criterion) {
    let mut group = crit.benchmark_group("conv");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    for (name, transposed, c_in, c_out, hw, k, s, p, op) in LAYERS {
        let x = random_tensor(&[BATCH, c_in, hw, hw], 1);
        let w_shape = if transposed {
            [c_in, c_out, k, k]
        } else {
            [c_out, c_in, k, k]
        };
        let w = random_tensor(&w_shape, 2);
        let b = random_tensor(&[c_out], 3);
        let (conv_spec, t_spec) = (Conv2dSpec::new(s, p), ConvTranspose2dSpec::new(s, p, op));
        let forward = |x: &Tensor| {
            if transposed {
                conv_transpose2d::conv_transpose2d(x, &w, Some(&b), &t_spec)
            } else {
                conv2d::conv2d(x, &w, Some(&b), &conv_spec)
            }
        };
        // Check once against the direct loops before timing.
        let y = forward(&x);
        let h_out = y.shape()[2];
        let want = if transposed {
            let g = geometry(c_out, h_out, k, s, p, hw);
            conv_transpose2d_direct(&g, BATCH, c_in, x.data(), w.data(), Some(b.data()))
        } else {
            let g = geometry(c_in, hw, k, s, p, h_out);
            conv2d_direct(&g, BATCH, c_out, x.data(), w.data(), Some(b.data()))
        };
        assert_close(name, y.data(), &want, 1e-4, 1e-4);
        let macs = BATCH * c_in * c_out * k * k * if transposed { hw * hw } else { h_out * h_out };
        group.throughput(Throughput::Elements(2 * macs as u64));
        let dy = random_tensor(y.shape(), 4);

        group.bench_function(BenchmarkId::new("forward", name), |bench| {
            bench.iter(|| forward(&x))
        });
        group.bench_function(BenchmarkId::new("forward+backward", name), |bench| {
            bench.iter(|| {
                // As the tape does when training: a convolution keeps its im2col matrices for
                // the weight gradient.
                let (y, saved) = if transposed {
                    (forward(&x), None)
                } else {
                    let act = Epilogue::Identity;
                    conv2d::conv2d_fused_saving(&x, &w, Some(&b), &conv_spec, act)
                };
                let (mut dx, mut dw, mut db) = (
                    Tensor::for_overwrite(x.shape()),
                    Tensor::for_overwrite(w.shape()),
                    Tensor::for_overwrite(b.shape()),
                );
                // As the tape does: fresh buffers, overwritten.
                let write = Accumulate::Overwrite;
                if transposed {
                    // All three gradients from one call, dx and dw from one unfolding of dy.
                    let slot = |grad| Some(GradSlot { grad, mode: write });
                    conv_transpose2d::conv_transpose2d_backward(
                        &x,
                        &w,
                        &t_spec,
                        &dy,
                        slot(&mut dx),
                        slot(&mut dw),
                        slot(&mut db),
                    );
                } else {
                    let saved = saved.as_ref();
                    conv2d::conv2d_backward_input(&w, &conv_spec, &dy, &mut dx, write);
                    conv2d::conv2d_backward_weight(&x, &conv_spec, &dy, &mut dw, write, saved);
                    conv2d::conv2d_backward_bias(&dy, &mut db, write);
                }
                (y, dx, dw, db)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_conv);
criterion_main!(benches);
