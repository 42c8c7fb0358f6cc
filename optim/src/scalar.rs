//! Scalars, matrices and the numerically stable soft-max family (notes §1: the model is a
//! composition of differentiable functions of matrices).
//!
//! # The one-column-per-example convention
//!
//! A batch is a [`Mat`] with **one column per example**: `features x batch`. This is how the notes
//! write `W x + b`, and since nalgebra stores matrices column-major, every example is contiguous in
//! memory. A sequence is one such matrix per time step; an image column holds `C*H*W` values in
//! channel, row, column order.

use nalgebra::{DMatrix, DVector, RealField};

/// A dynamically sized matrix: `features x batch` for data, `out x in` for weights.
pub type Mat<F> = DMatrix<F>;
/// A dynamically sized column vector.
pub type Vector<F> = DVector<F>;

/// The scalar type of every model: implemented for `f32` (training) and `f64` (gradient checks).
///
/// Finite differences in single precision are too noisy to catch a wrong term, which is why the
/// gradient checks run in `f64` while training runs in `f32`.
pub trait Float:
    RealField + Copy + Default + Send + Sync + std::fmt::Display + std::fmt::Debug + 'static
{
    /// The safetensors dtype name of this scalar (`F32` or `F64`).
    const DTYPE: &'static str;
    /// Machine epsilon.
    const EPSILON: Self;
    /// The smallest positive *normal* value; below it lie the subnormals, whose arithmetic
    /// costs ~100 cycles an operation on x86 (see [`flush_subnormal`]).
    const MIN_POSITIVE: Self;
    /// Converts from `f64` (rounding for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64` (exactly).
    fn to_f64(self) -> f64;
    /// Whether the value is neither NaN nor infinite.
    fn finite(self) -> bool;
    /// The standard normal distribution function and density together,
    /// `(Φ(z), φ(z))` with `Φ(z) = ½(1 + erf(z/√2))` and `φ(z) = e^{−z²/2}/√(2π)`: GELU's
    /// forward pass needs `Φ`, its derivative `Φ + zφ` both.
    ///
    /// `f64` (the gradient checks, the PyTorch fixtures) computes them exactly with libm's `erf`.
    /// `f32` (training) uses [`normal_cdf_pdf_f32`], a branch-free approximation within a few
    /// units in the last place of `f32` that the compiler vectorizes; libm's scalar `erf` and
    /// `exp` in `f64` took a quarter of a Transformer training step.
    fn normal_cdf_pdf(self) -> (Self, Self);
    /// The logistic sigmoid `σ(z) = 1/(1 + e^{−z})`, computed as `e^{z}/(1 + e^{z})` for `z < 0`
    /// so that it never overflows. `f64` uses the library `exp`; `f32` the branch-free `exp` of
    /// [`normal_cdf_pdf_f32`], so loops over it vectorize (within 4 units in the last place).
    fn logistic(self) -> Self;
    /// `e^x` for loops that should vectorize (soft-max, log-sum-exp over many entries): `f32`
    /// uses the branch-free [`exp_f32`] (within 4 units in the last place; inputs below −87.6
    /// give a tiny positive number instead of 0), `f64` libm's `exp`, exactly as
    /// [`f64::exp`], so the gradient checks and the PyTorch fixtures see the library function.
    fn exp_fast(self) -> Self;
}

impl Float for f32 {
    const DTYPE: &'static str = "F32";
    const EPSILON: Self = f32::EPSILON;
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn normal_cdf_pdf(self) -> (Self, Self) {
        normal_cdf_pdf_f32(self)
    }
    #[inline]
    fn logistic(self) -> Self {
        let e = exp_f32(-self.abs());
        let s = 1.0 / (1.0 + e);
        if self >= 0.0 { s } else { e * s }
    }
    #[inline]
    fn exp_fast(self) -> Self {
        exp_f32(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "F64";
    const EPSILON: Self = f64::EPSILON;
    const MIN_POSITIVE: Self = f64::MIN_POSITIVE;
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn normal_cdf_pdf(self) -> (Self, Self) {
        let cdf = 0.5 * (1.0 + libm::erf(self / std::f64::consts::SQRT_2));
        let pdf = (-0.5 * self * self).exp() / (2.0 * std::f64::consts::PI).sqrt();
        (cdf, pdf)
    }
    #[inline]
    fn logistic(self) -> Self {
        if self >= 0.0 {
            1.0 / (1.0 + (-self).exp())
        } else {
            let e = self.exp();
            e / (1.0 + e)
        }
    }
    #[inline]
    fn exp_fast(self) -> Self {
        self.exp()
    }
}

/// `e^y` in `f32` without branches or library calls, so a loop over it vectorizes.
///
/// Range reduction `e^y = 2^k · e^r` with `k = round(y / ln 2)` and `|r| ≤ ln 2 / 2`, then
/// `e^r` by its Taylor polynomial to degree 7 (truncation error `|r|⁸/8! < 3·10⁻⁹`, below `f32`'s
/// rounding), and `2^k` written directly into the exponent bits. `y` is clamped to
/// `[−87.6, 88]`, where `k` stays in `[−126, 127]` and `2^k` a normal number: below, the true value
/// is far into the subnormals or zero, above it overflows `f32` anyway.
#[inline(always)]
pub fn exp_f32(y: f32) -> f32 {
    // written so that NaN passes through (both comparisons are false for it)
    let y = if y < -87.6 { -87.6 } else { y };
    let y = if y > 88.0 { 88.0 } else { y };
    // round to nearest by the 1.5·2²³ trick: adding it pushes the fraction bits out
    const ROUND: f32 = 12_582_912.0;
    let shifted = y * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    // r = y − k ln 2, with ln 2 split in two so the product k·ln 2 loses no bits
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // Horner on the Taylor coefficients 1/n!, as products (a division per term would cost more
    // than the rest of the function)
    const C: [f32; 8] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
    ];
    let mut p = C[7];
    for &c in C[..7].iter().rev() {
        p = p * r + c;
    }
    // `shifted`'s low mantissa bits hold k itself (its bits are those of 1.5·2²³ plus k), so
    // `2^k` is `k + 127` moved into the exponent field; the shift drops the rest. An `as i32`
    // conversion would check for NaN per element and stop the loop from vectorizing.
    let two_k = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    p * two_k
}

/// `(Φ(z), φ(z))` in `f32`, branch-free (see [`Float::normal_cdf_pdf`]).
///
/// The tail `erfc(x)` for `x = |z|/√2 ≥ 0` by the Chebyshev fit of Numerical Recipes (`erfcc`,
/// §6.2), whose *relative* error is below 1.2·10⁻⁷ for every `x ≥ 0`:
/// `erfc(x) = t · exp(−x² + P(t))`, `t = 1/(1 + x/2)`, `P` of degree 9 below. Then
/// `Φ(z) = erfc(x)/2` for `z < 0`, computed as a product, so it keeps its relative accuracy far
/// into the tail, and `Φ(z) = 1 − erfc(x)/2` for `z ≥ 0`. `φ(z) = e^{−z²/2}/√(2π)`.
///
/// Measured against the `f64` path over `z ∈ [−12, 12]` (the unit test): `Φ` within 2.0·10⁻⁷
/// absolute (3.5 units in the last place at `Φ = ½`; `f32` rounding in `P`'s cancelling terms),
/// within 2.1·10⁻⁶ relative wherever `Φ ≥ 10⁻⁶`; `φ` within 4.1·10⁻⁸ absolute.
#[inline(always)]
pub fn normal_cdf_pdf_f32(z: f32) -> (f32, f32) {
    // 1/√(2π)
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let x = z.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x);
    let p = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_2 + t * 0.170_872_77))))))));
    let erfc = t * exp_f32(p - x * x);
    let cdf = if z < 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    };
    (cdf, exp_f32(-0.5 * z * z) * INV_SQRT_2PI)
}

/// The index of the first NaN or infinity in `xs`, if any.
///
/// Every batch and gradient handed to a model is checked, so the common case is made cheap:
/// `Σ 0·v` is 0 exactly when every `v` is finite (`0·±∞` and `0·NaN` are NaN), a sum that
/// vectorizes ([`crate::simd::sum_map`]); the entry is searched for only when it is not.
///
/// ```
/// assert_eq!(optim::first_non_finite(&[1.0_f32, 2.0]), None);
/// assert_eq!(optim::first_non_finite(&[1.0, f64::NAN, f64::INFINITY]), Some(1));
/// ```
pub fn first_non_finite<F: Float>(xs: &[F]) -> Option<usize> {
    if crate::simd::sum_map(xs, |v| v * F::zero()) == F::zero() {
        return None;
    }
    xs.iter().position(|v| !v.finite())
}

/// Returns an error naming `context` and the first non-finite entry, if any.
pub fn check_finite<F: Float>(m: &Mat<F>, context: &str) -> crate::Result<()> {
    match first_non_finite(m.as_slice()) {
        None => Ok(()),
        Some(i) => Err(crate::Error::NonFinite {
            context: format!(
                "{context} (row {}, column {})",
                i % m.nrows().max(1),
                i / m.nrows().max(1)
            ),
        }),
    }
}

/// Checks a batch handed to a model: at least one example (column), `features` rows, every
/// value finite. The error names `context` and, for a non-finite value, its row and column.
pub fn check_batch<F: Float>(x: &Mat<F>, features: usize, context: &str) -> crate::Result<()> {
    if x.ncols() == 0 {
        return Err(crate::Error::Data(format!(
            "{context}: empty data (no examples)"
        )));
    }
    if x.nrows() != features {
        return Err(crate::Error::shape(
            context,
            (features, x.ncols()),
            x.shape(),
        ));
    }
    check_finite(x, context)
}

/// `log Σ_i exp(x_i)` of one column, computed as `m + log Σ exp(x_i − m)` with `m = max x`, so it
/// is finite for inputs of any finite magnitude (the naive sum overflows at `x ≈ 89` in `f32`).
pub fn logsumexp<F: Float>(column: &[F]) -> F {
    let m = column
        .iter()
        .copied()
        .fold(F::of(f64::NEG_INFINITY), |a, b| if b > a { b } else { a });
    if !m.finite() {
        return m;
    }
    let s = column.iter().fold(F::zero(), |acc, &v| acc + (v - m).exp());
    m + s.ln()
}

/// Column-wise soft-max: `softmax(z)_i = exp(z_i − max z) / Σ_j exp(z_j − max z)`.
///
/// Subtracting the column maximum changes nothing mathematically (soft-max is invariant to adding
/// a constant to a column) and keeps every `exp` in `(0, 1]`.
///
/// # Shapes
/// `z`: `classes x batch` → `classes x batch`, each column summing to 1.
pub fn softmax<F: Float>(z: &Mat<F>) -> Mat<F> {
    let mut out = z.clone();
    softmax_in_place(&mut out);
    out
}

/// [`softmax`] overwriting its argument (no allocation).
pub fn softmax_in_place<F: Float>(z: &mut Mat<F>) {
    let rows = z.nrows();
    if rows == 0 {
        return;
    }
    for column in z.as_mut_slice().chunks_exact_mut(rows) {
        let m = column
            .iter()
            .copied()
            .fold(column[0], |a, b| if b > a { b } else { a });
        // the exponentials first (a map, which vectorizes), then their sum in order
        crate::simd::map(column, |v| (v - m).exp_fast());
        let sum = column.iter().fold(F::zero(), |acc, &v| acc + v);
        let inv = F::one() / sum;
        crate::simd::map(column, |v| v * inv);
    }
}

/// Column-wise log-soft-max: `log_softmax(z)_i = z_i − logsumexp(z)`.
///
/// # Shapes
/// `z`: `classes x batch` → `classes x batch`.
pub fn log_softmax<F: Float>(z: &Mat<F>) -> Mat<F> {
    let mut out = z.clone();
    let rows = z.nrows();
    if rows == 0 {
        return out;
    }
    for column in out.as_mut_slice().chunks_exact_mut(rows) {
        let lse = logsumexp(column);
        for v in column.iter_mut() {
            *v -= lse;
        }
    }
    out
}

/// Index of the largest entry of each column (the predicted class).
pub fn argmax_columns<F: Float>(m: &Mat<F>) -> Vec<usize> {
    let rows = m.nrows();
    if rows == 0 {
        return vec![0; m.ncols()];
    }
    m.as_slice()
        .chunks_exact(rows)
        .map(|c| {
            let mut best = 0;
            for (i, &v) in c.iter().enumerate() {
                if v > c[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Converts a matrix between scalar types (e.g. an `f32` model's weights to `f64`).
pub fn cast<A: Float, B: Float>(m: &Mat<A>) -> Mat<B> {
    m.map(|v| B::of(v.to_f64()))
}

/// `x`, or zero when `|x|` is subnormal (below [`Float::MIN_POSITIVE`]).
///
/// Optimizer state that decays geometrically — Adam's `m ← β₁ m` for a weight whose gradient
/// is exactly zero (a dead ReLU unit) — reaches the subnormal range after a few hundred steps
/// (`0.9^700 · 1e-5 < 1.2e-38` in `f32`), and from then on every step does its arithmetic on
/// subnormals, which x86 cores run in microcode. Measured on the 784-256-128-10 MLP benchmark
/// (`mlp_throughput --epochs 30`, random labels, so many units die): 1920 steps took 23.3 s
/// without the flush and 7.5 s with it, the same final loss to the printed digits. Flushing changes a value by less than `1.2e-38` (`f32`) or `2.2e-308` (`f64`); a select,
/// so the loop still vectorizes.
///
/// ```
/// use optim::flush_subnormal;
/// assert_eq!(flush_subnormal(1e-39f32), 0.0);
/// assert_eq!(flush_subnormal(-1e-39f32), 0.0);
/// assert_eq!(flush_subnormal(2e-38f32), 2e-38);
/// ```
#[inline]
pub fn flush_subnormal<F: Float>(x: F) -> F {
    if x < F::MIN_POSITIVE && x > -F::MIN_POSITIVE {
        F::zero()
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(largest absolute error of Φ, of φ, of GELU)` of the `f32` path against the exact `f64`
    /// one, and the largest relative error of `Φ` where `Φ ≥ 10⁻⁶`, over a fine grid of `[−12, 12]`.
    fn f32_errors() -> (f64, f64, f64, f64) {
        let (mut cdf_abs, mut pdf_abs, mut gelu_abs, mut cdf_rel) = (0f64, 0f64, 0f64, 0f64);
        for i in -120_000..=120_000 {
            let z = i as f32 * 1e-4;
            let (c, p) = z.normal_cdf_pdf();
            let (ce, pe) = (z as f64).normal_cdf_pdf();
            cdf_abs = cdf_abs.max((c as f64 - ce).abs());
            pdf_abs = pdf_abs.max((p as f64 - pe).abs());
            gelu_abs = gelu_abs.max(((z * c) as f64 - z as f64 * ce).abs());
            if ce >= 1e-6 {
                cdf_rel = cdf_rel.max((c as f64 - ce).abs() / ce);
            }
        }
        (cdf_abs, pdf_abs, gelu_abs, cdf_rel)
    }

    #[test]
    fn f32_normal_cdf_pdf_agree_with_the_exact_f64_ones() {
        let (cdf_abs, pdf_abs, gelu_abs, cdf_rel) = f32_errors();
        eprintln!(
            "Φ abs {cdf_abs:.3e}, φ abs {pdf_abs:.3e}, GELU abs {gelu_abs:.3e}, Φ rel {cdf_rel:.3e}"
        );
        // the fit's relative error is 1.2e-7, plus f32's rounding in P's cancelling terms and
        // in x²: measured 2.0e-7 (3.5 ulp at Φ = ½)
        assert!(cdf_abs < 3e-7, "Φ absolute error {cdf_abs:e}");
        assert!(pdf_abs < 1e-7, "φ absolute error {pdf_abs:e}");
        assert!(gelu_abs < 1e-6, "GELU absolute error {gelu_abs:e}");
        // relative accuracy holds in the tail too (Φ ≥ 1e-6 is z ≥ −4.75): measured 2.1e-6,
        // the rounding of x² in the exponent
        assert!(cdf_rel < 5e-6, "Φ relative error {cdf_rel:e}");
    }

    #[test]
    fn f32_exp_is_accurate_to_a_few_ulp() {
        let mut worst = 0f64;
        for i in -876_000..=880_000 {
            let y = i as f32 * 1e-4;
            let got = exp_f32(y) as f64;
            let want = (y as f64).exp();
            if want >= f32::MIN_POSITIVE as f64 {
                worst = worst.max((got - want).abs() / want);
            }
        }
        assert!(
            worst < 4.0 * f32::EPSILON as f64,
            "relative error {worst:e}"
        );
        // the edges: e^0 = 1 exactly, no NaN or infinity below the clamp
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-1e30).is_finite());
        assert!(exp_f32(f32::NEG_INFINITY) >= 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn f32_logistic_agrees_with_the_f64_one() {
        let mut worst = 0f64;
        for i in -900_000..=900_000 {
            let z = i as f32 * 1e-4;
            let got = z.logistic() as f64;
            let want = (z as f64).logistic();
            if want >= f32::MIN_POSITIVE as f64 {
                worst = worst.max((got - want).abs() / want);
            }
        }
        assert!(
            worst < 4.0 * f32::EPSILON as f64,
            "relative error {worst:e}"
        );
        assert_eq!(0f32.logistic(), 0.5);
        assert!(f32::NAN.logistic().is_nan());
        assert_eq!(f32::INFINITY.logistic(), 1.0);
    }

    #[test]
    fn f32_normal_cdf_is_monotone_and_in_the_unit_interval() {
        let mut last = 0f32;
        for i in -100_000..=100_000 {
            let (c, p) = (i as f32 * 1e-4).normal_cdf_pdf();
            assert!((0.0..=1.0).contains(&c) && p >= 0.0);
            assert!(c >= last, "Φ decreased at z = {}", i as f32 * 1e-4);
            last = c;
        }
        let (c, _) = f32::NAN.normal_cdf_pdf();
        assert!(c.is_nan());
    }
}
