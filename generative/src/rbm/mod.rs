//! §9.1 restricted Boltzmann machines and deep belief networks.
