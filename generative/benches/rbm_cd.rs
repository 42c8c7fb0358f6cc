//! Criterion bench of CD-1 training: one epoch of `Rbm::train_cd` over 1000 examples (10
//! batches of 100, so ten CD-1 steps plus the one allocation of the run's buffers), f32, one
//! thread, for the issue's 784 x 500 RBM and the optdigits-sized 64 x 100 one.
//!
//! ```text
//! cargo bench -p inductive-generative --bench rbm_cd
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use generative::rbm::{CdConfig, Rbm, RbmConfig};
use optim::Mat;
use rand::Rng;
use std::hint::black_box;

fn case(c: &mut Criterion, visible: usize, hidden: usize) {
    let mut rng = optim::rng(0);
    let data = Mat::<f32>::from_fn(visible, 1000, |_, _| f32::from(rng.random::<f32>() < 0.2));
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(visible, hidden), &mut rng).unwrap();
    let config = CdConfig {
        epochs: 1,
        batch_size: 100,
        monitor_examples: 0,
        ..CdConfig::default()
    };
    let mut group = c.benchmark_group("cd1_epoch_1000");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(10);
    group.bench_function(format!("{visible}x{hidden}"), |b| {
        b.iter(|| black_box(rbm.train_cd(&data, None, &config, &mut |_| {}).unwrap()))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    case(c, 784, 500);
    case(c, 64, 100);
}

criterion_group!(benches, bench);
criterion_main!(benches);
