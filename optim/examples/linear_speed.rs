//! `Linear` 784 → 256 at batch 128, forward + backward, `f32`, one thread, timed exactly as
//! `benches/linear_torch.py` times PyTorch (rounds of 20 steps for a few seconds; median and best
//! round), so the two numbers compare directly on a machine that is not quiet. The criterion bench
//! `benches/linear.rs` measures the same step with statistics.
//!
//! ```text
//! cargo run --release -p inductive-optim --example linear_speed [seconds]
//! python optim/benches/linear_torch.py [seconds]
//! ```

use optim::{Linear, Mat, zero_grad};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCH: usize = 128;
const INPUTS: usize = 784;
const OUTPUTS: usize = 256;

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    optim::linalg::set_threads(1);
    let flops = (3 * 2 * BATCH * INPUTS * OUTPUTS) as f64;
    let x = Mat::<f32>::from_fn(INPUTS, BATCH, |i, j| ((i * 5 + j) % 13) as f32 * 0.1 - 0.6);
    let dy = Mat::<f32>::from_fn(OUTPUTS, BATCH, |i, j| {
        ((i + 3 * j) % 7) as f32 * 0.01 - 0.03
    });
    let mut layer = Linear::<f32>::new(INPUTS, OUTPUTS, &mut optim::rng(0));
    let mut step = || {
        zero_grad(&mut layer);
        let y = layer.forward(black_box(&x)).unwrap();
        let dx = layer.backward(black_box(&dy)).unwrap();
        black_box((y, dx));
    };
    for _ in 0..50 {
        step();
    }
    let mut rounds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let t = Instant::now();
        for _ in 0..20 {
            step();
        }
        rounds.push(t.elapsed().as_secs_f64() / 20.0);
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    println!(
        "optim, 1 thread: Linear {INPUTS}->{OUTPUTS} batch {BATCH} forward+backward: median {:.3} ms \
         = {:.1} GFLOP/s (best {:.1} GFLOP/s over {} rounds of 20)",
        median * 1e3,
        flops / median / 1e9,
        flops / rounds[0] / 1e9,
        rounds.len()
    );
}
