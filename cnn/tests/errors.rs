//! Every bad input a user can give comes back as an error that says what and where.

use cnn::{
    AvgPool2d, BatchNorm2d, Cnn, CnnConfig, Conv2d, Conv2dConfig, ImageShape, Layer, LayerSpec,
    MaxPool2d, Mode,
};
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Error, Mat, Sgd};

fn message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn input_of_the_wrong_shape_names_expected_and_actual_sizes() {
    let mut rng = optim::rng(0);
    let mut net = Cnn::<f32>::lenet5(&mut rng);
    let x = Mat::<f32>::zeros(64, 2);
    let m = message(net.predict(&x));
    assert!(
        m.contains("1 x 28 x 28") && m.contains("784") && m.contains("64 rows"),
        "{m}"
    );
    let m = message(net.forward(&x, Mode::Train).cloned());
    assert!(m.contains("1 x 28 x 28"), "{m}");
    // A layer whose channels do not fit the current image: expected vs actual C x H x W.
    let m = message(
        Cnn::<f32>::builder(ImageShape::new(3, 8, 8))
            .conv_with(Conv2dConfig::new(1, 4, 3), &mut rng),
    );
    assert!(m.contains("1 x H x W") && m.contains("3 x 8 x 8"), "{m}");
    let conv = Conv2d::<f32>::new(
        Conv2dConfig::new(2, 4, 3),
        ImageShape::new(2, 5, 5),
        &mut rng,
    )
    .unwrap();
    let m = message(conv.predict(&Mat::zeros(49, 1)));
    assert!(
        m.contains("2 x 5 x 5 = 50 rows") && m.contains("49 rows"),
        "{m}"
    );
}

#[test]
fn kernels_larger_than_the_padded_input_are_rejected() {
    let mut rng = optim::rng(0);
    let shape = ImageShape::new(1, 4, 6);
    let m = message(Conv2d::<f32>::new(
        Conv2dConfig::new(1, 1, 5),
        shape,
        &mut rng,
    ));
    assert!(m.contains("at most 4") && m.contains("got 5"), "{m}");
    // padding makes room...
    assert!(Conv2d::<f32>::new(Conv2dConfig::new(1, 1, 5).padding(1), shape, &mut rng).is_ok());
    // ...dilation takes it away again: span 2·(3 − 1) + 1 = 5 > 4
    let m = message(Conv2d::<f32>::new(
        Conv2dConfig::new(1, 1, 3).dilation(2),
        shape,
        &mut rng,
    ));
    assert!(m.contains("dilation 2"), "{m}");
    let m = message(MaxPool2d::<f32>::new(shape, (5, 2), (1, 1), (0, 0)));
    assert!(m.contains("kernel height"), "{m}");
    let m = message(Cnn::<f32>::builder(ImageShape::new(1, 3, 3)).max_pool(4, 4));
    assert!(m.contains("at most 3"), "{m}");
}

#[test]
fn zero_strides_sizes_and_bad_hyperparameters_are_rejected() {
    let mut rng = optim::rng(0);
    let shape = ImageShape::new(1, 8, 8);
    let m = message(Conv2d::<f32>::new(
        Conv2dConfig::new(1, 2, 3).stride(0),
        shape,
        &mut rng,
    ));
    assert!(m.contains("stride") && m.contains("at least 1"), "{m}");
    assert!(
        message(Conv2d::<f32>::new(
            Conv2dConfig::new(1, 0, 3),
            shape,
            &mut rng
        ))
        .contains("out_channels")
    );
    assert!(
        message(Conv2d::<f32>::new(
            Conv2dConfig::new(1, 2, 0),
            shape,
            &mut rng
        ))
        .contains("kernel")
    );
    assert!(
        message(Conv2d::<f32>::new(
            Conv2dConfig::new(1, 2, 3).dilation(0),
            shape,
            &mut rng
        ))
        .contains("dilation")
    );
    assert!(message(MaxPool2d::<f32>::new(shape, (2, 2), (0, 2), (0, 0))).contains("stride"));
    assert!(
        message(AvgPool2d::<f32>::new(shape, (2, 2), (2, 2), (2, 0))).contains("half the kernel")
    );
    assert!(message(Cnn::<f32>::builder(shape).dropout(1.0)).contains("dropout"));
    assert!(
        message(
            BatchNorm2d::<f32>::new(shape)
                .unwrap()
                .with_options(0.1, 0.0)
        )
        .contains("eps")
    );
    assert!(
        message(
            BatchNorm2d::<f32>::new(shape)
                .unwrap()
                .with_options(1.5, 1e-5)
        )
        .contains("momentum")
    );
    let net = Cnn::<f32>::builder(shape).build();
    assert!(message(net.with_label_smoothing(1.0)).contains("label_smoothing"));
    let bad =
        Conv2d::<f32>::from_weights(Conv2dConfig::new(1, 2, 3), shape, Mat::zeros(2, 8), None);
    assert!(message(bad).contains("weight"));
}

#[test]
fn batch_norm_needs_more_than_one_value_per_channel_to_train() {
    let mut bn = BatchNorm2d::<f64>::new(ImageShape::flat(3)).unwrap();
    let m = message(bn.forward(&Mat::zeros(3, 1), Mode::Train).cloned());
    assert!(m.contains("at least 2 values per channel"), "{m}");
    assert!(bn.forward(&Mat::zeros(3, 1), Mode::Eval).is_ok());
}

#[test]
fn training_rejects_bad_data_and_stops_on_a_non_finite_loss() {
    let mut rng = optim::rng(0);
    let mut net = Cnn::<f32>::builder(ImageShape::new(1, 4, 4))
        .conv(2, 3, 1, 1, &mut rng)
        .unwrap()
        .flatten()
        .dense(3, &mut rng)
        .unwrap()
        .build();
    let mut sgd = Sgd::new(0.1).unwrap();
    let config = TrainConfig::new(1, 2);
    let mut fit = |data: &Dataset<f32>, config: &TrainConfig| {
        message(net.fit(data, None, &mut sgd, config, &mut |_| {}))
    };
    let wrong = Dataset::new(Mat::<f32>::zeros(15, 4), vec![0; 4]).unwrap();
    assert!(fit(&wrong, &config).contains("1 x 4 x 4"));
    let labels = Dataset::new(Mat::<f32>::zeros(16, 4), vec![0, 1, 2, 3]).unwrap();
    assert!(fit(&labels, &config).contains("label 3"));
    let values = Dataset::regression(Mat::<f32>::zeros(16, 4), Mat::zeros(1, 4)).unwrap();
    assert!(fit(&values, &config).contains("class labels"));
    let empty = Dataset::new(Mat::<f32>::zeros(16, 0), vec![]).unwrap();
    assert!(fit(&empty, &config).contains("no examples"));
    let zero = TrainConfig {
        batch_size: 0,
        ..config.clone()
    };
    let ok = Dataset::new(Mat::<f32>::zeros(16, 4), vec![0, 1, 2, 0]).unwrap();
    assert!(fit(&ok, &zero).contains("batch_size"));
    let mut nan = ok.clone();
    nan.x[(3, 1)] = f32::NAN;
    let m = fit(&nan, &config);
    assert!(
        m.contains("non-finite") && m.contains("epoch 1, step"),
        "{m}"
    );
}

#[test]
fn loading_a_checkpoint_of_another_architecture_fails_and_leaves_the_model_unchanged() {
    let mut rng = optim::rng(0);
    let dir = std::env::temp_dir().join(format!("cnn-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("digits.safetensors");
    Cnn::<f32>::digits(&mut rng).save(&path, &[]).unwrap();
    let mut lenet = Cnn::<f32>::lenet5(&mut rng);
    let before = optim::param::snapshot(&mut lenet);
    let m = message(lenet.load_weights(&path));
    assert!(
        m.contains("0.weight") || m.contains("missing") || m.contains("shape"),
        "{m}"
    );
    assert_eq!(before, optim::param::snapshot(&mut lenet));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_whose_architecture_asks_for_huge_sizes_is_refused_before_building() {
    let dir = std::env::temp_dir().join(format!("cnn-errors-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.safetensors");
    let mut small = Cnn::<f32>::digits(&mut optim::rng(0));
    let write = |config: &CnnConfig, small: &mut Cnn<f32>| {
        let json = serde_json::to_string(config).unwrap();
        optim::checkpoint::save(
            &path,
            small,
            &[("kind", "cnn".to_string()), ("config", json)],
        )
        .unwrap();
        message(optim::checkpoint::load_model::<f32, Cnn<f32>>(&path))
    };
    // a dense layer of 2^40 outputs: far more parameters than the file holds
    let mut config = small.architecture().clone();
    config.layers.push(LayerSpec::Dense {
        outputs: 1 << 40,
        init: optim::Init::PyTorchDefault,
    });
    let m = write(&config, &mut small);
    assert!(m.contains("asks for") && m.contains("holds only"), "{m}");
    // sizes whose product overflows usize
    let mut config = small.architecture().clone();
    config.input = ImageShape::new(usize::MAX / 2, 3, 1);
    let m = write(&config, &mut small);
    assert!(m.contains("overflows"), "{m}");
    let mut config = small.architecture().clone();
    config.layers[0] = LayerSpec::Conv(Conv2dConfig::new(1, usize::MAX, 3).padding(1));
    let m = write(&config, &mut small);
    assert!(m.contains("overflows"), "{m}");
    // another kind of model
    let json = serde_json::to_string(small.architecture()).unwrap();
    optim::checkpoint::save(
        &path,
        &mut small,
        &[("kind", "mlp".into()), ("config", json)],
    )
    .unwrap();
    let m = message(optim::checkpoint::load_model::<f32, Cnn<f32>>(&path));
    assert!(m.contains("\"mlp\""), "{m}");
    // the untouched architecture loads
    small.save(&path, &[]).unwrap();
    let loaded: Cnn<f32> = optim::checkpoint::load_model(&path).unwrap();
    assert_eq!(loaded.architecture(), small.architecture());
    std::fs::remove_dir_all(&dir).unwrap();
}
