//! The chapter's mathematics as properties (test kind 2): Novikoff's theorem, the XOR facts, the
//! exact form of one update, scale invariance, and the identities that tie the variants together.

use optim::Mat;
use optim::data::generate;
use perceptron::{
    Coding, Config, Kernel, KernelPerceptron, MulticlassPerceptron, Order, Perceptron, Variant,
    novikoff,
};
use proptest::prelude::*;
use rand::Rng;

fn as_i32(labels: &[usize], coding: Coding) -> Vec<i32> {
    labels.iter().map(|&l| coding.label(l == 1)).collect()
}

fn coding_of(plus_minus: bool) -> Coding {
    if plus_minus {
        Coding::PlusMinusOne
    } else {
        Coding::ZeroOne
    }
}

fn order_of(seed: Option<u64>) -> Order {
    seed.map_or(Order::Cyclic, |seed| Order::Shuffled { seed })
}

/// Separable data whose separator includes a bias: a unit `ũ = (u_0, u)` in `d+1` dimensions,
/// points uniform in `[−1, 1]^d` kept when `|ũᵀx̃| ≥ gamma0`, labelled by the sign. Returns the
/// data, the labels (0/1) and `ũ`.
fn separable_with_bias(
    n: usize,
    dim: usize,
    gamma0: f64,
    seed: u64,
) -> (Mat<f64>, Vec<usize>, Vec<f64>) {
    let mut rng = optim::rng(seed);
    let mut u: Vec<f64> = (0..=dim).map(|_| rng.random_range(-1.0..1.0)).collect();
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-9);
    u.iter_mut().for_each(|v| *v /= norm);
    let mut x = Mat::zeros(dim, n);
    let mut labels = Vec::with_capacity(n);
    let mut j = 0;
    while j < n {
        let p: Vec<f64> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let v = u[0] + p.iter().zip(&u[1..]).map(|(a, b)| a * b).sum::<f64>();
        if v.abs() < gamma0 {
            continue;
        }
        x.column_mut(j).copy_from_slice(&p);
        labels.push(usize::from(v > 0.0));
        j += 1;
    }
    (x, labels, u)
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(256))]

    /// Novikoff: with `R = max ‖x̃_j‖` and `γ = min_j s_j ũᵀx̃_j` for the unit `ũ` the data were
    /// drawn from (bias included), the rule started at `w = 0` makes at most `(R/γ)²` updates
    /// — in any order, with any `η`, in either coding — and ends with zero training error. The
    /// epoch limit is set just above what the theorem allows, so only the theorem can make it
    /// converge in time.
    #[test]
    fn novikoff_bound_holds_with_a_bias(
        dim in 1usize..=6,
        n in 1usize..=120,
        gamma0 in 0.02f64..0.4,
        seed in any::<u64>(),
        eta_exp in -6i32..=6,
        shuffle in proptest::option::of(any::<u64>()),
        plus_minus in any::<bool>(),
    ) {
        let (x, labels01, u) = separable_with_bias(n, dim, gamma0, seed);
        let coding = coding_of(plus_minus);
        let labels = as_i32(&labels01, coding);
        let r = novikoff::radius(&x);
        let gamma = novikoff::margin(&x, &labels, &u).unwrap();
        prop_assert!(gamma >= gamma0 - 1e-12, "measured margin {gamma} < {gamma0}");
        let bound = novikoff::mistake_bound(r, gamma);
        let config = Config {
            learning_rate: 2f64.powi(eta_exp),
            max_epochs: bound.floor() as usize + 2,
            order: order_of(shuffle),
            coding: Some(coding),
            record_weights: false,
            ..Config::default()
        };
        let mut unit = Perceptron::<f64>::new(dim, config).unwrap();
        let history = unit.fit(&x, &labels).unwrap();
        prop_assert!(history.updates() as f64 <= bound, "{} updates > bound {bound}", history.updates());
        prop_assert!(history.converged);
        prop_assert_eq!(unit.errors(&x, &labels).unwrap(), 0);
    }

    /// The same on `optim`'s generator (hyperplane through the origin: `ũ = (0, u)`), in `f32`,
    /// and with the best margin bracketed by `max_margin` (its `u` is another valid separator).
    #[test]
    fn novikoff_bound_holds_in_f32_on_the_shared_generator(
        dim in 1usize..=8,
        n in 2usize..=150,
        margin in 0.05f64..0.5,
        seed in any::<u64>(),
        shuffle in proptest::option::of(any::<u64>()),
    ) {
        let mut rng = optim::rng(seed);
        let (data, u) = generate::linearly_separable::<f32>(n, dim, margin, &mut rng).unwrap();
        let labels = as_i32(data.labels().unwrap(), Coding::ZeroOne);
        let mut u_aug = vec![0.0];
        u_aug.extend(&u);
        let r = novikoff::radius(&data.x);
        let gamma = novikoff::margin(&data.x, &labels, &u_aug).unwrap();
        prop_assert!(gamma >= margin - 1e-6);
        let best = novikoff::max_margin(&data.x, &labels, 300).unwrap();
        prop_assert!(best.margin <= best.margin_upper * (1.0 + 1e-9));
        // the generator's u is one unit separator, so γ* ≥ its margin
        prop_assert!(best.margin_upper >= gamma * (1.0 - 1e-6));
        let bound = novikoff::mistake_bound(r, gamma.max(best.margin));
        let config = Config {
            max_epochs: bound.floor() as usize + 2,
            order: order_of(shuffle),
            record_weights: false,
            ..Config::default()
        };
        let mut unit = Perceptron::<f32>::new(dim, config).unwrap();
        let history = unit.fit(&data.x, &labels).unwrap();
        prop_assert!(history.updates() as f64 <= bound);
        prop_assert!(history.converged);
        prop_assert_eq!(unit.errors(&data.x, &labels).unwrap(), 0);
    }

    /// One step changes the weights by exactly `η (d − y) x̃` with `y = f(wᵀx̃)` — bias entry
    /// included (`x_0 = 1`). Values are dyadic rationals, so every float operation is exact and
    /// the comparison is bit for bit.
    #[test]
    fn one_update_is_exactly_eta_times_error_times_input(
        w in proptest::collection::vec(-64i32..=64, 5),
        x in proptest::collection::vec(-16i32..=16, 4),
        eta_exp in -4i32..=4,
        positive in any::<bool>(),
        plus_minus in any::<bool>(),
    ) {
        let coding = coding_of(plus_minus);
        let w: Vec<f64> = w.iter().map(|&v| v as f64 / 8.0).collect();
        let x: Vec<f64> = x.iter().map(|&v| v as f64 / 4.0).collect();
        let eta = 2f64.powi(eta_exp);
        let config = Config { learning_rate: eta, ..Config::default() };
        let mut unit = Perceptron::from_weights(&w, coding, config).unwrap();
        let d = coding.label(positive);
        let field = w[0] + (0..4).map(|i| w[i + 1] * x[i]).sum::<f64>();
        let y = coding.label(field > 0.0);
        let changed = unit.train_step(&x, d).unwrap();
        prop_assert_eq!(changed, y != d);
        let x_aug = [1.0, x[0], x[1], x[2], x[3]];
        for i in 0..5 {
            let delta = unit.weights()[i] - w[i];
            prop_assert_eq!(delta, eta * f64::from(d - y) * x_aug[i], "weight {}", i);
        }
    }

    /// `fit` is nothing but `train_step` over the epoch: one cyclic epoch of `fit` and `n` calls
    /// of `train_step` give bit-identical weights.
    #[test]
    fn fit_applies_the_same_step(
        n in 1usize..40,
        seed in any::<u64>(),
        eta in 0.01f64..3.0,
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f32>::from_fn(3, n, |_, _| rng.random_range(-2.0..2.0));
        let labels: Vec<i32> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let config = Config { learning_rate: eta, max_epochs: 1, coding: Some(Coding::ZeroOne), ..Config::default() };
        let mut fitted = Perceptron::<f32>::new(3, config).unwrap();
        let history = fitted.fit(&x, &labels).unwrap();
        let mut stepped = Perceptron::<f32>::new(3, config).unwrap();
        let mut updates = 0;
        for j in 0..n {
            updates += usize::from(stepped.train_step(x.column(j).as_slice(), labels[j]).unwrap());
        }
        prop_assert_eq!(fitted.weights(), stepped.weights());
        prop_assert_eq!(history.updates(), updates);
    }

    /// Predictions depend on the sign of `wᵀx̃` only: scaling `w` by any `c > 0` changes none
    /// (away from the tie `v = 0`, where rounding of `c·v` could decide), and by a power of two
    /// changes none at all.
    #[test]
    fn predictions_are_invariant_to_positive_scaling(
        w in proptest::collection::vec(-5.0f64..5.0, 4),
        seed in any::<u64>(),
        c in 1e-3f64..1e3,
        k in -20i32..=20,
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(3, 50, |_, _| rng.random_range(-3.0..3.0));
        let unit = Perceptron::from_weights(&w, Coding::PlusMinusOne, Config::default()).unwrap();
        let scaled: Vec<f64> = w.iter().map(|v| v * c).collect();
        let scaled = Perceptron::from_weights(&scaled, Coding::PlusMinusOne, Config::default()).unwrap();
        let v = unit.decision_function(&x).unwrap();
        let (p, q) = (unit.predict(&x).unwrap(), scaled.predict(&x).unwrap());
        for j in 0..50 {
            if v[j].abs() > 1e-9 {
                prop_assert_eq!(p[j], q[j]);
            }
        }
        let pow: Vec<f64> = w.iter().map(|v| v * 2f64.powi(k)).collect();
        let pow = Perceptron::from_weights(&pow, Coding::PlusMinusOne, Config::default()).unwrap();
        prop_assert_eq!(pow.predict(&x).unwrap(), p);
    }

    /// From `w = 0` the learning rate only scales the weights: with `η = 2^k` every weight is
    /// exactly `2^k` times the `η = 1` weight after every epoch, and the mistakes are identical.
    #[test]
    fn learning_rate_only_scales_the_weights(
        n in 1usize..60,
        seed in any::<u64>(),
        k in -10i32..=10,
        shuffle in proptest::option::of(any::<u64>()),
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f32>::from_fn(4, n, |_, _| rng.random_range(-1.0..1.0));
        let labels: Vec<i32> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let base = Config { max_epochs: 15, order: order_of(shuffle), ..Config::default() };
        let mut one = Perceptron::<f32>::new(4, base).unwrap();
        let h1 = one.fit(&x, &labels).unwrap();
        let mut other = Perceptron::<f32>::new(4, Config { learning_rate: 2f64.powi(k), ..base }).unwrap();
        let h2 = other.fit(&x, &labels).unwrap();
        prop_assert_eq!(h1.mistakes(), h2.mistakes());
        prop_assert_eq!(h1.weights.len(), h1.len());
        for (a, b) in h1.weights.iter().zip(&h2.weights) {
            prop_assert_eq!(a * 2f32.powi(k), b.clone());
        }
    }

    /// No weight vector classifies XOR: any `w` gets at least one of the four points wrong.
    /// (Algebra: `w_0 ≤ 0`, `w_0 + w_1 > 0`, `w_0 + w_2 > 0`, `w_0 + w_1 + w_2 ≤ 0` add up to
    /// `2w_0 + w_1 + w_2 > 0` and `≤ 0` at once.)
    #[test]
    fn no_weight_vector_separates_xor(w in proptest::collection::vec(-1e3f64..1e3, 3)) {
        let xor = generate::xor::<f64>();
        let labels = as_i32(xor.labels().unwrap(), Coding::ZeroOne);
        let unit = Perceptron::from_weights(&w, Coding::ZeroOne, Config::default()).unwrap();
        prop_assert!(unit.errors(&xor.x, &labels).unwrap() >= 1);
    }

    /// So the primal rule never completes an epoch without a mistake on XOR, whatever the
    /// epoch limit, order, rate or coding.
    #[test]
    fn primal_perceptron_never_converges_on_xor(
        max_epochs in 1usize..400,
        eta in 1e-3f64..10.0,
        shuffle in proptest::option::of(any::<u64>()),
        plus_minus in any::<bool>(),
    ) {
        let xor = generate::xor::<f64>();
        let labels = as_i32(xor.labels().unwrap(), coding_of(plus_minus));
        let config = Config { learning_rate: eta, max_epochs, order: order_of(shuffle), ..Config::default() };
        let mut unit = Perceptron::new(2, config).unwrap();
        let history = unit.fit(&xor.x, &labels).unwrap();
        prop_assert!(!history.converged);
        prop_assert_eq!(history.len(), max_epochs);
        prop_assert!(history.mistakes().iter().all(|&m| m >= 1));
        prop_assert!(unit.errors(&xor.x, &labels).unwrap() >= 1);
    }

    /// The averaged perceptron's weights are the plain mean `(1/T) Σ_t w(t)` of the weights after
    /// each of the `T` steps (checked against replaying the steps one by one).
    #[test]
    fn averaged_weights_are_the_mean_of_all_steps(
        n in 1usize..30,
        seed in any::<u64>(),
        epochs in 1usize..8,
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(3, n, |_, _| rng.random_range(-2.0..2.0));
        let labels: Vec<i32> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let config = Config { max_epochs: epochs, variant: Variant::Averaged, coding: Some(Coding::ZeroOne), learning_rate: 0.7, ..Config::default() };
        let mut averaged = Perceptron::<f64>::new(3, config).unwrap();
        let history = averaged.fit(&x, &labels).unwrap();
        let mut plain = Perceptron::<f64>::new(3, Config { variant: Variant::Plain, ..config }).unwrap();
        let mut sum = [0.0f64; 4];
        let mut steps = 0.0;
        for _ in 0..history.len() {
            for j in 0..n {
                plain.train_step(x.column(j).as_slice(), labels[j]).unwrap();
                for (s, w) in sum.iter_mut().zip(plain.weights()) {
                    *s += w;
                }
                steps += 1.0;
            }
        }
        for i in 0..4 {
            let mean = sum[i] / steps;
            prop_assert!((averaged.weights()[i] - mean).abs() <= 1e-9 * (1.0 + mean.abs()), "{} vs {}", averaged.weights()[i], mean);
        }
    }

    /// The same two identities for the multiclass machine: its averaged weights are the mean of
    /// the weights after every step (replayed with `train_step`), and its pocket holds weights
    /// whose training errors never increase and end as the model's.
    #[test]
    fn multiclass_averaged_and_pocket_keep_their_promises(
        n in 1usize..30,
        seed in any::<u64>(),
        epochs in 1usize..6,
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(2, n, |_, _| rng.random_range(-2.0..2.0));
        let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
        let config = Config { max_epochs: epochs, variant: Variant::Averaged, learning_rate: 0.5, ..Config::default() };
        let mut averaged = MulticlassPerceptron::<f64>::new(2, 3, config).unwrap();
        let history = averaged.fit(&x, &labels).unwrap();
        let mut plain = MulticlassPerceptron::<f64>::new(2, 3, Config { variant: Variant::Plain, ..config }).unwrap();
        let mut sum = Mat::<f64>::zeros(3, 3);
        let mut steps = 0.0;
        for _ in 0..history.len() {
            for j in 0..n {
                plain.train_step(x.column(j).as_slice(), labels[j]).unwrap();
                sum += plain.weights();
                steps += 1.0;
            }
        }
        let mean = sum / steps;
        prop_assert!((averaged.weights() - &mean).abs().max() <= 1e-9 * (1.0 + mean.abs().max()));

        let pocket_config = Config { variant: Variant::Pocket, max_epochs: 10, ..config };
        let mut pocket = MulticlassPerceptron::<f64>::new(2, 3, pocket_config).unwrap();
        let history = pocket.fit(&x, &labels).unwrap();
        let errors = history.pocket_errors();
        prop_assert_eq!(errors.len(), history.len());
        prop_assert!(errors.windows(2).all(|p| p[1] <= p[0]));
        let wrong = pocket.predict(&x).unwrap().iter().zip(&labels).filter(|(a, b)| a != b).count();
        prop_assert_eq!(wrong, *errors.last().unwrap());
    }

    /// The dual with a linear kernel is the primal rule: same mistakes in every epoch, and
    /// `Σ_j a_j x̃_j` equals the primal weights. Integer data keep both exact.
    #[test]
    fn linear_kernel_perceptron_is_the_primal_perceptron(
        n in 1usize..40,
        d in 1usize..5,
        seed in any::<u64>(),
        shuffle in proptest::option::of(any::<u64>()),
        plus_minus in any::<bool>(),
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(d, n, |_, _| rng.random_range(-5..=5) as f64);
        let coding = coding_of(plus_minus);
        let labels: Vec<i32> = (0..n).map(|_| coding.label(rng.random_bool(0.5))).collect();
        let config = Config { max_epochs: 12, order: order_of(shuffle), ..Config::default() };
        let mut primal = Perceptron::<f64>::new(d, config).unwrap();
        let hp = primal.fit(&x, &labels).unwrap();
        let mut dual = KernelPerceptron::<f64>::new(d, Kernel::Linear, config).unwrap();
        let hd = dual.fit(&x, &labels).unwrap();
        prop_assert_eq!(hp.mistakes(), hd.mistakes());
        let sv = dual.support_vectors();
        let mut w = vec![0.0; d + 1];
        for (k, &a) in dual.dual_coef().iter().enumerate() {
            w[0] += a;
            for i in 0..d {
                w[i + 1] += a * sv[(i, k)];
            }
        }
        prop_assert_eq!(primal.weights(), &w[..]);
        prop_assert_eq!(primal.predict(&x).unwrap(), dual.predict(&x).unwrap());
    }

    /// Kesler's construction: the two-class multiclass perceptron is the `±1` perceptron on
    /// `w = w_1 − w_0` (same mistakes, `w_1 − w_0` equal to its weights). Integer data: exact.
    #[test]
    fn two_class_multiclass_is_the_binary_rule_on_the_difference(
        n in 1usize..40,
        seed in any::<u64>(),
        shuffle in proptest::option::of(any::<u64>()),
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(3, n, |_, _| rng.random_range(-4..=4) as f64);
        let classes: Vec<usize> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let config = Config { max_epochs: 10, order: order_of(shuffle), coding: Some(Coding::PlusMinusOne), ..Config::default() };
        let mut multi = MulticlassPerceptron::<f64>::new(3, 2, config).unwrap();
        let hm = multi.fit(&x, &classes).unwrap();
        let mut binary = Perceptron::<f64>::new(3, config).unwrap();
        let hb = binary.fit(&x, &as_i32(&classes, Coding::PlusMinusOne)).unwrap();
        prop_assert_eq!(hm.mistakes(), hb.mistakes());
        let w = multi.weights();
        for i in 0..4 {
            prop_assert_eq!(w[(1, i)] - w[(0, i)], binary.weights()[i]);
        }
    }

    /// The pocket holds the best weights the rule visited: its training errors equal the minimum
    /// over `w(0) = 0` and every `w(t)` of the same run (replayed step by step, cyclic order);
    /// in any order the recorded pocket errors never increase.
    #[test]
    fn pocket_holds_the_best_weights_visited(
        n in 2usize..50,
        seed in any::<u64>(),
        shuffle in proptest::option::of(any::<u64>()),
    ) {
        let mut rng = optim::rng(seed);
        let x = Mat::<f64>::from_fn(2, n, |_, _| rng.random_range(-1.0..1.0));
        let labels: Vec<i32> = (0..n).map(|_| rng.random_range(0..2)).collect();
        let config = Config { max_epochs: 20, variant: Variant::Pocket, order: order_of(shuffle), coding: Some(Coding::ZeroOne), ..Config::default() };
        let mut unit = Perceptron::<f64>::new(2, config).unwrap();
        let history = unit.fit(&x, &labels).unwrap();
        let errors = history.pocket_errors();
        prop_assert_eq!(errors.len(), history.len());
        prop_assert!(errors.windows(2).all(|p| p[1] <= p[0]));
        prop_assert_eq!(unit.errors(&x, &labels).unwrap(), *errors.last().unwrap());
        if shuffle.is_none() {
            let mut plain = Perceptron::<f64>::new(2, Config { variant: Variant::Plain, ..config }).unwrap();
            let mut best = plain.errors(&x, &labels).unwrap();
            for _ in 0..history.len() {
                for j in 0..n {
                    if plain.train_step(x.column(j).as_slice(), labels[j]).unwrap() {
                        best = best.min(plain.errors(&x, &labels).unwrap());
                    }
                }
            }
            prop_assert_eq!(*errors.last().unwrap(), best);
        }
    }
}

/// With examples in random order the pocket ends with weights that get 3 of the 4 XOR points
/// right (the most any line can). In cyclic order it cannot: from `w = 0` the rule falls into a
/// cycle of four weight vectors (the perceptron cycling theorem), none of which gets more than 2
/// right, so there is nothing better to pocket.
#[test]
fn pocket_keeps_three_of_four_on_xor() {
    let xor = generate::xor::<f64>();
    let labels = as_i32(xor.labels().unwrap(), Coding::ZeroOne);
    for seed in 0..20 {
        let config = Config {
            max_epochs: 100,
            variant: Variant::Pocket,
            order: Order::Shuffled { seed },
            ..Config::default()
        };
        let mut unit = Perceptron::new(2, config).unwrap();
        let history = unit.fit(&xor.x, &labels).unwrap();
        assert!(!history.converged);
        assert_eq!(unit.errors(&xor.x, &labels).unwrap(), 1, "seed {seed}");
        assert_eq!(history.pocket_errors().last(), Some(&1));
    }
    let config = Config {
        max_epochs: 10,
        ..Config::default()
    };
    let mut cyclic = Perceptron::new(2, config).unwrap();
    let history = cyclic.fit(&xor.x, &labels).unwrap();
    let end_weights = &history.weights;
    assert_eq!(end_weights.len(), 10);
    assert!(end_weights[1..].windows(2).all(|p| p[0] == p[1]));
    assert_eq!(end_weights[1].as_slice(), [1.0, -1.0, 0.0]);
    let pocket = Config {
        max_epochs: 10,
        variant: Variant::Pocket,
        ..Config::default()
    };
    let mut unit = Perceptron::new(2, pocket).unwrap();
    unit.fit(&xor.x, &labels).unwrap();
    assert_eq!(unit.errors(&xor.x, &labels).unwrap(), 2);
}

#[test]
fn kernel_perceptron_separates_xor() {
    let xor = generate::xor::<f64>();
    for coding in [Coding::ZeroOne, Coding::PlusMinusOne] {
        let labels = as_i32(xor.labels().unwrap(), coding);
        for kernel in [
            Kernel::Gaussian { gamma: 1.0 },
            Kernel::Polynomial {
                degree: 2,
                coef0: 1.0,
            },
            Kernel::Polynomial {
                degree: 2,
                coef0: 0.0,
            },
        ] {
            let mut model = KernelPerceptron::new(2, kernel, Config::default()).unwrap();
            let history = model.fit(&xor.x, &labels).unwrap();
            assert!(history.converged, "{kernel:?}");
            assert_eq!(model.predict(&xor.x).unwrap(), labels, "{kernel:?}");
        }
        // and the linear kernel, being the primal rule, cannot
        let mut linear = KernelPerceptron::new(2, Kernel::Linear, Config::default()).unwrap();
        assert!(!linear.fit(&xor.x, &labels).unwrap().converged);
    }
}

#[test]
fn max_margin_brackets_a_known_margin() {
    // Two points at x = ±1 on a line: augmented (1, ±1); the best unit separator is (0, 1)
    // with margin exactly 1.
    let x = Mat::from_row_slice(1, 2, &[1.0f64, -1.0]);
    let labels = [1, 0];
    let best = novikoff::max_margin(&x, &labels, 200).unwrap();
    assert!((best.margin - 1.0).abs() < 1e-9, "{best:?}");
    assert!((best.margin_upper - 1.0).abs() < 1e-9, "{best:?}");
    // Shifted to x = 3, 1: the bias must now work; γ* = 1/√2 along (−2, 1)/√5? Check the bracket.
    let x = Mat::from_row_slice(1, 2, &[3.0f64, 1.0]);
    let best = novikoff::max_margin(&x, &labels, 5000).unwrap();
    assert!(best.margin > 0.0 && best.margin <= best.margin_upper + 1e-12);
    assert!(best.margin_upper - best.margin < 1e-6, "{best:?}");
}

/// The run reports through the workspace's shared record: per epoch the `mistakes` term, the
/// mistake rate as `train_loss`, `1 −` it as `train_accuracy`, `η` as the learning rate; the
/// examples presented as steps; convergence before the limit as a stop; and for the pocket the
/// epoch whose weights it ends with.
#[test]
fn runs_report_through_the_shared_history() {
    let x = Mat::<f64>::from_column_slice(2, 4, &[0., 0., 0., 1., 1., 0., 1., 1.]);
    let and = [0, 0, 0, 1];
    let config = Config {
        learning_rate: 0.5,
        ..Config::default()
    };
    let mut unit = Perceptron::new(2, config).unwrap();
    let mut reported = Vec::new();
    let run = unit
        .fit_with(&x, &and, &mut |p| {
            if let optim::train::Progress::Epoch(r) = p {
                reported.push(r.clone());
            }
        })
        .unwrap();
    assert_eq!(run.mistakes(), [1, 3, 3, 2, 1, 0]);
    assert_eq!(reported, run.history.epochs);
    for (e, r) in run.history.epochs.iter().enumerate() {
        let m = run.mistakes()[e] as f64;
        assert_eq!(r.epoch, e + 1);
        assert_eq!(r.term(perceptron::MISTAKES), Some(m));
        assert_eq!(r.train_loss, m / 4.0);
        assert_eq!(r.train_accuracy, Some(1.0 - m / 4.0));
        assert_eq!(r.learning_rate, 0.5);
        assert!(r.validation.is_none() && r.seconds >= 0.0);
    }
    assert_eq!(run.history.steps, 6 * 4);
    assert!(run.converged && run.history.stopped_early);
    assert_eq!(
        (run.history.best_epoch, run.history.restored_best),
        (None, false)
    );
    assert!(run.pocket_errors().is_empty());
    assert_eq!(run.weights.len(), 6);
    assert_eq!(run.weights.last().unwrap().as_slice(), unit.weights());

    // converging in the very last allowed epoch is not a stop before the limit
    let mut unit = Perceptron::new(
        2,
        Config {
            max_epochs: 6,
            ..config
        },
    )
    .unwrap();
    let run = unit.fit(&x, &and).unwrap();
    assert!(run.converged && !run.history.stopped_early);

    // the pocket on XOR: errors per epoch among the terms, its best epoch restored
    let xor = generate::xor::<f64>();
    let labels = as_i32(xor.labels().unwrap(), Coding::ZeroOne);
    let pocket = Config {
        max_epochs: 30,
        variant: Variant::Pocket,
        order: Order::Shuffled { seed: 0 },
        record_weights: false,
        ..Config::default()
    };
    let mut unit = Perceptron::new(2, pocket).unwrap();
    let run = unit.fit(&xor.x, &labels).unwrap();
    assert!(run.weights.is_empty());
    let errors = run.pocket_errors();
    assert_eq!(errors.len(), 30);
    assert_eq!(*errors.last().unwrap(), 1);
    let best = run.history.best_epoch.unwrap();
    assert!(run.history.restored_best);
    assert_eq!(
        errors[best - 1],
        1,
        "the pocket got its weights in epoch {best}"
    );
    assert!(best == 1 || errors[best - 2] > 1);
}
