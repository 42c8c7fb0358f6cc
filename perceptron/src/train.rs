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
use optim::checkpoint::{TrainingFile, TrainingParts};
use optim::init::RngState;
use optim::train::{EpochRecord, History, Progress};
use optim::{Error, Float, Mat, Result, StdRng};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;
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

    /// A run resumed after `epochs` epochs that had already converged (or not).
    pub(crate) fn resumed(&mut self, converged: bool) {
        self.run.converged = converged;
    }

    /// Whether the run has converged (then no epoch is left).
    pub(crate) fn converged(&self) -> bool {
        self.run.converged
    }

    /// The finished run; `pocket_epoch` is the epoch whose weights the pocket ends with.
    pub(crate) fn finish(mut self, pocket_epoch: Option<usize>) -> Run<F> {
        self.run.history.best_epoch = pocket_epoch;
        self.run.history.restored_best = pocket_epoch.is_some();
        self.run
    }
}

/// Where an online run stands after an epoch, as a training-state file stores it (JSON): the
/// epoch, the steps taken, the shuffling generator's state, and the pocket's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlinePosition {
    /// Epochs completed.
    pub epoch: usize,
    /// Examples presented so far (the averaged perceptron's `t`).
    pub steps: u64,
    /// Whether an epoch made no mistake (training is over).
    pub converged: bool,
    /// The shuffling generator ([`Order::Shuffled`] only).
    pub rng: Option<RngState>,
    /// The training set's size (a resume must see the same data).
    pub examples: usize,
    /// The variant trained.
    pub variant: Variant,
    /// The label coding trained with.
    pub coding: Coding,
    /// [`Variant::Pocket`]: training errors of the pocketed weights.
    pub pocket_errors: usize,
    /// [`Variant::Pocket`]: the epoch whose weights are in the pocket.
    pub pocket_epoch: Option<usize>,
}

impl OnlinePosition {
    /// The position after `epoch` epochs and `steps` presentations of a run of `variant` with
    /// labels `coding` on `examples` examples, without pocket books (see
    /// [`OnlinePosition::with_pocket`]).
    pub(crate) fn after(
        epoch: usize,
        steps: u64,
        converged: bool,
        rng: Option<RngState>,
        examples: usize,
        variant: Variant,
        coding: Coding,
    ) -> Self {
        OnlinePosition {
            epoch,
            steps,
            converged,
            rng,
            examples,
            variant,
            coding,
            pocket_errors: 0,
            pocket_epoch: None,
        }
    }

    /// With the pocket's training errors and the epoch of its weights.
    pub(crate) fn with_pocket(mut self, errors: usize, epoch: Option<usize>) -> Self {
        self.pocket_errors = errors;
        self.pocket_epoch = epoch;
        self
    }
}

/// Everything an online perceptron run carries from one epoch to the next, so that training can
/// stop after any epoch and continue — in this process or another, through
/// [`OnlineState::save`] / [`OnlineState::load`] — exactly as if it had not stopped: the online
/// weights `w(t)` (for the kernel perceptron, the dual coefficients `a` and the fields
/// `Σ_j a_j K̃(x_j, x_i)`), the averaged perceptron's sums `u = Σ t·Δ_t` (kept in `f64`, stored
/// as `F64`), the pocket's weights, and the [`OnlinePosition`].
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineState<F: Float> {
    /// `w(t)` (row-contiguous, bias first) or the kernel perceptron's `a`.
    pub(crate) weights: Vec<F>,
    /// [`Variant::Averaged`]: `u`; empty otherwise.
    pub(crate) sums: Vec<f64>,
    /// [`Variant::Pocket`]: the pocketed weights; the kernel perceptron: its fields.
    pub(crate) kept: Vec<F>,
    /// The loop's position.
    pub position: OnlinePosition,
}

impl<F: Float> OnlineState<F> {
    /// Epochs completed.
    pub fn epochs(&self) -> usize {
        self.position.epoch
    }

    /// Writes the state (trainer `kind`, its configuration `config`) as one training-state
    /// file ([`optim::checkpoint::TrainingParts`]), atomically.
    ///
    /// # Errors
    /// As [`TrainingParts::save`].
    pub fn save<C: Serialize>(&self, path: impl AsRef<Path>, kind: &str, config: &C) -> Result<()> {
        self.add_to(TrainingParts::<F>::new(kind, config, &self.position)?, "")
            .save(path)
    }

    /// Adds the three vectors to `parts` as `{prefix}weights`, `{prefix}sums`, `{prefix}kept`
    /// (several states in one file: one prefix each).
    pub(crate) fn add_to(&self, parts: TrainingParts<F>, prefix: &str) -> TrainingParts<F> {
        let vector = |v: &[F]| Mat::from_column_slice(v.len(), 1, v);
        parts
            .tensor(&format!("{prefix}weights"), &vector(&self.weights))
            .values_f64(&format!("{prefix}sums"), &self.sums)
            .tensor(&format!("{prefix}kept"), &vector(&self.kept))
    }

    /// Takes the vectors [`OnlineState::add_to`] added under `prefix` from `file`, of the
    /// lengths `(weights, sums, kept)`, as the state at `position`.
    pub(crate) fn take_from(
        file: &mut TrainingFile<F>,
        prefix: &str,
        position: OnlinePosition,
        (nw, ns, nk): (usize, usize, usize),
    ) -> Result<Self> {
        Ok(OnlineState {
            weights: file
                .tensor(&format!("{prefix}weights"), nw, 1)?
                .as_slice()
                .to_vec(),
            sums: file.values_f64(&format!("{prefix}sums"), ns)?,
            kept: file
                .tensor(&format!("{prefix}kept"), nk, 1)?
                .as_slice()
                .to_vec(),
            position,
        })
    }

    /// The lengths `(weights, sums, kept)` of the state of a run of `variant` with `weights`
    /// weights: the sums for the averaged perceptron, the pocket for the pocket's.
    pub(crate) fn lengths(weights: usize, variant: Variant) -> (usize, usize, usize) {
        let on = |v| if v { weights } else { 0 };
        (
            weights,
            on(variant == Variant::Averaged),
            on(variant == Variant::Pocket),
        )
    }

    /// Reads a state written by [`OnlineState::save`] for a trainer of `kind`; `sizes` gives,
    /// from the configuration and position read from the file, the lengths the three vectors
    /// must have (`weights`, `sums`, `kept`), so nothing of another size is read.
    ///
    /// # Errors
    /// As [`TrainingFile::read`]; a configuration or position that does not parse or that
    /// `sizes` refuses; vectors of other lengths or with non-finite values.
    pub fn load<C: serde::de::DeserializeOwned>(
        path: impl AsRef<Path>,
        kind: &str,
        sizes: impl FnOnce(&C, &OnlinePosition) -> Result<(usize, usize, usize)>,
    ) -> Result<(C, Self)> {
        let mut file = TrainingFile::<F>::read(path, kind)?;
        let config: C = file.config()?;
        let position: OnlinePosition = file.position()?;
        let lengths = sizes(&config, &position)?;
        let state = Self::take_from(&mut file, "", position, lengths)?;
        file.restore(&mut [])?;
        Ok((config, state))
    }

    /// The weights the variant keeps at this state: `w(t)`, the pocket's, or the average.
    pub(crate) fn kept_weights(&self) -> Vec<F> {
        match self.position.variant {
            Variant::Plain => self.weights.clone(),
            Variant::Pocket => self.kept.clone(),
            Variant::Averaged => average(&self.weights, &self.sums, self.position.steps),
        }
    }

    /// Checks that this state can continue a run of `config` on `examples` examples with
    /// `weights` weights, and returns the shuffling generator in its saved state.
    pub(crate) fn check(
        &self,
        config: &Config,
        examples: usize,
        weights: usize,
        coding: Coding,
    ) -> Result<Option<StdRng>> {
        let p = &self.position;
        let refuse = |what: String| {
            Err(Error::Data(format!(
                "resume: the saved training state {what}; it cannot continue this run"
            )))
        };
        if p.examples != examples {
            return refuse(format!(
                "was trained on {} examples, not {examples}",
                p.examples
            ));
        }
        if p.variant != config.variant || p.coding != coding {
            return refuse(format!(
                "is of the {:?} variant with labels {}, not {:?} with {}",
                p.variant,
                p.coding.name(),
                config.variant,
                coding.name()
            ));
        }
        if self.weights.len() != weights {
            return refuse(format!("has {} weights, not {weights}", self.weights.len()));
        }
        match (config.order, p.rng) {
            (Order::Cyclic, None) => Ok(None),
            (Order::Shuffled { seed }, Some(r)) if r.seed == seed => Ok(Some(r.generator())),
            _ => refuse(format!(
                "was shuffled by {:?}, this run by {:?}",
                p.rng, config.order
            )),
        }
    }
}

/// The averaged perceptron's `w̄ = ((T+1) w − u) / T` after `T = steps` steps.
fn average<F: Float>(w: &[F], u: &[f64], steps: u64) -> Vec<F> {
    let t = steps.max(1) as f64;
    w.iter()
        .zip(u)
        .map(|(&wi, &ui)| F::of(((t + 1.0) * wi.to_f64() - ui) / t))
        .collect()
}

/// The example order and shuffling generator after `epochs` epochs of a run of `config` on `n`
/// examples: each epoch shuffles the previous epoch's order in place, so both are replayed from
/// the seed (the generator draws for nothing else). Checked against the generator's position the
/// state saved.
pub(crate) fn replay_order(
    config: &Config,
    n: usize,
    epochs: usize,
    saved: Option<RngState>,
) -> Result<(Vec<usize>, Option<StdRng>)> {
    let mut order: Vec<usize> = (0..n).collect();
    let Order::Shuffled { seed } = config.order else {
        return Ok((order, None));
    };
    let mut rng = optim::rng(seed);
    for _ in 0..epochs {
        order.shuffle(&mut rng);
    }
    if saved != Some(RngState::of(seed, 0, &rng)?) {
        return Err(Error::Data(format!(
            "resume: the saved generator position {saved:?} is not the one {epochs} epochs of \
             shuffling {n} examples reach"
        )));
    }
    Ok((order, Some(rng)))
}

/// The generator's state after an epoch (`None` for cyclic order).
pub(crate) fn rng_state(
    config: &Config,
    rng: Option<&StdRng>,
    before: Option<RngState>,
) -> Result<Option<RngState>> {
    match (config.order, rng) {
        (Order::Shuffled { seed }, Some(r)) => {
            let from = before.map_or(0, |b| b.words);
            RngState::of(seed, from, r).map(Some)
        }
        _ => Ok(None),
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

/// Runs the online rule on `x` (`d x n`) with class-index `targets` from `w = 0` (or from the
/// state `from` a run saved after an epoch), returning the weights the variant keeps
/// (row-contiguous), the run's record (of the epochs run here) and the state after the last
/// epoch. `layout` turns a weight table into the model's parameter layout for the record. Inputs
/// are validated by the caller.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train<F: Float>(
    machine: Machine,
    coding: Coding,
    x: &Mat<F>,
    targets: &[usize],
    config: &Config,
    from: Option<&OnlineState<F>>,
    layout: &dyn Fn(&[F]) -> Mat<F>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(Vec<F>, Run<F>, OnlineState<F>)> {
    let d = x.nrows();
    let n = x.ncols();
    let d1 = d + 1;
    let rows = machine.rows();
    let xs = x.as_slice();
    let eta = F::of(config.learning_rate);

    // Averaged: u = Σ_t t·Δ_t (f64, it grows like T·w); w̄ = ((T+1) w − u) / T.
    let averaged = config.variant == Variant::Averaged;
    let pocket = config.variant == Variant::Pocket;
    let mut order: Vec<usize> = (0..n).collect();
    let mut recorder = Recorder::new(n, config, on_progress);
    let (
        mut w,
        mut u,
        mut pocket_w,
        mut pocket_errors,
        mut pocket_epoch,
        mut steps,
        mut rng,
        first,
    );
    match from {
        None => {
            w = vec![F::zero(); rows * d1];
            u = if averaged {
                vec![0.0f64; rows * d1]
            } else {
                Vec::new()
            };
            // Pocket: the fewest training errors among all weights visited so far.
            pocket_w = if pocket { w.clone() } else { Vec::new() };
            pocket_errors = if pocket {
                machine.errors_below(&w, x, targets, usize::MAX)
            } else {
                0
            };
            pocket_epoch = None;
            steps = 0u64;
            rng = match config.order {
                Order::Cyclic => None,
                Order::Shuffled { seed } => Some(optim::rng(seed)),
            };
            first = 1;
        }
        Some(state) => {
            state.check(config, n, rows * d1, coding)?;
            (order, rng) = replay_order(config, n, state.position.epoch, state.position.rng)?;
            let want = |on: bool| if on { rows * d1 } else { 0 };
            if state.sums.len() != want(averaged) || state.kept.len() != want(pocket) {
                return Err(Error::Data(format!(
                    "resume: the saved training state holds {} sums and {} pocketed weights, \
                     the {:?} variant keeps {} and {}",
                    state.sums.len(),
                    state.kept.len(),
                    config.variant,
                    want(averaged),
                    want(pocket)
                )));
            }
            w = state.weights.clone();
            u = state.sums.clone();
            pocket_w = state.kept.clone();
            pocket_errors = state.position.pocket_errors;
            pocket_epoch = state.position.pocket_epoch;
            steps = state.position.steps;
            first = state.position.epoch + 1;
            recorder.resumed(state.position.converged);
        }
    }
    let mut rng_at = from.and_then(|s| s.position.rng);
    let mut epoch_done = first - 1;

    if !recorder.run.converged {
        for epoch in first..=config.max_epochs {
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
            epoch_done = epoch;
            let converged = recorder.epoch(
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
        rng_at = rng_state(config, rng.as_ref(), rng_at)?;
    }
    let kept = match config.variant {
        Variant::Plain => w.clone(),
        Variant::Pocket => pocket_w.clone(),
        Variant::Averaged => average(&w, &u, steps),
    };
    let run = recorder.finish(pocket_epoch);
    let state = OnlineState {
        position: OnlinePosition::after(
            epoch_done,
            steps,
            run.converged,
            rng_at,
            n,
            config.variant,
            coding,
        )
        .with_pocket(pocket_errors, pocket_epoch),
        weights: w,
        sums: u,
        kept: pocket_w,
    };
    Ok((kept, run, state))
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
