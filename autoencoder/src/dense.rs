//! The dense layer step of this crate's models, `h = f(op(W) x + b 1ᵀ)`, over *borrowed*
//! parameters, so the same code serves an ordinary layer (`W`, `out x in`, from an
//! [`optim::Linear`]) and a tied decoder layer that reads an encoder layer's matrix transposed
//! (`Wᵀ`, the same [`optim::Param`], so its gradient gets both contributions).
//!
//! The affine part is optim's one [`optim::affine_forward`] / [`optim::affine_backward`] (with
//! its `transposed` form for tied weights); the activation is [`optim::Activation`]'s. What is
//! this crate's own is [`second_derivative`], which the contractive penalty's gradient needs.
//!
//! ```text
//! forward:   z = op(W) x + b 1ᵀ,      h = f(z)
//! backward:  dz = dh ⊙ f'(z)                          Activation::backward_in_place
//!            ∂L/∂op(W) += dz xᵀ, ∂L/∂b += dz 1, ∂L/∂x = op(W)ᵀ dz    optim::affine_backward
//! ```
//!
//! ```
//! use autoencoder::dense::second_derivative;
//! use optim::Activation;
//! // sigmoid at z = 0: y = ½, f'' = y(1 − y)(1 − 2y) = 0; tanh at y = ½: −2y(1 − y²) = −0.75
//! assert_eq!(second_derivative(Activation::Sigmoid, 0.0_f64, 0.5), 0.0);
//! assert!((second_derivative(Activation::Tanh, 0.549_306_144_334_054_9_f64, 0.5) + 0.75).abs() < 1e-15);
//! // piecewise-linear activations have f'' = 0
//! assert_eq!(second_derivative(Activation::Relu, 1.3_f64, 1.3), 0.0);
//! ```

use optim::{Activation, Float, Mat, affine_forward};

/// `z = op(W) x + b 1ᵀ` into `pre`, `h = f(z)` into `out`; `transposed` selects `op(W) = Wᵀ`.
pub(crate) fn forward<F: Float>(
    weight: &Mat<F>,
    transposed: bool,
    bias: &Mat<F>,
    activation: Activation,
    x: &Mat<F>,
    pre: &mut Mat<F>,
    out: &mut Mat<F>,
) {
    affine_forward(weight, transposed, Some(bias), x, pre);
    activation.apply_into(pre, out);
}

/// Inference (`&self`) form of [`forward`]: returns `f(op(W) x + b 1ᵀ)` in a new matrix.
pub(crate) fn predict<F: Float>(
    weight: &Mat<F>,
    transposed: bool,
    bias: &Mat<F>,
    activation: Activation,
    x: &Mat<F>,
) -> Mat<F> {
    let mut out = Mat::zeros(0, 0);
    affine_forward(weight, transposed, Some(bias), x, &mut out);
    activation.apply_in_place(&mut out);
    out
}

/// The second derivative `f''(z)` given `z` and `y = f(z)`, needed by the contractive
/// penalty's gradient (`∂/∂z f'(z)²  = 2 f'(z) f''(z)`).
///
/// | `f` | `f''` |
/// |---|---|
/// | identity, ReLU, leaky ReLU | `0` (almost everywhere) |
/// | sigmoid | `y(1 − y)(1 − 2y)` |
/// | tanh | `−2y(1 − y²)` |
/// | ELU | `0` for `z > 0`, else `α e^z = y + α` |
/// | GELU | `φ(z)(2 − z²)` |
/// | softplus | `σ(z)(1 − σ(z))` |
pub fn second_derivative<F: Float>(activation: Activation, z: F, y: F) -> F {
    let one = F::one();
    let two = F::of(2.0);
    match activation {
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
            let s = optim::activation::sigmoid(z);
            s * (one - s)
        }
    }
}
