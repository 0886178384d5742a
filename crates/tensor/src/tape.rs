//! The autodiff tape: an arena of nodes, walked once in reverse by [`Tape::backward`].
//!
//! Running a model's forward pass *is* building the graph (define-by-run): every op on the
//! tape computes its value at once with the op's plain `forward` function and pushes a
//! [`Node`] holding that value, the [`Op`] that made it and the ids of its inputs. Nodes are
//! pushed in creation order, so an input always comes before its users and walking the arena
//! backwards is already a reverse topological order: no graph search is needed.
//!
//! The methods that record ops (`tape.relu(x)`, `tape.matmul(a, b)`, …) live beside each op's
//! forward and backward in [`crate::ops`]; this file holds the arena, the backward walk and
//! the printing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::kernels::accumulate::Accumulate;
use crate::ops::epilogue::Epilogue;
use crate::ops::{
    activation, binary, conv_transpose2d, conv2d, linear, loss, matmul, pool, reduce, shape_ops,
    unary,
};
use crate::tensor::Tensor;

/// A handle to a node of a [`Tape`]: a plain index, `Copy`, valid for that tape only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(usize);

impl Var {
    /// The node's position in the tape.
    pub fn index(self) -> usize {
        self.0
    }
}

/// The identity of a parameter across tapes. A model's weight is copied onto a fresh tape
/// at every step, where it gets a new [`Var`]; its `ParamId` stays the same, so the step's
/// [`Gradients`] can be asked for it by id ([`Gradients::param`]) and an optimizer can keep
/// its moments under it from step to step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

impl ParamId {
    /// An id never handed out before in this process.
    pub fn fresh() -> ParamId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        ParamId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What made a node: the op, its inputs and whatever its backward needs beyond the inputs'
/// and output's values (which the tape keeps anyway).
#[derive(Clone, Debug)]
pub enum Op {
    /// A value whose gradient is wanted (a parameter, or an input under study).
    Leaf,
    /// A value with no gradient (data, targets, masks, anything made in no-grad mode).
    Constant,
    /// `a + b`, broadcast.
    Add(Var, Var),
    /// `a − b`, broadcast.
    Sub(Var, Var),
    /// `a · b`, broadcast.
    Mul(Var, Var),
    /// `a / b`, broadcast.
    Div(Var, Var),
    /// `max(a, b)`, broadcast.
    Maximum(Var, Var),
    /// `−x`.
    Neg(Var),
    /// `x + c`.
    AddScalar(Var, f32),
    /// `c · x`.
    MulScalar(Var, f32),
    /// `eˣ` (backward uses the output).
    Exp(Var),
    /// `ln x`.
    Log(Var),
    /// `√x` (backward uses the output).
    Sqrt(Var),
    /// `xⁿ` for an integer n.
    Powi(Var, i32),
    /// `|x|`.
    Abs(Var),
    /// `x` clamped to `[lo, hi]`.
    Clamp(Var, f32, f32),
    /// `max(x, 0)`.
    Relu(Var),
    /// `x` if `x > 0`, else `slope · x`.
    LeakyRelu(Var, f32),
    /// `1 / (1 + e⁻ˣ)` (backward uses the output).
    Sigmoid(Var),
    /// `tanh x` (backward uses the output).
    Tanh(Var),
    /// `ln(1 + eˣ)`.
    Softplus(Var),
    /// Softmax along the last axis of a `[rows, classes]` tensor (backward uses the output).
    Softmax(Var),
    /// Sum over `axes` (all axes when empty), keeping them as size 1 if `keepdim`.
    Sum(Var, reduce::Axes),
    /// Mean over `axes`, like `Sum`.
    Mean(Var, reduce::Axes),
    /// Maximum over `axes` (all axes when empty), like `Sum`; `argmax` holds, for each
    /// output element, the flat index of the input element that won.
    Max(Var, reduce::Axes, Vec<usize>),
    /// The same elements under a new shape.
    Reshape(Var),
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    Permute(Var, Vec<usize>),
    /// `x[…, start..end, …]` along `axis`.
    Slice(Var, shape_ops::SliceSpec),
    /// Rows `indices` of `x` along `axis`, in that order (repeats allowed).
    IndexSelect(Var, usize, Vec<usize>),
    /// Inputs joined along `axis`.
    Concat(Vec<Var>, usize),
    /// `op(a)·op(b)`, 2-D or batched 3-D, with either operand transposed.
    Matmul(Var, Var, matmul::Transpose),
    /// A loss comparing a prediction with a target (both may carry gradients).
    Loss(Var, Var, loss::Kind, loss::Reduction),
    /// KL divergence of N(mean, e^logvar) from N(0, I).
    GaussianKl(Var, Var, loss::Reduction),
    /// Softmax cross-entropy of `[rows, classes]` logits against one class per row, averaged
    /// over the rows.
    CrossEntropy(Var, Vec<usize>),
    /// `act(x·Wᵀ + b)`: a fully connected layer, its bias and activation fused (backward
    /// uses the output).
    Linear(Var, Var, Option<Var>, Epilogue),
    /// `act(conv2d(x, w) + b)`, the bias and the activation fused (backward uses the output).
    Conv2d(Var, Var, Option<Var>, conv2d::Conv2dSpec, Epilogue),
    /// `act(conv_transpose2d(x, w) + b)` (PyTorch layout `[C, O, kh, kw]`), likewise fused.
    ConvTranspose2d(
        Var,
        Var,
        Option<Var>,
        conv_transpose2d::ConvTranspose2dSpec,
        Epilogue,
    ),
    /// Max pooling; `argmax` holds, per output element, the flat input index that won.
    MaxPool2d(Var, pool::PoolSpec, Vec<u32>),
    /// Average pooling (padding counted as zeros, like PyTorch's default).
    AvgPool2d(Var, pool::PoolSpec),
    /// Nearest-neighbour upsampling by an integer factor.
    UpsampleNearest2d(Var, usize),
}

impl Op {
    /// The inputs, in order.
    pub fn inputs(&self) -> Vec<Var> {
        use Op::*;
        match self {
            Leaf | Constant => vec![],
            Add(a, b) | Sub(a, b) | Mul(a, b) | Div(a, b) | Maximum(a, b) => vec![*a, *b],
            Matmul(a, b, _) | Loss(a, b, _, _) | GaussianKl(a, b, _) => vec![*a, *b],
            Neg(x) | AddScalar(x, _) | MulScalar(x, _) | Exp(x) | Log(x) | Sqrt(x) => vec![*x],
            Powi(x, _) | Abs(x) | Clamp(x, _, _) | Relu(x) | LeakyRelu(x, _) => vec![*x],
            Sigmoid(x) | Tanh(x) | Softplus(x) | Sum(x, _) | Mean(x, _) | Max(x, _, _) => vec![*x],
            Softmax(x) | CrossEntropy(x, _) => vec![*x],
            Reshape(x) | Permute(x, _) | Slice(x, _) | IndexSelect(x, _, _) => vec![*x],
            MaxPool2d(x, _, _) | AvgPool2d(x, _) | UpsampleNearest2d(x, _) => vec![*x],
            Concat(xs, _) => xs.clone(),
            Linear(x, w, b, _) | Conv2d(x, w, b, _, _) | ConvTranspose2d(x, w, b, _, _) => {
                let mut v = vec![*x, *w];
                v.extend(*b);
                v
            }
        }
    }

    /// A short name for printing: the op's name, with its settings where they matter.
    pub fn name(&self) -> String {
        use Op::*;
        // A fused activation is shown after the op: `Conv2d(stride=2, padding=1)+relu`.
        let fused = |act: Epilogue| match act {
            Epilogue::Identity => String::new(),
            act => format!("+{act}"),
        };
        let plain = match self {
            Leaf => "Leaf",
            Constant => "Constant",
            Add(..) => "Add",
            Sub(..) => "Sub",
            Mul(..) => "Mul",
            Div(..) => "Div",
            Maximum(..) => "Maximum",
            Neg(_) => "Neg",
            Exp(_) => "Exp",
            Log(_) => "Log",
            Sqrt(_) => "Sqrt",
            Abs(_) => "Abs",
            Relu(_) => "Relu",
            Sigmoid(_) => "Sigmoid",
            Tanh(_) => "Tanh",
            Softplus(_) => "Softplus",
            Softmax(_) => "Softmax",
            Reshape(_) => "Reshape",
            AddScalar(_, c) => return format!("AddScalar({c})"),
            MulScalar(_, c) => return format!("MulScalar({c})"),
            Powi(_, n) => return format!("Powi({n})"),
            Clamp(_, lo, hi) => return format!("Clamp({lo}, {hi})"),
            LeakyRelu(_, s) => return format!("LeakyRelu({s})"),
            Sum(_, a) => return format!("Sum({a})"),
            Mean(_, a) => return format!("Mean({a})"),
            Max(_, a, _) => return format!("Max({a})"),
            Permute(_, p) => return format!("Permute({p:?})"),
            Slice(_, s) => return format!("Slice({s})"),
            IndexSelect(_, axis, i) => {
                return format!("IndexSelect(axis {axis}, {} rows)", i.len());
            }
            Concat(_, axis) => return format!("Concat(axis {axis})"),
            Matmul(_, _, t) => return format!("Matmul{t}"),
            Loss(_, _, kind, r) => return format!("{}({r:?})", kind.name()),
            GaussianKl(_, _, r) => return format!("GaussianKlLoss({r:?})"),
            CrossEntropy(_, labels) => return format!("CrossEntropyLoss({} rows)", labels.len()),
            Linear(_, _, _, act) => return format!("Linear{}", fused(*act)),
            Conv2d(_, _, _, s, act) => return format!("Conv2d({s}){}", fused(*act)),
            ConvTranspose2d(_, _, _, s, act) => {
                return format!("ConvTranspose2d({s}){}", fused(*act));
            }
            MaxPool2d(_, s, _) => return format!("MaxPool2d({s})"),
            AvgPool2d(_, s) => return format!("AvgPool2d({s})"),
            UpsampleNearest2d(_, f) => return format!("UpsampleNearest2d(×{f})"),
        };
        plain.to_string()
    }
}

/// One entry of the arena: the value, the op that made it, and whether a gradient flows
/// back through it (some input, transitively, is a [`Op::Leaf`]).
#[derive(Clone, Debug)]
pub struct Node {
    /// How the value was made.
    pub op: Op,
    /// The value computed by the forward pass.
    pub value: Tensor,
    /// Whether any leaf lies behind this node; the backward walk skips nodes where not.
    pub requires_grad: bool,
    /// What the op's backward keeps beyond its inputs and output, computed by the forward
    /// anyway (conv2d's im2col matrices, for its weight gradient), like PyTorch's
    /// `ctx.save_for_backward`.
    pub saved: Option<Tensor>,
}

/// A Wengert list: the record of a forward pass, from which [`Tape::backward`] computes
/// gradients.
///
/// ```
/// # use tensor::{Tape, Tensor};
/// // y = x² + 5x + 4, so dy/dx = 2x + 5 = 11 at x = 3.
/// let mut tape = Tape::new();
/// let x = tape.leaf(Tensor::scalar(3.0));
/// let x2 = tape.mul(x, x);
/// let five_x = tape.mul_scalar(x, 5.0);
/// let sum = tape.add(x2, five_x);
/// let y = tape.add_scalar(sum, 4.0);
/// assert_eq!(tape.value(y).item(), 28.0);
/// let grads = tape.backward(y);
/// assert_eq!(grads.get(x).unwrap().item(), 11.0);
/// ```
#[derive(Debug)]
pub struct Tape {
    nodes: Vec<Node>,
    recording: bool,
    /// The leaf (or constant) each parameter was copied to, by [`Tape::param`].
    params: BTreeMap<ParamId, Var>,
}

impl Default for Tape {
    /// The same as [`Tape::new`]: a tape that records.
    fn default() -> Tape {
        Tape::new()
    }
}

impl Tape {
    /// An empty tape that records ops for a backward pass.
    pub fn new() -> Tape {
        Tape {
            nodes: Vec::new(),
            recording: true,
            params: BTreeMap::new(),
        }
    }

    /// An empty tape for evaluation: values are computed as usual, but every node is a
    /// [`Op::Constant`], so nothing is kept for a backward pass and [`Tape::backward`] has no
    /// gradient to give.
    pub fn no_grad() -> Tape {
        Tape {
            nodes: Vec::new(),
            recording: false,
            params: BTreeMap::new(),
        }
    }

    /// Adds a value whose gradient [`Tape::backward`] will return: an input under study (a
    /// gradient with respect to the data), or any value to differentiate by. Parameters go
    /// through [`Tape::param`], which also remembers their id.
    pub fn leaf(&mut self, value: Tensor) -> Var {
        let op = if self.recording {
            Op::Leaf
        } else {
            Op::Constant
        };
        self.push(op, value)
    }

    /// Adds a value that gets no gradient (input data, a target).
    pub fn constant(&mut self, value: Tensor) -> Var {
        self.push(Op::Constant, value)
    }

    /// The node of parameter `id`, copying `value` onto the tape the first time the id is
    /// seen: a leaf if `trainable`, else a constant. Later calls with the same id return the
    /// same node, so a parameter used twice gets the sum of both uses' gradients.
    pub fn param(&mut self, id: ParamId, value: &Tensor, trainable: bool) -> Var {
        if let Some(&v) = self.params.get(&id) {
            return v;
        }
        let v = if trainable {
            self.leaf(value.clone())
        } else {
            self.constant(value.clone())
        };
        self.params.insert(id, v);
        v
    }

    /// The node parameter `id` was copied to on this tape, if it was.
    pub fn param_var(&self, id: ParamId) -> Option<Var> {
        self.params.get(&id).copied()
    }

    /// The value of a node.
    pub fn value(&self, v: Var) -> &Tensor {
        &self.nodes[v.0].value
    }

    /// The shape of a node's value.
    pub fn shape(&self, v: Var) -> &[usize] {
        self.nodes[v.0].value.shape()
    }

    /// Whether a gradient flows back through `v`.
    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes[v.0].requires_grad
    }

    /// The nodes, in creation order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tape has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether this tape records ops for a backward pass (false for [`Tape::no_grad`]).
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Appends a node made by `op` with the given value. Ops call this after computing their
    /// forward, so a node's value always matches its op (which is why it is not public); in
    /// no-grad mode the node keeps no op.
    pub(crate) fn push(&mut self, op: Op, value: Tensor) -> Var {
        self.push_saving(op, value, None)
    }

    /// [`Tape::push`], keeping `saved` for the op's backward (dropped in no-grad mode).
    pub(crate) fn push_saving(&mut self, op: Op, value: Tensor, saved: Option<Tensor>) -> Var {
        let requires_grad = match op {
            Op::Leaf => true,
            Op::Constant => false,
            _ => self.recording && op.inputs().iter().any(|&v| self.requires_grad(v)),
        };
        // In no-grad mode nothing is recorded; otherwise the op is kept even when no gradient
        // will flow through it, so that the tape prints the whole forward pass.
        let op = if self.recording { op } else { Op::Constant };
        let saved = saved.filter(|_| requires_grad);
        self.nodes.push(Node {
            op,
            value,
            requires_grad,
            saved,
        });
        Var(self.nodes.len() - 1)
    }

    /// Reverse-mode differentiation of the one-element `loss` with respect to every leaf
    /// (parameters and inputs made with [`Tape::leaf`] alike).
    ///
    /// Seeds `dloss = 1`, then walks the nodes from `loss` down to the first, handing each
    /// node's gradient `dy` to its op's backward, which *adds* into the gradients of the
    /// inputs that need one. Adding is what makes a value used twice receive the sum of both
    /// uses' gradients. Intermediate gradients are dropped once used; leaves keep theirs.
    pub fn backward(&self, loss: Var) -> Gradients {
        let loss_value = self.value(loss);
        assert_eq!(
            loss_value.numel(),
            1,
            "backward: the loss must have one element, not shape {:?}",
            loss_value.shape()
        );
        self.backward_from(loss, Tensor::ones(loss_value.shape()))
    }

    /// A vector-Jacobian product: the gradients of `Σ dy ⊙ output` with respect to every
    /// leaf, for an `output` of any shape. [`Tape::backward`] is this with `dy = 1`; the
    /// gradient checker uses it with a random `dy`.
    pub fn backward_from(&self, output: Var, dy: Tensor) -> Gradients {
        assert_eq!(
            dy.shape(),
            self.shape(output),
            "backward_from: seed gradient shape {:?} differs from output shape {:?}",
            dy.shape(),
            self.shape(output)
        );
        // Only nodes up to `output` can lie on a path to it.
        let mut grads: Vec<Option<Tensor>> = vec![None; output.0 + 1];
        if self.requires_grad(output) {
            grads[output.0] = Some(dy);
        }
        for i in (0..=output.0).rev() {
            let node = &self.nodes[i];
            if !node.requires_grad {
                continue;
            }
            let Some(dy) = grads[i].take() else { continue };
            if matches!(node.op, Op::Leaf) {
                // A leaf keeps its gradient; it has no inputs to pass it to.
                grads[i] = Some(dy);
                continue;
            }
            self.backward_node(node, dy, &mut grads);
        }
        Gradients {
            grads,
            params: self.params.clone(),
        }
    }

    /// The backward dispatcher: one arm per op, each calling that op's backward for every
    /// input that needs a gradient. No math here; it lives beside each forward in `ops`.
    fn backward_node(&self, node: &Node, mut dy: Tensor, grads: &mut [Option<Tensor>]) {
        let val = |v: Var| &self.nodes[v.0].value;
        let y = &node.value;
        let mut slots = Slots { tape: self, grads };
        // A convolution's bias gradient, from the sums of dz's planes taken in the pass below.
        let mut plane_sums = Vec::new();
        match &node.op {
            // A reshape's gradient is dy itself under the input's shape: the buffer moves.
            Op::Reshape(x) => {
                let dx = Tensor::from_vec(self.shape(*x), dy.into_data());
                return slots.give(*x, dx);
            }
            // A fused op first turns dy into the gradient at its pre-activation, in place; a
            // convolution whose bias learns sums its planes in the same pass.
            Op::Conv2d(_, _, Some(b), _, act) | Op::ConvTranspose2d(_, _, Some(b), _, act)
                if self.requires_grad(*b) =>
            {
                let (channels, plane) = (y.shape()[1], y.shape()[2] * y.shape()[3]);
                plane_sums = act.backward_with_plane_sums(y, &mut dy, channels, plane);
            }
            Op::Linear(.., act) | Op::Conv2d(.., act) | Op::ConvTranspose2d(.., act) => {
                act.backward(y, &mut dy)
            }
            _ => {}
        }
        let dy = &dy;
        use Op::*;
        match &node.op {
            Leaf | Constant => {}
            Add(a, b) => {
                slots.add(*a, |da| binary::add_backward(dy, da));
                slots.add(*b, |db| binary::add_backward(dy, db));
            }
            Sub(a, b) => {
                slots.add(*a, |da| binary::add_backward(dy, da));
                slots.add(*b, |db| binary::sub_backward_rhs(dy, db));
            }
            Mul(a, b) => {
                slots.add(*a, |da| binary::mul_backward(val(*b), dy, da));
                slots.add(*b, |db| binary::mul_backward(val(*a), dy, db));
            }
            Div(a, b) => {
                slots.add(*a, |da| binary::div_backward_lhs(val(*b), dy, da));
                slots.add(*b, |db| binary::div_backward_rhs(val(*a), val(*b), dy, db));
            }
            Maximum(a, b) => {
                slots.add(*a, |da| binary::maximum_backward(val(*a), val(*b), dy, da));
                slots.add(*b, |db| binary::maximum_backward(val(*b), val(*a), dy, db));
            }
            Neg(x) => slots.add(*x, |dx| unary::neg_backward(dy, dx)),
            AddScalar(x, _) => slots.add(*x, |dx| unary::add_scalar_backward(dy, dx)),
            MulScalar(x, c) => slots.add(*x, |dx| unary::mul_scalar_backward(*c, dy, dx)),
            Exp(x) => slots.add(*x, |dx| unary::exp_backward(y, dy, dx)),
            Log(x) => slots.add(*x, |dx| unary::log_backward(val(*x), dy, dx)),
            Sqrt(x) => slots.add(*x, |dx| unary::sqrt_backward(y, dy, dx)),
            Powi(x, n) => slots.add(*x, |dx| unary::powi_backward(val(*x), *n, dy, dx)),
            Abs(x) => slots.add(*x, |dx| unary::abs_backward(val(*x), dy, dx)),
            Clamp(x, lo, hi) => {
                slots.add(*x, |dx| unary::clamp_backward(val(*x), *lo, *hi, dy, dx))
            }
            Relu(x) => slots.add(*x, |dx| activation::relu_backward(val(*x), dy, dx)),
            LeakyRelu(x, s) => slots.add(*x, |dx| {
                activation::leaky_relu_backward(val(*x), *s, dy, dx)
            }),
            Sigmoid(x) => slots.add(*x, |dx| activation::sigmoid_backward(y, dy, dx)),
            Tanh(x) => slots.add(*x, |dx| activation::tanh_backward(y, dy, dx)),
            Softplus(x) => slots.add(*x, |dx| activation::softplus_backward(val(*x), dy, dx)),
            Softmax(x) => slots.add(*x, |dx| activation::softmax_backward(y, dy, dx)),
            Sum(x, axes) => slots.add(*x, |dx| reduce::sum_backward(axes, dy, dx)),
            Mean(x, axes) => slots.add(*x, |dx| reduce::mean_backward(axes, dy, dx)),
            Max(x, _, argmax) => slots.add(*x, |dx| reduce::max_backward(argmax, dy, dx)),
            Reshape(_) => {} // above
            Permute(x, perm) => slots.add(*x, |dx| shape_ops::permute_backward(perm, dy, dx)),
            Slice(x, spec) => slots.add(*x, |dx| shape_ops::slice_backward(spec, dy, dx)),
            IndexSelect(x, axis, idx) => slots.add(*x, |dx| {
                shape_ops::index_select_backward(*axis, idx, dy, dx)
            }),
            Concat(xs, axis) => {
                let mut start = 0;
                for &x in xs {
                    let len = val(x).shape()[*axis];
                    slots.add(x, |dx| shape_ops::concat_backward(*axis, start, dy, dx));
                    start += len;
                }
            }
            Matmul(a, b, t) => {
                slots.deliver(*a, |da, m| {
                    matmul::matmul_backward_lhs(val(*b), *t, dy, da, m)
                });
                slots.deliver(*b, |db, m| {
                    matmul::matmul_backward_rhs(val(*a), *t, dy, db, m)
                });
            }
            Loss(p, t, kind, r) => {
                slots.deliver(*p, |dp, m| {
                    loss::loss_backward_prediction(*kind, *r, val(*p), val(*t), dy, dp, m)
                });
                slots.add(*t, |dt| {
                    loss::loss_backward_target(*kind, *r, val(*p), val(*t), dy, dt)
                });
            }
            GaussianKl(mean, logvar, r) => {
                slots.add(*mean, |dm| {
                    loss::gaussian_kl_backward_mean(*r, val(*mean), dy, dm)
                });
                slots.add(*logvar, |dl| {
                    loss::gaussian_kl_backward_logvar(*r, val(*logvar), dy, dl)
                });
            }
            CrossEntropy(z, labels) => slots.add(*z, |dz| {
                loss::cross_entropy_backward(val(*z), labels, dy, dz)
            }),
            // The fused ops: dy is already dz, the gradient at the pre-activation (above).
            Linear(x, w, b, _) => {
                let dz = dy;
                slots.deliver(*x, |dx, m| {
                    linear::linear_backward_input(val(*w), dz, dx, m)
                });
                slots.deliver(*w, |dw, m| {
                    linear::linear_backward_weight(val(*x), dz, dw, m)
                });
                if let Some(b) = b {
                    slots.deliver(*b, |db, m| linear::linear_backward_bias(dz, db, m));
                }
            }
            Conv2d(x, w, b, spec, _) => {
                let dz = dy;
                slots.deliver(*x, |dx, m| {
                    conv2d::conv2d_backward_input(val(*w), spec, dz, dx, m)
                });
                slots.deliver(*w, |dw, m| {
                    let saved = node.saved.as_ref();
                    conv2d::conv2d_backward_weight(val(*x), spec, dz, dw, m, saved)
                });
                if let Some(b) = b {
                    let sums = &plane_sums;
                    slots.deliver(*b, |db, m| {
                        conv2d::conv2d_backward_bias_from_sums(sums, db, m)
                    });
                }
            }
            // One backward fills dx and dw, so that they share their im2col.
            ConvTranspose2d(x, w, b, spec, _) => {
                let dz = dy;
                slots.deliver_all([Some(*x), Some(*w)], |[dx, dw]| {
                    conv_transpose2d::conv_transpose2d_backward(
                        val(*x),
                        val(*w),
                        spec,
                        dz,
                        dx,
                        dw,
                        None,
                    )
                });
                if let Some(b) = b {
                    let sums = &plane_sums;
                    slots.deliver(*b, |db, m| {
                        conv2d::conv2d_backward_bias_from_sums(sums, db, m)
                    });
                }
            }
            MaxPool2d(x, _, argmax) => {
                slots.add(*x, |dx| pool::max_pool2d_backward(argmax, dy, dx))
            }
            AvgPool2d(x, spec) => slots.add(*x, |dx| pool::avg_pool2d_backward(spec, dy, dx)),
            UpsampleNearest2d(x, f) => {
                slots.add(*x, |dx| pool::upsample_nearest2d_backward(*f, dy, dx))
            }
        }
    }

    /// One line per node: id, output shape, op and its inputs.
    ///
    /// ```text
    /// %0    [2, 3]               Leaf
    /// %1    [2, 3]               Relu <- %0
    /// ```
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let inputs: Vec<String> = node
                .op
                .inputs()
                .iter()
                .map(|v| format!("%{}", v.0))
                .collect();
            let call = if inputs.is_empty() {
                node.op.name()
            } else {
                format!("{} <- {}", node.op.name(), inputs.join(", "))
            };
            let shape = format!("{:?}", node.value.shape());
            let _ = writeln!(out, "%{i:<4} {shape:<20} {call}");
        }
        out
    }

    /// The graph in Graphviz DOT: a box per node labelled with its op and shape, an arrow
    /// from each input to its user. Leaves are green; nodes without gradient are grey.
    /// Render with `dot -Tpng tape.dot -o tape.png`.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph tape {\n  rankdir=TB;\n  node [shape=box, fontname=monospace];\n",
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let style = match (&node.op, node.requires_grad) {
                (Op::Leaf, _) => ", style=filled, fillcolor=palegreen",
                (_, false) => ", color=grey, fontcolor=grey",
                _ => "",
            };
            let label =
                format!("%{i} {}\\n{:?}", node.op.name(), node.value.shape()).replace('"', "'");
            let _ = writeln!(out, "  n{i} [label=\"{label}\"{style}];");
            for input in node.op.inputs() {
                let _ = writeln!(out, "  n{} -> n{i};", input.0);
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A gradient buffer handed to a backward function that fills several at once, with how to
/// deliver into it ([`Accumulate`]).
#[derive(Debug)]
pub struct GradSlot<'a> {
    /// The buffer, the shape of the input it is the gradient of.
    pub grad: &'a mut Tensor,
    /// Whether `grad` is fresh (overwrite) or already holds a gradient (add).
    pub mode: Accumulate,
}

/// The gradient buffers of one backward walk, one per node, filled as the walk reaches
/// each node's users. A node's first gradient finds no buffer: ops that can overwrite get a
/// fresh one of arbitrary contents ([`Slots::deliver`]), the others a zero-filled one
/// ([`Slots::add`]).
struct Slots<'a> {
    tape: &'a Tape,
    grads: &'a mut [Option<Tensor>],
}

impl Slots<'_> {
    /// Runs `f` on `v`'s gradient buffer, if `v` needs one, telling it whether to overwrite
    /// (the buffer is new, straight from the pool) or add.
    fn deliver(&mut self, v: Var, f: impl FnOnce(&mut Tensor, Accumulate)) {
        if !self.tape.requires_grad(v) {
            return;
        }
        match &mut self.grads[v.0] {
            Some(g) => f(g, Accumulate::Add),
            empty => {
                let mut g = Tensor::for_overwrite(self.tape.shape(v));
                f(&mut g, Accumulate::Overwrite);
                *empty = Some(g);
            }
        }
    }

    /// Runs `f`, which adds into the buffer, on `v`'s gradient, zero-filled if new.
    fn add(&mut self, v: Var, f: impl FnOnce(&mut Tensor)) {
        if self.tape.requires_grad(v) {
            f(self.grads[v.0].get_or_insert_with(|| Tensor::zeros(self.tape.shape(v))));
        }
    }

    /// Runs `f` with a slot for each of `vars` that needs a gradient (`None` for the
    /// others), all at once. The buffers are moved out of `grads` and back; a var listed twice
    /// gets a fresh buffer the second time, added into the first after.
    fn deliver_all<const N: usize>(
        &mut self,
        vars: [Option<Var>; N],
        f: impl FnOnce([Option<GradSlot>; N]),
    ) {
        let wanted = vars.map(|v| v.filter(|&v| self.tape.requires_grad(v)));
        let mut buffers: [Option<(Tensor, Accumulate)>; N] = std::array::from_fn(|i| {
            wanted[i].map(|v| match self.grads[v.0].take() {
                Some(g) => (g, Accumulate::Add),
                None => (
                    Tensor::for_overwrite(self.tape.shape(v)),
                    Accumulate::Overwrite,
                ),
            })
        });
        f(buffers.each_mut().map(|b| {
            b.as_mut()
                .map(|(grad, mode)| GradSlot { grad, mode: *mode })
        }));
        for (v, buffer) in wanted.into_iter().zip(buffers) {
            if let (Some(v), Some((g, _))) = (v, buffer) {
                self.give(v, g);
            }
        }
    }

    /// Makes `g` itself `v`'s gradient if it has none yet, or adds it into the one it has.
    fn give(&mut self, v: Var, g: Tensor) {
        if !self.tape.requires_grad(v) {
            return;
        }
        match &mut self.grads[v.0] {
            Some(first) => binary::add_backward(&g, first),
            empty => *empty = Some(g),
        }
    }
}

/// The gradients from one [`Tape::backward`] call: one per leaf the output depends on, found
/// by its [`Var`], or for a parameter by its [`ParamId`].
#[derive(Debug)]
pub struct Gradients {
    grads: Vec<Option<Tensor>>,
    params: BTreeMap<ParamId, Var>,
}

impl Gradients {
    /// The gradient with respect to `v`, if `v` is a leaf the output depends on.
    pub fn get(&self, v: Var) -> Option<&Tensor> {
        self.grads.get(v.0).and_then(Option::as_ref)
    }

    /// The gradient with respect to `v`, writable (to clip or scale it before a step).
    pub fn get_mut(&mut self, v: Var) -> Option<&mut Tensor> {
        self.grads.get_mut(v.0).and_then(Option::as_mut)
    }

    /// Takes the gradient out, leaving `None` (saves a copy when the caller consumes it).
    pub fn take(&mut self, v: Var) -> Option<Tensor> {
        self.grads.get_mut(v.0).and_then(Option::take)
    }

    /// The gradient of parameter `id`, if it was put on the tape ([`Tape::param`]) as a
    /// trainable leaf and the output depends on it.
    pub fn param(&self, id: ParamId) -> Option<&Tensor> {
        self.params.get(&id).and_then(|&v| self.get(v))
    }

    /// Every gradient with the leaf it belongs to, in tape order.
    pub fn iter(&self) -> impl Iterator<Item = (Var, &Tensor)> {
        self.grads
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.as_ref().map(|g| (Var(i), g)))
    }

    /// How many leaves have a gradient.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no leaf has a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The global L2 norm `√Σ g²` over all gradients (for logging or clipping), summed in
    /// tape order so that it is the same, bit for bit, from run to run.
    pub fn norm(&self) -> f32 {
        let sum: f64 = self
            .iter()
            .flat_map(|(_, g)| g.data())
            .map(|&v| v as f64 * v as f64)
            .sum();
        sum.sqrt() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_graph(tape: &mut Tape) -> (Var, Var, Var) {
        let w = tape.leaf(Tensor::from_vec(
            &[2, 3],
            vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.5],
        ));
        let x = tape.constant(Tensor::from_vec(&[1, 2], vec![1.0, 2.0]));
        let h = tape.matmul(x, w);
        let a = tape.relu(h);
        let loss = tape.sum_all(a);
        (w, x, loss)
    }

    #[test]
    fn gradients_come_back_for_leaves_only() {
        let mut tape = Tape::new();
        let (w, x, loss) = small_graph(&mut tape);
        // h = x·w = [3.5, -0.5, 1.0]; relu passes columns 0 and 2; dw[i, j] = x[i]·1[h_j > 0].
        let grads = tape.backward(loss);
        assert_eq!(
            grads.get(w).unwrap().data(),
            &[1.0, 0.0, 1.0, 2.0, 0.0, 2.0]
        );
        assert!(grads.get(x).is_none(), "a constant gets no gradient");
        assert!(
            grads.get(Var(2)).is_none(),
            "intermediate gradients are dropped"
        );
    }

    /// A graph through every op that overwrites a fresh gradient slot: a convolution, a
    /// transposed convolution, linear layers, a batched matmul with a shared right side, the
    /// four losses, and values used several times (their later gradients add into the first).
    fn every_overwriting_op(tape: &mut Tape, v: &[Var]) -> Var {
        use crate::ops::loss::Kind;
        use crate::{Conv2dSpec, ConvTranspose2dSpec, Epilogue, Reduction};
        let (x, conv_w, conv_b, convt_w, lin_w, lin_b, mat_b, lin2_w) =
            (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
        let h = tape.conv2d_fused(
            x,
            conv_w,
            Some(conv_b),
            Conv2dSpec::new(2, 1),
            Epilogue::Relu,
        );
        let spec = ConvTranspose2dSpec::new(2, 1, 1);
        let y = tape.conv_transpose2d_fused(h, convt_w, None, spec, Epilogue::Sigmoid);
        let flat = tape.reshape(h, &[16, 2 * 8 * 8]);
        let z = tape.linear(flat, lin_w, Some(lin_b), Epilogue::Tanh);
        let z2 = tape.linear(z, lin2_w, None, Epilogue::Identity);
        let batched = tape.reshape(h, &[16, 32, 4]);
        let m = tape.matmul(batched, mat_b);
        let target = tape.constant(Tensor::full(&[16, 1, 16, 16], 0.25));
        let mut total = tape.loss(Kind::Mse, y, target, Reduction::Mean);
        for (kind, p) in [(Kind::Bce, y), (Kind::BceWithLogits, y), (Kind::L1, x)] {
            let t = tape.constant(Tensor::full(tape.shape(p), 0.5));
            let l = tape.loss(kind, p, t, Reduction::Sum);
            total = tape.add(total, l);
        }
        let t = tape.constant(Tensor::full(&[16, 32, 300], 0.5));
        let l = tape.loss(Kind::L1, m, t, Reduction::Mean);
        total = tape.add(total, l);
        let t = tape.constant(Tensor::full(&[16, 64], 0.0));
        let l = tape.loss(Kind::Mse, z2, t, Reduction::Mean);
        tape.add(total, l)
    }

    #[test]
    fn fresh_gradient_slots_from_a_poisoned_pool_change_nothing() {
        // Fresh gradient buffers are recycled ones, overwritten. Fill the pool with NaN
        // buffers of every length the graph uses: a value left unwritten would show. (The pool
        // keeps buffers of 1,024 values or more, so the shapes are that large; the ops'
        // own tests poison the smaller slots, such as biases, directly.)
        let inputs = [
            crate::gradcheck::random_tensor(&[16, 1, 16, 16], 1).map(|v| 0.5 + 0.4 * v),
            crate::gradcheck::random_tensor(&[2, 1, 3, 3], 2),
            crate::gradcheck::random_tensor(&[2], 3),
            crate::gradcheck::random_tensor(&[2, 1, 3, 3], 4),
            crate::gradcheck::random_tensor(&[64, 128], 5),
            crate::gradcheck::random_tensor(&[64], 6),
            crate::gradcheck::random_tensor(&[4, 300], 7),
            crate::gradcheck::random_tensor(&[64, 64], 8),
        ];
        let gradients = || {
            let mut tape = Tape::new();
            let vars: Vec<Var> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
            let loss = every_overwriting_op(&mut tape, &vars);
            let lengths: Vec<usize> = tape.nodes.iter().map(|n| n.value.numel()).collect();
            let grads = tape.backward(loss);
            let values: Vec<Tensor> = vars
                .iter()
                .map(|&v| grads.get(v).unwrap().clone())
                .collect();
            (values, lengths)
        };
        let (want, lengths) = gradients();
        for g in &want {
            assert!(g.data().iter().all(|v| v.is_finite()), "clean run");
        }
        for len in &lengths {
            let poison: Vec<Tensor> = (0..4).map(|_| Tensor::full(&[*len], f32::NAN)).collect();
            drop(poison);
        }
        let (got, _) = gradients();
        assert_eq!(got, want);
    }

    #[test]
    fn default_is_new() {
        let mut tape = Tape::default();
        let (w, _, loss) = small_graph(&mut tape);
        assert!(
            tape.backward(loss).get(w).is_some(),
            "a default tape records"
        );
    }

    #[test]
    fn a_parameter_is_one_leaf_found_by_its_id() {
        let (id, other) = (ParamId::fresh(), ParamId::fresh());
        assert_ne!(id, other);
        let value = Tensor::from_vec(&[2], vec![1.0, 2.0]);
        let mut tape = Tape::new();
        let a = tape.param(id, &value, true);
        let b = tape.param(id, &value, true);
        assert_eq!(a, b, "the same id gives the same leaf");
        let frozen = tape.param(other, &value, false);
        assert!(!tape.requires_grad(frozen));
        // L = Σ a·b + Σ frozen: dL/da = 2a (both uses), the frozen one gets none.
        let ab = tape.mul(a, b);
        let s1 = tape.sum_all(ab);
        let s2 = tape.sum_all(frozen);
        let loss = tape.add(s1, s2);
        let grads = tape.backward(loss);
        assert_eq!(grads.param(id).unwrap().data(), &[2.0, 4.0]);
        assert!(grads.param(other).is_none());
        assert_eq!(tape.param_var(id), Some(a));
        assert_eq!(grads.len(), 1);
        assert!((grads.norm() - 20f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn an_op_given_one_leaf_twice_sums_both_gradients() {
        // conv_transpose2d(x, x) on 1×1 images and kernels is x², so dL/dx = 2x: the second
        // slot of the same leaf must be added to the first, not lost.
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(&[1, 1, 1, 1], vec![3.0]));
        let spec = crate::ops::conv_transpose2d::ConvTranspose2dSpec::default();
        let y = tape.conv_transpose2d(x, x, None, spec);
        let loss = tape.sum_all(y);
        assert_eq!(tape.value(loss).item(), 9.0);
        assert_eq!(tape.backward(loss).get(x).unwrap().data(), &[6.0]);
    }

    #[test]
    fn no_grad_tape_records_nothing() {
        let mut tape = Tape::no_grad();
        let (w, _, loss) = small_graph(&mut tape);
        assert_eq!(tape.value(loss).item(), 4.5);
        assert!(
            tape.nodes()
                .iter()
                .all(|n| matches!(n.op, Op::Constant) && !n.requires_grad)
        );
        assert!(tape.backward(loss).get(w).is_none());
    }

    #[test]
    fn dump_and_dot_show_every_node() {
        let mut tape = Tape::new();
        small_graph(&mut tape);
        let dump = tape.dump();
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["%0", "[2,", "3]", "Leaf"]
        );
        assert!(
            lines[2].starts_with("%2    [1, 3]") && lines[2].ends_with("Matmul(A·B) <- %1, %0")
        );
        assert!(lines[4].starts_with("%4    []") && lines[4].ends_with("Sum(all) <- %3"));
        let dot = tape.to_dot();
        assert!(dot.starts_with("digraph tape {") && dot.trim_end().ends_with('}'));
        assert!(
            dot.contains("n0 -> n2;") && dot.contains("n1 -> n2;") && dot.contains("n3 -> n4;")
        );
    }

    #[test]
    #[should_panic(expected = "backward: the loss must have one element, not shape [1, 3]")]
    fn backward_needs_a_scalar() {
        let mut tape = Tape::new();
        let x = tape.leaf(Tensor::zeros(&[1, 3]));
        let y = tape.relu(x);
        tape.backward(y);
    }
}
