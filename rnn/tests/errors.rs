//! Every bad input a user can give returns an error naming what is wrong; save/load by name.

use optim::checkpoint::{self, Saveable};
use optim::{Mat, Parameters, param_names};
use rnn::tasks::{self, ArModel, CharCorpus, Streams};
use rnn::{
    CellKind, Encoding, Input, ModelConfig, Readout, Rnn, RnnConfig, RnnState, Seq, SeqModel,
};

fn msg<T: std::fmt::Debug>(r: optim::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn sequence_batches_reject_empty_unequal_and_mismatched_inputs() {
    assert!(msg(Seq::<f32>::from_steps(&[])).contains("empty sequence"));
    assert!(msg(Seq::<f32>::new(Mat::zeros(2, 0), 0, 3)).contains("empty sequence"));
    assert!(msg(Seq::<f32>::new(Mat::zeros(2, 5), 2, 3)).contains("2 steps x 3 sequences"));
    let e = msg(Seq::<f32>::from_steps(&[
        Mat::zeros(2, 3),
        Mat::zeros(2, 4),
    ]));
    assert!(e.contains("time step 1"), "{e}");
    let e = msg(Seq::<f32>::from_sequences(&[
        Mat::zeros(2, 5),
        Mat::zeros(2, 4),
    ]));
    assert!(e.contains("unequal length"), "{e}");
    let e = msg(Seq::<f32>::from_sequences(&[
        Mat::zeros(2, 5),
        Mat::zeros(3, 5),
    ]));
    assert!(e.contains("sequence 1"), "{e}");
    let s = Seq::<f64>::from_sequences(&[
        Mat::from_fn(1, 3, |_, t| t as f64),
        Mat::from_fn(1, 3, |_, t| 10.0 + t as f64),
    ])
    .unwrap();
    assert_eq!(s.step(2), Mat::from_row_slice(1, 2, &[2.0, 12.0]));
    assert_eq!(
        s.sequence(1),
        Mat::from_row_slice(1, 3, &[10.0, 11.0, 12.0])
    );
}

#[test]
fn networks_reject_bad_widths_states_values_and_hyperparameters() {
    let mut rng = optim::rng(0);
    assert!(
        msg(Rnn::<f32>::new(
            RnnConfig::new(CellKind::Lstm, 0, 4),
            &mut rng
        ))
        .contains("input")
    );
    assert!(
        msg(Rnn::<f32>::new(
            RnnConfig::new(CellKind::Lstm, 3, 0),
            &mut rng
        ))
        .contains("hidden")
    );
    assert!(
        msg(Rnn::<f32>::new(
            RnnConfig::new(CellKind::Gru, 3, 4).layers(0),
            &mut rng
        ))
        .contains("layers")
    );
    assert!(
        msg(Rnn::<f32>::new(
            RnnConfig::new(CellKind::Lstm, 3, 4).forget_bias(f64::NAN),
            &mut rng
        ))
        .contains("forget_bias")
    );
    let mut net = Rnn::<f32>::new(RnnConfig::new(CellKind::Lstm, 3, 4), &mut rng).unwrap();
    // mismatched input width
    let e = msg(net.forward(&Seq::zeros(2, 5, 1), None).map(|_| ()));
    assert!(e.contains("lstm input"), "{e}");
    // non-finite input, located by step and sequence
    let mut x = Seq::<f32>::zeros(3, 5, 2);
    x.data_mut()[(1, 2 * 2 + 1)] = f32::NAN;
    let e = msg(net.forward(&x, None).map(|_| ()));
    assert!(e.contains("time step 2, sequence 1"), "{e}");
    // initial states of the wrong count or shape
    let x = Seq::<f32>::zeros(3, 5, 2);
    let bad = RnnState {
        h: vec![Mat::zeros(4, 2)],
        c: vec![],
    };
    assert!(msg(net.forward(&x, Some(&bad)).map(|_| ())).contains("cell states"));
    let bad = RnnState {
        h: vec![Mat::zeros(4, 3)],
        c: vec![Mat::zeros(4, 3)],
    };
    assert!(msg(net.forward(&x, Some(&bad)).map(|_| ())).contains("hidden x batch"));
    // backward before forward, wrong gradient shapes, bad truncation
    let mut fresh = Rnn::<f32>::new(RnnConfig::new(CellKind::Tanh, 3, 4), &mut rng).unwrap();
    assert!(msg(fresh.backward(None, None, false)).contains("before forward"));
    net.forward(&x, None).unwrap();
    assert!(msg(net.backward(Some(&Mat::zeros(4, 9)), None, false)).contains("dY"));
    assert!(msg(net.backward_truncated(&Mat::zeros(4, 10), 0, 3, false)).contains("k1"));
    assert!(msg(net.backward_truncated(&Mat::zeros(4, 10), 3, 2, false)).contains("k2"));
    let mut bi = Rnn::<f32>::new(
        RnnConfig::new(CellKind::Gru, 3, 4).bidirectional(true),
        &mut rng,
    )
    .unwrap();
    bi.forward(&x, None).unwrap();
    assert!(msg(bi.backward_truncated(&Mat::zeros(8, 10), 2, 2, false)).contains("unidirectional"));
    let mut state = RnnState::zeros(bi.config(), 2);
    assert!(msg(bi.step(&Mat::zeros(3, 2), &mut state)).contains("bidirectional"));
}

#[test]
fn models_reject_bad_tokens_encodings_and_non_finite_losses() {
    let mut rng = optim::rng(1);
    let bad = ModelConfig {
        rnn: RnnConfig::new(CellKind::Lstm, 5, 4),
        encoding: Encoding::OneHot(6),
        outputs: 6,
        readout: Readout::Every,
    };
    assert!(msg(SeqModel::<f32>::new(bad, &mut rng)).contains("encoding"));
    let cfg = ModelConfig {
        rnn: RnnConfig::new(CellKind::Lstm, 3, 4),
        encoding: Encoding::Embedding { vocab: 6, dim: 3 },
        outputs: 6,
        readout: Readout::Every,
    };
    let mut m = SeqModel::<f32>::new(cfg, &mut rng).unwrap();
    let e = msg(m
        .forward(
            Input::Tokens {
                ids: &[0, 1, 9, 2],
                steps: 2,
                batch: 2,
            },
            None,
        )
        .map(|_| ()));
    assert!(e.contains("id 9 at step 1, sequence 0"), "{e}");
    assert!(
        msg(m
            .forward(
                Input::Tokens {
                    ids: &[0, 1, 2],
                    steps: 2,
                    batch: 2
                },
                None
            )
            .map(|_| ()))
        .contains("3 ids")
    );
    assert!(
        msg(m
            .forward(Input::Dense(&Seq::zeros(3, 2, 2)), None)
            .map(|_| ()))
        .contains("dense input")
    );
    // a loss that turns non-finite stops training with an error
    let mut dense = SeqModel::<f32>::new(
        ModelConfig::dense(CellKind::Tanh, 1, 3, 1, Readout::Last),
        &mut rng,
    )
    .unwrap();
    let mut opt = optim::Adam::new(1e-2).unwrap();
    let x = Seq::zeros(1, 3, 2);
    let y = Mat::from_element(1, 2, f32::INFINITY);
    let e = msg(dense.train_step(
        Input::Dense(&x),
        rnn::Target::Regression(&y),
        &mut opt,
        &Default::default(),
    ));
    assert!(e.contains("non-finite"), "{e}");
    let opts = rnn::StepOptions {
        truncation: Some((2, 2)),
        ..Default::default()
    };
    let y = Mat::zeros(1, 2);
    let e = msg(dense.train_step(
        Input::Dense(&x),
        rnn::Target::Regression(&y),
        &mut opt,
        &opts,
    ));
    assert!(e.contains("readout Every"), "{e}");
}

#[test]
fn task_generators_and_baselines_reject_bad_arguments() {
    let mut rng = optim::rng(2);
    assert!(tasks::adding_problem::<f32>(1, 4, &mut rng).is_err());
    assert!(tasks::copy_task::<f32>(0, 3, 5, 4, &mut rng).is_err());
    assert!(CharCorpus::new("ab", 0.1).is_err());
    assert!(CharCorpus::new("abcdefgh", 1.5).is_err());
    let e = Streams::new(&[1, 2, 3], 2, 4).unwrap_err().to_string();
    assert!(
        e.contains("too short") && e.contains("at least 10 tokens"),
        "{e}"
    );
    assert!(tasks::lag_windows(&[1.0f32, 2.0], 3, 3..4).is_err());
    assert!(ArModel::fit(&[1.0, 2.0, 3.0], 2, 2..3).is_err());
    let corpus = CharCorpus::new("to be or not to be", 0.2).unwrap();
    let model =
        rnn::train::char_model::<f32>(&Default::default(), corpus.vocab.len(), &mut rng).unwrap();
    assert!(tasks::sample_text(&model, &corpus.vocab, "to", 5, 0.0, &mut rng).is_err());
    assert!(tasks::sample_text(&model, &corpus.vocab, "", 5, 1.0, &mut rng).is_err());
    assert!(tasks::sample_text(&model, &corpus.vocab, "xyz", 5, 1.0, &mut rng).is_err());
}

#[test]
fn generators_have_the_stated_structure() {
    let mut rng = optim::rng(3);
    let (x, y) = tasks::adding_problem::<f64>(20, 50, &mut rng).unwrap();
    for b in 0..50 {
        let s = x.sequence(b);
        let marked: Vec<usize> = (0..20).filter(|&t| s[(1, t)] == 1.0).collect();
        assert_eq!(marked.len(), 2);
        assert!(marked[0] < 10 && marked[1] >= 10);
        assert!((y[(0, b)] - s[(0, marked[0])] - s[(0, marked[1])]).abs() < 1e-15);
    }
    let (x, t) = tasks::copy_task::<f64>(4, 3, 5, 7, &mut rng).unwrap();
    assert_eq!((x.features(), x.steps(), x.batch()), (6, 11, 7));
    for b in 0..7 {
        let s = x.sequence(b);
        for k in 0..3 {
            let sym = (0..4).find(|&c| s[(c, k)] == 1.0).unwrap();
            assert_eq!(t[(8 + k) * 7 + b], sym);
        }
        assert_eq!(s[(5, 7)], 1.0, "delimiter at step length + delay − 1");
        assert!((0..8).all(|k| t[k * 7 + b] == 4));
    }
    // AR fit recovers an exact AR(2) recursion
    let mut series = vec![1.0, 0.5];
    for i in 2..60 {
        let v = 0.3 + 0.6 * series[i - 1] - 0.2 * series[i - 2] + (i as f64 * 0.7).sin() * 1e-3;
        series.push(v);
    }
    let ar = ArModel::fit(&series, 2, 2..60).unwrap();
    assert!(
        (ar.coefficients[1] - 0.6).abs() < 0.05 && (ar.coefficients[2] + 0.2).abs() < 0.05,
        "{ar:?}"
    );
    // sampling at a very low temperature is the arg-max
    let logits = [0.1f32, 2.0, 0.5];
    assert!((0..50).all(|_| tasks::sample_logits(&logits, 1e-3, &mut rng) == 1));
    let counts = (0..3000).fold([0usize; 3], |mut c, _| {
        c[tasks::sample_logits(&logits, 1e3, &mut rng)] += 1;
        c
    });
    assert!(
        counts.iter().all(|&c| c > 800),
        "high temperature is near uniform: {counts:?}"
    );
}

#[test]
fn save_and_load_by_pytorch_names() {
    let mut rng = optim::rng(4);
    let cfg = ModelConfig {
        rnn: RnnConfig::new(CellKind::Lstm, 3, 4)
            .layers(2)
            .bidirectional(true),
        encoding: Encoding::Dense,
        outputs: 2,
        readout: Readout::Last,
    };
    let mut a = SeqModel::<f32>::new(cfg.clone(), &mut rng).unwrap();
    let names = param_names(&mut a);
    assert_eq!(
        &names[..8],
        [
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "rnn.weight_ih_l0_reverse",
            "rnn.weight_hh_l0_reverse",
            "rnn.bias_ih_l0_reverse",
            "rnn.bias_hh_l0_reverse",
        ]
    );
    assert_eq!(names.last().unwrap(), "head.bias");
    let dir = std::env::temp_dir().join(format!("rnn-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    checkpoint::save_model(&path, &mut a, &[]).unwrap();
    let b: SeqModel<f32> = checkpoint::load_model(&path).unwrap();
    assert_eq!(b.config(), &cfg);
    let x = Seq::new(Mat::from_fn(3, 10, |i, j| (i + j) as f32 * 0.1), 5, 2).unwrap();
    assert_eq!(
        a.predict(Input::Dense(&x), None).unwrap().0,
        b.predict(Input::Dense(&x), None).unwrap().0
    );
    // a model of another shape refuses the checkpoint and stays unchanged
    let mut c = SeqModel::<f32>::new(
        ModelConfig::dense(CellKind::Lstm, 3, 5, 2, Readout::Last),
        &mut rng,
    )
    .unwrap();
    let before: Vec<Mat<f32>> = {
        let mut v = Vec::new();
        c.visit_params(&mut |_, p| v.push(p.value.clone()));
        v
    };
    assert!(checkpoint::load(&path, &mut c).is_err());
    let mut i = 0;
    c.visit_params(&mut |_, p| {
        assert_eq!(p.value, before[i]);
        i += 1;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_whose_config_asks_for_huge_sizes_is_refused_before_allocation() {
    let cfg = ModelConfig::dense(CellKind::Gru, 3, 4, 2, Readout::Last);
    let mut model = SeqModel::<f32>::new(cfg.clone(), &mut optim::rng(0)).unwrap();
    assert_eq!(
        <SeqModel<f32> as Saveable<f32>>::parameter_count(&cfg),
        Some(optim::param_count(&mut model))
    );
    let dir = std::env::temp_dir().join(format!("rnn-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.safetensors");
    // the small model's weights, with a configuration asking for 10⁶ hidden units (about 12
    // TB of parameters), and one whose count overflows
    let mut huge = cfg.clone();
    huge.rnn.hidden = 1_000_000;
    let mut overflowing = cfg;
    overflowing.rnn.layers = usize::MAX;
    for (config, expect) in [(huge, "asks for"), (overflowing, "overflows")] {
        let json = serde_json::to_string(&config).unwrap();
        checkpoint::save(
            &path,
            &mut model,
            &[
                (checkpoint::KIND_KEY, "rnn".into()),
                (checkpoint::CONFIG_KEY, json),
            ],
        )
        .unwrap();
        let e = msg(checkpoint::load_model::<f32, SeqModel<f32>>(&path));
        assert!(e.contains(expect), "{e}");
    }
    // another kind of model is refused by name
    checkpoint::save(&path, &mut model, &[(checkpoint::KIND_KEY, "mlp".into())]).unwrap();
    assert!(msg(checkpoint::load_model::<f32, SeqModel<f32>>(&path)).contains("\"mlp\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- seq2seq: bad pair files, bad data, bad configurations, save/load by name

mod seq2seq_errors {
    use super::msg;
    use optim::checkpoint::{self, Saveable};
    use optim::param_count;
    use optim::train::{TrainConfig, Trainable};
    use rnn::seq2seq::{
        AttentionKind, DecodeOptions, Pairs, Seq2Seq, Seq2SeqConfig, UNK, Vocab, parse_pairs,
        read_pairs, reverse_task,
    };

    #[test]
    fn pair_files_name_the_bad_line() {
        let ok = parse_pairs("ab\tba\n\ncd\tdc\r\n", 10).unwrap();
        assert_eq!(
            ok,
            vec![("ab".into(), "ba".into()), ("cd".into(), "dc".into())]
        );
        let e = msg(parse_pairs("ab\tba\nno tab here\n", 10));
        assert!(e.contains("line 2") && e.contains("no tab"), "{e}");
        let e = msg(parse_pairs("\tba\n", 10));
        assert!(e.contains("line 1: empty source"), "{e}");
        let e = msg(parse_pairs("ab\t\n", 10));
        assert!(e.contains("line 1: empty target"), "{e}");
        let e = msg(parse_pairs("ab\tba\nabcdef\tx\n", 5));
        assert!(
            e.contains("line 2")
                && e.contains("source of 6 characters")
                && e.contains("limit of 5"),
            "{e}"
        );
        // a third column (Tatoeba's attribution) is ignored
        let ok = parse_pairs(
            "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n",
            20,
        );
        assert_eq!(ok.unwrap(), vec![("Go.".into(), "Va !".into())]);
        let e = msg(read_pairs("/nonexistent/pairs.tsv", 5));
        assert!(e.contains("/nonexistent/pairs.tsv"), "{e}");
    }

    fn model(kind: AttentionKind) -> (Seq2Seq<f32>, Pairs) {
        let mut rng = optim::rng(0);
        let pairs = reverse_task(40, 4, 1, 5, &mut rng).unwrap();
        let vocab = Vocab::from_pairs(&pairs);
        let data = Pairs::encode(&vocab, &pairs);
        let mut c = Seq2SeqConfig::new(vocab, 4, 6, kind);
        c.max_len = 6;
        (Seq2Seq::new(c, &mut rng).unwrap(), data)
    }

    #[test]
    fn unseen_characters_become_unknown_and_are_counted() {
        let (m, _) = model(AttentionKind::Additive);
        let test = Pairs::encode(m.vocab(), &[("abz".into(), "zba".into())]);
        assert_eq!(test.unknown, 2);
        assert_eq!(test.sources[0][2], UNK);
        let metrics = m
            .evaluate_decoding(&test, &DecodeOptions::default())
            .unwrap();
        assert_eq!(metrics.unknown, 2);
    }

    #[test]
    fn data_that_does_not_fit_is_refused_before_training() {
        let (mut m, data) = model(AttentionKind::Dot);
        let mut adam = optim::Adam::new(1e-3).unwrap();
        let tc = TrainConfig::new(1, 8);
        let long = Pairs::encode(m.vocab(), &[("abcdabcd".into(), "a".into())]);
        let e = msg(m.fit(&long, None, &mut adam, &tc, &mut |_| {}));
        assert!(e.contains("longer than max_len 6"), "{e}");
        let mut empty = data.clone();
        empty.targets[3].clear();
        let e = msg(m.fit(&empty, None, &mut adam, &tc, &mut |_| {}));
        assert!(e.contains("example 3: empty target"), "{e}");
        let mut bad = data.clone();
        bad.sources[1][0] = 999;
        let e = msg(m.fit(&bad, None, &mut adam, &tc, &mut |_| {}));
        assert!(e.contains("id 999 outside the vocabulary"), "{e}");
        let e = msg(m.greedy(&[&[]], &DecodeOptions::default()));
        assert!(e.contains("empty"), "{e}");
        let e = msg(m.beam_search(&[&data.sources[0]], &DecodeOptions::beam(0)));
        assert!(e.contains("beam"), "{e}");
    }

    #[test]
    fn bad_configurations_are_refused_before_allocating() {
        let vocab = Vocab::from_texts(["abc"]);
        let mut c = Seq2SeqConfig::new(vocab.clone(), 4, 6, AttentionKind::Dot);
        c.decoder_hidden = 5;
        let e = msg(Seq2Seq::<f32>::new(c, &mut optim::rng(0)));
        assert!(
            e.contains("dot attention needs the encoder's output width 12"),
            "{e}"
        );
        let mut c = Seq2SeqConfig::new(vocab.clone(), 4, 6, AttentionKind::Additive);
        c.sampling = 1.5;
        assert!(msg(Seq2Seq::<f32>::new(c, &mut optim::rng(0))).contains("sampling"));
        let mut c = Seq2SeqConfig::new(vocab.clone(), 0, 6, AttentionKind::Additive);
        assert!(msg(Seq2Seq::<f32>::new(c.clone(), &mut optim::rng(0))).contains("embed"));
        // a configuration asking for 10^12 parameters fails without allocating them
        c.embed = 4;
        c.hidden = 1 << 20;
        c.decoder_hidden = 1 << 20;
        let e = msg(Seq2Seq::<f32>::new(c.clone(), &mut optim::rng(0)));
        assert!(e.contains("refused before allocating"), "{e}");
        c.hidden = usize::MAX / 4;
        assert_eq!(c.parameter_count(), None);
        assert!(msg(Seq2Seq::<f32>::new(c, &mut optim::rng(0))).contains("overflows"));
    }

    #[test]
    fn save_and_load_by_name_decodes_the_same() {
        for kind in [
            AttentionKind::Additive,
            AttentionKind::General,
            AttentionKind::None,
        ] {
            let (mut m, data) = model(kind);
            let mut adam = optim::Adam::new(1e-2).unwrap();
            m.fit(&data, None, &mut adam, &TrainConfig::new(2, 8), &mut |_| {})
                .unwrap();
            assert_eq!(
                Seq2Seq::<f32>::parameter_count(m.config()),
                Some(param_count(&mut m))
            );
            let path = std::env::temp_dir().join(format!(
                "rnn-seq2seq-{}-{}.safetensors",
                kind.name(),
                std::process::id()
            ));
            checkpoint::save_model(&path, &mut m, &[]).unwrap();
            let loaded: Seq2Seq<f32> = checkpoint::load_model(&path).unwrap();
            assert_eq!(loaded.config(), m.config());
            let sources: Vec<&[usize]> = data.sources.iter().map(|s| s.as_slice()).collect();
            let opts = DecodeOptions::beam(3);
            assert_eq!(
                loaded.decode(&sources, &opts).unwrap(),
                m.decode(&sources, &opts).unwrap()
            );
            // another kind of model, or a configuration the file cannot hold, is refused
            let e = msg(checkpoint::load_model::<f32, rnn::SeqModel<f32>>(&path));
            assert!(e.contains("seq2seq"), "{e}");
            std::fs::remove_file(&path).ok();
        }
        let (mut m, _) = model(AttentionKind::Dot);
        let path = std::env::temp_dir().join(format!(
            "rnn-seq2seq-big-{}.safetensors",
            std::process::id()
        ));
        let mut cfg = m.config().clone();
        cfg.hidden = 4096;
        cfg.decoder_hidden = 8192;
        let meta = vec![
            ("kind", "seq2seq".to_string()),
            ("config", serde_json::to_string(&cfg).unwrap()),
        ];
        checkpoint::save(&path, &mut m, &meta).unwrap();
        let e = msg(checkpoint::load_model::<f32, Seq2Seq<f32>>(&path));
        assert!(e.contains("asks for") && e.contains("holds only"), "{e}");
        std::fs::remove_file(&path).ok();
    }
}
