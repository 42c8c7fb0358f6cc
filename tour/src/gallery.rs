//! `index.html`: every plot of the run with its caption, and each chapter's metrics.

use crate::report::Outcome;
use std::path::Path;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `index.html` into `out`, linking only plots that exist there.
pub fn write(out: &Path, outcomes: &[Outcome]) -> crate::Result<()> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>inductive — tour gallery</title>\n<style>\n\
         body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }\n\
         h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }\n\
         table { border-collapse: collapse; margin: 0.5em 0 1em; }\n\
         td, th { border: 1px solid #ddd; padding: 4px 10px; text-align: left; }\n\
         .plots { display: flex; flex-wrap: wrap; gap: 16px; }\n\
         figure { margin: 0; border: 1px solid #eee; padding: 8px; background: #fff; }\n\
         figure img { max-width: 560px; height: auto; display: block; }\n\
         figcaption { font-size: 0.9em; max-width: 560px; color: #444; margin-top: 4px; }\n\
         </style>\n</head>\n<body>\n<h1>inductive — tour gallery</h1>\n\
         <p>Every chapter of the notes, trained by <code>tour</code>. Each model assumes something \
         different about its data (its inductive bias); the plots show what it learned.</p>\n",
    );
    // §2.1 first: every family in the coordinates of inductive bias, each cell linking to the
    // chapter that runs it (when that chapter is in this run)
    html.push_str(
        "<h2 id=\"coordinates\">§2.1 the coordinates of inductive bias</h2>\n<table>\n<tr>",
    );
    for h in optim::bias::Coordinates::HEADER {
        html.push_str(&format!("<th>{h}</th>"));
    }
    html.push_str("<th>chapter</th></tr>\n");
    for (chapter, f) in crate::chapters::principles::families() {
        let ran = outcomes.iter().any(|o| o.chapter == chapter);
        html.push_str("<tr>");
        for cell in f.row() {
            if ran {
                html.push_str(&format!(
                    "<td><a href=\"#{chapter}\">{}</a></td>",
                    escape(cell)
                ));
            } else {
                html.push_str(&format!("<td>{}</td>", escape(cell)));
            }
        }
        // the chapter that runs the family: a link when it is in this run, else its command
        if ran {
            html.push_str(&format!(
                "<td><a href=\"#{chapter}\">{chapter}</a></td></tr>\n"
            ));
        } else {
            html.push_str(&format!("<td><code>tour {chapter}</code></td></tr>\n"));
        }
    }
    html.push_str("</table>\n");
    for o in outcomes {
        html.push_str(&format!(
            "<h2 id=\"{c}\">{c}</h2>\n<p>{} — data: {} — {:.1} s</p>\n<table>\n<tr><th>metric</th><th>value</th><th>reference</th></tr>\n",
            escape(&o.model),
            escape(&o.data),
            o.seconds,
            c = o.chapter
        ));
        for (name, value) in &o.metrics {
            let reference = o
                .references
                .iter()
                .find(|r| r.metric == name)
                .map(|r| {
                    format!(
                        "{} ({})",
                        crate::report::fmt_value(r.value),
                        escape(r.source)
                    )
                })
                .unwrap_or_default();
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{reference}</td></tr>\n",
                escape(name),
                crate::report::fmt_value(*value)
            ));
        }
        html.push_str("</table>\n");
        if !o.claims.is_empty() {
            html.push_str(
                "<table>\n<tr><th>claim of the notes</th><th>measured</th><th>supports it?</th></tr>\n",
            );
            for c in &o.claims {
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(c.claim),
                    escape(&c.outcome),
                    if c.supported {
                        "yes"
                    } else {
                        "no, not at this scale"
                    }
                ));
            }
            html.push_str("</table>\n");
        }
        html.push_str("<div class=\"plots\">\n");
        for p in &o.plots {
            if !out.join(&p.file).is_file() {
                continue;
            }
            html.push_str(&format!(
                "<figure><a href=\"{f}\"><img src=\"{f}\" alt=\"{cap}\"/></a><figcaption>{cap}</figcaption></figure>\n",
                f = escape(&p.file),
                cap = escape(&p.caption)
            ));
        }
        html.push_str("</div>\n");
    }
    html.push_str("</body>\n</html>\n");
    let path = out.join("index.html");
    crate::plot::write_file(&path, html.as_bytes())
}
