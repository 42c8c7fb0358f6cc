//! The online training loop every linear perceptron in the crate shares, and its history.
//!
//! ```
//! use perceptron::{Config, MISTAKES, Perceptron};
//! // AND: the first epoch from w = 0 makes one mistake on four examples
//! let x = optim::Mat::<f64>::from_column_slice(2, 4, &[0., 0., 0., 1., 1., 0., 1., 1.]);
//! let run = Perceptron::new(2, Config::default())?.fit(&x, &[0, 0, 0, 1])?;
//! let first = &run.history.epochs[0];
//! assert_eq!(first.term(MISTAKES), Some(1.0));
//! assert_eq!((first.train_loss, first.train_accuracy), (0.25, Some(0.75)));
//! assert_eq!(run.history.steps, 4 * run.len());
//! # Ok::<(), optim::Error>(())
//! ```
//!
//! One loop serves the binary unit, the multiclass machine and each one-vs-rest member; they
//! differ only in how a weight table scores an example and how a mistake changes it
//! ([`Machine`]). The loop is the notes' rule read literally: present one example, compute the
//! unit's output, and if it is wrong change the weights by `η (d − y) x̃`; count the mistakes of
//! each epoch; stop after an epoch without one, or at the epoch limit. It is not gradient
//! descent on a batch, so it does not go through `optim::train::fit`, but it reports each epoch
//! through the same [`Progress`] and [`EpochRecord`] ([`Run`]).

use crate::config::{Coding, Config, Order, Variant};
use optim::train::{EpochRecord, History, Progress};
use optim::{Error, Float, Mat, Result};
use rand::seq::SliceRandom;
use std::time::Instant;

/// The [`EpochRecord::train_terms`] name of an epoch's mistakes (= its updates: the online rule
/// updates exactly on its mistakes).
pub const MISTAKES: &str = "mistakes";

/// The [`EpochRecord::train_terms`] name of the pocketed weights' training errors after an epoch
/// ([`Variant::Pocket`] only).
pub const POCKET_ERRORS: &str = "pocket_errors";

/// The record of one perceptron training run: the workspace's shared [`History`] plus what only
/// the perceptron has.
///
/// Each epoch is an [`EpochRecord`] like every other chapter's: `train_terms` holds
/// [`MISTAKES`] (and [`POCKET_ERRORS`] for the pocket), `train_loss` is the mistake rate
/// `mistakes / n`, `train_accuracy` the fraction of the epoch's examples the unit got right when
/// it met them (`1 − mistake rate`), `learning_rate` is `η`. `history.steps` counts the examples
/// presented (one step of the rule each); `history.stopped_early` is set when a mistake-free
/// epoch ended training before the epoch limit; for the pocket, `history.best_epoch` is the epoch
/// whose weights went last into the pocket and `history.restored_best` says that the model ends
/// with them.
#[derive(Debug, Clone)]
pub struct Run<F: Float> {
    /// One record per epoch run, in order.
    pub history: History,
    /// Whether training stopped because an epoch made no mistake (so the training set is
    /// classified without error by the online weights); `false` if it hit the epoch limit.
    pub converged: bool,
    /// Per epoch, the weights the model would keep if training stopped there — `w(t)` for the
    /// plain rule, the pocketed weights for [`Variant::Pocket`], the running mean for
    /// [`Variant::Averaged`], the dual coefficients `a` (`n x 1`) for the kernel perceptron — in
    /// the layout of the model's parameter (bias first). Empty when [`Config::record_weights`]
    /// is off.
    pub weights: Vec<Mat<F>>,
}

fn count(record: &EpochRecord, name: &str) -> Option<usize> {
    // the terms hold exact small integers
    record.term(name).map(|v| v as usize)
}

impl<F: Float> Run<F> {
    /// Mistakes per epoch (the curve of Rosenblatt's learning plots).
    pub fn mistakes(&self) -> Vec<usize> {
        self.history
            .epochs
            .iter()
            .map(|e| count(e, MISTAKES).unwrap_or(0))
            .collect()
    }

    /// Total number of weight updates (= total mistakes), the quantity Novikoff's theorem bounds.
    pub fn updates(&self) -> usize {
        self.mistakes().iter().sum()
    }

    /// [`Variant::Pocket`]: training-set errors of the pocketed weights after each epoch (empty
    /// for the other variants).
    pub fn pocket_errors(&self) -> Vec<usize> {
        self.history
            .epochs
            .iter()
            .filter_map(|e| count(e, POCKET_ERRORS))
            .collect()
    }

    /// Number of epochs run.
    pub fn len(&self) -> usize {
        self.history.epochs.len()
    }

    /// Whether no epoch was run.
    pub fn is_empty(&self) -> bool {
        self.history.epochs.is_empty()
    }
}

/// Builds a [`Run`] epoch by epoch and reports each epoch through the shared [`Progress`].
pub(crate) struct Recorder<'a, F: Float> {
    run: Run<F>,
    examples: usize,
    config: Config,
    started: Instant,
    on_progress: &'a mut dyn FnMut(Progress<'_>),
}

impl<'a, F: Float> Recorder<'a, F> {
    pub(crate) fn new(
        examples: usize,
        config: &Config,
        on_progress: &'a mut dyn FnMut(Progress<'_>),
    ) -> Self {
        Recorder {
            run: Run {
                history: History::default(),
                converged: false,
                weights: Vec::new(),
            },
            examples,
            config: *config,
            started: Instant::now(),
            on_progress,
        }
    }

    /// Records epoch `epoch` with its `mistakes` (and the pocket's errors), the weights from
    /// `weights` if the configuration keeps them; returns whether the run has converged.
    pub(crate) fn epoch(
        &mut self,
        epoch: usize,
        mistakes: usize,
        pocket_errors: Option<usize>,
        weights: impl FnOnce() -> Mat<F>,
    ) -> bool {
        let n = self.examples.max(1) as f64;
        let rate = mistakes as f64 / n;
        let mut train_terms = vec![(MISTAKES, mistakes as f64)];
        if let Some(e) = pocket_errors {
            train_terms.push((POCKET_ERRORS, e as f64));
        }
        let record = EpochRecord {
            epoch,
            train_loss: rate,
            train_accuracy: Some(1.0 - rate),
            train_terms,
            validation: None,
            learning_rate: self.config.learning_rate,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        if self.config.record_weights {
            self.run.weights.push(weights());
        }
        (self.on_progress)(Progress::Epoch(&record));
        self.run.history.epochs.push(record);
        self.run.history.steps += self.examples;
        self.started = Instant::now();
        if mistakes == 0 {
            self.run.converged = true;
            self.run.history.stopped_early = epoch < self.config.max_epochs;
        }
        self.run.converged
    }

    /// The finished run; `pocket_epoch` is the epoch whose weights the pocket ends with.
    pub(crate) fn finish(mut self, pocket_epoch: Option<usize>) -> Run<F> {
        self.run.history.best_epoch = pocket_epoch;
        self.run.history.restored_best = pocket_epoch.is_some();
        self.run
    }
}

/// `Σ a_i b_i` with eight independent partial sums, so the compiler can vectorize it.
#[inline]
pub(crate) fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let x: &[F; 8] = x.try_into().expect("chunks of 8");
        let y: &[F; 8] = y.try_into().expect("chunks of 8");
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += *x * *y;
    }
    s
}

/// Whether every entry is finite: `Σ 0·v` is 0 unless some `v` is NaN or infinite, and this form
/// vectorizes (a scan of MNIST-sized data costs about as much as one pass of the rule).
fn all_finite<F: Float>(values: &[F]) -> bool {
    let mut acc = [F::zero(); 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        let c: &[F; 8] = c.try_into().expect("chunks of 8");
        for k in 0..8 {
            acc[k] += c[k] * F::zero();
        }
    }
    acc.iter().chain(rest).all(|v| v.finite())
}

/// The induced field of one weight row on one example: `v = w_0·1 + Σ_i w_i x_i` (the bias is
/// the weight on the constant input `x_0 = 1`).
#[inline]
pub(crate) fn field<F: Float>(row: &[F], x: &[F]) -> F {
    row[0] + dot(&row[1..], x)
}

/// `row ← row + c·x̃` with `x̃ = (1, x)`: the perceptron's update of one weight vector.
#[inline]
pub(crate) fn add_scaled<F: Float>(row: &mut [F], c: F, x: &[F]) {
    row[0] += c;
    for (w, &xi) in row[1..].iter_mut().zip(x) {
        *w += c * xi;
    }
}

#[inline]
fn add_scaled_f64<F: Float>(row: &mut [f64], c: f64, x: &[F]) {
    row[0] += c;
    for (w, &xi) in row[1..].iter_mut().zip(x) {
        *w += c * xi.to_f64();
    }
}

/// How a table of weight rows (`rows x (d+1)`, row-contiguous, bias first) classifies and learns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Machine {
    /// One threshold unit; targets are `1` (positive) or `0` (negative) indices, coded as the
    /// coding's values in `d − y`.
    Binary(Coding),
    /// One row per class; predict the arg-max; a mistake adds `η x̃` to the true class's row and
    /// subtracts it from the predicted one's.
    Multiclass(usize),
}

impl Machine {
    pub(crate) fn rows(self) -> usize {
        match self {
            Machine::Binary(_) => 1,
            Machine::Multiclass(k) => k,
        }
    }

    /// The class index the machine outputs for `x` (binary: `1` iff `v > 0`).
    #[inline]
    pub(crate) fn predict<F: Float>(self, w: &[F], x: &[F]) -> usize {
        let d1 = x.len() + 1;
        match self {
            Machine::Binary(_) => usize::from(field(w, x) > F::zero()),
            Machine::Multiclass(k) => {
                let mut best = 0;
                let mut best_v = field(&w[..d1], x);
                for c in 1..k {
                    let v = field(&w[c * d1..(c + 1) * d1], x);
                    if v > best_v {
                        best = c;
                        best_v = v;
                    }
                }
                best
            }
        }
    }

    /// `d − y` for a binary machine, in the coding's values.
    #[inline]
    fn error_signal(coding: Coding, target: usize, predicted: usize) -> f64 {
        let value = |c: usize| if c == 1 { 1.0 } else { coding.negative_value() };
        value(target) - value(predicted)
    }

    /// Applies the mistake-driven update with step `eta` to `w` (called only when
    /// `predicted ≠ target`).
    ///
    /// Binary: the notes' `w_i ← w_i + η [d − y] x_i` for `i = 0, …, d` with `x_0 = 1`. Since
    /// `y ≠ d`, `d − y` is `±1` (`{0, 1}` labels) or `±2` (`±1` labels): the weights move toward
    /// `x̃` after a missed positive and away from it after a false alarm, which raises
    /// `s·wᵀx̃` by `η (d − y) s ‖x̃‖² > 0` — the example is "less wrong" next time.
    ///
    /// Multiclass: the same move on the two units involved, `w_c += η x̃` for the true class and
    /// `w_ŷ −= η x̃` for the predicted one, raising the true margin `(w_c − w_ŷ)ᵀx̃` by `2η‖x̃‖²`.
    #[inline]
    pub(crate) fn update<F: Float>(
        self,
        w: &mut [F],
        x: &[F],
        target: usize,
        predicted: usize,
        eta: F,
    ) {
        let d1 = x.len() + 1;
        match self {
            Machine::Binary(coding) => {
                // w ← w + η [d − y] x̃
                let c = eta * F::of(Self::error_signal(coding, target, predicted));
                add_scaled(w, c, x);
            }
            Machine::Multiclass(_) => {
                add_scaled(&mut w[target * d1..(target + 1) * d1], eta, x);
                add_scaled(&mut w[predicted * d1..(predicted + 1) * d1], -eta, x);
            }
        }
    }

    fn update_f64<F: Float>(self, u: &mut [f64], x: &[F], target: usize, predicted: usize, s: f64) {
        let d1 = x.len() + 1;
        match self {
            Machine::Binary(coding) => {
                add_scaled_f64(u, s * Self::error_signal(coding, target, predicted), x)
            }
            Machine::Multiclass(_) => {
                add_scaled_f64(&mut u[target * d1..(target + 1) * d1], s, x);
                add_scaled_f64(&mut u[predicted * d1..(predicted + 1) * d1], -s, x);
            }
        }
    }

    /// Number of training examples `w` misclassifies, counting only up to `limit` (the count
    /// stops there: the pocket only needs to know whether a candidate beats it).
    pub(crate) fn errors_below<F: Float>(
        self,
        w: &[F],
        x: &Mat<F>,
        targets: &[usize],
        limit: usize,
    ) -> usize {
        let d = x.nrows();
        let mut errors = 0;
        for (col, &t) in x.as_slice().chunks_exact(d.max(1)).zip(targets) {
            if self.predict(w, col) != t {
                errors += 1;
                if errors >= limit {
                    break;
                }
            }
        }
        errors
    }
}

/// Runs the online rule on `x` (`d x n`) with class-index `targets` from `w = 0`, returning the
/// weights the variant keeps (row-contiguous) and the run's record. `layout` turns a weight table
/// into the model's parameter layout for the record. Inputs are validated by the caller.
pub(crate) fn train<F: Float>(
    machine: Machine,
    x: &Mat<F>,
    targets: &[usize],
    config: &Config,
    layout: &dyn Fn(&[F]) -> Mat<F>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(Vec<F>, Run<F>)> {
    let d = x.nrows();
    let n = x.ncols();
    let d1 = d + 1;
    let rows = machine.rows();
    let xs = x.as_slice();
    let eta = F::of(config.learning_rate);

    let mut w = vec![F::zero(); rows * d1];
    // Averaged: u = Σ_t t·Δ_t (f64, it grows like T·w); w̄ = ((T+1) w − u) / T.
    let averaged = config.variant == Variant::Averaged;
    let mut u = if averaged {
        vec![0.0f64; rows * d1]
    } else {
        Vec::new()
    };
    let mut steps: u64 = 0;
    let average = |w: &[F], u: &[f64], steps: u64| -> Vec<F> {
        let t = steps.max(1) as f64;
        w.iter()
            .zip(u)
            .map(|(&wi, &ui)| F::of(((t + 1.0) * wi.to_f64() - ui) / t))
            .collect()
    };
    // Pocket: the fewest training errors among all weights visited so far.
    let pocket = config.variant == Variant::Pocket;
    let mut pocket_w = w.clone();
    let mut pocket_errors = if pocket {
        machine.errors_below(&w, x, targets, usize::MAX)
    } else {
        0
    };

    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = match config.order {
        Order::Cyclic => None,
        Order::Shuffled { seed } => Some(optim::rng(seed)),
    };
    let mut pocket_epoch = None;
    let mut recorder = Recorder::new(n, config, on_progress);

    for epoch in 1..=config.max_epochs {
        if let Some(r) = rng.as_mut() {
            order.shuffle(r);
        }
        let mut mistakes = 0;
        for &j in &order {
            steps += 1;
            let xj = &xs[j * d..(j + 1) * d];
            let t = targets[j];
            let y = machine.predict(&w, xj);
            if y != t {
                machine.update(&mut w, xj, t, y, eta);
                if averaged {
                    machine.update_f64(&mut u, xj, t, y, config.learning_rate * steps as f64);
                }
                mistakes += 1;
                if pocket && pocket_errors > 0 {
                    // Score the new w(t); the count stops once it cannot beat the pocket.
                    let e = machine.errors_below(&w, x, targets, pocket_errors);
                    if e < pocket_errors {
                        pocket_w.copy_from_slice(&w);
                        pocket_errors = e;
                        pocket_epoch = Some(epoch);
                    }
                }
            }
        }
        if let Some(i) = w.iter().position(|v| !v.finite()) {
            return Err(Error::NonFinite {
                context: format!("perceptron weights (entry {i}) after epoch {epoch}"),
            });
        }
        let converged =
            recorder.epoch(
                epoch,
                mistakes,
                pocket.then_some(pocket_errors),
                || match config.variant {
                    Variant::Plain => layout(&w),
                    Variant::Pocket => layout(&pocket_w),
                    Variant::Averaged => layout(&average(&w, &u, steps)),
                },
            );
        if converged {
            break;
        }
    }
    let kept = match config.variant {
        Variant::Plain => w,
        Variant::Pocket => pocket_w,
        Variant::Averaged => average(&w, &u, steps),
    };
    Ok((kept, recorder.finish(pocket_epoch)))
}

/// Checks a data matrix for training or prediction: at least one example (when `need_examples`),
/// `features` rows, every entry finite.
pub(crate) fn check_input<F: Float>(
    x: &Mat<F>,
    features: usize,
    context: &str,
    need_examples: bool,
) -> Result<()> {
    if need_examples && x.ncols() == 0 {
        return Err(Error::Data(format!(
            "{context}: no examples (the input has 0 columns)"
        )));
    }
    if x.nrows() != features {
        return Err(Error::Shape {
            context: format!("{context} input"),
            expected: format!("{features} x n (one column per example)"),
            got: format!("{} x {}", x.nrows(), x.ncols()),
        });
    }
    if all_finite(x.as_slice()) {
        Ok(())
    } else {
        // the slow scan that names the first offending entry
        optim::check_finite(x, &format!("{context} input"))
    }
}

/// Checks that there is one label per example.
pub(crate) fn check_label_count(labels: usize, examples: usize, context: &str) -> Result<()> {
    if labels != examples {
        return Err(Error::Shape {
            context: format!("{context} labels"),
            expected: format!("{examples} labels (one per column)"),
            got: labels.to_string(),
        });
    }
    Ok(())
}
