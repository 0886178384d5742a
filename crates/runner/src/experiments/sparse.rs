//! The sparse autoencoder: 784-256-784 with a ReLU code and an L1 penalty on it, at several
//! weights (0 included); how many of the code's values are zero, the reconstruction error,
//! and what each code unit draws when decoded alone.

use layers::summary::thousands;
use models::sparse::WIDE_CODE;

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, model_table};
use crate::train::{TrainConfig, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "sparse";

/// How a code is used on the test set.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeStats {
    /// Mean value of the code over images and units.
    pub mean_activation: f64,
    /// Share of code values exactly 0.
    pub zero_share: f64,
    /// Mean number of non-zero units per image.
    pub active_per_image: f64,
    /// Units that are 0 for every test image.
    pub dead_units: usize,
    /// Each unit's mean over the images where it is active (0 for a dead unit).
    pub typical: Vec<f32>,
}

/// The statistics of `codes` (`n·units` values).
pub fn code_stats(codes: &[f32], units: usize) -> CodeStats {
    let n = (codes.len() / units).max(1);
    let zeros = codes.iter().filter(|&&v| v == 0.0).count();
    let mut sums = vec![0.0f64; units];
    let mut counts = vec![0usize; units];
    for row in codes.chunks_exact(units) {
        for (u, &v) in row.iter().enumerate() {
            if v != 0.0 {
                sums[u] += v as f64;
                counts[u] += 1;
            }
        }
    }
    CodeStats {
        mean_activation: codes.iter().map(|&v| v as f64).sum::<f64>() / codes.len().max(1) as f64,
        zero_share: zeros as f64 / codes.len().max(1) as f64,
        active_per_image: (codes.len() - zeros) as f64 / n as f64,
        dead_units: counts.iter().filter(|&&c| c == 0).count(),
        typical: sums
            .iter()
            .zip(&counts)
            .map(|(&s, &c)| if c == 0 { 0.0 } else { (s / c as f64) as f32 })
            .collect(),
    }
}

/// What each unit adds to the image of the empty code: `decoded` holds the empty code's
/// image then one image per unit (`size` values each); each difference is stretched to
/// `[0, 1]` on its own (0.5 where nothing changes), so that faint units show too.
pub fn unit_features(decoded: &[f32], size: usize) -> Vec<f32> {
    let (empty, units) = decoded.split_at(size);
    let mut out = Vec::with_capacity(units.len());
    for image in units.chunks_exact(size) {
        let diff: Vec<f32> = image.iter().zip(empty).map(|(a, b)| a - b).collect();
        let peak = diff.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        out.extend(diff.iter().map(|d| {
            if peak > 0.0 {
                0.5 + 0.5 * d / peak
            } else {
                0.5
            }
        }));
    }
    out
}

/// The run's folder name for an L1 weight.
fn run_name(weight: f64) -> String {
    format!("l1_{weight}")
}

/// Trains the sparse models, draws the decoder's features, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    // In increasing order, each once (one run folder per weight).
    let mut weights = lab.settings.sparsity_weights.clone();
    weights.sort_by(f64::total_cmp);
    weights.dedup();
    let test_images = lab.splits.test.all_images().into_data();
    let mut rows = Vec::new();
    let mut stats = Vec::new();
    let mut timings = Vec::new();
    let mut description = String::new();
    for &w in &weights {
        let config = TrainConfig {
            sparsity: w,
            ..lab.config(ModelKind::Sparse, WIDE_CODE)
        };
        let run = lab.ensure_config(NAME, &run_name(w), config)?;
        timings.push(Timing::of(run));
        if description.is_empty() {
            description = model_table(ModelKind::Sparse, WIDE_CODE, &run.summary);
        }
        let codes = run.codes(&test_images);
        let s = code_stats(&codes, WIDE_CODE);
        rows.push(vec![
            format!("{w}"),
            format!("{:.4}", s.mean_activation),
            format!("{:.1}%", 100.0 * s.zero_share),
            format!("{:.1}", s.active_per_image),
            s.dead_units.to_string(),
            format!("{:.5}", run.test_mse()),
        ]);
        stats.push((w, s, run.test_mse()));
    }
    // Each unit decoded alone, at its typical active value, for the smallest and largest
    // weight.
    let mut feature_links = Vec::new();
    let ends = [weights.first(), weights.last()];
    for (i, w) in ends.into_iter().flatten().enumerate() {
        if i == 1 && weights.len() < 2 {
            break;
        }
        let s = &stats
            .iter()
            .find(|(x, _, _)| x == w)
            .expect("trained above")
            .1;
        // Row u + 1 sets unit u alone; row 0 is the empty code, whose image is subtracted.
        let mut codes = vec![0.0f32; (WIDE_CODE + 1) * WIDE_CODE];
        for u in 0..WIDE_CODE {
            codes[(u + 1) * WIDE_CODE + u] = s.typical[u];
        }
        let run = lab.find_mut(NAME, &run_name(*w)).expect("trained above");
        let decoded = run.decode(&codes, WIDE_CODE);
        let images = unit_features(&decoded, 784);
        let side = (WIDE_CODE as f64).sqrt().ceil() as usize;
        let grid_rows: Vec<Vec<f32>> = images.chunks(side * 784).map(<[f32]>::to_vec).collect();
        let file = format!("features-{}.png", run_name(*w));
        feature_links.push((*w, lab.save_grid(NAME, &file, &grid_rows)?));
    }

    let mut body = String::from("## Sparse autoencoder\n\n");
    body += &format!(
        "> An L1 penalty on the code activations (weight configurable) on a wide code (K = \
         256, ReLU).\n\n\
         Loss: MSE per pixel + λ·(1/N)·Σₙ Σⱼ |hₙⱼ|, the code's L1 norm per image averaged over \
         the batch; every model trained {} from the same initialisation, λ ∈ {{{}}} \
         (`--sparsity-weights`).\n\n",
        count(lab.settings.epochs, "epoch"),
        weights
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    body += &description;
    body += "\n> Report the mean activation, the share of exactly-zero codes and the \
             reconstruction error for several weights, including 0.\n\n";
    body += &table(
        &[
            "λ",
            "mean activation",
            "exactly zero",
            "active units per image",
            "dead units",
            "test MSE",
        ],
        &rows,
    );
    if let (Some(first), Some(last)) = (stats.first(), stats.last())
        && stats.len() > 1
    {
        body += &format!(
            "\nFrom λ = {} to λ = {}, the share of zeros in the code goes from {:.1}% to \
             {:.1}% ({:.1} to {:.1} active units of 256 per image) while the test MSE goes \
             from {:.5} to {:.5} (×{:.2}): {}.\n\n",
            first.0,
            last.0,
            100.0 * first.1.zero_share,
            100.0 * last.1.zero_share,
            first.1.active_per_image,
            last.1.active_per_image,
            first.2,
            last.2,
            last.2 / first.2,
            match (last.1.zero_share > first.1.zero_share, last.2 > first.2) {
                (true, true) =>
                    "the penalty buys a sparser description, paid for in \
                                 reconstruction error",
                (true, false) =>
                    "the penalty buys a sparser description at no cost in \
                                  reconstruction error",
                (false, _) =>
                    "at these weights and epochs the penalty does not make the code \
                               sparser",
            }
        );
    }
    body += "> A figure of the decoder's learned features (each code unit decoded alone) as a \
             grid.\n\n";
    for (w, link) in &feature_links {
        body += &format!("![decoder features, λ = {w}]({link})\n\n");
    }
    body += &format!(
        "*Each of the 256 code units decoded alone, 16 per row, first for λ = {1}, then for λ = \
         {2}: the code is zero but for that unit, set to its mean value over the {0} test \
         images where it is active, and the tile shows what that adds to the image of the \
         empty code, stretched on its own scale: grey is no change, white adds ink, black \
         removes it. A dead unit (never active on the test set) stays at 0: a uniform grey \
         tile.*\n\n",
        thousands(test_images.len() as u64 / 784),
        weights.first().copied().unwrap_or(0.0),
        weights.last().copied().unwrap_or(0.0),
    );
    Ok(Section { body, timings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_features_are_differences_on_their_own_scale() {
        // Empty image [0.2, 0.2]; unit 0 adds [0.4, 0.0], unit 1 changes nothing.
        let f = unit_features(&[0.2, 0.2, 0.6, 0.2, 0.2, 0.2], 2);
        assert_eq!(f, [1.0, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn statistics_by_hand() {
        // Two images, three units: unit 2 never fires.
        let s = code_stats(&[0.0, 2.0, 0.0, 4.0, 1.0, 0.0], 3);
        assert_eq!(s.zero_share, 0.5);
        assert_eq!(s.active_per_image, 1.5);
        assert_eq!(s.dead_units, 1);
        assert_eq!(s.typical, [4.0, 1.5, 0.0]);
        assert!((s.mean_activation - 7.0 / 6.0).abs() < 1e-12);
    }
}
