//! Batch normalization for images (Ioffe & Szegedy 2015), PyTorch's `nn.BatchNorm2d`: each
//! channel is standardized over the batch *and* the image, then scaled and shifted. The
//! arithmetic (formulas, training and evaluation forward, both backwards) is
//! [`optim::BatchNorm`]'s, per channel of `H·W` values ([`optim::BatchNorm::images`]); this
//! layer adds the image shape and the [`Mode`].
//!
//! ```
//! use cnn::{BatchNorm2d, ImageShape, Layer, Mode};
//! use optim::Mat;
//! // one channel of 2 pixels, 2 images: the 4 values 1, 2, 3, 4 share one mean and variance
//! let mut bn = BatchNorm2d::<f64>::new(ImageShape::new(1, 1, 2))?;
//! let x = Mat::from_column_slice(2, 2, &[1., 2., 3., 4.]);
//! let y = bn.forward(&x, Mode::Train)?.clone();
//! // mean 2.5, biased variance 1.25
//! assert!((y[(0, 0)] + 1.5 / (1.25f64 + 1e-5).sqrt()).abs() < 1e-12);
//! assert!((bn.norm.running_mean[0] - 0.25).abs() < 1e-12);
//! // in evaluation mode the running statistics (mean 0.25, variance 0.9 + 0.1·5/3) are used
//! let e = bn.predict(&x)?;
//! assert!((e[(0, 0)] - 0.75 / (0.9 + 0.5 / 3.0 + 1e-5f64).sqrt()).abs() < 1e-12);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{ImageShape, Layer, Mode, check_grad};
use optim::linalg::resize_buffer;
use optim::{BatchNorm, Float, Mat, Param, Parameters, Result};

/// Batch normalization over channels (PyTorch's `nn.BatchNorm2d`; names `weight` (γ), `bias`
/// (β) and buffers `running_mean`, `running_var`): [`optim::BatchNorm`] on images. On flat
/// features (`n x 1 x 1`) it is `nn.BatchNorm1d`.
///
/// # Shapes
/// `weight`, `bias`, `running_mean`, `running_var`: `C x 1`; input and output `(C·H·W) x B`.
#[derive(Debug, Clone)]
pub struct BatchNorm2d<F: Float> {
    /// The normalization (its `weight`, `bias`, `running_mean` and `running_var` are public).
    pub norm: BatchNorm<F>,
    shape: ImageShape,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> BatchNorm2d<F> {
    /// Batch normalization of images of shape `shape`, with `ε = 1e-5`, momentum `0.1`.
    ///
    /// # Errors
    /// If the shape has no channels.
    pub fn new(shape: ImageShape) -> Result<Self> {
        crate::check_nonzero("BatchNorm2d channels", shape.channels)?;
        Ok(BatchNorm2d {
            norm: BatchNorm::images(shape.channels, shape.area()),
            shape,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    /// Sets the momentum `m ∈ (0, 1]` (the weight of the current batch in the running
    /// statistics) and `ε > 0`, as [`optim::BatchNorm::with_options`].
    ///
    /// # Errors
    /// If `momentum` or `eps` is out of range.
    pub fn with_options(mut self, momentum: f64, eps: f64) -> Result<Self> {
        self.norm = self.norm.with_options(momentum, eps)?;
        Ok(self)
    }
}

impl<F: Float> Parameters<F> for BatchNorm2d<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        self.norm.visit_params(visit)
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        self.norm.visit_buffers(visit)
    }
}

impl<F: Float> Layer<F> for BatchNorm2d<F> {
    fn kind(&self) -> &'static str {
        "batch_norm2d"
    }
    fn input_shape(&self) -> ImageShape {
        self.shape
    }
    fn output_shape(&self) -> ImageShape {
        self.shape
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, mode: Mode) -> Result<&'a Mat<F>> {
        self.shape.check("BatchNorm2d input", x)?;
        match mode {
            Mode::Train => self.norm.forward_train_into(x, &mut self.output)?,
            Mode::Eval => self.norm.forward_eval_into(x, &mut self.output)?,
        }
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("BatchNorm2d", dy, self.output.shape())?;
        if need_input_grad {
            self.norm.backward_into(dy, Some(&mut self.dx))?;
        } else {
            self.norm.backward_into(dy, None)?;
            resize_buffer(&mut self.dx, 0, 0);
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check("BatchNorm2d input", x)?;
        self.norm.predict(x)
    }

    fn min_batch(&self) -> usize {
        if self.shape.area() < 2 { 2 } else { 1 }
    }
}
