//! One recurrent layer in one direction: the Elman cell, the LSTM and the GRU, forward and
//! backward through time, written out gate by gate.
//!
//! ```
//! use optim::{Mat, Parameters};
//! use rnn::{CellKind, Rnn, RnnConfig, RnnState, Seq};
//! // one LSTM unit with every weight and bias zero, from the state h = 0, c = 1
//! let mut net = Rnn::<f64>::new(RnnConfig::new(CellKind::Lstm, 1, 1), &mut optim::rng(0))?;
//! net.visit_params(&mut |_, p| p.value.fill(0.0));
//! let x = Seq::new(Mat::from_element(1, 1, 3.0), 1, 1)?;
//! let state = RnnState { h: vec![Mat::zeros(1, 1)], c: vec![Mat::from_element(1, 1, 1.0)] };
//! net.forward(&x, Some(&state))?;
//! // i = f = o = σ(0) = ½ and g = tanh(0) = 0: c = ½·1 + ½·0, h = ½·tanh(½)
//! let fin = net.final_state();
//! assert!((fin.c[0][(0, 0)] - 0.5).abs() < 1e-15);
//! assert!((fin.h[0][(0, 0)] - 0.5 * 0.5f64.tanh()).abs() < 1e-15);
//! # Ok::<(), optim::Error>(())
//! ```
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
//! LSTM:   [a_i; a_f; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
//!         i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)   (input, forget gate, candidate, output gate)
//!         c_t = f ⊙ c_{t−1} + i ⊙ g                            (cell)
//!         h_t = o ⊙ tanh(c_t)                                  (hidden)
//!
//! GRU:    r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)         (reset gate)
//!         z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)         (update gate)
//!         n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)) (candidate)
//!         h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//! ```
//!
//! The input sides `W_ih x_t + b` of all `T` steps are one product before the sweep; each step
//! then adds its hidden side `W_hh h_{t−1}` and applies its cell's step function
//! (`elman_forward_step`, `lstm_forward_step`, `gru_forward_step`, each written next to its
//! formulas below), which reuse the layer's buffers.
//!
//! # Backward through time
//!
//! Going from `t = T` down to `1`, the gradient reaching `h_t` is what the layer above (or the
//! loss) sends to the output at `t` plus what step `t+1` sends back through the recurrence,
//! `∂L/∂h_t = δ_t + W_hhᵀ ∂L/∂a_{t+1}`. Each step's backward function (`elman_backward_step`,
//! `lstm_backward_step`, `gru_backward_step`) turns it into the gradients of the
//! pre-activations `a_t`; after the sweep, the parameter gradients of all steps are three matrix
//! products:
//!
//! ```text
//! ∂L/∂W_ih += dA Xᵀ      ∂L/∂W_hh += dA_h H_prevᵀ      ∂L/∂X = W_ihᵀ dA
//! ∂L/∂b_ih += dA·1       ∂L/∂b_hh += dA_h·1
//! ```
//!
//! where `dA` holds `∂L/∂a_t` for all steps side by side, `H_prev` the state each step received,
//! and `dA_h` equals `dA` except in the GRU's candidate rows, where the reset gate stands between
//! `W_hn h` and the sum (`dA_h = r ⊙ dA` there).

use optim::linalg::{Block, BlockMut, gemm, gemm_blocks, matmul, resize_buffer};
use optim::{Error, Float, Init, Mat, Param, Result, flush_subnormal};
use rand::Rng;

/// Which recurrent cell a layer uses (serialized as `"tanh"`, `"relu"`, `"lstm"`, `"gru"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// `σ(x) = 1 / (1 + e^{−x})`: [`Float::logistic`] (in `f32` branch-free, so the loops vectorize;
/// in `f64` through the standard library for the gradient checks and PyTorch agreement).
#[inline(always)]
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    x.logistic()
}

/// `tanh(x) = 1 − 2 / (e^{2x} + 1)`; `f32` through the shared branch-free
/// [`optim::scalar::exp_f32`] (absolute error ≈ 1e-7), `f64` through the standard library.
#[inline(always)]
pub(crate) fn tanh<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() == 4 {
        let v = x.to_f64() as f32;
        F::of((1.0 - 2.0 / (optim::scalar::exp_f32(2.0 * v) + 1.0)) as f64)
    } else {
        x.tanh()
    }
}

/// `x ← σ(x)` over a slice: a plain map, vectorized (8-wide where the CPU has AVX2,
/// [`optim::simd`]).
#[inline]
fn sigmoid_in_place<F: Float>(x: &mut [F]) {
    optim::simd::map(x, sigmoid);
}

/// `x ← tanh(x)` over a slice.
#[inline]
fn tanh_in_place<F: Float>(x: &mut [F]) {
    optim::simd::map(x, tanh);
}

/// The sizes of one time step: `H` hidden units, `B` sequences.
#[derive(Debug, Clone, Copy)]
struct StepSize {
    hidden: usize,
    batch: usize,
}

/// `out ← W_hh h_{t−1} + β·out` for the `B` columns of one step (`W_hh`: `G·H x H`;
/// `hidden_prev`: `H x B`; `out`: `G·H x B`, all column-major).
#[inline]
fn hidden_projection<F: Float>(
    weight_hh: &[F],
    size: StepSize,
    hidden_prev: &[F],
    beta: F,
    out: &mut [F],
) {
    let rows = weight_hh.len() / size.hidden;
    gemm_blocks(
        F::one(),
        Block::columns(weight_hh, rows, size.hidden),
        Block::columns(hidden_prev, size.hidden, size.batch),
        beta,
        BlockMut::columns(out, rows, size.batch),
    );
}

// ---------------------------------------------------------------------------------------------
// Elman cell (notes §7.1): the same rule at every step, h_t = φ(W x_t + U h_{t−1} + b)
//
//     a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh        h_t = φ(a_t),  φ = tanh or ReLU
//     ∂L/∂a_t = ∂L/∂h_t ⊙ φ'(a_t)      tanh' = 1 − h_t²,  ReLU' = [h_t > 0]
// ---------------------------------------------------------------------------------------------

/// One Elman step over the `B` columns of time `t`. On entry `pre` (`H x B`) holds the input
/// side `W_ih x_t + b_ih + b_hh`; the hidden side `W_hh h_{t−1}` is added and `h_t = φ(a_t)`
/// written to `hidden`.
#[inline]
fn elman_forward_step<F: Float>(
    relu: bool,
    weight_hh: &[F],
    size: StepSize,
    hidden_prev: &[F],
    pre: &mut [F],
    hidden: &mut [F],
) {
    hidden_projection(weight_hh, size, hidden_prev, F::one(), pre);
    if relu {
        for (h, &a) in hidden.iter_mut().zip(pre.iter()) {
            *h = if a > F::zero() { a } else { F::zero() };
        }
    } else {
        for (h, &a) in hidden.iter_mut().zip(pre.iter()) {
            *h = tanh(a);
        }
    }
}

/// Backward of one Elman step: `d_pre = ∂L/∂a_t = ∂L/∂h_t ⊙ φ'`, with `φ'` read off `h_t`.
#[inline]
fn elman_backward_step<F: Float>(relu: bool, hidden: &[F], d_hidden: &[F], d_pre: &mut [F]) {
    let one = F::one();
    if relu {
        for ((d, &h), &dh) in d_pre.iter_mut().zip(hidden).zip(d_hidden) {
            *d = if h > F::zero() { dh } else { F::zero() };
        }
    } else {
        for ((d, &h), &dh) in d_pre.iter_mut().zip(hidden).zip(d_hidden) {
            *d = dh * (one - h * h);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LSTM (notes §7.2: memory as a controlled structure), gates in PyTorch's order i, f, g, o
//
//     [a_i; a_f; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
//     gate_input  i = σ(a_i)      gate_forget f = σ(a_f)
//     candidate   g = tanh(a_g)   gate_output o = σ(a_o)
//     cell        c_t = f ⊙ c_{t−1} + i ⊙ g
//     hidden      h_t = o ⊙ tanh(c_t)
// ---------------------------------------------------------------------------------------------

/// The LSTM's pointwise part for one sequence: `gates` (`4H`, the pre-activations
/// `[a_i; a_f; a_g; a_o]` on entry) is overwritten by `[i; f; g; o]`; writes `c_t`,
/// `tanh(c_t)` and `h_t`.
#[inline]
fn lstm_cell<F: Float>(
    gates: &mut [F],
    cell_prev: &[F],
    cell: &mut [F],
    tanh_cell: &mut [F],
    hidden: &mut [F],
) {
    let n = hidden.len();
    // i, f: σ; g: tanh; o: σ — as separate passes over contiguous rows
    sigmoid_in_place(&mut gates[..2 * n]);
    tanh_in_place(&mut gates[2 * n..3 * n]);
    sigmoid_in_place(&mut gates[3 * n..4 * n]);
    let gate_input = &gates[..n];
    let gate_forget = &gates[n..2 * n];
    let candidate = &gates[2 * n..3 * n];
    let gate_output = &gates[3 * n..4 * n];
    let (cell_prev, cell, tanh_cell) = (&cell_prev[..n], &mut cell[..n], &mut tanh_cell[..n]);
    // c_t = f ⊙ c_{t−1} + i ⊙ g
    for j in 0..n {
        cell[j] = gate_forget[j] * cell_prev[j] + gate_input[j] * candidate[j];
    }
    // h_t = o ⊙ tanh(c_t)
    optim::simd::map_into(tanh_cell, cell, tanh);
    for j in 0..n {
        hidden[j] = gate_output[j] * tanh_cell[j];
    }
}

/// The buffers of one LSTM step (the `B` columns of time `t`).
struct LstmStep<'a, F> {
    /// `4H x B`: the input side `W_ih x_t + b_ih + b_hh` on entry, the gates `[i; f; g; o]` after.
    gates: &'a mut [F],
    /// `H x B`: the running cell, `c_{t−1}` on entry and `c_t` after.
    cell: &'a mut [F],
    /// `H x B` caches: the cell the step received, `tanh(c_t)`, `h_t`.
    cell_prev: &'a mut [F],
    tanh_cell: &'a mut [F],
    hidden: &'a mut [F],
}

/// One LSTM step over a batch: adds `W_hh h_{t−1}` to the gates' pre-activations, then
/// [`lstm_cell`] per sequence.
#[inline]
fn lstm_forward_step<F: Float>(
    weight_hh: &[F],
    size: StepSize,
    hidden_prev: &[F],
    s: LstmStep<'_, F>,
) {
    hidden_projection(weight_hh, size, hidden_prev, F::one(), s.gates);
    s.cell_prev.copy_from_slice(s.cell);
    let (n, g) = (size.hidden, 4 * size.hidden);
    for b in 0..size.batch {
        let r = b * n..(b + 1) * n;
        lstm_cell(
            &mut s.gates[b * g..(b + 1) * g],
            &s.cell_prev[r.clone()],
            &mut s.cell[r.clone()],
            &mut s.tanh_cell[r.clone()],
            &mut s.hidden[r],
        );
    }
}

/// Backward of one LSTM step. On entry `d_hidden = ∂L/∂h_t`, `d_cell = ∂L/∂c_t` from the
/// future; on exit `d_cell = ∂L/∂c_{t−1}` (the part through `f ⊙ c_{t−1}`) and
/// `d_pre = ∂L/∂[a_i; a_f; a_g; a_o]`:
///
/// ```text
/// ∂o = ∂h ⊙ tanh(c_t)                 ∂a_o = ∂o ⊙ o(1 − o)
/// ∂c ← ∂c + ∂h ⊙ o ⊙ (1 − tanh²c_t)
/// ∂i = ∂c ⊙ g                         ∂a_i = ∂i ⊙ i(1 − i)
/// ∂g = ∂c ⊙ i                         ∂a_g = ∂g ⊙ (1 − g²)
/// ∂f = ∂c ⊙ c_{t−1}                   ∂a_f = ∂f ⊙ f(1 − f)
/// ∂c_{t−1} = ∂c ⊙ f
/// ```
///
/// A [`optim::simd::Kernel`]: the loop runs in a copy compiled for AVX2 where the CPU has it
/// (it took a tenth of an LSTM training step with 4-wide vectors).
struct LstmBackwardStep<'a, F> {
    size: StepSize,
    gates: &'a [F],
    cell_prev: &'a [F],
    tanh_cell: &'a [F],
    d_hidden: &'a [F],
    d_cell: &'a mut [F],
    d_pre: &'a mut [F],
}

impl<F: Float> optim::simd::Kernel for LstmBackwardStep<'_, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let LstmBackwardStep {
            size,
            gates,
            cell_prev,
            tanh_cell,
            d_hidden,
            d_cell,
            d_pre,
        } = self;
        lstm_backward_step(size, gates, cell_prev, tanh_cell, d_hidden, d_cell, d_pre);
    }
}

/// The loop of [`LstmBackwardStep`] over the sequences of a batch.
#[inline(always)]
fn lstm_backward_step<F: Float>(
    size: StepSize,
    gates: &[F],
    cell_prev: &[F],
    tanh_cell: &[F],
    d_hidden: &[F],
    d_cell: &mut [F],
    d_pre: &mut [F],
) {
    let (n, g) = (size.hidden, 4 * size.hidden);
    for b in 0..size.batch {
        let r = b * n..(b + 1) * n;
        let gr = b * g..(b + 1) * g;
        lstm_cell_backward(
            &gates[gr.clone()],
            &cell_prev[r.clone()],
            &tanh_cell[r.clone()],
            &d_hidden[r.clone()],
            &mut d_cell[r],
            &mut d_pre[gr],
        );
    }
}

/// [`lstm_backward_step`] for one sequence.
#[inline(always)]
fn lstm_cell_backward<F: Float>(
    gates: &[F],
    cell_prev: &[F],
    tanh_cell: &[F],
    d_hidden: &[F],
    d_cell: &mut [F],
    d_pre: &mut [F],
) {
    let n = d_hidden.len();
    let one = F::one();
    let (gate_input, rest) = gates.split_at(n);
    let (gate_forget, rest) = rest.split_at(n);
    let (candidate, gate_output) = rest.split_at(n);
    let (gate_output, cell_prev, tanh_cell, d_cell) = (
        &gate_output[..n],
        &cell_prev[..n],
        &tanh_cell[..n],
        &mut d_cell[..n],
    );
    let (d_input, rest) = d_pre.split_at_mut(n);
    let (d_forget, rest) = rest.split_at_mut(n);
    let (d_candidate, d_output) = rest.split_at_mut(n);
    let d_output = &mut d_output[..n];
    for j in 0..n {
        let (i, f, g, o) = (gate_input[j], gate_forget[j], candidate[j], gate_output[j]);
        let tc = tanh_cell[j];
        let dh = d_hidden[j];
        let dc = d_cell[j] + dh * o * (one - tc * tc);
        // gradients that decay through many steps are flushed before they turn subnormal:
        // products with subnormal operands run tens of times slower (optim::flush_subnormal)
        d_input[j] = flush_subnormal(dc * g * i * (one - i));
        d_forget[j] = flush_subnormal(dc * cell_prev[j] * f * (one - f));
        d_candidate[j] = flush_subnormal(dc * i * (one - g * g));
        d_output[j] = flush_subnormal(dh * tc * o * (one - o));
        d_cell[j] = flush_subnormal(dc * f);
    }
}

// ---------------------------------------------------------------------------------------------
// GRU, gates in PyTorch's order r, z, n
//
//     gate_reset  r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)
//     gate_update z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
//     candidate   n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))
//     hidden      h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// ---------------------------------------------------------------------------------------------

/// The GRU's pointwise part for one sequence. `gates` holds `[a_r; a_z; a_n]` (input sides plus
/// biases, with the hidden side already added for r and z); `hidden_n` is `W_hn h_{t−1} + b_hn`.
/// Overwrites `gates` with `[r; z; n]` and writes `h_t`.
#[inline]
fn gru_cell<F: Float>(gates: &mut [F], hidden_n: &[F], hidden_prev: &[F], hidden: &mut [F]) {
    let n = hidden.len();
    sigmoid_in_place(&mut gates[..2 * n]);
    let (rz, candidate) = gates.split_at_mut(2 * n);
    let (gate_reset, gate_update) = (&rz[..n], &rz[n..2 * n]);
    let (candidate, hidden_n, hidden_prev) =
        (&mut candidate[..n], &hidden_n[..n], &hidden_prev[..n]);
    // n = tanh(a_n + r ⊙ (W_hn h_{t−1} + b_hn))
    for j in 0..n {
        candidate[j] += gate_reset[j] * hidden_n[j];
    }
    tanh_in_place(candidate);
    // h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    for j in 0..n {
        hidden[j] = (F::one() - gate_update[j]) * candidate[j] + gate_update[j] * hidden_prev[j];
    }
}

/// The buffers of one GRU step (the `B` columns of time `t`).
struct GruStep<'a, F> {
    /// `3H x B`: the input side (`W_ih x_t + b_ih`, plus `b_hh` for r and z) on entry, the gates
    /// `[r; z; n]` after.
    gates: &'a mut [F],
    /// `3H x B` scratch: `W_hh h_{t−1}`.
    hidden_proj: &'a mut [F],
    /// `H x B` caches: `W_hn h_{t−1} + b_hn`, and `h_t`.
    hidden_n: &'a mut [F],
    hidden: &'a mut [F],
}

/// One GRU step over a batch: all three hidden projections `W_hh h_{t−1}`; r and z join the sum,
/// n waits for the reset gate; then [`gru_cell`] per sequence.
#[inline]
fn gru_forward_step<F: Float>(
    weight_hh: &[F],
    bias_hn: &[F],
    size: StepSize,
    hidden_prev: &[F],
    s: GruStep<'_, F>,
) {
    hidden_projection(weight_hh, size, hidden_prev, F::zero(), s.hidden_proj);
    let (n, g) = (size.hidden, 3 * size.hidden);
    for b in 0..size.batch {
        let proj = &s.hidden_proj[b * g..(b + 1) * g];
        let gates = &mut s.gates[b * g..(b + 1) * g];
        for j in 0..2 * n {
            gates[j] += proj[j];
        }
        let hidden_n = &mut s.hidden_n[b * n..(b + 1) * n];
        for j in 0..n {
            hidden_n[j] = proj[2 * n + j] + bias_hn[j];
        }
        let r = b * n..(b + 1) * n;
        gru_cell(gates, hidden_n, &hidden_prev[r.clone()], &mut s.hidden[r]);
    }
}

/// Backward of one GRU step, given `d_hidden = ∂L/∂h_t`:
///
/// ```text
/// ∂n = ∂h ⊙ (1 − z)            ∂a_n = ∂n ⊙ (1 − n²)         (input side of the candidate)
/// ∂(W_hn h + b_hn) = ∂a_n ⊙ r   ∂r = ∂a_n ⊙ (W_hn h + b_hn)   (hidden side, through the reset gate)
/// ∂z = ∂h ⊙ (h_{t−1} − n)      ∂a_z = ∂z ⊙ z(1 − z)          ∂a_r = ∂r ⊙ r(1 − r)
/// ∂h_{t−1} (direct) = ∂h ⊙ z
/// ```
///
/// Writes `d_pre = [∂a_r; ∂a_z; ∂a_n]` (the input side), `d_pre_hidden = [∂a_r; ∂a_z;
/// ∂(W_hn h + b_hn)]` (the hidden side) and the direct part of `∂L/∂h_{t−1}` into
/// `d_hidden_prev`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn gru_backward_step<F: Float>(
    size: StepSize,
    gates: &[F],
    hidden_n: &[F],
    hidden_prev: &[F],
    d_hidden: &[F],
    d_pre: &mut [F],
    d_pre_hidden: &mut [F],
    d_hidden_prev: &mut [F],
) {
    let (n, g) = (size.hidden, 3 * size.hidden);
    for b in 0..size.batch {
        let r = b * n..(b + 1) * n;
        let gr = b * g..(b + 1) * g;
        gru_cell_backward(
            &gates[gr.clone()],
            &hidden_n[r.clone()],
            &hidden_prev[r.clone()],
            &d_hidden[r.clone()],
            &mut d_pre[gr.clone()],
            &mut d_pre_hidden[gr],
            &mut d_hidden_prev[r],
        );
    }
}

/// [`gru_backward_step`] for one sequence.
#[inline]
fn gru_cell_backward<F: Float>(
    gates: &[F],
    hidden_n: &[F],
    hidden_prev: &[F],
    d_hidden: &[F],
    d_pre: &mut [F],
    d_pre_hidden: &mut [F],
    d_hidden_prev: &mut [F],
) {
    let n = d_hidden.len();
    let one = F::one();
    let (gate_reset, gate_update, candidate) =
        (&gates[..n], &gates[n..2 * n], &gates[2 * n..3 * n]);
    let (hidden_n, hidden_prev, d_hidden_prev) =
        (&hidden_n[..n], &hidden_prev[..n], &mut d_hidden_prev[..n]);
    let (d_reset, rest) = d_pre.split_at_mut(n);
    let (d_update, d_candidate) = rest.split_at_mut(n);
    let (dh_reset, rest) = d_pre_hidden.split_at_mut(n);
    let (dh_update, dh_candidate) = rest.split_at_mut(n);
    let (d_update, d_candidate, dh_update, dh_candidate) = (
        &mut d_update[..n],
        &mut d_candidate[..n],
        &mut dh_update[..n],
        &mut dh_candidate[..n],
    );
    for j in 0..n {
        let (r, z, c) = (gate_reset[j], gate_update[j], candidate[j]);
        let dh = d_hidden[j];
        let d_an = dh * (one - z) * (one - c * c);
        let d_ar = d_an * hidden_n[j] * r * (one - r);
        let d_az = dh * (hidden_prev[j] - c) * z * (one - z);
        d_reset[j] = d_ar;
        d_update[j] = d_az;
        d_candidate[j] = d_an;
        dh_reset[j] = d_ar;
        dh_update[j] = d_az;
        dh_candidate[j] = d_an * r;
        d_hidden_prev[j] = dh * z;
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

        // The input side of every step in one product: A = W_ih X + (b_ih + b_hh)·1ᵀ.
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

        // The recurrence: each step adds its hidden side and applies the cell's step function.
        let size = StepSize { hidden: hn, batch };
        let w_hh = self.weight_hh.value.as_slice();
        for p in 0..steps {
            let t = self.time(p);
            let hs = t * batch * hn..(t + 1) * batch * hn;
            let gs = t * batch * g..(t + 1) * batch * g;
            self.h_prev.as_mut_slice()[hs.clone()].copy_from_slice(self.h_last.as_slice());
            let hidden_prev = &self.h_prev.as_slice()[hs.clone()];
            let gates = &mut self.gates.as_mut_slice()[gs];
            let hidden = &mut self.h.as_mut_slice()[hs.clone()];
            match self.kind {
                CellKind::Tanh | CellKind::Relu => {
                    let relu = self.kind == CellKind::Relu;
                    elman_forward_step(relu, w_hh, size, hidden_prev, gates, hidden);
                }
                CellKind::Lstm => lstm_forward_step(
                    w_hh,
                    size,
                    hidden_prev,
                    LstmStep {
                        gates,
                        cell: self.c_last.as_mut_slice(),
                        cell_prev: &mut self.c_prev.as_mut_slice()[hs.clone()],
                        tanh_cell: &mut self.tanh_c.as_mut_slice()[hs.clone()],
                        hidden,
                    },
                ),
                CellKind::Gru => gru_forward_step(
                    w_hh,
                    &self.bias_hh.value.as_slice()[2 * hn..],
                    size,
                    hidden_prev,
                    GruStep {
                        gates,
                        hidden_proj: self.hh_step.as_mut_slice(),
                        hidden_n: &mut self.hh_n.as_mut_slice()[hs.clone()],
                        hidden,
                    },
                ),
            }
            self.h_last
                .as_mut_slice()
                .copy_from_slice(&self.h.as_slice()[hs]);
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
        let size = StepSize { hidden: hn, batch };
        for p in (p_lo..p_hi).rev() {
            let t = self.time(p);
            let hs = t * batch * hn..(t + 1) * batch * hn;
            let gs = t * batch * g..(t + 1) * batch * g;
            // ∂L/∂h_t = (from above) + (from step t+1)
            let d_hidden = self.dh.as_mut_slice();
            d_hidden.copy_from_slice(self.dh_carry.as_slice());
            if let (Some(d), true) = (d_out, p >= inject_lo) {
                for (a, b) in d_hidden.iter_mut().zip(&d.as_slice()[hs.clone()]) {
                    *a += *b;
                }
            }
            if record {
                let cell: &[F] = if self.kind.has_cell() {
                    self.dc.as_slice()
                } else {
                    &[]
                };
                // in f64, in the fixed partial sums of `sum_map` (a running sum here took 4 %
                // of an LSTM training step, one dependent addition after another)
                let square = |v: F| v.to_f64() * v.to_f64();
                let sq =
                    optim::simd::sum_map(d_hidden, square) + optim::simd::sum_map(cell, square);
                self.state_grad_norms[t] = sq.sqrt();
            }
            let d_pre = &mut self.dz.as_mut_slice()[gs.clone()];
            match self.kind {
                CellKind::Tanh | CellKind::Relu => elman_backward_step(
                    self.kind == CellKind::Relu,
                    &self.h.as_slice()[hs],
                    d_hidden,
                    d_pre,
                ),
                CellKind::Lstm => optim::simd::run(LstmBackwardStep {
                    size,
                    gates: &self.gates.as_slice()[gs.clone()],
                    cell_prev: &self.c_prev.as_slice()[hs.clone()],
                    tanh_cell: &self.tanh_c.as_slice()[hs],
                    d_hidden,
                    d_cell: self.dc.as_mut_slice(),
                    d_pre,
                }),
                CellKind::Gru => gru_backward_step(
                    size,
                    &self.gates.as_slice()[gs.clone()],
                    &self.hh_n.as_slice()[hs.clone()],
                    &self.h_prev.as_slice()[hs],
                    d_hidden,
                    d_pre,
                    &mut self.dz_hh.as_mut_slice()[gs.clone()],
                    self.dh_carry.as_mut_slice(),
                ),
            }
            // ∂L/∂h_{t−1} = W_hhᵀ ∂L/∂a_t (+ the GRU's direct path z ⊙ ∂h, already in the carry)
            let d_pre_hidden = if gru {
                &self.dz_hh.as_slice()[gs]
            } else {
                &self.dz.as_slice()[gs]
            };
            gemm_blocks(
                F::one(),
                Block::columns(self.w_hh_t.as_slice(), hn, g),
                Block::columns(d_pre_hidden, g, batch),
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
    /// place; the same step functions as [`Direction::forward`].
    pub fn step(&self, x: &Mat<F>, h: &mut Mat<F>, c: Option<&mut Mat<F>>) {
        let (hn, g) = (self.hidden, self.kind.gates() * self.hidden);
        let batch = x.ncols();
        let mut bias = Vec::with_capacity(g);
        self.combined_bias(&mut bias);
        let mut gates = matmul(&self.weight_ih.value, false, x, false);
        for col in gates.as_mut_slice().chunks_exact_mut(g) {
            for (v, b) in col.iter_mut().zip(&bias) {
                *v += *b;
            }
        }
        let size = StepSize { hidden: hn, batch };
        let w_hh = self.weight_hh.value.as_slice();
        let mut hidden = Mat::zeros(hn, batch);
        match self.kind {
            CellKind::Tanh | CellKind::Relu => elman_forward_step(
                self.kind == CellKind::Relu,
                w_hh,
                size,
                h.as_slice(),
                gates.as_mut_slice(),
                hidden.as_mut_slice(),
            ),
            CellKind::Lstm => {
                let cell = c.expect("LSTM step needs a cell state");
                let (mut cell_prev, mut tanh_cell) =
                    (vec![F::zero(); hn * batch], vec![F::zero(); hn * batch]);
                lstm_forward_step(
                    w_hh,
                    size,
                    h.as_slice(),
                    LstmStep {
                        gates: gates.as_mut_slice(),
                        cell: cell.as_mut_slice(),
                        cell_prev: &mut cell_prev,
                        tanh_cell: &mut tanh_cell,
                        hidden: hidden.as_mut_slice(),
                    },
                );
            }
            CellKind::Gru => {
                let (mut proj, mut hidden_n) =
                    (vec![F::zero(); g * batch], vec![F::zero(); hn * batch]);
                gru_forward_step(
                    w_hh,
                    &self.bias_hh.value.as_slice()[2 * hn..],
                    size,
                    h.as_slice(),
                    GruStep {
                        gates: gates.as_mut_slice(),
                        hidden_proj: &mut proj,
                        hidden_n: &mut hidden_n,
                        hidden: hidden.as_mut_slice(),
                    },
                );
            }
        }
        *h = hidden;
    }
}
/// `out[i] += Σ_j m[i, j]` for a column-major block with `rows` rows.
fn add_row_sums<F: Float>(m: &[F], rows: usize, out: &mut [F]) {
    for col in m.chunks_exact(rows) {
        optim::simd::zip_map(out, col, |o, v| o + v);
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
            let e = optim::scalar::exp_f32(x as f32) as f64;
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
