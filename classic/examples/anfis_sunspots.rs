//! ANFIS on yearly sunspots next to the AR(12) least-squares baseline (notes §10).
//!
//! Split as in the `rnn` chapter: training targets up to 1920, test 1921–1955, errors as ARV
//! (`MSE / variance` of the 1700–1979 values; predicting the mean scores 1).
//!
//! ```text
//! cargo run --release -p inductive-classic --example anfis_sunspots -- --data ../shared/data/sunspots_yearly.csv
//! # or with DL_DATA_DIR set: cargo run --release -p inductive-classic --example anfis_sunspots
//! # options: --lags 1,2,9  --mfs 2  --epochs 100  --kind gbellmf|gaussmf|trimf|trapmf
//! ```

use classic::anfis::experiments::{SunspotsConfig, sunspots};
use classic::anfis::{HybridConfig, MfKind};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> optim::Result<()> {
    let path = arg("--data").or_else(|| {
        std::env::var("DL_DATA_DIR")
            .ok()
            .map(|d| format!("{d}/sunspots_yearly.csv"))
    });
    let Some(path) = path else {
        eprintln!("no data: pass --data path/to/sunspots_yearly.csv or set DL_DATA_DIR");
        return Ok(());
    };
    let defaults = SunspotsConfig::default();
    let lags: Vec<usize> = arg("--lags").map_or(defaults.lags.clone(), |s| {
        s.split(',')
            .map(|v| v.parse().expect("--lags 1,2,9"))
            .collect()
    });
    let config = SunspotsConfig {
        lags,
        mfs_per_input: arg("--mfs").map_or(defaults.mfs_per_input, |s| s.parse().expect("--mfs N")),
        kind: arg("--kind").map_or(Ok(defaults.kind), |s| MfKind::from_name(&s))?,
        hybrid: HybridConfig {
            epochs: arg("--epochs")
                .map_or(defaults.hybrid.epochs, |s| s.parse().expect("--epochs N")),
            ..defaults.hybrid
        },
        ..defaults
    };
    let (years, values) = optim::data::load_sunspots_yearly::<f64>(&path)?;
    let report = sunspots(&config, &years, &values, &mut |_| {})?;
    let names: Vec<String> = config.lags.iter().map(|l| format!("x(t-{l})")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    println!("{}", report.model.mf_text(&names));
    println!("{}", report.model.rules_text(&names));
    println!("year  actual   ANFIS    AR({})", config.ar_order);
    for (y, a, n, ar) in &report.test_predictions {
        println!("{y}  {a:6.1}  {n:6.1}  {ar:6.1}");
    }
    let last = report.history.last().expect("at least one epoch");
    println!(
        "\nANFIS lags {:?}, {} {} per input, {} rules, {} epochs (final train RMSE {:.3}):",
        config.lags,
        config.mfs_per_input,
        config.kind.name(),
        report.model.num_rules(),
        config.hybrid.epochs,
        last.term("rmse").unwrap_or(f64::NAN)
    );
    println!(
        "  ARV train {:.4}, test 1921-1955 {:.4} (least squares alone from the initial MFs: test {:.4})",
        report.anfis_train_arv, report.anfis_test_arv, report.anfis_ls_only_test_arv
    );
    println!(
        "AR({}) least squares: ARV train {:.4}, test {:.4}  (literature: ≈ 0.13 on 1921-1955)",
        config.ar_order, report.ar_train_arv, report.ar_test_arv
    );
    println!(
        "test inputs outside the training range: {}",
        report.test_out_of_range
    );
    Ok(())
}
