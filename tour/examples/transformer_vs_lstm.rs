//! The notes' claim (§8) measured: on the same corpus, with a similar parameter count and the
//! same wall-time budget, training tokens per second and the validation loss reached by the
//! Transformer (the transformer crate's character GPT: 2 layers, width 128, 4 heads, context 64)
//! and the rnn crate's LSTM character model (256 units, embedding 64, truncation 64). Both see
//! batches of 32 x 64 characters, Adam(W) at 3e-3 with gradient clipping 1.0, one thread.
//!
//! ```sh
//! cargo run --release -p inductive-tour --example transformer_vs_lstm -- \
//!     ../shared/data/tinyshakespeare.txt 120
//! ```
//!
//! Measured (tiny Shakespeare, 60 s each, one thread, 2-core machine at load average 4–6 from other
//! jobs): Transformer 413 312 parameters, 200 steps, 6470 training tokens/s, validation 2.2515
//! nats/char; LSTM 350 593 parameters, 462 steps, 15 770 tokens/s, validation 1.7450. On one
//! core the LSTM's cheaper step wins; the Transformer's advantage is parallelism across positions.
//!
//! Arguments: the text file and the budget in seconds for each model. Validation: the last 10 %
//! of the text, in nats per character (the GPT on windows of 64 characters, each from a fresh
//! context; the LSTM on 32 streams carrying their state, as the rnn crate evaluates it).

use optim::Adam;
use optim::data::load_text;
use optim::train::{TrainConfig, Trainable};
use rnn::tasks::CharCorpus;
use rnn::{CharLmConfig, train_char_lm};
use std::time::Instant;
use transformer::data::TokenWindows;
use transformer::{Gpt, GptConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "../shared/data/tinyshakespeare.txt".into());
    let budget: f64 = args.get(2).map_or(Ok(120.0), |s| s.parse())?;
    optim::linalg::set_threads(1);
    let text = load_text(&path)?;
    let corpus = CharCorpus::new(&text, 0.1)?;
    let (context, batch) = (64, 32);

    // the Transformer: fit 25 steps at a time until the budget is spent
    let config = GptConfig::new(corpus.vocab.len(), context)
        .with_width(128)
        .with_heads(4)
        .with_layers(2);
    let mut rng = optim::rng(1);
    let mut gpt = Gpt::<f32>::new(&config, &mut rng)?;
    let gpt_params = gpt.num_parameters();
    let validation = TokenWindows::chunks(corpus.valid.clone(), context)?;
    let mut adamw = Adam::adamw(3e-3, 0.1)?;
    let (started, mut steps) = (Instant::now(), 0usize);
    let mut round = 0u64;
    while started.elapsed().as_secs_f64() < budget {
        let train = TokenWindows::random(corpus.train.clone(), context, 25 * batch, &mut rng)?;
        let settings = TrainConfig::new(1, batch).clip_grad_norm(1.0).seed(round);
        gpt.fit(&train, None, &mut adamw, &settings, &mut |_| {})?;
        steps += 25;
        round += 1;
    }
    let gpt_seconds = started.elapsed().as_secs_f64();
    let gpt_nats = gpt.evaluate(&validation)?.loss;
    println!(
        "Transformer: {gpt_params} parameters, {steps} steps in {gpt_seconds:.1} s, {:.0} training \
         tokens/s, validation {gpt_nats:.4} nats/char",
        (steps * batch * context) as f64 / gpt_seconds
    );

    // the LSTM, with the rnn crate's own time limit
    let defaults = CharLmConfig::default();
    let cfg = CharLmConfig {
        hidden: 256,
        steps: context,
        steps_per_epoch: 1_000_000,
        max_seconds: Some(budget),
        train: TrainConfig {
            seed: 1,
            ..defaults.train.clone()
        },
        ..defaults
    };
    let started = Instant::now();
    let report = train_char_lm::<f32>(&cfg, &corpus, &mut |_| {})?;
    let lstm_seconds = started.elapsed().as_secs_f64();
    let mut model = report.model;
    let lstm_params = optim::param_count(&mut model);
    println!(
        "LSTM: {lstm_params} parameters, {} steps in {lstm_seconds:.1} s (with its validation), \
         {:.0} training tokens/s, validation {:.4} nats/char",
        report.steps,
        (report.steps * cfg.train.batch_size * context) as f64 / budget.min(lstm_seconds),
        report.valid_nats
    );
    Ok(())
}
