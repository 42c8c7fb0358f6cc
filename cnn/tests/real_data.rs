//! Kind 5: real data, only when `DL_DATA_DIR` names the folder of `shared/data`.
//!
//! Both tests run the protocol of `examples/digits.rs` (same model, splits, seeds, optimizer
//! and schedule); the MNIST one with 5 of the example's 10 epochs to keep CI fast (the full run
//! is reported from the example).

use cnn::{Cnn, data};
use optim::Adam;
use optim::data::data_file;
use optim::train::Trainable;

#[test]
fn digits_cnn_on_optdigits_scores_at_least_98_percent_on_held_out_digits() {
    let Some(path) = data_file("optdigits.tra") else {
        eprintln!("skipped: set DL_DATA_DIR to the folder with optdigits.tra");
        return;
    };
    let all = data::optdigits::<f32>(path).unwrap();
    assert_eq!(all.len(), 3823);
    let (train, held_out) = all.split(0.2, &mut optim::rng(0)).unwrap();
    let mut net = Cnn::digits(&mut optim::rng(1));
    let mut adam = Adam::new(cnn::net::DIGITS_LR).unwrap();
    let config = cnn::net::digits_config(train.len(), None);
    net.fit(&train, None, &mut adam, &config, &mut |_| {})
        .unwrap();
    let accuracy = net.evaluate(&held_out).unwrap().accuracy.unwrap();
    eprintln!(
        "optdigits held-out accuracy {:.4} on {} images",
        accuracy,
        held_out.len()
    );
    assert!(accuracy >= 0.98, "held-out accuracy {}", accuracy);
}

#[test]
fn lenet5_on_8000_mnist_images_scores_at_least_97_percent_on_the_other_2000() {
    let Some(dir) =
        data_file("t10k-images-idx3-ubyte.gz").and_then(|p| p.parent().map(|d| d.to_path_buf()))
    else {
        eprintln!("skipped: set DL_DATA_DIR to the folder with the MNIST t10k files");
        return;
    };
    let all = data::mnist_test::<f32>(dir).unwrap();
    let (train, held_out) = all.split(0.2, &mut optim::rng(0)).unwrap();
    assert_eq!((train.len(), held_out.len()), (8000, 2000));
    let mut net = Cnn::lenet5(&mut optim::rng(1));
    let mut adam = Adam::new(cnn::net::LENET_LR).unwrap();
    let config = cnn::net::lenet_config(train.len(), Some(5));
    net.fit(&train, None, &mut adam, &config, &mut |_| {})
        .unwrap();
    let accuracy = net.evaluate(&held_out).unwrap().accuracy.unwrap();
    eprintln!(
        "MNIST LeNet-5 held-out accuracy {:.4} on 2000 images (5 epochs)",
        accuracy
    );
    assert!(accuracy >= 0.97, "held-out accuracy {}", accuracy);
}
