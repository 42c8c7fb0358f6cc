//! §4 representation learning: an autoencoder compresses its input through a small code and
//! reconstructs it; PCA is the linear reference it is measured against.
//!
//! Generated data: 8x8 images of one Gaussian blob each (a curved three-dimensional manifold in
//! pixel space), code size 3, so the non-linear autoencoder beats PCA clearly. With
//! `--data-dir`: UCI optdigits scaled to [0, 1], code size 8, against PCA with 8 components.
//! Both hold out a seeded quarter of the rows; every figure is the mean squared error per pixel
//! on those rows. A second model with a 2-unit code draws the code space.
//!
//! `--train TABLE`: any CSV table of numeric features (or IDX images), standardized with the
//! training rows' statistics, code size 8 (fewer for a table of fewer than 9 features); the
//! label column only colours the code space and is optional (`--label-column none`). A
//! seeded 20 % of the rows is held out unless `--test` gives the test rows. The reconstructions
//! are drawn as images when the features make a square.

use super::{Ctx, Scaling};
use crate::datafiles::Kind;
use crate::plot;
use crate::report::Outcome;
use autoencoder::{Autoencoder, AutoencoderConfig, Pca};
use optim::checkpoint::{load_model, save_model};
use optim::train::Progress;
use optim::{Adam, Mat, rng};

const MODEL_FILE: &str = "autoencoder.safetensors";

/// The data of a run: held-out split, class of each held-out example (for colours), and words.
struct Split {
    train: Mat<f32>,
    test: Mat<f32>,
    test_classes: Vec<usize>,
    classes_meaning: &'static str,
    data: String,
    code: usize,
    real: bool,
    /// UCI optdigits (the published references apply).
    optdigits: bool,
}

impl Split {
    /// Features per example.
    fn inputs(&self) -> usize {
        self.train.nrows()
    }
}

fn split(ctx: &Ctx) -> crate::Result<Split> {
    if let Some(t) = ctx.table_scaled("autoencoder", Scaling::Features)? {
        let features = t.train.x.nrows();
        let test_classes = if t.classes > 0 {
            t.test.class_labels("test table")?.to_vec()
        } else {
            vec![0; t.test.len()]
        };
        return Ok(Split {
            train: t.train.x.map(|v| v as f32),
            test: t.test.x.map(|v| v as f32),
            test_classes,
            classes_meaning: if t.classes > 0 {
                "class"
            } else {
                "nothing (the table has no labels)"
            },
            data: t.data,
            // PCA needs fewer components than features, and one of each is the least
            code: 8.min(features.saturating_sub(1)).max(1),
            real: true,
            optdigits: false,
        });
    }
    let mut r = rng(ctx.seed);
    let (x, labels, data, code, real, meaning) = match ctx.train_file(Kind::Optdigits)? {
        Some(file) => {
            let d = optim::data::load_optdigits::<f32>(&file)?;
            let labels = d.class_labels("optdigits")?.to_vec();
            (
                d.x / 16.0,
                labels,
                format!("{} (pixels / 16, seeded 25 % held out)", file.display()),
                8,
                true,
                "digit",
            )
        }
        None => {
            let x = autoencoder::data::blob_images::<f32>(3000, 8, &mut r);
            // the quadrant of each blob's brightest pixel, a class to colour the code space by
            let labels = (0..x.ncols())
                .map(|j| {
                    let k = x.column(j).argmax().0;
                    2 * usize::from(k / 8 >= 4) + usize::from(k % 8 >= 4)
                })
                .collect();
            (
                x,
                labels,
                "generated: 3000 8x8 Gaussian-blob images (25 % held out)".to_string(),
                3,
                false,
                "quadrant of the blob's centre",
            )
        }
    };
    let (tr, te) = optim::data::split_indices(x.ncols(), 0.25, &mut r)?;
    let (train, mut test) = (
        optim::data::select_columns(&x, &tr),
        optim::data::select_columns(&x, &te),
    );
    let mut test_classes: Vec<usize> = te.iter().map(|&i| labels[i]).collect();
    if let Some(t) = ctx.test_file(Kind::Optdigits)? {
        let d = optim::data::load_optdigits::<f32>(&t)?;
        test_classes = d.class_labels("optdigits test file")?.to_vec();
        test = d.x / 16.0;
    }
    Ok(Split {
        train,
        test,
        test_classes,
        classes_meaning: meaning,
        data,
        code,
        real,
        optdigits: real,
    })
}

/// The chapter's recipe: ReLU hidden layers and a linear code (`autoencoder::recipes`).
fn config(inputs: usize, code: usize) -> AutoencoderConfig {
    autoencoder::recipes::digits_config(inputs, code)
}

/// `inputs-64-code-64-inputs`, as the report names the model.
fn shape(inputs: usize, code: usize) -> String {
    format!("{inputs}-64-{code}-64-{inputs}")
}

/// The training checkpoints of the two models (`--resume` continues from them).
const TRAINING_FILE: &str = "autoencoder.training.safetensors";
const CODE2_TRAINING_FILE: &str = "autoencoder_code2.training.safetensors";

/// Trains an autoencoder with `code` units through the shared loop, its training checkpoint
/// saved as `file` after every epoch (`--resume` continues it); returns it with its held-out
/// MSE per epoch (of the epochs run here).
#[allow(clippy::too_many_arguments)]
fn fit(
    ctx: &Ctx,
    label: &str,
    file: &str,
    code: usize,
    s: &Split,
    epochs: usize,
    seed: u64,
) -> crate::Result<(Autoencoder<f32>, Vec<(f64, f64)>)> {
    let mut model = Autoencoder::new(config(s.inputs(), code), &mut rng(seed))?;
    let mut adam = Adam::new(autoencoder::recipes::DIGITS_LR)?;
    let settings = autoencoder::recipes::digits_train_config(s.train.ncols(), epochs, seed + 1);
    let bar = ctx.progress.bar(label, epochs as u64, "epochs");
    let n = s.train.ncols();
    let test = ctx
        .test
        .as_ref()
        .map_or(String::new(), |t| format!(", test file {}", t.display()));
    let history = ctx.fit_resumable(
        "autoencoder",
        &format!(
            "{} on {}{test}, seed {seed}",
            shape(s.inputs(), code),
            s.data
        ),
        file,
        &mut model,
        &s.train,
        Some(&s.test),
        &mut adam,
        &settings,
        &mut |p| {
            if let Progress::Epoch(e) = p {
                bar.update(e.epoch as u64, e.train_loss, (e.epoch * n) as u64);
            }
        },
    )?;
    bar.finish();
    let curve = history
        .epochs
        .iter()
        .filter_map(|e| e.validation.map(|v| (e.epoch as f64, v.loss)))
        .collect();
    Ok((model, curve))
}

/// Row-major pixels of column `j` as f64.
fn image(x: &Mat<f32>, j: usize) -> Vec<f64> {
    x.column(j).iter().map(|&v| f64::from(v)).collect()
}

/// Runs the chapter.
pub fn run(ctx: &Ctx) -> crate::Result<Outcome> {
    let s = split(ctx)?;
    let epochs = ctx.epochs_or(if s.real {
        autoencoder::recipes::DIGITS_EPOCHS as u64
    } else {
        60
    });
    let mut curve = Vec::new();
    let trained = ctx.load.is_none();
    let mut code2: Option<Autoencoder<f32>> = None;
    let model = match &ctx.load {
        Some(path) => {
            let m = load_model::<f32, Autoencoder<f32>>(path)?;
            if m.inputs() != s.inputs() {
                return Err(format!(
                    "{}: an autoencoder of {} inputs; the data has {} features",
                    path.display(),
                    m.inputs(),
                    s.inputs()
                )
                .into());
            }
            m
        }
        None => {
            let (m, c) = fit(
                ctx,
                "autoencoder",
                TRAINING_FILE,
                s.code,
                &s,
                epochs,
                ctx.seed + 1,
            )?;
            curve = c;
            let (m2, _) = fit(
                ctx,
                "ae code 2",
                CODE2_TRAINING_FILE,
                2,
                &s,
                epochs.div_ceil(2),
                ctx.seed + 2,
            )?;
            code2 = Some(m2);
            m
        }
    };
    let k = model.code_size();
    let test_mse = model.reconstruction_error(&s.test)?;
    let pca = Pca::fit(&s.train, k)?;
    let pca_mse = pca.reconstruction_error(&s.test)?;
    let mut out = Outcome::new(
        "autoencoder",
        format!(
            "ReLU autoencoder {} (linear code), Adam; PCA k = {k}",
            shape(s.inputs(), k)
        ),
        s.data.clone(),
    );
    out.metric("test_mse", test_mse)
        .metric("pca_test_mse", pca_mse)
        .metric("ratio_to_pca", test_mse / pca_mse)
        .metric("code_size", k as f64);
    if s.optdigits && k == 8 {
        out.reference(
            "test_mse",
            0.017,
            "scikit-learn 64-64-8-64-64 ReLU autoencoder on optdigits",
        )
        .reference("pca_test_mse", 0.024, "PCA, k = 8, on optdigits");
    } else {
        out.reference(
            "test_mse",
            pca_mse,
            "PCA with the same code size on the same split (the best linear code)",
        );
    }

    // originals, autoencoder and PCA reconstructions, one column each: one per class where
    // there are classes, else the first ten
    let mut picks: Vec<usize> = (0..10)
        .filter_map(|c| s.test_classes.iter().position(|&l| l == c))
        .collect();
    if picks.len() < 2 {
        picks = (0..10.min(s.test.ncols())).collect();
    }
    // drawn as images when the features make a square (8 x 8 for the blobs and optdigits)
    let side = s.inputs().isqrt();
    if side * side == s.inputs() {
        let originals = optim::data::select_columns(&s.test, &picks);
        let ae = model.reconstruct(&originals)?;
        let linear = pca.reconstruct(&originals)?;
        let mut images = Vec::new();
        for m in [&originals, &ae, &linear] {
            for j in 0..m.ncols() {
                images.push(image(m, j));
            }
        }
        plot::image_grid(
            &ctx.out_path("autoencoder_reconstructions.svg"),
            "Held-out originals (top), autoencoder (middle), PCA (bottom)",
            &images,
            side,
            side,
            picks.len(),
        )?;
        out.plot(
            "autoencoder_reconstructions.svg",
            format!(
                "Held-out images (top row) beside their reconstructions through a {k}-unit code: \
                 the autoencoder (middle, MSE {test_mse:.4} per pixel) and PCA with {k} components \
                 (bottom, {pca_mse:.4})."
            ),
        );
    }

    // the code space coloured by class
    let (codes, how) = match &code2 {
        Some(m2) => (
            m2.encode(&s.test)?,
            format!(
                "the code of a second autoencoder with a 2-unit bottleneck (held-out MSE {:.4})",
                m2.reconstruction_error(&s.test)?
            ),
        ),
        None => {
            let c = model.encode(&s.test)?;
            let p = Pca::fit(&c, 2.min(k))?;
            (
                p.transform(&c)?,
                format!("the loaded model's {k}-unit code, projected on its two principal axes"),
            )
        }
    };
    if let Some(m2) = &code2 {
        out.metric("test_mse_code2", m2.reconstruction_error(&s.test)?);
    }
    let points: Vec<(f64, f64, usize)> = (0..codes.ncols())
        .map(|j| {
            (
                f64::from(codes[(0, j)]),
                f64::from(codes[(codes.nrows().min(2) - 1, j)]),
                s.test_classes[j],
            )
        })
        .collect();
    plot::scatter(
        &ctx.out_path("autoencoder_codes.svg"),
        "Held-out examples in a 2-D code space",
        &points,
        None,
        &[],
        None,
    )?;
    out.plot(
        "autoencoder_codes.svg",
        format!(
            "Held-out examples in {how}, coloured by {}: the code groups them without ever \
             seeing a label.",
            s.classes_meaning
        ),
    );

    if !curve.is_empty() {
        let pca_line: Vec<(f64, f64)> = curve.iter().map(|&(e, _)| (e, pca_mse)).collect();
        plot::lines(
            &ctx.out_path("autoencoder_curve.svg"),
            "Held-out reconstruction error per epoch",
            "epoch",
            "MSE per pixel",
            &[
                (format!("autoencoder, k = {k}"), curve),
                (format!("PCA, k = {k}"), pca_line),
            ],
            false,
        )?;
        out.plot(
            "autoencoder_curve.svg",
            "Held-out MSE per pixel of the autoencoder per epoch, against PCA with the same code \
             size (flat: PCA is solved, not trained).",
        );
    }
    if trained {
        let mut model = model;
        save_model(ctx.out_path(MODEL_FILE), &mut model, &[])?;
        out.models.push(MODEL_FILE.into());
        out.models.push(TRAINING_FILE.into());
        out.models.push(CODE2_TRAINING_FILE.into());
    }
    Ok(out)
}
