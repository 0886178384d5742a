//! Images and labels in memory, where they come from, and the batches drawn from them.
//!
//! Images stay as bytes (one per pixel, a quarter of the f32 size); a batch is converted
//! to f32 in `[0, 1]` only when it is drawn.

use std::path::{Path, PathBuf};

use tensor::Tensor;

use crate::data::idx::{self, IdxError};

/// A set of equally sized greyscale images with their labels (digits 0-9).
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pixels, `len·height·width` bytes, image after image.
    pub pixels: Vec<u8>,
    /// One label per image, each below 10.
    pub labels: Vec<u8>,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
}

impl Dataset {
    /// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
    /// (`prefix` is `train` or `t10k`), checking that they agree and that every label is a
    /// digit.
    pub fn load(dir: &Path, prefix: &str) -> Result<Dataset, IdxError> {
        let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"));
        let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"));
        let images = idx::read(&images_path)?;
        let labels = idx::read(&labels_path)?;
        let bad = |path: &Path, what: String| Err(IdxError::Format(path.to_path_buf(), what));
        let [n, height, width] = images.dims[..] else {
            return bad(
                &images_path,
                format!("images need 3 dimensions, found {:?}", images.dims),
            );
        };
        if n == 0 || height == 0 || width == 0 {
            return bad(&images_path, format!("empty images {:?}", images.dims));
        }
        if labels.dims != [n] {
            return bad(
                &labels_path,
                format!("{:?} labels for {n} images", labels.dims),
            );
        }
        if let Some((i, l)) = labels.data.iter().enumerate().find(|(_, l)| **l > 9) {
            return bad(
                &labels_path,
                format!("label {l} at index {i}; labels must be digits 0-9"),
            );
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

    /// The classes of the images at `indices`, as indices (what a classifier's loss reads).
    pub fn classes_of(&self, indices: &[usize]) -> Vec<usize> {
        indices
            .iter()
            .map(|&i| usize::from(self.labels[i]))
            .collect()
    }

    /// Every image's class, as an index.
    pub fn classes(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| usize::from(l)).collect()
    }

    /// Pixels in one image.
    pub fn image_size(&self) -> usize {
        self.height * self.width
    }

    /// The images at `indices` as a `[batch, 1, height, width]` tensor in `[0, 1]`.
    pub fn images(&self, indices: &[usize]) -> Tensor {
        let size = self.image_size();
        // A recycled buffer (every value is written): a training step asks for one batch of
        // the same size every time.
        let mut data = tensor::pool::take(indices.len() * size);
        for (out, &i) in data.chunks_exact_mut(size.max(1)).zip(indices) {
            let image = &self.pixels[i * size..(i + 1) * size];
            out.iter_mut()
                .zip(image)
                .for_each(|(o, &p)| *o = p as f32 / 255.0);
        }
        Tensor::from_vec(&[indices.len(), 1, self.height, self.width], data)
    }

    /// Every image, as one `[len, 1, height, width]` tensor.
    pub fn all_images(&self) -> Tensor {
        let all: Vec<usize> = (0..self.len()).collect();
        self.images(&all)
    }

    /// The images whose label is not `digit`, in their order.
    pub fn without_digit(&self, digit: u8) -> Dataset {
        self.filter(|label| label != digit)
    }

    /// The images whose label is `digit`, in their order.
    pub fn only_digit(&self, digit: u8) -> Dataset {
        self.filter(|label| label == digit)
    }

    /// The images whose label passes `keep`, in their order.
    fn filter(&self, keep: impl Fn(u8) -> bool) -> Dataset {
        let size = self.image_size();
        let kept: Vec<usize> = (0..self.len()).filter(|&i| keep(self.labels[i])).collect();
        Dataset {
            pixels: kept
                .iter()
                .flat_map(|&i| self.pixels[i * size..(i + 1) * size].iter().copied())
                .collect(),
            labels: kept.iter().map(|&i| self.labels[i]).collect(),
            height: self.height,
            width: self.width,
        }
    }

    /// A copy of the first `count` images (all of them when there are fewer).
    pub fn first(&self, count: usize) -> Dataset {
        let keep = count.min(self.len());
        Dataset {
            pixels: self.pixels[..keep * self.image_size()].to_vec(),
            labels: self.labels[..keep].to_vec(),
            ..*self
        }
    }

    /// Keeps the first `count` images (all of them when there are fewer).
    pub fn truncate(&mut self, count: usize) {
        let keep = count.min(self.len());
        self.pixels.truncate(keep * self.image_size());
        self.labels.truncate(keep);
    }
}

/// A training set and a test set of the same image size.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Where the files were read from.
    pub dir: PathBuf,
    /// What the folder is, for reports ("the committed MNIST sample").
    pub description: String,
    /// The training images.
    pub train: Dataset,
    /// The test images.
    pub test: Dataset,
}

impl Splits {
    /// Reads `train-*` and `t10k-*` from `dir`, keeps the first `limit` training and
    /// `test_limit` test images when given, and checks that the images are 28×28 (what the
    /// lab's models take).
    pub fn load(
        dir: &Path,
        description: String,
        limit: Option<usize>,
        test_limit: Option<usize>,
    ) -> Result<Splits, String> {
        let mut train = Dataset::load(dir, "train").map_err(|e| e.to_string())?;
        let mut test = Dataset::load(dir, "t10k").map_err(|e| e.to_string())?;
        for (set, what) in [(&train, "train"), (&test, "t10k")] {
            if (set.height, set.width) != (28, 28) {
                return Err(format!(
                    "{}: {what} images are {}x{}, the lab's models take 28x28",
                    dir.display(),
                    set.height,
                    set.width
                ));
            }
        }
        if let Some(n) = limit {
            train.truncate(n);
        }
        if let Some(n) = test_limit {
            test.truncate(n);
        }
        Ok(Splits {
            dir: dir.to_path_buf(),
            description,
            train,
            test,
        })
    }
}

/// The folder to read when `--data` is not given, and what it is: `datasets/mnist` when a
/// full download is there, else the committed sample `datasets/mnist-sample`. Both are
/// looked for under the working directory first, then under the repository this binary was
/// built from.
pub fn default_data_dir() -> (PathBuf, String) {
    let roots = [
        PathBuf::from("."),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    ];
    for root in &roots {
        let full = root.join("datasets/mnist");
        if has_idx_files(&full) {
            return (full, "the full MNIST download in datasets/mnist".into());
        }
    }
    for root in &roots {
        let sample = root.join("datasets/mnist-sample");
        if has_idx_files(&sample) {
            return (
                sample,
                "the committed MNIST sample (first 10,000 training images, official 10,000 test images)"
                    .into(),
            );
        }
    }
    (
        PathBuf::from("datasets/mnist-sample"),
        "the committed MNIST sample".into(),
    )
}

/// The committed folder `datasets/<folder>` (e.g. `fashion-mnist-sample`), looked for as
/// [`default_data_dir`] looks: under the working directory, then under the repository this
/// binary was built from; an error naming the folder when neither holds its four files.
pub fn committed_dir(folder: &str) -> Result<PathBuf, String> {
    let roots = [
        PathBuf::from("."),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    ];
    roots
        .iter()
        .map(|root| root.join("datasets").join(folder))
        .find(|dir| has_idx_files(dir))
        .ok_or_else(|| {
            format!(
                "datasets/{folder}: not found under the working directory nor under {} (need \
                 its train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte \
                 and t10k-labels-idx1-ubyte, each plain or .gz; run from the repository root)",
                roots[1].display()
            )
        })
}

/// Whether `dir` holds the four files of an MNIST-format dataset (plain or `.gz`).
pub fn has_idx_files(dir: &Path) -> bool {
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    .iter()
    .all(|stem| find(dir, stem).exists())
}

/// `dir/stem.gz` if it exists, else `dir/stem`.
fn find(dir: &Path, stem: &str) -> PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() { gz } else { dir.join(stem) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn a_label_above_nine_is_refused_with_its_index() {
        let dir = std::env::temp_dir().join(format!("labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_idx(&dir.join("train-images-idx3-ubyte"), &[3, 2, 2], &[0; 12]);
        write_idx(&dir.join("train-labels-idx1-ubyte"), &[3], &[1, 200, 3]);
        let err = Dataset::load(&dir, "train").unwrap_err().to_string();
        assert!(err.contains("train-labels-idx1-ubyte"), "{err}");
        assert!(err.contains("label 200 at index 1"), "{err}");
        write_idx(&dir.join("train-labels-idx1-ubyte"), &[2], &[1, 2]);
        let err = Dataset::load(&dir, "train").unwrap_err().to_string();
        assert!(err.contains("[2] labels for 3 images"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn committed_folders_are_found_or_named_in_the_error() {
        assert!(committed_dir("fashion-mnist-sample").is_ok());
        let err = committed_dir("no-such-sample").unwrap_err();
        assert!(
            err.starts_with("datasets/no-such-sample: not found"),
            "{err}"
        );
    }

    #[test]
    fn the_sample_loads_with_its_test_set() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        assert!(has_idx_files(&dir));
        let s = Splits::load(&dir, "sample".into(), Some(100), Some(50)).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (100, 50));
        // The official test set starts with a 7, a 2 and a 1.
        assert_eq!(&s.test.labels[..3], &[7, 2, 1]);
        let x = s.train.images(&[0, 1]);
        assert_eq!(x.shape(), &[2, 1, 28, 28]);
        assert!(x.data().iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
