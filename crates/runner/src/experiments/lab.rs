//! The lab every experiment measures in: the data, the settings of the command line, the
//! models trained so far (once per process, shared between experiments) and the helpers
//! that write figures.
//!
//! Runs live in `<out>/<experiment>/<run>/`; an experiment's figures and `results.json` in
//! `<out>/<experiment>/`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::dataset::Splits;
use crate::data::identity::DataIdentity;
use crate::figures::chart::{LineChart, MARKED_UP_TO, Series};
use crate::figures::grid::ImageGrid;
use crate::figures::scatter::ScatterChart;
use crate::instruments::reader::Reader;
use crate::train::adversarial::{AaeConfig, AaeRun};
use crate::train::{
    self, AeConfig, AeRun, Noise, Options, RunConfig, Schedule, TrainError, Trained, Trainee,
};
use models::ModelKind;

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

/// The data, the settings and the models trained so far.
pub struct Lab {
    /// Shared settings.
    pub settings: Settings,
    /// Training and test images.
    pub splits: Splits,
    runs: Vec<Trained<AeRun>>,
    aae_runs: Vec<Trained<AaeRun>>,
    /// Test images shown in figures: the first of each class, 0 to 9.
    pub samples: Vec<usize>,
    /// Which data set the splits are, and its classes' names.
    pub identity: DataIdentity,
    /// The digit reader, once trained ([`Lab::reader`]).
    reader: Option<Reader>,
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
            identity: DataIdentity::of(&splits.train),
            splits,
            runs: Vec::new(),
            aae_runs: Vec::new(),
            samples,
            reader: None,
        }
    }

    /// The digit reader ([`Reader`]), trained on the training images and measured on the
    /// test images the first time an experiment asks for it, then shared: every experiment
    /// measures with the same instrument, and `tp all` trains it once.
    pub fn reader(&mut self) -> &mut Reader {
        let splits = &self.splits;
        let seed = self.settings.seed;
        self.reader.get_or_insert_with(|| {
            let (train, test) = (&splits.train, &splits.test);
            Reader::train(
                &train.all_images(),
                &train.classes(),
                &test.all_images(),
                &test.classes(),
                seed,
            )
        })
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

    /// Trains `kind` with the lab's settings for `exercise` under `name` (unless this
    /// process already did) and returns it.
    pub fn ensure(
        &mut self,
        exercise: &str,
        name: &str,
        kind: ModelKind,
        noise: Option<Noise>,
    ) -> Result<&mut Trained<AeRun>, TrainError> {
        let mut config = self.config(kind, self.settings.latent);
        config.model.corruption.noise = noise;
        self.ensure_config(exercise, name, config)
    }

    /// The lab's configuration of `kind` with code size `latent`: the shared settings, the
    /// model's own objective, no penalty, no corruption but what its input needs.
    pub fn config(&self, kind: ModelKind, latent: usize) -> RunConfig<AeConfig> {
        RunConfig {
            model: AeConfig::new(kind, latent),
            schedule: self.schedule(),
        }
    }

    /// The lab's schedule: its epochs, batch size, learning rate and seed, on its data.
    pub fn schedule(&self) -> Schedule {
        let s = &self.settings;
        Schedule::new(s.epochs, s.batch_size, s.lr, s.seed, &self.splits)
    }

    /// The lab's schedule with `factor` times its epochs, for the experiments whose games need
    /// longer than the lab's autoencoders (each says why in its own `EPOCH_FACTOR`).
    pub fn schedule_times(&self, factor: usize) -> Schedule {
        Schedule {
            epochs: self.settings.epochs * factor,
            ..self.schedule()
        }
    }

    /// The options every run of the lab trains with.
    pub fn options(&self) -> Options {
        Options {
            resume: self.settings.resume,
            ..Options::default()
        }
    }

    /// Trains `config` for `exercise` under `name` (unless this process already did) and
    /// returns it.
    pub fn ensure_config(
        &mut self,
        exercise: &str,
        name: &str,
        config: RunConfig<AeConfig>,
    ) -> Result<&mut Trained<AeRun>, TrainError> {
        let dir = self.exercise_dir(exercise).join(name);
        let (splits, options) = (&self.splits, self.options());
        ensure_in(&mut self.runs, &config, splits, dir, options)
    }

    /// Trains the adversarial run `config` for `exercise` under `name` (unless this process
    /// already did) and returns it: the AAE experiment's runs, read again by others (the
    /// 2-D codes of the PCA experiment).
    pub fn ensure_aae(
        &mut self,
        exercise: &str,
        name: &str,
        config: RunConfig<AaeConfig>,
    ) -> Result<&mut Trained<AaeRun>, TrainError> {
        let dir = self.exercise_dir(exercise).join(name);
        let (splits, options) = (&self.splits, self.options());
        ensure_in(&mut self.aae_runs, &config, splits, dir, options)
    }

    /// The adversarial run trained for `exercise` under `name`, if any.
    pub fn find_aae(&self, exercise: &str, name: &str) -> Option<&Trained<AaeRun>> {
        let dir = self.exercise_dir(exercise).join(name);
        self.aae_runs.iter().find(|r| r.dir == dir)
    }

    /// The adversarial run trained for `exercise` under `name`, if any, writable (to run
    /// its model).
    pub fn find_aae_mut(&mut self, exercise: &str, name: &str) -> Option<&mut Trained<AaeRun>> {
        let dir = self.exercise_dir(exercise).join(name);
        self.aae_runs.iter_mut().find(|r| r.dir == dir)
    }

    /// A VAE's configuration (`kind`: dense or convolutional) with a code of `latent` values: the lab's settings and
    /// its `--beta`, as the VAE experiment trains it (so that another experiment asking for
    /// the same run in the same folder finds it, not a different model under its name).
    pub fn vae_config(&self, kind: ModelKind, latent: usize) -> RunConfig<AeConfig> {
        let mut config = self.config(kind, latent);
        config.model.beta = self.settings.beta;
        config
    }

    /// Trains the runs `(exercise, name, config)` this process has not trained yet side by
    /// side ([`train::lanes::side_by_side`]) and keeps them like [`Lab::ensure_config`] does.
    ///
    /// For the repeats of a model with other seeds: one small model cannot keep both cores
    /// of a 2-core machine busy, two at once can. Their seconds per epoch are then those of
    /// one core, so the runs whose timing the report quotes train alone, through
    /// [`Lab::ensure_config`].
    pub fn ensure_side_by_side(
        &mut self,
        runs: Vec<(&str, String, RunConfig<AeConfig>)>,
    ) -> Result<(), TrainError> {
        let mut missing: Vec<(PathBuf, RunConfig<AeConfig>)> = Vec::new();
        for (exercise, name, config) in runs {
            let dir = self.exercise_dir(exercise).join(name);
            if !self.runs.iter().any(|r| r.dir == dir) && !missing.iter().any(|m| m.0 == dir) {
                missing.push((dir, config));
            }
        }
        let (splits, options) = (&self.splits, self.options());
        let trained = train::lanes::side_by_side(&missing, |(dir, config)| {
            train::train::<AeRun>(config, splits, dir, options).map_err(|e| e.to_string())
        })?;
        self.runs.extend(trained);
        Ok(())
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
        self.save_image_grid(exercise, file, &self.grid(rows))
    }

    /// A grid of 28×28 tiles, one row per entry of `rows`.
    pub fn grid(&self, rows: &[Vec<f32>]) -> ImageGrid {
        let mut grid = ImageGrid::new(28, 28);
        for row in rows {
            grid.push_row(row);
        }
        grid
    }

    /// Writes `grid` to `<out>/<exercise>/<file>` and returns its path relative to the
    /// output folder.
    pub fn save_image_grid(
        &self,
        exercise: &str,
        file: &str,
        grid: &ImageGrid,
    ) -> Result<String, String> {
        grid.save(&self.exercise_dir(exercise).join(file))?;
        Ok(format!("{exercise}/{file}"))
    }

    /// The run trained for `exercise` under `name`, if any.
    pub fn find(&self, exercise: &str, name: &str) -> Option<&Trained<AeRun>> {
        let dir = self.exercise_dir(exercise).join(name);
        self.runs.iter().find(|r| r.dir == dir)
    }

    /// The run trained for `exercise` under `name`, if any, writable (to run its model).
    pub fn find_mut(&mut self, exercise: &str, name: &str) -> Option<&mut Trained<AeRun>> {
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
        let curves: [Curve; 1] = [("", |f| f.train_objective, false)];
        self.save_epoch_chart(exercise, file, title, y_label, false, runs, &curves)
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
            (", train", |f| f.train_mse, true),
            (", test", |f| f.test_mse, false),
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
                let points: Vec<(f64, f64)> = run
                    .epochs()
                    .map(|(epoch, f)| (epoch as f64, figure(f)))
                    .collect();
                series.push(Series {
                    label: format!("{label}{suffix}"),
                    markers: points.len() <= MARKED_UP_TO,
                    points,
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
            log_x: false,
            x_whole: true,
            series,
            references: Vec::new(),
        };
        chart.save(&self.exercise_dir(exercise).join(file))?;
        Ok(format!("{exercise}/{file}"))
    }
}

/// The run of `runs` in `dir`, trained first (from `config`) when there is none: each run
/// trains once per process, whichever experiment asks first.
fn ensure_in<'a, T: Trainee>(
    runs: &'a mut Vec<Trained<T>>,
    config: &RunConfig<T::Config>,
    splits: &Splits,
    dir: PathBuf,
    options: Options,
) -> Result<&'a mut Trained<T>, TrainError> {
    let index = match runs.iter().position(|r| r.dir == dir) {
        Some(i) => i,
        None => {
            runs.push(train::train::<T>(config, splits, &dir, options)?);
            runs.len() - 1
        }
    };
    Ok(&mut runs[index])
}

/// One line per run on an epoch chart: its legend suffix, the figure it plots, dashed or not.
type Curve = (
    &'static str,
    fn(&train::autoencoder::AeFigures) -> f64,
    bool,
);

/// What every section may say of the lab: the data and the shared settings (in every
/// `results.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabInfo {
    /// What the data is ("the committed MNIST sample").
    pub data: String,
    /// Its folder.
    pub data_dir: String,
    /// Training images.
    pub n_train: usize,
    /// Test images.
    pub n_test: usize,
    /// Passes over the training set, for every model.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// The seed of every run.
    pub seed: u64,
    /// Code size of the dense models.
    pub latent: usize,
    /// Whether the test set holds every digit at the sample positions (the figures' rows
    /// are then "the first test image of each digit").
    pub every_digit: bool,
    /// Which data set it is, what a class is called and the ten class names (MNIST when
    /// absent: `results.json` files written before data sets were named ran on it).
    #[serde(default)]
    pub dataset: DataIdentity,
}

impl LabInfo {
    /// What the rows of sample figures show ([`Lab::samples`]): the first test image of
    /// each class, named, or the first ten test images when the test set lacks a class.
    pub fn samples_caption(&self) -> String {
        if self.every_digit {
            self.dataset.each_class()
        } else {
            format!(
                "the first ten test images (the test set used here lacks a {})",
                self.dataset.noun
            )
        }
    }
}

impl Lab {
    /// The lab's data and settings, for `results.json`.
    pub fn info(&self) -> LabInfo {
        let s = &self.settings;
        LabInfo {
            data: self.splits.description.clone(),
            data_dir: self.splits.dir.display().to_string(),
            n_train: self.splits.train.len(),
            n_test: self.splits.test.len(),
            epochs: s.epochs,
            batch_size: s.batch_size,
            lr: s.lr,
            seed: s.seed,
            latent: s.latent,
            every_digit: self.has_every_digit(),
            dataset: self.identity.clone(),
        }
    }
}
