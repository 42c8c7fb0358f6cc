//! Gradient checks (test kind 1): every hand-written backward pass in `optim` against centred
//! differences through the shared checker [`optim::gradcheck`], in `f64`, relative error below
//! `1e-6`, with proptest choosing shapes (batch 1 and width 1 included) and values.
//!
//! A layer is checked through a loss `L = Σ r ⊙ y` with a random weighting `r`: every output entry
//! then reaches the loss with its own weight, so a wrong index or a missing term in the backward
//! pass shows up, and `∂L/∂y = r` is known exactly.

use optim::gradcheck::combine;
use optim::{
    Activation, ActivationLayer, Dropout, Embedding, GradCheck, Linear, Mat, check_input,
    check_parameters, loss,
};
use proptest::prelude::*;

const TOLERANCE: f64 = 1e-6;

/// 48 cases per property by default (the suite stays fast); `PROPTEST_CASES=5000` runs more.
fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        default
    } else {
        ProptestConfig {
            cases: 48,
            ..default
        }
    }
}

/// A `rows x cols` matrix with entries drawn by proptest from `[lo, hi)`.
fn matrix(rows: usize, cols: usize, lo: f64, hi: f64) -> impl Strategy<Value = Mat<f64>> {
    prop::collection::vec(lo..hi, rows * cols).prop_map(move |v| Mat::from_vec(rows, cols, v))
}

/// Shapes from 1 to 5, so batch 1 and width 1 come up often.
fn dim() -> impl Strategy<Value = usize> {
    1usize..=5
}

/// Moves entries closer than `gap` to `at` out to `at ± gap`, keeping the side they were on.
fn away_from(m: Mat<f64>, at: f64, gap: f64) -> Mat<f64> {
    m.map(|v| {
        if (v - at).abs() >= gap {
            v
        } else if v >= at {
            at + gap
        } else {
            at - gap
        }
    })
}

fn weighted_sum(r: &Mat<f64>, y: &Mat<f64>) -> f64 {
    r.component_mul(y).sum()
}

/// The case for a `Linear` layer: shapes, weights, bias flag, input and output weighting.
fn linear_case() -> impl Strategy<Value = (Mat<f64>, Option<Mat<f64>>, Mat<f64>, Mat<f64>)> {
    (dim(), dim(), dim(), any::<bool>()).prop_flat_map(|(inputs, outputs, batch, bias)| {
        (
            matrix(outputs, inputs, -1.0, 1.0),
            matrix(outputs, 1, -1.0, 1.0).prop_map(move |b| bias.then_some(b)),
            matrix(inputs, batch, -2.0, 2.0),
            matrix(outputs, batch, -1.0, 1.0),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    /// `Linear` with and without bias: `∂L/∂W`, `∂L/∂b` and `∂L/∂X`.
    #[test]
    fn linear_parameters_and_input((w, b, x, r) in linear_case()) {
        let mut layer = Linear::from_weights(w, b);
        let params = check_parameters(
            &mut layer,
            GradCheck::default(),
            |l| weighted_sum(&r, &l.forward(&x).unwrap()),
            |l| {
                let y = l.forward(&x).unwrap();
                l.backward(&r).unwrap();
                weighted_sum(&r, &y)
            },
        );
        layer.forward(&x).unwrap();
        let dx = layer.backward(&r).unwrap();
        let input = check_input("input", &x, &dx, GradCheck::default(), |xp| {
            weighted_sum(&r, &layer.predict(xp).unwrap())
        });
        let report = combine(params, input);
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// A composition `Linear → tanh → Linear → soft-max cross-entropy`, checked end to end, so
    /// the pieces also agree when chained as a training step chains them.
    #[test]
    fn two_layer_network(
        (x, labels, seed) in (dim(), dim(), 2usize..=4).prop_flat_map(|(inputs, batch, classes)| (
            matrix(inputs, batch, -2.0, 2.0),
            prop::collection::vec(0..classes, batch),
            any::<u64>(),
        )),
    ) {
        let classes = labels.iter().max().unwrap() + 1;
        let mut rng = optim::rng(seed);
        struct Net {
            hidden: Linear<f64>,
            act: ActivationLayer<f64>,
            out: Linear<f64>,
        }
        impl optim::Parameters<f64> for Net {
            fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut optim::Param<f64>)) {
                optim::visit_child("hidden", &mut self.hidden, visit);
                optim::visit_child("out", &mut self.out, visit);
            }
        }
        let mut net = Net {
            hidden: Linear::new(x.nrows(), 3, &mut rng),
            act: ActivationLayer::new(Activation::Tanh),
            out: Linear::new(3, classes, &mut rng),
        };
        let forward = |n: &mut Net| {
            let h = n.hidden.forward(&x).unwrap();
            let a = n.act.forward(&h);
            n.out.forward(&a).unwrap()
        };
        let report = check_parameters(
            &mut net,
            GradCheck::default(),
            |n| loss::softmax_cross_entropy(&forward(n), &labels, 0.0).unwrap().0,
            |n| {
                let z = forward(n);
                let (l, dz) = loss::softmax_cross_entropy(&z, &labels, 0.0).unwrap();
                let da = n.out.backward(&dz).unwrap();
                let dh = n.act.backward(&da).unwrap();
                n.hidden.backward(&dh).unwrap();
                l
            },
        );
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// Every activation, `∂L/∂z = r ⊙ f'(z)`, and its second derivative as the derivative of
    /// `f'` (what the contractive penalty and a GAN's gradient penalty differentiate through:
    /// the gradient of `Σ r ⊙ f'(z)` is `r ⊙ f''(z)`). ReLU, leaky ReLU and ELU are checked
    /// away from their kink at 0 (`|z| ≥ 1e-3`, a hundred steps `h` away); the smooth ones
    /// everywhere in `[−6, 6)`, saturated tails included.
    #[test]
    fn activations(
        (z, r) in (dim(), dim()).prop_flat_map(|(n, batch)| (
            matrix(n, batch, -6.0, 6.0),
            matrix(n, batch, -1.0, 1.0),
        )),
    ) {
        let mut all = Activation::all().to_vec();
        all.extend([Activation::LeakyRelu(0.2), Activation::Elu(0.5)]);
        for activation in all {
            let kinked = matches!(
                activation,
                Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_)
            );
            let z = if kinked { away_from(z.clone(), 0.0, 1e-3) } else { z.clone() };
            let mut layer = ActivationLayer::new(activation);
            layer.forward(&z);
            let dz = layer.backward(&r).unwrap();
            let report = check_input(activation.name(), &z, &dz, GradCheck::default(), |zp| {
                weighted_sum(&r, &activation.apply(zp))
            });
            prop_assert!(report.max_error < TOLERANCE, "{activation:?}: {report}");
            let d2 = z.zip_map(&r, |v, r| r * activation.d2f(v, activation.f(v)));
            let report = check_input(activation.name(), &z, &d2, GradCheck::default(), |zp| {
                weighted_sum(&r, &zp.map(|v| activation.df(v, activation.f(v))))
            });
            prop_assert!(report.max_error < TOLERANCE, "{activation:?} f'': {report}");
        }
    }

    /// Mean squared error, `∂L/∂z = 2(z − t)/N`.
    #[test]
    fn mse(
        (z, t) in (dim(), dim()).prop_flat_map(|(n, batch)| (
            matrix(n, batch, -3.0, 3.0),
            matrix(n, batch, -3.0, 3.0),
        )),
    ) {
        let (_, dz) = loss::mse(&z, &t).unwrap();
        let report = check_input("prediction", &z, &dz, GradCheck::default(), |zp| {
            loss::mse(zp, &t).unwrap().0
        });
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// Binary cross-entropy on logits, targets anywhere in `[0, 1]`, `∂L/∂z = (σ(z) − t)/N`.
    #[test]
    fn bce_with_logits(
        (z, t) in (dim(), dim()).prop_flat_map(|(n, batch)| (
            matrix(n, batch, -8.0, 8.0),
            matrix(n, batch, 0.0, 1.0),
        )),
    ) {
        let (_, dz) = loss::bce_with_logits(&z, &t).unwrap();
        let report = check_input("logits", &z, &dz, GradCheck::default(), |zp| {
            loss::bce_with_logits(zp, &t).unwrap().0
        });
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// Soft-max cross-entropy with integer labels, with and without label smoothing,
    /// `∂L/∂z = (softmax(z) − q)/B`. One class (width 1) is allowed: the loss is then 0.
    #[test]
    fn softmax_cross_entropy(
        (z, labels, smoothing) in (dim(), dim()).prop_flat_map(|(classes, batch)| (
            matrix(classes, batch, -5.0, 5.0),
            prop::collection::vec(0..classes, batch),
            prop_oneof![Just(0.0), 0.0..0.9],
        )),
    ) {
        let (_, dz) = loss::softmax_cross_entropy(&z, &labels, smoothing).unwrap();
        let report = check_input("logits", &z, &dz, GradCheck::default(), |zp| {
            loss::softmax_cross_entropy(zp, &labels, smoothing).unwrap().0
        });
        prop_assert!(report.max_error < TOLERANCE, "smoothing {smoothing}: {report}");
    }

    /// Hinge loss for ±1 targets, away from the hinge point `t z = 1` (`|1 − t z| ≥ 1e-3`).
    #[test]
    fn hinge(
        (z, t) in (dim(), dim()).prop_flat_map(|(n, batch)| (
            matrix(n, batch, -3.0, 3.0),
            prop::collection::vec(any::<bool>(), n * batch)
                .prop_map(move |s| Mat::from_fn(n, batch, |i, j| {
                    if s[i + j * n] { 1.0 } else { -1.0 }
                })),
        )),
    ) {
        // t z = 1 exactly where z = t (t = ±1), so keep z at least 1e-3 away from ±1.
        let z = away_from(away_from(z, 1.0, 1e-3), -1.0, 1e-3);
        let (_, dz) = loss::hinge(&z, &t).unwrap();
        let report = check_input("scores", &z, &dz, GradCheck::default(), |zp| {
            loss::hinge(zp, &t).unwrap().0
        });
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// `Embedding` with few rows and up to 8 ids, so ids repeat: backward must scatter-*add*.
    #[test]
    fn embedding(
        (table, ids, r) in (1usize..=3, dim(), 1usize..=8).prop_flat_map(|(num, width, batch)| (
            matrix(num, width, -1.0, 1.0),
            prop::collection::vec(0..num, batch),
            matrix(width, batch, -1.0, 1.0),
        )),
    ) {
        let mut layer = Embedding::from_table(table);
        let report = check_parameters(
            &mut layer,
            GradCheck::default(),
            |e| weighted_sum(&r, &e.forward(&ids).unwrap()),
            |e| {
                let y = e.forward(&ids).unwrap();
                e.backward(&r).unwrap();
                weighted_sum(&r, &y)
            },
        );
        prop_assert!(report.max_error < TOLERANCE, "ids {ids:?}: {report}");
    }

    /// `Dropout` with a fixed mask (entries `0` or `1/(1 − p)`), `∂L/∂x = r ⊙ mask`.
    #[test]
    fn dropout_with_fixed_mask(
        (x, keep, r, p) in (dim(), dim()).prop_flat_map(|(n, batch)| (
            matrix(n, batch, -2.0, 2.0),
            prop::collection::vec(any::<bool>(), n * batch),
            matrix(n, batch, -1.0, 1.0),
            0.0..0.9f64,
        )),
    ) {
        let scale = 1.0 / (1.0 - p);
        let mask = Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
            if keep[i + j * x.nrows()] { scale } else { 0.0 }
        });
        let mut layer = Dropout::<f64>::new(p).unwrap();
        layer.forward_with_mask(&x, mask.clone()).unwrap();
        let dx = layer.backward(&r).unwrap();
        let report = check_input("input", &x, &dx, GradCheck::default(), |xp| {
            let mut d = Dropout::<f64>::new(p).unwrap();
            weighted_sum(&r, &d.forward_with_mask(xp, mask.clone()).unwrap())
        });
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }
}

/// Every id the same: all the gradient lands in one row, summed over the batch.
#[test]
fn embedding_with_one_id_repeated_accumulates_every_column() {
    let mut layer = Embedding::from_table(Mat::from_fn(3, 2, |i, j| (i + 2 * j) as f64 * 0.1));
    let ids = [1, 1, 1, 1];
    let r = Mat::from_fn(2, 4, |i, j| 1.0 + i as f64 + 10.0 * j as f64);
    let report = check_parameters(
        &mut layer,
        GradCheck::default(),
        |e| weighted_sum(&r, &e.forward(&ids).unwrap()),
        |e| {
            let y = e.forward(&ids).unwrap();
            e.backward(&r).unwrap();
            weighted_sum(&r, &y)
        },
    );
    report.assert_below(TOLERANCE);
    // Row 1 holds the row sums of r, rows 0 and 2 nothing.
    let g = &layer.weight.grad;
    assert_eq!(g.row(1).iter().copied().collect::<Vec<_>>(), [64.0, 68.0]);
    assert_eq!(g.row(0).sum() + g.row(2).sum(), 0.0);
}

/// The checker itself catches a wrong backward pass: a gradient off by 1% fails loudly.
#[test]
fn checker_rejects_a_wrong_gradient() {
    let x = Mat::from_fn(3, 2, |i, j| 0.3 * i as f64 - 0.7 * j as f64 + 0.1);
    let (_, dz) = loss::mse(&x, &Mat::zeros(3, 2)).unwrap();
    let report = check_input("prediction", &x, &(dz * 1.01), GradCheck::default(), |xp| {
        loss::mse(xp, &Mat::zeros(3, 2)).unwrap().0
    });
    assert!(report.max_error > 1e-3, "{report}");
}

/// The buffer-reusing paths compute exactly what the allocating ones do, whatever the buffers
/// held before (wrong size, NaN).
#[test]
fn linear_into_paths_match_allocating_paths() {
    let mut rng = optim::rng(3);
    for bias in [true, false] {
        let mut a: Linear<f64> = optim::LinearConfig::new(5, 3)
            .with_init(optim::Init::HeNormal)
            .with_bias(bias)
            .init(&mut rng);
        if let Some(b) = &mut a.bias {
            b.value = Mat::from_fn(3, 1, |i, _| i as f64 - 1.0);
        }
        let mut b = a.clone();
        let x = Mat::from_fn(5, 4, |i, j| (i as f64 - 2.0) * 0.3 + j as f64 * 0.1);
        let dy = Mat::from_fn(3, 4, |i, j| (i + 2 * j) as f64 * 0.05 - 0.2);
        let y = a.forward(&x).unwrap();
        let dx = a.backward(&dy).unwrap();
        let mut y2 = Mat::from_element(2, 7, f64::NAN);
        let mut dx2 = Mat::from_element(5, 4, f64::NAN);
        b.forward_into(&x, &mut y2).unwrap();
        b.backward_into(&dy, &mut dx2).unwrap();
        assert_eq!(y, y2);
        assert_eq!(dx, dx2);
        assert_eq!(a.weight.grad, b.weight.grad);
        assert_eq!(
            a.bias.map(|p| p.grad),
            b.bias.as_ref().map(|p| p.grad.clone())
        );
        assert!(b.backward_into(&Mat::zeros(2, 4), &mut dx2).is_err());
    }
}

/// The case for a batch norm: groups, values per group, batch (≥ 2 values per group), input,
/// output weighting, and `γ`, `β`.
fn batch_norm_case() -> impl Strategy<Value = (usize, usize, Mat<f64>, Mat<f64>, Mat<f64>, Mat<f64>)>
{
    (1usize..=3, 1usize..=4, 2usize..=5).prop_flat_map(|(channels, area, batch)| {
        (
            Just(channels),
            Just(area),
            // a spread of 0.7 per example keeps every group's variance well above ε: with
            // σ² ≈ 0 the map is (correctly) so steep that a centred difference cannot follow it
            matrix(channels * area, batch, -1.0, 1.0).prop_map(|x| {
                Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] + 0.7 * j as f64)
            }),
            matrix(channels * area, batch, -1.0, 1.0),
            matrix(channels, 1, 0.5, 1.5),
            matrix(channels, 1, -0.5, 0.5),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    /// `BatchNorm` in training mode, per feature (`A = 1`) and per channel (`A > 1`): `∂L/∂γ`,
    /// `∂L/∂β` and `∂L/∂x` through the batch statistics.
    #[test]
    fn batch_norm_training_mode((c, a, x, r, gamma, beta) in batch_norm_case()) {
        let mut bn = optim::BatchNorm::<f64>::images(c, a);
        bn.weight.value = gamma;
        bn.bias.value = beta;
        let train = |bn: &mut optim::BatchNorm<f64>, x: &Mat<f64>| {
            let mut y = Mat::zeros(0, 0);
            bn.forward_train_into(x, &mut y).unwrap();
            y
        };
        let params = check_parameters(
            &mut bn,
            GradCheck::default(),
            |l| weighted_sum(&r, &train(&mut l.clone(), &x)),
            |l| {
                let y = train(l, &x);
                l.backward_into(&r, None).unwrap();
                weighted_sum(&r, &y)
            },
        );
        train(&mut bn, &x);
        let mut dx = Mat::zeros(0, 0);
        bn.backward_into(&r, Some(&mut dx)).unwrap();
        let input = check_input("input", &x, &dx, GradCheck::default(), |xp| {
            weighted_sum(&r, &train(&mut bn.clone(), xp))
        });
        let report = combine(params, input);
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }

    /// `BatchNorm` in evaluation mode: a fixed affine map per group, `∂L/∂x = γ g/√(var + ε)`.
    #[test]
    fn batch_norm_evaluation_mode((c, a, x, r, gamma, beta) in batch_norm_case()) {
        let mut bn = optim::BatchNorm::<f64>::images(c, a);
        bn.weight.value = gamma;
        bn.bias.value = beta;
        bn.running_mean = Mat::from_fn(c, 1, |i, _| 0.3 * i as f64 - 0.2);
        bn.running_var = Mat::from_fn(c, 1, |i, _| 0.5 + i as f64);
        let mut y = Mat::zeros(0, 0);
        bn.forward_eval_into(&x, &mut y).unwrap();
        // the same map, computed as γ(x − μ)s + β and as a·x + b: equal to rounding
        prop_assert!((&y - bn.predict(&x).unwrap()).amax() < 1e-12);
        let mut dx = Mat::zeros(0, 0);
        bn.backward_into(&r, Some(&mut dx)).unwrap();
        let input = check_input("input", &x, &dx, GradCheck::default(), |xp| {
            weighted_sum(&r, &bn.predict(xp).unwrap())
        });
        prop_assert!(input.max_error < TOLERANCE, "{input}");
    }

    /// The tied (transposed) affine map `y = Wᵀ x + b`: `∂L/∂W = x dyᵀ`, `∂L/∂x = W dy`.
    #[test]
    fn affine_transposed((w, b, x, r) in (dim(), dim(), dim()).prop_flat_map(|(i, o, n)| (
        matrix(i, o, -1.0, 1.0),
        matrix(o, 1, -1.0, 1.0),
        matrix(i, n, -2.0, 2.0),
        matrix(o, n, -1.0, 1.0),
    ))) {
        struct Tied { w: optim::Param<f64>, b: optim::Param<f64> }
        impl optim::Parameters<f64> for Tied {
            fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut optim::Param<f64>)) {
                visit("w", &mut self.w);
                visit("b", &mut self.b);
            }
        }
        let forward = |t: &Tied, x: &Mat<f64>| {
            let mut y = Mat::zeros(0, 0);
            optim::affine_forward(&t.w.value, true, Some(&t.b.value), x, &mut y);
            y
        };
        let mut tied = Tied { w: optim::Param::new(w), b: optim::Param::vector(b) };
        let params = check_parameters(
            &mut tied,
            GradCheck::default(),
            |t| weighted_sum(&r, &forward(t, &x)),
            |t| {
                let y = forward(t, &x);
                optim::affine_backward(&mut t.w, true, Some(&mut t.b), &x, &r, None);
                weighted_sum(&r, &y)
            },
        );
        let mut dx = Mat::zeros(0, 0);
        let mut w = tied.w.clone();
        optim::affine_backward(&mut w, true, None, &x, &r, Some(&mut dx));
        let input = check_input("input", &x, &dx, GradCheck::default(), |xp| {
            weighted_sum(&r, &forward(&tied, xp))
        });
        let report = combine(params, input);
        prop_assert!(report.max_error < TOLERANCE, "{report}");
    }
}

/// `Linear::backward_with_input` (the arena form) equals the cached backward exactly.
#[test]
fn linear_backward_with_input_matches_cached_backward() {
    let mut rng = optim::rng(5);
    let mut cached = Linear::<f64>::new(4, 3, &mut rng);
    let mut arena = cached.clone();
    let x = Mat::from_fn(4, 6, |i, j| (i as f64 - 1.5) * 0.4 + j as f64 * 0.1);
    let dy = Mat::from_fn(3, 6, |i, j| (i + j) as f64 * 0.1 - 0.3);
    cached.forward(&x).unwrap();
    let dx = cached.backward(&dy).unwrap();
    let mut y = Mat::zeros(0, 0);
    arena.predict_into(&x, &mut y).unwrap();
    let mut dx2 = Mat::from_element(1, 1, f64::NAN);
    arena.backward_with_input(&x, &dy, Some(&mut dx2)).unwrap();
    assert_eq!(dx, dx2);
    assert_eq!(cached.weight.grad, arena.weight.grad);
    assert_eq!(
        cached.bias.as_ref().unwrap().grad,
        arena.bias.as_ref().unwrap().grad
    );
    // a wrong-sized gradient is an error, not a panic
    assert!(
        arena
            .backward_with_input(&x, &Mat::zeros(3, 5), None)
            .is_err()
    );
}

/// Dropout's buffer, in-place and allocating forms draw the same mask from the same seed and
/// give the same values; the backward multiplies by that mask.
#[test]
fn dropout_forms_agree() {
    let x = Mat::from_fn(7, 9, |i, j| i as f64 - j as f64 * 0.5);
    let mut a = Dropout::<f64>::new(0.4).unwrap();
    let mut b = a.clone();
    let mut c = a.clone();
    let ya = a.forward(&x, &mut optim::rng(11));
    let mut yb = Mat::zeros(0, 0);
    b.forward_into(&x, &mut yb, &mut optim::rng(11));
    let mut yc = x.clone();
    c.forward_in_place(&mut yc, &mut optim::rng(11));
    assert_eq!(ya, yb);
    assert_eq!(ya, yc);
    let kept = a.mask().iter().filter(|&&m| m > 0.0).count();
    assert!(
        kept > 0 && kept < x.len(),
        "mask keeps {kept} of {}",
        x.len()
    );
    assert!(
        a.mask()
            .iter()
            .all(|&m| m == 0.0 || (m - 1.0 / 0.6).abs() < 1e-15)
    );
    let dy = Mat::from_element(7, 9, 1.0);
    let mut d = dy.clone();
    a.backward_in_place(&mut d).unwrap();
    assert_eq!(&d, a.mask());
    assert!(a.backward(&Mat::zeros(2, 2)).is_err());
}
