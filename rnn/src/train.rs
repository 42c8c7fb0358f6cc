//! Training loops for the chapter's tasks, each reporting progress through a callback (for the
//! tour's progress bars and plots) and returning the trained model with its figures.

use crate::cell::CellKind;
use crate::model::{Encoding, Input, ModelConfig, Readout, SeqModel, StepOptions, Target};
use crate::rnn::{RnnConfig, RnnState};
use crate::tasks::{self, ArModel, CharCorpus, Streams};
use optim::{Adam, Error, Float, Mat, Result};
use std::time::Instant;

/// One progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Optimizer steps so far.
    pub step: usize,
    /// Planned steps (0 if the run is bounded by time).
    pub total: usize,
    /// Training loss of the last step (MSE or nats per step).
    pub loss: f64,
    /// An evaluation on held-out data, when one was made at this step: `(name, value)`.
    pub eval: Option<(&'static str, f64)>,
}

/// The adding problem, trained on fresh batches (an endless supply of data).
#[derive(Debug, Clone, PartialEq)]
pub struct AddingConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Sequence length `T` (default 100).
    pub steps: usize,
    /// Hidden units (default 64).
    pub hidden: usize,
    /// Sequences per batch (default 32).
    pub batch: usize,
    /// Optimizer steps (default 2000).
    pub iterations: usize,
    /// Adam's learning rate (default 1e-2).
    pub lr: f64,
    /// Gradient-norm clipping (default 1.0).
    pub clip: Option<f64>,
    /// LSTM forget-gate bias (default 1.0).
    pub forget_bias: Option<f64>,
    /// Test sequences (default 1000).
    pub test_size: usize,
    /// Evaluate on the test set every this many steps (default 100; 0 = only at the end).
    pub eval_every: usize,
    /// Seed of data and initialization.
    pub seed: u64,
}

impl Default for AddingConfig {
    fn default() -> Self {
        AddingConfig {
            cell: CellKind::Lstm,
            steps: 100,
            hidden: 64,
            batch: 32,
            iterations: 2000,
            lr: 1e-2,
            clip: Some(1.0),
            forget_bias: Some(1.0),
            test_size: 1000,
            eval_every: 100,
            seed: 0,
        }
    }
}

/// The result of [`train_adding`].
#[derive(Debug, Clone)]
pub struct AddingReport<F: Float> {
    /// The trained model.
    pub model: SeqModel<F>,
    /// Test MSE at the end (the mean predictor scores 1/6 ≈ 0.167).
    pub test_mse: f64,
    /// `(step, test MSE)` at each evaluation.
    pub curve: Vec<(usize, f64)>,
}

fn mse_of<F: Float>(model: &SeqModel<F>, x: &crate::Seq<F>, y: &Mat<F>) -> Result<f64> {
    let (p, _) = model.predict(Input::Dense(x), None)?;
    Ok(optim::loss::mse(&p, y)?.0.to_f64())
}

/// Trains a sequence-to-one regressor on the adding problem.
///
/// # Errors
/// Invalid configuration, a non-finite loss.
pub fn train_adding<F: Float>(
    cfg: &AddingConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<AddingReport<F>> {
    let mut rng = optim::rng(cfg.seed);
    let mut rnn = RnnConfig::new(cfg.cell, 2, cfg.hidden);
    rnn.forget_bias = cfg.forget_bias;
    let mut model = SeqModel::new(
        ModelConfig {
            rnn,
            encoding: Encoding::Dense,
            outputs: 1,
            readout: Readout::Last,
        },
        &mut rng,
    )?;
    let mut test_rng = optim::rng(cfg.seed ^ 0x7e57);
    let (tx, ty) = tasks::adding_problem::<F>(cfg.steps, cfg.test_size, &mut test_rng)?;
    let mut opt = Adam::new(cfg.lr)?;
    let options = StepOptions {
        clip: cfg.clip,
        ..Default::default()
    };
    let mut curve = Vec::new();
    for step in 1..=cfg.iterations {
        let (x, y) = tasks::adding_problem::<F>(cfg.steps, cfg.batch, &mut rng)?;
        let loss =
            model.train_step(Input::Dense(&x), Target::Regression(&y), &mut opt, &options)?;
        let eval = if (cfg.eval_every > 0 && step % cfg.eval_every == 0) || step == cfg.iterations {
            let m = mse_of(&model, &tx, &ty)?;
            curve.push((step, m));
            Some(("test mse", m))
        } else {
            None
        };
        progress(&Progress {
            step,
            total: cfg.iterations,
            loss,
            eval,
        });
    }
    let test_mse = curve.last().map_or(f64::NAN, |c| c.1);
    Ok(AddingReport {
        model,
        test_mse,
        curve,
    })
}

/// A character-level language model trained by stateful truncated BPTT.
#[derive(Debug, Clone, PartialEq)]
pub struct CharLmConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Hidden units (default 256).
    pub hidden: usize,
    /// Layers (default 1).
    pub layers: usize,
    /// Embedding width, or `None` for one-hot input (default `Some(64)`).
    pub embedding: Option<usize>,
    /// Parallel streams per batch (default 32).
    pub batch: usize,
    /// Steps per chunk: the truncation length `k1 = k2` (default 64).
    pub steps: usize,
    /// Adam's learning rate (default 3e-3).
    pub lr: f64,
    /// Gradient-norm clipping (default 1.0).
    pub clip: Option<f64>,
    /// Stop after this many optimizer steps (default 2000).
    pub max_steps: usize,
    /// Stop after this many seconds of training (default: none).
    pub max_seconds: Option<f64>,
    /// Evaluate on the validation text every this many steps (default 0: only at the end).
    pub eval_every: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for CharLmConfig {
    fn default() -> Self {
        CharLmConfig {
            cell: CellKind::Lstm,
            hidden: 256,
            layers: 1,
            embedding: Some(64),
            batch: 32,
            steps: 64,
            lr: 3e-3,
            clip: Some(1.0),
            max_steps: 2000,
            max_seconds: None,
            eval_every: 0,
            seed: 0,
        }
    }
}

/// The result of [`train_char_lm`].
#[derive(Debug, Clone)]
pub struct CharLmReport<F: Float> {
    /// The trained model.
    pub model: SeqModel<F>,
    /// Validation cross-entropy in nats per character at the end.
    pub valid_nats: f64,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Training seconds (without evaluations).
    pub seconds: f64,
    /// `(step, validation nats)` at each evaluation.
    pub curve: Vec<(usize, f64)>,
}

/// Builds the character model of `cfg` for a vocabulary of `vocab`.
pub fn char_model<F: Float>(
    cfg: &CharLmConfig,
    vocab: usize,
    rng: &mut impl rand::Rng,
) -> Result<SeqModel<F>> {
    let (encoding, input) = match cfg.embedding {
        Some(dim) => (Encoding::Embedding { vocab, dim }, dim),
        None => (Encoding::OneHot(vocab), vocab),
    };
    SeqModel::new(
        ModelConfig {
            rnn: RnnConfig::new(cfg.cell, input, cfg.hidden).layers(cfg.layers),
            encoding,
            outputs: vocab,
            readout: Readout::Every,
        },
        rng,
    )
}

/// Trains a character model on `corpus.train` by stateful truncated BPTT: the training text is
/// cut into `batch` streams, each chunk of `steps` characters starts from the previous chunk's
/// final state (BPTT(k, k) with an update after every chunk), and the validation text is scored
/// with [`tasks::evaluate_nats`]. Epochs repeat until `max_steps` or `max_seconds`.
///
/// # Errors
/// Invalid configuration, a text too short, a non-finite loss.
pub fn train_char_lm<F: Float>(
    cfg: &CharLmConfig,
    corpus: &CharCorpus,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CharLmReport<F>> {
    let mut rng = optim::rng(cfg.seed);
    let mut model = char_model::<F>(cfg, corpus.vocab.len(), &mut rng)?;
    let mut opt = Adam::new(cfg.lr)?;
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    let mut curve = Vec::new();
    let mut seconds = 0.0;
    let mut step = 0;
    let total = if cfg.max_seconds.is_some() {
        0
    } else {
        cfg.max_steps
    };
    'epochs: for epoch in 0.. {
        // a different cut each epoch, so chunk boundaries move
        let offset = (epoch * 7919) % cfg.steps.max(1);
        let streams = Streams::new(
            &corpus.train[offset.min(corpus.train.len() - 1)..],
            cfg.batch,
            cfg.steps,
        )?;
        let mut state: Option<RnnState<F>> = None;
        for k in 0..streams.chunks() {
            if step >= cfg.max_steps || cfg.max_seconds.is_some_and(|s| seconds >= s) {
                break 'epochs;
            }
            let start = Instant::now();
            streams.chunk(k, &mut inputs, &mut targets);
            let options = StepOptions {
                clip: cfg.clip,
                truncation: None,
                initial: state.as_ref(),
            };
            let loss = model.train_step(
                Input::Tokens {
                    ids: &inputs,
                    steps: cfg.steps,
                    batch: cfg.batch,
                },
                Target::Classes(&targets),
                &mut opt,
                &options,
            )?;
            state = Some(model.rnn.final_state());
            seconds += start.elapsed().as_secs_f64();
            step += 1;
            let eval = if cfg.eval_every > 0 && step % cfg.eval_every == 0 {
                let v = tasks::evaluate_nats(&model, &corpus.valid, cfg.batch, cfg.steps)?;
                curve.push((step, v));
                Some(("valid nats/char", v))
            } else {
                None
            };
            progress(&Progress {
                step,
                total,
                loss,
                eval,
            });
        }
    }
    let valid_nats = match curve.last() {
        Some(&(s, v)) if s == step => v,
        _ => {
            let v = tasks::evaluate_nats(&model, &corpus.valid, cfg.batch, cfg.steps)?;
            curve.push((step, v));
            v
        }
    };
    Ok(CharLmReport {
        model,
        valid_nats,
        steps: step,
        seconds,
        curve,
    })
}

/// Yearly sunspots: one-step-ahead prediction from a window of past years.
#[derive(Debug, Clone, PartialEq)]
pub struct SunspotsConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Years in each input window (default 12, as the AR(12) baseline).
    pub lags: usize,
    /// Hidden units (default 8; chosen with `iterations` on a validation split, training on
    /// ≤ 1900 and scoring 1901–1920, among 4/8/16 units and 200–1500 steps).
    pub hidden: usize,
    /// Full-batch Adam steps (default 800).
    pub iterations: usize,
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Last training year (default 1920).
    pub train_end: u32,
    /// Test years, inclusive (default 1921–1955).
    pub test: (u32, u32),
    /// Years whose variance normalizes the ARV, inclusive (default 1700–1979).
    pub variance_span: (u32, u32),
    /// Number of networks averaged (an ensemble over seeds; default 5).
    pub ensemble: usize,
    /// Seed of the first network.
    pub seed: u64,
}

impl Default for SunspotsConfig {
    fn default() -> Self {
        SunspotsConfig {
            cell: CellKind::Lstm,
            lags: 12,
            hidden: 8,
            iterations: 800,
            lr: 1e-2,
            train_end: 1920,
            test: (1921, 1955),
            variance_span: (1700, 1979),
            ensemble: 5,
            seed: 0,
        }
    }
}

/// The result of [`train_sunspots`].
#[derive(Debug, Clone)]
pub struct SunspotsReport {
    /// Network ARV on the training years.
    pub net_train_arv: f64,
    /// Network ARV on the test years.
    pub net_test_arv: f64,
    /// AR(`lags`) least-squares baseline on the training years.
    pub ar_train_arv: f64,
    /// AR(`lags`) baseline on the test years.
    pub ar_test_arv: f64,
    /// `(year, actual, network, AR)` for each test year, for plots.
    pub test_predictions: Vec<(u32, f64, f64, f64)>,
}

/// Trains the network (an average of `ensemble` seeds) and the AR baseline on yearly sunspots.
///
/// # Errors
/// Years not covering the configured spans, a non-finite loss.
pub fn train_sunspots(
    cfg: &SunspotsConfig,
    years: &[u32],
    values: &[f64],
    progress: &mut dyn FnMut(&Progress),
) -> Result<SunspotsReport> {
    let index_of = |y: u32| {
        years
            .iter()
            .position(|&v| v == y)
            .ok_or_else(|| Error::Data(format!("sunspots: year {y} missing")))
    };
    let train_last = index_of(cfg.train_end)?;
    let (test_lo, test_hi) = (index_of(cfg.test.0)?, index_of(cfg.test.1)?);
    let (var_lo, var_hi) = (
        index_of(cfg.variance_span.0)?,
        index_of(cfg.variance_span.1)?,
    );
    let var = tasks::variance(&values[var_lo..=var_hi]);
    let train = cfg.lags..train_last + 1;
    let test = test_lo..test_hi + 1;

    let ar = ArModel::fit(values, cfg.lags, train.clone())?;
    let ar_pred = |r: std::ops::Range<usize>| r.map(|i| ar.predict(values, i)).collect::<Vec<_>>();
    let ar_train_arv = tasks::arv(&ar_pred(train.clone()), &values[train.clone()], var);
    let ar_test_arv = tasks::arv(&ar_pred(test.clone()), &values[test.clone()], var);

    // scale to about [0, 1] by the training maximum
    let scale = values[..=train_last]
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-9);
    let scaled: Vec<f32> = values.iter().map(|v| (v / scale) as f32).collect();
    let (x_train, y_train) = tasks::lag_windows(&scaled, cfg.lags, train.clone())?;
    let (x_test, _) = tasks::lag_windows(&scaled, cfg.lags, test.clone())?;
    let mut sum_train = vec![0.0; train.len()];
    let mut sum_test = vec![0.0; test.len()];
    let total = cfg.iterations * cfg.ensemble.max(1);
    let mut done = 0;
    for e in 0..cfg.ensemble.max(1) {
        let mut rng = optim::rng(cfg.seed + e as u64);
        let mut model = SeqModel::<f32>::new(
            ModelConfig::dense(cfg.cell, 1, cfg.hidden, 1, Readout::Last),
            &mut rng,
        )?;
        let mut opt = Adam::new(cfg.lr)?;
        let options = StepOptions {
            clip: Some(1.0),
            ..Default::default()
        };
        for _ in 0..cfg.iterations {
            let loss = model.train_step(
                Input::Dense(&x_train),
                Target::Regression(&y_train),
                &mut opt,
                &options,
            )?;
            done += 1;
            progress(&Progress {
                step: done,
                total,
                loss,
                eval: None,
            });
        }
        let (p_train, _) = model.predict(Input::Dense(&x_train), None)?;
        let (p_test, _) = model.predict(Input::Dense(&x_test), None)?;
        for (s, p) in sum_train.iter_mut().zip(p_train.iter()) {
            *s += *p as f64 * scale;
        }
        for (s, p) in sum_test.iter_mut().zip(p_test.iter()) {
            *s += *p as f64 * scale;
        }
    }
    let n = cfg.ensemble.max(1) as f64;
    let net_train: Vec<f64> = sum_train.iter().map(|s| s / n).collect();
    let net_test: Vec<f64> = sum_test.iter().map(|s| s / n).collect();
    let net_train_arv = tasks::arv(&net_train, &values[train], var);
    let net_test_arv = tasks::arv(&net_test, &values[test.clone()], var);
    let ar_test = ar_pred(test.clone());
    let test_predictions = test
        .clone()
        .enumerate()
        .map(|(k, i)| (years[i], values[i], net_test[k], ar_test[k]))
        .collect();
    Ok(SunspotsReport {
        net_train_arv,
        net_test_arv,
        ar_train_arv,
        ar_test_arv,
        test_predictions,
    })
}
