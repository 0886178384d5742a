//! The page's digits file: a few thousand MNIST images and their labels, small enough to
//! ship with a static page (the IDX files are gzipped and need a decompressor the page
//! does not have).
//!
//! Layout, little-endian: the magic `TPD1`, the image count `n` as a `u32`, then `n·784`
//! pixel bytes (image after image, row after row, 0 = black), then `n` label bytes.

use tensor::Tensor;

/// Pixels in one 28×28 image.
pub const IMAGE: usize = 28 * 28;

/// The first four bytes of a digits file.
const MAGIC: &[u8; 4] = b"TPD1";

/// Images in `[0, 1]` with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Digits {
    /// `len·784` values, `byte / 255` as the runner's IDX reader makes them.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Images in the file's layout from bytes (`len·784`) and labels.
    pub fn to_bytes(pixels: &[u8], labels: &[u8]) -> Vec<u8> {
        assert_eq!(
            pixels.len(),
            labels.len() * IMAGE,
            "Digits::to_bytes: {} pixels for {} labels",
            pixels.len(),
            labels.len()
        );
        let count = u32::try_from(labels.len()).expect("fewer than 2³² images");
        let mut out = Vec::with_capacity(8 + pixels.len() + labels.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(pixels);
        out.extend_from_slice(labels);
        out
    }

    /// Reads a digits file; the error says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Digits, String> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err("not a digits file (it should start with TPD1)".into());
        }
        let count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let expected = 8 + count * (IMAGE + 1);
        if bytes.len() != expected {
            return Err(format!(
                "a digits file of {count} images has {expected} bytes, this one {}",
                bytes.len()
            ));
        }
        let (pixels, labels) = bytes[8..].split_at(count * IMAGE);
        Ok(Digits {
            pixels: pixels.iter().map(|&p| p as f32 / 255.0).collect(),
            labels: labels.to_vec(),
        })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Images `indices` as a batch `[len, 1, 28, 28]`.
    pub fn batch(&self, indices: &[usize]) -> Tensor {
        let mut data = Vec::with_capacity(indices.len() * IMAGE);
        for &i in indices {
            data.extend_from_slice(&self.pixels[i * IMAGE..(i + 1) * IMAGE]);
        }
        Tensor::from_vec(&[indices.len(), 1, 28, 28], data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_back_what_was_written_and_a_short_one_is_refused() {
        let pixels: Vec<u8> = (0..2 * IMAGE).map(|i| (i % 256) as u8).collect();
        let bytes = Digits::to_bytes(&pixels, &[3, 7]);
        let digits = Digits::parse(&bytes).unwrap();
        assert_eq!(digits.labels, vec![3, 7]);
        assert_eq!(digits.pixels[255], 1.0);
        assert_eq!(digits.batch(&[1]).shape(), &[1, 1, 28, 28]);
        let err = Digits::parse(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.contains("2 images"), "{err}");
        assert!(Digits::parse(b"GIF89a").is_err());
    }
}
