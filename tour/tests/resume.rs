//! `tour CHAPTER --resume DIR` (issue 14): a chapter continues its training from the training
//! checkpoint an earlier run saved in its `--out` folder — and refuses, with a one-line error and
//! exit code 2, a folder without one, a checkpoint of another chapter or of another run.

mod common;

use common::*;

fn expect_error(args: &[&str], needle: &str) {
    let o = run(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "tour {args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(needle),
        "tour {args:?}: stderr {stderr:?} does not mention {needle:?}"
    );
}

/// The pocket perceptron has no schedule: 3 epochs, then resumed to 6, equals 6 straight.
#[test]
fn perceptron_resumed_equals_the_straight_run() {
    let (_, first) = chapter("perceptron", &["--epochs", "3"]);
    let dir = first.to_str().unwrap();
    let (resumed, _) = chapter("perceptron", &["--epochs", "6", "--resume", dir]);
    let (straight, _) = chapter("perceptron", &["--epochs", "6"]);
    assert_eq!(
        metric(&resumed, "linear_test_accuracy").to_bits(),
        metric(&straight, "linear_test_accuracy").to_bits()
    );
}

#[test]
fn resume_without_a_checkpoint_or_from_another_run_is_refused() {
    let empty = scratch("resume-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.to_str().unwrap();
    expect_error(&["mlp", "--quiet", "--resume", e], "no training checkpoint");
    expect_error(&["--quiet", "--resume", e], "--resume needs a chapter");
    expect_error(
        &["rbf", "--quiet", "--resume", e],
        "does not save a training checkpoint",
    );
    expect_error(
        &[
            "mlp",
            "--quiet",
            "--resume",
            empty.join("nothing").to_str().unwrap(),
        ],
        "not a folder",
    );
    // an mlp run's checkpoint: another seed, or under the cnn's name, is another run
    let (_, out) = chapter("mlp", &["--epochs", "1"]);
    let dir = out.to_str().unwrap();
    expect_error(
        &["mlp", "--quiet", "--seed", "5", "--resume", dir],
        "not of",
    );
    std::fs::copy(
        out.join("mlp_spirals.training.safetensors"),
        out.join("cnn.training.safetensors"),
    )
    .unwrap();
    expect_error(&["cnn", "--quiet", "--resume", dir], "not of");
    // a perceptron state under the som's name
    let (_, p) = chapter("perceptron", &["--epochs", "2"]);
    std::fs::copy(
        p.join("perceptron_pocket_moons.training.safetensors"),
        p.join("som.training.safetensors"),
    )
    .unwrap();
    expect_error(
        &["som", "--quiet", "--resume", p.to_str().unwrap()],
        "not of \"som-training\"",
    );
}

/// The bytes of a training checkpoint in an output folder.
fn bytes(dir: &std::path::Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// An interrupted run (here stopped cleanly by `--stop-after-epochs`; a killed one leaves the
/// checkpoint of its last epoch the same way) resumed without `--epochs` continues to its
/// planned length and ends bit for bit where the straight run does: the same training
/// checkpoint, byte for byte (weights, optimizer state, loop position), and the same metrics.
/// The mlp's rate follows a cosine over the whole run, the rnn's adding loop samples fresh
/// batches from its generator, the transformer's GPT warms up and decays.
fn interrupted_run_resumed_equals_the_straight_run(
    name: &str,
    epochs: &str,
    files: &[&str],
    metric_name: &str,
) {
    interrupted_run_on(name, &[], epochs, files, metric_name)
}

/// The same with `data` (`--train FILE`) given to each run.
fn interrupted_run_on(name: &str, data: &[&str], epochs: &str, files: &[&str], metric_name: &str) {
    interrupted_run_with(name, data, false, epochs, files, metric_name)
}

/// The same, with `--epochs` given to the resumed run too when `epochs_on_resume` (a chapter
/// whose other stages take their length from `--epochs`).
fn interrupted_run_with(
    name: &str,
    data: &[&str],
    epochs_on_resume: bool,
    epochs: &str,
    files: &[&str],
    metric_name: &str,
) {
    let with =
        |args: &[&str]| -> Vec<String> { data.iter().chain(args).map(|s| s.to_string()).collect() };
    let chapter = |name: &str, args: &[String]| {
        chapter(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (stopped, first) = chapter(
        name,
        &with(&["--epochs", epochs, "--stop-after-epochs", "1"]),
    );
    let dir = first.to_str().unwrap();
    let resume: &[&str] = if epochs_on_resume {
        &["--epochs", epochs, "--resume", dir]
    } else {
        &["--resume", dir]
    };
    let (resumed, out) = chapter(name, &with(resume));
    let (straight, whole) = chapter(name, &with(&["--epochs", epochs]));
    for file in files {
        assert_ne!(
            bytes(&first, file),
            bytes(&whole, file),
            "{name}: stopped early"
        );
        assert_eq!(bytes(&out, file), bytes(&whole, file), "{name}: {file}");
    }
    let m = |j: &serde_json::Value| metric(j, metric_name).to_bits();
    assert_eq!(m(&resumed), m(&straight), "{name}: {metric_name}");
    assert_ne!(
        m(&stopped),
        m(&straight),
        "{name}: {metric_name} of the stopped run"
    );
}

// One test per chapter, so the harness runs them side by side.
#[test]
fn an_interrupted_mlp_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "mlp",
        "4",
        &["mlp_spirals.training.safetensors"],
        "test_accuracy",
    );
}

#[test]
fn an_interrupted_rnn_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "rnn",
        "4",
        &[
            "rnn_adding_lstm.training.safetensors",
            "rnn_adding_tanh.training.safetensors",
        ],
        "test_mse",
    );
}

/// A text the character model trains on in seconds: 24 000 characters of seeded
/// pseudo-random words, one line of 8 words each (the tour's model reads 32 streams of 65
/// characters from each of the training and validation parts, which needs about 21 000).
fn words_file(name: &str) -> std::path::PathBuf {
    const WORDS: [&str; 12] = [
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "its", "bed",
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut text = String::new();
    let mut k = 0;
    while text.len() < 24_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(WORDS[(state % WORDS.len() as u64) as usize]);
        k += 1;
        text.push(if k % 8 == 0 { '\n' } else { ' ' });
    }
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("words.txt");
    std::fs::write(&file, text).unwrap();
    file
}

/// The character model's stateful loop on a text (`--train FILE`; 8 steps in 4 epochs of 2):
/// the carried hidden state and the position in the text come back with the weights and Adam.
#[test]
fn an_interrupted_character_model_run_resumed_equals_the_straight_run() {
    let file = words_file("rnn-chars");
    interrupted_run_on(
        "rnn",
        &["--train", file.to_str().unwrap()],
        "8",
        &["rnn_char_lstm.training.safetensors"],
        "val_loss",
    );
    // another text is another run
    let (_, out) = chapter(
        "rnn",
        &[
            "--train",
            file.to_str().unwrap(),
            "--epochs",
            "4",
            "--stop-after-epochs",
            "1",
        ],
    );
    let other = words_file("rnn-chars-other");
    let mut text = std::fs::read_to_string(&other).unwrap();
    text.insert_str(0, "bed ");
    std::fs::write(&other, text).unwrap();
    expect_error(
        &[
            "rnn",
            "--quiet",
            "--train",
            other.to_str().unwrap(),
            "--resume",
            out.to_str().unwrap(),
        ],
        "another text",
    );
}

#[test]
fn an_interrupted_transformer_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "transformer",
        "100",
        &["transformer_gpt.training.safetensors"],
        "validation_nats_per_char",
    );
}

/// A larger `--epochs` on resume extends the run with the schedule it was planned with: the
/// mlp's cosine was planned for 2 epochs, so the third runs at its final rate 1e-4 (said on
/// stderr) — not the straight 3-epoch run, whose cosine is longer.
#[test]
fn a_larger_epochs_extends_the_run_at_the_schedules_final_rate() {
    let (_, first) = chapter("mlp", &["--epochs", "2"]);
    let out = scratch("mlp-extended");
    let o = run(&[
        "mlp",
        "--quiet",
        "--epochs",
        "3",
        "--resume",
        first.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("the steps after it run at its final rate 0.0001"),
        "{stderr}"
    );
    let file = "mlp_spirals.training.safetensors";
    let rate = |dir: &std::path::Path| {
        optim::checkpoint::Checkpoint::<f32>::read(dir.join(file))
            .unwrap()
            .metadata["optimizer.learning_rate"]
            .clone()
    };
    assert_eq!(rate(&out), "0.0001");
    let (_, straight) = chapter("mlp", &["--epochs", "3"]);
    assert_ne!(rate(&straight), "0.0001");
    assert_ne!(bytes(&out, file), bytes(&straight, file));
}

#[test]
fn stop_after_epochs_is_refused_where_nothing_can_continue() {
    expect_error(
        &["rbf", "--quiet", "--stop-after-epochs", "1"],
        "does not save a training checkpoint",
    );
    expect_error(
        &["mlp", "--quiet", "--stop-after-epochs", "0"],
        "at least 1",
    );
    expect_error(&["--quiet", "--stop-after-epochs", "1"], "needs a chapter");
}

#[test]
fn an_interrupted_autoencoder_run_resumed_equals_the_straight_run() {
    // both models: the chapter's (4 epochs) and the 2-unit code's (2)
    interrupted_run_resumed_equals_the_straight_run(
        "autoencoder",
        "4",
        &[
            "autoencoder.training.safetensors",
            "autoencoder_code2.training.safetensors",
            "autoencoder.safetensors",
        ],
        "test_mse",
    );
}

/// 96 seeded pairs `source<TAB>reversed source` of 3–6 letters (a file the seq2seq chapter
/// trains on in a fraction of a second: 3 batches an epoch).
fn pairs_file(name: &str) -> std::path::PathBuf {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut text = String::new();
    for _ in 0..96 {
        let len = 3 + next(4);
        let s: String = (0..len).map(|_| (b'a' + next(6) as u8) as char).collect();
        let r: String = s.chars().rev().collect();
        text.push_str(&format!("{s}\t{r}\n"));
    }
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pairs.tsv");
    std::fs::write(&file, text).unwrap();
    file
}

/// Both encoder–decoders (with and without attention), each through the shared loop.
#[test]
fn an_interrupted_seq2seq_run_resumed_equals_the_straight_run() {
    let file = pairs_file("seq2seq-pairs");
    interrupted_run_on(
        "seq2seq",
        &["--train", file.to_str().unwrap()],
        "3",
        &[
            "seq2seq_additive.training.safetensors",
            "seq2seq_none.training.safetensors",
            "seq2seq_additive.safetensors",
        ],
        "test_cer",
    );
}

/// The GAN's own loop: two networks, two optimizers, the data order and the noise generator.
/// Another seed is another run; a GAN's state under the anfis's name is another trainer's.
#[test]
fn an_interrupted_gan_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "gan",
        "2",
        &["gan_ring.training.safetensors", "gan_ring.safetensors"],
        "discriminator_loss",
    );
    let (_, out) = chapter("gan", &["--epochs", "2", "--stop-after-epochs", "1"]);
    let dir = out.to_str().unwrap();
    expect_error(
        &["gan", "--quiet", "--seed", "5", "--resume", dir],
        "not of this run",
    );
    std::fs::copy(
        out.join("gan_ring.training.safetensors"),
        out.join("anfis_mackey_glass.training.safetensors"),
    )
    .unwrap();
    expect_error(&["anfis", "--quiet", "--resume", dir], "gan-training");
}

/// ANFIS's hybrid rule: least-squares consequents, a premise step, Jang's step-size books.
#[test]
fn an_interrupted_anfis_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "anfis",
        "6",
        &[
            "anfis_mackey_glass.training.safetensors",
            "anfis_mackey_glass.safetensors",
        ],
        "test_rmse",
    );
}

#[test]
fn an_interrupted_cnn_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "cnn",
        "2",
        &["cnn.training.safetensors", "cnn_bars.safetensors"],
        "test_loss",
    );
}

/// The first RBM's CD loop (its velocities and generator); the DBN above it trains from it
/// in full on each run, for `--epochs` (so the resumed run is given it too).
#[test]
fn an_interrupted_rbm_run_resumed_equals_the_straight_run() {
    interrupted_run_with(
        "rbm",
        &[],
        true,
        "2",
        &["rbm.training.safetensors", "rbm_bars.safetensors"],
        "exact_test_log_likelihood",
    );
}

/// The map's online updates (300 = 2 epochs of the 150 points); a finished map resumed has
/// nothing left and is the same map.
#[test]
fn an_interrupted_som_run_resumed_equals_the_straight_run() {
    interrupted_run_resumed_equals_the_straight_run(
        "som",
        "300",
        &["som.training.safetensors", "som.safetensors"],
        "quantization_error",
    );
    let (json, out) = chapter("som", &["--epochs", "300"]);
    let (again, _) = chapter("som", &["--resume", out.to_str().unwrap()]);
    assert_eq!(
        metric(&again, "quantization_error").to_bits(),
        metric(&json, "quantization_error").to_bits()
    );
}
