//! Positional encodings. Attention by itself is blind to order: permuting the positions of its
//! input permutes its output the same way (a property test states it). A Transformer therefore
//! adds a vector that depends on the position to each token's embedding.
//!
//! - **Sinusoidal** (Vaswani et al. 2017), fixed: for position `t` and feature pair `i`,
//!
//!   ```text
//!   PE[2i,   t] = sin(t / 10000^(2i/d))
//!   PE[2i+1, t] = cos(t / 10000^(2i/d))
//!   ```
//!
//!   Each pair is a rotation by an angle proportional to `t`, at wavelengths from `2π` to
//!   `10000·2π`, so `PE[·, t+k]` is a fixed linear function of `PE[·, t]` for every offset `k`.
//! - **Learned** (GPT): a `context x d` table (`position_embedding.weight`, an
//!   [`optim::Embedding`] looked up with the position indices), trained like the token table.
//!   It cannot encode positions beyond the context it was built for.
//!
//! ```
//! use transformer::position::sinusoidal;
//! let pe = sinusoidal::<f64>(4, 3);              // d x context
//! assert_eq!(pe.column(0).as_slice(), &[0.0, 1.0, 0.0, 1.0]);
//! assert!((pe[(0, 1)] - 1f64.sin()).abs() < 1e-15 && (pe[(3, 2)] - (2.0f64 / 100.0).cos()).abs() < 1e-15);
//! ```

use optim::{Float, Mat};

/// Which positional encoding a model adds to its token embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    /// A trained `context x d` table (GPT's `wpe`).
    Learned,
    /// The fixed sinusoids of the original Transformer.
    Sinusoidal,
    /// None: the model sees a bag of tokens (for the permutation-equivariance property).
    None,
}

/// The sinusoidal table as a `d x context` matrix: column `t` is the encoding of position `t`
/// (module docs).
pub fn sinusoidal<F: Float>(width: usize, context: usize) -> Mat<F> {
    Mat::from_fn(width, context, |row, t| {
        let pair = (row / 2) as f64;
        let angle = t as f64 / 10000f64.powf(2.0 * pair / width as f64);
        F::of(if row % 2 == 0 {
            angle.sin()
        } else {
            angle.cos()
        })
    })
}
