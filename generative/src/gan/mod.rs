//! §9.2 generative adversarial networks.
