//! Agreement with a reference implementation (test kind 3): the same runs written independently
//! in PyTorch (float64) by `tests/fixtures/make_fixtures.py`, stored in
//! `tests/fixtures/reference.json` (read through `optim::testing`). Mistakes per epoch must agree exactly; weights to 1e-12.

use optim::testing::{floats, matrix};
use perceptron::{Config, Kernel, KernelPerceptron, MulticlassPerceptron, Perceptron, Variant};
use serde_json::Value;

fn fixture() -> Value {
    optim::testing::fixture(env!("CARGO_MANIFEST_DIR"), "reference.json")
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    ints(v).into_iter().map(|x| x as usize).collect()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn binary_runs_match_pytorch() {
    let f = fixture();
    let b = &f["binary"];
    let x = matrix(&b["x"]);
    let d01: Vec<i32> = ints(&b["labels01"]).into_iter().map(|v| v as i32).collect();
    let dpm: Vec<i32> = d01.iter().map(|&v| 2 * v - 1).collect();
    let cases = [
        ("plain01", &d01, 0.5, Variant::Plain),
        ("plainpm", &dpm, 0.3, Variant::Plain),
        ("averaged01", &d01, 1.0, Variant::Averaged),
        ("pocket01", &d01, 1.0, Variant::Pocket),
    ];
    for (name, labels, eta, variant) in cases {
        let reference = &b[name];
        let config = Config {
            learning_rate: eta,
            max_epochs: 8,
            variant,
            ..Config::default()
        };
        let mut unit = Perceptron::new(3, config).unwrap();
        let history = unit.fit(&x, labels).unwrap();
        let mistakes: Vec<i64> = history.mistakes().iter().map(|&m| m as i64).collect();
        assert_eq!(mistakes, ints(&reference["mistakes"]), "{name}");
        close(unit.weights(), &floats(&reference["weights"]), name);
        if variant == Variant::Pocket {
            let pocket: Vec<i64> = history.pocket_errors().iter().map(|&e| e as i64).collect();
            assert_eq!(pocket, ints(&reference["pocket_errors"]), "{name}");
        }
    }
}

#[test]
fn multiclass_run_matches_pytorch() {
    let f = fixture();
    let m = &f["multiclass"];
    let x = matrix(&m["x"]);
    let labels = usizes(&m["labels"]);
    let config = Config {
        max_epochs: 10,
        ..Config::default()
    };
    let mut model = MulticlassPerceptron::new(4, 3, config).unwrap();
    let history = model.fit(&x, &labels).unwrap();
    let mistakes: Vec<i64> = history.mistakes().iter().map(|&v| v as i64).collect();
    assert_eq!(mistakes, ints(&m["plain"]["mistakes"]));
    let want = matrix(&m["plain"]["weights"]);
    assert_eq!(model.weights().shape(), want.shape());
    close(
        model.weights().transpose().as_slice(),
        want.transpose().as_slice(),
        "multiclass weights",
    );
}

#[test]
fn gaussian_kernel_run_matches_pytorch() {
    let f = fixture();
    let k = &f["kernel"];
    let x = matrix(&k["x"]);
    let labels: Vec<i32> = ints(&k["labels"]).into_iter().map(|v| v as i32).collect();
    let kernel = Kernel::Gaussian {
        gamma: k["gamma"].as_f64().unwrap(),
    };
    let config = Config {
        max_epochs: 10,
        ..Config::default()
    };
    let mut model = KernelPerceptron::new(2, kernel, config).unwrap();
    let history = model.fit(&x, &labels).unwrap();
    let mistakes: Vec<i64> = history.mistakes().iter().map(|&v| v as i64).collect();
    assert_eq!(mistakes, ints(&k["run"]["mistakes"]));
    // the last record holds all n coefficients
    let a = history.weights.last().unwrap();
    close(
        a.as_slice(),
        &floats(&k["run"]["dual_coef"]),
        "dual coefficients",
    );
    let z = matrix(&k["z"]);
    close(
        &model.decision_function(&z).unwrap(),
        &floats(&k["run"]["decision"]),
        "decision values",
    );
}
