//! One training epoch (Adam, batch 32, shuffled) on 3 000 generated examples of 64 pixels
//! (8x8, the optdigits size: 64-64-8-64-64 ReLU autoencoder, and the VAE of the same widths)
//! and of 784 pixels (28x28, the MNIST size: 784-128-16-128-784).
//!
//! `cargo bench -p inductive-autoencoder --bench epoch`

use autoencoder::{Autoencoder, AutoencoderConfig, Vae, VaeConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use optim::train::{TrainConfig, Trainable};
use optim::{Activation, Adam, Mat};
use std::hint::black_box;

const N: usize = 3000;

fn epoch<M: Trainable<f32, Data = Mat<f32>>>(
    model: &mut M,
    x: &Mat<f32>,
    opt: &mut Adam<f32>,
    seed: u64,
) {
    let config = TrainConfig::new(1, 32).seed(seed);
    black_box(model.fit(x, None, opt, &config, &mut |_| {}).unwrap());
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch_3000");
    group.sample_size(10);
    for (side, hidden, code) in [(8usize, 64usize, 8usize), (28, 128, 16)] {
        let d = side * side;
        let x = autoencoder::data::blob_images::<f32>(N, side, &mut optim::rng(0));
        let config = AutoencoderConfig::symmetric(d, &[hidden], code, Activation::Relu)
            .code_activation(Activation::Identity);
        let mut model = Autoencoder::new(config, &mut optim::rng(1)).unwrap();
        let mut opt = Adam::new(1e-3).unwrap();
        let mut seed = 0;
        group.bench_function(format!("ae_{d}-{hidden}-{code}-{hidden}-{d}"), |b| {
            b.iter(|| {
                seed += 1;
                epoch(&mut model, &x, &mut opt, seed)
            })
        });
        let mut vae = Vae::new(
            VaeConfig::symmetric(d, &[hidden], code, Activation::Relu).bce(),
            &mut optim::rng(2),
        )
        .unwrap();
        let mut opt = Adam::new(1e-3).unwrap();
        group.bench_function(format!("vae_{d}-{hidden}-{code}-{hidden}-{d}"), |b| {
            b.iter(|| {
                seed += 1;
                epoch(&mut vae, &x, &mut opt, seed)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
