//! PCA as the baseline of the dense autoencoders: the same code size K, computed by the
//! engine (covariance, block power iteration, Jacobi), against the linear, ReLU and deep
//! autoencoders for K in {2, 8, 32, 64}; the first components next to the linear
//! autoencoder's decoder columns; and four 2-D codes side by side (PCA, the deep dense
//! autoencoder at K = 2, the dense VAE's means, the Gaussian-prior AAE), each scored by its
//! reconstruction error and by how well a 5-nearest-neighbour vote in the plane recovers the
//! digits, the measure of a visualisation used by van der Maaten & Hinton (2008, t-SNE, §5)
//! and by Hinton & Salakhutdinov (2006, Fig. 3) for their 2-D codes.

use models::ModelKind;
use models::pca::Pca;
use serde::{Deserialize, Serialize};
use tensor::Tensor;

use super::{Experiment, Lab, LabInfo, Section, Timing, aae, tp1, vae};
use crate::figures::chart::{LineChart, Series};
use crate::figures::scatter::{ScatterChart, by_class};
use crate::instruments::knn;
use crate::instruments::quality::mse;
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, format_mse, table};
use crate::train::autoencoder::{codes, decode};
use crate::train::{AeRun, TrainError, Trained};

/// PCA against the dense autoencoders.
pub struct AgainstPca;

/// The code sizes compared.
pub const SIZES: [usize; 4] = [2, 8, 32, 64];

/// The code size of the components figure.
const PICTURED: usize = 8;

/// Neighbours voting in the 2-D comparison.
pub const NEIGHBOURS: usize = 5;

/// Training codes the k-NN searches at most (the first ones): the search is exact, so its
/// cost is their number times the test codes'; 10,000 × 10,000 takes about a second.
pub const KNN_TRAIN: usize = 10_000;

/// Test codes the k-NN classifies at most (the first ones).
pub const KNN_TEST: usize = 10_000;

/// Test codes drawn in each 2-D scatter (the first ones): more hide each other.
pub const DRAWN: usize = 2_000;

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
    /// The 2-D codes side by side (absent from results written before it was measured).
    #[serde(default)]
    pub plane: Option<Plane>,
}

/// Four 2-D codes compared: reconstruction from the code, and the digits' separation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    /// Training codes the k-NN searched (the first ones of the training set).
    pub knn_train: usize,
    /// Test codes it classified (the first ones of the test set).
    pub knn_test: usize,
    /// Training images in all, and test images in all (the MSE is on every test image).
    pub n_train: usize,
    /// Test images in all.
    pub n_test: usize,
    /// Neighbours voting.
    pub neighbours: usize,
    /// Test codes drawn in each scatter.
    pub drawn: usize,
    /// PCA, the dense autoencoder, the VAE, the AAE, in that order.
    pub methods: Vec<PlaneRow>,
    /// Whether the VAE is the VAE section's (its `--vae-latent` is 2); else one trained
    /// here with a 2-D code.
    pub vae_of_its_section: bool,
}

/// One 2-D code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneRow {
    /// How the table names it.
    pub title: String,
    /// How sentences name it, with its article (`the VAE`, `PCA`).
    pub short: String,
    /// The test MSE per pixel of the images decoded from the 2-D codes.
    pub mse: f64,
    /// The share of test codes whose k nearest training codes vote for their digit.
    pub knn_accuracy: f64,
    /// Its scatter of test codes.
    pub scatter: String,
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
        let reduction = match wins.len() {
            0 => Verdict::Fails,
            n if n == r.sizes.len() => Verdict::Holds,
            _ => Verdict::Partly,
        };
        // Visualisation: the 2-D dense autoencoder against PCA, on both measures.
        let (verdict, plane) = match &r.plane {
            None => (reduction, String::new()),
            Some(p) => {
                let (pca, ae) = (&p.methods[0], &p.methods[1]);
                let better = [ae.mse < pca.mse, ae.knn_accuracy > pca.knn_accuracy];
                let visual = match better.iter().filter(|&&b| b).count() {
                    0 => Verdict::Fails,
                    2 => Verdict::Holds,
                    _ => Verdict::Partly,
                };
                let verdict = if reduction == visual {
                    reduction
                } else {
                    Verdict::Partly
                };
                (
                    verdict,
                    format!(
                        "; in 2-D, {} against PCA: test MSE {} against {}, {}-NN accuracy \
                         {:.1}% against {:.1}% ({})",
                        ae.short,
                        format_mse(ae.mse),
                        format_mse(pca.mse),
                        p.neighbours,
                        100.0 * ae.knn_accuracy,
                        100.0 * pca.knn_accuracy,
                        p.methods[2..]
                            .iter()
                            .map(|m| format!(
                                "{}: {}, {:.1}%",
                                m.short,
                                format_mse(m.mse),
                                100.0 * m.knn_accuracy
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )
            }
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
                 code sizes ({}){plane}",
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
        let (plane, trained) = plane(lab, &pca)?;
        timings.extend(trained);
        Ok(Results {
            n_train: n,
            power_columns: largest + models::pca::OVERSAMPLE,
            power_sweeps: models::pca::ITERATIONS,
            sizes,
            pictured: PICTURED,
            chart: format!("{}/mse_vs_k.svg", Self::NAME),
            components,
            timings,
            plane: Some(plane),
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
             the components, in no order. The speckle around its strokes sits on the pixels \
             near the border, black in every training image, where PCA sees no variance and \
             puts no weight: the decoder can keep them dark through its bias alone, and its \
             weights there stay close to their random start.*\n\n"
        );
        if let Some(p) = &r.plane {
            body += &plane_markdown(p, lab);
        }
        Section {
            body,
            timings: r.timings.clone(),
        }
    }
}

/// `text` with its first letter in capitals.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The 2-D comparison: protocol, table, the sentences its numbers choose, the scatters.
fn plane_markdown(p: &Plane, lab: &LabInfo) -> String {
    let thousands = |n: usize| layers::summary::thousands(n as u64);
    let k = p.neighbours;
    let noun = &lab.dataset.noun;
    let mut md = format!(
        "> Reduction and visualisation: the codes in two dimensions.\n\n\
         Four 2-D codes of the same images: PCA's first two components; the deep dense \
         autoencoder 784-128-2-128-784, trained as exercise 1's ({}, the K = 2 run of the table \
         above; its code passes through a ReLU, as exercise 1's does, so its codes fill only \
         the quarter-plane z ≥ 0 and pile up on its edges, where a coordinate is cut to 0); \
         {}, its means μ(x) as codes; and the adversarial \
         autoencoder with the N(0, I) prior of the AAE section. For each, the test MSE of the \
         {} test images decoded from their 2-D codes (PCA: its two-component reconstruction), \
         and the {k}-nearest-neighbour accuracy in the plane: each of the first {} test codes \
         takes the {noun} most of its {k} nearest training codes carry (Euclidean distance, \
         exact search among {}), a measure of how far apart a scatter plot keeps the {noun}s \
         (chance: about 10%).\n\n",
        count(lab.epochs, "epoch"),
        if p.vae_of_its_section {
            "the dense VAE of the VAE section"
        } else {
            "a dense VAE 784-512-2-512-784 trained here as the VAE section trains its own"
        },
        thousands(p.n_test),
        thousands(p.knn_test),
        if p.knn_train < p.n_train {
            format!(
                "the first {} of the {} training codes: the exact search's cost is the product \
                 of the two counts",
                thousands(p.knn_train),
                thousands(p.n_train)
            )
        } else {
            format!("the {} training codes", thousands(p.knn_train))
        },
    );
    let rows: Vec<Vec<String>> = p
        .methods
        .iter()
        .map(|m| {
            vec![
                m.title.clone(),
                format_mse(m.mse),
                format!("{:.1}%", 100.0 * m.knn_accuracy),
            ]
        })
        .collect();
    let knn_header = format!("{k}-NN accuracy");
    md += &table(&["2-D code", "test MSE", &knn_header], &rows);
    let (pca, ae) = (&p.methods[0], &p.methods[1]);
    let (lower, separates) = (ae.mse < pca.mse, ae.knn_accuracy > pca.knn_accuracy);
    md += &format!(
        "\n{} against PCA: test MSE {} against {} ({:+.0}%), {k}-NN accuracy {:.1}% against \
         {:.1}%: {}.",
        capitalised(&ae.short),
        format_mse(ae.mse),
        format_mse(pca.mse),
        100.0 * (ae.mse / pca.mse - 1.0),
        100.0 * ae.knn_accuracy,
        100.0 * pca.knn_accuracy,
        match (lower, separates) {
            (true, true) => format!(
                "it beats PCA at both, reducing to two dimensions and keeping the {noun}s apart"
            ),
            (true, false) => {
                format!("it reconstructs better, but PCA keeps the {noun}s apart better")
            }
            (false, true) => {
                format!("it keeps the {noun}s apart better, but PCA reconstructs better")
            }
            (false, false) => "PCA does better at both".to_string(),
        }
    );
    let both: Vec<&str> = p.methods[1..]
        .iter()
        .filter(|m| m.mse < pca.mse && m.knn_accuracy > pca.knn_accuracy)
        .map(|m| m.short.as_str())
        .collect();
    let autoencoders = p.methods.len() - 1;
    md += &if both.is_empty() {
        format!(" None of the {autoencoders} autoencoders beats PCA at both.")
    } else if both.len() == autoencoders {
        format!(" All {autoencoders} autoencoders beat PCA at both.")
    } else {
        format!(
            " Of the {autoencoders} autoencoders, {} beat{} PCA at both.",
            both.join(" and "),
            if both.len() == 1 { "s" } else { "" }
        )
    };
    let best = |score: fn(&PlaneRow) -> f64| {
        p.methods
            .iter()
            .max_by(|a, b| score(a).total_cmp(&score(b)))
            .expect("four codes")
    };
    let (separated, reconstructed) = (best(|m| m.knn_accuracy), best(|m| -m.mse));
    md += &format!(
        " Of the four, {} keeps the {noun}s apart best ({:.1}%) and {} reconstructs best \
         ({}){}.\n\n",
        separated.short,
        100.0 * separated.knn_accuracy,
        reconstructed.short,
        format_mse(reconstructed.mse),
        if separated.short == reconstructed.short {
            ""
        } else {
            "; no code is best at both"
        }
    );
    for m in &p.methods {
        md += &format!("![{}]({}) ", m.short, m.scatter);
    }
    let names: Vec<&str> = p.methods.iter().map(|m| m.short.as_str()).collect();
    md += &format!(
        "\n\n*The first {} test codes of each, coloured by {noun}, the same scale on both \
         axes; in order: {}.*\n\n",
        thousands(p.drawn),
        names.join(", ")
    );
    md
}

/// One method's 2-D codes: of the k-NN's training images, of every test image, and the test
/// images decoded from them.
struct Coded {
    title: String,
    short: String,
    /// Its scatter's file name, without `.svg`.
    file: &'static str,
    /// Its first axis' title (z₁ for a learnt code).
    axes: [&'static str; 2],
    train: Vec<f32>,
    test: Vec<f32>,
    decoded: Vec<f32>,
}

/// The four 2-D codes: PCA's, the deep dense autoencoder's at K = 2 (trained above), the
/// dense VAE's means and the Gaussian AAE's (the runs of their own sections when the lab
/// trains them with a 2-D code). Returns the comparison and the timings of the VAE and the
/// AAE (the autoencoder's are the K = 2 row's).
fn plane(lab: &mut Lab, pca: &Pca) -> Result<(Plane, Vec<Timing>), TrainError> {
    let train_images = lab.splits.train.all_images().into_data();
    let test_images = lab.splits.test.all_images().into_data();
    let (n_train, n_test) = (train_images.len() / 784, test_images.len() / 784);
    let knn_train = KNN_TRAIN.min(n_train);
    let knn_test = KNN_TEST.min(n_test);
    // Fewer voters than neighbours only under a tiny --limit.
    let neighbours = NEIGHBOURS.min(knn_train);
    let searched = &train_images[..knn_train * 784];
    let mut timings = Vec::new();
    let mut coded = Vec::new();

    let p = pca.truncate(2);
    let test_codes = p.encode(&Tensor::from_vec(&[n_test, 784], test_images.clone()));
    coded.push(Coded {
        title: "PCA, 2 components".into(),
        short: "PCA".into(),
        file: "pca",
        axes: ["first principal component", "second principal component"],
        train: p
            .encode(&Tensor::from_vec(&[knn_train, 784], searched.to_vec()))
            .into_data(),
        decoded: p.decode(&test_codes).into_data(),
        test: test_codes.into_data(),
    });

    let kind = ModelKind::Dense2Relu;
    let run = dense_run(lab, kind, 2)?;
    let test = run.codes(&test_images);
    coded.push(Coded {
        title: kind.title(2),
        short: "the deep dense autoencoder".into(),
        file: "ae",
        axes: ["z₁", "z₂"],
        train: run.codes(searched),
        decoded: run.decode(&test, 2),
        test,
    });

    // The VAE section's dense VAE when it has a 2-D code, else one of its own.
    let kind = ModelKind::Vae;
    let config = lab.vae_config(kind, 2);
    let run = if lab.settings.vae_latent == 2 {
        lab.ensure_config(vae::Variational::NAME, kind.id(), config)?
    } else {
        lab.ensure_config(AgainstPca::NAME, "vae_k2", config)?
    };
    // Listed once in the report's timings, whichever section lists it first.
    timings.push(Timing::of(run));
    // Evaluation mode: the codes are the means μ(x), decoded as they are.
    let test = run.codes(&test_images);
    coded.push(Coded {
        title: format!("{}, means μ(x)", kind.title(2)),
        short: "the VAE".into(),
        file: "vae",
        axes: ["z₁", "z₂"],
        train: run.codes(searched),
        decoded: run.decode(&test, 2),
        test,
    });

    let run = aae::ensure(lab, "aae_gaussian")?;
    timings.push(Timing::of(run));
    let model = &mut run.trainee.model;
    let test = codes(model, &test_images);
    coded.push(Coded {
        title: "AAE 784-256-256-2, prior N(0, I)".into(),
        short: "the AAE".into(),
        file: "aae",
        axes: ["z₁", "z₂"],
        train: codes(model, searched),
        decoded: decode(model, &test, 2),
        test,
    });

    let train_labels = &lab.splits.train.labels[..knn_train];
    let test_labels = &lab.splits.test.labels;
    let drawn = DRAWN.min(n_test);
    let mut methods = Vec::new();
    for c in coded {
        let chart = ScatterChart {
            title: format!(
                "{}: the first {} test codes",
                c.title,
                layers::summary::thousands(drawn as u64)
            ),
            x_label: c.axes[0].into(),
            y_label: c.axes[1].into(),
            sets: by_class(&c.test[..2 * drawn], &test_labels[..drawn], &lab.identity),
        };
        let scatter =
            lab.save_scatter(AgainstPca::NAME, &format!("plane-{}.svg", c.file), &chart)?;
        methods.push(PlaneRow {
            title: c.title,
            short: c.short,
            mse: mse(&c.decoded, &test_images),
            knn_accuracy: knn::accuracy(
                &c.train,
                train_labels,
                &c.test[..2 * knn_test],
                &test_labels[..knn_test],
                2,
                neighbours,
            ),
            scatter,
        });
    }
    let plane = Plane {
        knn_train,
        knn_test,
        n_train,
        n_test,
        neighbours,
        drawn,
        methods,
        vae_of_its_section: lab.settings.vae_latent == 2,
    };
    Ok((plane, timings))
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
            plane: None,
        }
    }

    /// The 2-D comparison with the autoencoder's MSE and 5-NN accuracy `ae`, against PCA's
    /// 0.05 and 40%.
    fn plane(ae: (f64, f64), knn_train: usize) -> Plane {
        let row = |short: &str, mse: f64, knn_accuracy: f64| PlaneRow {
            title: short.to_uppercase(),
            short: short.into(),
            mse,
            knn_accuracy,
            scatter: format!("pca/plane-{short}.svg"),
        };
        Plane {
            knn_train,
            knn_test: 10_000,
            n_train: 10_000,
            n_test: 10_000,
            neighbours: 5,
            drawn: 2_000,
            methods: vec![
                row("PCA", 0.05, 0.40),
                row("the autoencoder", ae.0, ae.1),
                row("the VAE", 0.045, 0.65),
                row("the AAE", 0.048, 0.55),
            ],
            vae_of_its_section: true,
        }
    }

    #[test]
    fn the_plane_sentences_follow_the_numbers() {
        let mut r = results(0.1, 1.2, 0.9);
        r.plane = Some(plane((0.04, 0.70), 10_000));
        let body = AgainstPca::render(&r, &lab()).body;
        assert!(
            body.contains("| THE AUTOENCODER | 0.04000 | 70.0% |"),
            "{body}"
        );
        assert!(
            body.contains(
                "The autoencoder against PCA: test MSE 0.04000 against 0.05000 (-20%), 5-NN \
                 accuracy 70.0% against 40.0%: it beats PCA at both"
            ),
            "{body}"
        );
        assert!(
            body.contains(
                "Of the four, the autoencoder keeps the digits apart best (70.0%) and the \
                 autoencoder reconstructs best (0.04000)."
            ),
            "{body}"
        );
        assert!(
            body.contains("exact search among the 10,000 training codes"),
            "{body}"
        );
        assert!(body.contains("the dense VAE of the VAE section"), "{body}");
        // Flipped: the autoencoder separates less and reconstructs worse than PCA, the VAE
        // separates best, and the search is capped.
        r.plane = Some(plane((0.06, 0.30), 10_000));
        let body = AgainstPca::render(&r, &lab()).body;
        assert!(body.contains("40.0%: PCA does better at both."), "{body}");
        assert!(
            body.contains("Of the 3 autoencoders, the VAE and the AAE beat PCA at both."),
            "{body}"
        );
        assert!(
            body.contains(
                "the VAE keeps the digits apart best (65.0%) and the VAE reconstructs best \
                 (0.04500)."
            ),
            "{body}"
        );
        r.plane = Some(plane((0.06, 0.70), 5_000));
        let body = AgainstPca::render(&r, &lab()).body;
        assert!(
            body.contains("it keeps the digits apart better, but PCA reconstructs better"),
            "{body}"
        );
        assert!(
            body.contains("the autoencoder keeps the digits apart best (70.0%) and the VAE"),
            "{body}"
        );
        assert!(body.contains("; no code is best at both."), "{body}");
        assert!(
            body.contains("the first 5,000 of the 10,000 training codes"),
            "{body}"
        );
    }

    #[test]
    fn the_plane_joins_the_pca_claim() {
        use crate::report::claims::Verdict;
        let claim = |relu: f64, deep: f64, ae: (f64, f64)| {
            let mut r = results(0.1, relu, deep);
            r.plane = Some(plane(ae, 10_000));
            AgainstPca::claims(&r, &lab())[0].clone()
        };
        // Below PCA at every K, and better in 2-D at both.
        let f = claim(1.2, 0.9, (0.04, 0.70));
        assert_eq!(f.verdict, Verdict::Holds);
        assert!(
            f.evidence.ends_with(
                "; in 2-D, the autoencoder against PCA: test MSE 0.04000 against 0.05000, \
                 5-NN accuracy 70.0% against 40.0% (the VAE: 0.04500, 65.0%; the AAE: 0.04800, \
                 55.0%)"
            ),
            "{}",
            f.evidence
        );
        // Below PCA at every K, but not in 2-D: in part.
        assert_eq!(claim(1.2, 0.9, (0.06, 0.30)).verdict, Verdict::Partly);
        // Above at every K and in 2-D at both: fails; better at separating only: in part.
        assert_eq!(claim(1.2, 1.1, (0.06, 0.30)).verdict, Verdict::Fails);
        assert_eq!(claim(1.2, 1.1, (0.06, 0.70)).verdict, Verdict::Partly);
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
