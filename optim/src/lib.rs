//! # optim — the shared foundation
//!
//! Notes §1 (一、深度学习的第一性原理, *first principles*): deep learning approximates a mapping
//! with **composable, differentiable, parameterized functions** and finds a solution by
//! **gradient-based optimization**. Notes §5 (五、优化的本质与训练动力学, *optimization and training
//! dynamics*): ill-conditioning, local minima and saddle points are the nature of high-dimensional
//! non-convex optimization; SGD "trades noise for scalability", and momentum, Nesterov's
//! accelerated gradient and Adam improve on it.
//!
//! **Inductive bias:** none of its own — it holds the differentiable pieces and the optimizers
//! every family shares, and the §2.1 coordinates ([`bias`]) each chapter's family is placed in.
//!
//! This crate is what every chapter shares:
//!
//! - [`bias`]: the §2.1 coordinates of inductive bias every chapter places its families in;
//! - [`scalar`]: the [`Float`] type (`f32` to train, `f64` to check gradients), [`Mat`] with one
//!   column per example, and the stable [`softmax`] / [`log_softmax`] / [`logsumexp`];
//! - [`linalg`]: the one matrix product ([`linalg::gemm`]) that every hot path goes through;
//! - [`init`]: seeded Xavier, He, orthogonal initialization;
//! - [`param`]: [`Param`] and the [`Parameters`] listing by stable dotted name;
//! - [`layers`], [`norm`] and [`activation`]: [`Linear`] `y = Wx + b` (and the one
//!   [`affine_forward`] / [`affine_backward`] pair behind every affine layer, tied ones included),
//!   [`Embedding`], [`Dropout`], [`BatchNorm`] for vectors and images, the activations — each a
//!   forward/backward pair with a cache;
//! - [`loss`]: MSE, binary and soft-max cross-entropy, hinge, each with its gradient;
//! - [`optimizer`]: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW, step for step as
//!   PyTorch; [`schedule`]: learning-rate schedules and gradient clipping;
//! - [`gradcheck`]: the centred-difference checker every test uses;
//! - [`testfns`]: Rosenbrock, ill-conditioned quadratics and a strict saddle, the paths optimizers
//!   take on them and the escape from the saddle with and without gradient noise;
//! - [`landscape`]: per-example, mini-batch and full gradients of any trainable model (§5.2: the
//!   mini-batch gradient is unbiased, its variance `σ²(N − B)/(B(N − 1))`), Hessian-vector products
//!   by differences of gradients and the sharpness `λ_max` by power iteration;
//! - [`data`]: batching, splits, standardization, loaders and generators; [`augment`]: random
//!   translations and rotations of training images, drawn from the training loop's generator;
//! - [`train`]: the one training loop ([`Trainable`], [`TrainConfig`], [`Progress`],
//!   [`History`]) every gradient-trained chapter uses;
//! - [`checkpoint`]: safetensors save/load by parameter name, with the model's configuration as
//!   one JSON entry, written atomically.
//!
//! A training step reads the same in every chapter — forward, loss, zero_grad, backward, step:
//!
//! ```
//! use optim::{Linear, Optimizer, Parameters, Sgd, loss, zero_grad};
//! let mut rng = optim::rng(0);
//! // fit y = 2x − 1 with one linear unit
//! let x = optim::Mat::<f64>::from_row_slice(1, 4, &[0.0, 1.0, 2.0, 3.0]);
//! let y = x.map(|v| 2.0 * v - 1.0);
//! let mut layer = Linear::new(1, 1, &mut rng);
//! let mut opt = Sgd::new(0.1).unwrap();
//! for _ in 0..500 {
//!     let pred = layer.forward(&x).unwrap();            // ŷ = W x + b
//!     let (_, dpred) = loss::mse(&pred, &y).unwrap();  // L = mean (ŷ − y)², ∂L/∂ŷ
//!     zero_grad(&mut layer);
//!     layer.backward(&dpred).unwrap();                  // ∂L/∂W, ∂L/∂b
//!     opt.step(&mut layer).unwrap();                    // W ← W − η ∂L/∂W
//! }
//! assert!((layer.weight.value[(0, 0)] - 2.0).abs() < 1e-6);
//! assert!((layer.bias.as_ref().unwrap().value[(0, 0)] + 1.0).abs() < 1e-6);
//! ```

pub mod activation;
pub mod augment;
pub mod bias;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod init;
pub mod landscape;
pub mod layers;
pub mod linalg;
pub mod loss;
pub mod norm;
pub mod optimizer;
pub mod param;
pub mod scalar;
pub mod schedule;
pub mod simd;
pub mod testfns;
#[cfg(feature = "testing")]
pub mod testing;
pub mod train;

pub use activation::{Activation, ActivationLayer};
pub use augment::Augment;
pub use error::{Error, Result, check_positive, check_range};
pub use gradcheck::{GradCheck, GradCheckReport, check_input, check_parameters};
pub use init::{Init, rng};
pub use layers::{
    Dropout, Embedding, GradMode, Linear, LinearConfig, affine_backward, affine_backward_with,
    affine_forward,
};
pub use norm::BatchNorm;
pub use optimizer::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
pub use param::{
    Param, Parameters, param_count, param_names, visit_child, visit_child_buffers, zero_grad,
};
pub use scalar::{
    Float, Mat, Vector, argmax_columns, check_batch, check_finite, first_non_finite,
    flush_subnormal, log_softmax, logsumexp, softmax, softmax_in_place,
};
pub use schedule::{Schedule, clip_grad_norm, clip_grad_value, grad_norm};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use nalgebra;
pub use rand;
pub use rand::rngs::StdRng;
pub use serde;
pub use train::{
    BatchLoss, EarlyStopping, EpochRecord, Evaluation, Flow, History, Monitor, Progress,
    TrainConfig, Trainable,
};
