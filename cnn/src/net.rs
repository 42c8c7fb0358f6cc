//! A sequential CNN ([`Cnn`]), its builder, the classic models ([`Cnn::lenet5`],
//! [`Cnn::digits`]), classification training with any [`optim::Optimizer`], evaluation and
//! checkpoints.
//!
//! A training step is the workspace's: forward (training mode), soft-max cross-entropy and its
//! gradient, zero_grad, backward, optimizer step. Parameter names are those of PyTorch's
//! `nn.Sequential` holding the same layers (`0.weight`, `0.bias`, `3.weight`, ...), so a
//! checkpoint loads into the equivalent PyTorch module.

use crate::{
    AvgPool2d, BatchNorm2d, Conv2d, Conv2dConfig, Dense, Dropout, Flatten, GlobalAvgPool,
    ImageShape, Layer, MaxPool2d, Mode, Nonlinearity, ResidualBlock,
};
use optim::data::{Dataset, batches, select_columns_into};
use optim::{
    Activation, Error, Float, Mat, Optimizer, Param, Parameters, Result, loss, visit_child,
    visit_child_buffers, zero_grad,
};
use rand::Rng;
use std::collections::HashMap;
use std::path::Path;

/// Adam's learning rate of the reported optdigits run of [`Cnn::digits`].
pub const DIGITS_LR: f64 = 2e-3;
/// Adam's learning rate of the reported MNIST run of [`Cnn::lenet5`].
pub const LENET_LR: f64 = 3e-3;

/// The training settings of the reported optdigits run of [`Cnn::digits`] on `n` training
/// images (`examples/digits.rs`): 15 epochs (or `epochs`) of batch 32, the learning rate
/// decaying to 0 along a cosine over all steps.
pub fn digits_config(n: usize, epochs: Option<usize>) -> TrainConfig {
    cosine_config(n, epochs.unwrap_or(15), 32)
}

/// The training settings of the reported MNIST run of [`Cnn::lenet5`] on `n` training images:
/// 10 epochs (or `epochs`) of batch 32, the learning rate decaying to 0 along a cosine.
pub fn lenet_config(n: usize, epochs: Option<usize>) -> TrainConfig {
    cosine_config(n, epochs.unwrap_or(10), 32)
}

/// `epochs` epochs of mini-batches of `batch_size` over `n` images, seed 2, the learning rate
/// decaying from the optimizer's to 0 along a cosine over all steps.
pub fn cosine_config(n: usize, epochs: usize, batch_size: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size,
        seed: 2,
        label_smoothing: 0.0,
        schedule: optim::Schedule::CosineWarmup {
            warmup: 0,
            total: epochs * n.div_ceil(batch_size),
            min_lr: 0.0,
        },
    }
}

/// A sequential convolutional network: layers applied one after the other to a batch of images
/// (one column per image), ending in class scores (logits).
///
/// # Shapes
/// Input `(C·H·W) x B` for the `input_shape()` given to the builder, output `classes x B`.
#[derive(Debug)]
pub struct Cnn<F: Float> {
    input: ImageShape,
    layers: Vec<Box<dyn Layer<F>>>,
    names: Vec<String>,
    batch_x: Mat<F>,
}

/// Builds a [`Cnn`] layer by layer, tracking the image shape so every layer is checked against
/// its input when it is added.
///
/// ```
/// use cnn::{Cnn, ImageShape};
/// let mut rng = optim::rng(0);
/// let net = Cnn::<f32>::builder(ImageShape::new(1, 8, 8))
///     .conv(4, 3, 1, 1, &mut rng).unwrap() // 4 x 8 x 8
///     .relu()
///     .max_pool(2, 2).unwrap()             // 4 x 4 x 4
///     .flatten()                           // 64
///     .dense(10, &mut rng).unwrap()
///     .build();
/// assert_eq!(net.output_shape(), cnn::ImageShape::flat(10));
/// ```
#[derive(Debug)]
pub struct CnnBuilder<F: Float> {
    input: ImageShape,
    shape: ImageShape,
    layers: Vec<Box<dyn Layer<F>>>,
    dropout_seed: u64,
}

impl<F: Float> CnnBuilder<F> {
    /// Appends any layer whose input shape is the current shape.
    ///
    /// # Errors
    /// If the layer expects another input shape (expected vs actual `C x H x W`).
    pub fn push(mut self, layer: Box<dyn Layer<F>>) -> Result<Self> {
        if layer.input_shape() != self.shape {
            return Err(Error::Shape {
                context: format!("adding {} as layer {}", layer.kind(), self.layers.len()),
                expected: layer.input_shape().to_string(),
                got: self.shape.to_string(),
            });
        }
        self.shape = layer.output_shape();
        self.layers.push(layer);
        Ok(self)
    }

    /// The shape after the layers so far.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// A square convolution to `out_channels` with kernel `kernel`, stride `stride` and zero
    /// padding `padding` (with bias); see [`CnnBuilder::conv_with`] for the rest.
    ///
    /// # Errors
    /// See [`Conv2dConfig::output_shape`].
    pub fn conv(
        self,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let config = Conv2dConfig::new(self.shape.channels, out_channels, kernel)
            .stride(stride)
            .padding(padding);
        self.conv_with(config, rng)
    }

    /// A convolution with a full configuration (its `in_channels` must be the current channels).
    ///
    /// # Errors
    /// See [`Conv2dConfig::output_shape`].
    pub fn conv_with(self, config: Conv2dConfig, rng: &mut impl Rng) -> Result<Self> {
        let layer = Conv2d::new(config, self.shape, rng)?;
        self.push(Box::new(layer))
    }

    /// An element-wise activation.
    pub fn activation(self, activation: Activation) -> Self {
        let layer = Nonlinearity::new(activation, self.shape);
        self.push(Box::new(layer)).expect("same shape")
    }

    /// ReLU.
    pub fn relu(self) -> Self {
        self.activation(Activation::Relu)
    }

    /// Max pooling with a square `kernel` and `stride`, no padding.
    ///
    /// # Errors
    /// See [`MaxPool2d::new`].
    pub fn max_pool(self, kernel: usize, stride: usize) -> Result<Self> {
        let layer = MaxPool2d::new(self.shape, (kernel, kernel), (stride, stride), (0, 0))?;
        self.push(Box::new(layer))
    }

    /// Average pooling with a square `kernel` and `stride`, no padding.
    ///
    /// # Errors
    /// See [`AvgPool2d::new`].
    pub fn avg_pool(self, kernel: usize, stride: usize) -> Result<Self> {
        let layer = AvgPool2d::new(self.shape, (kernel, kernel), (stride, stride), (0, 0))?;
        self.push(Box::new(layer))
    }

    /// Global average pooling (`C x H x W → C`).
    ///
    /// # Errors
    /// If the current shape has no pixels.
    pub fn global_avg_pool(self) -> Result<Self> {
        let layer = GlobalAvgPool::new(self.shape)?;
        self.push(Box::new(layer))
    }

    /// Batch normalization over the current channels.
    ///
    /// # Errors
    /// If there are no channels.
    pub fn batch_norm(self) -> Result<Self> {
        let layer = BatchNorm2d::new(self.shape)?;
        self.push(Box::new(layer))
    }

    /// Dropout with drop probability `p` (each dropout layer gets its own seed, derived from its
    /// position, so training is reproducible).
    ///
    /// # Errors
    /// If `p` is outside `[0, 1)`.
    pub fn dropout(mut self, p: f64) -> Result<Self> {
        self.dropout_seed += 1;
        let seed = self.dropout_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.layers.len() as u64;
        let layer = Dropout::new(p, self.shape, seed)?;
        self.push(Box::new(layer))
    }

    /// A residual block to `out_channels` with the given stride.
    ///
    /// # Errors
    /// Zero channels or stride.
    pub fn residual(self, out_channels: usize, stride: usize, rng: &mut impl Rng) -> Result<Self> {
        let layer = ResidualBlock::new(self.shape, out_channels, stride, rng)?;
        self.push(Box::new(layer))
    }

    /// Flattens images into feature vectors (changes the shape only).
    pub fn flatten(self) -> Self {
        let layer = Flatten::new(self.shape);
        self.push(Box::new(layer)).expect("same shape")
    }

    /// A fully connected layer from all current values to `outputs`.
    ///
    /// # Errors
    /// If `outputs` is zero.
    pub fn dense(self, outputs: usize, rng: &mut impl Rng) -> Result<Self> {
        let layer = Dense::new(self.shape, outputs, rng)?;
        self.push(Box::new(layer))
    }

    /// The network.
    pub fn build(self) -> Cnn<F> {
        let names = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, _)| i.to_string())
            .collect();
        Cnn {
            input: self.input,
            layers: self.layers,
            names,
            batch_x: Mat::zeros(0, 0),
        }
    }
}

/// Settings of [`Cnn::train`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set (default 10).
    pub epochs: usize,
    /// Examples per mini-batch (default 64).
    pub batch_size: usize,
    /// Seed of the shuffling (default 0).
    pub seed: u64,
    /// Label smoothing `ε` of the cross-entropy (default 0).
    pub label_smoothing: f64,
    /// Learning-rate schedule over steps, applied to the optimizer's initial rate (default:
    /// constant).
    pub schedule: optim::Schedule,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            label_smoothing: 0.0,
            schedule: optim::Schedule::Constant,
        }
    }
}

/// What the progress callback receives after every training step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Step within the epoch, from 0.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// Mini-batch loss of this step.
    pub loss: f64,
    /// Mini-batch accuracy of this step.
    pub accuracy: f64,
    /// Learning rate used for this step.
    pub learning_rate: f64,
}

/// Loss and accuracy of a model on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean soft-max cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
}

/// One epoch of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps (training mode, as the steps saw it).
    pub train_loss: f64,
    /// Training accuracy over the epoch's steps.
    pub train_accuracy: f64,
    /// Evaluation on the validation set after the epoch, if one was given.
    pub validation: Option<Evaluation>,
    /// Wall time of the epoch in seconds (training steps only).
    pub seconds: f64,
}

/// The record of a training run, one entry per epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Per-epoch statistics.
    pub epochs: Vec<EpochStats>,
}

impl<F: Float> Cnn<F> {
    /// Starts a network for images of shape `input`.
    pub fn builder(input: ImageShape) -> CnnBuilder<F> {
        CnnBuilder {
            input,
            shape: input,
            layers: Vec::new(),
            dropout_seed: 0,
        }
    }

    /// LeNet-5 for `1 x 28 x 28` images, in its modern form (as in d2l.ai and most PyTorch
    /// tutorials): 5x5 convolutions with ReLU and 2x2 max pooling; the first convolution pads by
    /// 2, so the 28x28 digit plays the role of LeCun's 32x32 frame.
    ///
    /// ```text
    /// 1x28x28 → conv5x5(6, pad 2) → ReLU → maxpool 2 → 6x14x14
    ///         → conv5x5(16)       → ReLU → maxpool 2 → 16x5x5 → flatten 400
    ///         → dense 120 → ReLU → dense 84 → ReLU → dense 10
    /// ```
    ///
    /// 61 706 parameters, named `0.*`, `3.*` (convolutions) and `7.*`, `9.*`, `11.*` (dense),
    /// as in the equivalent PyTorch `nn.Sequential`.
    pub fn lenet5(rng: &mut impl Rng) -> Self {
        Self::builder(ImageShape::new(1, 28, 28))
            .conv(6, 5, 1, 2, rng)
            .and_then(|b| b.relu().max_pool(2, 2))
            .and_then(|b| b.conv(16, 5, 1, 0, rng))
            .and_then(|b| b.relu().max_pool(2, 2))
            .and_then(|b| b.flatten().dense(120, rng))
            .and_then(|b| b.relu().dense(84, rng))
            .and_then(|b| b.relu().dense(10, rng))
            .expect("LeNet-5's shapes fit 28x28")
            .build()
    }

    /// A small CNN for the `1 x 8 x 8` digits of optdigits:
    ///
    /// ```text
    /// 1x8x8 → conv3x3(16, pad 1) → ReLU → conv3x3(32, pad 1) → ReLU → maxpool 2 → 32x4x4
    ///       → flatten 512 → dropout 0.25 → dense 64 → ReLU → dense 10
    /// ```
    ///
    /// 38 282 parameters.
    pub fn digits(rng: &mut impl Rng) -> Self {
        Self::builder(ImageShape::new(1, 8, 8))
            .conv(16, 3, 1, 1, rng)
            .and_then(|b| b.relu().conv(32, 3, 1, 1, rng))
            .and_then(|b| b.relu().max_pool(2, 2))
            .and_then(|b| b.flatten().dropout(0.25))
            .and_then(|b| b.dense(64, rng))
            .and_then(|b| b.relu().dense(10, rng))
            .expect("the digit CNN's shapes fit 8x8")
            .build()
    }

    /// The shape of one input image.
    pub fn input_shape(&self) -> ImageShape {
        self.input
    }

    /// The shape of one output (`classes x 1 x 1` for a classifier).
    pub fn output_shape(&self) -> ImageShape {
        self.layers.last().map_or(self.input, |l| l.output_shape())
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<F>>] {
        &self.layers
    }

    /// The layers, mutably (e.g. to set weights).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<F>>] {
        &mut self.layers
    }

    /// A one-line-per-layer description: index, kind, input and output shapes, parameters.
    pub fn summary(&mut self) -> String {
        let mut out = String::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let params = optim::param_count(layer.as_mut());
            out.push_str(&format!(
                "{i:>3} {:<16} {:>14} -> {:<14} {params:>8} parameters\n",
                layer.kind(),
                layer.input_shape().to_string(),
                layer.output_shape().to_string(),
            ));
        }
        out
    }

    /// The convolution layers with their names (`"0"`, `"3"`, ...), to read out filters for
    /// plotting with [`Conv2d::filter`].
    pub fn conv_layers(&self) -> Vec<(&str, &Conv2d<F>)> {
        self.layers
            .iter()
            .zip(&self.names)
            .filter_map(|(l, n)| l.as_conv().map(|c| (n.as_str(), c)))
            .collect()
    }

    /// Forward pass with caches, returning the logits (`classes x B`).
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    pub fn forward<'a>(&'a mut self, x: &'a Mat<F>, mode: Mode) -> Result<&'a Mat<F>> {
        let mut current = x;
        for layer in self.layers.iter_mut() {
            current = layer.forward(current, mode)?;
        }
        Ok(current)
    }

    /// Backward pass from `∂L/∂logits`, adding every parameter's gradient; the input gradient is
    /// not computed.
    ///
    /// # Errors
    /// If `dlogits` does not have the shape of the last output.
    pub fn backward(&mut self, dlogits: &Mat<F>) -> Result<()> {
        self.backward_to_input(dlogits, false).map(|_| ())
    }

    /// Backward pass returning `∂L/∂x` as well (for gradient checks and saliency maps).
    ///
    /// # Errors
    /// If `dlogits` does not have the shape of the last output.
    pub fn backward_input(&mut self, dlogits: &Mat<F>) -> Result<Mat<F>> {
        self.backward_to_input(dlogits, true)
    }

    fn backward_to_input(&mut self, dlogits: &Mat<F>, need_input: bool) -> Result<Mat<F>> {
        let mut current = dlogits;
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            current = layer.backward(current, need_input || i > 0)?;
        }
        Ok(if need_input {
            current.clone()
        } else {
            Mat::zeros(0, 0)
        })
    }

    /// Logits for a batch, in evaluation mode, without caches (`&self`).
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.input.check("Cnn input", x)?;
        let mut current = x.clone();
        for layer in &self.layers {
            current = layer.predict(&current)?;
        }
        Ok(current)
    }

    /// Every layer's output for a batch, in evaluation mode (feature maps for plotting):
    /// `activations(x)[i]` is the output of layer `i`, `(C_i·H_i·W_i) x B`.
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    pub fn activations(&self, x: &Mat<F>) -> Result<Vec<Mat<F>>> {
        self.input.check("Cnn input", x)?;
        let mut out: Vec<Mat<F>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let y = layer.predict(out.last().unwrap_or(x))?;
            out.push(y);
        }
        Ok(out)
    }

    /// The predicted class of each image.
    ///
    /// # Errors
    /// If `x` is not a batch of `input_shape()` images.
    pub fn classify(&self, x: &Mat<F>) -> Result<Vec<usize>> {
        let mut classes = Vec::with_capacity(x.ncols());
        self.for_chunks(x, |logits| {
            classes.extend(optim::argmax_columns(logits));
            Ok(())
        })?;
        Ok(classes)
    }

    /// Runs `predict` on chunks of at most 256 images (bounded memory for large sets).
    fn for_chunks(&self, x: &Mat<F>, mut f: impl FnMut(&Mat<F>) -> Result<()>) -> Result<()> {
        self.input.check("Cnn input", x)?;
        const CHUNK: usize = 256;
        let mut start = 0;
        while start < x.ncols() {
            let end = (start + CHUNK).min(x.ncols());
            let chunk = x.columns(start, end - start).into_owned();
            f(&self.predict(&chunk)?)?;
            start = end;
        }
        Ok(())
    }

    /// Mean cross-entropy and accuracy on a data set, in evaluation mode (`&self`).
    ///
    /// # Errors
    /// Wrong image shape, labels out of range, an empty data set.
    pub fn evaluate(&self, data: &Dataset<F>) -> Result<Evaluation> {
        if data.is_empty() {
            return Err(Error::Data("evaluate: empty data set".into()));
        }
        let mut loss_sum = 0.0;
        let mut correct = 0usize;
        let mut start = 0;
        self.for_chunks(&data.x, |logits| {
            let labels = &data.labels[start..start + logits.ncols()];
            let (l, _) = loss::softmax_cross_entropy(logits, labels, 0.0)?;
            loss_sum += l.to_f64() * labels.len() as f64;
            correct += optim::argmax_columns(logits)
                .iter()
                .zip(labels)
                .filter(|(p, l)| p == l)
                .count();
            start += logits.ncols();
            Ok(())
        })?;
        let n = data.len() as f64;
        Ok(Evaluation {
            loss: loss_sum / n,
            accuracy: correct as f64 / n,
        })
    }

    /// One training step on a batch: forward (training mode), cross-entropy, zero_grad,
    /// backward, optimizer step. Returns `(loss, accuracy)` of the batch.
    ///
    /// # Errors
    /// Wrong shapes or labels, or a non-finite loss.
    pub fn train_step(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
        optimizer: &mut dyn Optimizer<F>,
        label_smoothing: f64,
    ) -> Result<(f64, f64)> {
        let logits = self.forward(x, Mode::Train)?;
        let accuracy = loss::accuracy(logits, labels);
        let (l, dlogits) = loss::softmax_cross_entropy(logits, labels, label_smoothing)?;
        if !l.finite() {
            return Err(Error::NonFinite {
                context: "training loss".into(),
            });
        }
        zero_grad(self);
        self.backward(&dlogits)?;
        optimizer.step(self)?;
        Ok((l.to_f64(), accuracy))
    }

    /// Trains on `train` with mini-batches, calling `progress` after every step; evaluates on
    /// `validation` (if given) after every epoch.
    ///
    /// # Errors
    /// Wrong image shape or labels, an empty training set, a zero batch size or epoch count, or a
    /// loss that turns non-finite (the error names the epoch and step).
    pub fn train(
        &mut self,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        optimizer: &mut dyn Optimizer<F>,
        config: &TrainConfig,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<History> {
        crate::check_nonzero("epochs", config.epochs)?;
        crate::check_nonzero("batch_size", config.batch_size)?;
        if train.is_empty() {
            return Err(Error::Data("train: empty training set".into()));
        }
        self.input.check("training data", &train.x)?;
        if let Some(v) = validation {
            self.input.check("validation data", &v.x)?;
        }
        let mut rng = optim::rng(config.seed);
        let base_lr = optimizer.learning_rate();
        let steps = train.len().div_ceil(config.batch_size);
        let mut history = History::default();
        let mut labels = Vec::with_capacity(config.batch_size);
        let mut batch_x = std::mem::take(&mut self.batch_x);
        let mut global_step = 0;
        for epoch in 0..config.epochs {
            let start = std::time::Instant::now();
            let (mut loss_sum, mut acc_sum, mut count) = (0.0, 0.0, 0usize);
            for (step, idx) in batches(train.len(), config.batch_size, Some(&mut rng)).enumerate() {
                let lr = config.schedule.lr(base_lr, global_step);
                optimizer.set_learning_rate(lr);
                select_columns_into(&train.x, &idx, &mut batch_x);
                labels.clear();
                labels.extend(idx.iter().map(|&i| train.labels[i]));
                let (l, a) = self
                    .train_step(&batch_x, &labels, optimizer, config.label_smoothing)
                    .map_err(|e| match e {
                        Error::NonFinite { context } => Error::NonFinite {
                            context: format!("{context} at epoch {epoch}, step {step}"),
                        },
                        other => other,
                    })?;
                loss_sum += l * idx.len() as f64;
                acc_sum += a * idx.len() as f64;
                count += idx.len();
                global_step += 1;
                progress(&Progress {
                    epoch,
                    epochs: config.epochs,
                    step,
                    steps,
                    loss: l,
                    accuracy: a,
                    learning_rate: lr,
                });
            }
            let seconds = start.elapsed().as_secs_f64();
            let validation = validation.map(|v| self.evaluate(v)).transpose()?;
            history.epochs.push(EpochStats {
                epoch,
                train_loss: loss_sum / count as f64,
                train_accuracy: acc_sum / count as f64,
                validation,
                seconds,
            });
        }
        self.batch_x = batch_x;
        Ok(history)
    }

    /// Re-seeds every dropout layer (layer `i` gets `seed + i`), e.g. to fix masks in gradient
    /// checks.
    pub fn reseed(&mut self, seed: u64) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.reseed(seed.wrapping_add(i as u64));
        }
    }

    /// Saves parameters and batch-norm statistics by name (safetensors, atomic), with metadata.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&mut self, path: impl AsRef<Path>, metadata: &[(&str, String)]) -> Result<()> {
        let mut meta: Vec<(&str, String)> = metadata.to_vec();
        meta.push(("input_shape", self.input.to_string()));
        optim::checkpoint::save(path, self, &meta)
    }

    /// Loads parameters saved by [`Cnn::save`] into this network (same architecture); returns
    /// the metadata. On error the network is unchanged.
    ///
    /// # Errors
    /// I/O errors, or a checkpoint whose names or shapes differ.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<HashMap<String, String>> {
        optim::checkpoint::load(path, self)
    }
}

impl<F: Float> Parameters<F> for Cnn<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (layer, name) in self.layers.iter_mut().zip(&self.names) {
            visit_child(name, layer.as_mut(), visit);
        }
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        for (layer, name) in self.layers.iter_mut().zip(&self.names) {
            visit_child_buffers(name, layer.as_mut(), visit);
        }
    }
}
