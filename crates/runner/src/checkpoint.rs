//! End-of-epoch checkpoints: weights, optimizer state, random generator state, epoch,
//! configuration and the metrics so far, so that `--resume` continues a run and ends with
//! the same bits as a run that was never interrupted.
//!
//! A checkpoint is three files in `<run>/checkpoint/`: `model-epochN.safetensors`,
//! `optimizer-epochN.safetensors` (each written to a temporary file, synced and renamed),
//! then `checkpoint.json`, which names them. Writing `checkpoint.json` (temporary file,
//! sync, rename, directory sync) is the commit: a crash before it leaves the previous
//! checkpoint whole. The files of older epochs are removed after it.

use std::path::{Path, PathBuf};

use layers::Module;
use layers::optim::Adam;
use serde::{Deserialize, Serialize};
use tensor::Rng;

use crate::fsutil::{create_dir, write_atomic};
use crate::train::{EpochRecord, TrainConfig};

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
pub struct Checkpoint {
    /// Epochs completed.
    pub epoch: usize,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The training generator after the last completed epoch.
    pub rng: RngState,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord>,
    /// The weights' file, relative to the checkpoint folder.
    pub model_file: String,
    /// The optimizer state's file, relative to the checkpoint folder.
    pub optimizer_file: String,
}

/// The checkpoint folder of a run folder.
pub fn dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

/// Saves a checkpoint after `history.len()` epochs.
pub fn save(
    run_dir: &Path,
    config: &TrainConfig,
    model: &dyn Module,
    opt: &Adam,
    rng: &Rng,
    history: &[EpochRecord],
) -> Result<(), String> {
    let dir = dir_of(run_dir);
    create_dir(&dir)?;
    let epoch = history.len();
    let ckpt = Checkpoint {
        epoch,
        config: config.clone(),
        rng: RngState::of(rng),
        history: history.to_vec(),
        model_file: format!("model-epoch{epoch}.safetensors"),
        optimizer_file: format!("optimizer-epoch{epoch}.safetensors"),
    };
    layers::io::save(dir.join(&ckpt.model_file), model).map_err(|e| e.to_string())?;
    layers::io::save_optimizer(dir.join(&ckpt.optimizer_file), opt, model)
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&ckpt).expect("a checkpoint serialises");
    write_atomic(&dir.join("checkpoint.json"), json.as_bytes())?;
    // The commit is done: files of earlier epochs are no longer referenced.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = name.ends_with(".safetensors")
                && name != ckpt.model_file
                && name != ckpt.optimizer_file;
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// The checkpoint of a run folder, if one was committed.
pub fn read(run_dir: &Path) -> Result<Option<Checkpoint>, String> {
    let path = dir_of(run_dir).join("checkpoint.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let ckpt: Checkpoint = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))?;
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

/// Loads a checkpoint's weights into `model` and its state into `opt`; returns the
/// training generator.
pub fn restore(
    run_dir: &Path,
    ckpt: &Checkpoint,
    model: &mut dyn Module,
    opt: &mut Adam,
) -> Result<Rng, String> {
    let dir = dir_of(run_dir);
    layers::io::load(dir.join(&ckpt.model_file), model).map_err(|e| e.to_string())?;
    layers::io::load_optimizer(dir.join(&ckpt.optimizer_file), opt, model)
        .map_err(|e| e.to_string())?;
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
