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
//! `--speed [--steps N] [--threads T]` instead measures training throughput of the benchmark
//! model (unidirectional GRU 128 encoder, GRU 128 decoder, additive attention A = 128,
//! embeddings 32, batch 64, reversal of 20–30 symbols over 10 letters), the model of
//! `benches/seq2seq_torch.py`, and the greedy and beam-5 decoding latency per sequence.
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

/// Training sequences per second of the benchmark model, and decoding latency.
fn speed(steps: usize) -> optim::Result<()> {
    let mut rng = optim::rng(0);
    let pairs = generate(Task::Reverse, 8 * 64, 10, 20, 30, &mut rng)?;
    let vocab = Vocab::from_pairs(&pairs);
    let data = Pairs::encode(&vocab, &pairs);
    let mut config = Seq2SeqConfig::new(vocab, 32, 128, AttentionKind::Additive);
    config.bidirectional = false;
    config.decoder_hidden = 128;
    config.attention_dim = 128;
    let mut model = Seq2Seq::<f32>::new(config, &mut optim::rng(1))?;
    let mut adam = optim::Adam::new(1e-3)?;
    let warm = Pairs {
        sources: data.sources[..128].to_vec(),
        targets: data.targets[..128].to_vec(),
        unknown: 0,
    };
    let tc = TrainConfig::new(1, 64).clip_grad_norm(1.0);
    model.fit(&warm, None, &mut adam, &tc, &mut |_| {})?;
    let epochs = steps.div_ceil(8);
    let tc = TrainConfig::new(epochs, 64).clip_grad_norm(1.0);
    let started = Instant::now();
    let h = model.fit(&data, None, &mut adam, &tc, &mut |_| {})?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rust seq2seq GRU 128 additive attention, batch 64, lengths 20-30, threads={}: {:.1} \
         sequences/s ({} steps in {secs:.2} s, last loss {:.4})",
        optim::linalg::threads(),
        (h.steps * 64) as f64 / secs,
        h.steps,
        h.last().map_or(f64::NAN, |e| e.train_loss)
    );
    let sources: Vec<&[usize]> = data.sources[..64].iter().map(|s| s.as_slice()).collect();
    for opts in [DecodeOptions::default(), DecodeOptions::beam(5)] {
        let started = Instant::now();
        for s in &sources {
            model.decode(&[s], &opts)?;
        }
        println!(
            "decoding one sequence at a time, beam {}: {:.2} ms per sequence",
            opts.beam,
            1e3 * started.elapsed().as_secs_f64() / sources.len() as f64
        );
    }
    Ok(())
}

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--speed") {
        let steps = arg(&args, "--steps", "30").parse().expect("--steps");
        optim::linalg::set_threads(arg(&args, "--threads", "1").parse().expect("--threads"));
        return speed(steps);
    }
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
