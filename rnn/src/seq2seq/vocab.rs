//! Character vocabulary, `source<TAB>target` pair files and the generated tasks (reverse, sort,
//! add).

use optim::{Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Padding: fills a batch's short sequences; masked out of the loss and of attention.
pub const PAD: usize = 0;
/// Begin: the decoder's first input.
pub const BOS: usize = 1;
/// End: the decoder's last target; decoding stops when it is produced.
pub const EOS: usize = 2;
/// Unknown: a character not seen when the vocabulary was built.
pub const UNK: usize = 3;
/// Number of special tokens (ids `0..4`); characters follow.
pub const SPECIALS: usize = 4;

/// A character vocabulary: the four special tokens [`PAD`], [`BOS`], [`EOS`], [`UNK`], then
/// every character seen when it was built, in sorted order (so the ids do not depend on the
/// order of the data). Serialized as the string of its characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct Vocab {
    sorted: Vec<char>,
}

impl From<String> for Vocab {
    fn from(s: String) -> Self {
        Vocab::from_texts([s.as_str()])
    }
}

impl From<Vocab> for String {
    fn from(v: Vocab) -> Self {
        v.sorted.iter().collect()
    }
}

impl Vocab {
    /// The vocabulary of the characters of `texts`.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut sorted: Vec<char> = texts.into_iter().flat_map(|s| s.chars()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        Vocab { sorted }
    }

    /// The vocabulary of both sides of `pairs`.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self::from_texts(pairs.iter().flat_map(|(s, t)| [s.as_str(), t.as_str()]))
    }

    /// The characters, sorted (id of `chars()[i]` is `SPECIALS + i`).
    pub fn chars(&self) -> &[char] {
        &self.sorted
    }

    /// Number of ids: the special tokens plus the characters.
    pub fn len(&self) -> usize {
        SPECIALS + self.sorted.len()
    }

    /// Whether the vocabulary has no characters (only the special tokens).
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The id of `c`, or [`UNK`].
    pub fn id(&self, c: char) -> usize {
        match self.sorted.binary_search(&c) {
            Ok(i) => SPECIALS + i,
            Err(_) => UNK,
        }
    }

    /// The ids of `text` and how many characters were unknown (mapped to [`UNK`]).
    pub fn encode(&self, text: &str) -> (Vec<usize>, usize) {
        let table = &self.sorted;
        let mut unknown = 0;
        let ids = text
            .chars()
            .map(|c| match table.binary_search(&c) {
                Ok(i) => SPECIALS + i,
                Err(_) => {
                    unknown += 1;
                    UNK
                }
            })
            .collect();
        (ids, unknown)
    }

    /// The text of `ids`: stops at [`EOS`], skips [`PAD`] and [`BOS`], writes [`UNK`] as `�`.
    pub fn decode(&self, ids: &[usize]) -> String {
        let table = &self.sorted;
        let mut s = String::new();
        for &i in ids {
            match i {
                EOS => break,
                PAD | BOS => {}
                UNK => s.push('\u{FFFD}'),
                i => s.push(table.get(i - SPECIALS).copied().unwrap_or('\u{FFFD}')),
            }
        }
        s
    }
}

/// Parses `source<TAB>target` lines (blank lines are skipped; a trailing `\r` is removed).
/// Fields after the second tab-separated one are ignored: the Tatoeba/Anki sentence-pair files
/// (`Go.<TAB>Va !<TAB>CC-BY 2.0 (France) Attribution: …`) carry an attribution there.
///
/// # Errors
/// [`Error::Data`] naming the line for: a line without a tab, an empty source or target, or a
/// source or target longer than `max_len` characters.
pub fn parse_pairs(text: &str, max_len: usize) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let mut fields = line.split('\t');
        let (Some(s), Some(t)) = (fields.next(), fields.next()) else {
            return Err(Error::Data(format!(
                "line {n}: no tab (expected source<TAB>target)"
            )));
        };
        if s.is_empty() {
            return Err(Error::Data(format!("line {n}: empty source")));
        }
        if t.is_empty() {
            return Err(Error::Data(format!("line {n}: empty target")));
        }
        for (what, x) in [("source", s), ("target", t)] {
            let len = x.chars().count();
            if len > max_len {
                return Err(Error::Data(format!(
                    "line {n}: {what} of {len} characters is longer than the limit of {max_len}"
                )));
            }
        }
        pairs.push((s.to_string(), t.to_string()));
    }
    Ok(pairs)
}

/// Reads a `source<TAB>target` file ([`parse_pairs`]).
///
/// # Errors
/// The file cannot be read (naming it); as [`parse_pairs`], with the file named.
pub fn read_pairs(
    path: impl AsRef<std::path::Path>,
    max_len: usize,
) -> Result<Vec<(String, String)>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    parse_pairs(&text, max_len).map_err(|e| match e {
        Error::Data(why) => Error::Data(format!("{}: {why}", path.display())),
        e => e,
    })
}

/// A data set of encoded pairs: what [`super::Seq2Seq`] trains on (`Trainable::Data`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs {
    /// Source ids (no special tokens).
    pub sources: Vec<Vec<usize>>,
    /// Target ids (no special tokens; the model adds [`BOS`] and [`EOS`]).
    pub targets: Vec<Vec<usize>>,
    /// Characters mapped to [`UNK`] when encoding.
    pub unknown: usize,
}

impl Pairs {
    /// Encodes `pairs` with `vocab`, counting unknown characters (test data may hold characters
    /// the training data did not: they become [`UNK`] and are counted in [`Pairs::unknown`]).
    pub fn encode(vocab: &Vocab, pairs: &[(String, String)]) -> Self {
        let mut unknown = 0;
        let mut sources = Vec::with_capacity(pairs.len());
        let mut targets = Vec::with_capacity(pairs.len());
        for (s, t) in pairs {
            let (s, u1) = vocab.encode(s);
            let (t, u2) = vocab.encode(t);
            unknown += u1 + u2;
            sources.push(s);
            targets.push(t);
        }
        Pairs {
            sources,
            targets,
            unknown,
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

/// Which generated task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Target = source reversed.
    Reverse,
    /// Target = source's characters sorted.
    Sort,
    /// Source `a+b`, target the decimal sum.
    Add,
}

/// The first `symbols` (≤ 26) lowercase letters.
fn alphabet(symbols: usize) -> Result<Vec<char>> {
    if !(1..=26).contains(&symbols) {
        return Err(Error::hyper("symbols", symbols, "must be in 1..=26"));
    }
    Ok((b'a'..b'a' + symbols as u8).map(char::from).collect())
}

fn random_string(symbols: &[char], min_len: usize, max_len: usize, rng: &mut impl Rng) -> String {
    let n = rng.random_range(min_len..=max_len);
    (0..n)
        .map(|_| symbols[rng.random_range(0..symbols.len())])
        .collect()
}

fn check_lengths(min_len: usize, max_len: usize) -> Result<()> {
    if min_len == 0 {
        return Err(Error::hyper("min_len", 0, "must be at least 1"));
    }
    if max_len < min_len {
        return Err(Error::hyper("max_len", max_len, "must be at least min_len"));
    }
    Ok(())
}

/// `n` random strings over the first `symbols` letters with lengths in `min_len..=max_len`,
/// each paired with its reversal.
///
/// # Errors
/// `symbols` outside `1..=26`, `min_len == 0`, `max_len < min_len`.
pub fn reverse_task(
    n: usize,
    symbols: usize,
    min_len: usize,
    max_len: usize,
    rng: &mut impl Rng,
) -> Result<Vec<(String, String)>> {
    check_lengths(min_len, max_len)?;
    let a = alphabet(symbols)?;
    Ok((0..n)
        .map(|_| {
            let s = random_string(&a, min_len, max_len, rng);
            let t = s.chars().rev().collect();
            (s, t)
        })
        .collect())
}

/// As [`reverse_task`], with the target the sorted characters.
///
/// # Errors
/// As [`reverse_task`].
pub fn sort_task(
    n: usize,
    symbols: usize,
    min_len: usize,
    max_len: usize,
    rng: &mut impl Rng,
) -> Result<Vec<(String, String)>> {
    check_lengths(min_len, max_len)?;
    let a = alphabet(symbols)?;
    Ok((0..n)
        .map(|_| {
            let s = random_string(&a, min_len, max_len, rng);
            let mut t: Vec<char> = s.chars().collect();
            t.sort_unstable();
            (s, t.into_iter().collect())
        })
        .collect())
}

/// `n` additions `a+b` of integers with 1 to `max_digits` digits each (the number of digits
/// drawn uniformly first, so short numbers are as common as long ones), target `a + b` in
/// decimal.
///
/// # Errors
/// `max_digits` outside `1..=18`.
pub fn add_task(n: usize, max_digits: usize, rng: &mut impl Rng) -> Result<Vec<(String, String)>> {
    if !(1..=18).contains(&max_digits) {
        return Err(Error::hyper("max_digits", max_digits, "must be in 1..=18"));
    }
    let number = |rng: &mut dyn rand::RngCore| -> u64 {
        let d = rng.random_range(1..=max_digits as u32);
        let lo = if d == 1 { 0 } else { 10u64.pow(d - 1) };
        rng.random_range(lo..10u64.pow(d))
    };
    Ok((0..n)
        .map(|_| {
            let (a, b) = (number(rng), number(rng));
            (format!("{a}+{b}"), (a + b).to_string())
        })
        .collect())
}

/// Generates `n` pairs of `task` (`symbols`, lengths: for reverse and sort; `max_len` is the
/// digit count for add).
///
/// # Errors
/// As the task's generator.
pub fn generate(
    task: Task,
    n: usize,
    symbols: usize,
    min_len: usize,
    max_len: usize,
    rng: &mut impl Rng,
) -> Result<Vec<(String, String)>> {
    match task {
        Task::Reverse => reverse_task(n, symbols, min_len, max_len, rng),
        Task::Sort => sort_task(n, symbols, min_len, max_len, rng),
        Task::Add => add_task(n, max_len, rng),
    }
}

/// Levenshtein distance between two id sequences.
pub fn edit_distance(a: &[usize], b: &[usize]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
