//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): the
//! character GPT with dropout, AdamW, warm-up + cosine and clipping, with its batches cut into
//! 2 data-parallel shards (run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

use optim::data::CharVocab;
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};
use transformer::data::{TokenWindows, reversal_text};
use transformer::{Gpt, GptConfig};

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let text = reversal_text(60, 4, 6, &mut optim::rng(5));
    let vocab = CharVocab::from_text(&text);
    let ids = vocab.encode(&text).unwrap();
    let config = GptConfig::new(vocab.len(), 10)
        .with_width(16)
        .with_heads(2)
        .with_dropout(0.1);
    let data = TokenWindows::strided(ids, 10, 5).unwrap();
    for shards in [2, 1] {
        let settings = TrainConfig::new(2, 8)
            .seed(2)
            .shards(shards)
            .clip_grad_norm(1.0)
            .schedule(Schedule::CosineWarmup {
                warmup: 4,
                total: 24,
                min_lr: 1e-4,
            });
        optim::testing::assert_thread_count_stable(
            &format!("gpt-shards-{shards}"),
            &|| Gpt::<f32>::new(&config, &mut optim::rng(7)).unwrap(),
            &|| Box::new(Adam::adamw(3e-3, 0.01).unwrap()) as Box<dyn Optimizer<f32>>,
            &data,
            None,
            &settings,
        );
    }
}
