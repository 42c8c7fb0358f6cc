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

/// The adding problem's own loop (fresh batches every step, drawn from the generator that
/// initialized the model): `N` epochs, a training-state file, a load and `N` more equal `2N`
/// straight — the model, Adam's state, every epoch's record — with a step schedule, so the step
/// count has to carry over too.
#[test]
fn the_adding_problems_sampled_loop_resumes_bit_for_bit() {
    use optim::testing::{TempDir, epoch_records, training_bits};
    use optim::train::Flow;
    use rnn::{
        AddingConfig, CellKind, SampledRun, adding_start, load_adding, save_adding, train_adding,
        train_adding_resume,
    };
    let cfg = |epochs: usize| AddingConfig {
        cell: CellKind::Lstm,
        steps: 8,
        hidden: 6,
        test_size: 40,
        steps_per_epoch: 3,
        train: TrainConfig::new(epochs, 8)
            .clip_grad_norm(1.0)
            .seed(4)
            .schedule(Schedule::Step {
                every: 4,
                gamma: 0.5,
            }),
        ..AddingConfig::default()
    };
    let go = |c: &AddingConfig, run: &mut SampledRun<f32>| {
        train_adding_resume(c, run, &mut |_| Ok(Flow::Continue), &mut |_| {}).unwrap()
    };
    let mut straight = adding_start::<f32>(&cfg(2 * HALF)).unwrap();
    let whole = go(&cfg(2 * HALF), &mut straight);
    assert_eq!(whole.epochs.len(), 2 * HALF);
    // train_adding is the same run
    let report = train_adding::<f32>(&cfg(2 * HALF), &mut |_| {}).unwrap();
    assert_eq!(epoch_records(&report.history), epoch_records(&whole));

    let dir = TempDir::new("rnn-adding-resume");
    let path = dir.join("half.safetensors");
    let mut first = adding_start::<f32>(&cfg(HALF)).unwrap();
    let h1 = go(&cfg(HALF), &mut first);
    assert_eq!(epoch_records(&h1), epoch_records(&whole)[..HALF]);
    save_adding(&path, &cfg(HALF), &mut first).unwrap();

    let (saved, mut resumed) = load_adding::<f32>(&path).unwrap();
    assert_eq!(saved, cfg(HALF));
    assert_eq!(resumed.position, first.position);
    let h2 = go(&cfg(2 * HALF), &mut resumed);
    assert_eq!(epoch_records(&h2), epoch_records(&whole)[HALF..]);
    assert_eq!(h2.steps, whole.steps);
    assert_eq!(
        training_bits(&mut resumed.model, &resumed.optimizer),
        training_bits(&mut straight.model, &straight.optimizer)
    );
    assert_eq!(resumed.position, straight.position);

    // stopped by its callback after one epoch: the position of a one-epoch run
    let mut paused = adding_start::<f32>(&cfg(2 * HALF)).unwrap();
    let h = train_adding_resume(
        &cfg(2 * HALF),
        &mut paused,
        &mut |_| Ok(Flow::Stop),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(epoch_records(&h), epoch_records(&whole)[..1]);
    // another seed is refused
    let mut other = cfg(2 * HALF);
    other.train.seed = 5;
    let err = train_adding_resume(
        &other,
        &mut paused,
        &mut |_| Ok(Flow::Continue),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("seed 4"), "{err}");
    // a file of another trainer is refused
    std::fs::write(dir.join("not.safetensors"), b"junk").unwrap();
    assert!(load_adding::<f32>(dir.join("not.safetensors")).is_err());
}
