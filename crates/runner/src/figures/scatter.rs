//! Scatter plots of 2-D codes as SVG files, drawn with `plotters`: the test set's codes
//! coloured by digit, optionally over grey samples of a prior, on one scale for both axes,
//! with the legend beside the plot.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::TAB10;
use super::legend::{Entry, Legend, Sample};
use super::ticks::{Ticks, nice_step};
use crate::data::identity::DataIdentity;
use crate::fsutil::write_atomic;

/// One set of points sharing a colour and a legend entry.
#[derive(Clone, Debug)]
pub struct PointSet {
    /// Its name in the legend.
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Index into [`TAB10`], or `None` for light grey (a background such as prior samples).
    pub colour: Option<usize>,
}

/// A scatter plot.
#[derive(Clone, Debug)]
pub struct ScatterChart {
    /// Title above the plot.
    pub title: String,
    /// The x axis' title.
    pub x_label: String,
    /// The y axis' title.
    pub y_label: String,
    /// The sets, drawn in order (backgrounds first).
    pub sets: Vec<PointSet>,
}

/// The width of the scatter's frame (title, axes, plot), left of its legend, and its height.
const FRAME: (u32, u32) = (660, 700);

/// The frame of a scatter plot on `area`: title, margins and the two axes' label areas.
fn frame<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &'b str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(56);
    builder
}

impl ScatterChart {
    /// The chart as an SVG document. The axes cover the points' range (the non-finite ones
    /// left out) with a 5 % margin, at the same number of pixels per unit on both, so that
    /// distances read true; one y axis; the legend beside the plot, where it hides none of
    /// the points.
    pub fn to_svg(&self) -> Result<String, String> {
        let finite = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
        let all: Vec<&(f64, f64)> = self
            .sets
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(finite)
            .collect();
        if all.is_empty() {
            return Err(format!("chart {:?}: no finite point to draw", self.title));
        }
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &&(x, y) in &all {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let err = |e: DrawingAreaErrorKind<_>| format!("chart {:?}: {e:?}", self.title);
        // The plot's size in pixels, from a frame drawn on scratch.
        let (plot_w, plot_h) = {
            let mut scratch = String::new();
            let area = SVGBackend::with_string(&mut scratch, FRAME).into_drawing_area();
            let chart = frame(&area, &self.title)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .map_err(err)?;
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            (xs.len().max(1) as f64, ys.len().max(1) as f64)
        };
        // One scale for both axes: the wider range, centred on each axis' middle; the axis
        // with more pixels covers proportionally more.
        let half = ((x1 - x0).max(y1 - y0).max(1e-9) / 2.0) * 1.05;
        let (half_x, half_y) = if plot_w >= plot_h {
            (half * plot_w / plot_h, half)
        } else {
            (half, half * plot_h / plot_w)
        };
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let step = nice_step(2.0 * half_x.max(half_y), 8);
        let x_ticks = Ticks::with_step(cx - half_x, cx + half_x, step);
        let y_ticks = Ticks::with_step(cy - half_y, cy + half_y, step);
        let colour_of = |set: &PointSet| match set.colour {
            Some(i) => TAB10[i % TAB10.len()].mix(0.75),
            None => RGBColor(190, 190, 190).mix(0.6),
        };
        let legend = Legend::new(
            self.sets
                .iter()
                .map(|set| Entry {
                    label: set.label.clone(),
                    sample: Sample::Dot(colour_of(set)),
                })
                .collect(),
        );
        let width = FRAME.0 + legend.size().0 as u32 + 16;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, FRAME.1)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let (main, _) = root.split_horizontally(FRAME.0);
            let mut chart = frame(&main, &self.title)
                .build_cartesian_2d(
                    x_ticks.over((cx - half_x)..(cx + half_x)),
                    y_ticks.over((cy - half_y)..(cy + half_y)),
                )
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .x_label_formatter(&|v| x_ticks.label(*v))
                .y_label_formatter(&|v| y_ticks.label(*v))
                .bold_line_style(RGBColor(200, 200, 200))
                .light_line_style(RGBColor(238, 238, 238))
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 15))
                .draw()
                .map_err(err)?;
            for set in &self.sets {
                let colour = colour_of(set);
                let points: Vec<(f64, f64)> =
                    set.points.iter().filter(|p| finite(p)).copied().collect();
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 2, colour.filled())),
                    )
                    .map_err(err)?;
            }
            let top = chart.plotting_area().get_pixel_range().1.start;
            legend.draw(&root, (FRAME.0 as i32, top)).map_err(err)?;
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

/// Points of 2-D `codes` (`x0, y0, x1, y1, …`) grouped by `labels`, one set per class,
/// each named as `data` names it ("digit 3", "Ankle boot").
pub fn by_class(codes: &[f32], labels: &[u8], data: &DataIdentity) -> Vec<PointSet> {
    (0..10u8)
        .map(|d| PointSet {
            label: data.class_label(d),
            points: codes
                .chunks_exact(2)
                .zip(labels)
                .filter(|&(_, &l)| l == d)
                .map(|(c, _)| (c[0] as f64, c[1] as f64))
                .collect(),
            colour: Some(d as usize),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_set_with_a_legend_on_one_scale() {
        let mut sets = vec![PointSet {
            label: "prior".into(),
            points: vec![(-3.0, 0.0), (3.0, 0.5)],
            colour: None,
        }];
        let mnist = DataIdentity::default();
        sets.extend(by_class(
            &[0.0, 1.0, 1.0, 0.0, 2.0, 2.0],
            &[0, 1, 1],
            &mnist,
        ));
        let chart = ScatterChart {
            title: "codes".into(),
            x_label: "z₁".into(),
            y_label: "z₂".into(),
            sets,
        };
        let svg = chart.to_svg().unwrap();
        for text in ["codes", "z₁", "z₂", "prior", "digit 0", "digit 9"] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // 2 prior points + 3 codes, and one legend mark for each of the 11 sets.
        assert_eq!(svg.matches("<circle").count(), 5 + 11);
        // One y axis, named once; the legend beside the frame, the canvas wider than it.
        assert_eq!(svg.matches("z₂").count(), 1);
        assert!(!svg.contains(&format!("width=\"{}\"", FRAME.0)));
        let empty = ScatterChart {
            sets: vec![],
            ..chart
        };
        assert!(empty.to_svg().is_err());
    }
}
