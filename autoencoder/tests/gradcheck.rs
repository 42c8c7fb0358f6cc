//! f64 gradient checks of every variant's loss against centred differences (optim's checker).

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, LayerSpec, Vae, VaeConfig};
use optim::{Activation, GradCheck, Mat, check_parameters};
use proptest::prelude::*;
use rand::Rng;

const TOL: f64 = 1e-6;

fn data(d: usize, n: usize, seed: u64) -> Mat<f64> {
    let mut rng = optim::rng(seed);
    // in (0, 1) so BCE targets are valid too
    Mat::from_fn(d, n, |_, _| rng.random_range(0.05..0.95))
}

fn check_ae(config: AutoencoderConfig, input: &Mat<f64>, target: &Mat<f64>, seed: u64) -> f64 {
    let mut model = Autoencoder::<f64>::new(config, &mut optim::rng(seed)).unwrap();
    let report = check_parameters(
        &mut model,
        GradCheck::default(),
        |m| m.forward_loss(input, target).unwrap().total,
        |m| {
            let l = m.forward_loss(input, target).unwrap().total;
            m.backward().unwrap();
            l
        },
    );
    report.assert_below(TOL);
    report.max_error
}

fn deep(act: Activation) -> AutoencoderConfig {
    AutoencoderConfig::symmetric(6, &[5], 3, act)
}

#[test]
fn plain_mse_and_bce() {
    let x = data(6, 7, 1);
    for act in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Elu(1.0),
    ] {
        check_ae(deep(act), &x, &x, 2);
        check_ae(deep(act).bce(), &x, &x, 3);
    }
}

#[test]
fn tied_weights_accumulate_both_uses() {
    let x = data(6, 5, 4);
    check_ae(deep(Activation::Tanh).tied(), &x, &x, 5);
    check_ae(deep(Activation::Sigmoid).tied().bce(), &x, &x, 6);
    check_ae(AutoencoderConfig::linear(6, 2).tied(), &x, &x, 7);
    // a tied model has no decoder weights of its own
    let mut m = Autoencoder::<f64>::new(deep(Activation::Tanh).tied(), &mut optim::rng(0)).unwrap();
    assert_eq!(
        optim::param_names(&mut m),
        [
            "encoder.0.weight",
            "encoder.0.bias",
            "encoder.1.weight",
            "encoder.1.bias",
            "decoder.0.bias",
            "decoder.1.bias"
        ]
    );
}

#[test]
fn denoising_with_a_fixed_corruption() {
    let x = data(6, 6, 8);
    let mut rng = optim::rng(9);
    let masked = autoencoder::corrupt(Corruption::Masking { fraction: 0.3 }, &x, &mut rng);
    let noisy = autoencoder::corrupt(Corruption::Gaussian { std: 0.2 }, &x, &mut rng);
    assert_ne!(masked, x);
    check_ae(
        deep(Activation::Tanh).denoising(Corruption::Masking { fraction: 0.3 }),
        &masked,
        &x,
        10,
    );
    check_ae(
        deep(Activation::Tanh)
            .denoising(Corruption::Gaussian { std: 0.2 })
            .tied(),
        &noisy,
        &x,
        11,
    );
}

#[test]
fn sparse_penalty() {
    let x = data(6, 8, 12);
    let c = deep(Activation::Tanh).sparse(0.1, 0.7);
    let m = Autoencoder::<f64>::new(c.clone(), &mut optim::rng(13)).unwrap();
    assert!(
        m.objective(&x).unwrap().penalty > 0.01,
        "the penalty must be active in the check"
    );
    check_ae(c.clone(), &x, &x, 13);
    check_ae(c.tied().bce(), &x, &x, 14);
    check_ae(
        AutoencoderConfig::symmetric(6, &[], 4, Activation::Sigmoid).sparse(0.05, 2.0),
        &x,
        &x,
        15,
    );
}

#[test]
fn contractive_penalty_every_activation() {
    let x = data(6, 5, 16);
    for act in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Elu(0.7),
        Activation::Identity,
    ] {
        let c = AutoencoderConfig::symmetric(6, &[], 4, act).contractive(0.5);
        let m = Autoencoder::<f64>::new(c.clone(), &mut optim::rng(17)).unwrap();
        assert!(
            m.objective(&x).unwrap().penalty > 1e-3,
            "{act:?}: penalty inactive"
        );
        check_ae(c.clone(), &x, &x, 17);
        check_ae(c.clone().tied(), &x, &x, 18);
        check_ae(c.bce(), &x, &x, 19);
    }
}

#[test]
fn contractive_penalty_matches_the_jacobian_by_differences() {
    // ‖∂h/∂x‖²_F by centred differences of the encoder equals the penalty (λ = 1, one column)
    let c = AutoencoderConfig::symmetric(5, &[], 3, Activation::Sigmoid).contractive(1.0);
    let m = Autoencoder::<f64>::new(c, &mut optim::rng(20)).unwrap();
    let x = data(5, 1, 21);
    let h = 1e-6;
    let mut frob = 0.0;
    for i in 0..5 {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += h;
        down[i] -= h;
        let col = (m.encode(&up).unwrap() - m.encode(&down).unwrap()) / (2.0 * h);
        frob += col.norm_squared();
    }
    let p = m.objective(&x).unwrap().penalty;
    assert!(
        (p - frob).abs() < 1e-8 * frob.max(1.0),
        "penalty {p} vs ‖J‖² {frob}"
    );
}

fn check_vae(config: VaeConfig, x: &Mat<f64>, seed: u64) {
    let mut model = Vae::<f64>::new(config, &mut optim::rng(seed)).unwrap();
    let eps =
        autoencoder::vae::standard_normal(model.latent(), x.ncols(), &mut optim::rng(seed + 1));
    let report = check_parameters(
        &mut model,
        GradCheck::default(),
        |m| m.forward_loss(x, &eps).unwrap().total,
        |m| {
            let l = m.forward_loss(x, &eps).unwrap().total;
            m.backward().unwrap();
            l
        },
    );
    report.assert_below(TOL);
}

#[test]
fn vae_elbo_with_a_fixed_noise_sample() {
    let x = data(6, 5, 22);
    check_vae(VaeConfig::symmetric(6, &[5], 2, Activation::Tanh), &x, 23);
    check_vae(
        VaeConfig::symmetric(6, &[5, 4], 3, Activation::Softplus).bce(),
        &x,
        24,
    );
    check_vae(
        VaeConfig::symmetric(6, &[], 2, Activation::Tanh)
            .bce()
            .beta(0.3),
        &x,
        25,
    );
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(12))]

    #[test]
    fn any_shape_any_variant(
        d in 2usize..7, hidden in 1usize..6, k in 1usize..5, n in 1usize..6,
        depth in 0usize..3, variant in 0usize..5, seed in 0u64..1000,
    ) {
        let hidden: Vec<usize> = vec![hidden; depth];
        let base = AutoencoderConfig::symmetric(d, &hidden, k, Activation::Tanh);
        let config = match variant {
            0 => base,
            1 => base.tied(),
            2 => base.bce(),
            3 => base.sparse(0.2, 0.5),
            _ => AutoencoderConfig::symmetric(d, &[], k, Activation::Sigmoid).contractive(0.3),
        };
        let x = data(d, n, seed);
        check_ae(config, &x, &x, seed);
        let layers: Vec<LayerSpec> = hidden.iter().map(|&w| LayerSpec::new(w, Activation::Tanh)).collect();
        let mut vc = VaeConfig::symmetric(d, &hidden, k, Activation::Tanh);
        vc.encoder = layers;
        check_vae(vc, &x, seed);
    }
}
