//! Exact resume of an MLP through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, batch-norm statistics, Adam's state,
//! the `Resume` entry), loaded into a freshly built network and optimizer, and `N` more epochs
//! equal `2N` epochs straight bit for bit. Dropout draws its masks from the loop's generator and
//! the rate follows warm-up + cosine, so the generator's and the schedule's positions matter.

use mlp::Config;
use optim::checkpoint;
use optim::train::{History, Resume, TrainConfig, fit_resume};
use optim::{Adam, Optimizer, Parameters, Schedule};

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

fn bits(model: &mut mlp::Mlp<f32>, adam: &Adam<f32>) -> Vec<(String, Vec<u32>)> {
    let b = |m: &optim::Mat<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
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

fn losses(h: &History) -> Vec<(usize, u64, u64)> {
    h.epochs
        .iter()
        .map(|e| (e.epoch, e.train_loss.to_bits(), e.learning_rate.to_bits()))
        .collect()
}

#[test]
fn n_epochs_checkpoint_and_n_more_equal_2n_straight() {
    let data = optim::data::generate::two_moons::<f32>(200, 0.1, &mut optim::rng(1));
    let net = Config::classifier(2, &[16, 16], 2)
        .dropout(0.2)
        .batch_norm(true);
    let fresh = |seed| {
        (
            net.init::<f32>(&mut optim::rng(seed)).unwrap(),
            Adam::new(0.01).unwrap(),
        )
    };
    let (mut straight, mut adam_s) = fresh(5);
    let (hs, state_s) = fit_resume(
        &mut straight,
        &data,
        None,
        &mut adam_s,
        &train_config(2 * HALF),
        None,
        &mut |_| {},
    )
    .unwrap();

    let dir = std::env::temp_dir().join(format!("mlp-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let (mut model, mut adam) = fresh(5);
    let (_, state) = fit_resume(
        &mut model,
        &data,
        None,
        &mut adam,
        &train_config(HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    checkpoint::save_training(&path, &mut model, &adam, &[state.metadata()]).unwrap();

    // a freshly built network (another initialization) and an optimizer with another rate
    let (mut resumed, _) = fresh(77);
    let mut adam_r = Adam::new(0.5).unwrap();
    let meta = checkpoint::load_training(&path, &mut resumed, &mut adam_r).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (hr, state_r) = fit_resume(
        &mut resumed,
        &data,
        None,
        &mut adam_r,
        &train_config(2 * HALF),
        Some(&Resume::from_metadata(&meta).unwrap()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(losses(&hr), losses(&hs)[HALF..]);
    assert_eq!(bits(&mut resumed, &adam_r), bits(&mut straight, &adam_s));
    assert_eq!(state_r, state_s);
}
