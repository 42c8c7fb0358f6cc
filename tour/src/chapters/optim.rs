//! §5 optimization: SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam race on the Rosenbrock
//! function from (−1.2, 1) to ‖x − (1, 1)‖ < 1e-4 (`optim::testfns::rosenbrock_race`).

use super::Ctx;
use crate::plot;
use crate::report::Outcome;

/// Runs the race; `--epochs` caps the iterations per optimizer (default 20 000).
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.load.is_some() {
        return Err(
            "optim: the optimizer race trains no model, so there is nothing to --load".into(),
        );
    }
    ctx.no_files("optim", "it races optimizers on the Rosenbrock function")?;
    let max_iters = ctx.epochs_or(20_000);
    let bar = ctx.progress.bar("optim", 1, "races");
    let race = optim::testfns::rosenbrock_race(1e-4, max_iters)?;
    bar.finish();
    let mut out = Outcome::new(
        "optim",
        "SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam",
        "generated: Rosenbrock from (-1.2, 1)",
    );
    for entry in &race {
        let iterations = entry.path.converged_at.map_or(
            f64::from(u32::try_from(max_iters).unwrap_or(u32::MAX)),
            |k| k as f64,
        );
        out.metric(
            format!("iterations_{}", entry.name.to_ascii_lowercase()),
            iterations,
        );
        out.metric(
            format!("final_f_{}", entry.name.to_ascii_lowercase()),
            *entry.path.values.last().unwrap_or(&f64::NAN),
        );
    }
    let paths: Vec<(String, Vec<(f64, f64)>)> = race
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.path
                    .subsample(400)
                    .into_iter()
                    .map(|(_, p, _)| (p[0], p[1]))
                    .collect(),
            )
        })
        .collect();
    let levels = |x: f64, y: f64| {
        let f = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
        // contour bands of log10 f, drawn as a light background
        ((f.max(1e-3).log10() + 3.0) / 1.5).floor().clamp(0.0, 9.0) as usize
    };
    plot::scatter(
        &ctx.out_path("optim_rosenbrock_paths.svg"),
        "Optimizer paths on the Rosenbrock function",
        &[(-1.2, 1.0, 7), (1.0, 1.0, 3)],
        Some(&levels),
        &paths,
        Some(((-1.6, 1.6), (-0.6, 1.6))),
    )?;
    out.plot(
        "optim_rosenbrock_paths.svg",
        "Paths of six optimizers from (−1.2, 1) to the minimum (1, 1) of the Rosenbrock valley; \
         background bands are levels of log f.",
    );
    let curves: Vec<(String, Vec<(f64, f64)>)> = race
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.path
                    .subsample(600)
                    .into_iter()
                    .map(|(k, _, v)| (k as f64, v))
                    .collect(),
            )
        })
        .collect();
    plot::lines(
        &ctx.out_path("optim_rosenbrock_values.svg"),
        "f(x_k) on the Rosenbrock function",
        "iteration",
        "f (log scale)",
        &curves,
        true,
    )?;
    out.plot(
        "optim_rosenbrock_values.svg",
        "Objective value per iteration (log scale): adaptive and momentum methods cross the flat \
         valley floor far sooner than plain SGD.",
    );
    Ok(out)
}
