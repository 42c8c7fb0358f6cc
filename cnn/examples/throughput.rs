//! Training throughput of LeNet-5 on random 28x28 images: batch 64, SGD with momentum 0.9, f32.
//!
//! ```text
//! cargo run --release -p inductive-cnn --example cnn_throughput -- --threads 1 [--steps 200] [--batch 64]
//! ```
//!
//! Prints examples per second over the timed steps (after 10 warm-up steps). The same
//! measurement in PyTorch is `cnn/benches/throughput_torch.py`.

use cnn::Cnn;
use optim::{Mat, Sgd};
use rand::Rng;
use std::time::Instant;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v}"))
        })
        .unwrap_or(default)
}

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let threads = arg(&args, "--threads", 1);
    let steps = arg(&args, "--steps", 200);
    let batch = arg(&args, "--batch", 64);
    optim::linalg::set_threads(threads);
    let mut rng = optim::rng(0);
    let mut net = Cnn::<f32>::lenet5(&mut rng);
    let mut sgd = Sgd::new(0.01)?.momentum(0.9)?;
    // A few distinct random batches, cycled, so the timing includes no data generation.
    let batches: Vec<(Mat<f32>, Vec<usize>)> = (0..8)
        .map(|_| {
            let x = Mat::from_fn(784, batch, |_, _| rng.random::<f32>());
            let y = (0..batch).map(|_| rng.random_range(0..10)).collect();
            (x, y)
        })
        .collect();
    for (x, y) in batches.iter().cycle().take(10) {
        net.train_step(x, y, &mut sgd)?;
    }
    let start = Instant::now();
    let mut last = 0.0;
    for (x, y) in batches.iter().cycle().take(steps) {
        last = net.train_step(x, y, &mut sgd)?.0;
    }
    let seconds = start.elapsed().as_secs_f64();
    let per_second = (steps * batch) as f64 / seconds;
    println!(
        "cnn LeNet-5 train: threads {threads}, batch {batch}, {steps} steps in {seconds:.3} s: \
         {per_second:.0} examples/s ({:.3} ms/step, last loss {last:.4})",
        1e3 * seconds / steps as f64
    );
    Ok(())
}
