//! Exact resume of the character GPT through the shared loop (issue 14): `N` epochs with
//! `optim::train::fit_resume`, a training checkpoint (model, AdamW's state, the `Resume`
//! entry), loaded into a model built from another seed and `N` more epochs equal `2N`
//! straight, bit for bit (`optim::testing::assert_exact_resume`). Dropout draws its masks from
//! the loop's generator, so its position matters; the rate follows warm-up + cosine, clipped.

mod common;

use common::{gpt_training, reversal_windows};
use optim::{Adam, Optimizer};
use transformer::Gpt;

const HALF: usize = 2;

#[test]
fn gpt_with_dropout_resumes_bit_for_bit() {
    let (data, config) = reversal_windows();
    optim::testing::assert_exact_resume(
        "gpt",
        &|seed| Gpt::<f32>::new(&config, &mut optim::rng(seed)).unwrap(),
        &|| Box::new(Adam::adamw(3e-3, 0.01).unwrap()) as Box<dyn Optimizer<f32>>,
        &data,
        None,
        &|epochs| gpt_training(epochs, 12 * 2 * HALF),
        HALF,
    );
}
