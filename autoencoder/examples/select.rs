//! The training budget of the optdigits autoencoder: k-fold cross-validation on the *training
//! rows only* for a few budgets (epochs, base rate), mean ± sd of the validation MSE per pixel;
//! then the recipe ([`autoencoder::recipes`]) trained on all training rows with its held-out
//! curve (MSE per pixel on the held-out quarter, every `--every` epochs).
//!
//! ```text
//! cargo run -p inductive-autoencoder --example autoencoder_select -- --data ../shared/data
//!     [--folds 3] [--seed 0] [--candidates 100@3e-3,200@3e-3,400@3e-3] [--every 25] [--epochs N]
//! ```
//!
//! Split (as `examples/digits.rs` and `tour autoencoder --data-dir`): optdigits.tra pixels / 16;
//! `split_indices(3823, 0.25, rng(seed))` holds out 956 rows, the other 2867 are the training
//! rows the folds are cut from. The held-out rows play no part in the choice. A candidate is
//! `E@LR`: `E` epochs of batches of 32, Adam from `LR` along a cosine to 1 % of it.

use autoencoder::Autoencoder;
use autoencoder::recipes::{DIGITS_EPOCHS, DIGITS_LR, digits_config};
use optim::data::{Better, cross_validate, k_folds, select_columns, split_indices};
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Adam, Error, Mat, Result};
use std::path::PathBuf;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Trains the recipe's network with `epochs` and base rate `lr` on `train`, reporting the MSE
/// per pixel on `watch` every `every` epochs; returns the trained model.
fn train(
    train: &Mat<f32>,
    watch: &Mat<f32>,
    epochs: usize,
    lr: f64,
    seed: u64,
    every: Option<usize>,
) -> Result<Autoencoder<f32>> {
    let mut model = Autoencoder::new(digits_config(train.nrows(), 8), &mut optim::rng(seed))?;
    let mut adam = Adam::new(lr)?;
    let config = TrainConfig::new(epochs, 32)
        .cosine(train.ncols(), lr * 0.01)
        .seed(seed + 1);
    model.fit(train, Some(watch), &mut adam, &config, &mut |p| {
        if let (Progress::Epoch(e), Some(every)) = (p, every)
            && (e.epoch % every == 0 || e.epoch == 1)
        {
            println!(
                "  epoch {:>4}  training loss {:.5}  held-out MSE/pixel {:.5}",
                e.epoch,
                e.train_loss,
                e.validation.map_or(f64::NAN, |v| v.loss)
            );
        }
    })?;
    Ok(model)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = arg(&args, "--data")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DL_DATA_DIR").map(PathBuf::from))
        .expect("give --data DIR or set DL_DATA_DIR (the folder with optdigits.tra)");
    let folds: usize = arg(&args, "--folds").map_or(3, |v| v.parse().expect("--folds K"));
    let seed: u64 = arg(&args, "--seed").map_or(0, |v| v.parse().expect("--seed S"));
    let every: usize = arg(&args, "--every").map_or(25, |v| v.parse().expect("--every N"));
    let epochs: usize =
        arg(&args, "--epochs").map_or(DIGITS_EPOCHS, |v| v.parse().expect("--epochs N"));
    let candidates: Vec<(usize, f64)> = arg(&args, "--candidates")
        .unwrap_or_else(|| "100@3e-3,200@3e-3,400@3e-3".into())
        .split(',')
        .map(|c| {
            let (e, lr) = c
                .split_once('@')
                .ok_or_else(|| Error::Data(format!("candidate {c}: use E@LR")))?;
            Ok((
                e.parse()
                    .map_err(|_| Error::Data(format!("candidate {c}: epochs")))?,
                lr.parse()
                    .map_err(|_| Error::Data(format!("candidate {c}: rate")))?,
            ))
        })
        .collect::<Result<_>>()?;

    let ds = optim::data::load_optdigits::<f32>(dir.join("optdigits.tra"))?;
    let x = ds.x / 16.0;
    let (tr, te) = split_indices(x.ncols(), 0.25, &mut optim::rng(seed))?;
    let (train_x, held_out) = (select_columns(&x, &tr), select_columns(&x, &te));
    println!(
        "optdigits: {} training rows, {} held out (pixels / 16, seed {seed}); code size 8",
        train_x.ncols(),
        held_out.ncols()
    );
    println!("{folds}-fold cross-validation on the training rows");
    let pick = cross_validate(
        &candidates,
        &k_folds(train_x.ncols(), folds, &mut optim::rng(seed + 100))?,
        Better::Lower,
        |&(e, lr), f, a, b| {
            let (fit_x, val_x) = (select_columns(&train_x, a), select_columns(&train_x, b));
            let model = train(&fit_x, &val_x, e, lr, seed + 10 * f as u64, None)?;
            model.reconstruction_error(&val_x)
        },
    )?;
    for ((e, lr), s) in candidates.iter().zip(&pick.candidates) {
        println!(
            "{e:>5} epochs @ {lr:.0e}: validation MSE/pixel {:.5} ± {:.5} over {folds} folds ({:.0} s)",
            s.mean, s.sd, s.seconds
        );
    }
    let (e, lr) = candidates[pick.best];
    println!("lowest validation MSE: {e} epochs @ {lr:.0e}");
    println!(
        "the recipe ({epochs} epochs @ {DIGITS_LR:.0e}) on all training rows, held-out curve:"
    );
    let model = train(
        &train_x,
        &held_out,
        epochs,
        DIGITS_LR,
        seed + 1,
        Some(every),
    )?;
    println!(
        "held-out MSE/pixel {:.5}",
        model.reconstruction_error(&held_out)?
    );
    Ok(())
}
