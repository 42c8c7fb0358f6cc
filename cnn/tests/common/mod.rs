//! cnn-specific helpers of the integration tests (fixture reading and proptest settings are
//! `optim::testing`'s): gradient checks of layers, and the bars data and the small network that
//! the shared-loop tests (`checkpoint_bytes.rs`, `resume.rs`, `learning.rs`) train.
#![allow(dead_code)]

use cnn::{Cnn, ImageShape, Layer, Mode, data::bars};
use optim::Mat;
use optim::data::Dataset;
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

/// Two sets of noisy 8x8 bars (noise 0.2; vertical: label 0, horizontal: label 1), `train`
/// images then `validation` images, drawn in that order from `rng`.
pub fn bars_8x8(
    train: usize,
    validation: usize,
    rng: &mut optim::StdRng,
) -> (Dataset<f32>, Dataset<f32>) {
    let train = bars::<f32>(train, 8, 0.2, rng);
    let validation = bars::<f32>(validation, 8, 0.2, rng);
    (train, validation)
}

/// How [`bars_net`] turns its feature maps into the dense layer's input.
#[derive(Debug, Clone, Copy)]
pub enum Head {
    /// Every value of every map (`channels x 4 x 4` inputs).
    Flatten,
    /// One mean per map (`channels` inputs).
    GlobalAvgPool,
}

/// The shared-loop tests' network on 1x8x8 images, weights from `seed`:
/// `conv(channels, 3x3, stride 1, pad 1) → batch norm → ReLU → max pool 2 → dropout 0.2 → head
/// → dense 2`: batch norm (its running statistics are buffers of a checkpoint) and dropout (its
/// masks drawn from the loop's generator) are what resume and thread-count checks must carry.
pub fn bars_net(channels: usize, head: Head, seed: u64) -> Cnn<f32> {
    let rng = &mut optim::rng(seed);
    let maps = Cnn::<f32>::builder(ImageShape::new(1, 8, 8))
        .conv(channels, 3, 1, 1, rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .dropout(0.2)
        .unwrap();
    let features = match head {
        Head::Flatten => maps.flatten(),
        Head::GlobalAvgPool => maps.global_avg_pool().unwrap(),
    };
    features.dense(2, rng).unwrap().build()
}
