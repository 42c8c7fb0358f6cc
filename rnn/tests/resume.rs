//! Exact resume of the seq2seq model through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, Adam's state, the `Resume` entry),
//! loaded into a model built from another seed and `N` more epochs equal `2N` straight, bit for
//! bit (`optim::testing::assert_exact_resume`). Scheduled sampling draws from the loop's
//! generator, so its position matters; the rate follows warm-up + cosine, clipped.

mod common;

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
    optim::testing::assert_exact_resume(
        "seq-model",
        &|seed| common::lstm(10, seed),
        &|| Box::new(Adam::new(3e-3).unwrap()) as Box<dyn Optimizer<f32>>,
        &common::adding_sequences(),
        None,
        &|epochs| common::lstm_training(epochs, 16, 6 * 2 * HALF),
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

/// The character model's stateful truncated-BPTT loop: the model, Adam's state, the schedule's
/// step, the pass and chunk of the text and the hidden state carried into the next chunk go into
/// one training-state file. Saved after every epoch of a straight run — inside a pass (a
/// carried state, two layers of `h` and `c`) and at the start of one (no state) — each file,
/// loaded into a fresh run, continues to the same end as the straight run, bit for bit, for an
/// LSTM and a tanh RNN.
#[test]
fn the_character_models_stateful_loop_resumes_bit_for_bit() {
    use optim::testing::{TempDir, epoch_records, training_bits};
    use optim::train::Flow;
    use rnn::tasks::CharCorpus;
    use rnn::{
        CellKind, CharLmConfig, SampledRun, char_lm_start, load_char_lm, save_char_lm,
        train_char_lm, train_char_lm_resume,
    };
    const EPOCHS: usize = 5;
    // 3 streams of 26 (then 25) characters, passes of 5, 4, 4, ... chunks of 5: the epochs of
    // 3 steps end inside the first and second passes, at the start of the third (step 9, no
    // state carried) and inside the third and fourth
    let text = "the quick brown fox jumps over the lazy dog; pack my box with five dozen \
                liquor jugs. sphinx of blac"; // 100 characters: 80 to train on, 20 to validate
    let corpus = CharCorpus::new(text, 0.2).unwrap();
    let dir = TempDir::new("rnn-char-resume");
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        let cfg = |epochs: usize| CharLmConfig {
            cell,
            hidden: 6,
            layers: 2,
            embedding: Some(4),
            steps: 5,
            lr: 1e-2,
            steps_per_epoch: 3,
            max_seconds: None,
            train: TrainConfig::new(epochs, 3)
                .clip_grad_norm(1.0)
                .seed(8)
                .schedule(Schedule::Step {
                    every: 4,
                    gamma: 0.5,
                }),
        };
        let go =
            |c: &CharLmConfig,
             run: &mut SampledRun<f32>,
             after: &mut dyn FnMut(&mut SampledRun<f32>) -> optim::Result<Flow>| {
                train_char_lm_resume(c, &corpus, run, after, &mut |_| {})
                    .unwrap()
                    .0
            };
        let mut straight = char_lm_start::<f32>(&cfg(EPOCHS), &corpus).unwrap();
        let mut positions = Vec::new();

        let whole = go(&cfg(EPOCHS), &mut straight, &mut |r| {
            let at = r.position;
            save_char_lm(
                dir.join(format!("{cell:?}-{}.safetensors", at.epochs)),
                &cfg(EPOCHS),
                r,
            )?;
            positions.push((at.stream.unwrap(), r.state.is_some()));

            Ok(Flow::Continue)
        });
        assert_eq!(whole.epochs.len(), EPOCHS);
        // a state is carried inside a pass, none at its start; both kinds are resumed below
        let kinds: Vec<(usize, usize, bool)> = positions
            .iter()
            .map(|(p, s)| (p.pass, p.chunk, *s))
            .collect();
        assert!(
            kinds
                .iter()
                .all(|&(_, chunk, carried)| (chunk > 0) == carried)
        );
        assert_eq!(
            kinds,
            [
                (0, 3, true),
                (1, 1, true),
                (2, 0, false),
                (2, 3, true),
                (3, 2, true)
            ]
        );
        // train_char_lm is the same run
        let report = train_char_lm::<f32>(&cfg(EPOCHS), &corpus, &mut |_| {}).unwrap();
        assert_eq!(epoch_records(&report.history), epoch_records(&whole));
        let mut model = report.model;
        assert_eq!(
            optim::testing::param_bits(&mut model),
            optim::testing::param_bits(&mut straight.model)
        );
        for done in 1..EPOCHS {
            let path = dir.join(format!("{cell:?}-{done}.safetensors"));
            let (saved, mut resumed) = load_char_lm::<f32>(&path, &corpus).unwrap();
            assert_eq!(saved, cfg(EPOCHS));

            let rest = go(&cfg(EPOCHS), &mut resumed, &mut |_| Ok(Flow::Continue));
            assert_eq!(
                epoch_records(&rest),
                epoch_records(&whole)[done..],
                "{cell:?} resumed after epoch {done}"
            );
            assert_eq!(
                training_bits(&mut resumed.model, &resumed.optimizer),
                training_bits(&mut straight.model, &straight.optimizer),
                "{cell:?} resumed after epoch {done}"
            );
            assert_eq!(resumed.position, straight.position);
            assert_eq!(resumed.state, straight.state);
        }
        // without the carried state the continuation differs: the state matters
        let (_, mut stateless) =
            load_char_lm::<f32>(dir.join(format!("{cell:?}-1.safetensors")), &corpus).unwrap();
        stateless.state = stateless.state.map(|s| rnn::RnnState {
            h: s.h.iter().map(|m| m.map(|_| 0.0)).collect(),
            c: s.c.iter().map(|m| m.map(|_| 0.0)).collect(),
        });
        go(&cfg(EPOCHS), &mut stateless, &mut |_| Ok(Flow::Continue));
        assert_ne!(
            optim::testing::param_bits(&mut stateless.model),
            optim::testing::param_bits(&mut straight.model)
        );
    }
    // another text, another trainer's file, another seed are refused
    let reversed: String = text.chars().rev().collect(); // the same characters
    let other = CharCorpus::new(&reversed, 0.2).unwrap();
    let path = dir.join("Lstm-2.safetensors");
    let err = load_char_lm::<f32>(&path, &other).unwrap_err();
    assert!(err.to_string().contains("another text"), "{err}");
    assert!(rnn::load_adding::<f32>(&path).is_err());
    let (mut c, mut run) = load_char_lm::<f32>(&path, &corpus).unwrap();
    c.train.seed = 9;
    let err = train_char_lm_resume(
        &c,
        &corpus,
        &mut run,
        &mut |_| Ok(Flow::Continue),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("seed 8"), "{err}");
}
