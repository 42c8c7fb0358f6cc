//! Image data for the chapter: a generator of translated patterns (where a CNN's bias pays off)
//! and the two real digit sets of `shared/data`, as image batches (one `C·H·W` column each).
//!
//! ```
//! let data = cnn::data::bars::<f32>(4, 6, 0.0, &mut optim::rng(0));
//! assert_eq!(data.x.shape(), (36, 4));
//! assert_eq!(data.labels(), Some(&[0, 1, 0, 1][..]));
//! // without noise each image is one bar of 6/2 + 1 = 4 pixels
//! assert!(data.x.column(0).iter().sum::<f32>() == 4.0);
//! ```

use optim::data::{Dataset, load_mnist, load_optdigits};
use optim::{Float, Mat, Result};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use std::path::Path;

/// `n` single-channel `size x size` images of a bar of length `size/2 + 1` at a random position:
/// vertical (label 0) or horizontal (label 1), on Gaussian noise of standard deviation `noise`.
/// The class does not depend on *where* the bar is, which is exactly what weight sharing
/// exploits.
///
/// # Shapes
/// `x`: `size² x n` (row-major pixels), labels alternate `0, 1, 0, …`.
pub fn bars<F: Float>(n: usize, size: usize, noise: f64, rng: &mut impl Rng) -> Dataset<F> {
    let normal = Normal::new(0.0, noise.abs()).expect("finite noise");
    let len = (size / 2 + 1).min(size);
    let mut x = Mat::zeros(size * size, n);
    let mut labels = Vec::with_capacity(n);
    for j in 0..n {
        let label = j % 2;
        for v in x.column_mut(j).iter_mut() {
            *v = F::of(normal.sample(rng));
        }
        let a = rng.random_range(0..size);
        let b = rng.random_range(0..=size - len);
        for k in 0..len {
            let (row, col) = if label == 0 { (b + k, a) } else { (a, b + k) };
            x[(row * size + col, j)] += F::one();
        }
        labels.push(label);
    }
    Dataset::classification(x, labels).expect("one label per image")
}

/// The seven segments lit for each digit `0..=9`, in the order top, top-left, top-right,
/// middle, bottom-left, bottom-right, bottom (a seven-segment display).
const SEGMENTS: [[bool; 7]; 10] = [
    [true, true, true, false, true, true, true],     // 0
    [false, false, true, false, false, true, false], // 1
    [true, false, true, true, true, false, true],    // 2
    [true, false, true, true, false, true, true],    // 3
    [false, true, true, true, false, true, false],   // 4
    [true, true, false, true, false, true, true],    // 5
    [true, true, false, true, true, true, true],     // 6
    [true, false, true, false, false, true, false],  // 7
    [true, true, true, true, true, true, true],      // 8
    [true, true, true, true, false, true, true],     // 9
];

/// `n` single-channel `size x size` images of the ten digits drawn as seven-segment glyphs
/// (labels `0..=9` in turn): a glyph of random width (3 to `size/2` pixels) and height (5 to
/// `size − 2`) at a random position, each segment's pixels at a random intensity in
/// `[0.6, 1]`, on Gaussian noise of standard deviation `noise`. A generated stand-in for
/// handwritten digits: ten classes whose identity does not depend on where or how large the
/// glyph is (`size ≥ 10`).
///
/// # Shapes
/// `x`: `size² x n` (row-major pixels).
///
/// # Panics
/// If `size < 10`.
pub fn segment_digits<F: Float>(
    n: usize,
    size: usize,
    noise: f64,
    rng: &mut impl Rng,
) -> Dataset<F> {
    assert!(size >= 10, "segment_digits: images of side >= 10");
    let normal = Normal::new(0.0, noise.abs()).expect("finite noise");
    let mut x = Mat::zeros(size * size, n);
    let mut labels = Vec::with_capacity(n);
    for j in 0..n {
        let digit = j % 10;
        for v in x.column_mut(j).iter_mut() {
            *v = F::of(normal.sample(rng));
        }
        let w = rng.random_range(3..=size / 2);
        // an odd height, so the middle bar sits on a row
        let h = (rng.random_range(5..=size - 2) - 1) / 2 * 2 + 1;
        let top = rng.random_range(0..=size - h);
        let left = rng.random_range(0..=size - w);
        let mid = top + h / 2;
        let (bottom, right) = (top + h - 1, left + w - 1);
        let spans = [
            (top, top, left, right),
            (top, mid, left, left),
            (top, mid, right, right),
            (mid, mid, left, right),
            (mid, bottom, left, left),
            (mid, bottom, right, right),
            (bottom, bottom, left, right),
        ];
        for (&lit, &(r0, r1, c0, c1)) in SEGMENTS[digit].iter().zip(&spans) {
            if !lit {
                continue;
            }
            let intensity = F::of(rng.random_range(0.6..=1.0));
            for r in r0..=r1 {
                for c in c0..=c1 {
                    let v = &mut x[(r * size + c, j)];
                    if *v < intensity {
                        *v = intensity;
                    }
                }
            }
        }
        labels.push(digit);
    }
    Dataset::classification(x, labels).expect("one label per image")
}

/// UCI optdigits (`optdigits.tra`) as `1 x 8 x 8` images with values scaled to `[0, 1]`
/// (counts / 16).
///
/// # Errors
/// Those of [`optim::data::load_optdigits`].
pub fn optdigits<F: Float>(path: impl AsRef<Path>) -> Result<Dataset<F>> {
    let mut data = load_optdigits::<F>(path)?;
    let scale = F::of(1.0 / 16.0);
    data.x.apply(|v| *v *= scale);
    Ok(data)
}

/// The MNIST test set from a folder holding `t10k-images-idx3-ubyte.gz` and
/// `t10k-labels-idx1-ubyte.gz`, as `1 x 28 x 28` images with values in `[0, 1]`.
///
/// # Errors
/// Those of [`optim::data::load_mnist`].
pub fn mnist_test<F: Float>(dir: impl AsRef<Path>) -> Result<Dataset<F>> {
    let dir = dir.as_ref();
    load_mnist(
        dir.join("t10k-images-idx3-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
}
