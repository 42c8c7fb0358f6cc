//! Exact resume of a CNN through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, batch-norm statistics, Adam's state,
//! the `Resume` entry), loaded into a freshly built network and optimizer, and `N` more epochs
//! equal `2N` epochs straight bit for bit. The network has batch norm (its running statistics
//! are buffers of the checkpoint); the rate follows warm-up + cosine.
//!
//! Not covered, because it does not hold yet: a CNN with dropout. `cnn`'s `Dropout` layer
//! draws its masks from a generator of its own (seeded by `LayerSpec::Dropout { seed }`), not
//! from the loop's, and that generator's position is not in the checkpoint, so a resumed run
//! draws other masks (this test with `.dropout(0.2)` after the pooling fails from the first
//! resumed epoch).

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
