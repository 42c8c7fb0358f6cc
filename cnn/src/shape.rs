//! [`ImageShape`]: the `C x H x W` shape of the images in a batch's columns.
//!
//! ```
//! use cnn::ImageShape;
//! let s = ImageShape::new(3, 28, 28);
//! assert_eq!((s.len(), s.area(), s.to_string()), (2352, 784, "3 x 28 x 28".to_string()));
//! assert_eq!(ImageShape::flat(10).len(), 10);
//! assert_eq!(ImageShape::new(usize::MAX, 2, 1).checked_len(), None);
//! ```

use optim::{Error, Float, Mat, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The shape of one image: `channels x height x width`. A flat feature vector of width `n` is
/// `n x 1 x 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    /// Number of channels `C`.
    pub channels: usize,
    /// Height `H` (rows).
    pub height: usize,
    /// Width `W` (columns).
    pub width: usize,
}

impl ImageShape {
    /// The shape `channels x height x width`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// A flat vector of `features` values, `features x 1 x 1`.
    pub const fn flat(features: usize) -> Self {
        ImageShape::new(features, 1, 1)
    }

    /// `C·H·W`: the number of rows of a batch of such images.
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the shape holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `H·W`: the number of pixels of one channel.
    pub const fn area(&self) -> usize {
        self.height * self.width
    }

    /// Checks that `x` is a batch of images of this shape (one column per image).
    ///
    /// # Errors
    /// [`Error::Shape`] naming `context`, the expected `C x H x W` and the actual row count.
    pub fn check<F: Float>(&self, context: &str, x: &Mat<F>) -> Result<()> {
        if x.nrows() != self.len() {
            return Err(Error::Shape {
                context: format!("{context} (one image of C x H x W values per column)"),
                expected: format!("{self} = {} rows", self.len()),
                got: format!("{} rows (x {} columns)", x.nrows(), x.ncols()),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ImageShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x {} x {}", self.channels, self.height, self.width)
    }
}

impl ImageShape {
    /// `C·H·W` with checked arithmetic (`None` on overflow), for sizes read from a file.
    pub fn checked_len(&self) -> Option<usize> {
        self.channels
            .checked_mul(self.height)?
            .checked_mul(self.width)
    }
}

/// Checks that a hyperparameter counted in pixels is at least 1.
pub(crate) fn check_nonzero(name: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::hyper(name, value, "must be at least 1"));
    }
    Ok(())
}
