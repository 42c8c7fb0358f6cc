//! ANFIS training steps on Jang's Mackey-Glass set-up (4 inputs, 2 bells each, 16 rules, 500
//! training rows, f32).
//!
//! ```text
//! cargo bench -p inductive-classic --bench anfis
//! ```
//!
//! - `anfis_hybrid_2_epochs`: `train_hybrid` for two epochs — twice layers 1–3, the 500 x 80
//!   least-squares solve for the consequents (SVD, f64) and layers 4–5, once the backward pass and
//!   the normalized premise step in between;
//! - `anfis_least_squares`: the least-squares consequents alone;
//! - `anfis_gradient_step`: one forward, MSE, backward and Adam step on all 104 parameters, batch
//!   of 500.

use classic::anfis::{Anfis, HybridConfig, MfKind, train_hybrid};
use classic::mackey_glass::jang_dataset;
use criterion::{Criterion, criterion_group, criterion_main};
use optim::{Optimizer, loss};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let data = jang_dataset::<f32>().unwrap();
    let (x, y) = (&data.train_x, &data.train_y);
    let model = Anfis::grid(MfKind::Bell, &[2], x).unwrap();
    let two = HybridConfig {
        epochs: 2,
        keep_best: false,
        ..HybridConfig::default()
    };
    c.bench_function("anfis_hybrid_2_epochs", |b| {
        let mut m = model.clone();
        b.iter(|| train_hybrid(&mut m, black_box(x), y, None, &two, &mut |_| {}).unwrap())
    });
    c.bench_function("anfis_least_squares", |b| {
        let mut m = model.clone();
        b.iter(|| m.fit_consequents(black_box(x), y, 0.0).unwrap())
    });
    let mut m = model.clone();
    m.fit_consequents(x, y, 0.0).unwrap();
    let mut opt = optim::Adam::new(1e-3).unwrap();
    c.bench_function("anfis_gradient_step", |b| {
        b.iter(|| {
            let pred = m.forward(black_box(x)).unwrap();
            let (_, dy) = loss::mse(&pred, y).unwrap();
            optim::zero_grad(&mut m);
            m.backward(&dy).unwrap();
            opt.step(&mut m).unwrap();
            m.repair_premise();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
