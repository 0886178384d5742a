//! PCA as the baseline of the dense autoencoders: the same code size K, computed by the
//! engine (covariance, block power iteration, Jacobi), against the linear, ReLU and deep
//! autoencoders for K in {2, 8, 32, 64}; and the first components next to the linear
//! autoencoder's decoder columns.

use models::pca::Pca;
use tensor::Tensor;

use crate::report::markdown::{count, format_mse, table};
use super::{Lab, Section, Timing, tp1};
use crate::figures::chart::{LineChart, Series};
use crate::instruments::quality::mse;
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "pca";

/// The code sizes compared.
pub const SIZES: [usize; 4] = [2, 8, 32, 64];

/// The code size of the components figure.
const PICTURED: usize = 8;

/// Each row of `weights` (`rows·784` values) stretched to `[0, 1]` on its own, 0.5 at 0: a
/// direction in pixel space drawn as an image (white positive, black negative).
pub fn as_images(weights: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(weights.len());
    for row in weights.chunks_exact(784) {
        let peak = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        out.extend(row.iter().map(|v| {
            if peak > 0.0 {
                0.5 + 0.5 * v / peak
            } else {
                0.5
            }
        }));
    }
    out
}

/// Fits PCA, trains the dense models at every K, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
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
    let mut rows = Vec::new();
    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 4];
    let mut timings = Vec::new();
    for k in SIZES {
        let p = pca.truncate(k);
        let pca_mse = mse(p.decode(&p.encode(&test)).data(), &test_images);
        curves[0].push((k as f64, pca_mse));
        let mut row = vec![k.to_string(), format_mse(pca_mse)];
        for (i, kind) in tp1::MODELS.iter().enumerate() {
            // K = 64 is exercise 1's own run when it ran in this process.
            let reuse = k == lab.settings.latent && lab.find(tp1::NAME, kind.id()).is_some();
            let run = if reuse {
                lab.find_mut(tp1::NAME, kind.id()).expect("checked")
            } else {
                let config = lab.config(*kind, k);
                let name = format!("{}_k{k}", kind.id());
                let run = lab.ensure_config(NAME, &name, config)?;
                timings.push(Timing::of(run));
                run
            };
            let test_mse = run.test_mse();
            curves[i + 1].push((k as f64, test_mse));
            row.push(format_mse(test_mse));
        }
        rows.push(row);
    }
    // Components against the linear autoencoder's decoder columns, at K = PICTURED.
    let first = pca.truncate(PICTURED);
    let linear_name = format!("{}_k{PICTURED}", ModelKind::Dense1None.id());
    let config = lab.config(ModelKind::Dense1None, PICTURED);
    let linear = lab.ensure_config(NAME, &linear_name, config)?;
    let weights = linear
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
    let figure = lab.save_grid(
        NAME,
        "components.png",
        &[as_images(first.components.data()), as_images(&columns)],
    )?;
    let labels = ["PCA", "linear-code AE", "ReLU-code AE", "deep ReLU AE"];
    let below = |i: usize| -> Vec<String> {
        SIZES
            .iter()
            .zip(curves[0].iter().zip(&curves[i]))
            .filter(|(_, (p, m))| m.1 < p.1)
            .map(|(k, _)| k.to_string())
            .collect()
    };
    let nonlinear_below = [("ReLU-code", below(2)), ("deep", below(3))];
    let pca_vs_linear: Vec<(usize, f64, f64)> = SIZES
        .iter()
        .zip(curves[0].iter().zip(&curves[1]))
        .map(|(&k, (p, l))| (k, p.1, l.1))
        .collect();
    let chart = LineChart {
        title: "Test MSE against the code size K".into(),
        x_label: "code size K".into(),
        y_label: "test MSE per pixel".into(),
        log_y: true,
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
            })
            .collect(),
    };
    chart.save(&lab.exercise_dir(NAME).join("mse_vs_k.svg"))?;

    let mut body = String::from("## PCA, the linear baseline\n\n");
    body += &format!(
        "> PCA with the same code size K (computed by the engine) against the linear dense \
         autoencoder, the ReLU and the deep ones, for K in {{2, 8, 32, 64}}.\n\n\
         PCA is fitted on the {} training images: their covariance (one GEMM), its leading \
         eigenvectors by block power iteration ({} columns, {} sweeps) and a Jacobi \
         diagonalisation of the small projected matrix. Code z = (x − μ)·Vᵀ, reconstruction \
         z·V + μ (not clipped to [0, 1]). The autoencoders are exercise 1's, trained {} at \
         each K.\n\n",
        layers::summary::thousands(n as u64),
        largest + models::pca::OVERSAMPLE,
        models::pca::ITERATIONS,
        count(lab.settings.epochs, "epoch"),
    );
    body += &table(
        &["K", "PCA", "linear-code AE", "ReLU-code AE", "deep ReLU AE"],
        &rows,
    );
    let gaps: Vec<String> = pca_vs_linear
        .iter()
        .map(|(k, p, l)| format!("{:+.0}% at K = {k}", 100.0 * (l / p - 1.0)))
        .collect();
    body += &format!(
        "\nThe linear-code autoencoder against PCA: {}. {} An encoder and decoder that are \
         both linear, trained on the squared error, reach at best the projection on the K \
         leading principal directions (Baldi & Hornik, 1989; Eckart–Young: nothing linear \
         does better on the data PCA was fitted to), so PCA is where a linear model is headed. \
         Ours has a sigmoid on its output, which bends the decoder (it can beat a linear map \
         where pixels saturate at 0 and 1), and stops after {}. The ReLU and deep models are \
         not linear, so PCA does not bound them: {}.\n\n",
        gaps.join(", "),
        if pca_vs_linear
            .iter()
            .all(|(_, p, l)| (l / p - 1.0).abs() < 0.2)
        {
            "They agree within 20% at every K."
        } else {
            "They differ by more than 20% at some K."
        },
        count(lab.settings.epochs, "epoch"),
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
    body += "![test MSE against K](pca/mse_vs_k.svg)\n\n";
    body += "*Test MSE per pixel against the code size, for PCA (dashed) and the three dense \
             autoencoders.*\n\n";
    body += &format!(
        "> The first principal components next to the linear autoencoder's decoder rows, as \
         images.\n\n![components]({figure})\n\n\
         *Top: the first {PICTURED} principal components; bottom: the {PICTURED} columns of the \
         K = {PICTURED} linear-code autoencoder's decoder (what each code unit adds to the \
         image), each stretched to its own scale (grey 0, white positive, black negative). \
         PCA orders its directions by variance and makes them orthogonal; the autoencoder only \
         needs to span the same subspace, so its columns are mixtures of the components, in no \
         order. The speckle around its digits sits on the pixels near the border, black in every \
         training image, where PCA sees no variance and puts no weight: the decoder can keep \
         them dark through its bias alone, and its weights there stay close to their random \
         start.*\n\n"
    );
    Ok(Section { body, timings })
}
