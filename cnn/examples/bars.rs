//! The chapter's point on generated data: oriented bars anywhere in a 12x12 image, learned from
//! few examples by a small CNN (a few hundred shared parameters) and by a dense network (tens of
//! thousands), both scored on fresh images; then the CNN's learned 3x3 filters, as text.
//!
//! ```text
//! cargo run --release -p inductive-cnn --example bars [-- --train 100]
//! ```

use cnn::{Cnn, ImageShape, data::bars};
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n_train: usize = args
        .iter()
        .position(|a| a == "--train")
        .and_then(|i| args.get(i + 1))
        .map_or(100, |v| v.parse().expect("--train N"));
    let mut rng = optim::rng(0);
    let side = 12;
    let train = bars::<f32>(n_train, side, 0.3, &mut rng);
    let test = bars::<f32>(2000, side, 0.3, &mut rng);
    let shape = ImageShape::new(1, side, side);

    let mut cnn = Cnn::<f32>::builder(shape)
        .conv(4, 3, 1, 1, &mut rng)?
        .relu()
        .max_pool(2, 2)?
        .conv(8, 3, 1, 1, &mut rng)?
        .relu()
        .global_avg_pool()?
        .dense(2, &mut rng)?
        .build();
    let mut dense = Cnn::<f32>::builder(shape)
        .flatten()
        .dense(64, &mut rng)?
        .relu()
        .dense(2, &mut rng)?
        .build();
    let config = TrainConfig::new(60, 20);
    println!("{n_train} training images of {shape}, 2000 test images");
    for (name, net) in [("CNN", &mut cnn), ("dense", &mut dense)] {
        let mut adam = Adam::new(0.01)?;
        let history = net.fit(&train, None, &mut adam, &config, &mut |_| {})?;
        let eval = net.evaluate(&test)?;
        println!(
            "{name:>5}: {:>6} parameters, final training accuracy {:.3}, test accuracy {:.3}",
            optim::param_count(net),
            history.last().and_then(|e| e.train_accuracy).unwrap_or(0.0),
            eval.accuracy.unwrap_or(0.0)
        );
    }
    println!("\nthe CNN's first-layer filters (3x3):");
    let (_, conv) = cnn.conv_layers()[0];
    for o in 0..conv.config().out_channels {
        let f = conv.filter(o, 0);
        for u in 0..3 {
            let row: Vec<String> = (0..3).map(|v| format!("{:>6.2}", f[(u, v)])).collect();
            println!("  {}", row.join(" "));
        }
        println!();
    }
    Ok(())
}
