//! Training runs for the chapter's tasks. All report through the workspace's one set of types
//! (`optim::train::{Progress, EpochRecord, History}`) and take the loop's settings (epochs,
//! batch size, schedule, clipping, seed) as one [`optim::TrainConfig`]; task configs hold only
//! what is specific to the task (sequence length, widths, data spans).
//!
//! - sunspots: a fixed set of windows, trained by the shared [`optim::train::fit`] through
//!   [`SeqModel`]'s [`Trainable`] implementation ([`Sequences`]);
//! - the adding problem: a fresh batch for every step (an endless supply of data), so its loop
//!   samples instead of shuffling a data set; an "epoch" is `steps_per_epoch` steps followed by
//!   the test evaluation; it resumes exactly ([`train_adding_resume`]: the model, Adam's
//!   state and the loop position, generator included, in one training-state file through
//!   [`optim::checkpoint::TrainingParts`], written by [`SampledRun::save`] after any epoch);
//! - the character model: stateful truncated BPTT over text streams, where each chunk starts from
//!   the previous chunk's final state — an order the shared loop's shuffling would destroy; an
//!   "epoch" is again `steps_per_epoch` steps followed by the validation evaluation.

use crate::cell::CellKind;
use crate::data::Sequences;
use crate::model::{Encoding, Input, ModelConfig, Readout, SeqModel, StepOptions, Target};
use crate::rnn::{RnnConfig, RnnState};
use crate::tasks::{self, ArModel, CharCorpus, Streams};
use optim::checkpoint::{Restore, Saveable, TrainingFile, TrainingParts};
use optim::init::RngState;
use optim::train::{EpochRecord, Evaluation, Flow, History, Progress, TrainConfig, Trainable};
use optim::{Adam, Error, Float, Mat, Optimizer, Result};
use std::path::Path;
use std::time::Instant;

/// The per-step part of the sampled loops: the scheduled rate, one step, the step report.
struct SampledLoop<'a> {
    config: &'a TrainConfig,
    steps_per_epoch: usize,
    base_lr: f64,
    step: usize,
    /// Epochs done before this call (a resumed run numbers its epochs from the run's start).
    done: usize,
    history: History,
    epoch_loss: f64,
    epoch_steps: usize,
    started: Instant,
}

impl<'a> SampledLoop<'a> {
    fn new(config: &'a TrainConfig, steps_per_epoch: usize, base_lr: f64) -> Result<Self> {
        config.validate()?;
        if steps_per_epoch == 0 {
            return Err(Error::hyper("steps_per_epoch", 0, "must be at least 1"));
        }
        Ok(SampledLoop {
            config,
            steps_per_epoch,
            base_lr,
            step: 0,
            done: 0,
            history: History::default(),
            epoch_loss: 0.0,
            epoch_steps: 0,
            started: Instant::now(),
        })
    }

    /// Continues after `position`'s epochs and steps.
    fn resumed(mut self, position: &SampledPosition) -> Self {
        self.step = position.steps;
        self.done = position.epochs;
        self.history.steps = position.steps;
        self
    }

    fn total(&self) -> usize {
        self.config.epochs * self.steps_per_epoch
    }

    /// Epochs completed in the run so far.
    fn epochs_done(&self) -> usize {
        self.done + self.history.epochs.len()
    }

    /// Sets the step's scheduled rate `schedule(η₀, t)` on `optimizer` and returns it.
    fn before_step<F: Float>(&self, optimizer: &mut dyn Optimizer<F>) -> f64 {
        let lr = self.config.schedule.lr(self.base_lr, self.step);
        optimizer.set_learning_rate(lr);
        lr
    }

    fn after_step(&mut self, loss: f64, lr: f64, on_progress: &mut dyn FnMut(Progress<'_>)) {
        self.step += 1;
        self.epoch_loss += loss;
        self.epoch_steps += 1;
        let epoch = self.epochs_done() + 1;
        on_progress(Progress::Step {
            epoch,
            epochs: self.config.epochs,
            batch: self.epoch_steps,
            batches: self.steps_per_epoch,
            step: self.step,
            loss,
            learning_rate: lr,
        });
    }

    fn end_epoch(&mut self, validation: f64, lr: f64, on_progress: &mut dyn FnMut(Progress<'_>)) {
        let record = EpochRecord {
            epoch: self.epochs_done() + 1,
            train_loss: self.epoch_loss / self.epoch_steps.max(1) as f64,
            train_accuracy: None,
            train_terms: Vec::new(),
            validation: Some(Evaluation {
                loss: validation,
                accuracy: None,
            }),
            learning_rate: lr,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        self.history.epochs.push(record);
        self.history.steps = self.step;
        on_progress(Progress::Epoch(
            self.history.epochs.last().expect("just pushed"),
        ));
        self.epoch_loss = 0.0;
        self.epoch_steps = 0;
        self.started = Instant::now();
    }
}

/// Where a sampled run stands after an epoch, as its training-state file stores it (JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampledPosition {
    /// Epochs completed.
    pub epochs: usize,
    /// Optimizer steps taken (the schedule's step `t`).
    pub steps: usize,
    /// The generator that draws the training batches (seed and words drawn).
    pub rng: RngState,
    /// Where a stateful loop stands in its text (the character model); `None` for the adding
    /// problem, whose batches are all drawn from `rng`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamPosition>,
}

/// Where the character model's stateful loop stands in its training text: the next chunk to
/// train on. Chunk `k > 0` of a pass starts from the hidden state chunk `k − 1` left
/// ([`SampledRun::state`]); chunk 0 of every pass starts from zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamPosition {
    /// The pass over the text (each pass cuts it at another offset).
    pub pass: usize,
    /// The next chunk of that pass.
    pub chunk: usize,
    /// [`CharCorpus::fingerprint`] of the text the run trains on: a run continues on its own
    /// text only.
    pub corpus: u64,
}

/// A sampled run between two epochs — the model, Adam's state (moments, step count, rate) and
/// the [`SampledPosition`] — everything a run carries from one epoch to the next, so that it
/// can stop after any epoch and continue, in this process or another, exactly as if it had not
/// stopped. [`SampledRun::save`] writes it as one training-state file
/// ([`TrainingParts`]: the model under `model.`, Adam under `optimizer.model.`).
#[derive(Debug, Clone)]
pub struct SampledRun<F: Float> {
    /// The model.
    pub model: SeqModel<F>,
    /// Its optimizer.
    pub optimizer: Adam<F>,
    /// The loop's position.
    pub position: SampledPosition,
    /// The hidden state carried into the next step by a stateful loop (the character model,
    /// inside a pass); `None` for the adding problem and at the start of a pass.
    pub state: Option<RnnState<F>>,
}

impl<F: Float> SampledRun<F> {
    /// The start of a run: the model of `config` initialized from `optim::rng(seed)`, whose
    /// later words the loop draws from, Adam at `lr`, no step taken (at the start of `stream`
    /// for a loop over a text).
    ///
    /// # Errors
    /// An invalid model configuration or rate.
    pub fn start(
        config: ModelConfig,
        seed: u64,
        lr: f64,
        stream: Option<StreamPosition>,
    ) -> Result<Self> {
        let mut rng = optim::rng(seed);
        let model = SeqModel::new(config, &mut rng)?;
        Ok(SampledRun {
            model,
            optimizer: Adam::new(lr)?,
            position: SampledPosition {
                epochs: 0,
                steps: 0,
                rng: RngState::of(seed, 0, &rng)?,
                stream,
            },
            state: None,
        })
    }

    /// Writes the run (a trainer of `kind`, its configuration `config`) atomically.
    ///
    /// # Errors
    /// As [`TrainingParts::save`].
    pub fn save<C: serde::Serialize>(
        &mut self,
        path: impl AsRef<Path>,
        kind: &str,
        config: &C,
    ) -> Result<()> {
        let mut parts = TrainingParts::<F>::new(kind, config, &self.position)?
            .model("model", &mut self.model)
            .optimizer("model", &mut self.model, &self.optimizer);
        if let Some(state) = &self.state {
            for (k, h) in state.h.iter().enumerate() {
                parts = parts.tensor(&format!("hidden.{k}"), h);
            }
            for (k, c) in state.c.iter().enumerate() {
                parts = parts.tensor(&format!("cell.{k}"), c);
            }
        }
        parts.save(path)
    }

    /// Reads a run written by [`SampledRun::save`] for a trainer of `kind`; `model` gives, from
    /// the configuration read from the file, the model's configuration and Adam's base rate.
    /// The file's parameter count is compared with the one the configuration implies before
    /// the model is built, and every tensor is checked before anything is returned.
    ///
    /// # Errors
    /// As [`TrainingFile::read`] and [`TrainingFile::restore`]; a configuration that `model`
    /// refuses or whose size is not the file's.
    pub fn load<C: serde::de::DeserializeOwned>(
        path: impl AsRef<Path>,
        kind: &str,
        model: impl FnOnce(&C) -> Result<(ModelConfig, f64)>,
    ) -> Result<(C, Self)> {
        let path = path.as_ref();
        let mut file = TrainingFile::<F>::read(path, kind)?;
        let config: C = file.config()?;
        let position: SampledPosition = file.position()?;
        let (model_config, lr) = model(&config)?;
        let stored = file.values_under("model");
        if <SeqModel<F> as Saveable<F>>::parameter_count(&model_config) != Some(stored) {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason: format!(
                    "its configuration implies {:?} parameters, the file holds {stored}",
                    model_config.parameter_count()
                ),
            });
        }
        // a stateful loop inside a pass carries a hidden state (`state.hidden.k`, and
        // `state.cell.k` for the LSTM: `hidden x batch` each, one per layer and direction)
        let state = match position.stream {
            Some(at) if at.chunk > 0 => {
                let rnn = &model_config.rnn;
                let n = rnn.layers * rnn.directions();
                let batch = file.state_columns("hidden.0", rnn.hidden).ok_or_else(|| {
                    Error::Checkpoint {
                        path: path.into(),
                        reason: format!(
                            "its position is inside a pass (chunk {}) but it holds no carried \
                             hidden state state.hidden.0 of {} rows",
                            at.chunk, rnn.hidden
                        ),
                    }
                })?;
                let mut take = |name: &str| -> Result<Vec<Mat<F>>> {
                    (0..n)
                        .map(|k| file.tensor(&format!("{name}.{k}"), rnn.hidden, batch))
                        .collect()
                };
                let h = take("hidden")?;
                let c = if rnn.cell.has_cell() {
                    take("cell")?
                } else {
                    Vec::new()
                };
                Some(RnnState { h, c })
            }
            _ => None,
        };
        let mut run = SampledRun {
            model: SeqModel::new(model_config, &mut optim::rng(0))?,
            optimizer: Adam::new(lr)?,
            position,
            state,
        };
        file.restore(&mut [Restore::model("model", &mut run.model).optimizer(&mut run.optimizer)])?;
        Ok((config, run))
    }
}

/// The adding problem, trained on fresh batches (an endless supply of data).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AddingConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Sequence length `T` (default 100).
    pub steps: usize,
    /// Hidden units (default 64).
    pub hidden: usize,
    /// Adam's learning rate `η₀` (default 1e-2).
    pub lr: f64,
    /// LSTM forget-gate bias (default 1.0).
    pub forget_bias: Option<f64>,
    /// Test sequences (default 1000).
    pub test_size: usize,
    /// Optimizer steps between test evaluations, one "epoch" (default 100).
    pub steps_per_epoch: usize,
    /// The loop: epochs (default 20, so 2000 steps), batch size (default 32), schedule,
    /// clipping (default 1.0), seed of data and initialization.
    pub train: TrainConfig,
}

impl Default for AddingConfig {
    fn default() -> Self {
        AddingConfig {
            cell: CellKind::Lstm,
            steps: 100,
            hidden: 64,
            lr: 1e-2,
            forget_bias: Some(1.0),
            test_size: 1000,
            steps_per_epoch: 100,
            train: TrainConfig::new(20, 32).clip_grad_norm(1.0),
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
    /// One record per epoch, with the test MSE as its validation loss.
    pub history: History,
}

fn mse_of<F: Float>(model: &SeqModel<F>, x: &crate::Seq<F>, y: &Mat<F>) -> Result<f64> {
    let (p, _) = model.predict(Input::Dense(x), None)?;
    Ok(optim::loss::mse(&p, y)?.0.to_f64())
}

/// The kind of the adding problem's training-state file.
pub const ADDING_TRAINING_KIND: &str = "rnn_adding-training";

/// The adding model of `cfg`: a dense sequence-to-one regressor (2 inputs, 1 output).
fn adding_model_config(cfg: &AddingConfig) -> ModelConfig {
    let mut rnn = RnnConfig::new(cfg.cell, 2, cfg.hidden);
    rnn.forget_bias = cfg.forget_bias;
    ModelConfig {
        rnn,
        encoding: Encoding::Dense,
        outputs: 1,
        readout: Readout::Last,
    }
}

/// The start of an adding run: the model initialized from `optim::rng(seed)`, whose later
/// words draw the training batches, and Adam at `cfg.lr`.
///
/// # Errors
/// An invalid model configuration or rate.
pub fn adding_start<F: Float>(cfg: &AddingConfig) -> Result<SampledRun<F>> {
    SampledRun::start(adding_model_config(cfg), cfg.train.seed, cfg.lr, None)
}

/// Trains a sequence-to-one regressor on the adding problem.
///
/// # Errors
/// Invalid configuration, a non-finite loss.
pub fn train_adding<F: Float>(
    cfg: &AddingConfig,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<AddingReport<F>> {
    let mut run = adding_start(cfg)?;
    let history = train_adding_resume(cfg, &mut run, &mut |_| Ok(Flow::Continue), on_progress)?;
    let test_mse = history
        .validation_losses()
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    Ok(AddingReport {
        model: run.model,
        test_mse,
        history,
    })
}

/// [`train_adding`] from `run` (from [`adding_start`], or a run an earlier call left, e.g.
/// read back with [`load_adding`]) up to `cfg.train.epochs` epochs: `N` epochs, a save, a load
/// and `N` more equal `2N` straight, bit for bit — the model, Adam's state, the generator and
/// every epoch's record (the returned history holds this call's epochs, numbered from the run's
/// start). `after_epoch` sees the run after every epoch (to write [`save_adding`]) and may end
/// the call there ([`Flow::Stop`]). `cfg` must be the run's configuration but for its epochs.
///
/// # Errors
/// Invalid configuration, a run of another seed, a non-finite loss, an error of `after_epoch`.
pub fn train_adding_resume<F: Float>(
    cfg: &AddingConfig,
    run: &mut SampledRun<F>,
    after_epoch: &mut dyn FnMut(&mut SampledRun<F>) -> Result<Flow>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<History> {
    let seed = cfg.train.seed;
    if run.position.rng.seed != seed {
        return Err(Error::hyper(
            "train.seed",
            seed,
            &format!("the run was started with seed {}", run.position.rng.seed),
        ));
    }
    if run.position.stream.is_some() {
        return Err(Error::Data(
            "train_adding_resume: the run is a character model's (it has a text position)".into(),
        ));
    }
    let mut test_rng = optim::rng(seed ^ 0x7e57);
    let (tx, ty) = tasks::adding_problem::<F>(cfg.steps, cfg.test_size, &mut test_rng)?;
    let options = StepOptions {
        clip: cfg.train.clip_grad_norm,
        ..Default::default()
    };
    let mut rng = run.position.rng.generator();
    let mut lap = SampledLoop::new(&cfg.train, cfg.steps_per_epoch, cfg.lr)?.resumed(&run.position);
    while lap.step < lap.total() {
        let (x, y) = tasks::adding_problem::<F>(cfg.steps, cfg.train.batch_size, &mut rng)?;
        let lr = lap.before_step(&mut run.optimizer);
        let loss = run.model.train_step(
            Input::Dense(&x),
            Target::Regression(&y),
            &mut run.optimizer,
            &options,
        )?;
        lap.after_step(loss, lr, on_progress);
        if lap.epoch_steps == lap.steps_per_epoch {
            let m = mse_of(&run.model, &tx, &ty)?;
            lap.end_epoch(m, lr, on_progress);
            run.position = SampledPosition {
                epochs: lap.epochs_done(),
                steps: lap.step,
                rng: RngState::of(seed, run.position.rng.words, &rng)?,
                stream: None,
            };
            if after_epoch(run)? == Flow::Stop {
                break;
            }
        }
    }
    Ok(lap.history)
}

/// Writes an adding run ([`SampledRun::save`], kind [`ADDING_TRAINING_KIND`], with `cfg`).
///
/// # Errors
/// As [`SampledRun::save`].
pub fn save_adding<F: Float>(
    path: impl AsRef<Path>,
    cfg: &AddingConfig,
    run: &mut SampledRun<F>,
) -> Result<()> {
    run.save(path, ADDING_TRAINING_KIND, cfg)
}

/// Reads an adding run written by [`save_adding`]: its configuration and the run to pass to
/// [`train_adding_resume`].
///
/// # Errors
/// As [`SampledRun::load`].
pub fn load_adding<F: Float>(path: impl AsRef<Path>) -> Result<(AddingConfig, SampledRun<F>)> {
    SampledRun::load(path, ADDING_TRAINING_KIND, |c: &AddingConfig| {
        Ok((adding_model_config(c), c.lr))
    })
}

/// A character-level language model trained by stateful truncated BPTT.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CharLmConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Hidden units (default 256).
    pub hidden: usize,
    /// Layers (default 1).
    pub layers: usize,
    /// Embedding width, or `None` for one-hot input (default `Some(64)`).
    pub embedding: Option<usize>,
    /// Steps per chunk: the truncation length `k1 = k2` (default 64).
    pub steps: usize,
    /// Adam's learning rate `η₀` (default 3e-3).
    pub lr: f64,
    /// Optimizer steps between validation evaluations, one "epoch" (default 2000).
    pub steps_per_epoch: usize,
    /// Stop after this many seconds of training (default: none).
    pub max_seconds: Option<f64>,
    /// The loop: epochs (default 1), parallel text streams per batch (`batch_size`, default
    /// 32), schedule, clipping (default 1.0), seed.
    pub train: TrainConfig,
}

impl Default for CharLmConfig {
    fn default() -> Self {
        CharLmConfig {
            cell: CellKind::Lstm,
            hidden: 256,
            layers: 1,
            embedding: Some(64),
            steps: 64,
            lr: 3e-3,
            steps_per_epoch: 2000,
            max_seconds: None,
            train: TrainConfig::new(1, 32).clip_grad_norm(1.0),
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
    /// One record per epoch, with the validation nats per character as its validation loss
    /// (a run stopped by `max_seconds` ends with a shorter epoch).
    pub history: History,
}

/// The character model's configuration for `cfg` and a vocabulary of `vocab`.
fn char_model_config(cfg: &CharLmConfig, vocab: usize) -> ModelConfig {
    let (encoding, input) = match cfg.embedding {
        Some(dim) => (Encoding::Embedding { vocab, dim }, dim),
        None => (Encoding::OneHot(vocab), vocab),
    };
    ModelConfig {
        rnn: RnnConfig::new(cfg.cell, input, cfg.hidden).layers(cfg.layers),
        encoding,
        outputs: vocab,
        readout: Readout::Every,
    }
}

/// Builds the character model of `cfg` for a vocabulary of `vocab`.
pub fn char_model<F: Float>(
    cfg: &CharLmConfig,
    vocab: usize,
    rng: &mut impl rand::Rng,
) -> Result<SeqModel<F>> {
    SeqModel::new(char_model_config(cfg, vocab), rng)
}

/// The kind of the character model's training-state file.
pub const CHAR_LM_TRAINING_KIND: &str = "rnn_char_lm-training";

/// The start of a character-model run on `corpus`: the model initialized from
/// `optim::rng(seed)`, Adam at `cfg.lr`, the first chunk of the first pass.
///
/// # Errors
/// An invalid model configuration or rate.
pub fn char_lm_start<F: Float>(cfg: &CharLmConfig, corpus: &CharCorpus) -> Result<SampledRun<F>> {
    let stream = StreamPosition {
        pass: 0,
        chunk: 0,
        corpus: corpus.fingerprint(),
    };
    SampledRun::start(
        char_model_config(cfg, corpus.vocab.len()),
        cfg.train.seed,
        cfg.lr,
        Some(stream),
    )
}

/// Trains a character model on `corpus.train` by stateful truncated BPTT: the training text is
/// cut into `batch_size` streams, each chunk of `steps` characters starts from the previous
/// chunk's final state (BPTT(k, k) with an update after every chunk), and the validation text
/// is scored with [`tasks::evaluate_nats`] after every epoch of `steps_per_epoch` steps. Passes
/// over the text repeat (with moved chunk boundaries) until `epochs · steps_per_epoch` steps or
/// `max_seconds`. It is [`train_char_lm_resume`] from [`char_lm_start`].
///
/// # Errors
/// Invalid configuration, a text too short, a non-finite loss.
pub fn train_char_lm<F: Float>(
    cfg: &CharLmConfig,
    corpus: &CharCorpus,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<CharLmReport<F>> {
    let mut run = char_lm_start(cfg, corpus)?;
    let (history, seconds) = train_char_lm_resume(
        cfg,
        corpus,
        &mut run,
        &mut |_| Ok(Flow::Continue),
        on_progress,
    )?;
    let valid_nats = history
        .validation_losses()
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    Ok(CharLmReport {
        model: run.model,
        valid_nats,
        steps: history.steps,
        seconds,
        history,
    })
}

/// The offset at which pass `pass` cuts the text: `(7919 · pass) mod steps`, so chunk
/// boundaries move from pass to pass (in `u128`: no overflow for any pass a file may claim).
fn pass_offset(pass: usize, steps: usize) -> usize {
    let s = steps.max(1) as u128;
    ((pass as u128 % s) * (7919 % s) % s) as usize
}

/// [`train_char_lm`] from `run` (from [`char_lm_start`], or a run an earlier call left, e.g.
/// read back with [`load_char_lm`]) up to `cfg.train.epochs` epochs: `N` epochs, a save, a
/// load and `N` more equal `2N` straight, bit for bit — the model, Adam's state (moments, step,
/// rate), the schedule's step, the pass and chunk of the text and the hidden state carried
/// into the next chunk (the generator that initialized the model draws nothing more). The
/// returned history holds this call's epochs, numbered from the run's start, with the
/// call's training seconds (without evaluations). `after_epoch` sees the run after every
/// epoch (to write [`save_char_lm`]) and may end the call there ([`Flow::Stop`]); `run` is
/// kept current after every step, so a call ended by `max_seconds` (whose budget counts this
/// call's seconds) continues from where it ended too — exact in weights and position, with
/// the split epoch's record averaging the training loss over its steps of the second call.
/// `cfg` must be the run's configuration but for its epochs and `max_seconds`.
///
/// # Errors
/// Invalid configuration, a run of another seed, text or trainer, a position outside the text,
/// a carried state of another shape, a non-finite loss, an error of `after_epoch`.
pub fn train_char_lm_resume<F: Float>(
    cfg: &CharLmConfig,
    corpus: &CharCorpus,
    run: &mut SampledRun<F>,
    after_epoch: &mut dyn FnMut(&mut SampledRun<F>) -> Result<Flow>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(History, f64)> {
    let seed = cfg.train.seed;
    if run.position.rng.seed != seed {
        return Err(Error::hyper(
            "train.seed",
            seed,
            &format!("the run was started with seed {}", run.position.rng.seed),
        ));
    }
    let Some(mut at) = run.position.stream else {
        return Err(Error::Data(
            "train_char_lm_resume: the run is not a character model's (no text position)".into(),
        ));
    };
    if at.corpus != corpus.fingerprint() {
        return Err(Error::Data(format!(
            "train_char_lm_resume: the run was trained on another text (fingerprint {:016x}, \
             this text's {:016x})",
            at.corpus,
            corpus.fingerprint()
        )));
    }
    let batch = cfg.train.batch_size;
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    let mut seconds = 0.0;
    let mut lap = SampledLoop::new(&cfg.train, cfg.steps_per_epoch, cfg.lr)?.resumed(&run.position);
    let total = lap.total();
    let mut lr = run.optimizer.learning_rate();
    'passes: while lap.step < total {
        // a different cut each pass over the text, so chunk boundaries move
        let offset = pass_offset(at.pass, cfg.steps);
        let pass = Streams::new(
            &corpus.train[offset.min(corpus.train.len() - 1)..],
            batch,
            cfg.steps,
        )?;
        if at.chunk >= pass.chunks() || (at.chunk > 0) != run.state.is_some() {
            return Err(Error::Data(format!(
                "train_char_lm_resume: chunk {} of pass {} {} (the pass has {} chunks)",
                at.chunk,
                at.pass,
                if run.state.is_some() {
                    "with a carried state"
                } else {
                    "without a carried state"
                },
                pass.chunks()
            )));
        }
        loop {
            if lap.step >= total || cfg.max_seconds.is_some_and(|s| seconds >= s) {
                break 'passes;
            }
            let start = Instant::now();
            pass.chunk(at.chunk, &mut inputs, &mut targets);
            let options = StepOptions {
                clip: cfg.train.clip_grad_norm,
                truncation: None,
                initial: run.state.as_ref(),
            };
            lr = lap.before_step(&mut run.optimizer);
            let loss = run.model.train_step(
                Input::Tokens {
                    ids: &inputs,
                    steps: cfg.steps,
                    batch,
                },
                Target::Classes(&targets),
                &mut run.optimizer,
                &options,
            )?;
            at.chunk += 1;
            let pass_done = at.chunk == pass.chunks();
            if pass_done {
                // the next pass starts from zeros
                at = StreamPosition {
                    pass: at.pass + 1,
                    chunk: 0,
                    ..at
                };
                run.state = None;
            } else {
                run.state = Some(run.model.rnn.final_state());
            }
            seconds += start.elapsed().as_secs_f64();
            lap.after_step(loss, lr, on_progress);
            run.position = SampledPosition {
                epochs: lap.step / lap.steps_per_epoch,
                steps: lap.step,
                stream: Some(at),
                ..run.position
            };
            if lap.step.is_multiple_of(lap.steps_per_epoch) {
                let v = tasks::evaluate_nats(&run.model, &corpus.valid, batch, cfg.steps)?;
                lap.end_epoch(v, lr, on_progress);
                if after_epoch(run)? == Flow::Stop {
                    break 'passes;
                }
            }
            if pass_done {
                break;
            }
        }
    }
    if lap.epoch_steps > 0 || (lap.history.epochs.is_empty() && lap.done == 0) {
        let v = tasks::evaluate_nats(&run.model, &corpus.valid, batch, cfg.steps)?;
        lap.end_epoch(v, lr, on_progress);
    }
    Ok((lap.history, seconds))
}

/// Writes a character-model run ([`SampledRun::save`], kind [`CHAR_LM_TRAINING_KIND`], with
/// `cfg`; the carried hidden state as `state.hidden.k` / `state.cell.k`).
///
/// # Errors
/// As [`SampledRun::save`].
pub fn save_char_lm<F: Float>(
    path: impl AsRef<Path>,
    cfg: &CharLmConfig,
    run: &mut SampledRun<F>,
) -> Result<()> {
    run.save(path, CHAR_LM_TRAINING_KIND, cfg)
}

/// Reads a character-model run written by [`save_char_lm`] to continue it on `corpus` (its
/// vocabulary sizes the model): its configuration and the run to pass to
/// [`train_char_lm_resume`].
///
/// # Errors
/// As [`SampledRun::load`]; a run of another text ([`CharCorpus::fingerprint`]).
pub fn load_char_lm<F: Float>(
    path: impl AsRef<Path>,
    corpus: &CharCorpus,
) -> Result<(CharLmConfig, SampledRun<F>)> {
    let path = path.as_ref();
    let (config, run) = SampledRun::load(path, CHAR_LM_TRAINING_KIND, |c: &CharLmConfig| {
        Ok((char_model_config(c, corpus.vocab.len()), c.lr))
    })?;
    match run.position.stream {
        Some(at) if at.corpus == corpus.fingerprint() => Ok((config, run)),
        other => Err(Error::Checkpoint {
            path: path.into(),
            reason: match other {
                Some(at) => format!(
                    "the run was trained on another text (fingerprint {:016x}, this text's \
                     {:016x})",
                    at.corpus,
                    corpus.fingerprint()
                ),
                None => "its position has no place in a text".into(),
            },
        }),
    }
}

/// Yearly sunspots: one-step-ahead prediction from a window of past years.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SunspotsConfig {
    /// Cell type (default LSTM).
    pub cell: CellKind,
    /// Years in each input window (default 12, as the AR(12) baseline).
    pub lags: usize,
    /// Hidden units (default 8; chosen with the number of steps on a validation split,
    /// training on ≤ 1900 and scoring 1901–1920, among 4/8/16 units and 200–1500 steps).
    pub hidden: usize,
    /// Adam's learning rate (default 1e-2).
    pub lr: f64,
    /// Last training year (default 1920).
    pub train_end: u32,
    /// Test years, inclusive (default 1921–1955).
    pub test: (u32, u32),
    /// Years whose variance normalizes the ARV, inclusive (default 1700–1979).
    pub variance_span: (u32, u32),
    /// Number of networks averaged (an ensemble over seeds; default 5).
    pub ensemble: usize,
    /// The loop of each network: epochs (default 800), batch size (default: all windows, so
    /// one full-batch Adam step per epoch), clipping (default 1.0), seed of the first network
    /// (network `e` uses `seed + e`).
    pub train: TrainConfig,
}

impl Default for SunspotsConfig {
    fn default() -> Self {
        SunspotsConfig {
            cell: CellKind::Lstm,
            lags: 12,
            hidden: 8,
            lr: 1e-2,
            train_end: 1920,
            test: (1921, 1955),
            variance_span: (1700, 1979),
            ensemble: 5,
            train: TrainConfig::new(800, usize::MAX).clip_grad_norm(1.0),
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
    /// The training record of each network of the ensemble.
    pub histories: Vec<History>,
}

/// Trains the network (an average of `ensemble` seeds) and the AR baseline on yearly sunspots.
///
/// # Errors
/// Years not covering the configured spans, a non-finite loss.
pub fn train_sunspots(
    cfg: &SunspotsConfig,
    years: &[u32],
    values: &[f64],
    on_progress: &mut dyn FnMut(Progress<'_>),
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
    let windows = Sequences::regression(x_train.clone(), y_train)?;
    let mut sum_train = vec![0.0; train.len()];
    let mut sum_test = vec![0.0; test.len()];
    let mut histories = Vec::new();
    for e in 0..cfg.ensemble.max(1) {
        let seed = cfg.train.seed + e as u64;
        let mut rng = optim::rng(seed);
        let mut model = SeqModel::<f32>::new(
            ModelConfig::dense(cfg.cell, 1, cfg.hidden, 1, Readout::Last),
            &mut rng,
        )?;
        let mut opt = Adam::new(cfg.lr)?;
        let config = cfg.train.clone().seed(seed);
        histories.push(model.fit(&windows, None, &mut opt, &config, on_progress)?);
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
        histories,
    })
}
