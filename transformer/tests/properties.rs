//! Kind 2: the chapter's mathematics as properties over random models and inputs: causality of
//! masked attention, attention rows as distributions, permutation equivariance without
//! positions, the padding mask, and the KV cache computing the same function as the full model.

use optim::testing::proptest_config;
use optim::{Mat, Parameters};
use proptest::prelude::*;
use transformer::{
    BlockConfig, Gpt, GptConfig, Mask, MultiHeadAttention, NormPlacement, Positions, Sampling,
    SeqShape, TransformerBlock,
};

fn seeded_matrix(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    use rand::Rng;
    let mut rng = optim::rng(seed);
    Mat::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

fn tokens(n: usize, vocab: usize, seed: u64) -> Vec<usize> {
    use rand::Rng;
    let mut rng = optim::rng(seed);
    (0..n).map(|_| rng.random_range(0..vocab)).collect()
}

/// A small random model whose weights are large enough that every position matters.
fn random_model(
    vocab: usize,
    context: usize,
    layers: usize,
    post_ln: bool,
    positions: Positions,
    seed: u64,
) -> Gpt<f64> {
    let config = GptConfig::new(vocab, context)
        .with_width(8)
        .with_heads(2)
        .with_layers(layers)
        .with_ff_width(12)
        .with_norm(if post_ln {
            NormPlacement::PostLn
        } else {
            NormPlacement::PreLn
        })
        .with_positions(positions);
    let mut model = Gpt::new(&config, &mut optim::rng(seed)).unwrap();
    let mut k = 0;
    model.visit_params(&mut |_, p| {
        k += 1;
        p.value += seeded_matrix(p.value.nrows(), p.value.ncols(), seed * 100 + k) * 0.3;
    });
    model
}

fn positions() -> impl Strategy<Value = Positions> {
    prop_oneof![
        Just(Positions::Learned),
        Just(Positions::Sinusoidal),
        Just(Positions::None)
    ]
}

proptest! {
    #![proptest_config(proptest_config(32))]

    /// With the causal mask the logits at position t do not change when any token after t
    /// changes (exactly: masked keys get weight 0, so they add exact zeros).
    #[test]
    fn causal_model_ignores_the_future(
        t in 1usize..8, cut in 0usize..8, layers in 1usize..3, post_ln in any::<bool>(),
        positions in positions(), seed in 0u64..1000,
    ) {
        let cut = cut.min(t - 1);
        let model = random_model(6, 8, layers, post_ln, positions, seed);
        let ids = tokens(t, 6, seed + 1);
        let mut changed = ids.clone();
        for (i, id) in changed.iter_mut().enumerate().skip(cut + 1) {
            *id = (*id + 1 + i % 5) % 6; // a shift by 1..=5: always another token
        }
        let shape = SeqShape::new(t, 1);
        let a = model.logits(&ids, shape).unwrap();
        let b = model.logits(&changed, shape).unwrap();
        for pos in 0..=cut {
            prop_assert_eq!(a.column(pos), b.column(pos), "position {}", pos);
        }
        if cut + 1 < t && layers > 0 {
            // and the future does matter where it is allowed to
            prop_assert!(a.column(t - 1) != b.column(t - 1));
        }
    }

    /// Every query's attention weights are a distribution over the keys, and the keys the
    /// causal mask hides get exactly 0.
    #[test]
    fn attention_rows_are_distributions(
        heads in 1usize..4, t in 1usize..7, b in 1usize..3, causal in any::<bool>(), seed in 0u64..1000,
    ) {
        let d = heads * 2;
        let mha = MultiHeadAttention::<f64>::new(d, heads, &mut optim::rng(seed)).unwrap();
        let x = seeded_matrix(d, t * b, seed + 1) * 3.0;
        let mask = Mask { causal, key_padding: None };
        let (_, weights) = mha.predict_with_weights(&x, SeqShape::new(t, b), mask).unwrap();
        prop_assert_eq!(weights.len(), b * heads);
        for w in &weights {
            for (i, column) in w.column_iter().enumerate() {
                prop_assert!((column.sum() - 1.0).abs() < 1e-12);
                prop_assert!(column.iter().all(|&p| p >= 0.0));
                if causal {
                    prop_assert!(column.iter().skip(i + 1).all(|&p| p == 0.0));
                }
            }
        }
    }

    /// Without a mask and without positional encoding, self-attention (and a whole block)
    /// commutes with permuting the positions: f(X Π) = f(X) Π.
    #[test]
    fn self_attention_is_permutation_equivariant(
        heads in 1usize..3, t in 2usize..7, post_ln in any::<bool>(), seed in 0u64..1000,
    ) {
        let d = heads * 3;
        let config = BlockConfig::new(d, heads)
            .with_ff_width(5)
            .with_norm(if post_ln { NormPlacement::PostLn } else { NormPlacement::PreLn });
        let block = TransformerBlock::<f64>::new(&config, &mut optim::rng(seed)).unwrap();
        let x = seeded_matrix(d, t, seed + 1) * 2.0;
        // a permutation: a rotation by one plus a swap
        let perm: Vec<usize> = (0..t).map(|i| if i == 0 { t - 1 } else { (i + seed as usize) % t }).collect();
        let mut seen = vec![false; t];
        let perm: Vec<usize> = perm
            .into_iter()
            .chain(0..t)
            .filter(|&p| !std::mem::replace(&mut seen[p], true))
            .collect();
        let permute = |m: &Mat<f64>| Mat::from_fn(m.nrows(), t, |r, c| m[(r, perm[c])]);
        let shape = SeqShape::new(t, 1);
        let attn = &block.self_attn;
        let a = permute(&attn.predict(&x, shape, Mask::none()).unwrap());
        let b = attn.predict(&permute(&x), shape, Mask::none()).unwrap();
        prop_assert!((a - b).abs().max() < 1e-12);
        let a = permute(&block.predict(&x, shape, Mask::none()).unwrap());
        let b = block.predict(&permute(&x), shape, Mask::none()).unwrap();
        prop_assert!((a - b).abs().max() < 1e-12);
    }

    /// Padded keys get weight exactly 0 from every query, and changing the inputs at padded
    /// positions does not change the outputs at the others.
    #[test]
    fn padding_is_invisible(
        heads in 1usize..3, t in 2usize..7, b in 1usize..3, causal in any::<bool>(), seed in 0u64..1000,
    ) {
        let d = heads * 2;
        let mha = MultiHeadAttention::<f64>::new(d, heads, &mut optim::rng(seed)).unwrap();
        let n = t * b;
        // pad the tail of every sequence, keeping at least its first position
        let pad: Vec<bool> = (0..n).map(|c| c % t >= 1 && (c % t + seed as usize).is_multiple_of(3)).collect();
        let x = seeded_matrix(d, n, seed + 1);
        let mut x2 = x.clone();
        for c in (0..n).filter(|&c| pad[c]) {
            x2.column_mut(c).copy_from(&seeded_matrix(d, 1, seed + 100 + c as u64));
        }
        let shape = SeqShape::new(t, b);
        let mask = Mask { causal, key_padding: Some(&pad) };
        let (y, weights) = mha.predict_with_weights(&x, shape, mask).unwrap();
        let y2 = mha.predict(&x2, shape, mask).unwrap();
        for (k, w) in weights.iter().enumerate() {
            let seq = k / heads;
            for key in (0..t).filter(|&j| pad[seq * t + j]) {
                prop_assert!(w.row(key).iter().all(|&p| p == 0.0));
            }
        }
        for c in (0..n).filter(|&c| !pad[c]) {
            prop_assert_eq!(y.column(c), y2.column(c));
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(12))]

    /// Generation with the KV cache gives the tokens of generation by full recomputation and
    /// logits within 1e-10 (f64) and 1e-5 (f32), also past the context, where both restart the
    /// window.
    #[test]
    fn kv_cache_matches_full_recomputation(
        layers in 0usize..3, post_ln in any::<bool>(), positions in positions(),
        prompt_len in 1usize..5, top_k in 1usize..6, seed in 0u64..1000,
    ) {
        let model = random_model(6, 6, layers, post_ln, positions, seed);
        let prompt = tokens(prompt_len, 6, seed + 1);
        for sampling in [Sampling::Greedy, Sampling::temperature(0.8).with_top_k(top_k).with_top_p(0.9)] {
            let cached = model.generate(&prompt, 14, &sampling, &mut optim::rng(seed)).unwrap();
            let full = model.generate_uncached(&prompt, 14, &sampling, &mut optim::rng(seed)).unwrap();
            prop_assert_eq!(&cached.tokens, &full.tokens);
            for (a, b) in cached.logits.iter().zip(&full.logits) {
                let err = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                prop_assert!(err < 1e-10, "logits differ by {err}");
            }
        }
        // the same in f32, the training precision
        let config = model.config().clone();
        let mut small = Gpt::<f32>::new(&config, &mut optim::rng(seed)).unwrap();
        let mut big = model;
        let mut values = Vec::new();
        big.visit_params(&mut |_, p| values.push(p.value.map(|v| v as f32)));
        let mut k = 0;
        small.visit_params(&mut |_, p| { p.value = values[k].clone(); k += 1; });
        let cached = small.generate(&prompt, 14, &Sampling::Greedy, &mut optim::rng(0)).unwrap();
        let full = small.generate_uncached(&prompt, 14, &Sampling::Greedy, &mut optim::rng(0)).unwrap();
        prop_assert_eq!(&cached.tokens, &full.tokens);
        for (a, b) in cached.logits.iter().zip(&full.logits) {
            let err = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            prop_assert!(err < 1e-5, "f32 logits differ by {err}");
        }
    }
}

#[test]
fn sampling_rules() {
    let logits = [0.0f64, 3.0, 1.0, 2.9];
    let mut rng = optim::rng(0);
    assert_eq!(Sampling::Greedy.choose(&logits, &mut rng).unwrap(), 1);
    // top-1 is greedy whatever the temperature
    let top1 = Sampling::temperature(5.0).with_top_k(1);
    assert!((0..50).all(|_| top1.choose(&logits, &mut rng).unwrap() == 1));
    // top-2 only ever draws the two best, both of them
    let top2 = Sampling::temperature(1.0).with_top_k(2);
    let draws: Vec<usize> = (0..200)
        .map(|_| top2.choose(&logits, &mut rng).unwrap())
        .collect();
    assert!(draws.iter().all(|&d| d == 1 || d == 3));
    assert!(draws.contains(&1) && draws.contains(&3));
    // a tiny nucleus is the single most probable token
    let nucleus = Sampling::temperature(1.0).with_top_p(0.01);
    assert!((0..50).all(|_| nucleus.choose(&logits, &mut rng).unwrap() == 1));
    // a high temperature reaches every token; the frequencies follow softmax(z/τ)
    let hot = Sampling::temperature(100.0);
    let mut counts = [0usize; 4];
    for _ in 0..4000 {
        counts[hot.choose(&logits, &mut rng).unwrap()] += 1;
    }
    assert!(
        counts.iter().all(|&c| (800..1200).contains(&c)),
        "{counts:?}"
    );
}

/// Attention dropout acts in training only and keeps the expectation: without an rng the
/// training forward is the evaluation forward; with one, single outputs change, and their mean
/// over many masks approaches the evaluation output (standard error ~ 1/√n).
#[test]
fn attention_dropout_is_training_only_and_keeps_the_expectation() {
    use optim::Mat;
    use transformer::{Mask, MultiHeadAttention, SeqShape};
    let (d, t) = (4, 5);
    let shape = SeqShape::new(t, 1);
    let mut mha = MultiHeadAttention::<f64>::new(d, 2, &mut optim::rng(1))
        .unwrap()
        .with_attention_dropout(0.3)
        .unwrap();
    let x = Mat::from_fn(d, t, |i, j| ((i * 3 + j * 5) % 7) as f64 / 3.0 - 1.0);
    let eval = mha.predict(&x, shape, Mask::causal()).unwrap();
    let mut y = Mat::zeros(0, 0);
    mha.forward_train(&x, shape, Mask::causal(), None, &mut y)
        .unwrap();
    assert!((&y - &eval).abs().max() < 1e-12);
    let mut rng = optim::rng(2);
    mha.forward_train(&x, shape, Mask::causal(), Some(&mut rng), &mut y)
        .unwrap();
    assert!((&y - &eval).abs().max() > 1e-3, "dropout changed nothing");
    let n = 20_000;
    let mut mean = Mat::zeros(d, t);
    for _ in 0..n {
        mha.forward_train(&x, shape, Mask::causal(), Some(&mut rng), &mut y)
            .unwrap();
        mean += &y;
    }
    mean /= n as f64;
    let gap = (&mean - &eval).abs().max();
    assert!(
        gap < 0.02,
        "mean over {n} masks is {gap} from the evaluation output"
    );
}
