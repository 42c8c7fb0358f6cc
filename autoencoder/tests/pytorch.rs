//! Agreement with PyTorch (float64): losses and every parameter's gradient for fixed inputs and
//! weights. Fixture made by `tests/fixtures/make_fixtures.py` (committed), read here without
//! Python.

use autoencoder::{Autoencoder, AutoencoderConfig, Corruption, Vae, VaeConfig};
use optim::testing::matrix;
use optim::{Activation, Parameters};
use serde_json::Value;

fn fixture() -> Value {
    optim::testing::fixture(env!("CARGO_MANIFEST_DIR"), "torch_reference.json")
}

fn set_params(model: &mut dyn Parameters<f64>, case: &Value) {
    let params = case["params"].as_object().unwrap();
    let mut seen = 0;
    model.visit_params(&mut |name, p| {
        let v = matrix(
            params
                .get(name)
                .unwrap_or_else(|| panic!("fixture lacks {name}")),
        );
        assert_eq!(v.shape(), p.value.shape(), "{name}");
        p.value.copy_from(&v);
        seen += 1;
    });
    assert_eq!(
        seen,
        params.len(),
        "the model and the fixture list the same parameters"
    );
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / (a.abs() + b.abs()).max(1e-12)
}

fn compare_grads(model: &mut dyn Parameters<f64>, case: &Value, label: &str) {
    let grads = case["grads"].as_object().unwrap();
    model.visit_params(&mut |name, p| {
        let want = matrix(&grads[name]);
        let err = (&p.grad - &want).abs().max() / want.abs().max().max(1e-12);
        assert!(
            err < 1e-10,
            "{label}: gradient of {name} differs from PyTorch by {err:e}"
        );
    });
}

fn check_ae(name: &str, config: AutoencoderConfig) {
    let fx = fixture();
    let case = &fx["cases"][name];
    let x = matrix(&case["x"]);
    let input = case.get("input").map(matrix).unwrap_or_else(|| x.clone());
    let mut model = Autoencoder::<f64>::new(config, &mut optim::rng(0)).unwrap();
    set_params(&mut model, case);
    optim::zero_grad(&mut model);
    let parts = model.forward_loss(&input, &x).unwrap();
    model.backward().unwrap();
    let want = case["loss"].as_f64().unwrap();
    assert!(
        rel(parts.total, want) < 1e-12,
        "{name}: loss {} vs PyTorch {want}",
        parts.total
    );
    if let Some(p) = case.get("penalty") {
        assert!(
            rel(parts.penalty, p.as_f64().unwrap()) < 1e-12,
            "{name}: penalty"
        );
    }
    compare_grads(&mut model, case, name);
}

fn two_layer(act: Activation) -> AutoencoderConfig {
    AutoencoderConfig::symmetric(6, &[5], 3, act)
}

#[test]
fn plain_autoencoder_mse() {
    check_ae("plain_tanh_mse", two_layer(Activation::Tanh));
}

#[test]
fn plain_autoencoder_bce() {
    check_ae("plain_sigmoid_bce", two_layer(Activation::Sigmoid).bce());
}

#[test]
fn tied_autoencoder() {
    check_ae("tied_tanh_mse", two_layer(Activation::Tanh).tied());
}

#[test]
fn sparse_autoencoder() {
    check_ae(
        "sparse_tanh_mse",
        two_layer(Activation::Tanh).sparse(0.1, 0.7),
    );
}

#[test]
fn denoising_autoencoder_with_the_fixture_mask() {
    check_ae(
        "denoising_tanh_mse",
        two_layer(Activation::Tanh).denoising(Corruption::Masking { fraction: 0.3 }),
    );
}

#[test]
fn contractive_autoencoder_against_autograd_jacobian() {
    let config = AutoencoderConfig::symmetric(6, &[], 3, Activation::Sigmoid).contractive(0.5);
    check_ae("contractive_sigmoid_mse", config);
}

fn check_vae(name: &str, config: VaeConfig) {
    let fx = fixture();
    let case = &fx["cases"][name];
    let x = matrix(&case["x"]);
    let eps = matrix(&case["eps"]);
    let mut model = Vae::<f64>::new(config, &mut optim::rng(0)).unwrap();
    set_params(&mut model, case);
    optim::zero_grad(&mut model);
    let parts = model.forward_loss(&x, &eps).unwrap();
    model.backward().unwrap();
    let want = case["loss"].as_f64().unwrap();
    assert!(
        rel(parts.total, want) < 1e-12,
        "{name}: loss {} vs PyTorch {want}",
        parts.total
    );
    assert!(
        rel(parts.penalty, case["penalty"].as_f64().unwrap()) < 1e-12,
        "{name}: KL"
    );
    compare_grads(&mut model, case, name);
}

#[test]
fn vae_negative_elbo_with_fixed_noise() {
    check_vae(
        "vae_tanh_bce",
        VaeConfig::symmetric(6, &[5], 2, Activation::Tanh).bce(),
    );
    check_vae(
        "vae_tanh_mse",
        VaeConfig::symmetric(6, &[5], 2, Activation::Tanh),
    );
}
