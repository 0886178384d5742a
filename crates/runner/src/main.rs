//! `tp`: the lab's autoencoder experiments (`tp --help`).
use std::process::ExitCode;

use tp_runner::{app, cli};

fn main() -> ExitCode {
    let action = match cli::parse_from(std::env::args_os()) {
        Ok(action) => action,
        Err(e) => e.exit(),
    };
    match app::run(action) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
