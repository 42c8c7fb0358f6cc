//! Saving and loading a trained network by parameter name ([`optim::checkpoint`]: safetensors,
//! the format PyTorch and candle read, written atomically).
//!
//! The file holds every parameter under its dotted name (`layers.0.weight`, `layers.0.bias`,
//! `layers.1.weight`, …, PyTorch's `Linear.weight` layout `out x in`), batch norm's running
//! statistics as buffers (`layers.1.running_mean`, `layers.1.running_var`), and the
//! configuration as the metadata entry `mlp.config` (one line, [`Config::to_line`]), so
//! [`Mlp::load`] can rebuild the architecture before reading the weights.

use crate::network::{Config, Mlp};
use optim::checkpoint::{self, Checkpoint};
use optim::{Error, Float, Result};
use std::path::Path;

/// The metadata key under which the configuration is stored.
pub const CONFIG_KEY: &str = "mlp.config";

impl<F: Float> Mlp<F> {
    /// Saves parameters, running statistics and configuration to `path` (atomically).
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let line = self.config().to_line();
        checkpoint::save(path, self, &[(CONFIG_KEY, line)])
    }

    /// Rebuilds a network from a file written by [`Mlp::save`]: the architecture from its
    /// metadata, then every parameter and buffer by name.
    ///
    /// # Errors
    /// An unreadable file, a missing or malformed configuration, or a tensor that does not fit
    /// (the message names it).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let ck = Checkpoint::<F>::read(path)?;
        let line = ck
            .metadata
            .get(CONFIG_KEY)
            .ok_or_else(|| Error::Checkpoint {
                path: path.into(),
                reason: format!("no {CONFIG_KEY} metadata: not written by Mlp::save"),
            })?;
        let config = Config::parse(line).map_err(|e| Error::Checkpoint {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let mut model = config.init(&mut optim::rng(0))?;
        ck.load_into(&mut model)?;
        Ok(model)
    }

    /// Loads parameters and buffers from `path` into this network's architecture (any
    /// safetensors file with the right names and shapes, e.g. one exported from PyTorch).
    /// The network is unchanged when the file does not fit.
    ///
    /// # Errors
    /// A missing, misshapen or unexpected tensor, named in the message.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::load(path, self).map(|_| ())
    }
}
