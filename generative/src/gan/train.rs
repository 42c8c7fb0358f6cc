//! The game's training loop. A GAN is not one loss of one batch — two networks take turns on
//! two losses — so it keeps its own loop, but it reads optim's [`TrainConfig`] for what the two
//! share with every other chapter (epochs, batch size, seed, clipping, the generator's
//! schedule) and reports through optim's [`Progress`], [`EpochRecord`] and [`History`].
//!
//! ```text
//! every epoch: shuffle the data (seeded); for each full batch x of data:
//!     z ~ N(0, I);  L_D ← D's loss on x and G(z)  (G fixed)          zero_grad D, backward
//!     [clip D's gradient norm];  η_D ← schedule_D(η_D₀, t_D);  D's optimizer step
//!     after every k-th discriminator step:
//!         z ~ N(0, I);  L_G ← G's loss through D  (D fixed)          zero_grad G, backward
//!         [clip G's gradient norm];  η_G ← schedule_G(η_G₀, t_G);  G's optimizer step
//!         [θ̄ ← β θ̄ + (1 − β) θ_G: the generator's moving average, if configured]
//!         report Progress::Step (the step is G's, the loss L_G)
//!     stop with an error if a loss is not finite (weights are those of the step before)
//! report Progress::Epoch: train_loss = mean L_D, terms discriminator / generator / penalty
//! ```

use super::error::{GanError, Result};
use super::model::{Gan, fill_normal};
use optim::checkpoint::{Restore, TrainingFile, TrainingParts};
use optim::data::select_columns_into;
use optim::train::{EpochRecord, History, Progress, TrainConfig};
use optim::{Float, Mat, Optimizer, Schedule, clip_grad_norm, zero_grad};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Settings of [`train`].
///
/// ```
/// use generative::gan::GanTraining;
/// use optim::train::TrainConfig;
/// let training = GanTraining::new(TrainConfig::new(20, 100).seed(3)).discriminator_steps(5);
/// training.validate(1)?;
/// # Ok::<(), generative::gan::GanError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GanTraining {
    /// `epochs` (passes of the discriminator over the data), `batch_size` (data per
    /// discriminator step, and generated samples per step of either network), `seed` (order
    /// of the data, noise, interpolation weights), `clip_grad_norm` (applied to each network's
    /// own gradient), `schedule` (the **generator's**, over its steps). Early stopping is not
    /// used: a GAN's losses do not say when its samples are good.
    pub train: TrainConfig,
    /// `k ≥ 1`: discriminator steps per generator step (Goodfellow et al. 2014, Algorithm 1;
    /// WGAN-GP uses 5). Default: 1.
    pub discriminator_steps: usize,
    /// The discriminator's schedule, over its own steps. Default: constant.
    pub discriminator_schedule: Schedule,
}

impl Default for GanTraining {
    fn default() -> Self {
        GanTraining::new(TrainConfig::default())
    }
}

impl GanTraining {
    /// One discriminator step per generator step, constant rates.
    pub fn new(train: TrainConfig) -> Self {
        GanTraining {
            train,
            discriminator_steps: 1,
            discriminator_schedule: Schedule::Constant,
        }
    }

    /// `k` discriminator steps per generator step.
    pub fn discriminator_steps(mut self, k: usize) -> Self {
        self.discriminator_steps = k;
        self
    }

    /// The discriminator's schedule.
    pub fn discriminator_schedule(mut self, schedule: Schedule) -> Self {
        self.discriminator_schedule = schedule;
        self
    }

    /// Checks the settings for a GAN whose discriminator packs `packing` samples.
    ///
    /// # Errors
    /// [`GanError::Config`] for `k = 0`, early stopping, a batch size that is not a multiple
    /// of the packing; the [`TrainConfig`] checks.
    pub fn validate(&self, packing: usize) -> Result<()> {
        self.train.validate()?;
        if self.discriminator_steps == 0 {
            return Err(GanError::config(
                "discriminator_steps",
                0,
                "must be at least 1 (k discriminator steps per generator step)",
            ));
        }
        if self.train.early_stopping.is_some() {
            return Err(GanError::config(
                "train.early_stopping",
                "on",
                "is not used by GAN training (there is no validation loss to watch)",
            ));
        }
        if packing == 0 || !self.train.batch_size.is_multiple_of(packing) {
            return Err(GanError::config(
                "train.batch_size",
                self.train.batch_size,
                &format!("must be a multiple of the packing {packing}"),
            ));
        }
        Ok(())
    }
}

/// Reused buffers of the loop.
struct Buffers<F: Float> {
    real: Mat<F>,
    noise: Mat<F>,
    fake: Mat<F>,
    d_fake: Mat<F>,
    mix: Vec<F>,
}

/// Trains `gan` on `data` (`data_dim x n`, one column per example) with one optimizer per
/// network, as the module docs describe; returns the history (one record per epoch;
/// `History::steps` counts generator steps).
///
/// # Errors
/// Invalid settings ([`GanTraining::validate`]), data of the wrong width, fewer examples
/// than one batch or non-finite values, an optimizer error, or a non-finite loss
/// ([`GanError::NonFinite`], naming the network, epoch and step).
pub fn train<F: Float>(
    gan: &mut Gan<F>,
    data: &Mat<F>,
    generator_optimizer: &mut dyn Optimizer<F>,
    discriminator_optimizer: &mut dyn Optimizer<F>,
    training: &GanTraining,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<History> {
    train_resume(
        gan,
        data,
        generator_optimizer,
        discriminator_optimizer,
        training,
        None,
        on_progress,
    )
    .map(|(h, _)| h)
}

/// Where a GAN's training stands after an epoch: everything the loop carries besides the two
/// networks and their optimizers (JSON in a training-state file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GanPosition {
    /// The data order after the last epoch's shuffle (each epoch shuffles the previous order
    /// in place).
    pub order: Vec<usize>,
    /// Epochs completed.
    pub epoch: usize,
    /// Discriminator steps taken.
    pub discriminator_steps: usize,
    /// Generator steps taken.
    pub generator_steps: usize,
    /// The generator's base rate `η_G₀` (its optimizer holds the scheduled rate), as bits.
    pub generator_base_rate: u64,
    /// The discriminator's base rate `η_D₀`, as bits.
    pub discriminator_base_rate: u64,
    /// The loop's generator (order, noise, interpolation weights).
    pub rng: optim::init::RngState,
}

/// The kind of a GAN's training-state file.
const TRAINING_KIND: &str = "gan-training";
/// The part of a training-state file that holds the generator's moving average.
const AVERAGE_PART: &str = "generator_average";

/// [`train`] that can stop after any epoch and continue exactly, in this process or another
/// ([`save_training`] / [`load_training`]): from the position `from` a run with the same
/// settings returned (with the networks and optimizers as they were then), it runs epochs
/// `from.epoch + 1 ..= training.train.epochs` and returns their history and the position after
/// the last. `epochs = N`, then `2N` from the position, equals `2N` in one run, bit for bit.
///
/// # Errors
/// As [`train`]; a position of another run (seed, steps per epoch).
pub fn train_resume<F: Float>(
    gan: &mut Gan<F>,
    data: &Mat<F>,
    generator_optimizer: &mut dyn Optimizer<F>,
    discriminator_optimizer: &mut dyn Optimizer<F>,
    training: &GanTraining,
    from: Option<&GanPosition>,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(History, GanPosition)> {
    let config = gan.config().clone();
    training.validate(config.packing)?;
    let batch = training.train.batch_size;
    if data.nrows() != config.data_dim {
        return Err(GanError::Data(format!(
            "training data have {} rows, the model's samples {}",
            data.nrows(),
            config.data_dim
        )));
    }
    if data.ncols() < batch {
        return Err(GanError::Data(format!(
            "training data: {} examples, fewer than one batch of {batch}",
            data.ncols()
        )));
    }
    optim::check_finite(data, "training data")?;
    let n = data.ncols();
    let batches = n / batch;
    let k = training.discriminator_steps;
    let (mut rng, g_base, d_base, first, mut d_steps, mut g_steps) = match from {
        None => (
            optim::rng(training.train.seed),
            generator_optimizer.learning_rate(),
            discriminator_optimizer.learning_rate(),
            1,
            0usize,
            0usize,
        ),
        Some(p) => {
            let d_expected = p.epoch * batches;
            if p.rng.seed != training.train.seed
                || p.discriminator_steps != d_expected
                || p.generator_steps != d_expected / k
                || !optim::data::is_permutation(&p.order, n)
            {
                return Err(GanError::Data(format!(
                    "train_resume: the saved position (epoch {}, {} discriminator and {} generator \
                     steps, seed {}) is not a point of this run ({batches} batches an epoch, k = {k}, \
                     seed {})",
                    p.epoch,
                    p.discriminator_steps,
                    p.generator_steps,
                    p.rng.seed,
                    training.train.seed
                )));
            }
            (
                p.rng.generator(),
                f64::from_bits(p.generator_base_rate),
                f64::from_bits(p.discriminator_base_rate),
                p.epoch + 1,
                p.discriminator_steps,
                p.generator_steps,
            )
        }
    };
    let words_before = from.map_or(0, |p| p.rng.words);
    let mut last = first - 1;
    let mut order: Vec<usize> = match from {
        Some(p) => p.order.clone(),
        None => (0..n).collect(),
    };
    let mut buffers = Buffers {
        real: Mat::zeros(config.data_dim, batch),
        noise: Mat::zeros(config.latent_dim, batch),
        fake: Mat::zeros(config.data_dim, batch),
        d_fake: Mat::zeros(config.data_dim, batch),
        mix: vec![F::zero(); batch],
    };
    let mut history = History::default();
    for epoch in first..=training.train.epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let (mut d_sum, mut penalty_sum, mut g_sum, mut g_count) = (0.0, 0.0, 0.0, 0usize);
        let mut g_lr = generator_optimizer.learning_rate();
        for b in 0..batches {
            // the discriminator, with G fixed
            select_columns_into(data, &order[b * batch..(b + 1) * batch], &mut buffers.real);
            fill_normal(&mut buffers.noise, &mut rng);
            // the training forward reuses the generator's arena: no allocation per step
            let fake = gan.generator.forward(&buffers.noise)?;
            optim::linalg::copy_into(&mut buffers.fake, fake);
            for e in buffers.mix.iter_mut() {
                *e = F::of(rng.random::<f64>());
            }
            zero_grad(&mut gan.discriminator);
            let d_loss =
                gan.discriminator
                    .loss(&buffers.real, &buffers.fake, &buffers.mix, true)?;
            d_steps += 1;
            if !d_loss.total.is_finite() {
                return Err(GanError::NonFinite {
                    network: "discriminator",
                    value: d_loss.total,
                    epoch,
                    step: d_steps,
                });
            }
            if let Some(c) = training.train.clip_grad_norm {
                clip_grad_norm(&mut gan.discriminator, c);
            }
            discriminator_optimizer
                .set_learning_rate(training.discriminator_schedule.lr(d_base, d_steps - 1));
            discriminator_optimizer.step(&mut gan.discriminator)?;
            d_sum += d_loss.total;
            penalty_sum += d_loss.penalty;
            if d_steps % k != 0 {
                continue;
            }
            // the generator, with D fixed
            let g_loss = generator_step(gan, &mut buffers, &mut rng)?;
            g_steps += 1;
            if !g_loss.is_finite() {
                return Err(GanError::NonFinite {
                    network: "generator",
                    value: g_loss,
                    epoch,
                    step: g_steps,
                });
            }
            if let Some(c) = training.train.clip_grad_norm {
                clip_grad_norm(&mut gan.generator, c);
            }
            g_lr = training.train.schedule.lr(g_base, g_steps - 1);
            generator_optimizer.set_learning_rate(g_lr);
            generator_optimizer.step(&mut gan.generator)?;
            if let (Some(average), Some(beta)) =
                (gan.generator_average.as_mut(), config.generator_average)
            {
                average
                    .net
                    .average_toward(&gan.generator.net, F::of(beta))?;
            }
            g_sum += g_loss;
            g_count += 1;
            on_progress(Progress::Step {
                epoch,
                epochs: training.train.epochs,
                batch: b + 1,
                batches,
                step: g_steps,
                loss: g_loss,
                learning_rate: g_lr,
            });
        }
        let d_mean = d_sum / batches as f64;
        let mut terms = vec![
            ("discriminator", d_mean),
            ("generator", g_sum / g_count.max(1) as f64),
        ];
        if matches!(config.objective, super::Objective::WassersteinGp { .. }) {
            terms.push(("penalty", penalty_sum / batches as f64));
        }
        history.epochs.push(EpochRecord {
            epoch,
            train_loss: d_mean,
            train_accuracy: None,
            train_terms: terms,
            validation: None,
            learning_rate: g_lr,
            seconds: started.elapsed().as_secs_f64(),
        });
        history.steps = g_steps;
        last = epoch;
        on_progress(Progress::Epoch(history.epochs.last().expect("just pushed")));
    }
    let position = GanPosition {
        epoch: last,
        discriminator_steps: d_steps,
        generator_steps: g_steps,
        generator_base_rate: g_base.to_bits(),
        discriminator_base_rate: d_base.to_bits(),
        rng: optim::init::RngState::of(training.train.seed, words_before, &rng)?,
        order,
    };
    Ok((history, position))
}

/// Saves both networks, both optimizers' state, the settings and the position as one
/// training-state file ([`optim::checkpoint::TrainingParts`], kind `gan-training`: parts
/// `generator` and `discriminator`, and `generator_average` when the configuration keeps
/// one), atomically.
///
/// # Errors
/// If the file cannot be written.
pub fn save_training<F: Float>(
    path: impl AsRef<std::path::Path>,
    gan: &mut Gan<F>,
    generator_optimizer: &dyn Optimizer<F>,
    discriminator_optimizer: &dyn Optimizer<F>,
    training: &GanTraining,
    position: &GanPosition,
) -> Result<()> {
    let config = gan.config().clone();
    let mut parts = TrainingParts::new(TRAINING_KIND, &(config, training), position)?
        .model("generator", &mut gan.generator)
        .optimizer("generator", &mut gan.generator, generator_optimizer)
        .model("discriminator", &mut gan.discriminator)
        .optimizer(
            "discriminator",
            &mut gan.discriminator,
            discriminator_optimizer,
        );
    if let Some(average) = gan.generator_average.as_mut() {
        parts = parts.model(AVERAGE_PART, average);
    }
    parts.save(path)?;
    Ok(())
}

/// Reads a file written by [`save_training`]: the GAN (its size checked against the file
/// before it is built), the settings and the position; the optimizers' state (and rates) go
/// into the two optimizers given, which must be of the kinds that were saved.
///
/// # Errors
/// An unreadable file, a file of another trainer, an invalid configuration or one the file
/// cannot hold, tensors that are missing, misshapen or non-finite, optimizer state of another
/// kind; the optimizers are then unchanged.
pub fn load_training<F: Float>(
    path: impl AsRef<std::path::Path>,
    generator_optimizer: &mut dyn Optimizer<F>,
    discriminator_optimizer: &mut dyn Optimizer<F>,
) -> Result<(Gan<F>, GanTraining, GanPosition)> {
    let path = path.as_ref();
    let file = TrainingFile::<F>::read(path, TRAINING_KIND)?;
    let (config, training): (super::GanConfig, GanTraining) = file.config()?;
    let position: GanPosition = file.position()?;
    let stored = file.values_under("generator")
        + file.values_under("discriminator")
        + file.values_under(AVERAGE_PART);
    // the moving average is one more generator's worth of values
    let averaged = match config.generator_average {
        Some(_) => config
            .generator
            .parameter_count(config.latent_dim, config.data_dim),
        None => Some(0),
    };
    let expected = config
        .parameter_count()
        .and_then(|n| n.checked_add(averaged?));
    if expected != Some(stored) {
        return Err(optim::Error::Checkpoint {
            path: path.into(),
            reason: format!(
                "the configuration asks for {expected:?} values, the file holds {stored}"
            ),
        }
        .into());
    }
    let mut gan = Gan::new(&config, &mut optim::rng(0))?;
    let mut parts = vec![
        Restore::model("generator", &mut gan.generator).optimizer(generator_optimizer),
        Restore::model("discriminator", &mut gan.discriminator).optimizer(discriminator_optimizer),
    ];
    if let Some(average) = gan.generator_average.as_mut() {
        parts.push(Restore::model(AVERAGE_PART, average));
    }
    file.restore(&mut parts)?;
    Ok((gan, training, position))
}

/// One generator loss and backward on fresh noise; returns `L_G`.
fn generator_step<F: Float>(
    gan: &mut Gan<F>,
    buffers: &mut Buffers<F>,
    rng: &mut impl Rng,
) -> Result<f64> {
    let batch = buffers.fake.ncols();
    zero_grad(&mut gan.generator);
    let fake = gan.generator.forward_sample(batch, rng)?;
    optim::linalg::copy_into(&mut buffers.fake, fake);
    let loss = gan
        .discriminator
        .generator_loss(&buffers.fake, &mut buffers.d_fake)?;
    gan.generator.backward(&buffers.d_fake)?;
    Ok(loss.to_f64())
}
