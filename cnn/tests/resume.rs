//! Exact resume of a CNN through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, batch-norm statistics, Adam's state,
//! the `Resume` entry), loaded into a freshly built network and optimizer, and `N` more epochs
//! equal `2N` epochs straight bit for bit. The network has batch norm (its running statistics
//! are buffers of the checkpoint) and dropout (re-seeded from the loop's generator before every
//! batch, so its masks resume with the loop); the rate follows warm-up + cosine. A second run
//! does the same with the batches cut in two data-parallel shards.

use cnn::{Cnn, ImageShape, data::bars};
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};

const HALF: usize = 2;

fn net(seed: u64) -> Cnn<f32> {
    let rng = &mut optim::rng(seed);
    Cnn::<f32>::builder(ImageShape::new(1, 8, 8))
        .conv(4, 3, 1, 1, rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .dropout(0.2)
        .unwrap()
        .global_avg_pool()
        .unwrap()
        .dense(2, rng)
        .unwrap()
        .build()
}

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig::new(epochs, 16)
        .seed(4)
        .schedule(Schedule::CosineWarmup {
            warmup: 4,
            total: 8 * 2 * HALF,
            min_lr: 1e-4,
        })
}

#[test]
fn n_epochs_checkpoint_and_n_more_equal_2n_straight() {
    let mut rng = optim::rng(1);
    let train = bars::<f32>(120, 8, 0.2, &mut rng);
    let val = bars::<f32>(40, 8, 0.2, &mut rng);
    optim::testing::assert_exact_resume(
        "cnn",
        &net,
        &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &train,
        Some(&val),
        &train_config,
        HALF,
    );
}

#[test]
fn sharded_training_resumes_exactly_too() {
    let mut rng = optim::rng(2);
    let train = bars::<f32>(120, 8, 0.2, &mut rng);
    let val = bars::<f32>(40, 8, 0.2, &mut rng);
    optim::testing::assert_exact_resume(
        "cnn-shards",
        &net,
        &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &train,
        Some(&val),
        &|epochs| train_config(epochs).shards(2),
        HALF,
    );
}

#[test]
fn training_with_augmentation_resumes_exactly_too() {
    // the random translations are drawn from the loop's generator, whose position is saved
    let mut rng = optim::rng(3);
    let train = bars::<f32>(120, 8, 0.2, &mut rng);
    let val = bars::<f32>(40, 8, 0.2, &mut rng);
    optim::testing::assert_exact_resume(
        "cnn-augment",
        &|seed| {
            net(seed)
                .with_augmentation(Some(optim::Augment::shifts(2).rotations(10.0)))
                .unwrap()
        },
        &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &train,
        Some(&val),
        &train_config,
        HALF,
    );
}
