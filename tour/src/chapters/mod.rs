//! One module per chapter. Each `run(ctx)` trains (or loads, with `--load`) its model on
//! generated data or on the real files the context finds, writes its plots and saved model into
//! the output folder, and returns an [`Outcome`] with fixed metric names.

use crate::datafiles::{self, ClassNames, Kind, ValueRange};
use crate::progress::Progress;
use crate::report::Outcome;
use crate::{Chapter, Cli};
use ::optim::data::Dataset;
use std::path::{Path, PathBuf};

mod anfis;
mod autoencoder;
mod cnn;
mod gan;
mod mlp;
mod optim;
mod perceptron;
pub mod principles;
mod rbf;
mod rbm;
mod rnn;
mod seq2seq;
mod som;
mod transformer;

/// What every chapter gets: budgets, seed, folders and files.
pub struct Ctx {
    /// `--epochs`, if given.
    pub epochs: Option<u64>,
    /// `--seed`.
    pub seed: u64,
    /// Output folder (exists).
    pub out: PathBuf,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--train`.
    pub train: Option<PathBuf>,
    /// `--test`.
    pub test: Option<PathBuf>,
    /// `--load`.
    pub load: Option<PathBuf>,
    /// `--label-column` (an index or a header name) of a CSV table.
    pub label_column: Option<String>,
    /// `--resume`: the folder of the training checkpoint to continue from.
    pub resume: Option<PathBuf>,
    /// `--stop-after-epochs`: epochs of this run after which training ends, its checkpoint
    /// written.
    pub stop_after_epochs: Option<usize>,
    /// Progress bars.
    pub progress: Progress,
    /// `--no-augment`: train without the recipes' data augmentation.
    pub no_augment: bool,
}

/// The chapters that save a training checkpoint into `--out` and continue from it with
/// `--resume DIR` (and stop early with `--stop-after-epochs`).
pub const RESUMABLE: [Chapter; 11] = [
    Chapter::Perceptron,
    Chapter::Mlp,
    Chapter::Autoencoder,
    Chapter::Cnn,
    Chapter::Rnn,
    Chapter::Seq2seq,
    Chapter::Transformer,
    Chapter::Rbm,
    Chapter::Gan,
    Chapter::Som,
    Chapter::Anfis,
];

/// The names of the [`RESUMABLE`] chapters, for messages.
pub fn resumable_names() -> String {
    RESUMABLE
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Metadata of a tour training checkpoint: the chapter and run that wrote it.
const TOUR_RUN_KEY: &str = "tour.run";
/// Metadata of a tour training checkpoint of the shared loop: its `TrainConfig` (JSON).
const TOUR_TRAIN_CONFIG_KEY: &str = "tour.train_config";

impl Ctx {
    /// The context of a command line.
    pub fn new(cli: &Cli) -> Self {
        Ctx {
            epochs: cli.epochs,
            seed: cli.seed,
            out: cli.out.clone(),
            data_dir: cli.data_dir.clone(),
            train: cli.train.clone(),
            test: cli.test.clone(),
            load: cli.load.clone(),
            label_column: cli.label_column.clone(),
            resume: cli.resume.clone(),
            stop_after_epochs: cli.stop_after_epochs.map(|k| k as usize),
            progress: Progress::new(cli.quiet || cli.json),
            no_augment: cli.no_augment,
        }
    }

    /// `--epochs` or the chapter's default.
    pub fn epochs_or(&self, default: u64) -> usize {
        self.epochs.unwrap_or(default) as usize
    }

    /// The training file of `kind`: `--train` (checked to hold `kind`) or the first such file
    /// in `--data-dir`; `None` means "use generated data".
    pub fn train_file(&self, kind: Kind) -> crate::Result<Option<PathBuf>> {
        self.file(self.train.as_deref(), kind)
    }

    /// Like [`Ctx::train_file`] for a chapter that reads several kinds: `--train` when it holds
    /// `kind` (and `None`, not an error, when it holds another of the chapter's kinds), else the
    /// first file of `kind` in `--data-dir`.
    pub fn optional_train_file(&self, kind: Kind) -> crate::Result<Option<PathBuf>> {
        match &self.train {
            Some(p) => Ok((datafiles::sniff(p)? == kind).then(|| p.clone())),
            None => self.train_file(kind),
        }
    }

    /// The IDX labels file that goes with the IDX `images`: beside them, else in `--data-dir`.
    pub fn idx_labels_for(&self, images: &Path) -> crate::Result<PathBuf> {
        let folder = images.parent().unwrap_or(Path::new("."));
        Ok(datafiles::find(folder, Kind::IdxLabels)
            .or_else(|| {
                self.data_dir
                    .as_deref()
                    .and_then(|d| datafiles::find(d, Kind::IdxLabels))
            })
            .ok_or_else(|| {
                format!(
                    "{}: IDX images, but no IDX labels file beside them",
                    images.display()
                )
            })?)
    }

    /// The test file of `kind`: `--test` or `None` (chapters then hold out part of the training
    /// file).
    pub fn test_file(&self, kind: Kind) -> crate::Result<Option<PathBuf>> {
        match &self.test {
            Some(p) => {
                datafiles::expect(p, kind)?;
                Ok(Some(p.clone()))
            }
            None => Ok(None),
        }
    }

    fn file(&self, given: Option<&Path>, kind: Kind) -> crate::Result<Option<PathBuf>> {
        if let Some(p) = given {
            datafiles::expect(p, kind)?;
            return Ok(Some(p.to_path_buf()));
        }
        Ok(self
            .data_dir
            .as_deref()
            .and_then(|d| datafiles::find(d, kind)))
    }

    /// Refuses `--train`/`--test` for a chapter that reads no data file (`chapter` names it in
    /// the message), instead of ignoring them.
    pub fn no_files(&self, chapter: &str, why: &str) -> crate::Result<()> {
        for (flag, file) in [("--train", &self.train), ("--test", &self.test)] {
            if let Some(f) = file {
                return Err(format!(
                    "{chapter}: {flag} {} is not used by this chapter ({why})",
                    f.display()
                )
                .into());
            }
        }
        Ok(())
    }

    /// The classification table of `--train` (and `--test`) for the mlp, perceptron and cnn
    /// chapters, its features standardized: [`Ctx::table_scaled`] with [`Scaling::Standardize`].
    pub fn table(&self, chapter: &str) -> crate::Result<Option<Table>> {
        self.table_scaled(chapter, Scaling::Standardize)
    }

    /// The table of `--train` (and `--test`), when `--train` is a CSV table (or `--format csv`,
    /// or an optdigits file with `--label-column`) or IDX images (their labels file beside them;
    /// pixels `byte / 255`); `None` otherwise (optdigits or generated data). Class labels that
    /// are names are mapped to indices in sorted order, the mapping reported in the data's
    /// description. `--label-column none` (with [`Scaling::UnitInterval`] or [`Scaling::Features`]) reads every
    /// column as a feature: the table has no labels (its targets are `0 x rows` values and
    /// [`Table::classes`] is 0).
    ///
    /// Without `--test`, a seeded 20 % of the rows is held out for the test. Features are scaled
    /// as `scaling` says, with the training rows' statistics.
    pub fn table_scaled(&self, chapter: &str, scaling: Scaling) -> crate::Result<Option<Table>> {
        let Some(train_path) = &self.train else {
            return Ok(None);
        };
        match datafiles::sniff(train_path)? {
            Kind::Csv | Kind::IdxImages => {}
            Kind::Optdigits if self.label_column.is_some() => {}
            Kind::Optdigits => return Ok(None),
            other => {
                return Err(format!(
                    "{chapter}: {} holds {}; this chapter reads {}, {} or {}",
                    train_path.display(),
                    other.describe(),
                    Kind::Csv.describe(),
                    Kind::IdxImages.describe(),
                    Kind::Optdigits.describe()
                )
                .into());
            }
        }
        let label = self.label_column.as_deref();
        let labelled = label != Some(datafiles::NO_LABEL);
        if !labelled && scaling != Scaling::UnitInterval && scaling != Scaling::Features {
            return Err(format!(
                "{chapter}: --label-column {}: this chapter classifies; it needs a label column",
                datafiles::NO_LABEL
            )
            .into());
        }
        let train_rule = format!(
            "{chapter}: the visible units take values in [0, 1]; a table of larger values must \
             be non-negative (it is divided by the training file's largest value)"
        );
        let train_range = (scaling == Scaling::UnitInterval).then(|| ValueRange {
            lo: 0.0,
            hi: f64::INFINITY,
            rule: &train_rule,
        });
        // one reader for the training and the test file: (data, class names) of a table or IDX
        let read = |path: &Path,
                    names: ClassNames<'_>,
                    range: Option<ValueRange<'_>>|
         -> crate::Result<(Dataset<f64>, String, Option<Vec<String>>)> {
            match datafiles::sniff(path)? {
                Kind::IdxImages => {
                    let labels = self.idx_labels_for(path)?;
                    let d = ::optim::data::load_mnist::<f64>(path, &labels)?;
                    let d = if labelled { d } else { unlabelled(d.x)? };
                    Ok((d, format!("IDX labels {}", labels.display()), None))
                }
                Kind::Csv | Kind::Optdigits if !labelled => {
                    let x = datafiles::load_features(path, range)?;
                    Ok((unlabelled(x)?, "none".into(), None))
                }
                Kind::Csv | Kind::Optdigits => {
                    let t = datafiles::load_table(path, label, names, range)?;
                    Ok((t.data, t.label_named, t.class_names))
                }
                other => Err(format!(
                    "{}: holds {}, the test file of a table needs {} or {}",
                    path.display(),
                    other.describe(),
                    Kind::Csv.describe(),
                    Kind::IdxImages.describe()
                )
                .into()),
            }
        };
        let (all, label_named, class_names) = read(train_path, ClassNames::Own, train_range)?;
        if all.is_empty() {
            return Err(format!("{}: no data rows", train_path.display()).into());
        }
        // Scaling::UnitInterval: values in [0, 1] as they are, larger ones divided by the largest
        let divisor = match scaling {
            Scaling::Standardize | Scaling::Features => 1.0,
            Scaling::UnitInterval => all.x.max().max(1.0),
        };
        let test_rule = format!(
            "{chapter}: the test file is divided by the training file's largest value, \
             {divisor}, so its values must lie in [0, {divisor}]"
        );
        let (train, test, test_named) = match &self.test {
            Some(t) => {
                let names = ClassNames::Training(class_names.as_deref());
                let range = (scaling == Scaling::UnitInterval).then(|| ValueRange {
                    lo: 0.0,
                    hi: divisor,
                    rule: &test_rule,
                });
                let (test, _, _) = read(t, names, range)?;
                if test.x.nrows() != all.x.nrows() {
                    return Err(format!(
                        "{}: {} features, but the training file {} has {}",
                        t.display(),
                        test.x.nrows(),
                        train_path.display(),
                        all.x.nrows()
                    )
                    .into());
                }
                (all, test, format!("test: {}", t.display()))
            }
            None => {
                // a fifth of the rows, rounded, must be at least one row and leave one
                if all.len() < 3 {
                    return Err(format!(
                        "{}: {} data row{}; holding out 20 % of the rows for the test needs at \
                         least 3 (or give a --test file)",
                        train_path.display(),
                        all.len(),
                        if all.len() == 1 { "" } else { "s" }
                    )
                    .into());
                }
                let (train, test) = all.split(0.2, &mut ::optim::rng(self.seed))?;
                (train, test, "seeded 20 % held out".to_string())
            }
        };
        let classes = train.classes().max(test.classes());
        if labelled && classes < 2 {
            return Err(format!(
                "{}: every label is {}; classification needs at least 2 classes",
                train_path.display(),
                classes.saturating_sub(1)
            )
            .into());
        }
        let (train, test, scaled) = match scaling {
            Scaling::Standardize | Scaling::Features => {
                let scale = ::optim::data::Standardizer::fit(&train.x)?;
                (
                    Dataset {
                        x: scale.transform(&train.x)?,
                        targets: train.targets,
                    },
                    Dataset {
                        x: scale.transform(&test.x)?,
                        targets: test.targets,
                    },
                    String::new(),
                )
            }
            Scaling::UnitInterval if divisor > 1.0 => (
                Dataset {
                    x: train.x / divisor,
                    targets: train.targets,
                },
                Dataset {
                    x: test.x / divisor,
                    targets: test.targets,
                },
                format!(", values / {divisor}"),
            ),
            Scaling::UnitInterval => (train, test, ", values in [0, 1] as they are".into()),
        };
        // the baseline every classifier should beat: the training set's most frequent class
        let mut majority_accuracy = 0.0;
        if labelled {
            let mut counts = vec![0usize; classes];
            for &l in train.class_labels("training table")? {
                counts[l] += 1;
            }
            let majority = (0..classes)
                .max_by_key(|&c| (counts[c], usize::MAX - c))
                .unwrap_or(0);
            let test_labels = test.class_labels("test table")?;
            majority_accuracy = test_labels.iter().filter(|&&l| l == majority).count() as f64
                / test_labels.len().max(1) as f64;
        }
        // the mapping of class names to indices, reported with the data
        let mapping = class_names.as_ref().map_or(String::new(), |names| {
            let pairs: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n}={i}"))
                .collect();
            format!(" [{}]", pairs.join(", "))
        });
        let labels = if labelled {
            format!(
                "label: {label_named}, {}{mapping}",
                count(classes, "class", "classes")
            )
        } else {
            "no label column".to_string()
        };
        let data = format!(
            "{} ({labels}, {}{scaled}; {test_named})",
            train_path.display(),
            count(train.x.nrows(), "feature", "features")
        );
        Ok(Some(Table {
            train,
            test,
            classes: if labelled { classes } else { 0 },
            data,
            majority_accuracy,
        }))
    }

    /// A path inside the output folder.
    pub fn out_path(&self, file: &str) -> PathBuf {
        self.out.join(file)
    }

    /// An error if `--resume` or `--stop-after-epochs` is given to a run of `chapter` on
    /// `data`, which saves no training checkpoint (so neither is ever silently ignored).
    pub fn no_resume(&self, chapter: &str, data: &str) -> crate::Result<()> {
        let flag = match (&self.resume, self.stop_after_epochs) {
            (Some(dir), _) => format!("--resume {}", dir.display()),
            (None, Some(k)) => format!("--stop-after-epochs {k}"),
            (None, None) => return Ok(()),
        };
        Err(format!(
            "{flag}: the {chapter} chapter's run on {data} does not save a training checkpoint \
             (its run on generated data does)"
        )
        .into())
    }

    /// The epoch at which this run's training ends: `total`, or with `--stop-after-epochs K`
    /// at most `K` epochs after the `done` ones a resumed run starts from.
    pub fn stop_epoch(&self, done: usize, total: usize) -> usize {
        self.stop_after_epochs
            .map_or(total, |k| total.min(done.saturating_add(k)))
    }

    /// Says on stderr that `chapter`'s training was stopped by `--stop-after-epochs` at
    /// `epoch` of `total`, and how to continue.
    pub fn note_stop(&self, chapter: &str, epoch: usize, total: usize) {
        if self.stop_after_epochs.is_some() && epoch < total {
            eprintln!(
                "{chapter}: training stopped after epoch {epoch} of {total} \
                 (--stop-after-epochs); `tour {chapter} --resume {}` continues it",
                self.out.display()
            );
        }
    }

    /// The epoch loop of a chapter whose trainer has its own resumable loop (som, gan, anfis):
    /// from `done` epochs, `advance(e)` trains on to epoch `e` and writes the training state
    /// into `--out`, for each `e` up to `total` (or the `--stop-after-epochs` epoch), so a run
    /// killed at any moment continues from its last epoch. A resumed run with nothing left
    /// calls `advance(done)`, which trains nothing, so `--out` still holds its state. Says on
    /// stderr where a stopped run ends ([`Ctx::note_stop`]); returns the epoch reached.
    pub fn each_epoch(
        &self,
        chapter: &str,
        done: usize,
        total: usize,
        advance: &mut dyn FnMut(usize) -> crate::Result<()>,
    ) -> crate::Result<usize> {
        let until = self.stop_epoch(done, total);
        if until <= done {
            advance(done)?;
        }
        for epoch in done + 1..=until {
            advance(epoch)?;
        }
        let reached = until.max(done);
        self.note_stop(chapter, reached, total);
        Ok(reached)
    }

    /// An error naming the `--resume` checkpoint `path` whose run differs from this one (`what`
    /// says how), so a resume never mixes two runs.
    pub fn other_run(&self, path: &Path, what: &str) -> crate::Error {
        format!("--resume {}: not of this run: {what}", path.display()).into()
    }

    /// With `--resume DIR`, the training checkpoint `file` of `chapter` in `DIR`; an error if
    /// there is none. `None` without `--resume`.
    pub fn resume_file(&self, chapter: &str, file: &str) -> crate::Result<Option<PathBuf>> {
        let Some(dir) = &self.resume else {
            return Ok(None);
        };
        let path = dir.join(file);
        if !path.is_file() {
            return Err(format!(
                "--resume {}: no training checkpoint {file} of the {chapter} chapter in it (an \
                 earlier `tour {chapter} --out {}` with the same data writes it)",
                dir.display(),
                dir.display()
            )
            .into());
        }
        Ok(Some(path))
    }

    /// Trains `model` through the shared loop with `settings` — or, with `--resume DIR`,
    /// continues the run whose training checkpoint `file` the same chapter and `run` (a
    /// description of model and data that must match) saved in `DIR`, with its saved settings
    /// and the epochs of `settings` if `--epochs` was given (else its own) — and saves the
    /// training checkpoint (model, optimizer, loop position, settings) as `file` in `--out`
    /// after every epoch, so a run killed at any moment continues from its last epoch. With
    /// `--stop-after-epochs K` the call ends after `K` epochs. Returns this call's history.
    ///
    /// Resume semantics: the saved settings keep the schedule the run was planned with, so an
    /// interrupted run resumed to its own length equals the straight run bit for bit; a larger
    /// `--epochs` extends it with that schedule (a cosine planned for the saved length stays at
    /// its final rate after its end: said on stderr).
    #[allow(clippy::too_many_arguments)]
    pub fn fit_resumable<M: ::optim::Trainable<f32>>(
        &self,
        chapter: &str,
        run: &str,
        file: &str,
        model: &mut M,
        train: &M::Data,
        validation: Option<&M::Data>,
        optimizer: &mut dyn ::optim::Optimizer<f32>,
        settings: &::optim::TrainConfig,
        on_progress: &mut dyn FnMut(::optim::Progress<'_>),
    ) -> crate::Result<::optim::History> {
        use ::optim::train::{Flow, Resume, fit_resume_with};
        use ::optim::{Schedule, checkpoint};
        let tag = format!("{chapter}: {run}");
        let (settings, resume) = match self.resume_file(chapter, file)? {
            None => (settings.clone(), None),
            Some(path) => {
                let ck = checkpoint::Checkpoint::<f32>::read(&path)?;
                match ck.metadata.get(TOUR_RUN_KEY) {
                    Some(t) if *t == tag => {}
                    other => {
                        return Err(format!(
                            "--resume {}: the checkpoint is of {}, not of {tag:?} (another \
                             chapter, data or model)",
                            path.display(),
                            other.map_or("no tour run".to_string(), |t| format!("{t:?}"))
                        )
                        .into());
                    }
                }
                let json = ck.metadata.get(TOUR_TRAIN_CONFIG_KEY).ok_or_else(|| {
                    format!(
                        "--resume {}: no {TOUR_TRAIN_CONFIG_KEY} metadata",
                        path.display()
                    )
                })?;
                let mut saved: ::optim::TrainConfig = serde_json::from_str(json).map_err(|e| {
                    format!("--resume {}: {TOUR_TRAIN_CONFIG_KEY}: {e}", path.display())
                })?;
                if self.epochs.is_some() {
                    saved.epochs = settings.epochs;
                }
                saved.validate()?;
                let meta = checkpoint::load_training(&path, model, optimizer)?;
                let at = Resume::from_metadata(&meta)?;
                if let Schedule::CosineWarmup { total, min_lr, .. } = saved.schedule {
                    let steps = at.steps() / at.epochs().max(1) * saved.epochs;
                    if at.epochs() > 0 && steps > total {
                        eprintln!(
                            "{chapter}: --resume to {} epochs: the cosine schedule was planned \
                             for {total} steps; the steps after it run at its final rate {min_lr}",
                            saved.epochs
                        );
                    }
                }
                (saved, Some(at))
            }
        };
        let stop = self.stop_epoch(resume.as_ref().map_or(0, Resume::epochs), settings.epochs);
        let config_json = serde_json::to_string(&settings)?;
        let out = self.out_path(file);
        let save = |model: &mut M, optimizer: &dyn ::optim::Optimizer<f32>, at: &Resume| {
            checkpoint::save_training(
                &out,
                model,
                optimizer,
                &[
                    at.metadata(),
                    (TOUR_RUN_KEY, tag.clone()),
                    (TOUR_TRAIN_CONFIG_KEY, config_json.clone()),
                ],
            )
        };
        let (history, at) = fit_resume_with(
            model,
            train,
            validation,
            optimizer,
            &settings,
            resume.as_ref(),
            &mut |model, optimizer, at| {
                save(model, optimizer, at)?;
                // (a stop at the run's own end would be a pause: best weights not restored)
                Ok(if at.epochs() >= stop && stop < settings.epochs {
                    Flow::Stop
                } else {
                    Flow::Continue
                })
            },
            on_progress,
        )?;
        // the final state (a run with nothing left, or one whose best epoch was restored)
        save(model, &*optimizer, &at)?;
        if !at.patience_exhausted() {
            self.note_stop(chapter, at.epochs(), settings.epochs);
        }
        Ok(history)
    }
}

/// `n` and the word for it, singular or plural: `1 feature`, `3 features`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How [`Ctx::table_scaled`] scales a table's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// `x' = (x − μ) / σ` per feature, with the training rows' μ and σ (mlp, perceptron, cnn).
    Standardize,
    /// As [`Scaling::Standardize`], for a chapter that does not classify (autoencoder): the
    /// label column is optional (`--label-column none` reads every column as a feature).
    Features,
    /// Into `[0, 1]`, the values a Bernoulli unit takes (rbm): a table whose values all lie in
    /// `[0, 1]` is used as it is; one with larger values (pixel intensities, counts) must be
    /// non-negative and is divided by the training file's largest value `m`, and the test file
    /// by the same `m` (so its values must lie in `[0, m]`). A value outside these ranges is an
    /// error naming its line and column.
    UnitInterval,
}

/// Unlabelled data: features `x`, targets `0 x rows` (so [`Dataset::classes`] is 0).
fn unlabelled(x: ::optim::Mat<f64>) -> crate::Result<Dataset<f64>> {
    let n = x.ncols();
    Ok(Dataset::regression(x, ::optim::Mat::zeros(0, n))?)
}

/// A table read by [`Ctx::table_scaled`]: scaled features, one column per row.
pub struct Table {
    /// The training rows.
    pub train: Dataset<f64>,
    /// The test rows: the `--test` file, or the held-out part of `--train`.
    pub test: Dataset<f64>,
    /// Number of classes (`max label + 1` over both); 0 for a table without labels.
    pub classes: usize,
    /// The data, in words, for the report.
    pub data: String,
    /// Test accuracy of always answering the training rows' most frequent class (0 for a table
    /// without labels).
    pub majority_accuracy: f64,
}

/// Runs one chapter.
pub fn run(chapter: Chapter, ctx: &Ctx) -> crate::Result<Outcome> {
    match chapter {
        Chapter::Optim => optim::run(ctx),
        Chapter::Perceptron => perceptron::run(ctx),
        Chapter::Mlp => mlp::run(ctx),
        Chapter::Autoencoder => autoencoder::run(ctx),
        Chapter::Cnn => cnn::run(ctx),
        Chapter::Rnn => rnn::run(ctx),
        Chapter::Seq2seq => seq2seq::run(ctx),
        Chapter::Transformer => transformer::run(ctx),
        Chapter::Rbm => rbm::run(ctx),
        Chapter::Gan => gan::run(ctx),
        Chapter::Rbf => rbf::run(ctx),
        Chapter::Som => som::run(ctx),
        Chapter::Anfis => anfis::run(ctx),
        Chapter::Principles => principles::run(ctx),
    }
}

/// The sunspot forecast plot shared by the rnn and anfis chapters: observed test years against a
/// model's and AR(12)'s one-year-ahead predictions (`(year, observed, model, ar)` rows).
pub fn sunspots_plot(
    ctx: &Ctx,
    out: &mut Outcome,
    file: &str,
    model: &str,
    predictions: &[(u32, f64, f64, f64)],
    (model_arv, ar_arv): (f64, f64),
) -> crate::Result<()> {
    let series = |f: fn(&(u32, f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
        predictions.iter().map(|p| (f64::from(p.0), f(p))).collect()
    };
    crate::plot::lines(
        &ctx.out_path(file),
        "Yearly sunspots, one year ahead (test years)",
        "year",
        "sunspot number",
        &[
            ("observed".to_string(), series(|p| p.1)),
            (model.to_string(), series(|p| p.2)),
            ("AR(12)".to_string(), series(|p| p.3)),
        ],
        false,
    )?;
    out.plot(
        file,
        format!(
            "One-year-ahead sunspot numbers for 1921–1955: {model} (ARV {model_arv:.3}) and the \
             AR(12) baseline (ARV {ar_arv:.3}) against the observed series."
        ),
    );
    Ok(())
}

/// `(class, accuracy on the examples of that class)` for classes `0..classes`, as plot points
/// (a class with no example scores 0).
pub fn per_class_accuracy(
    labels: &[usize],
    predicted: &[usize],
    classes: usize,
) -> Vec<(f64, f64)> {
    (0..classes)
        .map(|c| {
            let (n, ok) = labels
                .iter()
                .zip(predicted)
                .filter(|(l, _)| **l == c)
                .fold((0, 0), |(n, ok), (l, p)| (n + 1, ok + usize::from(l == p)));
            (c as f64, ok as f64 / n.max(1) as f64)
        })
        .collect()
}
