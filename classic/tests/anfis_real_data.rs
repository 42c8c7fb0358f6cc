//! ANFIS on real data: yearly sunspots (runs only when `DL_DATA_DIR` is set).
//!
//! Split as in the `rnn` chapter: training targets up to 1920, test 1921–1955, ARV = MSE /
//! variance of the 1700–1979 values. AR(12) by least squares scores ≈ 0.13 there (Weigend et al.
//! 1990 and the literature since); ANFIS on lags 1, 2, 9 with 2 bells each (8 rules) must do at
//! least as well.

use classic::anfis::experiments::{SunspotsConfig, sunspots};

#[test]
fn sunspots_anfis_next_to_ar12() {
    let Ok(dir) = std::env::var("DL_DATA_DIR") else {
        eprintln!("skipped: DL_DATA_DIR is not set");
        return;
    };
    let path = std::path::Path::new(&dir).join("sunspots_yearly.csv");
    let (years, values) = optim::data::load_sunspots_yearly::<f64>(&path).unwrap();
    let config = SunspotsConfig::default();
    let report = sunspots(&config, &years, &values, &mut |_| {}).unwrap();
    eprintln!(
        "sunspots 1921-1955 ARV: ANFIS {:.4} (least squares alone {:.4}), AR(12) {:.4}",
        report.anfis_test_arv, report.anfis_ls_only_test_arv, report.ar_test_arv
    );
    // the AR(12) baseline reproduces the literature's ≈ 0.13 (measured 0.1296)
    assert!(
        (0.12..0.14).contains(&report.ar_test_arv),
        "AR(12) test ARV {}",
        report.ar_test_arv
    );
    // ANFIS (measured 0.118) at least as good as AR(12), and well below predicting the mean (1)
    assert!(
        report.anfis_test_arv <= report.ar_test_arv,
        "ANFIS test ARV {} vs AR(12) {}",
        report.anfis_test_arv,
        report.ar_test_arv
    );
    assert!(report.anfis_train_arv < report.ar_train_arv);
    assert_eq!(report.model.num_rules(), 8);
    assert_eq!(report.test_predictions.len(), 35);
    assert_eq!(report.test_predictions[0].0, 1921);
}
