//! The loss landscape seen through gradients, for any [`Trainable`] model (notes §5.1–5.2).
//!
//! §5.2 (随机梯度下降, *SGD*) says a mini-batch "approximates the true gradient" and that its
//! noise is both a problem and a regularizer. With `gᵢ = ∇ℓᵢ(θ)` the per-example gradients of `N`
//! examples and `ḡ = (1/N) Σᵢ gᵢ` the full gradient, a batch `S` of `B` examples drawn uniformly
//! *without replacement* gives `g_S = (1/B) Σ_{i∈S} gᵢ`, and
//!
//! - `E[g_S] = ḡ` (each example is in `S` with probability `B/N`): the estimate is **unbiased**;
//! - `E‖g_S − ḡ‖² = σ² · (N − B) / (B (N − 1))`, with `σ² = (1/N) Σᵢ ‖gᵢ − ḡ‖²` the spread of
//!   the per-example gradients: the variance falls as `1/B`, times the finite-population factor
//!   `(N − B)/(N − 1)`, which is 1 at `B = 1` and 0 at `B = N` (the full batch has no noise).
//!
//! [`per_example_gradients`], [`minibatch_gradient`], [`minibatch_variance`] and
//! [`finite_population_factor`] state this; `tests/landscape.rs` checks it on a network.
//!
//! §5.1 and §5.2 also speak of *sharp* and *flat* solutions: [`hessian_vector_product`] forms
//! `H v` by centred differences of gradients, and [`sharpness`] finds the largest Hessian
//! eigenvalue by power iteration on it — no Hessian is ever stored.
//!
//! §5.1 says saddle points, not local minima, are the main obstacle in high dimensions. Dauphin
//! et al. (2014) counted them: [`find_critical_point`] runs Newton's method on `∇f = 0` (which,
//! unlike gradient descent, is attracted by saddles too) from a start, forms the small model's
//! *dense* Hessian by differences of gradients ([`dense_hessian`]) and classifies the point by
//! its eigenvalues ([`CriticalPoint::kind`], [`CriticalPoint::index`]) — for models with few
//! parameters, since the Hessian has `P²` entries and costs `2P` gradients.
//!
//! These functions read and write the model's parameters as one flat vector in the order of
//! [`Parameters::visit_params`] ([`flat_params`], [`set_flat_params`]). Gradients are those
//! [`Trainable::train_batch`] leaves: of the batch's *mean* loss, in training mode. A model with
//! batch normalization couples the examples of a batch (its gradient is not a mean of
//! per-example gradients), and one with dropout draws noise; both are measured as they train,
//! with the training randomness of a fixed seed.
//!
//! ```
//! use optim::landscape::{finite_population_factor, minibatch_variance};
//! use optim::Mat;
//! // four examples with one-dimensional gradients 1, 2, 3, 6: mean 3, σ² = (4 + 1 + 0 + 9)/4
//! let g = Mat::from_row_slice(1, 4, &[1.0, 2.0, 3.0, 6.0]);
//! assert_eq!(minibatch_variance(&g, 1).unwrap(), 3.5);
//! assert_eq!(finite_population_factor(4, 2).unwrap(), 1.0 / 3.0);
//! assert_eq!(minibatch_variance(&g, 4).unwrap(), 0.0);
//! ```

use crate::train::Trainable;
use crate::{Error, Float, Mat, Parameters, Result, zero_grad};

/// Every parameter value of `model`, flattened in listing order (each matrix column-major).
pub fn flat_params<F: Float>(model: &mut dyn Parameters<F>) -> Vec<f64> {
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.extend(p.value.iter().map(|v| v.to_f64())));
    out
}

/// Every parameter gradient of `model`, flattened like [`flat_params`].
pub fn flat_grads<F: Float>(model: &mut dyn Parameters<F>) -> Vec<f64> {
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.extend(p.grad.iter().map(|v| v.to_f64())));
    out
}

/// Sets every parameter of `model` from the flat vector `theta` (the layout of
/// [`flat_params`]).
///
/// # Errors
/// If `theta`'s length is not the model's parameter count (nothing is changed then).
pub fn set_flat_params<F: Float>(model: &mut dyn Parameters<F>, theta: &[f64]) -> Result<()> {
    let count = crate::param_count(model);
    if theta.len() != count {
        return Err(Error::Shape {
            context: "set_flat_params".into(),
            expected: format!("{count} values"),
            got: format!("{}", theta.len()),
        });
    }
    let mut at = 0;
    model.visit_params(&mut |_, p| {
        for v in p.value.iter_mut() {
            *v = F::of(theta[at]);
            at += 1;
        }
    });
    Ok(())
}

/// `(loss, ∇θ loss)` of the mean loss on the examples `batch` of `data`, in training mode, with
/// training randomness (dropout) drawn from a generator seeded with `seed`.
///
/// # Errors
/// From the model ([`Trainable::train_batch`]), or a batch smaller than
/// [`Trainable::min_batch`].
pub fn batch_gradient<F: Float, M: Trainable<F>>(
    model: &mut M,
    data: &M::Data,
    batch: &[usize],
    seed: u64,
) -> Result<(f64, Vec<f64>)> {
    if batch.len() < model.min_batch() {
        return Err(Error::Data(format!(
            "batch_gradient: a batch of {} example(s); this model trains on at least {}",
            batch.len(),
            model.min_batch()
        )));
    }
    zero_grad(model);
    let loss = model.train_batch(data, batch, &mut crate::rng(seed))?;
    Ok((loss.loss, flat_grads(model)))
}

/// The full gradient `ḡ = ∇θ (1/N) Σᵢ ℓᵢ` over every example of `data` (one batch of all `N`).
///
/// # Errors
/// As [`batch_gradient`].
pub fn full_gradient<F: Float, M: Trainable<F>>(
    model: &mut M,
    data: &M::Data,
    seed: u64,
) -> Result<Vec<f64>> {
    let all: Vec<usize> = (0..model.examples(data)).collect();
    Ok(batch_gradient(model, data, &all, seed)?.1)
}

/// The per-example gradients `gᵢ = ∇θ ℓᵢ`, one column per example.
///
/// # Shapes
/// Returns `P x N` (`P` parameters, `N` examples).
///
/// # Errors
/// As [`batch_gradient`] (a model with batch normalization has no gradient of one example).
pub fn per_example_gradients<F: Float, M: Trainable<F>>(
    model: &mut M,
    data: &M::Data,
    seed: u64,
) -> Result<Mat<f64>> {
    let n = model.examples(data);
    let p = crate::param_count(model);
    let mut g = Mat::zeros(p, n);
    for i in 0..n {
        let (_, gi) = batch_gradient(model, data, &[i], seed)?;
        g.column_mut(i).copy_from_slice(&gi);
    }
    Ok(g)
}

/// The mini-batch gradient `g_S = (1/B) Σ_{i∈S} gᵢ` from the per-example gradients (columns of
/// `per_example`, `P x N`).
///
/// # Errors
/// An empty batch or an index outside `0..N`.
pub fn minibatch_gradient(per_example: &Mat<f64>, batch: &[usize]) -> Result<Vec<f64>> {
    let n = per_example.ncols();
    if batch.is_empty() {
        return Err(Error::Data("minibatch_gradient: empty batch".into()));
    }
    if let Some(&i) = batch.iter().find(|&&i| i >= n) {
        return Err(Error::Data(format!(
            "minibatch_gradient: example {i} of {n}"
        )));
    }
    let mut mean = vec![0.0; per_example.nrows()];
    for &i in batch {
        for (m, g) in mean.iter_mut().zip(per_example.column(i).iter()) {
            *m += g;
        }
    }
    let b = batch.len() as f64;
    mean.iter_mut().for_each(|m| *m /= b);
    Ok(mean)
}

/// The finite-population factor of sampling `B` of `N` without replacement, divided by `B`:
/// `(N − B) / (B (N − 1))`, so that `E‖g_S − ḡ‖² = σ² · factor` (`1` at `B = 1`, `0` at
/// `B = N`).
///
/// # Errors
/// Unless `1 ≤ B ≤ N` and `N ≥ 2`.
pub fn finite_population_factor(n: usize, b: usize) -> Result<f64> {
    if n < 2 || b == 0 || b > n {
        return Err(Error::Hyperparameter {
            name: "batch size".into(),
            value: format!("{b} of {n} examples"),
            reason: "needs 1 <= B <= N and N >= 2".into(),
        });
    }
    Ok((n - b) as f64 / (b as f64 * (n - 1) as f64))
}

/// The per-example spread `σ² = (1/N) Σᵢ ‖gᵢ − ḡ‖²` of the columns of `per_example`.
pub fn per_example_spread(per_example: &Mat<f64>) -> f64 {
    let n = per_example.ncols().max(1) as f64;
    let mean = per_example.column_mean();
    per_example
        .column_iter()
        .map(|g| (g - &mean).norm_squared())
        .sum::<f64>()
        / n
}

/// The variance `E‖g_S − ḡ‖² = σ² (N − B) / (B (N − 1))` of the mini-batch gradient of `B`
/// examples drawn without replacement, from the per-example gradients (`P x N`).
///
/// # Errors
/// As [`finite_population_factor`].
pub fn minibatch_variance(per_example: &Mat<f64>, b: usize) -> Result<f64> {
    Ok(per_example_spread(per_example) * finite_population_factor(per_example.ncols(), b)?)
}

/// `H v` at the model's parameters `θ`, by centred differences of gradients:
/// `H v ≈ (∇L(θ + h v) − ∇L(θ − h v)) / (2h)`, with `L` the mean loss on `batch` of `data`
/// (training randomness from `seed`, the same at both points). The error is `O(h²)` (third
/// derivatives) plus the gradients' rounding divided by `h`: `h ≈ 1e-3` suits `f32` models
/// (rounding `~1e-7`), `1e-5` suits `f64`. The parameters are restored afterwards.
///
/// # Errors
/// `v` of the wrong length, or as [`batch_gradient`].
pub fn hessian_vector_product<F: Float, M: Trainable<F>>(
    model: &mut M,
    data: &M::Data,
    batch: &[usize],
    v: &[f64],
    h: f64,
    seed: u64,
) -> Result<Vec<f64>> {
    let theta = flat_params(model);
    if v.len() != theta.len() {
        return Err(Error::Shape {
            context: "hessian_vector_product: v".into(),
            expected: format!("{} values", theta.len()),
            got: format!("{}", v.len()),
        });
    }
    let shifted =
        |sign: f64| -> Vec<f64> { theta.iter().zip(v).map(|(t, d)| t + sign * h * d).collect() };
    set_flat_params(model, &shifted(1.0))?;
    let up = batch_gradient(model, data, batch, seed);
    set_flat_params(model, &shifted(-1.0))?;
    let down = batch_gradient(model, data, batch, seed);
    set_flat_params(model, &theta)?;
    let (up, down) = (up?.1, down?.1);
    Ok(up
        .iter()
        .zip(&down)
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect())
}

/// The sharpness of the loss on `batch` at the model's parameters: the Hessian eigenvalue of
/// largest magnitude, by `iterations` steps of power iteration `v ← H v / ‖H v‖` from a seeded
/// random start, each `H v` by [`hessian_vector_product`]; returns the Rayleigh quotient
/// `vᵀ H v` of the last `v`. At a minimum every eigenvalue is `≥ 0` and this is `λ_max`.
///
/// # Errors
/// As [`hessian_vector_product`]; a Hessian that maps `v` to zero (no curvature to measure).
pub fn sharpness<F: Float, M: Trainable<F>>(
    model: &mut M,
    data: &M::Data,
    batch: &[usize],
    iterations: usize,
    h: f64,
    seed: u64,
) -> Result<f64> {
    use rand_distr::{Distribution, StandardNormal};
    let p = crate::param_count(model);
    let mut rng = crate::rng(seed);
    let mut v: Vec<f64> = (0..p).map(|_| StandardNormal.sample(&mut rng)).collect();
    let normalize = |v: &mut Vec<f64>| -> Result<()> {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err(Error::Numerical {
                context: "sharpness".into(),
                reason: format!("H v has norm {norm}"),
            });
        }
        v.iter_mut().for_each(|x| *x /= norm);
        Ok(())
    };
    normalize(&mut v)?;
    let mut rayleigh = 0.0;
    for _ in 0..iterations.max(1) {
        let mut hv = hessian_vector_product(model, data, batch, &v, h, seed)?;
        rayleigh = v.iter().zip(&hv).map(|(a, b)| a * b).sum();
        normalize(&mut hv)?;
        v = hv;
    }
    Ok(rayleigh)
}

// ---------------------------------------------------------------------------------------------
// §5.1: critical points and their Hessians (Dauphin et al. 2014)
// ---------------------------------------------------------------------------------------------

/// A function of a flat parameter vector with its gradient: `θ ↦ (f(θ), ∇f(θ))`. The critical
/// point search below works on any such oracle: a [`TestFunction`](crate::testfns::TestFunction)
/// ([`test_function_objective`]) or a model's loss ([`model_objective`]).
pub trait Objective {
    /// `(f(θ), ∇f(θ))`.
    ///
    /// # Errors
    /// When the function cannot be evaluated at `theta` (a model's error).
    fn value_and_gradient(&mut self, theta: &[f64]) -> Result<(f64, Vec<f64>)>;
}

impl<T: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>> Objective for T {
    fn value_and_gradient(&mut self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        self(theta)
    }
}

/// A [`TestFunction`](crate::testfns::TestFunction) as an [`Objective`].
pub fn test_function_objective<T: crate::testfns::TestFunction>(f: &T) -> impl Objective + '_ {
    move |x: &[f64]| -> Result<(f64, Vec<f64>)> {
        let mut g = vec![0.0; x.len()];
        f.gradient(x, &mut g);
        Ok((f.value(x), g))
    }
}

/// The mean training loss of `model` on every example of `data` plus an L2 penalty,
/// `f(θ) = L(θ) + (λ/2)‖θ‖²`, `∇f = ∇L + λθ`, as an [`Objective`] (the model's parameters are
/// set to each `θ` asked for; training randomness from seed 0). The penalty makes the loss grow
/// without bound as `‖θ‖ → ∞`, so its minima are points, not directions to infinity (a
/// classifier on separable data has none otherwise). Use an `f64` model: the Hessian is formed
/// by differences of gradients.
pub fn model_objective<'a, F: Float, M: Trainable<F>>(
    model: &'a mut M,
    data: &'a M::Data,
    l2: f64,
) -> impl Objective + 'a {
    let all: Vec<usize> = (0..model.examples(data)).collect();
    move |theta: &[f64]| -> Result<(f64, Vec<f64>)> {
        set_flat_params(model, theta)?;
        let (loss, mut g) = batch_gradient(model, data, &all, 0)?;
        // ∇f = ∇L + λθ
        for (gi, t) in g.iter_mut().zip(theta) {
            *gi += l2 * t;
        }
        let penalty = 0.5 * l2 * theta.iter().map(|t| t * t).sum::<f64>();
        Ok((loss + penalty, g))
    }
}

/// The dense Hessian of `f` at `theta` by centred differences of gradients, one column per
/// coordinate: `H e_j ≈ (∇f(θ + h e_j) − ∇f(θ − h e_j)) / (2h)` (`2P` gradients), then
/// symmetrized, `H ← (H + Hᵀ)/2`. Error `O(h²)` plus rounding over `h` (`h ≈ 1e-5` for `f64`).
///
/// # Errors
/// From `f`; a non-finite entry.
pub fn dense_hessian(f: &mut dyn Objective, theta: &[f64], h: f64) -> Result<Mat<f64>> {
    let p = theta.len();
    let mut hess = Mat::zeros(p, p);
    let mut x = theta.to_vec();
    for j in 0..p {
        x[j] = theta[j] + h;
        let (_, up) = f.value_and_gradient(&x)?;
        x[j] = theta[j] - h;
        let (_, down) = f.value_and_gradient(&x)?;
        x[j] = theta[j];
        for i in 0..p {
            hess[(i, j)] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    let sym = (&hess + hess.transpose()) * 0.5;
    if sym.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical {
            context: "dense_hessian".into(),
            reason: "a non-finite second difference".into(),
        });
    }
    Ok(sym)
}

/// Settings of [`find_critical_point`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonConfig {
    /// Stop when `‖∇f‖ ≤ tolerance` (a critical point).
    pub tolerance: f64,
    /// At most this many Hessians (outer iterations).
    pub max_iterations: usize,
    /// The difference step of [`dense_hessian`].
    pub h: f64,
    /// An eigenvalue `λ` counts as negative when `λ < −eigen_tolerance · max|λ|`, as zero when
    /// `|λ| ≤ eigen_tolerance · max|λ|`.
    pub eigen_tolerance: f64,
}

impl Default for NewtonConfig {
    /// `‖∇f‖ ≤ 1e-8`, 200 iterations, `h = 1e-5`, eigenvalues below `1e-6 · max|λ|` are zero.
    fn default() -> Self {
        Self {
            tolerance: 1e-8,
            max_iterations: 200,
            h: 1e-5,
            eigen_tolerance: 1e-6,
        }
    }
}

/// Whether a critical point is a minimum, a saddle or a maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CriticalKind {
    /// No negative Hessian eigenvalue.
    Minimum,
    /// Some negative and some non-negative eigenvalues.
    Saddle,
    /// Every eigenvalue negative.
    Maximum,
}

/// A critical point `∇f(θ) ≈ 0` and the spectrum of its Hessian.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticalPoint {
    /// Where.
    pub theta: Vec<f64>,
    /// `f(θ)`.
    pub value: f64,
    /// `‖∇f(θ)‖`.
    pub gradient_norm: f64,
    /// The Hessian's eigenvalues, ascending.
    pub eigenvalues: Vec<f64>,
    /// How many are negative (below `−eigen_tolerance · max|λ|`).
    pub negative: usize,
    /// How many are zero within `eigen_tolerance · max|λ|` (flat directions).
    pub zero: usize,
    /// Outer (Newton) iterations taken.
    pub iterations: usize,
}

impl CriticalPoint {
    /// The index `α`: the fraction of negative eigenvalues (0 at a minimum, 1 at a maximum).
    pub fn index(&self) -> f64 {
        self.negative as f64 / self.eigenvalues.len().max(1) as f64
    }

    /// Minimum, saddle or maximum, by the signs of the eigenvalues.
    pub fn kind(&self) -> CriticalKind {
        match self.negative {
            0 => CriticalKind::Minimum,
            n if n == self.eigenvalues.len() => CriticalKind::Maximum,
            _ => CriticalKind::Saddle,
        }
    }
}

/// The Hessian's spectrum at `theta`: `(eigenvalues ascending, negative, zero)` with the
/// tolerance of [`NewtonConfig::eigen_tolerance`].
///
/// # Errors
/// As [`dense_hessian`].
pub fn hessian_spectrum(
    f: &mut dyn Objective,
    theta: &[f64],
    config: &NewtonConfig,
) -> Result<(Vec<f64>, usize, usize)> {
    let hess = dense_hessian(f, theta, config.h)?;
    let mut eig: Vec<f64> = nalgebra::SymmetricEigen::new(hess)
        .eigenvalues
        .iter()
        .copied()
        .collect();
    eig.sort_by(f64::total_cmp);
    let scale = eig.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = config.eigen_tolerance * scale;
    let negative = eig.iter().filter(|&&v| v < -tol).count();
    let zero = eig.iter().filter(|&&v| v.abs() <= tol).count();
    Ok((eig, negative, zero))
}

/// Newton's method for `∇f(θ) = 0`, as Levenberg–Marquardt on `φ(θ) = ½‖∇f(θ)‖²` (the residual
/// is the gradient, its Jacobian the Hessian `H`): the step
/// `δ = −(H² + μ I)⁻¹ H ∇f` is accepted when it lowers `‖∇f‖` (then `μ ← μ/3`), else
/// `μ ← 4μ` and the step is tried again. As `μ → 0` it is Newton's step `−H⁻¹∇f`, which is
/// attracted by critical points of every index — minima, saddles, maxima alike — unlike
/// gradient descent on `f`, which is repelled by saddles; this is how Dauphin et al. (2014)
/// located a network's critical points. Returns the point and its Hessian spectrum when
/// `‖∇f‖ ≤ tolerance` within `max_iterations`, `None` otherwise (stuck where `H ∇f ≈ 0` without
/// `∇f ≈ 0`, or too slow).
///
/// # Errors
/// From `f`; `start` empty.
pub fn find_critical_point(
    f: &mut dyn Objective,
    start: &[f64],
    config: &NewtonConfig,
) -> Result<Option<CriticalPoint>> {
    if start.is_empty() {
        return Err(Error::Data("find_critical_point: an empty start".into()));
    }
    let p = start.len();
    let norm = |g: &[f64]| g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut theta = start.to_vec();
    let (mut value, mut grad) = f.value_and_gradient(&theta)?;
    let mut mu = 1e-3;
    for iteration in 0..=config.max_iterations {
        let gnorm = norm(&grad);
        if !gnorm.is_finite() {
            return Ok(None);
        }
        if gnorm <= config.tolerance {
            let (eigenvalues, negative, zero) = hessian_spectrum(f, &theta, config)?;
            return Ok(Some(CriticalPoint {
                theta,
                value,
                gradient_norm: gnorm,
                eigenvalues,
                negative,
                zero,
                iterations: iteration,
            }));
        }
        if iteration == config.max_iterations {
            break;
        }
        let hess = dense_hessian(f, &theta, config.h)?;
        let g = nalgebra::DVector::from_column_slice(&grad);
        // H² + μI is symmetric positive definite for μ > 0; Jᵀr = H∇f
        let normal = &hess * &hess;
        let rhs = &hess * &g;
        let mut accepted = false;
        for _ in 0..40 {
            let mut a = normal.clone();
            for i in 0..p {
                a[(i, i)] += mu;
            }
            let Some(chol) = nalgebra::Cholesky::new(a) else {
                mu *= 4.0;
                continue;
            };
            let step = chol.solve(&rhs);
            let trial: Vec<f64> = theta.iter().zip(step.iter()).map(|(t, d)| t - d).collect();
            let (v, gt) = f.value_and_gradient(&trial)?;
            if norm(&gt) < gnorm {
                (theta, value, grad) = (trial, v, gt);
                mu = (mu / 3.0).max(1e-12);
                accepted = true;
                break;
            }
            mu *= 4.0;
        }
        if !accepted {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The distinct points of `points`: two are the same when their values agree within
/// `value_tolerance · (1 + |f|)` and they have the same number of negative eigenvalues (a
/// network has many equivalent copies of each critical point, by permuting hidden units or
/// flipping signs through odd activations; they share value and spectrum).
pub fn distinct_critical_points(
    points: &[CriticalPoint],
    value_tolerance: f64,
) -> Vec<CriticalPoint> {
    let mut out: Vec<CriticalPoint> = Vec::new();
    for c in points {
        let seen = out.iter().any(|o| {
            o.negative == c.negative
                && (o.value - c.value).abs() <= value_tolerance * (1.0 + c.value.abs())
        });
        if !seen {
            out.push(c.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_population_factor_ends() {
        assert_eq!(finite_population_factor(10, 1).unwrap(), 1.0);
        assert_eq!(finite_population_factor(10, 10).unwrap(), 0.0);
        assert!(finite_population_factor(1, 1).is_err());
        assert!(finite_population_factor(10, 0).is_err());
        assert!(finite_population_factor(10, 11).is_err());
    }

    #[test]
    fn minibatch_gradient_refuses_bad_batches() {
        let g = Mat::from_row_slice(1, 3, &[1.0, 2.0, 3.0]);
        assert!(minibatch_gradient(&g, &[]).is_err());
        assert!(minibatch_gradient(&g, &[3]).is_err());
        assert_eq!(minibatch_gradient(&g, &[0, 2]).unwrap(), vec![2.0]);
    }

    /// `f(x, y) = (x² − 1)² + (y² − 1)²`: nine critical points, `x, y ∈ {−1, 0, 1}`; the Hessian
    /// is `diag(12x² − 4, 12y² − 4)`: four minima `(±1, ±1)`, four saddles with one zero and one
    /// `±1` coordinate (index ½), one maximum at the origin.
    fn double_wells(x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let w = |t: f64| (t * t - 1.0).powi(2);
        let dw = |t: f64| 4.0 * t * (t * t - 1.0);
        Ok((w(x[0]) + w(x[1]), vec![dw(x[0]), dw(x[1])]))
    }

    #[test]
    fn newton_finds_every_critical_point_of_the_double_wells_with_its_index() {
        let config = NewtonConfig::default();
        let mut found = Vec::new();
        for a in [-1.0, 0.0, 1.0] {
            for b in [-1.0, 0.0, 1.0] {
                // near each point, off the axes: Newton is attracted whatever the index
                let start = [a + 0.13, b - 0.11];
                let c = find_critical_point(&mut double_wells, &start, &config)
                    .unwrap()
                    .expect("converges");
                assert!(c.gradient_norm <= config.tolerance);
                assert!((c.theta[0] - a).abs() < 1e-6 && (c.theta[1] - b).abs() < 1e-6);
                let zeros = [a, b].iter().filter(|&&t| t == 0.0).count();
                assert_eq!(c.negative, zeros, "at ({a}, {b}): {:?}", c.eigenvalues);
                assert_eq!(c.index(), zeros as f64 / 2.0);
                let kind = match zeros {
                    0 => CriticalKind::Minimum,
                    1 => CriticalKind::Saddle,
                    _ => CriticalKind::Maximum,
                };
                assert_eq!(c.kind(), kind);
                // the Hessian diag(12x² − 4, 12y² − 4) by differences of gradients
                let mut expected = [12.0 * a * a - 4.0, 12.0 * b * b - 4.0];
                expected.sort_by(f64::total_cmp);
                for (e, m) in expected.iter().zip(&c.eigenvalues) {
                    assert!((e - m).abs() < 1e-5, "{e} vs {m}");
                }
                found.push(c);
            }
        }
        // equal values with equal index are one point up to symmetry: 3 distinct kinds here
        let distinct = distinct_critical_points(&found, 1e-9);
        assert_eq!(distinct.len(), 3);
    }

    #[test]
    fn newton_lands_on_the_strict_saddle_and_the_minima() {
        use crate::testfns::StrictSaddle;
        let config = NewtonConfig::default();
        let mut f = test_function_objective(&StrictSaddle);
        let c = find_critical_point(&mut f, &[0.05, 0.05], &config)
            .unwrap()
            .unwrap();
        assert!(c.theta.iter().all(|t| t.abs() < 1e-8));
        assert_eq!(c.kind(), CriticalKind::Saddle);
        assert!((c.eigenvalues[0] + 1.0).abs() < 1e-6 && (c.eigenvalues[1] - 1.0).abs() < 1e-6);
        let m = find_critical_point(&mut f, &[0.2, 0.8], &config)
            .unwrap()
            .unwrap();
        assert!((m.theta[1] - 1.0).abs() < 1e-8 && m.theta[0].abs() < 1e-8);
        assert_eq!(m.kind(), CriticalKind::Minimum);
        assert!((m.value + 0.25).abs() < 1e-12);
        let hess = dense_hessian(&mut f, &m.theta, 1e-5).unwrap();
        assert!((hess[(0, 0)] - 1.0).abs() < 1e-6 && (hess[(1, 1)] - 2.0).abs() < 1e-6);
        assert!(hess[(0, 1)].abs() < 1e-8);
    }

    #[test]
    fn newton_reports_no_critical_point_when_there_is_none() {
        // f = x + y has no critical point: every step keeps ‖∇f‖ = √2
        let mut plane = |_: &[f64]| -> Result<(f64, Vec<f64>)> { Ok((0.0, vec![1.0, 1.0])) };
        let config = NewtonConfig {
            max_iterations: 5,
            ..NewtonConfig::default()
        };
        assert_eq!(
            find_critical_point(&mut plane, &[0.0, 0.0], &config).unwrap(),
            None
        );
        assert!(find_critical_point(&mut plane, &[], &config).is_err());
    }
}
