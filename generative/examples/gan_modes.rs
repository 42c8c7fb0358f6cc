//! Mode coverage on PacGAN's synthetic mixtures, over seeds: the plain GAN against packing
//! (and optionally the minibatch standard deviation), PacGAN's three numbers as mean ±
//! standard error.
//!
//! ```text
//! cargo run --release -p inductive-generative --example gan_modes -- \
//!     [--mixture ring|grid|both] [--seeds 10] [--epochs E] [--packing 1,4] [--mbstd] [--quiet]
//! ```
//!
//! Each run: 20 000 training samples of the mixture, batch 100, the non-saturating loss, a
//! generator 2 → 3 hidden ReLU layers → 2 and a discriminator with 2 hidden leaky-ReLU layers
//! (width 128 on the ring, 256 on the grid), Adam (1e-3, β = (0.5, 0.999)) for both with a
//! cosine decay to 1 %, 120 epochs on the ring and 60 on the grid (200 steps each); evaluated
//! on 2 500 generated samples (PacGAN's number).

use generative::gan::{
    self, Gan, GanConfig, GanTraining, Mixture, ModeReport, NetConfig, Objective,
};
use optim::train::TrainConfig;
use optim::{Activation, Adam, Schedule};
use std::time::Instant;

/// The settings of one run.
struct Recipe {
    config: GanConfig,
    training: GanTraining,
    lr: f64,
}

/// The recipe for a mixture with packing `m` (and the minibatch std switch).
fn recipe(mixture: &str, packing: usize, mbstd: bool, epochs: usize, seed: u64, lr: f64) -> Recipe {
    let width = if mixture == "grid" { 256 } else { 128 };
    let config = GanConfig::new(2, 2)
        .with_generator(NetConfig::new(&[width, width, width]).with_activation(Activation::Relu))
        .with_discriminator(
            NetConfig::new(&[width, width]).with_activation(Activation::LeakyRelu(0.2)),
        )
        .with_objective(Objective::NonSaturating)
        .with_packing(packing)
        .with_minibatch_std(mbstd);
    // both rates decay to 1 % over the run (cosine): the late, small steps sharpen the modes
    let steps = epochs * (20_000 / 100);
    let cosine = Schedule::CosineWarmup {
        warmup: 0,
        total: steps,
        min_lr: lr * 0.01,
    };
    let training = GanTraining::new(TrainConfig::new(epochs, 100).seed(seed).schedule(cosine))
        .discriminator_schedule(cosine);
    Recipe {
        config,
        training,
        lr,
    }
}

/// Trains one GAN and reports its modes on 2 500 samples.
fn run(mixture: &Mixture, recipe: &Recipe, seed: u64) -> Result<ModeReport, gan::GanError> {
    let mut rng = optim::rng(seed);
    let data = mixture.sample::<f32>(20_000, &mut rng);
    let mut model = Gan::<f32>::new(&recipe.config, &mut rng)?;
    let mut g_opt = Adam::new(recipe.lr)?.betas(0.5, 0.999)?;
    let mut d_opt = Adam::new(recipe.lr)?.betas(0.5, 0.999)?;
    gan::train(
        &mut model,
        &data,
        &mut g_opt,
        &mut d_opt,
        &recipe.training,
        &mut |_| {},
    )?;
    let samples = model.sample(2500, &mut rng)?;
    mixture.evaluate(&samples)
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let which = value("--mixture").unwrap_or_else(|| "both".into());
    let seeds: u64 = value("--seeds").map_or(Ok(10), |s| s.parse())?;
    let packings: Vec<usize> = value("--packing")
        .unwrap_or_else(|| "1,4".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let mbstd = args.iter().any(|a| a == "--mbstd");
    let lr: f64 = value("--lr").map_or(Ok(1e-3), |s| s.parse())?;
    let quiet = args.iter().any(|a| a == "--quiet");
    let mixtures: Vec<&str> = match which.as_str() {
        "both" => vec!["ring", "grid"],
        "ring" => vec!["ring"],
        "grid" => vec!["grid"],
        other => return Err(format!("--mixture {other}: expected ring, grid or both").into()),
    };
    for name in mixtures {
        let mixture = if name == "ring" {
            Mixture::ring()
        } else {
            Mixture::grid()
        };
        let epochs: usize =
            value("--epochs").map_or(Ok(if name == "ring" { 120 } else { 60 }), |s| s.parse())?;
        for &packing in &packings {
            let label = match (packing, mbstd) {
                (1, false) => "GAN".to_string(),
                (1, true) => "GAN + minibatch std".to_string(),
                (m, false) => format!("PacGAN{m}"),
                (m, true) => format!("PacGAN{m} + minibatch std"),
            };
            let started = Instant::now();
            let (mut modes, mut hq, mut kl) = (Vec::new(), Vec::new(), Vec::new());
            for seed in 0..seeds {
                let r = recipe(name, packing, mbstd, epochs, seed, lr);
                let report = run(&mixture, &r, seed)?;
                if !quiet {
                    println!(
                        "  {name} {label} seed {seed}: modes {}/{}, high quality {:.1} %, reverse KL {:.3}",
                        report.modes,
                        report.total_modes,
                        100.0 * report.high_quality,
                        report.reverse_kl
                    );
                }
                modes.push(report.modes as f64);
                hq.push(100.0 * report.high_quality);
                kl.push(report.reverse_kl);
            }
            let (m, ms) = mean_se(&modes);
            let (h, hs) = mean_se(&hq);
            // a run without a single high-quality sample has an infinite reverse KL: the mean is
            // over the other runs, and the count of such runs is printed beside it
            let finite: Vec<f64> = kl.iter().copied().filter(|v| v.is_finite()).collect();
            let (k, ks) = mean_se(&finite);
            let lost = kl.len() - finite.len();
            println!(
                "{name} {label} ({seeds} seeds, {epochs} epochs, {:.0} s): modes {m:.1} ± {ms:.1}, \
                 high quality {h:.1} ± {hs:.1} %, reverse KL {k:.3} ± {ks:.3} (runs with no \
                 high-quality sample, left out of the KL: {lost})",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
