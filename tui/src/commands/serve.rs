//! `stagedoor serve`: the HTTP backend (the same server as the `stagedoor-server` binary).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::setup;

pub async fn run(config_files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let config = setup::load_config(config_files)?;
    // A server should say what it does even without -v; a subscriber set up from -v or RUST_LOG wins.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
    stagedoor_server::api::serve(config, stagedoor_server::api::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
