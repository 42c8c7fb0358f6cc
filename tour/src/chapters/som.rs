//! §10 self-organizing maps: units on a grid learn prototypes of the data such that
//! neighbouring units hold similar prototypes (topology preservation).
//!
//! MiniSom's iris setup: z-scored inputs, a 7x7 rectangular map, Gaussian neighbourhood with
//! σ = 3, learning rate 0.5, asymptotic decay, PCA initialization, 5000 online updates in random
//! order. Generated data: three Gaussian blobs in four dimensions. With `--data-dir`: Fisher's
//! iris.

use super::Ctx;
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use classic::som::{
    Decay, Neighbourhood, Order, Som, SomConfig, SomInit, SomState, Topology, Training,
};
use optim::data::Standardizer;
use optim::init::RngState;
use optim::train::Progress;
use optim::{Mat, rng};

const MODEL_FILE: &str = "som.safetensors";
/// The training state, rewritten after every epoch (`--resume` continues from it).
const TRAINING_FILE: &str = "som.training.safetensors";

/// Trains the map — from its PCA start, or with `--resume DIR` from the training state a run
/// of the same configuration left in `DIR` — saving the training state after every epoch (a
/// pass over the data), so a run stopped at any point continues from its last epoch.
///
/// Without `--epochs`, a resumed run continues to the saved run's iterations (`config` takes
/// them).
fn train_resumable(ctx: &Ctx, config: &mut SomConfig, z: &Mat<f64>) -> crate::Result<Som<f64>> {
    let (mut som, mut state) = match ctx.resume_file("som", TRAINING_FILE)? {
        None => {
            // one generator builds the map and then draws the order, as `som::train` does
            let mut r = rng(ctx.seed);
            let som = Som::from_config(config, z, &mut r)?;
            (som, SomState::start(RngState::of(ctx.seed, 0, &r)?))
        }
        Some(path) => {
            let (som, saved, state) = Som::<f64>::load_training(&path)?;
            if ctx.epochs.is_none() {
                config.iterations = saved.iterations;
            }
            if saved != *config || state.rng.seed != ctx.seed {
                return Err(format!(
                    "--resume {}: the map was trained with {} iterations, seed {} and other \
                     settings; this run asks for {} iterations, seed {} (give the saved run's \
                     --epochs and --seed)",
                    path.display(),
                    saved.iterations,
                    state.rng.seed,
                    config.iterations,
                    ctx.seed
                )
                .into());
            }
            (som, state)
        }
    };
    let iterations = config.iterations;
    let epochs = iterations.div_ceil(z.ncols());
    let bar = ctx.progress.bar("som", iterations as u64, "updates");
    let path = ctx.out_path(TRAINING_FILE);
    ctx.each_epoch("som", state.epoch, epochs, &mut |epoch| {
        if epoch > state.epoch {
            let (_, next) = som.train_resume(z, config, &state, epoch, &mut |p, _| {
                if let Progress::Step {
                    step,
                    learning_rate,
                    ..
                } = p
                    && (step % 100 == 0 || step == iterations)
                {
                    bar.update(step as u64, learning_rate, step as u64);
                }
            })?;
            state = next;
        }
        som.save_training(&path, config, &state)?;
        Ok(())
    })?;
    bar.finish();
    Ok(som)
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    if ctx.test.is_some() {
        return Err("som: --test is not used by this chapter (it maps the whole data set)".into());
    }
    let (x, labels, data, real) = match ctx.train_file(Kind::Iris)? {
        Some(file) => {
            let iris = optim::data::load_iris::<f64>(&file)?;
            let labels = iris.class_labels("iris")?.to_vec();
            (
                iris.x,
                labels,
                format!("{} (z-scored)", file.display()),
                true,
            )
        }
        None => {
            let centres = Mat::from_row_slice(
                4,
                3,
                &[0.0, 3.0, 0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            );
            let blobs = optim::data::generate::blobs::<f64>(150, &centres, 0.5, &mut rng(ctx.seed));
            let labels = blobs.class_labels("blobs")?.to_vec();
            (
                blobs.x,
                labels,
                "generated: three Gaussian blobs in 4-D, 150 points (z-scored)".to_string(),
                false,
            )
        }
    };
    let z = Standardizer::fit(&x)?.transform(&x)?;
    let mut config = SomConfig {
        nx: 7,
        ny: 7,
        topology: Topology::Rectangular,
        neighbourhood: Neighbourhood::Gaussian,
        sigma: 3.0,
        learning_rate: 0.5,
        sigma_decay: Decay::Asymptotic,
        learning_rate_decay: Decay::Asymptotic,
        init: SomInit::Pca,
        iterations: ctx.epochs_or(5000),
        training: Training::Online(Order::Random),
    };
    let som = match &ctx.load {
        Some(path) => Som::<f64>::load(path)?,
        None => train_resumable(ctx, &mut config, &z)?,
    };
    let iterations = config.iterations;
    let qe = som.quantization_error(&z)?;
    let te = som.topographic_error(&z)?;
    let (nx, ny) = (som.grid.nx, som.grid.ny);
    let mut out = Outcome::new(
        "som",
        format!("SOM {nx}x{ny}, Gaussian σ 3, η 0.5, PCA init, {iterations} updates"),
        data,
    );
    out.metric("quantization_error", qe)
        .metric("topographic_error", te);
    // the map before training: the PCA plane the prototypes start on
    let initial = Som::from_config(&config, &z, &mut rng(ctx.seed))?.quantization_error(&z)?;
    out.metric("initial_quantization_error", initial);
    if real && (nx, ny) == (7, 7) {
        out.reference(
            "quantization_error",
            0.440,
            "MiniSom 2.3.6, same setup on iris",
        )
        .reference(
            "topographic_error",
            0.009,
            "MiniSom 2.3.6, same setup on iris (± 0.005)",
        );
    } else {
        out.reference(
            "quantization_error",
            initial,
            "the same map before training (prototypes on the PCA plane)",
        );
    }

    let um = som.u_matrix(true);
    let rows: Vec<Vec<f64>> = (0..um.nrows())
        .map(|i| (0..um.ncols()).map(|j| um[(i, j)]).collect())
        .collect();
    plot::heatmap(
        &ctx.out_path("som_umatrix.svg"),
        "U-matrix (mean distance to neighbours; dark = far)",
        &rows,
    )?;
    out.plot(
        "som_umatrix.svg",
        "U-matrix of the map: each cell is one unit, dark where its prototype is far from its \
         grid neighbours' — the dark ridges are the borders between clusters.",
    );

    // every example at its best-matching unit, spread a little around it, coloured by class
    let bmus = som.bmus(&z)?;
    let mut per_unit = vec![0usize; som.grid.units()];
    let points: Vec<(f64, f64, usize)> = bmus
        .iter()
        .zip(&labels)
        .map(|(&k, &l)| {
            let (i, j) = som.grid.coords(k);
            let n = per_unit[k];
            per_unit[k] += 1;
            let angle = n as f64 * 2.399_963; // golden angle: no two examples on one spot
            let r = 0.12 * (n as f64).sqrt().min(3.0);
            // row 0 at the top, as in the U-matrix
            let y = (nx - 1 - i) as f64;
            (j as f64 + r * angle.cos(), y + r * angle.sin(), l)
        })
        .collect();
    plot::scatter(
        &ctx.out_path("som_hits.svg"),
        "Examples at their best-matching units",
        &points,
        None,
        &[],
        Some(((-0.7, ny as f64 - 0.3), (-0.7, nx as f64 - 0.3))),
    )?;
    out.plot(
        "som_hits.svg",
        format!(
            "Each example drawn at its best-matching unit (laid out as the U-matrix), coloured by \
             class: classes occupy connected regions of the map. QE {qe:.3}, TE {te:.3}."
        ),
    );
    if ctx.load.is_none() {
        let mut som = som;
        som.save(ctx.out_path(MODEL_FILE))?;
        out.models.push(MODEL_FILE.into());
        out.models.push(TRAINING_FILE.into());
    }
    Ok(out)
}
