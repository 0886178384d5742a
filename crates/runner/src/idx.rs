//! The IDX file format of MNIST, Fashion-MNIST and KMNIST, plain or gzip-compressed.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! bytes 0-1   zero
//! byte  2     element type: 0x08 = unsigned byte (the only one these datasets use)
//! byte  3     number of dimensions d (3 for images, 1 for labels)
//! then d u32  the size of each dimension
//! then        the elements, row-major
//! ```
//!
//! Everything is validated against the file: a wrong magic number, a truncated body or
//! trailing bytes give an [`IdxError`] naming the file, never a panic.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// An IDX array of unsigned bytes: its dimensions and its elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of the dimensions, e.g. `[60000, 28, 28]`.
    pub dims: Vec<usize>,
    /// The elements in row-major order.
    pub data: Vec<u8>,
}

/// Why an IDX file could not be read.
#[derive(Debug)]
pub enum IdxError {
    /// The file could not be opened or read (or its gzip stream is corrupt).
    Io(PathBuf, io::Error),
    /// The file was read, but its contents are not a valid IDX array.
    Format(PathBuf, String),
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            IdxError::Format(path, what) => {
                write!(f, "{}: not a valid IDX file: {what}", path.display())
            }
        }
    }
}

impl std::error::Error for IdxError {}

/// Reads an IDX file of unsigned bytes; a name ending in `.gz` is decompressed.
pub fn read(path: &Path) -> Result<IdxArray, IdxError> {
    let io_err = |e| IdxError::Io(path.to_path_buf(), e);
    let mut bytes = Vec::new();
    let file = File::open(path).map_err(io_err)?;
    if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    } else {
        io::BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    }
    parse(&bytes).map_err(|what| IdxError::Format(path.to_path_buf(), what))
}

/// Parses the bytes of an (uncompressed) IDX file.
pub fn parse(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "{} bytes is too short for the 4-byte magic number",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "magic number starts with {:#04x} {:#04x}, expected two zero bytes",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "element type {:#04x}, expected 0x08 (unsigned byte)",
            bytes[2]
        ));
    }
    let rank = bytes[3] as usize;
    if rank == 0 {
        return Err("zero dimensions".to_string());
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!(
            "header of {header} bytes for {rank} dimensions, but the file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} overflow"))?;
    let body = bytes.len() - header;
    if body != count {
        let problem = if body < count {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format!(
            "{problem}: dimensions {dims:?} need {count} bytes of data, found {body}"
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn parses_a_small_array() {
        let a = parse(&idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_bad_files_with_reasons() {
        assert!(parse(&[0, 0]).unwrap_err().contains("too short"));
        assert!(
            parse(&idx_bytes(&[2], &[1]))
                .unwrap_err()
                .contains("truncated")
        );
        assert!(
            parse(&idx_bytes(&[1], &[1, 2]))
                .unwrap_err()
                .contains("trailing")
        );
        let mut float = idx_bytes(&[1], &[1]);
        float[2] = 0x0d;
        assert!(parse(&float).unwrap_err().contains("element type 0x0d"));
        assert!(parse(b"PK\x03\x04zip").unwrap_err().contains("magic"));
    }

    #[test]
    fn reads_the_committed_sample_and_names_missing_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let labels = read(&dir.join("train-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(labels.dims, vec![10_000]);
        assert!(labels.data.iter().all(|&l| l < 10));
        let missing = read(&dir.join("nope.gz")).unwrap_err().to_string();
        assert!(missing.contains("nope.gz"), "{missing}");
    }
}
