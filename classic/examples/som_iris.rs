//! A self-organizing map of Fisher's iris, in MiniSom's setup.
//!
//! ```text
//! cargo run --release -p inductive-classic --example som_iris -- --data ../shared/data
//! DL_DATA_DIR=../shared/data cargo run --release -p inductive-classic --example som_iris -- \
//!     --size 10 --sigma 1 --iterations 10000 --seeds 10
//! ```
//!
//! Options: `--size N` (an `N x N` map, default 7), `--sigma` (3), `--lr` (0.5), `--iterations`
//! (5000), `--seeds K` (repeat with seeds `0..K` and report mean ± std, default 10), `--hex`
//! (hexagonal grid), `--batch` (batch training, `--iterations` passes), `--sequential`.
//! Data: z-scored iris; PCA initialization; asymptotic decay of `η` and `σ`.
//! Without data it maps three generated Gaussian blobs instead.

use classic::som::{
    Decay, Neighbourhood, Order, Som, SomConfig, SomInit, Topology, Training, train,
};
use optim::Mat;
use optim::data::Standardizer;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("cannot parse {name} {v}"))
        })
        .unwrap_or(default)
}

fn main() -> optim::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--data")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("DL_DATA_DIR").ok());
    let size: usize = arg(&args, "--size", 7);
    let sigma: f64 = arg(&args, "--sigma", 3.0);
    let lr: f64 = arg(&args, "--lr", 0.5);
    let iterations: usize = arg(&args, "--iterations", 5000);
    let seeds: u64 = arg(&args, "--seeds", 10);
    let hex = args.iter().any(|a| a == "--hex");
    let batch = args.iter().any(|a| a == "--batch");
    let sequential = args.iter().any(|a| a == "--sequential");

    let (x, labels, what) = match &dir {
        Some(d) => {
            let iris = optim::data::load_iris::<f64>(std::path::Path::new(d).join("iris.csv"))?;
            (
                iris.x.clone(),
                iris.class_labels("iris")?.to_vec(),
                "iris (z-scored)",
            )
        }
        None => {
            let centres = Mat::from_row_slice(
                4,
                3,
                &[0.0, 3.0, 0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            );
            let blobs = optim::data::generate::blobs::<f64>(150, &centres, 0.5, &mut optim::rng(0));
            let labels = blobs.class_labels("blobs")?.to_vec();
            (blobs.x, labels, "three generated blobs (no --data given)")
        }
    };
    let z = Standardizer::fit(&x)?.transform(&x)?;
    let config = SomConfig {
        nx: size,
        ny: size,
        topology: if hex {
            Topology::Hexagonal
        } else {
            Topology::Rectangular
        },
        neighbourhood: Neighbourhood::Gaussian,
        sigma,
        learning_rate: lr,
        sigma_decay: Decay::Asymptotic,
        learning_rate_decay: Decay::Asymptotic,
        init: SomInit::Pca,
        iterations,
        training: if batch {
            Training::Batch
        } else if sequential {
            Training::Online(Order::Sequential)
        } else {
            Training::Online(Order::Random)
        },
    };
    println!("{what}: {size}x{size} {config:?}");
    let mut qes = Vec::new();
    let mut tes = Vec::new();
    let mut last: Option<Som<f64>> = None;
    let start = std::time::Instant::now();
    for seed in 0..seeds.max(1) {
        let (som, _) = train(&config, &z, &mut optim::rng(seed), &mut |_, _| {})?;
        qes.push(som.quantization_error(&z)?);
        tes.push(som.topographic_error(&z)?);
        last = Some(som);
    }
    let stats = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        (m, s)
    };
    let (qm, qs) = stats(&qes);
    let (tm, ts) = stats(&tes);
    println!(
        "{} seeds in {:.2?}: quantization error {qm:.4} ± {qs:.4}, topographic error {tm:.4} ± {ts:.4}",
        qes.len(),
        start.elapsed()
    );
    let som = last.expect("at least one seed");
    let um = som.u_matrix(false);
    println!("U-matrix of the last map (rows i, columns j):");
    for i in 0..um.nrows() {
        let row: Vec<String> = (0..um.ncols())
            .map(|j| format!("{:.2}", um[(i, j)]))
            .collect();
        println!("  {}", row.join(" "));
    }
    let counts = som.label_counts(&z, &labels, 3)?;
    println!("majority class per unit (. = no example):");
    for i in 0..som.grid.nx {
        let row: String = (0..som.grid.ny)
            .map(|j| {
                let c = &counts[som.grid.index(i, j)];
                if c.iter().all(|&v| v == 0) {
                    '.'
                } else {
                    let best = (0..3).max_by_key(|&l| c[l]).unwrap_or(0);
                    char::from(b'0' + best as u8)
                }
            })
            .collect();
        println!("  {row}");
    }
    Ok(())
}
