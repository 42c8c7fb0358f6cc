//! Exact resume (issue 14) of the generative chapter's own training loops: contrastive
//! divergence and persistent CD (velocities, persistent chains, the generator's position in one
//! training-state file), the GAN (both networks, both optimizers), and the DBN's fine-tuned
//! classifier through the shared loop. `N` epochs + save + load + `N` more equal `2N` straight,
//! bit for bit.

mod gan;
mod rbm;

/// A folder for one test, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh folder named after the test.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("generative-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Every epoch of a history but its wall time, as bits.
pub fn records(h: &optim::History) -> Vec<String> {
    h.epochs
        .iter()
        .map(|e| {
            let terms: Vec<String> = e
                .train_terms
                .iter()
                .map(|(n, v)| format!("{n}={:x}", v.to_bits()))
                .collect();
            format!(
                "{} {:x} {:?} {:x} {}",
                e.epoch,
                e.train_loss.to_bits(),
                e.validation.map(|v| v.loss.to_bits()),
                e.learning_rate.to_bits(),
                terms.join(",")
            )
        })
        .collect()
}

/// The bits of every parameter, by name.
pub fn param_bits<F: optim::Float>(
    model: &mut dyn optim::Parameters<F>,
) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| {
        out.push((
            n.to_string(),
            p.value.iter().map(|v| v.to_f64().to_bits()).collect(),
        ))
    });
    out
}
