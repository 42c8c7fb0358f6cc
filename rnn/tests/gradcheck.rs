//! Gradient checks through time (f64, centred differences via `optim::gradcheck`): every cell,
//! sequence lengths 1–20, stacked and bidirectional, parameters, inputs and initial states,
//! full and truncated BPTT.

use optim::gradcheck::{GradCheck, check_input, check_parameters, combine};
use optim::{Mat, Parameters};
use proptest::prelude::*;
use rand::Rng;
use rnn::{CellKind, Rnn, RnnConfig, RnnState, Seq};

const CELLS: [CellKind; 4] = [
    CellKind::Tanh,
    CellKind::Relu,
    CellKind::Lstm,
    CellKind::Gru,
];

struct Probe {
    x: Seq<f64>,
    h0: RnnState<f64>,
    w_out: Mat<f64>,
    w_fin: RnnState<f64>,
}

fn random(rows: usize, cols: usize, rng: &mut impl Rng) -> Mat<f64> {
    Mat::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

fn probe(config: &RnnConfig, steps: usize, batch: usize, seed: u64) -> Probe {
    let mut rng = optim::rng(seed);
    let x = Seq::new(random(config.input, steps * batch, &mut rng), steps, batch).unwrap();
    let mut h0 = RnnState::zeros(config, batch);
    let mut w_fin = RnnState::zeros(config, batch);
    for m in h0.h.iter_mut().chain(h0.c.iter_mut()) {
        *m = random(config.hidden, batch, &mut rng);
    }
    for m in w_fin.h.iter_mut().chain(w_fin.c.iter_mut()) {
        *m = random(config.hidden, batch, &mut rng);
    }
    let w_out = random(config.output_width(), steps * batch, &mut rng);
    Probe {
        x,
        h0,
        w_out,
        w_fin,
    }
}

/// L = Σ Y ⊙ W_out + Σ_k h_n[k] ⊙ W_h[k] + Σ_k c_n[k] ⊙ W_c[k]
fn loss(net: &Rnn<f64>, p: &Probe, x: &Seq<f64>, h0: &RnnState<f64>) -> f64 {
    let (y, fin) = net.predict(x, Some(h0)).unwrap();
    let mut l = y.component_mul(&p.w_out).sum();
    for (a, b) in fin
        .h
        .iter()
        .zip(&p.w_fin.h)
        .chain(fin.c.iter().zip(&p.w_fin.c))
    {
        l += a.component_mul(b).sum();
    }
    l
}

fn report(
    config: &RnnConfig,
    steps: usize,
    batch: usize,
    seed: u64,
    step: f64,
) -> optim::GradCheckReport {
    let mut net = Rnn::<f64>::new(config.clone(), &mut optim::rng(seed)).unwrap();
    if config.cell == CellKind::Relu {
        // keep pre-activations away from ReLU's kink, where differences are not derivatives
        net.visit_params(&mut |_, p| p.value *= 0.5);
    }
    let p = probe(config, steps, batch, seed + 1);
    let opts = GradCheck {
        step,
        ..GradCheck::default()
    };
    let report = check_parameters(
        &mut net,
        opts,
        |n| loss(n, &p, &p.x, &p.h0),
        |n| {
            n.forward(&p.x, Some(&p.h0)).unwrap();
            n.backward(Some(&p.w_out), Some(&p.w_fin), true).unwrap();
            loss(n, &p, &p.x, &p.h0)
        },
    );
    // the same forward/backward leaves the input and initial-state gradients
    let dx = net.input_grad().clone();
    let dh0 = net.initial_grad();
    let rx = check_input("input", p.x.data(), &dx, opts, |x| {
        let xs = Seq::new(x.clone(), steps, batch).unwrap();
        loss(&net, &p, &xs, &p.h0)
    });
    let mut report = combine(report, rx);
    for k in 0..p.h0.h.len() {
        let r = check_input(&format!("h0[{k}]"), &p.h0.h[k], &dh0.h[k], opts, |h| {
            let mut s = p.h0.clone();
            s.h[k] = h.clone();
            loss(&net, &p, &p.x, &s)
        });
        report = combine(report, r);
    }
    for k in 0..p.h0.c.len() {
        let r = check_input(&format!("c0[{k}]"), &p.h0.c[k], &dh0.c[k], opts, |c| {
            let mut s = p.h0.clone();
            s.c[k] = c.clone();
            loss(&net, &p, &p.x, &s)
        });
        report = combine(report, r);
    }
    report
}

fn check(config: RnnConfig, steps: usize, batch: usize, seed: u64) {
    let mut result = report(&config, steps, batch, seed, 1e-5);
    if config.cell == CellKind::Relu && result.max_error >= 1e-6 {
        // A ReLU network is piecewise linear: a centred difference whose ±h straddles the kink of
        // some pre-activation is not a derivative (proptest found a 2-layer bidirectional case
        // at 6e-3 with h = 1e-5 and 4e-8 with h = 1e-7). A second step ten times smaller rarely
        // straddles the same kink, while a wrong backward pass fails at every step.
        let finer = report(&config, steps, batch, seed, 1e-6);
        if finer.max_error < result.max_error {
            result = finer;
        }
    }
    result.assert_below(1e-6);
}

#[test]
fn every_cell_single_layer_lengths_1_to_20() {
    for cell in CELLS {
        for steps in [1, 2, 5, 20] {
            check(RnnConfig::new(cell, 3, 4), steps, 2, 10 + steps as u64);
        }
    }
}

#[test]
fn every_cell_stacked_and_bidirectional() {
    for cell in CELLS {
        check(RnnConfig::new(cell, 3, 3).layers(2), 6, 2, 100);
        check(RnnConfig::new(cell, 2, 3).bidirectional(true), 7, 2, 200);
        check(
            RnnConfig::new(cell, 2, 3).layers(2).bidirectional(true),
            5,
            3,
            300,
        );
    }
}

#[test]
fn lstm_with_forget_bias() {
    check(
        RnnConfig::new(CellKind::Lstm, 2, 4).forget_bias(1.0),
        12,
        2,
        7,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_shapes_and_lengths(
        cell in 0usize..4, steps in 1usize..=20, batch in 1usize..4, input in 1usize..4,
        hidden in 1usize..4, layers in 1usize..3, bidir in any::<bool>(), seed in 0u64..1000,
    ) {
        let config = RnnConfig::new(CELLS[cell], input, hidden).layers(layers).bidirectional(bidir);
        check(config, steps, batch, seed);
    }
}

/// Truncated BPTT with `k1 = k2 = T` is full BPTT: the same parameter, input and
/// initial-state gradients, for every cell, one and two layers.
#[test]
fn truncated_with_k_equal_to_length_is_full_bptt() {
    for cell in CELLS {
        for layers in [1, 2] {
            let config = RnnConfig::new(cell, 3, 4).layers(layers);
            let steps = 9;
            let p = probe(&config, steps, 2, 5);
            let mut full = Rnn::<f64>::new(config.clone(), &mut optim::rng(3)).unwrap();
            let mut trunc = full.clone();
            full.forward(&p.x, Some(&p.h0)).unwrap();
            full.backward(Some(&p.w_out), None, true).unwrap();
            trunc.forward(&p.x, Some(&p.h0)).unwrap();
            trunc
                .backward_truncated(&p.w_out, steps, steps, true)
                .unwrap();
            let mut a = Vec::new();
            full.visit_params(&mut |_, q| a.push(q.grad.clone()));
            let mut i = 0;
            trunc.visit_params(&mut |n, q| {
                assert!((&q.grad - &a[i]).abs().max() < 1e-12, "{cell:?} {n}");
                i += 1;
            });
            assert!((full.input_grad() - trunc.input_grad()).abs().max() < 1e-12);
            let (g1, g2) = (full.initial_grad(), trunc.initial_grad());
            for (u, v) in g1.h.iter().zip(&g2.h).chain(g1.c.iter().zip(&g2.c)) {
                assert!((u - v).abs().max() < 1e-12);
            }
        }
    }
}

/// BPTT(k1, k2) with k1 < T against the checker: the truncated gradient is the exact gradient
/// of the sum over windows of a loss in which each window starts from a state *treated as a
/// constant*. We build that function explicitly: for the window ending at `e` and starting at
/// `s`, run the network from the (frozen) state at `s` over `s..e` and read the losses of
/// `e − k1 .. e`.
#[test]
fn truncated_bptt_matches_windowed_losses() {
    for (cell, layers) in CELLS.iter().flat_map(|&c| [(c, 1), (c, 2)]) {
        let config = RnnConfig::new(cell, 2, 3).layers(layers);
        let (steps, batch, k1, k2) = (11, 2, 3, 5);
        let p = probe(&config, steps, batch, 9);
        let mut net = Rnn::<f64>::new(config.clone(), &mut optim::rng(4)).unwrap();
        let frozen = net.clone();
        // states entering every step under the frozen weights
        let mut states = vec![p.h0.clone()];
        for t in 0..steps {
            let mut s = states[t].clone();
            let xt = Seq::new(p.x.data().columns(t * batch, batch).into_owned(), 1, batch).unwrap();
            let (_, fin) = frozen.predict(&xt, Some(&s)).unwrap();
            s = fin;
            states.push(s);
        }
        let windowed = |n: &Rnn<f64>| {
            let mut total = 0.0;
            let mut prev = 0;
            while prev < steps {
                let end = (prev + k1).min(steps);
                let start = end.saturating_sub(k2);
                let xs = Seq::new(
                    p.x.data()
                        .columns(start * batch, (end - start) * batch)
                        .into_owned(),
                    end - start,
                    batch,
                )
                .unwrap();
                let (y, _) = n.predict(&xs, Some(&states[start])).unwrap();
                for t in prev..end {
                    let yt = y.columns((t - start) * batch, batch);
                    total += yt.component_mul(&p.w_out.columns(t * batch, batch)).sum();
                }
                prev = end;
            }
            total
        };
        let report = check_parameters(
            &mut net,
            GradCheck::default(),
            |n| windowed(n),
            |n| {
                n.forward(&p.x, Some(&p.h0)).unwrap();
                n.backward_truncated(&p.w_out, k1, k2, false).unwrap();
                windowed(n)
            },
        );
        report.assert_below(1e-6);
    }
}

/// The whole model: embedding → stacked LSTM → head with cross-entropy at every step, and
/// dense input → bidirectional GRU → head read at the last step with MSE.
#[test]
fn sequence_models_with_embedding_head_and_both_readouts() {
    use rnn::{Encoding, Input, ModelConfig, Readout, SeqModel, Target};
    let mut rng = optim::rng(11);
    let cfg = ModelConfig {
        rnn: RnnConfig::new(CellKind::Lstm, 3, 4).layers(2),
        encoding: Encoding::Embedding { vocab: 5, dim: 3 },
        outputs: 5,
        readout: Readout::Every,
    };
    let mut model = SeqModel::<f64>::new(cfg, &mut rng).unwrap();
    let (steps, batch) = (6, 2);
    let ids: Vec<usize> = (0..steps * batch).map(|i| (i * 7 + 3) % 5).collect();
    let labels: Vec<usize> = (0..steps * batch).map(|i| (i * 3 + 1) % 5).collect();
    let input = Input::Tokens {
        ids: &ids,
        steps,
        batch,
    };
    let ce = |m: &SeqModel<f64>| {
        let (y, _) = m.predict(input, None).unwrap();
        SeqModel::loss(&y, Target::Classes(&labels)).unwrap().0
    };
    let report = check_parameters(
        &mut model,
        GradCheck::default(),
        |m| ce(m),
        |m| {
            let y = m.forward(input, None).unwrap().clone();
            let (l, d) = SeqModel::loss(&y, Target::Classes(&labels)).unwrap();
            m.backward(&d, None).unwrap();
            l
        },
    );
    report.assert_below(1e-6);

    let cfg = ModelConfig {
        rnn: RnnConfig::new(CellKind::Gru, 2, 3)
            .layers(2)
            .bidirectional(true),
        encoding: Encoding::Dense,
        outputs: 2,
        readout: Readout::Last,
    };
    let mut model = SeqModel::<f64>::new(cfg, &mut rng).unwrap();
    let p = probe(&RnnConfig::new(CellKind::Gru, 2, 3), 7, 3, 12);
    let target = random(2, 3, &mut rng);
    let mse = |m: &SeqModel<f64>| {
        let (y, _) = m.predict(Input::Dense(&p.x), None).unwrap();
        SeqModel::loss(&y, Target::Regression(&target)).unwrap().0
    };
    let report = check_parameters(
        &mut model,
        GradCheck::default(),
        |m| mse(m),
        |m| {
            let y = m.forward(Input::Dense(&p.x), None).unwrap().clone();
            let (l, d) = SeqModel::loss(&y, Target::Regression(&target)).unwrap();
            m.backward(&d, None).unwrap();
            l
        },
    );
    report.assert_below(1e-6);
}

// ---- seq2seq (notes §7.3): each attention form and the whole model on short padded batches

mod seq2seq_grads {
    use optim::gradcheck::{GradCheck, check_parameters};
    use rnn::CellKind;
    use rnn::seq2seq::{AttentionKind, Batch, Pairs, Seq2Seq, Seq2SeqConfig, Vocab};

    /// A batch of 3 pairs of unequal lengths (sources 1, 4, 2; targets 3, 1, 4): both sides
    /// padded.
    fn data() -> (Vocab, Pairs) {
        let pairs: Vec<(String, String)> = [("a", "bca"), ("abcd", "d"), ("ca", "dcba")]
            .iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect();
        let vocab = Vocab::from_pairs(&pairs);
        let data = Pairs::encode(&vocab, &pairs);
        (vocab, data)
    }

    fn check(config: Seq2SeqConfig, seed: u64) {
        let (_, data) = data();
        let mut model = Seq2Seq::<f64>::new(config, &mut optim::rng(seed)).unwrap();
        let batch = Batch::new(&data, &[0, 1, 2]).unwrap();
        let report = check_parameters(
            &mut model,
            GradCheck::default(),
            |m| m.forward(&batch).unwrap(),
            |m| {
                let l = m.forward(&batch).unwrap();
                m.backward(&batch).unwrap();
                l
            },
        );
        report.assert_below(1e-6);
    }

    fn config(attention: AttentionKind, cell: CellKind, bidi: bool) -> Seq2SeqConfig {
        let (vocab, _) = data();
        let mut c = Seq2SeqConfig::new(vocab, 3, 4, attention);
        c.cell = cell;
        c.bidirectional = bidi;
        c.decoder_hidden = if bidi { 8 } else { 4 };
        c.attention_dim = 5;
        c
    }

    #[test]
    fn every_attention_form_gru_bidirectional() {
        for (i, kind) in [
            AttentionKind::Additive,
            AttentionKind::General,
            AttentionKind::Dot,
            AttentionKind::None,
        ]
        .into_iter()
        .enumerate()
        {
            check(config(kind, CellKind::Gru, true), i as u64);
        }
    }

    #[test]
    fn lstm_unidirectional_additive_and_general() {
        check(config(AttentionKind::Additive, CellKind::Lstm, false), 7);
        check(config(AttentionKind::General, CellKind::Lstm, false), 8);
    }

    #[test]
    fn stacked_encoder_and_decoder() {
        let mut c = config(AttentionKind::Additive, CellKind::Gru, true);
        c.layers = 2;
        c.decoder_layers = 2;
        c.decoder_hidden = 5;
        check(c, 11);
        let mut c = config(AttentionKind::Dot, CellKind::Lstm, true);
        c.layers = 2;
        c.decoder_layers = 2;
        check(c, 12);
    }
}
