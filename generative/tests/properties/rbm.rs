//! Properties of the RBM against brute force: free energy, conditionals, log Z, AIS.

use generative::rbm::{AisConfig, Rbm, Visible, logsumexp};
use optim::Mat;
use optim::testing::proptest_config;
use proptest::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, Normal};

fn random_rbm(units: Visible, nv: usize, nh: usize, scale: f64, seed: u64) -> Rbm<f64> {
    let mut rng = optim::rng(seed);
    let normal = Normal::new(0.0, scale).unwrap();
    let w = Mat::from_fn(nh, nv, |_, _| normal.sample(&mut rng));
    let b: Vec<f64> = (0..nv).map(|_| normal.sample(&mut rng)).collect();
    let c: Vec<f64> = (0..nh).map(|_| normal.sample(&mut rng)).collect();
    Rbm::from_parts(units, w, &b, &c).unwrap()
}

/// Every binary state of `n` units, one per column.
fn states(n: usize) -> Mat<f64> {
    Mat::from_fn(n, 1 << n, |i, s| ((s >> i) & 1) as f64)
}

fn random_visible(rbm: &Rbm<f64>, n: usize, seed: u64) -> Mat<f64> {
    let mut rng = optim::rng(seed);
    match rbm.units() {
        Visible::Bernoulli => {
            Mat::from_fn(rbm.visible(), n, |_, _| f64::from(rng.random::<bool>()))
        }
        Visible::Gaussian => Mat::from_fn(rbm.visible(), n, |_, _| rng.random::<f64>() * 4.0 - 2.0),
    }
}

proptest! {
    #![proptest_config(proptest_config(24))]

    /// F(v) = −log Σ_h exp(−E(v, h)), by summing over all 2^{n_h} hidden states.
    #[test]
    fn free_energy_is_minus_log_sum_over_hidden_states(
        nv in 1usize..7, nh in 1usize..7, seed in 0u64..1000, gaussian in any::<bool>()
    ) {
        let units = if gaussian { Visible::Gaussian } else { Visible::Bernoulli };
        let rbm = random_rbm(units, nv, nh, 1.0, seed);
        let v = random_visible(&rbm, 5, seed + 1);
        let f = rbm.free_energy(&v);
        let hs = states(nh);
        for col in 0..v.ncols() {
            let vv = Mat::from_fn(nv, hs.ncols(), |j, _| v[(j, col)]);
            let e = rbm.energy(&vv, &hs);
            let brute = -logsumexp(&e.iter().map(|x| -x).collect::<Vec<_>>());
            prop_assert!((f[col] - brute).abs() < 1e-9 * (1.0 + brute.abs()), "{} vs {}", f[col], brute);
        }
    }

    /// p(hᵢ = 1 | v) = Σ_{h: hᵢ = 1} e^{−E(v,h)} / Σ_h e^{−E(v,h)} from the joint.
    #[test]
    fn hidden_conditional_matches_the_joint(
        nv in 1usize..6, nh in 1usize..6, seed in 0u64..1000, gaussian in any::<bool>()
    ) {
        let units = if gaussian { Visible::Gaussian } else { Visible::Bernoulli };
        let rbm = random_rbm(units, nv, nh, 1.5, seed);
        let v = random_visible(&rbm, 3, seed + 7);
        let p = rbm.hidden_probs(&v).unwrap();
        let hs = states(nh);
        for col in 0..v.ncols() {
            let vv = Mat::from_fn(nv, hs.ncols(), |j, _| v[(j, col)]);
            let neg_e: Vec<f64> = rbm.energy(&vv, &hs).iter().map(|x| -x).collect();
            let lz = logsumexp(&neg_e);
            for i in 0..nh {
                let on: f64 = (0..hs.ncols()).filter(|s| (s >> i) & 1 == 1).map(|s| (neg_e[s] - lz).exp()).sum();
                prop_assert!((p[(i, col)] - on).abs() < 1e-10, "unit {i}: {} vs {}", p[(i, col)], on);
            }
        }
    }

    /// p(vⱼ = 1 | h) from the joint, for binary visible units.
    #[test]
    fn visible_conditional_matches_the_joint(nv in 1usize..6, nh in 1usize..6, seed in 0u64..1000) {
        let rbm = random_rbm(Visible::Bernoulli, nv, nh, 1.5, seed);
        let mut rng = optim::rng(seed);
        let h = Mat::from_fn(nh, 3, |_, _| f64::from(rng.random::<bool>()));
        let m = rbm.visible_means(&h).unwrap();
        let vs = states(nv);
        for col in 0..h.ncols() {
            let hh = Mat::from_fn(nh, vs.ncols(), |i, _| h[(i, col)]);
            let neg_e: Vec<f64> = rbm.energy(&vs, &hh).iter().map(|x| -x).collect();
            let lz = logsumexp(&neg_e);
            for j in 0..nv {
                let on: f64 = (0..vs.ncols()).filter(|s| (s >> j) & 1 == 1).map(|s| (neg_e[s] - lz).exp()).sum();
                prop_assert!((m[(j, col)] - on).abs() < 1e-10);
            }
        }
    }

    /// log Z by enumerating the smaller layer equals the double sum over every (v, h).
    #[test]
    fn log_partition_equals_the_double_sum(nv in 1usize..7, nh in 1usize..7, seed in 0u64..1000) {
        let rbm = random_rbm(Visible::Bernoulli, nv, nh, 1.0, seed);
        let (vs, hs) = (states(nv), states(nh));
        let mut all = Vec::new();
        for s in 0..vs.ncols() {
            let vv = Mat::from_fn(nv, hs.ncols(), |j, _| vs[(j, s)]);
            all.extend(rbm.energy(&vv, &hs).iter().map(|x| -x));
        }
        let want = logsumexp(&all);
        let got = rbm.log_partition().unwrap();
        prop_assert!((got - want).abs() < 1e-9 * (1.0 + want.abs()), "{got} vs {want}");
    }
}

/// A Gaussian–Bernoulli RBM of one visible unit: log Z against a quadrature of e^{−F(v)}.
#[test]
fn gaussian_log_partition_matches_quadrature() {
    for seed in 0..5 {
        let rbm = random_rbm(Visible::Gaussian, 1, 4, 1.0, seed);
        let (lo, hi, n) = (-30.0, 30.0, 60_001);
        let dx = (hi - lo) / (n - 1) as f64;
        let v = Mat::from_fn(1, n, |_, s| lo + s as f64 * dx);
        let neg_f: Vec<f64> = rbm.free_energy(&v).iter().map(|f| -f + dx.ln()).collect();
        let want = logsumexp(&neg_f);
        let got = rbm.log_partition().unwrap();
        assert!((got - want).abs() < 1e-6, "seed {seed}: {got} vs {want}");
    }
}

/// AIS's log Z lies within 3 standard errors of the exact value (enumerating up to 20 hidden
/// units), over random models and seeds; the errors are also small in absolute terms.
#[test]
fn ais_agrees_with_exact_enumeration_within_three_standard_errors() {
    let cases = [(12, 5, 0.5), (16, 10, 0.5), (24, 15, 0.3), (30, 20, 0.25)];
    let mut within = 0;
    let mut total = 0;
    for (case, &(nv, nh, scale)) in cases.iter().enumerate() {
        for seed in 0..3u64 {
            let rbm = random_rbm(Visible::Bernoulli, nv, nh, scale, 100 * case as u64 + seed);
            let exact = rbm.log_partition().unwrap();
            let est = rbm
                .ais_log_partition(
                    &AisConfig {
                        chains: 100,
                        temperatures: 2000,
                        seed,
                    },
                    None,
                )
                .unwrap();
            let z = (est.log_z - exact).abs() / est.std_error.max(1e-12);
            total += 1;
            if z <= 3.0 {
                within += 1;
            }
            assert!(
                (est.log_z - exact).abs() < 0.1,
                "{nv}x{nh} seed {seed}: AIS {} vs exact {exact}",
                est.log_z
            );
            eprintln!(
                "{nv}x{nh} seed {seed}: exact {exact:.4}, AIS {:.4} ± {:.4} ({z:.2} s.e.)",
                est.log_z, est.std_error
            );
        }
    }
    // a 3-s.e. interval misses about 0.3 % of the time if the error estimate is right
    assert!(
        within >= total - 1,
        "{within} of {total} within 3 standard errors"
    );
}

/// An RBM whose hidden layer is larger than the visible one is enumerated over v; the result
/// equals the one over h of its transpose-equivalent model (swap roles: b ↔ c, W ↔ Wᵀ).
#[test]
fn log_partition_is_symmetric_under_swapping_layers() {
    let rbm = random_rbm(Visible::Bernoulli, 6, 9, 1.0, 4);
    let swapped = Rbm::from_parts(
        Visible::Bernoulli,
        rbm.weight.value.transpose(),
        rbm.hidden_bias.value.as_slice(),
        rbm.visible_bias.value.as_slice(),
    )
    .unwrap();
    let (a, b) = (
        rbm.log_partition().unwrap(),
        swapped.log_partition().unwrap(),
    );
    assert!((a - b).abs() < 1e-10, "{a} vs {b}");
}
