//! # Sequence to sequence with attention (notes §7.3, seq2seq 与注意力)
//!
//! An **encoder** reads the source `x_1 … x_n` into states `h_1 … h_n`; a **decoder** generates
//! the target one token at a time from its own state `s_t`. Without attention the decoder sees
//! the source only through its initial state, a fixed-width summary of the whole source: the
//! *bottleneck* ("固定长度瓶颈"). Attention lets every output step read all encoder states,
//! weighted by their relevance to the current decoder state.
//!
//! ```text
//! encoder   h_j = [→h_j; ←h_j]          (GRU or LSTM, optionally bidirectional, stacked)
//! bridge    s_0 = tanh(W_b [→h_n; ←h_1] + b_b)        (every decoder layer's initial state)
//! decoder   s_t = RNN(E y_{t−1}, s_{t−1})             (y_0 = BOS; teacher forcing in training)
//! scores    e_tj = score(s_t, h_j),  j < n            (additive / general / dot, see attention)
//! weights   α_t = softmax(e_t)  (α_tj = 0 for padded j ≥ n)
//! context   c_t = Σ_j α_tj h_j
//! output    o_t = tanh(W_c [c_t; s_t] + b_c),  p(y_t | y_<t, x) = softmax(W_o o_t + b_o)
//! loss      L = −(1/N) Σ_{real (b, t)} log p(y_t)     (padding masked out)
//! ```
//!
//! This is the attention layer of Luong et al. (2015) (the score is computed from the current
//! decoder state `s_t`), with Bahdanau et al.'s (2015) additive score as one of the forms.
//! Without attention (`AttentionKind::None`) the output is `o_t = tanh(W_c s_t + b_c)`.
//!
//! Padding: each batch is padded to its longest source and target. The forward encoder
//! direction reads each source left to right and its outputs at real positions never see the
//! padding behind them; the reverse direction reads each source *reversed within its own
//! length*, so it too starts at the source's last real token. The summary takes `→h` at each
//! source's own last position. Padded positions are never scored by attention and padded
//! targets carry no loss, so a padded token changes nothing.
//!
//! Training runs through `optim::train::fit` ([`Seq2Seq`] implements `Trainable` on [`Pairs`]),
//! with teacher forcing and optionally scheduled sampling ([`Seq2SeqConfig::sampling`]).
//! Decoding: [`Seq2Seq::greedy`] and [`Seq2Seq::beam_search`] (width, length normalization,
//! stop at the end token or the length limit).
//!
//! ```
//! use rnn::seq2seq::{AttentionKind, Pairs, Seq2Seq, Seq2SeqConfig, Vocab, reverse_task, DecodeOptions};
//! use optim::train::{TrainConfig, Trainable};
//! let mut rng = optim::rng(0);
//! let pairs = reverse_task(512, 4, 2, 5, &mut rng).unwrap();
//! let vocab = Vocab::from_pairs(&pairs);
//! let data = Pairs::encode(&vocab, &pairs);
//! let config = Seq2SeqConfig::new(vocab, 8, 16, AttentionKind::Dot);
//! let mut model = Seq2Seq::<f32>::new(config, &mut rng).unwrap();
//! let mut adam = optim::Adam::new(1e-2).unwrap();
//! let history = model
//!     .fit(&data, None, &mut adam, &TrainConfig::new(10, 32).clip_grad_norm(1.0), &mut |_| {})
//!     .unwrap();
//! assert!(history.last().unwrap().train_loss < 0.5 * history.epochs[0].train_loss);
//! let hyps = model.greedy(&[&data.sources[0]], &DecodeOptions::default()).unwrap();
//! assert_eq!(hyps[0].attention.len(), hyps[0].tokens.len() + 1); // one row per output step
//! ```

pub mod attention;
pub mod decode;
pub mod model;
pub mod vocab;

pub use attention::AttentionKind;
pub use decode::{DecodeMetrics, DecodeOptions, Hypothesis};
pub use model::{Batch, Seq2Seq, Seq2SeqConfig};
pub use vocab::{
    BOS, EOS, PAD, Pairs, SPECIALS, Task, UNK, Vocab, add_task, edit_distance, generate,
    parse_pairs, read_pairs, reverse_task, sort_task,
};
