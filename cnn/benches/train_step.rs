//! Criterion benchmark of one training step (forward, cross-entropy, zero_grad, backward, SGD
//! with momentum) of LeNet-5 on a batch of 64 random 28x28 images, and of the small digit CNN on
//! a batch of 64 8x8 images, in f32 on one thread.

use cnn::Cnn;
use criterion::{Criterion, criterion_group, criterion_main};
use optim::{Mat, Sgd};
use rand::Rng;

fn random_batch(rows: usize, batch: usize, seed: u64) -> (Mat<f32>, Vec<usize>) {
    let mut rng = optim::rng(seed);
    let x = Mat::from_fn(rows, batch, |_, _| rng.random::<f32>());
    let labels = (0..batch).map(|_| rng.random_range(0..10)).collect();
    (x, labels)
}

fn bench(c: &mut Criterion) {
    let mut rng = optim::rng(0);
    let mut lenet = Cnn::<f32>::lenet5(&mut rng);
    let mut sgd = Sgd::new(0.01).unwrap().momentum(0.9).unwrap();
    let (x, labels) = random_batch(784, 64, 1);
    c.bench_function("lenet5 train step, batch 64, f32", |b| {
        b.iter(|| lenet.train_step(&x, &labels, &mut sgd).unwrap())
    });
    let mut digits = Cnn::<f32>::digits(&mut rng);
    let mut sgd_digits = Sgd::new(0.01).unwrap().momentum(0.9).unwrap();
    let (x, labels) = random_batch(64, 64, 2);
    c.bench_function("digit CNN train step, batch 64, f32", |b| {
        b.iter(|| digits.train_step(&x, &labels, &mut sgd_digits).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
