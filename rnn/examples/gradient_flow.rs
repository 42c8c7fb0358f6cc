//! The gradient-flow probe (notes §7.1): ‖∂h_T/∂s_t‖ for t = 0..T, for a tanh RNN whose recurrent
//! matrix has spectral norm 0.9 and 1.5, and for an LSTM with forget-gate bias 0 and 5 (forget
//! gates ≈ 0.5 and ≈ 0.99). Prints one line per 10 steps, ready to plot.
//!
//! ```text
//! cargo run --release -p rnn --example rnn_gradient_flow -- [--steps 100] [--hidden 32]
//! ```

use optim::{Mat, Parameters};
use rand::Rng;
use rnn::{CellKind, Rnn, RnnConfig, Seq, jacobian_norms};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn main() -> optim::Result<()> {
    let (steps, hidden, input) = (arg("--steps", 100), arg("--hidden", 32), 4);
    let mut rng = optim::rng(0);
    let x = Seq::new(
        Mat::<f64>::from_fn(input, steps, |_, _| rng.random_range(-1.0..1.0)),
        steps,
        1,
    )?;
    let mut curves: Vec<(String, Vec<f64>)> = Vec::new();
    for rho in [0.9, 1.5] {
        let mut net = Rnn::<f64>::new(RnnConfig::new(CellKind::Tanh, input, hidden), &mut rng)?;
        let w = Mat::<f64>::from_fn(hidden, hidden, |_, _| rng.random_range(-1.0..1.0));
        let norm = w.clone().svd(false, false).singular_values.max();
        let w = w * (rho / norm);
        net.visit_params(&mut |n, p| {
            if n == "weight_hh_l0" {
                p.value.copy_from(&w)
            }
        });
        curves.push((format!("tanh ‖U‖₂={rho}"), jacobian_norms(&net, &x)?));
    }
    for bias in [0.0, 5.0] {
        let net = Rnn::<f64>::new(
            RnnConfig::new(CellKind::Lstm, input, hidden).forget_bias(bias),
            &mut rng,
        )?;
        curves.push((format!("lstm b_f={bias}"), jacobian_norms(&net, &x)?));
    }
    let net = Rnn::<f64>::new(RnnConfig::new(CellKind::Gru, input, hidden), &mut rng)?;
    curves.push(("gru".into(), jacobian_norms(&net, &x)?));
    print!("{:>6}", "T − t");
    for (name, _) in &curves {
        print!("  {name:>16}");
    }
    println!();
    for back in (0..=steps).step_by(10) {
        print!("{back:>6}");
        for (_, c) in &curves {
            print!("  {:>16.3e}", c[steps - back]);
        }
        println!();
    }
    Ok(())
}
