//! The Mackey-Glass chaotic time series and Jang's prediction benchmark.
//!
//! The Mackey-Glass delay differential equation (Mackey & Glass, 1977)
//!
//! ```text
//! dx/dt = β x(t − τ) / (1 + x(t − τ)^n) − γ x(t),    β = 0.2, γ = 0.1, n = 10
//! ```
//!
//! is chaotic for `τ ≥ 17`. Jang (1993, ANFIS) made it the standard benchmark for function
//! approximators with local units (RBF networks, fuzzy networks): with `τ = 17`, `x(0) = 1.2` and
//! `x(t) = 0` for `t < 0`, predict `x(t + 6)` from `x(t − 18), x(t − 12), x(t − 6), x(t)` for
//! `t = 118 … 1117`; the first 500 rows train, the last 500 test. Errors are reported as RMSE and
//! as the non-dimensional error index `NDEI = RMSE / std(target)`.
//!
//! [`series`] integrates the equation the way Jang's `mgdata.m` does: fourth-order Runge-Kutta with
//! step `0.1`, the delayed value `x(t − τ)` read from the already integrated grid at the start of each
//! step and held for the four stages (with `τ / Δt = 170` an integer, that value is exactly on the
//! grid), and the result sampled at integer `t`.
//!
//! ```
//! use classic::mackey_glass::{jang_dataset, rmse};
//! let data = jang_dataset::<f64>().unwrap();
//! assert_eq!(data.train_x.shape(), (4, 500));
//! assert_eq!(data.test_y.shape(), (1, 500));
//! // predicting "no change", x(t + 6) ≈ x(t), is a weak baseline
//! let last = data.test_x.rows(3, 1).into_owned();
//! let baseline = rmse(&last, &data.test_y).unwrap();
//! assert!(baseline > 0.05 && baseline < 0.3);
//! ```

use optim::{Error, Float, Mat, Result};

/// Parameters of the Mackey-Glass equation and of its numerical integration.
///
/// The defaults are Jang's setup: `τ = 17`, `x(0) = 1.2`, `β = 0.2`, `γ = 0.1`, `n = 10`, RK4 with
/// step `0.1`.
#[derive(Clone, Debug, PartialEq)]
pub struct MackeyGlass {
    /// Delay `τ` (default 17; chaotic from about 17 upwards). `τ / step` must be an integer.
    pub tau: f64,
    /// Initial value `x(0)` (default 1.2); `x(t) = 0` for `t < 0`.
    pub x0: f64,
    /// Production rate `β` (default 0.2).
    pub beta: f64,
    /// Decay rate `γ` (default 0.1).
    pub gamma: f64,
    /// Exponent `n` of the Hill function (default 10).
    pub exponent: f64,
    /// Runge-Kutta step `Δt` (default 0.1); `1 / step` must be an integer so that integer times
    /// fall on the grid.
    pub step: f64,
}

impl Default for MackeyGlass {
    fn default() -> Self {
        Self {
            tau: 17.0,
            x0: 1.2,
            beta: 0.2,
            gamma: 0.1,
            exponent: 10.0,
            step: 0.1,
        }
    }
}

impl MackeyGlass {
    /// The right-hand side `β x_τ / (1 + x_τ^n) − γ x`.
    fn derivative(&self, x: f64, x_tau: f64) -> f64 {
        self.beta * x_tau / (1.0 + x_tau.powf(self.exponent)) - self.gamma * x
    }

    /// The series sampled at `t = 0, 1, …, len − 1`.
    ///
    /// Errors if a parameter is not finite, the step is not positive, the delay is negative, or
    /// `τ / step` or `1 / step` is not (within `1e-9`) an integer.
    pub fn generate(&self, len: usize) -> Result<Vec<f64>> {
        for (name, v) in [
            ("tau", self.tau),
            ("x0", self.x0),
            ("beta", self.beta),
            ("gamma", self.gamma),
            ("exponent", self.exponent),
        ] {
            if !v.is_finite() {
                return Err(Error::hyper(name, v, "must be finite"));
            }
        }
        optim::check_positive("step", self.step)?;
        if self.tau < 0.0 {
            return Err(Error::hyper("tau", self.tau, "must be non-negative"));
        }
        let per_unit = integer_ratio(1.0, self.step)
            .ok_or_else(|| Error::hyper("step", self.step, "1 / step must be an integer"))?;
        let delay = integer_ratio(self.tau, self.step)
            .ok_or_else(|| Error::hyper("tau", self.tau, "tau / step must be an integer"))?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let steps = (len - 1) * per_unit;
        let h = self.step;
        let mut grid = Vec::with_capacity(steps + 1);
        grid.push(self.x0);
        for i in 0..steps {
            // x(t_i − τ), zero before t = 0, held over the four stages as in Jang's mgdata.m.
            let x_tau = if i >= delay { grid[i - delay] } else { 0.0 };
            let x = grid[i];
            let k1 = h * self.derivative(x, x_tau);
            let k2 = h * self.derivative(x + 0.5 * k1, x_tau);
            let k3 = h * self.derivative(x + 0.5 * k2, x_tau);
            let k4 = h * self.derivative(x + k3, x_tau);
            grid.push(x + (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0);
        }
        Ok(grid.into_iter().step_by(per_unit).collect())
    }
}

/// `a / b` as an integer if it is one (within `1e-9`).
fn integer_ratio(a: f64, b: f64) -> Option<usize> {
    let r = a / b;
    let n = r.round();
    ((r - n).abs() < 1e-9 && n >= 0.0).then_some(n as usize)
}

/// The Mackey-Glass series in Jang's setup ([`MackeyGlass::default`]) at `t = 0, 1, …, len − 1`.
pub fn series(len: usize) -> Vec<f64> {
    MackeyGlass::default()
        .generate(len)
        .expect("the default parameters are valid")
}

/// The lags of Jang's inputs: `x(t − 18), x(t − 12), x(t − 6), x(t)`.
pub const JANG_LAGS: [usize; 4] = [18, 12, 6, 0];
/// How far ahead Jang predicts: `x(t + 6)`.
pub const JANG_HORIZON: usize = 6;
/// The first and last `t` of Jang's 1000 rows.
pub const JANG_T: (usize, usize) = (118, 1117);
/// The number of training rows (the first 500); the rest test.
pub const JANG_TRAIN: usize = 500;

/// Jang's benchmark: inputs, targets and the times they belong to, split 500 / 500.
///
/// # Shapes
/// `train_x`, `test_x`: `4 x 500` (rows `x(t − 18), x(t − 12), x(t − 6), x(t)`);
/// `train_y`, `test_y`: `1 x 500` (`x(t + 6)`).
#[derive(Clone, Debug)]
pub struct MackeyGlassData<F: Float> {
    /// Training inputs, one column per `t = 118 … 617`.
    pub train_x: Mat<F>,
    /// Training targets `x(t + 6)`.
    pub train_y: Mat<F>,
    /// Test inputs, one column per `t = 618 … 1117`.
    pub test_x: Mat<F>,
    /// Test targets.
    pub test_y: Mat<F>,
    /// `t` of each training column.
    pub train_t: Vec<usize>,
    /// `t` of each test column.
    pub test_t: Vec<usize>,
    /// The whole series `x(0) … x(1123)` (what a plot of the series draws).
    pub series: Vec<f64>,
}

/// Builds delay-embedding inputs `x(t − lag)` for each lag and targets `x(t + horizon)` for
/// `t` in `times`.
///
/// # Shapes
/// Returns `(lags.len() x times.len(), 1 x times.len())`.
///
/// Errors if some `t − lag` is negative or `t + horizon` is past the end of `series`.
pub fn embed<F: Float>(
    series: &[f64],
    lags: &[usize],
    horizon: usize,
    times: &[usize],
) -> Result<(Mat<F>, Mat<F>)> {
    let mut x = Mat::<F>::zeros(lags.len(), times.len());
    let mut y = Mat::<F>::zeros(1, times.len());
    for (j, &t) in times.iter().enumerate() {
        if t + horizon >= series.len() {
            return Err(Error::Data(format!(
                "embed: t + horizon = {} is past the end of a series of length {}",
                t + horizon,
                series.len()
            )));
        }
        for (i, &lag) in lags.iter().enumerate() {
            let s = t.checked_sub(lag).ok_or_else(|| {
                Error::Data(format!(
                    "embed: t − lag = {t} − {lag} is before the series starts"
                ))
            })?;
            x[(i, j)] = F::of(series[s]);
        }
        y[(0, j)] = F::of(series[t + horizon]);
    }
    Ok((x, y))
}

/// Jang's Mackey-Glass data set: `t = 118 … 1117`, inputs `x(t − 18), x(t − 12), x(t − 6), x(t)`,
/// target `x(t + 6)`, the first 500 rows for training and the last 500 for testing.
pub fn jang_dataset<F: Float>() -> Result<MackeyGlassData<F>> {
    let series = series(JANG_T.1 + JANG_HORIZON + 1);
    let times: Vec<usize> = (JANG_T.0..=JANG_T.1).collect();
    let (train_t, test_t) = times.split_at(JANG_TRAIN);
    let (train_x, train_y) = embed(&series, &JANG_LAGS, JANG_HORIZON, train_t)?;
    let (test_x, test_y) = embed(&series, &JANG_LAGS, JANG_HORIZON, test_t)?;
    Ok(MackeyGlassData {
        train_x,
        train_y,
        test_x,
        test_y,
        train_t: train_t.to_vec(),
        test_t: test_t.to_vec(),
        series,
    })
}

fn check_pair<F: Float>(prediction: &Mat<F>, target: &Mat<F>, context: &str) -> Result<()> {
    if prediction.shape() != target.shape() {
        return Err(Error::shape(context, target.shape(), prediction.shape()));
    }
    if target.is_empty() {
        return Err(Error::Data(format!("{context}: empty target")));
    }
    Ok(())
}

/// Root-mean-square error `sqrt(mean (ŷ − y)²)` over every entry, accumulated in `f64`.
///
/// # Shapes
/// `prediction`, `target`: any equal shape, not empty.
pub fn rmse<F: Float>(prediction: &Mat<F>, target: &Mat<F>) -> Result<f64> {
    check_pair(prediction, target, "rmse")?;
    let sum: f64 = prediction
        .iter()
        .zip(target.iter())
        .map(|(&p, &t)| (p.to_f64() - t.to_f64()).powi(2))
        .sum();
    Ok((sum / target.len() as f64).sqrt())
}

/// Population standard deviation `sqrt(mean (y − ȳ)²)` of every entry, in `f64`.
pub fn std_dev<F: Float>(values: &Mat<F>) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::Data("std_dev: empty".into()));
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|v| v.to_f64()).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|v| (v.to_f64() - mean).powi(2))
        .sum::<f64>()
        / n;
    Ok(var.sqrt())
}

/// Non-dimensional error index `NDEI = RMSE / std(target)` (Jang; Crowder), the standard deviation
/// being that of the target series the error is measured on (population form).
///
/// Errors if the shapes differ, the target is empty or constant.
pub fn ndei<F: Float>(prediction: &Mat<F>, target: &Mat<F>) -> Result<f64> {
    let e = rmse(prediction, target)?;
    let s = std_dev(target)?;
    if s <= 0.0 {
        return Err(Error::Numerical {
            context: "ndei".into(),
            reason: "the target is constant (zero standard deviation)".into(),
        });
    }
    Ok(e / s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_x0_and_decays_before_the_delay_kicks_in() {
        let s = series(30);
        assert_eq!(s[0], 1.2);
        // for t < 17, x(t − τ) = 0, so dx/dt = −γ x: x(t) = 1.2 e^{−0.1 t} (RK4 is exact to ~1e-9)
        for t in 0..=17 {
            let exact = 1.2 * (-0.1 * t as f64).exp();
            assert!((s[t] - exact).abs() < 1e-8, "t = {t}: {} vs {exact}", s[t]);
        }
        // after the delay the production term pushes it back up
        assert!(s[25] > s[17]);
    }

    #[test]
    fn series_is_bounded_and_chaotic_looking() {
        let s = series(1124);
        let tail = &s[200..];
        let min = tail.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = tail.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        // the attractor of τ = 17 lives roughly in [0.2, 1.4]
        assert!(min > 0.1 && min < 0.5, "min {min}");
        assert!(max > 1.1 && max < 1.5, "max {max}");
        // not periodic with a short period
        let d: f64 = (0..200).map(|i| (s[600 + i] - s[650 + i]).abs()).sum();
        assert!(d > 1.0);
    }

    #[test]
    fn known_values_of_jangs_series() {
        // The same scheme written independently in Python/NumPy (the loop of Jang's mgdata.m, see
        // the module documentation) gives these values; pinned so that a change of the
        // integration scheme is noticed.
        let s = series(1124);
        for (t, v) in [
            (118, 1.141284351917448),
            (500, 0.9866685417841584),
            (1123, 0.9320265799540826),
        ] {
            assert!((s[t] - v).abs() < 1e-10, "x({t}) = {} vs {v}", s[t]);
        }
        // regenerating with a longer horizon does not change the prefix (the scheme is causal)
        let longer = series(1300);
        assert_eq!(&longer[..1124], &s[..]);
    }

    #[test]
    fn jang_dataset_layout() {
        let d = jang_dataset::<f64>().unwrap();
        let s = &d.series;
        assert_eq!(s.len(), 1124);
        assert_eq!(d.train_t.first(), Some(&118));
        assert_eq!(d.train_t.last(), Some(&617));
        assert_eq!(d.test_t.first(), Some(&618));
        assert_eq!(d.test_t.last(), Some(&1117));
        for (x, y, ts) in [
            (&d.train_x, &d.train_y, &d.train_t),
            (&d.test_x, &d.test_y, &d.test_t),
        ] {
            for (j, &t) in ts.iter().enumerate() {
                assert_eq!(x[(0, j)], s[t - 18]);
                assert_eq!(x[(1, j)], s[t - 12]);
                assert_eq!(x[(2, j)], s[t - 6]);
                assert_eq!(x[(3, j)], s[t]);
                assert_eq!(y[(0, j)], s[t + 6]);
            }
        }
    }

    #[test]
    fn rmse_and_ndei() {
        let y = Mat::from_row_slice(1, 4, &[1.0, 2.0, 3.0, 4.0]);
        let p = Mat::from_row_slice(1, 4, &[1.0, 2.0, 3.0, 6.0]);
        assert!((rmse(&p, &y).unwrap() - 1.0).abs() < 1e-15);
        let sd = (1.25f64).sqrt();
        assert!((std_dev(&y).unwrap() - sd).abs() < 1e-15);
        assert!((ndei(&p, &y).unwrap() - 1.0 / sd).abs() < 1e-15);
        assert!(rmse(&p, &Mat::zeros(1, 3)).is_err());
        assert!(rmse(&Mat::<f64>::zeros(1, 0), &Mat::zeros(1, 0)).is_err());
        assert!(ndei(&p, &Mat::from_element(1, 4, 2.0)).is_err());
    }

    #[test]
    fn bad_parameters_are_errors() {
        let bad = |m: MackeyGlass| m.generate(10).is_err();
        assert!(bad(MackeyGlass {
            step: 0.0,
            ..Default::default()
        }));
        assert!(bad(MackeyGlass {
            step: 0.3,
            ..Default::default()
        }));
        assert!(bad(MackeyGlass {
            tau: 17.05,
            ..Default::default()
        }));
        assert!(bad(MackeyGlass {
            x0: f64::NAN,
            ..Default::default()
        }));
        assert!(embed::<f64>(&series(20), &[18], 6, &[10]).is_err());
        assert!(embed::<f64>(&series(20), &[0], 6, &[15]).is_err());
    }
}
