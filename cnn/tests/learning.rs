//! Kind 4: learning on generated data, deterministically, in seconds; checkpoints by name.

mod common;

use cnn::{Cnn, ImageShape, Mode, data::bars};
use common::bars_8x8;
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Adam, Optimizer, Sgd};

fn bar_net(rng: &mut rand::rngs::StdRng) -> Cnn<f32> {
    Cnn::<f32>::builder(ImageShape::new(1, 8, 8))
        .conv(4, 3, 1, 1, rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .conv(8, 3, 1, 1, rng)
        .unwrap()
        .relu()
        .global_avg_pool()
        .unwrap()
        .dropout(0.1)
        .unwrap()
        .dense(2, rng)
        .unwrap()
        .build()
}

#[test]
fn a_small_cnn_learns_bar_orientation_anywhere_in_the_image() {
    let mut rng = optim::rng(1);
    let (train, test) = bars_8x8(400, 400, &mut rng);
    let mut net = bar_net(&mut rng);
    let before = net.evaluate(&test).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let config = TrainConfig::new(12, 32).seed(3);
    let mut calls = 0;
    let history = net
        .fit(&train, Some(&test), &mut adam, &config, &mut |p| {
            if let Progress::Step {
                epoch,
                epochs,
                batch,
                batches,
                loss,
                ..
            } = p
            {
                calls += 1;
                assert!(loss.is_finite() && batch <= batches && epoch <= epochs);
            }
        })
        .unwrap();
    assert_eq!(calls, 12 * 400usize.div_ceil(32));
    assert_eq!(history.epochs.len(), 12);
    let after = net.evaluate(&test).unwrap();
    let (acc_before, acc_after) = (before.accuracy.unwrap(), after.accuracy.unwrap());
    assert!(acc_after >= 0.95, "accuracy {acc_after} (was {acc_before})");
    assert!(after.loss < 0.5 * before.loss);
    assert_eq!(history.epochs.last().unwrap().validation.unwrap(), after);
    // The same seed gives the same model, bit for bit.
    let mut rng2 = optim::rng(1);
    let (train2, _) = bars_8x8(400, 400, &mut rng2);
    let mut net2 = bar_net(&mut rng2);
    let mut adam2 = Adam::new(0.01).unwrap();
    let history2 = net2
        .fit(&train2, None, &mut adam2, &config, &mut |_| {})
        .unwrap();
    assert_eq!(
        history2.epochs.last().unwrap().train_loss,
        history.epochs.last().unwrap().train_loss
    );
    assert_eq!(
        net2.predict(&test.x).unwrap(),
        net.predict(&test.x).unwrap()
    );
}

#[test]
fn save_and_load_by_name_restore_predictions_and_batch_norm_statistics() {
    let mut rng = optim::rng(2);
    let data = bars::<f32>(64, 8, 0.2, &mut rng);
    let mut net = bar_net(&mut rng);
    let mut sgd = Sgd::new(0.05).unwrap().momentum(0.9).unwrap();
    let config = TrainConfig::new(2, 16);
    net.fit(&data, None, &mut sgd, &config, &mut |_| {})
        .unwrap();
    let dir = std::env::temp_dir().join(format!("cnn-learning-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bars.safetensors");
    net.save(&path, &[("task", "bars".to_string())]).unwrap();
    let mut fresh = bar_net(&mut optim::rng(99));
    assert_ne!(
        fresh.predict(&data.x).unwrap(),
        net.predict(&data.x).unwrap()
    );
    let meta = fresh.load_weights(&path).unwrap();
    assert_eq!(meta["task"], "bars");
    assert_eq!(meta["kind"], "cnn");
    // Predictions use the running statistics, so equality shows they were restored too.
    assert_eq!(
        fresh.predict(&data.x).unwrap(),
        net.predict(&data.x).unwrap()
    );
    // The file also rebuilds the network from its recorded architecture alone.
    let (rebuilt, meta): (Cnn<f32>, _) =
        optim::checkpoint::load_model_with_metadata(&path).unwrap();
    assert_eq!(meta["task"], "bars");
    assert_eq!(rebuilt.architecture(), net.architecture());
    assert_eq!(rebuilt.layers().len(), net.layers().len());
    assert_eq!(
        rebuilt.predict(&data.x).unwrap(),
        net.predict(&data.x).unwrap()
    );
    let ck = optim::checkpoint::Checkpoint::<f32>::read(&path).unwrap();
    assert_eq!(
        ck.names(),
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.weight",
            "4.bias",
            "4.weight",
            "8.bias",
            "8.weight"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn predict_is_the_eval_forward_and_needs_no_mut() {
    let mut rng = optim::rng(4);
    let data = bars::<f32>(32, 8, 0.2, &mut rng);
    let mut net = bar_net(&mut rng);
    let mut adam = Adam::new(0.01).unwrap();
    net.fit(&data, None, &mut adam, &TrainConfig::new(1, 8), &mut |_| {})
        .unwrap();
    assert_eq!(adam.steps(), 4);
    let shared: &Cnn<f32> = &net;
    let p = shared.predict(&data.x).unwrap();
    let classes = shared.classify(&data.x).unwrap();
    assert_eq!(classes, optim::argmax_columns(&p));
    let f = net.forward(&data.x, Mode::Eval).unwrap().clone();
    assert!((p - f).abs().max() < 1e-6);
    // feature maps and filters for plotting
    let maps = net.activations(&data.x).unwrap();
    assert_eq!(maps.len(), net.layers().len());
    assert_eq!(maps[0].nrows(), 4 * 64);
    let convs = net.conv_layers();
    assert_eq!(convs.len(), 2);
    assert_eq!(convs[0].0, "0");
    assert_eq!(convs[0].1.filter(3, 0).shape(), (3, 3));
    assert_eq!(convs[1].1.filters().len(), 8);
    assert_eq!(convs[1].1.filters()[7].len(), 4);
    assert!(net.summary().contains("conv2d"));
}

#[test]
fn with_few_examples_the_cnn_generalizes_where_a_dense_network_memorizes() {
    // The inductive bias at work (examples/bars.rs): 100 images of bars anywhere in 12x12.
    let mut rng = optim::rng(0);
    let train = bars::<f32>(100, 12, 0.3, &mut rng);
    let test = bars::<f32>(1000, 12, 0.3, &mut rng);
    let shape = ImageShape::new(1, 12, 12);
    let mut cnn = Cnn::<f32>::builder(shape)
        .conv(4, 3, 1, 1, &mut rng)
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .conv(8, 3, 1, 1, &mut rng)
        .unwrap()
        .relu()
        .global_avg_pool()
        .unwrap()
        .dense(2, &mut rng)
        .unwrap()
        .build();
    let mut dense = Cnn::<f32>::builder(shape)
        .flatten()
        .dense(64, &mut rng)
        .unwrap()
        .relu()
        .dense(2, &mut rng)
        .unwrap()
        .build();
    let config = TrainConfig::new(60, 20);
    let mut scores = Vec::new();
    for net in [&mut cnn, &mut dense] {
        let mut adam = Adam::new(0.01).unwrap();
        let h = net
            .fit(&train, None, &mut adam, &config, &mut |_| {})
            .unwrap();
        assert!(
            h.last().unwrap().train_accuracy.unwrap() > 0.99,
            "both fit the training set"
        );
        scores.push((
            optim::param_count(net),
            net.evaluate(&test).unwrap().accuracy.unwrap(),
        ));
    }
    let ((cnn_params, cnn_acc), (dense_params, dense_acc)) = (scores[0], scores[1]);
    assert!(cnn_params * 20 < dense_params);
    assert!(cnn_acc >= 0.9, "CNN test accuracy {cnn_acc}");
    assert!(
        dense_acc < cnn_acc - 0.2,
        "dense {dense_acc} vs CNN {cnn_acc}"
    );
}
