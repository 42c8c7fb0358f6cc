//! Generative models (notes §9): the restricted Boltzmann machine and the deep belief network
//! built from it (§9.1, [`rbm`]), and the generative adversarial network (§9.2, [`gan`]).

pub mod gan;
pub mod rbm;

pub use gan::{Gan, GanConfig, GanError, GanTraining, Mixture, Objective};
