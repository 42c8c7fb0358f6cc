//! Exact resume of the seq2seq model through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, Adam's state, the `Resume` entry),
//! loaded into a model built from another seed and `N` more epochs equal `2N` straight, bit for
//! bit (`optim::testing::assert_exact_resume`). Scheduled sampling draws from the loop's
//! generator, so its position matters; the rate follows warm-up + cosine, clipped.

use optim::train::TrainConfig;
use optim::{Adam, Optimizer, Schedule};
use rnn::seq2seq::{AttentionKind, Pairs, Seq2Seq, Seq2SeqConfig, Vocab, reverse_task};

const HALF: usize = 2;

#[test]
fn seq2seq_with_scheduled_sampling_resumes_bit_for_bit() {
    let pairs = reverse_task(96, 5, 3, 6, &mut optim::rng(0)).unwrap();
    let vocab = Vocab::from_pairs(&pairs);
    let data = Pairs::encode(&vocab, &pairs);
    let mut config = Seq2SeqConfig::new(vocab, 8, 12, AttentionKind::Additive);
    config.max_len = 8;
    config.sampling = 0.3;
    let config_for = |epochs: usize| {
        TrainConfig::new(epochs, 16)
            .seed(6)
            .clip_grad_norm(1.0)
            .schedule(Schedule::CosineWarmup {
                warmup: 3,
                total: 6 * 2 * HALF,
                min_lr: 1e-4,
            })
    };
    optim::testing::assert_exact_resume(
        "seq2seq",
        &|seed| Seq2Seq::<f32>::new(config.clone(), &mut optim::rng(seed)).unwrap(),
        &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &config_for,
        HALF,
    );
}

/// The recurrent sequence model (`SeqModel`, LSTM, dense input, last-step readout) on the adding
/// problem goes through the shared loop too: its resume is exact.
#[test]
fn seq_model_resumes_bit_for_bit() {
    use rnn::{CellKind, ModelConfig, Readout, SeqModel, Sequences};
    let (x, y) = rnn::tasks::adding_problem::<f32>(12, 96, &mut optim::rng(1)).unwrap();
    let data = Sequences::regression(x, y).unwrap();
    let config = ModelConfig::dense(CellKind::Lstm, 2, 10, 1, Readout::Last);
    optim::testing::assert_exact_resume(
        "seq-model",
        &|seed| SeqModel::<f32>::new(config.clone(), &mut optim::rng(seed)).unwrap(),
        &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &|epochs: usize| {
            TrainConfig::new(epochs, 16)
                .seed(3)
                .clip_grad_norm(1.0)
                .schedule(Schedule::CosineWarmup {
                    warmup: 2,
                    total: 6 * 2 * HALF,
                    min_lr: 1e-4,
                })
        },
        HALF,
    );
}
