//! # autoencoder — representation learning by reconstruction
//!
//! Notes §4 (四、表示学习：自编码器体系, *representation learning: the autoencoder family*;
//! §4.1 自编码器, *AutoEncoder*). An autoencoder is an unsupervised model that learns an encoder
//! ψ and a decoder φ so that decoding the code gives back the input:
//!
//! ```text
//! φ, ψ = argmin_{φ,ψ} ‖X − (φ∘ψ)(X)‖²
//! ```
//!
//! Read information-theoretically, encoding is *lossy compression*, decoding *reconstructs the
//! signal*, and training balances the two. Its contribution, in the notes' words, is that it
//! **makes feature engineering part of the model itself**: the code `h = ψ(x)` is a learned
//! representation.
//!
//! **Inductive bias:** the data lie near a low-dimensional manifold that a bottleneck (or noise,
//! sparsity, contraction, a Gaussian prior) finds — a vector input, unsupervised.
//!
//! ## The base model and its variants
//!
//! [`Autoencoder`] is `x̂ = φ(ψ(x))` with dense layers of configurable widths and activations
//! ([`AutoencoderConfig`]), code size `k`, and MSE or binary cross-entropy. Every variant is a
//! small difference from it, and each assumes something about the data:
//!
//! | variant | difference (in the loss `L`) | assumes |
//! |---|---|---|
//! | undercomplete | `k < d`: `L = ℓ(x, φ(ψ(x)))` | the data lie near a `k`-dimensional manifold; the bottleneck is the only regularizer |
//! | tied weights | decoder `W'_j = W_{L−1−j}ᵀ` (one [`optim::Param`], gradients of both uses added) | encoding and decoding are (near) transposes, as for PCA; halves the parameters |
//! | denoising (Vincent et al. 2008) | `L = ℓ(x, φ(ψ(x̃)))`, `x̃ ~ q(x̃ \| x)` masking or Gaussian, **training only** | the clean data are a manifold that corruption pushes off; robust features undo it |
//! | sparse | `+ β Σ_j KL(ρ ‖ ρ̂_j)`, `ρ̂_j = mean_b h_jb` | each input is explained by few active units (sigmoid code in `(0, 1)`) |
//! | contractive (Rifai et al. 2011) | `+ λ mean_b ‖∂h/∂x‖²_F` | the code should be insensitive to directions off the data manifold |
//! | variational ([`Vae`], Kingma & Welling 2014) | Gaussian `q(z\|x)`, `z = μ + σ⊙ε`, `L = −E_q log p(x\|z) + KL(q ‖ N(0, I))` | a latent-variable generative model with a standard normal prior; sampling `z ~ N(0, I)` gives new data |
//!
//! The few lines of each difference are marked `VARIANT` in the source of
//! [`Autoencoder::forward_loss`] and [`Autoencoder::backward`].
//!
//! The linear reference is [`Pca`]: with linear activations and MSE, the optimal autoencoder
//! spans the top-`k` principal subspace (Baldi & Hornik 1989); see [`pca`].
//!
//! ## Formulas of the penalties' gradients
//!
//! Sparse, with `B` the batch size: `∂P/∂h_jb = (β/B)(−ρ/ρ̂_j + (1 − ρ)/(1 − ρ̂_j))`.
//!
//! Contractive, for a one-layer encoder `h = f(z)`, `z = W x + b` (the paper's setting; a
//! deeper encoder is rejected): `∂h_j/∂x_i = f'(z_j) W_ji`, so `‖J‖²_F = Σ_j f'(z_j)² ‖W_j‖²` and
//!
//! ```text
//! ∂P/∂z_jb = (λ/B) ‖W_j‖² · 2 f'(z_jb) f''(z_jb)          (then back through z = Wx + b)
//! ∂P/∂W_ji += (2λ/B) (Σ_b f'(z_jb)²) W_ji                  (the direct term)
//! ```
//!
//! For the sigmoid, `f' = h(1 − h)` and `f'' = h(1 − h)(1 − 2h)`; [`optim::Activation::d2f`]
//! gives `f''` for every activation.
//!
//! ## Training and checkpoints
//!
//! Both models implement [`optim::train::Trainable`] (module [`train`]): the data set is the
//! matrix of inputs, one example per column, and training is optim's one loop,
//! `model.fit(&x, validation, &mut optimizer, &config, &mut on_progress)`, with the training
//! randomness (corruption, reparameterization noise) drawn from [`optim::TrainConfig::seed`].
//! Both implement [`optim::checkpoint::Saveable`], so [`optim::checkpoint::save_model`] and
//! [`optim::checkpoint::load_model`] store and rebuild them from one file.
//!
//! ## Example
//!
//! ```
//! use autoencoder::{Autoencoder, AutoencoderConfig, Pca};
//! use optim::train::{TrainConfig, Trainable};
//! use optim::Adam;
//! let mut rng = optim::rng(0);
//! // 8-dimensional data near a 2-dimensional subspace
//! let (x, _) = autoencoder::data::spectral_gap::<f32>(400, 8, &[4.0, 2.0], 0.3, &mut rng);
//! let mut model = Autoencoder::new(AutoencoderConfig::linear(8, 2), &mut rng).unwrap();
//! let mut adam = Adam::new(0.01).unwrap();
//! let config = TrainConfig::new(60, 32).cosine(x.ncols(), 1e-4);
//! let history = model.fit(&x, None, &mut adam, &config, &mut |_| {}).unwrap();
//! let pca = Pca::fit(&x, 2).unwrap();
//! let (ae, best) = (model.reconstruction_error(&x).unwrap(), pca.reconstruction_error(&x).unwrap());
//! assert!(ae < 1.02 * best, "linear AE {ae} vs PCA {best}");
//! assert!(history.epochs.len() == 60);
//! ```

pub mod config;
pub mod data;
pub mod dense;
pub mod model;
pub mod pca;
pub mod recipes;
pub mod train;
pub mod vae;

pub use config::{AutoencoderConfig, Corruption, LayerSpec, Penalty, Reconstruction, VaeConfig};
pub use model::{Autoencoder, LossParts, corrupt, corrupt_into};
pub use pca::{Pca, principal_angles};
pub use vae::{Vae, kl_to_standard_normal, reparameterize};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §4):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // learns to reproduce x through a code: a model of x, not of a label
        Coordinates {
            family: "autoencoder",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
        // a latent-variable model of p(x) trained on its evidence lower bound
        Coordinates {
            family: "VAE",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Global,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
    ]
};
