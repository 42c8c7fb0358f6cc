//! Rosenblatt's perceptron: one threshold unit and its mistake-driven rule (notes §3.1).
//!
//! One mistake from `w = 0` adds `η (d − y) x̃ = (1, x)`: the bias moves by `η`, each weight by
//! `η x_i`.
//!
//! ```
//! use perceptron::{Config, Perceptron};
//! let mut unit = Perceptron::<f64>::new(2, Config::default())?;
//! assert!(unit.train_step(&[2.0, -1.0], 1)?);           // v = 0 → y = 0 ≠ d = 1: update
//! assert_eq!(unit.weights(), [1.0, 2.0, -1.0]);           // (w_0, w_1, w_2) = (1, 2, −1)
//! let x = optim::Mat::from_column_slice(2, 1, &[2.0, -1.0]);
//! assert_eq!(unit.decision_function(&x)?, [6.0]);         // 1 + 2·2 + (−1)(−1)
//! assert!(!unit.train_step(&[2.0, -1.0], 1)?);          // right now: no change
//! # Ok::<(), optim::Error>(())
//! ```

use crate::config::{Coding, Config};
use crate::train::{Machine, OnlineState, Run, check_input, check_label_count, train};
use optim::checkpoint::{self, Saveable};
use optim::linalg::{Block, BlockMut};
use optim::train::Progress;
use optim::{Error, Float, Mat, Param, Parameters, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A single threshold unit trained by the perceptron rule.
///
/// The unit computes the induced field `v = wᵀx̃ = w_0 + Σ_{i=1}^{d} w_i x_i` of the augmented
/// input `x̃ = (1, x_1, …, x_d)` — the bias is the weight `w_0` on a constant input `x_0 = 1` — and
/// outputs the positive label if `v > 0`, the negative one otherwise. Training presents one
/// example `x_j` at a time and applies
///
/// ```text
/// w_i(t+1) = w_i(t) + η [d_j − y_j(t)] · x_{j,i}        (i = 0, 1, …, d)
/// ```
///
/// which changes nothing when the unit is right (`d_j = y_j`) and moves `w` toward (or away
/// from) `x̃_j` when it is wrong.
///
/// # Shapes
/// Inputs are `d x n` (one column per example); the parameter `weight` is the augmented vector
/// `[d+1]`, entry 0 the bias.
///
/// ```
/// use perceptron::{Config, Perceptron};
/// use optim::Mat;
/// // AND of two inputs is linearly separable: the rule finds a separating line.
/// let x = Mat::<f64>::from_column_slice(2, 4, &[0., 0., 0., 1., 1., 0., 1., 1.]);
/// let d = [0, 0, 0, 1];
/// let mut unit = Perceptron::new(2, Config::default()).unwrap();
/// let history = unit.fit(&x, &d).unwrap();
/// assert!(history.converged);
/// assert_eq!(unit.predict(&x).unwrap(), d);
/// assert_eq!(history.mistakes(), [1, 3, 3, 2, 1, 0]); // epoch 1: only (1,1) is wrong at w = 0
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Perceptron<F: Float> {
    /// Hyperparameters used by [`Perceptron::fit`].
    pub config: Config,
    weight: Param<F>,
    coding: Coding,
    features: usize,
}

impl<F: Float> Perceptron<F> {
    /// An untrained unit (`w = 0`) for `features` inputs.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] if `features` is 0 or the configuration is invalid.
    pub fn new(features: usize, config: Config) -> Result<Self> {
        if features == 0 {
            return Err(Error::hyper("features", 0, "must be at least 1"));
        }
        config.validate()?;
        Ok(Perceptron {
            config,
            weight: Param::vector(Mat::zeros(features + 1, 1)),
            coding: config.coding.unwrap_or(Coding::ZeroOne),
            features,
        })
    }

    /// A unit with given augmented weights `(w_0, w_1, …, w_d)` (bias first).
    ///
    /// # Errors
    /// If fewer than two weights are given or one is not finite.
    pub fn from_weights(weights: &[F], coding: Coding, config: Config) -> Result<Self> {
        if weights.len() < 2 {
            return Err(Error::Data(format!(
                "from_weights: {} weights; need the bias and at least one input weight",
                weights.len()
            )));
        }
        let mut unit = Self::new(weights.len() - 1, config)?;
        let value = Mat::from_column_slice(weights.len(), 1, weights);
        optim::check_finite(&value, "from_weights")?;
        unit.weight.value = value;
        unit.coding = coding;
        Ok(unit)
    }

    /// Number of inputs `d` (not counting the constant one).
    pub fn features(&self) -> usize {
        self.features
    }

    /// The label coding of the last `fit` (or of the configuration, `{0, 1}` by default).
    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// The augmented weight vector `(w_0, w_1, …, w_d)`, bias first.
    pub fn weights(&self) -> &[F] {
        self.weight.value.as_slice()
    }

    /// The bias `w_0` (the weight on the constant input).
    pub fn bias(&self) -> F {
        self.weight.value[0]
    }

    /// Trains from `w = 0` on `x` (`d x n`) with labels in `{0, 1}` or `{−1, +1}` (see
    /// [`Coding`]), one example at a time, until an epoch makes no mistake or
    /// [`Config::max_epochs`] is reached.
    ///
    /// # Errors
    /// Empty data, a label count that differs from the number of columns, a label outside the
    /// coding, a row count other than [`Perceptron::features`], a non-finite input, or an invalid
    /// configuration (`η ≤ 0`, no epochs). The model is unchanged on error.
    pub fn fit(&mut self, x: &Mat<F>, labels: &[i32]) -> Result<Run<F>> {
        self.fit_with(x, labels, &mut |_| {})
    }

    /// [`Perceptron::fit`], reporting [`Progress::Epoch`] after every epoch (for progress bars
    /// and plots).
    ///
    /// # Errors
    /// As [`Perceptron::fit`].
    pub fn fit_with(
        &mut self,
        x: &Mat<F>,
        labels: &[i32],
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Run<F>> {
        self.fit_resume(x, labels, None, on_progress)
            .map(|(run, _)| run)
    }

    /// [`Perceptron::fit_with`] that can stop after any epoch and continue exactly: it starts
    /// from `from` (a state a run of the same variant, order, coding and data returned, or read
    /// with [`Perceptron::load_training`]) instead of `w = 0`, runs epochs `from.epochs() + 1 ..=
    /// max_epochs`, and returns their record and the state after the last one. `max_epochs = N`,
    /// then `2N` from the state, equals `2N` in one run, bit for bit.
    ///
    /// # Errors
    /// As [`Perceptron::fit`]; a state of other data, variant, order or size.
    pub fn fit_resume(
        &mut self,
        x: &Mat<F>,
        labels: &[i32],
        from: Option<&OnlineState<F>>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Run<F>, OnlineState<F>)> {
        self.config.validate()?;
        check_input(x, self.features, "Perceptron::fit", true)?;
        check_label_count(labels.len(), x.ncols(), "Perceptron::fit")?;
        let coding = match self.config.coding {
            Some(c) => {
                c.check(labels)?;
                c
            }
            None => Coding::infer(labels)?,
        };
        let targets: Vec<usize> = labels.iter().map(|&l| usize::from(l == 1)).collect();
        let d1 = self.features + 1;
        let (w, run, state) = train(
            Machine::Binary(coding),
            coding,
            x,
            &targets,
            &self.config,
            from,
            &|w| Mat::from_column_slice(d1, 1, w),
            on_progress,
        )?;
        self.weight.value.copy_from_slice(&w);
        self.coding = coding;
        Ok((run, state))
    }

    /// Saves a training state of this unit ([`OnlineState::save`], kind
    /// `perceptron-training`, with the [`PerceptronConfig`]), atomically.
    ///
    /// # Errors
    /// As [`OnlineState::save`].
    pub fn save_training(&self, path: impl AsRef<Path>, state: &OnlineState<F>) -> Result<()> {
        state.save(path, TRAINING_KIND, &Saveable::<F>::config(self))
    }

    /// Reads a training state saved by [`Perceptron::save_training`]: the unit (with the kept
    /// weights of the saved epoch) and the state to pass to [`Perceptron::fit_resume`].
    ///
    /// # Errors
    /// A missing or malformed file, a file of another trainer, a configuration that is not
    /// valid, vectors of other sizes or with non-finite values.
    pub fn load_training(path: impl AsRef<Path>) -> Result<(Self, OnlineState<F>)> {
        let (config, state) =
            OnlineState::<F>::load(path, TRAINING_KIND, |c: &PerceptronConfig, p| {
                Ok(OnlineState::<F>::lengths(
                    weight_count(c.features)?,
                    p.variant,
                ))
            })?;
        let mut unit = <Self as Saveable<F>>::from_config(&config)?;
        unit.take_kept(&state);
        Ok((unit, state))
    }

    /// Takes the weights `state` keeps (and its label coding), as its run left the unit.
    pub(crate) fn take_kept(&mut self, state: &OnlineState<F>) {
        self.coding = state.position.coding;
        self.weight.value.copy_from_slice(&state.kept_weights());
    }

    /// One step of the online rule on one example `x` (length `d`) with target `label`:
    /// computes `y = f(wᵀx̃)` and applies `w ← w + η (d − y) x̃`. Returns whether the weights
    /// changed (whether `y ≠ d`). This is the very function [`Perceptron::fit`] applies.
    ///
    /// # Errors
    /// A wrong length, a non-finite entry, a label outside [`Perceptron::coding`], or `η ≤ 0`.
    pub fn train_step(&mut self, x: &[F], label: i32) -> Result<bool> {
        optim::check_positive("learning_rate", self.config.learning_rate)?;
        if x.len() != self.features {
            return Err(Error::Shape {
                context: "Perceptron::train_step input".into(),
                expected: format!("{} features", self.features),
                got: x.len().to_string(),
            });
        }
        if let Some(i) = x.iter().position(|v| !v.finite()) {
            return Err(Error::NonFinite {
                context: format!("Perceptron::train_step input entry {i}"),
            });
        }
        let positive = self.coding.is_positive(label).ok_or_else(|| {
            Error::Data(format!(
                "label {label} is outside the classes {}",
                self.coding.name()
            ))
        })?;
        let machine = Machine::Binary(self.coding);
        let w = self.weight.value.as_mut_slice();
        let t = usize::from(positive);
        let y = machine.predict(w, x);
        if y != t {
            machine.update(w, x, t, y, F::of(self.config.learning_rate));
        }
        Ok(y != t)
    }

    /// The induced field `v_j = wᵀx̃_j` of every column (its sign is the prediction; divided by
    /// `‖w‖` it is the signed distance to the separating hyperplane in the augmented space).
    ///
    /// # Shapes
    /// `x`: `d x n` → `n` values.
    ///
    /// # Errors
    /// A row count other than `d`, or a non-finite entry.
    pub fn decision_function(&self, x: &Mat<F>) -> Result<Vec<F>> {
        check_input(x, self.features, "Perceptron::decision_function", false)?;
        let n = x.ncols();
        let d = self.features;
        let w = self.weight.value.as_slice();
        let mut v = vec![w[0]; n];
        // vᵀ = w_{1..d}ᵀ X + w_0·1ᵀ, one product for the whole batch.
        optim::linalg::gemm_blocks(
            F::one(),
            Block::columns(&w[1..], 1, d),
            Block::columns(x.as_slice(), d, n),
            F::one(),
            BlockMut::columns(&mut v, 1, n),
        );
        Ok(v)
    }

    /// Predicted labels, in [`Perceptron::coding`]: positive iff `wᵀx̃ > 0`.
    ///
    /// # Errors
    /// As [`Perceptron::decision_function`].
    pub fn predict(&self, x: &Mat<F>) -> Result<Vec<i32>> {
        Ok(self
            .decision_function(x)?
            .into_iter()
            .map(|v| self.coding.label(v > F::zero()))
            .collect())
    }

    /// Number of columns of `x` whose prediction differs from `labels`.
    ///
    /// # Errors
    /// As [`Perceptron::predict`], plus a label count or a label that does not fit.
    pub fn errors(&self, x: &Mat<F>, labels: &[i32]) -> Result<usize> {
        check_label_count(labels.len(), x.ncols(), "Perceptron::errors")?;
        self.coding.check(labels)?;
        Ok(self
            .predict(x)?
            .iter()
            .zip(labels)
            .filter(|(a, b)| a != b)
            .count())
    }

    /// Saves `weight` (shape `[d+1]`) and the [`PerceptronConfig`] to a safetensors file,
    /// atomically ([`checkpoint::save_model`]).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save_model(path, self, &[])
    }

    /// Loads a unit saved by [`Perceptron::save`] ([`checkpoint::load_model`]).
    ///
    /// # Errors
    /// A missing or malformed file, another model's checkpoint, or a misshapen `weight`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        checkpoint::load_model(path)
    }
}

/// The kind of a [`Perceptron`]'s training-state file.
const TRAINING_KIND: &str = "perceptron-training";

/// `features + 1` weights (the bias first), checked: the count a loader expects.
pub(crate) fn weight_count(features: usize) -> Result<usize> {
    features
        .checked_add(1)
        .ok_or_else(|| optim::Error::hyper("features", features, "too large"))
}

/// What a checkpoint stores about a [`Perceptron`] (as JSON): its size, the label coding it
/// was trained with and its training hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerceptronConfig {
    /// Number of inputs `d`.
    pub features: usize,
    /// The label coding of the trained unit.
    pub coding: Coding,
    /// Training hyperparameters.
    pub training: Config,
}

impl<F: Float> Saveable<F> for Perceptron<F> {
    const KIND: &'static str = "perceptron";
    type Config = PerceptronConfig;

    fn config(&self) -> PerceptronConfig {
        PerceptronConfig {
            features: self.features,
            coding: self.coding,
            training: self.config,
        }
    }

    /// `d + 1` (the augmented weight vector).
    fn parameter_count(config: &PerceptronConfig) -> Option<usize> {
        config.features.checked_add(1)
    }

    fn from_config(config: &PerceptronConfig) -> Result<Self> {
        let mut unit = Self::new(config.features, config.training)?;
        unit.coding = config.coding;
        Ok(unit)
    }
}

impl<F: Float> Parameters<F> for Perceptron<F> {
    /// One parameter, `weight` (`[d+1]`, bias first). The perceptron has no gradient; its
    /// `grad` stays zero and exists so the unit goes through the same checkpoint code.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
    }
}
