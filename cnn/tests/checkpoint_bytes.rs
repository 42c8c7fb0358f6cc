//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): a CNN with
//! batch norm and dropout, Adam, warm-up + cosine, with its batches cut into 2 data-parallel
//! shards (which then run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

use cnn::{Cnn, ImageShape, data::bars};
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};

fn net() -> Cnn<f32> {
    let rng = &mut optim::rng(3);
    Cnn::<f32>::builder(ImageShape::new(1, 8, 8))
        .conv(8, 3, 1, 1, rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .dropout(0.2)
        .unwrap()
        .flatten()
        .dense(2, rng)
        .unwrap()
        .build()
}

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let mut rng = optim::rng(1);
    let train = bars::<f32>(96, 8, 0.2, &mut rng);
    let val = bars::<f32>(32, 8, 0.2, &mut rng);
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
            &net,
            &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
            &train,
            Some(&val),
            &config,
        );
    }
}
