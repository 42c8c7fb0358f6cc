//! The recurrent network: stacked, optionally bidirectional layers of one cell type, as PyTorch's
//! `nn.RNN`, `nn.LSTM` and `nn.GRU` (`batch_first=False`), with full and truncated
//! backpropagation through time.

use crate::cell::{CellKind, Direction};
use crate::seq::Seq;
use optim::linalg::resize_buffer;
use optim::{Error, Float, Mat, Param, Parameters, Result};
use rand::Rng;

/// Configuration of an [`Rnn`] (PyTorch's constructor arguments).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RnnConfig {
    /// The cell: Elman tanh/ReLU, LSTM or GRU.
    pub cell: CellKind,
    /// Input width `I`.
    pub input: usize,
    /// Hidden width `H` (per direction).
    pub hidden: usize,
    /// Number of stacked layers (default 1); layer `l > 0` reads layer `l − 1`'s output.
    pub layers: usize,
    /// Run a second direction over the reversed sequence and concatenate (`2H` outputs).
    pub bidirectional: bool,
    /// LSTM only: initialize the forget-gate bias to this total (`b_ih,f + b_hh,f`), e.g. `1.0`
    /// (Gers et al. 2000; Jozefowicz et al. 2015). `None` (default): PyTorch's uniform init.
    pub forget_bias: Option<f64>,
}

impl RnnConfig {
    /// One unidirectional layer of `cell` with PyTorch's initialization.
    pub fn new(cell: CellKind, input: usize, hidden: usize) -> Self {
        RnnConfig {
            cell,
            input,
            hidden,
            layers: 1,
            bidirectional: false,
            forget_bias: None,
        }
    }

    /// Sets the number of layers.
    pub fn layers(mut self, layers: usize) -> Self {
        self.layers = layers;
        self
    }

    /// Makes every layer bidirectional.
    pub fn bidirectional(mut self, yes: bool) -> Self {
        self.bidirectional = yes;
        self
    }

    /// Sets the LSTM forget-gate bias.
    pub fn forget_bias(mut self, bias: f64) -> Self {
        self.forget_bias = Some(bias);
        self
    }

    /// Number of directions `D` (1 or 2).
    pub fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Output width `D·H`.
    pub fn output_width(&self) -> usize {
        self.directions() * self.hidden
    }

    /// The number of trainable scalars of an [`Rnn`] of this configuration, with checked
    /// arithmetic and without building it (`None` on overflow): per layer and direction
    /// `G·H·(I_l + H + 2)`, with `I_0 = I` and `I_l = D·H` above.
    pub fn parameter_count(&self) -> Option<usize> {
        let g = self.cell.gates().checked_mul(self.hidden)?;
        let upper = self.directions().checked_mul(self.hidden)?;
        let per_direction =
            |input: usize| g.checked_mul(input.checked_add(self.hidden)?.checked_add(2)?);
        let first = per_direction(self.input)?;
        let above = per_direction(upper)?.checked_mul(self.layers.saturating_sub(1))?;
        first.checked_add(above)?.checked_mul(self.directions())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.input == 0 {
            return Err(Error::hyper("input", 0, "must be at least 1"));
        }
        if self.hidden == 0 {
            return Err(Error::hyper("hidden", 0, "must be at least 1"));
        }
        if self.layers == 0 {
            return Err(Error::hyper("layers", 0, "must be at least 1"));
        }
        if let Some(b) = self.forget_bias
            && !b.is_finite()
        {
            return Err(Error::hyper("forget_bias", b, "must be finite"));
        }
        Ok(())
    }
}

/// The recurrent state of every layer and direction, in PyTorch's order
/// (`h_n[layer·D + direction]`).
///
/// # Shapes
/// `h[k]`, `c[k]`: `H x B`; `c` is empty except for the LSTM.
#[derive(Debug, Clone, PartialEq)]
pub struct RnnState<F: Float> {
    /// Hidden states `h`.
    pub h: Vec<Mat<F>>,
    /// LSTM cell states `c` (empty for other cells).
    pub c: Vec<Mat<F>>,
}

impl<F: Float> RnnState<F> {
    /// The zero state of `config` for a batch of `batch`.
    pub fn zeros(config: &RnnConfig, batch: usize) -> Self {
        let k = config.layers * config.directions();
        let z = || Mat::zeros(config.hidden, batch);
        RnnState {
            h: (0..k).map(|_| z()).collect(),
            c: if config.cell.has_cell() {
                (0..k).map(|_| z()).collect()
            } else {
                Vec::new()
            },
        }
    }

    fn check(&self, config: &RnnConfig, batch: usize, what: &str) -> Result<()> {
        let k = config.layers * config.directions();
        let want_c = if config.cell.has_cell() { k } else { 0 };
        if self.h.len() != k || self.c.len() != want_c {
            return Err(Error::Data(format!(
                "{what}: expected {k} hidden states and {want_c} cell states \
                 (layers x directions), got {} and {}",
                self.h.len(),
                self.c.len()
            )));
        }
        for (i, m) in self.h.iter().chain(&self.c).enumerate() {
            if m.shape() != (config.hidden, batch) {
                return Err(Error::shape(
                    format!("{what} state {i} (hidden x batch)"),
                    (config.hidden, batch),
                    m.shape(),
                ));
            }
            optim::check_finite(m, &format!("{what} state {i}"))?;
        }
        Ok(())
    }
}

/// A stack of recurrent layers: PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU`.
///
/// Parameters are named exactly as PyTorch's `state_dict()`: `weight_ih_l{k}`,
/// `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, with the suffix `_reverse` for the second
/// direction, in PyTorch's order, so a checkpoint saved here loads into the PyTorch module and
/// back.
///
/// # Shapes
/// Input [`Seq`] `I x (T·B)`; output `D·H x (T·B)` (time-major, the forward direction's `h_t`
/// in rows `0..H`, the reverse direction's in `H..2H`); final state [`RnnState`].
///
/// ```
/// use rnn::{CellKind, Rnn, RnnConfig, Seq};
/// let mut rng = optim::rng(0);
/// let mut lstm = Rnn::<f64>::new(RnnConfig::new(CellKind::Lstm, 3, 5).layers(2), &mut rng).unwrap();
/// let x = Seq::zeros(3, 7, 4); // 7 steps, 4 sequences
/// let y = lstm.forward(&x, None).unwrap();
/// assert_eq!(y.shape(), (5, 7 * 4));
/// assert_eq!(lstm.final_state().h.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Rnn<F: Float> {
    config: RnnConfig,
    dirs: Vec<Direction<F>>,
    input: Mat<F>,
    outputs: Vec<Mat<F>>,
    d_split: [Mat<F>; 2],
    dx_layers: Vec<Mat<F>>,
    input_grad: Mat<F>,
    steps: usize,
    batch: usize,
}

impl<F: Float> Rnn<F> {
    /// A network with PyTorch's initialization (`U(−1/√H, 1/√H)` for every weight and bias).
    ///
    /// # Errors
    /// Zero widths or layers, a non-finite forget bias.
    pub fn new(config: RnnConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let d = config.directions();
        let mut dirs = Vec::with_capacity(config.layers * d);
        for l in 0..config.layers {
            let input = if l == 0 {
                config.input
            } else {
                config.output_width()
            };
            for k in 0..d {
                let suffix = format!("_l{l}{}", if k == 1 { "_reverse" } else { "" });
                dirs.push(Direction::new(
                    config.cell,
                    input,
                    config.hidden,
                    k == 1,
                    &suffix,
                    config.forget_bias,
                    rng,
                ));
            }
        }
        let e = || Mat::zeros(0, 0);
        Ok(Rnn {
            outputs: (0..config.layers).map(|_| e()).collect(),
            dx_layers: (0..config.layers).map(|_| e()).collect(),
            config,
            dirs,
            input: e(),
            d_split: [e(), e()],
            input_grad: e(),
            steps: 0,
            batch: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    fn check_input(&self, x: &Seq<F>, initial: Option<&RnnState<F>>) -> Result<()> {
        if x.features() != self.config.input {
            return Err(Error::Shape {
                context: format!("{} input (features x steps·batch)", self.config.cell.name()),
                expected: format!("{} x {}", self.config.input, x.data().ncols()),
                got: format!("{} x {}", x.features(), x.data().ncols()),
            });
        }
        x.check_finite("recurrent network input")?;
        if let Some(s) = initial {
            s.check(&self.config, x.batch(), "initial")?;
        }
        Ok(())
    }

    /// Runs every layer over the whole sequence, caching for [`Rnn::backward`]; returns the top
    /// layer's outputs `D·H x (T·B)`. `initial`: the initial state (zero if `None`).
    ///
    /// # Errors
    /// Wrong input width, non-finite input, an initial state of the wrong shape.
    pub fn forward(&mut self, x: &Seq<F>, initial: Option<&RnnState<F>>) -> Result<&Mat<F>> {
        self.check_input(x, initial)?;
        let (steps, batch) = (x.steps(), x.batch());
        self.steps = steps;
        self.batch = batch;
        optim::linalg::copy_into(&mut self.input, x.data());
        let d = self.config.directions();
        let hn = self.config.hidden;
        for l in 0..self.config.layers {
            let (lower, upper) = self.outputs.split_at_mut(l);
            let input = if l == 0 { &self.input } else { &lower[l - 1] };
            for k in 0..d {
                let idx = l * d + k;
                let h0 = initial.map(|s| &s.h[idx]);
                let c0 = initial.and_then(|s| s.c.get(idx));
                self.dirs[idx].forward(input, steps, batch, h0, c0);
            }
            let out = &mut upper[0];
            resize_buffer(out, d * hn, steps * batch);
            if d == 1 {
                out.copy_from(&self.dirs[l].h);
            } else {
                let (fw, bw) = (&self.dirs[2 * l].h, &self.dirs[2 * l + 1].h);
                for ((o, a), b) in out
                    .as_mut_slice()
                    .chunks_exact_mut(2 * hn)
                    .zip(fw.as_slice().chunks_exact(hn))
                    .zip(bw.as_slice().chunks_exact(hn))
                {
                    o[..hn].copy_from_slice(a);
                    o[hn..].copy_from_slice(b);
                }
            }
        }
        Ok(&self.outputs[self.config.layers - 1])
    }

    /// The top layer's outputs of the last [`Rnn::forward`], `D·H x (T·B)`.
    pub fn output(&self) -> &Mat<F> {
        &self.outputs[self.config.layers - 1]
    }

    /// The final state `(h_n, c_n)` of the last [`Rnn::forward`], as PyTorch returns it. For a
    /// reverse direction the final state is the one after processing `t = 0`.
    pub fn final_state(&self) -> RnnState<F> {
        RnnState {
            h: self.dirs.iter().map(|d| d.h_last.clone()).collect(),
            c: if self.config.cell.has_cell() {
                self.dirs.iter().map(|d| d.c_last.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The top layer's final hidden state, `D·H x B` (forward `h_T` over reverse `h_0`): the
    /// sequence-to-one summary.
    pub fn final_hidden_top(&self) -> Mat<F> {
        let d = self.config.directions();
        let hn = self.config.hidden;
        let top = (self.config.layers - 1) * d;
        let mut out = Mat::zeros(d * hn, self.batch);
        for k in 0..d {
            out.rows_mut(k * hn, hn)
                .copy_from(&self.dirs[top + k].h_last);
        }
        out
    }

    fn check_backward(
        &self,
        d_output: Option<&Mat<F>>,
        d_final: Option<&RnnState<F>>,
    ) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::Data("Rnn::backward called before forward".into()));
        }
        let want = (self.config.output_width(), self.steps * self.batch);
        if let Some(d) = d_output {
            if d.shape() != want {
                return Err(Error::shape(
                    "Rnn backward dY (D·H x steps·batch)",
                    want,
                    d.shape(),
                ));
            }
            optim::check_finite(d, "Rnn backward dY")?;
        }
        if let Some(s) = d_final {
            s.check(
                &self.config,
                self.batch,
                "Rnn backward final-state gradient",
            )?;
        }
        Ok(())
    }

    /// Splits a `2H x T·B` gradient into the two directions' `H x T·B` halves.
    fn split_rows(split: &mut [Mat<F>; 2], d: &Mat<F>, hn: usize) {
        let tb = d.ncols();
        for m in split.iter_mut() {
            resize_buffer(m, hn, tb);
        }
        let [a, b] = split;
        for ((src, da), db) in d
            .as_slice()
            .chunks_exact(2 * hn)
            .zip(a.as_mut_slice().chunks_exact_mut(hn))
            .zip(b.as_mut_slice().chunks_exact_mut(hn))
        {
            da.copy_from_slice(&src[..hn]);
            db.copy_from_slice(&src[hn..]);
        }
    }

    /// Backpropagation through time over the whole sequence of the last forward: *adds* every
    /// parameter's gradient into [`Param::grad`]. Afterwards [`Rnn::input_grad`] holds `∂L/∂X`
    /// (if `input_grad`) and [`Rnn::initial_grad`] `∂L/∂(h_0, c_0)`.
    ///
    /// - `d_output`: `∂L/∂Y` for the outputs of every step (`D·H x T·B`), or `None` when the
    ///   loss reads only the final state (sequence-to-one);
    /// - `d_final`: `∂L/∂(h_n, c_n)` for the final states, or `None`.
    ///
    /// # Errors
    /// Wrong shapes, non-finite gradients, no forward before.
    pub fn backward(
        &mut self,
        d_output: Option<&Mat<F>>,
        d_final: Option<&RnnState<F>>,
        input_grad: bool,
    ) -> Result<()> {
        self.check_backward(d_output, d_final)?;
        self.backward_windows(d_output, d_final, input_grad, &[(0, 0, self.steps)], true);
        Ok(())
    }

    /// Truncated backpropagation through time, BPTT(k1, k2) of Williams & Peng (1990): every
    /// `k1` steps (at `t = k1, 2k1, …`, and at `T`), the gradients of the losses of the last `k1`
    /// steps are propagated back `k2` steps and no further. The parameters are held fixed over
    /// the sequence, so the gradient is the sum over these windows; with `k1 = k2 = T` it is
    /// exactly full BPTT. Unidirectional networks only (a reverse direction has no past to
    /// truncate), and no final-state gradient.
    ///
    /// # Errors
    /// `k1 == 0`, `k2 < k1`, a bidirectional network, wrong shapes.
    pub fn backward_truncated(
        &mut self,
        d_output: &Mat<F>,
        k1: usize,
        k2: usize,
        input_grad: bool,
    ) -> Result<()> {
        if k1 == 0 {
            return Err(Error::hyper("k1", k1, "must be at least 1"));
        }
        if k2 < k1 {
            return Err(Error::hyper("k2", k2, "must be at least k1"));
        }
        if self.config.bidirectional {
            return Err(Error::Data(
                "truncated BPTT needs a unidirectional network (the reverse direction runs from \
                 the end of the sequence)"
                    .into(),
            ));
        }
        self.check_backward(Some(d_output), None)?;
        let mut windows = Vec::new();
        let mut prev = 0;
        while prev < self.steps {
            let end = (prev + k1).min(self.steps);
            windows.push((prev, end.saturating_sub(k2), end));
            prev = end;
        }
        self.backward_windows(Some(d_output), None, input_grad, &windows, false);
        Ok(())
    }

    /// Runs the backward sweep over each window `(inject_from, start, end)`: losses of steps
    /// `inject_from..end` flow back to `start`, through every layer.
    fn backward_windows(
        &mut self,
        d_output: Option<&Mat<F>>,
        d_final: Option<&RnnState<F>>,
        input_grad: bool,
        windows: &[(usize, usize, usize)],
        record: bool,
    ) {
        let d = self.config.directions();
        let hn = self.config.hidden;
        let tb = self.steps * self.batch;
        let layers = self.config.layers;
        for l in 0..layers.saturating_sub(1) {
            resize_buffer(&mut self.dx_layers[l], d * hn, tb);
        }
        if input_grad {
            resize_buffer(&mut self.input_grad, self.config.input, tb);
            if windows.len() > 1 || windows[0].1 > 0 {
                self.input_grad.fill(F::zero());
            }
        }
        let mut dh0_acc: Vec<(Mat<F>, Mat<F>)> = Vec::new();
        for &(inject, start, end) in windows {
            for l in (0..layers).rev() {
                // the gradient arriving at this layer's outputs
                let (below, here) = self.dx_layers.split_at_mut(l);
                let d_in: Option<&Mat<F>> = if l == layers - 1 {
                    d_output
                } else {
                    Some(&here[0])
                };
                let inject_from = if l == layers - 1 { inject } else { start };
                if let (2, Some(m)) = (d, d_in) {
                    Self::split_rows(&mut self.d_split, m, hn);
                }
                let input = if l == 0 {
                    &self.input
                } else {
                    &self.outputs[l - 1]
                };
                let mut dx: Option<&mut Mat<F>> = if l > 0 {
                    Some(&mut below[l - 1])
                } else if input_grad {
                    Some(&mut self.input_grad)
                } else {
                    None
                };
                // With several windows the input gradient of layer 0 is a sum over windows.
                let accumulate0 = l == 0 && (windows.len() > 1 || start > 0);
                for k in 0..d {
                    let idx = l * d + k;
                    let dk = if d == 2 {
                        d_in.map(|_| &self.d_split[k])
                    } else {
                        d_in
                    };
                    let fin = (
                        d_final.map(|s| &s.h[idx]),
                        d_final.and_then(|s| s.c.get(idx)),
                    );
                    self.dirs[idx].backward(
                        input,
                        dk,
                        inject_from,
                        start,
                        end,
                        fin,
                        dx.as_deref_mut(),
                        k > 0 || accumulate0,
                        record,
                    );
                }
            }
            if start == 0 {
                for (i, dir) in self.dirs.iter().enumerate() {
                    if dh0_acc.len() <= i {
                        dh0_acc.push((dir.dh0.clone(), dir.dc0.clone()));
                    } else {
                        dh0_acc[i].0 += &dir.dh0;
                        if dir.kind.has_cell() {
                            dh0_acc[i].1 += &dir.dc0;
                        }
                    }
                }
            }
        }
        for (dir, (h, c)) in self.dirs.iter_mut().zip(dh0_acc) {
            dir.dh0 = h;
            dir.dc0 = c;
        }
    }

    /// `∂L/∂X` (`I x T·B`) after a backward pass with `input_grad = true`.
    pub fn input_grad(&self) -> &Mat<F> {
        &self.input_grad
    }

    /// `∂L/∂(h_0, c_0)` after a backward pass, in [`RnnState`] order.
    pub fn initial_grad(&self) -> RnnState<F> {
        RnnState {
            h: self.dirs.iter().map(|d| d.dh0.clone()).collect(),
            c: if self.config.cell.has_cell() {
                self.dirs.iter().map(|d| d.dc0.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// After a full [`Rnn::backward`]: `‖∂L/∂s_t‖` (Frobenius over the batch) for `t = 0..T` of
    /// each layer and direction, where `s_t` is the state leaving step `t` — `h_t`, or `(h_t,
    /// c_t)` for the LSTM (the gradient-flow probe of notes §7.1).
    pub fn state_grad_norms(&self) -> Vec<Vec<f64>> {
        self.dirs
            .iter()
            .map(|d| d.state_grad_norms.clone())
            .collect()
    }

    /// Inference without a cache: the top layer's outputs `D·H x (T·B)` and the final state.
    ///
    /// # Errors
    /// As [`Rnn::forward`].
    pub fn predict(
        &self,
        x: &Seq<F>,
        initial: Option<&RnnState<F>>,
    ) -> Result<(Mat<F>, RnnState<F>)> {
        self.check_input(x, initial)?;
        let (steps, batch) = (x.steps(), x.batch());
        let d = self.config.directions();
        let hn = self.config.hidden;
        let mut layer_in = x.data().clone();
        let mut fin = RnnState::zeros(&self.config, batch);
        for l in 0..self.config.layers {
            let width = layer_in.nrows();
            let mut out = Mat::zeros(d * hn, steps * batch);
            for k in 0..d {
                let idx = l * d + k;
                let dir = &self.dirs[idx];
                let mut h = initial.map_or_else(|| Mat::zeros(hn, batch), |s| s.h[idx].clone());
                let mut c = initial
                    .and_then(|s| s.c.get(idx).cloned())
                    .unwrap_or_else(|| Mat::zeros(hn, batch));
                for p in 0..steps {
                    let t = if k == 1 { steps - 1 - p } else { p };
                    let xt = Mat::from_column_slice(
                        width,
                        batch,
                        &layer_in.as_slice()[t * batch * width..(t + 1) * batch * width],
                    );
                    dir.step(&xt, &mut h, dir.kind.has_cell().then_some(&mut c));
                    out.view_mut((k * hn, t * batch), (hn, batch)).copy_from(&h);
                }
                fin.h[idx] = h;
                if dir.kind.has_cell() {
                    fin.c[idx] = c;
                }
            }
            layer_in = out;
        }
        Ok((layer_in, fin))
    }

    /// One time step of a unidirectional network without a cache (for generation): `x` is
    /// `I x B`, `state` is updated in place; returns the top layer's `h`, `H x B`.
    ///
    /// # Errors
    /// A bidirectional network, wrong shapes, non-finite input.
    pub fn step(&self, x: &Mat<F>, state: &mut RnnState<F>) -> Result<Mat<F>> {
        if self.config.bidirectional {
            return Err(Error::Data(
                "Rnn::step: a bidirectional network cannot run step by step".into(),
            ));
        }
        if x.nrows() != self.config.input {
            return Err(Error::shape(
                "Rnn::step input",
                (self.config.input, x.ncols()),
                x.shape(),
            ));
        }
        optim::check_finite(x, "Rnn::step input")?;
        state.check(&self.config, x.ncols(), "Rnn::step")?;
        let mut input = x.clone();
        for (l, dir) in self.dirs.iter().enumerate() {
            let c = if dir.kind.has_cell() {
                Some(&mut state.c[l])
            } else {
                None
            };
            dir.step(&input, &mut state.h[l], c);
            input = state.h[l].clone();
        }
        Ok(input)
    }
}

impl<F: Float> Parameters<F> for Rnn<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        for d in &mut self.dirs {
            visit(&d.names[0], &mut d.weight_ih);
            visit(&d.names[1], &mut d.weight_hh);
            visit(&d.names[2], &mut d.bias_ih);
            visit(&d.names[3], &mut d.bias_hh);
        }
    }
}
