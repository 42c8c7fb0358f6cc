//! The selection protocol of the digit CNN recipes: k-fold cross-validation on *training data
//! only*, mean ± sd of the validation accuracy per candidate (augmentation and epochs), the best
//! mean chosen; then (MNIST, with `--final`) the first candidate (the baseline) and the chosen
//! one trained on all the training data and scored once on the test part, which played no
//! part in the choice.
//!
//! ```text
//! cargo run -p inductive-cnn --example cnn_select -- --data ../shared/data --task optdigits|mnist
//!     [--folds 3] [--seed 0] [--candidates none,shift1,shift2] [--final] [--threads N]
//!     [--contiguous]
//! ```
//!
//! - `optdigits`: all of `optdigits.tra` is training data (the UCI test file is kept out of
//!   the data folder); the network is `Cnn::digits` with `DIGITS_LR` and `digits_config`.
//! - `mnist`: the 10 000 MNIST test images split by position — the first 8 000 are the training
//!   data, the last 2 000 the test part (`--final` only); `Cnn::lenet5` with `LENET_LR` and
//!   `lenet_config`.
//!
//! A candidate is `none`, `shiftM` (random translations of up to M pixels) or `shiftM+rotD`
//! (and rotations of up to D degrees), optionally followed by `@E` for E epochs instead of the
//! recipe's (e.g. `shift1@30`), and for optdigits optionally preceded by `small:` for the
//! earlier, narrower `Cnn::digits_small` (e.g. `small:none,none`). `--contiguous` takes the
//! folds in file order instead of shuffled.

use cnn::Cnn;
use optim::data::{Better, Dataset, contiguous_folds, cross_validate, k_folds};
use optim::train::Trainable;
use optim::{Adam, Augment, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

/// The first 8 000 MNIST images train; the last 2 000 test.
const MNIST_TRAIN: usize = 8000;

/// `(small network, augmentation, epochs)` of a candidate name.
fn parse_candidate(name: &str) -> Result<(bool, Option<Augment>, Option<usize>)> {
    let bad = || {
        Error::Data(format!(
            "candidate {name}: use [small:]none, shiftM, shiftM+rotD, optionally @E"
        ))
    };
    let (small, name) = match name.strip_prefix("small:") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let (spec, epochs) = match name.split_once('@') {
        Some((s, e)) => (s, Some(e.parse().map_err(|_| bad())?)),
        None => (name, None),
    };
    if spec == "none" {
        return Ok((small, None, epochs));
    }
    let (shift, rot) = match spec.split_once("+rot") {
        Some((s, r)) => (s, r.parse::<f64>().map_err(|_| bad())?),
        None => (spec, 0.0),
    };
    let m: usize = shift
        .strip_prefix("shift")
        .ok_or_else(bad)?
        .parse()
        .map_err(|_| bad())?;
    Ok((small, Some(Augment::shifts(m).rotations(rot)), epochs))
}

/// Trains candidate `name` of `task` on `train` (weights from `seed`); returns the network.
fn train_candidate(task: &str, name: &str, train: &Dataset<f32>, seed: u64) -> Result<Cnn<f32>> {
    let (small, augment, epochs) = parse_candidate(name)?;
    let mut rng = optim::rng(seed);
    let (net, lr, config) = if task == "mnist" {
        (
            Cnn::lenet5(&mut rng),
            cnn::net::LENET_LR,
            cnn::net::lenet_config(train.len(), epochs),
        )
    } else {
        (
            if small {
                Cnn::digits_small(&mut rng)
            } else {
                Cnn::digits(&mut rng)
            },
            cnn::net::DIGITS_LR,
            cnn::net::digits_config(train.len(), epochs),
        )
    };
    let mut net = net.with_augmentation(augment)?;
    let config = config.seed(seed.wrapping_add(2));
    net.fit(train, None, &mut Adam::new(lr)?, &config, &mut |_| {})?;
    Ok(net)
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
        .expect("give --data DIR or set DL_DATA_DIR (the folder with optdigits.tra and MNIST)");
    let task = arg(&args, "--task").unwrap_or_else(|| "optdigits".into());
    let folds: usize = arg(&args, "--folds").map_or(3, |v| v.parse().expect("--folds K"));
    let seed: u64 = arg(&args, "--seed").map_or(0, |v| v.parse().expect("--seed S"));
    let threads: usize = arg(&args, "--threads").map_or(1, |v| v.parse().expect("--threads N"));
    optim::linalg::set_threads(threads);
    let candidates: Vec<String> = arg(&args, "--candidates")
        .unwrap_or_else(|| "none,shift1,shift2".into())
        .split(',')
        .map(str::to_string)
        .collect();
    for c in &candidates {
        parse_candidate(c)?;
    }
    let (train, test) = match task.as_str() {
        "optdigits" => {
            let all = cnn::data::optdigits::<f32>(dir.join("optdigits.tra"))?;
            println!(
                "optdigits.tra: all {} rows are training data (no test part here)",
                all.len()
            );
            (all, None)
        }
        "mnist" => {
            let all = cnn::data::mnist_test::<f32>(&dir)?;
            println!(
                "MNIST: training part = images 0..{MNIST_TRAIN}, test part = images {MNIST_TRAIN}..{} (not used for the choice)",
                all.len()
            );
            (
                all.select(&(0..MNIST_TRAIN).collect::<Vec<_>>()),
                Some(all.select(&(MNIST_TRAIN..all.len()).collect::<Vec<_>>())),
            )
        }
        other => {
            return Err(Error::Data(format!(
                "--task {other}: use optdigits or mnist"
            )));
        }
    };
    println!("{folds}-fold cross-validation on the training part, seed {seed}");

    // shuffled folds, or (--contiguous) folds in file order, which keep a grouped file's
    // groups (writers) apart as new data would be
    let splits = if args.iter().any(|a| a == "--contiguous") {
        contiguous_folds(train.len(), folds)?
    } else {
        k_folds(train.len(), folds, &mut optim::rng(seed))?
    };
    let pick = cross_validate(&candidates, &splits, Better::Higher, |name, f, tr, va| {
        let net = train_candidate(&task, name, &train.select(tr), seed + f as u64)?;
        let acc = net
            .evaluate(&train.select(va))?
            .accuracy
            .unwrap_or(f64::NAN);
        eprintln!("  {name} fold {}: validation accuracy {acc:.4}", f + 1);
        Ok(acc)
    })?;
    for (name, s) in candidates.iter().zip(&pick.candidates) {
        println!(
            "{name:<14} validation accuracy {:.4} ± {:.4} over {folds} folds ({:.0} s)",
            s.mean, s.sd, s.seconds
        );
    }
    let best = candidates[pick.best].clone();
    println!("chosen: {best}");

    if let Some(test) = test.filter(|_| args.iter().any(|a| a == "--final")) {
        let mut finals = vec![candidates[0].clone()];
        if best != candidates[0] {
            finals.push(best);
        }
        for name in finals {
            let started = Instant::now();
            let net = train_candidate(&task, &name, &train, seed)?;
            let eval = net.evaluate(&test)?;
            println!(
                "{name:<14} trained on all {}: test accuracy {:.4} (loss {:.4}) on the test part ({:.0} s)",
                train.len(),
                eval.accuracy.unwrap_or(f64::NAN),
                eval.loss,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
