//! Mackey-Glass prediction in Jang's setup with a k-means RBF network.
//!
//! ```text
//! cargo run --release -p inductive-classic --example mackey_glass_rbf
//! cargo run --release -p inductive-classic --example mackey_glass_rbf -- --centres 60 --scale 4 \
//!     --neighbours 2 --ridge 1e-10 --seed 0 --basis gaussian --gd-epochs 0
//! ```
//!
//! Prints the train and test RMSE and NDEI of the least-squares fit, and — with `--gd-epochs N`
//! — after training centres, widths and weights by Adam (f32, `--lr`, `--batch`) on the training
//! set, starting from the least-squares solution or, with `--from-zero`, from zero output weights.

use classic::kmeans::KMeans;
use classic::mackey_glass::{jang_dataset, ndei, rmse};
use classic::rbf::{Basis, Centres, LeastSquares, RbfConfig, Solver, Widths, fit};
use optim::train::Trainable;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("cannot parse {name} {v}"))
        })
        .unwrap_or(default)
}

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let k: usize = arg(&args, "--centres", 60);
    let scale: f64 = arg(&args, "--scale", 4.0);
    let neighbours: usize = arg(&args, "--neighbours", 2);
    let ridge: f64 = arg(&args, "--ridge", 1e-10);
    let seed: u64 = arg(&args, "--seed", 0);
    let gd_epochs: usize = arg(&args, "--gd-epochs", 0);
    let lr: f64 = arg(&args, "--lr", 1e-3);
    let batch: usize = arg(&args, "--batch", 50);
    // --from-zero: gradient descent starts from zero output weights instead of least squares
    let from_zero = args.iter().any(|a| a == "--from-zero");
    let basis = match arg(&args, "--basis", "gaussian".to_string()).as_str() {
        "gaussian" => Basis::Gaussian,
        "multiquadric" => Basis::Multiquadric,
        "inverse_multiquadric" => Basis::InverseMultiquadric,
        other => panic!("unknown basis {other}"),
    };

    let data = jang_dataset::<f64>()?;
    let config = RbfConfig {
        basis,
        centres: Centres::KMeans(KMeans {
            k,
            max_iter: 300,
            n_init: 4,
        }),
        widths: Widths::NearestNeighbour { neighbours, scale },
        bias: true,
        least_squares: LeastSquares {
            solver: Solver::Svd,
            ridge,
        },
    };
    let mut rng = optim::rng(seed);
    let start = std::time::Instant::now();
    let (mut model, fit_report) = fit(&config, &data.train_x, &data.train_y, &mut rng)?;
    let report = |model: &classic::rbf::Rbf<f64>, what: &str| -> optim::Result<()> {
        let train = model.predict(&data.train_x)?;
        let test = model.predict(&data.test_x)?;
        println!(
            "{what}: train RMSE {:.5} NDEI {:.4} | test RMSE {:.5} NDEI {:.4}",
            rmse(&train, &data.train_y)?,
            ndei(&train, &data.train_y)?,
            rmse(&test, &data.test_y)?,
            ndei(&test, &data.test_y)?,
        );
        Ok(())
    };
    println!(
        "k-means RBF: {k} {basis:?} centres, widths {neighbours}-NN x {scale}, ridge {ridge:e}, \
         seed {seed}; condition {:.2e}; {:.2?}",
        fit_report.condition,
        start.elapsed()
    );
    report(&model, "least squares")?;
    if gd_epochs > 0 {
        let mut m32 = model.cast::<f32>();
        if from_zero {
            m32.weight.value.fill(0.0);
            if let Some(b) = &mut m32.bias {
                b.value.fill(0.0);
            }
        }
        let x32 = optim::scalar::cast::<f64, f32>(&data.train_x);
        let y32 = optim::scalar::cast::<f64, f32>(&data.train_y);
        let mut opt = optim::Adam::new(lr)?;
        let start = std::time::Instant::now();
        let train = optim::data::Dataset::regression(x32, y32)?;
        let config = optim::TrainConfig::new(gd_epochs, batch).seed(seed);
        let history = m32.fit(&train, None, &mut opt, &config, &mut |_| {})?;
        println!(
            "Adam (lr {lr}) on all parameters, {gd_epochs} epochs in {:.2?}: final train MSE {:.3e}",
            start.elapsed(),
            history.last().map_or(f64::NAN, |e| e.train_loss)
        );
        model = m32.cast::<f64>();
        report(&model, "after gradient descent")?;
    }
    Ok(())
}
