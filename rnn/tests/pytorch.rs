//! Agreement with PyTorch: outputs, final states and every gradient of `nn.RNN` (tanh, ReLU),
//! `nn.LSTM` and `nn.GRU` — two layers, bidirectional — to 1e-6 in f64, on the fixture written
//! by `tests/fixtures/make_fixtures.py`. Parameters are loaded by PyTorch's names, so this also
//! checks that the names, shapes and gate orders interchange.

use optim::testing::{assert_close, fixture, floats};
use optim::{Mat, Parameters, param_names};
use rnn::{CellKind, Rnn, RnnConfig, RnnState, Seq};
use serde_json::Value;

/// PyTorch's figures agree to this (f64).
const TOL: f64 = 1e-6;

fn size(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not a size: {v}")) as usize
}

/// `k` matrices `H x B` from a flat `(k, B, H)` row-major array.
fn states(flat: &[f64], hidden: usize, batch: usize) -> Vec<Mat<f64>> {
    flat.chunks_exact(hidden * batch)
        .map(|c| Mat::from_column_slice(hidden, batch, c))
        .collect()
}

#[test]
fn outputs_final_states_and_all_gradients_match_pytorch() {
    let fx = fixture(env!("CARGO_MANIFEST_DIR"), "pytorch.json");
    let (input, hidden) = (size(&fx["input"]), size(&fx["hidden"]));
    let (steps, batch) = (size(&fx["steps"]), size(&fx["batch"]));
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cell = CellKind::from_name(case["cell"].as_str().unwrap()).unwrap();
        let config = RnnConfig::new(cell, input, hidden)
            .layers(size(&case["layers"]))
            .bidirectional(case["bidirectional"].as_bool().unwrap());
        let mut net = Rnn::<f64>::new(config.clone(), &mut optim::rng(0)).unwrap();
        // load PyTorch's parameters by name, in PyTorch's order
        let params = case["params"].as_array().unwrap();
        let names: Vec<String> = params
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            param_names(&mut net),
            names,
            "{name}: parameter names and order"
        );
        let mut i = 0;
        net.visit_params(&mut |n, p| {
            let shape: Vec<usize> = floats(&params[i]["shape"])
                .iter()
                .map(|&v| v as usize)
                .collect();
            assert_eq!(p.shape, shape, "{name} {n}");
            let rows = p.value.nrows();
            p.value = Mat::from_row_slice(rows, p.value.ncols(), &floats(&params[i]["value"]));
            i += 1;
        });

        let x = Seq::new(
            Mat::from_column_slice(input, steps * batch, &floats(&case["x"])),
            steps,
            batch,
        )
        .unwrap();
        let lstm = cell == CellKind::Lstm;
        let h0 = RnnState {
            h: states(&floats(&case["h0"]), hidden, batch),
            c: if lstm {
                states(&floats(&case["c0"]), hidden, batch)
            } else {
                Vec::new()
            },
        };
        let d_final = RnnState {
            h: states(&floats(&case["w_h"]), hidden, batch),
            c: if lstm {
                states(&floats(&case["w_c"]), hidden, batch)
            } else {
                Vec::new()
            },
        };
        let w_out = Mat::from_column_slice(
            config.output_width(),
            steps * batch,
            &floats(&case["w_out"]),
        );

        let y = net.forward(&x, Some(&h0)).unwrap().clone();
        assert_close(
            &format!("{name} output"),
            y.as_slice(),
            &floats(&case["output"]),
            TOL,
        );
        let fin = net.final_state();
        let flat = |v: &[Mat<f64>]| v.iter().flat_map(|m| m.iter().copied()).collect::<Vec<_>>();
        assert_close(
            &format!("{name} h_n"),
            &flat(&fin.h),
            &floats(&case["h_n"]),
            TOL,
        );
        if lstm {
            assert_close(
                &format!("{name} c_n"),
                &flat(&fin.c),
                &floats(&case["c_n"]),
                TOL,
            );
        }
        // the cache-free path agrees too
        let (yp, finp) = net.predict(&x, Some(&h0)).unwrap();
        assert_close(
            &format!("{name} predict output"),
            yp.as_slice(),
            &floats(&case["output"]),
            TOL,
        );
        assert_close(
            &format!("{name} predict h_n"),
            &flat(&finp.h),
            &floats(&case["h_n"]),
            TOL,
        );

        optim::zero_grad(&mut net);
        net.backward(Some(&w_out), Some(&d_final), true).unwrap();
        let mut i = 0;
        net.visit_params(&mut |n, p| {
            let mut row_major = Vec::with_capacity(p.grad.len());
            for r in 0..p.grad.nrows() {
                for c in 0..p.grad.ncols() {
                    row_major.push(p.grad[(r, c)]);
                }
            }
            assert_close(
                &format!("{name} grad {n}"),
                &row_major,
                &floats(&params[i]["grad"]),
                TOL,
            );
            i += 1;
        });
        assert_close(
            &format!("{name} dx"),
            net.input_grad().as_slice(),
            &floats(&case["dx"]),
            TOL,
        );
        let g0 = net.initial_grad();
        assert_close(
            &format!("{name} dh0"),
            &flat(&g0.h),
            &floats(&case["dh0"]),
            TOL,
        );
        if lstm {
            assert_close(
                &format!("{name} dc0"),
                &flat(&g0.c),
                &floats(&case["dc0"]),
                TOL,
            );
        }
    }
}

/// One encoder–decoder step of the seq2seq model (bidirectional GRU encoder, GRU decoder) with
/// additive and with general attention: loss, logits, attention weights and every gradient
/// against `tests/fixtures/seq2seq.json` (written by `make_seq2seq_fixtures.py`, which runs
/// the model one example at a time without padding, while this side pads a batch of 3).
#[test]
fn seq2seq_step_matches_pytorch_for_additive_and_general_attention() {
    use rnn::seq2seq::{AttentionKind, Batch, Pairs, Seq2Seq, Seq2SeqConfig, Vocab};
    let fx = fixture(env!("CARGO_MANIFEST_DIR"), "seq2seq.json");
    let vocab = Vocab::from_texts([fx["vocab"].as_str().unwrap()]);
    let ids = |v: &Value| -> Vec<Vec<usize>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| floats(s).iter().map(|&x| x as usize).collect())
            .collect()
    };
    let data = Pairs {
        sources: ids(&fx["sources"]),
        targets: ids(&fx["targets"]),
        unknown: 0,
    };
    let b = data.len();
    let batch = Batch::new(&data, &(0..b).collect::<Vec<_>>()).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let kind = AttentionKind::from_name(case["attention"].as_str().unwrap()).unwrap();
        let mut config =
            Seq2SeqConfig::new(vocab.clone(), size(&fx["embed"]), size(&fx["hidden"]), kind);
        config.decoder_hidden = size(&fx["decoder_hidden"]);
        config.attention_dim = size(&fx["attention_dim"]);
        let mut model = Seq2Seq::<f64>::new(config, &mut optim::rng(0)).unwrap();
        let params = case["params"].as_array().unwrap();
        let names: Vec<String> = params
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(param_names(&mut model), names, "{kind:?}: names and order");
        let mut i = 0;
        model.visit_params(&mut |n, p| {
            let rows = p.value.nrows();
            let v = floats(&params[i]["value"]);
            assert_eq!(v.len(), p.value.len(), "{n}");
            p.value = Mat::from_row_slice(rows, p.value.ncols(), &v);
            i += 1;
        });
        let loss = model.forward(&batch).unwrap();
        assert_close(
            &format!("{kind:?} loss"),
            &[loss],
            &[case["loss"].as_f64().unwrap()],
            TOL,
        );
        let v = model.vocab().len();
        for e in 0..b {
            let steps = data.targets[e].len() + 1;
            let n = data.sources[e].len();
            let mut logits = Vec::new();
            let mut alpha = Vec::new();
            for t in 0..steps {
                logits.extend(model.cache.logits.column(t * b + e).iter().copied());
                for j in 0..batch.src_steps {
                    let a = model.cache.alpha[e][(j, t)];
                    if j < n {
                        alpha.push(a);
                    } else {
                        assert_eq!(a, 0.0, "padded position attended");
                    }
                }
            }
            assert_eq!(logits.len(), steps * v);
            assert_close(
                &format!("{kind:?} logits {e}"),
                &logits,
                &floats(&case["logits"][e]),
                TOL,
            );
            assert_close(
                &format!("{kind:?} attention {e}"),
                &alpha,
                &floats(&case["alpha"][e]),
                TOL,
            );
        }
        model.visit_params(&mut |_, p| p.zero_grad());
        model.backward(&batch).unwrap();
        let grads = case["grads"].as_array().unwrap();
        let mut i = 0;
        model.visit_params(&mut |n, p| {
            let mut row_major = Vec::with_capacity(p.grad.len());
            for r in 0..p.grad.nrows() {
                row_major.extend(p.grad.row(r).iter().copied());
            }
            assert_close(
                &format!("{kind:?} grad {n}"),
                &row_major,
                &floats(&grads[i]["value"]),
                TOL,
            );
            i += 1;
        });
        assert_eq!(i, grads.len());
    }
}
