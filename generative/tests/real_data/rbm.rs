//! Real data (skipped without `DL_DATA_DIR`): an RBM of 100 hidden units on optdigits scaled to
//! [0, 1] (a seeded 80/20 split of `optdigits.tra`).

use generative::rbm::{CdConfig, Rbm, RbmConfig, features, fit_logistic};
use optim::data::{Dataset, load_optdigits};
use std::path::PathBuf;

fn optdigits() -> Option<(Dataset<f32>, Dataset<f32>)> {
    let Some(dir) = std::env::var_os("DL_DATA_DIR") else {
        eprintln!("skipped: DL_DATA_DIR is not set");
        return None;
    };
    let path = PathBuf::from(dir).join("optdigits.tra");
    let mut all = load_optdigits::<f32>(&path).expect("optdigits.tra loads");
    all.x /= 16.0;
    Some(all.split(0.2, &mut optim::rng(0)).expect("split"))
}

#[test]
fn optdigits_rbm_reconstructs_and_its_features_classify() {
    let Some((train, test)) = optdigits() else {
        return;
    };
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(64, 100), &mut optim::rng(1)).unwrap();
    rbm.init_visible_bias(&train.x).unwrap();
    let config = CdConfig {
        epochs: 30,
        batch_size: 20,
        learning_rate: 0.05,
        seed: 2,
        ..CdConfig::default()
    };
    let history = rbm
        .train_cd(&train.x, Some(&test.x), &config, &mut |_| {})
        .unwrap();
    let mse = rbm.reconstruction_error(&test.x).unwrap();
    let last = history.last().unwrap();
    eprintln!(
        "optdigits RBM 64x100: held-out reconstruction MSE {mse:.4}, PLL {:?}, free-energy gap {:?}",
        last.term("pseudo_log_likelihood"),
        last.term("free_energy_gap")
    );
    assert!(mse < 0.04, "held-out reconstruction MSE {mse}");
    let (ftrain, ftest) = (
        features(&rbm, &train).unwrap(),
        features(&rbm, &test).unwrap(),
    );
    let (_, feature_acc) = fit_logistic(&ftrain, &ftest, 60, 1e-2, 3).unwrap();
    let (_, raw_acc) = fit_logistic(&train, &test, 60, 1e-2, 3).unwrap();
    eprintln!(
        "logistic regression: on hidden probabilities {feature_acc:.4}, on raw pixels {raw_acc:.4}"
    );
    assert!(feature_acc >= 0.97, "features {feature_acc}");
}
