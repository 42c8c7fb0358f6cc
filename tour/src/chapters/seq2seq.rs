//! §7.3 sequence to sequence with attention: an encoder compresses the source, a decoder
//! generates the target, and attention lets every output step read every encoder state instead
//! of one fixed-width summary (the bottleneck).
//!
//! Generated data (default): reversing strings of 10–15 symbols over 10 letters, the same
//! bidirectional-GRU encoder–decoder trained with additive attention and without attention for
//! the same steps; held-out exact-sequence accuracy and character error rate with greedy and
//! beam-5 decoding, learning curves, and the attention matrix of a test example (it lies on the
//! anti-diagonal). With `--train FILE.tsv [--test FILE.tsv]` (`source<TAB>target` lines): the
//! same on the user's pairs (10 % of the training file held out when no test file is given;
//! test characters unseen in training are mapped to the unknown token and counted). `--load
//! FILE` evaluates a saved model on the test pairs without training.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use optim::checkpoint::{load_model, save_model};
use optim::train::{Progress, TrainConfig};
use rnn::seq2seq::{
    AttentionKind, DecodeOptions, Pairs, Seq2Seq, Seq2SeqConfig, Vocab, read_pairs, reverse_task,
};

/// Longest line of a pairs file accepted.
const FILE_MAX_LEN: usize = 200;
/// Beam width of the beam decoder.
const BEAM: usize = 5;

struct Setup {
    train: Vec<(String, String)>,
    test: Vec<(String, String)>,
    data: String,
    hidden: usize,
    epochs: usize,
}

fn setup(ctx: &Ctx) -> crate::Result<Setup> {
    let train_file = ctx.train_file(Kind::Pairs)?;
    let test_file = ctx.test_file(Kind::Pairs)?;
    if let Some(train_path) = train_file {
        let mut train = read_pairs(&train_path, FILE_MAX_LEN)?;
        let test = match &test_file {
            Some(p) => read_pairs(p, FILE_MAX_LEN)?,
            None => {
                let k = (train.len() / 10).max(1);
                if train.len() < 2 {
                    return Err(format!(
                        "{}: at least 2 pairs needed (one held out for testing)",
                        train_path.display()
                    )
                    .into());
                }
                train.split_off(train.len() - k)
            }
        };
        if test.is_empty() {
            return Err("seq2seq: the test file holds no pairs".into());
        }
        return Ok(Setup {
            data: format!(
                "{}: {} training pairs, {} test pairs{}",
                train_path.display(),
                train.len(),
                test.len(),
                if test_file.is_some() {
                    ""
                } else {
                    " (last 10 % held out)"
                }
            ),
            train,
            test,
            hidden: 64,
            epochs: ctx.epochs_or(20),
        });
    }
    if let Some(p) = test_file {
        if ctx.load.is_none() {
            return Err("seq2seq: --test needs --train (or --load)".into());
        }
        let test = read_pairs(&p, FILE_MAX_LEN)?;
        return Ok(Setup {
            data: format!("{}: {} test pairs", p.display(), test.len()),
            train: Vec::new(),
            test,
            hidden: 64,
            epochs: 0,
        });
    }
    let mut rng = optim::rng(ctx.seed);
    let train = reverse_task(3000, 10, 10, 15, &mut rng)?;
    let seen: std::collections::HashSet<&str> = train.iter().map(|(s, _)| s.as_str()).collect();
    let test: Vec<_> = reverse_task(600, 10, 10, 15, &mut rng)?
        .into_iter()
        .filter(|(s, _)| !seen.contains(s.as_str()))
        .take(300)
        .collect();
    Ok(Setup {
        data: format!(
            "generated: reverse strings of 10–15 over 10 letters, {} training pairs, {} held-out",
            train.len(),
            test.len()
        ),
        train,
        test,
        hidden: 32,
        epochs: ctx.epochs_or(4),
    })
}

fn metrics(
    out: &mut Outcome,
    model: &Seq2Seq<f32>,
    test: &Pairs,
    prefix: &str,
    beam: bool,
) -> crate::Result<()> {
    let g = model.evaluate_decoding(test, &DecodeOptions::default())?;
    out.metric(format!("{prefix}test_exact_accuracy"), g.exact_accuracy)
        .metric(format!("{prefix}test_cer"), g.cer);
    if beam {
        let b = model.evaluate_decoding(test, &DecodeOptions::beam(BEAM))?;
        out.metric(
            format!("{prefix}beam_test_exact_accuracy"),
            b.exact_accuracy,
        )
        .metric(format!("{prefix}beam_test_cer"), b.cer);
    }
    Ok(())
}

fn attention_plot(
    ctx: &Ctx,
    out: &mut Outcome,
    model: &Seq2Seq<f32>,
    test: &Pairs,
    test_pairs: &[(String, String)],
) -> crate::Result<()> {
    if model.config().attention == AttentionKind::None {
        return Ok(());
    }
    let hyp = &model.greedy(&[&test.sources[0]], &DecodeOptions::default())?[0];
    let file = "seq2seq_attention.svg";
    plot::heatmap(
        &ctx.out_path(file),
        &format!(
            "attention: {:?} → {:?}",
            test_pairs[0].0,
            model.vocab().decode(&hyp.tokens)
        ),
        &hyp.attention,
    )?;
    out.plot(
        file,
        "Attention weights of one test example: one row per output step (the last is the end \
         token), one column per source position, dark = large. On reversal the weight of output \
         step i lies on the anti-diagonal (source position n−1−i, or its right neighbour whose \
         encoder state has just read that character).",
    );
    Ok(())
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    let s = setup(ctx)?;
    let mut out = Outcome::new(
        "seq2seq",
        format!(
            "bidirectional GRU encoder ({0}) → GRU decoder ({1}), additive attention vs none, Adam, clip 1",
            s.hidden,
            2 * s.hidden
        ),
        s.data.clone(),
    );
    if let Some(path) = &ctx.load {
        let model: Seq2Seq<f32> = load_model(path)?;
        let c = model.config();
        out.model = format!(
            "loaded {}: {} encoder ({}{}) → decoder ({}), {} attention",
            path.display(),
            c.cell.name(),
            c.hidden,
            if c.bidirectional {
                ", bidirectional"
            } else {
                ""
            },
            c.decoder_hidden,
            c.attention.name()
        );
        let test = Pairs::encode(model.vocab(), &s.test);
        metrics(&mut out, &model, &test, "", true)?;
        out.metric("test_unknown_chars", test.unknown as f64);
        attention_plot(ctx, &mut out, &model, &test, &s.test)?;
        return Ok(out);
    }
    if s.train.is_empty() {
        return Err("seq2seq: no training pairs".into());
    }
    let vocab = Vocab::from_pairs(&s.train);
    let train = Pairs::encode(&vocab, &s.train);
    let test = Pairs::encode(&vocab, &s.test);
    let max_len = s
        .train
        .iter()
        .chain(&s.test)
        .map(|(a, b)| a.chars().count().max(b.chars().count()))
        .max()
        .unwrap_or(1);
    let batch = 32;
    let mut curves = Vec::new();
    let mut attention_model = None;
    for kind in [AttentionKind::Additive, AttentionKind::None] {
        let mut config = Seq2SeqConfig::new(vocab.clone(), 16, s.hidden, kind);
        // the decoding limit: twice the longest sequence seen
        config.max_len = 2 * max_len + 2;
        let mut model = Seq2Seq::<f32>::new(config, &mut optim::rng(ctx.seed + 1))?;
        let mut adam = optim::Adam::new(1e-2)?;
        let tc = TrainConfig::new(s.epochs, batch)
            .seed(ctx.seed)
            .clip_grad_norm(1.0)
            .cosine(train.len(), 5e-4);
        let total = (tc.steps_per_epoch(train.len()) * s.epochs) as u64;
        let bar = ctx
            .progress
            .bar(&format!("seq2seq {}", kind.name()), total, "steps");
        let mut curve = Vec::new();
        let (mut sum, mut count) = (0.0, 0usize);
        let test_file = ctx
            .test
            .as_ref()
            .map_or(String::new(), |t| format!(", test file {}", t.display()));
        ctx.fit_resumable(
            "seq2seq",
            &format!(
                "{} attention, hidden {}, on {}{test_file}, seed {}",
                kind.name(),
                s.hidden,
                s.data,
                ctx.seed
            ),
            &format!("seq2seq_{}.training.safetensors", kind.name()),
            &mut model,
            &train,
            None,
            &mut adam,
            &tc,
            &mut |p| {
                if let Progress::Step { step, loss, .. } = p {
                    sum += loss;
                    count += 1;
                    if count == 10 || step as u64 == total {
                        curve.push((step as f64, sum / count as f64));
                        (sum, count) = (0.0, 0);
                    }
                    bar.update(step as u64, loss, (step * batch) as u64);
                }
            },
        )?;
        bar.finish();
        let label = if kind == AttentionKind::None {
            "no attention"
        } else {
            "additive attention"
        };
        curves.push((label.to_string(), curve));
        let file = format!("seq2seq_{}.safetensors", kind.name());
        save_model(ctx.out_path(&file), &mut model, &[])?;
        out.models.push(file);
        out.models
            .push(format!("seq2seq_{}.training.safetensors", kind.name()));
        if kind == AttentionKind::None {
            metrics(&mut out, &model, &test, "no_attention_", false)?;
        } else {
            metrics(&mut out, &model, &test, "", true)?;
            attention_model = Some(model);
        }
    }
    out.metric("train_pairs", train.len() as f64)
        .metric("test_unknown_chars", test.unknown as f64);
    plot::lines(
        &ctx.out_path("seq2seq_curves.svg"),
        "Training loss with and without attention",
        "optimizer step",
        "cross-entropy per token (log scale)",
        &curves,
        true,
    )?;
    out.plot(
        "seq2seq_curves.svg",
        "Training cross-entropy per target token (mean of 10 steps): with attention the decoder \
         reads the source directly; without it everything must pass through the encoder's final \
         state, and the loss falls much more slowly.",
    );
    if let Some(model) = &attention_model {
        attention_plot(ctx, &mut out, model, &test, &s.test)?;
    }
    Ok(out)
}
