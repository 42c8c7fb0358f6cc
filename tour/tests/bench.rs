//! `tour bench`: every workload runs and prints the JSON line `bench/run.py` reads; bad
//! arguments exit 2 with one line; `--help` lists the workloads.

mod common;
use common::run;

fn json_line(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "tour {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(stdout.lines().last().expect("a line")).expect("JSON")
}

#[test]
fn every_training_workload_reports_its_throughput() {
    for (workload, unit) in [
        ("mlp", "examples/s"),
        ("lenet", "examples/s"),
        ("lstm", "sequences/s"),
        ("transformer", "tokens/s"),
        ("seq2seq", "sequences/s"),
        ("rbm", "examples/s"),
    ] {
        let j = json_line(&[
            "bench",
            workload,
            "--seconds",
            "0.05",
            "--threads",
            "2",
            "--json",
        ]);
        assert_eq!(j["workload"], workload);
        assert_eq!(j["side"], "inductive");
        assert_eq!(j["unit"], unit);
        assert_eq!(j["threads"], 2);
        // the data-parallel parts default to one per thread
        assert_eq!(j["shards"], 2);
        assert!(j["throughput"].as_f64().unwrap() > 0.0, "{j}");
        assert!(j["steps"].as_u64().unwrap() >= 1, "{j}");
        assert!(j["peak_rss_mb"].as_f64().unwrap() > 0.0, "{j}");
    }
}

/// `--products`: the work of the listed products per step equals the model's own count (so no
/// product is missing or counted twice), and their share of the step and their rate are
/// positive. The share is not bounded above here: it is a ratio of two timings, and with
/// other tests loading the machine the two can see different speeds.
#[test]
fn products_share_is_a_share_of_the_step() {
    // MLP 784-256-128-10, batch 128: forward and dW for 3 weights, dX for the upper 2
    let (b, w) = (128.0, [784.0 * 256.0, 256.0 * 128.0, 128.0 * 10.0]);
    let mlp = 2.0 * b * (3.0 * w.iter().sum::<f64>() - w[0]);
    // Transformer: 2048 tokens, d 128, ff 512, 2 layers, vocabulary 65; per layer 4 weights
    // (3d², d², d·ff, ff·d) and per sequence and head six 64x32x64 attention products
    let (n, d, f) = (2048.0, 128.0, 512.0);
    let layer = 3.0 * 2.0 * n * (4.0 * d * d + 2.0 * d * f);
    let attention = 6.0 * 2.0 * 64.0 * 32.0 * 64.0 * 32.0 * 4.0;
    let transformer = 2.0 * (layer + attention) + 3.0 * 2.0 * n * 65.0 * d;
    // LSTM 32 -> 128, 50 steps of 32: gates 512; readout 1 x 128
    let (g, h, i, tb) = (512.0, 128.0, 32.0, 1600.0);
    let lstm = 2.0 * (2.0 * g * i * tb + 3.0 * g * h * tb) + 3.0 * 2.0 * h * 32.0;
    for (workload, flop) in [("mlp", mlp), ("lstm", lstm), ("transformer", transformer)] {
        let j = json_line(&[
            "bench",
            workload,
            "--seconds",
            "0.3",
            "--products",
            "--json",
        ]);
        let gflop = j["products_gflop"].as_f64().unwrap();
        assert!(
            (gflop - flop / 1e9).abs() < 1e-9,
            "{workload}: {gflop} against {}",
            flop / 1e9
        );
        let share = j["products_share"].as_f64().unwrap();
        assert!(share.is_finite() && share > 0.0, "{workload}: {j}");
        assert!(
            j["products_gflops"].as_f64().unwrap() > 0.0,
            "{workload}: {j}"
        );
    }
    // without the flag nothing extra is timed (or allocated)
    let j = json_line(&["bench", "lstm", "--seconds", "0.05", "--json"]);
    assert!(j.get("products_share").is_none(), "{j}");
}

#[test]
fn gemm_reports_every_shape_and_the_peak() {
    let j = json_line(&["bench", "gemm", "--seconds", "0.2", "--json"]);
    let shapes = j["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), 13);
    assert!(shapes.iter().all(|s| s["gflops"].as_f64().unwrap() > 0.0));
    assert!(j["peak_how"].as_str().unwrap().contains("FLOP/cycle") || j["peak_gflops"].is_null());
}

#[test]
fn bench_refuses_bad_arguments_and_explains_itself() {
    for (args, needle) in [
        (&["bench", "nope"][..], "invalid value 'nope'"),
        (&["bench", "mlp", "--seconds", "0"], "--seconds 0"),
        (&["bench", "mlp", "--threads", "0"], "--threads"),
        (
            &["bench", "mlp", "--threads", "2", "--products"],
            "--products: only mlp, lstm and transformer, with one shard",
        ),
        (&["bench", "rbm", "--products"], "--products"),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("tour bench: error") && err.contains(needle),
            "{err}"
        );
    }
    let o = run(&["bench", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for w in [
        "mlp",
        "lenet",
        "lstm",
        "transformer",
        "seq2seq",
        "rbm",
        "gemm",
        "--shards",
    ] {
        assert!(help.contains(w), "help lacks {w}");
    }
    let o = run(&["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("tour bench"));
}
