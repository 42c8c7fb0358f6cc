//! Ready-made runs, shared by the examples, the real-data test and the tour.
//!
//! [`digits`]: handwritten digits (UCI optdigits, 8x8 block counts `0..=16`) with a seeded
//! held-out test split, a validation split for early stopping, and the network and optimizer
//! of [`DigitsRecipe::default`].

use crate::network::{Config, Mlp};
use crate::train::{Data, EarlyStopping, Evaluation, History, Progress, TrainConfig};
use optim::data::Dataset;
use optim::{Adam, Error, Result, Schedule};

/// Settings of the digits run (defaults in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct DigitsRecipe {
    /// Hidden widths \[256, 128\].
    pub hidden: Vec<usize>,
    /// Dropout after each hidden activation \[0.2\].
    pub dropout: f64,
    /// Batch norm after each hidden linear layer \[true\].
    pub batch_norm: bool,
    /// AdamW learning rate \[1e-3\].
    pub learning_rate: f64,
    /// AdamW decoupled weight decay \[1e-2\].
    pub weight_decay: f64,
    /// Most epochs \[100\]; the learning rate follows a cosine from the base rate to 1 % of it.
    pub epochs: usize,
    /// Mini-batch size \[32\].
    pub batch_size: usize,
    /// Early-stopping patience in epochs, on validation loss, restoring the best \[15\].
    pub patience: usize,
    /// Fraction of all examples held out for the test \[0.2\].
    pub test_fraction: f64,
    /// Fraction of the remaining examples used for validation \[0.1\].
    pub validation_fraction: f64,
    /// Seed of the splits, the initialization, shuffling and dropout \[0\].
    pub seed: u64,
}

impl Default for DigitsRecipe {
    fn default() -> Self {
        DigitsRecipe {
            hidden: vec![256, 128],
            dropout: 0.2,
            batch_norm: true,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            epochs: 100,
            batch_size: 32,
            patience: 15,
            test_fraction: 0.2,
            validation_fraction: 0.1,
            seed: 0,
        }
    }
}

/// The outcome of [`digits`].
#[derive(Debug, Clone)]
pub struct DigitsRun {
    /// The trained network (best validation epoch).
    pub model: Mlp<f32>,
    /// Its configuration.
    pub config: Config,
    /// Per-epoch losses and accuracies.
    pub history: History,
    /// Loss and accuracy on the validation split.
    pub validation: Evaluation,
    /// Loss and accuracy on the held-out test split (never seen in training or selection).
    pub test: Evaluation,
    /// Examples in the (train, validation, test) splits.
    pub sizes: (usize, usize, usize),
}

/// Trains a digit classifier on `dataset` (`64 x n` counts `0..=16`, labels `0..=9`, as
/// [`optim::data::load_optdigits`] returns): inputs scaled by 1/16, a seeded split into test,
/// validation and training parts, AdamW with a cosine schedule, early stopping on validation
/// loss with restore-best-weights. `on_progress` sees every step and epoch.
///
/// # Errors
/// Data that is not 64 features with labels below 10, or a training error.
pub fn digits(
    dataset: &Dataset<f32>,
    recipe: &DigitsRecipe,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<DigitsRun> {
    if dataset.x.nrows() != 64 {
        return Err(Error::shape(
            "digits data (64 block counts x n)",
            (64, dataset.len()),
            dataset.x.shape(),
        ));
    }
    let data = Data::classification(dataset.x.map(|v| v / 16.0), dataset.labels.clone())?;
    let mut rng = optim::rng(recipe.seed);
    let (rest, test) = data.split(recipe.test_fraction, &mut rng)?;
    let (train, validation) = rest.split(recipe.validation_fraction, &mut rng)?;
    let config = Config::classifier(64, &recipe.hidden, 10)
        .dropout(recipe.dropout)
        .batch_norm(recipe.batch_norm);
    let mut model = config.init::<f32>(&mut rng)?;
    let mut optimizer = Adam::adamw(recipe.learning_rate, recipe.weight_decay)?;
    let steps = recipe.epochs * train.len().div_ceil(recipe.batch_size.max(1));
    let train_config = TrainConfig {
        epochs: recipe.epochs,
        batch_size: recipe.batch_size,
        schedule: Schedule::CosineWarmup {
            warmup: 0,
            total: steps,
            min_lr: recipe.learning_rate * 0.01,
        },
        seed: recipe.seed,
        clip_grad_norm: None,
        early_stopping: Some(EarlyStopping {
            patience: recipe.patience,
            ..EarlyStopping::default()
        }),
    };
    let history = model.fit(
        &mut optimizer,
        &train,
        Some(&validation),
        &train_config,
        on_progress,
    )?;
    Ok(DigitsRun {
        validation: model.evaluate(&validation)?,
        test: model.evaluate(&test)?,
        sizes: (train.len(), validation.len(), test.len()),
        config,
        model,
        history,
    })
}
