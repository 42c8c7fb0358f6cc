//! The selection protocol of the MLP recipe: k-fold cross-validation on *training data only*,
//! mean ± sd of the validation accuracy per candidate, the best mean chosen; then (with
//! `--final`) the baseline and the chosen candidate trained on all the training data and
//! scored once on the test part, which played no part in the choice.
//!
//! ```text
//! cargo run -p inductive-mlp --example mlp_select -- --data ../shared/data [--folds 3] [--seed 0]
//!     [--candidates plain,recipe] [--final] [--threads N]
//! ```
//!
//! Data: the 10 000 MNIST test images (28x28 / 255), split writer-agnostically by position —
//! the first 8 000 are the training data (folds, final training), the last 2 000 the test part
//! (`--final` only). Candidates:
//!
//! - `plain`: 784-256-128-10 ReLU, Adam 1e-3, batch 128, 10 epochs — the plain loop;
//! - `recipe`: `mlp::recipes::Recipe::default()` on 784 inputs — batch norm, dropout 0.2,
//!   AdamW (1e-3, weight decay 1e-2), batch 32, cosine schedule, early stopping (patience 15,
//!   at most 100 epochs) on 10 % of the training part, restoring the best epoch;
//! - `recipe-b128`: the recipe with batches of 128 (a quarter of the steps).

use mlp::Config;
use mlp::recipes::{Recipe, classifier};
use optim::data::{Better, Dataset, cross_validate, k_folds};
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Result};
use std::path::PathBuf;
use std::time::Instant;

/// The first 8 000 images train; the last 2 000 test.
const TRAIN: usize = 8000;

/// Trains candidate `name` on `train` with seed `seed`; returns the network.
fn train_candidate(name: &str, train: &Dataset<f32>, seed: u64) -> Result<mlp::Mlp<f32>> {
    match name {
        "plain" => {
            let mut model =
                Config::classifier(784, &[256, 128], 10).init::<f32>(&mut optim::rng(seed))?;
            let mut adam = Adam::new(1e-3)?;
            let config = TrainConfig::new(10, 128).seed(seed);
            model.fit(train, None, &mut adam, &config, &mut |_| {})?;
            Ok(model)
        }
        "recipe" | "recipe-b128" => {
            let recipe = Recipe {
                batch_size: if name == "recipe" { 32 } else { 128 },
                seed,
                ..Recipe::default()
            };
            let run = classifier(train, &recipe, &mut optim::rng(seed), &mut |_| {})?;
            eprintln!(
                "    ({name}: best epoch {:?} of {}, validation accuracy {:.4})",
                run.history.best_epoch,
                run.history.epochs.len(),
                run.validation.accuracy.unwrap_or(f64::NAN)
            );
            Ok(run.model)
        }
        other => Err(optim::Error::Data(format!(
            "unknown candidate {other} (plain, recipe, recipe-b128)"
        ))),
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = arg(&args, "--data")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DL_DATA_DIR").map(PathBuf::from))
        .expect("give --data DIR or set DL_DATA_DIR (the folder with the MNIST t10k files)");
    let folds: usize = arg(&args, "--folds").map_or(3, |v| v.parse().expect("--folds K"));
    let seed: u64 = arg(&args, "--seed").map_or(0, |v| v.parse().expect("--seed S"));
    let threads: usize = arg(&args, "--threads").map_or(1, |v| v.parse().expect("--threads N"));
    optim::linalg::set_threads(threads);
    let candidates: Vec<String> = arg(&args, "--candidates")
        .unwrap_or_else(|| "plain,recipe".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let all = optim::data::load_mnist::<f32>(
        dir.join("t10k-images-idx3-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )?;
    let train = all.select(&(0..TRAIN).collect::<Vec<_>>());
    let test = all.select(&(TRAIN..all.len()).collect::<Vec<_>>());
    println!(
        "MNIST: training part = images 0..{TRAIN}, test part = images {TRAIN}..{} (not used for the choice)",
        all.len()
    );
    println!("{folds}-fold cross-validation on the training part, seed {seed}");

    let pick = cross_validate(
        &candidates,
        &k_folds(train.len(), folds, &mut optim::rng(seed))?,
        Better::Higher,
        |name, f, tr, va| {
            let model = train_candidate(name, &train.select(tr), seed + f as u64)?;
            let acc = model
                .evaluate(&train.select(va))?
                .accuracy
                .unwrap_or(f64::NAN);
            eprintln!("  {name} fold {}: validation accuracy {acc:.4}", f + 1);
            Ok(acc)
        },
    )?;
    for (name, s) in candidates.iter().zip(&pick.candidates) {
        println!(
            "{name:<12} validation accuracy {:.4} ± {:.4} over {folds} folds ({:.0} s)",
            s.mean, s.sd, s.seconds
        );
    }
    let best = candidates[pick.best].clone();
    println!("chosen: {best}");

    if args.iter().any(|a| a == "--final") {
        let mut finals = vec![candidates[0].clone()];
        if best != candidates[0] {
            finals.push(best);
        }
        for name in finals {
            let started = Instant::now();
            let model = train_candidate(&name, &train, seed)?;
            let eval = model.evaluate(&test)?;
            println!(
                "{name:<12} trained on all {TRAIN}: test accuracy {:.4} (loss {:.4}) on images {TRAIN}..{} ({:.0} s)",
                eval.accuracy.unwrap_or(f64::NAN),
                eval.loss,
                all.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
