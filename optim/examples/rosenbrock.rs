//! Races optimizers on Rosenbrock's banana function from (−1.2, 1) (notes §5.2).
//!
//! ```text
//! cargo run --release -p inductive-optim --example rosenbrock                  # the race
//! cargo run --release -p inductive-optim --example rosenbrock -- --paths       # + CSV of the paths
//! cargo run --release -p inductive-optim --example rosenbrock -- --sweep       # learning-rate sweep
//! ```
//!
//! The race prints, for each optimizer, its hyperparameters and the iterations it needs to reach
//! `‖x − (1, 1)‖ < 1e-4` (or "did not converge in N"). `--paths` then prints every path as CSV,
//! `optimizer,iteration,x1,x2,f` (at most 500 points per optimizer, the last always included),
//! ready for a plot over the function's contours. `--sweep` tries each optimizer at a range of
//! learning rates: that is how the race's hyperparameters were chosen
//! ([`optim::testfns::rosenbrock_race`] lists them).

use optim::testfns::{ROSENBROCK_START, Rosenbrock, descend, rosenbrock_race};
use optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};

const TOLERANCE: f64 = 1e-4;
const MAX_ITERS: usize = 200_000;

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--sweep") {
        return sweep();
    }
    let race = rosenbrock_race(TOLERANCE, MAX_ITERS)?;
    println!(
        "Rosenbrock f(x) = (1 - x1)^2 + 100 (x2 - x1^2)^2 from ({}, {}), until ||x - (1, 1)|| < {TOLERANCE:e}",
        ROSENBROCK_START[0], ROSENBROCK_START[1]
    );
    println!(
        "{:<10} {:<36} {:>22} {:>12}",
        "optimizer", "hyperparameters", "iterations", "final f"
    );
    for entry in &race {
        let iterations = match entry.path.converged_at {
            Some(k) => k.to_string(),
            None => format!("did not converge in {MAX_ITERS}"),
        };
        println!(
            "{:<10} {:<36} {:>22} {:>12.3e}",
            entry.name,
            entry.hyperparameters,
            iterations,
            entry.path.values.last().copied().unwrap_or(f64::NAN)
        );
    }
    if args.iter().any(|a| a == "--paths") {
        println!();
        println!("optimizer,iteration,x1,x2,f");
        for entry in &race {
            for (k, x, f) in entry.path.subsample(500) {
                println!("{},{k},{},{},{f:e}", entry.name, x[0], x[1]);
            }
        }
    }
    Ok(())
}

/// Iterations to converge for each optimizer over a grid of learning rates.
fn sweep() -> optim::Result<()> {
    let f = Rosenbrock::default();
    // 1e-5 to 1, six steps per decade.
    let rates: Vec<f64> = (-5..=0)
        .flat_map(|e| {
            [1.0, 1.5, 2.0, 3.0, 5.0, 7.0]
                .into_iter()
                .map(move |m| m * 10f64.powi(e))
        })
        .filter(|&lr| lr <= 1.0)
        .collect();
    type Make = fn(f64) -> optim::Result<Box<dyn Optimizer<f64>>>;
    let families: [(&str, Make); 11] = [
        ("SGD", |lr| Ok(Box::new(Sgd::new(lr)?))),
        ("momentum 0.9", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.9)?))
        }),
        ("momentum 0.95", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.95)?))
        }),
        ("momentum 0.99", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.99)?))
        }),
        ("Nesterov 0.9", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.9)?.nesterov()?))
        }),
        ("Nesterov 0.95", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.95)?.nesterov()?))
        }),
        ("Nesterov 0.99", |lr| {
            Ok(Box::new(Sgd::new(lr)?.momentum(0.99)?.nesterov()?))
        }),
        ("AdaGrad", |lr| Ok(Box::new(Adagrad::new(lr)?))),
        ("RMSProp", |lr| Ok(Box::new(RmsProp::new(lr)?))),
        ("RMSProp centered", |lr| {
            Ok(Box::new(RmsProp::new(lr)?.centered()))
        }),
        ("Adam", |lr| Ok(Box::new(Adam::new(lr)?))),
    ];
    println!("iterations to ||x - (1, 1)|| < {TOLERANCE:e} (- : not within {MAX_ITERS})");
    print!("{:<17}", "lr");
    for lr in &rates {
        print!("{:>8}", format!("{lr:.1e}"));
    }
    println!();
    for (name, make) in families {
        print!("{name:<17}");
        for &lr in &rates {
            let mut opt = make(lr)?;
            let path = descend(&f, opt.as_mut(), &ROSENBROCK_START, TOLERANCE, MAX_ITERS)?;
            match path.converged_at {
                Some(k) => print!("{k:>8}"),
                None => print!("{:>8}", "-"),
            }
        }
        println!();
    }
    Ok(())
}
