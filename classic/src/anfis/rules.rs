//! Where the rules come from: Jang's grid partition, or one rule per cluster (k-means or Chiu's
//! subtractive clustering).

use super::{Anfis, MfKind};
use crate::kmeans::{KMeans, kmeans};
use optim::{Error, Float, Mat, Result};
use rand::Rng;

/// How the input space is split into rules.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partition {
    /// Jang's grid partition: `m_i` functions per input (one entry: the same for every input),
    /// one rule per combination, `R = Π_i m_i`. The functions' centres are evenly spaced over
    /// the input's range `[lo, hi]` in the data, `c_j = lo + j·Δ` with `Δ = (hi − lo)/(m − 1)`,
    /// and neighbours cross at `μ = 1/2` (the half-width is `Δ/2`), which for bells is MATLAB's
    /// `genfis1`: `a = (hi − lo)/(2m − 2)`, `b = 2`. One function per input sits at the middle
    /// of the range with half-width `(hi − lo)/2`.
    Grid(Vec<usize>),
    /// One rule per k-means cluster (k-means++ seeds, `restarts` runs, the caller's generator).
    /// Rule `r` uses function `r` of every input, centred at the cluster's centre, with the
    /// half-width `σ √(2 ln 2)` of a Gaussian whose `σ` is the cluster's standard deviation along
    /// that input, floored at `(hi − lo)/(2k)`.
    KMeans {
        /// Number of rules (clusters).
        rules: usize,
        /// Seeded restarts of k-means (the lowest inertia wins).
        restarts: usize,
    },
    /// One rule per cluster centre of Chiu's subtractive clustering ([`subtractive_clustering`]);
    /// each function has the half-width of a Gaussian with `σ_i = r_a (hi_i − lo_i)/√8`
    /// (MATLAB's `genfis2`).
    Subtractive(Subtractive),
}

/// Settings of Chiu's (1994) subtractive clustering, on data scaled to the unit hypercube.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Subtractive {
    /// Radius of influence `r_a` (default 0.5, in units of each input's range).
    pub radius: f64,
    /// `r_b = squash · r_a`, the radius whose potential an accepted centre removes (default 1.25).
    pub squash: f64,
    /// A candidate with potential above `accept · P₁` is accepted (default 0.5).
    pub accept: f64,
    /// A candidate with potential below `reject · P₁` ends the search (default 0.15).
    pub reject: f64,
}

impl Default for Subtractive {
    fn default() -> Self {
        Subtractive {
            radius: 0.5,
            squash: 1.25,
            accept: 0.5,
            reject: 0.15,
        }
    }
}

/// How [`Anfis::new`] builds a model from data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnfisConfig {
    /// Membership function kind (default generalized bell).
    pub kind: MfKind,
    /// Rules (default: grid, 2 functions per input).
    pub partition: Partition,
}

impl Default for AnfisConfig {
    fn default() -> Self {
        AnfisConfig {
            kind: MfKind::Bell,
            partition: Partition::Grid(vec![2]),
        }
    }
}

/// The largest grid the constructor accepts (the rule count grows as `m^d`).
const MAX_RULES: usize = 100_000;

/// Each input's `[min, max]` over the data, in `f64`.
fn ranges<F: Float>(x: &Mat<F>) -> Result<Vec<(f64, f64)>> {
    let mut out = Vec::with_capacity(x.nrows());
    for i in 0..x.nrows() {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in x.row(i).iter() {
            lo = lo.min(v.to_f64());
            hi = hi.max(v.to_f64());
        }
        if hi <= lo {
            return Err(Error::Data(format!(
                "ANFIS: input {i} is constant ({lo}) on the initialization data, so its range \
                 cannot be partitioned into fuzzy sets"
            )));
        }
        out.push((lo, hi));
    }
    Ok(out)
}

/// Chiu's subtractive clustering: the cluster centres (`d x k`, in the data's units).
///
/// Each point's potential is `P_n = Σ_m exp(−4‖z_n − z_m‖²/r_a²)` on the data scaled to
/// `[0, 1]^d`. The point of highest potential `P₁` is the first centre; after each accepted
/// centre `z*` of potential `P*`, every potential drops by `P* exp(−4‖z_n − z*‖²/r_b²)`. The
/// next candidate (the highest remaining potential `P`) is accepted if `P > accept·P₁`, ends the
/// search if `P < reject·P₁`, and otherwise is accepted only if `d_min/r_a + P/P₁ ≥ 1`
/// (`d_min` its distance to the nearest centre); a rejected candidate's potential is set to 0
/// and the next one tried.
///
/// # Errors
/// Empty or non-finite data, a constant input, settings out of range (`radius`, `squash > 0`,
/// `0 ≤ reject ≤ accept ≤ 1`).
pub fn subtractive_clustering<F: Float>(x: &Mat<F>, settings: &Subtractive) -> Result<Mat<F>> {
    if x.ncols() == 0 || x.nrows() == 0 {
        return Err(Error::Data("subtractive clustering: empty data".into()));
    }
    optim::check_finite(x, "subtractive clustering input")?;
    optim::check_positive("radius", settings.radius)?;
    optim::check_positive("squash", settings.squash)?;
    optim::check_range("accept", settings.accept, 0.0, 1.0)?;
    optim::check_range("reject", settings.reject, 0.0, settings.accept)?;
    let range = ranges(x)?;
    let (d, n) = x.shape();
    let z = Mat::<f64>::from_fn(d, n, |i, j| {
        (x[(i, j)].to_f64() - range[i].0) / (range[i].1 - range[i].0)
    });
    let dist2 =
        |a: usize, b: usize| -> f64 { (0..d).map(|i| (z[(i, a)] - z[(i, b)]).powi(2)).sum() };
    let alpha = 4.0 / settings.radius.powi(2);
    let beta = 4.0 / (settings.squash * settings.radius).powi(2);
    let mut potential: Vec<f64> = (0..n)
        .map(|a| (0..n).map(|b| (-alpha * dist2(a, b)).exp()).sum())
        .collect();
    let mut centres: Vec<usize> = Vec::new();
    let mut first = 0.0;
    loop {
        let (best, p) =
            potential
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, (i, v)| if v > acc.1 { (i, v) } else { acc },
                );
        let accept = if centres.is_empty() {
            first = p;
            true
        } else if p > settings.accept * first {
            true
        } else if p < settings.reject * first || p <= 0.0 {
            break;
        } else {
            let d_min = centres
                .iter()
                .map(|&c| dist2(best, c).sqrt())
                .fold(f64::INFINITY, f64::min);
            d_min / settings.radius + p / first >= 1.0
        };
        if accept {
            centres.push(best);
            for (m, pm) in potential.iter_mut().enumerate() {
                *pm -= p * (-beta * dist2(m, best)).exp();
            }
            potential[best] = 0.0;
            if centres.len() == n {
                break;
            }
        } else {
            potential[best] = 0.0;
        }
    }
    Ok(Mat::from_fn(d, centres.len(), |i, j| x[(i, centres[j])]))
}

impl<F: Float> Anfis<F> {
    /// A model built from data `x` (`d x n`): membership functions and rules from
    /// `config.partition` over each input's range in `x`, consequents zero (fit them with
    /// [`Anfis::fit_consequents`] or train). `rng` seeds k-means (unused otherwise).
    ///
    /// # Errors
    /// Empty or non-finite data, an input constant over `x`, zero functions for some input
    /// (or a grid entry count that is neither 1 nor `d`), more than 100 000 grid rules, zero
    /// k-means rules or more rules than examples, bad subtractive-clustering settings.
    pub fn new(config: &AnfisConfig, x: &Mat<F>, rng: &mut impl Rng) -> Result<Self> {
        let d = x.nrows();
        if d == 0 {
            return Err(Error::Data("Anfis::new: data with no inputs".into()));
        }
        optim::check_batch(x, d, "Anfis::new data")?;
        let range = ranges(x)?;
        let kind = config.kind;
        match &config.partition {
            Partition::Grid(mfs) => {
                let mfs: Vec<usize> = match mfs.len() {
                    1 => vec![mfs[0]; d],
                    len if len == d => mfs.clone(),
                    len => {
                        return Err(Error::Shape {
                            context: "Anfis grid partition".into(),
                            expected: format!("1 or {d} membership-function counts"),
                            got: len.to_string(),
                        });
                    }
                };
                if let Some(i) = mfs.iter().position(|&m| m == 0) {
                    return Err(Error::hyper(
                        &format!("membership functions of input {i}"),
                        0,
                        "every input needs at least one membership function",
                    ));
                }
                let total = mfs
                    .iter()
                    .try_fold(1usize, |acc, &m| acc.checked_mul(m))
                    .filter(|&t| t <= MAX_RULES)
                    .ok_or_else(|| {
                        Error::hyper(
                            "grid partition",
                            format!("{mfs:?}"),
                            "more than 100000 rules; use a clustering partition",
                        )
                    })?;
                let premise = mfs
                    .iter()
                    .zip(&range)
                    .map(|(&m, &(lo, hi))| {
                        let rows: Vec<Vec<f64>> = if m == 1 {
                            vec![kind.with_half_width(0.5 * (lo + hi), 0.5 * (hi - lo))]
                        } else {
                            let step = (hi - lo) / (m - 1) as f64;
                            (0..m)
                                .map(|j| kind.with_half_width(lo + step * j as f64, 0.5 * step))
                                .collect()
                        };
                        rows_to_mat(&rows)
                    })
                    .collect();
                // rule r ↔ mixed-radix digits of r, the last input varying fastest
                let rules: Vec<Vec<usize>> = (0..total)
                    .map(|r| {
                        let mut rest = r;
                        let mut rule = vec![0; d];
                        for i in (0..d).rev() {
                            rule[i] = rest % mfs[i];
                            rest /= mfs[i];
                        }
                        rule
                    })
                    .collect();
                Anfis::from_parts(kind, premise, &rules, &range)
            }
            Partition::KMeans { rules, restarts } => {
                let k = *rules;
                let fit = kmeans(
                    x,
                    &KMeans {
                        k,
                        n_init: *restarts,
                        ..KMeans::default()
                    },
                    rng,
                )?;
                let mut premise = Vec::with_capacity(d);
                for (i, &(lo, hi)) in range.iter().enumerate() {
                    let floor = (hi - lo) / (2.0 * k as f64);
                    let rows: Vec<Vec<f64>> = (0..k)
                        .map(|j| {
                            let c = fit.centres[(i, j)].to_f64();
                            let members: Vec<f64> = (0..x.ncols())
                                .filter(|&p| fit.assignments[p] == j)
                                .map(|p| x[(i, p)].to_f64())
                                .collect();
                            let var = members.iter().map(|v| (v - c).powi(2)).sum::<f64>()
                                / members.len().max(1) as f64;
                            let sigma = var.sqrt().max(floor);
                            kind.with_half_width(c, sigma * (2.0 * std::f64::consts::LN_2).sqrt())
                        })
                        .collect();
                    premise.push(rows_to_mat(&rows));
                }
                let rules: Vec<Vec<usize>> = (0..k).map(|r| vec![r; d]).collect();
                Anfis::from_parts(kind, premise, &rules, &range)
            }
            Partition::Subtractive(settings) => {
                let centres = subtractive_clustering(x, settings)?;
                let k = centres.ncols();
                let premise = range
                    .iter()
                    .enumerate()
                    .map(|(i, &(lo, hi))| {
                        let sigma = settings.radius * (hi - lo) / 8f64.sqrt();
                        let h = sigma * (2.0 * std::f64::consts::LN_2).sqrt();
                        let rows: Vec<Vec<f64>> = (0..k)
                            .map(|j| kind.with_half_width(centres[(i, j)].to_f64(), h))
                            .collect();
                        rows_to_mat(&rows)
                    })
                    .collect();
                let rules: Vec<Vec<usize>> = (0..k).map(|r| vec![r; d]).collect();
                Anfis::from_parts(kind, premise, &rules, &range)
            }
        }
    }
}

fn rows_to_mat(rows: &[Vec<f64>]) -> Mat<f64> {
    let k = rows.first().map_or(0, Vec::len);
    Mat::from_fn(rows.len(), k, |j, q| rows[j][q])
}
