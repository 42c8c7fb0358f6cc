//! The sequence batch: `T` time steps of `features x batch` matrices, stored as one matrix.
//!
//! A [`Seq`] holds a batch of `B` sequences of equal length `T` as one `features x (T·B)` matrix
//! whose columns are grouped by time step: columns `t·B .. (t+1)·B` are time step `t`, one column
//! per sequence. nalgebra is column-major, so each time step is one contiguous block, and the
//! input projection `W_ih x_t` of *all* time steps is a single matrix product
//! `W_ih X` (`gates x (T·B)`), the one large product of a recurrent layer's forward pass.

use optim::{Error, Float, Mat, Result};

/// A batch of equal-length sequences, time-major: `features x (steps·batch)`.
///
/// # Shapes
/// `data`: `features x (steps·batch)`; time step `t` is columns `t·batch .. (t+1)·batch`;
/// sequence `b` at step `t` is column `t·batch + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Seq<F: Float> {
    data: Mat<F>,
    steps: usize,
    batch: usize,
}

impl<F: Float> Seq<F> {
    /// Wraps a `features x (steps·batch)` matrix.
    ///
    /// # Errors
    /// Empty sequence (`steps == 0`), empty batch, or a column count other than `steps·batch`.
    pub fn new(data: Mat<F>, steps: usize, batch: usize) -> Result<Self> {
        if steps == 0 {
            return Err(Error::Data("Seq: empty sequence (0 time steps)".into()));
        }
        if batch == 0 {
            return Err(Error::Data("Seq: empty batch (0 sequences)".into()));
        }
        if data.ncols() != steps * batch {
            return Err(Error::Shape {
                context: "Seq data (features x steps·batch)".into(),
                expected: format!(
                    "{} x {} ({steps} steps x {batch} sequences)",
                    data.nrows(),
                    steps * batch
                ),
                got: format!("{} x {}", data.nrows(), data.ncols()),
            });
        }
        Ok(Seq { data, steps, batch })
    }

    /// The matrix, for a gather that resizes it; [`Seq::set_shape`] must follow.
    pub(crate) fn buffer(&mut self) -> &mut Mat<F> {
        &mut self.data
    }

    /// Sets `steps` and `batch` after [`Seq::buffer`] was filled with `steps·batch` columns.
    pub(crate) fn set_shape(&mut self, steps: usize, batch: usize) {
        debug_assert_eq!(self.data.ncols(), steps * batch);
        self.steps = steps;
        self.batch = batch;
    }

    /// A sequence batch of zeros.
    pub fn zeros(features: usize, steps: usize, batch: usize) -> Self {
        Seq {
            data: Mat::zeros(features, steps * batch),
            steps,
            batch,
        }
    }

    /// Builds a batch from `T` matrices `features x batch`, one per time step.
    ///
    /// # Errors
    /// No steps, an empty batch, or steps of different widths or batch sizes.
    pub fn from_steps(steps: &[Mat<F>]) -> Result<Self> {
        let first = steps
            .first()
            .ok_or_else(|| Error::Data("Seq::from_steps: empty sequence (no time steps)".into()))?;
        let (features, batch) = first.shape();
        for (t, m) in steps.iter().enumerate() {
            if m.shape() != (features, batch) {
                return Err(Error::shape(
                    format!("Seq::from_steps time step {t} (features x batch)"),
                    (features, batch),
                    m.shape(),
                ));
            }
        }
        let mut data = Mat::zeros(features, steps.len() * batch);
        for (t, m) in steps.iter().enumerate() {
            data.columns_mut(t * batch, batch).copy_from(m);
        }
        Self::new(data, steps.len(), batch)
    }

    /// Builds a batch from `B` sequences, each a `features x T` matrix (one column per step).
    ///
    /// # Errors
    /// No sequences, an empty sequence, different feature widths, or **unequal lengths** (this
    /// batch layout requires every sequence to have the same `T`).
    pub fn from_sequences(sequences: &[Mat<F>]) -> Result<Self> {
        let first = sequences
            .first()
            .ok_or_else(|| Error::Data("Seq::from_sequences: no sequences".into()))?;
        let (features, steps) = first.shape();
        for (b, s) in sequences.iter().enumerate() {
            if s.nrows() != features {
                return Err(Error::shape(
                    format!("Seq::from_sequences sequence {b} (features x steps)"),
                    (features, s.ncols()),
                    s.shape(),
                ));
            }
            if s.ncols() != steps {
                return Err(Error::Data(format!(
                    "Seq::from_sequences: sequences of unequal length: sequence 0 has {steps} \
                     steps, sequence {b} has {} (equal lengths are required)",
                    s.ncols()
                )));
            }
        }
        let batch = sequences.len();
        let mut data = Mat::zeros(features, steps * batch);
        for (b, s) in sequences.iter().enumerate() {
            for t in 0..steps {
                data.column_mut(t * batch + b).copy_from(&s.column(t));
            }
        }
        Self::new(data, steps, batch)
    }

    /// Feature width (rows).
    pub fn features(&self) -> usize {
        self.data.nrows()
    }

    /// Number of time steps `T`.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Number of sequences `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The whole `features x (T·B)` matrix.
    pub fn data(&self) -> &Mat<F> {
        &self.data
    }

    /// The whole matrix, mutable.
    pub fn data_mut(&mut self) -> &mut Mat<F> {
        &mut self.data
    }

    /// Consumes the batch, returning its matrix.
    pub fn into_data(self) -> Mat<F> {
        self.data
    }

    /// Time step `t` as a `features x batch` matrix (a copy).
    ///
    /// # Panics
    /// If `t >= steps` (an index bug in the caller).
    pub fn step(&self, t: usize) -> Mat<F> {
        assert!(t < self.steps, "Seq::step: step {t} of {}", self.steps);
        self.data.columns(t * self.batch, self.batch).into_owned()
    }

    /// The `T` time steps as separate matrices.
    pub fn to_steps(&self) -> Vec<Mat<F>> {
        (0..self.steps).map(|t| self.step(t)).collect()
    }

    /// Sequence `b` as a `features x T` matrix.
    ///
    /// # Panics
    /// If `b >= batch`.
    pub fn sequence(&self, b: usize) -> Mat<F> {
        assert!(
            b < self.batch,
            "Seq::sequence: sequence {b} of {}",
            self.batch
        );
        Mat::from_fn(self.features(), self.steps, |i, t| {
            self.data[(i, t * self.batch + b)]
        })
    }

    /// Returns an error naming the step and sequence of the first NaN or infinity.
    pub fn check_finite(&self, context: &str) -> Result<()> {
        let rows = self.features().max(1);
        match optim::first_non_finite(self.data.as_slice()) {
            None => Ok(()),
            Some(i) => {
                let col = i / rows;
                Err(Error::NonFinite {
                    context: format!(
                        "{context}: feature {}, time step {}, sequence {}",
                        i % rows,
                        col / self.batch,
                        col % self.batch
                    ),
                })
            }
        }
    }
}
