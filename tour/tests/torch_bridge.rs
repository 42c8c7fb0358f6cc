//! Kind 3, the PyTorch bridge (`python/inductive_torch`): models trained or built in PyTorch and
//! saved in our format by `python/tests/make_bridge_fixtures.py` load with our `load` functions
//! (`Mlp::load`, `load_model` of `Cnn`, `SeqModel`, `Gpt`) and give PyTorch's outputs to 1e-5; the
//! Rust-made files the Python tests read (`examples/bridge_fixtures.rs`) still give the outputs
//! recorded with them; and `tour mlp --load` of a PyTorch-trained MLP reports the test accuracy
//! PyTorch measured on the same rows.

mod bridge;
mod common;

use serde_json::Value;

const TOL: f64 = 1e-5;

fn check_folder(which: &str) -> usize {
    let dir = bridge::folder(which);
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let mut largest = 0.0f64;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        let file = dir.join(case["file"].as_str().unwrap());
        let got = bridge::evaluate(kind, &file, &case["input"])
            .unwrap_or_else(|e| panic!("{which}/{name}: {e}"));
        let (mut g, mut w) = (Vec::new(), Vec::new());
        bridge::flatten(&got, &mut g);
        bridge::flatten(&case["output"], &mut w);
        assert_eq!(g.len(), w.len(), "{which}/{name}: output size");
        let diff = g
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(diff <= TOL, "{which}/{name}: outputs differ by {diff:e}");
        largest = largest.max(diff);
    }
    println!(
        "{which}: {} models, largest difference {largest:e}",
        cases.len()
    );
    cases.len()
}

#[test]
fn pytorch_made_checkpoints_give_pytorchs_outputs() {
    // every kind the bridge builds: mlp, cnn (LeNet-5 among them), rnn (LSTM, GRU), gpt
    assert!(check_folder("torch") >= 6);
}

#[test]
fn our_fixtures_for_the_python_tests_are_current() {
    assert!(check_folder("ours") >= 9);
}

/// `tour mlp --train a.csv --test b.csv --load FILE` with an MLP trained in PyTorch on those
/// files' rows (standardized as the tour does) reports PyTorch's test accuracy.
#[test]
fn tour_mlp_load_of_a_pytorch_model_reports_pytorchs_accuracy() {
    let dir = bridge::folder("torch");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("table_mlp.json")).unwrap())
            .unwrap();
    let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let (json, _) = common::chapter(
        "mlp",
        &[
            "--train",
            &path("table_train.csv"),
            "--test",
            &path("table_test.csv"),
            "--label-column",
            "label",
            "--load",
            &path("table_mlp.safetensors"),
        ],
    );
    let got = json["metrics"]["test_accuracy"].as_f64().unwrap();
    let torch = want["test_accuracy"].as_f64().unwrap();
    assert_eq!(got, torch, "tour: {got}, PyTorch: {torch}");
}
