//! The lab's exercises: each trains its models (once per process, shared between
//! exercises), writes its figures, and returns its section of `report.md`.
//!
//! Runs live in `<out>/<exercise>/<model>/`; an exercise's figures in `<out>/<exercise>/`.

pub mod aae;
pub mod anomaly;
pub mod clustering;
pub mod compression;
pub mod contractive;
pub mod features;
pub mod inpaint;
pub mod markdown;
pub mod pca;
pub mod sparse;
pub mod super_res;
pub mod tp1;
pub mod tp2;
pub mod tp3;
pub mod vae;

use std::path::PathBuf;

use crate::dataset::Splits;
use crate::figures::chart::{LineChart, Series};
use crate::figures::grid::ImageGrid;
use crate::figures::scatter::ScatterChart;
use crate::train::{self, Noise, TrainConfig, TrainError, Trained};
use crate::zoo::ModelKind;

/// The settings every exercise shares (from the command line).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Output folder.
    pub out: PathBuf,
    /// Passes over the training set, for every model.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Seed of every model's initialisation, shuffling and noise.
    pub seed: u64,
    /// Code size of the dense models.
    pub latent: usize,
    /// Continue from checkpoints.
    pub resume: bool,
    /// Exercise 3's training noise.
    pub noise: Noise,
    /// Exercise 3's test noise levels (standard deviations) for the PSNR table.
    pub noise_levels: Vec<f64>,
    /// The VAEs' latent dimensions.
    pub vae_latent: usize,
    /// The VAEs' weight on the KL term.
    pub beta: f64,
    /// The sparse model's L1 weights to compare.
    pub sparsity_weights: Vec<f64>,
    /// The contractive model's penalty weight.
    pub contraction: f64,
    /// Inpainting's hole side.
    pub hole: usize,
    /// Anomaly detection's held-out digit.
    pub anomaly_digit: u8,
}

/// A model's description table under its name, for the report.
pub fn model_table(kind: ModelKind, latent: usize, summary: &layers::Summary) -> String {
    format!(
        "**{}** (`{}`), for a batch of {}:\n\n{}\n",
        kind.title(latent),
        kind.id(),
        summary.input_shape[0],
        markdown::summary_table(summary)
    )
}

/// One section of the report.
#[derive(Clone, Debug)]
pub struct Section {
    /// Markdown, starting with its `##` heading.
    pub body: String,
    /// Rows of the timings table.
    pub timings: Vec<Timing>,
}

/// A row of the report's timings table.
#[derive(Clone, Debug)]
pub struct Timing {
    /// The run's folder name (`dense1_none`, `denoise_conv`).
    pub run: String,
    /// Epochs this process trained (the others came from a checkpoint).
    pub epochs_trained: usize,
    /// Mean wall seconds per epoch.
    pub seconds_per_epoch: f64,
}

impl Timing {
    /// The timings of `run`.
    pub fn of(run: &Trained) -> Timing {
        Timing {
            run: run
                .dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            epochs_trained: run.trained_epochs,
            seconds_per_epoch: run.seconds_per_epoch(),
        }
    }
}

/// What a section's text needs of one trained model, copied out so that the lab is free
/// again for the figures.
#[derive(Clone, Debug)]
pub struct ModelFigures {
    /// The model.
    pub kind: ModelKind,
    /// Its summary (parameters, multiply-adds, the description table).
    pub summary: layers::Summary,
    /// Values in its code.
    pub code: usize,
    /// Test MSE after the last epoch.
    pub test_mse: f64,
    /// Its row of the timings table.
    pub timing: Timing,
}

impl ModelFigures {
    /// The figures of `run`.
    pub fn of(run: &Trained) -> ModelFigures {
        ModelFigures {
            kind: run.config.model,
            summary: run.summary.clone(),
            code: run.config.model.code_size(run.config.latent),
            test_mse: run.test_mse(),
            timing: Timing::of(run),
        }
    }
}

/// The data, the settings and the models trained so far.
pub struct Lab {
    /// Shared settings.
    pub settings: Settings,
    /// Training and test images.
    pub splits: Splits,
    runs: Vec<Trained>,
    /// Test images shown in figures: the first of each digit, 0 to 9.
    pub samples: Vec<usize>,
}

impl Lab {
    /// A lab with nothing trained yet.
    pub fn new(settings: Settings, splits: Splits) -> Lab {
        let mut samples = Vec::new();
        for digit in 0..10u8 {
            if let Some(i) = splits.test.labels.iter().position(|&l| l == digit) {
                samples.push(i);
            }
        }
        if samples.len() < 10 {
            samples = (0..splits.test.len().min(10)).collect();
        }
        Lab {
            settings,
            splits,
            runs: Vec::new(),
            samples,
        }
    }

    /// Whether [`Lab::samples`] holds one test image of each digit, in order (false when the
    /// test set lacks a digit, e.g. under a small `--test-limit`).
    pub fn has_every_digit(&self) -> bool {
        self.samples.len() == 10
            && self
                .samples
                .iter()
                .enumerate()
                .all(|(d, &i)| self.splits.test.labels.get(i) == Some(&(d as u8)))
    }

    /// The folder of an exercise.
    pub fn exercise_dir(&self, exercise: &str) -> PathBuf {
        self.settings.out.join(exercise)
    }

    /// Trains `kind` for `exercise` (unless this process already did) and returns it.
    pub fn ensure(
        &mut self,
        exercise: &str,
        name: &str,
        kind: ModelKind,
        noise: Option<Noise>,
    ) -> Result<&mut Trained, TrainError> {
        let dir = self.exercise_dir(exercise).join(name);
        let index = match self.runs.iter().position(|r| r.dir == dir) {
            Some(i) => i,
            None => {
                let config = TrainConfig {
                    noise,
                    ..self.config(kind, self.settings.latent)
                };
                return self.ensure_config(exercise, name, config);
            }
        };
        Ok(&mut self.runs[index])
    }

    /// The lab's configuration of `kind` with code size `latent`: the shared settings, the
    /// model's own objective, no penalty, no noise.
    pub fn config(&self, kind: ModelKind, latent: usize) -> TrainConfig {
        let s = &self.settings;
        TrainConfig::new(
            kind,
            latent,
            s.epochs,
            s.batch_size,
            s.lr,
            s.seed,
            &self.splits,
        )
    }

    /// Trains `config` for `exercise` under `name` (unless this process already did) and
    /// returns it.
    pub fn ensure_config(
        &mut self,
        exercise: &str,
        name: &str,
        config: TrainConfig,
    ) -> Result<&mut Trained, TrainError> {
        let dir = self.exercise_dir(exercise).join(name);
        let index = match self.runs.iter().position(|r| r.dir == dir) {
            Some(i) => i,
            None => {
                let run = train::train(&config, &self.splits, &dir, self.settings.resume, false)?;
                self.runs.push(run);
                self.runs.len() - 1
            }
        };
        Ok(&mut self.runs[index])
    }

    /// The clean sample images, `10·784` values.
    pub fn sample_images(&self) -> Vec<f32> {
        self.splits.test.images(&self.samples).into_data()
    }

    /// The sample images picked out of a whole test set's worth of images (`images[i]` for
    /// each sample `i`), e.g. of noisy inputs or of outputs.
    pub fn pick_samples(&self, images: &[f32]) -> Vec<f32> {
        let size = self.splits.test.image_size();
        self.samples
            .iter()
            .flat_map(|&i| images[i * size..(i + 1) * size].iter().copied())
            .collect()
    }

    /// Writes a grid of rows and returns its path relative to the output folder.
    pub fn save_grid(
        &self,
        exercise: &str,
        file: &str,
        rows: &[Vec<f32>],
    ) -> Result<String, String> {
        let mut grid = ImageGrid::new(28, 28);
        for row in rows {
            grid.push_row(row);
        }
        grid.save(&self.exercise_dir(exercise).join(file))?;
        Ok(format!("{exercise}/{file}"))
    }

    /// The run trained for `exercise` under `name`, if any.
    pub fn find(&self, exercise: &str, name: &str) -> Option<&Trained> {
        let dir = self.exercise_dir(exercise).join(name);
        self.runs.iter().find(|r| r.dir == dir)
    }

    /// The run trained for `exercise` under `name`, if any, writable (to run its model).
    pub fn find_mut(&mut self, exercise: &str, name: &str) -> Option<&mut Trained> {
        let dir = self.exercise_dir(exercise).join(name);
        self.runs.iter_mut().find(|r| r.dir == dir)
    }

    /// Writes a scatter plot to `<out>/<exercise>/<file>` and returns its path relative to
    /// the output folder.
    pub fn save_scatter(
        &self,
        exercise: &str,
        file: &str,
        chart: &ScatterChart,
    ) -> Result<String, String> {
        chart.save(&self.exercise_dir(exercise).join(file))?;
        Ok(format!("{exercise}/{file}"))
    }

    /// Writes the training loss per epoch, in the models' own unit (`y_label`), of the runs
    /// `(label, exercise, name)` to `<out>/<exercise>/<file>`; returns its relative path.
    pub fn save_objective_chart(
        &self,
        exercise: &str,
        file: &str,
        title: &str,
        y_label: &str,
        runs: &[(String, &str, &str)],
    ) -> Result<String, String> {
        let curves: [Curve; 1] = [("", |r| r.train_objective, false)];
        self.save_epoch_chart(exercise, file, title, y_label, false, runs, &curves)
    }

    /// Every run trained so far, in training order.
    pub fn runs(&self) -> &[Trained] {
        &self.runs
    }

    /// Writes the train (dashed) and test (solid) loss curves of the runs `(label,
    /// exercise, name)` on one chart, `<out>/<exercise>/losses.svg`, and returns its path
    /// relative to the output folder.
    pub fn save_loss_chart(
        &self,
        exercise: &str,
        title: &str,
        runs: &[(String, &str, &str)],
    ) -> Result<String, String> {
        let curves: [Curve; 2] = [
            (", train", |r| r.train_loss, true),
            (", test", |r| r.test_loss, false),
        ];
        self.save_epoch_chart(
            exercise,
            "losses.svg",
            title,
            "MSE per pixel",
            true,
            runs,
            &curves,
        )
    }

    /// A chart of per-epoch figures: for each run `(label, exercise, name)`, one line per
    /// curve `(label suffix, figure, dashed)`, in the run's colour.
    #[allow(clippy::too_many_arguments)] // the chart's text, its scale and what it draws
    fn save_epoch_chart(
        &self,
        exercise: &str,
        file: &str,
        title: &str,
        y_label: &str,
        log_y: bool,
        runs: &[(String, &str, &str)],
        curves: &[Curve],
    ) -> Result<String, String> {
        let mut series = Vec::new();
        for (colour, (label, run_exercise, name)) in runs.iter().enumerate() {
            let run = self
                .find(run_exercise, name)
                .ok_or_else(|| format!("{run_exercise}/{name} was not trained"))?;
            for &(suffix, figure, dashed) in curves {
                series.push(Series {
                    label: format!("{label}{suffix}"),
                    points: run
                        .history
                        .iter()
                        .map(|r| (r.epoch as f64, figure(r)))
                        .collect(),
                    colour,
                    dashed,
                });
            }
        }
        let chart = LineChart {
            title: title.to_string(),
            x_label: "epoch".into(),
            y_label: y_label.to_string(),
            log_y,
            x_whole: true,
            series,
        };
        chart.save(&self.exercise_dir(exercise).join(file))?;
        Ok(format!("{exercise}/{file}"))
    }
}

/// One line per run on an epoch chart: its legend suffix, the figure it plots, dashed or not.
type Curve = (&'static str, fn(&train::EpochRecord) -> f64, bool);
