//! Training throughput of a 784-256-128-10 ReLU network, batch 128, Adam, f32, on random data
//! (the peer comparison of the issue; `benches/throughput_torch.py` runs the same in PyTorch).
//!
//! ```text
//! cargo run --release -p inductive-mlp --example mlp_throughput -- --threads 1
//! cargo run --release -p inductive-mlp --example mlp_throughput -- --threads 2
//! python mlp/benches/throughput_torch.py --threads 1
//! ```
//!
//! A pool of 8192 random examples (uniform [0, 1) pixels, random labels of 10 classes) is
//! trained in shuffled mini-batches of 128 with `Trainable::fit` — batch gathering, forward, loss,
//! backward and the Adam step all counted. One warm-up epoch, then `--epochs` timed epochs
//! (default 8, i.e. 512 steps); prints examples/s of the timed part. `--shards K` cuts every
//! batch into K data-parallel parts (`TrainConfig::shards`), one thread each.

use mlp::Config;
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Mat};
use rand::Rng;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = 1usize;
    let mut epochs = 8usize;
    let mut shards = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs a value")?.parse()?,
            "--epochs" => epochs = args.next().ok_or("--epochs needs a value")?.parse()?,
            "--shards" => shards = args.next().ok_or("--shards needs a value")?.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    optim::linalg::set_threads(threads);
    let (n, batch) = (8192usize, 128usize);
    let mut rng = optim::rng(0);
    let x = Mat::<f32>::from_fn(784, n, |_, _| rng.random::<f32>());
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let data = Dataset::classification(x, labels)?;
    let mut model = Config::classifier(784, &[256, 128], 10).init::<f32>(&mut rng)?;
    let mut adam = Adam::new(1e-3)?;
    let warmup = TrainConfig::new(1, batch).shards(shards);
    model.fit(&data, None, &mut adam, &warmup, &mut |_| {})?;
    let timed = TrainConfig::new(epochs, batch).seed(1).shards(shards);
    let started = Instant::now();
    let history = model.fit(&data, None, &mut adam, &timed, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let examples = (history.steps * batch) as f64;
    println!(
        "mlp (Rust) 784-256-128-10 relu, batch {batch}, Adam, f32, threads {threads}, shards {shards}: \
         {:.0} examples/s ({} steps in {seconds:.2} s, {:.3} ms/step; final loss {:.4})",
        examples / seconds,
        history.steps,
        1e3 * seconds / history.steps as f64,
        history.epochs.last().map_or(f64::NAN, |e| e.train_loss)
    );
    Ok(())
}
