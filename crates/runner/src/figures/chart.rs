//! Line charts as SVG files, drawn with `plotters` (its SVG backend writes text as SVG
//! `<text>` elements, so no font files are needed): one y axis with ticks a reader can read
//! ([`super::ticks`]), markers on curves of a few points, dotted reference lines for the
//! values the text cites, and a legend that hides no line ([`super::legend`]).

use std::path::Path;

use plotters::prelude::*;

use super::legend::{DASH, DOTS, Entry, Legend, Marker, REFERENCE_GREY, Rect, Sample, free_corner};
use super::ticks::Ticks;
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
    /// Index into [`TAB10`]; it also picks the series' marker.
    pub colour: usize,
    /// Dashed (e.g. training loss) rather than solid (test loss).
    pub dashed: bool,
    /// A marker on every point: for curves of a few measured points (epochs, code sizes),
    /// where a bare line would hide where the measurements are.
    pub markers: bool,
}

/// A horizontal line at a value the text cites (a loss at chance), named on the y axis by
/// `tick` and in the legend by `label`.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The value.
    pub y: f64,
    /// Its short name on the y axis, e.g. `ln 4`.
    pub tick: String,
    /// What it is, in the legend.
    pub label: String,
}

impl Reference {
    /// The line at `y`, named `tick` on the axis and `label` in the legend.
    pub fn new(y: f64, tick: &str, label: &str) -> Reference {
        Reference {
            y,
            tick: tick.into(),
            label: label.into(),
        }
    }
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
    /// A logarithmic x axis (code sizes that double); ticks at the measured x values when
    /// there are few of them.
    pub log_x: bool,
    /// Label only whole numbers on the x axis (epochs).
    pub x_whole: bool,
    /// The lines.
    pub series: Vec<Series>,
    /// Reference lines, drawn dotted under the data.
    pub references: Vec<Reference>,
}

/// Curves of at most this many points (epochs, code sizes) get a marker on every point.
pub const MARKED_UP_TO: usize = 12;

/// The chart's size in pixels, without a legend under it.
const SIZE: (u32, u32) = (860, 520);
/// The chart's margin, on every side.
const MARGIN: u32 = 16;
/// At most this many distinct x values get a tick each on a logarithmic x axis.
const TICKED_VALUES: usize = 12;

impl LineChart {
    /// The chart as an SVG document: the legend in the first corner of the plot that no
    /// line crosses, or under the chart, in as many columns as fit, when there is none.
    pub fn to_svg(&self) -> Result<String, String> {
        match self.draw(false)? {
            Some(svg) => Ok(svg),
            None => self
                .draw(true)?
                .ok_or_else(|| format!("chart {:?}: no room for the legend", self.title)),
        }
    }

    /// The y axis' label area, in pixels: wider when reference values name their ticks.
    fn y_label_area(&self) -> u32 {
        if self.references.is_empty() { 80 } else { 96 }
    }

    /// The chart with its legend inside the plot (`None` when every corner is crossed by
    /// a line) or, when `under`, below the chart.
    fn draw(&self, under: bool) -> Result<Option<String>, String> {
        let (log_x, log_y) = (self.log_x, self.log_y);
        let drawable = |&(x, y): &(f64, f64)| {
            x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0)
        };
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in self
            .series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|p| drawable(p))
        {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            return Err(format!("chart {:?}: no finite point to draw", self.title));
        }
        for r in self.references.iter().filter(|r| !log_y || r.y > 0.0) {
            (y0, y1) = (y0.min(r.y), y1.max(r.y));
        }
        // Over less than a factor 3 a plain linear axis says more than a log one.
        let log = log_y && y1 / y0 > 3.0;
        let map_y = move |y: f64| if log { y.log10() } else { y };
        let map_x = move |x: f64| if log_x { x.log10() } else { x };
        let (mut xlo, mut xhi) = (map_x(x0), map_x(x1));
        if xlo == xhi {
            (xlo, xhi) = (xlo - 0.5, xhi + 0.5);
        }
        // Markers at the ends of the x range would straddle the axes: a little room.
        let x_pad = if self.series.iter().any(|s| s.markers) {
            (xhi - xlo) * 0.03
        } else {
            0.0
        };
        let (xlo, xhi) = (xlo - x_pad, xhi + x_pad);
        let (lo, hi) = (map_y(y0), map_y(y1));
        let pad = (hi - lo).max(1e-9) * 0.05;
        let (ylo, yhi) = (lo - pad, hi + pad);

        let x_ticks = if log_x {
            let mut xs: Vec<f64> = self
                .series
                .iter()
                .flat_map(|s| &s.points)
                .filter(|p| drawable(p))
                .map(|p| p.0)
                .collect();
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            if xs.len() <= TICKED_VALUES {
                Ticks::at(&xs, true)
            } else {
                Ticks::log(10f64.powf(xlo), 10f64.powf(xhi))
            }
        } else if self.x_whole {
            Ticks::whole(xlo, xhi, 11)
        } else {
            Ticks::linear(xlo, xhi, 10)
        };
        let mut y_ticks = if log {
            Ticks::log(10f64.powf(ylo), 10f64.powf(yhi))
        } else {
            Ticks::linear(ylo, yhi, 8)
        };
        // Each reference value is a tick of its own, named; plain ticks too close to one
        // give way, so that no two labels overlap.
        let references: Vec<(f64, &Reference)> = self
            .references
            .iter()
            .filter(|r| !log || r.y > 0.0)
            .map(|r| (map_y(r.y), r))
            .collect();
        let near = (yhi - ylo) * 0.07;
        y_ticks
            .major
            .retain(|v| references.iter().all(|(r, _)| (r - v).abs() > near));
        y_ticks.major.extend(references.iter().map(|(r, _)| *r));
        let y_label = |v: &f64| {
            references
                .iter()
                .find(|(r, _)| (r - v).abs() < 1e-12)
                .map_or_else(|| y_ticks.label(*v), |(_, r)| r.tick.clone())
        };
        let x_label = |v: &f64| x_ticks.label(*v);

        let legend = Legend::new(
            self.series
                .iter()
                .map(|s| Entry {
                    label: s.label.clone(),
                    sample: Sample::Line {
                        colour: TAB10[s.colour % TAB10.len()],
                        dashed: s.dashed,
                        marker: s.markers.then(|| marker(s.colour)),
                    },
                })
                .chain(references.iter().map(|(_, r)| Entry {
                    label: r.label.clone(),
                    sample: Sample::Reference,
                }))
                .collect(),
        );
        // Under the chart: as many columns as its width holds (a model's two curves side by
        // side when there are two per model).
        let legend = if under {
            legend.fitted((SIZE.0 - 2 * MARGIN) as i32, 3)
        } else {
            legend
        };
        let (legend_w, legend_h) = legend.size();
        let (width, height) = if under {
            (
                SIZE.0.max(legend_w as u32 + 2 * MARGIN),
                SIZE.1 + legend_h as u32 + MARGIN,
            )
        } else {
            SIZE
        };

        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let err = |e: DrawingAreaErrorKind<_>| format!("chart {:?}: {e:?}", self.title);
            root.fill(&WHITE).map_err(err)?;
            let main = if under {
                root.split_vertically(SIZE.1).0
            } else {
                root.clone()
            };
            let y_desc = if log {
                format!("{} (log scale)", self.y_label)
            } else {
                self.y_label.clone()
            };
            let x_desc = if log_x {
                format!("{} (log scale)", self.x_label)
            } else {
                self.x_label.clone()
            };
            let mut chart = ChartBuilder::on(&main)
                .caption(&self.title, ("sans-serif", 20))
                .margin(MARGIN)
                .x_label_area_size(48)
                .y_label_area_size(self.y_label_area())
                .build_cartesian_2d(x_ticks.over(xlo..xhi), y_ticks.over(ylo..yhi))
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .x_label_formatter(&x_label)
                .y_label_formatter(&y_label)
                .bold_line_style(RGBColor(200, 200, 200))
                .light_line_style(RGBColor(238, 238, 238))
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 15))
                .draw()
                .map_err(err)?;
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            let plot = Rect {
                x0: xs.start,
                y0: ys.start,
                x1: xs.end,
                y1: ys.end,
            };
            // What the legend must not cover, in pixels: every line, reference or data.
            let mut ink: Vec<Vec<(i32, i32)>> = Vec::new();
            for &(r, _) in &references {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(xlo, r), (xhi, r)],
                        DOTS.0,
                        DOTS.1,
                        REFERENCE_GREY.stroke_width(2),
                    ))
                    .map_err(err)?;
                ink.push(vec![
                    (plot.x0, chart.backend_coord(&(xlo, r)).1),
                    (plot.x1, chart.backend_coord(&(xhi, r)).1),
                ]);
            }
            for s in &self.series {
                let colour = TAB10[s.colour % TAB10.len()];
                let style = colour.stroke_width(2);
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .filter(|p| drawable(p))
                    .map(|&(x, y)| (map_x(x), map_y(y)))
                    .collect();
                ink.push(points.iter().map(|p| chart.backend_coord(p)).collect());
                if s.dashed {
                    chart.draw_series(DashedLineSeries::new(points, DASH.0, DASH.1, style))
                } else {
                    chart.draw_series(LineSeries::new(points, style))
                }
                .map_err(err)?;
            }
            // Markers last, over every line, so that no curve hides another's points.
            for s in self.series.iter().filter(|s| s.markers) {
                let colour = TAB10[s.colour % TAB10.len()];
                for &(x, y) in s.points.iter().filter(|p| drawable(p)) {
                    let at = chart.backend_coord(&(map_x(x), map_y(y)));
                    marker(s.colour).draw(&root, at, colour).map_err(err)?;
                }
            }
            let size = legend.size();
            let at = if under {
                // Under the plot, aligned with it when it fits, else with the margin.
                let left = plot.x0.min(width as i32 - MARGIN as i32 - size.0);
                (left.max(MARGIN as i32), SIZE.1 as i32)
            } else {
                match free_corner(plot, size, &ink) {
                    Some(at) => at,
                    None => return Ok(None),
                }
            };
            legend.draw(&root, at).map_err(err)?;
            root.present().map_err(err)?;
        }
        Ok(Some(svg))
    }

    /// Writes the chart as an SVG file (atomically).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let svg = self.to_svg()?;
        write_atomic(path, svg.as_bytes())
    }
}

/// The marker of the series in colour `colour`: one shape per colour, so that a model's
/// train and test curves share it.
fn marker(colour: usize) -> Marker {
    Marker::ALL[colour % Marker::ALL.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: &[(f64, f64)], colour: usize, dashed: bool) -> Series {
        Series {
            label: label.into(),
            points: points.to_vec(),
            colour,
            dashed,
            markers: false,
        }
    }

    fn loss_chart() -> LineChart {
        LineChart {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "MSE per pixel".into(),
            log_y: true,
            log_x: false,
            x_whole: true,
            series: vec![
                series(
                    "dense train",
                    &[(1.0, 0.07), (2.0, 0.03), (3.0, 0.009)],
                    0,
                    true,
                ),
                series(
                    "dense test",
                    &[(1.0, 0.06), (2.0, 0.02), (3.0, 0.008)],
                    0,
                    false,
                ),
            ],
            references: vec![],
        }
    }

    #[test]
    fn draws_titled_axes_a_legend_and_one_two_five_log_ticks() {
        let chart = loss_chart();
        let svg = chart.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in [
            "epoch",
            "MSE per pixel (log scale)",
            "dense train",
            "dense test",
            "loss",
            "\n0.01\n",
            "\n0.02\n",
            "\n0.05\n",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // No tick at an evenly spaced ratio, and one y axis: each label once (plotters
        // writes a text's content on a line of its own).
        assert!(!svg.contains("0.0158") && !svg.contains("0.0251"));
        assert_eq!(svg.matches("\n0.02\n").count(), 1);
        let empty = LineChart {
            series: vec![],
            ..chart
        };
        assert!(empty.to_svg().is_err());
    }

    #[test]
    fn short_curves_get_a_marker_on_every_point_and_in_the_legend() {
        let mut chart = loss_chart();
        assert_eq!(chart.to_svg().unwrap().matches("<circle").count(), 0);
        // The test curve (colour 0: discs) marked: three points and its legend sample.
        chart.series[1].markers = true;
        assert_eq!(chart.to_svg().unwrap().matches("<circle").count(), 3 + 1);
    }

    #[test]
    fn reference_lines_are_named_on_the_axis_and_in_the_legend() {
        let mut chart = loss_chart();
        chart.log_y = false;
        chart.references.push(Reference::new(
            4f64.ln(),
            "ln 4",
            "ln 4: discriminator at chance",
        ));
        let svg = chart.to_svg().unwrap();
        assert!(svg.contains("\nln 4\n") && svg.contains("discriminator at chance"));
    }

    #[test]
    fn the_legend_moves_under_the_chart_when_lines_cross_every_corner() {
        let height = |svg: &str| svg.contains(&format!("height=\"{}\"", SIZE.1));
        // Falling curves leave a corner free: the legend stays inside.
        assert!(height(&loss_chart().to_svg().unwrap()));
        let mut crossed = loss_chart();
        crossed.log_y = false;
        crossed.series = vec![
            series("rising", &[(0.0, 0.0), (1.0, 1.0)], 0, false),
            series("falling", &[(0.0, 1.0), (1.0, 0.0)], 1, false),
        ];
        let svg = crossed.to_svg().unwrap();
        assert!(!height(&svg), "{}", &svg[..80]);
        assert!(svg.contains("rising") && svg.contains("falling"));
    }
}
