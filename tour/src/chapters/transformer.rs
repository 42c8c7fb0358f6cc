//! §8 from sequences to the global view: the Transformer drops recurrence and models global
//! dependencies with attention — every position reads every other position in one step.
//!
//! A character-level GPT (decoder-only, causal self-attention, pre-LN, learned positions, tied
//! embeddings) trained through optim's loop with AdamW, warm-up + cosine and clipping; first
//! 90 % of the text for training, last 10 % for validation; `--epochs N` is the number of
//! optimizer steps. Generated data (default): words of 4 letters and their reversals
//! (`abcd=dcba`), where the letters of a word are random (entropy floor 0.832 nats/char) and
//! every other character is determined; a model that reverses predicts all of them. With
//! `--train FILE` (any UTF-8 text) or tiny Shakespeare in `--data-dir`: a 2-layer, 128-wide
//! model. Reports validation and training nats per character, draws the loss curves and the
//! attention map of one head, writes a sample continued from a prompt taken from the
//! validation text, and saves the model (`--load` evaluates a saved one without training).
//!
//! Beside it, always on generated data: the original encoder–decoder (1 encoder block, 1 decoder
//! layer with cross-attention, width 32) on the seq2seq chapter's reversal task (3 to 6 letters
//! of 8), reported as the exact-sequence accuracy of greedy decoding on 500 test pairs, with its
//! cross-attention map; `--load` evaluates `transformer_encdec.safetensors` if it lies beside
//! the loaded GPT.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use optim::checkpoint::{load_model, load_model_with_metadata, save_model};
use optim::data::{CharVocab, load_text};
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Adam, Schedule};
use transformer::data::{TokenWindows, reversal_targets, reversal_text, split_tokens};
use transformer::seq2seq::{EncDecConfig, EncoderDecoder, reversal_pairs};
use transformer::{Gpt, GptConfig, Sampling, SeqShape};

/// Letters per word of the generated text.
const WORD: usize = 4;
/// Characters per record `w=r\n`.
const RECORD: usize = 2 * WORD + 2;
/// Records of the generated text.
const RECORDS: usize = 2000;
/// Validation evaluations over a run (points of the validation curve).
const EVALUATIONS: usize = 5;
/// Validation windows evaluated per point of the curve on a file (the final figure uses all).
const CURVE_WINDOWS: usize = 256;
/// The saved model's file name.
const MODEL_FILE: &str = "transformer_gpt.safetensors";

/// The sizes of one run.
struct Setup {
    width: usize,
    layers: usize,
    heads: usize,
    context: usize,
    batch: usize,
    steps: usize,
    lr: f64,
}

/// Fraction of the determined characters of the reversal text (separator, reversed word,
/// newline) predicted exactly (arg max), over windows aligned with the records.
fn reversal_accuracy(model: &Gpt<f32>, ids: &[usize], determined: &[bool]) -> crate::Result<f64> {
    let context = (model.config().context / RECORD).max(1) * RECORD;
    let context = context.min(model.config().context);
    let (mut right, mut total) = (0usize, 0usize);
    let mut start = 0;
    while start + context < ids.len() {
        let logits = model.logits(&ids[start..start + context], SeqShape::new(context, 1))?;
        for p in 0..context {
            let target = start + p + 1;
            if determined[target] {
                total += 1;
                let column = logits.column(p);
                let best = (0..column.len())
                    .max_by(|&a, &b| column[a].total_cmp(&column[b]))
                    .unwrap_or(0);
                right += usize::from(best == ids[target]);
            }
        }
        start += context;
    }
    Ok(right as f64 / total.max(1) as f64)
}

/// The first `n` windows of `windows` (for cheap curve points).
fn first_windows(tokens: &[usize], context: usize, n: usize) -> crate::Result<TokenWindows> {
    let take = (n * context + 1).min(tokens.len());
    Ok(TokenWindows::chunks(tokens[..take].to_vec(), context)?)
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.test.is_some() {
        return Err(
            "transformer: --test is not used by this chapter (it keeps the last 10 % of the text \
             for validation)"
                .into(),
        );
    }
    let file = ctx.train_file(Kind::Text)?;
    let (text, data) = match &file {
        Some(path) => (load_text(path)?, path.display().to_string()),
        None => (
            reversal_text(RECORDS, WORD, 8, &mut optim::rng(ctx.seed)),
            format!("generated: {RECORDS} words of {WORD} letters (of 8) and their reversals"),
        ),
    };
    let generated = file.is_none();
    let setup = if generated {
        Setup {
            width: 32,
            layers: 2,
            heads: 4,
            context: RECORD,
            batch: 32,
            steps: ctx.epochs_or(600),
            lr: 3e-3,
        }
    } else {
        Setup {
            width: 128,
            layers: 2,
            heads: 4,
            context: 64,
            batch: 32,
            steps: ctx.epochs_or(1000),
            lr: 3e-3,
        }
    };
    if setup.steps == 0 {
        return Err("transformer: --epochs (training steps) must be at least 1".into());
    }
    let (model, vocab, curves) = match &ctx.load {
        Some(path) => {
            let (model, metadata): (Gpt<f32>, _) = load_model_with_metadata(path)?;
            let chars = metadata.get("vocabulary").ok_or_else(|| {
                format!(
                    "{}: no `vocabulary` entry in the metadata (not a model of this chapter)",
                    path.display()
                )
            })?;
            let vocab = CharVocab::from_text(chars);
            if vocab.len() != model.config().vocab {
                return Err(format!(
                    "{}: the vocabulary has {} characters but the model {}",
                    path.display(),
                    vocab.len(),
                    model.config().vocab
                )
                .into());
            }
            (model, vocab, None)
        }
        None => {
            let vocab = CharVocab::from_text(&text);
            let (model, curves) = train(ctx, &text, &data, &vocab, &setup, generated)?;
            (model, vocab, Some(curves))
        }
    };
    let context = model.config().context;
    let ids = vocab
        .encode(&text)
        .map_err(|e| format!("transformer: the text does not fit the model's vocabulary: {e}"))?;
    let (train_ids, validation_ids) = split_tokens(&ids, 0.1)?;
    let eval_context = if generated {
        (context / RECORD).max(1) * RECORD
    } else {
        context
    }
    .min(context);
    let validation = TokenWindows::chunks(validation_ids.clone(), eval_context)
        .map_err(|e| format!("transformer: validation part too short: {e}"))?;
    let validation_nats = model.evaluate(&validation)?.loss;
    // the training figure on as many training windows as validation ones (the end of the
    // training part, starting on a record boundary for the generated text)
    let tail = train_ids.len().saturating_sub(validation_ids.len());
    let tail = if generated {
        tail - tail % RECORD
    } else {
        tail
    };
    let train_eval = TokenWindows::chunks(train_ids[tail..].to_vec(), eval_context)?;
    let train_nats = model.evaluate(&train_eval)?.loss;

    let params = GptConfig::parameter_count(model.config()).unwrap_or(0);
    let c = model.config();
    let mut out = Outcome::new(
        "transformer",
        format!(
            "character GPT: {} layers, {} heads, width {}, context {}, {} parameters",
            c.layers, c.heads, c.width, c.context, params
        ),
        data,
    );
    out.metric("validation_nats_per_char", validation_nats)
        .metric("train_nats_per_char", train_nats)
        .metric("parameters", params as f64);
    if generated {
        let determined = reversal_targets(&text, WORD);
        let cut = train_ids.len();
        let accuracy = reversal_accuracy(&model, &validation_ids, &determined[cut..])?;
        out.metric("reversal_determined_accuracy", accuracy);
        out.reference(
            "validation_nats_per_char",
            (WORD as f64) * 8f64.ln() / RECORD as f64,
            "entropy floor: 4 random letters of 8 in every 10 characters",
        );
    } else {
        out.reference(
            "validation_nats_per_char",
            1.88,
            "nanoGPT's CPU character model (4 layers, width 128, 2000 iterations of 12 x 64)",
        );
    }

    if let Some((train_curve, validation_curve, steps)) = curves {
        out.metric("steps", steps as f64);
        plot::lines(
            &ctx.out_path("transformer_loss.svg"),
            "Character GPT: loss while training",
            "optimizer step",
            "nats per character",
            &[
                ("training (mean of 10 steps)".to_string(), train_curve),
                ("validation".to_string(), validation_curve),
            ],
            false,
        )?;
        out.plot(
            "transformer_loss.svg",
            "Training loss (training mode, mean of each 10 steps) and validation loss \
             (evaluation mode) of the character GPT, in nats per character.",
        );
        let mut model = model.clone();
        save_model(
            ctx.out_path(MODEL_FILE),
            &mut model,
            &[
                ("vocabulary", vocab.chars().iter().collect::<String>()),
                ("validation_nats_per_char", validation_nats.to_string()),
            ],
        )?;
        out.models.push(MODEL_FILE.into());
    }

    // one attention map: the last block's first head over the start of the validation text
    let span = validation_ids
        .len()
        .min(context)
        .min(if generated { 30 } else { 40 });
    let probe = &validation_ids[..span];
    let last = model.config().layers - 1;
    let maps = model.attention_map(probe, last)?;
    let map = &maps[0];
    // rows = queries, columns = keys (the weights are stored key x query)
    let values: Vec<Vec<f64>> = (0..span)
        .map(|q| (0..span).map(|k| f64::from(map[(k, q)])).collect())
        .collect();
    let shown: String = vocab
        .decode(probe)
        .chars()
        .map(|ch| if ch == '\n' { '⏎' } else { ch })
        .collect();
    plot::heatmap(
        &ctx.out_path("transformer_attention.svg"),
        &format!("Block {}, head 1 on \"{shown}\"", last + 1),
        &values,
    )?;
    out.plot(
        "transformer_attention.svg",
        format!(
            "Attention weights of the last block's first head on the first {span} validation \
             characters: row = query position, column = key (dark = large); the causal mask \
             leaves the upper triangle empty."
        ),
    );

    // a sample continued from a prompt taken from the validation text itself; on the generated
    // text, each of the first 5 validation words with its `=` (the model writes the reversal)
    let sampling = Sampling::temperature(0.8).with_top_k(20);
    let mut rng = optim::rng(ctx.seed ^ 0x5a);
    let sample = if generated {
        let mut lines = String::new();
        for record in validation_ids.chunks_exact(RECORD).take(5) {
            let prompt = &record[..=WORD];
            let g = model.generate(prompt, WORD + 1, &sampling, &mut rng)?;
            lines.push_str(&vocab.decode(prompt));
            lines.push_str(&vocab.decode(&g.tokens));
        }
        lines.trim_end().to_string()
    } else {
        let prompt = &validation_ids[..validation_ids.len().min(32)];
        let g = model.generate(prompt, 300, &sampling, &mut rng)?;
        format!("{}{}", vocab.decode(prompt), vocab.decode(&g.tokens))
    };
    std::fs::write(
        ctx.out_path("transformer_sample.txt"),
        format!("{sample}\n"),
    )
    .map_err(|e| format!("cannot write transformer_sample.txt: {e}"))?;
    eprintln!("transformer sample (prompt from the validation text):\n{sample}");
    encoder_decoder(ctx, &mut out)?;
    Ok(out)
}

/// Letters of the encoder–decoder's reversal task.
const LETTERS: usize = 8;
/// Longest reversal sequence.
const MAX_LEN: usize = 6;
/// The saved encoder–decoder's file name (next to the GPT's).
const ENCDEC_FILE: &str = "transformer_encdec.safetensors";

/// The original encoder–decoder on the seq2seq reversal task (3 to 6 letters of 8): trained
/// here, or loaded from `transformer_encdec.safetensors` beside a `--load` file if it is there.
fn encoder_decoder(ctx: &Ctx, out: &mut Outcome) -> crate::Result<()> {
    let mut rng = optim::rng(ctx.seed ^ 0xed);
    let train = reversal_pairs(2000, (3, MAX_LEN), LETTERS, &mut rng);
    let test = reversal_pairs(500, (3, MAX_LEN), LETTERS, &mut rng);
    let model: EncoderDecoder<f32> = match &ctx.load {
        Some(path) => {
            let sibling = path.with_file_name(ENCDEC_FILE);
            if !sibling.exists() {
                return Ok(());
            }
            load_model(&sibling)?
        }
        None => {
            let config = EncDecConfig::new(LETTERS, LETTERS + 2, MAX_LEN)
                .with_width(32)
                .with_heads(4)
                .with_layers(1, 1)
                .with_ff_width(64);
            let mut model = EncoderDecoder::<f32>::new(&config, &mut optim::rng(ctx.seed))?;
            let epochs = 12;
            let settings = TrainConfig::new(epochs, 32);
            let steps = settings.steps_per_epoch(train.len()) * epochs;
            let settings = settings
                .schedule(Schedule::CosineWarmup {
                    warmup: 30,
                    total: steps,
                    min_lr: 1e-4,
                })
                .clip_grad_norm(1.0)
                .seed(ctx.seed ^ 0x3d);
            let bar = ctx.progress.bar("encoder-decoder", steps as u64, "steps");
            model.fit(
                &train,
                None,
                &mut Adam::adamw(3e-3, 0.01)?,
                &settings,
                &mut |p| {
                    if let Progress::Step { step, loss, .. } = p
                        && (step % 10 == 0 || step == steps)
                    {
                        bar.update(step as u64, loss, (step * 32) as u64);
                    }
                },
            )?;
            bar.finish();
            let mut saved = model.clone();
            save_model(ctx.out_path(ENCDEC_FILE), &mut saved, &[])?;
            out.models.push(ENCDEC_FILE.into());
            model
        }
    };
    let exact = (0..test.len())
        .filter(|&i| {
            model
                .translate(&test.sources[i], MAX_LEN)
                .is_ok_and(|t| t == test.targets[i])
        })
        .count() as f64
        / test.len() as f64;
    out.metric("encoder_decoder_reversal_exact_accuracy", exact);
    // cross-attention of the last decoder layer on one test pair: the reversal's anti-diagonal
    let (src, tgt) = (&test.sources[0], &test.targets[0]);
    let map = model.cross_attention_map(src, tgt, model.config().decoder_layers - 1, 0)?;
    let values: Vec<Vec<f64>> = (0..map.ncols())
        .map(|q| (0..map.nrows()).map(|k| f64::from(map[(k, q)])).collect())
        .collect();
    let letters = |s: &[usize]| -> String { s.iter().map(|&i| (b'a' + i as u8) as char).collect() };
    plot::heatmap(
        &ctx.out_path("transformer_cross_attention.svg"),
        &format!("Cross-attention: {} -> {}", letters(src), letters(tgt)),
        &values,
    )?;
    out.plot(
        "transformer_cross_attention.svg",
        "Encoder-decoder on the reversal task: cross-attention weights of the decoder's first \
         head (row = target position, bos first; column = source position, dark = large); each \
         output position reads the mirrored source position.",
    );
    Ok(())
}

/// `(training curve, validation curve, steps)`.
type Curves = (Vec<(f64, f64)>, Vec<(f64, f64)>, usize);

/// The GPT's training checkpoint, written after every epoch (`--resume` continues from it).
const TRAINING_FILE: &str = "transformer_gpt.training.safetensors";

fn train(
    ctx: &Ctx,
    text: &str,
    data: &str,
    vocab: &CharVocab,
    s: &Setup,
    generated: bool,
) -> crate::Result<(Gpt<f32>, Curves)> {
    let ids = vocab.encode(text)?;
    let (train_ids, validation_ids) = split_tokens(&ids, 0.1)?;
    if train_ids.len() <= s.context || validation_ids.len() <= s.context {
        return Err(format!(
            "transformer: the text has {} characters; it needs more than {} in each of the \
             training (90 %) and validation (10 %) parts",
            ids.len(),
            s.context
        )
        .into());
    }
    let config = GptConfig::new(vocab.len(), s.context)
        .with_width(s.width)
        .with_layers(s.layers)
        .with_heads(s.heads);
    let mut rng = optim::rng(ctx.seed);
    let mut model = Gpt::<f32>::new(&config, &mut rng)?;
    // generated text: one record per window, aligned (position p of the reversal reads
    // position 2·WORD − p); a file: random windows, EVALUATIONS epochs
    let (train, per_epoch) = if generated {
        let windows = TokenWindows::strided(train_ids, s.context, RECORD)?;
        let per_epoch = windows.len().div_ceil(s.batch);
        (windows, per_epoch)
    } else {
        let per_epoch = s.steps.div_ceil(EVALUATIONS).max(1);
        let windows = TokenWindows::random(train_ids, s.context, per_epoch * s.batch, &mut rng)?;
        (windows, per_epoch)
    };
    let epochs = s.steps.div_ceil(per_epoch);
    let validation = if generated {
        TokenWindows::strided(validation_ids, s.context, RECORD)?
    } else {
        first_windows(&validation_ids, s.context, CURVE_WINDOWS)?
    };
    let settings = TrainConfig::new(epochs, s.batch)
        .schedule(Schedule::CosineWarmup {
            warmup: (s.steps / 20).max(1),
            total: epochs * per_epoch,
            min_lr: s.lr / 10.0,
        })
        .clip_grad_norm(1.0)
        .seed(ctx.seed ^ 0x7f);
    let mut adamw = Adam::adamw(s.lr, 0.1)?;
    let total = epochs * per_epoch;
    let bar = ctx.progress.bar("transformer", total as u64, "steps");
    let (mut train_curve, mut window) = (Vec::new(), (0.0, 0usize));
    let run = format!(
        "GPT {} layers, {} heads, width {}, context {}, batch {}, {per_epoch} steps per epoch \
         on {data}, seed {}",
        s.layers, s.heads, s.width, s.context, s.batch, ctx.seed
    );
    let history = ctx.fit_resumable(
        "transformer",
        &run,
        TRAINING_FILE,
        &mut model,
        &train,
        Some(&validation),
        &mut adamw,
        &settings,
        &mut |p| {
            if let Progress::Step { step, loss, .. } = p {
                window = (window.0 + loss, window.1 + 1);
                if window.1 == 10 || step == total {
                    train_curve.push((step as f64, window.0 / window.1 as f64));
                    window = (0.0, 0);
                }
                if step % 10 == 0 || step == total {
                    bar.update(step as u64, loss, (step * s.batch * s.context) as u64);
                }
            }
        },
    )?;
    bar.finish();
    let validation_curve = history
        .epochs
        .iter()
        .filter_map(|e| {
            e.validation
                .map(|v| (((e.epoch * per_epoch).min(history.steps)) as f64, v.loss))
        })
        .collect();
    Ok((model, (train_curve, validation_curve, history.steps)))
}
