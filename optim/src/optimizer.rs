//! Optimizers (notes §5.2: "trade noise for scalability"; momentum, accelerated gradient, Adam).
//!
//! Every update is PyTorch's (`torch.optim`, default `foreach=False` semantics) so a model trained
//! here and there follows the same trajectory. With `g` the gradient, `p` the parameter, `t` the
//! step count (from 1) and `λ` the weight decay:
//!
//! | optimizer | update |
//! |---|---|
//! | [`Sgd`] | `g ← g + λp`; with momentum `μ`: `b ← μ b + (1 − τ) g` (`b = g` at t = 1), Nesterov `g ← g + μ b`, else `g ← b`; `p ← p − η g` |
//! | [`Adagrad`] | `g ← g + λp`; `s ← s + g²`; `p ← p − η_t g / (√s + ε)`, `η_t = η / (1 + (t−1)·decay)` |
//! | [`RmsProp`] | `g ← g + λp`; `v ← α v + (1−α) g²`; centred: `m ← α m + (1−α) g`, `v̂ = v − m²`; `p ← p − η g / (√v̂ + ε)` (with momentum `μ`: `b ← μ b + g/(√v̂ + ε)`, `p ← p − η b`) |
//! | [`Adam`] | `g ← g + λp` (L2, coupled); `m ← β₁m + (1−β₁)g`; `v ← β₂v + (1−β₂)g²`; `p ← p − (η/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)` |
//! | [`Adam`] with `decoupled` (AdamW) | `p ← p(1 − ηλ)` first, then the Adam step without `λp` in `g` |
//!
//! Optimizer state lives per parameter *position* (the model's fixed visiting order), so a step
//! builds no strings; [`Optimizer::export_state`] and [`Optimizer::import_state`] translate it to
//! and from names for checkpoints, which makes an interrupted run resume exactly.
//!
//! Only the buffers a configuration uses are allocated, and only those are exported, under
//! PyTorch's state names: SGD's `momentum_buffer` only with momentum, AdaGrad's `sum`, RMSProp's
//! `square_avg` (plus `grad_avg` when centred and `momentum_buffer` with momentum), Adam's
//! `exp_avg` and `exp_avg_sq` (plus `max_exp_avg_sq` with AMSGrad).

use crate::{Error, Float, Mat, Param, Parameters, Result, flush_subnormal};

/// One optimizer step over a model's parameters.
pub trait Optimizer<F: Float> {
    /// Applies one update to every parameter from its accumulated gradient.
    ///
    /// # Errors
    /// If the model's parameters changed number or shape since the first step.
    fn step(&mut self, model: &mut dyn Parameters<F>) -> Result<()>;
    /// The current learning rate `η`.
    fn learning_rate(&self) -> f64;
    /// Sets `η` (schedules call this before each step).
    fn set_learning_rate(&mut self, lr: f64);
    /// Number of steps taken.
    fn steps(&self) -> u64;
    /// The state as named tensors: `"{param}.{slot}"` per buffer (e.g. `layer.0.weight.exp_avg`)
    /// and `"step"` as a `1 x 1` matrix.
    fn export_state(&self, model: &mut dyn Parameters<F>) -> Vec<(String, Mat<F>)>;
    /// Restores state written by [`Optimizer::export_state`] for the same architecture.
    ///
    /// # Errors
    /// If a tensor is missing or has the wrong shape.
    fn import_state(
        &mut self,
        model: &mut dyn Parameters<F>,
        state: &[(String, Mat<F>)],
    ) -> Result<()>;
}

/// Per-parameter buffers, by position, with the names of the slots.
///
/// Only the slots an optimizer's configuration uses are allocated (`active`): Adam keeps
/// `max_exp_avg_sq` only with AMSGrad, RMSProp keeps `grad_avg` only when centred and
/// `momentum_buffer` only with momentum, SGD keeps `momentum_buffer` only with momentum — as
/// PyTorch does. An unused slot holds an empty `0 x 0` matrix (no allocation) and is neither
/// exported nor required on import (a saved tensor for it is ignored).
#[derive(Debug, Clone)]
struct Slots<F: Float> {
    names: &'static [&'static str],
    t: u64,
    /// Shape of each parameter seen at the first step.
    shapes: Vec<(usize, usize)>,
    /// One `Vec` per parameter, one matrix per slot (empty for an unused slot).
    buffers: Vec<Vec<Mat<F>>>,
}

impl<F: Float> Slots<F> {
    fn new(names: &'static [&'static str]) -> Self {
        Slots {
            names,
            t: 0,
            shapes: Vec::new(),
            buffers: Vec::new(),
        }
    }

    /// Runs `update(param, buffers)` for each parameter, creating zeroed buffers for the
    /// `active` slots on the first step and checking shapes on later ones.
    fn for_each(
        &mut self,
        model: &mut dyn Parameters<F>,
        active: &[bool],
        mut update: impl FnMut(&mut Param<F>, &mut [Mat<F>]),
    ) -> Result<()> {
        debug_assert_eq!(active.len(), self.names.len());
        let first = self.buffers.is_empty();
        let mut index = 0;
        let mut err = None;
        let Slots {
            shapes, buffers, ..
        } = self;
        model.visit_params(&mut |name, p| {
            if err.is_some() {
                return;
            }
            let (rows, cols) = p.value.shape();
            if first {
                shapes.push((rows, cols));
                buffers.push(
                    active
                        .iter()
                        .map(|&on| {
                            if on {
                                Mat::zeros(rows, cols)
                            } else {
                                Mat::zeros(0, 0)
                            }
                        })
                        .collect(),
                );
            }
            match (shapes.get(index), buffers.get_mut(index)) {
                (Some(&shape), Some(b)) if shape == (rows, cols) => update(p, b),
                _ => {
                    err = Some(Error::Data(format!(
                        "optimizer: parameter {name} (position {index}) does not match the \
                         parameters of earlier steps"
                    )))
                }
            }
            index += 1;
        });
        if err.is_none() && index != self.buffers.len() {
            err = Some(Error::Data(format!(
                "optimizer: model has {index} parameters, earlier steps saw {}",
                self.buffers.len()
            )));
        }
        err.map_or(Ok(()), Err)
    }

    fn export(&self, model: &mut dyn Parameters<F>, active: &[bool]) -> Vec<(String, Mat<F>)> {
        let mut out = vec![(
            "step".to_string(),
            Mat::from_element(1, 1, F::of(self.t as f64)),
        )];
        let mut i = 0;
        model.visit_params(&mut |name, _| {
            if let Some(bufs) = self.buffers.get(i) {
                for ((slot, b), &on) in self.names.iter().zip(bufs).zip(active) {
                    if on {
                        out.push((format!("{name}.{slot}"), b.clone()));
                    }
                }
            }
            i += 1;
        });
        out
    }

    fn import(
        &mut self,
        model: &mut dyn Parameters<F>,
        state: &[(String, Mat<F>)],
        active: &[bool],
    ) -> Result<()> {
        let find = |key: &str| state.iter().find(|(n, _)| n == key).map(|(_, m)| m);
        let step = find("step").ok_or_else(|| Error::Data("optimizer state: no step".into()))?;
        let t = step.get(0).map(|v| v.to_f64()).unwrap_or(-1.0);
        // a whole number, and no more than 2^53 (beyond, f64 counts no longer step by one and
        // `t + 1` could overflow the counter)
        if !(t >= 0.0 && t.fract() == 0.0 && t <= 9_007_199_254_740_992.0) {
            return Err(Error::Data(format!("optimizer state: invalid step {t}")));
        }
        let mut shapes = Vec::new();
        let mut buffers = Vec::new();
        let mut err = None;
        let names = self.names;
        model.visit_params(&mut |name, p| {
            let (rows, cols) = p.value.shape();
            let mut bufs = Vec::new();
            for (slot, &on) in names.iter().zip(active) {
                if !on {
                    bufs.push(Mat::zeros(0, 0));
                    continue;
                }
                let key = format!("{name}.{slot}");
                match find(&key) {
                    Some(m) if m.shape() == (rows, cols) => bufs.push(m.clone()),
                    Some(m) => {
                        err.get_or_insert(Error::shape(
                            format!("optimizer state {key}"),
                            (rows, cols),
                            m.shape(),
                        ));
                    }
                    None if t == 0.0 => bufs.push(Mat::zeros(rows, cols)),
                    None => {
                        err.get_or_insert(Error::Data(format!("optimizer state: no {key}")));
                    }
                }
            }
            shapes.push((rows, cols));
            buffers.push(bufs);
        });
        if let Some(e) = err {
            return Err(e);
        }
        self.t = t as u64;
        if t == 0.0 {
            self.shapes.clear();
            self.buffers.clear();
        } else {
            self.shapes = shapes;
            self.buffers = buffers;
        }
        Ok(())
    }
}

fn check_lr(lr: f64) -> Result<()> {
    crate::check_positive("learning rate", lr)
}

fn check_decay(wd: f64) -> Result<()> {
    check_non_negative("weight_decay", wd)
}

fn check_non_negative(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::hyper(name, value, "must be finite and >= 0"))
    }
}

/// The trait methods every optimizer here implements alike: the learning rate lives in
/// `self.lr`, the state in `self.slots`, and `self.active()` lists the slots a configuration uses.
macro_rules! common_optimizer_methods {
    () => {
        fn learning_rate(&self) -> f64 {
            self.lr
        }
        fn set_learning_rate(&mut self, lr: f64) {
            self.lr = lr;
        }
        fn steps(&self) -> u64 {
            self.slots.t
        }
        fn export_state(&self, model: &mut dyn Parameters<F>) -> Vec<(String, Mat<F>)> {
            self.slots.export(model, &self.active())
        }
        fn import_state(
            &mut self,
            model: &mut dyn Parameters<F>,
            state: &[(String, Mat<F>)],
        ) -> Result<()> {
            self.slots.import(model, state, &self.active())
        }
    };
}

/// Stochastic gradient descent, optionally with heavy-ball or Nesterov momentum and L2 weight
/// decay (PyTorch's `torch.optim.SGD`).
#[derive(Debug, Clone)]
pub struct Sgd<F: Float> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    slots: Slots<F>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD, `p ← p − η g`.
    pub fn new(lr: f64) -> Result<Self> {
        check_lr(lr)?;
        Ok(Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            slots: Slots::new(&["momentum_buffer"]),
        })
    }

    /// Heavy-ball momentum `μ ∈ [0, 1)` (Polyak 1964).
    pub fn momentum(mut self, momentum: f64) -> Result<Self> {
        crate::check_range("momentum", momentum, 0.0, 1.0 - f64::EPSILON)?;
        if self.nesterov && momentum <= 0.0 {
            return Err(Error::hyper(
                "momentum",
                momentum,
                "Nesterov needs momentum > 0",
            ));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Dampening `τ` of the momentum buffer (PyTorch's `dampening`, default 0).
    pub fn dampening(mut self, dampening: f64) -> Result<Self> {
        crate::check_range("dampening", dampening, 0.0, 1.0)?;
        if self.nesterov && dampening != 0.0 {
            return Err(Error::hyper(
                "dampening",
                dampening,
                "Nesterov needs dampening = 0",
            ));
        }
        self.dampening = dampening;
        Ok(self)
    }

    /// Nesterov's accelerated gradient in PyTorch's form (needs momentum > 0 and no dampening).
    pub fn nesterov(mut self) -> Result<Self> {
        if self.momentum <= 0.0 || self.dampening != 0.0 {
            return Err(Error::hyper(
                "nesterov",
                true,
                "needs momentum > 0 and dampening = 0",
            ));
        }
        self.nesterov = true;
        Ok(self)
    }

    /// L2 weight decay `λ`: `g ← g + λ p`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        check_decay(weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }
}

impl<F: Float> Sgd<F> {
    /// Which of the slots (`momentum_buffer`) this configuration uses.
    fn active(&self) -> [bool; 1] {
        [self.momentum != 0.0]
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step(&mut self, model: &mut dyn Parameters<F>) -> Result<()> {
        self.slots.t += 1;
        let first = self.slots.t == 1;
        let (lr, mu, tau, wd, nesterov) = (
            F::of(self.lr),
            F::of(self.momentum),
            F::of(self.dampening),
            F::of(self.weight_decay),
            self.nesterov,
        );
        let active = self.active();
        let use_momentum = active[0];
        self.slots.for_each(model, &active, |p, bufs| {
            // Slices, not nalgebra's strided iterators, which are ~20x slower.
            let (value, grad) = (p.value.as_mut_slice(), p.grad.as_slice());
            if !use_momentum {
                for (w, &g0) in value.iter_mut().zip(grad) {
                    *w -= lr * (g0 + wd * *w);
                }
                return;
            }
            let buf = bufs[0].as_mut_slice();
            for ((w, &g0), b) in value.iter_mut().zip(grad).zip(buf) {
                let g = g0 + wd * *w;
                // the velocity of a zero gradient decays by μ a step: flushed before it turns
                // subnormal (see `flush_subnormal`)
                *b = if first {
                    g
                } else {
                    flush_subnormal(mu * *b + (F::one() - tau) * g)
                };
                *w -= lr * if nesterov { g + mu * *b } else { *b };
            }
        })
    }
    common_optimizer_methods!();
}

/// AdaGrad (Duchi et al. 2011), PyTorch's `torch.optim.Adagrad`.
#[derive(Debug, Clone)]
pub struct Adagrad<F: Float> {
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator: f64,
    eps: f64,
    slots: Slots<F>,
}

impl<F: Float> Adagrad<F> {
    /// AdaGrad with `ε = 1e-10`, no decay (PyTorch's defaults).
    pub fn new(lr: f64) -> Result<Self> {
        check_lr(lr)?;
        Ok(Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator: 0.0,
            eps: 1e-10,
            slots: Slots::new(&["sum"]),
        })
    }
    /// Learning-rate decay: `η_t = η / (1 + (t − 1)·decay)`.
    pub fn lr_decay(mut self, decay: f64) -> Result<Self> {
        check_non_negative("lr_decay", decay)?;
        self.lr_decay = decay;
        Ok(self)
    }
    /// L2 weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Result<Self> {
        check_decay(wd)?;
        self.weight_decay = wd;
        Ok(self)
    }
    /// Starting value of the squared-gradient sum.
    pub fn initial_accumulator(mut self, value: f64) -> Result<Self> {
        check_non_negative("initial_accumulator_value", value)?;
        self.initial_accumulator = value;
        Ok(self)
    }
    /// `ε` in the denominator.
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        crate::check_positive("eps", eps)?;
        self.eps = eps;
        Ok(self)
    }
}

impl<F: Float> Adagrad<F> {
    /// Adagrad always uses its one slot, `sum`.
    fn active(&self) -> [bool; 1] {
        [true]
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    fn step(&mut self, model: &mut dyn Parameters<F>) -> Result<()> {
        let first = self.slots.t == 0;
        self.slots.t += 1;
        let t = self.slots.t as f64;
        let clr = F::of(self.lr / (1.0 + (t - 1.0) * self.lr_decay));
        let (wd, eps, init) = (
            F::of(self.weight_decay),
            F::of(self.eps),
            F::of(self.initial_accumulator),
        );
        self.slots.for_each(model, &self.active(), |p, bufs| {
            let sum = bufs[0].as_mut_slice();
            if first {
                sum.fill(init);
            }
            let (value, grad) = (p.value.as_mut_slice(), p.grad.as_slice());
            for ((w, &g0), s) in value.iter_mut().zip(grad).zip(sum) {
                let g = g0 + wd * *w;
                *s += g * g;
                *w -= clr * g / (s.sqrt() + eps);
            }
        })
    }
    common_optimizer_methods!();
}

/// RMSProp (Tieleman & Hinton 2012), PyTorch's `torch.optim.RMSprop`.
#[derive(Debug, Clone)]
pub struct RmsProp<F: Float> {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    slots: Slots<F>,
}

impl<F: Float> RmsProp<F> {
    /// RMSProp with `α = 0.99`, `ε = 1e-8` (PyTorch's defaults).
    pub fn new(lr: f64) -> Result<Self> {
        check_lr(lr)?;
        Ok(RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            slots: Slots::new(&["square_avg", "grad_avg", "momentum_buffer"]),
        })
    }
    /// Smoothing constant `α ∈ [0, 1)`.
    pub fn alpha(mut self, alpha: f64) -> Result<Self> {
        crate::check_range("alpha", alpha, 0.0, 1.0 - f64::EPSILON)?;
        self.alpha = alpha;
        Ok(self)
    }
    /// `ε` in the denominator.
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        crate::check_positive("eps", eps)?;
        self.eps = eps;
        Ok(self)
    }
    /// L2 weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Result<Self> {
        check_decay(wd)?;
        self.weight_decay = wd;
        Ok(self)
    }
    /// Momentum `μ ∈ [0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self> {
        crate::check_range("momentum", momentum, 0.0, 1.0 - f64::EPSILON)?;
        self.momentum = momentum;
        Ok(self)
    }
    /// Centred variant: normalize by an estimate of the variance instead of the second moment.
    pub fn centered(mut self) -> Self {
        self.centered = true;
        self
    }
}

impl<F: Float> RmsProp<F> {
    /// Which of the slots (`square_avg`, `grad_avg`, `momentum_buffer`) this configuration uses.
    fn active(&self) -> [bool; 3] {
        [true, self.centered, self.momentum > 0.0]
    }
}

impl<F: Float> Optimizer<F> for RmsProp<F> {
    fn step(&mut self, model: &mut dyn Parameters<F>) -> Result<()> {
        self.slots.t += 1;
        let (lr, alpha, eps, wd, mu) = (
            F::of(self.lr),
            F::of(self.alpha),
            F::of(self.eps),
            F::of(self.weight_decay),
            F::of(self.momentum),
        );
        let (centered, use_momentum) = (self.centered, self.momentum > 0.0);
        let one = F::one();
        let active = self.active();
        self.slots.for_each(model, &active, |p, bufs| {
            let [sq, ga, mb] = bufs else { unreachable!() };
            // Slices (unused slots are empty and never indexed), not nalgebra's slower indexing.
            let (sq, ga, mb) = (sq.as_mut_slice(), ga.as_mut_slice(), mb.as_mut_slice());
            let (value, grad) = (p.value.as_mut_slice(), p.grad.as_slice());
            for i in 0..value.len() {
                let w = value[i];
                let g = grad[i] + wd * w;
                sq[i] = flush_subnormal(alpha * sq[i] + (one - alpha) * g * g);
                let var = if centered {
                    ga[i] = flush_subnormal(alpha * ga[i] + (one - alpha) * g);
                    sq[i] - ga[i] * ga[i]
                } else {
                    sq[i]
                };
                let avg = var.sqrt() + eps;
                if use_momentum {
                    mb[i] = flush_subnormal(mu * mb[i] + g / avg);
                    value[i] = w - lr * mb[i];
                } else {
                    value[i] = w - lr * g / avg;
                }
            }
        })
    }
    common_optimizer_methods!();
}

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), PyTorch's `torch.optim.Adam`
/// and `torch.optim.AdamW`.
#[derive(Debug, Clone)]
pub struct Adam<F: Float> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    amsgrad: bool,
    slots: Slots<F>,
}

impl<F: Float> Adam<F> {
    /// Adam with `β = (0.9, 0.999)`, `ε = 1e-8`, no weight decay (PyTorch's defaults).
    pub fn new(lr: f64) -> Result<Self> {
        check_lr(lr)?;
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            amsgrad: false,
            slots: Slots::new(&["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
        })
    }

    /// AdamW: decoupled weight decay `λ` (PyTorch's default `λ = 0.01`), `p ← p(1 − ηλ)` before
    /// the Adam step.
    pub fn adamw(lr: f64, weight_decay: f64) -> Result<Self> {
        let mut a = Self::new(lr)?;
        check_decay(weight_decay)?;
        a.weight_decay = weight_decay;
        a.decoupled = true;
        Ok(a)
    }

    /// `(β₁, β₂)`, each in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        crate::check_range("beta1", beta1, 0.0, 1.0 - f64::EPSILON)?;
        crate::check_range("beta2", beta2, 0.0, 1.0 - f64::EPSILON)?;
        self.beta1 = beta1;
        self.beta2 = beta2;
        Ok(self)
    }

    /// `ε` in the denominator.
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        crate::check_positive("eps", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// Coupled L2 weight decay (`g ← g + λp`, Adam's classic form); AdamW uses
    /// [`Adam::adamw`] instead.
    pub fn weight_decay(mut self, wd: f64) -> Result<Self> {
        check_decay(wd)?;
        self.weight_decay = wd;
        Ok(self)
    }

    /// AMSGrad: normalize by the running maximum of `v` (Reddi et al. 2018).
    pub fn amsgrad(mut self) -> Self {
        self.amsgrad = true;
        self
    }
}

impl<F: Float> Adam<F> {
    /// Which of the slots (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`) this configuration uses.
    fn active(&self) -> [bool; 3] {
        [true, true, self.amsgrad]
    }
}

/// The constants of one Adam step (no AMSGrad), for its element-wise pass.
#[derive(Clone, Copy)]
struct AdamPass<F> {
    b1: F,
    b2: F,
    l2: F,
    shrink: F,
    step_size: F,
    bias2_sqrt: F,
    eps: F,
}

impl<F: Float> AdamPass<F> {
    /// `g ← g + λw; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w·shrink − step·m/(√v/√(1−β₂ᵗ) + ε)`
    /// over one parameter. The two divisions and the square root dominate, so on x86-64 the
    /// same loop is also compiled for AVX-512 and AVX2 and chosen at run time (16 or 8 lanes
    /// instead of SSE2's 4). IEEE division and square root are correctly rounded at every
    /// width and nothing is fused, so every width gives the same bits.
    ///
    /// With more than one thread ([`crate::linalg::threads`]) a large parameter is cut into
    /// chunks that run on rayon's pool: the pass is element-wise and bound by memory
    /// bandwidth (four arrays read, three written), which a second core adds to. Every element
    /// gets the same arithmetic, so the bits do not depend on the split.
    fn run(self, value: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        const CHUNK: usize = 1 << 14;
        if value.len() >= 2 * CHUNK && crate::linalg::threads() > 1 {
            use rayon::prelude::*;
            value
                .par_chunks_mut(CHUNK)
                .zip(grad.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((w, g), m), v)| self.run_serial(w, g, m, v));
        } else {
            self.run_serial(value, grad, m, v);
        }
    }

    /// [`AdamPass::run`] on this thread.
    fn run_serial(self, value: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe {
                    return self.run_avx512(value, grad, m, v);
                }
            }
            if std::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe {
                    return self.run_avx2(value, grad, m, v);
                }
            }
        }
        self.run_portable(value, grad, m, v)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn run_avx512(self, value: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        self.run_portable(value, grad, m, v)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(self, value: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        self.run_portable(value, grad, m, v)
    }

    /// One zipped pass the compiler vectorizes: the same arithmetic in the same order as the
    /// indexed AMSGrad loop of [`Adam`]'s step, so results are bit-identical.
    #[inline(always)]
    fn run_portable(self, value: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        let one = F::one();
        let AdamPass {
            b1,
            b2,
            l2,
            shrink,
            step_size,
            bias2_sqrt,
            eps,
        } = self;
        for (((w, &g0), m), v) in value
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            let g = g0 + l2 * *w;
            // decaying moments of a zero gradient are flushed before they turn subnormal
            // (see `flush_subnormal`: a several-fold slowdown otherwise)
            *m = flush_subnormal(b1 * *m + (one - b1) * g);
            *v = flush_subnormal(b2 * *v + (one - b2) * g * g);
            let denom = v.sqrt() / bias2_sqrt + eps;
            *w = *w * shrink - step_size * *m / denom;
        }
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, model: &mut dyn Parameters<F>) -> Result<()> {
        self.slots.t += 1;
        let t = self.slots.t as i32;
        let bias1 = 1.0 - self.beta1.powi(t);
        let bias2 = 1.0 - self.beta2.powi(t);
        let step_size = F::of(self.lr / bias1);
        let bias2_sqrt = F::of(bias2.sqrt());
        let (b1, b2, eps) = (F::of(self.beta1), F::of(self.beta2), F::of(self.eps));
        let one = F::one();
        let (l2, shrink) = if self.decoupled {
            (F::zero(), F::of(1.0 - self.lr * self.weight_decay))
        } else {
            (F::of(self.weight_decay), one)
        };
        let amsgrad = self.amsgrad;
        let active = self.active();
        self.slots.for_each(model, &active, |p, bufs| {
            let [m, v, vmax] = bufs else { unreachable!() };
            // Slices (an unused `vmax` is empty and never indexed), not nalgebra's indexing.
            let (m, v, vmax) = (m.as_mut_slice(), v.as_mut_slice(), vmax.as_mut_slice());
            let (value, grad) = (p.value.as_mut_slice(), p.grad.as_slice());
            if !amsgrad {
                let k = AdamPass {
                    b1,
                    b2,
                    l2,
                    shrink,
                    step_size,
                    bias2_sqrt,
                    eps,
                };
                k.run(value, grad, m, v);
                return;
            }
            for i in 0..value.len() {
                let w = value[i] * shrink;
                let g = grad[i] + l2 * value[i];
                m[i] = flush_subnormal(b1 * m[i] + (one - b1) * g);
                v[i] = flush_subnormal(b2 * v[i] + (one - b2) * g * g);
                let second = if amsgrad {
                    if v[i] > vmax[i] {
                        vmax[i] = v[i];
                    }
                    vmax[i]
                } else {
                    v[i]
                };
                let denom = second.sqrt() / bias2_sqrt + eps;
                value[i] = w - step_size * m[i] / denom;
            }
        })
    }
    common_optimizer_methods!();
}

#[cfg(test)]
mod tests {
    use super::AdamPass;
    use rand::Rng;

    /// The run-time-dispatched pass (AVX-512 or AVX2 where the CPU has them) gives the same
    /// bits as the portable loop, including lengths that leave a tail after the wide lanes,
    /// moments on the edge of the subnormal range and zero gradients; and so does the pass
    /// cut in chunks over two threads (the longest length).
    fn same_bits<F: crate::Float>(of: impl Fn(f64) -> F) {
        let mut rng = crate::rng(7);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for len in [1usize, 3, 15, 16, 17, 33, 1000, 70_001] {
            let draw = |rng: &mut rand::rngs::StdRng, scale: f64| -> Vec<F> {
                (0..len)
                    .map(|i| match i % 7 {
                        0 => F::zero(),
                        1 => of(1e-37 * rng.random::<f64>()),
                        _ => of(scale * (rng.random::<f64>() - 0.5)),
                    })
                    .collect()
            };
            let (w, g, m) = (
                draw(&mut rng, 2.0),
                draw(&mut rng, 1.0),
                draw(&mut rng, 0.1),
            );
            let v: Vec<F> = draw(&mut rng, 0.01).iter().map(|x| x.abs()).collect();
            let k = AdamPass {
                b1: of(0.9),
                b2: of(0.999),
                l2: of(0.01),
                shrink: of(1.0),
                step_size: of(1e-3 / 0.1),
                bias2_sqrt: of(0.001f64.sqrt()),
                eps: of(1e-8),
            };
            let (mut w1, mut m1, mut v1) = (w.clone(), m.clone(), v.clone());
            let (mut w2, mut m2, mut v2) = (w, m, v);
            pool.install(|| {
                crate::linalg::with_threads(2, || k.run(&mut w1, &g, &mut m1, &mut v1));
            });
            k.run_portable(&mut w2, &g, &mut m2, &mut v2);
            let bits = |x: &[F]| x.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&w1), bits(&w2), "weights, length {len}");
            assert_eq!(bits(&m1), bits(&m2), "first moments, length {len}");
            assert_eq!(bits(&v1), bits(&v2), "second moments, length {len}");
        }
    }

    #[test]
    fn dispatched_adam_pass_gives_the_portable_bits_f32() {
        same_bits::<f32>(|x| x as f32);
    }

    #[test]
    fn dispatched_adam_pass_gives_the_portable_bits_f64() {
        same_bits::<f64>(|x| x);
    }
}
