//! The residual block (He et al. 2016): the layers learn a correction `F(x)` to the identity,
//! `y = relu(F(x) + shortcut(x))`, so a deep stack can always fall back to passing its input
//! through, and the gradient has a path that skips every block.
//!
//! ```text
//! F(x)        = BN(conv3x3(relu(BN(conv3x3_s(x)))))
//! shortcut(x) = x                       if the shape is unchanged
//!             = BN(conv1x1_s(x))        otherwise (the projection shortcut)
//! ∂L/∂x       = ∂F/∂xᵀ g + ∂shortcut/∂xᵀ g,   g = ∂L/∂(F + shortcut) = relu'(·) ⊙ ∂L/∂y
//! ```
//!
//! Parameter names follow torchvision's `BasicBlock`: `conv1`, `bn1`, `conv2`, `bn2`,
//! `downsample.0` (the 1x1 convolution) and `downsample.1` (its batch norm).
//!
//! ```
//! use cnn::{ImageShape, Layer, ResidualBlock};
//! let mut rng = optim::rng(0);
//! // same shape: identity shortcut, 2·(4·4·9) + 4·4 = 304 parameters
//! let mut same = ResidualBlock::<f64>::new(ImageShape::new(4, 6, 6), 4, 1, &mut rng)?;
//! assert!(same.downsample.is_none());
//! assert_eq!(optim::param_count(&mut same), 304);
//! // stride 2 and 8 channels: a projection shortcut, output 8 x 3 x 3
//! let down = ResidualBlock::<f64>::new(ImageShape::new(4, 6, 6), 8, 2, &mut rng)?;
//! assert_eq!(down.output_shape(), ImageShape::new(8, 3, 3));
//! assert!(down.downsample.is_some());
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{BatchNorm2d, Conv2d, Conv2dConfig, ImageShape, Layer, Mode, Nonlinearity, check_grad};
use optim::linalg::resize_buffer;
use optim::{Activation, Float, Mat, Param, Parameters, Result, visit_child, visit_child_buffers};
use rand::Rng;

/// A basic residual block: two 3x3 convolutions with batch norm and ReLU, plus a shortcut.
///
/// # Shapes
/// Input `(C_in·H·W) x B`, output `(C_out·H'·W') x B` with `H' = ⌊(H − 1)/s⌋ + 1`.
#[derive(Debug, Clone)]
pub struct ResidualBlock<F: Float> {
    /// First 3x3 convolution (stride `s`, padding 1, no bias).
    pub conv1: Conv2d<F>,
    /// Its batch norm.
    pub bn1: BatchNorm2d<F>,
    relu1: Nonlinearity<F>,
    /// Second 3x3 convolution (stride 1, padding 1, no bias).
    pub conv2: Conv2d<F>,
    /// Its batch norm.
    pub bn2: BatchNorm2d<F>,
    /// The projection shortcut (1x1 convolution with stride `s`, and batch norm), present when
    /// the block changes the channel count or the resolution.
    pub downsample: Option<(Conv2d<F>, BatchNorm2d<F>)>,
    relu_out: Nonlinearity<F>,
    sum: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> ResidualBlock<F> {
    /// A block from `input` to `out_channels` channels with the given stride.
    ///
    /// # Errors
    /// Zero channels or stride.
    pub fn new(
        input: ImageShape,
        out_channels: usize,
        stride: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let c1 = Conv2dConfig::new(input.channels, out_channels, 3)
            .stride(stride)
            .padding(1)
            .bias(false);
        let conv1 = Conv2d::new(c1, input, rng)?;
        let mid = conv1.output_shape();
        let c2 = Conv2dConfig::new(out_channels, out_channels, 3)
            .padding(1)
            .bias(false);
        let conv2 = Conv2d::new(c2, mid, rng)?;
        let downsample = if mid != input {
            let cs = Conv2dConfig::new(input.channels, out_channels, 1)
                .stride(stride)
                .bias(false);
            Some((Conv2d::new(cs, input, rng)?, BatchNorm2d::new(mid)?))
        } else {
            None
        };
        Ok(ResidualBlock {
            conv1,
            bn1: BatchNorm2d::new(mid)?,
            relu1: Nonlinearity::new(Activation::Relu, mid),
            conv2,
            bn2: BatchNorm2d::new(mid)?,
            downsample,
            relu_out: Nonlinearity::new(Activation::Relu, mid),
            sum: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }
}

impl<F: Float> Parameters<F> for ResidualBlock<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child("conv1", &mut self.conv1, visit);
        visit_child("bn1", &mut self.bn1, visit);
        visit_child("conv2", &mut self.conv2, visit);
        visit_child("bn2", &mut self.bn2, visit);
        if let Some((conv, bn)) = &mut self.downsample {
            visit_child("downsample.0", conv, visit);
            visit_child("downsample.1", bn, visit);
        }
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        visit_child_buffers("bn1", &mut self.bn1, visit);
        visit_child_buffers("bn2", &mut self.bn2, visit);
        if let Some((_, bn)) = &mut self.downsample {
            visit_child_buffers("downsample.1", bn, visit);
        }
    }
}

impl<F: Float> Layer<F> for ResidualBlock<F> {
    fn kind(&self) -> &'static str {
        "residual_block"
    }
    fn input_shape(&self) -> ImageShape {
        self.conv1.input_shape()
    }
    fn output_shape(&self) -> ImageShape {
        self.conv2.output_shape()
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, mode: Mode) -> Result<&'a Mat<F>> {
        let h = self.conv1.forward(x, mode)?;
        let h = self.bn1.forward(h, mode)?;
        let h = self.relu1.forward(h, mode)?;
        let h = self.conv2.forward(h, mode)?;
        let main = self.bn2.forward(h, mode)?;
        let shortcut = match &mut self.downsample {
            Some((conv, bn)) => {
                let s = conv.forward(x, mode)?;
                bn.forward(s, mode)?
            }
            None => x,
        };
        resize_buffer(&mut self.sum, main.nrows(), main.ncols());
        for ((s, &a), &b) in self.sum.iter_mut().zip(main.iter()).zip(shortcut.iter()) {
            *s = a + b;
        }
        self.relu_out.forward(&self.sum, mode)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("ResidualBlock", dy, self.sum.shape())?;
        let g = self.relu_out.backward(dy, true)?;
        let h = self.bn2.backward(g, true)?;
        let h = self.conv2.backward(h, true)?;
        let h = self.relu1.backward(h, true)?;
        let h = self.bn1.backward(h, true)?;
        let dx_main = self.conv1.backward(h, need_input_grad)?;
        let dx_short = match &mut self.downsample {
            Some((conv, bn)) => {
                let s = bn.backward(g, true)?;
                conv.backward(s, need_input_grad)?
            }
            None => g,
        };
        if !need_input_grad {
            resize_buffer(&mut self.dx, 0, 0);
            return Ok(&self.dx);
        }
        resize_buffer(&mut self.dx, dx_main.nrows(), dx_main.ncols());
        for ((d, &a), &b) in self.dx.iter_mut().zip(dx_main.iter()).zip(dx_short.iter()) {
            *d = a + b;
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let h = self.conv1.predict(x)?;
        let h = self.bn1.predict(&h)?;
        let h = self.relu1.predict(&h)?;
        let h = self.conv2.predict(&h)?;
        let mut main = self.bn2.predict(&h)?;
        match &self.downsample {
            Some((conv, bn)) => main += bn.predict(&conv.predict(x)?)?,
            None => main += x,
        }
        self.relu_out.predict(&main)
    }

    fn min_batch(&self) -> usize {
        self.bn1.min_batch()
    }
}
