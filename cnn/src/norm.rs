//! Batch normalization for images (Ioffe & Szegedy 2015), PyTorch's `nn.BatchNorm2d`: each
//! channel is standardized over the batch *and* the image, then scaled and shifted.
//!
//! With `N = B·H·W` values of channel `c`:
//!
//! ```text
//! training:   μ = (1/N) Σ x,   σ² = (1/N) Σ (x − μ)²            (biased, for normalizing)
//!             x̂ = (x − μ) / √(σ² + ε),   y = γ x̂ + β
//!             running_mean ← (1 − m) running_mean + m μ
//!             running_var  ← (1 − m) running_var  + m σ² N/(N − 1)   (unbiased, as PyTorch)
//! evaluation: x̂ = (x − running_mean) / √(running_var + ε)
//!
//! backward (training), with g = ∂L/∂y:
//!   ∂L/∂β = Σ g,   ∂L/∂γ = Σ g x̂,   ∂L/∂x = γ/(N √(σ² + ε)) · (N g − Σ g − x̂ Σ g x̂)
//! backward (evaluation): ∂L/∂x = γ g / √(running_var + ε)
//! ```
//!
//! The backward of training mode is the derivation's whole point: μ and σ² depend on every
//! value of the channel, so each input's gradient has the two correction terms.

use crate::{ImageShape, Layer, Mode, check_grad};
use optim::linalg::resize_buffer;
use optim::{Error, Float, Mat, Param, Parameters, Result};

/// Batch normalization over channels (PyTorch's `nn.BatchNorm2d`; names `weight` (γ), `bias`
/// (β) and buffers `running_mean`, `running_var`). On flat features (`n x 1 x 1`) it is
/// `nn.BatchNorm1d`.
///
/// # Shapes
/// `weight`, `bias`, `running_mean`, `running_var`: `C x 1`; input and output `(C·H·W) x B`.
#[derive(Debug, Clone)]
pub struct BatchNorm2d<F: Float> {
    /// The scale `γ` (starts at 1).
    pub weight: Param<F>,
    /// The shift `β` (starts at 0).
    pub bias: Param<F>,
    /// The running mean (starts at 0).
    pub running_mean: Mat<F>,
    /// The running (unbiased) variance (starts at 1).
    pub running_var: Mat<F>,
    /// `ε` added to the variance (default `1e-5`).
    pub eps: f64,
    /// Weight `m` of the current batch in the running statistics (default `0.1`).
    pub momentum: f64,
    shape: ImageShape,
    /// `x̂` of the last forward.
    normalized: Mat<F>,
    /// `1/√(σ² + ε)` per channel of the last forward.
    inv_std: Vec<F>,
    /// Mode of the last forward.
    mode: Mode,
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
        let c = shape.channels;
        Ok(BatchNorm2d {
            weight: Param::vector(Mat::from_element(c, 1, F::one())),
            bias: Param::vector(Mat::zeros(c, 1)),
            running_mean: Mat::zeros(c, 1),
            running_var: Mat::from_element(c, 1, F::one()),
            eps: 1e-5,
            momentum: 0.1,
            shape,
            normalized: Mat::zeros(0, 0),
            inv_std: vec![F::zero(); c],
            mode: Mode::Train,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    /// Sets `ε` and the momentum.
    ///
    /// # Errors
    /// If `eps ≤ 0` or the momentum is outside `[0, 1]`.
    pub fn with(mut self, eps: f64, momentum: f64) -> Result<Self> {
        optim::check_positive("BatchNorm2d eps", eps)?;
        optim::check_range("BatchNorm2d momentum", momentum, 0.0, 1.0)?;
        self.eps = eps;
        self.momentum = momentum;
        Ok(self)
    }

    /// Statistics of each channel over the batch and the image: `(mean, biased variance)`.
    fn batch_statistics(&self, x: &Mat<F>) -> (Vec<F>, Vec<F>) {
        let (c, area) = (self.shape.channels, self.shape.area());
        let n = F::of((x.ncols() * area) as f64);
        let mut mean = vec![F::zero(); c];
        for image in x.as_slice().chunks_exact(self.shape.len()) {
            for (m, channel) in mean.iter_mut().zip(image.chunks_exact(area)) {
                for &v in channel {
                    *m += v;
                }
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![F::zero(); c];
        for image in x.as_slice().chunks_exact(self.shape.len()) {
            for ((s, &m), channel) in var.iter_mut().zip(&mean).zip(image.chunks_exact(area)) {
                for &v in channel {
                    *s += (v - m) * (v - m);
                }
            }
        }
        var.iter_mut().for_each(|s| *s /= n);
        (mean, var)
    }

    /// `y = γ (x − mean) · inv_std + β`, writing `x̂` into `normalized`.
    fn normalize(
        &self,
        x: &Mat<F>,
        mean: &[F],
        inv_std: &[F],
        normalized: &mut Mat<F>,
        y: &mut Mat<F>,
    ) {
        let area = self.shape.area();
        resize_buffer(normalized, x.nrows(), x.ncols());
        resize_buffer(y, x.nrows(), x.ncols());
        let (gamma, beta) = (self.weight.value.as_slice(), self.bias.value.as_slice());
        let len = self.shape.len();
        for ((xi, ni), yi) in x
            .as_slice()
            .chunks_exact(len)
            .zip(normalized.as_mut_slice().chunks_exact_mut(len))
            .zip(y.as_mut_slice().chunks_exact_mut(len))
        {
            for c in 0..self.shape.channels {
                let r = c * area..(c + 1) * area;
                for ((&v, n), out) in xi[r.clone()].iter().zip(&mut ni[r.clone()]).zip(&mut yi[r]) {
                    *n = (v - mean[c]) * inv_std[c];
                    *out = gamma[c] * *n + beta[c];
                }
            }
        }
    }

    fn running_inv_std(&self) -> Vec<F> {
        let eps = F::of(self.eps);
        self.running_var
            .iter()
            .map(|&v| F::one() / (v + eps).sqrt())
            .collect()
    }
}

impl<F: Float> Parameters<F> for BatchNorm2d<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        visit("bias", &mut self.bias);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        visit("running_mean", &mut self.running_mean);
        visit("running_var", &mut self.running_var);
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
        let (mean, inv_std) = match mode {
            Mode::Train => {
                let n = x.ncols() * self.shape.area();
                if n < 2 {
                    return Err(Error::Data(format!(
                        "BatchNorm2d: training needs more than one value per channel, got \
                         {} image(s) of {}",
                        x.ncols(),
                        self.shape
                    )));
                }
                let (mean, var) = self.batch_statistics(x);
                let m = F::of(self.momentum);
                let unbias = F::of(n as f64 / (n - 1) as f64);
                let eps = F::of(self.eps);
                for c in 0..self.shape.channels {
                    self.running_mean[c] = (F::one() - m) * self.running_mean[c] + m * mean[c];
                    self.running_var[c] =
                        (F::one() - m) * self.running_var[c] + m * var[c] * unbias;
                }
                let inv_std: Vec<F> = var.iter().map(|&v| F::one() / (v + eps).sqrt()).collect();
                (mean, inv_std)
            }
            Mode::Eval => (
                self.running_mean.as_slice().to_vec(),
                self.running_inv_std(),
            ),
        };
        let (mut normalized, mut y) = (
            std::mem::take(&mut self.normalized),
            std::mem::take(&mut self.output),
        );
        self.normalize(x, &mean, &inv_std, &mut normalized, &mut y);
        self.normalized = normalized;
        self.output = y;
        self.inv_std = inv_std;
        self.mode = mode;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("BatchNorm2d", dy, self.output.shape())?;
        let (channels, area, len) = (self.shape.channels, self.shape.area(), self.shape.len());
        // Σ g and Σ g x̂ per channel
        let mut sum_g = vec![F::zero(); channels];
        let mut sum_gx = vec![F::zero(); channels];
        for (gi, ni) in dy
            .as_slice()
            .chunks_exact(len)
            .zip(self.normalized.as_slice().chunks_exact(len))
        {
            for c in 0..channels {
                let r = c * area..(c + 1) * area;
                for (&g, &n) in gi[r.clone()].iter().zip(&ni[r]) {
                    sum_g[c] += g;
                    sum_gx[c] += g * n;
                }
            }
        }
        for c in 0..channels {
            self.bias.grad[c] += sum_g[c];
            self.weight.grad[c] += sum_gx[c];
        }
        if !need_input_grad {
            resize_buffer(&mut self.dx, 0, 0);
            return Ok(&self.dx);
        }
        resize_buffer(&mut self.dx, dy.nrows(), dy.ncols());
        let n = F::of((dy.ncols() * area) as f64);
        let gamma = self.weight.value.as_slice();
        let train = self.mode == Mode::Train;
        for ((gi, ni), di) in dy
            .as_slice()
            .chunks_exact(len)
            .zip(self.normalized.as_slice().chunks_exact(len))
            .zip(self.dx.as_mut_slice().chunks_exact_mut(len))
        {
            for c in 0..channels {
                let r = c * area..(c + 1) * area;
                let scale = gamma[c] * self.inv_std[c];
                if train {
                    let (mean_g, mean_gx) = (sum_g[c] / n, sum_gx[c] / n);
                    for ((&g, &xh), d) in gi[r.clone()].iter().zip(&ni[r.clone()]).zip(&mut di[r]) {
                        *d = scale * (g - mean_g - xh * mean_gx);
                    }
                } else {
                    for (&g, d) in gi[r.clone()].iter().zip(&mut di[r]) {
                        *d = scale * g;
                    }
                }
            }
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.shape.check("BatchNorm2d input", x)?;
        let (mut normalized, mut y) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.normalize(
            x,
            self.running_mean.as_slice(),
            &self.running_inv_std(),
            &mut normalized,
            &mut y,
        );
        Ok(y)
    }
}
