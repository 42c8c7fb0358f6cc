//! Radial basis function networks (notes §10, 径向基神经网络: *local response*).
//!
//! A hidden unit of an RBF network responds to how close the input is to its **centre** `c_j`,
//! on a length scale set by its **width** `σ_j`; the output is linear in those responses:
//!
//! ```text
//! s_jn = ‖x_n − c_j‖² / σ_j²        (scaled squared distance)
//! φ_jn = φ(s_jn)                     (the basis function)
//! y_n  = W φ_n + b                   (a linear read-out)
//! ```
//!
//! | [`Basis`] | `φ(s)` | `dφ/ds` |
//! |---|---|---|
//! | Gaussian | `exp(−s/2)` = `exp(−r²/(2σ²))` | `−φ/2` |
//! | multiquadric | `√(1 + s)` = `√(1 + r²/σ²)` | `1/(2φ)` |
//! | inverse multiquadric | `1/√(1 + s)` | `−φ³/2` |
//!
//! The Gaussian and the inverse multiquadric respond *locally*: an input far from every centre
//! gives `φ ≈ 0` and the network falls back to the bias — the inductive bias the notes name
//! (a smooth function is a sum of bumps). The multiquadric grows with distance and is not local,
//! yet is famous for interpolation quality (Hardy, 1971).
//!
//! Training is classically in two stages: place centres without looking at targets (k-means, or
//! every training point), choose widths, then solve for `W, b` by **linear least squares**, since
//! with centres and widths fixed the model is linear in its output weights. [`Rbf::fit_output_weights`]
//! solves `min ‖[Φᵀ 1][W b]ᵀ − Yᵀ‖² + λ‖W‖²` through a QR or SVD factorization in `f64`, and returns
//! an error — not garbage — when the system is numerically singular. Alternatively every parameter
//! (centres, widths, weights) is trained by gradient descent through [`Rbf::forward`] /
//! [`Rbf::backward`] and any `optim` optimizer: `Rbf` implements [`Trainable`] on a [`Dataset`], so
//! `model.fit(&train, validation, &mut optimizer, &config, &mut on_progress)` trains it in the
//! shared loop.
//!
//! With as many centres as points (every training point a centre, no bias) the least-squares
//! problem is square and the network **interpolates** the data exactly, provided the interpolation
//! matrix `Φ` is non-singular — which Micchelli (1986) proved for distinct points and all three
//! bases above.
//!
//! # Backward pass
//!
//! With `dy = ∂L/∂y` (`outputs x n`):
//!
//! ```text
//! ∂L/∂W  = dy φᵀ,           ∂L/∂b = dy 1
//! ∂L/∂φ  = Wᵀ dy,           ∂L/∂s = ∂L/∂φ ⊙ φ'(s)
//! σ_j = exp(ρ_j):           ∂L/∂ρ_j = Σ_n ∂L/∂s_jn · (−2 s_jn)
//! G_jn = (∂L/∂s_jn) / σ_j²  (the gradient with respect to r²_jn = ‖x_n − c_j‖²)
//! ∂L/∂c_j = −2 Σ_n G_jn (x_n − c_j) = −2 (X Gᵀ)_j + 2 c_j Σ_n G_jn
//! ∂L/∂x_n =  2 Σ_j G_jn (x_n − c_j) =  2 x_n Σ_j G_jn − 2 (C G)_n
//! ```
//!
//! Widths are stored as their logarithms `ρ = log σ` so that gradient descent can never make a
//! width zero or negative.
//!
//! ```
//! use classic::rbf::{Basis, Rbf};
//! use optim::Mat;
//! // one Gaussian unit at the origin with σ = 1, weight 2, bias 0.5
//! let mut net = Rbf::new(Basis::Gaussian, Mat::zeros(2, 1), &[1.0], 1, true).unwrap();
//! net.weight.value[(0, 0)] = 2.0;
//! net.bias.as_mut().unwrap().value[(0, 0)] = 0.5;
//! let x = Mat::from_column_slice(2, 2, &[0.0, 0.0, 3.0, 4.0]); // r = 0 and r = 5
//! let y = net.predict(&x).unwrap();
//! assert_eq!(y[(0, 0)], 2.5);                                        // 2·e⁰ + 0.5
//! assert!((y[(0, 1)] - (2.0 * (-12.5f64).exp() + 0.5)).abs() < 1e-15); // 2·e^{−25/2} + 0.5
//! ```

use crate::kmeans::{KMeans, kmeans};
use optim::checkpoint::Saveable;
use optim::data::{Dataset, Targets};
use optim::linalg::{gemm, resize_buffer};
use optim::train::{BatchLoss, Evaluation, Trainable};
use optim::{Error, Float, Mat, Param, Parameters, Result, StdRng};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The radial basis function `φ(s)` of the scaled squared distance `s = ‖x − c‖² / σ²`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// `φ = exp(−s/2)`: local, infinitely smooth.
    Gaussian,
    /// `φ = √(1 + s)`: grows with distance (Hardy's multiquadric).
    Multiquadric,
    /// `φ = 1/√(1 + s)`: local, heavy-tailed.
    InverseMultiquadric,
}

impl Basis {
    /// `φ(s)`.
    #[inline]
    pub fn value<F: Float>(self, s: F) -> F {
        match self {
            Basis::Gaussian => (-s * F::of(0.5)).exp(),
            Basis::Multiquadric => (F::one() + s).sqrt(),
            Basis::InverseMultiquadric => F::one() / (F::one() + s).sqrt(),
        }
    }

    /// `dφ/ds` written through `φ = φ(s)` (which the forward pass has already computed).
    #[inline]
    pub fn derivative<F: Float>(self, phi: F) -> F {
        match self {
            Basis::Gaussian => -phi * F::of(0.5),
            Basis::Multiquadric => F::of(0.5) / phi,
            Basis::InverseMultiquadric => -phi * phi * phi * F::of(0.5),
        }
    }

    /// The name, as configurations spell it.
    pub fn name(self) -> &'static str {
        match self {
            Basis::Gaussian => "gaussian",
            Basis::Multiquadric => "multiquadric",
            Basis::InverseMultiquadric => "inverse_multiquadric",
        }
    }

    /// Parses [`Basis::name`].
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gaussian" => Ok(Basis::Gaussian),
            "multiquadric" => Ok(Basis::Multiquadric),
            "inverse_multiquadric" => Ok(Basis::InverseMultiquadric),
            other => Err(Error::Data(format!("unknown RBF basis {other:?}"))),
        }
    }
}

/// What the forward pass keeps for the backward pass (reused between steps).
#[derive(Clone, Debug, Default)]
struct Cache<F: Float> {
    x: Mat<F>,
    /// `s` (`centres x n`).
    s: Mat<F>,
    /// `φ(s)` (`centres x n`).
    phi: Mat<F>,
    /// `∂L/∂φ`, then `∂L/∂s`, then `G` in place (`centres x n`).
    grad: Mat<F>,
    /// Per-centre scratch: `‖c_j‖²`, `1/σ_j²`, `Σ_n G_jn`.
    centre_sq: Vec<F>,
    inv_w2: Vec<F>,
    row_sum: Vec<F>,
    valid: bool,
    /// The gathered inputs, targets and labels of a training batch ([`Trainable`]).
    batch_x: Mat<F>,
    batch_t: Mat<F>,
    batch_labels: Vec<usize>,
}

/// An RBF network `y = W φ(‖x − c‖²/σ²) + b`.
///
/// # Shapes
/// - `centres`: `inputs x centres` (one column per centre; parameter `centres`);
/// - `log_widths`: `centres x 1`, `σ_j = exp(ρ_j)` (parameter `log_widths`);
/// - `weight`: `outputs x centres` (parameter `weight`); `bias`: `outputs x 1` (parameter `bias`).
///
/// Inputs are `inputs x n`, outputs `outputs x n`.
#[derive(Clone, Debug)]
pub struct Rbf<F: Float> {
    /// The basis function.
    pub basis: Basis,
    /// Centres `c_j`, one per column.
    pub centres: Param<F>,
    /// `ρ_j = log σ_j`.
    pub log_widths: Param<F>,
    /// Output weights `W`.
    pub weight: Param<F>,
    /// Output bias `b`, if the model has one.
    pub bias: Option<Param<F>>,
    /// Whether [`Rbf::backward`] accumulates gradients into the centres (default true).
    pub train_centres: bool,
    /// Whether [`Rbf::backward`] accumulates gradients into the widths (default true).
    pub train_widths: bool,
    cache: Cache<F>,
}

impl<F: Float> Parameters<F> for Rbf<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("centres", &mut self.centres);
        visit("log_widths", &mut self.log_widths);
        visit("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            visit("bias", b);
        }
    }
}

fn check_widths(widths: &[f64]) -> Result<()> {
    for (j, &w) in widths.iter().enumerate() {
        if !(w.is_finite() && w > 0.0) {
            return Err(Error::hyper(
                &format!("widths[{j}]"),
                w,
                "an RBF width must be positive and finite",
            ));
        }
    }
    Ok(())
}

impl<F: Float> Rbf<F> {
    /// A network with the given centres (`inputs x centres`) and widths, output weights zero.
    ///
    /// # Errors
    /// No centres, zero inputs or outputs, a width count that differs from the centre count, a
    /// width `≤ 0` or not finite, non-finite centres.
    pub fn new(
        basis: Basis,
        centres: Mat<F>,
        widths: &[f64],
        outputs: usize,
        bias: bool,
    ) -> Result<Self> {
        let (d, m) = centres.shape();
        if m == 0 || d == 0 {
            return Err(Error::Data(format!(
                "Rbf::new: centres are {d} x {m}; need at least one centre of at least one input"
            )));
        }
        if outputs == 0 {
            return Err(Error::hyper("outputs", 0, "must be at least 1"));
        }
        if widths.len() != m {
            return Err(Error::Shape {
                context: "Rbf::new widths".into(),
                expected: format!("{m} widths (one per centre)"),
                got: widths.len().to_string(),
            });
        }
        check_widths(widths)?;
        optim::check_finite(&centres, "Rbf::new centres")?;
        let log_widths = Mat::from_iterator(m, 1, widths.iter().map(|w| F::of(w.ln())));
        Ok(Self {
            basis,
            centres: Param::new(centres),
            log_widths: Param::vector(log_widths),
            weight: Param::new(Mat::zeros(outputs, m)),
            bias: bias.then(|| Param::vector(Mat::zeros(outputs, 1))),
            train_centres: true,
            train_widths: true,
            cache: Cache::default(),
        })
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.centres.value.nrows()
    }

    /// Number of centres (hidden units).
    pub fn num_centres(&self) -> usize {
        self.centres.value.ncols()
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.weight.value.nrows()
    }

    /// The widths `σ_j = exp(ρ_j)`.
    pub fn widths(&self) -> Vec<f64> {
        self.log_widths
            .value
            .iter()
            .map(|r| r.to_f64().exp())
            .collect()
    }

    /// Sets every width (`σ_j > 0`).
    pub fn set_widths(&mut self, widths: &[f64]) -> Result<()> {
        if widths.len() != self.num_centres() {
            return Err(Error::Shape {
                context: "Rbf::set_widths".into(),
                expected: format!("{} widths", self.num_centres()),
                got: widths.len().to_string(),
            });
        }
        check_widths(widths)?;
        for (r, w) in self.log_widths.value.iter_mut().zip(widths) {
            *r = F::of(w.ln());
        }
        Ok(())
    }

    /// The hidden responses `φ` into `s` and `phi` (both `centres x n`), without checks.
    fn hidden_into(
        &self,
        x: &Mat<F>,
        s: &mut Mat<F>,
        phi: &mut Mat<F>,
        c_sq: &mut Vec<F>,
        inv_w2: &mut Vec<F>,
    ) {
        let (m, n) = (self.num_centres(), x.ncols());
        resize_buffer(s, m, n);
        resize_buffer(phi, m, n);
        // s = ‖x‖² + ‖c‖² − 2 cᵀx, then divided by σ²
        gemm(
            F::of(-2.0),
            &self.centres.value,
            true,
            x,
            false,
            F::zero(),
            s,
        );
        let c = &self.centres.value;
        c_sq.clear();
        c_sq.extend((0..m).map(|j| c.column(j).norm_squared()));
        self.inverse_squared_widths(inv_w2);
        for col in 0..n {
            let x_sq = x.column(col).norm_squared();
            for j in 0..m {
                let r2 = s[(j, col)] + x_sq + c_sq[j];
                // rounding can make a squared distance slightly negative
                let r2 = if r2 > F::zero() { r2 } else { F::zero() };
                let sj = r2 * inv_w2[j];
                s[(j, col)] = sj;
                phi[(j, col)] = self.basis.value(sj);
            }
        }
    }

    /// `1/σ_j² = exp(−2ρ_j)` into `out`.
    fn inverse_squared_widths(&self, out: &mut Vec<F>) {
        out.clear();
        out.extend(self.log_widths.value.iter().map(|&r| (-(r + r)).exp()));
    }

    /// The hidden layer's responses `φ` (`centres x n`) — what a plot of the basis functions draws.
    pub fn hidden(&self, x: &Mat<F>) -> Result<Mat<F>> {
        optim::check_batch(x, self.inputs(), "Rbf::hidden input")?;
        let (mut s, mut phi) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.hidden_into(x, &mut s, &mut phi, &mut Vec::new(), &mut Vec::new());
        Ok(phi)
    }

    fn output_from(&self, phi: &Mat<F>) -> Mat<F> {
        let mut y = Mat::zeros(self.outputs(), phi.ncols());
        gemm(
            F::one(),
            &self.weight.value,
            false,
            phi,
            false,
            F::zero(),
            &mut y,
        );
        if let Some(b) = &self.bias {
            for mut col in y.column_iter_mut() {
                col += &b.value.column(0);
            }
        }
        y
    }

    /// Prediction without a cache: `y = W φ + b`.
    ///
    /// # Shapes
    /// `x`: `inputs x n` → `outputs x n`.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let phi = self.hidden(x)?;
        Ok(self.output_from(&phi))
    }

    /// Forward pass for training; keeps `x`, `s` and `φ` for [`Rbf::backward`].
    ///
    /// # Shapes
    /// `x`: `inputs x n` → `outputs x n`.
    pub fn forward(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        optim::check_batch(x, self.inputs(), "Rbf::forward input")?;
        let mut cache = std::mem::take(&mut self.cache);
        resize_buffer(&mut cache.x, x.nrows(), x.ncols());
        cache.x.copy_from(x);
        self.hidden_into(
            x,
            &mut cache.s,
            &mut cache.phi,
            &mut cache.centre_sq,
            &mut cache.inv_w2,
        );
        let y = self.output_from(&cache.phi);
        cache.valid = true;
        self.cache = cache;
        Ok(y)
    }

    /// Backward pass (see the module docs for the formulas): adds `∂L/∂W`, `∂L/∂b`, and — when
    /// [`Rbf::train_centres`] / [`Rbf::train_widths`] — `∂L/∂c`, `∂L/∂ρ` into the parameters'
    /// gradients, and returns `∂L/∂x`.
    ///
    /// # Shapes
    /// `dy`: `outputs x n` (the `n` of the last forward) → `inputs x n`.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        if !self.cache.valid {
            return Err(Error::Data("Rbf::backward called before forward".into()));
        }
        let n = self.cache.x.ncols();
        if dy.shape() != (self.outputs(), n) {
            return Err(Error::shape(
                "Rbf::backward dy",
                (self.outputs(), n),
                dy.shape(),
            ));
        }
        let m = self.num_centres();
        let cache = &mut self.cache;
        // ∂L/∂W = dy φᵀ, ∂L/∂b = dy 1
        gemm(
            F::one(),
            dy,
            false,
            &cache.phi,
            true,
            F::one(),
            &mut self.weight.grad,
        );
        if let Some(b) = &mut self.bias {
            for col in dy.column_iter() {
                b.grad.column_mut(0).zip_apply(&col, |g, v| *g += v);
            }
        }
        // ∂L/∂φ = Wᵀ dy, then ∂L/∂s = ∂L/∂φ ⊙ φ'(s)
        resize_buffer(&mut cache.grad, m, n);
        gemm(
            F::one(),
            &self.weight.value,
            true,
            dy,
            false,
            F::zero(),
            &mut cache.grad,
        );
        let basis = self.basis;
        cache
            .grad
            .zip_apply(&cache.phi, |g, phi| *g *= basis.derivative(phi));
        // ∂L/∂ρ_j = Σ_n ∂L/∂s_jn · (−2 s_jn)
        if self.train_widths {
            for col in 0..n {
                for j in 0..m {
                    self.log_widths.grad[(j, 0)] -=
                        F::of(2.0) * cache.grad[(j, col)] * cache.s[(j, col)];
                }
            }
        }
        // G = ∂L/∂r² = ∂L/∂s / σ²
        // (the widths have not changed since forward: `inv_w2` is still 1/σ²)
        let (inv_w2, row_sum) = (&cache.inv_w2, &mut cache.row_sum);
        row_sum.clear();
        row_sum.resize(m, F::zero());
        for col in 0..n {
            for j in 0..m {
                let g = cache.grad[(j, col)] * inv_w2[j];
                cache.grad[(j, col)] = g;
                row_sum[j] += g;
            }
        }
        // ∂L/∂c_j = −2 (X Gᵀ)_j + 2 c_j Σ_n G_jn
        if self.train_centres {
            gemm(
                F::of(-2.0),
                &cache.x,
                false,
                &cache.grad,
                true,
                F::one(),
                &mut self.centres.grad,
            );
            for j in 0..m {
                let scale = F::of(2.0) * row_sum[j];
                let c = self.centres.value.column(j);
                self.centres
                    .grad
                    .column_mut(j)
                    .zip_apply(&c, |g, cv| *g += scale * cv);
            }
        }
        // ∂L/∂x_n = 2 x_n Σ_j G_jn − 2 (C G)_n
        let mut dx = Mat::zeros(self.centres.value.nrows(), n);
        gemm(
            F::of(-2.0),
            &self.centres.value,
            false,
            &cache.grad,
            false,
            F::zero(),
            &mut dx,
        );
        for col in 0..n {
            let scale = F::of(2.0) * cache.grad.column(col).sum();
            let xc = cache.x.column(col);
            dx.column_mut(col).zip_apply(&xc, |g, xv| *g += scale * xv);
        }
        Ok(dx)
    }

    /// Solves for the output weights (and bias) by linear least squares with the centres and
    /// widths held fixed: `min ‖A w − t‖² + λ‖W‖²` with `A = [Φᵀ 1]` (`n x (centres + 1)`, the
    /// column of ones only with a bias), one right-hand side per output. Runs in `f64`.
    ///
    /// # Shapes
    /// `x`: `inputs x n`; `targets`: `outputs x n`.
    ///
    /// # Errors
    /// Shape mismatches, empty or non-finite data, a negative ridge, fewer equations than unknowns
    /// without a ridge term, and a numerically singular system ([`Error::Numerical`], with the
    /// condition estimate): e.g. two identical training points used as two centres.
    pub fn fit_output_weights(
        &mut self,
        x: &Mat<F>,
        targets: &Mat<F>,
        ls: &LeastSquares,
    ) -> Result<LeastSquaresFit> {
        optim::check_batch(x, self.inputs(), "Rbf::fit_output_weights input")?;
        if targets.shape() != (self.outputs(), x.ncols()) {
            return Err(Error::shape(
                "Rbf::fit_output_weights targets",
                (self.outputs(), x.ncols()),
                targets.shape(),
            ));
        }
        optim::check_finite(targets, "Rbf::fit_output_weights targets")?;
        if !(ls.ridge.is_finite() && ls.ridge >= 0.0) {
            return Err(Error::hyper(
                "ridge",
                ls.ridge,
                "must be non-negative and finite",
            ));
        }
        // The design matrix in f64 whatever F is: least squares squares the condition number of
        // nothing (we factor A itself) but still deserves the extra digits.
        let model64 = self.cast::<f64>();
        let x64 = x.map(|v| v.to_f64());
        let phi = model64.hidden(&x64)?;
        let (m, n) = phi.shape();
        let has_bias = self.bias.is_some();
        let p = m + usize::from(has_bias);
        let extra = if ls.ridge > 0.0 { m } else { 0 };
        if n + extra < p {
            return Err(Error::Data(format!(
                "least squares: {n} equations for {p} unknowns; add a ridge term or use fewer centres"
            )));
        }
        let mut a = Mat::<f64>::zeros(n + extra, p);
        let mut t = Mat::<f64>::zeros(n + extra, self.outputs());
        for i in 0..n {
            for j in 0..m {
                a[(i, j)] = phi[(j, i)];
            }
            if has_bias {
                a[(i, m)] = 1.0;
            }
            for o in 0..self.outputs() {
                t[(i, o)] = targets[(o, i)].to_f64();
            }
        }
        let root = ls.ridge.sqrt();
        for j in 0..extra {
            a[(n + j, j)] = root;
        }
        let (w, condition) = solve_least_squares(&a, &t, ls.solver)?;
        // residual of the data rows (not the ridge rows)
        let fitted = a.rows(0, n) * &w;
        let resid = (&fitted - t.rows(0, n)).norm();
        let t_norm = t.rows(0, n).norm();
        for o in 0..self.outputs() {
            for j in 0..m {
                self.weight.value[(o, j)] = F::of(w[(j, o)]);
            }
            if let Some(b) = &mut self.bias {
                b.value[(o, 0)] = F::of(w[(m, o)]);
            }
        }
        Ok(LeastSquaresFit {
            residual_norm: resid,
            relative_residual: if t_norm > 0.0 { resid / t_norm } else { resid },
            condition,
        })
    }

    /// The same network in another scalar type.
    pub fn cast<G: Float>(&self) -> Rbf<G> {
        let c = |p: &Param<F>| Param::with_shape(optim::scalar::cast(&p.value), p.shape.clone());
        Rbf {
            basis: self.basis,
            centres: c(&self.centres),
            log_widths: c(&self.log_widths),
            weight: c(&self.weight),
            bias: self.bias.as_ref().map(c),
            train_centres: self.train_centres,
            train_widths: self.train_widths,
            cache: Cache::default(),
        }
    }

    /// The architecture: basis, sizes, bias and which parameters train.
    pub fn architecture(&self) -> RbfArchitecture {
        RbfArchitecture {
            basis: self.basis,
            inputs: self.inputs(),
            centres: self.num_centres(),
            outputs: self.outputs(),
            bias: self.bias.is_some(),
            train_centres: self.train_centres,
            train_widths: self.train_widths,
        }
    }

    /// Saves the parameters (by name) and the architecture (kind `rbf`, JSON config) with
    /// [`optim::checkpoint::save_model`].
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        optim::checkpoint::save_model(path, self, &[])
    }

    /// Loads a network saved by [`Rbf::save`] ([`optim::checkpoint::load_model`]: the size the
    /// configuration implies is checked against the file before anything is built).
    ///
    /// # Errors
    /// An unreadable file, a checkpoint of another model, a configuration the file cannot hold,
    /// missing or misshapen tensors.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        optim::checkpoint::load_model(path)
    }
}

/// What determines an RBF network's parameters: the configuration stored in its checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbfArchitecture {
    /// The basis function.
    pub basis: Basis,
    /// Input dimension.
    pub inputs: usize,
    /// Number of centres (hidden units).
    pub centres: usize,
    /// Number of outputs.
    pub outputs: usize,
    /// Whether the read-out has a bias.
    pub bias: bool,
    /// [`Rbf::train_centres`].
    pub train_centres: bool,
    /// [`Rbf::train_widths`].
    pub train_widths: bool,
}

impl<F: Float> Saveable<F> for Rbf<F> {
    const KIND: &'static str = "rbf";
    type Config = RbfArchitecture;

    fn config(&self) -> RbfArchitecture {
        self.architecture()
    }

    fn parameter_count(c: &RbfArchitecture) -> Option<usize> {
        // centres d·m + log-widths m + weights k·m + bias k
        let centres = c.inputs.checked_mul(c.centres)?;
        let weights = c.outputs.checked_mul(c.centres)?;
        centres
            .checked_add(c.centres)?
            .checked_add(weights)?
            .checked_add(if c.bias { c.outputs } else { 0 })
    }

    fn from_config(c: &RbfArchitecture) -> Result<Self> {
        let mut model = Rbf::new(
            c.basis,
            Mat::zeros(c.inputs, c.centres),
            &vec![1.0; c.centres],
            c.outputs,
            c.bias,
        )?;
        model.train_centres = c.train_centres;
        model.train_widths = c.train_widths;
        Ok(model)
    }
}

/// How [`Rbf::fit_output_weights`] factors the least-squares system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Householder QR, `A = QR`, `w = R⁻¹ Qᵀ t`; singular when some `|R_ii| ≤ tol · max |R_jj|`.
    Qr,
    /// Singular value decomposition, `w = V Σ⁻¹ Uᵀ t`; singular when `σ_min ≤ tol · σ_max`.
    #[default]
    Svd,
}

/// Settings of the least-squares read-out.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeastSquares {
    /// Factorization (default SVD).
    pub solver: Solver,
    /// Ridge `λ ≥ 0` on the output weights (not the bias); default 0.
    pub ridge: f64,
}

impl Default for LeastSquares {
    fn default() -> Self {
        Self {
            solver: Solver::Svd,
            ridge: 0.0,
        }
    }
}

/// What [`Rbf::fit_output_weights`] reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeastSquaresFit {
    /// `‖A w − t‖` over the data (Frobenius over all outputs).
    pub residual_norm: f64,
    /// `‖A w − t‖ / ‖t‖`.
    pub relative_residual: f64,
    /// Condition estimate: `σ_max / σ_min` (SVD) or `max |R_ii| / min |R_ii|` (QR).
    pub condition: f64,
}

/// Solves `min ‖A w − T‖` (`A`: `rows x p`, `rows ≥ p`; `T`: `rows x k`), refusing a numerically
/// singular `A` (tolerance `max(rows, p) · ε`, NumPy's `matrix_rank` default).
pub fn solve_least_squares(a: &Mat<f64>, t: &Mat<f64>, solver: Solver) -> Result<(Mat<f64>, f64)> {
    let (rows, p) = a.shape();
    if rows < p || p == 0 {
        return Err(Error::Data(format!(
            "least squares needs at least as many equations as unknowns (got {rows} x {p})"
        )));
    }
    if t.nrows() != rows {
        return Err(Error::shape(
            "least squares targets",
            (rows, t.ncols()),
            t.shape(),
        ));
    }
    let tol = rows.max(p) as f64 * f64::EPSILON;
    let singular = |condition: f64| Error::Numerical {
        context: "RBF least squares".into(),
        reason: format!(
            "the system is singular to working precision (condition estimate {condition:.3e} > \
             1/{tol:.1e}); are two centres or two training points identical? a ridge term helps"
        ),
    };
    match solver {
        Solver::Svd => {
            let svd = a.clone().svd(true, true);
            let sv = &svd.singular_values;
            let max = sv.iter().cloned().fold(0.0, f64::max);
            let min = sv.iter().cloned().fold(f64::INFINITY, f64::min);
            let condition = if min > 0.0 { max / min } else { f64::INFINITY };
            if max.is_nan() || max <= 0.0 || min.is_nan() || min <= tol * max {
                return Err(singular(condition));
            }
            let u = svd.u.as_ref().expect("computed");
            let v_t = svd.v_t.as_ref().expect("computed");
            let mut ut_t = u.transpose() * t;
            for (i, mut row) in ut_t.row_iter_mut().enumerate() {
                row /= sv[i];
            }
            Ok((v_t.transpose() * ut_t, condition))
        }
        Solver::Qr => {
            let qr = a.clone().qr();
            let r = qr.r();
            let diag: Vec<f64> = (0..p).map(|i| r[(i, i)].abs()).collect();
            let max = diag.iter().cloned().fold(0.0, f64::max);
            let min = diag.iter().cloned().fold(f64::INFINITY, f64::min);
            let condition = if min > 0.0 { max / min } else { f64::INFINITY };
            if max.is_nan() || max <= 0.0 || min.is_nan() || min <= tol * max {
                return Err(singular(condition));
            }
            let qt_t = qr.q().transpose() * t;
            let w = r
                .solve_upper_triangular(&qt_t)
                .ok_or_else(|| singular(condition))?;
            Ok((w, condition))
        }
    }
}

/// Where the centres come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Centres {
    /// k-means (k-means++ seeding, seeded by the caller's generator).
    KMeans(KMeans),
    /// Every training point is a centre (exact interpolation when there is no bias).
    AllPoints,
}

/// How the widths are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Widths {
    /// One width for every centre.
    Fixed(f64),
    /// `σ_j = scale · mean distance from c_j to its `neighbours` nearest other centres`
    /// (Moody & Darken's p-nearest-neighbour heuristic).
    NearestNeighbour {
        /// How many nearest centres to average over (≥ 1).
        neighbours: usize,
        /// Multiplier (> 0).
        scale: f64,
    },
    /// `σ = d_max / √(2m)` for every centre, with `d_max` the largest distance between two
    /// centres (Haykin's rule).
    MaxDistance,
}

/// Widths for the given centres (`inputs x m`).
///
/// # Errors
/// A fixed width `≤ 0`, `neighbours = 0` or `≥ m`, `scale ≤ 0`, or a zero width (duplicate
/// centres under the nearest-neighbour rule, a single centre under the max-distance rule).
pub fn choose_widths<F: Float>(centres: &Mat<F>, rule: Widths) -> Result<Vec<f64>> {
    let m = centres.ncols();
    let dist = |a: usize, b: usize| -> f64 {
        centres
            .column(a)
            .iter()
            .zip(centres.column(b).iter())
            .map(|(&u, &v)| (u.to_f64() - v.to_f64()).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let widths = match rule {
        Widths::Fixed(w) => vec![w; m],
        Widths::NearestNeighbour { neighbours, scale } => {
            optim::check_positive("scale", scale)?;
            if neighbours == 0 || neighbours >= m {
                return Err(Error::hyper(
                    "neighbours",
                    neighbours,
                    &format!("must lie in 1..{m} (the number of other centres)"),
                ));
            }
            (0..m)
                .map(|j| {
                    let mut d: Vec<f64> = (0..m).filter(|&i| i != j).map(|i| dist(i, j)).collect();
                    d.sort_by(f64::total_cmp);
                    scale * d[..neighbours].iter().sum::<f64>() / neighbours as f64
                })
                .collect()
        }
        Widths::MaxDistance => {
            let mut dmax = 0.0f64;
            for a in 0..m {
                for b in a + 1..m {
                    dmax = dmax.max(dist(a, b));
                }
            }
            vec![dmax / (2.0 * m as f64).sqrt(); m]
        }
    };
    check_widths(&widths)?;
    Ok(widths)
}

/// The two-stage recipe: centres, widths, then least squares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RbfConfig {
    /// Basis function (default Gaussian).
    pub basis: Basis,
    /// Centre placement (default k-means with 10 centres).
    pub centres: Centres,
    /// Width rule (default two nearest neighbours, scale 1).
    pub widths: Widths,
    /// Whether the read-out has a bias (default true).
    pub bias: bool,
    /// The least-squares solve (default SVD, no ridge).
    pub least_squares: LeastSquares,
}

impl Default for RbfConfig {
    fn default() -> Self {
        Self {
            basis: Basis::Gaussian,
            centres: Centres::KMeans(KMeans {
                k: 10,
                ..KMeans::default()
            }),
            widths: Widths::NearestNeighbour {
                neighbours: 2,
                scale: 1.0,
            },
            bias: true,
            least_squares: LeastSquares::default(),
        }
    }
}

impl RbfConfig {
    /// The settings of the Mackey-Glass figure (test RMSE 0.0037 on Jang's set-up, seed 0):
    /// Gaussian basis, 60 k-means centres (4 restarts), widths 4 × the mean distance to the two
    /// nearest other centres, bias, SVD least squares with ridge `1e-10`.
    pub fn mackey_glass() -> Self {
        Self {
            basis: Basis::Gaussian,
            centres: Centres::KMeans(KMeans {
                k: 60,
                max_iter: 300,
                n_init: 4,
            }),
            widths: Widths::NearestNeighbour {
                neighbours: 2,
                scale: 4.0,
            },
            bias: true,
            least_squares: LeastSquares {
                solver: Solver::Svd,
                ridge: 1e-10,
            },
        }
    }
}

/// Builds and fits an RBF network for regression: centres and widths by `config`, output weights
/// by least squares on `targets`.
///
/// # Shapes
/// `x`: `inputs x n`; `targets`: `outputs x n`.
pub fn fit<F: Float>(
    config: &RbfConfig,
    x: &Mat<F>,
    targets: &Mat<F>,
    rng: &mut impl Rng,
) -> Result<(Rbf<F>, LeastSquaresFit)> {
    if x.ncols() == 0 || x.nrows() == 0 {
        return Err(Error::Data(format!(
            "rbf::fit: empty data ({} x {})",
            x.nrows(),
            x.ncols()
        )));
    }
    optim::check_finite(x, "rbf::fit input")?;
    if targets.ncols() != x.ncols() || targets.nrows() == 0 {
        return Err(Error::Shape {
            context: "rbf::fit targets".into(),
            expected: format!("outputs x {}", x.ncols()),
            got: format!("{} x {}", targets.nrows(), targets.ncols()),
        });
    }
    let centres = match &config.centres {
        Centres::KMeans(opts) => kmeans(x, opts, rng)?.centres,
        Centres::AllPoints => x.clone(),
    };
    let widths = choose_widths(&centres, config.widths)?;
    let mut model = Rbf::new(config.basis, centres, &widths, targets.nrows(), config.bias)?;
    let report = model.fit_output_weights(x, targets, &config.least_squares)?;
    Ok((model, report))
}

/// Builds and fits an RBF classifier: one output per class, least squares onto one-hot targets;
/// predict with [`optim::argmax_columns`] of [`Rbf::predict`].
pub fn fit_classifier<F: Float>(
    config: &RbfConfig,
    x: &Mat<F>,
    labels: &[usize],
    classes: usize,
    rng: &mut impl Rng,
) -> Result<(Rbf<F>, LeastSquaresFit)> {
    if labels.len() != x.ncols() {
        return Err(Error::Shape {
            context: "rbf::fit_classifier labels".into(),
            expected: format!("{} labels", x.ncols()),
            got: labels.len().to_string(),
        });
    }
    let targets = optim::data::one_hot::<F>(labels, classes)?;
    fit(config, x, &targets, rng)
}

/// Gradient training of every parameter (those [`Rbf::train_centres`] / [`Rbf::train_widths`]
/// allow) by the shared loop, [`optim::train::fit`]: `model.fit(&train, validation, &mut
/// optimizer, &config, &mut on_progress)`. Regression data ([`Targets::Values`], `outputs x n`)
/// trains on the mean squared error, classification data ([`Targets::Classes`], one output per
/// class) on the soft-max cross-entropy.
impl<F: Float> Trainable<F> for Rbf<F> {
    type Data = Dataset<F>;

    fn examples(&self, data: &Dataset<F>) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Dataset<F>, what: &str) -> Result<()> {
        optim::check_batch(&data.x, self.inputs(), what)?;
        match &data.targets {
            Targets::Values(t) => {
                if t.shape() != (self.outputs(), data.len()) {
                    return Err(Error::shape(
                        format!("{what} targets"),
                        (self.outputs(), data.len()),
                        t.shape(),
                    ));
                }
                optim::check_finite(t, &format!("{what} targets"))
            }
            Targets::Classes(_) => data.check_labels(self.outputs(), what),
        }
    }

    fn train_batch(
        &mut self,
        data: &Dataset<F>,
        batch: &[usize],
        _rng: &mut StdRng,
    ) -> Result<BatchLoss> {
        let mut xb = std::mem::take(&mut self.cache.batch_x);
        resize_buffer(&mut xb, data.x.nrows(), batch.len());
        optim::data::select_columns_into(&data.x, batch, &mut xb);
        let y = self.forward(&xb);
        self.cache.batch_x = xb;
        let y = y?;
        let (loss, dy, correct) = match &data.targets {
            Targets::Values(t) => {
                let tb = &mut self.cache.batch_t;
                resize_buffer(tb, t.nrows(), batch.len());
                optim::data::select_columns_into(t, batch, tb);
                let (l, d) = optim::loss::mse(&y, tb)?;
                (l, d, None)
            }
            Targets::Classes(labels) => {
                let lb = &mut self.cache.batch_labels;
                lb.clear();
                lb.extend(batch.iter().map(|&i| labels[i]));
                let correct = optim::train::count_correct(&y, lb);
                let (l, d) = optim::loss::softmax_cross_entropy(&y, lb, 0.0)?;
                (l, d, Some(correct))
            }
        };
        self.backward(&dy)?;
        let out = BatchLoss::new(loss);
        Ok(match correct {
            Some(c) => out.correct(c),
            None => out,
        })
    }

    fn evaluate(&self, data: &Dataset<F>) -> Result<Evaluation> {
        let y = self.predict(&data.x)?;
        match &data.targets {
            Targets::Values(t) => Ok(Evaluation::loss(optim::loss::mse(&y, t)?.0)),
            Targets::Classes(labels) => {
                let loss = optim::loss::softmax_cross_entropy(&y, labels, 0.0)?.0;
                let correct = optim::train::count_correct(&y, labels);
                Ok(Evaluation {
                    loss: loss.to_f64(),
                    accuracy: Some(correct as f64 / labels.len().max(1) as f64),
                })
            }
        }
    }
}
