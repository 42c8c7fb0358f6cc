//! Seeded weight initialization.
//!
//! A layer's output variance is `fan_in · Var(w) · Var(x)`; the schemes below pick `Var(w)` so
//! that signals (forward) and gradients (backward) keep their scale through depth:
//!
//! | scheme | distribution | variance |
//! |---|---|---|
//! | Xavier/Glorot uniform | `U(−a, a)`, `a = gain·√(6 / (fan_in + fan_out))` | `2 gain² / (fan_in + fan_out)` |
//! | Xavier/Glorot normal | `N(0, σ²)`, `σ = gain·√(2 / (fan_in + fan_out))` | same |
//! | He/Kaiming uniform | `U(−a, a)`, `a = √(6 / fan_in)` | `2 / fan_in` (for ReLU) |
//! | He/Kaiming normal | `N(0, 2 / fan_in)` | `2 / fan_in` |
//! | PyTorch default (`nn.Linear`, `nn.Conv2d`) | `U(−1/√fan_in, 1/√fan_in)` | `1 / (3 fan_in)` |
//! | orthogonal | `Q` of the QR factorization of a Gaussian matrix, times `gain` | singular values all `gain` |
//!
//! For a dense layer `fan_in` is the input width and `fan_out` the output width; for a
//! convolution both are multiplied by the kernel area `kh·kw`.
//!
//! There is no global random generator: every function takes `&mut impl Rng`; [`rng`] makes the
//! project's standard seeded generator.

use crate::{Error, Float, Mat, Result};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal, StandardNormal, Uniform};

/// The project's seeded generator: same seed, same numbers, bit for bit, on the same machine.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Largest number of words [`rng_position`] scans before giving up.
const MAX_SCAN: u64 = 1 << 40;

/// The position (in 32-bit words) of `live`, a generator made by [`rng`]`(seed)` that has drawn
/// at least `from` words: the first position of the same ChaCha12 stream whose next four words
/// are `live`'s next four (a false match has probability about 2⁻¹²⁸ per word). With
/// [`rng_at`] it saves and restores a generator exactly (a checkpoint stores the position):
///
/// ```
/// use optim::rand::Rng;
/// let mut live = optim::rng(5);
/// let _: [u64; 3] = live.random();
/// let at = optim::init::rng_position(5, 0, &live).unwrap();
/// assert_eq!(at, 6);
/// let mut back = optim::init::rng_at(5, at);
/// assert_eq!(back.random::<u64>(), live.random::<u64>());
/// ```
///
/// Cost: generating and comparing each word scanned from `from`, in chunks of 4096 words
/// (well under a nanosecond a word).
///
/// # Errors
/// If `live` is not found within 2⁴⁰ words of `from` (not this seed's generator).
pub fn rng_position(seed: u64, from: u64, live: &StdRng) -> Result<u64> {
    use rand::{RngCore, SeedableRng};
    let mut probe = live.clone();
    let want = [
        probe.next_u32(),
        probe.next_u32(),
        probe.next_u32(),
        probe.next_u32(),
    ];
    let mut shadow = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
    shadow.set_word_pos(u128::from(from));
    // The stream is scanned a chunk at a time: `fill_bytes` produces whole ChaCha blocks at the
    // generator's full speed, and a plain comparison over the chunk finds the window. Drawing and
    // shifting a four-word window one `next_u32` at a time cost several times more per word,
    // a tenth of an RBM training epoch. The chunk keeps the previous one's last three words, so
    // a window straddling two chunks is found too.
    const CHUNK: usize = 4096;
    let mut bytes = vec![0u8; 4 * CHUNK];
    let mut words: Vec<u32> = Vec::with_capacity(CHUNK + 3);
    // stream position of `words[0]`
    let mut start = from;
    loop {
        // a multiple of 4 bytes takes exactly bytes / 4 words, little-endian
        shadow.fill_bytes(&mut bytes);
        words.extend(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if let Some(i) = words.windows(4).position(|w| w == want) {
            return Ok(start + i as u64);
        }
        let scanned = words.len() - 3;
        words.drain(..scanned);
        start += scanned as u64;
        if start - from > MAX_SCAN {
            return Err(Error::Data(
                "rng_position: the generator is not this seed's stream (in the training loop: did the \
                 model replace the generator it was given?)"
                    .into(),
            ));
        }
    }
}

/// [`rng`]`(seed)` after drawing `words` 32-bit words (replayed: ≈ 1 ns a word).
pub fn rng_at(seed: u64, words: u64) -> StdRng {
    use rand::RngCore;
    let mut rng = crate::rng(seed);
    let mut buf = [0u8; 4096];
    let mut left = words;
    while left >= 1024 {
        // a multiple of 4 bytes takes exactly bytes / 4 words
        rng.fill_bytes(&mut buf);
        left -= 1024;
    }
    for _ in 0..left {
        rng.next_u32();
    }
    rng
}

/// A seeded generator's state as a checkpoint stores it: the seed and the number of 32-bit
/// words drawn since [`rng`]`(seed)` ([`rng_position`]); [`RngState::generator`] rebuilds it.
///
/// ```
/// use optim::rand::Rng;
/// let mut live = optim::rng(7);
/// let _: [u32; 5] = live.random();
/// let state = optim::init::RngState::of(7, 0, &live).unwrap();
/// assert_eq!(state, optim::init::RngState { seed: 7, words: 5 });
/// assert_eq!(state.generator().random::<u64>(), live.random::<u64>());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RngState {
    /// The seed the generator was made from.
    pub seed: u64,
    /// Words drawn since then.
    pub words: u64,
}

impl RngState {
    /// The state of `live`, made by [`rng`]`(seed)`, known to have drawn at least `from` words.
    ///
    /// # Errors
    /// As [`rng_position`].
    pub fn of(seed: u64, from: u64, live: &StdRng) -> Result<Self> {
        Ok(RngState {
            seed,
            words: rng_position(seed, from, live)?,
        })
    }

    /// The generator in this state ([`rng_at`]).
    pub fn generator(&self) -> StdRng {
        rng_at(self.seed, self.words)
    }
}

/// An initialization scheme (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every entry equal to the value.
    Constant(f64),
    /// `U(−a, a)`.
    Uniform(f64),
    /// `N(0, σ²)` with the given `σ`.
    Normal(f64),
    /// Glorot & Bengio (2010), uniform, with a gain (1 for linear/sigmoid, 5/3 for tanh).
    XavierUniform {
        /// Gain.
        gain: f64,
    },
    /// Glorot & Bengio (2010), normal.
    XavierNormal {
        /// Gain.
        gain: f64,
    },
    /// He et al. (2015), uniform, for ReLU layers.
    HeUniform,
    /// He et al. (2015), normal, for ReLU layers.
    HeNormal,
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d`: `U(−1/√fan_in, 1/√fan_in)`.
    #[serde(rename = "pytorch_default")]
    PyTorchDefault,
    /// Saxe et al. (2014): a (semi-)orthogonal matrix times a gain.
    Orthogonal {
        /// Gain.
        gain: f64,
    },
}

impl Init {
    /// Draws a `rows x cols` matrix for a layer with the given fans.
    pub fn matrix<F: Float>(
        &self,
        rows: usize,
        cols: usize,
        fan_in: usize,
        fan_out: usize,
        rng: &mut impl Rng,
    ) -> Mat<F> {
        let fan_in = fan_in.max(1) as f64;
        let fan_out = fan_out.max(1) as f64;
        match *self {
            Init::Zeros => Mat::zeros(rows, cols),
            Init::Constant(c) => Mat::from_element(rows, cols, F::of(c)),
            Init::Uniform(a) => uniform(rows, cols, a, rng),
            Init::Normal(s) => normal(rows, cols, s, rng),
            Init::XavierUniform { gain } => {
                uniform(rows, cols, gain * (6.0 / (fan_in + fan_out)).sqrt(), rng)
            }
            Init::XavierNormal { gain } => {
                normal(rows, cols, gain * (2.0 / (fan_in + fan_out)).sqrt(), rng)
            }
            Init::HeUniform => uniform(rows, cols, (6.0 / fan_in).sqrt(), rng),
            Init::HeNormal => normal(rows, cols, (2.0 / fan_in).sqrt(), rng),
            Init::PyTorchDefault => uniform(rows, cols, 1.0 / fan_in.sqrt(), rng),
            Init::Orthogonal { gain } => orthogonal(rows, cols, gain, rng),
        }
    }

    /// Draws the weight of a dense layer `out x in` (`fan_in = in`, `fan_out = out`).
    pub fn dense<F: Float>(&self, out: usize, inp: usize, rng: &mut impl Rng) -> Mat<F> {
        self.matrix(out, inp, inp, out, rng)
    }
}

fn uniform<F: Float>(rows: usize, cols: usize, a: f64, rng: &mut impl Rng) -> Mat<F> {
    if a <= 0.0 {
        return Mat::zeros(rows, cols);
    }
    let d = Uniform::new(-a, a).expect("finite positive bound");
    Mat::from_fn(rows, cols, |_, _| F::of(d.sample(rng)))
}

fn normal<F: Float>(rows: usize, cols: usize, std: f64, rng: &mut impl Rng) -> Mat<F> {
    let d = Normal::new(0.0, std.abs()).expect("finite standard deviation");
    Mat::from_fn(rows, cols, |_, _| F::of(d.sample(rng)))
}

/// A matrix with orthonormal rows or columns (whichever are fewer), times `gain`, as PyTorch's
/// `nn.init.orthogonal_`: QR of a Gaussian matrix with the signs of `R`'s diagonal folded into
/// `Q` so the distribution is uniform (Haar).
fn orthogonal<F: Float>(rows: usize, cols: usize, gain: f64, rng: &mut impl Rng) -> Mat<F> {
    if rows == 0 || cols == 0 {
        return Mat::zeros(rows, cols);
    }
    let tall = rows >= cols;
    let (r, c) = if tall { (rows, cols) } else { (cols, rows) };
    let g = nalgebra::DMatrix::<f64>::from_fn(r, c, |_, _| StandardNormal.sample(rng));
    let qr = g.qr();
    let mut q = qr.q();
    let rr = qr.r();
    for j in 0..c {
        if rr[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    let q = if tall { q } else { q.transpose() };
    q.map(|v| F::of(gain * v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_position_finds_every_offset_including_across_scan_chunks() {
        use rand::RngCore;
        // positions around the 4096-word chunk edges (a window may straddle two chunks), and
        // starting the scan from a later `from`
        for &(words, from) in &[
            (0u64, 0u64),
            (1, 0),
            (4092, 0),
            (4093, 0),
            (4094, 0),
            (4096, 0),
            (8189, 0),
            (8190, 0),
            (12_345, 0),
            (12_345, 12_000),
            (12_345, 12_345),
            (100_003, 95_000),
        ] {
            let mut live = rng(11);
            for _ in 0..words {
                live.next_u32();
            }
            assert_eq!(rng_position(11, from, &live).unwrap(), words, "from {from}");
            let mut back = rng_at(11, words);
            assert_eq!(back.next_u64(), live.next_u64());
        }
    }

    #[test]
    fn orthogonal_has_orthonormal_columns() {
        let mut r = rng(1);
        let q: Mat<f64> = Init::Orthogonal { gain: 1.0 }.matrix(6, 4, 4, 6, &mut r);
        assert!((q.transpose() * &q - Mat::identity(4, 4)).abs().max() < 1e-12);
        let w: Mat<f64> = Init::Orthogonal { gain: 2.0 }.matrix(3, 5, 5, 3, &mut r);
        assert!((&w * w.transpose() - Mat::identity(3, 3) * 4.0).abs().max() < 1e-12);
    }

    #[test]
    fn same_seed_same_numbers_and_variances_follow_the_formulas() {
        let a: Mat<f32> = Init::HeNormal.dense(50, 400, &mut rng(7));
        let b: Mat<f32> = Init::HeNormal.dense(50, 400, &mut rng(7));
        assert_eq!(a, b);
        let var = a.iter().map(|v| (v * v) as f64).sum::<f64>() / a.len() as f64;
        assert!((var - 2.0 / 400.0).abs() < 0.1 * 2.0 / 400.0, "{var}");
        let x: Mat<f64> = Init::XavierUniform { gain: 1.0 }.dense(300, 100, &mut rng(3));
        let bound = (6.0f64 / 400.0).sqrt();
        assert!(x.iter().all(|v| v.abs() <= bound));
        let var = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        assert!((var - 2.0 / 400.0).abs() < 0.1 * 2.0 / 400.0, "{var}");
    }
}
