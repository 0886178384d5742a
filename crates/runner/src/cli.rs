//! The command line of `tp`: one subcommand per exercise, `train` for any single model,
//! and `all` for every exercise followed by the report.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::train::Objective;
use crate::zoo::ModelKind;

/// `tp`: the lab's autoencoder experiments on MNIST-format data.
#[derive(Debug, Parser)]
#[command(name = "tp", version, arg_required_else_help = true)]
#[command(about = "The lab's autoencoder experiments on MNIST: exercises, training, report")]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exercise 1: dense autoencoders 784-K-784 (linear and ReLU code) and 784-128-K-128-784.
    Tp1(LabArgs),
    /// Exercise 2: the convolutional autoencoders, compared with the dense ones.
    Tp2(LabArgs),
    /// Exercise 3: the denoising convolutional autoencoder, MSE/PSNR/SSIM.
    Tp3(LabArgs),
    /// The variational autoencoders (dense and convolutional): ELBO, latent space, samples.
    Vae(LabArgs),
    /// The adversarial autoencoders: three priors and a label-conditioned mixture.
    Aae(LabArgs),
    /// The sparse autoencoder: an L1 penalty on a wide code, at several weights.
    Sparse(LabArgs),
    /// The contractive autoencoder: the Jacobian penalty, with and without.
    Contractive(LabArgs),
    /// PCA against the dense autoencoders at K = 2, 8, 32, 64.
    Pca(LabArgs),
    /// Compression: the code quantized to 8 bits, against PNG and gzip.
    Compression(LabArgs),
    /// Super-resolution: 14×14 to 28×28, against nearest and bilinear upsampling.
    SuperRes(LabArgs),
    /// Inpainting: square holes filled in, against the mean image.
    Inpaint(LabArgs),
    /// Anomaly detection: one digit left out of training, found by reconstruction error.
    Anomaly(LabArgs),
    /// Codes as features with few labels, and pre-training an encoder for classification.
    Features(LabArgs),
    /// Clustering without labels: a categorical adversarial autoencoder against k-means.
    Clustering(LabArgs),
    /// Every exercise and experiment, then <out>/report.md.
    All(LabArgs),
    /// Train one model with any settings (the generic entry).
    Train(TrainArgs),
    /// How fast this machine runs the engine: FMA peak, GEMM, images/s per model.
    Bench(BenchArgs),
}

/// Flags of `bench`.
#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
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
    #[arg(long, value_enum, default_value_t = ModelKind::Conv)]
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
    /// Print the autodiff tape of the first training step.
    #[arg(long)]
    pub print_tape: bool,
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tp").chain(args.iter().copied()))
    }

    #[test]
    fn bench_takes_a_thread_count() {
        match parse(&["bench", "--threads", "1"]).unwrap().command {
            Command::Bench(b) => assert_eq!(b.threads, Some(1)),
            other => panic!("parsed as {other:?}"),
        }
        assert!(parse(&["bench", "--threads", "0"]).is_err());
    }

    #[test]
    fn defaults_are_the_lab_settings() {
        let Command::All(a) = parse(&["all"]).unwrap().command else {
            panic!("not all")
        };
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
        let Command::Train(t) = cli.command else {
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
        ] {
            let err = parse(&args).unwrap_err().to_string();
            assert!(err.contains(reason), "{args:?}: {err}");
        }
    }

    #[test]
    fn every_subcommand_has_help() {
        for sub in ["tp1", "tp2", "tp3", "all", "train"] {
            let err = parse(&[sub, "--help"]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{sub}");
            assert!(err.to_string().contains("--epochs"), "{sub}");
        }
    }
}
