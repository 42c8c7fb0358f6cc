//! Runs the `tour` binary as a user would: every chapter with a tiny budget (exit code 0, a JSON
//! last line with finite metrics above a floor a broken model fails, every promised SVG present
//! and well-formed, index.html linking only files that exist), and bad invocations (one-line
//! error, exit code 2).

mod common;

use common::*;

#[test]
fn optim_race_converges_for_adam() {
    let (json, _) = chapter("optim", &["--epochs", "5000"]);
    assert!(metric(&json, "iterations_adam") < 5000.0);
    assert!(metric(&json, "final_f_adam") < 1e-6);
}

fn expect_usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "tour {args:?}: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "tour {args:?}: stderr {stderr:?} does not mention {needle:?}"
    );
}

#[test]
fn bad_invocations_exit_2_with_a_one_line_error() {
    expect_usage_error(&["no-such-chapter"], "no-such-chapter");
    expect_usage_error(&["optim", "--epochs", "0"], "epochs");
    let blocker = scratch("blocker");
    std::fs::write(&blocker, "a file, not a folder").unwrap();
    let inside = blocker.join("out");
    expect_usage_error(
        &["optim", "--quiet", "--out", inside.to_str().unwrap()],
        "cannot create output folder",
    );
    let bad = scratch("bad-data");
    std::fs::create_dir_all(&bad).unwrap();
    let file = bad.join("mystery.csv");
    std::fs::write(&file, "a;b;c\n1;2;3\n").unwrap();
    let o = run(&[
        "mlp",
        "--quiet",
        "--train",
        file.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mystery.csv"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let missing = bad.join("does-not-exist.csv");
    expect_usage_error(
        &["mlp", "--train", missing.to_str().unwrap()],
        "does-not-exist.csv",
    );
}

/// Every chapter, as on the command line.
const CHAPTERS: [&str; 13] = [
    "optim",
    "perceptron",
    "mlp",
    "autoencoder",
    "cnn",
    "rnn",
    "seq2seq",
    "transformer",
    "rbm",
    "gan",
    "rbf",
    "som",
    "anfis",
];

#[test]
fn help_describes_every_flag_and_every_chapter() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--epochs",
        "--seed",
        "--threads",
        "--out",
        "--quiet",
        "--verbose",
        "--json",
        "--data-dir",
        "--train",
        "--test",
        "--label-column",
        "--format",
        "--load",
        "--help",
    ] {
        assert!(text.contains(flag), "--help does not mention {flag}");
    }
    // each chapter is listed with its description: `  name  §...` or `- name: §...`
    for chapter in CHAPTERS {
        assert!(
            text.lines().any(|l| {
                let l = l.trim_start().trim_start_matches("- ");
                l.starts_with(chapter) && l.contains('§')
            }),
            "--help does not list {chapter} with its section:\n{text}"
        );
    }
    for format in ["csv", "idx", "text", "pairs", "points"] {
        assert!(
            text.contains(format),
            "--help does not list --format {format}"
        );
    }
    assert!(text.contains("Rosenblatt's perceptron"), "{text}");
    assert!(!text.contains("Rosenbrock's perceptron"), "{text}");
}

#[test]
fn default_run_prints_a_table_within_100_columns() {
    // `tour` with no arguments at all, in a folder of its own (it writes ./tour-out)
    let dir = scratch("default-run");
    std::fs::create_dir_all(&dir).unwrap();
    let o = tour().current_dir(&dir).output().expect("run tour");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "tour failed: {stderr}");
    for line in stdout.lines().chain(stderr.lines()) {
        let width = line.chars().count();
        assert!(width <= 100, "{width} columns: {line:?}");
    }
    // one line per chapter: name, headline metric, value
    for chapter in CHAPTERS {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(chapter)),
            "no row for {chapter}:\n{stdout}"
        );
    }
    assert!(stdout.contains("--verbose"), "{stdout}");
    // results.json keeps every metric, the short table only the headline
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("tour-out").join("results.json")).unwrap(),
    )
    .unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), CHAPTERS.len());
    let metrics: usize = results
        .iter()
        .map(|r| r["metrics"].as_object().unwrap().len())
        .sum();
    assert!(
        metrics > CHAPTERS.len(),
        "{metrics} metrics in results.json"
    );
    check_gallery(&dir.join("tour-out"));
}

#[test]
fn verbose_prints_every_metric_with_model_and_data() {
    let out = scratch("verbose");
    let o = run(&[
        "optim",
        "--quiet",
        "--verbose",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let chapter = &results[0];
    assert!(
        stdout.contains(chapter["model"].as_str().unwrap()),
        "{stdout}"
    );
    for name in chapter["metrics"].as_object().unwrap().keys() {
        assert!(stdout.contains(name.as_str()), "{name} missing:\n{stdout}");
    }
    assert!(stdout.lines().next().unwrap().contains("model"));
}

#[test]
fn perceptron_within_novikoff_and_kernel_separates_moons() {
    let (json, out) = chapter("perceptron", &["--epochs", "50"]);
    assert!(metric(&json, "mistakes") <= metric(&json, "novikoff_bound"));
    assert!(metric(&json, "test_accuracy") >= 0.95);
    // a saved model evaluates without training and gives the same figure
    let saved = out.join("perceptron_kernel_moons.safetensors");
    let (again, _) = chapter("perceptron", &["--load", saved.to_str().unwrap()]);
    assert_eq!(
        metric(&again, "test_accuracy"),
        metric(&json, "test_accuracy")
    );
}

#[test]
fn same_seed_same_metrics() {
    let (a, _) = chapter("perceptron", &["--seed", "7", "--epochs", "20"]);
    let (b, _) = chapter("perceptron", &["--seed", "7", "--epochs", "20"]);
    assert_eq!(a["metrics"], b["metrics"]);
}

#[test]
fn perceptron_on_optdigits() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: DL_DATA_DIR not set");
        return;
    };
    let (json, _) = chapter("perceptron", &["--data-dir", &dir]);
    assert!(metric(&json, "test_accuracy") >= 0.94);
}

#[test]
fn flags_that_would_be_ignored_are_errors() {
    let dir = scratch("ignored-flags");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    // a data folder with nothing the tour reads: it used to train on generated data, exit 0
    let empty = dir.join("nothing-here");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "a;b\n").unwrap();
    expect_usage_error(
        &[
            "mlp",
            "--quiet",
            "--out",
            out,
            "--data-dir",
            empty.to_str().unwrap(),
        ],
        "holds no recognised data file",
    );
    // --test without the training data it is the test set of
    let digits = dir.join("digits.csv");
    let row: Vec<String> = (0..64).map(|i| (i % 17).to_string()).collect();
    std::fs::write(&digits, format!("{},3\n", row.join(","))).unwrap();
    let digits = digits.to_str().unwrap();
    expect_usage_error(
        &["mlp", "--quiet", "--out", out, "--test", digits],
        "needs the training data",
    );
    // --train/--test given to chapters that read no file
    for chapter in ["optim", "rbf"] {
        expect_usage_error(
            &[chapter, "--quiet", "--out", out, "--train", digits],
            "is not used by this chapter",
        );
    }
}

// ------------------------------------------------------------------------------------------
// bring your own data: CSV tables, --label-column, --format
// ------------------------------------------------------------------------------------------

/// A small deterministic noise source in [-1, 1) (xorshift), so the tests need no RNG crate.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Rows of three well-separated classes in three features: `f1,class,f2,f3` (the label is the
/// second column), `n` rows per class.
fn three_class_rows(n: usize, seed: u64) -> Vec<[String; 4]> {
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let centres = [[0.0, 0.0, 5.0], [4.0, 1.0, -2.0], [-3.0, 4.0, 0.5]];
    let mut rows = Vec::new();
    for _ in 0..n {
        for (class, c) in centres.iter().enumerate() {
            let f: Vec<f64> = c.iter().map(|m| m + noise.next()).collect();
            rows.push([
                format!("{:.4}", f[0]),
                class.to_string(),
                format!("{:.4}", f[1]),
                format!("{:.4}", f[2]),
            ]);
        }
    }
    rows
}

/// Writes `rows` as CSV, with `header` (if any) first and a UTF-8 byte-order mark if `bom`.
fn write_csv(path: &std::path::Path, header: Option<&str>, rows: &[[String; 4]], bom: bool) {
    let mut text = String::new();
    if bom {
        text.push('\u{feff}');
    }
    if let Some(h) = header {
        text.push_str(h);
        text.push('\n');
    }
    for r in rows {
        text.push_str(&r.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// `a.csv` (training, with a BOM) and `b.csv` (test): a header, the label in column 1 of 4.
fn three_class_files(dir: &std::path::Path) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    write_csv(&a, Some("f1,class,f2,f3"), &three_class_rows(60, 1), true);
    write_csv(&b, Some("f1,class,f2,f3"), &three_class_rows(30, 2), false);
    (a.display().to_string(), b.display().to_string())
}

#[test]
fn a_csv_table_with_a_header_and_a_middle_label_trains_mlp_and_perceptron() {
    let dir = scratch("table");
    let (a, b) = three_class_files(&dir);
    for (name, label, epochs) in [("mlp", "class", "40"), ("perceptron", "1", "20")] {
        let (json, _) = chapter(
            name,
            &[
                "--train",
                &a,
                "--test",
                &b,
                "--label-column",
                label,
                "--epochs",
                epochs,
            ],
        );
        // 3 features (the label column is not one of them), 3 classes, tested on b.csv
        let model = json["model"].as_str().unwrap();
        assert!(model.contains('3'), "{name}: {model}");
        let data = json["data"].as_str().unwrap();
        assert!(
            data.contains("b.csv") && data.contains("3 classes"),
            "{data}"
        );
        assert!(data.contains("3 features"), "{data}");
        let acc = metric(&json, "test_accuracy");
        assert!(acc >= 0.95, "{name}: test accuracy {acc} on b.csv");
        // the reference: always answering the majority class scores a third
        let majority = metric(&json, "majority_class_accuracy");
        assert!((majority - 1.0 / 3.0).abs() < 1e-9, "{majority}");
    }
}

#[test]
fn semicolon_and_tab_tables_with_decimal_commas_read_as_the_comma_table() {
    // a spreadsheet's export where the comma is the decimal mark: `;` or tab between fields,
    // Windows line endings; the same rows as a.csv, so the same metrics
    let dir = scratch("separators");
    let (a, b) = three_class_files(&dir);
    let comma = std::fs::read_to_string(&a).unwrap();
    let args = |train: &str| {
        let (json, _) = chapter(
            "perceptron",
            &["--train", train, "--test", &b, "--label-column", "class"],
        );
        json["metrics"].clone()
    };
    let expected = args(&a);
    for (name, separator) in [("semicolons.csv", ";"), ("tabs.tsv", "\t")] {
        let text = comma
            .replace(',', separator)
            .replace('.', ",")
            .replace('\n', "\r\n");
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        assert_eq!(args(path.to_str().unwrap()), expected, "{name}");
    }
    // a comma-separated table whose lines end in a tab (trailing whitespace) is not tab-separated
    let path = dir.join("trailing-tab.csv");
    std::fs::write(&path, comma.replace('\n', "\t\n")).unwrap();
    assert_eq!(args(path.to_str().unwrap()), expected, "trailing tab");
}

#[test]
fn the_label_column_defaults_to_the_last_and_a_name_needs_a_header() {
    let dir = scratch("label-column");
    std::fs::create_dir_all(&dir).unwrap();
    // label last, no header: the default label column
    let last: Vec<[String; 4]> = three_class_rows(30, 3)
        .into_iter()
        .map(|[f1, c, f2, f3]| [f1, f2, f3, c])
        .collect();
    let file = dir.join("last.csv");
    write_csv(&file, None, &last, false);
    let file = file.to_str().unwrap();
    let (json, _) = chapter("perceptron", &["--train", file, "--epochs", "10"]);
    assert!(
        json["data"].as_str().unwrap().contains("3 classes"),
        "{json}"
    );
    assert!(metric(&json, "test_accuracy") >= 0.9, "{json}");
    // with the label taken as column 0 there are 0..=4 "classes" of a feature value: a
    // non-integer label is an error naming the file and the place
    expect_usage_error(
        &[
            "perceptron",
            "--quiet",
            "--train",
            file,
            "--label-column",
            "0",
        ],
        "not a non-negative integer",
    );
    // a name needs a header line; an unknown name lists the header
    expect_usage_error(
        &["mlp", "--quiet", "--train", file, "--label-column", "class"],
        "no header line",
    );
    let (a, _) = three_class_files(&dir.join("named"));
    expect_usage_error(
        &["mlp", "--quiet", "--train", &a, "--label-column", "species"],
        "f1",
    );
    // non-numeric features are refused with the line and column
    let bad = dir.join("words.csv");
    std::fs::write(&bad, "f1,f2,class\n1,2,0\n3,seven,1\n").unwrap();
    let o = run(&["mlp", "--quiet", "--train", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3, column 2"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    // --label-column where no table is read
    expect_usage_error(
        &["rnn", "--train", &a, "--label-column", "1"],
        "label-column",
    );
    expect_usage_error(&["mlp", "--label-column", "1"], "no --train");
}

#[test]
fn the_autoencoder_reads_any_table_labelled_or_not() {
    let dir = scratch("autoencoder-table");
    std::fs::create_dir_all(&dir).unwrap();
    // five features on a plane in R^5 (two latent factors), with negative values and a label
    let mut noise = Noise(7);
    let mut labelled = String::from("a,b,c,d,e,label\n");
    let mut three = String::new();
    for i in 0..200 {
        let (t, u) = (2.0 * noise.next(), 2.0 * noise.next());
        let e = 0.05 * noise.next();
        let row = [t, -2.0 * t + u, 3.0 * u - 1.0, t + u + e, -0.5 * t - 4.0];
        let row: Vec<String> = row.iter().map(|v| format!("{v:.5}")).collect();
        labelled.push_str(&format!("{},{}\n", row.join(","), i % 3));
        three.push_str(&format!("{},{},{}\n", row[0], row[1], row[2]));
    }
    let (a, b) = (dir.join("five.csv"), dir.join("three.csv"));
    std::fs::write(&a, labelled).unwrap();
    std::fs::write(&b, three).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let (json, _) = chapter("autoencoder", &["--train", a, "--epochs", "30"]);
    let data = json["data"].as_str().unwrap();
    assert!(
        data.contains("5 features") && data.contains("3 classes"),
        "{data}"
    );
    assert_eq!(metric(&json, "code_size"), 4.0, "{json}");
    assert!(
        json["model"].as_str().unwrap().contains("5-64-4-64-5"),
        "{json}"
    );
    let (ae, pca) = (metric(&json, "test_mse"), metric(&json, "pca_test_mse"));
    // standardized features: reconstructing each by its mean scores 1; a 4-unit code of
    // rank-2 data must do far better, and PCA with 4 components is nearly exact
    assert!(ae.is_finite() && ae < 0.1, "autoencoder test MSE {ae}");
    assert!(pca.is_finite() && pca < 1e-3, "PCA test MSE {pca}");
    // 25 features would be drawn as 5 x 5 images; 5 are not a square: no reconstructions plot
    assert!(
        !plots(&json).iter().any(|p| p.contains("reconstructions")),
        "{json}"
    );

    // no label column: every column a feature, code size d - 1 for a narrow table
    let (json, _) = chapter(
        "autoencoder",
        &["--train", b, "--label-column", "none", "--epochs", "30"],
    );
    assert!(
        json["data"].as_str().unwrap().contains("3 features"),
        "{json}"
    );
    assert_eq!(metric(&json, "code_size"), 2.0, "{json}");
    assert!(metric(&json, "test_mse") < 0.1, "{json}");
    assert!(metric(&json, "pca_test_mse") < 1e-6, "{json}");
    // the label column is optional here but still checked where given
    expect_usage_error(
        &[
            "autoencoder",
            "--quiet",
            "--train",
            a,
            "--label-column",
            "f",
        ],
        "label",
    );
}

#[test]
fn format_overrides_sniffing() {
    let dir = scratch("format");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    // a text under 1000 bytes, with a comma in its first line: refused as unrecognised, read
    // as text with --format text
    let short = dir.join("short.txt");
    let verse =
        "Shall I compare thee, to a summer's day?\nThou art more lovely and more temperate.\n";
    std::fs::write(&short, verse.repeat(10)).unwrap();
    assert!(std::fs::metadata(&short).unwrap().len() < 1000);
    let short = short.to_str().unwrap();
    expect_usage_error(
        &["transformer", "--quiet", "--out", out, "--train", short],
        "--format",
    );
    let (json, _) = chapter(
        "transformer",
        &["--train", short, "--format", "text", "--epochs", "2"],
    );
    assert!(
        json["data"].as_str().unwrap().contains("short.txt"),
        "{json}"
    );
    // a longer text with a comma in its first line, for the character RNN
    let long = dir.join("long.txt");
    std::fs::write(&long, verse.repeat(300)).unwrap();
    let long = long.to_str().unwrap();
    expect_usage_error(
        &["rnn", "--quiet", "--out", out, "--train", long],
        "--format",
    );
    let (json, _) = chapter(
        "rnn",
        &["--train", long, "--format", "text", "--epochs", "2"],
    );
    assert!(
        json["data"].as_str().unwrap().contains("long.txt"),
        "{json}"
    );
    // two columns sniff as x,y points; --format csv reads them as one feature and a label
    let two = dir.join("two.csv");
    let rows: String = (0..40)
        .map(|i| {
            format!(
                "{},{}\n",
                if i % 2 == 0 {
                    -1.0 - i as f64 / 40.0
                } else {
                    1.0 + i as f64 / 40.0
                },
                i % 2
            )
        })
        .collect();
    std::fs::write(&two, rows).unwrap();
    let two = two.to_str().unwrap();
    expect_usage_error(
        &["perceptron", "--quiet", "--out", out, "--train", two],
        "2-D points",
    );
    let (json, _) = chapter(
        "perceptron",
        &["--train", two, "--format", "csv", "--epochs", "10"],
    );
    assert!(
        json["model"].as_str().unwrap().contains("1 feature,"),
        "{json}"
    );
    assert!(metric(&json, "test_accuracy") >= 0.99, "{json}");
    // --format idx on a file that is not IDX; --format without a file
    expect_usage_error(
        &[
            "cnn", "--quiet", "--out", out, "--train", two, "--format", "idx",
        ],
        "IDX magic",
    );
    expect_usage_error(&["mlp", "--format", "csv"], "--format");
}

/// The three classes of `three_class_rows` with names instead of indices, no header line, the
/// name last: the table is still sniffed as a CSV table (one field of a row may be a name).
fn named_rows(n: usize, seed: u64) -> Vec<[String; 4]> {
    const NAMES: [&str; 3] = ["alpha", "\"beta\"", "gamma"];
    three_class_rows(n, seed)
        .into_iter()
        .map(|[f1, c, f2, f3]| [f1, f2, f3, NAMES[c.parse::<usize>().unwrap()].to_string()])
        .collect()
}

#[test]
fn class_names_in_a_csv_are_mapped_to_indices_and_the_mapping_is_reported() {
    let dir = scratch("class-names");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    write_csv(&a, None, &named_rows(40, 4), false);
    // the test file lists its rows in another order and has a header: same mapping
    let mut test = named_rows(20, 5);
    test.reverse();
    write_csv(&b, Some("f1,f2,f3,species"), &test, false);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    for name in ["mlp", "perceptron"] {
        let (json, _) = chapter(name, &["--train", a, "--test", b, "--epochs", "20"]);
        let data = json["data"].as_str().unwrap();
        // sorted names: the mapping does not depend on which class comes first
        assert!(
            data.contains("[alpha=0, beta=1, gamma=2]"),
            "{name}: {data}"
        );
        assert!(metric(&json, "test_accuracy") >= 0.95, "{name}: {json}");
    }
    // a test label the training file does not have
    let c = dir.join("c.csv");
    std::fs::write(&c, "1,2,3,alpha\n4,5,6,daisy\n").unwrap();
    expect_usage_error(
        &[
            "mlp",
            "--quiet",
            "--train",
            a,
            "--test",
            c.to_str().unwrap(),
        ],
        "\"daisy\" is not one of the training file's classes",
    );
    // training labels that are indices, test labels that are names
    let (idx, _) = three_class_files(&dir.join("indices"));
    let d = dir.join("d.csv");
    std::fs::write(&d, "f1,class,f2,f3\n1,alpha,2,3\n").unwrap();
    expect_usage_error(
        &[
            "mlp",
            "--quiet",
            "--train",
            &idx,
            "--test",
            d.to_str().unwrap(),
            "--label-column",
            "class",
        ],
        "training file's labels are class indices",
    );
}

/// Writes MNIST-format IDX files: `n` images of `side x side` bytes, two classes (a bright
/// left half or a bright right half, with noise) and their labels.
fn write_idx(dir: &std::path::Path, n: usize, side: usize, seed: u64) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mut noise = Noise(seed | 1);
    let mut images = vec![0, 0, 8, 3];
    for d in [n, side, side] {
        images.extend_from_slice(&(d as u32).to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        let class = i % 2;
        for _ in 0..side {
            for c in 0..side {
                let bright = (c < side / 2) == (class == 0);
                let base = if bright { 180.0 } else { 40.0 };
                images.push((base + 40.0 * noise.next()) as u8);
            }
        }
        labels.push(class as u8);
    }
    let path = dir.join("images-idx3-ubyte");
    std::fs::write(&path, images).unwrap();
    std::fs::write(dir.join("labels-idx1-ubyte"), labels).unwrap();
    path.display().to_string()
}

#[test]
fn mlp_and_perceptron_read_idx_files() {
    let dir = scratch("idx-table");
    let train = write_idx(&dir.join("train"), 80, 6, 7);
    let test = write_idx(&dir.join("test"), 40, 6, 8);
    for name in ["mlp", "perceptron"] {
        let (json, _) = chapter(
            name,
            &["--train", &train, "--test", &test, "--epochs", "10"],
        );
        let data = json["data"].as_str().unwrap();
        assert!(
            data.contains("IDX labels") && data.contains("36 features"),
            "{data}"
        );
        assert!(data.contains("2 classes"), "{data}");
        assert!(metric(&json, "test_accuracy") >= 0.95, "{name}: {json}");
    }
}

#[test]
fn cnn_reads_a_csv_table_of_square_images() {
    let dir = scratch("cnn-table");
    std::fs::create_dir_all(&dir).unwrap();
    // 4x4 images, a bright left or right half, labelled by name in the first column
    let mut noise = Noise(11);
    let mut write = |path: &std::path::Path, n: usize| {
        let mut text = String::new();
        for i in 0..n {
            let left = i % 2 == 0;
            text.push_str(if left { "left" } else { "right" });
            for _ in 0..4 {
                for c in 0..4 {
                    let bright = (c < 2) == left;
                    let v = if bright { 1.0 } else { 0.0 } + 0.3 * noise.next();
                    text.push_str(&format!(",{v:.3}"));
                }
            }
            text.push('\n');
        }
        std::fs::write(path, text).unwrap();
    };
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    write(&a, 60);
    write(&b, 30);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let (json, _) = chapter(
        "cnn",
        &[
            "--train",
            a,
            "--test",
            b,
            "--label-column",
            "0",
            "--epochs",
            "10",
        ],
    );
    let data = json["data"].as_str().unwrap();
    assert!(
        data.contains("1x4x4 images") && data.contains("[left=0, right=1]"),
        "{data}"
    );
    assert!(metric(&json, "test_accuracy") >= 0.95, "{json}");
    // a row that is not a square image
    let (c, _) = three_class_files(&dir.join("three"));
    expect_usage_error(
        &["cnn", "--quiet", "--train", &c, "--label-column", "1"],
        "square number",
    );
}

/// `n` rows of a 4x4 image with a bright left (class `left`) or right (`right`) half, values
/// `scale · [0, 1]`, the class name first unless `labels` is false.
fn half_images(n: usize, seed: u64, scale: f64, labels: bool) -> String {
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut text = String::new();
    for i in 0..n {
        let left = i % 2 == 0;
        let mut fields: Vec<String> = Vec::new();
        if labels {
            fields.push(if left { "left" } else { "right" }.into());
        }
        for _ in 0..4 {
            for c in 0..4 {
                let bright = (c < 2) == left;
                // in [0, 1]: 0.85..1 when bright, 0..0.15 when dark
                let v = if bright { 0.925 } else { 0.075 } + 0.075 * noise.next();
                fields.push(format!("{:.3}", v * scale));
            }
        }
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn rbm_reads_a_csv_table_with_or_without_labels() {
    let dir = scratch("rbm-table");
    std::fs::create_dir_all(&dir).unwrap();
    // labelled, values in [0, 1], a header, the label (a name) in the first column
    let header: Vec<String> = std::iter::once("class".to_string())
        .chain((0..16).map(|i| format!("p{i}")))
        .collect();
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    std::fs::write(
        &a,
        format!("{}\n{}", header.join(","), half_images(60, 1, 1.0, true)),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!("{}\n{}", header.join(","), half_images(30, 2, 1.0, true)),
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let (json, _) = chapter(
        "rbm",
        &[
            "--train",
            a,
            "--test",
            b,
            "--label-column",
            "class",
            "--epochs",
            "5",
        ],
    );
    let data = json["data"].as_str().unwrap();
    assert!(
        data.contains("[left=0, right=1]")
            && data.contains("16 features")
            && data.contains("values in [0, 1] as they are")
            && data.contains("b.csv"),
        "{data}"
    );
    assert!(metric(&json, "features_test_accuracy") >= 0.95, "{json}");
    assert!((metric(&json, "majority_class_accuracy") - 0.5).abs() < 1e-9);
    // 16 hidden units: the exact log-likelihood, and AIS agrees with it
    let exact = metric(&json, "exact_test_log_likelihood");
    let ais = metric(&json, "ais_test_log_likelihood");
    assert!(exact < 0.0 && (exact - ais).abs() < 0.5, "{exact} vs {ais}");

    // no labels, pixel intensities 0..255: divided by the training file's largest value
    let (c, d) = (dir.join("c.csv"), dir.join("d.csv"));
    let mut train = half_images(60, 3, 255.0, false);
    train.push_str(&["255.000"; 16].join(","));
    train.push('\n');
    std::fs::write(&c, train).unwrap();
    std::fs::write(&d, half_images(30, 4, 255.0, false)).unwrap();
    let (c, d) = (c.to_str().unwrap(), d.to_str().unwrap());
    let (json, _) = chapter(
        "rbm",
        &[
            "--train",
            c,
            "--test",
            d,
            "--label-column",
            "none",
            "--epochs",
            "30",
        ],
    );
    let data = json["data"].as_str().unwrap();
    assert!(
        data.contains("no label column") && data.contains("values / 255"),
        "{data}"
    );
    assert!(json["metrics"].get("features_test_accuracy").is_none());
    // the two halves are learnt: reconstructions far better than the values' variance (~0.18)
    assert!(metric(&json, "test_reconstruction_mse") < 0.05, "{json}");

    // errors: a negative value, a test value above the training file's largest, ragged rows,
    // an empty file, a classifier chapter without labels; each (arguments, expected words)
    let bad = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let negative = bad("negative.csv", "0.5,1,0,1\n0.2,-3,0,0\n0.1,0.3,1,1\n");
    let bright = bad("bright.csv", &half_images(4, 5, 300.0, false));
    let ragged = bad("ragged.csv", "0.5,1,0,1\n0.2,0.3,0\n0.1,0.3,1,1\n");
    let empty = bad("empty.csv", "\n\n");
    let no_labels = ["--label-column", "none"];
    let cases: [(&[&str], &[&str], &str); 6] = [
        (
            &["rbm", "--train", &negative],
            &no_labels,
            "line 2, column 2",
        ),
        (
            &["rbm", "--train", &negative],
            &no_labels,
            "must be non-negative",
        ),
        (
            &["rbm", "--train", c, "--test", &bright],
            &no_labels,
            "must lie in [0, 255]",
        ),
        (&["rbm", "--train", &ragged], &no_labels, "ragged rows"),
        (&["rbm", "--train", &empty], &[], "empty file"),
        (&["mlp", "--train", c], &no_labels, "needs a label column"),
    ];
    for (args, more, expected) in cases {
        let mut full = vec![args[0], "--quiet"];
        full.extend(&args[1..]);
        full.extend(more);
        expect_usage_error(&full, expected);
    }
}
