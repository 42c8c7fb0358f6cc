//! One module per chapter. Each `run(ctx)` trains (or loads, with `--load`) its model on
//! generated data or on the real files the context finds, writes its plots and saved model into
//! the output folder, and returns an [`Outcome`] with fixed metric names.

use crate::datafiles::{self, Kind};
use crate::progress::Progress;
use crate::report::Outcome;
use crate::{Chapter, Cli};
use std::path::{Path, PathBuf};

mod anfis;
mod autoencoder;
mod cnn;
mod gan;
mod mlp;
mod optim;
mod perceptron;
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
    /// Progress bars.
    pub progress: Progress,
}

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
            progress: Progress::new(cli.quiet || cli.json),
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

    /// A path inside the output folder.
    pub fn out_path(&self, file: &str) -> PathBuf {
        self.out.join(file)
    }
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
