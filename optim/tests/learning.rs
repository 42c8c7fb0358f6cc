//! The shared training loop (`optim::train::fit`) on generated data: it learns, it is
//! reproducible by seed, it stops with an error on a non-finite loss without taking that step,
//! early stopping restores the best epoch, and bad settings are errors.

use optim::data::{Dataset, select_columns_into};
use optim::train::{
    BatchLoss, EarlyStopping, Evaluation, Monitor, Progress, TrainConfig, Trainable,
};
use optim::{Adam, Error, Linear, Mat, Param, Parameters, Result, Sgd, StdRng, loss};

/// Soft-max regression `z = W x + b`: the smallest classifier, trained by the shared loop.
#[derive(Clone)]
struct Softmax {
    layer: Linear<f64>,
    batch: Mat<f64>,
    labels: Vec<usize>,
    /// Multiplies the loss (to make it non-finite on purpose).
    poison_at_step: Option<usize>,
    steps: usize,
}

impl Softmax {
    fn new(inputs: usize, classes: usize, seed: u64) -> Self {
        Softmax {
            layer: Linear::new(inputs, classes, &mut optim::rng(seed)),
            batch: Mat::zeros(0, 0),
            labels: Vec::new(),
            poison_at_step: None,
            steps: 0,
        }
    }
}

impl Parameters<f64> for Softmax {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
        self.layer.visit_params(visit)
    }
}

impl Trainable<f64> for Softmax {
    type Data = Dataset<f64>;

    fn examples(&self, data: &Dataset<f64>) -> usize {
        data.len()
    }

    fn check_data(&self, data: &Dataset<f64>, what: &str) -> Result<()> {
        data.check_labels(self.layer.outputs(), what)
    }

    fn train_batch(
        &mut self,
        data: &Dataset<f64>,
        batch: &[usize],
        _: &mut StdRng,
    ) -> Result<BatchLoss> {
        select_columns_into(&data.x, batch, &mut self.batch);
        let labels = data.class_labels("training data")?;
        self.labels.clear();
        self.labels.extend(batch.iter().map(|&i| labels[i]));
        let z = self.layer.forward(&self.batch)?;
        let (l, dz) = loss::softmax_cross_entropy(&z, &self.labels, 0.0)?;
        self.layer.backward(&dz)?;
        self.steps += 1;
        let l = if self.poison_at_step == Some(self.steps) {
            f64::NAN
        } else {
            l
        };
        Ok(BatchLoss::new(l).correct(optim::train::count_correct(&z, &self.labels)))
    }

    fn evaluate(&self, data: &Dataset<f64>) -> Result<Evaluation> {
        let z = self.layer.predict(&data.x)?;
        let labels = data.class_labels("evaluation data")?;
        let (l, _) = loss::softmax_cross_entropy(&z, labels, 0.0)?;
        Ok(Evaluation {
            loss: l,
            accuracy: Some(optim::train::count_correct(&z, labels) as f64 / data.len() as f64),
        })
    }
}

/// Two Gaussian blobs per class in 2-D, `n` points, linearly separable up to their overlap.
fn blobs(n: usize, seed: u64, shift: f64) -> Dataset<f64> {
    // centres as columns
    let centers = Mat::from_column_slice(
        2,
        3,
        &[-1.0 + shift, -1.0, 1.0 + shift, 1.0, 1.0 + shift, -1.0],
    );
    optim::data::generate::blobs::<f64>(n, &centers, 0.4, &mut optim::rng(seed))
}

#[test]
fn softmax_regression_learns_separable_blobs() {
    let train = blobs(300, 1, 0.0);
    let test = blobs(300, 2, 0.0);
    let mut model = Softmax::new(2, 3, 0);
    let mut epochs_seen = 0;
    let mut steps_seen = 0;
    let history = model
        .fit(
            &train,
            Some(&test),
            &mut Adam::new(0.05).unwrap(),
            &TrainConfig::new(20, 32).seed(3),
            &mut |p| match p {
                Progress::Step { .. } => steps_seen += 1,
                Progress::Epoch(_) => epochs_seen += 1,
            },
        )
        .unwrap();
    assert_eq!((epochs_seen, history.epochs.len()), (20, 20));
    assert_eq!(steps_seen, 20 * 300usize.div_ceil(32));
    assert_eq!(history.steps, steps_seen);
    let last = history.last().unwrap();
    let accuracy = last.validation.unwrap().accuracy.unwrap();
    assert!(accuracy > 0.95, "test accuracy {accuracy}");
    assert!(last.train_accuracy.unwrap() > 0.9);
    assert!(history.epochs[0].train_loss > last.train_loss);
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let train = blobs(100, 4, 0.0);
    let run = |seed| {
        let mut model = Softmax::new(2, 3, 0);
        model
            .fit(
                &train,
                None,
                &mut Sgd::new(0.1).unwrap(),
                &TrainConfig::new(3, 16).seed(seed),
                &mut |_| {},
            )
            .unwrap();
        model.layer.weight.value
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn a_non_finite_loss_stops_training_before_its_step_and_names_it() {
    let train = blobs(64, 5, 0.0);
    let mut model = Softmax::new(2, 3, 0);
    model.poison_at_step = Some(6); // epoch 2 (4 batches per epoch), batch 2
    let mut before = None;
    let err = model
        .fit(
            &train,
            None,
            &mut Sgd::new(0.1).unwrap(),
            &TrainConfig::new(3, 16).seed(1),
            &mut |p| {
                if let Progress::Step { step, .. } = p {
                    before = Some(step);
                }
            },
        )
        .unwrap_err();
    assert_eq!(before, Some(5), "steps 1–5 were taken");
    match err {
        Error::NonFinite { context } => {
            assert!(
                context.contains("epoch 2") && context.contains("step 6"),
                "{context}"
            )
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(model.layer.weight.value.iter().all(|v| v.is_finite()));
}

#[test]
fn early_stopping_ends_with_the_best_epochs_weights() {
    // validation data from a shifted distribution: training keeps improving the training loss
    // while the validation loss gets worse after a while
    let train = blobs(200, 6, 0.0);
    let validation = blobs(200, 7, 0.9);
    let mut model = Softmax::new(2, 3, 0);
    let config = TrainConfig::new(60, 16)
        .seed(2)
        .early_stopping(EarlyStopping::patience(3));
    let history = model
        .fit(
            &train,
            Some(&validation),
            &mut Adam::new(0.05).unwrap(),
            &config,
            &mut |_| {},
        )
        .unwrap();
    let best = history.best_epoch.unwrap();
    let best_loss = history.epochs[best - 1].validation.unwrap().loss;
    let min = history
        .validation_losses()
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best_loss, min);
    assert!(history.restored_best);
    // the model now is the best epoch's model, exactly
    assert_eq!(model.evaluate(&validation).unwrap().loss, best_loss);
    if history.stopped_early {
        assert_eq!(history.epochs.len(), best + 3);
    }
}

#[test]
fn accuracy_monitor_and_min_delta() {
    let train = blobs(90, 8, 0.0);
    let validation = blobs(90, 9, 0.0);
    let mut model = Softmax::new(2, 3, 0);
    let es = EarlyStopping::patience(2).monitor(Monitor::ValidationAccuracy);
    let history = model
        .fit(
            &train,
            Some(&validation),
            &mut Sgd::new(0.2).unwrap(),
            &TrainConfig::new(40, 8).early_stopping(es),
            &mut |_| {},
        )
        .unwrap();
    let best = history.best_epoch.unwrap();
    let best_acc = history.epochs[best - 1]
        .validation
        .unwrap()
        .accuracy
        .unwrap();
    assert!(
        history
            .epochs
            .iter()
            .all(|e| e.validation.unwrap().accuracy.unwrap() <= best_acc)
    );
}

#[test]
fn bad_settings_are_errors_that_name_them() {
    let train = blobs(30, 10, 0.0);
    let mut model = Softmax::new(2, 3, 0);
    let mut fit = |config: TrainConfig, validation: Option<&Dataset<f64>>| {
        model
            .fit(
                &train,
                validation,
                &mut Sgd::new(0.1).unwrap(),
                &config,
                &mut |_| {},
            )
            .unwrap_err()
            .to_string()
    };
    assert!(fit(TrainConfig::new(0, 8), None).contains("epochs"));
    assert!(fit(TrainConfig::new(1, 0), None).contains("batch_size"));
    assert!(fit(TrainConfig::new(1, 8).clip_grad_norm(0.0), None).contains("clip_grad_norm"));
    assert!(
        fit(
            TrainConfig::new(1, 8).early_stopping(EarlyStopping::default()),
            None
        )
        .contains("needs validation data")
    );
    let es = EarlyStopping {
        min_delta: f64::NAN,
        ..Default::default()
    };
    assert!(fit(TrainConfig::new(1, 8).early_stopping(es), Some(&train)).contains("min_delta"));
    let bad = Dataset::classification(train.x.clone(), vec![5; train.len()]).unwrap();
    let err = model
        .fit(
            &bad,
            None,
            &mut Sgd::new(0.1).unwrap(),
            &TrainConfig::new(1, 8),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("training data") && err.contains("label 5"),
        "{err}"
    );
    let empty = Dataset::classification(Mat::zeros(2, 0), vec![]).unwrap();
    let err = model
        .fit(
            &empty,
            None,
            &mut Sgd::new(0.1).unwrap(),
            &TrainConfig::new(1, 8),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("no examples"), "{err}");
}

#[test]
fn the_schedule_sets_each_steps_rate_and_clipping_bounds_the_update() {
    let train = blobs(64, 11, 0.0);
    let mut model = Softmax::new(2, 3, 0);
    let mut rates = Vec::new();
    let config = TrainConfig::new(2, 16).cosine(64, 0.0).clip_grad_norm(1e-3);
    let w0 = model.layer.weight.value.clone();
    let mut opt = Sgd::new(1.0).unwrap();
    model
        .fit(&train, None, &mut opt, &config, &mut |p| {
            if let Progress::Step { learning_rate, .. } = p {
                rates.push(learning_rate);
            }
        })
        .unwrap();
    let total = 8;
    assert_eq!(rates.len(), total);
    for (t, &r) in rates.iter().enumerate() {
        let want = 0.5 * (1.0 + (std::f64::consts::PI * t as f64 / total as f64).cos());
        assert!((r - want).abs() < 1e-12, "step {t}: {r} vs {want}");
    }
    // every step moved the weights by at most lr · 1e-3 (plus the bias's share)
    let moved = (&model.layer.weight.value - &w0).norm();
    assert!(
        moved <= rates.iter().sum::<f64>() * 1e-3 + 1e-12,
        "moved {moved}"
    );
}

#[test]
fn state_round_trips_parameters_and_buffers() {
    let mut bn = optim::BatchNorm::<f64>::new(3);
    bn.running_mean[1] = 0.7;
    bn.weight.value[2] = 2.0;
    let mut state = optim::train::State::default();
    state.save(&mut bn);
    let saved = bn.clone();
    bn.running_mean[1] = -1.0;
    bn.weight.value[2] = -3.0;
    state.restore(&mut bn).unwrap();
    assert_eq!(bn.running_mean, saved.running_mean);
    assert_eq!(bn.weight.value, saved.weight.value);
    let mut other = optim::BatchNorm::<f64>::new(4);
    assert!(state.restore(&mut other).is_err());
}
