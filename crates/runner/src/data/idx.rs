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
//! Nothing in a file is trusted. The header is read and checked before anything is
//! allocated; the body is then read as a stream that stops one byte past the size the
//! header announces, so a small gzip file that inflates to gigabytes costs no more memory
//! than the array it claims to hold. A wrong magic number, an absurd header, a truncated
//! body or trailing bytes give an [`IdxError`] naming the file, never a panic.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use byteorder::{BigEndian, ReadBytesExt};
use flate2::read::GzDecoder;

/// The largest array this reader accepts: 1 GiB of bytes (the full MNIST training set is
/// 47 MB). A header announcing more is refused before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 30;

/// The largest number of dimensions accepted (MNIST uses 1 and 3).
pub const MAX_RANK: usize = 4;

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

/// What went wrong inside a stream, before the file's name is attached.
enum StreamError {
    Io(io::Error),
    Format(String),
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

/// Reads an IDX file of unsigned bytes; a name ending in `.gz` is decompressed on the fly.
pub fn read(path: &Path) -> Result<IdxArray, IdxError> {
    let file = File::open(path).map_err(|e| IdxError::Io(path.to_path_buf(), e))?;
    let result = if path.extension().is_some_and(|e| e == "gz") {
        read_stream(BufReader::new(GzDecoder::new(file)))
    } else {
        read_stream(BufReader::new(file))
    };
    result.map_err(|e| match e {
        StreamError::Io(e) => IdxError::Io(path.to_path_buf(), e),
        StreamError::Format(what) => IdxError::Format(path.to_path_buf(), what),
    })
}

/// Parses the bytes of an (uncompressed) IDX file.
pub fn parse(bytes: &[u8]) -> Result<IdxArray, String> {
    read_stream(bytes).map_err(|e| match e {
        StreamError::Io(e) => e.to_string(),
        StreamError::Format(what) => what,
    })
}

/// Header, then exactly the announced body, then nothing.
fn read_stream(mut r: impl Read) -> Result<IdxArray, StreamError> {
    let (dims, count) = read_header(&mut r)?;
    // `take` bounds the read. The announced size is reserved up front, up to 128 MiB (a
    // doubling vector would peak at 1.5× the 47 MB of MNIST's training images while it
    // copies); beyond that the vector grows only as bytes actually arrive, so a header that
    // lies about its size cannot make us allocate gigabytes.
    let mut data = Vec::with_capacity(count.min(1 << 27));
    (&mut r).take(count as u64).read_to_end(&mut data)?;
    if data.len() < count {
        return Err(StreamError::Format(format!(
            "truncated: dimensions {dims:?} need {count} bytes of data, found {}",
            data.len()
        )));
    }
    let mut one = [0u8; 1];
    if read_some(&mut r, &mut one)? > 0 {
        return Err(StreamError::Format(format!(
            "trailing bytes: dimensions {dims:?} need {count} bytes of data, the file has more"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// The magic number and the dimensions, checked; returns the dimensions and their product.
fn read_header(r: &mut impl Read) -> Result<(Vec<usize>, usize), StreamError> {
    let mut magic = [0u8; 4];
    let got = read_full(r, &mut magic)?;
    if got < 4 {
        return Err(StreamError::Format(format!(
            "{got} bytes is too short for the 4-byte magic number"
        )));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(StreamError::Format(format!(
            "magic number starts with {:#04x} {:#04x}, expected two zero bytes",
            magic[0], magic[1]
        )));
    }
    if magic[2] != 0x08 {
        return Err(StreamError::Format(format!(
            "element type {:#04x}, expected 0x08 (unsigned byte)",
            magic[2]
        )));
    }
    let rank = magic[3] as usize;
    if rank == 0 || rank > MAX_RANK {
        return Err(StreamError::Format(format!(
            "{rank} dimensions, expected 1 to {MAX_RANK}"
        )));
    }
    let mut dims = Vec::with_capacity(rank);
    for i in 0..rank {
        match r.read_u32::<BigEndian>() {
            Ok(d) => dims.push(d as usize),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(StreamError::Format(format!(
                    "header of {} bytes for {rank} dimensions, but the file ends inside dimension {i}",
                    4 + 4 * rank
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| {
            StreamError::Format(format!(
                "dimensions {dims:?} announce more than the {MAX_ELEMENTS} bytes this reader accepts"
            ))
        })?;
    Ok((dims, count))
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(r, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// One `read`, retried on interruption.
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

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
        assert!(parse(&[0, 0, 8, 9]).unwrap_err().contains("9 dimensions"));
        assert!(
            parse(&[0, 0, 8, 3, 0, 0, 0, 1])
                .unwrap_err()
                .contains("ends inside dimension 1")
        );
        let huge = parse(&idx_bytes(&[u32::MAX, u32::MAX, 2], &[]));
        assert!(huge.unwrap_err().contains("more than the"));
    }

    /// A valid 10-image header followed by 64 MiB of zeros, gzip-compressed to a few
    /// hundred kilobytes: refused after reading one byte past the announced body.
    #[test]
    fn a_gzip_bomb_is_refused_after_the_announced_size() {
        let dir = std::env::temp_dir().join(format!("idx-bomb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("train-images-idx3-ubyte.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(&idx_bytes(&[10, 28, 28], &[])).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("trailing bytes"), "{err}");
        assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_the_committed_sample_and_names_missing_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample");
        let labels = read(&dir.join("train-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(labels.dims, vec![10_000]);
        assert!(labels.data.iter().all(|&l| l < 10));
        let test = read(&dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
        assert_eq!(test.dims, vec![10_000, 28, 28]);
        let missing = read(&dir.join("nope.gz")).unwrap_err().to_string();
        assert!(missing.contains("nope.gz"), "{missing}");
    }
}
