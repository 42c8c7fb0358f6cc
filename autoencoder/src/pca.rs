//! Principal component analysis, the linear reference every autoencoder is measured against.
//!
//! With `X̄ = X − μ 1ᵀ` the centred data (`d x n`), PCA keeps the `k` leading left singular
//! vectors `U_k` of `X̄`; the reconstruction `x̂ = μ + U_k U_kᵀ (x − μ)` has the least squared
//! error of any rank-`k` affine map (Eckart–Young). A linear autoencoder trained with MSE
//! reaches the same error, its decoder spanning the same subspace (Baldi & Hornik 1989), but
//! its weights need not be orthonormal: only the span is determined.
//!
//! The singular vectors are computed by nalgebra's SVD of the `d x d` scatter matrix
//! `C = X̄ X̄ᵀ / n = U (Σ²/n) Uᵀ`, which has the same left singular vectors as `X̄` and is cheap
//! to form with one product when `n ≫ d`.

use optim::linalg::matmul;
use optim::{Error, Float, Mat, Result};

/// A fitted PCA.
///
/// ```
/// use autoencoder::Pca;
/// // points on a line in R²: one component explains everything
/// let x = optim::Mat::<f64>::from_fn(2, 5, |i, j| if i == 0 { j as f64 } else { 2.0 * j as f64 + 1.0 });
/// let pca = Pca::fit(&x, 1).unwrap();
/// assert!(pca.reconstruction_error(&x).unwrap() < 1e-20);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pca<F: Float> {
    /// The mean `μ`, `d x 1`.
    pub mean: Mat<F>,
    /// The principal directions `U_k` as orthonormal columns, `d x k`, by decreasing variance.
    pub components: Mat<F>,
    /// Variance along each principal direction, `σ_i² / n`, decreasing.
    pub explained_variance: Vec<f64>,
    /// Total variance `tr C` (all `d` directions).
    pub total_variance: f64,
}

impl<F: Float> Pca<F> {
    /// Fits the top-`k` principal subspace of the columns of `x` (`d x n`).
    ///
    /// # Errors
    /// An empty data set, `k = 0` or `k > d`, or non-finite data.
    pub fn fit(x: &Mat<F>, k: usize) -> Result<Self> {
        let (d, n) = x.shape();
        if n == 0 || d == 0 {
            return Err(Error::Data("PCA: empty data set".into()));
        }
        if k == 0 || k > d {
            return Err(Error::hyper(
                "PCA components",
                k,
                &format!("must lie in 1..={d}"),
            ));
        }
        optim::check_finite(x, "PCA data")?;
        let xd: Mat<f64> = x.map(|v| v.to_f64());
        let mean = Mat::from_fn(d, 1, |i, _| xd.row(i).sum() / n as f64);
        let mut centred = xd;
        for mut col in centred.column_iter_mut() {
            col -= &mean.column(0);
        }
        let mut scatter = matmul(&centred, false, &centred, true);
        scatter /= n as f64;
        let total_variance = scatter.trace();
        let svd = nalgebra::SVD::new(scatter, true, false);
        let u = svd.u.ok_or_else(|| Error::Numerical {
            context: "PCA".into(),
            reason: "SVD did not return singular vectors".into(),
        })?;
        let mut order: Vec<usize> = (0..svd.singular_values.len()).collect();
        order.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
        let components = Mat::from_fn(d, k, |i, j| F::of(u[(i, order[j])]));
        let explained_variance = order[..k].iter().map(|&i| svd.singular_values[i]).collect();
        Ok(Pca {
            mean: mean.map(F::of),
            components,
            explained_variance,
            total_variance,
        })
    }

    /// Number of components `k`.
    pub fn components(&self) -> usize {
        self.components.ncols()
    }

    /// Codes `U_kᵀ (x − μ)`.
    ///
    /// # Shapes
    /// `x`: `d x n` → `k x n`.
    pub fn transform(&self, x: &Mat<F>) -> Result<Mat<F>> {
        if x.nrows() != self.mean.nrows() {
            return Err(Error::shape(
                "PCA transform input",
                (self.mean.nrows(), x.ncols()),
                x.shape(),
            ));
        }
        let mut c = x.clone();
        for mut col in c.column_iter_mut() {
            col -= &self.mean.column(0);
        }
        Ok(matmul(&self.components, true, &c, false))
    }

    /// Reconstructions `μ + U_k c` from codes.
    ///
    /// # Shapes
    /// `codes`: `k x n` → `d x n`.
    pub fn inverse_transform(&self, codes: &Mat<F>) -> Result<Mat<F>> {
        if codes.nrows() != self.components() {
            return Err(Error::shape(
                "PCA inverse_transform codes",
                (self.components(), codes.ncols()),
                codes.shape(),
            ));
        }
        let mut x = matmul(&self.components, false, codes, false);
        for mut col in x.column_iter_mut() {
            col += &self.mean.column(0);
        }
        Ok(x)
    }

    /// `x̂ = μ + U_k U_kᵀ (x − μ)`.
    pub fn reconstruct(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.inverse_transform(&self.transform(x)?)
    }

    /// Mean squared reconstruction error per entry.
    pub fn reconstruction_error(&self, x: &Mat<F>) -> Result<f64> {
        crate::model::mse_per_entry(&self.reconstruct(x)?, x)
    }

    /// Fraction of the total variance the `k` components explain.
    pub fn explained_variance_ratio(&self) -> f64 {
        self.explained_variance.iter().sum::<f64>() / self.total_variance.max(f64::MIN_POSITIVE)
    }
}

/// The principal angles (radians, increasing) between the column spaces of `a` (`d x p`) and
/// `b` (`d x q`): with `Q_a`, `Q_b` orthonormal bases (QR), `cos θ_i` are the singular values of
/// `Q_aᵀ Q_b`. The largest angle is 0 exactly when one space contains the other.
///
/// # Errors
/// Different row counts, empty matrices, or rank-deficient columns.
pub fn principal_angles<F: Float>(a: &Mat<F>, b: &Mat<F>) -> Result<Vec<f64>> {
    if a.nrows() != b.nrows() || a.is_empty() || b.is_empty() {
        return Err(Error::shape("principal_angles", a.shape(), b.shape()));
    }
    let basis = |m: &Mat<F>, what: &str| -> Result<Mat<f64>> {
        let md: Mat<f64> = m.map(|v| v.to_f64());
        let qr = md.clone().qr();
        let r = qr.r();
        let scale = md.norm().max(f64::MIN_POSITIVE);
        if (0..r.nrows().min(r.ncols())).any(|i| r[(i, i)].abs() < 1e-10 * scale) {
            return Err(Error::Numerical {
                context: "principal_angles".into(),
                reason: format!("the columns of {what} are (nearly) linearly dependent"),
            });
        }
        Ok(qr.q())
    };
    let qa = basis(a, "the first matrix")?;
    let qb = basis(b, "the second matrix")?;
    let m = matmul(&qa, true, &qb, false);
    let s = m.singular_values();
    let mut angles: Vec<f64> = s.iter().map(|c| c.clamp(-1.0, 1.0).acos()).collect();
    angles.sort_by(f64::total_cmp);
    Ok(angles)
}
