//! A quick GEMM table without criterion: best-of-N GFLOP/s per shape, 1 and 2 threads.
//!
//! `cargo run --release -p tp-tensor --example gemm_gflops [MxKxN[t][t] ...]`
//!
//! A shape may end in `ta` (A stored transposed, as `Aᵀ` is in a weight gradient), `tb` (B
//! stored transposed, as a linear layer's weight is read) or both (`tatb`). `--packed` times
//! [`gemm_always_packed`] instead of [`gemm`]; `--dot` times the unpacked dot-product kernel
//! of the weight gradients ([`dot::gemm_nt_dot`], `tb` shapes only), e.g. `--dot 16x980x9tb`.
use std::time::Instant;

use tensor::Parallelism;
use tensor::kernels::gemm::{MatRef, dot, gemm, gemm_always_packed};
use tensor::parallel::with_warm_pool;

/// One product to time: its sizes and which operands are stored transposed.
struct Shape {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
}

fn parse(arg: &str) -> Shape {
    let (ta, tb) = (arg.contains("ta"), arg.contains("tb"));
    let dims = arg.trim_end_matches(['t', 'a', 'b']);
    let v: Vec<usize> = dims
        .split('x')
        .map(|d| d.parse().expect("shape as MxKxN[ta][tb]"))
        .collect();
    assert_eq!(v.len(), 3, "shape as MxKxN[ta][tb], got {arg}");
    Shape {
        m: v[0],
        k: v[1],
        n: v[2],
        ta,
        tb,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let packed = args.iter().any(|a| a == "--packed");
    let mut shapes: Vec<Shape> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|a| parse(a))
        .collect();
    if shapes.is_empty() {
        shapes = [
            "256x256x256",
            "512x512x512",
            "1024x1024x1024",
            "16x9x12544",
            "32x144x3136",
            "64x1568x64",
            "64x784x128",
            "64x128x784",
        ]
        .map(parse)
        .into();
    }
    let dot_kernel = args.iter().any(|a| a == "--dot");
    let product = if packed { gemm_always_packed } else { gemm };
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("a rayon thread pool");
    println!(
        "{:>26} {:>9} {:>9}",
        "m x k * k x n", "1 thread", "2 threads"
    );
    for Shape { m, k, n, ta, tb } in shapes {
        assert!(
            !dot_kernel || (tb && !ta),
            "--dot times A·Bᵀ with both along k: give MxKxNtb shapes"
        );
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let a_view = if ta {
            MatRef::row_major(&a, k, m).t()
        } else {
            MatRef::row_major(&a, m, k)
        };
        let b_view = if tb {
            MatRef::row_major(&b, n, k).t()
        } else {
            MatRef::row_major(&b, k, n)
        };
        let mut c = vec![0.0; m * n];
        let flops = 2.0 * (m * n * k) as f64;
        let reps = ((1e9 / flops) as usize).clamp(2, 20000);
        let mut rate = |par| {
            let mut best = f64::MAX;
            for _ in 0..10 {
                let t = Instant::now();
                for _ in 0..reps {
                    if dot_kernel {
                        // A (m×k) and B stored as n×k, both along k.
                        dot::gemm_nt_dot(m, n, k, &a, k, &b, k, 0.0, &mut c, par);
                    } else {
                        product(a_view, b_view, 0.0, &mut c, par);
                    }
                }
                best = best.min(t.elapsed().as_secs_f64() / reps as f64);
            }
            flops / best / 1e9
        };
        let seq = rate(Parallelism::Sequential);
        // Threaded, timed as training runs its kernels: from a worker of the pool while the
        // others spin for work (`with_warm_pool`), as OpenBLAS's threads spin between calls.
        // From outside the pool, waking a sleeping worker costs about as long as a small
        // product (16×9 · 9×12544 takes 35 µs).
        let par = pool.install(|| with_warm_pool(|| rate(Parallelism::Rayon)));
        let name = format!(
            "{m}x{k} * {k}x{n}{}{}",
            if ta { " ta" } else { "" },
            if tb { " tb" } else { "" }
        );
        println!("{name:>26} {seq:>9.1} {par:>9.1}");
    }
}
