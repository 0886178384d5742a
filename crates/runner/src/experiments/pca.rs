//! PCA as the baseline of the dense autoencoders: the same code size K, computed by the
//! engine (covariance, block power iteration, Jacobi), against the linear, ReLU and deep
//! autoencoders for K in {2, 8, 32, 64}; and the first components next to the linear
//! autoencoder's decoder columns.

use models::ModelKind;
use models::pca::Pca;
use serde::{Deserialize, Serialize};
use tensor::Tensor;

use super::{Experiment, Lab, LabInfo, Section, Timing, tp1};
use crate::figures::chart::{LineChart, Series};
use crate::instruments::quality::mse;
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, format_mse, table};
use crate::train::{AeRun, TrainError, Trained};

/// PCA against the dense autoencoders.
pub struct AgainstPca;

/// The code sizes compared.
pub const SIZES: [usize; 4] = [2, 8, 32, 64];

/// The code size of the components figure.
const PICTURED: usize = 8;

/// Each row of `weights` (`rows·784` values) stretched to `[0, 1]` on its own, 0.5 at 0: a
/// direction in pixel space drawn as an image (white positive, black negative).
pub fn as_images(weights: &[f32]) -> Vec<f32> {
    weights
        .chunks_exact(784)
        .flat_map(crate::figures::grid::signed_to_grey)
        .collect()
}

/// What the PCA experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Training images PCA was fitted on.
    pub n_train: usize,
    /// Columns of the block power iteration.
    pub power_columns: usize,
    /// Its sweeps.
    pub power_sweeps: usize,
    /// One row per code size of [`SIZES`].
    pub sizes: Vec<SizeRow>,
    /// The code size of the components figure.
    pub pictured: usize,
    /// The chart of test MSE against K.
    pub chart: String,
    /// The components figure.
    pub components: String,
    /// The rows of the timings table: the runs trained for this experiment (exercise 1's
    /// own, at its K, are in its section).
    pub timings: Vec<Timing>,
}

/// The test MSE of PCA and of the three dense autoencoders at one code size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// The code size K.
    pub k: usize,
    /// PCA's test MSE.
    pub pca: f64,
    /// The autoencoders' test MSE, in [`tp1::MODELS`] order.
    pub autoencoders: [f64; 3],
}

/// The names of the autoencoders' columns, in [`tp1::MODELS`] order.
const AE_LABELS: [&str; 3] = ["linear-code AE", "ReLU-code AE", "deep ReLU AE"];

/// The dense model `kind` with code size `k`: exercise 1's own run at the lab's K, else one
/// trained for this experiment (`<kind>_k<K>`).
fn dense_run(lab: &mut Lab, kind: ModelKind, k: usize) -> Result<&mut Trained<AeRun>, TrainError> {
    if k == lab.settings.latent {
        return lab.ensure(tp1::Exercise1::NAME, kind.id(), kind, None);
    }
    let config = lab.config(kind, k);
    lab.ensure_config(AgainstPca::NAME, &format!("{}_k{k}", kind.id()), config)
}

impl Experiment for AgainstPca {
    const NAME: &'static str = "pca";
    const ABOUT: &'static str = "PCA against the dense autoencoders at K = 2, 8, 32, 64";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        // The nonlinear models (ReLU code, deep) against PCA at each code size.
        let best_nonlinear = |row: &SizeRow| row.autoencoders[1].min(row.autoencoders[2]);
        let wins: Vec<&SizeRow> = r
            .sizes
            .iter()
            .filter(|s| best_nonlinear(s) < s.pca)
            .collect();
        let verdict = match wins.len() {
            0 => Verdict::Fails,
            n if n == r.sizes.len() => Verdict::Holds,
            _ => Verdict::Partly,
        };
        let each: Vec<String> = r
            .sizes
            .iter()
            .map(|s| {
                format!(
                    "K = {}: {} against PCA's {}",
                    s.k,
                    format_mse(best_nonlinear(s)),
                    format_mse(s.pca)
                )
            })
            .collect();
        vec![Finding::new(
            Claim::AutoencodersBeatPca,
            verdict,
            format!(
                "the better nonlinear dense autoencoder's test MSE is below PCA's at {} of {} \
                 code sizes ({})",
                wins.len(),
                r.sizes.len(),
                each.join("; ")
            ),
        )]
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let n = lab.splits.train.len();
        if n < 2 {
            return Err("PCA needs at least two training images (--limit)"
                .to_string()
                .into());
        }
        let train = lab.splits.train.all_images().reshape(&[n, 784]);
        let test_images = lab.splits.test.all_images().into_data();
        let test = Tensor::from_vec(&[test_images.len() / 784, 784], test_images.clone());
        let largest = *SIZES.iter().max().expect("sizes");
        let pca = Pca::fit(&train, largest.min(784));
        let mut sizes = Vec::new();
        let mut timings = Vec::new();
        for k in SIZES {
            let p = pca.truncate(k);
            let pca_mse = mse(p.decode(&p.encode(&test)).data(), &test_images);
            let mut autoencoders = [0.0; 3];
            let own = k != lab.settings.latent;
            for (i, kind) in tp1::MODELS.iter().enumerate() {
                let run = dense_run(lab, *kind, k)?;
                if own {
                    timings.push(Timing::of(run));
                }
                autoencoders[i] = run.test_mse();
            }
            sizes.push(SizeRow {
                k,
                pca: pca_mse,
                autoencoders,
            });
        }
        // Components against the linear autoencoder's decoder columns, at K = PICTURED.
        let first = pca.truncate(PICTURED);
        let linear = dense_run(lab, ModelKind::Dense1None, PICTURED)?;
        let weights = linear
            .trainee
            .model
            .state_dict()
            .into_iter()
            .find(|(name, _)| name == "decoder.0.weight")
            .map(|(_, w)| w)
            .ok_or_else(|| "the linear model has no decoder.0.weight".to_string())?;
        // decoder.0.weight is [784, K]: column j is what code unit j adds to the image.
        let columns: Vec<f32> = (0..PICTURED)
            .flat_map(|j| (0..784).map(move |i| (i, j)))
            .map(|(i, j)| weights.data()[i * PICTURED + j])
            .collect();
        let components = lab.save_grid(
            Self::NAME,
            "components.png",
            &[as_images(first.components.data()), as_images(&columns)],
        )?;
        let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 4];
        for row in &sizes {
            let k = row.k as f64;
            curves[0].push((k, row.pca));
            for (i, &m) in row.autoencoders.iter().enumerate() {
                curves[i + 1].push((k, m));
            }
        }
        let labels = ["PCA", AE_LABELS[0], AE_LABELS[1], AE_LABELS[2]];
        let chart = LineChart {
            title: "Test MSE against the code size K".into(),
            x_label: "code size K".into(),
            y_label: "test MSE per pixel".into(),
            log_y: true,
            log_x: true,
            x_whole: true,
            series: curves
                .into_iter()
                .zip(labels)
                .enumerate()
                .map(|(colour, (points, label))| Series {
                    label: label.into(),
                    points,
                    colour,
                    dashed: colour == 0,
                    markers: true,
                })
                .collect(),
            references: Vec::new(),
        };
        chart.save(&lab.exercise_dir(Self::NAME).join("mse_vs_k.svg"))?;
        Ok(Results {
            n_train: n,
            power_columns: largest + models::pca::OVERSAMPLE,
            power_sweeps: models::pca::ITERATIONS,
            sizes,
            pictured: PICTURED,
            chart: format!("{}/mse_vs_k.svg", Self::NAME),
            components,
            timings,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let mut body = String::from("## PCA, the linear baseline\n\n");
        let ks: Vec<String> = r.sizes.iter().map(|s| s.k.to_string()).collect();
        body += &format!(
            "> PCA with the same code size K (computed by the engine) against the linear dense \
             autoencoder, the ReLU and the deep ones, for K in {{{}}}.\n\n\
             PCA is fitted on the {} training images: their covariance (one GEMM), its leading \
             eigenvectors by block power iteration ({} columns, {} sweeps) and a Jacobi \
             diagonalisation of the small projected matrix. Code z = (x − μ)·Vᵀ, \
             reconstruction z·V + μ (not clipped to [0, 1]). The autoencoders are exercise \
             1's, trained {} at each K.\n\n",
            ks.join(", "),
            layers::summary::thousands(r.n_train as u64),
            r.power_columns,
            r.power_sweeps,
            count(lab.epochs, "epoch"),
        );
        let rows: Vec<Vec<String>> = r
            .sizes
            .iter()
            .map(|s| {
                let mut row = vec![s.k.to_string(), format_mse(s.pca)];
                row.extend(s.autoencoders.iter().map(|&m| format_mse(m)));
                row
            })
            .collect();
        let mut headers = vec!["K", "PCA"];
        headers.extend(AE_LABELS);
        body += &table(&headers, &rows);
        let gaps: Vec<String> = r
            .sizes
            .iter()
            .map(|s| {
                format!(
                    "{:+.0}% at K = {}",
                    100.0 * (s.autoencoders[0] / s.pca - 1.0),
                    s.k
                )
            })
            .collect();
        let below = |i: usize| -> Vec<String> {
            r.sizes
                .iter()
                .filter(|s| s.autoencoders[i] < s.pca)
                .map(|s| s.k.to_string())
                .collect()
        };
        let nonlinear_below = [("ReLU-code", below(1)), ("deep", below(2))];
        body += &format!(
            "\nThe linear-code autoencoder against PCA: {}. {} An encoder and decoder that are \
             both linear, trained on the squared error, reach at best the projection on the K \
             leading principal directions (Baldi & Hornik, 1989; Eckart–Young: nothing linear \
             does better on the data PCA was fitted to), so PCA is where a linear model is \
             headed. Ours has a sigmoid on its output, which bends the decoder (it can beat a \
             linear map where pixels saturate at 0 and 1), and stops after {}. The ReLU and \
             deep models are not linear, so PCA does not bound them: {}.\n\n",
            gaps.join(", "),
            if r.sizes
                .iter()
                .all(|s| (s.autoencoders[0] / s.pca - 1.0).abs() < 0.2)
            {
                "They agree within 20% at every K."
            } else {
                "They differ by more than 20% at some K."
            },
            count(lab.epochs, "epoch"),
            nonlinear_below
                .iter()
                .map(|(name, ks)| if ks.is_empty() {
                    format!("the {name} model stays above PCA at every K")
                } else {
                    format!("the {name} model is below PCA at K = {}", ks.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
        body += &format!("![test MSE against K]({})\n\n", r.chart);
        body += "*Test MSE per pixel against the code size, for PCA (dashed) and the three \
                 dense autoencoders, both axes on log scales; a marker at each K measured, one \
                 shape per model, so that curves through the same point both show.*\n\n";
        let (pictured, components) = (r.pictured, &r.components);
        body += &format!(
            "> The first principal components next to the linear autoencoder's decoder rows, \
             as images.\n\n![components]({components})\n\n\
             *Top: the first {pictured} principal components; bottom: the {pictured} columns of \
             the K = {pictured} linear-code autoencoder's decoder (what each code unit adds to \
             the image), each stretched to its own scale (grey 0, white positive, black \
             negative). PCA orders its directions by variance and makes them orthogonal; the \
             autoencoder only needs to span the same subspace, so its columns are mixtures of \
             the components, in no order. The speckle around its digits sits on the pixels \
             near the border, black in every training image, where PCA sees no variance and \
             puts no weight: the decoder can keep them dark through its bias alone, and its \
             weights there stay close to their random start.*\n\n"
        );
        Section {
            body,
            timings: r.timings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    fn results(linear_gap: f64, relu: f64, deep: f64) -> Results {
        let row = |k: usize, pca: f64| SizeRow {
            k,
            pca,
            autoencoders: [pca * (1.0 + linear_gap), pca * relu, pca * deep],
        };
        Results {
            n_train: 10_000,
            power_columns: 72,
            power_sweeps: 150,
            sizes: vec![row(2, 0.05), row(8, 0.04), row(32, 0.02), row(64, 0.01)],
            pictured: 8,
            chart: "pca/mse_vs_k.svg".into(),
            components: "pca/components.png".into(),
            timings: Vec::new(),
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let body = AgainstPca::render(&results(0.1, 1.2, 0.9), &lab()).body;
        assert!(body.contains("for K in {2, 8, 32, 64}"), "{body}");
        assert!(body.contains("+10% at K = 2, +10% at K = 8"), "{body}");
        assert!(body.contains("They agree within 20% at every K."), "{body}");
        assert!(
            body.contains(
                "the ReLU-code model stays above PCA at every K; the deep model is \
                 below PCA at K = 2, 8, 32, 64."
            ),
            "{body}"
        );
        // Flipped: the linear model is far from PCA, the ReLU one below it, the deep one
        // above it.
        let body = AgainstPca::render(&results(-0.5, 0.9, 1.1), &lab()).body;
        assert!(body.contains("-50% at K = 2"), "{body}");
        assert!(
            body.contains("They differ by more than 20% at some K."),
            "{body}"
        );
        assert!(
            body.contains(
                "the ReLU-code model is below PCA at K = 2, 8, 32, 64; the deep model \
                 stays above PCA at every K."
            ),
            "{body}"
        );
    }

    #[test]
    fn the_pca_claim_follows_the_sizes() {
        use crate::report::claims::Verdict;
        let verdict =
            |relu: f64, deep: f64| AgainstPca::claims(&results(0.1, relu, deep), &lab())[0].verdict;
        assert_eq!(verdict(1.2, 0.9), Verdict::Holds);
        assert_eq!(verdict(1.2, 1.1), Verdict::Fails);
        let mut r = results(0.1, 1.2, 1.1);
        r.sizes[0].autoencoders[2] = 0.001;
        assert_eq!(AgainstPca::claims(&r, &lab())[0].verdict, Verdict::Partly);
    }
}
