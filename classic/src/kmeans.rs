//! k-means clustering with k-means++ seeding: where an RBF network puts its centres.
//!
//! Lloyd's algorithm alternates two steps that each lower the *inertia*
//! `J = Σ_n ‖x_n − c_{a(n)}‖²`:
//!
//! 1. **assign** every point to its nearest centre, `a(n) = argmin_j ‖x_n − c_j‖²`;
//! 2. **update** every centre to the mean of its points, `c_j = mean{x_n : a(n) = j}`.
//!
//! It stops when no assignment changes (a fixed point) or after `max_iter` rounds. Seeding is
//! k-means++ (Arthur & Vassilvitskii, 2007): the first centre is a uniformly chosen point, each next
//! one a point drawn with probability proportional to `D(x)²`, its squared distance to the nearest
//! centre chosen so far; this is `O(log k)`-competitive with the optimal clustering in expectation.
//! Several seeded restarts (`n_init`) keep the one with the lowest inertia, as scikit-learn does.
//! A cluster that loses all its points is re-seeded at the point farthest from its centre.
//!
//! ```
//! use classic::kmeans::{KMeans, kmeans};
//! use optim::Mat;
//! // two tight groups on a line
//! let x = Mat::<f64>::from_row_slice(1, 6, &[0.0, 0.1, 0.2, 10.0, 10.1, 10.2]);
//! let fit = kmeans(&x, &KMeans { k: 2, ..KMeans::default() }, &mut optim::rng(0)).unwrap();
//! let mut c: Vec<f64> = fit.centres.iter().copied().collect();
//! c.sort_by(f64::total_cmp);
//! assert!((c[0] - 0.1).abs() < 1e-12 && (c[1] - 10.1).abs() < 1e-12);
//! ```

use optim::{Error, Float, Mat, Result};
use rand::Rng;

/// Settings of [`kmeans`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KMeans {
    /// Number of clusters `k` (default 8); at most the number of points.
    pub k: usize,
    /// Maximum Lloyd rounds per run (default 300).
    pub max_iter: usize,
    /// Seeded restarts; the run with the lowest inertia wins (default 4).
    pub n_init: usize,
}

impl Default for KMeans {
    fn default() -> Self {
        Self {
            k: 8,
            max_iter: 300,
            n_init: 4,
        }
    }
}

/// The result of [`kmeans`].
///
/// # Shapes
/// `centres`: `features x k`, one column per centre; `assignments`: one cluster per point.
#[derive(Clone, Debug)]
pub struct KMeansFit<F: Float> {
    /// The centres, one column each.
    pub centres: Mat<F>,
    /// The cluster of each point.
    pub assignments: Vec<usize>,
    /// `Σ_n ‖x_n − c_{a(n)}‖²` of the returned centres.
    pub inertia: f64,
    /// Lloyd rounds run by the winning restart.
    pub iterations: usize,
}

/// Squared Euclidean distance between column `a` of `x` and column `b` of `c`, in `f64`.
fn dist2<F: Float>(x: &Mat<F>, a: usize, c: &Mat<f64>, b: usize) -> f64 {
    x.column(a)
        .iter()
        .zip(c.column(b).iter())
        .map(|(&u, &v)| (u.to_f64() - v).powi(2))
        .sum()
}

/// k-means++ seeding: `k` columns of `x`, each drawn with probability `∝ D(x)²`.
pub fn kmeans_plus_plus<F: Float>(x: &Mat<F>, k: usize, rng: &mut impl Rng) -> Result<Mat<F>> {
    check_input(x, k)?;
    let c = seed(x, k, rng);
    Ok(c.map(F::of))
}

fn seed<F: Float>(x: &Mat<F>, k: usize, rng: &mut impl Rng) -> Mat<f64> {
    let (d, n) = x.shape();
    let mut centres = Mat::<f64>::zeros(d, k);
    let first = rng.random_range(0..n);
    for i in 0..d {
        centres[(i, 0)] = x[(i, first)].to_f64();
    }
    let mut nearest: Vec<f64> = (0..n).map(|p| dist2(x, p, &centres, 0)).collect();
    for j in 1..k {
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (p, &w) in nearest.iter().enumerate() {
                if u < w {
                    chosen = p;
                    break;
                }
                u -= w;
            }
            chosen
        } else {
            // every point already coincides with a centre: any point will do
            rng.random_range(0..n)
        };
        for i in 0..d {
            centres[(i, j)] = x[(i, pick)].to_f64();
        }
        for (p, near) in nearest.iter_mut().enumerate() {
            *near = near.min(dist2(x, p, &centres, j));
        }
    }
    centres
}

fn check_input<F: Float>(x: &Mat<F>, k: usize) -> Result<()> {
    if x.ncols() == 0 || x.nrows() == 0 {
        return Err(Error::Data(format!(
            "kmeans: empty data ({} x {})",
            x.nrows(),
            x.ncols()
        )));
    }
    optim::check_finite(x, "kmeans input")?;
    if k == 0 || k > x.ncols() {
        return Err(Error::hyper(
            "k",
            k,
            &format!("must lie in 1..={} (the number of points)", x.ncols()),
        ));
    }
    Ok(())
}

/// Assigns each point to its nearest centre; returns the inertia.
fn assign<F: Float>(x: &Mat<F>, centres: &Mat<f64>, assignments: &mut [usize]) -> f64 {
    let mut inertia = 0.0;
    for (p, a) in assignments.iter_mut().enumerate() {
        let mut best = (f64::INFINITY, 0);
        for j in 0..centres.ncols() {
            let d = dist2(x, p, centres, j);
            if d < best.0 {
                best = (d, j);
            }
        }
        *a = best.1;
        inertia += best.0;
    }
    inertia
}

/// Runs k-means (Lloyd's algorithm from k-means++ seeds, `n_init` restarts).
///
/// # Shapes
/// `x`: `features x n`; returns `k` centres as columns of a `features x k` matrix.
///
/// # Errors
/// Empty or non-finite data, `k = 0` or `k > n`, `max_iter = 0` or `n_init = 0`.
pub fn kmeans<F: Float>(x: &Mat<F>, opts: &KMeans, rng: &mut impl Rng) -> Result<KMeansFit<F>> {
    check_input(x, opts.k)?;
    if opts.max_iter == 0 {
        return Err(Error::hyper("max_iter", 0, "must be at least 1"));
    }
    if opts.n_init == 0 {
        return Err(Error::hyper("n_init", 0, "must be at least 1"));
    }
    let (d, n) = x.shape();
    let k = opts.k;
    let mut best: Option<(Mat<f64>, Vec<usize>, f64, usize)> = None;
    for _ in 0..opts.n_init {
        let mut centres = seed(x, k, rng);
        let mut assignments = vec![usize::MAX; n];
        let mut next = vec![0usize; n];
        let mut inertia = assign(x, &centres, &mut next);
        let mut rounds = 0;
        while rounds < opts.max_iter {
            rounds += 1;
            if next == assignments {
                break;
            }
            assignments.copy_from_slice(&next);
            // update: each centre to the mean of its points
            let mut sums = Mat::<f64>::zeros(d, k);
            let mut counts = vec![0usize; k];
            for (p, &a) in assignments.iter().enumerate() {
                counts[a] += 1;
                for i in 0..d {
                    sums[(i, a)] += x[(i, p)].to_f64();
                }
            }
            for j in 0..k {
                if counts[j] > 0 {
                    for i in 0..d {
                        centres[(i, j)] = sums[(i, j)] / counts[j] as f64;
                    }
                } else {
                    // an empty cluster restarts at the point worst served by its centre
                    let far = (0..n)
                        .max_by(|&a, &b| {
                            dist2(x, a, &centres, assignments[a]).total_cmp(&dist2(
                                x,
                                b,
                                &centres,
                                assignments[b],
                            ))
                        })
                        .expect("n > 0");
                    for i in 0..d {
                        centres[(i, j)] = x[(i, far)].to_f64();
                    }
                }
            }
            inertia = assign(x, &centres, &mut next);
        }
        assignments.copy_from_slice(&next);
        if best.as_ref().is_none_or(|b| inertia < b.2) {
            best = Some((centres, assignments, inertia, rounds));
        }
    }
    let (centres, assignments, inertia, iterations) = best.expect("n_init >= 1");
    Ok(KMeansFit {
        centres: centres.map(F::of),
        assignments,
        inertia,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separated_blobs_and_is_deterministic() {
        let centres = Mat::from_row_slice(2, 3, &[0.0, 5.0, 0.0, 0.0, 0.0, 5.0]);
        let data = optim::data::generate::blobs::<f64>(300, &centres, 0.3, &mut optim::rng(1));
        let opts = KMeans {
            k: 3,
            ..KMeans::default()
        };
        let a = kmeans(&data.x, &opts, &mut optim::rng(7)).unwrap();
        let b = kmeans(&data.x, &opts, &mut optim::rng(7)).unwrap();
        assert_eq!(a.centres, b.centres);
        // every true centre has a found centre within 0.2
        for t in 0..3 {
            let best = (0..3)
                .map(|j| {
                    ((a.centres[(0, j)] - centres[(0, t)]).powi(2)
                        + (a.centres[(1, j)] - centres[(1, t)]).powi(2))
                    .sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            assert!(best < 0.2, "true centre {t}: nearest found at {best}");
        }
        // points of one blob share a cluster
        for blob in 0..3 {
            let ids: Vec<usize> = (0..300)
                .filter(|&p| data.labels().unwrap()[p] == blob)
                .map(|p| a.assignments[p])
                .collect();
            assert!(ids.iter().all(|&c| c == ids[0]));
        }
    }

    #[test]
    fn inertia_is_that_of_the_returned_centres_and_lloyd_lowers_it() {
        let x = Mat::<f64>::from_fn(2, 200, |i, j| ((j * 37 + i * 11) % 101) as f64 / 10.0);
        let fit = kmeans(
            &x,
            &KMeans {
                k: 5,
                n_init: 1,
                max_iter: 100,
            },
            &mut optim::rng(3),
        )
        .unwrap();
        let mut a = vec![0; 200];
        let j = assign(&x, &fit.centres, &mut a);
        assert!((j - fit.inertia).abs() < 1e-9);
        assert_eq!(a, fit.assignments);
        // seeds alone are worse than the converged centres
        let s = seed(&x, 5, &mut optim::rng(3));
        assert!(assign(&x, &s, &mut a) >= fit.inertia);
    }

    #[test]
    fn k_equal_n_puts_a_centre_on_every_point() {
        let x = Mat::<f64>::from_row_slice(1, 4, &[0.0, 1.0, 3.0, 7.0]);
        let fit = kmeans(
            &x,
            &KMeans {
                k: 4,
                ..KMeans::default()
            },
            &mut optim::rng(0),
        )
        .unwrap();
        assert_eq!(fit.inertia, 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = Mat::<f64>::zeros(2, 3);
        let ok = KMeans {
            k: 2,
            ..KMeans::default()
        };
        let r = &mut optim::rng(0);
        assert!(kmeans(&Mat::<f64>::zeros(2, 0), &ok, r).is_err());
        assert!(kmeans(&x, &KMeans { k: 0, ..ok.clone() }, r).is_err());
        assert!(kmeans(&x, &KMeans { k: 4, ..ok.clone() }, r).is_err());
        assert!(
            kmeans(
                &x,
                &KMeans {
                    n_init: 0,
                    ..ok.clone()
                },
                r
            )
            .is_err()
        );
        let mut bad = x.clone();
        bad[(1, 2)] = f64::NAN;
        assert!(kmeans(&bad, &ok, r).is_err());
    }
}
