//! The chapter's real-data runs: the small digit CNN on UCI optdigits (8x8) and LeNet-5 on MNIST
//! (28x28), each scored on a seeded held-out part.
//!
//! ```text
//! cargo run --release -p inductive-cnn --example cnn_digits -- --data ../shared/data [--task optdigits|mnist|both]
//!     [--epochs N] [--threads N] [--save model.safetensors] [--no-augment] [--split tail]
//! ```
//!
//! `--data` defaults to `$DL_DATA_DIR`. Splits: optdigits.tra is split 80/20 (seed 0); the
//! 10 000 MNIST test images are split into 8 000 for training and 2 000 held out (seed 0), or
//! with `--split tail` by position (the writer-agnostic protocol: the first 8 000 train, the
//! last 2 000 are held out). Neither held-out part is used for any decision during training.
//! The recipes train with their augmentation (`DIGITS_AUGMENT`, `LENET_AUGMENT`, chosen by
//! `examples/select.rs`) unless `--no-augment` is given.

use cnn::{Cnn, data};
use optim::data::Dataset;
use optim::train::{Evaluation, TrainConfig, Trainable};
use optim::{Adam, Optimizer, Result};
use std::path::PathBuf;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Trains `net` and prints one line per epoch; returns the held-out evaluation.
fn run(
    name: &str,
    net: &mut Cnn<f32>,
    train: &Dataset<f32>,
    held_out: &Dataset<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    config: &TrainConfig,
) -> Result<Evaluation> {
    println!(
        "{name}: {} training / {} held-out images of {}, {} parameters, augmentation {:?}",
        train.len(),
        held_out.len(),
        net.input_shape(),
        optim::param_count(net),
        net.augmentation()
    );
    print!("{}", net.summary());
    let start = Instant::now();
    let history = net.fit(train, Some(held_out), optimizer, config, &mut |_| {})?;
    for e in &history.epochs {
        let v = e.validation.expect("held-out set given");
        println!(
            "  epoch {:>2}: train loss {:.4} acc {:.4} | held-out loss {:.4} acc {:.4} | {:.1} s",
            e.epoch,
            e.train_loss,
            e.train_accuracy.unwrap_or(0.0),
            v.loss,
            v.accuracy.unwrap_or(0.0),
            e.seconds
        );
    }
    let eval = net.evaluate(held_out)?;
    println!(
        "{name}: held-out accuracy {:.4} (loss {:.4}) after {:.1} s",
        eval.accuracy.unwrap_or(0.0),
        eval.loss,
        start.elapsed().as_secs_f64()
    );
    Ok(eval)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = arg(&args, "--data")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DL_DATA_DIR").map(PathBuf::from))
        .expect("give --data DIR or set DL_DATA_DIR (the folder with optdigits.tra and MNIST)");
    let task = arg(&args, "--task").unwrap_or_else(|| "both".into());
    let epochs: Option<usize> = arg(&args, "--epochs").map(|e| e.parse().expect("--epochs N"));
    let threads: usize = arg(&args, "--threads").map_or(1, |t| t.parse().expect("--threads N"));
    optim::linalg::set_threads(threads);
    let save = arg(&args, "--save");
    let augment = !args.iter().any(|a| a == "--no-augment");
    let tail = arg(&args, "--split").is_some_and(|s| s == "tail");

    if task == "optdigits" || task == "both" {
        let all = data::optdigits::<f32>(dir.join("optdigits.tra"))?;
        let (train, held_out) = all.split(0.2, &mut optim::rng(0))?;
        let mut rng = optim::rng(1);
        let mut net = Cnn::digits(&mut rng)
            .with_augmentation(cnn::net::DIGITS_AUGMENT.filter(|_| augment))?;
        let lr = arg(&args, "--lr").map_or(cnn::net::DIGITS_LR, |v| v.parse().expect("--lr X"));
        let mut adam = Adam::new(lr)?;
        let mut config = cnn::net::digits_config(train.len(), epochs);
        if let Some(b) = arg(&args, "--batch") {
            config =
                cnn::net::cosine_config(train.len(), config.epochs, b.parse().expect("--batch N"));
        }
        run("optdigits", &mut net, &train, &held_out, &mut adam, &config)?;
        if let Some(path) = &save {
            net.save(format!("{path}.optdigits"), &[("task", "optdigits".into())])?;
        }
    }
    if task == "mnist" || task == "both" {
        let all = data::mnist_test::<f32>(&dir)?;
        let (train, held_out) = if tail {
            let cut = all.len() - all.len() / 5;
            (
                all.select(&(0..cut).collect::<Vec<_>>()),
                all.select(&(cut..all.len()).collect::<Vec<_>>()),
            )
        } else {
            all.split(0.2, &mut optim::rng(0))?
        };
        let mut rng = optim::rng(1);
        let mut net =
            Cnn::lenet5(&mut rng).with_augmentation(cnn::net::LENET_AUGMENT.filter(|_| augment))?;
        let lr = arg(&args, "--lr").map_or(cnn::net::LENET_LR, |v| v.parse().expect("--lr X"));
        let mut adam = Adam::new(lr)?;
        let mut config = cnn::net::lenet_config(train.len(), epochs);
        if let Some(b) = arg(&args, "--batch") {
            config =
                cnn::net::cosine_config(train.len(), config.epochs, b.parse().expect("--batch N"));
        }
        run(
            "MNIST LeNet-5",
            &mut net,
            &train,
            &held_out,
            &mut adam,
            &config,
        )?;
        if let Some(path) = &save {
            net.save(format!("{path}.mnist"), &[("task", "mnist".into())])?;
        }
    }
    Ok(())
}
