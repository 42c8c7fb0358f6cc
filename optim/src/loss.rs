//! Losses with their gradients. Each function returns `(L, ∂L/∂input)`; reductions are PyTorch's
//! `reduction="mean"`, so values agree with `torch.nn.functional` on the same inputs.
//!
//! | loss | `L` | `∂L/∂z` |
//! |---|---|---|
//! | mean squared error | `(1/N) Σ (z − t)²` over all `N` entries | `2(z − t)/N` |
//! | binary cross-entropy on logits | `(1/N) Σ softplus(z) − t z` | `(σ(z) − t)/N` |
//! | soft-max cross-entropy | `(1/B) Σ_b −Σ_k q_{kb} log softmax(z)_{kb}` | `(softmax(z) − q)/B` |
//! | hinge (labels ±1) | `(1/N) Σ max(0, 1 − t z)` | `−t/N` where `t z < 1`, else 0 |
//!
//! For the cross-entropy `q` is the one-hot label, or with label smoothing `ε`
//! `q = (1 − ε)·onehot + ε/K` (PyTorch's `label_smoothing`).

use crate::activation::{sigmoid, softplus};
use crate::{Error, Float, Mat, Result};

fn same_shape<F: Float>(what: &str, z: &Mat<F>, t: &Mat<F>) -> Result<()> {
    if z.shape() != t.shape() {
        return Err(Error::shape(what, z.shape(), t.shape()));
    }
    if z.is_empty() {
        return Err(Error::Data(format!("{what}: empty batch")));
    }
    Ok(())
}

/// Mean squared error over all entries: `L = (1/N) Σ (z − t)²`, `∂L/∂z = 2(z − t)/N`.
///
/// # Shapes
/// `prediction`, `target`: `outputs x batch`.
pub fn mse<F: Float>(prediction: &Mat<F>, target: &Mat<F>) -> Result<(F, Mat<F>)> {
    same_shape("mse (prediction vs target)", prediction, target)?;
    let n = F::of(prediction.len() as f64);
    let mut grad = prediction - target;
    let loss = grad.norm_squared() / n;
    grad *= F::of(2.0) / n;
    Ok((loss, grad))
}

/// Binary cross-entropy on logits, mean over all entries:
/// `L = (1/N) Σ [softplus(z) − t z]` (= `−t log σ(z) − (1 − t) log(1 − σ(z))`, written so it
/// never takes the log of 0), `∂L/∂z = (σ(z) − t)/N`.
///
/// # Shapes
/// `logits`, `targets` (in `[0, 1]`): `outputs x batch`.
pub fn bce_with_logits<F: Float>(logits: &Mat<F>, targets: &Mat<F>) -> Result<(F, Mat<F>)> {
    same_shape("bce_with_logits (logits vs targets)", logits, targets)?;
    let n = F::of(logits.len() as f64);
    let mut loss = F::zero();
    let mut grad = Mat::zeros(logits.nrows(), logits.ncols());
    let (zs, ts) = (logits.as_slice(), targets.as_slice());
    for ((g, &z), &t) in grad.as_mut_slice().iter_mut().zip(zs).zip(ts) {
        loss += softplus(z) - t * z;
        *g = (sigmoid(z) - t) / n;
    }
    Ok((loss / n, grad))
}

/// Soft-max cross-entropy with integer labels, mean over the batch, with optional label
/// smoothing `ε ∈ [0, 1)` (PyTorch's `cross_entropy(z, y, label_smoothing=ε)`).
///
/// `L = (1/B) Σ_b [logsumexp(z_b) − Σ_k q_{kb} z_{kb}]`, `∂L/∂z = (softmax(z) − q)/B`.
///
/// # Shapes
/// `logits`: `classes x batch`; `labels`: `batch` entries in `0..classes`.
///
/// # Errors
/// Label out of range, length mismatch, empty batch, `ε` outside `[0, 1)`.
pub fn softmax_cross_entropy<F: Float>(
    logits: &Mat<F>,
    labels: &[usize],
    label_smoothing: f64,
) -> Result<(F, Mat<F>)> {
    let (k, b) = logits.shape();
    if labels.len() != b {
        return Err(Error::Shape {
            context: "softmax_cross_entropy labels".into(),
            expected: format!("{b} labels (one per column)"),
            got: format!("{}", labels.len()),
        });
    }
    if b == 0 || k == 0 {
        return Err(Error::Data("softmax_cross_entropy: empty batch".into()));
    }
    if !(label_smoothing.is_finite() && (0.0..1.0).contains(&label_smoothing)) {
        return Err(Error::hyper(
            "label_smoothing",
            label_smoothing,
            "must lie in [0, 1)",
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= k) {
        return Err(Error::Data(format!(
            "softmax_cross_entropy: label {l} at position {i} is not below the {k} classes"
        )));
    }
    let eps = F::of(label_smoothing);
    let uniform = eps / F::of(k as f64);
    let inv_b = F::one() / F::of(b as f64);
    let mut grad = logits.clone();
    let mut loss = F::zero();
    for (j, column) in grad.as_mut_slice().chunks_exact_mut(k).enumerate() {
        let mut mean_z = F::zero();
        for v in column.iter() {
            mean_z += *v;
        }
        mean_z /= F::of(k as f64);
        let z_true = column[labels[j]];
        // logsumexp(z) = m + log Σ e^{z_i − m} with m = max z; the e^{z_i − m} overwrite the
        // column (a map, which vectorizes) and become softmax(z)_i = e^{z_i − m} / Σ
        let m = column
            .iter()
            .fold(column[0], |a, &v| if v > a { v } else { a });
        crate::simd::map(column, |v| (v - m).exp_fast());
        let sum = column.iter().fold(F::zero(), |acc, &v| acc + v);
        let lse = m + sum.ln();
        // −Σ q log p = lse − (1−ε) z_y − ε·mean(z)
        loss += lse - (F::one() - eps) * z_true - eps * mean_z;
        let inv_sum = F::one() / sum;
        crate::simd::map(column, |e| (e * inv_sum - uniform) * inv_b);
        column[labels[j]] -= (F::one() - eps) * inv_b;
    }
    Ok((loss * inv_b, grad))
}

/// Hinge loss for labels `t ∈ {−1, +1}`: `L = (1/N) Σ max(0, 1 − t z)`; the subgradient is
/// `−t/N` where the margin is violated (`t z < 1`) and 0 elsewhere.
///
/// # Shapes
/// `scores`, `targets`: `outputs x batch`.
pub fn hinge<F: Float>(scores: &Mat<F>, targets: &Mat<F>) -> Result<(F, Mat<F>)> {
    same_shape("hinge (scores vs targets)", scores, targets)?;
    if let Some(t) = targets.as_slice().iter().find(|t| t.abs() != F::one()) {
        return Err(Error::Data(format!("hinge: target {t} is not -1 or +1")));
    }
    let n = F::of(scores.len() as f64);
    let mut loss = F::zero();
    let mut grad = Mat::zeros(scores.nrows(), scores.ncols());
    let (zs, ts) = (scores.as_slice(), targets.as_slice());
    for ((g, &z), &t) in grad.as_mut_slice().iter_mut().zip(zs).zip(ts) {
        let margin = F::one() - t * z;
        if margin > F::zero() {
            loss += margin;
            *g = -t / n;
        }
    }
    Ok((loss / n, grad))
}

/// Fraction of columns whose arg-max equals the label; `NaN` for no labels (there is no
/// fraction of nothing, and an empty test set must not read as a score of 0).
pub fn accuracy<F: Float>(logits: &Mat<F>, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return f64::NAN;
    }
    let pred = crate::argmax_columns(logits);
    pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len() as f64
}
