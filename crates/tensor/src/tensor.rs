//! The tensor: an f32 array of any rank, contiguous and row-major.

use std::fmt;

use rand_distr::{Distribution, Normal, Uniform};

use crate::pool;
use crate::random::Rng;
use crate::shape;

/// An n-dimensional array of `f32`, stored contiguously in row-major order.
///
/// Element `[i0, i1, …, in]` lives at `Σ_a i_a·stride_a` with the strides of
/// [`shape::strides`]. Operations return new tensors; the autodiff [`crate::Tape`] holds them
/// as the values of its nodes.
///
/// Buffers come from and go back to the thread's [`pool`]: a step that builds the same
/// tensors as the last one allocates nothing.
#[derive(PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Clone for Tensor {
    fn clone(&self) -> Tensor {
        Tensor {
            shape: self.shape.clone(),
            data: pool::copy_of(&self.data),
        }
    }
}

impl Drop for Tensor {
    fn drop(&mut self) {
        pool::recycle(std::mem::take(&mut self.data));
    }
}

impl Tensor {
    /// A tensor of the given shape from its row-major data.
    ///
    /// Panics if `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// # use tensor::Tensor;
    /// let t = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(t.at(&[1, 0]), 3.0);
    /// ```
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Tensor {
        assert_eq!(
            data.len(),
            shape::numel(shape),
            "from_vec: {} values do not fill shape {shape:?}",
            data.len()
        );
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_vec(&[], vec![value])
    }

    /// Every element `value`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_vec(shape, pool::filled(shape::numel(shape), value))
    }

    /// A tensor whose every element the caller is about to overwrite: its contents are
    /// whatever the recycled buffer held (see [`pool::take`]), so no pass of zeros is spent.
    pub fn for_overwrite(shape: &[usize]) -> Tensor {
        Tensor::from_vec(shape, pool::take(shape::numel(shape)))
    }

    /// Every element 0.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// Every element 1.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// `[start, start + step, …]` up to but excluding `end`, as a 1-D tensor.
    ///
    /// ```
    /// # use tensor::Tensor;
    /// assert_eq!(Tensor::arange(0.0, 2.0, 0.5).data(), &[0.0, 0.5, 1.0, 1.5]);
    /// ```
    pub fn arange(start: f32, end: f32, step: f32) -> Tensor {
        assert!(step != 0.0, "arange: step must not be 0");
        let count = ((end - start) / step).ceil().max(0.0) as usize;
        let data: Vec<f32> = (0..count).map(|i| start + i as f32 * step).collect();
        Tensor::from_vec(&[count], data)
    }

    /// The `n×n` identity matrix.
    pub fn eye(n: usize) -> Tensor {
        let mut t = Tensor::zeros(&[n, n]);
        for i in 0..n {
            t.data[i * n + i] = 1.0;
        }
        t
    }

    /// Elements drawn uniformly from `[low, high)`.
    pub fn uniform(shape: &[usize], low: f32, high: f32, rng: &mut Rng) -> Tensor {
        assert!(low < high, "uniform: empty range [{low}, {high})");
        let dist = Uniform::new(low, high).expect("uniform: bounds are finite");
        let data = (0..shape::numel(shape)).map(|_| dist.sample(rng)).collect();
        Tensor::from_vec(shape, data)
    }

    /// Elements drawn from the normal distribution N(mean, std²).
    pub fn normal(shape: &[usize], mean: f32, std: f32, rng: &mut Rng) -> Tensor {
        let dist = Normal::new(mean, std).expect("normal: std must be finite and >= 0");
        let data = (0..shape::numel(shape)).map(|_| dist.sample(rng)).collect();
        Tensor::from_vec(shape, data)
    }

    /// The sizes of the axes.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, writable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Gives up the tensor, keeping its elements.
    pub fn into_data(mut self) -> Vec<f32> {
        std::mem::take(&mut self.data)
    }

    /// The element at a multi-index. Panics if the index does not fit the shape.
    pub fn at(&self, index: &[usize]) -> f32 {
        self.data[self.offset(index)]
    }

    /// Sets the element at a multi-index.
    pub fn set(&mut self, index: &[usize], value: f32) {
        let offset = self.offset(index);
        self.data[offset] = value;
    }

    fn offset(&self, index: &[usize]) -> usize {
        assert!(
            index.len() == self.rank() && index.iter().zip(&self.shape).all(|(i, s)| i < s),
            "index {index:?} out of bounds for shape {:?}",
            self.shape
        );
        index
            .iter()
            .zip(shape::strides(&self.shape))
            .map(|(i, s)| i * s)
            .sum()
    }

    /// The single value of a one-element tensor (a loss, say).
    pub fn item(&self) -> f32 {
        assert_eq!(
            self.numel(),
            1,
            "item: tensor of shape {:?} has {} elements, not 1",
            self.shape,
            self.numel()
        );
        self.data[0]
    }

    /// The same elements under another shape with the same number of elements.
    ///
    /// One axis may be given as `usize::MAX` to mean "whatever is left" (NumPy's -1).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let shape = resolve_reshape(&self.shape, shape);
        Tensor::from_vec(&shape, pool::copy_of(&self.data))
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync) -> Tensor {
        Tensor::from_vec(&self.shape, crate::kernels::elementwise::map(&self.data, f))
    }

    /// The largest absolute difference to another tensor of the same shape.
    pub fn max_abs_diff(&self, other: &Tensor) -> f32 {
        assert_eq!(
            self.shape, other.shape,
            "max_abs_diff: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

/// Resolves a requested shape against the current one; `usize::MAX` marks the inferred axis.
fn resolve_reshape(from: &[usize], to: &[usize]) -> Vec<usize> {
    let total = shape::numel(from);
    let mut shape = to.to_vec();
    let inferred: Vec<usize> = (0..to.len()).filter(|&a| to[a] == usize::MAX).collect();
    assert!(
        inferred.len() <= 1,
        "reshape: at most one axis of {to:?} may be inferred"
    );
    if let Some(&axis) = inferred.first() {
        let known: usize = to.iter().filter(|&&s| s != usize::MAX).product();
        assert!(
            known > 0 && total.is_multiple_of(known),
            "reshape: cannot reshape {from:?} into {to:?}"
        );
        shape[axis] = total / known;
    }
    assert_eq!(
        shape::numel(&shape),
        total,
        "reshape: cannot reshape {from:?} ({total} elements) into {to:?}"
    );
    shape
}

impl fmt::Debug for Tensor {
    /// Prints the shape and at most the first 8 elements, so big tensors stay readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor{:?} [", self.shape)?;
        for (i, v) in self.data.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v}")?;
        }
        if self.data.len() > SHOWN {
            write!(f, ", … ({} more)", self.data.len() - SHOWN)?;
        }
        write!(f, "]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::rng;

    #[test]
    fn constructors_fill_as_named() {
        assert_eq!(Tensor::eye(2).data(), &[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::full(&[3], 2.5).data(), &[2.5; 3]);
        assert_eq!(Tensor::arange(1.0, 4.0, 1.0).data(), &[1.0, 2.0, 3.0]);
        assert_eq!(Tensor::scalar(3.0).shape(), &[] as &[usize]);
    }

    #[test]
    #[should_panic(expected = "from_vec: 5 values do not fill shape [2, 3]")]
    fn from_vec_checks_length() {
        Tensor::from_vec(&[2, 3], vec![0.0; 5]);
    }

    #[test]
    fn seeded_random_is_reproducible_and_distributed() {
        let a = Tensor::normal(&[10000], 1.0, 2.0, &mut rng(7));
        let b = Tensor::normal(&[10000], 1.0, 2.0, &mut rng(7));
        assert_eq!(a, b);
        let mean = a.data().iter().sum::<f32>() / 1e4;
        let var = a.data().iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 1e4;
        assert!((mean - 1.0).abs() < 0.1 && (var.sqrt() - 2.0).abs() < 0.1);
        let u = Tensor::uniform(&[1000], -1.0, 3.0, &mut rng(1));
        assert!(u.data().iter().all(|&x| (-1.0..3.0).contains(&x)));
    }

    #[test]
    fn reshape_infers_one_axis() {
        let t = Tensor::zeros(&[2, 3, 4]);
        assert_eq!(t.reshape(&[usize::MAX, 4]).shape(), &[6, 4]);
    }
}
