//! Data augmentation of image batches: random translations (and optionally small rotations)
//! drawn per image from the training loop's generator, applied to the gathered batch only.
//!
//! A digit moved by a pixel or two is the same digit. A convolution already *responds* the same
//! way wherever a pattern sits (translation equivariance, notes §6), but the dense layers after
//! pooling still see positions; showing the network shifted copies of each training image
//! teaches them that the class does not depend on where the digit sits. The labels are never
//! touched: [`Augment::apply`] sees only the batch's pixels.
//!
//! Image `j` of a batch (one column, `C·H·W` values in channel, row, column order) becomes
//!
//! ```text
//! translation by (dy, dx):   x'[c, r, s] = x[c, r − dy, s − dx]   (0 where r − dy or s − dx is outside)
//! rotation by θ about the centre (y₀, x₀) = ((H − 1)/2, (W − 1)/2), bilinear, 0 outside:
//!     x'[c, r, s] = bilinear(x[c], y₀ + cosθ (r − y₀) + sinθ (s − x₀), x₀ − sinθ (r − y₀) + cosθ (s − x₀))
//! ```
//!
//! with `dy, dx` uniform on `−m..=m` ([`Augment::max_shift`]) and `θ` uniform on `[−a, a]`
//! ([`Augment::max_rotation_degrees`]), drawn in that order per image from the generator the
//! training loop hands to `Trainable::train_batch`. So augmentation is seeded by
//! `TrainConfig::seed`, resumes exactly with the loop (its generator's position is saved), and an
//! [`Augment`] that changes nothing draws nothing. Evaluation never calls it.
//!
//! ```
//! use optim::augment::{Augment, translate};
//! // a 1 x 3 x 3 image with one lit pixel in the middle, moved one row down and one column left
//! let image = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
//! let mut moved = [0.0; 9];
//! translate(&image, &mut moved, (1, 3, 3), 1, -1);
//! assert_eq!(moved, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
//!
//! // a batch of two images, each shifted by its own seeded draw in −1..=1
//! let mut batch = optim::Mat::<f32>::from_fn(9, 2, |i, _| if i == 4 { 1.0 } else { 0.0 });
//! let mut scratch = Vec::new();
//! Augment::shifts(1).apply(&mut batch, (1, 3, 3), &mut scratch, &mut optim::rng(0))?;
//! // a one-pixel move keeps the centre pixel inside the 3 x 3 frame
//! assert!(batch.column_iter().all(|c| c.sum() == 1.0));
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{Error, Float, Mat, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Random translations (and rotations) of training images; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Augment {
    /// Largest shift in pixels along each axis: `dy, dx` uniform on `−m..=m`, zero fill.
    /// Default: 0 (none).
    pub max_shift: usize,
    /// Largest rotation in degrees: `θ` uniform on `[−a, a]`, bilinear, zero fill. Default: 0
    /// (none).
    pub max_rotation_degrees: f64,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            max_shift: 0,
            max_rotation_degrees: 0.0,
        }
    }
}

impl Augment {
    /// Random translations of up to `max_shift` pixels along each axis.
    pub fn shifts(max_shift: usize) -> Self {
        Augment {
            max_shift,
            ..Default::default()
        }
    }

    /// Adds random rotations of up to `degrees` either way.
    pub fn rotations(mut self, degrees: f64) -> Self {
        self.max_rotation_degrees = degrees;
        self
    }

    /// Whether this changes no image (and draws nothing).
    pub fn is_identity(&self) -> bool {
        self.max_shift == 0 && self.max_rotation_degrees == 0.0
    }

    /// Checks the settings for `height x width` images: a shift smaller than both sides and a
    /// rotation in `[0, 180]` degrees.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the field.
    pub fn validate(&self, height: usize, width: usize) -> Result<()> {
        if self.max_shift > 0 && self.max_shift >= height.min(width) {
            return Err(Error::hyper(
                "augment.max_shift",
                self.max_shift,
                &format!("must be smaller than the image's sides ({height} x {width})"),
            ));
        }
        let a = self.max_rotation_degrees;
        if !(a.is_finite() && (0.0..=180.0).contains(&a)) {
            return Err(Error::hyper(
                "augment.max_rotation_degrees",
                a,
                "must lie in [0, 180]",
            ));
        }
        Ok(())
    }

    /// Replaces every image (column) of `batch` by a randomly moved copy, drawing per image
    /// `dy`, `dx` (when `max_shift > 0`) and then `θ` (when `max_rotation_degrees > 0`) from
    /// `rng`. `scratch` holds one image (kept between calls, so a training step does not
    /// allocate once it has grown).
    ///
    /// # Shapes
    /// `batch`: `(C·H·W) x B` for `image = (C, H, W)`.
    ///
    /// # Errors
    /// A batch whose row count is not `C·H·W`, or settings [`Augment::validate`] refuses.
    pub fn apply<F: Float, R: Rng>(
        &self,
        batch: &mut Mat<F>,
        image: (usize, usize, usize),
        scratch: &mut Vec<F>,
        rng: &mut R,
    ) -> Result<()> {
        let (c, h, w) = image;
        if batch.nrows() != c * h * w {
            return Err(Error::shape(
                format!("augmented batch of {c} x {h} x {w} images"),
                (c * h * w, batch.ncols()),
                batch.shape(),
            ));
        }
        self.validate(h, w)?;
        if self.is_identity() || batch.nrows() == 0 {
            return Ok(());
        }
        let m = self.max_shift as i64;
        let a = self.max_rotation_degrees.to_radians();
        scratch.resize(batch.nrows(), F::zero());
        for column in batch.as_mut_slice().chunks_exact_mut(c * h * w) {
            let (dy, dx) = if m > 0 {
                let dy = rng.random_range(-m..=m) as isize;
                (dy, rng.random_range(-m..=m) as isize)
            } else {
                (0, 0)
            };
            let theta = if a > 0.0 {
                rng.random_range(-a..=a)
            } else {
                0.0
            };
            scratch.copy_from_slice(column);
            if theta == 0.0 {
                translate(scratch, column, image, dy, dx);
            } else {
                transform(scratch, column, image, theta, dy as f64, dx as f64);
            }
        }
        Ok(())
    }
}

/// `dst ← src` moved by `dy` rows (down for `dy > 0`) and `dx` columns (right for `dx > 0`),
/// with zeros where the moved image does not reach: `dst[c, r, s] = src[c, r − dy, s − dx]`.
///
/// # Shapes
/// `src`, `dst`: `C·H·W` values each, for `image = (C, H, W)`.
///
/// # Panics
/// If a slice is not `C·H·W` long (a bug in the caller).
pub fn translate<F: Float>(
    src: &[F],
    dst: &mut [F],
    image: (usize, usize, usize),
    dy: isize,
    dx: isize,
) {
    let (c, h, w) = image;
    assert!(
        src.len() == c * h * w && dst.len() == c * h * w,
        "translate: slices of {} and {} values for a {c} x {h} x {w} image",
        src.len(),
        dst.len()
    );
    dst.fill(F::zero());
    let (hi, wi) = (h as isize, w as isize);
    // the destination columns s with 0 ≤ s − dx < W, i.e. max(0, dx) ≤ s < min(W, W + dx)
    let (s0, s1) = (dx.max(0), wi.min(wi + dx));
    if s0 >= s1 {
        return;
    }
    let len = (s1 - s0) as usize;
    for ch in 0..c {
        let plane = ch * h * w;
        for r in dy.max(0)..hi.min(hi + dy) {
            let from = plane + (r - dy) as usize * w + (s0 - dx) as usize;
            let to = plane + r as usize * w + s0 as usize;
            dst[to..to + len].copy_from_slice(&src[from..from + len]);
        }
    }
}

/// `dst ← src` rotated by `theta` radians about the image centre and then moved by
/// `(dy, dx)`, by bilinear interpolation with zeros outside the image (module docs). With
/// `theta = 0` and whole-pixel moves this equals [`translate`].
///
/// # Shapes
/// `src`, `dst`: `C·H·W` values each, for `image = (C, H, W)`.
///
/// # Panics
/// If a slice is not `C·H·W` long (a bug in the caller).
pub fn transform<F: Float>(
    src: &[F],
    dst: &mut [F],
    image: (usize, usize, usize),
    theta: f64,
    dy: f64,
    dx: f64,
) {
    let (c, h, w) = image;
    assert!(
        src.len() == c * h * w && dst.len() == c * h * w,
        "transform: slices of {} and {} values for a {c} x {h} x {w} image",
        src.len(),
        dst.len()
    );
    let (y0, x0) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let (sin, cos) = theta.sin_cos();
    // the value at (y, x) of one plane, 0 outside
    let at = |plane: &[F], y: isize, x: isize| -> f64 {
        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
            0.0
        } else {
            plane[y as usize * w + x as usize].to_f64()
        }
    };
    for ch in 0..c {
        let plane = &src[ch * h * w..(ch + 1) * h * w];
        for r in 0..h {
            for s in 0..w {
                // undo the move, then the rotation: the source point of (r, s)
                let (u, v) = (r as f64 - dy - y0, s as f64 - dx - x0);
                let y = y0 + cos * u + sin * v;
                let x = x0 - sin * u + cos * v;
                let (yf, xf) = (y.floor(), x.floor());
                let (ty, tx) = (y - yf, x - xf);
                let (yi, xi) = (yf as isize, xf as isize);
                let value = (1.0 - ty)
                    * ((1.0 - tx) * at(plane, yi, xi) + tx * at(plane, yi, xi + 1))
                    + ty * ((1.0 - tx) * at(plane, yi + 1, xi) + tx * at(plane, yi + 1, xi + 1));
                dst[ch * h * w + r * w + s] = F::of(value);
            }
        }
    }
}
