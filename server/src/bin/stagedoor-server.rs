//! `stagedoor-server`: the HTTP backend alone, without the terminal UI's dependencies.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{ArgAction, Parser};
use stagedoor_core::config::Config;

/// Serve stagedoor's Backstage-compatible catalog API.
#[derive(Debug, Parser)]
#[command(name = "stagedoor-server", version)]
struct Args {
    /// Configuration file; repeat to merge several, later ones win.
    /// [default: app-config.yaml and, when present, app-config.local.yaml in the current directory]
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    config: Vec<PathBuf>,

    /// More logging: -v debug, -vv trace (RUST_LOG, when set, decides instead; the default is info).
    #[arg(long, short = 'v', action = ArgAction::Count)]
    verbose: u8,
}

fn init_tracing(verbose: u8) {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            match verbose {
                0 => "info",
                1 => "debug",
                _ => "trace",
            }
            .to_string()
        });
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(files: &[PathBuf]) -> anyhow::Result<Config> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if files.is_empty() && !cwd.join("app-config.yaml").is_file() {
        anyhow::bail!(
            "no configuration: {} not found (pass --config FILE)",
            cwd.join("app-config.yaml").display()
        );
    }
    Config::load(files, &cwd).context("cannot load the configuration")
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(stagedoor_server::api::serve(
        config,
        stagedoor_server::api::shutdown_signal(),
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing(args.verbose);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
