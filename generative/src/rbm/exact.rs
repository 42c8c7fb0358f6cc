//! Exact log-partition function, log-likelihood and log-likelihood gradient of small RBMs, by
//! enumerating the smaller layer (at most [`MAX_ENUMERATED`] units), in `f64`.
//!
//! ```text
//! enumerate h:  log Z = logsumexp_h [ cᵀh + Σⱼ g(bⱼ + (Wᵀh)ⱼ) ]
//!               g(a) = softplus(a)                       (Bernoulli v)
//!               g(a) = (a² − bⱼ²)/2 + ½ log 2π          (Gaussian v, the integral over vⱼ)
//! enumerate v:  log Z = logsumexp_v [ −F(v) ]            (Bernoulli v only)
//! log p(v) = −F(v) − log Z
//! ∂ mean log p / ∂W = mean p(h|v) vᵀ − Σ p(·) E[h vᵀ | ·]    (the CD-∞ gradient)
//! ```

use super::error::{RbmError, Result};
use super::model::{Rbm, Visible, softplus};
use super::train::RbmGradient;
use optim::linalg::gemm;
use optim::{Float, Mat};

/// The largest layer [`Rbm::log_partition`] enumerates (`2²⁰` states).
pub const MAX_ENUMERATED: usize = 20;

/// States enumerated per product.
const CHUNK: usize = 1024;

/// Which layer is summed over.
#[derive(Clone, Copy, PartialEq)]
enum Layer {
    Hidden,
    Visible,
}

struct Model64 {
    w: Mat<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    units: Visible,
}

impl<F: Float> Rbm<F> {
    fn model64(&self) -> Model64 {
        Model64 {
            w: optim::scalar::cast(&self.weight.value),
            b: self.visible_bias.value.iter().map(|x| x.to_f64()).collect(),
            c: self.hidden_bias.value.iter().map(|x| x.to_f64()).collect(),
            units: self.units(),
        }
    }

    fn enumerated_layer(&self) -> Result<Layer> {
        let layer = match self.units() {
            Visible::Gaussian => Layer::Hidden,
            Visible::Bernoulli if self.hidden() <= self.visible() => Layer::Hidden,
            Visible::Bernoulli => Layer::Visible,
        };
        let units = match layer {
            Layer::Hidden => self.hidden(),
            Layer::Visible => self.visible(),
        };
        if units > MAX_ENUMERATED {
            return Err(RbmError::TooLarge {
                units,
                max: MAX_ENUMERATED,
            });
        }
        Ok(layer)
    }

    /// Visits every state of the enumerated layer in chunks: `(states, log p*(state), mean of
    /// the other layer given the state)`.
    fn enumerate(&self, mut visit: impl FnMut(&Mat<f64>, &[f64], &Mat<f64>)) -> Result<()> {
        let layer = self.enumerated_layer()?;
        let m = self.model64();
        let (nv, nh) = (self.visible(), self.hidden());
        let (units, other) = match layer {
            Layer::Hidden => (nh, nv),
            Layer::Visible => (nv, nh),
        };
        let total = 1usize << units;
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut start = 0;
        while start < total {
            let len = CHUNK.min(total - start);
            let states = Mat::from_fn(units, len, |i, s| (((start + s) >> i) & 1) as f64);
            let mut input = Mat::zeros(other, len);
            // hidden states → visible input Wᵀh + b; visible states → hidden input W v + c
            gemm(
                1.0,
                &m.w,
                layer == Layer::Hidden,
                &states,
                false,
                0.0,
                &mut input,
            );
            let mut logp = vec![0.0; len];
            for s in 0..len {
                let col = states.column(s);
                let (own_bias, other_bias) = match layer {
                    Layer::Hidden => (&m.c, &m.b),
                    Layer::Visible => (&m.b, &m.c),
                };
                let mut lp: f64 = col.iter().zip(own_bias).map(|(x, b)| x * b).sum();
                for r in 0..other {
                    let a = input[(r, s)] + other_bias[r];
                    input[(r, s)] = a;
                    lp += match (layer, m.units) {
                        (Layer::Hidden, Visible::Gaussian) => {
                            0.5 * (a * a - other_bias[r] * other_bias[r]) + half_log_2pi
                        }
                        _ => softplus(a),
                    };
                }
                logp[s] = lp;
            }
            // conditional means of the other layer
            let gaussian_visible = layer == Layer::Hidden && m.units == Visible::Gaussian;
            if !gaussian_visible {
                for x in input.iter_mut() {
                    *x = 1.0 / (1.0 + (-*x).exp());
                }
            }
            visit(&states, &logp, &input);
            start += len;
        }
        Ok(())
    }

    /// `log Z` by enumeration of the smaller layer (the hidden one for Gaussian units).
    ///
    /// # Errors
    /// [`RbmError::TooLarge`] if that layer has more than [`MAX_ENUMERATED`] units.
    pub fn log_partition(&self) -> Result<f64> {
        let mut all = Vec::new();
        self.enumerate(|_, lp, _| all.extend_from_slice(lp))?;
        Ok(logsumexp(&all))
    }

    /// Mean exact log-likelihood (nats per example; a log-density for Gaussian units) of the
    /// columns of `v`.
    ///
    /// # Errors
    /// As [`Rbm::log_partition`] and [`Rbm::check_data`].
    pub fn exact_log_likelihood(&self, v: &Mat<F>) -> Result<f64> {
        let log_z = self.log_partition()?;
        self.log_likelihood_given(v, log_z)
    }

    /// Mean `−F(v) − log Z` for a given (e.g. AIS) `log Z`.
    ///
    /// # Errors
    /// As [`Rbm::check_data`].
    pub fn log_likelihood_given(&self, v: &Mat<F>, log_z: f64) -> Result<f64> {
        self.check_data(v, "log-likelihood data")?;
        let f = self.free_energy(v);
        Ok(-f.iter().sum::<f64>() / f.len().max(1) as f64 - log_z)
    }

    /// The exact gradient of the mean log-likelihood of the columns of `v` (CD-∞), by
    /// enumeration.
    ///
    /// # Errors
    /// As [`Rbm::exact_log_likelihood`].
    pub fn exact_gradient(&self, v: &Mat<F>) -> Result<RbmGradient<f64>> {
        self.check_data(v, "gradient data")?;
        let layer = self.enumerated_layer()?;
        let log_z = self.log_partition()?;
        let (nv, nh) = (self.visible(), self.hidden());
        let mut gw = Mat::<f64>::zeros(nh, nv);
        let mut gb = Mat::<f64>::zeros(nv, 1);
        let mut gc = Mat::<f64>::zeros(nh, 1);
        // model term
        self.enumerate(|states, logp, means| {
            let p: Vec<f64> = logp.iter().map(|l| (l - log_z).exp()).collect();
            let weighted =
                Mat::from_fn(states.nrows(), states.ncols(), |i, s| states[(i, s)] * p[s]);
            let weighted_means =
                Mat::from_fn(means.nrows(), means.ncols(), |i, s| means[(i, s)] * p[s]);
            match layer {
                Layer::Hidden => {
                    gemm(-1.0, &weighted, false, means, true, 1.0, &mut gw);
                    for s in 0..p.len() {
                        for j in 0..nv {
                            gb[j] -= weighted_means[(j, s)];
                        }
                        for i in 0..nh {
                            gc[i] -= weighted[(i, s)];
                        }
                    }
                }
                Layer::Visible => {
                    gemm(-1.0, &weighted_means, false, states, true, 1.0, &mut gw);
                    for s in 0..p.len() {
                        for j in 0..nv {
                            gb[j] -= weighted[(j, s)];
                        }
                        for i in 0..nh {
                            gc[i] -= weighted_means[(i, s)];
                        }
                    }
                }
            }
        })?;
        // data term
        let v64: Mat<f64> = optim::scalar::cast(v);
        let m = self.model64();
        let n = v.ncols().max(1) as f64;
        let mut hp = Mat::zeros(nh, v.ncols());
        gemm(1.0, &m.w, false, &v64, false, 0.0, &mut hp);
        for s in 0..v.ncols() {
            for i in 0..nh {
                hp[(i, s)] = 1.0 / (1.0 + (-(hp[(i, s)] + m.c[i])).exp());
            }
        }
        gemm(1.0 / n, &hp, false, &v64, true, 1.0, &mut gw);
        for s in 0..v.ncols() {
            for j in 0..nv {
                gb[j] += v64[(j, s)] / n;
            }
            for i in 0..nh {
                gc[i] += hp[(i, s)] / n;
            }
        }
        Ok(RbmGradient {
            weight: gw,
            visible_bias: gb,
            hidden_bias: gc,
        })
    }

    /// Exact samples' statistics: the model's `E[vⱼ]` and `E[vⱼ vₖ]` (`n_v x n_v`), by
    /// enumerating the *visible* layer (Bernoulli units, `n_v ≤ 20`).
    ///
    /// # Errors
    /// [`RbmError::TooLarge`], [`RbmError::Unsupported`] for Gaussian units.
    pub fn exact_visible_moments(&self) -> Result<(Vec<f64>, Mat<f64>)> {
        if self.units() != Visible::Bernoulli {
            return Err(RbmError::Unsupported(
                "visible moments by enumeration need binary units",
            ));
        }
        let nv = self.visible();
        if nv > MAX_ENUMERATED {
            return Err(RbmError::TooLarge {
                units: nv,
                max: MAX_ENUMERATED,
            });
        }
        let all = Mat::<F>::from_fn(nv, 1 << nv, |j, s| F::of(((s >> j) & 1) as f64));
        let f = self.free_energy(&all);
        let neg: Vec<f64> = f.iter().map(|x| -x).collect();
        let lz = logsumexp(&neg);
        let mut mean = vec![0.0; nv];
        let mut second = Mat::zeros(nv, nv);
        for (s, nf) in neg.iter().enumerate() {
            let p = (nf - lz).exp();
            for j in 0..nv {
                if (s >> j) & 1 == 1 {
                    mean[j] += p;
                    for k in 0..nv {
                        if (s >> k) & 1 == 1 {
                            second[(j, k)] += p;
                        }
                    }
                }
            }
        }
        Ok((mean, second))
    }
}

/// `log Σ exp(xᵢ)`, stable.
pub fn logsumexp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}
