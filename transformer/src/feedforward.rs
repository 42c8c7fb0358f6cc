//! The position-wise feed-forward network of a Transformer block: the same two-layer MLP
//! applied to every position separately (attention mixes positions; this mixes features).
//!
//! ```text
//! Z = W₁ X + b₁          ff x n      (linear1, ff = 4d in the original and in GPT-2)
//! H = f(Z)               ff x n      (GELU or ReLU)
//! Y = W₂ H + b₂          d x n       (linear2)
//! ```
//!
//! # Backward
//!
//! Two affine backwards ([`optim::Linear::backward_with_input`], on the inputs this layer keeps)
//! around the activation's `f'`:
//!
//! ```text
//! ∂L/∂W₂ += dY Hᵀ,  ∂L/∂b₂ += dY·1,  dH = W₂ᵀ dY
//! dZ = dH ⊙ f'(Z)
//! ∂L/∂W₁ += dZ Xᵀ,  ∂L/∂b₁ += dZ·1,  ∂L/∂X = W₁ᵀ dZ
//! ```
//!
//! The parameter names are those of PyTorch's `nn.TransformerEncoderLayer`: `linear1.weight`,
//! `linear1.bias`, `linear2.weight`, `linear2.bias`.
//!
//! ```
//! use transformer::FeedForward;
//! use optim::{Activation, Linear, Mat};
//! let ff = FeedForward::<f64>::from_layers(
//!     Linear::from_weights(Mat::from_row_slice(2, 1, &[1.0, -1.0]), Some(Mat::zeros(2, 1))),
//!     Linear::from_weights(Mat::from_row_slice(1, 2, &[1.0, 1.0]), Some(Mat::zeros(1, 1))),
//!     Activation::Relu,
//! )?;
//! // ReLU(x) + ReLU(−x) = |x|, position by position
//! let y = ff.predict(&Mat::from_row_slice(1, 3, &[-2.0, 0.5, 3.0]))?;
//! assert_eq!(y.as_slice(), &[2.0, 0.5, 3.0]);
//! # Ok::<(), optim::Error>(())
//! ```

use optim::linalg::copy_into;
use optim::{Activation, Error, Float, Linear, LinearConfig, Mat, Param, Parameters, Result};
use rand::Rng;

#[derive(Debug, Clone)]
struct FfCache<F: Float> {
    x: Mat<F>,
    z: Mat<F>,
    h: Mat<F>,
    /// `f'(Z)`, kept by the training forward when the activation asks for it (GELU:
    /// [`Activation::derivative_from_forward`]); empty otherwise.
    dz: Mat<F>,
    dh: Mat<F>,
}

impl<F: Float> Default for FfCache<F> {
    fn default() -> Self {
        FfCache {
            x: Mat::zeros(0, 0),
            z: Mat::zeros(0, 0),
            h: Mat::zeros(0, 0),
            dz: Mat::zeros(0, 0),
            dh: Mat::zeros(0, 0),
        }
    }
}

/// The position-wise feed-forward network `W₂ f(W₁ X + b₁) + b₂` (module docs).
///
/// # Shapes
/// `linear1.weight`: `ff x d`, `linear2.weight`: `d x ff`; input and output `d x n`.
#[derive(Debug, Clone)]
pub struct FeedForward<F: Float> {
    /// `W₁`, `b₁`.
    pub linear1: Linear<F>,
    /// `W₂`, `b₂`.
    pub linear2: Linear<F>,
    /// `f`: GELU or ReLU in a Transformer (any [`Activation`] works).
    pub activation: Activation,
    cache: FfCache<F>,
}

impl<F: Float> FeedForward<F> {
    /// A `d → ff → d` network with PyTorch's `nn.Linear` initialization.
    pub fn new(width: usize, ff_width: usize, activation: Activation, rng: &mut impl Rng) -> Self {
        FeedForward {
            linear1: LinearConfig::new(width, ff_width).init(rng),
            linear2: LinearConfig::new(ff_width, width).init(rng),
            activation,
            cache: FfCache::default(),
        }
    }

    /// A network from two given layers.
    ///
    /// # Errors
    /// If `linear2` does not map `linear1`'s output width back to its input width.
    pub fn from_layers(
        linear1: Linear<F>,
        linear2: Linear<F>,
        activation: Activation,
    ) -> Result<Self> {
        if linear2.inputs() != linear1.outputs() || linear2.outputs() != linear1.inputs() {
            return Err(Error::shape(
                "FeedForward linear2.weight",
                (linear1.inputs(), linear1.outputs()),
                linear2.weight.value.shape(),
            ));
        }
        Ok(FeedForward {
            linear1,
            linear2,
            activation,
            cache: FfCache::default(),
        })
    }

    /// Width `d` of the input and output.
    pub fn width(&self) -> usize {
        self.linear1.inputs()
    }

    /// Hidden width `ff`.
    pub fn ff_width(&self) -> usize {
        self.linear1.outputs()
    }

    /// `Y = W₂ f(W₁ X + b₁) + b₂`; with `train`, `f'(Z)` too when the activation keeps it.
    fn run(&self, x: &Mat<F>, c: &mut FfCache<F>, y: &mut Mat<F>, train: bool) -> Result<()> {
        self.linear1.predict_into(x, &mut c.z)?;
        if train && self.activation.derivative_from_forward() {
            self.activation
                .apply_with_derivative_into(&c.z, &mut c.h, &mut c.dz);
        } else {
            self.activation.apply_into(&c.z, &mut c.h);
        }
        self.linear2.predict_into(&c.h, y)
    }

    /// Training forward into `y`, caching `X`, `Z` and `H` (and `f'(Z)` for GELU, whose
    /// derivative shares `Φ(Z)` with the forward pass).
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn forward_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        let mut c = std::mem::take(&mut self.cache);
        let out = self.run(x, &mut c, y, true);
        copy_into(&mut c.x, x);
        self.cache = c;
        out
    }

    /// [`FeedForward::forward_into`] into a new matrix.
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn forward(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, &mut y)?;
        Ok(y)
    }

    /// The same function without a cache.
    ///
    /// # Errors
    /// If `x` does not have `d` rows.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.run(x, &mut FfCache::default(), &mut y, false)?;
        Ok(y)
    }

    /// Adds the four parameter gradients and writes `∂L/∂X` into `dx` (module docs).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward's output.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        let c = &mut self.cache;
        self.linear2
            .backward_with_input(&c.h, dy, Some(&mut c.dh))?;
        if self.activation.derivative_from_forward() {
            // dZ = dH ⊙ f'(Z), f'(Z) kept by the forward pass
            optim::simd::zip_map(c.dh.as_mut_slice(), c.dz.as_slice(), |g, d| g * d);
        } else {
            self.activation.backward_in_place(&c.z, &c.h, &mut c.dh);
        }
        self.linear1.backward_with_input(&c.x, &c.dh, Some(dx))
    }

    /// [`FeedForward::backward_into`] into a new matrix.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward's output.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }
}

impl<F: Float> Parameters<F> for FeedForward<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        optim::visit_child("linear1", &mut self.linear1, visit);
        optim::visit_child("linear2", &mut self.linear2, visit);
    }
}
