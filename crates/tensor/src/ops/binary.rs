//! Binary elementwise ops with NumPy broadcasting: add, sub, mul, div, maximum, and the
//! comparisons that make masks.
//!
//! Forward: `y[i] = f(a[i_a], b[i_b])`, where `i_a`, `i_b` are `i` read through the
//! broadcast (stride-0 axes repeat an element).
//!
//! Backward: each input gets `∂f/∂input · dy`, then summed back onto the input's own shape
//! by [`elementwise::add_summed_to`] (an input element used by several outputs receives the
//! sum of their gradients). Saved: the inputs' values, kept by the tape.

use crate::kernels::elementwise;
use crate::tape::{Op, Tape, Var};
use crate::tensor::Tensor;

/// `f(a, b)` elementwise with broadcasting; `op` names the operation in shape errors.
pub fn zip_with(a: &Tensor, b: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
    let (shape, data) = elementwise::zip_broadcast(a.data(), a.shape(), b.data(), b.shape(), op, f);
    Tensor::from_vec(&shape, data)
}

/// `dx += sum_to_shape(contribution)`: folds a gradient computed at the broadcast shape
/// back onto an input's shape.
fn add_summed(contribution: &Tensor, dx: &mut Tensor) {
    let shape = dx.shape().to_vec();
    elementwise::add_summed_to(
        contribution.data(),
        contribution.shape(),
        dx.data_mut(),
        &shape,
    );
}

/// `y = a + b`.
pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    zip_with(a, b, "add", |x, y| x + y)
}

/// `y = a + b`: `da += dy`, `db += dy` (each summed to its shape).
pub fn add_backward(dy: &Tensor, dx: &mut Tensor) {
    add_summed(dy, dx);
}

/// `y = a − b`.
pub fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    zip_with(a, b, "sub", |x, y| x - y)
}

/// `y = a − b`: `db += −dy` (and `da += dy`, as for add).
pub fn sub_backward_rhs(dy: &Tensor, db: &mut Tensor) {
    add_summed(&dy.map(|g| -g), db);
}

/// `y = a · b`.
pub fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    zip_with(a, b, "mul", |x, y| x * y)
}

/// `y = a · b`: `da += b · dy` (call with the other operand to get `db += a · dy`).
pub fn mul_backward(other: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    add_summed(&zip_with(other, dy, "mul backward", |o, g| o * g), dx);
}

/// `y = a / b`.
pub fn div(a: &Tensor, b: &Tensor) -> Tensor {
    zip_with(a, b, "div", |x, y| x / y)
}

/// `y = a / b`: `da += dy / b`.
pub fn div_backward_lhs(b: &Tensor, dy: &Tensor, da: &mut Tensor) {
    add_summed(&zip_with(dy, b, "div backward", |g, y| g / y), da);
}

/// `y = a / b`: `db += −a·dy / b²`.
pub fn div_backward_rhs(a: &Tensor, b: &Tensor, dy: &Tensor, db: &mut Tensor) {
    let a_over_b2 = zip_with(a, b, "div backward", |x, y| x / (y * y));
    add_summed(&zip_with(&a_over_b2, dy, "div backward", |q, g| -q * g), db);
}

/// `y = max(a, b)`.
pub fn maximum(a: &Tensor, b: &Tensor) -> Tensor {
    zip_with(a, b, "maximum", f32::max)
}

/// `y = max(a, b)`: the gradient goes to the larger input; at a tie each input gets half
/// of it, as in PyTorch, so the two still add up to `dy` (call with `x` the input whose
/// gradient is computed and `other` the other one).
pub fn maximum_backward(x: &Tensor, other: &Tensor, dy: &Tensor, dx: &mut Tensor) {
    let share = |x: f32, o: f32| {
        if x > o {
            1.0
        } else if x == o {
            0.5
        } else {
            0.0
        }
    };
    let wins = zip_with(x, other, "maximum backward", share);
    add_summed(&zip_with(&wins, dy, "maximum backward", |w, g| w * g), dx);
}

/// Comparisons give masks of 0.0 and 1.0; they have no gradient.
impl Tensor {
    /// `1` where `self > other` (broadcast), else `0`.
    pub fn gt(&self, other: &Tensor) -> Tensor {
        zip_with(self, other, "gt", |x, y| f32::from(x > y))
    }

    /// `1` where `self >= other` (broadcast), else `0`.
    pub fn ge(&self, other: &Tensor) -> Tensor {
        zip_with(self, other, "ge", |x, y| f32::from(x >= y))
    }

    /// `1` where `self < other` (broadcast), else `0`.
    pub fn lt(&self, other: &Tensor) -> Tensor {
        zip_with(self, other, "lt", |x, y| f32::from(x < y))
    }

    /// `self + other`, broadcast.
    pub fn add(&self, other: &Tensor) -> Tensor {
        add(self, other)
    }

    /// `self − other`, broadcast.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        sub(self, other)
    }

    /// `self · other` elementwise, broadcast.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        mul(self, other)
    }

    /// `self / other` elementwise, broadcast.
    pub fn div(&self, other: &Tensor) -> Tensor {
        div(self, other)
    }

    /// `max(self, other)` elementwise, broadcast.
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        maximum(self, other)
    }
}

/// Recording on the tape.
impl Tape {
    /// `a + b`, broadcast.
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        let y = add(self.value(a), self.value(b));
        self.push(Op::Add(a, b), y)
    }

    /// `a − b`, broadcast.
    pub fn sub(&mut self, a: Var, b: Var) -> Var {
        let y = sub(self.value(a), self.value(b));
        self.push(Op::Sub(a, b), y)
    }

    /// `a · b` elementwise, broadcast.
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        let y = mul(self.value(a), self.value(b));
        self.push(Op::Mul(a, b), y)
    }

    /// `a / b` elementwise, broadcast.
    pub fn div(&mut self, a: Var, b: Var) -> Var {
        let y = div(self.value(a), self.value(b));
        self.push(Op::Div(a, b), y)
    }

    /// `max(a, b)` elementwise, broadcast.
    pub fn maximum(&mut self, a: Var, b: Var) -> Var {
        let y = maximum(self.value(a), self.value(b));
        self.push(Op::Maximum(a, b), y)
    }
}

#[cfg(test)]
mod tests {
    use crate::gradcheck::{check_gradients, random_tensor, random_tensor_away_from};
    use crate::tape::Tape;
    use crate::tensor::Tensor;

    type BinaryOp = fn(&mut Tape, crate::Var, crate::Var) -> crate::Var;

    /// Every binary op, on equal shapes and on shapes that broadcast both ways.
    #[test]
    fn gradients_match_finite_differences() {
        let ops: [(&str, BinaryOp); 5] = [
            ("add", Tape::add),
            ("sub", Tape::sub),
            ("mul", Tape::mul),
            ("div", Tape::div),
            ("maximum", Tape::maximum),
        ];
        let shapes: [(&[usize], &[usize]); 4] = [
            (&[3, 4], &[3, 4]),
            (&[2, 3, 4], &[4]),
            (&[3, 1], &[1, 5]),
            (&[], &[2, 3]),
        ];
        for (name, op) in ops {
            for (seed, (sa, sb)) in shapes.iter().enumerate() {
                let a = random_tensor(sa, seed as u64);
                // Keep b away from 0 (div) and from a (ties of maximum).
                let b = random_tensor_away_from(sb, 100 + seed as u64, 0.3);
                let b = if name == "maximum" {
                    b.map(|v| v + 0.05)
                } else {
                    b
                };
                check_gradients(name, &[a, b], |tape, v| op(tape, v[0], v[1]));
            }
        }
    }

    #[test]
    fn a_value_used_twice_gets_both_gradients() {
        // y = Σ (x + x) so dy/dx = 2.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[2], vec![1.0, -4.0]));
        let y = tape.add(x, x);
        let loss = tape.sum_all(y);
        let grads = tape.backward(loss);
        assert_eq!(grads.get(x).unwrap().data(), &[2.0, 2.0]);
    }

    #[test]
    fn division_by_hand() {
        // y = a / b with a = 6, b = 2: dy/da = 1/b = 0.5, dy/db = −a/b² = −1.5.
        let mut tape = Tape::new();
        let a = tape.leaf(Tensor::scalar(6.0));
        let b = tape.leaf(Tensor::scalar(2.0));
        let y = tape.div(a, b);
        let grads = tape.backward(y);
        assert_eq!(grads.get(a).unwrap().item(), 0.5);
        assert_eq!(grads.get(b).unwrap().item(), -1.5);
    }

    #[test]
    fn maximum_splits_a_tie_like_pytorch() {
        // max(a, b) at a = b = 1: each input gets dy / 2; elsewhere the larger gets all of it.
        let mut tape = Tape::new();
        let a = tape.leaf(Tensor::from_vec(&[3], vec![1.0, 2.0, 0.0]));
        let b = tape.leaf(Tensor::from_vec(&[3], vec![1.0, 0.0, 3.0]));
        let y = tape.maximum(a, b);
        let grads = tape.backward_from(y, Tensor::from_vec(&[3], vec![4.0, 4.0, 4.0]));
        assert_eq!(grads.get(a).unwrap().data(), &[2.0, 4.0, 0.0]);
        assert_eq!(grads.get(b).unwrap().data(), &[2.0, 0.0, 4.0]);
    }

    #[test]
    fn comparisons_make_masks() {
        let a = Tensor::from_vec(&[3], vec![1.0, 2.0, 3.0]);
        assert_eq!(a.gt(&Tensor::scalar(2.0)).data(), &[0.0, 0.0, 1.0]);
        assert_eq!(a.ge(&Tensor::scalar(2.0)).data(), &[0.0, 1.0, 1.0]);
        assert_eq!(a.lt(&Tensor::scalar(2.0)).data(), &[1.0, 0.0, 0.0]);
    }
}
