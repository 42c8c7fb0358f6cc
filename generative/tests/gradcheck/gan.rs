//! f64 gradient checks of the GAN's losses against centred differences (optim's checker):
//! the discriminator's loss w.r.t. its parameters, the generator's loss through the
//! discriminator w.r.t. the generator's parameters and its samples, the critic's input gradient,
//! and the WGAN-GP critic loss — whose penalty's gradient is a gradient of a gradient — w.r.t.
//! the critic's parameters; with packing and the minibatch standard deviation.

use generative::gan::model::fill_normal;
use generative::gan::{Gan, GanConfig, Net, NetConfig, Objective};
use optim::testing::proptest_config;
use optim::{Activation, GradCheck, Mat, Param, Parameters, check_input, check_parameters};
use proptest::prelude::*;

const TOL: f64 = 1e-6;

/// Activations with a second derivative somewhere (the penalty's backward uses it) and the
/// piecewise-linear ones (whose `f''` is 0).
const ACTIVATIONS: [Activation; 7] = [
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
    Activation::Gelu,
    Activation::Elu(1.0),
    Activation::LeakyRelu(0.2),
    Activation::Relu,
];

fn config(
    hidden_g: &[usize],
    hidden_d: &[usize],
    act: Activation,
    objective: Objective,
    packing: usize,
    minibatch_std: bool,
) -> GanConfig {
    GanConfig::new(2, 3)
        .with_generator(NetConfig::new(hidden_g).with_activation(act))
        .with_discriminator(NetConfig::new(hidden_d).with_activation(act))
        .with_objective(objective)
        .with_packing(packing)
        .with_minibatch_std(minibatch_std)
}

fn normal(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    let mut m = Mat::zeros(rows, cols);
    fill_normal(&mut m, &mut optim::rng(seed));
    m
}

/// The discriminator loss on fixed batches, checked w.r.t. the discriminator's parameters.
fn check_discriminator(config: &GanConfig, batch: usize, seed: u64) -> optim::GradCheckReport {
    let mut gan = Gan::<f64>::new(config, &mut optim::rng(seed)).unwrap();
    let real = normal(2, batch, seed + 1);
    let fake = normal(2, batch, seed + 2) * 0.7;
    let mix: Vec<f64> = (0..batch)
        .map(|j| (j as f64 + 0.5) / batch as f64)
        .collect();
    check_parameters(
        &mut gan.discriminator,
        GradCheck::default(),
        |d| d.loss(&real, &fake, &mix, false).unwrap().total,
        |d| d.loss(&real, &fake, &mix, true).unwrap().total,
    )
}

/// The generator's parameters only, for checks of the generator loss (which also depends on
/// the discriminator's, but those are not what the generator step differentiates).
struct GeneratorOnly<'a>(&'a mut Gan<f64>);

impl Parameters<f64> for GeneratorOnly<'_> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
        self.0.generator.visit_params(visit)
    }
}

fn generator_loss(w: &mut GeneratorOnly<'_>, z: &Mat<f64>, backward: bool) -> f64 {
    let fake = w.0.generator.forward(z).unwrap().clone();
    let mut d_fake = Mat::zeros(0, 0);
    let loss =
        w.0.discriminator
            .generator_loss(&fake, &mut d_fake)
            .unwrap();
    if backward {
        w.0.generator.backward(&d_fake).unwrap();
    }
    loss
}

fn check_generator(config: &GanConfig, batch: usize, seed: u64) -> optim::GradCheckReport {
    let mut gan = Gan::<f64>::new(config, &mut optim::rng(seed)).unwrap();
    let z = normal(3, batch, seed + 3);
    let before: Vec<Mat<f64>> = {
        let mut v = Vec::new();
        gan.discriminator
            .visit_params(&mut |_, p| v.push(p.grad.clone()));
        v
    };
    let report = check_parameters(
        &mut GeneratorOnly(&mut gan),
        GradCheck::default(),
        |w| generator_loss(w, &z, false),
        |w| generator_loss(w, &z, true),
    );
    // the generator's step leaves the discriminator's gradients alone
    let mut i = 0;
    gan.discriminator.visit_params(&mut |name, p| {
        assert_eq!(
            p.grad, before[i],
            "{name} changed by the generator's backward"
        );
        i += 1;
    });
    report
}

#[test]
fn discriminator_loss_matches_centred_differences_for_every_activation() {
    for act in ACTIVATIONS {
        for (packing, mbstd) in [(1, false), (2, false), (1, true), (3, true)] {
            let config = config(&[5], &[6, 4], act, Objective::NonSaturating, packing, mbstd);
            let report = check_discriminator(&config, 6, 11);
            assert!(
                report.max_error < TOL,
                "{} packing {packing} mbstd {mbstd}: {report}",
                act.name()
            );
        }
    }
}

#[test]
fn generator_losses_match_centred_differences_through_the_discriminator() {
    for act in ACTIVATIONS {
        for objective in [
            Objective::Minimax,
            Objective::NonSaturating,
            Objective::WassersteinGp {
                penalty_weight: 10.0,
            },
        ] {
            for (packing, mbstd) in [(1, false), (2, false), (2, true)] {
                if mbstd && matches!(objective, Objective::WassersteinGp { .. }) {
                    continue;
                }
                let config = config(&[5, 4], &[6], act, objective, packing, mbstd);
                let report = check_generator(&config, 6, 5);
                assert!(
                    report.max_error < TOL,
                    "{} {} packing {packing} mbstd {mbstd}: {report}",
                    act.name(),
                    objective.name()
                );
            }
        }
    }
}

#[test]
fn generator_loss_gradient_with_respect_to_the_samples() {
    // ∂L_G/∂G(z) through packing and the minibatch standard deviation
    for (packing, mbstd) in [(1, false), (2, false), (1, true), (2, true)] {
        let config = config(
            &[4],
            &[6, 5],
            Activation::Tanh,
            Objective::Minimax,
            packing,
            mbstd,
        );
        let mut gan = Gan::<f64>::new(&config, &mut optim::rng(2)).unwrap();
        let fake = normal(2, 8, 9);
        let mut d_fake = Mat::zeros(0, 0);
        gan.discriminator
            .generator_loss(&fake, &mut d_fake)
            .unwrap();
        let report = check_input("samples", &fake, &d_fake, GradCheck::default(), |x| {
            let mut g = Mat::zeros(0, 0);
            gan.discriminator.clone().generator_loss(x, &mut g).unwrap()
        });
        assert!(
            report.max_error < TOL,
            "packing {packing} mbstd {mbstd}: {report}"
        );
    }
}

#[test]
fn critic_input_gradient_matches_centred_differences() {
    for act in ACTIVATIONS {
        let mut net = Net::<f64>::new(
            4,
            1,
            &NetConfig::new(&[7, 5]).with_activation(act),
            &mut optim::rng(4),
        );
        let x = normal(4, 5, 8);
        let g = net.input_gradient(&x).unwrap();
        // Σⱼ C(xⱼ): its gradient w.r.t. column j is ∇C(xⱼ)
        let report = check_input("x", &x, &g, GradCheck::default(), |x| {
            net.predict(x).unwrap().sum()
        });
        assert!(report.max_error < TOL, "{}: {report}", act.name());
    }
}

#[test]
fn wgan_gp_critic_loss_and_penalty_match_centred_differences() {
    // depth 1 (a linear critic: only the δ uᵀ term), 2 and 3 (the sᵢ chain)
    for act in ACTIVATIONS {
        for hidden in [&[][..], &[6][..], &[6, 5][..]] {
            for packing in [1, 2] {
                let config = config(
                    &[4],
                    hidden,
                    act,
                    Objective::WassersteinGp {
                        penalty_weight: 10.0,
                    },
                    packing,
                    false,
                );
                let report = check_discriminator(&config, 6, 21);
                assert!(
                    report.max_error < TOL,
                    "{} hidden {hidden:?} packing {packing}: {report}",
                    act.name()
                );
            }
        }
    }
}

#[test]
fn the_penalty_alone_matches_centred_differences() {
    // P by itself (no Wasserstein terms), so a wrong penalty term cannot hide behind the others
    for act in [Activation::Tanh, Activation::Gelu, Activation::Softplus] {
        let mut net = Net::<f64>::new(
            3,
            1,
            &NetConfig::new(&[8, 6, 5]).with_activation(act),
            &mut optim::rng(6),
        );
        let x = normal(3, 7, 2) * 1.5;
        let report = check_parameters(
            &mut net,
            GradCheck::default(),
            |n| n.penalty_backward(&x, 3.0, false).unwrap(),
            |n| n.penalty_backward(&x, 3.0, true).unwrap(),
        );
        assert!(report.max_error < TOL, "{}: {report}", act.name());
        assert!(report.checked > 100);
    }
}

fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(ACTIVATIONS.to_vec())
}

proptest! {
    #![proptest_config(proptest_config(24))]

    #[test]
    fn random_shapes_pass_the_discriminator_and_penalty_checks(
        act in activation(),
        hidden in prop::collection::vec(2usize..7, 0..3),
        packing in 1usize..4,
        groups in 1usize..4,
        wasserstein in any::<bool>(),
        mbstd in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let objective = if wasserstein {
            Objective::WassersteinGp { penalty_weight: 5.0 }
        } else {
            Objective::Minimax
        };
        let config = config(&[3], &hidden, act, objective, packing, mbstd && !wasserstein);
        let report = check_discriminator(&config, packing * groups, seed);
        prop_assert!(report.max_error < TOL, "{}", report);
        let report = check_generator(&config, packing * groups, seed);
        prop_assert!(report.max_error < TOL, "{}", report);
    }
}
