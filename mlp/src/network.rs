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
//!
//! ```
//! use mlp::Config;
//! use optim::Mat;
//! // |x| = relu(x) + relu(−x): a 1-2-1 ReLU network with hand-set weights
//! let mut model = Config::regressor(1, &[2], 1).init::<f64>(&mut optim::rng(0))?;
//! let first = model.linear_mut(0).unwrap();
//! first.weight.value = Mat::from_column_slice(2, 1, &[1.0, -1.0]);
//! first.bias.as_mut().unwrap().value.fill(0.0);
//! let top = model.linear_mut(1).unwrap();
//! top.weight.value = Mat::from_row_slice(1, 2, &[1.0, 1.0]);
//! top.bias.as_mut().unwrap().value.fill(0.0);
//! let x = Mat::from_row_slice(1, 3, &[-3.0, 0.5, 2.0]);
//! assert_eq!(model.predict(&x)?.as_slice(), &[3.0, 0.5, 2.0]);
//! // backward of ∂L/∂z = 1 per example: ∂L/∂W² = Σ_b relu(W¹x_b)ᵀ = [0.5 + 2, 3]
//! model.forward_train(&x, &mut optim::rng(0))?;
//! optim::zero_grad(&mut model);
//! model.backward(&Mat::from_element(1, 3, 1.0))?;
//! assert_eq!(model.linear_mut(1).unwrap().weight.grad.as_slice(), &[2.5, 3.0]);
//! // ∂L/∂W¹ = Σ_b W²·[W¹x_b > 0]·x_b per unit: [0.5 + 2, −3] (the second unit is on at x = −3)
//! assert_eq!(model.linear_mut(0).unwrap().weight.grad.as_slice(), &[2.5, -3.0]);
//! # Ok::<(), optim::Error>(())
//! ```

use optim::linalg::copy_into;
use optim::{
    Activation, BatchNorm, Dropout, Error, Float, GradMode, Init, Linear, LinearConfig, Mat, Param,
    Parameters, Result,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the network is trained to minimize; this also fixes what its output means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
/// // stored in checkpoints as one JSON entry
/// let json = serde_json::to_string(&config).unwrap();
/// assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        // the rules of optim's layers, which the network is built from
        Dropout::<f64>::new(self.dropout)?;
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
            BatchNorm::<f64>::new(1).with_options(self.batch_norm_momentum, self.batch_norm_eps)?;
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
            let linear = LinearConfig::new(width, h)
                .with_bias(!self.batch_norm)
                .with_init(self.init);
            layers.push(Layer::Linear(linear.init(rng)));
            if self.batch_norm {
                layers.push(Layer::BatchNorm(
                    BatchNorm::new(h)
                        .with_options(self.batch_norm_momentum, self.batch_norm_eps)?,
                ));
            }
            layers.push(Layer::Activation(self.activation));
            if self.dropout > 0.0 {
                layers.push(Layer::Dropout(Dropout::new(self.dropout)?));
            }
            width = h;
        }
        let top = LinearConfig::new(width, self.outputs).with_init(self.init);
        layers.push(Layer::Linear(top.init(rng)));
        Ok(Mlp::from_parts(self.clone(), layers))
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
    /// Batch normalization of each feature over the batch (optim's, per feature).
    BatchNorm(BatchNorm<F>),
    /// Element-wise `y = f(z)`.
    Activation(Activation),
    /// Inverted dropout in training (optim's, with its mask buffer); the identity in evaluation.
    Dropout(Dropout<F>),
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
    /// The labels of the last training batch (reused).
    labels: Vec<usize>,
    /// The regression targets of the last training batch (reused).
    targets: Mat<F>,
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
/// - [`Mlp::predict`], [`evaluate`](optim::Trainable::evaluate): inference with `&self`
///   (running statistics, no dropout, no cache);
/// - [`fit`](optim::Trainable::fit): optim's training loop, through the [`optim::Trainable`]
///   implementation in [`crate::train`].
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
    pub fn batch_norm_mut(&mut self, k: usize) -> Option<&mut BatchNorm<F>> {
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
                Layer::BatchNorm(bn) => 2 * bn.channels(),
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
                Layer::Activation(a) => a.apply_into(input, out),
                Layer::Dropout(d) => {
                    match &mut masks {
                        Masks::Draw(rng) => d.forward_into(input, out, *rng),
                        Masks::Given(given) => {
                            let m = &given[dropout_index];
                            if m.shape() != input.shape() {
                                return Err(Error::shape(
                                    format!("dropout mask of layer {i}"),
                                    input.shape(),
                                    m.shape(),
                                ));
                            }
                            *out = d.forward_with_mask(input, m.map(F::of))?;
                        }
                    }
                    dropout_index += 1;
                }
            }
        }
        self.ws.batch = Some(batch);
        Ok(&self.ws.acts[self.layers.len()])
    }

    /// The output of the last training forward with the reused buffers of a batch's labels
    /// and targets (borrowed apart, for the training step).
    pub(crate) fn output_and_target_buffers(&mut self) -> (&Mat<F>, &mut Vec<usize>, &mut Mat<F>) {
        let ws = &mut self.ws;
        (&ws.acts[self.layers.len()], &mut ws.labels, &mut ws.targets)
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
        self.backward_cached(false)
    }

    /// Like [`Mlp::backward`], and also returns `∂L/∂x` for the input of the last training
    /// forward (`inputs x batch`).
    pub fn backward_to_input(&mut self, d_output: &Mat<F>) -> Result<&Mat<F>> {
        self.prepare_backward(d_output)?;
        copy_into(self.ws.deltas.last_mut().expect("buffers exist"), d_output);
        self.backward_cached(true)?;
        Ok(&self.ws.deltas[0])
    }

    /// Backward taking ownership of the output gradient (the training step hands over the
    /// loss gradient without copying it: it becomes the top buffer), *adding* into the
    /// parameter gradients as [`Mlp::backward`] does.
    /// With [`GradMode::Overwrite`] the linear layers' gradients are assigned instead
    /// (the training step's mode when every parameter is a linear layer's: see
    /// [`Mlp::overwrites_all_gradients`]).
    pub(crate) fn backward_owned(&mut self, d_output: Mat<F>, mode: GradMode) -> Result<()> {
        self.prepare_backward(&d_output)?;
        *self.ws.deltas.last_mut().expect("buffers exist") = d_output;
        self.backward_cached_mode(false, mode)
    }

    /// Whether one backward in [`GradMode::Overwrite`] writes every parameter gradient: true
    /// unless the network has batch normalization (whose backward adds into its gradients).
    pub(crate) fn overwrites_all_gradients(&self) -> bool {
        !self.layers.iter().any(|l| matches!(l, Layer::BatchNorm(_)))
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

    /// Back-propagates `deltas[last]` down the layers, each through optim's own backward; the
    /// first layer's input gradient only if `input_grad`.
    fn backward_cached(&mut self, input_grad: bool) -> Result<()> {
        self.backward_cached_mode(input_grad, GradMode::Accumulate)
    }

    /// [`Mlp::backward_cached`] with the linear layers' gradients written as `mode` says.
    fn backward_cached_mode(&mut self, input_grad: bool, mode: GradMode) -> Result<()> {
        let Workspace { acts, deltas, .. } = &mut self.ws;
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            let (lower, upper) = deltas.split_at_mut(i + 1);
            let d_in = &mut lower[i];
            let d_out = &mut upper[0];
            match layer {
                // ∂L/∂W += dY Xᵀ, ∂L/∂b += dY·1, ∂L/∂X = Wᵀ dY (not needed below the first
                // layer); the input X is this network's own activation buffer
                Layer::Linear(l) => {
                    let dx = (i > 0 || input_grad).then_some(d_in);
                    l.backward_with_input_mode(mode, &acts[i], d_out, dx)?;
                }
                Layer::BatchNorm(bn) => bn.backward_into(d_out, Some(d_in))?,
                // element-wise: reuse the buffer in place, ∂L/∂z = ∂L/∂y ⊙ f'(z)
                Layer::Activation(a) => {
                    std::mem::swap(d_in, d_out);
                    a.backward_in_place(&acts[i], &acts[i + 1], d_in);
                }
                Layer::Dropout(d) => {
                    std::mem::swap(d_in, d_out);
                    d.backward_in_place(d_in)?;
                }
            }
        }
        Ok(())
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
