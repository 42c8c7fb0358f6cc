//! Errors: invalid configurations, inputs that do not fit, training runs that cannot start or
//! diverge, and checkpoints that are of another kind, another architecture, or ask for sizes
//! the file cannot hold.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Vae, VaeConfig};
use optim::checkpoint::{CONFIG_KEY, KIND_KEY, load_model, save, save_model};
use optim::train::{TrainConfig, Trainable};
use optim::{Activation, Mat, Sgd};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("autoencoder-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_inputs_are_errors() {
    let mut rng = optim::rng(7);
    let ok = AutoencoderConfig::symmetric(6, &[5], 3, Activation::Relu);
    let mut bad = ok.clone();
    bad.decoder.last_mut().unwrap().width = 5;
    assert!(Autoencoder::<f32>::new(bad, &mut rng).is_err());
    assert!(
        Autoencoder::<f32>::new(
            ok.clone()
                .output_activation(Activation::Identity)
                .bce()
                .output_activation(Activation::Identity),
            &mut rng
        )
        .is_err()
    );
    assert!(Autoencoder::<f32>::new(ok.clone().sparse(1.5, 1.0), &mut rng).is_err());
    assert!(
        Autoencoder::<f32>::new(
            ok.clone()
                .sparse(0.1, 1.0)
                .code_activation(Activation::Relu),
            &mut rng
        )
        .is_err()
    );
    assert!(
        Autoencoder::<f32>::new(ok.clone().contractive(0.1), &mut rng).is_err(),
        "two-layer encoder"
    );
    assert!(
        Autoencoder::<f32>::new(
            ok.clone().denoising(Corruption::Masking { fraction: 1.0 }),
            &mut rng
        )
        .is_err()
    );
    assert!(
        Autoencoder::<f32>::new(
            ok.clone().denoising(Corruption::Gaussian { std: -1.0 }),
            &mut rng
        )
        .is_err()
    );
    assert!(AutoencoderConfig::undercomplete(6, &[], 6, Activation::Relu).is_err());
    assert!(AutoencoderConfig::undercomplete(6, &[], 5, Activation::Relu).is_ok());
    let mut model = Autoencoder::<f32>::new(ok, &mut rng).unwrap();
    assert!(model.backward().is_err(), "backward before forward");
    assert!(model.encode(&Mat::zeros(5, 2)).is_err());
    assert!(model.decode(&Mat::zeros(2, 2)).is_err());
    assert!(model.reconstruct(&Mat::zeros(6, 0)).is_err());
    assert!(
        model
            .forward_loss(&Mat::zeros(6, 2), &Mat::zeros(6, 3))
            .is_err()
    );
    let mut sgd = Sgd::new(0.1).unwrap();
    let mut nan = Mat::<f32>::zeros(6, 4);
    nan[(1, 1)] = f32::NAN;
    let mut fit = |x: &Mat<f32>, validation: Option<&Mat<f32>>, config: TrainConfig| {
        model.fit(x, validation, &mut sgd, &config, &mut |_| {})
    };
    let err = fit(&nan, None, TrainConfig::new(1, 2)).unwrap_err();
    assert!(err.to_string().contains("training data"), "{err}");
    assert!(fit(&Mat::zeros(6, 4), None, TrainConfig::new(1, 0)).is_err());
    assert!(fit(&Mat::zeros(6, 0), None, TrainConfig::new(1, 2)).is_err());
    let err = fit(&Mat::zeros(5, 4), None, TrainConfig::new(1, 2)).unwrap_err();
    assert!(err.to_string().contains("training data"), "{err}");
    let err = fit(
        &Mat::zeros(6, 4),
        Some(&Mat::zeros(5, 2)),
        TrainConfig::new(1, 2),
    )
    .unwrap_err();
    assert!(err.to_string().contains("validation data"), "{err}");
    // a diverging run stops with an error naming the step
    let mut huge = Sgd::new(1e30).unwrap();
    let x = Mat::<f32>::from_fn(6, 8, |i, j| (i + j) as f32);
    let err = model
        .fit(&x, None, &mut huge, &TrainConfig::new(50, 4), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("epoch"), "{err}");
    let vae =
        Vae::<f32>::new(VaeConfig::symmetric(6, &[5], 2, Activation::Relu), &mut rng).unwrap();
    assert!(vae.objective(&Mat::zeros(6, 3), &Mat::zeros(2, 2)).is_err());
    assert!(Vae::<f32>::new(VaeConfig::symmetric(6, &[5], 0, Activation::Relu), &mut rng).is_err());
    assert!(
        Vae::<f32>::new(
            VaeConfig::symmetric(6, &[5], 2, Activation::Relu).beta(-1.0),
            &mut rng
        )
        .is_err()
    );
}

#[test]
fn checkpoints_of_another_kind_or_architecture_are_refused() {
    let dir = temp_dir("errors-kind");
    let mut rng = optim::rng(6);
    let mut model = Autoencoder::<f32>::new(
        AutoencoderConfig::symmetric(6, &[5], 3, Activation::Tanh),
        &mut rng,
    )
    .unwrap();
    let path = dir.join("ae.safetensors");
    save_model(&path, &mut model, &[]).unwrap();
    // a VAE cannot load an autoencoder file
    let err = load_model::<f32, Vae<f32>>(&path).unwrap_err();
    assert!(err.to_string().contains("autoencoder"), "{err}");
    // loading into a different architecture is refused with the parameter's name
    let mut other = Autoencoder::<f32>::new(
        AutoencoderConfig::symmetric(6, &[4], 3, Activation::Relu),
        &mut rng,
    )
    .unwrap();
    let err = optim::checkpoint::load(&path, &mut other).unwrap_err();
    assert!(err.to_string().contains("encoder.0"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A small model's tensors under a hand-written configuration.
fn write_with_config(path: &std::path::Path, kind: &str, config: &str) {
    let mut model =
        Autoencoder::<f32>::new(AutoencoderConfig::linear(4, 2), &mut optim::rng(0)).unwrap();
    let meta = [
        (KIND_KEY, kind.to_string()),
        (CONFIG_KEY, config.to_string()),
    ];
    save(path, &mut model, &meta).unwrap();
}

#[test]
fn a_checkpoint_asking_for_huge_sizes_is_refused_before_allocation() {
    let dir = temp_dir("errors-huge");
    let path = dir.join("huge.safetensors");
    // 2^20 inputs through a 2^20 code: 2^41 weights (16 TB of f64), in a file of 22 values
    let mut big = AutoencoderConfig::linear(1 << 20, 1 << 20);
    big.init = optim::Init::PyTorchDefault;
    write_with_config(&path, "autoencoder", &serde_json::to_string(&big).unwrap());
    let err = load_model::<f32, Autoencoder<f32>>(&path).unwrap_err();
    assert!(err.to_string().contains("parameters"), "{err}");
    // widths whose product overflows usize
    let overflow = AutoencoderConfig::linear(usize::MAX / 2, 4);
    write_with_config(
        &path,
        "autoencoder",
        &serde_json::to_string(&overflow).unwrap(),
    );
    let err = load_model::<f32, Autoencoder<f32>>(&path).unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    assert_eq!(overflow.parameter_count(), None);
    // the same for a VAE
    let vae = VaeConfig::symmetric(1 << 20, &[1 << 20], 8, Activation::Relu);
    write_with_config(&path, "vae", &serde_json::to_string(&vae).unwrap());
    let err = load_model::<f32, Vae<f32>>(&path).unwrap_err();
    assert!(err.to_string().contains("parameters"), "{err}");
    assert_eq!(
        VaeConfig::symmetric(usize::MAX / 2, &[3], 2, Activation::Relu).parameter_count(),
        None
    );
    // and a malformed configuration names the field
    write_with_config(&path, "autoencoder", r#"{"inputs": 4}"#);
    let err = load_model::<f32, Autoencoder<f32>>(&path).unwrap_err();
    assert!(err.to_string().contains("encoder"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
