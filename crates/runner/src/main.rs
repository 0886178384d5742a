//! `tp`: the lab's autoencoder experiments (`tp --help`).
use std::process::ExitCode;

use clap::Parser as _;
use tp_runner::{app, cli::Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
