//! Element-wise non-linearities (notes §3.2: "non-linearity comes from the activation function";
//! without it a stack of affine maps is one affine map).
//!
//! | activation | `f(z)` | `f'(z)` |
//! |---|---|---|
//! | identity | `z` | `1` |
//! | sigmoid | `σ(z) = 1 / (1 + e^{−z})` | `σ(z)(1 − σ(z)) = y(1 − y)` |
//! | tanh | `tanh z` | `1 − y²` |
//! | ReLU | `max(0, z)` | `1[z > 0]` |
//! | leaky ReLU | `z` if `z > 0` else `a z` | `1` or `a` |
//! | ELU | `z` if `z > 0` else `α(e^z − 1)` | `1` or `y + α` |
//! | GELU (exact, as PyTorch's default) | `z Φ(z)`, `Φ(z) = ½(1 + erf(z/√2))` | `Φ(z) + z φ(z)` |
//! | softplus | `log(1 + e^z)` | `σ(z)` |
//!
//! The derivative is written in terms of the input `z` and the output `y`, whichever is cheaper;
//! the layer caches both. At the kinks of ReLU-like functions the subgradient at 0 is 0, as in
//! PyTorch.

use crate::{Float, Mat, linalg::copy_into};

/// An element-wise activation function.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `f(z) = z`.
    Identity,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with the given negative slope (PyTorch's default is 0.01).
    LeakyRelu(f64),
    /// Exponential linear unit with the given `α` (PyTorch's default is 1).
    Elu(f64),
    /// Gaussian error linear unit, exact (erf) form.
    Gelu,
    /// `log(1 + e^z)`.
    Softplus,
}

/// Logistic sigmoid `1/(1 + e^{−z})`, computed without overflow for large `|z|`
/// ([`Float::logistic`]: vectorizable in `f32`).
#[inline]
pub fn sigmoid<F: Float>(z: F) -> F {
    z.logistic()
}

/// `log(1 + e^z)`, stable: `max(z, 0) + log(1 + e^{−|z|})`.
#[inline]
pub fn softplus<F: Float>(z: F) -> F {
    let zero = F::zero();
    let m = if z > zero { z } else { zero };
    m + (-z.abs()).exp().ln_1p()
}

/// GELU `z Φ(z)` (see [`Float::normal_cdf_pdf`] for how `Φ` is computed in each precision).
#[inline]
pub(crate) fn gelu<F: Float>(z: F) -> F {
    z * z.normal_cdf_pdf().0
}

/// GELU's derivative `Φ(z) + z φ(z)`.
#[inline]
pub(crate) fn gelu_derivative<F: Float>(z: F) -> F {
    let (cdf, pdf) = z.normal_cdf_pdf();
    cdf + z * pdf
}

impl Activation {
    /// The activation's name, as used in configurations and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Gelu => "gelu",
            Activation::Softplus => "softplus",
        }
    }

    /// All activations with their default parameters (for tests and sweeps).
    pub fn all() -> [Activation; 8] {
        [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu(0.01),
            Activation::Elu(1.0),
            Activation::Gelu,
            Activation::Softplus,
        ]
    }

    /// `f(z)`.
    #[inline]
    pub fn f<F: Float>(&self, z: F) -> F {
        let zero = F::zero();
        match *self {
            Activation::Identity => z,
            Activation::Sigmoid => sigmoid(z),
            Activation::Tanh => z.tanh(),
            Activation::Relu => {
                if z > zero {
                    z
                } else {
                    zero
                }
            }
            Activation::LeakyRelu(a) => {
                if z > zero {
                    z
                } else {
                    z * F::of(a)
                }
            }
            Activation::Elu(a) => {
                if z > zero {
                    z
                } else {
                    F::of(a) * z.exp_m1()
                }
            }
            Activation::Gelu => gelu(z),
            Activation::Softplus => softplus(z),
        }
    }

    /// `f'(z)`, given the input `z` and the output `y = f(z)`.
    #[inline]
    pub fn df<F: Float>(&self, z: F, y: F) -> F {
        let zero = F::zero();
        let one = F::one();
        match *self {
            Activation::Identity => one,
            Activation::Sigmoid => y * (one - y),
            Activation::Tanh => one - y * y,
            Activation::Relu => {
                if z > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::LeakyRelu(a) => {
                if z > zero {
                    one
                } else {
                    F::of(a)
                }
            }
            Activation::Elu(a) => {
                if z > zero {
                    one
                } else {
                    y + F::of(a)
                }
            }
            Activation::Gelu => gelu_derivative(z),
            Activation::Softplus => sigmoid(z),
        }
    }

    /// `f''(z)`, given the input `z` and the output `y = f(z)`: what a backward through
    /// `f'` itself needs (the contractive autoencoder's penalty `‖∂h/∂x‖²`, a GAN's gradient
    /// penalty: `∂/∂z f'(z)² = 2 f'(z) f''(z)`).
    ///
    /// | `f` | `f''` |
    /// |---|---|
    /// | identity, ReLU, leaky ReLU | `0` (almost everywhere) |
    /// | sigmoid | `y(1 − y)(1 − 2y)` |
    /// | tanh | `−2y(1 − y²)` |
    /// | ELU | `0` for `z > 0`, else `α e^z = y + α` |
    /// | GELU | `φ(z)(2 − z²)` |
    /// | softplus | `σ(z)(1 − σ(z))` |
    ///
    /// ```
    /// use optim::Activation;
    /// // sigmoid at z = 0: y = ½, f'' = 0; tanh at y = ½: −2y(1 − y²) = −0.75
    /// assert_eq!(Activation::Sigmoid.d2f(0.0_f64, 0.5), 0.0);
    /// assert!((Activation::Tanh.d2f(0.549_306_144_334_054_9_f64, 0.5) + 0.75).abs() < 1e-15);
    /// assert_eq!(Activation::Relu.d2f(1.3_f64, 1.3), 0.0);
    /// ```
    pub fn d2f<F: Float>(&self, z: F, y: F) -> F {
        let one = F::one();
        let two = F::of(2.0);
        match *self {
            Activation::Identity | Activation::Relu | Activation::LeakyRelu(_) => F::zero(),
            Activation::Sigmoid => y * (one - y) * (one - two * y),
            Activation::Tanh => -two * y * (one - y * y),
            Activation::Elu(a) => {
                if z > F::zero() {
                    F::zero()
                } else {
                    y + F::of(a)
                }
            }
            Activation::Gelu => {
                let x = z.to_f64();
                let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                F::of(pdf * (2.0 - x * x))
            }
            Activation::Softplus => {
                let s = sigmoid(z);
                s * (one - s)
            }
        }
    }

    /// Applies `f` to every entry, in place.
    pub fn apply_in_place<F: Float>(&self, z: &mut Mat<F>) {
        use crate::simd::map;
        let zs = z.as_mut_slice();
        // one match per call, not per entry; each arm a loop compiled for AVX2 where the CPU
        // has it (`optim::simd`). ReLU is a select, not a branch, so it vectorizes.
        match *self {
            Activation::Identity => {}
            Activation::Relu => map(zs, |v| if v > F::zero() { v } else { F::zero() }),
            Activation::Sigmoid => map(zs, sigmoid),
            Activation::Tanh => map(zs, |v| v.tanh()),
            Activation::Gelu => map(zs, gelu),
            other => map(zs, |v| other.f(v)),
        }
    }

    /// `y = f(z)` entry-wise into `y` (resized to `z`'s shape): one pass, no copy first.
    ///
    /// ```
    /// use optim::{Activation, Mat};
    /// let z = Mat::<f32>::from_row_slice(1, 3, &[-1.0, 0.5, 2.0]);
    /// let mut y = Mat::zeros(0, 0);
    /// Activation::Relu.apply_into(&z, &mut y);
    /// assert_eq!(y.as_slice(), &[0.0, 0.5, 2.0]);
    /// ```
    pub fn apply_into<F: Float>(&self, z: &Mat<F>, y: &mut Mat<F>) {
        use crate::simd::map_into;
        crate::linalg::resize_buffer(y, z.nrows(), z.ncols());
        let (zs, ys) = (z.as_slice(), y.as_mut_slice());
        match *self {
            Activation::Identity => ys.copy_from_slice(zs),
            Activation::Relu => map_into(ys, zs, |v| if v > F::zero() { v } else { F::zero() }),
            Activation::Sigmoid => map_into(ys, zs, sigmoid),
            Activation::Tanh => map_into(ys, zs, |v| v.tanh()),
            Activation::Gelu => map_into(ys, zs, gelu),
            other => map_into(ys, zs, |v| other.f(v)),
        }
    }

    /// Whether a training forward pass should keep `f'(z)` for the backward
    /// ([`Activation::apply_with_derivative_into`]) instead of the backward recomputing it from
    /// `z`: true for GELU, whose derivative `Φ(z) + z φ(z)` costs as much as GELU itself and
    /// shares `Φ(z)` with it, so one pass computing both saves the backward's `Φ`. The other
    /// derivatives are a select or a product of `y` ([`Activation::backward_in_place`]).
    pub fn derivative_from_forward(&self) -> bool {
        matches!(self, Activation::Gelu)
    }

    /// `y = f(z)` and `d = f'(z)` entry-wise in one pass (`y`, `d` resized to `z`'s shape); the
    /// backward is then `∂L/∂z = ∂L/∂y ⊙ d`. The same bits as [`Activation::apply_into`] and the
    /// derivative [`Activation::backward_in_place`] uses.
    ///
    /// ```
    /// use optim::{Activation, Mat};
    /// let z = Mat::<f64>::from_row_slice(1, 2, &[0.0, 1.0]);
    /// let (mut y, mut d) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
    /// Activation::Gelu.apply_with_derivative_into(&z, &mut y, &mut d);
    /// assert_eq!((y[(0, 0)], d[(0, 0)]), (0.0, 0.5));      // GELU(0) = 0, GELU'(0) = Φ(0)
    /// assert_eq!(y[(0, 1)], Activation::Gelu.f(1.0));
    /// ```
    pub fn apply_with_derivative_into<F: Float>(&self, z: &Mat<F>, y: &mut Mat<F>, d: &mut Mat<F>) {
        let (rows, cols) = z.shape();
        crate::linalg::resize_buffer(y, rows, cols);
        crate::linalg::resize_buffer(d, rows, cols);
        let (zs, ys, ds) = (z.as_slice(), y.as_mut_slice(), d.as_mut_slice());
        match *self {
            Activation::Gelu => crate::simd::map_into2(ys, ds, zs, |z| {
                // GELU = z Φ(z), GELU' = Φ(z) + z φ(z): one Φ for both
                let (cdf, pdf) = z.normal_cdf_pdf();
                (z * cdf, cdf + z * pdf)
            }),
            other => crate::simd::map_into2(ys, ds, zs, |z| {
                let y = other.f(z);
                (y, other.df(z, y))
            }),
        }
    }

    /// `f(z)` entry-wise, into a new matrix.
    pub fn apply<F: Float>(&self, z: &Mat<F>) -> Mat<F> {
        let mut y = z.clone();
        self.apply_in_place(&mut y);
        y
    }

    /// Back-propagates through the activation in place: `dy ← dy ⊙ f'(z)`, turning `∂L/∂y` into
    /// `∂L/∂z`.
    ///
    /// # Shapes
    /// `z`, `y`, `dy`: all the same shape.
    pub fn backward_in_place<F: Float>(&self, z: &Mat<F>, y: &Mat<F>, dy: &mut Mat<F>) {
        debug_assert_eq!(z.shape(), dy.shape());
        debug_assert_eq!(y.shape(), dy.shape());
        if *self == Activation::Identity {
            return;
        }
        // Slices, not nalgebra's strided iterators: those are ~20x slower on large matrices.
        use crate::simd::{zip_map, zip2_map};
        let (z, y) = (z.as_slice(), y.as_slice());
        let d = dy.as_mut_slice();
        let one = F::one();
        match *self {
            // ∂L/∂z = ∂L/∂y where z > 0, else 0, as a select that vectorizes
            Activation::Relu => zip_map(d, z, |g, z| if z > F::zero() { g } else { F::zero() }),
            Activation::Sigmoid => zip_map(d, y, |g, y| g * (y * (one - y))),
            Activation::Tanh => zip_map(d, y, |g, y| g * (one - y * y)),
            Activation::Gelu => zip_map(d, z, |g, z| g * gelu_derivative(z)),
            other => zip2_map(d, z, y, |g, z, y| g * other.df(z, y)),
        }
    }
}

/// An activation as a layer with a cache: `forward` keeps `z` and `y`, `backward` uses them.
#[derive(Debug, Clone)]
pub struct ActivationLayer<F: Float> {
    /// The function.
    pub activation: Activation,
    input: Mat<F>,
    output: Mat<F>,
}

impl<F: Float> ActivationLayer<F> {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        ActivationLayer {
            activation,
            input: Mat::zeros(0, 0),
            output: Mat::zeros(0, 0),
        }
    }

    /// `y = f(z)`, caching `z` and `y`.
    ///
    /// # Shapes
    /// `z`: `n x batch` → `n x batch`.
    pub fn forward(&mut self, z: &Mat<F>) -> Mat<F> {
        copy_into(&mut self.input, z);
        let y = self.activation.apply(z);
        copy_into(&mut self.output, &y);
        y
    }

    /// `∂L/∂z = ∂L/∂y ⊙ f'(z)`.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward output.
    pub fn backward(&mut self, dy: &Mat<F>) -> crate::Result<Mat<F>> {
        if dy.shape() != self.output.shape() {
            return Err(crate::Error::shape(
                format!("{} backward", self.activation.name()),
                self.output.shape(),
                dy.shape(),
            ));
        }
        let mut dz = dy.clone();
        self.activation
            .backward_in_place(&self.input, &self.output, &mut dz);
        Ok(dz)
    }

    /// `f(z)` without touching the cache.
    pub fn predict(&self, z: &Mat<F>) -> Mat<F> {
        self.activation.apply(z)
    }
}
