//! Seeded mutation fuzzing of the loaders of untrusted files (issue 14): the safetensors
//! checkpoint reader with its JSON configuration, IDX (raw and gzip'd), CSV and text.
//!
//! ```sh
//! cargo run --release -p inductive-optim --example fuzz_loaders -- \
//!     --target checkpoint --iters 1000000 --seed 1
//! ```
//!
//! Targets: `checkpoint`, `idx`, `idx-gz`, `csv`, `text` (or `all`). Prints one line of figures
//! per target (executions, inputs accepted, panics, executions over 1 s, executions over the
//! allocation bound, the slowest execution, the largest allocation peak); the inputs of the
//! first findings are written to `--out` (default: `fuzz-findings` in the current folder), and
//! `--replay N` writes input `N` of the run there instead of running; `--from N` starts the run
//! at execution `N` (`--from N --iters 1` reruns one finding under the oracle). Exits with 1 if anything
//! was found. The harness itself is `tests/fuzz_harness/mod.rs`.

#[path = "../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use fuzz_harness::{CountingAlloc, Input, Target};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn usage() -> ExitCode {
    eprintln!(
        "usage: fuzz_loaders --target {{checkpoint,idx,idx-gz,csv,text,all}} [--iters N] \
         [--seed S] [--from N] [--out DIR] [--replay N]"
    );
    ExitCode::from(2)
}

fn save(out: &Path, stem: &str, input: &Input) {
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("cannot create {}: {e}", out.display());
        return;
    }
    for (k, bytes) in input.iter().enumerate() {
        let p = out.join(format!("{stem}-file{k}.bin"));
        match std::fs::write(&p, bytes) {
            Ok(()) => println!("  wrote {}", p.display()),
            Err(e) => eprintln!("cannot write {}: {e}", p.display()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut targets, mut iters, mut seed, mut replay) = (Vec::new(), 1_000_000u64, 1u64, None);
    let mut first = 0u64;
    let mut out = PathBuf::from("fuzz-findings");
    let mut k = 0;
    while k < args.len() {
        let value = args.get(k + 1);
        match (args[k].as_str(), value) {
            ("--target", Some(v)) if v == "all" => targets = Target::ALL.to_vec(),
            ("--target", Some(v)) => match Target::parse(v) {
                Some(t) => targets.push(t),
                None => return usage(),
            },
            ("--iters", Some(v)) => match v.parse() {
                Ok(n) => iters = n,
                Err(_) => return usage(),
            },
            ("--seed", Some(v)) => match v.parse() {
                Ok(s) => seed = s,
                Err(_) => return usage(),
            },
            ("--replay", Some(v)) => match v.parse::<u64>() {
                Ok(i) => replay = Some(i),
                Err(_) => return usage(),
            },
            ("--from", Some(v)) => match v.parse() {
                Ok(n) => first = n,
                Err(_) => return usage(),
            },
            ("--out", Some(v)) => out = PathBuf::from(v),
            _ => return usage(),
        }
        k += 2;
    }
    if targets.is_empty() {
        return usage();
    }
    if let Some(i) = replay {
        for &t in &targets {
            let dir = fuzz_harness::TempDir::new("replay");
            let seeds = fuzz_harness::seeds(t, &dir.0);
            let input = fuzz_harness::input(t, &seeds, seed, i);
            save(&out, &format!("{}-seed{seed}-{i}", t.name()), &input);
        }
        return ExitCode::SUCCESS;
    }
    let mut clean = true;
    for &t in &targets {
        let report = fuzz_harness::run_from(t, seed, first, iters, |r| {
            eprintln!("  {}", r.summary(t, seed));
        });
        println!("{}", report.summary(t, seed));
        for f in &report.findings {
            clean = false;
            println!("  {} in execution {}: {}", f.kind, f.iteration, f.message);
            save(
                &out,
                &format!("{}-seed{seed}-{}-{}", t.name(), f.iteration, f.kind),
                &f.input,
            );
        }
        clean &= report.panics == 0 && report.hangs == 0 && report.over_bound == 0;
    }
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
