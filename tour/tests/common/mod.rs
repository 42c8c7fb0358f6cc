//! Helpers shared by the tour's integration tests: run the binary, check its JSON line, its
//! SVGs and its gallery.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn tour() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tour"))
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tour-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn run(args: &[&str]) -> Output {
    tour().args(args).output().expect("run tour")
}

/// Runs a chapter and returns its JSON line and output folder, after the common checks.
pub fn chapter(name: &str, extra: &[&str]) -> (serde_json::Value, PathBuf) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run_id = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = scratch(&format!("{name}-{run_id}"));
    let mut args = vec![name, "--json", "--quiet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "tour {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    let last = stdout.lines().last().expect("some output");
    let json: serde_json::Value = serde_json::from_str(last).expect("last line is JSON");
    assert_eq!(json["chapter"], name);
    assert!(json["data"].is_string());
    assert!(json["seconds"].as_f64().is_some_and(f64::is_finite));
    let metrics = json["metrics"].as_object().expect("metrics object");
    assert!(!metrics.is_empty());
    for (k, v) in metrics {
        assert!(
            v.as_f64().is_some_and(f64::is_finite),
            "metric {k} = {v} is not finite"
        );
    }
    let plots = json["plots"].as_array().expect("plots");
    assert!(!plots.is_empty(), "no plots");
    for plot in plots {
        check_xml(&out.join(plot.as_str().unwrap()));
    }
    for model in json["models"].as_array().expect("models") {
        let file = out.join(model.as_str().unwrap());
        assert!(file.is_file(), "model {} missing", file.display());
    }
    check_gallery(&out);
    (json, out)
}

/// The plots a run wrote, by file name.
pub fn plots(json: &serde_json::Value) -> Vec<String> {
    json["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

pub fn expect_plots(json: &serde_json::Value, names: &[&str]) {
    let have = plots(json);
    for n in names {
        assert!(have.iter().any(|p| p == n), "plot {n} missing in {have:?}");
    }
}

pub fn check_xml(file: &Path) {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{} missing: {e}", file.display()));
    roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", file.display()));
}

pub fn check_gallery(out: &Path) {
    let index = out.join("index.html");
    let html = std::fs::read_to_string(&index).expect("index.html");
    roxmltree::Document::parse(&html.replace("<!DOCTYPE html>", ""))
        .expect("index.html is well-formed");
    for part in html
        .split("src=\"")
        .skip(1)
        .chain(html.split("href=\"").skip(1))
    {
        let target = &part[..part.find('"').unwrap()];
        if let Some(anchor) = target.strip_prefix('#') {
            // an in-page link: an element of the page must carry that id
            assert!(
                html.contains(&format!("id=\"{anchor}\"")),
                "index.html links {target}, which no element of the page carries"
            );
            continue;
        }
        assert!(
            out.join(target).is_file(),
            "index.html links {target}, which does not exist"
        );
    }
}

pub fn metric(json: &serde_json::Value, name: &str) -> f64 {
    json["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} missing in {json}"))
}

pub fn data_dir() -> Option<String> {
    std::env::var("DL_DATA_DIR")
        .ok()
        .filter(|d| Path::new(d).is_dir())
        .map(|d| std::fs::canonicalize(d).unwrap().display().to_string())
}
