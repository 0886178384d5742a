//! The contractive autoencoder: 784-K-784 with a sigmoid code, trained with and without the
//! penalty λ·‖J_f(x)‖²_F; the Jacobian's size on test images, the reconstruction error, and
//! how far the code moves when the input moves a little.

use layers::Graph;
use models::Autoencoder;
use models::contractive::Contractive;
use tensor::{Tensor, rng};

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, model_table};
use crate::train::{TEST_NOISE_SEED, TrainConfig, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "contractive";

/// The standard deviation of the small input moves.
const NUDGE: f32 = 0.05;

/// A trained model's figures on the test set.
#[derive(Clone, Debug)]
struct Figures {
    weight: f64,
    /// Mean `‖J‖²_F` per image.
    jacobian: f64,
    test_mse: f64,
    /// Mean `‖h(x + δ) − h(x)‖ / ‖δ‖`.
    movement: f64,
}

/// `‖J‖²_F` averaged over `images`, and the code's mean movement per unit of input move
/// under Gaussian nudges of standard deviation [`NUDGE`] (seed `TEST_NOISE_SEED + 5`).
fn measure(cae: &mut Contractive, images: &[f32]) -> (f64, f64) {
    let n = images.len() / 784;
    let mut g = Graph::no_grad();
    let x = g.input(Tensor::from_vec(&[n, 1, 28, 28], images.to_vec()));
    let h = cae.encode(&mut g, x);
    let penalty = cae.jacobian_penalty(&mut g, h);
    let jacobian = g.value(penalty).item() as f64;
    let delta = Tensor::normal(&[n, 1, 28, 28], 0.0, NUDGE, &mut rng(TEST_NOISE_SEED + 5));
    let moved = g.input(Tensor::from_vec(&[n, 1, 28, 28], images.to_vec()).add(&delta));
    let h2 = cae.encode(&mut g, moved);
    let latent = g.shape(h)[1];
    let (a, b) = (g.value(h).data(), g.value(h2).data());
    let mut ratio = 0.0;
    for i in 0..n {
        let dh: f64 = (0..latent)
            .map(|j| (a[i * latent + j] as f64 - b[i * latent + j] as f64).powi(2))
            .sum();
        let dx: f64 = delta.data()[i * 784..(i + 1) * 784]
            .iter()
            .map(|&v| (v as f64).powi(2))
            .sum();
        ratio += dh.sqrt() / dx.sqrt();
    }
    (jacobian, ratio / n.max(1) as f64)
}

/// Trains the model with λ = 0 and λ = `--contraction`, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let (latent, lambda) = (lab.settings.latent, lab.settings.contraction);
    // Measured on (at most) the first 2,000 test images: one batch through the encoder.
    let n = lab.splits.test.len().min(2_000);
    let images = lab
        .splits
        .test
        .images(&(0..n).collect::<Vec<_>>())
        .into_data();
    let mut figures = Vec::new();
    let mut timings = Vec::new();
    let mut description = String::new();
    for weight in [0.0, lambda] {
        let config = TrainConfig {
            contraction: weight,
            ..lab.config(ModelKind::Contractive, latent)
        };
        let run = lab.ensure_config(NAME, &format!("lambda_{weight}"), config)?;
        timings.push(Timing::of(run));
        if description.is_empty() {
            description = model_table(ModelKind::Contractive, latent, &run.summary);
        }
        let mut cae = Contractive::new(latent, weight as f32, &mut rng(0));
        layers::io::load(run.dir.join("model.safetensors"), &mut cae).map_err(|e| e.to_string())?;
        let (jacobian, movement) = measure(&mut cae, &images);
        figures.push(Figures {
            weight,
            jacobian,
            test_mse: run.test_mse(),
            movement,
        });
    }

    let mut body = String::from("## Contractive autoencoder\n\n");
    body += &format!(
        "> Reconstruction + lambda * ||J_f(x)||_F^2 for a sigmoid dense encoder, with the \
         closed form ||J||_F^2 = sum_j (h_j(1-h_j))^2 * sum_i W_ji^2 on the tape.\n\n\
         Loss: MSE per pixel + λ·‖J‖²_F per image (batch mean), the closed form recorded with \
         ordinary ops, so the backward pass differentiates it like the rest (a test checks it \
         against the Jacobian computed row by row through the tape). Both models trained {} \
         from the same initialisation, λ = 0 and λ = {lambda} (`--contraction`).\n\n",
        count(lab.settings.epochs, "epoch"),
    );
    body += &description;
    body += &format!(
        "\n> Report: the Jacobian norm on test images and the reconstruction error with and \
         without the penalty, and how much the code moves under small input noise.\n\n\
         On the first {} test images; the input nudged by Gaussian noise of standard \
         deviation {NUDGE} (seed {}), the movement is ‖h(x + δ) − h(x)‖ / ‖δ‖ per image, \
         averaged.\n\n",
        layers::summary::thousands(n as u64),
        TEST_NOISE_SEED + 5
    );
    let rows: Vec<Vec<String>> = figures
        .iter()
        .map(|f| {
            vec![
                format!("{}", f.weight),
                format!("{:.4}", f.jacobian),
                format!("{:.4}", f.jacobian.sqrt()),
                format!("{:.5}", f.test_mse),
                format!("{:.4}", f.movement),
            ]
        })
        .collect();
    body += &table(
        &[
            "λ",
            "‖J‖²_F",
            "‖J‖_F",
            "test MSE",
            "code movement per unit of input move",
        ],
        &rows,
    );
    let (plain, cae) = (&figures[0], &figures[1]);
    let factor = |a: f64, b: f64| {
        if b < a {
            format!("divides by {:.1}", a / b)
        } else {
            format!("multiplies by {:.2}", b / a)
        }
    };
    body += &format!(
        "\nThe penalty {} the Jacobian's squared norm ({:.4} → {:.4}) and {} the code's \
         movement under the same nudges; the test MSE goes from {:.5} to {:.5}{}.\n\n",
        factor(plain.jacobian, cae.jacobian),
        plain.jacobian,
        cae.jacobian,
        factor(plain.movement, cae.movement),
        plain.test_mse,
        cae.test_mse,
        if cae.movement < plain.movement && cae.test_mse > plain.test_mse {
            format!(
                " ({:+.0}%): a code that moves less when the input moves, paid for in \
                 reconstruction error",
                100.0 * (cae.test_mse / plain.test_mse - 1.0)
            )
        } else {
            String::new()
        },
    );
    Ok(Section { body, timings })
}
