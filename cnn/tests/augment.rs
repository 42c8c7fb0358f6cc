//! Kind 2: data augmentation of the CNN's training batches (`Cnn::with_augmentation`). A
//! shifted bar is still a bar of the same orientation (the label stays right); augmentation is
//! training-only (prediction and evaluation are those of the same weights without it); it is
//! seeded by the training configuration; it changes training; it is stored with the
//! architecture (older configurations without it load as none).

use cnn::{Cnn, ImageShape};
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Augment, Mat};
use proptest::prelude::*;

const SIDE: usize = 10;

fn net(seed: u64) -> Cnn<f32> {
    let rng = &mut optim::rng(seed);
    Cnn::<f32>::builder(ImageShape::new(1, SIDE, SIDE))
        .conv(4, 3, 1, 1, rng)
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .dropout(0.1)
        .unwrap()
        .flatten()
        .dense(2, rng)
        .unwrap()
        .build()
}

/// `n` bars of length 4 (vertical: label 0, horizontal: label 1) placed at least `margin`
/// pixels from every border of a `SIDE x SIDE` image.
fn framed_bars(n: usize, margin: usize, seed: u64) -> Dataset<f32> {
    use rand::Rng;
    let mut rng = optim::rng(seed);
    let mut x = Mat::zeros(SIDE * SIDE, n);
    let labels: Vec<usize> = (0..n).map(|j| j % 2).collect();
    for (j, &label) in labels.iter().enumerate() {
        let a = rng.random_range(margin..SIDE - margin);
        let b = rng.random_range(margin..=SIDE - margin - 4);
        for k in 0..4 {
            let (r, c) = if label == 0 { (b + k, a) } else { (a, b + k) };
            x[(r * SIDE + c, j)] = 1.0;
        }
    }
    Dataset::classification(x, labels).unwrap()
}

/// The orientation of a bar image: 0 if its ink is one column of several rows, 1 if one row
/// of several columns, `None` otherwise.
fn orientation(column: &[f32]) -> Option<usize> {
    let ink: Vec<(usize, usize)> = (0..SIDE * SIDE)
        .filter(|&i| column[i] > 0.0)
        .map(|i| (i / SIDE, i % SIDE))
        .collect();
    let same_col = ink.iter().all(|p| p.1 == ink[0].1);
    let same_row = ink.iter().all(|p| p.0 == ink[0].0);
    match (ink.len() > 1, same_col, same_row) {
        (true, true, false) => Some(0),
        (true, false, true) => Some(1),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A translated bar is still a bar of its class: the label needs no change.
    #[test]
    fn a_shifted_bar_keeps_its_orientation_and_length(seed in any::<u64>(), m in 1usize..3) {
        let data = framed_bars(16, m, seed);
        let mut x = data.x.clone();
        Augment::shifts(m)
            .apply(&mut x, (1, SIDE, SIDE), &mut Vec::new(), &mut optim::rng(seed ^ 7))
            .unwrap();
        let labels = data.labels().unwrap();
        for j in 0..x.ncols() {
            let col: Vec<f32> = x.column(j).iter().copied().collect();
            prop_assert_eq!(orientation(&col), Some(labels[j]));
            prop_assert_eq!(col.iter().sum::<f32>(), 4.0);
        }
    }
}

#[test]
fn augmentation_is_training_only_and_seeded() {
    let data = framed_bars(64, 2, 1);
    let before = data.clone();
    let plain = net(0);
    let augmented = net(0).with_augmentation(Some(Augment::shifts(2))).unwrap();
    // evaluation mode never augments: the same weights give the same logits and scores
    assert_eq!(
        plain.predict(&data.x).unwrap(),
        augmented.predict(&data.x).unwrap()
    );
    assert_eq!(
        plain.evaluate(&data).unwrap(),
        augmented.evaluate(&data).unwrap()
    );

    let train = |mut m: Cnn<f32>, seed: u64| {
        let config = TrainConfig::new(2, 16).seed(seed);
        m.fit(
            &data,
            None,
            &mut Adam::new(0.01).unwrap(),
            &config,
            &mut |_| {},
        )
        .unwrap();
        m.predict(&data.x).unwrap()
    };
    let a = train(augmented.clone(), 3);
    // the same seed, the same training; another seed, other moves; without, other weights
    assert_eq!(a, train(augmented.clone(), 3));
    assert_ne!(a, train(augmented.clone(), 4));
    assert_ne!(a, train(plain.clone(), 3));
    // the data set itself is never moved
    assert_eq!(data.x, before.x);
    assert_eq!(data.labels(), before.labels());
}

#[test]
fn augmentation_is_stored_with_the_architecture() {
    let mut m = net(0)
        .with_augmentation(Some(Augment::shifts(1).rotations(5.0)))
        .unwrap();
    let path = std::env::temp_dir().join(format!("cnn-augment-{}.safetensors", std::process::id()));
    m.save(&path, &[]).unwrap();
    let loaded: Cnn<f32> = optim::checkpoint::load_model(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(loaded.augmentation(), m.augmentation());
    // a configuration written before the field existed has none
    let mut json = serde_json::to_value(net(0).architecture()).unwrap();
    assert!(json.get("augment").is_none());
    json.as_object_mut().unwrap().remove("augment");
    let config: cnn::CnnConfig = serde_json::from_value(json).unwrap();
    assert_eq!(config.augment, None);
    // settings that do not fit the image are refused
    assert!(
        net(0)
            .with_augmentation(Some(Augment::shifts(SIDE)))
            .is_err()
    );
    assert!(
        net(0)
            .with_augmentation(Some(Augment::shifts(1).rotations(-1.0)))
            .is_err()
    );
    // an identity augmentation is none
    let none = net(0).with_augmentation(Some(Augment::default())).unwrap();
    assert_eq!(none.augmentation(), None);
}
