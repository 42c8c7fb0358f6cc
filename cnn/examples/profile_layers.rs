//! Per-layer forward and backward times of LeNet-5 on a batch of 64 random images (f32), to see
//! where a training step spends its time:
//! `cargo run --release -p inductive-cnn --example profile_layers`.

use cnn::{Cnn, Mode};
use optim::Mat;
use rand::Rng;
use std::time::Instant;
fn main() {
    let mut rng = optim::rng(0);
    let mut net = Cnn::<f32>::lenet5(&mut rng);
    let x = Mat::from_fn(784, 64, |_, _| rng.random::<f32>());
    let n = 100;
    let layers = net.layers_mut();
    let mut fwd = vec![0.0; layers.len()];
    let mut bwd = vec![0.0; layers.len()];
    let mut outs: Vec<Mat<f32>> = vec![x.clone()];
    for (i, l) in layers.iter_mut().enumerate() {
        let y = l.forward(&outs[i], Mode::Train).unwrap().clone();
        outs.push(y);
    }
    let mut grads: Vec<Mat<f32>> = outs.iter().map(|o| o.map(|v| v * 0.01)).collect();
    for _ in 0..n {
        for (i, l) in layers.iter_mut().enumerate() {
            let t = Instant::now();
            l.forward(&outs[i], Mode::Train).unwrap();
            fwd[i] += t.elapsed().as_secs_f64();
        }
        for (i, l) in layers.iter_mut().enumerate().rev() {
            let t = Instant::now();
            l.backward(&grads[i + 1], i > 0).unwrap();
            bwd[i] += t.elapsed().as_secs_f64();
        }
    }
    grads.clear();
    let (mut tf, mut tb) = (0.0, 0.0);
    for (i, l) in layers.iter().enumerate() {
        tf += fwd[i];
        tb += bwd[i];
        println!(
            "{i:>2} {:<12} fwd {:.3} ms bwd {:.3} ms",
            l.kind(),
            1e3 * fwd[i] / n as f64,
            1e3 * bwd[i] / n as f64
        );
    }
    println!(
        "total fwd {:.3} ms bwd {:.3} ms",
        1e3 * tf / n as f64,
        1e3 * tb / n as f64
    );
}
