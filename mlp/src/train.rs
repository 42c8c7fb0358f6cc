//! Data, evaluation and the training loop.
//!
//! One step reads as everywhere in the workspace — forward, loss, zero_grad, backward, step:
//!
//! ```text
//! X_B, t_B   ← the next shuffled mini-batch (gathered into the network's input buffer)
//! z          ← forward_train(X_B)                  (batch statistics, dropout masks)
//! L, ∂L/∂z   ← loss(z, t_B)                        (optim::loss; error if L is not finite)
//! backward(∂L/∂z)                                 (∂L/∂θ for every parameter, written
//!                                                   over the last step's: no zero_grad pass)
//! [clip_grad_norm]; η ← schedule(η₀, t); optimizer.step
//! ```
//!
//! Weight decay is the optimizer's: coupled L2 (`g ← g + λθ`, e.g. [`optim::Sgd::weight_decay`],
//! [`optim::Adam::weight_decay`]) or decoupled (`θ ← θ(1 − ηλ)`, [`optim::Adam::adamw`]).
//! After every epoch the network is evaluated on the validation set (if any); early stopping
//! watches one validation metric and can restore the weights (and running statistics) of the
//! best epoch.

use crate::network::{Loss, Masks, Mlp};
use optim::data::select_columns_into;
use optim::{Error, Float, Mat, Optimizer, Result, Schedule, loss};
use rand::seq::SliceRandom;
use std::time::Instant;

/// What a data set's examples are labelled with.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets<F: Float> {
    /// One class index per example (classification).
    Classes(Vec<usize>),
    /// One target column per example, `outputs x n` (regression).
    Values(Mat<F>),
}

/// Inputs (`inputs x n`, one column per example) with their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Data<F: Float> {
    /// Inputs, one column per example.
    pub x: Mat<F>,
    /// Targets.
    pub targets: Targets<F>,
}

impl<F: Float> Data<F> {
    /// Classification data: one label per column.
    ///
    /// # Errors
    /// If the counts differ.
    pub fn classification(x: Mat<F>, labels: Vec<usize>) -> Result<Self> {
        if labels.len() != x.ncols() {
            return Err(Error::Shape {
                context: "classification data".into(),
                expected: format!("{} labels (one per column)", x.ncols()),
                got: labels.len().to_string(),
            });
        }
        Ok(Data {
            x,
            targets: Targets::Classes(labels),
        })
    }

    /// Regression data: `y` is `outputs x n`.
    ///
    /// # Errors
    /// If the column counts differ.
    pub fn regression(x: Mat<F>, y: Mat<F>) -> Result<Self> {
        if y.ncols() != x.ncols() {
            return Err(Error::shape(
                "regression targets (outputs x n)",
                (y.nrows(), x.ncols()),
                y.shape(),
            ));
        }
        Ok(Data {
            x,
            targets: Targets::Values(y),
        })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// The class labels, if this is classification data.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes(l) => Some(l),
            Targets::Values(_) => None,
        }
    }

    /// Checks that the data fits a network: widths, label range, finiteness, non-empty.
    ///
    /// # Errors
    /// Naming `what` (e.g. `training data`) and the problem.
    pub fn check_for(&self, model: &Mlp<F>, what: &str) -> Result<()> {
        let c = model.config();
        if self.is_empty() {
            return Err(Error::Data(format!("{what}: no examples")));
        }
        if self.x.nrows() != c.inputs {
            return Err(Error::shape(
                format!("{what} inputs (features x n)"),
                (c.inputs, self.x.ncols()),
                self.x.shape(),
            ));
        }
        // the message is built only on the error path (the training step allocates nothing)
        if self.x.iter().any(|v| !v.finite()) {
            optim::check_finite(&self.x, &format!("{what} inputs"))?;
        }
        match (&self.targets, c.loss) {
            (Targets::Classes(labels), Loss::CrossEntropy { .. }) => {
                if labels.len() != self.x.ncols() {
                    return Err(Error::Data(format!(
                        "{what}: {} labels for {} examples",
                        labels.len(),
                        self.x.ncols()
                    )));
                }
                if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= c.outputs) {
                    return Err(Error::Data(format!(
                        "{what}: label {l} of example {i} is not below the {} classes",
                        c.outputs
                    )));
                }
            }
            (Targets::Values(y), Loss::Mse) => {
                if y.shape() != (c.outputs, self.x.ncols()) {
                    return Err(Error::shape(
                        format!("{what} targets (outputs x n)"),
                        (c.outputs, self.x.ncols()),
                        y.shape(),
                    ));
                }
                if y.iter().any(|v| !v.finite()) {
                    optim::check_finite(y, &format!("{what} targets"))?;
                }
            }
            (Targets::Classes(_), Loss::Mse) => {
                return Err(Error::Data(format!(
                    "{what} has class labels but the network is a regressor (mse)"
                )));
            }
            (Targets::Values(_), Loss::CrossEntropy { .. }) => {
                return Err(Error::Data(format!(
                    "{what} has real-valued targets but the network is a classifier"
                )));
            }
        }
        Ok(())
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        let mut x = Mat::zeros(0, 0);
        select_columns_into(&self.x, indices, &mut x);
        let targets = match &self.targets {
            Targets::Classes(l) => Targets::Classes(indices.iter().map(|&i| l[i]).collect()),
            Targets::Values(y) => {
                let mut out = Mat::zeros(0, 0);
                select_columns_into(y, indices, &mut out);
                Targets::Values(out)
            }
        };
        Data { x, targets }
    }

    /// Seeded shuffled split into `(rest, held_out)` with `fraction` of the examples (rounded)
    /// held out.
    pub fn split(&self, fraction: f64, rng: &mut impl rand::Rng) -> Result<(Self, Self)> {
        let (a, b) = optim::data::split_indices(self.len(), fraction, rng)?;
        Ok((self.select(&a), self.select(&b)))
    }
}

impl<F: Float> From<optim::data::Dataset<F>> for Data<F> {
    fn from(d: optim::data::Dataset<F>) -> Self {
        Data {
            x: d.x,
            targets: Targets::Classes(d.labels),
        }
    }
}

/// The loss (and accuracy, for classification) of a network on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss (the training loss, without regularization).
    pub loss: f64,
    /// Fraction classified correctly (classification only).
    pub accuracy: Option<f64>,
}

/// Which validation figure early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    /// Validation loss (lower is better).
    ValidationLoss,
    /// Validation accuracy (higher is better; classification only).
    ValidationAccuracy,
}

/// Early stopping on the validation set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// Stop after this many epochs without an improvement. Default: 10.
    pub patience: usize,
    /// An improvement must beat the best so far by more than this. Default: 0.
    pub min_delta: f64,
    /// The watched figure. Default: validation loss.
    pub monitor: Monitor,
    /// Whether to end with the weights (and running statistics) of the best epoch. Default: true.
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

/// Settings of the training loop.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set (at most, with early stopping). Default: 10.
    pub epochs: usize,
    /// Examples per mini-batch; the last batch of an epoch may be smaller. Default: 32.
    pub batch_size: usize,
    /// Learning rate per optimizer step `t = 0, 1, …` of this call, with the optimizer's rate
    /// when [`Mlp::fit`] starts as `η₀`; the optimizer keeps the last rate set (as PyTorch's
    /// schedulers leave it), so a second `fit` continues from there. Default: constant.
    pub schedule: Schedule,
    /// Seed of the shuffling and of the dropout masks. Default: 0.
    pub seed: u64,
    /// Clip the global gradient norm to this value before each step. Default: none.
    pub clip_grad_norm: Option<f64>,
    /// Early stopping (needs validation data). Default: none.
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            schedule: Schedule::Constant,
            seed: 0,
            clip_grad_norm: None,
            early_stopping: None,
        }
    }
}

/// What happened in one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (training mode: dropout on, batch
    /// statistics), weighted by batch size.
    pub train_loss: f64,
    /// Fraction of the epoch's training examples classified correctly at the time of their
    /// step, in training mode (classification only).
    pub train_accuracy: Option<f64>,
    /// Validation loss and accuracy after the epoch, in evaluation mode.
    pub validation: Option<Evaluation>,
    /// Learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds (including validation).
    pub seconds: f64,
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

/// A report to the progress callback of [`Mlp::fit`].
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// After each optimizer step.
    Step {
        /// Epoch, from 1.
        epoch: usize,
        /// Batch within the epoch, from 1.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Global step count, from 1.
        step: usize,
        /// The batch's training loss.
        loss: f64,
    },
    /// After each epoch (and its validation).
    Epoch(&'a EpochRecord),
}

/// Column count of the chunks in which [`Mlp::evaluate`] runs the network.
const EVAL_CHUNK: usize = 2048;

impl<F: Float> Mlp<F> {
    /// Mean loss and accuracy on `data` in evaluation mode (running statistics, no dropout),
    /// run in chunks of columns so memory stays bounded; needs only `&self`.
    ///
    /// # Errors
    /// If the data does not fit the network (see [`Data::check_for`]).
    pub fn evaluate(&self, data: &Data<F>) -> Result<Evaluation> {
        data.check_for(self, "evaluation data")?;
        let n = data.len();
        let mut total = 0.0;
        let mut correct = 0usize;
        let mut idx = Vec::with_capacity(EVAL_CHUNK);
        let mut xb = Mat::zeros(0, 0);
        let mut yb = Mat::zeros(0, 0);
        for start in (0..n).step_by(EVAL_CHUNK) {
            idx.clear();
            idx.extend(start..(start + EVAL_CHUNK).min(n));
            select_columns_into(&data.x, &idx, &mut xb);
            let out = self.predict(&xb)?;
            match (&data.targets, self.config().loss) {
                (Targets::Classes(labels), Loss::CrossEntropy { label_smoothing }) => {
                    let lb = &labels[idx[0]..idx[0] + idx.len()];
                    let (l, _) = loss::softmax_cross_entropy(&out, lb, label_smoothing)?;
                    total += l.to_f64() * idx.len() as f64;
                    correct += count_correct(&out, lb);
                }
                (Targets::Values(y), Loss::Mse) => {
                    select_columns_into(y, &idx, &mut yb);
                    let (l, _) = loss::mse(&out, &yb)?;
                    total += l.to_f64() * idx.len() as f64;
                }
                _ => unreachable!("check_for rejects a task mismatch"),
            }
        }
        Ok(Evaluation {
            loss: total / n as f64,
            accuracy: self
                .config()
                .loss
                .is_classification()
                .then(|| correct as f64 / n as f64),
        })
    }

    /// One training step on one batch — forward (training mode), loss, zero_grad, backward,
    /// optimizer step — returning the batch's loss. [`Mlp::fit`] runs the same sequence over
    /// shuffled mini-batches.
    ///
    /// # Errors
    /// A batch that does not fit the network, a non-finite loss (the weights are left
    /// unchanged), or an optimizer error.
    pub fn train_step<R: rand::Rng>(
        &mut self,
        optimizer: &mut dyn Optimizer<F>,
        batch: &Data<F>,
        rng: &mut R,
    ) -> Result<f64> {
        batch.check_for(self, "batch")?;
        optim::linalg::copy_into(self.input_buffer(), &batch.x);
        let smoothing = match self.config().loss {
            Loss::CrossEntropy { label_smoothing } => label_smoothing,
            Loss::Mse => 0.0,
        };
        let out = self.forward_cached(Masks::Draw(rng))?;
        let (l, d_out) = match &batch.targets {
            Targets::Classes(labels) => loss::softmax_cross_entropy(out, labels, smoothing)?,
            Targets::Values(y) => loss::mse(out, y)?,
        };
        let l = l.to_f64();
        if !l.is_finite() {
            return Err(Error::NonFinite {
                context: format!("training loss ({l}) at step {}", optimizer.steps() + 1),
            });
        }
        // backward_owned overwrites the gradients: no zero_grad pass needed
        self.backward_owned(d_out)?;
        optimizer.step(self)?;
        Ok(l)
    }

    /// Trains on `train` with mini-batches, any optimizer and schedule, reporting to
    /// `on_progress` after every step and epoch, and returns the history.
    ///
    /// With batch norm, a last batch of a single example is skipped (its variance is undefined).
    ///
    /// # Errors
    /// Data that does not fit the network, invalid settings (zero epochs or batch size, early
    /// stopping without validation data, accuracy monitoring of a regressor), an optimizer
    /// error, or a **non-finite training loss**, which stops training with an error naming the
    /// epoch and step (the weights are those of the step before).
    pub fn fit(
        &mut self,
        optimizer: &mut dyn Optimizer<F>,
        train: &Data<F>,
        validation: Option<&Data<F>>,
        config: &TrainConfig,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<History> {
        train.check_for(self, "training data")?;
        if let Some(v) = validation {
            v.check_for(self, "validation data")?;
        }
        if config.epochs == 0 {
            return Err(Error::hyper("epochs", 0, "must be at least 1"));
        }
        if config.batch_size == 0 {
            return Err(Error::hyper("batch_size", 0, "must be at least 1"));
        }
        if let Some(c) = config.clip_grad_norm {
            optim::check_positive("clip_grad_norm", c)?;
        }
        if let Some(es) = &config.early_stopping {
            if validation.is_none() {
                return Err(Error::hyper(
                    "early_stopping",
                    "on",
                    "needs validation data",
                ));
            }
            if es.monitor == Monitor::ValidationAccuracy && !self.config().loss.is_classification()
            {
                return Err(Error::hyper(
                    "early_stopping.monitor",
                    "validation accuracy",
                    "needs a classifier",
                ));
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(Error::hyper(
                    "early_stopping.min_delta",
                    es.min_delta,
                    "must be finite and >= 0",
                ));
            }
        }
        let batch_norm = self.config().batch_norm;
        let classification = self.config().loss.is_classification();
        let smoothing = match self.config().loss {
            Loss::CrossEntropy { label_smoothing } => label_smoothing,
            Loss::Mse => 0.0,
        };
        let mut rng = optim::rng(config.seed);
        let base_lr = optimizer.learning_rate();
        let n = train.len();
        let batches = n.div_ceil(config.batch_size);
        let mut order: Vec<usize> = (0..n).collect();
        let mut labels_b: Vec<usize> = Vec::with_capacity(config.batch_size);
        let mut targets_b = Mat::<F>::zeros(0, 0);
        let mut history = History::default();
        let mut best: Option<f64> = None;
        let mut best_state: Vec<Mat<F>> = Vec::new();
        let mut since_best = 0usize;
        let mut step = 0usize;
        for epoch in 1..=config.epochs {
            let started = Instant::now();
            order.shuffle(&mut rng);
            let (mut loss_sum, mut seen, mut correct) = (0.0, 0usize, 0usize);
            let mut lr = base_lr;
            for (b, idx) in order.chunks(config.batch_size).enumerate() {
                if batch_norm && idx.len() < 2 {
                    continue;
                }
                select_columns_into(&train.x, idx, self.input_buffer());
                let out = self.forward_cached(Masks::Draw(&mut rng))?;
                let (batch_loss, d_out) = match &train.targets {
                    Targets::Classes(labels) => {
                        labels_b.clear();
                        labels_b.extend(idx.iter().map(|&i| labels[i]));
                        correct += count_correct(out, &labels_b);
                        loss::softmax_cross_entropy(out, &labels_b, smoothing)?
                    }
                    Targets::Values(y) => {
                        select_columns_into(y, idx, &mut targets_b);
                        loss::mse(out, &targets_b)?
                    }
                };
                let batch_loss = batch_loss.to_f64();
                if !batch_loss.is_finite() {
                    return Err(Error::NonFinite {
                        context: format!(
                            "training loss ({batch_loss}) at epoch {epoch}, step {} (batch {} \
                             of the epoch)",
                            step + 1,
                            b + 1
                        ),
                    });
                }
                // backward_owned overwrites the gradients: no zero_grad pass needed
                self.backward_owned(d_out)?;
                if let Some(c) = config.clip_grad_norm {
                    optim::clip_grad_norm(self, c);
                }
                lr = config.schedule.lr(base_lr, step);
                optimizer.set_learning_rate(lr);
                optimizer.step(self)?;
                step += 1;
                loss_sum += batch_loss * idx.len() as f64;
                seen += idx.len();
                on_progress(Progress::Step {
                    epoch,
                    batch: b + 1,
                    batches,
                    step,
                    loss: batch_loss,
                });
            }
            let validation_eval = validation.map(|v| self.evaluate(v)).transpose()?;
            let record = EpochRecord {
                epoch,
                train_loss: loss_sum / seen.max(1) as f64,
                train_accuracy: classification.then(|| correct as f64 / seen.max(1) as f64),
                validation: validation_eval,
                learning_rate: lr,
                seconds: started.elapsed().as_secs_f64(),
            };
            history.epochs.push(record);
            history.steps = step;
            on_progress(Progress::Epoch(&record));
            if let (Some(es), Some(v)) = (&config.early_stopping, validation_eval) {
                // lower is better: negate accuracy
                let score = match es.monitor {
                    Monitor::ValidationLoss => v.loss,
                    Monitor::ValidationAccuracy => -v.accuracy.unwrap_or(0.0),
                };
                if best.is_none_or(|b| score < b - es.min_delta) {
                    best = Some(score);
                    history.best_epoch = Some(epoch);
                    since_best = 0;
                    if es.restore_best {
                        self.save_state(&mut best_state);
                    }
                } else {
                    since_best += 1;
                    if since_best >= es.patience {
                        history.stopped_early = epoch < config.epochs;
                        break;
                    }
                }
            }
        }
        if let Some(es) = &config.early_stopping
            && es.restore_best
            && !best_state.is_empty()
        {
            self.load_state(&best_state);
            history.restored_best = true;
        }
        Ok(history)
    }
}

/// How many columns of `logits` have their arg-max at the label (no allocation, unlike
/// [`optim::argmax_columns`]; ties go to the first index, as there).
fn count_correct<F: Float>(logits: &Mat<F>, labels: &[usize]) -> usize {
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
