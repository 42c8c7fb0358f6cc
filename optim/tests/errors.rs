//! Every bad input a user can give the layers, losses and optimizers comes back as an `Err`
//! whose message names what is wrong — never a panic, never a silent NaN.

use optim::{Adagrad, Adam, Dropout, Embedding, Linear, Mat, RmsProp, Sgd, loss};

fn message<T>(r: optim::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn optimizer_hyperparameters_are_checked_by_name() {
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(message(Sgd::<f32>::new(lr)).contains("learning rate"));
        assert!(message(Adam::<f32>::new(lr)).contains("learning rate"));
        assert!(message(Adagrad::<f32>::new(lr)).contains("learning rate"));
        assert!(message(RmsProp::<f32>::new(lr)).contains("learning rate"));
    }
    let sgd = || Sgd::<f32>::new(0.1).unwrap();
    assert!(message(sgd().momentum(1.0)).contains("momentum"));
    assert!(message(sgd().momentum(-0.1)).contains("momentum"));
    assert!(message(sgd().nesterov()).contains("nesterov"));
    assert!(
        message(
            sgd()
                .momentum(0.9)
                .unwrap()
                .dampening(0.1)
                .unwrap()
                .nesterov()
        )
        .contains("nesterov")
    );
    // Nesterov's conditions hold whatever the order of the builder calls.
    let nag = || sgd().momentum(0.9).unwrap().nesterov().unwrap();
    assert!(message(nag().dampening(0.5)).contains("dampening"));
    assert!(message(nag().momentum(0.0)).contains("momentum"));
    assert!(nag().dampening(0.0).is_ok());
    assert!(message(sgd().weight_decay(-1e-4)).contains("weight_decay"));

    let adam = || Adam::<f32>::new(1e-3).unwrap();
    assert!(message(adam().betas(1.0, 0.999)).contains("beta1"));
    assert!(message(adam().betas(0.9, 1.5)).contains("beta2"));
    assert!(message(adam().eps(0.0)).contains("eps"));
    assert!(message(adam().weight_decay(f64::NAN)).contains("weight_decay"));
    assert!(message(Adam::<f32>::adamw(1e-3, -0.01)).contains("weight_decay"));

    let adagrad = || Adagrad::<f32>::new(0.1).unwrap();
    assert!(message(adagrad().lr_decay(-1.0)).contains("lr_decay"));
    assert!(message(adagrad().initial_accumulator(-1.0)).contains("initial_accumulator_value"));
    assert!(message(adagrad().eps(-1.0)).contains("eps"));

    let rms = || RmsProp::<f32>::new(0.01).unwrap();
    assert!(message(rms().alpha(1.0)).contains("alpha"));
    assert!(message(rms().momentum(2.0)).contains("momentum"));
    assert!(message(rms().eps(f64::NAN)).contains("eps"));
}

#[test]
fn layers_reject_wrong_shapes_and_values() {
    let mut rng = optim::rng(0);
    let mut layer = Linear::<f64>::new(3, 2, &mut rng);
    let err = message(layer.forward(&Mat::zeros(4, 5)));
    assert!(
        err.contains("Linear input") && err.contains("3 x 5"),
        "{err}"
    );
    layer.forward(&Mat::zeros(3, 5)).unwrap();
    let err = message(layer.backward(&Mat::zeros(2, 4)));
    assert!(err.contains("Linear backward"), "{err}");
    let err = message(Linear::try_from_weights(
        Mat::<f64>::zeros(2, 3),
        Some(Mat::zeros(3, 1)),
    ));
    assert!(err.contains("Linear bias"), "{err}");

    let mut emb = Embedding::<f64>::new(4, 2, &mut rng);
    let err = message(emb.forward(&[0, 4]));
    assert!(err.contains("id 4"), "{err}");
    emb.forward(&[1, 2, 3]).unwrap();
    assert!(message(emb.backward(&Mat::zeros(2, 2))).contains("Embedding backward"));

    for p in [1.0, -0.1, f64::NAN] {
        assert!(message(Dropout::<f64>::new(p)).contains("dropout p"));
    }
    let mut d = Dropout::<f64>::new(0.5).unwrap();
    assert!(message(d.forward_with_mask(&Mat::zeros(2, 2), Mat::zeros(2, 3))).contains("mask"));
}

#[test]
fn losses_reject_wrong_inputs() {
    let z = Mat::<f64>::zeros(3, 2);
    assert!(message(loss::mse(&z, &Mat::zeros(2, 3))).contains("mse"));
    assert!(message(loss::mse(&Mat::<f64>::zeros(0, 0), &Mat::zeros(0, 0))).contains("empty"));
    assert!(message(loss::bce_with_logits(&z, &Mat::zeros(3, 3))).contains("bce"));
    let err = message(loss::softmax_cross_entropy(&z, &[0, 3], 0.0));
    assert!(
        err.contains("label 3") && err.contains("position 1"),
        "{err}"
    );
    assert!(message(loss::softmax_cross_entropy(&z, &[0], 0.0)).contains("labels"));
    assert!(message(loss::softmax_cross_entropy(&z, &[0, 1], 1.0)).contains("label_smoothing"));
    assert!(
        message(loss::softmax_cross_entropy(
            &Mat::<f64>::zeros(3, 0),
            &[],
            0.0
        ))
        .contains("empty")
    );
    let err = message(loss::hinge(&z, &Mat::from_element(3, 2, 0.5)));
    assert!(err.contains("not -1 or +1"), "{err}");
}
