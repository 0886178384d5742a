//! An image grid with its rows and columns named on the figure itself: an SVG file that
//! holds the grid's PNG (base64, in an `<image>`) with `<text>` labels beside it, for grids
//! whose every row and column means something (a style per row, a digit per column).

use std::path::Path;

use super::grid::{GAP, ImageGrid, SCALE};
use crate::fsutil::write_atomic;

/// Pixels left of the grid for the row labels.
const LEFT: usize = 150;
/// Pixels above the grid: the title, then the column labels.
const TOP: usize = 56;
/// The labels' font size, in pixels.
const FONT: usize = 15;

/// A grid with a title, a label per row (left) and per column (above).
pub struct LabelledGrid {
    /// The images.
    pub grid: ImageGrid,
    /// What it shows, in a line.
    pub title: String,
    /// One label per row, top to bottom.
    pub rows: Vec<String>,
    /// One label per column, left to right.
    pub columns: Vec<String>,
    /// The tiles' size, `(height, width)` in image pixels.
    pub tile: (usize, usize),
}

impl LabelledGrid {
    /// The SVG text.
    pub fn svg(&self, path: &Path) -> Result<String, String> {
        assert_eq!(
            self.rows.len(),
            self.grid.rows(),
            "LabelledGrid: one label per row"
        );
        let png = self.grid.png(path)?;
        let (w, h) = self.grid.pixel_size();
        let (width, height) = (LEFT + w, TOP + h);
        // The centre of tile `i` along an axis of tiles `size` wide, in picture pixels.
        let centre = |i: usize, size: usize| (GAP + i * (size + GAP)) * SCALE + size * SCALE / 2;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{FONT}\">\n\
             <rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n\
             <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"{}\">{}</text>\n",
            width / 2,
            FONT + 2,
            escape(&self.title)
        );
        for (c, label) in self.columns.iter().enumerate() {
            svg += &format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                LEFT + centre(c, self.tile.1),
                TOP - 8,
                escape(label)
            );
        }
        for (r, label) in self.rows.iter().enumerate() {
            svg += &format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n",
                LEFT - 8,
                TOP + centre(r, self.tile.0),
                escape(label)
            );
        }
        svg += &format!(
            "<image x=\"{LEFT}\" y=\"{TOP}\" width=\"{w}\" height=\"{h}\" \
             href=\"data:image/png;base64,{}\"/>\n</svg>\n",
            base64(&png)
        );
        Ok(svg)
    }

    /// Writes the SVG file (atomically); an error names it.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        write_atomic(path, self.svg(path)?.as_bytes())
    }
}

/// `&`, `<` and `>` as XML entities.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Standard base64 (RFC 4648, with `=` padding): each 3 bytes become 4 of 64 characters.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648's test vectors.
    #[test]
    fn base64_matches_the_rfc() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain:?}");
        }
    }

    #[test]
    fn every_row_and_column_is_labelled_once() {
        let mut grid = ImageGrid::new(28, 28);
        grid.push_row(&vec![0.5; 3 * 784]);
        grid.push_row(&vec![0.25; 3 * 784]);
        let labelled = LabelledGrid {
            grid,
            title: "a <test>".into(),
            rows: vec!["row a".into(), "row b".into()],
            columns: vec!["x".into(), "y".into(), "z".into()],
            tile: (28, 28),
        };
        let svg = labelled.svg(Path::new("t.svg")).unwrap();
        for label in ["row a", "row b", ">x<", ">y<", ">z<", "a &lt;test&gt;"] {
            assert_eq!(svg.matches(label).count(), 1, "{label}: {svg}");
        }
        assert!(
            svg.contains("data:image/png;base64,iVBORw0KGgo"),
            "a PNG inside"
        );
    }
}
