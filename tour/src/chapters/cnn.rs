//! §6 spatial inductive bias: local receptive fields, parameter sharing and translation
//! equivariance, built into the model by convolution.
//!
//! Generated data: 12x12 images of a vertical or a horizontal bar anywhere on noise; the class
//! does not depend on where the bar is, which is what weight sharing exploits. The learned 5x5
//! filters are drawn. With `--data-dir`: the small digit CNN of the `cnn` crate on optdigits
//! (8x8 as a one-channel image, seeded 80/20 split), or — preferred when both are there, since it
//! takes seconds — LeNet-5 on MNIST IDX files (8000 of the images for training, 2000 held out).
//! With `--train` a CSV table whose row holds `s²` features: one-channel `s x s` images
//! (standardized features, class labels or names as in the mlp chapter) for a small CNN.

use super::{Ctx, Table};
use crate::datafiles::{self, Kind};
use crate::plot;
use crate::report::Outcome;
use cnn::{Cnn, ImageShape};
use optim::data::Dataset;
use optim::train::{EpochRecord, History, Progress, TrainConfig, Trainable};
use optim::{Adam, rng};
use std::path::PathBuf;

/// Side of the generated bar images.
const SIDE: usize = 12;
/// The training checkpoint (`--resume` continues from it).
const TRAINING_FILE: &str = "cnn.training.safetensors";

/// What a run trains on.
enum Task {
    Bars,
    Optdigits(PathBuf),
    Mnist(PathBuf, PathBuf),
    /// A CSV table of `side²` features per row: one-channel `side x side` images.
    Table(Table, usize),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::Bars => "bars",
            Task::Optdigits(_) => "optdigits",
            Task::Mnist(..) => "mnist",
            Task::Table(..) => "table",
        }
    }
}

fn task(ctx: &Ctx) -> crate::Result<Task> {
    // LeNet-5 on MNIST takes seconds here, so MNIST goes first when both are there
    if let Some(images) = ctx.optional_train_file(Kind::IdxImages)? {
        let labels = ctx.idx_labels_for(&images)?;
        return Ok(Task::Mnist(images, labels));
    }
    if let Some(p) = &ctx.train
        && datafiles::sniff(p)? == Kind::Csv
    {
        let table = ctx
            .table("cnn")?
            .ok_or_else(|| format!("cnn: {} is not a CSV table", p.display()))?;
        let features = table.train.x.nrows();
        let side = features.isqrt();
        if side * side != features || side < 2 {
            return Err(format!(
                "cnn: {} has {features} features per row; the CNN reads a row as a square \
                 one-channel image, so it needs a square number of features (4, 9, 16, …, 64, 784)",
                p.display()
            )
            .into());
        }
        return Ok(Task::Table(table, side));
    }
    if let Some(file) = ctx.optional_train_file(Kind::Optdigits)? {
        return Ok(Task::Optdigits(file));
    }
    if ctx.train.is_some() {
        // --train holds none of this chapter's kinds: let the usual check name the problem
        ctx.train_file(Kind::Optdigits)?;
    }
    Ok(Task::Bars)
}

/// The bar classifier: conv 5x5 (8 filters, same padding) → ReLU → max-pool 2 → dense 2.
fn bars_net(seed: u64) -> crate::Result<Cnn<f32>> {
    let mut r = rng(seed);
    Ok(Cnn::<f32>::builder(ImageShape::new(1, SIDE, SIDE))
        .conv(8, 5, 1, 2, &mut r)?
        .relu()
        .max_pool(2, 2)?
        .flatten()
        .dense(2, &mut r)?
        .build())
}

/// The CNN of a table of `side x side` images: conv 3x3 (8 filters, same padding) → ReLU →
/// [max-pool 2 when `side ≥ 4`] → dense to the classes.
fn table_net(side: usize, classes: usize, seed: u64) -> crate::Result<Cnn<f32>> {
    let mut r = rng(seed);
    let mut b = Cnn::<f32>::builder(ImageShape::new(1, side, side))
        .conv(8, 3, 1, 1, &mut r)?
        .relu();
    if side >= 4 {
        b = b.max_pool(2, 2)?;
    }
    Ok(b.flatten().dense(classes, &mut r)?.build())
}

/// The task's network; the digit recipes train with their augmentation unless `augment` is
/// false (`--no-augment`).
fn net_for(task: &Task, seed: u64, augment: bool) -> crate::Result<Cnn<f32>> {
    let on = |a: Option<optim::Augment>| a.filter(|_| augment);
    Ok(match task {
        Task::Bars => bars_net(seed)?,
        Task::Optdigits(_) => {
            Cnn::digits(&mut rng(seed)).with_augmentation(on(cnn::net::DIGITS_AUGMENT))?
        }
        Task::Mnist(..) => {
            Cnn::lenet5(&mut rng(seed)).with_augmentation(on(cnn::net::LENET_AUGMENT))?
        }
        Task::Table(table, side) => table_net(*side, table.classes, seed)?,
    })
}

/// `(train, held out, words)` of a task.
fn data(ctx: &Ctx, task: &Task) -> crate::Result<(Dataset<f32>, Dataset<f32>, String)> {
    Ok(match task {
        Task::Bars => {
            let mut r = rng(ctx.seed);
            let train = cnn::data::bars::<f32>(2000, SIDE, 0.5, &mut r);
            let test = cnn::data::bars::<f32>(1000, SIDE, 0.5, &mut r);
            (
                train,
                test,
                format!(
                    "generated: {SIDE}x{SIDE} vertical/horizontal bars on noise (sd 0.5), 2000 train / 1000 test"
                ),
            )
        }
        Task::Optdigits(file) => {
            let all = cnn::data::optdigits::<f32>(file)?;
            let (train, held_out) = all.split(0.2, &mut rng(ctx.seed))?;
            let test = match ctx.test_file(Kind::Optdigits)? {
                Some(t) => cnn::data::optdigits::<f32>(t)?,
                None => held_out,
            };
            (
                train,
                test,
                format!(
                    "{} as 1x8x8 images / 16 (seeded 20 % held out)",
                    file.display()
                ),
            )
        }
        Task::Table(table, side) => {
            let f32_set = |d: &Dataset<f64>| -> crate::Result<Dataset<f32>> {
                let labels = d.class_labels("table")?.to_vec();
                Ok(Dataset::classification(d.x.map(|v| v as f32), labels)?)
            };
            (
                f32_set(&table.train)?,
                f32_set(&table.test)?,
                format!("{} as 1x{side}x{side} images", table.data),
            )
        }
        Task::Mnist(images, labels) => {
            if ctx.test.is_some() {
                return Err(
                    "cnn: --test is not used with MNIST (20 % of the images are held out)".into(),
                );
            }
            let all = optim::data::load_mnist::<f32>(images, labels)?;
            let (train, held_out) = all.split(0.2, &mut rng(ctx.seed))?;
            (
                train,
                held_out,
                format!("{} (28x28 / 255, seeded 20 % held out)", images.display()),
            )
        }
    })
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    let task = task(ctx)?;
    let (train, test, words) = data(ctx, &task)?;
    let mut net = net_for(&task, ctx.seed + 1, !ctx.no_augment)?;
    let model_name = match task {
        Task::Bars => "CNN conv5x5(8)-pool-dense, Adam",
        Task::Optdigits(_) => "digit CNN conv3x3(16)-conv3x3(32)-pool-dense(64), Adam, cosine",
        Task::Mnist(..) => "LeNet-5 (ReLU, max-pool), Adam, cosine",
        Task::Table(..) => "CNN conv3x3(8)-pool-dense, Adam",
    };
    let model_name = match net.augmentation() {
        Some(a) if a.max_rotation_degrees > 0.0 => format!(
            "{model_name}, shifts ±{} px and rotations ±{}° in training",
            a.max_shift, a.max_rotation_degrees
        ),
        Some(a) => format!("{model_name}, shifts ±{} px in training", a.max_shift),
        None => model_name.to_string(),
    };
    let mut out = Outcome::new("cnn", model_name.clone(), words);
    let mut history = History::default();
    match &ctx.load {
        Some(path) => {
            let ck = optim::checkpoint::Checkpoint::<f32>::read(path)?;
            if let Some(saved) = ck.metadata.get("task")
                && saved != task.name()
            {
                return Err(format!(
                    "{}: a model for {saved}, but this run's data is {}",
                    path.display(),
                    task.name()
                )
                .into());
            }
            // the file records its architecture; it must take this task's images
            let mut loaded: Cnn<f32> = ck.build_model()?;
            ck.load_into(&mut loaded)?;
            if loaded.input_shape() != net.input_shape() {
                return Err(format!(
                    "{}: a model for {} images, but this run's images are {}",
                    path.display(),
                    loaded.input_shape(),
                    net.input_shape()
                )
                .into());
            }
            net = loaded;
        }
        None => {
            let (epochs, lr, config) = match task {
                Task::Table(..) => {
                    let epochs = ctx.epochs_or(30);
                    (epochs, 1e-2, TrainConfig::new(epochs, 32).seed(ctx.seed))
                }
                Task::Bars => {
                    let epochs = ctx.epochs_or(15);
                    (epochs, 1e-2, TrainConfig::new(epochs, 32).seed(ctx.seed))
                }
                Task::Optdigits(_) => {
                    let epochs = ctx.epochs_or(15);
                    (
                        epochs,
                        cnn::net::DIGITS_LR,
                        cnn::net::digits_config(train.len(), Some(epochs)),
                    )
                }
                Task::Mnist(..) => {
                    let epochs = ctx.epochs_or(10);
                    (
                        epochs,
                        cnn::net::LENET_LR,
                        cnn::net::lenet_config(train.len(), Some(epochs)),
                    )
                }
            };
            let mut adam = Adam::new(lr)?;
            let bar = ctx.progress.bar("cnn", epochs as u64, "epochs");
            let n = train.len();
            let batch_size = config.batch_size;
            history = ctx.fit_resumable(
                "cnn",
                &format!("{model_name} on {}, seed {}", task.name(), ctx.seed),
                TRAINING_FILE,
                &mut net,
                &train,
                Some(&test),
                &mut adam,
                &config,
                &mut |p| {
                    if let Progress::Step {
                        epoch,
                        batch,
                        batches,
                        loss,
                        ..
                    } = p
                        && (batch == batches || batch % 10 == 1)
                    {
                        let seen = (epoch - 1) * n + (batch * batch_size).min(n);
                        bar.update(epoch as u64, loss, seen as u64);
                    }
                },
            )?;
            bar.finish();
            out.models.push(TRAINING_FILE.into());
        }
    }
    let eval = net.evaluate(&test)?;
    out.metric("test_accuracy", eval.accuracy.unwrap_or(0.0))
        .metric("test_loss", eval.loss)
        .metric("parameters", optim::param_count(&mut net) as f64);
    match task {
        Task::Bars => {
            out.reference("test_accuracy", 0.5, "chance level (balanced classes)");
        }
        Task::Optdigits(_) => {
            out.reference(
                "test_accuracy",
                0.989,
                "RBF-kernel SVM on optdigits (cnn issue; the MLP baseline is about 0.97)",
            );
        }
        Task::Table(ref table, _) => {
            out.metric("majority_class_accuracy", table.majority_accuracy)
                .reference(
                    "test_accuracy",
                    table.majority_accuracy,
                    "majority class of the training rows, on the same test rows",
                );
        }
        Task::Mnist(..) => {
            out.reference(
                "test_accuracy",
                0.97,
                "the cnn issue's bar for LeNet-5 on 8000 MNIST test images",
            );
        }
    }

    // learned filters of the first convolution
    let convs = net.conv_layers();
    if let Some((_, conv)) = convs.first() {
        let filters: Vec<Vec<f64>> = conv
            .filters()
            .iter()
            .map(|per_input| {
                per_input[0]
                    .transpose() // row-major values from a column-major matrix
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            })
            .collect();
        let k = conv.config().kernel.0;
        let cols = filters.len().min(8);
        plot::image_grid(
            &ctx.out_path("cnn_filters.svg"),
            &format!("First-layer {k}x{k} filters (dark = large weight)"),
            &filters,
            k,
            conv.config().kernel.1,
            cols,
        )?;
        out.plot(
            "cnn_filters.svg",
            format!(
                "The {} learned {k}x{k} filters of the first convolution, each scaled to its own \
                 range: the same weights slide over every position of the image.",
                filters.len()
            ),
        );
    }
    if !history.epochs.is_empty() {
        let series = |f: fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
            history
                .epochs
                .iter()
                .filter_map(|e| f(e).map(|v| (e.epoch as f64, v)))
                .collect()
        };
        plot::lines(
            &ctx.out_path("cnn_curves.svg"),
            "CNN accuracy per epoch",
            "epoch",
            "accuracy",
            &[
                ("training".to_string(), series(|e| e.train_accuracy)),
                (
                    "held out".to_string(),
                    series(|e| e.validation.and_then(|v| v.accuracy)),
                ),
            ],
            false,
        )?;
        out.plot(
            "cnn_curves.svg",
            "Training accuracy (during each epoch's steps) and held-out accuracy (after each \
             epoch) of the CNN.",
        );
        let file = format!("cnn_{}.safetensors", task.name());
        net.save(ctx.out_path(&file), &[("task", task.name().to_string())])?;
        out.models.push(file);
    }
    Ok(out)
}
