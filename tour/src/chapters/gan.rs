//! §9.2 generative adversarial networks: learning as a game between a generator and a
//! discriminator.
//!
//! Generated data (default): PacGAN's 8-Gaussians ring (radius 1, σ 0.01), learned by a GAN whose
//! discriminator judges packs of 4 samples (PacGAN4, the remedy for mode collapse), with
//! PacGAN's three numbers: modes covered, share of high-quality samples and reverse KL of the
//! mode histogram. `--train POINTS.csv`: any 2-D point cloud (`x,y` per line). With
//! `--data-dir` holding optdigits: a GAN on the 8x8 digits in [0, 1], judged by an MLP classifier
//! trained on the real labels (share of generated digits it classifies with confidence > 0.9,
//! and its class histogram). Writes `gan_samples.csv` (10 000 generated points) for 2-D data.

use super::Ctx;
use crate::datafiles::{self, Kind};
use crate::plot;
use crate::report::Outcome;
use generative::gan::data::{Mixture, load_optdigits_unit, load_points};
use generative::gan::{self, Gan, GanConfig, GanTraining, NetConfig};
use optim::train::{History, Progress, TrainConfig};
use optim::{Activation, Adam, Mat, Schedule, rng};
use std::fmt::Write as _;
use std::path::PathBuf;

/// What a run trains on.
enum Task {
    Ring,
    Points(PathBuf),
    Digits(PathBuf),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::Ring => "ring",
            Task::Points(_) => "points",
            Task::Digits(_) => "digits",
        }
    }
}

fn task(ctx: &Ctx) -> crate::Result<Task> {
    if let Some(p) = &ctx.train {
        return match datafiles::sniff(p)? {
            Kind::Points => Ok(Task::Points(p.clone())),
            Kind::Optdigits => Ok(Task::Digits(p.clone())),
            other => Err(format!(
                "gan: {} holds {}; this chapter reads {} or {}",
                p.display(),
                other.describe(),
                Kind::Points.describe(),
                Kind::Optdigits.describe()
            )
            .into()),
        };
    }
    if let Some(d) = ctx.data_dir.as_deref()
        && let Some(f) = datafiles::find(d, Kind::Optdigits)
    {
        return Ok(Task::Digits(f));
    }
    Ok(Task::Ring)
}

/// The model and training settings of a task (`data_dim`, number of examples).
fn recipe(task: &Task, n: usize, epochs: usize, seed: u64) -> (GanConfig, GanTraining, f64) {
    match task {
        Task::Ring | Task::Points(_) => {
            let config = GanConfig::new(2, 2)
                .with_generator(NetConfig::new(&[128, 128, 128]))
                .with_discriminator(
                    NetConfig::new(&[128, 128]).with_activation(Activation::LeakyRelu(0.2)),
                )
                .with_packing(4);
            let batch = 100;
            let total = epochs * (n / batch);
            let cosine = Schedule::CosineWarmup {
                warmup: 0,
                total,
                min_lr: 1e-5,
            };
            let training =
                GanTraining::new(TrainConfig::new(epochs, batch).seed(seed).schedule(cosine))
                    .discriminator_schedule(cosine);
            (config, training, 1e-3)
        }
        Task::Digits(_) => {
            let config = GanConfig::new(64, 16)
                .with_generator(
                    NetConfig::new(&[128, 256]).with_output_activation(Activation::Sigmoid),
                )
                .with_discriminator(
                    NetConfig::new(&[256, 128]).with_activation(Activation::LeakyRelu(0.2)),
                )
                .with_packing(2);
            let batch = 64;
            let training = GanTraining::new(TrainConfig::new(epochs, batch).seed(seed));
            (config, training, 2e-4)
        }
    }
}

/// The ring's training state, written after every epoch (`--resume` continues from it).
const TRAINING_FILE: &str = "gan_ring.training.safetensors";

/// Trains a new GAN on `data` with `training` (Adam at `lr`, β₁ 0.5, both networks), epoch
/// by epoch; on the ring — the one task whose data the seed alone fixes — saving the training
/// state after every epoch, and with `--resume DIR` continuing the run of the same settings
/// whose state is in `DIR`. Returns the model and the history of the epochs run here.
fn train(
    ctx: &Ctx,
    task: &Task,
    data: &Mat<f32>,
    config: &GanConfig,
    training: GanTraining,
    lr: f64,
) -> crate::Result<(Gan<f32>, History)> {
    let mut g_opt = Adam::new(lr)?.betas(0.5, 0.999)?;
    let mut d_opt = Adam::new(lr)?.betas(0.5, 0.999)?;
    let (mut model, training, mut position) = match ctx.resume_file("gan", TRAINING_FILE)? {
        None => (
            Gan::<f32>::new(config, &mut rng(ctx.seed + 1))?,
            training,
            None,
        ),
        Some(path) => {
            let (model, saved, position) = gan::load_training(&path, &mut g_opt, &mut d_opt)?;
            // the run planned for the saved length with this run's seed and data
            let (_, planned, _) = recipe(task, data.ncols(), saved.train.epochs, ctx.seed);
            if model.config() != config || saved != planned {
                return Err(ctx.other_run(
                    &path,
                    &format!(
                        "its GAN was trained with seed {} and other settings than this \
                             run's (seed {}; give the saved run's --seed)",
                        saved.train.seed, ctx.seed
                    ),
                ));
            }
            let mut resumed = saved;
            if let Some(e) = ctx.epochs {
                resumed.train.epochs = e as usize;
            }
            (model, resumed, Some(position))
        }
    };
    let epochs = training.train.epochs;
    let bar = ctx.progress.bar("gan", epochs as u64, "epochs");
    let batch = training.train.batch_size;
    let path = ctx.out_path(TRAINING_FILE);
    let mut history = History::default();
    let mut this_call = training.clone();
    let done = position.as_ref().map_or(0, |p: &gan::GanPosition| p.epoch);
    let ring = matches!(task, Task::Ring);
    let mut advance = |epoch: usize| -> crate::Result<()> {
        if position.as_ref().is_none_or(|p| p.epoch < epoch) {
            // one epoch of the run planned for `training.train.epochs` (its schedule kept)
            this_call.train.epochs = epoch;
            let (h, next) = gan::train_resume(
                &mut model,
                data,
                &mut g_opt,
                &mut d_opt,
                &this_call,
                position.as_ref(),
                &mut |p| {
                    if let Progress::Step {
                        epoch,
                        batch: b,
                        batches,
                        step,
                        loss,
                        ..
                    } = p
                        && (b == batches || step % 20 == 1)
                    {
                        bar.update(epoch as u64, loss, (step * batch) as u64);
                    }
                },
            )?;
            history.epochs.extend(h.epochs);
            history.steps = h.steps;
            position = Some(next);
        }
        if ring && let Some(p) = &position {
            gan::save_training(&path, &mut model, &g_opt, &d_opt, &training, p)?;
        }
        Ok(())
    };
    ctx.each_epoch("gan", done, epochs, &mut advance)?;
    bar.finish();
    Ok((model, history))
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    let task = task(ctx)?;
    let mut data_rng = rng(ctx.seed);
    let (data, labels, words) = match &task {
        Task::Ring => (
            Mixture::ring().sample::<f32>(20_000, &mut data_rng),
            Vec::new(),
            "generated: 20 000 points of the 8-Gaussians ring (radius 1, σ 0.01)".to_string(),
        ),
        Task::Points(p) => {
            let x = load_points::<f32>(p)?;
            // the recipe's batch (see `recipe`): fewer points would train on no batch at all
            if ctx.load.is_none() && x.ncols() < 100 {
                return Err(format!(
                    "{}: {} point{}; the GAN trains on batches of 100, so it needs at least 100",
                    p.display(),
                    x.ncols(),
                    if x.ncols() == 1 { "" } else { "s" }
                )
                .into());
            }
            (x, Vec::new(), format!("{} (2-D points)", p.display()))
        }
        Task::Digits(p) => {
            let (x, labels) = load_optdigits_unit::<f32>(p)?;
            (
                x,
                labels,
                format!("{} (8x8 digits / 16, in [0, 1])", p.display()),
            )
        }
    };
    let default_epochs = match task {
        Task::Ring => 30,
        Task::Points(_) => 30,
        Task::Digits(_) => 150,
    };
    let epochs = ctx.epochs_or(default_epochs);
    let (config, training, lr) = recipe(&task, data.ncols(), epochs, ctx.seed);
    let model_words = match task {
        Task::Digits(_) => {
            "GAN 16 → 128-256 → 64 sigmoid vs PacGAN2 discriminator 256-128 leaky ReLU, non-saturating, Adam"
        }
        _ => {
            "PacGAN4: generator 2 → 3x128 ReLU → 2, discriminator on packs of 4, 2x128 leaky ReLU, non-saturating, Adam, cosine"
        }
    };
    let mut out = Outcome::new("gan", model_words, words);
    let file = format!("gan_{}.safetensors", task.name());
    let mut history = History::default();
    let mut trained = false;
    let mut model = match &ctx.load {
        Some(path) => {
            let ck = optim::checkpoint::Checkpoint::<f32>::read(path)?;
            if let Some(saved) = ck.metadata.get("task")
                && saved != task.name()
            {
                return Err(format!(
                    "{}: a GAN for {saved}, but this run's data are {}",
                    path.display(),
                    task.name()
                )
                .into());
            }
            let mut loaded: Gan<f32> = ck.build_model()?;
            ck.load_into(&mut loaded)?;
            if loaded.config().data_dim != data.nrows() {
                return Err(format!(
                    "{}: a GAN for {}-D samples, but this run's data are {}-D",
                    path.display(),
                    loaded.config().data_dim,
                    data.nrows()
                )
                .into());
            }
            loaded
        }
        None => {
            if !matches!(task, Task::Ring) {
                ctx.no_resume("gan", "a data file")?;
            }
            let (model, h) = train(ctx, &task, &data, &config, training, lr)?;
            history = h;
            trained = true;
            model
        }
    };
    let mut sample_rng = rng(ctx.seed + 2);
    let samples = model.sample(10_000, &mut sample_rng)?;
    out.metric("parameters", optim::param_count(&mut model) as f64);
    if let Some(last) = history.last() {
        out.metric("discriminator_loss", last.train_loss);
        if let Some(g) = last.term("generator") {
            out.metric("generator_loss", g);
        }
    }
    match &task {
        Task::Ring => {
            // PacGAN's numbers on 2 500 samples, as in its Table 1
            let eval = model.sample(2500, &mut sample_rng)?;
            let report = Mixture::ring().evaluate(&eval)?;
            out.metric("modes", report.modes as f64)
                .metric("high_quality", report.high_quality)
                .metric(
                    "reverse_kl",
                    if report.reverse_kl.is_finite() {
                        report.reverse_kl
                    } else {
                        (report.total_modes as f64).ln()
                    },
                );
            out.reference(
                "modes",
                7.8,
                "PacGAN4 on the 2D-ring, Lin et al. 2018 Table 1 (plain GAN: 6.3)",
            )
            .reference(
                "high_quality",
                0.959,
                "PacGAN4, PacGAN Table 1 (plain GAN: 0.982)",
            )
            .reference(
                "reverse_kl",
                0.07,
                "PacGAN4, PacGAN Table 1 (plain GAN: 0.45)",
            );
        }
        Task::Points(_) => {}
        Task::Digits(_) => digits_report(ctx, &mut out, &data, &labels, &samples)?,
    }
    if data.nrows() == 2 {
        two_d_outputs(ctx, &mut out, &data, &samples)?;
    }
    if trained {
        // generator steps per epoch (a resumed run's history holds only its own epochs)
        let per_epoch = history.steps / history.epochs.last().map_or(1, |e| e.epoch.max(1));
        let series = |name: &str| -> Vec<(f64, f64)> {
            history
                .epochs
                .iter()
                .filter_map(|e| e.term(name).map(|v| ((e.epoch * per_epoch) as f64, v)))
                .collect()
        };
        plot::lines(
            &ctx.out_path("gan_losses.svg"),
            "GAN losses (mean per epoch)",
            "generator step",
            "loss",
            &[
                ("discriminator".to_string(), series("discriminator")),
                ("generator".to_string(), series("generator")),
            ],
            false,
        )?;
        out.plot(
            "gan_losses.svg",
            "The discriminator's loss −log D(x) − log(1 − D(G(z))) and the generator's \
             non-saturating loss −log D(G(z)), averaged over each epoch: the game settles near \
             2 ln 2 ≈ 1.39 and ln 2 ≈ 0.69 when the discriminator can no longer tell the two \
             apart.",
        );
        model.save(ctx.out_path(&file), &[("task", task.name().to_string())])?;
        out.models.push(file);
        if matches!(task, Task::Ring) {
            out.models.push(TRAINING_FILE.into());
        }
    }
    Ok(out)
}

/// `gan_samples.csv` and the scatter plot of real against generated points.
fn two_d_outputs(
    ctx: &Ctx,
    out: &mut Outcome,
    data: &Mat<f32>,
    samples: &Mat<f32>,
) -> crate::Result<()> {
    let mut csv = String::with_capacity(samples.ncols() * 24);
    csv.push_str("x,y\n");
    for j in 0..samples.ncols() {
        let _ = writeln!(csv, "{},{}", samples[(0, j)], samples[(1, j)]);
    }
    let path = ctx.out_path("gan_samples.csv");
    std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    // 1 500 of each, so the SVG stays small
    let shown = 1500;
    let mut points: Vec<(f64, f64, usize)> = Vec::with_capacity(2 * shown);
    for (m, class) in [(data, 0usize), (samples, 1usize)] {
        let step = (m.ncols() / shown).max(1);
        for j in (0..m.ncols()).step_by(step).take(shown) {
            points.push((f64::from(m[(0, j)]), f64::from(m[(1, j)]), class));
        }
    }
    plot::scatter(
        &ctx.out_path("gan_points.svg"),
        "Real (blue) and generated (orange) points",
        &points,
        None,
        &[],
        None,
    )?;
    out.plot(
        "gan_points.svg",
        "1 500 training points (blue) and 1 500 of the generator's samples (orange); \
         gan_samples.csv holds 10 000 generated points.",
    );
    Ok(())
}

/// Generated digits beside real ones, and what a classifier trained on the real labels makes
/// of them.
fn digits_report(
    ctx: &Ctx,
    out: &mut Outcome,
    data: &Mat<f32>,
    labels: &[usize],
    samples: &Mat<f32>,
) -> crate::Result<()> {
    // the classifier: the mlp crate's digits recipe on the real labels (counts 0..=16)
    let counts = optim::data::Dataset::classification(data.map(|v| v * 16.0), labels.to_vec())?;
    let recipe = mlp::recipes::DigitsRecipe {
        epochs: 30,
        seed: ctx.seed,
        ..Default::default()
    };
    let run = mlp::recipes::digits(&counts, &recipe, &mut |_| {})?;
    out.metric(
        "classifier_test_accuracy",
        run.test.accuracy.unwrap_or(f64::NAN),
    );
    let probs = optim::softmax(&run.model.predict(samples)?);
    let report = generative::gan::metrics::class_report(&probs, 0.9)?;
    out.metric("confident_share", report.confident)
        .metric("classes_covered", report.classes_covered as f64)
        .metric("largest_class_share", report.largest_share);
    let n = probs.ncols() as f64;
    for (c, &h) in report.histogram.iter().enumerate() {
        out.metric(format!("class_{c}_share"), h as f64 / n);
    }
    // 20 real and 20 generated digits
    let image =
        |m: &Mat<f32>, j: usize| -> Vec<f64> { (0..64).map(|i| f64::from(m[(i, j)])).collect() };
    let mut images: Vec<Vec<f64>> = (0..20)
        .map(|j| image(data, j * 37 % data.ncols()))
        .collect();
    images.extend((0..20).map(|j| image(samples, j)));
    plot::image_grid(
        &ctx.out_path("gan_digits.svg"),
        "Real digits (top two rows) and generated ones (bottom two rows)",
        &images,
        8,
        8,
        10,
    )?;
    out.plot(
        "gan_digits.svg",
        format!(
            "20 real optdigits images and 20 of the generator's; an MLP trained on the real \
             labels classifies {:.0} % of 10 000 generated digits with confidence > 0.9, \
             histogram {:?}.",
            100.0 * report.confident,
            report.histogram
        ),
    );
    Ok(())
}
