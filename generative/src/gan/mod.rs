//! # §9.2 generative adversarial networks — learning as a game
//!
//! Notes §9.2 (生成式对抗网络 GAN): a **generator** fits the data distribution (生成器：拟合数据分布)
//! and a **discriminator** tells real from fake (判别器：区分真伪); the value of the idea is that
//! it **turns learning into a game** (将学习转化为博弈过程). The notes write the game as
//!
//! ```text
//! arg min_G max_D  −½ ∫ₓ [ p_data(x) log D(x) + p_g(x) log(1 − D(x)) ] dx
//! ```
//!
//! (Goodfellow et al. 2014 write the same game without the `−½`, as `min_G max_D V(D, G)`,
//! `V = E_{x∼p_data} log D(x) + E_{z∼p_z} log(1 − D(G(z)))`; the factor and sign change only
//! the scale and direction in which the value is read, so the code minimizes `−V` for `D`).
//!
//! ## Formulas, next to the code that computes them
//!
//! ```text
//! discriminator:  L_D = −mean log D(x) − mean log(1 − D(G(z))),  D = σ(a)     losses, Discriminator::loss
//! minimax G:      L_G = mean log(1 − D(G(z)))                                  Objective::Minimax
//! non-saturating: L_G = −mean log D(G(z))                                      Objective::NonSaturating
//! optimal D:      D*(x) = p_data(x) / (p_data(x) + p_g(x))      (Proposition 1)
//!                 V(D*, G) = −log 4 + 2 JSD(p_data ‖ p_g): at p_g = p_data, L_D = 2 ln 2
//! WGAN-GP:        L_C = mean C(G(z)) − mean C(x) + λ mean (‖∇ₓ̂ C(x̂)‖ − 1)²,
//!                 x̂ = εx + (1 − ε)G(z), ε ∼ U[0, 1];   L_G = −mean C(G(z))     Net::penalty_backward
//! packing:        D(x₁ … x_m) on m samples concatenated (PacGAN)               packing
//! minibatch std:  one more input, (1/d) Σₖ std over the batch of feature k     packing
//! averaged G:     θ̄ ← β θ̄ + (1 − β) θ_G after each generator step; sample Ḡ   GanConfig::generator_average
//! ```
//!
//! The minimax generator loss saturates: while `D` confidently rejects generated samples
//! (`D(G(z)) ≈ 0`, as it does early on), `∂ log(1 − σ(a))/∂a = −σ(a) ≈ 0`. The non-saturating
//! loss has the same fixed point and the gradient `1 − σ(a) ≈ 1` there.
//!
//! The gradient penalty's gradient is a gradient of a gradient: `∇ₓC` is a backward pass, and
//! `∂P/∂θ` back-propagates through it. [`Net::penalty_backward`] derives it in its docs and
//! writes it out by hand (no tape), and the tests check it against centred differences in
//! `f64`.
//!
//! ## Layout
//!
//! - [`net`]: the MLP both players are made of ([`Net`], [`NetConfig`]) on optim's
//!   [`Linear`](optim::Linear) layers and [`Activation`](optim::Activation)s, all products
//!   through `optim::linalg::gemm` into reused buffers;
//! - [`losses`]: the objectives and their gradients; [`packing`]: PacGAN packing and the
//!   minibatch standard deviation, with their backward;
//! - [`model`]: [`Generator`], [`Discriminator`], [`Gan`] with its [`GanConfig`]
//!   (saved and loaded as one checkpoint through optim's `Saveable`);
//! - [`train`](mod@train): the game's loop ([`train()`], [`GanTraining`] around optim's
//!   `TrainConfig`), reporting through optim's `Progress` / `EpochRecord` / `History`;
//! - [`data`]: a 1-D Gaussian, the 8-Gaussians ring and 25-Gaussians grid of PacGAN, two moons,
//!   2-D CSV point clouds, optdigits in `[0, 1]`; [`metrics`]: modes covered, high-quality
//!   share, reverse KL ([`ModeReport`]), the two-sample KS statistic.
//!
//! ## Example
//!
//! ```
//! use generative::gan::{self, Gan, GanConfig, GanTraining, NetConfig, data, metrics};
//! use optim::{Adam, train::TrainConfig};
//! // learn N(1, 0.5²) from noise in a second
//! let mut rng = optim::rng(0);
//! let x = data::gaussian_1d::<f32>(2048, 1.0, 0.5, &mut rng);
//! let config = GanConfig::new(1, 1)
//!     .with_generator(NetConfig::new(&[16]).with_activation(optim::Activation::Tanh))
//!     .with_discriminator(NetConfig::new(&[16]).with_activation(optim::Activation::Tanh));
//! let mut model = Gan::<f32>::new(&config, &mut rng)?;
//! let mut g_opt = Adam::new(2e-3)?.betas(0.5, 0.999)?;
//! let mut d_opt = Adam::new(2e-3)?.betas(0.5, 0.999)?;
//! let training = GanTraining::new(TrainConfig::new(60, 64).seed(1));
//! let history = gan::train(&mut model, &x, &mut g_opt, &mut d_opt, &training, &mut |_| {})?;
//! assert_eq!(history.steps, 60 * 32);
//! let samples: Vec<f64> = model.sample(4000, &mut rng)?.iter().map(|&v| f64::from(v)).collect();
//! let mean = samples.iter().sum::<f64>() / 4000.0;
//! let sd = (samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4000.0).sqrt();
//! assert!((mean - 1.0).abs() < 0.1 && (sd - 0.5).abs() < 0.1, "mean {mean}, sd {sd}");
//! let data: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
//! assert!(metrics::ks_statistic(&samples, &data) < 0.2);   // a collapsed G has KS near 1
//! # Ok::<(), generative::gan::GanError>(())
//! ```

pub mod data;
pub mod error;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod net;
pub mod packing;
pub mod train;

pub use data::Mixture;
pub use error::{GanError, Result};
pub use metrics::{ClassReport, ModeReport, class_report, ks_statistic};
pub use model::{
    Discriminator, DiscriminatorLoss, Gan, GanConfig, Generator, MAX_PARAMETERS, Objective,
};
pub use net::{Net, NetConfig};
pub use train::{GanPosition, GanTraining, load_training, save_training, train, train_resume};
