//! Every bad input a user can give is an `Err` naming it; models save and load by parameter name.

use classic::anfis::{Anfis, HybridConfig, MfKind, train_hybrid};
use classic::kmeans::KMeans;
use classic::rbf::{Basis, Centres, LeastSquares, Rbf, RbfConfig, Widths, fit};
use classic::som::{
    Decay, Grid, Neighbourhood, Order, Som, SomConfig, SomInit, Topology, Training, train,
};
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Error, Mat};

fn points(d: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(d, n, |i, j| {
        ((i * 13 + j * 7) % 11) as f64 / 11.0 + j as f64 * 0.01
    })
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("classic-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn rbf_errors() {
    let c = points(2, 3);
    // widths ≤ 0, non-finite, wrong count
    assert!(matches!(
        Rbf::new(Basis::Gaussian, c.clone(), &[1.0, 0.0, 1.0], 1, true),
        Err(Error::Hyperparameter { .. })
    ));
    assert!(Rbf::new(Basis::Gaussian, c.clone(), &[1.0, -2.0, 1.0], 1, true).is_err());
    assert!(
        Rbf::new(
            Basis::Gaussian,
            c.clone(),
            &[1.0, f64::INFINITY, 1.0],
            1,
            true
        )
        .is_err()
    );
    assert!(Rbf::new(Basis::Gaussian, c.clone(), &[1.0, 1.0], 1, true).is_err());
    // no centres, no outputs, non-finite centres
    assert!(Rbf::new(Basis::Gaussian, Mat::<f64>::zeros(2, 0), &[], 1, true).is_err());
    assert!(Rbf::new(Basis::Gaussian, c.clone(), &[1.0; 3], 0, true).is_err());
    let mut bad_c = c.clone();
    bad_c[(0, 1)] = f64::NAN;
    assert!(Rbf::new(Basis::Gaussian, bad_c, &[1.0; 3], 1, true).is_err());

    let mut model = Rbf::new(Basis::Gaussian, c.clone(), &[1.0; 3], 1, true).unwrap();
    assert!(model.set_widths(&[1.0, 0.0, 1.0]).is_err());
    // empty data, wrong input size, non-finite input
    assert!(model.predict(&Mat::zeros(2, 0)).is_err());
    assert!(model.predict(&Mat::zeros(3, 4)).is_err());
    let mut x = points(2, 5);
    x[(1, 3)] = f64::NAN;
    match model.forward(&x) {
        Err(Error::NonFinite { context }) => assert!(context.contains("column 3"), "{context}"),
        other => panic!("{other:?}"),
    }
    let x = points(2, 5);
    let t = Mat::from_element(1, 5, 1.0);
    assert!(
        model
            .fit_output_weights(&x, &Mat::zeros(2, 5), &LeastSquares::default())
            .is_err()
    );
    assert!(
        model
            .fit_output_weights(
                &x,
                &t,
                &LeastSquares {
                    ridge: -1.0,
                    ..LeastSquares::default()
                }
            )
            .is_err()
    );
    // fit: empty data, more centres than points, bad width rule
    let config = RbfConfig::default();
    assert!(
        fit(
            &config,
            &Mat::<f64>::zeros(2, 0),
            &Mat::zeros(1, 0),
            &mut optim::rng(0)
        )
        .is_err()
    );
    let too_many = RbfConfig {
        centres: Centres::KMeans(KMeans {
            k: 6,
            ..KMeans::default()
        }),
        ..RbfConfig::default()
    };
    assert!(fit(&too_many, &x, &t, &mut optim::rng(0)).is_err());
    let zero_width = RbfConfig {
        centres: Centres::AllPoints,
        widths: Widths::Fixed(0.0),
        bias: false,
        ..RbfConfig::default()
    };
    assert!(matches!(
        fit(&zero_width, &x, &t, &mut optim::rng(0)),
        Err(Error::Hyperparameter { .. })
    ));
    // gradient training: bad settings, label count, and a loss that turns non-finite
    let mut opt = optim::Sgd::new(0.1).unwrap();
    let regression = Dataset::regression(x.clone(), t.clone()).unwrap();
    assert!(
        model
            .fit(
                &regression,
                None,
                &mut opt,
                &TrainConfig::new(0, 2),
                &mut |_| {}
            )
            .is_err()
    );
    // two labels for five examples, and labels beyond the model's one output
    assert!(Dataset::classification(x.clone(), vec![0, 1]).is_err());
    let classes = Dataset::classification(x.clone(), vec![0, 1, 0, 1, 0]).unwrap();
    assert!(
        model
            .fit(
                &classes,
                None,
                &mut opt,
                &TrainConfig::default(),
                &mut |_| {}
            )
            .is_err()
    );
    let mut explode = Rbf::new(Basis::Multiquadric, c, &[1e-3; 3], 1, true).unwrap();
    let mut big = optim::Sgd::new(1e30).unwrap();
    let huge = Dataset::regression(x.clone(), Mat::from_element(1, 5, 1e30)).unwrap();
    match explode.fit(&huge, None, &mut big, &TrainConfig::new(50, 5), &mut |_| {}) {
        Err(Error::NonFinite { context }) => assert!(context.contains("step"), "{context}"),
        other => panic!("expected a non-finite loss error, got {other:?}"),
    }
}

#[test]
fn som_errors() {
    let data = points(3, 20);
    let r = &mut optim::rng(0);
    // grids of size 0
    assert!(matches!(
        Grid::new(0, 5, Topology::Rectangular),
        Err(Error::Hyperparameter { .. })
    ));
    assert!(Grid::new(5, 0, Topology::Hexagonal).is_err());
    let bad = |c: SomConfig| train(&c, &data, &mut optim::rng(0), &mut |_, _| {}).is_err();
    assert!(bad(SomConfig {
        nx: 0,
        ..SomConfig::default()
    }));
    // radius and learning rate must be finite and ≥ 0, iterations ≥ 1
    assert!(bad(SomConfig {
        sigma: -1.0,
        ..SomConfig::default()
    }));
    assert!(bad(SomConfig {
        sigma: f64::NAN,
        ..SomConfig::default()
    }));
    assert!(bad(SomConfig {
        learning_rate: -0.1,
        ..SomConfig::default()
    }));
    assert!(bad(SomConfig {
        iterations: 0,
        ..SomConfig::default()
    }));
    assert!(bad(SomConfig {
        sigma_decay: Decay::Exponential { end: 0.0 },
        ..SomConfig::default()
    }));
    // empty data, wrong dimension, non-finite data
    let config = SomConfig::default();
    assert!(train(&config, &Mat::<f64>::zeros(3, 0), r, &mut |_, _| {}).is_err());
    let (mut som, _) = train(&config, &data, r, &mut |_, _| {}).unwrap();
    assert!(som.quantization_error(&Mat::zeros(3, 0)).is_err());
    assert!(som.topographic_error(&Mat::zeros(2, 4)).is_err());
    let other_grid = SomConfig {
        nx: 3,
        ..SomConfig::default()
    };
    assert!(matches!(
        som.train(&data, &other_grid, r, &mut |_, _| {}),
        Err(Error::Shape { .. })
    ));
    let mut nan = data.clone();
    nan[(2, 7)] = f64::INFINITY;
    assert!(matches!(
        som.train(&nan, &config, r, &mut |_, _| {}),
        Err(Error::NonFinite { .. })
    ));
    assert!(som.init_pca(&nan).is_err());
    assert!(som.bmus(&nan).is_err());
    // PCA needs two features and two examples; a single-unit map has no topographic error
    let one_feature = SomConfig {
        init: SomInit::Pca,
        ..SomConfig::default()
    };
    assert!(train(&one_feature, &points(1, 10), r, &mut |_, _| {}).is_err());
    assert!(train(&one_feature, &points(3, 1), r, &mut |_, _| {}).is_err());
    let (single, _) = train(
        &SomConfig {
            nx: 1,
            ny: 1,
            ..SomConfig::default()
        },
        &data,
        r,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(single.topographic_error(&data).is_err());
    assert!(som.label_counts(&data, &[0; 19], 2).is_err());
    assert!(som.label_counts(&data, &[2; 20], 2).is_err());
    assert!(
        Som::<f64>::new(
            Grid::new(2, 2, Topology::Rectangular).unwrap(),
            0,
            Neighbourhood::Gaussian,
            r
        )
        .is_err()
    );
}

#[test]
fn rbf_saves_and_loads_by_name() {
    let x = points(2, 12);
    let t = Mat::from_fn(1, 12, |_, j| x[(0, j)] * 2.0);
    let config = RbfConfig {
        basis: Basis::InverseMultiquadric,
        centres: Centres::KMeans(KMeans {
            k: 4,
            ..KMeans::default()
        }),
        ..RbfConfig::default()
    };
    let (mut model, _) = fit(&config, &x, &t, &mut optim::rng(0)).unwrap();
    let path = tmp("rbf.safetensors");
    model.save(&path).unwrap();
    let loaded = Rbf::<f64>::load(&path).unwrap();
    assert_eq!(loaded.basis, Basis::InverseMultiquadric);
    assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
    // an f64 checkpoint loads into an f32 model
    let as32 = Rbf::<f32>::load(&path).unwrap();
    assert_eq!(as32.num_centres(), 4);
    // a SOM checkpoint is not an RBF network
    let (mut som, _) = train(
        &SomConfig::default(),
        &x,
        &mut optim::rng(0),
        &mut |_, _| {},
    )
    .unwrap();
    let som_path = tmp("som-not-rbf.safetensors");
    som.save(&som_path).unwrap();
    assert!(matches!(
        Rbf::<f64>::load(&som_path),
        Err(Error::Checkpoint { .. })
    ));
    assert!(Rbf::<f64>::load(tmp("missing.safetensors")).is_err());
}

#[test]
fn som_saves_and_loads_by_name() {
    let data = points(3, 30);
    let config = SomConfig {
        nx: 4,
        ny: 5,
        topology: Topology::Hexagonal,
        neighbourhood: Neighbourhood::MexicanHat,
        sigma: 1.0,
        learning_rate: 0.2,
        init: SomInit::Sample,
        iterations: 100,
        training: Training::Online(Order::Sequential),
        ..SomConfig::default()
    };
    let (mut som, _) = train(&config, &data, &mut optim::rng(3), &mut |_, _| {}).unwrap();
    let path = tmp("som.safetensors");
    som.save(&path).unwrap();
    let loaded = Som::<f64>::load(&path).unwrap();
    assert_eq!(loaded.grid, som.grid);
    assert_eq!(loaded.neighbourhood, Neighbourhood::MexicanHat);
    assert_eq!(loaded.weights.value, som.weights.value);
    assert_eq!(loaded.u_matrix(false), som.u_matrix(false));
    assert_eq!(
        loaded.topographic_error(&data).unwrap(),
        som.topographic_error(&data).unwrap()
    );
}

/// Issue 14: a checkpoint whose configuration asks for a huge map (or one whose unit count
/// overflows, which wrapped silently in release builds) is refused before anything is built.
#[test]
fn huge_configurations_in_checkpoints_are_refused_before_allocation() {
    use optim::checkpoint::{CONFIG_KEY, KIND_KEY, save};
    let data = points(3, 20);
    let config = SomConfig {
        nx: 2,
        ny: 2,
        iterations: 10,
        ..SomConfig::default()
    };
    let (mut som, _) = train(&config, &data, &mut optim::rng(0), &mut |_, _| {}).unwrap();
    let lying = [
        // 2^32 x 2^32 units: nx·ny overflows
        r#"{"nx":4294967296,"ny":4294967296,"topology":"rectangular","neighbourhood":"gaussian","inputs":3}"#,
        // 10^6 x 10^6 units of 3 inputs: 3·10^12 weights (24 TB) for a file of 12 values
        r#"{"nx":1000000,"ny":1000000,"topology":"rectangular","neighbourhood":"gaussian","inputs":3}"#,
        // inputs · units overflows
        r#"{"nx":4294967296,"ny":2,"topology":"hexagonal","neighbourhood":"bubble","inputs":4294967296}"#,
    ];
    for (i, json) in lying.iter().enumerate() {
        let path = tmp(&format!("huge-som-{i}.safetensors"));
        save(
            &path,
            &mut som,
            &[
                (KIND_KEY, "som".to_string()),
                (CONFIG_KEY, json.to_string()),
            ],
        )
        .unwrap();
        match Som::<f64>::load(&path) {
            Err(Error::Checkpoint { reason, .. }) => assert!(
                reason.contains("parameters") || reason.contains("overflows"),
                "{reason}"
            ),
            other => panic!("{json}: expected a checkpoint error, got {other:?}"),
        }
        std::fs::remove_file(&path).ok();
    }
    // the overflowing grid is refused by the constructor too
    assert!(matches!(
        Grid::new(1 << 32, 1 << 32, Topology::Rectangular),
        Err(Error::Hyperparameter { .. })
    ));

    // the same for an RBF network and ANFIS
    let mut rbf = Rbf::new(Basis::Gaussian, points(2, 3), &[1.0; 3], 1, true).unwrap();
    let path = tmp("huge-rbf.safetensors");
    save(
        &path,
        &mut rbf,
        &[
            (KIND_KEY, "rbf".to_string()),
            (
                CONFIG_KEY,
                r#"{"basis":"gaussian","inputs":18446744073709551615,"centres":2,"outputs":1,"bias":true,"train_centres":true,"train_widths":true}"#.to_string(),
            ),
        ],
    )
    .unwrap();
    assert!(matches!(
        Rbf::<f64>::load(&path),
        Err(Error::Checkpoint { .. })
    ));
    let x = points(2, 30);
    let mut anfis = Anfis::<f64>::grid(MfKind::Bell, &[2], &x).unwrap();
    save(
        &path,
        &mut anfis,
        &[
            (KIND_KEY, "anfis".to_string()),
            (
                CONFIG_KEY,
                r#"{"kind":"gbellmf","mfs_per_input":[100000000000,2],"rules":[[0,0]]}"#
                    .to_string(),
            ),
        ],
    )
    .unwrap();
    assert!(matches!(
        Anfis::<f64>::load(&path),
        Err(Error::Checkpoint { .. })
    ));
    std::fs::remove_file(&path).ok();
}

/// Issue 14: `--epochs 18446744073709551615` panicked in the SOM (an index list as long as the
/// iteration count) and in ANFIS (`Vec::with_capacity(epochs)`). Now the loops start without
/// allocating for the count and stop at the first error.
#[test]
fn huge_iteration_counts_do_not_allocate_up_front() {
    // SOM: a learning rate that overflows the weights stops training at the first check
    let data = points(2, 10);
    for training in [
        Training::Online(Order::Random),
        Training::Online(Order::Sequential),
        Training::Batch,
    ] {
        let config = SomConfig {
            nx: 3,
            ny: 3,
            learning_rate: 1e300,
            sigma_decay: Decay::Constant,
            learning_rate_decay: Decay::Constant,
            iterations: usize::MAX,
            training,
            ..SomConfig::default()
        };
        let mut steps = 0usize;
        match train(&config, &data, &mut optim::rng(0), &mut |_, _| steps += 1) {
            Err(Error::NonFinite { context }) => {
                assert!(context.contains("iteration"), "{context}")
            }
            other => panic!("{training:?}: expected non-finite weights, got {other:?}"),
        }
        assert!(steps < 2048, "{training:?}: {steps} callbacks");
    }
    // ANFIS: a singular least-squares system ends the first epoch of a run of usize::MAX epochs
    let x = Mat::<f64>::from_fn(1, 4, |_, j| j as f64);
    let mut model = Anfis::grid(MfKind::Bell, &[5], &x).unwrap();
    let config = HybridConfig {
        epochs: usize::MAX,
        ..HybridConfig::default()
    };
    let y = x.clone();
    assert!(matches!(
        train_hybrid(&mut model, &x, &y, None, &config, &mut |_| {}),
        Err(Error::Numerical { .. })
    ));
}
