//! The Transformer block: self-attention and the feed-forward network, each wrapped in a
//! residual connection, dropout and layer normalization, in one of two placements.
//!
//! ```text
//! post-LN (Vaswani et al. 2017; PyTorch's norm_first=False):
//!     X₁ = LN₁(X  + Drop(MHA(X)))
//!     Y  = LN₂(X₁ + Drop(FF(X₁)))
//! pre-LN (GPT-2; PyTorch's norm_first=True):
//!     X₁ = X  + Drop(MHA(LN₁(X)))
//!     Y  = X₁ + Drop(FF(LN₂(X₁)))
//! ```
//!
//! Pre-LN leaves an identity path from the input to the output of the whole stack, so the
//! gradient reaches the first layers undiminished and training needs no long warm-up (Xiong et
//! al. 2020); post-LN normalizes the sum and is the original design.
//!
//! # Backward
//!
//! A residual connection `X₁ = X + g(X)` passes its gradient to both branches and adds them:
//! `∂L/∂X = ∂L/∂X₁ + g'(X)ᵀ ∂L/∂X₁`. Reading the forward lines bottom to top, with
//! `G = ∂L/∂Y`:
//!
//! ```text
//! pre-LN:   G₁ = G + LN₂ᵀ(FFᵀ(Dropᵀ(G)))          ∂L/∂X = G₁ + LN₁ᵀ(MHAᵀ(Dropᵀ(G₁)))
//! post-LN:  S₂ = LN₂ᵀ(G);  G₁ = S₂ + FFᵀ(Dropᵀ(S₂));  S₁ = LN₁ᵀ(G₁);  ∂L/∂X = S₁ + MHAᵀ(Dropᵀ(S₁))
//! ```
//!
//! where `Lᵀ(·)` is layer `L`'s backward. Parameter names are those of PyTorch's
//! `nn.TransformerEncoderLayer`: `self_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`.
//!
//! ```
//! use transformer::{BlockConfig, Mask, NormPlacement, SeqShape, TransformerBlock};
//! use optim::Mat;
//! let config = BlockConfig::new(4, 2).with_norm(NormPlacement::PostLn);
//! let block = TransformerBlock::<f64>::new(&config, &mut optim::rng(0))?;
//! let x = Mat::from_fn(4, 3, |i, j| (i + 2 * j) as f64 * 0.1);
//! let y = block.predict(&x, SeqShape::new(3, 1), Mask::causal())?;
//! // post-LN ends with a LayerNorm (γ = 1, β = 0): every output column has mean 0, variance ≈ 1
//! for column in y.column_iter() {
//!     assert!(column.mean().abs() < 1e-12);
//!     assert!((column.variance() - 1.0).abs() < 1e-4);
//! }
//! # Ok::<(), optim::Error>(())
//! ```

use crate::attention::{KvCache, Mask, MultiHeadAttention, SeqShape};
use crate::feedforward::FeedForward;
use crate::norm::LayerNorm;
use optim::{Activation, Dropout, Error, Float, Mat, Param, Parameters, Result, StdRng};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Where a block normalizes (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormPlacement {
    /// Normalize the input of each sub-layer (GPT-2, `norm_first=True`).
    PreLn,
    /// Normalize after each residual sum (the original Transformer, `norm_first=False`).
    PostLn,
}

/// The settings of a [`TransformerBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockConfig {
    /// Width `d` of every position.
    pub width: usize,
    /// Attention heads; must divide `width`.
    pub heads: usize,
    /// Hidden width of the feed-forward network. Default: `4·width`.
    pub ff_width: usize,
    /// Feed-forward activation. Default: GELU.
    pub activation: Activation,
    /// Norm placement. Default: pre-LN.
    pub norm: NormPlacement,
    /// Dropout probability on both residual branches. Default: 0.
    pub dropout: f64,
    /// Dropout probability on the attention weights (training only). Default: 0.
    #[serde(default)]
    pub attention_dropout: f64,
}

impl BlockConfig {
    /// A `width`-wide block with `heads` heads and the defaults above.
    pub fn new(width: usize, heads: usize) -> Self {
        BlockConfig {
            width,
            heads,
            ff_width: 4 * width,
            activation: Activation::Gelu,
            norm: NormPlacement::PreLn,
            dropout: 0.0,
            attention_dropout: 0.0,
        }
    }

    /// With dropout on the attention weights.
    pub fn with_attention_dropout(mut self, p: f64) -> Self {
        self.attention_dropout = p;
        self
    }

    /// With the feed-forward width.
    pub fn with_ff_width(mut self, ff_width: usize) -> Self {
        self.ff_width = ff_width;
        self
    }

    /// With the feed-forward activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// With the norm placement.
    pub fn with_norm(mut self, norm: NormPlacement) -> Self {
        self.norm = norm;
        self
    }

    /// With the dropout probability.
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// Heads that do not divide the width, a zero feed-forward width, dropout outside `[0, 1)`.
    pub fn validate(&self) -> Result<()> {
        crate::attention::check_heads(self.width, self.heads)?;
        if self.ff_width == 0 {
            return Err(Error::hyper("ff_width", 0, "must be at least 1"));
        }
        Dropout::<f64>::new(self.dropout)?;
        Dropout::<f64>::new(self.attention_dropout)?;
        Ok(())
    }

    /// Trainable scalars of one block, with checked arithmetic:
    /// `4d² + 4d` (attention) `+ 2·d·ff + ff + d` (feed-forward) `+ 4d` (two norms).
    pub fn parameter_count(&self) -> Option<usize> {
        let (d, f) = (self.width, self.ff_width);
        let attention = d
            .checked_mul(d)?
            .checked_mul(4)?
            .checked_add(d.checked_mul(4)?)?;
        let ff = d
            .checked_mul(f)?
            .checked_mul(2)?
            .checked_add(f)?
            .checked_add(d)?;
        attention.checked_add(ff)?.checked_add(d.checked_mul(4)?)
    }
}

#[derive(Debug, Clone)]
struct BlockCache<F: Float> {
    /// Sub-layer inputs and outputs of the last forward, `d x n` each.
    a: Mat<F>,
    u: Mat<F>,
    x1: Mat<F>,
    b: Mat<F>,
    v: Mat<F>,
    /// Gradient buffers.
    g1: Mat<F>,
    g2: Mat<F>,
    g3: Mat<F>,
    dropped: bool,
}

impl<F: Float> Default for BlockCache<F> {
    fn default() -> Self {
        let e = || Mat::zeros(0, 0);
        BlockCache {
            a: e(),
            u: e(),
            x1: e(),
            b: e(),
            v: e(),
            g1: e(),
            g2: e(),
            g3: e(),
            dropped: false,
        }
    }
}

/// `y ← x + y`, entry-wise.
fn add_into<F: Float>(x: &Mat<F>, y: &mut Mat<F>) {
    for (o, &v) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
        *o += v;
    }
}

/// One Transformer block (module docs).
///
/// # Shapes
/// Input and output `d x (T·B)` in [`SeqShape`]'s column order.
#[derive(Debug, Clone)]
pub struct TransformerBlock<F: Float> {
    /// Multi-head self-attention.
    pub self_attn: MultiHeadAttention<F>,
    /// The position-wise feed-forward network (`linear1`, `linear2`).
    pub feed_forward: FeedForward<F>,
    /// The norm of the attention sub-layer.
    pub norm1: LayerNorm<F>,
    /// The norm of the feed-forward sub-layer.
    pub norm2: LayerNorm<F>,
    dropout1: Dropout<F>,
    dropout2: Dropout<F>,
    norm: NormPlacement,
    cache: BlockCache<F>,
}

impl<F: Float> TransformerBlock<F> {
    /// A block with PyTorch's initialization of each sub-layer.
    ///
    /// # Errors
    /// As [`BlockConfig::validate`].
    pub fn new(config: &BlockConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        Ok(TransformerBlock {
            self_attn: MultiHeadAttention::new(config.width, config.heads, rng)?
                .with_attention_dropout(config.attention_dropout)?,
            feed_forward: FeedForward::new(config.width, config.ff_width, config.activation, rng),
            norm1: LayerNorm::new(config.width),
            norm2: LayerNorm::new(config.width),
            dropout1: Dropout::new(config.dropout)?,
            dropout2: Dropout::new(config.dropout)?,
            norm: config.norm,
            cache: BlockCache::default(),
        })
    }

    /// The norm placement.
    pub fn norm_placement(&self) -> NormPlacement {
        self.norm
    }

    /// Width `d`.
    pub fn width(&self) -> usize {
        self.self_attn.width()
    }

    /// Training forward into `y`. With `rng` the residual branches are dropped out (training
    /// mode); without, dropout is the identity (evaluation mode, and gradient checks).
    ///
    /// # Errors
    /// If `x` is not `d x T·B` or the mask does not fit.
    pub fn forward_into(
        &mut self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
        mut rng: Option<&mut StdRng>,
        y: &mut Mat<F>,
    ) -> Result<()> {
        let c = &mut self.cache;
        let drop = rng.is_some() && self.dropout1.p() > 0.0;
        c.dropped = drop;
        match self.norm {
            NormPlacement::PreLn => {
                self.norm1.forward_into(x, &mut c.a)?;
                self.self_attn
                    .forward_train(&c.a, shape, mask, rng.as_deref_mut(), &mut c.u)?;
                if let (true, Some(r)) = (drop, rng.as_deref_mut()) {
                    self.dropout1.forward_in_place(&mut c.u, r);
                }
                add_into(x, &mut c.u);
                std::mem::swap(&mut c.x1, &mut c.u); // X₁ = X + Drop(MHA(LN₁ X))
                self.norm2.forward_into(&c.x1, &mut c.b)?;
                self.feed_forward.forward_into(&c.b, y)?;
                if let (true, Some(r)) = (drop, rng) {
                    self.dropout2.forward_in_place(y, r);
                }
                add_into(&c.x1, y);
            }
            NormPlacement::PostLn => {
                self.self_attn
                    .forward_train(x, shape, mask, rng.as_deref_mut(), &mut c.u)?;
                if let (true, Some(r)) = (drop, rng.as_deref_mut()) {
                    self.dropout1.forward_in_place(&mut c.u, r);
                }
                add_into(x, &mut c.u);
                self.norm1.forward_into(&c.u, &mut c.x1)?; // X₁ = LN₁(X + Drop(MHA X))
                self.feed_forward.forward_into(&c.x1, &mut c.v)?;
                if let (true, Some(r)) = (drop, rng) {
                    self.dropout2.forward_in_place(&mut c.v, r);
                }
                add_into(&c.x1, &mut c.v);
                self.norm2.forward_into(&c.v, y)?;
            }
        }
        Ok(())
    }

    /// [`TransformerBlock::forward_into`] into a new matrix.
    ///
    /// # Errors
    /// As [`TransformerBlock::forward_into`].
    pub fn forward(
        &mut self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
        rng: Option<&mut StdRng>,
    ) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, shape, mask, rng, &mut y)?;
        Ok(y)
    }

    /// The block in evaluation mode with `attend` as its attention sub-layer (a whole sequence
    /// batch, or one position with a KV cache).
    fn infer(&self, x: &Mat<F>, attend: impl FnOnce(&Mat<F>) -> Result<Mat<F>>) -> Result<Mat<F>> {
        match self.norm {
            NormPlacement::PreLn => {
                let mut x1 = attend(&self.norm1.predict(x)?)?;
                add_into(x, &mut x1);
                let mut y = self.feed_forward.predict(&self.norm2.predict(&x1)?)?;
                add_into(&x1, &mut y);
                Ok(y)
            }
            NormPlacement::PostLn => {
                let mut s = attend(x)?;
                add_into(x, &mut s);
                let x1 = self.norm1.predict(&s)?;
                let mut s2 = self.feed_forward.predict(&x1)?;
                add_into(&x1, &mut s2);
                self.norm2.predict(&s2)
            }
        }
    }

    /// Evaluation-mode forward without a cache (`&self`).
    ///
    /// # Errors
    /// As [`TransformerBlock::forward_into`].
    pub fn predict(&self, x: &Mat<F>, shape: SeqShape, mask: Mask<'_>) -> Result<Mat<F>> {
        self.infer(x, |a| self.self_attn.predict(a, shape, mask))
    }

    /// One new position (`d x 1`) of one sequence, attending over the positions in `cache`
    /// (causal by construction: the cache holds only earlier positions).
    ///
    /// # Errors
    /// As [`MultiHeadAttention::step`].
    pub fn step(&self, x: &Mat<F>, cache: &mut KvCache<F>) -> Result<Mat<F>> {
        self.infer(x, |a| {
            let mut y = Mat::zeros(0, 0);
            self.self_attn.step(a, cache, &mut y)?;
            Ok(y)
        })
    }

    /// Adds every parameter gradient and writes `∂L/∂X` into `dx`, from the cache of the last
    /// forward (module docs).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward's output.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        let c = &mut self.cache;
        let drop = c.dropped;
        match self.norm {
            NormPlacement::PreLn => {
                // G₁ = G + LN₂ᵀ(FFᵀ(Dropᵀ G))
                optim::linalg::copy_into(&mut c.g1, dy);
                if drop {
                    self.dropout2.backward_in_place(&mut c.g1)?;
                }
                self.feed_forward.backward_into(&c.g1, &mut c.g2)?;
                self.norm2.backward_into(&c.g2, &mut c.g1)?;
                add_into(dy, &mut c.g1);
                // ∂L/∂X = G₁ + LN₁ᵀ(MHAᵀ(Dropᵀ G₁))
                optim::linalg::copy_into(&mut c.g2, &c.g1);
                if drop {
                    self.dropout1.backward_in_place(&mut c.g2)?;
                }
                self.self_attn.backward_into(&c.g2, &mut c.g3)?;
                self.norm1.backward_into(&c.g3, dx)?;
                add_into(&c.g1, dx);
            }
            NormPlacement::PostLn => {
                // S₂ = LN₂ᵀ G;  G₁ = S₂ + FFᵀ(Dropᵀ S₂)
                self.norm2.backward_into(dy, &mut c.g1)?;
                optim::linalg::copy_into(&mut c.g2, &c.g1);
                if drop {
                    self.dropout2.backward_in_place(&mut c.g2)?;
                }
                self.feed_forward.backward_into(&c.g2, &mut c.g3)?;
                add_into(&c.g1, &mut c.g3);
                // S₁ = LN₁ᵀ G₁;  ∂L/∂X = S₁ + MHAᵀ(Dropᵀ S₁)
                self.norm1.backward_into(&c.g3, &mut c.g1)?;
                optim::linalg::copy_into(&mut c.g2, &c.g1);
                if drop {
                    self.dropout1.backward_in_place(&mut c.g2)?;
                }
                self.self_attn.backward_into(&c.g2, dx)?;
                add_into(&c.g1, dx);
            }
        }
        Ok(())
    }

    /// [`TransformerBlock::backward_into`] into a new matrix.
    ///
    /// # Errors
    /// As [`TransformerBlock::backward_into`].
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }
}

impl<F: Float> Parameters<F> for TransformerBlock<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        optim::visit_child("self_attn", &mut self.self_attn, visit);
        // PyTorch's TransformerEncoderLayer holds linear1/linear2 directly
        self.feed_forward.visit_params(visit);
        optim::visit_child("norm1", &mut self.norm1, visit);
        optim::visit_child("norm2", &mut self.norm2, visit);
    }
}
