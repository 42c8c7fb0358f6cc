//! The dense-layer step shared by every model in this crate, written once as a forward/backward
//! pair over *borrowed* parameters, so the same code serves an ordinary layer (`W`, `out x in`,
//! from an [`optim::Linear`]) and a tied decoder layer that reads an encoder layer's matrix
//! transposed (`Wᵀ`, the same [`Param`], so its gradient gets both contributions).
//!
//! ```text
//! forward:   z = op(W) x + b 1ᵀ,      h = f(z)
//! backward:  dz = dh ⊙ f'(z)
//!            ∂L/∂op(W) += dz xᵀ       (tied: ∂L/∂W += x dzᵀ, the transpose of the same product)
//!            ∂L/∂b     += dz 1
//!            ∂L/∂x      = op(W)ᵀ dz
//! ```
//!
//! Every product goes through [`optim::linalg::gemm`] into a preallocated buffer.

use optim::linalg::{gemm, resize_buffer};
use optim::{Activation, Float, Mat, Param};

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
    let rows = if transposed {
        weight.ncols()
    } else {
        weight.nrows()
    };
    resize_buffer(pre, rows, x.ncols());
    for mut col in pre.column_iter_mut() {
        col.copy_from(&bias.column(0));
    }
    gemm(F::one(), weight, transposed, x, false, F::one(), pre);
    resize_buffer(out, rows, x.ncols());
    out.copy_from(pre);
    activation.apply_in_place(out);
}

/// Inference (`&self`) form of [`forward`]: returns `f(op(W) x + b 1ᵀ)` in a new matrix.
pub(crate) fn predict<F: Float>(
    weight: &Mat<F>,
    transposed: bool,
    bias: &Mat<F>,
    activation: Activation,
    x: &Mat<F>,
) -> Mat<F> {
    let mut pre = Mat::zeros(0, 0);
    let mut out = Mat::zeros(0, 0);
    forward(weight, transposed, bias, activation, x, &mut pre, &mut out);
    out
}

/// Turns `d` from `∂L/∂h` into `∂L/∂z = ∂L/∂h ⊙ f'(z)` in place.
pub(crate) fn activation_backward<F: Float>(
    activation: Activation,
    pre: &Mat<F>,
    out: &Mat<F>,
    d: &mut Mat<F>,
) {
    activation.backward_in_place(pre, out, d);
}

/// Given `dz = ∂L/∂z` (already through the activation), adds the parameter gradients and, if
/// `dx` is given, writes `∂L/∂x = op(W)ᵀ dz` into it.
pub(crate) fn backward_from_pre<F: Float>(
    weight: &mut Param<F>,
    transposed: bool,
    bias: &mut Param<F>,
    x: &Mat<F>,
    dz: &Mat<F>,
    dx: Option<&mut Mat<F>>,
) {
    if transposed {
        // z = Wᵀ x  ⇒  ∂L/∂W = x dzᵀ  (in x out, the shape of the encoder's W)
        gemm(F::one(), x, false, dz, true, F::one(), &mut weight.grad);
    } else {
        gemm(F::one(), dz, false, x, true, F::one(), &mut weight.grad);
    }
    let rows = dz.nrows();
    if rows > 0 {
        let g = bias.grad.as_mut_slice();
        for col in dz.as_slice().chunks_exact(rows) {
            for (gi, &d) in g.iter_mut().zip(col) {
                *gi += d;
            }
        }
    }
    if let Some(dx) = dx {
        resize_buffer(dx, x.nrows(), dz.ncols());
        // z = op(W) x  ⇒  ∂L/∂x = op(W)ᵀ dz; op(W)ᵀ is W when op is the transpose.
        gemm(
            F::one(),
            &weight.value,
            !transposed,
            dz,
            false,
            F::zero(),
            dx,
        );
    }
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
