//! End-of-epoch checkpoints: weights, optimizer state, random generator state, epoch,
//! configuration and the metrics so far, so that `--resume` continues a run and ends with
//! the same bits as a run that was never interrupted.
//!
//! A checkpoint is files in `<run>/checkpoint/`: `model-epochN.safetensors`, one
//! `optimizer[-name]-epochN.safetensors` per optimizer (each written to a temporary file,
//! synced and renamed),
//! then `checkpoint.json`, which names them. Writing `checkpoint.json` (temporary file,
//! sync, rename, directory sync) is the commit: a crash before it leaves the previous
//! checkpoint whole. The files of older epochs are removed after it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tensor::Rng;

use super::metrics::EpochRecord;
use super::{RunConfig, Trainee};
use crate::fsutil::{create_dir, write_atomic};

/// The position of a ChaCha8 generator: its seed, stream and word position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, as hexadecimal.
    pub seed: String,
    /// The stream number.
    pub stream: u64,
    /// How many 32-bit words have been drawn (a u128, as decimal text).
    pub word_pos: String,
}

impl RngState {
    /// Where `rng` stands.
    pub fn of(rng: &Rng) -> RngState {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator at this position.
    pub fn restore(&self) -> Result<Rng, String> {
        use rand::SeedableRng as _;
        let bad = || format!("random generator state {self:?} is malformed");
        if self.seed.len() != 64 {
            return Err(bad());
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        let word_pos: u128 = self.word_pos.parse().map_err(|_| bad())?;
        let mut rng = Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// What `checkpoint.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Checkpoint<T: Trainee> {
    /// Epochs completed.
    pub epoch: usize,
    /// The run's configuration.
    pub config: RunConfig<T::Config>,
    /// The training generator after the last completed epoch.
    pub rng: RngState,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord<T::Figures>>,
    /// The weights' file, relative to the checkpoint folder.
    pub model_file: String,
    /// Each optimizer's state file, by optimizer name, relative to the checkpoint folder.
    pub optimizer_files: Vec<(String, String)>,
}

/// The checkpoint folder of a run folder.
pub fn dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

/// The file of optimizer `name` at `epoch`: `optimizer-epoch3.safetensors` for a run's only
/// optimizer, `optimizer-discriminator-epoch3.safetensors` for one of several.
fn optimizer_file(name: &str, epoch: usize) -> String {
    if name == "optimizer" {
        format!("optimizer-epoch{epoch}.safetensors")
    } else {
        format!("optimizer-{name}-epoch{epoch}.safetensors")
    }
}

/// Saves a checkpoint after `history.len()` epochs.
pub fn save<T: Trainee>(
    run_dir: &Path,
    config: &RunConfig<T::Config>,
    trainee: &T,
    rng: &Rng,
    history: &[EpochRecord<T::Figures>],
) -> Result<(), String> {
    let dir = dir_of(run_dir);
    create_dir(&dir)?;
    let epoch = history.len();
    let model_file = format!("model-epoch{epoch}.safetensors");
    layers::io::save(dir.join(&model_file), trainee.model()).map_err(|e| e.to_string())?;
    let mut optimizer_files = Vec::new();
    for (name, opt) in trainee.optimizers() {
        let file = optimizer_file(name, epoch);
        layers::io::save_optimizer(dir.join(&file), opt, trainee.model())
            .map_err(|e| e.to_string())?;
        optimizer_files.push((name.to_string(), file));
    }
    let ckpt = Checkpoint::<T> {
        epoch,
        config: config.clone(),
        rng: RngState::of(rng),
        history: history.to_vec(),
        model_file,
        optimizer_files,
    };
    let json = serde_json::to_string_pretty(&ckpt).expect("a checkpoint serialises");
    write_atomic(&dir.join("checkpoint.json"), json.as_bytes())?;
    // The commit is done: files of earlier epochs are no longer referenced.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = name.ends_with(".safetensors")
                && name != ckpt.model_file
                && ckpt.optimizer_files.iter().all(|(_, f)| *f != name);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// The folder where a run keeps its checkpoint of `epoch` (see [`keep`]).
pub fn kept_dir_of(run_dir: &Path, epoch: usize) -> PathBuf {
    run_dir.join(format!("checkpoint-epoch{epoch}"))
}

/// Copies the files `ckpt` names (its weights and optimizer states) from checkpoint folder
/// `from` to `to`.
fn copy_files<T: Trainee>(ckpt: &Checkpoint<T>, from: &Path, to: &Path) -> Result<(), String> {
    let files =
        std::iter::once(&ckpt.model_file).chain(ckpt.optimizer_files.iter().map(|(_, f)| f));
    for file in files {
        std::fs::copy(from.join(file), to.join(file))
            .map_err(|e| format!("{}: {e}", from.join(file).display()))?;
    }
    Ok(())
}

/// Copies the run's committed checkpoint, of `epoch`, to [`kept_dir_of`], where later epochs
/// leave it alone: another run can start from it ([`branch`]). A `checkpoint.json` already
/// there is removed first, then the files the checkpoint names are copied, then its
/// `checkpoint.json` (written atomically): a kept folder without it holds nothing.
pub fn keep<T: Trainee>(run_dir: &Path, epoch: usize) -> Result<(), String> {
    let (from, to) = (dir_of(run_dir), kept_dir_of(run_dir, epoch));
    let ckpt = match read::<T>(run_dir)? {
        Some(ckpt) if ckpt.epoch == epoch => ckpt,
        _ => {
            return Err(format!(
                "{}: no checkpoint of epoch {epoch}",
                from.display()
            ));
        }
    };
    create_dir(&to)?;
    let committed = to.join("checkpoint.json");
    if committed.exists() {
        std::fs::remove_file(&committed).map_err(|e| format!("{}: {e}", committed.display()))?;
    }
    copy_files(&ckpt, &from, &to)?;
    let json = serde_json::to_string_pretty(&ckpt).expect("a checkpoint serialises");
    write_atomic(&committed, json.as_bytes())
}

/// Makes the checkpoint kept in `kept` (a folder [`keep`] wrote) the checkpoint of run
/// folder `run_dir`, under `config`, if the kept run was trained under `trained_as` (the
/// number of epochs aside): resumed, that run goes on from the kept epoch. Returns whether
/// it did; `false` when nothing is kept there or it was kept from another configuration.
/// The caller vouches that `config` trains as `trained_as` up to the kept epoch (a run that
/// differs only in its later epochs), so that the branch ends with the same bits as a run
/// trained under `config` from the start.
pub fn branch<T: Trainee>(
    kept: &Path,
    run_dir: &Path,
    config: &RunConfig<T::Config>,
    trained_as: &RunConfig<T::Config>,
) -> Result<bool, String> {
    let Some(mut ckpt) = read_json::<T>(&kept.join("checkpoint.json"))? else {
        return Ok(false);
    };
    if trained_as.resumable_from(&ckpt.config).is_err() {
        return Ok(false);
    }
    let to = dir_of(run_dir);
    create_dir(&to)?;
    copy_files(&ckpt, kept, &to)?;
    ckpt.config = config.clone();
    let json = serde_json::to_string_pretty(&ckpt).expect("a checkpoint serialises");
    write_atomic(&to.join("checkpoint.json"), json.as_bytes())?;
    Ok(true)
}

/// The checkpoint of a run folder, if one was committed.
pub fn read<T: Trainee>(run_dir: &Path) -> Result<Option<Checkpoint<T>>, String> {
    read_json(&dir_of(run_dir).join("checkpoint.json"))
}

/// The checkpoint whose `checkpoint.json` is `path`, if there is one.
fn read_json<T: Trainee>(path: &Path) -> Result<Option<Checkpoint<T>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let ckpt: Checkpoint<T> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a checkpoint of this kind of run: {e}",
            path.display()
        )
    })?;
    if ckpt.history.len() != ckpt.epoch {
        return Err(format!(
            "{}: {} epoch records for epoch {}",
            path.display(),
            ckpt.history.len(),
            ckpt.epoch
        ));
    }
    Ok(Some(ckpt))
}

/// Loads a checkpoint's weights and optimizer states into `trainee`; returns the training
/// generator. Weights holding a NaN or an infinity are refused: training on from them would
/// only spread it.
pub fn restore<T: Trainee>(
    run_dir: &Path,
    ckpt: &Checkpoint<T>,
    trainee: &mut T,
) -> Result<Rng, String> {
    let dir = dir_of(run_dir);
    let weights = dir.join(&ckpt.model_file);
    layers::io::load(&weights, trainee.model_mut()).map_err(|e| e.to_string())?;
    let mut bad = None;
    trainee.model().visit("", &mut |name, p| {
        if bad.is_none() && p.value.data().iter().any(|v| !v.is_finite()) {
            bad = Some(name.to_string());
        }
    });
    if let Some(name) = bad {
        return Err(format!(
            "{}: the weights hold a NaN or an infinity (in {name}), so this checkpoint cannot \
             be resumed from; remove the run folder to train again",
            weights.display()
        ));
    }
    for (name, file) in &ckpt.optimizer_files {
        // The state is read into a copy: the file is checked against the model, which the
        // optimizer's own borrow of the trainee would keep out of reach.
        let mut state = trainee
            .optimizers()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, opt)| opt.clone())
            .ok_or_else(|| format!("{}: no optimizer named {name} in this run", dir.display()))?;
        layers::io::load_optimizer(dir.join(file), &mut state, trainee.model())
            .map_err(|e| e.to_string())?;
        if let Some((_, opt)) = trainee
            .optimizers_mut()
            .into_iter()
            .find(|(n, _)| n == name)
        {
            *opt = state;
        }
    }
    ckpt.rng.restore()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    #[test]
    fn a_restored_generator_continues_the_same_sequence() {
        let mut a = tensor::rng(42);
        let _: Vec<f32> = (0..1001).map(|_| a.random()).collect();
        let mut b = RngState::of(&a).restore().unwrap();
        let next_a: Vec<u64> = (0..10).map(|_| a.random()).collect();
        let next_b: Vec<u64> = (0..10).map(|_| b.random()).collect();
        assert_eq!(next_a, next_b);
        let bad = RngState {
            seed: "zz".into(),
            ..RngState::of(&a)
        };
        assert!(bad.restore().is_err());
    }
}
