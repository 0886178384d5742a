//! Line charts as SVG files, drawn with `plotters` (its SVG backend writes text as SVG
//! `<text>` elements, so no font files are needed).

use std::path::Path;

use plotters::prelude::*;

use crate::fsutil::write_atomic;

/// Ten colours that stay distinct from one another (matplotlib's "tab10").
pub const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its name in the legend.
    pub label: String,
    /// `(x, y)` points, in order of x.
    pub points: Vec<(f64, f64)>,
    /// Index into [`TAB10`].
    pub colour: usize,
    /// Dashed (e.g. training loss) rather than solid (test loss).
    pub dashed: bool,
}

/// A chart of lines sharing two axes.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Title above the plot: what was trained on what.
    pub title: String,
    /// The x axis' title, with its unit.
    pub x_label: String,
    /// The y axis' title, with its unit.
    pub y_label: String,
    /// A logarithmic y axis when the values span more than a factor 3 (losses).
    pub log_y: bool,
    /// Label only whole numbers on the x axis (epochs, code sizes); otherwise two decimals.
    pub x_whole: bool,
    /// The lines.
    pub series: Vec<Series>,
}

impl LineChart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> Result<String, String> {
        let points = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in points {
            if !x.is_finite() || !y.is_finite() || (self.log_y && y <= 0.0) {
                continue;
            }
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            return Err(format!("chart {:?}: no finite point to draw", self.title));
        }
        if x0 == x1 {
            (x0, x1) = (x0 - 0.5, x1 + 0.5);
        }
        // A log axis is drawn as a linear axis over log10(y), labelled with 10^v: the ticks
        // then fall at evenly spaced ratios (0.010, 0.016, 0.025, ...) whatever the range,
        // where a decade-based log axis may show a single label. Over less than a factor 3
        // a plain linear axis says more.
        let log = self.log_y && y1 / y0 > 3.0;
        let map = move |y: f64| if log { y.log10() } else { y };
        let (lo, hi) = (map(y0), map(y1));
        let pad = (hi - lo).max(1e-9) * 0.05;
        // Whole-number axes (epochs) get a label per whole number, up to 11.
        let x_ticks = if self.x_whole {
            ((x1 - x0).round() as usize + 1).clamp(2, 11)
        } else {
            11
        };
        let x_whole = self.x_whole;
        let whole = move |v: &f64| {
            if !x_whole {
                format!("{v:.2}")
            } else if (v - v.round()).abs() < 1e-6 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        };
        let y_value = move |v: &f64| significant(if log { 10f64.powf(*v) } else { *v });
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (860, 520)).into_drawing_area();
            let err = |e: DrawingAreaErrorKind<_>| format!("chart {:?}: {e:?}", self.title);
            root.fill(&WHITE).map_err(err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", 20))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(80)
                .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))
                .map_err(err)?;
            let y_desc = if log {
                format!("{} (log scale)", self.y_label)
            } else {
                self.y_label.clone()
            };
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(y_desc)
                .x_labels(x_ticks)
                .x_label_formatter(&whole)
                .y_labels(8)
                .y_label_formatter(&y_value)
                .draw()
                .map_err(err)?;
            for s in &self.series {
                let colour = TAB10[s.colour % TAB10.len()];
                let style = colour.stroke_width(2);
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .filter(|(_, y)| y.is_finite() && (!log || *y > 0.0))
                    .map(|&(x, y)| (x, map(y)))
                    .collect();
                let drawn = if s.dashed {
                    chart.draw_series(DashedLineSeries::new(points, 6, 4, style))
                } else {
                    chart.draw_series(LineSeries::new(points, style))
                }
                .map_err(err)?;
                let dashed = s.dashed;
                drawn.label(&s.label).legend(move |(x, y)| {
                    let end = if dashed { x + 8 } else { x + 22 };
                    PathElement::new(vec![(x, y), (end, y)], colour.stroke_width(2))
                });
            }
            legend(&mut chart).map_err(err)?;
            root.present().map_err(err)?;
        }
        Ok(svg)
    }

    /// Writes the chart as an SVG file (atomically).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let svg = self.to_svg()?;
        write_atomic(path, svg.as_bytes())
    }
}

/// `v` with three significant digits: `0.0123`, `0.150`, `12.3`.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    // Round to three significant digits first, so 0.09999 counts as 0.100, not 0.0999…
    let rounded: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    let decimals = (2 - rounded.abs().log10().floor() as i32).max(0) as usize;
    format!("{rounded:.decimals$}")
}

/// The legend box, top right.
fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_titled_axes_and_a_legend() {
        let chart = LineChart {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "MSE per pixel".into(),
            log_y: true,
            x_whole: true,
            series: vec![
                Series {
                    label: "dense train".into(),
                    points: vec![(1.0, 0.05), (2.0, 0.03)],
                    colour: 0,
                    dashed: true,
                },
                Series {
                    label: "dense test".into(),
                    points: vec![(1.0, 0.04), (2.0, 0.02)],
                    colour: 0,
                    dashed: false,
                },
            ],
        };
        let svg = chart.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in [
            "epoch",
            "MSE per pixel",
            "dense train",
            "dense test",
            "loss",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        let empty = LineChart {
            series: vec![],
            ..chart
        };
        assert!(empty.to_svg().is_err());
        assert_eq!(significant(0.012345), "0.0123");
        assert_eq!(significant(0.15), "0.150");
        assert_eq!(significant(12.34), "12.3");
        assert_eq!(significant(0.099_999), "0.100");
    }
}
