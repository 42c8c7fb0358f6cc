//! Errors for every bad input a user can give, and save/load by parameter name.

use mlp::{Config, Loss, Mlp};
use optim::data::Dataset;
use optim::train::{EarlyStopping, Monitor, Progress, TrainConfig, Trainable};
use optim::{Activation, Adam, Error, Mat, Sgd};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn moons() -> Dataset<f32> {
    optim::data::generate::two_moons::<f32>(64, 0.1, &mut optim::rng(0))
}

#[test]
fn invalid_configurations_are_rejected_by_name() {
    let msg = |c: Config| c.init::<f32>(&mut optim::rng(0)).unwrap_err().to_string();
    assert!(msg(Config::classifier(0, &[3], 2)).contains("inputs"));
    assert!(msg(Config::classifier(2, &[3], 0)).contains("outputs"));
    assert!(msg(Config::classifier(2, &[3, 0], 2)).contains("hidden[1]"));
    assert!(msg(Config::classifier(2, &[3], 2).dropout(1.0)).contains("dropout"));
    assert!(msg(Config::classifier(2, &[3], 2).dropout(f64::NAN)).contains("dropout"));
    assert!(
        msg(Config::classifier(2, &[3], 2).loss(Loss::CrossEntropy {
            label_smoothing: 1.5
        }))
        .contains("label_smoothing")
    );
    let mut c = Config::classifier(2, &[3], 2).batch_norm(true);
    c.batch_norm_momentum = 0.0;
    assert!(msg(c).contains("batch_norm_momentum"));
    assert!(
        msg(Config::classifier(2, &[3], 2).activation(Activation::LeakyRelu(f64::INFINITY)))
            .contains("leaky_relu")
    );
}

#[test]
fn config_round_trips_through_json() {
    let configs = [
        Config::classifier(64, &[256, 128], 10)
            .batch_norm(true)
            .dropout(0.2)
            .loss(Loss::CrossEntropy {
                label_smoothing: 0.05,
            }),
        Config::regressor(1, &[], 3)
            .activation(Activation::Elu(0.5))
            .init_with(optim::Init::XavierUniform { gain: 5.0 / 3.0 }),
        Config::regressor(2, &[4], 1).activation(Activation::LeakyRelu(0.01)),
    ];
    for c in configs {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c, "{json}");
    }
    let read = |s: &str| serde_json::from_str::<Config>(s);
    let good = serde_json::to_value(Config::classifier(2, &[3], 2)).unwrap();
    assert!(read(&good.to_string()).is_ok());
    // a missing field, a wrong type, an unknown activation: refused, naming what is wrong
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("activation");
    assert!(
        read(&missing.to_string())
            .unwrap_err()
            .to_string()
            .contains("activation")
    );
    let mut wrong = good.clone();
    wrong["inputs"] = "x".into();
    assert!(read(&wrong.to_string()).is_err());
    let mut unknown = good;
    unknown["activation"] = "swish".into();
    assert!(
        read(&unknown.to_string())
            .unwrap_err()
            .to_string()
            .contains("swish")
    );
}

#[test]
fn bad_data_is_rejected_with_what_and_where() {
    let mut model = Config::classifier(2, &[4], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    let tc = TrainConfig::default();
    let mut fit =
        |m: &mut Mlp<f32>, d: &Dataset<f32>, v: Option<&Dataset<f32>>, tc: &TrainConfig| {
            m.fit(d, v, &mut sgd, tc, &mut |_| {})
                .unwrap_err()
                .to_string()
        };
    let good = moons();
    // wrong width
    let wide = Dataset::classification(Mat::zeros(3, 4), vec![0; 4]).unwrap();
    assert!(fit(&mut model, &wide, None, &tc).contains("training data inputs"));
    // label out of range
    let bad_label = Dataset::classification(Mat::zeros(2, 3), vec![0, 2, 1]).unwrap();
    let e = fit(&mut model, &bad_label, None, &tc);
    assert!(e.contains("label 2 of example 1"), "{e}");
    // non-finite input
    let mut x = Mat::zeros(2, 3);
    x[(1, 2)] = f32::NAN;
    let nan = Dataset::classification(x, vec![0, 1, 0]).unwrap();
    let e = fit(&mut model, &nan, None, &tc);
    assert!(e.contains("non-finite") && e.contains("column 2"), "{e}");
    // empty
    let empty = Dataset::classification(Mat::zeros(2, 0), vec![]).unwrap();
    assert!(fit(&mut model, &empty, None, &tc).contains("no examples"));
    // task mismatch
    let reg = Dataset::regression(Mat::zeros(2, 3), Mat::zeros(2, 3)).unwrap();
    assert!(fit(&mut model, &reg, None, &tc).contains("classifier"));
    // settings
    let zero_epochs = TrainConfig {
        epochs: 0,
        ..TrainConfig::default()
    };
    assert!(fit(&mut model, &good, None, &zero_epochs).contains("epochs"));
    let zero_batch = TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    };
    assert!(fit(&mut model, &good, None, &zero_batch).contains("batch_size"));
    let es = TrainConfig {
        early_stopping: Some(EarlyStopping::default()),
        ..TrainConfig::default()
    };
    assert!(fit(&mut model, &good, None, &es).contains("validation"));
    // label count
    assert!(Dataset::classification(Mat::<f32>::zeros(2, 3), vec![0; 2]).is_err());
    assert!(Dataset::regression(Mat::<f32>::zeros(2, 3), Mat::zeros(1, 2)).is_err());
    // accuracy monitoring of a regressor
    let mut reg_model = Config::regressor(2, &[3], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let acc = TrainConfig {
        early_stopping: Some(EarlyStopping {
            monitor: Monitor::ValidationAccuracy,
            ..EarlyStopping::default()
        }),
        ..TrainConfig::default()
    };
    let e = reg_model
        .fit(
            &reg,
            Some(&reg),
            &mut Sgd::new(0.1).unwrap(),
            &acc,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains("monitor"), "{e}");
    // inference input shape
    assert!(model.predict(&Mat::zeros(3, 2)).is_err());
    assert!(model.predict(&Mat::zeros(2, 0)).is_err());
    // backward before forward, and with the wrong shape
    let mut fresh = Config::classifier(2, &[4], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    assert!(fresh.backward(&Mat::zeros(2, 3)).is_err());
    fresh
        .forward_train(&Mat::zeros(2, 3), &mut optim::rng(0))
        .unwrap();
    assert!(fresh.backward(&Mat::zeros(2, 4)).is_err());
    assert!(fresh.backward(&Mat::zeros(2, 3)).is_ok());
}

#[test]
fn batch_norm_refuses_a_batch_of_one_in_training() {
    let mut model = Config::classifier(2, &[4], 2)
        .batch_norm(true)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let e = model
        .forward_train(&Mat::zeros(2, 1), &mut optim::rng(0))
        .unwrap_err();
    assert!(e.to_string().contains("at least 2 values"), "{e}");
    // inference on one example is fine (running statistics)
    assert!(model.predict(&Mat::zeros(2, 1)).is_ok());
    // and the training loop skips a trailing batch of one: 65 examples, batches of 8
    let mut d = moons();
    d = d.select(&(0..64).chain([0]).collect::<Vec<_>>());
    let h = model
        .fit(
            &d,
            None,
            &mut Sgd::new(0.1).unwrap(),
            &TrainConfig {
                epochs: 2,
                batch_size: 8,
                ..TrainConfig::default()
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(h.steps, 16);
}

#[test]
fn non_finite_loss_stops_training_naming_epoch_and_step() {
    let data = Dataset::regression(
        Mat::from_fn(1, 32, |_, j| j as f32),
        Mat::from_fn(1, 32, |_, j| 1e3 * j as f32),
    )
    .unwrap();
    let mut model = Config::regressor(1, &[8], 1)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    // a learning rate far too large makes plain SGD diverge to infinity within a few steps
    let mut sgd = Sgd::new(10.0).unwrap();
    let mut last_step = 0;
    let err = model
        .fit(
            &data,
            None,
            &mut sgd,
            &TrainConfig {
                epochs: 100,
                batch_size: 8,
                ..TrainConfig::default()
            },
            &mut |p| {
                if let Progress::Step { step, .. } = p {
                    last_step = step
                }
            },
        )
        .unwrap_err();
    let Error::NonFinite { context } = &err else {
        panic!("expected NonFinite, got {err}")
    };
    let epoch = last_step / 4 + 1;
    assert!(
        context.contains(&format!("epoch {epoch}, step {}", last_step + 1)),
        "{context} (last good step {last_step})"
    );
}

#[test]
fn save_and_load_round_trip_with_running_statistics() {
    let data = moons();
    let config = Config::classifier(2, &[8, 6], 2)
        .batch_norm(true)
        .dropout(0.1);
    let mut model = config.init::<f32>(&mut optim::rng(0)).unwrap();
    let train = TrainConfig {
        epochs: 3,
        batch_size: 16,
        ..TrainConfig::default()
    };
    model
        .fit(
            &data,
            None,
            &mut Adam::new(0.01).unwrap(),
            &train,
            &mut |_| {},
        )
        .unwrap();
    let path = tmp("moons.safetensors");
    model.save(&path).unwrap();
    let loaded = Mlp::<f32>::load(&path).unwrap();
    assert_eq!(loaded.config(), &config);
    assert_eq!(
        loaded.predict(&data.x).unwrap(),
        model.predict(&data.x).unwrap()
    );
    // the running statistics are in the file under PyTorch's names
    let ck = optim::checkpoint::Checkpoint::<f32>::read(&path).unwrap();
    let mut names: Vec<&str> = ck.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.running_mean",
            "layers.1.running_var",
            "layers.1.weight",
            "layers.4.weight",
            "layers.5.bias",
            "layers.5.running_mean",
            "layers.5.running_var",
            "layers.5.weight",
            "layers.8.bias",
            "layers.8.weight",
        ]
    );
    let mut bn_model = model.clone();
    let rm = bn_model.batch_norm_mut(0).unwrap().running_mean.clone();
    assert_ne!(rm, Mat::zeros(8, 1), "running mean was updated");
    assert_eq!(ck.get("layers.1.running_mean").unwrap(), &rm);
    // loading into a fresh network of the same architecture
    let mut fresh = config.init::<f32>(&mut optim::rng(99)).unwrap();
    fresh.load_weights(&path).unwrap();
    assert_eq!(
        fresh.predict(&data.x).unwrap(),
        model.predict(&data.x).unwrap()
    );
    // f64 network from the f32 file
    let wide = Mlp::<f64>::load(&path).unwrap();
    let x64 = data.x.map(|v| v as f64);
    let diff = (wide.predict(&x64).unwrap() - model.predict(&data.x).unwrap().map(|v| v as f64))
        .abs()
        .max();
    assert!(diff < 1e-4);
}

#[test]
fn loading_into_the_wrong_architecture_names_the_parameter() {
    let mut model = Config::classifier(2, &[8], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let path = tmp("small.safetensors");
    model.save(&path).unwrap();
    let mut wider = Config::classifier(2, &[9], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let before = wider.predict(&Mat::zeros(2, 1)).unwrap();
    let e = wider.load_weights(&path).unwrap_err().to_string();
    assert!(e.contains("layers.0.weight") && e.contains("[9, 2]"), "{e}");
    assert_eq!(
        wider.predict(&Mat::zeros(2, 1)).unwrap(),
        before,
        "unchanged"
    );
    let mut deeper = Config::classifier(2, &[8, 4], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let e = deeper.load_weights(&path).unwrap_err().to_string();
    assert!(e.contains("layers.2.weight"), "{e}");
    let mut with_bn = Config::classifier(2, &[8], 2)
        .batch_norm(true)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let e = with_bn.load_weights(&path).unwrap_err().to_string();
    assert!(e.contains("layers.1"), "{e}");
    // a file that is not a checkpoint
    let junk = tmp("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    assert!(Mlp::<f32>::load(&junk).is_err());
    // a bare state_dict (no kind, no configuration): load refuses it, load_weights reads it
    let bare = tmp("bare.safetensors");
    optim::checkpoint::save(&bare, &mut model, &[]).unwrap();
    let e = Mlp::<f32>::load(&bare).unwrap_err().to_string();
    assert!(e.contains("load_weights"), "{e}");
    let mut again = Config::classifier(2, &[8], 2)
        .init::<f32>(&mut optim::rng(5))
        .unwrap();
    again.load_weights(&bare).unwrap();
    assert_eq!(
        again.predict(&Mat::zeros(2, 1)).unwrap(),
        model.predict(&Mat::zeros(2, 1)).unwrap()
    );
    // another kind of model
    let mut plain = optim::Linear::<f32>::new(2, 2, &mut optim::rng(0));
    let other = tmp("other.safetensors");
    let meta = [
        (optim::checkpoint::KIND_KEY, "linear".to_string()),
        (optim::checkpoint::CONFIG_KEY, "{}".to_string()),
    ];
    optim::checkpoint::save(&other, &mut plain, &meta).unwrap();
    let e = Mlp::<f32>::load(&other).unwrap_err().to_string();
    assert!(e.contains("\"linear\"") && e.contains("\"mlp\""), "{e}");
}

/// A checkpoint whose configuration asks for more parameters than the file holds (a huge
/// width, or one whose count overflows) is refused before anything is allocated.
#[test]
fn a_configuration_asking_for_huge_sizes_is_refused_before_building() {
    let mut small = Config::classifier(2, &[3], 2)
        .init::<f32>(&mut optim::rng(0))
        .unwrap();
    let write = |config: &Config, small: &mut Mlp<f32>, name: &str| {
        let path = tmp(name);
        let meta = [
            (optim::checkpoint::KIND_KEY, "mlp".to_string()),
            (
                optim::checkpoint::CONFIG_KEY,
                serde_json::to_string(config).unwrap(),
            ),
        ];
        optim::checkpoint::save(&path, small, &meta).unwrap();
        path
    };
    // 2·2⁴⁰ + 2⁴⁰ + 2⁴⁰·2 + 2 parameters: terabytes, if it were built
    let huge = Config::classifier(2, &[1 << 40], 2);
    let e = Mlp::<f32>::load(write(&huge, &mut small, "huge.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("asks for") && e.contains("holds only 17"), "{e}");
    // widths whose product overflows usize
    let overflow = Config::classifier(usize::MAX / 2, &[4, usize::MAX / 3], 2);
    let e = Mlp::<f32>::load(write(&overflow, &mut small, "overflow.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("overflows"), "{e}");
    // the count the loader checks is the network's own
    let configs = [
        Config::classifier(5, &[7, 3], 4),
        Config::classifier(5, &[7, 3], 4)
            .batch_norm(true)
            .dropout(0.1),
        Config::regressor(2, &[], 3),
    ];
    for c in configs {
        let model = c.init::<f32>(&mut optim::rng(0)).unwrap();
        assert_eq!(
            <Mlp<f32> as optim::checkpoint::Saveable<f32>>::parameter_count(&c),
            Some(model.param_count()),
            "{c}"
        );
    }
}
