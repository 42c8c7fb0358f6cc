//! Trains the seq2seq model on a generated task and reports held-out exact-sequence accuracy
//! and character error rate, with and without attention (the bottleneck of notes §7.3).
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_seq2seq -- \
//!     --task reverse --symbols 10 --min-len 20 --max-len 30 --train 20000 --epochs 10 \
//!     --attention additive,none
//! cargo run --release -p inductive-rnn --example rnn_seq2seq -- --task add --max-len 5 \
//!     --train 50000 --epochs 20 --attention additive
//! ```
//!
//! Options (defaults in brackets): `--task reverse|sort|add` [reverse], `--symbols N` [10],
//! `--min-len N` [20], `--max-len N` [30] (digits for add), `--train N` [20000], `--test N`
//! [1000], `--epochs N` [10], `--batch N` [64], `--hidden N` [64], `--embed N` [32], `--cell
//! gru|lstm` [gru], `--attention LIST` [additive,none], `--lr X` [0.003], `--beam K` [5],
//! `--threads N` [1], `--seed N` [0].

use optim::train::{Progress, TrainConfig, Trainable};
use rnn::CellKind;
use rnn::seq2seq::{
    AttentionKind, DecodeOptions, Pairs, Seq2Seq, Seq2SeqConfig, Task, Vocab, generate,
};
use std::time::Instant;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |n: &str, d: &str| arg(&args, n, d).parse::<usize>().expect(n);
    let task = match arg(&args, "--task", "reverse").as_str() {
        "reverse" => Task::Reverse,
        "sort" => Task::Sort,
        "add" => Task::Add,
        t => panic!("unknown task {t}"),
    };
    let (symbols, min_len, max_len) = (
        num("--symbols", "10"),
        num("--min-len", "20"),
        num("--max-len", "30"),
    );
    let (n_train, n_test, epochs, batch) = (
        num("--train", "20000"),
        num("--test", "1000"),
        num("--epochs", "10"),
        num("--batch", "64"),
    );
    let (hidden, embed, beam, seed) = (
        num("--hidden", "64"),
        num("--embed", "32"),
        num("--beam", "5"),
        num("--seed", "0") as u64,
    );
    let lr: f64 = arg(&args, "--lr", "0.003").parse().expect("--lr");
    let cell = CellKind::from_name(&arg(&args, "--cell", "gru"))?;
    optim::linalg::set_threads(num("--threads", "1"));
    let mut rng = optim::rng(seed);
    let train_pairs = generate(task, n_train, symbols, min_len, max_len, &mut rng)?;
    // held-out: sources not in the training set
    let seen: std::collections::HashSet<&str> =
        train_pairs.iter().map(|(s, _)| s.as_str()).collect();
    let test_pairs: Vec<_> = generate(task, 4 * n_test, symbols, min_len, max_len, &mut rng)?
        .into_iter()
        .filter(|(s, _)| !seen.contains(s.as_str()))
        .take(n_test)
        .collect();
    let vocab = Vocab::from_pairs(&train_pairs);
    let train = Pairs::encode(&vocab, &train_pairs);
    let test = Pairs::encode(&vocab, &test_pairs);
    println!(
        "task {task:?}: {} training pairs, {} held-out test pairs",
        train.len(),
        test.len()
    );
    for name in arg(&args, "--attention", "additive,none").split(',') {
        let kind = AttentionKind::from_name(name)?;
        let mut config = Seq2SeqConfig::new(vocab.clone(), embed, hidden, kind);
        config.cell = cell;
        config.max_len = max_len.max(2 * max_len + 2);
        let mut model = Seq2Seq::<f32>::new(config, &mut optim::rng(seed + 1))?;
        let mut adam = optim::Adam::new(lr)?;
        let tc = TrainConfig::new(epochs, batch)
            .seed(seed)
            .clip_grad_norm(1.0)
            .cosine(train.len(), lr * 0.05);
        let started = Instant::now();
        let history = model.fit(&train, None, &mut adam, &tc, &mut |p| {
            if let Progress::Epoch(e) = p {
                println!(
                    "  [{}] epoch {:3}: train loss {:.4} ({:.1} s)",
                    kind.name(),
                    e.epoch,
                    e.train_loss,
                    e.seconds
                );
            }
        })?;
        let secs = started.elapsed().as_secs_f64();
        let greedy = model.evaluate_decoding(&test, &DecodeOptions::default())?;
        let beam_m = model.evaluate_decoding(&test, &DecodeOptions::beam(beam))?;
        println!(
            "{}: {} steps in {:.1} s ({:.0} sequences/s); held-out exact accuracy greedy {:.4} \
             beam{beam} {:.4}; CER greedy {:.4} beam {:.4}",
            kind.name(),
            history.steps,
            secs,
            (history.steps * batch) as f64 / secs,
            greedy.exact_accuracy,
            beam_m.exact_accuracy,
            greedy.cer,
            beam_m.cer
        );
    }
    Ok(())
}
