//! Depth versus width, made countable (notes §3.2: "expressive power grows exponentially with
//! depth").
//!
//! A ReLU network of one input and one output computes a continuous piecewise-linear function.
//! [`linear_pieces`] finds its pieces on an interval *exactly*: it carries each unit's
//! pre-activation as an affine function `s·x + c` of the input, splits the interval where a
//! unit crosses zero, and merges neighbouring pieces with the same slope and intercept.
//!
//! - **Width.** With one hidden layer of `n` units, `f(x) = Σ_i v_i relu(w_i x + b_i) + c` has at
//!   most one breakpoint per unit, so **at most `n + 1` pieces**.
//! - **Depth.** The tent map `T(x) = 2 relu(x) − 4 relu(x − ½)` folds `[0, 1]` onto itself; its
//!   `k`-fold composition, a network of depth `k` with 2 units per layer ([`sawtooth`]), is a
//!   sawtooth with **`2^k` pieces** (Telgarsky 2016). A one-hidden-layer network needs
//!   `2^k − 1` units to do the same; the deep one uses `2k`.
//!
//! With the tent map's weights all values are dyadic rationals, exact in `f64`, so the count is
//! exact arithmetic, not sampling.
//!
//! ```
//! use mlp::pieces::{linear_pieces, sawtooth};
//! // depth 5, 10 hidden units: 2⁵ = 32 pieces on [0, 1]
//! let pieces = linear_pieces(&sawtooth(5)?, 0.0, 1.0)?;
//! assert_eq!(pieces.len(), 32);
//! assert_eq!((pieces[0].slope, pieces[1].slope), (32.0, -32.0));
//! # Ok::<(), optim::Error>(())
//! ```

use crate::network::{Config, Layer, Mlp};
use optim::{Activation, Error, Mat, Result};

/// One linear piece `y = slope·x + intercept` on `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Left end.
    pub start: f64,
    /// Right end.
    pub end: f64,
    /// Slope on the piece.
    pub slope: f64,
    /// Intercept on the piece (the value at `x = 0` of its line).
    pub intercept: f64,
}

impl Piece {
    /// The piece's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.slope * x + self.intercept
    }
}

/// The maximal linear pieces of a one-input, one-output network (evaluation mode) on
/// `[lo, hi]`, left to right.
///
/// The activation must be piecewise linear: identity, ReLU or leaky ReLU. Batch norm (evaluation
/// mode: a fixed affine map per unit) and dropout (the identity) are allowed.
///
/// # Errors
/// A network with more than one input or output, another activation, or `lo >= hi`.
pub fn linear_pieces(model: &Mlp<f64>, lo: f64, hi: f64) -> Result<Vec<Piece>> {
    let c = model.config();
    if c.inputs != 1 || c.outputs != 1 {
        return Err(Error::Data(format!(
            "linear_pieces needs a network with 1 input and 1 output, not {} and {}",
            c.inputs, c.outputs
        )));
    }
    if !matches!(
        c.activation,
        Activation::Relu | Activation::LeakyRelu(_) | Activation::Identity
    ) {
        return Err(Error::Data(format!(
            "linear_pieces needs a piecewise-linear activation, not {}",
            c.activation.name()
        )));
    }
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(Error::Data(format!(
            "linear_pieces: [{lo}, {hi}] is not an interval"
        )));
    }
    let mut raw = Vec::new();
    refine(model.layers(), lo, hi, vec![1.0], vec![0.0], &mut raw);
    // Merge neighbours on the same line (a breakpoint of a unit need not bend the output).
    let mut pieces: Vec<Piece> = Vec::with_capacity(raw.len());
    for p in raw {
        match pieces.last_mut() {
            Some(last) if same(last.slope, p.slope) && same(last.intercept, p.intercept) => {
                last.end = p.end
            }
            _ => pieces.push(p),
        }
    }
    Ok(pieces)
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

/// Pushes the layers through `[lo, hi]`, on which unit `u` of the current layer equals
/// `slope[u]·x + intercept[u]`; splits where an activation's input changes sign.
fn refine(
    layers: &[Layer<f64>],
    lo: f64,
    hi: f64,
    mut slope: Vec<f64>,
    mut intercept: Vec<f64>,
    out: &mut Vec<Piece>,
) {
    let mut i = 0;
    while i < layers.len() {
        match &layers[i] {
            Layer::Linear(l) => {
                let w = &l.weight.value;
                let b = l.bias.as_ref().map(|b| &b.value);
                let (ns, ni): (Vec<f64>, Vec<f64>) = (0..w.nrows())
                    .map(|r| {
                        let s: f64 = (0..w.ncols()).map(|k| w[(r, k)] * slope[k]).sum();
                        let c: f64 = (0..w.ncols())
                            .map(|k| w[(r, k)] * intercept[k])
                            .sum::<f64>()
                            + b.map_or(0.0, |b| b[r]);
                        (s, c)
                    })
                    .unzip();
                slope = ns;
                intercept = ni;
            }
            Layer::BatchNorm(bn) => {
                for r in 0..slope.len() {
                    let (a, c) = bn.eval_affine_of(r);
                    slope[r] *= a;
                    intercept[r] = a * intercept[r] + c;
                }
            }
            Layer::Dropout(_) | Layer::Activation(Activation::Identity) => {}
            Layer::Activation(act) => {
                let negative_slope = match act {
                    Activation::LeakyRelu(a) => *a,
                    _ => 0.0,
                };
                // Where does a unit's input cross zero strictly inside (lo, hi)?
                let mut cuts: Vec<f64> = slope
                    .iter()
                    .zip(&intercept)
                    .filter(|(s, _)| **s != 0.0)
                    .map(|(s, c)| -c / s)
                    .filter(|&x| x > lo && x < hi)
                    .collect();
                cuts.sort_by(f64::total_cmp);
                cuts.dedup();
                let mut edges = Vec::with_capacity(cuts.len() + 2);
                edges.push(lo);
                edges.extend(cuts);
                edges.push(hi);
                for win in edges.windows(2) {
                    let (a, b) = (win[0], win[1]);
                    let mid = 0.5 * (a + b);
                    let (mut s, mut c) = (slope.clone(), intercept.clone());
                    for u in 0..s.len() {
                        if s[u] * mid + c[u] <= 0.0 {
                            s[u] *= negative_slope;
                            c[u] *= negative_slope;
                        }
                    }
                    refine(&layers[i + 1..], a, b, s, c, out);
                }
                return;
            }
        }
        i += 1;
    }
    out.push(Piece {
        start: lo,
        end: hi,
        slope: slope[0],
        intercept: intercept[0],
    });
}

/// The depth-`k` sawtooth network: `k` hidden ReLU layers of 2 units computing the tent map
/// `T(x) = 2 relu(x) − 4 relu(x − ½)` each, composed: `T^k`, with `2^k` linear pieces on
/// `[0, 1]`, rising from 0 to 1 and falling back `2^{k−1}` times.
///
/// Each hidden layer receives the previous pair `(h₁, h₂)` and forms `T = 2h₁ − 4h₂` inside its
/// own linear map: weights `[[2, −4], [2, −4]]`, biases `[0, −½]`.
///
/// # Errors
/// If `k == 0`.
pub fn sawtooth(k: usize) -> Result<Mlp<f64>> {
    if k == 0 {
        return Err(Error::hyper("k", 0, "the sawtooth needs depth at least 1"));
    }
    let mut model = Config::regressor(1, &vec![2; k], 1).init::<f64>(&mut optim::rng(0))?;
    let set = |m: &mut Mlp<f64>, i: usize, w: Mat<f64>, b: Mat<f64>| {
        let l = m.linear_mut(i).expect("layer exists");
        l.weight.value = w;
        l.bias.as_mut().expect("has a bias").value = b;
    };
    let tent_bias = Mat::from_column_slice(2, 1, &[0.0, -0.5]);
    set(
        &mut model,
        0,
        Mat::from_column_slice(2, 1, &[1.0, 1.0]),
        tent_bias.clone(),
    );
    for i in 1..k {
        set(
            &mut model,
            i,
            Mat::from_row_slice(2, 2, &[2.0, -4.0, 2.0, -4.0]),
            tent_bias.clone(),
        );
    }
    set(
        &mut model,
        k,
        Mat::from_row_slice(1, 2, &[2.0, -4.0]),
        Mat::zeros(1, 1),
    );
    Ok(model)
}

/// The `k`-fold tent map `T^k(x)` computed directly (for checking [`sawtooth`]).
pub fn tent_power(k: usize, mut x: f64) -> f64 {
    for _ in 0..k {
        x = if x < 0.5 { 2.0 * x } else { 2.0 - 2.0 * x };
    }
    x
}
