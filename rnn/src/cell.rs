//! One recurrent layer in one direction: the Elman cell, the LSTM and the GRU, forward and
//! backward through time, written out gate by gate.
//!
//! # Parameters (PyTorch's layout)
//!
//! With `G` gates (`1` for the Elman RNN, `4` for the LSTM in the order i, f, g, o, `3` for the
//! GRU in the order r, z, n), input width `I` and hidden width `H`:
//!
//! | name | shape |
//! |---|---|
//! | `weight_ih` | `G·H x I` |
//! | `weight_hh` | `G·H x H` |
//! | `bias_ih` | `G·H` |
//! | `bias_hh` | `G·H` |
//!
//! # Forward (PyTorch's formulas)
//!
//! ```text
//! Elman:  h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),  φ = tanh or ReLU
//!
//! LSTM:   [z_i; z_f; z_g; z_o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
//!         i = σ(z_i)  f = σ(z_f)  g = tanh(z_g)  o = σ(z_o)
//!         c_t = f ⊙ c_{t−1} + i ⊙ g
//!         h_t = o ⊙ tanh(c_t)
//!
//! GRU:    r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)
//!         z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
//!         n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))
//!         h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//! ```
//!
//! # Backward through time
//!
//! Going from `t = T` down to `1`, the gradient reaching `h_t` is what the layer above (or the
//! loss) sends to the output at `t` plus what step `t+1` sends back through the recurrence,
//! `∂L/∂h_t = δ_t + W_hhᵀ ∂L/∂z_{t+1}`. Each step turns it into the gradients of the
//! pre-activations `z_t` (see `lstm_backward_column`, `gru_backward_column` in this file); after the sweep, the
//! parameter gradients of all steps are three matrix products:
//!
//! ```text
//! ∂L/∂W_ih += dZ Xᵀ      ∂L/∂W_hh += dZ_h H_prevᵀ      ∂L/∂X = W_ihᵀ dZ
//! ∂L/∂b_ih += dZ·1       ∂L/∂b_hh += dZ_h·1
//! ```
//!
//! where `dZ` holds `∂L/∂z_t` for all steps side by side, `H_prev` the state each step received,
//! and `dZ_h` equals `dZ` except in the GRU's candidate rows, where the reset gate stands between
//! `W_hn h` and the sum (`dZ_h = r ⊙ dZ` there).

use optim::linalg::{Block, BlockMut, gemm, gemm_blocks, matmul, resize_buffer};
use optim::{Error, Float, Init, Mat, Param, Result};
use rand::Rng;

/// Which recurrent cell a layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN with `tanh` (PyTorch `nn.RNN(nonlinearity="tanh")`).
    Tanh,
    /// Elman RNN with ReLU (PyTorch `nn.RNN(nonlinearity="relu")`).
    Relu,
    /// Long short-term memory, gates i, f, g, o (PyTorch `nn.LSTM`).
    Lstm,
    /// Gated recurrent unit, gates r, z, n (PyTorch `nn.GRU`).
    Gru,
}

impl CellKind {
    /// Number of gate blocks `G` stacked in `weight_ih`/`weight_hh`.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Tanh | CellKind::Relu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// Whether the cell carries a memory cell `c` beside `h` (the LSTM).
    pub fn has_cell(self) -> bool {
        self == CellKind::Lstm
    }

    /// A short name (`tanh`, `relu`, `lstm`, `gru`).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Tanh => "tanh",
            CellKind::Relu => "relu",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }

    /// Parses [`CellKind::name`].
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "tanh" | "rnn" => Ok(CellKind::Tanh),
            "relu" => Ok(CellKind::Relu),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            other => Err(Error::hyper(
                "cell",
                other,
                "must be tanh, relu, lstm or gru",
            )),
        }
    }
}

/// `exp(x)` in single precision, branch-free so loops over it vectorize: Cephes' `expf`
/// (range reduction `x = n ln2 + r`, a degree-6 polynomial for `e^r`, `2^n` from the exponent
/// bits), accurate to about 2 ulp on `[−87, 88]` and clamped outside.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // round(x·log2 e) by adding 1.5·2²³: the sum's low mantissa bits then hold n itself, so
    // both n as a float and 2ⁿ come out of bit operations (no float-to-int conversion, which
    // would keep the loop from vectorizing)
    const MAGIC: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let pow2 = f32::from_bits(t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127) << 23);
    e * pow2
}

/// `σ(x) = 1 / (1 + e^{−x})`. In `f32` through [`exp_f32`] (training speed; the loops
/// vectorize), in `f64` through the standard library (gradient checks, PyTorch agreement).
#[inline(always)]
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() == 4 {
        let v = x.to_f64() as f32;
        F::of((1.0 / (1.0 + exp_f32(-v))) as f64)
    } else {
        F::one() / (F::one() + (-x).exp())
    }
}

/// `tanh(x) = 1 − 2 / (e^{2x} + 1)`; `f32` through [`exp_f32`] (absolute error ≈ 1e-7), `f64`
/// through the standard library.
#[inline(always)]
pub(crate) fn tanh<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() == 4 {
        let v = x.to_f64() as f32;
        F::of((1.0 - 2.0 / (exp_f32(2.0 * v) + 1.0)) as f64)
    } else {
        x.tanh()
    }
}

/// `x ← σ(x)` over a slice (a plain map, so it vectorizes).
#[inline]
fn sigmoid_in_place<F: Float>(x: &mut [F]) {
    for v in x.iter_mut() {
        *v = sigmoid(*v);
    }
}

/// `x ← tanh(x)` over a slice.
#[inline]
fn tanh_in_place<F: Float>(x: &mut [F]) {
    for v in x.iter_mut() {
        *v = tanh(*v);
    }
}

/// LSTM pointwise step for one column: `z` (`4H`, pre-activations on entry) is overwritten by the
/// activated gates `[i; f; g; o]`; writes `c_t`, `tanh(c_t)` and `h_t`.
#[inline]
pub(crate) fn lstm_forward_column<F: Float>(
    z: &mut [F],
    c_prev: &[F],
    c: &mut [F],
    tanh_c: &mut [F],
    h: &mut [F],
) {
    let n = h.len();
    // i, f: σ; g: tanh; o: σ — as separate passes over contiguous rows
    sigmoid_in_place(&mut z[..2 * n]);
    tanh_in_place(&mut z[2 * n..3 * n]);
    sigmoid_in_place(&mut z[3 * n..4 * n]);
    let (zi, zf, zg, zo) = (&z[..n], &z[n..2 * n], &z[2 * n..3 * n], &z[3 * n..4 * n]);
    let (c_prev, c, tanh_c) = (&c_prev[..n], &mut c[..n], &mut tanh_c[..n]);
    // c_t = f ⊙ c_{t−1} + i ⊙ g
    for j in 0..n {
        c[j] = zf[j] * c_prev[j] + zi[j] * zg[j];
    }
    // h_t = o ⊙ tanh(c_t)
    for j in 0..n {
        tanh_c[j] = tanh(c[j]);
    }
    for j in 0..n {
        h[j] = zo[j] * tanh_c[j];
    }
}

/// LSTM backward for one column. On entry `dh = ∂L/∂h_t`, `dc = ∂L/∂c_t` from the future; on
/// exit `dc = ∂L/∂c_{t−1}` (the part through `f ⊙ c_{t−1}`) and `dz = ∂L/∂[z_i; z_f; z_g; z_o]`:
///
/// ```text
/// ∂o = dh ⊙ tanh(c_t)               ∂z_o = ∂o ⊙ o(1 − o)
/// dc ← dc + dh ⊙ o ⊙ (1 − tanh²c_t)
/// ∂i = dc ⊙ g                       ∂z_i = ∂i ⊙ i(1 − i)
/// ∂g = dc ⊙ i                       ∂z_g = ∂g ⊙ (1 − g²)
/// ∂f = dc ⊙ c_{t−1}                 ∂z_f = ∂f ⊙ f(1 − f)
/// ∂c_{t−1} = dc ⊙ f
/// ```
#[inline]
pub(crate) fn lstm_backward_column<F: Float>(
    gates: &[F],
    c_prev: &[F],
    tanh_c: &[F],
    dh: &[F],
    dc: &mut [F],
    dz: &mut [F],
) {
    let n = dh.len();
    let one = F::one();
    let (gi, rest) = gates.split_at(n);
    let (gf, rest) = rest.split_at(n);
    let (gg, go) = rest.split_at(n);
    let (go, c_prev, tanh_c, dc) = (&go[..n], &c_prev[..n], &tanh_c[..n], &mut dc[..n]);
    let (dzi, rest) = dz.split_at_mut(n);
    let (dzf, rest) = rest.split_at_mut(n);
    let (dzg, dzo) = rest.split_at_mut(n);
    let dzo = &mut dzo[..n];
    for j in 0..n {
        let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
        let tc = tanh_c[j];
        let d_o = dh[j] * tc;
        let dcj = dc[j] + dh[j] * o * (one - tc * tc);
        let d_i = dcj * g;
        let d_g = dcj * i;
        let d_f = dcj * c_prev[j];
        dzi[j] = d_i * i * (one - i);
        dzf[j] = d_f * f * (one - f);
        dzg[j] = d_g * (one - g * g);
        dzo[j] = d_o * o * (one - o);
        dc[j] = dcj * f;
    }
}

/// GRU pointwise step for one column. `z` holds `[a_r + hh_r; a_z + hh_z; a_n]` (input
/// projections plus biases, with the hidden projection already added for r and z); `hh_n` is
/// `W_hn h_{t−1} + b_hn`. Overwrites `z` with the gates `[r; z; n]` and writes `h_t`.
#[inline]
pub(crate) fn gru_forward_column<F: Float>(z: &mut [F], hh_n: &[F], h_prev: &[F], h: &mut [F]) {
    let n = h.len();
    // r, z = σ(·)
    sigmoid_in_place(&mut z[..2 * n]);
    let (rz, cand) = z.split_at_mut(2 * n);
    let (r, u) = (&rz[..n], &rz[n..2 * n]);
    let (cand, hh_n, h_prev) = (&mut cand[..n], &hh_n[..n], &h_prev[..n]);
    // n = tanh(a_n + r ⊙ hh_n)
    for j in 0..n {
        cand[j] += r[j] * hh_n[j];
    }
    tanh_in_place(cand);
    // h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    for j in 0..n {
        h[j] = (F::one() - u[j]) * cand[j] + u[j] * h_prev[j];
    }
}

/// GRU backward for one column, given `dh = ∂L/∂h_t`:
///
/// ```text
/// ∂n = dh ⊙ (1 − z)           ∂a_n = ∂n ⊙ (1 − n²)        (input side of the candidate)
/// ∂hh_n = ∂a_n ⊙ r            ∂r = ∂a_n ⊙ hh_n             (hidden side, through the reset gate)
/// ∂z = dh ⊙ (h_{t−1} − n)     ∂z_z = ∂z ⊙ z(1 − z)         ∂z_r = ∂r ⊙ r(1 − r)
/// ∂h_{t−1} (direct) = dh ⊙ z
/// ```
///
/// Writes `dz_in = [∂z_r; ∂z_z; ∂a_n]`, `dz_hh = [∂z_r; ∂z_z; ∂hh_n]` and the direct part of
/// `∂L/∂h_{t−1}` into `dh_prev`.
#[inline]
pub(crate) fn gru_backward_column<F: Float>(
    gates: &[F],
    hh_n: &[F],
    h_prev: &[F],
    dh: &[F],
    dz_in: &mut [F],
    dz_hh: &mut [F],
    dh_prev: &mut [F],
) {
    let n = dh.len();
    let one = F::one();
    let (gr, gu, gc) = (&gates[..n], &gates[n..2 * n], &gates[2 * n..3 * n]);
    let (hh_n, h_prev, dh_prev) = (&hh_n[..n], &h_prev[..n], &mut dh_prev[..n]);
    let (dr_in, rest) = dz_in.split_at_mut(n);
    let (du_in, dn_in) = rest.split_at_mut(n);
    let (dr_hh, rest) = dz_hh.split_at_mut(n);
    let (du_hh, dn_hh) = rest.split_at_mut(n);
    let (du_in, dn_in, du_hh, dn_hh) = (
        &mut du_in[..n],
        &mut dn_in[..n],
        &mut du_hh[..n],
        &mut dn_hh[..n],
    );
    for j in 0..n {
        let (r, u, c) = (gr[j], gu[j], gc[j]);
        let d_c = dh[j] * (one - u);
        let d_an = d_c * (one - c * c);
        let d_r = d_an * hh_n[j];
        let d_u = dh[j] * (h_prev[j] - c);
        let dzr = d_r * r * (one - r);
        let dzu = d_u * u * (one - u);
        dr_in[j] = dzr;
        du_in[j] = dzu;
        dn_in[j] = d_an;
        dr_hh[j] = dzr;
        du_hh[j] = dzu;
        dn_hh[j] = d_an * r;
        dh_prev[j] = dh[j] * u;
    }
}

/// One direction of one recurrent layer: parameters plus the forward cache.
///
/// The cache is time-ordered (columns `t·B .. (t+1)·B` are time `t`) even for a reverse
/// direction, which processes `t = T−1, …, 0`; `h_prev` holds the state each step *received*.
#[derive(Debug, Clone)]
pub(crate) struct Direction<F: Float> {
    pub kind: CellKind,
    pub input: usize,
    pub hidden: usize,
    pub reverse: bool,
    pub names: [String; 4],
    pub weight_ih: Param<F>,
    pub weight_hh: Param<F>,
    pub bias_ih: Param<F>,
    pub bias_hh: Param<F>,
    // forward cache
    pub steps: usize,
    pub batch: usize,
    /// `G·H x T·B`: pre-activations on the way in, activated gates after the step (LSTM, GRU);
    /// for the Elman cell the pre-activation is not needed (φ' is computed from `h`).
    gates: Mat<F>,
    /// GRU: `W_hn h_{t−1} + b_hn`, `H x T·B`.
    hh_n: Mat<F>,
    /// The state each step received, `H x T·B`.
    pub h_prev: Mat<F>,
    /// LSTM: the cell each step received, `H x T·B`.
    c_prev: Mat<F>,
    /// LSTM: `tanh(c_t)`, `H x T·B`.
    tanh_c: Mat<F>,
    /// Outputs `h_t`, `H x T·B`.
    pub h: Mat<F>,
    /// Running state during the sweep; after `forward` the final `h_T` (and `c_T`).
    pub h_last: Mat<F>,
    pub c_last: Mat<F>,
    /// Per-step scratch for the GRU's hidden projection, `3H x B`.
    hh_step: Mat<F>,
    // backward scratch
    /// `W_hhᵀ`, `H x G·H`, column-major, so the per-step `W_hhᵀ dz` needs no packing.
    w_hh_t: Mat<F>,
    dz: Mat<F>,
    dz_hh: Mat<F>,
    dh: Mat<F>,
    dc: Mat<F>,
    dh_carry: Mat<F>,
    /// After `backward`: `∂L/∂h_0` and `∂L/∂c_0` of the initial state.
    pub dh0: Mat<F>,
    pub dc0: Mat<F>,
    /// After a recorded `backward`: `‖∂L/∂s_t‖` per time step `t` (state `s = h`, or `(h, c)`).
    pub state_grad_norms: Vec<f64>,
}

impl<F: Float> Direction<F> {
    /// PyTorch's initialization: every weight and bias from `U(−1/√H, 1/√H)`; with
    /// `forget_bias = Some(v)` the LSTM's forget-gate biases are set so that `b_ih + b_hh = v`
    /// (`b_ih,f = v`, `b_hh,f = 0`).
    pub fn new(
        kind: CellKind,
        input: usize,
        hidden: usize,
        reverse: bool,
        suffix: &str,
        forget_bias: Option<f64>,
        rng: &mut impl Rng,
    ) -> Self {
        let g = kind.gates() * hidden;
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Init::Uniform(k);
        let weight_ih = init.matrix(g, input, input, g, rng);
        let weight_hh = init.matrix(g, hidden, hidden, g, rng);
        let mut bias_ih: Mat<F> = init.matrix(g, 1, hidden, g, rng);
        let mut bias_hh: Mat<F> = init.matrix(g, 1, hidden, g, rng);
        if let (CellKind::Lstm, Some(v)) = (kind, forget_bias) {
            for j in hidden..2 * hidden {
                bias_ih[j] = F::of(v);
                bias_hh[j] = F::zero();
            }
        }
        Self::from_params(
            kind, input, hidden, reverse, suffix, weight_ih, weight_hh, bias_ih, bias_hh,
        )
    }

    pub fn from_params(
        kind: CellKind,
        input: usize,
        hidden: usize,
        reverse: bool,
        suffix: &str,
        weight_ih: Mat<F>,
        weight_hh: Mat<F>,
        bias_ih: Mat<F>,
        bias_hh: Mat<F>,
    ) -> Self {
        let names = [
            format!("weight_ih{suffix}"),
            format!("weight_hh{suffix}"),
            format!("bias_ih{suffix}"),
            format!("bias_hh{suffix}"),
        ];
        let e = || Mat::zeros(0, 0);
        Direction {
            kind,
            input,
            hidden,
            reverse,
            names,
            weight_ih: Param::new(weight_ih),
            weight_hh: Param::new(weight_hh),
            bias_ih: Param::vector(bias_ih),
            bias_hh: Param::vector(bias_hh),
            steps: 0,
            batch: 0,
            gates: e(),
            hh_n: e(),
            h_prev: e(),
            c_prev: e(),
            tanh_c: e(),
            h: e(),
            h_last: e(),
            c_last: e(),
            hh_step: e(),
            w_hh_t: e(),
            dz: e(),
            dz_hh: e(),
            dh: e(),
            dc: e(),
            dh_carry: e(),
            dh0: e(),
            dc0: e(),
            state_grad_norms: Vec::new(),
        }
    }

    #[inline]
    fn time(&self, p: usize) -> usize {
        if self.reverse { self.steps - 1 - p } else { p }
    }

    /// The bias added to the input projection of every step: `b_ih + b_hh`, except the GRU's
    /// candidate rows, where `b_hn` sits inside the reset gate and only `b_in` is added here.
    fn combined_bias(&self, out: &mut Vec<F>) {
        let g = self.kind.gates() * self.hidden;
        out.clear();
        for j in 0..g {
            let hh = if self.kind == CellKind::Gru && j >= 2 * self.hidden {
                F::zero()
            } else {
                self.bias_hh.value[j]
            };
            out.push(self.bias_ih.value[j] + hh);
        }
    }

    /// Runs the layer over all `T` steps of `x` (`I x T·B`), caching what backward needs.
    /// `h0`, `c0`: initial state (`H x B`), zero if `None`. Shapes are checked by the caller.
    pub fn forward(
        &mut self,
        x: &Mat<F>,
        steps: usize,
        batch: usize,
        h0: Option<&Mat<F>>,
        c0: Option<&Mat<F>>,
    ) {
        let (hn, g) = (self.hidden, self.kind.gates() * self.hidden);
        let tb = steps * batch;
        self.steps = steps;
        self.batch = batch;
        resize_buffer(&mut self.gates, g, tb);
        resize_buffer(&mut self.h_prev, hn, tb);
        resize_buffer(&mut self.h, hn, tb);
        resize_buffer(&mut self.h_last, hn, batch);
        match h0 {
            Some(h0) => self.h_last.copy_from(h0),
            None => self.h_last.fill(F::zero()),
        }
        if self.kind.has_cell() {
            resize_buffer(&mut self.c_prev, hn, tb);
            resize_buffer(&mut self.tanh_c, hn, tb);
            resize_buffer(&mut self.c_last, hn, batch);
            match c0 {
                Some(c0) => self.c_last.copy_from(c0),
                None => self.c_last.fill(F::zero()),
            }
        }
        if self.kind == CellKind::Gru {
            resize_buffer(&mut self.hh_n, hn, tb);
            resize_buffer(&mut self.hh_step, g, batch);
        }

        // The input projection of every step in one product: Z = W_ih X + (b_ih + b_hh)·1ᵀ.
        let mut bias = Vec::with_capacity(g);
        self.combined_bias(&mut bias);
        for col in self.gates.as_mut_slice().chunks_exact_mut(g) {
            col.copy_from_slice(&bias);
        }
        gemm(
            F::one(),
            &self.weight_ih.value,
            false,
            x,
            false,
            F::one(),
            &mut self.gates,
        );

        let w_hh = self.weight_hh.value.as_slice();
        for p in 0..steps {
            let t = self.time(p);
            let hs = t * batch * hn..(t + 1) * batch * hn;
            let gs = t * batch * g..(t + 1) * batch * g;
            self.h_prev.as_mut_slice()[hs.clone()].copy_from_slice(self.h_last.as_slice());
            let h_prev = &self.h_prev.as_slice()[hs.clone()];
            match self.kind {
                CellKind::Tanh | CellKind::Relu | CellKind::Lstm => {
                    // Z_t += W_hh h_{t−1}
                    gemm_blocks(
                        F::one(),
                        Block::columns(w_hh, g, hn),
                        Block::columns(h_prev, hn, batch),
                        F::one(),
                        BlockMut::columns(&mut self.gates.as_mut_slice()[gs.clone()], g, batch),
                    );
                }
                CellKind::Gru => {
                    // all three hidden projections W_hh h_{t−1}; r and z join the sum, n waits
                    // for the reset gate
                    gemm_blocks(
                        F::one(),
                        Block::columns(w_hh, g, hn),
                        Block::columns(h_prev, hn, batch),
                        F::zero(),
                        BlockMut::columns(self.hh_step.as_mut_slice(), g, batch),
                    );
                }
            }
            let z = &mut self.gates.as_mut_slice()[gs];
            let h = &mut self.h.as_mut_slice()[hs.clone()];
            match self.kind {
                CellKind::Tanh => {
                    for (hv, zv) in h.iter_mut().zip(z.iter()) {
                        *hv = tanh(*zv);
                    }
                }
                CellKind::Relu => {
                    for (hv, zv) in h.iter_mut().zip(z.iter()) {
                        *hv = if *zv > F::zero() { *zv } else { F::zero() };
                    }
                }
                CellKind::Lstm => {
                    self.c_prev.as_mut_slice()[hs.clone()].copy_from_slice(self.c_last.as_slice());
                    let c_prev = &self.c_prev.as_slice()[hs.clone()];
                    let tanh_c = &mut self.tanh_c.as_mut_slice()[hs.clone()];
                    let c = self.c_last.as_mut_slice();
                    for b in 0..batch {
                        let r = b * hn..(b + 1) * hn;
                        lstm_forward_column(
                            &mut z[b * g..(b + 1) * g],
                            &c_prev[r.clone()],
                            &mut c[r.clone()],
                            &mut tanh_c[r.clone()],
                            &mut h[r],
                        );
                    }
                }
                CellKind::Gru => {
                    let hh = self.hh_step.as_slice();
                    let hh_n = &mut self.hh_n.as_mut_slice()[hs.clone()];
                    for b in 0..batch {
                        let col = &hh[b * g..(b + 1) * g];
                        let zc = &mut z[b * g..(b + 1) * g];
                        for j in 0..2 * hn {
                            zc[j] += col[j];
                        }
                        let hn_col = &mut hh_n[b * hn..(b + 1) * hn];
                        for j in 0..hn {
                            hn_col[j] = col[2 * hn + j] + self.bias_hh.value[2 * hn + j];
                        }
                        let r = b * hn..(b + 1) * hn;
                        gru_forward_column(zc, hn_col, &h_prev[r.clone()], &mut h[r]);
                    }
                }
            }
            self.h_last.as_mut_slice().copy_from_slice(h);
        }
    }

    /// Backward through the processing steps `p_lo .. p_hi` (a window; the full sequence is
    /// `0 .. T`), sweeping from `p_hi − 1` down to `p_lo`.
    ///
    /// - `d_out` (`H x T·B`): `∂L/∂h_t` from above, added at processing steps `p >= inject_lo`;
    /// - `d_final`: `∂L/∂h_T` (and `∂L/∂c_T`) entering the last step, used when `p_hi == T`;
    /// - `dx` (`I x T·B`): receives `∂L/∂X` on the window's columns (overwritten, or added to if
    ///   `accumulate`).
    ///
    /// Gradients that would leave the window at its start are dropped (truncation), except at
    /// `p_lo == 0`, where they are `∂L/∂h_0` (`self.dh0`, `self.dc0`).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &mut self,
        x: &Mat<F>,
        d_out: Option<&Mat<F>>,
        inject_lo: usize,
        p_lo: usize,
        p_hi: usize,
        d_final: (Option<&Mat<F>>, Option<&Mat<F>>),
        dx: Option<&mut Mat<F>>,
        accumulate: bool,
        record: bool,
    ) {
        let (hn, g, batch, steps) = (
            self.hidden,
            self.kind.gates() * self.hidden,
            self.batch,
            self.steps,
        );
        let tb = steps * batch;
        let gru = self.kind == CellKind::Gru;
        resize_buffer(&mut self.dz, g, tb);
        if gru {
            resize_buffer(&mut self.dz_hh, g, tb);
        }
        resize_buffer(&mut self.dh, hn, batch);
        resize_buffer(&mut self.dc, hn, batch);
        resize_buffer(&mut self.dh_carry, hn, batch);
        if record {
            self.state_grad_norms.clear();
            self.state_grad_norms.resize(steps, 0.0);
        }
        match (p_hi == steps, d_final.0) {
            (true, Some(d)) => self.dh_carry.copy_from(d),
            _ => self.dh_carry.fill(F::zero()),
        }
        match (p_hi == steps, d_final.1) {
            (true, Some(d)) if self.kind.has_cell() => self.dc.copy_from(d),
            _ => self.dc.fill(F::zero()),
        }
        resize_buffer(&mut self.w_hh_t, hn, g);
        self.weight_hh.value.transpose_to(&mut self.w_hh_t);
        let w_hh_t = self.w_hh_t.as_slice();
        for p in (p_lo..p_hi).rev() {
            let t = self.time(p);
            let hs = t * batch * hn..(t + 1) * batch * hn;
            let gs = t * batch * g..(t + 1) * batch * g;
            // ∂L/∂h_t = (from above) + (from step t+1)
            let dh = self.dh.as_mut_slice();
            dh.copy_from_slice(self.dh_carry.as_slice());
            if let (Some(d), true) = (d_out, p >= inject_lo) {
                for (a, b) in dh.iter_mut().zip(&d.as_slice()[hs.clone()]) {
                    *a += *b;
                }
            }
            if record {
                let sq: f64 = dh
                    .iter()
                    .chain(if self.kind.has_cell() {
                        self.dc.as_slice()
                    } else {
                        &[]
                    })
                    .map(|v| v.to_f64() * v.to_f64())
                    .sum();
                self.state_grad_norms[t] = sq.sqrt();
            }
            let dz = &mut self.dz.as_mut_slice()[gs.clone()];
            let h = &self.h.as_slice()[hs.clone()];
            let one = F::one();
            match self.kind {
                CellKind::Tanh => {
                    for ((d, &hv), &dv) in dz.iter_mut().zip(h).zip(dh.iter()) {
                        *d = dv * (one - hv * hv);
                    }
                }
                CellKind::Relu => {
                    for ((d, &hv), &dv) in dz.iter_mut().zip(h).zip(dh.iter()) {
                        *d = if hv > F::zero() { dv } else { F::zero() };
                    }
                }
                CellKind::Lstm => {
                    let gates = &self.gates.as_slice()[gs.clone()];
                    let c_prev = &self.c_prev.as_slice()[hs.clone()];
                    let tanh_c = &self.tanh_c.as_slice()[hs.clone()];
                    let dc = self.dc.as_mut_slice();
                    for b in 0..batch {
                        let r = b * hn..(b + 1) * hn;
                        let gr = b * g..(b + 1) * g;
                        lstm_backward_column(
                            &gates[gr.clone()],
                            &c_prev[r.clone()],
                            &tanh_c[r.clone()],
                            &dh[r.clone()],
                            &mut dc[r],
                            &mut dz[gr],
                        );
                    }
                }
                CellKind::Gru => {
                    let gates = &self.gates.as_slice()[gs.clone()];
                    let hh_n = &self.hh_n.as_slice()[hs.clone()];
                    let h_prev = &self.h_prev.as_slice()[hs.clone()];
                    let dz_hh = &mut self.dz_hh.as_mut_slice()[gs.clone()];
                    let carry = self.dh_carry.as_mut_slice();
                    for b in 0..batch {
                        let r = b * hn..(b + 1) * hn;
                        let gr = b * g..(b + 1) * g;
                        gru_backward_column(
                            &gates[gr.clone()],
                            &hh_n[r.clone()],
                            &h_prev[r.clone()],
                            &dh[r.clone()],
                            &mut dz[gr.clone()],
                            &mut dz_hh[gr],
                            &mut carry[r],
                        );
                    }
                }
            }
            // ∂L/∂h_{t−1} = W_hhᵀ ∂L/∂z_t (+ the GRU's direct path z ⊙ dh, already in the carry)
            let dzh = if gru {
                &self.dz_hh.as_slice()[gs]
            } else {
                &self.dz.as_slice()[gs]
            };
            gemm_blocks(
                F::one(),
                Block::columns(w_hh_t, hn, g),
                Block::columns(dzh, g, batch),
                if gru { F::one() } else { F::zero() },
                BlockMut::columns(self.dh_carry.as_mut_slice(), hn, batch),
            );
        }
        if p_lo == 0 {
            crate::cell::copy_resize(&mut self.dh0, &self.dh_carry);
            if self.kind.has_cell() {
                crate::cell::copy_resize(&mut self.dc0, &self.dc);
            }
        }

        // Parameter gradients of the window's steps: three products over its columns.
        let (t_lo, t_hi) = if self.reverse {
            (steps - p_hi, steps - p_lo)
        } else {
            (p_lo, p_hi)
        };
        let (c0, n) = (t_lo * batch, (t_hi - t_lo) * batch);
        let i = self.input;
        let dz = &self.dz.as_slice()[c0 * g..(c0 + n) * g];
        let dzh = if gru {
            &self.dz_hh.as_slice()[c0 * g..(c0 + n) * g]
        } else {
            dz
        };
        let xs = &x.as_slice()[c0 * i..(c0 + n) * i];
        let hp = &self.h_prev.as_slice()[c0 * hn..(c0 + n) * hn];
        // ∂L/∂W_ih += dZ Xᵀ
        gemm_blocks(
            F::one(),
            Block::columns(dz, g, n),
            Block::columns(xs, i, n).t(),
            F::one(),
            BlockMut::columns(self.weight_ih.grad.as_mut_slice(), g, i),
        );
        // ∂L/∂W_hh += dZ_h H_prevᵀ
        gemm_blocks(
            F::one(),
            Block::columns(dzh, g, n),
            Block::columns(hp, hn, n).t(),
            F::one(),
            BlockMut::columns(self.weight_hh.grad.as_mut_slice(), g, hn),
        );
        add_row_sums(dz, g, self.bias_ih.grad.as_mut_slice());
        add_row_sums(dzh, g, self.bias_hh.grad.as_mut_slice());
        // ∂L/∂X = W_ihᵀ dZ
        if let Some(dx) = dx {
            let beta = if accumulate { F::one() } else { F::zero() };
            gemm_blocks(
                F::one(),
                Block::columns(self.weight_ih.value.as_slice(), g, i).t(),
                Block::columns(dz, g, n),
                beta,
                BlockMut::columns(&mut dx.as_mut_slice()[c0 * i..(c0 + n) * i], i, n),
            );
        }
    }

    /// One step without a cache (inference): `x` is `I x B`, `h` (and `c`) `H x B`, updated in
    /// place.
    pub fn step(&self, x: &Mat<F>, h: &mut Mat<F>, c: Option<&mut Mat<F>>) {
        let (hn, g) = (self.hidden, self.kind.gates() * self.hidden);
        let batch = x.ncols();
        let mut bias = Vec::with_capacity(g);
        self.combined_bias(&mut bias);
        let mut z = matmul(&self.weight_ih.value, false, x, false);
        for col in z.as_mut_slice().chunks_exact_mut(g) {
            for (v, b) in col.iter_mut().zip(&bias) {
                *v += *b;
            }
        }
        let hh = matmul(&self.weight_hh.value, false, h, false);
        let mut h_new = Mat::zeros(hn, batch);
        match self.kind {
            CellKind::Tanh | CellKind::Relu => {
                z += &hh;
                for (hv, zv) in h_new.iter_mut().zip(z.iter()) {
                    *hv = if self.kind == CellKind::Tanh {
                        tanh(*zv)
                    } else if *zv > F::zero() {
                        *zv
                    } else {
                        F::zero()
                    };
                }
            }
            CellKind::Lstm => {
                z += &hh;
                let c = c.expect("LSTM step needs a cell state");
                let c_prev = c.clone();
                let mut tanh_c = Mat::zeros(hn, batch);
                for b in 0..batch {
                    let r = b * hn..(b + 1) * hn;
                    lstm_forward_column(
                        &mut z.as_mut_slice()[b * g..(b + 1) * g],
                        &c_prev.as_slice()[r.clone()],
                        &mut c.as_mut_slice()[r.clone()],
                        &mut tanh_c.as_mut_slice()[r.clone()],
                        &mut h_new.as_mut_slice()[r],
                    );
                }
            }
            CellKind::Gru => {
                let mut hh_n = vec![F::zero(); hn];
                for b in 0..batch {
                    let zc = &mut z.as_mut_slice()[b * g..(b + 1) * g];
                    let col = &hh.as_slice()[b * g..(b + 1) * g];
                    for j in 0..2 * hn {
                        zc[j] += col[j];
                    }
                    for j in 0..hn {
                        hh_n[j] = col[2 * hn + j] + self.bias_hh.value[2 * hn + j];
                    }
                    let r = b * hn..(b + 1) * hn;
                    gru_forward_column(
                        zc,
                        &hh_n,
                        &h.as_slice()[r.clone()],
                        &mut h_new.as_mut_slice()[r],
                    );
                }
            }
        }
        *h = h_new;
    }
}

/// `out[i] += Σ_j m[i, j]` for a column-major block with `rows` rows.
fn add_row_sums<F: Float>(m: &[F], rows: usize, out: &mut [F]) {
    for col in m.chunks_exact(rows) {
        for (o, v) in out.iter_mut().zip(col) {
            *o += *v;
        }
    }
}

pub(crate) fn copy_resize<F: Float>(dst: &mut Mat<F>, src: &Mat<F>) {
    optim::linalg::copy_into(dst, src);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_precision_exp_sigmoid_tanh_are_accurate() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for k in -20_000..=20_000 {
            // the f32-rounded argument, so only the functions' own error is measured
            let x = (k as f64 * 0.005) as f32 as f64; // −100 .. 100
            let e = exp_f32(x as f32) as f64;
            if x.abs() < 80.0 {
                worst.0 = worst.0.max((e - x.exp()).abs() / x.exp());
            }
            worst.1 = worst
                .1
                .max((sigmoid(x as f32) as f64 - 1.0 / (1.0 + (-x).exp())).abs());
            worst.2 = worst.2.max((tanh(x as f32) as f64 - x.tanh()).abs());
        }
        assert!(worst.0 < 3e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 2e-7, "sigmoid absolute error {}", worst.1);
        assert!(worst.2 < 3e-7, "tanh absolute error {}", worst.2);
        assert_eq!(sigmoid(-200.0f32).max(0.0), sigmoid(-200.0f32));
        assert_eq!(tanh(50.0f32), 1.0);
        assert_eq!(tanh(-50.0f32), -1.0);
    }
}
