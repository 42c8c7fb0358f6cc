//! §3.1 the perceptron: learning as parameter updates, under the assumption of linear
//! separability.
//!
//! Generated data: a separable cloud with a known margin (mistakes against Novikoff's bound
//! `(R/γ)²`), then two moons, which no line separates — the primal rule fails, the Gaussian
//! kernel perceptron succeeds. With `--data-dir`: the averaged multiclass perceptron on optdigits;
//! with `--train` a numeric CSV table (your data), the same on standardized features.
//!
//! With `--load FILE` the saved model (the kernel perceptron on generated data, the multiclass
//! perceptron on optdigits) is evaluated as it is: it is neither trained again nor saved.

use super::{Ctx, Table};
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use optim::data::{Dataset, generate};
use optim::train::Progress;
use optim::{Mat, rng};
use perceptron::{
    Config, Kernel, KernelPerceptron, MISTAKES, MulticlassPerceptron, Order, Perceptron, Variant,
    novikoff,
};

/// The pocket perceptron's training state on the moons (`--resume`).
const POCKET_TRAINING_FILE: &str = "perceptron_pocket_moons.training.safetensors";

fn labels_i32(labels: &[usize]) -> Vec<i32> {
    labels.iter().map(|&l| l as i32).collect()
}

fn points(d: &Dataset<f64>) -> crate::Result<Vec<(f64, f64, usize)>> {
    let labels = d.class_labels("perceptron plot data")?;
    Ok((0..d.len())
        .map(|j| (d.x[(0, j)], d.x[(1, j)], labels[j]))
        .collect())
}

/// A progress-bar callback that shows each epoch's mistakes.
fn epoch_bar<'a>(bar: &'a crate::progress::Bar, examples: usize) -> impl FnMut(Progress<'_>) + 'a {
    let mut seen = 0u64;
    move |p| {
        if let Progress::Epoch(rec) = p {
            seen += examples as u64;
            bar.update(
                rec.epoch as u64 + 1,
                rec.term(MISTAKES).unwrap_or(0.0),
                seen,
            );
        }
    }
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if let Some(table) = ctx.table("perceptron")? {
        ctx.no_resume("perceptron", "a CSV table")?;
        return run_table(ctx, &table);
    }
    if let Some(file) = ctx.train_file(Kind::Optdigits)? {
        ctx.no_resume("perceptron", "optdigits")?;
        return digits(ctx, &file);
    }
    let mut r = rng(ctx.seed);
    let max_epochs = ctx.epochs_or(100);
    let config = Config {
        max_epochs,
        order: Order::Shuffled { seed: ctx.seed },
        ..Config::default()
    };

    // 1. Separable data: the rule converges within Novikoff's bound.
    let (sep, u) = generate::linearly_separable::<f64>(200, 2, 0.1, &mut r)?;
    let d = labels_i32(sep.class_labels("separable data")?);
    let mut unit = Perceptron::new(2, config)?;
    let bar = ctx.progress.bar("perceptron", max_epochs as u64, "epochs");
    let history = unit.fit_with(&sep.x, &d, &mut epoch_bar(&bar, sep.len()))?;
    bar.finish();
    // u separates through the origin: its augmented form has bias weight 0.
    let mut u_aug = vec![0.0];
    u_aug.extend_from_slice(&u);
    let gamma = novikoff::margin(&sep.x, &d, &u_aug)?;
    let bound = novikoff::mistake_bound(novikoff::radius(&sep.x), gamma);

    // 2. Two moons: the line fails, the Gaussian kernel separates.
    let train = generate::two_moons::<f64>(200, 0.1, &mut r);
    let test = generate::two_moons::<f64>(400, 0.1, &mut r);
    let (dt, dv) = (
        labels_i32(train.class_labels("two moons")?),
        labels_i32(test.class_labels("two moons")?),
    );
    // The pocket never converges on the moons: it is the run `--resume` continues, from the
    // training state every run saves.
    let pocket_config = Config {
        variant: Variant::Pocket,
        ..config
    };
    let (mut line, from) = match ctx.resume_file("perceptron", POCKET_TRAINING_FILE)? {
        None => (Perceptron::new(2, pocket_config)?, None),
        Some(path) => {
            let (mut unit, state) = Perceptron::<f64>::load_training(&path)?;
            let saved = Config {
                max_epochs: pocket_config.max_epochs,
                ..unit.config
            };
            if saved != pocket_config {
                return Err(format!(
                    "--resume {}: the pocket perceptron was trained with {:?}, this run uses \
                     {pocket_config:?} (another --seed?)",
                    path.display(),
                    unit.config
                )
                .into());
            }
            unit.config = pocket_config;
            (unit, Some(state))
        }
    };
    let total = pocket_config.max_epochs;
    line.config.max_epochs = ctx.stop_epoch(from.as_ref().map_or(0, |s| s.epochs()), total);
    let (_, pocket_state) = line.fit_resume(&train.x, &dt, from.as_ref(), &mut |_| {})?;
    line.config.max_epochs = total;
    line.save_training(ctx.out_path(POCKET_TRAINING_FILE), &pocket_state)?;
    if !pocket_state.position.converged {
        ctx.note_stop("perceptron", pocket_state.epochs(), total);
    }
    // With --load, the saved kernel perceptron is evaluated as it is (not trained, not saved).
    let kernel = match &ctx.load {
        Some(path) => KernelPerceptron::<f64>::load(path)?,
        None => {
            let mut kernel = KernelPerceptron::new(2, Kernel::Gaussian { gamma: 5.0 }, config)?;
            kernel.fit(&train.x, &dt)?;
            kernel
        }
    };
    let acc = |errors: usize| 1.0 - errors as f64 / test.len() as f64;
    let kernel_acc = acc(kernel.errors(&test.x, &dv)?);
    let line_acc = acc(line.errors(&test.x, &dv)?);

    let mut out = Outcome::new(
        "perceptron",
        "perceptron; pocket vs Gaussian-kernel perceptron",
        "generated: separable (margin 0.1); two moons",
    );
    out.metric("mistakes", history.updates() as f64)
        .metric("novikoff_bound", bound)
        .metric("epochs", history.len() as f64)
        .metric("test_accuracy", kernel_acc)
        .metric("linear_test_accuracy", line_acc)
        .reference(
            "mistakes",
            bound,
            "Novikoff's bound (R/gamma)^2 on this data",
        );

    plot::scatter(
        &ctx.out_path("perceptron_boundary.svg"),
        "Perceptron on separable data: the learned line",
        &points(&sep)?,
        Some(&|x, y| {
            let v = unit.decision_function(&Mat::from_column_slice(2, 1, &[x, y]));
            usize::from(v.map(|v| v[0] > 0.0).unwrap_or(false))
        }),
        &[],
        None,
    )?;
    out.plot(
        "perceptron_boundary.svg",
        "The perceptron's decision regions on linearly separable data: training stopped at the \
         first epoch without a mistake.",
    );
    let mistakes = per_epoch(&history.mistakes());
    plot::lines(
        &ctx.out_path("perceptron_mistakes.svg"),
        "Mistakes per epoch",
        "epoch",
        "mistakes",
        &[("perceptron".to_string(), mistakes)],
        false,
    )?;
    out.plot(
        "perceptron_mistakes.svg",
        format!(
            "Mistakes per epoch: {} updates in all, Novikoff's bound (R/γ)² = {bound:.0}.",
            history.updates()
        ),
    );
    plot::scatter(
        &ctx.out_path("perceptron_kernel_moons.svg"),
        "Gaussian-kernel perceptron on two moons",
        &points(&test)?,
        Some(&|x, y| {
            let v = kernel.decision_function(&Mat::from_column_slice(2, 1, &[x, y]));
            usize::from(v.map(|v| v[0] > 0.0).unwrap_or(false))
        }),
        &[],
        None,
    )?;
    out.plot(
        "perceptron_kernel_moons.svg",
        "The kernel perceptron (dual form, Gaussian kernel) separates the moons that no line can.",
    );
    if ctx.load.is_none() {
        let mut kernel = kernel;
        let file = "perceptron_kernel_moons.safetensors";
        kernel.save(ctx.out_path(file))?;
        out.models.push(file.into());
    }
    out.models.push(POCKET_TRAINING_FILE.into());
    Ok(out)
}

/// The averaged multiclass perceptron on optdigits (seeded 80/20 split, or `--test`).
fn digits(ctx: &Ctx, file: &std::path::Path) -> crate::Result<Outcome> {
    let all = optim::data::load_optdigits::<f64>(file)?;
    let (train, test) = match ctx.test_file(Kind::Optdigits)? {
        Some(t) => (all, optim::data::load_optdigits::<f64>(&t)?),
        None => all.split(0.2, &mut rng(ctx.seed))?,
    };
    let labels = train.class_labels("optdigits training data")?;
    let (mut model, mistakes) = multiclass(ctx, 10, &train.x, labels)?;
    let accuracy = model.accuracy(&test.x, test.class_labels("optdigits test data")?)?;
    let mut out = Outcome::new(
        "perceptron",
        "averaged multiclass perceptron",
        format!("{} (80/20 seeded split)", file.display()),
    );
    out.metric("test_accuracy", accuracy).reference(
        "test_accuracy",
        0.937,
        "scikit-learn one-vs-rest Perceptron on optdigits",
    );
    save_multiclass(
        ctx,
        &mut out,
        &mut model,
        &mistakes,
        "optdigits",
        "Training mistakes per epoch of the multiclass perceptron on optdigits: the digits are \
         not linearly separable, so the rule never settles; averaging the weights generalizes.",
        "perceptron_digits.safetensors",
    )?;
    Ok(out)
}

/// The averaged multiclass perceptron of `x`'s rows (features) and `classes` classes, shuffled
/// with the run's seed for `--epochs` (default 30), and its mistakes per epoch; or the `--load`ed
/// model, with no mistakes (it was not trained here).
fn multiclass(
    ctx: &Ctx,
    classes: usize,
    x: &Mat<f64>,
    labels: &[usize],
) -> crate::Result<(MulticlassPerceptron<f64>, Vec<usize>)> {
    if let Some(path) = &ctx.load {
        return Ok((MulticlassPerceptron::<f64>::load(path)?, Vec::new()));
    }
    let max_epochs = ctx.epochs_or(30);
    let mut model = MulticlassPerceptron::new(
        x.nrows(),
        classes,
        Config {
            max_epochs,
            order: Order::Shuffled { seed: ctx.seed },
            variant: Variant::Averaged,
            ..Config::default()
        },
    )?;
    let bar = ctx.progress.bar("perceptron", max_epochs as u64, "epochs");
    let history = model.fit_with(x, labels, &mut epoch_bar(&bar, x.ncols()))?;
    bar.finish();
    Ok((model, history.mistakes()))
}

/// `(epoch, count)` points from counts per epoch, epochs counted from 1.
fn per_epoch(counts: &[usize]) -> Vec<(f64, f64)> {
    (1..)
        .zip(counts)
        .map(|(e, &c)| (e as f64, c as f64))
        .collect()
}

/// The mistakes-per-epoch curve (`on`: what it was trained on) and the model saved as `file`:
/// only for a model trained here (a loaded one has no curve and nothing new to save).
fn save_multiclass(
    ctx: &Ctx,
    out: &mut Outcome,
    model: &mut MulticlassPerceptron<f64>,
    mistakes: &[usize],
    on: &str,
    caption: &str,
    file: &str,
) -> crate::Result<()> {
    if ctx.load.is_some() {
        return Ok(());
    }
    let curve = per_epoch(mistakes);
    plot::lines(
        &ctx.out_path("perceptron_mistakes.svg"),
        &format!("Mistakes per epoch on {on}"),
        "epoch",
        "mistakes",
        &[("multiclass perceptron".to_string(), curve)],
        false,
    )?;
    out.plot("perceptron_mistakes.svg", caption);
    model.save(ctx.out_path(file))?;
    out.models.push(file.into());
    Ok(())
}

/// The averaged multiclass perceptron on your table (`--train` CSV, standardized features;
/// tested on `--test` or a seeded 20 % of the rows).
fn run_table(ctx: &Ctx, table: &Table) -> crate::Result<Outcome> {
    let features = table.train.x.nrows();
    let labels = table.train.class_labels("training table")?;
    let (mut model, mistakes) = multiclass(ctx, table.classes, &table.train.x, labels)?;
    let test_labels = table.test.class_labels("test table")?;
    let accuracy = model.accuracy(&table.test.x, test_labels)?;
    let train_accuracy =
        model.accuracy(&table.train.x, table.train.class_labels("training table")?)?;
    let mut out = Outcome::new(
        "perceptron",
        format!(
            "averaged multiclass perceptron ({}, {})",
            super::count(features, "feature", "features"),
            super::count(table.classes, "class", "classes")
        ),
        table.data.clone(),
    );
    out.metric("test_accuracy", accuracy)
        .metric("train_accuracy", train_accuracy)
        .metric("majority_class_accuracy", table.majority_accuracy)
        .reference(
            "test_accuracy",
            table.majority_accuracy,
            "majority class of the training rows, on the same test rows",
        );
    let predicted = model.predict(&table.test.x)?;
    let per_class: Vec<(f64, f64)> =
        super::per_class_accuracy(test_labels, &predicted, table.classes);
    plot::lines(
        &ctx.out_path("perceptron_per_class.svg"),
        "Test accuracy per class",
        "class",
        "accuracy",
        &[("multiclass perceptron".to_string(), per_class)],
        false,
    )?;
    out.plot(
        "perceptron_per_class.svg",
        format!("Test accuracy of the averaged multiclass perceptron for each class (overall {accuracy:.3})."),
    );
    save_multiclass(
        ctx,
        &mut out,
        &mut model,
        &mistakes,
        "your table",
        "Training mistakes per epoch of the averaged multiclass perceptron on your table.",
        "perceptron_table.safetensors",
    )?;
    Ok(out)
}
