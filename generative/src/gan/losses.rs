//! The objectives of the game, as losses of the discriminator's raw outputs `a` (a logit,
//! `D = σ(a)`, for the original GAN; the critic's value for WGAN), each with its gradient
//! `∂L/∂a` written into a reused buffer.
//!
//! | loss | value | `∂L/∂aⱼ` |
//! |---|---|---|
//! | discriminator on real `x` | `−mean log σ(a) = mean softplus(−a)` | `(σ(aⱼ) − 1)/n` |
//! | discriminator on generated `G(z)` | `−mean log(1 − σ(a)) = mean softplus(a)` | `σ(aⱼ)/n` |
//! | generator, minimax | `mean log(1 − σ(a)) = −mean softplus(a)` | `−σ(aⱼ)/n` |
//! | generator, non-saturating | `−mean log σ(a) = mean softplus(−a)` | `(σ(aⱼ) − 1)/n` |
//! | critic on real / generated (WGAN) | `−mean a` / `mean a` | `−1/n` / `1/n` |
//! | generator (WGAN) | `−mean a` | `−1/n` |
//!
//! `softplus` and `σ` are optim's overflow-free forms, so a confident discriminator
//! (`|a| ≫ 1`) gives finite losses and gradients.

use optim::activation::{sigmoid, softplus};
use optim::linalg::resize_buffer;
use optim::{Float, Mat};

/// Which side of the game a batch of discriminator outputs is scored for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The discriminator on data: `−log D(x)`.
    DiscriminatorReal,
    /// The discriminator on generated samples: `−log(1 − D(G(z)))`.
    DiscriminatorFake,
    /// The generator's minimax loss `log(1 − D(G(z)))` (Goodfellow et al. 2014, eq. 1).
    GeneratorMinimax,
    /// The generator's non-saturating loss `−log D(G(z))` (Goodfellow et al. 2014, §3).
    GeneratorNonSaturating,
    /// The critic on data: `−C(x)`.
    CriticReal,
    /// The critic on generated samples: `C(G(z))`.
    CriticFake,
    /// The WGAN generator: `−C(G(z))`.
    GeneratorWasserstein,
}

/// The mean loss of the outputs `a` (`1 x n`) for `side`, and `∂L/∂a` into `grad`.
///
/// ```
/// use generative::gan::losses::{Side, loss_and_gradient};
/// use optim::Mat;
/// let a = Mat::<f64>::zeros(1, 4); // D = 1/2 everywhere
/// let mut g = Mat::zeros(0, 0);
/// let real = loss_and_gradient(&a, Side::DiscriminatorReal, &mut g);
/// let fake = loss_and_gradient(&a, Side::DiscriminatorFake, &mut g);
/// assert!((real + fake - 2.0 * 2f64.ln()).abs() < 1e-15); // the value at the equilibrium
/// assert_eq!(g.as_slice(), &[0.125; 4]); // σ(0)/n
/// ```
pub fn loss_and_gradient<F: Float>(a: &Mat<F>, side: Side, grad: &mut Mat<F>) -> F {
    resize_buffer(grad, a.nrows(), a.ncols());
    let n = F::of(a.len().max(1) as f64);
    let inv = F::one() / n;
    let mut total = F::zero();
    for (g, &v) in grad.as_mut_slice().iter_mut().zip(a.as_slice()) {
        let (l, d) = match side {
            Side::DiscriminatorReal | Side::GeneratorNonSaturating => {
                (softplus(-v), sigmoid(v) - F::one())
            }
            Side::DiscriminatorFake => (softplus(v), sigmoid(v)),
            Side::GeneratorMinimax => (-softplus(v), -sigmoid(v)),
            Side::CriticReal | Side::GeneratorWasserstein => (-v, -F::one()),
            Side::CriticFake => (v, F::one()),
        };
        total += l;
        *g = d * inv;
    }
    total * inv
}
