//! The two remedies for mode collapse that change what the discriminator sees.
//!
//! **Packing** (PacGAN, Lin et al. 2018): the discriminator judges `m` samples at once, all
//! real or all generated, concatenated into one input of `m·d` values. A generator that puts all
//! its mass on a few modes produces packs that look alike, which a packed discriminator can
//! tell from packs of data; the paper proves that packing penalizes mode collapse more the larger
//! `m` is. With one column per example (column-major), a `d x B` batch *is* the `m·d x B/m`
//! packed batch: column `j` of the packed matrix is samples `j·m … j·m + m − 1` one after the
//! other, the same memory.
//!
//! **Minibatch standard deviation** (Karras et al. 2018, ProGAN §3): one extra input feature,
//! the same for every column, the average over features of the standard deviation over the
//! batch,
//!
//! ```text
//! s = (1/d) Σₖ σₖ,   σₖ = √(varₖ + ε),   varₖ = (1/B) Σⱼ (xₖⱼ − μₖ)²,   ε = 1e-8
//! ∂s/∂xₖⱼ = (xₖⱼ − μₖ) / (d·B·σₖ)        (the μₖ term sums to zero)
//! ```
//!
//! so a generator whose batch has too little spread is visible in every column. Here it is
//! computed over the *unpacked* batch of samples (`d` features, `B` samples) and appended after
//! packing.
//!
//! ```
//! use generative::gan::packing::{pack, unpack_gradient};
//! use optim::Mat;
//! let x = Mat::<f64>::from_column_slice(2, 4, &[1., 2., 3., 4., 5., 6., 7., 8.]);
//! let packed = pack(&x, 2, false)?;
//! assert_eq!(packed.shape(), (4, 2));
//! assert_eq!(packed.column(1).as_slice(), &[5., 6., 7., 8.]); // samples 2 and 3
//! let dx = unpack_gradient(&x, &packed, 2, false)?; // ∂L/∂packed back to ∂L/∂x
//! assert_eq!(dx, x);
//! # Ok::<(), generative::gan::GanError>(())
//! ```

use super::error::{GanError, Result};
use optim::linalg::resize_buffer;
use optim::{Float, Mat};

/// The `ε` inside the minibatch standard deviation's square root.
pub const MINIBATCH_STD_EPS: f64 = 1e-8;

fn check(samples: &Mat<impl Float>, packing: usize) -> Result<()> {
    if packing == 0 {
        return Err(GanError::config("packing", 0, "must be at least 1"));
    }
    if samples.ncols() == 0 || !samples.ncols().is_multiple_of(packing) {
        return Err(GanError::Data(format!(
            "a batch of {} samples cannot be packed in groups of {packing} (it must be a \
             positive multiple of the packing)",
            samples.ncols()
        )));
    }
    Ok(())
}

/// `(μₖ, σₖ)` of feature `k` over the batch (no allocation).
fn feature_spread<F: Float>(samples: &Mat<F>, k: usize) -> (F, F) {
    let b = samples.ncols();
    let inv_b = F::one() / F::of(b as f64);
    let mut mean = F::zero();
    for j in 0..b {
        mean += samples[(k, j)];
    }
    mean *= inv_b;
    let mut var = F::zero();
    for j in 0..b {
        let c = samples[(k, j)] - mean;
        var += c * c;
    }
    (mean, (var * inv_b + F::of(MINIBATCH_STD_EPS)).sqrt())
}

/// The minibatch standard deviation `s = (1/d) Σₖ σₖ` of a `d x B` batch.
pub fn minibatch_std_of<F: Float>(samples: &Mat<F>) -> F {
    let d = samples.nrows();
    let total = (0..d).fold(F::zero(), |acc, k| acc + feature_spread(samples, k).1);
    total / F::of(d.max(1) as f64)
}

/// The discriminator's input for a batch of samples (`d x B`), into a reused buffer: packed
/// in groups of `packing` (`packing·d x B/packing`), plus one row holding the minibatch
/// standard deviation if `minibatch_std`.
///
/// # Errors
/// A packing of 0 or a batch that is empty or not a multiple of `packing`.
pub fn pack_into<F: Float>(
    samples: &Mat<F>,
    packing: usize,
    minibatch_std: bool,
    out: &mut Mat<F>,
) -> Result<()> {
    check(samples, packing)?;
    let (d, b) = samples.shape();
    let rows = d * packing + usize::from(minibatch_std);
    let cols = b / packing;
    resize_buffer(out, rows, cols);
    if !minibatch_std {
        out.as_mut_slice().copy_from_slice(samples.as_slice());
        return Ok(());
    }
    let s = minibatch_std_of(samples);
    let src = samples.as_slice();
    for (j, col) in out.as_mut_slice().chunks_exact_mut(rows).enumerate() {
        col[..rows - 1].copy_from_slice(&src[j * (rows - 1)..(j + 1) * (rows - 1)]);
        col[rows - 1] = s;
    }
    Ok(())
}

/// [`pack_into`] into a new matrix.
///
/// # Errors
/// As [`pack_into`].
pub fn pack<F: Float>(samples: &Mat<F>, packing: usize, minibatch_std: bool) -> Result<Mat<F>> {
    let mut out = Mat::zeros(0, 0);
    pack_into(samples, packing, minibatch_std, &mut out)?;
    Ok(out)
}

/// `∂L/∂samples` (`d x B`, into a reused buffer) from `∂L/∂packed` of [`pack_into`]: the same
/// memory for the packed values and, with the minibatch standard deviation, its gradient
/// `(Σ_columns ∂L/∂s) · (xₖⱼ − μₖ)/(d·B·σₖ)` added to every sample.
///
/// # Errors
/// If `d_packed` does not have the shape `pack_into` gives for `samples`.
pub fn unpack_gradient_into<F: Float>(
    samples: &Mat<F>,
    d_packed: &Mat<F>,
    packing: usize,
    minibatch_std: bool,
    d_samples: &mut Mat<F>,
) -> Result<()> {
    check(samples, packing)?;
    let (d, b) = samples.shape();
    let rows = d * packing + usize::from(minibatch_std);
    if d_packed.shape() != (rows, b / packing) {
        return Err(
            optim::Error::shape("packed gradient", (rows, b / packing), d_packed.shape()).into(),
        );
    }
    resize_buffer(d_samples, d, b);
    if !minibatch_std {
        d_samples
            .as_mut_slice()
            .copy_from_slice(d_packed.as_slice());
        return Ok(());
    }
    let dst = d_samples.as_mut_slice();
    let mut ds = F::zero();
    for (j, col) in d_packed.as_slice().chunks_exact(rows).enumerate() {
        dst[j * (rows - 1)..(j + 1) * (rows - 1)].copy_from_slice(&col[..rows - 1]);
        ds += col[rows - 1];
    }
    let scale = ds / F::of((d * b) as f64);
    for k in 0..d {
        let (mean, sigma) = feature_spread(samples, k);
        for j in 0..b {
            d_samples[(k, j)] += scale * (samples[(k, j)] - mean) / sigma;
        }
    }
    Ok(())
}

/// [`unpack_gradient_into`] into a new matrix.
///
/// # Errors
/// As [`unpack_gradient_into`].
pub fn unpack_gradient<F: Float>(
    samples: &Mat<F>,
    d_packed: &Mat<F>,
    packing: usize,
    minibatch_std: bool,
) -> Result<Mat<F>> {
    let mut out = Mat::zeros(0, 0);
    unpack_gradient_into(samples, d_packed, packing, minibatch_std, &mut out)?;
    Ok(out)
}
