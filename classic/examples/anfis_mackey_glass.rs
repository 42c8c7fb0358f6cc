//! Jang's Mackey-Glass experiment with ANFIS (notes §10, fuzzy neural networks).
//!
//! Four inputs `x(t−18), x(t−12), x(t−6), x(t)`, two bell functions each, 16 rules, 104
//! parameters; least squares alone from the initial functions, then hybrid learning (least-squares
//! consequents, normalized gradient steps on the premises with Jang's step-size rule).
//!
//! ```text
//! cargo run --release -p inductive-classic --example anfis_mackey_glass -- [--epochs 500] [--step 0.01]
//!     [--kind gbellmf|gaussmf|trimf|trapmf] [--partition grid2|grid3|kmeans16|subtractive]
//!     [--adam LR --adam-epochs N]
//! ```
//!
//! Prints the learning curve's end, the figures, the rule base and the membership functions
//! before and after training. With `--adam LR` it then also trains a copy of the least-squares
//! initialized model by plain gradient descent on every parameter (Adam, full batch) for
//! comparison.

use classic::anfis::experiments::{MACKEY_GLASS_INPUTS, MackeyGlassConfig, mackey_glass};
use classic::anfis::{Anfis, HybridConfig, MfKind, Partition, StepSize, Subtractive};
use classic::mackey_glass::{jang_dataset, ndei, rmse};
use optim::train::Trainable;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> optim::Result<()> {
    let epochs: usize = arg("--epochs").map_or(500, |s| s.parse().expect("--epochs N"));
    let step: f64 = arg("--step").map_or(0.01, |s| s.parse().expect("--step K"));
    let kind = arg("--kind").map_or(Ok(MfKind::Bell), |s| MfKind::from_name(&s))?;
    let partition = match arg("--partition").as_deref() {
        None | Some("grid2") => Partition::Grid(vec![2]),
        Some("grid3") => Partition::Grid(vec![3]),
        Some("kmeans16") => Partition::KMeans {
            rules: 16,
            restarts: 4,
        },
        Some("subtractive") => Partition::Subtractive(Subtractive::default()),
        Some(other) => panic!("unknown --partition {other}"),
    };
    let config = MackeyGlassConfig {
        kind,
        partition: partition.clone(),
        hybrid: HybridConfig {
            epochs,
            step: StepSize {
                initial: step,
                ..StepSize::default()
            },
            ..HybridConfig::default()
        },
        ..MackeyGlassConfig::default()
    };
    let start = std::time::Instant::now();
    let report = mackey_glass(&config, &mut |p| {
        if let optim::Progress::Epoch(e) = p
            && e.epoch % 50 == 1
        {
            eprintln!(
                "epoch {:4}: train RMSE {:.6}, test RMSE {:.6}, step {:.5}",
                e.epoch,
                e.term("rmse").unwrap_or(f64::NAN),
                e.term("check_rmse").unwrap_or(f64::NAN),
                e.learning_rate
            );
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();

    println!("\nlearning curve, last 10 epochs:");
    println!("epoch  train RMSE  test RMSE   step size");
    for e in report.history.epochs.iter().rev().take(10).rev() {
        println!(
            "{:5}  {:.7}   {:.7}   {:.5}",
            e.epoch,
            e.term("rmse").unwrap_or(f64::NAN),
            e.term("check_rmse").unwrap_or(f64::NAN),
            e.learning_rate
        );
    }
    println!("\nmembership functions before training:");
    for c in &report.initial_curves {
        let names = report.model.kind().param_names();
        let params: Vec<String> = names
            .iter()
            .zip(&c.params)
            .map(|(n, v)| format!("{n} = {v:.6}"))
            .collect();
        println!(
            "{} ({}): {} {}",
            c.label,
            MACKEY_GLASS_INPUTS[c.input],
            report.model.kind().name(),
            params.join(", ")
        );
    }
    println!("after training:");
    print!("{}", report.model.mf_text(&MACKEY_GLASS_INPUTS));
    println!("\nrule base:");
    print!("{}", report.model.rules_text(&MACKEY_GLASS_INPUTS));

    println!(
        "\nfigures ({} rules, {} parameters, {epochs} epochs, {seconds:.1} s):",
        report.rules, report.parameters
    );
    println!(
        "  least squares alone (initial MFs): train RMSE {:.5}, test RMSE {:.5}, test NDEI {:.4}",
        report.ls_only_train_rmse, report.ls_only_test_rmse, report.ls_only_test_ndei
    );
    println!(
        "  hybrid learning (best epoch {}):      train RMSE {:.5}, test RMSE {:.5}, test NDEI {:.4}",
        report.best_epoch, report.train_rmse, report.test_rmse, report.test_ndei
    );
    println!("  Jang (1993): test NDEI 0.007 (RMSE ≈ 0.0016)");
    println!(
        "  test inputs outside the training range: {}",
        report.test_out_of_range
    );

    if let Some(lr) = arg("--adam") {
        let lr: f64 = lr.parse().expect("--adam LR");
        let epochs: usize =
            arg("--adam-epochs").map_or(2000, |s| s.parse().expect("--adam-epochs N"));
        let data = jang_dataset::<f32>()?;
        let mut model = Anfis::<f32>::new(
            &classic::anfis::AnfisConfig { kind, partition },
            &data.train_x,
            &mut optim::rng(config.seed),
        )?;
        model.fit_consequents(&data.train_x, &data.train_y, 0.0)?;
        let mut adam = optim::Adam::new(lr)?;
        let start = std::time::Instant::now();
        let train = optim::data::Dataset::regression(data.train_x.clone(), data.train_y.clone())?;
        model.fit(
            &train,
            None,
            &mut adam,
            &optim::TrainConfig::new(epochs, 500),
            &mut |_| {},
        )?;
        let train_rmse = rmse(&model.predict(&data.train_x)?.output, &data.train_y)?;
        let test = model.predict(&data.test_x)?.output;
        println!(
            "  plain gradient (Adam lr {lr}, full batch, {epochs} epochs, from the LS start, {:.1} s): \
             train RMSE {:.5}, test RMSE {:.5}, test NDEI {:.4}",
            start.elapsed().as_secs_f64(),
            train_rmse,
            rmse(&test, &data.test_y)?,
            ndei(&test, &data.test_y)?
        );
    }
    Ok(())
}
