//! `report.md`: assembled from the experiments' `results.json` files alone, one section per
//! experiment in the registry's order. Timings come last, in their own section, because
//! they are the only numbers that change from one run (or thread count) to the next.

pub mod claims;
pub mod markdown;

use std::path::{Path, PathBuf};

use layers::summary::thousands;
use serde::{Deserialize, Serialize};

use crate::experiments::{EXPERIMENTS, Entry, LabInfo, Rendered, Section};
use crate::fsutil::write_atomic;
use markdown::{count, table};

/// The heading of the timings section (everything above it is the same, bit for bit, for
/// the same seed and data whatever the number of threads).
pub const TIMINGS_HEADING: &str = "## Timings";

/// The heading of the appendix (the models' description tables).
pub const APPENDIX_HEADING: &str = "Appendix: the models' description tables";

/// The name of an experiment's results file in its folder.
pub const RESULTS_FILE: &str = "results.json";

/// `<out>/<experiment>/results.json`: what an experiment measured, with the lab's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultsFile {
    /// The experiment's name.
    pub experiment: String,
    /// The data and the shared settings.
    pub lab: LabInfo,
    /// The experiment's [`crate::experiments::Experiment::Results`].
    pub results: serde_json::Value,
    /// How long it took, and on how many threads (the only part that changes with them).
    pub timing: WallTime,
}

/// The wall time of one experiment's `measure`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WallTime {
    /// Worker threads.
    pub threads: usize,
    /// Seconds, training, evaluation and figures included.
    pub seconds: f64,
}

impl ResultsFile {
    /// Writes `<out>/<experiment>/results.json`.
    pub fn write(&self, out: &Path) -> Result<PathBuf, String> {
        let path = out.join(&self.experiment).join(RESULTS_FILE);
        let json = serde_json::to_string_pretty(self).expect("results serialise");
        write_atomic(&path, json.as_bytes())?;
        Ok(path)
    }

    /// Reads `<out>/<experiment>/results.json`, `None` if there is none.
    pub fn read(out: &Path, experiment: &str) -> Result<Option<ResultsFile>, String> {
        let path = out.join(experiment).join(RESULTS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let file: ResultsFile = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a results file: {e}", path.display()))?;
        if file.experiment != experiment {
            return Err(format!(
                "{}: holds the results of {:?}",
                path.display(),
                file.experiment
            ));
        }
        Ok(Some(file))
    }
}

/// Every `results.json` of the registry's experiments found in `out`, in the report's order.
pub fn read_all(out: &Path) -> Result<Vec<ResultsFile>, String> {
    let mut files = Vec::new();
    for entry in EXPERIMENTS {
        if let Some(file) = ResultsFile::read(out, entry.name)? {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(format!(
            "{}: no results.json of any experiment here (run `tp all` or an experiment first)",
            out.display()
        ));
    }
    Ok(files)
}

/// The report's Markdown from `files` (in the registry's order).
pub fn render(files: &[ResultsFile]) -> Result<String, String> {
    let first = files.first().ok_or("no results to report")?;
    let mut rendered = Vec::new();
    for file in files {
        let entry: &Entry = crate::experiments::find(&file.experiment)
            .ok_or_else(|| format!("unknown experiment {:?}", file.experiment))?;
        rendered.push((entry.render)(&file.results, &file.lab)?);
    }
    let heading = |r: &Rendered| r.section.body.lines().next().unwrap_or("").to_string();
    let findings: Vec<(claims::Finding, String)> = rendered
        .iter()
        .flat_map(|r| r.claims.iter().map(move |f| (f.clone(), heading(r))))
        .collect();
    let appendix: String = rendered.iter().map(|r| r.appendix.as_str()).collect();
    let mut md = header(&first.lab);
    md += "## Summary: the course's claims, tested\n\n";
    md += &claims::summary(&findings);
    md += " Each verdict is chosen from the numbers of the section it links to.\n\n";
    md += &claims::table(&findings);
    md += "\n## Contents\n\n";
    for r in &rendered {
        let h = heading(r);
        md += &format!(
            "- [{}](#{})\n",
            h.trim_start_matches('#').trim(),
            claims::anchor(&h)
        );
    }
    if !appendix.is_empty() {
        md += &format!(
            "- [{APPENDIX_HEADING}](#{})\n",
            claims::anchor(APPENDIX_HEADING)
        );
    }
    md += &format!("- [Timings](#{})\n\n", claims::anchor(TIMINGS_HEADING));
    for r in &rendered {
        md += &r.section.body;
    }
    if !appendix.is_empty() {
        md += &format!("## {APPENDIX_HEADING}\n\n{appendix}");
    }
    let sections: Vec<Section> = rendered.into_iter().map(|r| r.section).collect();
    md += &timings(files, &sections);
    Ok(md)
}

/// Renders `files` into `<out>/<file>`; returns its path.
pub fn write(out: &Path, files: &[ResultsFile], file: &str) -> Result<PathBuf, String> {
    let md = render(files)?;
    let path = out.join(file);
    write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

fn header(lab: &LabInfo) -> String {
    let mut md = format!(
        "# Autoencoders on {}: the lab's report\n\n",
        lab.dataset.name
    );
    md += &format!(
        "Data: {} (`{}`), {}: {} training images, {} test images. Every model: Adam (lr {}, betas \
         0.9/0.999), batch {}, {}, PyTorch's default initialisation, seed {}. The lab's \
         exercises train on the mean squared error per pixel unless their section says \
         otherwise; the families after them state their own losses. Every reconstruction \
         error reported is the MSE per pixel; test errors are measured on the whole test set \
         after the last epoch. Written by `tp` from the `results.json` of each experiment in \
         this folder (`tp report` writes it again from them); each run's folder holds its \
         `metrics.csv`, `summary.txt`, `config.json` and `model.safetensors`.\n\n",
        lab.data,
        lab.data_dir,
        lab.dataset.recognition(),
        thousands(lab.n_train as u64),
        thousands(lab.n_test as u64),
        lab.lr,
        lab.batch_size,
        count(lab.epochs, "epoch"),
        lab.seed,
    );
    md
}

fn timings(files: &[ResultsFile], sections: &[Section]) -> String {
    let mut md = format!("{TIMINGS_HEADING}\n\n");
    // A run several experiments read (exercise 2's conv model) is listed once.
    let mut listed: Vec<&crate::experiments::Timing> = Vec::new();
    for t in sections.iter().flat_map(|sec| sec.timings.iter()) {
        if !listed.contains(&t) {
            listed.push(t);
        }
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|t| {
            vec![
                format!("`{}`", t.run),
                t.epochs_trained.to_string(),
                format!("{:.2}", t.seconds_per_epoch),
                format!("{:.0}", t.images as f64 / t.seconds_per_epoch),
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
    let seconds: f64 = files.iter().map(|f| f.timing.seconds).sum();
    let threads = files.iter().map(|f| f.timing.threads).max().unwrap_or(1);
    md += &format!(
        "\n{threads} threads; {seconds:.1} s for the experiments, evaluation and figures \
         included. Epochs taken from a checkpoint (`--resume`) keep the time they took when \
         they ran.\n"
    );
    md
}

/// The report without its timings section: what must not depend on threads or machine.
pub fn without_timings(report: &str) -> &str {
    report.split(TIMINGS_HEADING).next().unwrap_or(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Timing;

    #[test]
    fn the_header_names_the_data_set_it_ran_on() {
        use crate::data::identity::{DataIdentity, Family};
        let fashion = LabInfo {
            dataset: DataIdentity::of_family(Family::FashionMnist),
            ..crate::experiments::tp1::tests::lab()
        };
        let md = header(&fashion);
        assert!(md.starts_with("# Autoencoders on Fashion-MNIST"), "{md}");
        assert!(md.contains("a class is a garment"), "{md}");
        assert!(!md.contains("on MNIST") && !md.contains("digit"), "{md}");
        let caption = fashion.dataset.each_class();
        assert!(caption.contains("Ankle boot") && !caption.contains("each digit"));
        // A results.json written before data sets were named reads as MNIST.
        let mut json = serde_json::to_value(crate::experiments::tp1::tests::lab()).unwrap();
        json.as_object_mut().unwrap().remove("dataset");
        let old: LabInfo = serde_json::from_value(json).unwrap();
        assert!(header(&old).starts_with("# Autoencoders on MNIST:"));
    }

    #[test]
    fn a_run_read_by_several_experiments_has_one_timings_row() {
        let run = |name: &str| Timing {
            run: name.into(),
            epochs_trained: 10,
            seconds_per_epoch: 1.0,
            images: 1_000,
        };
        let section = |runs: &[&str]| Section {
            body: String::new(),
            timings: runs.iter().map(|r| run(r)).collect(),
        };
        let sections = [
            section(&["conv", "conv_pool"]),
            section(&["conv", "inpaint"]),
        ];
        let md = timings(&[], &sections);
        assert_eq!(md.matches("| `conv` |").count(), 1, "{md}");
        assert!(
            md.contains("`conv_pool`") && md.contains("`inpaint`"),
            "{md}"
        );
    }
}
