//! rnn (being written)
pub mod cell;
pub mod rnn;
pub mod seq;
pub use cell::CellKind;
pub use rnn::{Rnn, RnnConfig, RnnState};
pub use seq::Seq;
