//! Hyperparameters shared by every perceptron in the crate, and the two label codings.
//!
//! ```
//! use perceptron::Coding;
//! assert_eq!(Coding::infer(&[-1, 1, 1])?, Coding::PlusMinusOne);
//! assert_eq!(Coding::infer(&[0, 1])?, Coding::ZeroOne);
//! assert_eq!(Coding::PlusMinusOne.label(false), -1);
//! assert!(Coding::infer(&[0, -1]).is_err());                  // mixes the two codings
//! # Ok::<(), optim::Error>(())
//! ```

use optim::{Error, Result};
use serde::{Deserialize, Serialize};

/// The order in which one epoch visits the training examples.
///
/// The perceptron is *online*: it looks at one example, updates, and moves on, so the order
/// changes the trajectory (not, on separable data, the guarantee of Novikoff's theorem, which
/// holds for every order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Examples `0, 1, …, n−1` in every epoch, as in Rosenblatt's cyclic presentation.
    Cyclic,
    /// A fresh permutation every epoch, drawn from [`optim::rng`]`(seed)` seeded once per `fit`:
    /// the same seed gives the same run.
    Shuffled {
        /// Seed of the permutation generator.
        seed: u64,
    },
}

/// Which weights the training keeps (the plain rule, or one of its two classic descendants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Rosenblatt's rule: the final weights `w(T)` are the model.
    Plain,
    /// Gallant's (1990) **pocket algorithm**: the online rule runs unchanged, and a copy of the
    /// weights with the fewest training errors among all the weights it visits (`w(0) = 0` and
    /// every `w(t)` after an update) is kept "in the pocket" and becomes the model. Only strictly
    /// fewer errors replace the pocket (Gallant's ratchet). On data that are not separable the
    /// plain rule never settles; the pocket holds the best weights it met. Each update costs one
    /// pass over the training set to score the new weights, cut short as soon as the count
    /// reaches the pocket's.
    Pocket,
    /// The **averaged perceptron** (Freund & Schapire 1999, in its averaged form): the model is
    /// the mean `w̄ = (1/T) Σ_{t=1}^{T} w(t)` of the weights after every one of the `T` online
    /// steps, a cheap approximation of the voted perceptron that generalizes better than the
    /// last `w(T)`.
    Averaged,
}

/// How binary labels are written; the rule is the same, only the unit's two output values differ.
///
/// | coding | target `d` | unit output `y = f(v)`, `v = wᵀx̃` | update `η (d − y)` on a mistake |
/// |---|---|---|---|
/// | `ZeroOne` (the notes') | `0` or `1` | `1` if `v > 0`, else `0` | `±η` |
/// | `PlusMinusOne` | `−1` or `+1` | `+1` if `v > 0`, else `−1` | `±2η` |
///
/// `v = 0` counts as the negative class in both, so the untrained unit (`w = 0`) is wrong on
/// every positive example — the convention under which Novikoff's proof counts updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coding {
    /// Targets in `{0, 1}` (the notes' `d_j`).
    ZeroOne,
    /// Targets in `{−1, +1}`.
    PlusMinusOne,
}

impl Coding {
    /// The label written for the negative (`false`) or positive (`true`) class.
    pub fn label(self, positive: bool) -> i32 {
        match (self, positive) {
            (_, true) => 1,
            (Coding::ZeroOne, false) => 0,
            (Coding::PlusMinusOne, false) => -1,
        }
    }

    /// Whether `label` is positive, negative, or not a label of this coding (`None`).
    pub fn is_positive(self, label: i32) -> Option<bool> {
        match (self, label) {
            (_, 1) => Some(true),
            (Coding::ZeroOne, 0) | (Coding::PlusMinusOne, -1) => Some(false),
            _ => None,
        }
    }

    /// The numeric value of the negative class (`0` or `−1`), used in `d − y`.
    pub(crate) fn negative_value(self) -> f64 {
        match self {
            Coding::ZeroOne => 0.0,
            Coding::PlusMinusOne => -1.0,
        }
    }

    /// The coding the labels are written in: `{0, 1}` if every label is 0 or 1, `{−1, +1}` if
    /// every label is −1 or 1 (all-ones reads as `{0, 1}`).
    ///
    /// # Errors
    /// [`Error::Data`] naming the first label (and its position) that fits neither coding, or
    /// mixing `0` with `−1`.
    pub fn infer(labels: &[i32]) -> Result<Coding> {
        let mut coding: Option<Coding> = None;
        for (j, &l) in labels.iter().enumerate() {
            let this = match l {
                1 => continue,
                0 => Coding::ZeroOne,
                -1 => Coding::PlusMinusOne,
                other => {
                    return Err(Error::Data(format!(
                        "label {other} at position {j} is outside the classes {{0, 1}} (or {{-1, +1}})"
                    )));
                }
            };
            match coding {
                None => coding = Some(this),
                Some(c) if c == this => {}
                Some(_) => {
                    return Err(Error::Data(format!(
                        "label {l} at position {j} mixes the codings {{0, 1}} and {{-1, +1}}"
                    )));
                }
            }
        }
        Ok(coding.unwrap_or(Coding::ZeroOne))
    }

    /// Checks that every label belongs to this coding.
    ///
    /// # Errors
    /// [`Error::Data`] naming the first label outside it and its position.
    pub fn check(self, labels: &[i32]) -> Result<()> {
        match labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| self.is_positive(l).is_none())
        {
            None => Ok(()),
            Some((j, l)) => Err(Error::Data(format!(
                "label {l} at position {j} is outside the classes {}",
                self.name()
            ))),
        }
    }

    /// `"{0, 1}"` or `"{-1, +1}"`, as error messages name the coding.
    pub fn name(self) -> &'static str {
        match self {
            Coding::ZeroOne => "{0, 1}",
            Coding::PlusMinusOne => "{-1, +1}",
        }
    }
}

/// Training hyperparameters (burn-style: every field has a documented default).
///
/// ```
/// use perceptron::{Config, Order, Variant};
/// let config = Config { max_epochs: 20, order: Order::Shuffled { seed: 7 }, ..Config::default() };
/// assert_eq!(config.learning_rate, 1.0);
/// assert_eq!(config.variant, Variant::Plain);
/// // checkpoints store it as JSON; absent fields keep their defaults
/// let json = serde_json::to_string(&config).unwrap();
/// assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);
/// let short: Config = serde_json::from_str(r#"{"max_epochs": 5}"#).unwrap();
/// assert_eq!((short.max_epochs, short.learning_rate), (5, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The learning rate `η > 0` of `w ← w + η (d − y) x̃`. Default `1.0`. Starting from `w = 0`
    /// it only scales the weights, never changes a prediction (see the crate docs).
    pub learning_rate: f64,
    /// The most epochs (passes over the data) to run; training stops earlier after an epoch
    /// without a mistake. Default `100`.
    pub max_epochs: usize,
    /// Presentation order. Default [`Order::Cyclic`].
    pub order: Order,
    /// Which weights the model keeps. Default [`Variant::Plain`].
    pub variant: Variant,
    /// Binary label coding; `None` (default) infers it from the labels given to `fit`. Ignored
    /// by the multiclass models, whose labels are class indices.
    pub coding: Option<Coding>,
    /// Whether each epoch's record keeps a copy of the weights (for plots). Default `true`.
    pub record_weights: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            learning_rate: 1.0,
            max_epochs: 100,
            order: Order::Cyclic,
            variant: Variant::Plain,
            coding: None,
            record_weights: true,
        }
    }
}

impl Config {
    /// Checks every hyperparameter.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] if `learning_rate` is not positive and finite or `max_epochs`
    /// is 0.
    pub fn validate(&self) -> Result<()> {
        optim::check_positive("learning_rate", self.learning_rate)?;
        if self.max_epochs == 0 {
            return Err(Error::hyper("max_epochs", 0, "must be at least 1"));
        }
        Ok(())
    }
}
