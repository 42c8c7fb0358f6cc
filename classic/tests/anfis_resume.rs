//! Exact resume of ANFIS hybrid learning (issue 14): `N` epochs, a training-state file
//! (`HybridState::save`: the live model before the premise step a longer run takes next, the
//! best epoch's model, every epoch's RMSE in `f64`, the step rule's `κ` and books), a load, and
//! `N` more epochs end bit for bit where `2N` epochs straight do — the model, the epochs' records
//! and the best epoch over the whole run. Jang's step rule changes `κ` within the run.

use classic::anfis::{Anfis, HybridConfig, HybridState, MfKind, StepSize, train_hybrid_resume};
use optim::testing::{TempDir, epoch_records};
use optim::{Mat, Parameters};

const HALF: usize = 12;

fn config(epochs: usize) -> HybridConfig {
    HybridConfig {
        epochs,
        step: StepSize {
            initial: 0.1,
            ..StepSize::default()
        },
        ..HybridConfig::default()
    }
}

fn bits(m: &mut Anfis<f32>) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    m.visit_params(&mut |n, p| {
        out.push((n.to_string(), p.value.iter().map(|v| v.to_bits()).collect()))
    });
    out
}

#[test]
fn hybrid_learning_resumes_bit_for_bit_from_a_file() {
    let x = Mat::<f32>::from_fn(1, 61, |_, j| -3.0 + 0.1 * j as f32);
    let y = x.map(|v| v.sin() + 0.3 * (2.0 * v).cos());
    let check_x = Mat::<f32>::from_fn(1, 20, |_, j| -2.95 + 0.3 * j as f32);
    let check_y = check_x.map(|v| v.sin() + 0.3 * (2.0 * v).cos());
    let check = Some((&check_x, &check_y));
    let fresh = || Anfis::grid(MfKind::Bell, &[4], &x).unwrap();

    let mut straight = fresh();
    let (whole, _) = train_hybrid_resume(
        &mut straight,
        &x,
        &y,
        check,
        &config(2 * HALF),
        None,
        &mut |_| {},
    )
    .unwrap();
    let kappas: Vec<f64> = whole
        .history
        .epochs
        .iter()
        .map(|e| e.learning_rate)
        .collect();
    assert!(
        kappas.windows(2).any(|w| w[0] != w[1]),
        "κ never changed: {kappas:?}"
    );

    let mut first = fresh();
    let (r1, state) =
        train_hybrid_resume(&mut first, &x, &y, check, &config(HALF), None, &mut |_| {}).unwrap();
    assert_eq!(
        epoch_records(&r1.history),
        epoch_records(&whole.history)[..HALF]
    );
    let dir = TempDir::new("anfis-resume");
    let path = dir.join("anfis.safetensors");
    state.save(&path, &config(HALF)).unwrap();
    let (loaded, mut config_back) = HybridState::<f32>::load(&path).unwrap();
    assert_eq!(config_back, config(HALF));
    assert_eq!(loaded.errors, state.errors);
    assert_eq!(loaded.position, state.position);

    config_back.epochs = 2 * HALF;
    let mut resumed = fresh();
    let (r2, _) = train_hybrid_resume(
        &mut resumed,
        &x,
        &y,
        check,
        &config_back,
        Some(&loaded),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        epoch_records(&r2.history),
        epoch_records(&whole.history)[HALF..]
    );
    assert_eq!(r2.history.best_epoch, whole.history.best_epoch);
    assert_eq!(r2.train_rmse.to_bits(), whole.train_rmse.to_bits());
    assert_eq!(bits(&mut resumed), bits(&mut straight));
}

#[test]
fn a_hybrid_state_of_another_model_is_refused() {
    let x = Mat::<f32>::from_fn(1, 61, |_, j| -3.0 + 0.1 * j as f32);
    let y = x.map(f32::sin);
    let mut m = Anfis::grid(MfKind::Bell, &[4], &x).unwrap();
    let (_, state) =
        train_hybrid_resume(&mut m, &x, &y, None, &config(3), None, &mut |_| {}).unwrap();
    let mut other = Anfis::grid(MfKind::Bell, &[5], &x).unwrap();
    let err = train_hybrid_resume(
        &mut other,
        &x,
        &y,
        None,
        &config(6),
        Some(&state),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is not a point of this run"),
        "{err}"
    );
}
