//! Training an adversarial autoencoder: each step a reconstruction phase and a
//! regularization phase ([`models::aae::Aae::train_step`]), three optimizers, shuffled
//! batches from the run's seeded generator (which also draws the prior samples).
//!
//! A run writes `metrics.csv`, `summary.txt`, `config.json` and `model.safetensors` like
//! [`crate::train`], but keeps no checkpoint: its three optimizers and the game between
//! them make a short run (seconds per epoch), and `--resume` trains it again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use layers::{Module, Summary};
use models::aae::{Aae, AaeOptimizers, Prior};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tensor::rng;

use crate::dataset::Splits;
use crate::fsutil::write_atomic;
use crate::progress::EpochProgress;
use crate::train::TrainError;

/// Everything that decides an adversarial run's result (saved as `config.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaeConfig {
    /// The prior's id (`gaussian`, `mixture`, `uniform`).
    pub prior: String,
    /// Whether the discriminator sees the digit.
    pub conditional: bool,
    /// Whether the regularization phase runs (false: a plain autoencoder of the same shape).
    pub regularize: bool,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// The learning rate of the three Adams (reconstruction, discriminator, encoder).
    pub lr: f64,
    /// Seed of initialisation, shuffling and prior samples.
    pub seed: u64,
    /// The data folder.
    pub data: String,
    /// Training images used.
    pub n_train: usize,
    /// Test images used.
    pub n_test: usize,
}

impl AaeConfig {
    /// The prior it names.
    pub fn prior(&self) -> Result<Prior, String> {
        Prior::ALL
            .into_iter()
            .find(|p| p.id() == self.prior)
            .ok_or_else(|| {
                format!(
                    "unknown prior {:?} (gaussian, mixture, uniform)",
                    self.prior
                )
            })
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaeRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean reconstruction BCE per pixel over the epoch's steps.
    pub reconstruction: f64,
    /// Mean discriminator loss (NaN when not regularizing).
    pub discriminator: f64,
    /// Mean generator (encoder-fools-discriminator) loss (NaN when not regularizing).
    pub generator: f64,
    /// Test MSE per pixel after the epoch.
    pub test_mse: f64,
    /// Wall seconds of the epoch's steps.
    pub seconds: f64,
}

/// A trained adversarial autoencoder and what its run measured.
pub struct TrainedAae {
    /// Its configuration.
    pub config: AaeConfig,
    /// Its folder.
    pub dir: PathBuf,
    /// The model, in evaluation mode.
    pub model: Aae,
    /// Its summary for a batch of [`AaeConfig::batch_size`].
    pub summary: Summary,
    /// One record per epoch.
    pub history: Vec<AaeRecord>,
}

impl TrainedAae {
    /// Mean seconds per epoch.
    pub fn seconds_per_epoch(&self) -> f64 {
        self.history.iter().map(|r| r.seconds).sum::<f64>() / self.history.len().max(1) as f64
    }
}

/// Trains the adversarial autoencoder `config` on `splits` into `dir`.
pub fn train_aae(
    config: &AaeConfig,
    splits: &Splits,
    dir: &Path,
) -> Result<TrainedAae, TrainError> {
    let mut r = rng(config.seed);
    let mut model = Aae::new(config.prior()?, config.conditional, &mut r);
    let mut opts = AaeOptimizers::new(config.lr as f32);
    let summary = Summary::new(&model, &[config.batch_size, 1, 28, 28]);
    write_atomic(&dir.join("summary.txt"), summary.to_string().as_bytes())?;
    let mut json = serde_json::to_value(config).expect("a config serialises");
    if let Some(map) = json.as_object_mut() {
        map.insert(
            "command".into(),
            std::env::args().collect::<Vec<_>>().into(),
        );
        map.insert("threads".into(), rayon::current_num_threads().into());
    }
    let json = serde_json::to_string_pretty(&json).expect("a value serialises");
    write_atomic(&dir.join("config.json"), json.as_bytes())?;
    let name = dir
        .file_name()
        .map_or_else(|| "aae".into(), |n| n.to_string_lossy().into_owned());
    let train = &splits.train;
    let test_x = splits.test.all_images().into_data();
    let mut history: Vec<AaeRecord> = Vec::new();
    for epoch in 1..=config.epochs {
        model.train();
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut r);
        let progress =
            EpochProgress::start(&format!("{name} {epoch}/{}", config.epochs), train.len());
        let start = Instant::now();
        let (mut rec, mut disc, mut generator, mut steps) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            let x = train.images(batch);
            let losses = if config.regularize {
                let digits: Vec<usize> = batch.iter().map(|&i| train.labels[i] as usize).collect();
                model
                    .train_step(&mut opts, &x, &digits, &mut r)
                    .expect("every part of the AAE is on its phase's tape")
            } else {
                let value = model
                    .reconstruction_step(&mut opts.reconstruction, &x)
                    .expect("encoder and decoder are on the reconstruction's tape");
                models::aae::PhaseLosses {
                    reconstruction: value,
                    discriminator: f32::NAN,
                    generator: f32::NAN,
                }
            };
            let finite = losses.reconstruction.is_finite()
                && (!config.regularize
                    || (losses.discriminator.is_finite() && losses.generator.is_finite()));
            if !finite {
                return Err(TrainError::NonFinite {
                    epoch,
                    step: step + 1,
                    dir: dir.to_path_buf(),
                });
            }
            rec += losses.reconstruction as f64;
            disc += losses.discriminator as f64;
            generator += losses.generator as f64;
            steps += 1;
            progress.advance(batch.len(), rec / steps as f64);
        }
        let seconds = start.elapsed().as_secs_f64();
        progress.finish();
        let test_mse =
            crate::quality::mse(&crate::train::reconstruct(&mut model, &test_x), &test_x);
        let record = AaeRecord {
            epoch,
            reconstruction: rec / steps as f64,
            discriminator: disc / steps as f64,
            generator: generator / steps as f64,
            test_mse,
            seconds,
        };
        println!(
            "{name:>14} epoch {epoch:>2}/{}: BCE {:.4}, D {:.3}, G {:.3}, test MSE {:.5}, {:.2} s",
            config.epochs,
            record.reconstruction,
            record.discriminator,
            record.generator,
            record.test_mse,
            record.seconds
        );
        history.push(record);
        write_metrics(dir, &history)?;
    }
    layers::io::save(dir.join("model.safetensors"), &model).map_err(|e| e.to_string())?;
    model.eval();
    Ok(TrainedAae {
        config: config.clone(),
        dir: dir.to_path_buf(),
        model,
        summary,
        history,
    })
}

fn write_metrics(dir: &Path, history: &[AaeRecord]) -> Result<(), String> {
    let mut csv = String::from(
        "epoch,reconstruction_bce,discriminator_loss,generator_loss,test_mse,seconds\n",
    );
    for r in history {
        csv += &format!(
            "{},{:.8},{:.8},{:.8},{:.8},{:.3}\n",
            r.epoch, r.reconstruction, r.discriminator, r.generator, r.test_mse, r.seconds
        );
    }
    write_atomic(&dir.join("metrics.csv"), csv.as_bytes())
}
