//! Test functions for optimizers, and the paths optimizers take on them (notes §5.1–5.2:
//! ill-conditioning, and how momentum and adaptive steps cope with it).
//!
//! | function | `f(x)` | minimum | why it is instructive |
//! |---|---|---|---|
//! | [`Rosenbrock`] | `(a − x₁)² + b(x₂ − x₁²)²` (`a = 1`, `b = 100`) | `(a, a²)`, `f = 0` | a curved, narrow valley: the Hessian's condition number is about 2500 at the minimum, and the direction of the valley keeps turning |
//! | [`Quadratic`] | `½(x₁² + κ x₂²)` | `0` | the simplest ill-conditioned problem; plain gradient descent needs `O(κ)` steps, momentum `O(√κ)` |
//! | [`StrictSaddle`] | `½x₁² − ½x₂² + ¼x₂⁴` | `(0, ±1)`, `f = −¼` | a strict saddle at the origin (Hessian `diag(1, −1)`): §5.1's "main obstacle in high dimensions" in two |
//!
//! [`descend`] runs any [`Optimizer`] on a [`TestFunction`] through a [`Point`] (a model whose one
//! parameter is the position) and records the [`Path`]: every iterate and its value, and the
//! first iteration within a tolerance of the minimum. [`rosenbrock_race`] is the race the
//! `rosenbrock` example prints and the tour plots. [`escape_saddle`] runs an optimizer from near a
//! saddle, with or without gradient noise, and records when it leaves.
//!
//! ```
//! use optim::testfns::{Rosenbrock, descend};
//! let mut adam = optim::Adam::new(0.02).unwrap();
//! let path = descend(&Rosenbrock::default(), &mut adam, &[-1.2, 1.0], 1e-4, 20_000).unwrap();
//! assert!(path.converged_at.is_some());
//! assert!(path.values.last().unwrap() < &1e-8);
//! ```

use crate::{Adagrad, Adam, Mat, Optimizer, Param, Parameters, Result, RmsProp, Sgd};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A differentiable function of a point, with a known minimizer.
pub trait TestFunction {
    /// A short name for reports.
    fn name(&self) -> String;
    /// `f(x)`.
    fn value(&self, x: &[f64]) -> f64;
    /// `∇f(x)` into `grad` (same length as `x`).
    fn gradient(&self, x: &[f64], grad: &mut [f64]);
    /// The minimizer `x*`.
    fn minimizer(&self) -> Vec<f64>;
}

/// Rosenbrock's banana function `f(x) = (a − x₁)² + b(x₂ − x₁²)²`, minimum `f = 0` at `(a, a²)`.
///
/// `∇f = (−2(a − x₁) − 4b x₁ (x₂ − x₁²),  2b (x₂ − x₁²))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rosenbrock {
    /// `a` (default 1).
    pub a: f64,
    /// `b` (default 100).
    pub b: f64,
}

impl Default for Rosenbrock {
    fn default() -> Self {
        Rosenbrock { a: 1.0, b: 100.0 }
    }
}

impl TestFunction for Rosenbrock {
    fn name(&self) -> String {
        format!("Rosenbrock (a = {}, b = {})", self.a, self.b)
    }
    fn value(&self, x: &[f64]) -> f64 {
        (self.a - x[0]).powi(2) + self.b * (x[1] - x[0] * x[0]).powi(2)
    }
    fn gradient(&self, x: &[f64], grad: &mut [f64]) {
        let valley = x[1] - x[0] * x[0];
        grad[0] = -2.0 * (self.a - x[0]) - 4.0 * self.b * x[0] * valley;
        grad[1] = 2.0 * self.b * valley;
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![self.a, self.a * self.a]
    }
}

/// The ill-conditioned quadratic `f(x) = ½(x₁² + κ x₂²)`, minimum `0` at the origin;
/// `μ = 1`, `L = κ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadratic {
    /// Condition number `κ ≥ 1`.
    pub kappa: f64,
}

impl TestFunction for Quadratic {
    fn name(&self) -> String {
        format!("quadratic (kappa = {})", self.kappa)
    }
    fn value(&self, x: &[f64]) -> f64 {
        0.5 * (x[0] * x[0] + self.kappa * x[1] * x[1])
    }
    fn gradient(&self, x: &[f64], grad: &mut [f64]) {
        grad[0] = x[0];
        grad[1] = self.kappa * x[1];
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![0.0, 0.0]
    }
}

/// A function with a strict saddle: `f(x) = ½x₁² − ½x₂² + ¼x₂⁴`.
///
/// `∇f = (x₁, −x₂ + x₂³)`; critical points: the saddle `(0, 0)` with `f = 0` and Hessian
/// `diag(1, −1)` (`x₁` the stable direction, `x₂` the unstable one), and the two minima
/// `(0, ±1)` with `f = −¼` ([`TestFunction::minimizer`] names `(0, 1)`).
///
/// Near the saddle, gradient descent with step `η` multiplies `x₂` by `1 + η` per step and `x₁`
/// by `1 − η`: started at `(ε, εδ)` it needs about `ln(c/(εδ)) / ln(1 + η)` steps to leave — a
/// number that grows like `ln(1/δ)`, and is infinite at `δ = 0`, where `x₂` stays exactly 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StrictSaddle;

impl StrictSaddle {
    /// The saddle point `(0, 0)`.
    pub const SADDLE: [f64; 2] = [0.0, 0.0];
}

impl TestFunction for StrictSaddle {
    fn name(&self) -> String {
        "strict saddle ½x₁² − ½x₂² + ¼x₂⁴".into()
    }
    fn value(&self, x: &[f64]) -> f64 {
        0.5 * x[0] * x[0] - 0.5 * x[1] * x[1] + 0.25 * x[1].powi(4)
    }
    fn gradient(&self, x: &[f64], grad: &mut [f64]) {
        grad[0] = x[0];
        grad[1] = -x[1] + x[1].powi(3);
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![0.0, 1.0]
    }
}

/// One run of [`escape_saddle`].
#[derive(Debug, Clone, PartialEq)]
pub struct Escape {
    /// `f(x_k)` for `k = 0, 1, …` (the start included).
    pub values: Vec<f64>,
    /// The first `k` with `f(x_k) ≤ f(saddle) − drop`, if reached.
    pub escaped_at: Option<usize>,
}

/// Runs `optimizer` on `f` from `start` for at most `max_iters` steps, each on the gradient plus
/// `noise · ξ`, `ξ ~ N(0, I)` drawn from `rng` (`noise = 0`: plain gradient descent; `noise > 0`:
/// a stand-in for SGD's mini-batch noise, or perturbed gradient descent), and stops at the first
/// step whose value is at least `drop` below `f(saddle)`: the run has left the saddle.
///
/// # Errors
/// Only if the optimizer rejects the model (it cannot here).
#[allow(clippy::too_many_arguments)]
pub fn escape_saddle(
    f: &dyn TestFunction,
    saddle: &[f64],
    optimizer: &mut dyn Optimizer<f64>,
    start: &[f64],
    noise: f64,
    drop: f64,
    max_iters: usize,
    rng: &mut impl Rng,
) -> Result<Escape> {
    let threshold = f.value(saddle) - drop;
    let mut point = Point::new(start);
    let mut run = Escape {
        values: vec![f.value(start)],
        escaped_at: (f.value(start) <= threshold).then_some(0),
    };
    for k in 1..=max_iters {
        if run.escaped_at.is_some() {
            break;
        }
        f.gradient(point.x.value.as_slice(), point.x.grad.as_mut_slice());
        if noise > 0.0 {
            for g in point.x.grad.iter_mut() {
                let xi: f64 = StandardNormal.sample(rng);
                *g += noise * xi;
            }
        }
        optimizer.step(&mut point)?;
        let value = f.value(point.x.value.as_slice());
        if !value.is_finite() {
            break;
        }
        run.values.push(value);
        if value <= threshold {
            run.escaped_at = Some(k);
        }
    }
    Ok(run)
}

/// A position as a model: one parameter named `x`, a column vector, so that any [`Optimizer`]
/// can move it.
#[derive(Debug, Clone)]
pub struct Point {
    /// The position (`dim x 1`) and the gradient there.
    pub x: Param<f64>,
}

impl Point {
    /// A point at `x`.
    pub fn new(x: &[f64]) -> Self {
        Point {
            x: Param::vector(Mat::from_column_slice(x.len(), 1, x)),
        }
    }
}

impl Parameters<f64> for Point {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
        visit("x", &mut self.x);
    }
}

/// The iterates of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// `x_0, x_1, …, x_n` (the start included).
    pub points: Vec<Vec<f64>>,
    /// `f(x_k)` for each point.
    pub values: Vec<f64>,
    /// The first `k` with `‖x_k − x*‖ < tolerance`, if reached.
    pub converged_at: Option<usize>,
}

impl Path {
    /// At most `max_points` points (plus the last), evenly spaced in iteration, as
    /// `(iteration, point, value)`: enough to draw the path without every one of 100 000 steps.
    pub fn subsample(&self, max_points: usize) -> Vec<(usize, &[f64], f64)> {
        let n = self.points.len();
        let stride = n.div_ceil(max_points.max(1)).max(1);
        let mut out: Vec<_> = (0..n)
            .step_by(stride)
            .map(|k| (k, self.points[k].as_slice(), self.values[k]))
            .collect();
        if n > 0 && out.last().map(|l| l.0) != Some(n - 1) {
            out.push((n - 1, &self.points[n - 1], self.values[n - 1]));
        }
        out
    }
}

/// Runs `optimizer` on `f` from `start` until `‖x − x*‖ < tolerance` or `max_iters` steps,
/// recording every iterate. Stops early (without error) if the iterate becomes non-finite, so a
/// diverging configuration shows as a short path that did not converge.
///
/// # Errors
/// Only if the optimizer rejects the model (it cannot here, the model keeps its shape).
pub fn descend(
    f: &dyn TestFunction,
    optimizer: &mut dyn Optimizer<f64>,
    start: &[f64],
    tolerance: f64,
    max_iters: usize,
) -> Result<Path> {
    let target = f.minimizer();
    let distance = |x: &[f64]| {
        x.iter()
            .zip(&target)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    };
    let mut point = Point::new(start);
    let mut path = Path {
        points: vec![start.to_vec()],
        values: vec![f.value(start)],
        converged_at: (distance(start) < tolerance).then_some(0),
    };
    for k in 1..=max_iters {
        if path.converged_at.is_some() {
            break;
        }
        f.gradient(point.x.value.as_slice(), point.x.grad.as_mut_slice());
        optimizer.step(&mut point)?;
        let x = point.x.value.as_slice();
        if !x.iter().all(|v| v.is_finite()) {
            break;
        }
        path.points.push(x.to_vec());
        path.values.push(f.value(x));
        if distance(x) < tolerance {
            path.converged_at = Some(k);
        }
    }
    Ok(path)
}

/// One contestant of [`rosenbrock_race`]: the optimizer, its hyperparameters and its path.
#[derive(Debug, Clone)]
pub struct RaceEntry {
    /// Optimizer name (`SGD`, `momentum`, `Nesterov`, `AdaGrad`, `RMSProp`, `Adam`).
    pub name: &'static str,
    /// Its hyperparameters, as PyTorch would spell them.
    pub hyperparameters: String,
    /// The run.
    pub path: Path,
}

/// The start of the classic Rosenbrock race.
pub const ROSENBROCK_START: [f64; 2] = [-1.2, 1.0];

/// Races SGD, heavy-ball momentum, Nesterov, AdaGrad, RMSProp and Adam on [`Rosenbrock`] from
/// [`ROSENBROCK_START`] to `‖x − (1, 1)‖ < tolerance`, at most `max_iters` steps each.
///
/// The hyperparameters come from a sweep of learning rates from `1e-5` to `1` (1, 1.5, 2, 3, 5, 7
/// per decade; `cargo run --release -p inductive-optim --example rosenbrock -- --sweep` prints it): each
/// optimizer gets the fastest rate of the grid that is stable at the minimum. There the Hessian
/// `[[802, −400], [−400, 200]]` has `λ_max ≈ 1001.6` and `λ_min ≈ 0.4` (condition number about
/// 2500), and on a quadratic with curvature `λ` gradient descent is stable for `ηλ < 2`, heavy
/// ball for `ηλ < 2(1 + β)`, Nesterov (PyTorch's form) for `ηλ < 2(1 + β)/(1 + 2β)`. (SGD at
/// `η = 2e-3`, just above its bound, still reaches the tolerance, before the unstable direction
/// has grown: luck, not a method. Momentum at `3e-3`, inside the bound at the minimum, diverges,
/// because the curvature on the way, about 1330 at the start, is larger.) The adaptive methods
/// have no such bound; for them the fastest rate of the grid is used.
///
/// | optimizer | hyperparameters | stability bound on `η` |
/// |---|---|---|
/// | SGD | `lr = 1.5e-3` | `2.0e-3` |
/// | momentum | `lr = 2e-3, momentum = 0.95` | `3.9e-3` |
/// | Nesterov | `lr = 1e-3, momentum = 0.95, nesterov` | `1.3e-3` |
/// | AdaGrad | `lr = 0.7` | |
/// | RMSProp | `lr = 1e-4, alpha = 0.99, centered` | |
/// | Adam | `lr = 0.7, betas = (0.9, 0.999)` | |
///
/// # Errors
/// Never in practice (see [`descend`]).
pub fn rosenbrock_race(tolerance: f64, max_iters: usize) -> Result<Vec<RaceEntry>> {
    let f = Rosenbrock::default();
    let contestants: Vec<(&'static str, String, Box<dyn Optimizer<f64>>)> = vec![
        ("SGD", "lr=1.5e-3".into(), Box::new(Sgd::new(1.5e-3)?)),
        (
            "momentum",
            "lr=2e-3, momentum=0.95".into(),
            Box::new(Sgd::new(2e-3)?.momentum(0.95)?),
        ),
        (
            "Nesterov",
            "lr=1e-3, momentum=0.95, nesterov".into(),
            Box::new(Sgd::new(1e-3)?.momentum(0.95)?.nesterov()?),
        ),
        ("AdaGrad", "lr=0.7".into(), Box::new(Adagrad::new(0.7)?)),
        (
            "RMSProp",
            "lr=1e-4, alpha=0.99, centered".into(),
            Box::new(RmsProp::new(1e-4)?.centered()),
        ),
        (
            "Adam",
            "lr=0.7, betas=(0.9, 0.999)".into(),
            Box::new(Adam::new(0.7)?),
        ),
    ];
    contestants
        .into_iter()
        .map(|(name, hyperparameters, mut opt)| {
            let path = descend(&f, opt.as_mut(), &ROSENBROCK_START, tolerance, max_iters)?;
            Ok(RaceEntry {
                name,
                hyperparameters,
                path,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_centred_differences() {
        let fs: [&dyn TestFunction; 3] = [
            &Rosenbrock::default(),
            &Quadratic { kappa: 100.0 },
            &StrictSaddle,
        ];
        for f in fs {
            for x in [[-1.2, 1.0], [0.3, -0.7], [1.0, 1.0]] {
                let mut g = [0.0; 2];
                f.gradient(&x, &mut g);
                for i in 0..2 {
                    let h = 1e-6;
                    let (mut up, mut down) = (x, x);
                    up[i] += h;
                    down[i] -= h;
                    let numeric = (f.value(&up) - f.value(&down)) / (2.0 * h);
                    assert!(
                        (numeric - g[i]).abs() < 1e-5 * (1.0 + g[i].abs()),
                        "{}",
                        f.name()
                    );
                }
            }
            let mut g = [1.0; 2];
            f.gradient(&f.minimizer(), &mut g);
            assert_eq!(g, [0.0, 0.0], "{}", f.name());
        }
    }

    #[test]
    fn subsample_keeps_first_and_last() {
        let path = Path {
            points: (0..10).map(|k| vec![k as f64]).collect(),
            values: (0..10).map(|k| k as f64).collect(),
            converged_at: None,
        };
        let s = path.subsample(4);
        assert_eq!(s.first().unwrap().0, 0);
        assert_eq!(s.last().unwrap().0, 9);
        assert!(s.len() <= 5);
    }
}
