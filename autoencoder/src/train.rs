//! Training with any [`optim::Optimizer`]: shuffled mini-batches, the step
//! `zero_grad → forward + loss → backward → (clip) → optimizer.step` in plain sight, a
//! learning-rate [`Schedule`], per-epoch [`History`] for plots and a progress callback.

use optim::data::{batches, select_columns_into};
use optim::{Error, Float, Mat, Optimizer, Parameters, Result, Schedule, check_finite};
use rand::{Rng, RngCore};
use std::time::Instant;

/// The parts of a training loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParts<F: Float> {
    /// Reconstruction plus penalty: what the gradients are of.
    pub total: F,
    /// Reconstruction term (mean per entry for [`crate::Autoencoder`]; per example, summed
    /// over entries, for [`crate::Vae`]).
    pub reconstruction: F,
    /// Penalty: sparse KL, contractive Jacobian norm, or the VAE's KL to the prior (0 if none).
    pub penalty: F,
}

/// A model this module can train: it lists its parameters, computes a batch's loss and adds
/// its gradients, and reconstructs without `&mut`.
pub trait Reconstructor<F: Float>: Parameters<F> {
    /// Input width `d`.
    fn input_size(&self) -> usize;
    /// Forward and backward on a clean batch (`d x batch`), with whatever randomness the model
    /// needs in training (corruption, reparameterization noise) drawn from `rng`; adds into the
    /// parameters' gradients.
    fn train_batch(&mut self, x: &Mat<F>, rng: &mut dyn RngCore) -> Result<LossParts<F>>;
    /// The deterministic reconstruction `x̂` (`d x batch`).
    fn reconstruct(&self, x: &Mat<F>) -> Result<Mat<F>>;
}

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the data (default 50).
    pub epochs: usize,
    /// Examples per mini-batch (default 64).
    pub batch_size: usize,
    /// Learning-rate schedule over the run's steps, applied to the optimizer's rate at the
    /// start (default constant).
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value (default none).
    pub clip_norm: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 50,
            batch_size: 64,
            schedule: Schedule::Constant,
            clip_norm: None,
        }
    }
}

impl TrainConfig {
    /// `epochs` passes with batches of `batch_size`, constant rate, no clipping.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            ..Default::default()
        }
    }

    /// Cosine decay from the optimizer's rate to `min_lr` over the whole run (no warm-up),
    /// for `n` training examples.
    pub fn cosine(mut self, n: usize, min_lr: f64) -> Self {
        self.schedule = Schedule::CosineWarmup {
            warmup: 0,
            total: self.epochs * n.div_ceil(self.batch_size.max(1)),
            min_lr,
        };
        self
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub loss: f64,
    /// Mean reconstruction term.
    pub reconstruction: f64,
    /// Mean penalty term.
    pub penalty: f64,
    /// MSE per entry of the deterministic reconstruction of the validation set, if given.
    pub validation_mse: Option<f64>,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Seconds since training started.
    pub seconds: f64,
}

/// Per-epoch records of a run, for plots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One record per epoch.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Training loss per epoch.
    pub fn losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }
}

/// What the progress callback receives.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// After each optimizer step.
    Step {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// This batch's loss.
        loss: f64,
    },
    /// After each epoch.
    Epoch(&'a EpochRecord),
}

/// Trains `model` on the columns of `x` (`d x n`).
///
/// Each step: gather a shuffled batch, `zero_grad`, [`Reconstructor::train_batch`] (forward,
/// loss, backward), optional clipping, set the scheduled rate, `optimizer.step`. After each
/// epoch the validation MSE (if `validation` is given) is recorded and `progress` is called.
///
/// # Errors
/// Bad shapes, an empty or non-finite data set, a zero batch size, or a loss that turns
/// non-finite (the error names the epoch and step).
pub fn train<F: Float, M: Reconstructor<F>, R: Rng>(
    model: &mut M,
    x: &Mat<F>,
    validation: Option<&Mat<F>>,
    config: &TrainConfig,
    optimizer: &mut dyn Optimizer<F>,
    rng: &mut R,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<History> {
    let d = model.input_size();
    if x.nrows() != d {
        return Err(Error::shape(
            "training data (features x n)",
            (d, x.ncols()),
            x.shape(),
        ));
    }
    if x.ncols() == 0 {
        return Err(Error::Data("training data: no examples".into()));
    }
    if config.batch_size == 0 {
        return Err(Error::hyper("batch_size", 0, "must be at least 1"));
    }
    if let Some(c) = config.clip_norm {
        optim::check_positive("clip_norm", c)?;
    }
    check_finite(x, "training data")?;
    if let Some(v) = validation {
        if v.nrows() != d {
            return Err(Error::shape("validation data", (d, v.ncols()), v.shape()));
        }
        check_finite(v, "validation data")?;
    }
    let base_lr = optimizer.learning_rate();
    let n = x.ncols();
    let steps = n.div_ceil(config.batch_size);
    let start = Instant::now();
    let mut history = History::default();
    let mut batch = Mat::zeros(d, config.batch_size.min(n));
    let mut t = 0usize;
    for epoch in 1..=config.epochs {
        let (mut sum, mut rec, mut pen) = (0.0, 0.0, 0.0);
        let order: Vec<Vec<usize>> = batches(n, config.batch_size, Some(&mut *rng)).collect();
        for (s, idx) in order.iter().enumerate() {
            select_columns_into(x, idx, &mut batch);
            optim::zero_grad(model);
            let parts = model.train_batch(&batch, rng)?;
            let loss = parts.total.to_f64();
            if !loss.is_finite() {
                return Err(Error::NonFinite {
                    context: format!("training loss at epoch {epoch}, step {}", s + 1),
                });
            }
            if let Some(c) = config.clip_norm {
                optim::clip_grad_norm(model, c);
            }
            optimizer.set_learning_rate(config.schedule.lr(base_lr, t));
            optimizer.step(model)?;
            t += 1;
            let w = idx.len() as f64;
            sum += loss * w;
            rec += parts.reconstruction.to_f64() * w;
            pen += parts.penalty.to_f64() * w;
            progress(Progress::Step {
                epoch,
                step: s + 1,
                steps,
                loss,
            });
        }
        let validation_mse = match validation {
            Some(v) if v.ncols() > 0 => Some(reconstruction_mse(&*model, v)?),
            _ => None,
        };
        history.epochs.push(EpochRecord {
            epoch,
            loss: sum / n as f64,
            reconstruction: rec / n as f64,
            penalty: pen / n as f64,
            validation_mse,
            learning_rate: optimizer.learning_rate(),
            seconds: start.elapsed().as_secs_f64(),
        });
        progress(Progress::Epoch(history.epochs.last().expect("just pushed")));
    }
    Ok(history)
}

/// MSE per entry of `model.reconstruct(x)` against `x`, computed in chunks of 1024 columns.
pub fn reconstruction_mse<F: Float, M: Reconstructor<F> + ?Sized>(
    model: &M,
    x: &Mat<F>,
) -> Result<f64> {
    let mut total = 0.0;
    let n = x.ncols();
    if n == 0 {
        return Err(Error::Data("reconstruction_mse: no examples".into()));
    }
    let mut start = 0;
    while start < n {
        let end = (start + 1024).min(n);
        let chunk = x.columns(start, end - start).into_owned();
        let r = model.reconstruct(&chunk)?;
        total += crate::model::mse_per_entry(&r, &chunk)? * chunk.len() as f64;
        start = end;
    }
    Ok(total / x.len() as f64)
}
