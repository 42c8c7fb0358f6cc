//! A character-level LSTM on tiny Shakespeare (first 90 % train, last 10 % validation), trained
//! by stateful truncated BPTT; prints validation nats/char and a sample. Reference points: a
//! 3-gram model scores 2.05 nats/char, an interpolated 5-gram 1.67.
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_shakespeare -- --data ../shared/data/tinyshakespeare.txt \
//!     [--seconds 600 | --max-steps N] [--hidden 256] [--layers 1] [--steps 64] [--batch 32] [--lr 0.003] [--threads 2]
//! ```
//! Without `--data`, the file is looked up in `$DL_DATA_DIR`.

use optim::train::Progress;
use rnn::tasks::{CharCorpus, sample_text};
use rnn::{CharLmConfig, train_char_lm};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: f64) -> f64 {
    arg(name).map_or(default, |v| v.parse().expect("a number"))
}

fn main() -> optim::Result<()> {
    let path = arg("--data")
        .or_else(|| {
            std::env::var("DL_DATA_DIR")
                .ok()
                .map(|d| format!("{d}/tinyshakespeare.txt"))
        })
        .expect("give --data PATH or set DL_DATA_DIR");
    optim::linalg::set_threads(num("--threads", 1.0) as usize);
    let text = optim::data::load_text(&path)?;
    let corpus = CharCorpus::new(&text, 0.1)?;
    let eval_every = (num("--eval-every", 500.0) as usize).max(1);
    // bounded by --seconds (default) or, reproducibly, by --max-steps (in whole epochs of
    // --eval-every steps)
    let epochs = arg("--max-steps").map_or(usize::MAX / eval_every, |v| {
        v.parse::<usize>().expect("a number").div_ceil(eval_every)
    });
    let cfg = CharLmConfig {
        hidden: num("--hidden", 256.0) as usize,
        layers: num("--layers", 1.0) as usize,
        steps: num("--steps", 64.0) as usize,
        lr: num("--lr", 3e-3),
        steps_per_epoch: eval_every,
        max_seconds: if arg("--max-steps").is_some() && arg("--seconds").is_none() {
            None
        } else {
            Some(num("--seconds", 600.0))
        },
        train: optim::TrainConfig::new(epochs, num("--batch", 32.0) as usize)
            .clip_grad_norm(1.0)
            .seed(num("--seed", 0.0) as u64),
        ..Default::default()
    };
    println!(
        "tiny Shakespeare: {} train / {} validation characters, vocabulary {}; {cfg:?}",
        corpus.train.len(),
        corpus.valid.len(),
        corpus.vocab.len()
    );
    let report = train_char_lm::<f32>(&cfg, &corpus, &mut |p| match p {
        Progress::Step { step, loss, .. } if step % 100 == 0 => {
            println!("step {step:>6}: train {loss:.4} nats/char");
        }
        Progress::Epoch(e) => println!(
            "epoch {:>4}: valid {:.4} nats/char",
            e.epoch,
            e.validation.map_or(f64::NAN, |v| v.loss)
        ),
        _ => {}
    })?;
    println!(
        "final: validation {:.4} nats/char after {} steps ({:.0} s of training, {} characters seen)",
        report.valid_nats,
        report.steps,
        report.seconds,
        report.steps * cfg.steps * cfg.train.batch_size
    );
    let mut rng = optim::rng(1);
    for t in [0.5, 1.0] {
        let s = sample_text(&report.model, &corpus.vocab, "ROMEO:\n", 300, t, &mut rng)?;
        println!("--- sample at temperature {t} ---\nROMEO:\n{s}");
    }
    Ok(())
}
