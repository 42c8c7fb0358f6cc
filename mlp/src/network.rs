//! The network: configuration ([`Config`]), the layers ([`Layer`]) and the model ([`Mlp`]) with
//! its training forward/backward pair and its `&self` inference path.
//!
//! A network with hidden widths `h₁, …, h_L` is the `nn.Sequential` PyTorch would build:
//!
//! ```text
//! for each hidden layer l:  Linear(h_{l−1} → h_l) [→ BatchNorm1d(h_l)] → activation [→ Dropout(p)]
//! then:                     Linear(h_L → outputs)                      (logits or predictions)
//! ```
//!
//! Layers are numbered in that order from 0, and parameters are named as PyTorch names them in
//! a module whose `nn.Sequential` attribute is called `layers`: `layers.0.weight`,
//! `layers.0.bias`, `layers.1.weight` (batch norm's `γ`), `layers.1.running_mean`, … . With batch
//! norm the preceding linear layer has no bias (`nn.Linear(…, bias=False)`): batch norm subtracts
//! the batch mean, so a bias there would have no effect and a zero gradient.

use crate::batchnorm::BatchNorm1d;
use optim::linalg::{copy_into, gemm, resize_buffer};
use optim::{Activation, Error, Float, Init, Linear, Mat, Param, Parameters, Result};
use rand::Rng;
use std::fmt;

/// What the network is trained to minimize; this also fixes what its output means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// Classification: the outputs are logits, `L = mean_b −log softmax(z_b)_{y_b}`
    /// ([`optim::loss::softmax_cross_entropy`]), with optional label smoothing `ε ∈ [0, 1)`.
    CrossEntropy {
        /// Label smoothing `ε` (PyTorch's `label_smoothing`), 0 for none.
        label_smoothing: f64,
    },
    /// Regression: the outputs are predictions, `L = mean (z − t)²` over all entries
    /// ([`optim::loss::mse`]).
    Mse,
}

impl Loss {
    /// Soft-max cross-entropy without label smoothing.
    pub const CROSS_ENTROPY: Loss = Loss::CrossEntropy {
        label_smoothing: 0.0,
    };

    /// Whether this is a classification loss.
    pub fn is_classification(&self) -> bool {
        matches!(self, Loss::CrossEntropy { .. })
    }
}

/// The architecture and regularization of a network, separate from its weights: `init` draws
/// the weights from a seeded generator (burn's `Config → init → Module` split).
///
/// ```
/// use mlp::{Config, optim::Activation};
/// let config = Config::classifier(64, &[128, 64], 10)
///     .activation(Activation::Relu)
///     .dropout(0.1)
///     .batch_norm(true);
/// let model = config.init::<f32>(&mut optim::rng(0)).unwrap();
/// assert_eq!(model.param_count(), 64 * 128 + 2 * 128 + 128 * 64 + 2 * 64 + 64 * 10 + 10);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Input width (features per example).
    pub inputs: usize,
    /// Widths of the hidden layers, first to last; empty for a linear model.
    pub hidden: Vec<usize>,
    /// Output width: classes for classification, targets per example for regression.
    pub outputs: usize,
    /// The activation after every hidden layer. Default: ReLU.
    pub activation: Activation,
    /// The loss, which fixes the task. Default: cross-entropy for [`Config::classifier`], MSE for
    /// [`Config::regressor`].
    pub loss: Loss,
    /// Inverted-dropout probability after every hidden activation, in `[0, 1)`; 0 (the default)
    /// inserts no dropout layer.
    pub dropout: f64,
    /// Whether every hidden linear layer is followed by batch normalization. Default: false.
    pub batch_norm: bool,
    /// Batch norm's momentum (PyTorch's convention: weight of the new batch). Default: 0.1.
    pub batch_norm_momentum: f64,
    /// Batch norm's `ε`. Default: `1e-5`.
    pub batch_norm_eps: f64,
    /// Weight initialization of the linear layers. Default: PyTorch's
    /// `U(−1/√fan_in, 1/√fan_in)` for weights and biases.
    pub init: Init,
}

impl Config {
    /// A classifier with soft-max cross-entropy over `classes` outputs, ReLU, no regularization.
    pub fn classifier(inputs: usize, hidden: &[usize], classes: usize) -> Self {
        Config {
            inputs,
            hidden: hidden.to_vec(),
            outputs: classes,
            activation: Activation::Relu,
            loss: Loss::CROSS_ENTROPY,
            dropout: 0.0,
            batch_norm: false,
            batch_norm_momentum: 0.1,
            batch_norm_eps: 1e-5,
            init: Init::PyTorchDefault,
        }
    }

    /// A regressor with mean squared error over `outputs` targets, ReLU, no regularization.
    pub fn regressor(inputs: usize, hidden: &[usize], outputs: usize) -> Self {
        Config {
            loss: Loss::Mse,
            ..Self::classifier(inputs, hidden, outputs)
        }
    }

    /// Sets the hidden activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the dropout probability after every hidden activation.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Turns batch normalization after every hidden linear layer on or off.
    pub fn batch_norm(mut self, on: bool) -> Self {
        self.batch_norm = on;
        self
    }

    /// Sets the weight initialization.
    pub fn init_with(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Sets the loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// A zero width, a dropout outside `[0, 1)`, label smoothing outside `[0, 1)`, a bad batch
    /// norm momentum or `ε`, or an activation parameter that is not finite.
    pub fn validate(&self) -> Result<()> {
        if self.inputs == 0 {
            return Err(Error::hyper("inputs", self.inputs, "must be at least 1"));
        }
        if self.outputs == 0 {
            return Err(Error::hyper("outputs", self.outputs, "must be at least 1"));
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return Err(Error::hyper(
                &format!("hidden[{i}]"),
                0,
                "every hidden width must be at least 1",
            ));
        }
        // the rule of optim's dropout layer, whose mask this network draws the same way
        optim::Dropout::<f64>::new(self.dropout)?;
        if let Loss::CrossEntropy { label_smoothing } = self.loss
            && !(label_smoothing.is_finite() && (0.0..1.0).contains(&label_smoothing))
        {
            return Err(Error::hyper(
                "label_smoothing",
                label_smoothing,
                "must lie in [0, 1)",
            ));
        }
        if let Activation::LeakyRelu(a) | Activation::Elu(a) = self.activation
            && !a.is_finite()
        {
            return Err(Error::hyper(self.activation.name(), a, "must be finite"));
        }
        if self.batch_norm {
            BatchNorm1d::<f64>::with_options(1, self.batch_norm_momentum, self.batch_norm_eps)?;
        }
        Ok(())
    }

    /// Draws a network's weights from `rng` (seeded: the same seed gives the same network).
    ///
    /// # Errors
    /// If the configuration is invalid (see [`Config::validate`]).
    pub fn init<F: Float>(&self, rng: &mut impl Rng) -> Result<Mlp<F>> {
        self.validate()?;
        let mut layers = Vec::new();
        let mut width = self.inputs;
        for &h in &self.hidden {
            layers.push(Layer::Linear(Linear::with_init(
                width,
                h,
                self.init,
                !self.batch_norm,
                rng,
            )));
            if self.batch_norm {
                layers.push(Layer::BatchNorm(BatchNorm1d::with_options(
                    h,
                    self.batch_norm_momentum,
                    self.batch_norm_eps,
                )?));
            }
            layers.push(Layer::Activation(self.activation));
            if self.dropout > 0.0 {
                layers.push(Layer::Dropout(self.dropout));
            }
            width = h;
        }
        layers.push(Layer::Linear(Linear::with_init(
            width,
            self.outputs,
            self.init,
            true,
            rng,
        )));
        Ok(Mlp::from_parts(self.clone(), layers))
    }

    /// The configuration as one line of `key=value` pairs (stored in checkpoints; read back by
    /// [`Config::parse`]).
    pub fn to_line(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(usize::to_string).collect();
        let activation = match self.activation {
            Activation::LeakyRelu(a) | Activation::Elu(a) => {
                format!("{}({a:?})", self.activation.name())
            }
            other => other.name().to_string(),
        };
        let loss = match self.loss {
            Loss::CrossEntropy { label_smoothing } => format!("cross_entropy({label_smoothing:?})"),
            Loss::Mse => "mse".into(),
        };
        let init = match self.init {
            Init::Zeros => "zeros".to_string(),
            Init::Constant(c) => format!("constant({c:?})"),
            Init::Uniform(a) => format!("uniform({a:?})"),
            Init::Normal(s) => format!("normal({s:?})"),
            Init::XavierUniform { gain } => format!("xavier_uniform({gain:?})"),
            Init::XavierNormal { gain } => format!("xavier_normal({gain:?})"),
            Init::HeUniform => "he_uniform".into(),
            Init::HeNormal => "he_normal".into(),
            Init::PyTorchDefault => "pytorch_default".into(),
            Init::Orthogonal { gain } => format!("orthogonal({gain:?})"),
        };
        format!(
            "inputs={};hidden={};outputs={};activation={activation};loss={loss};dropout={:?};\
             batch_norm={};batch_norm_momentum={:?};batch_norm_eps={:?};init={init}",
            self.inputs,
            hidden.join(","),
            self.outputs,
            self.dropout,
            self.batch_norm,
            self.batch_norm_momentum,
            self.batch_norm_eps,
        )
    }

    /// Reads a configuration written by [`Config::to_line`].
    ///
    /// # Errors
    /// A missing or malformed field, naming it.
    pub fn parse(line: &str) -> Result<Self> {
        let bad = |key: &str, value: &str| {
            Error::Data(format!("mlp config: cannot read {key}={value:?}"))
        };
        let mut c = Config::classifier(0, &[], 0);
        let mut seen = Vec::new();
        for pair in line.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::Data(format!("mlp config: {pair:?} is not key=value")))?;
            let num = |v: &str| v.parse::<f64>().map_err(|_| bad(key, value));
            let int = |v: &str| v.parse::<usize>().map_err(|_| bad(key, value));
            let call = |v: &str| -> Option<(String, Option<String>)> {
                match v.split_once('(') {
                    Some((name, rest)) => rest
                        .strip_suffix(')')
                        .map(|arg| (name.to_string(), Some(arg.to_string()))),
                    None => Some((v.to_string(), None)),
                }
            };
            match key {
                "inputs" => c.inputs = int(value)?,
                "outputs" => c.outputs = int(value)?,
                "hidden" => {
                    c.hidden = value
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(int)
                        .collect::<Result<_>>()?
                }
                "dropout" => c.dropout = num(value)?,
                "batch_norm" => c.batch_norm = value.parse().map_err(|_| bad(key, value))?,
                "batch_norm_momentum" => c.batch_norm_momentum = num(value)?,
                "batch_norm_eps" => c.batch_norm_eps = num(value)?,
                "activation" => {
                    let (name, arg) = call(value).ok_or_else(|| bad(key, value))?;
                    let arg = arg.as_deref().map(num).transpose()?;
                    c.activation = match (name.as_str(), arg) {
                        ("leaky_relu", Some(a)) => Activation::LeakyRelu(a),
                        ("elu", Some(a)) => Activation::Elu(a),
                        (n, None) => Activation::all()
                            .into_iter()
                            .find(|a| a.name() == n)
                            .ok_or_else(|| bad(key, value))?,
                        _ => return Err(bad(key, value)),
                    }
                }
                "loss" => {
                    let (name, arg) = call(value).ok_or_else(|| bad(key, value))?;
                    c.loss = match (name.as_str(), arg) {
                        ("cross_entropy", Some(a)) => Loss::CrossEntropy {
                            label_smoothing: num(&a)?,
                        },
                        ("mse", None) => Loss::Mse,
                        _ => return Err(bad(key, value)),
                    }
                }
                "init" => {
                    let (name, arg) = call(value).ok_or_else(|| bad(key, value))?;
                    let arg = arg.as_deref().map(num).transpose()?;
                    c.init = match (name.as_str(), arg) {
                        ("zeros", None) => Init::Zeros,
                        ("constant", Some(a)) => Init::Constant(a),
                        ("uniform", Some(a)) => Init::Uniform(a),
                        ("normal", Some(a)) => Init::Normal(a),
                        ("xavier_uniform", Some(gain)) => Init::XavierUniform { gain },
                        ("xavier_normal", Some(gain)) => Init::XavierNormal { gain },
                        ("he_uniform", None) => Init::HeUniform,
                        ("he_normal", None) => Init::HeNormal,
                        ("pytorch_default", None) => Init::PyTorchDefault,
                        ("orthogonal", Some(gain)) => Init::Orthogonal { gain },
                        _ => return Err(bad(key, value)),
                    }
                }
                other => return Err(Error::Data(format!("mlp config: unknown key {other:?}"))),
            }
            seen.push(key.to_string());
        }
        for key in ["inputs", "hidden", "outputs", "activation", "loss"] {
            if !seen.iter().any(|k| k == key) {
                return Err(Error::Data(format!("mlp config: no {key}")));
            }
        }
        c.validate()?;
        Ok(c)
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths = vec![self.inputs];
        widths.extend(&self.hidden);
        widths.push(self.outputs);
        let widths: Vec<String> = widths.iter().map(usize::to_string).collect();
        write!(f, "{} {}", widths.join("-"), self.activation.name())?;
        if self.batch_norm {
            write!(f, " +batchnorm")?;
        }
        if self.dropout > 0.0 {
            write!(f, " +dropout({})", self.dropout)?;
        }
        match self.loss {
            Loss::CrossEntropy { label_smoothing } if label_smoothing > 0.0 => {
                write!(f, ", cross-entropy (smoothing {label_smoothing})")
            }
            Loss::CrossEntropy { .. } => write!(f, ", cross-entropy"),
            Loss::Mse => write!(f, ", mse"),
        }
    }
}

/// One layer of the sequence (PyTorch's `nn.Sequential` entries).
#[derive(Debug, Clone)]
pub enum Layer<F: Float> {
    /// `y = W x + b`.
    Linear(Linear<F>),
    /// Batch normalization of each feature over the batch.
    BatchNorm(BatchNorm1d<F>),
    /// Element-wise `y = f(z)`.
    Activation(Activation),
    /// Inverted dropout with drop probability `p` in training; the identity in evaluation.
    Dropout(f64),
}

impl<F: Float> Layer<F> {
    /// PyTorch's class name of the layer.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Linear(_) => "Linear",
            Layer::BatchNorm(_) => "BatchNorm1d",
            Layer::Activation(_) => "Activation",
            Layer::Dropout(_) => "Dropout",
        }
    }
}

/// Buffers of the training step, reused from step to step.
#[derive(Debug, Clone, Default)]
struct Workspace<F: Float> {
    /// `acts[0]` is the input batch, `acts[i + 1]` the output of layer `i`.
    acts: Vec<Mat<F>>,
    /// `deltas[i] = ∂L/∂acts[i]`.
    deltas: Vec<Mat<F>>,
    /// The scaled dropout mask of each dropout layer (empty for other layers).
    masks: Vec<Mat<F>>,
    /// Batch size of the last training forward (`None` before any, or after a failed one).
    batch: Option<usize>,
}

/// Where a training forward's dropout masks come from.
pub(crate) enum Masks<'a, R: Rng> {
    /// Draw fresh masks from the generator (training).
    Draw(&'a mut R),
    /// Use given scaled masks (entries 0 or `1/(1 − p)`), one per dropout layer in order, for
    /// gradient checks.
    Given(&'a [Mat<f64>]),
}

/// A multilayer perceptron: a [`Config`] and its layers, with reusable training buffers.
///
/// - [`Mlp::forward_train`] / [`Mlp::backward`]: the training pair (batch statistics, dropout),
///   caching what backward needs in buffers reused from step to step;
/// - [`Mlp::predict`], [`Mlp::evaluate`](crate::Mlp::evaluate): inference with `&self`
///   (running statistics, no dropout, no cache);
/// - [`Mlp::fit`](crate::Mlp::fit): the training loop (in [`crate::train`]).
#[derive(Debug, Clone)]
pub struct Mlp<F: Float> {
    config: Config,
    layers: Vec<Layer<F>>,
    /// Dotted names of each layer's parameters (`layers.0.weight`, …), built once so visiting
    /// parameters in the training step builds no strings.
    names: Vec<[String; 4]>,
    ws: Workspace<F>,
}

impl<F: Float> Mlp<F> {
    fn from_parts(config: Config, layers: Vec<Layer<F>>) -> Self {
        let names = (0..layers.len())
            .map(|i| {
                ["weight", "bias", "running_mean", "running_var"].map(|n| format!("layers.{i}.{n}"))
            })
            .collect();
        Mlp {
            config,
            layers,
            names,
            ws: Workspace::default(),
        }
    }

    /// The configuration the network was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Layer<F>] {
        &self.layers
    }

    /// The `k`-th linear layer (0 = first), to read or set weights.
    ///
    /// Changing a weight's *shape* breaks the network; set values only.
    pub fn linear_mut(&mut self, k: usize) -> Option<&mut Linear<F>> {
        self.layers
            .iter_mut()
            .filter_map(|l| match l {
                Layer::Linear(lin) => Some(lin),
                _ => None,
            })
            .nth(k)
    }

    /// The `k`-th batch-norm layer (0 = first), to read or set parameters and running statistics.
    pub fn batch_norm_mut(&mut self, k: usize) -> Option<&mut BatchNorm1d<F>> {
        self.layers
            .iter_mut()
            .filter_map(|l| match l {
                Layer::BatchNorm(bn) => Some(bn),
                _ => None,
            })
            .nth(k)
    }

    /// Number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                Layer::Linear(lin) => lin.weight.len() + lin.bias.as_ref().map_or(0, Param::len),
                Layer::BatchNorm(bn) => 2 * bn.features(),
                _ => 0,
            })
            .sum()
    }

    /// Number of dropout layers (the number of masks [`Mlp::forward_train_with_masks`] needs).
    pub fn dropout_layers(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, Layer::Dropout(_)))
            .count()
    }

    fn check_input(&self, x: &Mat<F>) -> Result<()> {
        if x.nrows() != self.config.inputs {
            return Err(Error::shape(
                "Mlp input (features x batch)",
                (self.config.inputs, x.ncols()),
                x.shape(),
            ));
        }
        if x.ncols() == 0 {
            return Err(Error::Data("Mlp input: empty batch".into()));
        }
        Ok(())
    }

    /// Inference (evaluation mode): running statistics for batch norm, no dropout, no cache.
    ///
    /// # Shapes
    /// `x`: `inputs x batch` → `outputs x batch` (logits for classification).
    ///
    /// # Errors
    /// If `x` does not have `inputs` rows or has no columns.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.check_input(x)?;
        let mut cur = x.clone();
        let mut next = Mat::zeros(0, 0);
        for layer in &self.layers {
            match layer {
                Layer::Linear(l) => l.predict_into(&cur, &mut next)?,
                Layer::BatchNorm(bn) => bn.predict_into(&cur, &mut next)?,
                Layer::Activation(a) => {
                    a.apply_in_place(&mut cur);
                    continue;
                }
                Layer::Dropout(_) => continue,
            }
            std::mem::swap(&mut cur, &mut next);
        }
        Ok(cur)
    }

    /// The predicted class of each column (arg-max of the logits).
    pub fn predict_classes(&self, x: &Mat<F>) -> Result<Vec<usize>> {
        Ok(optim::argmax_columns(&self.predict(x)?))
    }

    /// Training forward: batch statistics for batch norm (updating the running ones) and fresh
    /// dropout masks drawn from `rng`; keeps in reused buffers what [`Mlp::backward`] needs and
    /// returns the output (`outputs x batch`).
    ///
    /// # Errors
    /// Bad input shape, or a batch of one example with batch norm.
    pub fn forward_train<R: Rng>(&mut self, x: &Mat<F>, rng: &mut R) -> Result<&Mat<F>> {
        self.check_input(x)?;
        self.ensure_buffers();
        copy_into(&mut self.ws.acts[0], x);
        self.forward_cached::<R>(Masks::Draw(rng))
    }

    /// Training forward with given dropout masks (one per dropout layer, entries 0 or
    /// `1/(1 − p)`, shaped like that layer's input), for gradient checks and reference tests.
    pub fn forward_train_with_masks(&mut self, x: &Mat<F>, masks: &[Mat<f64>]) -> Result<&Mat<F>> {
        self.check_input(x)?;
        if masks.len() != self.dropout_layers() {
            return Err(Error::Data(format!(
                "forward_train_with_masks: {} masks for {} dropout layers",
                masks.len(),
                self.dropout_layers()
            )));
        }
        self.ensure_buffers();
        copy_into(&mut self.ws.acts[0], x);
        self.forward_cached::<rand::rngs::StdRng>(Masks::Given(masks))
    }

    fn ensure_buffers(&mut self) {
        let n = self.layers.len() + 1;
        if self.ws.acts.len() != n {
            self.ws.acts = vec![Mat::zeros(0, 0); n];
            self.ws.deltas = vec![Mat::zeros(0, 0); n];
            self.ws.masks = vec![Mat::zeros(0, 0); n];
        }
    }

    /// The input buffer of the training forward (the training loop gathers a batch straight
    /// into it).
    pub(crate) fn input_buffer(&mut self) -> &mut Mat<F> {
        self.ensure_buffers();
        &mut self.ws.acts[0]
    }

    /// Training forward from the batch already in `acts[0]`.
    pub(crate) fn forward_cached<R: Rng>(&mut self, mut masks: Masks<'_, R>) -> Result<&Mat<F>> {
        self.ws.batch = None;
        let batch = self.ws.acts[0].ncols();
        let mut dropout_index = 0;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let (head, tail) = self.ws.acts.split_at_mut(i + 1);
            let input = &head[i];
            let out = &mut tail[0];
            match layer {
                Layer::Linear(l) => l.predict_into(input, out)?,
                Layer::BatchNorm(bn) => bn.forward_train_into(input, out)?,
                Layer::Activation(a) => activate_into(*a, input, out),
                Layer::Dropout(p) => {
                    let mask = &mut self.ws.masks[i];
                    match &mut masks {
                        Masks::Draw(rng) => draw_mask(*p, input.nrows(), input.ncols(), mask, *rng),
                        Masks::Given(given) => {
                            let m = &given[dropout_index];
                            if m.shape() != input.shape() {
                                return Err(Error::shape(
                                    format!("dropout mask of layer {i}"),
                                    input.shape(),
                                    m.shape(),
                                ));
                            }
                            resize_buffer(mask, m.nrows(), m.ncols());
                            for (d, &s) in mask.iter_mut().zip(m.iter()) {
                                *d = F::of(s);
                            }
                        }
                    }
                    dropout_index += 1;
                    resize_buffer(out, input.nrows(), input.ncols());
                    for ((o, &v), &m) in out.iter_mut().zip(input.iter()).zip(mask.iter()) {
                        *o = v * m;
                    }
                }
            }
        }
        self.ws.batch = Some(batch);
        Ok(&self.ws.acts[self.layers.len()])
    }

    /// The output of the last training forward.
    pub fn output(&self) -> Option<&Mat<F>> {
        self.ws.batch.map(|_| &self.ws.acts[self.layers.len()])
    }

    /// Back-propagates `∂L/∂output` through the layers of the last training forward, *adding*
    /// every parameter's gradient into [`Param::grad`] (zero them first with
    /// [`optim::zero_grad`]). The first layer's input gradient is not computed.
    ///
    /// # Errors
    /// If there was no training forward, or `d_output` is not `outputs x batch`.
    pub fn backward(&mut self, d_output: &Mat<F>) -> Result<()> {
        self.prepare_backward(d_output)?;
        copy_into(self.ws.deltas.last_mut().expect("buffers exist"), d_output);
        self.backward_cached(false, true)
    }

    /// Like [`Mlp::backward`], and also returns `∂L/∂x` for the input of the last training
    /// forward (`inputs x batch`).
    pub fn backward_to_input(&mut self, d_output: &Mat<F>) -> Result<&Mat<F>> {
        self.prepare_backward(d_output)?;
        copy_into(self.ws.deltas.last_mut().expect("buffers exist"), d_output);
        self.backward_cached(true, true)?;
        Ok(&self.ws.deltas[0])
    }

    /// Backward taking ownership of the output gradient (the training loop hands over the loss
    /// gradient without copying it) and *overwriting* every parameter gradient, so the step
    /// needs no separate zero_grad pass.
    pub(crate) fn backward_owned(&mut self, d_output: Mat<F>) -> Result<()> {
        self.prepare_backward(&d_output)?;
        *self.ws.deltas.last_mut().expect("buffers exist") = d_output;
        self.backward_cached(false, false)
    }

    fn prepare_backward(&self, d_output: &Mat<F>) -> Result<()> {
        let Some(batch) = self.ws.batch else {
            return Err(Error::Data(
                "Mlp::backward: no training forward to back-propagate through".into(),
            ));
        };
        if d_output.shape() != (self.config.outputs, batch) {
            return Err(Error::shape(
                "Mlp backward ∂L/∂output",
                (self.config.outputs, batch),
                d_output.shape(),
            ));
        }
        Ok(())
    }

    /// `accumulate`: add into the parameter gradients (the public contract) or overwrite them.
    fn backward_cached(&mut self, input_grad: bool, accumulate: bool) -> Result<()> {
        let beta = if accumulate { F::one() } else { F::zero() };
        let ws = &mut self.ws;
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            let (lower, upper) = ws.deltas.split_at_mut(i + 1);
            let d_in = &mut lower[i];
            let d_out = &mut upper[0];
            match layer {
                Layer::Linear(l) => {
                    let x = &ws.acts[i];
                    // ∂L/∂W += dY Xᵀ ; ∂L/∂b += dY·1 (or = when overwriting)
                    gemm(F::one(), d_out, false, x, true, beta, &mut l.weight.grad);
                    if let Some(b) = &mut l.bias {
                        let rows = d_out.nrows();
                        let g = b.grad.as_mut_slice();
                        if !accumulate {
                            g.fill(F::zero());
                        }
                        for col in d_out.as_slice().chunks_exact(rows.max(1)) {
                            for (gi, &d) in g.iter_mut().zip(col) {
                                *gi += d;
                            }
                        }
                    }
                    // ∂L/∂X = Wᵀ dY, not needed below the first layer
                    if i > 0 || input_grad {
                        resize_buffer(d_in, l.inputs(), d_out.ncols());
                        gemm(
                            F::one(),
                            &l.weight.value,
                            true,
                            d_out,
                            false,
                            F::zero(),
                            d_in,
                        );
                    }
                }
                Layer::BatchNorm(bn) => bn.backward_impl(d_out, d_in, accumulate)?,
                Layer::Activation(a) => {
                    // element-wise: reuse the buffer in place, ∂L/∂z = ∂L/∂y ⊙ f'(z)
                    std::mem::swap(d_in, d_out);
                    activate_backward_in_place(*a, &ws.acts[i], &ws.acts[i + 1], d_in);
                }
                Layer::Dropout(_) => {
                    std::mem::swap(d_in, d_out);
                    for (d, &m) in d_in.iter_mut().zip(ws.masks[i].iter()) {
                        *d *= m;
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies every parameter and buffer value into `out` (reusing its matrices), for
    /// restore-best-weights.
    pub(crate) fn save_state(&mut self, out: &mut Vec<Mat<F>>) {
        let mut i = 0;
        let mut push = |m: &Mat<F>| {
            if i < out.len() {
                copy_into(&mut out[i], m);
            } else {
                out.push(m.clone());
            }
            i += 1;
        };
        self.visit_params(&mut |_, p| push(&p.value));
        self.visit_buffers(&mut |_, m| push(m));
    }

    /// Writes back values taken by [`Mlp::save_state`].
    pub(crate) fn load_state(&mut self, state: &[Mat<F>]) {
        let mut i = 0;
        self.visit_params(&mut |_, p| {
            p.value.copy_from(&state[i]);
            i += 1;
        });
        self.visit_buffers(&mut |_, m| {
            m.copy_from(&state[i]);
            i += 1;
        });
    }
}

impl<F: Float> Parameters<F> for Mlp<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (layer, names) in self.layers.iter_mut().zip(&self.names) {
            match layer {
                Layer::Linear(l) => {
                    visit(&names[0], &mut l.weight);
                    if let Some(b) = &mut l.bias {
                        visit(&names[1], b);
                    }
                }
                Layer::BatchNorm(bn) => {
                    visit(&names[0], &mut bn.weight);
                    visit(&names[1], &mut bn.bias);
                }
                _ => {}
            }
        }
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        for (layer, names) in self.layers.iter_mut().zip(&self.names) {
            if let Layer::BatchNorm(bn) = layer {
                visit(&names[2], &mut bn.running_mean);
                visit(&names[3], &mut bn.running_var);
            }
        }
    }
}

/// `y = f(z)` into `y` (resized if needed); ReLU has its own loop so it vectorizes.
fn activate_into<F: Float>(a: Activation, z: &Mat<F>, y: &mut Mat<F>) {
    resize_buffer(y, z.nrows(), z.ncols());
    let (zs, ys) = (z.as_slice(), y.as_mut_slice());
    match a {
        Activation::Identity => ys.copy_from_slice(zs),
        Activation::Relu => {
            let zero = F::zero();
            for (o, &v) in ys.iter_mut().zip(zs) {
                *o = if v > zero { v } else { zero };
            }
        }
        other => {
            for (o, &v) in ys.iter_mut().zip(zs) {
                *o = other.f(v);
            }
        }
    }
}

/// `d ← d ⊙ f'(z)` with `y = f(z)`.
fn activate_backward_in_place<F: Float>(a: Activation, z: &Mat<F>, y: &Mat<F>, d: &mut Mat<F>) {
    match a {
        Activation::Identity => {}
        Activation::Relu => {
            let zero = F::zero();
            // a select, not a conditional store, so the loop vectorizes
            for (g, &v) in d.as_mut_slice().iter_mut().zip(z.as_slice()) {
                *g = if v > zero { *g } else { zero };
            }
        }
        other => other.backward_in_place(z, y, d),
    }
}

/// Draws an inverted-dropout mask, as [`optim::Dropout::forward`] does: each entry is
/// `1/(1 − p)` with probability `1 − p`, else 0.
fn draw_mask<F: Float, R: Rng>(p: f64, rows: usize, cols: usize, mask: &mut Mat<F>, rng: &mut R) {
    resize_buffer(mask, rows, cols);
    let keep = 1.0 - p;
    let scale = F::of(1.0 / keep);
    for m in mask.iter_mut() {
        *m = if rng.random::<f64>() < keep {
            scale
        } else {
            F::zero()
        };
    }
}
