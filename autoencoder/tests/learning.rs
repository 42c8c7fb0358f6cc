//! Learning tests on generated data: deterministic (seeded), seconds each.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Pca, Vae, VaeConfig};
use optim::train::{History, TrainConfig, Trainable};
use optim::{Activation, Adam, Mat};

fn blobs() -> (Mat<f32>, Mat<f32>) {
    let x = autoencoder::data::blob_images::<f32>(1500, 8, &mut optim::rng(10));
    (
        x.columns(0, 1200).into_owned(),
        x.columns(1200, 300).into_owned(),
    )
}

fn fit<M: Trainable<f32, Data = Mat<f32>>>(
    model: &mut M,
    x: &Mat<f32>,
    epochs: usize,
    lr: f64,
) -> History {
    let mut adam = Adam::new(lr).unwrap();
    let tc = TrainConfig::new(epochs, 32)
        .cosine(x.ncols(), lr * 0.01)
        .seed(11);
    model.fit(x, None, &mut adam, &tc, &mut |_| {}).unwrap()
}

#[test]
fn nonlinear_autoencoder_beats_pca_on_a_curved_manifold() {
    // three latent factors (position x, y and width): PCA with k = 3 cannot follow the curve
    let (train_x, val_x) = blobs();
    let pca = Pca::fit(&train_x, 3)
        .unwrap()
        .reconstruction_error(&val_x)
        .unwrap();
    let config = AutoencoderConfig::symmetric(64, &[64], 3, Activation::Relu)
        .code_activation(Activation::Identity)
        .output_activation(Activation::Sigmoid);
    let mut model = Autoencoder::new(config, &mut optim::rng(12)).unwrap();
    fit(&mut model, &train_x, 40, 3e-3);
    let ae = model.reconstruction_error(&val_x).unwrap();
    eprintln!("blobs k=3: PCA {pca:.5}, ReLU AE {ae:.5}");
    assert!(ae < 0.5 * pca, "AE {ae} vs PCA {pca}");
}

#[test]
fn tied_and_bce_autoencoders_learn() {
    let (train_x, val_x) = blobs();
    let pca = Pca::fit(&train_x, 3)
        .unwrap()
        .reconstruction_error(&val_x)
        .unwrap();
    for config in [
        AutoencoderConfig::symmetric(64, &[64], 3, Activation::Tanh)
            .code_activation(Activation::Identity)
            .tied()
            .bce(),
        AutoencoderConfig::symmetric(64, &[64], 3, Activation::Relu)
            .code_activation(Activation::Identity)
            .tied(),
    ] {
        let mut model = Autoencoder::new(config.clone(), &mut optim::rng(13)).unwrap();
        fit(&mut model, &train_x, 40, 3e-3);
        let ae = model.reconstruction_error(&val_x).unwrap();
        eprintln!(
            "{:?} tied={}: {ae:.5} (PCA {pca:.5})",
            config.loss, config.tied
        );
        assert!(ae < 0.8 * pca, "{config:?}: AE {ae} vs PCA {pca}");
    }
}

#[test]
fn sparse_penalty_drives_mean_activation_to_rho() {
    let (train_x, val_x) = blobs();
    let base = AutoencoderConfig::symmetric(64, &[], 32, Activation::Sigmoid)
        .output_activation(Activation::Sigmoid);
    let mut plain = Autoencoder::new(base.clone(), &mut optim::rng(14)).unwrap();
    let mut sparse = Autoencoder::new(base.sparse(0.05, 0.1), &mut optim::rng(14)).unwrap();
    fit(&mut plain, &train_x, 30, 3e-3);
    fit(&mut sparse, &train_x, 100, 1e-2);
    let mean_plain = plain.encode(&val_x).unwrap().mean();
    let mean_sparse = sparse.encode(&val_x).unwrap().mean();
    eprintln!("mean code activation: plain {mean_plain:.3}, sparse (rho 0.05) {mean_sparse:.3}");
    assert!(
        (0.03..0.08).contains(&mean_sparse),
        "sparse mean activation {mean_sparse}"
    );
    assert!(mean_plain > 0.2, "plain mean activation {mean_plain}");
    let (ep, es) = (
        plain.reconstruction_error(&val_x).unwrap(),
        sparse.reconstruction_error(&val_x).unwrap(),
    );
    eprintln!("held-out MSE: plain {ep:.5}, sparse {es:.5}");
    assert!(es < 0.02, "sparse reconstruction {es}");
}

#[test]
fn contractive_penalty_shrinks_the_encoder_jacobian() {
    let (train_x, val_x) = blobs();
    let base = AutoencoderConfig::symmetric(64, &[], 8, Activation::Sigmoid)
        .output_activation(Activation::Sigmoid);
    let jacobian = |m: &Autoencoder<f32>| {
        // mean ‖J‖²_F on held-out rows, read off a λ = 1 objective of a copy of the weights
        let mut probe =
            Autoencoder::<f32>::new(base.clone().contractive(1.0), &mut optim::rng(0)).unwrap();
        let mut values = Vec::new();
        let mut src = m.clone();
        optim::Parameters::visit_params(&mut src, &mut |_, p| values.push(p.value.clone()));
        let mut i = 0;
        optim::Parameters::visit_params(&mut probe, &mut |_, p| {
            p.value.copy_from(&values[i]);
            i += 1;
        });
        probe.objective(&val_x).unwrap().penalty as f64
    };
    let mut plain = Autoencoder::new(base.clone(), &mut optim::rng(15)).unwrap();
    let mut cae = Autoencoder::new(base.clone().contractive(0.05), &mut optim::rng(15)).unwrap();
    fit(&mut plain, &train_x, 30, 3e-3);
    fit(&mut cae, &train_x, 30, 3e-3);
    let (jp, jc) = (jacobian(&plain), jacobian(&cae));
    eprintln!("held-out mean ||J||_F^2: plain {jp:.4}, contractive {jc:.4}");
    assert!(jc < 0.5 * jp, "contractive {jc} vs plain {jp}");
}

#[test]
fn denoising_autoencoder_repairs_masked_inputs() {
    let (train_x, val_x) = blobs();
    let masking = Corruption::Masking { fraction: 0.3 };
    let base = AutoencoderConfig::symmetric(64, &[64], 3, Activation::Relu)
        .code_activation(Activation::Identity);
    let mut plain = Autoencoder::new(base.clone(), &mut optim::rng(16)).unwrap();
    let mut den = Autoencoder::new(base.denoising(masking), &mut optim::rng(16)).unwrap();
    fit(&mut plain, &train_x, 30, 3e-3);
    fit(&mut den, &train_x, 30, 3e-3);
    let masked = autoencoder::corrupt(masking, &val_x, &mut optim::rng(17));
    let err = |m: &Autoencoder<f32>| {
        (m.reconstruct(&masked).unwrap() - &val_x).norm_squared() as f64 / val_x.len() as f64
    };
    let (p, d) = (err(&plain), err(&den));
    eprintln!("masked blobs -> clean: plain {p:.5}, denoising {d:.5}");
    assert!(d < 0.7 * p, "denoising {d} vs plain {p}");
}

#[test]
fn vae_learns_and_its_prior_samples_look_like_data() {
    let (train_x, val_x) = blobs();
    let mut vae = Vae::new(
        VaeConfig::symmetric(64, &[64], 3, Activation::Relu).bce(),
        &mut optim::rng(18),
    )
    .unwrap();
    let eps = autoencoder::vae::standard_normal(3, val_x.ncols(), &mut optim::rng(19));
    let before = vae.objective(&val_x, &eps).unwrap();
    let h = fit(&mut vae, &train_x, 30, 3e-3);
    let after = vae.objective(&val_x, &eps).unwrap();
    eprintln!(
        "VAE held-out -ELBO {:.3} -> {:.3} (KL {:.3}); MSE {:.5}",
        before.total,
        after.total,
        after.penalty,
        vae.reconstruction_error(&val_x).unwrap()
    );
    assert!(after.total < 0.85 * before.total);
    assert!(
        after.penalty > 0.5,
        "the code carries information: KL {}",
        after.penalty
    );
    assert!(h.train_losses()[29] < h.train_losses()[0]);
    assert!(vae.reconstruction_error(&val_x).unwrap() < 0.02);
    // samples from N(0, I): one blob each, so total ink like the data's
    let samples = vae.sample(500, &mut optim::rng(20)).unwrap();
    let ink = |m: &Mat<f32>| m.sum() as f64 / m.ncols() as f64;
    let (si, di) = (ink(&samples), ink(&val_x));
    eprintln!("ink per image: samples {si:.2}, data {di:.2}");
    assert!((si - di).abs() < 0.3 * di, "samples {si} vs data {di}");
}
