//! # mlp — deep feedforward networks
//!
//! Notes §3.2 (深度前馈网络（MLP）, *deep feedforward networks*): the problem assumption is that
//! the inputs are **independent, identically distributed vectors**; the core idea is the
//! **composition of non-linear functions** — information flows one way, the non-linearity comes
//! from the activation function, and expressive power grows exponentially with depth. The MLP is
//! the jump *from a linear model to a universal function approximator*.
//!
//! **Inductive bias:** almost none — i.i.d. vectors and a smooth composition of non-linear
//! functions (a vector input, no sharing, every input reaches every unit, no memory, discriminative).
//!
//! A network with hidden layers `1..L` computes, for one column `x` of a batch,
//!
//! ```text
//! h⁰ = x,   hˡ = f(Wˡ hˡ⁻¹ + bˡ)  (l = 1..L),   z = W^{L+1} h^L + b^{L+1}
//! ```
//!
//! and is trained by back-propagation: with `δ = ∂L/∂z` at the top,
//! `∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ`, `∂L/∂bˡ = δˡ·1`, `δˡ⁻¹ = ((Wˡ)ᵀ δˡ) ⊙ f'(·)`. Batch normalization
//! ([`optim::BatchNorm`]) may sit between each linear map and its activation, inverted dropout
//! ([`optim::Dropout`]) after it. Every layer's forward and backward is `optim`'s; this crate
//! composes them, keeping the activations in one arena reused step to step.
//!
//! - [`Config`] → [`Config::init`] → [`Mlp`]: architecture apart from the seeded weights;
//! - [`Mlp::forward_train`] / [`Mlp::backward`]: the training pair, buffers reused step to step;
//!   [`Mlp::predict`] and [`evaluate`](optim::Trainable::evaluate): `&self` inference;
//! - training: `Mlp` is an [`optim::Trainable`], so [`fit`](optim::Trainable::fit) —
//!   `model.fit(&train, validation, &mut optimizer, &config, &mut on_progress)` — runs
//!   optim's one loop on an [`optim::data::Dataset`]: mini-batches, any [`optim::Optimizer`]
//!   and [`optim::Schedule`], a progress callback, early stopping with restore-best-weights, an
//!   [`optim::History`];
//! - [`Mlp::save`] / [`Mlp::load`]: safetensors by PyTorch-style names (`layers.0.weight`) and
//!   the configuration as JSON ([`optim::checkpoint::Saveable`]);
//! - [`pieces`]: depth versus width, counted exactly — the depth-`k` sawtooth has `2^k` linear
//!   pieces, one hidden layer of `n` ReLUs at most `n + 1`;
//! - [`recipes`]: ready-made runs (XOR, `sin x`, two spirals, optdigits) and a decision-region
//!   grid, shared by the tests, the examples and the tour.
//!
//! Parameter names are those of PyTorch's `nn.Sequential` held in an attribute `layers`
//! (`layers.0.weight`, `layers.1.running_mean`, …; see [`network`]), so checkpoints move
//! between the two.
//!
//! ```
//! use mlp::Config;
//! use optim::data::Dataset;
//! use optim::{Activation, Adam, TrainConfig, Trainable};
//! // XOR: not linearly separable, solved with one hidden layer of 2 tanh units
//! let data = optim::data::generate::xor::<f64>();
//! let config = Config::classifier(2, &[2], 2).activation(Activation::Tanh);
//! let mut model = config.init::<f64>(&mut optim::rng(2)).unwrap();
//! let mut adam = Adam::new(0.05).unwrap();
//! let train = TrainConfig::new(1000, 4);
//! model.fit(&data, None, &mut adam, &train, &mut |_| {}).unwrap();
//! let eval = model.evaluate(&data).unwrap();
//! assert_eq!(eval.accuracy, Some(1.0));
//! assert!(eval.loss < 0.05);
//! ```

pub mod io;
pub mod network;
pub mod pieces;
pub mod recipes;
pub mod train;

pub use network::{Config, Layer, Loss, Mlp};

pub use optim;

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §3.2):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // every unit sees every unit of the layer below
        Coordinates {
            family: "MLP",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
    ]
};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
