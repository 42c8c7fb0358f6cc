//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): the
//! character GPT with dropout, AdamW, warm-up + cosine and clipping, with its batches cut into
//! 2 data-parallel shards (run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

mod common;

use common::{gpt_training, reversal_windows};
use optim::{Adam, Optimizer};
use transformer::Gpt;

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let (data, config) = reversal_windows();
    for shards in [2, 1] {
        optim::testing::assert_thread_count_stable(
            &format!("gpt-shards-{shards}"),
            &|| Gpt::<f32>::new(&config, &mut optim::rng(7)).unwrap(),
            &|| Box::new(Adam::adamw(3e-3, 0.01).unwrap()) as Box<dyn Optimizer<f32>>,
            &data,
            None,
            &gpt_training(2, 24).shards(shards),
        );
    }
}
