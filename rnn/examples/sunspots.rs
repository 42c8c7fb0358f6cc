//! Yearly sunspots (Weigend et al. 1990's split): train on years ≤ 1920, test on 1921–1955,
//! ARV = MSE / variance of 1700–1979. Prints the LSTM's and the AR(12) least-squares
//! baseline's ARV on both spans.
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_sunspots -- --data ../shared/data/sunspots_yearly.csv \
//!     [--cell lstm] [--hidden 8] [--iterations 800] [--ensemble 5] [--train-end 1920] [--test-from 1921 --test-to 1955]
//! ```
//! Without `--data`, the file is looked up in `$DL_DATA_DIR`.

use rnn::{CellKind, SunspotsConfig, train_sunspots};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> optim::Result<()> {
    let path = arg("--data")
        .or_else(|| {
            std::env::var("DL_DATA_DIR")
                .ok()
                .map(|d| format!("{d}/sunspots_yearly.csv"))
        })
        .expect("give --data PATH or set DL_DATA_DIR");
    let (years, values) = optim::data::load_sunspots_yearly::<f64>(&path)?;
    let d = SunspotsConfig::default();
    let num = |n: &str, v: usize| arg(n).map_or(v, |s| s.parse().expect("a number"));
    let cfg = SunspotsConfig {
        cell: arg("--cell").map_or(Ok(d.cell), |c| CellKind::from_name(&c))?,
        hidden: num("--hidden", d.hidden),
        ensemble: num("--ensemble", d.ensemble),
        train: optim::TrainConfig {
            epochs: num("--iterations", d.train.epochs),
            seed: num("--seed", 0) as u64,
            ..d.train.clone()
        },
        // for model selection without the test years: --train-end 1900 --test-from 1901 --test-to 1920
        train_end: num("--train-end", d.train_end as usize) as u32,
        test: (
            num("--test-from", d.test.0 as usize) as u32,
            num("--test-to", d.test.1 as usize) as u32,
        ),
        ..d
    };
    println!("{cfg:?}");
    let r = train_sunspots(&cfg, &years, &values, &mut |_| {})?;
    println!("year  actual  network  AR({})", cfg.lags);
    for (y, a, n, ar) in &r.test_predictions {
        println!("{y}  {a:6.1}  {n:7.1}  {ar:6.1}");
    }
    println!(
        "ARV train (≤ {}): {} {:.4}, AR({}) {:.4}",
        cfg.train_end,
        cfg.cell.name(),
        r.net_train_arv,
        cfg.lags,
        r.ar_train_arv
    );
    println!(
        "ARV test ({}–{}): {} {:.4}, AR({}) {:.4}",
        cfg.test.0,
        cfg.test.1,
        cfg.cell.name(),
        r.net_test_arv,
        cfg.lags,
        r.ar_test_arv
    );
    Ok(())
}
