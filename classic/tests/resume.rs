//! Exact resume of an RBF network trained by gradient descent through the shared loop (issue
//! 14): `N` epochs with `optim::train::fit_resume`, a training checkpoint (centres, widths,
//! output weights, Adam's state, the `Resume` entry), loaded into a network built from other
//! centres, and `N` more epochs equal `2N` straight, bit for bit
//! (`optim::testing::assert_exact_resume`). The rate follows warm-up + cosine.

use classic::rbf::{Basis, Rbf};
use optim::data::Dataset;
use optim::train::TrainConfig;
use optim::{Adam, Mat, Optimizer, Schedule};

const HALF: usize = 3;

#[test]
fn rbf_by_gradient_descent_resumes_bit_for_bit() {
    let n = 120;
    let x = Mat::<f32>::from_fn(1, n, |_, j| j as f32 / (n - 1) as f32);
    let y = x.map(|v| (2.0 * std::f32::consts::PI * v).sin());
    let data = Dataset::regression(x, y).unwrap();
    let build = |seed: u64| {
        let shift = seed as f32 * 1e-3;
        let centres = Mat::from_fn(1, 6, |_, j| j as f32 / 5.0 + shift);
        Rbf::new(Basis::Gaussian, centres, &[0.2; 6], 1, true).unwrap()
    };
    let config_for = |epochs: usize| {
        TrainConfig::new(epochs, 25)
            .seed(8)
            .schedule(Schedule::CosineWarmup {
                warmup: 3,
                total: 5 * 2 * HALF,
                min_lr: 1e-4,
            })
    };
    optim::testing::assert_exact_resume(
        "rbf",
        &build,
        &|| Box::new(Adam::new(0.02).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &config_for,
        HALF,
    );
}
