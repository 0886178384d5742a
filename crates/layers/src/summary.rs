//! A model summary table, like Keras' `model.summary()` or `torchinfo.summary`.
//!
//! One row per layer: its dotted name (the prefix of its parameters' names), PyTorch type,
//! output shape for the given input shape, parameter count and multiply-adds per sample.
//! Containers ([`crate::Sequential`]) get a row too, indented above their children, showing
//! their children's totals; totals at the bottom count each layer once.
//!
//! How memory is counted (f32, 4 bytes per element):
//! - *parameters*: every parameter and buffer (running statistics included);
//! - *activations*: the output of every leaf layer for one forward pass of the whole batch
//!   (what the tape holds for the backward pass, the input excluded and intermediate nodes
//!   inside a layer — the bias-less matmul, BatchNorm's normalised value — not counted);
//!   the backward pass needs about as much again for the gradients;
//! - *input*: the batch itself.

use std::fmt;

use crate::module::Module;

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Dotted name, `"encoder.0"`.
    pub name: String,
    /// PyTorch class name.
    pub type_name: String,
    /// Nesting depth (0 for the top layers).
    pub depth: usize,
    /// Output shape, batch included.
    pub output_shape: Vec<usize>,
    /// Learnable parameter elements (buffers excluded).
    pub params: usize,
    /// Multiply-adds per sample.
    pub mult_adds: u64,
    /// Whether this is a leaf layer (containers repeat their children's counts).
    pub leaf: bool,
}

impl Row {
    /// The row of a leaf layer.
    pub fn of_leaf<M: Module + ?Sized>(
        m: &M,
        name: &str,
        depth: usize,
        input: &[usize],
        output: &[usize],
    ) -> Row {
        Row {
            name: name.to_string(),
            type_name: m.type_name(),
            depth,
            output_shape: output.to_vec(),
            params: m.num_parameters(),
            mult_adds: m.mult_adds(input),
            leaf: true,
        }
    }

    /// The row of a container, summing its children.
    pub fn of_container<M: Module + ?Sized>(
        m: &M,
        name: &str,
        depth: usize,
        input: &[usize],
        output: &[usize],
    ) -> Row {
        Row {
            leaf: false,
            ..Row::of_leaf(m, name, depth, input, output)
        }
    }
}

/// The summary of a model for one input shape; print it with `{}`.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The model's type name.
    pub model: String,
    /// The input shape, batch included.
    pub input_shape: Vec<usize>,
    /// The output shape, batch included.
    pub output_shape: Vec<usize>,
    /// One row per layer and container, in forward order.
    pub rows: Vec<Row>,
    /// Learnable parameter elements.
    pub total_params: usize,
    /// Of which trainable.
    pub trainable_params: usize,
    /// Buffer elements (running statistics), not counted as parameters.
    pub buffer_elements: usize,
    /// Multiply-adds for one sample.
    pub mult_adds_per_sample: u64,
    /// Bytes of the input batch.
    pub input_bytes: usize,
    /// Bytes of parameters and buffers.
    pub param_bytes: usize,
    /// Bytes of the leaf layers' outputs for one forward pass of the batch.
    pub activation_bytes: usize,
}

impl Summary {
    /// Summarises `model` for inputs of shape `input` (batch axis first).
    ///
    /// ```
    /// # use layers::{Activation, Linear, Sequential, Summary};
    /// # use tensor::rng;
    /// let mut r = rng(0);
    /// let model = Sequential::new().push(Linear::new(4, 3, &mut r)).push(Activation::Relu);
    /// let s = Summary::new(&model, &[10, 4]);
    /// assert_eq!(s.total_params, 15);
    /// assert_eq!(s.mult_adds_per_sample, 12);
    /// assert_eq!(s.activation_bytes, 2 * 10 * 3 * 4);
    /// ```
    pub fn new<M: Module + ?Sized>(model: &M, input: &[usize]) -> Summary {
        let mut rows = Vec::new();
        let output_shape = model.summarize("", 0, input, &mut rows);
        let (mut total, mut trainable, mut buffers) = (0, 0, 0);
        model.visit("", &mut |_, p| {
            if p.is_learnable() {
                total += p.value.numel();
                if p.trainable {
                    trainable += p.value.numel();
                }
            } else {
                buffers += p.value.numel();
            }
        });
        let leaves = rows.iter().filter(|r| r.leaf);
        let activation_elements: usize = leaves
            .clone()
            .map(|r| r.output_shape.iter().product::<usize>())
            .sum();
        let mult_adds_per_sample = leaves.map(|r| r.mult_adds).sum();
        Summary {
            model: model.type_name(),
            input_shape: input.to_vec(),
            output_shape,
            rows,
            total_params: total,
            trainable_params: trainable,
            buffer_elements: buffers,
            mult_adds_per_sample,
            input_bytes: input.iter().product::<usize>() * 4,
            param_bytes: (total + buffers) * 4,
            activation_bytes: activation_elements * 4,
        }
    }

    /// Multiply-adds for the whole batch.
    pub fn mult_adds_per_batch(&self) -> u64 {
        self.mult_adds_per_sample * self.input_shape.first().copied().unwrap_or(1) as u64
    }
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn megabytes(bytes: usize) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |s: &[usize]| format!("{s:?}");
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{}{} ({})", "  ".repeat(r.depth), r.name, r.type_name))
            .collect();
        let w0 = labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(12)
            + 2;
        let w1 = self
            .rows
            .iter()
            .map(|r| shape(&r.output_shape).len())
            .max()
            .unwrap_or(0)
            .max(12)
            + 2;
        let (w2, w3) = (12, 16);
        let width = w0 + w1 + w2 + w3;
        let rule = |c: &str| c.repeat(width);
        writeln!(f, "{} — input {}", self.model, shape(&self.input_shape))?;
        writeln!(f, "{}", rule("="))?;
        writeln!(
            f,
            "{:<w0$}{:<w1$}{:>w2$}{:>w3$}",
            "Layer (type)", "Output shape", "Param #", "Mult-adds/img"
        )?;
        writeln!(f, "{}", rule("="))?;
        for (row, label) in self.rows.iter().zip(&labels) {
            let params = if row.params == 0 && row.leaf {
                "--".to_string()
            } else {
                thousands(row.params as u64)
            };
            let macs = if row.mult_adds == 0 {
                "--".to_string()
            } else {
                thousands(row.mult_adds)
            };
            writeln!(
                f,
                "{label:<w0$}{:<w1$}{params:>w2$}{macs:>w3$}",
                shape(&row.output_shape)
            )?;
        }
        writeln!(f, "{}", rule("="))?;
        let batch = self.input_shape.first().copied().unwrap_or(1);
        writeln!(f, "Total params: {}", thousands(self.total_params as u64))?;
        writeln!(
            f,
            "Trainable params: {}",
            thousands(self.trainable_params as u64)
        )?;
        writeln!(
            f,
            "Non-trainable params: {}",
            thousands((self.total_params - self.trainable_params) as u64)
        )?;
        if self.buffer_elements > 0 {
            writeln!(
                f,
                "Buffers (running statistics, not params): {}",
                thousands(self.buffer_elements as u64)
            )?;
        }
        writeln!(
            f,
            "Mult-adds per image: {}",
            thousands(self.mult_adds_per_sample)
        )?;
        writeln!(
            f,
            "Mult-adds per batch of {batch}: {}",
            thousands(self.mult_adds_per_batch())
        )?;
        writeln!(f, "{}", rule("-"))?;
        writeln!(f, "Input size (f32): {}", megabytes(self.input_bytes))?;
        writeln!(
            f,
            "Params size (f32, buffers included): {}",
            megabytes(self.param_bytes)
        )?;
        writeln!(
            f,
            "Forward activations (f32, leaf-layer outputs, batch {batch}): {}",
            megabytes(self.activation_bytes)
        )?;
        writeln!(
            f,
            "Estimated total (input + params + activations): {}",
            megabytes(self.input_bytes + self.param_bytes + self.activation_bytes)
        )?;
        write!(f, "{}", rule("="))
    }
}
