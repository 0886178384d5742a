//! `tp`: the lab's autoencoder experiments (the training demo comes with the layers crate).
use std::path::PathBuf;
use std::process::ExitCode;

use tp_runner::dataset::Dataset;

fn main() -> ExitCode {
    let dir = PathBuf::from("datasets/mnist-sample");
    match Dataset::load(&dir, "train") {
        Ok(d) => {
            println!("{} images of {}x{}", d.len(), d.height, d.width);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
