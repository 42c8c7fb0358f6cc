//! The mathematics of notes §1 and §5 as properties (test kind 2).
//!
//! - the soft-max family: columns of `softmax` sum to 1, adding a constant to a column changes
//!   nothing, and `logsumexp` / `log_softmax` / the cross-entropy stay finite at `±1e4`;
//! - convergence on strongly convex quadratics (§5.1): gradient descent with step `1/L` decreases
//!   `f` monotonically; at condition number `κ = 100` heavy ball and Nesterov with their textbook
//!   parameters need far fewer iterations than plain gradient descent;
//! - Adam's update is invariant to rescaling the gradients; AdamW's decoupled decay differs from
//!   Adam + L2 exactly as the two formulas say;
//! - clipping by norm keeps the direction and caps the norm; schedules give their formulas' values.

use optim::{
    Adam, Mat, Optimizer, Param, Parameters, Schedule, Sgd, clip_grad_norm, clip_grad_value,
    grad_norm, log_softmax, logsumexp, loss, softmax,
};
use proptest::prelude::*;

/// `cases` per property by default; `PROPTEST_CASES=5000` runs more.
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        default
    } else {
        ProptestConfig { cases, ..default }
    }
}

fn matrix(rows: usize, cols: usize, lo: f64, hi: f64) -> impl Strategy<Value = Mat<f64>> {
    prop::collection::vec(lo..hi, rows * cols).prop_map(move |v| Mat::from_vec(rows, cols, v))
}

/// A point `x` as a model with one parameter, so the crate's optimizers can minimize a function
/// of it.
struct Point {
    x: Param<f64>,
}

impl Point {
    fn new(x: &[f64]) -> Self {
        Point {
            x: Param::vector(Mat::from_column_slice(x.len(), 1, x)),
        }
    }
}

impl Parameters<f64> for Point {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
        visit("x", &mut self.x);
    }
}

/// `f(x) = ½ xᵀ A x` and `∇f = A x`.
struct Quadratic {
    a: Mat<f64>,
}

impl Quadratic {
    fn f(&self, x: &Mat<f64>) -> f64 {
        0.5 * (x.transpose() * &self.a * x)[(0, 0)]
    }
    fn set_grad(&self, p: &mut Point) {
        p.x.grad = &self.a * &p.x.value;
    }
}

/// A random symmetric positive definite `A = Qᵀ diag(λ) Q` with eigenvalues in `[1, κ]`, the
/// extremes included, so `μ = 1`, `L = κ`.
fn random_quadratic(dim: usize, kappa: f64, seed: u64) -> Quadratic {
    use rand::Rng;
    let mut rng = optim::rng(seed);
    let q = optim::Init::Orthogonal { gain: 1.0 }.dense::<f64>(dim, dim, &mut rng);
    let eigen: Vec<f64> = (0..dim)
        .map(|i| match i {
            0 => 1.0,
            1 => kappa,
            _ => rng.random_range(1.0..kappa),
        })
        .collect();
    let d = Mat::from_diagonal(&optim::Vector::from_vec(eigen));
    let a = q.transpose() * d * &q;
    Quadratic {
        a: (&a + a.transpose()) * 0.5,
    }
}

/// Iterations until `f(x_k) ≤ 1e-10 f(x_0)` on `½(x₁² + κ x₂²)` from `(1, 1)`, at most `limit`.
fn iterations_to_converge(opt: &mut dyn Optimizer<f64>, kappa: f64, limit: usize) -> usize {
    let q = Quadratic {
        a: Mat::from_diagonal(&optim::Vector::from_vec(vec![1.0, kappa])),
    };
    let mut p = Point::new(&[1.0, 1.0]);
    let f0 = q.f(&p.x.value);
    for k in 1..=limit {
        q.set_grad(&mut p);
        opt.step(&mut p).unwrap();
        if q.f(&p.x.value) <= 1e-10 * f0 {
            return k;
        }
    }
    limit + 1
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn softmax_columns_sum_to_one_and_ignore_a_constant_per_column(
        (z, shift) in (1usize..=6, 1usize..=5).prop_flat_map(|(k, b)| (
            matrix(k, b, -30.0, 30.0),
            prop::collection::vec(-1e3..1e3f64, b),
        )),
    ) {
        let p = softmax(&z);
        for col in p.column_iter() {
            prop_assert!((col.sum() - 1.0).abs() < 1e-12);
            prop_assert!(col.iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
        let shifted = Mat::from_fn(z.nrows(), z.ncols(), |i, j| z[(i, j)] + shift[j]);
        prop_assert!((softmax(&shifted) - &p).abs().max() < 1e-12);
        // log_softmax shifts the same way and is the log of softmax.
        let ls = log_softmax(&z);
        prop_assert!((log_softmax(&shifted) - &ls).abs().max() < 1e-9);
        prop_assert!((ls.map(f64::exp) - &p).abs().max() < 1e-12);
    }

    /// `logsumexp`, `log_softmax` and the cross-entropy are finite (and right) for logits of
    /// magnitude up to `1e4`, in `f32` and `f64`, where the naive formulas overflow.
    #[test]
    fn soft_max_family_is_finite_at_large_magnitudes(
        z in prop::collection::vec(prop_oneof![Just(1e4), Just(-1e4), -1e4..1e4f64], 1..6),
        label in 0usize..6,
    ) {
        let k = z.len();
        let label = label % k;
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = logsumexp(&z);
        prop_assert!(lse.is_finite() && lse >= max && lse <= max + (k as f64).ln() + 1e-9);
        let zf: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        prop_assert!(logsumexp(&zf).is_finite());

        let col = Mat::from_column_slice(k, 1, &z);
        prop_assert!(log_softmax(&col).iter().all(|v| v.is_finite()));
        prop_assert!(softmax(&col).iter().all(|v| v.is_finite()));
        for smoothing in [0.0, 0.1] {
            let (l, g) = loss::softmax_cross_entropy(&col, &[label], smoothing).unwrap();
            prop_assert!(l.is_finite() && l >= -1e-9, "loss {l}");
            prop_assert!(g.iter().all(|v| v.is_finite()));
            let colf = Mat::from_column_slice(k, 1, &zf);
            let (lf, gf) = loss::softmax_cross_entropy(&colf, &[label], smoothing).unwrap();
            prop_assert!(lf.is_finite() && gf.iter().all(|v| v.is_finite()));
        }
        let (l, _) = loss::bce_with_logits(&col, &Mat::from_element(k, 1, 0.5)).unwrap();
        prop_assert!(l.is_finite());
    }
}

#[test]
fn logsumexp_at_plus_and_minus_1e4() {
    assert_eq!(logsumexp(&[1e4, 1e4]), 1e4 + 2f64.ln());
    assert_eq!(logsumexp(&[-1e4, -1e4]), -1e4 + 2f64.ln());
    assert_eq!(logsumexp(&[1e4f32, -1e4]), 1e4);
    // The naive formula overflows here.
    assert!(!(1e4f64.exp() + 1.0).ln().is_finite());
    let (l, _) =
        loss::softmax_cross_entropy(&Mat::from_column_slice(2, 1, &[1e4f32, -1e4]), &[1], 0.0)
            .unwrap();
    assert_eq!(l, 2e4);
}

proptest! {
    #![proptest_config(config(48))]

    /// On `f(x) = ½ xᵀ A x` with `μ I ⪯ A ⪯ L I`, gradient descent with step `1/L` never
    /// increases `f` (the descent lemma: `f(x − ∇f/L) ≤ f(x) − ‖∇f‖²/2L`) and converges.
    #[test]
    fn gradient_descent_with_step_one_over_l_decreases_f_monotonically(
        dim in 2usize..=8,
        kappa in 1.0..1000.0f64,
        seed in any::<u64>(),
        x0 in prop::collection::vec(-10.0..10.0f64, 8),
    ) {
        let q = random_quadratic(dim, kappa, seed);
        let mut p = Point::new(&x0[..dim]);
        let mut opt = Sgd::new(1.0 / kappa).unwrap();
        let mut f = q.f(&p.x.value);
        let f0 = f;
        for step in 0..200 {
            q.set_grad(&mut p);
            let g2 = p.x.grad.norm_squared();
            opt.step(&mut p).unwrap();
            let next = q.f(&p.x.value);
            prop_assert!(
                next <= f - g2 / (2.0 * kappa) + 1e-12 * f0.max(1.0),
                "step {step}: f went from {f} to {next}"
            );
            f = next;
        }
        // Linear rate (1 − 1/κ)² per step at worst.
        prop_assert!(f <= f0 * (1.0 - 1.0 / kappa).powi(400) + 1e-12 * f0.max(1.0));
    }
}

/// §5.1 at `κ = 100` (μ = 1, L = 100) on `½(x₁² + κx₂²)` from `(1, 1)`, until `f` falls to
/// `1e-10` of its start:
///
/// - gradient descent, `η = 1/L`: the slow direction shrinks by `1 − 1/κ` per step, so about
///   `ln(1e-10·101)/(2 ln 0.99) ≈ 916` steps;
/// - heavy ball with Polyak's tuned `η = 4/(√L + √μ)²`, `β = ((√κ − 1)/(√κ + 1))²`: rate `β^½`
///   per step, about 80 steps (PyTorch's momentum form `b ← βb + g`, `p ← p − ηb` is exactly
///   heavy ball);
/// - Nesterov with `η = 1/L`, `β = (√κ − 1)/(√κ + 1)`: rate `√(1 − 1/√κ)`, about 110 steps.
#[test]
fn momentum_methods_need_far_fewer_iterations_at_condition_number_100() {
    let (mu, l) = (1.0f64, 100.0f64);
    let kappa = l / mu;
    let limit = 5000;

    let mut gd = Sgd::new(1.0 / l).unwrap();
    let gd_iters = iterations_to_converge(&mut gd, kappa, limit);

    let hb_lr = 4.0 / (l.sqrt() + mu.sqrt()).powi(2);
    let hb_beta = ((kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0)).powi(2);
    let mut hb = Sgd::new(hb_lr).unwrap().momentum(hb_beta).unwrap();
    let hb_iters = iterations_to_converge(&mut hb, kappa, limit);

    let nag_beta = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
    let mut nag = Sgd::new(1.0 / l)
        .unwrap()
        .momentum(nag_beta)
        .unwrap()
        .nesterov()
        .unwrap();
    let nag_iters = iterations_to_converge(&mut nag, kappa, limit);

    println!("kappa = 100: GD {gd_iters}, heavy ball {hb_iters}, Nesterov {nag_iters} iterations");
    assert!((850..=1000).contains(&gd_iters), "GD took {gd_iters}");
    assert!((60..=110).contains(&hb_iters), "heavy ball took {hb_iters}");
    assert!((80..=150).contains(&nag_iters), "Nesterov took {nag_iters}");
    assert!(hb_iters * 5 < gd_iters && nag_iters * 5 < gd_iters);
}

proptest! {
    #![proptest_config(config(48))]

    /// Adam normalizes by `√v̂`, so multiplying every gradient by `c > 0` scales `m̂` and `√v̂`
    /// alike: the update is unchanged, up to `ε` (negligible against `c·|g|` here), and exactly
    /// invariant as `ε → 0`.
    #[test]
    fn adam_update_is_invariant_to_gradient_scale(
        grads in prop::collection::vec(
            prop::collection::vec(
                (0.1..1.0f64, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m }),
                3,
            ),
            1..10,
        ),
        c in prop_oneof![0.01..1.0f64, 1.0..100.0f64],
        amsgrad in any::<bool>(),
    ) {
        let run = |scale: f64, eps: f64| {
            let mut opt = Adam::new(0.01).unwrap().eps(eps).unwrap();
            if amsgrad {
                opt = opt.amsgrad();
            }
            let mut p = Point::new(&[0.5, -1.0, 2.0]);
            for g in &grads {
                p.x.grad = Mat::from_iterator(3, 1, g.iter().map(|v| v * scale));
                opt.step(&mut p).unwrap();
            }
            p.x.value
        };
        let lr_times_steps = 0.01 * grads.len() as f64;
        // Default ε = 1e-8 against c·|g| ≥ 1e-3: relative effect at most ~1e-5 per step.
        let d = (run(1.0, 1e-8) - run(c, 1e-8)).abs().max();
        prop_assert!(d < 1e-4 * lr_times_steps, "c = {c}: differ by {d:e}");
        let d0 = (run(1.0, 1e-30) - run(c, 1e-30)).abs().max();
        prop_assert!(d0 < 1e-13, "c = {c}, ε = 1e-30: differ by {d0:e}");
    }
}

/// SGD, by contrast, moves `c` times as far: the invariance is Adam's, not every optimizer's.
#[test]
fn sgd_is_not_scale_invariant() {
    let mut a = Point::new(&[1.0]);
    let mut b = Point::new(&[1.0]);
    a.x.grad[0] = 0.5;
    b.x.grad[0] = 5.0;
    Sgd::new(0.1).unwrap().step(&mut a).unwrap();
    Sgd::new(0.1).unwrap().step(&mut b).unwrap();
    assert!((1.0 - b.x.value[0]) / (1.0 - a.x.value[0]) > 9.99);
}

/// AdamW (`p ← p(1 − ηλ)`, then the Adam step on `g`) against Adam + L2 (the Adam step on
/// `g + λp`), checked formula by formula along a run with a fixed gradient sequence:
///
/// - AdamW's iterate is `p_t = p_{t−1}(1 − ηλ) − u_t`, where `u_t` is the update plain Adam
///   (no decay) makes from the same gradients — the decay never enters `m` or `v`;
/// - Adam + L2 is plain Adam fed the gradients `g_t + λ p_{t−1}` — the decay is normalized by
///   `√v̂` like the rest of the gradient.
#[test]
fn adamw_decay_is_decoupled_and_adam_l2_is_not() {
    let (lr, wd) = (0.01, 0.1);
    let grads: Vec<[f64; 3]> = (0..8)
        .map(|t| {
            let t = t as f64;
            [(t * 0.7).sin(), 3.0 * (t * 1.3).cos(), 0.01 * (t + 1.0)]
        })
        .collect();
    let start = [1.0, -2.0, 0.5];

    // Plain Adam's updates u_t from the raw gradients (independent of p).
    let mut plain = Adam::new(lr).unwrap();
    let mut probe = Point::new(&start);
    let mut updates = Vec::new();
    for g in &grads {
        let before = probe.x.value.clone();
        probe.x.grad = Mat::from_column_slice(3, 1, g);
        plain.step(&mut probe).unwrap();
        updates.push(before - &probe.x.value);
    }

    let mut adamw = Adam::adamw(lr, wd).unwrap();
    let mut p = Point::new(&start);
    for (g, u) in grads.iter().zip(&updates) {
        let want = &p.x.value * (1.0 - lr * wd) - u;
        p.x.grad = Mat::from_column_slice(3, 1, g);
        adamw.step(&mut p).unwrap();
        assert!((&p.x.value - &want).abs().max() < 1e-15);
    }

    let mut l2 = Adam::new(lr).unwrap().weight_decay(wd).unwrap();
    let mut fed = Adam::new(lr).unwrap();
    let mut p = Point::new(&start);
    let mut q = Point::new(&start);
    for g in &grads {
        p.x.grad = Mat::from_column_slice(3, 1, g);
        l2.step(&mut p).unwrap();
        q.x.grad = Mat::from_column_slice(3, 1, g) + &q.x.value * wd;
        fed.step(&mut q).unwrap();
        assert_eq!(p.x.value, q.x.value);
    }

    // With a zero gradient the difference is plain: AdamW shrinks p by exactly (1 − ηλ); Adam +
    // L2 normalizes λp by its own size and moves every entry by about η, whatever its scale.
    let mut w = Point::new(&[1.0, -100.0]);
    Adam::adamw(lr, wd).unwrap().step(&mut w).unwrap();
    assert_eq!(
        w.x.value.as_slice(),
        &[1.0 - lr * wd, -100.0 * (1.0 - lr * wd)]
    );
    let mut a = Point::new(&[1.0, -100.0]);
    Adam::new(lr)
        .unwrap()
        .weight_decay(wd)
        .unwrap()
        .step(&mut a)
        .unwrap();
    assert!((a.x.value[0] - (1.0 - lr)).abs() < 1e-6);
    assert!((a.x.value[1] - (-100.0 + lr)).abs() < 1e-6);
}

/// Two tensors of gradients, as `clip_grad_norm` sees a model.
struct Two {
    a: Param<f64>,
    b: Param<f64>,
}

impl Parameters<f64> for Two {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
        visit("a", &mut self.a);
        visit("b", &mut self.b);
    }
}

fn grads_of(m: &Two) -> Vec<f64> {
    m.a.grad.iter().chain(m.b.grad.iter()).copied().collect()
}

proptest! {
    #![proptest_config(config(64))]

    /// `g ← g · min(1, c/(‖g‖ + 1e-6))`: the result is a non-negative multiple of `g` (same
    /// direction) with norm at most `c`, and `g` is untouched when already short enough.
    #[test]
    fn clipping_by_norm_keeps_direction_and_caps_norm(
        (ga, gb) in (1usize..=4, 1usize..=4).prop_flat_map(|(r, c)| (
            matrix(r, c, -10.0, 10.0),
            matrix(c, 1, -10.0, 10.0),
        )),
        max_norm in 0.01..50.0f64,
    ) {
        let mut m = Two {
            a: Param::new(Mat::zeros(ga.nrows(), ga.ncols())),
            b: Param::vector(Mat::zeros(gb.nrows(), 1)),
        };
        m.a.grad = ga;
        m.b.grad = gb;
        let before = grads_of(&m);
        let norm = before.iter().map(|v| v * v).sum::<f64>().sqrt();
        let returned = clip_grad_norm(&mut m, max_norm);
        prop_assert!((returned - norm).abs() <= 1e-12 * norm.max(1.0));
        let after = grads_of(&m);
        let new_norm = grad_norm(&mut m);
        prop_assert!(new_norm <= max_norm * (1.0 + 1e-12));
        if norm <= max_norm {
            prop_assert_eq!(&after, &before);
        } else {
            let s = max_norm / (norm + 1e-6);
            for (x, y) in after.iter().zip(&before) {
                prop_assert!((x - s * y).abs() <= 1e-12 * y.abs().max(1e-300));
            }
            // Same direction: cosine 1.
            let dot: f64 = after.iter().zip(&before).map(|(x, y)| x * y).sum();
            prop_assert!((dot / (new_norm * norm) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn clipping_by_value_clamps_each_entry(
        g in matrix(3, 2, -10.0, 10.0),
        max in 0.1..5.0f64,
    ) {
        let mut m = Two {
            a: Param::new(Mat::zeros(3, 2)),
            b: Param::vector(Mat::zeros(1, 1)),
        };
        m.a.grad = g.clone();
        clip_grad_value(&mut m, max);
        for (x, y) in m.a.grad.iter().zip(g.iter()) {
            prop_assert_eq!(*x, y.clamp(-max, max));
        }
    }
}

#[test]
fn schedules_give_their_documented_values() {
    let base = 0.1;
    // Relative 1e-14: `powi` may round differently when the compiler folds it.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1e-300);

    for t in [0, 1, 10, 1000] {
        assert_eq!(Schedule::Constant.lr(base, t), base);
    }

    let step = Schedule::Step {
        every: 10,
        gamma: 0.5,
    };
    for (t, want) in [
        (0, 0.1),
        (9, 0.1),
        (10, 0.05),
        (19, 0.05),
        (20, 0.025),
        (35, 0.0125),
    ] {
        assert!(close(step.lr(base, t), want), "step t={t}");
    }

    let exp = Schedule::Exponential { gamma: 0.9 };
    for t in [0, 1, 5, 50] {
        assert!(
            close(exp.lr(base, t), base * 0.9f64.powi(t as i32)),
            "exp t={t}"
        );
    }

    let cos = Schedule::CosineWarmup {
        warmup: 4,
        total: 104,
        min_lr: 0.001,
    };
    // Linear warm-up η₀ (t+1)/w, reaching η₀ at the last warm-up step.
    for (t, want) in [(0, 0.025), (1, 0.05), (2, 0.075), (3, 0.1)] {
        assert!(close(cos.lr(base, t), want), "warm-up t={t}");
    }
    // Cosine from η₀ at t = w, half way at the middle, η_min at and after `total`.
    assert!(close(cos.lr(base, 4), base));
    assert!(close(cos.lr(base, 54), 0.5 * (base + 0.001)));
    assert!(close(
        cos.lr(base, 29),
        0.001 + 0.5 * 0.099 * (1.0 + (0.25 * std::f64::consts::PI).cos())
    ));
    assert_eq!(cos.lr(base, 104), 0.001);
    assert_eq!(cos.lr(base, 10_000), 0.001);
    // Non-increasing after warm-up.
    for t in 4..104 {
        assert!(cos.lr(base, t + 1) <= cos.lr(base, t));
    }
}

/// Optimizer state of a gradient that became exactly zero (a dead unit) decays geometrically;
/// it is flushed to zero instead of entering the subnormal range, where each operation costs
/// ~100 cycles on x86 (`optim::flush_subnormal`). Without the flush Adam's `m` does not even
/// reach zero: `0.9 · 6e-45` rounds back to `6e-45`, a subnormal for ever.
#[test]
fn decaying_optimizer_state_never_turns_subnormal() {
    let make: Vec<(&str, Box<dyn optim::Optimizer<f32>>)> = vec![
        ("adam", Box::new(optim::Adam::new(1e-3).unwrap())),
        (
            "sgd momentum",
            Box::new(optim::Sgd::new(1e-2).unwrap().momentum(0.9).unwrap()),
        ),
        (
            "rmsprop",
            Box::new(optim::RmsProp::new(1e-3).unwrap().momentum(0.9).unwrap()),
        ),
    ];
    for (name, mut opt) in make {
        let mut rng = optim::rng(1);
        let mut layer = optim::Linear::<f32>::new(3, 2, &mut rng);
        for step in 0..3000 {
            layer.visit_params(&mut |_, p| p.grad.fill(if step == 0 { 1e-3 } else { 0.0 }));
            opt.step(&mut layer).unwrap();
        }
        let state = opt.export_state(&mut layer);
        assert!(!state.is_empty(), "{name}: no state");
        for (slot, m) in state {
            for &v in m.iter() {
                assert!(
                    v == 0.0 || v.abs() >= f32::MIN_POSITIVE,
                    "{name} {slot}: {v:e}"
                );
            }
        }
        layer.visit_params(&mut |n, p| {
            assert!(p.value.iter().all(|v| v.is_finite()), "{name} {n}");
        });
    }
}

/// §5.1's saddle: gradient descent (step `η = 0.1`) from `(ε, εδ)` near the strict saddle of
/// `½x₁² − ½x₂² + ¼x₂⁴` leaves (`f ≤ −0.1`) only after the unstable coordinate has grown from
/// `εδ` by `(1 + η)` per step, so each factor 100 closer to the stable manifold costs
/// `ln 100 / ln 1.1 ≈ 48.3` more steps; at `δ = 0` it never leaves.
fn saddle_escape_steps(delta: f64, noise: f64, seed: u64, max_iters: usize) -> Option<usize> {
    use optim::testfns::{StrictSaddle, escape_saddle};
    let eps = 0.1;
    let mut sgd = Sgd::new(0.1).unwrap();
    escape_saddle(
        &StrictSaddle,
        &StrictSaddle::SADDLE,
        &mut sgd,
        &[eps, eps * delta],
        noise,
        0.1,
        max_iters,
        &mut optim::rng(seed),
    )
    .unwrap()
    .escaped_at
}

#[test]
fn gradient_descent_stalls_at_a_saddle_for_log_one_over_delta_steps() {
    let per_two_decades = 100f64.ln() / 1.1f64.ln();
    let steps: Vec<usize> = (1..=6)
        .map(|k| saddle_escape_steps(10f64.powi(-2 * k), 0.0, 0, 100_000).unwrap())
        .collect();
    for w in steps.windows(2) {
        let extra = w[1] as f64 - w[0] as f64;
        assert!(
            (extra - per_two_decades).abs() <= 1.5,
            "steps {steps:?}: {extra} more per factor 100, expected {per_two_decades:.1}"
        );
    }
    // exactly on the stable manifold the unstable coordinate stays 0: descent converges to the
    // saddle and never leaves
    assert_eq!(saddle_escape_steps(0.0, 0.0, 0, 20_000), None);
}

proptest! {
    #![proptest_config(config(32))]

    /// With gradient noise of standard deviation `0.01` (a stand-in for SGD's), the escape takes
    /// a bounded number of steps whatever `δ`, `δ = 0` included: the noise puts the iterate off
    /// the stable manifold by about `η σ / √(2η)` within a few steps, and from there the growth by
    /// `1 + η` takes ~60 steps. Plain descent at `δ = 1e-12` needs over 300.
    #[test]
    fn gradient_noise_escapes_a_saddle_in_bounded_steps(
        exponent in 2.0..14.0f64,
        exact in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let delta = if exact { 0.0 } else { 10f64.powf(-exponent) };
        let noisy = saddle_escape_steps(delta, 0.01, seed, 100_000).unwrap();
        prop_assert!(noisy <= 150, "noisy escape took {noisy} steps at delta {delta:e}");
        let plain = saddle_escape_steps(1e-12, 0.0, seed, 100_000).unwrap();
        prop_assert!(plain > 300, "plain descent at delta 1e-12 left after {plain} steps");
    }
}
