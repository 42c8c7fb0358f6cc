//! The dense layer step of this crate's models, `h = f(op(W) x + b 1ᵀ)`, over *borrowed*
//! parameters, so the same code serves an ordinary layer (`W`, `out x in`, from an
//! [`optim::Linear`]) and a tied decoder layer that reads an encoder layer's matrix transposed
//! (`Wᵀ`, the same [`optim::Param`], so its gradient gets both contributions).
//!
//! The affine part is optim's one [`optim::affine_forward`] / [`optim::affine_backward`] (with
//! its `transposed` form for tied weights); the activation is [`optim::Activation`]'s, and so
//! is the second derivative the contractive penalty's gradient needs ([`second_derivative`],
//! [`Activation::d2f`]).
//!
//! ```text
//! forward:   z = op(W) x + b 1ᵀ,      h = f(z)
//! backward:  dz = dh ⊙ f'(z)                          Activation::backward_in_place
//!            ∂L/∂op(W) += dz xᵀ, ∂L/∂b += dz 1, ∂L/∂x = op(W)ᵀ dz    optim::affine_backward
//! ```

use crate::config::LayerSpec;
use optim::{Activation, Float, Init, Linear, LinearConfig, Mat, affine_forward};
use rand::Rng;

/// The affine layers `inputs → w₁ → w₂ → …` of `layers`' widths, initialized with `init` one
/// after the other from `rng`, and the last width (`inputs` if there are none).
pub(crate) fn linear_stack<F: Float>(
    inputs: usize,
    layers: &[LayerSpec],
    init: Init,
    rng: &mut impl Rng,
) -> (Vec<Linear<F>>, usize) {
    let mut width = inputs;
    let mut stack = Vec::with_capacity(layers.len());
    for l in layers {
        stack.push(LinearConfig::new(width, l.width).with_init(init).init(rng));
        width = l.width;
    }
    (stack, width)
}

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
/// penalty's gradient (`∂/∂z f'(z)²  = 2 f'(z) f''(z)`): [`Activation::d2f`], where the table of
/// formulas is.
pub fn second_derivative<F: Float>(activation: Activation, z: F, y: F) -> F {
    activation.d2f(z, y)
}
