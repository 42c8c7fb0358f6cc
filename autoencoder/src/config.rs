//! Configuration of an [`Autoencoder`](crate::Autoencoder): the layers of ψ and φ, the
//! reconstruction loss, and the variant (tied weights, corruption, penalty).
//!
//! A configuration is plain data with builder methods; it is checked when a model is built
//! ([`AutoencoderConfig::validate`]), and written into checkpoints as metadata so a saved model
//! can be rebuilt from its file alone ([`AutoencoderConfig::to_metadata`]).

use optim::{Activation, Error, Init, Result, check_positive, check_range};
use std::collections::HashMap;

/// One dense layer: its output width and activation.
#[derive(Debug, Clone, Copy, PartialEq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconstruction {
    /// Mean squared error over all entries, `(1/N) Σ (x̂ − x)²` (PyTorch's `MSELoss()`).
    /// Assumes real-valued inputs; a Gaussian likelihood with fixed variance.
    Mse,
    /// Binary cross-entropy over all entries, computed from the decoder's logits
    /// (`bce_with_logits`), so the output layer must be a sigmoid. Assumes inputs in `[0, 1]`
    /// (pixel intensities read as Bernoulli probabilities).
    Bce,
}

impl Reconstruction {
    fn name(&self) -> &'static str {
        match self {
            Reconstruction::Mse => "mse",
            Reconstruction::Bce => "bce",
        }
    }
}

/// The corruption `x̃ ~ q(x̃ | x)` of a denoising autoencoder (Vincent et al. 2008), applied to
/// the *training* input only; the loss still compares with the clean `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
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
#[derive(Debug, Clone, Copy, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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

    /// The configuration as checkpoint metadata (string key/value pairs).
    pub fn to_metadata(&self) -> Vec<(&'static str, String)> {
        let corruption = match self.corruption {
            Corruption::None => "none".to_string(),
            Corruption::Masking { fraction } => format!("masking:{fraction}"),
            Corruption::Gaussian { std } => format!("gaussian:{std}"),
        };
        let penalty = match self.penalty {
            Penalty::None => "none".to_string(),
            Penalty::Sparse { rho, beta } => format!("sparse:{rho}:{beta}"),
            Penalty::Contractive { lambda } => format!("contractive:{lambda}"),
        };
        vec![
            ("model", "autoencoder".to_string()),
            ("inputs", self.inputs.to_string()),
            ("encoder", layers_to_string(&self.encoder)),
            ("decoder", layers_to_string(&self.decoder)),
            ("loss", self.loss.name().to_string()),
            ("tied", self.tied.to_string()),
            ("corruption", corruption),
            ("penalty", penalty),
        ]
    }

    /// Rebuilds a configuration written by [`AutoencoderConfig::to_metadata`] (the
    /// initialization is not stored; it is set to the default).
    ///
    /// # Errors
    /// A missing or malformed entry, named in the message.
    pub fn from_metadata(meta: &HashMap<String, String>) -> Result<Self> {
        let get = |key: &str| {
            meta.get(key)
                .map(String::as_str)
                .ok_or_else(|| Error::Data(format!("checkpoint metadata: no `{key}` entry")))
        };
        if get("model")? != "autoencoder" {
            return Err(Error::Data(format!(
                "checkpoint metadata: model is `{}`, not `autoencoder`",
                get("model")?
            )));
        }
        let inputs = parse_num::<usize>("inputs", get("inputs")?)?;
        let encoder = parse_layers("encoder", get("encoder")?)?;
        let decoder = parse_layers("decoder", get("decoder")?)?;
        let loss = match get("loss")? {
            "mse" => Reconstruction::Mse,
            "bce" => Reconstruction::Bce,
            other => return Err(bad("loss", other)),
        };
        let tied = parse_num::<bool>("tied", get("tied")?)?;
        let c = get("corruption")?;
        let parts: Vec<&str> = c.split(':').collect();
        let corruption = match parts.as_slice() {
            ["none"] => Corruption::None,
            ["masking", f] => Corruption::Masking {
                fraction: parse_num("corruption", f)?,
            },
            ["gaussian", s] => Corruption::Gaussian {
                std: parse_num("corruption", s)?,
            },
            _ => return Err(bad("corruption", c)),
        };
        let p = get("penalty")?;
        let parts: Vec<&str> = p.split(':').collect();
        let penalty = match parts.as_slice() {
            ["none"] => Penalty::None,
            ["sparse", r, b] => Penalty::Sparse {
                rho: parse_num("penalty", r)?,
                beta: parse_num("penalty", b)?,
            },
            ["contractive", l] => Penalty::Contractive {
                lambda: parse_num("penalty", l)?,
            },
            _ => return Err(bad("penalty", p)),
        };
        let config = AutoencoderConfig {
            inputs,
            encoder,
            decoder,
            loss,
            tied,
            corruption,
            penalty,
            init: Init::PyTorchDefault,
        };
        config.validate()?;
        Ok(config)
    }
}

fn bad(key: &str, value: &str) -> Error {
    Error::Data(format!(
        "checkpoint metadata: cannot read `{key}` = `{value}`"
    ))
}

pub(crate) fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| bad(key, value))
}

/// `name` or `name(param)` for the parametrized activations.
pub(crate) fn activation_to_string(a: Activation) -> String {
    match a {
        Activation::LeakyRelu(p) | Activation::Elu(p) => format!("{}({p})", a.name()),
        _ => a.name().to_string(),
    }
}

pub(crate) fn activation_from_string(s: &str) -> Option<Activation> {
    let (name, param) = match s.split_once('(') {
        Some((n, rest)) => (n, Some(rest.strip_suffix(')')?.parse::<f64>().ok()?)),
        None => (s, None),
    };
    Some(match (name, param) {
        ("identity", None) => Activation::Identity,
        ("sigmoid", None) => Activation::Sigmoid,
        ("tanh", None) => Activation::Tanh,
        ("relu", None) => Activation::Relu,
        ("gelu", None) => Activation::Gelu,
        ("softplus", None) => Activation::Softplus,
        ("leaky_relu", Some(p)) => Activation::LeakyRelu(p),
        ("elu", Some(p)) => Activation::Elu(p),
        _ => return None,
    })
}

pub(crate) fn parse_layers(key: &str, value: &str) -> Result<Vec<LayerSpec>> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|item| {
            let (w, a) = item.split_once(':').ok_or_else(|| bad(key, value))?;
            Ok(LayerSpec::new(
                parse_num(key, w)?,
                activation_from_string(a).ok_or_else(|| bad(key, value))?,
            ))
        })
        .collect()
}

pub(crate) fn layers_to_string(ls: &[LayerSpec]) -> String {
    ls.iter()
        .map(|l| format!("{}:{}", l.width, activation_to_string(l.activation)))
        .collect::<Vec<_>>()
        .join(",")
}
