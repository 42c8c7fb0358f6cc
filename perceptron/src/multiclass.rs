//! Two ways to more than two classes: Kesler's multiclass perceptron (one weight vector per class,
//! trained together) and one-vs-rest (one independent binary unit per class).
//!
//! A mistake moves the true class's weights toward `x̃` and the predicted class's away from it:
//!
//! ```
//! use perceptron::{Config, MulticlassPerceptron};
//! let mut model = MulticlassPerceptron::<f64>::new(2, 3, Config::default())?;
//! // at W = 0 every field is 0 and the tie goes to class 0, so class 2 is a mistake
//! assert!(model.train_step(&[1.0, 2.0], 2)?);
//! let w = model.weights();                                // rows w_k = (bias, w_1, w_2)
//! assert_eq!((w.row(0).iter().copied().collect::<Vec<_>>()), [-1.0, -1.0, -2.0]);
//! assert_eq!((w.row(1).iter().copied().collect::<Vec<_>>()), [0.0, 0.0, 0.0]);
//! assert_eq!((w.row(2).iter().copied().collect::<Vec<_>>()), [1.0, 1.0, 2.0]);
//! let x = optim::Mat::from_column_slice(2, 1, &[1.0, 2.0]);
//! assert_eq!(model.decision_function(&x)?.as_slice(), [-6.0, 0.0, 6.0]);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::binary::Perceptron;
use crate::config::{Coding, Config};
use crate::train::{
    Machine, OnlinePosition, OnlineState, Run, check_input, check_label_count, train,
};
use optim::checkpoint::{self, Saveable, TrainingFile, TrainingParts};
use optim::linalg::{Block, BlockMut};
use optim::train::Progress;
use optim::{Error, Float, Mat, Param, Parameters, Result, argmax_columns, visit_child};
use serde::{Deserialize, Serialize};
use std::path::Path;

fn check_classes(classes: usize) -> Result<()> {
    if classes < 2 {
        return Err(Error::hyper("classes", classes, "must be at least 2"));
    }
    Ok(())
}

fn check_labels(labels: &[usize], classes: usize, context: &str) -> Result<()> {
    match labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        None => Ok(()),
        Some((j, l)) => Err(Error::Data(format!(
            "{context}: label {l} at position {j} is outside the classes 0..{classes}"
        ))),
    }
}

/// The multiclass perceptron: one augmented weight vector `w_k` per class, prediction
/// `ŷ = argmax_k w_kᵀx̃` (ties to the lowest class), and on a mistake (`ŷ ≠ c`, the true class)
///
/// ```text
/// w_c ← w_c + η x̃        w_ŷ ← w_ŷ − η x̃
/// ```
///
/// — the perceptron rule applied to the two units involved (Kesler's construction: the same
/// rule on one binary problem in `k(d+1)` dimensions, so Novikoff's bound carries over). With
/// [`Variant::Averaged`](crate::Variant::Averaged) this is the averaged multiclass perceptron.
///
/// # Shapes
/// Inputs `d x n`; the parameter `weight` is `[classes, d+1]`, column 0 the biases.
///
/// ```
/// use perceptron::{Config, MulticlassPerceptron};
/// let mut rng = optim::rng(0);
/// let centers = optim::Mat::from_column_slice(2, 3, &[0.0, 4.0, 4.0, -4.0, -4.0, -4.0]);
/// let data = optim::data::generate::blobs::<f64>(90, &centers, 0.5, &mut rng);
/// let labels = data.class_labels("blobs").unwrap();
/// let mut model = MulticlassPerceptron::new(2, 3, Config::default()).unwrap();
/// let run = model.fit(&data.x, labels).unwrap();
/// assert!(run.converged);
/// assert_eq!(model.predict(&data.x).unwrap(), labels);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MulticlassPerceptron<F: Float> {
    /// Hyperparameters ([`Config::coding`] is not used: labels are class indices).
    pub config: Config,
    weight: Param<F>,
    features: usize,
    classes: usize,
}

impl<F: Float> MulticlassPerceptron<F> {
    /// An untrained machine (`W = 0`) for `features` inputs and `classes` classes.
    ///
    /// # Errors
    /// If `features` is 0, `classes < 2`, or the configuration is invalid.
    pub fn new(features: usize, classes: usize, config: Config) -> Result<Self> {
        if features == 0 {
            return Err(Error::hyper("features", 0, "must be at least 1"));
        }
        check_classes(classes)?;
        config.validate()?;
        Ok(MulticlassPerceptron {
            config,
            weight: Param::new(Mat::zeros(classes, features + 1)),
            features,
            classes,
        })
    }

    /// Number of inputs `d`.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The weights, `classes x (d+1)`, row `k` = `w_k`, column 0 the biases.
    pub fn weights(&self) -> &Mat<F> {
        &self.weight.value
    }

    /// Trains from `W = 0` on `x` (`d x n`) with labels `0..classes`.
    ///
    /// # Errors
    /// Empty data, a label count other than `n`, a label `≥ classes`, a row count other than `d`,
    /// a non-finite input, or an invalid configuration. The model is unchanged on error.
    pub fn fit(&mut self, x: &Mat<F>, labels: &[usize]) -> Result<Run<F>> {
        self.fit_with(x, labels, &mut |_| {})
    }

    /// [`MulticlassPerceptron::fit`], reporting [`Progress::Epoch`] after every epoch.
    ///
    /// # Errors
    /// As [`MulticlassPerceptron::fit`].
    pub fn fit_with(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Run<F>> {
        self.fit_resume(x, labels, None, on_progress)
            .map(|(run, _)| run)
    }

    /// [`MulticlassPerceptron::fit_with`] from a saved state, as
    /// [`Perceptron::fit_resume`](crate::Perceptron::fit_resume).
    ///
    /// # Errors
    /// As [`MulticlassPerceptron::fit`]; a state of other data, variant, order or size.
    pub fn fit_resume(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
        from: Option<&OnlineState<F>>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Run<F>, OnlineState<F>)> {
        self.config.validate()?;
        check_input(x, self.features, "MulticlassPerceptron::fit", true)?;
        check_label_count(labels.len(), x.ncols(), "MulticlassPerceptron::fit")?;
        check_labels(labels, self.classes, "MulticlassPerceptron::fit")?;
        let (k, d1) = (self.classes, self.features + 1);
        let (w, run, state) = train(
            Machine::Multiclass(k),
            Coding::ZeroOne,
            x,
            labels,
            &self.config,
            from,
            &|w| Mat::from_row_slice(k, d1, w),
            on_progress,
        )?;
        self.weight.value = Mat::from_row_slice(k, d1, &w);
        Ok((run, state))
    }

    /// Saves a training state of this machine (kind `multiclass_perceptron-training`, with the
    /// [`MulticlassConfig`]), atomically.
    ///
    /// # Errors
    /// As [`OnlineState::save`].
    pub fn save_training(&self, path: impl AsRef<Path>, state: &OnlineState<F>) -> Result<()> {
        state.save(path, TRAINING_KIND, &Saveable::<F>::config(self))
    }

    /// Reads a training state saved by [`MulticlassPerceptron::save_training`]: the machine
    /// (with the kept weights of the saved epoch) and the state for
    /// [`MulticlassPerceptron::fit_resume`].
    ///
    /// # Errors
    /// A missing or malformed file, a file of another trainer, an invalid configuration, vectors
    /// of other sizes or with non-finite values.
    pub fn load_training(path: impl AsRef<Path>) -> Result<(Self, OnlineState<F>)> {
        let (config, state) =
            OnlineState::<F>::load(path, TRAINING_KIND, |c: &MulticlassConfig, p| {
                let w = c.parameter_count().ok_or_else(|| {
                    Error::hyper("classes", c.classes, "too many weights for this machine")
                })?;
                Ok(OnlineState::<F>::lengths(w, p.variant))
            })?;
        let mut machine = <Self as Saveable<F>>::from_config(&config)?;
        let (k, d1) = (config.classes, config.features + 1);
        machine.weight.value = Mat::from_row_slice(k, d1, &state.kept_weights());
        Ok((machine, state))
    }

    /// One step of the rule on one example (length `d`) of class `label`; returns whether the
    /// weights changed. The same update [`MulticlassPerceptron::fit`] applies.
    ///
    /// # Errors
    /// A wrong length, a non-finite entry, a label `≥ classes`, or `η ≤ 0`.
    pub fn train_step(&mut self, x: &[F], label: usize) -> Result<bool> {
        optim::check_positive("learning_rate", self.config.learning_rate)?;
        let column = Mat::from_column_slice(x.len(), 1, x);
        check_input(
            &column,
            self.features,
            "MulticlassPerceptron::train_step",
            true,
        )?;
        check_labels(&[label], self.classes, "MulticlassPerceptron::train_step")?;
        let machine = Machine::Multiclass(self.classes);
        // The trainer's row-contiguous table is the transpose of the parameter's column-major one.
        let mut table = self.weight.value.transpose().as_slice().to_vec();
        let y = machine.predict(&table, x);
        if y != label {
            machine.update(&mut table, x, label, y, F::of(self.config.learning_rate));
            self.weight.value = Mat::from_row_slice(self.classes, self.features + 1, &table);
        }
        Ok(y != label)
    }

    /// The fields `v_{kj} = w_kᵀx̃_j`.
    ///
    /// # Shapes
    /// `x`: `d x n` → `classes x n`.
    ///
    /// # Errors
    /// A row count other than `d`, or a non-finite entry.
    pub fn decision_function(&self, x: &Mat<F>) -> Result<Mat<F>> {
        check_input(
            x,
            self.features,
            "MulticlassPerceptron::decision_function",
            false,
        )?;
        Ok(linear_fields(&self.weight.value, x))
    }

    /// Predicted classes, `argmax_k w_kᵀx̃` (ties to the lowest class).
    ///
    /// # Errors
    /// As [`MulticlassPerceptron::decision_function`].
    pub fn predict(&self, x: &Mat<F>) -> Result<Vec<usize>> {
        Ok(argmax_columns(&self.decision_function(x)?))
    }

    /// Fraction of columns predicted correctly.
    ///
    /// # Errors
    /// As [`MulticlassPerceptron::predict`], plus a label count other than `n`.
    pub fn accuracy(&self, x: &Mat<F>, labels: &[usize]) -> Result<f64> {
        check_label_count(labels.len(), x.ncols(), "MulticlassPerceptron::accuracy")?;
        Ok(accuracy(&self.predict(x)?, labels))
    }

    /// Saves `weight` (`[classes, d+1]`) and the [`MulticlassConfig`], atomically
    /// ([`checkpoint::save_model`]).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save_model(path, self, &[])
    }

    /// Loads a machine saved by [`MulticlassPerceptron::save`] ([`checkpoint::load_model`]).
    ///
    /// # Errors
    /// A missing or malformed file, another model's checkpoint, or misshapen weights.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        checkpoint::load_model(path)
    }
}

/// The kind of a [`MulticlassPerceptron`]'s training-state file.
const TRAINING_KIND: &str = "multiclass_perceptron-training";
/// The kind of a [`OneVsRest`] training-state file.
const OVR_TRAINING_KIND: &str = "one_vs_rest-training";

/// What a checkpoint stores about a [`MulticlassPerceptron`] or a [`OneVsRest`] (as JSON): the
/// number of inputs and classes, and the training hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MulticlassConfig {
    /// Number of inputs `d`.
    pub features: usize,
    /// Number of classes `k`.
    pub classes: usize,
    /// Training hyperparameters.
    pub training: Config,
}

impl MulticlassConfig {
    /// `k (d + 1)`: one augmented weight vector per class, with checked arithmetic.
    fn parameter_count(&self) -> Option<usize> {
        self.classes.checked_mul(self.features.checked_add(1)?)
    }
}

impl<F: Float> Saveable<F> for MulticlassPerceptron<F> {
    const KIND: &'static str = "multiclass_perceptron";
    type Config = MulticlassConfig;

    fn config(&self) -> MulticlassConfig {
        MulticlassConfig {
            features: self.features,
            classes: self.classes,
            training: self.config,
        }
    }

    fn parameter_count(config: &MulticlassConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &MulticlassConfig) -> Result<Self> {
        Self::new(config.features, config.classes, config.training)
    }
}

/// `V = W_{:,1..} X + w_{:,0} 1ᵀ` for a `k x (d+1)` weight matrix (bias column first): one gemm.
fn linear_fields<F: Float>(w: &Mat<F>, x: &Mat<F>) -> Mat<F> {
    let (k, d1) = w.shape();
    let d = d1 - 1;
    let n = x.ncols();
    // Start every column from the biases, then add the product (β = 1).
    let mut v = Mat::from_fn(k, n, |i, _| w[(i, 0)]);
    // W without its bias column, k x d, times X, d x n
    optim::linalg::gemm_blocks(
        F::one(),
        Block::columns(&w.as_slice()[k..], k, d),
        Block::columns(x.as_slice(), d, n),
        F::one(),
        BlockMut::columns(v.as_mut_slice(), k, n),
    );
    v
}

pub(crate) fn accuracy(predicted: &[usize], labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let right = predicted.iter().zip(labels).filter(|(a, b)| a == b).count();
    right as f64 / labels.len() as f64
}

impl<F: Float> Parameters<F> for MulticlassPerceptron<F> {
    /// One parameter, `weight` (`[classes, d+1]`); no gradient.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
    }
}

/// One-vs-rest: `k` independent binary perceptrons, unit `c` trained on "class `c`" (label 1)
/// against every other class (label 0); prediction `argmax_c w_cᵀx̃`. Unlike
/// [`MulticlassPerceptron`] the units never see each other's mistakes, so their fields are on
/// unrelated scales — the arg-max compares them anyway, as scikit-learn's `Perceptron` does.
///
/// # Shapes
/// Inputs `d x n`; parameters `{c}.weight`, each `[d+1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OneVsRest<F: Float> {
    /// Hyperparameters each unit is trained with (its coding is forced to `{0, 1}`).
    pub config: Config,
    units: Vec<Perceptron<F>>,
    features: usize,
}

impl<F: Float> OneVsRest<F> {
    /// `classes` untrained units for `features` inputs.
    ///
    /// # Errors
    /// If `features` is 0, `classes < 2`, or the configuration is invalid.
    pub fn new(features: usize, classes: usize, config: Config) -> Result<Self> {
        check_classes(classes)?;
        let unit_config = Config {
            coding: Some(Coding::ZeroOne),
            ..config
        };
        let units = (0..classes)
            .map(|_| Perceptron::new(features, unit_config))
            .collect::<Result<_>>()?;
        Ok(OneVsRest {
            config,
            units,
            features,
        })
    }

    /// Number of classes (= units).
    pub fn classes(&self) -> usize {
        self.units.len()
    }

    /// The binary unit of class `c`.
    pub fn unit(&self, c: usize) -> Option<&Perceptron<F>> {
        self.units.get(c)
    }

    /// Trains every unit from `w = 0`; returns one run's record per class.
    ///
    /// # Errors
    /// As [`MulticlassPerceptron::fit`]. The model is unchanged on error.
    pub fn fit(&mut self, x: &Mat<F>, labels: &[usize]) -> Result<Vec<Run<F>>> {
        self.fit_with(x, labels, &mut |_, _| {})
    }

    /// [`OneVsRest::fit`], calling `on_progress(class, progress)` after every epoch of every
    /// unit.
    ///
    /// # Errors
    /// As [`OneVsRest::fit`].
    pub fn fit_with(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
        on_progress: &mut dyn FnMut(usize, Progress<'_>),
    ) -> Result<Vec<Run<F>>> {
        self.fit_resume(x, labels, None, on_progress)
            .map(|(runs, _)| runs)
    }

    /// [`OneVsRest::fit_with`] that can stop after any epoch and continue exactly: unit `c`
    /// starts from `from[c]` (the states a run of the same settings and data returned, or read
    /// with [`OneVsRest::load_training`]) as [`Perceptron::fit_resume`] does, up to
    /// `config.max_epochs`; returns the runs of this call and every unit's state after it. The
    /// units are independent, so `N` epochs, a save, a load and `N` more equal `2N` straight,
    /// bit for bit, unit by unit.
    ///
    /// # Errors
    /// As [`OneVsRest::fit`]; states for another number of classes, or of other data,
    /// variant, order or size. The model is unchanged on error.
    pub fn fit_resume(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
        from: Option<&[OnlineState<F>]>,
        on_progress: &mut dyn FnMut(usize, Progress<'_>),
    ) -> Result<(Vec<Run<F>>, Vec<OnlineState<F>>)> {
        self.config.validate()?;
        check_input(x, self.features, "OneVsRest::fit", true)?;
        check_label_count(labels.len(), x.ncols(), "OneVsRest::fit")?;
        check_labels(labels, self.classes(), "OneVsRest::fit")?;
        if let Some(states) = from
            && states.len() != self.classes()
        {
            return Err(Error::Data(format!(
                "resume: {} saved unit states for {} classes",
                states.len(),
                self.classes()
            )));
        }
        let unit_config = Config {
            coding: Some(Coding::ZeroOne),
            ..self.config
        };
        let mut trained = self.units.clone();
        let mut runs = Vec::with_capacity(trained.len());
        let mut states = Vec::with_capacity(trained.len());
        for (c, unit) in trained.iter_mut().enumerate() {
            unit.config = unit_config;
            let binary: Vec<i32> = labels.iter().map(|&l| i32::from(l == c)).collect();
            let (run, state) =
                unit.fit_resume(x, &binary, from.map(|s| &s[c]), &mut |p| on_progress(c, p))?;
            runs.push(run);
            states.push(state);
        }
        self.units = trained;
        Ok((runs, states))
    }

    /// Saves the training state of every unit (one [`OnlineState`] per class, from
    /// [`OneVsRest::fit_resume`]) in one training-state file (kind `one_vs_rest-training`, with
    /// the [`MulticlassConfig`]; unit `c`'s vectors as `state.{c}.weights`, … and the positions
    /// as a list), atomically.
    ///
    /// # Errors
    /// A state count other than the number of classes; as [`TrainingParts::save`].
    pub fn save_training(&self, path: impl AsRef<Path>, states: &[OnlineState<F>]) -> Result<()> {
        if states.len() != self.classes() {
            return Err(Error::Data(format!(
                "OneVsRest::save_training: {} unit states for {} classes",
                states.len(),
                self.classes()
            )));
        }
        let positions: Vec<OnlinePosition> = states.iter().map(|s| s.position).collect();
        let config = Saveable::<F>::config(self);
        let mut parts = TrainingParts::<F>::new(OVR_TRAINING_KIND, &config, &positions)?;
        for (c, state) in states.iter().enumerate() {
            parts = state.add_to(parts, &format!("{c}."));
        }
        parts.save(path)
    }

    /// Reads a training state saved by [`OneVsRest::save_training`]: the model (each unit with
    /// the kept weights of its saved epoch) and the states for [`OneVsRest::fit_resume`]. Sizes
    /// come from the configuration and are checked against the file before anything is read.
    ///
    /// # Errors
    /// A missing or malformed file, a file of another trainer, an invalid configuration, a
    /// position count other than the classes, vectors of other sizes or with non-finite values.
    pub fn load_training(path: impl AsRef<Path>) -> Result<(Self, Vec<OnlineState<F>>)> {
        let mut file = TrainingFile::<F>::read(path, OVR_TRAINING_KIND)?;
        let config: MulticlassConfig = file.config()?;
        let positions: Vec<OnlinePosition> = file.position()?;
        check_classes(config.classes)?;
        if positions.len() != config.classes {
            return Err(Error::Data(format!(
                "OneVsRest::load_training: {} unit positions for {} classes",
                positions.len(),
                config.classes
            )));
        }
        let weights = crate::binary::weight_count(config.features)?;
        let mut states = Vec::with_capacity(positions.len());
        for (c, position) in positions.into_iter().enumerate() {
            let lengths = OnlineState::<F>::lengths(weights, position.variant);
            states.push(OnlineState::take_from(
                &mut file,
                &format!("{c}."),
                position,
                lengths,
            )?);
        }
        file.restore(&mut [])?;
        let mut model = <Self as Saveable<F>>::from_config(&config)?;
        for (unit, state) in model.units.iter_mut().zip(&states) {
            unit.take_kept(state);
        }
        Ok((model, states))
    }

    /// Each unit's field `v_{cj} = w_cᵀx̃_j`.
    ///
    /// # Shapes
    /// `x`: `d x n` → `classes x n`.
    ///
    /// # Errors
    /// A row count other than `d`, or a non-finite entry.
    pub fn decision_function(&self, x: &Mat<F>) -> Result<Mat<F>> {
        check_input(x, self.features, "OneVsRest::decision_function", false)?;
        let k = self.units.len();
        let w = Mat::from_fn(k, self.features + 1, |c, i| self.units[c].weights()[i]);
        Ok(linear_fields(&w, x))
    }

    /// Predicted classes, `argmax_c w_cᵀx̃`.
    ///
    /// # Errors
    /// As [`OneVsRest::decision_function`].
    pub fn predict(&self, x: &Mat<F>) -> Result<Vec<usize>> {
        Ok(argmax_columns(&self.decision_function(x)?))
    }

    /// Fraction of columns predicted correctly.
    ///
    /// # Errors
    /// As [`OneVsRest::predict`], plus a label count other than `n`.
    pub fn accuracy(&self, x: &Mat<F>, labels: &[usize]) -> Result<f64> {
        check_label_count(labels.len(), x.ncols(), "OneVsRest::accuracy")?;
        Ok(accuracy(&self.predict(x)?, labels))
    }

    /// Saves every unit's weight (`{c}.weight`) and the [`MulticlassConfig`], atomically
    /// ([`checkpoint::save_model`]).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save_model(path, self, &[])
    }

    /// Loads a model saved by [`OneVsRest::save`] ([`checkpoint::load_model`]).
    ///
    /// # Errors
    /// A missing or malformed file, another model's checkpoint, or misshapen weights.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        checkpoint::load_model(path)
    }
}

impl<F: Float> Saveable<F> for OneVsRest<F> {
    const KIND: &'static str = "one_vs_rest";
    type Config = MulticlassConfig;

    fn config(&self) -> MulticlassConfig {
        MulticlassConfig {
            features: self.features,
            classes: self.classes(),
            training: self.config,
        }
    }

    fn parameter_count(config: &MulticlassConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &MulticlassConfig) -> Result<Self> {
        Self::new(config.features, config.classes, config.training)
    }
}

impl<F: Float> Parameters<F> for OneVsRest<F> {
    /// `0.weight`, `1.weight`, … — one `[d+1]` vector per class, in class order.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (c, unit) in self.units.iter_mut().enumerate() {
            visit_child(&c.to_string(), unit, visit);
        }
    }
}
