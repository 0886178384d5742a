//! Matrix product `C = op(A)·op(B)`, where `op` is the identity or the transpose, on the
//! packed SIMD GEMM of [`crate::kernels::gemm`].
//!
//! Shapes: 2-D `[m, k]·[k, n] → [m, n]`; batched 3-D `[batch, m, k]·[batch, k, n]`; and
//! `[batch, m, k]·[k, n]`, one right operand shared by the whole batch. A transposed operand
//! is stored transposed (`[k, m]` for `op(A) = Aᵀ`) and read through swapped strides.
//!
//! Backward (the derivation is the chain rule on `C_ij = Σ_p op(A)_ip·op(B)_pj`):
//! `d op(A) = dC·op(B)ᵀ` and `d op(B) = op(A)ᵀ·dC`; a transposed operand receives the
//! transpose of that, e.g. `dA = op(B)·dCᵀ` when `op(A) = Aᵀ`. Each is one more GEMM that
//! *accumulates* (`beta = 1`) straight into the gradient buffer. Saved: both inputs.

use std::fmt;

use crate::kernels::accumulate::Accumulate;
use crate::kernels::gemm::{MatRef, gemm};
use crate::parallel::Parallelism;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// Which operands are read transposed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transpose {
    /// Use `Aᵀ` for the left operand.
    pub a: bool,
    /// Use `Bᵀ` for the right operand.
    pub b: bool,
}

impl fmt::Display for Transpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = |t: bool| if t { "ᵀ" } else { "" };
        write!(f, "(A{}·B{})", tag(self.a), tag(self.b))
    }
}

/// The matrices of one product: batch count, and for each operand its stored shape.
struct Layout {
    batch: usize,
    a_rows: usize,
    a_cols: usize,
    b_rows: usize,
    b_cols: usize,
    b_batched: bool,
    m: usize,
    n: usize,
}

impl Layout {
    fn of(a: &[usize], b: &[usize], t: Transpose) -> Layout {
        let fail = || -> ! { panic!("matmul{t}: shapes {a:?} and {b:?} do not multiply") };
        let (batch, a_rows, a_cols) = match *a {
            [r, c] => (1, r, c),
            [n, r, c] => (n, r, c),
            _ => fail(),
        };
        let (b_batched, b_rows, b_cols) = match *b {
            [r, c] => (false, r, c),
            [n, r, c] if a.len() == 3 && n == batch => (true, r, c),
            _ => fail(),
        };
        let (m, k) = if t.a {
            (a_cols, a_rows)
        } else {
            (a_rows, a_cols)
        };
        let (k2, n) = if t.b {
            (b_cols, b_rows)
        } else {
            (b_rows, b_cols)
        };
        if k != k2 {
            fail();
        }
        Layout {
            batch,
            a_rows,
            a_cols,
            b_rows,
            b_cols,
            b_batched,
            m,
            n,
        }
    }

    fn out_shape(&self, a_rank: usize) -> Vec<usize> {
        if a_rank == 3 {
            vec![self.batch, self.m, self.n]
        } else {
            vec![self.m, self.n]
        }
    }

    /// `op(A)` of batch entry `i`, read from a buffer holding A as stored.
    fn a<'d>(&self, data: &'d [f32], i: usize, transposed: bool) -> MatRef<'d> {
        let size = self.a_rows * self.a_cols;
        let m = MatRef::row_major(&data[i * size..(i + 1) * size], self.a_rows, self.a_cols);
        if transposed { m.t() } else { m }
    }

    /// `op(B)` of batch entry `i` (the shared B when B is 2-D).
    fn b<'d>(&self, data: &'d [f32], i: usize, transposed: bool) -> MatRef<'d> {
        let size = self.b_rows * self.b_cols;
        let i = if self.b_batched { i } else { 0 };
        let m = MatRef::row_major(&data[i * size..(i + 1) * size], self.b_rows, self.b_cols);
        if transposed { m.t() } else { m }
    }

    /// `C` (or `dC`) of batch entry `i`, shape `[m, n]`.
    fn c<'d>(&self, data: &'d [f32], i: usize) -> MatRef<'d> {
        let size = self.m * self.n;
        MatRef::row_major(&data[i * size..(i + 1) * size], self.m, self.n)
    }
}

/// `C = op(A)·op(B)`.
pub fn matmul(a: &Tensor, b: &Tensor, t: Transpose) -> Tensor {
    let l = Layout::of(a.shape(), b.shape(), t);
    // Every element is written by a GEMM with beta = 0.
    let mut c = Tensor::for_overwrite(&l.out_shape(a.rank()));
    let size = l.m * l.n;
    for i in 0..l.batch {
        let out = &mut c.data_mut()[i * size..(i + 1) * size];
        gemm(
            l.a(a.data(), i, t.a),
            l.b(b.data(), i, t.b),
            0.0,
            out,
            Parallelism::Rayon,
        );
    }
    c
}

/// `da += d op(A)` as stored: `dC·op(B)ᵀ`, or its transpose `op(B)·dCᵀ` when `t.a`
/// (`=` with [`Accumulate::Overwrite`]).
pub fn matmul_backward_lhs(
    b: &Tensor,
    t: Transpose,
    dy: &Tensor,
    da: &mut Tensor,
    mode: Accumulate,
) {
    let l = Layout::of(da.shape(), b.shape(), t);
    let size = l.a_rows * l.a_cols;
    let beta = mode.beta();
    for i in 0..l.batch {
        let (dc, op_b) = (l.c(dy.data(), i), l.b(b.data(), i, t.b));
        let out = &mut da.data_mut()[i * size..(i + 1) * size];
        if t.a {
            gemm(op_b, dc.t(), beta, out, Parallelism::Rayon);
        } else {
            gemm(dc, op_b.t(), beta, out, Parallelism::Rayon);
        }
    }
    if l.batch == 0 && mode == Accumulate::Overwrite {
        da.data_mut().fill(0.0);
    }
}

/// `db += d op(B)` as stored: `op(A)ᵀ·dC`, or its transpose `dCᵀ·op(A)` when `t.b`
/// (`=` with [`Accumulate::Overwrite`]). A B shared by the batch receives the sum over the
/// batch (the first entry's GEMM writes or adds, as `mode` says; the others add).
pub fn matmul_backward_rhs(
    a: &Tensor,
    t: Transpose,
    dy: &Tensor,
    db: &mut Tensor,
    mode: Accumulate,
) {
    let l = Layout::of(a.shape(), db.shape(), t);
    let size = l.b_rows * l.b_cols;
    for i in 0..l.batch {
        let (dc, op_a) = (l.c(dy.data(), i), l.a(a.data(), i, t.a));
        let slot = if l.b_batched { i } else { 0 };
        let beta = if l.b_batched || i == 0 {
            mode.beta()
        } else {
            1.0
        };
        let out = &mut db.data_mut()[slot * size..(slot + 1) * size];
        if t.b {
            gemm(dc.t(), op_a, beta, out, Parallelism::Rayon);
        } else {
            gemm(op_a.t(), dc, beta, out, Parallelism::Rayon);
        }
    }
    if l.batch == 0 && mode == Accumulate::Overwrite {
        db.data_mut().fill(0.0);
    }
}

/// Eager forms on tensors.
impl Tensor {
    /// `self·other` (2-D, or batched 3-D).
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        matmul(self, other, Transpose::default())
    }
}

/// Recording on the tape.
impl Tape {
    /// `a·b` (2-D, or batched 3-D).
    pub fn matmul(&mut self, a: Var, b: Var) -> Var {
        self.matmul_t(a, b, Transpose::default())
    }

    /// `op(a)·op(b)` with either operand transposed, e.g. `x·Wᵀ` for a linear layer that
    /// stores `W` as `[out, in]` like PyTorch.
    pub fn matmul_t(&mut self, a: Var, b: Var, t: Transpose) -> Var {
        let y = matmul(self.value(a), self.value(b), t);
        self.push(Op::Matmul(a, b, t), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, random_tensor};

    #[test]
    fn product_by_hand() {
        // [1 2; 3 4]·[5; 6] = [17; 39]
        let a = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = Tensor::from_vec(&[2, 1], vec![5.0, 6.0]);
        assert_eq!(a.matmul(&b).data(), &[17.0, 39.0]);
        let at = matmul(&a, &a, Transpose { a: true, b: false });
        // Aᵀ·A = [1 3; 2 4]·[1 2; 3 4] = [10 14; 14 20]
        assert_eq!(at.data(), &[10.0, 14.0, 14.0, 20.0]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        for ta in [false, true] {
            for tb in [false, true] {
                let t = Transpose { a: ta, b: tb };
                let (m, k, n) = (3, 5, 4);
                let a_shape = if ta { [k, m] } else { [m, k] };
                let b_shape = if tb { [n, k] } else { [k, n] };
                let a = random_tensor(&a_shape, 31);
                let b = random_tensor(&b_shape, 32);
                check_gradients("matmul 2-D", &[a, b], |tp, v| tp.matmul_t(v[0], v[1], t));
                let a3 = random_tensor(&[2, a_shape[0], a_shape[1]], 33);
                let b3 = random_tensor(&[2, b_shape[0], b_shape[1]], 34);
                check_gradients("matmul 3-D", &[a3.clone(), b3], |tp, v| {
                    tp.matmul_t(v[0], v[1], t)
                });
                let b2 = random_tensor(&b_shape, 35);
                check_gradients("matmul shared B", &[a3, b2], |tp, v| {
                    tp.matmul_t(v[0], v[1], t)
                });
            }
        }
    }

    #[test]
    #[should_panic(expected = "matmul(A·B): shapes [2, 3] and [2, 3] do not multiply")]
    fn shape_mismatch_names_both() {
        Tensor::zeros(&[2, 3]).matmul(&Tensor::zeros(&[2, 3]));
    }
}
