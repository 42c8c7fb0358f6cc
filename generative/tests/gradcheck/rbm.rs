//! Gradients: the exact (CD-∞) log-likelihood gradient against centred differences of the
//! exact log-likelihood; CD-k approaching it as k grows; the DBN classifier's backward pass.

use generative::rbm::{Classifier, Rbm, Visible};
use optim::{GradCheck, Mat, check_parameters};
use rand::Rng;
use rand_distr::{Distribution, Normal};

fn random_rbm(units: Visible, nv: usize, nh: usize, scale: f64, seed: u64) -> Rbm<f64> {
    let mut rng = optim::rng(seed);
    let normal = Normal::new(0.0, scale).unwrap();
    let w = Mat::from_fn(nh, nv, |_, _| normal.sample(&mut rng));
    let b: Vec<f64> = (0..nv).map(|_| normal.sample(&mut rng)).collect();
    let c: Vec<f64> = (0..nh).map(|_| normal.sample(&mut rng)).collect();
    Rbm::from_parts(units, w, &b, &c).unwrap()
}

fn binary_data(nv: usize, n: usize, seed: u64) -> Mat<f64> {
    let mut rng = optim::rng(seed);
    Mat::from_fn(nv, n, |j, _| {
        f64::from(rng.random::<f64>() < 0.2 + 0.6 * (j % 2) as f64)
    })
}

/// Centred differences of the exact mean log-likelihood in every parameter.
fn numeric_gradient(rbm: &Rbm<f64>, v: &Mat<f64>) -> Vec<f64> {
    let h = 1e-5;
    let mut out = Vec::new();
    let mut m = rbm.clone();
    let ll = |m: &Rbm<f64>| m.exact_log_likelihood(v).unwrap();
    for which in 0..3 {
        let len = [
            m.weight.value.len(),
            m.visible_bias.value.len(),
            m.hidden_bias.value.len(),
        ][which];
        for e in 0..len {
            let p = match which {
                0 => &mut m.weight.value,
                1 => &mut m.visible_bias.value,
                _ => &mut m.hidden_bias.value,
            };
            let x = p[e];
            p[e] = x + h;
            let up = ll(&m);
            let p = match which {
                0 => &mut m.weight.value,
                1 => &mut m.visible_bias.value,
                _ => &mut m.hidden_bias.value,
            };
            p[e] = x - h;
            let down = ll(&m);
            let p = match which {
                0 => &mut m.weight.value,
                1 => &mut m.visible_bias.value,
                _ => &mut m.hidden_bias.value,
            };
            p[e] = x;
            out.push((up - down) / (2.0 * h));
        }
    }
    out
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn exact_gradient_matches_centred_differences_enumerating_hidden() {
    let rbm = random_rbm(Visible::Bernoulli, 6, 4, 0.8, 1);
    let v = binary_data(6, 20, 2);
    let g = rbm.exact_gradient(&v).unwrap().flat();
    let n = numeric_gradient(&rbm, &v);
    assert!(
        max_abs_diff(&g, &n) < 1e-7,
        "max error {}",
        max_abs_diff(&g, &n)
    );
}

#[test]
fn exact_gradient_matches_centred_differences_enumerating_visible() {
    let rbm = random_rbm(Visible::Bernoulli, 4, 7, 0.8, 3);
    let v = binary_data(4, 20, 4);
    let g = rbm.exact_gradient(&v).unwrap().flat();
    let n = numeric_gradient(&rbm, &v);
    assert!(
        max_abs_diff(&g, &n) < 1e-7,
        "max error {}",
        max_abs_diff(&g, &n)
    );
}

#[test]
fn exact_gradient_matches_centred_differences_gaussian_visible() {
    let rbm = random_rbm(Visible::Gaussian, 3, 4, 0.5, 5);
    let mut rng = optim::rng(6);
    let v = Mat::from_fn(3, 15, |_, _| rng.random::<f64>() * 2.0 - 1.0);
    let g = rbm.exact_gradient(&v).unwrap().flat();
    let n = numeric_gradient(&rbm, &v);
    assert!(
        max_abs_diff(&g, &n) < 1e-6,
        "max error {}",
        max_abs_diff(&g, &n)
    );
}

/// The CD-k estimate, averaged over many seeds, approaches the exact gradient as k grows: CD-1
/// is biased, CD-50's bias is a fraction of it.
#[test]
fn cd_k_approaches_the_exact_gradient_as_k_grows() {
    let rbm = random_rbm(Visible::Bernoulli, 8, 6, 1.0, 11);
    let v = binary_data(8, 64, 12);
    let exact = rbm.exact_gradient(&v).unwrap().flat();
    let seeds = 150;
    let mut errors = Vec::new();
    for &k in &[1usize, 5, 50] {
        let mut mean = vec![0.0; exact.len()];
        for seed in 0..seeds {
            let g = rbm
                .cd_gradient(&v, k, true, &mut optim::rng(1000 + seed))
                .unwrap()
                .flat();
            for (m, x) in mean.iter_mut().zip(g) {
                *m += x / seeds as f64;
            }
        }
        let rms = (mean
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / exact.len() as f64)
            .sqrt();
        eprintln!("CD-{k}: rms deviation from the exact gradient {rms:.4}");
        errors.push(rms);
    }
    assert!(
        errors[1] < errors[0],
        "CD-5 {} vs CD-1 {}",
        errors[1],
        errors[0]
    );
    assert!(
        errors[2] < 0.5 * errors[0],
        "CD-50 {} vs CD-1 {}",
        errors[2],
        errors[0]
    );
}

/// The fine-tuning network's backward pass (two sigmoid layers + soft-max output), in f64.
#[test]
fn classifier_backward_matches_centred_differences() {
    let mut rng = optim::rng(7);
    let mut net = Classifier::<f64>::new(&[5, 4, 3, 3], &mut rng);
    let x = Mat::from_fn(5, 6, |_, _| rng.random::<f64>());
    let labels = vec![0, 1, 2, 1, 0, 2];
    let report = check_parameters(
        &mut net,
        GradCheck::default(),
        |m| {
            let logits = m.logits(&x).unwrap();
            optim::loss::softmax_cross_entropy(&logits, &labels, 0.0)
                .unwrap()
                .0
        },
        |m| m.loss_and_backward(&x, &labels).unwrap().0,
    );
    report.assert_below(1e-6);
}
