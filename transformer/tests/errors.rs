//! Errors for every bad input a user can give: context longer than the maximum, heads that do
//! not divide the width, token ids outside the vocabulary, empty or too-short corpora, bad
//! sampling settings, and checkpoints whose configuration asks for more than they hold.

use optim::Mat;
use optim::train::{TrainConfig, Trainable};
use transformer::data::{TokenWindows, split_tokens};
use transformer::{
    BlockConfig, Gpt, GptConfig, LayerNorm, Mask, MultiHeadAttention, Sampling, SeqShape,
};

fn model() -> Gpt<f32> {
    Gpt::new(
        &GptConfig::new(5, 4).with_width(8).with_heads(2),
        &mut optim::rng(0),
    )
    .unwrap()
}

fn message<T: std::fmt::Debug>(r: optim::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn heads_must_divide_the_width() {
    let m = message(Gpt::<f32>::new(
        &GptConfig::new(5, 4).with_width(6).with_heads(4),
        &mut optim::rng(0),
    ));
    assert!(
        m.contains("heads") && m.contains("divide the width 6"),
        "{m}"
    );
    assert!(
        message(MultiHeadAttention::<f32>::new(6, 0, &mut optim::rng(0))).contains("at least 1")
    );
    assert!(BlockConfig::new(8, 3).validate().is_err());
    assert!(BlockConfig::new(8, 2).with_dropout(1.0).validate().is_err());
    assert!(GptConfig::new(0, 4).validate().is_err());
    assert!(GptConfig::new(5, 0).validate().is_err());
}

#[test]
fn context_longer_than_the_maximum() {
    let m = model();
    let e = message(m.logits(&[0; 5], SeqShape::new(5, 1)));
    assert!(
        e.contains("longer than the model's maximum context of 4"),
        "{e}"
    );
    let long = TokenWindows::all(vec![0; 20], 6).unwrap();
    let e = message(m.check_data(&long, "training data"));
    assert!(
        e.contains("training data") && e.contains("maximum context"),
        "{e}"
    );
}

#[test]
fn token_ids_outside_the_vocabulary() {
    let mut m = model();
    let e = message(m.logits(&[0, 1, 7, 2], SeqShape::new(4, 1)));
    assert!(
        e.contains("token id 7 at position 2") && e.contains("vocabulary of 5"),
        "{e}"
    );
    let e = message(m.loss_and_backward(&[0, 1, 2, 3], &[1, 2, 3, 9], SeqShape::new(4, 1), None));
    assert!(e.contains("targets") && e.contains("token id 9"), "{e}");
    let data = TokenWindows::all(vec![0, 1, 2, 3, 4, 5, 1], 4).unwrap();
    let e = message(m.fit(
        &data,
        None,
        &mut optim::Adam::new(1e-3).unwrap(),
        &TrainConfig::new(1, 2),
        &mut |_| {},
    ));
    assert!(e.contains("token id 5 at position 5"), "{e}");
    assert!(message(m.generate(&[6], 3, &Sampling::Greedy, &mut optim::rng(0))).contains("prompt"));
}

#[test]
fn empty_or_too_short_corpus() {
    assert!(message(TokenWindows::all(vec![], 4)).contains("empty corpus"));
    let e = message(TokenWindows::chunks(vec![0, 1, 2, 3], 4));
    assert!(
        e.contains("4 token(s) is too short for a context of 4") && e.contains("needs 5"),
        "{e}"
    );
    assert!(TokenWindows::strided(vec![0; 10], 4, 0).is_err());
    assert!(TokenWindows::random(vec![0; 10], 4, 0, &mut optim::rng(0)).is_err());
    assert!(TokenWindows::all(vec![0; 10], 0).is_err());
    assert!(split_tokens(&[0; 10], 1.0).is_err());
    let e = message(model().generate(&[], 3, &Sampling::Greedy, &mut optim::rng(0)));
    assert!(e.contains("prompt of at least one token"), "{e}");
}

#[test]
fn shapes_and_masks_that_do_not_fit() {
    let mha = MultiHeadAttention::<f64>::new(4, 2, &mut optim::rng(0)).unwrap();
    let x = Mat::zeros(4, 6);
    assert!(message(mha.predict(&x, SeqShape::new(4, 2), Mask::none())).contains("shape mismatch"));
    assert!(message(mha.predict(&x, SeqShape::new(0, 2), Mask::none())).contains("empty input"));
    let pad = [false; 5];
    let e = message(mha.predict(&x, SeqShape::new(3, 2), Mask::causal().with_padding(&pad)));
    assert!(e.contains("5 flags for 6 positions"), "{e}");
    let mut norm = LayerNorm::<f64>::new(3);
    assert!(norm.forward(&Mat::zeros(2, 1)).is_err());
    norm.forward(&Mat::zeros(3, 2)).unwrap();
    assert!(norm.backward(&Mat::zeros(3, 1)).is_err());
    assert!(LayerNorm::<f64>::new(3).with_eps(0.0).is_err());
    let mut m = model();
    assert!(m.backward(&Mat::zeros(5, 4)).is_err()); // no forward yet
}

#[test]
fn bad_sampling_settings() {
    let m = model();
    for bad in [
        Sampling::temperature(0.0),
        Sampling::temperature(f64::NAN),
        Sampling::temperature(1.0).with_top_k(0),
        Sampling::temperature(1.0).with_top_p(0.0),
        Sampling::temperature(1.0).with_top_p(1.5),
    ] {
        assert!(
            m.generate(&[0], 2, &bad, &mut optim::rng(0)).is_err(),
            "{bad:?}"
        );
    }
    assert!(
        Sampling::Greedy
            .choose(&[0.0f64, f64::NAN], &mut optim::rng(0))
            .is_err()
    );
}

#[test]
fn checkpoint_whose_configuration_is_huge_is_refused_before_allocating() {
    let mut m = model();
    let path = std::env::temp_dir().join(format!(
        "transformer-huge-{}.safetensors",
        std::process::id()
    ));
    optim::checkpoint::save_model(&path, &mut m, &[]).unwrap();
    // rewrite the stored configuration to ask for an enormous model
    let ck = optim::checkpoint::Checkpoint::<f32>::read(&path).unwrap();
    let mut config: GptConfig = ck.config("gpt").unwrap();
    config.width = 1 << 40;
    config.ff_width = 1 << 40;
    let json = serde_json::to_string(&config).unwrap();
    optim::checkpoint::save(&path, &mut m, &[("kind", "gpt".into()), ("config", json)]).unwrap();
    let e = message(optim::checkpoint::load_model::<f32, Gpt<f32>>(&path));
    std::fs::remove_file(&path).ok();
    assert!(
        e.contains("parameters but the file holds only") || e.contains("overflows"),
        "{e}"
    );
    assert_eq!(
        GptConfig::parameter_count(&GptConfig::new(usize::MAX, 4)),
        None
    );
}

#[test]
fn encoder_decoder_errors() {
    use transformer::seq2seq::{EncDecConfig, EncoderDecoder, SeqPairs};
    let config = EncDecConfig::new(4, 6, 3).with_width(8).with_heads(2);
    let mut model = EncoderDecoder::<f64>::new(&config, &mut optim::rng(0)).unwrap();
    // a source longer than the context
    let long = SeqPairs::new(vec![vec![0, 1, 2, 3]], vec![vec![1]]).unwrap();
    let e = model
        .loss_and_backward(&long, &[0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("longer than the model's maximum context of 3"),
        "{e}"
    );
    // a source id outside the vocabulary, named with its position
    let bad = SeqPairs::new(vec![vec![0, 9]], vec![vec![1]]).unwrap();
    let e = model.loss_and_backward(&bad, &[0]).unwrap_err().to_string();
    assert!(e.contains("token id 9 at position 1"), "{e}");
    // a target that does not fit behind bos
    let e = model
        .check_data(
            &SeqPairs::new(vec![vec![0]], vec![vec![1, 1, 1, 1]]).unwrap(),
            "training data",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("target 0 has 4 tokens"), "{e}");
    // empty sources, unequal lists, heads that do not divide the width, bos = eos
    assert!(SeqPairs::new(vec![vec![]], vec![vec![1]]).is_err());
    assert!(SeqPairs::new(vec![vec![1]], vec![]).is_err());
    assert!(EncoderDecoder::<f64>::new(&config.clone().with_heads(3), &mut optim::rng(0)).is_err());
    let mut same = config.clone();
    same.eos = same.bos;
    assert!(EncoderDecoder::<f64>::new(&same, &mut optim::rng(0)).is_err());
    assert!(model.translate(&[], 3).is_err());
    // an oversized configuration is refused before anything is allocated
    let huge = EncDecConfig::new(4, 6, 3)
        .with_width(usize::MAX / 2)
        .with_heads(1);
    assert!(huge.validate().is_err());
}
