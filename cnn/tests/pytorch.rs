//! Kind 3: agreement with PyTorch. `tests/fixtures/make_fixtures.py` ran
//! `torch.nn.functional.conv2d`, `max_pool2d`, `avg_pool2d` and `batch_norm` in float64 on fixed
//! inputs and stored outputs and gradients in `torch_reference.json`; here the same inputs go
//! through cnn's layers and everything must agree to 1e-6 (in practice to ~1e-15).

use cnn::{AvgPool2d, BatchNorm2d, Conv2d, Conv2dConfig, ImageShape, Layer, MaxPool2d, Mode};
use optim::Mat;
use optim::testing::{assert_close, fixture, floats};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn fixtures() -> Value {
    fixture(env!("CARGO_MANIFEST_DIR"), "torch_reference.json")
}

fn list(v: &Value, key: &str) -> Vec<f64> {
    floats(&v[key])
}

fn dims(v: &Value, key: &str) -> Vec<usize> {
    list(v, key).into_iter().map(|x| x as usize).collect()
}

fn pair(v: &Value, key: &str) -> (usize, usize) {
    let d = dims(v, key);
    (d[0], d[1])
}

/// An `N x C x H x W` tensor as a batch: column `n` holds `x[n].flatten()`.
fn batch(values: Vec<f64>, shape: &[usize]) -> Mat<f64> {
    let n = shape[0];
    Mat::from_vec(values.len() / n, n, values)
}

/// A `[out, ...]` tensor as an `out x rest` matrix (row-major trailing dimensions).
fn rows(values: Vec<f64>, out: usize) -> Mat<f64> {
    let cols = values.len() / out;
    Mat::from_row_slice(out, cols, &values)
}

#[track_caller]
fn close(what: &str, got: &Mat<f64>, want: &Mat<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_close(what, got.as_slice(), want.as_slice(), TOL);
}

fn image_shape(s: &[usize]) -> ImageShape {
    ImageShape::new(s[1], s[2], s[3])
}

#[test]
fn conv2d_matches_pytorch() {
    let f = fixtures();
    for name in ["conv_a", "conv_b", "conv_c"] {
        let c = &f[name];
        let (xs, ws) = (dims(c, "x_shape"), dims(c, "w_shape"));
        let has_bias = c.get("b").is_some();
        let config = Conv2dConfig {
            in_channels: ws[1],
            out_channels: ws[0],
            kernel: (ws[2], ws[3]),
            stride: pair(c, "stride"),
            padding: pair(c, "padding"),
            dilation: pair(c, "dilation"),
            bias: has_bias,
        };
        let weight = rows(list(c, "w"), ws[0]);
        let bias = has_bias.then(|| Mat::from_vec(ws[0], 1, list(c, "b")));
        let mut conv = Conv2d::from_weights(config, image_shape(&xs), weight, bias).unwrap();
        assert_eq!(
            conv.output_shape(),
            image_shape(&dims(c, "y_shape")),
            "{name}"
        );
        let x = batch(list(c, "x"), &xs);
        let y = conv.forward(&x, Mode::Train).unwrap().clone();
        close(&format!("{name} y"), &y, &batch(list(c, "y"), &xs));
        let dy = batch(list(c, "dy"), &xs);
        let dx = conv.backward(&dy, true).unwrap().clone();
        close(&format!("{name} dx"), &dx, &batch(list(c, "dx"), &xs));
        close(
            &format!("{name} dw"),
            &conv.weight.grad,
            &rows(list(c, "dw"), ws[0]),
        );
        if has_bias {
            close(
                &format!("{name} db"),
                &conv.bias.as_ref().unwrap().grad,
                &Mat::from_vec(ws[0], 1, list(c, "db")),
            );
        }
    }
}

#[test]
fn pooling_matches_pytorch() {
    let f = fixtures();
    for name in [
        "max_pool",
        "max_pool_overlap",
        "avg_pool",
        "avg_pool_exclude_pad",
    ] {
        let c = &f[name];
        let xs = dims(c, "x_shape");
        let shape = image_shape(&xs);
        let (k, s, p) = (pair(c, "kernel"), pair(c, "stride"), pair(c, "padding"));
        let mut layer: Box<dyn Layer<f64>> = if name.starts_with("max") {
            Box::new(MaxPool2d::new(shape, k, s, p).unwrap())
        } else {
            let include = c["count_include_pad"].as_bool().unwrap();
            Box::new(
                AvgPool2d::new(shape, k, s, p)
                    .unwrap()
                    .count_include_pad(include),
            )
        };
        assert_eq!(
            layer.output_shape(),
            image_shape(&dims(c, "y_shape")),
            "{name}"
        );
        let x = batch(list(c, "x"), &xs);
        let y = layer.forward(&x, Mode::Train).unwrap().clone();
        close(&format!("{name} y"), &y, &batch(list(c, "y"), &xs));
        close(&format!("{name} predict"), &layer.predict(&x).unwrap(), &y);
        let dx = layer
            .backward(&batch(list(c, "dy"), &xs), true)
            .unwrap()
            .clone();
        close(&format!("{name} dx"), &dx, &batch(list(c, "dx"), &xs));
    }
}

#[test]
fn batch_norm_matches_pytorch() {
    let f = fixtures();
    for (name, mode) in [
        ("batch_norm_train", Mode::Train),
        ("batch_norm_eval", Mode::Eval),
    ] {
        let c = &f[name];
        let xs = dims(c, "x_shape");
        let channels = xs[1];
        let col = |key: &str| Mat::from_vec(channels, 1, list(c, key));
        let mut bn = BatchNorm2d::new(image_shape(&xs))
            .unwrap()
            .with_options(c["momentum"].as_f64().unwrap(), c["eps"].as_f64().unwrap())
            .unwrap();
        bn.norm.weight.value = col("w");
        bn.norm.bias.value = col("b");
        bn.norm.running_mean = col("running_mean_before");
        bn.norm.running_var = col("running_var_before");
        let x = batch(list(c, "x"), &xs);
        let y = bn.forward(&x, mode).unwrap().clone();
        close(&format!("{name} y"), &y, &batch(list(c, "y"), &xs));
        close(
            &format!("{name} running_mean"),
            &bn.norm.running_mean,
            &col("running_mean_after"),
        );
        close(
            &format!("{name} running_var"),
            &bn.norm.running_var,
            &col("running_var_after"),
        );
        let dx = bn
            .backward(&batch(list(c, "dy"), &xs), true)
            .unwrap()
            .clone();
        close(&format!("{name} dx"), &dx, &batch(list(c, "dx"), &xs));
        close(&format!("{name} dw"), &bn.norm.weight.grad, &col("dw"));
        close(&format!("{name} db"), &bn.norm.bias.grad, &col("db"));
        if mode == Mode::Eval {
            close(&format!("{name} predict"), &bn.predict(&x).unwrap(), &y);
        }
    }
}

#[test]
fn a_pytorch_state_dict_loads_by_name_and_predicts_the_same_logits() {
    // nn.Sequential(Conv2d(2,3,3,padding=1), BatchNorm2d(3), ReLU, MaxPool2d(2), Conv2d(3,4,3),
    //               ReLU, Flatten, Linear(16,5)) in eval mode, saved by make_fixtures.py
    let f = fixtures();
    let c = &f["tiny_model"];
    let mut rng = optim::rng(0);
    let mut net = cnn::Cnn::<f64>::builder(ImageShape::new(2, 8, 8))
        .conv(3, 3, 1, 1, &mut rng)
        .unwrap()
        .batch_norm()
        .unwrap()
        .relu()
        .max_pool(2, 2)
        .unwrap()
        .conv(4, 3, 1, 0, &mut rng)
        .unwrap()
        .relu()
        .flatten()
        .dense(5, &mut rng)
        .unwrap()
        .build();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_tiny.safetensors"
    ); // a bare state_dict: no kind or config, so it loads into a network built here
    net.load_weights(path).unwrap();
    let xs = dims(c, "x_shape");
    let x = batch(list(c, "x"), &xs);
    let want = Mat::from_vec(5, xs[0], list(c, "logits"));
    close("tiny model logits", &net.predict(&x).unwrap(), &want);
}
