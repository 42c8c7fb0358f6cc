//! The one matrix product every hot path goes through.
//!
//! Every layer's `W x`, `dy xᵀ` and `Wᵀ dy` (and the convolution's im2col product) calls
//! [`gemm`](fn@gemm) or, on strided sub-blocks, [`gemm_blocks`], writing into a preallocated output. The kernel is chosen here, once: the
//! [`gemm` crate](https://docs.rs/gemm), which detects the CPU at run time (AVX-512, AVX2+FMA or
//! scalar) and measured faster than nalgebra's own product on this project's shapes, most of all
//! on thin ones such as `128 x 256 x 10` (see `optim/benches/gemm.rs`).
//!
//! Threads: products run on one thread unless [`set_threads`] asks for more; then large products
//! are split over rayon's pool.

use crate::{Float, Mat};
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// A per-thread override of [`THREADS`] (0 = none), set by [`with_threads`].
    static LOCAL_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Products smaller than this many multiply-adds always run on one thread: splitting them costs
/// more than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 17;

/// Sets how many threads large matrix products may use (1 = single-threaded, the default), and
/// sizes rayon's global pool accordingly if it has not been built yet.
pub fn set_threads(threads: usize) {
    let threads = threads.max(1);
    THREADS.store(threads, Ordering::Relaxed);
    // The global pool can be built once; a second call keeps the first pool, which is fine
    // because `Parallelism::Rayon(n)` caps the threads used per product anyway.
    let builder = rayon::ThreadPoolBuilder::new().num_threads(threads);
    // Called from the program's main thread (where a training loop runs), that thread becomes
    // one of the pool's `threads`: a fork-join step (`rayon::join` of the data-parallel shards,
    // a parallel loop) then runs one side on it and the other on the pool's second thread. A
    // thread outside the pool hands both sides to the pool and sleeps until they are done, two
    // thread switches a join (measured: `tour bench mlp --threads 2` went from 1.44x to 1.59x
    // its one-thread throughput, medians of 6 alternating runs). Any other thread (a test
    // harness's) keeps out: a thread in the global pool must live as long as the program. So
    // does one thread alone: a pool of just the main thread would have no thread to run work
    // handed to it from elsewhere.
    let builder = if threads > 1 && std::thread::current().name() == Some("main") {
        builder.use_current_thread()
    } else {
        builder
    };
    let _ = builder.build_global();
}

/// The thread count products on this thread may use: the [`with_threads`] override if one is
/// active, else the count set by [`set_threads`].
pub fn threads() -> usize {
    match LOCAL_THREADS.with(|t| t.get()) {
        0 => THREADS.load(Ordering::Relaxed),
        n => n,
    }
}

/// Runs `f` with products on the current thread limited to `threads` (e.g. 1 inside one shard of
/// a data-parallel step, where the parallelism is already across shards), then restores the
/// previous setting.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let previous = LOCAL_THREADS.with(|t| t.replace(threads.max(1)));
    let result = f();
    LOCAL_THREADS.with(|t| t.set(previous));
    result
}

fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    let t = threads();
    if t > 1 && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN_WORK {
        gemm::Parallelism::Rayon(t)
    } else {
        gemm::Parallelism::None
    }
}

/// `C ← α·op(A)·op(B) + β·C`, where `op(X)` is `X` or `Xᵀ` as `trans_a`/`trans_b` say.
///
/// With `β = 0` the old contents of `C` are ignored (even NaN), so `C` can be any buffer of the
/// right shape.
///
/// # Shapes
/// `op(A)`: `m x k`, `op(B)`: `k x n`, `C`: `m x n`.
///
/// # Panics
/// If the shapes do not agree: callers check user-facing shapes first and return an error, so a
/// mismatch here is a bug in the caller.
pub fn gemm<F: Float>(
    alpha: F,
    a: &Mat<F>,
    trans_a: bool,
    b: &Mat<F>,
    trans_b: bool,
    beta: F,
    c: &mut Mat<F>,
) {
    let (m, k) = if trans_a {
        (a.ncols(), a.nrows())
    } else {
        (a.nrows(), a.ncols())
    };
    let (kb, n) = if trans_b {
        (b.ncols(), b.nrows())
    } else {
        (b.nrows(), b.ncols())
    };
    assert!(
        k == kb && c.nrows() == m && c.ncols() == n,
        "gemm: op(A) is {m}x{k}, op(B) is {kb}x{n}, C is {}x{}",
        c.nrows(),
        c.ncols()
    );
    // Column-major: element (i, j) of an r-row matrix sits at i + j·r.
    let (a_rs, a_cs) = if trans_a {
        (a.nrows(), 1)
    } else {
        (1, a.nrows())
    };
    let (b_rs, b_cs) = if trans_b {
        (b.nrows(), 1)
    } else {
        (1, b.nrows())
    };
    let c_cs = c.nrows();
    gemm_strided(
        (m, n, k),
        alpha,
        (a.as_slice(), a_rs, a_cs),
        (b.as_slice(), b_rs, b_cs),
        beta,
        (c.as_mut_slice(), 1, c_cs),
    );
}

/// A read-only strided `rows x cols` block of a slice: element `(i, j)` is
/// `data[i·row_stride + j·col_stride]`. The form in which [`gemm_blocks`] multiplies sub-blocks
/// (a window of time steps, one image of a batch, a matrix without its first column) without
/// copying them out.
///
/// ```
/// use optim::linalg::Block;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];        // a 2 x 3 matrix, column-major
/// let a = Block::columns(&data, 2, 3);
/// assert_eq!((a.get(1, 2), a.t().get(2, 1)), (6.0, 6.0));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Block<'a, F> {
    data: &'a [F],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, F: Copy> Block<'a, F> {
    /// A column-major `rows x cols` block at the start of `data` (columns `rows` apart).
    pub fn columns(data: &'a [F], rows: usize, cols: usize) -> Self {
        Block {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// A block with explicit strides.
    pub fn strided(
        data: &'a [F],
        (rows, cols): (usize, usize),
        (row_stride, col_stride): (usize, usize),
    ) -> Self {
        Block {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transposed view (`cols x rows`), with no copy.
    pub fn t(self) -> Self {
        Block {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If it lies outside the slice.
    pub fn get(&self, i: usize, j: usize) -> F {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// A mutable strided block of a slice (the output of [`gemm_blocks`]); see [`Block`].
#[derive(Debug)]
pub struct BlockMut<'a, F> {
    data: &'a mut [F],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, F> BlockMut<'a, F> {
    /// A column-major `rows x cols` block at the start of `data`.
    pub fn columns(data: &'a mut [F], rows: usize, cols: usize) -> Self {
        BlockMut {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }
}

/// `C ← α·A·B + β·C` on strided blocks (`A`: `m x k`, `B`: `k x n`, `C`: `m x n`). With
/// `β = 0` the old contents of `C` are ignored.
///
/// ```
/// use optim::linalg::{Block, BlockMut, gemm_blocks};
/// let a = [1.0, 2.0, 3.0, 4.0];                        // [[1, 3], [2, 4]]
/// let mut c = [0.0; 4];
/// gemm_blocks(1.0, Block::columns(&a, 2, 2), Block::columns(&a, 2, 2).t(), 0.0,
///             BlockMut::columns(&mut c, 2, 2));
/// assert_eq!(c, [10.0, 14.0, 14.0, 20.0]);              // A Aᵀ
/// ```
///
/// # Panics
/// If the shapes do not agree or a block reaches past the end of its slice.
pub fn gemm_blocks<F: Float>(
    alpha: F,
    a: Block<'_, F>,
    b: Block<'_, F>,
    beta: F,
    c: BlockMut<'_, F>,
) {
    assert!(
        a.cols == b.rows && c.rows == a.rows && c.cols == b.cols,
        "gemm_blocks: {}x{} times {}x{} into {}x{}",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    gemm_strided(
        (a.rows, b.cols, a.cols),
        alpha,
        (a.data, a.row_stride, a.col_stride),
        (b.data, b.row_stride, b.col_stride),
        beta,
        (c.data, c.row_stride, c.col_stride),
    );
}

/// The kernel call behind [`gemm_blocks`]: element `(i, j)` of `A` is `a[i·a_rs + j·a_cs]`,
/// and likewise for `B` and `C`.
///
/// # Panics
/// If a block reaches past the end of its slice.
fn gemm_strided<F: Float>(
    (m, n, k): (usize, usize, usize),
    alpha: F,
    (a, a_rs, a_cs): (&[F], usize, usize),
    (b, b_rs, b_cs): (&[F], usize, usize),
    beta: F,
    (c, c_rs, c_cs): (&mut [F], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last(m, n, c_rs, c_cs) < c.len(),
        "gemm_strided: C block out of bounds"
    );
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                let v = &mut c[i * c_rs + j * c_cs];
                *v = if beta == F::zero() {
                    F::zero()
                } else {
                    *v * beta
                };
            }
        }
        return;
    }
    assert!(
        last(m, k, a_rs, a_cs) < a.len(),
        "gemm_strided: A block out of bounds"
    );
    assert!(
        last(k, n, b_rs, b_cs) < b.len(),
        "gemm_strided: B block out of bounds"
    );
    let read_dst = beta != F::zero();
    #[allow(unsafe_code)]
    // SAFETY: the asserts above keep every element the kernel touches inside `a`, `b` and `c`;
    // `c` is borrowed mutably, so it cannot alias `a` or `b`; `F` is f32 or f64, which the kernel
    // supports (any other type makes it panic, not misbehave). The crate's convention is
    // `dst ← alpha·dst + beta·lhs·rhs`, hence the swapped scalars.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs as isize,
            c_rs as isize,
            read_dst,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            beta,
            alpha,
            false,
            false,
            false,
            parallelism(m, n, k),
        );
    }
}

/// `A·B` into a new matrix (for `&self` inference paths, which may allocate).
pub fn matmul<F: Float>(a: &Mat<F>, trans_a: bool, b: &Mat<F>, trans_b: bool) -> Mat<F> {
    let m = if trans_a { a.ncols() } else { a.nrows() };
    let n = if trans_b { b.nrows() } else { b.ncols() };
    let mut c = Mat::zeros(m, n);
    gemm(F::one(), a, trans_a, b, trans_b, F::zero(), &mut c);
    c
}

/// Makes `buf` a `rows x cols` matrix, reusing its allocation when the size already fits.
/// The contents are unspecified afterwards (callers overwrite them).
pub fn resize_buffer<F: Float>(buf: &mut Mat<F>, rows: usize, cols: usize) {
    if buf.nrows() != rows || buf.ncols() != cols {
        *buf = Mat::zeros(rows, cols);
    }
}

/// Copies `src` into `dst`, reusing `dst`'s allocation when the shapes agree.
pub fn copy_into<F: Float>(dst: &mut Mat<F>, src: &Mat<F>) {
    if dst.shape() == src.shape() {
        dst.copy_from(src);
    } else {
        *dst = src.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_product_in_every_transpose_combination() {
        let a = Mat::from_fn(3, 4, |i, j| (i * 4 + j) as f64 * 0.5 - 2.0);
        let b = Mat::from_fn(4, 5, |i, j| (i as f64 - j as f64) * 0.25);
        let c0 = Mat::from_fn(3, 5, |i, j| (i + j) as f64);
        let want = &a * &b * 2.0 + &c0 * 0.5;
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let aa = if ta { a.transpose() } else { a.clone() };
            let bb = if tb { b.transpose() } else { b.clone() };
            let mut c = c0.clone();
            gemm(2.0, &aa, ta, &bb, tb, 0.5, &mut c);
            assert!((c - &want).abs().max() < 1e-12, "ta={ta} tb={tb}");
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_output() {
        let a = Mat::<f32>::identity(2, 2);
        let mut c = Mat::from_element(2, 2, f32::NAN);
        gemm(1.0, &a, false, &a, false, 0.0, &mut c);
        assert_eq!(c, Mat::identity(2, 2));
    }

    #[test]
    fn empty_inner_dimension_scales_output() {
        let a = Mat::<f64>::zeros(2, 0);
        let b = Mat::<f64>::zeros(0, 3);
        let mut c = Mat::from_element(2, 3, 2.0);
        gemm(1.0, &a, false, &b, false, 0.5, &mut c);
        assert_eq!(c, Mat::from_element(2, 3, 1.0));
    }
}
