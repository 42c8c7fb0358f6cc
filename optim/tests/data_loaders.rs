//! The loaders of `optim::data`: every malformed input is an `Error::Format` naming the file and
//! the position (never a panic), well-formed files give the right numbers, arbitrary bytes never
//! panic (proptest), and — when `DL_DATA_DIR` is set — the real files of `shared/data` load with
//! the counts their README states.

use flate2::{Compression, write::GzEncoder};
use optim::Error;
use optim::data::{
    CharVocab, CsvOptions, IdxType, LabelColumn, load_airline_passengers, load_csv,
    load_csv_matrix, load_idx, load_iris, load_mnist, load_optdigits, load_sunspots_monthly,
    load_sunspots_yearly, load_text, parse_csv, parse_csv_header, parse_idx, parse_idx_any,
    sniff_delimiter,
};
use proptest::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

// ------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------

/// A file under the system temp dir, removed when dropped.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempFile {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh file holding `bytes`, with a name unique to this process and call.
fn temp_file(name: &str, bytes: &[u8]) -> TempFile {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "optim-data-loaders-{}-{k}-{name}",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    TempFile(path)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Asserts a `Format` error for `path` whose position contains `position` and whose reason
/// contains `reason`; returns the message.
#[track_caller]
fn assert_format<T: std::fmt::Debug>(
    r: optim::Result<T>,
    path: &std::path::Path,
    position: &str,
    reason: &str,
) -> String {
    match r {
        Err(e @ Error::Format { .. }) => {
            let Error::Format {
                path: p,
                position: pos,
                reason: why,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(p, path, "error names the wrong file: {e}");
            assert!(
                pos.contains(position),
                "position {pos:?} should contain {position:?} ({e})"
            );
            assert!(
                why.contains(reason),
                "reason {why:?} should contain {reason:?} ({e})"
            );
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()));
            msg
        }
        other => panic!("expected a Format error, got {other:?}"),
    }
}

fn labelled() -> CsvOptions {
    CsvOptions::default()
}

/// An IDX file: magic `00 00 code nd`, big-endian dims, then `data`.
fn idx_bytes(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

// ------------------------------------------------------------------------------------------
// CSV
// ------------------------------------------------------------------------------------------

#[test]
fn csv_reads_features_as_columns_and_labels() {
    let p = temp_file("ok.csv", b"a,b,label\n1.5,2,0\n-3,4e1,2\r\n\n5,6,1\n");
    let d = load_csv::<f64>(&p, &labelled()).unwrap();
    assert_eq!(d.x.shape(), (2, 3));
    assert_eq!(d.x.column(0).as_slice(), &[1.5, 2.0]);
    assert_eq!(d.x.column(1).as_slice(), &[-3.0, 40.0]);
    assert_eq!(d.labels().unwrap(), [0, 2, 1]);
    // the same without a header, detected automatically
    let p = temp_file("nohdr.csv", b"1.5,2,0\n-3,4e1,2\n");
    let d = load_csv::<f32>(&p, &labelled()).unwrap();
    assert_eq!(d.x.shape(), (2, 2));
    assert_eq!(d.labels().unwrap(), [0, 2]);
}

#[test]
fn csv_label_column_ignored_columns_and_quotes() {
    let p = temp_file(
        "cols.csv",
        b"\"id\",\"class\",\"x\",\"name\"\n7,1,0.5,foo\n8,0,0.25,bar\n",
    );
    let opts = CsvOptions {
        label_column: LabelColumn::Index(1),
        ignore_columns: vec![3],
        classes: Some(2),
        ..CsvOptions::default()
    };
    let d = load_csv::<f64>(&p, &opts).unwrap();
    assert_eq!(d.x.shape(), (2, 2));
    assert_eq!(d.x.column(0).as_slice(), &[7.0, 0.5]);
    assert_eq!(d.labels().unwrap(), [1, 0]);
    // label written as 1.0 is accepted as an integer
    let p = temp_file("lab.csv", b"1,1.0\n2,0\n");
    assert_eq!(
        load_csv::<f64>(&p, &labelled()).unwrap().labels().unwrap(),
        [1, 0]
    );
}

#[test]
fn csv_empty_file() {
    let p = temp_file("empty.csv", b"");
    assert_format(load_csv::<f64>(&p, &labelled()), &p, "byte 0", "empty");
    let p = temp_file("blank.csv", b"\n  \n\r\n");
    assert_format(load_csv::<f64>(&p, &labelled()), &p, "line 1", "empty");
    assert_format(
        load_csv_matrix::<f64>(&p, &labelled()),
        &p,
        "line 1",
        "empty",
    );
}

#[test]
fn csv_header_only() {
    let p = temp_file("hdr.csv", b"x,y,label\n");
    assert_format(
        load_csv::<f64>(&p, &labelled()),
        &p,
        "line 2",
        "no data rows",
    );
}

#[test]
fn csv_ragged_rows() {
    let p = temp_file("ragged.csv", b"1,2,0\n3,4,1\n5,1\n");
    assert_format(load_csv::<f64>(&p, &labelled()), &p, "line 3", "ragged");
    let p = temp_file("ragged2.csv", b"x,y\n1,2\n3,4,5\n");
    assert_format(
        load_csv_matrix::<f64>(&p, &labelled()),
        &p,
        "line 3",
        "ragged",
    );
}

#[test]
fn csv_non_numeric_field() {
    let p = temp_file("nonnum.csv", b"x,y,label\n1,2,0\n3,abc,1\n");
    let msg = assert_format(
        load_csv::<f64>(&p, &labelled()),
        &p,
        "line 3, column 2",
        "not a number",
    );
    assert!(msg.contains("abc"));
    // with `header: Some(false)` a non-numeric first line is an error, not a header
    let p = temp_file("nonnum1.csv", b"x,y,label\n1,2,0\n");
    let opts = CsvOptions {
        header: Some(false),
        ..CsvOptions::default()
    };
    assert_format(
        load_csv::<f64>(&p, &opts),
        &p,
        "line 1, column 1",
        "not a number",
    );
    let p = temp_file("nonnum2.csv", b"1,2\n3,x\n");
    assert_format(
        load_csv_matrix::<f64>(&p, &labelled()),
        &p,
        "line 2, column 2",
        "not a number",
    );
}

#[test]
fn csv_non_finite_values() {
    for (k, bad) in ["nan", "inf", "-infinity", "NaN"].iter().enumerate() {
        let p = temp_file(
            &format!("nf{k}.csv"),
            format!("1,2,0\n{bad},4,1\n").as_bytes(),
        );
        assert_format(
            load_csv::<f64>(&p, &labelled()),
            &p,
            "line 2, column 1",
            "finite",
        );
    }
    // finite in f64, infinite in f32
    let p = temp_file("big.csv", b"1,2,0\n1e300,4,1\n");
    assert!(load_csv::<f64>(&p, &labelled()).is_ok());
    assert_format(
        load_csv::<f32>(&p, &labelled()),
        &p,
        "line 2, column 1",
        "finite f32",
    );
}

#[test]
fn csv_label_out_of_range_or_not_an_integer() {
    let opts = CsvOptions {
        classes: Some(3),
        ..CsvOptions::default()
    };
    let p = temp_file("lab3.csv", b"1,2,0\n3,4,3\n");
    assert_format(
        load_csv::<f64>(&p, &opts),
        &p,
        "line 2, column 3",
        "out of range",
    );
    for (k, bad) in ["-1", "1.5", "two", "nan"].iter().enumerate() {
        let p = temp_file(
            &format!("lab{k}.csv"),
            format!("1,2,0\n3,4,{bad}\n").as_bytes(),
        );
        assert_format(
            load_csv::<f64>(&p, &opts),
            &p,
            "line 2, column 3",
            "not a non-negative integer",
        );
    }
}

#[test]
fn csv_bad_options_and_bytes() {
    let p = temp_file("opts.csv", b"1,2,0\n3,4,1\n");
    let opts = CsvOptions {
        label_column: LabelColumn::Index(3),
        ..CsvOptions::default()
    };
    assert_format(load_csv::<f64>(&p, &opts), &p, "line 1", "label column");
    let opts = CsvOptions {
        ignore_columns: vec![9],
        ..CsvOptions::default()
    };
    assert_format(load_csv::<f64>(&p, &opts), &p, "line 1", "ignored column 9");
    let p = temp_file("onecol.csv", b"0\n1\n");
    assert_format(load_csv::<f64>(&p, &labelled()), &p, "line 1", "no feature");
    let p = temp_file("utf8.csv", b"1,2,0\n3,\xff,1\n");
    assert_format(load_csv::<f64>(&p, &labelled()), &p, "byte 8", "UTF-8");
    let range = CsvOptions {
        value_range: Some((0.0, 1.0)),
        ..CsvOptions::default()
    };
    let p = temp_file("range.csv", b"0.5,1,0\n0.5,1.5,1\n");
    assert_format(
        load_csv::<f64>(&p, &range),
        &p,
        "line 2, column 2",
        "outside",
    );
    let missing = std::env::temp_dir().join("optim-no-such-dir/none.csv");
    assert!(matches!(
        load_csv::<f64>(&missing, &labelled()),
        Err(Error::Io { .. })
    ));
}

#[test]
fn csv_byte_order_mark_is_not_part_of_the_first_field() {
    // a numeric first row after a BOM is data, not a header; a header's first name has no BOM
    let p = temp_file("bom.csv", b"\xEF\xBB\xBF1.5,2,0\n-3,4,1\n");
    let d = load_csv::<f64>(&p, &labelled()).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.x.column(0).as_slice(), &[1.5, 2.0]);
    let text = "\u{feff}a,b,label\n1,2,0\n";
    let names = parse_csv_header(text, "h.csv", &CsvOptions::default()).unwrap();
    assert_eq!(names.unwrap(), ["a", "b", "label"]);
    assert_eq!(
        parse_csv::<f64>(text, "h.csv", &labelled()).unwrap().len(),
        1
    );
    assert_eq!(
        parse_csv_header("1,2\n3,4\n", "n.csv", &CsvOptions::default()).unwrap(),
        None
    );
    let forced = CsvOptions {
        header: Some(true),
        ..CsvOptions::default()
    };
    assert_eq!(
        parse_csv_header("1,2\n3,4\n", "n.csv", &forced)
            .unwrap()
            .unwrap(),
        ["1", "2"]
    );
    assert_format(
        parse_csv_header("a,b\n", "e.csv", &CsvOptions::default()),
        std::path::Path::new("e.csv"),
        "line 2",
        "no data rows",
    );
}

#[test]
fn csv_semicolon_and_tab_tables_with_decimal_commas() {
    // a spreadsheet's export in a locale whose decimal mark is the comma
    let text = "a;b;class\r\n1,5;2;0\r\n\"-0,25\";1e-3;1\r\n";
    let delimiter = sniff_delimiter(text);
    assert_eq!(delimiter, ';');
    let options = CsvOptions {
        delimiter,
        ..CsvOptions::default()
    };
    let d = parse_csv::<f64>(text, "s.csv", &options).unwrap();
    assert_eq!(d.x.as_slice(), &[1.5, 2.0, -0.25, 1e-3]);
    let tabs = text.replace(';', "\t");
    assert_eq!(sniff_delimiter(&tabs), '\t');
    let options = CsvOptions {
        delimiter: '\t',
        ..CsvOptions::default()
    };
    assert_eq!(parse_csv::<f64>(&tabs, "t.tsv", &options).unwrap().x, d.x);
    // a comma-separated table keeps its commas as separators
    assert_eq!(sniff_delimiter("1.5,2,0\n-3,4,1\n"), ',');
}

#[test]
fn csv_matrix_keeps_header_names_and_columns() {
    let p = temp_file("m.csv", b"year,month,value\n1749,1,58.0\n1749,2,62.6\n");
    let m = load_csv_matrix::<f64>(&p, &CsvOptions::default()).unwrap();
    assert_eq!(
        m.header.as_deref(),
        Some(&["year".to_string(), "month".into(), "value".into()][..])
    );
    assert_eq!(m.data.shape(), (3, 2));
    assert_eq!(m.data.column(1).as_slice(), &[1749.0, 2.0, 62.6]);
    let opts = CsvOptions {
        ignore_columns: vec![0, 1],
        ..CsvOptions::default()
    };
    let m = load_csv_matrix::<f32>(&p, &opts).unwrap();
    assert_eq!(m.data.shape(), (1, 2));
    assert_eq!(m.header.unwrap(), ["value"]);
}

// ------------------------------------------------------------------------------------------
// IDX
// ------------------------------------------------------------------------------------------

#[test]
fn idx_raw_and_gzip_round_trip() {
    let raw = idx_bytes(0x08, &[2, 3], &[1, 2, 3, 4, 5, 255]);
    for (name, bytes) in [("a.idx", raw.clone()), ("a.idx.gz", gzip(&raw))] {
        let p = temp_file(name, &bytes);
        let a = load_idx(&p).unwrap();
        assert_eq!(a.dims, [2, 3]);
        assert_eq!(a.dtype, IdxType::U8);
        assert_eq!(a.to_f64(), [1.0, 2.0, 3.0, 4.0, 5.0, 255.0]);
    }
    // compression is recognized by content, not by name
    let p = temp_file("gz-without-suffix", &gzip(&raw));
    assert_eq!(load_idx(&p).unwrap().len(), 6);
    // other element types, big-endian
    let mut data = Vec::new();
    for v in [-2i16, 300] {
        data.extend_from_slice(&v.to_be_bytes());
    }
    let a = parse_idx(&idx_bytes(0x0B, &[2], &data), "<i16>").unwrap();
    assert_eq!(a.to_f64(), [-2.0, 300.0]);
    let mut data = Vec::new();
    for v in [1.5f64, -0.25] {
        data.extend_from_slice(&v.to_be_bytes());
    }
    let a = parse_idx(&idx_bytes(0x0E, &[1, 2], &data), "<f64>").unwrap();
    assert_eq!(a.to_f64(), [1.5, -0.25]);
    assert_eq!(a.get(2), None);
    let a = parse_idx(&idx_bytes(0x0D, &[1], &2.5f32.to_be_bytes()), "<f32>").unwrap();
    assert_eq!(a.get(0), Some(2.5));
}

#[test]
fn idx_empty_file() {
    let p = temp_file("empty.idx", b"");
    assert_format(load_idx(&p), &p, "byte 0", "empty");
    let p = temp_file("empty.idx.gz", &gzip(b""));
    assert_format(load_idx(&p), &p, "byte 0", "empty");
}

#[test]
fn idx_wrong_magic_number() {
    let p = temp_file("magic.idx", &[0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]);
    assert_format(load_idx(&p), &p, "byte 0", "wrong magic");
    let p = temp_file("type.idx", &idx_bytes(0x07, &[1], &[5]));
    assert_format(load_idx(&p), &p, "byte 2", "element type");
    let p = temp_file("dims0.idx", &[0, 0, 0x08, 0]);
    assert_format(load_idx(&p), &p, "byte 3", "0 dimensions");
    let p = temp_file("dims.idx", &[0, 0, 0x08, 200]);
    assert_format(load_idx(&p), &p, "byte 3", "200 dimensions");
    // the same inside gzip
    let p = temp_file(
        "magic.idx.gz",
        &gzip(&[0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]),
    );
    assert_format(load_idx(&p), &p, "byte 0", "wrong magic");
    // a text file is not IDX
    let p = temp_file("text.idx", b"hello world");
    assert_format(load_idx(&p), &p, "byte 0", "wrong magic");
}

#[test]
fn idx_truncated_file() {
    let p = temp_file("short.idx", &[0, 0]);
    assert_format(load_idx(&p), &p, "byte 2", "truncated IDX header");
    let p = temp_file("shortdims.idx", &[0, 0, 0x08, 3, 0, 0, 0, 1]);
    assert_format(load_idx(&p), &p, "byte 8", "truncated IDX header");
    let full = idx_bytes(0x08, &[4, 4], &[7; 16]);
    let p = temp_file("cut.idx", &full[..20]);
    assert_format(load_idx(&p), &p, "byte 20", "truncated");
    // a gzip stream cut short
    let gz = gzip(&idx_bytes(0x08, &[100, 100], &[9; 10_000]));
    let p = temp_file("cut.idx.gz", &gz[..gz.len() - 10]);
    assert_format(load_idx(&p), &p, "decompressed byte", "gzip");
    // a gzip stream of garbage
    let mut garbage = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    garbage.extend_from_slice(&[0xff; 40]);
    let p = temp_file("garbage.idx.gz", &garbage);
    assert_format(load_idx(&p), &p, "decompressed byte 0", "gzip");
}

#[test]
fn idx_count_larger_than_the_data() {
    // raw: the header claims 10^4 x 10^4 bytes, the file holds 3
    let p = temp_file("claim.idx", &idx_bytes(0x08, &[10_000, 10_000], &[1, 2, 3]));
    let msg = assert_format(load_idx(&p), &p, "byte 15", "claim 100000000 bytes");
    assert!(msg.contains("has 3"));
    // gzip: a claim of 4 GiB from a few dozen bytes is refused before any allocation
    let p = temp_file(
        "claim.idx.gz",
        &gzip(&idx_bytes(0x08, &[65_536, 65_536], &[1, 2, 3])),
    );
    assert_format(load_idx(&p), &p, "byte 4", "count larger than the data");
    // gzip: a claim a little larger than the data is caught as truncation
    let p = temp_file(
        "claim2.idx.gz",
        &gzip(&idx_bytes(0x08, &[10, 10], &[1; 60])),
    );
    assert_format(load_idx(&p), &p, "decompressed byte 72", "truncated");
    // dimensions whose product overflows 64 bits
    let p = temp_file("overflow.idx", &idx_bytes(0x0E, &[u32::MAX; 4], &[]));
    assert_format(load_idx(&p), &p, "byte", "overflow");
}

#[test]
fn idx_bytes_after_the_data() {
    let p = temp_file("extra.idx", &idx_bytes(0x08, &[2], &[1, 2, 3]));
    assert_format(load_idx(&p), &p, "byte 10", "after the end");
    let p = temp_file("extra.idx.gz", &gzip(&idx_bytes(0x08, &[2], &[1, 2, 3])));
    assert_format(load_idx(&p), &p, "decompressed byte 10", "after the end");
}

// ------------------------------------------------------------------------------------------
// MNIST, optdigits, iris, sunspots, airline
// ------------------------------------------------------------------------------------------

fn tiny_mnist(labels: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let n = labels.len() as u32;
    let pixels: Vec<u8> = (0..n * 4).map(|k| (k * 17 % 256) as u8).collect();
    (
        idx_bytes(0x08, &[n, 2, 2], &pixels),
        idx_bytes(0x08, &[n], labels),
    )
}

#[test]
fn mnist_scales_pixels_and_reads_labels() {
    let (img, lab) = tiny_mnist(&[7, 2, 1]);
    let (ip, lp) = (temp_file("i.gz", &gzip(&img)), temp_file("l", &lab));
    let d = load_mnist::<f32>(&ip, &lp).unwrap();
    assert_eq!(d.x.shape(), (4, 3));
    assert_eq!(d.labels().unwrap(), [7, 2, 1]);
    // image 1, pixel 2 is byte 4 + 2 = 6 → 6·17 = 102
    assert_eq!(d.x[(2, 1)], 102.0 / 255.0);
    assert!(d.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn mnist_rejects_bad_labels_and_mismatches() {
    let (img, lab) = tiny_mnist(&[7, 12, 1]);
    let (ip, lp) = (temp_file("i", &img), temp_file("l", &lab));
    assert_format(load_mnist::<f32>(&ip, &lp), &lp, "byte 9", "out of range");
    let (_, lab2) = tiny_mnist(&[7, 2]);
    let lp2 = temp_file("l2", &lab2);
    assert_format(
        load_mnist::<f32>(&ip, &lp2),
        &lp2,
        "byte 4",
        "2 labels for 3 images",
    );
    // the two files swapped
    assert_format(load_mnist::<f32>(&lp, &ip), &lp, "byte 0", "3 dimension");
    let (img0, lab0) = tiny_mnist(&[]);
    let (ip0, lp0) = (temp_file("i0", &img0), temp_file("l0", &lab0));
    assert_format(load_mnist::<f32>(&ip0, &lp0), &ip0, "byte 4", "no images");
    let ip00 = temp_file("i00", &idx_bytes(0x08, &[2, 0, 28], &[]));
    let lp2 = temp_file("l2b", &lab2);
    assert_format(load_mnist::<f32>(&ip00, &lp2), &ip00, "byte 8", "0 pixels");
}

fn optdigits_line(counts: [u32; 64], class: u32) -> String {
    let mut s: Vec<String> = counts.iter().map(u32::to_string).collect();
    s.push(class.to_string());
    s.join(",") + "\n"
}

#[test]
fn optdigits_reads_and_rejects() {
    let mut counts = [0u32; 64];
    counts[5] = 16;
    let text = optdigits_line(counts, 3) + &optdigits_line([1; 64], 9);
    let p = temp_file("ok.tra", text.as_bytes());
    let d = load_optdigits::<f64>(&p).unwrap();
    assert_eq!(d.x.shape(), (64, 2));
    assert_eq!(d.labels().unwrap(), [3, 9]);
    assert_eq!(d.x[(5, 0)], 16.0);
    // a count of 17
    counts[5] = 17;
    let p = temp_file("17.tra", (optdigits_line(counts, 3)).as_bytes());
    assert_format(load_optdigits::<f64>(&p), &p, "line 1, column 6", "outside");
    // a fractional count
    let text = optdigits_line([1; 64], 1).replacen("1,", "1.5,", 1);
    let p = temp_file("frac.tra", text.as_bytes());
    assert_format(
        load_optdigits::<f64>(&p),
        &p,
        "line 1, column 1",
        "integers",
    );
    // class 10
    let p = temp_file("c10.tra", optdigits_line([0; 64], 10).as_bytes());
    assert_format(
        load_optdigits::<f64>(&p),
        &p,
        "line 1, column 65",
        "out of range",
    );
    // 64 fields per line
    let text = [0u32; 64].map(|v| v.to_string()).join(",") + "\n";
    let p = temp_file("short.tra", text.as_bytes());
    assert_format(load_optdigits::<f64>(&p), &p, "line 1", "65");
    // ragged
    let text = optdigits_line([0; 64], 1) + "1,2,3\n";
    let p = temp_file("ragged.tra", text.as_bytes());
    assert_format(load_optdigits::<f64>(&p), &p, "line 2", "ragged");
    let p = temp_file("empty.tra", b"");
    assert_format(load_optdigits::<f64>(&p), &p, "byte 0", "empty");
}

const IRIS_HEADER: &str =
    "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,species_id,species\n";

#[test]
fn iris_reads_and_rejects() {
    let text = format!("{IRIS_HEADER}5.1,3.5,1.4,0.2,0,setosa\n6.3,3.3,6.0,2.5,2,virginica\n");
    let p = temp_file("iris.csv", text.as_bytes());
    let d = load_iris::<f64>(&p).unwrap();
    assert_eq!(d.x.shape(), (4, 2));
    assert_eq!(d.x.column(1).as_slice(), &[6.3, 3.3, 6.0, 2.5]);
    assert_eq!(d.labels().unwrap(), [0, 2]);
    let text = format!("{IRIS_HEADER}5.1,3.5,1.4,0.2,3,setosa\n");
    let p = temp_file("iris3.csv", text.as_bytes());
    assert_format(load_iris::<f64>(&p), &p, "line 2, column 5", "out of range");
    let text = format!("{IRIS_HEADER}5.1,3.5,x,0.2,0,setosa\n");
    let p = temp_file("irisx.csv", text.as_bytes());
    assert_format(load_iris::<f64>(&p), &p, "line 2, column 3", "not a number");
    let p = temp_file("iris-nohdr.csv", b"5.1,3.5,1.4,0.2,0,setosa\n");
    assert_format(load_iris::<f64>(&p), &p, "line 1", "no header");
    let text = format!("{IRIS_HEADER}5.1,3.5,0.2,0,setosa\n");
    let p = temp_file("iris5.csv", text.as_bytes());
    assert_format(load_iris::<f64>(&p), &p, "line 2", "ragged");
}

#[test]
fn sunspots_and_airline_read_and_reject() {
    let p = temp_file("sun.csv", b"\"YEAR\",\"SUNACTIVITY\"\n1700,5\n1701,11.5\n");
    let (years, values) = load_sunspots_yearly::<f64>(&p).unwrap();
    assert_eq!(years, [1700, 1701]);
    assert_eq!(values, [5.0, 11.5]);
    let p = temp_file("sun2.csv", b"YEAR,SUNACTIVITY\n1700,5\n1700,6\n");
    assert_format(
        load_sunspots_yearly::<f64>(&p),
        &p,
        "line 3, column 1",
        "time order",
    );
    let p = temp_file("sun3.csv", b"YEAR,SUNACTIVITY\n1700,5\n1701.5,6\n");
    assert_format(
        load_sunspots_yearly::<f64>(&p),
        &p,
        "line 3, column 1",
        "year",
    );
    let p = temp_file("sun4.csv", b"YEAR,SUNACTIVITY\n1700,5\n1701,inf\n");
    assert_format(
        load_sunspots_yearly::<f64>(&p),
        &p,
        "line 3, column 2",
        "finite",
    );
    let p = temp_file("sun5.csv", b"YEAR,SUNACTIVITY,X\n1700,5,1\n");
    assert_format(load_sunspots_yearly::<f64>(&p), &p, "line 1", "3 columns");
    let p = temp_file("sun6.csv", b"YEAR,SUNACTIVITY\n");
    assert_format(
        load_sunspots_yearly::<f64>(&p),
        &p,
        "line 2",
        "no data rows",
    );

    let p = temp_file(
        "mon.csv",
        b"year,month,sunspots\n1749,12,58.0\n1750,1,62.6\n",
    );
    let (dates, values) = load_sunspots_monthly::<f64>(&p).unwrap();
    assert_eq!(dates, [(1749, 12), (1750, 1)]);
    assert_eq!(values, [58.0, 62.6]);
    let p = temp_file(
        "mon2.csv",
        b"year,month,sunspots\n1749,1,58.0\n1749,0,62.6\n",
    );
    assert_format(
        load_sunspots_monthly::<f64>(&p),
        &p,
        "line 3, column 1",
        "month",
    );
    let p = temp_file(
        "mon3.csv",
        b"year,month,sunspots\n1749,2,58.0\n1749,1,62.6\n",
    );
    assert_format(
        load_sunspots_monthly::<f64>(&p),
        &p,
        "line 3, column 1",
        "time order",
    );
    let p = temp_file("mon4.csv", b"year,month,sunspots\n1749,2,x\n");
    assert_format(
        load_sunspots_monthly::<f64>(&p),
        &p,
        "line 2, column 3",
        "not a number",
    );

    let p = temp_file("air.csv", b"Date,Passengers\n1949-01,112\n1949-02,118\n");
    let (dates, values) = load_airline_passengers::<f32>(&p).unwrap();
    assert_eq!(dates, [(1949, 1), (1949, 2)]);
    assert_eq!(values, [112.0, 118.0]);
    let p = temp_file("air2.csv", b"Date,Passengers\n1949-13,112\n");
    assert_format(
        load_airline_passengers::<f32>(&p),
        &p,
        "line 2, column 1",
        "YYYY-MM",
    );
}

// ------------------------------------------------------------------------------------------
// text
// ------------------------------------------------------------------------------------------

#[test]
fn text_and_char_vocab() {
    let p = temp_file("t.txt", "First Citizen:\nBefore we proceed".as_bytes());
    let text = load_text(&p).unwrap();
    let vocab = CharVocab::from_text(&text);
    assert_eq!(vocab.chars().first(), Some(&'\n'));
    let ids = vocab.encode(&text).unwrap();
    assert!(ids.iter().all(|&i| i < vocab.len()));
    assert_eq!(vocab.decode(&ids), text);
    let err = vocab.encode("F#").unwrap_err().to_string();
    assert!(err.contains("'#'") && err.contains("position 1"), "{err}");
    assert_eq!(vocab.decode(&[vocab.len()]), "\u{FFFD}");
    assert!(CharVocab::from_text("").is_empty());
    let p = temp_file("empty.txt", b"");
    assert_format(load_text(&p), &p, "byte 0", "empty");
    let p = temp_file("bad.txt", b"abc\xc3\x28def");
    assert_format(load_text(&p), &p, "byte 3", "UTF-8");
    // Latin-1 text: the offset, line and column of the bad byte, and what to do
    let p = temp_file("latin1.txt", b"one\ncaf\xe9 au lait\n");
    let msg = assert_format(load_text(&p), &p, "byte 7 (line 2, column 4)", "iconv");
    assert!(msg.contains("0xE9"), "{msg}");
    // Windows line endings and a byte-order mark are not characters of the text
    let p = temp_file("crlf.txt", "\u{feff}ab\r\ncd\r\n".as_bytes());
    assert_eq!(load_text(&p).unwrap(), "ab\ncd\n");
}

// ------------------------------------------------------------------------------------------
// arbitrary input never panics
// ------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_idx_loader(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        code in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
        nd in 0u8..5,
    ) {
        let _ = parse_idx_any(&bytes, "<bytes>");
        // with a valid-looking magic number, so the dimensions and data are exercised
        let mut v = vec![0, 0, code, nd];
        v.extend_from_slice(&bytes);
        let _ = parse_idx_any(&v, "<idx>");
        // and through gzip
        let _ = parse_idx_any(&gzip(&v), "<idx.gz>");
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(&bytes);
        let _ = parse_idx_any(&gz, "<gz>");
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_csv_loaders(
        bytes in proptest::collection::vec(
            prop::sample::select(b"0123456789.,-e\n\r \"naxX".to_vec()), 0..120),
        noise in proptest::collection::vec(any::<u8>(), 0..40),
        label in 0usize..4,
        header in prop::option::of(any::<bool>()),
    ) {
        let opts = CsvOptions {
            header,
            label_column: if label == 3 { LabelColumn::Last } else { LabelColumn::Index(label) },
            classes: Some(5),
            ..CsvOptions::default()
        };
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_csv::<f32>(text, "<csv>", &opts);
            let _ = optim::data::parse_csv_matrix::<f64>(text, "<csv>", &opts);
        }
        let p = temp_file("prop.csv", &noise);
        let _ = load_csv::<f64>(&p, &opts);
        let _ = load_csv_matrix::<f64>(&p, &opts);
        let _ = load_optdigits::<f32>(&p);
        let _ = load_iris::<f32>(&p);
        let _ = load_sunspots_yearly::<f32>(&p);
        let _ = load_airline_passengers::<f32>(&p);
        let _ = load_sunspots_monthly::<f32>(&p);
        let _ = load_text(&p);
    }
}

// ------------------------------------------------------------------------------------------
// real data (DL_DATA_DIR)
// ------------------------------------------------------------------------------------------

fn real(name: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("DL_DATA_DIR") else {
        println!("skipped: DL_DATA_DIR is not set (real-data test for {name})");
        return None;
    };
    let p = PathBuf::from(dir).join(name);
    assert!(
        p.exists(),
        "DL_DATA_DIR is set but {} does not exist",
        p.display()
    );
    Some(p)
}

fn class_counts(labels: &[usize], k: usize) -> Vec<usize> {
    let mut c = vec![0; k];
    for &l in labels {
        c[l] += 1;
    }
    c
}

#[test]
fn real_optdigits() {
    let Some(p) = real("optdigits.tra") else {
        return;
    };
    let d = load_optdigits::<f32>(&p).unwrap();
    assert_eq!(d.x.shape(), (64, 3823));
    assert_eq!(
        class_counts(d.labels().unwrap(), 10),
        [376, 389, 380, 389, 387, 376, 377, 387, 380, 382]
    );
    assert_eq!(d.x.max(), 16.0);
    assert_eq!(d.x.min(), 0.0);
}

#[test]
fn real_mnist_test_set() {
    let (Some(ip), Some(lp)) = (
        real("t10k-images-idx3-ubyte.gz"),
        real("t10k-labels-idx1-ubyte.gz"),
    ) else {
        return;
    };
    let images = load_idx(&ip).unwrap();
    assert_eq!(images.dims, [10_000, 28, 28]);
    assert_eq!(images.data.len(), 7_840_000);
    let d = load_mnist::<f32>(&ip, &lp).unwrap();
    assert_eq!(d.x.shape(), (784, 10_000));
    assert_eq!(&d.labels().unwrap()[..2], &[7, 2]);
    assert_eq!(
        class_counts(d.labels().unwrap(), 10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(d.x.max(), 1.0);
    assert_eq!(d.x.min(), 0.0);
}

#[test]
fn real_iris() {
    let Some(p) = real("iris.csv") else {
        return;
    };
    let d = load_iris::<f64>(&p).unwrap();
    assert_eq!(d.x.shape(), (4, 150));
    assert_eq!(class_counts(d.labels().unwrap(), 3), [50, 50, 50]);
    assert_eq!(d.x.column(0).as_slice(), &[5.1, 3.5, 1.4, 0.2]);
}

#[test]
fn real_sunspots_airline_and_monthly() {
    let Some(p) = real("sunspots_yearly.csv") else {
        return;
    };
    let (years, values) = load_sunspots_yearly::<f64>(&p).unwrap();
    assert_eq!(years.len(), 309);
    assert_eq!(values.len(), 309);
    assert_eq!((years[0], years[308]), (1700, 2008));
    assert!(years.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!((values[0], values[1]), (5.0, 11.0));
    assert!(values.iter().all(|&v| v >= 0.0));

    let Some(p) = real("airline_passengers.csv") else {
        return;
    };
    let (dates, values) = load_airline_passengers::<f64>(&p).unwrap();
    assert_eq!(dates.len(), 144);
    assert_eq!((dates[0], dates[143]), ((1949, 1), (1960, 12)));
    assert_eq!(values[0], 112.0);

    let Some(p) = real("sunspots_monthly.csv") else {
        return;
    };
    let (dates, values) = load_sunspots_monthly::<f64>(&p).unwrap();
    assert_eq!(dates.len(), 3126);
    assert_eq!((dates[0], dates[3125]), ((1749, 1), (2009, 6)));
    assert_eq!(values[0], 58.0);
    let m = load_csv_matrix::<f64>(&p, &CsvOptions::default()).unwrap();
    assert_eq!(m.header.unwrap(), ["year", "month", "sunspots"]);
    assert_eq!(m.data.shape(), (3, 3126));
    assert_eq!(m.data.column(0).as_slice(), &[1749.0, 1.0, 58.0]);
}

#[test]
fn real_tiny_shakespeare() {
    let Some(p) = real("tinyshakespeare.txt") else {
        return;
    };
    let text = load_text(&p).unwrap();
    assert_eq!(text.chars().count(), 1_115_394);
    let vocab = CharVocab::from_text(&text);
    assert_eq!(vocab.len(), 65);
    let ids = vocab.encode(&text[..1000]).unwrap();
    assert_eq!(vocab.decode(&ids), &text[..1000]);
    assert!(text.starts_with("First Citizen:"));
}
