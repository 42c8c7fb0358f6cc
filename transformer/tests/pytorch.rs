//! Kind 3: agreement with PyTorch. `tests/fixtures/make_fixtures.py` computed, in float64,
//! `nn.MultiheadAttention` (causal mask, key padding, both), `nn.LayerNorm` and
//! `nn.TransformerEncoderLayer` (`norm_first` both ways, ReLU and GELU) on fixed inputs and
//! weights, with the loss `Σ Y ⊙ R`; the outputs, attention weights, every parameter gradient
//! and the input gradient must match to 1e-10 here (the issue asks for 1e-6).
//! `tests/fixtures/make_gpt_state_dict.py` wrote a whole character GPT's PyTorch `state_dict`
//! as safetensors; it loads into [`transformer::Gpt`] by name and gives PyTorch's logits.

use optim::testing::{assert_close, fixture, matrix};
use optim::{Activation, Mat, Parameters};
use serde_json::Value;
use transformer::{
    BlockConfig, LayerNorm, Mask, MultiHeadAttention, NormPlacement, SeqShape, TransformerBlock,
};

const TOL: f64 = 1e-10;

fn reference() -> Value {
    fixture(env!("CARGO_MANIFEST_DIR"), "torch_reference.json")
}

/// Sets every parameter from the fixture's `params` by PyTorch name.
fn load(model: &mut dyn Parameters<f64>, params: &Value) {
    let mut loaded = 0;
    model.visit_params(&mut |name, p| {
        let value = matrix(&params[name]);
        assert_eq!(value.shape(), p.value.shape(), "{name}");
        p.value = value;
        loaded += 1;
    });
    assert_eq!(
        loaded,
        params.as_object().unwrap().len(),
        "every PyTorch parameter used"
    );
}

/// Compares every parameter gradient with the fixture's `grads`.
fn compare_grads(model: &mut dyn Parameters<f64>, grads: &Value, what: &str) {
    model.visit_params(&mut |name, p| {
        let want = matrix(&grads[name]);
        assert_close(
            &format!("{what} ∂L/∂{name}"),
            p.grad.as_slice(),
            want.as_slice(),
            TOL,
        );
    });
}

fn shape(r: &Value) -> SeqShape {
    SeqShape::new(
        r["len"].as_u64().unwrap() as usize,
        r["batch"].as_u64().unwrap() as usize,
    )
}

#[test]
fn multihead_attention_matches_torch() {
    let r = reference();
    let (d, heads) = (
        r["width"].as_u64().unwrap() as usize,
        r["heads"].as_u64().unwrap() as usize,
    );
    let shape = shape(&r);
    for (i, case) in r["mha"].as_array().unwrap().iter().enumerate() {
        let what = format!("MultiheadAttention case {i}");
        let mut mha = MultiHeadAttention::<f64>::new(d, heads, &mut optim::rng(0)).unwrap();
        load(&mut mha, &case["params"]);
        let padding: Option<Vec<bool>> = case["padding"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_bool().unwrap()).collect());
        let mask = Mask {
            causal: case["causal"].as_bool().unwrap(),
            key_padding: padding.as_deref(),
        };
        let x = matrix(&case["x"]);
        let y = mha.forward(&x, shape, mask).unwrap();
        assert_close(
            &format!("{what} output"),
            y.as_slice(),
            matrix(&case["y"]).as_slice(),
            TOL,
        );
        let (_, weights) = mha.predict_with_weights(&x, shape, mask).unwrap();
        for b in 0..shape.batch {
            for h in 0..heads {
                let want = matrix(&case["weights"][b][h]);
                assert_close(
                    &format!("{what} weights {b} {h}"),
                    weights[b * heads + h].as_slice(),
                    want.as_slice(),
                    TOL,
                );
            }
        }
        let dx = mha.backward(&matrix(&case["r"])).unwrap();
        assert_close(
            &format!("{what} ∂L/∂x"),
            dx.as_slice(),
            matrix(&case["dx"]).as_slice(),
            TOL,
        );
        compare_grads(&mut mha, &case["grads"], &what);
    }
}

#[test]
fn layer_norm_matches_torch() {
    let case = &reference()["layer_norm"];
    let x = matrix(&case["x"]);
    let mut norm = LayerNorm::<f64>::new(x.nrows());
    load(&mut norm, &case["params"]);
    let y = norm.forward(&x).unwrap();
    assert_close(
        "LayerNorm output",
        y.as_slice(),
        matrix(&case["y"]).as_slice(),
        TOL,
    );
    assert_close(
        "LayerNorm predict",
        norm.predict(&x).unwrap().as_slice(),
        y.as_slice(),
        1e-14,
    );
    let dx = norm.backward(&matrix(&case["r"])).unwrap();
    assert_close(
        "LayerNorm ∂L/∂x",
        dx.as_slice(),
        matrix(&case["dx"]).as_slice(),
        TOL,
    );
    compare_grads(&mut norm, &case["grads"], "LayerNorm");
}

#[test]
fn transformer_encoder_layer_matches_torch() {
    let r = reference();
    let (d, heads) = (
        r["width"].as_u64().unwrap() as usize,
        r["heads"].as_u64().unwrap() as usize,
    );
    let shape = shape(&r);
    for case in r["encoder_layer"].as_array().unwrap() {
        let norm_first = case["norm_first"].as_bool().unwrap();
        let activation = match case["activation"].as_str().unwrap() {
            "relu" => Activation::Relu,
            _ => Activation::Gelu,
        };
        let what = format!("TransformerEncoderLayer norm_first={norm_first} {activation:?}");
        let config = BlockConfig::new(d, heads)
            .with_ff_width(case["ff"].as_u64().unwrap() as usize)
            .with_activation(activation)
            .with_norm(if norm_first {
                NormPlacement::PreLn
            } else {
                NormPlacement::PostLn
            });
        let mut block = TransformerBlock::<f64>::new(&config, &mut optim::rng(0)).unwrap();
        load(&mut block, &case["params"]);
        let x = matrix(&case["x"]);
        let y = block.forward(&x, shape, Mask::causal(), None).unwrap();
        assert_close(
            &format!("{what} output"),
            y.as_slice(),
            matrix(&case["y"]).as_slice(),
            TOL,
        );
        let p: Mat<f64> = block.predict(&x, shape, Mask::causal()).unwrap();
        assert_close(
            &format!("{what} predict"),
            p.as_slice(),
            y.as_slice(),
            1e-12,
        );
        let dx = block.backward(&matrix(&case["r"])).unwrap();
        assert_close(
            &format!("{what} ∂L/∂x"),
            dx.as_slice(),
            matrix(&case["dx"]).as_slice(),
            TOL,
        );
        compare_grads(&mut block, &case["grads"], &what);
    }
}

/// A PyTorch GPT (`nn.ModuleList` of pre-LN `nn.TransformerEncoderLayer`s named `blocks`, token
/// and position `nn.Embedding`s, a final `nn.LayerNorm`, tied output) saved with
/// `safetensors.torch.save_file(model.state_dict())` loads by name — nothing renamed or
/// transposed — and gives PyTorch's logits on two sequences.
#[test]
fn a_pytorch_gpt_state_dict_loads_by_name() {
    use transformer::{Gpt, GptConfig};
    let want = fixture(env!("CARGO_MANIFEST_DIR"), "gpt_logits.json");
    let c = &want["config"];
    let n = |k: &str| c[k].as_u64().unwrap() as usize;
    let config = GptConfig::new(n("vocab"), n("context"))
        .with_width(n("width"))
        .with_heads(n("heads"))
        .with_layers(n("layers"))
        .with_ff_width(n("ff_width"))
        .with_activation(Activation::Gelu);
    let mut gpt = Gpt::<f64>::new(&config, &mut optim::rng(0)).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gpt_state_dict.safetensors");
    optim::checkpoint::load(&path, &mut gpt).unwrap();
    let rows: Vec<Vec<usize>> = serde_json::from_value(want["ids"].clone()).unwrap();
    let (b, t) = (rows.len(), rows[0].len());
    // column b*T + t, as the fixture's logits
    let ids: Vec<usize> = rows.concat();
    let logits = gpt.logits(&ids, SeqShape::new(t, b)).unwrap();
    let expected = matrix(&want["logits"]);
    assert_eq!(logits.shape(), expected.shape());
    assert_close("GPT logits", logits.as_slice(), expected.as_slice(), TOL);
    // and a model left at its own initialization does not pass by accident
    let fresh = Gpt::<f64>::new(&config, &mut optim::rng(0)).unwrap();
    let other = fresh.logits(&ids, SeqShape::new(t, b)).unwrap();
    let gap = other
        .iter()
        .zip(expected.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        gap > 1e-3,
        "an unloaded model is {gap} from PyTorch's logits"
    );
}
