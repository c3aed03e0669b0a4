//! The `stagedoor` binary: parses the command line, sets up logging and the runtime, runs one command and
//! turns its outcome into an exit code (0 ok, 1 failure, 2 usage error) with one `error: ...` line.

mod cli;
mod commands;
mod output;
mod progress;
mod setup;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{Cli, UsageError};

// Ingestion allocates many small JSON values; mimalloc halves the time the system allocator spent on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    // The terminal UI owns the screen, so its logs go to a file.
    if commands::opens_tui(&cli) {
        setup::init_file_tracing(cli.verbose);
    } else {
        setup::init_tracing(cli.verbose);
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("error: {message}");
            if err.chain().any(|cause| cause.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Help and version go to stdout with exit 0; a bare `stagedoor catalog` shows its help with exit 2; any other
/// clap error becomes one line.
fn clap_exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("{}", one_line_clap_error(&e.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// Clap renders errors over several lines (message, tip, usage); keep the message and tip on one line.
fn one_line_clap_error(rendered: &str) -> String {
    let body = ["\nUsage:", "\nFor more information"]
        .iter()
        .filter_map(|marker| rendered.find(marker))
        .min()
        .map_or(rendered, |end| &rendered[..end]);
    let line = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    format!("{line} (see --help)")
}

/// A bug should still end in one line, not a backtrace. RUST_BACKTRACE is often set for whole shells, so
/// the default report is kept only when STAGEDOOR_BACKTRACE asks for it.
fn install_panic_hook() {
    if std::env::var_os("STAGEDOOR_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error: {}{place} (this is a bug in stagedoor; set STAGEDOOR_BACKTRACE=1 RUST_BACKTRACE=1 for details)",
            payload.replace('\n', " ")
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_fold_onto_one_line() {
        let rendered = "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: stagedoor catalog list [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line_clap_error(rendered),
            "error: unexpected argument '--nope' found tip: to pass '--nope' as a value, use '-- --nope' (see --help)"
        );
    }
}
