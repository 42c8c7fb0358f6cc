//! The encoder–decoder: embedding → recurrent encoder (optionally bidirectional, stacked) →
//! bridge → recurrent decoder → attention → combination → output projection.

use super::attention::{self, AttentionKind, Memory};
use super::vocab::{BOS, EOS, PAD, Pairs, Vocab};
use crate::cell::CellKind;
use crate::rnn::{Rnn, RnnConfig, RnnState};
use crate::seq::Seq;
use optim::linalg::resize_buffer;
use optim::train::{BatchLoss, Evaluation, Trainable};
use optim::{Embedding, Error, Float, Linear, LinearConfig, Mat, Param, Parameters, Result};
use optim::{StdRng, visit_child};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The architecture of a [`Seq2Seq`] model (stored as JSON in its checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqConfig {
    /// The character vocabulary (source and target share it).
    pub vocab: Vocab,
    /// Embedding width `E` (one table for the source, one for the target).
    pub embed: usize,
    /// Recurrent cell of the encoder and the decoder.
    pub cell: CellKind,
    /// Encoder hidden width `H` per direction.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Bidirectional encoder (outputs `2H` wide).
    pub bidirectional: bool,
    /// Decoder hidden width `H_d`.
    pub decoder_hidden: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
    /// The attention form.
    pub attention: AttentionKind,
    /// Width `A` of additive attention's hidden layer.
    pub attention_dim: usize,
    /// Longest source or target (in characters) the model accepts, and the decoding limit.
    pub max_len: usize,
    /// Scheduled sampling: probability that a decoder input during training is the model's own
    /// prediction instead of the true previous token (0 = pure teacher forcing).
    pub sampling: f64,
}

impl Seq2SeqConfig {
    /// A one-layer GRU encoder–decoder with additive attention: `embed`, `hidden` for both
    /// sides (the decoder gets the encoder's output width `D·H`), bidirectional encoder.
    pub fn new(vocab: Vocab, embed: usize, hidden: usize, attention: AttentionKind) -> Self {
        Seq2SeqConfig {
            vocab,
            embed,
            cell: CellKind::Gru,
            hidden,
            layers: 1,
            bidirectional: true,
            decoder_hidden: 2 * hidden,
            decoder_layers: 1,
            attention,
            attention_dim: hidden,
            max_len: 64,
            sampling: 0.0,
        }
    }

    /// Encoder output width `D·H`.
    pub fn memory_width(&self) -> usize {
        if self.bidirectional {
            2 * self.hidden
        } else {
            self.hidden
        }
    }

    fn encoder_config(&self, layer: usize) -> RnnConfig {
        let input = if layer == 0 {
            self.embed
        } else {
            self.memory_width()
        };
        RnnConfig::new(self.cell, input, self.hidden)
    }

    fn decoder_config(&self) -> RnnConfig {
        RnnConfig::new(self.cell, self.embed, self.decoder_hidden).layers(self.decoder_layers)
    }

    fn combine_inputs(&self) -> usize {
        match self.attention {
            AttentionKind::None => self.decoder_hidden,
            _ => self.memory_width() + self.decoder_hidden,
        }
    }

    /// The number of trainable scalars, with checked arithmetic and without building anything
    /// (`None` on overflow).
    pub fn parameter_count(&self) -> Option<usize> {
        let v = self.vocab.len();
        let m = self.memory_width();
        let hd = self.decoder_hidden;
        let a = self.attention_dim;
        let mut n = v.checked_mul(self.embed)?.checked_mul(2)?;
        let d = if self.bidirectional { 2 } else { 1 };
        for l in 0..self.layers.min(1 << 16) {
            n = n.checked_add(self.encoder_config(l).parameter_count()?.checked_mul(d)?)?;
        }
        if self.layers > 1 << 16 {
            return None;
        }
        let bridge = self
            .decoder_layers
            .checked_mul(hd)?
            .checked_mul(m.checked_add(1)?)?;
        let att = match self.attention {
            AttentionKind::Additive => a.checked_mul(hd.checked_add(m)?.checked_add(1)?)?,
            AttentionKind::General => m.checked_mul(hd)?,
            AttentionKind::Dot | AttentionKind::None => 0,
        };
        let combine = hd.checked_mul(self.combine_inputs().checked_add(1)?)?;
        let output = v.checked_mul(hd.checked_add(1)?)?;
        n.checked_add(bridge)?
            .checked_add(self.decoder_config().parameter_count()?)?
            .checked_add(att)?
            .checked_add(combine)?
            .checked_add(output)
    }

    /// Checks the configuration (before anything is allocated).
    ///
    /// # Errors
    /// Zero widths, layers or length limit; dot attention with a decoder width other than the
    /// encoder's output width; a sampling ratio outside `[0, 1]`; more than 10⁹ parameters.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("embed", self.embed),
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("decoder_hidden", self.decoder_hidden),
            ("decoder_layers", self.decoder_layers),
            ("max_len", self.max_len),
        ] {
            if v == 0 {
                return Err(Error::hyper(name, 0, "must be at least 1"));
            }
        }
        if self.attention == AttentionKind::Additive && self.attention_dim == 0 {
            return Err(Error::hyper("attention_dim", 0, "must be at least 1"));
        }
        if self.attention == AttentionKind::Dot && self.decoder_hidden != self.memory_width() {
            return Err(Error::hyper(
                "decoder_hidden",
                self.decoder_hidden,
                &format!(
                    "dot attention needs the encoder's output width {}",
                    self.memory_width()
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.sampling) {
            return Err(Error::hyper("sampling", self.sampling, "must be in [0, 1]"));
        }
        match self.parameter_count() {
            Some(n) if n <= 1_000_000_000 => Ok(()),
            Some(n) => Err(Error::hyper(
                "config",
                n,
                "more than 10^9 parameters: refused before allocating",
            )),
            None => Err(Error::hyper(
                "config",
                "overflow",
                "the parameter count overflows: refused before allocating",
            )),
        }
    }
}

/// One training batch, time-major: column `t·B + b` is step `t` of example `b`.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Source ids, `S·B` ([`PAD`] after each source's end).
    pub src: Vec<usize>,
    /// Source lengths.
    pub src_len: Vec<usize>,
    /// Longest source `S`.
    pub src_steps: usize,
    /// Decoder inputs `BOS y_1 … y_n` (`T·B`, padded).
    pub dec_in: Vec<usize>,
    /// Decoder targets `y_1 … y_n EOS` (`T·B`, [`PAD`] where there is none).
    pub dec_out: Vec<usize>,
    /// Longest target plus one, `T`.
    pub tgt_steps: usize,
    /// Examples `B`.
    pub batch: usize,
}

impl Batch {
    /// The batch of the examples `idx` of `data`.
    ///
    /// # Errors
    /// An empty source (there is nothing to attend to) or an empty batch.
    pub fn new(data: &Pairs, idx: &[usize]) -> Result<Self> {
        let b = idx.len();
        if b == 0 {
            return Err(Error::Data("empty batch".into()));
        }
        let src_len: Vec<usize> = idx.iter().map(|&i| data.sources[i].len()).collect();
        if let Some(k) = src_len.iter().position(|&n| n == 0) {
            return Err(Error::Data(format!("example {}: empty source", idx[k])));
        }
        let s = *src_len.iter().max().expect("non-empty");
        let t = idx
            .iter()
            .map(|&i| data.targets[i].len())
            .max()
            .expect("non-empty")
            + 1;
        let mut src = vec![PAD; s * b];
        let mut dec_in = vec![PAD; t * b];
        let mut dec_out = vec![PAD; t * b];
        for (c, &i) in idx.iter().enumerate() {
            for (j, &id) in data.sources[i].iter().enumerate() {
                src[j * b + c] = id;
            }
            let y = &data.targets[i];
            dec_in[c] = BOS;
            for (j, &id) in y.iter().enumerate() {
                dec_in[(j + 1) * b + c] = id;
                dec_out[j * b + c] = id;
            }
            dec_out[y.len() * b + c] = EOS;
        }
        Ok(Batch {
            src,
            src_len,
            src_steps: s,
            dec_in,
            dec_out,
            tgt_steps: t,
            batch: b,
        })
    }
}

/// What one forward pass leaves for the backward pass and for inspection.
#[derive(Debug, Clone, Default)]
pub struct Cache<F: Float> {
    /// Top encoder outputs `M x S·B`.
    pub memory: Mat<F>,
    /// Encoder summary fed to the bridge, `M x B`.
    summary: Mat<F>,
    /// Decoder initial states `L_d·H_d x B` (after tanh).
    init: Mat<F>,
    /// Decoder top outputs `H_d x T·B`.
    states: Mat<F>,
    /// Additive keys `A x S·B`.
    keys: Mat<F>,
    /// Queries `Q x T·B`.
    queries: Mat<F>,
    /// Per example: memory `M x S`, keys `A x S`, queries `Q x T`.
    mem_b: Vec<Mat<F>>,
    keys_b: Vec<Mat<F>>,
    q_b: Vec<Mat<F>>,
    /// Per example: attention weights `S x T` (row `j`, column `t`).
    pub alpha: Vec<Mat<F>>,
    tau: Vec<Vec<F>>,
    ctx_b: Mat<F>,
    /// `[c_t; s_t]`, then `o_t = tanh(W_c [c_t; s_t] + b_c)`.
    cat: Mat<F>,
    combined: Mat<F>,
    /// Logits `V x T·B`.
    pub logits: Mat<F>,
    dlogits: Mat<F>,
    /// Number of target positions counted in the loss.
    tokens: usize,
}

/// A sequence-to-sequence model with attention (module docs of [`crate::seq2seq`]).
#[derive(Debug, Clone)]
pub struct Seq2Seq<F: Float> {
    config: Seq2SeqConfig,
    /// Source embedding `V x E`.
    pub src_embed: Embedding<F>,
    /// Target embedding `V x E`.
    pub tgt_embed: Embedding<F>,
    /// Encoder layers, each one [`Rnn`] per direction (the reverse one reads each source
    /// reversed within its own length, so padding never reaches a real position).
    pub encoder: Vec<Vec<Rnn<F>>>,
    /// `s_0 = tanh(W_b [→h_n; ←h_1] + b_b)`, all decoder layers stacked.
    pub bridge: Linear<F>,
    /// The decoder.
    pub decoder: Rnn<F>,
    /// Additive: `W_q` (`A x H_d`); general: `W` (`M x H_d`).
    pub att_query: Option<Linear<F>>,
    /// Additive: `W_k` (`A x M`).
    pub att_key: Option<Linear<F>>,
    /// Additive: `v` (`A x 1`).
    pub att_v: Option<Param<F>>,
    /// `W_c`, `H_d x (M + H_d)` (or `H_d x H_d` without attention).
    pub combine: Linear<F>,
    /// Output projection `V x H_d`.
    pub output: Linear<F>,
    /// The last forward's intermediate values.
    pub cache: Cache<F>,
}

/// Reverses each example's first `len_b` steps of a `rows x S·B` time-major matrix into
/// `out` (padding stays in place; an involution: applying it twice gives the input back).
fn reverse_into<F: Float>(x: &Mat<F>, lens: &[usize], out: &mut Mat<F>) {
    let rows = x.nrows();
    let b = lens.len();
    resize_buffer(out, rows, x.ncols());
    let steps = x.ncols() / b;
    let src = x.as_slice();
    let dst = out.as_mut_slice();
    for t in 0..steps {
        for (c, &n) in lens.iter().enumerate() {
            let from = if t < n { n - 1 - t } else { t };
            let (i, o) = ((from * b + c) * rows, (t * b + c) * rows);
            dst[o..o + rows].copy_from_slice(&src[i..i + rows]);
        }
    }
}

/// Columns of example `c` (steps `0..steps`) of a time-major `rows x steps·B` matrix into `out`.
pub(crate) fn gather<F: Float>(x: &Mat<F>, c: usize, b: usize, steps: usize, out: &mut Mat<F>) {
    let rows = x.nrows();
    resize_buffer(out, rows, steps);
    let src = x.as_slice();
    for (t, col) in out.as_mut_slice().chunks_exact_mut(rows).enumerate() {
        let i = (t * b + c) * rows;
        col.copy_from_slice(&src[i..i + rows]);
    }
}

/// Adds `x` (`rows x steps`) into example `c`'s columns of a time-major matrix (rows from
/// `row0`).
fn scatter_add<F: Float>(x: &Mat<F>, c: usize, b: usize, row0: usize, out: &mut Mat<F>) {
    let rows = x.nrows();
    let orows = out.nrows();
    let dst = out.as_mut_slice();
    for (t, col) in x.as_slice().chunks_exact(rows).enumerate() {
        let i = (t * b + c) * orows + row0;
        for (d, s) in dst[i..i + rows].iter_mut().zip(col) {
            *d += *s;
        }
    }
}

/// Runs the encoder layers over the embedded source `x` (`E x S·B`), with `run(layer,
/// direction, input)` running one [`Rnn`]; returns the top layer's outputs (`M x S·B`).
pub(crate) fn encode_layers<F: Float>(
    x: Mat<F>,
    lens: &[usize],
    layers: usize,
    bidirectional: bool,
    hidden: usize,
    mut run: impl FnMut(usize, usize, Seq<F>) -> Result<Mat<F>>,
) -> Result<Mat<F>> {
    let b = lens.len();
    let steps = x.ncols() / b;
    let mut input = x;
    let mut rev = Mat::zeros(0, 0);
    for l in 0..layers {
        let fw = run(l, 0, Seq::new(input.clone(), steps, b)?)?;
        if !bidirectional {
            input = fw;
            continue;
        }
        reverse_into(&input, lens, &mut rev);
        let bw_rev = run(l, 1, Seq::new(rev.clone(), steps, b)?)?;
        reverse_into(&bw_rev, lens, &mut rev);
        let mut out = Mat::zeros(2 * hidden, steps * b);
        for ((o, f), r) in out
            .as_mut_slice()
            .chunks_exact_mut(2 * hidden)
            .zip(fw.as_slice().chunks_exact(hidden))
            .zip(rev.as_slice().chunks_exact(hidden))
        {
            o[..hidden].copy_from_slice(f);
            o[hidden..].copy_from_slice(r);
        }
        input = out;
    }
    Ok(input)
}

/// The summary `[→h_{n−1}; ←h_0]` (`M x B`) of the top encoder outputs.
pub(crate) fn summarize<F: Float>(
    memory: &Mat<F>,
    lens: &[usize],
    hidden: usize,
    bidi: bool,
) -> Mat<F> {
    let b = lens.len();
    let mut s = Mat::zeros(memory.nrows(), b);
    for (c, &n) in lens.iter().enumerate() {
        for i in 0..hidden {
            s[(i, c)] = memory[(i, (n - 1) * b + c)];
        }
        if bidi {
            for i in hidden..2 * hidden {
                s[(i, c)] = memory[(i, c)];
            }
        }
    }
    s
}

pub(crate) fn initial_state<F: Float>(init: &Mat<F>, config: &Seq2SeqConfig) -> RnnState<F> {
    let hd = config.decoder_hidden;
    let b = init.ncols();
    let h = (0..config.decoder_layers)
        .map(|l| init.rows(l * hd, hd).into_owned())
        .collect();
    let c = if config.cell.has_cell() {
        (0..config.decoder_layers)
            .map(|_| Mat::zeros(hd, b))
            .collect()
    } else {
        Vec::new()
    };
    RnnState { h, c }
}

fn tanh_in_place<F: Float>(m: &mut Mat<F>) {
    for x in m.as_mut_slice() {
        *x = x.tanh();
    }
}

impl<F: Float> Seq2Seq<F> {
    /// A model with PyTorch's initialization for every layer (embeddings `N(0, 1)`).
    ///
    /// # Errors
    /// An invalid configuration ([`Seq2SeqConfig::validate`]).
    pub fn new(config: Seq2SeqConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let v = config.vocab.len();
        let m = config.memory_width();
        let hd = config.decoder_hidden;
        let d = if config.bidirectional { 2 } else { 1 };
        let src_embed = Embedding::new(v, config.embed, rng);
        let tgt_embed = Embedding::new(v, config.embed, rng);
        let mut encoder = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let mut dirs = Vec::with_capacity(d);
            for _ in 0..d {
                dirs.push(Rnn::new(config.encoder_config(l), rng)?);
            }
            encoder.push(dirs);
        }
        let bridge = Linear::new(m, config.decoder_layers * hd, rng);
        let decoder = Rnn::new(config.decoder_config(), rng)?;
        let no_bias = |i, o, rng: &mut dyn rand::RngCore| {
            LinearConfig::new(i, o)
                .with_bias(false)
                .init::<F>(&mut &mut *rng)
        };
        let (att_query, att_key, att_v) = match config.attention {
            AttentionKind::Additive => {
                let a = config.attention_dim;
                let q = no_bias(hd, a, rng);
                let k = no_bias(m, a, rng);
                let bound = 1.0 / (a as f64).sqrt();
                let vv = Mat::from_fn(a, 1, |_, _| F::of(rng.random_range(-bound..bound)));
                (Some(q), Some(k), Some(Param::vector(vv)))
            }
            AttentionKind::General => (Some(no_bias(hd, m, rng)), None, None),
            AttentionKind::Dot | AttentionKind::None => (None, None, None),
        };
        let combine = Linear::new(config.combine_inputs(), hd, rng);
        let output = Linear::new(hd, v, rng);
        Ok(Seq2Seq {
            config,
            src_embed,
            tgt_embed,
            encoder,
            bridge,
            decoder,
            att_query,
            att_key,
            att_v,
            combine,
            output,
            cache: Cache::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Seq2SeqConfig {
        &self.config
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.config.vocab
    }

    /// Sets the scheduled-sampling probability (e.g. raised over training).
    ///
    /// # Errors
    /// Outside `[0, 1]`.
    pub fn set_sampling(&mut self, p: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::hyper("sampling", p, "must be in [0, 1]"));
        }
        self.config.sampling = p;
        Ok(())
    }

    /// Checks that every id fits the vocabulary and every sequence the length limit.
    ///
    /// # Errors
    /// Naming `what`, the example and the problem.
    pub fn check_pairs(&self, data: &Pairs, what: &str) -> Result<()> {
        if data.sources.len() != data.targets.len() {
            return Err(Error::Data(format!(
                "{what}: {} sources but {} targets",
                data.sources.len(),
                data.targets.len()
            )));
        }
        let v = self.config.vocab.len();
        for (i, (s, t)) in data.sources.iter().zip(&data.targets).enumerate() {
            if s.is_empty() {
                return Err(Error::Data(format!("{what}: example {i}: empty source")));
            }
            if t.is_empty() {
                return Err(Error::Data(format!("{what}: example {i}: empty target")));
            }
            for (side, x) in [("source", s), ("target", t)] {
                if x.len() > self.config.max_len {
                    return Err(Error::Data(format!(
                        "{what}: example {i}: {side} of {} tokens is longer than max_len {}",
                        x.len(),
                        self.config.max_len
                    )));
                }
                if let Some(&bad) = x.iter().find(|&&id| id >= v) {
                    return Err(Error::Data(format!(
                        "{what}: example {i}: {side} id {bad} outside the vocabulary of {v}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Forward pass in training mode over `batch` (caching everything for
    /// [`Seq2Seq::backward`]); returns the mean cross-entropy over the real target positions
    /// (padding is masked out) and leaves its gradient with respect to the logits in the cache.
    ///
    /// # Errors
    /// Shape errors from the layers (bugs), ids outside the vocabulary.
    pub fn forward(&mut self, batch: &Batch) -> Result<F> {
        let cfg = &self.config;
        let (b, s, t) = (batch.batch, batch.src_steps, batch.tgt_steps);
        let (m, hd) = (cfg.memory_width(), cfg.decoder_hidden);
        let lens = &batch.src_len;
        // encoder
        let x = self.src_embed.forward(&batch.src)?;
        let encoder = &mut self.encoder;
        let memory = encode_layers(
            x,
            lens,
            cfg.layers,
            cfg.bidirectional,
            cfg.hidden,
            |l, k, seq| Ok(encoder[l][k].forward(&seq, None)?.clone()),
        )?;
        let c = &mut self.cache;
        c.memory = memory;
        // bridge: s_0 = tanh(W_b summary + b_b)
        c.summary = summarize(&c.memory, lens, cfg.hidden, cfg.bidirectional);
        self.bridge.forward_into(&c.summary, &mut c.init)?;
        tanh_in_place(&mut c.init);
        let init = initial_state(&c.init, cfg);
        // decoder over the teacher-forced inputs
        let y = self.tgt_embed.forward(&batch.dec_in)?;
        c.states = self
            .decoder
            .forward(&Seq::new(y, t, b)?, Some(&init))?
            .clone();
        // attention
        let kind = cfg.attention;
        resize_buffer(&mut c.cat, self.combine.inputs(), t * b);
        if kind == AttentionKind::None {
            c.cat.copy_from(&c.states);
        } else {
            match kind {
                AttentionKind::Additive => {
                    let k = self.att_key.as_mut().expect("additive");
                    k.forward_into(&c.memory, &mut c.keys)?;
                    let q = self.att_query.as_mut().expect("additive");
                    q.forward_into(&c.states, &mut c.queries)?;
                }
                AttentionKind::General => {
                    let q = self.att_query.as_mut().expect("general");
                    q.forward_into(&c.states, &mut c.queries)?;
                }
                _ => optim::linalg::copy_into(&mut c.queries, &c.states),
            }
            for v in [&mut c.mem_b, &mut c.keys_b, &mut c.q_b, &mut c.alpha] {
                v.resize_with(b, || Mat::zeros(0, 0));
            }
            c.tau.resize_with(b, Vec::new);
            c.cat.fill(F::zero());
            let v = self.att_v.as_ref().map(|p| &p.value);
            for e in 0..b {
                gather(&c.memory, e, b, s, &mut c.mem_b[e]);
                if kind == AttentionKind::Additive {
                    gather(&c.keys, e, b, s, &mut c.keys_b[e]);
                }
                gather(&c.queries, e, b, t, &mut c.q_b[e]);
                let mem = Memory {
                    mem: &c.mem_b[e],
                    keys: &c.keys_b[e],
                    len: lens[e],
                };
                attention::forward(
                    kind,
                    mem,
                    v,
                    &c.q_b[e],
                    &mut c.alpha[e],
                    &mut c.ctx_b,
                    &mut c.tau[e],
                );
                scatter_add(&c.ctx_b, e, b, 0, &mut c.cat);
            }
            // [c_t; s_t]
            let rows = m + hd;
            for (o, st) in c
                .cat
                .as_mut_slice()
                .chunks_exact_mut(rows)
                .zip(c.states.as_slice().chunks_exact(hd))
            {
                o[m..].copy_from_slice(st);
            }
        }
        self.combine.forward_into(&c.cat, &mut c.combined)?;
        tanh_in_place(&mut c.combined);
        self.output.forward_into(&c.combined, &mut c.logits)?;
        // masked cross-entropy: mean over the real target positions
        let v = c.logits.nrows();
        c.tokens = batch.dec_out.iter().filter(|&&y| y != PAD).count().max(1);
        let scale = F::one() / F::of(c.tokens as f64);
        resize_buffer(&mut c.dlogits, v, t * b);
        let mut loss = F::zero();
        for ((z, dz), &y) in c
            .logits
            .as_slice()
            .chunks_exact(v)
            .zip(c.dlogits.as_mut_slice().chunks_exact_mut(v))
            .zip(&batch.dec_out)
        {
            if y == PAD {
                dz.fill(F::zero());
                continue;
            }
            let lse = optim::scalar::logsumexp(z);
            loss += lse - z[y];
            for (d, &zi) in dz.iter_mut().zip(z) {
                *d = (zi - lse).exp() * scale;
            }
            dz[y] -= scale;
        }
        Ok(loss * scale)
    }

    /// Backpropagation through the whole model after [`Seq2Seq::forward`]: *adds* every
    /// parameter's gradient.
    ///
    /// # Errors
    /// No forward before (shape errors).
    pub fn backward(&mut self, batch: &Batch) -> Result<()> {
        let cfg = &self.config;
        let (b, s, t) = (batch.batch, batch.src_steps, batch.tgt_steps);
        let (m, hd, h) = (cfg.memory_width(), cfg.decoder_hidden, cfg.hidden);
        let lens = &batch.src_len;
        let c = &mut self.cache;
        // output and combination: o = tanh(W_c cat + b_c), z = W_o o + b_o
        let mut d_o = self.output.backward(&c.dlogits)?;
        for (d, &o) in d_o.as_mut_slice().iter_mut().zip(c.combined.as_slice()) {
            *d *= F::one() - o * o;
        }
        let dcat = self.combine.backward(&d_o)?;
        let mut d_states = Mat::zeros(hd, t * b);
        let mut d_memory = Mat::zeros(m, s * b);
        let kind = cfg.attention;
        if kind == AttentionKind::None {
            d_states.copy_from(&dcat);
        } else {
            let rows = m + hd;
            for (o, dc) in d_states
                .as_mut_slice()
                .chunks_exact_mut(hd)
                .zip(dcat.as_slice().chunks_exact(rows))
            {
                o.copy_from_slice(&dc[m..]);
            }
            let qrows = c.queries.nrows();
            let mut d_queries = Mat::zeros(qrows, t * b);
            let a = cfg.attention_dim;
            let mut d_keys = if kind == AttentionKind::Additive {
                Mat::zeros(a, s * b)
            } else {
                Mat::zeros(0, 0)
            };
            let mut dctx = Mat::zeros(0, 0);
            let mut dalpha = Mat::zeros(0, 0);
            let mut dq = Mat::zeros(0, 0);
            let mut dmem = Mat::zeros(m, s);
            let mut dkeys_b = Mat::zeros(0, 0);
            let mut dv = self.att_v.as_ref().map(|p| Mat::zeros(p.value.nrows(), 1));
            let v = self.att_v.as_ref().map(|p| &p.value);
            // the context rows of dcat, per example
            let mut dctx_all = Mat::zeros(m, t * b);
            for (o, dc) in dctx_all
                .as_mut_slice()
                .chunks_exact_mut(m)
                .zip(dcat.as_slice().chunks_exact(rows))
            {
                o.copy_from_slice(&dc[..m]);
            }
            for e in 0..b {
                gather(&dctx_all, e, b, t, &mut dctx);
                dmem.fill(F::zero());
                if kind == AttentionKind::Additive {
                    resize_buffer(&mut dkeys_b, a, s);
                    dkeys_b.fill(F::zero());
                }
                let mem = Memory {
                    mem: &c.mem_b[e],
                    keys: &c.keys_b[e],
                    len: lens[e],
                };
                attention::backward(
                    kind,
                    mem,
                    v,
                    &c.q_b[e],
                    &c.alpha[e],
                    &c.tau[e],
                    &dctx,
                    &mut dalpha,
                    &mut dmem,
                    &mut dkeys_b,
                    &mut dq,
                    dv.as_mut(),
                );
                scatter_add(&dmem, e, b, 0, &mut d_memory);
                scatter_add(&dq, e, b, 0, &mut d_queries);
                if kind == AttentionKind::Additive {
                    scatter_add(&dkeys_b, e, b, 0, &mut d_keys);
                }
            }
            match kind {
                AttentionKind::Additive => {
                    let k = self.att_key.as_mut().expect("additive");
                    d_memory += k.backward(&d_keys)?;
                    let q = self.att_query.as_mut().expect("additive");
                    d_states += q.backward(&d_queries)?;
                    let p = self.att_v.as_mut().expect("additive");
                    p.grad += dv.expect("additive");
                }
                AttentionKind::General => {
                    let q = self.att_query.as_mut().expect("general");
                    d_states += q.backward(&d_queries)?;
                }
                _ => d_states += &d_queries,
            }
        }
        // decoder, then the bridge into the encoder summary
        self.decoder.backward(Some(&d_states), None, true)?;
        self.tgt_embed.backward(self.decoder.input_grad())?;
        let d_init_state = self.decoder.initial_grad();
        let mut d_init = Mat::zeros(cfg.decoder_layers * hd, b);
        for (l, dh) in d_init_state.h.iter().enumerate() {
            d_init.rows_mut(l * hd, hd).copy_from(dh);
        }
        for (d, &y) in d_init.as_mut_slice().iter_mut().zip(c.init.as_slice()) {
            *d *= F::one() - y * y;
        }
        let d_summary = self.bridge.backward(&d_init)?;
        for (e, &n) in lens.iter().enumerate() {
            for i in 0..h {
                d_memory[(i, (n - 1) * b + e)] += d_summary[(i, e)];
            }
            if cfg.bidirectional {
                for i in h..2 * h {
                    d_memory[(i, e)] += d_summary[(i, e)];
                }
            }
        }
        // encoder, top layer first
        let mut d_out = d_memory;
        let mut rev = Mat::zeros(0, 0);
        for l in (0..cfg.layers).rev() {
            let dirs = &mut self.encoder[l];
            if cfg.bidirectional {
                let mut d_fw = Mat::zeros(h, s * b);
                let mut d_bw = Mat::zeros(h, s * b);
                for ((src, f), r) in d_out
                    .as_slice()
                    .chunks_exact(2 * h)
                    .zip(d_fw.as_mut_slice().chunks_exact_mut(h))
                    .zip(d_bw.as_mut_slice().chunks_exact_mut(h))
                {
                    f.copy_from_slice(&src[..h]);
                    r.copy_from_slice(&src[h..]);
                }
                dirs[0].backward(Some(&d_fw), None, true)?;
                reverse_into(&d_bw, lens, &mut rev);
                dirs[1].backward(Some(&rev), None, true)?;
                let mut d_in = dirs[0].input_grad().clone();
                reverse_into(dirs[1].input_grad(), lens, &mut rev);
                d_in += &rev;
                d_out = d_in;
            } else {
                dirs[0].backward(Some(&d_out), None, true)?;
                d_out = dirs[0].input_grad().clone();
            }
        }
        self.src_embed.backward(&d_out)?;
        Ok(())
    }

    /// The mean masked cross-entropy of `batch` without gradients (runs the training forward).
    ///
    /// # Errors
    /// As [`Seq2Seq::forward`].
    pub fn loss(&mut self, batch: &Batch) -> Result<F> {
        self.forward(batch)
    }

    /// Scheduled sampling (Bengio et al. 2015) in its parallel form (Duckworth et al. 2019):
    /// a first teacher-forced pass predicts every target position; each decoder input after
    /// [`BOS`] is then replaced, with probability `p`, by the model's prediction of that token.
    /// The second pass (the one trained) reads the mixed inputs.
    fn sample_inputs(&mut self, batch: &mut Batch, p: f64, rng: &mut StdRng) -> Result<()> {
        self.forward(batch)?;
        let v = self.cache.logits.nrows();
        let b = batch.batch;
        let preds: Vec<usize> = self
            .cache
            .logits
            .as_slice()
            .chunks_exact(v)
            .map(|z| {
                let mut best = 0;
                for (i, &x) in z.iter().enumerate() {
                    if x > z[best] {
                        best = i;
                    }
                }
                best
            })
            .collect();
        for t in 1..batch.tgt_steps {
            for e in 0..b {
                let i = t * b + e;
                if batch.dec_in[i] != PAD && rng.random_bool(p) {
                    batch.dec_in[i] = preds[(t - 1) * b + e];
                }
            }
        }
        Ok(())
    }
}

impl<F: Float> Parameters<F> for Seq2Seq<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child("src_embed", &mut self.src_embed, visit);
        visit_child("tgt_embed", &mut self.tgt_embed, visit);
        for (l, dirs) in self.encoder.iter_mut().enumerate() {
            for (k, r) in dirs.iter_mut().enumerate() {
                let name = format!("encoder.{l}.{}", if k == 0 { "forward" } else { "reverse" });
                visit_child(&name, r, visit);
            }
        }
        visit_child("bridge", &mut self.bridge, visit);
        visit_child("decoder", &mut self.decoder, visit);
        if let Some(q) = &mut self.att_query {
            visit_child("attention.query", q, visit);
        }
        if let Some(k) = &mut self.att_key {
            visit_child("attention.key", k, visit);
        }
        if let Some(v) = &mut self.att_v {
            visit("attention.v", v);
        }
        visit_child("combine", &mut self.combine, visit);
        visit_child("output", &mut self.output, visit);
    }
}

/// Trains through `optim::train::fit` on [`Pairs`]: each batch is padded to its longest source
/// and target, with teacher forcing (and scheduled sampling if the configuration asks).
impl<F: Float> Trainable<F> for Seq2Seq<F> {
    type Data = Pairs;

    fn examples(&self, data: &Pairs) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Pairs, what: &str) -> Result<()> {
        self.check_pairs(data, what)
    }

    fn train_batch(&mut self, data: &Pairs, idx: &[usize], rng: &mut StdRng) -> Result<BatchLoss> {
        let mut batch = Batch::new(data, idx)?;
        let p = self.config.sampling;
        if p > 0.0 {
            self.sample_inputs(&mut batch, p, rng)?;
        }
        let loss = self.forward(&batch)?;
        self.backward(&batch)?;
        // the loss is a mean over the batch's target tokens: data-parallel shards of unequal
        // lengths are averaged by their token counts
        Ok(BatchLoss::new(loss).weight(self.cache.tokens as f64))
    }

    fn evaluate(&self, data: &Pairs) -> Result<Evaluation> {
        let mut model = self.clone();
        let idx: Vec<usize> = (0..data.len()).collect();
        let (mut sum, mut tokens) = (0.0, 0usize);
        for chunk in idx.chunks(256) {
            let batch = Batch::new(data, chunk)?;
            let l = model.forward(&batch)?.to_f64();
            sum += l * model.cache.tokens as f64;
            tokens += model.cache.tokens;
        }
        Ok(Evaluation {
            loss: sum / tokens.max(1) as f64,
            accuracy: None,
        })
    }
}

/// Checkpoints through `optim::checkpoint::{save_model, load_model}`: the [`Seq2SeqConfig`]
/// (vocabulary included) as one JSON entry, the parameters by name.
impl<F: Float> optim::checkpoint::Saveable<F> for Seq2Seq<F> {
    const KIND: &'static str = "seq2seq";
    type Config = Seq2SeqConfig;

    fn config(&self) -> Seq2SeqConfig {
        self.config.clone()
    }

    fn parameter_count(config: &Seq2SeqConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &Seq2SeqConfig) -> Result<Self> {
        Seq2Seq::new(config.clone(), &mut optim::rng(0))
    }
}
