//! Mode coverage on PacGAN's synthetic mixtures, over seeds: the plain GAN against packing
//! (and optionally the minibatch standard deviation), each with and without a moving average of
//! the generator's weights, PacGAN's three numbers as mean ± standard error.
//!
//! ```text
//! nice -n 19 cargo run --release -p inductive-generative --example gan_modes -- \
//!     [--mixture ring|grid|both] [--seeds 10] [--first-seed 0] [--packing 1,2] [--mbstd] \
//!     [--average 0.999|off] [--epochs 120|240] [--width 64] [--depth 3] [--d-depth 2] \
//!     [--batch 100] [--samples 20000] [--lr 2e-3] [--final-lr 1] [--beta1 0.5] [--k 1] [--quiet]
//! ```
//!
//! The recipe (the defaults): 20 000 training samples of the mixture, batch 100, the
//! non-saturating loss, a generator 2 → 3 hidden ReLU layers of 64 → 2 and a discriminator with
//! 2 hidden leaky-ReLU (0.2) layers of 64, Adam (2e-3, β = (0.5, 0.999)) for both at a
//! **constant** rate, 120 epochs on the ring and 240 on the grid (24 000 and 48 000 steps of
//! each network), and an exponential moving
//! average of the generator's weights with β = 0.999 (`GanConfig::generator_average`). Each run
//! is evaluated on 2 500 samples (PacGAN's number) of the trained generator `G` and of its
//! average `Ḡ`, from the same noise: the average's effect is measured on identical training runs.
//! `--final-lr f` decays both rates by a cosine to `f` times the start instead.

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
    beta1: f64,
    samples: usize,
}

/// The settings the command line can change.
#[derive(Clone)]
struct Knobs {
    width: usize,
    depth: usize,
    d_depth: usize,
    batch: usize,
    samples: usize,
    lr: f64,
    final_lr: f64,
    beta1: f64,
    k: usize,
    average: Option<f64>,
}

/// The recipe for a mixture with packing `m` (and the minibatch std switch).
fn recipe(knobs: &Knobs, packing: usize, mbstd: bool, epochs: usize, seed: u64) -> Recipe {
    let Knobs {
        width,
        depth,
        d_depth,
        batch,
        samples,
        lr,
        ..
    } = *knobs;
    let mut config = GanConfig::new(2, 2)
        .with_generator(NetConfig::new(&vec![width; depth]).with_activation(Activation::Relu))
        .with_discriminator(
            NetConfig::new(&vec![width; d_depth]).with_activation(Activation::LeakyRelu(0.2)),
        )
        .with_objective(Objective::NonSaturating)
        .with_packing(packing)
        .with_minibatch_std(mbstd);
    if let Some(beta) = knobs.average {
        config = config.with_generator_average(beta);
    }
    // constant rates by default; with --final-lr < 1 both decay over the run (cosine)
    let d_steps = epochs * (samples / batch);
    let schedule = |total: usize| {
        if knobs.final_lr == 1.0 {
            Schedule::Constant
        } else {
            Schedule::CosineWarmup {
                warmup: 0,
                total,
                min_lr: lr * knobs.final_lr,
            }
        }
    };
    let training = GanTraining::new(
        TrainConfig::new(epochs, batch)
            .seed(seed)
            .schedule(schedule(d_steps / knobs.k)),
    )
    .discriminator_steps(knobs.k)
    .discriminator_schedule(schedule(d_steps));
    Recipe {
        config,
        training,
        lr,
        beta1: knobs.beta1,
        samples,
    }
}

/// Trains one GAN and reports its modes on 2 500 samples of the trained generator `G` and, when
/// the recipe keeps one, of its moving average `Ḡ` (the same noise through both: one run
/// measures the average's effect).
fn run(
    mixture: &Mixture,
    recipe: &Recipe,
    seed: u64,
) -> Result<(ModeReport, Option<ModeReport>), gan::GanError> {
    let mut rng = optim::rng(seed);
    let data = mixture.sample::<f32>(recipe.samples, &mut rng);
    let mut model = Gan::<f32>::new(&recipe.config, &mut rng)?;
    let mut g_opt = Adam::new(recipe.lr)?.betas(recipe.beta1, 0.999)?;
    let mut d_opt = Adam::new(recipe.lr)?.betas(recipe.beta1, 0.999)?;
    gan::train(
        &mut model,
        &data,
        &mut g_opt,
        &mut d_opt,
        &recipe.training,
        &mut |_| {},
    )?;
    let mut noise = optim::Mat::zeros(2, 2500);
    gan::model::fill_normal(&mut noise, &mut rng);
    let trained = mixture.evaluate(&model.generator.generate(&noise)?)?;
    let averaged = match &model.generator_average {
        Some(average) => Some(mixture.evaluate(&average.generate(&noise)?)?),
        None => None,
    };
    Ok((trained, averaged))
}

/// PacGAN's three numbers over seeds.
#[derive(Default)]
struct Tally {
    modes: Vec<f64>,
    high_quality: Vec<f64>,
    reverse_kl: Vec<f64>,
}

impl Tally {
    fn push(&mut self, report: &ModeReport) {
        self.modes.push(report.modes as f64);
        self.high_quality.push(100.0 * report.high_quality);
        self.reverse_kl.push(report.reverse_kl);
    }

    /// Mean ± standard error of each number. A run without a single high-quality sample has an
    /// infinite reverse KL: the mean is over the other runs, and the count of such runs is
    /// printed beside it.
    fn summary(&self) -> String {
        let (m, ms) = mean_se(&self.modes);
        let (h, hs) = mean_se(&self.high_quality);
        let finite: Vec<f64> = self
            .reverse_kl
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let (k, ks) = mean_se(&finite);
        let lost = self.reverse_kl.len() - finite.len();
        format!(
            "modes {m:.1} ± {ms:.1}, high quality {h:.1} ± {hs:.1} %, reverse KL {k:.3} ± {ks:.3} \
             (runs with no high-quality sample, left out of the KL: {lost})"
        )
    }
}

fn line(report: &ModeReport) -> String {
    format!(
        "modes {}/{}, high quality {:.1} %, reverse KL {:.3}",
        report.modes,
        report.total_modes,
        100.0 * report.high_quality,
        report.reverse_kl
    )
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
        .unwrap_or_else(|| "1,2".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let mbstd = args.iter().any(|a| a == "--mbstd");
    let number = |name: &str, default: f64| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(value(name).map_or(Ok(default), |s| s.parse())?)
    };
    let average = match value("--average") {
        Some(s) if s == "off" => None,
        Some(s) => Some(s.parse()?),
        None => Some(0.999),
    };
    let seed0 = number("--first-seed", 0.0)? as u64;
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
            value("--epochs").map_or(Ok(if name == "ring" { 120 } else { 240 }), |s| s.parse())?;
        let knobs = Knobs {
            width: number("--width", 64.0)? as usize,
            depth: number("--depth", 3.0)? as usize,
            d_depth: number("--d-depth", 2.0)? as usize,
            batch: number("--batch", 100.0)? as usize,
            samples: number("--samples", 20_000.0)? as usize,
            lr: number("--lr", 2e-3)?,
            final_lr: number("--final-lr", 1.0)?,
            beta1: number("--beta1", 0.5)?,
            k: number("--k", 1.0)? as usize,
            average,
        };
        let label = |packing: usize| match (packing, mbstd) {
            (1, false) => "GAN".to_string(),
            (1, true) => "GAN + minibatch std".to_string(),
            (m, false) => format!("PacGAN{m}"),
            (m, true) => format!("PacGAN{m} + minibatch std"),
        };
        // seeds outside, packings inside: a run stopped early has as many seeds of each
        let mut tallies: Vec<(Tally, Tally, f64)> = packings
            .iter()
            .map(|_| (Tally::default(), Tally::default(), 0.0))
            .collect();
        for seed in seed0..seed0 + seeds {
            for (&packing, (trained, averaged, seconds)) in packings.iter().zip(&mut tallies) {
                let r = recipe(&knobs, packing, mbstd, epochs, seed);
                let run_started = Instant::now();
                let (report, average) = run(&mixture, &r, seed)?;
                *seconds += run_started.elapsed().as_secs_f64();
                trained.push(&report);
                if let Some(a) = &average {
                    averaged.push(a);
                }
                if !quiet {
                    println!(
                        "  {name} {} seed {seed} ({:.0} s): {}{}",
                        label(packing),
                        run_started.elapsed().as_secs_f64(),
                        line(&report),
                        average.map_or(String::new(), |a| format!("; average: {}", line(&a)))
                    );
                }
            }
        }
        for (&packing, (trained, averaged, seconds)) in packings.iter().zip(&tallies) {
            let label = label(packing);
            println!(
                "{name} {label} ({seeds} seeds, {epochs} epochs, {seconds:.0} s): {}",
                trained.summary()
            );
            if let Some(beta) = knobs.average {
                println!(
                    "{name} {label}, average β = {beta} (the same runs): {}",
                    averaged.summary()
                );
            }
        }
    }
    Ok(())
}
