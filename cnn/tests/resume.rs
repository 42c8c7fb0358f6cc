//! Exact resume of a CNN through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, batch-norm statistics, Adam's state,
//! the `Resume` entry), loaded into a freshly built network and optimizer, and `N` more epochs
//! equal `2N` epochs straight bit for bit. The network has batch norm (its running statistics
//! are buffers of the checkpoint) and dropout (re-seeded from the loop's generator before every
//! batch, so its masks resume with the loop); the rate follows warm-up + cosine. A second run
//! does the same with the batches cut in two data-parallel shards.

mod common;

use common::{Head, bars_8x8, bars_net};
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};

const HALF: usize = 2;

/// The network of every run here: 4 maps, pooled to their means.
fn net(seed: u64) -> cnn::Cnn<f32> {
    bars_net(4, Head::GlobalAvgPool, seed)
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
    let (train, val) = bars_8x8(120, 40, &mut optim::rng(1));
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
    let (train, val) = bars_8x8(120, 40, &mut optim::rng(2));
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
    let (train, val) = bars_8x8(120, 40, &mut optim::rng(3));
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
