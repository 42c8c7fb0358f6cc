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

/// The bits of every parameter, buffer and optimizer slot and of the learning rate, sorted by
/// name: two training states are equal exactly when these are.
pub fn training_bits<F: crate::Float>(
    model: &mut dyn crate::Parameters<F>,
    optimizer: &dyn crate::Optimizer<F>,
) -> Vec<(String, Vec<u64>)> {
    let b = |m: &Mat<F>| m.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<u64>>();
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| out.push((n.to_string(), b(&p.value))));
    model.visit_buffers(&mut |n, m| out.push((format!("buffer.{n}"), b(m))));
    for (n, m) in optimizer.export_state(model) {
        out.push((format!("optimizer.{n}"), b(&m)));
    }
    out.push(("lr".into(), vec![optimizer.learning_rate().to_bits()]));
    out.sort();
    out
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
    let (mut straight, mut opt_s) = (model(5), optimizer());
    let (h_straight, end_straight) = fit(&mut straight, opt_s.as_mut(), 2 * half, None);

    let dir = std::env::temp_dir().join(format!("optim-resume-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let (mut first, mut opt_1) = (model(5), optimizer());
    let (_, midway) = fit(&mut first, opt_1.as_mut(), half, None);
    crate::checkpoint::save_training(&path, &mut first, opt_1.as_ref(), &[midway.metadata()])
        .unwrap();

    let (mut resumed, mut opt_r) = (model(77), optimizer());
    opt_r.set_learning_rate(0.5);
    let meta = crate::checkpoint::load_training(&path, &mut resumed, opt_r.as_mut()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let at = Resume::from_metadata(&meta).unwrap();
    let (h_resumed, end_resumed) = fit(&mut resumed, opt_r.as_mut(), 2 * half, Some(&at));
    assert_eq!(
        history_bits(&h_resumed),
        history_bits(&h_straight)[half..],
        "{name}: the resumed epochs' losses"
    );
    assert_eq!(
        training_bits(&mut resumed, opt_r.as_ref()),
        training_bits(&mut straight, opt_s.as_ref()),
        "{name}: the final state"
    );
    assert_eq!(end_resumed, end_straight, "{name}: the final resume point");
}
