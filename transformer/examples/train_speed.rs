//! Training steps of issue 16's speed configuration (vocabulary 65, width 128, 4 heads, 2
//! pre-LN layers, feed-forward 512 with GELU, learned positions, context 64, batch 32, AdamW,
//! f32), for whole-process timings beside `benches/train_step_torch.py` (the same model in
//! PyTorch); also the time per step over the context, and KV-cache generation.
//!
//! ```sh
//! cargo run --release -p inductive-transformer --example train_speed -- --threads 1 --steps 50
//! cargo run --release -p inductive-transformer --example train_speed -- --contexts 32,64,128,256,512
//! cargo run --release -p inductive-transformer --example train_speed -- --generate 256
//! ```
//!
//! Prints tokens per second of the timed steps (after 3 warm-up steps).

use optim::{Adam, Optimizer, zero_grad};
use std::time::Instant;
use transformer::{Gpt, GptConfig, Sampling, SeqShape};

fn value<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

/// Seconds per training step at `context` and `batch`, over `steps` timed steps.
fn seconds_per_step(context: usize, batch: usize, steps: usize) -> optim::Result<f64> {
    let config = GptConfig::new(65, context)
        .with_width(128)
        .with_heads(4)
        .with_layers(2);
    let mut model = Gpt::<f32>::new(&config, &mut optim::rng(0))?;
    let ids: Vec<usize> = (0..context * batch + 1)
        .map(|i| (i * 31 + i / 7) % 65)
        .collect();
    let (input, targets) = (&ids[..context * batch], &ids[1..]);
    let shape = SeqShape::new(context, batch);
    let mut adamw = Adam::adamw(1e-3, 0.1)?;
    let mut step = || -> optim::Result<()> {
        zero_grad(&mut model);
        model.loss_and_backward(input, targets, shape, None)?;
        adamw.step(&mut model)
    };
    for _ in 0..3 {
        step()?;
    }
    let started = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    Ok(started.elapsed().as_secs_f64() / steps as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = value(&args, "--threads", 1)?;
    let steps: usize = value(&args, "--steps", 50)?;
    let generate: usize = value(&args, "--generate", 0)?;
    let contexts: String = value(&args, "--contexts", String::new())?;
    optim::linalg::set_threads(threads);
    if generate > 0 {
        let config = GptConfig::new(65, generate)
            .with_width(128)
            .with_heads(4)
            .with_layers(2);
        let model = Gpt::<f32>::new(&config, &mut optim::rng(0))?;
        let n = generate - 1;
        let started = Instant::now();
        model.generate(&[0], n, &Sampling::Greedy, &mut optim::rng(1))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "generation with the KV cache, context {generate}: {n} tokens, {:.0} tokens/s",
            n as f64 / seconds
        );
        let started = Instant::now();
        model.generate_uncached(&[0], n, &Sampling::Greedy, &mut optim::rng(1))?;
        println!(
            "without the cache: {:.0} tokens/s",
            n as f64 / started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if !contexts.is_empty() {
        // the same number of tokens per step (2048) at every context
        for t in contexts.split(',') {
            let t: usize = t.trim().parse()?;
            let batch = (2048 / t).max(1);
            let s = seconds_per_step(t, batch, steps)?;
            println!(
                "context {t:4}, batch {batch:3}: {:.1} ms per step, {:.0} tokens/s",
                s * 1e3,
                (t * batch) as f64 / s
            );
        }
        return Ok(());
    }
    let s = seconds_per_step(64, 32, steps)?;
    println!(
        "rust {threads} thread(s): {steps} steps, {:.0} tokens/s",
        2048.0 / s
    );
    Ok(())
}
