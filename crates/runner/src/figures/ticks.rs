//! Where an axis puts its ticks and how it labels them, so that a reader can read them:
//! steps of 1, 2 or 5 times a power of ten on a linear axis (0, 0.2, 0.4, …), the values
//! 1, 2 and 5 times a power of ten on a logarithmic one (0.01, 0.02, 0.05, 0.1), never the
//! evenly spaced ratios (0.0158, 0.0251, 0.0398) a log axis cut into equal parts gives.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// An axis' ticks, in the units the chart draws: the value itself on a linear axis, its
/// `log10` on a logarithmic one.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    /// Labelled ticks, with a grid line each.
    pub major: Vec<f64>,
    /// Fainter grid lines between them, unlabelled.
    pub minor: Vec<f64>,
    /// Whether the drawn units are `log10` of the values.
    log: bool,
    /// Decimals of a linear axis' labels (all labels of an axis get the same number).
    decimals: usize,
}

/// The step of 1, 2 or 5 times a power of ten that cuts `span` into at most about
/// `target` parts.
pub fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span.abs().max(f64::MIN_POSITIVE) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// The multiples of `step` in `[lo, hi]` (computed as `k·step`, so no rounding drift).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    if !(first.is_finite() && last.is_finite()) || last < first {
        return Vec::new();
    }
    (first as i64..=last as i64)
        .map(|k| k as f64 * step)
        .collect()
}

impl Ticks {
    /// A linear axis over `[lo, hi]` with about `target` labelled ticks.
    pub fn linear(lo: f64, hi: f64, target: usize) -> Ticks {
        Ticks::with_step(lo, hi, nice_step(hi - lo, target))
    }

    /// A linear axis over `[lo, hi]` with ticks every `step` (1, 2 or 5 times a power of
    /// ten), and four or five fainter lines between two ticks.
    pub fn with_step(lo: f64, hi: f64, step: f64) -> Ticks {
        let mantissa = (step / 10f64.powf(step.log10().floor())).round();
        let parts = if mantissa == 2.0 { 4.0 } else { 5.0 };
        let major = multiples(lo, hi, step);
        let minor = multiples(lo, hi, step / parts)
            .into_iter()
            .filter(|v| major.iter().all(|m| (m - v).abs() > step * 1e-6))
            .collect();
        Ticks {
            major,
            minor,
            log: false,
            decimals: (-(step.log10() + 1e-9).floor()).max(0.0) as usize,
        }
    }

    /// A linear axis of whole numbers (epochs) over `[lo, hi]`: a tick on every whole
    /// number, or every 2, 5, 10, … when there would be more than `most`.
    pub fn whole(lo: f64, hi: f64, most: usize) -> Ticks {
        let step = nice_step(hi - lo, most.max(2) - 1).max(1.0);
        let major = multiples(lo, hi, step);
        let minor = if step > 1.0 {
            multiples(lo, hi, 1.0)
                .into_iter()
                .filter(|v| !major.contains(v))
                .collect()
        } else {
            Vec::new()
        };
        Ticks {
            major,
            minor,
            log: false,
            decimals: 0,
        }
    }

    /// A logarithmic axis over the values `[lo, hi]` (both positive): ticks at 1, 2 and 5
    /// times the powers of ten; at every 1…9 times them when that leaves fewer than three
    /// (a range under a decade); at the powers of ten alone when it leaves more than ten.
    /// The fainter lines fall on the other 1…9 multiples.
    pub fn log(lo: f64, hi: f64) -> Ticks {
        let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        let within = |mantissas: &[f64]| -> Vec<f64> {
            (d0..=d1)
                .flat_map(|d| mantissas.iter().map(move |m| m * 10f64.powi(d)))
                .filter(|&v| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
                .collect()
        };
        let all = within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let mut major = within(&[1.0, 2.0, 5.0]);
        if major.len() < 3 {
            major = all.clone();
        } else if major.len() > 10 {
            major = within(&[1.0]);
        }
        let minor = all.into_iter().filter(|v| !major.contains(v)).collect();
        let log10 = |v: Vec<f64>| v.into_iter().map(f64::log10).collect();
        Ticks {
            major: log10(major),
            minor: log10(minor),
            log: true,
            decimals: 0,
        }
    }

    /// Ticks exactly at `values` (e.g. the code sizes a chart measured), given in value
    /// units; on a logarithmic axis when `log`.
    pub fn at(values: &[f64], log: bool) -> Ticks {
        let major = values
            .iter()
            .map(|&v| if log { v.log10() } else { v })
            .collect();
        Ticks {
            major,
            minor: Vec::new(),
            log,
            decimals: usize::MAX,
        }
    }

    /// The axis `range` (in drawn units) ticked by these ticks.
    pub fn over(&self, range: Range<f64>) -> Ticked {
        Ticked {
            range,
            ticks: self.clone(),
        }
    }

    /// The label of the tick at `v` (in drawn units): a log axis' value in its shortest
    /// form (`0.02`, `0.1`, `200`); a linear axis' with the axis' decimals (`0.0`, `0.2`).
    pub fn label(&self, v: f64) -> String {
        if self.log {
            return shortest(10f64.powf(v));
        }
        if self.decimals == usize::MAX {
            return shortest(v);
        }
        // No "-0.0": a tick at zero may come out of k·step as −0.
        let v = if v.abs() < 1e-12 { 0.0 } else { v };
        format!("{v:.*}", self.decimals)
    }
}

/// An axis range for `plotters` that ticks where its [`Ticks`] say (bold grid lines and
/// labels at the major ticks, light lines at the minor ones).
#[derive(Clone, Debug)]
pub struct Ticked {
    /// The range drawn, in drawn units.
    pub range: Range<f64>,
    /// Its ticks.
    pub ticks: Ticks,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.ticks.minor.clone()
        } else {
            self.ticks.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// `v` rounded to three significant digits, written with no trailing zeros: `0.02`,
/// `0.0158`, `64`.
pub fn shortest(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let rounded: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &Ticks) -> Vec<String> {
        t.major.iter().map(|&v| t.label(v)).collect()
    }

    #[test]
    fn a_log_axis_labels_one_two_five() {
        // The loss charts' range: no 0.0158, 0.0251, 0.0398.
        let t = Ticks::log(0.0085, 0.07);
        assert_eq!(labels(&t), ["0.01", "0.02", "0.05"]);
        assert!(
            t.minor
                .iter()
                .any(|&v| (10f64.powf(v) - 0.03).abs() < 1e-12)
        );
        // Under a decade: every multiple, so that at least three labels show.
        assert_eq!(labels(&Ticks::log(0.012, 0.045)), ["0.02", "0.03", "0.04"]);
        // Over many decades: the powers of ten alone.
        assert_eq!(
            labels(&Ticks::log(1e-6, 1.0)),
            ["0.000001", "0.00001", "0.0001", "0.001", "0.01", "0.1", "1"]
        );
    }

    #[test]
    fn a_linear_axis_steps_by_one_two_or_five_with_even_decimals() {
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(2.47 - 0.65, 8), 0.5);
        assert_eq!(nice_step(300.0, 6), 50.0);
        let t = Ticks::linear(-0.05, 1.05, 6);
        assert_eq!(labels(&t), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        // Fainter lines every 0.05: 23 multiples in [−0.05, 1.05], 6 of them labelled.
        assert_eq!(t.minor.len(), 17);
        assert_eq!(labels(&Ticks::linear(150.0, 295.0, 8)), {
            ["160", "180", "200", "220", "240", "260", "280"]
        });
        assert_eq!(labels(&Ticks::linear(-2.6, 3.1, 7)), {
            ["-2", "-1", "0", "1", "2", "3"]
        });
    }

    #[test]
    fn whole_numbers_and_given_values() {
        assert_eq!(labels(&Ticks::whole(1.0, 10.0, 11)).len(), 10);
        assert_eq!(labels(&Ticks::whole(1.0, 2.0, 11)), ["1", "2"]);
        assert_eq!(labels(&Ticks::whole(1.0, 40.0, 11)), {
            ["5", "10", "15", "20", "25", "30", "35", "40"]
        });
        let k = Ticks::at(&[2.0, 8.0, 32.0, 64.0], true);
        assert_eq!(labels(&k), ["2", "8", "32", "64"]);
        assert_eq!(shortest(0.012345), "0.0123");
        assert_eq!(shortest(0.099_999), "0.1");
    }
}
