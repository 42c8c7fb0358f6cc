//! The two players — [`Generator`] and [`Discriminator`] — and the [`Gan`] that holds both with
//! its [`GanConfig`], saved and loaded as one checkpoint.

use super::error::{GanError, Result};
use super::losses::{Side, loss_and_gradient};
use super::net::{Net, NetConfig};
use super::packing::{pack_into, unpack_gradient_into};
use optim::checkpoint::Saveable;
use optim::linalg::resize_buffer;
use optim::{Activation, Float, Mat, Param, Parameters, visit_child};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// The largest model [`GanConfig::validate`] accepts, in trainable scalars (2²⁸, a gigabyte of
/// `f32` weights): a configuration read from a file that asks for more is refused before
/// anything is allocated.
pub const MAX_PARAMETERS: usize = 1 << 28;

/// The game the two networks play.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Goodfellow et al. (2014), eq. 1 as written: the discriminator maximizes
    /// `E log D(x) + E log(1 − D(G(z)))`, the generator minimizes `E log(1 − D(G(z)))`
    /// (whose gradient vanishes while `D(G(z)) ≈ 0`, early in training).
    Minimax,
    /// The same discriminator; the generator minimizes `−E log D(G(z))` instead (§3 of the
    /// paper), which has the same fixed point and strong gradients when `D` rejects its samples.
    NonSaturating,
    /// WGAN-GP (Gulrajani et al. 2017): a critic `C` maximizes `E C(x) − E C(G(z))` minus
    /// `λ E (‖∇C(x̂)‖ − 1)²` at random interpolates `x̂ = εx + (1 − ε)G(z)`; the generator
    /// minimizes `−E C(G(z))`.
    WassersteinGp {
        /// `λ ≥ 0` (the paper uses 10).
        penalty_weight: f64,
    },
}

impl Objective {
    /// The name used in reports: `minimax`, `non_saturating`, `wgan_gp`.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Minimax => "minimax",
            Objective::NonSaturating => "non_saturating",
            Objective::WassersteinGp { .. } => "wgan_gp",
        }
    }
}

/// The architecture and game of a [`Gan`]: stored as one JSON entry in its checkpoint.
///
/// ```
/// use generative::gan::{GanConfig, NetConfig, Objective};
/// let config = GanConfig::new(2, 2)
///     .with_generator(NetConfig::new(&[64, 64]))
///     .with_discriminator(NetConfig::new(&[64, 64]))
///     .with_objective(Objective::NonSaturating)
///     .with_packing(4);
/// assert_eq!(config.discriminator_inputs(), 8); // four 2-D samples side by side
/// config.validate()?;
/// # Ok::<(), generative::gan::GanError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    /// Width `d` of a sample.
    pub data_dim: usize,
    /// Width of the latent noise `z ~ N(0, I)`.
    pub latent_dim: usize,
    /// The generator `latent_dim → … → data_dim`. Default: two hidden layers of 128, ReLU.
    pub generator: NetConfig,
    /// The discriminator `m·d (+1) → … → 1`; its output activation must be the identity (it
    /// gives a logit or a critic value). Default: two hidden layers of 128, leaky ReLU (0.2).
    pub discriminator: NetConfig,
    /// The game. Default: non-saturating.
    pub objective: Objective,
    /// Packing `m ≥ 1`: the discriminator judges `m` samples at once (PacGAN). Default: 1.
    pub packing: usize,
    /// Append the minibatch standard deviation to the discriminator's input. Default: off.
    pub minibatch_std: bool,
    /// `Some(β)`, `0 ≤ β < 1`: keep an exponential moving average of the generator's weights,
    /// `θ̄ ← β θ̄ + (1 − β) θ` after every generator step, and sample from it ([`Gan::sample`]).
    /// The game's iterates circle around their equilibrium instead of settling on it; their
    /// average sits nearer the centre (Yazıcı et al. 2019, "The unusual effectiveness of
    /// averaging in GAN training"; Karras et al. 2018 sample from such an average with
    /// `β = 0.999`). The averaged weights are stored with the model and in the training state.
    /// Default: `None` (sample from the trained generator).
    #[serde(default)]
    pub generator_average: Option<f64>,
}

impl GanConfig {
    /// `latent_dim`-dimensional noise to `data_dim`-dimensional samples, with the defaults.
    pub fn new(data_dim: usize, latent_dim: usize) -> Self {
        GanConfig {
            data_dim,
            latent_dim,
            generator: NetConfig::new(&[128, 128]),
            discriminator: NetConfig::new(&[128, 128]).with_activation(Activation::LeakyRelu(0.2)),
            objective: Objective::NonSaturating,
            packing: 1,
            minibatch_std: false,
            generator_average: None,
        }
    }

    /// With the given generator.
    pub fn with_generator(mut self, generator: NetConfig) -> Self {
        self.generator = generator;
        self
    }

    /// With the given discriminator.
    pub fn with_discriminator(mut self, discriminator: NetConfig) -> Self {
        self.discriminator = discriminator;
        self
    }

    /// With the given game.
    pub fn with_objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
    }

    /// With packing `m`.
    pub fn with_packing(mut self, packing: usize) -> Self {
        self.packing = packing;
        self
    }

    /// With or without the minibatch standard-deviation feature.
    pub fn with_minibatch_std(mut self, on: bool) -> Self {
        self.minibatch_std = on;
        self
    }

    /// With an exponential moving average of the generator's weights of decay `β`
    /// ([`GanConfig::generator_average`]).
    pub fn with_generator_average(mut self, beta: f64) -> Self {
        self.generator_average = Some(beta);
        self
    }

    /// The discriminator's input width, `m·d` (+1 with the minibatch standard deviation);
    /// saturating, so that an absurd configuration fails [`GanConfig::validate`] instead of
    /// overflowing.
    pub fn discriminator_inputs(&self) -> usize {
        self.data_dim
            .saturating_mul(self.packing)
            .saturating_add(usize::from(self.minibatch_std))
    }

    /// Trainable scalars of both networks, with checked arithmetic (`None` on overflow).
    pub fn parameter_count(&self) -> Option<usize> {
        let g = self
            .generator
            .parameter_count(self.latent_dim, self.data_dim)?;
        let inputs = self
            .data_dim
            .checked_mul(self.packing)?
            .checked_add(usize::from(self.minibatch_std))?;
        g.checked_add(self.discriminator.parameter_count(inputs, 1)?)
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`GanError::Config`] naming the field: a zero width, a packing of 0, a negative or
    /// non-finite penalty weight, a discriminator output activation other than the identity,
    /// the minibatch standard deviation with the gradient penalty (the penalty is per example,
    /// the feature couples the examples of a batch), an average's `β` outside `[0, 1)`, or
    /// more than [`MAX_PARAMETERS`] parameters.
    pub fn validate(&self) -> Result<()> {
        if let Some(beta) = self.generator_average
            && !(0.0..1.0).contains(&beta)
        {
            return Err(GanError::config(
                "generator_average",
                beta,
                "must be in [0, 1) (the decay β of the generator's moving average)",
            ));
        }
        if self.data_dim == 0 {
            return Err(GanError::config("data_dim", 0, "must be at least 1"));
        }
        if self.latent_dim == 0 {
            return Err(GanError::config("latent_dim", 0, "must be at least 1"));
        }
        if self.packing == 0 {
            return Err(GanError::config("packing", 0, "must be at least 1"));
        }
        self.generator.validate("generator.hidden")?;
        self.discriminator.validate("discriminator.hidden")?;
        if self.discriminator.output_activation != Activation::Identity {
            return Err(GanError::config(
                "discriminator.output_activation",
                self.discriminator.output_activation.name(),
                "must be identity (the discriminator outputs a logit or a critic value)",
            ));
        }
        if let Objective::WassersteinGp { penalty_weight } = self.objective {
            if !(penalty_weight.is_finite() && penalty_weight >= 0.0) {
                return Err(GanError::config(
                    "objective.penalty_weight",
                    penalty_weight,
                    "must be finite and >= 0",
                ));
            }
            if self.minibatch_std {
                return Err(GanError::config(
                    "minibatch_std",
                    true,
                    "cannot be combined with the gradient penalty (the penalty is per example; \
                     the feature couples the examples of a batch)",
                ));
            }
        }
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => Ok(()),
            Some(n) => Err(GanError::config(
                "parameters",
                n,
                &format!("more than the {MAX_PARAMETERS} this implementation accepts"),
            )),
            None => Err(GanError::config(
                "parameters",
                "overflow",
                "the widths' product overflows",
            )),
        }
    }
}

/// The generator `G: z ↦ x`, an MLP from `N(0, I)` noise to samples.
///
/// # Shapes
/// Noise `latent_dim x n` → samples `data_dim x n`.
#[derive(Debug, Clone)]
pub struct Generator<F: Float> {
    /// The network.
    pub net: Net<F>,
    /// The noise of the last training forward.
    noise: Mat<F>,
}

/// Fills `m` with independent `N(0, 1)` draws.
pub fn fill_normal<F: Float>(m: &mut Mat<F>, rng: &mut (impl Rng + ?Sized)) {
    for v in m.as_mut_slice() {
        *v = F::of(rng.sample::<f64, _>(StandardNormal));
    }
}

impl<F: Float> Generator<F> {
    /// A generator around `net` (its inputs are the latent width).
    pub fn new(net: Net<F>) -> Self {
        Generator {
            net,
            noise: Mat::zeros(0, 0),
        }
    }

    /// Width of the noise.
    pub fn latent_dim(&self) -> usize {
        self.net.inputs()
    }

    /// `G(z)` for given noise (`latent_dim x n`), without a cache.
    ///
    /// # Errors
    /// If `noise` does not have `latent_dim` rows.
    pub fn generate(&self, noise: &Mat<F>) -> Result<Mat<F>> {
        self.net.predict(noise)
    }

    /// `n` samples `G(z)`, `z ~ N(0, I)` drawn from `rng`.
    ///
    /// # Errors
    /// If `n` is 0.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Result<Mat<F>> {
        if n == 0 {
            return Err(GanError::Data("sample: asked for 0 samples".into()));
        }
        let mut z = Mat::zeros(self.latent_dim(), n);
        fill_normal(&mut z, rng);
        self.generate(&z)
    }

    /// The training forward on `n` fresh noise columns (kept for the backward).
    ///
    /// # Errors
    /// If `n` is 0.
    pub fn forward_sample(&mut self, n: usize, rng: &mut impl Rng) -> Result<&Mat<F>> {
        let latent = self.latent_dim();
        resize_buffer(&mut self.noise, latent, n);
        fill_normal(&mut self.noise, rng);
        self.net.forward(&self.noise)
    }

    /// The training forward on given noise.
    ///
    /// # Errors
    /// If `noise` does not have `latent_dim` rows.
    pub fn forward(&mut self, noise: &Mat<F>) -> Result<&Mat<F>> {
        self.net.forward(noise)
    }

    /// Adds `∂L/∂θ_G` for `∂L/∂G(z)` (`data_dim x n`) of the last forward.
    ///
    /// # Errors
    /// If `d_samples` does not fit the last forward.
    pub fn backward(&mut self, d_samples: &Mat<F>) -> Result<()> {
        self.net.backward(d_samples, true, None)
    }
}

impl<F: Float> Parameters<F> for Generator<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        self.net.visit_params(visit)
    }
}

/// What one discriminator (critic) loss was made of.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DiscriminatorLoss {
    /// The whole loss the discriminator minimizes.
    pub total: f64,
    /// Its part on data (`−mean log D(x)`, or `−mean C(x)`).
    pub real: f64,
    /// Its part on generated samples (`−mean log(1 − D(G(z)))`, or `mean C(G(z))`).
    pub fake: f64,
    /// The gradient penalty (WGAN-GP; 0 otherwise).
    pub penalty: f64,
}

/// The discriminator `D` (or WGAN's critic `C`): an MLP from (packed) samples to one logit
/// (`D = σ(a)`) or value, with the buffers of its steps.
///
/// # Shapes
/// Samples `data_dim x B` (`B` a multiple of the packing) → outputs `1 x B/m`.
#[derive(Debug, Clone)]
pub struct Discriminator<F: Float> {
    /// The network, `m·d (+1) → … → 1`.
    pub net: Net<F>,
    data_dim: usize,
    packing: usize,
    minibatch_std: bool,
    objective: Objective,
    packed: Mat<F>,
    d_out: Mat<F>,
    d_packed: Mat<F>,
    interpolates: Mat<F>,
}

impl<F: Float> Discriminator<F> {
    /// A discriminator around `net` for the settings of `config` (`net` must take
    /// `config.discriminator_inputs()` values).
    ///
    /// # Errors
    /// If the widths disagree or the configuration is invalid.
    pub fn new(net: Net<F>, config: &GanConfig) -> Result<Self> {
        config.validate()?;
        if net.inputs() != config.discriminator_inputs() || net.outputs() != 1 {
            return Err(GanError::Data(format!(
                "discriminator network is {} → {}, the configuration needs {} → 1",
                net.inputs(),
                net.outputs(),
                config.discriminator_inputs()
            )));
        }
        Ok(Discriminator {
            net,
            data_dim: config.data_dim,
            packing: config.packing,
            minibatch_std: config.minibatch_std,
            objective: config.objective,
            packed: Mat::zeros(0, 0),
            d_out: Mat::zeros(0, 0),
            d_packed: Mat::zeros(0, 0),
            interpolates: Mat::zeros(0, 0),
        })
    }

    fn check_samples(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.data_dim {
            return Err(GanError::Data(format!(
                "{what}: samples have {} rows, the model's data have {}",
                x.nrows(),
                self.data_dim
            )));
        }
        Ok(())
    }

    /// The raw outputs `a` (logits, or critic values) on a batch of samples, without a cache.
    ///
    /// # Errors
    /// Samples of the wrong width, or a batch that is not a multiple of the packing.
    pub fn score(&self, samples: &Mat<F>) -> Result<Mat<F>> {
        self.check_samples(samples, "discriminator input")?;
        let mut packed = Mat::zeros(0, 0);
        pack_into(samples, self.packing, self.minibatch_std, &mut packed)?;
        self.net.predict(&packed)
    }

    /// `D(x) = σ(a)` on a batch (the probability that a pack is data; not meaningful for a
    /// WGAN critic).
    ///
    /// # Errors
    /// As [`Discriminator::score`].
    pub fn probability(&self, samples: &Mat<F>) -> Result<Mat<F>> {
        Ok(self.score(samples)?.map(optim::activation::sigmoid))
    }

    /// Forward and loss on one side, and with `backward` the parameter gradients added.
    fn side(&mut self, samples: &Mat<F>, side: Side, backward: bool) -> Result<F> {
        pack_into(samples, self.packing, self.minibatch_std, &mut self.packed)?;
        let out = self.net.forward(&self.packed)?;
        let loss = loss_and_gradient(out, side, &mut self.d_out);
        if backward {
            self.net.backward(&self.d_out, true, None)?;
        }
        Ok(loss)
    }

    /// The discriminator's loss on a batch of data and one of generated samples:
    ///
    /// ```text
    /// original GAN:  L_D = −mean log D(x) − mean log(1 − D(G(z)))
    /// WGAN-GP:       L_C = mean C(G(z)) − mean C(x) + λ mean (‖∇C(x̂)‖ − 1)²,
    ///                x̂ⱼ = εⱼ xⱼ + (1 − εⱼ) G(z)ⱼ
    /// ```
    ///
    /// `mix` holds the `εⱼ` of the interpolates (one per sample, WGAN-GP only; packs are
    /// interpolated sample by sample and the norm is taken over a whole pack). With `backward`
    /// the gradient `∂L/∂θ_D` is *added* into the parameters.
    ///
    /// # Errors
    /// Batches of the wrong width or sizes, or a `mix` of the wrong length for WGAN-GP.
    pub fn loss(
        &mut self,
        real: &Mat<F>,
        fake: &Mat<F>,
        mix: &[F],
        backward: bool,
    ) -> Result<DiscriminatorLoss> {
        self.check_samples(real, "real batch")?;
        self.check_samples(fake, "generated batch")?;
        let wasserstein = matches!(self.objective, Objective::WassersteinGp { .. });
        let (real_side, fake_side) = if wasserstein {
            (Side::CriticReal, Side::CriticFake)
        } else {
            (Side::DiscriminatorReal, Side::DiscriminatorFake)
        };
        if wasserstein && (real.shape() != fake.shape() || mix.len() != real.ncols()) {
            return Err(GanError::Data(format!(
                "gradient penalty: real {:?} and generated {:?} batches must have one shape \
                 and one mixing weight per sample ({} given)",
                real.shape(),
                fake.shape(),
                mix.len()
            )));
        }
        let real_loss = self.side(real, real_side, backward)?;
        let fake_loss = self.side(fake, fake_side, backward)?;
        let mut penalty = F::zero();
        if let Objective::WassersteinGp { penalty_weight } = self.objective {
            resize_buffer(&mut self.interpolates, real.nrows(), real.ncols());
            for j in 0..real.ncols() {
                let e = mix[j];
                for k in 0..real.nrows() {
                    self.interpolates[(k, j)] = e * real[(k, j)] + (F::one() - e) * fake[(k, j)];
                }
            }
            pack_into(&self.interpolates, self.packing, false, &mut self.packed)?;
            penalty = self
                .net
                .penalty_backward(&self.packed, F::of(penalty_weight), backward)?;
        }
        let total = real_loss + fake_loss + penalty;
        Ok(DiscriminatorLoss {
            total: total.to_f64(),
            real: real_loss.to_f64(),
            fake: fake_loss.to_f64(),
            penalty: penalty.to_f64(),
        })
    }

    /// The generator's loss on a batch of generated samples and `∂L_G/∂G(z)` (`d x B`): the
    /// discriminator's verdict back-propagated to its input. The discriminator's parameters
    /// are not touched.
    ///
    /// # Errors
    /// A batch of the wrong width or size.
    pub fn generator_loss(&mut self, fake: &Mat<F>, d_fake: &mut Mat<F>) -> Result<F> {
        self.check_samples(fake, "generated batch")?;
        let side = match self.objective {
            Objective::Minimax => Side::GeneratorMinimax,
            Objective::NonSaturating => Side::GeneratorNonSaturating,
            Objective::WassersteinGp { .. } => Side::GeneratorWasserstein,
        };
        pack_into(fake, self.packing, self.minibatch_std, &mut self.packed)?;
        let out = self.net.forward(&self.packed)?;
        let loss = loss_and_gradient(out, side, &mut self.d_out);
        self.net
            .backward(&self.d_out, false, Some(&mut self.d_packed))?;
        unpack_gradient_into(
            fake,
            &self.d_packed,
            self.packing,
            self.minibatch_std,
            d_fake,
        )?;
        Ok(loss)
    }
}

impl<F: Float> Parameters<F> for Discriminator<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        self.net.visit_params(visit)
    }
}

/// A generative adversarial network (notes §9.2): the generator and the discriminator with
/// the configuration they were built from. Parameters are listed as `generator.{i}.weight`,
/// `generator.{i}.bias`, then `discriminator.{i}.…` (PyTorch's `nn.Sequential` numbering of the
/// linear layers).
///
/// ```
/// use generative::gan::{Gan, GanConfig, NetConfig};
/// let config = GanConfig::new(2, 2).with_generator(NetConfig::new(&[8])).with_discriminator(NetConfig::new(&[8]));
/// let gan = Gan::<f32>::new(&config, &mut optim::rng(0))?;
/// let x = gan.sample(5, &mut optim::rng(1))?;
/// assert_eq!(x.shape(), (2, 5));
/// # Ok::<(), generative::gan::GanError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gan<F: Float> {
    config: GanConfig,
    /// `G`.
    pub generator: Generator<F>,
    /// `D`.
    pub discriminator: Discriminator<F>,
    /// The moving average `Ḡ` of `G`'s weights ([`GanConfig::generator_average`]), which
    /// [`Gan::sample`] draws from; not trained (its weights are listed as buffers,
    /// `generator_average.{i}.weight`, so optimizers and gradient checks leave them alone).
    pub generator_average: Option<Generator<F>>,
}

impl<F: Float> Gan<F> {
    /// Both networks of `config`, with PyTorch's default initialization drawn from `rng`
    /// (the generator's weights first).
    ///
    /// # Errors
    /// An invalid configuration ([`GanConfig::validate`]).
    pub fn new(config: &GanConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let g = Net::new(config.latent_dim, config.data_dim, &config.generator, rng);
        let d = Net::new(config.discriminator_inputs(), 1, &config.discriminator, rng);
        // the average starts at G's initial weights
        let average = config.generator_average.map(|_| Generator::new(g.clone()));
        Ok(Gan {
            config: config.clone(),
            generator: Generator::new(g),
            discriminator: Discriminator::new(d, config)?,
            generator_average: average,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GanConfig {
        &self.config
    }

    /// The generator that samples: the moving average `Ḡ` when the configuration keeps one,
    /// else `G`.
    pub fn sampler(&self) -> &Generator<F> {
        self.generator_average.as_ref().unwrap_or(&self.generator)
    }

    /// `n` generated samples (`data_dim x n`) of [`Gan::sampler`], noise drawn from `rng`.
    ///
    /// # Errors
    /// If `n` is 0.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Result<Mat<F>> {
        self.sampler().sample(n, rng)
    }

    /// Saves both networks with the configuration (one safetensors file; kind `gan`).
    ///
    /// # Errors
    /// As [`optim::checkpoint::save_model`].
    pub fn save(
        &mut self,
        path: impl AsRef<std::path::Path>,
        extra: &[(&str, String)],
    ) -> Result<()> {
        optim::checkpoint::save_model(path, self, extra)?;
        Ok(())
    }

    /// Loads a GAN saved by [`Gan::save`]: the configuration is read and its parameter count
    /// checked against the file before anything is allocated.
    ///
    /// # Errors
    /// As [`optim::checkpoint::load_model`].
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(optim::checkpoint::load_model(path)?)
    }
}

impl<F: Float> Parameters<F> for Gan<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child("generator", &mut self.generator, visit);
        visit_child("discriminator", &mut self.discriminator, visit);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        if let Some(average) = self.generator_average.as_mut() {
            visit_child("generator_average", average, &mut |name, p| {
                visit(name, &mut p.value)
            });
        }
    }
}

/// A [`GanError`] as the shared foundation's error (for [`Saveable::from_config`]).
fn to_optim(e: GanError) -> optim::Error {
    match e {
        GanError::Optim(e) => e,
        GanError::Config {
            name,
            value,
            reason,
        } => optim::Error::hyper(name, value, &reason),
        other => optim::Error::Data(other.to_string()),
    }
}

impl<F: Float> Saveable<F> for Gan<F> {
    const KIND: &'static str = "gan";
    type Config = GanConfig;

    fn config(&self) -> GanConfig {
        self.config.clone()
    }

    fn parameter_count(config: &GanConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &GanConfig) -> optim::Result<Self> {
        Gan::new(config, &mut optim::rng(0)).map_err(to_optim)
    }
}
