//! Writing output files so that a crash never leaves half of one.
//!
//! Every file `tp` writes (metrics, figures, report, checkpoints' bookkeeping) goes to a
//! temporary file beside its target, is synced to disk, renamed over the target, and then
//! the directory is synced so that the rename itself survives a power cut.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, directory fsync),
/// creating the parent directories. The error names the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Unique per process and call, so two writers never share a temporary file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let call = WRITES.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}-{call}", std::process::id()));
    let result = (|| {
        let mut f = File::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| format!("{}: {e}", path.display()))
}

/// Syncs a directory's entries (the renames done in it) to disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its parents; the error names it.
pub fn create_dir(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("fsutil-{}", std::process::id()));
        let path = dir.join("sub/out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
        let err = write_atomic(Path::new("/proc/forbidden/x"), b"").unwrap_err();
        assert!(err.contains("/proc/forbidden"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
