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
