//! Gradient checks (f64, centred differences through `optim::gradcheck`) of the RBF network's
//! hand-written backward pass: every basis, with and without bias, for parameters and inputs,
//! under an MSE loss and a soft-max cross-entropy loss; proptest picks shapes and values.

use classic::rbf::{Basis, Rbf};
use optim::{GradCheck, Mat, check_input, check_parameters, loss};
use proptest::prelude::*;

fn model(basis: Basis, d: usize, m: usize, out: usize, bias: bool, seed: u64) -> Rbf<f64> {
    use rand::Rng;
    let mut rng = optim::rng(seed);
    let centres = Mat::from_fn(d, m, |_, _| rng.random_range(-1.0..1.0));
    let widths: Vec<f64> = (0..m).map(|_| rng.random_range(0.5..1.5)).collect();
    let mut model = Rbf::new(basis, centres, &widths, out, bias).unwrap();
    model.weight.value = Mat::from_fn(out, m, |_, _| rng.random_range(-1.0..1.0));
    if let Some(b) = &mut model.bias {
        b.value = Mat::from_fn(out, 1, |_, _| rng.random_range(-1.0..1.0));
    }
    model
}

fn inputs(d: usize, n: usize, seed: u64) -> Mat<f64> {
    use rand::Rng;
    let mut rng = optim::rng(seed ^ 0xABCD);
    Mat::from_fn(d, n, |_, _| rng.random_range(-1.5..1.5))
}

fn basis_of(i: usize) -> Basis {
    [
        Basis::Gaussian,
        Basis::Multiquadric,
        Basis::InverseMultiquadric,
    ][i]
}

/// `cases` cases, unless `PROPTEST_CASES` asks for another number (for a longer search).
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        default
    } else {
        ProptestConfig { cases, ..default }
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn rbf_mse_gradients(
        b in 0usize..3, d in 1usize..4, m in 1usize..6, out in 1usize..3, n in 1usize..6,
        bias in any::<bool>(), seed in 0u64..1000,
    ) {
        let basis = basis_of(b);
        let mut net = model(basis, d, m, out, bias, seed);
        let x = inputs(d, n, seed);
        let t = inputs(out, n, seed + 1);
        let report = check_parameters(
            &mut net,
            GradCheck::default(),
            |net| loss::mse(&net.predict(&x).unwrap(), &t).unwrap().0,
            |net| {
                let y = net.forward(&x).unwrap();
                let (l, dy) = loss::mse(&y, &t).unwrap();
                net.backward(&dy).unwrap();
                l
            },
        );
        prop_assert!(report.max_error < 1e-6, "{basis:?}: {report}");

        // with respect to the input
        let y = net.forward(&x).unwrap();
        let (_, dy) = loss::mse(&y, &t).unwrap();
        let dx = net.backward(&dy).unwrap();
        let report = check_input("x", &x, &dx, GradCheck::default(), |xp| {
            loss::mse(&net.predict(xp).unwrap(), &t).unwrap().0
        });
        prop_assert!(report.max_error < 1e-6, "{basis:?} input: {report}");
    }

    #[test]
    fn rbf_cross_entropy_gradients(
        b in 0usize..3, d in 1usize..4, m in 1usize..6, classes in 2usize..4, n in 1usize..6,
        seed in 0u64..1000,
    ) {
        let basis = basis_of(b);
        let mut net = model(basis, d, m, classes, true, seed);
        let x = inputs(d, n, seed);
        let labels: Vec<usize> = (0..n).map(|j| (j * 7 + seed as usize) % classes).collect();
        let report = check_parameters(
            &mut net,
            GradCheck::default(),
            |net| loss::softmax_cross_entropy(&net.predict(&x).unwrap(), &labels, 0.0).unwrap().0,
            |net| {
                let y = net.forward(&x).unwrap();
                let (l, dy) = loss::softmax_cross_entropy(&y, &labels, 0.0).unwrap();
                net.backward(&dy).unwrap();
                l
            },
        );
        prop_assert!(report.max_error < 1e-6, "{basis:?}: {report}");
    }
}

#[test]
fn frozen_centres_and_widths_get_no_gradient() {
    let mut net = model(Basis::Gaussian, 2, 3, 1, true, 5);
    net.train_centres = false;
    net.train_widths = false;
    let x = inputs(2, 4, 5);
    let y = net.forward(&x).unwrap();
    optim::zero_grad(&mut net);
    net.backward(&Mat::from_element(1, 4, 1.0)).unwrap();
    assert_eq!(net.centres.grad.abs().max(), 0.0);
    assert_eq!(net.log_widths.grad.abs().max(), 0.0);
    assert!(net.weight.grad.abs().max() > 0.0);
    assert_eq!(y.shape(), (1, 4));
}

#[test]
fn backward_before_forward_and_wrong_shapes_are_errors() {
    let mut net = model(Basis::Gaussian, 2, 3, 1, true, 5);
    assert!(net.backward(&Mat::zeros(1, 4)).is_err());
    net.forward(&inputs(2, 4, 0)).unwrap();
    assert!(net.backward(&Mat::zeros(1, 3)).is_err());
    assert!(net.backward(&Mat::zeros(2, 4)).is_err());
}
