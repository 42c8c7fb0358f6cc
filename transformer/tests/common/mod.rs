//! The set-up shared by transformer's shared-loop tests (`checkpoint_bytes.rs`, `resume.rs`): the
//! character GPT with dropout on reversal text, and its schedule.
#![allow(dead_code)]

use optim::Schedule;
use optim::data::CharVocab;
use optim::train::TrainConfig;
use transformer::GptConfig;
use transformer::data::{TokenWindows, reversal_text};

/// 60 records of reversal text (words of 4 of 6 letters, `optim::rng(5)`) cut into windows of 10 characters
/// every 5, and the GPT for it: context 10, width 16, 2 heads, dropout 0.1.
pub fn reversal_windows() -> (TokenWindows, GptConfig) {
    let text = reversal_text(60, 4, 6, &mut optim::rng(5));
    let vocab = CharVocab::from_text(&text);
    let ids = vocab.encode(&text).unwrap();
    let config = GptConfig::new(vocab.len(), 10)
        .with_width(16)
        .with_heads(2)
        .with_dropout(0.1);
    (TokenWindows::strided(ids, 10, 5).unwrap(), config)
}

/// How the GPT of [`reversal_windows`] trains: `epochs` epochs of batches of 8, loop seed 2,
/// gradients clipped to norm 1, the rate warmed up over 4 steps then cosine down to 1e-4 at
/// step `total`.
pub fn gpt_training(epochs: usize, total: usize) -> TrainConfig {
    TrainConfig::new(epochs, 8)
        .seed(2)
        .clip_grad_norm(1.0)
        .schedule(Schedule::CosineWarmup {
            warmup: 4,
            total,
            min_lr: 1e-4,
        })
}
