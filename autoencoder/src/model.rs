//! The deterministic autoencoder `x̂ = φ(ψ(x))` and its variants: undercomplete, tied weights,
//! denoising, sparse and contractive. Each variant is a few lines in [`Autoencoder::forward_loss`]
//! / [`Autoencoder::backward`] (marked `VARIANT` in the source) on top of the same forward and
//! backward passes. Training goes through optim's one loop ([`optim::train::Trainable`], in
//! [`crate::train`]); checkpoints through [`optim::checkpoint::save_model`] /
//! [`optim::checkpoint::load_model`].
//!
//! ```
//! use autoencoder::{Autoencoder, AutoencoderConfig};
//! use optim::Parameters;
//! // a 2-1-2 linear autoencoder with hand-set weights: code h = x₁ + x₂, x̂ = ½ h (1, 1)
//! let mut model = Autoencoder::<f64>::new(AutoencoderConfig::linear(2, 1), &mut optim::rng(0)).unwrap();
//! model.visit_params(&mut |name, p| match name {
//!     "encoder.0.weight" => p.value.copy_from_slice(&[1.0, 1.0]),
//!     "decoder.0.weight" => p.value.copy_from_slice(&[0.5, 0.5]),
//!     _ => p.value.fill(0.0), // biases
//! });
//! let x = optim::Mat::from_column_slice(2, 2, &[1.0, 1.0, 3.0, 1.0]);
//! assert_eq!(model.encode(&x).unwrap().as_slice(), &[2.0, 4.0]);
//! assert_eq!(model.reconstruct(&x).unwrap().as_slice(), &[1.0, 1.0, 2.0, 2.0]);
//! // the first column lies on the decoder's line, the second misses it by (1, −1): MSE 2/4
//! assert_eq!(model.reconstruction_error(&x).unwrap(), 0.5);
//! let parts = model.objective(&x).unwrap();
//! assert_eq!((parts.total, parts.reconstruction, parts.penalty), (0.5, 0.5, 0.0));
//! ```

use crate::config::{AutoencoderConfig, Corruption, Penalty, Reconstruction};
use crate::dense;
use optim::checkpoint::Saveable;
use optim::{
    Activation, Error, Float, Init, Linear, LinearConfig, Mat, Param, Parameters, Result,
    affine_backward, loss,
};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// The parts of a training loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParts<F: Float> {
    /// Reconstruction plus penalty: what the gradients are of.
    pub total: F,
    /// Reconstruction term (mean per entry for [`Autoencoder`]; per example, summed over
    /// entries, for [`crate::Vae`]).
    pub reconstruction: F,
    /// Penalty: sparse KL, contractive Jacobian norm, or the VAE's KL to the prior (0 if none).
    pub penalty: F,
}

/// A decoder layer: its own `Linear`, or (tied weights) only a bias, the matrix being the
/// transpose of an encoder layer's.
#[derive(Debug, Clone)]
enum DecoderLayer<F: Float> {
    Own(Linear<F>),
    Tied { bias: Param<F> },
}

/// An autoencoder: encoder ψ (`d → … → k`) and decoder φ (`k → … → d`), trained to minimize
/// `ℓ(x, φ(ψ(x̃)))` plus a penalty, where `x̃` is `x` or its corruption.
///
/// # Shapes
/// Inputs `d x batch`, codes `k x batch`, reconstructions `d x batch`.
///
/// # Parameters (by name, in this order)
/// `encoder.{i}.weight` (`out x in`), `encoder.{i}.bias`, then `decoder.{j}.weight` (absent
/// with tied weights) and `decoder.{j}.bias`.
///
/// ```
/// use autoencoder::{Autoencoder, AutoencoderConfig};
/// let mut rng = optim::rng(0);
/// let model = Autoencoder::<f64>::new(AutoencoderConfig::linear(4, 2), &mut rng).unwrap();
/// let x = optim::Mat::from_fn(4, 3, |i, j| (i + j) as f64 * 0.1);
/// let code = model.encode(&x).unwrap();            // ψ(x), 2 x 3
/// let x_hat = model.decode(&code).unwrap();        // φ(ψ(x)), 4 x 3
/// assert_eq!(x_hat, model.reconstruct(&x).unwrap());
/// assert_eq!(code.shape(), (2, 3));
/// ```
#[derive(Debug, Clone)]
pub struct Autoencoder<F: Float> {
    config: AutoencoderConfig,
    encoder: Vec<Linear<F>>,
    decoder: Vec<DecoderLayer<F>>,
    activations: Vec<Activation>,
    /// `z_ℓ` of each layer of the last training forward.
    pre: Vec<Mat<F>>,
    /// `acts[0]` is the (corrupted) input, `acts[ℓ + 1] = f_ℓ(z_ℓ)`.
    acts: Vec<Mat<F>>,
    /// `∂L/∂acts[ℓ]`; `grads[L]` is filled by the forward pass with the loss gradient.
    grads: Vec<Mat<F>>,
    /// Sparse penalty: `∂P/∂ρ̂_j`, per code unit, of the last forward.
    sparse_grad: Vec<F>,
    /// Contractive penalty: `‖W_j‖²` per code unit, of the last forward.
    row_norms: Vec<F>,
    has_forward: bool,
    /// Parameter names in visiting order.
    names: Vec<String>,
    /// The training batch gathered from the data set (reused between steps).
    pub(crate) batch: Mat<F>,
    /// The corrupted training batch of a denoising model (reused between steps).
    noisy: Mat<F>,
}

impl<F: Float> Autoencoder<F> {
    /// A model with freshly initialized weights.
    ///
    /// # Errors
    /// If the configuration is invalid ([`AutoencoderConfig::validate`]).
    pub fn new(config: AutoencoderConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let (encoder, mut width) =
            dense::linear_stack(config.inputs, &config.encoder, config.init, rng);
        let mut decoder = Vec::new();
        for l in &config.decoder {
            decoder.push(if config.tied {
                let b = if config.init == Init::PyTorchDefault {
                    config.init.matrix(l.width, 1, width, l.width, rng)
                } else {
                    Mat::zeros(l.width, 1)
                };
                DecoderLayer::Tied {
                    bias: Param::vector(b),
                }
            } else {
                DecoderLayer::Own(
                    LinearConfig::new(width, l.width)
                        .with_init(config.init)
                        .init(rng),
                )
            });
            width = l.width;
        }
        let activations = config
            .encoder
            .iter()
            .chain(&config.decoder)
            .map(|l| l.activation)
            .collect::<Vec<_>>();
        let layers = activations.len();
        let mut names = Vec::new();
        for i in 0..encoder.len() {
            names.push(format!("encoder.{i}.weight"));
            names.push(format!("encoder.{i}.bias"));
        }
        for (j, l) in decoder.iter().enumerate() {
            if let DecoderLayer::Own(_) = l {
                names.push(format!("decoder.{j}.weight"));
            }
            names.push(format!("decoder.{j}.bias"));
        }
        Ok(Autoencoder {
            names,
            config,
            encoder,
            decoder,
            activations,
            pre: vec![Mat::zeros(0, 0); layers],
            acts: vec![Mat::zeros(0, 0); layers + 1],
            grads: vec![Mat::zeros(0, 0); layers + 1],
            sparse_grad: Vec::new(),
            row_norms: Vec::new(),
            has_forward: false,
            batch: Mat::zeros(0, 0),
            noisy: Mat::zeros(0, 0),
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// Input width `d`.
    pub fn inputs(&self) -> usize {
        self.config.inputs
    }

    /// Code size `k`.
    pub fn code_size(&self) -> usize {
        self.config.code_size()
    }

    /// The encoder's layers (read-only; change values through [`Parameters::visit_params`]).
    pub fn encoder_layers(&self) -> &[Linear<F>] {
        &self.encoder
    }

    /// The matrix decoder layer `j` applies (`out x in`): its own weight, or with tied weights
    /// the transpose of encoder layer `L − 1 − j`'s (copied out).
    pub fn decoder_weight(&self, j: usize) -> Option<Mat<F>> {
        match self.decoder.get(j)? {
            DecoderLayer::Own(l) => Some(l.weight.value.clone()),
            DecoderLayer::Tied { .. } => {
                let e = self.encoder.len() - 1 - j;
                Some(self.encoder[e].weight.value.transpose())
            }
        }
    }

    fn layer_count(&self) -> usize {
        self.activations.len()
    }

    /// `(W, transposed, b)` of layer `l` (encoder layers first, then decoder layers).
    fn layer(&self, l: usize) -> (&Mat<F>, bool, &Mat<F>) {
        let le = self.encoder.len();
        if l < le {
            let lin = &self.encoder[l];
            (&lin.weight.value, false, bias_of(lin))
        } else {
            match &self.decoder[l - le] {
                DecoderLayer::Own(lin) => (&lin.weight.value, false, bias_of(lin)),
                DecoderLayer::Tied { bias } => (
                    &self.encoder[le - 1 - (l - le)].weight.value,
                    true,
                    &bias.value,
                ),
            }
        }
    }

    fn check_input(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.inputs() {
            return Err(Error::shape(
                format!("autoencoder {what} (features x batch)"),
                (self.inputs(), x.ncols()),
                x.shape(),
            ));
        }
        if x.ncols() == 0 {
            return Err(Error::Data(format!("autoencoder {what}: empty batch")));
        }
        Ok(())
    }

    fn run_layers(&self, range: std::ops::Range<usize>, x: &Mat<F>) -> Mat<F> {
        let mut h = x.clone();
        for l in range {
            let (w, t, b) = self.layer(l);
            h = dense::predict(w, t, b, self.activations[l], &h);
        }
        h
    }

    /// The code `ψ(x)` (no corruption, no cache).
    ///
    /// # Shapes
    /// `x`: `d x batch` → `k x batch`.
    pub fn encode(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.check_input(x, "encode input")?;
        Ok(self.run_layers(0..self.encoder.len(), x))
    }

    /// The reconstruction `φ(h)` of codes (with BCE, the sigmoid probabilities).
    ///
    /// # Shapes
    /// `code`: `k x batch` → `d x batch`.
    pub fn decode(&self, code: &Mat<F>) -> Result<Mat<F>> {
        if code.nrows() != self.code_size() {
            return Err(Error::shape(
                "autoencoder decode input (code x batch)",
                (self.code_size(), code.ncols()),
                code.shape(),
            ));
        }
        Ok(self.run_layers(self.encoder.len()..self.layer_count(), code))
    }

    /// `x̂ = φ(ψ(x))`.
    pub fn reconstruct(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.check_input(x, "reconstruct input")?;
        Ok(self.run_layers(0..self.layer_count(), x))
    }

    /// Mean squared reconstruction error per entry, `(1/N) Σ (x̂ − x)²`, whatever the training
    /// loss (the figure the chapter compares with PCA; the validation loss of training).
    /// Computed in chunks of [`EVAL_CHUNK`] columns.
    pub fn reconstruction_error(&self, x: &Mat<F>) -> Result<f64> {
        self.check_input(x, "reconstruction_error input")?;
        chunked_mse(x, |chunk| self.reconstruct(chunk))
    }

    /// The denoising corruption `x̃ ~ q(x̃ | x)` of the configuration (a copy of `x` if none).
    /// Training applies it; `encode`, `decode` and `reconstruct` never do.
    pub fn corrupt<R: Rng + ?Sized>(&self, x: &Mat<F>, rng: &mut R) -> Mat<F> {
        corrupt(self.config.corruption, x, rng)
    }

    /// The training objective on a clean batch, without corruption and without caching:
    /// reconstruction loss plus penalty.
    pub fn objective(&self, x: &Mat<F>) -> Result<LossParts<F>> {
        self.check_input(x, "objective input")?;
        let n = self.layer_count();
        let mut pre = vec![Mat::zeros(0, 0); n];
        let mut acts = vec![Mat::zeros(0, 0); n + 1];
        self.forward_buffers(x, &mut pre, &mut acts);
        let mut d_out = Mat::zeros(0, 0);
        let mut sg = Vec::new();
        let mut rn = Vec::new();
        self.loss_from(&pre, &acts, x, &mut d_out, &mut sg, &mut rn)
    }

    fn forward_buffers(&self, input: &Mat<F>, pre: &mut [Mat<F>], acts: &mut [Mat<F>]) {
        optim::linalg::copy_into(&mut acts[0], input);
        for l in 0..self.layer_count() {
            let (w, t, b) = self.layer(l);
            let (before, after) = acts.split_at_mut(l + 1);
            dense::forward(
                w,
                t,
                b,
                self.activations[l],
                &before[l],
                &mut pre[l],
                &mut after[0],
            );
        }
    }

    /// Loss of a forward pass held in `pre`/`acts` against `target`; writes `∂ℓ/∂(output)` (for
    /// BCE, `∂ℓ/∂logits`) into `d_out` and the penalties' per-unit factors.
    fn loss_from(
        &self,
        pre: &[Mat<F>],
        acts: &[Mat<F>],
        target: &Mat<F>,
        d_out: &mut Mat<F>,
        sparse_grad: &mut Vec<F>,
        row_norms: &mut Vec<F>,
    ) -> Result<LossParts<F>> {
        let n = self.layer_count();
        let (reconstruction, grad) = match self.config.loss {
            Reconstruction::Mse => loss::mse(&acts[n], target)?,
            // logits, not probabilities: softplus(z) − t z never takes log 0
            Reconstruction::Bce => loss::bce_with_logits(&pre[n - 1], target)?,
        };
        *d_out = grad;
        let code = &acts[self.encoder.len()];
        let batch = F::of(code.ncols() as f64);
        let penalty = match self.config.penalty {
            Penalty::None => F::zero(),
            // VARIANT sparse: P = β Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j = mean_b h_jb;
            // ∂P/∂h_jb = (β/B)(−ρ/ρ̂_j + (1−ρ)/(1−ρ̂_j)).
            Penalty::Sparse { rho, beta } => {
                let (rho, beta) = (F::of(rho), F::of(beta));
                let one = F::one();
                let tiny = F::of(1e-7);
                sparse_grad.clear();
                let mut p = F::zero();
                for row in code.row_iter() {
                    let mut mean = row.sum() / batch;
                    // keep the logs finite if a unit saturates in f32
                    mean = mean.max(tiny).min(one - tiny);
                    p += rho * (rho / mean).ln() + (one - rho) * ((one - rho) / (one - mean)).ln();
                    sparse_grad.push(beta / batch * (-rho / mean + (one - rho) / (one - mean)));
                }
                beta * p
            }
            // VARIANT contractive, one layer h = f(z), z = W x + b:
            // ∂h_j/∂x_i = f'(z_j) W_ji, so ‖J‖²_F = Σ_j f'(z_j)² ‖W_j‖²; P = λ mean_b ‖J(x_b)‖²_F.
            Penalty::Contractive { lambda } => {
                let w = &self.encoder[0].weight.value;
                row_norms.clear();
                row_norms.extend(w.row_iter().map(|r| r.norm_squared()));
                let act = self.activations[0];
                let mut p = F::zero();
                for (col_z, col_h) in pre[0].column_iter().zip(code.column_iter()) {
                    for j in 0..col_z.len() {
                        let d = act.df(col_z[j], col_h[j]);
                        p += d * d * row_norms[j];
                    }
                }
                F::of(lambda) * p / batch
            }
        };
        let total = reconstruction + penalty;
        Ok(LossParts {
            total,
            reconstruction,
            penalty,
        })
    }

    /// Training forward pass on `input` (already corrupted, for a denoising model) against the
    /// clean `target`, caching what [`Autoencoder::backward`] needs.
    ///
    /// # Shapes
    /// `input`, `target`: `d x batch`.
    ///
    /// # Errors
    /// Shape mismatch or an empty batch.
    pub fn forward_loss(&mut self, input: &Mat<F>, target: &Mat<F>) -> Result<LossParts<F>> {
        self.check_input(input, "training input")?;
        if target.shape() != input.shape() {
            return Err(Error::shape(
                "autoencoder training target",
                input.shape(),
                target.shape(),
            ));
        }
        let mut pre = std::mem::take(&mut self.pre);
        let mut acts = std::mem::take(&mut self.acts);
        let mut grads = std::mem::take(&mut self.grads);
        let mut sg = std::mem::take(&mut self.sparse_grad);
        let mut rn = std::mem::take(&mut self.row_norms);
        self.forward_buffers(input, &mut pre, &mut acts);
        let n = self.layer_count();
        let out = self.loss_from(&pre, &acts, target, &mut grads[n], &mut sg, &mut rn);
        self.pre = pre;
        self.acts = acts;
        self.grads = grads;
        self.sparse_grad = sg;
        self.row_norms = rn;
        self.has_forward = out.is_ok();
        out
    }

    /// Back-propagates the loss of the last [`Autoencoder::forward_loss`], *adding* into every
    /// parameter's gradient (with tied weights, both uses of a shared matrix add into its one
    /// gradient).
    ///
    /// # Errors
    /// If there was no successful forward pass.
    pub fn backward(&mut self) -> Result<()> {
        if !self.has_forward {
            return Err(Error::Data(
                "autoencoder backward called without a training forward pass".into(),
            ));
        }
        let n = self.layer_count();
        let le = self.encoder.len();
        let code_layer = le - 1;
        let bce = self.config.loss == Reconstruction::Bce;
        let penalty = self.config.penalty;
        let batch = F::of(self.acts[0].ncols() as f64);
        let Autoencoder {
            encoder,
            decoder,
            activations,
            pre,
            acts,
            grads,
            sparse_grad,
            row_norms,
            ..
        } = self;
        for l in (0..n).rev() {
            let (lower, upper) = grads.split_at_mut(l + 1);
            let d = &mut upper[0];
            // VARIANT sparse: the KL term's gradient joins the decoder's at the code.
            if l == code_layer
                && let Penalty::Sparse { .. } = penalty
            {
                for (mut row, &g) in d.row_iter_mut().zip(sparse_grad.iter()) {
                    row.add_scalar_mut(g);
                }
            }
            // With BCE the forward already gave ∂ℓ/∂logits of the output layer.
            if !(bce && l == n - 1) {
                activations[l].backward_in_place(&pre[l], &acts[l + 1], d);
            }
            // VARIANT contractive: ∂P/∂z_jb = (λ/B) ‖W_j‖² · 2 f'(z_jb) f''(z_jb), and the direct
            // term ∂P/∂W_ji = (2λ/B) (Σ_b f'(z_jb)²) W_ji.
            if l == 0
                && let Penalty::Contractive { lambda } = penalty
            {
                let act = activations[0];
                let scale = F::of(lambda) / batch;
                let two = F::of(2.0);
                let mut sum_sq = vec![F::zero(); row_norms.len()];
                for ((mut dcol, zcol), hcol) in d
                    .column_iter_mut()
                    .zip(pre[0].column_iter())
                    .zip(acts[1].column_iter())
                {
                    for j in 0..dcol.len() {
                        let d1 = act.df(zcol[j], hcol[j]);
                        let d2 = act.d2f(zcol[j], hcol[j]);
                        dcol[j] += scale * row_norms[j] * two * d1 * d2;
                        sum_sq[j] += d1 * d1;
                    }
                }
                let w = &mut encoder[0].weight;
                for c in 0..w.value.ncols() {
                    for (j, s) in sum_sq.iter().enumerate() {
                        w.grad[(j, c)] += two * scale * *s * w.value[(j, c)];
                    }
                }
            }
            let dx = if l > 0 { Some(&mut lower[l]) } else { None };
            if l < le {
                let Linear { weight, bias, .. } = &mut encoder[l];
                affine_backward(weight, false, bias.as_mut(), &acts[l], d, dx);
            } else {
                let j = l - le;
                match &mut decoder[j] {
                    DecoderLayer::Own(Linear { weight, bias, .. }) => {
                        affine_backward(weight, false, bias.as_mut(), &acts[l], d, dx);
                    }
                    // VARIANT tied: the decoder reads Wᵀ of encoder layer L−1−j; its gradient
                    // goes into that same Param.
                    DecoderLayer::Tied { bias } => {
                        let weight = &mut encoder[le - 1 - j].weight;
                        affine_backward(weight, true, Some(bias), &acts[l], d, dx);
                    }
                }
            }
        }
        Ok(())
    }

    /// One training step's forward and backward on a clean batch `x`: corrupts it if the
    /// configuration says so (VARIANT denoising), then [`Autoencoder::forward_loss`] against
    /// the clean `x` and [`Autoencoder::backward`]. Gradients are added, not zeroed.
    pub fn train_step<R: Rng + ?Sized>(&mut self, x: &Mat<F>, rng: &mut R) -> Result<LossParts<F>> {
        let parts = if self.config.corruption == Corruption::None {
            self.forward_loss(x, x)
        } else {
            let mut noisy = std::mem::take(&mut self.noisy);
            corrupt_into(self.config.corruption, x, &mut noisy, rng);
            let parts = self.forward_loss(&noisy, x);
            self.noisy = noisy;
            parts
        }?;
        self.backward()?;
        Ok(parts)
    }

    /// The input the last training forward pass saw (the corrupted batch, for a denoising
    /// model), or `None` before any.
    pub fn last_training_input(&self) -> Option<&Mat<F>> {
        self.has_forward.then(|| &self.acts[0])
    }
}

fn bias_of<F: Float>(lin: &Linear<F>) -> &Mat<F> {
    &lin.bias
        .as_ref()
        .expect("layers of this crate have a bias")
        .value
}

/// Columns per chunk of [`Autoencoder::reconstruction_error`] and
/// [`crate::Vae::reconstruction_error`] (bounds the memory of an evaluation).
pub const EVAL_CHUNK: usize = 1024;

/// `(1/N) Σ (reconstruct(x) − x)²` over chunks of [`EVAL_CHUNK`] columns of `x`.
pub(crate) fn chunked_mse<F: Float>(
    x: &Mat<F>,
    reconstruct: impl Fn(&Mat<F>) -> Result<Mat<F>>,
) -> Result<f64> {
    let n = x.ncols();
    if n <= EVAL_CHUNK {
        return mse_per_entry(&reconstruct(x)?, x);
    }
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let end = (start + EVAL_CHUNK).min(n);
        let chunk = x.columns(start, end - start).into_owned();
        total += mse_per_entry(&reconstruct(&chunk)?, &chunk)? * chunk.len() as f64;
        start = end;
    }
    Ok(total / x.len() as f64)
}

/// `(1/N) Σ (a − b)²` in `f64`.
pub(crate) fn mse_per_entry<F: Float>(a: &Mat<F>, b: &Mat<F>) -> Result<f64> {
    if a.shape() != b.shape() || a.is_empty() {
        return Err(Error::shape("reconstruction error", b.shape(), a.shape()));
    }
    let s: f64 = a
        .iter()
        .zip(b.iter())
        .map(|(p, q)| {
            let d = p.to_f64() - q.to_f64();
            d * d
        })
        .sum();
    Ok(s / a.len() as f64)
}

/// Applies a [`Corruption`] to a copy of `x`.
///
/// - masking: `x̃_i = 0` with probability `ν`, else `x_i`;
/// - Gaussian: `x̃ = x + ε`, `ε ~ N(0, σ² I)`.
pub fn corrupt<F: Float, R: Rng + ?Sized>(
    corruption: Corruption,
    x: &Mat<F>,
    rng: &mut R,
) -> Mat<F> {
    let mut out = Mat::zeros(0, 0);
    corrupt_into(corruption, x, &mut out, rng);
    out
}

/// [`corrupt`] into a reused buffer (resized to `x`'s shape), drawing the same numbers.
pub fn corrupt_into<F: Float, R: Rng + ?Sized>(
    corruption: Corruption,
    x: &Mat<F>,
    out: &mut Mat<F>,
    rng: &mut R,
) {
    optim::linalg::copy_into(out, x);
    match corruption {
        Corruption::None => {}
        Corruption::Masking { fraction } => {
            for v in out.iter_mut() {
                if rng.random::<f64>() < fraction {
                    *v = F::zero();
                }
            }
        }
        Corruption::Gaussian { std } => {
            for v in out.iter_mut() {
                let e: f64 = StandardNormal.sample(rng);
                *v += F::of(std * e);
            }
        }
    }
}

impl<F: Float> Parameters<F> for Autoencoder<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        // names are built once, in `new`: an optimizer step visits every parameter
        let mut names = self.names.iter();
        for l in self.encoder.iter_mut() {
            let lin = l;
            visit(names.next().expect("a name per parameter"), &mut lin.weight);
            if let Some(b) = &mut lin.bias {
                visit(names.next().expect("a name per parameter"), b);
            }
        }
        for l in self.decoder.iter_mut() {
            match l {
                DecoderLayer::Own(lin) => {
                    visit(names.next().expect("a name per parameter"), &mut lin.weight);
                    if let Some(b) = &mut lin.bias {
                        visit(names.next().expect("a name per parameter"), b);
                    }
                }
                DecoderLayer::Tied { bias } => {
                    visit(names.next().expect("a name per parameter"), bias)
                }
            }
        }
    }
}

impl<F: Float> Saveable<F> for Autoencoder<F> {
    const KIND: &'static str = "autoencoder";
    type Config = AutoencoderConfig;

    fn config(&self) -> AutoencoderConfig {
        self.config.clone()
    }

    fn parameter_count(config: &AutoencoderConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &AutoencoderConfig) -> Result<Self> {
        Autoencoder::new(config.clone(), &mut optim::rng(0))
    }
}
