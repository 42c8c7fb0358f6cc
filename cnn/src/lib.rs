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
//! ## Example
//!
//! ```
//! use cnn::{Cnn, ImageShape, TrainConfig};
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
//! let config = TrainConfig { epochs: 15, batch_size: 20, ..TrainConfig::default() };
//! net.train(&data, None, &mut adam, &config, &mut |_| {}).unwrap();
//! assert!(net.evaluate(&data).unwrap().accuracy > 0.95);
//! ```

pub mod conv;
pub mod data;
pub mod layers;
pub mod net;
pub mod norm;
pub mod pool;
pub mod residual;

pub use conv::{Conv2d, Conv2dConfig, conv2d_direct};
pub use layers::{Dense, Dropout, Flatten, Nonlinearity};
pub use net::{Cnn, CnnBuilder, EpochStats, Evaluation, History, Progress, TrainConfig};
pub use norm::BatchNorm2d;
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
pub use residual::ResidualBlock;

pub use optim::{Error, Float, Mat, Result};

use optim::Parameters;
use std::fmt;

/// The shape of one image: `channels x height x width`. A flat feature vector of width `n` is
/// `n x 1 x 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Number of channels `C`.
    pub channels: usize,
    /// Height `H` (rows).
    pub height: usize,
    /// Width `W` (columns).
    pub width: usize,
}

impl ImageShape {
    /// The shape `channels x height x width`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// A flat vector of `features` values, `features x 1 x 1`.
    pub const fn flat(features: usize) -> Self {
        ImageShape::new(features, 1, 1)
    }

    /// `C·H·W`: the number of rows of a batch of such images.
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the shape holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `H·W`: the number of pixels of one channel.
    pub const fn area(&self) -> usize {
        self.height * self.width
    }

    /// Checks that `x` is a batch of images of this shape (one column per image).
    ///
    /// # Errors
    /// [`Error::Shape`] naming `context`, the expected `C x H x W` and the actual row count.
    pub fn check<F: Float>(&self, context: &str, x: &Mat<F>) -> Result<()> {
        if x.nrows() != self.len() {
            return Err(Error::Shape {
                context: format!("{context} (one image of C x H x W values per column)"),
                expected: format!("{self} = {} rows", self.len()),
                got: format!("{} rows (x {} columns)", x.nrows(), x.ncols()),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ImageShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x {} x {}", self.channels, self.height, self.width)
    }
}

/// Whether a forward pass trains (batch statistics, dropout on) or evaluates (running
/// statistics, dropout off), as PyTorch's `module.train()` / `module.eval()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Training: batch normalization uses and updates batch statistics, dropout drops.
    #[default]
    Train,
    /// Evaluation: batch normalization uses its running statistics, dropout is the identity.
    Eval,
}

/// A layer of a network: a forward/backward pair with a cache, plus a cache-free `predict`.
///
/// `forward` keeps what `backward` needs and returns a reference to its output (a buffer the
/// layer owns and reuses, or the input itself for shape-only layers, so a training step does not
/// allocate once the buffers have their size). `backward(dy)` *adds* parameter gradients into
/// [`optim::Param::grad`] and returns `∂L/∂x`; with `need_input_grad = false` (the first layer of
/// a network) it may skip computing it and return an empty matrix.
///
/// # Shapes
/// Input `input_shape().len() x batch`, output `output_shape().len() x batch`.
pub trait Layer<F: Float>: Parameters<F> + fmt::Debug + Send {
    /// A short name of the layer kind (`conv2d`, `max_pool2d`, ...).
    fn kind(&self) -> &'static str;
    /// The shape of one input image.
    fn input_shape(&self) -> ImageShape;
    /// The shape of one output image.
    fn output_shape(&self) -> ImageShape;
    /// Forward pass, caching what `backward` needs.
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    fn forward<'a>(&'a mut self, x: &'a Mat<F>, mode: Mode) -> Result<&'a Mat<F>>;
    /// Backward pass: adds parameter gradients, returns `∂L/∂x`.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last forward output.
    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>>;
    /// Inference (evaluation mode) without touching any cache.
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>>;
    /// The layer as a convolution, if it is one (to read out its filters).
    fn as_conv(&self) -> Option<&Conv2d<F>> {
        None
    }
    /// Re-seeds any random state (dropout masks); a no-op for deterministic layers.
    fn reseed(&mut self, _seed: u64) {}
}

/// Checks that `dy` has the shape of a layer's last output.
pub(crate) fn check_grad<F: Float>(
    context: &str,
    dy: &Mat<F>,
    shape: (usize, usize),
) -> Result<()> {
    if dy.shape() != shape {
        return Err(Error::shape(
            format!("{context} backward dY"),
            shape,
            dy.shape(),
        ));
    }
    Ok(())
}

/// Work (in scalar operations) below which a loop stays on one thread.
const PARALLEL_MIN_WORK: usize = 1 << 15;

/// Runs `f(index, chunk)` over `data` cut into chunks of `chunk_len` (the last may be shorter),
/// on rayon's pool when [`optim::linalg::set_threads`] asked for more than one thread and the
/// loop does at least `work` operations worth splitting; in order on this thread otherwise.
pub(crate) fn for_each_chunk<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    use rayon::prelude::*;
    if chunk_len == 0 {
        return;
    }
    if optim::linalg::threads() > 1 && work >= PARALLEL_MIN_WORK && data.len() > chunk_len {
        data.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// [`for_each_chunk`] over two buffers cut in step: `f(index, chunk_a, chunk_b)`.
pub(crate) fn for_each_chunk2<A: Send, B: Send>(
    a: &mut [A],
    a_len: usize,
    b: &mut [B],
    b_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    use rayon::prelude::*;
    if a_len == 0 || b_len == 0 {
        return;
    }
    if optim::linalg::threads() > 1 && work >= PARALLEL_MIN_WORK && a.len() > a_len {
        a.par_chunks_mut(a_len)
            .zip(b.par_chunks_mut(b_len))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.chunks_mut(a_len)
            .zip(b.chunks_mut(b_len))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// Elements per chunk of element-wise loops split over threads.
pub(crate) const ELEMENTWISE_CHUNK: usize = 1 << 14;

/// Checks that a hyperparameter counted in pixels is at least 1.
pub(crate) fn check_nonzero(name: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::hyper(name, value, "must be at least 1"));
    }
    Ok(())
}
