//! Real data files, recognised by content (not by name): optdigits CSV, MNIST-format IDX files
//! (gzip'd or raw), tiny Shakespeare text, yearly sunspots CSV, iris CSV, `source<TAB>target`
//! pairs, `x,y` point clouds and any numeric CSV table with a class-label column; `--format`
//! says what a `--train`/`--test` file is when its content does not (a short text, a text with
//! a comma in its first line).

use clap::ValueEnum;
use optim::data::{
    CsvOptions, Dataset, LabelColumn, csv_fields, load_text, not_utf8, parse_csv, parse_csv_matrix,
    sniff_delimiter,
};
use std::borrow::Cow;
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
    /// Any CSV table of numeric features and a class label per row (an index or a name), a
    /// header line or none. Read only as `--train`/`--test` (a data folder is searched for the named kinds).
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
    /// One tab-separated source/target pair per line.
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
            Kind::Csv => "CSV table (numeric features and a class label)",
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
        // the offset, line and column of the first bad byte: a Latin-1 text or table is
        // told to convert itself, a binary file that it is not text
        Err(e) => return Err(not_utf8(&bytes, e.valid_up_to(), path).into()),
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
    // pairs: the first line and most of the next ones hold a tab (a text with a stray tab is
    // text; a pairs file with one bad line among the first is left to the pairs reader, which
    // names the line). A third column, as Tatoeba's attribution, is allowed.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .collect();
    // a table separated by tabs or semicolons (`optim::data::sniff_delimiter`), numbers with
    // decimal points or commas, is read as one separated by commas: checked before the pairs,
    // which are tab-separated too, but text
    let delimiter = sniff_delimiter(text);
    if delimiter != ',' && table_kind(text, delimiter, &lines, path)? {
        return Ok(Kind::Csv);
    }
    let tabbed = lines.iter().filter(|l| l.contains('\t')).count();
    if first.contains('\t') && tabbed * 4 >= lines.len() * 3 {
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
    if delimiter == ',' && table_kind(text, ',', &lines, path)? {
        return Ok(Kind::Csv);
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

/// Whether `text` (its first non-blank `lines`) is a numeric table separated by `delimiter`: 3
/// or more fields, the first line — or the line after a header — all numbers but at most one (a
/// class label may be a name; an empty field, a missing value, is left for the CSV reader to
/// report with its line and column).
///
/// # Errors
/// A header line (3 or more fields, not all numbers) with no line after it: a table with no
/// data rows.
fn table_kind(text: &str, delimiter: char, lines: &[&str], path: &Path) -> crate::Result<bool> {
    let Some(first) = lines.first() else {
        return Ok(false);
    };
    let fields = csv_fields(first, delimiter);
    if fields.len() < 3 {
        return Ok(false);
    }
    let header = !fields.iter().all(|f| f.parse::<f64>().is_ok());
    let name_like = |f: &Cow<'_, str>| !f.is_empty() && f.chars().count() <= 64;
    let Some(data) = lines.get(usize::from(header)) else {
        if delimiter == '\t' || !fields.iter().all(name_like) {
            // one line of text with commas in it, or one `source<TAB>target` pair, not a header
            return Ok(false);
        }
        let line = 1 + text
            .trim_start_matches('\u{feff}')
            .lines()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(0);
        return Err(format!(
            "{}: line {line}: a header line ({} fields) and no data rows after it",
            path.display(),
            fields.len()
        )
        .into());
    };
    let row = csv_fields(data, delimiter);
    let names = row.iter().filter(|v| !v.is_empty() && !number(v)).count();
    Ok(row.len() == fields.len() && names <= 1)
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

/// A CSV table read by [`load_table`].
pub struct LoadedTable {
    /// Features (`features x rows`) and class indices.
    pub data: Dataset<f64>,
    /// The label column in words (`the last column`, `column 1`, `column "species"`).
    pub label_named: String,
    /// The class names when the labels are names (class `i` is `names[i]`), `None` when they
    /// are class indices.
    pub class_names: Option<Vec<String>>,
}

/// Whose class names a table's labels are mapped with.
#[derive(Debug, Clone, Copy)]
pub enum ClassNames<'a> {
    /// A training file: indices when the labels are numbers, else its own names sorted (so
    /// the mapping does not depend on the order of the rows).
    Own,
    /// A test file: the training file's names (`None`: the training labels were indices, so
    /// these must be too).
    Training(Option<&'a [String]>),
}

/// The range every feature value of a table must lie in, and the rule that set it (said in the
/// error when a value is outside).
#[derive(Debug, Clone, Copy)]
pub struct ValueRange<'a> {
    /// Smallest value allowed.
    pub lo: f64,
    /// Largest value allowed (`f64::INFINITY`: no bound).
    pub hi: f64,
    /// Why, in words: appended to optim's message naming the line and column.
    pub rule: &'a str,
}

impl ValueRange<'_> {
    fn options(range: Option<Self>) -> Option<(f64, f64)> {
        range.map(|r| (r.lo, r.hi))
    }

    /// optim's error, with the rule appended when it is a value outside the range.
    fn explain(range: Option<Self>, e: optim::Error) -> crate::Error {
        match (range, &e) {
            (Some(r), optim::Error::Format { reason, .. })
                if reason.contains("outside the allowed range") =>
            {
                format!("{e}; {}", r.rule).into()
            }
            _ => e.into(),
        }
    }
}

/// The label-column value that says a table has none: every column is a feature (`tour rbm`, an
/// unsupervised model; the chapters that classify need labels).
pub const NO_LABEL: &str = "none";

/// A CSV table of numeric features only (no label column): a header line detected (the first
/// line is a header when one of its fields is not a number), a UTF-8 BOM dropped, read by
/// optim's CSV loader; one column per row (`features x rows`).
///
/// # Errors
/// An empty file, ragged rows, a field that is not a finite number, a value outside `range`
/// (optim's message names the line and column; the range's rule is appended).
pub fn load_features(path: &Path, range: Option<ValueRange<'_>>) -> crate::Result<optim::Mat<f64>> {
    let text = load_text(path)?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(format!("{}: empty file", path.display()).into());
    }
    let options = CsvOptions {
        delimiter: sniff_delimiter(&text),
        value_range: ValueRange::options(range),
        ..CsvOptions::default()
    };
    parse_csv_matrix(&text, path, &options)
        .map(|m| m.data)
        .map_err(|e| ValueRange::explain(range, e))
}

/// A CSV table of numeric features and a class label per row: a header line detected (the first
/// line is a header when a field other than the label is not a number, or when `label` names one
/// of its fields), a UTF-8 BOM dropped, read by optim's CSV loader. `label` is `--label-column`:
/// a column index (from 0) or a header name; the last column when `None`. Labels are class
/// indices `0, 1, …` or, when none of them is a number, names (`setosa`, `"yes"`), mapped to
/// indices as [`ClassNames`] says.
///
/// Every feature value must lie in `range` when it is given.
///
/// # Errors
/// When the file is not such a table (optim's message names the line and column), the label
/// column does not exist, a test file's label is not one of the training file's classes, or a
/// value is outside `range` (its rule appended to the message).
pub fn load_table(
    path: &Path,
    label: Option<&str>,
    names: ClassNames<'_>,
    range: Option<ValueRange<'_>>,
) -> crate::Result<LoadedTable> {
    let text = load_text(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| format!("{}: empty file", path.display()))?;
    let delimiter = sniff_delimiter(text);
    let first = csv_fields(first_line, delimiter);
    let width = first.len();
    let (col, label_named, named) = match label {
        None => (width - 1, "the last column".to_string(), false),
        Some(l) => match l.parse::<usize>() {
            Ok(i) => (i, format!("column {i}"), false),
            Err(_) => {
                let i = first.iter().position(|n| *n == l).ok_or_else(|| {
                    if first.iter().all(|f| number(f)) {
                        format!(
                            "{}: --label-column {l:?} names a column, but the file has no \
                             header line (give the column's index, counted from 0)",
                            path.display()
                        )
                    } else {
                        format!(
                            "{}: --label-column {l:?}: no such column (the header has {first:?})",
                            path.display()
                        )
                    }
                })?;
                (i, format!("column {l:?}"), true)
            }
        },
    };
    if col >= width {
        return Err(format!(
            "{}: label column {col} does not exist ({width} columns, counted from 0)",
            path.display()
        )
        .into());
    }
    let header = named
        || first
            .iter()
            .enumerate()
            .any(|(c, f)| c != col && !number(f));
    // (line index, label field) of every data row
    let rows: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .skip(usize::from(header))
        .map(|(i, l)| {
            let label = csv_fields(l, delimiter).into_iter().nth(col);
            (i, label.map_or(String::new(), Cow::into_owned))
        })
        .collect();
    // names only when no label is a number: a numeric label that is not a class index (`0.5`,
    // `-1`) stays an error of optim's reader, naming its line and column
    let indices = rows.iter().any(|(_, f)| number(f));
    let class_names: Option<Vec<String>> = match names {
        ClassNames::Own if indices => None,
        ClassNames::Own => {
            let mut all: Vec<String> = rows.iter().map(|(_, f)| f.to_string()).collect();
            all.sort();
            all.dedup();
            Some(all)
        }
        ClassNames::Training(None) if indices => None,
        ClassNames::Training(None) => {
            let (line, f) = rows
                .iter()
                .find(|(_, f)| !number(f))
                .map_or((0, ""), |(i, f)| (*i, f.as_str()));
            return Err(format!(
                "{}: line {}: label {f:?} is a name, but the training file's labels are class \
                 indices",
                path.display(),
                line + 1
            )
            .into());
        }
        ClassNames::Training(Some(n)) => Some(n.to_vec()),
    };
    let options = CsvOptions {
        header: Some(header),
        delimiter,
        label_column: LabelColumn::Index(col),
        value_range: ValueRange::options(range),
        ..CsvOptions::default()
    };
    let explain = |e| ValueRange::explain(range, e);
    let data = match &class_names {
        None => parse_csv(text, path, &options).map_err(explain)?,
        Some(classes) => {
            // the same text with each name replaced by its index (line numbers kept)
            let mut mapped = String::with_capacity(text.len());
            let mut rows = rows.iter().peekable();
            for (i, line) in text.lines().enumerate() {
                if rows.peek().is_some_and(|(r, _)| *r == i) {
                    let name = rows.next().map_or("", |(_, f)| f.as_str());
                    let k = classes.iter().position(|c| c == name).ok_or_else(|| {
                        format!(
                            "{}: line {}: label {name:?} is not one of the training file's \
                             classes {classes:?}",
                            path.display(),
                            i + 1
                        )
                    })?;
                    let fields: Vec<String> = line
                        .split(delimiter)
                        .enumerate()
                        .map(|(c, f)| {
                            if c == col {
                                k.to_string()
                            } else {
                                f.to_string()
                            }
                        })
                        .collect();
                    mapped.push_str(&fields.join(delimiter.encode_utf8(&mut [0; 4])));
                } else {
                    mapped.push_str(line);
                }
                mapped.push('\n');
            }
            parse_csv(&mapped, path, &options).map_err(explain)?
        }
    };
    Ok(LoadedTable {
        data,
        label_named,
        class_names,
    })
}
