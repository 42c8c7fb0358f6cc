//! §3.2 deep feedforward networks: a composition of non-linear layers learns what no line can.
//!
//! Generated data: two interleaved spirals (seeded training, validation and test draws), a
//! 2-64-64-2 tanh network trained by Adam; the decision regions show the curved boundary. With
//! `--data-dir`: the digits recipe of the `mlp` crate on UCI optdigits (256-128 ReLU with batch
//! norm and dropout, AdamW with a cosine schedule, early stopping on a validation split, a
//! seeded held-out 20 % for the test). With `--train` a numeric CSV table (your data): a
//! d-64-64-k ReLU network on standardized features, tested on `--test` or a seeded 20 %.

use super::{Ctx, Table};
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use mlp::recipes::{DigitsRecipe, digits};
use mlp::{Config, Mlp};
use optim::data::Dataset;
use optim::train::{EpochRecord, Progress, TrainConfig, Trainable};
use optim::{Activation, Adam, Mat, rng};
use std::path::Path;

/// The model file written by each run.
const SPIRALS_FILE: &str = "mlp_spirals.safetensors";
const DIGITS_FILE: &str = "mlp_digits.safetensors";
const TABLE_FILE: &str = "mlp_table.safetensors";
/// The training checkpoint of the spirals run (`--resume`).
const SPIRALS_TRAINING_FILE: &str = "mlp_spirals.training.safetensors";

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if let Some(table) = ctx.table("mlp")? {
        ctx.no_resume("mlp", "a CSV table")?;
        return run_table(ctx, table);
    }
    if let Some(file) = ctx.train_file(Kind::Optdigits)? {
        ctx.no_resume("mlp", "optdigits")?;
        return run_digits(ctx, &file);
    }
    run_spirals(ctx)
}

/// Two spirals, `n` points per arm, with a little noise so the draws differ.
fn spirals(n: usize, seed: u64) -> Dataset<f32> {
    optim::data::generate::two_spirals::<f32>(n, 1.5, 0.02, &mut rng(seed))
}

/// Per-epoch curves: (training loss, validation loss, training accuracy, validation accuracy).
fn curves(
    epochs: &[EpochRecord],
) -> (
    Vec<(f64, f64)>,
    Vec<(f64, f64)>,
    Vec<(f64, f64)>,
    Vec<(f64, f64)>,
) {
    let mut out = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in epochs {
        let x = e.epoch as f64;
        out.0.push((x, e.train_loss));
        if let Some(a) = e.train_accuracy {
            out.2.push((x, a));
        }
        if let Some(v) = e.validation {
            out.1.push((x, v.loss));
            if let Some(a) = v.accuracy {
                out.3.push((x, a));
            }
        }
    }
    out
}

/// Draws the loss and accuracy curves of a run into `mlp_loss.svg` and `mlp_accuracy.svg`.
fn plot_curves(ctx: &Ctx, out: &mut Outcome, epochs: &[EpochRecord], data: &str) -> Res {
    let (train_loss, val_loss, train_acc, val_acc) = curves(epochs);
    plot::lines(
        &ctx.out_path("mlp_loss.svg"),
        &format!("MLP cross-entropy per epoch ({data})"),
        "epoch",
        "loss (nats, log scale)",
        &[
            ("training (dropout on)".to_string(), train_loss),
            ("validation".to_string(), val_loss),
        ],
        true,
    )?;
    out.plot(
        "mlp_loss.svg",
        format!(
            "Training and validation cross-entropy per epoch of the MLP on {data} (log scale)."
        ),
    );
    plot::lines(
        &ctx.out_path("mlp_accuracy.svg"),
        &format!("MLP accuracy per epoch ({data})"),
        "epoch",
        "accuracy",
        &[
            ("training".to_string(), train_acc),
            ("validation".to_string(), val_acc),
        ],
        false,
    )?;
    out.plot(
        "mlp_accuracy.svg",
        format!("Training and validation accuracy per epoch of the MLP on {data}."),
    );
    Ok(())
}

type Res = crate::Result<()>;

/// A progress callback for `fit` that moves `bar` once per epoch of `n` examples.
fn progress_bar(bar: &crate::progress::Bar, n: usize) -> impl FnMut(Progress<'_>) + '_ {
    move |p| {
        if let Progress::Epoch(e) = p {
            bar.update(e.epoch as u64, e.train_loss, (e.epoch * n) as u64);
        }
    }
}

fn run_spirals(ctx: &Ctx) -> crate::Result<Outcome> {
    let train = spirals(200, ctx.seed);
    let validation = spirals(200, ctx.seed.wrapping_add(1_000));
    let test = spirals(500, ctx.seed.wrapping_add(2_000));
    let epochs = ctx.epochs_or(300);
    let mut history = Vec::new();
    let model = match &ctx.load {
        Some(path) => Mlp::<f32>::load(path)?,
        None => {
            let config = Config::classifier(2, &[64, 64], 2).activation(Activation::Tanh);
            let mut model = config.init::<f32>(&mut rng(ctx.seed))?;
            let mut adam = Adam::new(0.01)?;
            // the rate decays along a cosine to 1 % so the last epochs settle
            let settings = TrainConfig::new(epochs, 32)
                .seed(ctx.seed)
                .cosine(train.len(), 1e-4);
            let bar = ctx.progress.bar("mlp", epochs as u64, "epochs");
            let h = ctx.fit_resumable(
                "mlp",
                &format!("2-64-64-2 tanh on two spirals, seed {}", ctx.seed),
                SPIRALS_TRAINING_FILE,
                &mut model,
                &train,
                Some(&validation),
                &mut adam,
                &settings,
                &mut progress_bar(&bar, train.len()),
            )?;
            bar.finish();
            history = h.epochs;
            model
        }
    };
    let test_eval = model.evaluate(&test)?;
    let train_eval = model.evaluate(&train)?;
    let mut out = Outcome::new(
        "mlp",
        "MLP 2-64-64-2 tanh, Adam with cosine decay",
        "generated: two spirals (1.5 turns), 400 train / 1000 test",
    );
    out.metric("test_accuracy", test_eval.accuracy.unwrap_or(f64::NAN))
        .metric("test_loss", test_eval.loss)
        .metric("train_accuracy", train_eval.accuracy.unwrap_or(f64::NAN))
        .reference(
            "test_accuracy",
            0.5,
            "chance level: the spirals are balanced and no line separates them",
        );
    if !history.is_empty() {
        plot_curves(ctx, &mut out, &history, "two spirals")?;
    }
    let points: Vec<(f64, f64, usize)> = (0..test.len())
        .map(|j| {
            (
                f64::from(test.x[(0, j)]),
                f64::from(test.x[(1, j)]),
                test.labels().map_or(0, |l| l[j]),
            )
        })
        .collect();
    let region = |x: f64, y: f64| {
        let p = Mat::from_column_slice(2, 1, &[x as f32, y as f32]);
        model
            .predict_classes(&p)
            .ok()
            .and_then(|c| c.first().copied())
            .unwrap_or(0)
    };
    plot::scatter(
        &ctx.out_path("mlp_spirals.svg"),
        "MLP decision regions on two spirals (test points)",
        &points,
        Some(&region),
        &[],
        Some(((-1.15, 1.15), (-1.15, 1.15))),
    )?;
    out.plot(
        "mlp_spirals.svg",
        format!(
            "Decision regions of the 2-64-64-2 tanh network on held-out spiral points: \
             test accuracy {:.3}. Two hidden layers bend the boundary around both arms.",
            test_eval.accuracy.unwrap_or(f64::NAN)
        ),
    );
    if ctx.load.is_none() {
        let mut model = model;
        model.save(ctx.out_path(SPIRALS_FILE))?;
        out.models.push(SPIRALS_FILE.into());
        out.models.push(SPIRALS_TRAINING_FILE.into());
    }
    Ok(out)
}

fn run_digits(ctx: &Ctx, file: &Path) -> crate::Result<Outcome> {
    let all = optim::data::load_optdigits::<f32>(file)?;
    let recipe = DigitsRecipe {
        epochs: ctx.epochs_or(100),
        seed: ctx.seed,
        ..DigitsRecipe::default()
    };
    // the recipe's own held-out split: the first draw of rng(seed)
    let labels = all.class_labels("optdigits")?.to_vec();
    let data = Dataset::classification(all.x.map(|v| v / 16.0), labels)?;
    let (_, held_out) = data.split(recipe.test_fraction, &mut rng(recipe.seed))?;
    let extra_test = match ctx.test_file(Kind::Optdigits)? {
        Some(t) => {
            let d = optim::data::load_optdigits::<f32>(&t)?;
            let labels = d.class_labels("optdigits test file")?.to_vec();
            Some(Dataset::classification(d.x.map(|v| v / 16.0), labels)?)
        }
        None => None,
    };
    let mut out = Outcome::new(
        "mlp",
        "MLP 64-256-128-10 ReLU, batch norm, dropout 0.2, AdamW, early stopping",
        match &ctx.test {
            Some(t) => format!("{} (test: {})", file.display(), t.display()),
            None => format!("{} (seeded 20 % held out)", file.display()),
        },
    );
    let mut extra: Vec<(&str, f64)> = Vec::new();
    let (model, history) = match &ctx.load {
        Some(path) => (Mlp::<f32>::load(path)?, Vec::new()),
        None => {
            let bar = ctx.progress.bar("mlp", recipe.epochs as u64, "epochs");
            let n_train = (all.len() as f64 * 0.8 * 0.9) as usize;
            let run = digits(&all, &recipe, &mut progress_bar(&bar, n_train))?;
            bar.finish();
            extra.push(("best_epoch", run.history.best_epoch.unwrap_or(0) as f64));
            extra.push((
                "validation_accuracy",
                run.validation.accuracy.unwrap_or(f64::NAN),
            ));
            (run.model, run.history.epochs)
        }
    };
    // one meaning of --test: the test metrics are computed on that file
    let test_set = extra_test.as_ref().unwrap_or(&held_out);
    let test = model.evaluate(test_set)?;
    out.metric("test_accuracy", test.accuracy.unwrap_or(f64::NAN))
        .metric("test_loss", test.loss)
        .reference(
            "test_accuracy",
            0.972,
            "scikit-learn MLPClassifier on a comparable optdigits split (0.971-0.974)",
        );
    for (name, value) in extra {
        out.metric(name, value);
    }
    if history.is_empty() {
        // evaluating a saved model: one plot of the held-out accuracy per class
        plot_per_class(ctx, &mut out, &model, test_set, 10, "Test")?;
    } else {
        plot_curves(ctx, &mut out, &history, "optdigits")?;
        let mut model = model;
        model.save(ctx.out_path(DIGITS_FILE))?;
        out.models.push(DIGITS_FILE.into());
    }
    Ok(out)
}

/// Test accuracy per class of `model` on `data` (classes `0..classes`), drawn into
/// `mlp_per_class.svg`: the plot of a run that loaded its model instead of training it.
fn plot_per_class(
    ctx: &Ctx,
    out: &mut Outcome,
    model: &Mlp<f32>,
    data: &Dataset<f32>,
    classes: usize,
    what: &str,
) -> Res {
    let predicted = model.predict_classes(&data.x)?;
    let labels = data.labels().unwrap_or(&[]);
    let per_class: Vec<(f64, f64)> = super::per_class_accuracy(labels, &predicted, classes);
    plot::lines(
        &ctx.out_path("mlp_per_class.svg"),
        &format!("{what} accuracy per class (loaded model)"),
        "class",
        "accuracy",
        &[("loaded MLP".to_string(), per_class)],
        false,
    )?;
    out.plot(
        "mlp_per_class.svg",
        format!("{what} accuracy of the loaded MLP for each class."),
    );
    Ok(())
}

/// Your table (`--train` CSV): a d-64-64-k ReLU network on standardized features, Adam with a
/// cosine decay, a seeded 10 % of the training rows for the validation curves.
fn run_table(ctx: &Ctx, table: Table) -> crate::Result<Outcome> {
    let f32_set = |d: &Dataset<f64>| -> crate::Result<Dataset<f32>> {
        let labels = d.class_labels("table")?.to_vec();
        Ok(Dataset::classification(d.x.map(|v| v as f32), labels)?)
    };
    let all = f32_set(&table.train)?;
    let test = f32_set(&table.test)?;
    let features = all.x.nrows();
    let epochs = ctx.epochs_or(100);
    let mut history = Vec::new();
    let model = match &ctx.load {
        Some(path) => Mlp::<f32>::load(path)?,
        None => {
            // a tenth of the rows, rounded, must be at least one row
            if all.len() < 5 {
                return Err(format!(
                    "mlp: {} training rows ({}); the chapter holds out 10 % of them for \
                     validation, which needs at least 5",
                    all.len(),
                    table.data
                )
                .into());
            }
            let (train, validation) = all.split(0.1, &mut rng(ctx.seed.wrapping_add(1)))?;
            let config = Config::classifier(features, &[64, 64], table.classes);
            let mut model = config.init::<f32>(&mut rng(ctx.seed))?;
            let mut adam = Adam::new(0.01)?;
            let settings = TrainConfig::new(epochs, 32)
                .seed(ctx.seed)
                .cosine(train.len(), 1e-4);
            let bar = ctx.progress.bar("mlp", epochs as u64, "epochs");
            let h = model.fit(
                &train,
                Some(&validation),
                &mut adam,
                &settings,
                &mut progress_bar(&bar, train.len()),
            )?;
            bar.finish();
            history = h.epochs;
            model
        }
    };
    let test_eval = model.evaluate(&test)?;
    let train_eval = model.evaluate(&all)?;
    let mut out = Outcome::new(
        "mlp",
        format!(
            "MLP {features}-64-64-{} ReLU, Adam with cosine decay",
            table.classes
        ),
        table.data.clone(),
    );
    out.metric("test_accuracy", test_eval.accuracy.unwrap_or(f64::NAN))
        .metric("test_loss", test_eval.loss)
        .metric("train_accuracy", train_eval.accuracy.unwrap_or(f64::NAN))
        .metric("majority_class_accuracy", table.majority_accuracy)
        .reference(
            "test_accuracy",
            table.majority_accuracy,
            "majority class of the training rows, on the same test rows",
        );
    if history.is_empty() {
        plot_per_class(ctx, &mut out, &model, &test, table.classes, "Test")?;
    } else {
        plot_curves(ctx, &mut out, &history, "your table")?;
        let mut model = model;
        model.save(ctx.out_path(TABLE_FILE))?;
        out.models.push(TABLE_FILE.into());
    }
    Ok(out)
}
