//! The non-convolutional layers of a CNN: the dense (fully connected) head, element-wise
//! non-linearities, dropout and flatten, each as a [`Layer`] with reusable buffers. The
//! arithmetic is optim's: [`optim::Linear`] (the one affine forward/backward),
//! [`optim::Activation`]'s `f`/`df`, and [`optim::Dropout`]'s masks; these types add the image
//! shapes, the [`Mode`] and the threading.
//!
//! ```
//! use cnn::{Dense, ImageShape, Layer, Mode, Nonlinearity};
//! use optim::{Activation, Mat};
//! let mut dense = Dense::<f64>::new(ImageShape::new(1, 1, 3), 2, &mut optim::rng(0))?;
//! dense.linear.weight.value = Mat::from_row_slice(2, 3, &[1., 0., -1., 2., 1., 0.]);
//! dense.linear.bias.as_mut().unwrap().value = Mat::from_column_slice(2, 1, &[0.5, -0.5]);
//! let x = Mat::from_column_slice(3, 1, &[1., 2., 3.]);
//! assert_eq!(dense.forward(&x, Mode::Train)?.as_slice(), &[-1.5, 3.5]);
//! let ones = Mat::from_column_slice(2, 1, &[1., 1.]);
//! assert_eq!(dense.backward(&ones, true)?.as_slice(), &[3., 1., -1.]); // Wᵀ dy
//! let mut relu = Nonlinearity::<f64>::new(Activation::Relu, ImageShape::flat(2));
//! let z = Mat::from_column_slice(2, 1, &[-1.5, 3.5]);
//! assert_eq!(relu.forward(&z, Mode::Train)?.as_slice(), &[0., 3.5]);
//! let dy = Mat::from_column_slice(2, 1, &[7., 7.]);
//! assert_eq!(relu.backward(&dy, true)?.as_slice(), &[0., 7.]); // dy ⊙ [z > 0]
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{ImageShape, Layer, Mode, check_grad};
use optim::linalg::{copy_into, resize_buffer};
use optim::{Activation, Error, Float, Init, Linear, LinearConfig, Mat, Param, Parameters, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A fully connected layer `y = W x + b·1ᵀ` on flat features (PyTorch's `nn.Linear`; parameter
/// names `weight`, `bias`): [`optim::Linear`] with an input image shape.
///
/// ```text
/// ∂L/∂W += dY Xᵀ,   ∂L/∂b += dY·1,   ∂L/∂X = Wᵀ dY
/// ```
///
/// # Shapes
/// `weight`: `out x in`, input `in x B` (any image shape with `C·H·W = in`), output `out x B`.
#[derive(Debug, Clone)]
pub struct Dense<F: Float> {
    /// The affine map (its `weight` and `bias` are public).
    pub linear: Linear<F>,
    input_shape: ImageShape,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> Dense<F> {
    /// A dense layer from all `input.len()` values to `outputs`, PyTorch's initialization.
    ///
    /// # Errors
    /// If `outputs` or the input size is zero.
    pub fn new(input: ImageShape, outputs: usize, rng: &mut impl Rng) -> Result<Self> {
        Self::with_init(input, outputs, Init::PyTorchDefault, rng)
    }

    /// A dense layer with the given initialization.
    ///
    /// # Errors
    /// If `outputs` or the input size is zero.
    pub fn with_init(
        input: ImageShape,
        outputs: usize,
        init: Init,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        crate::check_nonzero("Dense outputs", outputs)?;
        crate::check_nonzero("Dense inputs (C·H·W)", input.len())?;
        let linear = LinearConfig::new(input.len(), outputs)
            .with_init(init)
            .init(rng);
        Ok(Dense {
            linear,
            input_shape: input,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }
}

impl<F: Float> Parameters<F> for Dense<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        self.linear.visit_params(visit)
    }
}

impl<F: Float> Layer<F> for Dense<F> {
    fn kind(&self) -> &'static str {
        "linear"
    }
    fn input_shape(&self) -> ImageShape {
        self.input_shape
    }
    fn output_shape(&self) -> ImageShape {
        ImageShape::flat(self.linear.outputs())
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.input_shape.check("Linear input", x)?;
        self.linear.forward_into(x, &mut self.output)?;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("Linear", dy, self.output.shape())?;
        if need_input_grad {
            self.linear.backward_into(dy, &mut self.dx)?;
        } else {
            self.linear.accumulate_grads(dy)?;
            resize_buffer(&mut self.dx, 0, 0);
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.input_shape.check("Linear input", x)?;
        self.linear.predict(x)
    }
}

/// Whether `activation.df(y, y) = activation.df(z, y)` for `y = f(z)`: the derivative can be
/// read from the output alone, so the forward need not keep a copy of its input. True where `f`
/// preserves the sign of `z` and `f'` is a function of `y` or of the sign of `z` (ReLU, leaky
/// ReLU, ELU with `α > 0`), or where `f'` is written in `y` (sigmoid, tanh, identity).
fn derivative_from_output(activation: Activation) -> bool {
    match activation {
        Activation::Identity | Activation::Sigmoid | Activation::Tanh | Activation::Relu => true,
        Activation::LeakyRelu(a) => a >= 0.0,
        Activation::Elu(a) => a > 0.0,
        Activation::Gelu | Activation::Softplus => false,
    }
}

/// `out[i] = f(x[i])`, in chunks split over threads.
fn map_chunks<F: Float>(out: &mut [F], xs: &[F], f: impl Fn(F) -> F + Sync) {
    let n = crate::ELEMENTWISE_CHUNK;
    crate::for_each_chunk(out, n, xs.len(), |k, chunk| {
        for (y, &z) in chunk.iter_mut().zip(&xs[k * n..]) {
            *y = f(z);
        }
    });
}

/// `dx[i] = dy[i] · df(z[i], y[i])`, in chunks split over threads.
fn grad_chunks<F: Float>(dx: &mut [F], dy: &[F], z: &[F], y: &[F], df: impl Fn(F, F) -> F + Sync) {
    let n = crate::ELEMENTWISE_CHUNK;
    crate::for_each_chunk(dx, n, dy.len(), |k, chunk| {
        let r = k * n..;
        for (((d, &g), &z), &y) in chunk
            .iter_mut()
            .zip(&dy[r.clone()])
            .zip(&z[r.clone()])
            .zip(&y[r])
        {
            *d = g * df(z, y);
        }
    });
}

/// An element-wise non-linearity `y = f(z)` as a layer (ReLU, tanh, ...; see
/// [`optim::Activation`], whose `f` and `df` it applies); `∂L/∂z = ∂L/∂y ⊙ f'(z)`. The loops
/// are split over threads in chunks, like the rest of the network.
///
/// # Shapes
/// Any image shape, unchanged.
#[derive(Debug, Clone)]
pub struct Nonlinearity<F: Float> {
    /// The function.
    pub activation: Activation,
    shape: ImageShape,
    input: Mat<F>,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> Nonlinearity<F> {
    /// `activation` applied to images of shape `shape`.
    pub fn new(activation: Activation, shape: ImageShape) -> Self {
        Nonlinearity {
            activation,
            shape,
            input: Mat::zeros(0, 0),
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        }
    }
}

impl<F: Float> Parameters<F> for Nonlinearity<F> {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for Nonlinearity<F> {
    fn kind(&self) -> &'static str {
        self.activation.name()
    }
    fn input_shape(&self) -> ImageShape {
        self.shape
    }
    fn output_shape(&self) -> ImageShape {
        self.shape
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.shape.check(self.activation.name(), x)?;
        resize_buffer(&mut self.output, x.nrows(), x.ncols());
        let act = self.activation;
        let xs = x.as_slice();
        let out = self.output.as_mut_slice();
        // `Activation::f` with the variant a constant in each arm, so the compiler drops the
        // per-element match (2.5x faster for ReLU than matching on every entry)
        match act {
            Activation::Relu => map_chunks(out, xs, |z| Activation::Relu.f(z)),
            Activation::Tanh => map_chunks(out, xs, |z| Activation::Tanh.f(z)),
            Activation::Sigmoid => map_chunks(out, xs, |z| Activation::Sigmoid.f(z)),
            other => map_chunks(out, xs, |z| other.f(z)),
        }
        if !derivative_from_output(act) {
            copy_into(&mut self.input, x);
        }
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad(self.activation.name(), dy, self.output.shape())?;
        resize_buffer(&mut self.dx, dy.nrows(), dy.ncols());
        let act = self.activation;
        let (dy, y) = (dy.as_slice(), self.output.as_slice());
        // z = y where the derivative can be read from the output (no input copy was kept)
        let z = if derivative_from_output(act) {
            y
        } else {
            self.input.as_slice()
        };
        let dx = self.dx.as_mut_slice();
        match act {
            Activation::Relu => grad_chunks(dx, dy, z, y, |z, y| Activation::Relu.df(z, y)),
            Activation::Tanh => grad_chunks(dx, dy, z, y, |z, y| Activation::Tanh.df(z, y)),
            Activation::Sigmoid => grad_chunks(dx, dy, z, y, |z, y| Activation::Sigmoid.df(z, y)),
            other => grad_chunks(dx, dy, z, y, |z, y| other.df(z, y)),
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check(self.activation.name(), x)?;
        Ok(self.activation.apply(x))
    }
}

/// Inverted dropout (Srivastava et al. 2014), element-wise, as a layer around
/// [`optim::Dropout`]: in training each value is kept with probability `1 − p` and scaled by
/// `1/(1 − p)`; in evaluation it is the identity.
///
/// ```text
/// m ~ Bernoulli(1 − p),   y = x ⊙ m / (1 − p),   ∂L/∂x = ∂L/∂y ⊙ m / (1 − p)
/// ```
///
/// The layer owns a seeded generator, so a network's training is reproducible from its seed.
#[derive(Debug, Clone)]
pub struct Dropout<F: Float> {
    dropout: optim::Dropout<F>,
    shape: ImageShape,
    rng: StdRng,
    /// Whether the last forward drew a mask (training mode with `p > 0`).
    masked: bool,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> Dropout<F> {
    /// Dropout with drop probability `p ∈ [0, 1)` on images of shape `shape`, masks drawn from
    /// a generator seeded with `seed`.
    ///
    /// # Errors
    /// If `p` is outside `[0, 1)`.
    pub fn new(p: f64, shape: ImageShape, seed: u64) -> Result<Self> {
        Ok(Dropout {
            dropout: optim::Dropout::new(p)?,
            shape,
            rng: StdRng::seed_from_u64(seed),
            masked: false,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.dropout.p()
    }
}

impl<F: Float> Parameters<F> for Dropout<F> {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for Dropout<F> {
    fn kind(&self) -> &'static str {
        "dropout"
    }
    fn input_shape(&self) -> ImageShape {
        self.shape
    }
    fn output_shape(&self) -> ImageShape {
        self.shape
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, mode: Mode) -> Result<&'a Mat<F>> {
        self.shape.check("Dropout input", x)?;
        self.masked = mode == Mode::Train && self.p() > 0.0;
        if !self.masked {
            return Ok(x);
        }
        self.dropout
            .forward_into(x, &mut self.output, &mut self.rng);
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        if !self.masked {
            // The last forward was the identity.
            self.shape.check("Dropout backward dY", dy)?;
            return Ok(dy);
        }
        self.dropout.backward_into(dy, &mut self.dx)?;
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check("Dropout input", x)?;
        Ok(x.clone())
    }

    fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    fn is_random(&self) -> bool {
        self.p() > 0.0
    }
}

/// Flatten `C x H x W` images into `C·H·W` features. With one column per image this changes
/// only the shape's description, not a single number: forward and backward pass their argument
/// through.
#[derive(Debug, Clone, Copy)]
pub struct Flatten {
    input: ImageShape,
}

impl Flatten {
    /// Flattens images of shape `input`.
    pub fn new(input: ImageShape) -> Self {
        Flatten { input }
    }
}

impl<F: Float> Parameters<F> for Flatten {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }
    fn input_shape(&self) -> ImageShape {
        self.input
    }
    fn output_shape(&self) -> ImageShape {
        ImageShape::flat(self.input.len())
    }
    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.input.check("Flatten input", x)?;
        Ok(x)
    }
    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        if dy.nrows() != self.input.len() {
            return Err(Error::shape(
                "Flatten backward dY",
                (self.input.len(), dy.ncols()),
                dy.shape(),
            ));
        }
        Ok(dy)
    }
    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.input.check("Flatten input", x)?;
        Ok(x.clone())
    }
}
