//! The sparse autoencoder: 784-256-784 with a ReLU code and an L1 penalty on it, at several
//! weights (0 included); how many of the code's values are zero, the reconstruction error,
//! and what each code unit draws when decoded alone.

use layers::summary::thousands;
use models::ModelKind;
use models::sparse::WIDE_CODE;
use serde::{Deserialize, Serialize};

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::report::markdown::{count, table};
use crate::train::{AeConfig, RunConfig, TrainError};

/// The sparse autoencoder.
pub struct Sparse;

/// What the sparse autoencoder measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// One model per L1 weight, in increasing order of weight.
    pub models: Vec<SparseModel>,
    /// The decoder's features, `(weight, figure)`, for the smallest and the largest weight.
    pub features: Vec<(f64, String)>,
}

/// One model of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseModel {
    /// Its L1 weight λ.
    pub weight: f64,
    /// How it uses its code on the test set.
    pub code: CodeUse,
    /// The model.
    pub card: ModelCard,
}

/// How a code is used on the test set ([`CodeStats`] without the per-unit values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeUse {
    /// Mean value of the code over images and units.
    pub mean_activation: f64,
    /// Share of code values exactly 0.
    pub zero_share: f64,
    /// Mean number of non-zero units per image.
    pub active_per_image: f64,
    /// Units that are 0 for every test image.
    pub dead_units: usize,
}

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
        out.extend(crate::figures::grid::signed_to_grey(&diff));
    }
    out
}

impl CodeStats {
    /// What the section quotes of these statistics.
    pub fn code_use(&self) -> CodeUse {
        CodeUse {
            mean_activation: self.mean_activation,
            zero_share: self.zero_share,
            active_per_image: self.active_per_image,
            dead_units: self.dead_units,
        }
    }
}

/// The run's folder name for an L1 weight.
fn run_name(weight: f64) -> String {
    format!("l1_{weight}")
}

impl Experiment for Sparse {
    const NAME: &'static str = "sparse";
    const ABOUT: &'static str =
        "The sparse autoencoder: an L1 penalty on a wide code, at several weights";
    type Results = Results;

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.models
            .first()
            .map(|m| m.card.table_markdown())
            .unwrap_or_default()
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        // In increasing order, each once (one run folder per weight).
        let mut weights = lab.settings.sparsity_weights.clone();
        weights.sort_by(f64::total_cmp);
        weights.dedup();
        let test_images = lab.splits.test.all_images().into_data();
        let mut models = Vec::new();
        let mut typical = Vec::new();
        for &w in &weights {
            let config = RunConfig {
                model: AeConfig {
                    sparsity: w,
                    ..AeConfig::new(ModelKind::Sparse, WIDE_CODE)
                },
                schedule: lab.schedule(),
            };
            let run = lab.ensure_config(Self::NAME, &run_name(w), config)?;
            let codes = run.codes(&test_images);
            let s = code_stats(&codes, WIDE_CODE);
            models.push(SparseModel {
                weight: w,
                code: s.code_use(),
                card: ModelCard::of(run),
            });
            typical.push(s.typical);
        }
        // Each unit decoded alone, at its typical active value, for the smallest and largest
        // weight.
        let mut features = Vec::new();
        let ends = [0, weights.len().saturating_sub(1)];
        for (i, &end) in ends.iter().enumerate() {
            if end >= weights.len() || (i == 1 && weights.len() < 2) {
                break;
            }
            let w = weights[end];
            // Row u + 1 sets unit u alone; row 0 is the empty code, whose image is subtracted.
            let mut codes = vec![0.0f32; (WIDE_CODE + 1) * WIDE_CODE];
            for u in 0..WIDE_CODE {
                codes[(u + 1) * WIDE_CODE + u] = typical[end][u];
            }
            let run = lab
                .find_mut(Self::NAME, &run_name(w))
                .expect("trained above");
            let decoded = run.decode(&codes, WIDE_CODE);
            let images = unit_features(&decoded, 784);
            let side = (WIDE_CODE as f64).sqrt().ceil() as usize;
            let grid_rows: Vec<Vec<f32>> = images.chunks(side * 784).map(<[f32]>::to_vec).collect();
            let file = format!("features-{}.png", run_name(w));
            features.push((w, lab.save_grid(Self::NAME, &file, &grid_rows)?));
        }
        Ok(Results { models, features })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let weights: Vec<f64> = r.models.iter().map(|m| m.weight).collect();
        let mut body = String::from("## Sparse autoencoder\n\n");
        body += &format!(
            "> An L1 penalty on the code activations (weight configurable) on a wide code (K = \
             256, ReLU).\n\n\
             Loss: MSE per pixel + λ·(1/N)·Σₙ Σⱼ |hₙⱼ|, the code's L1 norm per image averaged \
             over the batch; every model trained {} from the same initialisation, λ ∈ {{{}}} \
             (`--sparsity-weights`).\n\n",
            count(lab.epochs, "epoch"),
            weights
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(first) = r.models.first() {
            body += &first.card.table_link();
        }
        body += "\n> Report the mean activation, the share of exactly-zero codes and the \
                 reconstruction error for several weights, including 0.\n\n";
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    format!("{}", m.weight),
                    format!("{:.4}", m.code.mean_activation),
                    format!("{:.1}%", 100.0 * m.code.zero_share),
                    format!("{:.1}", m.code.active_per_image),
                    m.code.dead_units.to_string(),
                    format!("{:.5}", m.card.final_test_mse()),
                ]
            })
            .collect();
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
        body += &ends_remark(&r.models);
        body += &dead_units_remark(&r.models);
        body += "> A figure of the decoder's learned features (each code unit decoded alone) as \
                 a grid.\n\n";
        for (w, link) in &r.features {
            body += &format!("![decoder features, λ = {w}]({link})\n\n");
        }
        body += &format!(
            "*Each of the 256 code units decoded alone, 16 per row, first for λ = {1}, then for \
             λ = {2}: the code is zero but for that unit, set to its mean value over the {0} \
             test images where it is active, and the tile shows what that adds to the image of \
             the empty code, stretched on its own scale: grey is no change, white adds ink, \
             black removes it. A dead unit (never active on the test set) stays at 0: a uniform \
             grey tile.*\n\n",
            thousands(lab.n_test as u64),
            weights.first().copied().unwrap_or(0.0),
            weights.last().copied().unwrap_or(0.0),
        );
        Section {
            body,
            timings: r.models.iter().map(|m| m.card.timing.clone()).collect(),
        }
    }
}

/// The smallest and the largest weight compared, in a sentence: what the penalty did to
/// the code's zeros and to the test error (empty with fewer than two weights).
fn ends_remark(models: &[SparseModel]) -> String {
    let (Some(first), Some(last)) = (models.first(), models.last()) else {
        return String::new();
    };
    if models.len() < 2 {
        return String::new();
    }
    let (mse0, mse1) = (first.card.final_test_mse(), last.card.final_test_mse());
    format!(
        "\nFrom λ = {} to λ = {}, the share of zeros in the code goes from {:.1}% to {:.1}% \
         ({:.1} to {:.1} active units of 256 per image) while the test MSE goes from {:.5} to \
         {:.5} (×{:.2}): {}.\n\n",
        first.weight,
        last.weight,
        100.0 * first.code.zero_share,
        100.0 * last.code.zero_share,
        first.code.active_per_image,
        last.code.active_per_image,
        mse0,
        mse1,
        mse1 / mse0,
        match (last.code.zero_share > first.code.zero_share, mse1 > mse0) {
            (true, true) => {
                "the penalty buys a sparser description, paid for in reconstruction error"
            }
            (true, false) => {
                "the penalty buys a sparser description at no cost in reconstruction error"
            }
            (false, _) => "at these weights and epochs the penalty does not make the code sparser",
        }
    )
}

/// Where the strongest penalty's zeros come from: units that never fire (dead), or live
/// units that each fire for few images (a distributed sparse code), in a sentence.
fn dead_units_remark(models: &[SparseModel]) -> String {
    let Some(last) = models.iter().max_by(|a, b| a.weight.total_cmp(&b.weight)) else {
        return String::new();
    };
    let code = &last.code;
    let live = WIDE_CODE.saturating_sub(code.dead_units);
    if code.dead_units == 0 || live == 0 {
        return String::new();
    }
    let dead_share = code.dead_units as f64 / WIDE_CODE as f64;
    let live_active = code.active_per_image / live as f64;
    format!(
        "At λ = {}, {} of the {WIDE_CODE} units are dead (zero on every test image): they \
         account for {:.1} of its {:.1} points of zeros, and its {live} live units are each \
         active on {:.0}% of the images on average. {}\n\n",
        last.weight,
        code.dead_units,
        100.0 * dead_share,
        100.0 * code.zero_share,
        100.0 * live_active,
        if dead_share > 0.5 * code.zero_share {
            "The sparsity comes mostly from switching units off for good, a smaller code, \
             rather than from a distributed sparse code where many units each fire for a few \
             images."
        } else {
            "Most of the zeros are live units resting: a distributed sparse code, each unit \
             firing for a part of the images."
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn model(weight: f64, zero_share: f64, test_mse: f64) -> SparseModel {
        SparseModel {
            weight,
            code: CodeUse {
                mean_activation: 0.1,
                zero_share,
                active_per_image: 256.0 * (1.0 - zero_share),
                dead_units: 0,
            },
            card: card(&format!("l1 {weight}"), &[test_mse]),
        }
    }

    fn results(models: Vec<SparseModel>) -> Results {
        Results {
            models,
            features: vec![(0.0, "sparse/features-l1_0.png".into())],
        }
    }

    #[test]
    fn the_verdict_on_the_penalty_follows_the_numbers() {
        let sparser_worse = results(vec![model(0.0, 0.1, 0.004), model(0.001, 0.9, 0.04)]);
        let body = Sparse::render(&sparser_worse, &lab()).body;
        assert!(
            body.contains("goes from 10.0% to 90.0%") && body.contains("(×10.00)"),
            "{body}"
        );
        assert!(body.contains("paid for in reconstruction error"), "{body}");
        let sparser_free = results(vec![model(0.0, 0.1, 0.004), model(0.001, 0.9, 0.003)]);
        let body = Sparse::render(&sparser_free, &lab()).body;
        assert!(
            body.contains("at no cost in reconstruction error"),
            "{body}"
        );
        let not_sparser = results(vec![model(0.0, 0.5, 0.004), model(0.001, 0.4, 0.005)]);
        let body = Sparse::render(&not_sparser, &lab()).body;
        assert!(body.contains("does not make the code sparser"), "{body}");
        // One weight: nothing to compare.
        let body = Sparse::render(&results(vec![model(0.0, 0.1, 0.004)]), &lab()).body;
        assert!(!body.contains("From λ"), "{body}");
    }

    #[test]
    fn the_dead_units_remark_says_where_the_zeros_come_from() {
        let with_dead = |dead: usize, zero_share: f64| {
            let mut strong = model(0.001, zero_share, 0.04);
            strong.code.dead_units = dead;
            Sparse::render(&results(vec![model(0.0, 0.1, 0.004), strong]), &lab()).body
        };
        // 236 dead of 256 (92.2 points) out of 97.7% zeros: killing units.
        let body = with_dead(236, 0.977);
        assert!(body.contains("236 of the 256 units are dead"), "{body}");
        assert!(
            body.contains("account for 92.2 of its 97.7 points"),
            "{body}"
        );
        assert!(
            body.contains("its 20 live units are each active on 29%"),
            "{body}"
        );
        assert!(body.contains("switching units off for good"), "{body}");
        // 20 dead (7.8 points) out of 90% zeros: a distributed code.
        let body = with_dead(20, 0.9);
        assert!(body.contains("live units resting"), "{body}");
        // None dead: no remark.
        assert!(!with_dead(0, 0.9).contains("are dead"));
    }

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
