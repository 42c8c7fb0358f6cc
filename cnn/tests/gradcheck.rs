//! Kind 1: gradient checks in f64 of every layer over random shapes, strides, paddings and
//! dilations (proptest), and of whole small networks.

mod common;

use cnn::{
    AvgPool2d, BatchNorm2d, Cnn, Conv2d, Conv2dConfig, Dense, Dropout, GlobalAvgPool, ImageShape,
    Layer, MaxPool2d, Mode, Nonlinearity, ResidualBlock, conv2d_direct,
};
use common::{check_layer, random};
use optim::gradcheck::{GradCheck, check_input, check_parameters};
use optim::{Activation, Mat, loss};
use proptest::prelude::*;

const TOL: f64 = 1e-6;

/// A convolution configuration and an input shape that fits it.
fn conv_case() -> impl Strategy<Value = (Conv2dConfig, ImageShape, usize)> {
    (
        (1usize..4, 1usize..4, 1usize..4, 1usize..4),
        (
            1usize..4,
            1usize..4,
            0usize..3,
            0usize..3,
            1usize..3,
            1usize..3,
        ),
        (0usize..5, 0usize..5, 1usize..4, any::<bool>()),
    )
        .prop_map(
            |((cin, cout, kh, kw), (sh, sw, ph, pw, dh, dw), (eh, ew, batch, bias))| {
                let config = Conv2dConfig {
                    in_channels: cin,
                    out_channels: cout,
                    kernel: (kh, kw),
                    stride: (sh, sw),
                    padding: (ph, pw),
                    dilation: (dh, dw),
                    bias,
                };
                let span_h = dh * (kh - 1) + 1;
                let span_w = dw * (kw - 1) + 1;
                let h = span_h.saturating_sub(2 * ph).max(1) + eh;
                let w = span_w.saturating_sub(2 * pw).max(1) + ew;
                (config, ImageShape::new(cin, h, w), batch)
            },
        )
}

/// A pooling configuration `(kernel, stride, padding)` and an input shape that fits it.
fn pool_case() -> impl Strategy<
    Value = (
        (usize, usize),
        (usize, usize),
        (usize, usize),
        ImageShape,
        usize,
    ),
> {
    (
        1usize..4,
        1usize..4,
        1usize..4,
        1usize..4,
        0usize..2,
        0usize..2,
        1usize..3,
        0usize..4,
        0usize..4,
        1usize..3,
    )
        .prop_map(|(kh, kw, sh, sw, ph, pw, c, eh, ew, batch)| {
            let (ph, pw) = (ph.min(kh / 2), pw.min(kw / 2));
            let h = kh.saturating_sub(2 * ph).max(1) + eh;
            let w = kw.saturating_sub(2 * pw).max(1) + ew;
            (
                (kh, kw),
                (sh, sw),
                (ph, pw),
                ImageShape::new(c, h, w),
                batch,
            )
        })
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(48))]

    #[test]
    fn conv2d_gradients((config, shape, batch) in conv_case(), seed in 0u64..1000) {
        let mut rng = optim::rng(seed);
        let mut conv = Conv2d::<f64>::new(config, shape, &mut rng).unwrap();
        let x = random(shape.len(), batch, seed);
        check_layer(&mut conv, &x, Mode::Train, seed).assert_below(TOL);
    }

    #[test]
    fn im2col_convolution_equals_the_direct_definition((config, shape, batch) in conv_case(), seed in 0u64..1000) {
        let mut rng = optim::rng(seed);
        let mut conv = Conv2d::<f64>::new(config, shape, &mut rng).unwrap();
        let x = random(shape.len(), batch, seed);
        let want = conv2d_direct(&config, shape, &x, &conv.weight.value, conv.bias.as_ref().map(|b| &b.value)).unwrap();
        let got = conv.forward(&x, Mode::Train).unwrap().clone();
        prop_assert_eq!(got.shape(), want.shape());
        prop_assert!((&got - &want).abs().max() < 1e-12);
        let predicted = conv.predict(&x).unwrap();
        prop_assert!((&predicted - &want).abs().max() < 1e-12);
    }

    #[test]
    fn max_pool_gradients((kernel, stride, padding, shape, batch) in pool_case(), seed in 0u64..1000) {
        let mut pool = MaxPool2d::<f64>::new(shape, kernel, stride, padding).unwrap();
        let x = random(shape.len(), batch, seed);
        check_layer(&mut pool, &x, Mode::Train, seed).assert_below(TOL);
    }

    #[test]
    fn avg_pool_gradients((kernel, stride, padding, shape, batch) in pool_case(), include in any::<bool>(), seed in 0u64..1000) {
        let mut pool = AvgPool2d::<f64>::new(shape, kernel, stride, padding).unwrap().count_include_pad(include);
        let x = random(shape.len(), batch, seed);
        check_layer(&mut pool, &x, Mode::Train, seed).assert_below(TOL);
    }

    #[test]
    fn batch_norm_gradients_in_both_modes(c in 1usize..4, h in 1usize..4, w in 1usize..4, batch in 2usize..4, seed in 0u64..1000) {
        let shape = ImageShape::new(c, h, w);
        let mut bn = BatchNorm2d::<f64>::new(shape).unwrap();
        bn.norm.weight.value = random(c, 1, seed + 1).add_scalar(1.5);
        bn.norm.bias.value = random(c, 1, seed + 2);
        let x = random(shape.len(), batch, seed);
        check_layer(&mut bn, &x, Mode::Train, seed).assert_below(TOL);
        bn.norm.running_mean = random(c, 1, seed + 3);
        bn.norm.running_var = random(c, 1, seed + 4).add_scalar(1.5);
        check_layer(&mut bn, &x, Mode::Eval, seed).assert_below(TOL);
    }

    #[test]
    fn dense_activation_global_pool_and_dropout_gradients(c in 1usize..4, h in 1usize..5, w in 1usize..5, out in 1usize..5, batch in 1usize..4, seed in 0u64..1000) {
        let shape = ImageShape::new(c, h, w);
        let x = random(shape.len(), batch, seed);
        let mut rng = optim::rng(seed);
        let mut dense = Dense::<f64>::new(shape, out, &mut rng).unwrap();
        check_layer(&mut dense, &x, Mode::Train, seed).assert_below(TOL);
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Gelu] {
            let mut layer = Nonlinearity::<f64>::new(act, shape);
            check_layer(&mut layer, &x, Mode::Train, seed).assert_below(TOL);
        }
        let mut gap = GlobalAvgPool::<f64>::new(shape).unwrap();
        check_layer(&mut gap, &x, Mode::Train, seed).assert_below(TOL);
        // Dropout: the same mask for every evaluation (re-seeded before each forward).
        let mut drop = Dropout::<f64>::new(0.4, shape, seed).unwrap();
        let y = drop.forward(&x, Mode::Train).unwrap().clone();
        let r = random(y.nrows(), y.ncols(), seed + 9);
        drop.reseed(seed);
        drop.forward(&x, Mode::Train).unwrap();
        let dx = drop.backward(&r, true).unwrap().clone();
        check_input("dropout input", &x, &dx, GradCheck::default(), |xp| {
            drop.reseed(seed);
            common::dot(drop.forward(xp, Mode::Train).unwrap(), &r)
        }).assert_below(TOL);
    }

    #[test]
    fn residual_block_gradients(c in 1usize..3, out in 1usize..4, hw in 2usize..5, stride in 1usize..3, seed in 0u64..1000) {
        let shape = ImageShape::new(c, hw, hw + 1);
        let mut rng = optim::rng(seed);
        let mut block = ResidualBlock::<f64>::new(shape, out, stride, &mut rng).unwrap();
        let x = random(shape.len(), 3, seed);
        // Skip draws that put a ReLU input within reach of the finite-difference step of its
        // kink, where no derivative exists to compare with.
        let a = block.conv1.forward(&x, Mode::Train).unwrap().clone();
        let z1 = block.bn1.forward(&a, Mode::Train).unwrap().clone();
        let h = z1.map(|v| v.max(0.0));
        let b = block.conv2.forward(&h, Mode::Train).unwrap().clone();
        let mut z2 = block.bn2.forward(&b, Mode::Train).unwrap().clone();
        match &mut block.downsample {
            Some((conv, bn)) => z2 += bn.forward(conv.forward(&x, Mode::Train).unwrap(), Mode::Train).unwrap(),
            None => z2 += &x,
        }
        let margin = z1.iter().chain(z2.iter()).fold(f64::INFINITY, |m, v| m.min(v.abs()));
        prop_assume!(margin > 1e-3);
        // Batch norm over as few as 6 values per channel has large third derivatives, so the
        // centred difference's truncation error (h² f‴ / 6) can exceed the tolerance at
        // h = 1e-5 on a small gradient entry; such a case is checked again at h = 1e-6, where
        // that error is 100 times smaller (a wrong gradient would not improve).
        for mode in [Mode::Train, Mode::Eval] {
            let report = check_layer(&mut block, &x, mode, seed);
            if report.max_error >= TOL {
                let finer = GradCheck { step: 1e-6, ..GradCheck::default() };
                let again = common::check_layer_with(&mut block, &x, mode, seed, finer);
                eprintln!("residual {mode:?}: {:e} at h = 1e-5, {:e} at h = 1e-6", report.max_error, again.max_error);
                again.assert_below(TOL);
            }
        }
    }
}

/// Cross-entropy gradient check of a whole network: every parameter and the input.
fn check_network(net: &mut Cnn<f64>, x: &Mat<f64>, labels: &[usize], mode: Mode) {
    let opts = GradCheck::default();
    let ce = |net: &mut Cnn<f64>, x: &Mat<f64>| {
        net.reseed(7);
        let logits = net.forward(x, mode).unwrap();
        loss::softmax_cross_entropy(logits, labels, 0.0).unwrap()
    };
    let report = check_parameters(
        net,
        opts,
        |n| ce(n, x).0,
        |n| {
            let (l, d) = ce(n, x);
            n.backward(&d).unwrap();
            l
        },
    );
    report.assert_below(TOL);
    let (_, d) = ce(net, x);
    let dx = net.backward_input(&d).unwrap();
    check_input("image", x, &dx, opts, |xp| ce(net, xp).0).assert_below(TOL);
}

#[test]
fn whole_networks_pass_the_gradient_check() {
    let mut rng = optim::rng(3);
    // Every layer kind in one network, with strides, padding and dilation.
    let shape = ImageShape::new(2, 9, 8);
    let dilated = Conv2dConfig::new(3, 4, 3).dilation(2).padding(1);
    let mut net = Cnn::<f64>::builder(shape)
        .conv(3, 3, 1, 1, &mut rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .activation(Activation::Tanh)
        .conv_with(dilated, &mut rng)
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .residual(5, 2, &mut rng)
        .unwrap()
        .avg_pool(2, 1)
        .unwrap()
        .dropout(0.3)
        .unwrap()
        .global_avg_pool()
        .unwrap()
        .dense(6, &mut rng)
        .unwrap()
        .relu()
        .dense(3, &mut rng)
        .unwrap()
        .build();
    let x = random(shape.len(), 4, 11);
    let labels = [0, 2, 1, 2];
    check_network(&mut net, &x, &labels, Mode::Train);
    check_network(&mut net, &x, &labels, Mode::Eval);

    // A LeNet-shaped network on small images.
    let mut lenet = Cnn::<f64>::builder(ImageShape::new(1, 12, 12))
        .conv(3, 5, 1, 2, &mut rng)
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .conv(4, 3, 1, 0, &mut rng)
        .unwrap()
        .relu()
        .avg_pool(2, 2)
        .unwrap()
        .flatten()
        .dense(8, &mut rng)
        .unwrap()
        .relu()
        .dense(4, &mut rng)
        .unwrap()
        .build();
    let x = random(144, 3, 5);
    check_network(&mut lenet, &x, &[3, 0, 1], Mode::Train);
}

#[test]
fn first_layer_skips_the_input_gradient_but_not_the_weights() {
    let mut rng = optim::rng(0);
    let shape = ImageShape::new(1, 6, 6);
    let mut net = Cnn::<f64>::builder(shape)
        .conv(2, 3, 1, 0, &mut rng)
        .unwrap()
        .flatten()
        .dense(2, &mut rng)
        .unwrap()
        .build();
    let x = random(36, 2, 1);
    let logits = net.forward(&x, Mode::Train).unwrap().clone();
    let (_, d) = loss::softmax_cross_entropy(&logits, &[0, 1], 0.0).unwrap();
    optim::zero_grad(&mut net);
    net.backward(&d).unwrap();
    let conv = net.conv_layers()[0].1.weight.grad.clone();
    optim::zero_grad(&mut net);
    net.backward_input(&d).unwrap();
    assert_eq!(conv, net.conv_layers()[0].1.weight.grad);
    assert!(conv.iter().any(|v| *v != 0.0));
}

#[test]
fn im2col_equals_the_direct_definition_on_a_grid_of_common_configurations() {
    // "same" padding (the shifted-block path of im2col), valid, strided, dilated, rectangular
    let mut checked = 0;
    for (k, pad, stride, dil) in [
        ((3, 3), (1, 1), (1, 1), (1, 1)),
        ((5, 5), (2, 2), (1, 1), (1, 1)),
        ((3, 3), (2, 2), (1, 1), (2, 2)),
        ((3, 5), (1, 2), (1, 1), (1, 1)),
        ((1, 1), (0, 0), (1, 1), (1, 1)),
        ((5, 5), (0, 0), (1, 1), (1, 1)),
        ((3, 3), (1, 1), (2, 2), (1, 1)),
        ((4, 2), (2, 1), (3, 2), (1, 2)),
    ] {
        for (h, w) in [(8, 8), (7, 9), (5, 12)] {
            let shape = ImageShape::new(2, h, w);
            let config = Conv2dConfig {
                in_channels: 2,
                out_channels: 3,
                kernel: k,
                stride,
                padding: pad,
                dilation: dil,
                bias: true,
            };
            let Ok(mut conv) = Conv2d::<f64>::new(config, shape, &mut optim::rng(checked)) else {
                continue;
            };
            let x = random(shape.len(), 3, checked);
            let want = conv2d_direct(
                &config,
                shape,
                &x,
                &conv.weight.value,
                conv.bias.as_ref().map(|b| &b.value),
            )
            .unwrap();
            let got = conv.forward(&x, Mode::Train).unwrap();
            assert!((got - &want).abs().max() < 1e-12, "{config:?} on {shape}");
            checked += 1;
        }
    }
    assert!(checked >= 20);
}
