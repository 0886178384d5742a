//! The contractive autoencoder: 784-K-784 with a sigmoid code, trained with and without the
//! penalty λ·‖J_f(x)‖²_F; the Jacobian's size on test images, the reconstruction error, and
//! how far the code moves when the input moves a little.

use layers::Graph;
use models::contractive::Contractive as Cae;
use models::{Autoencoder, ModelKind};
use serde::{Deserialize, Serialize};
use tensor::{Tensor, rng};

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::report::markdown::{count, table};
use crate::train::TrainError;
use crate::train::autoencoder::TEST_NOISE_SEED;

/// The contractive autoencoder.
pub struct Contractive;

/// The standard deviation of the small input moves.
const NUDGE: f32 = 0.05;

/// The seed of the small input moves.
const NUDGE_SEED: u64 = TEST_NOISE_SEED + 5;

/// Test images measured (at most): one batch through the encoder.
const MEASURED: usize = 2_000;

/// What the contractive autoencoder measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The penalty's weight λ of the second model (`--contraction`).
    pub lambda: f64,
    /// Test images measured (the first ones).
    pub measured: usize,
    /// The standard deviation of the input moves.
    pub nudge: f32,
    /// Their seed.
    pub nudge_seed: u64,
    /// The model with λ = 0, then the one with λ = [`Results::lambda`].
    pub models: Vec<ContractiveModel>,
}

/// One model's figures on the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContractiveModel {
    /// Its penalty weight λ.
    pub weight: f64,
    /// Mean `‖J‖²_F` per image.
    pub jacobian: f64,
    /// Mean `‖h(x + δ) − h(x)‖ / ‖δ‖`.
    pub movement: f64,
    /// The model.
    pub card: ModelCard,
}

/// `‖J‖²_F` averaged over `images`, and the code's mean movement per unit of input move
/// under Gaussian nudges of standard deviation [`NUDGE`] (seed [`NUDGE_SEED`]).
fn jacobian_and_movement(cae: &mut Cae, images: &[f32]) -> (f64, f64) {
    let n = images.len() / 784;
    let mut g = Graph::no_grad();
    let x = g.input(Tensor::from_vec(&[n, 1, 28, 28], images.to_vec()));
    let h = cae.encode(&mut g, x);
    let penalty = cae.jacobian_penalty(&mut g, h);
    let jacobian = g.value(penalty).item() as f64;
    let delta = Tensor::normal(&[n, 1, 28, 28], 0.0, NUDGE, &mut rng(NUDGE_SEED));
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

impl Experiment for Contractive {
    const NAME: &'static str = "contractive";
    const ABOUT: &'static str =
        "The contractive autoencoder: the Jacobian penalty, with and without";
    type Results = Results;

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.models
            .first()
            .map(|m| m.card.table_markdown())
            .unwrap_or_default()
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let (latent, lambda) = (lab.settings.latent, lab.settings.contraction);
        // Measured on (at most) the first 2,000 test images: one batch through the encoder.
        let n = lab.splits.test.len().min(MEASURED);
        let images = lab
            .splits
            .test
            .images(&(0..n).collect::<Vec<_>>())
            .into_data();
        let mut models = Vec::new();
        for weight in [0.0, lambda] {
            let mut config = lab.config(ModelKind::Contractive, latent);
            config.model.contraction = weight;
            let run = lab.ensure_config(Self::NAME, &format!("lambda_{weight}"), config)?;
            // The run's model as its own type, for its Jacobian penalty.
            let mut cae = Cae::new(latent, weight as f32, &mut rng(0));
            layers::io::load(run.dir.join("model.safetensors"), &mut cae)
                .map_err(|e| e.to_string())?;
            let (jacobian, movement) = jacobian_and_movement(&mut cae, &images);
            models.push(ContractiveModel {
                weight,
                jacobian,
                movement,
                card: ModelCard::of(run),
            });
        }
        Ok(Results {
            lambda,
            measured: n,
            nudge: NUDGE,
            nudge_seed: NUDGE_SEED,
            models,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let lambda = r.lambda;
        let mut body = String::from("## Contractive autoencoder\n\n");
        body += &format!(
            "> Reconstruction + lambda * ||J_f(x)||_F^2 for a sigmoid dense encoder, with the \
             closed form ||J||_F^2 = sum_j (h_j(1-h_j))^2 * sum_i W_ji^2 on the tape.\n\n\
             Loss: MSE per pixel + λ·‖J‖²_F per image (batch mean), the closed form recorded \
             with ordinary ops, so the backward pass differentiates it like the rest (a test \
             checks it against the Jacobian computed row by row through the tape). Both models \
             trained {} from the same initialisation, λ = 0 and λ = {lambda} \
             (`--contraction`).\n\n",
            count(lab.epochs, "epoch"),
        );
        if let Some(first) = r.models.first() {
            body += &first.card.table_link();
        }
        body += &format!(
            "\n> Report: the Jacobian norm on test images and the reconstruction error with and \
             without the penalty, and how much the code moves under small input noise.\n\n\
             On the first {} test images; the input nudged by Gaussian noise of standard \
             deviation {} (seed {}), the movement is ‖h(x + δ) − h(x)‖ / ‖δ‖ per image, \
             averaged.\n\n",
            layers::summary::thousands(r.measured as u64),
            r.nudge,
            r.nudge_seed
        );
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    format!("{}", m.weight),
                    format!("{:.4}", m.jacobian),
                    format!("{:.4}", m.jacobian.sqrt()),
                    format!("{:.5}", m.card.final_test_mse()),
                    format!("{:.4}", m.movement),
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
        if let [plain, cae] = &r.models[..] {
            body += &penalty_remark(plain, cae);
        }
        Section {
            body,
            timings: r.models.iter().map(|m| m.card.timing.clone()).collect(),
        }
    }
}

/// What the penalty did, in a sentence: to the Jacobian, to the code's movement, and (when
/// the code moves less but reconstructs worse) what that cost.
fn penalty_remark(plain: &ContractiveModel, cae: &ContractiveModel) -> String {
    let factor = |a: f64, b: f64| {
        if b < a {
            format!("divides by {:.1}", a / b)
        } else {
            format!("multiplies by {:.2}", b / a)
        }
    };
    let (plain_mse, cae_mse) = (plain.card.final_test_mse(), cae.card.final_test_mse());
    format!(
        "\nThe penalty {} the Jacobian's squared norm ({:.4} → {:.4}) and {} the code's \
         movement under the same nudges; the test MSE goes from {:.5} to {:.5}{}.\n\n",
        factor(plain.jacobian, cae.jacobian),
        plain.jacobian,
        cae.jacobian,
        factor(plain.movement, cae.movement),
        plain_mse,
        cae_mse,
        if cae.movement < plain.movement && cae_mse > plain_mse {
            format!(
                " ({:+.0}%): a code that moves less when the input moves, paid for in \
                 reconstruction error",
                100.0 * (cae_mse / plain_mse - 1.0)
            )
        } else {
            String::new()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::{card, lab};

    fn model(weight: f64, jacobian: f64, movement: f64, test_mse: f64) -> ContractiveModel {
        ContractiveModel {
            weight,
            jacobian,
            movement,
            card: card(&format!("lambda {weight}"), &[test_mse]),
        }
    }

    fn results(cae: ContractiveModel) -> Results {
        Results {
            lambda: cae.weight,
            measured: 2000,
            nudge: 0.05,
            nudge_seed: 1239,
            models: vec![model(0.0, 6.0, 0.09, 0.036), cae],
        }
    }

    #[test]
    fn the_verdict_on_the_penalty_follows_the_numbers() {
        let body = Contractive::render(&results(model(0.03, 0.08, 0.009, 0.057)), &lab()).body;
        assert!(
            body.contains("The penalty divides by 75.0 the Jacobian's squared norm"),
            "{body}"
        );
        assert!(
            body.contains("divides by 10.0 the code's movement"),
            "{body}"
        );
        assert!(
            body.contains("(+58%): a code that moves less when the input moves"),
            "{body}"
        );
        assert!(body.contains("deviation 0.05 (seed 1239)"), "{body}");
        // Flipped: the penalty made things worse on both counts, and reconstructs better.
        let body = Contractive::render(&results(model(0.03, 12.0, 0.18, 0.030)), &lab()).body;
        assert!(
            body.contains("The penalty multiplies by 2.00 the Jacobian's squared norm"),
            "{body}"
        );
        assert!(
            body.contains("multiplies by 2.00 the code's movement"),
            "{body}"
        );
        assert!(!body.contains("paid for"), "{body}");
        // The code moves less at no cost: no price to name.
        let body = Contractive::render(&results(model(0.03, 0.08, 0.009, 0.030)), &lab()).body;
        assert!(!body.contains("paid for"), "{body}");
    }
}
