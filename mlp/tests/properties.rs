//! Kind 2: the chapter's mathematics as properties (proptest).

use mlp::Config;
use optim::{Activation, BatchNorm, Mat, Parameters};
use proptest::prelude::*;
use rand::Rng;

/// Batch norm's training forward into a new matrix.
fn forward_train(bn: &mut BatchNorm<f64>, x: &Mat<f64>) -> Mat<f64> {
    let mut y = Mat::zeros(0, 0);
    bn.forward_train_into(x, &mut y).unwrap();
    y
}

fn random_matrix(rows: usize, cols: usize, rng: &mut impl Rng, scale: f64) -> Mat<f64> {
    Mat::from_fn(rows, cols, |_, _| rng.random_range(-scale..scale))
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(48))]

    /// Notes §3.2: the non-linearity comes from the activation. Without it, a stack of affine
    /// maps of any depth is one affine map: f(a x + (1 − a) y) = a f(x) + (1 − a) f(y).
    #[test]
    fn without_activation_any_depth_is_affine(
        seed in 0u64..100_000,
        depth in 0usize..5,
        a in -2.0f64..2.0,
    ) {
        let mut rng = optim::rng(seed);
        let hidden: Vec<usize> = (0..depth).map(|_| rng.random_range(1..8)).collect();
        let model = Config::regressor(3, &hidden, 2)
            .activation(Activation::Identity)
            .init::<f64>(&mut rng)
            .unwrap();
        let x = random_matrix(3, 4, &mut rng, 2.0);
        let y = random_matrix(3, 4, &mut rng, 2.0);
        let mixed = model.predict(&(&x * a + &y * (1.0 - a))).unwrap();
        let want = model.predict(&x).unwrap() * a + model.predict(&y).unwrap() * (1.0 - a);
        prop_assert!((mixed - want).abs().max() < 1e-10);
    }

    /// With a non-linear activation and a hidden layer, the same identity fails (for some
    /// inputs): the network is not affine.
    #[test]
    fn with_tanh_one_hidden_layer_is_not_affine(seed in 0u64..100_000) {
        let mut rng = optim::rng(seed);
        let model = Config::regressor(3, &[8], 2)
            .activation(Activation::Tanh)
            .init_with(optim::Init::Normal(1.0))
            .init::<f64>(&mut rng)
            .unwrap();
        let x = random_matrix(3, 4, &mut rng, 3.0);
        let y = random_matrix(3, 4, &mut rng, 3.0);
        let mixed = model.predict(&(&x * 0.5 + &y * 0.5)).unwrap();
        let want = model.predict(&x).unwrap() * 0.5 + model.predict(&y).unwrap() * 0.5;
        prop_assert!((mixed - want).abs().max() > 1e-6);
    }

    /// Without dropout and batch norm, training and inference compute the same function.
    #[test]
    fn training_forward_equals_inference_without_dropout_or_batch_norm(
        seed in 0u64..100_000,
        depth in 0usize..4,
        act in 0usize..8,
    ) {
        let mut rng = optim::rng(seed);
        let hidden: Vec<usize> = (0..depth).map(|_| rng.random_range(1..8)).collect();
        let mut model = Config::classifier(4, &hidden, 3)
            .activation(Activation::all()[act])
            .init::<f64>(&mut rng)
            .unwrap();
        let x = random_matrix(4, 5, &mut rng, 2.0);
        let p = model.predict(&x).unwrap();
        let t = model.forward_train(&x, &mut rng).unwrap().clone();
        prop_assert!((p - t).abs().max() < 1e-12);
    }

    /// Batch norm in training mode: every feature of the output has batch mean β and batch
    /// variance γ² σ²/(σ² + ε), whatever the input's scale and shift.
    #[test]
    fn batch_norm_normalizes_each_feature(
        seed in 0u64..100_000,
        features in 1usize..6,
        batch in 2usize..20,
        shift in -100.0f64..100.0,
        scale in 0.01f64..100.0,
    ) {
        let mut rng = optim::rng(seed);
        let mut bn = BatchNorm::<f64>::new(features);
        bn.weight.value = random_matrix(features, 1, &mut rng, 2.0);
        bn.bias.value = random_matrix(features, 1, &mut rng, 2.0);
        let x = random_matrix(features, batch, &mut rng, 1.0).map(|v| v * scale + shift);
        let y = forward_train(&mut bn, &x);
        let n = batch as f64;
        for r in 0..features {
            let xr = x.row(r);
            let mu = xr.sum() / n;
            let var = xr.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n;
            let yr = y.row(r);
            let m = yr.sum() / n;
            let v = yr.iter().map(|u| (u - m).powi(2)).sum::<f64>() / n;
            let g = bn.weight.value[r];
            prop_assert!((m - bn.bias.value[r]).abs() < 1e-9 * (1.0 + m.abs()));
            let want = g * g * var / (var + 1e-5);
            prop_assert!((v - want).abs() < 1e-9 * (1.0 + want), "{v} vs {want}");
        }
    }
}

/// Running statistics follow PyTorch's momentum convention and converge to the population
/// mean and variance of the batches they see.
#[test]
fn running_statistics_converge_to_the_population() {
    let mut rng = optim::rng(0);
    let mut bn = BatchNorm::<f64>::new(2);
    let (mean, std) = ([3.0, -1.0], [2.0, 0.5]);
    for _ in 0..2000 {
        let x = Mat::from_fn(2, 64, |r, _| {
            let z: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
            mean[r] + std[r] * z
        });
        forward_train(&mut bn, &x);
    }
    for r in 0..2 {
        assert!(
            (bn.running_mean[r] - mean[r]).abs() < 0.1,
            "{}",
            bn.running_mean[r]
        );
        let var = std[r] * std[r];
        assert!(
            (bn.running_var[r] - var).abs() < 0.1 * var,
            "{}",
            bn.running_var[r]
        );
    }
    // one step from the initial (0, 1) with momentum 0.1
    let mut bn = BatchNorm::<f64>::new(1);
    let x = Mat::from_row_slice(1, 4, &[1.0, 2.0, 3.0, 6.0]);
    forward_train(&mut bn, &x);
    assert!((bn.running_mean[0] - 0.1 * 3.0).abs() < 1e-15);
    // unbiased variance of [1, 2, 3, 6] is 14/3
    assert!((bn.running_var[0] - (0.9 + 0.1 * 14.0 / 3.0)).abs() < 1e-15);
}

/// Configuration apart from initialization: the same seed gives the same network, bit for bit.
#[test]
fn init_is_seeded() {
    let config = Config::classifier(5, &[7, 3], 4).batch_norm(true);
    let weights = |seed| {
        let mut m = config.init::<f32>(&mut optim::rng(seed)).unwrap();
        let mut all = Vec::new();
        m.visit_params(&mut |_, p| all.extend(p.value.iter().copied()));
        all
    };
    assert_eq!(weights(3), weights(3));
    assert_ne!(weights(3), weights(4));
}

/// The shared loop skips zero_grad for this network (`overwrites_gradients`): its training step
/// must *assign* every gradient. Two steps on the same batch from stale gradients give exactly
/// the gradients of zero_grad + the accumulating `backward`, not their sum.
#[test]
fn training_step_overwrites_every_gradient() {
    use optim::data::{Dataset, select_columns};
    use optim::train::Trainable;
    let mut rng = optim::rng(7);
    let x = random_matrix(5, 12, &mut rng, 1.0);
    let labels: Vec<usize> = (0..12).map(|i| i % 3).collect();
    let data = Dataset::classification(x.clone(), labels.clone()).unwrap();
    let batch: Vec<usize> = vec![0, 3, 4, 7, 11];
    let mut net = Config::classifier(5, &[4, 6], 3)
        .init::<f64>(&mut rng)
        .unwrap();
    assert!(net.overwrites_gradients());
    let mut reference = net.clone();
    // stale gradients, then two training steps
    net.visit_params(&mut |_, p| p.grad.fill(3.5));
    for _ in 0..2 {
        net.train_batch(&data, &batch, &mut optim::rng(1)).unwrap();
    }
    // the reference: zero_grad, forward, loss, accumulating backward
    optim::zero_grad(&mut reference);
    let xb = select_columns(&x, &batch);
    let lb: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
    let out = reference
        .forward_train(&xb, &mut optim::rng(1))
        .unwrap()
        .clone();
    let (_, d) = optim::loss::softmax_cross_entropy(&out, &lb, 0.0).unwrap();
    reference.backward(&d).unwrap();
    let mut want = Vec::new();
    reference.visit_params(&mut |n, p| want.push((n.to_string(), p.grad.clone())));
    let mut i = 0;
    net.visit_params(&mut |n, p| {
        assert_eq!(n, want[i].0);
        let diff = (&p.grad - &want[i].1).abs().max();
        assert!(diff < 1e-12, "{n}: gradient differs by {diff}");
        i += 1;
    });
    assert_eq!(i, want.len());
    // with batch normalization the backward adds: the loop must zero first
    let bn = Config::classifier(5, &[4], 3).batch_norm(true);
    assert!(!bn.init::<f64>(&mut rng).unwrap().overwrites_gradients());
}
