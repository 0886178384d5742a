//! One writer per run folder: an advisory lock on `<run>/.lock`, held for the time of the
//! run. The operating system releases it when the process ends, however it ends, so the
//! file a killed run leaves behind does not block `--resume`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use crate::fsutil::create_dir;

/// The name of the lock file in a run folder.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on a run folder; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Creates `dir` if needed and locks it, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, String> {
        create_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("process {holder}")
                };
                return Err(format!(
                    "{}: {who} is writing this run folder (its lock is {}); wait for it to \
                     finish or give another --out",
                    dir.display(),
                    path.display()
                ));
            }
            Err(TryLockError::Error(e)) => return Err(format!("{}: {e}", path.display())),
        }
        // The holder's process id, for the error a second writer gets.
        let write_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            file.flush()
        };
        write_pid(&mut file).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(RunLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_folder_and_the_holder_and_a_released_lock_is_free() {
        let dir = std::env::temp_dir().join(format!("tp-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let held = RunLock::acquire(&dir).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(
            err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        assert!(held.path().exists());
        drop(held);
        // The file stays (as after a kill), but nobody holds it.
        assert!(dir.join(LOCK_FILE).exists());
        RunLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
