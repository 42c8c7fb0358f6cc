//! Exact resume of the autoencoders through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, Adam's state, the `Resume` entry),
//! loaded into a freshly built model and optimizer, and `N` more epochs equal `2N` epochs
//! straight bit for bit — for a denoising autoencoder (masking noise from the loop's generator)
//! and a VAE (reparameterization noise from it), with warm-up + cosine rates and validation.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Vae, VaeConfig};
use optim::checkpoint;
use optim::train::{History, Resume, TrainConfig, Trainable, fit_resume};
use optim::{Activation, Adam, Mat, Optimizer, Schedule};

const HALF: usize = 2;

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig::new(epochs, 32)
        .seed(3)
        .schedule(Schedule::CosineWarmup {
            warmup: 5,
            total: 10 * 2 * HALF,
            min_lr: 1e-5,
        })
}

fn bits<M: Trainable<f32>>(model: &mut M, adam: &Adam<f32>) -> Vec<(String, Vec<u32>)> {
    let b = |m: &Mat<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| out.push((n.to_string(), b(&p.value))));
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

/// Straight `2 * HALF` epochs vs `HALF`, checkpoint, load into `build(77)`, `HALF` more.
fn check<M: Trainable<f32, Data = Mat<f32>>>(name: &str, build: impl Fn(u64) -> M) {
    let x = autoencoder::data::blob_images::<f32>(380, 8, &mut optim::rng(10));
    let (train, val) = (
        x.columns(0, 300).into_owned(),
        x.columns(300, 80).into_owned(),
    );
    let adam = || Adam::new(3e-3).unwrap();
    let (mut straight, mut adam_s) = (build(5), adam());
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
    let dir = std::env::temp_dir().join(format!("ae-resume-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let (mut model, mut adam_h) = (build(5), adam());
    let (_, state) = fit_resume(
        &mut model,
        &train,
        Some(&val),
        &mut adam_h,
        &train_config(HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    checkpoint::save_training(&path, &mut model, &adam_h, &[state.metadata()]).unwrap();
    let (mut resumed, mut adam_r) = (build(77), Adam::new(0.5).unwrap());
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
    assert_eq!(records(&hr), records(&hs)[HALF..], "{name}");
    assert_eq!(
        bits(&mut resumed, &adam_r),
        bits(&mut straight, &adam_s),
        "{name}"
    );
    assert_eq!(state_r, state_s, "{name}");
}

#[test]
fn denoising_autoencoder_resumes_bit_for_bit() {
    let config = AutoencoderConfig::symmetric(64, &[32], 3, Activation::Relu)
        .denoising(Corruption::Masking { fraction: 0.3 });
    check("dae", |seed| {
        Autoencoder::<f32>::new(config.clone(), &mut optim::rng(seed)).unwrap()
    });
}

#[test]
fn vae_resumes_bit_for_bit() {
    let config = VaeConfig::symmetric(64, &[32], 3, Activation::Relu).bce();
    check("vae", |seed| {
        Vae::<f32>::new(config.clone(), &mut optim::rng(seed)).unwrap()
    });
}
