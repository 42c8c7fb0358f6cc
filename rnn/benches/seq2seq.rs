//! Seq2seq (`f32`, one thread): one training step (forward, masked cross-entropy, backward,
//! clipping, Adam) of the benchmark model of `examples/seq2seq.rs --speed` and
//! `benches/seq2seq_torch.py` (GRU 128 encoder and decoder, additive attention A = 128, batch
//! 64, reversal of 20–30 symbols) for each attention form, and greedy / beam-5 decoding of one
//! sequence.
//!
//! ```text
//! cargo bench -p inductive-rnn --bench seq2seq
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use optim::Optimizer;
use rnn::seq2seq::{
    AttentionKind, Batch, DecodeOptions, Pairs, Seq2Seq, Seq2SeqConfig, Vocab, reverse_task,
};
use std::time::Duration;

fn model(vocab: &Vocab, kind: AttentionKind) -> Seq2Seq<f32> {
    let mut config = Seq2SeqConfig::new(vocab.clone(), 32, 128, kind);
    config.bidirectional = false;
    config.decoder_hidden = 128;
    config.attention_dim = 128;
    Seq2Seq::new(config, &mut optim::rng(1)).unwrap()
}

fn bench(c: &mut Criterion) {
    optim::linalg::set_threads(1);
    let pairs = reverse_task(64, 10, 20, 30, &mut optim::rng(0)).unwrap();
    let vocab = Vocab::from_pairs(&pairs);
    let data = Pairs::encode(&vocab, &pairs);
    let idx: Vec<usize> = (0..64).collect();
    let batch = Batch::new(&data, &idx).unwrap();
    let mut group = c.benchmark_group("seq2seq_train_step");
    group.throughput(Throughput::Elements(64));
    for kind in [
        AttentionKind::Additive,
        AttentionKind::General,
        AttentionKind::Dot,
        AttentionKind::None,
    ] {
        let mut m = model(&vocab, kind);
        let mut adam = optim::Adam::new(1e-3).unwrap();
        group.bench_function(BenchmarkId::from_parameter(kind.name()), |b| {
            b.iter(|| {
                optim::zero_grad(&mut m);
                m.forward(&batch).unwrap();
                m.backward(&batch).unwrap();
                optim::clip_grad_norm(&mut m, 1.0);
                adam.step(&mut m).unwrap();
            })
        });
    }
    group.finish();
    let m = model(&vocab, AttentionKind::Additive);
    let mut group = c.benchmark_group("seq2seq_decode_one");
    for k in [1, 5] {
        let opts = if k == 1 {
            DecodeOptions::default()
        } else {
            DecodeOptions::beam(k)
        };
        group.bench_function(BenchmarkId::new("beam", k), |b| {
            b.iter(|| m.decode(&[&data.sources[0]], &opts).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
