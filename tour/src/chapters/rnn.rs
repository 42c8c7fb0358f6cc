//! §7 temporal inductive bias: one set of weights shared across time, trained by
//! backpropagation through time; gradients through a tanh RNN vanish geometrically with the time
//! lag, the LSTM's gated cell keeps them.
//!
//! Generated data: the adding problem (sum the two marked numbers of a sequence of `T = 50`),
//! an LSTM against a tanh RNN of the same size, each trained on fresh batches, and the norm of
//! `∂h_T/∂h_t` over the lag `T − t` for both, before and after training. With `--data-dir`: a
//! character LSTM on tiny Shakespeare (validation nats per character) and an LSTM ensemble on
//! yearly sunspots (test ARV beside the AR(12) baseline), whichever files are there.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use optim::TrainConfig;
use optim::checkpoint::{load_model, save_model};
use optim::train::{Flow, History, Progress};
use rnn::tasks::{self, CharCorpus};
use rnn::{
    AddingConfig, CellKind, CharLmConfig, Input, ModelConfig, Readout, SampledRun, SeqModel,
    SunspotsConfig, adding_start, char_lm_start, jacobian_norms, load_adding, load_char_lm,
    save_adding, save_char_lm, train_adding_resume, train_char_lm_resume, train_sunspots,
};
use std::path::Path;

/// Sequence length of the adding problem.
const STEPS: usize = 50;
/// Hidden units of both adding models.
const HIDDEN: usize = 32;
/// Test sequences of the adding problem.
const TEST_SIZE: usize = 1000;

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.test.is_some() {
        return Err("rnn: --test is not used by this chapter (it splits its own data)".into());
    }
    let text = ctx.optional_train_file(Kind::Text)?;
    let sunspots = ctx.optional_train_file(Kind::Sunspots)?;
    // a saved model is an adding or a character model; the sunspot ensemble is not saved
    if text.is_none() && (sunspots.is_none() || ctx.load.is_some()) {
        if ctx.train.is_some() {
            // --train holds neither: let the usual check name the file and the problem
            ctx.train_file(Kind::Text)?;
        }
        return adding(ctx);
    }
    real(ctx, text.as_deref(), sunspots.as_deref())
}

/// A dense adding-problem model of `cell` (the architecture `train_adding` builds).
fn adding_model(cell: CellKind, hidden: usize, seed: u64) -> crate::Result<SeqModel<f32>> {
    let mut config = ModelConfig::dense(cell, 2, hidden, 1, Readout::Last);
    if cell == CellKind::Lstm {
        config.rnn.forget_bias = Some(1.0);
    }
    Ok(SeqModel::new(config, &mut optim::rng(seed))?)
}

/// `(step, validation loss)` at the end of each epoch of `steps_per_epoch` steps.
fn validation_curve(history: &History, steps_per_epoch: usize) -> Vec<(f64, f64)> {
    history
        .epochs
        .iter()
        .filter_map(|e| {
            let step = (e.epoch * steps_per_epoch).min(history.steps);
            e.validation.map(|v| (step as f64, v.loss))
        })
        .collect()
}

fn adding_mse(model: &SeqModel<f32>, seed: u64) -> crate::Result<f64> {
    // the test set of train_adding
    let (x, y) = tasks::adding_problem::<f32>(STEPS, TEST_SIZE, &mut optim::rng(seed ^ 0x7e57))?;
    let (p, _) = model.predict(Input::Dense(&x), None)?;
    Ok(f64::from(optim::loss::mse(&p, &y)?.0))
}

/// `(lag, ‖∂h_T/∂s_t‖)` for one adding sequence.
fn lag_norms(model: &SeqModel<f32>, seed: u64) -> crate::Result<Vec<(f64, f64)>> {
    let (x, _) = tasks::adding_problem::<f32>(STEPS, 1, &mut optim::rng(seed ^ 0x1a6))?;
    let norms = jacobian_norms(&model.rnn, &x)?;
    let t_end = norms.len() - 1;
    Ok(norms
        .iter()
        .enumerate()
        .map(|(t, &n)| ((t_end - t) as f64, n))
        .collect())
}

/// The chapter's two sampled loops — the adding problem and the character model — as
/// [`resumable`] runs them: from a start or a training-state file, to the epochs of a
/// configuration, saving after every epoch.
trait SampledTask {
    /// The task's configuration (its steps per epoch and epochs are the run's plan).
    type Config: Clone + PartialEq;
    /// `(steps per epoch, epochs)` of `c`.
    fn plan(c: &mut Self::Config) -> (&mut usize, &mut usize);
    /// The settings `--resume` compares, in words (hidden units and seed).
    fn settings(c: &Self::Config) -> String;
    fn start(&self, c: &Self::Config) -> optim::Result<SampledRun<f32>>;
    fn load(&self, path: &Path) -> optim::Result<(Self::Config, SampledRun<f32>)>;
    fn save(path: &Path, c: &Self::Config, run: &mut SampledRun<f32>) -> optim::Result<()>;
    fn train(
        &self,
        c: &Self::Config,
        run: &mut SampledRun<f32>,
        after_epoch: &mut dyn FnMut(&mut SampledRun<f32>) -> optim::Result<Flow>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> optim::Result<History>;
}

/// The adding problem: fresh batches drawn from the run's generator.
struct Adding;

impl SampledTask for Adding {
    type Config = AddingConfig;
    fn plan(c: &mut AddingConfig) -> (&mut usize, &mut usize) {
        (&mut c.steps_per_epoch, &mut c.train.epochs)
    }
    fn settings(c: &AddingConfig) -> String {
        format!("{} units, seed {}", c.hidden, c.train.seed)
    }
    fn start(&self, c: &AddingConfig) -> optim::Result<SampledRun<f32>> {
        adding_start(c)
    }
    fn load(&self, path: &Path) -> optim::Result<(AddingConfig, SampledRun<f32>)> {
        load_adding(path)
    }
    fn save(path: &Path, c: &AddingConfig, run: &mut SampledRun<f32>) -> optim::Result<()> {
        save_adding(path, c, run)
    }
    fn train(
        &self,
        c: &AddingConfig,
        run: &mut SampledRun<f32>,
        after_epoch: &mut dyn FnMut(&mut SampledRun<f32>) -> optim::Result<Flow>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> optim::Result<History> {
        train_adding_resume(c, run, after_epoch, on_progress)
    }
}

/// The character model on a text: stateful truncated BPTT over its streams.
struct Chars<'a>(&'a CharCorpus);

impl SampledTask for Chars<'_> {
    type Config = CharLmConfig;
    fn plan(c: &mut CharLmConfig) -> (&mut usize, &mut usize) {
        (&mut c.steps_per_epoch, &mut c.train.epochs)
    }
    fn settings(c: &CharLmConfig) -> String {
        format!("{} units, seed {}", c.hidden, c.train.seed)
    }
    fn start(&self, c: &CharLmConfig) -> optim::Result<SampledRun<f32>> {
        char_lm_start(c, self.0)
    }
    fn load(&self, path: &Path) -> optim::Result<(CharLmConfig, SampledRun<f32>)> {
        load_char_lm(path, self.0)
    }
    fn save(path: &Path, c: &CharLmConfig, run: &mut SampledRun<f32>) -> optim::Result<()> {
        save_char_lm(path, c, run)
    }
    fn train(
        &self,
        c: &CharLmConfig,
        run: &mut SampledRun<f32>,
        after_epoch: &mut dyn FnMut(&mut SampledRun<f32>) -> optim::Result<Flow>,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> optim::Result<History> {
        Ok(train_char_lm_resume(c, self.0, run, after_epoch, on_progress)?.0)
    }
}

/// Trains one sampled run of `task` with `asked` — or, with `--resume DIR`, continues the run
/// whose training state `{file}.training.safetensors` an earlier run of the same settings (and
/// text) left in `DIR` (with its steps per epoch; `--epochs` sets the steps in all, default
/// the saved run's) — writing the training state after every epoch. `items` is the examples
/// (or characters) of one step, for the progress bar. Returns the run's configuration, the run
/// and this call's history.
fn resumable<T: SampledTask>(
    ctx: &Ctx,
    task: &T,
    label: &str,
    file: &str,
    asked: T::Config,
    items: usize,
) -> crate::Result<(T::Config, SampledRun<f32>, History)> {
    let training_file = format!("{file}.training.safetensors");
    let (mut config, mut run) = match ctx.resume_file("rnn", &training_file)? {
        None => {
            let run = task.start(&asked)?;
            (asked, run)
        }
        Some(path) => {
            let (mut saved, run) = task.load(&path)?;
            let mut same = asked.clone();
            let (spe, epochs) = T::plan(&mut saved);
            let (same_spe, same_epochs) = T::plan(&mut same);
            (*same_spe, *same_epochs) = (*spe, *epochs);
            if same != saved {
                return Err(format!(
                    "--resume {}: the {label} was trained with other settings ({}); this run: \
                     {} (give the saved run's --seed)",
                    path.display(),
                    T::settings(&saved),
                    T::settings(&asked)
                )
                .into());
            }
            let (spe, epochs) = T::plan(&mut saved);
            if ctx.epochs.is_some() {
                *epochs = ctx.epochs_or(0).div_ceil(*spe);
            }
            (saved, run)
        }
    };
    let (spe, epochs) = T::plan(&mut config);
    let (spe, epochs) = (*spe, *epochs);
    let iterations = epochs * spe;
    let stop = ctx.stop_epoch(run.position.epochs, epochs);
    let path = ctx.out_path(&training_file);
    let bar = ctx
        .progress
        .bar(&format!("rnn {label}"), iterations as u64, "steps");
    let history = task.train(
        &config,
        &mut run,
        &mut |r| {
            T::save(&path, &config, r)?;
            Ok(if r.position.epochs >= stop {
                Flow::Stop
            } else {
                Flow::Continue
            })
        },
        &mut |p| {
            if let Progress::Step { step, loss, .. } = p
                && (step % 10 == 0 || step == iterations)
            {
                bar.update(step as u64, loss, (step * items) as u64);
            }
        },
    )?;
    bar.finish();
    // the final state, also of a resumed run that had nothing left
    T::save(&path, &config, &mut run)?;
    ctx.note_stop("rnn", run.position.epochs, epochs);
    Ok((config, run, history))
}

fn adding(ctx: &Ctx) -> crate::Result<Outcome> {
    // 20 test evaluations over the run
    let steps_per_epoch = (ctx.epochs_or(2000) / 20).max(1);
    let epochs = ctx.epochs_or(2000).div_ceil(steps_per_epoch);
    let mut out = Outcome::new(
        "rnn",
        format!("LSTM vs tanh RNN, {HIDDEN} units, Adam, clip 1"),
        format!("generated: adding problem, T = {STEPS}, fresh batches of 32"),
    );
    if let Some(path) = &ctx.load {
        let model: SeqModel<f32> = load_model(path)?;
        let cell = model.config().rnn.cell;
        let mse = adding_mse(&model, ctx.seed)?;
        out.metric("test_mse", mse)
            .reference("test_mse", 1.0 / 6.0, "predicting the mean: 1/6");
        plot::lines(
            &ctx.out_path("rnn_gradient_lag.svg"),
            "‖∂h_T/∂h_t‖ over the time lag (loaded model)",
            "lag T − t",
            "norm (log scale)",
            &[(cell.name().to_string(), lag_norms(&model, ctx.seed)?)],
            true,
        )?;
        out.plot(
            "rnn_gradient_lag.svg",
            "Norm of the Jacobian of the last hidden state with respect to earlier states, over \
             the time lag, for the loaded model.",
        );
        return Ok(out);
    }
    let mut curves = Vec::new();
    let mut lags = Vec::new();
    let mut iterations = epochs * steps_per_epoch;
    for (cell, label, file) in [
        (CellKind::Lstm, "LSTM", "rnn_adding_lstm"),
        (CellKind::Tanh, "tanh RNN", "rnn_adding_tanh"),
    ] {
        let asked = AddingConfig {
            cell,
            steps: STEPS,
            hidden: HIDDEN,
            test_size: TEST_SIZE,
            steps_per_epoch,
            train: TrainConfig::new(epochs, 32)
                .clip_grad_norm(1.0)
                .seed(ctx.seed),
            ..AddingConfig::default()
        };
        let (config, run, history) = resumable(ctx, &Adding, label, file, asked, 32)?;
        let model = run.model;
        iterations = config.train.epochs * config.steps_per_epoch;
        let test_mse = adding_mse(&model, ctx.seed)?;
        let initial = adding_model(cell, HIDDEN, ctx.seed)?;
        lags.push((format!("{label}, initial"), lag_norms(&initial, ctx.seed)?));
        lags.push((format!("{label}, trained"), lag_norms(&model, ctx.seed)?));
        curves.push((
            label.to_string(),
            validation_curve(&history, config.steps_per_epoch),
        ));
        match cell {
            CellKind::Lstm => {
                out.metric("test_mse", test_mse).reference(
                    "test_mse",
                    1.0 / 6.0,
                    "predicting the mean: 1/6 (the tanh RNN stays near it)",
                );
            }
            _ => {
                out.metric("tanh_rnn_test_mse", test_mse);
            }
        }
        let mut model = model;
        let file = format!("{file}.safetensors");
        save_model(ctx.out_path(&file), &mut model, &[])?;
        out.models.push(file);
    }
    out.metric("iterations", iterations as f64);
    let baseline: Vec<(f64, f64)> = curves[0].1.iter().map(|&(s, _)| (s, 1.0 / 6.0)).collect();
    curves.push(("predict the mean (1/6)".to_string(), baseline));
    plot::lines(
        &ctx.out_path("rnn_adding_curves.svg"),
        &format!("Adding problem, T = {STEPS}: test MSE during training"),
        "optimizer step",
        "test MSE (log scale)",
        &curves,
        true,
    )?;
    out.plot(
        "rnn_adding_curves.svg",
        "Test MSE on the adding problem while training: the LSTM learns to carry the two marked \
         numbers across the sequence; the tanh RNN of the same size hardly leaves the \
         predict-the-mean baseline.",
    );
    plot::lines(
        &ctx.out_path("rnn_gradient_lag.svg"),
        "‖∂h_T/∂s_t‖ over the time lag T − t",
        "lag T − t",
        "norm (log scale)",
        &lags,
        true,
    )?;
    out.plot(
        "rnn_gradient_lag.svg",
        "How much of a signal at the last step reaches each earlier step: the Jacobian norm \
         ‖∂h_T/∂s_t‖ falls geometrically with the lag through the tanh RNN, while the LSTM's \
         cell path keeps it (log scale).",
    );
    Ok(out)
}

fn real(ctx: &Ctx, text: Option<&Path>, sunspots: Option<&Path>) -> crate::Result<Outcome> {
    // the character model resumes; the sunspot ensemble (short, not saved) trains in full
    if text.is_none() {
        ctx.no_resume("rnn", "sunspots")?;
    }
    // the sunspot ensemble is not saved, so --load evaluates the character model only
    let sunspots = sunspots.filter(|_| ctx.load.is_none());
    let names: Vec<String> = text
        .iter()
        .chain(sunspots.iter())
        .map(|p| p.display().to_string())
        .collect();
    let mut out = Outcome::new(
        "rnn",
        match (text, sunspots) {
            (Some(_), Some(_)) => "character LSTM; LSTM ensemble on sunspots",
            (Some(_), None) => "character LSTM (128 units, embedding 64)",
            _ => "LSTM ensemble (5 x 8 units) vs AR(12)",
        },
        names.join("; "),
    );
    if let Some(path) = text {
        let raw = optim::data::load_text(path)?;
        let corpus = CharCorpus::new(&raw, 0.1)?;
        // 4 validation evaluations over the run
        let steps_per_epoch = (ctx.epochs_or(300) / 4).max(1);
        let epochs = ctx.epochs_or(300).div_ceil(steps_per_epoch);
        let defaults = CharLmConfig::default();
        let cfg = CharLmConfig {
            hidden: 128,
            steps_per_epoch,
            train: TrainConfig {
                epochs,
                seed: ctx.seed,
                ..defaults.train.clone()
            },
            ..defaults
        };
        let batch = cfg.train.batch_size;
        // the validation tenth is cut into `batch` streams of a chunk and its next character
        let need = batch * (cfg.steps + 1);
        if corpus.valid.len() < need {
            return Err(format!(
                "{}: {} characters; the character LSTM holds out the last 10 % for validation and \
                 reads it as {batch} streams of {} characters, so the text needs at least {}",
                path.display(),
                corpus.train.len() + corpus.valid.len(),
                cfg.steps + 1,
                10 * need
            )
            .into());
        }
        let (model, valid, curve) = match &ctx.load {
            Some(file) => {
                let model: SeqModel<f32> = load_model(file)?;
                let v = tasks::evaluate_nats(&model, &corpus.valid, batch, cfg.steps)?;
                (model, v, Vec::new())
            }
            None => {
                let items = batch * cfg.steps;
                let (cfg, run, history) =
                    resumable(ctx, &Chars(&corpus), "chars", "rnn_char_lstm", cfg, items)?;
                // this call's last evaluation, or (a resumed run with nothing left) a new one
                let valid = match history.validation_losses().last() {
                    Some(&v) => v,
                    None => tasks::evaluate_nats(&run.model, &corpus.valid, batch, cfg.steps)?,
                };
                let curve = validation_curve(&history, cfg.steps_per_epoch);
                let mut model = run.model;
                let file = "rnn_char_lstm.safetensors";
                save_model(ctx.out_path(file), &mut model, &[])?;
                out.models.push(file.into());
                (model, valid, curve)
            }
        };
        out.metric("val_loss", valid).reference(
            "val_loss",
            2.05,
            "3-gram character model on the same split (rnn issue)",
        );
        // "ROMEO:" on Shakespeare; on a corpus without those characters, its own first
        // characters (a prompt outside the vocabulary would fail after training)
        let prompt = if corpus.vocab.encode("ROMEO:").is_ok() {
            "ROMEO:".to_string()
        } else {
            corpus
                .vocab
                .decode(&corpus.train[..corpus.train.len().min(8)])
        };
        let sample = tasks::sample_text(
            &model,
            &corpus.vocab,
            &prompt,
            300,
            0.8,
            &mut optim::rng(ctx.seed),
        )?;
        plot::write_file(
            &ctx.out_path("rnn_sample.txt"),
            format!("{prompt}{sample}\n").as_bytes(),
        )?;
        if !curve.is_empty() {
            let points = curve;
            let trigram: Vec<(f64, f64)> = points.iter().map(|&(s, _)| (s, 2.05)).collect();
            plot::lines(
                &ctx.out_path("rnn_char_curve.svg"),
                "Character LSTM on tiny Shakespeare: validation loss",
                "optimizer step",
                "nats per character",
                &[
                    ("LSTM".to_string(), points),
                    ("3-gram (2.05)".to_string(), trigram),
                ],
                false,
            )?;
            out.plot(
                "rnn_char_curve.svg",
                "Validation cross-entropy of the character LSTM (nats per character) against a \
                 3-gram model's 2.05; a sample is in rnn_sample.txt.",
            );
        }
    }
    if let Some(path) = sunspots {
        let (years, values) = optim::data::load_sunspots_yearly::<f64>(path)?;
        let defaults = SunspotsConfig::default();
        let cfg = SunspotsConfig {
            train: TrainConfig {
                epochs: ctx.epochs_or(800),
                seed: ctx.seed,
                ..defaults.train.clone()
            },
            ..defaults
        };
        // one full-batch step per epoch, for each network of the ensemble
        let total = cfg.train.epochs * cfg.ensemble;
        let bar = ctx.progress.bar("rnn sunspots", total as u64, "steps");
        let mut done = 0usize;
        let r = train_sunspots(&cfg, &years, &values, &mut |p| {
            if let Progress::Step { loss, .. } = p {
                done += 1;
                if done.is_multiple_of(20) || done == total {
                    bar.update(done as u64, loss, done as u64);
                }
            }
        })?;
        bar.finish();
        out.metric("test_arv", r.net_test_arv)
            .metric("ar12_test_arv", r.ar_test_arv)
            .metric("train_arv", r.net_train_arv)
            .reference(
                "test_arv",
                0.13,
                "AR(12) least squares, test 1921-1955 (rnn issue)",
            );
        super::sunspots_plot(
            ctx,
            &mut out,
            "rnn_sunspots.svg",
            "LSTM ensemble",
            &r.test_predictions,
            (r.net_test_arv, r.ar_test_arv),
        )?;
    }
    Ok(out)
}
