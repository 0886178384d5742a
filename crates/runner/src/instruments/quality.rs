//! How close two images are: mean squared error, PSNR and SSIM.
//!
//! Images are `f32` slices in `[0, 1]` (data range `L = 1`), one `height×width` greyscale
//! image each. Sums run in `f64` so a whole test set's error does not lose digits.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Mean of `(a − b)²` over all elements.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "mse: {} vs {} elements", a.len(), b.len());
    squared_error(a, b) / a.len() as f64
}

/// `Σ (a_i − b_i)²` in f64, in fixed chunks (vectorized, and threaded for large inputs; the
/// order of the additions depends on the length only).
pub fn squared_error(a: &[f32], b: &[f32]) -> f64 {
    tensor::kernels::elementwise::sum_map2_f64(a, b, |x, y| {
        let d = (x - y) as f64;
        d * d
    })
}

/// Peak signal-to-noise ratio in dB for a mean squared error on data in `[0, 1]`:
/// `PSNR = 10·log10(1 / MSE)` (infinite for identical images).
pub fn psnr(mse: f64) -> f64 {
    10.0 * (1.0 / mse).log10()
}

/// Side of the Gaussian window (Wang et al. 2004).
pub const SSIM_WINDOW: usize = 11;
/// Standard deviation of the Gaussian window, in pixels.
pub const SSIM_SIGMA: f64 = 1.5;
/// `C1 = (K1·L)²` with `K1 = 0.01`, `L = 1`.
const C1: f64 = 0.01 * 0.01;
/// `C2 = (K2·L)²` with `K2 = 0.03`, `L = 1`.
const C2: f64 = 0.03 * 0.03;

/// The structural similarity of two images (Wang, Bovik, Sheikh, Simoncelli 2004):
///
/// ```text
/// SSIM(x, y) = mean over windows of (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))
/// ```
///
/// with μ, σ² and σxy the Gaussian-weighted (11×11, σ = 1.5, weights summing to 1) local
/// means, variances and covariance (`σx² = E[x²] − μx²`), over every window that fits
/// inside the image (28×28 gives 18×18 windows). This is the paper's reference code, and scikit-image's
/// `structural_similarity(x, y, data_range=1, gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False)`, which the tests compare against.
pub fn ssim(x: &[f32], y: &[f32], height: usize, width: usize) -> f64 {
    assert_eq!(x.len(), height * width, "ssim: x is not {height}x{width}");
    assert_eq!(y.len(), height * width, "ssim: y is not {height}x{width}");
    assert!(
        height >= SSIM_WINDOW && width >= SSIM_WINDOW,
        "ssim: {height}x{width} is smaller than the {SSIM_WINDOW}x{SSIM_WINDOW} window"
    );
    // The window is separable (g[u]·g[v]), so each weighted mean is a row pass then a
    // column pass: 2·11 products per value instead of 121.
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let filter = |img: &[f64]| gaussian_filter_valid(img, height, width);
    let (mx, my) = (filter(&x), filter(&y));
    let (fxx, fyy, fxy) = (filter(&xx), filter(&yy), filter(&xy));
    let mut total = 0.0;
    for k in 0..mx.len() {
        let (vx, vy, cxy) = (
            fxx[k] - mx[k] * mx[k],
            fyy[k] - my[k] * my[k],
            fxy[k] - mx[k] * my[k],
        );
        total += (2.0 * mx[k] * my[k] + C1) * (2.0 * cxy + C2)
            / ((mx[k] * mx[k] + my[k] * my[k] + C1) * (vx + vy + C2));
    }
    total / mx.len() as f64
}

/// Gaussian-weighted means of every window that fits: `(height − 10)×(width − 10)` values,
/// `out[i, j] = Σ_u Σ_v g[u]·g[v]·img[i + u, j + v]`.
fn gaussian_filter_valid(img: &[f64], height: usize, width: usize) -> Vec<f64> {
    let g = gaussian_window();
    let (h_out, w_out) = (height - SSIM_WINDOW + 1, width - SSIM_WINDOW + 1);
    // rows: (height, w_out), each row filtered along j.
    let mut rows = vec![0.0; height * w_out];
    for i in 0..height {
        for j in 0..w_out {
            rows[i * w_out + j] = g
                .iter()
                .enumerate()
                .map(|(v, w)| w * img[i * width + j + v])
                .sum();
        }
    }
    let mut out = vec![0.0; h_out * w_out];
    for i in 0..h_out {
        for j in 0..w_out {
            out[i * w_out + j] = g
                .iter()
                .enumerate()
                .map(|(u, w)| w * rows[(i + u) * w_out + j])
                .sum();
        }
    }
    out
}

/// The 1-D Gaussian weights, normalised to sum to 1; the 2-D window is their outer product.
fn gaussian_window() -> [f64; SSIM_WINDOW] {
    let mut g = [0.0; SSIM_WINDOW];
    let centre = (SSIM_WINDOW / 2) as f64;
    for (k, w) in g.iter_mut().enumerate() {
        let d = k as f64 - centre;
        *w = (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let sum: f64 = g.iter().sum();
    g.map(|w| w / sum)
}

/// Mean squared error, PSNR (from that mean error) and mean SSIM of image pairs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    /// Mean squared error over every pixel of every image.
    pub mse: f64,
    /// `10·log10(1 / mse)`, in dB.
    pub psnr: f64,
    /// SSIM averaged over the images.
    pub ssim: f64,
}

/// Compares images `a[i]` with `b[i]`, each `height·width` values, image after image.
pub fn similarity(a: &[f32], b: &[f32], height: usize, width: usize) -> Similarity {
    let size = height * width;
    assert_eq!(
        a.len(),
        b.len(),
        "similarity: {} vs {} values",
        a.len(),
        b.len()
    );
    let images = a.len() / size;
    // One value per image in parallel, summed in image order: the same bits for any
    // number of threads.
    let per_image: Vec<f64> = a
        .par_chunks_exact(size)
        .zip(b.par_chunks_exact(size))
        .map(|(x, y)| ssim(x, y, height, width))
        .collect();
    let ssim_sum: f64 = per_image.iter().sum();
    let m = mse(a, b);
    Similarity {
        mse: m,
        psnr: psnr(m),
        ssim: ssim_sum / images as f64,
    }
}

/// The area under the ROC curve of `scores` for telling `positive` items from the others
/// (higher score: more likely positive): the probability that a random positive scores above
/// a random negative, ties counting one half (the Mann–Whitney statistic). NaN without both
/// kinds.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> f64 {
    assert_eq!(scores.len(), positive.len(), "roc_auc: one label per score");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mid-ranks (1-based), equal scores sharing the mean of their ranks.
    let mut ranks = vec![0.0f64; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mid;
        }
        i = j + 1;
    }
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// The ROC curve: `(false positive rate, true positive rate)` as the threshold falls from
/// above the highest score to below the lowest, one point per distinct score.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n_pos = positive.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = (positive.len() - positive.iter().filter(|&&p| p).count()).max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![(0.0, 0.0)];
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order
            .get(k + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_tie {
            points.push((fp / n_neg, tp / n_pos));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_and_curve_by_hand() {
        let positive = [true, true, false, false];
        assert_eq!(roc_auc(&[4.0, 3.0, 2.0, 1.0], &positive), 1.0);
        assert_eq!(roc_auc(&[1.0, 2.0, 3.0, 4.0], &positive), 0.0);
        assert_eq!(roc_auc(&[1.0; 4], &positive), 0.5);
        // One of the four positive-negative pairs in the wrong order: 3/4.
        assert_eq!(roc_auc(&[4.0, 2.0, 3.0, 1.0], &positive), 0.75);
        let curve = roc_curve(&[4.0, 2.0, 3.0, 1.0], &positive);
        assert_eq!(
            curve,
            [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
        assert!(roc_auc(&[1.0, 2.0], &[true, true]).is_nan());
    }

    /// Two 28×28 test images made from closed-form patterns (no randomness, so the Python
    /// below builds the same ones).
    fn pattern(kind: u32) -> Vec<f32> {
        (0..28 * 28)
            .map(|p| {
                let (i, j) = ((p / 28) as f32, (p % 28) as f32);
                match kind {
                    0 => (i * 0.37).sin() * (j * 0.23).cos() * 0.5 + 0.5,
                    1 => (i * 0.37 + 0.4).sin() * (j * 0.21).cos() * 0.4 + 0.5,
                    _ => (i + j) / 54.0,
                }
            })
            .collect()
    }

    // Reference values from scikit-image 0.26.0 (a trusted implementation; it computes in
    // float32 for float32 input, hence the 1e-5 tolerance):
    //   import numpy as np
    //   from skimage.metrics import structural_similarity as ssim
    //   i, j = np.mgrid[0:28, 0:28].astype(np.float32)
    //   f = np.float32
    //   a = np.sin(i*f(0.37))*np.cos(j*f(0.23))*0.5 + 0.5
    //   b = np.sin(i*f(0.37) + 0.4)*np.cos(j*f(0.21))*0.4 + 0.5
    //   c = (i + j) / 54
    //   kw = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    //   print(ssim(a, b, **kw), ssim(a, c, **kw), ssim(b, c, **kw))
    const SKIMAGE_AB: f64 = 0.801_644_528_077_708_4;
    const SKIMAGE_AC: f64 = 0.046_051_567_230_919_05;
    const SKIMAGE_BC: f64 = 0.066_793_280_488_374_52;

    #[test]
    fn ssim_matches_scikit_image() {
        let (a, b, c) = (pattern(0), pattern(1), pattern(2));
        for (x, y, want) in [
            (&a, &b, SKIMAGE_AB),
            (&a, &c, SKIMAGE_AC),
            (&b, &c, SKIMAGE_BC),
        ] {
            let got = ssim(x, y, 28, 28);
            assert!(
                (got - want).abs() < 1e-5,
                "ssim {got} vs scikit-image {want}"
            );
        }
    }

    #[test]
    fn ssim_of_an_image_with_itself_is_one_and_is_symmetric() {
        let (a, b) = (pattern(0), pattern(1));
        assert!((ssim(&a, &a, 28, 28) - 1.0).abs() < 1e-12);
        assert!((ssim(&a, &b, 28, 28) - ssim(&b, &a, 28, 28)).abs() < 1e-12);
        assert!(ssim(&a, &b, 28, 28) < 1.0);
    }

    /// The separable filter equals the direct 11×11 weighted sum.
    #[test]
    fn separable_filter_matches_the_direct_window() {
        let img: Vec<f64> = pattern(0).iter().map(|&v| v as f64).collect();
        let g = gaussian_window();
        let fast = gaussian_filter_valid(&img, 28, 28);
        for (i, j) in [(0, 0), (3, 17), (17, 17)] {
            let mut direct = 0.0;
            for u in 0..11 {
                for v in 0..11 {
                    direct += g[u] * g[v] * img[(i + u) * 28 + j + v];
                }
            }
            assert!((fast[i * 18 + j] - direct).abs() < 1e-12);
        }
    }

    #[test]
    fn gaussian_window_sums_to_one_and_peaks_in_the_middle() {
        let g = gaussian_window();
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(g[5] > g[4] && g[4] > g[0]);
        // exp(−25 / 4.5) relative to the centre.
        assert!((g[0] / g[5] - (-25.0f64 / 4.5).exp()).abs() < 1e-12);
    }

    #[test]
    fn psnr_and_mse_by_hand() {
        // Differences 0.1 and 0.3: MSE = (0.01 + 0.09) / 2 = 0.05, PSNR = 10·log10(20).
        let m = mse(&[0.0, 0.0], &[0.1, 0.3]);
        assert!((m - 0.05).abs() < 1e-8);
        assert!((psnr(0.01) - 20.0).abs() < 1e-12);
        let s = similarity(&pattern(0), &pattern(0), 28, 28);
        assert_eq!(s.mse, 0.0);
        assert!(s.psnr.is_infinite());
    }
}
