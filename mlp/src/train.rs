//! The network as an [`optim::train::Trainable`]: checking data, one training batch, and
//! evaluation. The loop itself — shuffling, zero_grad, clipping, the schedule, the optimizer
//! step, validation, early stopping with restore-best-weights — is [`optim::train::fit`], the
//! same for every chapter: `model.fit(&train, validation, &mut optimizer, &config, &mut
//! on_progress)`.
//!
//! One batch, in the network's reused buffers:
//!
//! ```text
//! X_B, t_B   ← the batch's columns (gathered straight into the network's input buffer)
//! z          ← forward_train(X_B)                  (batch statistics, dropout masks)
//! L, ∂L/∂z   ← loss(z, t_B)                        (optim::loss)
//! backward(∂L/∂z)                                 (∂L/∂θ added into every parameter's grad)
//! ```
//!
//! Weight decay is the optimizer's: coupled L2 (`g ← g + λθ`, e.g. [`optim::Sgd::weight_decay`],
//! [`optim::Adam::weight_decay`]) or decoupled (`θ ← θ(1 − ηλ)`, [`optim::Adam::adamw`]).
//!
//! ```
//! use mlp::Config;
//! use optim::data::Dataset;
//! use optim::{Mat, Sgd, TrainConfig, Trainable};
//! // y = 2x − 1 with a linear model (no hidden layer): least squares by SGD
//! let x = Mat::from_fn(1, 32, |_, j| j as f64 / 32.0);
//! let data = Dataset::regression(x.clone(), x.map(|v| 2.0 * v - 1.0))?;
//! let mut model = Config::regressor(1, &[], 1).init::<f64>(&mut optim::rng(0))?;
//! let history = model.fit(&data, None, &mut Sgd::new(0.5)?, &TrainConfig::new(300, 8), &mut |_| {})?;
//! assert_eq!(history.steps, 300 * 4);
//! assert!(model.evaluate(&data)?.loss < 1e-10);
//! let w = &model.linear_mut(0).unwrap().weight.value;
//! assert!((w[(0, 0)] - 2.0).abs() < 1e-4);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::network::{Loss, Masks, Mlp};
use optim::data::{Dataset, Targets, select_columns_into};
use optim::train::{BatchLoss, Evaluation, Trainable, count_correct};
use optim::{Error, Float, GradMode, Mat, Optimizer, Result, StdRng, loss};

/// Column count of the chunks in which [`Mlp::evaluate`](Trainable::evaluate) runs the network.
const EVAL_CHUNK: usize = 2048;

impl<F: Float> Mlp<F> {
    fn label_smoothing(&self) -> f64 {
        match self.config().loss {
            Loss::CrossEntropy { label_smoothing } => label_smoothing,
            Loss::Mse => 0.0,
        }
    }

    /// The mode of the training step's backward (see [`Trainable::overwrites_gradients`]).
    fn grad_mode(&self) -> GradMode {
        if self.overwrites_gradients() {
            GradMode::Overwrite
        } else {
            GradMode::Accumulate
        }
    }

    /// One training step on the examples `batch` of `data` — zero_grad, forward (training
    /// mode), loss, backward, optimizer step — returning the batch's loss; the step the loop of
    /// [`optim::train::fit`] takes, for benchmarks and tests of a single step.
    ///
    /// # Errors
    /// Data that does not fit the network, a non-finite loss (the weights are left
    /// unchanged), or an optimizer error.
    pub fn train_step(
        &mut self,
        optimizer: &mut dyn Optimizer<F>,
        data: &Dataset<F>,
        batch: &[usize],
        rng: &mut StdRng,
    ) -> Result<f64> {
        self.check_data(data, "batch")?;
        optim::zero_grad(self);
        let l = self.train_batch(data, batch, rng)?.loss;
        if !l.is_finite() {
            return Err(Error::NonFinite {
                context: format!("training loss ({l}) at step {}", optimizer.steps() + 1),
            });
        }
        optimizer.step(self)?;
        Ok(l)
    }
}

impl<F: Float> Trainable<F> for Mlp<F> {
    type Data = Dataset<F>;

    fn examples(&self, data: &Dataset<F>) -> usize {
        data.len()
    }

    /// Widths, label range, finiteness, a non-empty set, and targets of the network's task.
    fn check_data(&self, data: &Dataset<F>, what: &str) -> Result<()> {
        let c = self.config();
        if data.is_empty() {
            return Err(Error::Data(format!("{what}: no examples")));
        }
        if data.x.nrows() != c.inputs {
            return Err(Error::shape(
                format!("{what} inputs (features x n)"),
                (c.inputs, data.x.ncols()),
                data.x.shape(),
            ));
        }
        // the message is built only on the error path (the training step allocates nothing)
        if optim::first_non_finite(data.x.as_slice()).is_some() {
            optim::check_finite(&data.x, &format!("{what} inputs"))?;
        }
        match (&data.targets, c.loss) {
            (Targets::Classes(labels), Loss::CrossEntropy { .. }) => {
                if labels.len() != data.x.ncols() {
                    return Err(Error::Data(format!(
                        "{what}: {} labels for {} examples",
                        labels.len(),
                        data.x.ncols()
                    )));
                }
                data.check_labels(c.outputs, what)?;
            }
            (Targets::Values(y), Loss::Mse) => {
                if y.shape() != (c.outputs, data.x.ncols()) {
                    return Err(Error::shape(
                        format!("{what} targets (outputs x n)"),
                        (c.outputs, data.x.ncols()),
                        y.shape(),
                    ));
                }
                if optim::first_non_finite(y.as_slice()).is_some() {
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

    /// Gathers the batch into the network's buffers (no allocation beyond the loss gradient,
    /// which becomes the top buffer of the backward), then forward, loss and backward.
    fn train_batch(
        &mut self,
        data: &Dataset<F>,
        batch: &[usize],
        rng: &mut StdRng,
    ) -> Result<BatchLoss> {
        select_columns_into(&data.x, batch, self.input_buffer());
        let smoothing = self.label_smoothing();
        self.forward_cached(Masks::Draw(rng))?;
        let (out, labels_b, targets_b) = self.output_and_target_buffers();
        let (l, d_out, correct) = match &data.targets {
            Targets::Classes(labels) => {
                labels_b.clear();
                labels_b.extend(batch.iter().map(|&i| labels[i]));
                let correct = count_correct(out, labels_b);
                let (l, d) = loss::softmax_cross_entropy(out, labels_b, smoothing)?;
                (l, d, Some(correct))
            }
            Targets::Values(y) => {
                select_columns_into(y, batch, targets_b);
                let (l, d) = loss::mse(out, targets_b)?;
                (l, d, None)
            }
        };
        self.backward_owned(d_out, self.grad_mode())?;
        let out = BatchLoss::new(l);
        Ok(match correct {
            Some(c) => out.correct(c),
            None => out,
        })
    }

    /// Mean loss and accuracy in evaluation mode (running statistics, no dropout), run in
    /// chunks of columns so memory stays bounded; needs only `&self`.
    fn evaluate(&self, data: &Dataset<F>) -> Result<Evaluation> {
        self.check_data(data, "evaluation data")?;
        let n = data.len();
        let smoothing = self.label_smoothing();
        let mut total = 0.0;
        let mut correct = 0usize;
        let mut idx = Vec::with_capacity(EVAL_CHUNK.min(n));
        let mut xb = Mat::zeros(0, 0);
        let mut yb = Mat::zeros(0, 0);
        for start in (0..n).step_by(EVAL_CHUNK) {
            idx.clear();
            idx.extend(start..(start + EVAL_CHUNK).min(n));
            select_columns_into(&data.x, &idx, &mut xb);
            let out = self.predict(&xb)?;
            let l = match &data.targets {
                Targets::Classes(labels) => {
                    let lb = &labels[start..start + idx.len()];
                    correct += count_correct(&out, lb);
                    loss::softmax_cross_entropy(&out, lb, smoothing)?.0
                }
                Targets::Values(y) => {
                    select_columns_into(y, &idx, &mut yb);
                    loss::mse(&out, &yb)?.0
                }
            };
            total += l.to_f64() * idx.len() as f64;
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

    /// 2 with batch normalization (the variance of one example is undefined), else 1.
    fn min_batch(&self) -> usize {
        if self.config().batch_norm { 2 } else { 1 }
    }

    /// Without batch normalization every parameter is a linear layer's, and the training
    /// step's backward assigns their gradients (no zeroing pass, `β = 0` in the products).
    fn overwrites_gradients(&self) -> bool {
        self.overwrites_all_gradients()
    }
}
