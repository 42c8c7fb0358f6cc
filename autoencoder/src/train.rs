//! Training through optim's one loop: [`Autoencoder`] and [`Vae`] implement
//! [`optim::train::Trainable`] with a data set that is a matrix of inputs (`d x n`, one example
//! per column, unlabelled), so every model of the crate trains with
//! `model.fit(&x, validation, &mut optimizer, &config, &mut on_progress)`.
//!
//! Each batch is gathered into the model's reused buffer; the training randomness (the
//! denoising corruption, the VAE's reparameterization noise) is drawn from the loop's seeded
//! rng ([`optim::TrainConfig::seed`]). A batch reports its loss with the parts
//! `"reconstruction"` and `"penalty"` (read them per epoch with [`optim::EpochRecord::term`]);
//! the evaluation loss is the reconstruction MSE per entry, whatever the training loss.
//!
//! ```
//! use autoencoder::{Autoencoder, AutoencoderConfig};
//! use optim::train::{TrainConfig, Trainable};
//! let mut rng = optim::rng(0);
//! let (x, _) = autoencoder::data::spectral_gap::<f64>(200, 4, &[3.0], 0.1, &mut rng);
//! let mut model = Autoencoder::new(AutoencoderConfig::linear(4, 1), &mut rng).unwrap();
//! let config = TrainConfig::new(30, 20).seed(1);
//! let history = model
//!     .fit(&x, Some(&x), &mut optim::Adam::new(0.02).unwrap(), &config, &mut |_| {})
//!     .unwrap();
//! let last = history.last().unwrap();
//! assert_eq!((history.epochs.len(), history.steps), (30, 300));
//! assert_eq!(last.term("penalty"), Some(0.0));
//! // the evaluation is the reconstruction MSE per entry
//! assert_eq!(last.validation.unwrap().loss, model.reconstruction_error(&x).unwrap());
//! assert!(last.validation.unwrap().loss < 0.05);
//! ```

use crate::model::{Autoencoder, LossParts};
use crate::vae::Vae;
use optim::data::select_columns_into;
use optim::train::{BatchLoss, Evaluation, Terms, Trainable};
use optim::{Error, Float, Mat, Result, StdRng, check_finite};

/// The shape and finiteness check of a data set (`inputs x n`).
fn check_inputs<F: Float>(x: &Mat<F>, inputs: usize, what: &str) -> Result<()> {
    if x.nrows() != inputs {
        return Err(Error::shape(
            format!("{what} (features x n)"),
            (inputs, x.ncols()),
            x.shape(),
        ));
    }
    check_finite(x, what)
}

/// What a batch reports to the loop.
fn batch_loss<F: Float>(parts: LossParts<F>) -> BatchLoss {
    BatchLoss::new(parts.total).terms(
        Terms::default()
            .with("reconstruction", parts.reconstruction.to_f64())
            .with("penalty", parts.penalty.to_f64()),
    )
}

impl<F: Float> Trainable<F> for Autoencoder<F> {
    type Data = Mat<F>;

    fn examples(&self, x: &Mat<F>) -> usize {
        x.ncols()
    }

    fn check_data(&self, x: &Mat<F>, what: &str) -> Result<()> {
        check_inputs(x, self.inputs(), what)
    }

    /// Gathers the batch, corrupts it (denoising) with `rng`, forward and backward.
    fn train_batch(&mut self, x: &Mat<F>, batch: &[usize], rng: &mut StdRng) -> Result<BatchLoss> {
        let mut xb = std::mem::take(&mut self.batch);
        select_columns_into(x, batch, &mut xb);
        let parts = self.train_step(&xb, rng);
        self.batch = xb;
        Ok(batch_loss(parts?))
    }

    /// The reconstruction MSE per entry ([`Autoencoder::reconstruction_error`]).
    fn evaluate(&self, x: &Mat<F>) -> Result<Evaluation> {
        Ok(Evaluation::loss(self.reconstruction_error(x)?))
    }
}

impl<F: Float> Trainable<F> for Vae<F> {
    type Data = Mat<F>;

    fn examples(&self, x: &Mat<F>) -> usize {
        x.ncols()
    }

    fn check_data(&self, x: &Mat<F>, what: &str) -> Result<()> {
        check_inputs(x, self.config().inputs, what)
    }

    /// Gathers the batch, draws `ε ~ N(0, I)` from `rng`, forward and backward.
    fn train_batch(&mut self, x: &Mat<F>, batch: &[usize], rng: &mut StdRng) -> Result<BatchLoss> {
        let mut xb = std::mem::take(&mut self.batch);
        select_columns_into(x, batch, &mut xb);
        let parts = self.train_step(&xb, rng);
        self.batch = xb;
        Ok(batch_loss(parts?))
    }

    /// The reconstruction MSE per entry of the mean code ([`Vae::reconstruction_error`]).
    fn evaluate(&self, x: &Mat<F>) -> Result<Evaluation> {
        Ok(Evaluation::loss(self.reconstruction_error(x)?))
    }
}
