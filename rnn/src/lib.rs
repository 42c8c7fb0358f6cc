//! # rnn — temporal inductive bias: recurrent networks, BPTT, vanishing gradients, LSTM, GRU
//!
//! Notes §7 (七、时间归纳偏置：序列与递归结构, *temporal inductive bias: sequences and recurrent
//! structure*), §7.1 (循环神经网络（RNN）, *recurrent neural networks*) and §7.2 (长短期记忆网络
//! （LSTM）, *long short-term memory*) and §7.3 (seq2seq 与注意力, *sequence to sequence and
//! attention*, module [`seq2seq`]).
//!
//! A recurrent network assumes that the same rule applies at every moment of a sequence: one
//! set of weights is *shared across time*,
//!
//! ```text
//! h_t = φ(W x_t + U h_{t−1} + b)
//! ```
//!
//! so the model has a fixed number of parameters whatever the length, and its state `h_t` is a
//! learned summary of the past ("本质：时间维度上的参数共享", *in essence: parameter sharing
//! across time*). Training unrolls the recurrence and backpropagates through time
//! (BPTT); the gradient reaching step `t` from step `T` is a product of `T − t` Jacobians
//! `diag(φ') U`, which *vanishes* when `‖U‖ < 1` and can *explode* when it is larger
//! ([`probe`] measures it). The LSTM makes memory a controlled structure: a cell
//! `c_t = f ⊙ c_{t−1} + i ⊙ g` whose gradient path is multiplied by the forget gate `f` rather
//! than by `U`, so information (and gradient) survives for as long as the gates keep it. The GRU
//! does the same with two gates.
//!
//! **Inductive bias:** the same rule at every step of a sequence — a sequence input, weights
//! shared in time, dependencies carried by a state: explicit memory (RNN) or gated (LSTM, GRU).
//!
//! ## What is here
//!
//! - [`Seq`]: a batch of `B` sequences of length `T`, one `features x (T·B)` matrix, time-major;
//! - [`Rnn`]: PyTorch's `nn.RNN` (tanh/ReLU), `nn.LSTM`, `nn.GRU` — stacked, bidirectional,
//!   initial state, parameter names and layouts exactly PyTorch's (weights interchange); forward
//!   and backward written gate by gate in [`cell`]; full BPTT ([`Rnn::backward`]) and truncated
//!   BPTT(k1, k2) of Williams & Peng ([`Rnn::backward_truncated`]);
//! - [`SeqModel`]: encoding (dense, one-hot, embedding) → [`Rnn`] → linear head, read out at the
//!   last step or every step; one training step with gradient clipping; trained by the shared
//!   `optim::train::fit` on [`Sequences`]; checkpoints through `optim::checkpoint::save_model`;
//! - [`probe`]: ‖∂h_T/∂h_t‖ for every `t` (and [`Rnn::state_grad_norms`] for ‖∂L/∂h_t‖);
//! - [`tasks`]: the adding problem, the copy task, character corpora with sampling at a
//!   temperature, sunspot windows and the AR(p) least-squares baseline;
//! - [`train`]: the task runs behind the tests, examples and the tour, configured by
//!   `optim::TrainConfig` and reporting through `optim::train::{Progress, History}`;
//! - [`DataParallel`]: a training step over shards of a batch on several threads;
//! - [`seq2seq`]: the encoder–decoder with additive, general, dot or no attention, teacher
//!   forcing and scheduled sampling, greedy and beam-search decoding, character vocabularies,
//!   `source<TAB>target` pair files and the reverse / sort / add tasks.
//!
//! ## Example: an LSTM learns to add two marked numbers
//!
//! ```
//! use rnn::{CellKind, Input, ModelConfig, Readout, SeqModel, StepOptions, Target, tasks};
//! let mut rng = optim::rng(0);
//! let mut model = SeqModel::<f32>::new(
//!     ModelConfig::dense(CellKind::Lstm, 2, 16, 1, Readout::Last), &mut rng).unwrap();
//! let mut opt = optim::Adam::new(1e-2).unwrap();
//! let options = StepOptions { clip: Some(1.0), ..Default::default() };
//! let mut loss = 0.0;
//! for _ in 0..300 {
//!     // 10 steps of (value, marker); the target is the sum of the two marked values
//!     let (x, y) = tasks::adding_problem::<f32>(10, 32, &mut rng).unwrap();
//!     loss = model.train_step(Input::Dense(&x), Target::Regression(&y), &mut opt, &options).unwrap();
//! }
//! assert!(loss < 0.05, "{loss}"); // predicting the mean scores 1/6
//! ```

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub mod cell;
pub mod data;
pub mod model;
pub mod parallel;
pub mod probe;
pub mod rnn;
pub mod seq;
pub mod seq2seq;
pub mod tasks;
pub mod train;

pub use cell::CellKind;
pub use data::Sequences;
pub use model::{Encoding, Input, ModelConfig, Readout, SeqModel, StepOptions, Target};
pub use parallel::DataParallel;
pub use probe::jacobian_norms;
pub use rnn::{Rnn, RnnConfig, RnnState};
pub use seq::Seq;
pub use train::{
    ADDING_TRAINING_KIND, AddingConfig, AddingReport, CHAR_LM_TRAINING_KIND, CharLmConfig,
    CharLmReport, SampledPosition, SampledRun, StreamPosition, SunspotsConfig, SunspotsReport,
    adding_start, char_lm_start, load_adding, load_char_lm, save_adding, save_char_lm,
    train_adding, train_adding_resume, train_char_lm, train_char_lm_resume, train_sunspots,
};

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §7):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // the state h_t, overwritten each step, carries the past one step at a time
        Coordinates {
            family: "RNN",
            input: InputStructure::Sequence,
            sharing: Sharing::Time,
            dependency: Dependency::Local,
            memory: Memory::Explicit,
            paradigm: Paradigm::Discriminative,
        },
        // a cell state written and read through the input, forget and output gates
        Coordinates {
            family: "LSTM",
            input: InputStructure::Sequence,
            sharing: Sharing::Time,
            dependency: Dependency::Local,
            memory: Memory::Gated,
            paradigm: Paradigm::Discriminative,
        },
        // update and reset gates on one state
        Coordinates {
            family: "GRU",
            input: InputStructure::Sequence,
            sharing: Sharing::Time,
            dependency: Dependency::Local,
            memory: Memory::Gated,
            paradigm: Paradigm::Discriminative,
        },
        // a gated encoder whose every state the decoder reads by attention, p(y | x)
        Coordinates {
            family: "seq2seq + attention",
            input: InputStructure::Sequence,
            sharing: Sharing::Time,
            dependency: Dependency::Global,
            memory: Memory::Gated,
            paradigm: Paradigm::Discriminative,
        },
    ]
};
