//! # §9.1 restricted Boltzmann machines and deep belief networks
//!
//! Notes §9.1 (深度信念网络 DBN): built on probabilistic graphical models, with the restricted
//! Boltzmann machine as its unit. An RBM is a bipartite Markov random field over visible units
//! `v` and hidden units `h` with an energy; there are no connections within a layer, so each
//! layer is conditionally independent given the other, which is what makes block Gibbs sampling
//! and the free energy cheap.
//!
//! ## Formulas, next to the code that computes them
//!
//! ```text
//! energy         E(v, h) = −bᵀv − cᵀh − hᵀW v                       Rbm::energy
//! joint          p(v, h) = e^{−E(v,h)} / Z,  Z = Σ_{v,h} e^{−E}
//! free energy    F(v) = −log Σ_h e^{−E(v,h)} = −bᵀv − Σᵢ softplus(cᵢ + (Wv)ᵢ)   Rbm::free_energy
//! conditionals   p(hᵢ=1 | v) = σ(cᵢ + (Wv)ᵢ),  p(vⱼ=1 | h) = σ(bⱼ + (Wᵀh)ⱼ)    hidden_probs_into, visible_means_into
//! Gaussian v     E = ½‖v − b‖² − cᵀh − hᵀWv,   v | h ~ N(b + Wᵀh, I)           Visible::Gaussian
//! gradient       ∂ log p(v)/∂W = E_data[h vᵀ] − E_model[h vᵀ]                   Rbm::exact_gradient
//! CD-k           E_model ≈ p(h|vᵏ) vᵏᵀ after k Gibbs rounds from the data        Rbm::cd_gradient, train_cd
//! PCD            … from persistent chains carried across updates                CdConfig::persistent
//! update         Δθ ← μΔθ + ε(g − λW)                                           train_cd
//! exact log Z    logsumexp over the 2^m states of the smaller layer (m ≤ 20)     Rbm::log_partition
//! AIS            log Z_B ≈ log Z_A + log mean w  (module ais)                    Rbm::ais_log_partition
//! monitoring     reconstruction MSE, pseudo-log-likelihood n_v log σ(F(ṽ) − F(v)),
//!                free-energy gap mean F(held out) − mean F(train)              reconstruction_error, …
//! DBN            greedy stacking, ancestral sampling, fine-tuned classifier     Dbn, Classifier
//! ```
//!
//! ## Shapes
//!
//! Data are `n_v x n` matrices, **one column per example** (the workspace's convention);
//! `W` is `n_h x n_v` (optim's `Linear` layout from visible to hidden), `b` is `n_v x 1`, `c`
//! is `n_h x 1`. Every product goes through `optim::linalg::gemm`; the CD loop allocates its
//! buffers once per run.
//!
//! ## Layout
//!
//! - [`model`]: [`Rbm`], [`RbmConfig`], [`Visible`]: energy, conditionals, sampling, monitors;
//! - [`train`]: CD-k and PCD ([`CdConfig`], [`Rbm::train_cd`]), reporting through optim's
//!   `Progress`/`EpochRecord`/`History`;
//! - [`exact`]: log Z, log-likelihood and its gradient by enumeration;
//! - [`ais`]: annealed importance sampling with its standard error;
//! - [`dbn`]: [`Dbn`] and the feedforward [`Classifier`] fine-tuned through optim's `fit`;
//! - [`error`]: the error type, [`RbmError`].

pub mod ais;
pub mod dbn;
pub mod error;
pub mod exact;
pub mod model;
pub mod train;

pub use ais::{AisConfig, AisEstimate, base_rate_biases};
pub use dbn::{Classifier, Dbn, DbnConfig, features, fit_logistic};
pub use error::{RbmError, Result};
pub use exact::{MAX_ENUMERATED, logsumexp};
pub use model::{Rbm, RbmConfig, Visible, sample_bernoulli_into, softplus};
pub use train::{CdConfig, CdPosition, CdState, RbmGradient, free_energy_gap};
