//! Loaders for real data files: CSV, IDX (MNIST's format, gzip'd or raw), plain text with a
//! character vocabulary, and the named data sets of `shared/data` (optdigits, iris, MNIST,
//! sunspots, airline passengers).
//!
//! Every loader checks its input and returns [`Error::Format`] naming the file and the position
//! (`line 12, column 3` or `byte 16`) for anything malformed: an empty file, a wrong magic number,
//! a truncated file or a header that claims more data than there is, a non-numeric or non-finite
//! CSV field, a label out of range, ragged rows. Nothing panics on bad input, and no buffer is
//! sized by a header field before that field has been checked against the bytes actually present.
//!
//! Matrices follow the crate's convention: **one column per example** (`features x n`).

use super::Dataset;
use crate::{Error, Float, Mat, Result};
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Files and text
// ---------------------------------------------------------------------------------------------

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Checks that `bytes` are non-empty UTF-8 and returns them as text.
fn as_text<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str> {
    if bytes.is_empty() {
        return Err(Error::format(path, "byte 0", "empty file"));
    }
    std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e.valid_up_to(), path))
}

/// The error for `bytes` that are not UTF-8 from offset `at` on: the byte offset, the line and
/// column of the bad byte, and its value. A file with no NUL byte is most likely text in another
/// encoding (Latin-1, Windows-1252), so the message says to convert it.
///
/// ```
/// let bytes = b"one\ncaf\xe9\n";
/// let e = optim::data::not_utf8(bytes, 7, "t.txt".as_ref()).to_string();
/// assert!(e.contains("byte 7 (line 2, column 4)") && e.contains("0xE9"), "{e}");
/// ```
pub fn not_utf8(bytes: &[u8], at: usize, path: &Path) -> Error {
    let before = &bytes[..at.min(bytes.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count();
    let byte = bytes
        .get(at)
        .map_or(String::new(), |b| format!(" 0x{b:02X}"));
    let reason = if bytes.contains(&0) {
        format!("invalid UTF-8 byte{byte} (the file is not text)")
    } else {
        format!(
            "invalid UTF-8 byte{byte}: the file must be UTF-8 text (is it Latin-1 or \
             Windows-1252? convert it, e.g. `iconv -f latin1 -t utf-8`)"
        )
    };
    Error::format(
        path,
        format!("byte {at} (line {line}, column {column})"),
        reason,
    )
}

/// Reads a whole text file (UTF-8), e.g. Tiny Shakespeare. Windows line endings `\r\n` become
/// `\n` and a leading byte-order mark is dropped, as Python's text mode (`open(f,
/// encoding="utf-8-sig")`) reads a file: a character model then sees the same text whichever
/// system wrote it, not a `\r` before every newline. A lone `\r` is kept.
///
/// # Errors
/// [`Error::Io`] if it cannot be read; [`Error::Format`] if it is empty or not UTF-8 (naming the
/// byte offset, line and column of the first invalid byte).
pub fn load_text(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let text = as_text(&bytes, path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(if text.contains("\r\n") {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    })
}

/// A character-level vocabulary: the distinct characters of a text, sorted, each with its index
/// (the `stoi`/`itos` tables of char-rnn and nanoGPT).
///
/// ```
/// use optim::data::CharVocab;
/// let vocab = CharVocab::from_text("hello");
/// assert_eq!(vocab.len(), 4); // e, h, l, o
/// let ids = vocab.encode("hole").unwrap();
/// assert_eq!(ids, [1, 3, 2, 0]);
/// assert_eq!(vocab.decode(&ids), "hole");
/// assert!(vocab.encode("x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
}

impl CharVocab {
    /// The sorted distinct characters of `text`.
    pub fn from_text(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        CharVocab { chars }
    }

    /// Number of distinct characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether the vocabulary is empty (built from an empty text).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters, sorted; index `i` is the character with id `i`.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id of `c`, if it is in the vocabulary.
    pub fn index_of(&self, c: char) -> Option<usize> {
        self.chars.binary_search(&c).ok()
    }

    /// The character with id `i`, if `i < len()`.
    pub fn char_of(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The ids of the characters of `text`.
    ///
    /// # Errors
    /// [`Error::Data`] naming the first character that is not in the vocabulary and its position
    /// (in characters).
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(k, c)| {
                self.index_of(c).ok_or_else(|| {
                    Error::Data(format!(
                        "CharVocab::encode: character {c:?} at position {k} is not in the \
                         vocabulary of {} characters",
                        self.len()
                    ))
                })
            })
            .collect()
    }

    /// The text of `ids`. An id outside the vocabulary decodes to U+FFFD (`�`), so decoding
    /// model output never fails.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&i| self.char_of(i).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/// Which column of a CSV file holds the class label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column (the default; UCI's convention).
    #[default]
    Last,
    /// Column `i`, counted from 0.
    Index(usize),
}

/// How to read a CSV file with [`load_csv`] / [`load_csv_matrix`].
///
/// ```
/// use optim::data::{CsvOptions, LabelColumn};
/// // iris.csv: a header, four measurements, species_id (0..2), species name
/// let iris = CsvOptions {
///     header: Some(true),
///     label_column: LabelColumn::Index(4),
///     classes: Some(3),
///     ignore_columns: vec![5],
///     ..CsvOptions::default()
/// };
/// # let _ = iris;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// Whether the first non-blank line is a header: `Some(true)`, `Some(false)`, or `None`
    /// (default) to detect it: the first line is a header if one of its used fields is not a
    /// number.
    pub header: Option<bool>,
    /// Field separator (default `,`; [`sniff_delimiter`] finds a text's). With another separator
    /// than the comma, a decimal comma is read as a decimal point (see [`csv_fields`]).
    pub delimiter: char,
    /// Columns (from 0) that are skipped, e.g. a name or date column.
    pub ignore_columns: Vec<usize>,
    /// The integer class-label column, for [`load_csv`] (default: the last). Not used by
    /// [`load_csv_matrix`].
    pub label_column: LabelColumn,
    /// If set, labels must be below this number of classes. Not used by [`load_csv_matrix`].
    pub classes: Option<usize>,
    /// If set, every feature value must lie in `[lo, hi]`.
    pub value_range: Option<(f64, f64)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: None,
            delimiter: ',',
            ignore_columns: Vec::new(),
            label_column: LabelColumn::Last,
            classes: None,
            value_range: None,
        }
    }
}

/// A numeric CSV table read by [`load_csv_matrix`].
#[derive(Debug, Clone, PartialEq)]
pub struct CsvMatrix<F: Float> {
    /// The header's names of the columns kept (in order), if the file has a header.
    pub header: Option<Vec<String>>,
    /// The values: **one column per CSV row**, one matrix row per CSV column kept
    /// (`kept columns x rows`).
    pub data: Mat<F>,
}

/// One non-blank line of a CSV file, split into fields.
struct Record<'a> {
    /// 1-based line number.
    line: usize,
    fields: Vec<Cow<'a, str>>,
}

/// The field separator of a CSV text: `'\t'` or `';'` when every one of its first (up to 10)
/// non-blank lines holds the same, non-zero number of it (trailing whitespace not counted), else
/// `','`. The rarer separators are
/// tried first because a table separated by them may use the comma as its decimal mark
/// (`1,5;2,25;0`, a spreadsheet's export in many locales), which makes the comma count vary from
/// line to line; a comma-separated table never holds a tab or semicolon in every line.
///
/// ```
/// use optim::data::sniff_delimiter;
/// assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), ',');
/// assert_eq!(sniff_delimiter("a;b;c\r\n1,5;2;0\r\n0,25;1,5;1\r\n"), ';');
/// assert_eq!(sniff_delimiter("\u{feff}1\t2\t0\n3\t4\t1\n"), '\t');
/// assert_eq!(sniff_delimiter("x;y,z\n1,2,3\n"), ',');
/// assert_eq!(sniff_delimiter("1,2,0\t\r\n3,4,1\t\r\n"), ',');
/// ```
pub fn sniff_delimiter(text: &str) -> char {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .collect();
    ['\t', ';']
        .into_iter()
        .find(|&d| {
            // trailing whitespace (a tab after the last field) separates nothing
            let count = |l: &&str| l.trim_end().matches(d).count();
            lines
                .first()
                .map(count)
                .is_some_and(|n| n > 0 && lines.iter().all(|l| count(l) == n))
        })
        .unwrap_or(',')
}

/// One line of a CSV table split into fields as [`parse_csv`] reads them: each trimmed, one pair
/// of surrounding double quotes removed (no embedded separators or quotes), and — when the
/// separator is not a comma — a decimal comma read as a decimal point (`"1,5"` is `1.5`, as R's
/// `read.csv2` reads a semicolon-separated table).
///
/// ```
/// use optim::data::csv_fields;
/// assert_eq!(csv_fields(" 1.5 ,\"2\",x\r", ','), ["1.5", "2", "x"]);
/// assert_eq!(csv_fields("1,5;\"-0,25\";1e3", ';'), ["1.5", "-0.25", "1e3"]);
/// ```
pub fn csv_fields(line: &str, delimiter: char) -> Vec<Cow<'_, str>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.split(delimiter)
        .map(|f| {
            let f = f.trim();
            let f = f
                .strip_prefix('"')
                .and_then(|g| g.strip_suffix('"'))
                .unwrap_or(f);
            if delimiter != ',' && f.matches(',').count() == 1 {
                let point = f.replace(',', ".");
                if point.parse::<f64>().is_ok() {
                    return Cow::Owned(point);
                }
            }
            Cow::Borrowed(f)
        })
        .collect()
}

/// Splits `text` into records; a leading UTF-8 byte-order mark is dropped, blank lines are
/// skipped, `\r\n` is accepted, fields are split by [`csv_fields`].
fn records(text: &str, delimiter: char) -> Vec<Record<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .filter_map(|(k, line)| {
            if line.trim().is_empty() {
                return None;
            }
            Some(Record {
                line: k + 1,
                fields: csv_fields(line, delimiter),
            })
        })
        .collect()
}

fn at(line: usize, column: usize) -> String {
    format!("line {line}, column {}", column + 1)
}

/// A finite number, or a format error at `line`, `column`.
fn parse_finite<F: Float>(field: &str, path: &Path, line: usize, column: usize) -> Result<F> {
    let v: f64 = field.parse().map_err(|_| {
        let what = if field.is_empty() {
            "empty field (a missing value): fill it in or remove the row".to_string()
        } else {
            format!("{field:?} is not a number")
        };
        Error::format(path, at(line, column), what)
    })?;
    let f = F::of(v);
    if !v.is_finite() || !f.to_f64().is_finite() {
        return Err(Error::format(
            path,
            at(line, column),
            format!(
                "{field:?} is not a finite {} value",
                F::DTYPE.to_lowercase()
            ),
        ));
    }
    Ok(f)
}

/// A non-negative integer (written `3` or `3.0`), or a format error.
fn parse_count(field: &str, path: &Path, line: usize, column: usize, what: &str) -> Result<u64> {
    if let Ok(v) = field.parse::<u64>() {
        return Ok(v);
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 => Ok(v as u64),
        _ => Err(Error::format(
            path,
            at(line, column),
            format!("{what} {field:?} is not a non-negative integer"),
        )),
    }
}

/// The header decision, the column count, and the data records, checked for ragged rows.
fn table<'a>(
    text: &'a str,
    path: &Path,
    options: &CsvOptions,
    is_used: &dyn Fn(usize) -> bool,
) -> Result<(Option<Record<'a>>, Vec<Record<'a>>)> {
    let mut recs = records(text, options.delimiter);
    if recs.is_empty() {
        return Err(Error::format(
            path,
            "line 1",
            "empty file (no non-blank line)",
        ));
    }
    let header = match options.header {
        Some(h) => h,
        None => recs[0]
            .fields
            .iter()
            .enumerate()
            .any(|(c, f)| is_used(c) && f.parse::<f64>().is_err()),
    };
    let header = if header { Some(recs.remove(0)) } else { None };
    let width = header
        .as_ref()
        .or(recs.first())
        .map_or(0, |r| r.fields.len());
    let (first_line, first_what) = match (&header, recs.first()) {
        (Some(h), _) => (h.line, "the header"),
        (None, Some(r)) => (r.line, "the first row"),
        (None, None) => (1, "the first row"),
    };
    if recs.is_empty() {
        return Err(Error::format(
            path,
            format!("line {}", first_line + 1),
            "no data rows after the header",
        ));
    }
    for r in &recs {
        if r.fields.len() != width {
            return Err(Error::format(
                path,
                format!("line {}", r.line),
                format!(
                    "ragged rows: {} fields, but {first_what} (line {first_line}) has {width}",
                    r.fields.len()
                ),
            ));
        }
    }
    for &c in &options.ignore_columns {
        if c >= width {
            return Err(Error::format(
                path,
                format!("line {first_line}"),
                format!("ignored column {c} does not exist ({width} columns, counted from 0)"),
            ));
        }
    }
    Ok((header, recs))
}

fn check_range<F: Float>(
    v: F,
    range: Option<(f64, f64)>,
    field: &str,
    path: &Path,
    line: usize,
    column: usize,
) -> Result<()> {
    if let Some((lo, hi)) = range {
        let x = v.to_f64();
        if !(lo..=hi).contains(&x) {
            return Err(Error::format(
                path,
                at(line, column),
                format!("value {field} is outside the allowed range [{lo}, {hi}]"),
            ));
        }
    }
    Ok(())
}

/// Parses CSV text (numeric features, an integer label column) into a [`Dataset`]; `path` only
/// names the source in errors. [`load_csv`] reads a file and calls this.
///
/// # Errors
/// [`Error::Format`] naming `path` and the line and column for: an empty text, no data rows,
/// ragged rows, a non-numeric or non-finite feature, a value outside `options.value_range`, a
/// label that is not a non-negative integer or not below `options.classes`, a label or ignored
/// column that does not exist, or no feature column at all.
pub fn parse_csv<F: Float>(
    text: &str,
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Dataset<F>> {
    parse_csv_checked(text, path.as_ref(), options, &|_| None)
}

/// [`parse_csv`] with an extra check of each feature value (`Some(reason)` rejects it).
fn parse_csv_checked<F: Float>(
    text: &str,
    path: &Path,
    options: &CsvOptions,
    check: &dyn Fn(f64) -> Option<String>,
) -> Result<Dataset<F>> {
    let is_used = |c: usize| !options.ignore_columns.contains(&c);
    let (header, recs) = table(text, path, options, &is_used)?;
    // `table` made every row, the header included, as wide as the first.
    let width = recs[0].fields.len();
    let first_line = header.as_ref().map_or(recs[0].line, |h| h.line);
    let label = match options.label_column {
        LabelColumn::Last => width.checked_sub(1),
        LabelColumn::Index(i) => Some(i),
    };
    let label = match label {
        Some(l) if l < width => l,
        _ => {
            return Err(Error::format(
                path,
                format!("line {first_line}"),
                format!(
                    "label column {:?} does not exist ({width} columns, counted from 0)",
                    options.label_column
                ),
            ));
        }
    };
    if !is_used(label) {
        return Err(Error::format(
            path,
            format!("line {first_line}"),
            format!("column {label} is both the label and ignored"),
        ));
    }
    let features: Vec<usize> = (0..width).filter(|&c| c != label && is_used(c)).collect();
    if features.is_empty() {
        return Err(Error::format(
            path,
            format!("line {first_line}"),
            "no feature columns (only the label column)",
        ));
    }
    let mut values = Vec::with_capacity(features.len() * recs.len());
    let mut labels = Vec::with_capacity(recs.len());
    for r in &recs {
        for &c in &features {
            let v = parse_finite::<F>(&r.fields[c], path, r.line, c)?;
            check_range(v, options.value_range, &r.fields[c], path, r.line, c)?;
            if let Some(reason) = check(v.to_f64()) {
                return Err(Error::format(path, at(r.line, c), reason));
            }
            values.push(v);
        }
        let l = parse_count(&r.fields[label], path, r.line, label, "label")?;
        if let Some(k) = options.classes
            && l >= k as u64
        {
            return Err(Error::format(
                path,
                at(r.line, label),
                format!("label {l} is out of range (there are {k} classes, 0..{k})"),
            ));
        }
        let l = usize::try_from(l).map_err(|_| {
            Error::format(path, at(r.line, label), format!("label {l} is too large"))
        })?;
        labels.push(l);
    }
    let x = Mat::from_vec(features.len(), recs.len(), values);
    Dataset::new(x, labels)
}

/// The header of CSV text as [`parse_csv`] and [`parse_csv_matrix`] decide it (see
/// [`CsvOptions::header`]): `Some(names)`, one per column, or `None` when the first line is data.
/// Use it to find a column by name, e.g. for [`LabelColumn::Index`].
///
/// ```
/// use optim::data::{CsvOptions, parse_csv_header};
/// let text = "\u{feff}width,class,height\n1.5,2,0.5\n";
/// let names = parse_csv_header(text, "t.csv", &CsvOptions::default()).unwrap().unwrap();
/// assert_eq!(names.iter().position(|n| n == "class"), Some(1));
/// assert_eq!(parse_csv_header("1,2\n3,4\n", "t.csv", &CsvOptions::default()).unwrap(), None);
/// ```
///
/// # Errors
/// As [`parse_csv_matrix`] for the table's shape (an empty text, no data rows, ragged rows).
pub fn parse_csv_header(
    text: &str,
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Option<Vec<String>>> {
    let is_used = |c: usize| !options.ignore_columns.contains(&c);
    let (header, _) = table(text, path.as_ref(), options, &is_used)?;
    Ok(header.map(|h| h.fields.iter().map(|f| f.to_string()).collect()))
}

/// Reads a CSV file of numeric features and an integer label column into a [`Dataset`]
/// (`features x rows`, one label per row). See [`CsvOptions`] for the header, the label column,
/// the number of classes and ignored columns, and [`parse_csv`] for the errors.
pub fn load_csv<F: Float>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset<F>> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_csv(as_text(&bytes, path)?, path, options)
}

/// Parses CSV text whose used columns are all numeric into a [`CsvMatrix`]; `path` only names
/// the source in errors. Uses `header`, `delimiter`, `ignore_columns` and `value_range` of
/// `options`.
///
/// # Errors
/// As [`parse_csv`], without the label checks.
pub fn parse_csv_matrix<F: Float>(
    text: &str,
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<CsvMatrix<F>> {
    let path = path.as_ref();
    let is_used = |c: usize| !options.ignore_columns.contains(&c);
    let (header, recs) = table(text, path, options, &is_used)?;
    let width = recs[0].fields.len();
    let kept: Vec<usize> = (0..width).filter(|&c| is_used(c)).collect();
    if kept.is_empty() {
        return Err(Error::format(
            path,
            format!("line {}", recs[0].line),
            "every column is ignored",
        ));
    }
    let mut values = Vec::with_capacity(kept.len() * recs.len());
    for r in &recs {
        for &c in &kept {
            let v = parse_finite::<F>(&r.fields[c], path, r.line, c)?;
            check_range(v, options.value_range, &r.fields[c], path, r.line, c)?;
            values.push(v);
        }
    }
    Ok(CsvMatrix {
        header: header.map(|h| kept.iter().map(|&c| h.fields[c].to_string()).collect()),
        data: Mat::from_vec(kept.len(), recs.len(), values),
    })
}

/// Reads a CSV file whose used columns are all numeric (e.g. a time series) into a
/// [`CsvMatrix`]: one matrix column per CSV row. See [`parse_csv_matrix`].
pub fn load_csv_matrix<F: Float>(
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<CsvMatrix<F>> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_csv_matrix(as_text(&bytes, path)?, path, options)
}

// ---------------------------------------------------------------------------------------------
// IDX
// ---------------------------------------------------------------------------------------------

/// The element type of an IDX file (third byte of the magic number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxType {
    /// `0x08`: unsigned byte (MNIST).
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian 16-bit integer.
    I16,
    /// `0x0C`: big-endian 32-bit integer.
    I32,
    /// `0x0D`: big-endian `f32`.
    F32,
    /// `0x0E`: big-endian `f64`.
    F64,
}

impl IdxType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// An array read from an IDX file: its dimensions (outermost first, as in the file), its element
/// type and its elements as raw big-endian bytes in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, e.g. `[10000, 28, 28]` for MNIST's test images.
    pub dims: Vec<usize>,
    /// Element type.
    pub dtype: IdxType,
    /// The elements' bytes (big-endian), `dims.product() * dtype.size()` of them.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Element `i` (row-major) as `f64`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<f64> {
        let s = self.dtype.size();
        let start = i.checked_mul(s)?;
        let b = self.data.get(start..start.checked_add(s)?)?;
        Some(match self.dtype {
            IdxType::U8 => f64::from(b[0]),
            IdxType::I8 => f64::from(b[0] as i8),
            IdxType::I16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
            IdxType::I32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            IdxType::F32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            IdxType::F64 => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        })
    }

    /// All elements as `f64`, row-major.
    pub fn to_f64(&self) -> Vec<f64> {
        (0..self.len()).filter_map(|i| self.get(i)).collect()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// At most this many dimensions (IDX files in use have 1 to 4).
const IDX_MAX_DIMS: usize = 16;
/// Deflate cannot expand data by more than about 1032:1; allow a little more for gzip framing.
const DEFLATE_MAX_RATIO: u64 = 1100;

/// The checked header: element type, dimensions, header length and data length in bytes.
fn idx_header(head: &[u8], path: &Path) -> Result<(IdxType, Vec<usize>, usize, u64)> {
    if head.len() < 4 {
        return Err(Error::format(
            path,
            format!("byte {}", head.len()),
            format!(
                "truncated IDX header: {} bytes, the magic number needs 4",
                head.len()
            ),
        ));
    }
    if head[0] != 0 || head[1] != 0 {
        return Err(Error::format(
            path,
            "byte 0",
            format!(
                "wrong magic number {:02x} {:02x} {:02x} {:02x}: an IDX file starts with 00 00",
                head[0], head[1], head[2], head[3]
            ),
        ));
    }
    let dtype = IdxType::from_code(head[2]).ok_or_else(|| {
        Error::format(
            path,
            "byte 2",
            format!(
                "wrong magic number: element type 0x{:02x} is not one of 08 09 0B 0C 0D 0E",
                head[2]
            ),
        )
    })?;
    let nd = usize::from(head[3]);
    if nd == 0 || nd > IDX_MAX_DIMS {
        return Err(Error::format(
            path,
            "byte 3",
            format!("wrong magic number: {nd} dimensions (expected 1 to {IDX_MAX_DIMS})"),
        ));
    }
    let header_len = 4 + 4 * nd;
    if head.len() < header_len {
        return Err(Error::format(
            path,
            format!("byte {}", head.len()),
            format!(
                "truncated IDX header: {nd} dimensions need {header_len} bytes, the file has {}",
                head.len()
            ),
        ));
    }
    let mut dims = Vec::with_capacity(nd);
    let mut count: u64 = 1;
    for k in 0..nd {
        let o = 4 + 4 * k;
        let d = u32::from_be_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]]);
        count = count.checked_mul(u64::from(d)).ok_or_else(|| {
            Error::format(path, format!("byte {o}"), "dimensions overflow 64 bits")
        })?;
        dims.push(d as usize);
    }
    let data_len = count
        .checked_mul(dtype.size() as u64)
        .ok_or_else(|| Error::format(path, "byte 4", "dimensions overflow 64 bits"))?;
    Ok((dtype, dims, header_len, data_len))
}

/// Parses the bytes of a raw (not gzip'd) IDX file; `path` only names the source in errors.
///
/// # Errors
/// [`Error::Format`] with the byte offset for an empty or truncated file, a wrong magic number
/// (first two bytes not zero, unknown element type, 0 or more than 16 dimensions), dimensions
/// that claim more data than the file holds, or bytes left over after the data.
pub fn parse_idx(bytes: &[u8], path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    if bytes.is_empty() {
        return Err(Error::format(path, "byte 0", "empty file"));
    }
    let (dtype, dims, header_len, data_len) = idx_header(bytes, path)?;
    let have = (bytes.len() - header_len) as u64;
    if data_len > have {
        return Err(Error::format(
            path,
            format!("byte {}", bytes.len()),
            format!(
                "truncated: the dimensions {dims:?} claim {data_len} bytes of data after the \
                 {header_len}-byte header, the file has {have}"
            ),
        ));
    }
    if data_len < have {
        return Err(Error::format(
            path,
            format!("byte {}", header_len as u64 + data_len),
            format!(
                "{} bytes after the end of the data the dimensions {dims:?} describe",
                have - data_len
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        dtype,
        data: bytes[header_len..].to_vec(),
    })
}

/// Decompresses a gzip'd IDX file without trusting its header: the header is decompressed first
/// and checked, and the rest is read through a limit of exactly the claimed size (plus one byte
/// to detect excess), which must also be possible for a gzip stream of this length.
fn gunzip_idx(compressed: &[u8], path: &Path) -> Result<IdxArray> {
    let gz_err = |offset: usize, e: std::io::Error| {
        Error::format(
            path,
            format!("decompressed byte {offset}"),
            format!("corrupt or truncated gzip stream: {e}"),
        )
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed);
    // Magic number, then the dimensions it announces.
    let mut head = Vec::with_capacity(4 + 4 * IDX_MAX_DIMS);
    (&mut decoder)
        .take(4)
        .read_to_end(&mut head)
        .map_err(|e| gz_err(head.len(), e))?;
    if head.is_empty() {
        return Err(Error::format(
            path,
            "decompressed byte 0",
            "empty file (the gzip stream holds no data)",
        ));
    }
    if head.len() == 4 && head[0] == 0 && head[1] == 0 {
        let nd = u64::from(head[3]).min(IDX_MAX_DIMS as u64 + 1);
        (&mut decoder)
            .take(4 * nd)
            .read_to_end(&mut head)
            .map_err(|e| gz_err(head.len(), e))?;
    }
    let (dtype, dims, header_len, data_len) = idx_header(&head, path)?;
    let bound = (compressed.len() as u64).saturating_mul(DEFLATE_MAX_RATIO);
    if data_len.saturating_add(header_len as u64) > bound {
        return Err(Error::format(
            path,
            "byte 4",
            format!(
                "the dimensions {dims:?} claim {data_len} bytes, more than a gzip file of {} \
                 bytes can hold (count larger than the data)",
                compressed.len()
            ),
        ));
    }
    // The Vec grows with the bytes actually decompressed, never beyond `data_len + 1`.
    let mut data = Vec::new();
    (&mut decoder)
        .take(data_len + 1)
        .read_to_end(&mut data)
        .map_err(|e| gz_err(header_len + data.len(), e))?;
    let have = data.len() as u64;
    if have < data_len {
        return Err(Error::format(
            path,
            format!("decompressed byte {}", header_len as u64 + have),
            format!(
                "truncated: the dimensions {dims:?} claim {data_len} bytes of data after the \
                 {header_len}-byte header, the decompressed file has {have}"
            ),
        ));
    }
    if have > data_len {
        return Err(Error::format(
            path,
            format!("decompressed byte {}", header_len as u64 + data_len),
            format!("bytes after the end of the data the dimensions {dims:?} describe"),
        ));
    }
    Ok(IdxArray { dims, dtype, data })
}

/// Parses IDX bytes, gzip'd (detected by the gzip magic bytes `1f 8b`) or raw.
///
/// # Errors
/// As [`parse_idx`]; for gzip'd input also a corrupt or truncated gzip stream, and a header that
/// claims more bytes than any gzip stream of this length could decompress to. Positions in
/// gzip'd input are offsets in the decompressed bytes.
pub fn parse_idx_any(bytes: &[u8], path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    if bytes.starts_with(&GZIP_MAGIC) {
        gunzip_idx(bytes, path)
    } else {
        parse_idx(bytes, path)
    }
}

/// Reads an IDX file (the format of MNIST), gzip'd or raw: compression is recognized by the
/// gzip magic bytes, not by the file name. See [`parse_idx_any`] for the errors.
pub fn load_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_idx_any(&bytes, path)
}

// ---------------------------------------------------------------------------------------------
// The named data sets of shared/data
// ---------------------------------------------------------------------------------------------

/// UCI optdigits (`optdigits.tra`): `64 x n` raw block counts `0..=16` (8x8, row-major) and
/// labels `0..=9`. Scale by `1/16` before training.
///
/// # Errors
/// [`Error::Format`] for anything but 65 integer-valued fields per line (64 counts in `0..=16`,
/// a label in `0..=9`), with line and column.
pub fn load_optdigits<F: Float>(path: impl AsRef<Path>) -> Result<Dataset<F>> {
    let path = path.as_ref();
    let options = CsvOptions {
        header: Some(false),
        classes: Some(10),
        value_range: Some((0.0, 16.0)),
        ..CsvOptions::default()
    };
    let bytes = read_bytes(path)?;
    let data = parse_csv_checked::<F>(as_text(&bytes, path)?, path, &options, &|v| {
        (v.fract() != 0.0).then(|| format!("optdigits counts are integers, got {v}"))
    })?;
    if data.x.nrows() != 64 {
        return Err(Error::format(
            path,
            "line 1",
            format!(
                "{} fields per line, optdigits has 65 (64 counts and the class)",
                data.x.nrows() + 1
            ),
        ));
    }
    Ok(data)
}

/// Fisher's iris (`iris.csv` of `shared/data`: a header, four measurements in cm,
/// `species_id` 0..2, the species name): `4 x n` features, labels `0..=2`.
///
/// # Errors
/// [`Error::Format`] for a missing header, anything but six fields per row, a non-numeric or
/// non-finite measurement, or a `species_id` outside `0..=2`.
pub fn load_iris<F: Float>(path: impl AsRef<Path>) -> Result<Dataset<F>> {
    let path = path.as_ref();
    let options = CsvOptions {
        header: Some(true),
        label_column: LabelColumn::Index(4),
        classes: Some(3),
        ignore_columns: vec![5],
        ..CsvOptions::default()
    };
    let bytes = read_bytes(path)?;
    let text = as_text(&bytes, path)?;
    if let Some(first) = records(text, ',').first()
        && first
            .fields
            .first()
            .is_some_and(|f| f.parse::<f64>().is_ok())
    {
        return Err(Error::format(
            path,
            format!("line {}", first.line),
            "no header line (iris.csv starts with the column names)",
        ));
    }
    let data = parse_csv::<F>(text, path, &options)?;
    if data.x.nrows() != 4 {
        return Err(Error::format(
            path,
            "line 1",
            format!(
                "{} columns, iris has 6 (four measurements, species_id, species)",
                data.x.nrows() + 2
            ),
        ));
    }
    Ok(data)
}

/// Reads one IDX file of `load_mnist`, requiring unsigned bytes and `rank` dimensions.
fn mnist_part(path: &Path, rank: usize) -> Result<IdxArray> {
    let a = load_idx(path)?;
    if a.dtype != IdxType::U8 || a.dims.len() != rank {
        return Err(Error::format(
            path,
            "byte 0",
            format!(
                "wrong magic number: expected unsigned bytes in {rank} dimension(s) (0x0000080{rank}), \
                 got {:?} in {} dimension(s)",
                a.dtype,
                a.dims.len()
            ),
        ));
    }
    Ok(a)
}

/// MNIST from its IDX files (gzip'd or raw): `rows·cols x n` pixels scaled to `[0, 1]`
/// (`byte / 255`), row-major within each image, and labels `0..=9`.
///
/// # Errors
/// Those of [`load_idx`]; [`Error::Format`] if the images are not a 3-D unsigned-byte array, the
/// labels not a 1-D one, their counts differ, or a label is above 9 (naming its byte offset).
pub fn load_mnist<F: Float>(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
) -> Result<Dataset<F>> {
    let (ip, lp) = (images_path.as_ref(), labels_path.as_ref());
    let images = mnist_part(ip, 3)?;
    let labels = mnist_part(lp, 1)?;
    let n = images.dims[0];
    if labels.dims[0] != n {
        return Err(Error::format(
            lp,
            "byte 4",
            format!(
                "{} labels for {n} images in {}",
                labels.dims[0],
                ip.display()
            ),
        ));
    }
    if let Some(i) = labels.data.iter().position(|&l| l > 9) {
        return Err(Error::format(
            lp,
            format!("byte {}", 8 + i),
            format!(
                "label {} of image {i} is out of range (0..=9)",
                labels.data[i]
            ),
        ));
    }
    if n == 0 {
        return Err(Error::format(ip, "byte 4", "no images (count 0)"));
    }
    if images.dims[1] == 0 || images.dims[2] == 0 {
        return Err(Error::format(ip, "byte 8", "images of 0 pixels"));
    }
    let pixels = images.dims[1] * images.dims[2];
    let scale = 1.0 / 255.0;
    let x = Mat::from_iterator(
        pixels,
        n,
        images.data.iter().map(|&b| F::of(f64::from(b) * scale)),
    );
    Dataset::new(x, labels.data.iter().map(|&l| usize::from(l)).collect())
}

/// A time series with a header, `key_columns` columns that `key` turns into a time stamp, then
/// the value; time stamps must increase strictly.
fn load_series<F: Float, K: PartialOrd + std::fmt::Debug>(
    path: &Path,
    what: &str,
    key_columns: usize,
    key: impl Fn(&[&str]) -> Option<K>,
    key_doc: &str,
) -> Result<(Vec<K>, Vec<F>)> {
    let bytes = read_bytes(path)?;
    let text = as_text(&bytes, path)?;
    let options = CsvOptions {
        header: Some(true),
        ..CsvOptions::default()
    };
    let (header, recs) = table(text, path, &options, &|_| true)?;
    let width = header.as_ref().map_or(0, |h| h.fields.len());
    if width != key_columns + 1 {
        return Err(Error::format(
            path,
            "line 1",
            format!("{width} columns, {what} has {}", key_columns + 1),
        ));
    }
    let mut keys = Vec::with_capacity(recs.len());
    let mut values = Vec::with_capacity(recs.len());
    for r in &recs {
        let stamp: Vec<&str> = r.fields[..key_columns].iter().map(|f| f.as_ref()).collect();
        let k = key(&stamp).ok_or_else(|| {
            Error::format(
                path,
                at(r.line, 0),
                format!("{:?} is not {key_doc}", stamp.join(",")),
            )
        })?;
        if let Some(prev) = keys.last()
            && k <= *prev
        {
            return Err(Error::format(
                path,
                at(r.line, 0),
                format!("{k:?} does not come after {prev:?}: the series must be in time order"),
            ));
        }
        keys.push(k);
        values.push(parse_finite::<F>(
            &r.fields[key_columns],
            path,
            r.line,
            key_columns,
        )?);
    }
    Ok((keys, values))
}

/// Yearly sunspot numbers (`sunspots_yearly.csv`: header `"YEAR","SUNACTIVITY"`, rows
/// `year,value`): the years and the values, in time order.
///
/// # Errors
/// [`Error::Format`] for anything but two columns, a year that is not an integer, a non-numeric
/// or non-finite value, or years not strictly increasing.
pub fn load_sunspots_yearly<F: Float>(path: impl AsRef<Path>) -> Result<(Vec<u32>, Vec<F>)> {
    let path = path.as_ref();
    let (years, values) = load_series::<F, u32>(
        path,
        "the yearly sunspot series",
        1,
        |s| s[0].parse().ok(),
        "a year",
    )?;
    Ok((years, values))
}

/// Monthly sunspot numbers (`sunspots_monthly.csv`: header `year,month,sunspots`, rows
/// `year,month,value`): `(year, month)` pairs and the values, in time order.
///
/// # Errors
/// [`Error::Format`] for anything but three columns, a year or a month (`1..=12`) that is not an
/// integer, a non-numeric or non-finite value, or dates not strictly increasing.
pub fn load_sunspots_monthly<F: Float>(
    path: impl AsRef<Path>,
) -> Result<(Vec<(u32, u32)>, Vec<F>)> {
    let date = |s: &[&str]| {
        let (y, m) = (s[0].parse::<u32>().ok()?, s[1].parse::<u32>().ok()?);
        (1..=12).contains(&m).then_some((y, m))
    };
    load_series::<F, (u32, u32)>(
        path.as_ref(),
        "the monthly sunspot series",
        2,
        date,
        "a year and a month 1..=12",
    )
}

/// Box & Jenkins' airline passengers (`airline_passengers.csv`: header `Date,Passengers`, rows
/// `YYYY-MM,count`): `(year, month)` pairs and monthly totals in thousands, in time order.
///
/// # Errors
/// [`Error::Format`] for anything but two columns, a date not of the form `YYYY-MM` with month
/// `1..=12`, a non-numeric or non-finite count, or dates not strictly increasing.
pub fn load_airline_passengers<F: Float>(
    path: impl AsRef<Path>,
) -> Result<(Vec<(u32, u32)>, Vec<F>)> {
    let path = path.as_ref();
    let date = |s: &[&str]| {
        let (y, m) = s[0].split_once('-')?;
        let (y, m) = (y.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (1..=12).contains(&m).then_some((y, m))
    };
    let (dates, values) = load_series::<F, (u32, u32)>(
        path,
        "the airline passengers series",
        1,
        date,
        "a date YYYY-MM",
    )?;
    Ok((dates, values))
}

/// The path of `name` inside the folder named by the environment variable `DL_DATA_DIR`, if it
/// is set and the file exists (real-data tests and examples use this to find `shared/data`).
pub fn data_file(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DL_DATA_DIR")?;
    let p = PathBuf::from(dir).join(name);
    p.exists().then_some(p)
}
