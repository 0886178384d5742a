//! Pooling and upsampling layers (no parameters).

use tensor::PoolSpec;
use tensor::Var;

use crate::graph::Graph;
use crate::module::Module;

/// `[batch, c, h, w] → [batch, c, h_out, w_out]`, `h_out = ⌊(h + 2·pad − k) / stride⌋ + 1`
/// (PyTorch's formula with `ceil_mode = False`).
fn pooled_shape(op: &str, input: &[usize], spec: &PoolSpec) -> Vec<usize> {
    assert_eq!(
        input.len(),
        4,
        "{op}: input shape {input:?} is not [batch, c, h, w]"
    );
    let axis = |len: usize, k: usize, s: usize, pad: usize| {
        assert!(
            len + 2 * pad >= k,
            "{op}: window {k} larger than padded input {len} + 2·{pad}"
        );
        (len + 2 * pad - k) / s + 1
    };
    vec![
        input[0],
        input[1],
        axis(input[2], spec.kernel.0, spec.stride.0, spec.padding.0),
        axis(input[3], spec.kernel.1, spec.stride.1, spec.padding.1),
    ]
}

/// Max pooling: `y[n,c,i,j] = max` over the window at `(i·stride − pad, j·stride − pad)`;
/// the gradient goes to the winning element (PyTorch's `nn.MaxPool2d`).
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    /// Window, stride and padding.
    pub spec: PoolSpec,
}

impl MaxPool2d {
    /// A `kernel×kernel` window with stride `kernel` (PyTorch's default) and no padding.
    pub fn new(kernel: usize) -> MaxPool2d {
        MaxPool2d {
            spec: PoolSpec::new(kernel, kernel, 0),
        }
    }

    /// With any window, stride and padding.
    pub fn with_spec(spec: PoolSpec) -> MaxPool2d {
        MaxPool2d { spec }
    }
}

impl Module for MaxPool2d {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        g.max_pool2d(x, self.spec)
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        pooled_shape("MaxPool2d", input, &self.spec)
    }

    fn type_name(&self) -> String {
        "MaxPool2d".into()
    }
}

/// Average pooling, padding counted as zeros (PyTorch's `nn.AvgPool2d` defaults).
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    /// Window, stride and padding.
    pub spec: PoolSpec,
}

impl AvgPool2d {
    /// A `kernel×kernel` window with stride `kernel` and no padding.
    pub fn new(kernel: usize) -> AvgPool2d {
        AvgPool2d {
            spec: PoolSpec::new(kernel, kernel, 0),
        }
    }

    /// With any window, stride and padding.
    pub fn with_spec(spec: PoolSpec) -> AvgPool2d {
        AvgPool2d { spec }
    }
}

impl Module for AvgPool2d {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        g.avg_pool2d(x, self.spec)
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        pooled_shape("AvgPool2d", input, &self.spec)
    }

    fn type_name(&self) -> String {
        "AvgPool2d".into()
    }
}

/// Nearest-neighbour upsampling by an integer factor: `y[n,c,i,j] = x[n,c,⌊i/f⌋,⌊j/f⌋]`
/// (PyTorch's `nn.Upsample(scale_factor=f, mode="nearest")`).
#[derive(Clone, Copy, Debug)]
pub struct Upsample {
    /// The factor `f` along h and w.
    pub factor: usize,
}

impl Upsample {
    /// Upsampling by `factor`.
    pub fn new(factor: usize) -> Upsample {
        assert!(factor > 0, "Upsample: factor must be positive");
        Upsample { factor }
    }
}

impl Module for Upsample {
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        g.upsample_nearest2d(x, self.factor)
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        assert_eq!(
            input.len(),
            4,
            "Upsample: input shape {input:?} is not [batch, c, h, w]"
        );
        vec![
            input[0],
            input[1],
            input[2] * self.factor,
            input[3] * self.factor,
        ]
    }

    fn type_name(&self) -> String {
        "Upsample".into()
    }
}
