//! Ready-made runs, shared by the tests, the examples and the tour (each takes a progress
//! callback and returns the trained network with its history):
//!
//! - [`xor`]: XOR with one hidden layer of 2 tanh units;
//! - [`sine`]: `sin x` on `[−π, π]` with one hidden layer of 32 tanh units (regression);
//! - [`two_spirals`]: two interleaved spirals with two hidden layers of 64 tanh units;
//! - [`digits`]: handwritten digits (UCI optdigits, 8x8 block counts `0..=16`) with a seeded
//!   held-out test split, a validation split for early stopping, and the network and optimizer
//!   of [`DigitsRecipe::default`];
//! - [`decision_grid`]: a 2-D classifier's predicted classes on a grid, for plots.
//!
//! ```
//! use mlp::{Config, recipes::decision_grid};
//! // a linear classifier with logits (x, −x): class 0 right of the y axis, class 1 left of it
//! let mut model = Config::classifier(2, &[], 2).init::<f32>(&mut optim::rng(0))?;
//! let layer = model.linear_mut(0).unwrap();
//! layer.weight.value = optim::Mat::from_row_slice(2, 2, &[1.0, 0.0, -1.0, 0.0]);
//! layer.bias.as_mut().unwrap().value.fill(0.0);
//! let grid = decision_grid(&model, (-1.0, 1.0), (-1.0, 1.0), 3)?;
//! // rows from y = −1; x = −1, 0, 1 (a tie at x = 0 goes to the first class)
//! assert_eq!(grid, [1, 0, 0, 1, 0, 0, 1, 0, 0]);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::network::{Config, Mlp};
use optim::data::Dataset;
use optim::train::{EarlyStopping, Evaluation, History, Progress, TrainConfig, Trainable};
use optim::{Activation, Adam, Error, Mat, Result, Schedule};

/// A trained network with its data and history.
#[derive(Debug, Clone)]
pub struct Run {
    /// The trained network.
    pub model: Mlp<f32>,
    /// The training data.
    pub data: Dataset<f32>,
    /// Per-epoch record.
    pub history: History,
    /// Loss (and accuracy) after training: on the training set for [`xor`] and
    /// [`two_spirals`], on 1001 evenly spaced points (training points and between them) for
    /// [`sine`].
    pub evaluation: Evaluation,
}

/// XOR's four points, a 2-2-2 tanh network from `seed`, Adam (η = 0.05), 1000 full-batch
/// epochs. Most seeds reach accuracy 1 and a loss near 0; some stop in the local minimum where
/// two points are right and two sit at 50/50 (loss ln 2 / 2).
pub fn xor(seed: u64, on_progress: &mut dyn FnMut(Progress<'_>)) -> Result<Run> {
    let data = optim::data::generate::xor::<f32>();
    let config = Config::classifier(2, &[2], 2).activation(Activation::Tanh);
    let mut model = config.init::<f32>(&mut optim::rng(seed))?;
    let mut adam = Adam::new(0.05)?;
    let train = xor_train_config(seed);
    let history = model.fit(&data, None, &mut adam, &train, on_progress)?;
    let evaluation = model.evaluate(&data)?;
    Ok(Run {
        model,
        data,
        history,
        evaluation,
    })
}

/// The training settings of [`xor`]: 1000 full-batch epochs, shuffled with `seed`.
pub fn xor_train_config(seed: u64) -> TrainConfig {
    TrainConfig::new(1000, 4).seed(seed)
}

/// `n` evenly spaced points of `sin x` on `[−π, π]` as regression data (`1 x n`).
pub fn sine_data(n: usize) -> Result<Dataset<f32>> {
    if n < 2 {
        return Err(Error::hyper("n", n, "needs at least 2 points"));
    }
    let pi = std::f64::consts::PI;
    let xs: Vec<f64> = (0..n)
        .map(|i| -pi + 2.0 * pi * i as f64 / (n - 1) as f64)
        .collect();
    Dataset::regression(
        Mat::from_fn(1, n, |_, j| xs[j] as f32),
        Mat::from_fn(1, n, |_, j| xs[j].sin() as f32),
    )
}

/// `sin x` from 256 points with a 1-32-1 tanh network, Adam (η = 0.01) with warm-up and cosine
/// decay, 600 epochs of batches of 32; evaluated on 1001 points.
pub fn sine(on_progress: &mut dyn FnMut(Progress<'_>)) -> Result<Run> {
    let data = sine_data(256)?;
    let config = Config::regressor(1, &[32], 1).activation(Activation::Tanh);
    let mut model = config.init::<f32>(&mut optim::rng(0))?;
    let mut adam = Adam::new(0.01)?;
    let history = model.fit(&data, None, &mut adam, &sine_train_config(), on_progress)?;
    let evaluation = model.evaluate(&sine_data(1001)?)?;
    Ok(Run {
        model,
        data,
        history,
        evaluation,
    })
}

/// The training settings of [`sine`]: 600 epochs of batches of 32 (8 steps each), 100 steps
/// of warm-up, then a cosine down to `1e-4`.
pub fn sine_train_config() -> TrainConfig {
    let epochs = 600;
    TrainConfig::new(epochs, 32).schedule(Schedule::CosineWarmup {
        warmup: 100,
        total: epochs * 8,
        min_lr: 1e-4,
    })
}

/// Two spirals of 200 points each (1.5 turns, no noise), a 2-64-64-2 tanh network, Adam
/// (η = 0.01), 400 epochs of batches of 32.
pub fn two_spirals(on_progress: &mut dyn FnMut(Progress<'_>)) -> Result<Run> {
    let data = optim::data::generate::two_spirals::<f32>(200, 1.5, 0.0, &mut optim::rng(3));
    let config = Config::classifier(2, &[64, 64], 2).activation(Activation::Tanh);
    let mut model = config.init::<f32>(&mut optim::rng(0))?;
    let mut adam = Adam::new(0.01)?;
    let train = TrainConfig::new(400, 32);
    let history = model.fit(&data, None, &mut adam, &train, on_progress)?;
    let evaluation = model.evaluate(&data)?;
    Ok(Run {
        model,
        data,
        history,
        evaluation,
    })
}

/// The predicted class at each point of an `n x n` grid over `[x0, x1] x [y0, y1]`, row by
/// row from `y0` (entry `i·n + j` is at `x = x0 + j·(x1 − x0)/(n − 1)`,
/// `y = y0 + i·(y1 − y0)/(n − 1)`): a classifier's decision regions, for plots.
///
/// # Errors
/// A network without 2 inputs, or `n < 2`.
pub fn decision_grid(
    model: &Mlp<f32>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    n: usize,
) -> Result<Vec<usize>> {
    if n < 2 {
        return Err(Error::hyper(
            "n",
            n,
            "a grid needs at least 2 points per side",
        ));
    }
    let step = |a: f64, b: f64, k: usize| a + (b - a) * k as f64 / (n - 1) as f64;
    let points = Mat::from_fn(2, n * n, |r, c| {
        let (i, j) = (c / n, c % n);
        if r == 0 {
            step(x0, x1, j) as f32
        } else {
            step(y0, y1, i) as f32
        }
    });
    model.predict_classes(&points)
}

/// The MLP classifier recipe — the defaults a practitioner would pick, in one place — used by
/// [`digits`] (optdigits), by [`classifier`] on any labelled data (MNIST in
/// `examples/select.rs`) and by the tour: ReLU hidden layers with batch norm and dropout,
/// AdamW (decoupled weight decay), a cosine schedule, and early stopping on a validation split
/// taken from the *training* data, ending with the best epoch's weights. Defaults in brackets;
/// `examples/select.rs` compares it with the plain loop by k-fold cross-validation on training
/// data only (README, "Choosing the recipe").
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

/// The shared recipe under its general name.
pub type Recipe = DigitsRecipe;

impl DigitsRecipe {
    /// The training settings for `n` training examples: the recipe's epochs and batch size, a
    /// cosine from the base rate to 1 % of it over all steps, its seed, and early stopping on
    /// validation loss with restore-best-weights.
    pub fn train_config(&self, n: usize) -> TrainConfig {
        TrainConfig::new(self.epochs, self.batch_size)
            .cosine(n, self.learning_rate * 0.01)
            .seed(self.seed)
            .early_stopping(EarlyStopping::patience(self.patience))
    }
}

/// The outcome of [`classifier`].
#[derive(Debug, Clone)]
pub struct ClassifierRun {
    /// The trained network (best validation epoch).
    pub model: Mlp<f32>,
    /// Its configuration.
    pub config: Config,
    /// Per-epoch losses and accuracies.
    pub history: History,
    /// Loss and accuracy on the validation split (taken from the training data).
    pub validation: Evaluation,
    /// Examples in the (train, validation) splits.
    pub sizes: (usize, usize),
}

/// Trains the recipe's classifier on `data` (features already scaled; labels `0..classes`):
/// `recipe.validation_fraction` of it (seeded by `rng`) is set aside for early stopping, the
/// rest trains an `inputs-hidden…-classes` ReLU network (batch norm, dropout) with AdamW and a
/// cosine schedule ([`DigitsRecipe::train_config`]); the network ends with the best validation
/// epoch's weights. Nothing outside `data` is looked at.
///
/// # Errors
/// Data too small to split, labels out of range, or a training error.
pub fn classifier(
    data: &Dataset<f32>,
    recipe: &DigitsRecipe,
    rng: &mut optim::StdRng,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ClassifierRun> {
    let classes = data.classes();
    let (train, validation) = data.split(recipe.validation_fraction, rng)?;
    let config = Config::classifier(data.x.nrows(), &recipe.hidden, classes)
        .dropout(recipe.dropout)
        .batch_norm(recipe.batch_norm);
    let mut model = config.init::<f32>(rng)?;
    let mut optimizer = Adam::adamw(recipe.learning_rate, recipe.weight_decay)?;
    let train_config = recipe.train_config(train.len());
    let history = model.fit(
        &train,
        Some(&validation),
        &mut optimizer,
        &train_config,
        on_progress,
    )?;
    Ok(ClassifierRun {
        validation: model.evaluate(&validation)?,
        sizes: (train.len(), validation.len()),
        config,
        model,
        history,
    })
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
    let labels = dataset.class_labels("digits data")?.to_vec();
    let data = Dataset::classification(dataset.x.map(|v| v / 16.0), labels)?;
    let mut rng = optim::rng(recipe.seed);
    let (rest, test) = data.split(recipe.test_fraction, &mut rng)?;
    let run = classifier(&rest, recipe, &mut rng, on_progress)?;
    Ok(DigitsRun {
        test: run.model.evaluate(&test)?,
        sizes: (run.sizes.0, run.sizes.1, test.len()),
        validation: run.validation,
        config: run.config,
        model: run.model,
        history: run.history,
    })
}
