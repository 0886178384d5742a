//! Small Markdown builders for the report: tables, and a model's summary as a table.

use layers::Summary;
use layers::summary::thousands;
use serde::{Deserialize, Serialize};

/// A Markdown table; columns whose every cell is a number are right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", headers.join(" | "));
    for i in 0..headers.len() {
        let numeric = rows.iter().all(|r| r.get(i).is_none_or(|c| is_number(c)));
        out += if numeric { "---:|" } else { "---|" };
    }
    out.push('\n');
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

/// Whether a cell reads as a number (`1,234`, `**0.5**`, `+2.1`, `2.16×`, `--`, empty).
fn is_number(cell: &str) -> bool {
    let core = cell.trim_matches(|c: char| c == '*' || c == '×' || c == '%' || c.is_whitespace());
    core.is_empty() || core == "--" || core.replace(',', "").parse::<f64>().is_ok()
}

/// `n` and the noun, plural when `n` is not 1: `1 epoch`, `10 epochs`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A model's description table as plain data (what [`layers::Summary`] computes, kept in
/// `results.json`): layer, type, output shape, parameters, multiply-adds per image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelTable {
    /// The batch size the shapes are given for.
    pub batch: usize,
    /// One row per layer, containers included.
    pub rows: Vec<TableRow>,
    /// The model's output shape.
    pub output_shape: Vec<usize>,
    /// Learnable parameters.
    pub total_params: usize,
    /// Multiply-adds per image.
    pub mult_adds_per_sample: u64,
}

/// One layer of a [`ModelTable`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// Dotted name (`encoder.0`).
    pub name: String,
    /// PyTorch class name.
    pub type_name: String,
    /// Nesting depth.
    pub depth: usize,
    /// Whether it is a leaf (containers repeat their children's counts).
    pub leaf: bool,
    /// Output shape, batch included.
    pub output_shape: Vec<usize>,
    /// Learnable parameters.
    pub params: usize,
    /// Multiply-adds per image.
    pub mult_adds: u64,
}

impl ModelTable {
    /// The table of `summary`.
    pub fn of(summary: &Summary) -> ModelTable {
        ModelTable {
            batch: summary.input_shape[0],
            rows: summary
                .rows
                .iter()
                .map(|r| TableRow {
                    name: r.name.clone(),
                    type_name: r.type_name.clone(),
                    depth: r.depth,
                    leaf: r.leaf,
                    output_shape: r.output_shape.clone(),
                    params: r.params,
                    mult_adds: r.mult_adds,
                })
                .collect(),
            output_shape: summary.output_shape.clone(),
            total_params: summary.total_params,
            mult_adds_per_sample: summary.mult_adds_per_sample,
        }
    }

    /// The table in Markdown: containers in bold, the totals in the last line.
    pub fn markdown(&self) -> String {
        let dash = |n: u64| {
            if n == 0 {
                "--".to_string()
            } else {
                thousands(n)
            }
        };
        let mut rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let name = if r.leaf {
                    format!("{}{}", "&nbsp;&nbsp;".repeat(r.depth), r.name)
                } else {
                    format!("**{}**", r.name)
                };
                vec![
                    name,
                    r.type_name.clone(),
                    format!("{:?}", r.output_shape),
                    dash(r.params as u64),
                    dash(r.mult_adds),
                ]
            })
            .collect();
        rows.push(vec![
            "**total**".into(),
            String::new(),
            format!("{:?}", self.output_shape),
            format!("**{}**", thousands(self.total_params as u64)),
            format!("**{}**", thousands(self.mult_adds_per_sample)),
        ]);
        table(
            &[
                "layer",
                "type",
                "output shape",
                "parameters",
                "mult-adds / image",
            ],
            &rows,
        )
    }
}

/// An MSE value with five decimals.
pub fn format_mse(x: f64) -> String {
    format!("{x:.5}")
}

/// A ratio as `2.16×`.
pub fn times(x: f64) -> String {
    format!("{x:.2}×")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right() {
        let t = table(&["a", "b"], &[vec!["x".into(), "1,234".into()]]);
        assert_eq!(t, "| a | b |\n|---|---:|\n| x | 1,234 |\n");
        assert!(is_number("**4,385**") && is_number("2.16×") && is_number("+0.5"));
        assert!(!is_number("[64, 1]") && !is_number("Linear"));
        assert_eq!(
            (count(1, "epoch"), count(3, "epoch")),
            ("1 epoch".into(), "3 epochs".into())
        );
    }
}
