//! # transformer — global dependency by attention
pub mod attention;
pub mod block;
pub mod feedforward;
pub mod norm;
pub mod position;

pub use attention::{HeadMask, KvCache, Mask, MultiHeadAttention, SeqShape};
pub use block::{BlockConfig, NormPlacement, TransformerBlock};
pub use feedforward::FeedForward;
pub use norm::LayerNorm;
pub use position::Positions;
pub mod data;
pub mod gpt;
pub use gpt::{Gpt, GptConfig};
pub mod generate;
pub use generate::{Generation, Sampling};
