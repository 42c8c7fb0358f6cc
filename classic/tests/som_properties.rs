//! The mathematics of self-organizing maps as properties (proptest).

use classic::som::{
    Decay, Grid, Neighbourhood, Order, Som, SomConfig, SomInit, Topology, Training,
};
use optim::Mat;
use proptest::prelude::*;
use rand::Rng;

const NEIGHBOURHOODS: [Neighbourhood; 3] = [
    Neighbourhood::Gaussian,
    Neighbourhood::Bubble,
    Neighbourhood::MexicanHat,
];

fn topology(hex: bool) -> Topology {
    if hex {
        Topology::Hexagonal
    } else {
        Topology::Rectangular
    }
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
    #![proptest_config(config(32))]

    /// Kohonen's ordering theorem in one dimension: a chain of units trained on points of a line
    /// ends up ordered along the line (its weights' coordinates along the line are monotone).
    #[test]
    fn one_dimensional_map_orders_itself_along_a_line(
        units in 5usize..16, seed in 0u64..10_000, angle in 0.0f64..std::f64::consts::PI,
    ) {
        let mut rng = optim::rng(seed);
        let direction = [angle.cos(), angle.sin()];
        let offset = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
        let data = Mat::from_fn(2, 200, |i, j| {
            let t = ((j * 7919) % 200) as f64 / 199.0 * 4.0 - 2.0;
            offset[i] + t * direction[i]
        });
        let config = SomConfig {
            nx: units,
            ny: 1,
            sigma: units as f64 / 2.0,
            learning_rate: 0.5,
            sigma_decay: Decay::Linear { end: 0.5 },
            learning_rate_decay: Decay::Linear { end: 0.01 },
            init: SomInit::Random,
            iterations: 3000,
            training: Training::Online(Order::Random),
            ..SomConfig::default()
        };
        let som = classic::som::train(&config, &data, &mut rng, &mut |_, _| {}).unwrap();
        let along: Vec<f64> = (0..units)
            .map(|k| {
                let w = som.weights.value.column(k);
                (w[0] - offset[0]) * direction[0] + (w[1] - offset[1]) * direction[1]
            })
            .collect();
        let increasing = along.windows(2).all(|p| p[1] > p[0]);
        let decreasing = along.windows(2).all(|p| p[1] < p[0]);
        prop_assert!(increasing || decreasing, "not ordered: {along:?}");
    }

    /// The update is exactly `w_k ← w_k + η h_k (x − w_k)`; for the winner `h = 1`, so its distance
    /// to the input shrinks by exactly the factor `1 − η`.
    #[test]
    fn the_update_moves_units_by_exactly_the_formula(
        nx in 1usize..6, ny in 1usize..6, dim in 1usize..5, hex in any::<bool>(),
        kind in 0usize..3, lr in 0.0f64..1.0, sigma in 0.1f64..3.0, seed in 0u64..10_000,
    ) {
        let mut rng = optim::rng(seed);
        let grid = Grid::new(nx, ny, topology(hex)).unwrap();
        let neighbourhood = NEIGHBOURHOODS[kind];
        let mut som = Som::<f64>::new(grid.clone(), dim, neighbourhood, &mut rng).unwrap();
        let x: Vec<f64> = (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect();
        let before = som.weights.value.clone();
        let c = som.bmu(&x);
        som.update(&x, c, lr, sigma);
        let (ci, cj) = grid.coords(c);
        for k in 0..grid.units() {
            let (i, j) = grid.coords(k);
            let d2 = grid.distance2(k, c);
            // the neighbourhood written out independently of the library
            let h = match neighbourhood {
                Neighbourhood::Gaussian => (-d2 / (2.0 * sigma * sigma)).exp(),
                Neighbourhood::MexicanHat => {
                    (-d2 / (2.0 * sigma * sigma)).exp() * (1.0 - d2 / (sigma * sigma))
                }
                Neighbourhood::Bubble => {
                    let inside = (i as f64 - ci as f64).abs() < sigma
                        && (j as f64 - cj as f64).abs() < sigma;
                    if inside { 1.0 } else { 0.0 }
                }
            };
            for r in 0..dim {
                let want = before[(r, k)] + lr * h * (x[r] - before[(r, k)]);
                prop_assert!((som.weights.value[(r, k)] - want).abs() <= 1e-12 * (1.0 + want.abs()));
            }
        }
        let dist = |w: &Mat<f64>| (0..dim).map(|r| (x[r] - w[(r, c)]).powi(2)).sum::<f64>().sqrt();
        prop_assert!((dist(&som.weights.value) - (1.0 - lr) * dist(&before)).abs() <= 1e-12);
    }

    /// With the learning rate and the radius frozen at 0, training is a fixed point: the weights
    /// do not move and the quantization error does not change, online or batch.
    #[test]
    fn frozen_training_is_a_fixed_point(
        seed in 0u64..10_000, hex in any::<bool>(), batch in any::<bool>(), kind in 0usize..3,
    ) {
        let mut rng = optim::rng(seed);
        let data = Mat::from_fn(3, 40, |_, _| rng.random_range(-1.0..1.0));
        let config = SomConfig {
            nx: 4,
            ny: 3,
            topology: topology(hex),
            neighbourhood: NEIGHBOURHOODS[kind],
            sigma: 0.0,
            learning_rate: 0.0,
            sigma_decay: Decay::Constant,
            learning_rate_decay: Decay::Constant,
            init: SomInit::Sample,
            iterations: 50,
            training: if batch { Training::Batch } else { Training::Online(Order::Random) },
        };
        let mut som = Som::from_config(&config, &data, &mut rng).unwrap();
        let before = som.weights.value.clone();
        let qe = som.quantization_error(&data).unwrap();
        let mut seen = Vec::new();
        som.train(&data, &config, &mut rng, &mut |_, s| seen.push(s.quantization_error(&data).unwrap()))
            .unwrap();
        prop_assert_eq!(&som.weights.value, &before);
        prop_assert!(seen.iter().all(|&q| q == qe));
    }

    /// With the radius at 0 and η = 1 the batch map is Lloyd's k-means step, so the squared
    /// distortion `Σ ‖x − w_c‖²` never increases from one pass to the next.
    #[test]
    fn winner_take_all_batch_map_never_increases_distortion(seed in 0u64..10_000) {
        let mut rng = optim::rng(seed);
        let data = Mat::from_fn(2, 60, |_, _| rng.random_range(-1.0..1.0));
        let config = SomConfig {
            nx: 3,
            ny: 3,
            sigma: 0.0,
            learning_rate: 1.0,
            sigma_decay: Decay::Constant,
            learning_rate_decay: Decay::Constant,
            init: SomInit::Sample,
            iterations: 15,
            training: Training::Batch,
            ..SomConfig::default()
        };
        let mut som = Som::from_config(&config, &data, &mut rng).unwrap();
        let distortion = |s: &Som<f64>| -> f64 {
            data.column_iter()
                .map(|x| (x - s.weights.value.column(s.bmu(x.as_slice()))).norm_squared())
                .sum()
        };
        let mut history = vec![distortion(&som)];
        som.train(&data, &config, &mut rng, &mut |_, s| history.push(distortion(s))).unwrap();
        for w in history.windows(2) {
            prop_assert!(w[1] <= w[0] + 1e-12, "{history:?}");
        }
    }

    /// The grid's adjacency is symmetric and agrees with the neighbour lists; hexagonal
    /// neighbours all sit at distance 1, rectangular ones within a 3 x 3 square.
    #[test]
    fn grid_adjacency(nx in 1usize..8, ny in 1usize..8, hex in any::<bool>()) {
        let grid = Grid::new(nx, ny, topology(hex)).unwrap();
        for a in 0..grid.units() {
            let nb = grid.neighbours(a);
            let most = if hex { 6 } else { 8 };
            prop_assert!(nb.len() <= most);
            for b in 0..grid.units() {
                prop_assert_eq!(grid.adjacent(a, b), grid.adjacent(b, a));
                prop_assert_eq!(grid.adjacent(a, b), nb.contains(&b), "{} {}", a, b);
                if hex && grid.adjacent(a, b) {
                    prop_assert!((grid.distance2(a, b) - 1.0).abs() < 1e-12);
                }
            }
            let (i, j) = grid.coords(a);
            let inner = i > 0 && j > 0 && i + 1 < nx && j + 1 < ny;
            if inner {
                prop_assert_eq!(nb.len(), most);
            }
        }
    }

    /// The U-matrix lies in [0, 1] with its maximum at 1; QE ≥ 0 and TE ∈ [0, 1].
    #[test]
    fn measures_are_in_range(seed in 0u64..10_000, hex in any::<bool>()) {
        let mut rng = optim::rng(seed);
        let data = Mat::from_fn(3, 30, |_, _| rng.random_range(-1.0..1.0));
        let config = SomConfig {
            nx: 5,
            ny: 4,
            topology: topology(hex),
            iterations: 200,
            ..SomConfig::default()
        };
        let som = classic::som::train(&config, &data, &mut rng, &mut |_, _| {}).unwrap();
        let um = som.u_matrix(false);
        prop_assert!(um.iter().all(|&v| (0.0..=1.0).contains(&v)));
        prop_assert!((um.max() - 1.0).abs() < 1e-15);
        let te = som.topographic_error(&data).unwrap();
        prop_assert!((0.0..=1.0).contains(&te));
        prop_assert!(som.quantization_error(&data).unwrap() >= 0.0);
        let counts = som.activation_response(&data).unwrap();
        prop_assert_eq!(counts.sum(), 30.0);
        let wm = som.winner_map(&data).unwrap();
        prop_assert_eq!(wm.iter().map(Vec::len).sum::<usize>(), 30);
        // QE is the mean distance to the quantized data
        let q = som.quantize(&data).unwrap();
        let mean_dist = (0..30).map(|n| (data.column(n) - q.column(n)).norm()).sum::<f64>() / 30.0;
        prop_assert!((mean_dist - som.quantization_error(&data).unwrap()).abs() < 1e-12);
        let plane = som.component_plane(2).unwrap();
        prop_assert_eq!(plane[(4, 3)], som.unit_weights(4, 3)[2]);
        prop_assert!(som.component_plane(3).is_err());
    }
}

/// A map whose weights *are* the grid positions, probed at those positions: every example's
/// best unit is exact (QE 0) and its second best is a grid neighbour (TE 0).
#[test]
fn an_isometric_map_has_zero_errors() {
    for hex in [false, true] {
        let grid = Grid::new(5, 6, topology(hex)).unwrap();
        let mut som =
            Som::<f64>::new(grid.clone(), 2, Neighbourhood::Gaussian, &mut optim::rng(0)).unwrap();
        for k in 0..grid.units() {
            let (px, py) = grid.position(k);
            som.weights.value[(0, k)] = px;
            som.weights.value[(1, k)] = py;
        }
        let data = som.weights.value.clone();
        assert_eq!(som.quantization_error(&data).unwrap(), 0.0);
        assert_eq!(som.topographic_error(&data).unwrap(), 0.0);
        // and a permuted map (units swapped far apart) is caught by the topographic error
        let mut shuffled = som.clone();
        shuffled.weights.value.swap_columns(0, grid.units() - 1);
        assert!(shuffled.topographic_error(&data).unwrap() > 0.0);
    }
}

#[test]
fn decay_schedules() {
    assert_eq!(Decay::Asymptotic.at(0.5, 0, 100), 0.5);
    assert!((Decay::Asymptotic.at(0.5, 100, 100) - 0.5 / 3.0).abs() < 1e-15);
    assert!((Decay::Asymptotic.at(3.0, 50, 100) - 1.5).abs() < 1e-15);
    assert_eq!(Decay::Linear { end: 0.0 }.at(2.0, 25, 100), 1.5);
    assert_eq!(Decay::Linear { end: 1.0 }.at(3.0, 50, 100), 2.0);
    assert!((Decay::Exponential { end: 0.01 }.at(1.0, 50, 100) - 0.1).abs() < 1e-12);
    assert_eq!(Decay::Constant.at(0.7, 99, 100), 0.7);
}
