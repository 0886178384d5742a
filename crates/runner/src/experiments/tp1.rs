//! Exercise 1: three dense autoencoders with a code of K values (64 by default): 784-K-784
//! with a linear code, the same with ReLU on the code, and 784-128-K-128-784 with ReLU;
//! sigmoid output on all. Tables, complexity, training, test error, reconstructions.

use layers::summary::thousands;
use models::ModelKind;
use serde::{Deserialize, Serialize};
use tensor::Tensor;

use super::{Experiment, Lab, LabInfo, ModelCard, Section};
use crate::instruments::quality::psnr;
use crate::report::claims::{Claim, Finding, Verdict};
use crate::report::markdown::{count, format_mse, table, times};
use crate::train::{AeRun, TrainError, Trained};

/// Exercise 1.
pub struct Exercise1;

/// The models of exercise 1.
pub const MODELS: [ModelKind; 3] = [
    ModelKind::Dense1None,
    ModelKind::Dense1Relu,
    ModelKind::Dense2Relu,
];

/// What exercise 1 measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The three models, in [`MODELS`] order.
    pub models: Vec<ModelCard>,
    /// How the ReLU-code model uses its code on the test set.
    pub relu_code: CodeUse,
    /// The grid of originals and reconstructions.
    pub reconstructions: String,
    /// The loss curves.
    pub losses: String,
}

/// How a ReLU code is used on the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeUse {
    /// Share of code values that are exactly zero.
    pub zero_share: f64,
    /// Code units that are zero for every test image.
    pub dead_units: usize,
    /// Code units in all.
    pub units: usize,
}

impl Experiment for Exercise1 {
    const NAME: &'static str = "tp1";
    const ABOUT: &'static str =
        "Exercise 1: dense autoencoders 784-K-784 (linear and ReLU code) and 784-128-K-128-784";
    type Results = Results;

    fn claims(r: &Results, _: &LabInfo) -> Vec<Finding> {
        let best = r
            .models
            .iter()
            .min_by(|a, b| a.final_test_mse().total_cmp(&b.final_test_mse()))
            .expect("three models");
        let mse = best.final_test_mse();
        let (verdict, how) = if mse > 0.0 {
            (
                Verdict::Holds,
                "none of the three reconstructs the test set exactly",
            )
        } else {
            (Verdict::Fails, "it reconstructs the test set exactly")
        };
        vec![Finding::new(
            Claim::ReconstructionsAreLossy,
            verdict,
            format!(
                "the best dense model, the {}, has a test MSE of {} (PSNR {:.1} dB): {how}",
                best.short,
                format_mse(mse),
                psnr(mse)
            ),
        )]
    }

    fn appendix(r: &Results, _: &LabInfo) -> String {
        r.models.iter().map(ModelCard::table_markdown).collect()
    }

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let latent = lab.settings.latent;
        let samples = lab.sample_images();
        let test_images = lab.splits.test.all_images();
        let mut rows = vec![samples.clone()];
        let mut models = Vec::new();
        let mut relu_code = None;
        for kind in MODELS {
            let run = lab.ensure(Self::NAME, kind.id(), kind, None)?;
            rows.push(run.reconstruct(&samples));
            if kind == ModelKind::Dense1Relu {
                relu_code = Some(code_use(run, &test_images));
            }
            models.push(ModelCard::of(run));
        }
        let reconstructions = lab.save_grid(Self::NAME, "reconstructions.png", &rows)?;
        let keys: Vec<(String, &str, &str)> = MODELS
            .iter()
            .map(|k| (k.title(latent), Self::NAME, k.id()))
            .collect();
        let losses = lab.save_loss_chart(
            Self::NAME,
            &format!(
                "Exercise 1: dense autoencoders (K = {latent}), {} {} training images",
                thousands(lab.splits.train.len() as u64),
                lab.identity.short()
            ),
            &keys,
        )?;
        Ok(Results {
            models,
            relu_code: relu_code.expect("the ReLU-code model is one of MODELS"),
            reconstructions,
            losses,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let latent = lab.latent;
        let mut body = format!("## Exercise 1: dense autoencoders (K = {latent})\n\n");
        body += "> Instantiate the dense autoencoder 784-K-784 with K = 64 without activation on \
                 the code, the same with ReLU, and the deep one 784-128-K-128-784 with ReLU \
                 (sigmoid output on all). Fill in each model's description table.\n\n";
        body += "Their description tables (layers, output shapes, parameters, multiply-adds per \
                 image) are in the [appendix](#appendix-the-models-description-tables).\n\n";

        body += "> Compare their complexity (parameters, and multiply-adds).\n\n";
        let base = &r.models[0].table;
        let deep = &r.models[2].table;
        body += &format!(
            "The two one-layer models are the same size: {} parameters and {} multiply-adds per \
             image (the ReLU has neither). The deep one has {} parameters ({} as many) and {} \
             multiply-adds ({}): its outer layers connect the 784 pixels to 128 units instead \
             of {latent}, and the inner 128-{latent} layers add little.\n\n",
            thousands(base.total_params as u64),
            thousands(base.mult_adds_per_sample),
            thousands(deep.total_params as u64),
            times(deep.total_params as f64 / base.total_params as f64),
            thousands(deep.mult_adds_per_sample),
            times(deep.mult_adds_per_sample as f64 / base.mult_adds_per_sample as f64),
        );

        body += "> Train them. Compare their performance on the test set.\n\n";
        let table_rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    m.title.clone(),
                    thousands(m.table.total_params as u64),
                    thousands(m.table.mult_adds_per_sample),
                    format_mse(m.final_test_mse()),
                    format!("{:.2}", psnr(m.final_test_mse())),
                ]
            })
            .collect();
        body += &table(
            &[
                "model",
                "parameters",
                "mult-adds / image",
                "test MSE",
                "PSNR (dB)",
            ],
            &table_rows,
        );
        let mut ranked: Vec<&ModelCard> = r.models.iter().collect();
        ranked.sort_by(|a, b| a.final_test_mse().total_cmp(&b.final_test_mse()));
        body += &format!(
            "\nAfter {} the {} reconstructs the test set best (MSE {}), then the {} ({}), \
             then the {} ({}). {}{}\n\n",
            count(lab.epochs, "epoch"),
            ranked[0].short,
            format_mse(ranked[0].final_test_mse()),
            ranked[1].short,
            format_mse(ranked[1].final_test_mse()),
            ranked[2].short,
            format_mse(ranked[2].final_test_mse()),
            relu_remark(&r.models, &r.relu_code),
            still_learning(&r.models),
        );
        body += &format!("![train and test loss per epoch]({})\n\n", r.losses);
        body += "*Loss per epoch: training (dashed, mean over the epoch's batches) and test \
                 (solid, after the epoch).*\n\n";
        body += "> Show original images above their reconstructions.\n\n";
        body += &format!(
            "![originals and reconstructions]({})\n\n",
            r.reconstructions
        );
        body += &format!(
            "*Rows, top to bottom: {}; its reconstruction by the {}, the {} and the {}.*\n\n",
            lab.samples_caption(),
            r.models[0].short,
            r.models[1].short,
            r.models[2].short
        );
        Section {
            body,
            timings: r.models.iter().map(|m| m.timing.clone()).collect(),
        }
    }
}

/// The share by which a model's test error fell in its last epoch (0 with one epoch).
fn last_drop(model: &ModelCard) -> f64 {
    match model.test_mse.as_slice() {
        [.., before, last] => 1.0 - last / before,
        _ => 0.0,
    }
}

/// Which models were still improving at the end (their test error fell by more than 1% in
/// the last epoch), in a sentence that says what that means for the ranking (empty if
/// none was).
fn still_learning(models: &[ModelCard]) -> String {
    let improving: Vec<&ModelCard> = models.iter().filter(|m| last_drop(m) > 0.01).collect();
    let drops = |ms: &[&ModelCard]| -> String {
        ms.iter()
            .map(|m| format!("the {} by {:.1}%", m.short, 100.0 * last_drop(m)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match improving.len() {
        0 => String::new(),
        n if n == models.len() => format!(
            " None had converged: in the last epoch the test error of every model still fell \
             ({}), so this ranking is after a fixed training length, not at convergence; more \
             epochs would lower all three errors and could change it.",
            drops(&improving)
        ),
        _ => format!(
            " Some were still improving at the end (in the last epoch, test error lower for {}): \
             more epochs would lower theirs further.",
            drops(&improving)
        ),
    }
}

/// What the ReLU on the code did, in a sentence, from the test errors and the code.
fn relu_remark(models: &[ModelCard], code: &CodeUse) -> String {
    let (linear, relu) = (models[0].final_test_mse(), models[1].final_test_mse());
    let change = if relu > linear {
        format!(
            "The ReLU on the code raises the test error by {:.1}%",
            100.0 * (relu / linear - 1.0)
        )
    } else {
        format!(
            "The ReLU on the code lowers the test error by {:.1}%",
            100.0 * (1.0 - relu / linear)
        )
    };
    format!(
        "{change}. On the test set {:.1}% of its code values are exactly zero and {} of its {} \
         code units are zero for every test image, where the linear code carries a value in \
         every unit.",
        100.0 * code.zero_share,
        code.dead_units,
        code.units
    )
}

/// The ReLU model's code on `images`: how much of it is zero.
fn code_use(run: &mut Trained<AeRun>, images: &Tensor) -> CodeUse {
    let units = run.code_size();
    let values = run.codes(images.data());
    let zeros = values.iter().filter(|&&v| v == 0.0).count();
    let dead_units = (0..units)
        .filter(|&u| values.iter().skip(u).step_by(units).all(|&v| v == 0.0))
        .count();
    CodeUse {
        zero_share: zeros as f64 / values.len() as f64,
        dead_units,
        units,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::experiments::Timing;
    use crate::report::markdown::ModelTable;

    /// A made-up lab: 10 epochs on 10,000 images, K = 64.
    pub(crate) fn lab() -> LabInfo {
        LabInfo {
            data: "made-up data".into(),
            data_dir: "nowhere".into(),
            n_train: 10_000,
            n_test: 10_000,
            epochs: 10,
            batch_size: 64,
            lr: 1e-3,
            seed: 0,
            latent: 64,
            every_digit: true,
            dataset: Default::default(),
        }
    }

    /// A made-up model card whose test error after each epoch is `test_mse`.
    pub(crate) fn card(short: &str, test_mse: &[f64]) -> ModelCard {
        ModelCard {
            id: short.replace(' ', "_"),
            title: short.into(),
            short: short.into(),
            table: ModelTable {
                batch: 64,
                rows: Vec::new(),
                output_shape: vec![64, 1, 28, 28],
                total_params: 1000,
                mult_adds_per_sample: 1000,
            },
            code: 64,
            loss: "MSE per pixel".into(),
            test_mse: test_mse.to_vec(),
            train_mse: test_mse.to_vec(),
            timing: Timing {
                run: short.into(),
                epochs_trained: test_mse.len(),
                seconds_per_epoch: 1.0,
                images: 10_000,
            },
        }
    }

    fn results(linear: f64, relu: f64, deep: &[f64]) -> Results {
        Results {
            models: vec![
                card("linear model", &[0.02, linear]),
                card("relu model", &[0.02, relu]),
                card("deep model", deep),
            ],
            relu_code: CodeUse {
                zero_share: 0.5,
                dead_units: 3,
                units: 64,
            },
            reconstructions: "tp1/reconstructions.png".into(),
            losses: "tp1/losses.svg".into(),
        }
    }

    #[test]
    fn the_ranking_and_the_verdicts_follow_the_numbers() {
        let body = Exercise1::render(&results(0.008, 0.011, &[0.02, 0.015]), &lab()).body;
        assert!(
            body.contains("the linear model reconstructs the test set best"),
            "{body}"
        );
        assert!(body.contains("raises the test error by 37.5%"), "{body}");
        // Every made-up error fell from 0.02 in the last epoch.
        assert!(
            body.contains("None had converged") && body.contains("the deep model by 25.0%"),
            "{body}"
        );
        // Flipped: the ReLU code wins, the deep model has stopped improving.
        let body = Exercise1::render(&results(0.011, 0.008, &[0.0151, 0.0150]), &lab()).body;
        assert!(
            body.contains("the relu model reconstructs the test set best"),
            "{body}"
        );
        assert!(body.contains("lowers the test error"), "{body}");
        assert!(
            body.contains("Some were still improving") && !body.contains("the deep model by"),
            "{body}"
        );
        // No model improving any more: no sentence.
        let body = Exercise1::render(&results(0.02, 0.02, &[0.0151, 0.0150]), &lab()).body;
        assert!(
            !body.contains("improving") && !body.contains("converged"),
            "{body}"
        );
    }

    #[test]
    fn reconstructions_are_lossy_unless_one_is_exact() {
        let verdict = |r: &Results| Exercise1::claims(r, &lab())[0].verdict;
        use crate::report::claims::Verdict;
        assert_eq!(
            verdict(&results(0.008, 0.011, &[0.02, 0.015])),
            Verdict::Holds
        );
        assert_eq!(
            verdict(&results(0.0, 0.011, &[0.02, 0.015])),
            Verdict::Fails
        );
    }
}
