//! Exact resume (issue 14) of the generative chapter's own training loops: contrastive
//! divergence and persistent CD (velocities, persistent chains, the generator's position in one
//! training-state file), the GAN (both networks, both optimizers), and the DBN's fine-tuned
//! classifier through the shared loop. `N` epochs + save + load + `N` more equal `2N` straight,
//! bit for bit.

mod gan;
mod rbm;

pub use optim::testing::{TempDir, epoch_records as records, param_bits};

/// A fresh folder named after the test.
pub fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("generative-resume-{name}"))
}
