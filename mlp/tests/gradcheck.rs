//! Kind 1: gradient checks of whole networks in f64 through optim's checker — depth 1 to 4,
//! random widths, every activation, batch norm in training mode, dropout with a fixed mask,
//! both losses; parameters and the input.

use mlp::{Config, Loss, Mlp};
use optim::gradcheck::{GradCheck, check_input, check_parameters, combine};
use optim::{Activation, Mat, loss};
use proptest::prelude::*;
use rand::Rng;

struct Case {
    model: Mlp<f64>,
    x: Mat<f64>,
    labels: Vec<usize>,
    targets: Mat<f64>,
    masks: Vec<Mat<f64>>,
}

fn loss_of(model: &mut Mlp<f64>, c: &CaseData, backward: bool) -> f64 {
    let out = model
        .forward_train_with_masks(&c.x, &c.masks)
        .unwrap()
        .clone();
    let (l, d) = match model.config().loss {
        Loss::CrossEntropy { label_smoothing } => {
            loss::softmax_cross_entropy(&out, &c.labels, label_smoothing).unwrap()
        }
        Loss::Mse => loss::mse(&out, &c.targets).unwrap(),
    };
    if backward {
        model.backward(&d).unwrap();
    }
    l
}

struct CaseData {
    x: Mat<f64>,
    labels: Vec<usize>,
    targets: Mat<f64>,
    masks: Vec<Mat<f64>>,
}

fn build(
    seed: u64,
    depth: usize,
    activation: Activation,
    batch_norm: bool,
    dropout: bool,
    classification: bool,
) -> Case {
    let mut rng = optim::rng(seed);
    let inputs = rng.random_range(1..5);
    let outputs = rng.random_range(2..5);
    let hidden: Vec<usize> = (0..depth - 1).map(|_| rng.random_range(1..6)).collect();
    let batch = rng.random_range(3..7);
    let config = if classification {
        Config::classifier(inputs, &hidden, outputs).loss(Loss::CrossEntropy {
            label_smoothing: 0.1,
        })
    } else {
        Config::regressor(inputs, &hidden, outputs)
    }
    .activation(activation)
    .batch_norm(batch_norm)
    .dropout(if dropout { 0.3 } else { 0.0 });
    let mut model = config.init::<f64>(&mut rng).unwrap();
    // non-trivial batch-norm parameters, so γ and β enter the check away from 1 and 0
    let mut k = 0;
    while let Some(bn) = model.batch_norm_mut(k) {
        bn.weight.value.apply(|v| *v = 0.5 + rng.random::<f64>());
        bn.bias.value.apply(|v| *v = rng.random::<f64>() - 0.5);
        k += 1;
    }
    let x = Mat::from_fn(inputs, batch, |_, _| rng.random_range(-2.0..2.0));
    let labels = (0..batch).map(|_| rng.random_range(0..outputs)).collect();
    let targets = Mat::from_fn(outputs, batch, |_, _| rng.random_range(-1.0..1.0));
    let scale = 1.0 / 0.7;
    let masks = hidden
        .iter()
        .filter(|_| dropout)
        .map(|&h| {
            Mat::from_fn(h, batch, |_, _| {
                if rng.random::<f64>() < 0.7 {
                    scale
                } else {
                    0.0
                }
            })
        })
        .collect();
    Case {
        model,
        x,
        labels,
        targets,
        masks,
    }
}

fn check(case: Case) -> optim::GradCheckReport {
    check_with(case, GradCheck::default())
}

fn check_with(case: Case, opts: GradCheck) -> optim::GradCheckReport {
    let Case {
        mut model,
        x,
        labels,
        targets,
        masks,
    } = case;
    let data = CaseData {
        x,
        labels,
        targets,
        masks,
    };
    let params = check_parameters(
        &mut model,
        opts,
        |m| loss_of(m, &data, false),
        |m| loss_of(m, &data, true),
    );
    // input gradient
    let out = model
        .forward_train_with_masks(&data.x, &data.masks)
        .unwrap()
        .clone();
    let d = match model.config().loss {
        Loss::CrossEntropy { label_smoothing } => {
            loss::softmax_cross_entropy(&out, &data.labels, label_smoothing)
                .unwrap()
                .1
        }
        Loss::Mse => loss::mse(&out, &data.targets).unwrap().1,
    };
    let dx = model.backward_to_input(&d).unwrap().clone();
    let input = check_input("input", &data.x, &dx, opts, |xp| {
        let d2 = CaseData {
            x: xp.clone(),
            labels: data.labels.clone(),
            targets: data.targets.clone(),
            masks: data.masks.clone(),
        };
        loss_of(&mut model, &d2, false)
    });
    combine(params, input)
}

fn activation_strategy() -> impl Strategy<Value = Activation> {
    (0..Activation::all().len()).prop_map(|i| Activation::all()[i])
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(256))]

    #[test]
    fn whole_network_gradients_match_centred_differences(
        seed in 0u64..1_000_000,
        depth in 1usize..=4,
        activation in activation_strategy(),
        batch_norm in any::<bool>(),
        dropout in any::<bool>(),
        classification in any::<bool>(),
    ) {
        let case = || build(seed, depth, activation, batch_norm, dropout, classification);
        let mut report = check(case());
        let kinked = matches!(activation, Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_));
        if kinked && report.max_error >= 1e-5 {
            // A centred difference whose ±h straddles the kink of a pre-activation is not a
            // derivative; a step ten times smaller rarely straddles the same kink, while a wrong
            // backward pass fails at every step.
            let finer = check_with(case(), GradCheck { step: 1e-6, ..GradCheck::default() });
            if finer.max_error < report.max_error {
                report = finer;
            }
        }
        prop_assert!(report.checked > 0 && report.max_error < 1e-5, "{report}");
    }
}

#[test]
fn every_activation_with_batch_norm_and_dropout_at_depth_four() {
    for (i, a) in Activation::all().into_iter().enumerate() {
        for classification in [true, false] {
            let report = check(build(100 + i as u64, 4, a, true, true, classification));
            report.assert_below(1e-5);
        }
    }
}

/// The training step (zero_grad, then `Trainable::train_batch`) leaves the gradients of
/// zero_grad + backward, whatever was in them before.
#[test]
fn training_step_ignores_stale_gradients() {
    use optim::Parameters;
    let config = Config::classifier(3, &[5, 4], 3).batch_norm(true);
    let mut a = config.init::<f64>(&mut optim::rng(1)).unwrap();
    let mut b = a.clone();
    let x = Mat::from_fn(3, 6, |i, j| ((i * 7 + j * 3) % 5) as f64 - 2.0);
    let labels = vec![0, 1, 2, 2, 1, 0];
    let out = a.forward_train(&x, &mut optim::rng(0)).unwrap().clone();
    let (_, d) = loss::softmax_cross_entropy(&out, &labels, 0.0).unwrap();
    optim::zero_grad(&mut a);
    a.backward(&d).unwrap();
    b.visit_params(&mut |_, p| p.grad.fill(7.0));
    let batch = optim::data::Dataset::classification(x, labels).unwrap();
    let mut sgd = optim::Sgd::new(1e-3).unwrap();
    let all: Vec<usize> = (0..6).collect();
    b.train_step(&mut sgd, &batch, &all, &mut optim::rng(0))
        .unwrap();
    let mut grads = Vec::new();
    a.visit_params(&mut |n, p| grads.push((n.to_string(), p.grad.clone())));
    let mut i = 0;
    b.visit_params(&mut |n, p| {
        assert_eq!(grads[i].0, n);
        assert!((&grads[i].1 - &p.grad).abs().max() < 1e-12, "{n}");
        i += 1;
    });
    assert_eq!(i, 8);
}
