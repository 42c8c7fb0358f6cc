//! One `Linear` layer's training step in `f32`, one thread: forward `Y = W X + b 1ᵀ`, then
//! backward (`∂L/∂W += dY Xᵀ`, `∂L/∂b += dY 1`, `∂L/∂X = Wᵀ dY`) at batch 128, 784 → 256 (an
//! MNIST first layer). Three products of `2·128·784·256` flops each; criterion's `Gelem/s` reads
//! as GFLOP/s. The PyTorch reference on the same shape is `benches/linear_torch.py`. Two
//! variants: `forward`/`backward` (which allocate `Y` and `∂L/∂X`) and
//! `forward_into`/`backward_into` (into reused buffers).
//!
//! ```text
//! cargo bench -p inductive-optim --bench linear
//! python optim/benches/linear_torch.py
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use optim::{Linear, Mat, zero_grad};
use std::hint::black_box;
use std::time::Duration;

const BATCH: usize = 128;
const INPUTS: usize = 784;
const OUTPUTS: usize = 256;

fn bench(c: &mut Criterion) {
    optim::linalg::set_threads(1);
    let mut rng = optim::rng(0);
    let mut layer = Linear::<f32>::new(INPUTS, OUTPUTS, &mut rng);
    let x = Mat::<f32>::from_fn(INPUTS, BATCH, |i, j| ((i * 5 + j) % 13) as f32 * 0.1 - 0.6);
    let dy = Mat::<f32>::from_fn(OUTPUTS, BATCH, |i, j| {
        ((i + 3 * j) % 7) as f32 * 0.01 - 0.03
    });
    let flops = 3 * 2 * BATCH * INPUTS * OUTPUTS;
    let mut group = c.benchmark_group("linear_f32");
    group.throughput(Throughput::Elements(flops as u64));
    group.bench_function("forward_backward_128x784x256", |b| {
        b.iter(|| {
            zero_grad(&mut layer);
            let y = layer.forward(black_box(&x)).unwrap();
            let dx = layer.backward(black_box(&dy)).unwrap();
            black_box((y, dx))
        })
    });
    let (mut y, mut dx) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
    group.bench_function("forward_backward_into_128x784x256", |b| {
        b.iter(|| {
            zero_grad(&mut layer);
            layer.forward_into(black_box(&x), &mut y).unwrap();
            layer.backward_into(black_box(&dy), &mut dx).unwrap();
            black_box((&y, &dx));
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
