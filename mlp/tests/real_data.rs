//! Kind 5: real data, run only when `DL_DATA_DIR` points at the shared data folder.
//!
//! UCI optdigits (`optdigits.tra`, 3823 handwritten digits as 8x8 block counts): a seeded 20 %
//! is held out for the test, 10 % of the rest is the validation split for early stopping; the
//! held-out accuracy must reach 0.97 (scikit-learn's `MLPClassifier` is reported at about
//! 0.971–0.974 on a comparable split).

use mlp::recipes::{DigitsRecipe, digits};
use std::path::PathBuf;

/// The data folder named by `DL_DATA_DIR`; a relative path is tried from the working directory
/// (the crate's folder under `cargo test`) and from the workspace root. Set but not found is a
/// failure, not a skip.
fn data_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("DL_DATA_DIR").map(PathBuf::from) else {
        println!("skipped: DL_DATA_DIR is not set");
        return None;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = [dir.clone(), root.join(&dir)]
        .into_iter()
        .find(|d| d.join("optdigits.tra").exists());
    assert!(
        found.is_some(),
        "DL_DATA_DIR={} has no optdigits.tra",
        dir.display()
    );
    found
}

#[test]
fn optdigits_held_out_accuracy_at_least_097() {
    let Some(dir) = data_dir() else { return };
    let dataset = optim::data::load_optdigits::<f32>(dir.join("optdigits.tra")).unwrap();
    assert_eq!(dataset.len(), 3823);
    let run = digits(&dataset, &DigitsRecipe::default(), &mut |_| {}).unwrap();
    let acc = run.test.accuracy.unwrap();
    println!(
        "optdigits: held-out accuracy {acc:.4} on {} examples (validation {:.4}, best epoch {:?} of {})",
        run.sizes.2,
        run.validation.accuracy.unwrap(),
        run.history.best_epoch,
        run.history.epochs.len()
    );
    assert_eq!(run.sizes, (2752, 306, 765));
    assert!(acc >= 0.97, "held-out accuracy {acc}");
    assert!(run.history.restored_best);
}
