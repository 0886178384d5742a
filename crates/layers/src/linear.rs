//! A fully connected layer.

use tensor::{Epilogue, Rng, Var};

use crate::graph::Graph;
use crate::init;
use crate::module::{Module, join};
use crate::parameter::Parameter;

/// `y = x·Wᵀ + b`, i.e. `y[n,o] = Σ_i x[n,i]·W[o,i] + b[o]`.
///
/// Shapes: `x [batch, in]`, `weight [out, in]` (PyTorch's layout, read transposed by the
/// GEMM, no copy), `bias [out]`, `y [batch, out]`. Parameters: `out·in + out`.
/// Initialised like PyTorch: weight and bias `U(−1/√in, 1/√in)` (see [`crate::init`]).
#[derive(Clone, Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Parameter,
    /// `[out]`, or none.
    pub bias: Option<Parameter>,
}

impl Linear {
    /// A layer from `in_features` to `out_features`, with bias, initialised from `rng`.
    pub fn new(in_features: usize, out_features: usize, rng: &mut Rng) -> Linear {
        let weight = init::default_weight(&[out_features, in_features], rng);
        let bound = init::default_bound(in_features);
        Linear {
            weight: Parameter::new(weight),
            bias: Some(Parameter::uniform(&[out_features], bound, rng)),
        }
    }

    /// The same layer without its bias (PyTorch's `bias=False`).
    pub fn without_bias(mut self) -> Linear {
        self.bias = None;
        self
    }

    /// `(in_features, out_features)`.
    pub fn features(&self) -> (usize, usize) {
        let s = self.weight.value.shape();
        (s[1], s[0])
    }
}

impl Linear {
    /// `act(x·Wᵀ + b)`, recorded as one op.
    fn record(&self, g: &mut Graph, x: Var, act: Epilogue) -> Var {
        let (in_f, _) = self.features();
        assert!(
            g.shape(x).len() == 2 && g.shape(x)[1] == in_f,
            "Linear: input shape {:?} is not [batch, {in_f}]",
            g.shape(x)
        );
        let w = g.param(&self.weight);
        let b = self.bias.as_ref().map(|b| g.param(b));
        g.linear(x, w, b, act)
    }
}

impl Module for Linear {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        self.record(g, x, Epilogue::Identity)
    }

    fn forward_fused(&mut self, g: &mut Graph, x: Var, act: Epilogue) -> Option<Var> {
        Some(self.record(g, x, act))
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        f(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join(prefix, "bias"), b);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        f(&join(prefix, "weight"), &mut self.weight);
        if let Some(b) = &mut self.bias {
            f(&join(prefix, "bias"), b);
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let (in_f, out_f) = self.features();
        assert!(
            input.len() == 2 && input[1] == in_f,
            "Linear: input shape {input:?} is not [batch, {in_f}]"
        );
        vec![input[0], out_f]
    }

    fn type_name(&self) -> String {
        "Linear".into()
    }

    fn mult_adds(&self, _input: &[usize]) -> u64 {
        self.weight.value.numel() as u64
    }
}
