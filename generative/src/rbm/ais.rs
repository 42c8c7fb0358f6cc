//! Annealed importance sampling of `log Z` (Neal 2001; Salakhutdinov & Murray 2008, §3–4).
//!
//! A base-rate RBM `A` (`W = 0`, visible biases `b_A`, e.g. from the data's marginals) is
//! annealed into the model `B` through
//!
//! ```text
//! p*_β(v) = exp((1−β) b_Aᵀv + β bᵀv) · Πᵢ (1 + exp(β (W v + c)ᵢ)),   0 = β₀ < … < β_K = 1
//! v₁ ~ p_A;  for k = 1..K:  log w += log p*_{βₖ}(vₖ) − log p*_{βₖ₋₁}(vₖ);  vₖ₊₁ ~ Tₖ(vₖ)
//! Tₖ: h ~ σ(βₖ (W v + c)),  v ~ σ((1 − βₖ) b_A + βₖ (b + Wᵀh))
//! log Z_B ≈ log Z_A + log mean_m w⁽ᵐ⁾,   log Z_A = n_h log 2 + Σⱼ softplus(b_Aⱼ)
//! ```
//!
//! The standard error is the delta method's, `sd(w) / (√M · mean w)`, for `M` chains.

use super::error::{RbmError, Result, setting};
use super::model::{Rbm, Visible, sample_bernoulli_into, softplus};
use optim::linalg::gemm;
use optim::{Float, Mat};
use serde::{Deserialize, Serialize};

/// Settings of an AIS run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisConfig {
    /// Parallel chains `M`. Default 100 (the paper's).
    pub chains: usize,
    /// Number of inverse temperatures `K + 1` (≥ 2), spaced uniformly in `[0, 1]`. Default 10 000.
    pub temperatures: usize,
    /// Seed of the chains.
    pub seed: u64,
}

impl Default for AisConfig {
    fn default() -> Self {
        AisConfig {
            chains: 100,
            temperatures: 10_000,
            seed: 0,
        }
    }
}

/// An AIS estimate of `log Z`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// `log Ẑ`.
    pub log_z: f64,
    /// Its standard error (delta method).
    pub std_error: f64,
    /// `log Z_A` of the base-rate model.
    pub log_z_base: f64,
}

/// The base-rate visible biases `log(p̄ⱼ/(1 − p̄ⱼ))` of the data's marginals `p̄ⱼ` (clamped to
/// `[10⁻³, 1 − 10⁻³]`): the paper's base model.
pub fn base_rate_biases<F: Float>(data: &Mat<F>) -> Vec<f64> {
    let n = data.ncols().max(1) as f64;
    (0..data.nrows())
        .map(|j| {
            let p =
                (data.row(j).iter().map(|x| x.to_f64()).sum::<f64>() / n).clamp(1e-3, 1.0 - 1e-3);
            (p / (1.0 - p)).ln()
        })
        .collect()
}

impl<F: Float> Rbm<F> {
    /// Estimates `log Z` by AIS from the base-rate model with visible biases `base` (zeros if
    /// `None`: the uniform distribution).
    ///
    /// # Errors
    /// [`RbmError::Setting`] for fewer than 2 temperatures or 0 chains, a base of the wrong
    /// length; [`RbmError::Unsupported`] for Gaussian visible units.
    pub fn ais_log_partition(
        &self,
        config: &AisConfig,
        base: Option<&[f64]>,
    ) -> Result<AisEstimate> {
        if self.units() != Visible::Bernoulli {
            return Err(RbmError::Unsupported(
                "AIS is implemented for binary visible units (use log_partition for small Gaussian RBMs)",
            ));
        }
        if config.temperatures < 2 {
            return Err(setting(
                "temperatures",
                config.temperatures,
                "AIS needs at least 2 inverse temperatures (β = 0 and β = 1)",
            ));
        }
        if config.chains == 0 {
            return Err(setting("chains", 0, "AIS needs at least one chain"));
        }
        let (nv, nh, m) = (self.visible(), self.hidden(), config.chains);
        let zeros = vec![0.0; nv];
        let base = base.unwrap_or(&zeros);
        if base.len() != nv {
            return Err(setting(
                "base",
                base.len(),
                "needs one bias per visible unit",
            ));
        }
        let mut rng = optim::rng(config.seed);
        let b_a: Mat<F> = Mat::from_fn(nv, 1, |j, _| F::of(base[j]));
        let b = &self.visible_bias.value;
        // v₁ ~ p_A
        let pa = Mat::from_fn(nv, m, |j, _| F::of(1.0 / (1.0 + (-base[j]).exp())));
        let mut v = Mat::<F>::zeros(nv, m);
        sample_bernoulli_into(&pa, &mut v, &mut rng);
        let mut z = Mat::<F>::zeros(nh, m);
        let mut hp = Mat::<F>::zeros(nh, m);
        let mut h = Mat::<F>::zeros(nh, m);
        let mut va = Mat::<F>::zeros(nv, m);
        let mut log_w = vec![0.0f64; m];
        let k_max = config.temperatures - 1;
        let beta = |k: usize| k as f64 / k_max as f64;
        // log p*_β(v) for column s, given z = W v + c
        let log_star = |beta: f64, v: &Mat<F>, z: &Mat<F>, s: usize| -> f64 {
            let mut lp = 0.0;
            for j in 0..nv {
                let x = v[(j, s)].to_f64();
                if x != 0.0 {
                    lp += x * ((1.0 - beta) * base[j] + beta * b[j].to_f64());
                }
            }
            for i in 0..nh {
                lp += softplus(beta * z[(i, s)].to_f64());
            }
            lp
        };
        for k in 1..=k_max {
            self.hidden_input_into(&v, &mut z);
            let (b0, b1) = (beta(k - 1), beta(k));
            for (s, lw) in log_w.iter_mut().enumerate() {
                *lw += log_star(b1, &v, &z, s) - log_star(b0, &v, &z, s);
            }
            if k < k_max {
                // Tₖ leaves p_{βₖ} invariant
                let bk = F::of(b1);
                for (p, &x) in hp.iter_mut().zip(z.iter()) {
                    *p = super::model::sigmoid(bk * x);
                }
                sample_bernoulli_into(&hp, &mut h, &mut rng);
                gemm(
                    F::one(),
                    &self.weight.value,
                    true,
                    &h,
                    false,
                    F::zero(),
                    &mut va,
                );
                let one_minus = F::one() - bk;
                for col in va.as_mut_slice().chunks_exact_mut(nv) {
                    for (j, x) in col.iter_mut().enumerate() {
                        *x = super::model::sigmoid(one_minus * b_a[j] + bk * (b[j] + *x));
                    }
                }
                sample_bernoulli_into(&va, &mut v, &mut rng);
            }
        }
        let log_z_base =
            nh as f64 * std::f64::consts::LN_2 + base.iter().map(|&x| softplus(x)).sum::<f64>();
        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ws: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
        let mean = ws.iter().sum::<f64>() / m as f64;
        let var = if m > 1 {
            ws.iter().map(|w| (w - mean) * (w - mean)).sum::<f64>() / (m - 1) as f64
        } else {
            f64::INFINITY
        };
        Ok(AisEstimate {
            log_z: log_z_base + max + mean.ln(),
            std_error: var.sqrt() / ((m as f64).sqrt() * mean),
            log_z_base,
        })
    }
}
