//! Same seed → byte-identical training checkpoints at 1 and 2 threads (issue 14): an LSTM
//! sequence model on the adding problem, Adam, warm-up + cosine and clipping, with its batches
//! cut into 2 data-parallel shards (run on the pool's threads) and without
//! (`optim::testing::assert_thread_count_stable`).

use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};
use rnn::{CellKind, ModelConfig, Readout, SeqModel, Sequences};

#[test]
fn one_and_two_threads_write_the_same_checkpoint_bytes() {
    let (x, y) = rnn::tasks::adding_problem::<f32>(12, 96, &mut optim::rng(1)).unwrap();
    let data = Sequences::regression(x, y).unwrap();
    let config = ModelConfig::dense(CellKind::Lstm, 2, 16, 1, Readout::Last);
    for shards in [2, 1] {
        let settings = TrainConfig::new(2, 32)
            .seed(3)
            .shards(shards)
            .clip_grad_norm(1.0)
            .schedule(Schedule::CosineWarmup {
                warmup: 2,
                total: 6,
                min_lr: 1e-4,
            });
        optim::testing::assert_thread_count_stable(
            &format!("lstm-shards-{shards}"),
            &|| SeqModel::<f32>::new(config.clone(), &mut optim::rng(4)).unwrap(),
            &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
            &data,
            None,
            &settings,
        );
    }
}
