//! §10 radial basis function networks: the local-response hypothesis. Each hidden unit answers
//! only near its centre; the output is a linear read-out of those bumps.
//!
//! Jang's Mackey-Glass benchmark (always generated: the series is the solution of a delay
//! differential equation): inputs `x(t−18), x(t−12), x(t−6), x(t)`, target `x(t+6)`,
//! `t = 118…1117`, 500 training and 500 test rows. Sixty centres by k-means (k-means++
//! seeding, four restarts), widths from the two nearest centres, output weights by least
//! squares. `--epochs` caps the Lloyd rounds of k-means (default 300).

use super::Ctx;
use crate::plot;
use crate::report::Outcome;
use classic::kmeans::KMeans;
use classic::mackey_glass::{jang_dataset, ndei, rmse};
use classic::rbf::{Basis, Centres, LeastSquares, Rbf, RbfConfig, Solver, Widths, fit};
use optim::rng;

const MODEL_FILE: &str = "rbf_mackey_glass.safetensors";

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    ctx.no_files("rbf", "it uses Jang's fixed Mackey-Glass split")?;
    let data = jang_dataset::<f64>()?;
    let config = RbfConfig {
        basis: Basis::Gaussian,
        centres: Centres::KMeans(KMeans {
            k: 60,
            max_iter: ctx.epochs_or(300),
            n_init: 4,
        }),
        widths: Widths::NearestNeighbour {
            neighbours: 2,
            scale: 4.0,
        },
        bias: true,
        least_squares: LeastSquares {
            solver: Solver::Svd,
            ridge: 1e-10,
        },
    };
    let model = match &ctx.load {
        Some(path) => Rbf::<f64>::load(path)?,
        None => {
            let bar = ctx.progress.bar("rbf", 1, "fits");
            let (model, _) = fit(&config, &data.train_x, &data.train_y, &mut rng(ctx.seed))?;
            bar.update(1, 0.0, data.train_x.ncols() as u64);
            bar.finish();
            model
        }
    };
    let train_pred = model.predict(&data.train_x)?;
    let test_pred = model.predict(&data.test_x)?;
    let test_rmse = rmse(&test_pred, &data.test_y)?;
    let mut out = Outcome::new(
        "rbf",
        format!(
            "Gaussian RBF network, {} k-means centres, least squares",
            model.num_centres()
        ),
        "generated: Mackey-Glass (tau 17), Jang's 500/500 split",
    );
    out.metric("test_rmse", test_rmse)
        .metric("test_ndei", ndei(&test_pred, &data.test_y)?)
        .metric("train_rmse", rmse(&train_pred, &data.train_y)?)
        .reference(
            "test_rmse",
            0.0049,
            "scikit-learn-style k-means RBF with 60 centres (classic issue)",
        );

    let truth: Vec<(f64, f64)> = data
        .test_t
        .iter()
        .zip(data.test_y.iter())
        .map(|(&t, &y)| ((t + 6) as f64, y))
        .collect();
    let predicted: Vec<(f64, f64)> = data
        .test_t
        .iter()
        .zip(test_pred.iter())
        .map(|(&t, &y)| ((t + 6) as f64, y))
        .collect();
    plot::lines(
        &ctx.out_path("rbf_fit.svg"),
        "RBF network vs Mackey-Glass truth (test half)",
        "t",
        "x(t)",
        &[
            ("truth x(t+6)".to_string(), truth),
            ("RBF prediction".to_string(), predicted),
        ],
        false,
    )?;
    out.plot(
        "rbf_fit.svg",
        format!(
            "Six-step-ahead prediction of the Mackey-Glass series on the 500 test times: the RBF \
             network's curve lies on the truth (test RMSE {test_rmse:.4})."
        ),
    );
    let errors: Vec<(f64, f64)> = data
        .test_t
        .iter()
        .zip(test_pred.iter().zip(data.test_y.iter()))
        .map(|(&t, (&p, &y))| ((t + 6) as f64, p - y))
        .collect();
    plot::lines(
        &ctx.out_path("rbf_error.svg"),
        "Prediction error on the test half",
        "t",
        "prediction − truth",
        &[("RBF error".to_string(), errors)],
        false,
    )?;
    out.plot(
        "rbf_error.svg",
        "The RBF network's error over the test times: about a hundredth of the series' range.",
    );
    if ctx.load.is_none() {
        let mut model = model;
        model.save(ctx.out_path(MODEL_FILE))?;
        out.models.push(MODEL_FILE.into());
    }
    Ok(out)
}
