//! A sequence model: an input encoding, a recurrent network and a linear head, read out at the
//! last step (sequence-to-one) or at every step (sequence-to-sequence), with one training step
//! written out as forward, loss, zero_grad, backward (full or truncated), clip, update.
//!
//! ```
//! use optim::checkpoint::{load_model, save_model};
//! use rnn::{CellKind, Input, ModelConfig, Readout, Seq, SeqModel};
//! let config = ModelConfig::dense(CellKind::Lstm, 2, 3, 1, Readout::Last);
//! // LSTM 4·3·(2 + 3 + 2) = 84, head 1·(3 + 1) = 4
//! assert_eq!(config.parameter_count(), Some(88));
//! let mut model = SeqModel::<f64>::new(config, &mut optim::rng(0))?;
//! assert_eq!(optim::param_count(&mut model), 88);
//! let path = std::env::temp_dir().join(format!("rnn-model-doc-{}.safetensors", std::process::id()));
//! save_model(&path, &mut model, &[])?;
//! let loaded: SeqModel<f64> = load_model(&path)?;
//! let x = Seq::new(optim::Mat::from_fn(2, 4 * 5, |i, j| (i + j) as f64 / 20.0), 4, 5)?;
//! assert_eq!(model.predict(Input::Dense(&x), None)?.0, loaded.predict(Input::Dense(&x), None)?.0);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), optim::Error>(())
//! ```

use crate::cell::CellKind;
use crate::rnn::{Rnn, RnnConfig, RnnState};
use crate::seq::Seq;
use optim::{
    Embedding, Error, Float, Linear, Mat, Optimizer, Param, Parameters, Result, clip_grad_norm,
    loss, visit_child, zero_grad,
};
use rand::Rng;

/// Where the head reads the recurrent network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Sequence-to-one: the top layer's final hidden state (`D·H x B`; for a bidirectional
    /// network the forward `h_T` over the reverse `h_0`).
    Last,
    /// Sequence-to-sequence: the top layer's output at every step (`D·H x T·B`).
    Every,
}

/// How inputs enter the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Real-valued feature vectors ([`Seq`]), `input` wide.
    Dense,
    /// Token ids encoded one-hot over a vocabulary of this size.
    OneHot(usize),
    /// Token ids looked up in a learned embedding (`vocab x dim`).
    Embedding {
        /// Vocabulary size.
        vocab: usize,
        /// Embedding width (the network's input width).
        dim: usize,
    },
}

/// The input of one batch.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a, F: Float> {
    /// Dense features.
    Dense(&'a Seq<F>),
    /// Token ids, time-major (`ids[t·batch + b]`).
    Tokens {
        /// The ids.
        ids: &'a [usize],
        /// `T`.
        steps: usize,
        /// `B`.
        batch: usize,
    },
}

/// The target of one batch.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a, F: Float> {
    /// Regression targets, `outputs x B` (readout `Last`) or `outputs x T·B` (`Every`); loss MSE.
    Regression(&'a Mat<F>),
    /// Class labels, one per output column; loss soft-max cross-entropy.
    Classes(&'a [usize]),
}

/// Options of one training step.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepOptions<'a, F: Float> {
    /// Clip the global gradient norm to this value (Pascanu et al. 2013), `None` for no clipping.
    pub clip: Option<f64>,
    /// Truncated BPTT `(k1, k2)`; `None` for full BPTT.
    pub truncation: Option<(usize, usize)>,
    /// The initial state (zero if `None`); a stateful trainer passes the last final state.
    pub initial: Option<&'a RnnState<F>>,
}

/// Configuration of a [`SeqModel`] (stored as JSON in checkpoints).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// The recurrent network (its `input` must match the encoding: the feature width, the
    /// vocabulary size for one-hot, the embedding width).
    pub rnn: RnnConfig,
    /// Input encoding.
    pub encoding: Encoding,
    /// Head output width.
    pub outputs: usize,
    /// Where the head reads.
    pub readout: Readout,
}

impl ModelConfig {
    /// A dense-input model: `input` features, a one-layer `cell` of `hidden` units, `outputs`.
    pub fn dense(
        cell: CellKind,
        input: usize,
        hidden: usize,
        outputs: usize,
        readout: Readout,
    ) -> Self {
        ModelConfig {
            rnn: RnnConfig::new(cell, input, hidden),
            encoding: Encoding::Dense,
            outputs,
            readout,
        }
    }
}

/// Encoding → recurrent network → linear head.
///
/// Parameters: `embedding.weight` (if any), `rnn.*` (PyTorch's names, see [`Rnn`]),
/// `head.weight`, `head.bias`.
///
/// # Shapes
/// Dense input `I x T·B`; output `outputs x B` (readout `Last`) or `outputs x T·B` (`Every`).
#[derive(Debug, Clone)]
pub struct SeqModel<F: Float> {
    config: ModelConfig,
    /// The learned token embedding, with [`Encoding::Embedding`].
    pub embedding: Option<Embedding<F>>,
    /// The recurrent network.
    pub rnn: Rnn<F>,
    /// The linear head `outputs x D·H`.
    pub head: Linear<F>,
    encoded: Seq<F>,
    output: Mat<F>,
    pub(crate) batch_scratch: crate::data::BatchScratch<F>,
}

impl<F: Float> SeqModel<F> {
    /// A model with PyTorch's initializations.
    ///
    /// # Errors
    /// Widths that do not fit together, zero sizes.
    pub fn new(config: ModelConfig, rng: &mut impl Rng) -> Result<Self> {
        let want_input = match config.encoding {
            Encoding::Dense => config.rnn.input,
            Encoding::OneHot(v) => v,
            Encoding::Embedding { dim, .. } => dim,
        };
        if want_input != config.rnn.input {
            return Err(Error::hyper(
                "rnn.input",
                config.rnn.input,
                &format!("must equal the encoding's width {want_input}"),
            ));
        }
        if config.outputs == 0 {
            return Err(Error::hyper("outputs", 0, "must be at least 1"));
        }
        let rnn = Rnn::new(config.rnn.clone(), rng)?;
        let embedding = match config.encoding {
            Encoding::Embedding { vocab, dim } => Some(Embedding::new(vocab, dim, rng)),
            _ => None,
        };
        let head = Linear::new(config.rnn.output_width(), config.outputs, rng);
        Ok(SeqModel {
            config,
            embedding,
            rnn,
            head,
            encoded: Seq::zeros(0, 1, 1),
            output: Mat::zeros(0, 0),
            batch_scratch: Default::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn encode(&self, input: Input<'_, F>) -> Result<Option<Seq<F>>> {
        match (input, self.config.encoding) {
            (Input::Dense(_), Encoding::Dense) => Ok(None),
            (Input::Tokens { ids, steps, batch }, Encoding::OneHot(v)) => {
                check_tokens(ids, steps, batch, v)?;
                let mut m = Mat::zeros(v, ids.len());
                for (j, &id) in ids.iter().enumerate() {
                    m[(id, j)] = F::one();
                }
                Ok(Some(Seq::new(m, steps, batch)?))
            }
            (Input::Tokens { ids, steps, batch }, Encoding::Embedding { vocab, .. }) => {
                check_tokens(ids, steps, batch, vocab)?;
                let e = self
                    .embedding
                    .as_ref()
                    .expect("embedding exists")
                    .predict(ids)?;
                Ok(Some(Seq::new(e, steps, batch)?))
            }
            (Input::Dense(_), _) => Err(Error::Data(
                "SeqModel: dense input given to a model with a token encoding".into(),
            )),
            (Input::Tokens { .. }, Encoding::Dense) => Err(Error::Data(
                "SeqModel: token input given to a model with dense encoding".into(),
            )),
        }
    }

    /// Forward with cache; returns the head's output (`outputs x B` or `outputs x T·B`).
    ///
    /// # Errors
    /// Wrong widths, non-finite input, token ids out of range, mismatched encoding.
    pub fn forward(
        &mut self,
        input: Input<'_, F>,
        initial: Option<&RnnState<F>>,
    ) -> Result<&Mat<F>> {
        let encoded = self.encode(input)?;
        let x = match (&encoded, input) {
            (Some(e), _) => e,
            (None, Input::Dense(x)) => x,
            _ => unreachable!("encode returns Some for tokens"),
        };
        self.rnn.forward(x, initial)?;
        let features = match self.config.readout {
            Readout::Last => self.rnn.final_hidden_top(),
            Readout::Every => self.rnn.output().clone(),
        };
        self.output = self.head.forward(&features)?;
        if let (Some(e), Input::Tokens { ids, .. }) = (&mut self.embedding, input) {
            // keep the ids for the embedding's backward
            e.forward(ids)?;
        }
        if let Some(e) = encoded {
            self.encoded = e;
        }
        Ok(&self.output)
    }

    /// Backward from `∂L/∂output`: adds every parameter's gradient.
    ///
    /// # Errors
    /// Wrong shape of `d_output`; truncation with readout `Last` or a bidirectional network.
    pub fn backward(
        &mut self,
        d_output: &Mat<F>,
        truncation: Option<(usize, usize)>,
    ) -> Result<()> {
        let d_features = self.head.backward(d_output)?;
        let need_dx = self.embedding.is_some();
        match (self.config.readout, truncation) {
            (Readout::Every, None) => self.rnn.backward(Some(&d_features), None, need_dx)?,
            (Readout::Every, Some((k1, k2))) => {
                self.rnn.backward_truncated(&d_features, k1, k2, need_dx)?
            }
            (Readout::Last, None) => {
                let cfg = self.rnn.config().clone();
                let batch = d_features.ncols();
                let mut d_final = RnnState::zeros(&cfg, batch);
                let d = cfg.directions();
                let top = (cfg.layers - 1) * d;
                for k in 0..d {
                    d_final.h[top + k] = d_features.rows(k * cfg.hidden, cfg.hidden).into_owned();
                }
                self.rnn.backward(None, Some(&d_final), need_dx)?
            }
            (Readout::Last, Some(_)) => {
                return Err(Error::Data(
                    "truncated BPTT needs a loss at every step (readout Every)".into(),
                ));
            }
        }
        if let Some(e) = &mut self.embedding {
            e.backward(self.rnn.input_grad())?;
        }
        Ok(())
    }

    /// The loss of `output` against `target` and its gradient.
    pub fn loss(output: &Mat<F>, target: Target<'_, F>) -> Result<(F, Mat<F>)> {
        match target {
            Target::Regression(y) => loss::mse(output, y),
            Target::Classes(labels) => loss::softmax_cross_entropy(output, labels, 0.0),
        }
    }

    /// One training step: forward, loss, zero_grad, backward (full or truncated), clip, update.
    /// Returns the loss before the update.
    ///
    /// # Errors
    /// Any shape error, or a non-finite loss (training stops rather than continuing with NaN).
    pub fn train_step(
        &mut self,
        input: Input<'_, F>,
        target: Target<'_, F>,
        optimizer: &mut dyn Optimizer<F>,
        options: &StepOptions<'_, F>,
    ) -> Result<f64> {
        self.forward(input, options.initial)?;
        let (l, d_output) = Self::loss(&self.output, target)?;
        if !l.finite() {
            return Err(Error::NonFinite {
                context: format!("training loss at optimizer step {}", optimizer.steps() + 1),
            });
        }
        zero_grad(self);
        self.backward(&d_output, options.truncation)?;
        if let Some(c) = options.clip {
            clip_grad_norm(self, c);
        }
        optimizer.step(self)?;
        Ok(l.to_f64())
    }

    /// Inference without a cache: the head's output and the network's final state.
    ///
    /// # Errors
    /// As [`SeqModel::forward`].
    pub fn predict(
        &self,
        input: Input<'_, F>,
        initial: Option<&RnnState<F>>,
    ) -> Result<(Mat<F>, RnnState<F>)> {
        let encoded = self.encode(input)?;
        let x = match (&encoded, input) {
            (Some(e), _) => e,
            (None, Input::Dense(x)) => x,
            _ => unreachable!(),
        };
        let (y, fin) = self.rnn.predict(x, initial)?;
        let features = match self.config.readout {
            Readout::Every => y,
            Readout::Last => {
                let cfg = self.rnn.config();
                let d = cfg.directions();
                let top = (cfg.layers - 1) * d;
                let mut f = Mat::zeros(d * cfg.hidden, x.batch());
                for k in 0..d {
                    f.rows_mut(k * cfg.hidden, cfg.hidden)
                        .copy_from(&fin.h[top + k]);
                }
                f
            }
        };
        Ok((self.head.predict(&features)?, fin))
    }

    /// One step of generation for a unidirectional token model: feeds `ids` (one per sequence),
    /// updates `state`, returns the logits `outputs x B`.
    ///
    /// # Errors
    /// A dense or bidirectional model, ids out of range.
    pub fn step_tokens(&self, ids: &[usize], state: &mut RnnState<F>) -> Result<Mat<F>> {
        let x = self
            .encode(Input::Tokens {
                ids,
                steps: 1,
                batch: ids.len(),
            })?
            .ok_or_else(|| Error::Data("step_tokens: the model has dense input".into()))?;
        let h = self.rnn.step(x.data(), state)?;
        self.head.predict(&h)
    }
}

fn check_tokens(ids: &[usize], steps: usize, batch: usize, vocab: usize) -> Result<()> {
    if steps == 0 || batch == 0 {
        return Err(Error::Data("token input: empty sequence or batch".into()));
    }
    if ids.len() != steps * batch {
        return Err(Error::Data(format!(
            "token input: {} ids for {steps} steps x {batch} sequences",
            ids.len()
        )));
    }
    if let Some((i, &id)) = ids.iter().enumerate().find(|&(_, &id)| id >= vocab) {
        return Err(Error::Data(format!(
            "token input: id {id} at step {}, sequence {} is outside the vocabulary of {vocab}",
            i / batch,
            i % batch
        )));
    }
    Ok(())
}

impl ModelConfig {
    /// The number of trainable scalars of a [`SeqModel`] of this configuration, with checked
    /// arithmetic and without building it (`None` on overflow).
    pub fn parameter_count(&self) -> Option<usize> {
        let embedding = match self.encoding {
            Encoding::Embedding { vocab, dim } => vocab.checked_mul(dim)?,
            _ => 0,
        };
        let width = self.rnn.directions().checked_mul(self.rnn.hidden)?;
        let head = self.outputs.checked_mul(width.checked_add(1)?)?;
        embedding
            .checked_add(self.rnn.parameter_count()?)?
            .checked_add(head)
    }
}

/// Checkpoints through `optim::checkpoint::{save_model, load_model}`: the [`ModelConfig`] as one
/// JSON entry, the parameters by name (PyTorch's `rnn.*` names).
impl<F: Float> optim::checkpoint::Saveable<F> for SeqModel<F> {
    const KIND: &'static str = "rnn";
    type Config = ModelConfig;

    fn config(&self) -> ModelConfig {
        self.config.clone()
    }

    fn parameter_count(config: &ModelConfig) -> Option<usize> {
        config.parameter_count()
    }

    fn from_config(config: &ModelConfig) -> Result<Self> {
        // the weights are loaded right after; the seed only fills them meanwhile
        SeqModel::new(config.clone(), &mut optim::rng(0))
    }
}

impl<F: Float> Parameters<F> for SeqModel<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        if let Some(e) = &mut self.embedding {
            visit_child("embedding", e, visit);
        }
        visit_child("rnn", &mut self.rnn, visit);
        visit_child("head", &mut self.head, visit);
    }
}
