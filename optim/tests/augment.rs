//! Kind 2: the properties of data augmentation (`optim::augment`). A translated image is a
//! translation (the definition, zero fill), it keeps its pixel sum when the content does not
//! reach the border and the inverse move restores it; a batch is only ever moved (each column
//! is some translation of itself within the range); the same seed gives the same batch; an
//! augmentation that changes nothing draws nothing.

use optim::augment::{Augment, transform, translate};
use optim::{Mat, StdRng};
use proptest::prelude::*;
use rand::{Rng, RngCore};

/// The definition, pixel by pixel: `x'[c, r, s] = x[c, r − dy, s − dx]`, 0 outside.
fn translate_reference(
    x: &[f64],
    (c, h, w): (usize, usize, usize),
    dy: isize,
    dx: isize,
) -> Vec<f64> {
    let mut out = vec![0.0; c * h * w];
    for ch in 0..c {
        for r in 0..h as isize {
            for s in 0..w as isize {
                let (r0, s0) = (r - dy, s - dx);
                if (0..h as isize).contains(&r0) && (0..w as isize).contains(&s0) {
                    out[ch * h * w + r as usize * w + s as usize] =
                        x[ch * h * w + r0 as usize * w + s0 as usize];
                }
            }
        }
    }
    out
}

/// A `c x h x w` image of values in `(0, 1]` whose border of width `margin` is 0.
fn framed(c: usize, h: usize, w: usize, margin: usize, rng: &mut StdRng) -> Vec<f64> {
    let mut x = vec![0.0; c * h * w];
    for ch in 0..c {
        for r in margin..h - margin {
            for s in margin..w - margin {
                x[ch * h * w + r * w + s] = 1.0 - rng.random::<f64>();
            }
        }
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn translation_is_the_definition(
        c in 1usize..3, h in 1usize..9, w in 1usize..9,
        dy in -10isize..10, dx in -10isize..10, seed in any::<u64>(),
    ) {
        let mut rng = optim::rng(seed);
        let x: Vec<f64> = (0..c * h * w).map(|_| rng.random::<f64>()).collect();
        let mut y = vec![f64::NAN; x.len()];
        translate(&x, &mut y, (c, h, w), dy, dx);
        prop_assert_eq!(&y, &translate_reference(&x, (c, h, w), dy, dx));
        // the bilinear transform without rotation lands on whole pixels: the same image
        let mut z = vec![f64::NAN; x.len()];
        transform(&x, &mut z, (c, h, w), 0.0, dy as f64, dx as f64);
        prop_assert_eq!(&z, &y);
    }

    #[test]
    fn a_shift_inside_the_frame_keeps_the_sum_and_the_inverse_restores_it(
        c in 1usize..3, h in 5usize..12, w in 5usize..12, m in 1usize..3, seed in any::<u64>(),
    ) {
        let mut rng = optim::rng(seed);
        let x = framed(c, h, w, m, &mut rng);
        let mi = m as i64;
        let (dy, dx) = (rng.random_range(-mi..=mi) as isize, rng.random_range(-mi..=mi) as isize);
        let mut y = vec![0.0; x.len()];
        translate(&x, &mut y, (c, h, w), dy, dx);
        let sum = |v: &[f64]| v.iter().sum::<f64>();
        prop_assert!((sum(&y) - sum(&x)).abs() <= 1e-12 * sum(&x).max(1.0));
        let mut back = vec![0.0; x.len()];
        translate(&y, &mut back, (c, h, w), -dy, -dx);
        prop_assert_eq!(back, x);
    }

    #[test]
    fn an_augmented_batch_holds_translations_within_the_range_and_is_seeded(
        h in 4usize..10, w in 4usize..10, m in 1usize..3, n in 1usize..6, seed in any::<u64>(),
    ) {
        let m = m.min(h - 1).min(w - 1);
        let mut rng = optim::rng(seed ^ 1);
        let x = Mat::<f64>::from_fn(h * w, n, |_, _| 1.0 - rng.random::<f64>());
        let augment = Augment::shifts(m);
        let mut a = x.clone();
        let mut scratch = Vec::new();
        augment.apply(&mut a, (1, h, w), &mut scratch, &mut optim::rng(seed)).unwrap();
        // every column is the translation of its own original by some (dy, dx) in −m..=m
        let mi = m as isize;
        for j in 0..n {
            let original: Vec<f64> = x.column(j).iter().copied().collect();
            let moved: Vec<f64> = a.column(j).iter().copied().collect();
            let found = (-mi..=mi).any(|dy| (-mi..=mi).any(|dx| {
                translate_reference(&original, (1, h, w), dy, dx) == moved
            }));
            prop_assert!(found, "column {j} is not a translation within ±{m}");
        }
        // the same seed, the same batch
        let mut b = x.clone();
        augment.apply(&mut b, (1, h, w), &mut scratch, &mut optim::rng(seed)).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn different_seeds_move_images_differently_and_rotation_is_seeded_too() {
    let x = Mat::<f32>::from_fn(64, 32, |i, j| ((i * 7 + j * 3) % 11) as f32 / 10.0);
    let augment = Augment::shifts(2).rotations(10.0);
    let run = |seed: u64| {
        let mut a = x.clone();
        augment
            .apply(&mut a, (1, 8, 8), &mut Vec::new(), &mut optim::rng(seed))
            .unwrap();
        a
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
    assert_ne!(run(3), x);
}

#[test]
fn an_identity_augmentation_changes_nothing_and_draws_nothing() {
    let x = Mat::<f32>::from_fn(16, 5, |i, j| (i + j) as f32);
    let mut a = x.clone();
    let mut rng = optim::rng(9);
    Augment::default()
        .apply(&mut a, (1, 4, 4), &mut Vec::new(), &mut rng)
        .unwrap();
    assert_eq!(a, x);
    // the generator is where a fresh one of the same seed is
    assert_eq!(rng.next_u64(), optim::rng(9).next_u64());
}

#[test]
fn rotation_by_a_quarter_turn_is_exact_and_small_rotations_keep_the_centre() {
    // 90° about the centre of a square image maps (r, s) to (s, n − 1 − r) (up to rounding)
    let n = 5;
    let x: Vec<f64> = (0..n * n).map(|i| i as f64).collect();
    let mut y = vec![0.0; n * n];
    transform(&x, &mut y, (1, n, n), std::f64::consts::FRAC_PI_2, 0.0, 0.0);
    for r in 0..n {
        for s in 0..n {
            // the source of output (r, s): y₀ + cos·u + sin·v = s, x₀ − sin·u + cos·v = n − 1 − r
            let expected = x[s * n + (n - 1 - r)];
            assert!((y[r * n + s] - expected).abs() < 1e-9, "({r}, {s})");
        }
    }
    // the centre pixel of an odd image stays where it is under any rotation
    let mut z = vec![0.0; n * n];
    transform(&x, &mut z, (1, n, n), 0.2, 0.0, 0.0);
    assert!((z[2 * n + 2] - x[2 * n + 2]).abs() < 1e-12);
}

#[test]
fn bad_settings_and_shapes_are_errors() {
    let mut x = Mat::<f32>::zeros(16, 2);
    let rng = &mut optim::rng(0);
    let s = &mut Vec::new();
    let e = Augment::shifts(4)
        .apply(&mut x, (1, 4, 4), s, rng)
        .unwrap_err();
    assert!(e.to_string().contains("max_shift"), "{e}");
    let e = Augment::shifts(1)
        .rotations(f64::NAN)
        .apply(&mut x, (1, 4, 4), s, rng)
        .unwrap_err();
    assert!(e.to_string().contains("rotation"), "{e}");
    let e = Augment::shifts(1)
        .apply(&mut x, (1, 3, 3), s, rng)
        .unwrap_err();
    assert!(e.to_string().contains("3 x 3"), "{e}");
}
