//! Real data (`DL_DATA_DIR`): iris for the SOM and the RBF classifier, yearly sunspots for
//! ANFIS. Each test returns early when the file is absent.

mod rbf_and_som {
    //! Real-data tests: run only when `DL_DATA_DIR` points at the shared data folder.
    //!
    //! Iris, z-scored, PCA initialization, asymptotic decay of `η` and `σ`, random order — MiniSom's
    //! setup. MiniSom 2.3.6's figures (10 seeds): 7 x 7, σ = 3, η = 0.5, 5 000 iterations: QE 0.440,
    //! TE 0.009 ± 0.005 (the figures; a rerun here gave 0.439 ± 0.007, TE 0.011 ± 0.007);
    //! 10 x 10, σ = 1, 10 000 iterations: QE 0.127 (rerun: 0.129 ± 0.005).

    use classic::kmeans::KMeans;
    use classic::rbf::{Centres, RbfConfig, fit_classifier};
    use classic::som::{Decay, Order, SomConfig, SomInit, Topology, Training, train};
    use optim::Mat;
    use optim::data::Standardizer;

    fn iris() -> Option<(Mat<f64>, Vec<usize>)> {
        let Some(dir) = std::env::var_os("DL_DATA_DIR") else {
            println!("skipped: DL_DATA_DIR is not set");
            return None;
        };
        let data = optim::data::load_iris::<f64>(std::path::Path::new(&dir).join("iris.csv"))
            .expect("iris.csv in DL_DATA_DIR");
        let z = Standardizer::fit(&data.x)
            .unwrap()
            .transform(&data.x)
            .unwrap();
        Some((z, data.class_labels("iris").unwrap().to_vec()))
    }

    fn config(size: usize, sigma: f64, iterations: usize) -> SomConfig {
        let config = SomConfig::minisom(size, sigma, iterations);
        // spelled out, so that the test says what the figure is
        assert_eq!(
            (
                config.topology,
                config.learning_rate,
                config.sigma_decay,
                config.learning_rate_decay
            ),
            (
                Topology::Rectangular,
                0.5,
                Decay::Asymptotic,
                Decay::Asymptotic
            )
        );
        assert_eq!(
            (config.init, config.training),
            (SomInit::Pca, Training::Online(Order::Random))
        );
        config
    }

    /// Mean QE and TE over seeds `0..seeds`.
    fn run(x: &Mat<f64>, config: &SomConfig, seeds: u64) -> (f64, f64, f64) {
        let (mut qe, mut te, mut te_max) = (0.0, 0.0, 0.0f64);
        for seed in 0..seeds {
            let (som, _) = train(config, x, &mut optim::rng(seed), &mut |_, _| {}).unwrap();
            let (q, t) = (
                som.quantization_error(x).unwrap(),
                som.topographic_error(x).unwrap(),
            );
            println!("  seed {seed}: QE {q:.4} TE {t:.4}");
            qe += q;
            te += t;
            te_max = te_max.max(t);
        }
        (qe / seeds as f64, te / seeds as f64, te_max)
    }

    #[test]
    fn iris_7x7_matches_minisom() {
        let Some((x, labels)) = iris() else { return };
        let (qe, te, te_max) = run(&x, &config(7, 3.0, 5000), 10);
        println!(
            "iris 7x7, σ 3, 5000 iterations: QE {qe:.4} (MiniSom 0.440), TE {te:.4} (max {te_max:.4})"
        );
        assert!((qe - 0.440).abs() <= 0.05 * 0.440, "QE {qe}");
        assert!(te <= 0.04, "TE {te}");
        // the map separates setosa from the rest: no unit wins both setosa and another species
        let (som, _) = train(
            &config(7, 3.0, 5000),
            &x,
            &mut optim::rng(0),
            &mut |_, _| {},
        )
        .unwrap();
        let counts = som.label_counts(&x, &labels, 3).unwrap();
        assert!(counts.iter().all(|c| c[0] == 0 || c[1] + c[2] == 0));
    }

    #[test]
    fn iris_10x10_matches_minisom() {
        let Some((x, _)) = iris() else { return };
        let (qe, te, _) = run(&x, &config(10, 1.0, 10_000), 10);
        println!("iris 10x10, σ 1, 10000 iterations: QE {qe:.4} (MiniSom 0.127), TE {te:.4}");
        assert!((qe - 0.127).abs() <= 0.05 * 0.127, "QE {qe}");
    }

    #[test]
    fn iris_batch_map() {
        let Some((x, _)) = iris() else { return };
        let config = SomConfig {
            training: Training::Batch,
            iterations: 50,
            ..config(7, 3.0, 50)
        };
        let (som, _) = train(&config, &x, &mut optim::rng(0), &mut |_, _| {}).unwrap();
        let (qe, te) = (
            som.quantization_error(&x).unwrap(),
            som.topographic_error(&x).unwrap(),
        );
        println!("iris 7x7 batch map, 50 passes: QE {qe:.4}, TE {te:.4}");
        // the batch map of the same radius schedule lands near the online map
        assert!(qe < 0.5 && te <= 0.1, "QE {qe} TE {te}");
    }

    /// Training in `f32` (the workspace's training precision) gives the same figure.
    #[test]
    fn iris_7x7_in_f32() {
        let Some((x, _)) = iris() else { return };
        let x32 = optim::scalar::cast::<f64, f32>(&x);
        let mut qe = 0.0;
        for seed in 0..10 {
            let (som, _) = train(
                &config(7, 3.0, 5000),
                &x32,
                &mut optim::rng(seed),
                &mut |_, _| {},
            )
            .unwrap();
            qe += som.quantization_error(&x32).unwrap() / 10.0;
        }
        println!("iris 7x7 in f32: QE {qe:.4}");
        assert!((qe - 0.440).abs() <= 0.05 * 0.440, "QE {qe}");
    }

    /// An RBF classifier on iris: 12 k-means centres, least squares onto one-hot targets, trained on a
    /// seeded 70 % split and tested on the rest (features z-scored over all 150 flowers, as for the
    /// maps; only the classifier is split).
    #[test]
    fn iris_rbf_classifier() {
        let Some((x, labels)) = iris() else { return };
        let (train_idx, test_idx) =
            optim::data::split_indices(150, 0.3, &mut optim::rng(0)).unwrap();
        let pick = |idx: &[usize]| {
            (
                optim::data::select_columns(&x, idx),
                idx.iter().map(|&i| labels[i]).collect::<Vec<_>>(),
            )
        };
        let ((xtr, ytr), (xte, yte)) = (pick(&train_idx), pick(&test_idx));
        let config = RbfConfig {
            centres: Centres::KMeans(KMeans {
                k: 12,
                ..KMeans::default()
            }),
            ..RbfConfig::default()
        };
        let (net, _) = fit_classifier(&config, &xtr, &ytr, 3, &mut optim::rng(0)).unwrap();
        let acc = optim::loss::accuracy(&net.predict(&xte).unwrap(), &yte);
        println!(
            "iris RBF classifier, 12 centres: test accuracy {acc:.3} on {} flowers",
            yte.len()
        );
        assert!(acc >= 0.9, "accuracy {acc}");
    }
}

mod anfis {
    //! ANFIS on real data: yearly sunspots (runs only when `DL_DATA_DIR` is set).
    //!
    //! Split as in the `rnn` chapter: training targets up to 1920, test 1921–1955, ARV = MSE /
    //! variance of the 1700–1979 values. AR(12) by least squares scores ≈ 0.13 there (Weigend et al.
    //! 1990 and the literature since); ANFIS on lags 1, 2, 9 with 2 bells each (8 rules) must do at
    //! least as well.

    use classic::anfis::experiments::{SunspotsConfig, sunspots};

    #[test]
    fn sunspots_anfis_next_to_ar12() {
        let Ok(dir) = std::env::var("DL_DATA_DIR") else {
            eprintln!("skipped: DL_DATA_DIR is not set");
            return;
        };
        let path = std::path::Path::new(&dir).join("sunspots_yearly.csv");
        let (years, values) = optim::data::load_sunspots_yearly::<f64>(&path).unwrap();
        let config = SunspotsConfig::default();
        let report = sunspots(&config, &years, &values, &mut |_| {}).unwrap();
        eprintln!(
            "sunspots 1921-1955 ARV: ANFIS {:.4} (least squares alone {:.4}), AR(12) {:.4}",
            report.anfis_test_arv, report.anfis_ls_only_test_arv, report.ar_test_arv
        );
        // the AR(12) baseline reproduces the literature's ≈ 0.13 (measured 0.1296)
        assert!(
            (0.12..0.14).contains(&report.ar_test_arv),
            "AR(12) test ARV {}",
            report.ar_test_arv
        );
        // ANFIS (measured 0.118) at least as good as AR(12), and well below predicting the mean (1)
        assert!(
            report.anfis_test_arv <= report.ar_test_arv,
            "ANFIS test ARV {} vs AR(12) {}",
            report.anfis_test_arv,
            report.ar_test_arv
        );
        assert!(report.anfis_train_arv < report.ar_train_arv);
        assert_eq!(report.model.num_rules(), 8);
        assert_eq!(report.test_predictions.len(), 35);
        assert_eq!(report.test_predictions[0].0, 1921);
    }
}
