//! The `codeframe` binary: parse flags, run, map errors to exit codes (0 ok, 1 failure, 2 bad input).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = codeframe::cli::Cli::parse();
    match codeframe::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut msg = format!("codeframe: error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                msg.push_str(&format!("\n  caused by: {s}"));
                source = s.source();
            }
            eprintln!("{}", codeframe::progress::terminal_safe(&msg));
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
