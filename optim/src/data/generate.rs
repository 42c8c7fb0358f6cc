//! Generators of the classic synthetic problems, all seeded. Each returns a
//! [`Dataset`] with one column per example.

use super::{Dataset, Targets};
use crate::{Error, Float, Mat, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Linearly separable data with margin at least `margin`: a random unit vector `u` (returned) in
/// `dim` dimensions; points drawn uniformly in `[-1, 1]^dim`, labelled `1[uᵀx > 0]`, and kept only
/// if `|uᵀx| ≥ margin`. The separating hyperplane passes through the origin.
///
/// # Errors
/// If `dim == 0` or `margin` is not in `[0, 0.5]` (larger margins leave too few points).
pub fn linearly_separable<F: Float>(
    n: usize,
    dim: usize,
    margin: f64,
    rng: &mut impl Rng,
) -> Result<(Dataset<F>, Vec<f64>)> {
    if dim == 0 {
        return Err(Error::hyper("dim", dim, "must be at least 1"));
    }
    crate::check_range("margin", margin, 0.0, 0.5)?;
    let mut u: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    u.iter_mut().for_each(|v| *v /= norm);
    let mut x = Mat::zeros(dim, n);
    let mut labels = Vec::with_capacity(n);
    let mut j = 0;
    while j < n {
        let p: Vec<f64> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let s: f64 = p.iter().zip(&u).map(|(a, b)| a * b).sum();
        if s.abs() < margin || s == 0.0 {
            continue;
        }
        for (i, v) in p.iter().enumerate() {
            x[(i, j)] = F::of(*v);
        }
        labels.push(usize::from(s > 0.0));
        j += 1;
    }
    Ok((
        Dataset {
            x,
            targets: Targets::Classes(labels),
        },
        u,
    ))
}

/// The four points of XOR: `(0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0`.
pub fn xor<F: Float>() -> Dataset<F> {
    let x = Mat::from_column_slice(2, 4, &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0].map(F::of));
    Dataset {
        x,
        targets: Targets::Classes(vec![0, 1, 1, 0]),
    }
}

/// A draw of `N(0, σ²)` as `σ z`, `z ~ N(0, 1)` (the same numbers as `rand_distr::Normal`);
/// `σ` is used as `|σ|`, and a non-finite `σ` gives non-finite points rather than a panic.
fn gaussian(sigma: f64, rng: &mut impl Rng) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    sigma.abs() * z
}

/// Two interleaving half circles (scikit-learn's `make_moons`), `n` points in all (the first
/// `⌈n/2⌉` of class 0), Gaussian noise of standard deviation `|noise|`.
pub fn two_moons<F: Float>(n: usize, noise: f64, rng: &mut impl Rng) -> Dataset<F> {
    let outer = n / 2 + n % 2;
    let mut x = Mat::zeros(2, n);
    let mut labels = Vec::with_capacity(n);
    for j in 0..n {
        let (class, k, count) = if j < outer {
            (0, j, outer)
        } else {
            (1, j - outer, n - outer)
        };
        let t = std::f64::consts::PI * k as f64 / (count.max(2) - 1) as f64;
        let (a, b) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x[(0, j)] = F::of(a + gaussian(noise, rng));
        x[(1, j)] = F::of(b + gaussian(noise, rng));
        labels.push(class);
    }
    Dataset {
        x,
        targets: Targets::Classes(labels),
    }
}

/// Two interleaved spirals (Lang & Witbrock 1988), `n` points per arm, `turns` revolutions,
/// Gaussian noise of standard deviation `|noise|`; radius grows linearly to 1. Class 0 is the
/// first `n` columns.
pub fn two_spirals<F: Float>(n: usize, turns: f64, noise: f64, rng: &mut impl Rng) -> Dataset<F> {
    let mut x = Mat::zeros(2, 2 * n);
    let mut labels = Vec::with_capacity(2 * n);
    for class in 0..2 {
        for k in 0..n {
            let r = (k as f64 + 1.0) / n as f64;
            let angle =
                turns * 2.0 * std::f64::consts::PI * r + class as f64 * std::f64::consts::PI;
            let j = class * n + k;
            x[(0, j)] = F::of(r * angle.cos() + gaussian(noise, rng));
            x[(1, j)] = F::of(r * angle.sin() + gaussian(noise, rng));
            labels.push(class);
        }
    }
    Dataset {
        x,
        targets: Targets::Classes(labels),
    }
}

/// Isotropic Gaussian blobs: `n` points spread evenly over `centers` (each a `dim`-vector, as
/// columns of a `dim x k` matrix), standard deviation `|std|`; point `j` belongs to center
/// `j mod k`. With no centers there are no points.
pub fn blobs<F: Float>(n: usize, centers: &Mat<f64>, std: f64, rng: &mut impl Rng) -> Dataset<F> {
    let (dim, k) = centers.shape();
    let n = if k == 0 { 0 } else { n };
    let mut x = Mat::zeros(dim, n);
    let mut labels = Vec::with_capacity(n);
    for j in 0..n {
        let c = j % k;
        for i in 0..dim {
            x[(i, j)] = F::of(centers[(i, c)] + gaussian(std, rng));
        }
        labels.push(c);
    }
    Dataset {
        x,
        targets: Targets::Classes(labels),
    }
}
