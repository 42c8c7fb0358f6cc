//! The original encoder–decoder Transformer (Vaswani et al. 2017): an encoder reads the whole
//! source with padding-masked self-attention, a decoder writes the target one token at a time
//! with causal self-attention and **cross-attention** to the encoder's output.
//!
//! ```text
//! M   = LN_enc(Enc_L(… Enc_1(E_s[src] + P_s)))       encoder blocks: key padding of the source
//! Y₀  = E_t[bos, y₁, …, y_{n−1}] + P_t                the target shifted right
//! Y_l = Dec_l(Y_{l−1}, M)                             causal self-attention, then cross-attention
//! Z   = W LN_dec(Y_L) + b                             L = −mean log softmax(Z)[y₁, …, y_n, eos]
//! ```
//!
//! # Cross-attention
//!
//! [`CrossAttention`] is PyTorch's `nn.MultiheadAttention(d, h)` called with `query ≠ key = value`:
//! the same `in_proj_weight` (`3d x d`), whose first `d` rows project the decoder's positions to
//! queries and the last `2d` rows the encoder's output to keys and values:
//!
//! ```text
//! Q = W_q X + b_q           d x n_q   (the decoder)
//! [K; V] = W_kv M + b_kv    2d x n_k  (the encoder's output)
//! O_h = V_h softmax(K_hᵀ Q_h / √(d/h))   padded source keys masked
//! Y = W_out [O_1; …; O_h] + b_out
//! ```
//!
//! The backward is attention's (see [`crate::attention`]) per head, then the two projections:
//! `∂L/∂W_q += dQ Xᵀ`, `∂L/∂W_kv += d[K;V] Mᵀ`, `∂L/∂X = W_qᵀ dQ`, `∂L/∂M = W_kvᵀ d[K;V]`.
//! Every decoder layer reads the same `M`, so `∂L/∂M` is the **sum** over the layers.
//!
//! # Decoder layer
//!
//! PyTorch's `nn.TransformerDecoderLayer` (names `self_attn`, `multihead_attn`, `linear1`,
//! `linear2`, `norm1..3`), without dropout:
//!
//! ```text
//! pre-LN:   X₁ = X + SA(LN₁ X);    X₂ = X₁ + CA(LN₂ X₁, M);    Y = X₂ + FF(LN₃ X₂)
//! post-LN:  X₁ = LN₁(X + SA X);    X₂ = LN₂(X₁ + CA(X₁, M));   Y = LN₃(X₂ + FF X₂)
//! ```
//!
//! and backward bottom to top, each residual passing its gradient to both branches.
//!
//! Under teacher forcing, the arg max at every target position is right exactly when greedy
//! decoding reproduces the whole target and then `eos` (each greedy step then sees the true
//! prefix), so [`EncoderDecoder::evaluate`](optim::train::Trainable::evaluate)'s accuracy is the
//! exact-sequence accuracy of [`EncoderDecoder::translate`] for targets shorter than its limit
//! (`max_len` and `tgt_context − 1`). A target of exactly the limit's length is compared
//! without the `eos` decision (`translate` stops at the limit), so there greedy decoding can
//! count a pair right that teacher forcing counts wrong.
//!
//! ```
//! use transformer::seq2seq::{EncDecConfig, EncoderDecoder};
//! let config = EncDecConfig::new(5, 6, 8).with_width(8).with_heads(2);
//! let model = EncoderDecoder::<f64>::new(&config, &mut optim::rng(0))?;
//! let out = model.translate(&[1, 2, 3], 4)?;
//! assert!(out.len() <= 4);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::attention::{
    HeadMask, Mask, MultiHeadAttention, SeqShape, attention_backward, attention_weights,
    check_heads, put_block,
};
use crate::block::{BlockConfig, NormPlacement, TransformerBlock};
use crate::feedforward::FeedForward;
use crate::gpt::check_vocab;
use crate::norm::LayerNorm;
use optim::checkpoint::Saveable;
use optim::linalg::{Block, BlockMut, gemm_blocks, resize_buffer};
use optim::train::{BatchLoss, Evaluation, Trainable};
use optim::{Activation, Error, Float, Init, Linear, Mat, Param, Parameters, Result, StdRng};
use rand::Rng;
use serde::{Deserialize, Serialize};

fn add_into<F: Float>(x: &Mat<F>, y: &mut Mat<F>) {
    for (o, &v) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
        *o += v;
    }
}

#[derive(Debug, Clone, Default)]
struct CrossCache<F: Float> {
    q_shape: Option<SeqShape>,
    kv_shape: Option<SeqShape>,
    x: Vec<F>,
    memory: Vec<F>,
    q: Vec<F>,
    kv: Vec<F>,
    weights: Vec<F>,
    concat: Mat<F>,
    head: [Vec<F>; 3],
    d_scores: Vec<F>,
    d_concat: Mat<F>,
    dq: Vec<F>,
    dkv: Vec<F>,
    padding: Vec<bool>,
}

/// Multi-head cross-attention: queries from one sequence batch, keys and values from another
/// (module docs), in PyTorch's `nn.MultiheadAttention` layout.
///
/// # Shapes
/// `in_proj_weight`: `3d x d` (`[W_q; W_k; W_v]`), `in_proj_bias`: `[3d]`; queries `d x (T_q·B)`,
/// memory `d x (T_k·B)`, output `d x (T_q·B)`.
#[derive(Debug, Clone)]
pub struct CrossAttention<F: Float> {
    /// `[W_q; W_k; W_v]`, `3d x d`.
    pub in_proj_weight: Param<F>,
    /// `[b_q; b_k; b_v]`, `3d`.
    pub in_proj_bias: Param<F>,
    /// `W_out`, `b_out`.
    pub out_proj: Linear<F>,
    heads: usize,
    cache: CrossCache<F>,
}

impl<F: Float> CrossAttention<F> {
    /// Cross-attention over `width` features in `heads` heads, initialized as
    /// [`MultiHeadAttention::new`].
    ///
    /// # Errors
    /// If `heads` is 0 or does not divide `width`.
    pub fn new(width: usize, heads: usize, rng: &mut impl Rng) -> Result<Self> {
        let m = MultiHeadAttention::new(width, heads, rng)?;
        Ok(CrossAttention {
            in_proj_weight: m.in_proj_weight,
            in_proj_bias: m.in_proj_bias,
            out_proj: m.out_proj,
            heads,
            cache: CrossCache::default(),
        })
    }

    /// Width `d`.
    pub fn width(&self) -> usize {
        self.in_proj_weight.value.ncols()
    }

    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    fn check(
        &self,
        x: &Mat<F>,
        q_shape: SeqShape,
        memory: &Mat<F>,
        kv_shape: SeqShape,
        padding: Option<&[bool]>,
    ) -> Result<()> {
        let d = self.width();
        if q_shape.columns() == 0 || kv_shape.columns() == 0 {
            return Err(Error::Data("CrossAttention: empty input".into()));
        }
        if q_shape.batch != kv_shape.batch {
            return Err(Error::Data(format!(
                "CrossAttention: {} query sequences but {} memory sequences",
                q_shape.batch, kv_shape.batch
            )));
        }
        if x.shape() != (d, q_shape.columns()) {
            return Err(Error::shape(
                "CrossAttention queries",
                (d, q_shape.columns()),
                x.shape(),
            ));
        }
        if memory.shape() != (d, kv_shape.columns()) {
            return Err(Error::shape(
                "CrossAttention memory",
                (d, kv_shape.columns()),
                memory.shape(),
            ));
        }
        if let Some(p) = padding
            && p.len() != kv_shape.columns()
        {
            return Err(Error::Data(format!(
                "CrossAttention memory padding: {} flags for {} positions",
                p.len(),
                kv_shape.columns()
            )));
        }
        Ok(())
    }

    /// The forward into `c` and `y`.
    fn run(
        &self,
        x: &Mat<F>,
        q_shape: SeqShape,
        memory: &Mat<F>,
        kv_shape: SeqShape,
        padding: Option<&[bool]>,
        c: &mut CrossCache<F>,
        y: &mut Mat<F>,
    ) -> Result<()> {
        self.check(x, q_shape, memory, kv_shape, padding)?;
        let (d, h) = (self.width(), self.heads);
        let dh = d / h;
        let (tq, tk, batch) = (q_shape.len, kv_shape.len, q_shape.batch);
        let (nq, nk) = (q_shape.columns(), kv_shape.columns());
        let w = self.in_proj_weight.value.as_slice();
        let bias = self.in_proj_bias.value.as_slice();
        let wq = Block::strided(w, (d, d), (1, 3 * d));
        let wkv = Block::strided(&w[d..], (2 * d, d), (1, 3 * d));
        c.q.resize(d * nq, F::zero());
        gemm_blocks(
            F::one(),
            wq,
            Block::columns(x.as_slice(), d, nq),
            F::zero(),
            BlockMut::columns(&mut c.q, d, nq),
        );
        for col in c.q.chunks_exact_mut(d) {
            col.iter_mut().zip(&bias[..d]).for_each(|(o, &b)| *o += b);
        }
        c.kv.resize(2 * d * nk, F::zero());
        gemm_blocks(
            F::one(),
            wkv,
            Block::columns(memory.as_slice(), d, nk),
            F::zero(),
            BlockMut::columns(&mut c.kv, 2 * d, nk),
        );
        for col in c.kv.chunks_exact_mut(2 * d) {
            col.iter_mut().zip(&bias[d..]).for_each(|(o, &b)| *o += b);
        }
        c.weights.resize(batch * h * tk * tq, F::zero());
        c.head[0].resize(dh * tq, F::zero());
        resize_buffer(&mut c.concat, d, nq);
        let scale = F::one() / F::of(dh.max(1) as f64).sqrt();
        for b in 0..batch {
            let mask = HeadMask {
                causal: false,
                query_offset: 0,
                key_padding: padding.map(|p| &p[b * tk..(b + 1) * tk]),
            };
            for hh in 0..h {
                let q = Block::strided(&c.q[b * tq * d + hh * dh..], (dh, tq), (1, d));
                let kbase = b * tk * 2 * d + hh * dh;
                let k = Block::strided(&c.kv[kbase..], (dh, tk), (1, 2 * d));
                let v = Block::strided(&c.kv[kbase + d..], (dh, tk), (1, 2 * d));
                let i = b * h + hh;
                let wts = &mut c.weights[i * tk * tq..(i + 1) * tk * tq];
                attention_weights(q, k, (tk, tq), scale, mask, wts);
                gemm_blocks(
                    F::one(),
                    v,
                    Block::columns(wts, tk, tq),
                    F::zero(),
                    BlockMut::columns(&mut c.head[0], dh, tq),
                );
                put_block(
                    &c.head[0],
                    dh,
                    c.concat.as_mut_slice(),
                    d,
                    (hh * dh, b * tq),
                );
            }
        }
        c.q_shape = Some(q_shape);
        c.kv_shape = Some(kv_shape);
        self.out_proj.predict_into(&c.concat, y)
    }

    /// Training forward, caching what the backward needs; `padding` marks source positions no
    /// query may attend to (one flag per memory column).
    ///
    /// # Errors
    /// Shapes that do not agree, a padding mask of the wrong length.
    pub fn forward(
        &mut self,
        x: &Mat<F>,
        q_shape: SeqShape,
        memory: &Mat<F>,
        kv_shape: SeqShape,
        padding: Option<&[bool]>,
    ) -> Result<Mat<F>> {
        let mut c = std::mem::take(&mut self.cache);
        let mut y = Mat::zeros(0, 0);
        let out = self.run(x, q_shape, memory, kv_shape, padding, &mut c, &mut y);
        c.x.clear();
        c.x.extend_from_slice(x.as_slice());
        c.memory.clear();
        c.memory.extend_from_slice(memory.as_slice());
        c.padding.clear();
        if let Some(p) = padding {
            c.padding.extend_from_slice(p);
        }
        self.cache = c;
        out.map(|()| y)
    }

    /// The same function without touching the layer.
    ///
    /// # Errors
    /// As [`CrossAttention::forward`].
    pub fn predict(
        &self,
        x: &Mat<F>,
        q_shape: SeqShape,
        memory: &Mat<F>,
        kv_shape: SeqShape,
        padding: Option<&[bool]>,
    ) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.run(
            x,
            q_shape,
            memory,
            kv_shape,
            padding,
            &mut CrossCache::default(),
            &mut y,
        )?;
        Ok(y)
    }

    /// The attention weights of the last training forward for sequence `b`, head `h`
    /// (`T_k x T_q`, column = query).
    pub fn last_weights(&self, b: usize, h: usize) -> Option<Mat<F>> {
        let (q, k) = (self.cache.q_shape?, self.cache.kv_shape?);
        if b >= q.batch || h >= self.heads {
            return None;
        }
        let n = q.len * k.len;
        let i = b * self.heads + h;
        let w = self.cache.weights.get(i * n..(i + 1) * n)?;
        Some(Mat::from_column_slice(k.len, q.len, w))
    }

    /// Adds every parameter gradient; returns `(∂L/∂X, ∂L/∂M)` (module docs).
    ///
    /// # Errors
    /// Without a forward, or if `dy` does not have the shape of its output.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<(Mat<F>, Mat<F>)> {
        let c = &mut self.cache;
        let (Some(qs), Some(ks)) = (c.q_shape, c.kv_shape) else {
            return Err(Error::Data("CrossAttention backward before forward".into()));
        };
        let d = self.in_proj_weight.value.ncols();
        let (h, dh) = (self.heads, d / self.heads);
        let (tq, tk, nq, nk) = (qs.len, ks.len, qs.columns(), ks.columns());
        if dy.shape() != (d, nq) {
            return Err(Error::shape(
                "CrossAttention backward dY",
                (d, nq),
                dy.shape(),
            ));
        }
        self.out_proj
            .backward_with_input(&c.concat, dy, Some(&mut c.d_concat))?;
        c.dq.resize(d * nq, F::zero());
        c.dkv.resize(2 * d * nk, F::zero());
        c.head[0].resize(dh * tq, F::zero());
        c.head[1].resize(dh * tk, F::zero());
        c.head[2].resize(dh * tk, F::zero());
        c.d_scores.resize(tk * tq, F::zero());
        let scale = F::one() / F::of(dh.max(1) as f64).sqrt();
        let dc = c.d_concat.as_slice();
        for b in 0..qs.batch {
            for hh in 0..h {
                let q = Block::strided(&c.q[b * tq * d + hh * dh..], (dh, tq), (1, d));
                let kbase = b * tk * 2 * d + hh * dh;
                let k = Block::strided(&c.kv[kbase..], (dh, tk), (1, 2 * d));
                let v = Block::strided(&c.kv[kbase + d..], (dh, tk), (1, 2 * d));
                let i = b * h + hh;
                let wts = &c.weights[i * tk * tq..(i + 1) * tk * tq];
                let d_out = Block::strided(&dc[b * tq * d + hh * dh..], (dh, tq), (1, d));
                let [g_q, g_k, g_v] = &mut c.head;
                attention_backward(
                    (q, k, v),
                    wts,
                    d_out,
                    (dh, dh, tk, tq),
                    scale,
                    &mut c.d_scores,
                    (g_q, g_k, g_v),
                    None,
                );
                put_block(g_q, dh, &mut c.dq, d, (hh * dh, b * tq));
                put_block(g_k, dh, &mut c.dkv, 2 * d, (hh * dh, b * tk));
                put_block(g_v, dh, &mut c.dkv, 2 * d, (d + hh * dh, b * tk));
            }
        }
        // ∂L/∂W_q += dQ Xᵀ and ∂L/∂W_kv += d[K;V] Mᵀ, through contiguous scratch
        let mut gq = vec![F::zero(); d * d];
        gemm_blocks(
            F::one(),
            Block::columns(&c.dq, d, nq),
            Block::columns(&c.x, d, nq).t(),
            F::zero(),
            BlockMut::columns(&mut gq, d, d),
        );
        let mut gkv = vec![F::zero(); 2 * d * d];
        gemm_blocks(
            F::one(),
            Block::columns(&c.dkv, 2 * d, nk),
            Block::columns(&c.memory, d, nk).t(),
            F::zero(),
            BlockMut::columns(&mut gkv, 2 * d, d),
        );
        let grad = self.in_proj_weight.grad.as_mut_slice();
        for j in 0..d {
            let col = &mut grad[j * 3 * d..(j + 1) * 3 * d];
            col[..d]
                .iter_mut()
                .zip(&gq[j * d..(j + 1) * d])
                .for_each(|(g, &v)| *g += v);
            col[d..]
                .iter_mut()
                .zip(&gkv[j * 2 * d..(j + 1) * 2 * d])
                .for_each(|(g, &v)| *g += v);
        }
        let gb = self.in_proj_bias.grad.as_mut_slice();
        for col in c.dq.chunks_exact(d) {
            gb[..d].iter_mut().zip(col).for_each(|(g, &v)| *g += v);
        }
        for col in c.dkv.chunks_exact(2 * d) {
            gb[d..].iter_mut().zip(col).for_each(|(g, &v)| *g += v);
        }
        let w = self.in_proj_weight.value.as_slice();
        let mut dx = Mat::zeros(d, nq);
        gemm_blocks(
            F::one(),
            Block::strided(w, (d, d), (1, 3 * d)).t(),
            Block::columns(&c.dq, d, nq),
            F::zero(),
            BlockMut::columns(dx.as_mut_slice(), d, nq),
        );
        let mut dm = Mat::zeros(d, nk);
        gemm_blocks(
            F::one(),
            Block::strided(&w[d..], (2 * d, d), (1, 3 * d)).t(),
            Block::columns(&c.dkv, 2 * d, nk),
            F::zero(),
            BlockMut::columns(dm.as_mut_slice(), d, nk),
        );
        Ok((dx, dm))
    }
}

impl<F: Float> Parameters<F> for CrossAttention<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("in_proj_weight", &mut self.in_proj_weight);
        visit("in_proj_bias", &mut self.in_proj_bias);
        optim::visit_child("out_proj", &mut self.out_proj, visit);
    }
}

/// One decoder layer: causal self-attention, cross-attention to the encoder's output and the
/// feed-forward network, each with a residual connection and LayerNorm (module docs).
#[derive(Debug, Clone)]
pub struct DecoderLayer<F: Float> {
    /// Causal self-attention over the target.
    pub self_attn: MultiHeadAttention<F>,
    /// Cross-attention from the target to the encoder's output.
    pub multihead_attn: CrossAttention<F>,
    /// The position-wise feed-forward network (`linear1`, `linear2`).
    pub feed_forward: FeedForward<F>,
    /// Norms of the three sub-layers.
    pub norm1: LayerNorm<F>,
    /// See `norm1`.
    pub norm2: LayerNorm<F>,
    /// See `norm1`.
    pub norm3: LayerNorm<F>,
    norm: NormPlacement,
}

impl<F: Float> DecoderLayer<F> {
    /// A layer with the width, heads, feed-forward and norm placement of `config` (its dropout
    /// is not used).
    ///
    /// # Errors
    /// As [`BlockConfig::validate`].
    pub fn new(config: &BlockConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let d = config.width;
        Ok(DecoderLayer {
            self_attn: MultiHeadAttention::new(d, config.heads, rng)?,
            multihead_attn: CrossAttention::new(d, config.heads, rng)?,
            feed_forward: FeedForward::new(d, config.ff_width, config.activation, rng),
            norm1: LayerNorm::new(d),
            norm2: LayerNorm::new(d),
            norm3: LayerNorm::new(d),
            norm: config.norm,
        })
    }

    /// Training forward of `x` (`d x T_t·B`) against the encoder output `memory`
    /// (`d x T_s·B`), with the causal mask on the target and `padding` on the source.
    ///
    /// # Errors
    /// Shapes that do not agree.
    pub fn forward(
        &mut self,
        x: &Mat<F>,
        shape: SeqShape,
        memory: &Mat<F>,
        memory_shape: SeqShape,
        padding: Option<&[bool]>,
    ) -> Result<Mat<F>> {
        let causal = Mask::causal();
        match self.norm {
            NormPlacement::PreLn => {
                let a = self.norm1.forward(x)?;
                let mut x1 = self.self_attn.forward(&a, shape, causal)?;
                add_into(x, &mut x1);
                let b = self.norm2.forward(&x1)?;
                let mut x2 =
                    self.multihead_attn
                        .forward(&b, shape, memory, memory_shape, padding)?;
                add_into(&x1, &mut x2);
                let e = self.norm3.forward(&x2)?;
                let mut y = self.feed_forward.forward(&e)?;
                add_into(&x2, &mut y);
                Ok(y)
            }
            NormPlacement::PostLn => {
                let mut s1 = self.self_attn.forward(x, shape, causal)?;
                add_into(x, &mut s1);
                let x1 = self.norm1.forward(&s1)?;
                let mut s2 =
                    self.multihead_attn
                        .forward(&x1, shape, memory, memory_shape, padding)?;
                add_into(&x1, &mut s2);
                let x2 = self.norm2.forward(&s2)?;
                let mut s3 = self.feed_forward.forward(&x2)?;
                add_into(&x2, &mut s3);
                self.norm3.forward(&s3)
            }
        }
    }

    /// The same function without touching the layer.
    ///
    /// # Errors
    /// As [`DecoderLayer::forward`].
    pub fn predict(
        &self,
        x: &Mat<F>,
        shape: SeqShape,
        memory: &Mat<F>,
        memory_shape: SeqShape,
        padding: Option<&[bool]>,
    ) -> Result<Mat<F>> {
        let causal = Mask::causal();
        let ca = &self.multihead_attn;
        match self.norm {
            NormPlacement::PreLn => {
                let mut x1 = self
                    .self_attn
                    .predict(&self.norm1.predict(x)?, shape, causal)?;
                add_into(x, &mut x1);
                let b = self.norm2.predict(&x1)?;
                let mut x2 = ca.predict(&b, shape, memory, memory_shape, padding)?;
                add_into(&x1, &mut x2);
                let mut y = self.feed_forward.predict(&self.norm3.predict(&x2)?)?;
                add_into(&x2, &mut y);
                Ok(y)
            }
            NormPlacement::PostLn => {
                let mut s1 = self.self_attn.predict(x, shape, causal)?;
                add_into(x, &mut s1);
                let x1 = self.norm1.predict(&s1)?;
                let mut s2 = ca.predict(&x1, shape, memory, memory_shape, padding)?;
                add_into(&x1, &mut s2);
                let x2 = self.norm2.predict(&s2)?;
                let mut s3 = self.feed_forward.predict(&x2)?;
                add_into(&x2, &mut s3);
                self.norm3.predict(&s3)
            }
        }
    }

    /// Adds every parameter gradient; returns `∂L/∂X` and adds `∂L/∂M` into `d_memory`
    /// (module docs).
    ///
    /// # Errors
    /// Without a forward, or a `dy` of the wrong shape.
    pub fn backward(&mut self, dy: &Mat<F>, d_memory: &mut Mat<F>) -> Result<Mat<F>> {
        match self.norm {
            NormPlacement::PreLn => {
                // dX₂ = G + LN₃ᵀ(FFᵀ G)
                let mut dx2 = self.norm3.backward(&self.feed_forward.backward(dy)?)?;
                add_into(dy, &mut dx2);
                // dX₁ = dX₂ + LN₂ᵀ(CAᵀ dX₂)
                let (g, dm) = self.multihead_attn.backward(&dx2)?;
                add_into(&dm, d_memory);
                let mut dx1 = self.norm2.backward(&g)?;
                add_into(&dx2, &mut dx1);
                // dX = dX₁ + LN₁ᵀ(SAᵀ dX₁)
                let mut dx = self.norm1.backward(&self.self_attn.backward(&dx1)?)?;
                add_into(&dx1, &mut dx);
                Ok(dx)
            }
            NormPlacement::PostLn => {
                // g₃ = LN₃ᵀ G;  dX₂ = g₃ + FFᵀ g₃
                let g3 = self.norm3.backward(dy)?;
                let mut dx2 = self.feed_forward.backward(&g3)?;
                add_into(&g3, &mut dx2);
                // g₂ = LN₂ᵀ dX₂;  dX₁ = g₂ + CAᵀ g₂
                let g2 = self.norm2.backward(&dx2)?;
                let (mut dx1, dm) = self.multihead_attn.backward(&g2)?;
                add_into(&dm, d_memory);
                add_into(&g2, &mut dx1);
                // g₁ = LN₁ᵀ dX₁;  dX = g₁ + SAᵀ g₁
                let g1 = self.norm1.backward(&dx1)?;
                let mut dx = self.self_attn.backward(&g1)?;
                add_into(&g1, &mut dx);
                Ok(dx)
            }
        }
    }
}

impl<F: Float> Parameters<F> for DecoderLayer<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        optim::visit_child("self_attn", &mut self.self_attn, visit);
        optim::visit_child("multihead_attn", &mut self.multihead_attn, visit);
        self.feed_forward.visit_params(visit);
        optim::visit_child("norm1", &mut self.norm1, visit);
        optim::visit_child("norm2", &mut self.norm2, visit);
        optim::visit_child("norm3", &mut self.norm3, visit);
    }
}

/// The architecture of an [`EncoderDecoder`], stored as the checkpoint's JSON `config`.
///
/// The target vocabulary holds two reserved ids: `bos` starts every decoder input and `eos`
/// ends every target (the model learns to emit it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncDecConfig {
    /// Source vocabulary size.
    pub src_vocab: usize,
    /// Target vocabulary size (including `bos` and `eos`).
    pub tgt_vocab: usize,
    /// Longest source sequence.
    pub src_context: usize,
    /// Longest decoder input: a target of at most `tgt_context − 1` tokens plus `bos`.
    pub tgt_context: usize,
    /// Width `d`. Default 64.
    pub width: usize,
    /// Heads per attention layer. Default 4.
    pub heads: usize,
    /// Encoder blocks. Default 2.
    pub encoder_layers: usize,
    /// Decoder layers. Default 2.
    pub decoder_layers: usize,
    /// Feed-forward hidden width. Default `4d`.
    pub ff_width: usize,
    /// Norm placement. Default post-LN (the original Transformer).
    pub norm: NormPlacement,
    /// Feed-forward activation. Default ReLU (the original Transformer).
    pub activation: Activation,
    /// The begin-of-sequence id (target vocabulary). Default `tgt_vocab − 2`.
    pub bos: usize,
    /// The end-of-sequence id (target vocabulary). Default `tgt_vocab − 1`.
    pub eos: usize,
}

impl EncDecConfig {
    /// A model from a `src_vocab`-token source to a `tgt_vocab`-token target (its last two ids
    /// are `bos` and `eos`), both at most `context` long, with the defaults above.
    pub fn new(src_vocab: usize, tgt_vocab: usize, context: usize) -> Self {
        EncDecConfig {
            src_vocab,
            tgt_vocab,
            src_context: context,
            tgt_context: context.saturating_add(1),
            width: 64,
            heads: 4,
            encoder_layers: 2,
            decoder_layers: 2,
            ff_width: 256,
            norm: NormPlacement::PostLn,
            activation: Activation::Relu,
            bos: tgt_vocab.saturating_sub(2),
            eos: tgt_vocab.saturating_sub(1),
        }
    }

    /// With width `d` (and feed-forward width `4d`).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width;
        self.ff_width = width.saturating_mul(4);
        self
    }

    /// With `heads` heads.
    pub fn with_heads(mut self, heads: usize) -> Self {
        self.heads = heads;
        self
    }

    /// With `encoder` encoder blocks and `decoder` decoder layers.
    pub fn with_layers(mut self, encoder: usize, decoder: usize) -> Self {
        self.encoder_layers = encoder;
        self.decoder_layers = decoder;
        self
    }

    /// With the feed-forward width.
    pub fn with_ff_width(mut self, ff_width: usize) -> Self {
        self.ff_width = ff_width;
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

    fn block(&self) -> BlockConfig {
        BlockConfig::new(self.width, self.heads)
            .with_ff_width(self.ff_width)
            .with_activation(self.activation)
            .with_norm(self.norm)
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// Zero vocabularies or contexts, heads that do not divide the width, `bos`/`eos` outside
    /// the target vocabulary or equal, a model too large to count.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("src_vocab", self.src_vocab),
            ("src_context", self.src_context),
            ("ff_width", self.ff_width),
        ] {
            if v == 0 {
                return Err(Error::hyper(name, 0, "must be at least 1"));
            }
        }
        if self.tgt_context < 2 {
            return Err(Error::hyper(
                "tgt_context",
                self.tgt_context,
                "must be at least 2 (bos and one token)",
            ));
        }
        if self.bos >= self.tgt_vocab || self.eos >= self.tgt_vocab || self.bos == self.eos {
            return Err(Error::hyper(
                "bos/eos",
                format!("{}/{}", self.bos, self.eos),
                &format!(
                    "must be two different ids of the target vocabulary of {}",
                    self.tgt_vocab
                ),
            ));
        }
        check_heads(self.width, self.heads)?;
        if Self::parameter_count(self).is_none() {
            return Err(Error::hyper(
                "width",
                self.width,
                "the parameter count overflows",
            ));
        }
        Ok(())
    }

    /// Trainable scalars, with checked arithmetic (`None` on overflow): the four tables
    /// `(V_s + V_t + T_s + T_t)·d`, the encoder blocks, the decoder layers (a block plus
    /// cross-attention `4d² + 4d` and a third norm `2d`), two final norms `4d` and the output
    /// projection `V_t·d + V_t`.
    pub fn parameter_count(config: &EncDecConfig) -> Option<usize> {
        let d = config.width;
        let tables = config
            .src_vocab
            .checked_add(config.tgt_vocab)?
            .checked_add(config.src_context)?
            .checked_add(config.tgt_context)?
            .checked_mul(d)?;
        let block = config.block().parameter_count()?;
        let cross = d
            .checked_mul(d)?
            .checked_mul(4)?
            .checked_add(d.checked_mul(6)?)?;
        let encoder = block.checked_mul(config.encoder_layers)?;
        let decoder = block
            .checked_add(cross)?
            .checked_mul(config.decoder_layers)?;
        let head = config
            .tgt_vocab
            .checked_mul(d)?
            .checked_add(config.tgt_vocab)?;
        tables
            .checked_add(encoder)?
            .checked_add(decoder)?
            .checked_add(d.checked_mul(4)?)?
            .checked_add(head)
    }
}

/// Source and target token sequences, one pair per example (targets without `bos`/`eos`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeqPairs {
    /// Source sequences.
    pub sources: Vec<Vec<usize>>,
    /// Target sequences, as many as sources.
    pub targets: Vec<Vec<usize>>,
}

impl SeqPairs {
    /// Pairs from two lists of equal length.
    ///
    /// # Errors
    /// Lists of different lengths, or an empty source.
    pub fn new(sources: Vec<Vec<usize>>, targets: Vec<Vec<usize>>) -> Result<Self> {
        if sources.len() != targets.len() {
            return Err(Error::Data(format!(
                "SeqPairs: {} sources but {} targets",
                sources.len(),
                targets.len()
            )));
        }
        if let Some(i) = sources.iter().position(Vec::is_empty) {
            return Err(Error::Data(format!("SeqPairs: source {i} is empty")));
        }
        Ok(SeqPairs { sources, targets })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

/// `n` random sequences of `min_len..=max_len` tokens of `0..letters` and their reversals (the
/// seq2seq reversal task).
pub fn reversal_pairs(
    n: usize,
    (min_len, max_len): (usize, usize),
    letters: usize,
    rng: &mut impl Rng,
) -> SeqPairs {
    let (lo, hi) = (min_len.max(1), max_len.max(min_len.max(1)));
    let mut pairs = SeqPairs::default();
    for _ in 0..n {
        let len = rng.random_range(lo..=hi);
        let s: Vec<usize> = (0..len)
            .map(|_| rng.random_range(0..letters.max(1)))
            .collect();
        pairs.targets.push(s.iter().rev().copied().collect());
        pairs.sources.push(s);
    }
    pairs
}

/// A padded batch: source ids and flags, decoder inputs and targets (`None` = padding).
#[derive(Debug, Clone, Default)]
struct Batch {
    src: Vec<usize>,
    src_pad: Vec<bool>,
    src_shape: Option<SeqShape>,
    tgt_in: Vec<usize>,
    tgt_out: Vec<Option<usize>>,
    tgt_shape: Option<SeqShape>,
}

#[derive(Debug, Clone, Default)]
struct EncDecCache<F: Float> {
    batch: Batch,
    normed: Mat<F>,
}

/// The encoder–decoder Transformer (module docs).
#[derive(Debug, Clone)]
pub struct EncoderDecoder<F: Float> {
    config: EncDecConfig,
    /// Source token table `V_s x d`.
    pub src_embedding: Param<F>,
    /// Target token table `V_t x d`.
    pub tgt_embedding: Param<F>,
    /// Learned source positions `T_s x d`.
    pub src_positions: Param<F>,
    /// Learned target positions `T_t x d`.
    pub tgt_positions: Param<F>,
    /// Encoder blocks (PyTorch's `nn.TransformerEncoderLayer`).
    pub encoder: Vec<TransformerBlock<F>>,
    /// Final encoder norm.
    pub encoder_norm: LayerNorm<F>,
    /// Decoder layers.
    pub decoder: Vec<DecoderLayer<F>>,
    /// Final decoder norm.
    pub decoder_norm: LayerNorm<F>,
    /// Output projection `V_t x d` with bias.
    pub generator: Linear<F>,
    cache: EncDecCache<F>,
}

fn normal<F: Float>(rows: usize, cols: usize, std: f64, rng: &mut impl Rng) -> Mat<F> {
    Init::Normal(std).matrix(rows, cols, cols, rows, rng)
}

/// `table[ids] + positions[c % t]` into a `d x n` matrix.
fn embed<F: Float>(table: &Mat<F>, positions: &Mat<F>, ids: &[usize], t: usize) -> Mat<F> {
    let d = table.ncols();
    let (v, p) = (table.nrows(), positions.nrows());
    let (tab, pos) = (table.as_slice(), positions.as_slice());
    let mut x = Mat::zeros(d, ids.len());
    for (c, (&id, col)) in ids
        .iter()
        .zip(x.as_mut_slice().chunks_exact_mut(d))
        .enumerate()
    {
        for (k, o) in col.iter_mut().enumerate() {
            *o = tab[k * v + id] + pos[k * p + c % t];
        }
    }
    x
}

/// The backward of [`embed`]: scatter-adds each column of `g` into its token's and position's rows.
fn embed_backward<F: Float>(
    table: &mut Param<F>,
    positions: &mut Param<F>,
    ids: &[usize],
    t: usize,
    g: &Mat<F>,
) {
    let d = g.nrows();
    let (v, p) = (table.grad.nrows(), positions.grad.nrows());
    let (tg, pg) = (table.grad.as_mut_slice(), positions.grad.as_mut_slice());
    for (c, (&id, col)) in ids.iter().zip(g.as_slice().chunks_exact(d)).enumerate() {
        for (k, &x) in col.iter().enumerate() {
            tg[k * v + id] += x;
            pg[k * p + c % t] += x;
        }
    }
}

impl<F: Float> EncoderDecoder<F> {
    /// A model of `config`: tables `N(0, 0.02²)`, layers as PyTorch initializes them.
    ///
    /// # Errors
    /// As [`EncDecConfig::validate`].
    pub fn new(config: &EncDecConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let d = config.width;
        let block = config.block();
        let src_embedding = Param::new(normal(config.src_vocab, d, 0.02, rng));
        let tgt_embedding = Param::new(normal(config.tgt_vocab, d, 0.02, rng));
        let src_positions = Param::new(normal(config.src_context, d, 0.02, rng));
        let tgt_positions = Param::new(normal(config.tgt_context, d, 0.02, rng));
        let encoder = (0..config.encoder_layers)
            .map(|_| TransformerBlock::new(&block, rng))
            .collect::<Result<Vec<_>>>()?;
        let decoder = (0..config.decoder_layers)
            .map(|_| DecoderLayer::new(&block, rng))
            .collect::<Result<Vec<_>>>()?;
        let generator = Linear::from_weights(
            Init::PyTorchDefault.dense(config.tgt_vocab, d, rng),
            Some(Mat::zeros(config.tgt_vocab, 1)),
        );
        Ok(EncoderDecoder {
            config: config.clone(),
            src_embedding,
            tgt_embedding,
            src_positions,
            tgt_positions,
            encoder,
            encoder_norm: LayerNorm::new(d),
            decoder,
            decoder_norm: LayerNorm::new(d),
            generator,
            cache: EncDecCache::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EncDecConfig {
        &self.config
    }

    /// Pads a batch of pairs (sources with flags, targets shifted right behind `bos`).
    fn gather(&self, data: &SeqPairs, batch: &[usize], out: &mut Batch) -> Result<()> {
        let c = &self.config;
        let ts = batch
            .iter()
            .map(|&i| data.sources[i].len())
            .max()
            .unwrap_or(0);
        let tt = batch
            .iter()
            .map(|&i| data.targets[i].len())
            .max()
            .unwrap_or(0)
            + 1;
        if ts == 0 || batch.is_empty() {
            return Err(Error::Data("EncoderDecoder: empty batch or source".into()));
        }
        if ts > c.src_context {
            return Err(Error::Data(format!(
                "EncoderDecoder: a source of {ts} tokens is longer than the model's maximum \
                 context of {}",
                c.src_context
            )));
        }
        if tt > c.tgt_context {
            return Err(Error::Data(format!(
                "EncoderDecoder: a target of {} tokens does not fit the model's target context \
                 of {} (bos + target)",
                tt - 1,
                c.tgt_context
            )));
        }
        out.src.clear();
        out.src_pad.clear();
        out.tgt_in.clear();
        out.tgt_out.clear();
        for &i in batch {
            let (s, t) = (&data.sources[i], &data.targets[i]);
            check_vocab(s, c.src_vocab, "EncoderDecoder source")?;
            check_vocab(t, c.tgt_vocab, "EncoderDecoder target")?;
            out.src.extend_from_slice(s);
            out.src.extend(std::iter::repeat_n(0, ts - s.len()));
            out.src_pad.extend(std::iter::repeat_n(false, s.len()));
            out.src_pad.extend(std::iter::repeat_n(true, ts - s.len()));
            out.tgt_in.push(c.bos);
            out.tgt_in.extend_from_slice(t);
            out.tgt_in
                .extend(std::iter::repeat_n(c.eos, tt - 1 - t.len()));
            out.tgt_out.extend(t.iter().map(|&x| Some(x)));
            out.tgt_out.push(Some(c.eos));
            out.tgt_out
                .extend(std::iter::repeat_n(None, tt - 1 - t.len()));
        }
        out.src_shape = Some(SeqShape::new(ts, batch.len()));
        out.tgt_shape = Some(SeqShape::new(tt, batch.len()));
        Ok(())
    }

    /// The encoder's output `M` (`d x T_s·B`) in evaluation mode.
    fn encode(&self, src: &[usize], shape: SeqShape, pad: &[bool]) -> Result<Mat<F>> {
        let mut x = embed(
            &self.src_embedding.value,
            &self.src_positions.value,
            src,
            shape.len,
        );
        for block in &self.encoder {
            x = block.predict(&x, shape, Mask::none().with_padding(pad))?;
        }
        self.encoder_norm.predict(&x)
    }

    /// Logits (`V_t x T_t·B`) of the decoder inputs `tgt_in` given the encoder's output.
    fn decode(
        &self,
        tgt_in: &[usize],
        shape: SeqShape,
        memory: &Mat<F>,
        memory_shape: SeqShape,
        pad: &[bool],
    ) -> Result<Mat<F>> {
        let mut y = embed(
            &self.tgt_embedding.value,
            &self.tgt_positions.value,
            tgt_in,
            shape.len,
        );
        for layer in &self.decoder {
            y = layer.predict(&y, shape, memory, memory_shape, Some(pad))?;
        }
        let h = self.decoder_norm.predict(&y)?;
        let mut z = Mat::zeros(0, 0);
        self.generator.predict_into(&h, &mut z)?;
        Ok(z)
    }

    /// Training forward and backward of one padded batch: adds every gradient of the mean
    /// cross-entropy over the non-padded target positions and returns it.
    fn loss_and_backward_batch(&mut self, batch: &Batch) -> Result<F> {
        let (Some(ss), Some(ts)) = (batch.src_shape, batch.tgt_shape) else {
            return Err(Error::Data("EncoderDecoder: empty batch".into()));
        };
        let mask = Mask::none().with_padding(&batch.src_pad);
        let mut x = embed(
            &self.src_embedding.value,
            &self.src_positions.value,
            &batch.src,
            ss.len,
        );
        for block in &mut self.encoder {
            x = block.forward(&x, ss, mask, None)?;
        }
        let memory = self.encoder_norm.forward(&x)?;
        let mut y = embed(
            &self.tgt_embedding.value,
            &self.tgt_positions.value,
            &batch.tgt_in,
            ts.len,
        );
        for layer in &mut self.decoder {
            y = layer.forward(&y, ts, &memory, ss, Some(&batch.src_pad))?;
        }
        let mut normed = std::mem::take(&mut self.cache.normed);
        self.decoder_norm.forward_into(&y, &mut normed)?;
        let mut z = Mat::zeros(0, 0);
        self.generator.predict_into(&normed, &mut z)?;
        let (loss, dz, _) = masked_cross_entropy(&z, &batch.tgt_out);
        let mut dh = Mat::zeros(0, 0);
        self.generator
            .backward_with_input(&normed, &dz, Some(&mut dh))?;
        self.cache.normed = normed;
        let mut g = self.decoder_norm.backward(&dh)?;
        let mut d_memory = Mat::zeros(memory.nrows(), memory.ncols());
        for layer in self.decoder.iter_mut().rev() {
            g = layer.backward(&g, &mut d_memory)?;
        }
        embed_backward(
            &mut self.tgt_embedding,
            &mut self.tgt_positions,
            &batch.tgt_in,
            ts.len,
            &g,
        );
        let mut g = self.encoder_norm.backward(&d_memory)?;
        for block in self.encoder.iter_mut().rev() {
            g = block.backward(&g)?;
        }
        embed_backward(
            &mut self.src_embedding,
            &mut self.src_positions,
            &batch.src,
            ss.len,
            &g,
        );
        Ok(F::of(loss))
    }

    /// Forward, loss and backward of the pairs `batch` of `data` (teacher forcing): adds the
    /// gradient of the mean cross-entropy (nats per target token, `eos` included) into the
    /// parameters and returns it.
    ///
    /// # Errors
    /// Sequences longer than the contexts, ids outside the vocabularies.
    pub fn loss_and_backward(&mut self, data: &SeqPairs, batch: &[usize]) -> Result<F> {
        let mut b = std::mem::take(&mut self.cache.batch);
        let out = self
            .gather(data, batch, &mut b)
            .and_then(|()| self.loss_and_backward_batch(&b));
        self.cache.batch = b;
        out
    }

    /// Mean cross-entropy and the counts `(sequences exactly right, sequences)` of the pairs
    /// `batch` of `data`, in evaluation mode.
    ///
    /// # Errors
    /// As [`EncoderDecoder::loss_and_backward`].
    pub fn loss(&self, data: &SeqPairs, batch: &[usize]) -> Result<(f64, usize)> {
        let (z, b) = self.teacher_forced(data, batch)?;
        let ts = b.tgt_shape.expect("gathered");
        let (loss, _, right) = masked_cross_entropy(&z, &b.tgt_out);
        // a sequence is right when every one of its non-padded positions is
        let exact = right
            .chunks_exact(ts.len)
            .filter(|r| r.iter().all(|&ok| ok))
            .count();
        Ok((loss, exact))
    }

    /// The logits `Z` (`V_t x T_t·B`, column `b·T_t + t`) of the pairs `batch` of `data` under
    /// teacher forcing, in evaluation mode: each batch is padded as in training (sources with
    /// key padding, decoder inputs `bos y₁ … y_n` followed by `eos`), so a padded column's logits
    /// are computed but belong to no target. For comparisons with another implementation
    /// (the PyTorch bridge) and for inspection.
    ///
    /// # Errors
    /// As [`EncoderDecoder::loss_and_backward`].
    pub fn logits(&self, data: &SeqPairs, batch: &[usize]) -> Result<Mat<F>> {
        Ok(self.teacher_forced(data, batch)?.0)
    }

    /// The evaluation-mode logits of the pairs `batch` under teacher forcing, and the gathered
    /// batch they belong to (its targets and shapes): what [`EncoderDecoder::loss`] and
    /// [`EncoderDecoder::logits`] share.
    fn teacher_forced(&self, data: &SeqPairs, batch: &[usize]) -> Result<(Mat<F>, Batch)> {
        let mut b = Batch::default();
        self.gather(data, batch, &mut b)?;
        let (ss, ts) = (
            b.src_shape.expect("gathered"),
            b.tgt_shape.expect("gathered"),
        );
        let memory = self.encode(&b.src, ss, &b.src_pad)?;
        let z = self.decode(&b.tgt_in, ts, &memory, ss, &b.src_pad)?;
        Ok((z, b))
    }

    /// Greedy decoding of one source: the target tokens up to (without) `eos`, at most
    /// `max_len` of them (and at most `tgt_context − 1`). A decoding cut by that limit is
    /// returned as it is, without asking whether `eos` would follow.
    ///
    /// # Errors
    /// An empty or too long source, ids outside the vocabulary.
    pub fn translate(&self, src: &[usize], max_len: usize) -> Result<Vec<usize>> {
        let c = &self.config;
        if src.is_empty() || src.len() > c.src_context {
            return Err(Error::Data(format!(
                "translate: a source of {} tokens (the model reads 1 to {})",
                src.len(),
                c.src_context
            )));
        }
        check_vocab(src, c.src_vocab, "translate source")?;
        let ss = SeqShape::new(src.len(), 1);
        let pad = vec![false; src.len()];
        let memory = self.encode(src, ss, &pad)?;
        let mut tokens = vec![c.bos];
        let limit = max_len.min(c.tgt_context - 1);
        while tokens.len() <= limit {
            let ts = SeqShape::new(tokens.len(), 1);
            let z = self.decode(&tokens, ts, &memory, ss, &pad)?;
            let last = z.column(tokens.len() - 1);
            let next = (0..last.len())
                .max_by(|&a, &b| last[a].to_f64().total_cmp(&last[b].to_f64()))
                .unwrap_or(c.eos);
            if next == c.eos {
                break;
            }
            tokens.push(next);
        }
        tokens.remove(0);
        Ok(tokens)
    }

    /// The cross-attention weights of decoder layer `layer`, head `head`, when decoding
    /// `target` (teacher forcing, `bos` prepended) from `src`: `T_s x (T_t + 1)`, column = target
    /// position.
    ///
    /// # Errors
    /// As [`EncoderDecoder::translate`], or a layer or head out of range.
    pub fn cross_attention_map(
        &self,
        src: &[usize],
        target: &[usize],
        layer: usize,
        head: usize,
    ) -> Result<Mat<F>> {
        if layer >= self.decoder.len() || head >= self.config.heads {
            return Err(Error::Data(format!(
                "cross_attention_map: layer {layer}, head {head} of {} layers, {} heads",
                self.decoder.len(),
                self.config.heads
            )));
        }
        let mut copy = self.clone();
        let data = SeqPairs::new(vec![src.to_vec()], vec![target.to_vec()])?;
        let mut b = Batch::default();
        copy.gather(&data, &[0], &mut b)?;
        let (ss, ts) = (
            b.src_shape.expect("gathered"),
            b.tgt_shape.expect("gathered"),
        );
        let memory = copy.encode(&b.src, ss, &b.src_pad)?;
        let mut y = embed(
            &copy.tgt_embedding.value,
            &copy.tgt_positions.value,
            &b.tgt_in,
            ts.len,
        );
        for l in 0..=layer {
            y = copy.decoder[l].forward(&y, ts, &memory, ss, Some(&b.src_pad))?;
        }
        copy.decoder[layer]
            .multihead_attn
            .last_weights(0, head)
            .ok_or_else(|| Error::Data("cross_attention_map: no weights".into()))
    }
}

/// Mean soft-max cross-entropy over the columns with a target, its gradient (zero on padded
/// columns) and, per column, whether the arg max is the target (`true` for padded columns).
fn masked_cross_entropy<F: Float>(
    z: &Mat<F>,
    targets: &[Option<usize>],
) -> (f64, Mat<F>, Vec<bool>) {
    let v = z.nrows();
    let count = targets.iter().filter(|t| t.is_some()).count().max(1);
    let inv = 1.0 / count as f64;
    let mut dz = Mat::zeros(v, z.ncols());
    let mut right = Vec::with_capacity(targets.len());
    let mut loss = 0.0;
    for ((col, g), t) in z
        .as_slice()
        .chunks_exact(v)
        .zip(dz.as_mut_slice().chunks_exact_mut(v))
        .zip(targets)
    {
        let Some(t) = *t else {
            right.push(true);
            continue;
        };
        let max = col.iter().fold(f64::NEG_INFINITY, |m, x| m.max(x.to_f64()));
        let sum: f64 = col.iter().map(|x| (x.to_f64() - max).exp()).sum();
        let log_sum = max + sum.ln();
        loss += log_sum - col[t].to_f64();
        for (gi, &x) in g.iter_mut().zip(col) {
            *gi = F::of((x.to_f64() - log_sum).exp() * inv);
        }
        g[t] -= F::of(inv);
        let best = (0..v)
            .max_by(|&a, &b| col[a].to_f64().total_cmp(&col[b].to_f64()))
            .unwrap_or(0);
        right.push(best == t);
    }
    (loss * inv, dz, right)
}

impl<F: Float> Parameters<F> for EncoderDecoder<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("src_embedding.weight", &mut self.src_embedding);
        visit("tgt_embedding.weight", &mut self.tgt_embedding);
        visit("src_positions.weight", &mut self.src_positions);
        visit("tgt_positions.weight", &mut self.tgt_positions);
        for (l, block) in self.encoder.iter_mut().enumerate() {
            optim::visit_child(&format!("encoder.layers.{l}"), block, visit);
        }
        optim::visit_child("encoder.norm", &mut self.encoder_norm, visit);
        for (l, layer) in self.decoder.iter_mut().enumerate() {
            optim::visit_child(&format!("decoder.layers.{l}"), layer, visit);
        }
        optim::visit_child("decoder.norm", &mut self.decoder_norm, visit);
        optim::visit_child("generator", &mut self.generator, visit);
    }
}

/// Trains on [`SeqPairs`] with teacher forcing: the loss is the mean cross-entropy per target
/// token; the accuracy is the fraction of pairs whose whole target (and `eos`) is the arg max
/// at every position, which equals greedy decoding's exact-sequence accuracy (module docs).
impl<F: Float> Trainable<F> for EncoderDecoder<F> {
    type Data = SeqPairs;

    fn examples(&self, data: &SeqPairs) -> usize {
        data.len()
    }

    fn check_data(&self, data: &SeqPairs, what: &str) -> Result<()> {
        if data.is_empty() {
            return Err(Error::Data(format!("{what}: no pairs")));
        }
        let c = &self.config;
        for (i, (s, t)) in data.sources.iter().zip(&data.targets).enumerate() {
            if s.is_empty() || s.len() > c.src_context {
                return Err(Error::Data(format!(
                    "{what}: source {i} has {} tokens (the model reads 1 to {})",
                    s.len(),
                    c.src_context
                )));
            }
            if t.len() >= c.tgt_context {
                return Err(Error::Data(format!(
                    "{what}: target {i} has {} tokens (at most {} fit with bos)",
                    t.len(),
                    c.tgt_context - 1
                )));
            }
            check_vocab(s, c.src_vocab, what)?;
            check_vocab(t, c.tgt_vocab, what)?;
        }
        Ok(())
    }

    fn train_batch(
        &mut self,
        data: &SeqPairs,
        batch: &[usize],
        _rng: &mut StdRng,
    ) -> Result<BatchLoss> {
        Ok(BatchLoss::new(self.loss_and_backward(data, batch)?))
    }

    fn evaluate(&self, data: &SeqPairs) -> Result<Evaluation> {
        self.check_data(data, "evaluation data")?;
        let (mut sum, mut exact) = (0.0, 0usize);
        let all: Vec<usize> = (0..data.len()).collect();
        for chunk in all.chunks(64) {
            let (l, e) = self.loss(data, chunk)?;
            sum += l * chunk.len() as f64;
            exact += e;
        }
        Ok(Evaluation {
            loss: sum / data.len() as f64,
            accuracy: Some(exact as f64 / data.len() as f64),
        })
    }
}

/// Checkpoints with the architecture: kind `"encoder_decoder"`, the [`EncDecConfig`] as JSON.
impl<F: Float> Saveable<F> for EncoderDecoder<F> {
    const KIND: &'static str = "encoder_decoder";
    type Config = EncDecConfig;

    fn config(&self) -> EncDecConfig {
        self.config.clone()
    }

    fn parameter_count(config: &EncDecConfig) -> Option<usize> {
        EncDecConfig::parameter_count(config)
    }

    fn from_config(config: &EncDecConfig) -> Result<Self> {
        EncoderDecoder::new(config, &mut optim::rng(0))
    }
}
