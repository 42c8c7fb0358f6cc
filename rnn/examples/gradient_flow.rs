//! The gradient-flow probe (notes §7.1): ‖∂h_T/∂s_t‖ for t = 0..T, for a tanh RNN whose recurrent
//! matrix has spectral norm 0.9 and 1.5, and for an LSTM with forget-gate bias 0 and 5 (forget
//! gates ≈ 0.5 and ≈ 0.99). Prints one line per 10 steps, ready to plot.
//!
//! ```text
//! cargo run --release -p inductive-rnn --example rnn_gradient_flow -- [--steps 100] [--hidden 32]
//! ```

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn main() -> optim::Result<()> {
    let (steps, hidden) = (arg("--steps", 100), arg("--hidden", 32));
    let curves = rnn::probe::gradient_flow_curves(steps, hidden, 0)?;
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
