//! Runs the `tour` binary as a user would: every chapter with a tiny budget (exit code 0, a JSON
//! last line with finite metrics above a floor a broken model fails, every promised SVG present
//! and well-formed, index.html linking only files that exist), and bad invocations (one-line
//! error, exit code 2).

mod common;

use common::*;

#[test]
fn optim_race_converges_for_adam() {
    let (json, _) = chapter("optim", &["--epochs", "5000"]);
    assert!(metric(&json, "iterations_adam") < 5000.0);
    assert!(metric(&json, "final_f_adam") < 1e-6);
}

fn expect_usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "tour {args:?}: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "tour {args:?}: stderr {stderr:?} does not mention {needle:?}"
    );
}

#[test]
fn bad_invocations_exit_2_with_a_one_line_error() {
    expect_usage_error(&["no-such-chapter"], "no-such-chapter");
    expect_usage_error(&["optim", "--epochs", "0"], "epochs");
    let blocker = scratch("blocker");
    std::fs::write(&blocker, "a file, not a folder").unwrap();
    let inside = blocker.join("out");
    expect_usage_error(
        &["optim", "--quiet", "--out", inside.to_str().unwrap()],
        "cannot create output folder",
    );
    let bad = scratch("bad-data");
    std::fs::create_dir_all(&bad).unwrap();
    let file = bad.join("mystery.csv");
    std::fs::write(&file, "a;b;c\n1;2;3\n").unwrap();
    let o = run(&[
        "mlp",
        "--quiet",
        "--train",
        file.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mystery.csv"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let missing = bad.join("does-not-exist.csv");
    expect_usage_error(
        &["mlp", "--train", missing.to_str().unwrap()],
        "does-not-exist.csv",
    );
}

#[test]
fn help_describes_every_flag() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--epochs",
        "--seed",
        "--threads",
        "--out",
        "--quiet",
        "--json",
        "--data-dir",
        "--train",
        "--test",
        "--load",
        "--help",
    ] {
        assert!(text.contains(flag), "--help does not mention {flag}");
    }
    for chapter in [
        "optim",
        "perceptron",
        "mlp",
        "autoencoder",
        "cnn",
        "rnn",
        "rbf",
        "som",
        "anfis",
    ] {
        assert!(text.contains(chapter), "--help does not list {chapter}");
    }
}

#[test]
fn perceptron_within_novikoff_and_kernel_separates_moons() {
    let (json, out) = chapter("perceptron", &["--epochs", "50"]);
    assert!(metric(&json, "mistakes") <= metric(&json, "novikoff_bound"));
    assert!(metric(&json, "test_accuracy") >= 0.95);
    // a saved model evaluates without training and gives the same figure
    let saved = out.join("perceptron_kernel_moons.safetensors");
    let (again, _) = chapter("perceptron", &["--load", saved.to_str().unwrap()]);
    assert_eq!(
        metric(&again, "test_accuracy"),
        metric(&json, "test_accuracy")
    );
}

#[test]
fn same_seed_same_metrics() {
    let (a, _) = chapter("perceptron", &["--seed", "7", "--epochs", "20"]);
    let (b, _) = chapter("perceptron", &["--seed", "7", "--epochs", "20"]);
    assert_eq!(a["metrics"], b["metrics"]);
}

#[test]
fn perceptron_on_optdigits() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, _) = chapter("perceptron", &["--data-dir", &dir]);
    assert!(metric(&json, "test_accuracy") >= 0.94);
}

#[test]
fn flags_that_would_be_ignored_are_errors() {
    let dir = scratch("ignored-flags");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    // a data folder with nothing the tour reads: it used to train on generated data, exit 0
    let empty = dir.join("nothing-here");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "a;b\n").unwrap();
    expect_usage_error(
        &[
            "mlp",
            "--quiet",
            "--out",
            out,
            "--data-dir",
            empty.to_str().unwrap(),
        ],
        "holds no recognised data file",
    );
    // --test without the training data it is the test set of
    let digits = dir.join("digits.csv");
    let row: Vec<String> = (0..64).map(|i| (i % 17).to_string()).collect();
    std::fs::write(&digits, format!("{},3\n", row.join(","))).unwrap();
    let digits = digits.to_str().unwrap();
    expect_usage_error(
        &["mlp", "--quiet", "--out", out, "--test", digits],
        "needs the training data",
    );
    // --train/--test given to chapters that read no file
    for chapter in ["optim", "rbf"] {
        expect_usage_error(
            &[chapter, "--quiet", "--out", out, "--train", digits],
            "is not used by this chapter",
        );
    }
}
