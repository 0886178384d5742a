//! Checkpoints as safetensors files, readable by PyTorch and written by it.
//!
//! A model file holds every parameter and buffer under its state-dict name
//! (`encoder.0.weight`, `1.running_mean`), F32 little-endian, except counters
//! (`num_batches_tracked`), which are I64 as PyTorch stores them; the metadata says
//! `format = pt`. So, in Python:
//!
//! ```text
//! from safetensors.torch import load_file, save_file
//! model.load_state_dict(load_file("model.safetensors"))     # a file written here
//! save_file(model.state_dict(), "model.safetensors")        # a file to load here
//! ```
//!
//! An optimizer file holds `state.<param>.<slot>` tensors (see [`crate::optim`]) and, in the
//! metadata, `optimizer` (its PyTorch class name) and every hyperparameter by name.
//!
//! Writing goes to a temporary file in the same directory, renamed over the target at the
//! end, so a crash never leaves a half-written checkpoint. The same content always gives the
//! same bytes (metadata sorted by key), so checkpoints can be compared or hashed. Loading checks everything (names,
//! shapes, dtypes) before changing the model, and returns a [`CheckpointError`] rather than
//! panicking.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tensor::{ParamId, Tensor};

use crate::error::CheckpointError;
use crate::module::Module;
use crate::optim::{Optimizer, ParamState};
use crate::parameter::Role;

/// A tensor as read from a file, with whether it was stored as an integer.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The values (integers converted to f32).
    pub tensor: Tensor,
    /// The dtype in the file (`"F32"`, `"I64"`, …).
    pub dtype: String,
}

/// The contents of a safetensors file.
#[derive(Clone, Debug, Default)]
pub struct Contents {
    /// The tensors by name.
    pub tensors: BTreeMap<String, Stored>,
    /// The string-to-string metadata of the header.
    pub metadata: HashMap<String, String>,
}

/// Writes named tensors (`integer`: store as I64) with metadata, atomically.
pub fn write_tensors(
    path: &Path,
    tensors: &[(String, &Tensor, bool)],
    metadata: HashMap<String, String>,
) -> Result<(), CheckpointError> {
    let bytes: Vec<(String, Vec<u8>, Dtype, Vec<usize>)> = tensors
        .iter()
        .map(|(name, t, integer)| {
            let (bytes, dtype) = if *integer {
                let b = t
                    .data()
                    .iter()
                    .flat_map(|&v| (v.round() as i64).to_le_bytes())
                    .collect();
                (b, Dtype::I64)
            } else {
                (
                    t.data().iter().flat_map(|v| v.to_le_bytes()).collect(),
                    Dtype::F32,
                )
            };
            (name.clone(), bytes, dtype, t.shape().to_vec())
        })
        .collect();
    let corrupt = |e: safetensors::SafeTensorError| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut views = Vec::with_capacity(bytes.len());
    for (name, data, dtype, shape) in &bytes {
        views.push((
            name.as_str(),
            TensorView::new(*dtype, shape.clone(), data).map_err(corrupt)?,
        ));
    }
    let file = serialize_sorted(views, metadata).map_err(corrupt)?;
    write_atomically(path, &file)
}

/// The safetensors bytes of `views` and `metadata`, the same for the same content, call
/// after call.
///
/// `safetensors::serialize` sorts the tensors (by dtype, then name) but writes the
/// `__metadata__` entries in the order the `HashMap` yields them, which changes from one
/// map to the next, so two saves of one optimizer state would differ. Its header is an
/// 8-byte little-endian length, then JSON padded with spaces that opens with
/// `{"__metadata__":{…}`: those entries are rewritten in place sorted by key. The same
/// entries sorted have the same length, so nothing else in the file moves.
fn serialize_sorted(
    views: Vec<(&str, TensorView)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    const HEADER_LEN: usize = 8;
    const OPENING: &[u8] = br#"{"__metadata__":"#;
    let sorted: BTreeMap<&String, &String> = metadata.iter().collect();
    let sorted = serde_json::to_vec(&sorted).expect("a map of strings serialises");
    let mut file = safetensors::serialize(views, Some(metadata.clone()))?;
    let at = HEADER_LEN + OPENING.len();
    let entries = at..at + sorted.len();
    // The bytes to replace must be exactly the metadata object, as the layout above says.
    let written = file
        .get(entries.clone())
        .and_then(|json| serde_json::from_slice::<HashMap<String, String>>(json).ok());
    assert!(
        file[HEADER_LEN..].starts_with(OPENING) && written.as_ref() == Some(&metadata),
        "safetensors no longer opens its header with the metadata: cannot sort it"
    );
    file[entries].copy_from_slice(&sorted);
    Ok(file)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and per call, so two saves to one path never share a temporary.
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.tmp{}-{call}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// The `state.<param>.<slot>` names that `state` lacks and those it has beyond `slots`
/// (`"step"` stands for [`ParamState::step`]), each sorted.
fn slot_mismatch(
    state: &BTreeMap<String, ParamState>,
    slots: &[&str],
) -> (Vec<String>, Vec<String>) {
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    for (param, s) in state {
        let mut has: Vec<&str> = s.slots.keys().map(String::as_str).collect();
        if s.step.is_some() {
            has.push("step");
        }
        missing.extend(
            slots
                .iter()
                .filter(|n| !has.contains(n))
                .map(|n| format!("state.{param}.{n}")),
        );
        extra.extend(
            has.iter()
                .filter(|n| !slots.contains(n))
                .map(|n| format!("state.{param}.{n}")),
        );
    }
    missing.sort();
    extra.sort();
    (missing, extra)
}

/// Reads every tensor of a safetensors file (F32, or I64/I32 converted to f32) and its
/// metadata. Other dtypes give [`CheckpointError::Dtype`].
pub fn read_tensors(path: &Path) -> Result<Contents, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |e: safetensors::SafeTensorError| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(corrupt)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(&bytes).map_err(corrupt)?;
    let mut out = BTreeMap::new();
    for (name, view) in file.iter() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::I64 => data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
            Dtype::I32 => data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as f32)
                .collect(),
            other => {
                return Err(CheckpointError::Dtype {
                    path: path.to_path_buf(),
                    tensor: name.to_string(),
                    expected: "F32",
                    found: format!("{other:?}"),
                });
            }
        };
        let stored = Stored {
            tensor: Tensor::from_vec(view.shape(), values),
            dtype: format!("{:?}", view.dtype()),
        };
        out.insert(name.to_string(), stored);
    }
    Ok(Contents {
        tensors: out,
        metadata,
    })
}

/// Saves every parameter and buffer of `model` (its state dict) to `path`.
///
/// ```
/// # use layers::{io, Linear, Module};
/// # use tensor::rng;
/// let path = std::env::temp_dir().join(format!("doc-linear-{}.safetensors", std::process::id()));
/// let a = Linear::new(3, 2, &mut rng(0));
/// let mut b = Linear::new(3, 2, &mut rng(1));
/// io::save(&path, &a).unwrap();
/// io::load(&path, &mut b).unwrap();
/// assert_eq!(a.weight.value, b.weight.value);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save<M: Module + ?Sized>(path: impl AsRef<Path>, model: &M) -> Result<(), CheckpointError> {
    let mut entries: Vec<(String, Tensor, bool)> = Vec::new();
    model.visit("", &mut |name, p| {
        entries.push((name.to_string(), p.value.clone(), p.role == Role::Counter));
    });
    let refs: Vec<(String, &Tensor, bool)> =
        entries.iter().map(|(n, t, i)| (n.clone(), t, *i)).collect();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    write_tensors(path.as_ref(), &refs, metadata)
}

/// Loads every parameter and buffer of `model` from `path`: the file must hold exactly the
/// model's names, with the same shapes, in F32 (counters: I64 or F32). On error the model is
/// unchanged.
pub fn load<M: Module + ?Sized>(
    path: impl AsRef<Path>,
    model: &mut M,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let mut stored = read_tensors(path)?.tensors;
    let mut expected: Vec<(String, Vec<usize>, Role)> = Vec::new();
    model.visit("", &mut |name, p| {
        expected.push((name.to_string(), p.value.shape().to_vec(), p.role))
    });

    let mut missing: Vec<String> = expected
        .iter()
        .filter(|(n, _, _)| !stored.contains_key(n))
        .map(|(n, _, _)| n.clone())
        .collect();
    missing.sort();
    if !missing.is_empty() {
        return Err(CheckpointError::Missing {
            path: path.to_path_buf(),
            tensors: missing,
        });
    }
    let known: BTreeMap<&str, ()> = expected.iter().map(|(n, _, _)| (n.as_str(), ())).collect();
    let unexpected: Vec<String> = stored
        .keys()
        .filter(|k| !known.contains_key(k.as_str()))
        .cloned()
        .collect();
    if !unexpected.is_empty() {
        return Err(CheckpointError::Unexpected {
            path: path.to_path_buf(),
            tensors: unexpected,
        });
    }
    for (name, shape, role) in &expected {
        let s = &stored[name];
        let dtype_ok = s.dtype == "F32" || (*role == Role::Counter && s.dtype == "I64");
        if !dtype_ok {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                tensor: name.clone(),
                expected: if *role == Role::Counter {
                    "I64 or F32"
                } else {
                    "F32"
                },
                found: s.dtype.clone(),
            });
        }
        if s.tensor.shape() != shape.as_slice() {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                tensor: name.clone(),
                expected: shape.clone(),
                found: s.tensor.shape().to_vec(),
            });
        }
    }
    model.visit_mut("", &mut |name, p| {
        if let Some(s) = stored.remove(name) {
            p.value = s.tensor;
        }
    });
    Ok(())
}

/// Saves an optimizer's per-parameter state and hyperparameters to `path`, each parameter's
/// state under its name in `model` (the model the optimizer steps). State held for a parameter
/// that `model` does not have is an error: it would be lost.
pub fn save_optimizer<O: Optimizer + ?Sized, M: Module + ?Sized>(
    path: impl AsRef<Path>,
    opt: &O,
    model: &M,
) -> Result<(), CheckpointError> {
    let mut entries: Vec<(String, Tensor)> = Vec::new();
    let mut saved = 0;
    model.visit("", &mut |param, p| {
        let Some(state) = opt.state().get(&p.id()) else {
            return;
        };
        saved += 1;
        if let Some(step) = state.step {
            entries.push((format!("state.{param}.step"), Tensor::scalar(step)));
        }
        for (slot, t) in &state.slots {
            entries.push((format!("state.{param}.{slot}"), t.clone()));
        }
    });
    if saved != opt.state().len() {
        return Err(CheckpointError::Metadata {
            path: path.as_ref().to_path_buf(),
            reason: format!(
                "the {} holds state for {} parameters that the model saved with it does not have",
                opt.name(),
                opt.state().len() - saved
            ),
        });
    }
    let refs: Vec<(String, &Tensor, bool)> =
        entries.iter().map(|(n, t)| (n.clone(), t, false)).collect();
    let mut metadata: HashMap<String, String> = opt
        .hyperparameters()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    metadata.insert("optimizer".into(), opt.name().into());
    write_tensors(path.as_ref(), &refs, metadata)
}

/// Restores an optimizer's state and hyperparameters from `path`, checking that the file was
/// written by the same kind of optimizer and that every state tensor belongs to a trainable
/// parameter of `model` with the same shape. On error the optimizer is unchanged.
pub fn load_optimizer<O: Optimizer + ?Sized, M: Module + ?Sized>(
    path: impl AsRef<Path>,
    opt: &mut O,
    model: &M,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let Contents {
        tensors: stored,
        metadata,
    } = read_tensors(path)?;
    let meta_err = |reason: String| CheckpointError::Metadata {
        path: path.to_path_buf(),
        reason,
    };
    match metadata.get("optimizer") {
        Some(name) if name == opt.name() => {}
        Some(name) => {
            return Err(meta_err(format!(
                "state of a {name} optimizer, not {}",
                opt.name()
            )));
        }
        None => return Err(meta_err("no `optimizer` entry in the metadata".into())),
    }
    let mut hyper = Vec::new();
    for (key, value) in &metadata {
        if key == "optimizer" || key == "format" {
            continue;
        }
        let v: f32 = value
            .parse()
            .map_err(|_| meta_err(format!("hyperparameter {key} = {value:?} is not a number")))?;
        hyper.push((key.clone(), v));
    }

    let mut shapes: HashMap<String, (ParamId, Vec<usize>)> = HashMap::new();
    model.visit("", &mut |name, p| {
        if p.is_trainable() {
            shapes.insert(name.to_string(), (p.id(), p.value.shape().to_vec()));
        }
    });
    let mut state: BTreeMap<String, ParamState> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for (key, s) in stored {
        let parsed = key.strip_prefix("state.").and_then(|k| k.rsplit_once('.'));
        let Some((param, slot)) = parsed.filter(|(p, _)| shapes.contains_key(*p)) else {
            unexpected.push(key);
            continue;
        };
        if s.dtype != "F32" {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                tensor: key.clone(),
                expected: "F32",
                found: s.dtype,
            });
        }
        let expected_shape = if slot == "step" {
            vec![]
        } else {
            shapes[param].1.clone()
        };
        if s.tensor.shape() != expected_shape.as_slice() {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                tensor: key.clone(),
                expected: expected_shape,
                found: s.tensor.shape().to_vec(),
            });
        }
        let entry = state.entry(param.to_string()).or_default();
        if slot == "step" {
            entry.step = Some(s.tensor.item());
        } else {
            entry.slots.insert(slot.to_string(), s.tensor);
        }
    }
    if !unexpected.is_empty() {
        return Err(CheckpointError::Unexpected {
            path: path.to_path_buf(),
            tensors: unexpected,
        });
    }
    // Validate every hyperparameter name on a copy of the values before changing anything.
    let known: Vec<&str> = opt.hyperparameters().iter().map(|(k, _)| *k).collect();
    if let Some((key, _)) = hyper.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(meta_err(format!(
            "unknown hyperparameter {key} for {}",
            opt.name()
        )));
    }
    // Apply the hyperparameters, then check them and the state they imply; on any problem
    // put the old values back, so a failed load leaves the optimizer as it was.
    let previous = opt.hyperparameters();
    for (key, v) in &hyper {
        opt.set_hyperparameter(key, *v);
    }
    let problem = opt.check_hyperparameters().err().map(meta_err).or_else(|| {
        let (missing, extra) = slot_mismatch(&state, &opt.state_slots());
        if !missing.is_empty() {
            Some(CheckpointError::Missing {
                path: path.to_path_buf(),
                tensors: missing,
            })
        } else if !extra.is_empty() {
            Some(CheckpointError::Unexpected {
                path: path.to_path_buf(),
                tensors: extra,
            })
        } else {
            None
        }
    });
    if let Some(problem) = problem {
        for (key, v) in previous {
            opt.set_hyperparameter(key, v);
        }
        return Err(problem);
    }
    *opt.state_mut() = state
        .into_iter()
        .map(|(name, s)| (shapes[&name].0, s))
        .collect();
    Ok(())
}
