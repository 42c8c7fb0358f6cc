//! # classic — models with a specific inductive bias (notes §10)
//!
//! Notes §10, 十、补充模型：特定归纳假设的探索 (*supplementary models: exploring particular
//! inductive hypotheses*):
//!
//! - 径向基神经网络：局部响应假设 — **radial basis function networks: the local-response
//!   hypothesis** ([`rbf`]). A hidden unit answers only near its centre, `φ(‖x − c‖/σ)`, and the
//!   output is a linear combination of such bumps, `y = Σ_j w_j φ(‖x − c_j‖²/σ_j²) + b`. Because the
//!   model is linear in `w` once centres and widths are fixed, it trains in two stages: centres by
//!   k-means ([`kmeans`]), widths by a nearest-neighbour rule, output weights by one linear
//!   least-squares solve. With one centre per training point it interpolates exactly.
//! - 自组织映射（SOM）：拓扑保持映射 — **self-organizing maps: topology-preserving mappings**
//!   ([`som`]). A grid of units competes for each input; the winner `c` and its grid neighbours move
//!   toward it, `w_k ← w_k + η h(‖p_k − p_c‖; σ)(x − w_k)`, so that units close on the grid end up
//!   with close weights — a 2-D picture of high-dimensional data, read through the U-matrix.
//! - 模糊神经网络：不确定性建模 — **fuzzy neural networks: modelling uncertainty** (ANFIS,
//!   Jang 1993, [`anfis`]: a Takagi–Sugeno fuzzy system as a five-layer network, trained by least
//!   squares and gradient descent; it shares the Mackey-Glass benchmark of [`mackey_glass`]).
//!
//! 这些模型逐渐淡出主流，但其思想被继承 — *these models faded from the mainstream, but their ideas
//! live on*: the Gaussian RBF is the Gaussian kernel of kernel machines; a soft-max over negative
//! squared distances to centres is attention as a soft lookup; a SOM's weight grid is an embedding
//! whose geometry means something.
//!
//! **Inductive bias:** one specific assumption per model — local response (RBF), a
//! topology-preserving low-dimensional map (SOM), fuzzy if–then rules (ANFIS).
//!
//! ## What is here
//!
//! | module | contents |
//! |---|---|
//! | [`rbf`] | [`rbf::Rbf`] (Gaussian, multiquadric, inverse multiquadric), least squares by QR or SVD with a ridge term and singularity errors, hand-written backward, [`rbf::fit`], [`rbf::fit_classifier`], gradient training through `optim::train::fit` (`Rbf: Trainable`), save/load (`Rbf: Saveable`) |
//! | [`kmeans`] | Lloyd's k-means with seeded k-means++ seeding and restarts |
//! | [`som`] | [`som::Som`] on rectangular or hexagonal grids; Gaussian, bubble, Mexican-hat neighbourhoods; linear, exponential, asymptotic decay; random, sample, PCA init; online and batch training; BMU, winner map, activation response, U-matrix, quantization and topographic error — all as MiniSom 2.3.6 defines them |
//! | [`anfis`] | [`anfis::Anfis`]: bell, Gaussian, triangular, trapezoidal membership functions with gradients; grid, k-means or subtractive-clustering rules; least-squares consequents; Jang's hybrid learning ([`anfis::train_hybrid`]) and gradient training; rule text, membership curves, save/load |
//! | [`mackey_glass`] | the Mackey-Glass series (Jang's integration) and Jang's prediction set-up, RMSE, NDEI |
//!
//! ## Example
//!
//! An RBF network interpolating five points exactly, and a SOM ordering itself along a line:
//!
//! ```
//! use classic::rbf::{Centres, RbfConfig, Widths, fit};
//! use classic::som::{Decay, SomConfig, train};
//! use optim::Mat;
//!
//! // y = x² at five points; one Gaussian per point, no bias: the system is square
//! let x = Mat::<f64>::from_row_slice(1, 5, &[0.0, 0.25, 0.5, 0.75, 1.0]);
//! let y = x.map(|v| v * v);
//! let config = RbfConfig {
//!     centres: Centres::AllPoints,
//!     widths: Widths::Fixed(0.2),
//!     bias: false,
//!     ..RbfConfig::default()
//! };
//! let (net, report) = fit(&config, &x, &y, &mut optim::rng(0)).unwrap();
//! assert!(report.relative_residual < 1e-12);
//! assert!((net.predict(&x).unwrap() - &y).abs().max() < 1e-12);
//!
//! // a chain of 8 units trained on points of the segment [0, 1]
//! let line = Mat::<f64>::from_fn(1, 100, |_, j| j as f64 / 99.0);
//! let som_config = SomConfig {
//!     nx: 8,
//!     ny: 1,
//!     sigma: 4.0,
//!     sigma_decay: Decay::Linear { end: 0.5 },
//!     iterations: 2000,
//!     ..SomConfig::default()
//! };
//! let (som, history) = train(&som_config, &line, &mut optim::rng(0), &mut |_, _| {}).unwrap();
//! // 2000 updates on 100 points: 20 epochs, reported through optim's History
//! assert_eq!(history.epochs.len(), 20);
//! assert!(history.last().unwrap().term("quantization_error").unwrap() < 0.1);
//! let w: Vec<f64> = som.weights.value.iter().copied().collect();
//! let ordered = w.windows(2).all(|p| p[0] < p[1]) || w.windows(2).all(|p| p[0] > p[1]);
//! assert!(ordered);
//! ```

pub mod anfis;
pub mod kmeans;
pub mod mackey_glass;
pub mod rbf;
pub mod som;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §10):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // each unit answers to a neighbourhood of its centre
        Coordinates {
            family: "RBF network",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Local,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
        // prototypes of the data on a grid, updated in neighbourhoods; no labels
        Coordinates {
            family: "SOM",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Local,
            memory: Memory::None,
            paradigm: Paradigm::Generative,
        },
        // fuzzy rules, each active on a region of the input
        Coordinates {
            family: "ANFIS",
            input: InputStructure::Vector,
            sharing: Sharing::None,
            dependency: Dependency::Local,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
    ]
};
