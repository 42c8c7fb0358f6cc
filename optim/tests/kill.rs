//! Crash safety of checkpoint writes (issue 14): a child process trains a small model (a
//! `Linear` layer with Adam) and saves a training checkpoint to one file after every step, with
//! the step in the metadata; the parent SIGKILLs it at seeded random moments and, after every
//! kill, loads the file with `load_training` and checks that it is, bit for bit (parameters,
//! optimizer state, learning rate, step count), the state the deterministic training reaches at
//! the step the metadata names. The next child resumes from that file, so the step on disk must
//! also never go back, and temporary files of killed saves must not pile up (the next save
//! removes them: at most the last killed one's is left).
//!
//! This test is its own `main` (`harness = false` in `Cargo.toml`): the parent, or the child
//! when `OPTIM_KILL_CHILD` names the checkpoint to write. Settings, from the environment:
//! `OPTIM_KILL_ROUNDS` (default 50), `OPTIM_KILL_SEED` (seed of the delays, default 0),
//! `OPTIM_KILL_MAX_DELAY_US` (kill delays are uniform in `0..=` this many microseconds after the
//! child reports it is ready, default 30000). `scripts/kill-test` runs 1000 rounds.

#[cfg(not(unix))]
fn main() {
    println!("kill test: skipped (SIGKILL needs a unix system)");
}

#[cfg(unix)]
fn main() {
    if let Some(path) = std::env::var_os(unix::CHILD_ENV) {
        unix::child(std::path::Path::new(&path));
    } else if std::env::args().any(|a| a == "--list") {
        // what a test lister (`cargo test -- --list`, nextest) expects of a test binary
        println!("kill: test");
    } else {
        std::process::exit(unix::parent());
    }
}

#[cfg(unix)]
mod unix {
    use optim::checkpoint;
    use optim::{Adam, Linear, Mat, Optimizer, Parameters, loss, zero_grad};
    use rand::Rng;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Set in the child's environment to the checkpoint path.
    pub const CHILD_ENV: &str = "OPTIM_KILL_CHILD";
    const FILE: &str = "train.safetensors";
    const MODEL_SEED: u64 = 14;
    /// A child left alone (its parent gone) stops after this long.
    const CHILD_LIFETIME: Duration = Duration::from_secs(30);

    fn env_or(name: &str, default: u64) -> u64 {
        match std::env::var(name) {
            Ok(v) => v
                .parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
            Err(_) => default,
        }
    }

    fn fresh() -> (Linear<f32>, Adam<f32>) {
        (
            Linear::new(4, 3, &mut optim::rng(MODEL_SEED)),
            Adam::new(0.01).expect("valid rate"),
        )
    }

    /// Deterministic in the step alone (no RNG state to carry across processes): inputs and
    /// targets in `[-1, 1]` from a multiplicative hash of `(step, index)`.
    fn batch(step: u64) -> (Mat<f32>, Mat<f32>) {
        let v = |k: u64| ((k.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 1000.0 - 1.0;
        let x = Mat::from_fn(4, 8, |i, j| v(step * 64 + (i * 8 + j) as u64));
        let y = Mat::from_fn(3, 8, |i, j| v(step * 64 + 32 + (i * 8 + j) as u64));
        (x, y)
    }

    /// One Adam step on the batch of `step`.
    fn train_step(model: &mut Linear<f32>, adam: &mut Adam<f32>, step: u64) {
        let (x, y) = batch(step);
        let pred = model.forward(&x).expect("shapes fit");
        let (_, dpred) = loss::mse(&pred, &y).expect("shapes fit");
        zero_grad(model);
        model.backward(&dpred).expect("shapes fit");
        adam.step(model).expect("same parameters");
    }

    /// Everything a resume depends on, as bits.
    #[derive(Debug, PartialEq)]
    struct State {
        steps: u64,
        learning_rate: u64,
        tensors: Vec<(String, Vec<u32>)>,
    }

    fn state(model: &mut Linear<f32>, adam: &Adam<f32>) -> State {
        let bits = |m: &Mat<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        let mut tensors = Vec::new();
        model.visit_params(&mut |n, p| tensors.push((n.to_string(), bits(&p.value))));
        for (n, m) in adam.export_state(model) {
            tensors.push((format!("optimizer.{n}"), bits(&m)));
        }
        tensors.sort();
        State {
            steps: adam.steps(),
            learning_rate: adam.learning_rate().to_bits(),
            tensors,
        }
    }

    /// The child: resume from the file if there is one, report `ready`, then train and save
    /// after every step until killed (or, if nobody kills it, for [`CHILD_LIFETIME`]).
    pub fn child(path: &Path) {
        let (mut model, mut adam) = fresh();
        let mut step = 0u64;
        if path.exists() {
            let meta = checkpoint::load_training(path, &mut model, &mut adam)
                .unwrap_or_else(|e| panic!("child: cannot resume: {e}"));
            step = meta["step"].parse().expect("child: step metadata");
        }
        let mut out = std::io::stdout();
        writeln!(out, "ready {step}")
            .and_then(|()| out.flush())
            .expect("child: stdout");
        let started = Instant::now();
        while started.elapsed() < CHILD_LIFETIME {
            step += 1;
            train_step(&mut model, &mut adam, step);
            checkpoint::save_training(path, &mut model, &adam, &[("step", step.to_string())])
                .unwrap_or_else(|e| panic!("child: save of step {step}: {e}"));
        }
    }

    /// The states of the straight training after 1, 2, ... steps, extended on demand.
    struct Reference {
        model: Linear<f32>,
        adam: Adam<f32>,
        states: Vec<State>,
    }

    impl Reference {
        fn at(&mut self, step: u64) -> Option<&State> {
            // a lying step count must not make the parent train for hours
            if step == 0 || step > self.states.len() as u64 + 10_000_000 {
                return None;
            }
            while (self.states.len() as u64) < step {
                let s = self.states.len() as u64 + 1;
                train_step(&mut self.model, &mut self.adam, s);
                self.states.push(state(&mut self.model, &self.adam));
            }
            self.states.get(step as usize - 1)
        }
    }

    /// Removes the folder when the test ends.
    struct TempDir(PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The temporary files of saves in `dir`: how many, and whether one is process `pid`'s.
    fn temporaries(dir: &Path, pid: u32) -> (usize, bool) {
        let prefix = format!(".{FILE}.tmp-");
        let mine = format!("{prefix}{pid}-");
        let names: Vec<String> = std::fs::read_dir(dir)
            .expect("read the folder")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        (names.len(), names.iter().any(|n| n.starts_with(&mine)))
    }

    /// Runs the rounds; returns the exit code (0: every file loaded and was a saved state).
    pub fn parent() -> i32 {
        let rounds = env_or("OPTIM_KILL_ROUNDS", 50);
        let seed = env_or("OPTIM_KILL_SEED", 0);
        let max_delay = env_or("OPTIM_KILL_MAX_DELAY_US", 30_000);
        let dir = std::env::temp_dir().join(format!("optim-kill-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let _guard = TempDir(dir.clone());
        let path = dir.join(FILE);
        let exe = std::env::current_exe().expect("own executable");
        let mut rng = optim::rng(seed);
        let (model, adam) = fresh();
        let mut reference = Reference {
            model,
            adam,
            states: Vec::new(),
        };
        let started = Instant::now();
        let mut last_step = 0u64;
        let (mut torn, mut went_back, mut lost, mut other) = (0u64, 0u64, 0u64, 0u64);
        let (mut mid_write, mut advanced, mut max_temporaries) = (0u64, 0u64, 0usize);
        for round in 1..=rounds {
            let mut child = Command::new(&exe)
                .env(CHILD_ENV, &path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn the child");
            let mut line = String::new();
            let ready = BufReader::new(child.stdout.take().expect("piped"))
                .read_line(&mut line)
                .is_ok_and(|n| n > 0 && line.starts_with("ready"));
            if ready {
                std::thread::sleep(Duration::from_micros(rng.random_range(0..=max_delay)));
            }
            // `Child::kill` sends SIGKILL on unix
            let _ = child.kill();
            let status = child.wait().expect("wait for the child");
            if status.signal() != Some(9) {
                other += 1;
                println!("round {round}: the child was not killed but ended: {status} ({line:?})");
            }
            let (temps, killed_mid_write) = temporaries(&dir, child.id());
            max_temporaries = max_temporaries.max(temps);
            mid_write += u64::from(killed_mid_write);
            if !path.exists() {
                if last_step > 0 {
                    lost += 1;
                    println!("round {round}: the checkpoint of step {last_step} is gone");
                }
                continue;
            }
            let (mut model, mut adam) = (
                Linear::<f32>::new(4, 3, &mut optim::rng(seed + 1000)),
                Adam::<f32>::new(0.5).expect("valid rate"),
            );
            let step = match checkpoint::load_training(&path, &mut model, &mut adam) {
                Err(e) => {
                    torn += 1;
                    println!("round {round}: unloadable: {e}");
                    None
                }
                Ok(meta) => match meta.get("step").and_then(|s| s.parse::<u64>().ok()) {
                    None => {
                        torn += 1;
                        println!("round {round}: no step in the metadata: {meta:?}");
                        None
                    }
                    Some(step) => {
                        let got = state(&mut model, &adam);
                        if reference.at(step) == Some(&got) {
                            Some(step)
                        } else {
                            torn += 1;
                            println!(
                                "round {round}: the file says step {step} but holds another state"
                            );
                            None
                        }
                    }
                },
            };
            match step {
                Some(s) => {
                    if s < last_step {
                        went_back += 1;
                        println!("round {round}: step {s} on disk after step {last_step}");
                    }
                    if s > last_step {
                        advanced += 1;
                    }
                    last_step = s;
                }
                None => {
                    // keep counting: the next child starts over from scratch
                    let _ = std::fs::remove_file(&path);
                    last_step = 0;
                }
            }
        }
        let piled_up = u64::from(max_temporaries > 1);
        let failures = torn + went_back + lost + other + piled_up;
        println!(
            "kill test: {rounds} rounds in {:.1} s (delays 0-{max_delay} µs, seed {seed}); \
             the step on disk advanced in {advanced} rounds and reached {last_step}; \
             {mid_write} kills left a temporary file (killed mid-write), at most \
             {max_temporaries} at once",
            started.elapsed().as_secs_f64()
        );
        println!(
            "torn or unloadable files: {torn} of {rounds}; step went back: {went_back}; \
             checkpoint lost: {lost}; child ended on its own: {other}; temporaries piled up: \
             {piled_up}"
        );
        if advanced == 0 && rounds >= 10 {
            println!("kill test: FAILED: no child ever saved a step (the test checked nothing)");
            return 1;
        }
        if failures > 0 {
            println!("kill test: FAILED");
            return 1;
        }
        0
    }
}
