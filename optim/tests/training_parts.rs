//! One training-state file for the trainers with their own loops (issue 14):
//! `checkpoint::TrainingParts` writes several models, their optimizers, loop tensors and the
//! loop position; `checkpoint::TrainingFile` reads them back bit for bit, and refuses — changing
//! nothing — a file of another kind, a model checkpoint, a missing, misshapen, extra or
//! non-finite tensor, another optimizer's state.

use optim::checkpoint::{self, Restore, TrainingFile, TrainingParts};
use optim::init::RngState;
use optim::{Adam, Linear, Mat, Optimizer, Parameters, Sgd, loss, zero_grad};
use std::path::{Path, PathBuf};

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("optim-parts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Position {
    epoch: usize,
    step: u64,
    rng: RngState,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Config {
    hidden: usize,
}

/// A generator, a discriminator, two Adams that have taken steps, a chain.
struct Parts {
    g: Linear<f32>,
    d: Linear<f32>,
    opt_g: Adam<f32>,
    opt_d: Adam<f32>,
    chain: Mat<f32>,
}

fn trained(seed: u64) -> Parts {
    let mut rng = optim::rng(seed);
    let mut p = Parts {
        g: Linear::new(2, 3, &mut rng),
        d: Linear::new(3, 1, &mut rng),
        opt_g: Adam::new(0.01).unwrap(),
        opt_d: Adam::new(0.02).unwrap(),
        chain: Mat::from_fn(3, 4, |i, j| (i * 4 + j) as f32 * 0.25),
    };
    let x = Mat::from_fn(2, 5, |i, j| (i + 2 * j) as f32 * 0.1 - 0.3);
    for _ in 0..3 {
        zero_grad(&mut p.g);
        zero_grad(&mut p.d);
        let h = p.g.forward(&x).unwrap();
        let y = p.d.forward(&h).unwrap();
        let (_, dy) = loss::mse(&y, &Mat::zeros(1, 5)).unwrap();
        let dh = p.d.backward(&dy).unwrap();
        p.g.backward(&dh).unwrap();
        p.opt_g.step(&mut p.g).unwrap();
        p.opt_d.step(&mut p.d).unwrap();
    }
    p
}

fn position() -> Position {
    let mut rng = optim::rng(11);
    let _: [u64; 7] = rand::Rng::random(&mut rng);
    Position {
        epoch: 4,
        step: 123,
        rng: RngState::of(11, 0, &rng).unwrap(),
    }
}

fn save(p: &mut Parts, path: &Path) {
    TrainingParts::new("toy", &Config { hidden: 3 }, &position())
        .unwrap()
        .model("generator", &mut p.g)
        .optimizer("generator", &mut p.g, &p.opt_g)
        .model("discriminator", &mut p.d)
        .optimizer("discriminator", &mut p.d, &p.opt_d)
        .tensor("chain", &p.chain)
        .save(path)
        .unwrap();
}

fn bits(p: &mut Parts) -> Vec<(String, Vec<u32>)> {
    let b = |m: &Mat<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let mut out = Vec::new();
    for (name, model, opt) in [("g", &mut p.g, &p.opt_g), ("d", &mut p.d, &p.opt_d)] {
        model.visit_params(&mut |n, q| out.push((format!("{name}.{n}"), b(&q.value))));
        for (n, m) in opt.export_state(model) {
            out.push((format!("{name}.opt.{n}"), b(&m)));
        }
        let lr = opt.learning_rate() as f32;
        out.push((format!("{name}.lr"), vec![lr.to_bits()]));
    }
    out.push(("chain".into(), b(&p.chain)));
    out
}

/// Reads everything of `path` into `p` (the usual order: locals first, then restore).
fn load(p: &mut Parts, path: &Path) -> optim::Result<Position> {
    let mut file = TrainingFile::<f32>::read(path, "toy")?;
    let config: Config = file.config()?;
    assert_eq!(config, Config { hidden: 3 });
    let position: Position = file.position()?;
    let chain = file.tensor("chain", 3, 4)?;
    file.restore(&mut [
        Restore::model("generator", &mut p.g).optimizer(&mut p.opt_g),
        Restore::model("discriminator", &mut p.d).optimizer(&mut p.opt_d),
    ])?;
    p.chain = chain;
    Ok(position)
}

fn fresh() -> Parts {
    let mut p = trained(99);
    p.opt_g.set_learning_rate(0.5);
    p.chain.fill(7.0);
    p
}

#[test]
fn everything_round_trips_bit_for_bit() {
    let dir = temp_dir("round-trip");
    let path = dir.0.join("state.safetensors");
    let mut saved = trained(1);
    save(&mut saved, &path);
    let mut back = fresh();
    assert_ne!(bits(&mut back), bits(&mut saved));
    let position = load(&mut back, &path).unwrap();
    assert_eq!(position, self::position());
    assert_eq!(bits(&mut back), bits(&mut saved));
    // the generator continues where it was
    let mut live = optim::rng(11);
    let _: [u64; 7] = rand::Rng::random(&mut live);
    let a: u64 = rand::Rng::random(&mut position.rng.generator());
    assert_eq!(a, rand::Rng::random::<u64>(&mut live));
    // the same state gives the same bytes
    let again = dir.0.join("again.safetensors");
    save(&mut saved, &again);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

/// `load` fails with a message containing `needle` and leaves `fresh()` as it was.
fn refused(path: &Path, needle: &str) {
    let mut p = fresh();
    let before = bits(&mut p);
    let err = load(&mut p, path).unwrap_err().to_string();
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert_eq!(bits(&mut p), before, "changed by a refused load: {err}");
}

#[test]
fn another_kind_or_a_model_checkpoint_is_refused() {
    let dir = temp_dir("kind");
    let path = dir.0.join("other.safetensors");
    let mut p = trained(1);
    TrainingParts::new("gan", &Config { hidden: 3 }, &position())
        .unwrap()
        .model("generator", &mut p.g)
        .save(&path)
        .unwrap();
    refused(&path, "not of \"toy\"");
    checkpoint::save(&path, &mut p.g, &[("kind", "toy".into())]).unwrap();
    refused(&path, "not a training-state file");
}

/// Saves `p` with `edit` applied to the builder chain's parts.
fn save_with(path: &Path, build: impl FnOnce(&mut Parts) -> TrainingParts<f32>) {
    let mut p = trained(1);
    build(&mut p).save(path).unwrap();
}

fn builder() -> TrainingParts<f32> {
    TrainingParts::new("toy", &Config { hidden: 3 }, &position()).unwrap()
}

#[test]
fn missing_misshapen_and_extra_tensors_are_refused_without_change() {
    let dir = temp_dir("tensors");
    let path = dir.0.join("bad.safetensors");
    // no discriminator
    save_with(&path, |p| {
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .tensor("chain", &p.chain)
    });
    refused(&path, "parameter discriminator.weight is missing");
    // the chain of another shape
    save_with(&path, |p| {
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .optimizer("discriminator", &mut p.d, &p.opt_d)
            .tensor("chain", &Mat::zeros(4, 3))
    });
    refused(&path, "state.chain has shape [4, 3]");
    // a tensor the trainer does not read
    save_with(&path, |p| {
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .optimizer("discriminator", &mut p.d, &p.opt_d)
            .tensor("chain", &p.chain)
            .tensor("ghost", &Mat::zeros(1, 1))
    });
    refused(
        &path,
        "state.ghost in the file is not part of this trainer's state",
    );
    // the discriminator's optimizer missing: the generator's must not stay imported
    save_with(&path, |p| {
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .tensor("chain", &p.chain)
    });
    refused(&path, "no tensor named optimizer.discriminator.");
    // SGD with momentum's state for an Adam: refused after the generator's was imported
    save_with(&path, |p| {
        let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
        zero_grad(&mut p.d);
        sgd.step(&mut p.d).unwrap();
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .optimizer("discriminator", &mut p.d, &sgd)
            .tensor("chain", &p.chain)
    });
    refused(&path, "optimizer.discriminator.");
}

#[test]
fn non_finite_values_are_refused_by_name() {
    let dir = temp_dir("finite");
    let path = dir.0.join("nan.safetensors");
    save_with(&path, |p| {
        let mut chain = p.chain.clone();
        chain[(1, 2)] = f32::NAN;
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .optimizer("discriminator", &mut p.d, &p.opt_d)
            .tensor("chain", &chain)
    });
    refused(
        &path,
        "state.chain holds a non-finite value (NaN) at flat index 6",
    );
    save_with(&path, |p| {
        p.d.weight.value[(0, 1)] = f32::INFINITY;
        builder()
            .model("generator", &mut p.g)
            .optimizer("generator", &mut p.g, &p.opt_g)
            .model("discriminator", &mut p.d)
            .optimizer("discriminator", &mut p.d, &p.opt_d)
            .tensor("chain", &p.chain)
    });
    refused(
        &path,
        "parameter discriminator.weight holds a non-finite value",
    );
}

#[test]
fn a_malformed_position_or_bad_part_names_are_errors() {
    let dir = temp_dir("position");
    let path = dir.0.join("p.safetensors");
    let mut p = trained(1);
    TrainingParts::new("toy", &Config { hidden: 3 }, &"not a position")
        .unwrap()
        .model("generator", &mut p.g)
        .save(&path)
        .unwrap();
    let file = TrainingFile::<f32>::read(&path, "toy").unwrap();
    let err = file.position::<Position>().unwrap_err().to_string();
    assert!(err.contains("metadata \"position\""), "{err}");
    for bad in ["", "a.b", "state", "optimizer"] {
        let err = builder()
            .model(bad, &mut p.g)
            .save(&path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not allowed"), "{bad:?}: {err}");
    }
    let err = builder()
        .model("g", &mut p.g)
        .model("g", &mut p.d)
        .save(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("two models are named \"g\""), "{err}");
}
