//! Saving and loading a trained network by parameter name ([`optim::checkpoint`]: safetensors,
//! the format PyTorch and candle read, written atomically).
//!
//! The file holds every parameter under its dotted name (`layers.0.weight`, `layers.0.bias`,
//! `layers.1.weight`, …, PyTorch's `Linear.weight` layout `out x in`), batch norm's running
//! statistics as buffers (`layers.1.running_mean`, `layers.1.running_var`), the model kind
//! `mlp` and the [`Config`] as one JSON `config` entry ([`optim::checkpoint::Saveable`]), so
//! [`Mlp::load`] can rebuild the architecture — after checking that the file holds as many
//! values as the configuration asks for — before reading the weights. A bare state_dict (e.g.
//! exported from PyTorch) loads into a network built first with [`Mlp::load_weights`].
//!
//! ```
//! use mlp::{Config, Mlp};
//! let mut model = Config::classifier(3, &[4], 2).batch_norm(true).init::<f32>(&mut optim::rng(0))?;
//! let path = std::env::temp_dir().join(format!("mlp-io-doc-{}.safetensors", std::process::id()));
//! model.save(&path)?;
//! let loaded = Mlp::<f32>::load(&path)?;
//! assert_eq!(loaded.config(), model.config());
//! let x = optim::Mat::from_fn(3, 5, |i, j| (i + 2 * j) as f32 / 7.0);
//! assert_eq!(loaded.predict(&x)?, model.predict(&x)?);
//! // 3·4 weights (no bias before batch norm) + 2·4 for γ, β + 4·2 + 2 on top
//! assert_eq!(loaded.param_count(), 30);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), optim::Error>(())
//! ```

use crate::network::{Config, Mlp};
use optim::checkpoint::{self, Saveable};
use optim::{Float, Result};
use std::path::Path;

impl<F: Float> Saveable<F> for Mlp<F> {
    const KIND: &'static str = "mlp";
    type Config = Config;

    fn config(&self) -> Config {
        Mlp::config(self).clone()
    }

    /// Counted layer by layer with checked arithmetic, without building anything.
    fn parameter_count(c: &Config) -> Option<usize> {
        let mut total = 0usize;
        let mut width = c.inputs;
        for &h in &c.hidden {
            let linear = width.checked_mul(h)?;
            // batch norm's γ and β replace the linear layer's bias
            let extra = if c.batch_norm { h.checked_mul(2)? } else { h };
            total = total.checked_add(linear)?.checked_add(extra)?;
            width = h;
        }
        let top = width.checked_mul(c.outputs)?.checked_add(c.outputs)?;
        total.checked_add(top)
    }

    fn from_config(config: &Config) -> Result<Self> {
        config.init(&mut optim::rng(0))
    }
}

impl<F: Float> Mlp<F> {
    /// Saves parameters, running statistics and configuration to `path` (atomically).
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save_model(path, self, &[])
    }

    /// Rebuilds a network from a file written by [`Mlp::save`]: the architecture from its
    /// configuration, then every parameter and buffer by name.
    ///
    /// # Errors
    /// An unreadable file, another kind of model, a missing or malformed configuration, one
    /// that asks for more values than the file holds, or a tensor that does not fit (the
    /// message names it).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        checkpoint::load_model(path)
    }

    /// Loads parameters and buffers from `path` into this network's architecture (any
    /// safetensors file with the right names and shapes, e.g. a state_dict exported from
    /// PyTorch). The network is unchanged when the file does not fit.
    ///
    /// # Errors
    /// A missing, misshapen or unexpected tensor, named in the message.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::load(path, self).map(|_| ())
    }
}
