//! # mlp — deep feedforward networks
//!
//! Notes §3.2 (深度前馈网络（MLP）, *deep feedforward networks*): the problem assumption is that
//! the inputs are **independent, identically distributed vectors**; the core idea is the
//! **composition of non-linear functions** — information flows one way, the non-linearity comes
//! from the activation function, and expressive power grows exponentially with depth. The MLP is
//! the jump *from a linear model to a universal function approximator*.
//!
//! A network with hidden layers `1..L` computes, for one column `x` of a batch,
//!
//! ```text
//! h⁰ = x,   hˡ = f(Wˡ hˡ⁻¹ + bˡ)  (l = 1..L),   z = W^{L+1} h^L + b^{L+1}
//! ```
//!
//! and is trained by back-propagation: with `δ = ∂L/∂z` at the top,
//! `∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ`, `∂L/∂bˡ = δˡ·1`, `δˡ⁻¹ = ((Wˡ)ᵀ δˡ) ⊙ f'(·)`. Batch normalization
//! ([`BatchNorm1d`]) may sit between each linear map and its activation, inverted dropout
//! after it.
//!
//! - [`Config`] → [`Config::init`] → [`Mlp`]: architecture apart from the seeded weights;
//! - [`Mlp::forward_train`] / [`Mlp::backward`]: the training pair, buffers reused step to step;
//!   [`Mlp::predict`] / [`Mlp::evaluate`]: `&self` inference;
//! - [`Mlp::fit`]: mini-batches, any [`optim::Optimizer`] and [`optim::Schedule`], a progress
//!   callback, early stopping with restore-best-weights, a [`History`];
//! - [`Mlp::save`] / [`Mlp::load`]: safetensors by PyTorch-style names (`layers.0.weight`);
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
//! use mlp::{Config, Data, TrainConfig};
//! use optim::{Activation, Adam};
//! // XOR: not linearly separable, solved with one hidden layer of 2 tanh units
//! let xor = optim::data::generate::xor::<f64>();
//! let data = Data::classification(xor.x, xor.labels).unwrap();
//! let config = Config::classifier(2, &[2], 2).activation(Activation::Tanh);
//! let mut model = config.init::<f64>(&mut optim::rng(2)).unwrap();
//! let mut adam = Adam::new(0.05).unwrap();
//! let train = TrainConfig { epochs: 1000, batch_size: 4, ..TrainConfig::default() };
//! model.fit(&mut adam, &data, None, &train, &mut |_| {}).unwrap();
//! let eval = model.evaluate(&data).unwrap();
//! assert_eq!(eval.accuracy, Some(1.0));
//! assert!(eval.loss < 0.05);
//! ```

pub mod batchnorm;
pub mod io;
pub mod network;
pub mod pieces;
pub mod recipes;
pub mod train;

pub use batchnorm::BatchNorm1d;
pub use network::{Config, Layer, Loss, Mlp};
pub use train::{
    Data, EarlyStopping, EpochRecord, Evaluation, History, Monitor, Progress, Targets, TrainConfig,
};

pub use optim;
