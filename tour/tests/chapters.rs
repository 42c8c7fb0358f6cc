//! Runs every chapter of the `tour` binary with a tiny budget, as a user would: exit code 0, a
//! JSON last line whose metrics are finite and above a floor a broken model fails, every promised
//! SVG present and well-formed, `index.html` linking only files that exist; a saved model
//! evaluated with `--load` reproduces its figure; the same seed gives the same metrics; and, with
//! `DL_DATA_DIR` set, one short real-data run per chapter.

mod common;

use common::*;
use std::path::Path;

/// A saved model (the first of the run's models whose name contains `pick`), evaluated with
/// `--load` on the same data, gives the same figure.
fn load_reproduces(name: &str, json: &serde_json::Value, out: &Path, pick: &str, key: &str) {
    let model = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .find(|m| m.contains(pick))
        .unwrap_or_else(|| panic!("no model with {pick} in {json}"));
    let saved = out.join(model);
    let (again, _) = chapter(name, &["--load", saved.to_str().unwrap()]);
    assert_eq!(
        metric(&again, key),
        metric(json, key),
        "{name} --load {model}"
    );
    assert!(
        again["models"].as_array().unwrap().is_empty(),
        "--load trains and saves nothing"
    );
}

#[test]
fn mlp_separates_spirals_and_reloads() {
    let (json, out) = chapter("mlp", &["--epochs", "150"]);
    assert!(metric(&json, "test_accuracy") >= 0.9, "{json}");
    expect_plots(
        &json,
        &["mlp_loss.svg", "mlp_accuracy.svg", "mlp_spirals.svg"],
    );
    load_reproduces("mlp", &json, &out, "spirals", "test_accuracy");
}

#[test]
fn autoencoder_beats_pca_on_blob_images() {
    let (json, out) = chapter("autoencoder", &["--epochs", "10"]);
    assert!(
        metric(&json, "test_mse") < 0.5 * metric(&json, "pca_test_mse"),
        "{json}"
    );
    expect_plots(
        &json,
        &[
            "autoencoder_reconstructions.svg",
            "autoencoder_codes.svg",
            "autoencoder_curve.svg",
        ],
    );
    load_reproduces("autoencoder", &json, &out, "autoencoder", "test_mse");
}

#[test]
fn cnn_learns_bars_anywhere_and_reloads() {
    let (json, out) = chapter("cnn", &["--epochs", "2"]);
    assert!(metric(&json, "test_accuracy") >= 0.85, "{json}");
    expect_plots(&json, &["cnn_filters.svg", "cnn_curves.svg"]);
    load_reproduces("cnn", &json, &out, "bars", "test_accuracy");
}

#[test]
fn rnn_lstm_solves_adding_where_tanh_rnn_does_not() {
    let (json, out) = chapter("rnn", &["--epochs", "1500"]);
    let lstm = metric(&json, "test_mse");
    let tanh = metric(&json, "tanh_rnn_test_mse");
    assert!(lstm < 0.02, "LSTM {lstm}");
    assert!(tanh > 0.1, "tanh RNN {tanh} (the baseline is 1/6)");
    expect_plots(&json, &["rnn_adding_curves.svg", "rnn_gradient_lag.svg"]);
    load_reproduces("rnn", &json, &out, "lstm", "test_mse");
}

#[test]
fn rbf_predicts_mackey_glass() {
    let (json, out) = chapter("rbf", &[]);
    assert!(metric(&json, "test_rmse") <= 0.006, "{json}");
    assert!(metric(&json, "test_ndei") <= 0.03, "{json}");
    expect_plots(&json, &["rbf_fit.svg", "rbf_error.svg"]);
    load_reproduces("rbf", &json, &out, "rbf", "test_rmse");
}

#[test]
fn som_orders_blobs() {
    let (json, out) = chapter("som", &["--epochs", "1000"]);
    assert!(
        metric(&json, "quantization_error") < 0.8 * metric(&json, "initial_quantization_error"),
        "{json}"
    );
    assert!(metric(&json, "topographic_error") <= 0.1, "{json}");
    expect_plots(&json, &["som_umatrix.svg", "som_hits.svg"]);
    load_reproduces("som", &json, &out, "som", "quantization_error");
}

#[test]
fn anfis_hybrid_learning_beats_least_squares_alone() {
    let (json, out) = chapter("anfis", &["--epochs", "50"]);
    assert!(metric(&json, "test_rmse") <= 0.0025, "{json}");
    assert!(
        metric(&json, "test_ndei") < 0.8 * metric(&json, "ls_only_test_ndei"),
        "{json}"
    );
    assert_eq!(metric(&json, "parameters"), 104.0);
    expect_plots(
        &json,
        &[
            "anfis_membership_1.svg",
            "anfis_membership_4.svg",
            "anfis_prediction.svg",
            "anfis_curve.svg",
        ],
    );
    load_reproduces("anfis", &json, &out, "anfis", "test_rmse");
}

#[test]
fn seq2seq_attention_breaks_the_bottleneck_and_reloads() {
    let (json, out) = chapter("seq2seq", &[]);
    let with = metric(&json, "test_exact_accuracy");
    let without = metric(&json, "no_attention_test_exact_accuracy");
    assert!(with >= 0.9, "with attention {with}: {json}");
    assert!(without < 0.3, "without attention {without}: {json}");
    assert!(
        metric(&json, "beam_test_exact_accuracy") >= with - 0.02,
        "{json}"
    );
    expect_plots(&json, &["seq2seq_curves.svg", "seq2seq_attention.svg"]);
    load_reproduces("seq2seq", &json, &out, "additive", "test_exact_accuracy");
}

#[test]
fn transformer_learns_generated_text_and_reverses_and_reloads() {
    let (json, out) = chapter("transformer", &[]);
    // the generated text's characters are far from uniform once reversal is learned
    assert!(metric(&json, "validation_nats_per_char") < 1.2, "{json}");
    assert!(
        metric(&json, "encoder_decoder_reversal_exact_accuracy") >= 0.95,
        "{json}"
    );
    expect_plots(
        &json,
        &["transformer_loss.svg", "transformer_attention.svg"],
    );
    load_reproduces(
        "transformer",
        &json,
        &out,
        "gpt",
        "validation_nats_per_char",
    );
}

#[test]
fn rbm_ais_agrees_with_exact_and_dbn_fine_tuning_beats_random_init() {
    let (json, out) = chapter("rbm", &[]);
    let (ais, exact) = (
        metric(&json, "ais_test_log_likelihood"),
        metric(&json, "exact_test_log_likelihood"),
    );
    let se = metric(&json, "ais_log_z_std_error");
    assert!((ais - exact).abs() <= 3.0 * se + 0.05, "{json}");
    assert!(
        metric(&json, "dbn_test_accuracy") > metric(&json, "random_init_test_accuracy") + 0.2,
        "{json}"
    );
    expect_plots(
        &json,
        &["rbm_filters.svg", "rbm_samples.svg", "rbm_curves.svg"],
    );
    load_reproduces("rbm", &json, &out, "rbm_", "test_reconstruction_mse");
}

#[test]
fn gan_covers_the_ring_and_writes_its_samples() {
    let (json, out) = chapter("gan", &[]);
    assert!(
        metric(&json, "modes") >= 7.0,
        "a collapsed generator covers 1-3: {json}"
    );
    let csv = std::fs::read_to_string(out.join("gan_samples.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| !l.starts_with('x')).collect();
    assert_eq!(rows.len(), 10_000);
    assert!(rows.iter().all(|r| r.split(',').count() == 2));
    expect_plots(&json, &["gan_points.svg", "gan_losses.svg"]);
    load_reproduces("gan", &json, &out, "gan_ring", "modes");
}

#[test]
fn same_seed_same_metrics_and_another_seed_differs() {
    let (a, _) = chapter("cnn", &["--seed", "5", "--epochs", "1"]);
    let (b, _) = chapter("cnn", &["--seed", "5", "--epochs", "1"]);
    assert_eq!(a["metrics"], b["metrics"]);
    let (c, _) = chapter("cnn", &["--seed", "6", "--epochs", "1"]);
    assert_ne!(a["metrics"], c["metrics"]);
}

#[test]
fn load_of_another_chapters_model_is_an_error() {
    let (json, out) = chapter("rbf", &[]);
    let saved = out.join(json["models"][0].as_str().unwrap());
    let o = run(&[
        "som",
        "--quiet",
        "--load",
        saved.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn test_file_for_a_chapter_that_splits_its_own_data_is_an_error() {
    let out = scratch("no-test");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("iris.csv");
    std::fs::write(
        &file,
        "sepal_length,sepal_width,petal_length,petal_width,species\n",
    )
    .unwrap();
    for name in ["som", "rbf", "anfis"] {
        let o = run(&[
            name,
            "--quiet",
            "--test",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("--test"), "{name}: {stderr}");
    }
}

#[test]
fn real_data_mlp_autoencoder_som() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, _) = chapter("mlp", &["--data-dir", &dir, "--epochs", "30"]);
    assert!(metric(&json, "test_accuracy") >= 0.97, "{json}");
    let (json, _) = chapter("autoencoder", &["--data-dir", &dir, "--epochs", "30"]);
    assert_eq!(metric(&json, "code_size"), 8.0);
    assert!(
        (metric(&json, "pca_test_mse") - 0.024).abs() < 0.002,
        "{json}"
    );
    assert!(metric(&json, "test_mse") < 0.02, "{json}");
    let (json, _) = chapter("som", &["--data-dir", &dir]);
    assert!(
        (metric(&json, "quantization_error") - 0.440).abs() <= 0.05 * 0.440,
        "{json}"
    );
    assert!(metric(&json, "topographic_error") <= 0.04, "{json}");
}

#[test]
fn real_data_cnn_on_mnist_and_on_optdigits() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, out) = chapter("cnn", &["--data-dir", &dir, "--epochs", "2"]);
    assert!(json["data"].as_str().unwrap().contains("idx3"), "{json}");
    assert!(metric(&json, "test_accuracy") >= 0.93, "{json}");
    // --train picks optdigits even where MNIST is beside it
    let tra = Path::new(&dir).join("optdigits.tra");
    let (digits, _) = chapter("cnn", &["--train", tra.to_str().unwrap(), "--epochs", "3"]);
    assert!(metric(&digits, "test_accuracy") >= 0.95, "{digits}");
    // a saved LeNet-5 is refused for optdigits data, by name
    let lenet = out.join("cnn_mnist.safetensors");
    let o = run(&[
        "cnn",
        "--quiet",
        "--train",
        tra.to_str().unwrap(),
        "--load",
        lenet.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mnist"));
}

#[test]
fn real_data_rnn_shakespeare_and_sunspots() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, _) = chapter("rnn", &["--data-dir", &dir, "--epochs", "100"]);
    assert!(metric(&json, "val_loss") < 2.6, "{json}");
    assert!(metric(&json, "test_arv") < 0.3, "{json}");
    assert!(
        (metric(&json, "ar12_test_arv") - 0.13).abs() < 0.01,
        "{json}"
    );
    expect_plots(&json, &["rnn_char_curve.svg", "rnn_sunspots.svg"]);
}

#[test]
fn real_data_anfis_sunspots() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, _) = chapter("anfis", &["--data-dir", &dir]);
    assert!(
        (metric(&json, "ar12_test_arv") - 0.13).abs() < 0.01,
        "{json}"
    );
    assert!(metric(&json, "test_arv") < 0.2, "{json}");
    expect_plots(&json, &["anfis_sunspots.svg"]);
}

#[test]
fn rnn_trains_on_a_corpus_without_the_default_prompt_characters() {
    // lower-case only: "ROMEO:" cannot be encoded, the sample starts from the corpus instead
    let dir = scratch("lowercase-corpus");
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("lower.txt");
    let line = "the quick brown fox jumps over the lazy dog and runs away\n";
    std::fs::write(&text, line.repeat(600)).unwrap();
    let (json, out) = chapter("rnn", &["--train", text.to_str().unwrap(), "--epochs", "8"]);
    assert!(metric(&json, "val_loss").is_finite(), "{json}");
    let sample = std::fs::read_to_string(out.join("rnn_sample.txt")).unwrap();
    assert!(sample.starts_with("the quic"), "{sample:?}");
    // every output was written through a temporary file and renamed: none is left over
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
