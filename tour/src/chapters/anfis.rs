//! §10 fuzzy neural networks: ANFIS, a Takagi–Sugeno fuzzy system written as a five-layer
//! network whose membership functions (premises) and linear rule outputs (consequents) are both
//! learned — the consequents by least squares, the premises by gradient steps (Jang's hybrid
//! rule).
//!
//! Generated data: Jang's Mackey-Glass experiment (inputs `x(t−18), x(t−12), x(t−6), x(t)`,
//! target `x(t+6)`, 500 training and 500 test rows), two bell functions per input, 16 rules,
//! 104 parameters. With `--data-dir`: yearly sunspots (train ≤ 1920, test 1921–1955, ARV beside
//! the AR(12) least-squares baseline) from three lagged years.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use classic::anfis::experiments::{
    MACKEY_GLASS_INPUTS, MackeyGlassConfig, MackeyGlassReport, MackeyGlassStart, SunspotsConfig,
    sunspots,
};
use classic::anfis::{Anfis, HybridConfig, HybridState, MfCurve, train_hybrid_resume};
use classic::mackey_glass::{jang_dataset, ndei, rmse};
use optim::train::{EpochRecord, History, Progress};
use std::path::Path;

const MODEL_FILE: &str = "anfis_mackey_glass.safetensors";

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.test.is_some() {
        return Err("anfis: --test is not used by this chapter (it splits its own data)".into());
    }
    match ctx.train_file(Kind::Sunspots)? {
        Some(file) if ctx.load.is_none() => {
            ctx.no_resume("anfis", "yearly sunspots")?;
            run_sunspots(ctx, &file)
        }
        _ => run_mackey_glass(ctx),
    }
}

/// One plot per input: its membership functions before and after training.
fn plot_memberships(
    ctx: &Ctx,
    out: &mut Outcome,
    prefix: &str,
    names: &[&str],
    before: &[MfCurve],
    after: &[MfCurve],
) -> crate::Result<()> {
    let inputs = after.iter().map(|c| c.input + 1).max().unwrap_or(0);
    for i in 0..inputs {
        let mut series = Vec::new();
        for (when, curves) in [("before", before), ("after", after)] {
            for c in curves.iter().filter(|c| c.input == i) {
                series.push((
                    format!("{} {when}", c.label),
                    c.xs.iter().copied().zip(c.ys.iter().copied()).collect(),
                ));
            }
        }
        let name = names.get(i).copied().unwrap_or("x");
        let file = format!("{prefix}_membership_{}.svg", i + 1);
        plot::lines(
            &ctx.out_path(&file),
            &format!("Membership functions of input {} ({name})", i + 1),
            name,
            "membership μ",
            &series,
            false,
        )?;
        out.plot(
            file,
            if before.is_empty() {
                format!("The fuzzy sets of input {} ({name}) after training.", i + 1)
            } else {
                format!(
                    "The fuzzy sets of input {} ({name}) before training (initial bells spread \
                     over the input's range) and after hybrid training moved and reshaped them.",
                    i + 1
                )
            },
        );
    }
    Ok(())
}

fn plot_curve(ctx: &Ctx, out: &mut Outcome, file: &str, history: &[EpochRecord]) -> Res {
    let train: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|e| e.term("rmse").map(|r| (e.epoch as f64, r)))
        .collect();
    let check: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|e| e.term("check_rmse").map(|c| (e.epoch as f64, c)))
        .collect();
    let mut series = vec![("training RMSE".to_string(), train)];
    if !check.is_empty() {
        series.push(("test RMSE (reported only)".to_string(), check));
    }
    plot::lines(
        &ctx.out_path(file),
        "ANFIS hybrid learning: RMSE per epoch",
        "epoch",
        "RMSE",
        &series,
        false,
    )?;
    out.plot(
        file,
        "Training RMSE per epoch of hybrid learning (least-squares consequents, a gradient \
         step on the premises).",
    );
    Ok(())
}

type Res = crate::Result<()>;

/// The Mackey-Glass run's training state, written after every epoch (`--resume` continues
/// from it).
const TRAINING_FILE: &str = "anfis_mackey_glass.training.safetensors";

/// Jang's experiment (`classic::anfis::experiments::mackey_glass`'s two halves around hybrid training run epoch by epoch),
/// the training state saved after every epoch; with `--resume DIR` continuing the run of the
/// same settings whose state is in `DIR`, to `--epochs` in all (default: the saved run's).
fn train_mackey_glass(ctx: &Ctx, config: &MackeyGlassConfig) -> crate::Result<MackeyGlassReport> {
    let start = MackeyGlassStart::new(config)?;
    let mut hybrid = config.hybrid;
    let mut state: Option<HybridState<f32>> = None;
    if let Some(path) = ctx.resume_file("anfis", TRAINING_FILE)? {
        let (saved, saved_config) = HybridState::<f32>::load(&path)?;
        let planned = HybridConfig {
            epochs: saved_config.epochs,
            ..hybrid
        };
        if saved_config != planned || saved.live.architecture() != start.model.architecture() {
            return Err(ctx.other_run(
                &path,
                "its ANFIS was trained with other settings or rules than this run's",
            ));
        }
        if ctx.epochs.is_none() {
            hybrid.epochs = saved_config.epochs;
        }
        state = Some(saved);
    }
    let data = &start.data;
    let bar = ctx.progress.bar("anfis", hybrid.epochs as u64, "epochs");
    let n = data.train_x.ncols();
    let path = ctx.out_path(TRAINING_FILE);
    let mut model = start.model.clone();
    let mut history = History::default();
    let mut best_epoch = 0;
    let done = state.as_ref().map_or(0, HybridState::epoch);
    ctx.each_epoch("anfis", done, hybrid.epochs, &mut |epoch| {
        if state.as_ref().is_none_or(|s| s.epoch() < epoch) {
            // the run planned for `hybrid.epochs`, to `epoch`
            let this_call = HybridConfig {
                epochs: epoch,
                ..hybrid
            };
            let (report, next) = train_hybrid_resume(
                &mut model,
                &data.train_x,
                &data.train_y,
                Some((&data.test_x, &data.test_y)),
                &this_call,
                state.as_ref(),
                &mut |p| {
                    if let Progress::Epoch(e) = p {
                        let rmse = e.term("rmse").unwrap_or(f64::NAN);
                        bar.update(e.epoch as u64, rmse, (e.epoch * n) as u64);
                    }
                },
            )?;
            best_epoch = report.best_epoch();
            history.epochs.extend(report.history.epochs);
            history.steps = report.history.steps;
            state = Some(next);
        }
        if let Some(s) = &state {
            s.save(&path, &hybrid)?;
        }
        Ok(())
    })?;
    bar.finish();
    if history.epochs.is_empty()
        && let Some(s) = &state
    {
        // a resumed run with nothing left: the model it ended with (the best epoch's, if kept)
        model = s.best.clone().unwrap_or_else(|| s.live.clone());
        best_epoch = s.position.best.map_or(s.epoch(), |(e, _)| e + 1);
    }
    Ok(start.report(config, model, history, best_epoch)?)
}

fn run_mackey_glass(ctx: &Ctx) -> crate::Result<Outcome> {
    let epochs = ctx.epochs_or(500);
    let mut out = Outcome::new(
        "anfis",
        "ANFIS, 2 bell functions per input, 16 rules, hybrid learning",
        "generated: Mackey-Glass (tau 17), Jang's 500/500 split",
    );
    let data = jang_dataset::<f32>()?;
    let mut extra: Vec<(&str, f64)> = Vec::new();
    let (model, before, history) = match &ctx.load {
        Some(path) => {
            let model = Anfis::<f32>::load(path)?;
            (model, Vec::new(), Vec::new())
        }
        None => {
            let config = MackeyGlassConfig {
                hybrid: HybridConfig {
                    epochs,
                    ..HybridConfig::default()
                },
                seed: ctx.seed,
                ..MackeyGlassConfig::default()
            };
            let report = train_mackey_glass(ctx, &config)?;
            extra = vec![
                ("ls_only_test_ndei", report.ls_only_test_ndei),
                ("best_epoch", report.best_epoch as f64),
                ("parameters", report.parameters as f64),
            ];
            (report.model, report.initial_curves, report.history.epochs)
        }
    };
    let test = model.predict(&data.test_x)?.output;
    let train = model.predict(&data.train_x)?.output;
    let test_rmse = rmse(&test, &data.test_y)?;
    let test_ndei = ndei(&test, &data.test_y)?;
    out.metric("test_rmse", test_rmse)
        .metric("test_ndei", test_ndei)
        .metric("train_rmse", rmse(&train, &data.train_y)?);
    for (name, value) in extra {
        out.metric(name, value);
    }
    out.reference(
        "test_ndei",
        0.007,
        "Jang 1993, 500 epochs of hybrid learning (RMSE about 0.0016)",
    )
    .reference(
        "ls_only_test_ndei",
        0.016,
        "least squares alone from the initial functions (anfis issue)",
    );
    plot_memberships(
        ctx,
        &mut out,
        "anfis",
        &MACKEY_GLASS_INPUTS,
        &before,
        &model.membership_curves(101),
    )?;
    let truth: Vec<(f64, f64)> = data
        .test_t
        .iter()
        .zip(data.test_y.iter())
        .map(|(&t, &y)| ((t + 6) as f64, f64::from(y)))
        .collect();
    let predicted: Vec<(f64, f64)> = data
        .test_t
        .iter()
        .zip(test.iter())
        .map(|(&t, &y)| ((t + 6) as f64, f64::from(y)))
        .collect();
    plot::lines(
        &ctx.out_path("anfis_prediction.svg"),
        "ANFIS vs Mackey-Glass truth (test half)",
        "t",
        "x(t)",
        &[
            ("truth x(t+6)".to_string(), truth),
            ("ANFIS prediction".to_string(), predicted),
        ],
        false,
    )?;
    out.plot(
        "anfis_prediction.svg",
        format!(
            "Six-step-ahead prediction on the 500 test times: 16 fuzzy rules follow the chaotic \
             series (test RMSE {test_rmse:.4}, NDEI {test_ndei:.4})."
        ),
    );
    if !history.is_empty() {
        plot_curve(ctx, &mut out, "anfis_curve.svg", &history)?;
        let mut model = model;
        model.save(ctx.out_path(MODEL_FILE))?;
        out.models.push(MODEL_FILE.into());
        out.models.push(TRAINING_FILE.into());
    }
    Ok(out)
}

fn run_sunspots(ctx: &Ctx, file: &Path) -> crate::Result<Outcome> {
    let (years, values) = optim::data::load_sunspots_yearly::<f64>(file)?;
    let defaults = SunspotsConfig::default();
    let epochs = ctx.epochs_or(defaults.hybrid.epochs as u64);
    let config = SunspotsConfig {
        hybrid: HybridConfig {
            epochs,
            ..defaults.hybrid
        },
        ..defaults
    };
    let lags = config
        .lags
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Outcome::new(
        "anfis",
        format!(
            "ANFIS on lags {lags}, {} bell functions per input, hybrid learning",
            config.mfs_per_input
        ),
        format!("{} (train <= 1920, test 1921-1955)", file.display()),
    );
    let bar = ctx.progress.bar("anfis", epochs as u64, "epochs");
    let r = sunspots(&config, &years, &values, &mut |p| {
        if let Progress::Epoch(e) = p {
            let rmse = e.term("rmse").unwrap_or(f64::NAN);
            bar.update(e.epoch as u64, rmse, e.epoch as u64);
        }
    })?;
    bar.finish();
    out.metric("test_arv", r.anfis_test_arv)
        .metric("ar12_test_arv", r.ar_test_arv)
        .metric("ls_only_test_arv", r.anfis_ls_only_test_arv)
        .metric("train_arv", r.anfis_train_arv)
        .reference(
            "test_arv",
            0.13,
            "AR(12) least squares, test 1921-1955 (rnn issue)",
        );
    super::sunspots_plot(
        ctx,
        &mut out,
        "anfis_sunspots.svg",
        "ANFIS",
        &r.test_predictions,
        (r.anfis_test_arv, r.ar_test_arv),
    )?;
    let names: Vec<String> = config.lags.iter().map(|l| format!("x(t-{l})")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    plot_memberships(
        ctx,
        &mut out,
        "anfis_sunspots",
        &names,
        &[],
        &r.model.membership_curves(101),
    )?;
    plot_curve(ctx, &mut out, "anfis_sunspots_curve.svg", &r.history.epochs)?;
    Ok(out)
}
