//! Same seed, same result, bit for bit, whatever the number of threads.
//!
//! A two-layer network big enough that every parallel path runs (GEMM split over output
//! tiles, elementwise loops split into chunks) is run forward and backward in rayon pools of
//! one and of two threads; every value and gradient must match exactly.

use tensor::{Tape, Tensor, Transpose, rng};

fn forward_backward() -> Vec<Vec<f32>> {
    let mut r = rng(42);
    let mut tape = Tape::new();
    let x = tape.constant(Tensor::uniform(&[128, 784], 0.0, 1.0, &mut r));
    let w1 = tape.leaf(Tensor::normal(&[256, 784], 0.0, 0.05, &mut r));
    let b1 = tape.leaf(Tensor::zeros(&[256]));
    let w2 = tape.leaf(Tensor::normal(&[784, 256], 0.0, 0.05, &mut r));
    let xt = Transpose { a: false, b: true };
    let h = tape.matmul_t(x, w1, xt);
    let h = tape.add(h, b1);
    let h = tape.relu(h);
    let y = tape.matmul_t(h, w2, xt);
    let y = tape.sigmoid(y);
    let loss = tape.mse_loss(y, x, tensor::Reduction::Mean);
    let grads = tape.backward(loss);
    let mut out = vec![
        tape.value(loss).data().to_vec(),
        tape.value(y).data().to_vec(),
    ];
    for v in [w1, b1, w2] {
        out.push(grads.get(v).unwrap().data().to_vec());
    }
    out
}

fn in_pool(threads: usize) -> Vec<Vec<f32>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(forward_backward)
}

#[test]
fn one_and_two_threads_agree_bit_for_bit() {
    let one = in_pool(1);
    let two = in_pool(2);
    for (a, b) in one.iter().zip(&two) {
        let a_bits: Vec<u32> = a.iter().map(|v| v.to_bits()).collect();
        let b_bits: Vec<u32> = b.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a_bits, b_bits);
    }
}
