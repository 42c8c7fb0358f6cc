//! `tour bench`: the reference workloads of the performance comparison with PyTorch, each in
//! steady state after a warm-up, printing its throughput (`--json`: one JSON line, the same
//! fields as the PyTorch scripts of `bench/` print).
//!
//! Every workload trains through the workspace's one loop (`optim::train::fit`, batches gathered
//! from a pool of synthetic f32 examples, forward, loss, backward, optimizer step) except `rbm`
//! (contrastive divergence has its own loop, with the same shards: `CdConfig::shards`) and
//! `gemm` (the matrix product alone). With more than one thread the batches are cut into
//! `--shards` data-parallel parts (default: one per thread; `TrainConfig::shards`), products
//! inside a part on one thread.

use crate::Result;
use optim::data::Dataset;
use optim::train::{TrainConfig, Trainable};
use optim::{Adam, Mat, Optimizer, Sgd};
use rand::Rng;
use std::time::Instant;

/// A reference workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// MLP 784-256-128-10 ReLU, Adam 1e-3, batch 128 (examples/s).
    Mlp,
    /// LeNet-5 (padding 2), SGD 0.01 with momentum 0.9, batch 64 (examples/s).
    Lenet,
    /// LSTM 32→128, 50 steps, read out at the last step, MSE, Adam, batch 32 (sequences/s).
    Lstm,
    /// GPT: vocabulary 65, width 128, 4 heads, 2 pre-LN layers, feed-forward 512 GELU, context
    /// 64, batch 32, AdamW (tokens/s).
    Transformer,
    /// GRU 128 encoder–decoder with additive attention, reversal of 20–30 symbols, batch 64,
    /// Adam, clipping 1 (sequences/s).
    Seq2seq,
    /// RBM 784×500, CD-1, batch 100 (examples/s).
    Rbm,
    /// The matrix product on the shapes of these workloads and on squares 64–1024 (GFLOP/s).
    Gemm,
    /// Cost growth: milliseconds per step of `transformer` for context 32 … 512, of `lstm` for
    /// length 25 … 400 and of `mlp` for batch 16 … 1024.
    Growth,
    /// Every workload above, as a table.
    All,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Mlp => "mlp",
            Workload::Lenet => "lenet",
            Workload::Lstm => "lstm",
            Workload::Transformer => "transformer",
            Workload::Seq2seq => "seq2seq",
            Workload::Rbm => "rbm",
            Workload::Gemm => "gemm",
            Workload::Growth => "growth",
            Workload::All => "all",
        }
    }
}

/// Run one reference workload (or all) in steady state and print its throughput.
///
/// The same workloads in PyTorch are the scripts of the repository's `bench/` folder;
/// `bench/run.py` runs both sides alternately and writes the table of medians and ratios.
#[derive(Debug, clap::Parser)]
#[command(name = "tour bench")]
pub struct BenchCli {
    /// The workload.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Threads (rayon's pool and the matrix products).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
    /// Data-parallel parts per batch (default: the thread count).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub shards: Option<u64>,
    /// Seconds of the timed part (after a warm-up of about a fifth of it).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Print one JSON object per workload instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// The size the growth tables vary, for one workload: the batch of mlp, the sequence
    /// length of lstm, the context of transformer.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub size: Option<u64>,
    /// After the timed part, time the step's matrix products alone on the same shapes and
    /// threads (mlp, lstm, transformer; one shard), in alternating rounds with one epoch of
    /// training each (one round per whole second of `--seconds`, 1 to 5), and report
    /// `products_share`, the median share of a step they take, and their GFLOP/s. Their
    /// operands then count in the peak memory.
    #[arg(long)]
    pub products: bool,
}

/// What one workload measured.
#[derive(Debug, Clone)]
pub struct Measured {
    workload: &'static str,
    unit: &'static str,
    throughput: f64,
    steps: usize,
    seconds: f64,
    threads: usize,
    shards: usize,
    /// Extra fields for the JSON line (gemm: per-shape figures).
    extra: Vec<(String, serde_json::Value)>,
}

impl Measured {
    fn json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({
            "workload": self.workload,
            "side": "inductive",
            "unit": self.unit,
            "throughput": self.throughput,
            "steps": self.steps,
            "seconds": self.seconds,
            "threads": self.threads,
            "shards": self.shards,
            "peak_rss_mb": peak_rss_mb(),
        });
        for (k, v) in &self.extra {
            o[k.as_str()] = v.clone();
        }
        o
    }
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs `tour bench …` (the arguments after `bench`).
pub fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    use clap::Parser;
    let cli = BenchCli::try_parse_from(std::iter::once("tour bench".to_string()).chain(args))
        .map_err(|e| {
            // --help and --version print and exit 0, as clap does for the main command
            if !e.use_stderr() {
                let _ = e.print();
                std::process::exit(0);
            }
            e.to_string()
        })?;
    if !(cli.seconds.is_finite() && cli.seconds > 0.0) {
        return Err(format!("--seconds {}: must be positive", cli.seconds).into());
    }
    let threads = cli.threads as usize;
    let shards = cli.shards.map_or(threads, |s| s as usize);
    optim::linalg::set_threads(threads);
    let list: Vec<Workload> = match cli.workload {
        Workload::All => vec![
            Workload::Mlp,
            Workload::Lenet,
            Workload::Lstm,
            Workload::Transformer,
            Workload::Seq2seq,
            Workload::Rbm,
            Workload::Gemm,
        ],
        w => vec![w],
    };
    let run = Run {
        threads,
        shards,
        seconds: cli.seconds,
        size: cli.size.map(|s| s as usize),
        products: cli.products,
    };
    if run.products
        && (shards != 1
            || !matches!(
                cli.workload,
                Workload::Mlp | Workload::Lstm | Workload::Transformer
            ))
    {
        return Err(
            "--products: only mlp, lstm and transformer, with one shard (--shards 1)".into(),
        );
    }
    if let Some(size) = run.size
        && !matches!(
            cli.workload,
            Workload::Mlp | Workload::Lstm | Workload::Transformer
        )
    {
        return Err(format!(
            "--size {size}: only mlp (batch), lstm (length) and transformer (context) have one"
        )
        .into());
    }
    if cli.workload == Workload::Growth {
        return run.growth(cli.json);
    }
    let mut rows = Vec::new();
    for w in list {
        let m = run.workload(w)?;
        if cli.json {
            println!("{}", m.json());
        } else if cli.workload != Workload::All {
            println!(
                "{}: {:.1} {} ({} steps in {:.2} s, threads {}, shards {})",
                m.workload, m.throughput, m.unit, m.steps, m.seconds, m.threads, m.shards
            );
        }
        rows.push(m);
    }
    if !cli.json && cli.workload == Workload::All {
        println!("| workload | throughput | unit | steps | seconds |");
        println!("|---|---:|---|---:|---:|");
        for m in &rows {
            println!(
                "| {} | {:.1} | {} | {} | {:.2} |",
                m.workload, m.throughput, m.unit, m.steps, m.seconds
            );
        }
        println!("threads {threads}, shards {shards}");
    }
    Ok(())
}

struct Run {
    threads: usize,
    shards: usize,
    seconds: f64,
    size: Option<usize>,
    /// Time the products alone too (`--products`).
    products: bool,
}

impl Run {
    fn workload(&self, w: Workload) -> Result<Measured> {
        match w {
            Workload::Mlp => self.mlp(),
            Workload::Lenet => self.lenet(),
            Workload::Lstm => self.lstm(),
            Workload::Transformer => self.transformer(),
            Workload::Seq2seq => self.seq2seq(),
            Workload::Rbm => self.rbm(),
            Workload::Gemm => self.gemm(),
            Workload::All | Workload::Growth => unreachable!("handled by main"),
        }
    }

    fn measured(&self, workload: Workload, unit: &'static str, per_step: f64) -> Measured {
        Measured {
            workload: workload.name(),
            unit,
            throughput: 0.0,
            steps: 0,
            seconds: 0.0,
            threads: self.threads,
            shards: self.shards,
            extra: Vec::new(),
        }
        .with_rate(per_step)
    }

    /// Trains `model` on `data` through `fit`: a warm-up of about a fifth of the time (at least
    /// one epoch), then as many epochs as fill `--seconds`; returns (steps, seconds) of the
    /// timed epochs.
    fn timed_fit<M: Trainable<f32>>(
        &self,
        model: &mut M,
        data: &M::Data,
        optimizer: &mut dyn Optimizer<f32>,
        config: TrainConfig,
    ) -> Result<(usize, f64)> {
        let config = config.shards(self.shards);
        let warm = TrainConfig {
            epochs: 1,
            ..config.clone()
        };
        let started = Instant::now();
        let mut epochs_done = 0usize;
        while epochs_done == 0 || started.elapsed().as_secs_f64() < 0.2 * self.seconds {
            model.fit(data, None, optimizer, &warm, &mut |_| {})?;
            epochs_done += 1;
        }
        let per_epoch = started.elapsed().as_secs_f64() / epochs_done as f64;
        let epochs = ((self.seconds / per_epoch).ceil() as usize).max(1);
        let timed = TrainConfig {
            epochs,
            seed: 1,
            ..config
        };
        let started = Instant::now();
        let history = model.fit(data, None, optimizer, &timed, &mut |_| {})?;
        Ok((history.steps, started.elapsed().as_secs_f64()))
    }

    /// Rounds of the `--products` comparison: one per whole second of `--seconds`, 1 to
    /// [`PRODUCT_ROUNDS`].
    fn product_rounds(&self) -> usize {
        (self.seconds.floor() as usize).clamp(1, PRODUCT_ROUNDS)
    }

    /// One more epoch of `fit` as [`Run::timed_fit`] runs them; returns its steps.
    fn one_epoch<M: Trainable<f32>>(
        &self,
        model: &mut M,
        data: &M::Data,
        optimizer: &mut dyn Optimizer<f32>,
        config: TrainConfig,
    ) -> Result<usize> {
        let config = config.shards(self.shards);
        Ok(model
            .fit(data, None, optimizer, &config, &mut |_| {})?
            .steps)
    }

    fn mlp(&self) -> Result<Measured> {
        self.mlp_with(self.size.unwrap_or(128))
    }

    fn mlp_with(&self, batch: usize) -> Result<Measured> {
        let n = 8192usize.max(4 * batch);
        let mut rng = optim::rng(0);
        let x = Mat::<f32>::from_fn(784, n, |_, _| rng.random::<f32>());
        let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
        let data = Dataset::classification(x, labels)?;
        let mut model = mlp::Config::classifier(784, &[256, 128], 10).init::<f32>(&mut rng)?;
        let mut adam = Adam::new(1e-3)?;
        let (steps, secs) =
            self.timed_fit(&mut model, &data, &mut adam, TrainConfig::new(1, batch))?;
        let mut m = self
            .measured(Workload::Mlp, "examples/s", batch as f64)
            .at(steps, secs);
        if self.products {
            // the step's products alone (issue 19's ≥ 0.75 of the step)
            let epoch = || self.one_epoch(&mut model, &data, &mut adam, TrainConfig::new(1, batch));
            m = m.with_products_share(
                &mlp_products(batch),
                self.product_rounds(),
                epoch,
                &mut rng,
            )?;
        }
        Ok(m)
    }

    fn lenet(&self) -> Result<Measured> {
        let (n, batch) = (2048usize, 64usize);
        let mut rng = optim::rng(0);
        let x = Mat::<f32>::from_fn(784, n, |_, _| rng.random::<f32>());
        let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
        let data = Dataset::classification(x, labels)?;
        let mut model = cnn::Cnn::<f32>::lenet5(&mut rng);
        let mut sgd = Sgd::new(0.01)?.momentum(0.9)?;
        let (steps, secs) =
            self.timed_fit(&mut model, &data, &mut sgd, TrainConfig::new(1, batch))?;
        Ok(self
            .measured(Workload::Lenet, "examples/s", batch as f64)
            .at(steps, secs))
    }

    fn lstm(&self) -> Result<Measured> {
        self.lstm_with(self.size.unwrap_or(50))
    }

    fn lstm_with(&self, steps: usize) -> Result<Measured> {
        let (input, hidden, n, batch) = (32usize, 128usize, 512usize, 32usize);
        let mut rng = optim::rng(0);
        let x = Mat::<f32>::from_fn(input, steps * n, |_, _| rng.random_range(-1.0..1.0));
        let y = Mat::<f32>::from_fn(1, n, |_, _| rng.random_range(-1.0..1.0));
        let data = rnn::Sequences::regression(rnn::Seq::new(x, steps, n)?, y)?;
        let mut model = rnn::SeqModel::<f32>::new(
            rnn::ModelConfig::dense(rnn::CellKind::Lstm, input, hidden, 1, rnn::Readout::Last),
            &mut rng,
        )?;
        let mut adam = Adam::new(1e-3)?;
        let (done, secs) =
            self.timed_fit(&mut model, &data, &mut adam, TrainConfig::new(1, batch))?;
        let mut m = self
            .measured(Workload::Lstm, "sequences/s", batch as f64)
            .at(done, secs);
        if self.products {
            let products = lstm_products(input, hidden, steps, batch);
            let epoch = || self.one_epoch(&mut model, &data, &mut adam, TrainConfig::new(1, batch));
            m = m.with_products_share(&products, self.product_rounds(), epoch, &mut rng)?;
        }
        Ok(m)
    }

    fn transformer(&self) -> Result<Measured> {
        self.transformer_with(self.size.unwrap_or(64))
    }

    fn transformer_with(&self, context: usize) -> Result<Measured> {
        let (batch, windows) = (32usize, 512usize);
        let config = transformer::GptConfig::new(65, context)
            .with_width(128)
            .with_heads(4)
            .with_layers(2);
        let mut model = transformer::Gpt::<f32>::new(&config, &mut optim::rng(0))?;
        let mut rng = optim::rng(1);
        let tokens: Vec<usize> = (0..context * windows + 1)
            .map(|_| rng.random_range(0..65))
            .collect();
        let data = transformer::data::TokenWindows::strided(tokens, context, context)?;
        let mut adamw = Adam::adamw(1e-3, 0.1)?;
        let (steps, secs) =
            self.timed_fit(&mut model, &data, &mut adamw, TrainConfig::new(1, batch))?;
        let mut m = self
            .measured(Workload::Transformer, "tokens/s", (batch * context) as f64)
            .at(steps, secs);
        if self.products {
            let products = transformer_products(&config, batch);
            let epoch =
                || self.one_epoch(&mut model, &data, &mut adamw, TrainConfig::new(1, batch));
            m = m.with_products_share(&products, self.product_rounds(), epoch, &mut rng)?;
        }
        Ok(m)
    }

    fn seq2seq(&self) -> Result<Measured> {
        use rnn::seq2seq::{AttentionKind, Pairs, Seq2Seq, Seq2SeqConfig, Task, Vocab, generate};
        let batch = 64usize;
        let mut rng = optim::rng(0);
        let pairs = generate(Task::Reverse, 8 * batch, 10, 20, 30, &mut rng)?;
        let vocab = Vocab::from_pairs(&pairs);
        let data = Pairs::encode(&vocab, &pairs);
        let mut config = Seq2SeqConfig::new(vocab, 32, 128, AttentionKind::Additive);
        config.bidirectional = false;
        config.decoder_hidden = 128;
        config.attention_dim = 128;
        let mut model = Seq2Seq::<f32>::new(config, &mut optim::rng(1))?;
        let mut adam = Adam::new(1e-3)?;
        let (steps, secs) = self.timed_fit(
            &mut model,
            &data,
            &mut adam,
            TrainConfig::new(1, batch).clip_grad_norm(1.0),
        )?;
        Ok(self
            .measured(Workload::Seq2seq, "sequences/s", batch as f64)
            .at(steps, secs))
    }

    fn rbm(&self) -> Result<Measured> {
        use generative::{CdConfig, Rbm, RbmConfig};
        let (n, batch) = (2000usize, 100usize);
        let mut rng = optim::rng(0);
        let x = Mat::<f32>::from_fn(784, n, |_, _| f32::from(rng.random::<f32>() < 0.13));
        let mut rbm = Rbm::<f32>::new(RbmConfig::new(784, 500), &mut optim::rng(1))?;
        let config = |epochs| CdConfig {
            epochs,
            batch_size: batch,
            monitor_examples: 0,
            shards: self.shards,
            ..CdConfig::cd(1, epochs)
        };
        let started = Instant::now();
        let mut warm = 0usize;
        while warm == 0 || started.elapsed().as_secs_f64() < 0.2 * self.seconds {
            rbm.train_cd(&x, None, &config(1), &mut |_| {})?;
            warm += 1;
        }
        let per_epoch = started.elapsed().as_secs_f64() / warm as f64;
        let epochs = ((self.seconds / per_epoch).ceil() as usize).max(1);
        let started = Instant::now();
        rbm.train_cd(&x, None, &config(epochs), &mut |_| {})?;
        let secs = started.elapsed().as_secs_f64();
        Ok(self
            .measured(Workload::Rbm, "examples/s", batch as f64)
            .at(epochs * n.div_ceil(batch), secs))
    }

    /// The cost-growth tables (bench/README.md explains the curves): per size, the timed
    /// part's milliseconds per step and the ratio to the previous size.
    fn growth(&self, json: bool) -> Result<()> {
        type Sweep<'a> = (
            &'a str,
            &'a str,
            &'a [usize],
            &'a dyn Fn(usize) -> Result<Measured>,
        );
        let sweeps: [Sweep<'_>; 3] = [
            ("transformer", "context", &[32, 64, 128, 256, 512], &|c| {
                self.transformer_with(c)
            }),
            ("lstm", "length", &[25, 50, 100, 200, 400], &|t| {
                self.lstm_with(t)
            }),
            ("mlp", "batch", &[16, 32, 64, 128, 256, 512, 1024], &|b| {
                self.mlp_with(b)
            }),
        ];
        for (workload, what, sizes, measure) in sweeps {
            if !json {
                println!(
                    "\n{workload}: ms per step against {what} (threads {}, shards {})",
                    self.threads, self.shards
                );
                println!("| {what} | ms/step | × previous | throughput |");
                println!("|---:|---:|---:|---:|");
            }
            let mut previous: Option<f64> = None;
            for &size in sizes {
                let m = measure(size)?;
                let ms = 1e3 * m.seconds / m.steps.max(1) as f64;
                if json {
                    let mut j = m.json();
                    j["growth"] = serde_json::json!({ what: size, "ms_per_step": ms });
                    println!("{j}");
                } else {
                    println!(
                        "| {size} | {ms:.3} | {} | {:.0} {} |",
                        previous.map_or("—".to_string(), |p| format!("{:.2}", ms / p)),
                        m.throughput,
                        m.unit
                    );
                }
                previous = Some(ms);
            }
        }
        Ok(())
    }

    fn gemm(&self) -> Result<Measured> {
        // (name, m, k, n): C (m x n) = A (m x k) · B (k x n)
        let shapes: [(&str, usize, usize, usize); 13] = [
            ("mlp W1·X", 256, 784, 128),
            ("mlp dW1 = dY·Xᵀ", 256, 128, 784),
            ("mlp W2·H", 128, 256, 128),
            ("lenet conv2 im2col", 16, 150, 6400),
            ("lstm gates", 512, 128, 32),
            ("transformer qkv", 384, 128, 2048),
            ("transformer ff", 512, 128, 2048),
            ("rbm W·V", 500, 784, 100),
            ("square 64", 64, 64, 64),
            ("square 128", 128, 128, 128),
            ("square 256", 256, 256, 256),
            ("square 512", 512, 512, 512),
            ("square 1024", 1024, 1024, 1024),
        ];
        let mut rng = optim::rng(0);
        let budget = self.seconds / shapes.len() as f64;
        let mut rows = Vec::new();
        let mut total_flop = 0.0;
        let mut total_secs = 0.0;
        let mut steps = 0usize;
        for (name, m, k, n) in shapes {
            let a = Mat::<f32>::from_fn(m, k, |_, _| rng.random::<f32>() - 0.5);
            let b = Mat::<f32>::from_fn(k, n, |_, _| rng.random::<f32>() - 0.5);
            let mut c = Mat::<f32>::zeros(m, n);
            let flop = 2.0 * (m * k * n) as f64;
            let mut once = || optim::linalg::gemm(1.0, &a, false, &b, false, 0.0, &mut c);
            let warm = Instant::now();
            let mut reps = 0usize;
            while warm.elapsed().as_secs_f64() < 0.2 * budget || reps < 3 {
                once();
                reps += 1;
            }
            let reps =
                ((0.8 * budget / (warm.elapsed().as_secs_f64() / reps as f64)) as usize).max(3);
            let started = Instant::now();
            for _ in 0..reps {
                once();
            }
            let secs = started.elapsed().as_secs_f64();
            let gflops = flop * reps as f64 / secs / 1e9;
            total_flop += flop * reps as f64;
            total_secs += secs;
            steps += reps;
            rows.push(serde_json::json!({"shape": name, "m": m, "k": k, "n": n, "gflops": gflops}));
            eprintln!("gemm {name:<22} {m:>5} x {k:>5} x {n:>5}: {gflops:>7.1} GFLOP/s");
        }
        let (peak, how) = peak_gflops(self.threads);
        if let Some(p) = peak {
            eprintln!("peak: {p:.0} GFLOP/s ({how})");
        }
        let mut m = self.measured(Workload::Gemm, "GFLOP/s", 0.0);
        m.throughput = total_flop / total_secs / 1e9;
        m.steps = steps;
        m.seconds = total_secs;
        m.shards = 1;
        m.extra = vec![
            ("shapes".into(), serde_json::Value::Array(rows)),
            ("peak_gflops".into(), serde_json::json!(peak)),
            ("peak_how".into(), serde_json::json!(how)),
        ];
        Ok(m)
    }
}

/// One matrix product of a training step: `C (m x n) = op(A) op(B)` with inner size `k`,
/// `A` stored transposed when `ta` (`k x m`), `B` when `tb` (`n x k`), run `times` per step.
#[derive(Debug, Clone, Copy)]
struct Product {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    times: usize,
}

/// `op(A)·op(B)` as [`Product`] says, once per step.
const fn product(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Product {
    Product {
        m,
        k,
        n,
        ta,
        tb,
        times: 1,
    }
}

impl Product {
    /// The same product `times` per step.
    const fn times(self, times: usize) -> Self {
        Product { times, ..self }
    }

    fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n * self.times) as f64
    }
}

/// The MLP 784-256-128-10 training step's products, batch `b`:
///
/// ```text
/// forward   Z1 = W1 X (256x784·784xb)   Z2 = W2 H1 (128x256·256xb)   Z3 = W3 H2 (10x128·128xb)
/// backward  dW3 = dZ3 H2ᵀ   dH2 = W3ᵀ dZ3   dW2 = dZ2 H1ᵀ   dH1 = W2ᵀ dZ2   dW1 = dZ1 Xᵀ
/// ```
fn mlp_products(b: usize) -> Vec<Product> {
    vec![
        product(256, 784, b, false, false),
        product(128, 256, b, false, false),
        product(10, 128, b, false, false),
        product(10, b, 128, false, true),
        product(128, 10, b, true, false),
        product(128, b, 256, false, true),
        product(256, 128, b, true, false),
        product(256, b, 784, false, true),
    ]
}

/// The decoder-only Transformer's training step's products (`N = batch·T` tokens, width `d`,
/// feed-forward `f`, `h` heads of `d_h = d/h`, vocabulary `V`). Per layer:
///
/// ```text
/// forward   [Q;K;V] = W_qkv X (3d x d · d x N)    W_o O (d x d · d x N)
///           W₁ X (f x d · d x N)                  W₂ H (d x f · f x N)
///           per sequence and head: S = KᵀQ (T x d_h · d_h x T), O = V P (d_h x T · T x T)
/// backward  for each weight dW = dY Xᵀ and dX = Wᵀ dY
///           per sequence and head: dV = dO Pᵀ, dP = Vᵀ dO, dQ = K dS, dK = Q dSᵀ
/// ```
///
/// and the output head `V x d` with its two backward products.
fn transformer_products(config: &transformer::GptConfig, batch: usize) -> Vec<Product> {
    let (d, f, t) = (config.width, config.ff_width, config.context);
    let (heads, v) = (config.heads, config.vocab);
    let (n, dh) = (batch * t, d / heads.max(1));
    let per_head = batch * heads * config.layers;
    let mut products = Vec::new();
    // a weight W (rows x cols) applied to N columns: forward, dW, dX
    let mut weight = |rows: usize, cols: usize, times: usize| {
        products.push(product(rows, cols, n, false, false).times(times));
        products.push(product(rows, n, cols, false, true).times(times));
        products.push(product(cols, rows, n, true, false).times(times));
    };
    weight(3 * d, d, config.layers);
    weight(d, d, config.layers);
    weight(f, d, config.layers);
    weight(d, f, config.layers);
    weight(v, d, 1);
    products.extend([
        product(t, dh, t, true, false).times(per_head),
        product(dh, t, t, false, false).times(per_head),
        product(dh, t, t, false, true).times(per_head),
        product(t, dh, t, true, false).times(per_head),
        product(dh, t, t, false, false).times(per_head),
        product(dh, t, t, false, true).times(per_head),
    ]);
    products
}

/// The LSTM regression step's products (input `I`, hidden `H`, gates `G = 4H`, `T` steps of
/// `B` sequences): the input side of all steps at once `W_ih X (G x I · I x TB)`, the recurrent
/// side per step `W_hh h (G x H · H x B)` and its backward `W_hhᵀ dZ (H x G · G x B)`, the
/// weight gradients over all steps `dZ Xᵀ` and `dZ H_prevᵀ`, and the `1 x H` readout.
fn lstm_products(input: usize, hidden: usize, steps: usize, batch: usize) -> Vec<Product> {
    let (g, tb) = (4 * hidden, steps * batch);
    vec![
        product(g, input, tb, false, false),
        product(g, hidden, batch, false, false).times(steps),
        product(hidden, g, batch, false, false).times(steps),
        product(g, tb, input, false, true),
        product(g, tb, hidden, false, true),
        product(1, hidden, batch, false, false),
        product(1, batch, hidden, false, true),
        product(hidden, 1, batch, true, false),
    ]
}

/// Seconds per step of `products` alone, each on operands of its own, on the threads the step
/// uses, repeated for `window` seconds (at least three times) after one warm-up: what the
/// step would take if nothing but its products cost time.
fn products_seconds(products: &[Product], window: f64, rng: &mut impl Rng) -> f64 {
    let mut random =
        |r: usize, c: usize| Mat::<f32>::from_fn(r, c, |_, _| rng.random::<f32>() - 0.5);
    let mut operands: Vec<_> = products
        .iter()
        .map(|p| {
            let a = if p.ta {
                random(p.k, p.m)
            } else {
                random(p.m, p.k)
            };
            let b = if p.tb {
                random(p.n, p.k)
            } else {
                random(p.k, p.n)
            };
            (a, b, Mat::zeros(p.m, p.n))
        })
        .collect();
    let mut step = || {
        for (p, (a, b, c)) in products.iter().zip(&mut operands) {
            for _ in 0..p.times {
                optim::linalg::gemm(1.0, a, p.ta, b, p.tb, 0.0, c);
            }
        }
    };
    step();
    let (started, mut steps) = (Instant::now(), 0usize);
    while steps < 3 || started.elapsed().as_secs_f64() < window {
        step();
        steps += 1;
    }
    started.elapsed().as_secs_f64() / steps as f64
}

/// Most rounds of the `--products` comparison: one per whole second of `--seconds`, 1 to this.
const PRODUCT_ROUNDS: usize = 5;

/// The step against its products alone, in `rounds` alternating rounds: one epoch of
/// training (`epoch` returns its steps), then the products for as long as that epoch took.
/// Returns the medians of (products' seconds per step / step's seconds, products' seconds per
/// step, step's seconds). Each ratio is of two neighbouring measurements, so a machine whose
/// speed drifts over seconds moves both sides of it alike.
fn products_against_steps(
    products: &[Product],
    rounds: usize,
    mut epoch: impl FnMut() -> Result<usize>,
    rng: &mut impl Rng,
) -> Result<(f64, f64, f64)> {
    let (mut shares, mut alone, mut step) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let steps = epoch()?.max(1);
        let seconds = started.elapsed().as_secs_f64();
        let s = seconds / steps as f64;
        let a = products_seconds(products, seconds, rng);
        shares.push(a / s);
        alone.push(a);
        step.push(s);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(&mut shares), median(&mut alone), median(&mut step)))
}

impl Measured {
    /// Adds `products_share` (the median over `rounds` alternating rounds of the step's
    /// products alone as a share of a step: [`products_against_steps`]), `products_gflop` (their work per
    /// step) and `products_gflops` (their rate), and prints them.
    fn with_products_share(
        mut self,
        products: &[Product],
        rounds: usize,
        epoch: impl FnMut() -> Result<usize>,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let (share, alone, step) = products_against_steps(products, rounds, epoch, rng)?;
        let flops: f64 = products.iter().map(Product::flops).sum();
        eprintln!(
            "{}: the step's {} products ({:.2} GFLOP) alone take {:.3} ms of its {:.3} ms \
             ({:.0} %, the median of {rounds} alternating rounds), {:.1} GFLOP/s",
            self.workload,
            products.iter().map(|p| p.times).sum::<usize>(),
            flops / 1e9,
            alone * 1e3,
            step * 1e3,
            100.0 * share,
            flops / alone / 1e9
        );
        self.extra.extend([
            ("products_gflop".into(), serde_json::json!(flops / 1e9)),
            ("products_share".into(), serde_json::json!(share)),
            (
                "products_gflops".into(),
                serde_json::json!(flops / alone / 1e9),
            ),
        ]);
        Ok(self)
    }

    /// Remembers the items per step (examples, sequences or tokens) in `throughput` until
    /// [`Measured::at`] turns it into a rate.
    fn with_rate(mut self, per_step: f64) -> Self {
        self.throughput = per_step;
        self
    }

    /// `steps` timed steps in `seconds`.
    fn at(mut self, steps: usize, seconds: f64) -> Self {
        self.throughput = self.throughput * steps as f64 / seconds;
        self.steps = steps;
        self.seconds = seconds;
        self
    }
}

/// The machine's single-precision peak for `threads` cores: cores × clock × FLOP per cycle.
/// The clock is the one this core runs at, timed ([`running_ghz`]); where it cannot be timed,
/// the nominal one in `/proc/cpuinfo` ("cpu MHz", the base clock a VM reports, which turbo
/// exceeds). FLOP per cycle = 2 FMA units × f32 lanes each completes per cycle × 2
/// ([`fma_lanes`]: the vector width, or the narrower width of the FMA units behind it). With
/// more than one thread this assumes every core at the timed clock (all-core turbo may be lower).
fn peak_gflops(threads: usize) -> (Option<f64>, String) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split(':').nth(1))
            .map(str::trim)
    };
    let nominal = field("cpu MHz")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|mhz| mhz * 1e-3);
    let (ghz, clock) = match (running_ghz(), nominal) {
        (Some(g), Some(n)) => (
            Some(g),
            format!("{g:.2} GHz timed (/proc/cpuinfo: {n:.2} GHz)"),
        ),
        (Some(g), None) => (Some(g), format!("{g:.2} GHz timed")),
        (None, Some(n)) => (Some(n), format!("{n:.2} GHz nominal, turbo can exceed it")),
        (None, None) => (None, String::new()),
    };
    #[cfg(target_arch = "x86_64")]
    let isa = if std::is_x86_feature_detected!("avx512f") {
        16
    } else if std::is_x86_feature_detected!("avx2") {
        8
    } else {
        4
    };
    #[cfg(not(target_arch = "x86_64"))]
    let isa = 4;
    let number = |name| field(name).and_then(|v| v.parse::<u32>().ok());
    let (lanes, why) = fma_lanes(
        isa,
        field("vendor_id").unwrap_or(""),
        number("cpu family"),
        number("model"),
    );
    match ghz {
        Some(ghz) => {
            let per_cycle = 2.0 * f64::from(lanes) * 2.0;
            (
                Some(threads as f64 * ghz * per_cycle),
                format!(
                    "{threads} core(s) x {clock} x {per_cycle:.0} FLOP/cycle (2 FMA units x \
                     {lanes} f32 lanes x 2{why})"
                ),
            )
        }
        None => (None, "clock unknown (not timed, no /proc/cpuinfo)".into()),
    }
}

/// The clock this core runs at, in GHz, timed: a chain of dependent integer adds, each waiting
/// for the one before, takes one cycle per add on every x86-64 core, so `4n` adds take `4n`
/// cycles. The best of three runs of 50 M iterations (about 60 ms each), so that a run
/// interrupted by the scheduler does not count. `None` off x86-64.
fn running_ghz() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        const N: u64 = 50_000_000;
        let mut best: f64 = 0.0;
        for _ in 0..3 {
            let mut x: u64 = 0;
            let started = Instant::now();
            for _ in 0..N {
                #[allow(unsafe_code)]
                // SAFETY: four adds to one register; no memory, no stack, no other state.
                unsafe {
                    std::arch::asm!(
                        "add {0}, 1",
                        "add {0}, 1",
                        "add {0}, 1",
                        "add {0}, 1",
                        inout(reg) x,
                        options(nomem, nostack),
                    );
                }
            }
            let secs = started.elapsed().as_secs_f64();
            std::hint::black_box(x);
            best = best.max(4.0 * N as f64 / secs / 1e9);
        }
        Some(best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// The f32 lanes an FMA unit completes per cycle: the widest vectors the CPU has (`isa`: 16
/// with AVX-512, 8 with AVX2), unless its FMA units are narrower and split a wide instruction
/// into halves. AMD's do up to Zen 4 (`cpu family` 25, 0x19: 512-bit instructions as two
/// 256-bit halves) and Zen 1 (family 23 below model 0x30: 256-bit as two 128-bit); Zen 5
/// (family 26) has full 512-bit units. The second value says why, when narrower.
fn fma_lanes(isa: u32, vendor: &str, family: Option<u32>, model: Option<u32>) -> (u32, String) {
    let datapath = match (vendor, family, model) {
        ("AuthenticAMD", Some(23), Some(m)) if m < 0x30 => Some(4),
        ("AuthenticAMD", Some(23 | 25), _) => Some(8),
        _ => None,
    };
    match datapath {
        Some(d) if d < isa => (
            d,
            format!(
                "; this AMD CPU, family {}, runs each {}-bit FMA as {}-bit halves",
                family.unwrap_or(0),
                isa * 32,
                d * 32
            ),
        ),
        _ => (isa, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::fma_lanes;

    /// Zen 4 has AVX-512 but 256-bit FMA units: 8 lanes, and the reason is given; Intel's
    /// AVX-512 and Zen 5 keep 16; AVX2 on Zen 3 is not narrowed; Zen 1 halves AVX2.
    #[test]
    fn the_fma_width_is_the_narrower_of_the_vectors_and_the_units() {
        let (lanes, why) = fma_lanes(16, "AuthenticAMD", Some(25), Some(17));
        assert_eq!(lanes, 8);
        assert!(why.contains("512-bit FMA as 256-bit halves"), "{why}");
        assert_eq!(
            fma_lanes(16, "GenuineIntel", Some(6), Some(143)),
            (16, String::new())
        );
        assert_eq!(
            fma_lanes(16, "AuthenticAMD", Some(26), Some(2)),
            (16, String::new())
        );
        assert_eq!(
            fma_lanes(8, "AuthenticAMD", Some(25), Some(1)),
            (8, String::new())
        );
        assert_eq!(fma_lanes(8, "AuthenticAMD", Some(23), Some(1)).0, 4);
        assert_eq!(
            fma_lanes(8, "AuthenticAMD", Some(23), Some(0x31)),
            (8, String::new())
        );
        assert_eq!(fma_lanes(4, "", None, None), (4, String::new()));
    }
}
