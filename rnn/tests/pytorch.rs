//! Agreement with PyTorch: outputs, final states and every gradient of `nn.RNN` (tanh, ReLU),
//! `nn.LSTM` and `nn.GRU` — two layers, bidirectional — to 1e-6 in f64, on the fixture written
//! by `tests/fixtures/make_fixtures.py`. Parameters are loaded by PyTorch's names, so this also
//! checks that the names, shapes and gate orders interchange.

use optim::{Mat, Parameters, param_names};
use rnn::{CellKind, Rnn, RnnConfig, RnnState, Seq};
use std::collections::BTreeMap;

// ---- a tiny JSON reader (objects, arrays, numbers, strings, booleans) ----
#[derive(Debug, Clone)]
enum Json {
    Num(f64),
    Str(String),
    Bool(bool),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b'}' {
                        self.i += 1;
                        return Json::Obj(m);
                    }
                    let Json::Str(k) = self.value() else {
                        panic!("key")
                    };
                    self.ws();
                    assert_eq!(self.s[self.i], b':');
                    self.i += 1;
                    let v = self.value();
                    m.insert(k, v);
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b']' {
                        self.i += 1;
                        return Json::Arr(v);
                    }
                    v.push(self.value());
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let start = self.i;
                while self.s[self.i] != b'"' {
                    self.i += 1;
                }
                self.i += 1;
                Json::Str(String::from_utf8(self.s[start..self.i - 1].to_vec()).unwrap())
            }
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(text.parse().unwrap())
            }
        }
    }
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(k).unwrap_or_else(|| panic!("no key {k}")),
            _ => panic!("not an object"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            Json::Num(v) => *v,
            _ => panic!("not a number"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("not a bool"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array"),
        }
    }
    fn vec(&self) -> Vec<f64> {
        self.arr().iter().map(Json::num).collect()
    }
}

fn fixture() -> Json {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pytorch.json"
    ))
    .expect("fixture");
    Parser { s: &text, i: 0 }.value()
}

/// `k` matrices `H x B` from a flat `(k, B, H)` row-major array.
fn states(flat: &[f64], hidden: usize, batch: usize) -> Vec<Mat<f64>> {
    flat.chunks_exact(hidden * batch)
        .map(|c| Mat::from_column_slice(hidden, batch, c))
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6, "{what}: max abs difference {err:.3e}");
}

#[test]
fn outputs_final_states_and_all_gradients_match_pytorch() {
    let fx = fixture();
    let (input, hidden) = (
        fx.get("input").num() as usize,
        fx.get("hidden").num() as usize,
    );
    let (steps, batch) = (
        fx.get("steps").num() as usize,
        fx.get("batch").num() as usize,
    );
    let cases = fx.get("cases").arr();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case.get("name").str();
        let cell = CellKind::from_name(case.get("cell").str()).unwrap();
        let config = RnnConfig::new(cell, input, hidden)
            .layers(case.get("layers").num() as usize)
            .bidirectional(case.get("bidirectional").bool());
        let mut net = Rnn::<f64>::new(config.clone(), &mut optim::rng(0)).unwrap();
        // load PyTorch's parameters by name, in PyTorch's order
        let params = case.get("params").arr();
        let names: Vec<String> = params
            .iter()
            .map(|p| p.get("name").str().to_string())
            .collect();
        assert_eq!(
            param_names(&mut net),
            names,
            "{name}: parameter names and order"
        );
        let mut i = 0;
        net.visit_params(&mut |n, p| {
            let shape: Vec<usize> = params[i]
                .get("shape")
                .vec()
                .iter()
                .map(|&v| v as usize)
                .collect();
            assert_eq!(p.shape, shape, "{name} {n}");
            let rows = p.value.nrows();
            p.value = Mat::from_row_slice(rows, p.value.ncols(), &params[i].get("value").vec());
            i += 1;
        });

        let x = Seq::new(
            Mat::from_column_slice(input, steps * batch, &case.get("x").vec()),
            steps,
            batch,
        )
        .unwrap();
        let lstm = cell == CellKind::Lstm;
        let h0 = RnnState {
            h: states(&case.get("h0").vec(), hidden, batch),
            c: if lstm {
                states(&case.get("c0").vec(), hidden, batch)
            } else {
                Vec::new()
            },
        };
        let d_final = RnnState {
            h: states(&case.get("w_h").vec(), hidden, batch),
            c: if lstm {
                states(&case.get("w_c").vec(), hidden, batch)
            } else {
                Vec::new()
            },
        };
        let w_out = Mat::from_column_slice(
            config.output_width(),
            steps * batch,
            &case.get("w_out").vec(),
        );

        let y = net.forward(&x, Some(&h0)).unwrap().clone();
        assert_close(
            &format!("{name} output"),
            y.as_slice(),
            &case.get("output").vec(),
        );
        let fin = net.final_state();
        let flat = |v: &[Mat<f64>]| v.iter().flat_map(|m| m.iter().copied()).collect::<Vec<_>>();
        assert_close(
            &format!("{name} h_n"),
            &flat(&fin.h),
            &case.get("h_n").vec(),
        );
        if lstm {
            assert_close(
                &format!("{name} c_n"),
                &flat(&fin.c),
                &case.get("c_n").vec(),
            );
        }
        // the cache-free path agrees too
        let (yp, finp) = net.predict(&x, Some(&h0)).unwrap();
        assert_close(
            &format!("{name} predict output"),
            yp.as_slice(),
            &case.get("output").vec(),
        );
        assert_close(
            &format!("{name} predict h_n"),
            &flat(&finp.h),
            &case.get("h_n").vec(),
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
                &params[i].get("grad").vec(),
            );
            i += 1;
        });
        assert_close(
            &format!("{name} dx"),
            net.input_grad().as_slice(),
            &case.get("dx").vec(),
        );
        let g0 = net.initial_grad();
        assert_close(&format!("{name} dh0"), &flat(&g0.h), &case.get("dh0").vec());
        if lstm {
            assert_close(&format!("{name} dc0"), &flat(&g0.c), &case.get("dc0").vec());
        }
    }
}
