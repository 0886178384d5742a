//! What a model reads instead of the clean image, for the tasks that change it: additive
//! noise (denoising, [`crate::train::Noise`]), square holes (inpainting), and halving the
//! resolution (super-resolution), and moving the image inside its frame (translation).
//! Each keeps the clean image as the target.

use rand::RngExt as _;
use tensor::ops::pool::{PoolSpec, avg_pool2d};
use tensor::{Rng, Tensor};

use rand_distr::{Distribution, Uniform};

/// The top-left corners of one `size×size` hole per image, uniform over the positions where
/// the hole fits inside a 28×28 image; two draws per image from `rng`.
pub fn hole_positions(count: usize, size: usize, rng: &mut Rng) -> Vec<(usize, usize)> {
    assert!((1..=28).contains(&size), "hole size {size} must be 1 to 28");
    let at = Uniform::new_inclusive(0, 28 - size).expect("a valid range");
    (0..count)
        .map(|_| (at.sample(rng), at.sample(rng)))
        .collect()
}

/// Whether pixel `p` (0..784) of an image lies in the hole at `(row, col)`.
pub fn in_hole(p: usize, (row, col): (usize, usize), size: usize) -> bool {
    let (r, c) = (p / 28, p % 28);
    r >= row && r < row + size && c >= col && c < col + size
}

/// `images` `[N, 1, 28, 28]` with each image's hole set to 0 (black, the background).
pub fn punch_holes(images: &Tensor, positions: &[(usize, usize)], size: usize) -> Tensor {
    let mut out = images.clone();
    for (image, &at) in out.data_mut().chunks_exact_mut(784).zip(positions) {
        for (p, v) in image.iter_mut().enumerate() {
            if in_hole(p, at, size) {
                *v = 0.0;
            }
        }
    }
    out
}

/// Each 2×2 block averaged: `[N, 1, 28, 28]` → `[N, 1, 14, 14]`.
pub fn downsample(images: &Tensor) -> Tensor {
    avg_pool2d(images, &PoolSpec::new(2, 2, 0))
}

/// 14×14 images (`n·196` values) back to 28×28 by repeating each pixel in a 2×2 block.
pub fn upsample_nearest(low: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(low.len() * 4);
    for image in low.chunks_exact(196) {
        for r in 0..28 {
            for c in 0..28 {
                out.push(image[(r / 2) * 14 + c / 2]);
            }
        }
    }
    out
}

/// 14×14 images back to 28×28 by bilinear interpolation with PyTorch's
/// `align_corners=False` (half-pixel centres): output pixel `i` samples the input at
/// `(i + ½)/2 − ½`, clamped at the borders.
pub fn upsample_bilinear(low: &[f32]) -> Vec<f32> {
    let source = |i: usize| -> (usize, usize, f32) {
        let x = ((i as f32 + 0.5) / 2.0 - 0.5).max(0.0);
        let i0 = (x.floor() as usize).min(13);
        let i1 = (i0 + 1).min(13);
        (i0, i1, x - i0 as f32)
    };
    let mut out = Vec::with_capacity(low.len() * 4);
    for image in low.chunks_exact(196) {
        for r in 0..28 {
            let (r0, r1, fr) = source(r);
            for c in 0..28 {
                let (c0, c1, fc) = source(c);
                let at = |r: usize, c: usize| image[r * 14 + c];
                let top = at(r0, c0) * (1.0 - fc) + at(r0, c1) * fc;
                let bottom = at(r1, c0) * (1.0 - fc) + at(r1, c1) * fc;
                out.push(top * (1.0 - fr) + bottom * fr);
            }
        }
    }
    out
}

/// `images` (`count·784` values, 28×28 each, row after row) moved `dx` pixels right and `dy`
/// down (negative: left, up) inside their frame (the translation experiment's moved test
/// images): the pixels uncovered are 0, the background, and those pushed past the border are
/// lost.
///
/// ```
/// # use tp_runner::data::corrupt::translate;
/// let mut image = vec![0.0; 784];
/// image[5 * 28 + 5] = 1.0; // row 5, column 5
/// let moved = translate(&image, 2, -1);
/// assert_eq!(moved[4 * 28 + 7], 1.0); // row 4, column 7
/// assert_eq!(moved.iter().sum::<f32>(), 1.0);
/// ```
pub fn translate(images: &[f32], dx: isize, dy: isize) -> Vec<f32> {
    assert_eq!(images.len() % 784, 0, "translate: {} values", images.len());
    let mut out = vec![0.0; images.len()];
    for (from, to) in images.chunks_exact(784).zip(out.chunks_exact_mut(784)) {
        translate_image(from, to, dx, dy);
    }
    out
}

/// `images` (`count·784` values, 28×28 each) each moved by its own random `(dx, dy)`, both
/// drawn uniformly from `-max..=max` (dx first, then dy, image after image), as [`translate`]
/// moves them: the cheapest way to more training images when there are few (the reader's
/// training batches, the labelled batches of a semi-supervised run). `max = 0` returns the
/// images as they are.
pub fn translate_at_random(images: &[f32], max: i64, rng: &mut Rng) -> Vec<f32> {
    assert_eq!(
        images.len() % 784,
        0,
        "translate_at_random: {} values",
        images.len()
    );
    assert!(
        max >= 0,
        "translate_at_random: the largest shift must be 0 or more, got {max}"
    );
    let mut out = vec![0.0; images.len()];
    for (from, to) in images.chunks_exact(784).zip(out.chunks_exact_mut(784)) {
        let (dx, dy) = (rng.random_range(-max..=max), rng.random_range(-max..=max));
        translate_image(from, to, dx as isize, dy as isize);
    }
    out
}

/// `to[row, col] = from[row − dy, col − dx]` for one 28×28 image, where that lies inside it;
/// `to` starts at 0 (the background) and keeps it elsewhere.
fn translate_image(from: &[f32], to: &mut [f32], dx: isize, dy: isize) {
    let inside = |i: isize| (0..28).contains(&i);
    for row in 0..28isize {
        for col in 0..28isize {
            let (r, c) = (row - dy, col - dx);
            if inside(r) && inside(c) {
                to[(row * 28 + col) as usize] = from[(r * 28 + c) as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_translations_move_each_image_by_at_most_max() {
        // One lit pixel in the middle of each of 50 images: each lands within ±2 of it, the
        // moves differ between images, and max 0 moves nothing.
        let mut images = vec![0.0; 50 * 784];
        images
            .chunks_exact_mut(784)
            .for_each(|im| im[14 * 28 + 14] = 1.0);
        let moved = translate_at_random(&images, 2, &mut tensor::rng(3));
        let mut seen = std::collections::HashSet::new();
        for image in moved.chunks_exact(784) {
            let at = image
                .iter()
                .position(|&v| v == 1.0)
                .expect("the pixel stays inside");
            let (row, col) = ((at / 28) as i64, (at % 28) as i64);
            assert!(
                (row - 14).abs() <= 2 && (col - 14).abs() <= 2,
                "moved to {row}, {col}"
            );
            seen.insert(at);
        }
        assert!(seen.len() > 10, "only {} distinct moves", seen.len());
        assert_eq!(translate_at_random(&images, 0, &mut tensor::rng(3)), images);
    }

    #[test]
    fn holes_fit_and_are_black() {
        let positions = hole_positions(100, 8, &mut tensor::rng(1));
        assert!(positions.iter().all(|&(r, c)| r <= 20 && c <= 20));
        let images = Tensor::ones(&[2, 1, 28, 28]);
        let holed = punch_holes(&images, &positions[..2], 8);
        for (i, image) in holed.data().chunks(784).enumerate() {
            let zeros = image.iter().filter(|&&v| v == 0.0).count();
            assert_eq!(zeros, 64, "image {i}");
            assert!(
                image
                    .iter()
                    .enumerate()
                    .all(|(p, &v)| (v == 0.0) == in_hole(p, positions[i], 8))
            );
        }
    }

    #[test]
    fn down_and_up_sampling_by_hand() {
        // A 28×28 image whose 2×2 blocks are constant comes back exactly by nearest.
        let low: Vec<f32> = (0..196).map(|i| i as f32 / 196.0).collect();
        let up = upsample_nearest(&low);
        let image = Tensor::from_vec(&[1, 1, 28, 28], up.clone());
        assert_eq!(downsample(&image).data(), low.as_slice());
        // Bilinear keeps a constant image constant and interpolates a ramp: along a row
        // 0, 1, 2, …, output pixels 1 and 2 (sampling at 0.25 and 0.75) read 0.25 and 0.75.
        assert!(
            upsample_bilinear(&[0.5; 196])
                .iter()
                .all(|&v| (v - 0.5).abs() < 1e-6)
        );
        let ramp: Vec<f32> = (0..196).map(|i| (i % 14) as f32).collect();
        let up = upsample_bilinear(&ramp);
        assert_eq!(&up[..4], &[0.0, 0.25, 0.75, 1.25]);
        assert_eq!(up[27], 13.0);
    }
}
