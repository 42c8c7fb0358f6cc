//! 2-D convolution as im2col + one matrix product (notes §6.1: local receptive fields and
//! parameter sharing).
//!
//! For a batch of `B` images, `im2col` writes every receptive field as one row of the matrix
//! `X̃` (`(B·H_out·W_out) x (C·k_h·k_w)`, column-major, so each of its columns — one kernel tap
//! `(c, u, v)` over all output positions of all images — is contiguous). Then
//!
//! ```text
//! forward:   Ỹ = X̃ Wᵀ                     (B·P) x out,   one gemm, P = H_out·W_out
//!            y[b][o][p] = Ỹ[(b, p), o] + b_o
//! backward:  ∂L/∂W += (∂L/∂Ỹ)ᵀ X̃          out x (C·k_h·k_w), one gemm
//!            ∂L/∂b += Σ_(b,p) ∂L/∂Ỹ
//!            ∂L/∂X̃  = (∂L/∂Ỹ) W           one gemm, then col2im scatter-adds it into ∂L/∂x
//! ```
//!
//! [`conv2d_direct`] is the seven-loop definition, used by the tests as the reference.
//!
//! ```
//! use cnn::{Conv2d, Conv2dConfig, ImageShape, Layer, Mode};
//! use optim::Mat;
//! // one 3x3 image 1..9 and the 2x2 kernel [[1, 0], [0, -1]]: y[i][j] = x[i][j] − x[i+1][j+1]
//! let config = Conv2dConfig::new(1, 1, 2).bias(false);
//! let w = Mat::from_row_slice(1, 4, &[1., 0., 0., -1.]);
//! let mut conv = Conv2d::<f64>::from_weights(config, ImageShape::new(1, 3, 3), w, None)?;
//! let x = Mat::from_column_slice(9, 1, &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
//! assert_eq!(conv.output_shape(), ImageShape::new(1, 2, 2));
//! assert_eq!(conv.forward(&x, Mode::Train)?.as_slice(), &[-4., -4., -4., -4.]);
//! // ∂L/∂W for L = Σ y: each tap's sum over the four windows
//! conv.backward(&Mat::from_element(4, 1, 1.), true)?;
//! assert_eq!(conv.weight.grad.as_slice(), &[12., 16., 24., 28.]);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::{ImageShape, Layer, Mode, check_grad, check_nonzero};
use optim::linalg::{gemm, resize_buffer};
use optim::{Error, Float, Init, Mat, Param, Parameters, Result};
use rand::Rng;

/// Hyperparameters of a [`Conv2d`], PyTorch's `nn.Conv2d` arguments. Pairs are `(rows, cols)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conv2dConfig {
    /// Input channels `C_in`.
    pub in_channels: usize,
    /// Output channels (number of filters) `C_out`.
    pub out_channels: usize,
    /// Kernel size `(k_h, k_w)`.
    pub kernel: (usize, usize),
    /// Stride `(s_h, s_w)`, default `(1, 1)`.
    pub stride: (usize, usize),
    /// Zero padding on each side `(p_h, p_w)`, default `(0, 0)`.
    pub padding: (usize, usize),
    /// Dilation (spacing of the kernel taps) `(d_h, d_w)`, default `(1, 1)`.
    pub dilation: (usize, usize),
    /// Whether the layer adds a bias per output channel (default `true`).
    pub bias: bool,
}

impl Conv2dConfig {
    /// A square `kernel x kernel` convolution with stride 1, no padding, dilation 1 and bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel: (kernel, kernel),
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            bias: true,
        }
    }

    /// Sets a square stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = (stride, stride);
        self
    }

    /// Sets a square zero padding.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = (padding, padding);
        self
    }

    /// Sets a square dilation.
    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = (dilation, dilation);
        self
    }

    /// Sets whether there is a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// `C_in·k_h·k_w`: the length of one receptive field, the columns of the weight matrix.
    pub fn field_len(&self) -> usize {
        self.in_channels * self.kernel.0 * self.kernel.1
    }

    /// The output shape for an input of shape `input`.
    ///
    /// # Errors
    /// Zero sizes, strides or dilations; an input with another channel count than `in_channels`;
    /// a (dilated) kernel larger than the padded input.
    pub fn output_shape(&self, input: ImageShape) -> Result<ImageShape> {
        check_nonzero("Conv2d in_channels", self.in_channels)?;
        check_nonzero("Conv2d out_channels", self.out_channels)?;
        check_nonzero("Conv2d kernel height", self.kernel.0)?;
        check_nonzero("Conv2d kernel width", self.kernel.1)?;
        check_nonzero("Conv2d stride height", self.stride.0)?;
        check_nonzero("Conv2d stride width", self.stride.1)?;
        check_nonzero("Conv2d dilation height", self.dilation.0)?;
        check_nonzero("Conv2d dilation width", self.dilation.1)?;
        if input.channels != self.in_channels {
            return Err(Error::Shape {
                context: "Conv2d input".into(),
                expected: format!("{} x H x W", self.in_channels),
                got: input.to_string(),
            });
        }
        let height = output_len(
            "height",
            input.height,
            self.kernel.0,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
        )?;
        let width = output_len(
            "width",
            input.width,
            self.kernel.1,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
        )?;
        Ok(ImageShape::new(self.out_channels, height, width))
    }
}

/// `⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1`, or an error if the dilated kernel `d(k − 1) + 1` is
/// larger than the padded input `n + 2p`.
pub(crate) fn output_len(
    what: &str,
    n: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Result<usize> {
    let span = dilation * (kernel - 1) + 1;
    let padded = n + 2 * padding;
    if span > padded {
        return Err(Error::Shape {
            context: format!("kernel {what} (dilated kernel vs padded input)"),
            expected: format!(
                "a kernel {what} of at most {padded} (input {n} + 2 x padding {padding})"
            ),
            got: format!("{span} (kernel {kernel}, dilation {dilation})"),
        });
    }
    Ok((padded - span) / stride + 1)
}

/// Geometry of one convolution: everything im2col needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub input: ImageShape,
    pub output: ImageShape,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Geometry {
    fn field_len(&self) -> usize {
        self.input.channels * self.kernel.0 * self.kernel.1
    }

    /// For tap offset `off = u·d − p` along an axis of input length `n`, output length `m` and
    /// stride `s`: the range of output positions `o` with `0 ≤ o·s + off < n`.
    #[inline]
    fn valid_range(off: isize, s: usize, n: usize, m: usize) -> (usize, usize) {
        let s = s as isize;
        let lo = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
        let hi = if (n as isize) <= off {
            0
        } else {
            ((n as isize - off) + s - 1) / s
        };
        let lo = (lo as usize).min(m);
        let hi = (hi as usize).min(m).max(lo);
        (lo, hi)
    }
}

/// im2col: writes the receptive fields of a batch `x` (`C·H·W x B`) into `cols`, a
/// `(B·P) x (C·k_h·k_w)` column-major buffer (row `b·P + p`, column `(c·k_h + u)·k_w + v`).
/// Positions in the zero padding give 0. The columns (kernel taps) are independent, so they are
/// filled in parallel when [`optim::linalg::set_threads`] allows.
pub(crate) fn im2col<F: Float>(g: &Geometry, x: &[F], batch: usize, cols: &mut [F]) {
    let bp = batch * g.output.area();
    debug_assert_eq!(cols.len(), bp * g.field_len());
    crate::for_each_chunk(cols, bp, cols.len(), |r, column| {
        im2col_tap(g, x, batch, r, column)
    });
}

/// One column of [`im2col`]: kernel tap `r = (c·k_h + u)·k_w + v` at every output position of
/// every image.
fn im2col_tap<F: Float>(g: &Geometry, x: &[F], batch: usize, r: usize, column: &mut [F]) {
    let (ih, iw) = (g.input.height, g.input.width);
    let (oh, ow) = (g.output.height, g.output.width);
    let p = oh * ow;
    let image_len = g.input.len();
    let zero = F::zero();
    let (c, u, v) = (
        r / (g.kernel.0 * g.kernel.1),
        (r / g.kernel.1) % g.kernel.0,
        r % g.kernel.1,
    );
    let off_h = (u * g.dilation.0) as isize - g.padding.0 as isize;
    let (h_lo, h_hi) = Geometry::valid_range(off_h, g.stride.0, ih, oh);
    let off_w = (v * g.dilation.1) as isize - g.padding.1 as isize;
    let (w_lo, w_hi) = Geometry::valid_range(off_w, g.stride.1, iw, ow);
    // With stride 1 and as many output as input columns ("same" padding), output rows
    // h_lo..h_hi of this tap are one contiguous run of the input shifted by (off_h, off_w):
    // copy it in one go, then zero the columns that fell into the padding.
    let shifted_block = g.stride == (1, 1) && ow == iw && h_hi > h_lo && w_hi > w_lo;
    for b in 0..batch {
        let channel = &x[b * image_len + c * ih * iw..b * image_len + (c + 1) * ih * iw];
        let out = &mut column[b * p..(b + 1) * p];
        out[..h_lo * ow].fill(zero);
        out[h_hi * ow..].fill(zero);
        if shifted_block {
            let first = ((h_lo as isize + off_h) as usize) * iw;
            let (start, end) = (h_lo * ow, h_hi * ow);
            let shift = off_w;
            // out[k] = channel[first + (k − start) + shift] for the interior columns
            let (dst_lo, src_lo) = if shift >= 0 {
                (start, first + shift as usize)
            } else {
                (start + (-shift) as usize, first)
            };
            let len = (end - dst_lo).min(channel.len() - src_lo);
            out[dst_lo..dst_lo + len].copy_from_slice(&channel[src_lo..src_lo + len]);
            for i in h_lo..h_hi {
                out[i * ow..i * ow + w_lo].fill(zero);
                out[i * ow + w_hi..(i + 1) * ow].fill(zero);
            }
            continue;
        }
        for i in h_lo..h_hi {
            let h = ((i * g.stride.0) as isize + off_h) as usize;
            let row = &channel[h * iw..(h + 1) * iw];
            let dst = &mut out[i * ow..(i + 1) * ow];
            dst[..w_lo].fill(zero);
            dst[w_hi..].fill(zero);
            if w_hi > w_lo {
                let w0 = ((w_lo * g.stride.1) as isize + off_w) as usize;
                if g.stride.1 == 1 {
                    dst[w_lo..w_hi].copy_from_slice(&row[w0..w0 + (w_hi - w_lo)]);
                } else {
                    for (k, d) in dst[w_lo..w_hi].iter_mut().enumerate() {
                        *d = row[w0 + k * g.stride.1];
                    }
                }
            }
        }
    }
}

/// col2im, the adjoint of [`im2col`]: overwrites `dx` (`C·H·W x B`) with the scatter-sum of
/// `dcols` (`(B·P) x (C·k_h·k_w)`), so each input pixel receives the gradient of every receptive
/// field it belongs to; padding positions are dropped. Images are independent, so they are
/// done in parallel when [`optim::linalg::set_threads`] allows.
pub(crate) fn col2im<F: Float>(g: &Geometry, dcols: &[F], batch: usize, dx: &mut [F]) {
    let image_len = g.input.len();
    crate::for_each_chunk(dx, image_len, dcols.len(), |b, image| {
        col2im_image(g, dcols, batch, b, image)
    });
}

/// [`col2im`] for image `b`.
fn col2im_image<F: Float>(g: &Geometry, dcols: &[F], batch: usize, b: usize, image: &mut [F]) {
    let (ih, iw) = (g.input.height, g.input.width);
    let (oh, ow) = (g.output.height, g.output.width);
    let p = oh * ow;
    let bp = batch * p;
    image.fill(F::zero());
    let mut r = 0;
    for c in 0..g.input.channels {
        let channel = &mut image[c * ih * iw..(c + 1) * ih * iw];
        for u in 0..g.kernel.0 {
            let off_h = (u * g.dilation.0) as isize - g.padding.0 as isize;
            let (h_lo, h_hi) = Geometry::valid_range(off_h, g.stride.0, ih, oh);
            for v in 0..g.kernel.1 {
                let off_w = (v * g.dilation.1) as isize - g.padding.1 as isize;
                let (w_lo, w_hi) = Geometry::valid_range(off_w, g.stride.1, iw, ow);
                let src = &dcols[r * bp + b * p..r * bp + (b + 1) * p];
                r += 1;
                if w_hi <= w_lo {
                    continue;
                }
                let w0 = ((w_lo * g.stride.1) as isize + off_w) as usize;
                for i in h_lo..h_hi {
                    let h = ((i * g.stride.0) as isize + off_h) as usize;
                    let row = &mut channel[h * iw..(h + 1) * iw];
                    let s = &src[i * ow + w_lo..i * ow + w_hi];
                    if g.stride.1 == 1 {
                        for (d, &v) in row[w0..w0 + s.len()].iter_mut().zip(s) {
                            *d += v;
                        }
                    } else {
                        for (k, &v) in s.iter().enumerate() {
                            row[w0 + k * g.stride.1] += v;
                        }
                    }
                }
            }
        }
    }
}

/// A 2-D convolution layer, PyTorch's `nn.Conv2d` (cross-correlation, zero padding).
///
/// ```text
/// y[o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] · x[c, i·s_h − p_h + u·d_h, j·s_w − p_w + v·d_w]
/// ```
///
/// Computed as im2col + one matrix product over the whole batch (see the [module docs](self)).
///
/// # Shapes
/// `weight`: `out x (in·k_h·k_w)`, logical `[out, in, k_h, k_w]`; `bias`: `[out]`; input
/// `(C_in·H·W) x B`, output `(C_out·H_out·W_out) x B`.
#[derive(Debug, Clone)]
pub struct Conv2d<F: Float> {
    /// The filters `W`, `out x (in·k_h·k_w)`, logical shape `[out, in, k_h, k_w]`.
    pub weight: Param<F>,
    /// The bias `b`, `out x 1`, logical shape `[out]`; `None` without bias.
    pub bias: Option<Param<F>>,
    config: Conv2dConfig,
    geometry: Geometry,
    /// im2col of the last training input, `(B·P) x (C·k_h·k_w)`.
    cols: Mat<F>,
    /// The product `X̃ Wᵀ` before the transpose into the image layout, `(B·P) x out`.
    product: Mat<F>,
    output: Mat<F>,
    dproduct: Mat<F>,
    dcols: Mat<F>,
    dx: Mat<F>,
    /// `∂L/∂b` of the last backward, before it is added into the bias gradient.
    bias_sums: Vec<F>,
}

impl<F: Float> Conv2d<F> {
    /// A convolution for inputs of shape `input`, initialized as PyTorch does:
    /// `W, b ~ U(−1/√fan_in, 1/√fan_in)` with `fan_in = C_in·k_h·k_w`.
    ///
    /// # Errors
    /// See [`Conv2dConfig::output_shape`].
    pub fn new(config: Conv2dConfig, input: ImageShape, rng: &mut impl Rng) -> Result<Self> {
        Self::with_init(config, input, Init::PyTorchDefault, rng)
    }

    /// A convolution with the given weight initialization (`fan_in = C_in·k_h·k_w`,
    /// `fan_out = C_out·k_h·k_w`); the bias starts at zero unless `init` is PyTorch's default.
    ///
    /// # Errors
    /// See [`Conv2dConfig::output_shape`].
    pub fn with_init(
        config: Conv2dConfig,
        input: ImageShape,
        init: Init,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        config.output_shape(input)?;
        let area = config.kernel.0 * config.kernel.1;
        let fan_in = config.field_len();
        let fan_out = config.out_channels * area;
        let weight = init.matrix(config.out_channels, fan_in, fan_in, fan_out, rng);
        let bias = config.bias.then(|| {
            if init == Init::PyTorchDefault {
                init.matrix(config.out_channels, 1, fan_in, fan_out, rng)
            } else {
                Mat::zeros(config.out_channels, 1)
            }
        });
        Self::from_weights(config, input, weight, bias)
    }

    /// A convolution with given weights (`out x (in·k_h·k_w)`, PyTorch's `[out, in, kh, kw]`
    /// flattened row-major) and bias (`out x 1`, required iff `config.bias`).
    ///
    /// # Errors
    /// Invalid geometry, or weights of the wrong shape.
    pub fn from_weights(
        config: Conv2dConfig,
        input: ImageShape,
        weight: Mat<F>,
        bias: Option<Mat<F>>,
    ) -> Result<Self> {
        let output = config.output_shape(input)?;
        let k = config.field_len();
        if weight.shape() != (config.out_channels, k) {
            return Err(Error::shape(
                "Conv2d weight (out x in·kh·kw)",
                (config.out_channels, k),
                weight.shape(),
            ));
        }
        match (&bias, config.bias) {
            (Some(b), true) if b.shape() != (config.out_channels, 1) => {
                return Err(Error::shape(
                    "Conv2d bias",
                    (config.out_channels, 1),
                    b.shape(),
                ));
            }
            (None, true) | (Some(_), false) => {
                return Err(Error::Data(format!(
                    "Conv2d: config.bias is {} but a bias was {}given",
                    config.bias,
                    if bias.is_some() { "" } else { "not " }
                )));
            }
            _ => {}
        }
        let shape = vec![
            config.out_channels,
            config.in_channels,
            config.kernel.0,
            config.kernel.1,
        ];
        Ok(Conv2d {
            weight: Param::with_shape(weight, shape),
            bias: bias.map(Param::vector),
            config,
            geometry: Geometry {
                input,
                output,
                kernel: config.kernel,
                stride: config.stride,
                padding: config.padding,
                dilation: config.dilation,
            },
            cols: Mat::zeros(0, 0),
            product: Mat::zeros(0, 0),
            output: Mat::zeros(0, 0),
            dproduct: Mat::zeros(0, 0),
            dcols: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
            bias_sums: Vec::new(),
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }

    /// The learned filter from input channel `c` to output channel `o`, as a `k_h x k_w` matrix
    /// (for plotting).
    ///
    /// # Panics
    /// If `o` or `c` is out of range.
    pub fn filter(&self, o: usize, c: usize) -> Mat<F> {
        let (kh, kw) = self.config.kernel;
        let row = self.weight.value.row(o);
        Mat::from_fn(kh, kw, |u, v| row[(c * kh + u) * kw + v])
    }

    /// All filters, `filters()[o][c]` being [`Conv2d::filter`]`(o, c)`.
    pub fn filters(&self) -> Vec<Vec<Mat<F>>> {
        (0..self.config.out_channels)
            .map(|o| {
                (0..self.config.in_channels)
                    .map(|c| self.filter(o, c))
                    .collect()
            })
            .collect()
    }

    /// `Ỹ = X̃ Wᵀ`, then the transpose into images plus the bias.
    fn compute(&self, x: &Mat<F>, cols: &mut Mat<F>, product: &mut Mat<F>, y: &mut Mat<F>) {
        let g = &self.geometry;
        let batch = x.ncols();
        let p = g.output.area();
        let out = self.config.out_channels;
        resize_buffer(cols, batch * p, self.config.field_len());
        im2col(g, x.as_slice(), batch, cols.as_mut_slice());
        resize_buffer(product, batch * p, out);
        gemm(
            F::one(),
            cols,
            false,
            &self.weight.value,
            true,
            F::zero(),
            product,
        );
        resize_buffer(y, g.output.len(), batch);
        let bp = batch * p;
        let src = product.as_slice();
        let bias = self.bias.as_ref().map(|b| b.value.as_slice());
        // Ỹ is [o][(b, p)]; the images want [b][o][p]: copy each channel's run, adding b_o.
        crate::for_each_chunk(y.as_mut_slice(), out * p, bp * out, |b, image| {
            for (o, channel) in image.chunks_exact_mut(p).enumerate() {
                let from = &src[o * bp + b * p..o * bp + (b + 1) * p];
                match bias {
                    Some(bias) => {
                        let bo = bias[o];
                        for (d, &s) in channel.iter_mut().zip(from) {
                            *d = s + bo;
                        }
                    }
                    None => channel.copy_from_slice(from),
                }
            }
        });
    }
}

impl<F: Float> Parameters<F> for Conv2d<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            visit("bias", b);
        }
    }
}

impl<F: Float> Layer<F> for Conv2d<F> {
    fn kind(&self) -> &'static str {
        "conv2d"
    }

    fn input_shape(&self) -> ImageShape {
        self.geometry.input
    }

    fn output_shape(&self) -> ImageShape {
        self.geometry.output
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.geometry.input.check("Conv2d input", x)?;
        let (mut cols, mut product, mut y) = (
            std::mem::take(&mut self.cols),
            std::mem::take(&mut self.product),
            std::mem::take(&mut self.output),
        );
        self.compute(x, &mut cols, &mut product, &mut y);
        self.cols = cols;
        self.product = product;
        self.output = y;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("Conv2d", dy, self.output.shape())?;
        let g = self.geometry;
        let batch = dy.ncols();
        let p = g.output.area();
        let bp = batch * p;
        let out = self.config.out_channels;
        // ∂L/∂Ỹ: the image layout [b][o][p] back to the product's [o][(b, p)]; on the way,
        // ∂L/∂b_o = Σ_(b,p) ∂L/∂Ỹ[(b, p), o].
        resize_buffer(&mut self.dproduct, bp, out);
        let src = dy.as_slice();
        let dproduct = self.dproduct.as_mut_slice();
        if self.bias.is_some() {
            self.bias_sums.resize(out, F::zero());
            crate::for_each_chunk2(
                dproduct,
                bp,
                &mut self.bias_sums,
                1,
                dy.len(),
                |o, block, sum| {
                    // eight running sums, so the additions do not wait on each other
                    let mut lanes = [F::zero(); 8];
                    for (b, dst) in block.chunks_exact_mut(p).enumerate() {
                        let from = &src[(b * out + o) * p..(b * out + o + 1) * p];
                        dst.copy_from_slice(from);
                        let mut chunks = from.chunks_exact(8);
                        for ch in &mut chunks {
                            for (l, &v) in lanes.iter_mut().zip(ch) {
                                *l += v;
                            }
                        }
                        for (l, &v) in lanes.iter_mut().zip(chunks.remainder()) {
                            *l += v;
                        }
                    }
                    sum[0] = lanes.iter().fold(F::zero(), |a, &l| a + l);
                },
            );
        } else {
            crate::for_each_chunk(dproduct, bp, dy.len(), |o, block| {
                for (b, dst) in block.chunks_exact_mut(p).enumerate() {
                    dst.copy_from_slice(&src[(b * out + o) * p..(b * out + o + 1) * p]);
                }
            });
        }
        if let Some(bias) = &mut self.bias {
            for (g, &s) in bias.grad.as_mut_slice().iter_mut().zip(&self.bias_sums) {
                *g += s;
            }
        }
        // ∂L/∂W += (∂L/∂Ỹ)ᵀ X̃
        gemm(
            F::one(),
            &self.dproduct,
            true,
            &self.cols,
            false,
            F::one(),
            &mut self.weight.grad,
        );
        if !need_input_grad {
            resize_buffer(&mut self.dx, 0, 0);
            return Ok(&self.dx);
        }
        // ∂L/∂X̃ = (∂L/∂Ỹ) W, then col2im
        resize_buffer(&mut self.dcols, bp, self.config.field_len());
        gemm(
            F::one(),
            &self.dproduct,
            false,
            &self.weight.value,
            false,
            F::zero(),
            &mut self.dcols,
        );
        resize_buffer(&mut self.dx, g.input.len(), batch);
        col2im(&g, self.dcols.as_slice(), batch, self.dx.as_mut_slice());
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.geometry.input.check("Conv2d input", x)?;
        let (mut cols, mut product, mut y) = (Mat::zeros(0, 0), Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.compute(x, &mut cols, &mut product, &mut y);
        Ok(y)
    }

    fn as_conv(&self) -> Option<&Conv2d<F>> {
        Some(self)
    }
}

/// The definition of the convolution, seven nested loops, for tests: no im2col, no matrix
/// product, padding handled by skipping out-of-range taps.
///
/// # Shapes
/// `x`: `(C_in·H·W) x B`; `weight`: `out x (in·k_h·k_w)`; `bias`: `out x 1`; result
/// `(C_out·H_out·W_out) x B`.
///
/// # Errors
/// As [`Conv2dConfig::output_shape`], and inputs or weights of the wrong size.
pub fn conv2d_direct<F: Float>(
    config: &Conv2dConfig,
    input: ImageShape,
    x: &Mat<F>,
    weight: &Mat<F>,
    bias: Option<&Mat<F>>,
) -> Result<Mat<F>> {
    let output = config.output_shape(input)?;
    input.check("conv2d_direct input", x)?;
    if weight.shape() != (config.out_channels, config.field_len()) {
        return Err(Error::shape(
            "conv2d_direct weight",
            (config.out_channels, config.field_len()),
            weight.shape(),
        ));
    }
    let (kh, kw) = config.kernel;
    let mut y = Mat::zeros(output.len(), x.ncols());
    for b in 0..x.ncols() {
        for o in 0..output.channels {
            for i in 0..output.height {
                for j in 0..output.width {
                    let mut s = bias.map_or(F::zero(), |bb| bb[o]);
                    for c in 0..input.channels {
                        for u in 0..kh {
                            for v in 0..kw {
                                let h = (i * config.stride.0 + u * config.dilation.0) as isize
                                    - config.padding.0 as isize;
                                let w = (j * config.stride.1 + v * config.dilation.1) as isize
                                    - config.padding.1 as isize;
                                if h < 0
                                    || w < 0
                                    || h as usize >= input.height
                                    || w as usize >= input.width
                                {
                                    continue;
                                }
                                let xi = (c * input.height + h as usize) * input.width + w as usize;
                                s += weight[(o, (c * kh + u) * kw + v)] * x[(xi, b)];
                            }
                        }
                    }
                    y[((o * output.height + i) * output.width + j, b)] = s;
                }
            }
        }
    }
    Ok(y)
}
