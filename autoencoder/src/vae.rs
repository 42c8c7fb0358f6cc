//! The variational autoencoder (Kingma & Welling 2014): a Gaussian encoder
//! `q(z | x) = N(μ(x), diag σ²(x))`, the reparameterization `z = μ + σ ⊙ ε`, `ε ~ N(0, I)`, a
//! decoder `p(x | z)`, and the prior `p(z) = N(0, I)`.
//!
//! The loss is the negative evidence lower bound, per example, averaged over the batch:
//!
//! ```text
//! −ELBO(x) = E_q[−log p(x | z)] + β KL(q(z | x) ‖ N(0, I))         (β = 1: the ELBO itself)
//! KL       = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)                    (closed form, ≥ 0)
//! ```
//!
//! The expectation is estimated with one sample `ε` per example. `−log p(x | z)` is
//! `Σ_i BCE(x_i, x̂_i)` for a Bernoulli decoder (inputs in `[0, 1]`) or `Σ_i (x̂_i − x_i)²` for a
//! Gaussian decoder with variance ½ (up to a constant).
//!
//! Backward through the sample (the reason for the reparameterization: `z` is a differentiable
//! function of `μ`, `log σ²` and a noise that does not depend on them):
//!
//! ```text
//! ∂L/∂μ      = ∂L/∂z + β μ / B
//! ∂L/∂log σ² = ∂L/∂z ⊙ ε ⊙ σ/2 + β (σ² − 1) / (2B)
//! ```
//!
//! ```
//! use autoencoder::{Vae, VaeConfig, kl_to_standard_normal, reparameterize};
//! use optim::{Activation, Mat};
//! // KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²): μ = 1, σ² = 1 gives ½ per unit
//! let (mu, logvar) = (Mat::from_element(2, 1, 1.0_f64), Mat::zeros(2, 1));
//! assert_eq!(kl_to_standard_normal(&mu, &logvar), 1.0);
//! // z = μ + σ ε with log σ² = log 4, ε = ½: z = 1 + 2·½ = 2
//! let z = reparameterize(&mu, &Mat::from_element(2, 1, 4.0_f64.ln()), &Mat::from_element(2, 1, 0.5)).unwrap();
//! assert!((z[0] - 2.0).abs() < 1e-15);
//! // a 6-5-(2,2)-5-6 model has 110 parameters
//! let mut vae = Vae::<f64>::new(VaeConfig::symmetric(6, &[5], 2, Activation::Tanh), &mut optim::rng(0)).unwrap();
//! assert_eq!(optim::param_count(&mut vae), 110);
//! ```

use crate::config::{Reconstruction, VaeConfig};
use crate::dense;
use crate::model::{LossParts, chunked_mse};
use optim::checkpoint::Saveable;
use optim::linalg::{copy_into, resize_buffer};
use optim::{
    Activation, Error, Float, Linear, LinearConfig, Mat, Param, Parameters, Result, affine_forward,
    loss,
};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// The reparameterized sample `z = μ + exp(½ log σ²) ⊙ ε`.
///
/// # Shapes
/// All `k x batch`.
pub fn reparameterize<F: Float>(mu: &Mat<F>, logvar: &Mat<F>, eps: &Mat<F>) -> Result<Mat<F>> {
    if logvar.shape() != mu.shape() || eps.shape() != mu.shape() {
        return Err(Error::shape(
            "reparameterize (logvar, eps vs mu)",
            mu.shape(),
            eps.shape(),
        ));
    }
    let half = F::of(0.5);
    Ok(Mat::from_fn(mu.nrows(), mu.ncols(), |i, j| {
        mu[(i, j)] + (half * logvar[(i, j)]).exp() * eps[(i, j)]
    }))
}

/// `KL(N(μ, diag σ²) ‖ N(0, I))` per example, averaged over the batch (columns):
/// `(1/B) Σ_b −½ Σ_j (1 + log σ²_jb − μ²_jb − σ²_jb)`.
pub fn kl_to_standard_normal<F: Float>(mu: &Mat<F>, logvar: &Mat<F>) -> F {
    let half = F::of(0.5);
    let mut s = F::zero();
    for (&m, &lv) in mu.iter().zip(logvar.iter()) {
        s += -half * (F::one() + lv - m * m - lv.exp());
    }
    s / F::of(mu.ncols().max(1) as f64)
}

#[derive(Debug, Clone, Default)]
struct Cache<F: Float> {
    enc_pre: Vec<Mat<F>>,
    /// `enc_acts[0] = x`, `enc_acts[i + 1]` the trunk's outputs.
    enc_acts: Vec<Mat<F>>,
    mu: Mat<F>,
    logvar: Mat<F>,
    eps: Mat<F>,
    /// `σ = exp(½ log σ²)`.
    sigma: Mat<F>,
    dec_pre: Vec<Mat<F>>,
    /// `dec_acts[0] = z`, `dec_acts[j + 1]` the decoder's outputs.
    dec_acts: Vec<Mat<F>>,
    /// `∂rec/∂output` (BCE: `∂rec/∂logits`), filled by the forward pass.
    d_out: Mat<F>,
}

impl<F: Float> Cache<F> {
    fn new(enc: usize, dec: usize) -> Self {
        let e = || Mat::zeros(0, 0);
        Cache {
            enc_pre: vec![e(); enc],
            enc_acts: vec![e(); enc + 1],
            mu: e(),
            logvar: e(),
            eps: e(),
            sigma: e(),
            dec_pre: vec![e(); dec],
            dec_acts: vec![e(); dec + 1],
            d_out: e(),
        }
    }
}

/// A variational autoencoder.
///
/// # Parameters (by name, in this order)
/// `encoder.{i}.weight`, `encoder.{i}.bias` (trunk), `mu.weight`, `mu.bias`, `logvar.weight`,
/// `logvar.bias`, `decoder.{j}.weight`, `decoder.{j}.bias`.
///
/// ```
/// use autoencoder::{Vae, VaeConfig};
/// use optim::Activation;
/// let mut rng = optim::rng(0);
/// let vae = Vae::<f64>::new(VaeConfig::symmetric(6, &[5], 2, Activation::Tanh), &mut rng).unwrap();
/// let x = optim::Mat::from_fn(6, 4, |i, j| ((i * j) % 3) as f64 / 3.0);
/// let (mu, logvar) = vae.encode_distribution(&x).unwrap();
/// assert_eq!(mu.shape(), (2, 4));
/// assert!(autoencoder::vae::kl_to_standard_normal(&mu, &logvar) >= 0.0);
/// let samples = vae.sample(3, &mut rng).unwrap(); // decode z ~ N(0, I)
/// assert_eq!(samples.shape(), (6, 3));
/// ```
#[derive(Debug, Clone)]
pub struct Vae<F: Float> {
    config: VaeConfig,
    encoder: Vec<Linear<F>>,
    mu: Linear<F>,
    logvar: Linear<F>,
    decoder: Vec<Linear<F>>,
    cache: Cache<F>,
    has_forward: bool,
    // backward scratch
    d_enc: Vec<Mat<F>>,
    d_dec: Vec<Mat<F>>,
    d_mu: Mat<F>,
    d_logvar: Mat<F>,
    d_h_lv: Mat<F>,
    /// The training batch gathered from the data set (reused between steps).
    pub(crate) batch: Mat<F>,
    /// The reparameterization noise `ε` of a training step (reused between steps).
    noise: Mat<F>,
}

fn bias<F: Float>(l: &Linear<F>) -> &Mat<F> {
    &l.bias
        .as_ref()
        .expect("layers of this crate have a bias")
        .value
}

impl<F: Float> Vae<F> {
    /// A model with freshly initialized weights.
    ///
    /// # Errors
    /// If the configuration is invalid.
    pub fn new(config: VaeConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let (encoder, width) =
            dense::linear_stack(config.inputs, &config.encoder, config.init, rng);
        let mu = LinearConfig::new(width, config.latent)
            .with_init(config.init)
            .init(rng);
        let logvar = LinearConfig::new(width, config.latent)
            .with_init(config.init)
            .init(rng);
        let (decoder, _) = dense::linear_stack(config.latent, &config.decoder, config.init, rng);
        let (ne, nd) = (encoder.len(), decoder.len());
        Ok(Vae {
            config,
            encoder,
            mu,
            logvar,
            decoder,
            cache: Cache::new(ne, nd),
            has_forward: false,
            d_enc: vec![Mat::zeros(0, 0); ne + 1],
            d_dec: vec![Mat::zeros(0, 0); nd + 1],
            d_mu: Mat::zeros(0, 0),
            d_logvar: Mat::zeros(0, 0),
            d_h_lv: Mat::zeros(0, 0),
            batch: Mat::zeros(0, 0),
            noise: Mat::zeros(0, 0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Latent size `k`.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    fn check_input(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.config.inputs {
            return Err(Error::shape(
                format!("vae {what} (features x batch)"),
                (self.config.inputs, x.ncols()),
                x.shape(),
            ));
        }
        if x.ncols() == 0 {
            return Err(Error::Data(format!("vae {what}: empty batch")));
        }
        Ok(())
    }

    fn check_code(&self, z: &Mat<F>, what: &str) -> Result<()> {
        if z.nrows() != self.config.latent {
            return Err(Error::shape(
                format!("vae {what} (latent x batch)"),
                (self.config.latent, z.ncols()),
                z.shape(),
            ));
        }
        Ok(())
    }

    /// The encoder's Gaussian `(μ, log σ²)`.
    ///
    /// # Shapes
    /// `x`: `d x batch` → two `k x batch` matrices.
    pub fn encode_distribution(&self, x: &Mat<F>) -> Result<(Mat<F>, Mat<F>)> {
        self.check_input(x, "encode input")?;
        let mut h = x.clone();
        for (l, spec) in self.encoder.iter().zip(&self.config.encoder) {
            h = dense::predict(&l.weight.value, false, bias(l), spec.activation, &h);
        }
        let id = Activation::Identity;
        Ok((
            dense::predict(&self.mu.weight.value, false, bias(&self.mu), id, &h),
            dense::predict(&self.logvar.weight.value, false, bias(&self.logvar), id, &h),
        ))
    }

    /// The mean code `μ(x)` (the deterministic encoding).
    pub fn encode(&self, x: &Mat<F>) -> Result<Mat<F>> {
        Ok(self.encode_distribution(x)?.0)
    }

    /// A reparameterized sample `z = μ(x) + σ(x) ⊙ ε`, `ε ~ N(0, I)`, one per column of `x`.
    pub fn sample_code<R: Rng + ?Sized>(&self, x: &Mat<F>, rng: &mut R) -> Result<Mat<F>> {
        let (mu, logvar) = self.encode_distribution(x)?;
        let eps = standard_normal(mu.nrows(), mu.ncols(), rng);
        reparameterize(&mu, &logvar, &eps)
    }

    /// The decoder's output `x̂ = φ(z)` (with BCE, the Bernoulli means).
    pub fn decode(&self, z: &Mat<F>) -> Result<Mat<F>> {
        self.check_code(z, "decode input")?;
        let mut h = z.clone();
        for (l, spec) in self.decoder.iter().zip(&self.config.decoder) {
            h = dense::predict(&l.weight.value, false, bias(l), spec.activation, &h);
        }
        Ok(h)
    }

    /// The deterministic reconstruction `φ(μ(x))`.
    pub fn reconstruct(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.decode(&self.encode(x)?)
    }

    /// `n` new examples: `z ~ N(0, I)` from the prior, decoded.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Mat<F>> {
        self.decode(&standard_normal(self.config.latent, n, rng))
    }

    /// Mean squared reconstruction error per entry of [`Vae::reconstruct`].
    /// Computed in chunks of [`crate::model::EVAL_CHUNK`] columns.
    pub fn reconstruction_error(&self, x: &Mat<F>) -> Result<f64> {
        self.check_input(x, "reconstruction_error input")?;
        chunked_mse(x, |chunk| self.reconstruct(chunk))
    }

    fn forward_cache(&self, x: &Mat<F>, eps: &Mat<F>, c: &mut Cache<F>) -> Result<LossParts<F>> {
        self.check_input(x, "input")?;
        if eps.shape() != (self.config.latent, x.ncols()) {
            return Err(Error::shape(
                "vae noise sample eps (latent x batch)",
                (self.config.latent, x.ncols()),
                eps.shape(),
            ));
        }
        copy_into(&mut c.enc_acts[0], x);
        for (i, (l, spec)) in self.encoder.iter().zip(&self.config.encoder).enumerate() {
            let (before, after) = c.enc_acts.split_at_mut(i + 1);
            let w = &l.weight.value;
            dense::forward(
                w,
                false,
                bias(l),
                spec.activation,
                &before[i],
                &mut c.enc_pre[i],
                &mut after[0],
            );
        }
        let h = &c.enc_acts[self.encoder.len()];
        // the two heads are linear
        affine_forward(
            &self.mu.weight.value,
            false,
            Some(bias(&self.mu)),
            h,
            &mut c.mu,
        );
        let lv = &self.logvar;
        affine_forward(&lv.weight.value, false, Some(bias(lv)), h, &mut c.logvar);
        copy_into(&mut c.eps, eps);
        // z = μ + σ ⊙ ε
        let half = F::of(0.5);
        resize_buffer(&mut c.sigma, c.mu.nrows(), c.mu.ncols());
        for (s, &lv) in c.sigma.iter_mut().zip(c.logvar.iter()) {
            *s = (half * lv).exp();
        }
        resize_buffer(&mut c.dec_acts[0], c.mu.nrows(), c.mu.ncols());
        for (((z, &m), &s), &e) in c.dec_acts[0]
            .iter_mut()
            .zip(c.mu.iter())
            .zip(c.sigma.iter())
            .zip(c.eps.iter())
        {
            *z = m + s * e;
        }
        for (j, (l, spec)) in self.decoder.iter().zip(&self.config.decoder).enumerate() {
            let (before, after) = c.dec_acts.split_at_mut(j + 1);
            let w = &l.weight.value;
            dense::forward(
                w,
                false,
                bias(l),
                spec.activation,
                &before[j],
                &mut c.dec_pre[j],
                &mut after[0],
            );
        }
        let nd = self.decoder.len();
        // per-example sums: optim's losses are means over all d·B entries, so scale by d
        let d = F::of(self.config.inputs as f64);
        let (rec, mut grad) = match self.config.loss {
            Reconstruction::Mse => loss::mse(&c.dec_acts[nd], x)?,
            Reconstruction::Bce => loss::bce_with_logits(&c.dec_pre[nd - 1], x)?,
        };
        grad *= d;
        c.d_out = grad;
        let reconstruction = rec * d;
        let kl = kl_to_standard_normal(&c.mu, &c.logvar);
        let penalty = F::of(self.config.beta) * kl;
        Ok(LossParts {
            total: reconstruction + penalty,
            reconstruction,
            penalty,
        })
    }

    /// The negative ELBO with a given noise sample `eps` (`k x batch`), without caching:
    /// `reconstruction` is `E[−log p(x|z)]` (one sample), `penalty` is `β KL`.
    pub fn objective(&self, x: &Mat<F>, eps: &Mat<F>) -> Result<LossParts<F>> {
        let mut c = Cache::new(self.encoder.len(), self.decoder.len());
        self.forward_cache(x, eps, &mut c)
    }

    /// Training forward pass with a given noise sample `eps` (`k x batch`), caching for
    /// [`Vae::backward`]. Fixing `eps` makes the loss a deterministic function of the
    /// parameters (as gradient checks need).
    pub fn forward_loss(&mut self, x: &Mat<F>, eps: &Mat<F>) -> Result<LossParts<F>> {
        let mut c = std::mem::take(&mut self.cache);
        let out = self.forward_cache(x, eps, &mut c);
        self.cache = c;
        self.has_forward = out.is_ok();
        out
    }

    /// Back-propagates the last [`Vae::forward_loss`], adding into the parameters' gradients.
    ///
    /// # Errors
    /// If there was no successful forward pass.
    pub fn backward(&mut self) -> Result<()> {
        if !self.has_forward {
            return Err(Error::Data(
                "vae backward called without a training forward pass".into(),
            ));
        }
        let nd = self.decoder.len();
        let ne = self.encoder.len();
        let bce = self.config.loss == Reconstruction::Bce;
        let c = &self.cache;
        copy_into(&mut self.d_dec[nd], &c.d_out);
        for j in (0..nd).rev() {
            let (lower, upper) = self.d_dec.split_at_mut(j + 1);
            let d = &mut upper[0];
            if !(bce && j == nd - 1) {
                let act = self.config.decoder[j].activation;
                act.backward_in_place(&c.dec_pre[j], &c.dec_acts[j + 1], d);
            }
            // ∂L/∂z is always needed (it flows into μ and log σ²)
            self.decoder[j].backward_with_input(&c.dec_acts[j], d, Some(&mut lower[j]))?;
        }
        // Through the reparameterization and the KL term.
        let dz = &self.d_dec[0];
        let batch = F::of(dz.ncols() as f64);
        let beta = F::of(self.config.beta);
        let half = F::of(0.5);
        resize_buffer(&mut self.d_mu, dz.nrows(), dz.ncols());
        resize_buffer(&mut self.d_logvar, dz.nrows(), dz.ncols());
        for i in 0..dz.len() {
            let (m, s, e) = (c.mu[i], c.sigma[i], c.eps[i]);
            self.d_mu[i] = dz[i] + beta * m / batch;
            self.d_logvar[i] = dz[i] * e * s * half + beta * half * (s * s - F::one()) / batch;
        }
        let h = &c.enc_acts[ne];
        if ne == 0 {
            self.mu.backward_with_input(h, &self.d_mu, None)?;
            self.logvar.backward_with_input(h, &self.d_logvar, None)?;
            return Ok(());
        }
        self.mu
            .backward_with_input(h, &self.d_mu, Some(&mut self.d_enc[ne]))?;
        self.logvar
            .backward_with_input(h, &self.d_logvar, Some(&mut self.d_h_lv))?;
        self.d_enc[ne] += &self.d_h_lv;
        for i in (0..ne).rev() {
            let (lower, upper) = self.d_enc.split_at_mut(i + 1);
            let d = &mut upper[0];
            let act = self.config.encoder[i].activation;
            act.backward_in_place(&c.enc_pre[i], &c.enc_acts[i + 1], d);
            let dx = if i > 0 { Some(&mut lower[i]) } else { None };
            self.encoder[i].backward_with_input(&c.enc_acts[i], d, dx)?;
        }
        Ok(())
    }

    /// One training step's forward and backward: draws `ε ~ N(0, I)`, then
    /// [`Vae::forward_loss`] and [`Vae::backward`]. Gradients are added, not zeroed.
    pub fn train_step<R: Rng + ?Sized>(&mut self, x: &Mat<F>, rng: &mut R) -> Result<LossParts<F>> {
        let mut eps = std::mem::take(&mut self.noise);
        standard_normal_into(self.config.latent, x.ncols(), &mut eps, rng);
        let parts = self.forward_loss(x, &eps);
        self.noise = eps;
        let parts = parts?;
        self.backward()?;
        Ok(parts)
    }
}

/// A `rows x cols` matrix of independent `N(0, 1)` draws.
pub fn standard_normal<F: Float, R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Mat<F> {
    let mut out = Mat::zeros(0, 0);
    standard_normal_into(rows, cols, &mut out, rng);
    out
}

/// [`standard_normal`] into a reused buffer (column by column, the same draws).
pub fn standard_normal_into<F: Float, R: Rng + ?Sized>(
    rows: usize,
    cols: usize,
    out: &mut Mat<F>,
    rng: &mut R,
) {
    resize_buffer(out, rows, cols);
    for v in out.iter_mut() {
        let e: f64 = StandardNormal.sample(rng);
        *v = F::of(e);
    }
}

impl<F: Float> Parameters<F> for Vae<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, l) in self.encoder.iter_mut().enumerate() {
            optim::visit_child(&format!("encoder.{i}"), l, visit);
        }
        optim::visit_child("mu", &mut self.mu, visit);
        optim::visit_child("logvar", &mut self.logvar, visit);
        for (j, l) in self.decoder.iter_mut().enumerate() {
            optim::visit_child(&format!("decoder.{j}"), l, visit);
        }
    }
}

impl<F: Float> Saveable<F> for Vae<F> {
    const KIND: &'static str = "vae";
    type Config = VaeConfig;

    fn config(&self) -> VaeConfig {
        self.config.clone()
    }

    fn parameter_count(config: &VaeConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &VaeConfig) -> Result<Self> {
        Vae::new(config.clone(), &mut optim::rng(0))
    }
}
