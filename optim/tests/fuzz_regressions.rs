//! The loaders of untrusted files under the seeded mutation fuzzer (`tests/fuzz_harness`, run at
//! length by `examples/fuzz_loaders.rs`): a CI-sized run per target (no panic, no execution over
//! 1 s, no allocation over the bound), checks that the oracle itself works, and each finding of
//! the long runs as a regression test with its input.

mod fuzz_harness;

use fuzz_harness::{CountingAlloc, Target};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Executions per target in CI (a few seconds each in the test profile).
const CI_ITERATIONS: u64 = 3_000;

fn ci_run(target: Target) {
    let report = fuzz_harness::run(target, 20_251_202, CI_ITERATIONS, |_| {});
    let summary = report.summary(target, 20_251_202);
    eprintln!("{summary}");
    for f in &report.findings {
        eprintln!(
            "{} in execution {}: {} (input {:?})",
            f.kind, f.iteration, f.message, f.input
        );
    }
    assert_eq!(report.executions, CI_ITERATIONS);
    assert_eq!(report.panics, 0, "{summary}");
    assert_eq!(report.hangs, 0, "{summary}");
    assert_eq!(report.over_bound, 0, "{summary}");
    // The mutants must reach the loaders' success paths, not only their first check.
    assert!(report.accepted > CI_ITERATIONS / 100, "{summary}");
}

#[test]
fn ci_fuzz_checkpoint() {
    ci_run(Target::Checkpoint);
}

#[test]
fn ci_fuzz_idx() {
    ci_run(Target::Idx);
}

#[test]
fn ci_fuzz_idx_gz() {
    ci_run(Target::IdxGz);
}

#[test]
fn ci_fuzz_csv() {
    ci_run(Target::Csv);
}

#[test]
fn ci_fuzz_text() {
    ci_run(Target::Text);
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

#[test]
fn the_allocation_counter_sees_allocations() {
    let (v, peak) = fuzz_harness::measure(|| std::hint::black_box(vec![1u8; 3 << 20]));
    assert!(peak >= 3 << 20, "peak {peak}");
    drop(v);
    let ((), peak) = fuzz_harness::measure(|| {});
    assert!(peak < 1024, "peak {peak}");
}

#[test]
fn the_seeds_load_and_fit_the_bound() {
    for target in Target::ALL {
        let dir = fuzz_harness::TempDir::new("seeds");
        let seeds = fuzz_harness::seeds(target, &dir.0);
        assert!(seeds.len() >= 2, "{target:?}");
        for s in &seeds {
            let out = fuzz_harness::check_one(target, s, &dir.0);
            assert_eq!(out.result, Ok(true), "{target:?}: a seed must load");
        }
    }
}

#[test]
fn inputs_replay_from_seed_and_number() {
    for target in Target::ALL {
        let dir = fuzz_harness::TempDir::new("replay");
        let seeds = fuzz_harness::seeds(target, &dir.0);
        let a = fuzz_harness::input(target, &seeds, 5, 1234);
        assert_eq!(a, fuzz_harness::input(target, &seeds, 5, 1234));
        assert_ne!(a, fuzz_harness::input(target, &seeds, 5, 1235));
    }
}

#[test]
fn the_oracle_reports_panics_and_allocations_over_the_bound() {
    let out = fuzz_harness::check_with(1 << 20, || panic!("boom {}", 7));
    match out.result {
        Err(("panic", msg)) => assert!(msg.contains("boom 7"), "{msg}"),
        other => panic!("expected a panic finding, got {other:?}"),
    }
    let out = fuzz_harness::check_with(1 << 20, || {
        std::hint::black_box(vec![0u8; 2 << 20]).len() > 1
    });
    assert!(
        matches!(out.result, Err(("allocation", _))),
        "{:?}",
        out.result
    );
    let out = fuzz_harness::check_with(1 << 20, || {
        std::hint::black_box(vec![0u8; 1 << 10]).len() > 1
    });
    assert_eq!(out.result, Ok(true));
}

/// The oracle times an execution by its thread's CPU time: one that waits longer than `SLOW`
/// of wall time (as a loaded machine makes an execution do) is no hang, one that computes
/// longer is; the clock, read from another thread (as the watchdog does), advances with the
/// thread's work and not while it sleeps.
#[test]
fn the_oracle_times_cpu_not_the_wall_clock() {
    use fuzz_harness::{CpuClock, SLOW};
    use std::time::{Duration, Instant};
    let out = fuzz_harness::check_with(1 << 20, || {
        std::thread::sleep(SLOW + Duration::from_millis(100));
        true
    });
    assert_eq!(out.result, Ok(true));
    assert!(out.took < SLOW / 4, "a sleep took {:?} of CPU", out.took);
    let out = fuzz_harness::check_with(1 << 20, || {
        let clock = CpuClock::current_thread();
        let (t0, wall) = (clock.now(), Instant::now());
        while clock.now() - t0 <= SLOW && wall.elapsed() < 60 * SLOW {
            std::hint::black_box(0u64);
        }
        true
    });
    assert!(
        matches!(out.result, Err(("slow", _))),
        "{:?} after {:?}",
        out.result,
        out.took
    );
    // another thread's view of this one
    let clock = CpuClock::current_thread();
    let before = std::thread::scope(|s| s.spawn(|| clock.now()).join().unwrap());
    std::thread::sleep(Duration::from_millis(200));
    let slept = std::thread::scope(|s| s.spawn(|| clock.now()).join().unwrap());
    assert!(
        slept - before < Duration::from_millis(50),
        "{:?}",
        slept - before
    );
}

// ---------------------------------------------------------------------------------------------
// Findings, each with its input
// ---------------------------------------------------------------------------------------------

/// A safetensors file of one tensor with the given JSON header.
fn safetensors_with_header(header: &str) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out
}

fn read_checkpoint(bytes: &[u8]) -> optim::Result<optim::checkpoint::Checkpoint<f32>> {
    let dir = fuzz_harness::TempDir::new("regression");
    let path = dir.0.join("input.safetensors");
    std::fs::write(&path, bytes).unwrap();
    optim::checkpoint::Checkpoint::<f32>::read(&path)
}

#[test]
fn a_tensor_with_a_zero_and_two_huge_dimensions_is_not_an_overflow() {
    // 0 x 2^33 x 2^33 holds no value, so the safetensors parser accepts it; the rows x cols
    // view of it must not multiply 2^33 by 2^33.
    let bytes = safetensors_with_header(
        r#"{"w":{"dtype":"F32","shape":[0,8589934592,8589934592],"data_offsets":[0,0]}}"#,
    );
    let outcome = fuzz_harness::check_with(1 << 20, || {
        read_checkpoint(&bytes).is_err_and(|e| e.to_string().contains("overflows"))
    });
    assert_eq!(outcome.result, Ok(true), "a clear error, no panic");
}

/// A gzip bomb: a valid IDX header and payload (one 28 x 28 image) followed by 256 MiB of zeros,
/// a few hundred kB compressed. The loader stops at the first decompressed byte after the data
/// the header describes and holds a small multiple of that honest size, never the bomb's.
#[test]
fn a_gzip_bomb_is_refused_without_inflating_it() {
    let mut raw = vec![0u8, 0, 0x08, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28];
    raw.extend(std::iter::repeat_n(7u8, 784));
    raw.resize(raw.len() + (256 << 20), 0);
    let gz = fuzz_harness::gzip(&raw);
    drop(raw);
    assert!(
        gz.len() < 2 << 20,
        "the bomb compresses to {} bytes",
        gz.len()
    );
    let dir = fuzz_harness::TempDir::new("gzip-bomb");
    let path = dir.0.join("bomb.idx.gz");
    std::fs::write(&path, &gz).unwrap();
    let (result, peak) = fuzz_harness::measure(|| optim::data::load_idx(&path));
    let err = result.expect_err("a bomb must not load").to_string();
    assert!(err.contains("after the end"), "{err}");
    // the honest content is 800 bytes; the bound allows buffers, never the 256 MiB
    assert!(
        peak < 4 << 20,
        "loading the bomb held {peak} bytes at its peak"
    );
}
