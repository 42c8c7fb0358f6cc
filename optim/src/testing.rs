//! Helpers for the tests of every chapter crate, written once (feature `testing`): reading the
//! committed PyTorch fixtures, comparing numbers, and proptest strategies for matrices.
//!
//! Chapter crates enable it for their tests only:
//! `optim = { workspace = true, features = ["testing"] }` under `[dev-dependencies]`.
//!
//! These functions panic with a message on malformed fixtures: they serve tests, where a panic
//! is the failure report.

use crate::Mat;
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

/// Reads the JSON fixture `tests/fixtures/{name}` of the crate whose manifest folder is
/// `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`).
///
/// # Panics
/// If the file is missing or not JSON.
pub fn fixture(manifest_dir: &str, name: &str) -> Value {
    let path = Path::new(manifest_dir).join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A JSON list of numbers.
///
/// # Panics
/// If `v` is not a list of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list of numbers, got {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

/// A JSON list of rows (`rows x cols`), or a flat list as a column (`len x 1`), as a matrix.
///
/// # Panics
/// If `v` is neither, or its rows differ in length.
pub fn matrix(v: &Value) -> Mat<f64> {
    let rows = v
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {v}"));
    if rows.first().is_some_and(Value::is_array) {
        let r: Vec<Vec<f64>> = rows.iter().map(floats).collect();
        let cols = r[0].len();
        assert!(
            r.iter().all(|row| row.len() == cols),
            "ragged matrix in fixture"
        );
        Mat::from_fn(r.len(), cols, |i, j| r[i][j])
    } else {
        let r = floats(v);
        Mat::from_column_slice(r.len(), 1, &r)
    }
}

/// The largest absolute difference of two equally long slices.
///
/// # Panics
/// If the lengths differ.
pub fn max_abs_diff(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Asserts that `got` and `want` agree entry by entry within `tol`, naming `what`.
///
/// # Panics
/// If they do not.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} values, want {}",
        got.len(),
        want.len()
    );
    let err = max_abs_diff(got, want);
    assert!(
        err <= tol,
        "{what}: max abs difference {err:.3e} > {tol:.0e}"
    );
}

/// A proptest strategy: `rows x cols` matrices with entries from `[lo, hi)`.
pub fn matrix_in(rows: usize, cols: usize, lo: f64, hi: f64) -> impl Strategy<Value = Mat<f64>> {
    prop::collection::vec(lo..hi, rows * cols).prop_map(move |v| Mat::from_vec(rows, cols, v))
}

/// The proptest configuration of the workspace's property tests: `cases` cases (the
/// `PROPTEST_CASES` variable still overrides it) and no failure-persistence files outside the
/// crates' own `tests/` folders.
pub fn proptest_config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn bits_of<F: crate::Float>(m: &Mat<F>) -> Vec<u64> {
    m.iter().map(|v| v.to_f64().to_bits()).collect()
}

/// The bits of every parameter and buffer (`buffer.{name}`), sorted by name: two models are
/// equal exactly when these are.
pub fn param_bits<F: crate::Float>(
    model: &mut dyn crate::Parameters<F>,
) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| out.push((n.to_string(), bits_of(&p.value))));
    model.visit_buffers(&mut |n, m| out.push((format!("buffer.{n}"), bits_of(m))));
    out.sort();
    out
}

/// The bits of every parameter, buffer and optimizer slot and of the learning rate, sorted by
/// name: two training states are equal exactly when these are.
pub fn training_bits<F: crate::Float>(
    model: &mut dyn crate::Parameters<F>,
    optimizer: &dyn crate::Optimizer<F>,
) -> Vec<(String, Vec<u64>)> {
    let mut out = param_bits(model);
    for (n, m) in optimizer.export_state(model) {
        out.push((format!("optimizer.{n}"), bits_of(&m)));
    }
    out.push(("lr".into(), vec![optimizer.learning_rate().to_bits()]));
    out.sort();
    out
}

/// Every epoch of a history but its wall time, one line of bits per epoch: the epoch, the
/// training loss and accuracy, the validation loss and accuracy, the learning rate and the
/// named terms. Two runs report alike exactly when these are equal.
pub fn epoch_records(h: &crate::train::History) -> Vec<String> {
    h.epochs
        .iter()
        .map(|e| {
            let terms: Vec<String> = e
                .train_terms
                .iter()
                .map(|(n, v)| format!("{n}={:x}", v.to_bits()))
                .collect();
            format!(
                "{} {:x} {:?} {:?} {:x} {}",
                e.epoch,
                e.train_loss.to_bits(),
                e.train_accuracy.map(f64::to_bits),
                e.validation
                    .map(|v| (v.loss.to_bits(), v.accuracy.map(f64::to_bits))),
                e.learning_rate.to_bits(),
                terms.join(",")
            )
        })
        .collect()
}

/// A fresh folder for one test under the system's temporary folder (named after the test and
/// the process), removed with everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `{tmp}/inductive-{name}-{pid}`, empty.
    ///
    /// # Panics
    /// If the folder cannot be created.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("inductive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        TempDir(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
    pub fn join(&self, file: impl AsRef<Path>) -> std::path::PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Per epoch of a history: the epoch number and the bits of the training loss, the learning
/// rate and the validation loss.
pub fn history_bits(h: &crate::train::History) -> Vec<(usize, u64, u64, Option<u64>)> {
    h.epochs
        .iter()
        .map(|e| {
            (
                e.epoch,
                e.train_loss.to_bits(),
                e.learning_rate.to_bits(),
                e.validation.map(|v| v.loss.to_bits()),
            )
        })
        .collect()
}

/// The exact-resume check of issue 14 for any model of the shared loop: `2·half` epochs
/// straight against `half` epochs, a training checkpoint (model, buffers, optimizer state and
/// the [`crate::train::Resume`] entry), a load into a model built from another seed and an
/// optimizer set to another rate (0.5; the file's rate must win), and `half` more epochs. The parameters, buffers, optimizer
/// state, learning rate, every epoch's losses and the final resume point must agree bit for bit.
///
/// `model(seed)` builds the model, `optimizer()` the optimizer, `config(epochs)` the
/// training configuration (the same but for its epochs).
///
/// **In a new process**: the second half runs in a child — the test binary itself, started on
/// the calling test (its thread's name) with [`RESUME_CHILD_ENV`] naming the checkpoint — which
/// runs the test up to this call, loads the file, trains `half` epochs and writes its results
/// for this process to compare; so nothing of the first half's process (its memory, its
/// thread-local state) can leak into the resumed run. A test run on the main thread (no test
/// name: `--test-threads=1` on a toolchain that runs tests there) resumes in this process.
pub fn assert_exact_resume<F, M>(
    name: &str,
    model: &dyn Fn(u64) -> M,
    optimizer: &dyn Fn() -> Box<dyn crate::Optimizer<F>>,
    train: &M::Data,
    validation: Option<&M::Data>,
    config: &dyn Fn(usize) -> crate::train::TrainConfig,
    half: usize,
) where
    F: crate::Float,
    M: crate::train::Trainable<F>,
{
    use crate::train::{Resume, fit_resume};
    let fit = |m: &mut M, o: &mut dyn crate::Optimizer<F>, epochs, resume: Option<&Resume>| {
        fit_resume(
            m,
            train,
            validation,
            o,
            &config(epochs),
            resume,
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // the second half from the file: its losses, final state and resume point, as text
    let second_half = |path: &Path| -> String {
        let (mut resumed, mut opt_r) = (model(77), optimizer());
        opt_r.set_learning_rate(0.5);
        let meta = crate::checkpoint::load_training(path, &mut resumed, opt_r.as_mut())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let at = Resume::from_metadata(&meta).unwrap();
        let (h, end) = fit(&mut resumed, opt_r.as_mut(), 2 * half, Some(&at));
        format!(
            "{:?}\n{:?}\n{end:?}",
            history_bits(&h),
            training_bits(&mut resumed, opt_r.as_ref())
        )
    };
    if let Some(child) = std::env::var_os(RESUME_CHILD_ENV) {
        // the child: only this call's second half (a test may check several trainers)
        let (call, checkpoint, out) = child_paths(&child);
        if call == name {
            std::fs::write(out, second_half(Path::new(checkpoint)))
                .unwrap_or_else(|e| panic!("{name}: the child's report: {e}"));
        }
        return;
    }
    let (mut straight, mut opt_s) = (model(5), optimizer());
    let (h_straight, end_straight) = fit(&mut straight, opt_s.as_mut(), 2 * half, None);

    let dir = std::env::temp_dir().join(format!("optim-resume-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let (mut first, mut opt_1) = (model(5), optimizer());
    let (_, midway) = fit(&mut first, opt_1.as_mut(), half, None);
    crate::checkpoint::save_training(&path, &mut first, opt_1.as_ref(), &[midway.metadata()])
        .unwrap();

    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string);
    let resumed = match test {
        Some(test) => {
            let out = dir.join("child.txt");
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            child
                .args([test.as_str(), "--exact", "--test-threads=1", "--nocapture"])
                .env(
                    RESUME_CHILD_ENV,
                    format!("{name}\n{}\n{}", path.display(), out.display()),
                );
            run_child(child, name);
            std::fs::read_to_string(&out)
                .unwrap_or_else(|e| panic!("{name}: the child wrote no report ({e})"))
        }
        None => second_half(&path),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let mut lines = resumed.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{:?}", &history_bits(&h_straight)[half..]).as_str()),
        "{name}: the resumed epochs' losses"
    );
    assert_eq!(
        lines.next(),
        Some(format!("{:?}", training_bits(&mut straight, opt_s.as_ref())).as_str()),
        "{name}: the final state"
    );
    assert_eq!(
        lines.next(),
        Some(format!("{end_straight:?}").as_str()),
        "{name}: the final resume point"
    );
}

/// The new-process half of a hand-written resume test: runs the `#[ignore]`d test `entry` of
/// this test binary in a child process (`--ignored --exact {entry} --nocapture`) with the
/// variable `checkpoint.0` naming the file to resume from and `report.0` the file the child
/// writes its JSON report to, and returns that report; the child's output is shown only if it
/// fails. (For a model of the shared loop, [`assert_exact_resume`] does the whole check.)
///
/// # Panics
/// If the child cannot be started or fails, or its report is missing or not JSON.
pub fn child_report(entry: &str, checkpoint: (&str, &Path), report: (&str, &Path)) -> Value {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--ignored", "--exact", entry, "--nocapture"])
        .env(checkpoint.0, checkpoint.1)
        .env(report.0, report.1);
    run_child(child, entry);
    let text = std::fs::read_to_string(report.1)
        .unwrap_or_else(|e| panic!("{entry}: the child's report: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{entry}: the child's report: {e}"))
}

/// Runs a child test process to its end and panics, naming `what`, if it failed; its output
/// is captured and shown only then, so a passing run keeps the test log quiet.
fn run_child(mut child: std::process::Command, what: &str) {
    let done = child
        .output()
        .unwrap_or_else(|e| panic!("{what}: the child process: {e}"));
    assert!(
        done.status.success(),
        "{what}: the child process: {}\n--- its stdout:\n{}\n--- its stderr:\n{}",
        done.status,
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
}

/// Set in the child process of [`assert_exact_resume`]: three lines, the name of the call, the
/// checkpoint to resume from and the file for the child's report.
pub const RESUME_CHILD_ENV: &str = "OPTIM_EXACT_RESUME_CHILD";

/// The three lines of [`RESUME_CHILD_ENV`].
fn child_paths(value: &std::ffi::OsStr) -> (&str, &str, &str) {
    let text = value
        .to_str()
        .unwrap_or_else(|| panic!("{RESUME_CHILD_ENV} is not UTF-8"));
    let mut lines = text.lines();
    match (lines.next(), lines.next(), lines.next()) {
        (Some(call), Some(checkpoint), Some(out)) => (call, checkpoint, out),
        _ => panic!("{RESUME_CHILD_ENV}: three lines expected, got {text:?}"),
    }
}

/// A small classifier for the training loop's own tests (resume, data-parallel shards) and
/// those of any crate that needs "some model of the shared loop":
///
/// ```text
/// h = tanh(BN?(W₁ x + b₁)),  h̃ = dropout_p(h),  z = W₂ h̃ + b₂,  L = CE(softmax z, y)
/// ```
///
/// with batch normalization of the hidden units optional (its running statistics are buffers)
/// and dropout drawn from the loop's generator. Data: a [`crate::data::Dataset`] of `inputs`
/// features and `classes` labels.
#[derive(Debug, Clone)]
pub struct Probe<F: crate::Float> {
    /// First layer, `hidden x inputs`.
    pub l1: crate::Linear<F>,
    /// Batch norm of the hidden pre-activations, if any.
    pub norm: Option<crate::BatchNorm<F>>,
    /// Dropout on the hidden units.
    pub drop: crate::Dropout<F>,
    /// Output layer, `classes x hidden`.
    pub l2: crate::Linear<F>,
    classes: usize,
    x: Mat<F>,
    a: Mat<F>,
    h: Mat<F>,
    labels: Vec<usize>,
}

impl<F: crate::Float> Probe<F> {
    /// `inputs → hidden → classes`, weights from `seed`, dropout `p`, batch norm if `norm`.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`.
    pub fn new(
        inputs: usize,
        hidden: usize,
        classes: usize,
        p: f64,
        norm: bool,
        seed: u64,
    ) -> Self {
        let mut rng = crate::rng(seed);
        Probe {
            l1: crate::Linear::new(inputs, hidden, &mut rng),
            norm: norm.then(|| crate::BatchNorm::new(hidden)),
            drop: crate::Dropout::new(p).expect("dropout p in [0, 1)"),
            l2: crate::Linear::new(hidden, classes, &mut rng),
            classes,
            x: Mat::zeros(0, 0),
            a: Mat::zeros(0, 0),
            h: Mat::zeros(0, 0),
            labels: Vec::new(),
        }
    }

    fn logits(&self, x: &Mat<F>) -> crate::Result<Mat<F>> {
        let mut a = self.l1.predict(x)?;
        if let Some(n) = &self.norm {
            a = n.predict(&a)?;
        }
        self.l2.predict(&a.map(|v| v.tanh()))
    }
}

impl<F: crate::Float> crate::Parameters<F> for Probe<F> {
    fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut crate::Param<F>)) {
        crate::visit_child("l1", &mut self.l1, v);
        if let Some(n) = &mut self.norm {
            crate::visit_child("norm", n, v);
        }
        crate::visit_child("l2", &mut self.l2, v);
    }
    fn visit_buffers(&mut self, v: &mut dyn FnMut(&str, &mut Mat<F>)) {
        if let Some(n) = &mut self.norm {
            crate::visit_child_buffers("norm", n, v);
        }
    }
}

impl<F: crate::Float> crate::train::Trainable<F> for Probe<F> {
    type Data = crate::data::Dataset<F>;
    fn examples(&self, data: &Self::Data) -> usize {
        data.len()
    }
    fn check_data(&self, data: &Self::Data, what: &str) -> crate::Result<()> {
        data.check_labels(self.classes, what)
    }
    fn train_batch(
        &mut self,
        data: &Self::Data,
        batch: &[usize],
        rng: &mut crate::StdRng,
    ) -> crate::Result<crate::train::BatchLoss> {
        crate::data::select_columns_into(&data.x, batch, &mut self.x);
        let labels = data.class_labels("training data")?;
        self.labels.clear();
        self.labels.extend(batch.iter().map(|&i| labels[i]));
        self.l1.forward_into(&self.x, &mut self.a)?;
        if let Some(n) = &mut self.norm {
            let mut y = Mat::zeros(0, 0);
            n.forward_train_into(&self.a, &mut y)?;
            self.a = y;
        }
        self.h = self.a.map(|v| v.tanh());
        // p = 0 is the identity and draws nothing (a deterministic model)
        let dropout = self.drop.p() > 0.0;
        let z = if dropout {
            let hd = self.drop.forward(&self.h, rng);
            self.l2.forward(&hd)?
        } else {
            self.l2.forward(&self.h)?
        };
        let (l, dz) = crate::loss::softmax_cross_entropy(&z, &self.labels, 0.0)?;
        let dhd = self.l2.backward(&dz)?;
        let mut da = if dropout {
            self.drop.backward(&dhd)?
        } else {
            dhd
        };
        da.zip_apply(&self.h, |d, h| *d *= F::one() - h * h);
        if let Some(n) = &mut self.norm {
            let mut dx = Mat::zeros(0, 0);
            n.backward_into(&da, Some(&mut dx))?;
            da = dx;
        }
        self.l1.backward(&da)?;
        Ok(crate::train::BatchLoss::new(l).correct(crate::train::count_correct(&z, &self.labels)))
    }
    fn evaluate(&self, data: &Self::Data) -> crate::Result<crate::train::Evaluation> {
        let z = self.logits(&data.x)?;
        let labels = data.class_labels("evaluation data")?;
        let (l, _) = crate::loss::softmax_cross_entropy(&z, labels, 0.0)?;
        Ok(crate::train::Evaluation {
            loss: l.to_f64(),
            accuracy: Some(crate::train::count_correct(&z, labels) as f64 / data.len() as f64),
        })
    }
    fn min_batch(&self) -> usize {
        if self.norm.is_some() { 2 } else { 1 }
    }
}

/// Runs `f` in a rayon pool of `threads` threads, its matrix products allowed as many
/// ([`crate::linalg::with_threads`]): the thread count of a determinism check.
///
/// # Panics
/// If the pool cannot be built.
pub fn at_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(|| crate::linalg::with_threads(threads, f))
}

/// Same seed → same bytes at 1 and 2 threads (issue 14), for any model of the shared loop:
/// `model()` trained with `config` from the same start in a pool of 1 thread and in one of 2
/// ([`at_threads`]) writes byte-identical training checkpoints (parameters, buffers, optimizer
/// state, the resume point) and reports bit-identical epochs. With `config.shards > 1` the
/// shards run on the pool's threads; without, only products large enough to be split do
/// (gemm splits the output, not the sums).
///
/// # Panics
/// If training fails or the two runs differ.
pub fn assert_thread_count_stable<F, M>(
    name: &str,
    model: &(dyn Fn() -> M + Sync),
    optimizer: &(dyn Fn() -> Box<dyn crate::Optimizer<F>> + Sync),
    train: &M::Data,
    validation: Option<&M::Data>,
    config: &crate::train::TrainConfig,
) where
    F: crate::Float,
    M: crate::train::Trainable<F>,
{
    let run = |threads: usize| {
        at_threads(threads, || {
            let (mut m, mut o) = (model(), optimizer());
            let (history, at) = crate::train::fit_resume(
                &mut m,
                train,
                validation,
                o.as_mut(),
                config,
                None,
                &mut |_| {},
            )
            .unwrap_or_else(|e| panic!("{name} at {threads} threads: {e}"));
            let dir = TempDir::new(&format!("threads-{name}-{threads}"));
            let path = dir.join("state.safetensors");
            crate::checkpoint::save_training(&path, &mut m, o.as_ref(), &[at.metadata()])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            (bytes, epoch_records(&history))
        })
    };
    let (one, h1) = run(1);
    let (two, h2) = run(2);
    assert_eq!(h1, h2, "{name}: the epochs differ between 1 and 2 threads");
    assert!(
        one == two,
        "{name}: the training checkpoints differ between 1 and 2 threads"
    );
}
