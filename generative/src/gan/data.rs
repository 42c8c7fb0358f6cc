//! The data sets of the GAN experiments, one column per example: a 1-D Gaussian, the
//! Gaussian mixtures of PacGAN's (and VEEGAN's) synthetic experiments, two moons, any 2-D point
//! cloud from a CSV file, and optdigits scaled to `[0, 1]`.
//!
//! ```
//! use generative::gan::data::Mixture;
//! let ring = Mixture::ring();
//! assert_eq!((ring.means.len(), ring.std), (8, 0.01));
//! let x = ring.sample::<f64>(1000, &mut optim::rng(0));
//! assert_eq!(x.shape(), (2, 1000));
//! let report = ring.evaluate(&x)?;                 // data cover their own modes
//! assert_eq!(report.modes, 8);
//! assert!(report.high_quality > 0.97 && report.reverse_kl < 0.01);
//! # Ok::<(), generative::gan::GanError>(())
//! ```

use super::error::{GanError, Result};
use super::metrics::ModeReport;
use optim::data::CsvOptions;
use optim::{Float, Mat};
use rand::Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// `n` draws of `N(mean, std²)` as a `1 x n` matrix.
pub fn gaussian_1d<F: Float>(n: usize, mean: f64, std: f64, rng: &mut impl Rng) -> Mat<F> {
    Mat::from_fn(1, n, |_, _| {
        F::of(mean + std * rng.sample::<f64, _>(StandardNormal))
    })
}

/// Two interleaving half circles (optim's generator, scikit-learn's `make_moons`) without
/// their labels, `2 x n`.
pub fn two_moons<F: Float>(n: usize, noise: f64, rng: &mut impl Rng) -> Mat<F> {
    optim::data::generate::two_moons::<F>(n, noise, rng).x
}

/// An equal-weight mixture of isotropic 2-D Gaussians, `(1/K) Σᵢ N(μᵢ, σ² I)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    /// The means `μᵢ`.
    pub means: Vec<[f64; 2]>,
    /// The common standard deviation `σ`.
    pub std: f64,
}

impl Mixture {
    /// `modes` Gaussians on a circle of `radius` about the origin, the first at `(radius, 0)`.
    pub fn circle(modes: usize, radius: f64, std: f64) -> Self {
        let means = (0..modes)
            .map(|i| {
                let t = 2.0 * std::f64::consts::PI * i as f64 / modes as f64;
                [radius * t.cos(), radius * t.sin()]
            })
            .collect();
        Mixture { means, std }
    }

    /// The 8-Gaussians ring: radius 1, `σ = 0.01` (PacGAN's 2D-ring).
    pub fn ring() -> Self {
        Self::circle(8, 1.0, 0.01)
    }

    /// The 25-Gaussians grid: means `{−4, −2, 0, 2, 4}²`, `σ = 0.05` (PacGAN's 2D-grid).
    pub fn grid() -> Self {
        let c = [-4.0, -2.0, 0.0, 2.0, 4.0];
        let means = c
            .iter()
            .flat_map(|&x| c.iter().map(move |&y| [x, y]))
            .collect();
        Mixture { means, std: 0.05 }
    }

    /// `n` samples (`2 x n`), each from a mode chosen uniformly.
    pub fn sample<F: Float>(&self, n: usize, rng: &mut impl Rng) -> Mat<F> {
        let mut x = Mat::zeros(2, n);
        for j in 0..n {
            let m = self.means[rng.random_range(0..self.means.len())];
            for k in 0..2 {
                x[(k, j)] = F::of(m[k] + self.std * rng.sample::<f64, _>(StandardNormal));
            }
        }
        x
    }

    /// The index of the nearest mean and the distance to it.
    pub fn nearest(&self, x: f64, y: f64) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (i, m) in self.means.iter().enumerate() {
            let d = ((x - m[0]).powi(2) + (y - m[1]).powi(2)).sqrt();
            if d < best.1 {
                best = (i, d);
            }
        }
        best
    }

    /// [`ModeReport`] of samples (`2 x n`).
    ///
    /// # Errors
    /// If the samples are not 2-D, there are none, or one is not finite.
    pub fn evaluate<F: Float>(&self, samples: &Mat<F>) -> Result<ModeReport> {
        if samples.nrows() != 2 || samples.ncols() == 0 {
            return Err(GanError::Data(format!(
                "mode report: expected 2 x n samples (n ≥ 1), got {} x {}",
                samples.nrows(),
                samples.ncols()
            )));
        }
        optim::check_finite(samples, "mode report samples")?;
        let k = self.means.len();
        let mut counts = vec![0usize; k];
        for j in 0..samples.ncols() {
            let (i, d) = self.nearest(samples[(0, j)].to_f64(), samples[(1, j)].to_f64());
            if d < 3.0 * self.std {
                counts[i] += 1;
            }
        }
        let good: usize = counts.iter().sum();
        let reverse_kl = if good == 0 {
            f64::INFINITY
        } else {
            counts
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = c as f64 / good as f64;
                    p * (p * k as f64).ln()
                })
                .sum::<f64>()
                .max(0.0)
        };
        Ok(ModeReport {
            modes: counts.iter().filter(|&&c| c > 0).count(),
            total_modes: k,
            high_quality: good as f64 / samples.ncols() as f64,
            reverse_kl,
            counts,
        })
    }
}

/// Parses a 2-D point cloud: one `x,y` pair per line, an optional header (a first line that is
/// not two numbers), blank lines skipped; `path` names the source in errors.
///
/// # Errors
/// [`GanError::NotPoints`] for rows that do not have exactly two columns; optim's
/// [`Format`](optim::Error::Format) error (line and column) for a ragged row, a field that is not
/// a number, or a non-finite value (`NaN`, `inf`); an empty file.
pub fn parse_points<F: Float>(text: &str, path: impl AsRef<Path>) -> Result<Mat<F>> {
    let path = path.as_ref();
    let table = optim::data::parse_csv_matrix::<F>(text, path, &CsvOptions::default())?;
    if table.data.nrows() != 2 {
        return Err(GanError::NotPoints {
            path: path.into(),
            reason: format!("{} columns per line, expected 2 (x,y)", table.data.nrows()),
        });
    }
    Ok(table.data)
}

/// Reads a 2-D point cloud (`2 x n`) from a CSV file; see [`parse_points`].
///
/// # Errors
/// As [`parse_points`], and I/O errors naming the file.
pub fn load_points<F: Float>(path: impl AsRef<Path>) -> Result<Mat<F>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| optim::Error::io(path, e))?;
    parse_points(&text, path)
}

/// UCI optdigits (`optdigits.tra` or `.tes`) as images in `[0, 1]`: `64 x n` (8x8, row-major,
/// block counts / 16) and the labels.
///
/// # Errors
/// As [`optim::data::load_optdigits`].
pub fn load_optdigits_unit<F: Float>(path: impl AsRef<Path>) -> Result<(Mat<F>, Vec<usize>)> {
    let data = optim::data::load_optdigits::<F>(path)?;
    let labels = data.labels().map(<[usize]>::to_vec).unwrap_or_default();
    Ok((data.x.map(|v| v / F::of(16.0)), labels))
}
