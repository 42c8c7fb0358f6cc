//! One training epoch over 10 000 examples of 784 features (MNIST's size), `f32`:
//! the binary rule (plain and averaged) and the 10-class averaged multiclass perceptron.
//!
//! `cargo bench -p inductive-perceptron --bench epoch`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use optim::Mat;
use perceptron::{Config, MulticlassPerceptron, Order, Perceptron, Variant};
use rand::Rng;
use std::hint::black_box;

const N: usize = 10_000;
const D: usize = 784;

fn data() -> (Mat<f32>, Vec<i32>, Vec<usize>) {
    let mut rng = optim::rng(0);
    let x = Mat::<f32>::from_fn(D, N, |_, _| rng.random_range(0.0..1.0));
    // binary labels from a random hyperplane through the data's centre; ten classes from the
    // arg-max of ten random linear scores
    let u: Vec<f32> = (0..D).map(|_| rng.random_range(-1.0..1.0)).collect();
    let v = Mat::<f32>::from_fn(10, D, |_, _| rng.random_range(-1.0..1.0));
    let mut binary = Vec::with_capacity(N);
    let mut classes = Vec::with_capacity(N);
    for j in 0..N {
        let col = x.column(j);
        let s: f32 = (0..D).map(|i| u[i] * (col[i] - 0.5)).sum();
        binary.push(i32::from(s > 0.0));
        let scores = &v * col;
        classes.push(scores.argmax().0);
    }
    (x, binary, classes)
}

fn epoch(c: &mut Criterion) {
    let (x, binary, classes) = data();
    let mut group = c.benchmark_group("epoch_10000x784");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    for variant in [Variant::Plain, Variant::Averaged] {
        let config = Config {
            max_epochs: 1,
            order: Order::Shuffled { seed: 1 },
            variant,
            record_weights: false,
            ..Config::default()
        };
        group.bench_function(BenchmarkId::new("binary", format!("{variant:?}")), |b| {
            b.iter(|| {
                let mut unit = Perceptron::<f32>::new(D, config).unwrap();
                black_box(unit.fit(black_box(&x), &binary).unwrap())
            })
        });
    }
    let config = Config {
        max_epochs: 1,
        order: Order::Shuffled { seed: 1 },
        variant: Variant::Averaged,
        record_weights: false,
        ..Config::default()
    };
    group.bench_function("multiclass10/Averaged", |b| {
        b.iter(|| {
            let mut model = MulticlassPerceptron::<f32>::new(D, 10, config).unwrap();
            black_box(model.fit(black_box(&x), &classes).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
