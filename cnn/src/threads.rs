//! Batch-parallel loops: the images of a batch (or chunks of an element-wise loop) split over
//! rayon's pool when [`optim::linalg::set_threads`] asked for more than one thread.

/// Work (in scalar operations) below which a loop stays on one thread.
const PARALLEL_MIN_WORK: usize = 1 << 15;

/// Runs `f(index, chunk)` over `data` cut into chunks of `chunk_len` (the last may be shorter),
/// on rayon's pool when [`optim::linalg::set_threads`] asked for more than one thread and the
/// loop does at least `work` operations worth splitting; in order on this thread otherwise.
pub(crate) fn for_each_chunk<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    use rayon::prelude::*;
    if chunk_len == 0 {
        return;
    }
    if optim::linalg::threads() > 1 && work >= PARALLEL_MIN_WORK && data.len() > chunk_len {
        data.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// [`for_each_chunk`] over two buffers cut in step: `f(index, chunk_a, chunk_b)`.
pub(crate) fn for_each_chunk2<A: Send, B: Send>(
    a: &mut [A],
    a_len: usize,
    b: &mut [B],
    b_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    use rayon::prelude::*;
    if a_len == 0 || b_len == 0 {
        return;
    }
    if optim::linalg::threads() > 1 && work >= PARALLEL_MIN_WORK && a.len() > a_len {
        a.par_chunks_mut(a_len)
            .zip(b.par_chunks_mut(b_len))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.chunks_mut(a_len)
            .zip(b.chunks_mut(b_len))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// Elements per chunk of element-wise loops split over threads.
pub(crate) const ELEMENTWISE_CHUNK: usize = 1 << 14;
