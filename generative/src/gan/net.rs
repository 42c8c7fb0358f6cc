//! The multilayer perceptron both players of the game are made of: a stack of optim's
//! [`Linear`] layers with an [`Activation`] between them, an activation arena for the backward
//! pass, and — for the critic of WGAN-GP — the input gradient `∇ₓD(x)` and the backward of a
//! penalty on its norm (a gradient of a gradient, written out by hand).
//!
//! ```text
//! h₀ = x,   zᵢ = Wᵢ hᵢ + bᵢ,   hᵢ₊₁ = f(zᵢ)   (i < L − 1),   out = f_out(z_{L−1})
//! ```
//!
//! ```
//! use generative::gan::{Net, NetConfig};
//! use optim::{Activation, Mat};
//! let config = NetConfig::new(&[4]).with_activation(Activation::Tanh);
//! let mut net = Net::<f64>::new(2, 1, &config, &mut optim::rng(0));
//! let x = Mat::from_column_slice(2, 3, &[0.5, -1.0, 0.0, 0.0, 1.0, 2.0]);
//! let y = net.forward(&x)?.clone();
//! assert_eq!(y.shape(), (1, 3));
//! assert_eq!(y, net.predict(&x)?); // the cached and the cache-free paths agree
//! # Ok::<(), generative::gan::GanError>(())
//! ```

use super::error::{GanError, Result};
use optim::linalg::{copy_into, gemm, resize_buffer};
use optim::{Activation, Float, Linear, LinearConfig, Mat, Param, Parameters};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Widths and activations of a [`Net`]; the input and output widths come from the GAN.
///
/// ```
/// use generative::gan::NetConfig;
/// use optim::Activation;
/// let config = NetConfig::new(&[64, 64]).with_activation(Activation::LeakyRelu(0.2));
/// assert_eq!(config.hidden, [64, 64]);
/// assert_eq!(config.output_activation, Activation::Identity);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Widths of the hidden layers (may be empty: an affine map).
    pub hidden: Vec<usize>,
    /// Activation after every hidden layer. Default: ReLU.
    pub activation: Activation,
    /// Activation of the output layer. Default: identity (the discriminator's logit, the
    /// critic's value, a generator's unbounded sample); a sigmoid keeps generated pixels in
    /// `(0, 1)`.
    pub output_activation: Activation,
}

impl NetConfig {
    /// Hidden layers of the given widths, ReLU between them, identity output.
    pub fn new(hidden: &[usize]) -> Self {
        NetConfig {
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            output_activation: Activation::Identity,
        }
    }

    /// With the given hidden activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// With the given output activation.
    pub fn with_output_activation(mut self, activation: Activation) -> Self {
        self.output_activation = activation;
        self
    }

    /// `[inputs, hidden…, outputs]`.
    pub fn widths(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        let mut w = Vec::with_capacity(self.hidden.len() + 2);
        w.push(inputs);
        w.extend_from_slice(&self.hidden);
        w.push(outputs);
        w
    }

    /// The number of weights and biases of an `inputs → … → outputs` network, with checked
    /// arithmetic (`None` on overflow), without building it.
    pub fn parameter_count(&self, inputs: usize, outputs: usize) -> Option<usize> {
        let w = self.widths(inputs, outputs);
        w.windows(2).try_fold(0usize, |acc, p| {
            acc.checked_add(p[0].checked_mul(p[1])?.checked_add(p[1])?)
        })
    }

    /// Checks that every hidden width is at least 1; `what` names the network.
    ///
    /// # Errors
    /// [`GanError::Config`].
    pub fn validate(&self, what: &'static str) -> Result<()> {
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return Err(GanError::config(
                what,
                format!("{:?}", self.hidden),
                &format!("hidden layer {i} has width 0"),
            ));
        }
        Ok(())
    }
}

/// A multilayer perceptron of optim [`Linear`] layers, with the activations of its last
/// training forward kept in an arena (`hᵢ`, `zᵢ`) that the backward passes read.
///
/// # Shapes
/// Input `inputs x batch`, output `outputs x batch`; layer `i` has `weight` `wᵢ₊₁ x wᵢ`.
#[derive(Debug, Clone)]
pub struct Net<F: Float> {
    /// The affine layers, first to last.
    pub layers: Vec<Linear<F>>,
    activation: Activation,
    output_activation: Activation,
    /// `h₀ … h_L`: the input of each layer and the network's output (`post[L]`).
    post: Vec<Mat<F>>,
    /// `z₀ … z_{L−1}`: each layer's pre-activation.
    pre: Vec<Mat<F>>,
    /// Two backward buffers, swapped layer by layer.
    delta: Mat<F>,
    delta_next: Mat<F>,
    /// The penalty's backward: `δᵢ` and `gᵢ` of the input-gradient chain, `uᵢ`, `sᵢ`.
    deltas: Vec<Mat<F>>,
    /// `("0.weight", "0.bias")`, … built once, so listing the parameters builds no strings.
    names: Vec<(String, String)>,
    grads: Vec<Mat<F>>,
    us: Vec<Mat<F>>,
    ss: Vec<Mat<F>>,
}

impl<F: Float> Net<F> {
    /// An `inputs → hidden… → outputs` network with PyTorch's default initialization.
    pub fn new(inputs: usize, outputs: usize, config: &NetConfig, rng: &mut impl Rng) -> Self {
        let widths = config.widths(inputs, outputs);
        let layers = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(rng))
            .collect();
        Self::from_layers(layers, config.activation, config.output_activation)
    }

    /// A network of given layers (their widths must chain).
    ///
    /// # Panics
    /// If there are no layers or consecutive widths differ (a bug in the caller; use
    /// [`Net::new`] for user settings).
    pub fn from_layers(
        layers: Vec<Linear<F>>,
        activation: Activation,
        output_activation: Activation,
    ) -> Self {
        assert!(!layers.is_empty(), "Net: no layers");
        assert!(
            layers.windows(2).all(|p| p[0].outputs() == p[1].inputs()),
            "Net: layer widths do not chain"
        );
        let n = layers.len();
        let empty = || Mat::zeros(0, 0);
        Net {
            layers,
            activation,
            output_activation,
            post: (0..=n).map(|_| empty()).collect(),
            pre: (0..n).map(|_| empty()).collect(),
            delta: empty(),
            delta_next: empty(),
            deltas: (0..n).map(|_| empty()).collect(),
            grads: (0..n).map(|_| empty()).collect(),
            us: (0..n).map(|_| empty()).collect(),
            ss: (0..n).map(|_| empty()).collect(),
            names: (0..n)
                .map(|i| (format!("{i}.weight"), format!("{i}.bias")))
                .collect(),
        }
    }

    /// Moves every weight and bias a step toward `other`'s, the exponential moving average
    /// of the weights that the averaged generator keeps ([`GanConfig::generator_average`](super::GanConfig::generator_average)):
    ///
    /// ```text
    /// θ̄ ← β θ̄ + (1 − β) θ
    /// ```
    ///
    /// # Errors
    /// If the two networks' layers differ in number or shape (a network of another
    /// configuration).
    pub fn average_toward(&mut self, other: &Net<F>, beta: F) -> Result<()> {
        let same = self.layers.len() == other.layers.len()
            && self.layers.iter().zip(&other.layers).all(|(a, b)| {
                a.weight.value.shape() == b.weight.value.shape()
                    && a.bias.as_ref().map(|p| p.value.shape())
                        == b.bias.as_ref().map(|p| p.value.shape())
            });
        if !same {
            return Err(GanError::Data(
                "average_toward: the two networks have different layers".into(),
            ));
        }
        let keep = F::one() - beta;
        let mix = |avg: &mut Mat<F>, current: &Mat<F>| {
            for (a, &c) in avg.as_mut_slice().iter_mut().zip(current.as_slice()) {
                *a = beta * *a + keep * c;
            }
        };
        for (avg, current) in self.layers.iter_mut().zip(&other.layers) {
            mix(&mut avg.weight.value, &current.weight.value);
            if let (Some(a), Some(c)) = (avg.bias.as_mut(), current.bias.as_ref()) {
                mix(&mut a.value, &c.value);
            }
        }
        Ok(())
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs()
    }

    /// The activation of layer `i` (hidden or output).
    fn act(&self, i: usize) -> Activation {
        if i + 1 == self.layers.len() {
            self.output_activation
        } else {
            self.activation
        }
    }

    fn check_input(&self, x: &Mat<F>, what: &str) -> Result<()> {
        if x.nrows() != self.inputs() || x.ncols() == 0 {
            return Err(GanError::Data(format!(
                "{what}: expected {} rows and at least one column, got {} x {}",
                self.inputs(),
                x.nrows(),
                x.ncols()
            )));
        }
        Ok(())
    }

    /// The output without touching the arena (inference; allocates).
    ///
    /// # Errors
    /// If `x` does not have `inputs` rows.
    pub fn predict(&self, x: &Mat<F>) -> Result<Mat<F>> {
        self.check_input(x, "network input")?;
        let mut h = x.clone();
        let mut z = Mat::zeros(0, 0);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.predict_into(&h, &mut z)?;
            self.act(i).apply_in_place(&mut z);
            std::mem::swap(&mut h, &mut z);
        }
        Ok(h)
    }

    /// The training forward: keeps every `hᵢ` and `zᵢ` for the backward passes and returns the
    /// output. No allocation once the arena has the batch's size.
    ///
    /// # Errors
    /// If `x` does not have `inputs` rows.
    pub fn forward(&mut self, x: &Mat<F>) -> Result<&Mat<F>> {
        self.check_input(x, "network input")?;
        copy_into(&mut self.post[0], x);
        for i in 0..self.layers.len() {
            let act = self.act(i);
            self.layers[i].predict_into(&self.post[i], &mut self.pre[i])?;
            let (z, post) = (&self.pre[i], &mut self.post[i + 1]);
            copy_into(post, z);
            act.apply_in_place(post);
        }
        Ok(&self.post[self.layers.len()])
    }

    /// The output of the last [`Net::forward`].
    pub fn output(&self) -> &Mat<F> {
        &self.post[self.layers.len()]
    }

    /// Back-propagates `∂L/∂out` through the last forward: with `params`, *adds* `∂L/∂Wᵢ` and
    /// `∂L/∂bᵢ` into the layers' gradients (otherwise the parameters are left alone, e.g. when
    /// only the generator learns from the discriminator's verdict); if `d_input` is given,
    /// writes `∂L/∂x` into it.
    ///
    /// ```text
    /// δ_{L−1} = ∂L/∂out ⊙ f_out'(z_{L−1});   ∂L/∂Wᵢ += δᵢ hᵢᵀ,  ∂L/∂bᵢ += δᵢ 1,
    /// δᵢ₋₁ = (Wᵢᵀ δᵢ) ⊙ f'(zᵢ₋₁),   ∂L/∂x = W₀ᵀ δ₀
    /// ```
    ///
    /// # Errors
    /// If `d_output` is not `outputs x batch` of the last forward.
    pub fn backward(
        &mut self,
        d_output: &Mat<F>,
        params: bool,
        mut d_input: Option<&mut Mat<F>>,
    ) -> Result<()> {
        let n = self.layers.len();
        if d_output.shape() != self.post[n].shape() {
            return Err(optim::Error::shape(
                "Net backward",
                self.post[n].shape(),
                d_output.shape(),
            )
            .into());
        }
        copy_into(&mut self.delta, d_output);
        self.act(n - 1)
            .backward_in_place(&self.pre[n - 1], &self.post[n], &mut self.delta);
        for i in (0..n).rev() {
            let want_dx = i > 0 || d_input.is_some();
            let dx: &mut Mat<F> = if i == 0 {
                match d_input.as_deref_mut() {
                    Some(d) => d,
                    None => &mut self.delta_next,
                }
            } else {
                &mut self.delta_next
            };
            if params {
                self.layers[i].backward_with_input(
                    &self.post[i],
                    &self.delta,
                    want_dx.then_some(&mut *dx),
                )?;
            } else if want_dx {
                let w = &self.layers[i].weight.value;
                resize_buffer(dx, w.ncols(), self.delta.ncols());
                gemm(F::one(), w, true, &self.delta, false, F::zero(), dx);
            }
            if i > 0 {
                self.act(i - 1).backward_in_place(
                    &self.pre[i - 1],
                    &self.post[i],
                    &mut self.delta_next,
                );
                std::mem::swap(&mut self.delta, &mut self.delta_next);
            }
        }
        Ok(())
    }

    /// `∇ₓ out(x)` per column for a network with one output and an identity output layer (the
    /// critic), from the last forward: the backward of `out` itself, `δ_{L−1} = 1`,
    /// `gᵢ = Wᵢᵀ δᵢ`, `δᵢ₋₁ = gᵢ ⊙ f'(zᵢ₋₁)`; `∇ₓ out = g₀`. Keeps `δᵢ` and `gᵢ` for
    /// [`Net::penalty_backward`].
    fn input_gradient_chain(&mut self) {
        let n = self.layers.len();
        let batch = self.post[0].ncols();
        resize_buffer(&mut self.deltas[n - 1], 1, batch);
        self.deltas[n - 1].as_mut_slice().fill(F::one());
        for i in (0..n).rev() {
            let w = &self.layers[i].weight.value;
            resize_buffer(&mut self.grads[i], w.ncols(), batch);
            gemm(
                F::one(),
                w,
                true,
                &self.deltas[i],
                false,
                F::zero(),
                &mut self.grads[i],
            );
            if i > 0 {
                copy_into(&mut self.deltas[i - 1], &self.grads[i]);
                self.activation.backward_in_place(
                    &self.pre[i - 1],
                    &self.post[i],
                    &mut self.deltas[i - 1],
                );
            }
        }
    }

    /// `∇ₓ out(x)` (`inputs x batch`) for a one-output network with an identity output layer.
    ///
    /// # Errors
    /// If the network has more than one output or a non-identity output activation, or `x`
    /// does not fit.
    pub fn input_gradient(&mut self, x: &Mat<F>) -> Result<Mat<F>> {
        self.check_critic()?;
        self.forward(x)?;
        self.input_gradient_chain();
        Ok(self.grads[0].clone())
    }

    fn check_critic(&self) -> Result<()> {
        if self.outputs() != 1 || self.output_activation != Activation::Identity {
            return Err(GanError::Data(format!(
                "a gradient penalty needs a critic with one identity output, not {} {} outputs",
                self.outputs(),
                self.output_activation.name()
            )));
        }
        Ok(())
    }

    /// The gradient penalty of WGAN-GP (Gulrajani et al. 2017) at the columns of `x_hat` and,
    /// with `params`, its gradient *added* into the parameters:
    ///
    /// ```text
    /// P = λ/B Σⱼ (‖gⱼ‖ − 1)²,    g = ∇ₓ D(x̂)  (one column per example)
    /// ```
    ///
    /// `g` is itself a backward pass, so `∂P/∂θ` is the backward of a backward (double
    /// back-propagation). With the chain of [`Net::input_gradient`] (`δ_{L−1} = 1`,
    /// `gᵢ = Wᵢᵀ δᵢ`, `δᵢ₋₁ = gᵢ ⊙ f'(zᵢ₋₁)`) and `uᵢ = ∂P/∂gᵢ`:
    ///
    /// ```text
    /// u₀ = (2λ/B) (‖g‖ − 1) g/‖g‖                                per column
    /// for i = 0 … L−1:    ∂P/∂Wᵢ += δᵢ uᵢᵀ                      (from gᵢ = Wᵢᵀ δᵢ)
    ///                     vᵢ = Wᵢ uᵢ = ∂P/∂δᵢ
    ///                     uᵢ₊₁ = vᵢ ⊙ f'(zᵢ)                       (δᵢ = gᵢ₊₁ ⊙ f'(zᵢ))
    ///                     sᵢ = vᵢ ⊙ gᵢ₊₁ ⊙ f''(zᵢ) = direct ∂P/∂zᵢ
    /// then zᵢ = Wᵢ hᵢ + bᵢ carries sᵢ back like an ordinary backward:
    ///     r_{L−2} = s_{L−2},   rᵢ₋₁ = sᵢ₋₁ + (Wᵢᵀ rᵢ) ⊙ f'(zᵢ₋₁)
    ///     ∂P/∂Wᵢ += rᵢ hᵢᵀ,   ∂P/∂bᵢ += rᵢ 1
    /// ```
    ///
    /// The output layer's `z` enters no `f'` (its activation is the identity) and `x̂` is a
    /// constant, so nothing else depends on `θ`. For ReLU-like activations `f'' = 0` and only
    /// the first sum is left.
    ///
    /// # Errors
    /// As [`Net::input_gradient`]; a negative or non-finite `weight`.
    pub fn penalty_backward(&mut self, x_hat: &Mat<F>, weight: F, params: bool) -> Result<F> {
        self.check_critic()?;
        if !(weight.finite() && weight >= F::zero()) {
            return Err(GanError::config(
                "penalty_weight",
                weight,
                "must be finite and >= 0",
            ));
        }
        self.forward(x_hat)?;
        self.input_gradient_chain();
        let n = self.layers.len();
        let batch = x_hat.ncols();
        let rows = x_hat.nrows();
        let scale = weight / F::of(batch as f64);
        // P and u₀ = ∂P/∂g₀
        let mut penalty = F::zero();
        copy_into(&mut self.us[0], &self.grads[0]);
        for col in self.us[0].as_mut_slice().chunks_exact_mut(rows) {
            let norm = col.iter().fold(F::zero(), |s, &v| s + v * v).sqrt();
            let gap = norm - F::one();
            penalty += gap * gap;
            // ‖g‖ = 0 has no gradient direction; the subgradient 0 is taken there
            let coef = if norm > F::zero() {
                (scale + scale) * gap / norm
            } else {
                F::zero()
            };
            for v in col.iter_mut() {
                *v *= coef;
            }
        }
        penalty *= scale;
        if !params {
            return Ok(penalty);
        }
        // the backward of the input-gradient chain
        for i in 0..n {
            gemm(
                F::one(),
                &self.deltas[i],
                false,
                &self.us[i],
                true,
                F::one(),
                &mut self.layers[i].weight.grad,
            );
            if i + 1 == n {
                break;
            }
            // v = Wᵢ uᵢ  (kept in ss[i] and turned into sᵢ below)
            let w = &self.layers[i].weight.value;
            resize_buffer(&mut self.ss[i], w.nrows(), batch);
            gemm(
                F::one(),
                w,
                false,
                &self.us[i],
                false,
                F::zero(),
                &mut self.ss[i],
            );
            let u_next = &mut self.us[i + 1];
            resize_buffer(u_next, w.nrows(), batch);
            let act = self.activation;
            let z = self.pre[i].as_slice();
            let y = self.post[i + 1].as_slice();
            let g = self.grads[i + 1].as_slice();
            for (k, (v, u)) in self.ss[i]
                .as_mut_slice()
                .iter_mut()
                .zip(u_next.as_mut_slice())
                .enumerate()
            {
                let vk = *v;
                *u = vk * act.df(z[k], y[k]);
                *v = vk * g[k] * act.d2f(z[k], y[k]);
            }
        }
        // the ordinary backward of the injected sᵢ through zᵢ = Wᵢ hᵢ + bᵢ
        if n >= 2 {
            copy_into(&mut self.delta, &self.ss[n - 2]);
            for i in (0..n - 1).rev() {
                let want_dx = i > 0;
                self.layers[i].backward_with_input(
                    &self.post[i],
                    &self.delta,
                    want_dx.then_some(&mut self.delta_next),
                )?;
                if i > 0 {
                    self.activation.backward_in_place(
                        &self.pre[i - 1],
                        &self.post[i],
                        &mut self.delta_next,
                    );
                    for (d, &s) in self
                        .delta_next
                        .as_mut_slice()
                        .iter_mut()
                        .zip(self.ss[i - 1].as_slice())
                    {
                        *d += s;
                    }
                    std::mem::swap(&mut self.delta, &mut self.delta_next);
                }
            }
        }
        Ok(penalty)
    }
}

impl<F: Float> Parameters<F> for Net<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (layer, (weight, bias)) in self.layers.iter_mut().zip(&self.names) {
            visit(weight, &mut layer.weight);
            if let Some(b) = layer.bias.as_mut() {
                visit(bias, b);
            }
        }
    }
}
