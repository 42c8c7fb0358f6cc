//! # generative — energy-based and adversarial generative models
//!
//! Notes §9, 九、生成式与概率视角模型 (*generative and probabilistic models*): §9.1 深度信念网络
//! （DBN） (*deep belief networks*, "based on probabilistic graphical models, their core unit the
//! restricted Boltzmann machine") and §9.2 生成式对抗网络（GAN） (*generative adversarial
//! networks*: a generator fits the data distribution, a discriminator tells real from generated).
//! This crate implements the restricted Boltzmann machine (Bernoulli or Gaussian visible units,
//! CD-k and PCD training, exact and AIS estimates of the partition function), the deep belief
//! network built from it greedily and fine-tuned as a classifier ([`rbm`]), and the GAN with the
//! minimax, non-saturating and Wasserstein objectives on low-dimensional data ([`gan`]).
//!
//! **Inductive bias:** the data have a distribution worth modelling — an energy over visible
//! and binary hidden units (RBM), or a generator pushing noise onto the data (GAN); generative.
//!
//! ## §9.1 in one screen
//!
//! ```text
//! E(v, h) = −bᵀv − cᵀh − hᵀW v              p(v, h) = e^{−E} / Z
//! F(v)    = −bᵀv − Σᵢ softplus(cᵢ + (W v)ᵢ)  p(v) = e^{−F(v)} / Z
//! p(hᵢ=1 | v) = σ(cᵢ + (W v)ᵢ)               p(vⱼ=1 | h) = σ(bⱼ + (Wᵀh)ⱼ)
//! ∂ log p(v) / ∂W = E_data[h vᵀ] − E_model[h vᵀ]    (CD-k / PCD estimate the second term)
//! ```
//!
//! `W` is `n_h x n_v`, data are `n_v x n` with one column per example. See [`rbm`] for the
//! formulas next to the code, the exact and AIS estimates of `log Z`, and the DBN.
//!
//! ## Example
//!
//! An RBM learns two independent coins, each copied onto four visible units: CD-3 raises the
//! exact log-likelihood (log Z by enumerating the 2⁴ hidden states) from about `8 ln 2` nats per
//! example towards `2 ln 2`.
//!
//! ```
//! use generative::rbm::{CdConfig, Rbm, RbmConfig};
//! use rand::Rng;
//! let mut rng = optim::rng(0);
//! let coins: Vec<(bool, bool)> = (0..1000).map(|_| (rng.random(), rng.random())).collect();
//! let data = optim::Mat::from_fn(8, 1000, |j, n| {
//!     let c = if j < 4 { coins[n].0 } else { coins[n].1 };
//!     if c { 1.0 } else { 0.0 }
//! });
//! let mut rbm = Rbm::<f64>::new(RbmConfig::new(8, 4), &mut rng)?;
//! rbm.init_visible_bias(&data)?;
//! let before = rbm.exact_log_likelihood(&data)?;
//! let cd = CdConfig { learning_rate: 0.1, batch_size: 20, ..CdConfig::cd(3, 10) };
//! rbm.train_cd(&data, None, &cd, &mut |_| {})?;
//! let after = rbm.exact_log_likelihood(&data)?;
//! assert!(after > before + 2.0, "{before} -> {after}");
//! # Ok::<(), generative::rbm::RbmError>(())
//! ```

pub mod gan;
pub mod rbm;

pub use gan::{Gan, GanConfig, GanError, GanTraining, Mixture, Objective};
pub use rbm::{CdConfig, Dbn, DbnConfig, Rbm, RbmConfig, RbmError, Visible};

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §9):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // an energy over visible and hidden units, every pair connected
        Coordinates {
            family: "RBM",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
        // RBMs stacked, trained greedily layer by layer
        Coordinates {
            family: "DBN",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
        // a generator of samples, judged by a discriminator
        Coordinates {
            family: "GAN",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
    ]
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
