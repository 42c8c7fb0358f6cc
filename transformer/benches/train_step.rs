//! One training step of the decoder-only model of issue 16's speed target (vocabulary 65,
//! width 128, 4 heads, 2 pre-LN layers, feed-forward 512 with GELU, learned positions, context
//! 64, batch 32, f32): forward, loss, zero_grad, backward, AdamW step; and generation of one
//! token with the KV cache at context 256.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use optim::{Adam, Optimizer, zero_grad};
use std::hint::black_box;
use transformer::{Gpt, GptConfig, Sampling, SeqShape};

fn train_step(c: &mut Criterion) {
    let (context, batch) = (64, 32);
    let config = GptConfig::new(65, context)
        .with_width(128)
        .with_heads(4)
        .with_layers(2);
    let mut model = Gpt::<f32>::new(&config, &mut optim::rng(0)).unwrap();
    let ids: Vec<usize> = (0..context * batch + 1)
        .map(|i| (i * 31 + i / 7) % 65)
        .collect();
    let (input, targets) = (&ids[..context * batch], &ids[1..]);
    let shape = SeqShape::new(context, batch);
    let mut adamw = Adam::adamw(1e-3, 0.1).unwrap();
    let mut group = c.benchmark_group("gpt");
    group.throughput(Throughput::Elements((context * batch) as u64));
    group.sample_size(20);
    group.bench_function("train_step_w128_l2_t64_b32", |b| {
        b.iter(|| {
            zero_grad(&mut model);
            let loss = model
                .loss_and_backward(input, targets, shape, None)
                .unwrap();
            adamw.step(&mut model).unwrap();
            black_box(loss)
        })
    });
    group.finish();

    let config = GptConfig::new(65, 256)
        .with_width(128)
        .with_heads(4)
        .with_layers(2);
    let model = Gpt::<f32>::new(&config, &mut optim::rng(0)).unwrap();
    let mut group = c.benchmark_group("gpt_generate");
    group.throughput(Throughput::Elements(255));
    group.sample_size(10);
    group.bench_function("kv_cache_255_tokens_t256", |b| {
        b.iter(|| {
            model
                .generate(&[0], 255, &Sampling::Greedy, &mut optim::rng(1))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
