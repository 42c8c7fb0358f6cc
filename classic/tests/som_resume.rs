//! Exact resume of a self-organizing map's online training (issue 14): `N` epochs with
//! `Som::train_resume`, a training-state file (`Som::save_training`: the weights, the
//! configuration, the generator's state and the random order's remaining counts), a load, and the
//! remaining epochs end bit for bit where the whole run does — weights and every epoch's record.
//! The learning rate and radius decay with `t / T`, so the iteration count must carry over.

use classic::som::{Order, Som, SomConfig, SomInit, SomState, Training};
use optim::Mat;
use optim::init::RngState;
use optim::testing::{TempDir, epoch_records};

fn data() -> Mat<f32> {
    let centres = Mat::from_row_slice(3, 3, &[0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0]);
    optim::data::generate::blobs::<f32>(90, &centres, 0.4, &mut optim::rng(2)).x
}

fn config() -> SomConfig {
    SomConfig {
        nx: 4,
        ny: 5,
        sigma: 1.5,
        init: SomInit::Pca,
        iterations: 90 * 6 - 17, // the last epoch is shorter
        training: Training::Online(Order::Random),
        ..SomConfig::default()
    }
}

fn bits(som: &Som<f32>) -> Vec<u32> {
    som.weights.value.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn som_resumes_bit_for_bit_from_a_file() {
    let x = data();
    let config = config();
    let start = SomState::start(RngState { seed: 9, words: 0 });
    let fresh = || Som::<f32>::from_config(&config, &x, &mut optim::rng(0)).unwrap();

    // the whole run, two ways: train with rng(9), and train_resume from the start state
    let mut whole = fresh();
    let h_whole = whole
        .train(&x, &config, &mut optim::rng(9), &mut |_, _| {})
        .unwrap();
    assert_eq!(h_whole.epochs.len(), 6);
    let mut whole2 = fresh();
    let (h2, end_whole) = whole2
        .train_resume(&x, &config, &start, usize::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!(epoch_records(&h2), epoch_records(&h_whole));
    assert_eq!(bits(&whole2), bits(&whole));

    // three epochs, a file, a load, the rest
    let mut first = fresh();
    let (h1, midway) = first
        .train_resume(&x, &config, &start, 3, &mut |_, _| {})
        .unwrap();
    assert_eq!(epoch_records(&h1), epoch_records(&h_whole)[..3]);
    let dir = TempDir::new("som-resume");
    let path = dir.join("som.safetensors");
    first.save_training(&path, &config, &midway).unwrap();
    let (mut resumed, config_back, state) = Som::<f32>::load_training(&path).unwrap();
    assert_eq!((&config_back, &state), (&config, &midway));
    let (h_rest, end) = resumed
        .train_resume(&x, &config_back, &state, usize::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!(epoch_records(&h_rest), epoch_records(&h_whole)[3..]);
    assert_eq!(bits(&resumed), bits(&whole));
    assert_eq!(end, end_whole);
    assert_eq!(h_rest.steps, h_whole.steps);
}

#[test]
fn a_state_of_another_run_is_refused() {
    let x = data();
    let config = config();
    let mut som = Som::<f32>::from_config(&config, &x, &mut optim::rng(0)).unwrap();
    let start = SomState::start(RngState { seed: 9, words: 0 });
    let (_, midway) = som
        .train_resume(&x, &config, &start, 2, &mut |_, _| {})
        .unwrap();
    // fewer iterations: epoch 2's count is not this run's
    let shorter = SomConfig {
        iterations: 100,
        ..config.clone()
    };
    let err = som
        .train_resume(&x, &shorter, &midway, usize::MAX, &mut |_, _| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("is not a point of this run"),
        "{err}"
    );
    // other data
    let fewer = x.columns(0, 60).into_owned();
    let err = som
        .train_resume(&fewer, &config, &midway, usize::MAX, &mut |_, _| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("is not a point of this run"),
        "{err}"
    );
}
