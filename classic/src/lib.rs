//! # classic — RBF networks, self-organizing maps (notes §10)
//!
//! (crate documentation being written)

pub mod kmeans;
pub mod mackey_glass;
pub mod rbf;
pub mod som;
