//! The mathematics of RBF networks as properties (proptest).

use classic::rbf::{
    Basis, Centres, LeastSquares, Rbf, RbfConfig, Solver, Widths, choose_widths, fit,
    solve_least_squares,
};
use optim::{Error, Mat};
use proptest::prelude::*;
use rand::Rng;

fn random_points(d: usize, n: usize, seed: u64) -> Mat<f64> {
    let mut rng = optim::rng(seed);
    Mat::from_fn(d, n, |_, _| rng.random_range(0.0..1.0))
}

fn min_distance(x: &Mat<f64>) -> f64 {
    let mut best = f64::INFINITY;
    for a in 0..x.ncols() {
        for b in a + 1..x.ncols() {
            best = best.min((x.column(a) - x.column(b)).norm());
        }
    }
    best
}

const BASES: [Basis; 3] = [
    Basis::Gaussian,
    Basis::Multiquadric,
    Basis::InverseMultiquadric,
];

/// `cases` cases, unless `PROPTEST_CASES` asks for another number (for a longer search).
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        default
    } else {
        ProptestConfig { cases, ..default }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Micchelli: with distinct points as centres the interpolation matrix is non-singular, so an
    /// RBF network with one centre per point (and no bias) fits any targets exactly.
    #[test]
    fn exact_interpolation(
        b in 0usize..3, d in 1usize..4, n in 2usize..40, seed in 0u64..10_000, qr in any::<bool>(),
    ) {
        let x = random_points(d, n, seed);
        let delta = min_distance(&x);
        prop_assume!(delta > 1e-3);
        // widths well below the spacing keep Φ close to diagonal (well conditioned)
        let sigma = match BASES[b] {
            Basis::Gaussian => delta / 3.0,
            _ => delta / 4.0,
        };
        let mut rng = optim::rng(seed + 1);
        let t = Mat::from_fn(2, n, |_, _| rng.random_range(-1.0..1.0));
        let config = RbfConfig {
            basis: BASES[b],
            centres: Centres::AllPoints,
            widths: Widths::Fixed(sigma),
            bias: false,
            least_squares: LeastSquares {
                solver: if qr { Solver::Qr } else { Solver::Svd },
                ridge: 0.0,
            },
        };
        let (model, report) = fit(&config, &x, &t, &mut optim::rng(0)).unwrap();
        prop_assert!(report.relative_residual <= 1e-8, "{report:?}");
        let y = model.predict(&x).unwrap();
        let rel = (&y - &t).norm() / t.norm();
        prop_assert!(rel <= 1e-8, "prediction residual {rel:e}, {report:?}");
    }

    /// Least squares: the residual is orthogonal to every column of the design matrix (the normal
    /// equations `Aᵀ(Aw − t) = 0`, to rounding), whichever factorization solved it.
    #[test]
    fn least_squares_residual_is_orthogonal_to_the_design(
        d in 1usize..4, m in 1usize..8, extra in 1usize..20, seed in 0u64..10_000, qr in any::<bool>(),
    ) {
        let n = m + 1 + extra;
        let x = random_points(d, n, seed);
        let c = random_points(d, m, seed + 7);
        let mut model = Rbf::new(Basis::Gaussian, c, &vec![0.5; m], 1, true).unwrap();
        let mut rng = optim::rng(seed + 2);
        let t = Mat::from_fn(1, n, |_, _| rng.random_range(-1.0..1.0));
        let solver = if qr { Solver::Qr } else { Solver::Svd };
        match model.fit_output_weights(&x, &t, &LeastSquares { solver, ridge: 0.0 }) {
            Ok(_) => {}
            // close centres can make Φ singular: then it must say so, not fit garbage
            Err(Error::Numerical { .. }) => return Ok(()),
            Err(e) => panic!("{e}"),
        }
        let phi = model.hidden(&x).unwrap();
        let resid = model.predict(&x).unwrap() - &t;
        // a backward-stable solve leaves `Aᵀr` of order ε‖A‖(‖A‖‖w‖ + ‖t‖)
        let a_norm = (phi.norm_squared() + n as f64).sqrt();
        let w_norm = (model.weight.value.norm_squared()
            + model.bias.as_ref().unwrap().value.norm_squared())
        .sqrt();
        let scale = a_norm * (a_norm * w_norm + t.norm());
        for j in 0..m {
            let dot: f64 = phi.row(j).iter().zip(resid.iter()).map(|(a, b)| a * b).sum();
            prop_assert!(dot.abs() <= 1e-9 * scale, "column {j}: {dot:e}");
        }
        prop_assert!(resid.sum().abs() <= 1e-9 * scale, "bias column");
    }

    /// The network depends on inputs only through distances to centres: translating inputs and
    /// centres together changes nothing.
    #[test]
    fn translation_invariance(b in 0usize..3, d in 1usize..4, seed in 0u64..10_000) {
        let x = random_points(d, 10, seed);
        let c = random_points(d, 4, seed + 3);
        let mut rng = optim::rng(seed);
        let shift: Vec<f64> = (0..d).map(|_| rng.random_range(-5.0..5.0)).collect();
        let mut model = Rbf::new(BASES[b], c.clone(), &[0.3, 0.5, 0.7, 1.1], 2, true).unwrap();
        model.weight.value = Mat::from_fn(2, 4, |i, j| (i + 2 * j) as f64 - 3.0);
        let y = model.predict(&x).unwrap();
        let mut moved = model.clone();
        let add = |m: &Mat<f64>| Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] + shift[i]);
        moved.centres.value = add(&c);
        let y2 = moved.predict(&add(&x)).unwrap();
        prop_assert!((y - y2).abs().max() < 1e-9);
    }

    /// A ridge term only ever shrinks the output weights.
    #[test]
    fn ridge_shrinks_the_weights(seed in 0u64..10_000) {
        let x = random_points(2, 30, seed);
        let c = random_points(2, 8, seed + 1);
        let mut rng = optim::rng(seed);
        let t = Mat::from_fn(1, 30, |_, _| rng.random_range(-1.0..1.0));
        let mut last = f64::INFINITY;
        for ridge in [1e-6, 1e-3, 1e-1, 1.0, 10.0] {
            let mut model = Rbf::new(Basis::Gaussian, c.clone(), &[0.3; 8], 1, false).unwrap();
            model.fit_output_weights(&x, &t, &LeastSquares { solver: Solver::Svd, ridge }).unwrap();
            let norm = model.weight.value.norm();
            prop_assert!(norm <= last * (1.0 + 1e-9), "ridge {ridge}: {norm} > {last}");
            last = norm;
        }
    }
}

/// Local response: far from every centre a Gaussian or inverse-multiquadric network answers with
/// its bias alone; a multiquadric one does not.
#[test]
fn local_bases_fall_back_to_the_bias_far_away() {
    let c = random_points(2, 5, 1);
    for basis in BASES {
        let mut model = Rbf::new(basis, c.clone(), &[0.2; 5], 1, true).unwrap();
        model.weight.value = Mat::from_element(1, 5, 1.0);
        model.bias.as_mut().unwrap().value[(0, 0)] = 0.25;
        let far = Mat::from_column_slice(2, 1, &[1e4, -1e4]);
        let y = model.predict(&far).unwrap()[(0, 0)];
        match basis {
            Basis::Gaussian => assert_eq!(y, 0.25),
            Basis::InverseMultiquadric => assert!((y - 0.25).abs() < 1e-4, "{y}"),
            Basis::Multiquadric => assert!(y > 1e4, "{y}"),
        }
    }
}

#[test]
fn singular_systems_are_errors_not_garbage() {
    // a repeated training point used as two centres: two identical rows (and columns) of Φ
    let mut x = random_points(2, 6, 3);
    let dup = x.column(1).into_owned();
    x.set_column(4, &dup);
    for solver in [Solver::Qr, Solver::Svd] {
        let config = RbfConfig {
            centres: Centres::AllPoints,
            widths: Widths::Fixed(0.3),
            bias: false,
            least_squares: LeastSquares { solver, ridge: 0.0 },
            ..RbfConfig::default()
        };
        let t = Mat::from_fn(1, 6, |_, j| j as f64);
        match fit(&config, &x, &t, &mut optim::rng(0)) {
            Err(Error::Numerical { reason, .. }) => {
                assert!(reason.contains("singular"), "{reason}")
            }
            other => panic!("{solver:?}: expected a singular-system error, got {other:?}"),
        }
        // a ridge term makes it solvable
        let ridged = RbfConfig {
            least_squares: LeastSquares {
                solver,
                ridge: 1e-6,
            },
            ..config.clone()
        };
        assert!(fit(&ridged, &x, &t, &mut optim::rng(0)).is_ok());
        // all points as centres plus a bias: more unknowns than equations
        let with_bias = RbfConfig {
            bias: true,
            ..config
        };
        assert!(fit(&with_bias, &x, &t, &mut optim::rng(0)).is_err());
    }
    // an exactly rank-deficient matrix directly
    let a = Mat::from_row_slice(3, 2, &[1.0, 2.0, 2.0, 4.0, 3.0, 6.0]);
    let t = Mat::from_row_slice(3, 1, &[1.0, 2.0, 3.0]);
    assert!(solve_least_squares(&a, &t, Solver::Qr).is_err());
    assert!(solve_least_squares(&a, &t, Solver::Svd).is_err());
}

#[test]
fn width_rules() {
    let c = Mat::from_row_slice(1, 4, &[0.0, 1.0, 3.0, 7.0]);
    let nn = choose_widths(
        &c,
        Widths::NearestNeighbour {
            neighbours: 1,
            scale: 2.0,
        },
    )
    .unwrap();
    assert_eq!(nn, vec![2.0, 2.0, 4.0, 8.0]);
    let two = choose_widths(
        &c,
        Widths::NearestNeighbour {
            neighbours: 2,
            scale: 1.0,
        },
    )
    .unwrap();
    assert_eq!(two, vec![2.0, 1.5, 2.5, 5.0]);
    let haykin = choose_widths(&c, Widths::MaxDistance).unwrap();
    assert!((haykin[0] - 7.0 / 8f64.sqrt()).abs() < 1e-15);
    // duplicate centres give a zero width: an error
    let dup = Mat::from_row_slice(1, 3, &[0.0, 0.0, 1.0]);
    assert!(
        choose_widths(
            &dup,
            Widths::NearestNeighbour {
                neighbours: 1,
                scale: 1.0
            }
        )
        .is_err()
    );
    assert!(choose_widths(&c, Widths::Fixed(0.0)).is_err());
    assert!(choose_widths(&c, Widths::Fixed(-1.0)).is_err());
    assert!(choose_widths(&c, Widths::Fixed(f64::NAN)).is_err());
}
