//! Gradient checking: the one checker every crate's tests call.
//!
//! Each analytic gradient entry `a` (from a hand-written backward pass) is compared with the
//! centred difference `n = (L(θ + h e_i) − L(θ − h e_i)) / 2h`, in `f64`, by the relative error
//!
//! ```text
//! err = |a − n| / max(floor, |a| + |n|)
//! ```
//!
//! # Why `h = 1e-5` and `floor = 1e-3`
//!
//! A centred difference in `f64` has two errors: truncation, `h²|L‴|/6`, and round-off in the
//! two loss values, about `ε|L|/h` with `ε ≈ 2.2e-16`. At `h = 1e-5` both are near
//! `2e-11·(|L| + |L‴|)`: the best step for losses and third derivatives of order 1 (a larger
//! step trades round-off for truncation and a smaller one the reverse). The error is
//! *absolute*: it scales with the size of the loss, not with the gradient entry being checked.
//!
//! The `floor` keeps entries whose true gradient is almost zero from dividing that noise by
//! almost nothing: below the floor the comparison is effectively absolute, `|a − n| / floor`.
//! At the tolerance `1e-6` the tests use, a floor `f` allows an absolute difference of `1e-6·f`,
//! which must stay above the noise: `f ≳ 2e-5·(|L| + |L‴|)`. The first default, `1e-4`, was too
//! small: proptest found GELU at `|L| ≈ 5` with a gradient entry of `3e-6` whose (correct)
//! centred difference was off by `1.1e-10`, a relative error of `1.1e-6`. The default is now
//! `1e-3`, which covers losses up to about 50 in magnitude, while a gradient entry that is wrong
//! by more than `1e-9` still fails. A larger loss needs a larger floor (or a smaller loss: the
//! mean rather than the sum). A wrong term in a backward pass shows up as an error of order 1
//! on ordinary entries.
//!
//! PyTorch's `gradcheck` insists on double precision for the same reason: in `f32` the
//! differences are too noisy to catch a wrong term.

use crate::{Mat, Param, Parameters};
use rand::seq::index::sample;
use std::fmt;

/// Settings of a gradient check.
#[derive(Debug, Clone, Copy)]
pub struct GradCheck {
    /// Finite-difference step `h` (default `1e-5`).
    pub step: f64,
    /// Denominator floor (default `1e-3`, see the module docs for why).
    pub floor: f64,
    /// Check at most this many entries per tensor, chosen at random with `seed` (default: all).
    pub max_entries: Option<usize>,
    /// Seed for choosing entries.
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            step: 1e-5,
            floor: 1e-3,
            max_entries: None,
            seed: 0,
        }
    }
}

/// The worst entry of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    /// Tensor name (parameter name, or `input`).
    pub name: String,
    /// `(row, column)` of the entry in the tensor's matrix.
    pub index: (usize, usize),
    /// Gradient from the backward pass.
    pub analytic: f64,
    /// Centred difference.
    pub numeric: f64,
}

/// The outcome of a gradient check.
#[derive(Debug, Clone, Default)]
pub struct GradCheckReport {
    /// Largest relative error found.
    pub max_error: f64,
    /// Where it was.
    pub worst: Option<Worst>,
    /// How many entries were compared.
    pub checked: usize,
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max relative error {:.3e} over {} entries",
            self.max_error, self.checked
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst at {}[{}, {}]: analytic {:.10e}, numeric {:.10e}",
                w.name, w.index.0, w.index.1, w.analytic, w.numeric
            )?;
        }
        Ok(())
    }
}

impl GradCheckReport {
    /// Panics with the full report unless `max_error < tolerance` (for tests).
    #[track_caller]
    pub fn assert_below(&self, tolerance: f64) {
        assert!(
            self.checked > 0 && self.max_error < tolerance,
            "gradient check failed (tolerance {tolerance:.1e}): {self}"
        );
    }

    fn merge(&mut self, other: GradCheckReport) {
        self.checked += other.checked;
        if other.worst.is_some() && (other.max_error > self.max_error || self.worst.is_none()) {
            self.max_error = other.max_error;
            self.worst = other.worst;
        }
    }

    fn record(&mut self, opts: &GradCheck, name: &str, index: (usize, usize), a: f64, n: f64) {
        let err = (a - n).abs() / opts.floor.max(a.abs() + n.abs());
        let err = if err.is_nan() { f64::INFINITY } else { err };
        self.checked += 1;
        if err > self.max_error || self.worst.is_none() {
            self.max_error = self.max_error.max(err);
            self.worst = Some(Worst {
                name: name.to_string(),
                index,
                analytic: a,
                numeric: n,
            });
        }
    }
}

fn entries(len: usize, opts: &GradCheck, salt: u64) -> Vec<usize> {
    match opts.max_entries {
        Some(k) if k < len => {
            let mut rng = crate::rng(opts.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut v = sample(&mut rng, len, k).into_vec();
            v.sort_unstable();
            v
        }
        _ => (0..len).collect(),
    }
}

fn with_param<M: Parameters<f64> + ?Sized>(
    model: &mut M,
    index: usize,
    mut f: impl FnMut(&mut Param<f64>),
) {
    let mut i = 0;
    model.visit_params(&mut |_, p| {
        if i == index {
            f(p)
        }
        i += 1;
    });
}

/// Checks every parameter's gradient.
///
/// `loss(model)` evaluates the loss (it may run the training forward pass, so it takes
/// `&mut`); `loss_and_backward(model)` evaluates it *and* runs the backward pass, adding into
/// `Param::grad` (the checker zeroes gradients first). Any randomness (dropout masks, noise) must
/// be fixed inside the closures so that both see the same function.
pub fn check_parameters<M: Parameters<f64> + ?Sized>(
    model: &mut M,
    opts: GradCheck,
    mut loss: impl FnMut(&mut M) -> f64,
    mut loss_and_backward: impl FnMut(&mut M) -> f64,
) -> GradCheckReport {
    model.visit_params(&mut |_, p| p.zero_grad());
    loss_and_backward(model);
    let mut analytic: Vec<(String, Mat<f64>)> = Vec::new();
    model.visit_params(&mut |name, p| analytic.push((name.to_string(), p.grad.clone())));
    let mut report = GradCheckReport::default();
    let h = opts.step;
    for (pi, (name, grad)) in analytic.iter().enumerate() {
        let rows = grad.nrows().max(1);
        for e in entries(grad.len(), &opts, pi as u64) {
            let mut original = 0.0;
            with_param(model, pi, |p| {
                original = p.value[e];
                p.value[e] = original + h;
            });
            let up = loss(model);
            with_param(model, pi, |p| p.value[e] = original - h);
            let down = loss(model);
            with_param(model, pi, |p| p.value[e] = original);
            let numeric = (up - down) / (2.0 * h);
            report.record(&opts, name, (e % rows, e / rows), grad[e], numeric);
        }
    }
    report
}

/// Checks a gradient with respect to an input: `analytic` is `∂L/∂x` from the backward pass,
/// `loss(x)` evaluates the loss at a perturbed copy of `x`.
pub fn check_input(
    name: &str,
    x: &Mat<f64>,
    analytic: &Mat<f64>,
    opts: GradCheck,
    mut loss: impl FnMut(&Mat<f64>) -> f64,
) -> GradCheckReport {
    let mut report = GradCheckReport::default();
    if x.shape() != analytic.shape() {
        report.max_error = f64::INFINITY;
        report.checked = 1;
        report.worst = Some(Worst {
            name: format!(
                "{name} (gradient shape {:?} vs input {:?})",
                analytic.shape(),
                x.shape()
            ),
            index: (0, 0),
            analytic: f64::NAN,
            numeric: f64::NAN,
        });
        return report;
    }
    let mut xp = x.clone();
    let rows = x.nrows().max(1);
    for e in entries(x.len(), &opts, u64::MAX) {
        let v = x[e];
        xp[e] = v + opts.step;
        let up = loss(&xp);
        xp[e] = v - opts.step;
        let down = loss(&xp);
        xp[e] = v;
        report.record(
            &opts,
            name,
            (e % rows, e / rows),
            analytic[e],
            (up - down) / (2.0 * opts.step),
        );
    }
    report
}

/// Combines two reports (e.g. parameters and input) into one.
pub fn combine(mut a: GradCheckReport, b: GradCheckReport) -> GradCheckReport {
    a.merge(b);
    a
}
