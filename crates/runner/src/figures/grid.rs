//! Image grids as PNG files: rows of greyscale tiles with a gap between them, each tile
//! upscaled by an integer factor (nearest neighbour) so that a 28×28 digit reads at a
//! glance, and optionally coloured frames drawn on tiles (an inpainting hole) — then the
//! file is RGB. Rows are labelled in the report that links the file (no fonts needed here).

use std::path::Path;

use crate::fsutil::write_atomic;

/// Pixels of background between two tiles, before upscaling.
pub const GAP: usize = 2;
/// Upscaling factor: a 28×28 digit becomes 84×84 pixels.
pub const SCALE: usize = 3;
/// Grey level of the gaps (mid grey, so black and white tiles both stand out).
const BACKGROUND: u8 = 128;
/// The colour of frames (orange: neither black nor white nor grey, so it reads on a digit
/// and on its background alike).
pub const FRAME_COLOUR: [u8; 3] = [255, 127, 14];
/// The width of a frame, in pixels of the upscaled picture.
const FRAME_WIDTH: usize = 2;

/// A rectangle of a tile framed in [`FRAME_COLOUR`], along its inner edge (the frame
/// covers the rectangle's border pixels, none outside it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The tile's row in the grid.
    pub row: usize,
    /// The tile's column.
    pub column: usize,
    /// The rectangle's top-left pixel in the tile, `(row, column)`.
    pub at: (usize, usize),
    /// Its size in the tile's pixels, `(height, width)`.
    pub size: (usize, usize),
}

/// A grid of equally sized greyscale images, row after row.
#[derive(Clone, Debug)]
pub struct ImageGrid {
    height: usize,
    width: usize,
    rows: Vec<Vec<Vec<f32>>>,
    frames: Vec<Frame>,
}

impl ImageGrid {
    /// An empty grid of `height×width` tiles.
    pub fn new(height: usize, width: usize) -> ImageGrid {
        ImageGrid {
            height,
            width,
            rows: Vec::new(),
            frames: Vec::new(),
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

    /// Frames a rectangle of a tile (drawn when the grid is saved, in colour).
    pub fn frame(&mut self, frame: Frame) {
        self.frames.push(frame);
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

    /// The picture with its frames as 8-bit RGB pixels, row-major, `(width, height,
    /// pixels)`.
    pub fn render_rgb(&self) -> (usize, usize, Vec<u8>) {
        let (w, h, grey) = self.render();
        let mut pixels: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        for f in &self.frames {
            // The rectangle in the picture's pixels: [y0, y1) × [x0, x1).
            let y0 = (GAP + f.row * (self.height + GAP) + f.at.0) * SCALE;
            let x0 = (GAP + f.column * (self.width + GAP) + f.at.1) * SCALE;
            let (y1, x1) = (y0 + f.size.0 * SCALE, x0 + f.size.1 * SCALE);
            for y in y0..y1.min(h) {
                for x in x0..x1.min(w) {
                    let border = y < y0 + FRAME_WIDTH
                        || y + FRAME_WIDTH >= y1
                        || x < x0 + FRAME_WIDTH
                        || x + FRAME_WIDTH >= x1;
                    if border {
                        pixels[3 * (y * w + x)..3 * (y * w + x) + 3].copy_from_slice(&FRAME_COLOUR);
                    }
                }
            }
        }
        (w, h, pixels)
    }

    /// Writes the grid as a PNG file (atomically), greyscale, or RGB when it has frames;
    /// the error names the file.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        write_atomic(path, &self.png(path)?)
    }

    /// The PNG file's bytes (greyscale, or RGB when the grid has frames); an error names
    /// `path`, the file they are for.
    pub fn png(&self, path: &Path) -> Result<Vec<u8>, String> {
        let (colour, (w, h, pixels)) = if self.frames.is_empty() {
            (png::ColorType::Grayscale, self.render())
        } else {
            (png::ColorType::Rgb, self.render_rgb())
        };
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, w as u32, h as u32);
            encoder.set_color(colour);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(bytes)
    }
}

/// Signed values drawn as grey levels: `0.5 + 0.5·v / max|v|` (white the largest positive,
/// black the most negative, mid-grey 0), so a direction or a difference shows whatever its
/// scale; all mid-grey when every value is 0.
pub fn signed_to_grey(values: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let peak = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    values.iter().map(move |v| {
        if peak > 0.0 {
            0.5 + 0.5 * v / peak
        } else {
            0.5
        }
    })
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

    #[test]
    fn a_frame_colours_the_inner_edge_of_its_rectangle_only() {
        let mut grid = ImageGrid::new(4, 4);
        grid.push_row(&[0.0; 2 * 16]);
        // A 2×2 rectangle at (1, 1) of the second tile: picture pixels [9, 15) of rows, and
        // columns from (2 + 1·(4 + 2) + 1)·3 = 27 to 33.
        grid.frame(Frame {
            row: 0,
            column: 1,
            at: (1, 1),
            size: (2, 2),
        });
        let (w, _, px) = grid.render_rgb();
        let at = |y: usize, x: usize| &px[3 * (y * w + x)..3 * (y * w + x) + 3];
        assert_eq!(at(9, 27), FRAME_COLOUR);
        assert_eq!(at(14, 32), FRAME_COLOUR);
        assert_eq!(at(10, 30), FRAME_COLOUR);
        // Inside the frame the tile shows (black); outside it too.
        assert_eq!(at(11, 29), [0, 0, 0]);
        assert_eq!(at(8, 27), [0, 0, 0]);
        assert_eq!(at(9, 26), [0, 0, 0]);
        assert_eq!(at(15, 27), [0, 0, 0]);
    }
}
