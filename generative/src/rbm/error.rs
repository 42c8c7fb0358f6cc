//! The errors of the RBM/DBN half of the crate.

/// Everything a user can get wrong with an RBM, a DBN or their estimators.
#[derive(Debug, thiserror::Error)]
pub enum RbmError {
    /// A layer of zero units.
    #[error("invalid RBM: the {layer} layer has 0 units")]
    ZeroUnits {
        /// `visible`, `hidden` or `DBN layer N`.
        layer: String,
    },
    /// A Bernoulli visible unit given a value outside `[0, 1]` (or a non-finite one).
    #[error(
        "{what}: value {value} at row {row}, column {column} is outside [0, 1] (Bernoulli visible units take probabilities; scale pixels first)"
    )]
    OutOfUnitInterval {
        /// Which data set.
        what: String,
        /// Unit (row).
        row: usize,
        /// Example (column).
        column: usize,
        /// The value.
        value: f64,
    },
    /// A non-finite value in the data.
    #[error("{what}: non-finite value at row {row}, column {column}")]
    NonFinite {
        /// Which data set.
        what: String,
        /// Unit (row).
        row: usize,
        /// Example (column).
        column: usize,
    },
    /// An invalid training or estimator setting.
    #[error("invalid setting {name} = {value}: {reason}")]
    Setting {
        /// Its name, as in the configuration struct.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Data whose width is not the model's visible layer.
    #[error("{what}: {got} rows, the model has {expected} visible units")]
    Width {
        /// Which data set.
        what: String,
        /// The model's visible units.
        expected: usize,
        /// Rows of the data.
        got: usize,
    },
    /// Exact enumeration asked of a model whose smaller layer is too large.
    #[error(
        "exact enumeration needs a layer of at most {max} units; the smaller one has {units} (use AIS)"
    )]
    TooLarge {
        /// Units of the layer that would be enumerated.
        units: usize,
        /// The limit.
        max: usize,
    },
    /// An operation the chosen visible units do not support.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A training run that diverged.
    #[error("non-finite {what} at epoch {epoch}, batch {batch}")]
    Diverged {
        /// What became non-finite.
        what: &'static str,
        /// Epoch, from 1.
        epoch: usize,
        /// Batch of the epoch, from 1.
        batch: usize,
    },
    /// An error of the shared foundation (checkpoints, layers, the training loop).
    #[error(transparent)]
    Optim(#[from] optim::Error),
}

impl From<RbmError> for optim::Error {
    fn from(e: RbmError) -> Self {
        match e {
            RbmError::Optim(inner) => inner,
            other => optim::Error::Data(other.to_string()),
        }
    }
}

/// `Result` with [`RbmError`].
pub type Result<T, E = RbmError> = std::result::Result<T, E>;

pub(crate) fn setting(
    name: &'static str,
    value: impl std::fmt::Display,
    reason: &'static str,
) -> RbmError {
    RbmError::Setting {
        name,
        value: value.to_string(),
        reason,
    }
}
