//! With `optim::linalg::set_threads(2)` the batch-parallel loops (im2col, col2im, pooling) and
//! the split matrix products give the same numbers as on one thread. (Its own test binary,
//! because the thread count is process-wide.)

mod common;

use cnn::{Cnn, Mode};
use common::random;
use optim::loss;

fn step(
    net: &mut Cnn<f64>,
    x: &optim::Mat<f64>,
    labels: &[usize],
) -> (
    optim::Mat<f64>,
    Vec<(String, optim::Mat<f64>)>,
    optim::Mat<f64>,
) {
    let logits = net.forward(x, Mode::Train).unwrap().clone();
    let (_, d) = loss::softmax_cross_entropy(&logits, labels, 0.0).unwrap();
    optim::zero_grad(net);
    let dx = net.backward_input(&d).unwrap();
    let mut grads = Vec::new();
    optim::Parameters::visit_params(net, &mut |n, p| grads.push((n.to_string(), p.grad.clone())));
    (logits, grads, dx)
}

#[test]
fn two_threads_compute_what_one_thread_computes() {
    let x = random(784, 64, 1);
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let mut net = Cnn::<f64>::lenet5(&mut optim::rng(0));
    optim::linalg::set_threads(1);
    let (y1, g1, dx1) = step(&mut net, &x, &labels);
    optim::linalg::set_threads(2);
    let (y2, g2, dx2) = step(&mut net, &x, &labels);
    optim::linalg::set_threads(1);
    assert!((&y1 - &y2).abs().max() < 1e-12);
    assert!((&dx1 - &dx2).abs().max() < 1e-12);
    for ((n, a), (_, b)) in g1.iter().zip(&g2) {
        assert!((a - b).abs().max() < 1e-10, "{n}");
    }
}
