//! The gradient-flow probe (notes §7.1): how much of a signal at the end of a sequence reaches
//! each earlier step.
//!
//! Backpropagation through time multiplies one Jacobian per step,
//!
//! ```text
//! ∂h_T/∂h_t = Π_{k=t+1..T} ∂h_k/∂h_{k−1} = Π_k diag(φ'(z_k)) W_hh      (Elman)
//! ```
//!
//! so with `‖W_hh‖₂ = ρ < 1` and `|φ'| ≤ 1` the norm is at most `ρ^{T−t}`: the gradient
//! *vanishes geometrically*, and with `ρ > 1` it can explode. The LSTM's cell path instead
//! multiplies by the forget gate, `∂c_T/∂c_t = Π_k diag(f_k)`, which stays near 1 when the
//! forget gates are near 1 — the "constant error carousel".
//!
//! [`jacobian_norms`] measures `‖∂h_T/∂s_t‖_F` for every `t` (with `s_t = h_t`, or `(h_t, c_t)`
//! for the LSTM) in one backward pass: the sequence is replicated `H` times across the batch and
//! the backward pass starts from `∂L/∂h_T = I`, so column `j` carries row `j` of the Jacobian.
//! [`Rnn::state_grad_norms`](crate::Rnn::state_grad_norms) gives the other probe, `‖∂L/∂s_t‖`
//! of an actual loss.

use crate::rnn::{Rnn, RnnState};
use crate::seq::Seq;
use optim::{Error, Float, Mat, Result};

/// `‖∂h_T/∂s_t‖_F` for `t = 0..=T` of the top layer of a unidirectional network, for one input
/// sequence (`x` with batch 1) from the zero state: entry `0` is the initial state `s_0`, entry
/// `t` the state after the `t`-th input, entry `T` is `‖∂h_T/∂s_T‖` (`√H` for the Elman cell
/// and the GRU). The network is cloned, so its gradients and cache are untouched.
///
/// # Errors
/// A bidirectional network, a batch other than 1, wrong input width.
pub fn jacobian_norms<F: Float>(rnn: &Rnn<F>, x: &Seq<F>) -> Result<Vec<f64>> {
    let config = rnn.config().clone();
    if config.bidirectional {
        return Err(Error::Data(
            "jacobian_norms: needs a unidirectional network".into(),
        ));
    }
    if x.batch() != 1 {
        return Err(Error::Data(format!(
            "jacobian_norms: give one sequence (batch 1), not {}",
            x.batch()
        )));
    }
    let hn = config.hidden;
    let steps = x.steps();
    // the same sequence in each of H columns
    let mut data = Mat::zeros(x.features(), steps * hn);
    for t in 0..steps {
        for j in 0..hn {
            data.column_mut(t * hn + j).copy_from(&x.data().column(t));
        }
    }
    let xs = Seq::new(data, steps, hn)?;
    let mut net = rnn.clone();
    net.forward(&xs, None)?;
    let mut d_final = RnnState::zeros(&config, hn);
    let top = config.layers - 1;
    d_final.h[top] = Mat::identity(hn, hn);
    net.backward(None, Some(&d_final), false)?;
    let per_step = net.state_grad_norms().swap_remove(top);
    let g0 = net.initial_grad();
    let mut first = g0.h[top].norm_squared().to_f64();
    if let Some(c) = g0.c.get(top) {
        first += c.norm_squared().to_f64();
    }
    let mut out = Vec::with_capacity(steps + 1);
    out.push(first.sqrt());
    out.extend(per_step);
    Ok(out)
}

/// The chapter's comparison, ready to plot: `(label, ‖∂h_T/∂s_t‖ for t = 0..=T)` for a tanh RNN
/// whose recurrent matrix is scaled to spectral norm 0.9 and 1.5, an LSTM with forget-gate bias
/// 0 and 5, and a GRU, all `hidden` wide at PyTorch's initialization otherwise, on one random
/// input sequence of `steps` steps (4 features).
///
/// # Errors
/// `steps == 0` or `hidden == 0`.
pub fn gradient_flow_curves(
    steps: usize,
    hidden: usize,
    seed: u64,
) -> Result<Vec<(String, Vec<f64>)>> {
    use crate::{CellKind, RnnConfig};
    use optim::Parameters;
    use rand::Rng;
    let input = 4;
    let mut rng = optim::rng(seed);
    let x = Seq::new(
        Mat::<f64>::from_fn(input, steps, |_, _| rng.random_range(-1.0..1.0)),
        steps,
        1,
    )?;
    let mut curves = Vec::new();
    for rho in [0.9, 1.5] {
        let mut net = Rnn::<f64>::new(RnnConfig::new(CellKind::Tanh, input, hidden), &mut rng)?;
        let w = Mat::<f64>::from_fn(hidden, hidden, |_, _| rng.random_range(-1.0..1.0));
        let norm = w.clone().svd(false, false).singular_values.max();
        let w = w * (rho / norm.max(1e-12));
        net.visit_params(&mut |n, p| {
            if n == "weight_hh_l0" {
                p.value.copy_from(&w)
            }
        });
        curves.push((format!("tanh ‖U‖₂={rho}"), jacobian_norms(&net, &x)?));
    }
    for bias in [0.0, 5.0] {
        let net = Rnn::<f64>::new(
            RnnConfig::new(CellKind::Lstm, input, hidden).forget_bias(bias),
            &mut rng,
        )?;
        curves.push((format!("lstm b_f={bias}"), jacobian_norms(&net, &x)?));
    }
    let net = Rnn::<f64>::new(RnnConfig::new(CellKind::Gru, input, hidden), &mut rng)?;
    curves.push(("gru".to_string(), jacobian_norms(&net, &x)?));
    Ok(curves)
}
