//! A seeded mutation fuzzer for the loaders of untrusted files: the safetensors checkpoint reader
//! with its JSON configuration, IDX files (raw and gzip'd, alone and as an MNIST pair), CSV files
//! and text files. Shared by the example `fuzz_loaders` (long runs) and the test
//! `fuzz_regressions` (a CI-sized run per target).
//!
//! - **Inputs.** A few valid seed files per target are built in code; each execution applies 1
//!   to 8 stacked mutations to one of them (bit flips, bytes set to 0/0xff/0x7f/0x80, random
//!   bytes, chunks inserted, deleted or duplicated, truncation, splicing with another seed,
//!   integers overwritten with huge values, decimal numbers in text replaced by huge ones,
//!   tokens of the format inserted). Checkpoints are also mutated inside their JSON header with
//!   the length prefix fixed up, gzip files are also built by compressing a mutated IDX file, so
//!   that the mutants get past the first check. Execution `i` of seed `s` depends on `(s, i)`
//!   only, so any finding replays with [`input`].
//! - **Oracle.** Each execution runs under `catch_unwind` (a panic is a finding), is timed by
//!   the CPU time of its thread, not the wall clock, so a loaded machine (the executions share
//!   2 cores with builds and benchmarks) gives no false hangs (over [`SLOW`] counts as a hang; a
//!   watchdog aborts the process after [`WATCHDOG`] of the execution's CPU time, or
//!   [`WATCHDOG_WALL`] of wall time for one that sleeps, naming the execution), and the [`CountingAlloc`] global allocator measures the peak of live bytes the
//!   execution allocated on its thread: above [`bound`] it is a finding, and a single request
//!   beyond [`HARD_CAP`] is refused (the process then aborts, after naming the execution).

#![allow(dead_code)] // the example and the test each use a part of it

use optim::checkpoint::{self, Checkpoint, Saveable};
use optim::data::{self, CharVocab, CsvOptions, LabelColumn};
use optim::rand::rngs::StdRng;
use optim::rand::{Rng, SeedableRng};
use optim::{Adam, Float, Linear, LinearConfig, Optimizer, Param, Parameters, Result};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// What is fuzzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `Checkpoint::read` (f32 and f64), `config`, `build_model`, `load_into`,
    /// `load_optimizer`, `load_model`, `load_training`.
    Checkpoint,
    /// Raw IDX: `parse_idx_any` and `to_f64` on each file, `load_idx`, `load_mnist` on the pair.
    Idx,
    /// The same with gzip'd files.
    IdxGz,
    /// `parse_csv`, `parse_csv_matrix` (several options), `load_csv`, `load_csv_matrix`,
    /// `load_optdigits`, `load_iris`, the three series loaders.
    Csv,
    /// `load_text`, `CharVocab::from_text`, `encode`, `decode`.
    Text,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 5] = [
        Target::Checkpoint,
        Target::Idx,
        Target::IdxGz,
        Target::Csv,
        Target::Text,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Checkpoint => "checkpoint",
            Target::Idx => "idx",
            Target::IdxGz => "idx-gz",
            Target::Csv => "csv",
            Target::Text => "text",
        }
    }

    /// The target of a command-line name.
    pub fn parse(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One input: the bytes of one file (two for the IDX pair: images, labels).
pub type Input = Vec<Vec<u8>>;

// ---------------------------------------------------------------------------------------------
// The allocation counter
// ---------------------------------------------------------------------------------------------

/// A single allocation request above this size during an execution is refused.
pub const HARD_CAP: usize = 1 << 30;
/// An execution that takes more CPU time than this counts as a hang.
pub const SLOW: Duration = Duration::from_secs(1);
/// An execution that has taken this much CPU time and is still running aborts the process.
pub const WATCHDOG: Duration = Duration::from_secs(20);
/// An execution still running after this much wall time aborts the process too (a hang that
/// waits instead of computing: the loaders read regular files, so none should).
pub const WATCHDOG_WALL: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------------------------
// The CPU clock of a thread
// ---------------------------------------------------------------------------------------------

/// The CPU-time clock of one thread, readable from any thread (the watchdog reads the fuzzing
/// thread's): POSIX `pthread_getcpuclockid` and `clock_gettime` on 64-bit Linux (symbols of the
/// C library `std` links anyway: no dependency); elsewhere the wall clock since the handle was
/// made, the harness's old behaviour.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    id: i32,
    #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
    since: Instant,
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)] // two calls into the C library; no Rust memory is shared with it
mod cpu_clock {
    /// `struct timespec` of 64-bit Linux.
    #[repr(C)]
    pub struct Timespec {
        pub tv_sec: i64,
        pub tv_nsec: i64,
    }

    unsafe extern "C" {
        fn pthread_self() -> usize;
        fn pthread_getcpuclockid(thread: usize, clock: *mut i32) -> i32;
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }

    /// The CPU clock of the calling thread.
    pub fn current() -> i32 {
        let mut id = 0i32;
        // SAFETY: `pthread_self` has no preconditions; `id` is a valid, writable `clockid_t`.
        let rc = unsafe { pthread_getcpuclockid(pthread_self(), &mut id) };
        assert_eq!(rc, 0, "pthread_getcpuclockid failed ({rc})");
        id
    }

    /// The time of clock `id`, in nanoseconds.
    pub fn nanos(id: i32) -> u64 {
        let mut t = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid, writable `struct timespec`; a bad `id` only returns an error.
        let rc = unsafe { clock_gettime(id, &mut t) };
        assert_eq!(rc, 0, "clock_gettime({id}) failed");
        t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
    }
}

impl CpuClock {
    /// The clock of the calling thread.
    pub fn current_thread() -> CpuClock {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        return CpuClock {
            id: cpu_clock::current(),
        };
        #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
        return CpuClock {
            since: Instant::now(),
        };
    }

    /// The CPU time the thread has used so far (from any thread).
    pub fn now(&self) -> Duration {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        return Duration::from_nanos(cpu_clock::nanos(self.id));
        #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
        return self.since.elapsed();
    }
}
/// Fixed allowance of the allocation bound (small models, paths, hash maps).
pub const BOUND_SLACK: usize = 1 << 20;
/// The allocation bound's factor on the size of the data the input honestly holds.
pub const BOUND_FACTOR: usize = 32;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}
static CURRENT: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting the live bytes and their peak per thread (an execution runs on
/// one thread; the loaders start none).
pub struct CountingAlloc;

fn track(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

/// The decimal digits of `v`, into `buf`; returns how many.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> usize {
    let mut k = buf.len();
    loop {
        k -= 1;
        buf[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.copy_within(k.., 0);
    buf.len() - k
}

/// Names the refused request and the execution on stderr, without allocating (this runs inside
/// the allocator).
fn refuse(size: usize) {
    let mut err = std::io::stderr();
    let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
    let (na, nb) = (
        decimal(size as u64, &mut a),
        decimal(CURRENT.load(Ordering::Relaxed), &mut b),
    );
    let _ = err.write_all(b"fuzz: allocation of ");
    let _ = err.write_all(&a[..na]);
    let _ = err.write_all(b" bytes refused (over the hard cap) in execution ");
    let _ = err.write_all(&b[..nb]);
    let _ = err.write_all(b"\n");
}

#[allow(unsafe_code)] // a global allocator cannot be written without `unsafe`
// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping touches only
// const-initialized thread-local cells (no allocation, no destructor).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_CAP && ARMED.try_with(Cell::get).unwrap_or(false) {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_CAP && ARMED.try_with(Cell::get).unwrap_or(false) {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > HARD_CAP && ARMED.try_with(Cell::get).unwrap_or(false) {
            refuse(new_size);
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded; `ptr` was allocated by `System` with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Runs `f`, returning its result and the peak of bytes it held live beyond what was live
/// before (on this thread). Only meaningful when [`CountingAlloc`] is the global allocator.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize)
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// A model with a configuration, as every chapter's model: one linear layer.
pub struct Probe<F: Float> {
    config: LinearConfig,
    layer: Linear<F>,
}

impl<F: Float> Parameters<F> for Probe<F> {
    fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut Param<F>)) {
        optim::visit_child("layer", &mut self.layer, v)
    }
}

impl<F: Float> Saveable<F> for Probe<F> {
    const KIND: &'static str = "probe";
    type Config = LinearConfig;
    fn config(&self) -> LinearConfig {
        self.config
    }
    fn parameter_count(c: &LinearConfig) -> Option<usize> {
        c.inputs
            .checked_mul(c.outputs)?
            .checked_add(if c.bias { c.outputs } else { 0 })
    }
    fn from_config(c: &LinearConfig) -> Result<Self> {
        Ok(Probe {
            config: *c,
            layer: c.init(&mut optim::rng(0)),
        })
    }
}

fn probe<F: Float>(config: LinearConfig, seed: u64) -> Probe<F> {
    Probe {
        config,
        layer: config.init(&mut optim::rng(seed)),
    }
}

fn saved(dir: &Path, name: &str, save: impl FnOnce(&Path) -> Result<()>) -> Vec<u8> {
    let path = dir.join(name);
    save(&path).expect("saving a seed checkpoint");
    let bytes = std::fs::read(&path).expect("reading a seed checkpoint");
    let _ = std::fs::remove_file(&path);
    bytes
}

fn idx_bytes(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// gzip'd bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

fn idx_pairs() -> Vec<Input> {
    let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 37 % 256) as u8).collect();
    let f32s: Vec<u8> = [0.5f32, -1.0, 2.25, 3.0, 1e-3, 7.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    vec![
        vec![
            idx_bytes(0x08, &[3, 4, 5], &pixels),
            idx_bytes(0x08, &[3], &[7, 0, 9]),
        ],
        vec![
            idx_bytes(0x08, &[1, 2, 2], &[0, 255, 128, 1]),
            idx_bytes(0x08, &[1], &[4]),
        ],
        vec![
            idx_bytes(0x0D, &[2, 3], &f32s),
            idx_bytes(0x0B, &[2, 1], &[0x80, 0x00, 0x7f, 0xff]),
        ],
    ]
}

/// The valid seed inputs of `target` (checkpoints are saved through `dir`).
pub fn seeds(target: Target, dir: &Path) -> Vec<Input> {
    match target {
        Target::Checkpoint => {
            let mut rng = optim::rng(7);
            let a = saved(dir, "a.safetensors", |p| {
                checkpoint::save_model(p, &mut probe::<f32>(LinearConfig::new(3, 2), 1), &[])
            });
            let b = saved(dir, "b.safetensors", |p| {
                let mut m = probe::<f32>(LinearConfig::new(3, 2), 2);
                let mut opt = Adam::new(1e-2)?;
                let x = optim::Mat::<f32>::from_fn(3, 4, |i, j| (i + j) as f32 * 0.25);
                let y = m.layer.forward(&x)?;
                optim::zero_grad(&mut m);
                m.layer.backward(&y)?;
                opt.step(&mut m)?;
                checkpoint::save_model_training(p, &mut m, &opt, &[("epoch", "1".into())])
            });
            let c = saved(dir, "c.safetensors", |p| {
                let config = LinearConfig::new(2, 1).with_bias(false);
                checkpoint::save_model(p, &mut probe::<f64>(config, 3), &[("note", "é".into())])
            });
            let d = saved(dir, "d.safetensors", |p| {
                let mut l = Linear::<f32>::new(3, 2, &mut rng);
                checkpoint::save(p, &mut l, &[("epoch", "3".into())])
            });
            vec![vec![a], vec![b], vec![c], vec![d]]
        }
        Target::Idx => idx_pairs(),
        Target::IdxGz => idx_pairs()
            .into_iter()
            .map(|pair| pair.iter().map(|f| gzip(f)).collect())
            .collect(),
        Target::Csv => [
            "sepal_length,sepal_width,petal_length,petal_width,species_id,species\n\
             5.1,3.5,1.4,0.2,0,setosa\n7.0,3.2,4.7,1.4,1,versicolor\n6.3,3.3,6.0,2.5,2,virginica\n",
            "0,1,6,15,12,1,0,0,0,7,16,6,6,10,0,0,0,8,16,2,0,11,2,0,0,5,16,3,0,5,7,0,0,7,13,3,0,8,\
             7,0,0,4,12,0,1,13,5,0,0,0,14,9,15,9,0,0,0,0,6,14,7,1,0,0,0\n\
             0,0,10,16,6,0,0,0,0,7,16,8,16,5,0,0,0,11,16,0,6,14,3,0,0,12,12,0,0,11,11,0,0,12,12,\
             0,0,8,12,0,0,7,15,1,0,13,11,0,0,0,16,8,10,15,3,0,0,0,10,16,15,3,0,0,0\r\n",
            "\"YEAR\",\"SUNACTIVITY\"\n1700,5\n1701,11\n1702,16.0\n",
            "year,month,sunspots\n1749,1,96.7\n1749,2,104.3\n1749,3,116.7\n",
            "Date,Passengers\n1949-01,112\n1949-02,118\n1949-03,132\n",
            "x;y;label\n1e-3;-2.5;1\n\n  4 ; 5 ; 0\n",
        ]
        .iter()
        .map(|s| vec![s.as_bytes().to_vec()])
        .collect(),
        Target::Text => [
            "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n",
            "h\u{e9}llo w\u{f6}rld \u{2603} \u{65e5}\u{672c} \u{1f600}\r\n\ttab\u{feff}\n",
        ]
        .iter()
        .map(|s| vec![s.as_bytes().to_vec()])
        .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

const BYTES: [u8; 8] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x7e, 0x81];
const INTEGERS: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    i64::MAX as u64,
    u64::MAX,
];
const NUMBERS: [&str; 16] = [
    "0",
    "-1",
    "1",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "1099511627776",
    "9223372036854775807",
    "99999999999999999999999999",
    "1e308",
    "1e400",
    "-0",
    "nan",
    "inf",
    "0.5",
];

fn tokens(target: Target) -> &'static [&'static [u8]] {
    match target {
        Target::Checkpoint => &[
            b"\"F32\"",
            b"\"F64\"",
            b"\"I64\"",
            b"\"BF16\"",
            b"\"F16\"",
            b"\"U8\"",
            b"\"BOOL\"",
            b"\"dtype\"",
            b"\"shape\"",
            b"\"data_offsets\"",
            b"\"__metadata__\"",
            b"\"kind\"",
            b"\"config\"",
            b"\"probe\"",
            b"\\\"inputs\\\":",
            b"\\\"outputs\\\":",
            b"\\\"bias\\\":false",
            b"\"layer.weight\"",
            b"\"layer.bias\"",
            b"\"optimizer.step\"",
            b"\"optimizer.learning_rate\"",
            b"[]",
            b"[0]",
            b"[0,1099511627776,1099511627776]",
            b"[4294967296,4294967296]",
            b"null",
            b"{}",
            b",",
            b":",
            b"\"",
            b"\\u0000",
            b"NaN",
        ],
        Target::Idx | Target::IdxGz => &[
            b"\x00\x00\x08\x03",
            b"\x00\x00\x08\x01",
            b"\x00\x00\x0e\x10",
            b"\x00\x00\x0d\x02",
            b"\x00\x00\x08\x00",
            b"\x00\x00\x08\x11",
            b"\xff\xff\xff\xff",
            b"\x00\x00\x00\x00",
            b"\x1f\x8b\x08\x00",
        ],
        Target::Csv => &[
            b",",
            b";",
            b"\n",
            b"\r\n",
            b"\r",
            b"\"",
            b"\"\"",
            b" ",
            b"nan",
            b"inf",
            b"-inf",
            b"1e400",
            b"-0",
            b"16",
            b"17",
            b"9",
            b"10",
            b"1749-01",
            b"-13",
            b"1.5",
            b"\xef\xbb\xbf",
            b"YEAR",
            b"\xff",
        ],
        Target::Text => &[
            b"\xef\xbb\xbf",
            b"\xc3\xa9",
            b"\xe2\x98\x83",
            b"\xf0\x9f\x98\x80",
            b"\xc3",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xc0\x80",
            b"\x00",
            b"\n",
            b"\r\n",
            b"ROMEO:",
        ],
    }
}

fn range(rng: &mut StdRng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.random_range(0..len);
    let max = (len - start).min(if rng.random_bool(0.8) { 16 } else { 1024 });
    (start, start + rng.random_range(1..=max))
}

/// One mutation of `b` (`other` is a second seed, for splicing).
fn mutate_once(target: Target, b: &mut Vec<u8>, other: &[u8], rng: &mut StdRng) {
    let len = b.len();
    match rng.random_range(0..12) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] = BYTES[rng.random_range(0..BYTES.len())];
        }
        2 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] = rng.random();
        }
        3 => {
            let at = rng.random_range(0..=len);
            let n = rng.random_range(1..=16);
            let chunk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            b.splice(at..at, chunk);
        }
        4 if len > 0 => {
            let (s, e) = range(rng, len);
            b.drain(s..e);
        }
        5 if len > 0 => {
            let (s, e) = range(rng, len);
            let chunk = b[s..e].to_vec();
            let at = rng.random_range(0..=len);
            let times = if rng.random_bool(0.9) { 1 } else { 64 };
            for _ in 0..times {
                b.splice(at..at, chunk.iter().copied());
            }
        }
        6 => b.truncate(rng.random_range(0..=len)),
        7 if !other.is_empty() => {
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            b.truncate(cut);
            b.extend_from_slice(&other[from..]);
        }
        8 if len > 0 => {
            let v = INTEGERS[rng.random_range(0..INTEGERS.len())];
            let v = if rng.random_bool(0.2) {
                v.wrapping_sub(1)
            } else {
                v
            };
            let width = [1, 2, 4, 8][rng.random_range(0..4)];
            let bytes = if rng.random_bool(0.5) {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            let bytes = if bytes[0] == 0 && width < 8 && rng.random_bool(0.5) {
                &bytes[8 - width..]
            } else {
                &bytes[..width]
            };
            // header positions are the interesting ones
            let at = if rng.random_bool(0.5) {
                rng.random_range(0..len.min(24))
            } else {
                rng.random_range(0..len)
            };
            for (k, &x) in bytes.iter().enumerate() {
                if let Some(slot) = b.get_mut(at + k) {
                    *slot = x;
                }
            }
        }
        9 => {
            // a decimal number in the text replaced by a huge, negative or non-finite one
            let digits: Vec<usize> = (0..len).filter(|&i| b[i].is_ascii_digit()).collect();
            if let Some(&i) = digits.get(rng.random_range(0..digits.len().max(1))) {
                let mut e = i;
                while e < len && (b[e].is_ascii_digit() || b[e] == b'.') {
                    e += 1;
                }
                let mut s = i;
                while s > 0 && b[s - 1].is_ascii_digit() {
                    s -= 1;
                }
                let n = NUMBERS[rng.random_range(0..NUMBERS.len())];
                b.splice(s..e, n.bytes());
            }
        }
        _ => {
            let t = tokens(target);
            let tok = t[rng.random_range(0..t.len())];
            let at = rng.random_range(0..=len);
            if rng.random_bool(0.5) {
                b.splice(at..at, tok.iter().copied());
            } else {
                let end = (at + tok.len()).min(len);
                b.splice(at..end, tok.iter().copied());
            }
        }
    }
}

fn stacked(target: Target, b: &mut Vec<u8>, other: &[u8], rng: &mut StdRng) {
    let n = 1 << rng.random_range(0..4); // 1, 2, 4 or 8 mutations
    for _ in 0..rng.random_range(1..=n) {
        mutate_once(target, b, other, rng);
    }
}

/// Mutates a safetensors file inside its JSON header and fixes the 8-byte length prefix, or
/// mutates its data section only.
fn mutate_checkpoint(b: &mut Vec<u8>, other: &[u8], rng: &mut StdRng) {
    let n = b
        .get(..8)
        .map(|h| u64::from_le_bytes(h.try_into().unwrap_or([0; 8])) as usize);
    match n {
        Some(n) if n <= b.len() - 8 => {
            let mut header = b[8..8 + n].to_vec();
            let mut data = b[8 + n..].to_vec();
            if rng.random_bool(0.8) {
                stacked(Target::Checkpoint, &mut header, other, rng);
            } else {
                stacked(Target::Checkpoint, &mut data, &[], rng);
            }
            b.clear();
            b.extend_from_slice(&(header.len() as u64).to_le_bytes());
            b.extend_from_slice(&header);
            b.extend_from_slice(&data);
        }
        _ => stacked(Target::Checkpoint, b, other, rng),
    }
}

/// The bytes of a gzip'd file, decompressed (at most `limit` of them), if it is gzip.
fn gunzip(b: &[u8], limit: u64) -> Option<Vec<u8>> {
    if !b.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut out = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(b)
        .take(limit)
        .read_to_end(&mut out);
    Some(out)
}

fn seed_of(seed: u64, iteration: u64) -> u64 {
    // splitmix64 of the pair
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(iteration)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Input `iteration` of a run with `seed` from `seeds`.
pub fn input(target: Target, seeds: &[Input], seed: u64, iteration: u64) -> Input {
    let mut rng = StdRng::seed_from_u64(seed_of(seed, iteration));
    let mut inp = seeds[rng.random_range(0..seeds.len())].clone();
    let donor = &seeds[rng.random_range(0..seeds.len())];
    // which files of the input to mutate (the IDX pair: one or both)
    let files = inp.len();
    let which: Vec<usize> = if files > 1 && rng.random_bool(0.3) {
        (0..files).collect()
    } else {
        vec![rng.random_range(0..files)]
    };
    for k in which {
        let other = &donor[k.min(donor.len() - 1)];
        let b = &mut inp[k];
        match target {
            Target::Checkpoint => mutate_checkpoint(b, other, &mut rng),
            Target::IdxGz if rng.random_bool(0.6) => {
                // mutate the IDX file, then compress it (a well-formed gzip file that lies)
                let mut raw = gunzip(b, 1 << 20).unwrap_or_default();
                let other = gunzip(other, 1 << 20).unwrap_or_default();
                stacked(Target::Idx, &mut raw, &other, &mut rng);
                *b = gzip(&raw);
                if rng.random_bool(0.1) {
                    let again = b.clone();
                    b.extend_from_slice(&again); // two gzip members
                }
            }
            _ => stacked(target, b, other, &mut rng),
        }
    }
    inp
}

// ---------------------------------------------------------------------------------------------
// Executions
// ---------------------------------------------------------------------------------------------

/// The allocation bound of an execution on `input`: [`BOUND_SLACK`] plus [`BOUND_FACTOR`] times
/// the data the input holds (for gzip'd files, the larger of the compressed and the decompressed
/// size, the latter counted up to 1100 times the compressed size, deflate's maximal ratio).
pub fn bound(input: &Input) -> usize {
    let size: usize = input
        .iter()
        .map(|f| match gunzip(f, (f.len() as u64).saturating_mul(1100)) {
            Some(raw) => raw.len().max(f.len()),
            None => f.len(),
        })
        .sum();
    BOUND_SLACK + BOUND_FACTOR * size
}

/// Runs every loader of `target` on `input` (files are written into `dir`); returns whether the
/// main loader accepted it.
pub fn execute(target: Target, input: &Input, dir: &Path) -> bool {
    match target {
        Target::Checkpoint => run_checkpoint(&input[0], dir),
        Target::Idx | Target::IdxGz => run_idx(input, dir),
        Target::Csv => run_csv(&input[0], dir),
        Target::Text => run_text(&input[0], dir),
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("writing a fuzz input to the temporary folder");
}

fn run_checkpoint(bytes: &[u8], dir: &Path) -> bool {
    let path = dir.join("input.safetensors");
    write(&path, bytes);
    let mut accepted = false;
    if let Ok(ck) = Checkpoint::<f32>::read(&path) {
        accepted = true;
        let _ = ck.names();
        let _ = ck.model_values();
        let _ = ck.config::<LinearConfig>("probe");
        if let Ok(mut m) = ck.build_model::<Probe<f32>>() {
            let _ = ck.load_into(&mut m);
        }
        let mut lin = Linear::<f32>::new(3, 2, &mut optim::rng(0));
        let _ = ck.load_into(&mut lin);
        let mut m = probe::<f32>(LinearConfig::new(3, 2), 0);
        if let Ok(mut adam) = Adam::new(1e-3) {
            let _ = ck.load_optimizer(&mut m, &mut adam);
        }
    }
    let _ = checkpoint::load_model_with_metadata::<f64, Probe<f64>>(&path);
    let mut m = probe::<f64>(LinearConfig::new(3, 2), 0);
    if let Ok(mut adam) = Adam::new(1e-3) {
        let _ = checkpoint::load_training(&path, &mut m, &mut adam);
    }
    accepted
}

/// Accepted: both files parse (the pair need not be MNIST's).
fn run_idx(input: &Input, dir: &Path) -> bool {
    let mut accepted = true;
    for f in input {
        match data::parse_idx_any(f, "fuzz.idx") {
            Ok(a) => {
                let v = a.to_f64();
                let _ = (a.get(v.len()), a.len(), a.is_empty());
            }
            Err(_) => accepted = false,
        }
    }
    let (ip, lp) = (dir.join("images.idx"), dir.join("labels.idx"));
    write(&ip, &input[0]);
    write(&lp, &input[1]);
    let _ = data::load_idx(&ip);
    let _ = data::load_mnist::<f32>(&ip, &lp);
    accepted
}

fn csv_options() -> [CsvOptions; 4] {
    [
        CsvOptions::default(),
        CsvOptions {
            header: Some(true),
            label_column: LabelColumn::Index(4),
            classes: Some(3),
            ignore_columns: vec![5],
            ..CsvOptions::default()
        },
        CsvOptions {
            delimiter: ';',
            label_column: LabelColumn::Index(2),
            classes: Some(2),
            value_range: Some((-10.0, 10.0)),
            ..CsvOptions::default()
        },
        CsvOptions {
            ignore_columns: vec![0, 1],
            label_column: LabelColumn::Index(usize::MAX),
            ..CsvOptions::default()
        },
    ]
}

fn run_csv(bytes: &[u8], dir: &Path) -> bool {
    let mut accepted = false;
    if let Ok(text) = std::str::from_utf8(bytes) {
        for o in &csv_options() {
            accepted |= data::parse_csv::<f32>(text, "fuzz.csv", o).is_ok();
            accepted |= data::parse_csv_matrix::<f64>(text, "fuzz.csv", o).is_ok();
        }
    }
    let path = dir.join("input.csv");
    write(&path, bytes);
    let o = CsvOptions::default();
    accepted |= data::load_csv::<f64>(&path, &o).is_ok();
    accepted |= data::load_csv_matrix::<f32>(&path, &o).is_ok();
    accepted |= data::load_optdigits::<f32>(&path).is_ok();
    accepted |= data::load_iris::<f32>(&path).is_ok();
    accepted |= data::load_sunspots_yearly::<f32>(&path).is_ok();
    accepted |= data::load_sunspots_monthly::<f64>(&path).is_ok();
    accepted |= data::load_airline_passengers::<f32>(&path).is_ok();
    accepted
}

fn run_text(bytes: &[u8], dir: &Path) -> bool {
    let path = dir.join("input.txt");
    write(&path, bytes);
    match data::load_text(&path) {
        Ok(text) => {
            let vocab = CharVocab::from_text(&text);
            if let Ok(ids) = vocab.encode(&text) {
                let back = vocab.decode(&ids);
                let _ = back.len();
            }
            let _ = vocab.encode("ROMEO:\u{1f600}");
            let _ = vocab.decode(&[0, usize::MAX, vocab.len()]);
            true
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/// Something an execution did wrong.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The execution's number (replay with [`input`] and the run's seed).
    pub iteration: u64,
    /// `panic`, `slow` or `allocation`.
    pub kind: &'static str,
    /// The panic message, the time, or the bytes allocated and the bound.
    pub message: String,
    /// The input.
    pub input: Input,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Executions run.
    pub executions: u64,
    /// Executions whose input the main loader accepted.
    pub accepted: u64,
    /// Executions that panicked.
    pub panics: u64,
    /// Executions slower than [`SLOW`].
    pub hangs: u64,
    /// Executions whose allocation peak exceeded [`bound`].
    pub over_bound: u64,
    /// The slowest execution and its number.
    pub slowest: (Duration, u64),
    /// The largest allocation peak of an execution (bytes) and its number.
    pub peak: (usize, u64),
    /// The largest ratio of peak to [`bound`].
    pub peak_to_bound: f64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The first findings (at most 20), with their inputs.
    pub findings: Vec<Finding>,
}

impl Report {
    /// One line of figures.
    pub fn summary(&self, target: Target, seed: u64) -> String {
        format!(
            "target={} seed={seed} executions={} accepted={} panics={} hangs(>{}s CPU)={} \
             over_bound={} slowest={:.3}ms CPU (#{}) peak_alloc={} B (#{}) peak/bound={:.4} \
             elapsed={:.1}s rate={:.0}/s",
            target.name(),
            self.executions,
            self.accepted,
            self.panics,
            SLOW.as_secs(),
            self.hangs,
            self.over_bound,
            self.slowest.0.as_secs_f64() * 1e3,
            self.slowest.1,
            self.peak.0,
            self.peak.1,
            self.peak_to_bound,
            self.elapsed.as_secs_f64(),
            self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9),
        )
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(Cell::get) {
                let msg = info.to_string();
                PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(msg));
            } else {
                previous(info);
            }
        }));
    });
}

/// What one execution under the oracle did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `Ok(accepted)`, or `Err((kind, message))` for a finding (`panic`, `slow`, `allocation`).
    pub result: std::result::Result<bool, (&'static str, String)>,
    /// Its CPU time.
    pub took: Duration,
    /// The peak of bytes it held live.
    pub peak: usize,
    /// Its allocation bound.
    pub limit: usize,
}

/// Runs `f` under the oracle: a panic, a CPU time over [`SLOW`] or an allocation peak over
/// `limit` is a finding.
pub fn check_with(limit: usize, f: impl FnOnce() -> bool) -> Outcome {
    install_panic_hook();
    FUZZING.with(|on| on.set(true));
    let clock = CpuClock::current_thread();
    let start = clock.now();
    let (result, peak) = measure(|| std::panic::catch_unwind(AssertUnwindSafe(f)));
    let took = clock.now().saturating_sub(start);
    FUZZING.with(|on| on.set(false));
    let result = match result {
        Err(_) => Err((
            "panic",
            PANIC_MESSAGE
                .with(|m| m.borrow_mut().take())
                .unwrap_or_else(|| "panic without a message".into()),
        )),
        Ok(_) if took > SLOW => Err(("slow", format!("{took:?}"))),
        Ok(_) if peak > limit => Err((
            "allocation",
            format!("peak {peak} bytes live, over the bound of {limit}"),
        )),
        Ok(accepted) => Ok(accepted),
    };
    Outcome {
        result,
        took,
        peak,
        limit,
    }
}

/// One execution of `target` on `input` under the oracle, with the bound of [`bound`].
pub fn check_one(target: Target, input: &Input, dir: &Path) -> Outcome {
    check_with(bound(input), || execute(target, input, dir))
}

/// A fresh temporary folder for a run, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `optim-fuzz-{what}-{pid}-{n}` under the system's temporary folder.
    pub fn new(what: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "optim-fuzz-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("creating the temporary folder");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `iterations` executions of `target` from `seed`, calling `progress` every 10⁵.
pub fn run(target: Target, seed: u64, iterations: u64, progress: impl FnMut(&Report)) -> Report {
    run_from(target, seed, 0, iterations, progress)
}

/// [`run`] from execution `first` on (executions `first .. first + iterations`): a finding of a
/// long run replays alone under the same oracle.
pub fn run_from(
    target: Target,
    seed: u64,
    first: u64,
    iterations: u64,
    mut progress: impl FnMut(&Report),
) -> Report {
    let dir = TempDir::new(target.name());
    let seeds = seeds(target, &dir.0);
    let mut report = Report::default();
    let started = Instant::now();
    // The watchdog: an execution that never ends is a hang that catch_unwind cannot see. It
    // reads this thread's CPU clock (a loaded machine slows the wall clock's executions, not
    // their CPU time) and, for a hang that waits, the wall clock with a far larger limit.
    let cpu = CpuClock::current_thread();
    // (the execution's start: this thread's CPU time and the wall time, in ms; MAX between)
    let exec_started = Arc::new([AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)]);
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (exec_started, done) = (exec_started.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let (c, w) = (
                    exec_started[0].load(Ordering::Relaxed),
                    exec_started[1].load(Ordering::Relaxed),
                );
                let over = |start: u64, now: Duration, limit: Duration| {
                    start != u64::MAX && now.as_millis() as u64 > start + limit.as_millis() as u64
                };
                let cpu_over = over(c, cpu.now(), WATCHDOG);
                if cpu_over || over(w, started.elapsed(), WATCHDOG_WALL) {
                    eprintln!(
                        "fuzz: execution {} of {} (seed {seed}) has run for more than {:?} of \
                         {}: a hang; aborting",
                        CURRENT.load(Ordering::Relaxed),
                        target.name(),
                        if cpu_over { WATCHDOG } else { WATCHDOG_WALL },
                        if cpu_over { "CPU time" } else { "wall time" },
                    );
                    std::process::abort();
                }
            }
        })
    };
    for i in first..first.saturating_add(iterations) {
        let inp = input(target, &seeds, seed, i);
        CURRENT.store(i, Ordering::Relaxed);
        exec_started[0].store(cpu.now().as_millis() as u64, Ordering::Relaxed);
        exec_started[1].store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let Outcome {
            result,
            took,
            peak,
            limit,
        } = check_one(target, &inp, &dir.0);
        exec_started[0].store(u64::MAX, Ordering::Relaxed);
        exec_started[1].store(u64::MAX, Ordering::Relaxed);
        report.executions += 1;
        if took > report.slowest.0 {
            report.slowest = (took, i);
        }
        if peak > report.peak.0 {
            report.peak = (peak, i);
        }
        report.peak_to_bound = report.peak_to_bound.max(peak as f64 / limit as f64);
        match result {
            Ok(accepted) => report.accepted += u64::from(accepted),
            Err((kind, message)) => {
                match kind {
                    "panic" => report.panics += 1,
                    "slow" => report.hangs += 1,
                    _ => report.over_bound += 1,
                }
                if report.findings.len() < 20 {
                    report.findings.push(Finding {
                        iteration: i,
                        kind,
                        message,
                        input: inp,
                    });
                }
            }
        }
        if report.executions.is_multiple_of(100_000) {
            report.elapsed = started.elapsed();
            progress(&report);
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    report.elapsed = started.elapsed();
    report
}
