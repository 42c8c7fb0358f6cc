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
        }
    }

    /// Records a metric.
    pub fn metric(&mut self, name: impl Into<String>, value: f64) -> &mut Self {
        self.metrics.push((name.into(), value));
        self
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

/// Prints the results table (chapter, model, data, metric, value, reference, time) to stdout.
pub fn print_table(outcomes: &[Outcome], total_seconds: f64) {
    let mut rows: Vec<[String; 7]> = vec![[
        "chapter".into(),
        "model".into(),
        "data".into(),
        "metric".into(),
        "value".into(),
        "reference (source)".into(),
        "time".into(),
    ]];
    for o in outcomes {
        for (i, (name, value)) in o.metrics.iter().enumerate() {
            let reference = o
                .references
                .iter()
                .find(|r| r.metric == name)
                .map(|r| format!("{} ({})", fmt_value(r.value), r.source))
                .unwrap_or_default();
            let first = i == 0;
            rows.push([
                if first {
                    o.chapter.to_string()
                } else {
                    String::new()
                },
                if first {
                    o.model.clone()
                } else {
                    String::new()
                },
                if first { o.data.clone() } else { String::new() },
                name.clone(),
                fmt_value(*value),
                reference,
                if first {
                    format!("{:.1} s", o.seconds)
                } else {
                    String::new()
                },
            ]);
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        crate::emit(line.join("  ").trim_end());
        if i == 0 {
            crate::emit(
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
        }
    }
    crate::emit(format!("total time {total_seconds:.1} s"));
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
