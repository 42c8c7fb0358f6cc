//! Real data (test kind 5), run only when `DL_DATA_DIR` names the shared data folder (an
//! absolute path, found through `optim::data::data_file`); otherwise each test prints that it was
//! skipped and returns.

use perceptron::{Config, MulticlassPerceptron, OneVsRest, Order, Perceptron, Variant, novikoff};
use std::path::PathBuf;

fn data_file(name: &str) -> Option<PathBuf> {
    if std::env::var_os("DL_DATA_DIR").is_none() {
        println!("skipped: DL_DATA_DIR is not set (real-data test on {name})");
        return None;
    }
    let found = optim::data::data_file(name);
    assert!(found.is_some(), "DL_DATA_DIR is set but holds no {name}");
    found
}

/// Setosa vs the rest on the raw measurements is separable: the rule converges after about 5
/// updates (5 in cyclic file order; at most 8 over shuffled orders), while Novikoff's best bound
/// `(R/γ*)²` — bracketed by the largest-margin solver — is above 200.
#[test]
fn iris_setosa_vs_rest_converges_far_below_the_novikoff_bound() {
    let Some(path) = data_file("iris.csv") else {
        return;
    };
    let data = optim::data::load_iris::<f64>(&path).unwrap();
    assert_eq!(data.len(), 150);
    let labels: Vec<i32> = data
        .class_labels("iris")
        .unwrap()
        .iter()
        .map(|&l| i32::from(l == 0))
        .collect();
    let r = novikoff::radius(&data.x);
    let best = novikoff::max_margin(&data.x, &labels, 20_000).unwrap();
    assert!(best.margin > 0.0 && best.margin <= best.margin_upper);
    // the smallest value the best bound can take: (R / upper bound of γ*)²
    let best_bound_at_least = novikoff::mistake_bound(r, best.margin_upper);
    println!(
        "iris setosa vs rest: R = {r:.3}, {:.5} <= gamma* <= {:.5}, best Novikoff bound >= {best_bound_at_least:.1}",
        best.margin, best.margin_upper
    );
    assert!(best_bound_at_least > 200.0);

    let mut unit = Perceptron::new(4, Config::default()).unwrap();
    let history = unit.fit(&data.x, &labels).unwrap();
    println!("cyclic: mistakes per epoch {:?}", history.mistakes());
    assert!(history.converged);
    assert_eq!(history.updates(), 5);
    assert_eq!(unit.errors(&data.x, &labels).unwrap(), 0);

    let mut worst = 0;
    for seed in 0..20 {
        let config = Config {
            order: Order::Shuffled { seed },
            ..Config::default()
        };
        let mut unit = Perceptron::new(4, config).unwrap();
        let history = unit.fit(&data.x, &labels).unwrap();
        assert!(history.converged);
        assert_eq!(unit.errors(&data.x, &labels).unwrap(), 0);
        worst = worst.max(history.updates());
    }
    println!("shuffled (20 seeds): at most {worst} updates");
    assert!(worst <= 10, "{worst} updates");
    assert!((worst as f64) < best_bound_at_least / 20.0);
}

/// The averaged multiclass perceptron on optdigits: train on a seeded 75 % of `optdigits.tra`,
/// test on the held-out 25 % (the authors' quarter for writer-dependent testing), raw counts,
/// 20 shuffled epochs. Held-out accuracy must reach 0.94 on each of five seeded splits
/// (scikit-learn's one-vs-rest `Perceptron` scores about 0.937 on optdigits); the plain
/// multiclass rule and one-vs-rest are reported beside it.
#[test]
fn optdigits_averaged_multiclass_perceptron_reaches_094() {
    let Some(path) = data_file("optdigits.tra") else {
        return;
    };
    let data = optim::data::load_optdigits::<f32>(&path).unwrap();
    assert_eq!(data.len(), 3823);
    let mut accuracies = Vec::new();
    for split_seed in 0..5u64 {
        let mut rng = optim::rng(split_seed);
        let (train, test) = data.split(0.25, &mut rng).unwrap();
        let config = Config {
            max_epochs: 20,
            order: Order::Shuffled { seed: split_seed },
            variant: Variant::Averaged,
            record_weights: false,
            ..Config::default()
        };
        let (train_labels, test_labels) = (train.labels().unwrap(), test.labels().unwrap());
        let mut model = MulticlassPerceptron::new(64, 10, config).unwrap();
        let history = model.fit(&train.x, train_labels).unwrap();
        let train_acc = model.accuracy(&train.x, train_labels).unwrap();
        let test_acc = model.accuracy(&test.x, test_labels).unwrap();
        let plain_config = Config {
            variant: Variant::Plain,
            ..config
        };
        let mut plain = MulticlassPerceptron::new(64, 10, plain_config).unwrap();
        plain.fit(&train.x, train_labels).unwrap();
        let mut ovr = OneVsRest::new(64, 10, plain_config).unwrap();
        ovr.fit(&train.x, train_labels).unwrap();
        println!(
            "optdigits split {split_seed}: {} train / {} held out, {} epochs, last mistakes {:?}; averaged: train {train_acc:.4}, held-out {test_acc:.4}; plain multiclass held-out {:.4}; one-vs-rest held-out {:.4}",
            train.len(),
            test.len(),
            history.len(),
            history.mistakes().last(),
            plain.accuracy(&test.x, test_labels).unwrap(),
            ovr.accuracy(&test.x, test_labels).unwrap(),
        );
        accuracies.push(test_acc);
    }
    let min = accuracies.iter().copied().fold(1.0, f64::min);
    let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
    println!(
        "optdigits averaged multiclass perceptron held-out accuracy: mean {mean:.4}, min {min:.4}"
    );
    assert!(min >= 0.94, "held-out accuracies {accuracies:?}");
}
