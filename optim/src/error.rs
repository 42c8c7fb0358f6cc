//! The one error type of the workspace's foundation.
//!
//! Everything a user can get wrong (shapes, hyperparameters, non-finite data, malformed files)
//! comes back as an [`Error`] whose message names *what* and *where*; nothing panics on user input.

use std::path::PathBuf;

/// Errors returned by `optim` (and re-used by the chapter crates).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree do not.
    #[error("shape mismatch in {context}: expected {expected}, got {got}")]
    Shape {
        /// Where the mismatch was found (layer, function or parameter name).
        context: String,
        /// The shape that was required, written as `rows x cols` or `C x H x W`.
        expected: String,
        /// The shape that was given.
        got: String,
    },
    /// A hyperparameter outside its valid range.
    #[error("invalid hyperparameter {name} = {value}: {reason}")]
    Hyperparameter {
        /// Its name, as in the configuration struct.
        name: String,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A NaN or infinity where a finite number is required.
    #[error("non-finite value in {context}")]
    NonFinite {
        /// Where it was found (e.g. `training loss at epoch 3, step 17`, `input column 5`).
        context: String,
    },
    /// A data set or file whose contents do not fit its format.
    #[error("{}: {position}: {reason}", path.display())]
    Format {
        /// The file (or a description such as `<memory>`).
        path: PathBuf,
        /// Line, row or byte offset where the problem is.
        position: String,
        /// What is wrong.
        reason: String,
    },
    /// Input data that cannot be used (empty data set, label out of range, ...).
    #[error("invalid data: {0}")]
    Data(String),
    /// A checkpoint that does not fit the model it is loaded into.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Which parameter does not fit, and how.
        reason: String,
    },
    /// A numerical problem such as a singular linear system.
    #[error("numerical problem in {context}: {reason}")]
    Numerical {
        /// Where.
        context: String,
        /// What.
        reason: String,
    },
    /// An I/O error, with the file it concerns.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Shape`] for a matrix whose shape is not the one required.
    pub fn shape(
        context: impl Into<String>,
        expected: (usize, usize),
        got: (usize, usize),
    ) -> Self {
        Error::Shape {
            context: context.into(),
            expected: format!("{} x {}", expected.0, expected.1),
            got: format!("{} x {}", got.0, got.1),
        }
    }

    /// A [`Error::Hyperparameter`].
    pub fn hyper(name: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Error::Hyperparameter {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// A [`Error::Format`] for `path` at `position`.
    pub fn format(
        path: impl Into<PathBuf>,
        position: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Format {
            path: path.into(),
            position: position.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Returns an error if a hyperparameter that must be positive and finite is not.
pub fn check_positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::hyper(name, value, "must be positive and finite"))
    }
}

/// Returns an error if a hyperparameter is not finite or lies outside `[lo, hi]`.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(Error::hyper(
            name,
            value,
            &format!("must lie in [{lo}, {hi}]"),
        ))
    }
}
