//! The perceptron's learning history on Fisher's iris (notes §3.1).
//!
//! ```text
//! cargo run --release -p inductive-perceptron --example iris -- --data ../shared/data
//! DL_DATA_DIR=../shared/data cargo run --release -p inductive-perceptron --example iris
//! cargo run --release -p inductive-perceptron --example iris            # generated stand-in data
//! ```
//!
//! 1. Setosa vs the rest on the raw measurements (separable): mistakes and weights per epoch,
//!    and how far the run stays below Novikoff's bound `(R/γ*)²`.
//! 2. Versicolor vs virginica (not separable): the plain rule never settles; the pocket and the
//!    averaged perceptron keep good weights anyway.
//! 3. All three classes with the averaged multiclass perceptron, on a seeded 120/30 split.

use optim::Mat;
use optim::data::Dataset;
use perceptron::{Config, MulticlassPerceptron, Order, Perceptron, Variant, novikoff};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--data") {
        return args.get(i + 1).map(PathBuf::from);
    }
    std::env::var_os("DL_DATA_DIR").map(PathBuf::from)
}

/// Three Gaussian clusters in four dimensions placed like iris's class means (setosa far from the
/// other two, which overlap): a stand-in when no data folder is given.
fn stand_in() -> Dataset<f64> {
    let centers = Mat::from_column_slice(
        4,
        3,
        &[5.0, 3.4, 1.5, 0.2, 5.9, 2.8, 4.3, 1.3, 6.6, 3.0, 5.6, 2.0],
    );
    let mut rng = optim::rng(0);
    optim::data::generate::blobs(150, &centers, 0.3, &mut rng)
}

fn print_weights(w: &[f64]) -> String {
    w.iter()
        .map(|v| format!("{v:7.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> optim::Result<()> {
    let (data, source) = match data_dir() {
        Some(dir) => {
            let path = dir.join("iris.csv");
            (
                optim::data::load_iris::<f64>(&path)?,
                path.display().to_string(),
            )
        }
        None => (
            stand_in(),
            "generated stand-in (pass --data DIR for iris.csv)".into(),
        ),
    };
    println!(
        "data: {source}, {} examples x {} features\n",
        data.len(),
        data.x.nrows()
    );

    // 1. setosa (class 0) vs the rest
    let classes = data.class_labels("iris")?;
    let setosa: Vec<i32> = classes.iter().map(|&l| i32::from(l == 0)).collect();
    let mut unit = Perceptron::new(4, Config::default())?;
    let history = unit.fit(&data.x, &setosa)?;
    println!("1. setosa vs rest, raw features, cyclic order, eta = 1");
    println!("   epoch  mistakes   weights (bias, sepal l, sepal w, petal l, petal w)");
    for (epoch, (mistakes, w)) in history.mistakes().iter().zip(&history.weights).enumerate() {
        println!(
            "   {:5}  {mistakes:8}   {}",
            epoch + 1,
            print_weights(w.as_slice())
        );
    }
    let r = novikoff::radius(&data.x);
    let best = novikoff::max_margin(&data.x, &setosa, 20_000)?;
    println!(
        "   converged: {}, updates: {}, training errors: {}",
        history.converged,
        history.updates(),
        unit.errors(&data.x, &setosa)?
    );
    println!(
        "   R = {r:.3}, best margin {:.5} <= gamma* <= {:.5}: Novikoff's best bound (R/gamma*)^2 is between {:.0} and {:.0}\n",
        best.margin,
        best.margin_upper,
        novikoff::mistake_bound(r, best.margin_upper),
        novikoff::mistake_bound(r, best.margin),
    );

    // 2. versicolor (1) vs virginica (2): not separable
    let pair: Vec<usize> = (0..data.len()).filter(|&j| classes[j] != 0).collect();
    let two = data.select(&pair);
    let virginica: Vec<i32> = two
        .class_labels("iris")?
        .iter()
        .map(|&l| i32::from(l == 2))
        .collect();
    println!(
        "2. versicolor vs virginica ({} examples), 200 shuffled epochs",
        two.len()
    );
    for variant in [Variant::Plain, Variant::Pocket, Variant::Averaged] {
        let config = Config {
            max_epochs: 200,
            order: Order::Shuffled { seed: 1 },
            variant,
            ..Config::default()
        };
        let mut unit = Perceptron::new(4, config)?;
        let history = unit.fit(&two.x, &virginica)?;
        let m = history.mistakes();
        println!(
            "   {variant:?}: converged {}, mistakes in epochs 1..5 {:?}, last 5 {:?}, final training errors {}",
            history.converged,
            &m[..5.min(m.len())],
            &m[m.len().saturating_sub(5)..],
            unit.errors(&two.x, &virginica)?
        );
    }

    // 3. all three classes
    let mut rng = optim::rng(7);
    let (train, test) = data.split(0.2, &mut rng)?;
    let config = Config {
        max_epochs: 100,
        order: Order::Shuffled { seed: 7 },
        variant: Variant::Averaged,
        ..Config::default()
    };
    let mut model = MulticlassPerceptron::new(4, 3, config)?;
    let (train_labels, test_labels) = (train.class_labels("train")?, test.class_labels("test")?);
    let history = model.fit(&train.x, train_labels)?;
    println!(
        "\n3. three classes, averaged multiclass perceptron, {} epochs: train accuracy {:.3}, held-out accuracy {:.3} ({} examples)",
        history.len(),
        model.accuracy(&train.x, train_labels)?,
        model.accuracy(&test.x, test_labels)?,
        test.len()
    );
    Ok(())
}
