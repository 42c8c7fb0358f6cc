//! Checkpoints: round trips in f32 and f64, files PyTorch reads and writes, errors that name the
//! tensor, unchanged models after failed loads, atomic saves, and exact resume of training.

use optim::checkpoint::{self, Checkpoint};
use optim::{
    Adagrad, Adam, BatchNorm, Error, Float, Linear, Mat, Optimizer, Param, Parameters, RmsProp,
    Sgd, loss, visit_child, visit_child_buffers, zero_grad,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

// ------------------------------------------------------------------------------------------
// helpers and small models
// ------------------------------------------------------------------------------------------

/// A fresh, empty folder for one test, removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "optim-checkpoint-{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))` with a buffer, in optim.
struct Mlp<F: Float> {
    l0: Linear<F>,
    l2: Linear<F>,
    running: Option<Mat<F>>,
}

impl<F: Float> Mlp<F> {
    fn new(seed: u64) -> Self {
        let mut rng = optim::rng(seed);
        Mlp {
            l0: Linear::new(3, 4, &mut rng),
            l2: Linear::new(4, 2, &mut rng),
            running: None,
        }
    }
    fn with_buffer(seed: u64) -> Self {
        let mut m = Self::new(seed);
        m.running = Some(Mat::from_fn(4, 1, |i, _| F::of(seed as f64 + i as f64)));
        m
    }
    fn predict(&self, x: &Mat<F>) -> Mat<F> {
        let h = self.l0.predict(x).unwrap().map(|v| v.tanh());
        self.l2.predict(&h).unwrap()
    }
}

impl<F: Float> Parameters<F> for Mlp<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child("0", &mut self.l0, visit);
        visit_child("2", &mut self.l2, visit);
    }
    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        if let Some(r) = &mut self.running {
            visit("running_mean", r);
        }
        visit_child_buffers("0", &mut self.l0, visit);
    }
}

fn values<F: Float>(model: &mut dyn Parameters<F>) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| {
        out.push((n.to_string(), p.value.iter().map(|v| v.to_f64()).collect()))
    });
    model.visit_buffers(&mut |n, m| {
        out.push((n.to_string(), m.iter().map(|v| v.to_f64()).collect()))
    });
    out
}

fn bits<F: Float>(model: &mut dyn Parameters<F>) -> Vec<u64> {
    values(model)
        .into_iter()
        .flat_map(|(_, v)| v)
        .map(f64::to_bits)
        .collect()
}

#[track_caller]
fn checkpoint_error<T: std::fmt::Debug>(r: optim::Result<T>, needles: &[&str]) -> String {
    match r {
        Err(e @ Error::Checkpoint { .. }) => {
            let msg = e.to_string();
            for n in needles {
                assert!(msg.contains(n), "{msg:?} should contain {n:?}");
            }
            msg
        }
        other => panic!("expected a Checkpoint error, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// round trips
// ------------------------------------------------------------------------------------------

fn round_trip<F: Float>() {
    let dir = temp_dir("round-trip");
    let path = dir.join("model.safetensors");
    let mut a = Mlp::<F>::with_buffer(1);
    let meta = [("epoch", "7".to_string()), ("note", "α = 0.1".to_string())];
    checkpoint::save(&path, &mut a, &meta).unwrap();
    let mut b = Mlp::<F>::with_buffer(2);
    assert_ne!(bits(&mut a), bits(&mut b));
    let got = checkpoint::load(&path, &mut b).unwrap();
    assert_eq!(bits(&mut a), bits(&mut b));
    assert_eq!(got["epoch"], "7");
    assert_eq!(got["note"], "α = 0.1");
    assert_eq!(got["format"], "inductive");
    let ck = Checkpoint::<F>::read(&path).unwrap();
    assert_eq!(
        ck.names(),
        ["0.bias", "0.weight", "2.bias", "2.weight", "running_mean"]
    );
    assert_eq!(ck.get("0.weight").unwrap(), &a.l0.weight.value);
    assert!(ck.get("nothing").is_none());
    assert_eq!(entries(&dir), ["model.safetensors"]);
}

#[test]
fn round_trip_f32_with_metadata() {
    round_trip::<f32>();
}

#[test]
fn round_trip_f64_with_metadata() {
    round_trip::<f64>();
}

/// A parameter whose matrix is `1 x n` but whose logical shape is `[n]` loads back in place.
#[test]
fn logical_shape_differs_from_matrix_layout() {
    struct Row(Param<f64>);
    impl Parameters<f64> for Row {
        fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
            visit("scale", &mut self.0)
        }
    }
    let dir = temp_dir("layout");
    let path = dir.join("row.safetensors");
    let mut a = Row(Param::with_shape(
        Mat::from_row_slice(1, 3, &[1.0, 2.0, 3.0]),
        vec![3],
    ));
    checkpoint::save(&path, &mut a, &[]).unwrap();
    let mut b = Row(Param::with_shape(Mat::zeros(1, 3), vec![3]));
    checkpoint::load(&path, &mut b).unwrap();
    assert_eq!(b.0.value, a.0.value);
}

// ------------------------------------------------------------------------------------------
// PyTorch, both ways
// ------------------------------------------------------------------------------------------

/// Value `k` (row-major) of a tensor at `offset`, as `check_checkpoint.py` recomputes it.
fn pattern(k: usize, offset: usize) -> f64 {
    (((k + offset) % 7) as f64 - 3.0) / 8.0
}

fn patterned<F: Float>(rows: usize, cols: usize, offset: usize) -> Mat<F> {
    Mat::from_fn(rows, cols, |i, j| F::of(pattern(i * cols + j, offset)))
}

fn output_metadata<F: Float>(y: &Mat<F>) -> String {
    y.iter()
        .map(|v| format!("{:?}", v.to_f64()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes the two files `check_checkpoint.py check` reads (their paths are printed), and checks
/// their layout here: row-major values under PyTorch's names and shapes.
#[test]
fn checkpoints_for_pytorch() {
    let x32 = Mat::<f32>::from_column_slice(3, 2, &[0.5, -1.0, 2.0, 0.0, 0.25, -0.75]);
    let mut mlp = Mlp::<f32> {
        l0: Linear::from_weights(patterned(4, 3, 0), Some(patterned(4, 1, 1))),
        l2: Linear::from_weights(patterned(2, 4, 2), Some(patterned(2, 1, 3))),
        running: None,
    };
    let y = mlp.predict(&x32);
    let p32 = std::env::temp_dir().join("optim_checkpoint_for_pytorch_f32.safetensors");
    checkpoint::save(&p32, &mut mlp, &[("output", output_metadata(&y))]).unwrap();

    let x64 = x32.map(f64::from);
    let mut lin = Linear::<f64>::from_weights(patterned(2, 3, 0), Some(patterned(2, 1, 1)));
    let y = lin.predict(&x64).unwrap();
    let p64 = std::env::temp_dir().join("optim_checkpoint_for_pytorch_f64.safetensors");
    checkpoint::save(&p64, &mut lin, &[("output", output_metadata(&y))]).unwrap();
    println!(
        "check with: python optim/tests/fixtures/check_checkpoint.py check {} {}",
        p32.display(),
        p64.display()
    );

    // The raw safetensors view: dtype, PyTorch shape, row-major little-endian bytes.
    let bytes = std::fs::read(&p32).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let w = st.tensor("0.weight").unwrap();
    assert_eq!(w.dtype(), safetensors::Dtype::F32);
    assert_eq!(w.shape(), [4, 3]);
    let first: Vec<f32> = w
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(first[..4], [-0.375, -0.25, -0.125, 0.0]); // (k % 7 − 3) / 8, k = 0..3
    assert_eq!(first[1], mlp.l0.weight.value[(0, 1)]); // row-major: (0, 1) is value 1
    assert_eq!(st.tensor("0.bias").unwrap().shape(), [4]);
    let bytes = std::fs::read(&p64).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        st.tensor("weight").unwrap().dtype(),
        safetensors::Dtype::F64
    );
    assert_eq!(st.tensor("bias").unwrap().shape(), [2]);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `torch_linear_3_2.txt`: lines `name dims... : values...`.
fn torch_values() -> Vec<(String, Vec<usize>, Vec<f64>)> {
    std::fs::read_to_string(fixture("torch_linear_3_2.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let (head, vals) = line.split_once(" : ").unwrap();
            let mut head = head.split(' ');
            let name = head.next().unwrap().to_string();
            let dims = head.map(|d| d.parse().unwrap()).collect();
            let vals = vals.split(' ').map(|v| v.parse().unwrap()).collect();
            (name, dims, vals)
        })
        .collect()
}

#[test]
fn loads_a_linear_saved_by_pytorch() {
    let path = fixture("torch_linear_3_2.safetensors");
    let expected = torch_values();
    assert_eq!(expected.len(), 2);
    let mut lin = Linear::<f32>::new(3, 2, &mut optim::rng(9));
    let meta = checkpoint::load(&path, &mut lin).unwrap();
    assert!(meta["source"].contains("nn.Linear(3, 2)"));
    let mut lin64 = Linear::<f64>::new(3, 2, &mut optim::rng(9));
    checkpoint::load(&path, &mut lin64).unwrap();
    for (name, dims, vals) in expected {
        let (p, p64) = match name.as_str() {
            "weight" => (&lin.weight, &lin64.weight),
            "bias" => (lin.bias.as_ref().unwrap(), lin64.bias.as_ref().unwrap()),
            other => panic!("unexpected {other}"),
        };
        assert_eq!(p.shape, dims);
        let cols = p.value.ncols();
        for (k, &v) in vals.iter().enumerate() {
            // PyTorch's values are float32; the text holds them exactly
            assert_eq!(p.value[(k / cols, k % cols)], v as f32, "{name}[{k}]");
            assert_eq!(p64.value[(k / cols, k % cols)], v, "{name}[{k}] as f64");
        }
    }
}

// ------------------------------------------------------------------------------------------
// errors name the tensor; the model is unchanged
// ------------------------------------------------------------------------------------------

#[test]
fn missing_misshapen_and_extra_tensors_are_named() {
    let dir = temp_dir("errors");
    let with_bias = dir.join("with-bias.safetensors");
    let no_bias = dir.join("no-bias.safetensors");
    let mut rng = optim::rng(0);
    checkpoint::save(&with_bias, &mut Linear::<f32>::new(3, 2, &mut rng), &[]).unwrap();
    let mut nb = Linear::<f32>::from_weights(Mat::from_element(2, 3, 0.5), None);
    checkpoint::save(&no_bias, &mut nb, &[]).unwrap();

    // missing: the file has no bias
    let mut model = Linear::<f32>::new(3, 2, &mut rng);
    let before = bits(&mut model);
    checkpoint_error(
        checkpoint::load(&no_bias, &mut model),
        &["parameter bias is missing", "no-bias.safetensors"],
    );
    assert_eq!(bits(&mut model), before);

    // misshapen: 3 → 2 in the file, 4 → 2 in the model
    let mut wide = Linear::<f32>::new(4, 2, &mut rng);
    let before = bits(&mut wide);
    checkpoint_error(
        checkpoint::load(&with_bias, &mut wide),
        &["parameter weight has shape [2, 3]", "expects [2, 4]"],
    );
    assert_eq!(bits(&mut wide), before);

    // extra: the file has a bias the model does not
    let mut model_nb = Linear::<f32>::from_weights(Mat::zeros(2, 3), None);
    checkpoint_error(
        checkpoint::load(&with_bias, &mut model_nb),
        &["tensor bias", "not a parameter"],
    );
    assert!(model_nb.weight.value.iter().all(|&v| v == 0.0));

    // a missing buffer
    let mut mb = Mlp::<f32>::with_buffer(3);
    let path = dir.join("mlp.safetensors");
    checkpoint::save(&path, &mut Mlp::<f32>::new(4), &[]).unwrap();
    let before = bits(&mut mb);
    checkpoint_error(
        checkpoint::load(&path, &mut mb),
        &["buffer running_mean is missing"],
    );
    assert_eq!(bits(&mut mb), before);
}

/// A safetensors file with `weight` stored in `dtype`.
fn file_with_dtype(path: &Path, dtype: safetensors::Dtype, elem: usize) {
    let w = vec![0u8; 6 * elem];
    let b = vec![0u8; 2 * 4];
    let views = vec![
        (
            "weight".to_string(),
            safetensors::tensor::TensorView::new(dtype, vec![2, 3], &w).unwrap(),
        ),
        (
            "bias".to_string(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &b).unwrap(),
        ),
    ];
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn wrong_dtype_is_named() {
    let dir = temp_dir("dtype");
    for (dtype, elem) in [
        (safetensors::Dtype::I32, 4),
        (safetensors::Dtype::F16, 2),
        (safetensors::Dtype::I64, 8),
    ] {
        let path = dir.join(format!("{dtype:?}.safetensors"));
        file_with_dtype(&path, dtype, elem);
        let mut model = Linear::<f32>::new(3, 2, &mut optim::rng(0));
        let before = bits(&mut model);
        checkpoint_error(
            checkpoint::load(&path, &mut model),
            &["parameter weight has dtype", &format!("{dtype:?}")],
        );
        assert_eq!(bits(&mut model), before);
        assert!(
            Checkpoint::<f32>::read(&path)
                .unwrap()
                .get("weight")
                .is_none()
        );
    }
}

#[test]
fn pytorch_batch_counters_are_ignored() {
    // PyTorch's batch norm writes an int64 `num_batches_tracked`; our layers keep no such
    // counter, so it must neither fail the load nor count as an unexpected tensor.
    let dir = temp_dir("batch-counter");
    let path = dir.join("with_counter.safetensors");
    let w: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let b: Vec<u8> = [0.5f32, -0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let count = 7i64.to_le_bytes();
    let views = vec![
        (
            "weight".to_string(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 3], &w).unwrap(),
        ),
        (
            "bias".to_string(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &b).unwrap(),
        ),
        (
            "bn.num_batches_tracked".to_string(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![], &count).unwrap(),
        ),
    ];
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let mut model = Linear::<f32>::new(3, 2, &mut optim::rng(0));
    checkpoint::load(&path, &mut model).unwrap();
    assert_eq!(model.weight.value[(1, 2)], 5.0);
    assert_eq!(model.bias.as_ref().unwrap().value[(1, 0)], -0.5);
}

#[test]
fn truncated_and_garbage_files_are_errors() {
    let dir = temp_dir("truncated");
    let good = dir.join("good.safetensors");
    let mut model = Mlp::<f32>::with_buffer(5);
    checkpoint::save(&good, &mut model, &[("k", "v".into())]).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let before = bits(&mut model);
    let cut = dir.join("cut.safetensors");
    for len in 0..bytes.len() {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let r = checkpoint::load(&cut, &mut model);
        assert!(
            matches!(r, Err(Error::Checkpoint { .. })),
            "length {len}: {r:?}"
        );
    }
    assert_eq!(bits(&mut model), before);
    let garbage = dir.join("garbage.safetensors");
    for content in [
        b"hello, world".to_vec(),
        vec![0xff; 64],
        // a header length of 2^63
        [&[0, 0, 0, 0, 0, 0, 0, 0x80][..], b"{}"].concat(),
        // a header that is not JSON
        [&8u64.to_le_bytes()[..], b"not json"].concat(),
    ] {
        std::fs::write(&garbage, &content).unwrap();
        checkpoint_error(
            checkpoint::load(&garbage, &mut model),
            &["garbage.safetensors", "not a valid safetensors file"],
        );
    }
    assert_eq!(bits(&mut model), before);
    assert!(matches!(
        checkpoint::load(dir.join("absent.safetensors"), &mut model),
        Err(Error::Io { .. })
    ));
}

// ------------------------------------------------------------------------------------------
// atomic saves
// ------------------------------------------------------------------------------------------

/// Two parameters with the same name: saving fails after collecting, before writing.
struct Duplicate(Linear<f32>, Linear<f32>);
impl Parameters<f32> for Duplicate {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f32>)) {
        visit_child("layer", &mut self.0, visit);
        visit_child("layer", &mut self.1, visit);
    }
}

#[test]
fn failed_saves_leave_the_good_checkpoint_and_no_temp_file() {
    let dir = temp_dir("atomic");
    let path = dir.join("ck.safetensors");
    let mut model = Mlp::<f32>::new(1);
    checkpoint::save(&path, &mut model, &[]).unwrap();
    let good = std::fs::read(&path).unwrap();

    // a save that fails (duplicate names) leaves the previous file byte-identical
    let mut rng = optim::rng(2);
    let mut dup = Duplicate(Linear::new(2, 2, &mut rng), Linear::new(2, 2, &mut rng));
    checkpoint_error(
        checkpoint::save(&path, &mut dup, &[]),
        &["two tensors are named \"layer.weight\""],
    );
    assert_eq!(std::fs::read(&path).unwrap(), good);
    assert_eq!(entries(&dir), ["ck.safetensors"]);

    // the target is a directory: the temporary file is written in full, the rename fails, and
    // the temporary file is removed
    let sub = dir.join("sub.safetensors");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("inside"), b"keep").unwrap();
    let r = checkpoint::save(&sub, &mut model, &[]);
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    assert!(sub.is_dir());
    assert_eq!(entries(&sub), ["inside"]);
    assert_eq!(entries(&dir), ["ck.safetensors", "sub.safetensors"]);

    // the folder does not exist
    let r = checkpoint::save(dir.join("absent/ck.safetensors"), &mut model, &[]);
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");

    // the folder is not writable (only meaningful when not running as root: root may write)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        let target = ro.join("ck.safetensors");
        checkpoint::save(&target, &mut model, &[]).unwrap();
        let good_ro = std::fs::read(&target).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = std::fs::File::create(ro.join("probe"));
        if probe.is_err() {
            let mut other = Mlp::<f32>::new(9);
            let r = checkpoint::save(&target, &mut other, &[]);
            assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
            assert_eq!(std::fs::read(&target).unwrap(), good_ro);
            assert_eq!(entries(&ro), ["ck.safetensors"]);
        } else {
            println!("read-only folder case skipped: this process can write anywhere (root)");
            std::fs::remove_file(ro.join("probe")).unwrap();
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // a good save replaces the file, and still leaves no temporary file
    let mut other = Mlp::<f32>::new(3);
    checkpoint::save(&path, &mut other, &[]).unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), good);
    checkpoint::load(&path, &mut model).unwrap();
    assert_eq!(bits(&mut model), bits(&mut other));
    assert!(entries(&dir).iter().all(|n| !n.contains("tmp")));
}

#[test]
fn concurrent_saves_to_one_path_do_not_collide() {
    let dir = temp_dir("concurrent");
    let path = dir.join("ck.safetensors");
    std::thread::scope(|s| {
        for seed in 0..4 {
            let path = &path;
            s.spawn(move || {
                let mut m = Mlp::<f32>::new(seed);
                for _ in 0..5 {
                    checkpoint::save(path, &mut m, &[]).unwrap();
                }
            });
        }
    });
    // whichever won, the file is one whole checkpoint
    let mut m = Mlp::<f32>::new(99);
    checkpoint::load(&path, &mut m).unwrap();
    assert!((0..4).any(|seed| bits(&mut Mlp::<f32>::new(seed)) == bits(&mut m)));
    assert_eq!(entries(&dir), ["ck.safetensors"]);
}

// ------------------------------------------------------------------------------------------
// exact resume
// ------------------------------------------------------------------------------------------

fn data() -> (Mat<f32>, Mat<f32>) {
    let x = Mat::from_fn(4, 16, |i, j| ((i * 16 + j) as f32 * 0.37).sin());
    let y = Mat::from_fn(3, 16, |i, j| ((i + 2 * j) as f32 * 0.11).cos());
    (x, y)
}

fn train(model: &mut Linear<f32>, opt: &mut dyn Optimizer<f32>, steps: usize) {
    let (x, y) = data();
    for _ in 0..steps {
        let pred = model.forward(&x).unwrap();
        let (_, dpred) = loss::mse(&pred, &y).unwrap();
        zero_grad(model);
        model.backward(&dpred).unwrap();
        opt.step(model).unwrap();
    }
}

/// 10 steps straight vs 5 steps, `save_training`, `load_training` into a fresh model and a fresh
/// optimizer (built with another learning rate, restored from the file), 5 more steps.
fn exact_resume(name: &str, make: &dyn Fn(f64) -> Box<dyn Optimizer<f32>>) {
    let dir = temp_dir(name);
    let path = dir.join("train.safetensors");
    let mut straight = Linear::<f32>::new(4, 3, &mut optim::rng(1));
    let mut opt = make(0.01);
    train(&mut straight, opt.as_mut(), 10);

    let mut first = Linear::<f32>::new(4, 3, &mut optim::rng(1));
    let mut opt1 = make(0.01);
    train(&mut first, opt1.as_mut(), 5);
    checkpoint::save_training(&path, &mut first, opt1.as_ref(), &[("step", "5".into())]).unwrap();

    let mut resumed = Linear::<f32>::new(4, 3, &mut optim::rng(2));
    let mut opt2 = make(0.5);
    let meta = checkpoint::load_training(&path, &mut resumed, opt2.as_mut()).unwrap();
    assert_eq!(meta["step"], "5");
    assert_eq!(opt2.steps(), 5);
    assert_eq!(opt2.learning_rate(), 0.01);
    train(&mut resumed, opt2.as_mut(), 5);
    assert_eq!(
        bits(&mut resumed),
        bits(&mut straight),
        "{name}: resumed training differs from straight training"
    );
    assert_eq!(opt2.steps(), 10);
    // the resumed parameters moved (the comparison is not vacuous)
    assert_ne!(bits(&mut first), bits(&mut straight));
}

#[test]
fn exact_resume_adam() {
    exact_resume("adam", &|lr| Box::new(Adam::new(lr).unwrap()));
}

#[test]
fn exact_resume_adamw_amsgrad() {
    exact_resume("adamw", &|lr| {
        Box::new(Adam::adamw(lr, 0.01).unwrap().amsgrad())
    });
}

#[test]
fn exact_resume_sgd_momentum() {
    exact_resume("sgd-momentum", &|lr| {
        Box::new(Sgd::new(lr).unwrap().momentum(0.9).unwrap())
    });
}

#[test]
fn exact_resume_nesterov() {
    exact_resume("nesterov", &|lr| {
        Box::new(
            Sgd::new(lr)
                .unwrap()
                .momentum(0.9)
                .unwrap()
                .nesterov()
                .unwrap(),
        )
    });
}

#[test]
fn exact_resume_rmsprop() {
    exact_resume("rmsprop", &|lr| Box::new(RmsProp::new(lr).unwrap()));
    exact_resume("rmsprop-centered-momentum", &|lr| {
        Box::new(RmsProp::new(lr).unwrap().momentum(0.5).unwrap().centered())
    });
}

#[test]
fn exact_resume_adagrad() {
    exact_resume("adagrad", &|lr| Box::new(Adagrad::new(lr).unwrap()));
}

/// After a failed `load_training` the model and the optimizer are as they were.
#[test]
fn failed_load_training_changes_nothing() {
    let dir = temp_dir("failed-resume");
    let adam_ck = dir.join("adam.safetensors");
    let mut m = Linear::<f32>::new(4, 3, &mut optim::rng(1));
    let mut adam = Adam::new(0.01).unwrap();
    train(&mut m, &mut adam, 3);
    checkpoint::save_training(&adam_ck, &mut m, &adam, &[]).unwrap();
    let plain_ck = dir.join("plain.safetensors");
    checkpoint::save(&plain_ck, &mut m, &[]).unwrap();
    let momentum_ck = dir.join("momentum.safetensors");
    let mut sgd_m = Sgd::new(0.01).unwrap().momentum(0.9).unwrap();
    train(&mut m, &mut sgd_m, 2);
    checkpoint::save_training(&momentum_ck, &mut m, &sgd_m, &[]).unwrap();

    let cases: Vec<(&Path, Box<dyn Optimizer<f32>>, &str)> = vec![
        // Adam state into SGD with momentum: momentum_buffer missing
        (
            &adam_ck,
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
            "momentum_buffer",
        ),
        // no optimizer state at all
        (
            &plain_ck,
            Box::new(Adam::new(0.1).unwrap()),
            "no optimizer state",
        ),
        // SGD-momentum state into plain SGD: state it does not use
        (
            &momentum_ck,
            Box::new(Sgd::new(0.1).unwrap()),
            "momentum_buffer",
        ),
        // Adam state into RMSProp
        (&adam_ck, Box::new(RmsProp::new(0.1).unwrap()), "square_avg"),
    ];
    for (path, mut opt, needle) in cases {
        let mut model = Linear::<f32>::new(4, 3, &mut optim::rng(7));
        // give the optimizer some state of its own first
        train(&mut model, opt.as_mut(), 2);
        let model_before = bits(&mut model);
        let state_before = opt.export_state(&mut model);
        let lr_before = opt.learning_rate();
        checkpoint_error(
            checkpoint::load_training(path, &mut model, opt.as_mut()),
            &[needle],
        );
        assert_eq!(bits(&mut model), model_before, "{needle}: model changed");
        assert_eq!(
            opt.export_state(&mut model),
            state_before,
            "{needle}: state changed"
        );
        assert_eq!(opt.learning_rate(), lr_before);
    }

    // a model that does not fit: neither model nor optimizer changes
    let mut wide = Linear::<f32>::new(5, 3, &mut optim::rng(7));
    let mut opt = Adam::new(0.1).unwrap();
    train_wide(&mut wide, &mut opt);
    let before = bits(&mut wide);
    let state = opt.export_state(&mut wide);
    checkpoint_error(
        checkpoint::load_training(&adam_ck, &mut wide, &mut opt),
        &["parameter weight has shape"],
    );
    assert_eq!(bits(&mut wide), before);
    assert_eq!(opt.export_state(&mut wide), state);
}

fn train_wide(model: &mut Linear<f32>, opt: &mut dyn Optimizer<f32>) {
    let x = Mat::from_element(5, 2, 0.5);
    let y = Mat::from_element(3, 2, 1.0);
    let pred = model.forward(&x).unwrap();
    let (_, d) = loss::mse(&pred, &y).unwrap();
    zero_grad(model);
    model.backward(&d).unwrap();
    opt.step(model).unwrap();
}

mod model_checkpoints {
    //! `Saveable` models: kind and JSON configuration in the file, checked on load, and a
    //! configuration that asks for more than the file holds refused before anything is built.
    use optim::checkpoint::{self, Checkpoint, Saveable};
    use optim::{Linear, LinearConfig, Param, Parameters, Result};

    #[derive(Debug)]
    struct Probe {
        config: LinearConfig,
        layer: Linear<f32>,
    }

    static BUILT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    impl Parameters<f32> for Probe {
        fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut Param<f32>)) {
            optim::visit_child("layer", &mut self.layer, v)
        }
    }

    impl Saveable<f32> for Probe {
        const KIND: &'static str = "probe";
        type Config = LinearConfig;
        fn config(&self) -> LinearConfig {
            self.config
        }
        fn parameter_count(c: &LinearConfig) -> Option<usize> {
            c.inputs
                .checked_mul(c.outputs)?
                .checked_add(if c.bias { c.outputs } else { 0 })
        }
        fn from_config(c: &LinearConfig) -> Result<Self> {
            BUILT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Probe {
                config: *c,
                layer: c.init(&mut optim::rng(0)),
            })
        }
    }

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "optim-ck-{}-{name}.safetensors",
            std::process::id()
        ))
    }

    fn saved(name: &str) -> std::path::PathBuf {
        let config = LinearConfig::new(3, 2);
        let mut model = Probe {
            config,
            layer: config.init(&mut optim::rng(4)),
        };
        let path = temp(name);
        checkpoint::save_model(&path, &mut model, &[("note", "x".into())]).unwrap();
        path
    }

    /// Rewrites the file's metadata entry `key` to `value`, keeping the tensors.
    fn with_metadata(path: &std::path::Path, key: &str, value: &str) {
        let ck = Checkpoint::<f32>::read(path).unwrap();
        let mut meta = ck.metadata.clone();
        meta.insert(key.into(), value.into());
        let w = ck.get("layer.weight").unwrap().clone();
        let b = ck.get("layer.bias").unwrap().clone();
        let mut layer = Linear::from_weights(w, Some(b));
        struct Named<'a>(&'a mut Linear<f32>);
        impl Parameters<f32> for Named<'_> {
            fn visit_params(&mut self, v: &mut dyn FnMut(&str, &mut Param<f32>)) {
                optim::visit_child("layer", self.0, v)
            }
        }
        let meta: Vec<(&str, String)> = meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        checkpoint::save(path, &mut Named(&mut layer), &meta).unwrap();
    }

    #[test]
    fn round_trip_keeps_kind_config_weights_and_extra_metadata() {
        let path = saved("round");
        let ck = Checkpoint::<f32>::read(&path).unwrap();
        assert_eq!(ck.metadata["kind"], "probe");
        assert_eq!(
            ck.config::<LinearConfig>("probe").unwrap(),
            LinearConfig::new(3, 2)
        );
        let (model, meta): (Probe, _) = checkpoint::load_model_with_metadata(&path).unwrap();
        assert_eq!(meta["note"], "x");
        let fresh = LinearConfig::new(3, 2).init::<f32>(&mut optim::rng(4));
        assert_eq!(model.layer.weight.value, fresh.weight.value);
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn another_kind_or_a_broken_config_is_an_error_naming_it() {
        let path = saved("kind");
        with_metadata(&path, "kind", "mlp");
        let err = checkpoint::load_model::<f32, Probe>(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"mlp\"") && err.contains("\"probe\""),
            "{err}"
        );
        with_metadata(&path, "kind", "probe");
        with_metadata(&path, "config", "{\"inputs\": 3, \"outputs\": \"two\"}");
        let err = checkpoint::load_model::<f32, Probe>(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("configuration") && err.contains("\"two\""),
            "{err}"
        );
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn a_config_asking_for_more_than_the_file_holds_is_refused_before_building() {
        let path = saved("huge");
        for (config, what) in [
            (
                r#"{"inputs":30000,"outputs":30000,"bias":true,"init":"pytorch_default"}"#,
                "asks for 900030000 parameters",
            ),
            (
                r#"{"inputs":18446744073709551615,"outputs":2,"bias":true,"init":"pytorch_default"}"#,
                "overflows",
            ),
        ] {
            with_metadata(&path, "config", config);
            let built = BUILT.load(std::sync::atomic::Ordering::SeqCst);
            let err = checkpoint::load_model::<f32, Probe>(&path)
                .unwrap_err()
                .to_string();
            assert!(err.contains(what), "{err}");
            assert_eq!(
                BUILT.load(std::sync::atomic::Ordering::SeqCst),
                built,
                "nothing built"
            );
        }
        std::fs::remove_file(path).ok();
    }
}

// ------------------------------------------------------------------------------------------
// untrusted files and reproducible bytes (issue 14)
// ------------------------------------------------------------------------------------------

#[test]
fn same_model_and_metadata_give_the_same_bytes() {
    // the metadata map is written in hash order by the safetensors crate; ours sorts it
    let dir = temp_dir("bytes");
    let meta: Vec<(&str, String)> = [
        "kind", "config", "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
    ]
    .iter()
    .enumerate()
    .map(|(i, k)| (*k, format!("value {i}")))
    .collect();
    let mut first = Vec::new();
    for round in 0..6 {
        let path = dir.join(format!("m{round}.safetensors"));
        checkpoint::save(&path, &mut Mlp::<f32>::new(3), &meta).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        if round == 0 {
            first = bytes;
        } else {
            assert_eq!(bytes, first, "save {round} wrote other bytes");
        }
    }
    // and the file still reads back with every key
    let ck = Checkpoint::<f32>::read(dir.join("m0.safetensors")).unwrap();
    for (k, v) in &meta {
        assert_eq!(ck.metadata.get(*k), Some(v));
    }
}

/// A safetensors file written by hand from a header string and data bytes.
fn raw_file(path: &Path, header: &str, data: &[u8]) {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn duplicate_keys_in_a_header_are_refused() {
    let dir = temp_dir("dup-keys");
    let path = dir.join("d.safetensors");
    let t = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    raw_file(
        &path,
        &format!(r#"{{"w":{t},"w":{t}}}"#),
        &1f32.to_le_bytes(),
    );
    let e = Checkpoint::<f32>::read(&path)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("\"w\" appears twice"), "{e}");
    raw_file(
        &path,
        &format!(r#"{{"__metadata__":{{"kind":"mlp","kind":"cnn"}},"w":{t}}}"#),
        &1f32.to_le_bytes(),
    );
    let e = Checkpoint::<f32>::read(&path)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("\"kind\" appears twice"), "{e}");
    // the same file without the repetition reads
    raw_file(&path, &format!(r#"{{"w":{t}}}"#), &1f32.to_le_bytes());
    assert!(Checkpoint::<f32>::read(&path).is_ok());
}

#[test]
fn non_finite_parameters_are_refused_by_name() {
    let dir = temp_dir("non-finite");
    for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
        let path = dir.join("nf.safetensors");
        let mut model = Mlp::<f32>::new(4);
        model.l2.weight.value[(1, 2)] = bad;
        checkpoint::save(&path, &mut model, &[]).unwrap();
        let mut fresh = Mlp::<f32>::new(5);
        let before = values(&mut fresh);
        let e = checkpoint::load(&path, &mut fresh).unwrap_err().to_string();
        assert!(
            e.contains("parameter 2.weight holds a non-finite value") && e.contains("index 6"),
            "{e}"
        );
        assert_eq!(
            values(&mut fresh),
            before,
            "a refused load changed the model"
        );
    }
}

/// A linear layer followed by batch norm, as a network names them (`bn.running_var`).
struct Normed {
    l0: Linear<f32>,
    bn: BatchNorm<f32>,
}

impl Normed {
    fn new(seed: u64) -> Self {
        Normed {
            l0: Linear::new(3, 4, &mut optim::rng(seed)),
            bn: BatchNorm::new(4),
        }
    }
}

impl Parameters<f32> for Normed {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f32>)) {
        visit_child("0", &mut self.l0, visit);
        visit_child("bn", &mut self.bn, visit);
    }
    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<f32>)) {
        visit_child_buffers("bn", &mut self.bn, visit);
    }
}

#[test]
fn negative_or_non_finite_running_variance_is_refused_by_name() {
    let dir = temp_dir("running-var");
    let path = dir.join("bn.safetensors");
    // nested (`bn.running_var`, as in a network) and bare (`running_var`, a lone layer)
    for (bad, needle) in [
        (
            -0.5,
            "buffer bn.running_var holds a negative variance (-0.5) at flat index 2",
        ),
        (-1e-30, "buffer bn.running_var holds a negative variance"),
        (
            f32::INFINITY,
            "buffer bn.running_var holds a non-finite value (inf) at flat index 2",
        ),
        (
            f32::NAN,
            "buffer bn.running_var holds a non-finite value (NaN)",
        ),
    ] {
        let mut model = Normed::new(1);
        model.bn.running_var[2] = bad;
        checkpoint::save(&path, &mut model, &[]).unwrap();
        let mut fresh = Normed::new(2);
        let before = values(&mut fresh);
        checkpoint_error(checkpoint::load(&path, &mut fresh), &[needle]);
        assert_eq!(
            values(&mut fresh),
            before,
            "a refused load changed the model"
        );
    }
    let mut lone = BatchNorm::<f64>::new(3);
    lone.running_var[0] = -2.0;
    checkpoint::save(&path, &mut lone, &[]).unwrap();
    checkpoint_error(
        checkpoint::load(&path, &mut BatchNorm::<f64>::new(3)),
        &["buffer running_var holds a negative variance (-2) at flat index 0"],
    );
    // a zero variance (a constant feature) and a negative running *mean* are fine
    let mut ok = Normed::new(3);
    ok.bn.running_var[1] = 0.0;
    ok.bn.running_mean[1] = -3.0;
    checkpoint::save(&path, &mut ok, &[]).unwrap();
    let mut fresh = Normed::new(4);
    checkpoint::load(&path, &mut fresh).unwrap();
    assert_eq!(bits(&mut fresh), bits(&mut ok));
}

#[test]
fn temporary_files_of_killed_saves_are_removed_by_the_next_save() {
    let dir = temp_dir("stale");
    let path = dir.join("ck.safetensors");
    // pid 4294967 is above Linux's pid_max (2^22): no such process runs
    let stale = dir.join(".ck.safetensors.tmp-4294967-0");
    let mine = dir.join(format!(".ck.safetensors.tmp-{}-999", std::process::id()));
    let other = dir.join(".other.safetensors.tmp-4294967-0");
    for f in [&stale, &mine, &other] {
        std::fs::write(f, b"half a checkpoint").unwrap();
    }
    checkpoint::save(&path, &mut Mlp::<f32>::new(1), &[]).unwrap();
    let left = entries(&dir);
    if Path::new("/proc/self").exists() {
        assert!(
            !left.contains(&".ck.safetensors.tmp-4294967-0".to_string()),
            "{left:?}"
        );
    }
    // a running process's temporary file and another target's are kept
    assert!(mine.exists() && other.exists(), "{left:?}");
    assert!(left.contains(&"ck.safetensors".to_string()));
}

/// An optimizer state that would turn the weights into NaN at the next step, or a step count no
/// counter can hold, is refused on load by name, and the optimizer is left as it was.
#[test]
fn absurd_optimizer_state_is_refused_by_name() {
    let dir = temp_dir("absurd-optimizer-state");
    let mut m = Linear::<f32>::new(4, 3, &mut optim::rng(1));
    let mut adam = Adam::new(0.01).unwrap();
    train(&mut m, &mut adam, 3);
    let good = adam.export_state(&mut m);
    let cases: Vec<(&str, f32, &str)> = vec![
        (
            "weight.exp_avg",
            f32::NAN,
            "weight.exp_avg holds a non-finite value",
        ),
        (
            "bias.exp_avg_sq",
            f32::INFINITY,
            "bias.exp_avg_sq holds a non-finite value",
        ),
        (
            "weight.exp_avg_sq",
            -1e-3,
            "weight.exp_avg_sq holds a negative value",
        ),
        ("step", 1e30, "invalid step"),
        ("step", 2.5, "invalid step"),
    ];
    for (key, value, needle) in cases {
        let mut state = good.clone();
        let slot = state.iter_mut().find(|(n, _)| n == key).unwrap();
        slot.1.as_mut_slice()[0] = value;
        let path = dir.join("bad.safetensors");
        write_with_state(&path, &mut m, &adam, &state);
        let mut fresh_model = Linear::<f32>::new(4, 3, &mut optim::rng(2));
        let mut fresh = Adam::new(0.5).unwrap();
        train(&mut fresh_model, &mut fresh, 1);
        let before = fresh.export_state(&mut fresh_model);
        let err = checkpoint::load_training(&path, &mut fresh_model, &mut fresh)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{key} = {value}: {err}");
        let after = fresh.export_state(&mut fresh_model);
        for ((n, a), (_, b)) in before.iter().zip(&after) {
            assert_eq!(a, b, "{n} changed by a refused load");
        }
        assert_eq!(fresh.learning_rate(), 0.5);
    }
}

/// A training checkpoint of `model` and `optimizer` (written by `save_training`) whose optimizer
/// tensors are then replaced by `state`, everything else (shapes, metadata) as saved.
fn write_with_state(
    path: &Path,
    model: &mut Linear<f32>,
    optimizer: &Adam<f32>,
    state: &[(String, Mat<f32>)],
) {
    checkpoint::save_training(path, model, optimizer, &[]).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let replaced: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = match state.iter().find(|(n, _)| format!("optimizer.{n}") == name) {
                // row-major with the logical shape; these slots are columns or 1 x 1
                Some((_, m)) => {
                    let m = m.transpose();
                    m.as_slice().iter().flat_map(|v| v.to_le_bytes()).collect()
                }
                None => view.data().to_vec(),
            };
            (name, view.shape().to_vec(), data)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = replaced
        .iter()
        .map(|(n, shape, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .unwrap();
            (n.clone(), view)
        })
        .collect();
    let out = safetensors::tensor::serialize(views, meta.metadata().clone()).unwrap();
    std::fs::write(path, out).unwrap();
}
