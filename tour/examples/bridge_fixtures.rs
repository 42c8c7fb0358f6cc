//! Writes `python/tests/fixtures/ours/`: small models of every kind the PyTorch bridge reads
//! (`python/inductive_torch`), saved by the Rust crates in `f64`, with a fixed input each and
//! the Rust model's output on it (`cases.json`; the format is in `tests/bridge/mod.rs`). The
//! Python tests load each file into the equivalent `torch.nn.Module` and compare outputs.
//!
//! ```text
//! cargo run -p inductive-tour --example bridge_fixtures
//! ```
//!
//! Every parameter is moved off its initial value and batch norm's running statistics are set
//! away from 0 and 1, so a tensor read into the wrong place shows in the outputs.

#[path = "../tests/bridge/mod.rs"]
mod bridge;

use cnn::{Cnn, ImageShape, net::LayerSpec};
use mlp::Config;
use optim::checkpoint::save_model;
use optim::{Activation, Parameters};
use rand::{Rng, RngCore};
use rnn::seq2seq::{AttentionKind, Seq2Seq, Seq2SeqConfig, Vocab};
use rnn::{CellKind, Encoding, ModelConfig, Readout, RnnConfig, SeqModel};
use serde_json::{Value, json};
use transformer::seq2seq::{EncDecConfig, EncoderDecoder};
use transformer::{Gpt, GptConfig, NormPlacement, Positions};

/// Adds `0.2·U(−1, 1)` to every parameter and sets running means in `U(−0.5, 0.5)`, running
/// variances in `U(0.5, 1.5)`.
fn perturb(model: &mut dyn Parameters<f64>, rng: &mut impl Rng) {
    model.visit_params(&mut |_, p| {
        p.value
            .iter_mut()
            .for_each(|v| *v += 0.2 * rng.random_range(-1.0..1.0));
    });
    model.visit_buffers(&mut |name, m| {
        let (lo, hi) = if name.ends_with("running_var") {
            (0.5, 1.5)
        } else {
            (-0.5, 0.5)
        };
        m.iter_mut().for_each(|v| *v = rng.random_range(lo..hi));
    });
}

fn rows(rng: &mut impl Rng, b: usize, n: usize) -> Value {
    json!(
        (0..b)
            .map(|_| (0..n)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect::<Vec<f64>>())
            .collect::<Vec<_>>()
    )
}

fn ids(rng: &mut impl Rng, outer: usize, inner: usize, vocab: usize) -> Value {
    json!(
        (0..outer)
            .map(|_| (0..inner)
                .map(|_| rng.random_range(0..vocab))
                .collect::<Vec<usize>>())
            .collect::<Vec<_>>()
    )
}

/// `{"sources", "targets"}` of an encoder–decoder case: sequences of the given lengths of ids
/// in `lo..hi`.
fn pairs(rng: &mut impl Rng, src: &[usize], tgt: &[usize], (lo, hi): (usize, usize)) -> Value {
    let mut seqs = |lens: &[usize]| -> Vec<Vec<usize>> {
        lens.iter()
            .map(|&n| (0..n).map(|_| rng.random_range(lo..hi)).collect())
            .collect()
    };
    let sources = seqs(src);
    let targets = seqs(tgt);
    json!({"sources": sources, "targets": targets})
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = bridge::folder("ours");
    std::fs::create_dir_all(&dir)?;
    let mut rng = optim::rng(21);
    let mut cases = Vec::new();
    let mut add = |name: &str, kind: &str, input: Value| -> optim::Result<()> {
        let file = dir.join(format!("{name}.safetensors"));
        let output = bridge::evaluate(kind, &file, &input)?;
        cases.push(
            json!({"name": name, "kind": kind, "file": format!("{name}.safetensors"),
                          "input": input, "output": output}),
        );
        Ok(())
    };

    // MLPs: batch norm + dropout + tanh; a plain leaky-ReLU regressor
    let mut m = Config::classifier(5, &[8, 6], 3)
        .activation(Activation::Tanh)
        .batch_norm(true)
        .dropout(0.1)
        .init::<f64>(&mut rng)?;
    perturb(&mut m, &mut rng);
    m.save(dir.join("mlp_batchnorm.safetensors"))?;
    add("mlp_batchnorm", "mlp", rows(&mut rng, 4, 5))?;
    let mut m = Config::regressor(3, &[7], 2)
        .activation(Activation::LeakyRelu(0.1))
        .init::<f64>(&mut rng)?;
    perturb(&mut m, &mut rng);
    m.save(dir.join("mlp_leaky.safetensors"))?;
    add("mlp_leaky", "mlp", rows(&mut rng, 3, 3))?;

    // CNNs: conv + batch norm + max pool + a downsampling residual block + dropout + dense;
    // conv + identity residual block + padded average pool + global average pool + dense
    let mut net = Cnn::<f64>::builder(ImageShape::new(2, 6, 6))
        .conv(4, 3, 1, 1, &mut rng)?
        .batch_norm()?
        .relu()
        .max_pool(2, 2)?
        .residual(6, 2, &mut rng)?
        .dropout(0.2)?
        .flatten()
        .dense(5, &mut rng)?
        .build();
    perturb(&mut net, &mut rng);
    save_model(dir.join("cnn_residual.safetensors"), &mut net, &[])?;
    add("cnn_residual", "cnn", rows(&mut rng, 3, 2 * 6 * 6))?;
    let avg = LayerSpec::AvgPool {
        kernel: (2, 2),
        stride: (1, 1),
        padding: (1, 1),
        count_include_pad: false,
    };
    let mut net = Cnn::<f64>::builder(ImageShape::new(1, 5, 5))
        .conv(3, 3, 1, 0, &mut rng)?
        .residual(3, 1, &mut rng)?
        .layer(avg, &mut rng as &mut dyn RngCore)?
        .global_avg_pool()?
        .dense(4, &mut rng)?
        .build()
        // the training augmentation is part of the stored config (issue 22): the bridge keeps it
        .with_augmentation(Some(optim::augment::Augment {
            max_shift: 1,
            max_rotation_degrees: 10.0,
        }))?;
    perturb(&mut net, &mut rng);
    save_model(dir.join("cnn_avgpool.safetensors"), &mut net, &[])?;
    add("cnn_avgpool", "cnn", rows(&mut rng, 2, 25))?;

    // recurrent models: 2-layer bidirectional LSTM (dense, last step); GRU over an embedding
    // (every step); one-hot tanh RNN (last step)
    let lstm = ModelConfig {
        rnn: RnnConfig::new(CellKind::Lstm, 3, 4)
            .layers(2)
            .bidirectional(true),
        encoding: Encoding::Dense,
        outputs: 2,
        readout: Readout::Last,
    };
    let gru = ModelConfig {
        rnn: RnnConfig::new(CellKind::Gru, 4, 5),
        encoding: Encoding::Embedding { vocab: 7, dim: 4 },
        outputs: 7,
        readout: Readout::Every,
    };
    let tanh = ModelConfig {
        rnn: RnnConfig::new(CellKind::Tanh, 6, 3).layers(2),
        encoding: Encoding::OneHot(6),
        outputs: 2,
        readout: Readout::Last,
    };
    for (name, config) in [("rnn_lstm", lstm), ("rnn_gru", gru), ("rnn_tanh", tanh)] {
        let dense = config.encoding == Encoding::Dense;
        let mut model = SeqModel::<f64>::new(config, &mut rng)?;
        perturb(&mut model, &mut rng);
        save_model(dir.join(format!("{name}.safetensors")), &mut model, &[])?;
        let (t, b) = (5, 3);
        let input = if dense {
            json!((0..t).map(|_| rows(&mut rng, b, 3)).collect::<Vec<_>>())
        } else {
            ids(&mut rng, t, b, if name == "rnn_gru" { 7 } else { 6 })
        };
        add(name, "rnn", input)?;
    }

    // GPTs: the default (tied, pre-LN, learned positions, GELU); untied post-LN with
    // sinusoidal positions and ReLU
    let small = GptConfig::new(11, 6)
        .with_width(8)
        .with_heads(2)
        .with_layers(2)
        .with_ff_width(16);
    let other = small
        .clone()
        .with_tied(false)
        .with_norm(NormPlacement::PostLn)
        .with_positions(Positions::Sinusoidal)
        .with_activation(Activation::Relu);
    for (name, config) in [("gpt_tied", small), ("gpt_untied", other)] {
        let mut gpt = Gpt::<f64>::new(&config, &mut rng)?;
        perturb(&mut gpt, &mut rng);
        save_model(dir.join(format!("{name}.safetensors")), &mut gpt, &[])?;
        add(name, "gpt", ids(&mut rng, 2, 6, 11))?;
    }

    // recurrent encoder–decoders (rnn::seq2seq): bidirectional GRU with additive attention;
    // a 2-layer LSTM encoder and 2-layer decoder with general attention; a 2-layer
    // bidirectional GRU with dot attention; a bidirectional tanh RNN without attention. Sources
    // of unequal lengths, so the padding and the reverse direction's reading are exercised.
    let vocab = Vocab::from_texts(["abcdef"]);
    let base = |cell, attention| {
        let mut c = Seq2SeqConfig::new(vocab.clone(), 4, 5, attention);
        c.cell = cell;
        c.attention_dim = 3;
        c.max_len = 16;
        c
    };
    let gru_additive = base(CellKind::Gru, AttentionKind::Additive);
    let mut lstm_general = base(CellKind::Lstm, AttentionKind::General);
    lstm_general.bidirectional = false;
    lstm_general.layers = 2;
    lstm_general.decoder_hidden = 6;
    lstm_general.decoder_layers = 2;
    let mut gru_dot = base(CellKind::Gru, AttentionKind::Dot);
    gru_dot.layers = 2;
    let tanh_none = base(CellKind::Tanh, AttentionKind::None);
    for (name, config) in [
        ("seq2seq_gru_additive", gru_additive),
        ("seq2seq_lstm_general", lstm_general),
        ("seq2seq_gru_dot", gru_dot),
        ("seq2seq_tanh_none", tanh_none),
    ] {
        let mut model = Seq2Seq::<f64>::new(config, &mut rng)?;
        perturb(&mut model, &mut rng);
        save_model(dir.join(format!("{name}.safetensors")), &mut model, &[])?;
        add(
            name,
            "seq2seq",
            pairs(&mut rng, &[4, 2, 3], &[3, 1, 4], (3, 10)),
        )?;
    }

    // Transformer encoder–decoders: post-LN ReLU (the default), pre-LN GELU
    let post = EncDecConfig::new(6, 8, 5)
        .with_width(8)
        .with_heads(2)
        .with_layers(2, 2)
        .with_ff_width(16);
    let pre = post
        .clone()
        .with_layers(1, 2)
        .with_norm(NormPlacement::PreLn)
        .with_activation(Activation::Gelu);
    for (name, config) in [("encdec_post_ln", post), ("encdec_pre_ln", pre)] {
        let mut model = EncoderDecoder::<f64>::new(&config, &mut rng)?;
        perturb(&mut model, &mut rng);
        save_model(dir.join(format!("{name}.safetensors")), &mut model, &[])?;
        add(
            name,
            "encoder_decoder",
            pairs(&mut rng, &[5, 2, 3], &[4, 1, 2], (0, 6)),
        )?;
    }

    let path = dir.join("cases.json");
    std::fs::write(&path, serde_json::to_string(&json!({ "cases": cases }))?)?;
    println!("wrote {} cases to {}", cases.len(), path.display());
    Ok(())
}
