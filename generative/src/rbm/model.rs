//! The restricted Boltzmann machine itself: energy, free energy, the two conditionals and block
//! Gibbs sampling (notes §9.1).

use super::error::{RbmError, Result};
use optim::linalg::gemm;
use optim::{Float, Mat, Param, Parameters};
use rand::Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
use serde::{Deserialize, Serialize};

/// What the visible units are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visible {
    /// Binary units, `p(vⱼ = 1 | h) = σ(bⱼ + (Wᵀh)ⱼ)`; data are probabilities in `[0, 1]`.
    #[default]
    Bernoulli,
    /// Real-valued units of unit variance, `p(vⱼ | h) = N(bⱼ + (Wᵀh)ⱼ, 1)`: standardize the data
    /// first (Hinton's guide, §13.2).
    Gaussian,
}

/// The architecture of an [`Rbm`]: what is saved with a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbmConfig {
    /// Visible units `n_v`.
    pub visible: usize,
    /// Hidden units `n_h` (always Bernoulli).
    pub hidden: usize,
    /// Visible unit type.
    #[serde(default)]
    pub units: Visible,
}

impl RbmConfig {
    /// A Bernoulli–Bernoulli RBM of `visible x hidden` units.
    pub fn new(visible: usize, hidden: usize) -> Self {
        RbmConfig {
            visible,
            hidden,
            units: Visible::Bernoulli,
        }
    }

    /// A Gaussian–Bernoulli RBM (real-valued visible units).
    pub fn gaussian(visible: usize, hidden: usize) -> Self {
        RbmConfig {
            visible,
            hidden,
            units: Visible::Gaussian,
        }
    }

    /// `n_v·n_h + n_v + n_h`, with checked arithmetic (`None` on overflow).
    pub fn parameter_count(&self) -> Option<usize> {
        self.visible
            .checked_mul(self.hidden)?
            .checked_add(self.visible)?
            .checked_add(self.hidden)
    }

    /// Checks that both layers have units and that the parameters fit in memory's address space.
    ///
    /// # Errors
    /// [`RbmError::ZeroUnits`], or [`RbmError::Setting`] when the parameter count overflows.
    pub fn validate(&self) -> Result<()> {
        if self.visible == 0 {
            return Err(RbmError::ZeroUnits {
                layer: "visible".into(),
            });
        }
        if self.hidden == 0 {
            return Err(RbmError::ZeroUnits {
                layer: "hidden".into(),
            });
        }
        if self.parameter_count().is_none() {
            return Err(super::error::setting(
                "visible x hidden",
                format!("{} x {}", self.visible, self.hidden),
                "the parameter count overflows",
            ));
        }
        Ok(())
    }
}

/// A restricted Boltzmann machine with Bernoulli hidden units.
///
/// ```text
/// Bernoulli v:  E(v, h) = −bᵀv − cᵀh − hᵀW v
///               F(v)    = −log Σ_h e^{−E(v,h)} = −bᵀv − Σᵢ softplus(cᵢ + (W v)ᵢ)
/// Gaussian v:   E(v, h) = ½‖v − b‖² − cᵀh − hᵀW v
///               F(v)    = ½‖v − b‖² − Σᵢ softplus(cᵢ + (W v)ᵢ)
/// p(hᵢ = 1 | v) = σ(cᵢ + (W v)ᵢ)
/// p(vⱼ = 1 | h) = σ(bⱼ + (Wᵀh)ⱼ)          (Gaussian: vⱼ | h ~ N(bⱼ + (Wᵀh)ⱼ, 1))
/// ```
///
/// # Shapes
/// `weight` `W`: `n_h x n_v` (the layout of optim's `Linear` from visible to hidden);
/// `visible_bias` `b`: `n_v x 1`; `hidden_bias` `c`: `n_h x 1`; data `n_v x batch`, one column
/// per example; hidden activities `n_h x batch`.
#[derive(Debug, Clone)]
pub struct Rbm<F: Float> {
    config: RbmConfig,
    /// `W`, `n_h x n_v`.
    pub weight: Param<F>,
    /// `b`, `n_v x 1`.
    pub visible_bias: Param<F>,
    /// `c`, `n_h x 1`.
    pub hidden_bias: Param<F>,
}

impl<F: Float> Parameters<F> for Rbm<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weight", &mut self.weight);
        visit("visible_bias", &mut self.visible_bias);
        visit("hidden_bias", &mut self.hidden_bias);
    }
}

/// `log(1 + eˣ)` without overflow.
#[inline]
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

#[inline]
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    optim::activation::sigmoid(x)
}

impl<F: Float> Rbm<F> {
    /// An untrained RBM: `W ~ N(0, 0.01²)` (Hinton's guide, §8), biases zero. Call
    /// [`Rbm::init_visible_bias`] with the training data for the guide's visible biases.
    ///
    /// # Errors
    /// As [`RbmConfig::validate`].
    pub fn new(config: RbmConfig, rng: &mut impl Rng) -> Result<Self> {
        let mut rbm = Self::zeros(config)?;
        let normal = Normal::new(0.0, 0.01).expect("valid normal");
        for w in rbm.weight.value.iter_mut() {
            *w = F::of(normal.sample(rng));
        }
        Ok(rbm)
    }

    /// An RBM with every parameter zero (what a checkpoint is loaded into).
    ///
    /// # Errors
    /// As [`RbmConfig::validate`].
    pub fn zeros(config: RbmConfig) -> Result<Self> {
        config.validate()?;
        Ok(Rbm {
            config,
            weight: Param::new(Mat::zeros(config.hidden, config.visible)),
            visible_bias: Param::vector(Mat::zeros(config.visible, 1)),
            hidden_bias: Param::vector(Mat::zeros(config.hidden, 1)),
        })
    }

    /// An RBM with the given `W` (`n_h x n_v`), `b` (`n_v`) and `c` (`n_h`).
    ///
    /// # Errors
    /// Zero units or lengths that do not fit `W`.
    pub fn from_parts(units: Visible, weight: Mat<F>, b: &[F], c: &[F]) -> Result<Self> {
        let config = RbmConfig {
            visible: weight.ncols(),
            hidden: weight.nrows(),
            units,
        };
        let mut rbm = Self::zeros(config)?;
        if b.len() != config.visible || c.len() != config.hidden {
            return Err(optim::Error::Shape {
                context: "Rbm::from_parts biases".into(),
                expected: format!("{} visible and {} hidden", config.visible, config.hidden),
                got: format!("{} and {}", b.len(), c.len()),
            }
            .into());
        }
        rbm.weight.value = weight;
        rbm.visible_bias.value.as_mut_slice().copy_from_slice(b);
        rbm.hidden_bias.value.as_mut_slice().copy_from_slice(c);
        Ok(rbm)
    }

    /// The architecture.
    pub fn config(&self) -> RbmConfig {
        self.config
    }

    /// Visible units `n_v`.
    pub fn visible(&self) -> usize {
        self.config.visible
    }

    /// Hidden units `n_h`.
    pub fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// Visible unit type.
    pub fn units(&self) -> Visible {
        self.config.units
    }

    /// Checks that `v` (`n_v x n`) fits the model: width, finiteness, and values in `[0, 1]`
    /// for Bernoulli visible units.
    ///
    /// # Errors
    /// [`RbmError::Width`], [`RbmError::NonFinite`], [`RbmError::OutOfUnitInterval`].
    pub fn check_data(&self, v: &Mat<F>, what: &str) -> Result<()> {
        if v.nrows() != self.visible() {
            return Err(RbmError::Width {
                what: what.into(),
                expected: self.visible(),
                got: v.nrows(),
            });
        }
        check_values(v, self.units(), what)
    }

    /// The guide's visible biases (§8): `bⱼ = log(pⱼ / (1 − pⱼ))` with `pⱼ` the fraction of
    /// training examples in which unit `j` is on (clamped to `[10⁻³, 1 − 10⁻³]`); for Gaussian
    /// units, the data mean.
    ///
    /// # Errors
    /// As [`Rbm::check_data`]; an empty data set.
    pub fn init_visible_bias(&mut self, data: &Mat<F>) -> Result<()> {
        self.check_data(data, "training data")?;
        if data.ncols() == 0 {
            return Err(RbmError::Optim(optim::Error::Data(
                "training data: no examples".into(),
            )));
        }
        let n = data.ncols() as f64;
        for j in 0..self.visible() {
            let mean = data.row(j).iter().map(|x| x.to_f64()).sum::<f64>() / n;
            self.visible_bias.value[j] = F::of(match self.units() {
                Visible::Bernoulli => {
                    let p = mean.clamp(1e-3, 1.0 - 1e-3);
                    (p / (1.0 - p)).ln()
                }
                Visible::Gaussian => mean,
            });
        }
        Ok(())
    }

    /// `out ← W v`, `n_h x batch`: the product both hidden-side functions below start with.
    fn weights_times(&self, v: &Mat<F>, out: &mut Mat<F>) {
        gemm(
            F::one(),
            &self.weight.value,
            false,
            v,
            false,
            F::zero(),
            out,
        );
    }

    /// `out ← W v + c` (the hidden units' total input), `n_h x batch`.
    pub fn hidden_input_into(&self, v: &Mat<F>, out: &mut Mat<F>) {
        self.weights_times(v, out);
        add_bias(out, &self.hidden_bias.value);
    }

    /// `out ← p(h = 1 | v) = σ(W v + c)`, `n_h x batch`: the bias and the sigmoid in one pass.
    pub fn hidden_probs_into(&self, v: &Mat<F>, out: &mut Mat<F>) {
        self.weights_times(v, out);
        add_bias_sigmoid(out, &self.hidden_bias.value);
    }

    /// `p(h = 1 | v)` for the columns of `v` (allocating).
    ///
    /// # Errors
    /// As [`Rbm::check_data`].
    pub fn hidden_probs(&self, v: &Mat<F>) -> Result<Mat<F>> {
        self.check_data(v, "input")?;
        let mut out = Mat::zeros(self.hidden(), v.ncols());
        self.hidden_probs_into(v, &mut out);
        Ok(out)
    }

    /// `out ← E[v | h]`: `σ(Wᵀh + b)` for Bernoulli units, `Wᵀh + b` for Gaussian ones.
    pub fn visible_means_into(&self, h: &Mat<F>, out: &mut Mat<F>) {
        gemm(F::one(), &self.weight.value, true, h, false, F::zero(), out);
        match self.units() {
            Visible::Bernoulli => add_bias_sigmoid(out, &self.visible_bias.value),
            Visible::Gaussian => add_bias(out, &self.visible_bias.value),
        }
    }

    /// `E[v | h]` for the columns of `h` (allocating).
    ///
    /// # Errors
    /// If `h` does not have `n_h` rows.
    pub fn visible_means(&self, h: &Mat<F>) -> Result<Mat<F>> {
        if h.nrows() != self.hidden() {
            return Err(optim::Error::shape(
                "Rbm::visible_means hidden states",
                (self.hidden(), h.ncols()),
                h.shape(),
            )
            .into());
        }
        let mut out = Mat::zeros(self.visible(), h.ncols());
        self.visible_means_into(h, &mut out);
        Ok(out)
    }

    /// `out ← a sample of v` given its conditional means: Bernoulli draws, or mean + `N(0, 1)`.
    pub fn sample_visible_into<R: Rng + ?Sized>(
        &self,
        means: &Mat<F>,
        out: &mut Mat<F>,
        rng: &mut R,
    ) {
        match self.units() {
            Visible::Bernoulli => sample_bernoulli_into(means, out, rng),
            Visible::Gaussian => {
                for (o, &m) in out.iter_mut().zip(means.iter()) {
                    let z: f64 = StandardNormal.sample(rng);
                    *o = m + F::of(z);
                }
            }
        }
    }

    /// `E(v, h)` for each column pair of `v` (`n_v x n`) and `h` (`n_h x n`), in `f64`.
    ///
    /// # Panics
    /// If the shapes do not fit the model.
    pub fn energy(&self, v: &Mat<F>, h: &Mat<F>) -> Vec<f64> {
        assert_eq!(v.nrows(), self.visible(), "energy: v rows");
        assert_eq!(h.nrows(), self.hidden(), "energy: h rows");
        assert_eq!(v.ncols(), h.ncols(), "energy: columns");
        let mut wv = Mat::zeros(self.hidden(), v.ncols());
        gemm(
            F::one(),
            &self.weight.value,
            false,
            v,
            false,
            F::zero(),
            &mut wv,
        );
        (0..v.ncols())
            .map(|n| {
                let mut e = 0.0;
                for j in 0..self.visible() {
                    let (x, b) = (v[(j, n)].to_f64(), self.visible_bias.value[j].to_f64());
                    e += match self.units() {
                        Visible::Bernoulli => -b * x,
                        Visible::Gaussian => 0.5 * (x - b) * (x - b),
                    };
                }
                for i in 0..self.hidden() {
                    let hi = h[(i, n)].to_f64();
                    e -= hi * (self.hidden_bias.value[i].to_f64() + wv[(i, n)].to_f64());
                }
                e
            })
            .collect()
    }

    /// The free energy `F(v)` of each column of `v`, in `f64` (formulas in the type's docs).
    ///
    /// # Panics
    /// If `v` does not have `n_v` rows.
    pub fn free_energy(&self, v: &Mat<F>) -> Vec<f64> {
        let mut input = Mat::zeros(self.hidden(), v.ncols());
        self.hidden_input_into(v, &mut input);
        self.free_energy_with_input(v, &input)
    }

    /// [`Rbm::free_energy`] given the hidden input `W v + c` already computed.
    pub(crate) fn free_energy_with_input(&self, v: &Mat<F>, input: &Mat<F>) -> Vec<f64> {
        let (nv, nh) = (self.visible(), self.hidden());
        let b = self.visible_bias.value.as_slice();
        v.as_slice()
            .chunks_exact(nv)
            .zip(input.as_slice().chunks_exact(nh))
            .map(|(x, z)| {
                let vis: f64 = match self.units() {
                    Visible::Bernoulli => -x
                        .iter()
                        .zip(b)
                        .map(|(x, b)| x.to_f64() * b.to_f64())
                        .sum::<f64>(),
                    Visible::Gaussian => x
                        .iter()
                        .zip(b)
                        .map(|(x, b)| {
                            let d = x.to_f64() - b.to_f64();
                            0.5 * d * d
                        })
                        .sum::<f64>(),
                };
                vis - z.iter().map(|z| softplus(z.to_f64())).sum::<f64>()
            })
            .collect()
    }

    /// Mean squared reconstruction error per visible unit: `mean (v − E[v | h = p(h|v)])²`,
    /// the guide's (§5) cheap but unreliable training monitor.
    ///
    /// # Errors
    /// As [`Rbm::check_data`].
    pub fn reconstruction_error(&self, v: &Mat<F>) -> Result<f64> {
        self.check_data(v, "reconstruction data")?;
        let mut h = Mat::zeros(self.hidden(), v.ncols());
        self.hidden_probs_into(v, &mut h);
        let mut r = Mat::zeros(self.visible(), v.ncols());
        self.visible_means_into(&h, &mut r);
        Ok(mean_squared_difference(v, &r))
    }

    /// Mean-field reconstructions `E[v | h = p(h | v)]` (allocating).
    ///
    /// # Errors
    /// As [`Rbm::check_data`].
    pub fn reconstruct(&self, v: &Mat<F>) -> Result<Mat<F>> {
        let h = self.hidden_probs(v)?;
        self.visible_means(&h)
    }

    /// Stochastic pseudo-log-likelihood per example (scikit-learn's `score_samples`): for each
    /// example one visible unit `j` drawn at random is flipped, `ṽ`, and
    /// `PLL(v) ≈ n_v · log σ(F(ṽ) − F(v))`. Bernoulli units only.
    ///
    /// # Errors
    /// As [`Rbm::check_data`]; [`RbmError::Unsupported`] for Gaussian units.
    pub fn pseudo_log_likelihood<R: Rng + ?Sized>(&self, v: &Mat<F>, rng: &mut R) -> Result<f64> {
        if self.units() == Visible::Gaussian {
            return Err(RbmError::Unsupported(
                "the pseudo-log-likelihood is defined here for binary visible units only",
            ));
        }
        self.check_data(v, "pseudo-log-likelihood data")?;
        let n = v.ncols();
        if n == 0 {
            return Ok(0.0);
        }
        // binarize (data may be probabilities), then flip one unit per example
        let binary = v.map(|x| {
            if x.to_f64() > 0.5 {
                F::one()
            } else {
                F::zero()
            }
        });
        let mut flipped = binary.clone();
        for col in 0..n {
            let j = rng.random_range(0..self.visible());
            flipped[(j, col)] = F::one() - flipped[(j, col)];
        }
        let f = self.free_energy(&binary);
        let g = self.free_energy(&flipped);
        let nv = self.visible() as f64;
        let total: f64 = f
            .iter()
            .zip(&g)
            .map(|(f, g)| nv * -softplus(-(g - f)))
            .sum();
        Ok(total / n as f64)
    }

    /// `steps` rounds of block Gibbs sampling `h ~ p(h|v)`, `v ~ p(v|h)` from the columns of
    /// `start`; returns the last visible *means* (what is drawn as an image) and states.
    ///
    /// # Errors
    /// As [`Rbm::check_data`].
    pub fn gibbs<R: Rng + ?Sized>(
        &self,
        start: &Mat<F>,
        steps: usize,
        rng: &mut R,
    ) -> Result<(Mat<F>, Mat<F>)> {
        self.check_data(start, "Gibbs start")?;
        let n = start.ncols();
        let mut v = start.clone();
        let mut hp = Mat::zeros(self.hidden(), n);
        let mut hs = Mat::zeros(self.hidden(), n);
        let mut vm = start.clone();
        for _ in 0..steps {
            self.hidden_probs_into(&v, &mut hp);
            sample_bernoulli_into(&hp, &mut hs, rng);
            self.visible_means_into(&hs, &mut vm);
            self.sample_visible_into(&vm, &mut v, rng);
        }
        Ok((vm, v))
    }

    /// `n` samples after `steps` Gibbs rounds from uniformly random binary (or `N(b, 1)`)
    /// visible states: `(means, states)`.
    ///
    /// # Errors
    /// None in practice (the start fits the model).
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        steps: usize,
        rng: &mut R,
    ) -> Result<(Mat<F>, Mat<F>)> {
        let start = match self.units() {
            Visible::Bernoulli => Mat::from_fn(self.visible(), n, |_, _| {
                if rng.random::<bool>() {
                    F::one()
                } else {
                    F::zero()
                }
            }),
            Visible::Gaussian => {
                let b = self.visible_bias.value.clone();
                Mat::from_fn(self.visible(), n, |j, _| {
                    let z: f64 = StandardNormal.sample(rng);
                    b[j] + F::of(z)
                })
            }
        };
        self.gibbs(&start, steps, rng)
    }

    /// The filters as images: row `i` of `W` (the weights of hidden unit `i`), for the first
    /// `count` hidden units, in `f64`.
    pub fn filters(&self, count: usize) -> Vec<Vec<f64>> {
        (0..count.min(self.hidden()))
            .map(|i| {
                self.weight
                    .value
                    .row(i)
                    .iter()
                    .map(|w| w.to_f64())
                    .collect()
            })
            .collect()
    }
}

/// `out ← Bernoulli(p)` draws, element by element.
pub fn sample_bernoulli_into<F: Float, R: Rng + ?Sized>(p: &Mat<F>, out: &mut Mat<F>, rng: &mut R) {
    // One 32-bit word per entry, drawn in blocks; its top 24 bits `m` give the uniform
    // u = m / 2²⁴ ∈ [0, 1), and u < p ⇔ m < 2²⁴ p, which is exact in f32 (m < 2²⁴ and the
    // scaling by a power of two are both exact): P(1) = ⌈2²⁴ p⌉ / 2²⁴, within 6·10⁻⁸ of p.
    const BLOCK: usize = 256;
    let scale = F::of(16_777_216.0);
    let mut words = [0u32; BLOCK];
    for (o, p) in out
        .as_mut_slice()
        .chunks_mut(BLOCK)
        .zip(p.as_slice().chunks(BLOCK))
    {
        let words = &mut words[..o.len()];
        rng.fill(words);
        optim::simd::wide(|| {
            for ((o, &p), &w) in o.iter_mut().zip(p).zip(words.iter()) {
                *o = if F::of(f64::from(w >> 8)) < scale * p {
                    F::one()
                } else {
                    F::zero()
                };
            }
        });
    }
}

/// `m ← σ(m + bias)`, the column `bias` added to every column, in one pass.
pub(crate) fn add_bias_sigmoid<F: Float>(m: &mut Mat<F>, bias: &Mat<F>) {
    let rows = m.nrows();
    if rows == 0 {
        return;
    }
    let b = bias.as_slice();
    optim::simd::wide(|| {
        for col in m.as_mut_slice().chunks_exact_mut(rows) {
            for (x, &b) in col.iter_mut().zip(b) {
                *x = sigmoid(*x + b);
            }
        }
    });
}

/// Adds the column `bias` to every column of `m`.
pub(crate) fn add_bias<F: Float>(m: &mut Mat<F>, bias: &Mat<F>) {
    let rows = m.nrows();
    if rows == 0 {
        return;
    }
    let b = bias.as_slice();
    for col in m.as_mut_slice().chunks_exact_mut(rows) {
        for (x, &b) in col.iter_mut().zip(b) {
            *x += b;
        }
    }
}

pub(crate) fn mean_squared_difference<F: Float>(a: &Mat<F>, b: &Mat<F>) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    // in sixteen partial sums (`optim::simd::sum_zip_map`): one running sum made each
    // addition wait for the one before (the per-batch monitor then cost a few % of a CD step)
    let sum = optim::simd::sum_zip_map(a.as_slice(), b.as_slice(), |x, y| {
        let d = x.to_f64() - y.to_f64();
        d * d
    });
    sum / a.len() as f64
}

/// Checks finiteness (and `[0, 1]` for Bernoulli units) of every entry.
pub(crate) fn check_values<F: Float>(v: &Mat<F>, units: Visible, what: &str) -> Result<()> {
    let rows = v.nrows().max(1);
    for (i, &x) in v.iter().enumerate() {
        let x = x.to_f64();
        if !x.is_finite() {
            return Err(RbmError::NonFinite {
                what: what.into(),
                row: i % rows,
                column: i / rows,
            });
        }
        if units == Visible::Bernoulli && !(0.0..=1.0).contains(&x) {
            return Err(RbmError::OutOfUnitInterval {
                what: what.into(),
                row: i % rows,
                column: i / rows,
                value: x,
            });
        }
    }
    Ok(())
}

impl<F: Float> optim::checkpoint::Saveable<F> for Rbm<F> {
    const KIND: &'static str = "rbm";
    type Config = RbmConfig;
    fn config(&self) -> RbmConfig {
        self.config
    }
    fn parameter_count(config: &RbmConfig) -> Option<usize> {
        config.parameter_count()
    }
    fn from_config(config: &RbmConfig) -> optim::Result<Self> {
        Ok(Self::zeros(*config)?)
    }
}
