//! Every bad input a user can give returns an error naming it (never a panic, never a silent
//! NaN), the model is unchanged by a failed `fit`, and models save and load by parameter name.

use optim::checkpoint::{CONFIG_KEY, KIND_KEY};
use optim::{Error, Mat, Parameters, param_names};
use perceptron::{
    Coding, Config, Kernel, KernelPerceptron, KernelPerceptronConfig, MulticlassConfig,
    MulticlassPerceptron, OneVsRest, Perceptron, PerceptronConfig, Variant, novikoff,
};

fn and_gate() -> (Mat<f64>, Vec<i32>) {
    (
        Mat::from_column_slice(2, 4, &[0., 0., 0., 1., 1., 0., 1., 1.]),
        vec![0, 0, 0, 1],
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("perceptron-{}-{name}", std::process::id()))
}

fn bad_configs() -> Vec<Config> {
    [0.0, -1.0, f64::NAN, f64::INFINITY]
        .into_iter()
        .map(|eta| Config {
            learning_rate: eta,
            ..Config::default()
        })
        .chain([Config {
            max_epochs: 0,
            ..Config::default()
        }])
        .collect()
}

#[test]
fn invalid_hyperparameters_are_rejected_at_construction_and_at_fit() {
    let (x, d) = and_gate();
    for config in bad_configs() {
        assert!(matches!(
            Perceptron::<f64>::new(2, config),
            Err(Error::Hyperparameter { .. })
        ));
        assert!(matches!(
            MulticlassPerceptron::<f64>::new(2, 3, config),
            Err(Error::Hyperparameter { .. })
        ));
        assert!(matches!(
            OneVsRest::<f64>::new(2, 3, config),
            Err(Error::Hyperparameter { .. })
        ));
        assert!(matches!(
            KernelPerceptron::<f64>::new(2, Kernel::Linear, config),
            Err(Error::Hyperparameter { .. })
        ));
        // a valid model whose public config is later broken
        let mut unit = Perceptron::<f64>::new(2, Config::default()).unwrap();
        unit.config = config;
        assert!(matches!(
            unit.fit(&x, &d),
            Err(Error::Hyperparameter { .. })
        ));
        assert!(unit.weights().iter().all(|&w| w == 0.0));
    }
    let mut unit = Perceptron::<f64>::new(2, Config::default()).unwrap();
    unit.config.learning_rate = -0.5;
    let err = unit.train_step(&[1.0, 1.0], 1).unwrap_err();
    assert!(err.to_string().contains("learning_rate"), "{err}");
    assert!(matches!(
        Perceptron::<f64>::new(0, Config::default()),
        Err(Error::Hyperparameter { .. })
    ));
    assert!(matches!(
        MulticlassPerceptron::<f64>::new(2, 1, Config::default()),
        Err(Error::Hyperparameter { .. })
    ));
    assert!(matches!(
        OneVsRest::<f64>::new(2, 0, Config::default()),
        Err(Error::Hyperparameter { .. })
    ));
    for kernel in [
        Kernel::Polynomial {
            degree: 0,
            coef0: 1.0,
        },
        Kernel::Polynomial {
            degree: 2,
            coef0: -1.0,
        },
        Kernel::Polynomial {
            degree: 2,
            coef0: f64::NAN,
        },
        Kernel::Gaussian { gamma: 0.0 },
        Kernel::Gaussian { gamma: -2.0 },
        Kernel::Gaussian { gamma: f64::NAN },
    ] {
        assert!(
            matches!(
                KernelPerceptron::<f64>::new(2, kernel, Config::default()),
                Err(Error::Hyperparameter { .. })
            ),
            "{kernel:?}"
        );
    }
    for variant in [Variant::Pocket, Variant::Averaged] {
        let config = Config {
            variant,
            ..Config::default()
        };
        let err = KernelPerceptron::<f64>::new(2, Kernel::Linear, config).unwrap_err();
        assert!(err.to_string().contains("variant"), "{err}");
    }
}

#[test]
fn bad_data_is_rejected_by_every_binary_model() {
    let (x, d) = and_gate();
    let mut nan = x.clone();
    nan[(1, 2)] = f64::NAN;
    let mut inf = x.clone();
    inf[(0, 3)] = f64::NEG_INFINITY;
    let empty = Mat::<f64>::zeros(2, 0);
    let wide = Mat::<f64>::zeros(3, 4);
    type Fit = Box<dyn Fn(&Mat<f64>, &[i32]) -> optim::Result<()>>;
    let fits: Vec<(&str, Fit)> = vec![
        (
            "perceptron",
            Box::new(|x, d| {
                let mut unit = Perceptron::new(2, Config::default())?;
                unit.fit(x, d).map(|_| ())
            }),
        ),
        (
            "kernel",
            Box::new(|x, d| {
                let mut model =
                    KernelPerceptron::new(2, Kernel::Gaussian { gamma: 1.0 }, Config::default())?;
                model.fit(x, d).map(|_| ())
            }),
        ),
    ];
    for (name, fit) in &fits {
        assert!(
            matches!(fit(&empty, &[]), Err(Error::Data(_))),
            "{name} empty"
        );
        assert!(
            matches!(fit(&wide, &d), Err(Error::Shape { .. })),
            "{name} dims"
        );
        assert!(
            matches!(fit(&x, &d[..3]), Err(Error::Shape { .. })),
            "{name} count"
        );
        let e = fit(&nan, &d).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }), "{name} nan");
        assert!(e.to_string().contains("row 1, column 2"), "{e}");
        assert!(
            matches!(fit(&inf, &d), Err(Error::NonFinite { .. })),
            "{name} inf"
        );
        for labels in [[0, 0, 2, 1], [0, -1, 0, 1], [5, 1, 1, 1]] {
            let e = fit(&x, &labels).unwrap_err();
            assert!(matches!(e, Error::Data(_)), "{name} {labels:?}");
            assert!(e.to_string().contains("position"), "{e}");
        }
        assert!(fit(&x, &d).is_ok(), "{name}");
        assert!(fit(&x, &[-1, -1, -1, 1]).is_ok(), "{name} ±1");
    }
    // an explicit coding rejects the other one's labels
    let mut unit = Perceptron::<f64>::new(
        2,
        Config {
            coding: Some(Coding::ZeroOne),
            ..Config::default()
        },
    )
    .unwrap();
    let e = unit.fit(&x, &[-1, -1, -1, 1]).unwrap_err();
    assert!(e.to_string().contains("{0, 1}"), "{e}");
}

#[test]
fn prediction_and_single_steps_check_their_input() {
    let (x, d) = and_gate();
    let mut unit = Perceptron::<f64>::new(2, Config::default()).unwrap();
    unit.fit(&x, &d).unwrap();
    let trained = unit.clone();
    assert!(matches!(
        unit.predict(&Mat::zeros(3, 2)),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        unit.decision_function(&Mat::from_element(2, 1, f64::NAN)),
        Err(Error::NonFinite { .. })
    ));
    assert!(unit.predict(&Mat::zeros(2, 0)).unwrap().is_empty());
    assert!(matches!(unit.errors(&x, &d[..2]), Err(Error::Shape { .. })));
    assert!(matches!(
        unit.errors(&x, &[0, 0, 3, 1]),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        unit.train_step(&[1.0], 1),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        unit.train_step(&[1.0, f64::NAN], 1),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        unit.train_step(&[1.0, 1.0], -1),
        Err(Error::Data(_))
    ));
    assert_eq!(unit, trained, "failed steps change nothing");
    assert!(Perceptron::<f64>::from_weights(&[1.0], Coding::ZeroOne, Config::default()).is_err());
    assert!(matches!(
        Perceptron::<f64>::from_weights(&[1.0, f64::NAN], Coding::ZeroOne, Config::default()),
        Err(Error::NonFinite { .. })
    ));

    let mut multi = MulticlassPerceptron::<f64>::new(2, 3, Config::default()).unwrap();
    assert!(matches!(multi.fit(&x, &[0, 1, 3, 2]), Err(Error::Data(_))));
    assert!(matches!(
        multi.fit(&Mat::zeros(2, 0), &[]),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        multi.fit(&Mat::zeros(1, 4), &[0, 1, 2, 0]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(multi.fit(&x, &[0, 1]), Err(Error::Shape { .. })));
    let mut nan = x.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(matches!(
        multi.fit(&nan, &[0, 1, 2, 0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        multi.train_step(&[1.0, 2.0], 3),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        multi.train_step(&[1.0], 0),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        multi.predict(&Mat::zeros(4, 1)),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(multi.accuracy(&x, &[0]), Err(Error::Shape { .. })));
    assert!(
        multi.weights().iter().all(|&w| w == 0.0),
        "unchanged after errors"
    );

    let mut ovr = OneVsRest::<f64>::new(2, 3, Config::default()).unwrap();
    assert!(matches!(ovr.fit(&x, &[0, 1, 9, 2]), Err(Error::Data(_))));
    assert!(matches!(
        ovr.fit(&nan, &[0, 1, 2, 0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        ovr.fit(&Mat::zeros(2, 0), &[]),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        ovr.predict(&Mat::zeros(1, 1)),
        Err(Error::Shape { .. })
    ));

    let model = KernelPerceptron::<f64>::new(2, Kernel::Linear, Config::default()).unwrap();
    assert!(matches!(
        model.predict(&Mat::zeros(5, 1)),
        Err(Error::Shape { .. })
    ));
    assert_eq!(
        model.predict(&x).unwrap(),
        [0, 0, 0, 0],
        "untrained: v = 0 everywhere"
    );
}

#[test]
fn weights_that_overflow_stop_training_with_an_error() {
    let x = Mat::<f32>::from_element(1, 1, 10.0);
    let config = Config {
        learning_rate: 1e38,
        ..Config::default()
    };
    let mut unit = Perceptron::<f32>::new(1, config).unwrap();
    let err = unit.fit(&x, &[1]).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }));
    assert!(err.to_string().contains("epoch 1"), "{err}");
}

#[test]
fn novikoff_helpers_check_their_input() {
    let (x, d) = and_gate();
    assert!(matches!(
        novikoff::margin(&x, &d, &[1.0, 1.0]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        novikoff::margin(&x, &d, &[0.0, 0.0, 0.0]),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        novikoff::margin(&x, &d[..1], &[1.0, 0.0, 0.0]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        novikoff::max_margin(&Mat::<f64>::zeros(2, 0), &[], 10),
        Err(Error::Data(_))
    ));
    assert!(matches!(
        novikoff::max_margin(&x, &[0, 2, 0, 1], 10),
        Err(Error::Data(_))
    ));
    assert_eq!(novikoff::mistake_bound(2.0, 0.0), f64::INFINITY);
    assert_eq!(novikoff::mistake_bound(2.0, 0.5), 16.0);
}

#[test]
fn models_save_and_load_by_parameter_name() {
    let mut rng = optim::rng(5);
    let centers = Mat::from_column_slice(2, 3, &[0.0, 3.0, 3.0, -3.0, -3.0, -3.0]);
    let data = optim::data::generate::blobs::<f32>(60, &centers, 0.6, &mut rng);
    let labels = data.labels().unwrap();
    let binary: Vec<i32> = labels
        .iter()
        .map(|&l| if l == 0 { 1 } else { -1 })
        .collect();

    // binary, ±1 coding and a non-default configuration survive the round trip
    let config = Config {
        learning_rate: 0.25,
        max_epochs: 17,
        order: perceptron::Order::Shuffled { seed: 9 },
        variant: Variant::Averaged,
        ..Config::default()
    };
    let mut unit = Perceptron::<f32>::new(2, config).unwrap();
    unit.fit(&data.x, &binary).unwrap();
    assert_eq!(param_names(&mut unit), ["weight"]);
    let path = temp("unit.safetensors");
    unit.save(&path).unwrap();
    let loaded = Perceptron::<f32>::load(&path).unwrap();
    assert_eq!(loaded, unit);
    assert_eq!(loaded.coding(), Coding::PlusMinusOne);
    // the file holds the augmented vector under its name, shape [d+1]
    let ck = optim::checkpoint::Checkpoint::<f32>::read(&path).unwrap();
    assert_eq!(ck.names(), ["weight"]);
    assert_eq!(ck.get("weight").unwrap().as_slice(), unit.weights());
    // ... and loads through the generic checkpoint path into a unit of the same shape
    let mut fresh = Perceptron::<f32>::new(2, Config::default()).unwrap();
    optim::checkpoint::load(&path, &mut fresh).unwrap();
    assert_eq!(fresh.weights(), unit.weights());
    let mut wrong = Perceptron::<f32>::new(3, Config::default()).unwrap();
    assert!(matches!(
        optim::checkpoint::load(&path, &mut wrong),
        Err(Error::Checkpoint { .. })
    ));
    // ... with its kind and its configuration as one JSON entry
    assert_eq!(ck.metadata[KIND_KEY], "perceptron");
    let stored: PerceptronConfig = ck.config("perceptron").unwrap();
    assert_eq!(
        stored,
        PerceptronConfig {
            features: 2,
            coding: Coding::PlusMinusOne,
            training: config
        }
    );
    // a unit's file is not a multiclass model's
    let err = MulticlassPerceptron::<f32>::load(&path).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }));
    assert!(err.to_string().contains("\"perceptron\""), "{err}");

    let mut multi = MulticlassPerceptron::<f32>::new(2, 3, Config::default()).unwrap();
    multi.fit(&data.x, labels).unwrap();
    let path = temp("multi.safetensors");
    multi.save(&path).unwrap();
    let loaded = MulticlassPerceptron::<f32>::load(&path).unwrap();
    assert_eq!(loaded, multi);
    assert_eq!(
        loaded.predict(&data.x).unwrap(),
        multi.predict(&data.x).unwrap()
    );

    let mut ovr = OneVsRest::<f32>::new(2, 3, Config::default()).unwrap();
    ovr.fit(&data.x, labels).unwrap();
    assert_eq!(param_names(&mut ovr), ["0.weight", "1.weight", "2.weight"]);
    let path = temp("ovr.safetensors");
    ovr.save(&path).unwrap();
    assert_eq!(OneVsRest::<f32>::load(&path).unwrap(), ovr);

    let kernel = Kernel::Polynomial {
        degree: 3,
        coef0: 0.5,
    };
    let mut dual = KernelPerceptron::<f32>::new(2, kernel, Config::default()).unwrap();
    dual.fit(&data.x, &binary).unwrap();
    assert!(!dual.dual_coef().is_empty());
    assert_eq!(param_names(&mut dual), ["support_vectors", "dual_coef"]);
    let path = temp("kernel.safetensors");
    dual.save(&path).unwrap();
    let loaded = KernelPerceptron::<f32>::load(&path).unwrap();
    assert_eq!(loaded, dual);
    assert_eq!(loaded.kernel(), kernel);
    assert_eq!(
        loaded.decision_function(&data.x).unwrap(),
        dual.decision_function(&data.x).unwrap()
    );

    // missing and malformed files
    assert!(matches!(
        Perceptron::<f32>::load(temp("does-not-exist")),
        Err(Error::Io { .. })
    ));
    let garbage = temp("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint").unwrap();
    assert!(matches!(
        Perceptron::<f32>::load(&garbage),
        Err(Error::Checkpoint { .. })
    ));
    for name in [
        "unit.safetensors",
        "multi.safetensors",
        "ovr.safetensors",
        "kernel.safetensors",
        "garbage.safetensors",
    ] {
        let _ = std::fs::remove_file(temp(name));
    }
}

#[test]
fn parameters_are_listed_even_without_gradients() {
    let mut unit = Perceptron::<f64>::new(4, Config::default()).unwrap();
    let mut shapes = Vec::new();
    unit.visit_params(&mut |name, p| shapes.push((name.to_string(), p.shape.clone())));
    assert_eq!(shapes, [("weight".to_string(), vec![5])]);
    let mut multi = MulticlassPerceptron::<f64>::new(4, 3, Config::default()).unwrap();
    let mut shapes = Vec::new();
    multi.visit_params(&mut |name, p| shapes.push((name.to_string(), p.shape.clone())));
    assert_eq!(shapes, [("weight".to_string(), vec![3, 5])]);
}

/// A configuration that asks for more parameters than the file holds (or whose count overflows)
/// is refused before anything is built: a corrupt support-set size, class count or input count
/// cannot make `load` allocate gigabytes.
#[test]
fn checkpoint_configurations_are_checked_against_the_file_before_allocating() {
    let xor = optim::data::generate::xor::<f64>();
    let d: Vec<i32> = xor.labels().unwrap().iter().map(|&l| l as i32).collect();
    let kernel = Kernel::Gaussian { gamma: 1.0 };
    let mut model = KernelPerceptron::<f64>::new(2, kernel, Config::default()).unwrap();
    model.fit(&xor.x, &d).unwrap();
    let m = model.dual_coef().len();
    assert!(m > 0);
    let honest = KernelPerceptronConfig {
        features: 2,
        kernel,
        support_vectors: m,
        coding: Coding::ZeroOne,
        training: Config::default(),
    };
    let path = temp("support.safetensors");
    // the honest configuration loads
    let write = |config: &KernelPerceptronConfig, model: &mut KernelPerceptron<f64>| {
        let json = serde_json::to_string(config).unwrap();
        optim::checkpoint::save(
            &path,
            model,
            &[
                (KIND_KEY, "kernel_perceptron".to_string()),
                (CONFIG_KEY, json),
            ],
        )
        .unwrap();
    };
    write(&honest, &mut model);
    assert_eq!(KernelPerceptron::<f64>::load(&path).unwrap(), model);
    // 2^40 support vectors (24 TB of f64) in a file of a few hundred bytes
    for (support_vectors, features, says) in [
        (1usize << 40, 2, "asks for"),
        (usize::MAX, 2, "overflows"),
        (m, usize::MAX, "overflows"),
        (m + 1, 2, "asks for"),
    ] {
        let lie = KernelPerceptronConfig {
            support_vectors,
            features,
            ..honest
        };
        write(&lie, &mut model);
        let err = KernelPerceptron::<f64>::load(&path).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
        assert!(err.to_string().contains(says), "{support_vectors}: {err}");
    }
    // fewer support vectors than stored: the tensors do not fit the model
    write(
        &KernelPerceptronConfig {
            support_vectors: m - 1,
            ..honest
        },
        &mut model,
    );
    assert!(matches!(
        KernelPerceptron::<f64>::load(&path),
        Err(Error::Checkpoint { .. })
    ));

    // the same check for the linear models' sizes
    let mut multi = MulticlassPerceptron::<f64>::new(2, 3, Config::default()).unwrap();
    for (features, classes) in [(2, 1usize << 40), (usize::MAX, 3), (1usize << 62, 8)] {
        let lie = MulticlassConfig {
            features,
            classes,
            training: Config::default(),
        };
        optim::checkpoint::save(
            &path,
            &mut multi,
            &[
                (KIND_KEY, "multiclass_perceptron".to_string()),
                (CONFIG_KEY, serde_json::to_string(&lie).unwrap()),
            ],
        )
        .unwrap();
        let err = MulticlassPerceptron::<f64>::load(&path).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
        assert!(matches!(
            OneVsRest::<f64>::load(&path),
            Err(Error::Checkpoint { .. })
        ));
    }
    let mut unit = Perceptron::<f64>::new(2, Config::default()).unwrap();
    let lie = PerceptronConfig {
        features: usize::MAX,
        coding: Coding::ZeroOne,
        training: Config::default(),
    };
    optim::checkpoint::save(
        &path,
        &mut unit,
        &[
            (KIND_KEY, "perceptron".to_string()),
            (CONFIG_KEY, serde_json::to_string(&lie).unwrap()),
        ],
    )
    .unwrap();
    let err = Perceptron::<f64>::load(&path).unwrap_err();
    assert!(err.to_string().contains("overflows"), "{err}");
    // an invalid training configuration in the file is refused too
    let bad = PerceptronConfig {
        features: 2,
        training: Config {
            learning_rate: -1.0,
            ..Config::default()
        },
        ..lie
    };
    optim::checkpoint::save(
        &path,
        &mut unit,
        &[
            (KIND_KEY, "perceptron".to_string()),
            (CONFIG_KEY, serde_json::to_string(&bad).unwrap()),
        ],
    )
    .unwrap();
    let err = Perceptron::<f64>::load(&path).unwrap_err();
    assert!(err.to_string().contains("learning_rate"), "{err}");
    let _ = std::fs::remove_file(&path);
}
