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
}
