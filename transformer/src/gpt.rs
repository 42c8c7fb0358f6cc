//! A decoder-only language model (GPT; Radford et al. 2018, 2019): token embeddings plus
//! positions, a stack of causal Transformer blocks, a final LayerNorm and a projection to one
//! logit per vocabulary entry at every position.
//!
//! ```text
//! X₀ = E[ids] + P                        d x (T·B): token table E (V x d), positions P
//! X_l = Block_l(X_{l−1}),  l = 1..L       causal self-attention: position t sees ≤ t
//! H = LN(X_L)
//! Z = W H                                 V x (T·B), W = E when tied (Press & Wolf 2017)
//! L = −(1/TB) Σ log softmax(Z)[next token]
//! ```
//!
//! # Backward
//!
//! `dZ = (softmax(Z) − onehot)/TB`; the head is [`optim::affine_backward`] (with a tied head
//! the gradient `dZ Hᵀ` lands in `E`'s gradient, which the embedding's scatter-add
//! `∂L/∂E[ids[c]] += (∂L/∂X₀)_{:,c}` then adds to); the final norm and every block run their
//! backward in reverse order; a learned position table gets the column sums per position.
//!
//! Parameter names follow nanoGPT's roles with PyTorch's module names: `token_embedding.weight`,
//! `position_embedding.weight`, `blocks.{l}.self_attn.in_proj_weight`, …, `blocks.{l}.linear1.weight`,
//! `norm.weight`, `lm_head.weight` (untied only).
//!
//! ```
//! use transformer::{Gpt, GptConfig, SeqShape};
//! let config = GptConfig::new(5, 8).with_width(8).with_heads(2).with_layers(1);
//! let mut model = Gpt::<f64>::new(&config, &mut optim::rng(0))?;
//! assert_eq!(model.num_parameters(), GptConfig::parameter_count(&config).unwrap());
//! let logits = model.logits(&[0, 1, 2, 3], SeqShape::new(4, 1))?;
//! assert_eq!(logits.shape(), (5, 4));
//! // an untrained model with 0.02-scaled weights is close to uniform: loss near ln 5
//! let loss = model.loss(&[0, 1, 2, 3], &[1, 2, 3, 4], SeqShape::new(4, 1))?;
//! assert!((loss - 5f64.ln()).abs() < 0.2);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::attention::{Mask, SeqShape};
use crate::block::{BlockConfig, NormPlacement, TransformerBlock};
use crate::data::TokenWindows;
use crate::norm::LayerNorm;
use crate::position::{Positions, sinusoidal};
use optim::checkpoint::Saveable;
use optim::linalg::resize_buffer;
use optim::train::{BatchLoss, Evaluation, Trainable};
use optim::{
    Activation, Dropout, Embedding, Error, Float, Init, Linear, Mat, Param, Parameters, Result,
    StdRng, affine_backward, affine_forward, loss,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The architecture of a [`Gpt`], stored as the checkpoint's JSON `config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GptConfig {
    /// Vocabulary size `V`.
    pub vocab: usize,
    /// Maximum context `T_max`: the longest sequence the model reads.
    pub context: usize,
    /// Width `d`. Default: 64.
    pub width: usize,
    /// Number of blocks `L`. Default: 2.
    pub layers: usize,
    /// Attention heads per block; must divide `width`. Default: 4.
    pub heads: usize,
    /// Feed-forward hidden width. Default: `4·width`.
    pub ff_width: usize,
    /// Whether the output projection is the token table (weight tying). Default: true.
    pub tied: bool,
    /// Norm placement in the blocks. Default: pre-LN.
    pub norm: NormPlacement,
    /// Feed-forward activation. Default: GELU.
    pub activation: Activation,
    /// Dropout probability (embeddings and residual branches). Default: 0.
    pub dropout: f64,
    /// Positional encoding. Default: learned.
    pub positions: Positions,
    /// Dropout probability on the attention weights. Default: 0.
    #[serde(default)]
    pub attention_dropout: f64,
}

impl GptConfig {
    /// A model of vocabulary `vocab` and maximum context `context` with the defaults above.
    pub fn new(vocab: usize, context: usize) -> Self {
        GptConfig {
            vocab,
            context,
            width: 64,
            layers: 2,
            heads: 4,
            ff_width: 256,
            tied: true,
            norm: NormPlacement::PreLn,
            activation: Activation::Gelu,
            dropout: 0.0,
            positions: Positions::Learned,
            attention_dropout: 0.0,
        }
    }

    /// With dropout on the attention weights (training only).
    pub fn with_attention_dropout(mut self, p: f64) -> Self {
        self.attention_dropout = p;
        self
    }

    /// With width `d`, and the feed-forward width set to `4d` (override it after this).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width;
        self.ff_width = width.saturating_mul(4);
        self
    }

    /// With `layers` blocks.
    pub fn with_layers(mut self, layers: usize) -> Self {
        self.layers = layers;
        self
    }

    /// With `heads` heads.
    pub fn with_heads(mut self, heads: usize) -> Self {
        self.heads = heads;
        self
    }

    /// With the feed-forward width.
    pub fn with_ff_width(mut self, ff_width: usize) -> Self {
        self.ff_width = ff_width;
        self
    }

    /// With or without weight tying.
    pub fn with_tied(mut self, tied: bool) -> Self {
        self.tied = tied;
        self
    }

    /// With the norm placement.
    pub fn with_norm(mut self, norm: NormPlacement) -> Self {
        self.norm = norm;
        self
    }

    /// With the feed-forward activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// With the dropout probability.
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// With the positional encoding.
    pub fn with_positions(mut self, positions: Positions) -> Self {
        self.positions = positions;
        self
    }

    /// The configuration of each block.
    pub fn block(&self) -> BlockConfig {
        BlockConfig::new(self.width, self.heads)
            .with_ff_width(self.ff_width)
            .with_activation(self.activation)
            .with_norm(self.norm)
            .with_dropout(self.dropout)
            .with_attention_dropout(self.attention_dropout)
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// A zero vocabulary, context or width, heads that do not divide the width, a zero
    /// feed-forward width, dropout outside `[0, 1)`, or a model too large to count.
    pub fn validate(&self) -> Result<()> {
        if self.vocab == 0 {
            return Err(Error::hyper("vocab", 0, "must be at least 1"));
        }
        if self.context == 0 {
            return Err(Error::hyper("context", 0, "must be at least 1"));
        }
        self.block().validate()?;
        if Self::parameter_count(self).is_none() {
            return Err(Error::hyper(
                "width",
                self.width,
                "the parameter count overflows",
            ));
        }
        Ok(())
    }

    /// Trainable scalars of a model of this configuration, with checked arithmetic (`None` on
    /// overflow), without building it: `V·d` (tokens) `+ T_max·d` (learned positions)
    /// `+ L·block + 2d` (final norm) `+ V·d` (untied head).
    pub fn parameter_count(config: &GptConfig) -> Option<usize> {
        let table = config.vocab.checked_mul(config.width)?;
        let positions = match config.positions {
            Positions::Learned => config.context.checked_mul(config.width)?,
            _ => 0,
        };
        let blocks = config
            .block()
            .parameter_count()?
            .checked_mul(config.layers)?;
        let head = if config.tied { 0 } else { table };
        table
            .checked_add(positions)?
            .checked_add(blocks)?
            .checked_add(config.width.checked_mul(2)?)?
            .checked_add(head)
    }
}

#[derive(Debug, Clone)]
struct GptCache<F: Float> {
    shape: SeqShape,
    pos_ids: Vec<usize>,
    /// The input of block `l` at index `l`, and the output of the last block at index `L`.
    hidden: Vec<Mat<F>>,
    normed: Mat<F>,
    logits: Mat<F>,
    grad: Mat<F>,
    grad_tmp: Mat<F>,
    embed_dropped: bool,
    /// The token ids of the last forward (the rows the table's backward scatters into).
    batch_ids: Vec<usize>,
    /// Reused gather buffers of `train_batch`.
    batch_input: Vec<usize>,
    batch_targets: Vec<usize>,
}

impl<F: Float> Default for GptCache<F> {
    fn default() -> Self {
        GptCache {
            shape: SeqShape::new(0, 0),
            pos_ids: Vec::new(),
            hidden: Vec::new(),
            normed: Mat::zeros(0, 0),
            logits: Mat::zeros(0, 0),
            grad: Mat::zeros(0, 0),
            grad_tmp: Mat::zeros(0, 0),
            embed_dropped: false,
            batch_ids: Vec::new(),
            batch_input: Vec::new(),
            batch_targets: Vec::new(),
        }
    }
}

/// A decoder-only Transformer language model (module docs).
///
/// # Shapes
/// Token ids: `T·B` in [`SeqShape`]'s order (sequence by sequence); logits `V x (T·B)`.
#[derive(Debug, Clone)]
pub struct Gpt<F: Float> {
    config: GptConfig,
    /// The token table `E`, `V x d` (and the output projection when tied).
    pub token_embedding: Embedding<F>,
    /// The learned position table, `T_max x d` (with [`Positions::Learned`]).
    pub position_embedding: Option<Embedding<F>>,
    /// The sinusoidal table, `d x T_max` (with [`Positions::Sinusoidal`]; not trained or saved).
    sinusoid: Mat<F>,
    /// The blocks.
    pub blocks: Vec<TransformerBlock<F>>,
    /// The final LayerNorm.
    pub norm: LayerNorm<F>,
    /// The output projection `V x d` without bias (untied only).
    pub lm_head: Option<Linear<F>>,
    embed_dropout: Dropout<F>,
    cache: GptCache<F>,
}

impl<F: Float> Gpt<F> {
    /// A model of `config` with GPT-2's initialization: every matrix `N(0, 0.02²)`, the two
    /// projections that end a residual branch (`self_attn.out_proj.weight`, `linear2.weight`)
    /// `N(0, (0.02/√(2L))²)` so the residual stream's variance does not grow with depth, biases
    /// 0, norms `γ = 1, β = 0`.
    ///
    /// # Errors
    /// As [`GptConfig::validate`].
    pub fn new(config: &GptConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let (v, d, t) = (config.vocab, config.width, config.context);
        let token_embedding = Embedding::from_table(normal(v, d, 0.02, rng));
        let position_embedding = (config.positions == Positions::Learned)
            .then(|| Embedding::from_table(normal(t, d, 0.02, rng)));
        let sinusoid = match config.positions {
            Positions::Sinusoidal => sinusoidal(d, t),
            _ => Mat::zeros(0, 0),
        };
        let residual_std = 0.02 / (2.0 * config.layers.max(1) as f64).sqrt();
        let mut blocks = Vec::with_capacity(config.layers);
        for _ in 0..config.layers {
            let mut block = TransformerBlock::new(&config.block(), rng)?;
            block.visit_params(&mut |name, p| {
                if name.ends_with("bias") {
                    p.value.fill(F::zero());
                } else if p.shape.len() == 2 {
                    let std = if name == "self_attn.out_proj.weight" || name == "linear2.weight" {
                        residual_std
                    } else {
                        0.02
                    };
                    p.value = normal(p.value.nrows(), p.value.ncols(), std, rng);
                }
            });
            blocks.push(block);
        }
        let lm_head = (!config.tied).then(|| Linear::from_weights(normal(v, d, 0.02, rng), None));
        Ok(Gpt {
            config: config.clone(),
            token_embedding,
            position_embedding,
            sinusoid,
            blocks,
            norm: LayerNorm::new(d),
            lm_head,
            embed_dropout: Dropout::new(config.dropout)?,
            cache: GptCache::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GptConfig {
        &self.config
    }

    /// Trainable scalars, counted over the parameters themselves.
    pub fn num_parameters(&mut self) -> usize {
        optim::param_count(self)
    }

    /// Checks token ids against the vocabulary and a sequence shape against the context.
    ///
    /// # Errors
    /// A shape longer than the maximum context, ids that do not fill the shape, or an id
    /// outside the vocabulary (naming its position).
    pub fn check_ids(&self, ids: &[usize], shape: SeqShape, what: &str) -> Result<()> {
        if shape.len == 0 || shape.batch == 0 {
            return Err(Error::Data(format!("{what}: empty sequence batch")));
        }
        if shape.len > self.config.context {
            return Err(Error::Data(format!(
                "{what}: sequences of {} tokens are longer than the model's maximum context of {}",
                shape.len, self.config.context
            )));
        }
        if ids.len() != shape.columns() {
            return Err(Error::Data(format!(
                "{what}: {} token ids for {} sequence(s) of {}",
                ids.len(),
                shape.batch,
                shape.len
            )));
        }
        check_vocab(ids, self.config.vocab, what)
    }

    /// `E[ids] + P` into `x`.
    fn embed_into(&self, ids: &[usize], shape: SeqShape, pos_ids: &mut Vec<usize>, x: &mut Mat<F>) {
        let (d, t) = (self.config.width, shape.len);
        resize_buffer(x, d, shape.columns());
        let table = &self.token_embedding.weight.value;
        let v = table.nrows();
        let tab = table.as_slice();
        for (c, (&id, col)) in ids
            .iter()
            .zip(x.as_mut_slice().chunks_exact_mut(d))
            .enumerate()
        {
            for (k, out) in col.iter_mut().enumerate() {
                *out = tab[k * v + id];
            }
            let pos = c % t;
            match self.config.positions {
                Positions::Learned => {
                    let p = self.position_embedding.as_ref().expect("learned table");
                    let rows = p.weight.value.nrows();
                    let ps = p.weight.value.as_slice();
                    for (k, out) in col.iter_mut().enumerate() {
                        *out += ps[k * rows + pos];
                    }
                }
                Positions::Sinusoidal => {
                    for (out, &s) in col.iter_mut().zip(self.sinusoid.column(pos).iter()) {
                        *out += s;
                    }
                }
                Positions::None => {}
            }
        }
        pos_ids.clear();
        pos_ids.extend((0..shape.columns()).map(|c| c % t));
    }

    fn head_weight(&self) -> &Mat<F> {
        match &self.lm_head {
            Some(h) => &h.weight.value,
            None => &self.token_embedding.weight.value,
        }
    }

    /// Training forward: returns the logits (`V x T·B`) and caches what the backward needs.
    /// With `rng`, dropout is applied (training mode).
    ///
    /// # Errors
    /// As [`Gpt::check_ids`].
    pub fn forward(
        &mut self,
        ids: &[usize],
        shape: SeqShape,
        mut rng: Option<&mut StdRng>,
    ) -> Result<&Mat<F>> {
        self.check_ids(ids, shape, "Gpt input")?;
        let mut c = std::mem::take(&mut self.cache);
        c.shape = shape;
        c.hidden
            .resize_with(self.blocks.len() + 1, || Mat::zeros(0, 0));
        self.embed_into(ids, shape, &mut c.pos_ids, &mut c.hidden[0]);
        c.embed_dropped = rng.is_some() && self.embed_dropout.p() > 0.0;
        if let (true, Some(r)) = (c.embed_dropped, rng.as_deref_mut()) {
            self.embed_dropout.forward_in_place(&mut c.hidden[0], r);
        }
        let mask = Mask::causal();
        for (l, block) in self.blocks.iter_mut().enumerate() {
            let (before, after) = c.hidden.split_at_mut(l + 1);
            if let Err(e) =
                block.forward_into(&before[l], shape, mask, rng.as_deref_mut(), &mut after[0])
            {
                self.cache = c;
                return Err(e);
            }
        }
        let last = c.hidden.last().expect("L + 1 buffers");
        self.norm.forward_into(last, &mut c.normed)?;
        affine_forward(self.head_weight(), false, None, &c.normed, &mut c.logits);
        c.batch_ids.clear();
        c.batch_ids.extend_from_slice(ids);
        self.cache = c;
        Ok(&self.cache.logits)
    }

    /// Backward from `∂L/∂Z` (`V x T·B`) of the last [`Gpt::forward`]: adds every parameter
    /// gradient (module docs).
    ///
    /// # Errors
    /// If `d_logits` does not have the shape of the last forward's logits.
    pub fn backward(&mut self, d_logits: &Mat<F>) -> Result<()> {
        let mut c = std::mem::take(&mut self.cache);
        let out = self.backward_cached(&mut c, d_logits);
        self.cache = c;
        out
    }

    fn backward_cached(&mut self, c: &mut GptCache<F>, d_logits: &Mat<F>) -> Result<()> {
        if d_logits.shape() != c.logits.shape() || c.logits.is_empty() {
            return Err(Error::shape(
                "Gpt backward dZ",
                c.logits.shape(),
                d_logits.shape(),
            ));
        }
        // the head: ∂L/∂W += dZ Hᵀ (W = E when tied), ∂L/∂H = Wᵀ dZ
        let head = match &mut self.lm_head {
            Some(h) => &mut h.weight,
            None => &mut self.token_embedding.weight,
        };
        affine_backward(head, false, None, &c.normed, d_logits, Some(&mut c.grad));
        self.norm.backward_into(&c.grad, &mut c.grad_tmp)?;
        std::mem::swap(&mut c.grad, &mut c.grad_tmp);
        for block in self.blocks.iter_mut().rev() {
            block.backward_into(&c.grad, &mut c.grad_tmp)?;
            std::mem::swap(&mut c.grad, &mut c.grad_tmp);
        }
        if c.embed_dropped {
            self.embed_dropout.backward_in_place(&mut c.grad)?;
        }
        // the tables: scatter-add each column's gradient into the row of its token / position
        let d = self.config.width;
        let g = c.grad.as_slice();
        let tab = &mut self.token_embedding.weight.grad;
        let v = tab.nrows();
        let tg = tab.as_mut_slice();
        for (&id, col) in c.batch_ids.iter().zip(g.chunks_exact(d)) {
            for (k, &x) in col.iter().enumerate() {
                tg[k * v + id] += x;
            }
        }
        if let Some(p) = &mut self.position_embedding {
            let rows = p.weight.grad.nrows();
            let pg = p.weight.grad.as_mut_slice();
            for (&pos, col) in c.pos_ids.iter().zip(g.chunks_exact(d)) {
                for (k, &x) in col.iter().enumerate() {
                    pg[k * rows + pos] += x;
                }
            }
        }
        Ok(())
    }

    /// Forward, mean cross-entropy against `targets` and backward: adds the gradient of the
    /// loss into the parameters and returns the loss (nats per token).
    ///
    /// # Errors
    /// As [`Gpt::check_ids`], for `ids` and `targets`.
    pub fn loss_and_backward(
        &mut self,
        ids: &[usize],
        targets: &[usize],
        shape: SeqShape,
        rng: Option<&mut StdRng>,
    ) -> Result<F> {
        self.check_ids(targets, shape, "Gpt targets")?;
        let logits = self.forward(ids, shape, rng)?;
        let (l, d_logits) = loss::softmax_cross_entropy(logits, targets, 0.0)?;
        self.backward(&d_logits)?;
        Ok(l)
    }

    /// The hidden states after the final norm (`d x T·B`), in evaluation mode.
    fn hidden(&self, ids: &[usize], shape: SeqShape) -> Result<Mat<F>> {
        self.check_ids(ids, shape, "Gpt input")?;
        let mut x = Mat::zeros(0, 0);
        self.embed_into(ids, shape, &mut Vec::new(), &mut x);
        for block in &self.blocks {
            x = block.predict(&x, shape, Mask::causal())?;
        }
        self.norm.predict(&x)
    }

    /// Logits (`V x T·B`) in evaluation mode, without any cache (`&self`).
    ///
    /// # Errors
    /// As [`Gpt::check_ids`].
    pub fn logits(&self, ids: &[usize], shape: SeqShape) -> Result<Mat<F>> {
        let h = self.hidden(ids, shape)?;
        let mut z = Mat::zeros(0, 0);
        affine_forward(self.head_weight(), false, None, &h, &mut z);
        Ok(z)
    }

    /// Mean cross-entropy (nats per token) of predicting `targets` from `ids`, in evaluation
    /// mode.
    ///
    /// # Errors
    /// As [`Gpt::check_ids`], for `ids` and `targets`.
    pub fn loss(&self, ids: &[usize], targets: &[usize], shape: SeqShape) -> Result<F> {
        self.check_ids(targets, shape, "Gpt targets")?;
        let z = self.logits(ids, shape)?;
        Ok(loss::softmax_cross_entropy(&z, targets, 0.0)?.0)
    }

    /// The attention weights of every head of block `layer` for one sequence, in evaluation
    /// mode: one `T x T` matrix per head, column `i` = query `i`'s weights over the keys.
    ///
    /// # Errors
    /// As [`Gpt::check_ids`], or a layer out of range.
    pub fn attention_map(&self, ids: &[usize], layer: usize) -> Result<Vec<Mat<F>>> {
        let shape = SeqShape::new(ids.len(), 1);
        self.check_ids(ids, shape, "Gpt input")?;
        if layer >= self.blocks.len() {
            return Err(Error::Data(format!(
                "attention_map: layer {layer} of a model with {} blocks",
                self.blocks.len()
            )));
        }
        let mut x = Mat::zeros(0, 0);
        self.embed_into(ids, shape, &mut Vec::new(), &mut x);
        for block in &self.blocks[..layer] {
            x = block.predict(&x, shape, Mask::causal())?;
        }
        let block = &self.blocks[layer];
        let a = match block.norm_placement() {
            NormPlacement::PreLn => block.norm1.predict(&x)?,
            NormPlacement::PostLn => x,
        };
        Ok(block
            .self_attn
            .predict_with_weights(&a, shape, Mask::causal())?
            .1)
    }

    /// The one-position forward with a KV cache: logits (`V`) of the token after `token`,
    /// which sits at position `cache.len()`.
    pub(crate) fn step_logits(
        &self,
        token: usize,
        caches: &mut [crate::attention::KvCache<F>],
        position: usize,
    ) -> Result<Vec<F>> {
        check_vocab(&[token], self.config.vocab, "generation")?;
        if position >= self.config.context {
            return Err(Error::Data(format!(
                "generation: position {position} is beyond the model's maximum context of {}",
                self.config.context
            )));
        }
        let mut x = Mat::zeros(0, 0);
        self.embed_one(token, position, &mut x);
        for (block, cache) in self.blocks.iter().zip(caches.iter_mut()) {
            x = block.step(&x, cache)?;
        }
        let h = self.norm.predict(&x)?;
        let mut z = Mat::zeros(0, 0);
        affine_forward(self.head_weight(), false, None, &h, &mut z);
        Ok(z.as_slice().to_vec())
    }

    fn embed_one(&self, token: usize, position: usize, x: &mut Mat<F>) {
        let d = self.config.width;
        resize_buffer(x, d, 1);
        for k in 0..d {
            x[k] = self.token_embedding.weight.value[(token, k)];
        }
        match self.config.positions {
            Positions::Learned => {
                let p = self.position_embedding.as_ref().expect("learned table");
                for k in 0..d {
                    x[k] += p.weight.value[(position, k)];
                }
            }
            Positions::Sinusoidal => {
                for k in 0..d {
                    x[k] += self.sinusoid[(k, position)];
                }
            }
            Positions::None => {}
        }
    }
}

/// A `rows x cols` matrix of `N(0, std²)` entries.
fn normal<F: Float>(rows: usize, cols: usize, std: f64, rng: &mut impl Rng) -> Mat<F> {
    Init::Normal(std).matrix(rows, cols, cols, rows, rng)
}

/// Checks that every id is below `vocab`, naming the first that is not.
///
/// # Errors
/// [`Error::Data`] with the id and its position.
pub fn check_vocab(ids: &[usize], vocab: usize, what: &str) -> Result<()> {
    match ids.iter().position(|&i| i >= vocab) {
        None => Ok(()),
        Some(p) => Err(Error::Data(format!(
            "{what}: token id {} at position {p} is outside the vocabulary of {vocab}",
            ids[p]
        ))),
    }
}

impl<F: Float> Parameters<F> for Gpt<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        optim::visit_child("token_embedding", &mut self.token_embedding, visit);
        if let Some(p) = &mut self.position_embedding {
            optim::visit_child("position_embedding", p, visit);
        }
        for (l, block) in self.blocks.iter_mut().enumerate() {
            optim::visit_child(&format!("blocks.{l}"), block, visit);
        }
        optim::visit_child("norm", &mut self.norm, visit);
        if let Some(h) = &mut self.lm_head {
            optim::visit_child("lm_head", h, visit);
        }
    }
}

/// Trains on windows of a token corpus: an example is a window, a batch gathers `B` windows
/// into one `T x B` sequence batch, the loss is the mean next-token cross-entropy over all
/// `T·B` positions (nats per token).
impl<F: Float> Trainable<F> for Gpt<F> {
    type Data = TokenWindows;

    fn examples(&self, data: &TokenWindows) -> usize {
        data.len()
    }

    fn check_data(&self, data: &TokenWindows, what: &str) -> Result<()> {
        if data.is_empty() {
            return Err(Error::Data(format!("{what}: no windows")));
        }
        if data.context() > self.config.context {
            return Err(Error::Data(format!(
                "{what}: windows of {} tokens are longer than the model's maximum context of {}",
                data.context(),
                self.config.context
            )));
        }
        check_vocab(data.tokens(), self.config.vocab, what)
    }

    fn train_batch(
        &mut self,
        data: &TokenWindows,
        batch: &[usize],
        rng: &mut StdRng,
    ) -> Result<BatchLoss> {
        let mut ids = std::mem::take(&mut self.cache.batch_input);
        let mut targets = std::mem::take(&mut self.cache.batch_targets);
        ids.clear();
        targets.clear();
        for &i in batch {
            let (x, y) = data.window(i);
            ids.extend_from_slice(x);
            targets.extend_from_slice(y);
        }
        let shape = SeqShape::new(data.context(), batch.len());
        let training =
            (self.config.dropout > 0.0 || self.config.attention_dropout > 0.0).then_some(rng);
        let out = self.loss_and_backward(&ids, &targets, shape, training);
        self.cache.batch_input = ids;
        self.cache.batch_targets = targets;
        Ok(BatchLoss::new(out?))
    }

    fn evaluate(&self, data: &TokenWindows) -> Result<Evaluation> {
        self.check_data(data, "evaluation data")?;
        const CHUNK: usize = 32;
        let (mut sum, mut count) = (0.0, 0usize);
        let (mut ids, mut targets) = (Vec::new(), Vec::new());
        let all: Vec<usize> = (0..data.len()).collect();
        for chunk in all.chunks(CHUNK) {
            ids.clear();
            targets.clear();
            for &i in chunk {
                let (x, y) = data.window(i);
                ids.extend_from_slice(x);
                targets.extend_from_slice(y);
            }
            let l = self.loss(&ids, &targets, SeqShape::new(data.context(), chunk.len()))?;
            sum += l.to_f64() * chunk.len() as f64;
            count += chunk.len();
        }
        Ok(Evaluation {
            loss: sum / count.max(1) as f64,
            accuracy: None,
        })
    }
}

/// Checkpoints with the architecture: kind `"gpt"`, the [`GptConfig`] as the JSON `config`.
impl<F: Float> Saveable<F> for Gpt<F> {
    const KIND: &'static str = "gpt";
    type Config = GptConfig;

    fn config(&self) -> GptConfig {
        self.config.clone()
    }

    fn parameter_count(config: &GptConfig) -> Option<usize> {
        GptConfig::parameter_count(config)
    }

    fn from_config(config: &GptConfig) -> Result<Self> {
        Gpt::new(config, &mut optim::rng(0))
    }
}
