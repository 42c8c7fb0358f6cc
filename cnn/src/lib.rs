//! # cnn — spatial inductive bias: convolution and pooling
//!
//! Notes §6 (六、空间归纳偏置：卷积神经网络（CNN）, *spatial inductive bias: convolutional
//! networks*). An image is not a bag of `C·H·W` unrelated numbers: nearby pixels belong together
//! (**局部感受野**, local receptive fields), the same pattern means the same thing wherever it
//! appears (**参数共享**, parameter sharing), and so moving the input moves the features
//! (**平移不变性假设**, the translation assumption — equivariance of convolution, a little
//! invariance from pooling). §6.2: the core of a CNN is not the convolution operation but "a
//! strong assumption of spatial locality and hierarchical structure"; its success comes from a
//! very strong structural constraint and a very low effective number of parameters. A `5 x 5`
//! filter bank has `out·in·25 + out` parameters whatever the image size, where a dense layer on
//! the same image needs `out·C·H·W`; the tests state both facts as properties.
//!
//! **Inductive bias:** locality and translation equivariance on a grid — a grid input, weights
//! shared in space, local dependencies composed into a hierarchy, no memory, discriminative.
//!
//! ## Formulas
//!
//! A 2-D convolution (cross-correlation, as in every deep-learning library) with stride `s`,
//! zero padding `p` and dilation `d`:
//!
//! ```text
//! y[o, i, j] = b[o] + Σ_c Σ_u Σ_v  W[o, c, u, v] · x[c, i·s_h − p_h + u·d_h, j·s_w − p_w + v·d_w]
//! H_out = ⌊(H + 2p_h − d_h(k_h − 1) − 1) / s_h⌋ + 1          (likewise W_out)
//! ```
//!
//! It is computed as **im2col + one matrix product**: every receptive field of the whole batch
//! becomes a row of a `(B·H_out·W_out) x (C·k_h·k_w)` matrix `X̃`, and `Y = X̃ Wᵀ` is a single
//! [`optim::linalg::gemm`]. The backward pass is two more products and a scatter (col2im):
//!
//! ```text
//! ∂L/∂W = (∂L/∂Y)ᵀ X̃          ∂L/∂b = Σ ∂L/∂Y          ∂L/∂X̃ = (∂L/∂Y) W  →  col2im → ∂L/∂x
//! ```
//!
//! Pooling summarizes a window (max or mean), which buys a little invariance to small shifts;
//! batch normalization standardizes each channel over the batch and the image.
//!
//! ## Layout
//!
//! A batch of images is a [`Mat`] with **one column per image**, holding `C·H·W` values in
//! channel, row, column order (PyTorch's `NCHW` with each `CHW` block a column). The shape of
//! those columns is an [`ImageShape`]; a flat feature vector of width `n` is the shape
//! `n x 1 x 1`. Convolution weights are stored as `out x (in·k_h·k_w)` matrices whose logical
//! shape is `[out, in, k_h, k_w]`, so [`optim::checkpoint`] writes tensors that load into PyTorch.
//!
//! Training is the workspace's one loop: [`Cnn`] implements [`optim::train::Trainable`] (a
//! classifier on an [`optim::data::Dataset`]), so `net.fit(&train, validation, &mut optimizer,
//! &config, &mut on_progress)` trains it; it implements [`optim::checkpoint::Saveable`] too, so
//! [`optim::checkpoint::load_model`] rebuilds a saved network from its recorded architecture.
//!
//! ## Example
//!
//! ```
//! use cnn::{Cnn, ImageShape};
//! use optim::train::{TrainConfig, Trainable};
//! use optim::{Adam, data::Dataset};
//! let mut rng = optim::rng(0);
//! // 200 tiny 6x6 images: a vertical bar (class 0) or a horizontal bar (class 1), anywhere.
//! let data: Dataset<f32> = cnn::data::bars(200, 6, 0.1, &mut rng);
//! let mut net = Cnn::<f32>::builder(ImageShape::new(1, 6, 6))
//!     .conv(4, 3, 1, 1, &mut rng).unwrap()
//!     .relu()
//!     .max_pool(2, 2).unwrap()
//!     .flatten()
//!     .dense(2, &mut rng).unwrap()
//!     .build();
//! let mut adam = Adam::new(0.01).unwrap();
//! let config = TrainConfig::new(15, 20);
//! let history = net.fit(&data, None, &mut adam, &config, &mut |_| {}).unwrap();
//! assert_eq!(history.steps, 15 * 10);
//! assert!(net.evaluate(&data).unwrap().accuracy.unwrap() > 0.95);
//! ```

pub mod conv;
pub mod data;
pub mod layer;
pub mod layers;
pub mod net;
pub mod norm;
pub mod pool;
pub mod residual;
pub mod shape;
mod threads;

pub use conv::{Conv2d, Conv2dConfig, conv2d_direct};
pub use layer::{Layer, LayerClone, Mode};
pub use layers::{Dense, Dropout, Flatten, Nonlinearity};
pub use net::{Cnn, CnnBuilder, CnnConfig, LayerSpec};
pub use norm::BatchNorm2d;
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
pub use residual::ResidualBlock;
pub use shape::ImageShape;

pub use optim::{Error, Float, Mat, Result};

pub(crate) use layer::check_grad;
pub(crate) use shape::check_nonzero;
pub(crate) use threads::{ELEMENTWISE_CHUNK, for_each_chunk, for_each_chunk2};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §6):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // one kernel slid over the grid: local receptive fields, weights shared in space
        Coordinates {
            family: "CNN",
            input: InputStructure::Grid,
            sharing: Sharing::Space,
            dependency: Dependency::Local,
            memory: Memory::None,
            paradigm: Paradigm::Discriminative,
        },
    ]
};
