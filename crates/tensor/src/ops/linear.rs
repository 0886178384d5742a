//! The fully connected layer as one op: `y = act(x·Wᵀ + b)`.
//!
//! `x: [N, in]`, `w: [out, in]` (PyTorch's layout, read transposed by the GEMM, no copy),
//! `b: [out]`, `y: [N, out]`. Recorded as `matmul`, `add` and an activation, the layer walks
//! its output three times and broadcasts the bias through the general index machinery; as
//! one op it is a GEMM followed by one pass ([`epilogue::bias_and_activation`]). Backward,
//! from `dz = dy·act'(y)` ([`Epilogue::backward`]):
//!
//! ```text
//! dx += dz·W        dW += dzᵀ·x        db[o] += Σ_n dz[n, o]
//! ```

use crate::Parallelism;
use crate::kernels::accumulate::Accumulate;
use crate::kernels::elementwise;
use crate::kernels::gemm::{MatRef, gemm};
use crate::ops::epilogue::{self, Epilogue};
use crate::ops::matmul::{self, Transpose};
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// How `x·Wᵀ` reads its operands, for the matmul backward functions.
const X_TIMES_WT: Transpose = Transpose { a: false, b: true };

/// Panics, naming the shapes, unless `x: [N, in]`, `w: [out, in]` and `b: [out]` fit.
fn check(x: &[usize], w: &[usize], b: Option<&[usize]>) -> (usize, usize, usize) {
    assert!(
        x.len() == 2 && w.len() == 2 && x[1] == w[1],
        "linear: x {x:?} is not [batch, in] for a weight {w:?} of [out, in]"
    );
    if let Some(b) = b {
        assert!(b == [w[0]], "linear: bias {b:?} is not [{}]", w[0]);
    }
    (x[0], x[1], w[0])
}

/// `y = act(x·Wᵀ + b)`.
///
/// ```
/// # use tensor::{Tensor, ops::{epilogue::Epilogue, linear::linear}};
/// // x = [1 2], W = [1 1; 1 −1], b = [0.5 0.5]: z = [3.5, −0.5], relu → [3.5, 0].
/// let x = Tensor::from_vec(&[1, 2], vec![1.0, 2.0]);
/// let w = Tensor::from_vec(&[2, 2], vec![1.0, 1.0, 1.0, -1.0]);
/// let b = Tensor::from_vec(&[2], vec![0.5, 0.5]);
/// assert_eq!(linear(&x, &w, Some(&b), Epilogue::Relu).data(), &[3.5, 0.0]);
/// ```
pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, act: Epilogue) -> Tensor {
    let (batch, in_f, out_f) = check(x.shape(), w.shape(), bias.map(Tensor::shape));
    // Every element is written by the GEMM (beta = 0).
    let mut y = Tensor::for_overwrite(&[batch, out_f]);
    gemm(
        MatRef::row_major(x.data(), batch, in_f),
        MatRef::row_major(w.data(), out_f, in_f).t(),
        0.0,
        y.data_mut(),
        Parallelism::Rayon,
    );
    epilogue::bias_and_activation(y.data_mut(), bias.map(Tensor::data), out_f, 1, act);
    y
}

/// `dx += dz·W` (`=` with [`Accumulate::Overwrite`]).
pub fn linear_backward_input(w: &Tensor, dz: &Tensor, dx: &mut Tensor, mode: Accumulate) {
    matmul::matmul_backward_lhs(w, X_TIMES_WT, dz, dx, mode);
}

/// `dW += dzᵀ·x` (`=` with [`Accumulate::Overwrite`]).
pub fn linear_backward_weight(x: &Tensor, dz: &Tensor, dw: &mut Tensor, mode: Accumulate) {
    matmul::matmul_backward_rhs(x, X_TIMES_WT, dz, dw, mode);
}

/// `db[o] += Σ_n dz[n, o]`: the broadcast add's backward, rows added in order (`=` with
/// [`Accumulate::Overwrite`], which starts the sums from a zeroed bias-sized buffer: a few
/// hundred values, not worth a second summing loop).
pub fn linear_backward_bias(dz: &Tensor, db: &mut Tensor, mode: Accumulate) {
    assert!(
        dz.rank() == 2 && dz.shape()[1] == db.numel(),
        "linear bias backward: dz {:?} does not match bias {:?}",
        dz.shape(),
        db.shape()
    );
    if mode == Accumulate::Overwrite {
        db.data_mut().fill(0.0);
    }
    let db_shape = db.shape().to_vec();
    elementwise::add_summed_to(dz.data(), dz.shape(), db.data_mut(), &db_shape);
}

impl Tape {
    /// `y = act(x·Wᵀ + b)` as one op, with `x: [N, in]`, `w: [out, in]`, `bias: [out]`.
    pub fn linear(&mut self, x: Var, w: Var, bias: Option<Var>, act: Epilogue) -> Var {
        let y = linear(
            self.value(x),
            self.value(w),
            bias.map(|b| self.value(b)),
            act,
        );
        self.push(Op::Linear(x, w, bias, act), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};
    use crate::test_support::run_bits;

    const ACTS: [Epilogue; 4] = [
        Epilogue::Identity,
        Epilogue::Relu,
        Epilogue::Sigmoid,
        Epilogue::Tanh,
    ];

    #[test]
    fn linear_gives_the_bits_of_matmul_add_activation_forward_and_backward() {
        let x = random_tensor(&[37, 70], 1);
        let w = random_tensor(&[45, 70], 2);
        let b = random_tensor(&[45], 3);
        let inputs = [x, w, b];
        for act in ACTS {
            let fused = run_bits(&inputs, |t, v| t.linear(v[0], v[1], Some(v[2]), act));
            let separate = run_bits(&inputs, |t, v| {
                let z = t.matmul_t(v[0], v[1], X_TIMES_WT);
                let z = t.add(z, v[2]);
                match act {
                    Epilogue::Identity => z,
                    Epilogue::Relu => t.relu(z),
                    Epilogue::Sigmoid => t.sigmoid(z),
                    Epilogue::Tanh => t.tanh(z),
                }
            });
            // The bias gradient may differ in the sign of a zero only; compare as values.
            let as_values =
                |bits: &[u32]| bits.iter().map(|&b| f32::from_bits(b)).collect::<Vec<_>>();
            assert_eq!(as_values(&fused), as_values(&separate), "{act}");
        }
    }

    #[test]
    fn linear_gradients_match_finite_differences() {
        for act in ACTS {
            let x = random_tensor(&[4, 5], 11);
            let w = random_tensor(&[3, 5], 12);
            let b = random_tensor(&[3], 13);
            check_gradients(&format!("linear {act}"), &[x, w, b], |t, v| {
                t.linear(v[0], v[1], Some(v[2]), act)
            });
            let x = random_tensor(&[2, 3], 14);
            let w = random_tensor(&[4, 3], 15);
            check_gradients(&format!("linear {act}, no bias"), &[x, w], |t, v| {
                t.linear(v[0], v[1], None, act)
            });
        }
    }

    #[test]
    fn overwriting_poisoned_slots_gives_what_adding_into_zeros_gives() {
        let (x, w, dz) = (
            random_tensor(&[37, 70], 1),
            random_tensor(&[45, 70], 2),
            random_tensor(&[37, 45], 3),
        );
        let (add, write) = (Accumulate::Add, Accumulate::Overwrite);
        let check = |name: &str, shape: &[usize], f: &dyn Fn(&mut Tensor, Accumulate)| {
            let (mut want, mut got) = (Tensor::zeros(shape), Tensor::full(shape, f32::NAN));
            f(&mut want, add);
            f(&mut got, write);
            assert_eq!(got, want, "{name}");
        };
        check("dx", x.shape(), &|dx, m| {
            linear_backward_input(&w, &dz, dx, m)
        });
        check("dw", w.shape(), &|dw, m| {
            linear_backward_weight(&x, &dz, dw, m)
        });
        check("db", &[45], &|db, m| linear_backward_bias(&dz, db, m));
        // A right side shared by a batch of products: the first writes, the others add.
        let (a, b) = (random_tensor(&[3, 5, 4], 4), random_tensor(&[4, 6], 5));
        let dc = random_tensor(&[3, 5, 6], 6);
        for t in [Transpose::default(), Transpose { a: false, b: true }] {
            let b = if t.b {
                random_tensor(&[6, 4], 5)
            } else {
                b.clone()
            };
            check("batched da", a.shape(), &|da, m| {
                matmul::matmul_backward_lhs(&b, t, &dc, da, m)
            });
            check("shared db", b.shape(), &|db, m| {
                matmul::matmul_backward_rhs(&a, t, &dc, db, m)
            });
        }
    }

    #[test]
    #[should_panic(expected = "linear: bias [4] is not [3]")]
    fn linear_rejects_a_wrong_bias() {
        linear(
            &Tensor::zeros(&[2, 5]),
            &Tensor::zeros(&[3, 5]),
            Some(&Tensor::zeros(&[4])),
            Epilogue::Identity,
        );
    }
}
