//! A data-parallel step over shards equals one step over the whole batch: the mean loss and its
//! gradient are the shard means weighted by shard size (`rnn::parallel`).

use optim::{Mat, Parameters, Sgd};
use rand::Rng;
use rnn::{
    CellKind, DataParallel, Input, ModelConfig, Readout, Seq, SeqModel, StepOptions, Target,
};

/// Sequences `lo..hi` of a time-major batch.
fn shard(x: &Seq<f64>, steps: usize, batch: usize, lo: usize, hi: usize) -> Seq<f64> {
    let width = hi - lo;
    let data = Mat::from_fn(x.data().nrows(), steps * width, |i, c| {
        x.data()[(i, (c / width) * batch + lo + c % width)]
    });
    Seq::new(data, steps, width).unwrap()
}

fn params(model: &mut SeqModel<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    model.visit_params(&mut |_, p| v.extend_from_slice(p.value.as_slice()));
    v
}

#[test]
fn sharded_step_equals_whole_batch_step() {
    let (input, hidden, steps, batch) = (3, 5, 7, 7);
    let mut rng = optim::rng(4);
    for (cell, readout, shards) in [
        (CellKind::Lstm, Readout::Last, 2),
        (CellKind::Gru, Readout::Every, 3),
        (CellKind::Tanh, Readout::Last, 1),
    ] {
        let mut whole = SeqModel::<f64>::new(
            ModelConfig::dense(cell, input, hidden, 2, readout),
            &mut rng,
        )
        .unwrap();
        let mut sharded_model = whole.clone();
        let x = Seq::new(
            Mat::from_fn(input, steps * batch, |_, _| rng.random_range(-1.0..1.0)),
            steps,
            batch,
        )
        .unwrap();
        let out_cols = if readout == Readout::Last {
            batch
        } else {
            steps * batch
        };
        let y = Mat::from_fn(2, out_cols, |_, _| rng.random_range(-1.0..1.0));
        let options = StepOptions {
            clip: Some(0.5),
            ..StepOptions::default()
        };
        let mut sgd = Sgd::new(0.3).unwrap();
        let l_whole = whole
            .train_step(Input::Dense(&x), Target::Regression(&y), &mut sgd, &options)
            .unwrap();

        let bounds: Vec<(usize, usize)> = (0..shards)
            .map(|k| (k * batch / shards, (k + 1) * batch / shards))
            .collect();
        let xs: Vec<Seq<f64>> = bounds
            .iter()
            .map(|&(lo, hi)| shard(&x, steps, batch, lo, hi))
            .collect();
        let ys: Vec<Mat<f64>> = bounds
            .iter()
            .map(|&(lo, hi)| match readout {
                Readout::Last => y.columns(lo, hi - lo).into_owned(),
                Readout::Every => Mat::from_fn(2, steps * (hi - lo), |i, c| {
                    y[(i, (c / (hi - lo)) * batch + lo + c % (hi - lo))]
                }),
            })
            .collect();
        let pieces: Vec<_> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (Input::Dense(x), Target::Regression(y)))
            .collect();
        let mut parallel = DataParallel::new(&sharded_model, shards).unwrap();
        let mut sgd = Sgd::new(0.3).unwrap();
        let l_sharded = parallel
            .train_step(&mut sharded_model, &pieces, &mut sgd, &options)
            .unwrap();

        assert!(
            (l_whole - l_sharded).abs() < 1e-12,
            "{cell:?}: {l_whole} vs {l_sharded}"
        );
        let (a, b) = (params(&mut whole), params(&mut sharded_model));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-12,
            "{cell:?} {readout:?}: parameters differ by {worst}"
        );
    }
}

#[test]
fn wrong_shard_count_is_an_error() {
    let mut rng = optim::rng(0);
    let mut model = SeqModel::<f64>::new(
        ModelConfig::dense(CellKind::Lstm, 2, 3, 1, Readout::Last),
        &mut rng,
    )
    .unwrap();
    let mut parallel = DataParallel::new(&model, 2).unwrap();
    let x = Seq::new(Mat::zeros(2, 4), 2, 2).unwrap();
    let y = Mat::zeros(1, 2);
    let one = [(Input::Dense(&x), Target::Regression(&y))];
    let mut sgd = Sgd::new(0.1).unwrap();
    assert!(
        parallel
            .train_step(&mut model, &one, &mut sgd, &StepOptions::default())
            .is_err()
    );
    assert!(DataParallel::new(&model, 0).is_err());
}
