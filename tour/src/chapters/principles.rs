//! The notes' framework, measured (issue 20): §2.1's coordinates of inductive bias as a table,
//! §1.2's three contradictions, §5.1's saddles, §5.2's mini-batch noise and §11's transferable
//! representations, each as a sub-result with a plot, its numbers and its claim beside the
//! measured outcome. The mathematics lives in `optim` (`landscape`, `testfns`) and the chapter
//! crates; this module runs the experiments and draws them.
//!
//! §5.1 has two sub-results: gradient descent near a strict saddle (`testfns::StrictSaddle`), and
//! Dauphin et al. (2014)'s count — critical points of a small network's loss found by Newton's
//! method from many starts (`landscape::find_critical_point`), minima against saddles, and the
//! index (fraction of negative Hessian eigenvalues) against the loss.
//!
//! Generated data: two noisy moons (expressiveness), XOR (restarts), a noisy sine (critical
//! points), seven-segment digit images
//! of `cnn::data::segment_digits` (batch size, data scale, transfer). With `--data-dir`: optdigits
//! for expressiveness and MNIST (the t10k images) for batch size, data scale and transfer.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use cnn::{Cnn, ImageShape};
use mlp::{Config, Mlp};
use optim::data::{Dataset, Standardizer};
use optim::train::{EarlyStopping, TrainConfig, Trainable};
use optim::{Activation, Adam, Mat, Optimizer, Sgd, rng};

type Res = crate::Result<()>;

/// Every chapter crate's families in the §2.1 coordinates, with the tour chapter that runs
/// them (the gallery links each row there).
pub fn families() -> Vec<(&'static str, optim::bias::Coordinates)> {
    let crates: [(&'static str, &[optim::bias::Coordinates]); 8] = [
        ("perceptron", perceptron::FAMILIES),
        ("mlp", mlp::FAMILIES),
        ("autoencoder", autoencoder::FAMILIES),
        ("cnn", cnn::FAMILIES),
        ("rnn", rnn::FAMILIES),
        ("transformer", transformer::FAMILIES),
        ("rbm", generative::FAMILIES),
        ("rbf", classic::FAMILIES),
    ];
    let mut out = Vec::new();
    for (chapter, fams) in crates {
        for f in fams {
            let chapter = match f.family {
                "GAN" => "gan",
                "SOM" => "som",
                "ANFIS" => "anfis",
                "seq2seq + attention" => "seq2seq",
                _ => chapter,
            };
            out.push((chapter, *f));
        }
    }
    out
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.load.is_some() {
        return Err(
            "principles: the experiments train many models and save none; nothing to --load".into(),
        );
    }
    ctx.no_files("principles", "it reads generated data or --data-dir")?;
    let mnist = match ctx.optional_train_file(Kind::IdxImages)? {
        Some(images) => {
            let labels = ctx.idx_labels_for(&images)?;
            Some(optim::data::load_mnist::<f32>(&images, &labels)?)
        }
        None => None,
    };
    let optdigits = ctx.optional_train_file(Kind::Optdigits)?;
    let data = match (&mnist, &optdigits) {
        (None, None) => "generated: noisy moons, XOR, seven-segment digit images".to_string(),
        _ => format!(
            "{}{}",
            optdigits
                .as_ref()
                .map_or(String::new(), |p| format!("{} ", p.display())),
            if mnist.is_some() { "MNIST IDX" } else { "" }
        ),
    };
    let mut out = Outcome::new(
        "principles",
        "§1.2, §2.1, §5.1, §5.2, §11 measured: MLPs, CNNs, an autoencoder, test functions",
        data,
    );
    let bar = ctx.progress.bar("principles", 8, "experiments");
    coordinates(&mut out);
    bar.update(1, 0.0, 0);
    expressiveness(ctx, &mut out, optdigits.as_deref())?;
    bar.update(2, 0.0, 0);
    restarts(ctx, &mut out)?;
    bar.update(3, 0.0, 0);
    saddle(ctx, &mut out)?;
    bar.update(4, 0.0, 0);
    critical_points(ctx, &mut out)?;
    bar.update(5, 0.0, 0);
    let images = images(ctx, mnist.as_ref());
    batch_size(ctx, &mut out, &images)?;
    bar.update(6, 0.0, 0);
    data_scale(ctx, &mut out, &images)?;
    bar.update(7, 0.0, 0);
    transfer(ctx, &mut out, &images)?;
    bar.finish();
    Ok(out)
}

/// §2.1: the table (printed to stderr unless quiet; the gallery opens with it).
fn coordinates(out: &mut Outcome) {
    let fams: Vec<_> = families().into_iter().map(|(_, f)| f).collect();
    let distinct = fams
        .iter()
        .map(|f| f.row()[1..].to_vec())
        .collect::<std::collections::HashSet<_>>()
        .len();
    out.metric("coordinates_families", fams.len() as f64)
        .metric("coordinates_distinct_points", distinct as f64);
    out.table = Some(optim::bias::table(&fams));
    out.claim(
        "coordinates",
        "§2.1: every model family is a point in five coordinates (input, sharing, dependency, memory, paradigm).",
        format!(
            "{} families of the 8 chapter crates placed, at {} distinct points",
            fams.len(),
            distinct
        ),
        true,
    );
}

/// Trains `model` on `train` and returns it (no progress output).
fn train<M: Trainable<f32>>(
    model: &mut M,
    train: &M::Data,
    validation: Option<&M::Data>,
    optimizer: &mut dyn Optimizer<f32>,
    config: &TrainConfig,
) -> crate::Result<optim::History> {
    Ok(model.fit(train, validation, optimizer, config, &mut |_| {})?)
}

fn error_of<M: Trainable<f32>>(model: &M, data: &M::Data) -> crate::Result<f64> {
    Ok(1.0 - model.evaluate(data)?.accuracy.unwrap_or(f64::NAN))
}

/// Moons with `flip` of the labels flipped: the noise a large model can memorize.
fn noisy_moons(n: usize, flip: f64, seed: u64) -> crate::Result<Dataset<f32>> {
    use optim::rand::Rng;
    let mut r = rng(seed);
    let d = optim::data::generate::two_moons::<f32>(n, 0.25, &mut r);
    let labels = d
        .labels()
        .unwrap_or(&[])
        .iter()
        .map(|&l| if r.random::<f64>() < flip { 1 - l } else { l })
        .collect();
    Ok(Dataset::classification(d.x.clone(), labels)?)
}

/// §1.2 expressiveness vs generalization: train and test error against hidden width.
fn expressiveness(ctx: &Ctx, out: &mut Outcome, optdigits: Option<&std::path::Path>) -> Res {
    let (train_set, test_set, what, classes) = match optdigits {
        Some(p) => {
            let all = cnn::data::optdigits::<f32>(p)?;
            let order = optim::data::permutation(all.len(), &mut rng(ctx.seed));
            let train_set = all.select(&order[..300]);
            let test_set = all.select(&order[300..1300]);
            (train_set, test_set, "300 optdigits images", 10)
        }
        None => (
            noisy_moons(200, 0.15, ctx.seed)?,
            noisy_moons(2000, 0.15, ctx.seed + 1)?,
            "200 noisy moons (15 % labels flipped)",
            2,
        ),
    };
    let inputs = train_set.x.nrows();
    let (fit_part, validation) = train_set.split(0.25, &mut rng(ctx.seed + 2))?;
    let widths = [1usize, 2, 4, 8, 16, 32, 64, 128, 256];
    let epochs = ctx.epochs_or(300);
    let variants = ["none", "weight decay", "dropout", "early stopping"];
    let mut train_curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut test_curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut best_none = (f64::INFINITY, 0usize);
    let mut large = [0.0f64; 4];
    for (v, variant) in variants.iter().enumerate() {
        let (mut tr, mut te) = (Vec::new(), Vec::new());
        for &w in &widths {
            let mut config = Config::classifier(inputs, &[w], classes).activation(Activation::Tanh);
            if *variant == "dropout" {
                config = config.dropout(0.3);
            }
            let mut model: Mlp<f32> = config.init(&mut rng(ctx.seed + w as u64))?;
            let mut adam = if *variant == "weight decay" {
                Adam::adamw(0.01, 0.1)?
            } else {
                Adam::new(0.01)?
            };
            let mut settings = TrainConfig::new(epochs, 32).seed(ctx.seed);
            // every variant sees the same 75 %; early stopping watches the other 25 %
            if *variant == "early stopping" {
                settings = settings.early_stopping(EarlyStopping::patience(30));
                train(
                    &mut model,
                    &fit_part,
                    Some(&validation),
                    &mut adam,
                    &settings,
                )?;
            } else {
                train(&mut model, &fit_part, None, &mut adam, &settings)?;
            }
            let (e_train, e_test) = (error_of(&model, &fit_part)?, error_of(&model, &test_set)?);
            out.metric(
                format!("width_{w}_{}_train_error", variant.replace(' ', "_")),
                e_train,
            );
            out.metric(
                format!("width_{w}_{}_test_error", variant.replace(' ', "_")),
                e_test,
            );
            tr.push((w as f64, e_train));
            te.push((w as f64, e_test));
            if v == 0 && e_test < best_none.0 {
                best_none = (e_test, w);
            }
        }
        large[v] = te.last().map_or(f64::NAN, |p| p.1);
        train_curves.push((format!("train, {variant}"), tr));
        test_curves.push((format!("test, {variant}"), te));
    }
    let log_w = |c: Vec<(String, Vec<(f64, f64)>)>| -> Vec<(String, Vec<(f64, f64)>)> {
        c.into_iter()
            .map(|(n, p)| (n, p.into_iter().map(|(x, y)| (x.log2(), y)).collect()))
            .collect()
    };
    let mut series = log_w(train_curves);
    series.extend(log_w(test_curves));
    plot::lines(
        &ctx.out_path("principles_width.svg"),
        &format!("Error against hidden width ({what})"),
        "log2 hidden width",
        "error",
        &series,
        false,
    )?;
    let rise = large[0] - best_none.0;
    let regularized_best = large[1..].iter().copied().fold(f64::INFINITY, f64::min);
    out.metric("width_best_test_error_none", best_none.0)
        .metric("width_best_width_none", best_none.1 as f64)
        .metric("width_largest_test_error_rise_none", rise);
    let supported = rise > 0.01 && regularized_best < large[0];
    let outcome = format!(
        "unregularized test error is lowest ({:.3}) at width {} and {:.3} at width 256 ({}); \
         at width 256 weight decay / dropout / early stopping give {:.3} / {:.3} / {:.3}{}",
        best_none.0,
        best_none.1,
        large[0],
        if rise > 0.01 {
            "a rise: the U shape"
        } else {
            "no rise of more than 0.01: no U shape at this scale"
        },
        large[1],
        large[2],
        large[3],
        if regularized_best < large[0] {
            ""
        } else {
            " (no regularizer helps here)"
        }
    );
    out.plot(
        "principles_width.svg",
        format!("§1.2 expressiveness vs generalization on {what}: {outcome}."),
    );
    out.claim(
        "expressiveness_vs_generalization",
        "§1.2: the more complex the model, the more it overfits; regularization trades some expressiveness back for generalization.",
        outcome,
        supported,
    );
    Ok(())
}

/// §1.2 optimum vs computability: final losses of many restarts of XOR with two hidden units.
fn restarts(ctx: &Ctx, out: &mut Outcome) -> Res {
    let data = optim::data::generate::xor::<f32>();
    let restarts = 30;
    let epochs = 1500;
    let mut finals: Vec<(&str, Vec<f64>)> = Vec::new();
    for (name, make) in [("SGD", 0usize), ("momentum", 1), ("Adam", 2)] {
        let mut losses = Vec::with_capacity(restarts);
        for r in 0..restarts {
            let mut model: Mlp<f32> = Config::classifier(2, &[2], 2)
                .activation(Activation::Tanh)
                .init(&mut rng(ctx.seed * 1000 + r as u64))?;
            let mut opt: Box<dyn Optimizer<f32>> = match make {
                0 => Box::new(Sgd::new(0.5)?),
                1 => Box::new(Sgd::new(0.1)?.momentum(0.9)?),
                _ => Box::new(Adam::new(0.05)?),
            };
            train(
                &mut model,
                &data,
                None,
                opt.as_mut(),
                &TrainConfig::new(epochs, 4).seed(r as u64),
            )?;
            losses.push(model.evaluate(&data)?.loss);
        }
        losses.sort_by(f64::total_cmp);
        finals.push((name, losses));
    }
    let best = finals
        .iter()
        .flat_map(|(_, l)| l.iter().copied())
        .fold(f64::INFINITY, f64::min);
    // XOR's global infimum is 0 (at infinity); a run has found its basin when every point is
    // classified with probability above ~0.95 (mean cross-entropy < 0.05). A run ending higher
    // sits in a local minimum or on a plateau (ln 2 / 2 = 0.347: one of the four points lost).
    let solved_below = 0.05;
    let reach = |l: &[f64]| l.iter().filter(|&&v| v < solved_below).count() as f64 / l.len() as f64;
    let mut parts = Vec::new();
    let mut any_stuck = false;
    for (name, l) in &finals {
        let key = name.to_ascii_lowercase();
        let fraction = reach(l);
        any_stuck |= fraction < 1.0;
        out.metric(format!("restarts_{key}_solved_fraction"), fraction)
            .metric(format!("restarts_{key}_median_loss"), l[l.len() / 2])
            .metric(format!("restarts_{key}_worst_loss"), l[l.len() - 1]);
        parts.push(format!("{name} {:.2}", fraction));
    }
    let worst = finals
        .iter()
        .flat_map(|(_, l)| l.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    out.metric("restarts_best_loss", best);
    let series: Vec<(String, Vec<(f64, f64)>)> = finals
        .iter()
        .map(|(n, l)| {
            (
                n.to_string(),
                l.iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v.max(1e-6)))
                    .collect(),
            )
        })
        .collect();
    plot::lines(
        &ctx.out_path("principles_restarts.svg"),
        "Final loss of 30 restarts of XOR with 2 hidden units (sorted)",
        "restart (sorted by final loss)",
        "final cross-entropy (log scale)",
        &series,
        true,
    )?;
    let outcome = format!(
        "best final loss {best:.2e}; fraction of 30 restarts that solve XOR (final loss < {solved_below}), the rest stuck (worst {worst:.3}): {}",
        parts.join(", ")
    );
    out.plot(
        "principles_restarts.svg",
        format!("§1.2 optimum vs computability: {outcome}."),
    );
    out.claim(
        "optimum_vs_computability",
        "§1.2: the global optimum is not reachable in general, only approximately searched for: restarts of one small non-convex problem end at different losses.",
        outcome,
        any_stuck,
    );
    Ok(())
}

/// §5.1: gradient descent stalls near a strict saddle for `~ln(1/δ)` steps; noise escapes.
fn saddle(ctx: &Ctx, out: &mut Outcome) -> Res {
    use optim::testfns::{StrictSaddle, escape_saddle};
    let eps = 0.1;
    let mut series = Vec::new();
    let mut steps = Vec::new();
    let max_iters = 600;
    let run = |delta: f64, noise: f64, seed: u64| -> crate::Result<optim::testfns::Escape> {
        let mut sgd = Sgd::new(0.1)?;
        Ok(escape_saddle(
            &StrictSaddle,
            &StrictSaddle::SADDLE,
            &mut sgd,
            &[eps, eps * delta],
            noise,
            0.1,
            max_iters,
            &mut rng(seed),
        )?)
    };
    for k in [2, 4, 6, 8, 10, 12] {
        let e = run(10f64.powi(-k), 0.0, 0)?;
        let s = e.escaped_at.map_or(f64::NAN, |s| s as f64);
        out.metric(format!("saddle_gd_steps_delta_1e-{k}"), s);
        steps.push((k as f64, s));
        if k % 4 == 2 {
            series.push((format!("GD, δ = 1e-{k}"), curve(&e.values)));
        }
    }
    let exact = run(0.0, 0.0, 0)?;
    out.metric(
        "saddle_gd_escaped_delta_0",
        if exact.escaped_at.is_some() { 1.0 } else { 0.0 },
    );
    series.push(("GD, δ = 0".into(), curve(&exact.values)));
    let mut noisy = Vec::new();
    for seed in 0..20 {
        let e = run(0.0, 0.01, ctx.seed + seed)?;
        noisy.push(e.escaped_at.map_or(f64::NAN, |s| s as f64));
        if seed < 2 {
            series.push((format!("noise 0.01, δ = 0 (seed {seed})"), curve(&e.values)));
        }
    }
    let noisy_escaped = noisy.iter().filter(|s| s.is_finite()).count();
    let noisy_max = noisy.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    out.metric("saddle_noisy_escaped_of_20", noisy_escaped as f64);
    let slope = (steps[steps.len() - 1].1 - steps[0].1) / (steps[steps.len() - 1].0 - steps[0].0);
    let predicted = 10f64.ln() / 1.1f64.ln();
    out.metric("saddle_gd_steps_per_decade", slope)
        .metric("saddle_gd_steps_per_decade_predicted", predicted)
        .metric("saddle_noisy_max_steps", noisy_max);
    plot::lines(
        &ctx.out_path("principles_saddle.svg"),
        "f(x_k) near the strict saddle ½x² − ½y² + ¼y⁴ (step 0.1, start (0.1, 0.1δ))",
        "step",
        "f",
        &series,
        false,
    )?;
    let outcome = format!(
        "gradient descent needs {slope:.1} more steps per decade of δ (predicted ln 10 / ln 1.1 = {predicted:.1}) and never leaves at δ = 0; \
         with gradient noise 0.01, {noisy_escaped} of 20 runs leave from δ = 0, the slowest after {noisy_max:.0} steps"
    );
    out.plot(
        "principles_saddle.svg",
        format!("§5.1 saddle points: {outcome}."),
    );
    out.claim(
        "saddle_escape",
        "§5.1: saddle points are the main obstacle in high dimensions: gradient descent stalls near them, noise helps escape.",
        outcome,
        (slope - predicted).abs() < 1.0 && exact.escaped_at.is_none() && noisy_escaped == 20,
    );
    Ok(())
}

/// §5.1 (Dauphin et al. 2014): the critical points of a small network's loss, found by Newton's
/// method from many starts (`optim::landscape::find_critical_point`), classified by the
/// eigenvalues of their Hessian (dense, by differences of gradients).
fn critical_points(ctx: &Ctx, out: &mut Outcome) -> Res {
    use optim::landscape::{
        CriticalKind, NewtonConfig, distinct_critical_points, find_critical_point, flat_params,
        model_objective,
    };
    use optim::rand::Rng;
    // 20 points of a noisy sine on [−2, 2]
    let n = 20;
    let mut r = rng(ctx.seed + 11);
    let xs: Vec<f64> = (0..n)
        .map(|i| -2.0 + 4.0 * i as f64 / (n - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| (1.5 * x).sin() + r.random_range(-0.2..0.2))
        .collect();
    let data = Dataset::regression(
        Mat::from_row_slice(1, n, &xs),
        Mat::from_row_slice(1, n, &ys),
    )?;
    let hidden = 4;
    let config = Config::regressor(1, &[hidden], 1).activation(Activation::Tanh);
    let l2 = 1e-3;
    let mut model: Mlp<f64> = config.init(&mut rng(ctx.seed))?;
    let params = model.param_count();
    let newton = NewtonConfig {
        max_iterations: 100,
        ..NewtonConfig::default()
    };
    // starts along training trajectories, as Dauphin et al. did: each of 20 initial networks
    // after 0, 100 and 2000 full-batch Adam steps (Newton's method then goes to a critical
    // point near each, of whatever index)
    let lengths = [0usize, 100, 2000];
    let seeds = 20u64;
    let mut start_points = Vec::new();
    for s in 0..seeds {
        for &steps in &lengths {
            let mut init: Mlp<f64> = config.init(&mut rng(ctx.seed * 7919 + 100 + s))?;
            if steps > 0 {
                init.fit(
                    &data,
                    None,
                    &mut Adam::new(0.01)?,
                    &TrainConfig::new(steps, n).seed(s),
                    &mut |_| {},
                )?;
            }
            start_points.push(flat_params(&mut init));
        }
    }
    let mut found = Vec::new();
    {
        let mut objective = model_objective(&mut model, &data, l2);
        for start in &start_points {
            if let Some(c) = find_critical_point(&mut objective, start, &newton)? {
                found.push(c);
            }
        }
    }
    let starts = start_points.len();
    let count = |points: &[optim::landscape::CriticalPoint], kind: CriticalKind| {
        points.iter().filter(|c| c.kind() == kind).count()
    };
    let distinct = distinct_critical_points(&found, 1e-7);
    let (minima, saddles, maxima) = (
        count(&found, CriticalKind::Minimum),
        count(&found, CriticalKind::Saddle),
        count(&found, CriticalKind::Maximum),
    );
    let (d_minima, d_saddles) = (
        count(&distinct, CriticalKind::Minimum),
        count(&distinct, CriticalKind::Saddle),
    );
    // Pearson correlation of index and loss over the distinct points
    let pairs: Vec<(f64, f64)> = distinct.iter().map(|c| (c.value, c.index())).collect();
    let correlation = pearson(&pairs);
    let lowest = |kind: CriticalKind| {
        distinct
            .iter()
            .filter(|c| c.kind() == kind)
            .map(|c| c.value)
            .fold(f64::INFINITY, f64::min)
    };
    let (low_min, low_saddle) = (lowest(CriticalKind::Minimum), lowest(CriticalKind::Saddle));
    out.metric("critical_starts", starts as f64)
        .metric("critical_parameters", params as f64)
        .metric("critical_converged", found.len() as f64)
        .metric("critical_minima", minima as f64)
        .metric("critical_saddles", saddles as f64)
        .metric("critical_maxima", maxima as f64)
        .metric("critical_distinct_minima", d_minima as f64)
        .metric("critical_distinct_saddles", d_saddles as f64)
        .metric(
            "critical_index_loss_correlation",
            if correlation.is_finite() {
                correlation
            } else {
                0.0
            },
        );
    for (key, v) in [
        ("critical_lowest_minimum_loss", low_min),
        ("critical_lowest_saddle_loss", low_saddle),
    ] {
        if v.is_finite() {
            out.metric(key, v);
        }
    }
    let points: Vec<(f64, f64, usize)> = found
        .iter()
        .map(|c| {
            let class = match c.kind() {
                CriticalKind::Minimum => 0,
                CriticalKind::Saddle => 1,
                CriticalKind::Maximum => 2,
            };
            (c.value, c.index(), class)
        })
        .collect();
    if !points.is_empty() {
        plot::scatter(
            &ctx.out_path("principles_critical.svg"),
            "Index (fraction of negative Hessian eigenvalues) against loss at critical points",
            &points,
            None,
            &[],
            None,
        )?;
    }
    let say = |v: f64| {
        if v.is_finite() {
            format!("{v:.4}")
        } else {
            "none".to_string()
        }
    };
    let outcome = format!(
        "Newton's method from {starts} starts (20 networks after 0, 100, 2000 Adam steps) on a 1-{hidden}-1 tanh network ({params} parameters, \
         {n} noisy sine points, L2 {l2}) converged {} times: {minima} minima, {saddles} saddles, \
         {maxima} maxima ({d_minima} and {d_saddles} distinct); correlation of index and loss \
         {}; lowest minimum loss {}, lowest saddle loss {}",
        found.len(),
        if correlation.is_finite() {
            format!("{correlation:.2}")
        } else {
            "undefined".to_string()
        },
        say(low_min),
        say(low_saddle),
    );
    if !points.is_empty() {
        out.plot(
            "principles_critical.svg",
            format!(
                "§5.1 critical points (blue: minima, orange: saddles, green: maxima; x: loss, y: index): {outcome}."
            ),
        );
    }
    out.claim(
        "critical_points",
        "§5.1 (Dauphin et al. 2014): in high dimensions saddle points, not local minima, are most of the critical points, and a critical point's index (fraction of negative Hessian eigenvalues) rises with its loss.",
        outcome,
        d_saddles > d_minima && correlation > 0.0,
    );
    Ok(())
}

/// Pearson's correlation of the pairs `(a, b)`; NaN when either has no spread.
fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma) * (a - ma);
        sbb += (b - mb) * (b - mb);
    }
    sab / (saa * sbb).sqrt()
}

fn curve(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(k, &v)| (k as f64, v))
        .collect()
}

/// The image data of the last three experiments.
struct Images {
    /// Every image available (`side² x n`), labels 0–9.
    all: Dataset<f32>,
    /// A held-out test set.
    test: Dataset<f32>,
    side: usize,
    words: String,
    /// The largest training size of the learning curves.
    sizes: Vec<usize>,
}

fn images(ctx: &Ctx, mnist: Option<&Dataset<f32>>) -> Images {
    match mnist {
        Some(all) => {
            let order = optim::data::permutation(all.len(), &mut rng(ctx.seed + 3));
            let test = all.select(&order[8000..10000.min(all.len())]);
            Images {
                all: all.select(&order[..8000.min(order.len())]),
                test,
                side: 28,
                words: "MNIST t10k images (8000 for training, 2000 held out)".into(),
                sizes: vec![100, 250, 500, 1000, 2000, 4000, 8000],
            }
        }
        None => {
            let mut r = rng(ctx.seed + 3);
            Images {
                all: cnn::data::segment_digits::<f32>(2000, 12, 0.3, &mut r),
                test: cnn::data::segment_digits::<f32>(1000, 12, 0.3, &mut r),
                side: 12,
                words: "generated 12x12 seven-segment digits on noise".into(),
                sizes: vec![50, 100, 200, 500, 1000, 2000],
            }
        }
    }
}

fn mlp_for(images: &Images, seed: u64) -> crate::Result<Mlp<f32>> {
    let hidden = if images.side > 12 { 128 } else { 64 };
    Ok(Config::classifier(images.side * images.side, &[hidden], 10).init(&mut rng(seed))?)
}

/// conv 5x5 (8) → ReLU → max-pool 2 → dense `penultimate` → ReLU → dense `classes`.
fn cnn_for(side: usize, penultimate: usize, classes: usize, seed: u64) -> crate::Result<Cnn<f32>> {
    let mut r = rng(seed);
    Ok(Cnn::<f32>::builder(ImageShape::new(1, side, side))
        .conv(8, 5, 1, 2, &mut r)?
        .relu()
        .max_pool(2, 2)?
        .flatten()
        .dense(penultimate, &mut r)?
        .relu()
        .dense(classes, &mut r)?
        .build())
}

/// §5.2 large vs small batch at equal epochs and tuned rates: test accuracy and sharpness.
fn batch_size(ctx: &Ctx, out: &mut Outcome, images: &Images) -> Res {
    let n = 1000.min(images.all.len());
    let data = images.all.select(&(0..n).collect::<Vec<_>>());
    let (fit_part, validation) = data.split(0.2, &mut rng(ctx.seed + 4))?;
    let to64 = |d: &Dataset<f32>| -> crate::Result<Dataset<f64>> {
        Ok(Dataset::classification(
            d.x.map(f64::from),
            d.labels().unwrap_or(&[]).to_vec(),
        )?)
    };
    let (fit64, val64, test64) = (to64(&fit_part)?, to64(&validation)?, to64(&images.test)?);
    let inputs = data.x.nrows();
    let epochs = 20;
    let mut rows = Vec::new();
    let mut series = Vec::new();
    for batch in [16usize, fit64.len()] {
        let mut best: Option<(f64, f64, Mlp<f64>)> = None;
        let mut tuning = Vec::new();
        for lr in [0.01, 0.03, 0.1, 0.3, 1.0] {
            let mut model: Mlp<f64> = Config::classifier(inputs, &[32], 10)
                .activation(Activation::Tanh)
                .init(&mut rng(ctx.seed + 5))?;
            let mut sgd = Sgd::new(lr)?.momentum(0.9)?;
            model.fit(
                &fit64,
                None,
                &mut sgd,
                &TrainConfig::new(epochs, batch).seed(ctx.seed),
                &mut |_| {},
            )?;
            let acc = model.evaluate(&val64)?.accuracy.unwrap_or(0.0);
            let acc = if acc.is_finite() { acc } else { 0.0 };
            tuning.push((lr.log10(), acc));
            if best.as_ref().is_none_or(|b| acc > b.0) {
                best = Some((acc, lr, model));
            }
        }
        let (val_acc, lr, mut model) = best.ok_or("principles: no learning rate tried")?;
        let test_acc = model.evaluate(&test64)?.accuracy.unwrap_or(f64::NAN);
        let all: Vec<usize> = (0..fit64.len()).collect();
        let sharp = optim::landscape::sharpness(&mut model, &fit64, &all, 30, 1e-4, ctx.seed)?;
        let key = if batch == 16 { "small" } else { "large" };
        out.metric(format!("batch_{key}_size"), batch as f64)
            .metric(format!("batch_{key}_lr"), lr)
            .metric(format!("batch_{key}_validation_accuracy"), val_acc)
            .metric(format!("batch_{key}_test_accuracy"), test_acc)
            .metric(format!("batch_{key}_sharpness"), sharp);
        rows.push((batch, lr, test_acc, sharp));
        series.push((format!("batch {batch}: validation accuracy"), tuning));
    }
    plot::lines(
        &ctx.out_path("principles_batch.svg"),
        &format!(
            "Validation accuracy against learning rate, {epochs} epochs ({})",
            images.words
        ),
        "log10 learning rate (SGD, momentum 0.9)",
        "validation accuracy",
        &series,
        false,
    )?;
    let (s, l) = (rows[0], rows[1]);
    let outcome = format!(
        "batch {} (lr {}): test accuracy {:.3}, sharpness {:.2}; batch {} (lr {}): test accuracy {:.3}, sharpness {:.2}",
        s.0, s.1, s.2, s.3, l.0, l.1, l.2, l.3
    );
    out.plot(
        "principles_batch.svg",
        format!("§5.2 large vs small batch (tuned rate per batch size, 32 tanh units, float64): {outcome}."),
    );
    out.claim(
        "sgd_noise",
        "§5.2: mini-batch noise is also a regularizer: small batches reach flatter solutions (smaller top Hessian eigenvalue) that generalize at least as well.",
        outcome,
        s.3 < l.3 && s.2 >= l.2,
    );
    Ok(())
}

/// §1.2 data scale vs complexity: MLP and CNN learning curves.
fn data_scale(ctx: &Ctx, out: &mut Outcome, images: &Images) -> Res {
    let passes = if images.side > 12 { 30_000 } else { 15_000 };
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut reached = Vec::new();
    for kind in ["MLP", "CNN"] {
        let mut pts = Vec::new();
        for &n in images.sizes.iter().filter(|&&n| n <= images.all.len()) {
            let part = images.all.select(&(0..n).collect::<Vec<_>>());
            let epochs = (passes / n).clamp(5, 200);
            let settings = TrainConfig::new(epochs, 32).seed(ctx.seed);
            let mut adam = Adam::new(0.003)?;
            let acc = if kind == "MLP" {
                let mut m = mlp_for(images, ctx.seed + 6)?;
                train(&mut m, &part, None, &mut adam, &settings)?;
                m.evaluate(&images.test)?.accuracy
            } else {
                let mut m = cnn_for(images.side, 64, 10, ctx.seed + 6)?;
                train(&mut m, &part, None, &mut adam, &settings)?;
                m.evaluate(&images.test)?.accuracy
            }
            .unwrap_or(f64::NAN);
            out.metric(
                format!("scale_{}_n{n}_test_accuracy", kind.to_ascii_lowercase()),
                acc,
            );
            pts.push((n as f64, acc));
        }
        for thr in [0.90, 0.95] {
            let first = pts.iter().find(|p| p.1 >= thr).map_or(f64::NAN, |p| p.0);
            let key = kind.to_ascii_lowercase();
            out.metric(
                format!("scale_{key}_reached_{thr:.2}"),
                if first.is_nan() { 0.0 } else { 1.0 },
            );
            // the count only when reached (metrics are finite numbers)
            if first.is_finite() {
                out.metric(format!("scale_{key}_examples_at_{thr:.2}"), first);
            }
            reached.push((kind, thr, first));
        }
        curves.push((
            kind.to_string(),
            pts.iter().map(|p| (p.0.log10(), p.1)).collect(),
        ));
    }
    plot::lines(
        &ctx.out_path("principles_scale.svg"),
        &format!("Test accuracy against training-set size ({})", images.words),
        "log10 training examples",
        "test accuracy",
        &curves,
        false,
    )?;
    let say = |v: f64| {
        if v.is_nan() {
            "not reached".to_string()
        } else {
            format!("{v:.0}")
        }
    };
    let (m90, m95, c90, c95) = (reached[0].2, reached[1].2, reached[2].2, reached[3].2);
    let outcome = format!(
        "examples to reach 0.90 / 0.95: MLP {} / {}, CNN {} / {}; at the largest size MLP {:.3}, CNN {:.3}",
        say(m90),
        say(m95),
        say(c90),
        say(c95),
        curves[0].1.last().map_or(f64::NAN, |p| p.1),
        curves[1].1.last().map_or(f64::NAN, |p| p.1),
    );
    let fewer = |c: f64, m: f64| (c.is_finite() && !m.is_finite()) || c < m;
    out.plot(
        "principles_scale.svg",
        format!("§1.2 data scale vs model complexity: {outcome}."),
    );
    out.claim(
        "data_scale_vs_complexity",
        "§1.2: structure decides efficiency (the CNN reaches a given accuracy with fewer examples), data decides the ceiling (both keep improving with more).",
        outcome,
        fewer(c90, m90) || (c90 == m90 && fewer(c95, m95)),
    );
    Ok(())
}

/// Images whose label is in `range`, labels shifted to start at 0.
fn digits_in(
    d: &Dataset<f32>,
    range: std::ops::Range<usize>,
    limit: usize,
) -> crate::Result<Dataset<f32>> {
    let labels = d.labels().unwrap_or(&[]);
    let keep: Vec<usize> = (0..d.len())
        .filter(|&i| range.contains(&labels[i]))
        .take(limit)
        .collect();
    let sub = d.select(&keep);
    let shifted = sub
        .labels()
        .unwrap_or(&[])
        .iter()
        .map(|l| l - range.start)
        .collect();
    Ok(Dataset::classification(sub.x.clone(), shifted)?)
}

/// Test accuracy of a soft-max linear classifier on standardized features.
fn linear_probe(
    train_x: &Mat<f32>,
    train_y: &[usize],
    test_x: &Mat<f32>,
    test_y: &[usize],
    seed: u64,
) -> crate::Result<f64> {
    let scale = Standardizer::fit(train_x)?;
    let tr = Dataset::classification(scale.transform(train_x)?, train_y.to_vec())?;
    let te = Dataset::classification(scale.transform(test_x)?, test_y.to_vec())?;
    let mut model: Mlp<f32> = Config::classifier(tr.x.nrows(), &[], 5).init(&mut rng(seed))?;
    let mut adam = Adam::adamw(0.01, 0.01)?;
    train(
        &mut model,
        &tr,
        None,
        &mut adam,
        &TrainConfig::new(100, 32).seed(seed),
    )?;
    Ok(model.evaluate(&te)?.accuracy.unwrap_or(f64::NAN))
}

/// §11: features learned on digits 0–4, read by a linear classifier on digits 5–9.
fn transfer(ctx: &Ctx, out: &mut Outcome, images: &Images) -> Res {
    let source = digits_in(&images.all, 0..5, usize::MAX)?;
    let target_train = digits_in(&images.all, 5..10, 250)?;
    let target_test = digits_in(&images.test, 5..10, usize::MAX)?;
    let code = 32;
    let pixels = images.side * images.side;
    let epochs = if images.side > 12 { 8 } else { 15 };
    // the CNN trained to tell 0–4 apart; its penultimate layer (after ReLU) is the feature
    let mut cnn = cnn_for(images.side, code, 5, ctx.seed + 7)?;
    train(
        &mut cnn,
        &source,
        None,
        &mut Adam::new(0.003)?,
        &TrainConfig::new(epochs, 32).seed(ctx.seed),
    )?;
    let cnn_features = |x: &Mat<f32>| -> crate::Result<Mat<f32>> {
        let acts = cnn.activations(x)?;
        Ok(acts[acts.len() - 2].clone())
    };
    // the autoencoder of the 0–4 images, code of the same size
    let mut ae = autoencoder::Autoencoder::<f32>::new(
        autoencoder::AutoencoderConfig::symmetric(pixels, &[128], code, Activation::Relu),
        &mut rng(ctx.seed + 8),
    )?;
    ae.fit(
        &source.x,
        None,
        &mut Adam::new(0.003)?,
        &TrainConfig::new(epochs * 2, 32).seed(ctx.seed),
        &mut |_| {},
    )?;
    // random ReLU features of the same size
    let projection = optim::Init::Normal(1.0 / (pixels as f64).sqrt()).dense::<f32>(
        code,
        pixels,
        &mut rng(ctx.seed + 9),
    );
    let random_features = |x: &Mat<f32>| (&projection * x).map(|v| v.max(0.0));
    let (ytr, yte) = (
        target_train.labels().unwrap_or(&[]).to_vec(),
        target_test.labels().unwrap_or(&[]).to_vec(),
    );
    let mut results = Vec::new();
    for (name, tr, te) in [
        ("raw pixels", target_train.x.clone(), target_test.x.clone()),
        (
            "random features",
            random_features(&target_train.x),
            random_features(&target_test.x),
        ),
        (
            "autoencoder code",
            ae.encode(&target_train.x)?,
            ae.encode(&target_test.x)?,
        ),
        (
            "CNN penultimate",
            cnn_features(&target_train.x)?,
            cnn_features(&target_test.x)?,
        ),
    ] {
        let acc = linear_probe(&tr, &ytr, &te, &yte, ctx.seed)?;
        out.metric(format!("transfer_{}_accuracy", name.replace(' ', "_")), acc);
        results.push((name, tr.nrows(), acc));
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = results
        .iter()
        .enumerate()
        .map(|(i, (n, d, a))| {
            (
                format!("{n} ({d} dims)"),
                vec![(i as f64 - 0.2, *a), (i as f64 + 0.2, *a)],
            )
        })
        .collect();
    plot::lines(
        &ctx.out_path("principles_transfer.svg"),
        "Linear classifier on digits 5-9 (250 examples) reading each representation",
        "representation",
        "test accuracy",
        &series,
        false,
    )?;
    let outcome = results
        .iter()
        .map(|(n, d, a)| format!("{n} ({d} dims) {a:.3}"))
        .collect::<Vec<_>>()
        .join(", ");
    let random = results[1].2;
    let learned = results[2].2.max(results[3].2);
    out.plot(
        "principles_transfer.svg",
        format!(
            "§11 transferable representations ({}): {outcome}.",
            images.words
        ),
    );
    out.claim(
        "transfer",
        "§11: a good representation is transferable: features learned on digits 0-4 serve a linear classifier on digits 5-9 better than random features of the same size.",
        outcome,
        learned > random,
    );
    Ok(())
}
