//! Exact resume of an MLP through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, batch-norm statistics, Adam's state,
//! the `Resume` entry), loaded into a freshly built network and optimizer, and `N` more epochs
//! equal `2N` epochs straight bit for bit. Dropout draws its masks from the loop's generator and
//! the rate follows warm-up + cosine, so the generator's and the schedule's positions matter.

use mlp::Config;
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};

const HALF: usize = 3;

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig::new(epochs, 16)
        .seed(9)
        .schedule(Schedule::CosineWarmup {
            warmup: 8,
            total: 13 * 2 * HALF,
            min_lr: 1e-4,
        })
}

#[test]
fn n_epochs_checkpoint_and_n_more_equal_2n_straight() {
    let data = optim::data::generate::two_moons::<f32>(200, 0.1, &mut optim::rng(1));
    let net = Config::classifier(2, &[16, 16], 2)
        .dropout(0.2)
        .batch_norm(true);
    optim::testing::assert_exact_resume(
        "mlp",
        &|seed| net.init::<f32>(&mut optim::rng(seed)).unwrap(),
        &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &train_config,
        HALF,
    );
}
