//! Configuration of an [`Autoencoder`](crate::Autoencoder): the layers of ψ and φ, the
//! reconstruction loss, and the variant (tied weights, corruption, penalty).
//!
//! A configuration is plain data with builder methods; it is checked when a model is built
//! ([`AutoencoderConfig::validate`]), and stored in checkpoints as JSON (serde) so a saved model
//! can be rebuilt from its file alone ([`optim::checkpoint::load_model`]).
//!
//! ```
//! use autoencoder::{AutoencoderConfig, Corruption};
//! use optim::Activation;
//! let c = AutoencoderConfig::symmetric(64, &[64], 8, Activation::Relu)
//!     .denoising(Corruption::Masking { fraction: 0.3 });
//! assert_eq!((c.encoder.len(), c.decoder.len(), c.code_size()), (2, 2, 8));
//! let json = serde_json::to_string(&c).unwrap();
//! assert!(json.contains(r#""corruption":{"masking":{"fraction":0.3}}"#), "{json}");
//! assert_eq!(serde_json::from_str::<AutoencoderConfig>(&json).unwrap(), c);
//! ```

use optim::{Activation, Error, Init, Result, check_positive, check_range};
use serde::{Deserialize, Serialize};

/// One dense layer: its output width and activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Output width.
    pub width: usize,
    /// Element-wise activation applied to `W x + b`.
    pub activation: Activation,
}

impl LayerSpec {
    /// A layer of `width` units with `activation`.
    pub fn new(width: usize, activation: Activation) -> Self {
        LayerSpec { width, activation }
    }
}

/// The reconstruction loss `ℓ(x, x̂)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reconstruction {
    /// Mean squared error over all entries, `(1/N) Σ (x̂ − x)²` (PyTorch's `MSELoss()`).
    /// Assumes real-valued inputs; a Gaussian likelihood with fixed variance.
    Mse,
    /// Binary cross-entropy over all entries, computed from the decoder's logits
    /// (`bce_with_logits`), so the output layer must be a sigmoid. Assumes inputs in `[0, 1]`
    /// (pixel intensities read as Bernoulli probabilities).
    Bce,
}

/// The corruption `x̃ ~ q(x̃ | x)` of a denoising autoencoder (Vincent et al. 2008), applied to
/// the *training* input only; the loss still compares with the clean `x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    /// No corruption: the plain autoencoder.
    None,
    /// Masking noise: each entry is set to 0 with probability `fraction` (no rescaling, as in
    /// Vincent et al.). Assumes 0 means "no signal" (e.g. background pixels).
    Masking {
        /// Probability of zeroing an entry, in `[0, 1)`.
        fraction: f64,
    },
    /// Additive isotropic Gaussian noise `x̃ = x + ε`, `ε ~ N(0, std² I)`.
    Gaussian {
        /// Standard deviation of the noise, `> 0`.
        std: f64,
    },
}

/// A regularizing penalty added to the reconstruction loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    /// No penalty.
    None,
    /// Sparse autoencoder: `β Σ_j KL(ρ ‖ ρ̂_j)` with `ρ̂_j = (1/B) Σ_b h_{jb}` the mean activation
    /// of code unit `j` over the batch. Assumes code activations in `(0, 1)`: the code layer
    /// must be a sigmoid.
    Sparse {
        /// Target mean activation `ρ ∈ (0, 1)`.
        rho: f64,
        /// Weight `β ≥ 0`.
        beta: f64,
    },
    /// Contractive autoencoder (Rifai et al. 2011): `λ (1/B) Σ_b ‖∂h(x_b)/∂x‖²_F`. The gradient
    /// is exact for a one-layer encoder `h = f(W x + b)` with any activation of this crate, which
    /// is the setting of the paper; a deeper encoder is rejected.
    Contractive {
        /// Weight `λ ≥ 0`.
        lambda: f64,
    },
}

/// The architecture and variant of an autoencoder `x̂ = φ(ψ(x))`.
///
/// ```
/// use autoencoder::AutoencoderConfig;
/// use optim::Activation;
/// // 64-64-8-64-64 with ReLU, linear output, MSE
/// let c = AutoencoderConfig::symmetric(64, &[64], 8, Activation::Relu);
/// assert_eq!(c.code_size(), 8);
/// assert_eq!(c.decoder.len(), 2);
/// assert!(c.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoencoderConfig {
    /// Input width `d`.
    pub inputs: usize,
    /// Encoder ψ layers; the last one's width is the code size `k`.
    pub encoder: Vec<LayerSpec>,
    /// Decoder φ layers; the last one's width must be `inputs`.
    pub decoder: Vec<LayerSpec>,
    /// Reconstruction loss (default MSE).
    pub loss: Reconstruction,
    /// Tied weights: decoder layer `j` uses the transpose of encoder layer `L − 1 − j`'s matrix
    /// (default `false`). Needs a decoder that mirrors the encoder's widths.
    pub tied: bool,
    /// Input corruption during training (default none).
    pub corruption: Corruption,
    /// Penalty (default none).
    pub penalty: Penalty,
    /// Weight initialization (default PyTorch's `nn.Linear` default).
    pub init: Init,
}

impl AutoencoderConfig {
    /// A mirrored network `d → hidden… → k → reversed hidden… → d`, every layer with
    /// `activation` except the output, which is linear; MSE loss; no variant.
    pub fn symmetric(inputs: usize, hidden: &[usize], code: usize, activation: Activation) -> Self {
        let mut encoder: Vec<LayerSpec> = hidden
            .iter()
            .map(|&w| LayerSpec::new(w, activation))
            .collect();
        encoder.push(LayerSpec::new(code, activation));
        let mut decoder: Vec<LayerSpec> = hidden
            .iter()
            .rev()
            .map(|&w| LayerSpec::new(w, activation))
            .collect();
        decoder.push(LayerSpec::new(inputs, Activation::Identity));
        AutoencoderConfig {
            inputs,
            encoder,
            decoder,
            loss: Reconstruction::Mse,
            tied: false,
            corruption: Corruption::None,
            penalty: Penalty::None,
            init: Init::PyTorchDefault,
        }
    }

    /// The linear autoencoder `x̂ = W₂ (W₁ x + b₁) + b₂` with `k` code units, whose optimum
    /// spans the top-`k` principal subspace (Baldi & Hornik 1989).
    pub fn linear(inputs: usize, code: usize) -> Self {
        Self::symmetric(inputs, &[], code, Activation::Identity)
    }

    /// An *undercomplete* autoencoder (`k < d`), the bottleneck being the only regularizer.
    ///
    /// # Errors
    /// If `code >= inputs`: without a bottleneck (or another regularizer) the identity is a
    /// perfect and useless solution.
    pub fn undercomplete(
        inputs: usize,
        hidden: &[usize],
        code: usize,
        activation: Activation,
    ) -> Result<Self> {
        if code >= inputs {
            return Err(Error::hyper(
                "code size",
                code,
                &format!("an undercomplete autoencoder needs k < d = {inputs}"),
            ));
        }
        Ok(Self::symmetric(inputs, hidden, code, activation))
    }

    /// Sets the code layer's activation.
    pub fn code_activation(mut self, activation: Activation) -> Self {
        if let Some(l) = self.encoder.last_mut() {
            l.activation = activation;
        }
        self
    }

    /// Sets the output layer's activation.
    pub fn output_activation(mut self, activation: Activation) -> Self {
        if let Some(l) = self.decoder.last_mut() {
            l.activation = activation;
        }
        self
    }

    /// Binary cross-entropy reconstruction with a sigmoid output (inputs in `[0, 1]`).
    pub fn bce(mut self) -> Self {
        self.loss = Reconstruction::Bce;
        self.output_activation(Activation::Sigmoid)
    }

    /// Tied weights: decoder `W'_j = W_{L−1−j}ᵀ`.
    pub fn tied(mut self) -> Self {
        self.tied = true;
        self
    }

    /// Denoising: train on corrupted inputs.
    pub fn denoising(mut self, corruption: Corruption) -> Self {
        self.corruption = corruption;
        self
    }

    /// Sparse: KL penalty toward mean code activation `rho`, weight `beta`; sets the code layer
    /// to a sigmoid.
    pub fn sparse(mut self, rho: f64, beta: f64) -> Self {
        self.penalty = Penalty::Sparse { rho, beta };
        self.code_activation(Activation::Sigmoid)
    }

    /// Contractive: Frobenius norm of the encoder Jacobian, weight `lambda`.
    pub fn contractive(mut self, lambda: f64) -> Self {
        self.penalty = Penalty::Contractive { lambda };
        self
    }

    /// Sets the weight initialization.
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Number of trainable scalars of an [`Autoencoder`](crate::Autoencoder) of this
    /// configuration, computed with checked arithmetic without building it (`None` on
    /// overflow): `out·in + out` per layer, only the bias for a tied decoder layer.
    ///
    /// ```
    /// use autoencoder::AutoencoderConfig;
    /// use optim::Activation;
    /// let c = AutoencoderConfig::symmetric(64, &[64], 8, Activation::Relu);
    /// assert_eq!(c.parameter_count(), Some(4160 + 520 + 576 + 4160));
    /// assert_eq!(c.tied().parameter_count(), Some(4160 + 520 + 64 + 64));
    /// ```
    pub fn parameter_count(&self) -> Option<usize> {
        let encoder = layers_count(self.inputs, &self.encoder, false)?;
        let decoder = layers_count(self.code_size(), &self.decoder, self.tied)?;
        encoder.checked_add(decoder)
    }

    /// The code size `k` (width of the last encoder layer).
    pub fn code_size(&self) -> usize {
        self.encoder.last().map_or(0, |l| l.width)
    }

    /// Checks every field; a model is only built from a valid configuration.
    ///
    /// # Errors
    /// Zero widths, an empty encoder or decoder, a decoder that does not end at `inputs`, tied
    /// weights without mirrored widths, BCE without a sigmoid output, a sparse penalty without a
    /// sigmoid code, a contractive penalty on a deeper encoder, or out-of-range hyperparameters.
    pub fn validate(&self) -> Result<()> {
        if self.inputs == 0 {
            return Err(Error::hyper("inputs", 0, "must be at least 1"));
        }
        if self.encoder.is_empty() || self.decoder.is_empty() {
            return Err(Error::hyper(
                "layers",
                format!(
                    "{} encoder, {} decoder",
                    self.encoder.len(),
                    self.decoder.len()
                ),
                "encoder and decoder need at least one layer each",
            ));
        }
        for (part, layers) in [("encoder", &self.encoder), ("decoder", &self.decoder)] {
            if let Some(i) = layers.iter().position(|l| l.width == 0) {
                return Err(Error::hyper(
                    &format!("{part}.{i} width"),
                    0,
                    "must be at least 1",
                ));
            }
            for (i, l) in layers.iter().enumerate() {
                match l.activation {
                    Activation::LeakyRelu(a) | Activation::Elu(a) if !a.is_finite() => {
                        return Err(Error::hyper(
                            &format!("{part}.{i} activation parameter"),
                            a,
                            "must be finite",
                        ));
                    }
                    _ => {}
                }
            }
        }
        let out = self.decoder.last().map_or(0, |l| l.width);
        if out != self.inputs {
            return Err(Error::hyper(
                "decoder output width",
                out,
                &format!("must equal the input width {}", self.inputs),
            ));
        }
        if self.tied {
            let enc_in: Vec<usize> = std::iter::once(self.inputs)
                .chain(self.encoder.iter().map(|l| l.width))
                .collect();
            let dec_out: Vec<usize> = std::iter::once(self.code_size())
                .chain(self.decoder.iter().map(|l| l.width))
                .collect();
            let mirrored: Vec<usize> = enc_in.iter().rev().copied().collect();
            if dec_out != mirrored {
                return Err(Error::hyper(
                    "tied",
                    format!("decoder widths {:?}", &dec_out[1..]),
                    &format!(
                        "tied weights need the decoder to mirror the encoder: widths {:?}",
                        &mirrored[1..]
                    ),
                ));
            }
        }
        if self.loss == Reconstruction::Bce
            && self.decoder.last().map(|l| l.activation) != Some(Activation::Sigmoid)
        {
            return Err(Error::hyper(
                "loss",
                "bce",
                "binary cross-entropy needs a sigmoid output layer (use .bce())",
            ));
        }
        match self.corruption {
            Corruption::None => {}
            Corruption::Masking { fraction } => {
                if !(fraction.is_finite() && (0.0..1.0).contains(&fraction)) {
                    return Err(Error::hyper(
                        "masking fraction",
                        fraction,
                        "must lie in [0, 1)",
                    ));
                }
            }
            Corruption::Gaussian { std } => check_positive("gaussian corruption std", std)?,
        }
        match self.penalty {
            Penalty::None => {}
            Penalty::Sparse { rho, beta } => {
                if !(rho.is_finite() && rho > 0.0 && rho < 1.0) {
                    return Err(Error::hyper("sparsity rho", rho, "must lie in (0, 1)"));
                }
                check_range("sparsity beta", beta, 0.0, f64::MAX)?;
                if self.encoder.last().map(|l| l.activation) != Some(Activation::Sigmoid) {
                    return Err(Error::hyper(
                        "penalty",
                        "sparse",
                        "the KL sparsity penalty needs code activations in (0, 1): a sigmoid \
                         code layer",
                    ));
                }
            }
            Penalty::Contractive { lambda } => {
                check_range("contractive lambda", lambda, 0.0, f64::MAX)?;
                if self.encoder.len() != 1 {
                    return Err(Error::hyper(
                        "penalty",
                        "contractive",
                        &format!(
                            "the exact contractive gradient is implemented for a one-layer \
                             encoder (Rifai et al. 2011); this one has {} layers",
                            self.encoder.len()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `out·in + out`, checked.
fn affine_count(inputs: usize, outputs: usize) -> Option<usize> {
    inputs.checked_mul(outputs)?.checked_add(outputs)
}

/// Scalars of a stack of dense layers from width `inputs`; `bias_only` counts the biases alone
/// (tied decoder layers, whose matrices belong to the encoder).
fn layers_count(inputs: usize, layers: &[LayerSpec], bias_only: bool) -> Option<usize> {
    let mut width = inputs;
    let mut total = 0usize;
    for l in layers {
        let n = if bias_only {
            l.width
        } else {
            affine_count(width, l.width)?
        };
        total = total.checked_add(n)?;
        width = l.width;
    }
    Some(total)
}

/// Architecture of a [`Vae`](crate::Vae).
///
/// ```
/// use autoencoder::VaeConfig;
/// use optim::Activation;
/// let c = VaeConfig::symmetric(64, &[32], 2, Activation::Relu).bce();
/// assert!(c.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Input width `d`.
    pub inputs: usize,
    /// Hidden layers of the encoder trunk (may be empty), before the `μ` and `log σ²` heads.
    pub encoder: Vec<LayerSpec>,
    /// Latent size `k`.
    pub latent: usize,
    /// Decoder layers `k → … → d`; the last width must be `inputs`.
    pub decoder: Vec<LayerSpec>,
    /// Reconstruction likelihood (default MSE, a Gaussian decoder).
    pub loss: Reconstruction,
    /// Weight of the KL term (default 1: the ELBO; β-VAE otherwise).
    pub beta: f64,
    /// Weight initialization (default PyTorch's).
    pub init: Init,
}

impl VaeConfig {
    /// Encoder `d → hidden… → (μ, log σ²) ∈ R^k × R^k`, decoder `k → reversed hidden… → d`
    /// with a linear output; hidden layers use `activation`; MSE.
    pub fn symmetric(
        inputs: usize,
        hidden: &[usize],
        latent: usize,
        activation: Activation,
    ) -> Self {
        let encoder = hidden
            .iter()
            .map(|&w| LayerSpec::new(w, activation))
            .collect();
        let mut decoder: Vec<LayerSpec> = hidden
            .iter()
            .rev()
            .map(|&w| LayerSpec::new(w, activation))
            .collect();
        decoder.push(LayerSpec::new(inputs, Activation::Identity));
        VaeConfig {
            inputs,
            encoder,
            latent,
            decoder,
            loss: Reconstruction::Mse,
            beta: 1.0,
            init: Init::PyTorchDefault,
        }
    }

    /// Bernoulli decoder: BCE on logits, sigmoid output.
    pub fn bce(mut self) -> Self {
        self.loss = Reconstruction::Bce;
        if let Some(l) = self.decoder.last_mut() {
            l.activation = Activation::Sigmoid;
        }
        self
    }

    /// Sets the KL weight `β`.
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// Zero widths, an empty decoder or one that does not end at `inputs`, BCE without a
    /// sigmoid output, or a negative or non-finite `β`.
    pub fn validate(&self) -> Result<()> {
        if self.inputs == 0 || self.latent == 0 {
            return Err(Error::hyper(
                "inputs / latent",
                format!("{} / {}", self.inputs, self.latent),
                "must be at least 1",
            ));
        }
        if self.decoder.is_empty() {
            return Err(Error::hyper("decoder", "[]", "needs at least one layer"));
        }
        if let Some(l) = self
            .encoder
            .iter()
            .chain(&self.decoder)
            .find(|l| l.width == 0)
        {
            return Err(Error::hyper("layer width", l.width, "must be at least 1"));
        }
        let out = self.decoder.last().map_or(0, |l| l.width);
        if out != self.inputs {
            return Err(Error::hyper(
                "decoder output width",
                out,
                &format!("must equal the input width {}", self.inputs),
            ));
        }
        if self.loss == Reconstruction::Bce
            && self.decoder.last().map(|l| l.activation) != Some(Activation::Sigmoid)
        {
            return Err(Error::hyper(
                "loss",
                "bce",
                "binary cross-entropy needs a sigmoid output layer (use .bce())",
            ));
        }
        optim::check_range("beta", self.beta, 0.0, f64::MAX)?;
        Ok(())
    }

    /// Number of trainable scalars of a [`Vae`](crate::Vae) of this configuration, computed
    /// with checked arithmetic without building it (`None` on overflow).
    ///
    /// ```
    /// use autoencoder::VaeConfig;
    /// use optim::Activation;
    /// // 6-5-(2,2)-5-6: 6·5+5, two heads 2·(5·2+2), 2·5+5, 5·6+6
    /// let c = VaeConfig::symmetric(6, &[5], 2, Activation::Tanh);
    /// assert_eq!(c.parameter_count(), Some(35 + 24 + 15 + 36));
    /// ```
    pub fn parameter_count(&self) -> Option<usize> {
        let trunk = layers_count(self.inputs, &self.encoder, false)?;
        let width = self.encoder.last().map_or(self.inputs, |l| l.width);
        let head = affine_count(width, self.latent)?;
        let decoder = layers_count(self.latent, &self.decoder, false)?;
        trunk
            .checked_add(head.checked_mul(2)?)?
            .checked_add(decoder)
    }
}
