//! Data-parallel training: one step over a batch split into shards, each shard's forward and
//! backward on its own thread.
//!
//! Sequences in a batch are independent until the loss averages them, so for a batch split into
//! shards of `B_k` sequences (`Σ B_k = B`), the mean loss and its gradient are the shard means
//! weighted by `B_k / B`:
//!
//! ```text
//! L = Σ_k (B_k / B) L_k        ∂L/∂θ = Σ_k (B_k / B) ∂L_k/∂θ
//! ```
//!
//! Each shard runs on a replica of the model (same weights, its own caches and gradients); the
//! weighted gradients are summed into the model, which is clipped and updated once. This is the
//! parallelism that suits recurrent networks: the per-step products (`4H x B` by `H`) are too small
//! to split profitably inside one matrix product, while whole shards are not.

use crate::model::{Input, SeqModel, StepOptions, Target};
use optim::{Error, Float, Optimizer, Parameters, Result, clip_grad_norm, zero_grad};
use rayon::prelude::*;

/// Replicas of a model for data-parallel steps (one per shard).
#[derive(Debug, Clone)]
pub struct DataParallel<F: Float> {
    replicas: Vec<SeqModel<F>>,
    /// Scratch of all parameters end to end (weights, then summed gradients).
    flat: Vec<F>,
}

/// One shard of a batch: its input and its target.
pub type Shard<'a, F> = (Input<'a, F>, Target<'a, F>);

impl<F: Float> DataParallel<F> {
    /// `shards` replicas of `model`.
    ///
    /// # Errors
    /// If `shards` is 0.
    pub fn new(model: &SeqModel<F>, shards: usize) -> Result<Self> {
        if shards == 0 {
            return Err(Error::hyper("shards", 0, "must be at least 1"));
        }
        Ok(DataParallel {
            replicas: vec![model.clone(); shards],
            flat: Vec::new(),
        })
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.replicas.len()
    }

    /// One step over the batch given as shards (one per replica): copy the model's weights to
    /// the replicas, run each shard's forward, loss and backward in parallel (products inside a
    /// shard use one thread), sum the `B_k/B`-weighted gradients into `model`, clip, update.
    /// Returns the batch's mean loss before the update. Equals [`SeqModel::train_step`] on the
    /// whole batch up to rounding.
    ///
    /// # Errors
    /// A shard count other than [`DataParallel::shards`], an initial state in `options` (not
    /// supported here), any error of a shard's step, or a non-finite loss.
    pub fn train_step(
        &mut self,
        model: &mut SeqModel<F>,
        shards: &[Shard<'_, F>],
        optimizer: &mut dyn Optimizer<F>,
        options: &StepOptions<'_, F>,
    ) -> Result<f64> {
        if shards.len() != self.replicas.len() {
            return Err(Error::Data(format!(
                "DataParallel: {} shards for {} replicas",
                shards.len(),
                self.replicas.len()
            )));
        }
        if options.initial.is_some() {
            return Err(Error::Data(
                "DataParallel: an initial state is not supported; use SeqModel::train_step".into(),
            ));
        }
        // the model's weights → every replica, by position (the order is fixed)
        self.flat.clear();
        model.visit_params(&mut |_, p| self.flat.extend_from_slice(p.value.as_slice()));
        for replica in &mut self.replicas {
            let mut offset = 0;
            replica.visit_params(&mut |_, p| {
                let n = p.value.len();
                p.value
                    .as_mut_slice()
                    .copy_from_slice(&self.flat[offset..offset + n]);
                offset += n;
            });
        }
        let truncation = options.truncation;
        let results: Vec<Result<(f64, usize)>> = self
            .replicas
            .par_iter_mut()
            .zip(shards.par_iter())
            .map(|(replica, &(input, target))| {
                optim::linalg::with_threads(1, || {
                    let output = replica.forward(input, None)?;
                    let columns = output.ncols();
                    let (l, d_output) = SeqModel::loss(output, target)?;
                    zero_grad(replica);
                    replica.backward(&d_output, truncation)?;
                    Ok((l.to_f64(), columns))
                })
            })
            .collect();
        let mut parts = Vec::with_capacity(results.len());
        for r in results {
            parts.push(r?);
        }
        let total: usize = parts.iter().map(|p| p.1).sum();
        let loss: f64 = parts
            .iter()
            .map(|&(l, c)| l * c as f64 / total.max(1) as f64)
            .sum();
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                context: format!("training loss at optimizer step {}", optimizer.steps() + 1),
            });
        }
        // Σ_k (B_k/B) ∂L_k/∂θ → the model's gradients
        self.flat.iter_mut().for_each(|v| *v = F::zero());
        for (replica, &(_, columns)) in self.replicas.iter_mut().zip(&parts) {
            let weight = F::of(columns as f64 / total as f64);
            let mut offset = 0;
            replica.visit_params(&mut |_, p| {
                for (acc, &g) in self.flat[offset..].iter_mut().zip(p.grad.as_slice()) {
                    *acc += weight * g;
                }
                offset += p.grad.len();
            });
        }
        let mut offset = 0;
        model.visit_params(&mut |_, p| {
            let n = p.grad.len();
            p.grad
                .as_mut_slice()
                .copy_from_slice(&self.flat[offset..offset + n]);
            offset += n;
        });
        if let Some(c) = options.clip {
            clip_grad_norm(model, c);
        }
        optimizer.step(model)?;
        Ok(loss)
    }
}
