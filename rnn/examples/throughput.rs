//! Training throughput of a 1-layer LSTM (input 32, hidden 128, length 50, batch 32, last-step
//! linear head, MSE, Adam, f32), in sequences per second; `benches/throughput_torch.py` runs the
//! same model with PyTorch's `nn.LSTM`.
//!
//! With `--threads N > 1` each batch is split into `N` shards trained in parallel
//! ([`rnn::DataParallel`]); the step is the same (the gradients agree up to rounding).
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_throughput -- [--threads N] [--seconds S]
//! ```

use optim::Mat;
use rand::Rng;
use rnn::{
    CellKind, DataParallel, Input, ModelConfig, Readout, Seq, SeqModel, StepOptions, Target,
};
use std::time::Instant;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

/// This process's CPU time (user + system) in seconds, from `/proc/self/stat` (Linux); on a busy
/// machine sequences per CPU-second are steadier than per wall-second.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn main() -> optim::Result<()> {
    let threads = arg("--threads", 1.0) as usize;
    let seconds = arg("--seconds", 10.0);
    optim::linalg::set_threads(threads);
    let (input, hidden, steps, batch) = (32, 128, 50, 32);
    let mut rng = optim::rng(0);
    let mut model = SeqModel::<f32>::new(
        ModelConfig::dense(CellKind::Lstm, input, hidden, 1, Readout::Last),
        &mut rng,
    )?;
    let mut opt = optim::Adam::new(1e-3)?;
    let data: Vec<(Seq<f32>, Mat<f32>)> = (0..8)
        .map(|_| {
            let x = Mat::from_fn(input, steps * batch, |_, _| rng.random_range(-1.0..1.0));
            let y = Mat::from_fn(1, batch, |_, _| rng.random_range(-1.0..1.0));
            (Seq::new(x, steps, batch).unwrap(), y)
        })
        .collect();
    let options = StepOptions::default();
    // shards of each batch for the data-parallel step: sequences lo..hi of every time step
    let bounds: Vec<(usize, usize)> = (0..threads)
        .map(|k| (k * batch / threads, (k + 1) * batch / threads))
        .collect();
    let sharded: Vec<Vec<(Seq<f32>, Mat<f32>)>> = data
        .iter()
        .map(|(x, y)| {
            bounds
                .iter()
                .map(|&(lo, hi)| {
                    let xs = Mat::from_fn(input, steps * (hi - lo), |i, c| {
                        let (t, b) = (c / (hi - lo), c % (hi - lo));
                        x.data()[(i, t * batch + lo + b)]
                    });
                    let ys = y.columns(lo, hi - lo).into_owned();
                    (Seq::new(xs, steps, hi - lo).unwrap(), ys)
                })
                .collect()
        })
        .collect();
    let mut parallel = DataParallel::new(&model, threads)?;
    let mut step = |model: &mut SeqModel<f32>, opt: &mut optim::Adam<f32>, i: usize| {
        if threads > 1 {
            let shards: Vec<_> = sharded[i % data.len()]
                .iter()
                .map(|(x, y)| (Input::Dense(x), Target::Regression(y)))
                .collect();
            parallel.train_step(model, &shards, opt, &options)
        } else {
            let (x, y) = &data[i % data.len()];
            model.train_step(Input::Dense(x), Target::Regression(y), opt, &options)
        }
    };
    // warm-up
    for i in 0..3 {
        step(&mut model, &mut opt, i)?;
    }
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut iters = 0usize;
    let mut loss = 0.0;
    while start.elapsed().as_secs_f64() < seconds {
        loss = step(&mut model, &mut opt, iters)?;
        iters += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    println!(
        "rnn LSTM (I={input}, H={hidden}, T={steps}, B={batch}, f32, Adam) threads={threads}: \
         {:.1} sequences/s ({iters} steps in {elapsed:.2} s, {:.2} ms/step, last loss {loss:.4})",
        (iters * batch) as f64 / elapsed,
        1e3 * elapsed / iters as f64
    );
    if let Some(cpu) = cpu {
        println!(
            "  per CPU-second: {:.1} sequences ({cpu:.2} CPU-s)",
            (iters * batch) as f64 / cpu
        );
    }
    Ok(())
}
