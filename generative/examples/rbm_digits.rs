//! RBM and DBN on real digits (notes §9.1).
//!
//! ```text
//! cargo run --release -p inductive-generative --example rbm_digits -- optdigits DATA_DIR
//! cargo run --release -p inductive-generative --example rbm_digits -- mnist DATA_DIR [EPOCHS]
//! cargo run --release -p inductive-generative --example rbm_digits -- speed DATA_DIR THREADS [EPOCHS]
//! ```
//!
//! `optdigits`: RBM 64x100 on `optdigits.tra` / 16 (seeded 80/20 split): held-out reconstruction
//! MSE, logistic regression on hidden probabilities vs on raw pixels, DBN 64-100-100 pretrained
//! and fine-tuned vs the same network from random initialization.
//! `mnist`: RBM 784x500 by CD-1 and by PCD on 8000 of the 10 000 MNIST images, AIS test
//! log-likelihood on the other 2000. `speed`: seconds per CD-1 epoch, 784x500, batch 100, on all
//! 10 000 images, with `THREADS` threads for the products.

use generative::rbm::{
    AisConfig, CdConfig, Dbn, DbnConfig, Rbm, RbmConfig, base_rate_biases, features, fit_logistic,
};
use optim::data::{Dataset, load_mnist, load_optdigits};
use optim::train::TrainConfig;
use std::path::PathBuf;
use std::time::Instant;

type Res = Result<(), Box<dyn std::error::Error>>;

fn mnist(dir: &std::path::Path) -> Result<Dataset<f32>, optim::Error> {
    load_mnist::<f32>(
        dir.join("t10k-images-idx3-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
}

fn optdigits(dir: &std::path::Path) -> Res {
    let mut all = load_optdigits::<f32>(dir.join("optdigits.tra"))?;
    all.x /= 16.0;
    let (train, test) = all.split(0.2, &mut optim::rng(0))?;
    let t = Instant::now();
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(64, 100), &mut optim::rng(1))?;
    rbm.init_visible_bias(&train.x)?;
    let config = CdConfig {
        epochs: 30,
        batch_size: 20,
        learning_rate: 0.05,
        seed: 2,
        ..CdConfig::default()
    };
    let history = rbm.train_cd(&train.x, Some(&test.x), &config, &mut |_| {})?;
    let last = history.last().expect("epochs");
    println!(
        "RBM 64x100 CD-1, 30 epochs ({:.1} s): held-out reconstruction MSE {:.4}, PLL {:.3}, free-energy gap {:.3}",
        t.elapsed().as_secs_f64(),
        rbm.reconstruction_error(&test.x)?,
        last.term("pseudo_log_likelihood").unwrap_or(f64::NAN),
        last.term("free_energy_gap").unwrap_or(f64::NAN)
    );
    let (_, fa) = fit_logistic(
        &features(&rbm, &train)?,
        &features(&rbm, &test)?,
        60,
        1e-2,
        3,
    )?;
    let (_, ra) = fit_logistic(&train, &test, 60, 1e-2, 3)?;
    println!(
        "logistic regression held-out accuracy: hidden probabilities {fa:.4}, raw pixels {ra:.4}"
    );
    for seed in 0..3u64 {
        let dc = DbnConfig {
            visible: 64,
            hidden: vec![100, 100],
        };
        let mut dbn = Dbn::<f32>::new(&dc, &mut optim::rng(10 + seed))?;
        dbn.pretrain(
            &train.x,
            &CdConfig {
                seed: 20 + seed,
                monitor_examples: 0,
                ..config.clone()
            },
            &mut |_, _| {},
        )?;
        let fine = TrainConfig::new(30, 32).seed(30 + seed);
        let (pre, random) = dbn.fine_tune_against_random(10, &train, &fine, 1e-3, 40 + seed)?;
        println!(
            "seed {seed}: DBN 64-100-100-10 fine-tuned {:.4}, same net from random init {:.4}",
            pre.accuracy(&test)?,
            random.accuracy(&test)?
        );
    }
    Ok(())
}

fn mnist_ll(dir: &std::path::Path, epochs: usize) -> Res {
    let all = mnist(dir)?;
    let train = all.select(&(0..8000).collect::<Vec<_>>());
    let test = all.select(&(8000..10000).collect::<Vec<_>>());
    let base = base_rate_biases(&train.x);
    for (name, config) in [
        (
            "CD-1",
            CdConfig {
                epochs,
                learning_rate: 0.05,
                monitor_examples: 0,
                ..CdConfig::cd(1, epochs)
            },
        ),
        (
            "PCD-1",
            CdConfig {
                epochs,
                learning_rate: 0.01,
                monitor_examples: 0,
                ..CdConfig::pcd(1, epochs)
            },
        ),
    ] {
        let t = Instant::now();
        let mut rbm = Rbm::<f32>::new(RbmConfig::new(784, 500), &mut optim::rng(1))?;
        rbm.init_visible_bias(&train.x)?;
        rbm.train_cd(&train.x, None, &config, &mut |_| {})?;
        let trained = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ais = rbm.ais_log_partition(
            &AisConfig {
                chains: 100,
                temperatures: 10_000,
                seed: 5,
            },
            Some(&base),
        )?;
        println!(
            "MNIST RBM 784x500 {name}, {epochs} epochs on 8000 ({trained:.0} s): log Z = {:.2} ± {:.2} (AIS {:.0} s), \
             test LL {:.2} nats, train LL {:.2} nats, test reconstruction MSE {:.4}",
            ais.log_z,
            ais.std_error,
            t.elapsed().as_secs_f64(),
            rbm.log_likelihood_given(&test.x, ais.log_z)?,
            rbm.log_likelihood_given(&train.x, ais.log_z)?,
            rbm.reconstruction_error(&test.x)?
        );
    }
    Ok(())
}

fn speed(dir: &std::path::Path, threads: usize, epochs: usize) -> Res {
    optim::linalg::set_threads(threads);
    let all = mnist(dir)?;
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(784, 500), &mut optim::rng(1))?;
    rbm.init_visible_bias(&all.x)?;
    let config = CdConfig {
        epochs,
        batch_size: 100,
        monitor_examples: 0,
        // one data-parallel part per thread (1 thread: the plain loop)
        shards: threads,
        ..CdConfig::cd(1, epochs)
    };
    let history = rbm.train_cd(&all.x, None, &config, &mut |_| {})?;
    let secs: Vec<f64> = history.epochs.iter().map(|e| e.seconds).collect();
    println!(
        "CD-1 784x500 batch 100, 10000 images, {threads} thread(s): seconds per epoch {secs:.3?}"
    );
    Ok(())
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("optdigits");
    let dir = PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| "../shared/data".into()),
    );
    match what {
        "optdigits" => optdigits(&dir),
        "mnist" => mnist_ll(&dir, args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10)),
        "speed" => speed(
            &dir,
            args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1),
            args.get(4).and_then(|s| s.parse().ok()).unwrap_or(3),
        ),
        other => Err(format!("unknown task {other:?} (optdigits, mnist, speed)").into()),
    }
}
