//! `tour principles` on generated data (issue 20): every sub-result's numbers in the JSON line,
//! every plot written, and every claim of the notes present with its measured outcome and
//! whether it supports the claim.

mod common;

use common::*;

#[test]
fn principles_measures_every_claim_on_generated_data() {
    let (json, out) = chapter("principles", &[]);
    let metrics = json["metrics"].as_object().unwrap();
    for key in [
        "coordinates_families",
        "coordinates_distinct_points",
        "width_1_none_test_error",
        "width_256_none_train_error",
        "width_256_weight_decay_test_error",
        "width_256_dropout_test_error",
        "width_256_early_stopping_test_error",
        "width_best_test_error_none",
        "restarts_best_loss",
        "restarts_sgd_solved_fraction",
        "restarts_momentum_solved_fraction",
        "restarts_adam_solved_fraction",
        "saddle_gd_steps_per_decade",
        "saddle_gd_escaped_delta_0",
        "saddle_noisy_max_steps",
        "critical_converged",
        "critical_minima",
        "critical_saddles",
        "critical_distinct_minima",
        "critical_distinct_saddles",
        "critical_index_loss_correlation",
        "batch_small_test_accuracy",
        "batch_large_test_accuracy",
        "batch_small_sharpness",
        "batch_large_sharpness",
        "scale_mlp_reached_0.90",
        "scale_cnn_reached_0.95",
        "transfer_raw_pixels_accuracy",
        "transfer_random_features_accuracy",
        "transfer_autoencoder_code_accuracy",
        "transfer_CNN_penultimate_accuracy",
    ] {
        assert!(metrics.contains_key(key), "metric {key} missing: {json}");
    }
    // every chapter crate places at least one family
    assert!(metrics["coordinates_families"].as_f64().unwrap() >= 8.0);
    // the saddle is mathematics, not an experiment: its measured slope is the predicted one
    let slope = metrics["saddle_gd_steps_per_decade"].as_f64().unwrap();
    let predicted = metrics["saddle_gd_steps_per_decade_predicted"]
        .as_f64()
        .unwrap();
    assert!((slope - predicted).abs() < 1.0, "{slope} vs {predicted}");
    assert_eq!(metrics["saddle_gd_escaped_delta_0"].as_f64(), Some(0.0));
    // Newton's method found critical points, each a minimum or a saddle or a maximum
    let converged = metrics["critical_converged"].as_f64().unwrap();
    assert!(converged > 0.0);
    assert_eq!(
        metrics["critical_minima"].as_f64().unwrap()
            + metrics["critical_saddles"].as_f64().unwrap()
            + metrics["critical_maxima"].as_f64().unwrap(),
        converged
    );
    // sharpness is a positive curvature at a trained minimum
    assert!(metrics["batch_small_sharpness"].as_f64().unwrap() > 0.0);
    let claims = json["claims"].as_object().expect("claims object");
    for key in [
        "coordinates",
        "expressiveness_vs_generalization",
        "optimum_vs_computability",
        "saddle_escape",
        "critical_points",
        "sgd_noise",
        "data_scale_vs_complexity",
        "transfer",
    ] {
        let c = &claims[key];
        assert!(
            c["claim"].as_str().is_some_and(|s| s.contains('§')),
            "{key}: {c}"
        );
        assert!(
            c["outcome"]
                .as_str()
                .is_some_and(|s| s.chars().any(|ch| ch.is_ascii_digit())),
            "{key}: the outcome states numbers: {c}"
        );
        assert!(c["supported"].is_boolean(), "{key}: {c}");
    }
    assert_eq!(claims["saddle_escape"]["supported"], true);
    expect_plots(
        &json,
        &[
            "principles_width.svg",
            "principles_restarts.svg",
            "principles_saddle.svg",
            "principles_critical.svg",
            "principles_batch.svg",
            "principles_scale.svg",
            "principles_transfer.svg",
        ],
    );
    // the gallery opens with the coordinates table and shows the claims
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let table = html
        .find("coordinates of inductive bias")
        .expect("coordinates table");
    assert!(table < html.find("<h2 id=\"principles\"").unwrap());
    assert!(html.contains("claim of the notes"));
}
