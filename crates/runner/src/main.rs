//! `tp`: the lab's autoencoder experiments. For now: train one autoencoder (see `--help`).
use std::path::PathBuf;
use std::process::ExitCode;

use tp_runner::demo::{self, DemoConfig};

const HELP: &str = "tp: train an autoencoder on MNIST-format IDX files

usage: tp [--data DIR] [--model conv|dense] [--latent K] [--epochs N] [--batch B]
          [--seed S] [--print-tape] [--save FILE | --no-save]

  --data DIR      folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]
                  (default: datasets/mnist-sample, the committed 10,000-image sample)
  --model NAME    conv (the lab's convolutional autoencoder, default) or dense (784-128-K-128-784, ReLU)
  --latent K      latent size of the dense model (default 32)
  --epochs N      passes over the training images (default 2)
  --batch B       images per step (default 64)
  --seed S        seed of initialisation and shuffling (default 0)
  --print-tape    print the autodiff tape of the first training step
  --save FILE     where to write the weights as safetensors (default out/demo.safetensors)
  --no-save       write no weights";

fn parse(args: &[String]) -> Result<DemoConfig, String> {
    let mut c = DemoConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag.as_str() {
            "--data" => c.data = PathBuf::from(value()?),
            "--model" => c.model = value()?.clone(),
            "--latent" => c.latent = number(value()?)?,
            "--epochs" => c.epochs = number(value()?)?,
            "--batch" => c.batch = number(value()?)?.max(1),
            "--seed" => c.seed = number(value()?)? as u64,
            "--print-tape" => c.print_tape = true,
            "--save" => c.save = Some(PathBuf::from(value()?)),
            "--no-save" => c.save = None,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(c)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let config = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    if !demo::has_idx_files(&config.data) {
        eprintln!(
            "error: {}: no train-images-idx3-ubyte[.gz] here (run from the repository root, or pass --data DIR)",
            config.data.display()
        );
        return ExitCode::FAILURE;
    }
    match demo::run(&config) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
