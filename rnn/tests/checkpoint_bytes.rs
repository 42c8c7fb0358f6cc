//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): an LSTM
//! sequence model on the adding problem, Adam, warm-up + cosine and clipping, with its batches
//! cut into 2 data-parallel shards (run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

mod common;

use common::{adding_sequences, lstm, lstm_training};
use optim::{Adam, Optimizer};

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let data = adding_sequences();
    for shards in [2, 1] {
        optim::testing::assert_thread_count_stable(
            &format!("lstm-shards-{shards}"),
            &|| lstm(16, 4),
            &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
            &data,
            None,
            &lstm_training(2, 32, 6).shards(shards),
        );
    }
}
