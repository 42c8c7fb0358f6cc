//! One training step of each cell (`f32`, one thread): forward over all steps, MSE on a last-step
//! linear head, zero_grad, BPTT, Adam — the model of `examples/throughput.rs` (input 32, hidden
//! 128, length 50, batch 32) for the LSTM, the GRU and the tanh RNN. Throughput is reported in
//! sequences per second.
//!
//! ```text
//! cargo bench -p inductive-rnn --bench train_step
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use optim::Mat;
use rand::Rng;
use rnn::{CellKind, Input, ModelConfig, Readout, Seq, SeqModel, StepOptions, Target};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    optim::linalg::set_threads(1);
    let (input, hidden, steps, batch) = (32, 128, 50, 32);
    let mut rng = optim::rng(0);
    let x = Seq::new(
        Mat::<f32>::from_fn(input, steps * batch, |_, _| rng.random_range(-1.0..1.0)),
        steps,
        batch,
    )
    .unwrap();
    let y = Mat::<f32>::from_fn(1, batch, |_, _| rng.random_range(-1.0..1.0));
    let mut group = c.benchmark_group("rnn_train_step");
    group.throughput(Throughput::Elements(batch as u64));
    for cell in [CellKind::Lstm, CellKind::Gru, CellKind::Tanh] {
        let mut model = SeqModel::<f32>::new(
            ModelConfig::dense(cell, input, hidden, 1, Readout::Last),
            &mut optim::rng(1),
        )
        .unwrap();
        let mut opt = optim::Adam::new(1e-3).unwrap();
        let options = StepOptions::default();
        group.bench_function(BenchmarkId::new(cell.name(), "I32_H128_T50_B32"), |b| {
            b.iter(|| {
                model
                    .train_step(Input::Dense(&x), Target::Regression(&y), &mut opt, &options)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
