//! `stagedoor serve`: the HTTP backend (the same server as the `stagedoor-server` binary).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::setup;

pub async fn run(config_files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let config = setup::load_config(config_files)?;
    // A server should say what it does even without -v; a subscriber set up from -v or RUST_LOG wins.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .try_init();
    stagedoor_server::api::serve(config, stagedoor_server::api::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
