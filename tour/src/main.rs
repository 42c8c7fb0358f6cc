//! The `tour` binary: `tour [CHAPTER] [FLAGS]` runs the tour of `inductive` (the library
//! `inductive_tour`, whose docs describe it) and `tour bench WORKLOAD` a reference workload.
//! Exit code 0 on success, 2 on any error (one line on stderr).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("bench") {
        return match inductive_tour::bench(std::env::args().skip(2)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "tour bench: error: {}",
                    e.to_string().trim_end().replace('\n', " ")
                );
                ExitCode::from(2)
            }
        };
    }
    let cli = inductive_tour::Cli::parse();
    match inductive_tour::run_cli(&cli) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("tour: error: {msg}");
            ExitCode::from(2)
        }
    }
}
