//! Differentiable building blocks shared by every chapter: [`Linear`], [`Embedding`] and
//! [`Dropout`]. Each is a forward/backward pair with a cache: `forward` keeps exactly what
//! `backward` needs, `backward(dy)` *adds* parameter gradients into [`Param::grad`] and returns
//! `∂L/∂input`, and `predict(&self)` is the cache-free inference path.
//!
//! The affine map itself is written once, in [`affine_forward`] and [`affine_backward`], over
//! *borrowed* parameters and buffers, so that the same lines serve [`Linear`], a network that
//! keeps its own activation arena (and so needs no input cache in the layer), and a tied
//! decoder that reads an encoder's matrix transposed (`op(W) = Wᵀ`, the same [`Param`], whose
//! gradient then gets both contributions).
//!
//! ```
//! use optim::{Linear, Mat};
//! let mut layer = Linear::<f64>::from_weights(
//!     Mat::from_row_slice(2, 3, &[1., 0., -1., 2., 1., 0.]),
//!     Some(Mat::from_column_slice(2, 1, &[0.5, -0.5])),
//! );
//! let x = Mat::from_column_slice(3, 1, &[1., 2., 3.]);
//! let y = layer.forward(&x)?;                       // W x + b
//! assert_eq!(y.as_slice(), &[1. - 3. + 0.5, 2. + 2. - 0.5]);
//! let dx = layer.backward(&Mat::from_column_slice(2, 1, &[1., 1.]))?;
//! assert_eq!(dx.as_slice(), &[3., 1., -1.]);        // Wᵀ dy
//! assert_eq!(layer.weight.grad.row(1).iter().copied().collect::<Vec<_>>(), [1., 2., 3.]); // dy xᵀ
//! # Ok::<(), optim::Error>(())
//! ```

use crate::linalg::{copy_into, gemm};
use crate::{Error, Float, Init, Mat, Param, Parameters, Result};
use rand::Rng;

/// The affine map `y = W x + b·1ᵀ` (notes §3: "linear weighting"), PyTorch's `nn.Linear`.
///
/// Backward, with `X` the cached input (`in x batch`) and `dY = ∂L/∂Y`:
///
/// ```text
/// ∂L/∂W += dY Xᵀ        (out x in)
/// ∂L/∂b += dY · 1       (row sums of dY)
/// ∂L/∂X  = Wᵀ dY        (in x batch)
/// ```
///
/// # Shapes
/// `weight`: `out x in` (as PyTorch), `bias`: `out` (logical shape `[out]`), input `in x batch`,
/// output `out x batch`.
#[derive(Debug, Clone)]
pub struct Linear<F: Float> {
    /// `W`, `out x in`.
    pub weight: Param<F>,
    /// `b`, `out x 1`; `None` for a layer without bias.
    pub bias: Option<Param<F>>,
    input: Mat<F>,
}

/// The settings of a [`Linear`] layer, burn's `LinearConfig::new(2, 3).with_bias(false)` style.
///
/// ```
/// use optim::{Init, LinearConfig};
/// let layer = LinearConfig::new(3, 2)
///     .with_bias(false)
///     .with_init(Init::HeUniform)
///     .init::<f32>(&mut optim::rng(0));
/// assert_eq!((layer.inputs(), layer.outputs(), layer.bias.is_none()), (3, 2, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinearConfig {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Whether the layer has a bias. Default: true.
    pub bias: bool,
    /// Weight initialization. Default: PyTorch's, `U(−1/√in, 1/√in)` for `W` and `b`; other
    /// schemes start the bias at zero.
    pub init: Init,
}

impl LinearConfig {
    /// An `inputs → outputs` layer with a bias and PyTorch's initialization.
    pub fn new(inputs: usize, outputs: usize) -> Self {
        LinearConfig {
            inputs,
            outputs,
            bias: true,
            init: Init::PyTorchDefault,
        }
    }

    /// With or without a bias.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// With the given weight initialization.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// A layer with these settings, its weights drawn from `rng`.
    pub fn init<F: Float>(&self, rng: &mut impl Rng) -> Linear<F> {
        let (inputs, outputs) = (self.inputs, self.outputs);
        let weight = self.init.dense(outputs, inputs, rng);
        let bias = self.bias.then(|| {
            if self.init == Init::PyTorchDefault {
                self.init.matrix(outputs, 1, inputs, outputs, rng)
            } else {
                Mat::zeros(outputs, 1)
            }
        });
        Linear::from_weights(weight, bias)
    }
}

impl<F: Float> Linear<F> {
    /// A layer with PyTorch's default initialization: `W, b ~ U(−1/√in, 1/√in)`.
    pub fn new(inputs: usize, outputs: usize, rng: &mut impl Rng) -> Self {
        LinearConfig::new(inputs, outputs).init(rng)
    }

    /// A layer with given `W` (`out x in`) and `b` (`out x 1`).
    ///
    /// # Panics
    /// If `b` is not `out x 1` (use [`Linear::try_from_weights`] for user-supplied values).
    pub fn from_weights(weight: Mat<F>, bias: Option<Mat<F>>) -> Self {
        Self::try_from_weights(weight, bias).expect("bias must be out x 1")
    }

    /// A layer with given `W` and `b`, checking their shapes.
    pub fn try_from_weights(weight: Mat<F>, bias: Option<Mat<F>>) -> Result<Self> {
        if let Some(b) = &bias
            && b.shape() != (weight.nrows(), 1)
        {
            return Err(Error::shape("Linear bias", (weight.nrows(), 1), b.shape()));
        }
        Ok(Linear {
            weight: Param::new(weight),
            bias: bias.map(Param::vector),
            input: Mat::zeros(0, 0),
        })
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.weight.value.ncols()
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.weight.value.nrows()
    }

    fn check_input(&self, x: &Mat<F>) -> Result<()> {
        if x.nrows() != self.inputs() {
            return Err(Error::shape(
                "Linear input (features x batch)",
                (self.inputs(), x.ncols()),
                x.shape(),
            ));
        }
        Ok(())
    }

    /// `Y = W X + b 1ᵀ` into a preallocated `y` (`out x batch`), without caching.
    ///
    /// # Errors
    /// If `x` does not have `in` rows.
    pub fn predict_into(&self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.check_input(x)?;
        affine_forward(
            &self.weight.value,
            false,
            self.bias.as_ref().map(|b| &b.value),
            x,
            y,
        );
        Ok(())
    }

    /// `Y = W X + b 1ᵀ`, caching `X` for `backward`.
    ///
    /// The cache is a copy of `X` into a buffer the layer reuses (one `memcpy`, about 8 µs for
    /// `784 x 128` `f32`, half a percent of the forward and backward products); it is what lets
    /// `forward` borrow `X` instead of holding on to it until `backward`.
    ///
    /// # Errors
    /// If `x` does not have `in` rows.
    pub fn forward(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, &mut y)?;
        Ok(y)
    }

    /// [`Linear::forward`] into a reused buffer `y` (resized to `out x batch` if needed): no
    /// allocation once the buffers have their size.
    ///
    /// # Errors
    /// If `x` does not have `in` rows.
    pub fn forward_into(&mut self, x: &Mat<F>, y: &mut Mat<F>) -> Result<()> {
        self.predict_into(x, y)?;
        copy_into(&mut self.input, x);
        Ok(())
    }

    /// `Y = W X + b 1ᵀ` without a cache.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mut y = Mat::zeros(0, 0);
        self.predict_into(x, &mut y)?;
        Ok(y)
    }

    /// Adds `dY Xᵀ` to `∂L/∂W` and `dY·1` to `∂L/∂b`; returns `∂L/∂X = Wᵀ dY`.
    ///
    /// # Errors
    /// If `dy` is not `out x batch` of the last forward.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }

    /// [`Linear::backward`] into a reused buffer `dx` (resized to `in x batch` if needed).
    ///
    /// # Errors
    /// If `dy` is not `out x batch` of the last forward.
    pub fn backward_into(&mut self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        self.backward_cached(dy, Some(dx))
    }

    /// Like [`Linear::backward`] but only accumulates parameter gradients (for a first layer,
    /// whose input needs no gradient).
    ///
    /// # Errors
    /// If `dy` is not `out x batch` of the last forward.
    pub fn accumulate_grads(&mut self, dy: &Mat<F>) -> Result<()> {
        self.backward_cached(dy, None)
    }

    /// The backward from the cached input of the last forward.
    fn backward_cached(&mut self, dy: &Mat<F>, dx: Option<&mut Mat<F>>) -> Result<()> {
        if dy.shape() != (self.outputs(), self.input.ncols()) {
            return Err(Error::shape(
                "Linear backward dY",
                (self.outputs(), self.input.ncols()),
                dy.shape(),
            ));
        }
        affine_backward(
            &mut self.weight,
            false,
            self.bias.as_mut(),
            &self.input,
            dy,
            dx,
        );
        Ok(())
    }

    /// The backward for a caller that kept the layer's input itself (an activation arena) and
    /// ran [`Linear::predict_into`] as the forward: adds `dY Xᵀ` and `dY·1` into the gradients
    /// and, if `dx` is given, writes `Wᵀ dY` into it. No cache of the layer is used.
    ///
    /// # Errors
    /// If `x` is not `in x batch` or `dy` not `out x batch`.
    pub fn backward_with_input(
        &mut self,
        x: &Mat<F>,
        dy: &Mat<F>,
        dx: Option<&mut Mat<F>>,
    ) -> Result<()> {
        self.check_input(x)?;
        if dy.shape() != (self.outputs(), x.ncols()) {
            return Err(Error::shape(
                "Linear backward dY",
                (self.outputs(), x.ncols()),
                dy.shape(),
            ));
        }
        affine_backward(&mut self.weight, false, self.bias.as_mut(), x, dy, dx);
        Ok(())
    }

    /// [`Linear::backward_with_input`] with the gradients added or assigned as `mode` says
    /// (see [`GradMode`]).
    ///
    /// # Errors
    /// As [`Linear::backward_with_input`].
    pub fn backward_with_input_mode(
        &mut self,
        mode: GradMode,
        x: &Mat<F>,
        dy: &Mat<F>,
        dx: Option<&mut Mat<F>>,
    ) -> Result<()> {
        self.check_input(x)?;
        if dy.shape() != (self.outputs(), x.ncols()) {
            return Err(Error::shape(
                "Linear backward dY",
                (self.outputs(), x.ncols()),
                dy.shape(),
            ));
        }
        affine_backward_with(mode, &mut self.weight, false, self.bias.as_mut(), x, dy, dx);
        Ok(())
    }
}

/// `Y = op(W) X + b 1ᵀ` into `y` (resized to `rows(op(W)) x batch`), with `op(W) = Wᵀ` when
/// `transposed` (a tied decoder). The one forward of every affine layer in the workspace.
///
/// # Shapes
/// `W`: `out x in` (or `in x out` when transposed), `b`: `out x 1`, `X`: `in x batch`.
///
/// # Panics
/// If the shapes do not agree (callers check user-facing shapes first).
pub fn affine_forward<F: Float>(
    weight: &Mat<F>,
    transposed: bool,
    bias: Option<&Mat<F>>,
    x: &Mat<F>,
    y: &mut Mat<F>,
) {
    let rows = if transposed {
        weight.ncols()
    } else {
        weight.nrows()
    };
    crate::linalg::resize_buffer(y, rows, x.ncols());
    match bias {
        Some(b) => {
            // Broadcast b into every column, then accumulate op(W) X onto it (β = 1): one pass
            // over Y for the bias, none extra for the product.
            let bias = b.as_slice();
            if !bias.is_empty() {
                for col in y.as_mut_slice().chunks_exact_mut(bias.len()) {
                    col.copy_from_slice(bias);
                }
            }
            gemm(F::one(), weight, transposed, x, false, F::one(), y);
        }
        None => gemm(F::one(), weight, transposed, x, false, F::zero(), y),
    }
}

/// How a backward pass writes parameter gradients.
///
/// The shared loop zeroes every gradient before a step and backward passes *add* into them
/// ([`GradMode::Accumulate`], the default everywhere). A model whose training step writes every
/// one of its gradients exactly once may *assign* them instead ([`GradMode::Overwrite`]) and say
/// so with [`crate::train::Trainable::overwrites_gradients`]: the loop then skips the zeroing
/// pass, and the products write `∂L/∂W` with `β = 0` instead of reading it back (one memory
/// pass over the parameters less, each way, per step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradMode {
    /// `grad += ∂L/∂θ`.
    #[default]
    Accumulate,
    /// `grad = ∂L/∂θ`.
    Overwrite,
}

/// The one backward of every affine layer, `Y = op(W) X + b 1ᵀ`, given `dY = ∂L/∂Y`:
///
/// ```text
/// ∂L/∂W += dY Xᵀ          (op(W) = W)
/// ∂L/∂W += X dYᵀ          (op(W) = Wᵀ: the transpose of the same product, in W's shape)
/// ∂L/∂b += dY · 1         (row sums of dY)
/// ∂L/∂X  = op(W)ᵀ dY      (into `dx`, if given; resized to `in x batch`)
/// ```
///
/// # Panics
/// If the shapes do not agree (callers check user-facing shapes first).
pub fn affine_backward<F: Float>(
    weight: &mut Param<F>,
    transposed: bool,
    bias: Option<&mut Param<F>>,
    x: &Mat<F>,
    dy: &Mat<F>,
    dx: Option<&mut Mat<F>>,
) {
    affine_backward_with(GradMode::Accumulate, weight, transposed, bias, x, dy, dx);
}

/// [`affine_backward`] with the gradients added or assigned as `mode` says (`=` instead of `+=`
/// in the first three lines of its formulas for [`GradMode::Overwrite`]).
///
/// ```
/// use optim::{GradMode, Mat, Param, affine_backward_with};
/// let mut w = Param::new(Mat::<f64>::from_row_slice(1, 2, &[1.0, 2.0]));
/// let mut b = Param::new(Mat::<f64>::zeros(1, 1));
/// w.grad.fill(5.0); // a stale gradient: overwritten, not added to
/// let x = Mat::from_row_slice(2, 1, &[3.0, 4.0]);
/// let dy = Mat::from_row_slice(1, 1, &[0.5]);
/// let mut dx = Mat::zeros(0, 0);
/// affine_backward_with(GradMode::Overwrite, &mut w, false, Some(&mut b), &x, &dy, Some(&mut dx));
/// assert_eq!(w.grad.as_slice(), &[1.5, 2.0]); // dY Xᵀ
/// assert_eq!(b.grad[0], 0.5);
/// assert_eq!(dx.as_slice(), &[0.5, 1.0]); // Wᵀ dY
/// ```
///
/// # Panics
/// If the shapes do not agree (callers check user-facing shapes first).
pub fn affine_backward_with<F: Float>(
    mode: GradMode,
    weight: &mut Param<F>,
    transposed: bool,
    bias: Option<&mut Param<F>>,
    x: &Mat<F>,
    dy: &Mat<F>,
    dx: Option<&mut Mat<F>>,
) {
    let beta = match mode {
        GradMode::Accumulate => F::one(),
        GradMode::Overwrite => F::zero(),
    };
    if transposed {
        gemm(F::one(), x, false, dy, true, beta, &mut weight.grad);
    } else {
        gemm(F::one(), dy, false, x, true, beta, &mut weight.grad);
    }
    if let Some(b) = bias {
        let rows = dy.nrows();
        let g = b.grad.as_mut_slice();
        if mode == GradMode::Overwrite {
            g.fill(F::zero());
        }
        for col in dy.as_slice().chunks_exact(rows.max(1)) {
            for (gi, &d) in g.iter_mut().zip(col) {
                *gi += d;
            }
        }
    }
    if let Some(dx) = dx {
        crate::linalg::resize_buffer(dx, x.nrows(), dy.ncols());
        // op(W)ᵀ is W itself when op is the transpose
        gemm(
            F::one(),
            &weight.value,
            !transposed,
            dy,
            false,
            F::zero(),
            dx,
        );
    }
}

impl<F: Float> Parameters<F> for Linear<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            visit("bias", b);
        }
    }
}

/// A lookup table `E` (`num x dim`, PyTorch's `nn.Embedding.weight`): token `i` maps to row `i`.
///
/// Forward gathers `y_{:,t} = E_{ids[t],:}ᵀ`; backward *scatter-adds*
/// `∂L/∂E_{ids[t],:} += (∂L/∂y_{:,t})ᵀ`, so a token used twice in a batch gets both
/// contributions and rows never used get none.
///
/// # Shapes
/// ids: `batch`, output `dim x batch`.
#[derive(Debug, Clone)]
pub struct Embedding<F: Float> {
    /// The table, `num x dim`.
    pub weight: Param<F>,
    ids: Vec<usize>,
}

impl<F: Float> Embedding<F> {
    /// A table of `num` vectors of width `dim`, drawn from `N(0, 1)` as PyTorch does.
    pub fn new(num: usize, dim: usize, rng: &mut impl Rng) -> Self {
        Self::from_table(Init::Normal(1.0).matrix(num, dim, dim, dim, rng))
    }

    /// A table with given values (`num x dim`).
    pub fn from_table(table: Mat<F>) -> Self {
        Embedding {
            weight: Param::new(table),
            ids: Vec::new(),
        }
    }

    /// Number of entries.
    pub fn num(&self) -> usize {
        self.weight.value.nrows()
    }

    /// Width of each vector.
    pub fn dim(&self) -> usize {
        self.weight.value.ncols()
    }

    /// Gathers the vectors of `ids` as columns, without caching.
    ///
    /// # Errors
    /// If an id is `>= num`.
    pub fn predict(&self, ids: &[usize]) -> Result<Mat<F>> {
        if let Some(&bad) = ids.iter().find(|&&i| i >= self.num()) {
            return Err(Error::Data(format!(
                "Embedding: id {bad} out of range for a table of {} entries",
                self.num()
            )));
        }
        let w = &self.weight.value;
        Ok(Mat::from_fn(self.dim(), ids.len(), |d, t| w[(ids[t], d)]))
    }

    /// Gathers the vectors of `ids` as columns, caching the ids.
    pub fn forward(&mut self, ids: &[usize]) -> Result<Mat<F>> {
        let y = self.predict(ids)?;
        self.ids.clear();
        self.ids.extend_from_slice(ids);
        Ok(y)
    }

    /// Scatter-adds `dy`'s columns into the rows of the ids of the last forward.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<()> {
        if dy.shape() != (self.dim(), self.ids.len()) {
            return Err(Error::shape(
                "Embedding backward",
                (self.dim(), self.ids.len()),
                dy.shape(),
            ));
        }
        for (t, &id) in self.ids.iter().enumerate() {
            for d in 0..self.dim() {
                self.weight.grad[(id, d)] += dy[(d, t)];
            }
        }
        Ok(())
    }
}

impl<F: Float> Parameters<F> for Embedding<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
    }
}

/// Inverted dropout (Srivastava et al. 2014): in training each entry is kept with probability
/// `1 − p` and scaled by `1 / (1 − p)`, so the expected activation is unchanged and inference is
/// the identity.
///
/// ```text
/// forward:  m_ij ~ Bernoulli(1 − p),  y = x ⊙ m / (1 − p)
/// backward: ∂L/∂x = ∂L/∂y ⊙ m / (1 − p)
/// ```
#[derive(Debug, Clone)]
pub struct Dropout<F: Float> {
    p: f64,
    /// The scaled mask of the last training forward (`0` or `1/(1−p)`).
    mask: Mat<F>,
}

impl<F: Float> Dropout<F> {
    /// Dropout with drop probability `p ∈ [0, 1)`.
    pub fn new(p: f64) -> Result<Self> {
        if !(p.is_finite() && (0.0..1.0).contains(&p)) {
            return Err(Error::hyper("dropout p", p, "must lie in [0, 1)"));
        }
        Ok(Dropout {
            p,
            mask: Mat::zeros(0, 0),
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Training forward with a fresh mask drawn from `rng`.
    pub fn forward(&mut self, x: &Mat<F>, rng: &mut impl Rng) -> Mat<F> {
        let mut y = Mat::zeros(0, 0);
        self.forward_into(x, &mut y, rng);
        y
    }

    /// Draws a fresh scaled mask of `rows x cols` (entries `0` with probability `p`, else
    /// `1/(1−p)`) into the layer's reused buffer.
    pub fn draw_mask(&mut self, rows: usize, cols: usize, rng: &mut (impl Rng + ?Sized)) {
        let keep = 1.0 - self.p;
        let scale = F::of(1.0 / keep);
        crate::linalg::resize_buffer(&mut self.mask, rows, cols);
        for m in self.mask.as_mut_slice().iter_mut() {
            *m = if rng.random::<f64>() < keep {
                scale
            } else {
                F::zero()
            };
        }
    }

    /// Training forward into a reused buffer `y`: a fresh mask from `rng`, `y = x ⊙ m/(1−p)`.
    /// No allocation once the buffers have their size.
    pub fn forward_into(&mut self, x: &Mat<F>, y: &mut Mat<F>, rng: &mut (impl Rng + ?Sized)) {
        self.draw_mask(x.nrows(), x.ncols(), rng);
        self.apply_mask(x, y);
    }

    /// Training forward in place, `x ← x ⊙ m/(1−p)`, with a fresh mask from `rng`.
    pub fn forward_in_place(&mut self, x: &mut Mat<F>, rng: &mut (impl Rng + ?Sized)) {
        self.draw_mask(x.nrows(), x.ncols(), rng);
        for (v, &m) in x.as_mut_slice().iter_mut().zip(self.mask.as_slice()) {
            *v *= m;
        }
    }

    /// Training forward with a given scaled mask (entries `0` or `1/(1−p)`), for gradient checks.
    ///
    /// # Errors
    /// If the mask's shape differs from `x`'s.
    pub fn forward_with_mask(&mut self, x: &Mat<F>, mask: Mat<F>) -> Result<Mat<F>> {
        if mask.shape() != x.shape() {
            return Err(Error::shape("Dropout mask", x.shape(), mask.shape()));
        }
        self.mask = mask;
        let mut y = Mat::zeros(0, 0);
        self.apply_mask(x, &mut y);
        Ok(y)
    }

    /// Uses `mask` (entries `0` or `1/(1−p)`) as the mask of the next backward, copying it into
    /// the layer's buffer.
    pub fn set_mask(&mut self, mask: &Mat<F>) {
        crate::linalg::copy_into(&mut self.mask, mask);
    }

    /// The scaled mask of the last training forward.
    pub fn mask(&self) -> &Mat<F> {
        &self.mask
    }

    /// `y = x ⊙ mask` with the current mask.
    fn apply_mask(&self, x: &Mat<F>, y: &mut Mat<F>) {
        crate::linalg::resize_buffer(y, x.nrows(), x.ncols());
        for ((out, &v), &m) in y
            .as_mut_slice()
            .iter_mut()
            .zip(x.as_slice())
            .zip(self.mask.as_slice())
        {
            *out = v * m;
        }
    }

    /// `∂L/∂x = ∂L/∂y ⊙ mask`.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last training forward.
    pub fn backward(&self, dy: &Mat<F>) -> Result<Mat<F>> {
        let mut dx = Mat::zeros(0, 0);
        self.backward_into(dy, &mut dx)?;
        Ok(dx)
    }

    /// [`Dropout::backward`] into a reused buffer `dx`.
    ///
    /// # Errors
    /// If `dy` does not have the shape of the last training forward.
    pub fn backward_into(&self, dy: &Mat<F>, dx: &mut Mat<F>) -> Result<()> {
        if dy.shape() != self.mask.shape() {
            return Err(Error::shape(
                "Dropout backward",
                self.mask.shape(),
                dy.shape(),
            ));
        }
        self.apply_mask(dy, dx);
        Ok(())
    }

    /// [`Dropout::backward`] in place: `d ← d ⊙ mask`.
    ///
    /// # Errors
    /// If `d` does not have the shape of the last training forward.
    pub fn backward_in_place(&self, d: &mut Mat<F>) -> Result<()> {
        if d.shape() != self.mask.shape() {
            return Err(Error::shape(
                "Dropout backward",
                self.mask.shape(),
                d.shape(),
            ));
        }
        for (v, &m) in d.as_mut_slice().iter_mut().zip(self.mask.as_slice()) {
            *v *= m;
        }
        Ok(())
    }

    /// Inference: the identity.
    pub fn predict(&self, x: &Mat<F>) -> Mat<F> {
        x.clone()
    }
}
