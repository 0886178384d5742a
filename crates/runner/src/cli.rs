//! The command line of `tp`: one subcommand per experiment of the registry
//! ([`crate::experiments::EXPERIMENTS`]), `all` for every one of them followed by the
//! report, `report` to write the report again from the results, `train` for any single
//! model and `bench`.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{ArgMatches, Args, FromArgMatches as _};
use models::ModelKind;

use crate::experiments::{EXPERIMENTS, Entry};
use crate::train::Objective;

/// What a command line asks for.
#[derive(Debug)]
pub enum Action {
    /// Experiments, in the registry's order; `all` when it is every one of them.
    Experiments {
        /// The experiments to run.
        names: Vec<&'static str>,
        /// Whether this is `tp all`.
        all: bool,
        /// Their flags.
        args: LabArgs,
    },
    /// `tp report`.
    Report(ReportArgs),
    /// `tp train`.
    Train(TrainArgs),
    /// `tp bench`.
    Bench(BenchArgs),
    /// `tp page`.
    Page(PageArgs),
}

/// The `tp` command: its subcommands come from the registry.
pub fn command() -> clap::Command {
    let mut cmd = clap::Command::new("tp")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The lab's autoencoder experiments on MNIST: exercises, training, report")
        .arg_required_else_help(true)
        .subcommand_required(true);
    for entry in EXPERIMENTS {
        // `about` after the flags: `augment_args` would put the flags' doc comment there.
        cmd = cmd.subcommand(
            LabArgs::augment_args(clap::Command::new(entry.command())).about(entry.about),
        );
    }
    cmd.subcommand(
        LabArgs::augment_args(clap::Command::new("all"))
            .about("Every experiment above, in order, then <out>/report.md"),
    )
    .subcommand(
        ReportArgs::augment_args(clap::Command::new("report")).about(
            "Write <out>/report.md again from the results.json files of <out>, training nothing",
        ),
    )
    .subcommand(
        TrainArgs::augment_args(clap::Command::new("train"))
            .about("Train one model with any settings (the generic entry)"),
    )
    .subcommand(PageArgs::augment_args(clap::Command::new("page")).about(
        "Write the static page that explores and trains the 2-D VAE and autoencoder in the \
             browser (needs the engine built for wasm32: `just page`)",
    ))
    .subcommand(
        BenchArgs::augment_args(clap::Command::new("bench"))
            .about("How fast this machine runs the engine: FMA peak, GEMM, images/s per model"),
    )
}

/// Parses a command line (the program's name first).
pub fn parse_from<I, T>(args: I) -> Result<Action, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    action(name, sub)
}

fn action(name: &str, sub: &ArgMatches) -> Result<Action, clap::Error> {
    Ok(match name {
        "report" => Action::Report(ReportArgs::from_arg_matches(sub)?),
        "train" => Action::Train(TrainArgs::from_arg_matches(sub)?),
        "bench" => Action::Bench(BenchArgs::from_arg_matches(sub)?),
        "page" => Action::Page(PageArgs::from_arg_matches(sub)?),
        "all" => Action::Experiments {
            names: EXPERIMENTS.iter().map(|e| e.name).collect(),
            all: true,
            args: LabArgs::from_arg_matches(sub)?,
        },
        other => {
            let entry: &Entry = crate::experiments::find(other)
                .expect("clap accepts only the registry's subcommands");
            Action::Experiments {
                names: vec![entry.name],
                all: false,
                args: LabArgs::from_arg_matches(sub)?,
            }
        }
    })
}

/// Flags of `report`.
#[derive(Clone, Debug, Args)]
pub struct ReportArgs {
    /// The runs folder whose results.json files are read (and where report.md is written).
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub out: PathBuf,
}

/// Flags of `bench`.
#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
}

/// Flags of `page`: the lab's flags (`--out` is the runs folder whose VAE, vae/vae, and 2-D
/// autoencoder, pca/dense2_relu_k2, the page shows; a run missing there is trained there first
/// with those flags), and the page's own.
#[derive(Clone, Debug, Args)]
pub struct PageArgs {
    /// The lab's flags.
    #[command(flatten)]
    pub lab: LabArgs,
    /// The page's folder (index.html, page.js, the engine, weights, digits).
    #[arg(long, value_name = "DIR", default_value = "page")]
    pub page: PathBuf,
    /// The engine compiled to WebAssembly (default: tp_web.wasm in cargo's target folder).
    #[arg(long, value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// Test images for the planes, and training images for "Train here" (the first N of each).
    #[arg(long, default_value_t = 2000, value_parser = positive)]
    pub images: usize,
}

/// Flags every subcommand takes.
#[derive(Clone, Debug, Args)]
pub struct Common {
    /// Folder of MNIST-format IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]);
    /// default: datasets/mnist if downloaded, else the committed sample datasets/mnist-sample.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub out: PathBuf,
    /// Passes over the training set, for every model.
    #[arg(long, default_value_t = 10, value_parser = positive)]
    pub epochs: usize,
    /// Images per training step.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3, value_parser = learning_rate)]
    pub lr: f64,
    /// Seed of initialisation, shuffling and training noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
    /// Use only the first N training images.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub limit: Option<usize>,
    /// Use only the first N test images.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub test_limit: Option<usize>,
    /// Continue each run from its last checkpoint in the output folder (a finished run is
    /// not trained again).
    #[arg(long)]
    pub resume: bool,
}

/// Noise flags (exercise 3, and `train --noise`).
#[derive(Clone, Debug, Args)]
pub struct NoiseArgs {
    /// Keep x = y + n as it is instead of clipping it to [0, 1].
    #[arg(long)]
    pub no_clip: bool,
}

/// Flags of the exercises and `all`.
#[derive(Clone, Debug, Args)]
pub struct LabArgs {
    /// Common flags.
    #[command(flatten)]
    pub common: Common,
    /// Code size K of the dense models.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub latent: usize,
    /// Exercise 3: standard deviation of the training (and main test) noise.
    #[arg(long, default_value_t = 0.5, value_parser = noise_std)]
    pub noise: f64,
    /// Exercise 3: test noise levels of the PSNR table (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.3,0.5,0.7,0.9", value_parser = noise_std)]
    pub noise_levels: Vec<f64>,
    /// Noise flags.
    #[command(flatten)]
    pub noise_flags: NoiseArgs,
    /// VAE: latent dimensions (2 draws the code space).
    #[arg(long, default_value_t = 2, value_parser = positive)]
    pub vae_latent: usize,
    /// VAE: the weight of the KL term (1 trains on the ELBO).
    #[arg(long, default_value_t = 1.0, value_parser = noise_std)]
    pub beta: f64,
    /// Sparse: the L1 weights to compare (comma-separated; 0 is the plain model).
    #[arg(long, value_delimiter = ',', default_value = "0,0.0001,0.0003,0.001", value_parser = noise_std)]
    pub sparsity_weights: Vec<f64>,
    /// Contractive: the weight λ of the Jacobian penalty (compared with λ = 0).
    #[arg(long, default_value_t = 0.03, value_parser = learning_rate)]
    pub contraction: f64,
    /// Inpainting: the side of the square hole punched in every input, in pixels.
    #[arg(long, default_value_t = 8, value_parser = hole_size)]
    pub hole: usize,
    /// Anomaly detection: the digit left out of training (the anomaly to find).
    #[arg(long, default_value_t = 9, value_parser = digit)]
    pub anomaly_digit: u8,
}

/// Flags of `train`.
#[derive(Clone, Debug, Args)]
pub struct TrainArgs {
    /// Common flags.
    #[command(flatten)]
    pub common: Common,
    /// The model.
    #[arg(long, default_value = "conv", value_parser = model_kind())]
    pub model: ModelKind,
    /// Code size K of the dense models.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub latent: usize,
    /// The training loss (default: mse, bce for conv-pool as the course trains it).
    #[arg(long, value_enum)]
    pub objective: Option<Objective>,
    /// Train as a denoiser: Gaussian noise of this standard deviation on the inputs.
    #[arg(long, value_parser = noise_std)]
    pub noise: Option<f64>,
    /// Noise flags.
    #[command(flatten)]
    pub noise_flags: NoiseArgs,
    /// VAE: the weight of the KL term (1 trains on the ELBO).
    #[arg(long, default_value_t = 1.0, value_parser = noise_std)]
    pub beta: f64,
    /// Sparse model: the weight of the L1 penalty on the code.
    #[arg(long, default_value_t = 1e-3, value_parser = noise_std)]
    pub sparsity: f64,
    /// Contractive model: the weight of the Jacobian penalty.
    #[arg(long, default_value_t = 0.1, value_parser = noise_std)]
    pub contraction: f64,
    /// Inpainting: punch a square hole of this side in every input.
    #[arg(long, value_parser = hole_size)]
    pub hole: Option<usize>,
    /// Leave this digit out of the training set (anomaly detection).
    #[arg(long, value_parser = digit)]
    pub exclude_digit: Option<u8>,
    /// Train on this digit alone, tested on its own test images (one-class anomaly
    /// detection).
    #[arg(long, value_parser = digit, conflicts_with = "exclude_digit")]
    pub only_digit: Option<u8>,
    /// Print the autodiff tape of the first training step.
    #[arg(long)]
    pub print_tape: bool,
}

/// The models by name, `dense1-none` or `dense1_none`, listed in `--help`.
fn model_kind() -> impl clap::builder::TypedValueParser<Value = ModelKind> {
    let names: Vec<String> = ModelKind::ALL
        .iter()
        .map(|k| k.id().replace('_', "-"))
        .collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| ModelKind::from_id(&name).expect("a listed name"))
}

fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

fn learning_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err("must be a positive finite number".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

fn hole_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=28).contains(&n) => Ok(n),
        Ok(_) => Err("must be 1 to 28 (pixels of a 28×28 image)".into()),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

fn digit(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(d) if d <= 9 => Ok(d),
        _ => Err(format!("{s:?} is not a digit 0-9")),
    }
}

fn noise_std(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err("must be a finite number ≥ 0".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Action, clap::Error> {
        parse_from(std::iter::once("tp").chain(args.iter().copied()))
    }

    #[test]
    fn bench_takes_a_thread_count() {
        match parse(&["bench", "--threads", "1"]).unwrap() {
            Action::Bench(b) => assert_eq!(b.threads, Some(1)),
            other => panic!("parsed as {other:?}"),
        }
        assert!(parse(&["bench", "--threads", "0"]).is_err());
    }

    #[test]
    fn defaults_are_the_lab_settings() {
        let Action::Experiments {
            names,
            all,
            args: a,
        } = parse(&["all"]).unwrap()
        else {
            panic!("not all")
        };
        assert!(all);
        assert_eq!(
            names,
            EXPERIMENTS.iter().map(|e| e.name).collect::<Vec<_>>()
        );
        assert_eq!(a.common.epochs, 10);
        assert_eq!(a.common.batch_size, 64);
        assert_eq!(a.common.lr, 1e-3);
        assert_eq!(a.common.out, PathBuf::from("runs"));
        assert_eq!(a.latent, 64);
        assert_eq!(a.noise, 0.5);
        assert_eq!(a.noise_levels, vec![0.1, 0.3, 0.5, 0.7, 0.9]);
        assert!(!a.noise_flags.no_clip && !a.common.resume);
        assert_eq!(a.common.data, None);
    }

    #[test]
    fn flags_are_read() {
        let cli = parse(&[
            "train",
            "--model",
            "dense2-relu",
            "--latent",
            "8",
            "--epochs",
            "3",
            "--batch-size",
            "32",
            "--lr",
            "0.01",
            "--seed",
            "7",
            "--threads",
            "1",
            "--limit",
            "100",
            "--test-limit",
            "50",
            "--noise",
            "0.3",
            "--no-clip",
            "--resume",
            "--data",
            "d",
            "--out",
            "o",
        ])
        .unwrap();
        let Action::Train(t) = cli else {
            panic!("not train")
        };
        assert_eq!(t.model, ModelKind::Dense2Relu);
        assert_eq!((t.latent, t.common.epochs, t.common.batch_size), (8, 3, 32));
        assert_eq!(
            (t.common.lr, t.common.seed, t.common.threads),
            (0.01, 7, Some(1))
        );
        assert_eq!((t.common.limit, t.common.test_limit), (Some(100), Some(50)));
        assert_eq!(t.noise, Some(0.3));
        assert!(t.noise_flags.no_clip && t.common.resume);
        assert_eq!(t.common.data, Some(PathBuf::from("d")));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for (args, reason) in [
            (vec!["all", "--batch-size", "0"], "at least 1"),
            (vec!["all", "--epochs", "two"], "not a whole number"),
            (vec!["all", "--lr=-1"], "positive"),
            (vec!["all", "--lr", "nan"], "positive"),
            (vec!["tp3", "--noise=-0.5"], "≥ 0"),
            (vec!["train", "--model", "gan"], "gan"),
            (vec!["tp1", "--frobnicate"], "frobnicate"),
            (vec!["tp9"], "tp9"),
        ] {
            let err = parse(&args).unwrap_err().to_string();
            assert!(err.contains(reason), "{args:?}: {err}");
        }
    }

    #[test]
    fn every_subcommand_has_help() {
        let subs = EXPERIMENTS.iter().map(|e| e.command());
        for sub in subs.chain(["all".into(), "train".into()]) {
            let sub = sub.as_str();
            let err = parse(&[sub, "--help"]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{sub}");
            assert!(err.to_string().contains("--epochs"), "{sub}");
        }
        let help = command().render_help().to_string();
        for entry in EXPERIMENTS {
            assert!(help.contains(&entry.command()), "{help}");
            assert!(help.contains(entry.about), "{help}");
        }
    }

    #[test]
    fn one_experiment_runs_alone_under_its_subcommand() {
        let Ok(Action::Experiments { names, all, .. }) = parse(&["super-res"]) else {
            panic!("super-res is not an experiment")
        };
        assert_eq!((names, all), (vec!["super_res"], false));
        // The subcommand is the name with `-`; the folder name is not a second spelling.
        assert!(parse(&["super_res"]).is_err());
    }

    /// Every experiment has its `just` recipe, under its subcommand's name.
    #[test]
    fn the_justfile_has_a_recipe_for_every_experiment() {
        let justfile =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../justfile"))
                .unwrap();
        for entry in EXPERIMENTS {
            let recipe = format!("\n{} *ARGS:", entry.command());
            let runs = format!("tp-runner -- {} {{{{ARGS}}}}", entry.command());
            assert!(
                justfile.contains(&recipe) && justfile.contains(&runs),
                "justfile: no recipe `{}` running `tp {}`",
                entry.command(),
                entry.command()
            );
        }
    }
}
