//! The gradcheck tests of the crate, one module per chapter half.

mod gan;
mod rbm;
