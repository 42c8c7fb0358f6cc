//! The set-up shared by rnn's shared-loop tests (`checkpoint_bytes.rs`, `resume.rs`): the adding
//! problem as regression data and the LSTM sequence model trained on it, with its schedule.
#![allow(dead_code)]

use optim::Schedule;
use optim::train::TrainConfig;
use rnn::{CellKind, ModelConfig, Readout, SeqModel, Sequences};

/// 96 sequences of the adding problem, 12 steps each (`optim::rng(1)`), as regression data.
pub fn adding_sequences() -> Sequences<f32> {
    let (x, y) = rnn::tasks::adding_problem::<f32>(12, 96, &mut optim::rng(1)).unwrap();
    Sequences::regression(x, y).unwrap()
}

/// The LSTM sequence model for [`adding_sequences`]: 2 inputs a step, `hidden` units, one output
/// read at the last step, weights from `optim::rng(seed)`.
pub fn lstm(hidden: usize, seed: u64) -> SeqModel<f32> {
    let config = ModelConfig::dense(CellKind::Lstm, 2, hidden, 1, Readout::Last);
    SeqModel::<f32>::new(config, &mut optim::rng(seed)).unwrap()
}

/// How [`lstm`] trains: `epochs` epochs of batches of `batch`, loop seed 3, gradients clipped
/// to norm 1, the rate warmed up over 2 steps then cosine down to 1e-4 at step `total`.
pub fn lstm_training(epochs: usize, batch: usize, total: usize) -> TrainConfig {
    TrainConfig::new(epochs, batch)
        .seed(3)
        .clip_grad_norm(1.0)
        .schedule(Schedule::CosineWarmup {
            warmup: 2,
            total,
            min_lr: 1e-4,
        })
}
