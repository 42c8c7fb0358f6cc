//! The chapter's two experiments, as functions the examples, the tests and the tour share:
//! Jang's Mackey-Glass prediction and yearly sunspots (with an AR(p) least-squares baseline).

use super::{Anfis, AnfisConfig, HybridConfig, MfCurve, MfKind, Partition, train_hybrid};
use crate::mackey_glass::{MackeyGlassData, jang_dataset, ndei, rmse};
use optim::train::{History, Progress};
use optim::{Error, Mat, Result};

/// Jang's Mackey-Glass experiment (1993, §V example 3).
#[derive(Clone, Debug, PartialEq)]
pub struct MackeyGlassConfig {
    /// Rules (default Jang's: a grid of 2 functions per input, 16 rules, 104 parameters).
    pub partition: Partition,
    /// The functions' kind (default generalized bell).
    pub kind: MfKind,
    /// Hybrid training (default: 500 epochs as Jang, initial step 0.01, MATLAB's rule).
    pub hybrid: HybridConfig,
    /// Seed of k-means (for a k-means partition).
    pub seed: u64,
    /// Points per membership curve in the report (default 101).
    pub curve_points: usize,
}

impl Default for MackeyGlassConfig {
    fn default() -> Self {
        MackeyGlassConfig {
            partition: Partition::Grid(vec![2]),
            kind: MfKind::Bell,
            hybrid: HybridConfig {
                epochs: 500,
                ..HybridConfig::default()
            },
            seed: 0,
            curve_points: 101,
        }
    }
}

/// What [`mackey_glass`] measured.
#[derive(Clone, Debug)]
pub struct MackeyGlassReport {
    /// Rules `R`.
    pub rules: usize,
    /// Premise + consequent parameters.
    pub parameters: usize,
    /// Least squares alone from the initial membership functions: training RMSE.
    pub ls_only_train_rmse: f64,
    /// … test RMSE.
    pub ls_only_test_rmse: f64,
    /// … test NDEI.
    pub ls_only_test_ndei: f64,
    /// After hybrid training: training RMSE.
    pub train_rmse: f64,
    /// Test RMSE.
    pub test_rmse: f64,
    /// Test NDEI (`RMSE / std` of the test targets).
    pub test_ndei: f64,
    /// The learning curve: per epoch the training MSE, the terms `rmse` and `check_rmse` (the
    /// test RMSE) and the step size `κ` as `learning_rate` (see [`train_hybrid`]).
    pub history: History,
    /// The epoch (from 1) whose parameters were kept.
    pub best_epoch: usize,
    /// Membership functions before training.
    pub initial_curves: Vec<MfCurve>,
    /// Membership functions after training.
    pub final_curves: Vec<MfCurve>,
    /// `t` of each test target.
    pub test_t: Vec<usize>,
    /// The test targets `x(t + 6)`.
    pub test_truth: Vec<f64>,
    /// The trained model's predictions.
    pub test_prediction: Vec<f64>,
    /// Out-of-range warnings on the test inputs.
    pub test_out_of_range: usize,
    /// The trained model.
    pub model: Anfis<f32>,
}

/// The names of Jang's four inputs.
pub const MACKEY_GLASS_INPUTS: [&str; 4] = ["x(t-18)", "x(t-12)", "x(t-6)", "x(t)"];

/// Runs Jang's Mackey-Glass experiment in `f32`: rules and functions from the training inputs
/// (`config.partition`), least squares alone, then hybrid training; `callback` sees every epoch (with the
/// test RMSE as the checking error, reported only). [`MackeyGlassStart`] and
/// [`MackeyGlassStart::report`] are its two halves, for a caller that trains in between itself
/// (the tour's resumable run, epoch by epoch with [`super::train_hybrid_resume`]).
///
/// # Errors
/// As [`Anfis::new`] and [`train_hybrid`].
pub fn mackey_glass(
    config: &MackeyGlassConfig,
    callback: &mut dyn FnMut(Progress<'_>),
) -> Result<MackeyGlassReport> {
    let start = MackeyGlassStart::new(config)?;
    let mut model = start.model.clone();
    let report = train_hybrid(
        &mut model,
        &start.data.train_x,
        &start.data.train_y,
        Some((&start.data.test_x, &start.data.test_y)),
        &config.hybrid,
        callback,
    )?;
    let best_epoch = report.best_epoch();
    start.report(config, model, report.history, best_epoch)
}

/// The Mackey-Glass experiment before hybrid training: Jang's data, the model with its initial
/// membership functions and least-squares consequents, and what least squares alone achieves.
#[derive(Clone, Debug)]
pub struct MackeyGlassStart {
    /// Jang's 500/500 split.
    pub data: MackeyGlassData<f32>,
    /// The model hybrid training starts from (consequents by least squares).
    pub model: Anfis<f32>,
    /// Its training RMSE.
    pub ls_only_train_rmse: f64,
    /// Its test RMSE.
    pub ls_only_test_rmse: f64,
    /// Its test NDEI.
    pub ls_only_test_ndei: f64,
    /// Its membership functions.
    pub initial_curves: Vec<MfCurve>,
}

impl MackeyGlassStart {
    /// Data, rules and functions from the training inputs (`config.partition`), consequents by
    /// least squares.
    ///
    /// # Errors
    /// As [`Anfis::new`] and [`Anfis::fit_consequents`].
    pub fn new(config: &MackeyGlassConfig) -> Result<Self> {
        let data = jang_dataset::<f32>()?;
        let anfis_config = AnfisConfig {
            kind: config.kind,
            partition: config.partition.clone(),
        };
        let mut model =
            Anfis::<f32>::new(&anfis_config, &data.train_x, &mut optim::rng(config.seed))?;
        model.fit_consequents(&data.train_x, &data.train_y, config.hybrid.ridge)?;
        let ls_train = model.predict(&data.train_x)?.output;
        let ls_test = model.predict(&data.test_x)?.output;
        Ok(MackeyGlassStart {
            ls_only_train_rmse: rmse(&ls_train, &data.train_y)?,
            ls_only_test_rmse: rmse(&ls_test, &data.test_y)?,
            ls_only_test_ndei: ndei(&ls_test, &data.test_y)?,
            initial_curves: model.membership_curves(config.curve_points),
            model,
            data,
        })
    }

    /// The report on `model` after hybrid training (`history`, the epoch from 1 whose
    /// parameters it holds).
    ///
    /// # Errors
    /// As [`Anfis::predict`].
    pub fn report(
        self,
        config: &MackeyGlassConfig,
        model: Anfis<f32>,
        history: History,
        best_epoch: usize,
    ) -> Result<MackeyGlassReport> {
        let data = &self.data;
        let train = model.predict(&data.train_x)?;
        let test = model.predict(&data.test_x)?;
        Ok(MackeyGlassReport {
            rules: model.num_rules(),
            parameters: model.num_premise_params() + model.num_consequent_params(),
            ls_only_train_rmse: self.ls_only_train_rmse,
            ls_only_test_rmse: self.ls_only_test_rmse,
            ls_only_test_ndei: self.ls_only_test_ndei,
            train_rmse: rmse(&train.output, &data.train_y)?,
            test_rmse: rmse(&test.output, &data.test_y)?,
            test_ndei: ndei(&test.output, &data.test_y)?,
            best_epoch,
            history,
            initial_curves: self.initial_curves,
            final_curves: model.membership_curves(config.curve_points),
            test_t: data.test_t.clone(),
            test_truth: data.test_y.iter().map(|&v| v as f64).collect(),
            test_prediction: test.output.iter().map(|&v| v as f64).collect(),
            test_out_of_range: test.out_of_range.len(),
            model,
        })
    }
}

/// Yearly sunspots, split as in the `rnn` chapter: targets of years up to `train_end` train,
/// `test` years test, errors as ARV (`MSE / variance` of the values in `variance_span`).
#[derive(Clone, Debug, PartialEq)]
pub struct SunspotsConfig {
    /// Lags (in years) of the ANFIS inputs (default `[1, 2, 9]`, the lags of the classic subset
    /// autoregression of the sunspot series, Subba Rao & Gabr 1984; a grid over 12 lags would
    /// have 4096 rules). Fixed before looking at the test years.
    pub lags: Vec<usize>,
    /// Membership functions per input (default 2).
    pub mfs_per_input: usize,
    /// Their kind (default generalized bell).
    pub kind: MfKind,
    /// Hybrid training (default 100 epochs).
    pub hybrid: HybridConfig,
    /// Order of the AR baseline (default 12).
    pub ar_order: usize,
    /// Last training year (default 1920).
    pub train_end: u32,
    /// Test years, inclusive (default 1921–1955).
    pub test: (u32, u32),
    /// Years whose variance normalizes the ARV, inclusive (default 1700–1979).
    pub variance_span: (u32, u32),
}

impl Default for SunspotsConfig {
    fn default() -> Self {
        SunspotsConfig {
            lags: vec![1, 2, 9],
            mfs_per_input: 2,
            kind: MfKind::Bell,
            hybrid: HybridConfig {
                epochs: 100,
                ..HybridConfig::default()
            },
            ar_order: 12,
            train_end: 1920,
            test: (1921, 1955),
            variance_span: (1700, 1979),
        }
    }
}

/// What [`sunspots`] measured.
#[derive(Clone, Debug)]
pub struct SunspotsReport {
    /// ANFIS ARV on the training targets.
    pub anfis_train_arv: f64,
    /// ANFIS ARV on the test years.
    pub anfis_test_arv: f64,
    /// AR(`ar_order`) least-squares ARV on the training targets.
    pub ar_train_arv: f64,
    /// AR ARV on the test years.
    pub ar_test_arv: f64,
    /// ANFIS ARV on the test years from least squares alone (the initial functions).
    pub anfis_ls_only_test_arv: f64,
    /// `(year, actual, ANFIS, AR)` for each test year.
    pub test_predictions: Vec<(u32, f64, f64, f64)>,
    /// Test inputs outside the training range (warnings).
    pub test_out_of_range: usize,
    /// The learning curve (see [`train_hybrid`]).
    pub history: History,
    /// The trained model.
    pub model: Anfis<f64>,
}

/// Population variance.
fn variance(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n
}

/// `MSE / variance`.
pub fn arv(prediction: &[f64], truth: &[f64], variance: f64) -> f64 {
    let mse = prediction
        .iter()
        .zip(truth)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / truth.len().max(1) as f64;
    mse / variance
}

/// AR(`order`) by least squares: `x̂_t = a_0 + Σ_{k=1..p} a_k x_{t−k}` fitted on the targets
/// `fit` (indices into `series`); returns `[a_0, …, a_p]`.
///
/// # Errors
/// Targets before `order`, past the end, fewer than `order + 2`, or a singular system.
pub fn fit_ar(series: &[f64], order: usize, fit: std::ops::Range<usize>) -> Result<Vec<f64>> {
    if fit.start < order || fit.end > series.len() || fit.len() < order + 2 {
        return Err(Error::Data(format!(
            "fit_ar: targets {fit:?} do not allow an AR({order}) fit on {} values",
            series.len()
        )));
    }
    let a = Mat::<f64>::from_fn(fit.len(), order + 1, |r, c| {
        if c == 0 {
            1.0
        } else {
            series[fit.start + r - c]
        }
    });
    let t = Mat::<f64>::from_fn(fit.len(), 1, |r, _| series[fit.start + r]);
    let svd = a.svd(true, true);
    let coef = svd.solve(&t, 1e-12).map_err(|e| Error::Numerical {
        context: "fit_ar".into(),
        reason: e.to_string(),
    })?;
    Ok(coef.iter().copied().collect())
}

/// AR prediction of `series[t]` from the values before it.
pub fn predict_ar(coefficients: &[f64], series: &[f64], t: usize) -> f64 {
    coefficients[0]
        + coefficients[1..]
            .iter()
            .enumerate()
            .map(|(k, a)| a * series[t - k - 1])
            .sum::<f64>()
}

/// Trains ANFIS (hybrid, in `f64`) and the AR baseline on yearly sunspots. Both fit the same
/// training targets: the years from `1700 + max(ar_order, max lag)` to `train_end`.
///
/// The inputs are the raw sunspot numbers (0–190), so the premise step `κ` (a length in input
/// units) is small next to the initial bell widths (`a ≈ 77`): hybrid training moves the premises
/// gently. With the series scaled to `[0, 1]` by the training maximum the same `κ` is 150 times
/// larger relative to the functions and the 8-rule model overfits (measured: training ARV 0.075,
/// test ARV 1.63 after 100 epochs with lags 1, 2, 9), so the series is left unscaled.
///
/// # Errors
/// Years missing from the series, mismatched lengths, and as [`train_hybrid`].
pub fn sunspots(
    config: &SunspotsConfig,
    years: &[u32],
    values: &[f64],
    callback: &mut dyn FnMut(Progress<'_>),
) -> Result<SunspotsReport> {
    if years.len() != values.len() {
        return Err(Error::Data(format!(
            "sunspots: {} years but {} values",
            years.len(),
            values.len()
        )));
    }
    let index_of = |y: u32| {
        years
            .iter()
            .position(|&v| v == y)
            .ok_or_else(|| Error::Data(format!("sunspots: year {y} missing")))
    };
    let max_lag = config.lags.iter().copied().max().unwrap_or(0);
    if config.lags.is_empty() || config.lags.contains(&0) {
        return Err(Error::hyper(
            "lags",
            format!("{:?}", config.lags),
            "need at least one lag, each at least 1",
        ));
    }
    let first = config.ar_order.max(max_lag);
    let train = first..index_of(config.train_end)? + 1;
    let test = index_of(config.test.0)?..index_of(config.test.1)? + 1;
    let var =
        variance(&values[index_of(config.variance_span.0)?..=index_of(config.variance_span.1)?]);

    let ar = fit_ar(values, config.ar_order, train.clone())?;
    let ar_at =
        |r: std::ops::Range<usize>| r.map(|t| predict_ar(&ar, values, t)).collect::<Vec<_>>();
    let ar_train_arv = arv(&ar_at(train.clone()), &values[train.clone()], var);
    let ar_test = ar_at(test.clone());
    let ar_test_arv = arv(&ar_test, &values[test.clone()], var);

    let window = |r: std::ops::Range<usize>| {
        let x = Mat::<f64>::from_fn(config.lags.len(), r.len(), |i, j| {
            values[r.start + j - config.lags[i]]
        });
        let y = Mat::<f64>::from_fn(1, r.len(), |_, j| values[r.start + j]);
        (x, y)
    };
    let (x_train, y_train) = window(train.clone());
    let (x_test, _) = window(test.clone());
    let mut model = Anfis::<f64>::new(
        &AnfisConfig {
            kind: config.kind,
            partition: Partition::Grid(vec![config.mfs_per_input]),
        },
        &x_train,
        &mut optim::rng(0),
    )?;
    model.fit_consequents(&x_train, &y_train, config.hybrid.ridge)?;
    let ls_test: Vec<f64> = model.predict(&x_test)?.output.iter().copied().collect();
    let anfis_ls_only_test_arv = arv(&ls_test, &values[test.clone()], var);
    let report = train_hybrid(
        &mut model,
        &x_train,
        &y_train,
        None,
        &config.hybrid,
        callback,
    )?;
    let p_train: Vec<f64> = model.predict(&x_train)?.output.iter().copied().collect();
    let p_test = model.predict(&x_test)?;
    let net_test: Vec<f64> = p_test.output.iter().copied().collect();
    let test_predictions = test
        .clone()
        .enumerate()
        .map(|(k, t)| (years[t], values[t], net_test[k], ar_test[k]))
        .collect();
    Ok(SunspotsReport {
        anfis_train_arv: arv(&p_train, &values[train.clone()], var),
        anfis_test_arv: arv(&net_test, &values[test.clone()], var),
        ar_train_arv,
        ar_test_arv,
        anfis_ls_only_test_arv,
        test_predictions,
        test_out_of_range: p_test.out_of_range.len(),
        history: report.history,
        model,
    })
}
