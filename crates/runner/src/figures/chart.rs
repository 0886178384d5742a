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
    /// A logarithmic y axis when the values span more than a factor 8 (losses).
    pub log_y: bool,
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
        // The x axis counts epochs: label whole numbers only.
        let x_ticks = ((x1 - x0).round() as usize + 1).clamp(2, 11);
        let whole = |v: &f64| {
            if (v - v.round()).abs() < 1e-6 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (860, 520)).into_drawing_area();
            let err = |e: DrawingAreaErrorKind<_>| format!("chart {:?}: {e:?}", self.title);
            root.fill(&WHITE).map_err(err)?;
            let mut builder = ChartBuilder::on(&root);
            builder
                .caption(&self.title, ("sans-serif", 20))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(80);
            // A log axis labels only decades and a few values between them: over a narrow
            // range a linear axis says more.
            if self.log_y && y1 / y0 > 8.0 {
                let (lo, hi) = (y0 / 1.15, y1 * 1.15);
                let mut chart = builder
                    .build_cartesian_2d(x0..x1, (lo..hi).log_scale())
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .x_desc(&self.x_label)
                    .y_desc(&self.y_label)
                    .x_labels(x_ticks)
                    .x_label_formatter(&whole)
                    .y_label_formatter(&|v| format!("{v:.3}"))
                    .y_labels(8)
                    .light_line_style(WHITE.mix(0.0))
                    .draw()
                    .map_err(err)?;
                self.draw_lines(&mut chart).map_err(err)?;
                legend(&mut chart).map_err(err)?;
            } else {
                let pad = (y1 - y0).max(1e-9) * 0.05;
                let mut chart = builder
                    .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .x_desc(&self.x_label)
                    .y_desc(&self.y_label)
                    .x_labels(x_ticks)
                    .x_label_formatter(&whole)
                    .draw()
                    .map_err(err)?;
                self.draw_lines(&mut chart).map_err(err)?;
                legend(&mut chart).map_err(err)?;
            }
            root.present().map_err(err)?;
        }
        Ok(svg)
    }

    /// Writes the chart as an SVG file (atomically).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let svg = self.to_svg()?;
        write_atomic(path, svg.as_bytes())
    }

    fn draw_lines<'a, DB, X, Y>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
    where
        DB: DrawingBackend + 'a,
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>,
    {
        for s in &self.series {
            let colour = TAB10[s.colour % TAB10.len()];
            let style = colour.stroke_width(2);
            let points = s.points.iter().copied().filter(|(_, y)| y.is_finite());
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?
            } else {
                chart.draw_series(LineSeries::new(points, style))?
            };
            let dashed = s.dashed;
            drawn.label(&s.label).legend(move |(x, y)| {
                let end = if dashed { x + 8 } else { x + 22 };
                PathElement::new(vec![(x, y), (end, y)], colour.stroke_width(2))
            });
        }
        Ok(())
    }
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
    }
}
