//! The chapter's reported run: PCA vs autoencoders at code size k = 8 on optdigits.
//!
//! ```text
//! cargo run --release -p inductive-autoencoder --example autoencoder_digits -- --data ../shared/data
//! DL_DATA_DIR=../shared/data cargo run --release -p inductive-autoencoder --example autoencoder_digits
//! cargo run --release -p inductive-autoencoder --example autoencoder_digits          # generated 8x8 blob images
//! ```
//!
//! Options: `--data DIR`, `--epochs N` (default `autoencoder::recipes::DIGITS_EPOCHS`), `--seed S` (default 0), `--k K` (8).
//! Pixels are scaled to [0, 1]; a quarter of the rows is held out; every figure is the mean
//! squared error per pixel on the held-out rows.

use autoencoder::{
    Autoencoder, AutoencoderConfig, Corruption, Pca, Vae, VaeConfig, principal_angles,
};
use optim::train::{Progress, TrainConfig, Trainable};
use optim::{Activation, Adam, Mat, Result};
use std::time::Instant;

struct Args {
    data: Option<String>,
    epochs: usize,
    seed: u64,
    k: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        data: std::env::var("DL_DATA_DIR").ok(),
        epochs: autoencoder::recipes::DIGITS_EPOCHS,
        seed: 0,
        k: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match a.as_str() {
            "--data" => args.data = Some(value("--data")),
            "--epochs" => args.epochs = value("--epochs").parse().expect("--epochs N"),
            "--seed" => args.seed = value("--seed").parse().expect("--seed S"),
            "--k" => args.k = value("--k").parse().expect("--k K"),
            other => {
                panic!("unknown argument {other} (use --data DIR, --epochs N, --seed S, --k K)")
            }
        }
    }
    args
}

fn fit(
    name: &str,
    model: &mut impl Trainable<f32, Data = Mat<f32>>,
    train_x: &Mat<f32>,
    val_x: &Mat<f32>,
    epochs: usize,
    lr: f64,
    seed: u64,
) -> Result<()> {
    let mut adam = Adam::new(lr)?;
    let config = TrainConfig::new(epochs, 32)
        .cosine(train_x.ncols(), lr * 0.01)
        .seed(seed);
    let start = Instant::now();
    let every = (epochs / 4).max(1);
    let h = model.fit(train_x, Some(val_x), &mut adam, &config, &mut |p| {
        if let Progress::Epoch(e) = p
            && e.epoch % every == 0
        {
            eprintln!(
                "  {name:<22} epoch {:>4}  loss {:.5}  held-out MSE {:.5}",
                e.epoch,
                e.train_loss,
                e.validation.map_or(f64::NAN, |v| v.loss)
            );
        }
    })?;
    eprintln!(
        "  {name:<22} trained in {:.1} s ({} epochs)",
        start.elapsed().as_secs_f64(),
        h.epochs.len()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args();
    let mut rng = optim::rng(args.seed);
    let (x, source) = match &args.data {
        Some(dir) => {
            let path = std::path::Path::new(dir).join("optdigits.tra");
            let ds = optim::data::load_optdigits::<f32>(&path)?;
            (ds.x / 16.0, format!("optdigits ({})", path.display()))
        }
        None => (
            autoencoder::data::blob_images::<f32>(3823, 8, &mut rng),
            "generated 8x8 blob images (pass --data DIR for optdigits)".to_string(),
        ),
    };
    let (tr, va) = optim::data::split_indices(x.ncols(), 0.25, &mut rng)?;
    let train_x = optim::data::select_columns(&x, &tr);
    let val_x = optim::data::select_columns(&x, &va);
    let (d, k) = (x.nrows(), args.k);
    println!(
        "data: {source}: {} train, {} held-out rows of {d} pixels in [0, 1]; code size k = {k}",
        train_x.ncols(),
        val_x.ncols()
    );

    let pca = Pca::fit(&train_x, k)?;
    let pca_mse = pca.reconstruction_error(&val_x)?;
    println!(
        "PCA (k = {k}):                       held-out MSE/pixel {pca_mse:.5}  (explains {:.1} % of the training variance)",
        100.0 * pca.explained_variance_ratio()
    );

    let mut linear = Autoencoder::new(AutoencoderConfig::linear(d, k), &mut rng)?;
    fit(
        "linear AE",
        &mut linear,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 1,
    )?;
    let lin_mse = linear.reconstruction_error(&val_x)?;
    let angles = principal_angles(
        &linear.decoder_weight(0).expect("one layer"),
        &pca.components,
    )?;
    println!(
        "linear AE {d}-{k}-{d}:                  held-out MSE/pixel {lin_mse:.5}  (ratio to PCA {:.4}; largest principal angle to PCA {:.3} rad)",
        lin_mse / pca_mse,
        angles.last().copied().unwrap_or(0.0)
    );

    // ReLU hidden layers and a linear 8-unit code: a ReLU code layer loses units for good
    // (a unit whose input is negative on every example gets no gradient), shown next.
    let relu = || autoencoder::recipes::digits_config(d, k);
    let mut plain = Autoencoder::new(relu(), &mut rng)?;
    fit(
        "ReLU AE",
        &mut plain,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 2,
    )?;
    let relu_mse = plain.reconstruction_error(&val_x)?;
    println!(
        "ReLU AE {d}-64-{k}-64-{d} (linear code): held-out MSE/pixel {relu_mse:.5}  (ratio to PCA {:.3})",
        relu_mse / pca_mse
    );

    let mut all_relu = Autoencoder::new(
        AutoencoderConfig::symmetric(d, &[64], k, Activation::Relu),
        &mut rng,
    )?;
    fit(
        "ReLU AE, ReLU code",
        &mut all_relu,
        &train_x,
        &val_x,
        args.epochs,
        1e-3,
        args.seed + 9,
    )?;
    let codes = all_relu.encode(&val_x)?;
    let dead = (0..k)
        .filter(|&j| codes.row(j).iter().all(|&c| c == 0.0))
        .count();
    println!(
        "ReLU AE {d}-64-{k}-64-{d} (ReLU code):   held-out MSE/pixel {:.5}  ({dead} of {k} code units dead on the held-out rows)",
        all_relu.reconstruction_error(&val_x)?
    );

    let mut tied = Autoencoder::new(relu().tied(), &mut rng)?;
    fit(
        "tied ReLU AE",
        &mut tied,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 3,
    )?;
    println!(
        "tied ReLU AE {d}-64-{k}-64-{d} (linear code): held-out MSE/pixel {:.5}",
        tied.reconstruction_error(&val_x)?
    );

    let masking = Corruption::Masking { fraction: 0.3 };
    let mut denoising = Autoencoder::new(relu().denoising(masking), &mut rng)?;
    fit(
        "denoising ReLU AE",
        &mut denoising,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 4,
    )?;
    let masked = autoencoder::corrupt(masking, &val_x, &mut optim::rng(args.seed + 99));
    let err = |m: &Autoencoder<f32>| -> Result<f64> {
        let r = m.reconstruct(&masked)?;
        Ok((r - &val_x).map(|v| (v as f64) * (v as f64)).sum() / val_x.len() as f64)
    };
    let (plain_masked, den_masked) = (err(&plain)?, err(&denoising)?);
    let pca_masked = (pca.reconstruct(&masked)? - &val_x)
        .map(|v| (v as f64) * (v as f64))
        .sum()
        / val_x.len() as f64;
    println!(
        "30 %-masked held-out rows -> clean: MSE/pixel  plain AE {plain_masked:.5}, denoising AE {den_masked:.5}, PCA {pca_masked:.5}"
    );
    println!(
        "denoising AE on clean held-out:       held-out MSE/pixel {:.5}",
        denoising.reconstruction_error(&val_x)?
    );

    let mut sparse = Autoencoder::new(
        AutoencoderConfig::symmetric(d, &[], 32, Activation::Sigmoid)
            .sparse(0.05, 0.1)
            .output_activation(Activation::Sigmoid),
        &mut rng,
    )?;
    fit(
        "sparse AE (k = 32)",
        &mut sparse,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 5,
    )?;
    let codes = sparse.encode(&val_x)?;
    println!(
        "sparse sigmoid AE {d}-32-{d} (rho 0.05): held-out MSE/pixel {:.5}, mean code activation {:.3}",
        sparse.reconstruction_error(&val_x)?,
        codes.mean()
    );

    let mut contractive = Autoencoder::new(
        AutoencoderConfig::symmetric(d, &[], k, Activation::Sigmoid)
            .contractive(0.01)
            .output_activation(Activation::Sigmoid),
        &mut rng,
    )?;
    fit(
        "contractive AE",
        &mut contractive,
        &train_x,
        &val_x,
        args.epochs,
        3e-3,
        args.seed + 6,
    )?;
    let cparts = contractive.objective(&val_x)?;
    println!(
        "contractive sigmoid AE {d}-{k}-{d}:      held-out MSE/pixel {:.5}, lambda·mean ||J||_F^2 {:.5}",
        contractive.reconstruction_error(&val_x)?,
        cparts.penalty
    );

    let mut vae = Vae::new(
        VaeConfig::symmetric(d, &[64], k, Activation::Relu).bce(),
        &mut rng,
    )?;
    fit(
        "VAE (BCE)",
        &mut vae,
        &train_x,
        &val_x,
        args.epochs,
        1e-3,
        args.seed + 7,
    )?;
    let eps = autoencoder::vae::standard_normal(k, val_x.ncols(), &mut optim::rng(args.seed + 8));
    let elbo = vae.objective(&val_x, &eps)?;
    println!(
        "VAE {d}-64-({k},{k})-64-{d}, Bernoulli:    held-out MSE/pixel {:.5} (mean code), -ELBO {:.3} nats/example (KL {:.3})",
        vae.reconstruction_error(&val_x)?,
        elbo.total,
        elbo.penalty
    );
    let samples = vae.sample(4, &mut rng)?;
    println!("four samples from the prior (8x8, '#' > 0.5, '+' > 0.25):");
    if d == 64 {
        for r in 0..8 {
            let line: Vec<String> = (0..4)
                .map(|s| {
                    (0..8)
                        .map(|c| match samples[(r * 8 + c, s)] {
                            v if v > 0.5 => '#',
                            v if v > 0.25 => '+',
                            _ => '.',
                        })
                        .collect()
                })
                .collect();
            println!("  {}", line.join("   "));
        }
    }
    Ok(())
}
