//! Bad input gives clear errors, never a panic: point files that are not 2-D points or hold
//! non-finite values, k = 0, a negative penalty weight, impossible configurations and batches;
//! and checkpoints: a round trip of both networks with the configuration, another kind of
//! model, a configuration that asks for more than the file holds or overflows.

use generative::gan::data::{Mixture, load_points, parse_points};
use generative::gan::{Gan, GanConfig, GanError, GanTraining, NetConfig, Objective, train};
use optim::train::{EarlyStopping, TrainConfig};
use optim::{Activation, Adam, Mat};

fn small() -> GanConfig {
    GanConfig::new(2, 2)
        .with_generator(NetConfig::new(&[8]))
        .with_discriminator(NetConfig::new(&[8]))
}

fn message<T: std::fmt::Debug>(r: Result<T, GanError>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn points_files_must_hold_finite_2d_points() {
    let ok: Mat<f64> = parse_points("x,y\n1,2\n3.5,-4\n", "ok.csv").unwrap();
    assert_eq!(ok.shape(), (2, 2));
    assert_eq!(ok.column(1).as_slice(), &[3.5, -4.0]);
    let no_header: Mat<f64> = parse_points("1,2\n\n3,4\n", "ok.csv").unwrap();
    assert_eq!(no_header.shape(), (2, 2));

    let three = message(parse_points::<f64>("1,2,3\n4,5,6\n", "three.csv"));
    assert!(
        three.contains("three.csv") && three.contains("3 columns") && three.contains("expected 2"),
        "{three}"
    );
    let one = message(parse_points::<f64>("1\n2\n", "one.csv"));
    assert!(one.contains("1 columns"), "{one}");
    let ragged = message(parse_points::<f64>("1,2\n3\n", "ragged.csv"));
    assert!(
        ragged.contains("ragged.csv") && ragged.contains("line 2"),
        "{ragged}"
    );
    let nan = message(parse_points::<f64>("x,y\n1,2\nNaN,4\n", "nan.csv"));
    assert!(
        nan.contains("nan.csv") && nan.contains("line 3") && nan.contains("finite"),
        "{nan}"
    );
    let inf = message(parse_points::<f32>("1,2\n3,1e39\n", "big.csv"));
    assert!(inf.contains("line 2") && inf.contains("finite"), "{inf}");
    let word = message(parse_points::<f64>("1,2\n3,four\n", "word.csv"));
    assert!(word.contains("not a number"), "{word}");
    let empty = message(parse_points::<f64>("", "empty.csv"));
    assert!(empty.contains("empty.csv"), "{empty}");
    let missing = message(load_points::<f64>("/nonexistent/points.csv"));
    assert!(missing.contains("/nonexistent/points.csv"), "{missing}");
}

#[test]
fn invalid_configurations_are_refused_naming_the_field() {
    let cases: Vec<(GanConfig, &str)> = vec![
        (
            small().with_objective(Objective::WassersteinGp {
                penalty_weight: -1.0,
            }),
            "penalty_weight",
        ),
        (
            small().with_objective(Objective::WassersteinGp {
                penalty_weight: f64::NAN,
            }),
            "penalty_weight",
        ),
        (small().with_packing(0), "packing"),
        (
            GanConfig {
                data_dim: 0,
                ..small()
            },
            "data_dim",
        ),
        (
            GanConfig {
                latent_dim: 0,
                ..small()
            },
            "latent_dim",
        ),
        (
            small().with_generator(NetConfig::new(&[8, 0])),
            "generator.hidden",
        ),
        (
            small().with_discriminator(
                NetConfig::new(&[8]).with_output_activation(Activation::Sigmoid),
            ),
            "discriminator.output_activation",
        ),
        (
            small()
                .with_objective(Objective::WassersteinGp {
                    penalty_weight: 10.0,
                })
                .with_minibatch_std(true),
            "minibatch_std",
        ),
        (small().with_generator_average(1.0), "generator_average"),
        (small().with_generator_average(-0.1), "generator_average"),
        (
            small().with_generator_average(f64::NAN),
            "generator_average",
        ),
        (
            small().with_generator(NetConfig::new(&[1 << 20, 1 << 20])),
            "parameters",
        ),
        (
            small().with_generator(NetConfig::new(&[usize::MAX / 2, usize::MAX / 2])),
            "parameters",
        ),
    ];
    for (config, field) in cases {
        let err = Gan::<f32>::new(&config, &mut optim::rng(0)).unwrap_err();
        assert!(matches!(err, GanError::Config { .. }), "{err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
}

#[test]
fn invalid_training_settings_and_data_are_refused() {
    let mut gan = Gan::<f32>::new(&small(), &mut optim::rng(0)).unwrap();
    let data = Mixture::ring().sample::<f32>(64, &mut optim::rng(1));
    let run = |gan: &mut Gan<f32>, data: &Mat<f32>, training: GanTraining| {
        let mut g = Adam::new(1e-3).unwrap();
        let mut d = Adam::new(1e-3).unwrap();
        train(gan, data, &mut g, &mut d, &training, &mut |_| {}).map(|_| ())
    };
    let k0 = message(run(
        &mut gan,
        &data,
        GanTraining::new(TrainConfig::new(1, 16)).discriminator_steps(0),
    ));
    assert!(
        k0.contains("discriminator_steps") && k0.contains("at least 1"),
        "{k0}"
    );
    let es = message(run(
        &mut gan,
        &data,
        GanTraining::new(TrainConfig::new(1, 16).early_stopping(EarlyStopping::patience(2))),
    ));
    assert!(es.contains("early_stopping"), "{es}");
    let epochs = message(run(
        &mut gan,
        &data,
        GanTraining::new(TrainConfig::new(0, 16)),
    ));
    assert!(epochs.contains("epochs"), "{epochs}");
    let too_few = message(run(
        &mut gan,
        &data,
        GanTraining::new(TrainConfig::new(1, 100)),
    ));
    assert!(too_few.contains("fewer than one batch"), "{too_few}");
    let wide = Mat::<f32>::zeros(3, 64);
    let rows = message(run(
        &mut gan,
        &wide,
        GanTraining::new(TrainConfig::new(1, 16)),
    ));
    assert!(rows.contains("3 rows"), "{rows}");
    let mut bad = data.clone();
    bad[(1, 5)] = f32::NAN;
    let nan = message(run(
        &mut gan,
        &bad,
        GanTraining::new(TrainConfig::new(1, 16)),
    ));
    assert!(
        nan.contains("non-finite") && nan.contains("column 5"),
        "{nan}"
    );
    // a batch the packing does not divide
    let mut packed = Gan::<f32>::new(&small().with_packing(3), &mut optim::rng(0)).unwrap();
    let pack = message(run(
        &mut packed,
        &data,
        GanTraining::new(TrainConfig::new(1, 16)),
    ));
    assert!(
        pack.contains("batch_size") && pack.contains("multiple of the packing 3"),
        "{pack}"
    );
    // and the sampling API
    assert!(message(gan.sample(0, &mut optim::rng(0))).contains("0 samples"));
    let scored = message(gan.discriminator.score(&Mat::zeros(5, 4)));
    assert!(scored.contains("5 rows"), "{scored}");
    // a diverging run stops with the network, epoch and step
    let huge = Mat::from_element(2, 64, 3e38f32);
    let diverged = message(run(
        &mut gan,
        &huge,
        GanTraining::new(TrainConfig::new(1, 16)),
    ));
    assert!(
        diverged.contains("non-finite") && diverged.contains("epoch 1"),
        "{diverged}"
    );
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("generative-gan-{}-{name}", std::process::id()))
}

#[test]
fn save_and_load_round_trip_both_networks_with_the_configuration() {
    let config = small()
        .with_objective(Objective::WassersteinGp {
            penalty_weight: 2.5,
        })
        .with_packing(2);
    let mut gan = Gan::<f32>::new(&config, &mut optim::rng(7)).unwrap();
    let path = temp("round.safetensors");
    gan.save(&path, &[("data", "ring".into())]).unwrap();
    let loaded = Gan::<f32>::load(&path).unwrap();
    assert_eq!(loaded.config(), &config);
    let z = Mat::from_fn(2, 6, |i, j| (i + 2 * j) as f32 * 0.3 - 1.0);
    assert_eq!(
        loaded.generator.generate(&z).unwrap(),
        gan.generator.generate(&z).unwrap()
    );
    let x = Mat::from_fn(2, 6, |i, j| (i * j) as f32 * 0.2);
    assert_eq!(
        loaded.discriminator.score(&x).unwrap(),
        gan.discriminator.score(&x).unwrap()
    );
    let names = optim::param_names(&mut gan);
    assert_eq!(names[0], "generator.0.weight");
    assert!(names.contains(&"discriminator.1.bias".to_string()));
    std::fs::remove_file(&path).ok();
}

#[test]
fn the_generators_moving_average_is_saved_and_sampled_from() {
    let config = small().with_generator_average(0.9);
    let mut gan = Gan::<f32>::new(&config, &mut optim::rng(7)).unwrap();
    // the average starts at G; move G away so the two differ
    let average = gan.generator_average.as_mut().unwrap();
    assert_eq!(
        average.net.layers[0].weight.value,
        gan.generator.net.layers[0].weight.value
    );
    gan.generator.net.layers[0].weight.value.fill(1.0);
    // θ̄ ← 0.9 θ̄ + 0.1 θ, entry by entry
    let before = average.net.layers[0].weight.value.clone();
    average.net.average_toward(&gan.generator.net, 0.9).unwrap();
    let expected = before.map(|v| 0.9 * v + 0.1);
    let after = &average.net.layers[0].weight.value;
    assert!((after - &expected).amax() < 1e-6, "{after} vs {expected}");
    // networks of other widths are refused
    let other = Gan::<f32>::new(
        &small().with_generator(NetConfig::new(&[4])),
        &mut optim::rng(0),
    )
    .unwrap();
    assert!(
        average
            .net
            .average_toward(&other.generator.net, 0.9)
            .is_err()
    );
    // samples come from the average, and the average is a buffer, not a trained parameter
    let z = Mat::from_fn(2, 6, |i, j| (i + 2 * j) as f32 * 0.3 - 1.0);
    let from_average = gan
        .generator_average
        .as_ref()
        .unwrap()
        .generate(&z)
        .unwrap();
    assert_eq!(gan.sampler().generate(&z).unwrap(), from_average);
    assert_ne!(gan.generator.generate(&z).unwrap(), from_average);
    assert!(
        !optim::param_names(&mut gan)
            .iter()
            .any(|n| n.starts_with("generator_average"))
    );
    let path = temp("average.safetensors");
    gan.save(&path, &[]).unwrap();
    let loaded = Gan::<f32>::load(&path).unwrap();
    assert_eq!(loaded.config(), &config);
    assert_eq!(loaded.sampler().generate(&z).unwrap(), from_average);
    assert_eq!(
        loaded.generator.generate(&z).unwrap(),
        gan.generator.generate(&z).unwrap()
    );
    // a configuration written before the switch existed reads as "no average"
    let mut json = serde_json::to_value(small()).unwrap();
    json.as_object_mut().unwrap().remove("generator_average");
    let old: GanConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.generator_average, None);
    std::fs::remove_file(&path).ok();
}

#[test]
fn checkpoints_that_do_not_fit_are_refused_before_allocating() {
    let mut gan = Gan::<f32>::new(&small(), &mut optim::rng(0)).unwrap();
    // a configuration that asks for far more than the file holds
    let path = temp("huge.safetensors");
    let mut huge = small();
    huge.generator = NetConfig::new(&[4096, 4096]);
    let json = serde_json::to_string(&huge).unwrap();
    optim::checkpoint::save(&path, &mut gan, &[("kind", "gan".into()), ("config", json)]).unwrap();
    let err = Gan::<f32>::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("asks for") && err.contains("holds only"),
        "{err}"
    );
    // one whose parameter count overflows
    let mut overflow = small();
    overflow.discriminator = NetConfig::new(&[usize::MAX, usize::MAX]);
    let json = serde_json::to_string(&overflow).unwrap();
    optim::checkpoint::save(&path, &mut gan, &[("kind", "gan".into()), ("config", json)]).unwrap();
    let err = Gan::<f32>::load(&path).unwrap_err().to_string();
    assert!(err.contains("overflows"), "{err}");
    // another kind of model
    optim::checkpoint::save(
        &path,
        &mut gan,
        &[("kind", "mlp".into()), ("config", "{}".into())],
    )
    .unwrap();
    let err = Gan::<f32>::load(&path).unwrap_err().to_string();
    assert!(err.contains("\"mlp\""), "{err}");
    // a valid configuration whose count fits, but of other widths: the shapes do not fit
    let mut other = small();
    other.generator = NetConfig::new(&[4]);
    let json = serde_json::to_string(&other).unwrap();
    optim::checkpoint::save(&path, &mut gan, &[("kind", "gan".into()), ("config", json)]).unwrap();
    let err = Gan::<f32>::load(&path).unwrap_err().to_string();
    assert!(err.contains("generator.0.weight"), "{err}");
    std::fs::remove_file(&path).ok();
}
