//! The kernel perceptron (Aizerman, Braverman & Rozonoer 1964): the same rule in dual form, in
//! the feature space of a kernel, where XOR and two moons become separable.
//!
//! ```
//! use perceptron::Kernel;
//! let (x, z) = ([1.0f64, 2.0], [3.0, 1.0]);
//! assert_eq!(Kernel::Linear.eval(&x, &z), 5.0);                                   // xᵀz
//! assert_eq!(Kernel::Polynomial { degree: 2, coef0: 1.0 }.eval(&x, &z), 36.0);   // (5 + 1)²
//! let g = Kernel::Gaussian { gamma: 0.5 }.eval(&x, &z);                          // e^{−0.5·5}
//! assert!((g - (-2.5f64).exp()).abs() < 1e-15);
//! assert_eq!(Kernel::Gaussian { gamma: 0.5 }.eval(&x, &x), 1.0);
//! ```

use crate::config::{Coding, Config, Order, Variant};
use crate::train::{
    OnlinePosition, OnlineState, Recorder, Run, check_input, check_label_count, dot, replay_order,
    rng_state,
};
use optim::checkpoint::{self, Saveable};
use optim::train::Progress;
use optim::{Error, Float, Mat, Param, Parameters, Result};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A kernel `K(x, z) = φ(x)ᵀφ(z)`: an inner product in a feature space that is never built.
///
/// Stored in checkpoints as JSON, e.g. `{"gaussian":{"gamma":5.0}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// `K(x, z) = xᵀz` (the primal perceptron again).
    Linear,
    /// `K(x, z) = (xᵀz + c)^p`: all monomials up to degree `p` (degree 2 contains `x_1 x_2`,
    /// which is what XOR needs).
    Polynomial {
        /// The degree `p ≥ 1`.
        degree: u32,
        /// The constant `c ≥ 0`.
        coef0: f64,
    },
    /// `K(x, z) = exp(−γ ‖x − z‖²)`, an infinite-dimensional feature space in which any finite
    /// set of distinct points is separable.
    Gaussian {
        /// The width `γ > 0` (scikit-learn's `gamma`; `γ = 1/(2σ²)`).
        gamma: f64,
    },
}

impl Kernel {
    /// Checks the kernel's parameters.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] for a degree of 0, a negative or non-finite `coef0`, or a
    /// non-positive `gamma`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Kernel::Linear => Ok(()),
            Kernel::Polynomial { degree, coef0 } => {
                if degree == 0 {
                    return Err(Error::hyper("degree", degree, "must be at least 1"));
                }
                optim::check_range("coef0", coef0, 0.0, f64::MAX)
            }
            Kernel::Gaussian { gamma } => optim::check_positive("gamma", gamma),
        }
    }

    /// `K(x, z)` for two vectors of the same length.
    #[inline]
    pub fn eval<F: Float>(&self, x: &[F], z: &[F]) -> F {
        match *self {
            Kernel::Linear => dot(x, z),
            Kernel::Polynomial { degree, coef0 } => {
                let base = dot(x, z) + F::of(coef0);
                let mut p = F::one();
                for _ in 0..degree {
                    p *= base;
                }
                p
            }
            Kernel::Gaussian { gamma } => {
                let mut s = F::zero();
                for (&a, &b) in x.iter().zip(z) {
                    s += (a - b) * (a - b);
                }
                (-(F::of(gamma) * s)).exp()
            }
        }
    }
}

/// The perceptron in dual form.
///
/// Starting from `w = 0`, every update adds a multiple of an example, so `w` is always
/// `Σ_j a_j φ̃(x_j)`, where `a_j` sums the steps `η (d_j − y_j)` taken on example `j`. The field
/// needs only inner products, which the kernel supplies:
///
/// ```text
/// v(x) = Σ_j a_j K̃(x_j, x),   K̃(x, z) = K(x, z) + 1,
/// on a mistake on x_j:   a_j ← a_j + η (d_j − y_j)
/// ```
///
/// The `+ 1` is the bias as a weight on a constant feature `φ_0 = 1`, exactly as in the primal
/// unit, so with [`Kernel::Linear`] this model makes the same mistakes as
/// [`Perceptron`](crate::Perceptron) and `Σ_j a_j x̃_j` is its weight vector.
///
/// Training keeps the fields of all `n` training examples and updates them when some `a_j`
/// changes (`O(n d)` per mistake, `O(n)` memory, no Gram matrix). Only examples with `a_j ≠ 0`
/// (the support vectors) are kept for prediction.
///
/// # Shapes
/// Inputs `d x n`; parameters `support_vectors` `[d, m]` (one column per support vector) and
/// `dual_coef` `[m]`.
///
/// ```
/// use perceptron::{Config, Kernel, KernelPerceptron};
/// let xor = optim::data::generate::xor::<f64>();
/// let d: Vec<i32> = xor.labels().unwrap().iter().map(|&l| l as i32).collect();
/// let kernel = Kernel::Polynomial { degree: 2, coef0: 1.0 };
/// let mut model = KernelPerceptron::new(2, kernel, Config::default()).unwrap();
/// assert!(model.fit(&xor.x, &d).unwrap().converged);
/// assert_eq!(model.predict(&xor.x).unwrap(), d);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KernelPerceptron<F: Float> {
    /// Hyperparameters; only [`Variant::Plain`] is supported.
    pub config: Config,
    kernel: Kernel,
    support_vectors: Param<F>,
    dual_coef: Param<F>,
    coding: Coding,
    features: usize,
}

impl<F: Float> KernelPerceptron<F> {
    /// An untrained model (no support vectors, `v = 0` everywhere).
    ///
    /// # Errors
    /// If `features` is 0, the kernel's parameters are invalid, the configuration is invalid, or
    /// its variant is not [`Variant::Plain`].
    pub fn new(features: usize, kernel: Kernel, config: Config) -> Result<Self> {
        Self::with_support(features, kernel, config, 0)
    }

    fn with_support(features: usize, kernel: Kernel, config: Config, m: usize) -> Result<Self> {
        if features == 0 {
            return Err(Error::hyper("features", 0, "must be at least 1"));
        }
        kernel.validate()?;
        Self::check_config(&config)?;
        Ok(KernelPerceptron {
            config,
            kernel,
            support_vectors: Param::new(Mat::zeros(features, m)),
            dual_coef: Param::vector(Mat::zeros(m, 1)),
            coding: config.coding.unwrap_or(Coding::ZeroOne),
            features,
        })
    }

    fn check_config(config: &Config) -> Result<()> {
        config.validate()?;
        if config.variant != Variant::Plain {
            return Err(Error::hyper(
                "variant",
                format!("{:?}", config.variant),
                "the kernel perceptron implements the plain rule only",
            ));
        }
        Ok(())
    }

    /// The kernel.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Number of inputs `d`.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The label coding of the last `fit`.
    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// The support vectors, `d x m`, one column each.
    pub fn support_vectors(&self) -> &Mat<F> {
        &self.support_vectors.value
    }

    /// Their dual coefficients `a_j` (sum of the steps `η (d_j − y_j)` taken on each).
    pub fn dual_coef(&self) -> &[F] {
        self.dual_coef.value.as_slice()
    }

    /// Trains the dual coefficients from `a = 0` on `x` (`d x n`) with labels in `{0, 1}` or
    /// `{−1, +1}`, until an epoch without mistakes or the epoch limit. Each epoch's record holds
    /// the `n` coefficients `a` as its weights.
    ///
    /// # Errors
    /// As [`Perceptron::fit`](crate::Perceptron::fit); the model is unchanged on error.
    pub fn fit(&mut self, x: &Mat<F>, labels: &[i32]) -> Result<Run<F>> {
        self.fit_with(x, labels, &mut |_| {})
    }

    /// [`KernelPerceptron::fit`], reporting [`Progress::Epoch`] after every epoch.
    ///
    /// # Errors
    /// As [`KernelPerceptron::fit`].
    pub fn fit_with(
        &mut self,
        x: &Mat<F>,
        labels: &[i32],
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Run<F>> {
        self.fit_resume(x, labels, None, on_progress)
            .map(|(run, _)| run)
    }

    /// [`KernelPerceptron::fit_with`] from a saved state (the dual coefficients `a`, the fields
    /// `Σ_j a_j K̃(x_j, x_i)` and the shuffling generator's position), as
    /// [`Perceptron::fit_resume`](crate::Perceptron::fit_resume); the same data must be given.
    ///
    /// # Errors
    /// As [`KernelPerceptron::fit`]; a state of other data, order or size.
    pub fn fit_resume(
        &mut self,
        x: &Mat<F>,
        labels: &[i32],
        from: Option<&OnlineState<F>>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(Run<F>, OnlineState<F>)> {
        Self::check_config(&self.config)?;
        check_input(x, self.features, "KernelPerceptron::fit", true)?;
        check_label_count(labels.len(), x.ncols(), "KernelPerceptron::fit")?;
        let coding = match self.config.coding {
            Some(c) => {
                c.check(labels)?;
                c
            }
            None => Coding::infer(labels)?,
        };
        let d = self.features;
        let n = x.ncols();
        let xs = x.as_slice();
        let col = |j: usize| &xs[j * d..(j + 1) * d];
        let value = |positive: bool| {
            if positive {
                1.0
            } else {
                coding.negative_value()
            }
        };
        let eta = self.config.learning_rate;
        let mut a = vec![F::zero(); n];
        // field[i] = Σ_j a_j K̃(x_j, x_i), kept current after every update.
        let mut field = vec![F::zero(); n];
        let mut rng = match self.config.order {
            Order::Cyclic => None,
            Order::Shuffled { seed } => Some(optim::rng(seed)),
        };
        let mut order: Vec<usize> = (0..n).collect();
        let mut recorder = Recorder::new(n, &self.config, on_progress);
        let (mut steps, mut first) = (0u64, 1);
        if let Some(state) = from {
            state.check(&self.config, n, n, coding)?;
            (order, rng) = replay_order(&self.config, n, state.position.epoch, state.position.rng)?;
            if state.kept.len() != n {
                return Err(Error::Data(format!(
                    "resume: the saved training state holds {} fields, not {n}",
                    state.kept.len()
                )));
            }
            a.copy_from_slice(&state.weights);
            field.copy_from_slice(&state.kept);
            steps = state.position.steps;
            first = state.position.epoch + 1;
            recorder.resumed(state.position.converged);
        }
        let mut rng_at = from.and_then(|s| s.position.rng);
        let mut epoch_done = first - 1;
        // Kernel rows of the examples updated so far, while they fit in a fixed budget.
        const CACHE_ENTRIES: usize = 1 << 22;
        let mut rows: Vec<Option<Vec<F>>> = vec![None; n];
        let mut cached = 0usize;
        let epochs = if recorder.converged() {
            first..=0
        } else {
            first..=self.config.max_epochs
        };
        for epoch in epochs {
            if let Some(r) = rng.as_mut() {
                order.shuffle(r);
            }
            let mut mistakes = 0;
            steps += n as u64;
            for &j in &order {
                let target = labels[j] == 1;
                let output = field[j] > F::zero();
                if output == target {
                    continue;
                }
                mistakes += 1;
                // a_j ← a_j + η (d_j − y_j)
                let step = F::of(eta * (value(target) - value(output)));
                a[j] += step;
                if rows[j].is_none() && cached + n <= CACHE_ENTRIES {
                    let xj = col(j);
                    rows[j] = Some((0..n).map(|i| self.kernel.eval(xj, col(i))).collect());
                    cached += n;
                }
                match &rows[j] {
                    Some(row) => {
                        for (f, &k) in field.iter_mut().zip(row) {
                            *f += step * (k + F::one());
                        }
                    }
                    None => {
                        let xj = col(j);
                        for (i, f) in field.iter_mut().enumerate() {
                            *f += step * (self.kernel.eval(xj, col(i)) + F::one());
                        }
                    }
                }
            }
            if let Some(i) = a.iter().position(|v| !v.finite()) {
                return Err(Error::NonFinite {
                    context: format!("dual coefficient {i} after epoch {epoch}"),
                });
            }
            epoch_done = epoch;
            if recorder.epoch(epoch, mistakes, None, || Mat::from_column_slice(n, 1, &a)) {
                break;
            }
        }
        if epoch_done >= first {
            rng_at = rng_state(&self.config, rng.as_ref(), rng_at)?;
        }
        let support: Vec<usize> = (0..n).filter(|&j| a[j] != F::zero()).collect();
        let m = support.len();
        let mut sv = Mat::zeros(d, m);
        for (k, &j) in support.iter().enumerate() {
            sv.column_mut(k).copy_from_slice(col(j));
        }
        self.support_vectors = Param::new(sv);
        self.dual_coef = Param::vector(Mat::from_iterator(m, 1, support.iter().map(|&j| a[j])));
        self.coding = coding;
        let run = recorder.finish(None);
        let state = OnlineState {
            position: OnlinePosition::after(
                epoch_done,
                steps,
                run.converged,
                rng_at,
                n,
                self.config.variant,
                coding,
            ),
            weights: a,
            sums: Vec::new(),
            kept: field,
        };
        Ok((run, state))
    }

    /// Saves a training state of this kernel perceptron (kind `kernel_perceptron-training`,
    /// with the [`KernelPerceptronConfig`]), atomically.
    ///
    /// # Errors
    /// As [`OnlineState::save`].
    pub fn save_training(&self, path: impl AsRef<Path>, state: &OnlineState<F>) -> Result<()> {
        state.save(path, TRAINING_KIND, &Saveable::<F>::config(self))
    }

    /// Reads a training state saved by [`KernelPerceptron::save_training`]: an untrained model
    /// of the saved configuration and the state; [`KernelPerceptron::fit_resume`] with the same
    /// data continues the run (and rebuilds the support vectors).
    ///
    /// # Errors
    /// A missing or malformed file, a file of another trainer, an invalid configuration, vectors
    /// of other sizes or with non-finite values.
    pub fn load_training(path: impl AsRef<Path>) -> Result<(Self, OnlineState<F>)> {
        let (config, state) =
            OnlineState::<F>::load(path, TRAINING_KIND, |_: &KernelPerceptronConfig, p| {
                Ok((p.examples, 0, p.examples))
            })?;
        let model = <Self as Saveable<F>>::from_config(&config)?;
        Ok((model, state))
    }

    /// The fields `v(x_j) = Σ_k a_k K̃(s_k, x_j)` over the support vectors `s_k`.
    ///
    /// # Shapes
    /// `x`: `d x n` → `n` values.
    ///
    /// # Errors
    /// A row count other than `d`, or a non-finite entry.
    pub fn decision_function(&self, x: &Mat<F>) -> Result<Vec<F>> {
        check_input(
            x,
            self.features,
            "KernelPerceptron::decision_function",
            false,
        )?;
        let d = self.features;
        let sv = self.support_vectors.value.as_slice();
        let coef = self.dual_coef.value.as_slice();
        Ok(x.as_slice()
            .chunks_exact(d)
            .map(|xj| {
                coef.iter()
                    .zip(sv.chunks_exact(d))
                    .fold(F::zero(), |acc, (&a, s)| {
                        acc + a * (self.kernel.eval(s, xj) + F::one())
                    })
            })
            .collect())
    }

    /// Predicted labels in [`KernelPerceptron::coding`]: positive iff `v(x) > 0`.
    ///
    /// # Errors
    /// As [`KernelPerceptron::decision_function`].
    pub fn predict(&self, x: &Mat<F>) -> Result<Vec<i32>> {
        Ok(self
            .decision_function(x)?
            .into_iter()
            .map(|v| self.coding.label(v > F::zero()))
            .collect())
    }

    /// Number of columns whose prediction differs from `labels`.
    ///
    /// # Errors
    /// As [`KernelPerceptron::predict`], plus a label count or label that does not fit.
    pub fn errors(&self, x: &Mat<F>, labels: &[i32]) -> Result<usize> {
        check_label_count(labels.len(), x.ncols(), "KernelPerceptron::errors")?;
        self.coding.check(labels)?;
        Ok(self
            .predict(x)?
            .iter()
            .zip(labels)
            .filter(|(a, b)| a != b)
            .count())
    }

    /// Saves the support vectors, their coefficients and the [`KernelPerceptronConfig`],
    /// atomically ([`checkpoint::save_model`]).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save_model(path, self, &[])
    }

    /// Loads a model saved by [`KernelPerceptron::save`] ([`checkpoint::load_model`]). The
    /// number of support vectors the configuration names is checked against the values the file
    /// holds before anything is allocated.
    ///
    /// # Errors
    /// A missing or malformed file, another model's checkpoint, a support set the file cannot
    /// hold, or misshapen tensors.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        checkpoint::load_model(path)
    }
}

/// What a checkpoint stores about a [`KernelPerceptron`] (as JSON): the number of inputs, the
/// kernel, the size of the support set, the label coding and the training hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KernelPerceptronConfig {
    /// Number of inputs `d`.
    pub features: usize,
    /// The kernel.
    pub kernel: Kernel,
    /// Number of support vectors `m`.
    pub support_vectors: usize,
    /// The label coding of the trained model.
    pub coding: Coding,
    /// Training hyperparameters.
    pub training: Config,
}

/// The kind of a [`KernelPerceptron`]'s training-state file.
const TRAINING_KIND: &str = "kernel_perceptron-training";

impl<F: Float> Saveable<F> for KernelPerceptron<F> {
    const KIND: &'static str = "kernel_perceptron";
    type Config = KernelPerceptronConfig;

    fn config(&self) -> KernelPerceptronConfig {
        KernelPerceptronConfig {
            features: self.features,
            kernel: self.kernel,
            support_vectors: self.dual_coef.value.nrows(),
            coding: self.coding,
            training: self.config,
        }
    }

    /// `m (d + 1)`: `d x m` support vectors and `m` coefficients.
    fn parameter_count(config: &KernelPerceptronConfig) -> Option<usize> {
        config
            .support_vectors
            .checked_mul(config.features.checked_add(1)?)
    }

    fn from_config(config: &KernelPerceptronConfig) -> Result<Self> {
        let mut model = Self::with_support(
            config.features,
            config.kernel,
            config.training,
            config.support_vectors,
        )?;
        model.coding = config.coding;
        Ok(model)
    }
}

impl<F: Float> Parameters<F> for KernelPerceptron<F> {
    /// `support_vectors` (`[d, m]`) and `dual_coef` (`[m]`); no gradients.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("support_vectors", &mut self.support_vectors);
        visit("dual_coef", &mut self.dual_coef);
    }
}
