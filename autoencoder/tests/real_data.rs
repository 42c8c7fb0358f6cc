//! Real data: optdigits (pixels / 16), a quarter of the rows held out, MSE per pixel at k = 8.
//! Runs only when DL_DATA_DIR is set. Short runs with bars a broken model fails; the full run
//! with every figure is `examples/digits.rs`.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Pca};
use optim::train::{TrainConfig, Trainable};
use optim::{Activation, Adam, Mat};

fn digits() -> Option<(Mat<f32>, Mat<f32>)> {
    let Ok(dir) = std::env::var("DL_DATA_DIR") else {
        eprintln!("skipped: DL_DATA_DIR is not set");
        return None;
    };
    let ds = optim::data::load_optdigits::<f32>(std::path::Path::new(&dir).join("optdigits.tra"))
        .unwrap();
    let x = ds.x / 16.0;
    let (tr, va) = optim::data::split_indices(x.ncols(), 0.25, &mut optim::rng(0)).unwrap();
    Some((
        optim::data::select_columns(&x, &tr),
        optim::data::select_columns(&x, &va),
    ))
}

fn fit(config: AutoencoderConfig, x: &Mat<f32>, epochs: usize, lr: f64) -> Autoencoder<f32> {
    let mut model = Autoencoder::new(config, &mut optim::rng(1)).unwrap();
    let mut adam = Adam::new(lr).unwrap();
    let tc = TrainConfig::new(epochs, 32)
        .cosine(x.ncols(), lr * 0.01)
        .seed(2);
    model.fit(x, None, &mut adam, &tc, &mut |_| {}).unwrap();
    model
}

fn relu_64_64_8() -> AutoencoderConfig {
    // ReLU hidden layers, linear 8-unit code (a ReLU code loses units to death; see the README)
    AutoencoderConfig::symmetric(64, &[64], 8, Activation::Relu)
        .code_activation(Activation::Identity)
}

#[test]
fn optdigits_pca_linear_ae_and_relu_ae_at_k8() {
    let Some((train_x, val_x)) = digits() else {
        return;
    };
    let pca = Pca::fit(&train_x, 8).unwrap();
    let pca_mse = pca.reconstruction_error(&val_x).unwrap();
    eprintln!("PCA k=8 held-out MSE/pixel {pca_mse:.5}");
    assert!(
        (0.021..0.027).contains(&pca_mse),
        "PCA {pca_mse} (expected ≈ 0.024)"
    );

    let linear = fit(AutoencoderConfig::linear(64, 8), &train_x, 80, 3e-3);
    let lin_mse = linear.reconstruction_error(&val_x).unwrap();
    eprintln!(
        "linear AE held-out MSE/pixel {lin_mse:.5} (ratio {:.4})",
        lin_mse / pca_mse
    );
    assert!(
        lin_mse <= 1.02 * pca_mse && lin_mse >= 0.98 * pca_mse,
        "linear AE {lin_mse} vs PCA {pca_mse}"
    );

    let relu = fit(relu_64_64_8(), &train_x, 20, 3e-3);
    let relu_mse = relu.reconstruction_error(&val_x).unwrap();
    eprintln!(
        "ReLU AE 64-64-8-64-64 (20 epochs) held-out MSE/pixel {relu_mse:.5} (ratio {:.3})",
        relu_mse / pca_mse
    );
    assert!(
        relu_mse < 0.8 * pca_mse,
        "ReLU AE {relu_mse} must clearly beat PCA {pca_mse}"
    );
}

#[test]
fn optdigits_denoising_beats_plain_on_masked_digits() {
    let Some((train_x, val_x)) = digits() else {
        return;
    };
    let masking = Corruption::Masking { fraction: 0.3 };
    let masked = autoencoder::corrupt(masking, &val_x, &mut optim::rng(99));
    let plain = fit(relu_64_64_8(), &train_x, 20, 3e-3);
    let denoising = fit(relu_64_64_8().denoising(masking), &train_x, 20, 3e-3);
    let err = |m: &Autoencoder<f32>| {
        (m.reconstruct(&masked).unwrap() - &val_x)
            .map(|v| (v * v) as f64)
            .sum()
            / val_x.len() as f64
    };
    let (p, d) = (err(&plain), err(&denoising));
    eprintln!("30 %-masked held-out -> clean MSE/pixel: plain {p:.5}, denoising {d:.5}");
    assert!(d < 0.75 * p, "denoising {d} vs plain {p}");
}
