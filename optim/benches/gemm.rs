//! The matrix-product kernel: nalgebra's `mul_to` (its own `matrixmultiply` kernel) against
//! `optim::linalg::gemm` (the `gemm` crate), `f32`, one thread, into preallocated outputs, plus
//! nalgebra's allocating `&a * &b` for reference.
//!
//! Shapes are written `batch x in x out`, the products of a `Linear` layer: `C = W X` with `W`
//! `out x in` and `X` `in x batch`; `2·batch·in·out` flops. Criterion reports the throughput in
//! elements per second with one element per flop, so `Gelem/s` reads as GFLOP/s.
//!
//! ```text
//! cargo bench -p inductive-optim --bench gemm
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use optim::Mat;
use optim::linalg::gemm;
use std::hint::black_box;
use std::time::Duration;

/// `(batch, in, out)`.
const SHAPES: [(usize, usize, usize); 3] = [(128, 784, 256), (128, 256, 10), (128, 128, 128)];

fn bench(c: &mut Criterion) {
    optim::linalg::set_threads(1);
    let mut group = c.benchmark_group("gemm_f32");
    for (batch, inputs, outputs) in SHAPES {
        let w = Mat::<f32>::from_fn(outputs, inputs, |i, j| ((i * 7 + j * 3) % 11) as f32 * 0.1);
        let x = Mat::<f32>::from_fn(inputs, batch, |i, j| ((i * 5 + j) % 13) as f32 * 0.1 - 0.6);
        let mut out = Mat::<f32>::zeros(outputs, batch);
        let label = format!("{batch}x{inputs}x{outputs}");
        group.throughput(Throughput::Elements((2 * batch * inputs * outputs) as u64));
        group.bench_function(BenchmarkId::new("nalgebra_mul_to", &label), |b| {
            b.iter(|| black_box(&w).mul_to(black_box(&x), &mut out))
        });
        group.bench_function(BenchmarkId::new("optim_gemm", &label), |b| {
            b.iter(|| {
                gemm(
                    1.0,
                    black_box(&w),
                    false,
                    black_box(&x),
                    false,
                    0.0,
                    &mut out,
                )
            })
        });
        group.bench_function(BenchmarkId::new("nalgebra_alloc_mul", &label), |b| {
            b.iter(|| black_box(black_box(&w) * black_box(&x)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
