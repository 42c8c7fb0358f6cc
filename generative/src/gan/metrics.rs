//! How good generated samples are: PacGAN's mode counts for the Gaussian mixtures
//! ([`ModeReport`], computed by [`Mixture::evaluate`](super::data::Mixture::evaluate)) and the
//! two-sample Kolmogorov–Smirnov statistic for 1-D samples.
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
