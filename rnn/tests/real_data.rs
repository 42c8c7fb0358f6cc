//! Real-data tests: run only when `DL_DATA_DIR` points at the shared data folder.

use rnn::tasks::{CharCorpus, sample_text};
use rnn::{CharLmConfig, SunspotsConfig, train_char_lm, train_sunspots};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    match std::env::var("DL_DATA_DIR") {
        Ok(d) => Some(PathBuf::from(d)),
        Err(_) => {
            println!("DL_DATA_DIR not set: real-data test skipped");
            None
        }
    }
}

/// A character LSTM on tiny Shakespeare (first 90 % train, last 10 % validation) beats a 3-gram
/// model's 2.05 nats/char on the whole validation text after 300 steps (≈ 610 k characters,
/// 0.6 of an epoch). `examples/shakespeare.rs` runs longer.
#[test]
fn char_lstm_beats_a_trigram_on_tiny_shakespeare() {
    let Some(dir) = data_dir() else { return };
    let text = optim::data::load_text(dir.join("tinyshakespeare.txt")).unwrap();
    let corpus = CharCorpus::new(&text, 0.1).unwrap();
    assert_eq!(corpus.vocab.len(), 65);
    let cfg = CharLmConfig {
        hidden: 128,
        steps_per_epoch: 300,
        ..Default::default()
    };
    let report = train_char_lm::<f32>(&cfg, &corpus, &mut |_| {}).unwrap();
    println!(
        "tiny Shakespeare: validation {:.4} nats/char after {} steps ({:.1} s)",
        report.valid_nats, report.steps, report.seconds
    );
    assert!(
        report.valid_nats < 2.05,
        "validation {} nats/char",
        report.valid_nats
    );
    let sample = sample_text(
        &report.model,
        &corpus.vocab,
        "ROMEO:",
        100,
        0.8,
        &mut optim::rng(0),
    )
    .unwrap();
    assert_eq!(sample.chars().count(), 100);
}

/// Yearly sunspots, train ≤ 1920, test 1921–1955: the LSTM's ARV beats the AR(12) baseline
/// (≈ 0.13), which is fitted here by least squares too.
#[test]
fn lstm_beats_ar12_on_sunspots() {
    let Some(dir) = data_dir() else { return };
    let (years, values) =
        optim::data::load_sunspots_yearly::<f64>(dir.join("sunspots_yearly.csv")).unwrap();
    let cfg = SunspotsConfig::default();
    let r = train_sunspots(&cfg, &years, &values, &mut |_| {}).unwrap();
    println!(
        "sunspots ARV test: LSTM {:.4}, AR(12) {:.4}; train: LSTM {:.4}, AR(12) {:.4}",
        r.net_test_arv, r.ar_test_arv, r.net_train_arv, r.ar_train_arv
    );
    assert!(
        (r.ar_test_arv - 0.13).abs() < 0.01,
        "AR(12) test ARV {}",
        r.ar_test_arv
    );
    assert!(
        r.net_test_arv < r.ar_test_arv,
        "LSTM {} vs AR(12) {}",
        r.net_test_arv,
        r.ar_test_arv
    );
}
