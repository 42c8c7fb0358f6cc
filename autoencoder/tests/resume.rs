//! Exact resume of the autoencoders through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, Adam's state, the `Resume` entry),
//! loaded into a freshly built model and optimizer, and `N` more epochs equal `2N` epochs
//! straight bit for bit — for a denoising autoencoder (masking noise from the loop's generator)
//! and a VAE (reparameterization noise from it), with warm-up + cosine rates and validation.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Vae, VaeConfig};
use optim::train::{TrainConfig, Trainable};
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

/// Straight `2 * HALF` epochs vs `HALF`, checkpoint, load into `build(77)`, `HALF` more, with
/// validation data.
fn check<M: Trainable<f32, Data = Mat<f32>>>(name: &str, build: impl Fn(u64) -> M) {
    let x = autoencoder::data::blob_images::<f32>(380, 8, &mut optim::rng(10));
    let (train, val) = (
        x.columns(0, 300).into_owned(),
        x.columns(300, 80).into_owned(),
    );
    optim::testing::assert_exact_resume(
        name,
        &build,
        &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
        &train,
        Some(&val),
        &train_config,
        HALF,
    );
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
