//! Batching, splits, one-hot codes, standardization and the synthetic generators of
//! `optim::data`.

use optim::data::generate::{blobs, linearly_separable, two_moons, two_spirals, xor};
use optim::data::{
    Dataset, Standardizer, batches, one_hot, permutation, select_columns, select_columns_into,
    split_indices,
};
use optim::{Error, Mat};
use proptest::prelude::*;

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Every epoch's batches cover `0..n` exactly once, all full except possibly the last.
    #[test]
    fn batches_partition_the_indices(n in 0usize..200, size in 1usize..50, seed in any::<u64>()) {
        let mut rng = optim::rng(seed);
        let bs: Vec<Vec<usize>> = batches(n, size, Some(&mut rng)).collect();
        prop_assert_eq!(bs.len(), n.div_ceil(size));
        for (k, b) in bs.iter().enumerate() {
            if k + 1 < bs.len() {
                prop_assert_eq!(b.len(), size);
            } else {
                prop_assert!(!b.is_empty() && b.len() <= size);
            }
        }
        prop_assert_eq!(sorted(bs.concat()), (0..n).collect::<Vec<_>>());
    }

    /// A split is a disjoint cover with `round(n·f)` indices in the second part.
    #[test]
    fn split_is_a_disjoint_cover(n in 0usize..300, f in 0.0f64..=1.0, seed in any::<u64>()) {
        let (a, b) = split_indices(n, f, &mut optim::rng(seed)).unwrap();
        prop_assert_eq!(b.len(), (n as f64 * f).round() as usize);
        prop_assert_eq!(sorted([a, b].concat()), (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn batches_in_order_and_seeded() {
    let bs: Vec<Vec<usize>> = batches::<rand::rngs::StdRng>(7, 3, None).collect();
    assert_eq!(bs, [vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    let a: Vec<Vec<usize>> = batches(50, 8, Some(&mut optim::rng(3))).collect();
    let b: Vec<Vec<usize>> = batches(50, 8, Some(&mut optim::rng(3))).collect();
    let c: Vec<Vec<usize>> = batches(50, 8, Some(&mut optim::rng(4))).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // successive epochs from one generator differ
    let mut rng = optim::rng(3);
    let e1: Vec<Vec<usize>> = batches(50, 8, Some(&mut rng)).collect();
    let e2: Vec<Vec<usize>> = batches(50, 8, Some(&mut rng)).collect();
    assert_ne!(e1, e2);
    assert_eq!(
        sorted(permutation(10, &mut optim::rng(0))),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn split_rejects_bad_fraction() {
    for f in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            split_indices(10, f, &mut optim::rng(0)),
            Err(Error::Hyperparameter { .. })
        ));
    }
}

#[test]
fn dataset_select_split_and_gather() {
    let x = Mat::<f64>::from_fn(2, 6, |i, j| (10 * j + i) as f64);
    let d = Dataset::new(x.clone(), vec![0, 1, 2, 0, 1, 2]).unwrap();
    assert_eq!((d.len(), d.classes(), d.is_empty()), (6, 3, false));
    assert!(matches!(
        Dataset::new(x.clone(), vec![0; 5]),
        Err(Error::Shape { .. })
    ));
    let s = d.select(&[4, 1]);
    assert_eq!(s.x.column(0).as_slice(), &[40.0, 41.0]);
    assert_eq!(s.labels().unwrap(), [1, 1]);
    let (train, val) = d.split(1.0 / 3.0, &mut optim::rng(1)).unwrap();
    assert_eq!((train.len(), val.len()), (4, 2));
    // each example keeps its label: label = (column index) mod 3 = (x[0] / 10) mod 3
    for part in [&train, &val] {
        for (j, &l) in part.labels().unwrap().iter().enumerate() {
            assert_eq!((part.x[(0, j)] / 10.0) as usize % 3, l);
        }
    }
    let mut buf = Mat::zeros(1, 1);
    select_columns_into(&x, &[5, 0, 5], &mut buf);
    assert_eq!(buf, select_columns(&x, &[5, 0, 5]));
    assert_eq!(buf.column(2).as_slice(), &[50.0, 51.0]);
}

/// Regression (issue 14): an empty test split used to report accuracy 0.0. A split asked for two
/// parts (a fraction inside `(0, 1)`) that rounding leaves with an empty one is an error naming
/// the sizes; `loss::accuracy` of no labels is NaN, not 0.
#[test]
fn empty_test_split_is_an_error_not_a_score() {
    let d = |n: usize| Dataset::new(Mat::<f64>::from_fn(2, n, |i, j| (i + j) as f64), vec![0; n]);
    // 2 examples, 20 % held out: round(0.4) = 0 held out
    let e = d(2).unwrap().split(0.2, &mut optim::rng(0)).unwrap_err();
    assert!(matches!(e, Error::Data(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("2 examples") && msg.contains("held-out part empty"),
        "{msg}"
    );
    // 1 example, half held out: round(0.5) = 1, nothing left to train on
    let msg = d(1)
        .unwrap()
        .split(0.5, &mut optim::rng(0))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("training part empty"), "{msg}");
    let msg = d(0)
        .unwrap()
        .split(0.2, &mut optim::rng(0))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("0 examples"), "{msg}");
    // the smallest sizes that give two parts, and the explicit fractions 0 and 1
    let (a, b) = d(3).unwrap().split(0.2, &mut optim::rng(0)).unwrap();
    assert_eq!((a.len(), b.len()), (2, 1));
    let (a, b) = d(2).unwrap().split(0.0, &mut optim::rng(0)).unwrap();
    assert_eq!((a.len(), b.len()), (2, 0));
    let (a, b) = d(2).unwrap().split(1.0, &mut optim::rng(0)).unwrap();
    assert_eq!((a.len(), b.len()), (0, 2));
    // accuracy of nothing is not a score
    assert!(optim::loss::accuracy(&Mat::<f32>::zeros(3, 0), &[]).is_nan());
    let logits = Mat::<f32>::from_column_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(optim::loss::accuracy(&logits, &[0, 0]), 0.5);
}

#[test]
fn one_hot_codes() {
    let m = one_hot::<f32>(&[2, 0, 1, 2], 3).unwrap();
    assert_eq!(m.shape(), (3, 4));
    for (j, &l) in [2, 0, 1, 2].iter().enumerate() {
        assert_eq!(m.column(j).sum(), 1.0);
        assert_eq!(m[(l, j)], 1.0);
    }
    let err = one_hot::<f32>(&[0, 3], 3).unwrap_err().to_string();
    assert!(err.contains("label 3 at position 1"), "{err}");
}

#[test]
fn standardizer_fits_on_train_and_applies_to_test() {
    let mut rng = optim::rng(7);
    let train = Mat::<f64>::from_fn(3, 200, |i, _| {
        use rand::Rng;
        [5.0, -2.0, 1.0][i] + [3.0, 0.1, 0.0][i] * rng.random_range(-1.0..1.0)
    });
    let s = Standardizer::fit(&train).unwrap();
    let z = s.transform(&train).unwrap();
    for i in 0..2 {
        let row = z.row(i);
        let mean = row.mean();
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 200.0;
        assert!(
            mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12,
            "{mean} {var}"
        );
    }
    // the constant feature is only centred
    assert!(z.row(2).iter().all(|&v| v == 0.0));
    assert_eq!(s.std[2], 0.0);
    // test data uses the training statistics, not its own
    let test = Mat::<f64>::from_column_slice(3, 2, &[5.0, -2.0, 1.0, 8.0, -1.0, 3.0]);
    let zt = s.transform(&test).unwrap();
    for i in 0..3 {
        for j in 0..2 {
            let sd = if s.std[i] > 0.0 { s.std[i] } else { 1.0 };
            assert_eq!(zt[(i, j)], (test[(i, j)] - s.mean[i]) / sd);
        }
    }
    assert!(zt.column(1).iter().all(|&v| v > 0.0));
    assert!(matches!(
        s.transform(&Mat::zeros(2, 1)),
        Err(Error::Shape { .. })
    ));
    assert!(Standardizer::<f64>::fit(&Mat::zeros(3, 0)).is_err());
    let mut bad = train.clone();
    bad[(1, 3)] = f64::NAN;
    assert!(matches!(
        Standardizer::fit(&bad),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn linearly_separable_has_the_margin() {
    for (dim, margin, seed) in [(2, 0.1, 0), (5, 0.3, 1), (1, 0.5, 2), (20, 0.05, 3)] {
        let (d, u) = linearly_separable::<f64>(300, dim, margin, &mut optim::rng(seed)).unwrap();
        assert_eq!(d.x.shape(), (dim, 300));
        let norm: f64 = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-12);
        let mut min_margin = f64::INFINITY;
        for j in 0..300 {
            let s: f64 = (0..dim).map(|i| u[i] * d.x[(i, j)]).sum();
            assert_eq!(d.labels().unwrap()[j], usize::from(s > 0.0));
            min_margin = min_margin.min(s.abs());
            assert!(d.x.column(j).iter().all(|v| v.abs() <= 1.0));
        }
        assert!(min_margin >= margin, "margin {min_margin} < {margin}");
        // both classes occur
        assert!(d.labels().unwrap().contains(&0) && d.labels().unwrap().contains(&1));
    }
    assert!(linearly_separable::<f64>(10, 0, 0.1, &mut optim::rng(0)).is_err());
    assert!(linearly_separable::<f64>(10, 2, 0.7, &mut optim::rng(0)).is_err());
    assert!(linearly_separable::<f64>(10, 2, f64::NAN, &mut optim::rng(0)).is_err());
}

fn bits(d: &Dataset<f32>) -> Vec<u32> {
    d.x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn generators_reproduce_bit_for_bit() {
    let centers = Mat::from_column_slice(2, 3, &[0.0, 0.0, 3.0, 0.0, 0.0, 3.0]);
    let make = |seed: u64| {
        let mut rng = optim::rng(seed);
        vec![
            linearly_separable::<f32>(50, 3, 0.1, &mut rng).unwrap().0,
            two_moons::<f32>(51, 0.1, &mut rng),
            two_spirals::<f32>(40, 1.5, 0.05, &mut rng),
            blobs::<f32>(60, &centers, 0.5, &mut rng),
        ]
    };
    let (a, b, c) = (make(11), make(11), make(12));
    for k in 0..4 {
        assert_eq!(bits(&a[k]), bits(&b[k]));
        assert_eq!(a[k].labels().unwrap(), b[k].labels().unwrap());
        assert_ne!(bits(&a[k]), bits(&c[k]));
    }
}

#[test]
fn generators_shapes_and_classes() {
    let x = xor::<f64>();
    assert_eq!(x.labels().unwrap(), [0, 1, 1, 0]);
    for j in 0..4 {
        let (a, b) = (x.x[(0, j)] as usize, x.x[(1, j)] as usize);
        assert_eq!(a ^ b, x.labels().unwrap()[j]);
    }
    let m = two_moons::<f64>(101, 0.0, &mut optim::rng(0));
    assert_eq!(m.x.shape(), (2, 101));
    assert_eq!(m.labels().unwrap().iter().filter(|&&l| l == 0).count(), 51);
    // without noise the outer moon lies on the unit circle, the inner one on its shifted copy
    for j in 0..101 {
        let (a, b) = (m.x[(0, j)], m.x[(1, j)]);
        let r = if m.labels().unwrap()[j] == 0 {
            (a * a + b * b).sqrt()
        } else {
            ((a - 1.0).powi(2) + (b - 0.5).powi(2)).sqrt()
        };
        assert!((r - 1.0).abs() < 1e-12);
    }
    let s = two_spirals::<f64>(30, 2.0, 0.0, &mut optim::rng(0));
    assert_eq!(s.x.shape(), (2, 60));
    // the two arms are point reflections of each other
    for k in 0..30 {
        assert!((s.x[(0, k)] + s.x[(0, 30 + k)]).abs() < 1e-12);
        assert!((s.x[(1, k)] + s.x[(1, 30 + k)]).abs() < 1e-12);
    }
    let centers = Mat::from_column_slice(2, 2, &[-5.0, 0.0, 5.0, 0.0]);
    let b = blobs::<f64>(400, &centers, 0.5, &mut optim::rng(0));
    assert_eq!(b.labels().unwrap().iter().filter(|&&l| l == 1).count(), 200);
    for c in 0..2 {
        let idx: Vec<usize> = (0..400).filter(|&j| b.labels().unwrap()[j] == c).collect();
        let mean = idx.iter().map(|&j| b.x[(0, j)]).sum::<f64>() / idx.len() as f64;
        assert!((mean - centers[(0, c)]).abs() < 0.2, "{mean}");
    }
    // degenerate inputs give empty or non-finite data, never a panic
    let empty = blobs::<f64>(10, &Mat::zeros(2, 0), 1.0, &mut optim::rng(0));
    assert!(empty.is_empty());
    let nan = two_moons::<f64>(4, f64::NAN, &mut optim::rng(0));
    assert!(nan.x.iter().all(|v| v.is_nan()));
}
