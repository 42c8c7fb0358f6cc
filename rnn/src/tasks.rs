//! Task generators: the adding problem, the copy task, character-level language modelling, and
//! the yearly-sunspots series with its linear AR baseline.

use crate::model::{Input, SeqModel};
use crate::rnn::RnnState;
use crate::seq::Seq;
use optim::data::CharVocab;
use optim::{Error, Float, Mat, Result};
use rand::Rng;

/// The adding problem (Hochreiter & Schmidhuber 1997; the form of Le et al. 2015): each step
/// carries a value `u ~ U(0, 1)` and a marker; exactly two markers are 1, one in each half of the
/// sequence; the target is the sum of the two marked values. Predicting the mean (1) scores
/// MSE `Var(u₁ + u₂) = 1/6`, the baseline a network must beat by *remembering* over up to `T`
/// steps.
///
/// # Shapes
/// Returns inputs `2 x (T·B)` (row 0 value, row 1 marker) and targets `1 x B`.
///
/// # Errors
/// `steps < 2` or `batch == 0`.
pub fn adding_problem<F: Float>(
    steps: usize,
    batch: usize,
    rng: &mut impl Rng,
) -> Result<(Seq<F>, Mat<F>)> {
    if steps < 2 {
        return Err(Error::hyper(
            "steps",
            steps,
            "the adding problem needs at least 2 steps",
        ));
    }
    let mut x = Mat::zeros(2, steps * batch);
    let mut y = Mat::zeros(1, batch);
    let half = steps / 2;
    for b in 0..batch {
        for t in 0..steps {
            x[(0, t * batch + b)] = F::of(rng.random::<f64>());
        }
        let i = rng.random_range(0..half);
        let j = rng.random_range(half..steps);
        x[(1, i * batch + b)] = F::one();
        x[(1, j * batch + b)] = F::one();
        y[(0, b)] = x[(0, i * batch + b)] + x[(0, j * batch + b)];
    }
    Ok((Seq::new(x, steps, batch)?, y))
}

/// The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): `length` symbols from an
/// alphabet of `symbols`, then `delay − 1` blanks and a delimiter, then `length` blanks during
/// which the network must output the symbols it saw. Classes: `0..symbols` the symbols,
/// `symbols` the blank, `symbols + 1` the delimiter. A network that outputs blanks and then
/// guesses uniformly scores cross-entropy `length · ln(symbols) / (2·length + delay)` nats per
/// step, the memoryless baseline.
///
/// # Shapes
/// Returns one-hot inputs `(symbols + 2) x (T·B)` with `T = 2·length + delay`, and a target
/// class per step and sequence, time-major (`T·B`).
///
/// # Errors
/// Zero symbols, length or delay.
pub fn copy_task<F: Float>(
    symbols: usize,
    length: usize,
    delay: usize,
    batch: usize,
    rng: &mut impl Rng,
) -> Result<(Seq<F>, Vec<usize>)> {
    if symbols == 0 || length == 0 || delay == 0 || batch == 0 {
        return Err(Error::Data(
            "copy_task: symbols, length, delay and batch must be positive".into(),
        ));
    }
    let steps = 2 * length + delay;
    let (blank, delim) = (symbols, symbols + 1);
    let mut x = Mat::zeros(symbols + 2, steps * batch);
    let mut targets = vec![blank; steps * batch];
    for b in 0..batch {
        for t in 0..steps {
            let input = if t < length {
                let s = rng.random_range(0..symbols);
                targets[(length + delay + t) * batch + b] = s;
                s
            } else if t == length + delay - 1 {
                delim
            } else {
                blank
            };
            x[(input, t * batch + b)] = F::one();
        }
    }
    Ok((Seq::new(x, steps, batch)?, targets))
}

/// The memoryless baseline of [`copy_task`], in nats per step.
pub fn copy_baseline(symbols: usize, length: usize, delay: usize) -> f64 {
    length as f64 * (symbols as f64).ln() / (2 * length + delay) as f64
}

/// A character corpus for language modelling: the vocabulary and the text as ids, split into a
/// training part (the first `1 − valid_fraction`) and a validation part (the rest), in order.
#[derive(Debug, Clone)]
pub struct CharCorpus {
    /// The characters of the whole text.
    pub vocab: CharVocab,
    /// Training ids.
    pub train: Vec<usize>,
    /// Validation ids.
    pub valid: Vec<usize>,
}

impl CharCorpus {
    /// Encodes `text` and splits it.
    ///
    /// # Errors
    /// Text too short, a fraction outside `(0, 1)`.
    pub fn new(text: &str, valid_fraction: f64) -> Result<Self> {
        optim::check_range("valid_fraction", valid_fraction, 1e-9, 1.0 - 1e-9)?;
        let vocab = CharVocab::from_text(text);
        let ids = vocab.encode(text)?;
        let split = ((1.0 - valid_fraction) * ids.len() as f64).round() as usize;
        if split < 2 || ids.len() - split < 2 {
            return Err(Error::Data(format!(
                "CharCorpus: text of {} characters is too short",
                ids.len()
            )));
        }
        Ok(CharCorpus {
            vocab,
            train: ids[..split].to_vec(),
            valid: ids[split..].to_vec(),
        })
    }

    /// A 64-bit fingerprint of the corpus — FNV-1a over the vocabulary's characters and the
    /// training and validation ids — that a training-state file stores so that a run continues
    /// on its own text only (not a cryptographic hash: it catches another file, not an attack).
    pub fn fingerprint(&self) -> u64 {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(PRIME);
            }
        };
        for i in 0..self.vocab.len() {
            eat(self.vocab.char_of(i).map_or(u64::MAX, u64::from));
        }
        for part in [&self.train, &self.valid] {
            eat(part.len() as u64);
            for &id in part.iter() {
                eat(id as u64);
            }
        }
        h
    }
}

/// Contiguous streams for stateful truncated BPTT: the ids are cut into `batch` equal streams;
/// chunk `k` holds steps `k·steps .. (k+1)·steps` of every stream, so the final state of chunk
/// `k` is the right initial state of chunk `k + 1`.
#[derive(Debug, Clone)]
pub struct Streams {
    streams: Vec<Vec<usize>>,
    /// Steps per chunk.
    pub steps: usize,
}

impl Streams {
    /// Cuts `ids` into `batch` streams of equal length.
    ///
    /// # Errors
    /// Fewer than `steps + 1` ids per stream.
    pub fn new(ids: &[usize], batch: usize, steps: usize) -> Result<Self> {
        if batch == 0 || steps == 0 {
            return Err(Error::Data(
                "Streams: batch and steps must be positive".into(),
            ));
        }
        let len = ids.len() / batch;
        if len < steps + 1 {
            return Err(Error::Data(format!(
                "a text of {} tokens cut into {batch} streams gives {len} per stream, fewer than \
                 one chunk of {steps} steps plus the next token ({}): the text is too short for \
                 this batch and chunk length (it needs at least {} tokens)",
                ids.len(),
                steps + 1,
                batch * (steps + 1)
            )));
        }
        Ok(Streams {
            streams: (0..batch)
                .map(|b| ids[b * len..(b + 1) * len].to_vec())
                .collect(),
            steps,
        })
    }

    /// Number of sequences per batch.
    pub fn batch(&self) -> usize {
        self.streams.len()
    }

    /// Number of whole chunks.
    pub fn chunks(&self) -> usize {
        (self.streams[0].len() - 1) / self.steps
    }

    /// Chunk `k`: inputs and next-character targets, time-major (`T·B` each).
    pub fn chunk(&self, k: usize, inputs: &mut Vec<usize>, targets: &mut Vec<usize>) {
        inputs.clear();
        targets.clear();
        for t in 0..self.steps {
            for s in &self.streams {
                let i = k * self.steps + t;
                inputs.push(s[i]);
                targets.push(s[i + 1]);
            }
        }
    }
}

/// Mean cross-entropy in nats per character of a token model on `ids`, read as `batch`
/// contiguous streams with the state carried across chunks of `steps` (no cache, no gradients).
/// Every id after the first of each stream is predicted once (the last `len mod batch` ids,
/// which do not fill a stream, are left out).
///
/// # Errors
/// Ids shorter than one chunk, a model that does not take tokens.
pub fn evaluate_nats<F: Float>(
    model: &SeqModel<F>,
    ids: &[usize],
    batch: usize,
    steps: usize,
) -> Result<f64> {
    let streams = Streams::new(ids, batch, steps)?;
    let mut state: Option<RnnState<F>> = None;
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    let (mut total, mut count) = (0.0, 0usize);
    let len = streams.streams[0].len();
    let mut k = 0;
    loop {
        let start = k * steps;
        if start + 1 >= len {
            break;
        }
        let n = steps.min(len - 1 - start);
        inputs.clear();
        targets.clear();
        for t in 0..n {
            for s in &streams.streams {
                inputs.push(s[start + t]);
                targets.push(s[start + t + 1]);
            }
        }
        let (logits, fin) = model.predict(
            Input::Tokens {
                ids: &inputs,
                steps: n,
                batch,
            },
            state.as_ref(),
        )?;
        let (l, _) = optim::loss::softmax_cross_entropy(&logits, &targets, 0.0)?;
        total += l.to_f64() * targets.len() as f64;
        count += targets.len();
        state = Some(fin);
        k += 1;
    }
    Ok(total / count as f64)
}

/// Samples `length` characters from a character model after feeding `prime`, drawing each from
/// `softmax(logits / temperature)`: low temperatures approach the arg-max, `1` samples the model's
/// distribution, high temperatures approach uniform.
///
/// # Errors
/// Empty prime, characters outside the vocabulary, a non-positive temperature.
pub fn sample_text<F: Float>(
    model: &SeqModel<F>,
    vocab: &CharVocab,
    prime: &str,
    length: usize,
    temperature: f64,
    rng: &mut impl Rng,
) -> Result<String> {
    optim::check_positive("temperature", temperature)?;
    let ids = vocab.encode(prime)?;
    if ids.is_empty() {
        return Err(Error::Data("sample_text: empty prime".into()));
    }
    let mut state = RnnState::zeros(model.rnn.config(), 1);
    let mut logits = Mat::zeros(0, 0);
    for &id in &ids {
        logits = model.step_tokens(&[id], &mut state)?;
    }
    let mut out = Vec::with_capacity(length);
    for _ in 0..length {
        let id = sample_logits(logits.as_slice(), temperature, rng);
        out.push(id);
        logits = model.step_tokens(&[id], &mut state)?;
    }
    Ok(vocab.decode(&out))
}

/// Draws an index from `softmax(logits / temperature)`.
pub fn sample_logits<F: Float>(logits: &[F], temperature: f64, rng: &mut impl Rng) -> usize {
    let scaled: Vec<f64> = logits.iter().map(|v| v.to_f64() / temperature).collect();
    let m = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p: Vec<f64> = scaled.iter().map(|v| (v - m).exp()).collect();
    let total: f64 = p.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, &w) in p.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    p.len() - 1
}

/// Sliding windows of a series for one-step-ahead prediction: for each target index `i` in
/// `targets`, the input is the `lags` values before it (oldest first) as a sequence of `lags`
/// one-dimensional steps, the target is `series[i]`.
///
/// # Shapes
/// Returns inputs `1 x (lags·N)` and targets `1 x N`.
///
/// # Errors
/// A target index with fewer than `lags` values before it, or no targets.
pub fn lag_windows<F: Float>(
    series: &[F],
    lags: usize,
    targets: std::ops::Range<usize>,
) -> Result<(Seq<F>, Mat<F>)> {
    if targets.start < lags || targets.end > series.len() || targets.is_empty() || lags == 0 {
        return Err(Error::Data(format!(
            "lag_windows: targets {targets:?} need {lags} earlier values within a series of {}",
            series.len()
        )));
    }
    let n = targets.len();
    let mut x = Mat::zeros(1, lags * n);
    let mut y = Mat::zeros(1, n);
    for (b, i) in targets.enumerate() {
        for t in 0..lags {
            x[(0, t * n + b)] = series[i - lags + t];
        }
        y[(0, b)] = series[i];
    }
    Ok((Seq::new(x, lags, n)?, y))
}

/// A linear autoregressive model `x̂_i = a_0 + Σ_{k=1..p} a_k x_{i−k}` fitted by least squares.
#[derive(Debug, Clone, PartialEq)]
pub struct ArModel {
    /// `[a_0, a_1, …, a_p]`.
    pub coefficients: Vec<f64>,
}

impl ArModel {
    /// Fits AR(`order`) on the targets `fit` (indices into `series`) by least squares (normal
    /// equations solved by Cholesky; the AR baseline of the sunspots literature).
    ///
    /// # Errors
    /// Too few targets, a singular system.
    pub fn fit(series: &[f64], order: usize, fit: std::ops::Range<usize>) -> Result<Self> {
        if fit.start < order || fit.end > series.len() || fit.len() <= order + 1 {
            return Err(Error::Data(format!(
                "ArModel::fit: targets {fit:?} do not allow an AR({order}) fit on a series of {}",
                series.len()
            )));
        }
        let p = order + 1;
        let a = Mat::<f64>::from_fn(fit.len(), p, |r, c| {
            if c == 0 {
                1.0
            } else {
                series[fit.start + r - c]
            }
        });
        let b = nalgebra::DVector::from_fn(fit.len(), |r, _| series[fit.start + r]);
        let ata = a.transpose() * &a;
        let atb = a.transpose() * b;
        let chol = ata.cholesky().ok_or_else(|| Error::Numerical {
            context: "ArModel::fit".into(),
            reason: "normal equations are singular".into(),
        })?;
        Ok(ArModel {
            coefficients: chol.solve(&atb).iter().copied().collect(),
        })
    }

    /// The one-step prediction of `series[i]` from the values before it.
    pub fn predict(&self, series: &[f64], i: usize) -> f64 {
        let mut v = self.coefficients[0];
        for (k, a) in self.coefficients.iter().enumerate().skip(1) {
            v += a * series[i - k];
        }
        v
    }
}

/// Average relative variance (Weigend et al. 1990): `ARV = MSE / σ²`, with `σ²` the variance of
/// a reference span of the series (for sunspots, 1700–1979). `1` is what predicting the mean
/// scores.
pub fn arv(predictions: &[f64], targets: &[f64], variance: f64) -> f64 {
    let mse = predictions
        .iter()
        .zip(targets)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / targets.len().max(1) as f64;
    mse / variance
}

/// Population variance.
pub fn variance(values: &[f64]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}
