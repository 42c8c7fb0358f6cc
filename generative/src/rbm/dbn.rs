//! Deep belief networks (Hinton, Osindero & Teh 2006): RBMs stacked and trained greedily, layer
//! by layer, each on the hidden probabilities of the one below; sampled ancestrally; and turned
//! into a feedforward classifier that backpropagation fine-tunes through optim's `fit`.
//!
//! ```text
//! pretraining:  x⁰ = data;  RBMₗ ← CD-k on xˡ⁻¹;  xˡ = p(hˡ | xˡ⁻¹) = σ(Wₗ xˡ⁻¹ + cₗ)
//! sampling:     Gibbs in the top RBM, then down: xˡ⁻¹ ~ p(xˡ⁻¹ | xˡ) = σ(Wₗᵀ xˡ + bₗ)
//! classifier:   aˡ = σ(Wₗ aˡ⁻¹ + cₗ) (weights from the RBMs), logits = V aᴸ + d, soft-max CE
//! backward:     δᴸ⁺¹ = (softmax − onehot)/B;  δˡ = (Wₗ₊₁ᵀ δˡ⁺¹) ⊙ aˡ(1 − aˡ)
//! ```

use super::error::{RbmError, Result};
use super::model::{Rbm, RbmConfig, sample_bernoulli_into};
use super::train::CdConfig;
use optim::data::{Dataset, select_columns};
use optim::train::{BatchLoss, Evaluation, History, Progress, Trainable};
use optim::{Float, Linear, Mat, Param, Parameters, loss, visit_child};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The architecture of a [`Dbn`]: visible width and hidden widths, bottom to top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbnConfig {
    /// Visible units (Bernoulli).
    pub visible: usize,
    /// Hidden units of each RBM, bottom first.
    pub hidden: Vec<usize>,
}

impl DbnConfig {
    fn rbm_configs(&self) -> Vec<RbmConfig> {
        let mut below = self.visible;
        self.hidden
            .iter()
            .map(|&h| {
                let c = RbmConfig::new(below, h);
                below = h;
                c
            })
            .collect()
    }

    /// Total parameters, with checked arithmetic.
    pub fn parameter_count(&self) -> Option<usize> {
        self.rbm_configs()
            .iter()
            .try_fold(0usize, |acc, c| acc.checked_add(c.parameter_count()?))
    }

    /// Checks that there is at least one layer and that no layer is empty.
    ///
    /// # Errors
    /// [`RbmError::ZeroUnits`], [`RbmError::Setting`].
    pub fn validate(&self) -> Result<()> {
        if self.hidden.is_empty() {
            return Err(super::error::setting(
                "hidden",
                "[]",
                "a DBN needs at least one RBM",
            ));
        }
        if self.visible == 0 {
            return Err(RbmError::ZeroUnits {
                layer: "visible".into(),
            });
        }
        for (l, &h) in self.hidden.iter().enumerate() {
            if h == 0 {
                return Err(RbmError::ZeroUnits {
                    layer: format!("DBN hidden layer {}", l + 1),
                });
            }
        }
        if self.parameter_count().is_none() {
            return Err(super::error::setting(
                "hidden",
                format!("{:?}", self.hidden),
                "the parameter count overflows",
            ));
        }
        Ok(())
    }
}

/// A stack of Bernoulli RBMs.
#[derive(Debug, Clone)]
pub struct Dbn<F: Float> {
    /// The RBMs, bottom (data) first.
    pub layers: Vec<Rbm<F>>,
}

impl<F: Float> Parameters<F> for Dbn<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            visit_child(&format!("layers.{i}"), l, visit);
        }
    }
}

impl<F: Float> Dbn<F> {
    /// An untrained DBN (each RBM as [`Rbm::new`]).
    ///
    /// # Errors
    /// As [`DbnConfig::validate`].
    pub fn new(config: &DbnConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let layers = config
            .rbm_configs()
            .into_iter()
            .map(|c| Rbm::new(c, rng))
            .collect::<Result<_>>()?;
        Ok(Dbn { layers })
    }

    /// The architecture.
    pub fn config(&self) -> DbnConfig {
        DbnConfig {
            visible: self.layers[0].visible(),
            hidden: self.layers.iter().map(|l| l.hidden()).collect(),
        }
    }

    /// Greedy layer-wise pretraining: each RBM by `cd` on the hidden probabilities of the one
    /// below (the bottom one's visible biases from the data, as the guide says).
    /// `on_progress(layer, progress)` reports each layer's batches and epochs (layer from 0).
    ///
    /// # Errors
    /// As [`Rbm::train_cd`].
    pub fn pretrain(
        &mut self,
        data: &Mat<F>,
        cd: &CdConfig,
        on_progress: &mut dyn FnMut(usize, Progress<'_>),
    ) -> Result<Vec<History>> {
        let mut x = data.clone();
        let mut histories = Vec::new();
        for (l, rbm) in self.layers.iter_mut().enumerate() {
            rbm.init_visible_bias(&x)?;
            let config = CdConfig {
                seed: cd.seed.wrapping_add(l as u64),
                ..cd.clone()
            };
            histories.push(rbm.train_cd(&x, None, &config, &mut |p| on_progress(l, p))?);
            x = rbm.hidden_probs(&x)?;
        }
        Ok(histories)
    }

    /// Ancestral samples: `gibbs_steps` rounds of Gibbs sampling in the top RBM from random
    /// states, then one top-down pass `xˡ⁻¹ ~ p(xˡ⁻¹ | xˡ)`; returns the visible means.
    ///
    /// # Errors
    /// None in practice.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        gibbs_steps: usize,
        rng: &mut R,
    ) -> Result<Mat<F>> {
        let top = self.layers.last().expect("a DBN has layers");
        let (top_means, mut x) = top.sample(n, gibbs_steps, rng)?;
        let mut means = top_means;
        for rbm in self.layers.iter().rev().skip(1) {
            means = rbm.visible_means(&x)?;
            let mut s = means.clone();
            sample_bernoulli_into(&means, &mut s, rng);
            x = s;
        }
        Ok(means)
    }

    /// The feedforward classifier with the pretrained weights (`Wₗ`, `cₗ`) and a new soft-max
    /// output layer of `classes` units (PyTorch's default initialization).
    pub fn to_classifier(&self, classes: usize, rng: &mut impl Rng) -> Classifier<F> {
        let mut layers: Vec<Linear<F>> = self
            .layers
            .iter()
            .map(|r| {
                Linear::from_weights(r.weight.value.clone(), Some(r.hidden_bias.value.clone()))
            })
            .collect();
        let top = self.layers.last().expect("a DBN has layers").hidden();
        layers.push(Linear::new(top, classes, rng));
        Classifier::from_layers(layers)
    }

    /// The notes' claim about pretraining, measured: [`Dbn::to_classifier`] fine-tuned on
    /// `train`, and the same network ([`Classifier::new`] with the DBN's widths) from random
    /// initialization, trained identically (Adam at `learning_rate`, `config`); both output
    /// layers drawn from a generator seeded with `init_seed`. Returns `(fine-tuned, random)`.
    ///
    /// # Errors
    /// As optim's `fit` (a learning rate that is not positive, data that does not fit).
    pub fn fine_tune_against_random(
        &self,
        classes: usize,
        train: &Dataset<F>,
        config: &optim::TrainConfig,
        learning_rate: f64,
        init_seed: u64,
    ) -> optim::Result<(Classifier<F>, Classifier<F>)> {
        let dbn = self.config();
        let widths: Vec<usize> = std::iter::once(dbn.visible)
            .chain(dbn.hidden)
            .chain(std::iter::once(classes))
            .collect();
        let mut fine_tuned = self.to_classifier(classes, &mut optim::rng(init_seed));
        let mut random = Classifier::new(&widths, &mut optim::rng(init_seed));
        for net in [&mut fine_tuned, &mut random] {
            net.fit(
                train,
                None,
                &mut optim::Adam::new(learning_rate)?,
                config,
                &mut |_| {},
            )?;
        }
        Ok((fine_tuned, random))
    }
}

impl<F: Float> optim::checkpoint::Saveable<F> for Dbn<F> {
    const KIND: &'static str = "dbn";
    type Config = DbnConfig;
    fn config(&self) -> DbnConfig {
        Dbn::config(self)
    }
    fn parameter_count(config: &DbnConfig) -> Option<usize> {
        config.parameter_count()
    }
    fn from_config(config: &DbnConfig) -> optim::Result<Self> {
        config.validate()?;
        let layers = config
            .rbm_configs()
            .into_iter()
            .map(Rbm::zeros)
            .collect::<Result<_>>()?;
        Ok(Dbn { layers })
    }
}

/// A sigmoid feedforward classifier (soft-max output) built from optim's [`Linear`] layers:
/// a fine-tuned DBN, the same network from random initialization, or, with no hidden layer,
/// multinomial logistic regression.
#[derive(Debug, Clone)]
pub struct Classifier<F: Float> {
    /// The affine layers, bottom first; every one but the last is followed by a sigmoid.
    pub layers: Vec<Linear<F>>,
    activations: Vec<Mat<F>>,
}

impl<F: Float> Parameters<F> for Classifier<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            visit_child(&format!("layers.{i}"), l, visit);
        }
    }
}

impl<F: Float> Classifier<F> {
    /// A classifier of the given widths (`[inputs, hidden…, classes]`), PyTorch's default
    /// initialization.
    ///
    /// # Panics
    /// With fewer than two widths.
    pub fn new(widths: &[usize], rng: &mut impl Rng) -> Self {
        assert!(
            widths.len() >= 2,
            "Classifier::new: needs inputs and classes"
        );
        let layers = widths
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], rng))
            .collect();
        Self::from_layers(layers)
    }

    /// Multinomial logistic regression `softmax(V x + d)`.
    pub fn logistic(inputs: usize, classes: usize, rng: &mut impl Rng) -> Self {
        Self::new(&[inputs, classes], rng)
    }

    /// From given layers.
    pub fn from_layers(layers: Vec<Linear<F>>) -> Self {
        Classifier {
            layers,
            activations: Vec::new(),
        }
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Logits (`classes x n`) of the columns of `x`, without caches.
    ///
    /// # Errors
    /// Shape errors.
    pub fn logits(&self, x: &Mat<F>) -> optim::Result<Mat<F>> {
        let mut a = x.clone();
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            a = layer.predict(&a)?;
            if l < last {
                a.apply(|v| *v = super::model::sigmoid(*v));
            }
        }
        Ok(a)
    }

    /// Fraction of `data` classified correctly.
    ///
    /// # Errors
    /// Shape errors; data without class labels.
    pub fn accuracy(&self, data: &Dataset<F>) -> optim::Result<f64> {
        Ok(self.evaluate(data)?.accuracy.unwrap_or(0.0))
    }

    /// Forward (training mode) on `x`, the mean cross-entropy against `labels`, and backward:
    /// adds the gradient into the layers' parameters. Returns the loss and the logits.
    ///
    /// # Errors
    /// Shape errors, labels out of range.
    pub fn loss_and_backward(
        &mut self,
        x: &Mat<F>,
        labels: &[usize],
    ) -> optim::Result<(F, Mat<F>)> {
        let last = self.layers.len() - 1;
        self.activations.clear();
        let mut a = x.clone();
        for l in 0..=last {
            a = self.layers[l].forward(&a)?;
            if l < last {
                a.apply(|v| *v = super::model::sigmoid(*v));
                self.activations.push(a.clone());
            }
        }
        let (loss, mut delta) = loss::softmax_cross_entropy(&a, labels, 0.0)?;
        for l in (0..=last).rev() {
            let dx = self.layers[l].backward(&delta)?;
            if l > 0 {
                let act = &self.activations[l - 1];
                delta = dx;
                for (d, &y) in delta.iter_mut().zip(act.iter()) {
                    *d *= y * (F::one() - y);
                }
            }
        }
        Ok((loss, a))
    }
}

impl<F: Float> Trainable<F> for Classifier<F> {
    type Data = Dataset<F>;

    fn examples(&self, data: &Dataset<F>) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Dataset<F>, what: &str) -> optim::Result<()> {
        optim::check_batch(&data.x, self.inputs(), what)?;
        let classes = self.layers.last().expect("layers").outputs();
        data.check_labels(classes, what)
    }

    fn train_batch(
        &mut self,
        data: &Dataset<F>,
        batch: &[usize],
        _: &mut optim::StdRng,
    ) -> optim::Result<BatchLoss> {
        let x = select_columns(&data.x, batch);
        let labels: Vec<usize> = {
            let all = data.class_labels("training data")?;
            batch.iter().map(|&i| all[i]).collect()
        };
        let (loss, logits) = self.loss_and_backward(&x, &labels)?;
        Ok(BatchLoss::new(loss).correct(optim::train::count_correct(&logits, &labels)))
    }

    fn evaluate(&self, data: &Dataset<F>) -> optim::Result<Evaluation> {
        let logits = self.logits(&data.x)?;
        let labels = data.class_labels("evaluation data")?;
        let (loss, _) = loss::softmax_cross_entropy(&logits, labels, 0.0)?;
        Ok(Evaluation {
            loss: loss.to_f64(),
            accuracy: Some(
                optim::train::count_correct(&logits, labels) as f64 / data.len().max(1) as f64,
            ),
        })
    }
}

/// Hidden-probability features of a [`Dataset`] (`p(h | x)` for each column), keeping labels.
///
/// # Errors
/// As [`Rbm::hidden_probs`].
pub fn features<F: Float>(rbm: &Rbm<F>, data: &Dataset<F>) -> Result<Dataset<F>> {
    let x = rbm.hidden_probs(&data.x)?;
    Ok(Dataset {
        x,
        targets: data.targets.clone(),
    })
}

/// Trains multinomial logistic regression ([`Classifier::logistic`]) on `train` with Adam
/// (`learning_rate`, batch 64, `epochs`) through optim's `fit`, and returns it with its accuracy
/// on `test`: the linear read-out that scores RBM features against raw pixels.
///
/// # Errors
/// As optim's `fit`.
pub fn fit_logistic<F: Float>(
    train: &Dataset<F>,
    test: &Dataset<F>,
    epochs: usize,
    learning_rate: f64,
    seed: u64,
) -> optim::Result<(Classifier<F>, f64)> {
    let classes = train.classes().max(test.classes());
    let mut net = Classifier::logistic(train.x.nrows(), classes, &mut optim::rng(seed));
    let config = optim::TrainConfig::new(epochs, 64).seed(seed);
    net.fit(
        train,
        None,
        &mut optim::Adam::new(learning_rate)?,
        &config,
        &mut |_| {},
    )?;
    let accuracy = net.accuracy(test)?;
    Ok((net, accuracy))
}
