//! Pooling (notes §6.2: a summary of each window, which makes the features a little invariant
//! to small shifts and shrinks the map).
//!
//! With kernel `k`, stride `s` and padding `p` (PyTorch's `max_pool2d` / `avg_pool2d` with
//! `ceil_mode=False`), output position `(i, j)` summarizes the window of rows
//! `i·s_h − p_h .. i·s_h − p_h + k_h` and columns likewise:
//!
//! ```text
//! max:  y = max over the window's pixels inside the image    (padding counts as −∞)
//!       ∂L/∂x[argmax] += ∂L/∂y                                (the first maximum on ties)
//! mean: y = (1/(k_h k_w)) Σ over the window's pixels inside the image
//!       (padding counts as 0: count_include_pad = true, PyTorch's default; with false the
//!       divisor is the number of pixels inside the image)
//!       ∂L/∂x[q] += ∂L/∂y / divisor for every q in the window
//! ```
//!
//! ```
//! use cnn::{AvgPool2d, ImageShape, Layer, MaxPool2d, Mode};
//! use optim::Mat;
//! let shape = ImageShape::new(1, 2, 4);
//! // rows [1 5 2 0] and [3 4 8 6]: two 2x2 windows
//! let x = Mat::from_column_slice(8, 1, &[1., 5., 2., 0., 3., 4., 8., 6.]);
//! let mut max = MaxPool2d::<f64>::new(shape, (2, 2), (2, 2), (0, 0))?;
//! assert_eq!(max.forward(&x, Mode::Train)?.as_slice(), &[5., 8.]);
//! // the gradient goes to each window's maximum only
//! let dy = Mat::from_column_slice(2, 1, &[1., 2.]);
//! assert_eq!(max.backward(&dy, true)?.as_slice(), &[0., 1., 0., 0., 0., 0., 2., 0.]);
//! let avg = AvgPool2d::<f64>::new(shape, (2, 2), (2, 2), (0, 0))?;
//! assert_eq!(avg.predict(&x)?.as_slice(), &[13. / 4., 16. / 4.]);
//! # Ok::<(), optim::Error>(())
//! ```

use crate::conv::output_len;
use crate::{ImageShape, Layer, Mode, check_grad, check_nonzero};
use optim::linalg::resize_buffer;
use optim::{Error, Float, Mat, Param, Parameters, Result};

/// Geometry shared by the two pooling layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PoolGeometry {
    input: ImageShape,
    output: ImageShape,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
}

impl PoolGeometry {
    fn new(
        name: &str,
        input: ImageShape,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        check_nonzero(&format!("{name} kernel height"), kernel.0)?;
        check_nonzero(&format!("{name} kernel width"), kernel.1)?;
        check_nonzero(&format!("{name} stride height"), stride.0)?;
        check_nonzero(&format!("{name} stride width"), stride.1)?;
        // PyTorch's rule: a window must never lie entirely in the padding.
        if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
            return Err(Error::hyper(
                &format!("{name} padding"),
                format!("{padding:?}"),
                &format!("must be at most half the kernel {kernel:?}"),
            ));
        }
        let height = output_len("height", input.height, kernel.0, stride.0, padding.0, 1)?;
        let width = output_len("width", input.width, kernel.1, stride.1, padding.1, 1)?;
        Ok(PoolGeometry {
            input,
            output: ImageShape::new(input.channels, height, width),
            kernel,
            stride,
            padding,
        })
    }

    /// The window of output `(i, j)` clipped to the image: `(h0, h1, w0, w1)`, half-open.
    #[inline]
    fn window(&self, i: usize, j: usize) -> (usize, usize, usize, usize) {
        let h = (i * self.stride.0) as isize - self.padding.0 as isize;
        let w = (j * self.stride.1) as isize - self.padding.1 as isize;
        let h0 = h.max(0) as usize;
        let w0 = w.max(0) as usize;
        let h1 = ((h + self.kernel.0 as isize) as usize).min(self.input.height);
        let w1 = ((w + self.kernel.1 as isize) as usize).min(self.input.width);
        (h0, h1, w0, w1)
    }
}

/// Max pooling, PyTorch's `nn.MaxPool2d(kernel, stride, padding)` (padding counts as `−∞`).
///
/// # Shapes
/// Input `(C·H·W) x B`, output `(C·H_out·W_out) x B`, `H_out = ⌊(H + 2p − k)/s⌋ + 1`.
#[derive(Debug, Clone)]
pub struct MaxPool2d<F: Float> {
    geometry: PoolGeometry,
    /// For each output of the last training forward, the index in its image of the maximum.
    argmax: Vec<u32>,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> MaxPool2d<F> {
    /// Max pooling over `kernel` windows moved by `stride`, with `padding` on each side.
    ///
    /// # Errors
    /// Zero kernel or stride, padding over half the kernel, kernel larger than the padded input.
    pub fn new(
        input: ImageShape,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        Ok(MaxPool2d {
            geometry: PoolGeometry::new("MaxPool2d", input, kernel, stride, padding)?,
            argmax: Vec::new(),
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    fn compute(&self, x: &Mat<F>, y: &mut Mat<F>, mut argmax: Option<&mut Vec<u32>>) {
        let g = &self.geometry;
        resize_buffer(y, g.output.len(), x.ncols());
        if let Some(a) = argmax.as_deref_mut() {
            a.resize(y.len(), 0);
        }
        let in_len = g.input.len().max(1);
        let out_len = g.output.len().max(1);
        let xs = x.as_slice();
        let work = x.len();
        match argmax {
            Some(a) => {
                crate::for_each_chunk2(y.as_mut_slice(), out_len, a, out_len, work, |b, yb, ab| {
                    self.pool_image(&xs[b * in_len..(b + 1) * in_len], yb, Some(ab))
                })
            }
            None => crate::for_each_chunk(y.as_mut_slice(), out_len, work, |b, yb| {
                self.pool_image(&xs[b * in_len..(b + 1) * in_len], yb, None)
            }),
        }
    }

    /// The common case — 2x2 windows, stride 2, no padding — with the four comparisons of a
    /// window written out (same scan order, same tie and NaN rules as the general path).
    fn pool_image_2x2(&self, image: &[F], y: &mut [F], mut argmax: Option<&mut [u32]>) {
        let g = &self.geometry;
        let (ih, iw) = (g.input.height, g.input.width);
        let (oh, ow) = (g.output.height, g.output.width);
        for c in 0..g.input.channels {
            for i in 0..oh {
                let o = (c * oh + i) * ow;
                let r0 = c * ih * iw + 2 * i * iw;
                let top = &image[r0..r0 + 2 * ow];
                let bottom = &image[r0 + iw..r0 + iw + 2 * ow];
                let yrow = &mut y[o..o + ow];
                for (j, ((m, t), b)) in yrow
                    .iter_mut()
                    .zip(top.chunks_exact(2))
                    .zip(bottom.chunks_exact(2))
                    .enumerate()
                {
                    let mut best = t[0];
                    let mut at = 0;
                    for (k, v) in [(1, t[1]), (iw, b[0]), (iw + 1, b[1])] {
                        #[allow(clippy::eq_op)]
                        let take = v > best || v != v;
                        best = if take { v } else { best };
                        at = if take { k } else { at };
                    }
                    *m = best;
                    if let Some(a) = argmax.as_deref_mut() {
                        a[o + j] = (r0 + 2 * j + at) as u32;
                    }
                }
            }
        }
    }

    /// Max pooling of one image into `y`, recording each window's first maximum in `argmax`.
    fn pool_image(&self, image: &[F], y: &mut [F], mut argmax: Option<&mut [u32]>) {
        let g = &self.geometry;
        let (ih, iw) = (g.input.height, g.input.width);
        let (oh, ow) = (g.output.height, g.output.width);
        if g.padding == (0, 0) {
            // Every window lies inside the image. The loops run over the taps `(u, v)` of the
            // window in row-major order (so ties keep the first maximum, as in PyTorch) and,
            // innermost, over the independent windows of one output row, which keeps the
            // comparisons free of a loop-carried dependency.
            let (kh, kw) = g.kernel;
            let (sh, sw) = g.stride;
            if g.kernel == (2, 2) && g.stride == (2, 2) {
                self.pool_image_2x2(image, y, argmax);
                return;
            }
            let mut scratch = Vec::new();
            for c in 0..g.input.channels {
                let base = c * ih * iw;
                for i in 0..oh {
                    let o = (c * oh + i) * ow;
                    let top = base + i * sh * iw;
                    let yrow = &mut y[o..o + ow];
                    let arow: &mut [u32] = match argmax.as_deref_mut() {
                        Some(a) => &mut a[o..o + ow],
                        None => {
                            scratch.resize(ow, 0);
                            &mut scratch
                        }
                    };
                    for (j, (m, a)) in yrow.iter_mut().zip(arow.iter_mut()).enumerate() {
                        *m = image[top + j * sw];
                        *a = (top + j * sw) as u32;
                    }
                    for u in 0..kh {
                        for v in 0..kw {
                            if u == 0 && v == 0 {
                                continue;
                            }
                            let start = top + u * iw + v;
                            for (j, (m, a)) in yrow.iter_mut().zip(arow.iter_mut()).enumerate() {
                                let q = start + j * sw;
                                let val = image[q];
                                #[allow(clippy::eq_op)]
                                let take = val > *m || val != val;
                                *m = if take { val } else { *m };
                                *a = if take { q as u32 } else { *a };
                            }
                        }
                    }
                }
            }
            return;
        }
        let mut k = 0;
        for c in 0..g.input.channels {
            let base = c * ih * iw;
            let channel = &image[base..base + ih * iw];
            for i in 0..oh {
                for j in 0..ow {
                    let (h0, h1, w0, w1) = g.window(i, j);
                    let mut best = h0 * iw + w0;
                    let mut m = channel[best];
                    for h in h0..h1 {
                        for w in w0..w1 {
                            let v = channel[h * iw + w];
                            // `>` keeps the first maximum; NaN propagates as in PyTorch.
                            #[allow(clippy::eq_op)]
                            let take = v > m || v != v;
                            if take {
                                m = v;
                                best = h * iw + w;
                            }
                        }
                    }
                    y[k] = m;
                    if let Some(a) = argmax.as_deref_mut() {
                        a[k] = (base + best) as u32;
                    }
                    k += 1;
                }
            }
        }
    }
}

impl<F: Float> Parameters<F> for MaxPool2d<F> {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for MaxPool2d<F> {
    fn kind(&self) -> &'static str {
        "max_pool2d"
    }
    fn input_shape(&self) -> ImageShape {
        self.geometry.input
    }
    fn output_shape(&self) -> ImageShape {
        self.geometry.output
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.geometry.input.check("MaxPool2d input", x)?;
        let mut y = std::mem::take(&mut self.output);
        let mut argmax = std::mem::take(&mut self.argmax);
        self.compute(x, &mut y, Some(&mut argmax));
        self.output = y;
        self.argmax = argmax;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("MaxPool2d", dy, self.output.shape())?;
        let g = &self.geometry;
        resize_buffer(&mut self.dx, g.input.len(), dy.ncols());
        let out_len = g.output.len();
        let in_len = g.input.len();
        if out_len == 0 {
            self.dx.fill(F::zero());
            return Ok(&self.dx);
        }
        let (dys, argmax) = (dy.as_slice(), &self.argmax);
        crate::for_each_chunk(self.dx.as_mut_slice(), in_len, dy.len(), |b, image| {
            image.fill(F::zero());
            let grads = &dys[b * out_len..(b + 1) * out_len];
            let idx = &argmax[b * out_len..(b + 1) * out_len];
            for (&d, &q) in grads.iter().zip(idx) {
                image[q as usize] += d;
            }
        });
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.geometry.input.check("MaxPool2d input", x)?;
        let mut y = Mat::zeros(0, 0);
        self.compute(x, &mut y, None);
        Ok(y)
    }
}

/// Average pooling, PyTorch's `nn.AvgPool2d(kernel, stride, padding, count_include_pad)`.
///
/// # Shapes
/// Input `(C·H·W) x B`, output `(C·H_out·W_out) x B`.
#[derive(Debug, Clone)]
pub struct AvgPool2d<F: Float> {
    geometry: PoolGeometry,
    count_include_pad: bool,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> AvgPool2d<F> {
    /// Average pooling that counts padding as zeros in the mean (`count_include_pad = true`,
    /// PyTorch's default).
    ///
    /// # Errors
    /// As [`MaxPool2d::new`].
    pub fn new(
        input: ImageShape,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        Ok(AvgPool2d {
            geometry: PoolGeometry::new("AvgPool2d", input, kernel, stride, padding)?,
            count_include_pad: true,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    /// Sets `count_include_pad`: with `false` the mean is over the pixels inside the image only.
    pub fn count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    #[inline]
    fn divisor(&self, window: (usize, usize, usize, usize)) -> F {
        let (h0, h1, w0, w1) = window;
        if self.count_include_pad {
            F::of((self.geometry.kernel.0 * self.geometry.kernel.1) as f64)
        } else {
            F::of(((h1 - h0) * (w1 - w0)) as f64)
        }
    }

    fn compute(&self, x: &Mat<F>, y: &mut Mat<F>) {
        let g = &self.geometry;
        let (ih, iw) = (g.input.height, g.input.width);
        let (oh, ow) = (g.output.height, g.output.width);
        resize_buffer(y, g.output.len(), x.ncols());
        let ys = y.as_mut_slice();
        let mut k = 0;
        for image in x.as_slice().chunks_exact(g.input.len().max(1)) {
            for c in 0..g.input.channels {
                let channel = &image[c * ih * iw..(c + 1) * ih * iw];
                for i in 0..oh {
                    for j in 0..ow {
                        let win = g.window(i, j);
                        let (h0, h1, w0, w1) = win;
                        let mut s = F::zero();
                        for h in h0..h1 {
                            for &v in &channel[h * iw + w0..h * iw + w1] {
                                s += v;
                            }
                        }
                        ys[k] = s / self.divisor(win);
                        k += 1;
                    }
                }
            }
        }
    }
}

impl<F: Float> Parameters<F> for AvgPool2d<F> {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for AvgPool2d<F> {
    fn kind(&self) -> &'static str {
        "avg_pool2d"
    }
    fn input_shape(&self) -> ImageShape {
        self.geometry.input
    }
    fn output_shape(&self) -> ImageShape {
        self.geometry.output
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.geometry.input.check("AvgPool2d input", x)?;
        let mut y = std::mem::take(&mut self.output);
        self.compute(x, &mut y);
        self.output = y;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("AvgPool2d", dy, self.output.shape())?;
        let g = self.geometry;
        let (ih, iw) = (g.input.height, g.input.width);
        let (oh, ow) = (g.output.height, g.output.width);
        let mut dx = std::mem::take(&mut self.dx);
        resize_buffer(&mut dx, g.input.len(), dy.ncols());
        dx.fill(F::zero());
        let dys = dy.as_slice();
        let mut k = 0;
        for image in dx.as_mut_slice().chunks_exact_mut(g.input.len().max(1)) {
            for c in 0..g.input.channels {
                let channel = &mut image[c * ih * iw..(c + 1) * ih * iw];
                for i in 0..oh {
                    for j in 0..ow {
                        let win = g.window(i, j);
                        let (h0, h1, w0, w1) = win;
                        let d = dys[k] / self.divisor(win);
                        k += 1;
                        for h in h0..h1 {
                            for v in &mut channel[h * iw + w0..h * iw + w1] {
                                *v += d;
                            }
                        }
                    }
                }
            }
        }
        self.dx = dx;
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.geometry.input.check("AvgPool2d input", x)?;
        let mut y = Mat::zeros(0, 0);
        self.compute(x, &mut y);
        Ok(y)
    }
}

/// Global average pooling: each channel's mean over the whole image, `C x H x W → C x 1 x 1`
/// (PyTorch's `nn.AdaptiveAvgPool2d(1)` followed by flattening).
///
/// ```text
/// y[c] = (1/(H·W)) Σ_{h,w} x[c, h, w],     ∂L/∂x[c, h, w] = ∂L/∂y[c] / (H·W)
/// ```
#[derive(Debug, Clone)]
pub struct GlobalAvgPool<F: Float> {
    input: ImageShape,
    output: Mat<F>,
    dx: Mat<F>,
}

impl<F: Float> GlobalAvgPool<F> {
    /// Global average pooling of images of shape `input`.
    ///
    /// # Errors
    /// If the image has no pixels.
    pub fn new(input: ImageShape) -> Result<Self> {
        if input.area() == 0 {
            return Err(Error::Data(format!(
                "GlobalAvgPool: input {input} has no pixels"
            )));
        }
        Ok(GlobalAvgPool {
            input,
            output: Mat::zeros(0, 0),
            dx: Mat::zeros(0, 0),
        })
    }

    fn compute(&self, x: &Mat<F>, y: &mut Mat<F>) {
        let area = self.input.area();
        resize_buffer(y, self.input.channels, x.ncols());
        let inv = F::one() / F::of(area as f64);
        for (yv, channel) in y
            .as_mut_slice()
            .iter_mut()
            .zip(x.as_slice().chunks_exact(area))
        {
            let mut s = F::zero();
            for &v in channel {
                s += v;
            }
            *yv = s * inv;
        }
    }
}

impl<F: Float> Parameters<F> for GlobalAvgPool<F> {
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

impl<F: Float> Layer<F> for GlobalAvgPool<F> {
    fn kind(&self) -> &'static str {
        "global_avg_pool"
    }
    fn input_shape(&self) -> ImageShape {
        self.input
    }
    fn output_shape(&self) -> ImageShape {
        ImageShape::flat(self.input.channels)
    }

    fn forward<'a>(&'a mut self, x: &'a Mat<F>, _mode: Mode) -> Result<&'a Mat<F>> {
        self.input.check("GlobalAvgPool input", x)?;
        let mut y = std::mem::take(&mut self.output);
        self.compute(x, &mut y);
        self.output = y;
        Ok(&self.output)
    }

    fn backward<'a>(&'a mut self, dy: &'a Mat<F>, _need_input_grad: bool) -> Result<&'a Mat<F>> {
        check_grad("GlobalAvgPool", dy, self.output.shape())?;
        let area = self.input.area();
        resize_buffer(&mut self.dx, self.input.len(), dy.ncols());
        let inv = F::one() / F::of(area as f64);
        for (channel, &d) in self
            .dx
            .as_mut_slice()
            .chunks_exact_mut(area)
            .zip(dy.as_slice())
        {
            channel.fill(d * inv);
        }
        Ok(&self.dx)
    }

    fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.input.check("GlobalAvgPool input", x)?;
        let mut y = Mat::zeros(0, 0);
        self.compute(x, &mut y);
        Ok(y)
    }
}
