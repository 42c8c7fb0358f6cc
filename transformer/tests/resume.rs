//! Exact resume of the character GPT through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, AdamW's state, the `Resume`
//! entry), loaded into a model built from another seed and `N` more epochs equal `2N`
//! straight, bit for bit (`optim::testing::assert_exact_resume`). Dropout draws its masks from
//! the loop's generator, so its position matters; the rate follows warm-up + cosine, clipped.

use optim::data::CharVocab;
use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};
use transformer::data::{TokenWindows, reversal_text};
use transformer::{Gpt, GptConfig};

const HALF: usize = 2;

#[test]
fn gpt_with_dropout_resumes_bit_for_bit() {
    let text = reversal_text(60, 4, 6, &mut optim::rng(5));
    let vocab = CharVocab::from_text(&text);
    let ids = vocab.encode(&text).unwrap();
    let config = GptConfig::new(vocab.len(), 10)
        .with_width(16)
        .with_heads(2)
        .with_dropout(0.1);
    let data = TokenWindows::strided(ids, 10, 5).unwrap();
    let config_for = |epochs: usize| {
        TrainConfig::new(epochs, 8)
            .seed(2)
            .clip_grad_norm(1.0)
            .schedule(Schedule::CosineWarmup {
                warmup: 4,
                total: 12 * 2 * HALF,
                min_lr: 1e-4,
            })
    };
    optim::testing::assert_exact_resume(
        "gpt",
        &|seed| Gpt::<f32>::new(&config, &mut optim::rng(seed)).unwrap(),
        &|| Box::new(Adam::adamw(3e-3, 0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &config_for,
        HALF,
    );
}
