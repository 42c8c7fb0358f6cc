//! The chapter's mathematics as properties: vanishing gradients measured, the LSTM's constant
//! error carousel, the bidirectional layer as a forward layer on the reversed sequence, the
//! inference paths agreeing with the training path.

use optim::{Mat, Parameters};
use proptest::prelude::*;
use rand::Rng;
use rnn::{CellKind, Rnn, RnnConfig, RnnState, Seq, jacobian_norms};

fn random_seq(features: usize, steps: usize, batch: usize, seed: u64) -> Seq<f64> {
    let mut rng = optim::rng(seed);
    Seq::new(
        Mat::from_fn(features, steps * batch, |_, _| rng.random_range(-1.0..1.0)),
        steps,
        batch,
    )
    .unwrap()
}

fn spectral_norm(m: &Mat<f64>) -> f64 {
    m.clone().svd(false, false).singular_values.max()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// §7.1: with ‖W_hh‖₂ = ρ < 1 and |tanh'| ≤ 1, ‖∂h_T/∂h_t‖₂ ≤ ρ^{T−t}, so the Frobenius
    /// norm the probe measures is at most √H·ρ^{T−t}: at least geometric decay.
    #[test]
    fn tanh_rnn_gradients_vanish_geometrically(
        seed in 0u64..10_000, rho in 0.3f64..0.95, hidden in 2usize..10, steps in 5usize..40,
    ) {
        let mut rng = optim::rng(seed);
        let mut net = Rnn::<f64>::new(RnnConfig::new(CellKind::Tanh, 3, hidden), &mut rng).unwrap();
        let w = Mat::from_fn(hidden, hidden, |_, _| rng.random_range(-1.0..1.0));
        let w = &w * (rho / spectral_norm(&w));
        net.visit_params(&mut |n, p| if n == "weight_hh_l0" { p.value.copy_from(&w) });
        let x = random_seq(3, steps, 1, seed + 1);
        let norms = jacobian_norms(&net, &x).unwrap();
        prop_assert_eq!(norms.len(), steps + 1);
        prop_assert!((norms[steps] - (hidden as f64).sqrt()).abs() < 1e-9);
        for (t, &g) in norms.iter().enumerate() {
            let bound = (hidden as f64).sqrt() * rho.powi((steps - t) as i32);
            prop_assert!(g <= bound * (1.0 + 1e-9), "t = {}: {} > {}", t, g, bound);
        }
    }
}

/// §7.2: an LSTM whose forget gates sit near 1 (bias 5, σ(5) ≈ 0.993) carries the gradient over
/// 100 steps within a constant factor, where a tanh RNN of the same width loses many orders of
/// magnitude.
#[test]
fn lstm_with_open_forget_gates_keeps_gradients_over_100_steps() {
    let steps = 100;
    let x = random_seq(4, steps, 1, 3);
    let lstm = Rnn::<f64>::new(
        RnnConfig::new(CellKind::Lstm, 4, 16).forget_bias(5.0),
        &mut optim::rng(1),
    )
    .unwrap();
    let norms = jacobian_norms(&lstm, &x).unwrap();
    // t = T is ‖∂h_T/∂h_T‖ = ‖I‖ = √H, not a propagated gradient; over every t < T (one to
    // 100 steps back) the norm stays within a constant factor
    let back = &norms[..steps];
    let (lo, hi) = back
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(
        hi / lo < 5.0,
        "LSTM gradient norms range over a factor {}: {norms:?}",
        hi / lo
    );
    assert!(norms[0] > 0.2 * norms[steps - 1], "{norms:?}");

    let tanh = Rnn::<f64>::new(RnnConfig::new(CellKind::Tanh, 4, 16), &mut optim::rng(1)).unwrap();
    let tn = jacobian_norms(&tanh, &x).unwrap();
    assert!(
        tn[0] < 1e-6 * tn[steps],
        "tanh RNN: ‖∂h_T/∂h_0‖ = {}, ‖∂h_T/∂h_T‖ = {}",
        tn[0],
        tn[steps]
    );
}

/// ‖∂L/∂h_t‖ of an actual loss is recorded for every step, and for a loss on the last step only
/// it equals the Jacobian probe's value.
#[test]
fn loss_gradient_probe_matches_jacobian_probe_for_a_final_state_loss() {
    let x = random_seq(3, 12, 1, 5);
    let mut net = Rnn::<f64>::new(RnnConfig::new(CellKind::Gru, 3, 5), &mut optim::rng(2)).unwrap();
    let jac = jacobian_norms(&net, &x).unwrap();
    // L = Σ_j h_T[j] · v_j with v = e_0: ‖∂L/∂h_t‖ = ‖row 0 of ∂h_T/∂h_t‖ ≤ the Frobenius norm
    net.forward(&x, None).unwrap();
    let mut d = RnnState::zeros(net.config(), 1);
    d.h[0][(0, 0)] = 1.0;
    net.backward(None, Some(&d), false).unwrap();
    let probe = &net.state_grad_norms()[0];
    assert_eq!(probe.len(), 12);
    assert!((probe[11] - 1.0).abs() < 1e-12);
    for t in 0..12 {
        assert!(probe[t] <= jac[t + 1] + 1e-12);
    }
}

/// The reverse direction of a bidirectional layer is a forward layer run on the reversed
/// sequence, its outputs reversed back.
#[test]
fn reverse_direction_is_the_forward_cell_on_the_reversed_sequence() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        let (steps, batch, hidden) = (6, 2, 3);
        let x = random_seq(2, steps, batch, 9);
        let mut bi = Rnn::<f64>::new(
            RnnConfig::new(cell, 2, hidden).bidirectional(true),
            &mut optim::rng(4),
        )
        .unwrap();
        let y = bi.forward(&x, None).unwrap().clone();
        let mut fw = Rnn::<f64>::new(RnnConfig::new(cell, 2, hidden), &mut optim::rng(0)).unwrap();
        // copy the reverse parameters into the forward network
        let mut reverse = Vec::new();
        bi.visit_params(&mut |n, p| {
            if n.ends_with("_reverse") {
                reverse.push(p.value.clone())
            }
        });
        let mut i = 0;
        fw.visit_params(&mut |_, p| {
            p.value = reverse[i].clone();
            i += 1;
        });
        let mut steps_rev = x.to_steps();
        steps_rev.reverse();
        let (yr, _) = fw
            .predict(&Seq::from_steps(&steps_rev).unwrap(), None)
            .unwrap();
        for t in 0..steps {
            let a = y.view((hidden, t * batch), (hidden, batch));
            let b = yr.view((0, (steps - 1 - t) * batch), (hidden, batch));
            assert!((a - b).abs().max() < 1e-12, "{cell:?} t = {t}");
        }
    }
}

/// Running step by step (generation) reproduces the whole-sequence forward pass, for stacked
/// layers and every cell.
#[test]
fn step_by_step_equals_forward() {
    for cell in [
        CellKind::Tanh,
        CellKind::Relu,
        CellKind::Lstm,
        CellKind::Gru,
    ] {
        let config = RnnConfig::new(cell, 3, 4).layers(2);
        let mut net = Rnn::<f64>::new(config.clone(), &mut optim::rng(8)).unwrap();
        let x = random_seq(3, 7, 2, 10);
        let y = net.forward(&x, None).unwrap().clone();
        let mut state = RnnState::zeros(&config, 2);
        for t in 0..7 {
            let h = net.step(&x.step(t), &mut state).unwrap();
            assert!(
                (&h - y.columns(t * 2, 2)).abs().max() < 1e-12,
                "{cell:?} t = {t}"
            );
        }
        assert_eq!(state, net.final_state());
    }
}

/// Sharing parameters across time: the number of parameters does not depend on the length, and
/// a longer sequence's prefix gives the same outputs as the shorter sequence (causality).
#[test]
fn outputs_are_causal_and_parameters_are_shared_across_time() {
    let mut net =
        Rnn::<f64>::new(RnnConfig::new(CellKind::Lstm, 2, 3), &mut optim::rng(6)).unwrap();
    let long = random_seq(2, 10, 2, 1);
    let short = Seq::new(long.data().columns(0, 8).into_owned(), 4, 2).unwrap();
    let (yl, _) = net.predict(&long, None).unwrap();
    let (ys, _) = net.predict(&short, None).unwrap();
    assert!((yl.columns(0, 8) - &ys).abs().max() < 1e-15);
    assert_eq!(optim::param_count(&mut net), 4 * 3 * (2 + 3) + 2 * 4 * 3);
}

// ---- seq2seq (notes §7.3): attention weights, padding, decoders, data

mod seq2seq_props {
    use optim::train::{TrainConfig, Trainable};
    use rand::Rng;
    use rnn::seq2seq::{
        AttentionKind, Batch, DecodeOptions, EOS, PAD, Pairs, Seq2Seq, Seq2SeqConfig, UNK, Vocab,
        add_task, edit_distance, reverse_task, sort_task,
    };

    const FORMS: [AttentionKind; 3] = [
        AttentionKind::Additive,
        AttentionKind::General,
        AttentionKind::Dot,
    ];

    fn setup(kind: AttentionKind, seed: u64) -> (Seq2Seq<f64>, Pairs) {
        let mut rng = optim::rng(seed);
        let pairs = reverse_task(12, 5, 1, 7, &mut rng).unwrap();
        let vocab = Vocab::from_pairs(&pairs);
        let data = Pairs::encode(&vocab, &pairs);
        let mut c = Seq2SeqConfig::new(vocab, 4, 5, kind);
        c.attention_dim = 6;
        (Seq2Seq::new(c, &mut rng).unwrap(), data)
    }

    #[test]
    fn attention_weights_are_a_distribution_over_the_real_positions_only() {
        for (i, kind) in FORMS.into_iter().enumerate() {
            let (mut model, data) = setup(kind, i as u64);
            let idx: Vec<usize> = (0..data.len()).collect();
            let batch = Batch::new(&data, &idx).unwrap();
            assert!(
                batch.src_len.iter().any(|&n| n < batch.src_steps),
                "no padding"
            );
            model.forward(&batch).unwrap();
            for (e, alpha) in model.cache.alpha.iter().enumerate() {
                let n = batch.src_len[e];
                assert_eq!(alpha.shape(), (batch.src_steps, batch.tgt_steps));
                for t in 0..alpha.ncols() {
                    let col = alpha.column(t);
                    assert!(col.iter().all(|&a| a >= 0.0), "{kind:?}: negative weight");
                    let sum: f64 = col.iter().take(n).sum();
                    assert!((sum - 1.0).abs() < 1e-12, "{kind:?}: sum {sum}");
                    assert!(
                        col.iter().skip(n).all(|&a| a == 0.0),
                        "{kind:?}: padding attended"
                    );
                }
            }
            // the decoders return the same kind of rows
            let hyps = model
                .greedy(&[&data.sources[0]], &DecodeOptions::default())
                .unwrap();
            for row in &hyps[0].attention {
                assert_eq!(row.len(), data.sources[0].len());
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn padding_changes_nothing() {
        for (i, kind) in FORMS.into_iter().chain([AttentionKind::None]).enumerate() {
            let (mut model, data) = setup(kind, 10 + i as u64);
            let idx: Vec<usize> = (0..data.len()).collect();
            let batch = Batch::new(&data, &idx).unwrap();
            let loss = model.forward(&batch).unwrap();
            let logits = model.cache.logits.clone();
            // another token in every padded position of the source and the decoder input
            let mut noisy = batch.clone();
            let mut rng = optim::rng(99);
            let v = model.vocab().len();
            for (j, id) in noisy.src.iter_mut().enumerate() {
                if j / batch.batch >= batch.src_len[j % batch.batch] {
                    *id = rng.random_range(0..v);
                }
            }
            for (j, id) in noisy.dec_in.iter_mut().enumerate() {
                if noisy.dec_out[j] == PAD && j >= batch.batch && *id == PAD {
                    *id = rng.random_range(0..v);
                }
            }
            assert_ne!(noisy.src, batch.src);
            let loss2 = model.forward(&noisy).unwrap();
            assert!(
                (loss - loss2).abs() < 1e-13,
                "{kind:?}: loss {loss} vs {loss2}"
            );
            // and every example alone (no padding at all) gives the same logits
            let (b, vv) = (batch.batch, logits.nrows());
            for e in [0, 3, 7] {
                let alone = Batch::new(&data, &[e]).unwrap();
                model.forward(&alone).unwrap();
                for t in 0..alone.tgt_steps {
                    let a = model.cache.logits.column(t);
                    let c = logits.column(t * b + e);
                    let d = (0..vv).map(|k| (a[k] - c[k]).abs()).fold(0.0, f64::max);
                    assert!(d < 1e-12, "{kind:?}: example {e} step {t} differs by {d}");
                }
            }
        }
    }

    fn trained(kind: AttentionKind) -> (Seq2Seq<f64>, Pairs) {
        let (mut model, _) = setup(kind, 5);
        let mut rng = optim::rng(6);
        let pairs = reverse_task(64, 5, 1, 6, &mut rng).unwrap();
        let data = Pairs::encode(model.vocab(), &pairs);
        let mut adam = optim::Adam::new(1e-2).unwrap();
        model
            .fit(
                &data,
                None,
                &mut adam,
                &TrainConfig::new(3, 16),
                &mut |_| {},
            )
            .unwrap();
        (model, data)
    }

    #[test]
    fn beam_of_width_one_is_greedy_and_wider_beams_never_score_below_greedy() {
        for kind in [AttentionKind::Additive, AttentionKind::None] {
            let (model, data) = trained(kind);
            let sources: Vec<&[usize]> = data.sources.iter().map(|s| s.as_slice()).collect();
            for alpha in [0.0, 1.0] {
                let base = DecodeOptions {
                    length_penalty: alpha,
                    max_len: Some(8),
                    ..Default::default()
                };
                let greedy = model.greedy(&sources, &base).unwrap();
                let plain1 = DecodeOptions {
                    beam: 1,
                    keep_greedy: false,
                    ..base
                };
                let beam1 = model.beam_search(&sources, &plain1).unwrap();
                for (g, b) in greedy.iter().zip(&beam1) {
                    assert_eq!(g.tokens, b.tokens);
                    assert!((g.log_prob - b.log_prob).abs() < 1e-12);
                }
                let mut better = 0;
                for k in [2, 5] {
                    let beam = model
                        .beam_search(&sources, &DecodeOptions { beam: k, ..base })
                        .unwrap();
                    for (g, b) in greedy.iter().zip(&beam) {
                        assert!(b.score(alpha) >= g.score(alpha) - 1e-12);
                        better += usize::from(b.score(alpha) > g.score(alpha) + 1e-9);
                        assert!(b.tokens.len() <= 8);
                    }
                }
                println!("{kind:?} α={alpha}: beam strictly better than greedy on {better}");
            }
        }
    }

    #[test]
    fn scheduled_sampling_feeds_predictions_and_still_learns() {
        let (mut model, data) = setup(AttentionKind::Additive, 21);
        let idx: Vec<usize> = (0..data.len()).collect();
        let batch = Batch::new(&data, &idx).unwrap();
        let teacher = model.forward(&batch).unwrap();
        let mut rng = optim::rng(0);
        // p = 0: the trained loss is the teacher-forced loss
        let l0 = model.train_batch(&data, &idx, &mut rng).unwrap().loss;
        assert_eq!(l0, teacher);
        // p = 1: every decoder input after BOS is the model's own prediction
        model.set_sampling(1.0).unwrap();
        let l1 = model.train_batch(&data, &idx, &mut rng).unwrap().loss;
        assert!((l1 - teacher).abs() > 1e-6, "{l1} vs {teacher}");
        assert!(model.set_sampling(-0.1).is_err());
        // training with p = 0.25 still lowers the loss
        let (mut model, _) = setup(AttentionKind::Additive, 22);
        model.set_sampling(0.25).unwrap();
        let pairs = reverse_task(128, 5, 1, 6, &mut optim::rng(23)).unwrap();
        let train = Pairs::encode(model.vocab(), &pairs);
        let mut adam = optim::Adam::new(1e-2).unwrap();
        let h = model
            .fit(
                &train,
                None,
                &mut adam,
                &TrainConfig::new(4, 16),
                &mut |_| {},
            )
            .unwrap();
        let losses = h.train_losses();
        assert!(losses[3] < 0.8 * losses[0], "{losses:?}");
    }

    #[test]
    fn decoding_stops_at_the_length_limit() {
        let (model, data) = setup(AttentionKind::Additive, 3);
        let opts = DecodeOptions {
            max_len: Some(2),
            ..Default::default()
        };
        let sources: Vec<&[usize]> = data.sources.iter().map(|s| s.as_slice()).collect();
        for opts in [opts, DecodeOptions { beam: 3, ..opts }] {
            for h in model.decode(&sources, &opts).unwrap() {
                assert!(h.tokens.len() <= 2);
                assert!(!h.tokens.contains(&EOS) && !h.tokens.contains(&PAD));
                assert_eq!(h.attention.len(), h.tokens.len() + 1);
                assert_eq!(h.truncated, h.tokens.len() == 2 && h.truncated);
            }
        }
    }

    #[test]
    fn vocabulary_round_trips_and_counts_unknown_characters() {
        let pairs = vec![("héllo".to_string(), "olléh".to_string())];
        let vocab = Vocab::from_pairs(&pairs);
        assert_eq!(vocab.len(), 4 + 4);
        let (ids, unknown) = vocab.encode("hello");
        assert_eq!((unknown, ids[1]), (1, UNK));
        assert_eq!(vocab.decode(&ids), "h\u{FFFD}llo");
        let (ids, unknown) = vocab.encode("hél");
        assert_eq!((vocab.decode(&ids).as_str(), unknown), ("hél", 0));
        let data = Pairs::encode(&vocab, &[("xyz".into(), "h".into())]);
        assert_eq!(data.unknown, 3);
        // serialized as its characters
        let json = serde_json::to_string(&vocab).unwrap();
        assert_eq!(json, "\"hloé\"");
        assert_eq!(serde_json::from_str::<Vocab>(&json).unwrap(), vocab);
    }

    #[test]
    fn task_generators_are_correct() {
        let mut rng = optim::rng(1);
        for (s, t) in reverse_task(200, 10, 20, 30, &mut rng).unwrap() {
            assert!((20..=30).contains(&s.len()));
            assert!(s.chars().all(|c| ('a'..='j').contains(&c)));
            assert_eq!(t, s.chars().rev().collect::<String>());
        }
        for (s, t) in sort_task(100, 4, 1, 9, &mut rng).unwrap() {
            let mut v: Vec<char> = s.chars().collect();
            v.sort();
            assert_eq!(t, v.into_iter().collect::<String>());
        }
        let mut longest = 0;
        for (s, t) in add_task(500, 5, &mut rng).unwrap() {
            let (a, b) = s.split_once('+').unwrap();
            longest = longest.max(a.len());
            assert!(a.len() <= 5 && b.len() <= 5);
            assert_eq!(
                a.parse::<u64>().unwrap() + b.parse::<u64>().unwrap(),
                t.parse::<u64>().unwrap()
            );
        }
        assert_eq!(longest, 5);
        assert_eq!(edit_distance(&[1, 2, 3], &[1, 3]), 1);
        assert_eq!(edit_distance(&[], &[4, 5]), 2);
        assert_eq!(edit_distance(&[1, 2], &[2, 1]), 2);
    }
}
