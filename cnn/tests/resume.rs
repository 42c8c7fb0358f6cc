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
use optim::checkpoint;
use optim::train::{History, Resume, TrainConfig, fit_resume};
use optim::{Adam, Mat, Optimizer, Parameters, Schedule};

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

fn bits(model: &mut Cnn<f32>, adam: &Adam<f32>) -> Vec<(String, Vec<u32>)> {
    let b = |m: &Mat<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| out.push((n.to_string(), b(&p.value))));
    model.visit_buffers(&mut |n, m| out.push((format!("buffer.{n}"), b(m))));
    for (n, m) in adam.export_state(model) {
        out.push((format!("optimizer.{n}"), b(&m)));
    }
    let lr = adam.learning_rate().to_bits();
    out.push(("lr".into(), vec![(lr >> 32) as u32, lr as u32]));
    out.sort();
    out
}

fn records(h: &History) -> Vec<(usize, u64, Option<u64>, u64)> {
    h.epochs
        .iter()
        .map(|e| {
            (
                e.epoch,
                e.train_loss.to_bits(),
                e.validation.map(|v| v.loss.to_bits()),
                e.learning_rate.to_bits(),
            )
        })
        .collect()
}

#[test]
fn n_epochs_checkpoint_and_n_more_equal_2n_straight() {
    let mut rng = optim::rng(1);
    let train = bars::<f32>(120, 8, 0.2, &mut rng);
    let val = bars::<f32>(40, 8, 0.2, &mut rng);
    let (mut straight, mut adam_s) = (net(2), Adam::new(0.01).unwrap());
    let (hs, state_s) = fit_resume(
        &mut straight,
        &train,
        Some(&val),
        &mut adam_s,
        &train_config(2 * HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("cnn-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let (mut model, mut adam) = (net(2), Adam::new(0.01).unwrap());
    let (_, state) = fit_resume(
        &mut model,
        &train,
        Some(&val),
        &mut adam,
        &train_config(HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    checkpoint::save_training(&path, &mut model, &adam, &[state.metadata()]).unwrap();
    let (mut resumed, mut adam_r) = (net(77), Adam::new(0.5).unwrap());
    let meta = checkpoint::load_training(&path, &mut resumed, &mut adam_r).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (hr, state_r) = fit_resume(
        &mut resumed,
        &train,
        Some(&val),
        &mut adam_r,
        &train_config(2 * HALF),
        Some(&Resume::from_metadata(&meta).unwrap()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(records(&hr), records(&hs)[HALF..]);
    assert_eq!(bits(&mut resumed, &adam_r), bits(&mut straight, &adam_s));
    assert_eq!(state_r, state_s);
}
