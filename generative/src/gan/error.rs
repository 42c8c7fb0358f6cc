//! The errors of the GAN module: everything a user can get wrong — a configuration out of range,
//! data that are not what the model reads, a training run that diverges — as one `thiserror`
//! enum whose messages name what and where.

use std::path::PathBuf;

/// What can go wrong building, training, loading or feeding a GAN.
#[derive(Debug, thiserror::Error)]
pub enum GanError {
    /// A setting of [`GanConfig`](super::GanConfig) or [`GanTraining`](super::GanTraining)
    /// outside its range.
    #[error("invalid GAN setting {name} = {value}: {reason}")]
    Config {
        /// The field, as in the configuration struct (`training.discriminator_steps`).
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A points file whose rows are not 2-D points.
    #[error("{}: not a file of 2-D points: {reason}", path.display())]
    NotPoints {
        /// The file.
        path: PathBuf,
        /// What is wrong (how many columns were found, where).
        reason: String,
    },
    /// Samples handed to a model or metric that do not fit it.
    #[error("invalid GAN data: {0}")]
    Data(String),
    /// A loss that turned NaN or infinite during training; the weights are those of the step
    /// before.
    #[error("non-finite {network} loss ({value}) at epoch {epoch}, step {step}")]
    NonFinite {
        /// `discriminator` or `generator`.
        network: &'static str,
        /// The value.
        value: f64,
        /// Epoch, from 1.
        epoch: usize,
        /// The network's own step count, from 1.
        step: usize,
    },
    /// An error of the shared foundation (a shape, a malformed or non-finite CSV field with
    /// its line and column, a checkpoint that does not fit, an I/O error).
    #[error(transparent)]
    Optim(#[from] optim::Error),
}

impl GanError {
    /// A [`GanError::Config`].
    pub fn config(name: &'static str, value: impl std::fmt::Display, reason: &str) -> Self {
        GanError::Config {
            name,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// `Result` with [`GanError`].
pub type Result<T, E = GanError> = std::result::Result<T, E>;
