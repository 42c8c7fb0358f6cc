//! Agreement with PyTorch (float64 autograd; fixtures made by
//! `tests/fixtures/anfis_make_fixtures.py`): the five-layer forward output, the MSE gradients of
//! every premise and consequent parameter and of the input, and the least-squares consequents
//! (`torch.linalg.lstsq`) — for bell, Gaussian, triangular and trapezoidal functions.

use classic::anfis::{Anfis, MfKind};
use optim::{Mat, loss};
use serde_json::Value;

fn fixture() -> Value {
    let path = format!(
        "{}/tests/fixtures/anfis_torch.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A JSON list of rows as a matrix.
fn matrix(v: &Value) -> Mat<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(floats).collect();
    Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn close(name: &str, ours: &Mat<f64>, theirs: &Mat<f64>, tol: f64) {
    assert_eq!(ours.shape(), theirs.shape(), "{name}");
    let scale = theirs.amax().max(1.0);
    let diff = (ours - theirs).amax();
    assert!(diff <= tol * scale, "{name}: max difference {diff:e}");
}

#[test]
fn forward_backward_and_least_squares_agree_with_pytorch() {
    let f = fixture();
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let kind = MfKind::from_name(case["kind"].as_str().unwrap()).unwrap();
        let premise: Vec<Mat<f64>> = case["premise"]
            .as_array()
            .unwrap()
            .iter()
            .map(matrix)
            .collect();
        let rules: Vec<Vec<usize>> = case["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| floats(r).into_iter().map(|v| v as usize).collect())
            .collect();
        let x = matrix(&case["x"]);
        let ranges: Vec<(f64, f64)> = (0..x.nrows())
            .map(|i| (x.row(i).min(), x.row(i).max()))
            .collect();
        let mut model = Anfis::from_parts(kind, premise, &rules, &ranges).unwrap();
        model.consequent_weight.value = matrix(&case["weight"]);
        let bias = floats(&case["bias"]);
        model.consequent_bias.value = Mat::from_column_slice(bias.len(), 1, &bias);
        let t = floats(&case["t"]);
        let t = Mat::from_row_slice(1, t.len(), &t);
        let name = kind.name();

        let y = model.forward(&x).unwrap();
        let y_ref = floats(&case["y"]);
        close(
            &format!("{name} output"),
            &y,
            &Mat::from_row_slice(1, y_ref.len(), &y_ref),
            1e-12,
        );
        let (l, dy) = loss::mse(&y, &t).unwrap();
        assert!(
            (l - case["loss"].as_f64().unwrap()).abs() < 1e-12,
            "{name} loss"
        );
        optim::zero_grad(&mut model);
        let dx = model.backward(&dy).unwrap();
        for (i, g) in case["grad_premise"].as_array().unwrap().iter().enumerate() {
            close(
                &format!("{name} premise.{i} gradient"),
                &model.premise[i].grad,
                &matrix(g),
                1e-10,
            );
        }
        close(
            &format!("{name} consequent.weight gradient"),
            &model.consequent_weight.grad,
            &matrix(&case["grad_weight"]),
            1e-10,
        );
        let gb = floats(&case["grad_bias"]);
        close(
            &format!("{name} consequent.bias gradient"),
            &model.consequent_bias.grad,
            &Mat::from_column_slice(gb.len(), 1, &gb),
            1e-10,
        );
        close(
            &format!("{name} input gradient"),
            &dx,
            &matrix(&case["grad_x"]),
            1e-10,
        );

        // least squares for the fixed premises, in Jang's parameter order [p_r, q_r] per rule
        model.fit_consequents(&x, &t, 0.0).unwrap();
        let theta = floats(&case["ls_theta"]);
        let d = x.nrows();
        let ours: Vec<f64> = (0..model.num_rules())
            .flat_map(|r| {
                let mut row: Vec<f64> = (0..d)
                    .map(|i| model.consequent_weight.value[(r, i)])
                    .collect();
                row.push(model.consequent_bias.value[(r, 0)]);
                row
            })
            .collect();
        close(
            &format!("{name} least-squares consequents"),
            &Mat::from_row_slice(1, ours.len(), &ours),
            &Mat::from_row_slice(1, theta.len(), &theta),
            1e-7,
        );
    }
}
