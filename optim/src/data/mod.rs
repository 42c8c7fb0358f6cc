//! Data plumbing every chapter needs: seeded shuffling and mini-batches over column matrices,
//! one-hot codes, standardization, train/validation splits, loaders for real files and
//! generators of the classic synthetic problems ([`generate`]).
//!
//! Loaders: the generic [`load_csv`] / [`load_csv_matrix`] ([`CsvOptions`]), [`load_idx`] (gzip'd
//! or raw) and [`load_text`] with [`CharVocab`]; for the files of `shared/data`
//! [`load_optdigits`], [`load_iris`], [`load_mnist`], [`load_sunspots_yearly`],
//! [`load_sunspots_monthly`], [`load_airline_passengers`], and [`data_file`] to find them through
//! `DL_DATA_DIR`. Malformed input is an [`Error::Format`] with the file and
//! the line/column or byte offset, never a panic.
//!
//! Data sets are matrices with **one column per example** (`features x n`) and a label vector.

pub mod generate;
mod loaders;

pub use loaders::*;

use crate::{Error, Float, Mat, Result};
use rand::Rng;
use rand::seq::SliceRandom;

/// What a data set's examples are labelled with.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets<F: Float> {
    /// One class index per example (classification).
    Classes(Vec<usize>),
    /// One target column per example, `outputs x n` (regression).
    Values(Mat<F>),
}

/// A labelled data set — the one type every chapter trains and evaluates on: `features x n`
/// inputs (one column per example) and their [`Targets`], class labels or real-valued columns.
///
/// ```
/// use optim::data::Dataset;
/// let x = optim::Mat::<f32>::from_row_slice(2, 3, &[0., 1., 2., 3., 4., 5.]);
/// let data = Dataset::classification(x, vec![0, 1, 1])?;
/// assert_eq!((data.len(), data.classes()), (3, 2));
/// assert_eq!(data.select(&[2, 0]).labels(), Some(&[1, 0][..]));
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<F: Float> {
    /// Inputs, one column per example.
    pub x: Mat<F>,
    /// Targets, one per example.
    pub targets: Targets<F>,
}

impl<F: Float> Dataset<F> {
    /// Classification data, checking that there is one label per column (the same as
    /// [`Dataset::classification`]).
    ///
    /// # Errors
    /// If the counts differ.
    pub fn new(x: Mat<F>, labels: Vec<usize>) -> Result<Self> {
        Self::classification(x, labels)
    }

    /// Classification data: one class label per column.
    ///
    /// # Errors
    /// If the counts differ.
    pub fn classification(x: Mat<F>, labels: Vec<usize>) -> Result<Self> {
        if labels.len() != x.ncols() {
            return Err(Error::Shape {
                context: "classification data".into(),
                expected: format!("{} labels (one per column)", x.ncols()),
                got: labels.len().to_string(),
            });
        }
        Ok(Dataset {
            x,
            targets: Targets::Classes(labels),
        })
    }

    /// Regression data: `y` is `outputs x n`, one target column per input column.
    ///
    /// # Errors
    /// If the column counts differ.
    pub fn regression(x: Mat<F>, y: Mat<F>) -> Result<Self> {
        if y.ncols() != x.ncols() {
            return Err(Error::shape(
                "regression targets (outputs x n)",
                (y.nrows(), x.ncols()),
                y.shape(),
            ));
        }
        Ok(Dataset {
            x,
            targets: Targets::Values(y),
        })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// The class labels, if this is classification data.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes(l) => Some(l),
            Targets::Values(_) => None,
        }
    }

    /// The class labels, or an error naming `what` if the targets are real-valued.
    ///
    /// # Errors
    /// [`Error::Data`] for regression data.
    pub fn class_labels(&self, what: &str) -> Result<&[usize]> {
        self.labels().ok_or_else(|| {
            Error::Data(format!(
                "{what} has real-valued targets, but class labels are needed"
            ))
        })
    }

    /// The regression targets (`outputs x n`), if this is regression data.
    pub fn values(&self) -> Option<&Mat<F>> {
        match &self.targets {
            Targets::Values(y) => Some(y),
            Targets::Classes(_) => None,
        }
    }

    /// Number of classes (`max label + 1`; 0 for regression data).
    pub fn classes(&self) -> usize {
        self.labels()
            .and_then(|l| l.iter().max())
            .map_or(0, |m| m + 1)
    }

    /// Checks that every label is below `classes`, naming `what` and the first bad example.
    ///
    /// # Errors
    /// [`Error::Data`].
    pub fn check_labels(&self, classes: usize, what: &str) -> Result<()> {
        let labels = self.class_labels(what)?;
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            return Err(Error::Data(format!(
                "{what}: label {l} of example {i} is not below the {classes} classes"
            )));
        }
        Ok(())
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        let targets = match &self.targets {
            Targets::Classes(l) => Targets::Classes(indices.iter().map(|&i| l[i]).collect()),
            Targets::Values(y) => Targets::Values(select_columns(y, indices)),
        };
        Dataset {
            x: select_columns(&self.x, indices),
            targets,
        }
    }

    /// Seeded shuffled split into `(train, validation)` with `validation_fraction` of the
    /// examples (rounded) in the second part.
    ///
    /// A fraction strictly between 0 and 1 asks for two non-empty parts: if rounding leaves
    /// either part empty (too few examples, e.g. 2 examples and 20 % held out), this is an
    /// error instead of an empty test set whose accuracy would read as a score. A fraction of
    /// exactly 0 or 1 asks for an empty part and gets one.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] if `validation_fraction` is outside `[0, 1]`; [`Error::Data`]
    /// if it is inside `(0, 1)` and one part would be empty.
    pub fn split(&self, validation_fraction: f64, rng: &mut impl Rng) -> Result<(Self, Self)> {
        let (a, b) = split_indices(self.len(), validation_fraction, rng)?;
        if validation_fraction > 0.0 && validation_fraction < 1.0 && (a.is_empty() || b.is_empty())
        {
            return Err(Error::Data(format!(
                "split: {} examples with a held-out fraction of {} leave the {} part empty \
                 ({} / {}); need more examples",
                self.len(),
                validation_fraction,
                if b.is_empty() { "held-out" } else { "training" },
                a.len(),
                b.len()
            )));
        }
        Ok((self.select(&a), self.select(&b)))
    }
}

/// Whether `order` holds each of `0..n` exactly once (a saved example order a training loop
/// may continue from).
///
/// ```
/// assert!(optim::data::is_permutation(&[2, 0, 1], 3));
/// assert!(!optim::data::is_permutation(&[2, 2, 1], 3));
/// assert!(!optim::data::is_permutation(&[0, 1], 3));
/// ```
pub fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut seen = vec![false; if order.len() == n { n } else { 0 }];
    order.len() == n
        && order
            .iter()
            .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// Copies the columns at `indices` into a new matrix.
pub fn select_columns<F: Float>(x: &Mat<F>, indices: &[usize]) -> Mat<F> {
    let mut out = Mat::zeros(x.nrows(), indices.len());
    select_columns_into(x, indices, &mut out);
    out
}

/// Copies the columns at `indices` into `out` (resized if needed): the batch gather of a
/// training loop, without allocation once `out` has its size.
pub fn select_columns_into<F: Float>(x: &Mat<F>, indices: &[usize], out: &mut Mat<F>) {
    crate::linalg::resize_buffer(out, x.nrows(), indices.len());
    let rows = x.nrows();
    if rows == 0 {
        return;
    }
    let src = x.as_slice();
    for (dst, &i) in out.as_mut_slice().chunks_exact_mut(rows).zip(indices) {
        dst.copy_from_slice(&src[i * rows..(i + 1) * rows]);
    }
}

/// A seeded permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    v.shuffle(rng);
    v
}

/// Seeded shuffled split of `0..n` into `(first, second)`, the second holding
/// `round(n · fraction)` indices.
///
/// # Errors
/// If `fraction` is outside `[0, 1]`.
pub fn split_indices(
    n: usize,
    fraction: f64,
    rng: &mut impl Rng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    crate::check_range("validation fraction", fraction, 0.0, 1.0)?;
    let p = permutation(n, rng);
    let k = (n as f64 * fraction).round() as usize;
    let (second, first) = p.split_at(k);
    Ok((first.to_vec(), second.to_vec()))
}

/// Seeded shuffled `k`-fold cross-validation of `0..n`: `k` pairs `(train, validation)`, the
/// validation parts disjoint, of sizes `⌊n/k⌋` or `⌈n/k⌉`, together all of `0..n`; each
/// training part is the rest. The selection protocol of the recipes (`examples/select.rs` of
/// the chapters) scores candidates by their mean over the folds of the *training* data only.
///
/// ```
/// let folds = optim::data::k_folds(10, 3, &mut optim::rng(0))?;
/// assert_eq!(folds.iter().map(|(_, v)| v.len()).collect::<Vec<_>>(), [3, 3, 4]);
/// let mut all: Vec<usize> = folds.iter().flat_map(|(_, v)| v.clone()).collect();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// assert!(folds.iter().all(|(t, v)| t.len() + v.len() == 10 && t.iter().all(|i| !v.contains(i))));
/// # Ok::<(), optim::Error>(())
/// ```
///
/// # Errors
/// [`Error::Hyperparameter`] unless `2 ≤ k ≤ n`.
pub fn k_folds(n: usize, k: usize, rng: &mut impl Rng) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > n {
        return Err(Error::hyper(
            "k (folds)",
            k,
            &format!("must lie in 2..={n} for {n} examples"),
        ));
    }
    let p = permutation(n, rng);
    Ok((0..k)
        .map(|f| {
            let (a, b) = (f * n / k, (f + 1) * n / k);
            let validation = p[a..b].to_vec();
            let train = p[..a].iter().chain(&p[b..]).copied().collect();
            (train, validation)
        })
        .collect())
}

/// `k` folds of `0..n` in order, without shuffling: fold `f` validates on the examples
/// `f·n/k .. (f+1)·n/k` and trains on the rest. When a file is grouped (by writer, by time),
/// these folds keep the groups apart, as new data would be.
///
/// ```
/// let folds = optim::data::contiguous_folds(10, 3)?;
/// assert_eq!(folds[1].1, vec![3, 4, 5]);
/// assert_eq!(folds[1].0, vec![0, 1, 2, 6, 7, 8, 9]);
/// # Ok::<(), optim::Error>(())
/// ```
///
/// # Errors
/// [`Error::Hyperparameter`] unless `2 ≤ k ≤ n`.
pub fn contiguous_folds(n: usize, k: usize) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > n {
        return Err(Error::hyper(
            "k (folds)",
            k,
            &format!("must lie in 2..={n} for {n} examples"),
        ));
    }
    Ok((0..k)
        .map(|f| {
            let (a, b) = (f * n / k, (f + 1) * n / k);
            ((0..a).chain(b..n).collect(), (a..b).collect())
        })
        .collect())
}

/// Mean and sample standard deviation (`n − 1` in the denominator; 0 for fewer than two
/// values) of scores, e.g. validation accuracies over folds.
///
/// ```
/// let (mean, sd) = optim::data::mean_sd(&[0.9, 1.0, 1.1]);
/// assert!((mean - 1.0).abs() < 1e-12 && (sd - 0.1).abs() < 1e-12);
/// assert_eq!(optim::data::mean_sd(&[0.5]), (0.5, 0.0));
/// ```
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, var.sqrt())
}

/// Which end of a score is better in [`cross_validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Accuracy and the like.
    Higher,
    /// A loss or an error.
    Lower,
}

/// One candidate's scores over the folds of [`cross_validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct FoldScores {
    /// The score on each fold's validation part, in fold order.
    pub scores: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation ([`mean_sd`]).
    pub sd: f64,
    /// Wall-clock seconds for all its folds.
    pub seconds: f64,
}

/// The outcome of [`cross_validate`]: every candidate's [`FoldScores`], in the order given, and
/// the index of the best mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// One entry per candidate.
    pub candidates: Vec<FoldScores>,
    /// The candidate with the best mean (the first of equal ones; NaN means never win).
    pub best: usize,
}

/// Model selection by cross-validation on the training data only: the same `folds` (`(train,
/// validation)` index pairs: [`k_folds`], shuffled, or [`contiguous_folds`], in file order) for
/// every candidate; `score(c, fold, train, validation)` trains candidate `c` on the `train`
/// indices and returns its score on the `validation` ones. The choice never sees a test set, so
/// its mean score predicts new data.
///
/// ```
/// use optim::data::{Better, cross_validate, k_folds};
/// // two "models" of 20 numbers: predict the training mean, or always 0
/// let y: Vec<f64> = (0..20).map(|i| 5.0 + (i % 3) as f64).collect();
/// let mse = |pred: f64, idx: &[usize]| idx.iter().map(|&i| (y[i] - pred).powi(2)).sum::<f64>() / idx.len() as f64;
/// let folds = k_folds(20, 4, &mut optim::rng(0))?;
/// let pick = cross_validate(&["mean", "zero"], &folds, Better::Lower, |c, _, tr, va| {
///     let pred = if *c == "mean" { tr.iter().map(|&i| y[i]).sum::<f64>() / tr.len() as f64 } else { 0.0 };
///     Ok(mse(pred, va))
/// })?;
/// assert_eq!(pick.best, 0);
/// assert_eq!(pick.candidates[1].scores.len(), 4);
/// # Ok::<(), optim::Error>(())
/// ```
///
/// # Errors
/// No candidates or no folds; the first error `score` returns.
pub fn cross_validate<C>(
    candidates: &[C],
    folds: &[(Vec<usize>, Vec<usize>)],
    better: Better,
    mut score: impl FnMut(&C, usize, &[usize], &[usize]) -> Result<f64>,
) -> Result<Selection> {
    if candidates.is_empty() || folds.is_empty() {
        return Err(Error::Data(
            "cross_validate: needs at least one candidate and one fold".into(),
        ));
    }
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        let started = std::time::Instant::now();
        let scores = folds
            .iter()
            .enumerate()
            .map(|(f, (train, validation))| score(c, f, train, validation))
            .collect::<Result<Vec<f64>>>()?;
        let (mean, sd) = mean_sd(&scores);
        out.push(FoldScores {
            scores,
            mean,
            sd,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let key = |s: &FoldScores| match better {
        Better::Higher => s.mean,
        Better::Lower => -s.mean,
    };
    let mut best = 0;
    for (i, s) in out.iter().enumerate() {
        if key(s) > key(&out[best]) || key(&out[best]).is_nan() && !key(s).is_nan() {
            best = i;
        }
    }
    Ok(Selection {
        candidates: out,
        best,
    })
}

/// Mini-batches of indices over `0..n`: shuffled with `rng` each epoch (or in order), the last
/// batch possibly smaller.
///
/// ```
/// let mut rng = optim::rng(0);
/// let batches: Vec<Vec<usize>> = optim::data::batches(10, 4, Some(&mut rng)).collect();
/// assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
/// ```
pub fn batches<R: Rng>(
    n: usize,
    batch_size: usize,
    rng: Option<&mut R>,
) -> impl Iterator<Item = Vec<usize>> + use<R> {
    let order = match rng {
        Some(r) => permutation(n, r),
        None => (0..n).collect(),
    };
    let size = batch_size.max(1);
    let count = n.div_ceil(size);
    (0..count).map(move |b| order[b * size..((b + 1) * size).min(n)].to_vec())
}

/// One-hot codes: column `j` has a 1 in row `labels[j]`.
///
/// # Errors
/// If a label is `>= classes`.
pub fn one_hot<F: Float>(labels: &[usize], classes: usize) -> Result<Mat<F>> {
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        return Err(Error::Data(format!(
            "one_hot: label {l} at position {i} is not below {classes} classes"
        )));
    }
    let mut m = Mat::zeros(classes, labels.len());
    for (j, &l) in labels.iter().enumerate() {
        m[(l, j)] = F::one();
    }
    Ok(m)
}

/// Per-feature standardization `x' = (x − μ) / σ`, fitted on training data and applied to any
/// data (so test statistics never leak into training). Features with `σ = 0` are only centred.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer<F: Float> {
    /// Mean of each feature (row).
    pub mean: Vec<F>,
    /// Standard deviation of each feature (population, `1/n`).
    pub std: Vec<F>,
}

impl<F: Float> Standardizer<F> {
    /// Fits means and standard deviations of each row of `x`.
    ///
    /// # Errors
    /// If `x` has no columns or holds a non-finite value.
    pub fn fit(x: &Mat<F>) -> Result<Self> {
        if x.ncols() == 0 {
            return Err(Error::Data("Standardizer::fit: no examples".into()));
        }
        crate::check_finite(x, "Standardizer::fit input")?;
        let n = F::of(x.ncols() as f64);
        let mut mean = Vec::with_capacity(x.nrows());
        let mut std = Vec::with_capacity(x.nrows());
        for row in x.row_iter() {
            let m = row.sum() / n;
            let v = row
                .iter()
                .map(|&a| (a - m) * (a - m))
                .fold(F::zero(), |a, b| a + b)
                / n;
            mean.push(m);
            std.push(v.sqrt());
        }
        Ok(Standardizer { mean, std })
    }

    /// Applies the fitted transform.
    ///
    /// # Errors
    /// If `x` has a different number of features.
    pub fn transform(&self, x: &Mat<F>) -> Result<Mat<F>> {
        if x.nrows() != self.mean.len() {
            return Err(Error::shape(
                "Standardizer::transform",
                (self.mean.len(), x.ncols()),
                x.shape(),
            ));
        }
        let mut out = x.clone();
        for (i, mut row) in out.row_iter_mut().enumerate() {
            let s = if self.std[i] > F::zero() {
                self.std[i]
            } else {
                F::one()
            };
            for v in row.iter_mut() {
                *v = (*v - self.mean[i]) / s;
            }
        }
        Ok(out)
    }
}
