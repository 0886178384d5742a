//! Small Markdown builders for the report: tables, and a model's summary as a table.

use layers::Summary;
use layers::summary::thousands;

/// A Markdown table; columns after the first are right-aligned (numbers).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", headers.join(" | "));
    for i in 0..headers.len() {
        out += if i == 0 { "---|" } else { "---:|" };
    }
    out.push('\n');
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

/// A model's description table: layer, type, output shape, parameters, multiply-adds per
/// image; containers in bold, the totals in the last line.
pub fn summary_table(s: &Summary) -> String {
    let mut rows = Vec::new();
    for r in &s.rows {
        let shape = format!("{:?}", r.output_shape);
        let name = if r.leaf {
            format!("{}{}", "&nbsp;&nbsp;".repeat(r.depth), r.name)
        } else {
            format!("**{}**", r.name)
        };
        let dash = |n: u64| if n == 0 { "--".to_string() } else { thousands(n) };
        rows.push(vec![
            name,
            r.type_name.clone(),
            shape,
            dash(r.params as u64),
            dash(r.mult_adds),
        ]);
    }
    rows.push(vec![
        "**total**".into(),
        String::new(),
        format!("{:?}", s.output_shape),
        format!("**{}**", thousands(s.total_params as u64)),
        format!("**{}**", thousands(s.mult_adds_per_sample)),
    ]);
    table(
        &["layer", "type", "output shape", "parameters", "mult-adds / image"],
        &rows,
    )
}

/// `x` with four significant decimals for MSE values.
pub fn mse(x: f64) -> String {
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
        let t = table(&["a", "b"], &[vec!["x".into(), "1".into()]]);
        assert_eq!(t, "| a | b |\n|---|---:|\n| x | 1 |\n");
    }
}
