//! Batch normalization (Ioffe & Szegedy 2015), one implementation for vectors and images:
//! PyTorch's `nn.BatchNorm1d` (per feature) and `nn.BatchNorm2d` (per channel).
//!
//! A column holds `C` groups of `A` values (`A = 1` for a feature vector, `A = H·W` for an image
//! in channel, row, column order). Each group `c` is standardized over the batch *and* its `A`
//! positions, `N = B·A` values in all, then scaled and shifted.
//!
//! # Forward (training mode)
//!
//! ```text
//! μ_c  = (1/N) Σ x                                 over the N values of group c
//! σ²_c = (1/N) Σ (x − μ_c)²                        (biased: used to normalize)
//! x̂    = (x − μ_c) / √(σ²_c + ε)
//! y    = γ_c x̂ + β_c
//! running_mean ← (1 − m)·running_mean + m·μ          (PyTorch's momentum convention,
//! running_var  ← (1 − m)·running_var  + m·σ²·N/(N−1)  m = 0.1 by default; unbiased σ²)
//! ```
//!
//! In evaluation mode the running statistics replace the batch's:
//! `y = γ (x − running_mean) / √(running_var + ε) + β`, a fixed affine map per group.
//!
//! # Backward
//!
//! With `s_c = 1/√(σ²_c + ε)` and `g = ∂L/∂y`, every `x` reaches the loss directly and through
//! `μ_c` and `σ²_c`; collecting the three paths gives
//!
//! ```text
//! ∂L/∂β_c += Σ g
//! ∂L/∂γ_c += Σ g x̂
//! ∂L/∂x    = (γ_c s_c / N) · (N g − Σ g − x̂ Σ g x̂)      (training mode)
//! ∂L/∂x    =  γ_c s_c g                                  (evaluation mode: μ, σ² are constants)
//! ```
//!
//! (the two subtracted sums are exactly this batch's `∂L/∂β_c` and `∂L/∂γ_c`: the gradient is
//! `g` with its mean and its projection on `x̂` removed, scaled by `γ s`).
//!
//! ```
//! use optim::{BatchNorm, Mat};
//! let mut bn = BatchNorm::<f64>::new(1);
//! let x = Mat::from_row_slice(1, 4, &[1.0, 2.0, 3.0, 4.0]);
//! let mut y = Mat::zeros(0, 0);
//! bn.forward_train_into(&x, &mut y)?;
//! // mean 2.5, biased variance 1.25: x̂ = (x − 2.5)/√(1.25 + 1e-5)
//! assert!((y[(0, 0)] + 1.5 / (1.25f64 + 1e-5).sqrt()).abs() < 1e-12);
//! // running statistics moved 10 % of the way: mean 0.25, unbiased variance 0.9 + 0.1·5/3
//! assert!((bn.running_mean[0] - 0.25).abs() < 1e-12);
//! assert!((bn.running_var[0] - (0.9 + 0.5 / 3.0)).abs() < 1e-12);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::linalg::resize_buffer;
use crate::{Error, Float, Mat, Param, Parameters, Result};

/// Batch normalization of `C` groups of `A` values per column (module docs).
///
/// # Shapes
/// `weight` (`γ`), `bias` (`β`): logical shape `[C]` (stored `C x 1`); buffers
/// `running_mean`, `running_var`: `C x 1`; input and output `(C·A) x batch`.
#[derive(Debug, Clone)]
pub struct BatchNorm<F: Float> {
    /// Scale `γ`, initialized to 1.
    pub weight: Param<F>,
    /// Shift `β`, initialized to 0.
    pub bias: Param<F>,
    /// Running estimate of the mean, initialized to 0 (a buffer: saved, not trained).
    pub running_mean: Mat<F>,
    /// Running estimate of the (unbiased) variance, initialized to 1 (a buffer). A checkpoint
    /// whose `running_var` holds a negative or non-finite value is refused on load, by name.
    pub running_var: Mat<F>,
    momentum: f64,
    eps: f64,
    /// Values per group and column (`A`): 1 for features, `H·W` for image channels.
    area: usize,
    /// `x̂` of the last forward, `(C·A) x batch`.
    x_hat: Mat<F>,
    /// `1/√(σ² + ε)` per group of the last forward.
    inv_std: Vec<F>,
    /// Whether the last forward used batch statistics.
    trained: bool,
    /// Per-group scratch sums (no allocation in the training step).
    sum_a: Vec<F>,
    sum_b: Vec<F>,
}

impl<F: Float> BatchNorm<F> {
    /// Batch norm over `features` (one value per group, `nn.BatchNorm1d`) with PyTorch's
    /// defaults: `momentum = 0.1`, `ε = 1e-5`.
    pub fn new(features: usize) -> Self {
        Self::images(features, 1)
    }

    /// Batch norm over `channels` of `area = H·W` values each (`nn.BatchNorm2d`), with
    /// PyTorch's defaults.
    pub fn images(channels: usize, area: usize) -> Self {
        BatchNorm {
            weight: Param::vector(Mat::from_element(channels, 1, F::one())),
            bias: Param::vector(Mat::zeros(channels, 1)),
            running_mean: Mat::zeros(channels, 1),
            running_var: Mat::from_element(channels, 1, F::one()),
            momentum: 0.1,
            eps: 1e-5,
            area: area.max(1),
            x_hat: Mat::zeros(0, 0),
            inv_std: vec![F::zero(); channels],
            trained: true,
            sum_a: vec![F::zero(); channels],
            sum_b: vec![F::zero(); channels],
        }
    }

    /// Sets the momentum `m ∈ (0, 1]` (weight of the *new* batch statistic, as in PyTorch) and
    /// `ε > 0`.
    ///
    /// # Errors
    /// If `momentum` or `eps` is out of range.
    pub fn with_options(mut self, momentum: f64, eps: f64) -> Result<Self> {
        if !(momentum.is_finite() && momentum > 0.0 && momentum <= 1.0) {
            return Err(Error::hyper(
                "batch_norm_momentum",
                momentum,
                "must lie in (0, 1]",
            ));
        }
        crate::check_positive("batch_norm_eps", eps)?;
        self.momentum = momentum;
        self.eps = eps;
        Ok(self)
    }

    /// Number of groups `C` (features or channels).
    pub fn channels(&self) -> usize {
        self.weight.value.nrows()
    }

    /// Values per group and column, `A`.
    pub fn area(&self) -> usize {
        self.area
    }

    /// Rows of an input column, `C·A`.
    pub fn rows(&self) -> usize {
        self.channels() * self.area
    }

    /// The momentum `m` of the running statistics.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// `ε`.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    fn check(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.rows() {
            return Err(Error::shape(
                format!("BatchNorm {what} (C·A x batch)"),
                (self.rows(), x.ncols()),
                x.shape(),
            ));
        }
        Ok(())
    }

    /// Training forward into `y` (resized if needed): normalizes with the batch statistics,
    /// updates the running statistics and caches `x̂` and `1/√(σ² + ε)` for the backward.
    ///
    /// # Errors
    /// If `x` has the wrong number of rows, or fewer than 2 values per group (the variance of
    /// one value is undefined; PyTorch refuses too).
    pub fn forward_train_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let count = x.ncols() * self.area;
        if count < 2 {
            return Err(Error::Data(format!(
                "BatchNorm in training mode needs at least 2 values per channel, got {} \
                 example(s) of {} value(s)",
                x.ncols(),
                self.area
            )));
        }
        let nf = F::of(count as f64);
        let eps = F::of(self.eps);
        let (rows, area) = (self.rows(), self.area);
        let (mean, var) = (&mut self.sum_a, &mut self.sum_b);
        mean.fill(F::zero());
        var.fill(F::zero());
        for col in x.as_slice().chunks_exact(rows) {
            for (m, group) in mean.iter_mut().zip(col.chunks_exact(area)) {
                for &v in group {
                    *m += v;
                }
            }
        }
        mean.iter_mut().for_each(|m| *m /= nf);
        for col in x.as_slice().chunks_exact(rows) {
            for ((s, &m), group) in var.iter_mut().zip(mean.iter()).zip(col.chunks_exact(area)) {
                for &v in group {
                    let d = v - m;
                    *s += d * d;
                }
            }
        }
        var.iter_mut().for_each(|s| *s /= nf);
        for (inv, &v) in self.inv_std.iter_mut().zip(var.iter()) {
            *inv = F::one() / (v + eps).sqrt();
        }
        let m = F::of(self.momentum);
        let keep = F::one() - m;
        let unbias = F::of(count as f64 / (count as f64 - 1.0));
        for c in 0..mean.len() {
            self.running_mean[c] = keep * self.running_mean[c] + m * mean[c];
            self.running_var[c] = keep * self.running_var[c] + m * var[c] * unbias;
        }
        let mean = std::mem::take(&mut self.sum_a);
        let inv_std = std::mem::take(&mut self.inv_std);
        self.normalize(x, &mean, &inv_std, y);
        self.sum_a = mean;
        self.inv_std = inv_std;
        self.trained = true;
        Ok(())
    }

    /// Evaluation forward into `y` with the running statistics, caching `x̂` so that a
    /// backward in evaluation mode (`∂L/∂x = γ s g`) is possible, e.g. for input gradients of a
    /// trained network.
    ///
    /// # Errors
    /// If `x` has the wrong number of rows.
    pub fn forward_eval_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let eps = F::of(self.eps);
        let mut inv_std = std::mem::take(&mut self.inv_std);
        for (inv, &v) in inv_std.iter_mut().zip(self.running_var.iter()) {
            *inv = F::one() / (v + eps).sqrt();
        }
        let mut mean = std::mem::take(&mut self.sum_a);
        mean.copy_from_slice(self.running_mean.as_slice());
        self.normalize(x, &mean, &inv_std, y);
        self.sum_a = mean;
        self.inv_std = inv_std;
        self.trained = false;
        Ok(())
    }

    /// `x̂ = (x − mean)·inv_std` into the cache and `y = γ x̂ + β`.
    fn normalize(&mut self, x: &Mat<F>, mean: &[F], inv_std: &[F], y: &mut Mat<F>) {
        let (rows, n, area) = (x.nrows(), x.ncols(), self.area);
        resize_buffer(&mut self.x_hat, rows, n);
        resize_buffer(y, rows, n);
        if rows == 0 {
            return;
        }
        let gamma = self.weight.value.as_slice();
        let beta = self.bias.value.as_slice();
        for ((xc, hc), yc) in x
            .as_slice()
            .chunks_exact(rows)
            .zip(self.x_hat.as_mut_slice().chunks_exact_mut(rows))
            .zip(y.as_mut_slice().chunks_exact_mut(rows))
        {
            for (c, ((xg, hg), yg)) in xc
                .chunks_exact(area)
                .zip(hc.chunks_exact_mut(area))
                .zip(yc.chunks_exact_mut(area))
                .enumerate()
            {
                for ((&v, h), out) in xg.iter().zip(hg).zip(yg) {
                    *h = (v - mean[c]) * inv_std[c];
                    *out = gamma[c] * *h + beta[c];
                }
            }
        }
    }

    /// Adds `∂L/∂γ` and `∂L/∂β` into the gradients and, if `dx` is given, writes `∂L/∂x` into it
    /// (resized if needed), from the cache of the last forward (formulas in the module docs).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: Option<&mut Mat<F>>) -> Result<()> {
        if dy.shape() != self.x_hat.shape() || dy.is_empty() {
            return Err(Error::shape(
                "BatchNorm backward dY",
                self.x_hat.shape(),
                dy.shape(),
            ));
        }
        let (rows, n, area) = (dy.nrows(), dy.ncols(), self.area);
        let (sum_dy, sum_dy_xhat) = (&mut self.sum_a, &mut self.sum_b);
        sum_dy.fill(F::zero());
        sum_dy_xhat.fill(F::zero());
        for (dc, hc) in dy
            .as_slice()
            .chunks_exact(rows)
            .zip(self.x_hat.as_slice().chunks_exact(rows))
        {
            for (c, (dg, hg)) in dc.chunks_exact(area).zip(hc.chunks_exact(area)).enumerate() {
                for (&d, &h) in dg.iter().zip(hg) {
                    sum_dy[c] += d;
                    sum_dy_xhat[c] += d * h;
                }
            }
        }
        for c in 0..sum_dy.len() {
            self.bias.grad[c] += sum_dy[c];
            self.weight.grad[c] += sum_dy_xhat[c];
        }
        let Some(dx) = dx else {
            return Ok(());
        };
        let count = F::of((n * area) as f64);
        resize_buffer(dx, rows, n);
        let gamma = self.weight.value.as_slice();
        for ((dc, hc), xc) in dy
            .as_slice()
            .chunks_exact(rows)
            .zip(self.x_hat.as_slice().chunks_exact(rows))
            .zip(dx.as_mut_slice().chunks_exact_mut(rows))
        {
            for (c, ((dg, hg), xg)) in dc
                .chunks_exact(area)
                .zip(hc.chunks_exact(area))
                .zip(xc.chunks_exact_mut(area))
                .enumerate()
            {
                let scale = gamma[c] * self.inv_std[c];
                if self.trained {
                    let (mean_dy, mean_dy_xhat) = (sum_dy[c] / count, sum_dy_xhat[c] / count);
                    for ((&d, &h), out) in dg.iter().zip(hg).zip(xg) {
                        *out = scale * (d - mean_dy - h * mean_dy_xhat);
                    }
                } else {
                    for (&d, out) in dg.iter().zip(xg) {
                        *out = scale * d;
                    }
                }
            }
        }
        Ok(())
    }

    /// Evaluation forward with the running statistics into `y`, without touching any cache.
    ///
    /// # Errors
    /// If `x` has the wrong number of rows.
    pub fn predict_into(&self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let (rows, n, area) = (x.nrows(), x.ncols(), self.area);
        resize_buffer(y, rows, n);
        if rows == 0 {
            return Ok(());
        }
        for (xc, yc) in x
            .as_slice()
            .chunks_exact(rows)
            .zip(y.as_mut_slice().chunks_exact_mut(rows))
        {
            for (c, (xg, yg)) in xc
                .chunks_exact(area)
                .zip(yc.chunks_exact_mut(area))
                .enumerate()
            {
                let (a, b) = self.eval_affine_of(c);
                for (&v, out) in xg.iter().zip(yg) {
                    *out = a * v + b;
                }
            }
        }
        Ok(())
    }

    /// Evaluation forward into a new matrix.
    ///
    /// # Errors
    /// If `x` has the wrong number of rows.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.predict_into(x, &mut y)?;
        Ok(y)
    }

    /// In evaluation mode group `c` is the affine map `y = a x + b`; returns `(a, b)`.
    pub fn eval_affine_of(&self, c: usize) -> (F, F) {
        let a = self.weight.value[c] / (self.running_var[c] + F::of(self.eps)).sqrt();
        (a, self.bias.value[c] - a * self.running_mean[c])
    }
}

impl<F: Float> Parameters<F> for BatchNorm<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        visit("bias", &mut self.bias);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        visit("running_mean", &mut self.running_mean);
        visit("running_var", &mut self.running_var);
    }
}
