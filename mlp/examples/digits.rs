//! Handwritten digits with a deep feedforward network.
//!
//! ```text
//! cargo run --release -p inductive-mlp --example mlp_digits -- --data ../shared/data   # or DL_DATA_DIR=...
//! cargo run --release -p inductive-mlp --example mlp_digits                            # generated data
//! ```
//!
//! With real data it trains on UCI `optdigits.tra` (a seeded 20 % held out for the test, 10 % of
//! the rest for early stopping) and prints the held-out accuracy. Without it, it trains on
//! generated 64-dimensional blobs of ten classes so the example always runs.
//! Options: `--seed N`, `--epochs N`, `--hidden 256,128`, `--dropout P`, `--no-batch-norm`,
//! `--save PATH` (safetensors).

use mlp::recipes::{DigitsRecipe, digits};
use optim::Mat;
use optim::train::{Progress, Trainable};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut data_dir: Option<PathBuf> = std::env::var_os("DL_DATA_DIR").map(PathBuf::from);
    let mut recipe = DigitsRecipe::default();
    let mut save: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data" => data_dir = Some(PathBuf::from(value()?)),
            "--seed" => recipe.seed = value()?.parse()?,
            "--epochs" => recipe.epochs = value()?.parse()?,
            "--dropout" => recipe.dropout = value()?.parse()?,
            "--lr" => recipe.learning_rate = value()?.parse()?,
            "--weight-decay" => recipe.weight_decay = value()?.parse()?,
            "--batch-size" => recipe.batch_size = value()?.parse()?,
            "--patience" => recipe.patience = value()?.parse()?,
            "--no-batch-norm" => recipe.batch_norm = false,
            "--hidden" => {
                recipe.hidden = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--save" => save = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let dataset = match &data_dir {
        Some(dir) => {
            let path = dir.join("optdigits.tra");
            println!("data: {}", path.display());
            optim::data::load_optdigits::<f32>(&path)?
        }
        None => {
            println!("data: generated (64-d blobs, 10 classes; pass --data DIR for optdigits)");
            let mut rng = optim::rng(42);
            let centers =
                Mat::<f64>::from_fn(64, 10, |_, _| rand::Rng::random_range(&mut rng, 2.0..14.0));
            let mut d = optim::data::generate::blobs::<f32>(2000, &centers, 4.0, &mut rng);
            d.x.apply(|v| *v = v.clamp(0.0, 16.0));
            d
        }
    };
    let started = std::time::Instant::now();
    let run = digits(&dataset, &recipe, &mut |p| {
        if let Progress::Epoch(e) = p {
            let v = e.validation.unwrap();
            println!(
                "epoch {:3}  train loss {:.4}  acc {:.4}  val loss {:.4}  acc {:.4}  lr {:.2e}",
                e.epoch,
                e.train_loss,
                e.train_accuracy.unwrap_or(0.0),
                v.loss,
                v.accuracy.unwrap_or(0.0),
                e.learning_rate
            );
        }
    })?;
    let (n_train, n_val, n_test) = run.sizes;
    println!(
        "network {}; {} train / {} validation / {} test examples",
        run.config, n_train, n_val, n_test
    );
    println!(
        "best epoch {:?} of {} (stopped early: {}), {:.1} s",
        run.history.best_epoch,
        run.history.epochs.len(),
        run.history.stopped_early,
        started.elapsed().as_secs_f64()
    );
    println!(
        "validation accuracy {:.4}; held-out test accuracy {:.4} (loss {:.4})",
        run.validation.accuracy.unwrap(),
        run.test.accuracy.unwrap(),
        run.test.loss
    );
    let labels = dataset.class_labels("digits data")?.to_vec();
    let all = optim::data::Dataset::classification(dataset.x.map(|v| v / 16.0), labels)?;
    println!(
        "accuracy on all {} examples (train + validation + test): {:.4}",
        all.len(),
        run.model.evaluate(&all)?.accuracy.unwrap()
    );
    if let Some(path) = save {
        let mut model = run.model;
        model.save(&path)?;
        println!("saved {}", path.display());
    }
    Ok(())
}
