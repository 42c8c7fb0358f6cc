//! Generated data for tests, examples and benches (real data comes from `optim::data`).

use optim::{Float, Init, Mat};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` points in `R^d` with a clear spectral gap: `x = μ + Q diag(√v) s + σ ε`, where `Q`
/// (`d x k`, orthonormal, random) spans the signal subspace, `s, ε ~ N(0, I)`, and the signal
/// variances `v` (`k` of them) are well above the noise variance `σ²`. Returns the data
/// (`d x n`) and `Q`, the true top-`k` principal subspace.
pub fn spectral_gap<F: Float>(
    n: usize,
    d: usize,
    variances: &[f64],
    noise_std: f64,
    rng: &mut impl Rng,
) -> (Mat<F>, Mat<f64>) {
    let k = variances.len();
    let q: Mat<f64> = Init::Orthogonal { gain: 1.0 }.matrix(d, k, k, d, rng);
    let mean: Vec<f64> = (0..d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut x = Mat::zeros(d, n);
    let mut s = vec![0.0; k];
    for j in 0..n {
        for (si, v) in s.iter_mut().zip(variances) {
            let e: f64 = StandardNormal.sample(rng);
            *si = v.sqrt() * e;
        }
        for i in 0..d {
            let e: f64 = StandardNormal.sample(rng);
            let mut v = mean[i] + noise_std * e;
            for (c, si) in s.iter().enumerate() {
                v += q[(i, c)] * si;
            }
            x[(i, j)] = F::of(v);
        }
    }
    (x, q)
}

/// `n` images of `side x side` pixels in `[0, 1]` (one column each, row-major), each a
/// Gaussian blob `exp(−‖p − c‖² / 2w²)` (values below `1e-6` set to 0) at a random centre `c` with a random width `w`: a
/// three-dimensional curved manifold in pixel space, which a non-linear autoencoder with a
/// small code describes far better than PCA.
pub fn blob_images<F: Float>(n: usize, side: usize, rng: &mut impl Rng) -> Mat<F> {
    let d = side * side;
    let hi = (side as f64 - 1.0).max(0.0);
    let mut x = Mat::zeros(d, n);
    for j in 0..n {
        let cy = rng.random_range(0.0..=hi);
        let cx = rng.random_range(0.0..=hi);
        let w: f64 = rng.random_range(0.6..1.6) * side as f64 / 8.0;
        for r in 0..side {
            for c in 0..side {
                let dist2 = (r as f64 - cy).powi(2) + (c as f64 - cx).powi(2);
                let v = (-dist2 / (2.0 * w * w)).exp();
                // background below 1e-6 is exactly 0, as in real images; it also keeps
                // subnormal floats (very slow arithmetic) out of f32 training
                x[(r * side + c, j)] = F::of(if v < 1e-6 { 0.0 } else { v });
            }
        }
    }
    x
}
