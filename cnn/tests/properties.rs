//! Kind 2: the chapter's mathematics as properties — translation equivariance of convolution,
//! the (limited) shift invariance of max pooling, and parameter sharing.

mod common;

use cnn::{Conv2d, Conv2dConfig, Dense, ImageShape, Layer, MaxPool2d, Mode};
use common::random;
use optim::{Mat, param_count};
use proptest::prelude::*;

/// Shifts every channel of every image by `(dy, dx)` pixels, filling with zeros:
/// `out[c, h, w] = x[c, h − dy, w − dx]`.
fn shift(x: &Mat<f64>, shape: ImageShape, dy: isize, dx: isize) -> Mat<f64> {
    let (h, w) = (shape.height as isize, shape.width as isize);
    Mat::from_fn(x.nrows(), x.ncols(), |r, b| {
        let c = r / shape.area();
        let (i, j) = (
            ((r % shape.area()) / shape.width) as isize,
            (r % shape.width) as isize,
        );
        let (si, sj) = (i - dy, j - dx);
        if si < 0 || sj < 0 || si >= h || sj >= w {
            0.0
        } else {
            x[(c * shape.area() + (si * w + sj) as usize, b)]
        }
    })
}

proptest! {
    #![proptest_config(optim::testing::proptest_config(64))]

    /// Equivariance: conv(shift(x)) = shift(conv(x)) at every output position whose receptive
    /// field lies inside the image both before and after the shift (away from the borders,
    /// where padding and the zero fill differ).
    #[test]
    fn stride_one_convolution_is_translation_equivariant(
        cin in 1usize..3, cout in 1usize..3, k in 1usize..4, dil in 1usize..3, pad in 0usize..3,
        h in 6usize..11, w in 6usize..11, dy in -3isize..4, dx in -3isize..4, seed in 0u64..1000,
    ) {
        let shape = ImageShape::new(cin, h, w);
        let config = Conv2dConfig::new(cin, cout, k).dilation(dil).padding(pad);
        prop_assume!(config.output_shape(shape).is_ok());
        let conv = Conv2d::<f64>::new(config, shape, &mut optim::rng(seed)).unwrap();
        let x = random(shape.len(), 2, seed);
        let y = conv.predict(&x).unwrap();
        let y_shifted = conv.predict(&shift(&x, shape, dy, dx)).unwrap();
        let out = conv.output_shape();
        let span = (dil * (k - 1)) as isize;
        let inside = |i: isize, n: usize, d: isize| {
            // rows i − pad .. i − pad + span must lie in the image before and after the shift
            let lo = i - pad as isize;
            lo >= 0.max(d) && lo + span < (n as isize).min(n as isize + d)
        };
        let mut compared = 0;
        for c in 0..out.channels {
            for i in 0..out.height as isize {
                for j in 0..out.width as isize {
                    let (si, sj) = (i + dy, j + dx);
                    if !inside(si, h, dy) || !inside(sj, w, dx)
                        || si >= out.height as isize || sj >= out.width as isize {
                        continue;
                    }
                    for b in 0..2 {
                        let a = y_shifted[(c * out.area() + (si as usize) * out.width + sj as usize, b)];
                        let e = y[(c * out.area() + (i as usize) * out.width + j as usize, b)];
                        prop_assert!((a - e).abs() < 1e-12, "({c},{i},{j}) shifted by ({dy},{dx}): {a} vs {e}");
                        compared += 1;
                    }
                }
            }
        }
        // The property must not hold vacuously when there is room to compare.
        if (h as isize - span - dy.abs()) > 0 && (w as isize - span - dx.abs()) > 0 {
            prop_assert!(compared > 0);
        }
    }

    /// Invariance of max pooling (stride s = kernel): if each window holds one peak above
    /// everything else and a shift keeps every peak inside its own window, the pooled output
    /// does not change at all.
    #[test]
    fn max_pooling_is_invariant_to_shifts_that_keep_each_maximum_in_its_window(
        s in 2usize..4, windows_h in 1usize..4, windows_w in 1usize..4, c in 1usize..3,
        dy in -2isize..3, dx in -2isize..3, seed in 0u64..1000,
    ) {
        prop_assume!(dy.unsigned_abs() < s && dx.unsigned_abs() < s);
        let shape = ImageShape::new(c, windows_h * s, windows_w * s);
        let mut rng = optim::rng(seed);
        use rand::Rng;
        // background in [0, 0.5), one peak in [1, 2) per window, placed so that the shifted peak
        // stays in the window
        let mut x = Mat::from_fn(shape.len(), 1, |_, _| rng.random_range(0.0..0.5));
        let place = |d: isize, rng: &mut rand::rngs::StdRng| {
            let lo = (-d).max(0) as usize;
            let hi = (s as isize - d.max(0)) as usize;
            rng.random_range(lo..hi)
        };
        for ch in 0..c {
            for wi in 0..windows_h {
                for wj in 0..windows_w {
                    let (pi, pj) = (wi * s + place(dy, &mut rng), wj * s + place(dx, &mut rng));
                    x[(ch * shape.area() + pi * shape.width + pj, 0)] = rng.random_range(1.0..2.0);
                }
            }
        }
        let pool = MaxPool2d::<f64>::new(shape, (s, s), (s, s), (0, 0)).unwrap();
        let y = pool.predict(&x).unwrap();
        let y_shifted = pool.predict(&shift(&x, shape, dy, dx)).unwrap();
        prop_assert_eq!(&y, &y_shifted);
        // ...whereas the un-pooled image itself did change (unless the shift is zero).
        if dy != 0 || dx != 0 {
            prop_assert_ne!(x.clone(), shift(&x, shape, dy, dx));
        }
    }
}

#[test]
fn a_shift_that_moves_a_maximum_out_of_its_window_changes_the_pooled_output() {
    // The invariance is limited: the peak of the first 2x2 window moves into the second one.
    let shape = ImageShape::new(1, 2, 4);
    let x = Mat::from_column_slice(8, 1, &[0.0, 5.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let pool = MaxPool2d::<f64>::new(shape, (2, 2), (2, 2), (0, 0)).unwrap();
    assert_eq!(pool.predict(&x).unwrap().as_slice(), &[5.0, 1.0]);
    assert_eq!(
        pool.predict(&shift(&x, shape, 0, 1)).unwrap().as_slice(),
        &[0.0, 5.0]
    );
}

#[test]
fn a_conv_layer_has_the_same_parameters_for_every_image_size_a_dense_layer_does_not() {
    let mut rng = optim::rng(0);
    let mut conv_counts = Vec::new();
    let mut dense_counts = Vec::new();
    for side in [8, 16, 28, 64] {
        let shape = ImageShape::new(3, side, side);
        let mut conv =
            Conv2d::<f32>::new(Conv2dConfig::new(3, 6, 5).padding(2), shape, &mut rng).unwrap();
        // A dense layer from the same image to 10 features.
        let mut dense = Dense::<f32>::new(shape, 10, &mut rng).unwrap();
        conv_counts.push(param_count(&mut conv));
        dense_counts.push(param_count(&mut dense));
        assert_eq!(param_count(&mut dense), (3 * side * side + 1) * 10);
        // A dense layer with the conv's 6 x H x W output would need (3HW + 1)·6HW parameters.
        assert!(conv.output_shape().len() * (shape.len() + 1) > 100 * 456);
    }
    // 6 filters of 3x5x5 plus 6 biases, whatever the image size
    assert_eq!(conv_counts, [456; 4]);
    assert!(dense_counts.windows(2).all(|w| w[1] > 3 * w[0]));

    // Even a dense layer to a single output grows with H·W.
    let small = param_count(&mut Dense::<f32>::new(ImageShape::new(1, 8, 8), 1, &mut rng).unwrap());
    let large =
        param_count(&mut Dense::<f32>::new(ImageShape::new(1, 28, 28), 1, &mut rng).unwrap());
    assert_eq!((small, large), (65, 785));
}

#[test]
fn lenet5_has_the_classic_parameter_count_and_pytorch_names() {
    let mut net = cnn::Cnn::<f32>::lenet5(&mut optim::rng(0));
    assert_eq!(param_count(&mut net), 61_706);
    assert_eq!(
        optim::param_names(&mut net),
        [
            "0.weight",
            "0.bias",
            "3.weight",
            "3.bias",
            "7.weight",
            "7.bias",
            "9.weight",
            "9.bias",
            "11.weight",
            "11.bias"
        ]
    );
    let x = random(784, 3, 0).map(|v| v as f32);
    assert_eq!(net.predict(&x).unwrap().shape(), (10, 3));
    let _ = net.forward(&x, Mode::Eval).unwrap();
}
