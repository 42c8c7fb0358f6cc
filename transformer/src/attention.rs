//! Scaled dot-product attention and multi-head attention (Vaswani et al. 2017), the layer that
//! lets every position read every other position in one step (notes §8: "通过 Attention 建模全局依赖").
//!
//! # Scaled dot-product attention
//!
//! With queries `Q` (`d_k x T_q`, one column per query), keys `K` (`d_k x T_k`) and values `V`
//! (`d_v x T_k`), each query's output is an average of the values, weighted by how well its
//! query matches each key:
//!
//! ```text
//! S = KᵀQ / √d_k                       T_k x T_q: column i holds query i's score of every key
//! S_ji = −∞ where key j is masked       (causal: j > i; padding: key j is padding)
//! P = softmax(S) column by column       column i is a distribution over the keys
//! O = V P                              d_v x T_q
//! ```
//!
//! Scores are divided by `√d_k` because a dot product of `d_k` independent unit-variance terms
//! has variance `d_k`; without the division the soft-max saturates and its gradient vanishes.
//! A query whose keys are all masked gets weights of exactly 0 and output 0 (PyTorch gives NaN).
//!
//! # Backward
//!
//! Given `dO = ∂L/∂O`, the chain rule through `O = VP`, the column soft-max and `S = KᵀQ/√d_k`:
//!
//! ```text
//! ∂L/∂V = dO Pᵀ                          (d_v x T_k)
//! dP    = Vᵀ dO                          (T_k x T_q)
//! dS_ji = P_ji (dP_ji − Σ_j' P_j'i dP_j'i)   the soft-max Jacobian diag(p) − p pᵀ, per column
//! ∂L/∂Q = K dS / √d_k                    (d_k x T_q)
//! ∂L/∂K = Q dSᵀ / √d_k                   (d_k x T_k)
//! ```
//!
//! A masked entry has `P_ji = 0`, so `dS_ji = 0` too: no gradient flows to a key a query may not
//! see, which is the gradient-side statement of causality.
//!
//! # Multi-head attention
//!
//! [`MultiHeadAttention`] projects the input `X` (`d x n`) to queries, keys and values with one
//! `3d x d` matrix, splits the `d` features into `h` heads of `d/h`, attends in each head and
//! projects the concatenated heads back:
//!
//! ```text
//! [Q; K; V] = W_in X + b_in                     W_in = [W_q; W_k; W_v], 3d x d
//! O_h = Attention(Q_h, K_h, V_h)                rows h·d/h .. (h+1)·d/h of Q, K, V
//! Y = W_out [O_1; …; O_h] + b_out               d x d
//! ```
//!
//! This is PyTorch's `nn.MultiheadAttention(d, h)` with its parameter names and layout
//! (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`), so weights move
//! between the two. Every product is one [`gemm`](optim::linalg::gemm) call: the projections over
//! all positions of all sequences at once, the scores and outputs per sequence and head on
//! strided [`Block`] views of the projected matrix (no copies of `Q`, `K`, `V`).
//!
//! ```
//! use transformer::attention::{HeadMask, scaled_dot_product_attention};
//! use optim::Mat;
//! // two keys, two queries; causal: query 0 sees only key 0
//! let q = Mat::from_column_slice(1, 2, &[1.0, 1.0]);
//! let k = Mat::from_column_slice(1, 2, &[0.0, 2.0f64.ln()]);
//! let v = Mat::from_column_slice(1, 2, &[10.0, 40.0]);
//! let (out, weights) = scaled_dot_product_attention(&q, &k, &v, HeadMask::causal())?;
//! assert_eq!(weights.column(0).as_slice(), &[1.0, 0.0]);
//! // query 1: scores 0 and ln 2, so weights 1/3 and 2/3
//! assert!((weights[(1, 1)] - 2.0 / 3.0).abs() < 1e-12);
//! assert!((out[(0, 1)] - 30.0).abs() < 1e-12);
//! # Ok::<(), optim::Error>(())
//! ```

use optim::linalg::{Block, BlockMut, gemm_blocks, resize_buffer};
use optim::{
    Dropout, Error, Float, Init, Linear, Mat, Param, Parameters, Result, StdRng, affine_backward,
    affine_forward,
};
use rand::Rng;

/// The positions of a batch of sequences: `len` positions in each of `batch` sequences. The
/// columns of a sequence batch are ordered sequence by sequence: position `t` of sequence `b`
/// is column `b·len + t`, so each sequence is a contiguous `d x len` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqShape {
    /// Positions per sequence, `T`.
    pub len: usize,
    /// Number of sequences, `B`.
    pub batch: usize,
}

impl SeqShape {
    /// `batch` sequences of `len` positions.
    pub fn new(len: usize, batch: usize) -> Self {
        SeqShape { len, batch }
    }

    /// Number of columns, `T·B` (saturating: a shape this large is refused anyway).
    pub fn columns(&self) -> usize {
        self.len.saturating_mul(self.batch)
    }
}

/// Which keys the queries of a sequence batch may attend to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mask<'a> {
    /// Causal (look-ahead) mask: position `t` sees positions `≤ t` only (PyTorch's
    /// `is_causal=True`, or the upper-triangular `attn_mask`).
    pub causal: bool,
    /// Key padding, one flag per column (`T·B`): `true` marks a padded position that no query
    /// may attend to (PyTorch's `key_padding_mask` convention).
    pub key_padding: Option<&'a [bool]>,
}

impl<'a> Mask<'a> {
    /// No mask: every query sees every key of its sequence.
    pub fn none() -> Self {
        Mask::default()
    }

    /// The causal mask.
    pub fn causal() -> Self {
        Mask {
            causal: true,
            key_padding: None,
        }
    }

    /// With a key-padding mask (`true` = padding), one flag per column.
    pub fn with_padding(mut self, key_padding: &'a [bool]) -> Self {
        self.key_padding = Some(key_padding);
        self
    }
}

/// The mask of one attention head of one sequence.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadMask<'a> {
    /// Key `j` is hidden from query `i` when `j > query_offset + i`.
    pub causal: bool,
    /// Absolute position of the first query (nonzero when the keys include a cached prefix).
    pub query_offset: usize,
    /// `true` for keys no query may see, one flag per key.
    pub key_padding: Option<&'a [bool]>,
}

impl HeadMask<'_> {
    /// No mask.
    pub fn none() -> Self {
        HeadMask::default()
    }

    /// The causal mask with queries and keys at the same positions.
    pub fn causal() -> Self {
        HeadMask {
            causal: true,
            ..HeadMask::default()
        }
    }

    #[inline]
    fn allowed(&self, key: usize, query: usize) -> bool {
        let future = self.causal && key > self.query_offset + query;
        let padded = self.key_padding.is_some_and(|p| p[key]);
        !(future || padded)
    }
}

/// `P = softmax(KᵀQ·scale)` with masked keys at exactly 0, into `weights` (`T_k x T_q`,
/// column-major).
pub(crate) fn attention_weights<F: Float>(
    q: Block<'_, F>,
    k: Block<'_, F>,
    (tk, tq): (usize, usize),
    scale: F,
    mask: HeadMask<'_>,
    weights: &mut [F],
) {
    gemm_blocks(
        scale,
        k.t(),
        q,
        F::zero(),
        BlockMut::columns(weights, tk, tq),
    );
    if tk == 0 {
        return;
    }
    for (i, column) in weights.chunks_exact_mut(tk).enumerate() {
        // under the causal mask query i sees a prefix of the keys, 0..=offset+i; the rest get 0
        let seen = if mask.causal {
            (mask.query_offset + i + 1).min(tk)
        } else {
            tk
        };
        let (column, future) = column.split_at_mut(seen);
        future.fill(F::zero());
        let mut max = F::of(f64::NEG_INFINITY);
        for (j, &s) in column.iter().enumerate() {
            if mask.allowed(j, i) && s > max {
                max = s;
            }
        }
        if max == F::of(f64::NEG_INFINITY) {
            column.fill(F::zero());
            continue;
        }
        // e^{s_j − max} for the whole prefix (a map, which vectorizes), padded keys then to 0
        optim::simd::map(column, |s| (s - max).exp_fast());
        if let Some(p) = mask.key_padding {
            column
                .iter_mut()
                .zip(p)
                .filter(|(_, padded)| **padded)
                .for_each(|(s, _)| *s = F::zero());
        }
        let sum = column.iter().fold(F::zero(), |acc, &s| acc + s);
        let inv = F::one() / sum;
        optim::simd::map(column, |s| s * inv);
    }
}

/// The backward of one head: from `dO` (`d_v x T_q`) and the cached `P`, writes `∂L/∂Q`,
/// `∂L/∂K`, `∂L/∂V` into contiguous buffers, using `d_scores` (`T_k x T_q`) as scratch.
pub(crate) fn attention_backward<F: Float>(
    (q, k, v): (Block<'_, F>, Block<'_, F>, Block<'_, F>),
    weights: &[F],
    d_out: Block<'_, F>,
    (dk_rows, dv_rows, tk, tq): (usize, usize, usize, usize),
    scale: F,
    d_scores: &mut [F],
    (dq, dk, dv): (&mut [F], &mut [F], &mut [F]),
    dropout: Option<(&[F], &[F])>,
) {
    // with attention dropout, O = V P' where P' = P ⊙ m/(1−p): ∂L/∂V = dO P'ᵀ and
    // ∂L/∂P = m/(1−p) ⊙ Vᵀ dO, then the soft-max backward with P itself
    let used = dropout.map_or(weights, |(dropped, _)| dropped);
    let p = Block::columns(used, tk, tq);
    // ∂L/∂V = dO Pᵀ
    gemm_blocks(
        F::one(),
        d_out,
        p.t(),
        F::zero(),
        BlockMut::columns(dv, dv_rows, tk),
    );
    // dP = Vᵀ dO
    gemm_blocks(
        F::one(),
        v.t(),
        d_out,
        F::zero(),
        BlockMut::columns(d_scores, tk, tq),
    );
    if let Some((_, keep)) = dropout {
        d_scores.iter_mut().zip(keep).for_each(|(d, &m)| *d *= m);
    }
    // dS = P ⊙ (dP − Σ_j P dP), column by column
    if tk > 0 {
        for (ds, pc) in d_scores.chunks_exact_mut(tk).zip(weights.chunks_exact(tk)) {
            let dot = ds.iter().zip(pc).fold(F::zero(), |a, (&d, &p)| a + d * p);
            for (d, &p) in ds.iter_mut().zip(pc) {
                *d = p * (*d - dot);
            }
        }
    }
    let ds = Block::columns(d_scores, tk, tq);
    // ∂L/∂Q = K dS·scale,  ∂L/∂K = Q dSᵀ·scale
    gemm_blocks(scale, k, ds, F::zero(), BlockMut::columns(dq, dk_rows, tq));
    gemm_blocks(
        scale,
        q,
        ds.t(),
        F::zero(),
        BlockMut::columns(dk, dk_rows, tk),
    );
}

fn check_head_inputs<F: Float>(
    q: &Mat<F>,
    k: &Mat<F>,
    v: &Mat<F>,
    mask: &HeadMask<'_>,
) -> Result<()> {
    if k.nrows() != q.nrows() {
        return Err(Error::shape(
            "attention keys (d_k x T_k)",
            (q.nrows(), k.ncols()),
            k.shape(),
        ));
    }
    if v.ncols() != k.ncols() {
        return Err(Error::shape(
            "attention values (d_v x T_k)",
            (v.nrows(), k.ncols()),
            v.shape(),
        ));
    }
    if let Some(p) = mask.key_padding
        && p.len() != k.ncols()
    {
        return Err(Error::Data(format!(
            "attention key padding: {} flags for {} keys",
            p.len(),
            k.ncols()
        )));
    }
    Ok(())
}

/// Scaled dot-product attention of one head (module docs): returns the output `O = VP`
/// (`d_v x T_q`) and the weights `P` (`T_k x T_q`, each unmasked column a distribution).
///
/// # Shapes
/// `q`: `d_k x T_q`, `k`: `d_k x T_k`, `v`: `d_v x T_k`.
///
/// # Errors
/// If the shapes do not agree or the padding mask does not have one flag per key.
pub fn scaled_dot_product_attention<F: Float>(
    q: &Mat<F>,
    k: &Mat<F>,
    v: &Mat<F>,
    mask: HeadMask<'_>,
) -> Result<(Mat<F>, Mat<F>)> {
    check_head_inputs(q, k, v, &mask)?;
    let (tk, tq) = (k.ncols(), q.ncols());
    let scale = F::one() / F::of(q.nrows().max(1) as f64).sqrt();
    let mut weights = Mat::zeros(tk, tq);
    attention_weights(
        Block::columns(q.as_slice(), q.nrows(), tq),
        Block::columns(k.as_slice(), k.nrows(), tk),
        (tk, tq),
        scale,
        mask,
        weights.as_mut_slice(),
    );
    let mut out = Mat::zeros(v.nrows(), tq);
    gemm_blocks(
        F::one(),
        Block::columns(v.as_slice(), v.nrows(), tk),
        Block::columns(weights.as_slice(), tk, tq),
        F::zero(),
        BlockMut::columns(out.as_mut_slice(), v.nrows(), tq),
    );
    Ok((out, weights))
}

/// The backward of [`scaled_dot_product_attention`]: from `dO` and the weights it returned,
/// `(∂L/∂Q, ∂L/∂K, ∂L/∂V)` (module docs for the formulas).
///
/// # Errors
/// If the shapes do not agree.
pub fn scaled_dot_product_attention_backward<F: Float>(
    q: &Mat<F>,
    k: &Mat<F>,
    v: &Mat<F>,
    weights: &Mat<F>,
    d_out: &Mat<F>,
) -> Result<(Mat<F>, Mat<F>, Mat<F>)> {
    check_head_inputs(q, k, v, &HeadMask::none())?;
    let (tk, tq) = (k.ncols(), q.ncols());
    if weights.shape() != (tk, tq) {
        return Err(Error::shape("attention weights", (tk, tq), weights.shape()));
    }
    if d_out.shape() != (v.nrows(), tq) {
        return Err(Error::shape(
            "attention backward dO",
            (v.nrows(), tq),
            d_out.shape(),
        ));
    }
    let scale = F::one() / F::of(q.nrows().max(1) as f64).sqrt();
    let (mut dq, mut dk, mut dv) = (
        Mat::zeros(q.nrows(), tq),
        Mat::zeros(k.nrows(), tk),
        Mat::zeros(v.nrows(), tk),
    );
    let mut d_scores = vec![F::zero(); tk * tq];
    attention_backward(
        (
            Block::columns(q.as_slice(), q.nrows(), tq),
            Block::columns(k.as_slice(), k.nrows(), tk),
            Block::columns(v.as_slice(), v.nrows(), tk),
        ),
        weights.as_slice(),
        Block::columns(d_out.as_slice(), v.nrows(), tq),
        (q.nrows(), v.nrows(), tk, tq),
        scale,
        &mut d_scores,
        (dq.as_mut_slice(), dk.as_mut_slice(), dv.as_mut_slice()),
        None,
    );
    Ok((dq, dk, dv))
}

/// What the forward of [`MultiHeadAttention`] keeps for its backward, plus reused scratch.
#[derive(Debug, Clone)]
struct MhaCache<F: Float> {
    shape: SeqShape,
    /// The input `X`, `d x n`.
    x: Mat<F>,
    /// `[Q; K; V]`, `3d x n`.
    qkv: Mat<F>,
    /// `P` of every sequence and head, `T x T` each, sequence-major then head.
    weights: Vec<F>,
    /// The concatenated heads, `d x n` (the input of `out_proj`).
    concat: Mat<F>,
    /// One head's output or gradient, `d/h x T` (three of them in the backward).
    head: [Vec<F>; 3],
    /// `dS` of one head, `T x T`.
    d_scores: Vec<F>,
    d_concat: Mat<F>,
    d_qkv: Mat<F>,
    /// Whether the last forward dropped attention weights, and `P'` = `P ⊙ m/(1−p)`.
    dropped: bool,
    dropped_weights: Vec<F>,
}

impl<F: Float> Default for MhaCache<F> {
    fn default() -> Self {
        MhaCache {
            shape: SeqShape::new(0, 0),
            x: Mat::zeros(0, 0),
            qkv: Mat::zeros(0, 0),
            weights: Vec::new(),
            concat: Mat::zeros(0, 0),
            head: [Vec::new(), Vec::new(), Vec::new()],
            d_scores: Vec::new(),
            d_concat: Mat::zeros(0, 0),
            d_qkv: Mat::zeros(0, 0),
            dropped: false,
            dropped_weights: Vec::new(),
        }
    }
}

/// Copies a contiguous `rows x cols` block into `dst` at row `row`, column `col` (`dst` has
/// `dst_rows` rows, column-major).
pub(crate) fn put_block<F: Float>(
    src: &[F],
    rows: usize,
    dst: &mut [F],
    dst_rows: usize,
    (row, col): (usize, usize),
) {
    if rows == 0 {
        return;
    }
    for (j, s) in src.chunks_exact(rows).enumerate() {
        let start = (col + j) * dst_rows + row;
        dst[start..start + rows].copy_from_slice(s);
    }
}

/// Multi-head self-attention, PyTorch's `nn.MultiheadAttention(d, heads)` with
/// `batch_first` sequences as column blocks (module docs).
///
/// # Shapes
/// `in_proj_weight`: `3d x d`, `in_proj_bias`: `[3d]`, `out_proj.weight`: `d x d`,
/// `out_proj.bias`: `[d]`; input and output `d x (T·B)` in [`SeqShape`]'s column order.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention<F: Float> {
    /// `[W_q; W_k; W_v]`, `3d x d`.
    pub in_proj_weight: Param<F>,
    /// `[b_q; b_k; b_v]`, `3d`.
    pub in_proj_bias: Param<F>,
    /// `W_out`, `b_out`.
    pub out_proj: Linear<F>,
    heads: usize,
    /// Dropout on the attention weights (training only; `p = 0` by default).
    attn_dropout: Dropout<F>,
    cache: MhaCache<F>,
}

/// The keys and values of the positions seen so far, for generation one position at a time.
///
/// # Shapes
/// `keys`, `values`: `d x capacity`; the first `len` columns are filled.
#[derive(Debug, Clone)]
pub struct KvCache<F: Float> {
    keys: Mat<F>,
    values: Mat<F>,
    len: usize,
}

impl<F: Float> KvCache<F> {
    /// An empty cache for `capacity` positions of width `d`.
    pub fn new(d: usize, capacity: usize) -> Self {
        KvCache {
            keys: Mat::zeros(d, capacity),
            values: Mat::zeros(d, capacity),
            len: 0,
        }
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions the cache can hold.
    pub fn capacity(&self) -> usize {
        self.keys.ncols()
    }

    /// Forgets every position (keeps the allocation).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<F: Float> MultiHeadAttention<F> {
    /// Attention over `width` features in `heads` heads, initialized as PyTorch does: Xavier
    /// uniform `in_proj_weight`, zero biases, `out_proj.weight ~ U(−1/√d, 1/√d)`.
    ///
    /// # Errors
    /// If `heads` is 0 or does not divide `width`.
    pub fn new(width: usize, heads: usize, rng: &mut impl Rng) -> Result<Self> {
        check_heads(width, heads)?;
        let in_proj =
            Init::XavierUniform { gain: 1.0 }.matrix(3 * width, width, width, width * 3, rng);
        let out = Init::PyTorchDefault.dense(width, width, rng);
        Self::from_weights(
            in_proj,
            Mat::zeros(3 * width, 1),
            out,
            Mat::zeros(width, 1),
            heads,
        )
    }

    /// A layer with given weights (PyTorch's layout).
    ///
    /// # Errors
    /// If the shapes do not fit a `d`-wide layer or `heads` does not divide `d`.
    pub fn from_weights(
        in_proj_weight: Mat<F>,
        in_proj_bias: Mat<F>,
        out_proj_weight: Mat<F>,
        out_proj_bias: Mat<F>,
        heads: usize,
    ) -> Result<Self> {
        let d = in_proj_weight.ncols();
        check_heads(d, heads)?;
        if in_proj_weight.nrows() != 3 * d {
            return Err(Error::shape(
                "MultiHeadAttention in_proj_weight",
                (3 * d, d),
                in_proj_weight.shape(),
            ));
        }
        if in_proj_bias.shape() != (3 * d, 1) {
            return Err(Error::shape(
                "MultiHeadAttention in_proj_bias",
                (3 * d, 1),
                in_proj_bias.shape(),
            ));
        }
        if out_proj_weight.shape() != (d, d) {
            return Err(Error::shape(
                "MultiHeadAttention out_proj.weight",
                (d, d),
                out_proj_weight.shape(),
            ));
        }
        Ok(MultiHeadAttention {
            in_proj_weight: Param::new(in_proj_weight),
            in_proj_bias: Param::vector(in_proj_bias),
            out_proj: Linear::try_from_weights(out_proj_weight, Some(out_proj_bias))?,
            heads,
            attn_dropout: Dropout::new(0.0)?,
            cache: MhaCache::default(),
        })
    }

    /// With dropout of probability `p` on the attention weights in training (PyTorch's
    /// `nn.MultiheadAttention(dropout=p)`): `O = V (P ⊙ m/(1−p))`, `m ~ Bernoulli(1−p)` per
    /// weight, so each output keeps its expectation; evaluation is unchanged.
    ///
    /// # Errors
    /// If `p` is not in `[0, 1)`.
    pub fn with_attention_dropout(mut self, p: f64) -> Result<Self> {
        self.attn_dropout = Dropout::new(p)?;
        Ok(self)
    }

    /// The attention-weight dropout probability.
    pub fn attention_dropout(&self) -> f64 {
        self.attn_dropout.p()
    }

    /// Width `d`.
    pub fn width(&self) -> usize {
        self.in_proj_weight.value.ncols()
    }

    /// Number of heads `h`.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Width of one head, `d/h`.
    pub fn head_width(&self) -> usize {
        self.width() / self.heads
    }

    fn check_input(&self, x: &Mat<F>, shape: SeqShape, mask: &Mask<'_>) -> Result<()> {
        if shape.len == 0 || shape.batch == 0 {
            return Err(Error::Data(format!(
                "MultiHeadAttention: empty input ({} sequence(s) of {} position(s))",
                shape.batch, shape.len
            )));
        }
        if x.shape() != (self.width(), shape.columns()) {
            return Err(Error::shape(
                format!(
                    "MultiHeadAttention input (d x T·B, T = {}, B = {})",
                    shape.len, shape.batch
                ),
                (self.width(), shape.columns()),
                x.shape(),
            ));
        }
        if let Some(p) = mask.key_padding
            && p.len() != shape.columns()
        {
            return Err(Error::Data(format!(
                "MultiHeadAttention key padding: {} flags for {} positions",
                p.len(),
                shape.columns()
            )));
        }
        Ok(())
    }

    /// The forward into `cache` and `y`: the one forward behind `forward` and `predict`.
    fn run(
        &self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
        c: &mut MhaCache<F>,
        keep: Option<&[F]>,
        y: &mut Mat<F>,
    ) -> Result<()> {
        self.check_input(x, shape, &mask)?;
        let (d, h, dh) = (self.width(), self.heads, self.head_width());
        let (t, n) = (shape.len, shape.columns());
        c.shape = shape;
        affine_forward(
            &self.in_proj_weight.value,
            false,
            Some(&self.in_proj_bias.value),
            x,
            &mut c.qkv,
        );
        c.weights.resize(shape.batch * h * t * t, F::zero());
        c.dropped = keep.is_some();
        if c.dropped {
            c.dropped_weights.resize(shape.batch * h * t * t, F::zero());
        }
        c.head[0].resize(dh * t, F::zero());
        resize_buffer(&mut c.concat, d, n);
        let scale = F::one() / F::of(dh.max(1) as f64).sqrt();
        let qkv = c.qkv.as_slice();
        for b in 0..shape.batch {
            let base = b * t * 3 * d;
            let head_mask = HeadMask {
                causal: mask.causal,
                query_offset: 0,
                key_padding: mask.key_padding.map(|p| &p[b * t..(b + 1) * t]),
            };
            for hh in 0..h {
                let view = |offset: usize| {
                    Block::strided(&qkv[base + offset + hh * dh..], (dh, t), (1, 3 * d))
                };
                let (q, k, v) = (view(0), view(d), view(2 * d));
                let range = (b * h + hh) * t * t..(b * h + hh + 1) * t * t;
                let w = &mut c.weights[range.clone()];
                attention_weights(q, k, (t, t), scale, head_mask, w);
                let w: &[F] = match keep {
                    Some(m) => {
                        let dropped = &mut c.dropped_weights[range.clone()];
                        for ((o, &p), &k) in dropped.iter_mut().zip(&*w).zip(&m[range]) {
                            *o = p * k;
                        }
                        dropped
                    }
                    None => w,
                };
                gemm_blocks(
                    F::one(),
                    v,
                    Block::columns(w, t, t),
                    F::zero(),
                    BlockMut::columns(&mut c.head[0], dh, t),
                );
                put_block(&c.head[0], dh, c.concat.as_mut_slice(), d, (hh * dh, b * t));
            }
        }
        self.out_proj.predict_into(&c.concat, y)
    }

    /// Training forward into `y` (resized if needed), caching what the backward needs.
    ///
    /// # Errors
    /// If `x` is not `d x T·B` or the padding mask does not have `T·B` flags.
    pub fn forward_into(
        &mut self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
        y: &mut Mat<F>,
    ) -> Result<()> {
        self.forward_train(x, shape, mask, None, y)
    }

    /// [`MultiHeadAttention::forward_into`] in training mode: with `rng` and a nonzero
    /// attention dropout, a fresh mask drops attention weights (see
    /// [`MultiHeadAttention::with_attention_dropout`]).
    ///
    /// # Errors
    /// As [`MultiHeadAttention::forward_into`].
    pub fn forward_train(
        &mut self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
        rng: Option<&mut StdRng>,
        y: &mut Mat<F>,
    ) -> Result<()> {
        let mut cache = std::mem::take(&mut self.cache);
        let drop = match rng {
            Some(r) if self.attn_dropout.p() > 0.0 => {
                let t = shape.len;
                self.attn_dropout
                    .draw_mask(t * t, shape.batch * self.heads, r);
                true
            }
            _ => false,
        };
        let keep = drop.then(|| self.attn_dropout.mask().as_slice());
        let out = self.run(x, shape, mask, &mut cache, keep, y);
        optim::linalg::copy_into(&mut cache.x, x);
        self.cache = cache;
        out
    }

    /// [`MultiHeadAttention::forward_into`] into a new matrix.
    ///
    /// # Errors
    /// As [`MultiHeadAttention::forward_into`].
    pub fn forward(&mut self, x: &Mat<F>, shape: SeqShape, mask: Mask<'_>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, shape, mask, &mut y)?;
        Ok(y)
    }

    /// The same function without touching the layer (`&self`).
    ///
    /// # Errors
    /// As [`MultiHeadAttention::forward_into`].
    pub fn predict(&self, x: &Mat<F>, shape: SeqShape, mask: Mask<'_>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.run(x, shape, mask, &mut MhaCache::default(), None, &mut y)?;
        Ok(y)
    }

    /// [`MultiHeadAttention::predict`], also returning the attention weights: one `T x T`
    /// matrix per sequence and head (index `b·heads + h`), column `i` = query `i`'s weights.
    ///
    /// # Errors
    /// As [`MultiHeadAttention::forward_into`].
    pub fn predict_with_weights(
        &self,
        x: &Mat<F>,
        shape: SeqShape,
        mask: Mask<'_>,
    ) -> Result<(Mat<F>, Vec<Mat<F>>)> {
        let mut y = Mat::zeros(0, 0);
        let mut c = MhaCache::default();
        self.run(x, shape, mask, &mut c, None, &mut y)?;
        let t = shape.len;
        let weights = c
            .weights
            .chunks_exact(t * t)
            .map(|w| Mat::from_column_slice(t, t, w))
            .collect();
        Ok((y, weights))
    }

    /// The attention weights of the last training forward, for sequence `b` and head `h`
    /// (`T x T`, column = query), if that forward had them.
    pub fn last_weights(&self, b: usize, h: usize) -> Option<Mat<F>> {
        let t = self.cache.shape.len;
        let i = b.checked_mul(self.heads)?.checked_add(h)?;
        if h >= self.heads || b >= self.cache.shape.batch {
            return None;
        }
        let w = self.cache.weights.get(i * t * t..(i + 1) * t * t)?;
        Some(Mat::from_column_slice(t, t, w))
    }

    /// Adds every parameter gradient and writes `∂L/∂X` into `dx` (resized if needed), from
    /// the cache of the last forward (module docs for the formulas; the projections are
    /// [`optim::affine_backward`]).
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward's output.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        let c = &mut self.cache;
        if dy.shape() != (self.in_proj_weight.value.ncols(), c.shape.columns())
            || c.x.ncols() != c.shape.columns()
        {
            return Err(Error::shape(
                "MultiHeadAttention backward dY",
                (self.in_proj_weight.value.ncols(), c.x.ncols()),
                dy.shape(),
            ));
        }
        let d = self.in_proj_weight.value.ncols();
        let (h, t) = (self.heads, c.shape.len);
        let dh = d / h;
        // through out_proj: ∂L/∂W_out += dY concatᵀ, ∂L/∂concat = W_outᵀ dY
        self.out_proj
            .backward_with_input(&c.concat, dy, Some(&mut c.d_concat))?;
        resize_buffer(&mut c.d_qkv, 3 * d, c.shape.columns());
        for buf in &mut c.head {
            buf.resize(dh * t, F::zero());
        }
        c.d_scores.resize(t * t, F::zero());
        let scale = F::one() / F::of(dh.max(1) as f64).sqrt();
        let (qkv, d_concat) = (c.qkv.as_slice(), c.d_concat.as_slice());
        for b in 0..c.shape.batch {
            let base = b * t * 3 * d;
            for hh in 0..h {
                let view = |offset: usize| {
                    Block::strided(&qkv[base + offset + hh * dh..], (dh, t), (1, 3 * d))
                };
                let range = (b * h + hh) * t * t..(b * h + hh + 1) * t * t;
                let w = &c.weights[range.clone()];
                let dropout = c.dropped.then(|| {
                    (
                        &c.dropped_weights[range.clone()],
                        &self.attn_dropout.mask().as_slice()[range],
                    )
                });
                let d_out = Block::strided(&d_concat[b * t * d + hh * dh..], (dh, t), (1, d));
                let [dq, dk, dv] = &mut c.head;
                attention_backward(
                    (view(0), view(d), view(2 * d)),
                    w,
                    d_out,
                    (dh, dh, t, t),
                    scale,
                    &mut c.d_scores,
                    (dq, dk, dv),
                    dropout,
                );
                for (part, buf) in c.head.iter().enumerate() {
                    put_block(
                        buf,
                        dh,
                        c.d_qkv.as_mut_slice(),
                        3 * d,
                        (part * d + hh * dh, b * t),
                    );
                }
            }
        }
        // through in_proj: ∂L/∂W_in += dQKV Xᵀ, ∂L/∂b_in += dQKV·1, ∂L/∂X = W_inᵀ dQKV
        affine_backward(
            &mut self.in_proj_weight,
            false,
            Some(&mut self.in_proj_bias),
            &c.x,
            &c.d_qkv,
            Some(dx),
        );
        Ok(())
    }

    /// [`MultiHeadAttention::backward_into`] into a new matrix.
    ///
    /// # Errors
    /// As [`MultiHeadAttention::backward_into`].
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }

    /// One new position of one sequence with a [`KvCache`]: projects `x` (`d x 1`), appends
    /// its key and value to the cache and attends from its query over every cached position
    /// (one new row of attention, `O(T·d)` instead of the `O(T²·d)` of recomputing the prefix).
    /// Writes the output (`d x 1`) into `y`.
    ///
    /// # Errors
    /// If `x` is not `d x 1`, the cache has another width, or it is full.
    pub fn step(&self, x: &Mat<F>, cache: &mut KvCache<F>, y: &mut Mat<F>) -> Result<()> {
        let (d, h, dh) = (self.width(), self.heads, self.head_width());
        if x.shape() != (d, 1) {
            return Err(Error::shape(
                "MultiHeadAttention step input",
                (d, 1),
                x.shape(),
            ));
        }
        if cache.keys.nrows() != d {
            return Err(Error::shape(
                "KvCache",
                (d, cache.capacity()),
                cache.keys.shape(),
            ));
        }
        if cache.len >= cache.capacity() {
            return Err(Error::Data(format!(
                "KvCache full: it holds {} positions",
                cache.capacity()
            )));
        }
        let mut qkv = Mat::zeros(0, 0);
        affine_forward(
            &self.in_proj_weight.value,
            false,
            Some(&self.in_proj_bias.value),
            x,
            &mut qkv,
        );
        let t = cache.len;
        cache.keys.column_mut(t).copy_from(&qkv.rows(d, d));
        cache.values.column_mut(t).copy_from(&qkv.rows(2 * d, d));
        cache.len += 1;
        let keys_len = cache.len;
        let scale = F::one() / F::of(dh.max(1) as f64).sqrt();
        let mut weights = vec![F::zero(); keys_len];
        let mut concat = Mat::zeros(d, 1);
        for hh in 0..h {
            let q = Block::columns(&qkv.as_slice()[hh * dh..], dh, 1);
            let k = Block::strided(&cache.keys.as_slice()[hh * dh..], (dh, keys_len), (1, d));
            let v = Block::strided(&cache.values.as_slice()[hh * dh..], (dh, keys_len), (1, d));
            attention_weights(q, k, (keys_len, 1), scale, HeadMask::none(), &mut weights);
            gemm_blocks(
                F::one(),
                v,
                Block::columns(&weights, keys_len, 1),
                F::zero(),
                BlockMut::columns(&mut concat.as_mut_slice()[hh * dh..(hh + 1) * dh], dh, 1),
            );
        }
        self.out_proj.predict_into(&concat, y)
    }
}

/// Checks that `heads` divides `width`.
///
/// # Errors
/// [`Error::Hyperparameter`] if `heads` is 0 or does not divide `width`.
pub fn check_heads(width: usize, heads: usize) -> Result<()> {
    if heads == 0 {
        return Err(Error::hyper("heads", 0, "must be at least 1"));
    }
    if width == 0 || !width.is_multiple_of(heads) {
        return Err(Error::hyper(
            "heads",
            heads,
            &format!("must divide the width {width} (each head gets width/heads features)"),
        ));
    }
    Ok(())
}

impl<F: Float> Parameters<F> for MultiHeadAttention<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("in_proj_weight", &mut self.in_proj_weight);
        visit("in_proj_bias", &mut self.in_proj_bias);
        optim::visit_child("out_proj", &mut self.out_proj, visit);
    }
}
