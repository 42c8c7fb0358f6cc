//! A data set of sequences for the shared training loop: `n` input sequences of equal length
//! and their targets, one per sequence (readout `Last`) or one per step (readout `Every`), so
//! [`SeqModel`] implements [`optim::train::Trainable`] and trains with `model.fit(..)`.
//!
//! ```
//! use optim::train::{TrainConfig, Trainable};
//! use rnn::{CellKind, ModelConfig, Readout, SeqModel, Sequences, tasks};
//! let mut rng = optim::rng(0);
//! let (x, y) = tasks::adding_problem::<f64>(8, 256, &mut rng).unwrap();
//! let train = Sequences::regression(x, y).unwrap();
//! assert_eq!(train.len(), 256);
//! let mut model = SeqModel::<f64>::new(
//!     ModelConfig::dense(CellKind::Gru, 2, 8, 1, Readout::Last), &mut rng).unwrap();
//! let before = model.evaluate(&train).unwrap().loss;
//! let config = TrainConfig::new(20, 32).clip_grad_norm(1.0);
//! let history = model.fit(&train, None, &mut optim::Adam::new(1e-2).unwrap(), &config, &mut |_| {}).unwrap();
//! assert_eq!(history.steps, 20 * 8);
//! let after = model.evaluate(&train).unwrap().loss;
//! assert!(after < 0.5 * before, "{before} -> {after}");
//! ```

use crate::model::{Input, Readout, SeqModel, Target};
use crate::seq::Seq;
use optim::data::Targets;
use optim::train::{BatchLoss, Evaluation, Trainable, count_correct};
use optim::{Error, Float, Mat, Result};

/// `n` dense input sequences (one [`Seq`] of batch `n`) and their targets: `outputs x n`
/// values or `n` labels per sequence, or `outputs x T·n` values or `T·n` labels per step (in
/// the [`Seq`]'s time-major column order).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequences<F: Float> {
    /// The input sequences.
    pub inputs: Seq<F>,
    /// Their targets.
    pub targets: Targets<F>,
}

impl<F: Float> Sequences<F> {
    /// Sequences with real-valued targets.
    ///
    /// # Errors
    /// A target column count other than `n` or `T·n`.
    pub fn regression(inputs: Seq<F>, targets: Mat<F>) -> Result<Self> {
        let s = Sequences {
            inputs,
            targets: Targets::Values(targets),
        };
        s.per_step()?;
        Ok(s)
    }

    /// Sequences with class labels.
    ///
    /// # Errors
    /// A label count other than `n` or `T·n`.
    pub fn classes(inputs: Seq<F>, labels: Vec<usize>) -> Result<Self> {
        let s = Sequences {
            inputs,
            targets: Targets::Classes(labels),
        };
        s.per_step()?;
        Ok(s)
    }

    /// Number of sequences `n`.
    pub fn len(&self) -> usize {
        self.inputs.batch()
    }

    /// Whether there are no sequences (never, since a [`Seq`] is not empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn target_columns(&self) -> usize {
        match &self.targets {
            Targets::Values(y) => y.ncols(),
            Targets::Classes(l) => l.len(),
        }
    }

    /// Whether the targets are per step (`T·n` columns) rather than per sequence (`n`).
    fn per_step(&self) -> Result<bool> {
        let (n, t) = (self.inputs.batch(), self.inputs.steps());
        match self.target_columns() {
            c if c == n => Ok(false),
            c if c == n * t => Ok(true),
            c => Err(Error::Data(format!(
                "sequences: {c} targets for {n} sequences of {t} steps (need {n} or {})",
                n * t
            ))),
        }
    }
}

/// Gathers sequences `batch` of a time-major `rows x (T·n)` matrix into `out` (`rows x T·k`).
fn gather_steps<F: Float>(x: &Mat<F>, steps: usize, batch: &[usize], out: &mut Mat<F>) {
    let (rows, n, k) = (x.nrows(), x.ncols() / steps, batch.len());
    optim::linalg::resize_buffer(out, rows, steps * k);
    let (src, dst) = (x.as_slice(), out.as_mut_slice());
    for t in 0..steps {
        for (j, &b) in batch.iter().enumerate() {
            let (from, to) = ((t * n + b) * rows, (t * k + j) * rows);
            dst[to..to + rows].copy_from_slice(&src[from..from + rows]);
        }
    }
}

/// The shared loop's view of a sequence model: a batch is a set of whole sequences, gathered
/// into the model's scratch buffers; the loss is MSE (values) or soft-max cross-entropy
/// (labels), with full BPTT.
impl<F: Float> Trainable<F> for SeqModel<F> {
    type Data = Sequences<F>;

    fn examples(&self, data: &Sequences<F>) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Sequences<F>, what: &str) -> Result<()> {
        let config = self.config();
        let per_step = data
            .per_step()
            .map_err(|e| Error::Data(format!("{what}: {e}")))?;
        if per_step != (config.readout == Readout::Every) {
            return Err(Error::Data(format!(
                "{what}: targets per {} for a model read out at {}",
                if per_step { "step" } else { "sequence" },
                if per_step {
                    "the last step"
                } else {
                    "every step"
                }
            )));
        }
        if data.inputs.features() != config.rnn.input {
            return Err(Error::Data(format!(
                "{what}: {} input features for a network of input width {}",
                data.inputs.features(),
                config.rnn.input
            )));
        }
        data.inputs.check_finite(what)?;
        match &data.targets {
            Targets::Values(y) if y.nrows() != config.outputs => Err(Error::Data(format!(
                "{what}: targets of {} rows for {} outputs",
                y.nrows(),
                config.outputs
            ))),
            Targets::Classes(l) => match l.iter().position(|&c| c >= config.outputs) {
                Some(i) => Err(Error::Data(format!(
                    "{what}: label {} at {i} is not below the {} outputs",
                    l[i], config.outputs
                ))),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn train_batch(
        &mut self,
        data: &Sequences<F>,
        batch: &[usize],
        _rng: &mut optim::StdRng,
    ) -> Result<BatchLoss> {
        let steps = data.inputs.steps();
        let mut scratch = std::mem::take(&mut self.batch_scratch);
        gather_steps(data.inputs.data(), steps, batch, scratch.x.buffer());
        scratch.x.set_shape(steps, batch.len());
        let per_step = self.config().readout == Readout::Every;
        let target_steps = if per_step { steps } else { 1 };
        let result = (|| {
            let target = match &data.targets {
                Targets::Values(y) => {
                    gather_steps(y, target_steps, batch, &mut scratch.y);
                    Target::Regression(&scratch.y)
                }
                Targets::Classes(l) => {
                    scratch.labels.clear();
                    let n = data.len();
                    for t in 0..target_steps {
                        scratch.labels.extend(batch.iter().map(|&b| l[t * n + b]));
                    }
                    Target::Classes(&scratch.labels)
                }
            };
            let output = self.forward(Input::Dense(&scratch.x), None)?;
            let correct = match target {
                Target::Classes(l) => Some(count_correct(output, l)),
                Target::Regression(_) => None,
            };
            let (l, d_output) = SeqModel::loss(output, target)?;
            self.backward(&d_output, None)?;
            let out = BatchLoss::new(l);
            Ok(match correct {
                Some(c) => out.correct(c),
                None => out,
            })
        })();
        self.batch_scratch = scratch;
        result
    }

    fn evaluate(&self, data: &Sequences<F>) -> Result<Evaluation> {
        let (output, _) = self.predict(Input::Dense(&data.inputs), None)?;
        match &data.targets {
            Targets::Values(y) => Ok(Evaluation::loss(
                SeqModel::loss(&output, Target::Regression(y))?.0,
            )),
            Targets::Classes(l) => {
                let loss = SeqModel::loss(&output, Target::Classes(l))?.0;
                Ok(Evaluation {
                    loss: loss.to_f64(),
                    accuracy: Some(count_correct(&output, l) as f64 / l.len().max(1) as f64),
                })
            }
        }
    }
}

/// The buffers a training batch is gathered into (kept in the model between steps).
#[derive(Debug, Clone)]
pub(crate) struct BatchScratch<F: Float> {
    pub x: Seq<F>,
    pub y: Mat<F>,
    pub labels: Vec<usize>,
}

impl<F: Float> Default for BatchScratch<F> {
    fn default() -> Self {
        BatchScratch {
            x: Seq::zeros(0, 1, 1),
            y: Mat::zeros(0, 0),
            labels: Vec::new(),
        }
    }
}
