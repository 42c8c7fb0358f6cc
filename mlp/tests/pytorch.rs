//! Kind 3: agreement with PyTorch. Two fixed 3-layer networks (a batch-norm tanh classifier with
//! label smoothing; a GELU regressor with dropout under fixed masks) in float64: outputs, loss,
//! every parameter gradient, the running statistics after the step and the evaluation-mode
//! output all match `torch` to 1e-6 (fixtures from `tests/fixtures/make_fixtures.py`).

use mlp::{Config, Loss, Mlp};
use optim::testing::{fixture, floats};
use optim::train::{TrainConfig, Trainable};
use optim::{Mat, Parameters, loss};
use serde_json::Value;

const TOL: f64 = 1e-6;

/// The fixture's tensors are `{"shape": [rows, cols], "data": [row-major values]}`.
fn mat(v: &Value) -> Mat<f64> {
    let shape = floats(&v["shape"]);
    Mat::from_row_slice(shape[0] as usize, shape[1] as usize, &floats(&v["data"]))
}

fn assert_close(name: &str, got: &Mat<f64>, want: &Mat<f64>) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    optim::testing::assert_close(name, got.as_slice(), want.as_slice(), TOL);
}

fn reference() -> Value {
    fixture(env!("CARGO_MANIFEST_DIR"), "pytorch_reference.json")
}

/// The case's `mlp::Config`, stored as the JSON a checkpoint holds.
fn config(case: &Value) -> Config {
    serde_json::from_value(case["config"].clone()).unwrap()
}

fn run_case(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let config = config(case);
    let mut model: Mlp<f64> = config.init(&mut optim::rng(0)).unwrap();
    // the network has exactly PyTorch's parameters, by name and shape
    let params = case["params"].as_object().unwrap();
    let mut count = 0;
    model.visit_params(&mut |n, p| {
        let v = params
            .get(n)
            .unwrap_or_else(|| panic!("{name}: PyTorch has no {n}"));
        let m = mat(v);
        assert_eq!(m.shape(), p.value.shape(), "{name}: {n}");
        p.value = m;
        count += 1;
    });
    assert_eq!(count, params.len(), "{name}: parameter count");

    let x = mat(&case["x"]);
    let masks: Vec<Mat<f64>> = case["masks"].as_array().unwrap().iter().map(mat).collect();
    let out = model.forward_train_with_masks(&x, &masks).unwrap().clone();
    assert_close(&format!("{name} output"), &out, &mat(&case["output"]));

    let (l, d) = match config.loss {
        Loss::CrossEntropy { label_smoothing } => {
            let labels: Vec<usize> = case["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            loss::softmax_cross_entropy(&out, &labels, label_smoothing).unwrap()
        }
        Loss::Mse => loss::mse(&out, &mat(&case["targets"])).unwrap(),
    };
    let want_loss = case["loss"].as_f64().unwrap();
    assert!(
        (l - want_loss).abs() < TOL,
        "{name}: loss {l} vs {want_loss}"
    );

    optim::zero_grad(&mut model);
    model.backward(&d).unwrap();
    let grads = case["grads"].as_object().unwrap();
    model.visit_params(&mut |n, p| {
        assert_close(&format!("{name} grad {n}"), &p.grad, &mat(&grads[n]))
    });

    let buffers = case["buffers_after"].as_object().unwrap();
    let mut seen = 0;
    model.visit_buffers(&mut |n, b| {
        assert_close(&format!("{name} buffer {n}"), b, &mat(&buffers[n]));
        seen += 1;
    });
    assert_eq!(seen, buffers.len(), "{name}: buffer count");

    let eval = model.predict(&x).unwrap();
    assert_close(
        &format!("{name} eval output"),
        &eval,
        &mat(&case["eval_output"]),
    );
}

#[test]
fn three_layer_networks_match_pytorch_in_f64() {
    let root = reference();
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        run_case(case);
    }
}

/// The training loop end to end: 5 full-batch AdamW steps with an exponential schedule from
/// the first network's weights give PyTorch's losses, weights, running statistics and
/// evaluation output.
#[test]
fn training_trajectory_matches_pytorch() {
    let root = reference();
    let case = &root["cases"][0];
    let tr = &root["trajectory"];
    let config = config(case);
    let mut model: Mlp<f64> = config.init(&mut optim::rng(0)).unwrap();
    let params = case["params"].as_object().unwrap();
    model.visit_params(&mut |n, p| p.value = mat(&params[n]));
    let x = mat(&case["x"]);
    let labels: Vec<usize> = case["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let n = labels.len();
    let data = optim::data::Dataset::classification(x.clone(), labels).unwrap();
    let steps = tr["steps"].as_u64().unwrap() as usize;
    let mut adamw = optim::Adam::adamw(
        tr["lr"].as_f64().unwrap(),
        tr["weight_decay"].as_f64().unwrap(),
    )
    .unwrap();
    let train = TrainConfig::new(steps, n).schedule(optim::Schedule::Exponential {
        gamma: tr["gamma"].as_f64().unwrap(),
    });
    let history = model
        .fit(&data, None, &mut adamw, &train, &mut |_| {})
        .unwrap();
    let want: Vec<f64> = tr["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(history.epochs.len(), steps);
    for (e, w) in history.epochs.iter().zip(&want) {
        assert!(
            (e.train_loss - w).abs() < TOL,
            "epoch {}: {} vs {w}",
            e.epoch,
            e.train_loss
        );
    }
    let after = tr["params_after"].as_object().unwrap();
    model.visit_params(&mut |n, p| {
        assert_close(&format!("trajectory {n}"), &p.value, &mat(&after[n]))
    });
    let buffers = tr["buffers_after"].as_object().unwrap();
    model.visit_buffers(&mut |n, b| assert_close(&format!("trajectory {n}"), b, &mat(&buffers[n])));
    assert_close(
        "trajectory eval output",
        &model.predict(&x).unwrap(),
        &mat(&tr["eval_output"]),
    );
}
