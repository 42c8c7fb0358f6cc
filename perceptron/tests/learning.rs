//! Learning on generated data (test kind 4): deterministic, seeded, in milliseconds.

use optim::Mat;
use optim::data::{Dataset, generate};
use perceptron::{
    Config, Kernel, KernelPerceptron, MulticlassPerceptron, OneVsRest, Order, Perceptron, Variant,
};
use rand::Rng;

fn zero_one(labels: &[usize]) -> Vec<i32> {
    labels.iter().map(|&l| l as i32).collect()
}

fn accuracy(a: &[i32], b: &[i32]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Two moons are not linearly separable: the best line (the pocket's) leaves errors. The
/// Gaussian kernel perceptron separates the training set and generalizes to fresh moons.
#[test]
fn kernel_perceptron_separates_two_moons_the_primal_cannot() {
    let mut rng = optim::rng(11);
    let train = generate::two_moons::<f64>(200, 0.1, &mut rng);
    let test = generate::two_moons::<f64>(1000, 0.1, &mut rng);
    let (d_train, d_test) = (
        zero_one(train.labels().unwrap()),
        zero_one(test.labels().unwrap()),
    );

    let config = Config {
        max_epochs: 200,
        order: Order::Shuffled { seed: 1 },
        ..Config::default()
    };
    let mut primal = Perceptron::new(2, config).unwrap();
    let history = primal.fit(&train.x, &d_train).unwrap();
    assert!(!history.converged);
    let mut pocket = Perceptron::new(
        2,
        Config {
            variant: Variant::Pocket,
            ..config
        },
    )
    .unwrap();
    pocket.fit(&train.x, &d_train).unwrap();
    let pocket_train = 1.0 - pocket.errors(&train.x, &d_train).unwrap() as f64 / 200.0;
    let pocket_test = accuracy(&pocket.predict(&test.x).unwrap(), &d_test);

    let mut dual = KernelPerceptron::new(2, Kernel::Gaussian { gamma: 5.0 }, config).unwrap();
    let history = dual.fit(&train.x, &d_train).unwrap();
    let kernel_test = accuracy(&dual.predict(&test.x).unwrap(), &d_test);
    println!(
        "two moons: pocket line train {pocket_train:.3} test {pocket_test:.3}; Gaussian kernel: {} epochs, mistakes {:?}, {} support vectors, test {kernel_test:.3}",
        history.len(),
        history.mistakes(),
        dual.dual_coef().len()
    );
    assert!(pocket_train < 0.95);
    assert!(history.converged);
    assert_eq!(dual.errors(&train.x, &d_train).unwrap(), 0);
    assert!(kernel_test >= 0.97, "{kernel_test}");
}

/// Well-separated blobs: the multiclass rule converges to zero training error, and both the
/// multiclass machine and one-vs-rest classify fresh points from the same blobs.
#[test]
fn multiclass_and_one_vs_rest_learn_four_blobs() {
    let centers = Mat::from_column_slice(
        3,
        4,
        &[
            3.0, 0.0, 0.0, //
            -3.0, 0.0, 0.0, //
            0.0, 3.0, 0.0, //
            0.0, 0.0, 3.0,
        ],
    );
    let mut rng = optim::rng(4);
    let train = generate::blobs::<f32>(400, &centers, 0.7, &mut rng);
    let test = generate::blobs::<f32>(2000, &centers, 0.7, &mut rng);
    let config = Config {
        max_epochs: 100,
        order: Order::Shuffled { seed: 2 },
        ..Config::default()
    };
    let mut multi = MulticlassPerceptron::new(3, 4, config).unwrap();
    let history = multi.fit(&train.x, train.labels().unwrap()).unwrap();
    let multi_test = multi.accuracy(&test.x, test.labels().unwrap()).unwrap();
    let mut ovr = OneVsRest::new(
        3,
        4,
        Config {
            variant: Variant::Averaged,
            ..config
        },
    )
    .unwrap();
    ovr.fit(&train.x, train.labels().unwrap()).unwrap();
    let ovr_test = ovr.accuracy(&test.x, test.labels().unwrap()).unwrap();
    println!(
        "blobs: multiclass {} epochs, mistakes {:?}, test {multi_test:.4}; one-vs-rest (averaged) test {ovr_test:.4}",
        history.len(),
        history.mistakes()
    );
    assert!(history.converged);
    assert_eq!(
        multi.accuracy(&train.x, train.labels().unwrap()).unwrap(),
        1.0
    );
    assert!(multi_test >= 0.98, "{multi_test}");
    assert!(ovr_test >= 0.98, "{ovr_test}");
}

/// With 10 % of the labels flipped the data are no longer separable: the plain rule never
/// settles, while the pocket and the averaged perceptron keep weights that classify clean
/// test points well.
#[test]
fn pocket_and_averaged_survive_label_noise() {
    let mut rng = optim::rng(21);
    let (clean, _) = generate::linearly_separable::<f64>(1500, 5, 0.05, &mut rng).unwrap();
    let train_idx: Vec<usize> = (0..500).collect();
    let test_idx: Vec<usize> = (500..1500).collect();
    let train: Dataset<f64> = clean.select(&train_idx);
    let test = clean.select(&test_idx);
    let mut noisy = train.labels().unwrap().to_vec();
    for l in noisy.iter_mut() {
        if rng.random_bool(0.1) {
            *l = 1 - *l;
        }
    }
    let (d_train, d_test) = (zero_one(&noisy), zero_one(test.labels().unwrap()));
    let mut results = Vec::new();
    for variant in [Variant::Plain, Variant::Pocket, Variant::Averaged] {
        let config = Config {
            max_epochs: 50,
            order: Order::Shuffled { seed: 3 },
            variant,
            ..Config::default()
        };
        let mut unit = Perceptron::new(5, config).unwrap();
        let history = unit.fit(&train.x, &d_train).unwrap();
        assert!(!history.converged, "{variant:?}");
        let test_acc = accuracy(&unit.predict(&test.x).unwrap(), &d_test);
        println!("label noise: {variant:?} clean-test accuracy {test_acc:.4}");
        results.push(test_acc);
    }
    assert!(
        results[0] < results[2],
        "plain {} vs averaged {}",
        results[0],
        results[2]
    );
    assert!(results[1] >= 0.93, "pocket {}", results[1]);
    assert!(results[2] >= 0.93, "averaged {}", results[2]);
}
