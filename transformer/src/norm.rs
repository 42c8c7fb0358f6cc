//! Layer normalization (Ba, Kiros & Hinton 2016), PyTorch's `nn.LayerNorm(d)`: each column (one
//! position of one sequence) is standardized over its own `d` features, then scaled and shifted.
//! Unlike batch normalization nothing is shared between examples, so training and inference
//! compute the same function and a batch of one is fine.
//!
//! # Forward
//!
//! ```text
//! μ   = (1/d) Σ_i x_i                    over the d rows of one column
//! σ²  = (1/d) Σ_i (x_i − μ)²             (biased, as PyTorch)
//! s   = 1/√(σ² + ε)                       ε = 1e-5
//! x̂_i = (x_i − μ)·s
//! y_i = γ_i x̂_i + β_i
//! ```
//!
//! # Backward
//!
//! With `g = ∂L/∂y` and `ĝ = γ ⊙ g` (the gradient arriving at `x̂`), every `x_i` reaches the
//! loss through `x̂_i` directly and through `μ` and `σ²`, which every `x̂_j` of the column
//! depends on. `∂μ/∂x_i = 1/d` and `∂σ²/∂x_i = 2(x_i − μ)/d`; collecting the three paths:
//!
//! ```text
//! ∂L/∂x_i = s·ĝ_i − (s/d) Σ_j ĝ_j − (s/d) x̂_i Σ_j ĝ_j x̂_j
//!         = s·(ĝ_i − mean(ĝ) − x̂_i·mean(ĝ ⊙ x̂))
//! ∂L/∂γ  += Σ_columns g ⊙ x̂
//! ∂L/∂β  += Σ_columns g
//! ```
//!
//! The gradient at `x` is `ĝ` with its mean and its projection on `x̂` removed, scaled by `s`:
//! exactly the two directions in which normalizing cannot move. The cache holds `x̂` and `s`
//! per column (llm.c's `layernorm_forward` keeps the mean and `s`; `x̂` saves recomputing it).
//!
//! ```
//! use transformer::LayerNorm;
//! use optim::Mat;
//! let mut norm = LayerNorm::<f64>::new(4);
//! let x = Mat::from_column_slice(4, 1, &[1.0, 2.0, 3.0, 4.0]);
//! let y = norm.forward(&x)?;
//! // mean 2.5, biased variance 1.25
//! let s = 1.0 / (1.25f64 + 1e-5).sqrt();
//! assert!((y[0] + 1.5 * s).abs() < 1e-12 && (y[3] - 1.5 * s).abs() < 1e-12);
//! // a gradient that is the same for every feature is removed entirely: adding a constant to
//! // every feature of a column does not change its normalization
//! let dx = norm.backward(&Mat::from_element(4, 1, 1.0))?;
//! assert!(dx.iter().all(|v| v.abs() < 1e-12));
//! assert_eq!(norm.bias.grad.as_slice(), &[1.0; 4]);   // Σ g
//! assert_eq!(norm.weight.grad[0], (1.0 - 2.5) * s);    // Σ g ⊙ x̂
//! # Ok::<(), optim::Error>(())
//! ```

use optim::linalg::resize_buffer;
use optim::simd::{sum_map, sum_zip_map};
use optim::{Error, Float, Mat, Param, Parameters, Result};

/// Layer normalization over the `d` feature rows of each column (module docs for the formulas).
///
/// # Shapes
/// `weight` (`γ`), `bias` (`β`): logical shape `[d]` (stored `d x 1`), as PyTorch's
/// `nn.LayerNorm(d)`; input and output `d x n` for any number of columns `n`.
#[derive(Debug, Clone)]
pub struct LayerNorm<F: Float> {
    /// Scale `γ`, initialized to 1.
    pub weight: Param<F>,
    /// Shift `β`, initialized to 0.
    pub bias: Param<F>,
    eps: f64,
    /// `x̂` of the last training forward, `d x n`.
    x_hat: Mat<F>,
    /// `s = 1/√(σ² + ε)` per column of the last training forward.
    inv_std: Vec<F>,
}

impl<F: Float> LayerNorm<F> {
    /// Layer norm over `features` rows, `γ = 1`, `β = 0`, `ε = 1e-5` (PyTorch's defaults).
    pub fn new(features: usize) -> Self {
        LayerNorm {
            weight: Param::vector(Mat::from_element(features, 1, F::one())),
            bias: Param::vector(Mat::zeros(features, 1)),
            eps: 1e-5,
            x_hat: Mat::zeros(0, 0),
            inv_std: Vec::new(),
        }
    }

    /// Sets `ε > 0`.
    ///
    /// # Errors
    /// If `eps` is not positive and finite.
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        optim::check_positive("layer_norm_eps", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// Number of features `d`.
    pub fn features(&self) -> usize {
        self.weight.value.nrows()
    }

    /// `ε`.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    fn check(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.features() {
            return Err(Error::shape(
                format!("LayerNorm {what} (features x columns)"),
                (self.features(), x.ncols()),
                x.shape(),
            ));
        }
        Ok(())
    }

    /// `(μ, s)` of one column.
    #[inline]
    fn statistics(column: &[F], eps: F) -> (F, F) {
        // sums in sixteen partial sums (`optim::simd::sum_map`): a single running sum made
        // each addition wait for the one before
        let d = F::of(column.len() as f64);
        let mean = sum_map(column, |v| v) / d;
        let var = sum_map(column, |v| (v - mean) * (v - mean)) / d;
        (mean, F::one() / (var + eps).sqrt())
    }

    /// Training forward into `y` (resized if needed), caching `x̂` and `s` for the backward.
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn forward_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let (d, n) = x.shape();
        resize_buffer(&mut self.x_hat, d, n);
        resize_buffer(y, d, n);
        self.inv_std.resize(n, F::zero());
        if d == 0 {
            return Ok(());
        }
        let eps = F::of(self.eps);
        let (gamma, beta) = (self.weight.value.as_slice(), self.bias.value.as_slice());
        for (((xc, hc), yc), s_out) in x
            .as_slice()
            .chunks_exact(d)
            .zip(self.x_hat.as_mut_slice().chunks_exact_mut(d))
            .zip(y.as_mut_slice().chunks_exact_mut(d))
            .zip(self.inv_std.iter_mut())
        {
            let (mean, s) = Self::statistics(xc, eps);
            *s_out = s;
            for i in 0..d {
                hc[i] = (xc[i] - mean) * s;
                yc[i] = gamma[i] * hc[i] + beta[i];
            }
        }
        Ok(())
    }

    /// [`LayerNorm::forward_into`] into a new matrix.
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn forward(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, &mut y)?;
        Ok(y)
    }

    /// The same function without a cache (`&self`: inference, generation).
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn predict_into(&self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check(x, "input")?;
        let (d, n) = x.shape();
        resize_buffer(y, d, n);
        if d == 0 {
            return Ok(());
        }
        let eps = F::of(self.eps);
        let (gamma, beta) = (self.weight.value.as_slice(), self.bias.value.as_slice());
        for (xc, yc) in x
            .as_slice()
            .chunks_exact(d)
            .zip(y.as_mut_slice().chunks_exact_mut(d))
        {
            let (mean, s) = Self::statistics(xc, eps);
            for i in 0..d {
                yc[i] = gamma[i] * (xc[i] - mean) * s + beta[i];
            }
        }
        Ok(())
    }

    /// [`LayerNorm::predict_into`] into a new matrix.
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.predict_into(x, &mut y)?;
        Ok(y)
    }

    /// Adds `∂L/∂γ`, `∂L/∂β` into the gradients and writes `∂L/∂x` into `dx` (resized if
    /// needed), from the cache of the last [`LayerNorm::forward_into`] (module docs).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        if dy.shape() != self.x_hat.shape() {
            return Err(Error::shape(
                "LayerNorm backward dY",
                self.x_hat.shape(),
                dy.shape(),
            ));
        }
        let (d, n) = dy.shape();
        resize_buffer(dx, d, n);
        if d == 0 {
            return Ok(());
        }
        let inv_d = F::one() / F::of(d as f64);
        let gamma = self.weight.value.as_slice();
        let (dgamma, dbeta) = (
            self.weight.grad.as_mut_slice(),
            self.bias.grad.as_mut_slice(),
        );
        for (((gc, hc), xc), &s) in dy
            .as_slice()
            .chunks_exact(d)
            .zip(self.x_hat.as_slice().chunks_exact(d))
            .zip(dx.as_mut_slice().chunks_exact_mut(d))
            .zip(&self.inv_std)
        {
            for i in 0..d {
                dbeta[i] += gc[i];
                dgamma[i] += gc[i] * hc[i];
            }
            // ĝ = γ ⊙ g into the output column, then mean(ĝ) and mean(ĝ ⊙ x̂)
            for i in 0..d {
                xc[i] = gamma[i] * gc[i];
            }
            let mean_g = sum_map(xc, |v| v) * inv_d;
            let mean_gx = sum_zip_map(xc, hc, |g, h| g * h) * inv_d;
            for i in 0..d {
                xc[i] = s * (xc[i] - mean_g - hc[i] * mean_gx);
            }
        }
        Ok(())
    }

    /// [`LayerNorm::backward_into`] into a new matrix.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }
}

impl<F: Float> Parameters<F> for LayerNorm<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        visit("bias", &mut self.bias);
    }
}
