//! Agreement with PyTorch (test kind 3): every optimizer's first five steps on fixed parameters
//! and gradients equal `torch.optim`'s, and so does its state, read from
//! `tests/fixtures/optimizers.json` (made by `tests/fixtures/make_optimizer_fixtures.py`, float64).
//! The issue asks for agreement to `1e-6`; the trajectories in fact agree to round-off, and the
//! test holds them to [`TOLERANCE`] so that a misplaced `ε` (whose effect is far below `1e-6`)
//! would still show.
//!
//! Also here: exporting the state after two steps and importing it into a fresh optimizer
//! continues the run exactly (bit for bit).

use optim::{Adagrad, Adam, Linear, Mat, Optimizer, Parameters, RmsProp, Sgd};
use serde_json::Value;

const TOLERANCE: f64 = 1e-10;

struct Fixture {
    shapes: Vec<(String, (usize, usize))>,
    params: Vec<Vec<f64>>,
    grads: Vec<Vec<Vec<f64>>>,
    cases: Vec<Value>,
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/optimizers.json"
    ))
    .expect("read optimizers.json");
    let json: Value = serde_json::from_str(&text).expect("parse optimizers.json");
    // Parameter order is the model's visiting order: weight, then bias.
    let names = ["weight", "bias"];
    let shapes = names
        .iter()
        .map(|&n| {
            let s = numbers(&json["shapes"][n]);
            let rows = s[0] as usize;
            let cols = s.get(1).map_or(1, |&c| c as usize);
            (n.to_string(), (rows, cols))
        })
        .collect();
    let params = names.iter().map(|&n| numbers(&json["params"][n])).collect();
    let grads = json["grads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| names.iter().map(|&n| numbers(&g[n])).collect())
        .collect();
    Fixture {
        shapes,
        params,
        grads,
        cases: json["cases"].as_array().unwrap().clone(),
    }
}

/// PyTorch stores tensors row-major; `Param` matrices are `shape[0] x rest` in that order.
fn matrix(shape: (usize, usize), row_major: &[f64]) -> Mat<f64> {
    Mat::from_row_slice(shape.0, shape.1, row_major)
}

fn row_major(m: &Mat<f64>) -> Vec<f64> {
    m.transpose().as_slice().to_vec()
}

impl Fixture {
    fn model(&self) -> Linear<f64> {
        let w = matrix(self.shapes[0].1, &self.params[0]);
        let b = matrix(self.shapes[1].1, &self.params[1]);
        Linear::from_weights(w, Some(b))
    }

    fn set_grads(&self, model: &mut Linear<f64>, step: usize) {
        let mut i = 0;
        model.visit_params(&mut |_, p| {
            p.grad = matrix(self.shapes[i].1, &self.grads[step][i]);
            i += 1;
        });
    }
}

/// Builds the optimizer a fixture case describes, with PyTorch's hyperparameter names; an
/// unknown name fails the test rather than being silently ignored.
fn optimizer(case: &Value) -> Box<dyn Optimizer<f64>> {
    let hyper = case["hyper"].as_object().unwrap();
    let get = |k: &str| hyper.get(k);
    let num = |k: &str| get(k).map(|v| v.as_f64().unwrap());
    let flag = |k: &str| get(k).is_some_and(|v| v.as_bool().unwrap());
    let lr = num("lr").unwrap();
    let known: &[&str] = match case["optimizer"].as_str().unwrap() {
        "SGD" => &["lr", "momentum", "dampening", "nesterov", "weight_decay"],
        "Adagrad" => &[
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
        ],
        "RMSprop" => &["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
        "Adam" | "AdamW" => &["lr", "betas", "eps", "weight_decay", "amsgrad"],
        other => panic!("unknown optimizer {other}"),
    };
    for k in hyper.keys() {
        assert!(known.contains(&k.as_str()), "unhandled hyperparameter {k}");
    }
    match case["optimizer"].as_str().unwrap() {
        "SGD" => {
            let mut o = Sgd::new(lr).unwrap();
            if let Some(m) = num("momentum") {
                o = o.momentum(m).unwrap();
            }
            if let Some(d) = num("dampening") {
                o = o.dampening(d).unwrap();
            }
            if flag("nesterov") {
                o = o.nesterov().unwrap();
            }
            if let Some(wd) = num("weight_decay") {
                o = o.weight_decay(wd).unwrap();
            }
            Box::new(o)
        }
        "Adagrad" => {
            let mut o = Adagrad::new(lr).unwrap();
            if let Some(d) = num("lr_decay") {
                o = o.lr_decay(d).unwrap();
            }
            if let Some(wd) = num("weight_decay") {
                o = o.weight_decay(wd).unwrap();
            }
            if let Some(a) = num("initial_accumulator_value") {
                o = o.initial_accumulator(a).unwrap();
            }
            Box::new(o)
        }
        "RMSprop" => {
            let mut o = RmsProp::new(lr).unwrap();
            if let Some(a) = num("alpha") {
                o = o.alpha(a).unwrap();
            }
            if let Some(e) = num("eps") {
                o = o.eps(e).unwrap();
            }
            if let Some(wd) = num("weight_decay") {
                o = o.weight_decay(wd).unwrap();
            }
            if let Some(m) = num("momentum") {
                o = o.momentum(m).unwrap();
            }
            if flag("centered") {
                o = o.centered();
            }
            Box::new(o)
        }
        name => {
            let wd = num("weight_decay");
            let mut o = if name == "AdamW" {
                // PyTorch's AdamW default weight decay is 0.01.
                Adam::adamw(lr, wd.unwrap_or(0.01)).unwrap()
            } else {
                let o = Adam::new(lr).unwrap();
                match wd {
                    Some(wd) => o.weight_decay(wd).unwrap(),
                    None => o,
                }
            };
            if let Some(b) = get("betas") {
                let b = numbers(b);
                o = o.betas(b[0], b[1]).unwrap();
            }
            if let Some(e) = num("eps") {
                o = o.eps(e).unwrap();
            }
            if flag("amsgrad") {
                o = o.amsgrad();
            }
            Box::new(o)
        }
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn values(model: &mut Linear<f64>) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.push(row_major(&p.value)));
    out
}

#[test]
fn five_steps_match_torch_optim() {
    let fx = fixture();
    assert!(fx.cases.len() >= 17, "fixture has {} cases", fx.cases.len());
    for case in &fx.cases {
        let name = case["name"].as_str().unwrap();
        let mut model = fx.model();
        let mut opt = optimizer(case);
        let mut worst: f64 = 0.0;
        for (step, want) in case["steps"].as_array().unwrap().iter().enumerate() {
            fx.set_grads(&mut model, step);
            opt.step(&mut model).unwrap();
            for (i, got) in values(&mut model).iter().enumerate() {
                let d = max_abs_diff(got, &numbers(&want[&fx.shapes[i].0]));
                assert!(
                    d < TOLERANCE,
                    "{name}: step {} {}: differs from PyTorch by {d:e}",
                    step + 1,
                    fx.shapes[i].0
                );
                worst = worst.max(d);
            }
        }
        assert_eq!(opt.steps(), 5, "{name}");
        println!("{name}: max |Δ| over 5 steps = {worst:.1e}");
    }
}

/// The exported state has exactly PyTorch's tensors (`exp_avg`, `max_exp_avg_sq` only with
/// AMSGrad, no momentum buffer without momentum, ...) with PyTorch's values after five steps.
#[test]
fn exported_state_matches_torch_state() {
    let fx = fixture();
    for case in &fx.cases {
        let name = case["name"].as_str().unwrap();
        let mut model = fx.model();
        let mut opt = optimizer(case);
        for step in 0..5 {
            fx.set_grads(&mut model, step);
            opt.step(&mut model).unwrap();
        }
        let state = opt.export_state(&mut model);
        let want = case["state"].as_object().unwrap();
        let mut got_names: Vec<&str> = state
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| *n != "step")
            .collect();
        got_names.sort_unstable();
        let mut want_names: Vec<&str> = want.keys().map(String::as_str).collect();
        want_names.sort_unstable();
        assert_eq!(got_names, want_names, "{name}: state tensors");
        for (key, m) in &state {
            if key == "step" {
                assert_eq!(m[(0, 0)], 5.0, "{name}: step");
                continue;
            }
            let d = max_abs_diff(&row_major(m), &numbers(&want[key]));
            assert!(d < TOLERANCE, "{name}: state {key} differs by {d:e}");
        }
    }
}

/// Two steps, export, import into a fresh optimizer, three more steps: exactly the five-step run.
#[test]
fn state_round_trip_resumes_exactly() {
    let fx = fixture();
    for case in &fx.cases {
        let name = case["name"].as_str().unwrap();
        let mut straight = fx.model();
        let mut opt = optimizer(case);
        for step in 0..5 {
            fx.set_grads(&mut straight, step);
            opt.step(&mut straight).unwrap();
        }

        let mut resumed = fx.model();
        let mut first = optimizer(case);
        for step in 0..2 {
            fx.set_grads(&mut resumed, step);
            first.step(&mut resumed).unwrap();
        }
        let state = first.export_state(&mut resumed);
        drop(first);
        let mut second = optimizer(case);
        second.import_state(&mut resumed, &state).unwrap();
        assert_eq!(second.steps(), 2, "{name}");
        for step in 2..5 {
            fx.set_grads(&mut resumed, step);
            second.step(&mut resumed).unwrap();
        }
        assert_eq!(values(&mut resumed), values(&mut straight), "{name}");
    }
}

#[test]
fn import_rejects_missing_or_misshapen_state() {
    let fx = fixture();
    let mut model = fx.model();
    let mut adam = Adam::<f64>::new(0.01).unwrap();
    fx.set_grads(&mut model, 0);
    adam.step(&mut model).unwrap();
    let state = adam.export_state(&mut model);

    // AMSGrad needs `max_exp_avg_sq`, which plain Adam does not keep.
    let mut ams = Adam::<f64>::new(0.01).unwrap().amsgrad();
    let err = ams
        .import_state(&mut model, &state)
        .unwrap_err()
        .to_string();
    assert!(err.contains("weight.max_exp_avg_sq"), "{err}");

    // A buffer of the wrong shape is named.
    let mut bad = state.clone();
    for (n, m) in &mut bad {
        if n == "bias.exp_avg" {
            *m = Mat::zeros(3, 1);
        }
    }
    let err = Adam::<f64>::new(0.01)
        .unwrap()
        .import_state(&mut model, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bias.exp_avg"), "{err}");

    // Without `step` the state is rejected.
    let no_step: Vec<_> = state.iter().filter(|(n, _)| n != "step").cloned().collect();
    assert!(
        Adam::<f64>::new(0.01)
            .unwrap()
            .import_state(&mut model, &no_step)
            .is_err()
    );

    // Plain Adam ignores an AMSGrad buffer it does not use.
    let mut ams = Adam::<f64>::new(0.01).unwrap().amsgrad();
    let mut m2 = fx.model();
    fx.set_grads(&mut m2, 0);
    ams.step(&mut m2).unwrap();
    let ams_state = ams.export_state(&mut m2);
    assert!(ams_state.iter().any(|(n, _)| n == "bias.max_exp_avg_sq"));
    Adam::<f64>::new(0.01)
        .unwrap()
        .import_state(&mut m2, &ams_state)
        .unwrap();
}

/// A step on a model whose parameters changed shape since the first step is an error.
#[test]
fn step_rejects_a_changed_model() {
    let mut rng = optim::rng(1);
    let mut a = Linear::<f64>::new(3, 2, &mut rng);
    let mut b = Linear::<f64>::new(4, 2, &mut rng);
    let mut opt = Adam::new(0.01).unwrap();
    opt.step(&mut a).unwrap();
    assert!(opt.step(&mut b).is_err());
    let mut sgd = Sgd::new(0.1).unwrap();
    sgd.step(&mut a).unwrap();
    assert!(sgd.step(&mut b).is_err());
}
