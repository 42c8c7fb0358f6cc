//! # perceptron — learning as parameter updates
//!
//! Notes §3.1, **感知机模型** (*the perceptron model*), in chapter 三、无结构假设：感知机与前馈网络
//! (*no structural assumption: the perceptron and feedforward networks*). The problem assumption
//! is **linear separability** (数据线性可分); the structure is **a weighted sum and a threshold**
//! (线性加权 + 阈值判断). Its historical point is not its power but that it was the first to write
//! *learning* as a *parameter update*, the seed of gradient-based optimization.
//!
//! **Inductive bias:** the classes are linearly separable — a vector input, no parameter
//! sharing, one weighted sum and a threshold, no memory, discriminative.
//!
//! ## The rule
//!
//! A threshold unit computes the induced field of the augmented input `x̃ = (1, x_1, …, x_d)` —
//! the bias is the weight `w_0` on a constant input `x_0 = 1` — and fires if it is positive:
//!
//! ```text
//! v = Σ_{i=0}^{d} w_i x_i = wᵀx̃,        y = 1 if v > 0, else 0   (or −1 with ±1 labels)
//! ```
//!
//! Presented with example `j` (target `d_j`) at step `t`, it updates every weight by the notes'
//! formula
//!
//! ```text
//! w_i(t+1) = w_i(t) + η [d_j − y_j(t)] · x_{j,i}
//! ```
//!
//! — nothing when it is right, `±η x̃_j` when it is wrong. One pass over the data is an epoch;
//! training stops after an epoch with no mistake, or at an epoch limit. In code the rule is one
//! line, `add_scaled(w, η·(d − y), x)` in `train.rs`, and [`Perceptron::train_step`] exposes it.
//!
//! Facts the tests check, each a consequence of the formula:
//!
//! - **Novikoff (1962)**: if a unit vector `u` separates the data with margin `γ` and
//!   `‖x̃_j‖ ≤ R`, the rule makes at most `(R/γ)²` updates ([`novikoff`]).
//! - **Scale**: predictions depend only on the sign of `wᵀx̃`, so scaling `w` by `c > 0` changes
//!   none; from `w = 0` the weights are `η · (an integer combination of the x̃_j)`, so `η` scales
//!   `w` and changes no prediction, mistake or stopping epoch.
//! - **XOR** is not linearly separable (no `w` gets all four points right), so the rule never
//!   finishes an epoch without a mistake; the [pocket](Variant::Pocket) keeps weights with 3 of 4
//!   right, and the [kernel perceptron](KernelPerceptron) separates it in a feature space — the
//!   bridge to §3.2's hidden layers.
//!
//! ## What is here
//!
//! | type | model |
//! |---|---|
//! | [`Perceptron`] | Rosenblatt's unit; [`Variant`] chooses plain, [pocket](Variant::Pocket) or [averaged](Variant::Averaged) |
//! | [`MulticlassPerceptron`] | one weight vector per class, update the true and the predicted class |
//! | [`OneVsRest`] | one independent unit per class |
//! | [`KernelPerceptron`] | the dual form with a [`Kernel`]: linear, polynomial, Gaussian |
//! | [`novikoff`] | `R`, margins, the bound `(R/γ)²` and the largest margin |
//!
//! The rule is not gradient descent on a batch, so the crate keeps its own online loop, but every
//! model's `fit` returns a [`Run`] — the workspace's shared [`optim::train::History`] (one
//! [`optim::train::EpochRecord`] per epoch, with the epoch's [`MISTAKES`] among its terms) plus
//! whether the run converged and the weights per epoch — and `fit_with` reports each epoch
//! through the shared [`optim::train::Progress`]. Every model has `predict` and
//! `decision_function`, saves and loads through [`optim::checkpoint::save_model`] /
//! [`optim::checkpoint::load_model`] (safetensors by parameter name, with the model's kind and
//! its JSON configuration, e.g. [`PerceptronConfig`]), and returns [`Error`] for bad input:
//! empty data, labels outside the classes, a dimension mismatch, non-finite features, `η ≤ 0`.
//!
//! ```
//! use perceptron::{Config, Perceptron, novikoff};
//! let mut rng = optim::rng(3);
//! // 200 points in the plane separated by a line through the origin with margin ≥ 0.1
//! let (data, _u) = optim::data::generate::linearly_separable::<f64>(200, 2, 0.1, &mut rng).unwrap();
//! let labels: Vec<i32> = data.class_labels("separable data").unwrap().iter().map(|&l| l as i32).collect();
//! let mut unit = Perceptron::new(2, Config::default()).unwrap();
//! let run = unit.fit(&data.x, &labels).unwrap();
//! assert!(run.converged);                                       // an epoch without a mistake
//! assert_eq!(run.history.last().unwrap().term(perceptron::MISTAKES), Some(0.0));
//! assert_eq!(unit.errors(&data.x, &labels).unwrap(), 0);
//! // Novikoff: updates ≤ (R/γ)², for the best margin γ* ≥ the one found below
//! let best = novikoff::max_margin(&data.x, &labels, 2000).unwrap();
//! let bound = novikoff::mistake_bound(novikoff::radius(&data.x), best.margin);
//! assert!((run.updates() as f64) <= bound);
//! ```

mod binary;
mod config;
mod kernel;
mod multiclass;
pub mod novikoff;
mod train;

pub use binary::{Perceptron, PerceptronConfig};
pub use config::{Coding, Config, Order, Variant};
pub use kernel::{Kernel, KernelPerceptron, KernelPerceptronConfig};
pub use multiclass::{MulticlassConfig, MulticlassPerceptron, OneVsRest};
pub use optim::{Error, Result};
pub use train::{MISTAKES, OnlinePosition, OnlineState, POCKET_ERRORS, Run};

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §3.1):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // a weighted sum of every input: no structure assumed
        Coordinates {
            family: "perceptron",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
        // the same decision rule in a kernel's feature space
        Coordinates {
            family: "kernel perceptron",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
    ]
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
