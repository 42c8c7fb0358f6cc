//! Training steps of the chapter's models.
//!
//! ```text
//! cargo bench -p inductive-classic
//! ```
//!
//! - `rbf_gradient_step`: one forward, MSE, backward and Adam step of a 60-centre RBF network on a
//!   batch of 50 Mackey-Glass rows (f32);
//! - `rbf_least_squares`: the whole two-stage fit on Jang's 500 training rows (k-means with
//!   60 centres, widths, SVD least squares);
//! - `som_online_1000`: 1000 online updates of a 10 x 10 map on 4-D data;
//! - `som_batch_pass`: one batch-map pass of a 10 x 10 map over 150 4-D examples.

use classic::mackey_glass::jang_dataset;
use classic::rbf::{RbfConfig, fit};
use classic::som::{Order, Som, SomConfig, Training};
use criterion::{Criterion, criterion_group, criterion_main};
use optim::{Optimizer, loss};
use std::hint::black_box;

fn rbf_config() -> RbfConfig {
    RbfConfig::mackey_glass()
}

fn bench(c: &mut Criterion) {
    let data = jang_dataset::<f64>().unwrap();
    let (model, _) = fit(
        &rbf_config(),
        &data.train_x,
        &data.train_y,
        &mut optim::rng(0),
    )
    .unwrap();
    let mut model32 = model.cast::<f32>();
    let x = optim::scalar::cast::<f64, f32>(&data.train_x.columns(0, 50).into_owned());
    let y = optim::scalar::cast::<f64, f32>(&data.train_y.columns(0, 50).into_owned());
    let mut opt = optim::Adam::new(1e-4).unwrap();
    c.bench_function("rbf_gradient_step", |b| {
        b.iter(|| {
            let pred = model32.forward(black_box(&x)).unwrap();
            let (_, dy) = loss::mse(&pred, &y).unwrap();
            optim::zero_grad(&mut model32);
            model32.backward(&dy).unwrap();
            opt.step(&mut model32).unwrap();
        })
    });
    c.bench_function("rbf_least_squares", |b| {
        b.iter(|| {
            fit(
                &rbf_config(),
                &data.train_x,
                &data.train_y,
                &mut optim::rng(0),
            )
            .unwrap()
        })
    });

    let points = optim::Mat::<f32>::from_fn(4, 150, |i, j| ((j * 31 + i * 7) % 53) as f32 / 53.0);
    let online = SomConfig {
        iterations: 1000,
        training: Training::Online(Order::Random),
        ..SomConfig::default()
    };
    let som = Som::from_config(&online, &points, &mut optim::rng(0)).unwrap();
    c.bench_function("som_online_1000", |b| {
        b.iter(|| {
            let mut s = som.clone();
            s.train(&points, &online, &mut optim::rng(1), &mut |_, _| {})
                .unwrap();
            s
        })
    });
    let mut s = som.clone();
    c.bench_function("som_batch_pass", |b| {
        b.iter(|| s.batch_step(&points, 0.5, 1.0))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
