//! The GAN on real data (skipped unless `DL_DATA_DIR` holds `optdigits.tra`): a short run on
//! the 8x8 digits in [0, 1] whose samples must have the data's mean image (correlation > 0.8) and a
//! spread across samples of at least half the data's — a generator collapsed onto a few digits
//! fails the second.

use generative::gan::data::load_optdigits_unit;
use generative::gan::{self, Gan, GanConfig, GanTraining, NetConfig};
use optim::train::TrainConfig;
use optim::{Activation, Adam, Mat};

/// Per-pixel mean and standard deviation over the columns.
fn pixel_stats(x: &Mat<f32>) -> (Vec<f64>, Vec<f64>) {
    let n = x.ncols() as f64;
    let mut mean = vec![0.0; x.nrows()];
    let mut sd = vec![0.0; x.nrows()];
    for i in 0..x.nrows() {
        mean[i] = x.row(i).iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        sd[i] = (x
            .row(i)
            .iter()
            .map(|&v| (f64::from(v) - mean[i]).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
    }
    (mean, sd)
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn a_gan_on_optdigits_matches_the_mean_digit_without_collapsing() {
    let Some(path) = optim::data::data_file("optdigits.tra") else {
        eprintln!("skipped: DL_DATA_DIR is not set or has no optdigits.tra");
        return;
    };
    let (x, _) = load_optdigits_unit::<f32>(&path).unwrap();
    let config = GanConfig::new(64, 16)
        .with_generator(NetConfig::new(&[128, 256]).with_output_activation(Activation::Sigmoid))
        .with_discriminator(NetConfig::new(&[256, 128]).with_activation(Activation::LeakyRelu(0.2)))
        .with_packing(2);
    let mut rng = optim::rng(0);
    let mut model = Gan::<f32>::new(&config, &mut rng).unwrap();
    let mut g = Adam::new(2e-4).unwrap().betas(0.5, 0.999).unwrap();
    let mut d = Adam::new(2e-4).unwrap().betas(0.5, 0.999).unwrap();
    let training = GanTraining::new(TrainConfig::new(40, 64).seed(0));
    gan::train(&mut model, &x, &mut g, &mut d, &training, &mut |_| {}).unwrap();
    let samples = model.sample(2000, &mut rng).unwrap();
    let (real_mean, real_sd) = pixel_stats(&x);
    let (fake_mean, fake_sd) = pixel_stats(&samples);
    let r = correlation(&real_mean, &fake_mean);
    let spread = fake_sd.iter().sum::<f64>() / real_sd.iter().sum::<f64>();
    println!("mean-image correlation {r:.3}, spread ratio {spread:.3}");
    assert!(r > 0.8, "mean-image correlation {r}"); // measured 0.856
    assert!(spread > 0.5, "generated spread / data spread = {spread}"); // measured 0.700
}
