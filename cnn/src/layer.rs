//! The [`Layer`] trait every building block of a [`crate::Cnn`] implements, and the [`Mode`]
//! of a forward pass.
//!
//! ```
//! use cnn::{Flatten, ImageShape, Layer, Mode};
//! use optim::Mat;
//! // a shape-only layer: forward and backward pass their argument through
//! let mut flat = Flatten::new(ImageShape::new(2, 2, 2));
//! let x = Mat::from_fn(8, 3, |i, j| (i + 10 * j) as f64);
//! assert_eq!(Layer::<f64>::output_shape(&flat), ImageShape::flat(8));
//! assert_eq!(flat.forward(&x, Mode::Eval)?, &x);
//! assert_eq!(Layer::<f64>::min_batch(&flat), 1);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{Conv2d, ImageShape};
use optim::{Error, Float, Mat, Parameters, Result};
use std::fmt;

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
pub trait Layer<F: Float>: Parameters<F> + fmt::Debug + Send + LayerClone<F> {
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
    /// Whether the layer draws random numbers in training mode (dropout with `p > 0`): the
    /// training loop then re-seeds it from the loop's generator before every batch.
    fn is_random(&self) -> bool {
        false
    }
    /// The smallest batch the layer can train on: 2 for batch normalization of single values
    /// (the variance of one value is undefined), 1 otherwise.
    fn min_batch(&self) -> usize {
        1
    }
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

/// Cloning a boxed layer (a network is a list of boxed layers, and data-parallel training
/// replicates the network). Implemented for every [`Layer`] that is [`Clone`]; derive `Clone`
/// on a layer of your own.
pub trait LayerClone<F: Float> {
    /// A boxed copy of the layer (weights, gradients and caches).
    fn clone_box(&self) -> Box<dyn Layer<F>>;
}

impl<F: Float, T: Layer<F> + Clone + 'static> LayerClone<F> for T {
    fn clone_box(&self) -> Box<dyn Layer<F>> {
        Box::new(self.clone())
    }
}

impl<F: Float> Clone for Box<dyn Layer<F>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
