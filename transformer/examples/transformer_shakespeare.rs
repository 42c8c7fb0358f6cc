//! A character-level GPT on a text file (tiny Shakespeare by default), trained with AdamW,
//! warm-up + cosine and gradient clipping through optim's loop; reports the validation loss in
//! nats per character and prints a sample.
//!
//! ```sh
//! nice -n 10 cargo run --release -p inductive-transformer --example transformer_shakespeare -- \
//!     --data ../shared/data/tinyshakespeare.txt --steps 2000 --layers 2 --width 128 --threads 2
//! ```
//!
//! Measured with that command: validation **1.6689 nats/char** (0.41 M parameters, 2000 steps of
//! 32 x 64 characters; 412 s of CPU time, 22 min wall on a 2-core machine at load average 6–8
//! from other jobs). nanoGPT's CPU configuration reports 1.88.
//!
//! Without `--data` it trains on generated text (words and their reversals).
//! Options: `--steps N` (default 500), `--width D` (128), `--layers L` (2), `--heads H` (4),
//! `--context T` (64), `--batch B` (32), `--lr η` (3e-3), `--threads N` (1), `--save PATH`.

use optim::data::{CharVocab, load_text};
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Adam, Schedule};
use std::time::Instant;
use transformer::data::{TokenWindows, reversal_text, split_tokens};
use transformer::{Gpt, GptConfig, Sampling};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn value<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = value(&args, "--steps", 500)?;
    let width: usize = value(&args, "--width", 128)?;
    let layers: usize = value(&args, "--layers", 2)?;
    let heads: usize = value(&args, "--heads", 4)?;
    let context: usize = value(&args, "--context", 64)?;
    let batch: usize = value(&args, "--batch", 32)?;
    let lr: f64 = value(&args, "--lr", 3e-3)?;
    let threads: usize = value(&args, "--threads", 1)?;
    let path = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let (data, save) = (path("--data"), path("--save"));
    optim::linalg::set_threads(threads);

    let text = match &data {
        Some(path) => load_text(path)?,
        None => reversal_text(20_000, 4, 8, &mut optim::rng(0)),
    };
    let vocab = CharVocab::from_text(&text);
    let ids = vocab.encode(&text)?;
    let (train_ids, validation_ids) = split_tokens(&ids, 0.1)?;
    println!(
        "{} characters, vocabulary {}, train {} / validation {}",
        ids.len(),
        vocab.len(),
        train_ids.len(),
        validation_ids.len()
    );
    let config = GptConfig::new(vocab.len(), context)
        .with_width(width)
        .with_layers(layers)
        .with_heads(heads);
    let mut rng = optim::rng(1);
    let mut model = Gpt::<f32>::new(&config, &mut rng)?;
    println!("{} parameters", model.num_parameters());
    let train = TokenWindows::random(train_ids, context, steps * batch, &mut rng)?;
    let validation = TokenWindows::chunks(validation_ids, context)?;
    let settings = TrainConfig::new(1, batch)
        .schedule(Schedule::CosineWarmup {
            warmup: (steps / 20).max(1),
            total: steps,
            min_lr: lr / 10.0,
        })
        .clip_grad_norm(1.0)
        .seed(2);
    let mut adamw = Adam::adamw(lr, 0.1)?;
    let started = Instant::now();
    let history = model.fit(&train, Some(&validation), &mut adamw, &settings, &mut |p| {
        if let Progress::Step { step, loss, .. } = p
            && (step % 100 == 0 || step == 1)
        {
            println!(
                "step {step:5}  train loss {loss:.4}  {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let record = history.last().ok_or("no epoch")?;
    let nats = record.validation.map(|v| v.loss).unwrap_or(f64::NAN);
    println!(
        "{steps} steps in {seconds:.1} s ({:.0} tokens/s), validation {nats:.4} nats/char",
        (steps * batch * context) as f64 / seconds
    );
    let prompt = vocab.encode(&text[..1.min(text.len())])?;
    let sample = model.generate(
        &prompt,
        400,
        &Sampling::temperature(0.8).with_top_k(20),
        &mut optim::rng(3),
    )?;
    println!(
        "--- sample ---\n{}{}",
        vocab.decode(&prompt),
        vocab.decode(&sample.tokens)
    );
    if let Some(path) = save {
        optim::checkpoint::save_model(
            &path,
            &mut model,
            &[("validation_nats_per_char", nats.to_string())],
        )?;
        println!("saved {path}");
    }
    Ok(())
}
