//! `report.md`: the lab's report, one section per exercise, every number from the run that
//! writes it. Timings come last, in their own section, because they are the only numbers
//! that change from one run (or thread count) to the next.

use layers::summary::thousands;

use crate::fsutil::write_atomic;
use crate::lab::markdown::table;
use crate::lab::{Lab, Section};
use crate::train::Objective;
use crate::zoo::ModelKind;

/// The heading of the timings section (everything above it is the same, bit for bit, for
/// the same seed and data whatever the number of threads).
pub const TIMINGS_HEADING: &str = "## Timings";

/// Writes `<out>/<file>` from the exercises' sections; returns its path.
pub fn write(
    lab: &Lab,
    sections: &[Section],
    threads: usize,
    wall_seconds: f64,
    file: &str,
) -> Result<std::path::PathBuf, String> {
    let s = &lab.settings;
    let mut on_bce: Vec<String> = lab
        .runs()
        .iter()
        // The lab's models (the VAEs' BCE is part of their own loss).
        .filter(|r| {
            ModelKind::ALL.contains(&r.config.model) && r.config.objective == Objective::Bce
        })
        .map(|r| r.config.model.short(r.config.latent))
        .collect();
    on_bce.dedup();
    let objective = if on_bce.is_empty() {
        String::new()
    } else {
        format!(
            " (the {} on the binary cross-entropy, as the course does: with the MSE it \
             collapses to a black image)",
            on_bce.join(" and the ")
        )
    };
    let mut md = String::from("# Autoencoders on MNIST: the lab's report\n\n");
    md += &format!(
        "Data: {} (`{}`): {} training images, {} test images. Every model: Adam (lr {}, betas \
         0.9/0.999), batch {}, {}, PyTorch's default initialisation, seed {}. The lab's \
         exercises train on the mean squared error per pixel{objective}; the families after \
         them state their own losses. Every reconstruction error reported is the MSE per \
         pixel; test errors are measured on the whole test set after the last epoch. Written \
         by `tp` from the runs in this folder; each run's folder holds its `metrics.csv`, \
         `summary.txt`, `config.json` and `model.safetensors`.\n\n",
        lab.splits.description,
        lab.splits.dir.display(),
        thousands(lab.splits.train.len() as u64),
        thousands(lab.splits.test.len() as u64),
        s.lr,
        s.batch_size,
        crate::lab::markdown::count(s.epochs, "epoch"),
        s.seed,
    );
    for section in sections {
        md += &section.body;
    }
    md += TIMINGS_HEADING;
    md += "\n\n";
    let rows: Vec<Vec<String>> = sections
        .iter()
        .flat_map(|sec| sec.timings.iter())
        .map(|t| {
            vec![
                format!("`{}`", t.run),
                t.epochs_trained.to_string(),
                format!("{:.2}", t.seconds_per_epoch),
                format!("{:.0}", lab.splits.train.len() as f64 / t.seconds_per_epoch),
            ]
        })
        .collect();
    md += &table(
        &[
            "run",
            "epochs trained now",
            "s / epoch",
            "training images / s",
        ],
        &rows,
    );
    md += &format!(
        "\n{threads} threads; {wall_seconds:.1} s for the whole command, evaluation and \
         figures included. Epochs taken from a checkpoint (`--resume`) keep the time they took \
         when they ran.\n"
    );
    let path = s.out.join(file);
    write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

/// The report without its timings section: what must not depend on threads or machine.
pub fn without_timings(report: &str) -> &str {
    report.split(TIMINGS_HEADING).next().unwrap_or(report)
}
