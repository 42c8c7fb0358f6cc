//! Kind 2: the chapter's mathematics as properties — "expressive power grows exponentially with
//! depth" (notes §3.2), made countable on a line: the depth-k sawtooth has 2^k linear pieces,
//! a one-hidden-layer ReLU network of n units at most n + 1.

use mlp::Config;
use mlp::pieces::{Piece, linear_pieces, sawtooth, tent_power};
use optim::{Activation, Mat};
use proptest::prelude::*;
use rand::Rng;

fn check_pieces_agree_with_network(model: &mlp::Mlp<f64>, pieces: &[Piece], lo: f64, hi: f64) {
    assert_eq!(pieces.first().unwrap().start, lo);
    assert_eq!(pieces.last().unwrap().end, hi);
    for w in pieces.windows(2) {
        assert_eq!(w[0].end, w[1].start);
        // continuity at every breakpoint
        let x = w[0].end;
        assert!((w[0].at(x) - w[1].at(x)).abs() < 1e-9 * (1.0 + w[0].at(x).abs()));
    }
    // every piece agrees with the network at interior points
    for p in pieces {
        let xs: Vec<f64> = [0.25, 0.5, 0.75]
            .iter()
            .map(|t| p.start + t * (p.end - p.start))
            .collect();
        let x = Mat::from_row_slice(1, xs.len(), &xs);
        let y = model.predict(&x).unwrap();
        for (j, &xj) in xs.iter().enumerate() {
            assert!(
                (y[(0, j)] - p.at(xj)).abs() < 1e-9 * (1.0 + p.at(xj).abs()),
                "piece {p:?} at {xj}: network {}",
                y[(0, j)]
            );
        }
    }
}

/// `Init::Normal` leaves biases at zero, which would put every first-layer breakpoint at 0;
/// draw them from N(0, 1) instead.
fn randomize_biases(model: &mut mlp::Mlp<f64>, rng: &mut impl Rng) {
    let mut k = 0;
    while let Some(l) = model.linear_mut(k) {
        if let Some(b) = l.bias.as_mut() {
            b.value
                .apply(|v| *v = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng));
        }
        k += 1;
    }
}

#[test]
fn sawtooth_of_depth_k_has_two_to_the_k_pieces() {
    for k in 1..=12 {
        let model = sawtooth(k).unwrap();
        let pieces = linear_pieces(&model, 0.0, 1.0).unwrap();
        assert_eq!(pieces.len(), 1 << k, "depth {k}");
        // the pieces alternate between slope +2^k and −2^k, each spanning 2^-k
        let s = (1u64 << k) as f64;
        for (i, p) in pieces.iter().enumerate() {
            assert_eq!(p.slope, if i % 2 == 0 { s } else { -s });
            assert_eq!(p.end - p.start, 1.0 / s);
        }
        check_pieces_agree_with_network(&model, &pieces, 0.0, 1.0);
        // and the network is the k-fold tent map
        let xs: Vec<f64> = (0..=1000).map(|i| i as f64 / 1000.0).collect();
        let y = model
            .predict(&Mat::from_row_slice(1, xs.len(), &xs))
            .unwrap();
        for (j, &x) in xs.iter().enumerate() {
            assert!((y[(0, j)] - tent_power(k, x)).abs() < 1e-12);
        }
        // 2k hidden units in all: a shallow network with as many units has at most 2k + 1
        // pieces, far fewer than 2^k once k > 2
        let units: usize = model.config().hidden.iter().sum();
        assert_eq!(units, 2 * k);
        if k > 2 {
            assert!(units + 1 < 1 << k);
        }
    }
}

#[test]
fn one_hidden_layer_of_n_units_has_at_most_n_plus_one_pieces() {
    let mut rng = optim::rng(7);
    let mut most: f64 = 0.0;
    for n in [1, 2, 3, 5, 8, 16, 32, 64] {
        for trial in 0..20 {
            let mut model = Config::regressor(1, &[n], 1)
                .init_with(optim::Init::Normal(1.0))
                .init::<f64>(&mut rng)
                .unwrap();
            randomize_biases(&mut model, &mut rng);
            let pieces = linear_pieces(&model, -3.0, 3.0).unwrap();
            assert!(
                pieces.len() <= n + 1,
                "n = {n}, trial {trial}: {}",
                pieces.len()
            );
            most = most.max(pieces.len() as f64 / (n + 1) as f64);
            check_pieces_agree_with_network(&model, &pieces, -3.0, 3.0);
        }
    }
    // random networks reach the bound (breakpoints N(0,1)/N(0,1) mostly inside [−3, 3])
    assert_eq!(most, 1.0);
    // the bound is reached: units with breakpoints spread over the interval and alternating
    // output weights bend the line at every breakpoint
    let n = 10;
    let mut model = Config::regressor(1, &[n], 1).init::<f64>(&mut rng).unwrap();
    let l0 = model.linear_mut(0).unwrap();
    l0.weight.value = Mat::from_element(n, 1, 1.0);
    l0.bias.as_mut().unwrap().value = Mat::from_fn(n, 1, |i, _| -(i as f64) / n as f64);
    let l1 = model.linear_mut(1).unwrap();
    l1.weight.value = Mat::from_fn(1, n, |_, j| if j % 2 == 0 { 1.0 } else { -1.5 });
    let pieces = linear_pieces(&model, -1.0, 1.0).unwrap();
    assert_eq!(pieces.len(), n + 1);
}

/// Every breakpoint of the sawtooth bends it (neighbouring slopes differ), so its 2^k pieces
/// are genuine and a one-hidden-layer network needs at least 2^k − 1 units to compute it.
#[test]
fn every_sawtooth_breakpoint_bends_the_function() {
    let model = sawtooth(4).unwrap();
    let pieces = linear_pieces(&model, 0.0, 1.0).unwrap();
    for w in pieces.windows(2) {
        assert_ne!(w[0].slope, w[1].slope);
    }
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(64))]

    /// For random deep ReLU and leaky-ReLU networks (with batch norm in evaluation mode), the
    /// exact pieces agree with the network everywhere and are bounded by the product bound
    /// ∏ (h_l + 1) on the number of regions.
    #[test]
    fn pieces_of_random_deep_networks_agree_with_the_network(
        seed in 0u64..100_000,
        depth in 1usize..=4,
        leaky in any::<bool>(),
        batch_norm in any::<bool>(),
    ) {
        let mut rng = optim::rng(seed);
        let hidden: Vec<usize> = (0..depth).map(|_| rng.random_range(1..7)).collect();
        let activation = if leaky { Activation::LeakyRelu(0.1) } else { Activation::Relu };
        let mut model = Config::regressor(1, &hidden, 1)
            .activation(activation)
            .batch_norm(batch_norm)
            .init_with(optim::Init::Normal(1.0))
            .init::<f64>(&mut rng)
            .unwrap();
        randomize_biases(&mut model, &mut rng);
        let mut k = 0;
        while let Some(bn) = model.batch_norm_mut(k) {
            bn.running_mean.apply(|v| *v = rng.random_range(-0.5..0.5));
            bn.running_var.apply(|v| *v = rng.random_range(0.5..2.0));
            k += 1;
        }
        let pieces = linear_pieces(&model, -2.0, 2.0).unwrap();
        check_pieces_agree_with_network(&model, &pieces, -2.0, 2.0);
        let bound: usize = hidden.iter().map(|h| h + 1).product();
        prop_assert!(pieces.len() <= bound, "{} pieces, bound {bound}", pieces.len());
    }
}

#[test]
fn piece_counting_rejects_what_it_cannot_count() {
    let tanh = Config::regressor(1, &[3], 1)
        .activation(Activation::Tanh)
        .init::<f64>(&mut optim::rng(0))
        .unwrap();
    assert!(linear_pieces(&tanh, 0.0, 1.0).is_err());
    let wide = Config::regressor(2, &[3], 1)
        .init::<f64>(&mut optim::rng(0))
        .unwrap();
    assert!(linear_pieces(&wide, 0.0, 1.0).is_err());
    let ok = Config::regressor(1, &[3], 1)
        .init::<f64>(&mut optim::rng(0))
        .unwrap();
    assert!(linear_pieces(&ok, 1.0, 1.0).is_err());
    assert!(sawtooth(0).is_err());
}
