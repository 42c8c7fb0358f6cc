//! Kind 5: real data, when `DL_DATA_DIR` points at the data folder (CI: `../shared/data`).
//! A character GPT on tiny Shakespeare (65 characters, first 90 % train, last 10 %
//! validation), 400 steps of AdamW with warm-up + cosine and clipping (width 128, 2 layers, the
//! speed configuration), in the test budget: validation below 2.0 nats per character.

use optim::data::{CharVocab, load_text};
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Schedule};
use std::path::PathBuf;
use transformer::data::{TokenWindows, split_tokens};
use transformer::{Gpt, GptConfig, Sampling};

fn data_dir() -> Option<PathBuf> {
    std::env::var_os("DL_DATA_DIR").map(PathBuf::from)
}

#[test]
fn tiny_shakespeare_character_model() {
    let Some(dir) = data_dir() else {
        eprintln!("DL_DATA_DIR not set: skipping the tiny Shakespeare test");
        return;
    };
    let text = load_text(dir.join("tinyshakespeare.txt")).unwrap();
    let vocab = CharVocab::from_text(&text);
    assert_eq!(vocab.len(), 65);
    let ids = vocab.encode(&text).unwrap();
    let (train_ids, validation_ids) = split_tokens(&ids, 0.1).unwrap();
    let (steps, batch, context) = (400, 32, 64);
    let config = GptConfig::new(vocab.len(), context)
        .with_width(128)
        .with_heads(4)
        .with_layers(2);
    let mut rng = optim::rng(1);
    let mut model = Gpt::<f32>::new(&config, &mut rng).unwrap();
    let train = TokenWindows::random(train_ids, context, steps * batch, &mut rng).unwrap();
    let validation = TokenWindows::chunks(validation_ids, context).unwrap();
    let settings = TrainConfig::new(1, batch)
        .schedule(Schedule::CosineWarmup {
            warmup: 20,
            total: steps,
            min_lr: 4e-4,
        })
        .clip_grad_norm(1.0)
        .seed(2);
    let started = std::time::Instant::now();
    let history = model
        .fit(
            &train,
            Some(&validation),
            &mut Adam::adamw(4e-3, 0.1).unwrap(),
            &settings,
            &mut |_| {},
        )
        .unwrap();
    let nats = history.last().unwrap().validation.unwrap().loss;
    let sample = model
        .generate(
            &vocab.encode("ROMEO:").unwrap(),
            200,
            &Sampling::temperature(0.8),
            &mut optim::rng(3),
        )
        .unwrap();
    eprintln!(
        "tiny Shakespeare: {steps} steps in {:.1} s, validation {nats:.4} nats/char\nROMEO:{}",
        started.elapsed().as_secs_f64(),
        vocab.decode(&sample.tokens)
    );
    assert!(nats < 2.0, "validation {nats} nats/char");
}
