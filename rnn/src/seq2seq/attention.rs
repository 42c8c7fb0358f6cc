//! The attention forms of notes §7.3, for one example's memory and a block of queries.
//!
//! With the encoder's outputs `h_j` (`j < n`, the source length; padded positions `j ≥ n` are
//! never scored) and a decoder state `s_t`:
//!
//! ```text
//! additive (Bahdanau et al. 2015):  e_tj = vᵀ tanh(W_q s_t + W_k h_j)
//! general  (Luong et al. 2015):     e_tj = h_jᵀ W s_t
//! dot      (Luong et al. 2015):     e_tj = h_jᵀ s_t
//! α_tj = exp(e_tj) / Σ_{k<n} exp(e_tk)   (α_tj = 0 exactly for j ≥ n)
//! c_t  = Σ_j α_tj h_j
//! ```
//!
//! Backward, by hand, next to these formulas ([`backward`]):
//!
//! ```text
//! ∂L/∂α_tj = h_jᵀ ∂L/∂c_t,          ∂L/∂h_j += Σ_t α_tj ∂L/∂c_t
//! ∂L/∂e_tj = α_tj (∂L/∂α_tj − Σ_k α_tk ∂L/∂α_tk)          (soft-max Jacobian)
//! general/dot (q_t = W s_t or s_t):  ∂L/∂q_t = Σ_j ∂L/∂e_tj h_j,  ∂L/∂h_j += Σ_t ∂L/∂e_tj q_t
//! additive (τ_tj = tanh(k_j + q_t), k_j = W_k h_j, q_t = W_q s_t):
//!   g_tj = ∂L/∂e_tj · v ⊙ (1 − τ_tj²),  ∂L/∂v += Σ ∂L/∂e_tj τ_tj,
//!   ∂L/∂k_j += Σ_t g_tj,  ∂L/∂q_t += Σ_j g_tj
//! ```

use optim::linalg::{gemm, resize_buffer};
use optim::{Float, Mat};
use serde::{Deserialize, Serialize};

/// Which score function the decoder attends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// `vᵀ tanh(W_q s + W_k h)` (Bahdanau et al. 2015).
    Additive,
    /// `hᵀ W s` (Luong et al. 2015).
    General,
    /// `hᵀ s` (Luong et al. 2015); the decoder width must equal the encoder's output width.
    Dot,
    /// No attention: the decoder sees only the final encoder state (through its initial state).
    None,
}

impl AttentionKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            AttentionKind::Additive => "additive",
            AttentionKind::General => "general",
            AttentionKind::Dot => "dot",
            AttentionKind::None => "none",
        }
    }

    /// Parses [`AttentionKind::name`].
    ///
    /// # Errors
    /// An unknown name.
    pub fn from_name(name: &str) -> optim::Result<Self> {
        Ok(match name {
            "additive" | "bahdanau" => AttentionKind::Additive,
            "general" => AttentionKind::General,
            "dot" => AttentionKind::Dot,
            "none" => AttentionKind::None,
            other => {
                return Err(optim::Error::hyper(
                    "attention",
                    other,
                    "must be additive, general, dot or none",
                ));
            }
        })
    }
}

/// One example's memory: the encoder outputs `mem` (`M x S`), for additive attention the
/// projected keys `keys = W_k mem` (`A x S`), and the source length `len ≤ S`.
#[derive(Debug, Clone, Copy)]
pub struct Memory<'a, F: Float> {
    /// `h_j` as columns, `M x S`.
    pub mem: &'a Mat<F>,
    /// `W_k h_j` (additive only; otherwise empty).
    pub keys: &'a Mat<F>,
    /// Number of real (non-padded) positions.
    pub len: usize,
}

/// Scores, masked soft-max and context for the queries `q` (`Q x T`: `W_q s_t` for additive,
/// `W s_t` for general, `s_t` for dot): writes `alpha` (`S x T`, zero for `j ≥ len`), `ctx`
/// (`M x T`) and, for additive, `tau` (`A·S·T` values `τ_tj`, for [`backward`]).
pub fn forward<F: Float>(
    kind: AttentionKind,
    m: Memory<'_, F>,
    v: Option<&Mat<F>>,
    q: &Mat<F>,
    alpha: &mut Mat<F>,
    ctx: &mut Mat<F>,
    tau: &mut Vec<F>,
) {
    let (s, t) = (m.mem.ncols(), q.ncols());
    resize_buffer(alpha, s, t);
    match kind {
        AttentionKind::Dot | AttentionKind::General => {
            gemm(F::one(), m.mem, true, q, false, F::zero(), alpha);
        }
        AttentionKind::Additive => {
            let v = v.expect("additive attention has v").as_slice();
            let a = v.len();
            tau.clear();
            tau.resize(a * s * t, F::zero());
            let keys = m.keys.as_slice();
            for ti in 0..t {
                let qt = &q.as_slice()[ti * a..(ti + 1) * a];
                for j in 0..m.len {
                    let kj = &keys[j * a..(j + 1) * a];
                    let out = &mut tau[(ti * s + j) * a..(ti * s + j + 1) * a];
                    tanh_of_sum(kj, qt, out);
                    let mut e = F::zero();
                    for i in 0..a {
                        e += v[i] * out[i];
                    }
                    alpha[(j, ti)] = e;
                }
            }
        }
        AttentionKind::None => unreachable!("no attention has no scores"),
    }
    masked_softmax(alpha, m.len);
    resize_buffer(ctx, m.mem.nrows(), t);
    gemm(F::one(), m.mem, false, alpha, false, F::zero(), ctx);
}

/// `out = tanh(k + q)`, element-wise. In `f32` a rational approximation (Eigen's
/// `ptanh_float`, within a few units in the last place of `f32`'s `tanh`) that the compiler
/// vectorizes; in `f64` (gradient checks, PyTorch fixtures) the exact `tanh`.
fn tanh_of_sum<F: Float>(k: &[F], q: &[F], out: &mut [F]) {
    if F::DTYPE != "F32" {
        for ((o, &a), &b) in out.iter_mut().zip(k).zip(q) {
            *o = (a + b).tanh();
        }
        return;
    }
    let c = |x: f64| F::of(x);
    let (lim, a1, a3, a5, a7, a9, a11, a13) = (
        c(7.905_311_107_635_498),
        c(4.893_524_558_917_86e-3),
        c(6.372_619_288_754_36e-4),
        c(1.485_722_357_179_79e-5),
        c(5.122_297_090_371_14e-8),
        c(-8.604_671_522_137_35e-11),
        c(2.000_187_904_824_77e-13),
        c(-2.760_768_477_423_55e-16),
    );
    let (b0, b2, b4, b6) = (
        c(4.893_525_185_543_85e-3),
        c(2.268_434_632_439e-3),
        c(1.185_347_056_866_54e-4),
        c(1.198_258_394_667_02e-6),
    );
    for ((o, &a), &b) in out.iter_mut().zip(k).zip(q) {
        let mut x = a + b;
        x = if x > lim { lim } else { x };
        x = if x < -lim { -lim } else { x };
        let x2 = x * x;
        let mut p = x2 * a13 + a11;
        p = x2 * p + a9;
        p = x2 * p + a7;
        p = x2 * p + a5;
        p = x2 * p + a3;
        p = x2 * p + a1;
        p *= x;
        let mut qq = x2 * b6 + b4;
        qq = x2 * qq + b2;
        qq = x2 * qq + b0;
        *o = p / qq;
    }
}

/// Soft-max of every column over its first `len` rows; rows `len..` are set to exactly 0.
pub fn masked_softmax<F: Float>(scores: &mut Mat<F>, len: usize) {
    let s = scores.nrows();
    for col in scores.as_mut_slice().chunks_exact_mut(s) {
        let (real, pad) = col.split_at_mut(len.min(s));
        let max = real.iter().copied().fold(F::of(f64::NEG_INFINITY), F::max);
        let mut sum = F::zero();
        for x in real.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        for x in real.iter_mut() {
            *x /= sum;
        }
        pad.fill(F::zero());
    }
}

/// Gradients of one example's attention (module docs): from `dctx` (`M x T`) *adds* into
/// `dmem` (`M x S`), `dkeys` (`A x S`, additive), `dq` (`Q x T`, assigned) and `dv` (`A x 1`,
/// additive). `dalpha` is scratch.
pub fn backward<F: Float>(
    kind: AttentionKind,
    m: Memory<'_, F>,
    v: Option<&Mat<F>>,
    q: &Mat<F>,
    alpha: &Mat<F>,
    tau: &[F],
    dctx: &Mat<F>,
    dalpha: &mut Mat<F>,
    dmem: &mut Mat<F>,
    dkeys: &mut Mat<F>,
    dq: &mut Mat<F>,
    dv: Option<&mut Mat<F>>,
) {
    let (s, t) = alpha.shape();
    resize_buffer(dalpha, s, t);
    // ∂L/∂α = Mᵀ ∂L/∂C;  ∂L/∂M += ∂L/∂C αᵀ
    gemm(F::one(), m.mem, true, dctx, false, F::zero(), dalpha);
    gemm(F::one(), dctx, false, alpha, true, F::one(), dmem);
    // soft-max backward, in place: ∂L/∂e = α ⊙ (∂L/∂α − Σ α ∂L/∂α)
    for (da, a) in dalpha
        .as_mut_slice()
        .chunks_exact_mut(s)
        .zip(alpha.as_slice().chunks_exact(s))
    {
        let dot = da
            .iter()
            .zip(a)
            .fold(F::zero(), |acc, (&x, &y)| acc + x * y);
        for (x, &y) in da.iter_mut().zip(a) {
            *x = y * (*x - dot);
        }
    }
    let de = &*dalpha;
    resize_buffer(dq, q.nrows(), t);
    match kind {
        AttentionKind::Dot | AttentionKind::General => {
            // e = Mᵀ Q: ∂L/∂Q = M ∂L/∂e, ∂L/∂M += Q ∂L/∂eᵀ
            gemm(F::one(), m.mem, false, de, false, F::zero(), dq);
            gemm(F::one(), q, false, de, true, F::one(), dmem);
        }
        AttentionKind::Additive => {
            let v = v.expect("additive attention has v").as_slice();
            let dv = dv.expect("additive attention has dv");
            let a = v.len();
            dq.fill(F::zero());
            let dvs = dv.as_mut_slice();
            let dk = dkeys.as_mut_slice();
            let dqs = dq.as_mut_slice();
            let mut gv = vec![F::zero(); a];
            for ti in 0..t {
                let dqt = &mut dqs[ti * a..(ti + 1) * a];
                for j in 0..m.len {
                    let g = de[(j, ti)];
                    if g == F::zero() {
                        continue;
                    }
                    let th = &tau[(ti * s + j) * a..(ti * s + j + 1) * a];
                    // ∂L/∂v += g τ;  g_tj = g v ⊙ (1 − τ²)
                    for ((dvi, gvi), (&thi, &vi)) in
                        dvs.iter_mut().zip(gv.iter_mut()).zip(th.iter().zip(v))
                    {
                        *dvi += g * thi;
                        *gvi = g * vi * (F::one() - thi * thi);
                    }
                    let dkj = &mut dk[j * a..(j + 1) * a];
                    for ((k, q), &gi) in dkj.iter_mut().zip(dqt.iter_mut()).zip(&gv) {
                        *k += gi;
                        *q += gi;
                    }
                }
            }
        }
        AttentionKind::None => unreachable!("no attention has no scores"),
    }
}
