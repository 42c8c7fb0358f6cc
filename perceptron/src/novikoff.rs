//! Novikoff's (1962) convergence theorem and the quantities it is stated in.
//!
//! ```
//! use perceptron::novikoff;
//! // points x = 1 (positive) and x = −1 (negative): augmented (1, 1) and (1, −1)
//! let x = optim::Mat::from_row_slice(1, 2, &[1.0f64, -1.0]);
//! let r = novikoff::radius(&x);                              // √2
//! assert!((r - 2f64.sqrt()).abs() < 1e-15);
//! let gamma = novikoff::margin(&x, &[1, 0], &[0.0, 1.0])?;   // u = (0, 1): margin 1
//! assert_eq!(gamma, 1.0);
//! assert!((novikoff::mistake_bound(r, gamma) - 2.0).abs() < 1e-12);   // (R/γ)² = 2
//! # Ok::<(), optim::Error>(())
//! ```
//!
//! **Theorem.** Let every augmented input satisfy `‖x̃_j‖ ≤ R`, and let some unit vector `u`
//! (`‖u‖ = 1`, in the same `d+1` dimensions) separate the data with margin `γ > 0`:
//! `s_j uᵀx̃_j ≥ γ` for all `j`, where `s_j = ±1` is the class. Then the perceptron started at
//! `w = 0` makes at most `(R/γ)²` updates, whatever the order of presentation and whatever
//! `η > 0`.
//!
//! *Proof.* Each update adds `c·s_j x̃_j` with `c > 0` (`c = η` for `{0, 1}` labels, `2η` for
//! `±1`), and is made only when `s_j wᵀx̃_j ≤ 0`. After `k` updates, `uᵀw ≥ k c γ` (each adds at
//! least `cγ`) and `‖w‖² ≤ k c² R²` (each adds `2c s_j wᵀx̃_j + c²‖x̃_j‖² ≤ c²R²`). Cauchy–Schwarz,
//! `uᵀw ≤ ‖w‖`, gives `k c γ ≤ √k c R`, i.e. `k ≤ (R/γ)²`. ∎
//!
//! Both `R` and `γ` are measured on the *augmented* vectors `x̃ = (1, x)`: the bias is a weight
//! like the others, so the `u` of the theorem includes it and `R ≥ 1`.
//!
//! The best bound uses the largest margin `γ*` any unit `u` achieves. [`max_margin`] brackets it
//! (a hard-margin SVM without a separate bias, solved in its dual), so a test can say how far
//! below the best bound a run stayed.

use crate::config::Coding;
use crate::train::check_label_count;
use optim::{Error, Float, Mat, Result};

fn augmented_dot<F: Float>(u: &[f64], x: &[F]) -> f64 {
    u[0] + u[1..]
        .iter()
        .zip(x)
        .map(|(a, b)| a * b.to_f64())
        .sum::<f64>()
}

/// `R = max_j ‖x̃_j‖ = max_j √(1 + ‖x_j‖²)` over the columns of `x`.
pub fn radius<F: Float>(x: &Mat<F>) -> f64 {
    let d = x.nrows();
    if d == 0 {
        return 1.0;
    }
    x.as_slice()
        .chunks_exact(d)
        .map(|c| (1.0 + c.iter().map(|v| v.to_f64().powi(2)).sum::<f64>()).sqrt())
        .fold(1.0, f64::max)
}

/// The margin `γ(u) = min_j s_j uᵀx̃_j / ‖u‖` of the augmented direction `u = (u_0, u_1, …, u_d)`
/// on `x` with labels in `{0, 1}` or `{−1, +1}` (negative if `u` misclassifies a point).
///
/// # Errors
/// If `u` has the wrong length or is zero, or the labels do not fit.
pub fn margin<F: Float>(x: &Mat<F>, labels: &[i32], u: &[f64]) -> Result<f64> {
    check_label_count(labels.len(), x.ncols(), "margin")?;
    let coding = Coding::infer(labels)?;
    if u.len() != x.nrows() + 1 {
        return Err(Error::Shape {
            context: "margin direction".into(),
            expected: format!("{} entries (bias first)", x.nrows() + 1),
            got: u.len().to_string(),
        });
    }
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !norm.is_finite() {
        return Err(Error::Data(
            "margin: the direction u is zero or not finite".into(),
        ));
    }
    let d = x.nrows().max(1);
    Ok(x.as_slice()
        .chunks_exact(d)
        .zip(labels)
        .map(|(c, &l)| {
            let s = if coding.is_positive(l) == Some(true) {
                1.0
            } else {
                -1.0
            };
            s * augmented_dot(u, c) / norm
        })
        .fold(f64::INFINITY, f64::min))
}

/// Novikoff's bound `(R/γ)²` on the number of updates (infinite if `γ ≤ 0`).
pub fn mistake_bound(radius: f64, margin: f64) -> f64 {
    if margin > 0.0 {
        (radius / margin).powi(2)
    } else {
        f64::INFINITY
    }
}

/// The largest augmented margin, bracketed: `margin ≤ γ* ≤ margin_upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxMargin {
    /// The best unit direction found, `d+1` entries, bias first.
    pub u: Vec<f64>,
    /// The margin `u` achieves: a lower bound on `γ*` (negative if `u` does not separate).
    pub margin: f64,
    /// An upper bound on `γ*` from the dual objective (weak duality); on data that cannot be
    /// separated the dual grows without bound and this tends to 0 as the sweeps increase.
    pub margin_upper: f64,
}

/// Brackets the largest margin `γ* = max_{‖u‖=1} min_j s_j uᵀx̃_j`.
///
/// Solves `min ½‖w‖²` subject to `s_j wᵀx̃_j ≥ 1` (so `γ* = 1/‖w*‖`) by exact coordinate ascent
/// on its dual `max_{α ≥ 0} D(α) = Σ_j α_j − ½‖Σ_j α_j s_j x̃_j‖²` for `sweeps` passes. Any
/// `α ≥ 0` gives `D(α) ≤ ½‖w*‖²`, hence `γ* ≤ 1/√(2D(α))`; the primal `w(α)` normalized gives a
/// margin `≤ γ*`. The two meet as the sweeps converge.
///
/// # Errors
/// Empty data, a label count other than `n`, labels that fit no coding, non-finite inputs.
pub fn max_margin<F: Float>(x: &Mat<F>, labels: &[i32], sweeps: usize) -> Result<MaxMargin> {
    if x.ncols() == 0 || x.nrows() == 0 {
        return Err(Error::Data("max_margin: no examples or no features".into()));
    }
    check_label_count(labels.len(), x.ncols(), "max_margin")?;
    optim::check_finite(x, "max_margin input")?;
    let coding = Coding::infer(labels)?;
    let d = x.nrows();
    let n = x.ncols();
    let xs: Vec<Vec<f64>> = x
        .as_slice()
        .chunks_exact(d)
        .map(|c| {
            std::iter::once(1.0)
                .chain(c.iter().map(|v| v.to_f64()))
                .collect()
        })
        .collect();
    let s: Vec<f64> = labels
        .iter()
        .map(|&l| {
            if coding.is_positive(l) == Some(true) {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let q: Vec<f64> = xs.iter().map(|v| v.iter().map(|a| a * a).sum()).collect();
    let mut alpha = vec![0.0; n];
    let mut w = vec![0.0; d + 1];
    for _ in 0..sweeps {
        for j in 0..n {
            let g = 1.0 - s[j] * w.iter().zip(&xs[j]).map(|(a, b)| a * b).sum::<f64>();
            let new = (alpha[j] + g / q[j]).max(0.0);
            let delta = new - alpha[j];
            if delta != 0.0 {
                alpha[j] = new;
                for (wi, xi) in w.iter_mut().zip(&xs[j]) {
                    *wi += delta * s[j] * xi;
                }
            }
        }
    }
    let dual = alpha.iter().sum::<f64>() - 0.5 * w.iter().map(|v| v * v).sum::<f64>();
    let margin_upper = if dual > 0.0 {
        1.0 / (2.0 * dual).sqrt()
    } else {
        0.0
    };
    let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (u, achieved) = if norm > 0.0 && norm.is_finite() {
        let u: Vec<f64> = w.iter().map(|v| v / norm).collect();
        let m = xs
            .iter()
            .zip(&s)
            .map(|(x, s)| s * u.iter().zip(x).map(|(a, b)| a * b).sum::<f64>())
            .fold(f64::INFINITY, f64::min);
        (u, m)
    } else {
        (vec![0.0; d + 1], f64::NEG_INFINITY)
    };
    Ok(MaxMargin {
        u,
        margin: achieved,
        margin_upper,
    })
}
