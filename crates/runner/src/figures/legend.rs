//! Legends drawn where they hide no data: in a corner of the plot that no line or point
//! crosses, or outside the plot when every corner is taken; and the point markers that both
//! a chart and its legend draw.
//!
//! The legend is drawn by hand (a box, a sample of each line or point, its label) rather
//! than by `plotters`' series labels, so that its size is known before it is placed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The legend's font size as given to `plotters`, which writes it to the SVG divided by
/// 1.24 (so 16 is drawn at 12.9 pixels).
const FONT: u32 = 16;
/// The font's size in the SVG, in pixels.
const FONT_PIXELS: f64 = FONT as f64 / 1.24;
/// Height of one entry.
const ROW: i32 = 20;
/// Width of an entry's sample (a line segment, a marker, a dot).
const SAMPLE: i32 = 30;
/// Space around the entries inside the box, and between a sample and its label.
const PAD: i32 = 8;
/// Average width of a character of the sans-serif font, as a share of its size: a little
/// over DejaVu Sans' average on these labels (about 0.5), so that the box holds them.
const CHAR_WIDTH: f64 = 0.56;

/// The shape drawn at each point of a short curve, so that each point shows and two
/// curves through the same point both stay visible (open shapes of different sizes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A filled disc, the smallest.
    Disc,
    /// An open square.
    Square,
    /// An open triangle, point up.
    Triangle,
    /// An open diamond.
    Diamond,
    /// A cross (×).
    Cross,
}

impl Marker {
    /// The markers in the order charts hand them out.
    pub const ALL: [Marker; 5] = [
        Marker::Disc,
        Marker::Square,
        Marker::Triangle,
        Marker::Diamond,
        Marker::Cross,
    ];

    /// Draws the marker centred on the pixel `(x, y)` of `area`.
    pub fn draw<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        (x, y): (i32, i32),
        colour: RGBColor,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let open = colour.stroke_width(2);
        match self {
            Marker::Disc => area.draw(&Circle::new((x, y), 4, colour.filled())),
            Marker::Square => area.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], open)),
            Marker::Triangle => area.draw(&PathElement::new(
                vec![(x, y - 7), (x + 6, y + 4), (x - 6, y + 4), (x, y - 7)],
                open,
            )),
            Marker::Diamond => area.draw(&PathElement::new(
                vec![(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y), (x, y - 7)],
                open,
            )),
            Marker::Cross => {
                area.draw(&PathElement::new(
                    vec![(x - 5, y - 5), (x + 5, y + 5)],
                    open,
                ))?;
                area.draw(&PathElement::new(
                    vec![(x - 5, y + 5), (x + 5, y - 5)],
                    open,
                ))
            }
        }
    }
}

/// What an entry shows left of its label.
#[derive(Clone, Copy, Debug)]
pub enum Sample {
    /// A line in `colour`, solid or dashed, with the series' marker if it has one.
    Line {
        /// The line's colour.
        colour: RGBColor,
        /// Dashed rather than solid.
        dashed: bool,
        /// Its points' marker.
        marker: Option<Marker>,
    },
    /// A dotted grey line: a reference value.
    Reference,
    /// A dot of a scatter plot.
    Dot(RGBAColor),
}

/// One line of a legend.
#[derive(Clone, Debug)]
pub struct Entry {
    /// What the entry names.
    pub label: String,
    /// Its sample.
    pub sample: Sample,
}

/// A legend: a white box of entries, in one column or several.
#[derive(Clone, Debug)]
pub struct Legend {
    /// Its entries, row by row (left to right, then top to bottom).
    pub entries: Vec<Entry>,
    /// Columns of entries (1: one entry per line).
    pub columns: usize,
}

/// A rectangle of pixels, `[x0, x1) × [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x0: i32,
    /// Top edge.
    pub y0: i32,
    /// Right edge.
    pub x1: i32,
    /// Bottom edge.
    pub y1: i32,
}

impl Rect {
    /// Whether the pixel `(x, y)` lies within `margin` pixels of the rectangle.
    fn near(&self, (x, y): (i32, i32), margin: i32) -> bool {
        x >= self.x0 - margin
            && x < self.x1 + margin
            && y >= self.y0 - margin
            && y < self.y1 + margin
    }
}

/// The dash pattern of a dashed line, in pixels: on, off.
pub const DASH: (u32, u32) = (6, 4);
/// The dash pattern of a reference line.
pub const DOTS: (u32, u32) = (2, 4);
/// The grey of reference lines.
pub const REFERENCE_GREY: RGBColor = RGBColor(110, 110, 110);

impl Legend {
    /// A legend of one column.
    pub fn new(entries: Vec<Entry>) -> Legend {
        Legend {
            entries,
            columns: 1,
        }
    }

    /// The width of a column, from the longest label.
    fn column_width(&self) -> i32 {
        let longest = self
            .entries
            .iter()
            .map(|e| e.label.chars().count())
            .max()
            .unwrap_or(0);
        let text = (longest as f64 * FONT_PIXELS * CHAR_WIDTH).ceil() as i32;
        PAD + SAMPLE + PAD + text + PAD
    }

    /// Its size in pixels, `(width, height)`, from its labels' lengths.
    pub fn size(&self) -> (i32, i32) {
        let columns = self.columns.max(1);
        let rows = self.entries.len().div_ceil(columns) as i32;
        (
            self.column_width() * columns as i32,
            PAD + ROW * rows + PAD / 2,
        )
    }

    /// The same legend in as many columns (up to `most`) as fit in `width` pixels.
    pub fn fitted(mut self, width: i32, most: usize) -> Legend {
        let column = self.column_width().max(1);
        self.columns = ((width / column).max(1) as usize)
            .min(most)
            .min(self.entries.len().max(1));
        self
    }

    /// Draws the legend with its top-left corner at the pixel `at` of `area`.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        at: (i32, i32),
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, h) = self.size();
        let (x0, y0) = at;
        let (columns, column_width) = (self.columns.max(1), self.column_width());
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + h)],
            WHITE.filled(),
        ))?;
        area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + h)], BLACK))?;
        let font = TextStyle::from(("sans-serif", FONT).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, entry) in self.entries.iter().enumerate() {
            let (row, column) = ((i / columns) as i32, (i % columns) as i32);
            let y = y0 + PAD + ROW * row + ROW / 2;
            let left = x0 + column * column_width;
            let (a, b) = (left + PAD, left + PAD + SAMPLE);
            match entry.sample {
                Sample::Line {
                    colour,
                    dashed,
                    marker,
                } => {
                    let style = colour.stroke_width(2);
                    if dashed {
                        dashes(area, (a, b), y, DASH, style)?;
                    } else {
                        area.draw(&PathElement::new(vec![(a, y), (b, y)], style))?;
                    }
                    if let Some(m) = marker {
                        m.draw(area, ((a + b) / 2, y), colour)?;
                    }
                }
                Sample::Reference => {
                    dashes(area, (a, b), y, DOTS, REFERENCE_GREY.stroke_width(2))?;
                }
                Sample::Dot(colour) => {
                    area.draw(&Circle::new(((a + b) / 2, y), 4, colour.filled()))?;
                }
            }
            area.draw(&Text::new(entry.label.clone(), (b + PAD, y), font.clone()))?;
        }
        Ok(())
    }
}

/// A horizontal dashed segment from `x0` to `x1` at height `y`, `(on, off)` pixels.
fn dashes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, x1): (i32, i32),
    y: i32,
    (on, off): (u32, u32),
    style: ShapeStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut x = x0;
    while x < x1 {
        let end = (x + on as i32).min(x1);
        area.draw(&PathElement::new(vec![(x, y), (end, y)], style))?;
        x = end + off as i32;
    }
    Ok(())
}

/// Pixels this far from a line or a point count as covered: the half-width of a marker and
/// a little air.
const CLEARANCE: i32 = 8;
/// The legend's distance from the plot's edges.
const INSET: i32 = 10;

/// The top-left corner of a `size` box in the first corner of `plot` (top right, top
/// left, bottom right, bottom left) that no polyline of `ink` (pixel coordinates; a single
/// point for a dot) passes near; `None` when every corner is taken.
pub fn free_corner(plot: Rect, size: (i32, i32), ink: &[Vec<(i32, i32)>]) -> Option<(i32, i32)> {
    let (w, h) = size;
    if w + 2 * INSET > plot.x1 - plot.x0 || h + 2 * INSET > plot.y1 - plot.y0 {
        return None;
    }
    let (left, right) = (plot.x0 + INSET, plot.x1 - INSET - w);
    let (top, bottom) = (plot.y0 + INSET, plot.y1 - INSET - h);
    [(right, top), (left, top), (right, bottom), (left, bottom)]
        .into_iter()
        .find(|&(x, y)| {
            let rect = Rect {
                x0: x,
                y0: y,
                x1: x + w,
                y1: y + h,
            };
            !ink.iter().any(|line| crosses(&rect, line))
        })
}

/// Whether the polyline `line` passes within [`CLEARANCE`] pixels of `rect` (each segment
/// walked in steps of at most 2 pixels).
fn crosses(rect: &Rect, line: &[(i32, i32)]) -> bool {
    if line.len() == 1 {
        return rect.near(line[0], CLEARANCE);
    }
    line.windows(2).any(|pair| {
        let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
        let steps = ((bx - ax).abs().max((by - ay).abs()) / 2).max(1);
        (0..=steps).any(|s| {
            let t = s as f64 / steps as f64;
            let x = ax as f64 + t * (bx - ax) as f64;
            let y = ay as f64 + t * (by - ay) as f64;
            rect.near((x.round() as i32, y.round() as i32), CLEARANCE)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_takes_the_first_corner_no_line_crosses() {
        let plot = Rect {
            x0: 0,
            y0: 0,
            x1: 400,
            y1: 300,
        };
        let size = (100, 60);
        // Nothing drawn: top right.
        assert_eq!(free_corner(plot, size, &[]), Some((290, 10)));
        // A line rising to the top right: top left is free.
        let rising = vec![(0, 300), (400, 0)];
        assert_eq!(
            free_corner(plot, size, std::slice::from_ref(&rising)),
            Some((10, 10))
        );
        // And one falling from the top left: the two cross every corner.
        let falling = vec![(0, 0), (400, 300)];
        assert_eq!(free_corner(plot, size, &[rising, falling]), None);
        // A line across the middle leaves the top right free.
        let middle = vec![(0, 150), (400, 150)];
        assert_eq!(free_corner(plot, size, &[middle]), Some((290, 10)));
        // Points in every corner: none free.
        let dots: Vec<Vec<(i32, i32)>> = [(380, 20), (20, 20), (380, 280), (20, 280)]
            .into_iter()
            .map(|p| vec![p])
            .collect();
        assert_eq!(free_corner(plot, size, &dots), None);
        // A legend wider than the plot never fits.
        assert_eq!(free_corner(plot, (390, 20), &[]), None);
    }

    #[test]
    fn the_box_grows_with_its_longest_label_and_its_entries() {
        let entry = |label: &str| Entry {
            label: label.into(),
            sample: Sample::Reference,
        };
        let one = Legend::new(vec![entry("PCA")]);
        let two = Legend::new(vec![entry("PCA"), entry("linear-code AE")]);
        assert!(two.size().0 > one.size().0);
        assert_eq!(two.size().1 - one.size().1, ROW);
        // Side by side when there is room: twice as wide, one row.
        let (w, h) = two.size();
        let wide = two.clone().fitted(2 * w, 3);
        assert_eq!(wide.columns, 2);
        assert_eq!(wide.size(), (2 * w, h - ROW));
        assert_eq!(two.fitted(w + 10, 3).columns, 1);
    }
}
