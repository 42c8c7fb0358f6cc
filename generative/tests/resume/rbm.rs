//! CD-k and PCD (with two data-parallel parts, so two persistent chains) resume bit for bit from
//! a training-state file; the DBN classifier resumes through the shared loop.

use crate::{param_bits, records, temp_dir};
use generative::rbm::{CdConfig, Classifier, Rbm, RbmConfig};
use optim::data::Dataset;
use optim::train::TrainConfig;
use optim::{Adam, Mat, Optimizer};
use rand::Rng;

const HALF: usize = 3;

fn binary_data(n: usize, seed: u64) -> Mat<f32> {
    let mut rng = optim::rng(seed);
    // two prototypes with flipped bits
    Mat::from_fn(12, n, |i, j| {
        let on = (i + j) % 2 == 0;
        f32::from(u8::from(on ^ (rng.random::<f32>() < 0.1)))
    })
}

fn cd_config(persistent: bool, epochs: usize) -> CdConfig {
    CdConfig {
        k: 2,
        persistent,
        batch_size: 16,
        epochs,
        seed: 4,
        momentum_epochs: 2, // the momentum changes within the run
        monitor_examples: 40,
        shards: if persistent { 2 } else { 1 },
        ..CdConfig::default()
    }
}

#[test]
fn cd_and_pcd_resume_bit_for_bit_from_a_file() {
    let data = binary_data(100, 1);
    let validation = binary_data(30, 2);
    let dir = temp_dir("rbm");
    for persistent in [false, true] {
        let fresh = || Rbm::<f32>::new(RbmConfig::new(12, 5), &mut optim::rng(3)).unwrap();
        let mut straight = fresh();
        let (h_whole, end_whole) = straight
            .train_cd_resume(
                &data,
                Some(&validation),
                &cd_config(persistent, 2 * HALF),
                None,
                &mut |_| {},
            )
            .unwrap();
        // train_cd is the same run
        let mut plain = fresh();
        let h_plain = plain
            .train_cd(
                &data,
                Some(&validation),
                &cd_config(persistent, 2 * HALF),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(records(&h_plain), records(&h_whole));

        let mut first = fresh();
        let (h1, state) = first
            .train_cd_resume(
                &data,
                Some(&validation),
                &cd_config(persistent, HALF),
                None,
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(records(&h1), records(&h_whole)[..HALF]);
        assert_eq!(state.chains.len(), if persistent { 2 } else { 0 });
        let path = dir.join(format!("rbm-{persistent}.safetensors"));
        first
            .save_training(&path, &cd_config(persistent, HALF), &state)
            .unwrap();

        let (mut resumed, mut config, loaded) = Rbm::<f32>::load_training(&path).unwrap();
        assert_eq!(loaded, state);
        config.epochs = 2 * HALF;
        let (h2, end) = resumed
            .train_cd_resume(
                &data,
                Some(&validation),
                &config,
                Some(&loaded),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(
            records(&h2),
            records(&h_whole)[HALF..],
            "persistent {persistent}"
        );
        assert_eq!(param_bits(&mut resumed), param_bits(&mut straight));
        assert_eq!(end, end_whole);
    }
}

#[test]
fn a_cd_state_of_another_run_is_refused() {
    let data = binary_data(100, 1);
    let mut rbm = Rbm::<f32>::new(RbmConfig::new(12, 5), &mut optim::rng(3)).unwrap();
    let (_, state) = rbm
        .train_cd_resume(&data, None, &cd_config(true, 1), None, &mut |_| {})
        .unwrap();
    let other_seed = CdConfig {
        seed: 5,
        ..cd_config(true, 2)
    };
    let err = rbm
        .train_cd_resume(&data, None, &other_seed, Some(&state), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("was seeded with 4"), "{err}");
    // CD cannot continue a PCD run (it keeps no chains)
    let err = rbm
        .train_cd_resume(&data, None, &cd_config(false, 2), Some(&state), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("persistent chains"), "{err}");
}

#[test]
fn the_dbn_classifier_resumes_through_the_shared_loop() {
    let mut rng = optim::rng(7);
    let x = Mat::<f32>::from_fn(6, 90, |_, _| rng.random::<f32>());
    let labels: Vec<usize> = (0..90)
        .map(|j| usize::from(x[(0, j)] + x[(3, j)] > 1.0))
        .collect();
    let data = Dataset::classification(x, labels).unwrap();
    optim::testing::assert_exact_resume(
        "dbn-classifier",
        &|seed| Classifier::<f32>::new(&[6, 8, 2], &mut optim::rng(seed)),
        &|| Box::new(Adam::new(0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &|epochs| TrainConfig::new(epochs, 16).seed(2),
        HALF,
    );
}

/// Same seed → byte-identical training-state files at 1 and 2 threads (issue 14): CD and PCD,
/// with 2 data-parallel parts (PCD: two persistent chains), in a rayon pool of 1 thread and in
/// one of 2 (`optim::testing::at_threads`).
#[test]
fn one_and_two_threads_write_the_same_training_state() {
    let data = binary_data(100, 1);
    let validation = binary_data(30, 2);
    let dir = temp_dir("rbm-threads");
    for persistent in [false, true] {
        let config = CdConfig {
            shards: 2,
            ..cd_config(persistent, 2)
        };
        let bytes = |threads: usize| {
            optim::testing::at_threads(threads, || {
                let mut rbm = Rbm::<f32>::new(RbmConfig::new(12, 5), &mut optim::rng(3)).unwrap();
                let (h, state) = rbm
                    .train_cd_resume(&data, Some(&validation), &config, None, &mut |_| {})
                    .unwrap();
                let path = dir.join(format!("rbm-{persistent}-{threads}.safetensors"));
                rbm.save_training(&path, &config, &state).unwrap();
                (std::fs::read(&path).unwrap(), records(&h))
            })
        };
        let (one, h1) = bytes(1);
        let (two, h2) = bytes(2);
        assert_eq!(h1, h2, "persistent {persistent}: the epochs differ");
        assert!(one == two, "persistent {persistent}: the files differ");
    }
}
