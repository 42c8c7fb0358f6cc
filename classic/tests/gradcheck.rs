//! Gradient checks (centred differences against the hand-written backward passes): the RBF
//! layer and ANFIS.

mod rbf {
    //! Gradient checks (f64, centred differences through `optim::gradcheck`) of the RBF network's
    //! hand-written backward pass: every basis, with and without bias, for parameters and inputs,
    //! under an MSE loss and a soft-max cross-entropy loss; proptest picks shapes and values.

    use classic::rbf::{Basis, Rbf};
    use optim::testing::proptest_config;
    use optim::{GradCheck, Mat, check_input, check_parameters, loss};
    use proptest::prelude::*;

    fn model(basis: Basis, d: usize, m: usize, out: usize, bias: bool, seed: u64) -> Rbf<f64> {
        use rand::Rng;
        let mut rng = optim::rng(seed);
        let centres = Mat::from_fn(d, m, |_, _| rng.random_range(-1.0..1.0));
        let widths: Vec<f64> = (0..m).map(|_| rng.random_range(0.5..1.5)).collect();
        let mut model = Rbf::new(basis, centres, &widths, out, bias).unwrap();
        model.weight.value = Mat::from_fn(out, m, |_, _| rng.random_range(-1.0..1.0));
        if let Some(b) = &mut model.bias {
            b.value = Mat::from_fn(out, 1, |_, _| rng.random_range(-1.0..1.0));
        }
        model
    }

    fn inputs(d: usize, n: usize, seed: u64) -> Mat<f64> {
        use rand::Rng;
        let mut rng = optim::rng(seed ^ 0xABCD);
        Mat::from_fn(d, n, |_, _| rng.random_range(-1.5..1.5))
    }

    fn basis_of(i: usize) -> Basis {
        [
            Basis::Gaussian,
            Basis::Multiquadric,
            Basis::InverseMultiquadric,
        ][i]
    }

    proptest! {
        #![proptest_config(proptest_config(24))]

        #[test]
        fn rbf_mse_gradients(
            b in 0usize..3, d in 1usize..4, m in 1usize..6, out in 1usize..3, n in 1usize..6,
            bias in any::<bool>(), seed in 0u64..1000,
        ) {
            let basis = basis_of(b);
            let mut net = model(basis, d, m, out, bias, seed);
            let x = inputs(d, n, seed);
            let t = inputs(out, n, seed + 1);
            let report = check_parameters(
                &mut net,
                GradCheck::default(),
                |net| loss::mse(&net.predict(&x).unwrap(), &t).unwrap().0,
                |net| {
                    let y = net.forward(&x).unwrap();
                    let (l, dy) = loss::mse(&y, &t).unwrap();
                    net.backward(&dy).unwrap();
                    l
                },
            );
            prop_assert!(report.max_error < 1e-6, "{basis:?}: {report}");

            // with respect to the input
            let y = net.forward(&x).unwrap();
            let (_, dy) = loss::mse(&y, &t).unwrap();
            let dx = net.backward(&dy).unwrap();
            let report = check_input("x", &x, &dx, GradCheck::default(), |xp| {
                loss::mse(&net.predict(xp).unwrap(), &t).unwrap().0
            });
            prop_assert!(report.max_error < 1e-6, "{basis:?} input: {report}");
        }

        #[test]
        fn rbf_cross_entropy_gradients(
            b in 0usize..3, d in 1usize..4, m in 1usize..6, classes in 2usize..4, n in 1usize..6,
            seed in 0u64..1000,
        ) {
            let basis = basis_of(b);
            let mut net = model(basis, d, m, classes, true, seed);
            let x = inputs(d, n, seed);
            let labels: Vec<usize> = (0..n).map(|j| (j * 7 + seed as usize) % classes).collect();
            let report = check_parameters(
                &mut net,
                GradCheck::default(),
                |net| loss::softmax_cross_entropy(&net.predict(&x).unwrap(), &labels, 0.0).unwrap().0,
                |net| {
                    let y = net.forward(&x).unwrap();
                    let (l, dy) = loss::softmax_cross_entropy(&y, &labels, 0.0).unwrap();
                    net.backward(&dy).unwrap();
                    l
                },
            );
            prop_assert!(report.max_error < 1e-6, "{basis:?}: {report}");
        }
    }

    #[test]
    fn frozen_centres_and_widths_get_no_gradient() {
        let mut net = model(Basis::Gaussian, 2, 3, 1, true, 5);
        net.train_centres = false;
        net.train_widths = false;
        let x = inputs(2, 4, 5);
        let y = net.forward(&x).unwrap();
        optim::zero_grad(&mut net);
        net.backward(&Mat::from_element(1, 4, 1.0)).unwrap();
        assert_eq!(net.centres.grad.abs().max(), 0.0);
        assert_eq!(net.log_widths.grad.abs().max(), 0.0);
        assert!(net.weight.grad.abs().max() > 0.0);
        assert_eq!(y.shape(), (1, 4));
    }

    #[test]
    fn backward_before_forward_and_wrong_shapes_are_errors() {
        let mut net = model(Basis::Gaussian, 2, 3, 1, true, 5);
        assert!(net.backward(&Mat::zeros(1, 4)).is_err());
        net.forward(&inputs(2, 4, 0)).unwrap();
        assert!(net.backward(&Mat::zeros(1, 3)).is_err());
        assert!(net.backward(&Mat::zeros(2, 4)).is_err());
    }
}

mod anfis {
    //! f64 gradient checks of ANFIS through all five layers (membership → firing → normalization →
    //! consequent → sum), with `optim::gradcheck`: premise parameters, consequents and inputs.

    use classic::anfis::{Anfis, AnfisConfig, MfKind, Partition};
    use optim::gradcheck::{GradCheck, check_input, check_parameters, combine};
    use optim::testing::proptest_config;
    use optim::{Mat, Parameters, loss};
    use proptest::prelude::*;
    use rand::Rng;

    /// A model with random consequents (so every layer's gradient is non-trivial) and perturbed
    /// premises (so the functions are not all alike).
    fn model(kind: MfKind, mfs: &[usize], x: &Mat<f64>, seed: u64) -> Anfis<f64> {
        let mut m = Anfis::grid(kind, mfs, x).unwrap();
        let mut rng = optim::rng(seed);
        m.visit_params(&mut |name, p| {
            for v in p.value.iter_mut() {
                if name.starts_with("consequent") {
                    *v = rng.random_range(-1.0..1.0);
                } else if kind == MfKind::Bell || kind == MfKind::Gaussian {
                    *v *= rng.random_range(0.8..1.2);
                }
            }
        });
        m
    }

    fn data(d: usize, n: usize, seed: u64) -> (Mat<f64>, Mat<f64>) {
        let mut rng = optim::rng(seed);
        let x = Mat::from_fn(d, n, |_, _| rng.random_range(-1.0..1.0));
        let y = Mat::from_fn(1, n, |_, _| rng.random_range(-1.0..1.0));
        (x, y)
    }

    fn check_all(mut m: Anfis<f64>, x: &Mat<f64>, y: &Mat<f64>, tolerance: f64) {
        let loss_of = |m: &mut Anfis<f64>| {
            let out = m.forward(x).unwrap();
            loss::mse(&out, y).unwrap().0
        };
        let report = check_parameters(&mut m, GradCheck::default(), loss_of, |m| {
            let out = m.forward(x).unwrap();
            let (l, dy) = loss::mse(&out, y).unwrap();
            m.backward(&dy).unwrap();
            l
        });
        // the input gradient, from the same backward pass
        let out = m.forward(x).unwrap();
        let (_, dy) = loss::mse(&out, y).unwrap();
        optim::zero_grad(&mut m);
        let dx = m.backward(&dy).unwrap();
        let input = check_input("x", x, &dx, GradCheck::default(), |xp| {
            loss::mse(&m.predict(xp).unwrap().output, y).unwrap().0
        });
        combine(report, input).assert_below(tolerance);
    }

    #[test]
    fn jang_bell_grid_every_parameter_and_the_input() {
        // 4 inputs, 2 bells each, 16 rules: Jang's Mackey-Glass architecture
        let (x, y) = data(4, 12, 1);
        let m = model(MfKind::Bell, &[2], &x, 2);
        assert_eq!(optim::param_count(&mut m.clone()), 104);
        check_all(m, &x, &y, 1e-6);
    }

    #[test]
    fn premise_gradient_alone_is_checked_and_nonzero() {
        // the premise parameters are what the hybrid rule trains by gradient: check them on their own
        let (x, y) = data(3, 10, 3);
        let mut m = model(MfKind::Gaussian, &[2, 3, 2], &x, 4);
        let report = check_parameters(
            &mut m,
            GradCheck::default(),
            |m| loss::mse(&m.forward(&x).unwrap(), &y).unwrap().0,
            |m| {
                let (l, dy) = loss::mse(&m.forward(&x).unwrap(), &y).unwrap();
                m.backward(&dy).unwrap();
                l
            },
        );
        report.assert_below(1e-6);
        let norm: f64 = m
            .premise
            .iter()
            .map(|p| p.grad.iter().map(|g| g * g).sum::<f64>())
            .sum();
        assert!(norm > 1e-8, "premise gradient vanished: {norm}");
    }

    #[test]
    fn piecewise_linear_functions_away_from_their_corners() {
        for kind in [MfKind::Triangular, MfKind::Trapezoidal] {
            let (x, y) = data(2, 15, 5);
            // functions built over a wider range than the data, then corners moved at random (a
            // grid built on the data itself has corners exactly at its extreme points)
            let wide = Mat::from_fn(2, 2, |_, j| if j == 0 { -1.3 } else { 1.3 });
            let mut m = model(kind, &[3], &wide, 6);
            let mut rng = optim::rng(60);
            for p in &mut m.premise {
                p.value
                    .iter_mut()
                    .for_each(|v| *v += rng.random_range(-0.2..0.2));
            }
            m.repair_premise();
            // keep the inputs at least 1e-3 away from every corner, so no difference straddles one
            let corners: Vec<Vec<f64>> = (0..2)
                .map(|i| m.premise[i].value.iter().copied().collect())
                .collect();
            let far = (0..x.ncols())
                .all(|j| (0..2).all(|i| corners[i].iter().all(|c| (x[(i, j)] - c).abs() > 1e-3)));
            assert!(far, "test data too close to a corner; change the seed");
            check_all(m, &x, &y, 1e-6);
        }
    }

    #[test]
    fn clustering_rules_gradients() {
        let (x, y) = data(3, 20, 7);
        let m = Anfis::<f64>::new(
            &AnfisConfig {
                kind: MfKind::Gaussian,
                partition: Partition::KMeans {
                    rules: 4,
                    restarts: 2,
                },
            },
            &x,
            &mut optim::rng(8),
        )
        .unwrap();
        let mut m = m;
        let mut rng = optim::rng(9);
        m.consequent_weight
            .value
            .iter_mut()
            .for_each(|v| *v = rng.random_range(-1.0..1.0));
        check_all(m, &x, &y, 1e-6);
    }

    proptest! {
        #![proptest_config(proptest_config(24))]

        #[test]
        fn random_shapes_bell_and_gaussian(
            d in 1usize..4,
            m1 in 1usize..4,
            n in 1usize..9,
            gaussian in any::<bool>(),
            seed in 0u64..1000,
        ) {
            // data from seed; the grid's ranges come from a wider set so inputs stay inside
            let (x, y) = data(d, n, seed);
            let wide = Mat::from_fn(d, 2, |_, j| if j == 0 { -1.2 } else { 1.2 });
            let kind = if gaussian { MfKind::Gaussian } else { MfKind::Bell };
            let mut m = Anfis::grid(kind, &[m1], &wide).unwrap();
            let mut rng = optim::rng(seed + 1);
            m.visit_params(&mut |name, p| {
                for v in p.value.iter_mut() {
                    if name.starts_with("consequent") {
                        *v = rng.random_range(-1.0..1.0);
                    } else {
                        *v *= rng.random_range(0.8..1.2);
                    }
                }
            });
            check_all(m, &x, &y, 1e-6);
        }
    }
}
