//! The non-convolutional layers of a CNN: the dense (fully connected) head, element-wise
//! non-linearities, dropout and flatten, each as a [`Layer`] with reusable buffers.

use crate::{ImageShape, Layer, Mode, check_grad};
use optim::linalg::{copy_into, gemm, resize_buffer};
use optim::{Activation, Error, Float, Init, Linear, Mat, Param, Parameters, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A fully connected layer `y = W x + b·1ᵀ` on flat features (PyTorch's `nn.Linear`; parameter
/// names `weight`, `bias`).
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
    input: Mat<F>,
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
        Ok(Self::from_linear(
            input,
            Linear::with_init(input.len(), outputs, init, true, rng),
        ))
    }

    fn from_linear(input_shape: ImageShape, linear: Linear<F>) -> Self {
        Dense {
            linear,
            input_shape,
            input: Mat::zeros(0, 0),
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        }
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
        self.linear.predict_into(x, &mut self.output)?;
        copy_into(&mut self.input, x);
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("Linear", dy, self.output.shape())?;
        let l = &mut self.linear;
        gemm(
            F::one(),
            dy,
            false,
            &self.input,
            true,
            F::one(),
            &mut l.weight.grad,
        );
        if let Some(b) = &mut l.bias {
            let g = b.grad.as_mut_slice();
            for column in dy.as_slice().chunks_exact(g.len().max(1)) {
                for (gi, &d) in g.iter_mut().zip(column) {
                    *gi += d;
                }
            }
        }
        if need_input_grad {
            resize_buffer(&mut self.dx, l.inputs(), dy.ncols());
            gemm(
                F::one(),
                &l.weight.value,
                true,
                dy,
                false,
                F::zero(),
                &mut self.dx,
            );
        } else {
            resize_buffer(&mut self.dx, 0, 0);
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.input_shape.check("Linear input", x)?;
        self.linear.predict(x)
    }
}

/// An element-wise non-linearity `y = f(z)` as a layer (ReLU, tanh, ...; see
/// [`optim::Activation`]); `∂L/∂z = ∂L/∂y ⊙ f'(z)`.
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
        let out = self.output.as_mut_slice();
        if act == Activation::Relu {
            let zero = F::zero();
            let xs = x.as_slice();
            let n = crate::ELEMENTWISE_CHUNK;
            crate::for_each_chunk(out, n, xs.len(), |k, chunk| {
                for (y, &z) in chunk.iter_mut().zip(&xs[k * n..]) {
                    *y = if z > zero { z } else { zero };
                }
            });
            // ReLU's derivative needs only the output (z > 0 ⇔ y > 0); the others keep z.
        } else {
            for (y, &z) in out.iter_mut().zip(x.as_slice()) {
                *y = act.f(z);
            }
            copy_into(&mut self.input, x);
        }
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad(self.activation.name(), dy, self.output.shape())?;
        resize_buffer(&mut self.dx, dy.nrows(), dy.ncols());
        let act = self.activation;
        let (dx, dy, y) = (
            self.dx.as_mut_slice(),
            dy.as_slice(),
            self.output.as_slice(),
        );
        if act == Activation::Relu {
            let zero = F::zero();
            let n = crate::ELEMENTWISE_CHUNK;
            crate::for_each_chunk(dx, n, dy.len(), |k, chunk| {
                for ((d, &g), &y) in chunk.iter_mut().zip(&dy[k * n..]).zip(&y[k * n..]) {
                    *d = if y > zero { g } else { zero };
                }
            });
        } else {
            for (((d, &g), &z), &y) in dx.iter_mut().zip(dy).zip(self.input.as_slice()).zip(y) {
                *d = g * act.df(z, y);
            }
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check(self.activation.name(), x)?;
        Ok(self.activation.apply(x))
    }
}

/// Inverted dropout (Srivastava et al. 2014), element-wise: in training each value is kept with
/// probability `1 − p` and scaled by `1/(1 − p)`; in evaluation it is the identity.
///
/// ```text
/// m ~ Bernoulli(1 − p),   y = x ⊙ m / (1 − p),   ∂L/∂x = ∂L/∂y ⊙ m / (1 − p)
/// ```
///
/// The layer owns a seeded generator, so a network's training is reproducible from its seed.
#[derive(Debug, Clone)]
pub struct Dropout<F: Float> {
    p: f64,
    shape: ImageShape,
    rng: StdRng,
    /// The scaled mask of the last training forward (`0` or `1/(1 − p)`); empty in eval mode.
    mask: Mat<F>,
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
        optim::Dropout::<F>::new(p)?;
        Ok(Dropout {
            p,
            shape,
            rng: StdRng::seed_from_u64(seed),
            mask: Mat::zeros(0, 0),
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
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
        if mode == Mode::Eval || self.p == 0.0 {
            resize_buffer(&mut self.mask, 0, 0);
            return Ok(x);
        }
        let keep = 1.0 - self.p;
        let scale = F::of(1.0 / keep);
        resize_buffer(&mut self.mask, x.nrows(), x.ncols());
        resize_buffer(&mut self.output, x.nrows(), x.ncols());
        for ((m, y), &v) in self
            .mask
            .iter_mut()
            .zip(self.output.iter_mut())
            .zip(x.iter())
        {
            *m = if self.rng.random::<f64>() < keep {
                scale
            } else {
                F::zero()
            };
            *y = v * *m;
        }
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        if self.mask.is_empty() {
            // The last forward was the identity.
            self.shape.check("Dropout backward dY", dy)?;
            return Ok(dy);
        }
        check_grad("Dropout", dy, self.mask.shape())?;
        resize_buffer(&mut self.dx, dy.nrows(), dy.ncols());
        for ((d, &g), &m) in self.dx.iter_mut().zip(dy.iter()).zip(self.mask.iter()) {
            *d = g * m;
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check("Dropout input", x)?;
        Ok(x.clone())
    }

    fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
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
