//! Learning: a small RBM trained on samples of a known small RBM; PCD; a Gaussian–Bernoulli RBM;
//! a DBN pretrained and fine-tuned on a generated classification task.

use generative::rbm::{CdConfig, Classifier, Dbn, DbnConfig, Rbm, RbmConfig, Visible};
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Mat};
use rand::Rng;

/// A known 10 x 4 RBM with strong structure: hidden unit `i` turns on prototype `i`
/// (weights ±4), and its bias makes each prototype about as likely as the uniform background.
fn teacher() -> Rbm<f64> {
    let mut rng = optim::rng(42);
    let w = Mat::from_fn(4, 10, |_, _| if rng.random::<bool>() { 4.0 } else { -4.0 });
    let b = vec![0.0; 10];
    let c: Vec<f64> = (0..4)
        .map(|i| 7.0 - w.row(i).iter().filter(|x| **x > 0.0).sum::<f64>())
        .collect();
    Rbm::from_parts(Visible::Bernoulli, w, &b, &c).unwrap()
}

/// Exact samples of a model with ≤ 20 visible units, by inverse-CDF over the enumerated p(v).
fn exact_samples(rbm: &Rbm<f64>, n: usize, seed: u64) -> Mat<f64> {
    let nv = rbm.visible();
    let all = Mat::from_fn(nv, 1 << nv, |j, s| ((s >> j) & 1) as f64);
    let lz = rbm.log_partition().unwrap();
    let p: Vec<f64> = rbm
        .free_energy(&all)
        .iter()
        .map(|f| (-f - lz).exp())
        .collect();
    let mut rng = optim::rng(seed);
    let mut out = Mat::zeros(nv, n);
    for col in 0..n {
        let mut u = rng.random::<f64>();
        let mut s = 0;
        while s + 1 < p.len() && u >= p[s] {
            u -= p[s];
            s += 1;
        }
        for j in 0..nv {
            out[(j, col)] = ((s >> j) & 1) as f64;
        }
    }
    out
}

fn empirical_moments(v: &Mat<f64>) -> (Vec<f64>, Mat<f64>) {
    let (nv, n) = v.shape();
    let mean = (0..nv).map(|j| v.row(j).sum() / n as f64).collect();
    let second = (v * v.transpose()) / n as f64;
    (mean, second)
}

#[test]
fn training_on_samples_of_a_known_rbm_raises_the_exact_log_likelihood_and_matches_pairwise_statistics()
 {
    let teacher = teacher();
    let data = exact_samples(&teacher, 2000, 1);
    let test = exact_samples(&teacher, 1000, 2);
    let teacher_ll = teacher.exact_log_likelihood(&test).unwrap();
    let seeds = 3;
    let epochs = 10;
    let mut curves = vec![vec![0.0; epochs + 1]; seeds];
    let mut trained = Vec::new();
    for seed in 0..seeds {
        let mut rbm = Rbm::<f64>::new(RbmConfig::new(10, 8), &mut optim::rng(seed as u64)).unwrap();
        rbm.init_visible_bias(&data).unwrap();
        if seed == 0 {
            // the untrained (independent-units) model misses the pairwise statistics
            let (m0, s0) = rbm.exact_visible_moments().unwrap();
            let (md, sd) = empirical_moments(&data);
            let d0 = (s0 - sd).abs().max();
            let dm0 = m0
                .iter()
                .zip(&md)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            eprintln!("untrained: max |E v - mean v| {dm0:.4}, max |E vv' - mean vv'| {d0:.4}");
            assert!(d0 > 0.15, "the data must have pairwise structure ({d0})");
        }
        curves[seed][0] = rbm.exact_log_likelihood(&test).unwrap();
        for e in 1..=epochs {
            let config = CdConfig {
                k: 5,
                learning_rate: 0.1,
                batch_size: 20,
                epochs: 1,
                seed: 100 * seed as u64 + e as u64,
                momentum: 0.5,
                monitor_examples: 0,
                ..CdConfig::default()
            };
            rbm.train_cd(&data, None, &config, &mut |_| {}).unwrap();
            curves[seed][e] = rbm.exact_log_likelihood(&test).unwrap();
        }
        trained.push(rbm);
    }
    let mean: Vec<f64> = (0..=epochs)
        .map(|e| curves.iter().map(|c| c[e]).sum::<f64>() / seeds as f64)
        .collect();
    eprintln!("teacher LL {teacher_ll:.4}; mean test LL per epoch {mean:.4?}");
    // the first epochs break the symmetry of the small initial weights, then climb fast
    assert!(
        mean[1] > mean[0] && mean[2] > mean[1],
        "first epochs: {mean:?}"
    );
    assert!(mean[3] > mean[0] + 1.0, "three epochs: {mean:?}");
    assert!(
        teacher_ll - mean[epochs] < 0.6,
        "gap to the teacher {}",
        teacher_ll - mean[epochs]
    );
    // the learned models' exact pairwise statistics against the data's. At a learning rate of
    // 0.1 the parameters still jump from batch to batch (one model's worst moment is anywhere
    // in 0.05–0.2 depending on the seed), so each model first settles for 10 epochs at a
    // learning rate of 0.01, and the worst moment errors are averaged over the seeds.
    let (m_data, s_data) = empirical_moments(&data);
    let (mut dm, mut ds) = (0.0, 0.0);
    for (seed, rbm) in trained.iter_mut().enumerate() {
        let settle = CdConfig {
            k: 5,
            learning_rate: 0.01,
            batch_size: 20,
            epochs: 10,
            seed: 1000 + seed as u64,
            momentum: 0.5,
            monitor_examples: 0,
            ..CdConfig::default()
        };
        rbm.train_cd(&data, None, &settle, &mut |_| {}).unwrap();
        let (m_model, s_model) = rbm.exact_visible_moments().unwrap();
        dm += m_model
            .iter()
            .zip(&m_data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
            / seeds as f64;
        ds += (s_model - &s_data).abs().max() / seeds as f64;
    }
    eprintln!("mean over seeds: max |E v - mean v| {dm:.4}, max |E vv' - mean vv'| {ds:.4}");
    assert!(dm < 0.1 && ds < 0.1, "moments: {dm} {ds}");
}

#[test]
fn pcd_raises_the_exact_log_likelihood() {
    let teacher = teacher();
    let data = exact_samples(&teacher, 2000, 3);
    let mut rbm = Rbm::<f64>::new(RbmConfig::new(10, 8), &mut optim::rng(5)).unwrap();
    rbm.init_visible_bias(&data).unwrap();
    let before = rbm.exact_log_likelihood(&data).unwrap();
    let config = CdConfig {
        learning_rate: 0.02,
        momentum: 0.5,
        batch_size: 20,
        epochs: 20,
        monitor_examples: 0,
        ..CdConfig::pcd(1, 20)
    };
    let history = rbm.train_cd(&data, None, &config, &mut |_| {}).unwrap();
    let after = rbm.exact_log_likelihood(&data).unwrap();
    let teacher_ll = teacher.exact_log_likelihood(&data).unwrap();
    eprintln!("PCD: {before:.4} -> {after:.4} (teacher {teacher_ll:.4})");
    assert_eq!(history.epochs.len(), 20);
    assert!(
        after > before + 1.0 && teacher_ll - after < 1.6,
        "{before} -> {after}, teacher {teacher_ll}"
    );
}

/// Data from a known Gaussian–Bernoulli RBM (a mixture of 2^3 Gaussians); training raises the
/// exact log-density well above the untrained model's.
#[test]
fn gaussian_rbm_learns_a_mixture_of_gaussians() {
    let w = Mat::from_row_slice(
        3,
        4,
        &[2.5, 0.0, 0.0, -1.0, 0.0, 2.5, 0.0, 1.0, 0.0, 0.0, -2.5, 1.0],
    );
    let teacher = Rbm::from_parts(
        Visible::Gaussian,
        w,
        &[0.0, -1.0, 1.0, 0.0],
        &[-0.5, 0.0, 0.5],
    )
    .unwrap();
    let mut rng = optim::rng(9);
    let (_, data) = teacher.sample(3000, 200, &mut rng).unwrap();
    let mut rbm = Rbm::<f64>::new(RbmConfig::gaussian(4, 6), &mut optim::rng(10)).unwrap();
    rbm.init_visible_bias(&data).unwrap();
    let before = rbm.exact_log_likelihood(&data).unwrap();
    let config = CdConfig {
        learning_rate: 0.02,
        batch_size: 50,
        epochs: 40,
        k: 1,
        monitor_examples: 200,
        ..CdConfig::default()
    };
    let history = rbm
        .train_cd(&data, Some(&data), &config, &mut |_| {})
        .unwrap();
    let after = rbm.exact_log_likelihood(&data).unwrap();
    let teacher_ll = teacher.exact_log_likelihood(&data).unwrap();
    eprintln!("Gaussian RBM: {before:.4} -> {after:.4} (teacher {teacher_ll:.4})");
    assert!(after > before + 0.4, "{before} -> {after}");
    assert!(
        teacher_ll - after < 0.35,
        "gap to teacher {}",
        teacher_ll - after
    );
    // the learning curve is the reconstruction error, which falls
    let losses = history.train_losses();
    assert!(losses.last().unwrap() < &losses[0]);
    assert!(
        history
            .last()
            .unwrap()
            .term("pseudo_log_likelihood")
            .is_none()
    );
    assert!(history.last().unwrap().term("free_energy_gap").is_some());
}

/// Two-class "stripes": even or odd units on, with noise.
fn stripes(n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = optim::rng(seed);
    let mut labels = Vec::new();
    let x = Mat::from_fn(16, n, |j, col| {
        let class = col % 2;
        if j == 0 {
            labels.push(class);
        }
        let on = (j % 2 == class) ^ (rng.random::<f64>() < 0.15);
        f64::from(on)
    });
    Dataset::classification(x, labels).unwrap()
}

#[test]
fn dbn_pretrains_samples_and_fine_tunes_into_a_classifier() {
    let train = stripes(600, 1);
    let test = stripes(300, 2);
    let mut dbn = Dbn::<f64>::new(
        &DbnConfig {
            visible: 16,
            hidden: vec![12, 8],
        },
        &mut optim::rng(3),
    )
    .unwrap();
    let histories = dbn
        .pretrain(
            &train.x,
            &CdConfig {
                epochs: 10,
                batch_size: 20,
                monitor_examples: 0,
                ..CdConfig::default()
            },
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(histories.len(), 2);
    for h in &histories {
        assert!(h.epochs.last().unwrap().train_loss < h.epochs[0].train_loss);
    }
    // ancestral samples look like the data: each is mostly even or mostly odd units
    let samples = dbn.sample(200, 100, &mut optim::rng(4)).unwrap();
    assert_eq!(samples.shape(), (16, 200));
    let mut striped = 0;
    for col in 0..200 {
        let even: f64 = (0..16).step_by(2).map(|j| samples[(j, col)]).sum();
        let odd: f64 = (1..16).step_by(2).map(|j| samples[(j, col)]).sum();
        if (even - odd).abs() > 3.0 {
            striped += 1;
        }
    }
    assert!(striped > 140, "{striped} of 200 samples are striped");
    let mut net: Classifier<f64> = dbn.to_classifier(2, &mut optim::rng(5));
    let config = TrainConfig::new(5, 20).seed(6);
    net.fit(
        &train,
        Some(&test),
        &mut Adam::new(1e-2).unwrap(),
        &config,
        &mut |_| {},
    )
    .unwrap();
    let acc = net.accuracy(&test).unwrap();
    assert!(acc > 0.95, "fine-tuned DBN accuracy {acc}");
}

/// CD with the batches cut in two data-parallel parts (`CdConfig::shards`) learns the known RBM
/// as well as unsharded CD, and gives the same bits on one thread as on two.
#[test]
fn sharded_contrastive_divergence_learns_as_well_and_is_thread_count_stable() {
    let teacher = teacher();
    let data = exact_samples(&teacher, 2000, 1);
    let test = exact_samples(&teacher, 1000, 2);
    let teacher_ll = teacher.exact_log_likelihood(&test).unwrap();
    let train = |shards: usize, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut rbm = Rbm::<f64>::new(RbmConfig::new(10, 8), &mut optim::rng(0)).unwrap();
            rbm.init_visible_bias(&data).unwrap();
            let config = CdConfig {
                k: 5,
                batch_size: 20,
                epochs: 10,
                seed: 3,
                momentum: 0.5,
                monitor_examples: 0,
                shards,
                ..CdConfig::default()
            };
            rbm.train_cd(&data, None, &config, &mut |_| {}).unwrap();
            rbm
        })
    };
    let one = train(1, 1).exact_log_likelihood(&test).unwrap();
    let two = train(2, 2);
    let two_ll = two.exact_log_likelihood(&test).unwrap();
    eprintln!("teacher {teacher_ll:.4}, 1 part {one:.4}, 2 parts {two_ll:.4}");
    assert!(two_ll > one - 0.2, "2 parts {two_ll} vs 1 part {one}");
    assert!(teacher_ll - two_ll < 0.8, "gap {}", teacher_ll - two_ll);
    let bits = |r: &Rbm<f64>| {
        r.weight
            .value
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bits(&two),
        bits(&train(2, 1)),
        "2 parts, 1 thread vs 2 threads"
    );
}
