//! The one training loop of the workspace, and the types every chapter reports through.
//!
//! Notes §5 (五、优化): training is stochastic gradient descent on mini-batches. Every chapter
//! whose algorithm is "gradient descent on a batch" implements [`Trainable`] — how to compute one
//! batch's loss and gradients, and how to evaluate — and this module's [`fit`] does the rest, the
//! same way for all of them:
//!
//! ```text
//! for epoch in 1..=epochs:
//!     shuffle the example order (seeded)
//!     for each mini-batch B:
//!         zero_grad                                   ∂L/∂θ ← 0
//!         L_B ← model.train_batch(B)                  forward, loss, backward: ∂L_B/∂θ
//!         stop with an error if L_B is not finite     (weights untouched by that step)
//!         [clip_grad_norm]                            g ← g · min(1, c/‖g‖)
//!         η ← schedule(η₀, t);  optimizer.step        θ ← θ − η·update(g)
//!         model.after_step()                          (constraints, if the model has any)
//!     evaluate on the validation set; early stopping; report
//! ```
//!
//! Chapters whose algorithm is not gradient descent on a batch (the perceptron rule, SOM, RBF
//! least squares, ANFIS's hybrid rule, CD-k) keep their own loops but report through the same
//! [`Progress`], [`EpochRecord`] and [`History`].
//!
//! **Exact resume** (issue 14): [`fit_resume`] is [`fit`] that also returns a [`Resume`] —
//! epochs and steps done, the position of the loop's random generator (and before each epoch's
//! shuffle), the base learning rate, the early-stopping bookkeeping and the configuration. Saved
//! as one JSON metadata entry beside the model and optimizer state
//! (`checkpoint::save_training(path, &mut model, &opt, &[resume.metadata()])`) and loaded into
//! a freshly built model and optimizer (`checkpoint::load_training`, [`Resume::from_metadata`]),
//! `N` epochs + `N` more in a new process equal `2N` epochs straight, bit for bit
//! (`tests/resume.rs`). Resume is at epoch boundaries; the best epoch's weights of
//! restore-best early stopping are not carried (see [`fit_resume`]). [`fit_resume_with`] hands
//! the state to a callback after every epoch, to write a training checkpoint each time (a run
//! killed at any moment continues from its last finished epoch) or to stop the call early
//! ([`Flow::Stop`]) and continue it later.
//!
//! **Shards** (data parallelism): with [`TrainConfig::shards`] `= k > 1` every batch is cut into
//! `k` contiguous parts; the model computes the first and `k − 1` replicas (clones made once,
//! their weights copied from the model before every step) the others, each on its own thread of
//! rayon's pool with single-threaded products inside. A mean loss over a batch is the weighted
//! mean of the parts' mean losses, so the gradients combine the same way before the one step:
//!
//! ```text
//! ∂L/∂θ = Σ_s (w_s / W) ∂L_s/∂θ      w_s = examples of part s (or BatchLoss::weight), W = Σ w_s
//! ```
//!
//! This is the split that pays on a CPU: the products of one batch (`256 x 784` by `784 x 128`,
//! say) are too small to cut in two without the halves waiting on each other, while whole
//! parts are independent until the sum. `k` belongs to the computation, not the machine: the
//! same seed and `k` give the same bits on one thread or two (`tests/shards.rs`). Two things
//! differ from `k = 1`: training randomness (part `s ≥ 1` draws from its own generator) and
//! batch normalization, whose statistics become those of a part — as in data-parallel
//! training without synchronised batch norm; parts of fewer than about 16 examples measurably
//! hurt (`tests/shards.rs`). A deterministic model differs from `k = 1` by rounding only.
//! Models are `Clone + Send` and their data `Sync` for this ([`Trainable`]).
//!
//! ```
//! use optim::train::{BatchLoss, Evaluation, TrainConfig, Trainable};
//! use optim::{Linear, Mat, Param, Parameters, Result, Sgd, loss};
//!
//! /// Least squares with one linear unit: the data set is a pair of matrices.
//! #[derive(Clone)]
//! struct Line(Linear<f64>);
//! impl Parameters<f64> for Line {
//!     fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut Param<f64>)) { self.0.visit_params(v) }
//! }
//! impl Trainable<f64> for Line {
//!     type Data = (Mat<f64>, Mat<f64>);
//!     fn examples(&self, data: &Self::Data) -> usize { data.0.ncols() }
//!     fn check_data(&self, _: &Self::Data, _: &str) -> Result<()> { Ok(()) }
//!     fn train_batch(&mut self, (x, y): &Self::Data, batch: &[usize], _: &mut optim::StdRng) -> Result<BatchLoss> {
//!         let (xb, yb) = (optim::data::select_columns(x, batch), optim::data::select_columns(y, batch));
//!         let (l, d) = loss::mse(&self.0.forward(&xb)?, &yb)?;
//!         self.0.backward(&d)?;
//!         Ok(BatchLoss::new(l))
//!     }
//!     fn evaluate(&self, (x, y): &Self::Data) -> Result<Evaluation> {
//!         Ok(Evaluation::loss(loss::mse(&self.0.predict(x)?, y)?.0))
//!     }
//! }
//!
//! let x = Mat::from_fn(1, 64, |_, j| j as f64 / 64.0);
//! let y = x.map(|v| 3.0 * v + 1.0);
//! let mut model = Line(Linear::new(1, 1, &mut optim::rng(0)));
//! let config = TrainConfig::new(200, 16);
//! let history = model
//!     .fit(&(x.clone(), y.clone()), None, &mut Sgd::new(0.5)?, &config, &mut |_| {})?;
//! assert_eq!(history.steps, 200 * 4);
//! assert!(history.last().unwrap().train_loss < 1e-8);
//! assert!((model.0.weight.value[(0, 0)] - 3.0).abs() < 1e-3);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{Error, Float, Mat, Optimizer, Parameters, Result, Schedule};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Which validation figure early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Validation loss (lower is better).
    ValidationLoss,
    /// Validation accuracy (higher is better; classifiers only).
    ValidationAccuracy,
}

/// Early stopping on the validation set (Prechelt 1998): stop after `patience` epochs without
/// an improvement of the watched figure, optionally ending with the best epoch's weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EarlyStopping {
    /// Stop after this many epochs without an improvement. Default: 10.
    pub patience: usize,
    /// An improvement must beat the best so far by more than this. Default: 0.
    pub min_delta: f64,
    /// The watched figure. Default: validation loss.
    pub monitor: Monitor,
    /// Whether to end with the parameters (and buffers, e.g. batch-norm statistics) of the
    /// best epoch. Default: true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            patience: 10,
            min_delta: 0.0,
            monitor: Monitor::ValidationLoss,
            restore_best: true,
        }
    }
}

impl EarlyStopping {
    /// Early stopping with the given patience on the validation loss, restoring the best epoch.
    pub fn patience(patience: usize) -> Self {
        EarlyStopping {
            patience,
            ..Default::default()
        }
    }

    /// Watches `monitor` instead.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }
}

/// Settings of the training loop, the same for every chapter.
///
/// ```
/// use optim::train::{EarlyStopping, TrainConfig};
/// let config = TrainConfig::new(20, 64)
///     .seed(7)
///     .clip_grad_norm(1.0)
///     .early_stopping(EarlyStopping::patience(3));
/// assert_eq!(config.batch_size, 64);
/// // configurations are stored in checkpoints as JSON
/// let json = serde_json::to_string(&config).unwrap();
/// assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Passes over the training set (at most, with early stopping). Default: 10.
    pub epochs: usize,
    /// Examples per mini-batch; the last batch of an epoch may be smaller. Default: 32.
    pub batch_size: usize,
    /// Learning rate per optimizer step `t = 0, 1, …` of this call, with the optimizer's rate
    /// when [`fit`] starts as `η₀`; the optimizer keeps the last rate set (as PyTorch's
    /// schedulers leave it). Default: constant.
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value before each step. Default: none.
    pub clip_grad_norm: Option<f64>,
    /// Seed of the shuffling and of the model's training randomness (dropout masks,
    /// corruption, sampling). Default: 0.
    pub seed: u64,
    /// Early stopping (needs validation data). Default: none.
    pub early_stopping: Option<EarlyStopping>,
    /// Data-parallel shards per batch (module docs, "Shards"): each batch is cut into this many
    /// parts, whose forward and backward run on replicas of the model, one thread each, and
    /// whose gradients are averaged before the one optimizer step. Part of the *computation*,
    /// not of the machine: the same `shards` gives the same numbers, bit for bit, at any thread
    /// count (threads only decide how many parts run at once). Default: 1 (no replicas).
    #[serde(skip_serializing_if = "is_one")]
    pub shards: usize,
}

/// Whether a count is 1 (a default that configurations stored before the field existed omit).
fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            schedule: Schedule::Constant,
            clip_grad_norm: None,
            seed: 0,
            early_stopping: None,
            shards: 1,
        }
    }
}

impl TrainConfig {
    /// `epochs` passes in mini-batches of `batch_size`; everything else at its default.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            ..Default::default()
        }
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Clips the global gradient norm to `max_norm`.
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Turns on early stopping.
    pub fn early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Cuts every batch into `shards` data-parallel parts ([`TrainConfig::shards`]).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// Cosine decay from the optimizer's rate to `min_lr` over all steps of the run (no
    /// warm-up), for `n` training examples.
    pub fn cosine(mut self, n: usize, min_lr: f64) -> Self {
        self.schedule = Schedule::CosineWarmup {
            warmup: 0,
            total: self.steps_per_epoch(n) * self.epochs,
            min_lr,
        };
        self
    }

    /// Optimizer steps per epoch over `n` examples: `⌈n / batch_size⌉`.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size.max(1))
    }

    /// Checks the settings: at least one epoch, a batch size of at least 1, a positive clipping
    /// norm, and early-stopping settings in range.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::hyper("epochs", 0, "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::hyper("batch_size", 0, "must be at least 1"));
        }
        if self.shards == 0 {
            return Err(Error::hyper("shards", 0, "must be at least 1"));
        }
        if self.shards > MAX_SHARDS {
            return Err(Error::hyper(
                "shards",
                self.shards,
                &format!("must be at most {MAX_SHARDS}"),
            ));
        }
        if let Some(c) = self.clip_grad_norm {
            crate::check_positive("clip_grad_norm", c)?;
        }
        if let Some(es) = &self.early_stopping
            && !(es.min_delta.is_finite() && es.min_delta >= 0.0)
        {
            return Err(Error::hyper(
                "early_stopping.min_delta",
                es.min_delta,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// Most data-parallel shards a configuration may ask for (each is a replica of the model).
pub const MAX_SHARDS: usize = 256;

/// A model's loss (and accuracy, for a classifier) on a data set, in evaluation mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss (the training objective without regularization).
    pub loss: f64,
    /// Fraction classified correctly (classifiers only).
    pub accuracy: Option<f64>,
}

impl Evaluation {
    /// An evaluation with a loss only.
    pub fn loss<F: Float>(loss: F) -> Self {
        Evaluation {
            loss: loss.to_f64(),
            accuracy: None,
        }
    }
}

/// Named parts of a batch loss (e.g. reconstruction and penalty), at most [`Terms::CAPACITY`],
/// kept inline so a training step does not allocate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Terms {
    names: [&'static str; Terms::CAPACITY],
    values: [f64; Terms::CAPACITY],
    len: usize,
}

impl Terms {
    /// How many terms fit.
    pub const CAPACITY: usize = 4;

    /// Adds a term.
    ///
    /// # Panics
    /// If more than [`Terms::CAPACITY`] are added (a bug in the model).
    pub fn with(mut self, name: &'static str, value: f64) -> Self {
        assert!(
            self.len < Self::CAPACITY,
            "Terms: more than {} terms",
            Self::CAPACITY
        );
        self.names[self.len] = name;
        self.values[self.len] = value;
        self.len += 1;
        self
    }

    /// The terms as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.names[..self.len]
            .iter()
            .copied()
            .zip(self.values[..self.len].iter().copied())
    }
}

/// What one training batch reports to the loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchLoss {
    /// The batch's loss, whose gradient `train_batch` left in the parameters.
    pub loss: f64,
    /// Examples of the batch classified correctly, at the time of the step (classifiers).
    pub correct: Option<usize>,
    /// Named parts of the loss, averaged per epoch into [`EpochRecord::train_terms`].
    pub terms: Terms,
    /// How many terms the loss is the mean of, when that is not the batch's example count
    /// (tokens that are not padding, say); data-parallel shards are averaged with these
    /// weights. Default: `None`, the batch's examples.
    pub weight: Option<f64>,
}

impl BatchLoss {
    /// A batch loss without accuracy or parts.
    pub fn new<F: Float>(loss: F) -> Self {
        BatchLoss {
            loss: loss.to_f64(),
            correct: None,
            terms: Terms::default(),
            weight: None,
        }
    }

    /// With the number of terms the loss averages ([`BatchLoss::weight`]).
    pub fn weight(mut self, weight: f64) -> Self {
        self.weight = Some(weight);
        self
    }

    /// With the number of examples classified correctly.
    pub fn correct(mut self, correct: usize) -> Self {
        self.correct = Some(correct);
        self
    }

    /// With named parts of the loss.
    pub fn terms(mut self, terms: Terms) -> Self {
        self.terms = terms;
        self
    }
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (training mode), weighted by batch size.
    pub train_loss: f64,
    /// Fraction of the epoch's training examples classified correctly at the time of their
    /// step, in training mode (classifiers only).
    pub train_accuracy: Option<f64>,
    /// Mean of each named part of the training loss (weighted by batch size).
    pub train_terms: Vec<(&'static str, f64)>,
    /// Validation loss and accuracy after the epoch, in evaluation mode.
    pub validation: Option<Evaluation>,
    /// Learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds (including validation).
    pub seconds: f64,
}

impl EpochRecord {
    /// The mean of the named training-loss part, if the model reported it.
    pub fn term(&self, name: &str) -> Option<f64> {
        self.train_terms
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }
}

/// The record of a training run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// The epoch (from 1) with the best watched figure, with early stopping.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// Whether the weights of `best_epoch` were restored at the end.
    pub restored_best: bool,
    /// Optimizer steps taken.
    pub steps: usize,
}

impl History {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Training loss per epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// Validation loss per epoch (epochs without validation are left out).
    pub fn validation_losses(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .filter_map(|e| e.validation.map(|v| v.loss))
            .collect()
    }
}

/// A report to the progress callback of a training loop.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// After each optimizer step.
    Step {
        /// Epoch, from 1.
        epoch: usize,
        /// Epochs of the run (at most).
        epochs: usize,
        /// Batch within the epoch, from 1.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Global step count, from 1.
        step: usize,
        /// The batch's training loss.
        loss: f64,
        /// The learning rate of this step.
        learning_rate: f64,
    },
    /// After each epoch (and its validation).
    Epoch(&'a EpochRecord),
}

/// A model the shared loop can train: it lists its parameters, computes one batch's loss and
/// gradients, and evaluates without `&mut`.
///
/// `Data` is whatever a data set is for the model: a [`crate::data::Dataset`] for a classifier
/// or regressor, a matrix of inputs for an autoencoder, a list of sequences for a recurrent
/// network. The loop only counts its examples and hands out batches of example indices, so the
/// model gathers a batch into its own buffers.
pub trait Trainable<F: Float>: Parameters<F> + Clone + Send {
    /// A data set, as this model reads it (shared by the data-parallel shards, hence `Sync`).
    type Data: ?Sized + Sync;

    /// Number of examples in `data` (the batches index `0..examples`).
    fn examples(&self, data: &Self::Data) -> usize;

    /// Checks that `data` fits the model (widths, labels, finiteness); `what` names it in the
    /// error (`training data`, `validation data`).
    ///
    /// # Errors
    /// Naming `what` and the problem.
    fn check_data(&self, data: &Self::Data, what: &str) -> Result<()>;

    /// Forward (training mode), loss and backward on the examples `batch` of `data`, with any
    /// training randomness drawn from `rng`; *adds* the gradient of the batch loss into the
    /// parameters (the loop zeroes them first) and returns the loss — or assigns it, if the
    /// model says so with [`Trainable::overwrites_gradients`].
    ///
    /// # Errors
    /// Shape errors; a non-finite loss need not be an error here (the loop checks it).
    fn train_batch(
        &mut self,
        data: &Self::Data,
        batch: &[usize],
        rng: &mut StdRng,
    ) -> Result<BatchLoss>;

    /// Mean loss (and accuracy) on `data` in evaluation mode.
    ///
    /// # Errors
    /// Data that does not fit.
    fn evaluate(&self, data: &Self::Data) -> Result<Evaluation>;

    /// The smallest batch the model can train on (2 with batch normalization, whose variance
    /// of one example is undefined); smaller last batches of an epoch are skipped. Default: 1.
    fn min_batch(&self) -> usize {
        1
    }

    /// Called after every optimizer step, for constraints the update may break (e.g. ANFIS's
    /// membership functions must keep their corners in order). Default: nothing.
    ///
    /// # Errors
    /// If the constraint cannot be restored.
    fn after_step(&mut self) -> Result<()> {
        Ok(())
    }

    /// Whether [`Trainable::train_batch`] *assigns* every parameter's gradient (a backward in
    /// [`crate::GradMode::Overwrite`]) instead of adding into it; [`fit`] then skips its
    /// zero_grad pass before the step. Default: `false` (gradients are zeroed, then added to).
    /// A model that answers `true` must write every gradient in every step, or stale values
    /// of the previous step would be applied again.
    fn overwrites_gradients(&self) -> bool {
        false
    }

    /// Trains with [`fit`]: `model.fit(&train, validation, &mut optimizer, &config, &mut
    /// on_progress)`, the one argument order of every chapter.
    ///
    /// # Errors
    /// See [`fit`].
    fn fit(
        &mut self,
        train: &Self::Data,
        validation: Option<&Self::Data>,
        optimizer: &mut dyn Optimizer<F>,
        config: &TrainConfig,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<History> {
        fit(self, train, validation, optimizer, config, on_progress)
    }
}

/// Values of every parameter and buffer, in visiting order, for restore-best-weights; the
/// buffers are reused from one snapshot to the next.
#[derive(Debug, Clone, Default)]
pub struct State<F: Float> {
    values: Vec<Mat<F>>,
}

impl<F: Float> State<F> {
    /// Copies the model's parameters and buffers into this state.
    pub fn save(&mut self, model: &mut dyn Parameters<F>) {
        let mut i = 0;
        let values = &mut self.values;
        let mut keep = |m: &Mat<F>| {
            if i == values.len() {
                values.push(m.clone());
            } else {
                crate::linalg::copy_into(&mut values[i], m);
            }
            i += 1;
        };
        model.visit_params(&mut |_, p| keep(&p.value));
        model.visit_buffers(&mut |_, b| keep(b));
        self.values.truncate(i);
    }

    /// Writes the saved values back into a model of the same architecture.
    ///
    /// # Errors
    /// If the model has other parameters than the one saved.
    pub fn restore(&self, model: &mut dyn Parameters<F>) -> Result<()> {
        let mut i = 0;
        let mut bad = None;
        let values = &self.values;
        let mut put = |name: &str, m: &mut Mat<F>| {
            match values.get(i) {
                Some(v) if v.shape() == m.shape() => m.copy_from(v),
                _ => {
                    bad.get_or_insert_with(|| name.to_string());
                }
            }
            i += 1;
        };
        model.visit_params(&mut |n, p| put(n, &mut p.value));
        model.visit_buffers(&mut |n, b| put(n, b));
        match bad {
            None if i == values.len() => Ok(()),
            None => Err(Error::Data(format!(
                "restore: {} saved values for {i} parameters and buffers",
                values.len()
            ))),
            Some(name) => Err(Error::Data(format!(
                "restore: the saved state does not fit {name}"
            ))),
        }
    }

    /// Whether nothing was saved yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The shared training loop (module docs): shuffled mini-batches, zero_grad, the model's
/// forward/loss/backward, optional clipping, the scheduled rate, the optimizer step; after every
/// epoch the validation evaluation and early stopping; `on_progress` after every step and epoch.
///
/// # Errors
/// Invalid settings ([`TrainConfig::validate`], early stopping without validation data or on
/// accuracy of a model whose evaluation reports none), data that does not fit ([`Trainable::check_data`], an empty
/// training set), an optimizer error, or a **non-finite training loss**, which stops training
/// with an error naming the epoch and step (the weights are those of the step before).
pub fn fit<F: Float, M: Trainable<F>>(
    model: &mut M,
    train: &M::Data,
    validation: Option<&M::Data>,
    optimizer: &mut dyn Optimizer<F>,
    config: &TrainConfig,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<History> {
    run(
        model,
        train,
        validation,
        optimizer,
        config,
        None,
        None,
        on_progress,
    )
    .map(|(history, _)| history)
}

/// [`fit`] that can continue a run exactly: with `resume` the [`Resume`] that an earlier call
/// returned (and the model and optimizer of that moment, e.g. saved with
/// [`crate::checkpoint::save_training`] and [`Resume::metadata`] and loaded into freshly built
/// ones with [`crate::checkpoint::load_training`]), it trains epochs `resume.epochs() + 1 ..=
/// config.epochs` so that the parameters, the optimizer state and the losses are bit for bit
/// those of one straight call of `config.epochs` epochs. Returns the history of **this call's**
/// epochs (numbered from the run's start; `steps` and `best_epoch` count the whole run) and the
/// [`Resume`] after its last epoch.
///
/// `config` must be the run's configuration; only `epochs` may differ from the one `resume` was
/// made with (a schedule's `total` counts the whole run's steps, so set it explicitly rather
/// than with [`TrainConfig::cosine`] if the first call has fewer epochs).
///
/// Early stopping: the best score, best epoch and epochs since the best are carried, so the
/// resumed run stops where the straight one does. The best epoch's *weights* are not carried:
/// a run whose weights were replaced by the best epoch's ([`History::restored_best`]) cannot be
/// continued (an error), and a resumed call restores the best epoch only if it lies within that
/// call; use `restore_best: false` for a run that is checkpointed and resumed, and keep the best
/// epoch's model with a checkpoint of its own.
///
/// Cost: finding the random generator's position after the call scans the words the call drew
/// (one ChaCha12 stream, ≈ 1 ns a word), and a resume replays the run's words from the seed
/// (`rand`'s [`StdRng`] cannot be positioned directly).
///
/// # Errors
/// As [`fit`]; also a `resume` made with another configuration (naming it), or of a run whose
/// best weights were restored.
pub fn fit_resume<F: Float, M: Trainable<F>>(
    model: &mut M,
    train: &M::Data,
    validation: Option<&M::Data>,
    optimizer: &mut dyn Optimizer<F>,
    config: &TrainConfig,
    resume: Option<&Resume>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(History, Resume)> {
    fit_resume_with(
        model,
        train,
        validation,
        optimizer,
        config,
        resume,
        &mut |_, _, _| Ok(Flow::Continue),
        on_progress,
    )
}

/// What the `after_epoch` callback of [`fit_resume_with`] tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next epoch.
    Continue,
    /// End the call now: the returned [`Resume`] is the one just passed to the callback, and
    /// a later call continues from it (the live weights are kept: restore-best early stopping
    /// does not restore the best epoch at a pause).
    Stop,
}

/// The model, the optimizer and the [`Resume`] at the end of an epoch of [`fit_resume_with`].
pub type AfterEpoch<'a, F, M> = dyn FnMut(&mut M, &dyn Optimizer<F>, &Resume) -> Result<Flow> + 'a;

/// [`fit_resume`] that hands the model, the optimizer and the [`Resume`] of that moment to
/// `after_epoch` at the end of every epoch (after validation and early stopping's books), so a
/// caller can write a training checkpoint after every epoch — a run killed at any moment then
/// continues from its last finished epoch, bit for bit as if it had not stopped — or end the
/// call early ([`Flow::Stop`]) and continue it later. A callback error ends the call with that
/// error. The resume state costs a scan of the words the epoch drew (≈ 1 ns a word).
///
/// # Errors
/// As [`fit_resume`]; an error of `after_epoch`.
#[allow(clippy::too_many_arguments)]
pub fn fit_resume_with<F: Float, M: Trainable<F>>(
    model: &mut M,
    train: &M::Data,
    validation: Option<&M::Data>,
    optimizer: &mut dyn Optimizer<F>,
    config: &TrainConfig,
    resume: Option<&Resume>,
    after_epoch: &mut AfterEpoch<'_, F, M>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(History, Resume)> {
    let (history, resume) = run(
        model,
        train,
        validation,
        optimizer,
        config,
        resume,
        Some(after_epoch),
        on_progress,
    )?;
    Ok((history, resume.expect("asked for the state")))
}

/// Where a run of [`fit_resume`] stands after an epoch: epochs and steps done, the position of
/// the loop's random generator, the base learning rate, the early-stopping bookkeeping and the
/// configuration (to refuse a resume with another one). Stored in a checkpoint as one JSON
/// metadata entry ([`Resume::metadata`], [`Resume::from_metadata`]); floating-point values are
/// kept as their bits so the resume is exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    epochs: usize,
    steps: usize,
    rng_words: u64,
    /// The generator's position before each epoch's shuffle: the example order is shuffled
    /// in place, epoch after epoch, so a resume replays the shuffles.
    shuffles: Vec<u64>,
    base_learning_rate_bits: u64,
    best_score_bits: Option<u64>,
    best_epoch: Option<usize>,
    since_best: usize,
    patience_exhausted: bool,
    restored_best: bool,
    /// The configuration's JSON with `epochs` set to 0.
    config: String,
}

impl Resume {
    /// The metadata key of the JSON entry.
    pub const METADATA_KEY: &'static str = "train.resume";

    /// Epochs completed.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Words (32 bits) drawn from the loop's random generator since it was seeded.
    pub fn rng_words(&self) -> u64 {
        self.rng_words
    }

    /// The best epoch so far (with early stopping).
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// Whether early stopping's patience ran out (a resume then trains nothing).
    pub fn patience_exhausted(&self) -> bool {
        self.patience_exhausted
    }

    /// The `(key, value)` metadata entry for [`crate::checkpoint::save_training`].
    pub fn metadata(&self) -> (&'static str, String) {
        (
            Self::METADATA_KEY,
            serde_json::to_string(self).expect("plain data serializes"),
        )
    }

    /// Reads the entry from a checkpoint's metadata.
    ///
    /// # Errors
    /// [`Error::Data`] if the entry is missing or is not a resume state.
    pub fn from_metadata(metadata: &std::collections::HashMap<String, String>) -> Result<Self> {
        let json = metadata.get(Self::METADATA_KEY).ok_or_else(|| {
            Error::Data(format!(
                "checkpoint metadata: no {:?} entry (not saved by fit_resume)",
                Self::METADATA_KEY
            ))
        })?;
        serde_json::from_str(json)
            .map_err(|e| Error::Data(format!("checkpoint metadata {:?}: {e}", Self::METADATA_KEY)))
    }
}

/// `config` as JSON without its number of epochs.
fn config_key(config: &TrainConfig) -> String {
    let mut c = config.clone();
    c.epochs = 0;
    serde_json::to_string(&c).expect("plain data serializes")
}

#[allow(clippy::too_many_arguments)]
fn run<F: Float, M: Trainable<F>>(
    model: &mut M,
    train: &M::Data,
    validation: Option<&M::Data>,
    optimizer: &mut dyn Optimizer<F>,
    config: &TrainConfig,
    resume: Option<&Resume>,
    mut after_epoch: Option<&mut AfterEpoch<'_, F, M>>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(History, Option<Resume>)> {
    // the resume state is kept exactly when a caller asks for it
    let track = after_epoch.is_some();
    config.validate()?;
    model.check_data(train, "training data")?;
    let n = model.examples(train);
    if n == 0 {
        return Err(Error::Data("training data: no examples".into()));
    }
    if let Some(v) = validation {
        model.check_data(v, "validation data")?;
        if model.examples(v) == 0 {
            return Err(Error::Data("validation data: no examples".into()));
        }
    }
    if let Some(es) = &config.early_stopping {
        if validation.is_none() {
            return Err(Error::hyper(
                "early_stopping",
                "on",
                "needs validation data",
            ));
        }
        // whether the model reports an accuracy can depend on the data (an RBF network
        // regresses values and classifies labels), so ask the evaluation itself
        if es.monitor == Monitor::ValidationAccuracy
            && let Some(v) = validation
            && model.evaluate(v)?.accuracy.is_none()
        {
            return Err(Error::hyper(
                "early_stopping.monitor",
                "validation accuracy",
                "needs a classifier (the validation evaluation reports no accuracy)",
            ));
        }
    }
    let key = track.then(|| config_key(config));
    if let (Some(r), Some(key)) = (resume, &key)
        && r.config != *key
    {
        return Err(Error::hyper(
            "resume",
            &r.config,
            &format!("was made with another configuration than {key}"),
        ));
    }
    if let Some(r) = resume
        && r.restored_best
        && !r.patience_exhausted
    {
        return Err(Error::hyper(
            "resume",
            "restored_best",
            "the run's weights were replaced by its best epoch's; it cannot be continued \
             (use early_stopping.restore_best = false to resume)",
        ));
    }
    let start_words = resume.map_or(0, |r| r.rng_words);
    let mut rng = match resume {
        Some(r) => crate::init::rng_at(config.seed, r.rng_words),
        None => crate::rng(config.seed),
    };
    let base_lr = match resume {
        Some(r) => f64::from_bits(r.base_learning_rate_bits),
        None => optimizer.learning_rate(),
    };
    let batches = config.steps_per_epoch(n);
    let min_batch = model.min_batch();
    let overwrites = model.overwrites_gradients();
    let mut sharding = (config.shards > 1).then(|| Sharding::new(model, config.shards));
    let mut order: Vec<usize> = (0..n).collect();
    let mut shuffles = resume.map_or_else(Vec::new, |r| r.shuffles.clone());
    if let Some(r) = resume {
        if shuffles.len() != r.epochs {
            return Err(Error::Data(format!(
                "resume: {} shuffle positions for {} epochs",
                shuffles.len(),
                r.epochs
            )));
        }
        // the order the straight run reaches: the same shuffles of the same words (rand's
        // StdRng is this ChaCha12 stream, which can be positioned)
        use rand::SeedableRng;
        let mut replay = rand_chacha::ChaCha12Rng::seed_from_u64(config.seed);
        for &at in &shuffles {
            replay.set_word_pos(u128::from(at));
            order.shuffle(&mut replay);
        }
    }
    let mut position = start_words;
    let mut history = History {
        best_epoch: resume.and_then(|r| r.best_epoch),
        steps: resume.map_or(0, |r| r.steps),
        ..History::default()
    };
    let mut best: Option<f64> = resume.and_then(|r| r.best_score_bits.map(f64::from_bits));
    let mut best_state = State::default();
    let mut since_best = resume.map_or(0, |r| r.since_best);
    let mut step = history.steps;
    let mut done = resume.map_or(0, |r| r.epochs);
    let mut exhausted = resume.is_some_and(|r| r.patience_exhausted);
    let mut term_sums: Vec<(&'static str, f64)> = Vec::new();
    let mut paused = false;
    let first = if exhausted {
        config.epochs + 1
    } else {
        done + 1
    };
    for epoch in first..=config.epochs {
        let started = Instant::now();
        if track {
            position = crate::init::rng_position(config.seed, position, &rng)?;
            shuffles.push(position);
        }
        order.shuffle(&mut rng);
        let (mut loss_sum, mut seen, mut correct, mut counted) = (0.0, 0usize, 0usize, false);
        term_sums.clear();
        let mut lr = optimizer.learning_rate();
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            if batch.len() < min_batch {
                continue;
            }
            if !overwrites {
                crate::zero_grad(model);
            }
            let out = match sharding.as_mut() {
                Some(sh) => {
                    let seed = part_seed(config.seed, step as u64);
                    sh.train_batch(model, train, batch, &mut rng, seed, overwrites)?
                }
                None => model.train_batch(train, batch, &mut rng)?,
            };
            if !out.loss.is_finite() {
                return Err(Error::NonFinite {
                    context: format!(
                        "training loss ({}) at epoch {epoch}, step {} (batch {} of the epoch)",
                        out.loss,
                        step + 1,
                        b + 1
                    ),
                });
            }
            if let Some(c) = config.clip_grad_norm {
                crate::clip_grad_norm(model, c);
            }
            lr = config.schedule.lr(base_lr, step);
            optimizer.set_learning_rate(lr);
            optimizer.step(model)?;
            model.after_step()?;
            step += 1;
            let w = batch.len() as f64;
            loss_sum += out.loss * w;
            seen += batch.len();
            if let Some(c) = out.correct {
                correct += c;
                counted = true;
            }
            for (name, value) in out.terms.iter() {
                match term_sums.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, s)) => *s += value * w,
                    None => term_sums.push((name, value * w)),
                }
            }
            on_progress(Progress::Step {
                epoch,
                epochs: config.epochs,
                batch: b + 1,
                batches,
                step,
                loss: out.loss,
                learning_rate: lr,
            });
        }
        let validation_eval = validation.map(|v| model.evaluate(v)).transpose()?;
        let seen_f = seen.max(1) as f64;
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / seen_f,
            train_accuracy: counted.then(|| correct as f64 / seen_f),
            train_terms: term_sums.iter().map(|&(n, s)| (n, s / seen_f)).collect(),
            validation: validation_eval,
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
        };
        history.epochs.push(record);
        history.steps = step;
        done = epoch;
        on_progress(Progress::Epoch(history.epochs.last().expect("just pushed")));
        if let (Some(es), Some(v)) = (&config.early_stopping, validation_eval) {
            // lower is better: accuracy is negated
            let score = match es.monitor {
                Monitor::ValidationLoss => v.loss,
                Monitor::ValidationAccuracy => -v.accuracy.unwrap_or(0.0),
            };
            if best.is_none_or(|b| score < b - es.min_delta) {
                best = Some(score);
                history.best_epoch = Some(epoch);
                since_best = 0;
                if es.restore_best {
                    best_state.save(model);
                }
            } else {
                since_best += 1;
                if since_best >= es.patience {
                    exhausted = true;
                    history.stopped_early = epoch < config.epochs;
                }
            }
        }
        if let Some(hook) = after_epoch.as_mut()
            && let Some(key) = &key
        {
            position = crate::init::rng_position(config.seed, position, &rng)?;
            let now = Resume {
                epochs: done,
                steps: step,
                rng_words: position,
                shuffles: shuffles.clone(),
                base_learning_rate_bits: base_lr.to_bits(),
                best_score_bits: best.map(f64::to_bits),
                best_epoch: history.best_epoch,
                since_best,
                patience_exhausted: exhausted,
                restored_best: resume.is_some_and(|r| r.restored_best),
                config: key.clone(),
            };
            if hook(model, &*optimizer, &now)? == Flow::Stop {
                paused = true;
                break;
            }
        }
        if exhausted {
            break;
        }
    }
    // a paused call keeps its live weights, so that it can be continued
    if let Some(es) = &config.early_stopping
        && es.restore_best
        && !best_state.is_empty()
        && !paused
    {
        best_state.restore(model)?;
        history.restored_best = true;
    }
    let seed = config.seed;
    let state = match key {
        None => None,
        Some(config) => Some(Resume {
            epochs: done,
            steps: step,
            rng_words: crate::init::rng_position(seed, position, &rng)?,
            shuffles,
            base_learning_rate_bits: base_lr.to_bits(),
            best_score_bits: best.map(f64::to_bits),
            best_epoch: history.best_epoch,
            since_best,
            patience_exhausted: exhausted,
            restored_best: history.restored_best || resume.is_some_and(|r| r.restored_best),
            config,
        }),
    };
    Ok((history, state))
}

/// Moves one matrix of each of `model`'s parameters (`slot` picks value or gradient) into
/// `into`, leaving empty `0 x 0` matrices (no allocation) in their place until [`put_mats`].
fn take_mats<F: Float>(
    model: &mut dyn Parameters<F>,
    into: &mut Vec<Mat<F>>,
    slot: fn(&mut crate::Param<F>) -> &mut Mat<F>,
) {
    into.clear();
    model.visit_params(&mut |_, p| into.push(std::mem::replace(slot(p), Mat::zeros(0, 0))));
}

/// Moves the matrices taken by [`take_mats`] back, in the same order.
fn put_mats<F: Float>(
    model: &mut dyn Parameters<F>,
    from: &mut Vec<Mat<F>>,
    slot: fn(&mut crate::Param<F>) -> &mut Mat<F>,
) {
    let mut from = from.drain(..);
    model.visit_params(&mut |_, p| *slot(p) = from.next().expect("the same parameters"));
}

/// `f(i, at, chunk)` over every matrix `i` of `mats`, cut into chunks starting at `at`: on
/// rayon's pool (one parallel call for the whole model) when more than one thread is allowed
/// and the model is large, else in order on this thread. The passes of the data-parallel step
/// (weights to the replicas, gradients back) are element-wise and bound by memory bandwidth,
/// which the second core adds to; element-wise, so the split changes no bits.
fn par_params<F: Float>(mats: &mut [Mat<F>], f: &(impl Fn(usize, usize, &mut [F]) + Sync)) {
    const CHUNK: usize = 1 << 14;
    let total: usize = mats.iter().map(|m| m.len()).sum();
    if total >= 2 * CHUNK && crate::linalg::threads() > 1 {
        use rayon::prelude::*;
        mats.par_iter_mut().enumerate().for_each(|(i, m)| {
            m.as_mut_slice()
                .par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| f(i, c * CHUNK, chunk));
        });
    } else {
        for (i, m) in mats.iter_mut().enumerate() {
            f(i, 0, m.as_mut_slice());
        }
    }
}

/// The examples `⌊s·n/k⌋ .. ⌊(s+1)·n/k⌋` of a batch of `n` cut into `k` data-parallel parts:
/// contiguous, sizes `⌊n/k⌋` or `⌈n/k⌉`.
pub fn part_range(n: usize, k: usize, s: usize) -> std::ops::Range<usize> {
    s * n / k..(s + 1) * n / k
}

/// The seed of the data-parallel parts of optimizer step `step` (counted from 0 over the run)
/// of a run seeded with `seed`: SplitMix64's finalizer of the pair, so the parts of different
/// steps and runs get unrelated generators. Part `s ≥ 1` of the step draws from
/// `StdRng::seed_from_u64(part_seed(seed, step) + s)`; part 0 from the loop's own generator.
/// Public for the trainers with loops of their own (contrastive divergence), so their shards
/// follow the same rule.
pub fn part_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Replicas and scratch of the data-parallel step ([`TrainConfig::shards`] > 1).
struct Sharding<F: Float, M> {
    /// `shards − 1` copies of the model; the model itself computes the first part.
    replicas: Vec<M>,
    /// The generators of parts `1..k` (part 0 draws from the loop's own generator).
    rngs: Vec<StdRng>,
    /// The replicas' results of the last step.
    outs: Vec<Option<Result<BatchLoss>>>,
    /// All parts' results of the last step, in order.
    done: Vec<BatchLoss>,
    /// The model's parameter matrices (values or gradients), moved out for one fused pass
    /// over all of them and moved back after: a move, not a copy.
    mine: Vec<Mat<F>>,
    /// The replicas' matrices, moved out likewise (one `Vec` per replica).
    theirs: Vec<Vec<Mat<F>>>,
    /// `w_s / W` of each part of the last step.
    shares: Vec<F>,
    /// All buffers end to end: the model's, then the replicas' weighted differences from them.
    flat_buffers: Vec<F>,
    base_buffers: Vec<F>,
}

impl<F: Float, M: Trainable<F>> Sharding<F, M> {
    fn new(model: &M, shards: usize) -> Self {
        Sharding {
            replicas: vec![model.clone(); shards - 1],
            rngs: (1..shards).map(|_| crate::rng(0)).collect(),
            outs: (1..shards).map(|_| None).collect(),
            done: Vec::with_capacity(shards),
            mine: Vec::new(),
            theirs: (1..shards).map(|_| Vec::new()).collect(),
            shares: Vec::with_capacity(shards),
            flat_buffers: Vec::new(),
            base_buffers: Vec::new(),
        }
    }

    /// One batch cut into `k` contiguous parts `B_s` (sizes `⌊B/k⌋` or `⌈B/k⌉`, at least the
    /// model's [`Trainable::min_batch`]; fewer parts if the batch is too small for `k`), each
    /// part's forward and backward on its own replica and thread, and the results combined as
    /// one batch's:
    ///
    /// ```text
    /// L = Σ_s (w_s / W) L_s        ∂L/∂θ = Σ_s (w_s / W) ∂L_s/∂θ        W = Σ_s w_s
    /// ```
    ///
    /// with `w_s` the part's [`BatchLoss::weight`] (its examples by default): the mean over the
    /// batch of a loss that is a mean over the examples of each part. Buffers (batch norm's
    /// running statistics, updated by each replica from its own part) become the
    /// example-weighted mean of the replicas', `b₀ + Σ_{s≥1} (n_s/N)(b_s − b₀)`, which is
    /// exactly `b₀` when they agree. Correct counts add up; named terms are averaged like the
    /// loss.
    ///
    /// Randomness: part 0 draws from the loop's generator, as an unsharded batch would; part
    /// `s ≥ 1` from a generator seeded with `seed + s` (`seed` from [`part_seed`] of the run's
    /// seed and the step). Nothing depends on which thread ran which part, and a model that
    /// draws nothing in training sees the very example orders of `shards = 1`, so the two runs
    /// differ by rounding only.
    fn train_batch(
        &mut self,
        model: &mut M,
        data: &M::Data,
        batch: &[usize],
        rng: &mut StdRng,
        seed: u64,
        overwrites: bool,
    ) -> Result<BatchLoss> {
        use rand::SeedableRng;
        use rayon::prelude::*;
        let n = batch.len();
        let k = (self.replicas.len() + 1)
            .min(n / model.min_batch().max(1))
            .max(1);
        if k == 1 {
            return model.train_batch(data, batch, rng);
        }
        for (s, r) in self.rngs[..k - 1].iter_mut().enumerate() {
            *r = StdRng::seed_from_u64(seed.wrapping_add(s as u64 + 1));
        }
        self.copy_to_replicas(model, k - 1);
        let part = |s: usize| &batch[part_range(n, k, s)];
        let rngs = &mut self.rngs;
        let (first, ()) = rayon::join(
            || crate::linalg::with_threads(1, || model.train_batch(data, part(0), rng)),
            || {
                self.replicas[..k - 1]
                    .par_iter_mut()
                    .zip(rngs[..k - 1].par_iter_mut())
                    .zip(self.outs[..k - 1].par_iter_mut())
                    .enumerate()
                    .for_each(|(i, ((replica, rng), out))| {
                        if !overwrites {
                            crate::zero_grad(replica);
                        }
                        *out = Some(crate::linalg::with_threads(1, || {
                            replica.train_batch(data, part(i + 1), rng)
                        }));
                    });
            },
        );
        self.done.clear();
        self.done.push(first?);
        for out in &mut self.outs[..k - 1] {
            self.done.push(out.take().expect("every part ran")?);
        }
        let outs = &self.done[..];
        let weights = |s: usize, out: &BatchLoss| out.weight.unwrap_or(part(s).len() as f64);
        let total: f64 = outs.iter().enumerate().map(|(s, o)| weights(s, o)).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(Error::Data(format!(
                "data-parallel step: the parts' loss weights sum to {total}"
            )));
        }
        let mut combined = BatchLoss {
            loss: 0.0,
            correct: None,
            terms: Terms::default(),
            weight: outs.iter().any(|o| o.weight.is_some()).then_some(total),
        };
        for (s, out) in outs.iter().enumerate() {
            let w = weights(s, out) / total;
            combined.loss += w * out.loss;
            if let Some(c) = out.correct {
                *combined.correct.get_or_insert(0) += c;
            }
            for (name, value) in out.terms.iter() {
                match combined.terms.names[..combined.terms.len]
                    .iter()
                    .position(|&m| m == name)
                {
                    Some(i) => combined.terms.values[i] += w * value,
                    None => combined.terms = combined.terms.with(name, w * value),
                }
            }
        }
        // ∂L/∂θ = Σ_s (w_s/W) ∂L_s/∂θ into the model's gradients, in one pass
        self.shares.clear();
        self.shares
            .extend((0..k).map(|s| F::of(weights(s, &outs[s]) / total)));
        self.combine_gradients(model, k - 1);
        self.merge_buffers(model, k - 1, |s| part(s).len() as f64 / n as f64);
        Ok(combined)
    }

    /// `g₀ ← (w₀/W) g₀ + Σ_{s=1}^{r} (w_s/W) g_s` over every parameter: the replicas' gradients
    /// are read where they are, in one pass (rayon's pool when it has more than one thread).
    /// The sum runs in the order `(w₁g₁ + w₂g₂ + …)` first, then `w₀g₀ +` that, whatever the
    /// split, so the bits do not depend on the thread count.
    fn combine_gradients(&mut self, model: &mut M, r: usize) {
        let (mine, theirs, shares) = (&mut self.mine, &mut self.theirs[..r], &self.shares[..]);
        take_mats(model, mine, |p| &mut p.grad);
        for (replica, t) in self.replicas[..r].iter_mut().zip(theirs.iter_mut()) {
            take_mats(replica, t, |p| &mut p.grad);
        }
        let theirs = &*theirs;
        let combine = |i: usize, at: usize, g0: &mut [F]| {
            let (w0, w1) = (shares[0], shares[1]);
            let part = |s: usize| &theirs[s].get(i).expect("same parameters").as_slice()[at..];
            if r == 1 {
                for (g, &g1) in g0.iter_mut().zip(part(0)) {
                    *g = w0 * *g + w1 * g1;
                }
                return;
            }
            // more replicas: their weighted sum a block at a time, then the model's part
            const BLOCK: usize = 256;
            let mut acc = [F::zero(); BLOCK];
            for (b, g0) in g0.chunks_mut(BLOCK).enumerate() {
                let acc = &mut acc[..g0.len()];
                for s in 0..r {
                    let w = shares[s + 1];
                    let g = &part(s)[b * BLOCK..b * BLOCK + g0.len()];
                    if s == 0 {
                        acc.iter_mut().zip(g).for_each(|(a, &g)| *a = w * g);
                    } else {
                        acc.iter_mut().zip(g).for_each(|(a, &g)| *a += w * g);
                    }
                }
                for (g, &a) in g0.iter_mut().zip(acc.iter()) {
                    *g = w0 * *g + a;
                }
            }
        };
        par_params(mine, &combine);
        put_mats(model, mine, |p| &mut p.grad);
        for (replica, t) in self.replicas[..r].iter_mut().zip(self.theirs.iter_mut()) {
            put_mats(replica, t, |p| &mut p.grad);
        }
    }

    /// The model's parameter values and buffers → the first `r` replicas, read and written in
    /// place (one pass, on rayon's pool when it has more than one thread).
    fn copy_to_replicas(&mut self, model: &mut M, r: usize) {
        let mine = &mut self.mine;
        take_mats(model, mine, |p| &mut p.value);
        for (replica, t) in self.replicas[..r].iter_mut().zip(self.theirs.iter_mut()) {
            take_mats(replica, t, |p| &mut p.value);
            par_params(t, &|i, at, v: &mut [F]| {
                v.copy_from_slice(&mine[i].as_slice()[at..at + v.len()]);
            });
            put_mats(replica, t, |p| &mut p.value);
        }
        put_mats(model, mine, |p| &mut p.value);
        let buffers = &mut self.base_buffers;
        buffers.clear();
        model.visit_buffers(&mut |_, b| buffers.extend_from_slice(b.as_slice()));
        for replica in &mut self.replicas[..r] {
            let mut at = 0;
            replica.visit_buffers(&mut |_, b| {
                let v = b.as_mut_slice();
                v.copy_from_slice(&buffers[at..at + v.len()]);
                at += v.len();
            });
        }
    }

    /// Buffers after the step: `b₀ + Σ_{s≥1} share(s) (b_s − b₀)` into the model.
    fn merge_buffers(&mut self, model: &mut M, r: usize, share: impl Fn(usize) -> f64) {
        let base = &mut self.base_buffers;
        base.clear();
        model.visit_buffers(&mut |_, b| base.extend_from_slice(b.as_slice()));
        if base.is_empty() {
            return;
        }
        let acc = &mut self.flat_buffers;
        acc.clear();
        acc.resize(base.len(), F::zero());
        for (s, replica) in self.replicas[..r].iter_mut().enumerate() {
            let w = F::of(share(s + 1));
            let mut at = 0;
            replica.visit_buffers(&mut |_, b| {
                let v = b.as_slice();
                for ((a, &x), &x0) in acc[at..at + v.len()].iter_mut().zip(v).zip(&base[at..]) {
                    *a += w * (x - x0);
                }
                at += v.len();
            });
        }
        let mut at = 0;
        model.visit_buffers(&mut |_, b| {
            let v = b.as_mut_slice();
            for (x, &a) in v.iter_mut().zip(&acc[at..]) {
                *x += a;
            }
            at += v.len();
        });
    }
}

/// How many columns of `logits` have their arg-max at the label, without allocating (ties go
/// to the first index, as in [`crate::argmax_columns`]).
pub fn count_correct<F: Float>(logits: &Mat<F>, labels: &[usize]) -> usize {
    let rows = logits.nrows();
    if rows == 0 {
        return 0;
    }
    logits
        .as_slice()
        .chunks_exact(rows)
        .zip(labels)
        .filter(|(column, label)| {
            let mut best = 0;
            for (i, &v) in column.iter().enumerate() {
                if v > column[best] {
                    best = i;
                }
            }
            best == **label
        })
        .count()
}
