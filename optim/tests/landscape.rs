//! Notes §5.2 as properties (test kind 2), on a small network (`testing::Probe`, `f64`,
//! `3 → 4 → 3`, tanh, soft-max cross-entropy, 31 parameters):
//!
//! - the mini-batch gradient is **unbiased**: over *every* batch of `B` of `N` examples (all
//!   `C(N, B)` of them), the mean mini-batch gradient is the full gradient up to rounding, for
//!   every `B`; one epoch's batches of a shuffled partition average to it too;
//! - its variance over all batches is exactly `σ² (N − B)/(B (N − 1))` (`σ²` the per-example
//!   spread): it falls as `1/B`, times the finite-population factor;
//! - the gradient the model computes on a batch is the mean of its examples' gradients;
//! - over random draws the average converges to the full gradient, and the measured variance at
//!   `B = 1 … 32` matches the formula;
//! - the Hessian-vector product by differences of gradients is symmetric (`uᵀHv = vᵀHu`), and the
//!   sharpness by power iteration bounds every Rayleigh quotient.

use optim::data::Dataset;
use optim::landscape::{
    batch_gradient, finite_population_factor, full_gradient, hessian_vector_product,
    minibatch_gradient, minibatch_variance, per_example_gradients, per_example_spread, sharpness,
};
use optim::testing::Probe;
use optim::{Mat, rand::Rng};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        default
    } else {
        ProptestConfig { cases, ..default }
    }
}

/// `n` random examples of 3 features and 3 classes, and a random `3 → 4 → 3` network.
fn problem(n: usize, seed: u64) -> (Probe<f64>, Dataset<f64>) {
    let mut rng = optim::rng(seed);
    let x = Mat::from_fn(3, n, |_, _| rng.random_range(-2.0..2.0));
    let labels = (0..n).map(|_| rng.random_range(0..3)).collect();
    let data = Dataset::classification(x, labels).unwrap();
    (Probe::new(3, 4, 3, 0.0, false, seed), data)
}

/// Every subset of `0..n` with `b` elements, in lexicographic order.
fn subsets(n: usize, b: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == b)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn norm2(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum()
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn every_batch_of_b_averages_to_the_full_gradient_with_variance_sigma2_fpc_over_b(
        n in 3usize..=9,
        seed in any::<u64>(),
    ) {
        let (mut model, data) = problem(n, seed);
        let full = full_gradient(&mut model, &data, 0).unwrap();
        let g = per_example_gradients(&mut model, &data, 0).unwrap();
        let scale = norm2(&full).max(1e-3);
        for b in 1..=n {
            let batches = subsets(n, b);
            let gradients: Vec<Vec<f64>> = batches
                .iter()
                .map(|s| minibatch_gradient(&g, s).unwrap())
                .collect();
            let count = gradients.len() as f64;
            let mean: Vec<f64> = (0..full.len())
                .map(|j| gradients.iter().map(|v| v[j]).sum::<f64>() / count)
                .collect();
            prop_assert!(distance2(&mean, &full) <= 1e-24 * scale, "B = {b}: biased");
            let variance = gradients.iter().map(|v| distance2(v, &full)).sum::<f64>() / count;
            let formula = minibatch_variance(&g, b).unwrap();
            prop_assert!(
                (variance - formula).abs() <= 1e-10 * per_example_spread(&g).max(1e-12),
                "B = {b}: variance {variance} over all batches, formula {formula}"
            );
        }
        // the model's own batch gradient is the mean of its examples' gradients
        for s in subsets(n, n.div_ceil(2)).iter().take(5) {
            let (_, computed) = batch_gradient(&mut model, &data, s, 0).unwrap();
            let mean = minibatch_gradient(&g, s).unwrap();
            prop_assert!(distance2(&computed, &mean) <= 1e-24 * scale.max(norm2(&mean)));
        }
    }

    #[test]
    fn one_epoch_of_batches_averages_to_the_full_gradient(
        b in 1usize..=6,
        batches in 1usize..=6,
        seed in any::<u64>(),
    ) {
        let n = b * batches;
        let (mut model, data) = problem(n, seed);
        let full = full_gradient(&mut model, &data, 0).unwrap();
        let order = optim::data::permutation(n, &mut optim::rng(seed ^ 1));
        let mut mean = vec![0.0; full.len()];
        for batch in order.chunks(b) {
            let (_, gb) = batch_gradient(&mut model, &data, batch, 0).unwrap();
            mean.iter_mut().zip(&gb).for_each(|(m, g)| *m += g / batches as f64);
        }
        prop_assert!(distance2(&mean, &full) <= 1e-24 * norm2(&full).max(1e-3));
    }
}

/// Random draws without replacement: the average of `D` mini-batch gradients approaches the
/// full gradient (its squared error about `Var/D`), and the measured variance at each `B`
/// matches `σ² (N − B)/(B (N − 1))` within 10 % (4000 draws; seeded).
#[test]
fn random_batches_converge_and_their_variance_falls_as_one_over_b() {
    let n = 64;
    let (mut model, data) = problem(n, 7);
    let full = full_gradient(&mut model, &data, 0).unwrap();
    let g = per_example_gradients(&mut model, &data, 0).unwrap();
    let mut rng = optim::rng(11);
    let draws = 4000;
    let mut previous = f64::INFINITY;
    for b in [1, 2, 4, 8, 16, 32] {
        let mut sum = vec![0.0; full.len()];
        let mut squared_error = 0.0;
        let mut error_after_100 = 0.0;
        for d in 1..=draws {
            let batch = &optim::data::permutation(n, &mut rng)[..b];
            let gb = minibatch_gradient(&g, batch).unwrap();
            squared_error += distance2(&gb, &full);
            sum.iter_mut().zip(&gb).for_each(|(s, v)| *s += v);
            if d == 100 {
                let avg: Vec<f64> = sum.iter().map(|s| s / 100.0).collect();
                error_after_100 = distance2(&avg, &full);
            }
        }
        let variance = squared_error / draws as f64;
        let formula = minibatch_variance(&g, b).unwrap();
        assert!(
            (variance / formula - 1.0).abs() < 0.1,
            "B = {b}: measured {variance}, formula {formula}"
        );
        assert!(
            variance < previous,
            "variance did not fall from B/2 to B = {b}"
        );
        previous = variance;
        // the factor itself: σ² (N − B)/(B (N − 1))
        let fpc = finite_population_factor(n, b).unwrap();
        assert!((formula - per_example_spread(&g) * fpc).abs() <= 1e-12 * formula);
        let avg: Vec<f64> = sum.iter().map(|s| s / draws as f64).collect();
        let error = distance2(&avg, &full);
        assert!(
            error < 5.0 * formula / draws as f64,
            "B = {b}: the average of {draws} draws is {error} from the full gradient"
        );
        assert!(
            error < error_after_100,
            "B = {b}: the average did not approach"
        );
    }
}

/// `H v` by differences of gradients is symmetric, `uᵀ H v = vᵀ H u` (the Hessian is), and the
/// sharpness found by power iteration is at least every Rayleigh quotient of random directions
/// (it is the top of the spectrum, here positive: the network is not at a maximum).
#[test]
fn hessian_vector_products_are_symmetric_and_sharpness_bounds_rayleigh_quotients() {
    let (mut model, data) = problem(20, 3);
    let all: Vec<usize> = (0..20).collect();
    let p = optim::param_count(&mut model);
    let mut rng = optim::rng(5);
    let mut random = || -> Vec<f64> {
        let v: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
        let n = norm2(&v).sqrt();
        v.into_iter().map(|x| x / n).collect()
    };
    let lambda = sharpness(&mut model, &data, &all, 100, 1e-5, 9).unwrap();
    assert!(lambda > 0.0);
    for _ in 0..10 {
        let (u, v) = (random(), random());
        let hv = hessian_vector_product(&mut model, &data, &all, &v, 1e-5, 0).unwrap();
        let hu = hessian_vector_product(&mut model, &data, &all, &u, 1e-5, 0).unwrap();
        let uhv: f64 = u.iter().zip(&hv).map(|(a, b)| a * b).sum();
        let vhu: f64 = v.iter().zip(&hu).map(|(a, b)| a * b).sum();
        assert!((uhv - vhu).abs() < 1e-7, "uHv {uhv} vs vHu {vhu}");
        let vhv: f64 = v.iter().zip(&hv).map(|(a, b)| a * b).sum();
        assert!(
            vhv <= lambda * (1.0 + 1e-6),
            "Rayleigh {vhv} > sharpness {lambda}"
        );
    }
}
