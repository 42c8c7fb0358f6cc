//! Generation: a language model writes by predicting the next token, drawing it, appending it
//! and repeating (autoregressive sampling).
//!
//! **Decoding rules** ([`Sampling`]), applied to the logits `z` of the next token:
//!
//! ```text
//! greedy:       argmax_k z_k
//! temperature:  p = softmax(z / τ)            τ < 1 sharpens, τ > 1 flattens
//! top-k:        keep the k most probable tokens, renormalize (Fan et al. 2018)
//! top-p:        keep the smallest set of most probable tokens whose mass is ≥ p (Holtzman et al. 2020)
//! ```
//!
//! **The KV cache.** Under the causal mask the keys and values of positions `< t` do not depend
//! on anything at or after `t`, so they can be kept instead of recomputed: each new token
//! projects one query, key and value per layer and attends over the cached keys — one new row
//! of attention, `O(t·d)` per layer instead of the `O(t²·d + t·d²)` of running the model over the
//! whole prefix again ([`Gpt::generate`] versus [`Gpt::generate_uncached`], which a test shows
//! agree).
//!
//! **Longer than the context.** A model with learned positions knows only positions
//! `< T_max`. When the text outgrows the window, both generators restart the window at the
//! last `⌈T_max/2⌉` tokens (the cached one re-encodes them once), so the model always reads a
//! window it was trained on and the two generators read the same windows.
//!
//! ```
//! use transformer::{Gpt, GptConfig, Sampling};
//! let model = Gpt::<f64>::new(&GptConfig::new(6, 8).with_width(8).with_heads(2), &mut optim::rng(1))?;
//! let mut rng = optim::rng(2);
//! let cached = model.generate(&[0, 1], 10, &Sampling::Greedy, &mut rng)?;
//! let full = model.generate_uncached(&[0, 1], 10, &Sampling::Greedy, &mut rng)?;
//! assert_eq!(cached.tokens, full.tokens);    // 10 tokens, past the context of 8
//! assert_eq!(cached.tokens.len(), 10);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::attention::{KvCache, SeqShape};
use crate::gpt::{Gpt, check_vocab};
use optim::{Error, Float, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How the next token is chosen from the model's logits (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// The most probable token (ties to the lowest id).
    Greedy,
    /// A draw from `softmax(z/τ)`, optionally restricted to the top `k` tokens and then to the
    /// nucleus of mass `p`.
    Sample {
        /// Temperature `τ > 0`.
        temperature: f64,
        /// Keep only the `k ≥ 1` most probable tokens.
        top_k: Option<usize>,
        /// Keep only the smallest most-probable set with mass `≥ p`, `p ∈ (0, 1]`.
        top_p: Option<f64>,
    },
}

impl Sampling {
    /// Sampling at temperature `τ` from the whole distribution.
    pub fn temperature(temperature: f64) -> Self {
        Sampling::Sample {
            temperature,
            top_k: None,
            top_p: None,
        }
    }

    /// Restricts sampling to the `k` most probable tokens (greedy stays greedy).
    pub fn with_top_k(self, k: usize) -> Self {
        match self {
            Sampling::Sample {
                temperature, top_p, ..
            } => Sampling::Sample {
                temperature,
                top_k: Some(k),
                top_p,
            },
            greedy => greedy,
        }
    }

    /// Restricts sampling to the nucleus of mass `p` (greedy stays greedy).
    pub fn with_top_p(self, p: f64) -> Self {
        match self {
            Sampling::Sample {
                temperature, top_k, ..
            } => Sampling::Sample {
                temperature,
                top_k,
                top_p: Some(p),
            },
            greedy => greedy,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A temperature that is not positive and finite, `k = 0`, or `p` outside `(0, 1]`.
    pub fn validate(&self) -> Result<()> {
        if let Sampling::Sample {
            temperature,
            top_k,
            top_p,
        } = *self
        {
            optim::check_positive("temperature", temperature)?;
            if top_k == Some(0) {
                return Err(Error::hyper("top_k", 0, "must be at least 1"));
            }
            if let Some(p) = top_p
                && !(p > 0.0 && p <= 1.0)
            {
                return Err(Error::hyper("top_p", p, "must lie in (0, 1]"));
            }
        }
        Ok(())
    }

    /// The next token for `logits`, drawing from `rng` (one uniform number per sampled token;
    /// greedy draws none).
    ///
    /// # Errors
    /// Invalid settings, no logits, or a non-finite logit.
    pub fn choose<F: Float>(&self, logits: &[F], rng: &mut impl Rng) -> Result<usize> {
        self.validate()?;
        if logits.is_empty() {
            return Err(Error::Data("sampling from an empty vocabulary".into()));
        }
        if let Some(i) = logits.iter().position(|z| !z.finite()) {
            return Err(Error::NonFinite {
                context: format!("logit of token {i}"),
            });
        }
        let z: Vec<f64> = logits.iter().map(|v| v.to_f64()).collect();
        let (temperature, top_k, top_p) = match *self {
            Sampling::Greedy => {
                let mut best = 0;
                for (i, &v) in z.iter().enumerate() {
                    if v > z[best] {
                        best = i;
                    }
                }
                return Ok(best);
            }
            Sampling::Sample {
                temperature,
                top_k,
                top_p,
            } => (temperature, top_k, top_p),
        };
        // most probable first; ties by id, so the order (and the draw) is reproducible
        let mut order: Vec<usize> = (0..z.len()).collect();
        order.sort_by(|&a, &b| z[b].total_cmp(&z[a]).then(a.cmp(&b)));
        let max = z[order[0]];
        let mut probs: Vec<f64> = order
            .iter()
            .map(|&i| ((z[i] - max) / temperature).exp())
            .collect();
        let mut keep = top_k.unwrap_or(probs.len()).min(probs.len());
        let total: f64 = probs[..keep].iter().sum();
        if let Some(p) = top_p {
            let mut mass = 0.0;
            for (n, q) in probs[..keep].iter().enumerate() {
                mass += q / total;
                if mass >= p {
                    keep = n + 1;
                    break;
                }
            }
        }
        probs.truncate(keep);
        let total: f64 = probs.iter().sum();
        let mut u = rng.random::<f64>() * total;
        for (n, &q) in probs.iter().enumerate() {
            if u < q {
                return Ok(order[n]);
            }
            u -= q;
        }
        Ok(order[keep - 1])
    }
}

/// What a generator produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation<F: Float> {
    /// The generated tokens (the prompt not included).
    pub tokens: Vec<usize>,
    /// The logits each generated token was chosen from, one `V`-vector per token.
    pub logits: Vec<Vec<F>>,
}

/// The first position of the window the model reads when the text has `len` tokens and the
/// window started at `start` (module docs: restart at the last `⌈T_max/2⌉` tokens).
fn window_start(len: usize, start: usize, context: usize) -> usize {
    if len - start > context {
        len - context.div_ceil(2).max(1)
    } else {
        start
    }
}

impl<F: Float> Gpt<F> {
    fn check_prompt(&self, prompt: &[usize], sampling: &Sampling) -> Result<()> {
        sampling.validate()?;
        if prompt.is_empty() {
            return Err(Error::Data(
                "generation needs a prompt of at least one token".into(),
            ));
        }
        check_vocab(prompt, self.config().vocab, "prompt")
    }

    /// Generates `n` tokens after `prompt` with a KV cache (module docs).
    ///
    /// # Errors
    /// An empty prompt, an id outside the vocabulary, invalid sampling settings.
    pub fn generate(
        &self,
        prompt: &[usize],
        n: usize,
        sampling: &Sampling,
        rng: &mut impl Rng,
    ) -> Result<Generation<F>> {
        self.check_prompt(prompt, sampling)?;
        let context = self.config().context;
        let mut caches: Vec<KvCache<F>> = (0..self.blocks.len())
            .map(|_| KvCache::new(self.config().width, context))
            .collect();
        let mut text = prompt.to_vec();
        let (mut start, mut fed) = (0, 0);
        let mut out = Generation {
            tokens: Vec::with_capacity(n),
            logits: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let s = window_start(text.len(), start, context);
            if s != start {
                start = s;
                fed = 0;
                caches.iter_mut().for_each(KvCache::clear);
            }
            let mut logits = Vec::new();
            while start + fed < text.len() {
                logits = self.step_logits(text[start + fed], &mut caches, fed)?;
                fed += 1;
            }
            let token = sampling.choose(&logits, rng)?;
            text.push(token);
            out.tokens.push(token);
            out.logits.push(logits);
        }
        Ok(out)
    }

    /// Generates `n` tokens after `prompt` by running the whole model over the window for every
    /// token (the reference the KV cache must agree with).
    ///
    /// # Errors
    /// As [`Gpt::generate`].
    pub fn generate_uncached(
        &self,
        prompt: &[usize],
        n: usize,
        sampling: &Sampling,
        rng: &mut impl Rng,
    ) -> Result<Generation<F>> {
        self.check_prompt(prompt, sampling)?;
        let context = self.config().context;
        let mut text = prompt.to_vec();
        let mut start = 0;
        let mut out = Generation {
            tokens: Vec::with_capacity(n),
            logits: Vec::with_capacity(n),
        };
        for _ in 0..n {
            start = window_start(text.len(), start, context);
            let window = &text[start..];
            let z = self.logits(window, SeqShape::new(window.len(), 1))?;
            let logits = z.column(window.len() - 1).as_slice().to_vec();
            let token = sampling.choose(&logits, rng)?;
            text.push(token);
            out.tokens.push(token);
            out.logits.push(logits);
        }
        Ok(out)
    }
}
