//! Exact resume through the shared loop (issue 14): `N` epochs with `fit_resume`, a training
//! checkpoint (`save_training` with the `Resume` entry), and a **new process** that loads it into
//! a freshly built model and optimizer and trains `N` more ends bit for bit where `2N` epochs
//! straight do — parameters, Adam's moments, the losses of every epoch, the resume state. The
//! model draws dropout masks from the loop's generator and the rate follows a warm-up + cosine
//! schedule, so the generator's position, the schedule's step and the base rate all have to be
//! carried. The second half runs in a child: this test binary again, with `OPTIM_RESUME_CHILD`
//! naming the checkpoint (the `#[ignore]`d `child_second_half` is its entry point).

use optim::checkpoint;
use optim::data::{Dataset, generate};
use optim::testing::{Probe, TempDir, child_report, epoch_records, training_bits};
use optim::train::{EarlyStopping, History, Resume, TrainConfig, fit, fit_resume};
use optim::{Adam, Schedule};
use std::path::Path;

const CHILD_ENV: &str = "OPTIM_RESUME_CHILD";
const OUT_ENV: &str = "OPTIM_RESUME_OUT";
const HALF: usize = 3;

/// `tanh(W1 x + b1)`, dropout 0.3, `W2 h + b2`, soft-max cross-entropy: the shared test model.
type Net = Probe<f32>;

fn net(seed: u64) -> Net {
    Probe::new(2, 16, 2, 0.3, false, seed)
}

/// Training and validation sets.
type Sets = (Dataset<f32>, Dataset<f32>);

fn data() -> Sets {
    let mut rng = optim::rng(5);
    (
        generate::two_moons(203, 0.15, &mut rng),
        generate::two_moons(60, 0.15, &mut rng),
    )
}

/// The run's configuration for `epochs` epochs: batches of 16 (the last one of 11), warm-up
/// then cosine over the whole run of `2 * HALF` epochs, clipping, early stopping that only
/// keeps its books (patience larger than the run).
fn config(epochs: usize) -> TrainConfig {
    TrainConfig::new(epochs, 16)
        .seed(9)
        .clip_grad_norm(5.0)
        .schedule(Schedule::CosineWarmup {
            warmup: 10,
            total: 13 * 2 * HALF,
            min_lr: 1e-4,
        })
        .early_stopping(EarlyStopping {
            patience: 100,
            restore_best: false,
            ..Default::default()
        })
}

fn fresh() -> (Net, Adam<f32>) {
    (net(1), Adam::new(0.02).expect("valid rate"))
}

/// `fit_resume` on the training and validation sets `(train, validation)`, without a progress
/// callback.
fn go(
    (train, validation): &Sets,
    model: &mut Net,
    adam: &mut Adam<f32>,
    config: &TrainConfig,
    resume: Option<&Resume>,
) -> optim::Result<(History, Resume)> {
    fit_resume(
        model,
        train,
        Some(validation),
        adam,
        config,
        resume,
        &mut |_| {},
    )
}

/// `fit` (the loop without resume points) on the sets, without a progress callback.
fn go_plain(
    (train, validation): &Sets,
    model: &mut Net,
    adam: &mut Adam<f32>,
    config: &TrainConfig,
) -> optim::Result<History> {
    fit(model, train, Some(validation), adam, config, &mut |_| {})
}

#[test]
fn the_loops_generator_is_the_chacha12_stream_of_its_seed() {
    use rand::{RngCore, SeedableRng};
    for seed in [0, 9, u64::MAX] {
        let mut std = optim::rng(seed);
        let mut chacha = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
        for _ in 0..1000 {
            assert_eq!(std.next_u32(), chacha.next_u32());
        }
        assert_eq!(chacha.get_word_pos(), 1000);
    }
}

#[test]
fn fit_and_fit_resume_train_alike() {
    let sets = data();
    let (mut a, mut adam_a) = fresh();
    let ha = go_plain(&sets, &mut a, &mut adam_a, &config(4)).unwrap();
    let (mut b, mut adam_b) = fresh();
    let (hb, state) = go(&sets, &mut b, &mut adam_b, &config(4), None).unwrap();
    assert_eq!(epoch_records(&ha), epoch_records(&hb));
    assert_eq!(
        training_bits(&mut a, &adam_a),
        training_bits(&mut b, &adam_b)
    );
    assert_eq!((state.epochs(), state.steps()), (4, 4 * 13));
    // the dropout masks drew from the generator: 16 x 203 words per epoch and the shuffles'
    assert!(state.rng_words() > 4 * 16 * 203, "{}", state.rng_words());
}

/// The child's half: load the checkpoint into a freshly built (differently initialized) model
/// and an optimizer with another rate, train to `2 * HALF` epochs, write the result.
#[test]
#[ignore = "entry point of the child process of resume_in_a_new_process_is_bit_for_bit"]
fn child_second_half() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let out = std::env::var_os(OUT_ENV).expect("output path");
    let sets = data();
    let mut model = net(77);
    let mut adam = Adam::new(0.5).expect("valid rate");
    let meta = checkpoint::load_training(Path::new(&path), &mut model, &mut adam).unwrap();
    let resume = Resume::from_metadata(&meta).unwrap();
    assert_eq!(resume.epochs(), HALF);
    let (history, state) = go(
        &sets,
        &mut model,
        &mut adam,
        &config(2 * HALF),
        Some(&resume),
    )
    .unwrap();
    let report = serde_json::json!({
        "bits": training_bits(&mut model, &adam),
        "records": epoch_records(&history),
        "steps": history.steps,
        "state": state,
    });
    std::fs::write(out, report.to_string()).unwrap();
}

#[test]
fn resume_in_a_new_process_is_bit_for_bit() {
    let sets = data();
    // 2N epochs straight
    let (mut straight, mut adam_s) = fresh();
    let (hs, state_s) = go(&sets, &mut straight, &mut adam_s, &config(2 * HALF), None).unwrap();
    // N epochs, then a training checkpoint with the resume state
    let dir = TempDir::new("optim-resume-process");
    let path = dir.join("half.safetensors");
    let (mut model, mut adam) = fresh();
    let (h1, state) = go(&sets, &mut model, &mut adam, &config(HALF), None).unwrap();
    assert_eq!(epoch_records(&h1), epoch_records(&hs)[..HALF]);
    checkpoint::save_training(&path, &mut model, &adam, &[state.metadata()]).unwrap();
    // N more in a new process
    let out = dir.join("child.json");
    let report = child_report("child_second_half", (CHILD_ENV, &path), (OUT_ENV, &out));
    let child_bits: Vec<(String, Vec<u64>)> =
        serde_json::from_value(report["bits"].clone()).unwrap();
    let child_records: Vec<String> = serde_json::from_value(report["records"].clone()).unwrap();
    let child_state: Resume = serde_json::from_value(report["state"].clone()).unwrap();
    assert_eq!(child_records, epoch_records(&hs)[HALF..]);
    assert_eq!(report["steps"], hs.steps);
    assert_eq!(child_bits, training_bits(&mut straight, &adam_s));
    assert_eq!(child_state, state_s);
}

#[test]
fn resuming_from_the_wrong_point_or_config_differs_or_is_refused() {
    let sets = data();
    let (mut straight, mut adam_s) = fresh();
    go_plain(&sets, &mut straight, &mut adam_s, &config(2)).unwrap();
    let (mut model, mut adam) = fresh();
    let (_, state) = go(&sets, &mut model, &mut adam, &config(1), None).unwrap();
    // another seed (or batch size, schedule, ...) is refused, naming the resume
    let err = go(
        &sets,
        &mut model,
        &mut adam,
        &config(2).seed(10),
        Some(&state),
    )
    .unwrap_err();
    assert!(err.to_string().contains("another configuration"), "{err}");
    // the JSON entry round-trips
    let (key, json) = state.metadata();
    let meta = [(key.to_string(), json)].into_iter().collect();
    assert_eq!(Resume::from_metadata(&meta).unwrap(), state);
    assert!(Resume::from_metadata(&Default::default()).is_err());
    // the same model and optimizer continued in process: the straight run
    let (mut m2, mut a2) = (model, adam);
    go(&sets, &mut m2, &mut a2, &config(2), Some(&state)).unwrap();
    assert_eq!(
        training_bits(&mut m2, &a2),
        training_bits(&mut straight, &adam_s)
    );
}

#[test]
fn early_stopping_resumes_its_books_and_restore_best_is_refused() {
    let sets = data();
    // patience 1 on the validation loss: stops as soon as an epoch does not improve
    let es = |restore_best| {
        config(40).early_stopping(EarlyStopping {
            patience: 1,
            min_delta: 0.05,
            restore_best,
            ..Default::default()
        })
    };
    let (mut straight, mut adam_s) = fresh();
    let (hs, state_s) = go(&sets, &mut straight, &mut adam_s, &es(false), None).unwrap();
    assert!(hs.stopped_early && state_s.patience_exhausted());
    let stop = hs.epochs.len();
    assert!(
        stop >= 3,
        "stopped after {stop} epochs: pick other settings"
    );
    // the first stop - 2 epochs, then resumed to the 40 epochs: the same stop
    let mut first = es(false);
    first.epochs = stop - 2;
    let (mut model, mut adam) = fresh();
    let (_, state) = go(&sets, &mut model, &mut adam, &first, None).unwrap();
    let (h2, state2) = go(&sets, &mut model, &mut adam, &es(false), Some(&state)).unwrap();
    assert_eq!(epoch_records(&h2), epoch_records(&hs)[stop - 2..]);
    assert!(h2.stopped_early);
    assert_eq!(h2.best_epoch, hs.best_epoch);
    assert_eq!(state2, state_s);
    assert_eq!(
        training_bits(&mut model, &adam),
        training_bits(&mut straight, &adam_s)
    );
    // a finished run trains nothing more
    let (h3, state3) = go(&sets, &mut model, &mut adam, &es(false), Some(&state2)).unwrap();
    assert!(h3.epochs.is_empty());
    assert_eq!(state3, state2);
    // with restore_best, a run cut before its stop ended on its best epoch's weights: refused
    let mut first = es(true);
    first.epochs = stop - 1;
    let (mut model, mut adam) = fresh();
    let (h, state) = go(&sets, &mut model, &mut adam, &first, None).unwrap();
    assert!(h.restored_best);
    let err = go(&sets, &mut model, &mut adam, &es(true), Some(&state)).unwrap_err();
    assert!(err.to_string().contains("restore_best"), "{err}");
}

/// `fit_resume_with` hands over after every epoch the state a call of that many epochs returns,
/// and a call stopped by its callback after `k` epochs continues to the straight run: a
/// checkpoint written after every epoch continues a run killed at any moment.
#[test]
fn the_state_after_every_epoch_is_a_resume_point() {
    use optim::train::{AfterEpoch, Flow, fit_resume_with};
    let sets = data();
    // 2N epochs (of `config(2 * HALF)`) from the start, with a callback after every epoch
    let go_with = |model: &mut Net, adam: &mut Adam<f32>, hook: &mut AfterEpoch<'_, f32, Net>| {
        fit_resume_with(
            model,
            &sets.0,
            Some(&sets.1),
            adam,
            &config(2 * HALF),
            None,
            hook,
            &mut |_| {},
        )
    };
    let (mut straight, mut adam_s) = fresh();
    let mut seen = Vec::new();
    let (hs, end_s) = go_with(&mut straight, &mut adam_s, &mut |_, _, state| {
        seen.push(state.clone());
        Ok(Flow::Continue)
    })
    .unwrap();
    assert_eq!(seen.len(), 2 * HALF);
    assert_eq!(seen.last(), Some(&end_s));
    for k in [1, HALF] {
        let (mut m, mut a) = fresh();
        let (_, at_k) = go(&sets, &mut m, &mut a, &config(k), None).unwrap();
        assert_eq!(seen[k - 1], at_k, "the state after epoch {k}");
    }
    // stopped by the callback after HALF epochs (its checkpoint written there), then resumed
    let dir = TempDir::new("optim-resume-stop");
    let path = dir.join("every-epoch.safetensors");
    let (mut model, mut adam) = fresh();
    let (h1, stopped) = go_with(&mut model, &mut adam, &mut |m, o, state| {
        checkpoint::save_training(&path, m, o, &[state.metadata()])?;
        Ok(if state.epochs() == HALF {
            Flow::Stop
        } else {
            Flow::Continue
        })
    })
    .unwrap();
    assert_eq!(h1.epochs.len(), HALF);
    assert!(!h1.stopped_early);
    assert_eq!(stopped, seen[HALF - 1]);
    let (mut resumed, mut adam_r) = (net(77), Adam::new(0.5).unwrap());
    let meta = checkpoint::load_training(&path, &mut resumed, &mut adam_r).unwrap();
    let at = Resume::from_metadata(&meta).unwrap();
    assert_eq!(at, stopped);
    let (h2, end) = go(
        &sets,
        &mut resumed,
        &mut adam_r,
        &config(2 * HALF),
        Some(&at),
    )
    .unwrap();
    assert_eq!(epoch_records(&h2), epoch_records(&hs)[HALF..]);
    assert_eq!(
        training_bits(&mut resumed, &adam_r),
        training_bits(&mut straight, &adam_s)
    );
    assert_eq!(end, end_s);
    // a callback's error ends the call with it
    let (mut m, mut a) = fresh();
    let err = go_with(&mut m, &mut a, &mut |_, _, _| {
        Err(optim::Error::Data("disk full".into()))
    })
    .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
}
