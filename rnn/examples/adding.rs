//! The adding problem (notes §7.2): an LSTM learns it, a tanh RNN of the same size stays near the
//! predict-the-mean baseline 1/6.
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_adding -- [--steps 100] [--iterations 2000] [--hidden 64]
//! ```

use optim::train::Progress;
use rnn::{AddingConfig, CellKind, train_adding};
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn main() -> optim::Result<()> {
    let base = AddingConfig {
        steps: arg("--steps", 100),
        hidden: arg("--hidden", 64),
        train: optim::TrainConfig::new(arg("--iterations", 2000).div_ceil(100), 32)
            .clip_grad_norm(1.0)
            .seed(arg("--seed", 0) as u64),
        ..Default::default()
    };
    println!(
        "adding problem: T = {}, hidden {}, batch {}, {} Adam steps (lr {}), clip {:?}; baseline MSE 1/6 = {:.4}",
        base.steps,
        base.hidden,
        base.train.batch_size,
        base.train.epochs * base.steps_per_epoch,
        base.lr,
        base.train.clip_grad_norm,
        1.0 / 6.0
    );
    let mut finals = Vec::new();
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        let cfg = AddingConfig {
            cell,
            ..base.clone()
        };
        let start = Instant::now();
        let report = train_adding::<f32>(&cfg, &mut |p| {
            if let Progress::Epoch(e) = p {
                println!(
                    "  {:>4} step {:>5}: train mse {:.4}, test mse {:.4}",
                    cell.name(),
                    e.epoch * cfg.steps_per_epoch,
                    e.train_loss,
                    e.validation.map_or(f64::NAN, |v| v.loss)
                );
            }
        })?;
        println!(
            "{}: final test MSE {:.5} ({:.1} s)",
            cell.name(),
            report.test_mse,
            start.elapsed().as_secs_f64()
        );
        finals.push((cell.name(), report.test_mse));
    }
    for (name, mse) in finals {
        println!("final test MSE {name}: {mse:.5}");
    }
    Ok(())
}
