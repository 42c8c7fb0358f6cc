//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): a CNN with
//! batch norm and dropout, Adam, warm-up + cosine, with its batches cut into 2 data-parallel
//! shards (which then run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

mod common;

use common::{Head, bars_8x8, bars_net};
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let (train, val) = bars_8x8(96, 32, &mut optim::rng(1));
    for shards in [2, 1] {
        let config =
            TrainConfig::new(2, 32)
                .seed(4)
                .shards(shards)
                .schedule(Schedule::CosineWarmup {
                    warmup: 2,
                    total: 6,
                    min_lr: 1e-4,
                });
        optim::testing::assert_thread_count_stable(
            &format!("cnn-shards-{shards}"),
            &|| bars_net(8, Head::Flatten, 3),
            &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
            &train,
            Some(&val),
            &config,
        );
    }
}
