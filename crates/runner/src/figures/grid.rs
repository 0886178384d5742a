//! Image grids as greyscale PNG files: rows of tiles with a gap between them, each tile
//! upscaled by an integer factor (nearest neighbour) so that a 28×28 digit reads at a
//! glance. Rows are labelled in the report that links the file (no fonts needed here).

use std::path::Path;

use crate::fsutil::write_atomic;

/// Pixels of background between two tiles, before upscaling.
pub const GAP: usize = 2;
/// Upscaling factor: a 28×28 digit becomes 84×84 pixels.
pub const SCALE: usize = 3;
/// Grey level of the gaps (mid grey, so black and white tiles both stand out).
const BACKGROUND: u8 = 128;

/// A grid of equally sized greyscale images, row after row.
#[derive(Clone, Debug)]
pub struct ImageGrid {
    height: usize,
    width: usize,
    rows: Vec<Vec<Vec<f32>>>,
}

impl ImageGrid {
    /// An empty grid of `height×width` tiles.
    pub fn new(height: usize, width: usize) -> ImageGrid {
        ImageGrid {
            height,
            width,
            rows: Vec::new(),
        }
    }

    /// Appends a row: `images` holds `count·height·width` values in `[0, 1]` (clamped).
    pub fn push_row(&mut self, images: &[f32]) {
        let size = self.height * self.width;
        assert!(
            !images.is_empty() && images.len().is_multiple_of(size),
            "ImageGrid: a row of {} values is not whole {}x{} images",
            images.len(),
            self.height,
            self.width
        );
        self.rows
            .push(images.chunks_exact(size).map(<[f32]>::to_vec).collect());
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The picture's size in pixels, `(width, height)`.
    pub fn pixel_size(&self) -> (usize, usize) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let across = |n: usize, tile: usize| (n * (tile + GAP) + GAP) * SCALE;
        (
            across(columns, self.width),
            across(self.rows.len(), self.height),
        )
    }

    /// The picture as 8-bit grey pixels, row-major, `(width, height, pixels)`.
    pub fn render(&self) -> (usize, usize, Vec<u8>) {
        let (w, h) = self.pixel_size();
        let mut pixels = vec![BACKGROUND; w * h];
        for (r, row) in self.rows.iter().enumerate() {
            for (c, tile) in row.iter().enumerate() {
                // Top-left corner of the tile, before upscaling.
                let (y0, x0) = (GAP + r * (self.height + GAP), GAP + c * (self.width + GAP));
                for (p, &v) in tile.iter().enumerate() {
                    let grey = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                    let (y, x) = ((y0 + p / self.width) * SCALE, (x0 + p % self.width) * SCALE);
                    for dy in 0..SCALE {
                        let start = (y + dy) * w + x;
                        pixels[start..start + SCALE].fill(grey);
                    }
                }
            }
        }
        (w, h, pixels)
    }

    /// Writes the grid as a PNG file (atomically); the error names the file.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let (w, h, pixels) = self.render();
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, w as u32, h as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        write_atomic(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_upscaled_and_separated_by_gaps() {
        let mut grid = ImageGrid::new(2, 2);
        grid.push_row(&[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let (w, h, px) = grid.render();
        // Two 2×2 tiles with gaps of 2: (2·(2+2)+2)·3 = 30 wide, (1·4+2)·3 = 18 high.
        assert_eq!((w, h), (30, 18));
        assert_eq!(px[0], BACKGROUND);
        // First tile's first pixel at (GAP·SCALE, GAP·SCALE) = (6, 6), white; second black.
        assert_eq!(px[6 * w + 6], 255);
        assert_eq!(px[6 * w + 6 + 5], 255);
        assert_eq!(px[6 * w + 6 + 6], BACKGROUND);
        assert_eq!(px[6 * w + 18], 0);
    }

    #[test]
    fn saves_a_valid_png() {
        let dir = std::env::temp_dir().join(format!("grid-{}", std::process::id()));
        let path = dir.join("g.png");
        let mut grid = ImageGrid::new(28, 28);
        grid.push_row(&vec![0.5; 3 * 784]);
        grid.push_row(&vec![0.25; 3 * 784]);
        grid.save(&path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        // Three 28×28 tiles and four gaps of 2, times 3: 276 wide; two rows: 186 high.
        assert_eq!((info.width, info.height), (276, 186));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
