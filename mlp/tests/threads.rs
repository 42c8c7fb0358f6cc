//! Same seed, same bytes, at any thread count (issue 14): an MLP (dropout, batch norm, Adam,
//! warm-up + cosine) trained with `TrainConfig::shards` fixed, in a rayon pool of 1 thread and
//! in one of 2, writes byte-identical training checkpoints (parameters, running statistics,
//! Adam's moments, the resume point) and reports bit-identical metrics. The shards fix how a
//! batch is cut and summed; the thread count only decides which thread computes which part.

use mlp::Config;
use optim::checkpoint;
use optim::testing::history_bits;
use optim::train::{TrainConfig, fit_resume};
use optim::{Adam, Schedule};

fn checkpoint_bytes(
    threads: usize,
    shards: usize,
) -> (Vec<u8>, Vec<(usize, u64, u64, Option<u64>)>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        optim::linalg::with_threads(threads, || {
            let data = optim::data::generate::two_moons::<f32>(300, 0.1, &mut optim::rng(1));
            let validation = optim::data::generate::two_moons::<f32>(80, 0.1, &mut optim::rng(2));
            let mut net = Config::classifier(2, &[64, 64], 2)
                .dropout(0.2)
                .batch_norm(true)
                .init::<f32>(&mut optim::rng(3))
                .unwrap();
            let mut adam = Adam::new(0.01).unwrap();
            let config =
                TrainConfig::new(3, 64)
                    .seed(4)
                    .shards(shards)
                    .schedule(Schedule::CosineWarmup {
                        warmup: 3,
                        total: 15,
                        min_lr: 1e-4,
                    });
            let (history, resume) = fit_resume(
                &mut net,
                &data,
                Some(&validation),
                &mut adam,
                &config,
                None,
                &mut |_| {},
            )
            .unwrap();
            let path = std::env::temp_dir().join(format!(
                "mlp-threads-{}-{threads}-{shards}.safetensors",
                std::process::id()
            ));
            checkpoint::save_training(&path, &mut net, &adam, &[resume.metadata()]).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            (bytes, history_bits(&history))
        })
    })
}

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let (one, h1) = checkpoint_bytes(1, 2);
    let (two, h2) = checkpoint_bytes(2, 2);
    assert_eq!(h1, h2, "the metrics differ between 1 and 2 threads");
    assert!(one == two, "the checkpoints differ between 1 and 2 threads");
    // and the same again: nothing in the file depends on the run (time, order of a hash map)
    assert!(checkpoint_bytes(2, 2).0 == two);
}

/// Without shards, the matrix products themselves may use the pool's threads
/// (`optim::linalg::with_threads`): gemm splits the output, not the sums, so the bits hold too.
#[test]
fn one_and_two_threads_agree_without_shards() {
    let (one, h1) = checkpoint_bytes(1, 1);
    let (two, h2) = checkpoint_bytes(2, 1);
    assert_eq!(h1, h2, "the metrics differ between 1 and 2 threads");
    assert!(one == two, "the checkpoints differ between 1 and 2 threads");
}
