//! Convolution layers: [`Conv2d`] and [`ConvTranspose2d`].

use tensor::ops::{conv_transpose2d, conv2d};
use tensor::{Conv2dSpec, ConvTranspose2dSpec, Epilogue, Rng, Var};

use crate::graph::Graph;
use crate::init;
use crate::module::{Module, join};
use crate::parameter::Parameter;

fn check_input(op: &str, input: &[usize], c_in: usize) {
    assert!(
        input.len() == 4 && input[1] == c_in,
        "{op}: input shape {input:?} is not [batch, {c_in}, h, w]"
    );
}

fn visit_wb(
    prefix: &str,
    w: &Parameter,
    b: &Option<Parameter>,
    f: &mut dyn FnMut(&str, &Parameter),
) {
    f(&join(prefix, "weight"), w);
    if let Some(b) = b {
        f(&join(prefix, "bias"), b);
    }
}

fn visit_wb_mut(
    prefix: &str,
    w: &mut Parameter,
    b: &mut Option<Parameter>,
    f: &mut dyn FnMut(&str, &mut Parameter),
) {
    f(&join(prefix, "weight"), w);
    if let Some(b) = b {
        f(&join(prefix, "bias"), b);
    }
}

/// 2-D convolution (PyTorch's `nn.Conv2d`, groups = 1):
/// `y[n,o,i,j] = b[o] + Σ_{c,p,q} w[o,c,p,q]·x[n,c, i·s − pad + p·d, j·s − pad + q·d]`.
///
/// Shapes: `x [batch, c_in, h, w]`, `weight [c_out, c_in, k_h, k_w]`, `bias [c_out]`,
/// `y [batch, c_out, h_out, w_out]` with `h_out = ⌊(h + 2·pad − d·(k_h − 1) − 1) / s⌋ + 1`.
/// Initialised like PyTorch: `U(−1/√fan_in, 1/√fan_in)`, `fan_in = c_in·k_h·k_w`.
///
/// ```
/// # use layers::{Conv2d, Module};
/// # use tensor::rng;
/// let conv = Conv2d::new(1, 16, 3, &mut rng(0)).stride(2).padding(1);
/// assert_eq!(conv.output_shape(&[64, 1, 28, 28]), vec![64, 16, 14, 14]);
/// assert_eq!(conv.num_parameters(), 16 * 9 + 16);
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// `[c_out, c_in, k_h, k_w]`.
    pub weight: Parameter,
    /// `[c_out]`, or none.
    pub bias: Option<Parameter>,
    /// Stride, padding, dilation.
    pub spec: Conv2dSpec,
}

impl Conv2d {
    /// A `kernel×kernel` convolution from `c_in` to `c_out` channels, stride 1, no padding,
    /// with bias, initialised from `rng`.
    pub fn new(c_in: usize, c_out: usize, kernel: usize, rng: &mut Rng) -> Conv2d {
        Conv2d::with_kernel(c_in, c_out, (kernel, kernel), rng)
    }

    /// A `k_h×k_w` convolution.
    pub fn with_kernel(c_in: usize, c_out: usize, kernel: (usize, usize), rng: &mut Rng) -> Conv2d {
        let shape = [c_out, c_in, kernel.0, kernel.1];
        let weight = init::default_weight(&shape, rng);
        let bound = init::default_bound(init::fan_in(&shape));
        Conv2d {
            weight: Parameter::new(weight),
            bias: Some(Parameter::uniform(&[c_out], bound, rng)),
            spec: Conv2dSpec::new(1, 0),
        }
    }

    /// With stride `s` along both axes.
    pub fn stride(mut self, s: usize) -> Conv2d {
        self.spec.stride = (s, s);
        self
    }

    /// With zero padding `p` on every side.
    pub fn padding(mut self, p: usize) -> Conv2d {
        self.spec.padding = (p, p);
        self
    }

    /// With dilation `d` along both axes.
    pub fn dilation(mut self, d: usize) -> Conv2d {
        self.spec.dilation = (d, d);
        self
    }

    /// Without bias.
    pub fn without_bias(mut self) -> Conv2d {
        self.bias = None;
        self
    }

    /// `(c_out, c_in, k_h, k_w)`.
    fn dims(&self) -> (usize, usize, usize, usize) {
        let s = self.weight.value.shape();
        (s[0], s[1], s[2], s[3])
    }

    /// `act(conv2d(x) + b)`, recorded as one op.
    fn record(&self, g: &mut Graph, x: Var, act: Epilogue) -> Var {
        check_input("Conv2d", g.shape(x), self.dims().1);
        let w = g.param(&self.weight);
        let b = self.bias.as_ref().map(|b| g.param(b));
        g.conv2d_fused(x, w, b, self.spec, act)
    }
}

impl Module for Conv2d {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        self.record(g, x, Epilogue::Identity)
    }

    fn forward_fused(&mut self, g: &mut Graph, x: Var, act: Epilogue) -> Option<Var> {
        Some(self.record(g, x, act))
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        visit_wb(prefix, &self.weight, &self.bias, f);
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        visit_wb_mut(prefix, &mut self.weight, &mut self.bias, f);
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let (c_out, c_in, k_h, k_w) = self.dims();
        check_input("Conv2d", input, c_in);
        let (h_out, w_out) = conv2d::output_size((input[2], input[3]), (k_h, k_w), &self.spec);
        vec![input[0], c_out, h_out, w_out]
    }

    fn type_name(&self) -> String {
        "Conv2d".into()
    }

    /// `c_out·h_out·w_out · c_in·k_h·k_w`: one dot product of length `c_in·k_h·k_w` per output.
    fn mult_adds(&self, input: &[usize]) -> u64 {
        let out = self.output_shape(input);
        let (_, c_in, k_h, k_w) = self.dims();
        (out[1] * out[2] * out[3] * c_in * k_h * k_w) as u64
    }
}

/// 2-D transposed convolution (PyTorch's `nn.ConvTranspose2d`, groups = 1): the adjoint of a
/// convolution with the same spec, each input pixel scattering `x[n,c,i,j]·w[c,o,·,·]` into
/// the output at `(i·s − pad, j·s − pad)`, plus `b[o]`.
///
/// Shapes: `x [batch, c_in, h, w]`, `weight [c_in, c_out, k_h, k_w]` (PyTorch's layout),
/// `bias [c_out]`, `h_out = (h − 1)·s − 2·pad + d·(k_h − 1) + output_padding + 1`.
/// Initialised like PyTorch: `U(−1/√fan_in, 1/√fan_in)` with `fan_in = weight.size(1)·k_h·k_w
/// = c_out·k_h·k_w` (PyTorch's `_calculate_fan_in_and_fan_out` reads dimension 1).
///
/// ```
/// # use layers::{ConvTranspose2d, Module};
/// # use tensor::rng;
/// let up = ConvTranspose2d::new(32, 16, 3, &mut rng(0)).stride(2).padding(1).output_padding(1);
/// assert_eq!(up.output_shape(&[64, 32, 7, 7]), vec![64, 16, 14, 14]);
/// ```
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    /// `[c_in, c_out, k_h, k_w]`.
    pub weight: Parameter,
    /// `[c_out]`, or none.
    pub bias: Option<Parameter>,
    /// Stride, padding, output padding, dilation.
    pub spec: ConvTranspose2dSpec,
}

impl ConvTranspose2d {
    /// A `kernel×kernel` transposed convolution from `c_in` to `c_out` channels, stride 1,
    /// no padding, with bias, initialised from `rng`.
    pub fn new(c_in: usize, c_out: usize, kernel: usize, rng: &mut Rng) -> ConvTranspose2d {
        ConvTranspose2d::with_kernel(c_in, c_out, (kernel, kernel), rng)
    }

    /// A `k_h×k_w` transposed convolution.
    pub fn with_kernel(
        c_in: usize,
        c_out: usize,
        kernel: (usize, usize),
        rng: &mut Rng,
    ) -> ConvTranspose2d {
        let shape = [c_in, c_out, kernel.0, kernel.1];
        let weight = init::default_weight(&shape, rng);
        let bound = init::default_bound(init::fan_in(&shape));
        ConvTranspose2d {
            weight: Parameter::new(weight),
            bias: Some(Parameter::uniform(&[c_out], bound, rng)),
            spec: ConvTranspose2dSpec::new(1, 0, 0),
        }
    }

    /// With stride `s` along both axes.
    pub fn stride(mut self, s: usize) -> ConvTranspose2d {
        self.spec.stride = (s, s);
        self
    }

    /// With padding `p` (removed from every side of the output).
    pub fn padding(mut self, p: usize) -> ConvTranspose2d {
        self.spec.padding = (p, p);
        self
    }

    /// With output padding `p` (added at the bottom and right; must be less than the stride
    /// or the dilation).
    pub fn output_padding(mut self, p: usize) -> ConvTranspose2d {
        self.spec.output_padding = (p, p);
        self
    }

    /// With dilation `d` along both axes.
    pub fn dilation(mut self, d: usize) -> ConvTranspose2d {
        self.spec.dilation = (d, d);
        self
    }

    /// Without bias.
    pub fn without_bias(mut self) -> ConvTranspose2d {
        self.bias = None;
        self
    }

    /// `(c_in, c_out, k_h, k_w)`.
    fn dims(&self) -> (usize, usize, usize, usize) {
        let s = self.weight.value.shape();
        (s[0], s[1], s[2], s[3])
    }

    /// `act(conv_transpose2d(x) + b)`, recorded as one op.
    fn record(&self, g: &mut Graph, x: Var, act: Epilogue) -> Var {
        check_input("ConvTranspose2d", g.shape(x), self.dims().0);
        let w = g.param(&self.weight);
        let b = self.bias.as_ref().map(|b| g.param(b));
        g.conv_transpose2d_fused(x, w, b, self.spec, act)
    }
}

impl Module for ConvTranspose2d {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        self.record(g, x, Epilogue::Identity)
    }

    fn forward_fused(&mut self, g: &mut Graph, x: Var, act: Epilogue) -> Option<Var> {
        Some(self.record(g, x, act))
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        visit_wb(prefix, &self.weight, &self.bias, f);
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
        visit_wb_mut(prefix, &mut self.weight, &mut self.bias, f);
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let (c_in, c_out, k_h, k_w) = self.dims();
        check_input("ConvTranspose2d", input, c_in);
        let (h_out, w_out) =
            conv_transpose2d::output_size((input[2], input[3]), (k_h, k_w), &self.spec);
        vec![input[0], c_out, h_out, w_out]
    }

    fn type_name(&self) -> String {
        "ConvTranspose2d".into()
    }

    /// `c_in·h·w · c_out·k_h·k_w`: each input pixel scatters a `c_out·k_h·k_w` block.
    fn mult_adds(&self, input: &[usize]) -> u64 {
        let (c_in, c_out, k_h, k_w) = self.dims();
        check_input("ConvTranspose2d", input, c_in);
        (c_in * input[2] * input[3] * c_out * k_h * k_w) as u64
    }
}
