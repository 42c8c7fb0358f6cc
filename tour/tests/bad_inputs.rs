//! The bad-input table of `optim`'s README, through the tour (issue 14): each bad file given to
//! a chapter ends the run with one line on stderr and exit code 2, and the output folder it
//! was given — holding an earlier run's results and model — is left exactly as it was.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

/// Runs `tour args --out out`, which must fail with exit code 2 and one line that contains
/// `needle`, leaving `out` as it was.
fn refused(out: &Path, args: &[&str], needle: &str) {
    let before = snapshot(out);
    let mut all = args.to_vec();
    all.extend_from_slice(&["--quiet", "--out", out.to_str().unwrap()]);
    let o = run(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "tour {all:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "tour {all:?}: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "tour {all:?}: {stderr:?} does not mention {needle:?}"
    );
    assert!(
        snapshot(out) == before,
        "tour {all:?} changed {}",
        out.display()
    );
}

/// The safetensors header of `bytes` as JSON, and where the data starts.
fn header(bytes: &[u8]) -> (serde_json::Value, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), 8 + n)
}

/// `bytes` with its header replaced by `h` (the data unchanged).
fn with_header(bytes: &[u8], h: &serde_json::Value) -> Vec<u8> {
    let (_, start) = header(bytes);
    let text = serde_json::to_vec(h).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[start..]);
    out
}

#[test]
fn bad_files_exit_2_with_one_line_and_leave_the_output_folder_as_it_was() {
    // an earlier run's folder: results, gallery, plots, a model, a training checkpoint
    let (json, out) = chapter("mlp", &["--epochs", "1"]);
    let model = out.join(json["models"][0].as_str().unwrap());
    let dir = scratch("bad-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let table = "1.0,2.0,0\n0.5,1.5,1\n2.0,0.1,0\n1.1,0.3,1\n0.9,2.2,0\n1.7,1.4,1\n";

    // NaN/Inf features
    let nan = file("nan.csv", &table.replace("0.5,1.5", "nan,1.5"));
    refused(&out, &["mlp", "--train", &nan], "not a finite");
    let inf = file("inf.csv", &table.replace("2.0,0.1", "2.0,inf"));
    refused(&out, &["mlp", "--train", &inf], "not a finite");
    // a label that is not a class index
    let label = file("label.csv", &table.replace("1.7,1.4,1", "1.7,1.4,-3"));
    refused(&out, &["mlp", "--train", &label], "label \"-3\"");
    // ragged rows
    let ragged = file("ragged.csv", &table.replace("1.1,0.3,1", "1.1,1"));
    refused(&out, &["mlp", "--train", &ragged], "ragged rows");
    // a missing value: recognised as a table, and the reader names the line and column
    let missing = file("missing.csv", &table.replace("1.1,0.3,1", "1.1,,1"));
    refused(
        &out,
        &["mlp", "--train", &missing],
        "line 4, column 2: empty field (a missing value)",
    );
    // a pairs file with a bad line among its first: recognised as pairs, the line named once
    let pairs = "ab\tba\nno tab here\ncd\tdc\nef\tfe\nxy\tyx\n";
    let pairs = file("pairs.tsv", pairs);
    refused(
        &out,
        &["seq2seq", "--train", &pairs],
        "pairs.tsv: line 2: no tab",
    );
    // empty data
    let empty = file("empty.csv", "");
    refused(&out, &["mlp", "--train", &empty], "empty file");
    // a header and no rows; too few rows to hold a fifth out for the test
    let header_only = file("header.csv", "f1,f2,label\r\n\r\n");
    refused(
        &out,
        &["mlp", "--train", &header_only],
        "header.csv: line 1: a header line (3 fields) and no data rows",
    );
    let two = file("two.csv", "1.0,2.0,0\n0.5,1.5,1\n");
    refused(
        &out,
        &["mlp", "--train", &two],
        "two.csv: 2 data rows; holding out 20 % of the rows for the test needs at least 3",
    );
    let four = file(
        "four.csv",
        &table.lines().take(4).collect::<Vec<_>>().join("\n"),
    );
    refused(
        &out,
        &["mlp", "--train", &four],
        "holds out 10 % of them for validation, which needs at least 5",
    );
    // fewer points than the GAN's batch
    let points = file("points.csv", "x,y\r\n0.5,0.5\r\n-0.5,0.25\r\n");
    refused(
        &out,
        &["gan", "--train", &points],
        "points.csv: 2 points; the GAN trains on batches of 100, so it needs at least 100",
    );
    // a text too short for the character LSTM's streams: the file and the length it needs
    let short = file("short.txt", &"To be or not to be\n".repeat(60));
    refused(
        &out,
        &["rnn", "--train", &short],
        "short.txt: 1140 characters; the character LSTM holds out the last 10 %",
    );
    // a text in Latin-1, not UTF-8: the byte, its line and column
    let latin1 = dir.join("latin1.txt");
    let mut bytes = "To be or not to be\n".repeat(60).into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    std::fs::write(&latin1, bytes).unwrap();
    refused(
        &out,
        &["transformer", "--train", latin1.to_str().unwrap()],
        "latin1.txt: byte 1143 (line 61, column 4): invalid UTF-8 byte 0xE9",
    );

    // IDX: truncated, and a header that claims more images than the file holds
    let idx = dir.join("idx");
    std::fs::create_dir_all(&idx).unwrap();
    let mut images = vec![0, 0, 8, 3];
    for d in [4u32, 3, 3] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend((0..36).map(|i| (i * 7) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&4u32.to_be_bytes());
    labels.extend_from_slice(&[0, 1, 0, 1]);
    std::fs::write(idx.join("labels-idx1-ubyte"), &labels).unwrap();
    let images_path = idx.join("images-idx3-ubyte");
    let images_arg = images_path.to_str().unwrap();
    std::fs::write(&images_path, &images[..images.len() - 5]).unwrap();
    refused(&out, &["mlp", "--train", images_arg], "truncated");
    let mut lying = images.clone();
    lying[4..8].copy_from_slice(&4_000_000u32.to_be_bytes());
    std::fs::write(&images_path, &lying).unwrap();
    refused(&out, &["mlp", "--train", images_arg], "truncated");

    let bytes = std::fs::read(&model).unwrap();
    let (h, start) = header(&bytes);
    // a checkpoint whose configuration lies: huge hidden layers
    let mut big = h.clone();
    let config = big["__metadata__"]["config"].as_str().unwrap().to_string();
    let mut c: serde_json::Value = serde_json::from_str(&config).unwrap();
    c["hidden"] = serde_json::json!([1_000_000, 1_000_000]);
    big["__metadata__"]["config"] = serde_json::Value::String(c.to_string());
    let huge = dir.join("huge.safetensors");
    std::fs::write(&huge, with_header(&bytes, &big)).unwrap();
    refused(
        &out,
        &["mlp", "--load", huge.to_str().unwrap()],
        "parameters but the file holds only",
    );
    // a checkpoint with a non-finite value: the first value of the first tensor set to NaN
    let (name, offset) = h
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| (k.clone(), v["data_offsets"][0].as_u64().unwrap() as usize))
        .min_by_key(|(_, o)| *o)
        .unwrap();
    let mut nan_model = bytes.clone();
    nan_model[start + offset..start + offset + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_path = dir.join("nan.safetensors");
    std::fs::write(&nan_path, nan_model).unwrap();
    refused(&out, &["mlp", "--load", nan_path.to_str().unwrap()], &name);
    // a checkpoint of another architecture (the rnn's adding model given to the mlp)
    let (rnn, rnn_out) = chapter("rnn", &["--epochs", "2"]);
    let other = rnn_out.join(rnn["models"][0].as_str().unwrap());
    refused(
        &out,
        &["mlp", "--load", other.to_str().unwrap()],
        "not a \"mlp\" model",
    );
    // a truncated checkpoint
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &out,
        &["mlp", "--load", cut.to_str().unwrap()],
        "not a valid safetensors",
    );
}
