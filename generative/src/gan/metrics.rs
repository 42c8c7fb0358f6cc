//! How good generated samples are: PacGAN's mode counts for the Gaussian mixtures
//! ([`ModeReport`], computed by [`Mixture::evaluate`](super::data::Mixture::evaluate)) and the
//! two-sample Kolmogorov–Smirnov statistic for 1-D samples, and what a classifier trained on
//! real labels makes of generated samples ([`ClassReport`], [`class_report`]).
//!
//! ```
//! use generative::gan::metrics::ks_statistic;
//! assert_eq!(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
//! assert_eq!(ks_statistic(&[0.0, 1.0], &[5.0, 6.0]), 1.0);
//! ```

/// PacGAN's three numbers for a set of generated samples of a [`Mixture`](super::Mixture) (Lin et al. 2018,
/// Table 1, following VEEGAN): a sample is **high quality** if it lies within three standard
/// deviations of its nearest mode; a mode is **covered** if at least one high-quality sample is
/// nearest to it; the **reverse KL** is `KL(p̂_G ‖ uniform) = Σᵢ p̂ᵢ log(K p̂ᵢ)` of the histogram
/// `p̂` of the high-quality samples over the `K` modes (`0 log 0 = 0`; infinite if there is
/// no high-quality sample).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeReport {
    /// Modes covered.
    pub modes: usize,
    /// Modes of the mixture, `K`.
    pub total_modes: usize,
    /// Share of high-quality samples, in `[0, 1]`.
    pub high_quality: f64,
    /// `KL(p̂_G ‖ uniform)` in nats: 0 for a perfectly balanced generator, `log K` for one
    /// that puts everything on one mode.
    pub reverse_kl: f64,
    /// High-quality samples per mode.
    pub counts: Vec<usize>,
}

/// The two-sample Kolmogorov–Smirnov statistic `sup_t |F_a(t) − F_b(t)|` of the empirical
/// distribution functions of `a` and `b` (0 for identical samples, 1 for disjoint ones). NaNs
/// are sorted last (callers check finiteness first). Returns 1 if either sample is empty.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        // step past every copy of the smaller value in both samples, then compare
        let t = if a[i] <= b[j] { a[i] } else { b[j] };
        while i < a.len() && a[i] <= t {
            i += 1;
        }
        while j < b.len() && b[j] <= t {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// What a classifier trained on real labels makes of generated samples (the digits metric of
/// the GAN issue): the share it labels with confidence above a threshold, and the histogram of
/// its labels — a generator collapsed onto one kind of sample shows one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReport {
    /// Share of samples whose most probable class has probability `> threshold`, in `[0, 1]`.
    pub confident: f64,
    /// Samples per class (each counted under its most probable class).
    pub histogram: Vec<usize>,
    /// Classes holding at least 1 % of the samples.
    pub classes_covered: usize,
    /// The largest class's share of the samples (1/K for a balanced generator, 1 for one
    /// collapsed onto a class).
    pub largest_share: f64,
}

/// [`ClassReport`] of class probabilities (`classes x n`, one column per sample, each summing
/// to 1, e.g. `optim::softmax` of a classifier's logits): a sample is **confident** if its
/// largest probability exceeds `threshold` (the issue's 0.9), and is counted under its most
/// probable class (the first on ties).
///
/// ```
/// use generative::gan::metrics::class_report;
/// use optim::Mat;
/// // three samples of 2 classes: sure of class 1, sure of class 0, undecided
/// let p = Mat::from_column_slice(2, 3, &[0.05, 0.95, 0.99, 0.01, 0.5, 0.5]);
/// let r = class_report(&p, 0.9)?;
/// assert_eq!(r.histogram, [2, 1]);
/// assert!((r.confident - 2.0 / 3.0).abs() < 1e-12);
/// assert_eq!(r.classes_covered, 2);
/// # Ok::<(), generative::gan::GanError>(())
/// ```
///
/// # Errors
/// No samples or classes, a non-finite probability, or a threshold outside `[0, 1)`.
pub fn class_report<F: optim::Float>(
    probabilities: &optim::Mat<F>,
    threshold: f64,
) -> super::Result<ClassReport> {
    let (classes, n) = probabilities.shape();
    if classes == 0 || n == 0 {
        return Err(super::GanError::Data(format!(
            "class report: expected classes x n probabilities (both ≥ 1), got {classes} x {n}"
        )));
    }
    if !(0.0..1.0).contains(&threshold) {
        return Err(super::GanError::config(
            "threshold",
            threshold,
            "must be in [0, 1) (a probability the winning class must exceed)",
        ));
    }
    optim::check_finite(probabilities, "class probabilities")?;
    let mut histogram = vec![0usize; classes];
    let mut confident = 0usize;
    for column in probabilities.as_slice().chunks_exact(classes) {
        let (mut best, mut p) = (0, column[0].to_f64());
        for (c, &v) in column.iter().enumerate().skip(1) {
            if v.to_f64() > p {
                (best, p) = (c, v.to_f64());
            }
        }
        histogram[best] += 1;
        if p > threshold {
            confident += 1;
        }
    }
    let total = n as f64;
    Ok(ClassReport {
        confident: confident as f64 / total,
        classes_covered: histogram
            .iter()
            .filter(|&&c| c as f64 >= 0.01 * total)
            .count(),
        largest_share: histogram.iter().copied().max().unwrap_or(0) as f64 / total,
        histogram,
    })
}
