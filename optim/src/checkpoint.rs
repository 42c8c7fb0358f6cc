//! Checkpoints: a model's named parameters and buffers (and optionally an optimizer's state) in
//! one [safetensors](https://huggingface.co/docs/safetensors) file, the format PyTorch, candle and
//! burn read.
//!
//! - **Names and layout.** Each parameter is stored under its dotted name with its logical
//!   (PyTorch) shape in row-major order, so `safetensors.torch.load_file` gives tensors that
//!   drop into the same PyTorch module with `load_state_dict`, and a file PyTorch wrote loads
//!   here. Buffers (running statistics) are stored under their names as `rows x cols`;
//!   optimizer state under `optimizer.{param}.{slot}` (PyTorch's slot names: `exp_avg`,
//!   `momentum_buffer`, ...) and `optimizer.step`, and the learning rate in the metadata
//!   (`optimizer.learning_rate`).
//! - **Dtypes.** A model in `f32` writes `F32`, one in `f64` writes `F64`. Loading accepts either
//!   for either model (converted as PyTorch's `load_state_dict` does; `F32 → f64` is exact); any
//!   other dtype (`F16`, `BF16`, integers) is an error that names the tensor.
//! - **Atomic writes.** The file is written to a temporary file in the same folder, synced, and
//!   renamed over the target, so a crash or an error mid-save leaves the last good checkpoint
//!   intact and no temporary file behind.
//! - **Checked loads.** Every name the model lists must be present with a float dtype and its
//!   shape; a missing, misshapen, wrongly typed or unexpected tensor is an error that names it,
//!   and the model (and optimizer) are left unchanged. So is a parameter or buffer holding a
//!   non-finite value, and a running variance (a buffer named `running_var`, as batch norm's
//!   is, here and in PyTorch) holding a negative one.
//!
//! ```
//! use optim::{Linear, checkpoint};
//! let mut rng = optim::rng(0);
//! let mut model = Linear::<f32>::new(3, 2, &mut rng);
//! let path = std::env::temp_dir().join(format!("optim-doc-{}.safetensors", std::process::id()));
//! checkpoint::save(&path, &mut model, &[("epoch", "3".to_string())]).unwrap();
//! let mut fresh = Linear::<f32>::new(3, 2, &mut optim::rng(1));
//! let meta = checkpoint::load(&path, &mut fresh).unwrap();
//! assert_eq!(meta["epoch"], "3");
//! assert_eq!(fresh.weight.value, model.weight.value);
//! # std::fs::remove_file(&path).unwrap();
//! ```

use crate::{Error, Float, Mat, Optimizer, Parameters, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const OPTIMIZER_PREFIX: &str = "optimizer.";

/// PyTorch's batch norm keeps an int64 count of training batches (`bn.num_batches_tracked`),
/// used only when `momentum=None`; our layers have no such buffer, so a PyTorch checkpoint's
/// counters are accepted and ignored.
const PYTORCH_BATCH_COUNTER: &str = "num_batches_tracked";
const LEARNING_RATE_KEY: &str = "optimizer.learning_rate";
/// The name of batch norm's running variance buffer (ours and PyTorch's); a negative value in
/// it is refused on load.
const VARIANCE_BUFFER: &str = "running_var";

struct Entry {
    name: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
    /// Stored as `F64` whatever the model's scalar (a loop's exact `f64` sums).
    wide: bool,
}

/// The entries of `m` in row-major order of its own `rows x cols` layout, as little-endian `F`.
/// The logical shape of a buffer: a column (`n x 1`, e.g. a running mean) is stored as `[n]`,
/// as PyTorch stores it, anything else as `[rows, cols]`.
fn buffer_shape<F: Float>(m: &Mat<F>) -> Vec<usize> {
    if m.ncols() == 1 {
        vec![m.nrows()]
    } else {
        vec![m.nrows(), m.ncols()]
    }
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

/// Copies `src` into `dst` element by element in row-major order of each one's own layout (so a
/// `[n]` tensor read as `n x 1` fills a parameter kept as `1 x n`); the lengths must agree.
fn copy_row_major<F: Float>(src: &Mat<F>, dst: &mut Mat<F>) {
    debug_assert_eq!(src.len(), dst.len());
    if src.shape() == dst.shape() {
        dst.copy_from(src);
        return;
    }
    let (sc, dc) = (src.ncols().max(1), dst.ncols().max(1));
    for k in 0..dst.len() {
        dst[(k / dc, k % dc)] = src[(k / sc, k % sc)];
    }
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
            wide: false,
        })
    });
    model.visit_buffers(&mut |name, m| {
        entries.push(Entry {
            name: name.to_string(),
            shape: buffer_shape(m),
            bytes: row_major_bytes(m),
            wide: false,
        })
    });
    if let Some(opt) = optimizer {
        for (name, m) in opt.export_state(model) {
            entries.push(Entry {
                name: format!("{OPTIMIZER_PREFIX}{name}"),
                shape: vec![m.nrows(), m.ncols()],
                bytes: row_major_bytes(&m),
                wide: false,
            });
        }
    }
    entries
}

/// Saves the model's parameters and buffers, with string metadata, atomically.
///
/// # Errors
/// [`Error::Checkpoint`] if two tensors have the same name; [`Error::Io`] if the file cannot be
/// written (an existing file at `path` is then left as it was).
pub fn save<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    metadata: &[(&str, String)],
) -> Result<()> {
    write(
        path.as_ref(),
        collect(model, None),
        metadata.to_vec(),
        dtype_of::<F>(),
    )
}

/// Saves the model, the optimizer's state and its learning rate (for an exact resume with
/// [`load_training`]), atomically.
///
/// # Errors
/// As [`save`].
pub fn save_training<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    optimizer: &dyn Optimizer<F>,
    metadata: &[(&str, String)],
) -> Result<()> {
    let mut metadata = metadata.to_vec();
    // `{}` of an f64 is the shortest string that parses back to the same bits.
    metadata.push((LEARNING_RATE_KEY, format!("{}", optimizer.learning_rate())));
    write(
        path.as_ref(),
        collect(model, Some(optimizer)),
        metadata,
        dtype_of::<F>(),
    )
}

fn write(
    path: &Path,
    entries: Vec<Entry>,
    metadata: Vec<(&str, String)>,
    dtype: Dtype,
) -> Result<()> {
    let ck_err = |reason: String| Error::Checkpoint {
        path: path.into(),
        reason,
    };
    let mut seen = HashSet::new();
    for e in &entries {
        if !seen.insert(e.name.as_str()) {
            return Err(ck_err(format!("two tensors are named {:?}", e.name)));
        }
    }
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|e| {
            let dtype = if e.wide { Dtype::F64 } else { dtype };
            TensorView::new(dtype, e.shape.clone(), &e.bytes)
                .map(|v| (e.name.clone(), v))
                .map_err(|err| ck_err(format!("tensor {}: {err}", e.name)))
        })
        .collect::<Result<_>>()?;
    let mut info: HashMap<String, String> = metadata
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    info.entry("format".into())
        .or_insert_with(|| "inductive".into());
    let mut bytes = safetensors::serialize(views, Some(info)).map_err(|e| ck_err(e.to_string()))?;
    canonical_header(&mut bytes).map_err(ck_err)?;
    write_atomically(path, &bytes)
}

/// Rewrites the JSON header of serialized safetensors bytes with its keys sorted (the
/// `safetensors` crate writes the metadata map in hash order, which differs between runs), so
/// the same model and metadata always give the same bytes. The sorted header has exactly the
/// length of the original (same entries, same compact separators); it is padded with spaces to
/// the original header's length, as the format allows.
fn canonical_header(bytes: &mut [u8]) -> std::result::Result<(), String> {
    let n = header_length(bytes).ok_or("serialized file has no header")?;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])
        .map_err(|e| format!("serialized header is not JSON: {e}"))?;
    // serde_json's map is ordered by key (no `preserve_order` feature in this workspace)
    let sorted = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    if sorted.len() > n {
        return Err(format!(
            "sorted header is {} bytes, longer than the {n} written",
            sorted.len()
        ));
    }
    bytes[8..8 + sorted.len()].copy_from_slice(&sorted);
    bytes[8 + sorted.len()..8 + n].fill(b' ');
    Ok(())
}

/// The header length a safetensors file announces in its first 8 bytes, if the file holds it.
fn header_length(bytes: &[u8]) -> Option<usize> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let n = usize::try_from(n).ok()?;
    (bytes.len() - 8 >= n).then_some(n)
}

/// Refuses a header in which a key appears twice (at the top level or in `__metadata__`):
/// JSON parsers keep one of the two silently, so such a file means different things to
/// different readers. Called before the header is otherwise trusted.
fn check_duplicate_keys(bytes: &[u8]) -> std::result::Result<(), String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys {
        nested: bool,
    }
    impl<'de> Visitor<'de> for Keys {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == "__metadata__" && !self.nested {
                    map.next_value_seed(KeysSeed)?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                if !seen.insert(key.clone()) {
                    return Err(serde::de::Error::custom(format!(
                        "the key {key:?} appears twice in the header"
                    )));
                }
            }
            Ok(())
        }
    }
    struct KeysSeed;
    impl<'de> serde::de::DeserializeSeed<'de> for KeysSeed {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
            d.deserialize_map(Keys { nested: true })
        }
    }
    let Some(n) = header_length(bytes) else {
        return Ok(()); // the safetensors parser reports the truncation
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes[8..8 + n]);
    match (&mut de).deserialize_map(Keys { nested: false }) {
        Err(e) if e.to_string().contains("appears twice") => Err(e.to_string()),
        // other syntax problems are the safetensors parser's to report
        _ => Ok(()),
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, then
/// syncs the folder; on any error the temporary file is removed and an existing file at `path`
/// is untouched. Temporary files that killed saves of the same file left behind are removed
/// first (see `remove_stale_temporaries`). Every file the project writes goes through here.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::io(path, std::io::Error::other("not a file path")))?;
    // Unique per process and call, so concurrent saves (threads, processes) never share one.
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    remove_stale_temporaries(&dir, &file_name.to_string_lossy());
    let mut created = false;
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        created = true;
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
        if created {
            let _ = std::fs::remove_file(&tmp);
        }
        Error::io(path, e)
    })
}

/// Removes the temporary files an earlier, killed save of `file_name` left in `dir`
/// (`.NAME.tmp-PID-N`): those of processes that no longer run (on Linux, where `/proc` tells),
/// or, elsewhere, those older than an hour. A temporary file of a running save is never removed.
/// Best effort: a file that cannot be removed is left.
fn remove_stale_temporaries(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let proc = Path::new("/proc/self");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let stale = if proc.exists() {
            !Path::new(&format!("/proc/{pid}")).exists()
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600)
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A tensor as read from the file: a float tensor as a matrix, anything else kept by dtype.
enum Stored<F: Float> {
    /// `wide`: the exact values of an `F64` loop tensor (`state.…`), kept for
    /// [`TrainingFile::values_f64`] whatever `F` is.
    Float {
        shape: Vec<usize>,
        value: Mat<F>,
        wide: Option<Vec<f64>>,
    },
    Other {
        shape: Vec<usize>,
        dtype: Dtype,
    },
}

impl<F: Float> Stored<F> {
    fn shape(&self) -> &[usize] {
        match self {
            Stored::Float { shape, .. } | Stored::Other { shape, .. } => shape,
        }
    }
}

/// A checkpoint read into memory: tensors by name (as matrices) and metadata.
pub struct Checkpoint<F: Float> {
    path: PathBuf,
    tensors: HashMap<String, Stored<F>>,
    /// The string metadata saved with it.
    pub metadata: HashMap<String, String>,
}

/// Whether a buffer holds a variance, by PyTorch's name for batch norm's running variance
/// (`running_var`, also as the last part of a dotted name such as `layers.1.running_var`).
fn is_variance(name: &str) -> bool {
    name.rsplit('.').next() == Some(VARIANCE_BUFFER)
}

/// `shape[0] x (product of the rest)`, `1 x 1` for a scalar; `None` if that product overflows
/// (possible in a tensor of no values that the safetensors parser accepts, e.g. `[0, 2^33, 2^33]`).
fn matrix_dims(shape: &[usize]) -> Option<(usize, usize)> {
    match shape.len() {
        0 => Some((1, 1)),
        1 => Some((shape[0], 1)),
        _ => {
            let cols = shape[1..]
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))?;
            shape[0].checked_mul(cols).map(|_| (shape[0], cols))
        }
    }
}

fn to_stored<F: Float>(view: &TensorView<'_>, path: &Path, name: &str) -> Result<Stored<F>> {
    let shape = view.shape().to_vec();
    let (rows, cols) = matrix_dims(&shape).ok_or_else(|| Error::Checkpoint {
        path: path.into(),
        reason: format!("tensor {name}: the shape {shape:?} overflows as rows x columns"),
    })?;
    let data = view.data();
    let wide = (view.dtype() == Dtype::F64 && name.starts_with(STATE_PREFIX)).then(|| {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    });
    let values: Vec<F> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| F::of(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| {
                F::of(f64::from_le_bytes([
                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                ]))
            })
            .collect(),
        dtype => return Ok(Stored::Other { shape, dtype }),
    };
    if values.len() != rows * cols {
        return Err(Error::Checkpoint {
            path: path.into(),
            reason: format!("tensor {name}: {} values for shape {shape:?}", values.len()),
        });
    }
    // Row-major on disk: element (i, j) of the `rows x cols` matrix is value i·cols + j.
    Ok(Stored::Float {
        shape,
        value: Mat::from_fn(rows, cols, |i, j| values[i * cols + j]),
        wide,
    })
}

impl<F: Float> Checkpoint<F> {
    /// Reads and validates a safetensors file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; [`Error::Checkpoint`] if it is not a valid
    /// safetensors file (truncated, garbage, inconsistent header).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        check_duplicate_keys(&bytes).map_err(|reason| Error::Checkpoint {
            path: path.into(),
            reason: format!("not a valid safetensors file: {reason}"),
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Checkpoint {
            path: path.into(),
            reason: format!("not a valid safetensors file: {e}"),
        })?;
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::Checkpoint {
            path: path.into(),
            reason: format!("not a valid safetensors file: {e}"),
        })?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let t = to_stored(&view, path, &name)?;
            tensors.insert(name, t);
        }
        Ok(Checkpoint {
            path: path.into(),
            tensors,
            metadata,
        })
    }

    /// The float tensor stored under `name`, as a matrix (`shape[0] x rest`); `None` if there is
    /// none or it is not `F32`/`F64`.
    pub fn get(&self, name: &str) -> Option<&Mat<F>> {
        match self.tensors.get(name) {
            Some(Stored::Float { value, .. }) => Some(value),
            _ => None,
        }
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

    /// The float value for `name` whose logical shape must be `shape` (`what` is "parameter"
    /// or "buffer"), or the reason it does not fit.
    fn fitting(&self, what: &str, name: &str, shape: &[usize]) -> Result<&Mat<F>, String> {
        match self.tensors.get(name) {
            None => Err(format!("{what} {name} is missing from the file")),
            Some(t) if t.shape() != shape => Err(format!(
                "{what} {name} has shape {:?} in the file, the model expects {shape:?}",
                t.shape()
            )),
            Some(Stored::Other { dtype, .. }) => Err(format!(
                "{what} {name} has dtype {dtype:?} in the file; only F32 and F64 can be loaded"
            )),
            Some(Stored::Float { value, .. }) => {
                // the position in the file's row-major order (the matrix is column-major)
                let flat = |p: usize| (p % value.nrows()) * value.ncols() + p / value.nrows();
                if let Some(p) = value.iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "{what} {name} holds a non-finite value ({}) at flat index {}; refusing \
                         to load it",
                        value[p],
                        flat(p)
                    ));
                }
                if what == "buffer"
                    && is_variance(name)
                    && let Some(p) = value.iter().position(|v| *v < F::zero())
                {
                    return Err(format!(
                        "{what} {name} holds a negative variance ({}) at flat index {}; a \
                         running variance cannot be negative, refusing to load it",
                        value[p],
                        flat(p)
                    ));
                }
                Ok(value)
            }
        }
    }

    /// Checks that the model's parameters and buffers all fit, and that every non-optimizer
    /// tensor is one of them. Changes nothing.
    fn check_model(&self, model: &mut dyn Parameters<F>) -> Result<()> {
        let mut problem: Option<String> = None;
        let mut used = HashSet::new();
        model.visit_params(&mut |name, p| {
            if problem.is_none() {
                match self.fitting("parameter", name, &p.shape) {
                    Ok(_) => {
                        used.insert(name.to_string());
                    }
                    Err(e) => problem = Some(e),
                }
            }
        });
        model.visit_buffers(&mut |name, m| {
            if problem.is_none() {
                match self.fitting("buffer", name, &buffer_shape(m)) {
                    Ok(_) => {
                        used.insert(name.to_string());
                    }
                    Err(e) => problem = Some(e),
                }
            }
        });
        if problem.is_none() {
            let mut extra: Vec<&str> = self
                .tensors
                .keys()
                .filter(|n| {
                    !n.starts_with(OPTIMIZER_PREFIX)
                        && !used.contains(*n)
                        && !n.ends_with(PYTORCH_BATCH_COUNTER)
                })
                .map(String::as_str)
                .collect();
            extra.sort_unstable();
            if let Some(first) = extra.first() {
                problem = Some(format!(
                    "tensor {first} in the file is not a parameter or buffer of this model \
                     ({} unexpected: {})",
                    extra.len(),
                    extra.join(", ")
                ));
            }
        }
        problem.map_or(Ok(()), |p| Err(self.err(p)))
    }

    /// Copies every parameter and buffer; only after [`Self::check_model`] succeeded.
    fn apply_model(&self, model: &mut dyn Parameters<F>) {
        model.visit_params(&mut |name, p| {
            if let Some(v) = self.get(name) {
                copy_row_major(v, &mut p.value);
            }
        });
        model.visit_buffers(&mut |name, m| {
            if let Some(v) = self.get(name) {
                copy_row_major(v, m);
            }
        });
    }

    /// Copies the stored parameters and buffers into `model`, after checking every name, dtype
    /// and shape. Optimizer state in the file is ignored.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the first parameter or buffer that is missing, misshapen or
    /// not a float, or the tensors the model does not have; the model is then unchanged.
    pub fn load_into(&self, model: &mut dyn Parameters<F>) -> Result<()> {
        self.check_model(model)?;
        self.apply_model(model);
        Ok(())
    }

    /// Restores the optimizer state (and learning rate) saved by [`save_training`]. The model
    /// is only read (for its parameters' names and shapes).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if the file has no optimizer state, if the optimizer rejects it (a
    /// missing or misshapen slot, e.g. state of another kind of optimizer), or if the file holds
    /// optimizer tensors this optimizer does not use; the optimizer is then unchanged.
    pub fn load_optimizer(
        &self,
        model: &mut dyn Parameters<F>,
        optimizer: &mut dyn Optimizer<F>,
    ) -> Result<()> {
        let (state, lr) = self.optimizer_state(OPTIMIZER_PREFIX, LEARNING_RATE_KEY)?;
        self.import_optimizer(OPTIMIZER_PREFIX, &state, lr, model, optimizer)
    }

    /// The optimizer state stored under `prefix` (keys without it, sorted) and the learning
    /// rate stored under the metadata key `lr_key`, after checking every value.
    fn optimizer_state(
        &self,
        prefix: &str,
        lr_key: &str,
    ) -> Result<(Vec<(String, Mat<F>)>, Option<f64>)> {
        let mut state: Vec<(String, Mat<F>)> = Vec::new();
        for (n, t) in &self.tensors {
            if let Some(key) = n.strip_prefix(prefix) {
                match t {
                    Stored::Float { value, .. } => state.push((key.to_string(), value.clone())),
                    Stored::Other { dtype, .. } => {
                        return Err(self.err(format!(
                            "optimizer state {n} has dtype {dtype:?}; only F32 and F64 can be loaded"
                        )));
                    }
                }
            }
        }
        if state.is_empty() {
            return Err(self.err(format!(
                "no optimizer state in this checkpoint (no tensor named {prefix}*)"
            )));
        }
        // Values the update would turn into NaN weights at the next step are refused here, by
        // name: any non-finite value, and a negative value in a slot that holds sums or averages
        // of squares (its square root is taken).
        for (key, m) in &state {
            let squares = ["exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum"]
                .iter()
                .any(|s| key == s || key.ends_with(&format!(".{s}")));
            if let Some((i, v)) = m
                .as_slice()
                .iter()
                .enumerate()
                .find(|(_, v)| !v.finite() || (squares && v.to_f64() < 0.0))
            {
                let what = if v.finite() {
                    "a negative value in a sum of squares"
                } else {
                    "a non-finite value"
                };
                return Err(self.err(format!(
                    "optimizer state {prefix}{key} holds {what} ({}) at flat index {i}",
                    v.to_f64()
                )));
            }
        }
        state.sort_by(|a, b| a.0.cmp(&b.0));
        let lr = match self.metadata.get(lr_key) {
            None => None,
            Some(s) => match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Some(v),
                _ => {
                    return Err(self.err(format!(
                        "metadata {lr_key} = {s:?} is not a positive number"
                    )));
                }
            },
        };
        Ok((state, lr))
    }

    /// Imports checked optimizer state (from [`Self::optimizer_state`]) and sets the learning
    /// rate; on any error the optimizer is put back as it was.
    fn import_optimizer(
        &self,
        prefix: &str,
        state: &[(String, Mat<F>)],
        lr: Option<f64>,
        model: &mut dyn Parameters<F>,
        optimizer: &mut dyn Optimizer<F>,
    ) -> Result<()> {
        let before = optimizer.export_state(model);
        let restore = |optimizer: &mut dyn Optimizer<F>, model: &mut dyn Parameters<F>| {
            // Put back what was there; this state came from this optimizer, so it fits.
            let _ = optimizer.import_state(model, &before);
        };
        if let Err(e) = optimizer.import_state(model, state) {
            restore(optimizer, model);
            return Err(self.err(format!("optimizer state {prefix}* does not fit: {e}")));
        }
        let known: HashSet<String> = optimizer
            .export_state(model)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if let Some((unused, _)) = state.iter().find(|(n, _)| !known.contains(n)) {
            restore(optimizer, model);
            return Err(self.err(format!(
                "optimizer state {prefix}{unused} is not used by this optimizer \
                 (saved by another kind or configuration of optimizer?)"
            )));
        }
        if let Some(lr) = lr {
            optimizer.set_learning_rate(lr);
        }
        Ok(())
    }
}

/// Loads parameters and buffers saved by [`save`] (or [`save_training`]) into `model`; returns
/// the metadata.
///
/// # Errors
/// As [`Checkpoint::read`] and [`Checkpoint::load_into`]; the model is unchanged on error.
pub fn load<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
) -> Result<HashMap<String, String>> {
    let ck = Checkpoint::<F>::read(path)?;
    ck.load_into(model)?;
    Ok(ck.metadata)
}

/// Loads a checkpoint written by [`save_training`] into the model and the optimizer, so that
/// training continues exactly as if it had not stopped.
///
/// # Errors
/// As [`Checkpoint::load_into`] and [`Checkpoint::load_optimizer`]; on any error both the model
/// and the optimizer are unchanged (the model is checked first, then the optimizer state is
/// imported, and only then are the model's values written).
pub fn load_training<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Parameters<F>,
    optimizer: &mut dyn Optimizer<F>,
) -> Result<HashMap<String, String>> {
    let ck = Checkpoint::<F>::read(path)?;
    ck.check_model(model)?;
    ck.load_optimizer(model, optimizer)?;
    ck.apply_model(model);
    Ok(ck.metadata)
}

/// Metadata key naming the kind of model a checkpoint holds (`mlp`, `cnn`, `som`, ...).
pub const KIND_KEY: &str = "kind";
/// Metadata key of the model's configuration, one JSON document.
pub const CONFIG_KEY: &str = "config";

/// A model that a checkpoint can rebuild: it names its kind, gives its configuration (any
/// `serde` type, stored as one JSON `config` entry) and builds an untrained model from it.
///
/// [`save_model`] and [`load_model`] are the one way every chapter saves and loads a model;
/// [`Checkpoint::config`] is the one metadata reader.
///
/// ```
/// use optim::checkpoint::{self, Saveable};
/// use optim::{Linear, LinearConfig, Param, Parameters, Result};
///
/// struct Probe { config: LinearConfig, layer: Linear<f32> }
/// impl Parameters<f32> for Probe {
///     fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut Param<f32>)) {
///         optim::visit_child("layer", &mut self.layer, v)
///     }
/// }
/// impl Saveable<f32> for Probe {
///     const KIND: &'static str = "probe";
///     type Config = LinearConfig;
///     fn config(&self) -> LinearConfig { self.config }
///     fn parameter_count(c: &LinearConfig) -> Option<usize> {
///         c.inputs.checked_mul(c.outputs)?.checked_add(if c.bias { c.outputs } else { 0 })
///     }
///     fn from_config(c: &LinearConfig) -> Result<Self> {
///         Ok(Probe { config: *c, layer: c.init(&mut optim::rng(0)) })
///     }
/// }
///
/// let config = LinearConfig::new(4, 2);
/// let mut model = Probe { config, layer: config.init(&mut optim::rng(3)) };
/// let path = std::env::temp_dir().join(format!("optim-saveable-{}.safetensors", std::process::id()));
/// checkpoint::save_model(&path, &mut model, &[])?;
/// let loaded: Probe = checkpoint::load_model(&path)?;
/// assert_eq!(loaded.layer.weight.value, model.layer.weight.value);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), optim::Error>(())
/// ```
pub trait Saveable<F: Float>: Parameters<F> + Sized {
    /// The model's kind, stored under [`KIND_KEY`] and checked on load.
    const KIND: &'static str;
    /// The configuration that determines the architecture.
    type Config: serde::Serialize + serde::de::DeserializeOwned;
    /// This model's configuration.
    fn config(&self) -> Self::Config;
    /// The number of trainable scalars a model of `config` has, computed with checked
    /// arithmetic and *without building it* (`None` on overflow). [`load_model`] compares it
    /// with what the file holds before allocating anything, so a file whose configuration asks
    /// for gigabytes is refused instead of obeyed.
    fn parameter_count(config: &Self::Config) -> Option<usize>;
    /// An untrained model of `config`, after validating it.
    ///
    /// # Errors
    /// An invalid configuration.
    fn from_config(config: &Self::Config) -> Result<Self>;
}

/// Saves a [`Saveable`] model with its kind and JSON configuration (plus `extra` metadata),
/// atomically.
///
/// # Errors
/// As [`save`].
pub fn save_model<F: Float, M: Saveable<F>>(
    path: impl AsRef<Path>,
    model: &mut M,
    extra: &[(&str, String)],
) -> Result<()> {
    let metadata = model_metadata(model, extra)?;
    save(path, model, &metadata)
}

/// [`save_model`] with the optimizer's state, for an exact resume ([`load_training`]).
///
/// # Errors
/// As [`save`].
pub fn save_model_training<F: Float, M: Saveable<F>>(
    path: impl AsRef<Path>,
    model: &mut M,
    optimizer: &dyn Optimizer<F>,
    extra: &[(&str, String)],
) -> Result<()> {
    let metadata = model_metadata(model, extra)?;
    save_training(path, model, optimizer, &metadata)
}

fn model_metadata<'a, F: Float, M: Saveable<F>>(
    model: &M,
    extra: &[(&'a str, String)],
) -> Result<Vec<(&'a str, String)>> {
    let config = serde_json::to_string(&model.config())
        .map_err(|e| Error::Data(format!("{} configuration: {e}", M::KIND)))?;
    let mut metadata = vec![(KIND_KEY, M::KIND.to_string()), (CONFIG_KEY, config)];
    metadata.extend(extra.iter().cloned());
    Ok(metadata)
}

/// Rebuilds a [`Saveable`] model from a file written by [`save_model`]: checks the kind, reads
/// the configuration, checks that the file holds at least as many values as the configuration
/// implies (before building anything), builds the model and loads every tensor by name.
///
/// # Errors
/// [`Error::Checkpoint`] for another kind of model, a missing or malformed configuration, a
/// configuration the file cannot hold, or tensors that do not fit; as [`Checkpoint::read`].
pub fn load_model<F: Float, M: Saveable<F>>(path: impl AsRef<Path>) -> Result<M> {
    load_model_with_metadata(path).map(|(m, _)| m)
}

/// [`load_model`], also returning the metadata (for the caller's extra entries).
///
/// # Errors
/// As [`load_model`].
pub fn load_model_with_metadata<F: Float, M: Saveable<F>>(
    path: impl AsRef<Path>,
) -> Result<(M, HashMap<String, String>)> {
    let ck = Checkpoint::<F>::read(path)?;
    let mut model: M = ck.build_model()?;
    ck.load_into(&mut model)?;
    Ok((model, ck.metadata))
}

impl<F: Float> Checkpoint<F> {
    /// The configuration of a model of kind `kind`, read from the JSON `config` entry.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if the file names another kind (or none), or the configuration is
    /// missing or does not parse (serde's message gives the value and its position).
    pub fn config<C: serde::de::DeserializeOwned>(&self, kind: &str) -> Result<C> {
        match self.metadata.get(KIND_KEY) {
            Some(k) if k == kind => {}
            Some(k) => {
                return Err(self.err(format!("holds a {k:?} model, not a {kind:?} model")));
            }
            None => {
                return Err(self.err(format!(
                    "no {KIND_KEY:?} metadata: not a model checkpoint of this project \
                     (a bare state_dict loads with load_weights)"
                )));
            }
        }
        let json = self
            .metadata
            .get(CONFIG_KEY)
            .ok_or_else(|| self.err(format!("no {CONFIG_KEY:?} metadata")))?;
        serde_json::from_str(json).map_err(|e| self.err(format!("configuration: {e}")))
    }

    /// Number of float values stored for the model (optimizer state left out).
    pub fn model_values(&self) -> usize {
        self.tensors
            .iter()
            .filter(|(n, _)| !n.starts_with(OPTIMIZER_PREFIX))
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum()
    }

    /// An untrained model of the stored kind and configuration, checked against the file's
    /// size first (see [`Saveable::parameter_count`]). The weights are not loaded yet.
    ///
    /// # Errors
    /// As [`load_model`].
    pub fn build_model<M: Saveable<F>>(&self) -> Result<M> {
        let config: M::Config = self.config(M::KIND)?;
        let stored = self.model_values();
        match M::parameter_count(&config) {
            Some(n) if n <= stored => {}
            Some(n) => {
                return Err(self.err(format!(
                    "the configuration asks for {n} parameters but the file holds only {stored} \
                     values"
                )));
            }
            None => {
                return Err(self.err(
                    "the configuration's parameter count overflows: the file is corrupt".into(),
                ));
            }
        }
        M::from_config(&config).map_err(|e| self.err(format!("configuration: {e}")))
    }
}

/// Metadata key of a training-state file's loop position (one JSON document).
pub const POSITION_KEY: &str = "position";
/// The `format` metadata of a training-state file written by [`TrainingParts`].
pub const TRAINING_FORMAT: &str = "inductive-training";
/// Names of the loop's own tensors in a training-state file start with this.
pub const STATE_PREFIX: &str = "state.";
const FORMAT_KEY: &str = "format";

/// The whole state of a trainer with its own loop (perceptron, SOM, ANFIS, RBM, GAN, ...) in one
/// safetensors file, written atomically ([`write_atomically`]): several models' parameters and
/// buffers under name prefixes (`generator.…`, `discriminator.…`), each optimizer's state under
/// `optimizer.{prefix}.…` with its learning rate in the metadata
/// (`optimizer.{prefix}.learning_rate`), the loop's extra tensors (persistent chains, averaged
/// weights, a pocket) under `state.…`, and as metadata the trainer's kind ([`KIND_KEY`]), its
/// configuration ([`CONFIG_KEY`]) and its position ([`POSITION_KEY`]: epoch, step, generator
/// state, ... — whatever the trainer's serde type holds). [`TrainingFile`] reads it back.
///
/// The shared loop's models keep using [`save_training`]; this is the one mechanism for every
/// loop that is not [`crate::train::fit`].
///
/// ```
/// use optim::checkpoint::{Restore, TrainingFile, TrainingParts};
/// use optim::{Adam, Linear, Mat, Optimizer};
/// let mut rng = optim::rng(0);
/// let (mut g, mut d) = (Linear::<f32>::new(2, 3, &mut rng), Linear::<f32>::new(3, 1, &mut rng));
/// let adam = Adam::<f32>::new(0.01)?;
/// let chain = Mat::<f32>::from_element(3, 4, 0.5);
/// let path = std::env::temp_dir().join(format!("optim-parts-{}.safetensors", std::process::id()));
/// TrainingParts::new("toy", &"config", &(7_usize, 42_u64))?
///     .model("generator", &mut g)
///     .optimizer("generator", &mut g, &adam)
///     .model("discriminator", &mut d)
///     .tensor("chain", &chain)
///     .save(&path)?;
///
/// let mut file = TrainingFile::<f32>::read(&path, "toy")?;
/// let (epoch, step): (usize, u64) = file.position()?;
/// let chain_back = file.tensor("chain", 3, 4)?;
/// let (mut g2, mut d2) = (Linear::<f32>::new(2, 3, &mut rng), Linear::<f32>::new(3, 1, &mut rng));
/// let mut adam2 = Adam::<f32>::new(0.5)?;
/// file.restore(&mut [
///     Restore::model("generator", &mut g2).optimizer(&mut adam2),
///     Restore::model("discriminator", &mut d2),
/// ])?;
/// assert_eq!((epoch, step), (7, 42));
/// assert_eq!((chain_back, &g2.weight.value, adam2.learning_rate()), (chain, &g.weight.value, 0.01));
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), optim::Error>(())
/// ```
pub struct TrainingParts<F: Float> {
    entries: Vec<Entry>,
    metadata: Vec<(String, String)>,
    prefixes: Vec<String>,
    problem: Option<String>,
    _scalar: std::marker::PhantomData<F>,
}

/// A model seen under a name prefix: `prefix.name` for each of its parameters and buffers.
struct Prefixed<'a, F: Float> {
    prefix: &'a str,
    model: &'a mut dyn Parameters<F>,
}

impl<F: Float> Parameters<F> for Prefixed<'_, F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut crate::Param<F>)) {
        crate::visit_child(self.prefix, self.model, visit)
    }
    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        crate::visit_child_buffers(self.prefix, self.model, visit)
    }
}

/// Why `prefix` cannot name a part, if it cannot: empty, with a dot, or a reserved word.
fn bad_prefix(prefix: &str) -> Option<String> {
    let reserved = [
        OPTIMIZER_PREFIX.trim_end_matches('.'),
        STATE_PREFIX.trim_end_matches('.'),
    ];
    (prefix.is_empty() || prefix.contains('.') || reserved.contains(&prefix)).then(|| {
        format!(
            "the part name {prefix:?} is not allowed (non-empty, no dot, not {})",
            reserved.join(" or ")
        )
    })
}

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Data(format!("{what}: {e}")))
}

impl<F: Float> TrainingParts<F> {
    /// A training-state file for a trainer of `kind`, with its configuration and loop position
    /// (any serde types, stored as JSON).
    ///
    /// # Errors
    /// [`Error::Data`] if either does not serialize (a map with non-string keys, a non-finite
    /// float).
    pub fn new<C: serde::Serialize, P: serde::Serialize>(
        kind: &str,
        config: &C,
        position: &P,
    ) -> Result<Self> {
        let metadata = vec![
            (FORMAT_KEY.to_string(), TRAINING_FORMAT.to_string()),
            (KIND_KEY.to_string(), kind.to_string()),
            (CONFIG_KEY.to_string(), json("configuration", config)?),
            (POSITION_KEY.to_string(), json("loop position", position)?),
        ];
        Ok(TrainingParts {
            entries: Vec::new(),
            metadata,
            prefixes: Vec::new(),
            problem: None,
            _scalar: std::marker::PhantomData,
        })
    }

    fn note(&mut self, problem: Option<String>) {
        if self.problem.is_none() {
            self.problem = problem;
        }
    }

    /// Adds the parameters and buffers of `model`, each as `{prefix}.{name}`.
    pub fn model(mut self, prefix: &str, model: &mut dyn Parameters<F>) -> Self {
        self.note(bad_prefix(prefix));
        if self.prefixes.iter().any(|p| p == prefix) {
            self.note(Some(format!("two models are named {prefix:?}")));
        }
        self.prefixes.push(prefix.to_string());
        let mut view = Prefixed { prefix, model };
        self.entries.extend(collect(&mut view, None));
        self
    }

    /// Adds the state of the optimizer that trains `model` (the part named `prefix`) under
    /// `optimizer.{prefix}.{slot}`, and its learning rate.
    pub fn optimizer(
        mut self,
        prefix: &str,
        model: &mut dyn Parameters<F>,
        optimizer: &dyn Optimizer<F>,
    ) -> Self {
        self.note(bad_prefix(prefix));
        for (name, m) in optimizer.export_state(model) {
            self.entries.push(Entry {
                name: format!("{OPTIMIZER_PREFIX}{prefix}.{name}"),
                shape: vec![m.nrows(), m.ncols()],
                bytes: row_major_bytes(&m),
                wide: false,
            });
        }
        // `{}` of an f64 is the shortest string that parses back to the same bits.
        self.metadata.push((
            format!("{OPTIMIZER_PREFIX}{prefix}.learning_rate"),
            format!("{}", optimizer.learning_rate()),
        ));
        self
    }

    /// Adds one of the loop's own tensors as `state.{name}` (`rows x cols`).
    pub fn tensor(mut self, name: &str, value: &Mat<F>) -> Self {
        if name.is_empty() {
            self.note(Some("a state tensor needs a name".into()));
        }
        self.entries.push(Entry {
            name: format!("{STATE_PREFIX}{name}"),
            shape: vec![value.nrows(), value.ncols()],
            bytes: row_major_bytes(value),
            wide: false,
        });
        self
    }

    /// Adds a vector of the loop's own that must come back bit for bit whatever the model's
    /// scalar (e.g. sums kept in `f64` by an `f32` model) as `state.{name}`, stored as `F64`.
    pub fn values_f64(mut self, name: &str, values: &[f64]) -> Self {
        if name.is_empty() {
            self.note(Some("a state tensor needs a name".into()));
        }
        self.entries.push(Entry {
            name: format!("{STATE_PREFIX}{name}"),
            shape: vec![values.len()],
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            wide: true,
        });
        self
    }

    /// Writes the file atomically: on any error an existing file at `path` is left as it was.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for a bad or repeated part name or two tensors of one name;
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(reason) = self.problem {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason,
            });
        }
        let metadata = self
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        write(path, self.entries, metadata, dtype_of::<F>())
    }
}

/// One part of a [`TrainingFile`] to restore: a model under its prefix, and the optimizer that
/// trains it if the file holds one for it.
pub struct Restore<'a, F: Float> {
    prefix: &'a str,
    model: &'a mut dyn Parameters<F>,
    optimizer: Option<&'a mut dyn Optimizer<F>>,
}

impl<'a, F: Float> Restore<'a, F> {
    /// The model saved as [`TrainingParts::model`]`(prefix, ..)`.
    pub fn model(prefix: &'a str, model: &'a mut dyn Parameters<F>) -> Self {
        Restore {
            prefix,
            model,
            optimizer: None,
        }
    }

    /// With its optimizer, saved as [`TrainingParts::optimizer`]`(prefix, ..)`.
    pub fn optimizer(mut self, optimizer: &'a mut dyn Optimizer<F>) -> Self {
        self.optimizer = Some(optimizer);
        self
    }
}

/// A training-state file written by [`TrainingParts`], read and checked: the format and kind
/// on [`TrainingFile::read`], the configuration and position when asked for, each `state.`
/// tensor's shape and values when taken ([`TrainingFile::tensor`]), and in
/// [`TrainingFile::restore`] every model's tensors, every optimizer's state and that nothing in
/// the file is left unread — all before the first of the caller's objects changes. So the usual
/// order is: read the configuration, the position and the state tensors into local values, then
/// `restore`, then assign the locals.
pub struct TrainingFile<F: Float> {
    ck: Checkpoint<F>,
    taken: HashSet<String>,
}

impl<F: Float> TrainingFile<F> {
    /// Reads a training-state file of a trainer of `kind`.
    ///
    /// # Errors
    /// As [`Checkpoint::read`]; [`Error::Checkpoint`] if the file is not a training-state file
    /// (e.g. a model checkpoint: `tour --load` reads those) or is of another kind.
    pub fn read(path: impl AsRef<Path>, kind: &str) -> Result<Self> {
        let ck = Checkpoint::<F>::read(path)?;
        if ck.metadata.get(FORMAT_KEY).map(String::as_str) != Some(TRAINING_FORMAT) {
            return Err(ck.err(format!(
                "not a training-state file (its {FORMAT_KEY:?} metadata is {:?}, not \
                 {TRAINING_FORMAT:?})",
                ck.metadata.get(FORMAT_KEY)
            )));
        }
        match ck.metadata.get(KIND_KEY) {
            Some(k) if k == kind => {}
            other => {
                return Err(ck.err(format!(
                    "holds the training state of {other:?}, not of {kind:?}"
                )));
            }
        }
        Ok(TrainingFile {
            ck,
            taken: HashSet::new(),
        })
    }

    /// The file's metadata.
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.ck.metadata
    }

    fn meta_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        let text = self
            .ck
            .metadata
            .get(key)
            .ok_or_else(|| self.ck.err(format!("no {key:?} metadata")))?;
        serde_json::from_str(text).map_err(|e| self.ck.err(format!("metadata {key:?}: {e}")))
    }

    /// The trainer's configuration.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if it is missing or does not parse as `C`.
    pub fn config<C: serde::de::DeserializeOwned>(&self) -> Result<C> {
        self.meta_json(CONFIG_KEY)
    }

    /// The loop position.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if it is missing or does not parse as `P`.
    pub fn position<P: serde::de::DeserializeOwned>(&self) -> Result<P> {
        self.meta_json(POSITION_KEY)
    }

    /// Number of values stored for the part `prefix` (its parameters and buffers): what a
    /// loader compares with the size a configuration implies before building anything.
    pub fn values_under(&self, prefix: &str) -> usize {
        let start = format!("{prefix}.");
        self.ck
            .tensors
            .iter()
            .filter(|(n, _)| n.starts_with(&start))
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum()
    }

    /// The number of columns of the loop tensor `state.{name}` if the file holds one of `rows`
    /// rows (for tensors whose width the loader learns from the file, e.g. one chain per
    /// part); [`TrainingFile::tensor`] then reads and checks it.
    pub fn state_columns(&self, name: &str, rows: usize) -> Option<usize> {
        match self
            .ck
            .tensors
            .get(&format!("{STATE_PREFIX}{name}"))?
            .shape()
        {
            [r, c] if *r == rows => Some(*c),
            _ => None,
        }
    }

    /// The loop tensor saved as `state.{name}`, which must be `rows x cols` and finite.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming it if it is missing, of another shape or dtype, or holds a
    /// non-finite value.
    pub fn tensor(&mut self, name: &str, rows: usize, cols: usize) -> Result<Mat<F>> {
        let full = format!("{STATE_PREFIX}{name}");
        let m = self
            .ck
            .fitting("state tensor", &full, &[rows, cols])
            .map_err(|e| self.ck.err(e))?
            .clone();
        self.taken.insert(full);
        Ok(m)
    }

    /// The `f64` vector saved by [`TrainingParts::values_f64`]`(name, ..)`, which must hold `len`
    /// finite values.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming it if it is missing, not `F64`, of another length, or holds
    /// a non-finite value.
    pub fn values_f64(&mut self, name: &str, len: usize) -> Result<Vec<f64>> {
        let full = format!("{STATE_PREFIX}{name}");
        self.ck
            .fitting("state tensor", &full, &[len])
            .map_err(|e| self.ck.err(e))?;
        match self.ck.tensors.get(&full) {
            Some(Stored::Float {
                wide: Some(values), ..
            }) => {
                self.taken.insert(full);
                Ok(values.clone())
            }
            _ => Err(self.ck.err(format!(
                "state tensor {full} is not stored as F64 (its values would not be exact)"
            ))),
        }
    }

    /// Checks every part (each model's parameters and buffers under its prefix, each
    /// optimizer's state and learning rate) and that the file holds nothing else but the state
    /// tensors already taken; then imports the optimizers' state and copies the models' values.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the first tensor that is missing, misshapen, not finite, not
    /// a float, or not used; every model and optimizer is then unchanged.
    pub fn restore(self, parts: &mut [Restore<'_, F>]) -> Result<()> {
        let ck = &self.ck;
        let mut used: HashSet<String> = HashSet::new();
        let mut states = Vec::with_capacity(parts.len());
        for part in parts.iter_mut() {
            if let Some(reason) = bad_prefix(part.prefix) {
                return Err(ck.err(reason));
            }
            let mut view = Prefixed {
                prefix: part.prefix,
                model: &mut *part.model,
            };
            let mut problem = None;
            view.visit_params(&mut |name, p| {
                if problem.is_none() {
                    match ck.fitting("parameter", name, &p.shape) {
                        Ok(_) => {
                            used.insert(name.to_string());
                        }
                        Err(e) => problem = Some(e),
                    }
                }
            });
            view.visit_buffers(&mut |name, m| {
                if problem.is_none() {
                    match ck.fitting("buffer", name, &buffer_shape(m)) {
                        Ok(_) => {
                            used.insert(name.to_string());
                        }
                        Err(e) => problem = Some(e),
                    }
                }
            });
            if let Some(p) = problem {
                return Err(ck.err(p));
            }
            let opt_prefix = format!("{OPTIMIZER_PREFIX}{}.", part.prefix);
            let state = match part.optimizer {
                Some(_) => {
                    let lr_key = format!("{opt_prefix}learning_rate");
                    let (state, lr) = ck.optimizer_state(&opt_prefix, &lr_key)?;
                    used.extend(state.iter().map(|(k, _)| format!("{opt_prefix}{k}")));
                    Some((opt_prefix, state, lr))
                }
                None => None,
            };
            states.push(state);
        }
        let mut unused: Vec<&str> = ck
            .tensors
            .keys()
            .filter(|n| !used.contains(*n) && !self.taken.contains(*n))
            .map(String::as_str)
            .collect();
        unused.sort_unstable();
        if let Some(first) = unused.first() {
            return Err(ck.err(format!(
                "tensor {first} in the file is not part of this trainer's state ({} unused: {})",
                unused.len(),
                unused.join(", ")
            )));
        }
        // Import the optimizers; if one refuses, put back the ones already imported.
        let mut before: Vec<(Vec<(String, Mat<F>)>, f64)> = Vec::new();
        for k in 0..parts.len() {
            let part = &mut parts[k];
            let (Some(opt), Some((prefix, state, lr))) = (part.optimizer.as_mut(), &states[k])
            else {
                before.push((Vec::new(), 0.0));
                continue;
            };
            before.push((opt.export_state(part.model), opt.learning_rate()));
            if let Err(e) = ck.import_optimizer(prefix, state, *lr, part.model, &mut **opt) {
                // (the failing one already put itself back)
                for (done, (state, lr)) in parts[..k].iter_mut().zip(&before) {
                    if let Some(o) = done.optimizer.as_mut() {
                        let _ = o.import_state(done.model, state);
                        o.set_learning_rate(*lr);
                    }
                }
                return Err(e);
            }
        }
        for part in parts.iter_mut() {
            let mut view = Prefixed {
                prefix: part.prefix,
                model: &mut *part.model,
            };
            ck.apply_model(&mut view);
        }
        Ok(())
    }
}
