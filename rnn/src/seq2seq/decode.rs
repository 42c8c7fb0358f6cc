//! Greedy and beam-search decoding, and the test metrics (exact-sequence accuracy, character
//! error rate).

use super::attention::{self, AttentionKind, Memory};
use super::model::Seq2Seq;
use super::vocab::{BOS, EOS, PAD, Pairs, edit_distance};
use crate::rnn::RnnState;
use optim::{Error, Float, Mat, Result};

/// Decoding settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// Beam width (1 = greedy search's sequence, unless [`DecodeOptions::keep_greedy`]
    /// finds nothing better anyway).
    pub beam: usize,
    /// Length normalization exponent `α`: hypotheses are compared by `log p(y) / |y|^α`
    /// (`|y|` counts the end token; 0 = raw log-probability).
    pub length_penalty: f64,
    /// Longest output, in characters (the end token comes on top); `None`: the model's
    /// `max_len`.
    pub max_len: Option<usize>,
    /// Keep the greedy hypothesis among the beam's final candidates, so the beam's best never
    /// scores below greedy's (plain beam search can prune the greedy path). Default: true.
    pub keep_greedy: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            beam: 1,
            length_penalty: 0.0,
            max_len: None,
            keep_greedy: true,
        }
    }
}

impl DecodeOptions {
    /// Beam search of width `k`.
    pub fn beam(k: usize) -> Self {
        DecodeOptions {
            beam: k,
            ..Default::default()
        }
    }
}

/// One decoded output.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Output ids, without the end token.
    pub tokens: Vec<usize>,
    /// Whether the output ended (always, for a returned hypothesis).
    pub finished: bool,
    /// Whether the length limit forced the end token (it is scored all the same).
    pub truncated: bool,
    /// `log p(y | x)`, summed over the output tokens and the end token.
    pub log_prob: f64,
    /// Attention weights of every output step (the end token's included), each over the
    /// source positions; empty without attention.
    pub attention: Vec<Vec<f64>>,
}

impl Hypothesis {
    /// `log p / |y|^α` with `|y|` the number of scored steps (the end token included).
    pub fn score(&self, length_penalty: f64) -> f64 {
        let n = self.tokens.len() + 1;
        self.log_prob / (n.max(1) as f64).powf(length_penalty)
    }
}

/// The encoder's result for inference: per example its memory and keys, and the decoder's
/// initial state.
struct Encoded<F: Float> {
    mem: Vec<Mat<F>>,
    keys: Vec<Mat<F>>,
    lens: Vec<usize>,
    init: RnnState<F>,
}

impl<F: Float> Seq2Seq<F> {
    fn encode(&self, sources: &[&[usize]]) -> Result<Encoded<F>> {
        let cfg = self.config();
        let b = sources.len();
        let v = cfg.vocab.len();
        for (i, s) in sources.iter().enumerate() {
            if s.is_empty() {
                return Err(Error::Data(format!("source {i}: empty")));
            }
            if let Some(&bad) = s.iter().find(|&&id| id >= v) {
                return Err(Error::Data(format!(
                    "source {i}: id {bad} outside the vocabulary"
                )));
            }
        }
        let lens: Vec<usize> = sources.iter().map(|s| s.len()).collect();
        let steps = *lens
            .iter()
            .max()
            .ok_or_else(|| Error::Data("no sources".into()))?;
        let mut ids = vec![PAD; steps * b];
        for (c, s) in sources.iter().enumerate() {
            for (j, &id) in s.iter().enumerate() {
                ids[j * b + c] = id;
            }
        }
        let x = self.src_embed.predict(&ids)?;
        let memory = super::model::encode_layers(
            x,
            &lens,
            cfg.layers,
            cfg.bidirectional,
            cfg.hidden,
            |l, k, seq| Ok(self.encoder[l][k].predict(&seq, None)?.0),
        )?;
        let summary = super::model::summarize(&memory, &lens, cfg.hidden, cfg.bidirectional);
        let mut init = self.bridge.predict(&summary)?;
        for x in init.as_mut_slice() {
            *x = x.tanh();
        }
        let keys_all = match &self.att_key {
            Some(k) => Some(k.predict(&memory)?),
            None => None,
        };
        let mut mem = Vec::with_capacity(b);
        let mut keys = Vec::with_capacity(b);
        for c in 0..b {
            let mut m = Mat::zeros(0, 0);
            super::model::gather(&memory, c, b, steps, &mut m);
            mem.push(m);
            let mut k = Mat::zeros(0, 0);
            if let Some(ka) = &keys_all {
                super::model::gather(ka, c, b, steps, &mut k);
            }
            keys.push(k);
        }
        Ok(Encoded {
            mem,
            keys,
            lens,
            init: super::model::initial_state(&init, cfg),
        })
    }

    /// One decoder step for `tokens` (one column each, column `n` attending to the memory of
    /// example `owner[n]`): updates `state`, returns log-probabilities `V x N` and the
    /// attention weights of each column.
    fn decode_step(
        &self,
        enc: &Encoded<F>,
        owner: &[usize],
        tokens: &[usize],
        state: &mut RnnState<F>,
    ) -> Result<(Mat<F>, Vec<Vec<f64>>)> {
        let cfg = self.config();
        let n = tokens.len();
        let x = self.tgt_embed.predict(tokens)?;
        let st = self.decoder.step(&x, state)?;
        let kind = cfg.attention;
        let mut alphas = Vec::new();
        let cat = if kind == AttentionKind::None {
            st
        } else {
            let q = match &self.att_query {
                Some(l) => l.predict(&st)?,
                None => st.clone(),
            };
            let (m, hd) = (cfg.memory_width(), cfg.decoder_hidden);
            let mut cat = Mat::zeros(m + hd, n);
            let (mut alpha, mut ctx, mut tau) = (Mat::zeros(0, 0), Mat::zeros(0, 0), Vec::new());
            let v = self.att_v.as_ref().map(|p| &p.value);
            for col in 0..n {
                let e = owner[col];
                let qc = q.columns(col, 1).into_owned();
                let mem = Memory {
                    mem: &enc.mem[e],
                    keys: &enc.keys[e],
                    len: enc.lens[e],
                };
                attention::forward(kind, mem, v, &qc, &mut alpha, &mut ctx, &mut tau);
                cat.view_mut((0, col), (m, 1)).copy_from(&ctx);
                cat.view_mut((m, col), (hd, 1)).copy_from(&st.column(col));
                alphas.push(
                    alpha.as_slice()[..enc.lens[e]]
                        .iter()
                        .map(|a| a.to_f64())
                        .collect(),
                );
            }
            cat
        };
        let mut o = self.combine.predict(&cat)?;
        for x in o.as_mut_slice() {
            *x = x.tanh();
        }
        let mut logits = self.output.predict(&o)?;
        let v = logits.nrows();
        for z in logits.as_mut_slice().chunks_exact_mut(v) {
            // the decoder never emits padding or the begin token
            z[PAD] = F::of(f64::NEG_INFINITY);
            z[BOS] = F::of(f64::NEG_INFINITY);
            let lse = optim::scalar::logsumexp(z);
            for x in z.iter_mut() {
                *x -= lse;
            }
        }
        Ok((logits, alphas))
    }

    fn limit(&self, opts: &DecodeOptions) -> usize {
        opts.max_len.unwrap_or(self.config().max_len)
    }

    /// Greedy decoding of every source (batched): at each step the most probable token, until
    /// the end token or `max_len` characters.
    ///
    /// # Errors
    /// Empty sources, ids outside the vocabulary.
    pub fn greedy(&self, sources: &[&[usize]], opts: &DecodeOptions) -> Result<Vec<Hypothesis>> {
        let mut out = Vec::with_capacity(sources.len());
        for chunk in sources.chunks(256) {
            out.extend(self.greedy_chunk(chunk, self.limit(opts))?);
        }
        Ok(out)
    }

    fn greedy_chunk(&self, sources: &[&[usize]], limit: usize) -> Result<Vec<Hypothesis>> {
        let enc = self.encode(sources)?;
        let b = sources.len();
        let mut state = enc.init.clone();
        let owner: Vec<usize> = (0..b).collect();
        let mut tokens = vec![BOS; b];
        let mut hyps: Vec<Hypothesis> = (0..b)
            .map(|_| Hypothesis {
                tokens: Vec::new(),
                finished: false,
                truncated: false,
                log_prob: 0.0,
                attention: Vec::new(),
            })
            .collect();
        for _ in 0..=limit {
            if hyps.iter().all(|h| h.finished) {
                break;
            }
            let (lp, alphas) = self.decode_step(&enc, &owner, &tokens, &mut state)?;
            let v = lp.nrows();
            for (c, h) in hyps.iter_mut().enumerate() {
                if h.finished {
                    continue;
                }
                let z = &lp.as_slice()[c * v..(c + 1) * v];
                // at the length limit the end token is forced (and scored)
                let best = if h.tokens.len() == limit {
                    h.truncated = true;
                    EOS
                } else {
                    let mut best = 0;
                    for (i, &x) in z.iter().enumerate() {
                        if x > z[best] {
                            best = i;
                        }
                    }
                    best
                };
                h.log_prob += z[best].to_f64();
                if let Some(a) = alphas.get(c) {
                    h.attention.push(a.clone());
                }
                if best == EOS {
                    h.finished = true;
                } else {
                    h.tokens.push(best);
                }
                tokens[c] = best;
            }
        }
        Ok(hyps)
    }

    /// Beam search (width `opts.beam`) of each source: keeps the `k` most probable partial
    /// outputs; a hypothesis ends at the end token or at `max_len` characters; stops when `k`
    /// have ended; returns the best by [`Hypothesis::score`].
    ///
    /// # Errors
    /// Width 0; as [`Seq2Seq::greedy`].
    pub fn beam_search(
        &self,
        sources: &[&[usize]],
        opts: &DecodeOptions,
    ) -> Result<Vec<Hypothesis>> {
        if opts.beam == 0 {
            return Err(Error::hyper("beam", 0, "must be at least 1"));
        }
        let greedy = if opts.keep_greedy {
            Some(self.greedy(sources, opts)?)
        } else {
            None
        };
        let mut out = Vec::with_capacity(sources.len());
        for (i, s) in sources.iter().enumerate() {
            let mut best = self.beam_one(s, opts)?;
            if let Some(g) = &greedy
                && g[i].score(opts.length_penalty) > best.score(opts.length_penalty)
            {
                best = g[i].clone();
            }
            out.push(best);
        }
        Ok(out)
    }

    fn beam_one(&self, source: &[usize], opts: &DecodeOptions) -> Result<Hypothesis> {
        let k = opts.beam;
        let limit = self.limit(opts);
        let enc = self.encode(&[source])?;
        let mut state = enc.init.clone();
        let mut live = vec![Hypothesis {
            tokens: Vec::new(),
            finished: false,
            truncated: false,
            log_prob: 0.0,
            attention: Vec::new(),
        }];
        let mut done: Vec<Hypothesis> = Vec::new();
        for step in 0..=limit {
            let owner = vec![0; live.len()];
            let tokens: Vec<usize> = live
                .iter()
                .map(|h| h.tokens.last().copied().unwrap_or(BOS))
                .collect();
            let (lp, alphas) = self.decode_step(&enc, &owner, &tokens, &mut state)?;
            let v = lp.nrows();
            // candidates (total log-probability, hypothesis, token), best first; ties keep the
            // lower hypothesis and token index (as greedy's arg-max keeps the first)
            let mut cand: Vec<(f64, usize, usize)> = Vec::with_capacity(live.len() * v);
            for (i, h) in live.iter().enumerate() {
                let z = &lp.as_slice()[i * v..(i + 1) * v];
                for (w, &x) in z.iter().enumerate() {
                    let x = x.to_f64();
                    if x == f64::NEG_INFINITY || (step == limit && w != EOS) {
                        continue;
                    }
                    cand.push((h.log_prob + x, i, w));
                }
            }
            cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut next = Vec::with_capacity(k);
            let mut keep = Vec::with_capacity(k);
            for &(score, i, w) in cand.iter().take(k) {
                let mut h = live[i].clone();
                h.log_prob = score;
                if let Some(a) = alphas.get(i) {
                    h.attention.push(a.clone());
                }
                if w == EOS {
                    h.finished = true;
                    h.truncated = step == limit;
                    done.push(h);
                } else {
                    h.tokens.push(w);
                    next.push(h);
                    keep.push(i);
                }
            }
            if done.len() >= k || next.is_empty() {
                break;
            }
            // the states of the surviving hypotheses' parents
            for m in state.h.iter_mut().chain(state.c.iter_mut()) {
                *m = m.select_columns(&keep);
            }
            live = next;
        }
        let alpha = opts.length_penalty;
        done.into_iter()
            .reduce(|a, b| {
                if b.score(alpha) > a.score(alpha) {
                    b
                } else {
                    a
                }
            })
            .ok_or_else(|| Error::Data("beam search ended without a hypothesis".into()))
    }

    /// Decodes every source with greedy search (`opts.beam == 1`) or beam search.
    ///
    /// # Errors
    /// As [`Seq2Seq::beam_search`].
    pub fn decode(&self, sources: &[&[usize]], opts: &DecodeOptions) -> Result<Vec<Hypothesis>> {
        if opts.beam <= 1 && opts.keep_greedy {
            self.greedy(sources, opts)
        } else {
            self.beam_search(sources, opts)
        }
    }

    /// Decodes the sources of `data` and compares with its targets.
    ///
    /// # Errors
    /// As [`Seq2Seq::decode`].
    pub fn evaluate_decoding(&self, data: &Pairs, opts: &DecodeOptions) -> Result<DecodeMetrics> {
        let sources: Vec<&[usize]> = data.sources.iter().map(|s| s.as_slice()).collect();
        let hyps = self.decode(&sources, opts)?;
        let mut exact = 0;
        let (mut edits, mut chars) = (0usize, 0usize);
        for (h, t) in hyps.iter().zip(&data.targets) {
            exact += usize::from(h.tokens == *t);
            edits += edit_distance(&h.tokens, t);
            chars += t.len();
        }
        Ok(DecodeMetrics {
            exact_accuracy: exact as f64 / data.len().max(1) as f64,
            cer: edits as f64 / chars.max(1) as f64,
            examples: data.len(),
            unknown: data.unknown,
        })
    }
}

/// Test metrics of a decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeMetrics {
    /// Fraction of outputs equal to their target.
    pub exact_accuracy: f64,
    /// Character error rate: total edit distance over total target length.
    pub cer: f64,
    /// Pairs decoded.
    pub examples: usize,
    /// Characters of the data mapped to the unknown token (unseen when the vocabulary was built).
    pub unknown: usize,
}
