//! # classic — RBF networks, self-organizing maps (notes §10)
//!
//! (crate documentation being written)

pub mod mackey_glass;
