//! Fuzzy neural networks: ANFIS, a Takagi–Sugeno fuzzy system written as a five-layer network
//! (notes §10, 模糊神经网络：不确定性建模, *fuzzy neural networks: modelling uncertainty*).
//!
//! A fuzzy rule says what to do *to a degree*: "IF `x₁` is *small* AND `x₂` is *large* THEN
//! `y = p·x + q`", where "small" is a fuzzy set with a graded membership `μ(x) ∈ [0, 1]`
//! ([`membership`]). A first-order **Takagi–Sugeno** system blends the linear consequents of all
//! rules by how strongly each one fires. Jang (1993) wrote it as a network whose premise
//! (membership) parameters and consequent (linear) parameters can both be learned — **ANFIS**,
//! the Adaptive-Network-based Fuzzy Inference System. Its five layers, named as Jang names them,
//! with `d` inputs, rules `r = 1…R` and `M(r, i)` the fuzzy set rule `r` uses for input `i`:
//!
//! ```text
//! Layer 1  membership (fuzzification), adaptive:   O¹_{i,j} = μ_{A_ij}(x_i)
//! Layer 2  firing strength (Π nodes, product t-norm): w_r = Π_i μ_{A_{i,M(r,i)}}(x_i)
//! Layer 3  normalization (N nodes):                 w̄_r = w_r / Σ_s w_s
//! Layer 4  consequent, adaptive:                    O⁴_r = w̄_r f_r,   f_r = p_r · x + q_r
//! Layer 5  output (Σ node):                         y = Σ_r w̄_r f_r
//! ```
//!
//! The premise parameters (layer 1) enter nonlinearly; the consequent parameters `p_r, q_r`
//! (layer 4) enter **linearly**: `y = Σ_r (w̄_r x)ᵀ p_r + w̄_r q_r`. Jang's **hybrid learning**
//! exploits this. Each epoch, in the *forward pass*, the inputs go through layers 1–3 and the
//! consequents are the least-squares solution of `min ‖A θ − t‖²` with one row
//! `[w̄_1 x, w̄_1, …, w̄_R x, w̄_R]` per example ([`Anfis::fit_consequents`]); in the *backward
//! pass* the error signals go back through layers 5 → 1 and the premise parameters take one
//! gradient step ([`train_hybrid`]). Plain gradient training of every parameter with an `optim`
//! optimizer is the alternative (`Anfis` implements [`optim::train::Trainable`]: `model.fit(..)`).
//!
//! # Backward pass
//!
//! With `δ_n = ∂L/∂y_n` (`1 x n`), `S_n = Σ_r w_rn`:
//!
//! ```text
//! layer 4:  ∂L/∂p_r = Σ_n δ_n w̄_rn x_n,     ∂L/∂q_r = Σ_n δ_n w̄_rn
//! layer 3:  ∂L/∂w̄_rn = δ_n f_rn
//!           ∂L/∂w_rn = (∂L/∂w̄_rn − Σ_s ∂L/∂w̄_sn w̄_sn) / S_n = δ_n (f_rn − y_n) / S_n
//! layer 2:  ∂L/∂μ_{i,j,n} = Σ_{r: M(r,i) = j} ∂L/∂w_rn Π_{i' ≠ i} μ_{i',M(r,i'),n}
//! layer 1:  ∂L/∂θ_{i,j} = Σ_n ∂L/∂μ_{i,j,n} ∂μ/∂θ   (membership gradients: see [`membership`])
//! input:    ∂L/∂x_in = Σ_j ∂L/∂μ_{i,j,n} ∂μ/∂x + Σ_r δ_n w̄_rn p_ri
//! ```
//!
//! The product over the *other* inputs is computed directly (not as `w_r / μ`), so a membership
//! of exactly `0` (outside a triangle) is no division by zero.
//!
//! # Example
//!
//! ```
//! use classic::anfis::{Anfis, HybridConfig, MfKind, train_hybrid};
//! use optim::Mat;
//! // y = sin(x) on [−3, 3] from 5 bell functions, trained by the hybrid rule
//! let x = Mat::<f64>::from_fn(1, 61, |_, j| -3.0 + 0.1 * j as f64);
//! let y = x.map(f64::sin);
//! let mut model = Anfis::grid(MfKind::Bell, &[5], &x).unwrap();
//! assert_eq!(model.num_rules(), 5);
//! let config = HybridConfig { epochs: 50, ..Default::default() };
//! let report = train_hybrid(&mut model, &x, &y, None, &config, &mut |_| {}).unwrap();
//! // epoch 1 is least squares alone from the initial functions (RMSE 0.025)
//! assert!(report.history.epochs[0].term("rmse").unwrap() > 0.02);
//! assert!(report.train_rmse < 1e-3, "{}", report.train_rmse);
//! // the rule base reads as text
//! assert!(model.rules_text(&["x"]).starts_with("rule 1: IF x is A1_1 THEN y = "));
//! ```

pub mod experiments;
pub mod membership;
mod rules;
mod train;

pub use membership::MfKind;
pub use rules::{AnfisConfig, Partition, Subtractive, subtractive_clustering};
pub use train::{
    HybridConfig, HybridPosition, HybridState, LeastSquaresReport, StepChange, StepSize,
    StepSizeState, TrainingReport, train_hybrid, train_hybrid_resume,
};

use optim::checkpoint::Saveable;
use optim::linalg::{gemm, resize_buffer};
use optim::{Error, Float, Mat, Param, Parameters, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// An input outside the range of the data the membership functions were initialized from
/// (a warning, not an error: the model still answers, but it extrapolates).
#[derive(Clone, Debug, PartialEq)]
pub struct OutOfRange {
    /// The input (row).
    pub input: usize,
    /// The example (column).
    pub example: usize,
    /// Its value.
    pub value: f64,
    /// The initialization range `[min, max]` of that input.
    pub range: (f64, f64),
}

/// The result of [`Anfis::predict`]: the outputs, and a warning for every input value outside
/// the initialization range.
#[derive(Clone, Debug)]
pub struct Prediction<F: Float> {
    /// `1 x n` outputs.
    pub output: Mat<F>,
    /// Inputs outside the range seen at initialization (empty when none).
    pub out_of_range: Vec<OutOfRange>,
}

impl<F: Float> Prediction<F> {
    /// Whether every input was inside the initialization range.
    pub fn in_range(&self) -> bool {
        self.out_of_range.is_empty()
    }
}

/// One membership function drawn over its input's range (for plots before and after training).
#[derive(Clone, Debug, PartialEq)]
pub struct MfCurve {
    /// The input it belongs to.
    pub input: usize,
    /// Its index among that input's functions.
    pub mf: usize,
    /// Its label in rule listings (`A{input+1}_{mf+1}`).
    pub label: String,
    /// Its parameters (in [`MfKind::param_names`] order).
    pub params: Vec<f64>,
    /// Abscissae, evenly spaced over the input's initialization range.
    pub xs: Vec<f64>,
    /// `μ(x)` at each abscissa.
    pub ys: Vec<f64>,
}

/// What the forward pass keeps for the backward pass (buffers reused between steps).
#[derive(Clone, Debug, Default)]
struct Cache<F: Float> {
    x: Mat<F>,
    /// Layer 1: per input, `m_i x n` memberships.
    mu: Vec<Mat<F>>,
    /// Layer 2: `R x n` firing strengths `w`.
    firing: Mat<F>,
    /// Layer 3: `R x n` normalized firing strengths `w̄`.
    normalized: Mat<F>,
    /// `1 x n` sums `S = Σ_r w_r`.
    total: Mat<F>,
    /// Layer 4: `R x n` rule outputs `f_r = p_r·x + q_r`.
    rule_out: Mat<F>,
    /// Layer 5: `1 x n` outputs.
    y: Mat<F>,
    /// `R x n` scratch: `δ w̄`, then `∂L/∂w`.
    grad_rules: Mat<F>,
    /// Per input, `m_i x n` gradients `∂L/∂μ`.
    dmu: Vec<Mat<F>>,
    /// `d x n` input gradient.
    dx: Mat<F>,
    valid: bool,
}

/// A first-order Takagi–Sugeno ANFIS with one output.
///
/// # Shapes
/// - `premise[i]` (parameter `premise.{i}`): `m_i x k`, row `j` holds the `k` parameters of
///   fuzzy set `A_{i+1, j+1}` of input `i` ([`MfKind::param_names`] order);
/// - `consequent_weight` (parameter `consequent.weight`): `R x d`, row `r` is `p_r`;
/// - `consequent_bias` (parameter `consequent.bias`): `R x 1`, `q_r`;
/// - buffer `input_range`: `d x 2`, each input's `[min, max]` at initialization.
///
/// Inputs are `d x n` (one column per example), outputs `1 x n`.
#[derive(Clone, Debug)]
pub struct Anfis<F: Float> {
    kind: MfKind,
    /// Premise (layer 1) parameters, one matrix per input.
    pub premise: Vec<Param<F>>,
    /// `R x d` linear consequent coefficients `p_r` (layer 4).
    pub consequent_weight: Param<F>,
    /// `R x 1` consequent constants `q_r` (layer 4).
    pub consequent_bias: Param<F>,
    /// `rules[r·d + i]` = the fuzzy set of input `i` in rule `r`.
    rules: Vec<usize>,
    input_range: Mat<F>,
    cache: Cache<F>,
    /// A gathered training batch (inputs, targets) of [`optim::train::Trainable`].
    batch: (Mat<F>, Mat<F>),
}

impl<F: Float> Parameters<F> for Anfis<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        let mut name = String::with_capacity(16);
        for (i, p) in self.premise.iter_mut().enumerate() {
            name.clear();
            use std::fmt::Write;
            let _ = write!(name, "premise.{i}");
            visit(&name, p);
        }
        visit("consequent.weight", &mut self.consequent_weight);
        visit("consequent.bias", &mut self.consequent_bias);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        visit("input_range", &mut self.input_range);
    }
}

impl<F: Float> Anfis<F> {
    /// A model from explicit parts; consequents start at zero.
    ///
    /// `premise[i]` is `m_i x k` (one row per fuzzy set of input `i`), `rules[r][i]` the fuzzy set
    /// of input `i` in rule `r`, `input_range[i]` the `[min, max]` the functions were built for
    /// (what [`Anfis::predict`] warns outside of).
    ///
    /// # Errors
    /// No inputs, an input with zero membership functions, a parameter row that
    /// [`MfKind::validate`] rejects, no rules, a rule of the wrong length or naming a fuzzy set
    /// that does not exist, a range with `min > max` or not finite.
    pub fn from_parts(
        kind: MfKind,
        premise: Vec<Mat<f64>>,
        rules: &[Vec<usize>],
        input_range: &[(f64, f64)],
    ) -> Result<Self> {
        let d = premise.len();
        if d == 0 {
            return Err(Error::Data("Anfis: at least one input is needed".into()));
        }
        if input_range.len() != d {
            return Err(Error::Shape {
                context: "Anfis input ranges".into(),
                expected: format!("{d} ranges"),
                got: input_range.len().to_string(),
            });
        }
        let k = kind.num_params();
        for (i, p) in premise.iter().enumerate() {
            if p.nrows() == 0 {
                return Err(Error::hyper(
                    &format!("membership functions of input {i}"),
                    0,
                    "every input needs at least one membership function",
                ));
            }
            if p.ncols() != k {
                return Err(Error::shape(
                    format!("premise.{i} ({})", kind.name()),
                    (p.nrows(), k),
                    p.shape(),
                ));
            }
            for j in 0..p.nrows() {
                let row: Vec<f64> = p.row(j).iter().copied().collect();
                kind.validate(&row, &format!("premise.{i} row {j}"))?;
            }
        }
        if rules.is_empty() {
            return Err(Error::Data("Anfis: at least one rule is needed".into()));
        }
        let mut flat = Vec::with_capacity(rules.len() * d);
        for (r, rule) in rules.iter().enumerate() {
            if rule.len() != d {
                return Err(Error::Shape {
                    context: format!("Anfis rule {r}"),
                    expected: format!("{d} antecedents"),
                    got: rule.len().to_string(),
                });
            }
            for (i, &j) in rule.iter().enumerate() {
                if j >= premise[i].nrows() {
                    return Err(Error::Data(format!(
                        "Anfis rule {r}: input {i} has {} membership functions, not {}",
                        premise[i].nrows(),
                        j + 1
                    )));
                }
            }
            flat.extend_from_slice(rule);
        }
        let mut range = Mat::<F>::zeros(d, 2);
        for (i, &(lo, hi)) in input_range.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(Error::hyper(
                    &format!("input_range[{i}]"),
                    format!("({lo}, {hi})"),
                    "must be finite with min <= max",
                ));
            }
            range[(i, 0)] = F::of(lo);
            range[(i, 1)] = F::of(hi);
        }
        let r = rules.len();
        Ok(Anfis {
            kind,
            premise: premise
                .into_iter()
                .map(|p| Param::new(p.map(F::of)))
                .collect(),
            consequent_weight: Param::new(Mat::zeros(r, d)),
            consequent_bias: Param::vector(Mat::zeros(r, 1)),
            rules: flat,
            input_range: range,
            cache: Cache::default(),
            batch: Default::default(),
        })
    }

    /// Jang's grid partition: `mfs_per_input[i]` functions of `kind` evenly spaced over the
    /// range of input `i` in `x`, and one rule for every combination (`R = Π_i m_i`). A single
    /// entry is used for every input. See [`Partition::Grid`] for the initial widths.
    ///
    /// # Errors
    /// As [`Anfis::new`].
    pub fn grid(kind: MfKind, mfs_per_input: &[usize], x: &Mat<F>) -> Result<Self> {
        let config = AnfisConfig {
            kind,
            partition: Partition::Grid(mfs_per_input.to_vec()),
        };
        Self::new(&config, x, &mut optim::rng(0))
    }

    /// The kind of every membership function.
    pub fn kind(&self) -> MfKind {
        self.kind
    }

    /// Number of inputs `d`.
    pub fn inputs(&self) -> usize {
        self.premise.len()
    }

    /// Number of rules `R`.
    pub fn num_rules(&self) -> usize {
        self.consequent_bias.value.nrows()
    }

    /// Number of membership functions of each input.
    pub fn mfs_per_input(&self) -> Vec<usize> {
        self.premise.iter().map(|p| p.value.nrows()).collect()
    }

    /// The fuzzy set of each input in rule `r` (`None` past the last rule).
    pub fn rule(&self, r: usize) -> Option<&[usize]> {
        let d = self.inputs();
        self.rules.get(r * d..(r + 1) * d)
    }

    /// Each input's `[min, max]` at initialization.
    pub fn input_range(&self) -> Vec<(f64, f64)> {
        (0..self.inputs())
            .map(|i| {
                (
                    self.input_range[(i, 0)].to_f64(),
                    self.input_range[(i, 1)].to_f64(),
                )
            })
            .collect()
    }

    /// Number of premise (membership) parameters, `k Σ_i m_i`.
    pub fn num_premise_params(&self) -> usize {
        self.premise.iter().map(|p| p.len()).sum()
    }

    /// Number of consequent parameters, `R (d + 1)`.
    pub fn num_consequent_params(&self) -> usize {
        self.num_rules() * (self.inputs() + 1)
    }

    /// Parameters of fuzzy set `j` of input `i`, in `f64`.
    pub fn mf_params(&self, input: usize, mf: usize) -> Vec<f64> {
        self.premise[input]
            .value
            .row(mf)
            .iter()
            .map(|v| v.to_f64())
            .collect()
    }

    /// Layer 1 into `mu` (one `m_i x n` matrix per input).
    fn layer1_membership(&self, x: &Mat<F>, mu: &mut Vec<Mat<F>>) {
        let n = x.ncols();
        let k = self.kind.num_params();
        mu.resize_with(self.inputs(), || Mat::zeros(0, 0));
        let mut p = [F::zero(); 4];
        for (i, prem) in self.premise.iter().enumerate() {
            let m = prem.value.nrows();
            resize_buffer(&mut mu[i], m, n);
            for j in 0..m {
                for (q, slot) in p[..k].iter_mut().enumerate() {
                    *slot = prem.value[(j, q)];
                }
                for col in 0..n {
                    mu[i][(j, col)] = self.kind.value(&p[..k], x[(i, col)]);
                }
            }
        }
    }

    /// Layers 2 and 3: firing strengths (product t-norm), their sums, and their normalization.
    ///
    /// # Errors
    /// [`Error::Numerical`] if no rule fires for some example (`Σ_r w_r = 0`: the input is outside
    /// the support of every rule, or so far out that every firing strength underflows).
    fn layers2_3(
        &self,
        mu: &[Mat<F>],
        firing: &mut Mat<F>,
        total: &mut Mat<F>,
        normalized: &mut Mat<F>,
    ) -> Result<()> {
        let d = self.inputs();
        let r_count = self.num_rules();
        let n = mu[0].ncols();
        resize_buffer(firing, r_count, n);
        resize_buffer(total, 1, n);
        resize_buffer(normalized, r_count, n);
        for col in 0..n {
            let mut sum = F::zero();
            for r in 0..r_count {
                let rule = &self.rules[r * d..(r + 1) * d];
                let mut w = F::one();
                for (i, &j) in rule.iter().enumerate() {
                    w *= mu[i][(j, col)];
                }
                firing[(r, col)] = w;
                sum += w;
            }
            if !(sum > F::zero() && sum.finite()) {
                return Err(Error::Numerical {
                    context: format!("ANFIS layer 3 (normalization), example {col}"),
                    reason: format!(
                        "the firing strengths sum to {sum}: no rule fires for this input (it lies \
                         outside the support of every rule's membership functions)"
                    ),
                });
            }
            total[(0, col)] = sum;
            let inv = F::one() / sum;
            for r in 0..r_count {
                normalized[(r, col)] = firing[(r, col)] * inv;
            }
        }
        Ok(())
    }

    /// Layers 4 and 5: `f = P x + q 1ᵀ` and `y = Σ_r w̄_r f_r`.
    fn layers4_5(&self, x: &Mat<F>, normalized: &Mat<F>, rule_out: &mut Mat<F>, y: &mut Mat<F>) {
        let (r_count, n) = normalized.shape();
        resize_buffer(rule_out, r_count, n);
        for col in 0..n {
            rule_out.set_column(col, &self.consequent_bias.value.column(0));
        }
        gemm(
            F::one(),
            &self.consequent_weight.value,
            false,
            x,
            false,
            F::one(),
            rule_out,
        );
        resize_buffer(y, 1, n);
        for col in 0..n {
            let mut s = F::zero();
            for r in 0..r_count {
                s += normalized[(r, col)] * rule_out[(r, col)];
            }
            y[(0, col)] = s;
        }
    }

    /// The membership grades of layer 1, `O¹_{i,j} = μ_{A_ij}(x_i)`.
    ///
    /// # Shapes
    /// `x`: `d x n`; returns one `m_i x n` matrix per input.
    ///
    /// # Errors
    /// Wrong number of inputs, no examples, non-finite inputs.
    pub fn memberships(&self, x: &Mat<F>) -> Result<Vec<Mat<F>>> {
        optim::check_batch(x, self.inputs(), "Anfis::memberships input")?;
        let mut mu = Vec::new();
        self.layer1_membership(x, &mut mu);
        Ok(mu)
    }

    /// The normalized firing strengths `w̄_r = w_r / Σ_s w_s` of layer 3 (every column sums to 1).
    ///
    /// # Shapes
    /// `x`: `d x n`; returns `R x n`.
    ///
    /// # Errors
    /// As [`Anfis::memberships`], and [`Error::Numerical`] if no rule fires for an example.
    pub fn normalized_firing(&self, x: &Mat<F>) -> Result<Mat<F>> {
        let mu = self.memberships(x)?;
        let (mut w, mut s, mut wbar) = (Mat::zeros(0, 0), Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.layers2_3(&mu, &mut w, &mut s, &mut wbar)?;
        Ok(wbar)
    }

    /// The inputs outside the initialization range (see [`OutOfRange`]).
    pub fn out_of_range(&self, x: &Mat<F>) -> Vec<OutOfRange> {
        let mut out = Vec::new();
        for col in 0..x.ncols() {
            for i in 0..x.nrows().min(self.inputs()) {
                let v = x[(i, col)];
                let (lo, hi) = (self.input_range[(i, 0)], self.input_range[(i, 1)]);
                if v < lo || v > hi {
                    out.push(OutOfRange {
                        input: i,
                        example: col,
                        value: v.to_f64(),
                        range: (lo.to_f64(), hi.to_f64()),
                    });
                }
            }
        }
        out
    }

    /// Inference without a cache: `y` for every column of `x`, with a warning for every input
    /// outside the initialization range.
    ///
    /// # Shapes
    /// `x`: `d x n`; `output`: `1 x n`.
    ///
    /// # Errors
    /// Wrong number of inputs, no examples, non-finite inputs; [`Error::Numerical`] if no rule
    /// fires for an example.
    pub fn predict(&self, x: &Mat<F>) -> Result<Prediction<F>> {
        let mu = self.memberships(x)?;
        let (mut w, mut s, mut wbar) = (Mat::zeros(0, 0), Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.layers2_3(&mu, &mut w, &mut s, &mut wbar)?;
        let (mut f, mut y) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
        self.layers4_5(x, &wbar, &mut f, &mut y);
        Ok(Prediction {
            output: y,
            out_of_range: self.out_of_range(x),
        })
    }

    /// Training forward pass through the five layers, keeping what [`Anfis::backward`] needs.
    ///
    /// # Shapes
    /// `x`: `d x n`; returns `1 x n`.
    ///
    /// # Errors
    /// As [`Anfis::predict`] (out-of-range inputs are not reported here).
    pub fn forward(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        optim::check_batch(x, self.inputs(), "Anfis::forward input")?;
        let mut cache = std::mem::take(&mut self.cache);
        cache.valid = false;
        resize_buffer(&mut cache.x, x.nrows(), x.ncols());
        cache.x.copy_from(x);
        self.layer1_membership(x, &mut cache.mu);
        let status = self.layers2_3(
            &cache.mu,
            &mut cache.firing,
            &mut cache.total,
            &mut cache.normalized,
        );
        if status.is_ok() {
            self.layers4_5(x, &cache.normalized, &mut cache.rule_out, &mut cache.y);
            cache.valid = true;
        }
        self.cache = cache;
        status?;
        Ok(self.cache.y.clone())
    }

    /// Backward pass for the last [`Anfis::forward`]: adds `∂L/∂θ` into every parameter's
    /// gradient (formulas in the module docs) and returns `∂L/∂x`.
    ///
    /// # Shapes
    /// `dy`: `1 x n`; returns `d x n`.
    ///
    /// # Errors
    /// No forward pass before it, or `dy` of the wrong shape.
    pub fn backward(&mut self, dy: &Mat<F>) -> Result<Mat<F>> {
        if !self.cache.valid {
            return Err(Error::Data(
                "Anfis::backward called without a successful forward pass".into(),
            ));
        }
        let mut c = std::mem::take(&mut self.cache);
        let n = c.x.ncols();
        let d = self.inputs();
        let r_count = self.num_rules();
        if dy.shape() != (1, n) {
            self.cache = c;
            return Err(Error::shape("Anfis::backward dy", (1, n), dy.shape()));
        }
        // layer 4: G = δ w̄ (R x n); ∂L/∂P += G xᵀ, ∂L/∂q += G 1, ∂L/∂x += Pᵀ G
        resize_buffer(&mut c.grad_rules, r_count, n);
        for col in 0..n {
            for r in 0..r_count {
                c.grad_rules[(r, col)] = dy[(0, col)] * c.normalized[(r, col)];
            }
        }
        gemm(
            F::one(),
            &c.grad_rules,
            false,
            &c.x,
            true,
            F::one(),
            &mut self.consequent_weight.grad,
        );
        for r in 0..r_count {
            let s: F = c
                .grad_rules
                .row(r)
                .iter()
                .copied()
                .fold(F::zero(), |a, b| a + b);
            self.consequent_bias.grad[(r, 0)] += s;
        }
        resize_buffer(&mut c.dx, d, n);
        gemm(
            F::one(),
            &self.consequent_weight.value,
            true,
            &c.grad_rules,
            false,
            F::zero(),
            &mut c.dx,
        );
        // layer 3 → 2: ∂L/∂w_rn = δ_n (f_rn − y_n) / S_n, into grad_rules
        for col in 0..n {
            let scale = dy[(0, col)] / c.total[(0, col)];
            for r in 0..r_count {
                c.grad_rules[(r, col)] = scale * (c.rule_out[(r, col)] - c.y[(0, col)]);
            }
        }
        // layer 2 → 1: ∂L/∂μ_{i,j,n}, then layer 1's parameters and the input
        let k = self.kind.num_params();
        let mut dmu = std::mem::take(&mut c.dmu);
        dmu.resize_with(d, || Mat::zeros(0, 0));
        for (g, m) in dmu.iter_mut().zip(&c.mu) {
            resize_buffer(g, m.nrows(), n);
            g.fill(F::zero());
        }
        for col in 0..n {
            for r in 0..r_count {
                let g = c.grad_rules[(r, col)];
                if g == F::zero() {
                    continue;
                }
                let rule = &self.rules[r * d..(r + 1) * d];
                for i in 0..d {
                    let mut others = F::one();
                    for (i2, &j2) in rule.iter().enumerate() {
                        if i2 != i {
                            others *= c.mu[i2][(j2, col)];
                        }
                    }
                    dmu[i][(rule[i], col)] += g * others;
                }
            }
        }
        let mut p = [F::zero(); 4];
        let mut gp = [F::zero(); 4];
        for (i, prem) in self.premise.iter_mut().enumerate() {
            for j in 0..prem.value.nrows() {
                for (q, slot) in p[..k].iter_mut().enumerate() {
                    *slot = prem.value[(j, q)];
                }
                let mut acc = [F::zero(); 4];
                for col in 0..n {
                    let g = dmu[i][(j, col)];
                    if g == F::zero() {
                        continue;
                    }
                    let (_, dmu_dx) = self.kind.gradient(&p[..k], c.x[(i, col)], &mut gp[..k]);
                    for q in 0..k {
                        acc[q] += g * gp[q];
                    }
                    c.dx[(i, col)] += g * dmu_dx;
                }
                for q in 0..k {
                    prem.grad[(j, q)] += acc[q];
                }
            }
        }
        let dx = c.dx.clone();
        c.dmu = dmu;
        self.cache = c;
        Ok(dx)
    }

    /// Restores the corner order of triangles and trapezoids after a parameter update
    /// ([`MfKind::repair`]).
    pub fn repair_premise(&mut self) {
        let k = self.kind.num_params();
        let mut p = [F::zero(); 4];
        for prem in &mut self.premise {
            for j in 0..prem.value.nrows() {
                for q in 0..k {
                    p[q] = prem.value[(j, q)];
                }
                self.kind.repair(&mut p[..k]);
                for q in 0..k {
                    prem.value[(j, q)] = p[q];
                }
            }
        }
        self.cache.valid = false;
    }

    /// Whether every premise row is in the order [`MfKind::repair`] keeps (nothing to repair).
    pub fn premise_in_order(&self) -> bool {
        let k = self.kind.num_params();
        let mut p = [F::zero(); 4];
        self.premise.iter().all(|prem| {
            (0..prem.value.nrows()).all(|j| {
                for q in 0..k {
                    p[q] = prem.value[(j, q)];
                }
                self.kind.repair(&mut p[..k]);
                (0..k).all(|q| p[q] == prem.value[(j, q)])
            })
        })
    }

    /// The label of fuzzy set `mf` of `input` in rule listings: `A{input+1}_{mf+1}`.
    pub fn mf_label(input: usize, mf: usize) -> String {
        format!("A{}_{}", input + 1, mf + 1)
    }

    /// The rule base as text, one line per rule:
    /// `rule 1: IF x1 is A1_1 AND x2 is A2_1 THEN y = 0.5·x1 − 0.25·x2 + 0.125`.
    ///
    /// `input_names` names the inputs (`x1, x2, …` where it is too short).
    pub fn rules_text(&self, input_names: &[&str]) -> String {
        let d = self.inputs();
        let name = |i: usize| {
            input_names
                .get(i)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("x{}", i + 1))
        };
        let mut out = String::new();
        for r in 0..self.num_rules() {
            let rule = &self.rules[r * d..(r + 1) * d];
            let antecedent: Vec<String> = rule
                .iter()
                .enumerate()
                .map(|(i, &j)| format!("{} is {}", name(i), Self::mf_label(i, j)))
                .collect();
            let mut consequent = String::new();
            for i in 0..d {
                let p = self.consequent_weight.value[(r, i)].to_f64();
                match (i, p < 0.0) {
                    (0, false) => consequent.push_str(&format!("{p:.6}·{}", name(i))),
                    (0, true) => consequent.push_str(&format!("−{:.6}·{}", p.abs(), name(i))),
                    (_, neg) => {
                        let sign = if neg { '−' } else { '+' };
                        consequent.push_str(&format!(" {sign} {:.6}·{}", p.abs(), name(i)))
                    }
                }
            }
            let q = self.consequent_bias.value[(r, 0)].to_f64();
            let sign = if q < 0.0 { '−' } else { '+' };
            consequent.push_str(&format!(" {sign} {:.6}", q.abs()));
            out.push_str(&format!(
                "rule {}: IF {} THEN y = {}\n",
                r + 1,
                antecedent.join(" AND "),
                consequent
            ));
        }
        out
    }

    /// The membership functions' parameters as text, one line per function:
    /// `A1_2 (x1): gbellmf a = 0.4, b = 2, c = 1.2`.
    pub fn mf_text(&self, input_names: &[&str]) -> String {
        let mut out = String::new();
        for i in 0..self.inputs() {
            let name = input_names
                .get(i)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("x{}", i + 1));
            for j in 0..self.premise[i].value.nrows() {
                let params: Vec<String> = self
                    .kind
                    .param_names()
                    .iter()
                    .zip(self.mf_params(i, j))
                    .map(|(n, v)| format!("{n} = {v:.6}"))
                    .collect();
                out.push_str(&format!(
                    "{} ({name}): {} {}\n",
                    Self::mf_label(i, j),
                    self.kind.name(),
                    params.join(", ")
                ));
            }
        }
        out
    }

    /// Every membership function sampled at `points` evenly spaced abscissae over its input's
    /// initialization range (call before and after training to plot how the fuzzy sets moved).
    pub fn membership_curves(&self, points: usize) -> Vec<MfCurve> {
        let points = points.max(2);
        let mut curves = Vec::new();
        for (i, (lo, hi)) in self.input_range().into_iter().enumerate() {
            let xs: Vec<f64> = (0..points)
                .map(|t| lo + (hi - lo) * t as f64 / (points - 1) as f64)
                .collect();
            for j in 0..self.premise[i].value.nrows() {
                let params = self.mf_params(i, j);
                let ys = xs.iter().map(|&x| self.kind.value(&params, x)).collect();
                curves.push(MfCurve {
                    input: i,
                    mf: j,
                    label: Self::mf_label(i, j),
                    params,
                    xs: xs.clone(),
                    ys,
                });
            }
        }
        curves
    }

    /// The same model in another scalar type.
    pub fn cast<G: Float>(&self) -> Anfis<G> {
        let c =
            |p: &Param<F>| Param::with_shape(p.value.map(|v| G::of(v.to_f64())), p.shape.clone());
        Anfis {
            kind: self.kind,
            premise: self.premise.iter().map(c).collect(),
            consequent_weight: c(&self.consequent_weight),
            consequent_bias: c(&self.consequent_bias),
            rules: self.rules.clone(),
            input_range: self.input_range.map(|v| G::of(v.to_f64())),
            cache: Cache::default(),
            batch: Default::default(),
        }
    }

    /// The architecture: membership kind, functions per input and the rule table.
    pub fn architecture(&self) -> AnfisArchitecture {
        AnfisArchitecture {
            kind: self.kind,
            mfs_per_input: self.mfs_per_input(),
            rules: self
                .rules
                .chunks(self.inputs())
                .map(<[usize]>::to_vec)
                .collect(),
        }
    }

    /// Saves the parameters and the input ranges by name with the architecture (kind `anfis`,
    /// JSON config) through [`optim::checkpoint::save_model`].
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        optim::checkpoint::save_model(path, self, &[])
    }

    /// Loads a model saved by [`Anfis::save`] ([`optim::checkpoint::load_model`]: the size the
    /// configuration implies is checked against the file first), then checks what was loaded:
    /// every premise row a valid function of its kind, every input range finite with
    /// `min ≤ max`.
    ///
    /// # Errors
    /// An unreadable file, a checkpoint of another model, a configuration the file cannot hold
    /// or whose rule table does not fit its functions, missing or misshapen tensors, invalid
    /// premise parameters or ranges.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let model: Self = optim::checkpoint::load_model(path)?;
        let bad = |reason: String| Error::Checkpoint {
            path: path.into(),
            reason,
        };
        for (i, p) in model.premise.iter().enumerate() {
            for j in 0..p.value.nrows() {
                let row: Vec<f64> = p.value.row(j).iter().map(|v| v.to_f64()).collect();
                model
                    .kind
                    .validate(&row, &format!("premise.{i} row {j}"))
                    .map_err(|e| bad(e.to_string()))?;
            }
        }
        for (i, (lo, hi)) in model.input_range().into_iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(bad(format!(
                    "input_range row {i} is ({lo}, {hi}); must be finite with min <= max"
                )));
            }
        }
        Ok(model)
    }
}

/// What determines an ANFIS model's parameters: the configuration stored in its checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnfisArchitecture {
    /// The kind of every membership function.
    pub kind: MfKind,
    /// Membership functions of each input (`m_i`).
    pub mfs_per_input: Vec<usize>,
    /// `rules[r][i]`: the fuzzy set of input `i` in rule `r`.
    pub rules: Vec<Vec<usize>>,
}

impl<F: Float> Saveable<F> for Anfis<F> {
    const KIND: &'static str = "anfis";
    type Config = AnfisArchitecture;

    fn config(&self) -> AnfisArchitecture {
        self.architecture()
    }

    fn parameter_count(c: &AnfisArchitecture) -> Option<usize> {
        // premises Σ m_i k, consequents R (d + 1)
        let k = c.kind.num_params();
        let mut total = 0usize;
        for &m in &c.mfs_per_input {
            total = total.checked_add(m.checked_mul(k)?)?;
        }
        let d = c.mfs_per_input.len();
        total.checked_add(c.rules.len().checked_mul(d.checked_add(1)?)?)
    }

    /// Functions evenly spaced over `[0, 1]` (the loaded tensors replace them), checked against
    /// the rule table.
    fn from_config(c: &AnfisArchitecture) -> Result<Self> {
        let premise = c
            .mfs_per_input
            .iter()
            .map(|&m| {
                let rows: Vec<Vec<f64>> = (0..m)
                    .map(|j| {
                        let (centre, half) = if m == 1 {
                            (0.5, 0.5)
                        } else {
                            (j as f64 / (m - 1) as f64, 0.5 / (m - 1) as f64)
                        };
                        c.kind.with_half_width(centre, half)
                    })
                    .collect();
                Mat::from_fn(m, c.kind.num_params(), |j, q| rows[j][q])
            })
            .collect();
        let ranges = vec![(0.0, 1.0); c.mfs_per_input.len()];
        Anfis::from_parts(c.kind, premise, &c.rules, &ranges)
    }
}

impl<F: Float> fmt::Display for Anfis<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ANFIS: {} inputs, {} rules, {} membership functions ({}), {} premise + {} consequent \
             parameters",
            self.inputs(),
            self.num_rules(),
            self.mfs_per_input().iter().sum::<usize>(),
            self.kind.name(),
            self.num_premise_params(),
            self.num_consequent_params()
        )?;
        write!(f, "{}", self.mf_text(&[]))?;
        write!(f, "{}", self.rules_text(&[]))
    }
}
