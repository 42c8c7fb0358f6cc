//! §9.1 restricted Boltzmann machines and deep belief networks: an energy-based model of the
//! data, trained by contrastive divergence, whose hidden units are features.
//!
//! Generated data (default): 6x6 binary "bars and stripes" with 5 % of the pixels flipped, the
//! class being the orientation; the RBM (36 x 16) is small enough for its exact log-likelihood,
//! which AIS is checked against. With `--train optdigits.tra` (or `--data-dir` without MNIST):
//! optdigits / 16, a seeded 20 % held out (or `--test`). With MNIST IDX files (preferred in a
//! `--data-dir`): the first 8000 images for training, the other 2000 held out, RBM 784 x 500,
//! and the AIS estimate of the test log-likelihood.
//!
//! With `--train` a CSV table (`--train FILE.csv [--test FILE.csv]`, a header line detected):
//! its features are the visible units, which take values in `[0, 1]`. A table whose values all
//! lie in `[0, 1]` is used as it is; one with larger values must be non-negative and is divided
//! by the training file's largest value `m` (as pixels by 255), the test file by the same `m`
//! ([`Scaling::UnitInterval`]). The label column (`--label-column`, default the last; class
//! indices or names) trains the classifiers on hidden probabilities, on the raw values and the
//! fine-tuned DBN; `--label-column none` reads every column as a feature, and the chapter
//! reports the generative metrics only (reconstruction error, log-likelihood). RBM
//! `features x h`, `h = clamp(features, 16, 100)`; with at most 20 features its exact
//! log-likelihood is reported too (the partition function by enumeration).

use super::{Ctx, Scaling, Table};
use crate::datafiles::{self, Kind};
use crate::plot;
use crate::report::Outcome;
use generative::rbm::{
    AisConfig, CdConfig, Classifier, Dbn, DbnConfig, MAX_ENUMERATED, Rbm, RbmConfig,
    base_rate_biases, features, fit_logistic,
};
use optim::checkpoint::{Checkpoint, Saveable, save_model};
use optim::data::Dataset;
use optim::serde::{Deserialize, Serialize};
use optim::train::{History, Progress, TrainConfig};
use optim::{Float, Mat, Param, Parameters, rng, visit_child};
use rand::Rng;
use std::path::PathBuf;

const SIDE: usize = 6;
/// The first RBM's CD training state (`--resume` continues from it).
const TRAINING_FILE: &str = "rbm.training.safetensors";

enum Task {
    Bars,
    Optdigits(PathBuf),
    Mnist(PathBuf, PathBuf),
    /// A CSV table (`--train`), its values scaled into `[0, 1]`, with or without labels.
    Table(Box<Table>),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::Bars => "bars",
            Task::Optdigits(_) => "optdigits",
            Task::Mnist(..) => "mnist",
            Task::Table(_) => "table",
        }
    }
    /// `(height, width)` of the images the plots draw: a table's `n` features are laid out row
    /// by row in a `ceil(n / w) x w` grid, `w = ceil(sqrt(n))`, padded with zeros.
    fn shape(&self) -> (usize, usize) {
        match self {
            Task::Bars => (SIDE, SIDE),
            Task::Optdigits(_) => (8, 8),
            Task::Mnist(..) => (28, 28),
            Task::Table(t) => {
                let n = t.train.x.nrows();
                let w = (1..=n).find(|w| w * w >= n).unwrap_or(1);
                (n.div_ceil(w), w)
            }
        }
    }
}

/// Each row padded with zeros to `len` values (a table's features in a rectangle of pixels).
fn pad(mut rows: Vec<Vec<f64>>, len: usize) -> Vec<Vec<f64>> {
    for r in &mut rows {
        r.resize(len.max(r.len()), 0.0);
    }
    rows
}

fn task(ctx: &Ctx) -> crate::Result<Task> {
    if let Some(p) = &ctx.train
        && (datafiles::sniff(p)? == Kind::Csv
            || (ctx.label_column.is_some() && datafiles::sniff(p)? == Kind::Optdigits))
    {
        let table = ctx
            .table_scaled("rbm", Scaling::UnitInterval)?
            .ok_or_else(|| format!("rbm: {} is not a CSV table", p.display()))?;
        return Ok(Task::Table(Box::new(table)));
    }
    if let Some(images) = ctx.optional_train_file(Kind::IdxImages)? {
        let labels = ctx.idx_labels_for(&images)?;
        return Ok(Task::Mnist(images, labels));
    }
    if let Some(file) = ctx.optional_train_file(Kind::Optdigits)? {
        return Ok(Task::Optdigits(file));
    }
    if ctx.train.is_some() {
        ctx.train_file(Kind::Optdigits)?;
    }
    Ok(Task::Bars)
}

/// `n` noisy 6x6 bars (class 0: rows on) or stripes (class 1: columns on).
fn bars(n: usize, r: &mut impl Rng) -> Dataset<f32> {
    let mut x = Mat::<f32>::zeros(SIDE * SIDE, n);
    let mut labels = Vec::with_capacity(n);
    for col in 0..n {
        let class = col % 2;
        let on: Vec<bool> = (0..SIDE).map(|_| r.random::<bool>()).collect();
        for i in 0..SIDE {
            for j in 0..SIDE {
                let lit = if class == 0 { on[i] } else { on[j] };
                let flip = r.random::<f64>() < 0.05;
                x[(i * SIDE + j, col)] = if lit ^ flip { 1.0 } else { 0.0 };
            }
        }
        labels.push(class);
    }
    Dataset::classification(x, labels).expect("one label per column")
}

fn data(ctx: &Ctx, task: &Task) -> crate::Result<(Dataset<f32>, Dataset<f32>, String)> {
    Ok(match task {
        Task::Bars => {
            let mut r = rng(ctx.seed);
            (
                bars(2000, &mut r),
                bars(1000, &mut r),
                format!(
                    "generated: {SIDE}x{SIDE} bars (class 0) and stripes (class 1), 5 % pixels flipped, 2000 train / 1000 test"
                ),
            )
        }
        Task::Optdigits(file) => {
            let mut all = optim::data::load_optdigits::<f32>(file)?;
            all.x /= 16.0;
            let (train, held_out) = all.split(0.2, &mut rng(ctx.seed))?;
            let test = match ctx.test_file(Kind::Optdigits)? {
                Some(t) => {
                    let mut t = optim::data::load_optdigits::<f32>(t)?;
                    t.x /= 16.0;
                    t
                }
                None => held_out,
            };
            (
                train,
                test,
                format!("{} / 16 (seeded 20 % held out)", file.display()),
            )
        }
        Task::Mnist(images, labels) => {
            if ctx.test.is_some() {
                return Err(
                    "rbm: --test is not used with MNIST (the last 2000 images are held out)".into(),
                );
            }
            let all = optim::data::load_mnist::<f32>(images, labels)?;
            if all.len() < 2 {
                return Err(format!("{}: needs at least 2 images", images.display()).into());
            }
            let split = (all.len() * 4 / 5).max(1);
            let train = all.select(&(0..split).collect::<Vec<_>>());
            let test = all.select(&(split..all.len()).collect::<Vec<_>>());
            (
                train,
                test,
                format!(
                    "{} / 255, first {split} images train, other {} held out",
                    images.display(),
                    all.len() - split
                ),
            )
        }
        Task::Table(table) => (
            to_f32(&table.train),
            to_f32(&table.test),
            table.data.clone(),
        ),
    })
}

/// A table's data in `f32`, labels (or the empty targets of a table without labels) kept.
fn to_f32(d: &Dataset<f64>) -> Dataset<f32> {
    Dataset {
        x: d.x.map(|v| v as f32),
        targets: match &d.targets {
            optim::data::Targets::Classes(l) => optim::data::Targets::Classes(l.clone()),
            optim::data::Targets::Values(y) => optim::data::Targets::Values(y.map(|v| v as f32)),
        },
    }
}

/// Everything the chapter trains, saved in one file: the DBN (its first RBM is the chapter's
/// RBM) and, when the data has labels, the classifiers.
struct ChapterModel {
    dbn: Dbn<f32>,
    readouts: Option<Readouts>,
}

/// The classifiers of labelled data: logistic read-outs on hidden probabilities and on pixels,
/// the fine-tuned DBN.
struct Readouts {
    on_features: Classifier<f32>,
    on_pixels: Classifier<f32>,
    fine_tuned: Classifier<f32>,
}

#[derive(Serialize, Deserialize)]
#[serde(crate = "optim::serde")]
struct ChapterConfig {
    dbn: DbnConfig,
    /// Number of classes; 0: no labels, no classifiers.
    classes: usize,
}

fn widths(dbn: &DbnConfig, classes: usize) -> Vec<usize> {
    let mut w = vec![dbn.visible];
    w.extend(&dbn.hidden);
    w.push(classes);
    w
}

fn linear_count(widths: &[usize]) -> Option<usize> {
    widths.windows(2).try_fold(0usize, |acc, w| {
        acc.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
    })
}

impl Parameters<f32> for ChapterModel {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f32>)) {
        visit_child("dbn", &mut self.dbn, visit);
        if let Some(r) = &mut self.readouts {
            visit_child("on_features", &mut r.on_features, visit);
            visit_child("on_pixels", &mut r.on_pixels, visit);
            visit_child("fine_tuned", &mut r.fine_tuned, visit);
        }
    }
}

impl Saveable<f32> for ChapterModel {
    const KIND: &'static str = "tour-rbm";
    type Config = ChapterConfig;
    fn config(&self) -> ChapterConfig {
        ChapterConfig {
            dbn: self.dbn.config(),
            classes: self.classes(),
        }
    }
    fn parameter_count(c: &ChapterConfig) -> Option<usize> {
        if c.classes == 0 {
            return c.dbn.parameter_count();
        }
        let h0 = *c.dbn.hidden.first()?;
        c.dbn
            .parameter_count()?
            .checked_add(linear_count(&[h0, c.classes])?)?
            .checked_add(linear_count(&[c.dbn.visible, c.classes])?)?
            .checked_add(linear_count(&widths(&c.dbn, c.classes))?)
    }
    fn from_config(c: &ChapterConfig) -> optim::Result<Self> {
        let dbn = <Dbn<f32> as Saveable<f32>>::from_config(&c.dbn)?;
        let mut r = rng(0);
        let readouts = (c.classes > 0).then(|| Readouts {
            on_features: Classifier::logistic(c.dbn.hidden[0], c.classes, &mut r),
            on_pixels: Classifier::logistic(c.dbn.visible, c.classes, &mut r),
            fine_tuned: Classifier::new(&widths(&c.dbn, c.classes), &mut r),
        });
        Ok(ChapterModel { dbn, readouts })
    }
}

impl ChapterModel {
    /// Number of classes of the read-outs; 0 without labels.
    fn classes(&self) -> usize {
        self.readouts
            .as_ref()
            .map_or(0, |r| r.fine_tuned.layers.last().map_or(0, |l| l.outputs()))
    }
}

struct Settings {
    hidden: Vec<usize>,
    cd: CdConfig,
    fine_tune_epochs: usize,
    logistic_epochs: usize,
    ais: AisConfig,
}

fn settings(ctx: &Ctx, task: &Task) -> Settings {
    let seed = ctx.seed;
    // optdigits' settings; a CSV table takes them with its own widths and fewer temperatures
    let digits = || Settings {
        hidden: vec![100, 100],
        cd: CdConfig {
            epochs: ctx.epochs_or(30),
            batch_size: 20,
            learning_rate: 0.05,
            seed,
            ..CdConfig::default()
        },
        fine_tune_epochs: 30,
        logistic_epochs: 60,
        ais: AisConfig {
            chains: 100,
            temperatures: 5000,
            seed,
        },
    };
    match task {
        Task::Bars => Settings {
            hidden: vec![16, 16],
            cd: CdConfig {
                epochs: ctx.epochs_or(30),
                batch_size: 20,
                learning_rate: 0.05,
                seed,
                ..CdConfig::default()
            },
            fine_tune_epochs: 10,
            logistic_epochs: 30,
            ais: AisConfig {
                chains: 100,
                temperatures: 2000,
                seed,
            },
        },
        Task::Optdigits(_) => digits(),
        Task::Table(t) => {
            let h = t.train.x.nrows().clamp(16, 100);
            let d = digits();
            Settings {
                hidden: vec![h, h],
                ais: AisConfig {
                    temperatures: 2000,
                    ..d.ais
                },
                ..d
            }
        }
        Task::Mnist(..) => Settings {
            hidden: vec![500, 500],
            cd: CdConfig {
                epochs: ctx.epochs_or(10),
                batch_size: 100,
                learning_rate: 0.05,
                seed,
                ..CdConfig::default()
            },
            fine_tune_epochs: 5,
            logistic_epochs: 20,
            ais: AisConfig {
                chains: 100,
                temperatures: 10_000,
                seed,
            },
        },
    }
}

fn to_rows<F: Float>(m: &Mat<F>, count: usize) -> Vec<Vec<f64>> {
    (0..count.min(m.ncols()))
        .map(|c| m.column(c).iter().map(|x| x.to_f64()).collect())
        .collect()
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    let task = task(ctx)?;
    let (train, test, words) = data(ctx, &task)?;
    let s = settings(ctx, &task);
    // 0 for a table without labels: no classifiers
    let classes = train.classes().max(test.classes());
    let dbn_config = DbnConfig {
        visible: train.x.nrows(),
        hidden: s.hidden.clone(),
    };
    let mut out = Outcome::new(
        "rbm",
        if classes > 0 {
            format!(
                "RBM {}x{} CD-{} (momentum, decay), DBN {:?} fine-tuned with Adam, logistic \
                 read-outs",
                train.x.nrows(),
                s.hidden[0],
                s.cd.k,
                widths(&dbn_config, classes)
            )
        } else {
            format!(
                "RBM {}x{} CD-{} (momentum, decay), DBN {:?} (no labels: no classifiers)",
                train.x.nrows(),
                s.hidden[0],
                s.cd.k,
                widths(&dbn_config, 0)
                    .split_last()
                    .map_or(&[][..], |(_, w)| w)
            )
        },
        words,
    );
    let mut history = History::default();
    let mut random_accuracy = None;
    let mut model = match &ctx.load {
        Some(path) => {
            let ck = Checkpoint::<f32>::read(path)?;
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
            let mut m: ChapterModel = ck.build_model()?;
            ck.load_into(&mut m)?;
            if m.dbn.layers[0].visible() != train.x.nrows() || m.classes() != classes {
                return Err(format!(
                    "{}: a model for {} inputs and {} classes, this run's data has {} and {}",
                    path.display(),
                    m.dbn.layers[0].visible(),
                    m.classes(),
                    train.x.nrows(),
                    classes
                )
                .into());
            }
            m
        }
        None => {
            let visible = train.x.nrows();
            let mut r = rng(ctx.seed + 1);
            let mut rbm = Rbm::<f32>::new(RbmConfig::new(visible, s.hidden[0]), &mut r)?;
            rbm.init_visible_bias(&train.x)?;
            // --resume: the first RBM's CD run continues from the state an earlier run saved
            let mut cd = s.cd.clone();
            let mut from = None;
            if let Some(path) = ctx.resume_file("rbm", TRAINING_FILE)? {
                let (saved_rbm, saved, state) = Rbm::<f32>::load_training(&path)?;
                let same = CdConfig {
                    epochs: cd.epochs,
                    ..saved.clone()
                };
                if same != cd || saved_rbm.config() != rbm.config() {
                    return Err(format!(
                        "--resume {}: the RBM was trained with other settings or data ({} \
                         visible x {} hidden, seed {}); this run: {} x {}, seed {}",
                        path.display(),
                        saved_rbm.visible(),
                        saved_rbm.hidden(),
                        saved.seed,
                        rbm.visible(),
                        rbm.hidden(),
                        cd.seed
                    )
                    .into());
                }
                cd.epochs = ctx.epochs.map_or(saved.epochs, |e| e as usize);
                rbm = saved_rbm;
                from = Some(state);
            }
            let total = cd.epochs as u64;
            let bar = ctx.progress.bar("rbm", total, "epochs");
            let n = train.len();
            let cd_batch = cd.batch_size;
            // --stop-after-epochs: this call's epochs (the saved configuration keeps the total)
            let this_call = CdConfig {
                epochs: ctx.stop_epoch(from.as_ref().map_or(0, |s| s.position.epoch), cd.epochs),
                ..cd.clone()
            };
            let (h, state) = rbm.train_cd_resume(
                &train.x,
                Some(&test.x),
                &this_call,
                from.as_ref(),
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
                        bar.update(
                            epoch as u64,
                            loss,
                            ((epoch - 1) * n + (batch * cd_batch).min(n)) as u64,
                        );
                    }
                },
            )?;
            bar.finish();
            history = h;
            rbm.save_training(ctx.out_path(TRAINING_FILE), &cd, &state)?;
            ctx.note_stop("rbm", state.position.epoch, cd.epochs);
            out.models.push(TRAINING_FILE.into());
            // DBN: the RBM is its first layer; the rest are trained greedily on its features
            let h1 = rbm.hidden_probs(&train.x)?;
            let mut upper = Dbn::<f32>::new(
                &DbnConfig {
                    visible: s.hidden[0],
                    hidden: s.hidden[1..].to_vec(),
                },
                &mut r,
            )?;
            upper.pretrain(
                &h1,
                &CdConfig {
                    monitor_examples: 0,
                    seed: ctx.seed + 2,
                    ..s.cd.clone()
                },
                &mut |_, _| {},
            )?;
            let mut layers = vec![rbm];
            layers.extend(upper.layers);
            let dbn = Dbn { layers };
            let readouts = if classes == 0 {
                None
            } else {
                let (on_features, _) = fit_logistic(
                    &features(&dbn.layers[0], &train)?,
                    &features(&dbn.layers[0], &test)?,
                    s.logistic_epochs,
                    1e-2,
                    ctx.seed + 3,
                )?;
                let (on_pixels, _) =
                    fit_logistic(&train, &test, s.logistic_epochs, 1e-2, ctx.seed + 3)?;
                let fine = TrainConfig::new(s.fine_tune_epochs, 32).seed(ctx.seed + 4);
                let (fine_tuned, random) =
                    dbn.fine_tune_against_random(classes, &train, &fine, 1e-3, ctx.seed + 5)?;
                random_accuracy = Some(random.accuracy(&test)?);
                Some(Readouts {
                    on_features,
                    on_pixels,
                    fine_tuned,
                })
            };
            ChapterModel { dbn, readouts }
        }
    };
    let rbm = &model.dbn.layers[0];
    out.metric(
        "test_reconstruction_mse",
        rbm.reconstruction_error(&test.x)?,
    );
    if let Some(r) = &model.readouts {
        out.metric(
            "features_test_accuracy",
            r.on_features.accuracy(&features(rbm, &test)?)?,
        )
        .metric("raw_pixels_test_accuracy", r.on_pixels.accuracy(&test)?)
        .metric("dbn_test_accuracy", r.fine_tuned.accuracy(&test)?);
    }
    if let Some(a) = random_accuracy {
        out.metric("random_init_test_accuracy", a);
    }
    let ais = rbm.ais_log_partition(&s.ais, Some(&base_rate_biases(&train.x)))?;
    let ais_ll = rbm.log_likelihood_given(&test.x, ais.log_z)?;
    match &task {
        Task::Table(table) => {
            if rbm.hidden().min(rbm.visible()) <= MAX_ENUMERATED {
                out.metric(
                    "exact_test_log_likelihood",
                    rbm.exact_log_likelihood(&test.x)?,
                );
            }
            out.metric("ais_test_log_likelihood", ais_ll)
                .metric("ais_log_z_std_error", ais.std_error);
            if table.classes > 0 {
                out.metric("majority_class_accuracy", table.majority_accuracy)
                    .reference(
                        "features_test_accuracy",
                        table.majority_accuracy,
                        "always answering the training rows' most frequent class",
                    );
            }
        }
        Task::Bars => {
            out.metric(
                "exact_test_log_likelihood",
                rbm.exact_log_likelihood(&test.x)?,
            )
            .metric("ais_test_log_likelihood", ais_ll)
            .metric("ais_log_z_std_error", ais.std_error);
        }
        Task::Optdigits(_) => {
            out.metric("ais_test_log_likelihood", ais_ll);
            out.reference(
                "test_reconstruction_mse",
                0.04,
                "the rbm issue's bar for 100 hidden units",
            )
            .reference(
                "features_test_accuracy",
                0.97,
                "the rbm issue's bar (scikit-learn's example: 0.94 on its augmented digits)",
            );
        }
        Task::Mnist(..) => {
            out.metric("ais_test_log_likelihood", ais_ll)
                .metric("ais_log_z_std_error", ais.std_error);
            out.reference(
                "ais_test_log_likelihood",
                -86.3,
                "Salakhutdinov & Murray 2008, CD-25, 500 hidden, trained on 60 000 images",
            );
        }
    }

    // plots: filters, Gibbs samples, learning curves
    let (height, width) = task.shape();
    let count = rbm.hidden().min(64);
    plot::image_grid(
        &ctx.out_path("rbm_filters.svg"),
        "RBM filters (rows of W)",
        &pad(rbm.filters(count), height * width),
        height,
        width,
        count.min(8),
    )?;
    out.plot("rbm_filters.svg", format!("The weights of the first {count} hidden units, each scaled to its own range: the features p(h|v) reads."));
    let (samples, _) = rbm.sample(16, 1000, &mut rng(ctx.seed + 6))?;
    plot::image_grid(
        &ctx.out_path("rbm_samples.svg"),
        "RBM samples after 1000 Gibbs steps",
        &pad(to_rows(&samples, 16), height * width),
        height,
        width,
        8,
    )?;
    out.plot(
        "rbm_samples.svg",
        "p(v|h) after 1000 rounds of block Gibbs sampling from random binary images.",
    );
    let dbn_samples = model.dbn.sample(16, 1000, &mut rng(ctx.seed + 7))?;
    plot::image_grid(
        &ctx.out_path("rbm_dbn_samples.svg"),
        "DBN ancestral samples",
        &pad(to_rows(&dbn_samples, 16), height * width),
        height,
        width,
        8,
    )?;
    out.plot(
        "rbm_dbn_samples.svg",
        "Gibbs sampling in the top RBM, then one top-down pass through the lower one.",
    );
    if !history.epochs.is_empty() {
        let series = |f: &dyn Fn(&optim::EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
            history
                .epochs
                .iter()
                .filter_map(|e| f(e).map(|v| (e.epoch as f64, v)))
                .collect()
        };
        plot::lines(
            &ctx.out_path("rbm_curves.svg"),
            "RBM reconstruction error per epoch",
            "epoch",
            "mean squared error per pixel",
            &[
                (
                    "training (during the epoch)".to_string(),
                    series(&|e| Some(e.train_loss)),
                ),
                (
                    "held out".to_string(),
                    series(&|e| e.validation.map(|v| v.loss)),
                ),
            ],
            false,
        )?;
        out.plot("rbm_curves.svg", "The guide's cheap monitor: reconstruction error of the training batches and of the held-out data.");
        plot::lines(
            &ctx.out_path("rbm_free_energy_gap.svg"),
            "Free-energy gap (held out − training)",
            "epoch",
            "mean F(held out) − mean F(train)",
            &[("gap".to_string(), series(&|e| e.term("free_energy_gap")))],
            false,
        )?;
        out.plot("rbm_free_energy_gap.svg", "Hinton's overfitting monitor: it grows when the model fits the training images better than unseen ones.");
        let file = format!("rbm_{}.safetensors", task.name());
        save_model(
            ctx.out_path(&file),
            &mut model,
            &[("task", task.name().to_string())],
        )?;
        out.models.push(file);
    }
    Ok(out)
}
