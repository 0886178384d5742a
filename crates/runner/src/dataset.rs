//! Images and labels in memory, and the mini-batches a training loop draws from them.
//!
//! Images stay as bytes (one per pixel, a quarter of the f32 size); a batch is converted
//! to f32 in `[0, 1]` only when it is drawn.

use std::path::Path;

use tensor::Tensor;

use crate::idx::{self, IdxError};

/// A set of equally sized greyscale images with their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pixels, `len·height·width` bytes, image after image.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
}

impl Dataset {
    /// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
    /// (`prefix` is `train` or `t10k`), checking that they agree.
    pub fn load(dir: &Path, prefix: &str) -> Result<Dataset, IdxError> {
        let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"));
        let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"));
        let images = idx::read(&images_path)?;
        let labels = idx::read(&labels_path)?;
        let bad = |what: String| Err(IdxError::Format(images_path.clone(), what));
        let [n, height, width] = images.dims[..] else {
            return bad(format!("images need 3 dimensions, found {:?}", images.dims));
        };
        if labels.dims != [n] {
            return Err(IdxError::Format(
                labels_path.clone(),
                format!("{:?} labels for {n} images", labels.dims),
            ));
        }
        Ok(Dataset {
            pixels: images.data,
            labels: labels.data,
            height,
            width,
        })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images at `indices` as a `[batch, 1, height, width]` tensor in `[0, 1]`.
    pub fn images(&self, indices: &[usize]) -> Tensor {
        let size = self.height * self.width;
        let mut data = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            data.extend(
                self.pixels[i * size..(i + 1) * size]
                    .iter()
                    .map(|&p| p as f32 / 255.0),
            );
        }
        Tensor::from_vec(&[indices.len(), 1, self.height, self.width], data)
    }

    /// Splits off the last `count` images (a validation set from a training set).
    pub fn split_off(&mut self, count: usize) -> Dataset {
        let keep = self.len() - count.min(self.len());
        let size = self.height * self.width;
        Dataset {
            pixels: self.pixels.split_off(keep * size),
            labels: self.labels.split_off(keep),
            height: self.height,
            width: self.width,
        }
    }
}

/// `dir/stem.gz` if it exists, else `dir/stem`.
fn find(dir: &Path, stem: &str) -> std::path::PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() { gz } else { dir.join(stem) }
}
