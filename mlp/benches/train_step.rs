//! Criterion bench of one training step (zero_grad, forward, loss, backward, Adam step) of
//! `Mlp::train_step`, on the issue's 784-256-128-10 ReLU network with batch 128 and on the
//! digits network (64-256-128-10 with batch norm and dropout, batch 32), f32, one thread.
//!
//! ```text
//! cargo bench -p inductive-mlp --bench train_step
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlp::Config;
use optim::data::Dataset;
use optim::{Adam, Mat};
use rand::Rng;
use std::hint::black_box;

fn bench_case(c: &mut Criterion, name: &str, config: Config, batch: usize) {
    let mut rng = optim::rng(0);
    let x = Mat::<f32>::from_fn(config.inputs, batch, |_, _| rng.random::<f32>());
    let labels: Vec<usize> = (0..batch)
        .map(|_| rng.random_range(0..config.outputs))
        .collect();
    let data = Dataset::classification(x, labels).unwrap();
    let all: Vec<usize> = (0..batch).collect();
    let mut model = config.init::<f32>(&mut rng).unwrap();
    let mut adam = Adam::new(1e-3).unwrap();
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function(name, |b| {
        b.iter(|| black_box(model.train_step(&mut adam, &data, &all, &mut rng).unwrap()))
    });
    group.finish();
}

fn train_step(c: &mut Criterion) {
    optim::linalg::set_threads(1);
    bench_case(
        c,
        "784-256-128-10 relu b128",
        Config::classifier(784, &[256, 128], 10),
        128,
    );
    bench_case(
        c,
        "64-256-128-10 relu bn dropout b32",
        Config::classifier(64, &[256, 128], 10)
            .batch_norm(true)
            .dropout(0.2),
        32,
    );
}

criterion_group!(benches, train_step);
criterion_main!(benches);
