//! Agreement with reference implementations: PyTorch (float64 autograd), MiniSom 2.3.6 and
//! NumPy, from the committed fixtures.

mod rbf_and_som {
    //! Agreement with reference implementations (fixtures made by `tests/fixtures/make_fixtures.py`):
    //! MiniSom 2.3.6 for the self-organizing map, PyTorch (float64 autograd) for the RBF layer's
    //! forward and backward, NumPy's `lstsq` for the least-squares read-out.

    use classic::rbf::{Basis, LeastSquares, Rbf, Solver};
    use classic::som::{
        Decay, Grid, Neighbourhood, Order, Som, SomConfig, SomInit, Topology, Training,
    };
    use optim::testing::{fixture, floats, max_abs_diff};
    use optim::{Mat, Param, Parameters};
    use serde_json::Value;

    /// MiniSom's `(i, j, feature)` row-major weights as our `features x units` matrix.
    fn minisom_weights(flat: &[f64], dim: usize, units: usize) -> Mat<f64> {
        Mat::from_fn(dim, units, |r, k| flat[k * dim + r])
    }

    fn som_data(f: &Value) -> Mat<f64> {
        let (n, dim) = (
            f["n"].as_u64().unwrap() as usize,
            f["dim"].as_u64().unwrap() as usize,
        );
        let flat = floats(&f["data"]);
        Mat::from_fn(dim, n, |r, c| flat[c * dim + r])
    }

    fn decay(name: &str) -> Decay {
        match name {
            "asymptotic_decay" => Decay::Asymptotic,
            "linear_decay_to_zero" => Decay::Linear { end: 0.0 },
            "linear_decay_to_one" => Decay::Linear { end: 1.0 },
            other => panic!("decay {other}"),
        }
    }

    #[test]
    fn som_training_matches_minisom_step_for_step() {
        let f = fixture(env!("CARGO_MANIFEST_DIR"), "minisom.json");
        let data = som_data(&f);
        let dim = data.nrows();
        for case in f["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let (nx, ny) = (
                case["nx"].as_u64().unwrap() as usize,
                case["ny"].as_u64().unwrap() as usize,
            );
            let topology = Topology::from_name(case["topology"].as_str().unwrap()).unwrap();
            let neighbourhood =
                Neighbourhood::from_name(case["neighbourhood"].as_str().unwrap()).unwrap();
            let config = SomConfig {
                nx,
                ny,
                topology,
                neighbourhood,
                sigma: case["sigma"].as_f64().unwrap(),
                learning_rate: case["learning_rate"].as_f64().unwrap(),
                sigma_decay: decay(case["sigma_decay"].as_str().unwrap()),
                learning_rate_decay: decay(case["decay"].as_str().unwrap()),
                init: SomInit::Random,
                iterations: case["iterations"].as_u64().unwrap() as usize,
                training: if case["batch"].as_bool().unwrap() {
                    Training::Batch
                } else {
                    Training::Online(Order::Sequential)
                },
            };
            let grid = Grid::new(nx, ny, topology).unwrap();
            let mut som = Som::<f64>::new(grid, dim, neighbourhood, &mut optim::rng(0)).unwrap();
            som.weights.value = minisom_weights(&floats(&case["initial"]), dim, nx * ny);
            som.train(&data, &config, &mut optim::rng(0), &mut |_, _| {})
                .unwrap();
            let want = minisom_weights(&floats(&case["final"]), dim, nx * ny);
            let diff = max_abs_diff(som.weights.value.as_slice(), want.as_slice());
            assert!(
                diff < 1e-9,
                "{name}: weights differ from MiniSom by {diff:e}"
            );

            let qe = som.quantization_error(&data).unwrap();
            let te = som.topographic_error(&data).unwrap();
            assert!(
                (qe - case["quantization_error"].as_f64().unwrap()).abs() < 1e-9,
                "{name}: QE {qe}"
            );
            assert!(
                (te - case["topographic_error"].as_f64().unwrap()).abs() < 1e-12,
                "{name}: TE {te} vs {}",
                case["topographic_error"]
            );
            // U-matrix and activation response are nx x ny, MiniSom's flattening is row-major
            for (mean, key) in [(false, "u_matrix_sum"), (true, "u_matrix_mean")] {
                let um = som.u_matrix(mean);
                let ours: Vec<f64> = (0..nx)
                    .flat_map(|i| (0..ny).map(move |j| (i, j)))
                    .map(|(i, j)| um[(i, j)])
                    .collect();
                let d = max_abs_diff(&ours, &floats(&case[key]));
                assert!(d < 1e-9, "{name}: {key} differs by {d:e}");
            }
            let ar = som.activation_response(&data).unwrap();
            let ours: Vec<f64> = (0..nx)
                .flat_map(|i| (0..ny).map(move |j| (i, j)))
                .map(|(i, j)| ar[(i, j)])
                .collect();
            assert_eq!(ours, floats(&case["activation_response"]), "{name}");
        }
    }

    #[test]
    fn pca_initialization_matches_minisom_up_to_the_sign_of_each_component() {
        let f = fixture(env!("CARGO_MANIFEST_DIR"), "minisom.json");
        let data = som_data(&f);
        let (nx, ny) = (
            f["pca"]["nx"].as_u64().unwrap() as usize,
            f["pca"]["ny"].as_u64().unwrap() as usize,
        );
        let want = minisom_weights(&floats(&f["pca"]["weights"]), 3, nx * ny);
        let grid = Grid::new(nx, ny, Topology::Rectangular).unwrap();
        let mut som =
            Som::<f64>::new(grid, 3, Neighbourhood::Gaussian, &mut optim::rng(0)).unwrap();
        som.init_pca(&data).unwrap();
        // An eigenvector's sign is arbitrary; flipping v1 (v2) mirrors the map along i (j).
        let mut best = f64::INFINITY;
        for (fi, fj) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut worst: f64 = 0.0;
            for i in 0..nx {
                for j in 0..ny {
                    let (a, b) = (
                        if fi { nx - 1 - i } else { i },
                        if fj { ny - 1 - j } else { j },
                    );
                    for r in 0..3 {
                        let ours = som.weights.value[(r, som.grid.index(i, j))];
                        let theirs = want[(r, som.grid.index(a, b))];
                        worst = worst.max((ours - theirs).abs());
                    }
                }
            }
            best = best.min(worst);
        }
        assert!(best < 1e-10, "PCA init differs from MiniSom by {best:e}");
    }

    fn col_major(v: &Value, rows: usize, cols: usize) -> Mat<f64> {
        Mat::from_column_slice(rows, cols, &floats(v))
    }

    #[test]
    fn rbf_forward_and_backward_match_pytorch_autograd() {
        let f = fixture(env!("CARGO_MANIFEST_DIR"), "rbf_torch.json");
        let u = |k: &str| f[k].as_u64().unwrap() as usize;
        let (d, m, n, out) = (u("d"), u("m"), u("n"), u("out"));
        let x = col_major(&f["x"], d, n);
        let dy = col_major(&f["dy"], out, n);
        for case in f["cases"].as_array().unwrap() {
            let basis = Basis::from_name(case["basis"].as_str().unwrap()).unwrap();
            let widths: Vec<f64> = floats(&f["log_widths"]).iter().map(|r| r.exp()).collect();
            let mut model =
                Rbf::new(basis, col_major(&f["centres"], d, m), &widths, out, true).unwrap();
            model.log_widths.value = Mat::from_column_slice(m, 1, &floats(&f["log_widths"]));
            model.weight.value = col_major(&f["weight"], out, m);
            model.bias.as_mut().unwrap().value =
                Mat::from_column_slice(out, 1, &floats(&f["bias"]));
            let y = model.forward(&x).unwrap();
            let tol = 1e-10;
            let check = |what: &str, ours: &[f64], key: &str| {
                let want = floats(&case[key]);
                let scale = want.iter().fold(1.0f64, |a, b| a.max(b.abs()));
                let diff = max_abs_diff(ours, &want);
                assert!(diff < tol * scale, "{basis:?} {what}: differs by {diff:e}");
            };
            check("y", y.as_slice(), "y");
            assert_eq!(model.predict(&x).unwrap(), y);
            optim::zero_grad(&mut model);
            let dx = model.backward(&dy).unwrap();
            check("dx", dx.as_slice(), "dx");
            let mut grads: Vec<(String, Vec<f64>)> = Vec::new();
            model.visit_params(&mut |name, p: &mut Param<f64>| {
                grads.push((name.to_string(), p.grad.as_slice().to_vec()))
            });
            for (name, g) in grads {
                let key = match name.as_str() {
                    "centres" => "dcentres",
                    "log_widths" => "dlog_widths",
                    "weight" => "dweight",
                    "bias" => "dbias",
                    other => panic!("parameter {other}"),
                };
                check(&name, &g, key);
            }
        }
    }

    #[test]
    fn least_squares_matches_numpy_lstsq_with_and_without_ridge() {
        let f = fixture(env!("CARGO_MANIFEST_DIR"), "rbf_torch.json");
        let u = |k: &str| f[k].as_u64().unwrap() as usize;
        let (d, m, out) = (u("d"), u("m"), u("out"));
        let ls = &f["lstsq"];
        let n = ls["n"].as_u64().unwrap() as usize;
        let x = col_major(&ls["x"], d, n);
        let t = col_major(&ls["targets"], out, n);
        let widths: Vec<f64> = floats(&f["log_widths"]).iter().map(|r| r.exp()).collect();
        for solver in [Solver::Qr, Solver::Svd] {
            for (ridge, wk, bk) in [
                (0.0, "weight", "bias"),
                (ls["ridge"].as_f64().unwrap(), "weight_ridge", "bias_ridge"),
            ] {
                let mut model = Rbf::new(
                    Basis::Gaussian,
                    col_major(&f["centres"], d, m),
                    &widths,
                    out,
                    true,
                )
                .unwrap();
                model.log_widths.value = Mat::from_column_slice(m, 1, &floats(&f["log_widths"]));
                model
                    .fit_output_weights(&x, &t, &LeastSquares { solver, ridge })
                    .unwrap();
                let dw = max_abs_diff(model.weight.value.as_slice(), &floats(&ls[wk]));
                let db = max_abs_diff(
                    model.bias.as_ref().unwrap().value.as_slice(),
                    &floats(&ls[bk]),
                );
                assert!(
                    dw < 1e-9 && db < 1e-9,
                    "{solver:?} ridge {ridge}: {dw:e} {db:e}"
                );
            }
        }
    }
}

mod anfis {
    //! Agreement with PyTorch (float64 autograd; fixtures made by
    //! `tests/fixtures/anfis_make_fixtures.py`): the five-layer forward output, the MSE gradients of
    //! every premise and consequent parameter and of the input, and the least-squares consequents
    //! (`torch.linalg.lstsq`) — for bell, Gaussian, triangular and trapezoidal functions.

    use classic::anfis::{Anfis, MfKind};
    use optim::testing::{fixture, floats, matrix};
    use optim::{Mat, loss};

    fn close(name: &str, ours: &Mat<f64>, theirs: &Mat<f64>, tol: f64) {
        assert_eq!(ours.shape(), theirs.shape(), "{name}");
        let scale = theirs.amax().max(1.0);
        let diff = (ours - theirs).amax();
        assert!(diff <= tol * scale, "{name}: max difference {diff:e}");
    }

    #[test]
    fn forward_backward_and_least_squares_agree_with_pytorch() {
        let f = fixture(env!("CARGO_MANIFEST_DIR"), "anfis_torch.json");
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
}
