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

/// `--products`: the step's products alone take a share of the step between 0 and 1 (they
/// are part of it; a share above 1 would mean the list times more work than the step does),
/// at a positive rate.
#[test]
fn products_share_is_a_share_of_the_step() {
    for workload in ["mlp", "lstm", "transformer"] {
        let j = json_line(&[
            "bench",
            workload,
            "--seconds",
            "0.3",
            "--products",
            "--json",
        ]);
        let share = j["products_share"].as_f64().unwrap();
        assert!(share > 0.05 && share < 1.2, "{workload}: {j}");
        assert!(
            j["products_gflops"].as_f64().unwrap() > 0.1,
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
