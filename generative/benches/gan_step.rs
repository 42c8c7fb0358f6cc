//! One training step of the game on the 8-Gaussians ring (batch 100): a discriminator step and a
//! generator step, for the plain GAN, PacGAN4 and WGAN-GP (the critic step with its gradient
//! penalty), with the `gan_modes` example's networks (generator 2 → 3x128 → 2, discriminator
//! 2x128).
//!
//! `cargo bench -p inductive-generative --bench gan_step`

use criterion::{Criterion, criterion_group, criterion_main};
use generative::gan::{self, Gan, GanConfig, GanTraining, Mixture, NetConfig, Objective};
use optim::train::TrainConfig;
use optim::{Activation, Adam};

fn bench(c: &mut Criterion) {
    let data = Mixture::ring().sample::<f32>(100, &mut optim::rng(0));
    let base = GanConfig::new(2, 2)
        .with_generator(NetConfig::new(&[128, 128, 128]))
        .with_discriminator(
            NetConfig::new(&[128, 128]).with_activation(Activation::LeakyRelu(0.2)),
        );
    let cases = [
        ("gan", base.clone()),
        ("pacgan4", base.clone().with_packing(4)),
        (
            "wgan_gp",
            base.clone().with_objective(Objective::WassersteinGp {
                penalty_weight: 10.0,
            }),
        ),
    ];
    // one epoch over exactly one batch: one discriminator step and one generator step
    let training = GanTraining::new(TrainConfig::new(1, 100));
    for (name, config) in cases {
        let mut model = Gan::<f32>::new(&config, &mut optim::rng(1)).unwrap();
        let mut g = Adam::new(1e-4).unwrap();
        let mut d = Adam::new(1e-4).unwrap();
        c.bench_function(&format!("gan_step/{name}"), |b| {
            b.iter(|| {
                gan::train(&mut model, &data, &mut g, &mut d, &training, &mut |_| {}).unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
