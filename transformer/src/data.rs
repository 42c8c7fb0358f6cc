//! Token data for a language model: a corpus as a sequence of token ids, cut into windows of
//! the context length. Window `i` is the input `tokens[s_i .. s_i + T]` and the target
//! `tokens[s_i + 1 .. s_i + T + 1]` (every position predicts the next token), so one window of
//! `T` positions gives `T` training examples of next-token prediction at once.
//!
//! The shared loop ([`optim::train::fit`]) counts and shuffles *windows*: [`TokenWindows::all`]
//! makes every offset a window (an epoch sees each token `T` times), [`TokenWindows::chunks`]
//! makes non-overlapping windows (each token predicted once: the validation loss in nats per
//! token), [`TokenWindows::random`] draws a fixed number of offsets (nanoGPT's `get_batch`, so
//! that `epochs · n / batch` is the number of steps).
//!
//! ```
//! use transformer::data::TokenWindows;
//! let windows = TokenWindows::chunks(vec![0, 1, 2, 3, 4, 5, 6], 3)?;
//! assert_eq!(windows.len(), 2);                    // offsets 0 and 3; 6 has no target after 3 more
//! assert_eq!(windows.window(1), (&[3, 4, 5][..], &[4, 5, 6][..]));
//! assert!(TokenWindows::all(vec![0, 1, 2], 3).is_err());   // too short for a context of 3
//! # Ok::<(), optim::Error>(())
//! ```

use optim::{Error, Result};
use rand::Rng;

/// A corpus of token ids and the offsets of its windows (module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenWindows {
    tokens: Vec<usize>,
    context: usize,
    starts: Vec<usize>,
}

impl TokenWindows {
    fn check(tokens: &[usize], context: usize) -> Result<usize> {
        if context == 0 {
            return Err(Error::hyper("context", 0, "must be at least 1"));
        }
        if tokens.is_empty() {
            return Err(Error::Data("empty corpus: no tokens".into()));
        }
        match tokens.len().checked_sub(context) {
            Some(last) if last >= 1 => Ok(last),
            _ => Err(Error::Data(format!(
                "corpus of {} token(s) is too short for a context of {context}: a window needs \
                 {} tokens (its input and the next token)",
                tokens.len(),
                context.saturating_add(1)
            ))),
        }
    }

    /// Windows at offsets `0, stride, 2·stride, …` (every window whose target fits).
    ///
    /// # Errors
    /// A zero context or stride, an empty corpus, or fewer than `context + 1` tokens.
    pub fn strided(tokens: Vec<usize>, context: usize, stride: usize) -> Result<Self> {
        let last = Self::check(&tokens, context)?;
        if stride == 0 {
            return Err(Error::hyper("stride", 0, "must be at least 1"));
        }
        let starts = (0..last).step_by(stride).collect();
        Ok(TokenWindows {
            tokens,
            context,
            starts,
        })
    }

    /// A window at every offset.
    ///
    /// # Errors
    /// As [`TokenWindows::strided`].
    pub fn all(tokens: Vec<usize>, context: usize) -> Result<Self> {
        Self::strided(tokens, context, 1)
    }

    /// Non-overlapping windows (stride = context): each token is predicted once.
    ///
    /// # Errors
    /// As [`TokenWindows::strided`].
    pub fn chunks(tokens: Vec<usize>, context: usize) -> Result<Self> {
        Self::strided(tokens, context, context)
    }

    /// `n` windows at offsets drawn uniformly from `rng`.
    ///
    /// # Errors
    /// As [`TokenWindows::strided`], or `n = 0`.
    pub fn random(
        tokens: Vec<usize>,
        context: usize,
        n: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let last = Self::check(&tokens, context)?;
        if n == 0 {
            return Err(Error::hyper("windows", 0, "must be at least 1"));
        }
        let starts = (0..n).map(|_| rng.random_range(0..last)).collect();
        Ok(TokenWindows {
            tokens,
            context,
            starts,
        })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are no windows (never, for a value built by the constructors).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The window length `T`.
    pub fn context(&self) -> usize {
        self.context
    }

    /// The whole corpus.
    pub fn tokens(&self) -> &[usize] {
        &self.tokens
    }

    /// Input and target of window `i`.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn window(&self, i: usize) -> (&[usize], &[usize]) {
        let s = self.starts[i];
        (
            &self.tokens[s..s + self.context],
            &self.tokens[s + 1..s + self.context + 1],
        )
    }
}

/// Splits a corpus into its first `1 − fraction` (training) and last `fraction` (validation),
/// in order, as nanoGPT does (a random split would put overlapping text on both sides).
///
/// # Errors
/// If `fraction` is not in `(0, 1)`.
pub fn split_tokens(tokens: &[usize], fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::hyper(
            "validation fraction",
            fraction,
            "must lie in (0, 1)",
        ));
    }
    let cut = ((tokens.len() as f64) * (1.0 - fraction)).round() as usize;
    Ok((tokens[..cut].to_vec(), tokens[cut..].to_vec()))
}

/// A generated text of `records` lines `w=r`, where `w` is a random word of `len` letters from
/// the first `letters` of `a…z` and `r` is `w` reversed: the letters of `w` are unpredictable,
/// the `=`, the reversal and the newline are determined by what came before. A model that has
/// learned reversal predicts all of those exactly; [`reversal_targets`] marks them.
///
/// ```
/// let text = transformer::data::reversal_text(2, 3, 4, &mut optim::rng(0));
/// let lines: Vec<&str> = text.lines().collect();
/// assert_eq!(lines.len(), 2);
/// let (w, r) = lines[0].split_once('=').unwrap();
/// assert_eq!(r, w.chars().rev().collect::<String>());
/// ```
pub fn reversal_text(records: usize, len: usize, letters: usize, rng: &mut impl Rng) -> String {
    let letters = letters.clamp(1, 26) as u8;
    let mut text = String::with_capacity(records * (2 * len + 2));
    let mut word = Vec::with_capacity(len);
    for _ in 0..records {
        word.clear();
        word.extend((0..len).map(|_| (b'a' + rng.random_range(0..letters)) as char));
        text.extend(word.iter());
        text.push('=');
        text.extend(word.iter().rev());
        text.push('\n');
    }
    text
}

/// For a text made by [`reversal_text`] with words of `len` letters: whether character `i` is
/// determined by the characters of its own record before it (the `=` separator, the reversed
/// word, the newline), as opposed to a letter of a random word.
pub fn reversal_targets(text: &str, len: usize) -> Vec<bool> {
    let record = 2 * len + 2;
    text.chars()
        .enumerate()
        .map(|(i, _)| i % record >= len)
        .collect()
}
