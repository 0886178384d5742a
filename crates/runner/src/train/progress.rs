//! Progress of an epoch: an `indicatif` bar (images, images/s, ETA, running loss) when
//! standard error is a terminal; the training loop prints one plain line per finished
//! epoch in every case.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

/// The progress display of one epoch.
pub struct EpochProgress {
    bar: Option<ProgressBar>,
}

impl EpochProgress {
    /// Starts an epoch of `images` images; `label` names the model and epoch.
    pub fn start(label: &str, images: usize) -> EpochProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(images as u64);
            let style = ProgressStyle::with_template(
                "{prefix:>28} [{bar:30}] {pos:>6}/{len} img  {per_sec:>12}  ETA {eta:>3}  {msg}",
            )
            .expect("valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        EpochProgress { bar }
    }

    /// `images` more images done; `loss` is the running mean training loss.
    pub fn advance(&self, images: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(images as u64);
            bar.set_message(format!("loss {loss:.5}"));
        }
    }

    /// Ends the epoch, clearing the bar (the caller prints the epoch's line).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
