//! Progress bars on stderr (indicatif): hidden when stderr is not a terminal or with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Makes progress bars, or hidden ones.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Bars are drawn when not quiet and stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// A bar of `total` units (epochs or steps) labelled `label`.
    pub fn bar(&self, label: &str, total: u64, unit: &str) -> Bar {
        let pb = if self.enabled {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template =
                format!("{{prefix:>12}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}} ({{elapsed}})");
            pb.set_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            pb.set_prefix(label.to_string());
            Some(pb)
        } else {
            None
        };
        Bar {
            pb,
            started: Instant::now(),
        }
    }
}

/// One progress bar.
pub struct Bar {
    pb: Option<ProgressBar>,
    started: Instant,
}

impl Bar {
    /// Moves to `pos` and shows the loss and the throughput (`examples` seen so far).
    pub fn update(&self, pos: u64, loss: f64, examples: u64) {
        if let Some(pb) = &self.pb {
            pb.set_position(pos);
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            pb.set_message(format!(
                "loss {loss:.4}  {:.0} examples/s",
                examples as f64 / secs
            ));
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(pb) = self.pb {
            pb.finish_and_clear();
        }
    }
}
