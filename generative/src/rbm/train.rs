//! Contrastive divergence (CD-k, Hinton 2002) and persistent CD (Tieleman 2008), with the
//! practical guide's momentum, weight decay and mini-batches.
//!
//! ```text
//! ∂ log p(v)/∂W = ⟨h vᵀ⟩_data − ⟨h vᵀ⟩_model
//!   data term:  p(h | v⁰) v⁰ᵀ                         (probabilities, guide §3)
//!   model term: p(h | vᵏ) vᵏᵀ after k Gibbs rounds     from v⁰ (CD-k) or from the
//!                                                      persistent chains (PCD)
//! Δθ ← μ Δθ + ε (g − λ W)      θ ← θ + Δθ              (decay on W only, guide §9–10)
//! ```
//!
//! The statistics are batch means. The hidden states that drive the chain are sampled; the last
//! visible reconstruction is the probability `p(v | h)` unless `sample_visible` is set (or the
//! chain is persistent, whose state must be a sample).

use super::error::{RbmError, Result, setting};
use super::model::{Rbm, Visible, mean_squared_difference, sample_bernoulli_into};
use optim::checkpoint::{Restore, TrainingFile, TrainingParts};
use optim::linalg::gemm;
use optim::train::{EpochRecord, Evaluation, History, Progress};
use optim::{Float, Mat};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Settings of a CD-k / PCD run. Defaults: Hinton's guide (A Practical Guide to Training
/// Restricted Boltzmann Machines, 2010).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdConfig {
    /// Gibbs rounds per update `k` (≥ 1). Default 1.
    pub k: usize,
    /// Persistent chains (PCD) instead of chains restarted at the data. Default false.
    pub persistent: bool,
    /// Learning rate `ε`. Default 0.1 (guide §4 for binary units; use ~0.001 for Gaussian ones).
    pub learning_rate: f64,
    /// Momentum of the first `momentum_epochs` epochs. Default 0.5 (guide §9).
    pub initial_momentum: f64,
    /// Momentum afterwards. Default 0.9.
    pub momentum: f64,
    /// Epochs at `initial_momentum`. Default 5.
    pub momentum_epochs: usize,
    /// L2 weight decay `λ` on `W`. Default 2·10⁻⁴ (guide §10).
    pub weight_decay: f64,
    /// Mini-batch size. Default 100 (guide §4 suggests 10–100).
    pub batch_size: usize,
    /// Epochs. Default 10.
    pub epochs: usize,
    /// Seed of the shuffles and the Gibbs chains.
    pub seed: u64,
    /// Sample the last visible reconstruction instead of using its probabilities.
    pub sample_visible: bool,
    /// Compute the pseudo-log-likelihood and free-energy gap after each epoch, on at most this
    /// many examples (0: no monitoring beyond the reconstruction error). Default 500.
    pub monitor_examples: usize,
    /// Data-parallel parts per mini-batch, as `optim::train::TrainConfig::shards`: the batch's
    /// columns are cut into this many contiguous parts whose Gibbs chains and statistics run on
    /// their own threads; the update averages the parts' statistics weighted by their sizes.
    /// The same seed and `shards` give the same bits at any thread count. Default 1.
    #[serde(default = "one")]
    pub shards: usize,
}

fn one() -> usize {
    1
}

impl Default for CdConfig {
    fn default() -> Self {
        CdConfig {
            k: 1,
            persistent: false,
            learning_rate: 0.1,
            initial_momentum: 0.5,
            momentum: 0.9,
            momentum_epochs: 5,
            weight_decay: 2e-4,
            batch_size: 100,
            epochs: 10,
            seed: 0,
            sample_visible: false,
            monitor_examples: 500,
            shards: 1,
        }
    }
}

impl CdConfig {
    /// CD-`k` for `epochs` epochs, guide defaults otherwise.
    pub fn cd(k: usize, epochs: usize) -> Self {
        CdConfig {
            k,
            epochs,
            ..CdConfig::default()
        }
    }

    /// PCD with `k` rounds per update for `epochs` epochs.
    pub fn pcd(k: usize, epochs: usize) -> Self {
        CdConfig {
            k,
            epochs,
            persistent: true,
            ..CdConfig::default()
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`RbmError::Setting`] naming the setting: `k = 0`, batch size 0, a learning rate that is
    /// not positive and finite, a momentum outside `[0, 1)`, a negative weight decay.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(setting(
                "k",
                0,
                "contrastive divergence needs at least one Gibbs round",
            ));
        }
        if self.batch_size == 0 {
            return Err(setting("batch_size", 0, "must be at least 1"));
        }
        if !(1..=optim::train::MAX_SHARDS).contains(&self.shards) {
            return Err(setting(
                "shards",
                self.shards,
                "must be between 1 and optim::train::MAX_SHARDS",
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(setting(
                "learning_rate",
                self.learning_rate,
                "must be positive and finite",
            ));
        }
        for (name, m) in [
            ("initial_momentum", self.initial_momentum),
            ("momentum", self.momentum),
        ] {
            if !(m.is_finite() && (0.0..1.0).contains(&m)) {
                return Err(setting(name, m, "must lie in [0, 1)"));
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(setting(
                "weight_decay",
                self.weight_decay,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// The log-likelihood ascent direction for `W`, `b`, `c` (batch means).
#[derive(Debug, Clone, PartialEq)]
pub struct RbmGradient<F: Float> {
    /// `∂/∂W`, `n_h x n_v`.
    pub weight: Mat<F>,
    /// `∂/∂b`, `n_v x 1`.
    pub visible_bias: Mat<F>,
    /// `∂/∂c`, `n_h x 1`.
    pub hidden_bias: Mat<F>,
}

impl<F: Float> RbmGradient<F> {
    /// All entries, `W` then `b` then `c`, in `f64`.
    pub fn flat(&self) -> Vec<f64> {
        self.weight
            .iter()
            .chain(self.visible_bias.iter())
            .chain(self.hidden_bias.iter())
            .map(|x| x.to_f64())
            .collect()
    }
}

/// Every buffer of a CD step, allocated once per run (batch `B`).
struct Workspace<F: Float> {
    v0: Mat<F>,
    h0: Mat<F>,
    hs: Mat<F>,
    vm: Mat<F>,
    vs: Mat<F>,
    hk: Mat<F>,
    chain: Option<Mat<F>>,
    dw: Mat<F>,
    db: Mat<F>,
    dc: Mat<F>,
    ones: Mat<F>,
}

impl<F: Float> Workspace<F> {
    fn new(rbm: &Rbm<F>, batch: usize) -> Self {
        let (nv, nh) = (rbm.visible(), rbm.hidden());
        Workspace {
            v0: Mat::zeros(nv, batch),
            h0: Mat::zeros(nh, batch),
            hs: Mat::zeros(nh, batch),
            vm: Mat::zeros(nv, batch),
            vs: Mat::zeros(nv, batch),
            hk: Mat::zeros(nh, batch),
            chain: None,
            dw: Mat::zeros(nh, nv),
            db: Mat::zeros(nv, 1),
            dc: Mat::zeros(nh, 1),
            ones: Mat::from_element(batch, 1, F::one()),
        }
    }

    /// Fills `dw, db, dc` with the CD-k (or PCD) statistics of the batch in `v0`, divided by
    /// `B`; returns the mean squared error of the first reconstruction `p(v | h¹)`. With
    /// `weights = false` it leaves `dw` alone (the caller forms it from `h0, v0, hk, vs`).
    fn statistics<R: Rng + ?Sized>(
        &mut self,
        rbm: &Rbm<F>,
        k: usize,
        persistent: bool,
        sample_visible: bool,
        weights: bool,
        rng: &mut R,
    ) -> f64 {
        let inv_b = F::one() / F::of(self.v0.ncols() as f64);
        // positive phase: p(h | v⁰), ⟨h vᵀ⟩_data
        rbm.hidden_probs_into(&self.v0, &mut self.h0);
        if weights {
            gemm(
                inv_b,
                &self.h0,
                false,
                &self.v0,
                true,
                F::zero(),
                &mut self.dw,
            );
        }
        gemm(
            inv_b,
            &self.v0,
            false,
            &self.ones,
            false,
            F::zero(),
            &mut self.db,
        );
        gemm(
            inv_b,
            &self.h0,
            false,
            &self.ones,
            false,
            F::zero(),
            &mut self.dc,
        );
        // start of the negative chain
        if persistent {
            let chain = self.chain.get_or_insert_with(|| self.v0.clone());
            rbm.hidden_probs_into(chain, &mut self.hk);
            sample_bernoulli_into(&self.hk, &mut self.hs, rng);
        } else {
            sample_bernoulli_into(&self.h0, &mut self.hs, rng);
        }
        let mut first_error = 0.0;
        for step in 1..=k {
            rbm.visible_means_into(&self.hs, &mut self.vm);
            if step == 1 {
                first_error = mean_squared_difference(&self.v0, &self.vm);
            }
            let sample = step < k || sample_visible || persistent;
            if sample {
                rbm.sample_visible_into(&self.vm, &mut self.vs, rng);
            } else {
                self.vs.copy_from(&self.vm);
            }
            rbm.hidden_probs_into(&self.vs, &mut self.hk);
            if step < k {
                sample_bernoulli_into(&self.hk, &mut self.hs, rng);
            }
        }
        // negative phase: ⟨h vᵀ⟩_model ≈ p(h | vᵏ) vᵏᵀ
        if weights {
            gemm(
                -inv_b,
                &self.hk,
                false,
                &self.vs,
                true,
                F::one(),
                &mut self.dw,
            );
        }
        gemm(
            -inv_b,
            &self.vs,
            false,
            &self.ones,
            false,
            F::one(),
            &mut self.db,
        );
        gemm(
            -inv_b,
            &self.hk,
            false,
            &self.ones,
            false,
            F::one(),
            &mut self.dc,
        );
        if let Some(chain) = self.chain.as_mut() {
            chain.copy_from(&self.vs);
        }
        first_error
    }
}

/// The workspaces of a mini-batch cut into data-parallel parts (one for `shards = 1`), and the
/// batch's statistics.
///
/// The Gibbs chains of different columns are independent, so each part runs its columns'
/// chains (products `W v` of its columns, the sigmoids and the sampling) on its own thread.
/// The weight statistic is then one product over the whole batch,
///
/// ```text
/// ΔW = (1/B) (H⁰ V⁰ᵀ − Hᵏ Vᵏᵀ) = (1/B) [H⁰ | −Hᵏ] [V⁰ | Vᵏ]ᵀ
/// ```
///
/// (`B x 2` columns gathered from the parts), written once and split by the product over the
/// threads — not one `nh x nv` matrix per part and per phase, whose writes bound the step.
struct Parts<F: Float> {
    parts: Vec<Workspace<F>>,
    rngs: Vec<optim::StdRng>,
    errors: Vec<f64>,
    batch: usize,
    /// `[H⁰ | −Hᵏ]`, `nh x 2B`.
    h: Mat<F>,
    /// `[V⁰ | Vᵏ]`, `nv x 2B`.
    v: Mat<F>,
    dw: Mat<F>,
    db: Mat<F>,
    dc: Mat<F>,
}

impl<F: Float> Parts<F> {
    fn new(rbm: &Rbm<F>, batch: usize, shards: usize) -> Self {
        let k = shards.min(batch).max(1);
        let (nv, nh) = (rbm.visible(), rbm.hidden());
        Parts {
            parts: (0..k)
                .map(|s| Workspace::new(rbm, optim::train::part_range(batch, k, s).len()))
                .collect(),
            rngs: (1..k).map(|_| optim::rng(0)).collect(),
            errors: vec![0.0; k],
            batch,
            h: Mat::zeros(nh, 2 * batch),
            v: Mat::zeros(nv, 2 * batch),
            dw: Mat::zeros(nh, nv),
            db: Mat::zeros(nv, 1),
            dc: Mat::zeros(nh, 1),
        }
    }

    /// Batch `b` of the epoch's `order` into the parts' `v⁰` (wrapping around to the epoch's
    /// first examples).
    fn gather(&mut self, data: &Mat<F>, order: &[usize], b: usize) {
        let (nv, n, k) = (data.nrows(), order.len(), self.parts.len());
        for (s, ws) in self.parts.iter_mut().enumerate() {
            let first = optim::train::part_range(self.batch, k, s).start;
            for (slot, dst) in ws.v0.as_mut_slice().chunks_exact_mut(nv).enumerate() {
                let idx = order[(b * self.batch + first + slot) % n];
                dst.copy_from_slice(&data.as_slice()[idx * nv..(idx + 1) * nv]);
            }
        }
    }

    /// The batch's statistics into `dw, db, dc`: every part's chain
    /// ([`Workspace::statistics`] without the weight product), part 0 drawing from `rng` and
    /// part `s ≥ 1` from a generator seeded with `seed + s` (`optim::train::part_seed`), each on
    /// its own thread with products on one thread; then `db, dc ← Σ_s (B_s/B)` of the parts'
    /// means and the one weight product above. Returns the batch's mean reconstruction error.
    fn statistics(
        &mut self,
        rbm: &Rbm<F>,
        config: &CdConfig,
        rng: &mut optim::StdRng,
        seed: u64,
    ) -> f64 {
        use rand::SeedableRng;
        use rayon::prelude::*;
        let (k, persistent, sample) = (config.k, config.persistent, config.sample_visible);
        if self.parts.len() == 1 {
            self.errors[0] = self.parts[0].statistics(rbm, k, persistent, sample, false, rng);
        } else {
            for (s, r) in self.rngs.iter_mut().enumerate() {
                *r = optim::StdRng::seed_from_u64(seed.wrapping_add(s as u64 + 1));
            }
            let (first, rest) = self.parts.split_first_mut().expect("at least one part");
            let (e0, rest_errors) = self.errors.split_first_mut().expect("one error per part");
            let rngs = &mut self.rngs;
            rayon::join(
                || {
                    *e0 = optim::linalg::with_threads(1, || {
                        first.statistics(rbm, k, persistent, sample, false, rng)
                    })
                },
                || {
                    rest.par_iter_mut()
                        .zip(rngs.par_iter_mut())
                        .zip(rest_errors.par_iter_mut())
                        .for_each(|((ws, r), e)| {
                            *e = optim::linalg::with_threads(1, || {
                                ws.statistics(rbm, k, persistent, sample, false, r)
                            });
                        });
                },
            );
        }
        // [H⁰ | −Hᵏ] and [V⁰ | Vᵏ] from the parts' columns; db, dc as weighted means
        let b = self.batch;
        let (nv, nh) = (self.v.nrows(), self.h.nrows());
        let (h, v) = (self.h.as_mut_slice(), self.v.as_mut_slice());
        let (h_pos, h_neg) = h.split_at_mut(nh * b);
        let (v_pos, v_neg) = v.split_at_mut(nv * b);
        let mut at = 0;
        self.db.fill(F::zero());
        self.dc.fill(F::zero());
        for ws in &self.parts {
            let cols = ws.v0.ncols();
            let share = F::of(cols as f64 / b as f64);
            h_pos[nh * at..nh * (at + cols)].copy_from_slice(ws.h0.as_slice());
            for (d, &x) in h_neg[nh * at..nh * (at + cols)]
                .iter_mut()
                .zip(ws.hk.as_slice())
            {
                *d = -x;
            }
            v_pos[nv * at..nv * (at + cols)].copy_from_slice(ws.v0.as_slice());
            v_neg[nv * at..nv * (at + cols)].copy_from_slice(ws.vs.as_slice());
            self.db.zip_apply(&ws.db, |d, x| *d += share * x);
            self.dc.zip_apply(&ws.dc, |d, x| *d += share * x);
            at += cols;
        }
        let inv_b = F::one() / F::of(b as f64);
        gemm(
            inv_b,
            &self.h,
            false,
            &self.v,
            true,
            F::zero(),
            &mut self.dw,
        );
        self.parts
            .iter()
            .zip(&self.errors)
            .map(|(ws, e)| e * ws.v0.ncols() as f64 / b as f64)
            .sum()
    }
}

impl<F: Float> Rbm<F> {
    /// The CD-k estimate of the log-likelihood gradient on the columns of `v`, chains started
    /// at the data, every Gibbs step sampled when `sample_visible` (the exact Markov chain, so
    /// that CD-k → the true gradient as `k → ∞`).
    ///
    /// # Errors
    /// As [`Rbm::check_data`]; `k = 0`.
    pub fn cd_gradient<R: Rng + ?Sized>(
        &self,
        v: &Mat<F>,
        k: usize,
        sample_visible: bool,
        rng: &mut R,
    ) -> Result<RbmGradient<F>> {
        self.check_data(v, "CD data")?;
        if k == 0 {
            return Err(setting(
                "k",
                0,
                "contrastive divergence needs at least one Gibbs round",
            ));
        }
        let mut ws = Workspace::new(self, v.ncols());
        ws.v0.copy_from(v);
        ws.statistics(self, k, false, sample_visible, true, rng);
        Ok(RbmGradient {
            weight: ws.dw,
            visible_bias: ws.db,
            hidden_bias: ws.dc,
        })
    }

    /// Trains by CD-k or PCD on the columns of `data` (`n_v x n`), reporting through optim's
    /// [`Progress`] after each batch and epoch, and returns optim's [`History`]:
    ///
    /// - `train_loss`: mean reconstruction MSE of the epoch's batches (first reconstruction);
    /// - `validation`: the held-out reconstruction MSE ([`Rbm::reconstruction_error`]);
    /// - `train_terms`: `pseudo_log_likelihood` (binary units) on up to `monitor_examples`
    ///   training examples, and `free_energy_gap` = mean F(held out) − mean F(training), the
    ///   guide's overfitting monitor (§6), on as many of each.
    ///
    /// Every batch has exactly `batch_size` examples: the last one of an epoch is filled up
    /// with the epoch's first examples, so the loop allocates nothing per batch.
    ///
    /// # Errors
    /// Invalid settings, data that does not fit, fewer examples than one batch... and
    /// [`RbmError::Diverged`] if a parameter becomes non-finite.
    pub fn train_cd(
        &mut self,
        data: &Mat<F>,
        validation: Option<&Mat<F>>,
        config: &CdConfig,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<History> {
        self.train_cd_resume(data, validation, config, None, on_progress)
            .map(|(h, _)| h)
    }

    /// [`Rbm::train_cd`] that can stop after any epoch and continue exactly, in this process or
    /// another ([`Rbm::save_training`] / [`Rbm::load_training`]): from the state `from` a run
    /// with the same settings returned (momentum velocities, persistent chains, the generator's
    /// position, the step count), it runs epochs `from.epoch() + 1 ..= config.epochs` and
    /// returns their history and the state after the last. `epochs = N`, then `2N` from the
    /// state, equals `2N` in one run, bit for bit.
    ///
    /// # Errors
    /// As [`Rbm::train_cd`]; a state of another run (seed, batch size, shards, sizes).
    pub fn train_cd_resume(
        &mut self,
        data: &Mat<F>,
        validation: Option<&Mat<F>>,
        config: &CdConfig,
        from: Option<&CdState<F>>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(History, CdState<F>)> {
        config.validate()?;
        self.check_data(data, "training data")?;
        if let Some(v) = validation {
            self.check_data(v, "validation data")?;
        }
        let n = data.ncols();
        if n == 0 {
            return Err(optim::Error::Data("training data: no examples".into()).into());
        }
        let batch = config.batch_size.min(n);
        let batches = n.div_ceil(batch);
        let mut parts = Parts::new(self, batch, config.shards);
        let (nv, nh) = (self.visible(), self.hidden());
        let mut order: Vec<usize> = (0..n).collect();
        let (mut rng, mut vel_w, mut vel_b, mut vel_c, first, mut step) = match from {
            None => (
                optim::rng(config.seed),
                Mat::<F>::zeros(nh, nv),
                Mat::<F>::zeros(nv, 1),
                Mat::<F>::zeros(nh, 1),
                1,
                0,
            ),
            Some(state) => {
                state.check(self, config, &parts, n)?;
                for (ws, chain) in parts.parts.iter_mut().zip(&state.chains) {
                    ws.chain = Some(chain.clone());
                }
                order.clone_from(&state.position.order);
                (
                    state.position.rng.generator(),
                    state.velocity_weight.clone(),
                    state.velocity_visible.clone(),
                    state.velocity_hidden.clone(),
                    state.position.epoch + 1,
                    state.position.step,
                )
            }
        };
        let words_before = from.map_or(0, |s| s.position.rng.words);
        let mut history = History::default();
        let lr = F::of(config.learning_rate);
        let decay = F::of(config.weight_decay);
        let monitor = config.monitor_examples.min(n);
        let train_monitor = (monitor > 0).then(|| columns(data, &(0..monitor).collect::<Vec<_>>()));
        let mut last = first - 1;
        for epoch in first..=config.epochs {
            let started = Instant::now();
            order.shuffle(&mut rng);
            let mu = F::of(if epoch <= config.momentum_epochs {
                config.initial_momentum
            } else {
                config.momentum
            });
            let mut error_sum = 0.0;
            for b in 0..batches {
                parts.gather(data, &order, b);
                let seed = optim::train::part_seed(config.seed, step as u64);
                let err = parts.statistics(self, config, &mut rng, seed);
                let ws = &parts;
                // Δθ ← μΔθ + ε(g − λW);  θ ← θ + Δθ
                let weight = self.weight.value.as_mut_slice();
                optim::simd::wide(|| {
                    for ((v, &g), w) in vel_w
                        .as_mut_slice()
                        .iter_mut()
                        .zip(ws.dw.as_slice())
                        .zip(weight.iter_mut())
                    {
                        *v = mu * *v + lr * (g - decay * *w);
                        *w += *v;
                    }
                });
                for ((v, &g), b) in vel_b
                    .as_mut_slice()
                    .iter_mut()
                    .zip(ws.db.as_slice())
                    .zip(self.visible_bias.value.as_mut_slice())
                {
                    *v = mu * *v + lr * g;
                    *b += *v;
                }
                for ((v, &g), c) in vel_c
                    .as_mut_slice()
                    .iter_mut()
                    .zip(ws.dc.as_slice())
                    .zip(self.hidden_bias.value.as_mut_slice())
                {
                    *v = mu * *v + lr * g;
                    *c += *v;
                }
                if !err.is_finite() || !self.weight.value[0].finite() {
                    return Err(RbmError::Diverged {
                        what: "reconstruction error or weight",
                        epoch,
                        batch: b + 1,
                    });
                }
                error_sum += err;
                step += 1;
                on_progress(Progress::Step {
                    epoch,
                    epochs: config.epochs,
                    batch: b + 1,
                    batches,
                    step,
                    loss: err,
                    learning_rate: config.learning_rate,
                });
            }
            let mut terms = Vec::new();
            let mut evaluation = None;
            if let Some(v) = validation {
                evaluation = Some(Evaluation::loss(self.reconstruction_error(v)?));
            }
            if let Some(tm) = &train_monitor {
                if self.units() == Visible::Bernoulli {
                    terms.push((
                        "pseudo_log_likelihood",
                        self.pseudo_log_likelihood(tm, &mut rng)?,
                    ));
                }
                if let Some(v) = validation {
                    let m = monitor.min(v.ncols());
                    if m > 0 {
                        terms.push((
                            "free_energy_gap",
                            free_energy_gap(
                                self,
                                &columns(tm, &(0..m).collect::<Vec<_>>()),
                                &columns(v, &(0..m).collect::<Vec<_>>()),
                            ),
                        ));
                    }
                }
            }
            history.epochs.push(EpochRecord {
                epoch,
                train_loss: error_sum / batches as f64,
                train_accuracy: None,
                train_terms: terms,
                validation: evaluation,
                learning_rate: config.learning_rate,
                seconds: started.elapsed().as_secs_f64(),
            });
            history.steps = step;
            last = epoch;
            on_progress(Progress::Epoch(history.epochs.last().expect("just pushed")));
        }
        let state = CdState {
            position: CdPosition {
                epoch: last,
                step,
                rng: optim::init::RngState::of(config.seed, words_before, &rng)?,
                order: order.clone(),
            },
            velocity_weight: vel_w,
            velocity_visible: vel_b,
            velocity_hidden: vel_c,
            chains: parts
                .parts
                .iter()
                .filter_map(|ws| ws.chain.clone())
                .collect(),
        };
        Ok((history, state))
    }

    /// Saves the machine, the settings `config` and the training `state` as one training-state
    /// file ([`optim::checkpoint::TrainingParts`], kind `rbm-training`: the parameters under
    /// `rbm.`, the velocities and persistent chains under `state.`, the position as JSON),
    /// atomically.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save_training(
        &mut self,
        path: impl AsRef<std::path::Path>,
        config: &CdConfig,
        state: &CdState<F>,
    ) -> Result<()> {
        let architecture = optim::checkpoint::Saveable::<F>::config(self);
        let mut parts =
            TrainingParts::new(TRAINING_KIND, &(architecture, config), &state.position)?
                .tensor("velocity.weight", &state.velocity_weight)
                .tensor("velocity.visible_bias", &state.velocity_visible)
                .tensor("velocity.hidden_bias", &state.velocity_hidden);
        for (s, chain) in state.chains.iter().enumerate() {
            parts = parts.tensor(&format!("chain.{s}"), chain);
        }
        Ok(parts.model("rbm", self).save(path)?)
    }

    /// Reads a file written by [`Rbm::save_training`]: the machine, its settings and the state
    /// for [`Rbm::train_cd_resume`]. Every size is checked against the file before anything of
    /// that size is allocated.
    ///
    /// # Errors
    /// An unreadable file, a file of another trainer, invalid settings, or tensors that are
    /// missing, misshapen, non-finite or not part of this trainer's state.
    pub fn load_training(
        path: impl AsRef<std::path::Path>,
    ) -> Result<(Self, CdConfig, CdState<F>)> {
        let path = path.as_ref();
        let mut file = TrainingFile::<F>::read(path, TRAINING_KIND)?;
        let (architecture, config): (super::model::RbmConfig, CdConfig) = file.config()?;
        config.validate()?;
        let position: CdPosition = file.position()?;
        if architecture.parameter_count() != Some(file.values_under("rbm")) {
            return Err(optim::Error::Checkpoint {
                path: path.into(),
                reason: format!(
                    "the configuration ({} visible, {} hidden units) does not match the {} values \
                     stored",
                    architecture.visible,
                    architecture.hidden,
                    file.values_under("rbm")
                ),
            }
            .into());
        }
        let mut rbm = Self::zeros(architecture)?;
        let (nv, nh) = (rbm.visible(), rbm.hidden());
        let velocity_weight = file.tensor("velocity.weight", nh, nv)?;
        let velocity_visible = file.tensor("velocity.visible_bias", nv, 1)?;
        let velocity_hidden = file.tensor("velocity.hidden_bias", nh, 1)?;
        // Chains: as many as the file holds under state.chain.N, each nv x (its part's size);
        // their number and sizes are checked against the settings by train_cd_resume.
        let mut chains = Vec::new();
        while let Some(cols) = file.state_columns(&format!("chain.{}", chains.len()), nv) {
            chains.push(file.tensor(&format!("chain.{}", chains.len()), nv, cols)?);
        }
        file.restore(&mut [Restore::model("rbm", &mut rbm)])?;
        Ok((
            rbm,
            config,
            CdState {
                position,
                velocity_weight,
                velocity_visible,
                velocity_hidden,
                chains,
            },
        ))
    }
}

/// The kind of an RBM's training-state file.
const TRAINING_KIND: &str = "rbm-training";

/// Where a CD / PCD run stands after an epoch (JSON in a training-state file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdPosition {
    /// The example order after the last epoch's shuffle (each epoch shuffles the previous
    /// order in place).
    pub order: Vec<usize>,
    /// Epochs completed.
    pub epoch: usize,
    /// Mini-batch updates done.
    pub step: usize,
    /// The run's generator (shuffles, the first part's Gibbs chain, monitoring).
    pub rng: optim::init::RngState,
}

/// Everything a CD / PCD run carries from one epoch to the next: the momentum velocities of
/// `W`, `b`, `c`, the persistent chains (one per data-parallel part, PCD only), and the
/// [`CdPosition`].
#[derive(Debug, Clone, PartialEq)]
pub struct CdState<F: Float> {
    /// The position.
    pub position: CdPosition,
    /// `ΔW`, `n_h x n_v`.
    pub velocity_weight: Mat<F>,
    /// `Δb`, `n_v x 1`.
    pub velocity_visible: Mat<F>,
    /// `Δc`, `n_h x 1`.
    pub velocity_hidden: Mat<F>,
    /// The persistent chains' visible states, one `n_v x part` matrix per part (empty for CD).
    pub chains: Vec<Mat<F>>,
}

impl<F: Float> CdState<F> {
    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.position.epoch
    }

    /// Checks that this state continues a run of `config` of `rbm` on `n` examples.
    fn check(&self, rbm: &Rbm<F>, config: &CdConfig, parts: &Parts<F>, n: usize) -> Result<()> {
        let (nv, nh) = (rbm.visible(), rbm.hidden());
        let chains_ok = if config.persistent && self.position.step > 0 {
            self.chains.len() == parts.parts.len()
                && self
                    .chains
                    .iter()
                    .zip(&parts.parts)
                    .all(|(c, ws)| c.shape() == ws.v0.shape())
        } else {
            self.chains.is_empty()
        };
        let batches = n.div_ceil(config.batch_size.min(n));
        let problem = if self.position.rng.seed != config.seed {
            Some(format!(
                "was seeded with {}, not {}",
                self.position.rng.seed, config.seed
            ))
        } else if self.velocity_weight.shape() != (nh, nv)
            || self.velocity_visible.shape() != (nv, 1)
            || self.velocity_hidden.shape() != (nh, 1)
        {
            Some("has velocities of another machine's size".into())
        } else if !chains_ok {
            Some(format!(
                "holds {} persistent chains, this run keeps {}",
                self.chains.len(),
                if config.persistent {
                    parts.parts.len()
                } else {
                    0
                }
            ))
        } else if !optim::data::is_permutation(&self.position.order, n) {
            Some(format!(
                "holds an example order of {} entries that is not a permutation of 0..{n}",
                self.position.order.len()
            ))
        } else if self.position.step != self.position.epoch * batches {
            Some(format!(
                "took {} steps in {} epochs; this run takes {batches} a epoch",
                self.position.step, self.position.epoch
            ))
        } else {
            None
        };
        match problem {
            Some(p) => Err(optim::Error::Data(format!(
                "train_cd_resume: the saved training state {p}; it cannot continue this run"
            ))
            .into()),
            None => Ok(()),
        }
    }
}

/// Mean `F(held out) − F(training)` (Hinton's guide §6): it grows when the model starts to
/// overfit, since the training data's free energy falls and the held-out data's does not.
pub fn free_energy_gap<F: Float>(rbm: &Rbm<F>, train: &Mat<F>, held_out: &Mat<F>) -> f64 {
    let mean = |v: &Mat<F>| {
        let f = rbm.free_energy(v);
        f.iter().sum::<f64>() / f.len().max(1) as f64
    };
    mean(held_out) - mean(train)
}

fn columns<F: Float>(m: &Mat<F>, idx: &[usize]) -> Mat<F> {
    optim::data::select_columns(m, idx)
}
