//! cnn-specific helpers of the integration tests (fixture reading and proptest settings are
//! `optim::testing`'s).
#![allow(dead_code)]

use cnn::{Layer, Mode};
use optim::Mat;
use optim::gradcheck::{GradCheck, GradCheckReport, check_input, check_parameters, combine};
use rand::Rng;

/// A matrix of uniform values in `[-1, 1)` from a seeded generator.
pub fn random(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    let mut rng = optim::rng(seed);
    Mat::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

/// `Σ a ⊙ b`.
pub fn dot(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// Gradient check of a layer under the loss `L = Σ R ⊙ layer(x)` with a fixed random `R`:
/// every parameter and the input. Returns the combined report.
pub fn check_layer<L: Layer<f64>>(
    layer: &mut L,
    x: &Mat<f64>,
    mode: Mode,
    seed: u64,
) -> GradCheckReport {
    check_layer_with(layer, x, mode, seed, GradCheck::default())
}

/// [`check_layer`] with given finite-difference settings.
pub fn check_layer_with<L: Layer<f64>>(
    layer: &mut L,
    x: &Mat<f64>,
    mode: Mode,
    seed: u64,
    opts: GradCheck,
) -> GradCheckReport {
    let y = layer.forward(x, mode).unwrap().clone();
    let r = random(y.nrows(), y.ncols(), seed ^ 0xABCD);
    let mut has_params = false;
    layer.visit_params(&mut |_, _| has_params = true);
    let mut report = GradCheckReport::default();
    if has_params {
        report = check_parameters(
            layer,
            opts,
            |l| dot(l.forward(x, mode).unwrap(), &r),
            |l| {
                let v = dot(l.forward(x, mode).unwrap(), &r);
                l.backward(&r, true).unwrap();
                v
            },
        );
    }
    layer.forward(x, mode).unwrap();
    let dx = layer.backward(&r, true).unwrap().clone();
    let input = check_input("input", x, &dx, opts, |xp| {
        dot(layer.forward(xp, mode).unwrap(), &r)
    });
    combine(report, input)
}
