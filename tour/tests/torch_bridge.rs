//! Kind 3, the PyTorch bridge (`python/inductive_torch`): models trained or built in PyTorch and
//! saved in our format by `python/tests/make_bridge_fixtures.py` load with our `load` functions
//! (`Mlp::load`, `load_model` of `Cnn`, `SeqModel`, `Gpt`) and give PyTorch's outputs to 1e-5; the
//! Rust-made files the Python tests read (`examples/bridge_fixtures.rs`) still give the outputs
//! recorded with them; `tour mlp --load` of a PyTorch-trained MLP and `tour seq2seq --load` of a
//! PyTorch-trained recurrent encoder–decoder report the test accuracies PyTorch measured on the
//! same data, and a PyTorch-trained Transformer encoder–decoder keeps its exact-sequence
//! accuracy through `load_model`.

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
    // every kind the bridge builds: mlp, cnn, rnn (LSTM, GRU), gpt, seq2seq (additive and
    // general attention), encoder_decoder (post- and pre-LN)
    assert!(check_folder("torch") >= 10);
}

#[test]
fn our_fixtures_for_the_python_tests_are_current() {
    assert!(check_folder("ours") >= 15);
}

/// The training augmentation in a CNN config written by PyTorch (which does not use it) is
/// read by the Rust loader (issue 22's `augment` entry).
#[test]
fn a_cnn_config_written_by_pytorch_keeps_its_augmentation() {
    let net: cnn::Cnn<f64> =
        optim::checkpoint::load_model(bridge::folder("torch").join("cnn_small.safetensors"))
            .unwrap();
    let want = optim::augment::Augment {
        max_shift: 2,
        max_rotation_degrees: 0.0,
    };
    assert_eq!(net.augmentation(), Some(want));
}

/// A Transformer encoder–decoder trained in PyTorch on reversal (`make_bridge_fixtures.py`)
/// gets PyTorch's exact-sequence accuracy on its test pairs through `load_model` in `f32`, by
/// teacher forcing (`evaluate`) and by greedy decoding (`translate`). The tour has no `--load`
/// of its own for this model (it reads one beside a GPT, on pairs it generates).
#[test]
fn a_pytorch_trained_encoder_decoder_keeps_its_accuracy() {
    use optim::train::Trainable;
    use transformer::seq2seq::{EncoderDecoder, SeqPairs};
    let dir = bridge::folder("torch");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("encdec_reverse.json")).unwrap())
            .unwrap();
    let (sources, targets) = bridge::pairs(&want);
    let data = SeqPairs::new(sources, targets).unwrap();
    let model: EncoderDecoder<f32> =
        optim::checkpoint::load_model(dir.join("encdec_reverse.safetensors")).unwrap();
    let torch = want["exact_accuracy"].as_f64().unwrap();
    let forced = model.evaluate(&data).unwrap().accuracy.unwrap();
    let greedy = (0..data.len())
        .filter(|&i| model.translate(&data.sources[i], 16).unwrap() == data.targets[i])
        .count() as f64
        / data.len() as f64;
    println!("encoder-decoder: PyTorch {torch}, teacher forcing {forced}, greedy {greedy}");
    assert_eq!(forced, torch);
    assert_eq!(greedy, torch);
}

/// `tour seq2seq --load FILE` of a GRU encoder–decoder trained in PyTorch on reversal reports
/// PyTorch's exact-sequence accuracy on the test pairs (greedy decoding here, teacher-forced
/// arg max there: the same verdict for every pair, `make_bridge_fixtures.py`), from the test
/// file alone (no `--train`).
#[test]
fn tour_seq2seq_load_of_a_pytorch_model_reports_pytorchs_accuracy() {
    let dir = bridge::folder("torch");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("seq2seq_reverse.json")).unwrap())
            .unwrap();
    let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let pairs = path("seq2seq_reverse_test.tsv");
    let (json, _) = common::chapter(
        "seq2seq",
        &[
            "--test",
            &pairs,
            "--load",
            &path("seq2seq_reverse.safetensors"),
        ],
    );
    let got = json["metrics"]["test_exact_accuracy"].as_f64().unwrap();
    let torch = want["test_exact_accuracy"].as_f64().unwrap();
    assert_eq!(got, torch, "tour: {got}, PyTorch: {torch}");
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
