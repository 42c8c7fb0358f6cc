//! A GAN (WGAN-GP, two discriminator steps per generator step, both rates scheduled, a moving
//! average of the generator) resumes bit for bit from one training-state file holding both
//! networks, the average and both Adams; the second
//! half runs in a **new process** (this test binary, with `GAN_RESUME_CHILD` naming the file).

use crate::{param_bits, records, temp_dir};
use generative::gan::data::gaussian_1d;
use generative::gan::{self, Gan, GanConfig, GanTraining, NetConfig, Objective};
use optim::train::TrainConfig;
use optim::{Activation, Adam, Mat, Optimizer, Schedule};
use std::path::Path;

const HALF: usize = 2;
const CHILD_ENV: &str = "GAN_RESUME_CHILD";
const OUT_ENV: &str = "GAN_RESUME_OUT";

fn data() -> Mat<f32> {
    gaussian_1d::<f32>(256, 1.0, 0.5, &mut optim::rng(1))
}

fn model() -> Gan<f32> {
    let config = GanConfig::new(1, 2)
        .with_generator(NetConfig::new(&[16]).with_activation(Activation::Tanh))
        .with_discriminator(NetConfig::new(&[16]).with_activation(Activation::LeakyRelu(0.2)))
        .with_objective(Objective::WassersteinGp {
            penalty_weight: 1.0,
        })
        .with_generator_average(0.9);
    Gan::new(&config, &mut optim::rng(2)).unwrap()
}

fn training(epochs: usize) -> GanTraining {
    let steps = 2 * HALF * 256 / 32 / 2;
    GanTraining::new(
        TrainConfig::new(epochs, 32)
            .seed(5)
            .clip_grad_norm(10.0)
            .schedule(Schedule::CosineWarmup {
                warmup: 2,
                total: steps,
                min_lr: 1e-5,
            }),
    )
    .discriminator_steps(2)
    .discriminator_schedule(Schedule::CosineWarmup {
        warmup: 0,
        total: 2 * steps,
        min_lr: 1e-5,
    })
}

fn optimizers() -> (Adam<f32>, Adam<f32>) {
    let adam = || Adam::new(1e-3).unwrap().betas(0.5, 0.9).unwrap();
    (adam(), adam())
}

/// Parameters and both optimizers' state and rates, as bits.
fn bits(gan: &mut Gan<f32>, g: &Adam<f32>, d: &Adam<f32>) -> Vec<(String, Vec<u64>)> {
    let mut out = param_bits(gan);
    for (name, opt, net) in [
        (
            "g",
            g,
            &mut gan.generator as &mut dyn optim::Parameters<f32>,
        ),
        ("d", d, &mut gan.discriminator),
    ] {
        for (n, m) in opt.export_state(net) {
            out.push((
                format!("{name}.{n}"),
                m.iter().map(|v| f64::from(*v).to_bits()).collect(),
            ));
        }
        out.push((format!("{name}.lr"), vec![opt.learning_rate().to_bits()]));
    }
    out
}

#[test]
#[ignore = "entry point of the child process of gan_resumes_in_a_new_process"]
fn child_second_half() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    // optimizers of another rate: the file's state and rates must win
    let mut g = Adam::new(0.5).unwrap().betas(0.5, 0.9).unwrap();
    let mut d = Adam::new(0.5).unwrap().betas(0.5, 0.9).unwrap();
    let (mut gan, mut training, position) =
        gan::load_training::<f32>(Path::new(&path), &mut g, &mut d).unwrap();
    training.train.epochs = 2 * HALF;
    let (history, _) = gan::train_resume(
        &mut gan,
        &data(),
        &mut g,
        &mut d,
        &training,
        Some(&position),
        &mut |_| {},
    )
    .unwrap();
    let report = serde_json::json!({
        "records": records(&history),
        "bits": bits(&mut gan, &g, &d),
    });
    std::fs::write(std::env::var_os(OUT_ENV).unwrap(), report.to_string()).unwrap();
}

#[test]
fn gan_resumes_in_a_new_process() {
    let x = data();
    let (mut straight, (mut g_s, mut d_s)) = (model(), optimizers());
    let h_whole = gan::train(
        &mut straight,
        &x,
        &mut g_s,
        &mut d_s,
        &training(2 * HALF),
        &mut |_| {},
    )
    .unwrap();

    let (mut first, (mut g1, mut d1)) = (model(), optimizers());
    let (h1, position) = gan::train_resume(
        &mut first,
        &x,
        &mut g1,
        &mut d1,
        &training(HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(records(&h1), records(&h_whole)[..HALF]);
    let dir = temp_dir("gan");
    let path = dir.join("gan.safetensors");
    gan::save_training(&path, &mut first, &g1, &d1, &training(HALF), &position).unwrap();

    // in this process first
    let (mut g2, mut d2) = optimizers();
    let (mut resumed, _, loaded) = gan::load_training::<f32>(&path, &mut g2, &mut d2).unwrap();
    assert_eq!(loaded, position);
    let (h2, _) = gan::train_resume(
        &mut resumed,
        &x,
        &mut g2,
        &mut d2,
        &training(2 * HALF),
        Some(&loaded),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(records(&h2), records(&h_whole)[HALF..]);
    let whole = bits(&mut straight, &g_s, &d_s);
    // the moving average is among the compared values
    assert!(
        whole
            .iter()
            .any(|(n, _)| n.starts_with("buffer.generator_average."))
    );
    assert_eq!(bits(&mut resumed, &g2, &d2), whole);

    // then in a new process
    let out = dir.join("child.json");
    let report = optim::testing::child_report(
        "gan::child_second_half",
        (CHILD_ENV, &path),
        (OUT_ENV, &out),
    );
    let child_records: Vec<String> = serde_json::from_value(report["records"].clone()).unwrap();
    let child_bits: Vec<(String, Vec<u64>)> =
        serde_json::from_value(report["bits"].clone()).unwrap();
    assert_eq!(child_records, records(&h_whole)[HALF..]);
    assert_eq!(child_bits, bits(&mut straight, &g_s, &d_s));
}

#[test]
fn a_gan_state_with_optimizers_of_another_kind_is_refused() {
    let x = data();
    let (mut gan, (mut g, mut d)) = (model(), optimizers());
    let (_, position) = gan::train_resume(
        &mut gan,
        &x,
        &mut g,
        &mut d,
        &training(1),
        None,
        &mut |_| {},
    )
    .unwrap();
    let dir = temp_dir("gan-kind");
    let path = dir.join("gan.safetensors");
    gan::save_training(&path, &mut gan, &g, &d, &training(1), &position).unwrap();
    let mut sgd_g = optim::Sgd::new(0.1).unwrap();
    let mut sgd_d = optim::Sgd::new(0.1).unwrap();
    let err = gan::load_training::<f32>(&path, &mut sgd_g, &mut sgd_d).unwrap_err();
    assert!(err.to_string().contains("optimizer.generator."), "{err}");
    // a position of another seed
    let mut other = training(2);
    other.train.seed = 6;
    let err = gan::train_resume(
        &mut gan,
        &x,
        &mut g,
        &mut d,
        &other,
        Some(&position),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is not a point of this run"),
        "{err}"
    );
}
