//! Training: least-squares consequents, Jang's hybrid rule, and plain gradient training.

use super::Anfis;
use optim::data::{Dataset, Targets};
use optim::train::{BatchLoss, EpochRecord, Evaluation, History, Progress, Trainable};
use optim::{Error, Float, Mat, Result, StdRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What [`Anfis::fit_consequents`] reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeastSquaresReport {
    /// Training MSE with the fitted consequents (in `f64`, from the design matrix).
    pub mse: f64,
    /// `σ_max / σ_min` of the (ridge-augmented) design matrix.
    pub condition: f64,
}

/// Jang's step-size rule for the premise update.
///
/// The update is the normalized gradient step `Δθ = −κ ∇E / ‖∇E‖` (Jang 1993, eq. 9–10: the
/// step *length* in parameter space is `κ`). After the epoch-`t` update, with `e_t` the training
/// RMSE of epoch `t` (before its update):
///
/// - **shrink** `κ ← decrease·κ` if the last four changes of `e` went *up, down, up, down*
///   (`e_{t−4} < e_{t−3} > e_{t−2} < e_{t−1} > e_t`: two consecutive combinations of one
///   increase and one reduction) and `κ` was not shrunk in the last three epochs;
/// - otherwise **grow** `κ ← increase·κ` if the error fell four times in a row
///   (`e_{t−4} > e_{t−3} > e_{t−2} > e_{t−1} > e_t`) and `κ` was not grown in the last three
///   epochs.
///
/// This is the rule of Jang's own implementation (MATLAB's `anfis`, whose defaults these are).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSize {
    /// Initial step length `κ` (default 0.01).
    pub initial: f64,
    /// Growth factor after four decreases (default 1.1).
    pub increase: f64,
    /// Shrink factor after two oscillations (default 0.9).
    pub decrease: f64,
}

impl Default for StepSize {
    fn default() -> Self {
        StepSize {
            initial: 0.01,
            increase: 1.1,
            decrease: 0.9,
        }
    }
}

/// What one application of the step-size rule did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepChange {
    /// `κ` unchanged.
    Kept,
    /// `κ ← increase · κ` (four decreases in a row).
    Increased,
    /// `κ ← decrease · κ` (two oscillations in a row).
    Decreased,
}

/// The running state of Jang's step-size rule ([`StepSize`]) over a training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepSizeState {
    /// The current step length `κ`.
    pub kappa: f64,
    last_increase: usize,
    last_decrease: usize,
}

impl StepSizeState {
    /// `κ = rule.initial`, no change yet.
    pub fn new(rule: &StepSize) -> Self {
        StepSizeState {
            kappa: rule.initial,
            last_increase: 0,
            last_decrease: 0,
        }
    }

    /// Applies the rule after epoch `t = errors.len() − 1`, `errors` being the training errors of
    /// epochs `0..=t` (nothing happens before `t = 4`).
    pub fn update(&mut self, rule: &StepSize, errors: &[f64]) -> StepChange {
        let Some(t) = errors.len().checked_sub(1).filter(|&t| t >= 4) else {
            return StepChange::Kept;
        };
        let e = &errors[t - 4..=t];
        let oscillating = e[0] < e[1] && e[1] > e[2] && e[2] < e[3] && e[3] > e[4];
        let falling = e[0] > e[1] && e[1] > e[2] && e[2] > e[3] && e[3] > e[4];
        if oscillating && t - self.last_decrease >= 4 {
            self.kappa *= rule.decrease;
            self.last_decrease = t;
            StepChange::Decreased
        } else if falling && t - self.last_increase >= 4 {
            self.kappa *= rule.increase;
            self.last_increase = t;
            StepChange::Increased
        } else {
            StepChange::Kept
        }
    }
}

/// Settings of [`train_hybrid`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HybridConfig {
    /// Epochs (default 100). Each solves for the consequents; all but the last then update the
    /// premises, so the returned model's consequents are optimal for its premises.
    pub epochs: usize,
    /// The premise step and its adaptation.
    pub step: StepSize,
    /// Ridge `λ ≥ 0` on the consequents (default 0: plain least squares).
    pub ridge: f64,
    /// Return the parameters of the epoch with the lowest training RMSE rather than the last
    /// (default true; MATLAB's `anfis` does the same).
    pub keep_best: bool,
}

impl Default for HybridConfig {
    fn default() -> Self {
        HybridConfig {
            epochs: 100,
            step: StepSize::default(),
            ridge: 0.0,
            keep_best: true,
        }
    }
}

/// The outcome of a hybrid training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingReport {
    /// One record per epoch (see [`train_hybrid`]); `history.best_epoch` is the epoch (from 1)
    /// whose parameters the model holds, `history.restored_best` whether that is not the last.
    pub history: History,
    /// Training RMSE of the returned model.
    pub train_rmse: f64,
}

impl TrainingReport {
    /// The epoch (from 1) whose parameters the model holds.
    pub fn best_epoch(&self) -> usize {
        self.history.best_epoch.unwrap_or(self.history.epochs.len())
    }
}

fn check_targets<F: Float>(y: &Mat<F>, n: usize, context: &str) -> Result<()> {
    if y.shape() != (1, n) {
        return Err(Error::shape(context, (1, n), y.shape()));
    }
    optim::check_finite(y, context)
}

/// `min ‖A θ − t‖²` by SVD in `f64`, refusing a numerically singular `A`
/// (`σ_min ≤ max(rows, p)·ε·σ_max`, NumPy's rank tolerance).
fn solve_least_squares(a: Mat<f64>, t: &Mat<f64>) -> Result<(Mat<f64>, f64)> {
    let (rows, p) = a.shape();
    if rows < p {
        return Err(Error::Numerical {
            context: "ANFIS least-squares consequents".into(),
            reason: format!(
                "the system is singular: {rows} equations for {p} consequent parameters (fewer \
                 examples than R (d + 1)); use more data, fewer rules, or a ridge term (ridge > 0)"
            ),
        });
    }
    let tol = rows.max(p) as f64 * f64::EPSILON;
    let svd = a.svd(true, true);
    let sv = &svd.singular_values;
    let max = sv.iter().copied().fold(0.0, f64::max);
    let min = sv.iter().copied().fold(f64::INFINITY, f64::min);
    let condition = if min > 0.0 { max / min } else { f64::INFINITY };
    // written so that a NaN singular value counts as singular
    let regular = max > 0.0 && min > tol * max;
    if !regular {
        return Err(Error::Numerical {
            context: "ANFIS least-squares consequents".into(),
            reason: format!(
                "the {rows} x {p} design matrix is singular to working precision (condition \
                 estimate {condition:.3e}); rules that never fire on the training data, too few \
                 distinct examples, or duplicated inputs cause this; a ridge term (ridge > 0) \
                 regularizes it"
            ),
        });
    }
    let u = svd.u.as_ref().expect("computed");
    let v_t = svd.v_t.as_ref().expect("computed");
    let mut ut_t = u.transpose() * t;
    for (i, mut row) in ut_t.row_iter_mut().enumerate() {
        row /= sv[i];
    }
    Ok((v_t.transpose() * ut_t, condition))
}

impl<F: Float> Anfis<F> {
    /// Layer 4's consequents by least squares for the current premises (Jang's forward pass):
    /// with one row `a_n = [w̄_1n x_n, w̄_1n, …, w̄_Rn x_n, w̄_Rn]` per example,
    /// `θ = argmin Σ_n (a_n θ − t_n)² + λ‖θ‖²`, solved in `f64` through an SVD.
    ///
    /// # Shapes
    /// `x`: `d x n`, `y`: `1 x n`.
    ///
    /// # Errors
    /// Shape mismatches, empty or non-finite data, `ridge < 0`, no rule firing for an example,
    /// and [`Error::Numerical`] for a singular system (the model is then unchanged).
    pub fn fit_consequents(
        &mut self,
        x: &Mat<F>,
        y: &Mat<F>,
        ridge: f64,
    ) -> Result<LeastSquaresReport> {
        optim::check_batch(x, self.inputs(), "Anfis::fit_consequents input")?;
        check_targets(y, x.ncols(), "Anfis::fit_consequents targets")?;
        optim::check_range("ridge", ridge, 0.0, f64::MAX)?;
        let wbar = self.normalized_firing(x)?;
        let (d, n) = x.shape();
        let r_count = self.num_rules();
        let p = r_count * (d + 1);
        let extra = if ridge > 0.0 { p } else { 0 };
        let mut a = Mat::<f64>::zeros(n + extra, p);
        for col in 0..n {
            for r in 0..r_count {
                let w = wbar[(r, col)].to_f64();
                let base = r * (d + 1);
                for i in 0..d {
                    a[(col, base + i)] = w * x[(i, col)].to_f64();
                }
                a[(col, base + d)] = w;
            }
        }
        let mut t = Mat::<f64>::zeros(n + extra, 1);
        for col in 0..n {
            t[(col, 0)] = y[(0, col)].to_f64();
        }
        for q in 0..extra {
            a[(n + q, q)] = ridge.sqrt();
        }
        let design = a.rows(0, n).into_owned();
        let (theta, condition) = solve_least_squares(a, &t)?;
        let residual = &design * &theta - t.rows(0, n);
        let mse = residual.norm_squared() / n as f64;
        for r in 0..r_count {
            for i in 0..d {
                self.consequent_weight.value[(r, i)] = F::of(theta[(r * (d + 1) + i, 0)]);
            }
            self.consequent_bias.value[(r, 0)] = F::of(theta[(r * (d + 1) + d, 0)]);
        }
        Ok(LeastSquaresReport { mse, condition })
    }
}

fn rmse_of<F: Float>(pred: &Mat<F>, y: &Mat<F>) -> f64 {
    let s: f64 = pred
        .iter()
        .zip(y.iter())
        .map(|(&p, &t)| (p.to_f64() - t.to_f64()).powi(2))
        .sum();
    (s / y.len() as f64).sqrt()
}

fn check_rmse<F: Float>(
    model: &Anfis<F>,
    check: Option<(&Mat<F>, &Mat<F>)>,
) -> Result<Option<f64>> {
    match check {
        None => Ok(None),
        Some((cx, cy)) => {
            let p = model.predict(cx)?;
            Ok(Some(rmse_of(&p.output, cy)))
        }
    }
}

fn validate_check<F: Float>(model: &Anfis<F>, check: Option<(&Mat<F>, &Mat<F>)>) -> Result<()> {
    if let Some((cx, cy)) = check {
        optim::check_batch(cx, model.inputs(), "checking inputs")?;
        check_targets(cy, cx.ncols(), "checking targets")?;
    }
    Ok(())
}

/// Jang's hybrid learning (see the module docs): every epoch, least-squares consequents for the
/// current premises (forward pass), the training RMSE, then one normalized gradient step
/// `Δθ = −κ ∇E/‖∇E‖` on the premises with `E = Σ_n (y_n − t_n)²` (backward pass), and the
/// [`StepSize`] rule. `check` (optional checking data) is only evaluated and reported, never
/// used to choose parameters.
///
/// It reports through [`optim::train`]'s types: `callback` gets a [`Progress::Epoch`] after every
/// epoch, whose [`EpochRecord`] (epochs from 1; epoch 1 is least squares from the initial
/// functions) holds the training MSE as `train_loss`, the terms `rmse` and, with checking data,
/// `check_rmse` (its MSE is the `validation` loss), and `κ` as `learning_rate`. Memory grows with
/// the epochs run, not with `config.epochs`.
///
/// # Shapes
/// `x`: `d x n`, `y`: `1 x n`; `check`: `d x n'`, `1 x n'`.
///
/// # Errors
/// Shape mismatches, empty or non-finite data, `epochs = 0`, a step or factor `≤ 0`, a singular
/// least-squares system, no rule firing for an example, a non-finite error (naming the epoch).
pub fn train_hybrid<F: Float>(
    model: &mut Anfis<F>,
    x: &Mat<F>,
    y: &Mat<F>,
    check: Option<(&Mat<F>, &Mat<F>)>,
    config: &HybridConfig,
    callback: &mut dyn FnMut(Progress<'_>),
) -> Result<TrainingReport> {
    train_hybrid_resume(model, x, y, check, config, None, callback).map(|(r, _)| r)
}

/// Where a hybrid run stands after an epoch (JSON in a training-state file; the reals as bits,
/// so they come back exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HybridPosition {
    /// Epochs completed.
    pub epoch: usize,
    /// The step length `κ`, as bits.
    pub kappa: u64,
    /// The epoch (from 0) of the step rule's last increase.
    pub last_increase: usize,
    /// The epoch (from 0) of the step rule's last decrease.
    pub last_decrease: usize,
    /// `keep_best`: the best epoch so far (from 0) and its RMSE as bits.
    pub best: Option<(usize, u64)>,
}

/// Everything a hybrid run carries from one epoch to the next: the live model (consequents
/// solved for the epoch's premises, before the premise step a longer run takes next; the model
/// [`train_hybrid`] returns may instead hold the best epoch's parameters), the best epoch's
/// model, every epoch's training RMSE (the step rule reads the last five), and the
/// [`HybridPosition`].
#[derive(Clone, Debug)]
pub struct HybridState<F: Float> {
    /// The position.
    pub position: HybridPosition,
    /// Training RMSE per epoch.
    pub errors: Vec<f64>,
    /// The model at the end of the last epoch, before any best-epoch restore.
    pub live: Anfis<F>,
    /// `keep_best`: the best epoch's model.
    pub best: Option<Anfis<F>>,
}

/// The kind of an ANFIS hybrid run's training-state file.
const HYBRID_KIND: &str = "anfis-hybrid-training";

impl<F: Float> HybridState<F> {
    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.position.epoch
    }

    /// Saves the state and the settings as one training-state file
    /// ([`optim::checkpoint::TrainingParts`]: parts `live` and `best`, the RMSEs as `F64`),
    /// atomically.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&self, path: impl AsRef<std::path::Path>, config: &HybridConfig) -> Result<()> {
        let mut live = self.live.clone();
        let architecture = live.architecture();
        let mut best = self.best.clone();
        let mut parts = optim::checkpoint::TrainingParts::new(
            HYBRID_KIND,
            &(architecture, config),
            &self.position,
        )?
        .values_f64("errors", &self.errors)
        .model("live", &mut live);
        if let Some(b) = best.as_mut() {
            parts = parts.model("best", b);
        }
        parts.save(path)
    }

    /// Reads a file written by [`HybridState::save`]: the state and the settings. The model's
    /// size is checked against the file before it is built.
    ///
    /// # Errors
    /// An unreadable file, a file of another trainer, an invalid architecture or one the file
    /// cannot hold, tensors that are missing, misshapen or non-finite.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<(Self, HybridConfig)> {
        use optim::checkpoint::{Restore, Saveable, TrainingFile};
        let path = path.as_ref();
        let mut file = TrainingFile::<F>::read(path, HYBRID_KIND)?;
        let (architecture, config): (super::AnfisArchitecture, HybridConfig) = file.config()?;
        let position: HybridPosition = file.position()?;
        // parameters and the input_range buffer (d x 2), per model
        let d = architecture.mfs_per_input.len();
        let count = <Anfis<F> as Saveable<F>>::parameter_count(&architecture)
            .and_then(|c| c.checked_add(d.checked_mul(2)?));
        let expected =
            count.and_then(|c| c.checked_mul(if position.best.is_some() { 2 } else { 1 }));
        let stored = file.values_under("live") + file.values_under("best");
        if expected != Some(stored) || position.epoch == 0 {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason: format!(
                    "the architecture asks for {count:?} values per model, the file holds \
                     {stored} values at epoch {}",
                    position.epoch
                ),
            });
        }
        let errors = file.values_f64("errors", position.epoch)?;
        let mut live = <Anfis<F> as Saveable<F>>::from_config(&architecture)?;
        let mut best = match position.best {
            Some(_) => Some(<Anfis<F> as Saveable<F>>::from_config(&architecture)?),
            None => None,
        };
        match best.as_mut() {
            Some(b) => {
                file.restore(&mut [Restore::model("live", &mut live), Restore::model("best", b)])?
            }
            None => file.restore(&mut [Restore::model("live", &mut live)])?,
        }
        Ok((
            HybridState {
                position,
                errors,
                live,
                best,
            },
            config,
        ))
    }
}

/// The premise step of `epoch` (from 0): `∂E/∂θ` for the premises, `E = Σ (y − t)²`, a step of
/// length `κ` along it, the repair of the functions' corners, and Jang's step-size rule.
fn premise_step<F: Float>(
    model: &mut Anfis<F>,
    out: &Mat<F>,
    y: &Mat<F>,
    step: &mut StepSizeState,
    errors: &[f64],
    config: &HybridConfig,
    epoch: usize,
) -> Result<()> {
    let dy = (out - y) * F::of(2.0);
    optim::zero_grad(model);
    model.backward(&dy)?;
    let norm = model
        .premise
        .iter()
        .map(|p| p.grad.iter().map(|g| g.to_f64().powi(2)).sum::<f64>())
        .sum::<f64>()
        .sqrt();
    if !norm.is_finite() {
        return Err(Error::NonFinite {
            context: format!("ANFIS premise gradient at epoch {epoch}"),
        });
    }
    if norm > 0.0 {
        let eta = F::of(step.kappa / norm);
        for p in &mut model.premise {
            p.value.zip_apply(&p.grad, |v, g| *v -= eta * g);
        }
        model.repair_premise();
    }
    // Jang's step-size rule
    step.update(&config.step, errors);
    Ok(())
}

/// [`train_hybrid`] that can stop after any epoch and continue exactly, in this process or
/// another ([`HybridState::save`] / [`HybridState::load`]): from the state `from` a run with
/// the same settings returned, it takes the premise step the shorter run skipped, runs epochs
/// `from.epoch() + 1 ..= config.epochs`, and returns their report and the state after the
/// last. `epochs = N`, then `2N` from the state, equals `2N` in one run, bit for bit (the
/// history of the epochs run here, the best epoch over the whole run, the model).
///
/// # Errors
/// As [`train_hybrid`]; a state of another architecture or past `config.epochs`.
pub fn train_hybrid_resume<F: Float>(
    model: &mut Anfis<F>,
    x: &Mat<F>,
    y: &Mat<F>,
    check: Option<(&Mat<F>, &Mat<F>)>,
    config: &HybridConfig,
    from: Option<&HybridState<F>>,
    callback: &mut dyn FnMut(Progress<'_>),
) -> Result<(TrainingReport, HybridState<F>)> {
    optim::check_batch(x, model.inputs(), "train_hybrid inputs")?;
    check_targets(y, x.ncols(), "train_hybrid targets")?;
    validate_check(model, check)?;
    if config.epochs == 0 {
        return Err(Error::hyper("epochs", 0, "must be at least 1"));
    }
    optim::check_positive("step.initial", config.step.initial)?;
    optim::check_positive("step.increase", config.step.increase)?;
    optim::check_positive("step.decrease", config.step.decrease)?;
    let mut step = StepSizeState::new(&config.step);
    // grown as epochs run: `config.epochs` is the caller's count, unchecked
    let mut errors: Vec<f64> = Vec::new();
    let mut history = History::default();
    let mut best: Option<(usize, f64, Vec<(String, Mat<F>)>)> = None;
    let mut first = 0;
    if let Some(state) = from {
        let p = &state.position;
        if state.live.architecture() != model.architecture()
            || p.epoch == 0
            || p.epoch > config.epochs
            || state.errors.len() != p.epoch
            || p.best.is_some() != (config.keep_best && state.best.is_some())
        {
            return Err(Error::Data(format!(
                "train_hybrid_resume: the saved state (epoch {}, {} errors) is not a point of \
                 this run of this model ({} epochs, keep_best {})",
                p.epoch,
                state.errors.len(),
                config.epochs,
                config.keep_best
            )));
        }
        *model = state.live.clone();
        step = StepSizeState {
            kappa: f64::from_bits(p.kappa),
            last_increase: p.last_increase,
            last_decrease: p.last_decrease,
        };
        errors.clone_from(&state.errors);
        if let (Some((e, rmse)), Some(b)) = (p.best, state.best.as_ref()) {
            best = Some((
                e,
                f64::from_bits(rmse),
                optim::param::snapshot(&mut b.clone()),
            ));
        }
        first = p.epoch;
        if first < config.epochs {
            let out = model.forward(x)?;
            premise_step(model, &out, y, &mut step, &errors, config, first - 1)?;
        }
    }
    for epoch in first..config.epochs {
        let started = Instant::now();
        // forward pass: layers 1–3, least-squares consequents, layers 4–5
        model.fit_consequents(x, y, config.ridge)?;
        let out = model.forward(x)?;
        let train_rmse = rmse_of(&out, y);
        if !train_rmse.is_finite() {
            return Err(Error::NonFinite {
                context: format!("ANFIS hybrid training error at epoch {epoch}"),
            });
        }
        let check_rmse = check_rmse(model, check)?;
        let mut terms = vec![("rmse", train_rmse)];
        if let Some(c) = check_rmse {
            terms.push(("check_rmse", c));
        }
        history.epochs.push(EpochRecord {
            epoch: epoch + 1,
            train_loss: train_rmse * train_rmse,
            train_accuracy: None,
            train_terms: terms,
            validation: check_rmse.map(|c| Evaluation::loss(c * c)),
            learning_rate: step.kappa,
            seconds: started.elapsed().as_secs_f64(),
        });
        history.steps = epoch + 1;
        callback(Progress::Epoch(history.epochs.last().expect("just pushed")));
        errors.push(train_rmse);
        if config.keep_best && best.as_ref().is_none_or(|b| train_rmse < b.1) {
            best = Some((epoch, train_rmse, optim::param::snapshot(model)));
        }
        if epoch + 1 == config.epochs {
            break;
        }
        premise_step(model, &out, y, &mut step, &errors, config, epoch)?;
    }
    let live = model.clone();
    let best_model = match &best {
        Some((_, _, values)) => {
            let mut b = model.clone();
            optim::param::restore(&mut b, values)?;
            Some(b)
        }
        None => None,
    };
    let last = config.epochs - 1;
    let state = HybridState {
        position: HybridPosition {
            epoch: config.epochs.max(first),
            kappa: step.kappa.to_bits(),
            last_increase: step.last_increase,
            last_decrease: step.last_decrease,
            best: best.as_ref().map(|(e, r, _)| (*e, r.to_bits())),
        },
        errors: errors.clone(),
        live,
        best: best_model,
    };
    let (best_epoch, train_rmse) = match best {
        Some((epoch, err, values)) if epoch != last => {
            optim::param::restore(model, &values)?;
            history.restored_best = true;
            (epoch, err)
        }
        _ => (last, errors[last]),
    };
    history.best_epoch = Some(best_epoch + 1);
    Ok((
        TrainingReport {
            history,
            train_rmse,
        },
        state,
    ))
}

/// Gradient training of every parameter (premises and consequents) on the MSE, by the shared
/// loop [`optim::train::fit`], on regression data whose targets are `1 x n`
/// ([`Targets::Values`]): `model.fit(&train, validation, &mut optimizer, &config, &mut
/// on_progress)`. After every step the premises are repaired ([`Trainable::after_step`] calls
/// [`Anfis::repair_premise`]: a step may have swapped a triangle's corners).
impl<F: Float> Trainable<F> for Anfis<F> {
    type Data = Dataset<F>;

    fn examples(&self, data: &Dataset<F>) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Dataset<F>, what: &str) -> Result<()> {
        optim::check_batch(&data.x, self.inputs(), what)?;
        match &data.targets {
            Targets::Values(y) => check_targets(y, data.len(), &format!("{what} targets")),
            Targets::Classes(_) => Err(Error::Data(format!(
                "{what}: ANFIS regresses one real-valued output, not class labels"
            ))),
        }
    }

    fn train_batch(
        &mut self,
        data: &Dataset<F>,
        batch: &[usize],
        _rng: &mut StdRng,
    ) -> Result<BatchLoss> {
        let Targets::Values(y) = &data.targets else {
            return Err(Error::Data(
                "ANFIS training data needs real-valued targets".into(),
            ));
        };
        let (mut xb, mut yb) = std::mem::take(&mut self.batch);
        optim::linalg::resize_buffer(&mut xb, data.x.nrows(), batch.len());
        optim::data::select_columns_into(&data.x, batch, &mut xb);
        optim::linalg::resize_buffer(&mut yb, 1, batch.len());
        optim::data::select_columns_into(y, batch, &mut yb);
        let result = self.forward(&xb).and_then(|out| {
            let (loss, dy) = optim::loss::mse(&out, &yb)?;
            self.backward(&dy)?;
            Ok(BatchLoss::new(loss))
        });
        self.batch = (xb, yb);
        result
    }

    /// A step may leave a piecewise-linear membership function's corners out of order.
    fn after_step(&mut self) -> Result<()> {
        self.repair_premise();
        Ok(())
    }

    fn evaluate(&self, data: &Dataset<F>) -> Result<Evaluation> {
        let Targets::Values(y) = &data.targets else {
            return Err(Error::Data("ANFIS data needs real-valued targets".into()));
        };
        let mse = |m: &Anfis<F>| -> Result<f64> {
            Ok(optim::loss::mse(&m.predict(&data.x)?.output, y)?.0.to_f64())
        };
        let loss = if self.premise_in_order() {
            mse(self)?
        } else {
            let mut repaired = self.clone();
            repaired.repair_premise();
            mse(&repaired)?
        };
        Ok(Evaluation {
            loss,
            accuracy: None,
        })
    }
}
