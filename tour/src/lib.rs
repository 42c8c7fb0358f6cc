//! # tour — the runnable tour of `inductive`
//!
//! Notes §2, 二、统一认知框架：归纳偏置视角 (*a unified frame: the view from inductive bias*):
//! different networks are not black boxes with different functions but **different assumptions
//! about the structure of the data**, placed by the five coordinates of §2.1 (input structure,
//! parameter sharing, range of dependencies, memory, paradigm). The tour puts every chapter's
//! family on data whose structure fits its assumption — one binary that trains each chapter on
//! data it generates itself (or on real files with `--data-dir`, or on your own files with
//! `--train`/`--test`), prints a results table beside reference values, writes SVG plots and an
//! `index.html` gallery to `--out`, and saves each trained model as safetensors. See
//! `tour/README.md`.
//!
//! **Inductive bias:** none of its own — it shows each chapter's: bars for the CNN's locality,
//! the adding problem for the LSTM's gated memory, text for the Transformer's global attention.
//!
//! ```text
//! cargo run --release -p inductive-tour                   # every chapter, generated data, ~20 s
//! cargo run --release -p inductive-tour -- mlp --json     # one chapter, last stdout line is JSON
//! cargo run --release -p inductive-tour -- cnn --data-dir "$DL_DATA_DIR"
//! cargo run --release -p inductive-tour -- mlp --train a.csv --test b.csv --label-column class
//! ```
//!
//! The `tour` binary is a thin `main` over this library: [`run`] takes the command line's
//! arguments and returns each chapter's [`Outcome`] (metrics, plots, saved models) after writing
//! what the binary writes (plots, `index.html`, `results.json`, models to `--out`; the table to
//! stdout), so a program or a test can run a chapter and read its metrics. The commands above
//! are run, with small budgets, by the integration tests `tests/cli.rs` and `tests/chapters.rs`;
//! this runs the cheapest chapter, the optimizer race:
//!
//! ```
//! let out = std::env::temp_dir().join(format!("inductive-tour-doc-{}", std::process::id()));
//! let outcomes = inductive_tour::run([
//!     "tour", "optim", "--quiet", "--out", out.to_str().unwrap(),
//! ])?;
//! let race = &outcomes[0];
//! assert_eq!(race.chapter, "optim");
//! // Adam reaches the Rosenbrock minimum (‖x − (1, 1)‖ < 1e-4) well inside the 20 000 steps
//! let adam = race.value("iterations_adam").unwrap();
//! assert!(adam < 20_000.0, "{adam}");
//! assert!(race.value("final_f_adam").unwrap() < 1e-6);
//! assert!(out.join("results.json").is_file() && out.join("index.html").is_file());
//! std::fs::remove_dir_all(&out)?;
//! # Ok::<(), inductive_tour::Error>(())
//! ```

mod bench;
mod chapters;
mod datafiles;
mod gallery;
mod plot;
mod progress;
mod report;

use clap::{Parser, ValueEnum};
use datafiles::Format;
pub use report::{Claim, Outcome, Plot, Reference};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

/// The error type of the tour: one line, shown to the user as is.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// `Result` with the tour's error.
pub type Result<T> = std::result::Result<T, Error>;

/// A chapter of the tour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Chapter {
    /// §5 optimizers racing on the Rosenbrock function.
    Optim,
    /// §3.1 Rosenblatt's perceptron on separable data, the kernel perceptron on two moons (or
    /// the multiclass perceptron on digits or your CSV table).
    Perceptron,
    /// §3.2 a multilayer perceptron on two spirals (or on digits, or your CSV table).
    Mlp,
    /// §4 autoencoders against PCA on images of blobs (or digits, or your CSV table).
    Autoencoder,
    /// §6 a convolutional network on images of bars (or optdigits, or MNIST).
    Cnn,
    /// §7 RNN against LSTM on the adding problem (or a character language model, sunspots).
    Rnn,
    /// §7.3 sequence to sequence with attention (reversal, or your tab-separated source/target pairs).
    Seq2seq,
    /// §8 a Transformer language model (generated text, or any text file).
    Transformer,
    /// §9.1 restricted Boltzmann machines and a deep belief network on binary images (bars and
    /// stripes, or digits, or your CSV table of values in [0, 1]).
    Rbm,
    /// §9.2 a generative adversarial network on a ring of Gaussians (or your x,y points).
    Gan,
    /// §10 an RBF network on the Mackey-Glass series.
    Rbf,
    /// §10 a self-organizing map on Gaussian blobs (or iris).
    Som,
    /// §10 ANFIS on the Mackey-Glass series (or yearly sunspots).
    Anfis,
    /// The notes' framework measured: §2.1 coordinates, §1.2's three contradictions, §5.1
    /// saddles, §5.2 batch size and sharpness, §11 transfer (not part of the default run).
    Principles,
}

impl Chapter {
    /// The chapter's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Chapter::Optim => "optim",
            Chapter::Perceptron => "perceptron",
            Chapter::Mlp => "mlp",
            Chapter::Autoencoder => "autoencoder",
            Chapter::Cnn => "cnn",
            Chapter::Rnn => "rnn",
            Chapter::Seq2seq => "seq2seq",
            Chapter::Transformer => "transformer",
            Chapter::Rbm => "rbm",
            Chapter::Gan => "gan",
            Chapter::Rbf => "rbf",
            Chapter::Som => "som",
            Chapter::Anfis => "anfis",
            Chapter::Principles => "principles",
        }
    }
}

/// Train every chapter of the deep-learning notes and report how each one learned.
///
/// With no chapter, runs them all on generated data (no files, no network) and prints a results
/// table: one headline metric per chapter beside its reference (every metric with --verbose).
/// Plots (SVG), an index.html gallery, results.json (every metric) and the trained models
/// (safetensors) go to --out. Exit code 0 on success, 2 on any error (one line on stderr).
///
/// `tour bench WORKLOAD` instead runs a reference workload of the comparison with PyTorch
/// (mlp, lenet, lstm, transformer, seq2seq, rbm, gemm or all) and prints its throughput; see
/// `tour bench --help`.
#[derive(Debug, Parser)]
#[command(name = "tour", version, about, long_about)]
pub struct Cli {
    /// The chapter to run; all of them when omitted.
    #[arg(value_enum)]
    pub chapter: Option<Chapter>,
    /// Training epochs (or iterations, per chapter); each chapter has its own default.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: Option<u64>,
    /// Seed of every random choice: two runs with the same seed print the same metrics.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads for matrix products.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
    /// Folder for plots, the gallery (index.html), results.json and saved models.
    #[arg(long, default_value = "tour-out")]
    pub out: PathBuf,
    /// No progress bars (they are drawn only when stderr is a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// Print the full table: every metric, the model and the data of each chapter.
    #[arg(long)]
    pub verbose: bool,
    /// Print one JSON object as the last line of stdout: {"chapter", "data", "metrics", "seconds"}.
    #[arg(long)]
    pub json: bool,
    /// Use the real data files found in this folder (recognised by content: optdigits CSV,
    /// MNIST IDX, a text corpus such as tinyshakespeare.txt, sunspots and iris CSV).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Training data file for the chapter (overrides --data-dir): for mlp and perceptron any
    /// CSV table of numeric features and a class label (an index or a name), or IDX images; for
    /// autoencoder any such table, its label optional (`--label-column none`); for cnn such a
    /// table of square images; for rbm a table of values in [0, 1] (or of non-negative
    /// values, divided by the largest); text for rnn and transformer; pairs for seq2seq; x,y
    /// points for gan.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test data file for the chapter: the test metrics are computed on it (mlp, perceptron,
    /// autoencoder, cnn, rbm, seq2seq; the chapters that split their own data refuse it).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// The class-label column of a CSV table (--train/--test of mlp, perceptron, autoencoder,
    /// cnn, rbm): an index counted from 0, or a name in the header line. Default: the last
    /// column. For rbm and autoencoder, `none`: no label column (every column a feature; rbm
    /// trains no classifiers, the autoencoder's code space is drawn uncoloured).
    #[arg(long, value_name = "NAME|INDEX")]
    pub label_column: Option<String>,
    /// What the --train/--test files are, instead of recognising them by content (e.g. a text
    /// under 1000 bytes or with a comma in its first line is text only with --format text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Evaluate a saved model (safetensors from an earlier run) instead of training.
    #[arg(long)]
    pub load: Option<PathBuf>,
    /// Continue the chapter's training from the training checkpoint an earlier run saved in
    /// DIR (its --out folder; written after every epoch, so a killed run continues from its
    /// last epoch), to --epochs in all (default: the saved run's). Chapters: perceptron (the
    /// pocket on the moons), mlp and cnn (generated data), autoencoder (both models), rnn (the
    /// adding problem; the character model on a text), seq2seq (both encoder–decoders), transformer
    /// (the GPT), rbm (the first RBM's CD), gan (the ring), som, anfis (Mackey-Glass). Not rbf:
    /// its fit is k-means and least squares, no epochs to continue. An interrupted run continues to
    /// its planned length and ends bit for bit as the straight run; a larger --epochs extends
    /// it with the learning-rate schedule it was planned with (past a cosine's end, its final
    /// rate; the tour README's table).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// End the training of a resumable chapter (see --resume) cleanly after K epochs of this
    /// run, its training checkpoint written; the chapter reports on the model of that moment
    /// and `--resume OUT` continues the run.
    #[arg(long, value_name = "K")]
    pub stop_after_epochs: Option<u64>,
    /// Train the cnn chapter's digit models on the images as they are, without the recipe's
    /// random translations (data augmentation).
    #[arg(long)]
    pub no_augment: bool,
}

/// Runs the tour on a command line (`args`, the program's name first, as `std::env::args()`):
/// the chapters it names, or all of them, exactly as the `tour` binary does (files to `--out`,
/// the table to stdout), and returns their outcomes. `tour bench` is [`bench()`].
///
/// # Errors
/// An invalid command line (clap's message, `--help` and `--version` included), then as
/// [`run_cli`].
pub fn run<I, T>(args: I) -> Result<Vec<Outcome>>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    run_cli(&cli)
}

/// `tour bench WORKLOAD …` (`args` after `bench`): a reference workload of the comparison
/// with PyTorch, its throughput printed.
///
/// # Errors
/// An invalid command line or a failed workload.
pub fn bench(args: impl IntoIterator<Item = String>) -> Result<()> {
    bench::main(args)
}

/// Runs the tour on a parsed command line (module docs): checks the flags against each other,
/// runs the chapters, writes the plots, the gallery, `results.json` and the models to
/// `cli.out`, prints the table (and the JSON line with `--json`) and returns the outcomes.
///
/// # Errors
/// Flags that contradict each other or name missing files, and the first chapter's error, as
/// one line for the user.
pub fn run_cli(cli: &Cli) -> Result<Vec<Outcome>> {
    if cli.load.is_some() && cli.chapter.is_none() {
        return Err("--load needs a chapter (the model's chapter)".into());
    }
    if let Some(dir) = &cli.resume {
        let chapter = cli
            .chapter
            .ok_or("--resume needs a chapter (the chapter whose training continues)")?;
        if cli.load.is_some() {
            return Err(
                "--resume continues training; --load evaluates without training: give one".into(),
            );
        }
        if !chapters::RESUMABLE.contains(&chapter) {
            return Err(format!(
                "--resume: the {} chapter does not save a training checkpoint (resumable: {})",
                chapter.name(),
                chapters::resumable_names()
            )
            .into());
        }
        if !dir.is_dir() {
            return Err(format!("--resume {}: not a folder", dir.display()).into());
        }
    }
    if let Some(k) = cli.stop_after_epochs {
        let chapter = cli
            .chapter
            .ok_or("--stop-after-epochs needs a chapter (the chapter whose training stops)")?;
        if k == 0 {
            return Err("--stop-after-epochs 0: give at least 1 epoch".into());
        }
        if cli.load.is_some() {
            return Err("--stop-after-epochs stops training; --load does not train".into());
        }
        if !chapters::RESUMABLE.contains(&chapter) {
            return Err(format!(
                "--stop-after-epochs: the {} chapter does not save a training checkpoint to \
                 continue from (resumable: {})",
                chapter.name(),
                chapters::resumable_names()
            )
            .into());
        }
    }
    if (cli.train.is_some() || cli.test.is_some()) && cli.chapter.is_none() {
        return Err("--train/--test need a chapter".into());
    }
    if cli.format.is_some() && cli.train.is_none() && cli.test.is_none() {
        return Err("--format says what the --train/--test files are; neither is given".into());
    }
    if let Some(l) = &cli.label_column {
        if !matches!(
            cli.chapter,
            Some(
                Chapter::Mlp
                    | Chapter::Perceptron
                    | Chapter::Autoencoder
                    | Chapter::Cnn
                    | Chapter::Rbm
            )
        ) {
            return Err(format!(
                "--label-column {l}: only the mlp, perceptron, autoencoder, cnn and rbm chapters \
                 read a CSV table"
            )
            .into());
        }
        if cli.train.is_none() {
            return Err(format!(
                "--label-column {l}: names a column of the --train CSV table; no --train given"
            )
            .into());
        }
    }
    for (flag, file) in [
        ("--train", &cli.train),
        ("--test", &cli.test),
        ("--load", &cli.load),
    ] {
        if let Some(f) = file
            && !f.is_file()
        {
            return Err(format!("{flag} {}: no such file", f.display()).into());
        }
    }
    if let Some(d) = &cli.data_dir
        && !d.is_dir()
    {
        return Err(format!("--data-dir {}: not a folder", d.display()).into());
    }
    // seq2seq scores a loaded model on a pairs file alone (it needs no training data to build
    // its vocabulary: the checkpoint holds it); the other chapters need the training data
    let scores_loaded_alone = cli.load.is_some() && cli.chapter == Some(Chapter::Seq2seq);
    if let Some(t) = &cli.test
        && cli.train.is_none()
        && cli.data_dir.is_none()
        && !scores_loaded_alone
    {
        return Err(format!(
            "--test {}: needs the training data it is the test set of (--train FILE or \
             --data-dir DIR); generated data has its own test split",
            t.display()
        )
        .into());
    }
    if let Some(d) = &cli.data_dir
        && !datafiles::any_recognised(d)
    {
        return Err(format!(
            "--data-dir {}: holds no recognised data file (optdigits CSV, MNIST IDX, text, \
             sunspots or iris CSV, points CSV, pairs TSV); nothing would be read from it",
            d.display()
        )
        .into());
    }
    if let Some(format) = cli.format {
        let files = cli.train.iter().chain(&cli.test).cloned().collect();
        datafiles::set_format(format, files);
    }
    std::fs::create_dir_all(&cli.out)
        .map_err(|e| format!("cannot create output folder {}: {e}", cli.out.display()))?;
    optim::linalg::set_threads(cli.threads as usize);
    let ctx = chapters::Ctx::new(cli);
    let chapters: Vec<Chapter> = match cli.chapter {
        Some(c) => vec![c],
        // the principles chapter trains many models (about a minute): run it by name
        None => Chapter::value_variants()
            .iter()
            .copied()
            .filter(|c| *c != Chapter::Principles)
            .collect(),
    };
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    for ch in chapters {
        let t0 = Instant::now();
        let mut outcome = chapters::run(ch, &ctx)?;
        outcome.seconds = t0.elapsed().as_secs_f64();
        if !cli.quiet && !cli.json {
            eprintln!("tour: {} done in {:.1} s", outcome.chapter, outcome.seconds);
        }
        outcomes.push(outcome);
    }
    let total = started.elapsed().as_secs_f64();
    for o in &outcomes {
        if let Some(table) = &o.table {
            for line in table.lines() {
                emit(line);
            }
        }
        for c in &o.claims {
            emit(format!(
                "{}: {} — measured: {} [{}]",
                c.key,
                c.claim,
                c.outcome,
                if c.supported {
                    "supports the notes"
                } else {
                    "does not support the notes at this scale"
                }
            ));
        }
    }
    report::write_results(&cli.out, &outcomes)?;
    gallery::write(&cli.out, &outcomes)?;
    for line in report::table(&outcomes, total, cli.verbose) {
        emit(line);
    }
    emit(format!(
        "plots and gallery: {}",
        cli.out.join("index.html").display()
    ));
    if cli.json {
        let data = match &cli.data_dir {
            Some(d) => d.display().to_string(),
            None => "generated".to_string(),
        };
        emit(report::json_line(&outcomes, &data, total));
    }
    Ok(outcomes)
}

/// Writes one line to stdout. A closed pipe (`tour | head`) ends the program quietly, as Unix
/// tools do; everything else (models, plots, results.json) is written before anything is printed.
pub fn emit(line: impl std::fmt::Display) {
    use std::io::Write;
    if writeln!(std::io::stdout().lock(), "{line}").is_err() {
        std::process::exit(0);
    }
}
