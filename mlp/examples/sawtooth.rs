//! Depth versus width, counted: the depth-k tent-map network has 2^k linear pieces on [0, 1];
//! a one-hidden-layer ReLU network with as many units (2k) has at most 2k + 1, and random ones
//! of that width are printed beside it.
//!
//! ```text
//! cargo run --release -p inductive-mlp --example sawtooth
//! ```

use mlp::Config;
use mlp::pieces::{linear_pieces, sawtooth};
use rand::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(" k | deep units | deep pieces | shallow bound (2k+1) | random shallow (max of 100)");
    let mut rng = optim::rng(0);
    for k in 1..=10 {
        let deep = sawtooth(k)?;
        let pieces = linear_pieces(&deep, 0.0, 1.0)?.len();
        let units = 2 * k;
        let mut best = 0;
        for _ in 0..100 {
            let mut shallow = Config::regressor(1, &[units], 1)
                .init_with(optim::Init::Normal(1.0))
                .init::<f64>(&mut rng)?;
            // breakpoints −b/w spread over (0, 1)
            let hidden = shallow.linear_mut(0).expect("hidden layer");
            let w = hidden.weight.value.clone();
            if let Some(b) = hidden.bias.as_mut() {
                for i in 0..units {
                    b.value[i] = -w[i] * rng.random::<f64>();
                }
            }
            best = best.max(linear_pieces(&shallow, 0.0, 1.0)?.len());
        }
        println!(
            "{k:2} | {units:10} | {pieces:11} | {:20} | {best:3}",
            units + 1
        );
    }
    Ok(())
}
