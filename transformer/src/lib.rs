//! # transformer — global dependency by attention
//!
//! Notes §8 (八、从序列到全局：Transformer, *from sequences to the global view*). A recurrent
//! network reads a sequence one step at a time, so information from position 1 reaches position
//! `T` through `T − 1` state updates and the steps cannot run in parallel. The Transformer
//! **drops recurrence** (放弃递归) and **models global dependencies with attention** (通过
//! Attention 建模全局依赖): every position reads every other position directly, through a weighted
//! average whose weights it computes from the data. The notes name the advantage: **the shortest
//! computation path and the most parallelism** (计算路径最短化 + 并行化最大化) — a path of length 1
//! between any two positions, and all positions of a sequence computed at once as matrix
//! products. The price is `O(T²)` work in the sequence length, and a weaker inductive bias: order
//! has to be *added* (positional encodings), since attention by itself treats its input as a set.
//!
//! **Inductive bias:** weak — any position may depend on any other (global dependency, weights
//! shared across positions), order only through positional encodings, no recurrent memory.
//!
//! ## Formulas
//!
//! ```text
//! Attention(Q, K, V) = V · softmax(KᵀQ / √d_k)           column-wise soft-max, masked keys −∞
//! MultiHead(X)       = W_out [O_1; …; O_h],  O_i = Attention(W_q,i X, W_k,i X, W_v,i X)
//! FF(X)              = W₂ f(W₁ X + b₁) + b₂              f = GELU or ReLU, per position
//! LN(x)              = γ ⊙ (x − μ)/√(σ² + ε) + β          per position, over its d features
//! pre-LN block:  X₁ = X + MHA(LN₁ X),   Y = X₁ + FF(LN₂ X₁)
//! post-LN block: X₁ = LN₁(X + MHA X),   Y = LN₂(X₁ + FF X₁)
//! GPT:           Z = W LN(Block_L(… Block_1(E[ids] + P))),  L = −mean log softmax(Z)[next]
//! ```
//!
//! Each layer is a forward/backward pair with a cache, the backward derived in its module's
//! docs and written by hand next to the formula: [`norm`] ([`LayerNorm`]), [`attention`]
//! ([`MultiHeadAttention`], [`attention::scaled_dot_product_attention`]), [`feedforward`]
//! ([`FeedForward`]), [`position`], [`block`] ([`TransformerBlock`]), [`gpt`] ([`Gpt`]) and
//! [`generate`] (sampling and the KV cache); [`seq2seq`] holds the original encoder–decoder
//! ([`EncoderDecoder`]: padding-masked encoder, decoder layers with causal self-attention and
//! [`CrossAttention`] to the encoder's output).
//!
//! ## Layout
//!
//! A batch of `B` sequences of `T` positions is a `d x (T·B)` matrix whose column `b·T + t` is
//! position `t` of sequence `b` ([`SeqShape`]): each sequence is a contiguous block, the
//! position-wise layers (projections, norms, feed-forward) are one product over all `T·B`
//! columns, and attention multiplies strided views of the projected `[Q; K; V]` per sequence
//! and head through [`optim::linalg::gemm_blocks`]. Parameter names and shapes are PyTorch's
//! (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`, …), so a block's weights load
//! into `nn.TransformerEncoderLayer` and back; the tests check outputs and gradients against it.
//!
//! Training is the workspace's one loop: [`Gpt`] implements [`optim::train::Trainable`] on
//! [`data::TokenWindows`] and [`optim::checkpoint::Saveable`] with its [`GptConfig`].
//!
//! ## Example
//!
//! ```
//! use optim::train::{TrainConfig, Trainable};
//! use transformer::data::TokenWindows;
//! use transformer::{Gpt, GptConfig, Sampling};
//! // "abcabc…": after a few dozen steps the model continues the cycle
//! let ids: Vec<usize> = (0..300).map(|i| i % 3).collect();
//! let config = GptConfig::new(3, 8).with_width(16).with_heads(2).with_layers(1);
//! let mut model = Gpt::<f32>::new(&config, &mut optim::rng(0))?;
//! let train = TokenWindows::all(ids, 8)?;
//! let mut adamw = optim::Adam::adamw(1e-2, 0.0)?;
//! model.fit(&train, None, &mut adamw, &TrainConfig::new(2, 16), &mut |_| {})?;
//! let next = model.generate(&[0, 1, 2, 0], 5, &Sampling::Greedy, &mut optim::rng(1))?;
//! assert_eq!(next.tokens, [1, 2, 0, 1, 2]);
//! # Ok::<(), optim::Error>(())
//! ```

pub mod attention;
pub mod block;
pub mod data;
pub mod feedforward;
pub mod generate;
pub mod gpt;
pub mod norm;
pub mod position;
pub mod seq2seq;

pub use attention::{HeadMask, KvCache, Mask, MultiHeadAttention, SeqShape};
pub use block::{BlockConfig, NormPlacement, TransformerBlock};
pub use feedforward::FeedForward;
pub use generate::{Generation, Sampling};
pub use gpt::{Gpt, GptConfig};
pub use norm::LayerNorm;
pub use position::Positions;
pub use seq2seq::{CrossAttention, DecoderLayer, EncDecConfig, EncoderDecoder, SeqPairs};

/// The families of this crate in the §2.1 coordinate system of inductive biases (notes §8):
/// input structure, parameter sharing, dependency range, memory and paradigm.
pub const FAMILIES: &[optim::bias::Coordinates] = {
    use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
    &[
        // the same weights at every position, attention from each position to all earlier ones; the language model learns p(x)
        Coordinates {
            family: "Transformer",
            input: InputStructure::Sequence,
            sharing: Sharing::Time,
            dependency: Dependency::Global,
            memory: Memory::Explicit,
            paradigm: Paradigm::Generative,
        },
    ]
};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
