//! Learning-rate schedules and gradient clipping.
//!
//! | schedule | `η(t)` for step `t = 0, 1, …` |
//! |---|---|
//! | constant | `η₀` |
//! | step | `η₀ · γ^⌊t / s⌋` |
//! | exponential | `η₀ · γ^t` |
//! | cosine with linear warm-up | `η₀ (t+1)/w` for `t < w`, then `η_min + ½(η₀ − η_min)(1 + cos(π (t − w)/(T − w)))` |
//!
//! Clipping (Pascanu et al. 2013, against exploding gradients, notes §7.1): by global norm,
//! `g ← g · min(1, c / (‖g‖₂ + 1e-6))` over all parameters together (PyTorch's
//! `clip_grad_norm_`), which keeps the direction; by value, `g ← clamp(g, −c, c)`.

use crate::{Float, Parameters};

/// A learning-rate schedule: `η(t)` from the base rate and the step count.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `η(t) = η₀`.
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Period in steps.
        every: usize,
        /// Factor.
        gamma: f64,
    },
    /// `η(t) = η₀ γ^t`.
    Exponential {
        /// Factor per step.
        gamma: f64,
    },
    /// Linear warm-up over `warmup` steps, then cosine decay to `min_lr` at step `total`.
    CosineWarmup {
        /// Warm-up steps.
        warmup: usize,
        /// Total steps (after which `η = min_lr`).
        total: usize,
        /// Final rate.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate at step `t` for base rate `base`.
    pub fn lr(&self, base: f64, t: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((t / every.max(1)) as i32),
            Schedule::Exponential { gamma } => base * gamma.powi(t as i32),
            Schedule::CosineWarmup {
                warmup,
                total,
                min_lr,
            } => {
                if t < warmup {
                    base * (t + 1) as f64 / warmup as f64
                } else if t >= total {
                    min_lr
                } else {
                    let span = (total - warmup).max(1) as f64;
                    let progress = (t - warmup) as f64 / span;
                    min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
                }
            }
        }
    }
}

/// The global 2-norm of all gradients, `√(Σ_p ‖∂L/∂p‖²)`.
pub fn grad_norm<F: Float>(model: &mut dyn Parameters<F>) -> f64 {
    let mut sq = 0.0;
    model.visit_params(&mut |_, p| {
        sq += p
            .grad
            .as_slice()
            .iter()
            .map(|g| g.to_f64().powi(2))
            .sum::<f64>()
    });
    sq.sqrt()
}

/// Scales all gradients together so their global norm is at most `max_norm`; returns the norm
/// before clipping (PyTorch's `clip_grad_norm_`). The direction is unchanged.
pub fn clip_grad_norm<F: Float>(model: &mut dyn Parameters<F>, max_norm: f64) -> f64 {
    let norm = grad_norm(model);
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = F::of(coef);
        model.visit_params(&mut |_, p| p.grad *= c);
    }
    norm
}

/// Clamps every gradient entry to `[−max, max]`.
pub fn clip_grad_value<F: Float>(model: &mut dyn Parameters<F>, max: f64) {
    let (lo, hi) = (F::of(-max), F::of(max));
    model.visit_params(&mut |_, p| {
        p.grad.apply(|g| {
            if *g > hi {
                *g = hi
            } else if *g < lo {
                *g = lo
            }
        })
    });
}
