use std::time::Instant;
use tensor::Parallelism;
use tensor::kernels::gemm::{MatRef, gemm};
use tensor::kernels::im2col::Geometry;
fn main() {
    let g = Geometry {
        c_in: 16,
        h: 14,
        w: 14,
        k_h: 3,
        k_w: 3,
        stride: (2, 2),
        pad: (1, 1),
        dilation: (1, 1),
        h_out: 7,
        w_out: 7,
    };
    let batch = 64;
    let x = vec![0.5f32; batch * g.image_len()];
    let ld = batch * g.out_pixels();
    let mut cols = vec![0.0f32; g.col_rows() * ld];
    let w = vec![0.1f32; 32 * 144];
    let mut y = vec![0.0f32; 32 * ld];
    for _ in 0..3 {
        let t = Instant::now();
        let taps = tensor::kernels::im2col::taps(&g);
        for _ in 0..100 {
            for n in 0..batch {
                tensor::kernels::im2col::im2col_with(
                    &g,
                    &taps,
                    &x[n * g.image_len()..],
                    &mut cols[n * 49..],
                    ld,
                );
            }
        }
        let t1 = t.elapsed().as_secs_f64() / 100.0;
        let t = Instant::now();
        for _ in 0..100 {
            gemm(
                MatRef::row_major(&w, 32, 144),
                MatRef::row_major(&cols, 144, ld),
                0.0,
                &mut y,
                Parallelism::Sequential,
            );
        }
        let t2 = t.elapsed().as_secs_f64() / 100.0;
        println!(
            "im2col whole batch {:.1} us, gemm 32x144x3136 seq {:.1} us",
            t1 * 1e6,
            t2 * 1e6
        );
    }
}
