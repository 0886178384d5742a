//! The experiments: the lab's exercises and what comes after them, one file each, listed
//! once in [`EXPERIMENTS`].
//!
//! An experiment is two functions ([`Experiment`]): `measure` trains (through the one
//! trainer, or reuses a model another experiment trained), evaluates and draws its figures,
//! and returns its [`Experiment::Results`], a plain struct with every figure of merit its
//! section quotes, written as `<out>/<name>/results.json`; `render` writes the section's
//! Markdown from those results alone, every sentence of interpretation chosen by comparing
//! their numbers. `tp report` renders the report again from the `results.json` files,
//! without training anything; tests feed `render` made-up results.
//!
//! Adding an experiment is one file with a type implementing [`Experiment`] and one line in
//! [`EXPERIMENTS`]: the subcommand, its help line, `tp all` and the report's order follow.

pub mod aae;
pub mod anomaly;
pub mod clustering;
pub mod compression;
pub mod contractive;
pub mod features;
pub mod inpaint;
mod lab;
pub mod pca;
pub mod samples;
pub mod semisupervised;
pub mod sparse;
pub mod style;
pub mod super_res;
pub mod tp1;
pub mod tp2;
pub mod tp3;
pub mod transfer;
pub mod translation;
pub mod vae;

pub use lab::{Lab, LabInfo, Settings};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::report::claims::Finding;
use crate::report::markdown::ModelTable;
use crate::train::{AeRun, TrainError, Trained};

/// What `tp all` runs, in the report's order; each entry is also a subcommand.
pub static EXPERIMENTS: &[Entry] = &[
    Entry::of::<tp1::Exercise1>(),
    Entry::of::<tp2::Exercise2>(),
    Entry::of::<translation::Translation>(),
    Entry::of::<tp3::Exercise3>(),
    Entry::of::<transfer::Transfer>(),
    Entry::of::<vae::Variational>(),
    Entry::of::<aae::Adversarial>(),
    Entry::of::<samples::SampleQuality>(),
    Entry::of::<style::StyleContent>(),
    Entry::of::<sparse::Sparse>(),
    Entry::of::<contractive::Contractive>(),
    Entry::of::<pca::AgainstPca>(),
    Entry::of::<compression::Compression>(),
    Entry::of::<super_res::SuperResolution>(),
    Entry::of::<inpaint::Inpainting>(),
    Entry::of::<anomaly::Anomaly>(),
    Entry::of::<features::Features>(),
    Entry::of::<clustering::Clustering>(),
    Entry::of::<semisupervised::SemiSupervised>(),
];

/// One experiment: measure, then render.
pub trait Experiment {
    /// Its name: the folder of its runs and figures, its subcommand (with `-` for `_`) and
    /// its `just` recipe.
    const NAME: &'static str;
    /// One line for `tp --help`.
    const ABOUT: &'static str;
    /// Every figure of merit its section quotes (`results.json`).
    type Results: Serialize + DeserializeOwned;

    /// Trains what it needs, evaluates, draws its figures.
    fn measure(lab: &mut Lab) -> Result<Self::Results, TrainError>;

    /// Its section of the report, from `results` and the lab's settings alone.
    fn render(results: &Self::Results, lab: &LabInfo) -> Section;

    /// What its numbers say of the course's claims it tests (none by default).
    fn claims(results: &Self::Results, lab: &LabInfo) -> Vec<Finding> {
        let _ = (results, lab);
        Vec::new()
    }

    /// What it puts in the report's appendix (the models' description tables), Markdown.
    fn appendix(results: &Self::Results, lab: &LabInfo) -> String {
        let _ = (results, lab);
        String::new()
    }
}

/// An experiment in the registry, by name, with its two halves on JSON.
pub struct Entry {
    /// [`Experiment::NAME`].
    pub name: &'static str,
    /// [`Experiment::ABOUT`].
    pub about: &'static str,
    /// [`Experiment::measure`], its results as JSON.
    pub measure: fn(&mut Lab) -> Result<serde_json::Value, TrainError>,
    /// [`Experiment::render`], [`Experiment::claims`] and [`Experiment::appendix`] of
    /// results read back from JSON.
    pub render: fn(&serde_json::Value, &LabInfo) -> Result<Rendered, String>,
}

/// What the report takes of one experiment's results.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// Its section.
    pub section: Section,
    /// Its findings on the course's claims.
    pub claims: Vec<Finding>,
    /// Its part of the appendix.
    pub appendix: String,
}

impl Entry {
    /// The entry of `E`.
    pub const fn of<E: Experiment>() -> Entry {
        Entry {
            name: E::NAME,
            about: E::ABOUT,
            measure: measure_json::<E>,
            render: render_json::<E>,
        }
    }

    /// The subcommand: the name with `-` for `_` (`super-res`).
    pub fn command(&self) -> String {
        self.name.replace('_', "-")
    }
}

fn measure_json<E: Experiment>(lab: &mut Lab) -> Result<serde_json::Value, TrainError> {
    let results = E::measure(lab)?;
    Ok(serde_json::to_value(&results).expect("results serialise"))
}

fn render_json<E: Experiment>(
    value: &serde_json::Value,
    lab: &LabInfo,
) -> Result<Rendered, String> {
    let results: E::Results = serde_json::from_value(value.clone())
        .map_err(|e| format!("the results of {} do not read: {e}", E::NAME))?;
    Ok(Rendered {
        section: E::render(&results, lab),
        claims: E::claims(&results, lab),
        appendix: E::appendix(&results, lab),
    })
}

/// The experiment called `name` (with `_` or `-`).
pub fn find(name: &str) -> Option<&'static Entry> {
    let name = name.replace('-', "_");
    EXPERIMENTS.iter().find(|e| e.name == name)
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The run's folder name (`dense1_none`, `denoise_conv`).
    pub run: String,
    /// Epochs this process trained (the others came from a checkpoint).
    pub epochs_trained: usize,
    /// Mean wall seconds per epoch.
    pub seconds_per_epoch: f64,
    /// Training images per epoch.
    pub images: usize,
}

impl Timing {
    /// The timings of `run`.
    pub fn of<T: crate::train::Trainee>(run: &Trained<T>) -> Timing {
        Timing {
            run: run.name(),
            epochs_trained: run.trained_epochs,
            seconds_per_epoch: run.seconds_per_epoch(),
            images: run.config.schedule.n_train,
        }
    }
}

/// What a section says of one trained autoencoder, copied out of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// The model's id ([`models::ModelKind::id`]).
    pub id: String,
    /// Its title for tables (`dense 784-64-784, linear code`).
    pub title: String,
    /// Its name in sentences (`linear-code 784-64-784 model`).
    pub short: String,
    /// Its description table.
    pub table: ModelTable,
    /// Values in its code.
    pub code: usize,
    /// What it was trained on ([`models::Autoencoder::loss_unit`]: `MSE per pixel`, `BCE per
    /// pixel`…).
    pub loss: String,
    /// The test MSE after each epoch.
    pub test_mse: Vec<f64>,
    /// The training MSE of each epoch.
    pub train_mse: Vec<f64>,
    /// Its row of the timings table.
    pub timing: Timing,
}

impl ModelCard {
    /// The card of `run`.
    pub fn of(run: &Trained<AeRun>) -> ModelCard {
        let (kind, latent) = (run.kind(), run.latent());
        ModelCard {
            id: kind.id().into(),
            title: kind.title(latent),
            short: kind.short(latent),
            table: ModelTable::of(&run.summary),
            code: run.code_size(),
            loss: run.trainee.model.loss_unit(),
            test_mse: run.epochs().map(|(_, f)| f.test_mse).collect(),
            train_mse: run.epochs().map(|(_, f)| f.train_mse).collect(),
            timing: Timing::of(run),
        }
    }

    /// The test MSE after the last epoch.
    pub fn final_test_mse(&self) -> f64 {
        self.test_mse.last().copied().unwrap_or(f64::NAN)
    }

    /// Where its description table is, for a section's text.
    pub fn table_link(&self) -> String {
        format!(
            "The {}'s description table (layers, output shapes, parameters, multiply-adds) is in \
             the [appendix](#appendix-the-models-description-tables).\n\n",
            self.short
        )
    }

    /// The description table under the model's name.
    pub fn table_markdown(&self) -> String {
        format!(
            "**{}** (`{}`), for a batch of {}:\n\n{}\n",
            self.title,
            self.id,
            self.table.batch,
            self.table.markdown()
        )
    }
}
