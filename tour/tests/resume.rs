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
fn mlp_cnn_rbm_and_som_continue_from_their_training_checkpoints() {
    for (name, first, more) in [
        ("mlp", "2", "3"),
        ("cnn", "1", "2"),
        ("rbm", "1", "2"),
        ("som", "300", "300"),
    ] {
        let (json, out) = chapter(name, &["--epochs", first]);
        let dir = out.to_str().unwrap().to_string();
        let (again, _) = chapter(name, &["--epochs", more, "--resume", &dir]);
        if name == "som" {
            // a finished map has nothing left: it is the same map
            assert_eq!(
                metric(&again, "quantization_error").to_bits(),
                metric(&json, "quantization_error").to_bits()
            );
        }
    }
}

#[test]
fn resume_without_a_checkpoint_or_from_another_run_is_refused() {
    let empty = scratch("resume-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.to_str().unwrap();
    expect_error(&["mlp", "--quiet", "--resume", e], "no training checkpoint");
    expect_error(&["--quiet", "--resume", e], "--resume needs a chapter");
    expect_error(
        &["gan", "--quiet", "--resume", e],
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
