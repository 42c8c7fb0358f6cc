//! GAN learning tests on generated data, seeded, in seconds: a 1-D Gaussian learned to its
//! mean, standard deviation and distribution (KS), by the non-saturating GAN and by WGAN-GP,
//! and the 8-Gaussians ring with packing, whose bars fail for a collapsed generator.

use generative::gan::data::{Mixture, gaussian_1d};
use generative::gan::{self, Gan, GanConfig, GanTraining, NetConfig, Objective, ks_statistic};
use optim::train::{Progress, TrainConfig};
use optim::{Activation, Adam, Schedule};

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// (mean, std, KS) of 5000 of `model`'s samples against 5000 fresh points of N(1, 0.5²), and
/// those points' own (mean, std).
fn judge(model: &Gan<f32>, rng: &mut optim::StdRng) -> ((f64, f64, f64), (f64, f64)) {
    let samples: Vec<f64> = model
        .sample(5000, rng)
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let fresh: Vec<f64> = gaussian_1d::<f64>(5000, 1.0, 0.5, rng)
        .iter()
        .copied()
        .collect();
    let (m, s) = moments(&samples);
    ((m, s, ks_statistic(&samples, &fresh)), moments(&fresh))
}

/// Trains a small GAN on N(1, 0.5²); returns (mean, std, KS) of 5000 samples against 5000
/// fresh data points, and the data's own moments.
fn gaussian_run(
    objective: Objective,
    k: usize,
    epochs: usize,
    seed: u64,
) -> ((f64, f64, f64), (f64, f64)) {
    let mut rng = optim::rng(seed);
    let data = gaussian_1d::<f32>(4096, 1.0, 0.5, &mut rng);
    let config = GanConfig::new(1, 1)
        .with_generator(NetConfig::new(&[64, 64]).with_activation(Activation::Tanh))
        .with_discriminator(NetConfig::new(&[64, 64]).with_activation(Activation::LeakyRelu(0.2)))
        .with_objective(objective);
    let mut model = Gan::<f32>::new(&config, &mut rng).unwrap();
    let steps = epochs * 4096 / 64 / k;
    let lr = 1e-3;
    let cosine = Schedule::CosineWarmup {
        warmup: 0,
        total: steps,
        min_lr: lr * 0.01,
    };
    let training = GanTraining::new(TrainConfig::new(epochs, 64).seed(seed).schedule(cosine))
        .discriminator_steps(k);
    let mut g_opt = Adam::new(lr).unwrap().betas(0.5, 0.999).unwrap();
    let mut d_opt = Adam::new(lr).unwrap().betas(0.5, 0.999).unwrap();
    let mut reported = 0;
    let history = gan::train(
        &mut model,
        &data,
        &mut g_opt,
        &mut d_opt,
        &training,
        &mut |p| {
            if let Progress::Step { .. } = p {
                reported += 1;
            }
        },
    )
    .unwrap();
    assert_eq!(history.epochs.len(), epochs);
    assert_eq!(history.steps, reported);
    assert!(history.epochs.iter().all(|e| e.term("generator").is_some()));
    judge(&model, &mut rng)
}

#[test]
fn a_gan_learns_a_1d_gaussian() {
    let ((m, s, ks), (dm, ds)) = gaussian_run(Objective::NonSaturating, 1, 60, 7);
    println!("non-saturating: mean {m:.3} std {s:.3} KS {ks:.3} (data {dm:.3} {ds:.3})");
    assert!((m - dm).abs() < 0.1, "mean {m} vs {dm}");
    assert!((s - ds).abs() < 0.1, "std {s} vs {ds}");
    assert!(ks < 0.08, "KS {ks}"); // measured 0.022 (seeds 2, 4: 0.043, 0.024)
}

/// Trains a GAN on 20 000 points of `mixture` as the `gan_modes` example does — generator
/// 2 → 3 hidden ReLU layers of `width` → 2, discriminator 2 hidden leaky-ReLU layers of `width`,
/// packing `m`, batch 100, Adam (`lr`, β = (0.5, 0.999)) for both with a cosine decay to 1 % —
/// for `epochs` of 200 steps, and reports its modes on 2 500 samples.
fn mixture_run(
    mixture: &Mixture,
    width: usize,
    packing: usize,
    epochs: usize,
    lr: f64,
) -> generative::gan::ModeReport {
    let mut rng = optim::rng(0);
    let data = mixture.sample::<f32>(20_000, &mut rng);
    let config = GanConfig::new(2, 2)
        .with_generator(NetConfig::new(&[width; 3]))
        .with_discriminator(NetConfig::new(&[width; 2]).with_activation(Activation::LeakyRelu(0.2)))
        .with_packing(packing);
    let mut model = Gan::<f32>::new(&config, &mut rng).unwrap();
    let cosine = Schedule::CosineWarmup {
        warmup: 0,
        total: epochs * 200,
        min_lr: lr * 0.01,
    };
    let training = GanTraining::new(TrainConfig::new(epochs, 100).seed(0).schedule(cosine))
        .discriminator_schedule(cosine);
    let mut g_opt = Adam::new(lr).unwrap().betas(0.5, 0.999).unwrap();
    let mut d_opt = Adam::new(lr).unwrap().betas(0.5, 0.999).unwrap();
    gan::train(
        &mut model,
        &data,
        &mut g_opt,
        &mut d_opt,
        &training,
        &mut |_| {},
    )
    .unwrap();
    mixture
        .evaluate(&model.sample(2500, &mut rng).unwrap())
        .unwrap()
}

/// PacGAN4 on the 8-Gaussians ring, a shorter run than the `gan_modes` example (40 epochs of
/// 200 steps); the bars still fail for a collapsed generator (one mode: reverse KL = ln 8).
#[test]
fn pacgan_covers_the_ring() {
    let report = mixture_run(&Mixture::ring(), 128, 4, 40, 1e-3);
    println!("{report:?}");
    assert!(report.modes >= 7, "{report:?}");
    assert!(report.reverse_kl < 0.2, "{report:?}");
    assert!(report.high_quality > 0.3, "{report:?}");
}

/// PacGAN2 on the 25-Gaussians grid, far shorter than the `gan_modes` example (widths 64, 30
/// epochs of 200 steps, rate 2e-3): most modes are found, though few samples are yet within 3σ
/// of one. The bars fail for a collapsed generator (one mode: reverse KL = ln 25 ≈ 3.2; with
/// these settings and rate 1e-3 the plain GAN collapsed onto 1–2 modes).
#[test]
fn pacgan_covers_most_of_the_grid() {
    let report = mixture_run(&Mixture::grid(), 64, 2, 30, 2e-3);
    println!("{report:?}");
    assert!(report.modes >= 18, "{report:?}");
    assert!(report.reverse_kl < 0.8, "{report:?}");
    assert!(report.high_quality > 0.01, "{report:?}");
}

/// WGAN-GP on N(1, 0.5²): k = 5 critic steps per generator step, Adam (2e-3, β = (0.5, 0.9))
/// for both with a cosine decay to 1 % over each network's own steps, and the penalty weight
/// λ = 0.1 — not the paper's 10, which on a line locks the critic in the orientation of its
/// initialization (see `in_one_dimension_a_strong_penalty_locks_the_critic_…` in the
/// properties tests); returns (mean, std, KS) of 5000 samples against 5000 fresh data points.
fn wgan_gp_run(seed: u64, epochs: usize, lr: f64) -> (f64, f64, f64) {
    let mut rng = optim::rng(seed);
    let data = gaussian_1d::<f32>(4096, 1.0, 0.5, &mut rng);
    let config = GanConfig::new(1, 1)
        .with_generator(NetConfig::new(&[32, 32]).with_activation(Activation::Tanh))
        .with_discriminator(NetConfig::new(&[32, 32]).with_activation(Activation::LeakyRelu(0.2)))
        .with_objective(Objective::WassersteinGp {
            penalty_weight: 0.1,
        });
    let mut model = Gan::<f32>::new(&config, &mut rng).unwrap();
    let k = 5;
    let critic_steps = epochs * 4096 / 64;
    let cosine = |total: usize| Schedule::CosineWarmup {
        warmup: 0,
        total,
        min_lr: lr * 0.01,
    };
    let training = GanTraining::new(
        TrainConfig::new(epochs, 64)
            .seed(seed)
            .schedule(cosine(critic_steps / k)),
    )
    .discriminator_steps(k)
    .discriminator_schedule(cosine(critic_steps));
    let mut g_opt = Adam::new(lr).unwrap().betas(0.5, 0.9).unwrap();
    let mut d_opt = Adam::new(lr).unwrap().betas(0.5, 0.9).unwrap();
    let history = gan::train(
        &mut model,
        &data,
        &mut g_opt,
        &mut d_opt,
        &training,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(history.steps, critic_steps / k);
    assert!(history.epochs.iter().all(|e| e.term("penalty").is_some()));
    judge(&model, &mut rng).0
}

/// The 1-D WGAN-GP is sensitive to its seed (and so to the last bits of its products: the
/// same seed gave KS 0.037 with AVX2 products and 0.083 with AVX-512), so the test is of the
/// recipe, not of one run: of five seeds, at least three learn N(1, 0.5²) to all three bars.
/// Measured (AMD EPYC, AVX-512): seeds 1–5 gave KS 0.050, 0.065, 0.048, 0.155, 0.044 — four
/// pass; seed 4 found the mean 0.85. A critic or penalty that does not work fails all five.
#[test]
fn wgan_gp_learns_a_1d_gaussian() {
    let runs: Vec<(f64, f64, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=5u64)
            .map(|seed| scope.spawn(move || wgan_gp_run(seed, 200, 1e-3)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut learned = 0;
    for (seed, &(m, s, ks)) in (1..).zip(&runs) {
        println!("WGAN-GP (λ = 0.1) seed {seed}: mean {m:.3} std {s:.3} KS {ks:.3} (data 1, 0.5)");
        if (m - 1.0).abs() < 0.1 && (s - 0.5).abs() < 0.1 && ks < 0.08 {
            learned += 1;
        }
    }
    assert!(
        learned >= 3,
        "{learned} of 5 seeds learned the Gaussian: {runs:?}"
    );
}
