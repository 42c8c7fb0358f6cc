//! Membership functions `μ(x; θ)` of a fuzzy set and their parameter gradients `∂μ/∂θ`.
//!
//! Parameters are in the order of Jang's MATLAB Fuzzy Logic Toolbox (`gbellmf [a b c]`,
//! `gaussmf [σ c]`, `trimf [a b c]`, `trapmf [a b c d]`), so a rule base printed here reads like
//! one printed there.
//!
//! | [`MfKind`] | `μ(x)` | parameters |
//! |---|---|---|
//! | `Bell` | `1 / (1 + |(x − c)/a|^{2b})` | width `a ≠ 0`, slope `b > 0`, centre `c` |
//! | `Gaussian` | `exp(−(x − c)² / (2σ²))` | width `σ ≠ 0`, centre `c` |
//! | `Triangular` | `max(0, min((x − a)/(b − a), (c − x)/(c − b)))` | feet `a ≤ c`, peak `b` |
//! | `Trapezoidal` | `max(0, min((x − a)/(b − a), 1, (d − x)/(d − c)))` | feet `a ≤ d`, shoulders `b ≤ c` |
//!
//! # Gradients
//!
//! Bell, with `u = (x − c)/a`, `s = (u²)^b` and `μ = 1/(1 + s)`, so that `μ(1 − μ) = s μ²`:
//!
//! ```text
//! ∂μ/∂a =  2b s μ² / a        ∂μ/∂b = −s μ² ln(u²)        ∂μ/∂c = 2b s μ² / (x − c) = −∂μ/∂x
//! ```
//!
//! At `x = c` the bell's derivatives in `b` and `c` are taken as `0`: the limits for `b > 1/2`
//! (`s ln u² → 0`, `s/(x − c) ∝ |u|^{2b−1} → 0`); for `b = 1/2` the bell has a kink at its peak
//! and `0` lies between the one-sided derivatives `±1/a`, so it is a subgradient (of `−μ`).
//!
//! Gaussian, with `d = x − c`: `∂μ/∂σ = μ d²/σ³`, `∂μ/∂c = μ d/σ² = −∂μ/∂x`.
//!
//! Triangular and trapezoidal functions are piecewise linear. On a rising edge `(a, b)` with
//! `t = (x − a)/(b − a)`: `∂μ/∂a = −(1 − t)/(b − a)`, `∂μ/∂b = −t/(b − a)`, `∂μ/∂x = 1/(b − a)`;
//! on a trapezoid's falling edge `(c, d)` with `t = (d − x)/(d − c)`: `∂μ/∂c = t/(d − c)`,
//! `∂μ/∂d = (1 − t)/(d − c)`, `∂μ/∂x = −1/(d − c)` (a triangle's falling edge `(b, c)` is the
//! same with `b, c` for `c, d`: `∂μ/∂b = t/(c − b)`, `∂μ/∂c = (1 − t)/(c − b)`); on the plateau and
//! outside the support every derivative is `0`. **Subgradients:** exactly at a corner
//! (`x ∈ {a, b, c, d}`) every derivative is taken as `0`. The one-sided derivatives there are
//! `0` on one side and the edge's value on the other (or, at a triangle's peak, of opposite
//! signs), so `0` lies in Clarke's generalized gradient at every corner; gradient descent then
//! simply does not move that parameter for that example.
//!
//! Gradient steps can reorder a triangle's or trapezoid's corners; training calls
//! [`MfKind::repair`], which sorts them back (the set of corners is kept, so `μ` is the function
//! the sorted parameters describe).
//!
//! ```
//! use classic::anfis::MfKind;
//! // Jang's bell with a = 2, b = 4, c = 6 is 1/2 at x = c ± a
//! assert!((MfKind::Bell.value(&[2.0, 4.0, 6.0], 4.0) - 0.5_f64).abs() < 1e-15);
//! let mut grad = [0.0_f64; 3];
//! let (mu, dmu_dx) = MfKind::Bell.gradient(&[2.0, 4.0, 6.0], 4.0, &mut grad);
//! assert!((mu - 0.5).abs() < 1e-15 && dmu_dx > 0.0);
//! // at the crossing point, ∂μ/∂a = 2b μ(1 − μ)/a = 2·4·0.25/2
//! assert!((grad[0] - 1.0).abs() < 1e-12);
//! ```

use optim::{Error, Float, Result};

/// The shape of a membership function.
///
/// Configurations spell the kinds by their MATLAB names ([`MfKind::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum MfKind {
    /// Generalized bell `1 / (1 + |(x − c)/a|^{2b})`, parameters `[a, b, c]` (Jang's choice).
    #[default]
    #[serde(rename = "gbellmf")]
    Bell,
    /// Gaussian `exp(−(x − c)²/(2σ²))`, parameters `[σ, c]`.
    #[serde(rename = "gaussmf")]
    Gaussian,
    /// Triangle with feet `a`, `c` and peak `b`, parameters `[a, b, c]`, `a ≤ b ≤ c`.
    #[serde(rename = "trimf")]
    Triangular,
    /// Trapezoid with feet `a`, `d` and shoulders `b`, `c`, parameters `[a, b, c, d]`, sorted.
    #[serde(rename = "trapmf")]
    Trapezoidal,
}

/// `ln 2`-based factor: a Gaussian is `1/2` at `|x − c| = σ √(2 ln 2)`.
fn half_max_factor() -> f64 {
    (2.0 * std::f64::consts::LN_2).sqrt()
}

impl MfKind {
    /// Number of parameters `θ` of one function of this kind.
    pub fn num_params(self) -> usize {
        match self {
            MfKind::Bell | MfKind::Triangular => 3,
            MfKind::Gaussian => 2,
            MfKind::Trapezoidal => 4,
        }
    }

    /// The parameters' names, in storage order.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            MfKind::Bell => &["a", "b", "c"],
            MfKind::Gaussian => &["sigma", "c"],
            MfKind::Triangular => &["a", "b", "c"],
            MfKind::Trapezoidal => &["a", "b", "c", "d"],
        }
    }

    /// The name used in configurations and rule listings (MATLAB's: `gbellmf`, `gaussmf`, `trimf`,
    /// `trapmf`).
    pub fn name(self) -> &'static str {
        match self {
            MfKind::Bell => "gbellmf",
            MfKind::Gaussian => "gaussmf",
            MfKind::Triangular => "trimf",
            MfKind::Trapezoidal => "trapmf",
        }
    }

    /// Parses [`MfKind::name`].
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gbellmf" => Ok(MfKind::Bell),
            "gaussmf" => Ok(MfKind::Gaussian),
            "trimf" => Ok(MfKind::Triangular),
            "trapmf" => Ok(MfKind::Trapezoidal),
            other => Err(Error::Data(format!(
                "unknown membership function kind {other:?} (expected gbellmf, gaussmf, trimf or trapmf)"
            ))),
        }
    }

    /// Parameters of a function centred at `centre` that is `1/2` at `centre ± half_width`
    /// (the same crossing point for every kind):
    /// bell `[h, 2, c]` (MATLAB's `genfis1`: `b = 2`), Gaussian `[h/√(2 ln 2), c]`, triangle
    /// `[c − 2h, c, c + 2h]`, trapezoid `[c − 3h/2, c − h/2, c + h/2, c + 3h/2]`.
    pub fn with_half_width(self, centre: f64, half_width: f64) -> Vec<f64> {
        let (c, h) = (centre, half_width);
        match self {
            MfKind::Bell => vec![h, 2.0, c],
            MfKind::Gaussian => vec![h / half_max_factor(), c],
            MfKind::Triangular => vec![c - 2.0 * h, c, c + 2.0 * h],
            MfKind::Trapezoidal => vec![c - 1.5 * h, c - 0.5 * h, c + 0.5 * h, c + 1.5 * h],
        }
    }

    /// Where the function peaks (its centre; the middle of a trapezoid's plateau).
    pub fn centre<F: Float>(self, p: &[F]) -> F {
        match self {
            MfKind::Bell => p[2],
            MfKind::Gaussian => p[1],
            MfKind::Triangular => p[1],
            MfKind::Trapezoidal => (p[1] + p[2]) * F::of(0.5),
        }
    }

    /// Checks one function's parameters.
    ///
    /// # Errors
    /// A wrong count, a non-finite value, a bell with `a = 0` or `b ≤ 0`, a Gaussian with
    /// `σ = 0`, corners out of order or a support of zero width. `what` names the function in the
    /// message.
    pub fn validate(self, p: &[f64], what: &str) -> Result<()> {
        if p.len() != self.num_params() {
            return Err(Error::Shape {
                context: format!("{what} ({})", self.name()),
                expected: format!("{} parameters", self.num_params()),
                got: p.len().to_string(),
            });
        }
        if let Some(v) = p.iter().find(|v| !v.is_finite()) {
            return Err(Error::hyper(
                what,
                v,
                "membership parameters must be finite",
            ));
        }
        let bad = |reason: &str| Err(Error::hyper(what, format!("{p:?}"), reason));
        match self {
            MfKind::Bell if p[0] == 0.0 => bad("a bell's width a must not be 0"),
            MfKind::Bell if p[1] <= 0.0 => bad("a bell's slope b must be positive"),
            MfKind::Gaussian if p[0] == 0.0 => bad("a Gaussian's sigma must not be 0"),
            MfKind::Triangular if !(p[0] <= p[1] && p[1] <= p[2] && p[0] < p[2]) => {
                bad("a triangle needs a <= b <= c and a < c")
            }
            MfKind::Trapezoidal
                if !(p[0] <= p[1] && p[1] <= p[2] && p[2] <= p[3] && p[0] < p[3]) =>
            {
                bad("a trapezoid needs a <= b <= c <= d and a < d")
            }
            _ => Ok(()),
        }
    }

    /// Restores the ordering of a triangle's or trapezoid's corners after a gradient step
    /// (sorts them); bells and Gaussians are left as they are.
    pub fn repair<F: Float>(self, p: &mut [F]) {
        if matches!(self, MfKind::Triangular | MfKind::Trapezoidal) {
            p.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        }
    }

    /// `μ(x; θ)`.
    #[inline]
    pub fn value<F: Float>(self, p: &[F], x: F) -> F {
        let mut scratch = [F::zero(); 4];
        self.gradient(p, x, &mut scratch[..self.num_params()]).0
    }

    /// `μ(x; θ)` and `∂μ/∂x`; writes `∂μ/∂θ` into `grad` (length [`MfKind::num_params`]).
    /// Subgradients at corners as documented in the module.
    #[inline]
    pub fn gradient<F: Float>(self, p: &[F], x: F, grad: &mut [F]) -> (F, F) {
        let zero = F::zero();
        let one = F::one();
        grad.fill(zero);
        match self {
            MfKind::Bell => {
                let (a, b, c) = (p[0], p[1], p[2]);
                let d = x - c;
                let u = d / a;
                let u2 = u * u;
                if u2 == zero {
                    // the peak: μ = 1, every derivative 0 (see the module docs)
                    return (one, zero);
                }
                let s = u2.powf(b);
                let mu = one / (one + s);
                let smu2 = s * mu * mu;
                let two_b = b + b;
                grad[0] = two_b * smu2 / a;
                grad[1] = -smu2 * u2.ln();
                grad[2] = two_b * smu2 / d;
                (mu, -grad[2])
            }
            MfKind::Gaussian => {
                let (sigma, c) = (p[0], p[1]);
                let d = x - c;
                let s2 = sigma * sigma;
                let mu = (-(d * d) / (s2 + s2)).exp();
                grad[0] = mu * d * d / (s2 * sigma);
                grad[1] = mu * d / s2;
                (mu, -grad[1])
            }
            MfKind::Triangular => {
                let (a, b, c) = (p[0], p[1], p[2]);
                if x > a && x < b {
                    let w = b - a;
                    let t = (x - a) / w;
                    grad[0] = -(one - t) / w;
                    grad[1] = -t / w;
                    (t, one / w)
                } else if x > b && x < c {
                    let w = c - b;
                    let t = (c - x) / w;
                    grad[2] = (one - t) / w;
                    grad[1] = t / w;
                    (t, -one / w)
                } else if x == b {
                    (one, zero)
                } else {
                    (zero, zero)
                }
            }
            MfKind::Trapezoidal => {
                let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
                if x > a && x < b {
                    let w = b - a;
                    let t = (x - a) / w;
                    grad[0] = -(one - t) / w;
                    grad[1] = -t / w;
                    (t, one / w)
                } else if x >= b && x <= c {
                    (one, zero)
                } else if x > c && x < d {
                    let w = d - c;
                    let t = (d - x) / w;
                    grad[2] = t / w;
                    grad[3] = (one - t) / w;
                    (t, -one / w)
                } else {
                    (zero, zero)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(kind: MfKind, p: &[f64], x: f64, k: usize) -> f64 {
        let h = 1e-6;
        let mut up = p.to_vec();
        up[k] += h;
        let mut down = p.to_vec();
        down[k] -= h;
        (kind.value(&up, x) - kind.value(&down, x)) / (2.0 * h)
    }

    #[test]
    fn gradients_match_differences_away_from_corners() {
        let cases: [(MfKind, Vec<f64>); 4] = [
            (MfKind::Bell, vec![0.7, 1.8, 0.2]),
            (MfKind::Gaussian, vec![0.6, -0.1]),
            (MfKind::Triangular, vec![-1.0, 0.3, 1.5]),
            (MfKind::Trapezoidal, vec![-1.0, -0.2, 0.4, 1.5]),
        ];
        for (kind, p) in cases {
            for &x in &[-1.3, -0.6, -0.05, 0.1, 0.35, 0.9, 1.2, 2.0] {
                let mut g = vec![0.0; kind.num_params()];
                let (mu, dx) = kind.gradient(&p, x, &mut g);
                assert!((mu - kind.value(&p, x)).abs() < 1e-15);
                for k in 0..p.len() {
                    let n = numeric(kind, &p, x, k);
                    assert!(
                        (g[k] - n).abs() < 1e-7,
                        "{kind:?} x={x} θ{k}: {} vs {n}",
                        g[k]
                    );
                }
                let h = 1e-6;
                let ndx = (kind.value(&p, x + h) - kind.value(&p, x - h)) / (2.0 * h);
                assert!((dx - ndx).abs() < 1e-7, "{kind:?} x={x} dx: {dx} vs {ndx}");
            }
        }
    }

    #[test]
    fn corners_use_a_zero_subgradient_between_the_one_sided_derivatives() {
        let p = [-1.0f64, 0.0, 2.0];
        let mut g = [0.0; 3];
        for x in [-1.0, 0.0, 2.0] {
            MfKind::Triangular.gradient(&p, x, &mut g);
            assert_eq!(g, [0.0; 3]);
            // 0 lies between the one-sided difference quotients of every parameter
            for k in 0..3 {
                let h = 1e-7;
                let mut up = p;
                up[k] += h;
                let mut down = p;
                down[k] -= h;
                let right =
                    (MfKind::Triangular.value(&up, x) - MfKind::Triangular.value(&p, x)) / h;
                let left =
                    (MfKind::Triangular.value(&p, x) - MfKind::Triangular.value(&down, x)) / h;
                assert!(
                    left.min(right) <= 1e-9 && left.max(right) >= -1e-9,
                    "x={x} θ{k}"
                );
            }
        }
        let mut g = [0.0; 3];
        let (mu, _) = MfKind::Bell.gradient(&[1.0, 2.0, 0.5], 0.5, &mut g);
        assert_eq!((mu, g), (1.0, [0.0; 3]));
    }

    #[test]
    fn half_width_gives_one_half_at_the_same_point_for_every_kind() {
        for kind in [
            MfKind::Bell,
            MfKind::Gaussian,
            MfKind::Triangular,
            MfKind::Trapezoidal,
        ] {
            let p = kind.with_half_width(1.0, 0.25);
            kind.validate(&p, "test").unwrap();
            assert!((kind.value(&p, 1.25) - 0.5).abs() < 1e-12, "{kind:?}");
            assert!((kind.value(&p, 0.75) - 0.5).abs() < 1e-12, "{kind:?}");
            assert!((kind.value(&p, 1.0) - 1.0).abs() < 1e-12, "{kind:?}");
            assert_eq!(MfKind::from_name(kind.name()).unwrap(), kind);
        }
    }

    #[test]
    fn validation_and_repair() {
        assert!(MfKind::Bell.validate(&[0.0, 2.0, 0.0], "m").is_err());
        assert!(MfKind::Bell.validate(&[1.0, -2.0, 0.0], "m").is_err());
        assert!(MfKind::Bell.validate(&[1.0, 2.0], "m").is_err());
        assert!(MfKind::Gaussian.validate(&[0.0, 1.0], "m").is_err());
        assert!(MfKind::Triangular.validate(&[1.0, 0.0, 2.0], "m").is_err());
        assert!(MfKind::Triangular.validate(&[1.0, 1.0, 1.0], "m").is_err());
        assert!(
            MfKind::Trapezoidal
                .validate(&[0.0, 1.0, f64::NAN, 2.0], "m")
                .is_err()
        );
        assert!(MfKind::from_name("sigmf").is_err());
        let mut p = [0.5, 0.2, 0.9];
        MfKind::Triangular.repair(&mut p);
        assert_eq!(p, [0.2, 0.5, 0.9]);
    }
}
