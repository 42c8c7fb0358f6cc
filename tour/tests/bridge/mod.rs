//! The fixture format shared by the PyTorch bridge's two directions (`python/inductive_torch`):
//! a folder of checkpoints in our format and a `cases.json` listing, for each file, its model
//! kind, a fixed input and the model's output on it, in PyTorch's layouts (one row per example):
//!
//! | kind  | input                              | output                                  |
//! |-------|------------------------------------|-----------------------------------------|
//! | `mlp` | `B x features`                     | `B x outputs`                           |
//! | `cnn` | `B x (C·H·W)`                      | `B x classes`                           |
//! | `rnn` | `T x B x I` features or `T x B` ids | `B x outputs` (last) or `T x B x outputs` |
//! | `gpt` | `B x T` ids                        | `B x T x vocab`                         |
//! | `seq2seq` | `{"sources": [[ids]], "targets": [[ids]]}` | `T x B x vocab` (teacher forcing) |
//! | `encoder_decoder` | `{"sources": [[ids]], "targets": [[ids]]}` | `B x T x tgt_vocab` (teacher forcing) |
//!
//! The two encoder–decoders read lists of unpadded source and target ids; each model pads them
//! itself (`rnn::seq2seq::Batch::new`, `EncoderDecoder::logits`), and `T` is the longest target
//! plus one (`bos` in, `eos` out).
//!
//! `python/tests/fixtures/ours/` was written by `tour/examples/bridge_fixtures.rs` (Rust models,
//! Rust outputs), `python/tests/fixtures/torch/` by `python/tests/make_bridge_fixtures.py`
//! (PyTorch modules, PyTorch outputs); both directions' tests read both folders.
#![allow(dead_code)] // the example uses a subset

use cnn::Cnn;
use mlp::Mlp;
use optim::Mat;
use optim::checkpoint::load_model;
use rnn::seq2seq::{Batch, Pairs, Seq2Seq};
use rnn::{Input, Seq, SeqModel};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use transformer::seq2seq::{EncoderDecoder, SeqPairs};
use transformer::{Gpt, SeqShape};

/// The `sources` and `targets` id lists of an encoder–decoder case.
pub fn pairs(input: &Value) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let get = |k: &str| serde_json::from_value(input[k].clone()).expect("lists of ids");
    (get("sources"), get("targets"))
}

/// `python/tests/fixtures/{which}` of the repository.
pub fn folder(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../python/tests/fixtures")
        .join(which)
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v.clone()).expect("a list of rows of numbers")
}

/// `B x n` rows as an `n x B` matrix (one column per example).
fn columns(v: &Value) -> Mat<f64> {
    let r = rows(v);
    Mat::from_fn(r[0].len(), r.len(), |i, j| r[j][i])
}

/// The columns of `m`, taken in order as `outer x inner` (column `o·inner + i`), as the nested
/// array `[o][i][row]`.
fn nested(m: &Mat<f64>, outer: usize, inner: usize) -> Value {
    json!(
        (0..outer)
            .map(|o| (0..inner)
                .map(|i| m.column(o * inner + i).iter().copied().collect::<Vec<_>>())
                .collect::<Vec<_>>())
            .collect::<Vec<_>>()
    )
}

/// An `n x B` matrix as `B x n` rows.
fn to_rows(m: &Mat<f64>) -> Value {
    json!(
        (0..m.ncols())
            .map(|j| m.column(j).iter().copied().collect::<Vec<_>>())
            .collect::<Vec<_>>()
    )
}

/// The output of the model in `file` (of `kind`) on `input`, in the fixture's layout.
pub fn evaluate(kind: &str, file: &Path, input: &Value) -> optim::Result<Value> {
    Ok(match kind {
        "mlp" => to_rows(&Mlp::<f64>::load(file)?.predict(&columns(input))?),
        "cnn" => {
            let net: Cnn<f64> = load_model(file)?;
            to_rows(&net.predict(&columns(input))?)
        }
        "rnn" => {
            let model: SeqModel<f64> = load_model(file)?;
            let steps = input.as_array().unwrap();
            let t = steps.len();
            let b = steps[0].as_array().unwrap().len();
            let (out, _) = if steps[0][0].is_array() {
                // features: column t·B + b
                let i = steps[0][0].as_array().unwrap().len();
                let data = Mat::from_fn(i, t * b, |f, c| steps[c / b][c % b][f].as_f64().unwrap());
                let x = Seq::new(data, t, b)?;
                model.predict(Input::Dense(&x), None)?
            } else {
                let ids: Vec<usize> = (0..t * b)
                    .map(|c| steps[c / b][c % b].as_u64().unwrap() as usize)
                    .collect();
                model.predict(
                    Input::Tokens {
                        ids: &ids,
                        steps: t,
                        batch: b,
                    },
                    None,
                )?
            };
            if out.ncols() == b {
                to_rows(&out)
            } else {
                // every step: column t·B + b → [t][b][o]
                nested(&out, t, b)
            }
        }
        "gpt" => {
            let gpt: Gpt<f64> = load_model(file)?;
            let r: Vec<Vec<usize>> = serde_json::from_value(input.clone()).unwrap();
            let (b, t) = (r.len(), r[0].len());
            // column b·T + t
            let ids: Vec<usize> = r.iter().flatten().copied().collect();
            let z = gpt.logits(&ids, SeqShape::new(t, b))?;
            nested(&z, b, t)
        }
        "seq2seq" => {
            let mut model: Seq2Seq<f64> = load_model(file)?;
            let (sources, targets) = pairs(input);
            let b = sources.len();
            let data = Pairs {
                sources,
                targets,
                unknown: 0,
            };
            let idx: Vec<usize> = (0..b).collect();
            let batch = Batch::new(&data, &idx)?;
            model.forward(&batch)?;
            let z = &model.cache.logits;
            // column t·B + b → [t][b][v]
            nested(z, batch.tgt_steps, b)
        }
        "encoder_decoder" => {
            let model: EncoderDecoder<f64> = load_model(file)?;
            let (sources, targets) = pairs(input);
            let b = sources.len();
            let t = targets.iter().map(Vec::len).max().unwrap_or(0) + 1;
            let data = SeqPairs::new(sources, targets)?;
            let idx: Vec<usize> = (0..b).collect();
            let z = model.logits(&data, &idx)?;
            // column b·T + t → [b][t][v]
            nested(&z, b, t)
        }
        other => panic!("no bridge case for kind {other:?}"),
    })
}

/// Every number of a nested JSON array, in order.
pub fn flatten(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        other => panic!("not a number: {other}"),
    }
}
