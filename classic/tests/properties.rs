//! Properties of the RBF network, the SOM and ANFIS, as proptests and worked cases.

mod rbf {
    //! The mathematics of RBF networks as properties (proptest).

    use classic::rbf::{
        Basis, Centres, LeastSquares, Rbf, RbfConfig, Solver, Widths, choose_widths, fit,
        solve_least_squares,
    };
    use optim::testing::proptest_config;
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

    proptest! {
        #![proptest_config(proptest_config(48))]

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
}

mod som {
    //! The mathematics of self-organizing maps as properties (proptest).

    use classic::som::{
        Decay, Grid, Neighbourhood, Order, Som, SomConfig, SomInit, Topology, Training,
    };
    use optim::Mat;
    use optim::testing::proptest_config;
    use proptest::prelude::*;
    use rand::Rng;

    const NEIGHBOURHOODS: [Neighbourhood; 3] = [
        Neighbourhood::Gaussian,
        Neighbourhood::Bubble,
        Neighbourhood::MexicanHat,
    ];

    fn topology(hex: bool) -> Topology {
        if hex {
            Topology::Hexagonal
        } else {
            Topology::Rectangular
        }
    }

    proptest! {
        #![proptest_config(proptest_config(32))]

        /// Kohonen's ordering theorem in one dimension: a chain of units trained on points of a line
        /// ends up ordered along the line (its weights' coordinates along the line are monotone).
        #[test]
        fn one_dimensional_map_orders_itself_along_a_line(
            units in 5usize..16, seed in 0u64..10_000, angle in 0.0f64..std::f64::consts::PI,
        ) {
            let mut rng = optim::rng(seed);
            let direction = [angle.cos(), angle.sin()];
            let offset = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let data = Mat::from_fn(2, 200, |i, j| {
                let t = ((j * 7919) % 200) as f64 / 199.0 * 4.0 - 2.0;
                offset[i] + t * direction[i]
            });
            let config = SomConfig {
                nx: units,
                ny: 1,
                sigma: units as f64 / 2.0,
                learning_rate: 0.5,
                sigma_decay: Decay::Linear { end: 0.5 },
                learning_rate_decay: Decay::Linear { end: 0.01 },
                init: SomInit::Random,
                iterations: 3000,
                training: Training::Online(Order::Random),
                ..SomConfig::default()
            };
            let (som, _) = classic::som::train(&config, &data, &mut rng, &mut |_, _| {}).unwrap();
            let along: Vec<f64> = (0..units)
                .map(|k| {
                    let w = som.weights.value.column(k);
                    (w[0] - offset[0]) * direction[0] + (w[1] - offset[1]) * direction[1]
                })
                .collect();
            let increasing = along.windows(2).all(|p| p[1] > p[0]);
            let decreasing = along.windows(2).all(|p| p[1] < p[0]);
            prop_assert!(increasing || decreasing, "not ordered: {along:?}");
        }

        /// The update is exactly `w_k ← w_k + η h_k (x − w_k)`; for the winner `h = 1`, so its distance
        /// to the input shrinks by exactly the factor `1 − η`.
        #[test]
        fn the_update_moves_units_by_exactly_the_formula(
            nx in 1usize..6, ny in 1usize..6, dim in 1usize..5, hex in any::<bool>(),
            kind in 0usize..3, lr in 0.0f64..1.0, sigma in 0.1f64..3.0, seed in 0u64..10_000,
        ) {
            let mut rng = optim::rng(seed);
            let grid = Grid::new(nx, ny, topology(hex)).unwrap();
            let neighbourhood = NEIGHBOURHOODS[kind];
            let mut som = Som::<f64>::new(grid.clone(), dim, neighbourhood, &mut rng).unwrap();
            let x: Vec<f64> = (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect();
            let before = som.weights.value.clone();
            let c = som.bmu(&x);
            som.update(&x, c, lr, sigma);
            let (ci, cj) = grid.coords(c);
            for k in 0..grid.units() {
                let (i, j) = grid.coords(k);
                let d2 = grid.distance2(k, c);
                // the neighbourhood written out independently of the library
                let h = match neighbourhood {
                    Neighbourhood::Gaussian => (-d2 / (2.0 * sigma * sigma)).exp(),
                    Neighbourhood::MexicanHat => {
                        (-d2 / (2.0 * sigma * sigma)).exp() * (1.0 - d2 / (sigma * sigma))
                    }
                    Neighbourhood::Bubble => {
                        let inside = (i as f64 - ci as f64).abs() < sigma
                            && (j as f64 - cj as f64).abs() < sigma;
                        if inside { 1.0 } else { 0.0 }
                    }
                };
                for r in 0..dim {
                    let want = before[(r, k)] + lr * h * (x[r] - before[(r, k)]);
                    prop_assert!((som.weights.value[(r, k)] - want).abs() <= 1e-12 * (1.0 + want.abs()));
                }
            }
            let dist = |w: &Mat<f64>| (0..dim).map(|r| (x[r] - w[(r, c)]).powi(2)).sum::<f64>().sqrt();
            prop_assert!((dist(&som.weights.value) - (1.0 - lr) * dist(&before)).abs() <= 1e-12);
        }

        /// With the learning rate and the radius frozen at 0, training is a fixed point: the weights
        /// do not move and the quantization error does not change, online or batch.
        #[test]
        fn frozen_training_is_a_fixed_point(
            seed in 0u64..10_000, hex in any::<bool>(), batch in any::<bool>(), kind in 0usize..3,
        ) {
            let mut rng = optim::rng(seed);
            let data = Mat::from_fn(3, 40, |_, _| rng.random_range(-1.0..1.0));
            let config = SomConfig {
                nx: 4,
                ny: 3,
                topology: topology(hex),
                neighbourhood: NEIGHBOURHOODS[kind],
                sigma: 0.0,
                learning_rate: 0.0,
                sigma_decay: Decay::Constant,
                learning_rate_decay: Decay::Constant,
                init: SomInit::Sample,
                iterations: 50,
                training: if batch { Training::Batch } else { Training::Online(Order::Random) },
            };
            let mut som = Som::from_config(&config, &data, &mut rng).unwrap();
            let before = som.weights.value.clone();
            let qe = som.quantization_error(&data).unwrap();
            let mut seen = Vec::new();
            som.train(&data, &config, &mut rng, &mut |_, s| seen.push(s.quantization_error(&data).unwrap()))
                .unwrap();
            prop_assert_eq!(&som.weights.value, &before);
            prop_assert!(seen.iter().all(|&q| q == qe));
        }

        /// With the radius at 0 and η = 1 the batch map is Lloyd's k-means step, so the squared
        /// distortion `Σ ‖x − w_c‖²` never increases from one pass to the next.
        #[test]
        fn winner_take_all_batch_map_never_increases_distortion(seed in 0u64..10_000) {
            let mut rng = optim::rng(seed);
            let data = Mat::from_fn(2, 60, |_, _| rng.random_range(-1.0..1.0));
            let config = SomConfig {
                nx: 3,
                ny: 3,
                sigma: 0.0,
                learning_rate: 1.0,
                sigma_decay: Decay::Constant,
                learning_rate_decay: Decay::Constant,
                init: SomInit::Sample,
                iterations: 15,
                training: Training::Batch,
                ..SomConfig::default()
            };
            let mut som = Som::from_config(&config, &data, &mut rng).unwrap();
            let distortion = |s: &Som<f64>| -> f64 {
                data.column_iter()
                    .map(|x| (x - s.weights.value.column(s.bmu(x.as_slice()))).norm_squared())
                    .sum()
            };
            let mut history = vec![distortion(&som)];
            som.train(&data, &config, &mut rng, &mut |_, s| history.push(distortion(s))).unwrap();
            for w in history.windows(2) {
                prop_assert!(w[1] <= w[0] + 1e-12, "{history:?}");
            }
        }

        /// The grid's adjacency is symmetric and agrees with the neighbour lists; hexagonal
        /// neighbours all sit at distance 1, rectangular ones within a 3 x 3 square.
        #[test]
        fn grid_adjacency(nx in 1usize..8, ny in 1usize..8, hex in any::<bool>()) {
            let grid = Grid::new(nx, ny, topology(hex)).unwrap();
            for a in 0..grid.units() {
                let nb = grid.neighbours(a);
                let most = if hex { 6 } else { 8 };
                prop_assert!(nb.len() <= most);
                for b in 0..grid.units() {
                    prop_assert_eq!(grid.adjacent(a, b), grid.adjacent(b, a));
                    prop_assert_eq!(grid.adjacent(a, b), nb.contains(&b), "{} {}", a, b);
                    if hex && grid.adjacent(a, b) {
                        prop_assert!((grid.distance2(a, b) - 1.0).abs() < 1e-12);
                    }
                }
                let (i, j) = grid.coords(a);
                let inner = i > 0 && j > 0 && i + 1 < nx && j + 1 < ny;
                if inner {
                    prop_assert_eq!(nb.len(), most);
                }
            }
        }

        /// The U-matrix lies in [0, 1] with its maximum at 1; QE ≥ 0 and TE ∈ [0, 1].
        #[test]
        fn measures_are_in_range(seed in 0u64..10_000, hex in any::<bool>()) {
            let mut rng = optim::rng(seed);
            let data = Mat::from_fn(3, 30, |_, _| rng.random_range(-1.0..1.0));
            let config = SomConfig {
                nx: 5,
                ny: 4,
                topology: topology(hex),
                iterations: 200,
                ..SomConfig::default()
            };
            let (som, _) = classic::som::train(&config, &data, &mut rng, &mut |_, _| {}).unwrap();
            let um = som.u_matrix(false);
            prop_assert!(um.iter().all(|&v| (0.0..=1.0).contains(&v)));
            prop_assert!((um.max() - 1.0).abs() < 1e-15);
            let te = som.topographic_error(&data).unwrap();
            prop_assert!((0.0..=1.0).contains(&te));
            prop_assert!(som.quantization_error(&data).unwrap() >= 0.0);
            let counts = som.activation_response(&data).unwrap();
            prop_assert_eq!(counts.sum(), 30.0);
            let wm = som.winner_map(&data).unwrap();
            prop_assert_eq!(wm.iter().map(Vec::len).sum::<usize>(), 30);
            // QE is the mean distance to the quantized data
            let q = som.quantize(&data).unwrap();
            let mean_dist = (0..30).map(|n| (data.column(n) - q.column(n)).norm()).sum::<f64>() / 30.0;
            prop_assert!((mean_dist - som.quantization_error(&data).unwrap()).abs() < 1e-12);
            let plane = som.component_plane(2).unwrap();
            prop_assert_eq!(plane[(4, 3)], som.unit_weights(4, 3)[2]);
            prop_assert!(som.component_plane(3).is_err());
        }
    }

    /// A map whose weights *are* the grid positions, probed at those positions: every example's
    /// best unit is exact (QE 0) and its second best is a grid neighbour (TE 0).
    #[test]
    fn an_isometric_map_has_zero_errors() {
        for hex in [false, true] {
            let grid = Grid::new(5, 6, topology(hex)).unwrap();
            let mut som =
                Som::<f64>::new(grid.clone(), 2, Neighbourhood::Gaussian, &mut optim::rng(0))
                    .unwrap();
            for k in 0..grid.units() {
                let (px, py) = grid.position(k);
                som.weights.value[(0, k)] = px;
                som.weights.value[(1, k)] = py;
            }
            let data = som.weights.value.clone();
            assert_eq!(som.quantization_error(&data).unwrap(), 0.0);
            assert_eq!(som.topographic_error(&data).unwrap(), 0.0);
            // and a permuted map (units swapped far apart) is caught by the topographic error
            let mut shuffled = som.clone();
            shuffled.weights.value.swap_columns(0, grid.units() - 1);
            assert!(shuffled.topographic_error(&data).unwrap() > 0.0);
        }
    }

    #[test]
    fn decay_schedules() {
        assert_eq!(Decay::Asymptotic.at(0.5, 0, 100), 0.5);
        assert!((Decay::Asymptotic.at(0.5, 100, 100) - 0.5 / 3.0).abs() < 1e-15);
        assert!((Decay::Asymptotic.at(3.0, 50, 100) - 1.5).abs() < 1e-15);
        assert_eq!(Decay::Linear { end: 0.0 }.at(2.0, 25, 100), 1.5);
        assert_eq!(Decay::Linear { end: 1.0 }.at(3.0, 50, 100), 2.0);
        assert!((Decay::Exponential { end: 0.01 }.at(1.0, 50, 100) - 0.1).abs() < 1e-12);
        assert_eq!(Decay::Constant.at(0.7, 99, 100), 0.7);
    }
}

mod anfis {
    //! ANFIS mathematics as properties: layer 3 is a partition of unity, least-squares consequents are
    //! optimal for fixed premises, one function per input is linear regression; Jang's step-size
    //! rule; errors and warnings; save/load.

    use classic::anfis::{
        Anfis, AnfisConfig, HybridConfig, MfKind, Partition, StepChange, StepSize, StepSizeState,
        Subtractive, subtractive_clustering, train_hybrid,
    };
    use optim::testing::proptest_config;
    use optim::{Error, Mat};
    use proptest::prelude::*;
    use rand::Rng;

    const KINDS: [MfKind; 4] = [
        MfKind::Bell,
        MfKind::Gaussian,
        MfKind::Triangular,
        MfKind::Trapezoidal,
    ];

    fn uniform(d: usize, n: usize, lo: f64, hi: f64, seed: u64) -> Mat<f64> {
        let mut rng = optim::rng(seed);
        Mat::from_fn(d, n, |_, _| rng.random_range(lo..hi))
    }

    fn mse(model: &Anfis<f64>, x: &Mat<f64>, y: &Mat<f64>) -> f64 {
        let p = model.predict(x).unwrap().output;
        (p - y).norm_squared() / y.len() as f64
    }

    /// A smooth nonlinear target of the inputs.
    fn target(x: &Mat<f64>) -> Mat<f64> {
        Mat::from_fn(1, x.ncols(), |_, j| {
            let s: f64 = x
                .column(j)
                .iter()
                .enumerate()
                .map(|(i, v)| (v * (i + 1) as f64).sin())
                .sum();
            s + 0.3 * x[(0, j)] * x[(x.nrows() - 1, j)]
        })
    }

    proptest! {
        #![proptest_config(proptest_config(40))]

        /// Layer 3: `Σ_r w̄_r = 1` and `0 ≤ w̄_r ≤ 1` for every input inside the range, every kind,
        /// every grid.
        #[test]
        fn normalized_firing_strengths_sum_to_one(
            kind_index in 0usize..4,
            mfs in prop::collection::vec(1usize..4, 1..4),
            seed in 0u64..10_000,
        ) {
            let kind = KINDS[kind_index];
            let d = mfs.len();
            let x = uniform(d, 30, -2.0, 3.0, seed);
            let model = Anfis::grid(kind, &mfs, &x).unwrap();
            prop_assert_eq!(model.num_rules(), mfs.iter().product::<usize>());
            let probe = uniform(d, 50, -2.0, 3.0, seed + 1);
            let wbar = model.normalized_firing(&probe).unwrap();
            for j in 0..probe.ncols() {
                let col: f64 = wbar.column(j).iter().sum();
                prop_assert!((col - 1.0).abs() < 1e-12, "column {} sums to {}", j, col);
                prop_assert!(wbar.column(j).iter().all(|&w| (0.0..=1.0 + 1e-15).contains(&w)));
            }
        }

        /// With fixed premises the least-squares consequents minimize the training MSE: no
        /// perturbation of them, of any size or direction, lowers it; and the backward pass's
        /// consequent gradient vanishes there.
        #[test]
        fn least_squares_consequents_are_optimal(
            kind_index in 0usize..2,
            d in 1usize..4,
            seed in 0u64..10_000,
            scale in -6.0f64..0.0,
        ) {
            let kind = KINDS[kind_index];
            let x = uniform(d, 60, -1.0, 1.0, seed);
            let y = target(&x);
            let mut model = Anfis::grid(kind, &[2], &x).unwrap();
            let fit = model.fit_consequents(&x, &y, 0.0).unwrap();
            let best = mse(&model, &x, &y);
            prop_assert!((best - fit.mse).abs() <= 1e-12 * (1.0 + best));
            let mut rng = optim::rng(seed + 7);
            for _ in 0..5 {
                let mut perturbed = model.clone();
                let step = 10f64.powf(scale);
                perturbed.consequent_weight.value.iter_mut().for_each(|v| *v += step * rng.random_range(-1.0..1.0));
                perturbed.consequent_bias.value.iter_mut().for_each(|v| *v += step * rng.random_range(-1.0..1.0));
                let worse = mse(&perturbed, &x, &y);
                prop_assert!(worse >= best * (1.0 - 1e-12), "perturbation {} lowered the MSE {} to {}", step, best, worse);
            }
            // first-order condition: ∂MSE/∂(p, q) = 0 at the least-squares solution
            let out = model.forward(&x).unwrap();
            let (_, dy) = optim::loss::mse(&out, &y).unwrap();
            optim::zero_grad(&mut model);
            model.backward(&dy).unwrap();
            let g = model.consequent_weight.grad.amax().max(model.consequent_bias.grad.amax());
            prop_assert!(g < 1e-9, "consequent gradient {} at the least-squares solution", g);
        }

        /// One function per input: a single rule with `w̄ = 1`, so ANFIS is `y = p·x + q` and its
        /// least-squares fit is ordinary linear least squares, whatever the function's shape.
        #[test]
        fn one_function_per_input_is_linear_least_squares(
            kind_index in 0usize..4,
            d in 1usize..5,
            seed in 0u64..10_000,
        ) {
            let kind = KINDS[kind_index];
            let x = uniform(d, 40, -1.0, 2.0, seed);
            let y = target(&x);
            let mut model = Anfis::grid(kind, &[1], &x).unwrap();
            prop_assert_eq!(model.num_rules(), 1);
            model.fit_consequents(&x, &y, 0.0).unwrap();
            // [xᵀ 1] θ = yᵀ by nalgebra's SVD
            let a = Mat::from_fn(x.ncols(), d + 1, |j, i| if i < d { x[(i, j)] } else { 1.0 });
            let theta = a.clone().svd(true, true).solve(&y.transpose(), 1e-14).unwrap();
            for i in 0..d {
                prop_assert!((model.consequent_weight.value[(0, i)] - theta[(i, 0)]).abs() < 1e-9);
            }
            prop_assert!((model.consequent_bias.value[(0, 0)] - theta[(d, 0)]).abs() < 1e-9);
            let linear = (&a * &theta).transpose();
            let ours = model.predict(&x).unwrap().output;
            prop_assert!((ours - linear).amax() < 1e-9);
        }
    }

    #[test]
    fn clustering_partitions_are_partitions_of_unity_too() {
        let x = uniform(3, 80, 0.0, 1.0, 3);
        for partition in [
            Partition::KMeans {
                rules: 5,
                restarts: 2,
            },
            Partition::Subtractive(Subtractive::default()),
        ] {
            for kind in [MfKind::Bell, MfKind::Gaussian] {
                let config = AnfisConfig {
                    kind,
                    partition: partition.clone(),
                };
                let model = Anfis::<f64>::new(&config, &x, &mut optim::rng(1)).unwrap();
                // clustering rules: rule r uses function r of every input
                for r in 0..model.num_rules() {
                    assert!(model.rule(r).unwrap().iter().all(|&j| j == r));
                }
                let wbar = model.normalized_firing(&x).unwrap();
                for j in 0..x.ncols() {
                    assert!((wbar.column(j).sum() - 1.0).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn the_output_is_the_firing_weighted_sum_of_the_rule_outputs() {
        // layers 4 and 5 written out by hand for one example
        let x = uniform(2, 20, -1.0, 1.0, 4);
        let mut model = Anfis::grid(MfKind::Bell, &[2, 3], &x).unwrap();
        model.fit_consequents(&x, &target(&x), 0.0).unwrap();
        let probe = Mat::from_column_slice(2, 1, &[0.3, -0.4]);
        let mu = model.memberships(&probe).unwrap();
        let mut w = Vec::new();
        for r in 0..model.num_rules() {
            let rule = model.rule(r).unwrap();
            w.push(mu[0][(rule[0], 0)] * mu[1][(rule[1], 0)]);
        }
        let total: f64 = w.iter().sum();
        let y: f64 = (0..model.num_rules())
            .map(|r| {
                let f = model.consequent_weight.value[(r, 0)] * 0.3
                    + model.consequent_weight.value[(r, 1)] * -0.4
                    + model.consequent_bias.value[(r, 0)];
                w[r] / total * f
            })
            .sum();
        assert!((model.predict(&probe).unwrap().output[(0, 0)] - y).abs() < 1e-12);
        // grid order: the last input varies fastest
        assert_eq!(model.rule(0).unwrap(), &[0, 0]);
        assert_eq!(model.rule(1).unwrap(), &[0, 1]);
        assert_eq!(model.rule(3).unwrap(), &[1, 0]);
        assert!(model.rule(6).is_none());
    }

    #[test]
    fn jangs_initial_bells_for_the_grid() {
        // genfis1: centres evenly spaced over the range, a = range / (2m − 2), b = 2
        let x = Mat::from_row_slice(1, 3, &[0.0, 0.5, 2.0]);
        let model = Anfis::grid(MfKind::Bell, &[3], &x).unwrap();
        assert_eq!(model.mf_params(0, 0), vec![0.5, 2.0, 0.0]);
        assert_eq!(model.mf_params(0, 1), vec![0.5, 2.0, 1.0]);
        assert_eq!(model.mf_params(0, 2), vec![0.5, 2.0, 2.0]);
        // neighbours cross at one half
        assert!((MfKind::Bell.value(&model.mf_params(0, 0), 0.5) - 0.5).abs() < 1e-15);
        let mut m = model.clone();
        assert_eq!(m.num_premise_params(), 9);
        assert_eq!(
            optim::param_names(&mut m),
            ["premise.0", "consequent.weight", "consequent.bias"]
        );
    }

    #[test]
    fn step_size_rule_grows_after_four_decreases_and_shrinks_after_two_oscillations() {
        let rule = StepSize {
            initial: 1.0,
            increase: 1.1,
            decrease: 0.9,
        };
        let mut state = StepSizeState::new(&rule);
        let mut errors = Vec::new();
        let mut changes = Vec::new();
        // ten strictly falling errors: grows at epochs 4 and 8 (not again before four more epochs)
        for t in 0..10 {
            errors.push(10.0 - t as f64);
            changes.push(state.update(&rule, &errors));
        }
        let grown: Vec<usize> = (0..10)
            .filter(|&t| changes[t] == StepChange::Increased)
            .collect();
        assert_eq!(grown, [4, 8]);
        assert!((state.kappa - 1.21).abs() < 1e-12);
        // up, down, up, down: shrinks once
        for e in [1.5, 1.0, 1.4, 0.9] {
            errors.push(e);
            changes.push(state.update(&rule, &errors));
        }
        assert_eq!(changes.last(), Some(&StepChange::Decreased));
        assert!((state.kappa - 1.21 * 0.9).abs() < 1e-12);
        // down, up, down, up is not the shrinking pattern
        let mut s2 = StepSizeState::new(&rule);
        assert_eq!(
            s2.update(&rule, &[1.0, 0.5, 0.9, 0.4, 0.8]),
            StepChange::Kept
        );
        assert_eq!(
            s2.update(&rule, &[1.0, 2.0, 1.0, 2.0, 1.0]),
            StepChange::Decreased
        );
    }

    #[test]
    fn subtractive_clustering_finds_separated_groups() {
        let centres = Mat::from_row_slice(2, 3, &[0.0, 4.0, 0.0, 0.0, 0.0, 4.0]);
        let data = optim::data::generate::blobs::<f64>(150, &centres, 0.2, &mut optim::rng(2));
        let found = subtractive_clustering(&data.x, &Subtractive::default()).unwrap();
        assert_eq!(found.ncols(), 3, "{found}");
        for t in 0..3 {
            let nearest = (0..3)
                .map(|j| (found.column(j) - centres.column(t)).norm())
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 0.5, "true centre {t}: nearest found at {nearest}");
        }
        assert!(
            subtractive_clustering(
                &data.x,
                &Subtractive {
                    radius: 0.0,
                    ..Subtractive::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn errors_for_zero_functions_bad_parameters_and_bad_data() {
        let x = uniform(2, 10, 0.0, 1.0, 5);
        // zero membership functions for an input
        let e = Anfis::grid(MfKind::Bell, &[2, 0], &x).unwrap_err();
        assert!(
            e.to_string().contains("at least one membership function"),
            "{e}"
        );
        let e = Anfis::<f64>::from_parts(
            MfKind::Bell,
            vec![
                Mat::from_row_slice(1, 3, &[1.0, 2.0, 0.0]),
                Mat::zeros(0, 3),
            ],
            &[vec![0, 0]],
            &[(0.0, 1.0), (0.0, 1.0)],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("at least one membership function"),
            "{e}"
        );
        // counts that fit neither one nor every input; a huge grid
        assert!(Anfis::grid(MfKind::Bell, &[2, 2, 2], &x).is_err());
        assert!(Anfis::grid(MfKind::Bell, &[400, 400], &x).is_err());
        // invalid function parameters, rules naming missing functions
        let one = |p: &[f64]| vec![Mat::from_row_slice(1, p.len(), p)];
        assert!(
            Anfis::<f64>::from_parts(
                MfKind::Bell,
                one(&[0.0, 2.0, 0.0]),
                &[vec![0]],
                &[(0.0, 1.0)]
            )
            .is_err()
        );
        assert!(
            Anfis::<f64>::from_parts(
                MfKind::Triangular,
                one(&[1.0, 0.0, 2.0]),
                &[vec![0]],
                &[(0.0, 1.0)]
            )
            .is_err()
        );
        assert!(
            Anfis::<f64>::from_parts(
                MfKind::Bell,
                one(&[1.0, 2.0, 0.0]),
                &[vec![1]],
                &[(0.0, 1.0)]
            )
            .is_err()
        );
        assert!(
            Anfis::<f64>::from_parts(MfKind::Bell, one(&[1.0, 2.0, 0.0]), &[], &[(0.0, 1.0)])
                .is_err()
        );
        // a constant input cannot be partitioned
        let mut constant = x.clone();
        constant.row_mut(1).fill(0.5);
        assert!(Anfis::grid(MfKind::Bell, &[2], &constant).is_err());
        // shapes and non-finite data
        let model = Anfis::grid(MfKind::Bell, &[2], &x).unwrap();
        assert!(matches!(
            model.predict(&Mat::zeros(3, 4)),
            Err(Error::Shape { .. })
        ));
        assert!(model.predict(&Mat::zeros(2, 0)).is_err());
        let mut nan = x.clone();
        nan[(0, 3)] = f64::NAN;
        assert!(model.predict(&nan).is_err());
        let mut m = model.clone();
        assert!(m.fit_consequents(&x, &Mat::zeros(1, 9), 0.0).is_err());
        assert!(m.fit_consequents(&x, &Mat::zeros(1, 10), -1.0).is_err());
        assert!(
            m.backward(&Mat::zeros(1, 10)).is_err(),
            "backward before forward"
        );
        let config = HybridConfig {
            epochs: 0,
            ..HybridConfig::default()
        };
        assert!(train_hybrid(&mut m, &x, &target(&x), None, &config, &mut |_| {}).is_err());
    }

    #[test]
    fn singular_least_squares_is_an_error_and_a_ridge_fixes_it() {
        // 16 rules x 5 = 80 consequents from 30 examples: more unknowns than equations
        let x = uniform(4, 30, 0.0, 1.0, 6);
        let y = target(&x);
        let mut model = Anfis::grid(MfKind::Bell, &[2], &x).unwrap();
        let before = model.clone();
        match model.fit_consequents(&x, &y, 0.0) {
            Err(Error::Numerical { context, reason }) => {
                assert!(context.contains("least-squares"), "{context}");
                assert!(reason.contains("singular"), "{reason}");
            }
            other => panic!("expected a singular-system error, got {other:?}"),
        }
        assert_eq!(
            model.consequent_weight.value,
            before.consequent_weight.value
        );
        // two identical inputs make the columns of w̄·x1 and w̄·x2 equal: singular as well
        let mut twin = uniform(2, 50, 0.0, 1.0, 7);
        let row = twin.row(0).into_owned();
        twin.row_mut(1).copy_from(&row);
        let mut m2 = Anfis::grid(MfKind::Gaussian, &[1], &twin).unwrap();
        assert!(matches!(
            m2.fit_consequents(&twin, &target(&twin), 0.0),
            Err(Error::Numerical { .. })
        ));
        let report = model.fit_consequents(&x, &y, 1e-6).unwrap();
        assert!(report.condition.is_finite());
    }

    #[test]
    fn out_of_range_inputs_are_a_warning_and_no_firing_is_an_error() {
        let x = uniform(2, 20, 0.0, 1.0, 8);
        let mut model = Anfis::grid(MfKind::Bell, &[2], &x).unwrap();
        model.fit_consequents(&x, &target(&x), 0.0).unwrap();
        let inside = model.predict(&x).unwrap();
        assert!(inside.in_range());
        let probe = Mat::from_column_slice(2, 2, &[0.5, 0.5, 1.7, -0.2]);
        let p = model.predict(&probe).unwrap();
        assert!(!p.in_range());
        assert!(p.output.iter().all(|v| v.is_finite()));
        assert_eq!(p.out_of_range.len(), 2);
        assert_eq!((p.out_of_range[0].input, p.out_of_range[0].example), (0, 1));
        assert!((p.out_of_range[0].value - 1.7).abs() < 1e-15);
        assert_eq!(p.out_of_range[1].input, 1);
        // triangles have bounded support: far outside it no rule fires
        let tri = Anfis::grid(MfKind::Triangular, &[2], &x).unwrap();
        let far = Mat::from_column_slice(2, 1, &[5.0, 0.5]);
        match tri.predict(&far) {
            Err(Error::Numerical { context, reason }) => {
                assert!(context.contains("example 0"), "{context}");
                assert!(reason.contains("no rule fires"), "{reason}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("anfis_ckpt_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let x = uniform(3, 40, 0.0, 1.0, 9);
        for kind in KINDS {
            let mut model = Anfis::<f32>::grid(kind, &[2, 3, 1], &x.map(|v| v as f32)).unwrap();
            model
                .fit_consequents(&x.map(|v| v as f32), &target(&x).map(|v| v as f32), 0.0)
                .unwrap();
            let path = dir.join(format!("{}.safetensors", kind.name()));
            model.save(&path).unwrap();
            let loaded = Anfis::<f32>::load(&path).unwrap();
            assert_eq!(loaded.kind(), kind);
            assert_eq!(loaded.mfs_per_input(), vec![2, 3, 1]);
            assert_eq!(loaded.input_range(), model.input_range());
            let a = model.predict(&x.map(|v| v as f32)).unwrap().output;
            let b = loaded.predict(&x.map(|v| v as f32)).unwrap().output;
            assert_eq!(a, b);
            // and into f64, exactly
            let wide = Anfis::<f64>::load(&path).unwrap();
            assert_eq!(
                wide.consequent_weight.value,
                model.consequent_weight.value.map(f64::from)
            );
            assert_eq!(wide.premise[1].value, model.premise[1].value.map(f64::from));
        }
        // a checkpoint of another model is refused
        let mut other = optim::Linear::<f32>::new(2, 1, &mut optim::rng(0));
        let path = dir.join("linear.safetensors");
        optim::checkpoint::save(&path, &mut other, &[]).unwrap();
        assert!(Anfis::<f32>::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rule_text_and_membership_curves() {
        let x = uniform(2, 20, 0.0, 1.0, 10);
        let mut model = Anfis::grid(MfKind::Gaussian, &[2], &x).unwrap();
        model.consequent_weight.value[(0, 1)] = -0.25;
        model.consequent_bias.value[(0, 0)] = 0.5;
        let text = model.rules_text(&["speed", "load"]);
        assert_eq!(text.lines().count(), 4);
        assert_eq!(
            text.lines().next().unwrap(),
            "rule 1: IF speed is A1_1 AND load is A2_1 THEN y = 0.000000·speed − 0.250000·load + 0.500000"
        );
        let mf = model.mf_text(&[]);
        assert!(mf.starts_with("A1_1 (x1): gaussmf sigma = "), "{mf}");
        let shown = model.to_string();
        assert!(shown.contains("4 rules") && shown.contains("rule 4:"));
        let curves = model.membership_curves(11);
        assert_eq!(curves.len(), 4);
        let (lo, hi) = model.input_range()[1];
        let c = &curves[2];
        assert_eq!((c.input, c.mf, c.label.as_str()), (1, 0, "A2_1"));
        assert_eq!(c.xs.len(), 11);
        assert!((c.xs[0] - lo).abs() < 1e-15 && (c.xs[10] - hi).abs() < 1e-12);
        // the first function of each input peaks at the low end of the range
        assert!((c.ys[0] - 1.0).abs() < 1e-12 && c.ys[10] < 0.1);
    }

    proptest! {
        #![proptest_config(proptest_config(24))]

        /// Jang & Sun (1993): with Gaussian functions of one common width per input and constant
        /// consequents (`p_r = 0`), the product t-norm makes each rule a multivariate Gaussian bump
        /// and layer 3 normalizes them, so ANFIS *is* a normalized RBF network
        /// `y = Σ_r q_r φ_r(x) / Σ_r φ_r(x)`, `φ_r(x) = exp(−Σ_i (x_i − c_ri)² / (2σ_i²))`.
        #[test]
        fn zero_order_gaussian_anfis_is_a_normalized_rbf_network(
            d in 1usize..4,
            m in 1usize..4,
            seed in 0u64..10_000,
        ) {
            let x = uniform(d, 20, -1.0, 1.0, seed);
            let mut model = Anfis::grid(MfKind::Gaussian, &[m], &x).unwrap();
            let mut rng = optim::rng(seed + 3);
            model.consequent_bias.value.iter_mut().for_each(|q| *q = rng.random_range(-2.0..2.0));
            let probe = uniform(d, 10, -1.0, 1.0, seed + 5);
            let ours = model.predict(&probe).unwrap().output;
            for j in 0..probe.ncols() {
                let (mut num, mut den) = (0.0, 0.0);
                for r in 0..model.num_rules() {
                    let rule = model.rule(r).unwrap();
                    let mut s = 0.0;
                    for i in 0..d {
                        let p = model.mf_params(i, rule[i]);
                        let (sigma, c) = (p[0], p[1]);
                        s += (probe[(i, j)] - c).powi(2) / (2.0 * sigma * sigma);
                    }
                    let phi = (-s).exp();
                    num += model.consequent_bias.value[(r, 0)] * phi;
                    den += phi;
                }
                prop_assert!((ours[(0, j)] - num / den).abs() < 1e-12);
            }
        }
    }
}
