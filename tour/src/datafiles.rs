//! Real data files, recognised by content (not by name): optdigits CSV, MNIST-format IDX files
//! (gzip'd or raw), tiny Shakespeare text, yearly sunspots CSV, iris CSV, `source<TAB>target`
//! pairs, `x,y` point clouds and any numeric CSV table with a class-label column; `--format`
//! says what a `--train`/`--test` file is when its content does not (a short text, a text with
//! a comma in its first line).

use clap::ValueEnum;
use optim::data::{CsvOptions, Dataset, LabelColumn, load_text, parse_csv, parse_csv_header};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CSV rows of 64 features (a square 8x8 image) and a label.
    Optdigits,
    /// Fisher's iris CSV.
    Iris,
    /// Yearly sunspot numbers.
    Sunspots,
    /// An IDX file of images (magic 0x0803).
    IdxImages,
    /// An IDX file of labels (magic 0x0801).
    IdxLabels,
    /// Plain text (a character corpus).
    Text,
    /// Sequence pairs, one `source<TAB>target` per line (a seq2seq data set).
    Pairs,
    /// 2-D points, `x,y` per line, optional header line.
    Points,
    /// Any numeric CSV table: features and an integer class label per row, a header line or
    /// none. Read only as `--train`/`--test` (a data folder is searched for the named kinds).
    Csv,
}

/// What `--format` says a `--train`/`--test` file is, instead of sniffing its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A numeric CSV table with a class-label column (see --label-column).
    Csv,
    /// IDX images or labels (MNIST's format, gzip'd or raw).
    Idx,
    /// Plain UTF-8 text, whatever its length or first line.
    Text,
    /// One source<TAB>target pair per line.
    Pairs,
    /// 2-D points, x,y per line.
    Points,
}

/// `--format` and the files it applies to (`--train`, `--test`), set once by `main`.
static FORMAT: OnceLock<(Format, Vec<PathBuf>)> = OnceLock::new();

/// Makes [`sniff`] take `format` for `files` (the `--train` and `--test` files) instead of
/// reading their content. Called once, before any chapter runs.
pub fn set_format(format: Format, files: Vec<PathBuf>) {
    let _ = FORMAT.set((format, files));
}

impl Kind {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Optdigits => "optdigits-style CSV (64 features + label)",
            Kind::Iris => "iris CSV",
            Kind::Sunspots => "yearly sunspots CSV",
            Kind::IdxImages => "IDX images",
            Kind::IdxLabels => "IDX labels",
            Kind::Text => "plain text",
            Kind::Pairs => "source<TAB>target pairs",
            Kind::Points => "2-D points CSV (x,y)",
            Kind::Csv => "numeric CSV table (features and a class label)",
        }
    }
}

/// Whether a CSV field is a number (trimmed, one pair of double quotes removed, as optim reads it).
fn number(field: &str) -> bool {
    let f = field.trim();
    let f = f
        .strip_prefix('"')
        .and_then(|g| g.strip_suffix('"'))
        .unwrap_or(f);
    f.parse::<f64>().is_ok()
}

fn head(path: &Path, n: usize) -> crate::Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::with_capacity(n);
    f.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(buf)
}

/// Recognises a file by its first bytes.
///
/// # Errors
/// When it is none of the known kinds, naming the file and what was seen.
pub fn sniff(path: &Path) -> crate::Result<Kind> {
    if let Some((format, files)) = FORMAT.get()
        && files.iter().any(|f| f == path)
    {
        return match format {
            Format::Csv => Ok(Kind::Csv),
            Format::Text => Ok(Kind::Text),
            Format::Pairs => Ok(Kind::Pairs),
            Format::Points => Ok(Kind::Points),
            Format::Idx => match sniff_content(path)? {
                k @ (Kind::IdxImages | Kind::IdxLabels) => Ok(k),
                _ => Err(format!(
                    "{}: --format idx, but the file does not start with an IDX magic number \
                     (00 00 08 03 for images, 00 00 08 01 for labels)",
                    path.display()
                )
                .into()),
            },
        };
    }
    sniff_content(path)
}

fn sniff_content(path: &Path) -> crate::Result<Kind> {
    let bytes = head(path, 1 << 16)?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path)?)
            .take(16)
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: not a readable gzip file: {e}", path.display()))?;
        out
    } else {
        bytes
    };
    if bytes.len() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 8 {
        return match bytes[3] {
            3 => Ok(Kind::IdxImages),
            1 => Ok(Kind::IdxLabels),
            m => Err(format!(
                "{}: IDX file with {m} dimensions; expected images (3) or labels (1)",
                path.display()
            )
            .into()),
        };
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        // a cut in the middle of a multi-byte character at the end of the sample is fine
        Err(e) if e.valid_up_to() + 4 >= bytes.len() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => {
            return Err(format!(
                "{}: neither a CSV/text file nor an IDX file (binary content)",
                path.display()
            )
            .into());
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(format!("{}: empty file", path.display()).into());
    }
    let lower = first.to_ascii_lowercase();
    if lower.contains("sunactivity") {
        return Ok(Kind::Sunspots);
    }
    if lower.contains("sepal") || lower.contains("setosa") {
        return Ok(Kind::Iris);
    }
    // pairs: each of the first lines holds exactly one tab (a text with a stray tab is text)
    if text
        .lines()
        .take(5)
        .filter(|l| !l.is_empty())
        .all(|l| l.split('\t').count() == 2)
    {
        return Ok(Kind::Pairs);
    }
    let fields: Vec<&str> = first.split(',').collect();
    let numeric = fields.iter().all(|f| f.trim().parse::<f64>().is_ok());
    if fields.len() == 2 {
        // `x,y` rows, possibly under a header line
        let second = text.lines().nth(1).unwrap_or("");
        let row = |l: &str| {
            let f: Vec<&str> = l.split(',').collect();
            f.len() == 2 && f.iter().all(|v| v.trim().parse::<f64>().is_ok())
        };
        if numeric || row(second) {
            return Ok(Kind::Points);
        }
    }
    if numeric && fields.len() == 65 {
        return Ok(Kind::Optdigits);
    }
    if fields.len() >= 3 {
        // a numeric table: the first line, or the line after a header, is all numbers
        let skip = usize::from(!numeric);
        let data = text.lines().filter(|l| !l.trim().is_empty()).nth(skip);
        let row: Vec<&str> = data.unwrap_or("").split(',').collect();
        if row.len() == fields.len() && row.iter().all(|v| number(v)) {
            return Ok(Kind::Csv);
        }
    }
    if fields.len() == 1 && text.len() > 1000 {
        return Ok(Kind::Text);
    }
    Err(format!(
        "{}: not a recognised data file (first line has {} comma-separated fields: {:?}); \
         expected optdigits CSV, iris CSV, sunspots CSV, a numeric CSV table, IDX, x,y points \
         CSV, source<TAB>target pairs or plain text (over 1000 bytes, no comma in its first \
         line); --format says what it is",
        path.display(),
        fields.len(),
        first.chars().take(60).collect::<String>()
    )
    .into())
}

/// The file in `dir` of the given kind: the first by name, except for plain text, where the
/// largest is taken (a corpus lies beside shorter texts such as a data set's description).
pub fn find(dir: &Path, kind: Kind) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && sniff(p).is_ok_and(|k| k == kind))
        .collect();
    entries.sort();
    if kind == Kind::Text {
        entries
            .into_iter()
            .max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
    } else {
        entries.into_iter().next()
    }
}

/// Whether any file in `dir` is of a kind the tour reads.
pub fn any_recognised(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .any(|p| p.is_file() && sniff(&p).is_ok_and(|k| k != Kind::Csv))
    })
}

/// Checks that `path` holds `kind`, with an error naming the file otherwise.
pub fn expect(path: &Path, kind: Kind) -> crate::Result<()> {
    let got = sniff(path)?;
    if got == kind {
        Ok(())
    } else {
        Err(format!(
            "{}: holds {}, this chapter needs {}",
            path.display(),
            got.describe(),
            kind.describe()
        )
        .into())
    }
}

/// A numeric CSV table of features and an integer class label (header detected, a UTF-8 BOM
/// dropped), read by optim's CSV loader. `label` is `--label-column`: a column index (from 0) or
/// a header name; the last column when `None`. Returns the data and the label column's name in
/// words.
///
/// # Errors
/// When the file is not such a table (optim's message names the line and column), or the label
/// column does not exist.
pub fn load_table(path: &Path, label: Option<&str>) -> crate::Result<(Dataset<f64>, String)> {
    let text = load_text(path)?;
    let header = parse_csv_header(&text, path, &CsvOptions::default())?;
    let (label_column, named) = match label {
        None => (LabelColumn::Last, "the last column".to_string()),
        Some(l) => match l.parse::<usize>() {
            Ok(i) => (LabelColumn::Index(i), format!("column {i}")),
            Err(_) => {
                let names = header.as_deref().ok_or_else(|| {
                    format!(
                        "{}: --label-column {l:?} names a column, but the file has no header \
                         line (give the column's index, counted from 0)",
                        path.display()
                    )
                })?;
                let i = names.iter().position(|n| n == l).ok_or_else(|| {
                    format!(
                        "{}: --label-column {l:?}: no such column (the header has {names:?})",
                        path.display()
                    )
                })?;
                (LabelColumn::Index(i), format!("column {l:?}"))
            }
        },
    };
    let options = CsvOptions {
        label_column,
        ..CsvOptions::default()
    };
    Ok((parse_csv(&text, path, &options)?, named))
}
