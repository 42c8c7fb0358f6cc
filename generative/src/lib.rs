//! Generative models (notes §9): the restricted Boltzmann machine and the deep belief network
//! built from it (§9.1, [`rbm`]), and the generative adversarial network (§9.2, [`gan`]).
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
//! ```
//! use generative::rbm::{Rbm, RbmConfig};
//! let rbm = Rbm::<f64>::new(RbmConfig::new(6, 3), &mut optim::rng(0))?;
//! let v = optim::Mat::from_element(6, 2, 1.0);
//! assert_eq!(rbm.hidden_probs(&v)?.shape(), (3, 2));
//! assert!(rbm.log_partition()?.is_finite());          // 2^3 hidden states enumerated
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
