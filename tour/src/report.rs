//! What a chapter reports: metrics beside reference values, plots, saved models; the results
//! table, `results.json` and the `--json` line.

use std::path::Path;

/// A published or peer figure to compare a metric with.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The metric it compares with.
    pub metric: &'static str,
    /// The reference value.
    pub value: f64,
    /// Where it comes from (paper or library, and setup).
    pub source: &'static str,
}

/// A plot written by a chapter.
#[derive(Debug, Clone)]
pub struct Plot {
    /// File name inside the output folder.
    pub file: String,
    /// One-sentence caption for the gallery.
    pub caption: String,
}

/// A claim of the notes beside what a run measured.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Fixed key (`saddle_escape`).
    pub key: &'static str,
    /// The notes' claim in one sentence, with its section.
    pub claim: &'static str,
    /// What was measured, in one sentence with the numbers.
    pub outcome: String,
    /// Whether the measurement supports the claim at this scale.
    pub supported: bool,
}

/// The result of running one chapter.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Chapter name (as on the command line).
    pub chapter: &'static str,
    /// The model trained, in words.
    pub model: String,
    /// The data, in words (`generated: two spirals`, `optdigits.tra`).
    pub data: String,
    /// Metrics by their fixed names.
    pub metrics: Vec<(String, f64)>,
    /// Reference values.
    pub references: Vec<Reference>,
    /// Plots written.
    pub plots: Vec<Plot>,
    /// Files of saved models (inside the output folder).
    pub models: Vec<String>,
    /// Wall time in seconds.
    pub seconds: f64,
    /// A plain-text table the chapter prints (the principles chapter's §2.1 coordinates).
    pub table: Option<String>,
    /// The notes' claims with their measured outcomes (the principles chapter).
    pub claims: Vec<Claim>,
}

impl Outcome {
    /// An empty outcome for `chapter`.
    pub fn new(chapter: &'static str, model: impl Into<String>, data: impl Into<String>) -> Self {
        Outcome {
            chapter,
            model: model.into(),
            data: data.into(),
            metrics: Vec::new(),
            references: Vec::new(),
            plots: Vec::new(),
            models: Vec::new(),
            seconds: 0.0,
            table: None,
            claims: Vec::new(),
        }
    }

    /// Records a metric.
    pub fn metric(&mut self, name: impl Into<String>, value: f64) -> &mut Self {
        self.metrics.push((name.into(), value));
        self
    }

    /// The value of the metric `name`, if the chapter recorded it.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k == name)
            .map(|&(_, v)| v)
    }

    /// Records a reference value for a metric.
    pub fn reference(
        &mut self,
        metric: &'static str,
        value: f64,
        source: &'static str,
    ) -> &mut Self {
        self.references.push(Reference {
            metric,
            value,
            source,
        });
        self
    }

    /// Records a claim of the notes and the measured outcome.
    pub fn claim(
        &mut self,
        key: &'static str,
        claim: &'static str,
        outcome: impl Into<String>,
        supported: bool,
    ) -> &mut Self {
        self.claims.push(Claim {
            key,
            claim,
            outcome: outcome.into(),
            supported,
        });
        self
    }

    /// Records a plot.
    pub fn plot(&mut self, file: impl Into<String>, caption: impl Into<String>) -> &mut Self {
        self.plots.push(Plot {
            file: file.into(),
            caption: caption.into(),
        });
        self
    }
}

/// A metric value for people: integers plain, ordinary magnitudes with 4 decimals, else scientific.
pub fn fmt_value(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 1e-3 && v.abs() < 1e5) {
        if v.fract() == 0.0 && v.abs() < 1e5 {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        }
    } else {
        format!("{v:.3e}")
    }
}

/// Width of the default table: it fits a 100-column terminal.
pub const TABLE_WIDTH: usize = 100;

/// `cell` cut to at most `width` characters, with `…` marking a cut.
fn fit(cell: &str, width: usize) -> String {
    if width == 0 {
        String::new()
    } else if cell.chars().count() <= width {
        cell.to_string()
    } else {
        let mut s: String = cell.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Rows laid out in columns two spaces apart, a rule of dashes under the header row.
fn layout(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut lines = Vec::with_capacity(rows.len() + 1);
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        lines.push(line.join("  ").trim_end().to_string());
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            lines.push(rule.join("  "));
        }
    }
    lines
}

/// The headline metric of an outcome: the first metric that has a reference value, else the
/// first metric.
fn headline(o: &Outcome) -> Option<&(String, f64)> {
    o.metrics
        .iter()
        .find(|(name, _)| o.references.iter().any(|r| r.metric == name))
        .or_else(|| o.metrics.first())
}

/// The reference value recorded for metric `name`, if any.
fn reference_of<'a>(o: &'a Outcome, name: &str) -> Option<&'a Reference> {
    o.references.iter().find(|r| r.metric == name)
}

/// The results table, one line per entry, ending with the total time.
///
/// By default it fits [`TABLE_WIDTH`] columns: one line per chapter with its headline metric,
/// the value, the reference value and its source (cut with `…` to fit), and the time; a run of
/// one chapter lists all of that chapter's metrics. `verbose` gives the full table: every
/// metric, the model and the data, nothing cut.
pub fn table(outcomes: &[Outcome], total_seconds: f64, verbose: bool) -> Vec<String> {
    if verbose {
        let mut rows: Vec<Vec<String>> = vec![
            [
                "chapter",
                "model",
                "data",
                "metric",
                "value",
                "reference (source)",
                "time",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for o in outcomes {
            for (i, (name, value)) in o.metrics.iter().enumerate() {
                let reference = reference_of(o, name)
                    .map(|r| format!("{} ({})", fmt_value(r.value), r.source))
                    .unwrap_or_default();
                let first = i == 0;
                let only_first = |s: String| if first { s } else { String::new() };
                rows.push(vec![
                    only_first(o.chapter.to_string()),
                    only_first(o.model.clone()),
                    only_first(o.data.clone()),
                    name.clone(),
                    fmt_value(*value),
                    reference,
                    only_first(format!("{:.1} s", o.seconds)),
                ]);
            }
        }
        let mut lines = layout(&rows);
        lines.push(format!("total time {total_seconds:.1} s"));
        return lines;
    }
    // chapter, metric, value, reference, source, time
    let mut rows: Vec<Vec<String>> = vec![
        ["chapter", "metric", "value", "reference", "source", "time"]
            .map(String::from)
            .to_vec(),
    ];
    for o in outcomes {
        let metrics: Vec<&(String, f64)> = if outcomes.len() == 1 {
            o.metrics.iter().collect()
        } else {
            headline(o).into_iter().collect()
        };
        for (i, (name, value)) in metrics.into_iter().enumerate() {
            let reference = reference_of(o, name);
            let first = i == 0;
            rows.push(vec![
                if first {
                    fit(o.chapter, 12)
                } else {
                    String::new()
                },
                fit(name, 26),
                fit(&fmt_value(*value), 10),
                reference.map_or(String::new(), |r| fit(&fmt_value(r.value), 10)),
                reference.map_or(String::new(), |r| r.source.to_string()),
                if first {
                    fit(&format!("{:.1} s", o.seconds), 9)
                } else {
                    String::new()
                },
            ]);
        }
    }
    // the source takes what the other columns leave of the width (at least 23 characters)
    let source = 4;
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let others: usize = (0..rows[0].len()).filter(|&c| c != source).map(width).sum();
    let room = TABLE_WIDTH.saturating_sub(others + 2 * (rows[0].len() - 1));
    for r in &mut rows {
        r[source] = fit(&r[source], room);
    }
    let mut lines = layout(&rows);
    lines.push(fit(
        &format!(
            "total time {total_seconds:.1} s; every metric with --verbose, in results.json and \
             in index.html"
        ),
        TABLE_WIDTH,
    ));
    lines
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    let metrics: serde_json::Map<String, serde_json::Value> = o
        .metrics
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    serde_json::json!({
        "chapter": o.chapter,
        "model": o.model,
        "data": o.data,
        "metrics": metrics,
        "references": o.references.iter().map(|r| serde_json::json!({
            "metric": r.metric, "value": r.value, "source": r.source
        })).collect::<Vec<_>>(),
        "plots": o.plots.iter().map(|p| p.file.clone()).collect::<Vec<_>>(),
        "models": o.models,
        "seconds": o.seconds,
        "claims": o.claims.iter().map(|c| (c.key.to_string(), serde_json::json!({
            "claim": c.claim, "outcome": c.outcome, "supported": c.supported
        }))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The `--json` line: for one chapter `{"chapter", "data", "metrics", "seconds", ...}`; for a
/// run of all chapters `chapter` is `"all"` and `metrics` holds `chapter.metric` keys.
pub fn json_line(outcomes: &[Outcome], data: &str, total_seconds: f64) -> String {
    if let [one] = outcomes {
        return outcome_json(one).to_string();
    }
    let mut metrics = serde_json::Map::new();
    for o in outcomes {
        for (k, v) in &o.metrics {
            metrics.insert(format!("{}.{}", o.chapter, k), serde_json::json!(v));
        }
    }
    serde_json::json!({
        "chapter": "all",
        "data": data,
        "metrics": metrics,
        "seconds": total_seconds,
        "chapters": outcomes.iter().map(outcome_json).collect::<Vec<_>>(),
    })
    .to_string()
}

/// Writes `results.json` (every outcome) into the output folder.
pub fn write_results(out: &Path, outcomes: &[Outcome]) -> crate::Result<()> {
    let v: Vec<serde_json::Value> = outcomes.iter().map(outcome_json).collect();
    let path = out.join("results.json");
    crate::plot::write_file(&path, serde_json::to_string_pretty(&v)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(chapter: &'static str, long: bool) -> Outcome {
        let words = if long {
            "a very long piece of text ".repeat(8)
        } else {
            "short".into()
        };
        let mut o = Outcome::new(chapter, words.clone(), words);
        o.metric("mistakes", 12.0)
            .metric(
                "test_accuracy_with_a_name_longer_than_any_chapter_uses",
                0.123456,
            )
            .reference(
                "test_accuracy_with_a_name_longer_than_any_chapter_uses",
                0.5,
                if long {
                    "a source that goes on and on, far beyond what a terminal line can hold, \
                     naming the paper, the library, the setup and the split"
                } else {
                    "chance"
                },
            );
        o.seconds = 123456.7;
        o
    }

    fn width(line: &str) -> usize {
        line.chars().count()
    }

    #[test]
    fn default_table_fits_100_columns_and_shows_the_headline() {
        let outcomes = vec![outcome("perceptron", true), outcome("mlp", false)];
        let lines = table(&outcomes, 9.5, false);
        for line in &lines {
            assert!(
                width(line) <= TABLE_WIDTH,
                "{} columns: {line}",
                width(line)
            );
        }
        // header, rule, one line per chapter (the metric with a reference), total
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[2].starts_with("perceptron"));
        assert!(lines[2].contains("0.1235") && lines[2].contains("0.5000"));
        assert!(
            lines[2].contains('…'),
            "the long source is cut: {}",
            lines[2]
        );
        assert!(
            !lines[2].contains("12 "),
            "mistakes is not the headline: {}",
            lines[2]
        );
        // a short source is kept whole; the over-long metric name is cut to its column
        assert!(lines[3].contains("  chance  "), "{}", lines[3]);
        assert!(
            lines[3].contains("test_accuracy_with_a_name…"),
            "{}",
            lines[3]
        );
        assert!(lines[4].starts_with("total time 9.5 s"));
        // one chapter: all of its metrics, still within the width
        let one = table(&outcomes[..1], 1.0, false);
        assert_eq!(one.len(), 5, "{one:#?}");
        assert!(one.iter().all(|l| width(l) <= TABLE_WIDTH));
    }

    #[test]
    fn verbose_table_keeps_everything() {
        let outcomes = vec![outcome("perceptron", true)];
        let lines = table(&outcomes, 1.0, true);
        let all = lines.join("\n");
        assert!(all.contains("naming the paper, the library, the setup and the split"));
        assert!(all.contains("a very long piece of text a very long"));
        assert!(all.contains("mistakes") && all.contains("12"));
        assert!(!all.contains('…'));
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("äöüß", 3), "äö…");
        assert_eq!(fit("abc", 0), "");
    }
}
