//! Checkpoints: a model's named parameters and buffers (and optionally an optimizer's state) in
//! one [safetensors](https://huggingface.co/docs/safetensors) file, the format PyTorch, candle and
//! burn read.
//!
//! - **Names and layout.** Each parameter is stored under its dotted name with its logical
//!   (PyTorch) shape in row-major order, so `torch`'s `load_file` gives tensors that drop into
//!   the same PyTorch module. Buffers (running statistics) are stored under their names too;
//!   optimizer state under `optimizer.{param}.{slot}` and `optimizer.step`.
//! - **Atomic writes.** The file is written to a temporary file in the same folder, synced, and
//!   renamed over the target, so a crash mid-save leaves the last good checkpoint intact.
//! - **Checked loads.** Every name the model lists must be present with its dtype (`F32` or `F64`;
//!   the other is converted) and shape; a missing, misshapen or unexpected tensor is an error that
//!   names it, and the model is left unchanged.

use crate::{Error, Float, Mat, Optimizer, Parameters, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const OPTIMIZER_PREFIX: &str = "optimizer.";

struct Entry {
    name: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn row_major_bytes<F: Float>(m: &Mat<F>) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len() * std::mem::size_of::<F>());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            let v = m[(i, j)].to_f64();
            if F::DTYPE == "F32" {
                out.extend_from_slice(&(v as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

fn dtype_of<F: Float>() -> Dtype {
    if F::DTYPE == "F32" {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn collect<F: Float>(
    model: &mut dyn Parameters<F>,
    optimizer: Option<&dyn Optimizer<F>>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    model.visit_params(&mut |name, p| {
        entries.push(Entry {
            name: name.to_string(),
            shape: p.shape.clone(),
            bytes: row_major_bytes(&p.value),
        })
    });
    model.visit_buffers(&mut |name, m| {
        entries.push(Entry {
            name: name.to_string(),
            shape: vec![m.nrows(), m.ncols()],
            bytes: row_major_bytes(m),
        })
    });
    if let Some(opt) = optimizer {
        for (name, m) in opt.export_state(model) {
            entries.push(Entry {
                name: format!("{OPTIMIZER_PREFIX}{name}"),
                shape: vec![m.nrows(), m.ncols()],
                bytes: row_major_bytes(&m),
            });
        }
    }
    entries
}

/// Saves the model's parameters and buffers, with string metadata, atomically.
pub fn save<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    metadata: &[(&str, String)],
) -> Result<()> {
    write(path.as_ref(), collect(model, None), metadata, dtype_of::<F>())
}

/// Saves the model and the optimizer's state (for an exact resume), atomically.
pub fn save_training<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    optimizer: &dyn Optimizer<F>,
    metadata: &[(&str, String)],
) -> Result<()> {
    write(
        path.as_ref(),
        collect(model, Some(optimizer)),
        metadata,
        dtype_of::<F>(),
    )
}

fn write(path: &Path, entries: Vec<Entry>, metadata: &[(&str, String)], dtype: Dtype) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if !seen.insert(e.name.as_str()) {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason: format!("two tensors are named {}", e.name),
            });
        }
    }
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|e| {
            TensorView::new(dtype, e.shape.clone(), &e.bytes)
                .map(|v| (e.name.clone(), v))
                .map_err(|err| Error::Checkpoint {
                    path: path.into(),
                    reason: format!("tensor {}: {err}", e.name),
                })
        })
        .collect::<Result<_>>()?;
    let mut info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    info.insert("format".into(), "inductive".into());
    let bytes = safetensors::serialize(views, Some(info)).map_err(|err| Error::Checkpoint {
        path: path.into(),
        reason: err.to_string(),
    })?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::io(path, std::io::Error::other("not a file path")))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a folder, so best effort.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// A checkpoint read into memory: tensors by name (as matrices) and metadata.
pub struct Checkpoint<F: Float> {
    path: PathBuf,
    tensors: HashMap<String, (Vec<usize>, Mat<F>)>,
    /// The string metadata saved with it.
    pub metadata: HashMap<String, String>,
}

fn to_matrix<F: Float>(view: &TensorView<'_>, path: &Path, name: &str) -> Result<(Vec<usize>, Mat<F>)> {
    let shape = view.shape().to_vec();
    let (rows, cols) = match shape.len() {
        0 => (1, 1),
        1 => (shape[0], 1),
        _ => (shape[0], shape[1..].iter().product()),
    };
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        other => {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason: format!("tensor {name} has dtype {other:?}; only F32 and F64 are read"),
            });
        }
    };
    if values.len() != rows * cols {
        return Err(Error::Checkpoint {
            path: path.into(),
            reason: format!("tensor {name}: {} values for shape {shape:?}", values.len()),
        });
    }
    // row-major on disk → matrix element (i, j) at i·cols + j
    Ok((shape, Mat::from_fn(rows, cols, |i, j| F::of(values[i * cols + j]))))
}

impl<F: Float> Checkpoint<F> {
    /// Reads and validates a safetensors file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Checkpoint {
            path: path.into(),
            reason: format!("not a valid safetensors file: {e}"),
        })?;
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::Checkpoint {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let t = to_matrix(&view, path, &name)?;
            tensors.insert(name, t);
        }
        Ok(Checkpoint {
            path: path.into(),
            tensors,
            metadata,
        })
    }

    /// The tensor stored under `name`, as a matrix (`shape[0] x rest`).
    pub fn get(&self, name: &str) -> Option<&Mat<F>> {
        self.tensors.get(name).map(|(_, m)| m)
    }

    /// Names of all tensors, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    fn err(&self, reason: String) -> Error {
        Error::Checkpoint {
            path: self.path.clone(),
            reason,
        }
    }

    /// Copies the stored parameters and buffers into `model`, after checking every name and
    /// shape; on error the model is unchanged.
    pub fn load_into(&self, model: &mut dyn Parameters<F>) -> Result<()> {
        // First pass: check everything.
        let mut problem: Option<String> = None;
        let mut used = std::collections::HashSet::new();
        model.visit_params(&mut |name, p| {
            if problem.is_some() {
                return;
            }
            match self.tensors.get(name) {
                None => problem = Some(format!("parameter {name} is missing")),
                Some((shape, _)) if *shape != p.shape => {
                    problem = Some(format!(
                        "parameter {name} has shape {shape:?} in the file, the model expects {:?}",
                        p.shape
                    ))
                }
                Some(_) => {
                    used.insert(name.to_string());
                }
            }
        });
        model.visit_buffers(&mut |name, m| {
            if problem.is_some() {
                return;
            }
            match self.tensors.get(name) {
                None => problem = Some(format!("buffer {name} is missing")),
                Some((_, v)) if v.shape() != m.shape() => {
                    problem = Some(format!(
                        "buffer {name} has shape {:?} in the file, the model expects {:?}",
                        v.shape(),
                        m.shape()
                    ))
                }
                Some(_) => {
                    used.insert(name.to_string());
                }
            }
        });
        if problem.is_none() {
            let mut extra: Vec<&str> = self
                .tensors
                .keys()
                .filter(|n| !n.starts_with(OPTIMIZER_PREFIX) && !used.contains(*n))
                .map(String::as_str)
                .collect();
            extra.sort_unstable();
            if let Some(first) = extra.first() {
                problem = Some(format!(
                    "tensor {first} is not a parameter of this model ({} unexpected)",
                    extra.len()
                ));
            }
        }
        if let Some(p) = problem {
            return Err(self.err(p));
        }
        // Second pass: copy.
        model.visit_params(&mut |name, p| p.value.copy_from(&self.tensors[name].1));
        model.visit_buffers(&mut |name, m| m.copy_from(&self.tensors[name].1));
        Ok(())
    }

    /// Restores the optimizer state saved by [`save_training`].
    pub fn load_optimizer(
        &self,
        model: &mut dyn Parameters<F>,
        optimizer: &mut dyn Optimizer<F>,
    ) -> Result<()> {
        let state: Vec<(String, Mat<F>)> = self
            .tensors
            .iter()
            .filter_map(|(n, (_, m))| {
                n.strip_prefix(OPTIMIZER_PREFIX)
                    .map(|s| (s.to_string(), m.clone()))
            })
            .collect();
        if state.is_empty() {
            return Err(self.err("no optimizer state in this checkpoint".into()));
        }
        optimizer
            .import_state(model, &state)
            .map_err(|e| self.err(e.to_string()))
    }
}

/// Loads parameters and buffers saved by [`save`] into `model`; returns the metadata.
pub fn load<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
) -> Result<HashMap<String, String>> {
    let ck = Checkpoint::<F>::read(path)?;
    ck.load_into(model)?;
    Ok(ck.metadata)
}

/// Loads a checkpoint written by [`save_training`] into the model and the optimizer.
pub fn load_training<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    optimizer: &mut dyn Optimizer<F>,
) -> Result<HashMap<String, String>> {
    let ck = Checkpoint::<F>::read(path)?;
    // Check the optimizer state against a copy-free dry run order: model first, then optimizer;
    // both validate before writing.
    ck.load_into(model)?;
    ck.load_optimizer(model, optimizer)?;
    Ok(ck.metadata)
}
