//! Bad input gives clear errors; checkpoints round-trip and refuse huge configurations.

use generative::rbm::{AisConfig, CdConfig, Dbn, DbnConfig, Rbm, RbmConfig, RbmError};
use optim::Mat;
use optim::checkpoint::{self, load_model, save_model};

fn small() -> Rbm<f64> {
    Rbm::new(RbmConfig::new(4, 3), &mut optim::rng(0)).unwrap()
}

#[test]
fn pixels_outside_the_unit_interval_are_refused_by_a_bernoulli_rbm() {
    let mut rbm = small();
    let mut v = Mat::from_element(4, 5, 0.5);
    v[(2, 3)] = 1.5;
    let err = rbm
        .train_cd(&v, None, &CdConfig::default(), &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(
            err,
            RbmError::OutOfUnitInterval {
                row: 2,
                column: 3,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("1.5") && msg.contains("[0, 1]"), "{msg}");
    assert!(rbm.hidden_probs(&v).is_err());
    v[(2, 3)] = f64::NAN;
    assert!(matches!(
        rbm.reconstruction_error(&v),
        Err(RbmError::NonFinite { .. })
    ));
    // the same values are fine for Gaussian units
    let g = Rbm::<f64>::new(RbmConfig::gaussian(4, 3), &mut optim::rng(0)).unwrap();
    v[(2, 3)] = 1.5;
    assert!(g.hidden_probs(&v).is_ok());
}

#[test]
fn k_zero_is_refused() {
    let mut rbm = small();
    let v = Mat::from_element(4, 5, 0.5);
    let err = rbm
        .train_cd(&v, None, &CdConfig::cd(0, 1), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("k = 0"), "{err}");
    assert!(rbm.cd_gradient(&v, 0, false, &mut optim::rng(0)).is_err());
}

#[test]
fn other_bad_settings_are_refused() {
    let mut rbm = small();
    let v = Mat::from_element(4, 5, 0.5);
    for config in [
        CdConfig {
            batch_size: 0,
            ..CdConfig::default()
        },
        CdConfig {
            learning_rate: -1.0,
            ..CdConfig::default()
        },
        CdConfig {
            momentum: 1.0,
            ..CdConfig::default()
        },
        CdConfig {
            weight_decay: f64::NAN,
            ..CdConfig::default()
        },
    ] {
        let err = rbm.train_cd(&v, None, &config, &mut |_| {}).unwrap_err();
        assert!(matches!(err, RbmError::Setting { .. }), "{err}");
    }
    let wide = Mat::from_element(5, 5, 0.5);
    assert!(matches!(
        rbm.train_cd(&wide, None, &CdConfig::default(), &mut |_| {}),
        Err(RbmError::Width {
            expected: 4,
            got: 5,
            ..
        })
    ));
}

#[test]
fn zero_units_are_refused() {
    let err = Rbm::<f64>::new(RbmConfig::new(4, 0), &mut optim::rng(0)).unwrap_err();
    assert!(
        err.to_string().contains("hidden layer has 0 units"),
        "{err}"
    );
    assert!(Rbm::<f64>::new(RbmConfig::new(0, 4), &mut optim::rng(0)).is_err());
    let err = Dbn::<f64>::new(
        &DbnConfig {
            visible: 4,
            hidden: vec![3, 0],
        },
        &mut optim::rng(0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("DBN hidden layer 2"), "{err}");
    assert!(
        Dbn::<f64>::new(
            &DbnConfig {
                visible: 4,
                hidden: vec![]
            },
            &mut optim::rng(0)
        )
        .is_err()
    );
}

#[test]
fn ais_needs_two_temperatures_and_binary_units() {
    let rbm = small();
    for t in [0, 1] {
        let err = rbm
            .ais_log_partition(
                &AisConfig {
                    temperatures: t,
                    ..AisConfig::default()
                },
                None,
            )
            .unwrap_err();
        assert!(err.to_string().contains("at least 2"), "{err}");
    }
    assert!(
        rbm.ais_log_partition(
            &AisConfig {
                chains: 0,
                ..AisConfig::default()
            },
            None
        )
        .is_err()
    );
    assert!(
        rbm.ais_log_partition(&AisConfig::default(), Some(&[0.0; 3]))
            .is_err()
    );
    let g = Rbm::<f64>::new(RbmConfig::gaussian(4, 3), &mut optim::rng(0)).unwrap();
    assert!(matches!(
        g.ais_log_partition(&AisConfig::default(), None),
        Err(RbmError::Unsupported(_))
    ));
}

#[test]
fn exact_enumeration_refuses_large_layers() {
    let rbm = Rbm::<f32>::new(RbmConfig::new(30, 25), &mut optim::rng(0)).unwrap();
    assert!(matches!(
        rbm.log_partition(),
        Err(RbmError::TooLarge { units: 25, max: 20 })
    ));
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "generative-rbm-{name}-{}.safetensors",
        std::process::id()
    ))
}

#[test]
fn rbm_and_dbn_round_trip_through_checkpoints() {
    let path = temp("roundtrip");
    let mut rbm = Rbm::<f32>::new(RbmConfig::gaussian(6, 4), &mut optim::rng(1)).unwrap();
    rbm.visible_bias.value[2] = 0.25;
    save_model(&path, &mut rbm, &[]).unwrap();
    let loaded: Rbm<f32> = load_model(&path).unwrap();
    assert_eq!(loaded.config(), rbm.config());
    assert_eq!(loaded.weight.value, rbm.weight.value);
    assert_eq!(loaded.visible_bias.value, rbm.visible_bias.value);
    let mut dbn = Dbn::<f32>::new(
        &DbnConfig {
            visible: 6,
            hidden: vec![5, 3],
        },
        &mut optim::rng(2),
    )
    .unwrap();
    save_model(&path, &mut dbn, &[]).unwrap();
    let back: Dbn<f32> = load_model(&path).unwrap();
    assert_eq!(back.config(), dbn.config());
    assert_eq!(back.layers[1].weight.value, dbn.layers[1].weight.value);
    // a DBN file is not an RBM
    assert!(load_model::<f32, Rbm<f32>>(&path).is_err());
    std::fs::remove_file(&path).ok();
}

#[test]
fn huge_or_overflowing_configurations_are_refused_before_allocating() {
    let path = temp("huge");
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(4, 3), &mut optim::rng(1)).unwrap();
    for config in [
        r#"{"visible":1000000,"hidden":1000000,"units":"bernoulli"}"#.to_string(),
        format!(
            r#"{{"visible":{},"hidden":2,"units":"bernoulli"}}"#,
            usize::MAX
        ),
    ] {
        let meta = [("kind", "rbm".to_string()), ("config", config)];
        checkpoint::save(&path, &mut rbm, &meta).unwrap();
        let err = load_model::<f32, Rbm<f32>>(&path).expect_err("must be refused");
        let msg = err.to_string();
        assert!(
            msg.contains("parameters") || msg.contains("overflows"),
            "{msg}"
        );
    }
    assert_eq!(RbmConfig::new(usize::MAX, 2).parameter_count(), None);
    assert!(RbmConfig::new(usize::MAX, 2).validate().is_err());
    std::fs::remove_file(&path).ok();
}
