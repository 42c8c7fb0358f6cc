//! Batch normalization for vectors (Ioffe & Szegedy 2015), PyTorch's `nn.BatchNorm1d` on
//! `batch x features` input — here `features x batch`, one column per example.
//!
//! # Forward (training mode)
//!
//! For each feature (row) `r`, over the `N` columns of the batch:
//!
//! ```text
//! μ_r  = (1/N) Σ_j x_rj
//! σ²_r = (1/N) Σ_j (x_rj − μ_r)²              (biased: used to normalize)
//! x̂_rj = (x_rj − μ_r) / √(σ²_r + ε)
//! y_rj = γ_r x̂_rj + β_r
//! running_mean ← (1 − m)·running_mean + m·μ            (PyTorch's momentum convention,
//! running_var  ← (1 − m)·running_var  + m·σ²·N/(N − 1)  m = 0.1 by default; unbiased σ²)
//! ```
//!
//! In evaluation mode the running statistics replace the batch's:
//! `y = γ (x − running_mean) / √(running_var + ε) + β`, a fixed affine map per feature.
//!
//! # Backward
//!
//! With `s_r = 1/√(σ²_r + ε)` and `dY = ∂L/∂y`, every `x_rj` reaches the loss directly and
//! through `μ_r` and `σ²_r`; collecting the three paths gives
//!
//! ```text
//! ∂L/∂β_r += Σ_j dY_rj
//! ∂L/∂γ_r += Σ_j dY_rj x̂_rj
//! ∂L/∂x_rj = (γ_r s_r / N) · (N dY_rj − Σ_k dY_rk − x̂_rj Σ_k dY_rk x̂_rk)
//! ```
//!
//! (the two subtracted sums are exactly `∂L/∂β_r` and `∂L/∂γ_r` of this batch: the gradient is
//! `dY` with its mean and its projection on `x̂` removed, scaled by `γ s`).

use optim::{Error, Float, Mat, Param, Parameters, Result};

/// Batch normalization over the batch (columns) for each feature (row).
///
/// # Shapes
/// `weight` (`γ`), `bias` (`β`): logical shape `[features]` (stored `features x 1`);
/// buffers `running_mean`, `running_var`: `features x 1`; input and output `features x batch`.
#[derive(Debug, Clone)]
pub struct BatchNorm1d<F: Float> {
    /// Scale `γ`, initialized to 1.
    pub weight: Param<F>,
    /// Shift `β`, initialized to 0.
    pub bias: Param<F>,
    /// Running estimate of the mean, initialized to 0 (a buffer: saved, not trained).
    pub running_mean: Mat<F>,
    /// Running estimate of the (unbiased) variance, initialized to 1 (a buffer).
    pub running_var: Mat<F>,
    momentum: f64,
    eps: f64,
    /// `x̂` of the last training forward, `features x batch`.
    x_hat: Mat<F>,
    /// `1/√(σ² + ε)` per feature of the last training forward.
    inv_std: Vec<F>,
    /// Per-feature scratch sums (no allocation in the training step).
    sum_a: Vec<F>,
    sum_b: Vec<F>,
}

impl<F: Float> BatchNorm1d<F> {
    /// Batch norm over `features` with PyTorch's defaults: `momentum = 0.1`, `ε = 1e-5`.
    pub fn new(features: usize) -> Self {
        Self::with_options(features, 0.1, 1e-5).expect("defaults are valid")
    }

    /// Batch norm with a given momentum `m ∈ (0, 1]` (weight of the *new* batch statistic, as in
    /// PyTorch) and `ε > 0`.
    ///
    /// # Errors
    /// If `momentum` or `eps` is out of range.
    pub fn with_options(features: usize, momentum: f64, eps: f64) -> Result<Self> {
        if !(momentum.is_finite() && momentum > 0.0 && momentum <= 1.0) {
            return Err(Error::hyper(
                "batch_norm_momentum",
                momentum,
                "must lie in (0, 1]",
            ));
        }
        optim::check_positive("batch_norm_eps", eps)?;
        Ok(BatchNorm1d {
            weight: Param::vector(Mat::from_element(features, 1, F::one())),
            bias: Param::vector(Mat::zeros(features, 1)),
            running_mean: Mat::zeros(features, 1),
            running_var: Mat::from_element(features, 1, F::one()),
            momentum,
            eps,
            x_hat: Mat::zeros(0, 0),
            inv_std: vec![F::zero(); features],
            sum_a: vec![F::zero(); features],
            sum_b: vec![F::zero(); features],
        })
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.weight.value.nrows()
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
        if x.nrows() != self.features() {
            return Err(Error::shape(
                format!("BatchNorm1d {what} (features x batch)"),
                (self.features(), x.ncols()),
                x.shape(),
            ));
        }
        Ok(())
    }

    /// Training forward into `y` (resized if needed): normalizes with the batch statistics,
    /// updates the running statistics and caches `x̂` and `1/√(σ² + ε)` for [`Self::backward_into`].
    ///
    /// # Errors
    /// If `x` has the wrong number of rows, or fewer than 2 columns (the variance of one
    /// example is undefined; PyTorch refuses too).
    pub fn forward_train_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let (rows, n) = x.shape();
        if n < 2 {
            return Err(Error::Data(format!(
                "BatchNorm1d in training mode needs at least 2 examples per batch, got {n}"
            )));
        }
        let nf = F::of(n as f64);
        let eps = F::of(self.eps);
        let (mean, var) = (&mut self.sum_a, &mut self.sum_b);
        mean.iter_mut().for_each(|v| *v = F::zero());
        var.iter_mut().for_each(|v| *v = F::zero());
        for col in x.as_slice().chunks_exact(rows.max(1)) {
            for (m, &v) in mean.iter_mut().zip(col) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nf);
        for col in x.as_slice().chunks_exact(rows.max(1)) {
            for ((s, &m), &v) in var.iter_mut().zip(mean.iter()).zip(col) {
                let d = v - m;
                *s += d * d;
            }
        }
        var.iter_mut().for_each(|s| *s /= nf);
        for (inv, &v) in self.inv_std.iter_mut().zip(var.iter()) {
            *inv = F::one() / (v + eps).sqrt();
        }
        optim::linalg::resize_buffer(&mut self.x_hat, rows, n);
        optim::linalg::resize_buffer(y, rows, n);
        let gamma = self.weight.value.as_slice();
        let beta = self.bias.value.as_slice();
        for ((xc, hc), yc) in x
            .as_slice()
            .chunks_exact(rows.max(1))
            .zip(self.x_hat.as_mut_slice().chunks_exact_mut(rows.max(1)))
            .zip(y.as_mut_slice().chunks_exact_mut(rows.max(1)))
        {
            for r in 0..rows {
                let h = (xc[r] - mean[r]) * self.inv_std[r];
                hc[r] = h;
                yc[r] = gamma[r] * h + beta[r];
            }
        }
        let m = F::of(self.momentum);
        let keep = F::one() - m;
        let unbias = F::of(n as f64 / (n as f64 - 1.0));
        for r in 0..rows {
            self.running_mean[r] = keep * self.running_mean[r] + m * mean[r];
            self.running_var[r] = keep * self.running_var[r] + m * var[r] * unbias;
        }
        Ok(())
    }

    /// Training forward into a new matrix (see [`Self::forward_train_into`]).
    pub fn forward_train(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_train_into(x, &mut y)?;
        Ok(y)
    }

    /// Adds `∂L/∂γ` and `∂L/∂β` into the gradients and writes `∂L/∂x` into `dx` (resized if
    /// needed), from the cache of the last training forward (formulas in the module docs).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last training forward.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        self.backward_impl(dy, dx, true)
    }

    /// [`Self::backward_into`] that *overwrites* `∂L/∂γ` and `∂L/∂β` instead of adding (the
    /// training step uses it so it need not zero the gradients first).
    pub(crate) fn backward_impl(
        &mut self,
        dy: &Mat<F>,
        dx: &mut Mat<F>,
        accumulate: bool,
    ) -> Result<()> {
        if dy.shape() != self.x_hat.shape() || dy.is_empty() {
            return Err(Error::shape(
                "BatchNorm1d backward dY",
                self.x_hat.shape(),
                dy.shape(),
            ));
        }
        let (rows, n) = dy.shape();
        let (sum_dy, sum_dy_xhat) = (&mut self.sum_a, &mut self.sum_b);
        sum_dy.iter_mut().for_each(|v| *v = F::zero());
        sum_dy_xhat.iter_mut().for_each(|v| *v = F::zero());
        for (dc, hc) in dy
            .as_slice()
            .chunks_exact(rows)
            .zip(self.x_hat.as_slice().chunks_exact(rows))
        {
            for r in 0..rows {
                sum_dy[r] += dc[r];
                sum_dy_xhat[r] += dc[r] * hc[r];
            }
        }
        for r in 0..rows {
            if accumulate {
                self.bias.grad[r] += sum_dy[r];
                self.weight.grad[r] += sum_dy_xhat[r];
            } else {
                self.bias.grad[r] = sum_dy[r];
                self.weight.grad[r] = sum_dy_xhat[r];
            }
        }
        let nf = F::of(n as f64);
        let inv_n = F::one() / nf;
        optim::linalg::resize_buffer(dx, rows, n);
        let gamma = self.weight.value.as_slice();
        for ((dc, hc), xc) in dy
            .as_slice()
            .chunks_exact(rows)
            .zip(self.x_hat.as_slice().chunks_exact(rows))
            .zip(dx.as_mut_slice().chunks_exact_mut(rows))
        {
            for r in 0..rows {
                let scale = gamma[r] * self.inv_std[r] * inv_n;
                xc[r] = scale * (nf * dc[r] - sum_dy[r] - hc[r] * sum_dy_xhat[r]);
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
        let (rows, n) = x.shape();
        optim::linalg::resize_buffer(y, rows, n);
        if rows == 0 {
            return Ok(());
        }
        let eps = F::of(self.eps);
        for (xc, yc) in x
            .as_slice()
            .chunks_exact(rows)
            .zip(y.as_mut_slice().chunks_exact_mut(rows))
        {
            for r in 0..rows {
                let (a, b) = self.eval_affine(r, eps);
                yc[r] = a * xc[r] + b;
            }
        }
        Ok(())
    }

    /// Evaluation forward into a new matrix.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.predict_into(x, &mut y)?;
        Ok(y)
    }

    /// In evaluation mode feature `r` is the affine map `y = a x + b`; returns `(a, b)`.
    pub fn eval_affine_of(&self, r: usize) -> (F, F) {
        self.eval_affine(r, F::of(self.eps))
    }

    #[inline]
    fn eval_affine(&self, r: usize, eps: F) -> (F, F) {
        let a = self.weight.value[r] / (self.running_var[r] + eps).sqrt();
        (a, self.bias.value[r] - a * self.running_mean[r])
    }
}

impl<F: Float> Parameters<F> for BatchNorm1d<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        visit("bias", &mut self.bias);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        visit("running_mean", &mut self.running_mean);
        visit("running_var", &mut self.running_var);
    }
}
