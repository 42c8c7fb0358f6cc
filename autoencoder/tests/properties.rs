//! The chapter's mathematics as properties: linear AE = PCA, tied weights shared, corruption in
//! training only, the VAE's KL in closed form and ≥ 0, the reparameterized sample's moments,
//! checkpoints by name, and training through optim's loop (errors are in `errors.rs`).

use autoencoder::{
    Autoencoder, AutoencoderConfig, Corruption, Pca, Vae, VaeConfig, kl_to_standard_normal,
    principal_angles, reparameterize,
};
use optim::checkpoint::{load_model, save_model};
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Activation, Adam, Mat, Parameters, Sgd};
use proptest::prelude::*;

#[test]
fn linear_autoencoder_spans_the_principal_subspace_and_matches_pca() {
    let mut rng = optim::rng(1);
    let (x, truth) =
        autoencoder::data::spectral_gap::<f32>(2000, 16, &[9.0, 6.0, 4.0], 0.3, &mut rng);
    let pca = Pca::fit(&x, 3).unwrap();
    // PCA itself finds the generating subspace
    let a = principal_angles(&pca.components, &truth.map(|v| v as f32)).unwrap();
    assert!(a[2] < 0.05, "PCA vs truth: {a:?}");

    let mut model = Autoencoder::new(AutoencoderConfig::linear(16, 3), &mut rng).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let config = TrainConfig::new(60, 100).cosine(x.ncols(), 1e-5).seed(1);
    model
        .fit(&x, None, &mut adam, &config, &mut |_| {})
        .unwrap();

    let decoder = model.decoder_weight(0).unwrap(); // 16 x 3
    let encoder = model.encoder_layers()[0].weight.value.transpose(); // 16 x 3
    let dec_angles = principal_angles(&decoder, &pca.components).unwrap();
    let enc_angles = principal_angles(&encoder, &pca.components).unwrap();
    let ae = model.reconstruction_error(&x).unwrap();
    let best = pca.reconstruction_error(&x).unwrap();
    eprintln!(
        "linear AE: MSE {ae:.5} vs PCA {best:.5}; largest angle decoder {:.4}, encoder {:.4} rad",
        dec_angles[2], enc_angles[2]
    );
    assert!(dec_angles[2] < 0.05, "decoder span vs PCA: {dec_angles:?}");
    // The encoder's rows converge to the same span more slowly: an error along a noise direction
    // costs only that direction's small variance, so its gradient is weak. Only the decoder's
    // span (the reconstruction subspace) is the theorem's claim.
    assert!(enc_angles[2] < 0.3, "encoder span vs PCA: {enc_angles:?}");
    assert!(ae <= 1.02 * best, "linear AE {ae} vs PCA {best}");
    // and PCA is the optimum: nothing linear does better (up to f32 round-off)
    assert!(
        ae >= best * (1.0 - 1e-4),
        "linear AE {ae} below PCA {best}?"
    );
}

#[test]
fn pca_on_known_data() {
    // variance 4 along e0, 1 along e1, none along e2: exact components and variances
    let x = Mat::<f64>::from_row_slice(
        3,
        4,
        &[
            2.0, -2.0, 2.0, -2.0, 1.0, 1.0, -1.0, -1.0, 5.0, 5.0, 5.0, 5.0,
        ],
    );
    let pca = Pca::fit(&x, 2).unwrap();
    assert!((pca.explained_variance[0] - 4.0).abs() < 1e-12);
    assert!((pca.explained_variance[1] - 1.0).abs() < 1e-12);
    assert!((pca.explained_variance_ratio() - 1.0).abs() < 1e-12);
    assert!(pca.reconstruction_error(&x).unwrap() < 1e-24);
    let one = Pca::fit(&x, 1).unwrap();
    assert!((one.reconstruction_error(&x).unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!(Pca::fit(&x, 4).is_err());
    assert!(Pca::fit(&x, 0).is_err());
}

#[test]
fn tied_weights_are_one_parameter() {
    let mut rng = optim::rng(2);
    let config = AutoencoderConfig::symmetric(5, &[4], 2, Activation::Tanh).tied();
    let mut model = Autoencoder::<f64>::new(config, &mut rng).unwrap();
    let x = Mat::from_fn(5, 3, |i, j| (i as f64 - j as f64) * 0.2);
    let code = model.encode(&x).unwrap();
    let before = model.decode(&code).unwrap();
    assert_eq!(
        model.decoder_weight(1).unwrap(),
        model.encoder_layers()[0].weight.value.transpose()
    );
    // change the encoder's first matrix: the decoder's last layer changes with it
    model.visit_params(&mut |name, p| {
        if name == "encoder.0.weight" {
            p.value[(1, 2)] += 0.5;
        }
    });
    assert_eq!(
        model.decoder_weight(1).unwrap(),
        model.encoder_layers()[0].weight.value.transpose()
    );
    assert_eq!(
        model.decoder_weight(1).unwrap()[(2, 1)],
        model.encoder_layers()[0].weight.value[(1, 2)]
    );
    let after = model.decode(&code).unwrap();
    assert!(
        (after - before).abs().max() > 1e-3,
        "decoding the same code must change"
    );
    // half the weight parameters of the untied model
    let mut untied = Autoencoder::<f64>::new(
        AutoencoderConfig::symmetric(5, &[4], 2, Activation::Tanh),
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        optim::param_count(&mut untied) - optim::param_count(&mut model),
        5 * 4 + 4 * 2
    );
    // mismatched widths are refused
    let mut bad = AutoencoderConfig::symmetric(5, &[4], 2, Activation::Tanh).tied();
    bad.decoder[0].width = 3;
    assert!(Autoencoder::<f64>::new(bad, &mut rng).is_err());
}

#[test]
fn corruption_is_applied_in_training_only() {
    let mut rng = optim::rng(3);
    let x = Mat::<f64>::from_fn(10, 40, |i, j| 0.1 + ((i * 7 + j * 3) % 10) as f64 / 12.0);
    let config = AutoencoderConfig::symmetric(10, &[], 4, Activation::Sigmoid)
        .denoising(Corruption::Masking { fraction: 0.3 });
    let mut model = Autoencoder::new(config, &mut rng).unwrap();
    // inference: deterministic, and equal to the plain forward pass on the clean input
    let r1 = model.reconstruct(&x).unwrap();
    let r2 = model.reconstruct(&x).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(model.decode(&model.encode(&x).unwrap()).unwrap(), r1);
    let clean_loss = model.objective(&x).unwrap().reconstruction;
    // training: the step sees a masked input, about 30 % zeros, and compares with the clean x
    let parts = model.train_step(&x, &mut rng).unwrap();
    let seen = model.last_training_input().unwrap();
    let zeroed = seen
        .iter()
        .zip(x.iter())
        .filter(|(s, c)| **s == 0.0 && **c != 0.0)
        .count();
    let frac = zeroed as f64 / x.len() as f64;
    assert!((0.22..0.38).contains(&frac), "masked fraction {frac}");
    assert!(seen.iter().zip(x.iter()).all(|(s, c)| *s == 0.0 || s == c));
    assert_ne!(parts.reconstruction, clean_loss);
    // a model without corruption sees the clean input
    let mut plain = Autoencoder::new(
        AutoencoderConfig::symmetric(10, &[], 4, Activation::Sigmoid),
        &mut rng,
    )
    .unwrap();
    plain.train_step(&x, &mut rng).unwrap();
    assert_eq!(plain.last_training_input().unwrap(), &x);
    // Gaussian corruption: zero-mean noise of the given std
    let g = autoencoder::corrupt(
        Corruption::Gaussian { std: 0.5 },
        &Mat::<f64>::zeros(50, 200),
        &mut rng,
    );
    let mean = g.mean();
    let var = g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / g.len() as f64;
    assert!(
        mean.abs() < 0.03 && (var.sqrt() - 0.5).abs() < 0.02,
        "mean {mean}, std {}",
        var.sqrt()
    );
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(64))]

    /// KL(N(μ, σ²) ‖ N(0, 1)) = log(1/σ) + (σ² + μ²)/2 − 1/2 per coordinate, ≥ 0, = 0 iff μ = 0, σ = 1.
    #[test]
    fn kl_is_the_closed_form_and_nonnegative(
        mu in proptest::collection::vec(-3.0f64..3.0, 6),
        logvar in proptest::collection::vec(-4.0f64..2.0, 6),
    ) {
        let m = Mat::from_vec(3, 2, mu.clone());
        let lv = Mat::from_vec(3, 2, logvar.clone());
        let kl = kl_to_standard_normal(&m, &lv);
        let want: f64 = mu.iter().zip(&logvar).map(|(&u, &l)| {
            let s = (0.5 * l).exp();
            (1.0 / s).ln() + (s * s + u * u) / 2.0 - 0.5
        }).sum::<f64>() / 2.0;
        prop_assert!((kl - want).abs() < 1e-10 * want.max(1.0));
        prop_assert!(kl >= 0.0);
        prop_assert_eq!(kl_to_standard_normal(&Mat::<f64>::zeros(3, 2), &Mat::zeros(3, 2)), 0.0);
    }
}

#[test]
fn vae_kl_term_is_the_closed_form_and_agrees_with_monte_carlo() {
    let mut rng = optim::rng(4);
    let vae =
        Vae::<f64>::new(VaeConfig::symmetric(6, &[5], 3, Activation::Tanh), &mut rng).unwrap();
    let x = Mat::from_fn(6, 4, |i, j| ((i + 2 * j) % 5) as f64 / 5.0);
    let eps = autoencoder::vae::standard_normal(3, 4, &mut rng);
    let parts = vae.objective(&x, &eps).unwrap();
    let (mu, lv) = vae.encode_distribution(&x).unwrap();
    assert!((parts.penalty - kl_to_standard_normal(&mu, &lv)).abs() < 1e-12);
    assert!(parts.penalty >= 0.0);
    // Monte Carlo: E_q[log q(z) − log p(z)] with 200 000 samples per column
    let samples = 200_000;
    let mut total = 0.0;
    let mut sq = 0.0;
    for s in 0..samples {
        let e = autoencoder::vae::standard_normal::<f64, _>(3, 4, &mut rng);
        let z = reparameterize(&mu, &lv, &e).unwrap();
        let mut v = 0.0;
        for i in 0..z.len() {
            // log q − log p = −½ log σ² − ½ ε² + ½ z²
            v += -0.5 * lv[i] - 0.5 * e[i] * e[i] + 0.5 * z[i] * z[i];
        }
        let _ = s;
        total += v / 4.0;
        sq += (v / 4.0) * (v / 4.0);
    }
    let mean = total / samples as f64;
    let se = ((sq / samples as f64 - mean * mean) / samples as f64).sqrt();
    assert!(
        (mean - parts.penalty).abs() < 4.0 * se,
        "MC {mean} ± {se} vs closed form {}",
        parts.penalty
    );
}

#[test]
fn reparameterized_sample_has_the_encoders_mean_and_variance() {
    let mut rng = optim::rng(5);
    let vae =
        Vae::<f64>::new(VaeConfig::symmetric(4, &[6], 3, Activation::Tanh), &mut rng).unwrap();
    let x = Mat::from_column_slice(4, 1, &[0.2, -0.4, 0.9, 0.1]);
    let (mu, lv) = vae.encode_distribution(&x).unwrap();
    let n = 100_000;
    let xs = Mat::from_fn(4, n, |i, _| x[i]);
    let z = vae.sample_code(&xs, &mut rng).unwrap();
    for j in 0..3 {
        let row = z.row(j);
        let mean = row.mean();
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let want_var = lv[j].exp();
        // 5 standard errors
        assert!(
            (mean - mu[j]).abs() < 5.0 * (want_var / n as f64).sqrt(),
            "unit {j}: mean {mean} vs {}",
            mu[j]
        );
        assert!(
            (var - want_var).abs() < 5.0 * want_var * (2.0 / n as f64).sqrt(),
            "unit {j}: var {var} vs {want_var}"
        );
    }
    // reconstruct uses the mean code: deterministic
    assert_eq!(vae.reconstruct(&x).unwrap(), vae.decode(&mu).unwrap());
    // samples from the prior have the right shape and are finite
    let s = vae.sample(7, &mut rng).unwrap();
    assert_eq!(s.shape(), (4, 7));
    assert!(s.iter().all(|v| v.is_finite()));
}

#[test]
fn checkpoints_round_trip_by_name() {
    let dir = std::env::temp_dir().join(format!("autoencoder-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = optim::rng(6);
    let x = Mat::<f32>::from_fn(6, 5, |i, j| ((i * j) % 4) as f32 / 4.0);
    for config in [
        AutoencoderConfig::symmetric(6, &[5], 3, Activation::LeakyRelu(0.1))
            .tied()
            .bce(),
        AutoencoderConfig::symmetric(6, &[], 3, Activation::Sigmoid)
            .contractive(0.1)
            .denoising(Corruption::Gaussian { std: 0.1 }),
        AutoencoderConfig::symmetric(6, &[5], 3, Activation::Elu(1.0))
            .sparse(0.05, 0.5)
            .denoising(Corruption::Masking { fraction: 0.25 }),
    ] {
        let mut model = Autoencoder::<f32>::new(config.clone(), &mut rng).unwrap();
        let path = dir.join("ae.safetensors");
        save_model(&path, &mut model, &[]).unwrap();
        let loaded: Autoencoder<f32> = load_model(&path).unwrap();
        assert_eq!(loaded.config(), model.config());
        assert_eq!(
            loaded.reconstruct(&x).unwrap(),
            model.reconstruct(&x).unwrap()
        );
    }
    let mut vae = Vae::<f32>::new(
        VaeConfig::symmetric(6, &[5], 2, Activation::Relu)
            .bce()
            .beta(0.5),
        &mut rng,
    )
    .unwrap();
    let path = dir.join("vae.safetensors");
    save_model(&path, &mut vae, &[]).unwrap();
    let loaded: Vae<f32> = load_model(&path).unwrap();
    assert_eq!(loaded.config(), vae.config());
    assert_eq!(
        loaded.reconstruct(&x).unwrap(),
        vae.reconstruct(&x).unwrap()
    );
    assert!(optim::param_names(&mut vae).contains(&"logvar.weight".to_string()));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_reports_history_and_progress_with_any_optimizer() {
    let mut rng = optim::rng(8);
    let x = autoencoder::data::blob_images::<f32>(300, 6, &mut rng);
    let (train_x, val_x) = (
        x.columns(0, 240).into_owned(),
        x.columns(240, 60).into_owned(),
    );
    let optimizers: Vec<Box<dyn optim::Optimizer<f32>>> = vec![
        Box::new(Sgd::new(0.5).unwrap().momentum(0.9).unwrap()),
        Box::new(Adam::new(0.01).unwrap()),
        Box::new(optim::RmsProp::new(0.003).unwrap()),
        Box::new(optim::Adagrad::new(0.1).unwrap()),
    ];
    for mut opt in optimizers {
        let mut model = Autoencoder::new(
            AutoencoderConfig::symmetric(36, &[16], 4, Activation::Tanh)
                .output_activation(Activation::Sigmoid),
            &mut rng,
        )
        .unwrap();
        let before = model.reconstruction_error(&val_x).unwrap();
        let (mut steps, mut epochs) = (0, 0);
        let h = model
            .fit(
                &train_x,
                Some(&val_x),
                opt.as_mut(),
                &TrainConfig::new(20, 16).seed(8),
                &mut |p| match p {
                    Progress::Step { .. } => steps += 1,
                    Progress::Epoch(_) => epochs += 1,
                },
            )
            .unwrap();
        assert_eq!((steps, epochs), (20 * 15, 20));
        assert_eq!(h.epochs.len(), 20);
        let last = h.last().unwrap();
        let after = last.validation.unwrap().loss;
        assert_eq!(after, model.reconstruction_error(&val_x).unwrap());
        assert!(after < 0.6 * before, "validation MSE {before} -> {after}");
        assert!(h.train_losses()[19] < h.train_losses()[0]);
        // the parts add up to the loss (no penalty here)
        let (r, p) = (
            last.term("reconstruction").unwrap(),
            last.term("penalty").unwrap(),
        );
        assert_eq!(p, 0.0);
        assert!((r + p - last.train_loss).abs() < 1e-9 * last.train_loss);
    }
}

#[test]
fn tied_linear_autoencoder_learns_an_orthonormal_pca_basis() {
    // x̂ = Wᵀ(W x + b₁) + b₂: at the optimum W Wᵀ = I and the rows of W span the top-k subspace
    let mut rng = optim::rng(9);
    let (x, _) = autoencoder::data::spectral_gap::<f32>(2000, 12, &[9.0, 5.0], 0.3, &mut rng);
    let pca = Pca::fit(&x, 2).unwrap();
    let mut model = Autoencoder::new(AutoencoderConfig::linear(12, 2).tied(), &mut rng).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let config = TrainConfig::new(60, 100).cosine(x.ncols(), 1e-5).seed(1);
    model
        .fit(&x, None, &mut adam, &config, &mut |_| {})
        .unwrap();
    let w = model.encoder_layers()[0].weight.value.clone(); // 2 x 12
    let gram = &w * w.transpose();
    assert!(
        (gram - Mat::identity(2, 2)).abs().max() < 0.02,
        "W Wᵀ = {}",
        &w * w.transpose()
    );
    let angles = principal_angles(&w.transpose(), &pca.components).unwrap();
    assert!(angles[1] < 0.05, "{angles:?}");
    let (ae, best) = (
        model.reconstruction_error(&x).unwrap(),
        pca.reconstruction_error(&x).unwrap(),
    );
    assert!(ae <= 1.02 * best, "tied linear AE {ae} vs PCA {best}");
}
